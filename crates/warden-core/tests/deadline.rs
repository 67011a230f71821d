//! `Session::apply_with`: a run past its deadline never commits — its files
//! are restored byte for byte and it is ledgered `rolled_back`, never
//! `applied`; a validation command still running at the deadline is killed;
//! extra validation commands roll the run back like the policy's.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{Fixture, proposal, sha, tree};
use serde_json::json;
use std::time::{Duration, Instant};
use warden_core::engine::{ApplyOptions, DEADLINE_REASON};
use warden_core::ledger::RunResult;

fn change(f: &Fixture) -> serde_json::Value {
    f.write("a.txt", "alpha\n", 0o644);
    json!({
        "schema": "warden.proposal/v1",
        "source": {"kind": "person", "id": "test"},
        "event": "Manual",
        "actions": [
            {"kind": "write_file", "path": "a.txt", "content": "ALPHA\n", "expect": {"sha256": sha("alpha\n")}},
            {"kind": "write_file", "path": "new/b.txt", "content": "b\n", "expect": "absent"}
        ]
    })
}

fn argv(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_validation_step_running_at_the_deadline_is_killed_and_the_run_rolled_back() {
    let f = Fixture::new();
    let p = change(&f);
    let before = tree(f.root());
    let repo = f.repo();
    let (prop, digest) = proposal(p);
    let mut s = repo.session(&f.ctx, false, &mut |_| {}).expect("session");
    let plan = s.plan(&prop, digest, "t.json").expect("plan");
    // The step would outlive the test by far; it writes a marker if it is not killed.
    let marker = f.root().join(".git").join("survived");
    let script = format!("sleep 30; touch {}", marker.display());
    let opts = ApplyOptions {
        deadline: Some(Instant::now() + Duration::from_millis(300)),
        extra_validation: vec![argv(&["sh", "-c", &script])],
    };
    let started = Instant::now();
    let out = s.apply_with(&plan, &opts).expect("apply");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the step was not killed at the deadline"
    );
    assert!(out.deadline_exceeded);
    assert_eq!(out.entry.result, RunResult::RolledBack);
    assert!(
        out.entry
            .reason
            .as_deref()
            .is_some_and(|r| r.starts_with(DEADLINE_REASON)),
        "{:?}",
        out.entry.reason
    );
    drop(s);
    let mut after = tree(f.root());
    after.retain(|k, _| !k.starts_with(".runs/") && !k.starts_with(".ledger/"));
    let mut want = before.clone();
    want.retain(|k, _| !k.starts_with(".runs/") && !k.starts_with(".ledger/"));
    assert_eq!(after, want, "the working tree is not byte-identical");
    let entries = repo.ledger().entries().expect("entries");
    assert!(entries.iter().all(|e| e.result != RunResult::Applied));
    assert!(repo.ledger().verify().expect("verify").ok);
    std::thread::sleep(Duration::from_millis(100));
    assert!(!marker.exists());
}

#[test]
fn a_deadline_that_passes_before_the_commit_point_rolls_back() {
    let f = Fixture::new();
    let p = change(&f);
    let repo = f.repo();
    let (prop, digest) = proposal(p);
    let mut s = repo.session(&f.ctx, false, &mut |_| {}).expect("session");
    let plan = s.plan(&prop, digest, "t.json").expect("plan");
    // A validation step that finishes, but only after the deadline.
    let opts = ApplyOptions {
        deadline: Some(Instant::now() + Duration::from_millis(50)),
        extra_validation: vec![argv(&["sleep", "0.2"])],
    };
    let out = s.apply_with(&plan, &opts).expect("apply");
    assert!(out.deadline_exceeded);
    assert_eq!(out.entry.result, RunResult::RolledBack);
    assert_eq!(
        std::fs::read_to_string(f.root().join("a.txt")).expect("a"),
        "alpha\n"
    );
    assert!(!f.root().join("new").exists());
}

#[test]
fn a_deadline_already_past_changes_nothing() {
    let f = Fixture::new();
    let p = change(&f);
    let before = tree(f.root());
    let repo = f.repo();
    let (prop, digest) = proposal(p);
    let mut s = repo.session(&f.ctx, false, &mut |_| {}).expect("session");
    let plan = s.plan(&prop, digest, "t.json").expect("plan");
    let opts = ApplyOptions {
        deadline: Some(Instant::now()),
        extra_validation: Vec::new(),
    };
    let e = s.apply_with(&plan, &opts).expect_err("refused");
    assert!(e.to_string().contains("deadline"), "{e}");
    drop(s);
    assert_eq!(tree(f.root()), before);
    assert_eq!(repo.ledger().entries().expect("entries").len(), 0);
}

#[test]
fn a_failing_extra_validation_step_rolls_back_and_a_passing_one_commits() {
    let f = Fixture::new();
    let p = change(&f);
    let repo = f.repo();
    let (prop, digest) = proposal(p.clone());
    let mut s = repo.session(&f.ctx, false, &mut |_| {}).expect("session");
    let plan = s.plan(&prop, digest, "t.json").expect("plan");
    let opts = ApplyOptions {
        deadline: Some(Instant::now() + Duration::from_secs(60)),
        extra_validation: vec![
            argv(&["true"]),
            argv(&["sh", "-c", "echo step-two-says-no; exit 3"]),
        ],
    };
    let out = s.apply_with(&plan, &opts).expect("apply");
    assert!(!out.deadline_exceeded);
    assert_eq!(out.entry.result, RunResult::RolledBack);
    assert!(
        out.validation_failure
            .as_deref()
            .is_some_and(|l| l.contains("step-two-says-no")),
        "{:?}",
        out.validation_failure
    );
    assert_eq!(
        std::fs::read_to_string(f.root().join("a.txt")).expect("a"),
        "alpha\n"
    );
    let plan = s.plan(&prop, digest, "t.json").expect("plan");
    let opts = ApplyOptions {
        deadline: Some(Instant::now() + Duration::from_secs(60)),
        extra_validation: vec![argv(&["test", "-f", "new/b.txt"])],
    };
    let out = s.apply_with(&plan, &opts).expect("apply");
    assert_eq!(out.entry.result, RunResult::Applied);
    assert_eq!(
        std::fs::read_to_string(f.root().join("a.txt")).expect("a"),
        "ALPHA\n"
    );
}
