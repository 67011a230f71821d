//! `maintain --auto` end to end on a real git repository: the collectors,
//! the gates, the batch validation, one run through the engine, undo.
//! Seed 001 acceptance items: "`maintain --auto --no-llm` applies
//! deterministic patches and validates atomically"; "promote with/without
//! evidence files; vector/index consistency after apply".
// Tests, examples and benches drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{Fx, entry};
use serde_json::json;
use warden_core::Repo;
use warden_registry::maintain::{Gate, PatchOutcome, SessionOutcome, Tier};
use warden_registry::model::{Entry, INDEX_PATH, Index};
use warden_registry::patch::{Confidence, PatchKind, RegistryPatch};

fn ledger_len(fx: &Fx) -> usize {
    Repo::open(&fx.root)
        .expect("open")
        .ledger()
        .entries()
        .expect("entries")
        .len()
}

fn promote(id: &str, dim: char, to: u8, cite: &[&str]) -> RegistryPatch {
    RegistryPatch {
        capability_id: id.into(),
        kind: PatchKind::MaturityPromote,
        confidence: Confidence::High,
        rationale: "tests landed".into(),
        field_path: format!("maturity.{dim}.current"),
        value: Some(json!(to)),
        append: None,
        evidence_citations: cite.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn maintain_auto_no_llm_applies_deterministic_patches_as_one_validated_run() {
    let fx = Fx::new();
    let base = fx.git(&["rev-parse", "HEAD"]).trim().to_string();
    fx.write("docs/alpha/guide.md", "guide\n");
    fx.write(".github/workflows/alpha.yml", "on: push\n");
    fx.write("src/alpha/tests/t1.py", "t1\n");
    fx.write(
        "tools/alpha/pyproject.toml",
        "[project]\nname='a'\n[project.scripts]\nalpha = 'a:main'\n",
    );
    fx.write("unrelated.txt", "x\n");
    // A new entry without an index row, and drift of alpha's vector.
    fx.write(
        "registry/capabilities/gamma.md",
        &entry("capability.demo.gamma", [0, 0, 0, 0], &["src/gamma/**"], ""),
    );
    let alpha = fx
        .read("registry/capabilities/alpha.md")
        .replace("D: {current: 1}", "D: {current: 2}");
    fx.write("registry/capabilities/alpha.md", &alpha);
    fx.commit("work");
    let before = ledger_len(&fx);
    let r = fx.auto(&fx.opts(Some(&base)), None, vec![]);
    assert_eq!(r.outcome, SessionOutcome::Applied, "{r:#?}");
    assert_eq!(r.exit_code, 0);
    let kinds: Vec<PatchKind> = r.patches.iter().map(|p| p.patch.kind).collect();
    assert_eq!(
        kinds,
        vec![
            PatchKind::VectorSync,
            PatchKind::IndexRowAdd,
            PatchKind::EvidenceAppend,
            PatchKind::EvidenceAppend,
            PatchKind::EvidenceAppend,
            PatchKind::ArtifactAppend
        ],
        "index collectors first (entries in path order: alpha, gamma), then workflows, tests, docs, entry points"
    );
    assert!(
        r.patches
            .iter()
            .all(|p| p.outcome == PatchOutcome::Applied && p.tier == Tier::Safe)
    );
    assert!(
        r.notes
            .iter()
            .any(|n| n.collector == "unmapped" && n.path.as_deref() == Some("unrelated.txt"))
    );
    assert_eq!(ledger_len(&fx), before + 1, "one run for the whole session");
    let run = r.run.clone().expect("run");
    let e = Entry::parse(
        fx.read("registry/capabilities/alpha.md").as_bytes(),
        "alpha.md",
    )
    .expect("alpha");
    assert_eq!(e.meta.evidence["tests"].len(), 3, "{:?}", e.meta.evidence);
    assert!(e.meta.evidence["tests"].contains(&"src/alpha/tests/t1.py".to_string()));
    assert!(e.meta.evidence["tests"].contains(&".github/workflows/alpha.yml".to_string()));
    assert_eq!(
        e.meta.evidence["documentation"],
        vec!["docs/alpha/guide.md".to_string()]
    );
    assert_eq!(
        e.meta.availability.current_artifacts,
        vec!["py-script:alpha".to_string()]
    );
    assert_eq!(
        e.body, "# capability.demo.alpha\n\nFree text  \n\twith tabs.\n",
        "body byte for byte"
    );
    let ix = Index::parse(fx.read(INDEX_PATH).as_bytes(), INDEX_PATH).expect("index");
    assert_eq!(ix.updated, common::DATE, "bumped on write");
    assert_eq!(
        ix.row("capability.demo.alpha")
            .expect("row")
            .vector
            .to_string(),
        "D2/A0/C1/R0"
    );
    assert!(ix.row("capability.demo.gamma").is_some());
    assert!(fx.validate_ok());
    let recorded = fx.root.join(format!(".runs/{run}/patches.json"));
    assert!(
        recorded.is_file(),
        "the accepted patches are kept with the run"
    );

    // A second session finds nothing left to do (idempotent).
    fx.commit("registry");
    let again = fx.auto(&fx.opts(Some(&base)), None, vec![]);
    assert_eq!(again.outcome, SessionOutcome::NothingToDo, "{again:#?}");
    assert_eq!(again.exit_code, 0);
}

#[test]
fn undo_restores_the_registry_byte_for_byte() {
    let fx = Fx::new();
    let base = fx.git(&["rev-parse", "HEAD"]).trim().to_string();
    fx.write("docs/alpha/guide.md", "guide\n");
    fx.commit("docs");
    let tree = fx.tree();
    let r = fx.auto(&fx.opts(Some(&base)), None, vec![]);
    let run = r.run.expect("run");
    assert_ne!(fx.tree(), tree);
    fx.undo(&run);
    assert_eq!(
        fx.tree(),
        tree,
        "the whole working tree is back, byte for byte"
    );
}

#[test]
fn a_promotion_with_evidence_applies_and_syncs_the_index() {
    let fx = Fx::new();
    fx.write("src/alpha/tests/t1.py", "t1\n");
    fx.commit("tests");
    let ev = RegistryPatch {
        capability_id: "capability.demo.alpha".into(),
        kind: PatchKind::EvidenceAppend,
        confidence: Confidence::High,
        rationale: "second test".into(),
        field_path: "evidence.tests".into(),
        value: None,
        append: Some(json!("src/alpha/tests/t1.py")),
        evidence_citations: vec![],
    };
    let p = promote(
        "capability.demo.alpha",
        'C',
        2,
        &["src/alpha/tests/t0.py", "src/alpha/tests/t1.py"],
    );
    let r = fx.auto(&fx.opts(None), None, vec![ev, p]);
    assert_eq!(r.outcome, SessionOutcome::Applied, "{r:#?}");
    let e = Entry::parse(fx.read("registry/capabilities/alpha.md").as_bytes(), "a").expect("parse");
    assert_eq!(e.meta.maturity.C.current, 2);
    let h = e.meta.promotion_history.last().expect("history");
    assert_eq!(
        (h.from.to_string(), h.to.to_string()),
        ("D1/A0/C1/R0".into(), "D1/A0/C2/R0".into())
    );
    assert_eq!(h.source, warden_registry::model::Origin::Person);
    let ix = Index::parse(fx.read(INDEX_PATH).as_bytes(), INDEX_PATH).expect("index");
    assert_eq!(
        ix.row("capability.demo.alpha")
            .expect("row")
            .vector
            .to_string(),
        "D1/A0/C2/R0"
    );
    assert!(fx.validate_ok());
}

#[test]
fn a_promotion_citing_a_missing_file_is_refused_and_the_rest_applies() {
    let fx = Fx::new();
    let base = fx.git(&["rev-parse", "HEAD"]).trim().to_string();
    fx.write("docs/alpha/guide.md", "guide\n");
    fx.commit("docs");
    let beta = fx.read("registry/capabilities/beta.md");
    let r = fx.auto(
        &fx.opts(Some(&base)),
        None,
        vec![promote(
            "capability.demo.beta",
            'D',
            1,
            &["docs/beta/missing.md"],
        )],
    );
    assert_eq!(r.outcome, SessionOutcome::Partial);
    assert_eq!(r.exit_code, 5);
    let refused = r
        .patches
        .iter()
        .find(|p| p.patch.kind == PatchKind::MaturityPromote)
        .expect("promote");
    assert_eq!(refused.outcome, PatchOutcome::Rejected);
    assert_eq!(refused.gate, Some(Gate::Evidence));
    assert!(
        refused
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("docs/beta/missing.md")),
        "{refused:?}"
    );
    assert_eq!(
        fx.read("registry/capabilities/beta.md"),
        beta,
        "nothing of beta changed"
    );
    assert!(r.patches.iter().any(|p| p.outcome == PatchOutcome::Applied));
    assert!(
        r.remaining_manual
            .iter()
            .any(|m| m.contains("evidence gate"))
    );
}

#[test]
fn untracked_or_escaping_evidence_is_refused() {
    let fx = Fx::new();
    fx.write("docs/beta/scratch.md", "not added\n");
    let p = fx.one(
        &fx.opts(None),
        promote("capability.demo.beta", 'D', 1, &["docs/beta/scratch.md"]),
    );
    assert_eq!(p.gate, Some(Gate::Evidence));
    assert!(
        p.reason
            .as_deref()
            .is_some_and(|r| r.contains("not tracked")),
        "{p:?}"
    );
    std::os::unix::fs::symlink("/etc/hostname", fx.root.join("docs/beta/link.md"))
        .expect("symlink");
    fx.git(&["add", "docs/beta/link.md"]);
    let p = fx.one(
        &fx.opts(None),
        promote("capability.demo.beta", 'D', 1, &["docs/beta/link.md"]),
    );
    assert_eq!(p.gate, Some(Gate::Evidence), "{p:?}");
}

#[test]
fn the_level_gate_caps_promotions_per_dimension_per_session() {
    let fx = Fx::new();
    let two = promote("capability.demo.alpha", 'D', 3, &["src/alpha/tests/t0.py"]);
    let p = fx.one(&fx.opts(None), two);
    assert_eq!(p.gate, Some(Gate::Level), "{p:?}");
    // Two single steps in one session are two levels: the second is refused.
    fx.write("docs/alpha/a.md", "a\n");
    fx.write("docs/alpha/b.md", "b\n");
    fx.write("docs/alpha/c.md", "c\n");
    fx.commit("docs");
    let doc = |p: &str| RegistryPatch {
        capability_id: "capability.demo.alpha".into(),
        kind: PatchKind::EvidenceAppend,
        confidence: Confidence::High,
        rationale: "docs".into(),
        field_path: "evidence.documentation".into(),
        value: None,
        append: Some(json!(p)),
        evidence_citations: vec![],
    };
    let r = fx.auto(
        &fx.opts(None),
        None,
        vec![
            doc("docs/alpha/a.md"),
            doc("docs/alpha/b.md"),
            doc("docs/alpha/c.md"),
            promote("capability.demo.alpha", 'D', 2, &["docs/alpha/a.md"]),
            promote("capability.demo.alpha", 'D', 3, &["docs/alpha/b.md"]),
        ],
    );
    let outcomes: Vec<(PatchOutcome, Option<Gate>)> =
        r.patches.iter().map(|p| (p.outcome, p.gate)).collect();
    assert_eq!(outcomes[3], (PatchOutcome::Applied, None), "{r:#?}");
    assert_eq!(outcomes[4], (PatchOutcome::Rejected, Some(Gate::Level)));
    // --auto-max-delta 0 disables promotions.
    let mut o = fx.opts(None);
    o.max_delta = 0;
    let p = fx.one(
        &o,
        promote("capability.demo.beta", 'C', 1, &["src/alpha/tests/t0.py"]),
    );
    assert_eq!(p.gate, Some(Gate::Level));
}

#[test]
fn the_standard_gate_wants_the_evidence_of_the_new_level() {
    let fx = Fx::new();
    // C2 needs two tests; alpha has one.
    let p = fx.one(
        &fx.opts(None),
        promote("capability.demo.alpha", 'C', 2, &["src/alpha/tests/t0.py"]),
    );
    assert_eq!(p.gate, Some(Gate::Standard), "{p:?}");
    assert!(
        p.reason
            .as_deref()
            .is_some_and(|s| s.contains("evidence.tests"))
    );
}

#[test]
fn tier_and_confidence_gates() {
    let fx = Fx::new();
    let rel = RegistryPatch {
        capability_id: "capability.demo.alpha".into(),
        kind: PatchKind::RelationAdd,
        confidence: Confidence::Medium,
        rationale: "alpha calls beta".into(),
        field_path: "relations.depends_on".into(),
        value: None,
        append: Some(json!("capability.demo.beta")),
        evidence_citations: vec![],
    };
    assert_eq!(
        fx.one(&fx.opts(None), rel.clone()).gate,
        Some(Gate::Confidence)
    );
    let mut o = fx.opts(None);
    o.min_confidence = Confidence::Medium;
    o.tiers = [Tier::Safe].into_iter().collect();
    assert_eq!(fx.one(&o, rel.clone()).gate, Some(Gate::Tier));
    o.tiers = [Tier::LlmMetadata].into_iter().collect();
    let p = fx.one(&o, rel);
    assert_eq!(p.outcome, PatchOutcome::Applied, "{p:#?}");
}

#[test]
fn a_missing_entry_blocks_the_write_and_nothing_changes() {
    let fx = Fx::new();
    let base = fx.git(&["rev-parse", "HEAD"]).trim().to_string();
    let mut index = fx.read(INDEX_PATH);
    index.push_str("- id: capability.demo.ghost\n  entry: registry/capabilities/ghost.md\n  vector: D0/A0/C0/R0\n");
    fx.write(INDEX_PATH, &index);
    fx.write("docs/alpha/guide.md", "guide\n");
    fx.commit("ghost");
    let tree = fx.tree();
    let before = ledger_len(&fx);
    let r = fx.auto(&fx.opts(Some(&base)), None, vec![]);
    assert_eq!(r.outcome, SessionOutcome::ValidationFailed);
    assert_eq!(r.exit_code, 1);
    let v = r.validation.as_ref().expect("problems");
    let p = v
        .problems
        .iter()
        .find(|p| p.code == "missing_entry")
        .expect("missing_entry");
    assert_eq!(p.file, INDEX_PATH);
    assert_eq!(p.field, "capabilities[2].entry");
    assert!(
        r.notes
            .iter()
            .any(|n| n.collector == "missing_entry" && n.blocking)
    );
    assert_eq!(fx.tree(), tree, "nothing written");
    assert_eq!(ledger_len(&fx), before, "nothing ledgered");
    assert!(r.patches.iter().all(|p| p.gate == Some(Gate::Validate)));
}

#[test]
fn stale_updated_is_noted_and_only_new_entry_points_are_suggested() {
    let fx = Fx::new();
    // The index says it was updated before the registry's last commit.
    let ix = fx.read(INDEX_PATH).replace("2026-01-01", "2025-12-01");
    fx.write(INDEX_PATH, &ix);
    fx.write(
        "tools/alpha/pyproject.toml",
        "[project]\nname='a'\n[project.scripts]\nold = 'a:main'\n",
    );
    fx.commit("old script");
    let base = fx.git(&["rev-parse", "HEAD"]).trim().to_string();
    fx.write(
        "tools/alpha/pyproject.toml",
        "[project]\nname='a'\n[project.scripts]\nold = 'a:main'\nnew = 'a:new'\n",
    );
    fx.commit("new script");
    let r = fx.auto(&fx.opts(Some(&base)), None, vec![]);
    let arts: Vec<&str> = r
        .patches
        .iter()
        .filter(|p| p.patch.kind == PatchKind::ArtifactAppend)
        .filter_map(|p| p.patch.append.as_ref().and_then(|v| v.as_str()))
        .collect();
    assert_eq!(arts, vec!["py-script:new"]);
    assert!(
        r.notes.iter().any(|n| n.collector == "stale_updated"),
        "{:?}",
        r.notes
    );
}

#[test]
fn a_bad_since_revision_is_a_usage_error() {
    let fx = Fx::new();
    let e = warden_registry::maintain::prepare(
        &fx.root,
        &fx.gitx(),
        &fx.opts(Some("no-such-ref")),
        None,
        None,
        vec![],
    )
    .expect_err("bad ref");
    assert_eq!(e.class(), warden_core::ExitClass::Input);
    assert!(e.to_string().contains("--from-git-since"), "{e}");
}

#[test]
fn replay_rederives_an_automatic_run_byte_for_byte_and_needs_the_state_it_left() {
    let fx = Fx::new();
    let base = fx.git(&["rev-parse", "HEAD"]).trim().to_string();
    fx.write("docs/alpha/guide.md", "guide\n");
    fx.write("src/alpha/tests/t1.py", "t1\n");
    fx.commit("docs and a test");
    let r = fx.auto(&fx.opts(Some(&base)), None, vec![]);
    let run = r.run.expect("run");
    let tree = fx.tree();
    let replay = |fx: &Fx| {
        let repo = Repo::open(&fx.root).expect("open");
        let mut s = repo.session(&fx.ctx, true, &mut |_| {}).expect("session");
        warden_registry::replay::replay(&mut s, &fx.gitx(), &run)
    };
    let rep = replay(&fx).expect("replay");
    assert!(rep.identical, "{rep:#?}");
    assert_eq!(rep.suggested, r.suggested);
    assert_eq!(
        rep.files
            .iter()
            .map(|f| f.path.as_str())
            .collect::<Vec<_>>(),
        vec!["registry/capabilities/alpha.md", INDEX_PATH]
    );
    assert_eq!(fx.tree(), tree, "a replay writes nothing");
    // A recorded suggestion that differs from what the run applied: the
    // replay says so.
    let rec = fx.root.join(format!(".runs/{run}/session.json"));
    let text = std::fs::read_to_string(&rec).expect("session.json");
    std::fs::write(
        &rec,
        text.replace("src/alpha/tests/t1.py", "src/alpha/tests/t0.py"),
    )
    .expect("write");
    let rep = replay(&fx).expect("replay");
    assert!(!rep.identical);
    assert!(
        rep.files
            .iter()
            .any(|f| f.path == "registry/capabilities/alpha.md" && !f.identical),
        "{rep:#?}"
    );
    // A file no longer as the run left it: refused, naming the run.
    fx.write("registry/capabilities/alpha.md", "changed\n");
    let e = replay(&fx).expect_err("drifted");
    assert!(e.to_string().contains("cannot be replayed"), "{e}");
}

/// Regression: a comment inside a changed field's value was lost without a
/// word. Appending to a block-style list keeps it; where it cannot be kept
/// (a flow-style list), the report names the field.
#[test]
fn a_comment_inside_a_changed_value_is_kept_or_the_report_says_it_was_lost() {
    let fx = Fx::new();
    let alpha = fx.read("registry/capabilities/alpha.md").replace(
        "- src/alpha/**\n",
        "# the code\n- src/alpha/**   # all of it\n",
    );
    let alpha = alpha.replace(
        "evidence:\n  tests: [src/alpha/tests/t0.py]\n",
        "evidence:\n  tests: [src/alpha/tests/t0.py]   # the first test\n",
    );
    fx.write("registry/capabilities/alpha.md", &alpha);
    fx.write(
        "registry/capabilities/beta.md",
        &fx.read("registry/capabilities/beta.md").replace(
            "paths:\n- src/beta/**\n",
            "paths:\n- src/beta/**\nevidence:\n  tests:\n  # the unit tests\n  - src/alpha/tests/t0.py   # shared\n",
        ),
    );
    let base = {
        fx.commit("comments");
        fx.git(&["rev-parse", "HEAD"]).trim().to_string()
    };
    fx.write("src/alpha/tests/t1.py", "t1\n");
    fx.write("src/beta/tests/t2.py", "t2\n");
    fx.commit("tests");
    let r = fx.auto(&fx.opts(Some(&base)), None, vec![]);
    assert_eq!(r.outcome, SessionOutcome::Applied, "{r:#?}");
    let beta = fx.read("registry/capabilities/beta.md");
    assert!(
        beta.contains(
            "  tests:\n  # the unit tests\n  - src/alpha/tests/t0.py   # shared\n  - src/beta/tests/t2.py\n"
        ),
        "{beta}"
    );
    let alpha = fx.read("registry/capabilities/alpha.md");
    assert!(alpha.contains("# the code\n- src/alpha/**   # all of it\n"));
    assert!(!alpha.contains("# the first test"), "{alpha}");
    let lost: Vec<(&str, &str)> = r
        .notes
        .iter()
        .filter(|n| n.collector == "rewrite")
        .map(|n| (n.path.as_deref().unwrap_or(""), n.message.as_str()))
        .collect();
    assert_eq!(
        lost,
        vec![(
            "registry/capabilities/alpha.md",
            "registry/capabilities/alpha.md: evidence.tests: a comment inside the old value could not be kept (the changed value is written in canonical form; only items appended to a block-style list keep the lines around them)"
        )]
    );
    assert!(fx.validate_ok());
}

/// Regression: every write of the index rendered it again in canonical form,
/// so a person's comments in it were lost. Now one row's vector drifting
/// changes only that row's vector and the `updated` value; every comment,
/// blank line and the other row stay byte for byte.
#[test]
fn index_comments_survive_a_vector_sync() {
    let fx = Fx::new();
    let commented = "# The capabilities we offer; kept by hand and by warden.\nupdated: \"2026-01-01\"   # bumped on every write\n\ncapabilities:\n# -- the first --\n- id: capability.demo.alpha   # our oldest\n  entry: registry/capabilities/alpha.md\n  vector: D1/A0/C1/R0\n\n# -- the second --\n- id: capability.demo.beta\n  entry: registry/capabilities/beta.md\n  vector: D0/A0/C0/R0\n# end of list\n";
    fx.write(INDEX_PATH, commented);
    let beta = fx
        .read("registry/capabilities/beta.md")
        .replace("D: {current: 0}", "D: {current: 1}");
    fx.write("registry/capabilities/beta.md", &beta);
    fx.commit("beta documented");
    let r = fx.auto(&fx.opts(None), None, vec![]);
    assert_eq!(r.outcome, SessionOutcome::Applied, "{r:#?}");
    let kinds: Vec<PatchKind> = r.patches.iter().map(|p| p.patch.kind).collect();
    assert_eq!(kinds, vec![PatchKind::VectorSync]);
    assert_eq!(
        fx.read(INDEX_PATH),
        commented
            .replace("\"2026-01-01\"", &format!("\"{}\"", common::DATE))
            .replace(
                "  entry: registry/capabilities/beta.md\n  vector: D0/A0/C0/R0\n",
                "  entry: registry/capabilities/beta.md\n  vector: D1/A0/C0/R0\n"
            )
    );
    assert!(
        r.notes.iter().all(|n| n.collector != "rewrite"),
        "no comment was lost: {:?}",
        r.notes
    );
    assert!(fx.validate_ok());
}

/// Regression: every maintain after a first one reported warden's own
/// ledger file (`.ledger/runs/*.jsonl`, changed by the run itself) as an
/// `unmapped` change. warden's bookkeeping is no news about a capability.
#[test]
fn the_ledger_is_not_an_unmapped_change() {
    let fx = Fx::new();
    let head = fx.git(&["rev-parse", "HEAD"]).trim().to_string();
    fx.write("docs/alpha/guide.md", "guide\n");
    fx.commit("docs");
    let first = fx.auto(&fx.opts(Some(&head)), None, vec![]);
    assert_eq!(first.outcome, SessionOutcome::Applied, "{first:#?}");
    assert_ne!(
        fx.git(&["status", "--porcelain", "--", ".ledger"]).trim(),
        "",
        "the run changed the ledger"
    );
    fx.write("unrelated.txt", "x\n");
    fx.git(&["add", "unrelated.txt"]);
    fx.git(&["commit", "-qm", "unrelated"]);
    let again = fx.auto(&fx.opts(Some(&head)), None, vec![]);
    let unmapped: Vec<Option<String>> = again
        .notes
        .iter()
        .filter(|n| n.collector == "unmapped")
        .map(|n| n.path.clone())
        .collect();
    assert_eq!(unmapped, vec![Some("unrelated.txt".to_string())]);
}

/// A new `[[bin]]` in the root `Cargo.toml` was reported `unmapped` although
/// its `path` lay inside a capability's `paths`: the collector matched only
/// the manifest's own path. A new entry point now maps by its target's
/// source file too (a `[[bin]]` path, a `package.json` `bin` file, a Python
/// script's module), and only one that matches nothing is a note.
#[test]
fn a_root_cargo_bin_whose_path_a_capability_covers_was_reported_unmapped() {
    let fx = Fx::new();
    fx.write("Cargo.toml", "[package]\nname = 'w'\n");
    fx.write("package.json", r#"{"name":"w"}"#);
    fx.write("pyproject.toml", "[project]\nname = 'w'\n");
    fx.commit("manifests");
    let base = fx.git(&["rev-parse", "HEAD"]).trim().to_string();
    fx.write(
        "Cargo.toml",
        "[package]\nname = 'w'\n\n[[bin]]\nname = 'alpha-cli'\npath = 'src/alpha/main.rs'\n\n[[bin]]\nname = 'orphan'\n",
    );
    fx.write("src/alpha/main.rs", "fn main() {}\n");
    fx.write(
        "package.json",
        r#"{"name":"w","bin":{"beta-js":"./src/beta/cli.js"}}"#,
    );
    fx.write("src/beta/cli.js", "\n");
    fx.write(
        "pyproject.toml",
        "[project]\nname = 'w'\n[project.scripts]\nbeta-py = 'beta.cli:main'\n",
    );
    fx.write("src/beta/cli.py", "def main(): pass\n");
    fx.commit("entry points");
    let mut opts = fx.opts(Some(&base));
    opts.tiers = [Tier::Safe].into_iter().collect();
    let r = fx.auto(&opts, None, vec![]);
    let arts: Vec<(&str, &str, PatchOutcome)> = r
        .patches
        .iter()
        .filter(|p| p.patch.kind == PatchKind::ArtifactAppend)
        .map(|p| {
            let art = p.patch.append.as_ref().and_then(|v| v.as_str());
            (p.patch.capability_id.as_str(), art.unwrap_or(""), p.outcome)
        })
        .collect();
    assert_eq!(
        arts,
        vec![
            (
                "capability.demo.alpha",
                "cargo-bin:alpha-cli",
                PatchOutcome::Applied
            ),
            (
                "capability.demo.beta",
                "npm-bin:beta-js",
                PatchOutcome::Applied
            ),
            (
                "capability.demo.beta",
                "py-script:beta-py",
                PatchOutcome::Applied
            ),
        ],
        "{r:#?}"
    );
    let unmapped: Vec<(Option<&str>, &str)> = r
        .notes
        .iter()
        .filter(|n| n.collector == "unmapped")
        .map(|n| (n.path.as_deref(), n.message.as_str()))
        .collect();
    assert_eq!(
        unmapped,
        vec![(
            Some("Cargo.toml"),
            "Cargo.toml declares the new entry point cargo-bin:orphan (source src/bin/orphan.rs, src/bin/orphan/main.rs), but no capability's `paths` matches the manifest or the source"
        )],
        "only the entry point no capability covers is a note; the manifests are not"
    );
    assert!(fx.validate_ok());
}
