//! `warden replay RUN` of a registry maintain run compares, path by path,
//! what the replay would write with what the run wrote. Each kind of
//! difference — other content, a file only the run wrote, a file only the
//! replay would write — makes the replay not identical and is named in one
//! line; a replay whose records are untouched names none. Each test fails if
//! its check is removed from the comparison.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::Fx;
use warden_core::Repo;
use warden_registry::maintain::Suggestion;
use warden_registry::model::{INDEX_PATH, Origin};
use warden_registry::patch::{Confidence, PatchKind, RegistryPatch};
use warden_registry::replay::{ReplayReport, SESSION_FILE, SessionRecord};

const ALPHA: &str = "registry/capabilities/alpha.md";
const BETA: &str = "registry/capabilities/beta.md";

/// A maintain run that appends a new test of alpha's to its evidence (it
/// writes alpha's entry and the index), and its run id.
fn alpha_run() -> (Fx, String) {
    let fx = Fx::new();
    let base = fx.git(&["rev-parse", "HEAD"]).trim().to_string();
    fx.write("src/alpha/tests/t1.py", "t1\n");
    fx.commit("a test");
    let r = fx.auto(&fx.opts(Some(&base)), None, vec![]);
    let run = r.run.expect("the session wrote");
    (fx, run)
}

fn replay(fx: &Fx, run: &str) -> ReplayReport {
    let repo = Repo::open(&fx.root).expect("open");
    let mut s = repo.session(&fx.ctx, true, &mut |_| {}).expect("session");
    warden_registry::replay::replay(&mut s, &fx.gitx(), run).expect("replay")
}

/// Change the run's recorded session as `f` says.
fn edit_record(fx: &Fx, run: &str, f: impl FnOnce(&mut SessionRecord)) {
    let path = fx.root.join(format!(".runs/{run}/{SESSION_FILE}"));
    let mut record: SessionRecord =
        serde_json::from_slice(&std::fs::read(&path).expect("session.json")).expect("record");
    f(&mut record);
    std::fs::write(&path, serde_json::to_vec_pretty(&record).expect("json")).expect("write");
}

/// Which paths the replay compared, and whether each is identical.
fn files(rep: &ReplayReport) -> Vec<(&str, bool)> {
    rep.files
        .iter()
        .map(|f| (f.path.as_str(), f.identical))
        .collect()
}

#[test]
fn an_untouched_record_replays_identical_and_names_no_difference() {
    let (fx, run) = alpha_run();
    let rep = replay(&fx, &run);
    assert!(rep.identical, "{rep:#?}");
    assert_eq!(files(&rep), vec![(ALPHA, true), (INDEX_PATH, true)]);
    assert!(rep.differences.is_empty(), "{rep:#?}");
}

#[test]
fn a_replay_that_would_write_other_content_is_not_identical() {
    let (fx, run) = alpha_run();
    // The recorded suggestion cites another (committed) test: the replay
    // writes alpha's entry with other content; the index is the same.
    fx.write("src/alpha/tests/t2.py", "t2\n");
    fx.commit("another test");
    edit_record(&fx, &run, |r| {
        for s in &mut r.suggestions {
            for c in &mut s.patch.evidence_citations {
                *c = c.replace("t1.py", "t2.py");
            }
            if let Some(serde_json::Value::String(a)) = s.patch.append.as_mut() {
                *a = a.replace("t1.py", "t2.py");
            }
        }
    });
    let rep = replay(&fx, &run);
    assert!(!rep.identical, "{rep:#?}");
    assert_eq!(files(&rep), vec![(ALPHA, false), (INDEX_PATH, true)]);
    assert_eq!(
        rep.differences,
        vec![format!("{ALPHA}: the replay would write other content")]
    );
}

#[test]
fn a_file_the_run_wrote_and_the_replay_would_not_is_a_difference() {
    let (fx, run) = alpha_run();
    // No suggestion recorded: the replay writes nothing at all.
    edit_record(&fx, &run, |r| r.suggestions.clear());
    let rep = replay(&fx, &run);
    assert!(!rep.identical, "{rep:#?}");
    assert_eq!(files(&rep), vec![(ALPHA, false), (INDEX_PATH, false)]);
    assert_eq!(
        rep.differences,
        vec![
            format!("{ALPHA}: the run wrote it; the replay would not"),
            format!("{INDEX_PATH}: the run wrote it; the replay would not"),
        ]
    );
}

#[test]
fn a_file_the_replay_would_write_and_the_run_did_not_is_a_difference() {
    let (fx, run) = alpha_run();
    // One more recorded suggestion, for beta (a test under its paths): the
    // replay also writes beta's entry, which the run never touched.
    fx.write("src/beta/tests/b1.py", "b1\n");
    fx.commit("a test of beta's");
    edit_record(&fx, &run, |r| {
        let template = r
            .suggestions
            .iter()
            .find(|s| s.patch.kind == PatchKind::EvidenceAppend)
            .cloned()
            .expect("alpha's evidence suggestion");
        r.suggestions.push(Suggestion {
            id: r.suggestions.len() + 1,
            origin: Origin::Deterministic,
            tier: template.tier,
            patch: RegistryPatch {
                capability_id: "capability.demo.beta".into(),
                confidence: Confidence::High,
                evidence_citations: vec!["src/beta/tests/b1.py".into()],
                append: Some(serde_json::json!("src/beta/tests/b1.py")),
                ..template.patch
            },
        });
    });
    let rep = replay(&fx, &run);
    assert!(!rep.identical, "{rep:#?}");
    assert_eq!(
        files(&rep),
        vec![(ALPHA, true), (BETA, false), (INDEX_PATH, true)]
    );
    assert_eq!(
        rep.differences,
        vec![format!(
            "{BETA}: the replay would write it; the run did not"
        )]
    );
}
