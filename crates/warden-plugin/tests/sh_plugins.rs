//! Library-level tests of the plugin subsystem with `sh` plugins: scaffold
//! (the default spec and the one proposal that writes a generation), generate
//! (byte-identical regeneration, hand edits refused), validate, enable (the
//! pin) and the runtime (dispatch of a real `sh` process, a faulty plugin
//! isolated), without the CLI.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

use std::path::Path;
use warden_core::plugin_registry::REGISTRY_FILE;
use warden_plugin::generate;
use warden_plugin::runtime::{self, PluginOutcome};
use warden_plugin::scaffold;
use warden_plugin::validate;

mod common;

use common::{TODAY, World, handler};

#[test]
fn regeneration_is_byte_identical_and_a_hand_edit_inside_a_fence_is_refused() {
    let w = World::new();
    let spec = w.scaffold("tidy");
    let repo = w.repo();
    let again = generate::generate(&w.root, &spec, &repo.policy, TODAY).expect("generate");
    assert_eq!(
        again.changed().count(),
        0,
        "nothing changes when nothing changed"
    );
    assert!(again.problems().next().is_none());
    // A hand edit inside an AUTO fence of the handler is a problem, not overwritten.
    let h = handler(&w.root, "tidy");
    let text = std::fs::read_to_string(&h).expect("handler");
    let edited = text.replacen("PLUGIN_KEY='tidy'", "PLUGIN_KEY='other'", 1);
    assert_ne!(edited, text, "the fence holds the key");
    std::fs::write(&h, &edited).expect("edit");
    let g = generate::generate(&w.root, &spec, &repo.policy, TODAY).expect("generate");
    let problems: Vec<_> = g.problems().map(|p| p.rel.clone()).collect();
    assert_eq!(problems, ["src/handler.sh"], "{problems:?}");
    // The validator says the same, naming the file.
    let report = validate::validate(&w.root, &repo.policy, Some(&["tidy".into()]), TODAY, None);
    assert!(!report.ok());
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.file.ends_with("src/handler.sh")),
        "{:#?}",
        report.findings
    );
}

#[test]
fn a_scaffolded_sh_plugin_quarantines_temporary_files_through_the_engine() {
    let w = World::new();
    let spec = w.scaffold("tidy");
    w.enable(&spec);
    w.write("junk.tmp", "x\n");
    w.write("keep.md", "k\n");
    let report = w.dispatch(vec![w.item("junk.tmp"), w.item("keep.md")]);
    assert_eq!(report.plugins.len(), 1, "{report:#?}");
    let p = &report.plugins[0];
    assert_eq!(p.outcome, PluginOutcome::Applied, "{report:#?}");
    assert_eq!(p.exit, Some(0));
    let run = p.applied_run.clone().expect("an engine run");
    assert!(!w.root.join("junk.tmp").exists(), "quarantined");
    assert!(
        w.root
            .join(format!(".quarantine/{run}/files/junk.tmp"))
            .is_file()
    );
    assert!(w.root.join("keep.md").is_file(), "left alone");
    // Only .md files this time: the plugin proposes nothing.
    let report = w.dispatch(vec![w.item("keep.md")]);
    assert_eq!(report.plugins[0].outcome, PluginOutcome::NoChange);
}

#[test]
fn a_failing_sh_plugin_is_isolated_and_changes_nothing() {
    let w = World::new();
    // The developer area makes the handler exit 7 before it answers.
    w.scaffold_with(
        "broken",
        "RATIONALE_handle='x'\nhandle() {\n  cat >/dev/null\n}\necho 'boom' >&2\nexit 7\n",
    );
    w.write("junk.tmp", "x\n");
    let before = warden_testkit::tree::contents(&w.root, &[".git", ".ledger", ".runs", ".warden"]);
    let report = w.dispatch(vec![w.item("junk.tmp")]);
    let p = &report.plugins[0];
    assert_eq!(p.outcome, PluginOutcome::Isolated, "{report:#?}");
    assert!(p.fault.is_some(), "{report:#?}");
    assert_eq!(p.applied_run, None);
    assert_eq!(
        warden_testkit::tree::contents(&w.root, &[".git", ".ledger", ".runs", ".warden"]),
        before,
        "nothing in the working tree changed"
    );
}

#[test]
fn a_new_plugin_writes_its_card_and_the_id_registry_in_one_run_and_enables_through_the_registry_change()
 {
    let w = World::new();
    let repo = w.repo();
    let spec = w.default_spec("tidy", &repo);
    let new = scaffold::new_plugin_writes(&w.root, &spec, &repo.policy, TODAY).expect("writes");
    let paths: Vec<&str> = new.writes.iter().map(|x| x.path.as_str()).collect();
    assert!(paths.contains(&new.card.rel().as_str()), "{paths:?}");
    assert!(
        paths.contains(&warden_plugin::ids::REGISTRY_YAML),
        "the id registry follows the card in the same run: {paths:?}"
    );
    // Planned through the core's gate, applied by the engine: one ledgered run.
    let mut s = repo.session(&w.ctx, false, &mut |_| {}).expect("session");
    let plan = scaffold::plan_writes(&mut s, &new.writes, "scaffold").expect("plan");
    assert_eq!(plan.changes.len(), new.writes.len());
    let entry = match scaffold::apply_planned(&mut s, &plan).expect("apply") {
        scaffold::Written::Applied(e) => e,
        other => panic!("not applied: {other:?}"),
    };
    assert_eq!(entry.actor.kind, "tool");
    s.append_id_ops(&[warden_plugin::ids::mint_op(
        &new.card,
        &entry.time,
        &entry.run,
        &entry.writer,
    )])
    .expect("id log");
    drop(s);
    let findings = warden_plugin::ids::check(&w.root, None);
    assert!(
        findings.is_empty(),
        "ids check passes right after a scaffold: {findings:#?}"
    );
    // Disabling what is not enabled writes nothing; enabling pins; again is a no-op.
    assert!(matches!(
        scaffold::registry_change(&w.root, "tidy", None).expect("disable"),
        scaffold::RegistryChange::NotEnabled
    ));
    let repo = w.repo();
    let write = match scaffold::registry_change(&w.root, "tidy", Some((&spec, &repo.policy)))
        .expect("enable")
    {
        scaffold::RegistryChange::Write(x) => x,
        other => panic!("no write: {other:?}"),
    };
    assert_eq!(write.path, REGISTRY_FILE);
    w.apply(&[write], "enable");
    assert!(matches!(
        scaffold::registry_change(&w.root, "tidy", Some((&spec, &repo.policy))).expect("again"),
        scaffold::RegistryChange::AlreadyEnabled
    ));
    assert!(matches!(
        scaffold::registry_change(&w.root, "tidy", None).expect("disable"),
        scaffold::RegistryChange::Write(_)
    ));
}

#[cfg(unix)]
#[test]
fn a_plugin_without_the_sandbox_that_chmods_an_old_run_artifact_is_still_caught() {
    let w = World::new();
    // Runs before the protocol: it changes the mode of every past run's
    // record, then answers nothing.
    w.scaffold_with(
        "snoop",
        "RATIONALE_handle='x'\nhandle() {\n  cat >/dev/null\n}\nchmod 600 \"$WARDEN_REPO\"/.runs/*/run.json\nexit 3\n",
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o7777;
    let old: Vec<(std::path::PathBuf, u32)> = std::fs::read_dir(w.root.join(".runs"))
        .expect("runs")
        .filter_map(|e| e.ok().map(|e| e.path().join("run.json")))
        .filter(|p| p.is_file())
        .map(|p| {
            let m = mode(&p);
            (p, m)
        })
        .collect();
    assert!(old.iter().all(|(_, m)| *m != 0o600), "{old:?}");
    assert!(old.len() >= 3, "the scaffold, regeneration and enable runs");
    w.write("junk.tmp", "x\n");
    let report = w.dispatch(vec![w.item("junk.tmp")]);
    let p = &report.plugins[0];
    assert!(!p.bounded_snapshot, "no helper: the full walk");
    let fault = p.fault.as_ref().expect("caught");
    assert_eq!(
        fault.kind,
        runtime::FaultKind::MetadataModified,
        "{fault:?}"
    );
    assert!(
        fault.message.contains("/run.json: mode 0") && fault.message.contains(" -> 0600"),
        "{}",
        fault.message
    );
    for (path, was) in old {
        assert_eq!(mode(&path), was, "{} put back", path.display());
    }
}

#[cfg(unix)]
#[test]
fn a_plugin_without_the_sandbox_that_writes_chmods_and_adds_hooks_under_dot_git_is_still_caught() {
    let w = World::new();
    // Runs before the protocol, then answers normally (nothing proposed).
    w.scaffold_with(
        "gitter",
        "RATIONALE_handle='x'\nhandle() {\n  cat >/dev/null\n}\ng=\"$WARDEN_REPO/.git\"\nprintf '[core]\\n\\thooksPath = /tmp/evil\\n' >> \"$g/config\"\nprintf '#!/bin/sh\\necho owned\\n' > \"$g/hooks/x\"\nchmod 600 \"$g/HEAD\"\n",
    );
    use std::os::unix::fs::PermissionsExt;
    let git = w.root.join(".git");
    let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o7777;
    let config = std::fs::read(git.join("config")).expect("config");
    let head_mode = mode(&git.join("HEAD"));
    assert_ne!(head_mode, 0o600);
    w.write("junk.tmp", "x\n");
    let report = w.dispatch(vec![w.item("junk.tmp")]);
    let p = &report.plugins[0];
    assert!(!p.bounded_snapshot, "no helper: the full walk");
    let fault = p.fault.as_ref().expect("caught");
    assert_eq!(fault.kind, runtime::FaultKind::RepoModified, "{fault:?}");
    for seen in [
        ".git/HEAD: mode",
        ".git/config: content",
        ".git/hooks/x: added",
    ] {
        assert!(fault.message.contains(seen), "{seen}: {}", fault.message);
    }
    assert_eq!(std::fs::read(git.join("config")).expect("config"), config);
    assert!(!git.join("hooks/x").exists(), "the new hook is taken out");
    assert_eq!(mode(&git.join("HEAD")), head_mode);
}
