//! `runtime::replay` with real `sh` plugins: a dispatch re-run on its stored
//! input is byte-identical while nothing changed; every other outcome (a
//! run that is no dispatch, an edited input, a changed, removed, failing or
//! re-scoped plugin) is refused or noted on the plugin's line.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::World;
use warden_core::{Error, ExitClass};
use warden_plugin::runtime::{self, DispatchOptions, ReplayReport};

/// Quarantines `*.tmp` like the scaffold, but exits 9 (before answering)
/// once `fail` exists in the repository.
const FAILS_ON_DEMAND: &str = r#"RATIONALE_handle='temporary files'
handle() {
  while IFS= read -r path; do
    case "$path" in
      *.tmp) printf '{"kind":"quarantine","path":"%s","reason":"temporary file"}\n' "$path" ;;
    esac
  done
}
if [ -e "$WARDEN_REPO/fail" ]; then cat >/dev/null; exit 9; fi
"#;

/// A world with plugin `tidy` enabled (its developer area `code`, or the
/// scaffold's) and one dispatch of it that quarantined `junk.tmp`.
fn dispatched(code: Option<&str>) -> (World, String) {
    let w = World::new();
    match code {
        Some(code) => {
            w.scaffold_with("tidy", code);
        }
        None => {
            let spec = w.scaffold("tidy");
            w.enable(&spec);
        }
    }
    w.write("junk.tmp", "x\n");
    let report = w.dispatch(vec![w.item("junk.tmp")]);
    assert!(report.plugins[0].proposal_sha256.is_some(), "{report:#?}");
    (w, report.run)
}

fn replay(w: &World, run: &str) -> Result<ReplayReport, Error> {
    let repo = w.repo();
    let launcher = w.launcher();
    let mut s = repo.session(&w.ctx, false, &mut |_| {}).expect("session");
    let opts = DispatchOptions {
        launcher: &launcher,
        actor: World::actor(),
    };
    runtime::replay(&mut s, run, &opts).map(|(report, _record)| report)
}

#[test]
fn a_replay_of_an_unchanged_plugin_is_byte_identical() {
    let (w, run) = dispatched(None);
    let r = replay(&w, &run).expect("replay");
    assert!(r.identical, "{r:#?}");
    assert_eq!(r.run, run);
    assert_eq!(r.event, "FileDetected");
    let p = &r.plugins[0];
    assert_eq!((p.note.as_deref(), p.diff.as_deref()), (None, None));
    assert_eq!(p.replayed, p.recorded);
}

#[test]
fn a_replay_of_a_run_that_is_not_a_dispatch_is_refused_naming_run() {
    let (w, _) = dispatched(None);
    let enable = w
        .repo()
        .ledger()
        .entries()
        .expect("entries")
        .into_iter()
        .find(|e| e.command != "run")
        .expect("the scaffold's run");
    let e = replay(&w, &enable.run).expect_err("refused");
    assert_eq!(e.class(), ExitClass::Rejected, "{e}");
    assert!(
        e.to_string()
            .contains("only plugin dispatches (`warden run EVENT`) can be replayed"),
        "{e}"
    );
}

#[test]
fn a_replay_whose_stored_input_was_edited_is_corrupt() {
    let (w, run) = dispatched(None);
    let input = w.root.join(format!(".runs/{run}/input.json"));
    let mut bytes = std::fs::read(&input).expect("input");
    bytes.push(b' ');
    std::fs::write(&input, bytes).expect("edit");
    match replay(&w, &run) {
        Err(Error::Corrupt { path, message }) => {
            assert_eq!(path, input);
            assert_eq!(
                message,
                "the stored input does not match the digest in the ledger"
            );
        }
        other => panic!("not corrupt: {other:?}"),
    }
}

#[test]
fn a_replay_of_a_changed_plugin_is_not_identical_and_shows_the_diff() {
    let (w, run) = dispatched(None);
    // Now it proposes nothing: the files no longer match the pinned manifest.
    w.set_developer_area(
        "tidy",
        "RATIONALE_handle='nothing'\nhandle() {\n  cat >/dev/null\n}\n",
    );
    let r = replay(&w, &run).expect("replay");
    assert!(!r.identical, "{r:#?}");
    let p = &r.plugins[0];
    let note = p.note.as_deref().expect("a note");
    assert!(
        note.starts_with("the plugin is not the one that ran (")
            && note.ends_with("); replayed with the current version"),
        "{note}"
    );
    assert!(p.replayed.is_some() && p.replayed != p.recorded, "{p:#?}");
    let diff = p.diff.as_deref().expect("a diff");
    assert!(
        diff.contains("recorded") && diff.contains("replayed"),
        "{diff}"
    );
    assert!(
        diff.lines()
            .any(|l| l.starts_with('-') && l.contains("junk.tmp")),
        "the recorded quarantine is the removed side:\n{diff}"
    );
}

#[test]
fn a_replay_of_a_removed_plugin_notes_why_it_could_not_run() {
    let (w, run) = dispatched(None);
    let spec = w.root.join("plugins/tidy/plugin.spec.json");
    std::fs::remove_file(&spec).expect("remove");
    let why = warden_plugin::validate::load_spec(&w.root, "tidy")
        .expect_err("no spec")
        .message;
    let r = replay(&w, &run).expect("replay");
    let p = &r.plugins[0];
    assert_eq!(p.note.as_deref(), Some(why.as_str()));
    assert_eq!(
        (p.replayed, p.identical, p.diff.as_deref()),
        (None, false, None)
    );
    assert!(!r.identical);
}

#[test]
fn a_replay_where_the_unchanged_plugin_now_fails_notes_the_failure() {
    let (w, run) = dispatched(Some(FAILS_ON_DEMAND));
    w.write("fail", "");
    let r = replay(&w, &run).expect("replay");
    let p = &r.plugins[0];
    assert_eq!(
        p.note.as_deref(),
        Some("replay failed: exited with code 9"),
        "{p:#?}"
    );
    assert_eq!(
        (p.replayed, p.identical, p.diff.as_deref()),
        (None, false, None)
    );
}

#[test]
fn a_replay_where_no_operation_handles_the_event_any_more_says_so() {
    let (w, run) = dispatched(None);
    let path = w.root.join("plugins/tidy/plugin.spec.json");
    let text = std::fs::read_to_string(&path).expect("spec");
    std::fs::write(&path, text.replace("\"FileDetected\"", "\"Manual\"")).expect("edit");
    let r = replay(&w, &run).expect("replay");
    let p = &r.plugins[0];
    assert_eq!(
        p.note.as_deref(),
        Some("no operation handles FileDetected any more"),
        "{p:#?}"
    );
    assert_eq!((p.replayed, p.identical), (None, false));
}
