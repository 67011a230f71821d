//! G2: the ledger detects any edit, deletion, insertion, reordering or
//! truncation and names the first bad entry; two clones merge without conflict.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{Fixture, chain_lines as lines, proposal, write_chain_lines as write_lines};
use serde_json::json;
use warden_core::Repo;

/// A repository whose ledger has `n` applied runs.
fn with_runs(n: usize) -> (Fixture, Repo) {
    let f = Fixture::new();
    let repo = f.repo();
    for i in 0..n {
        let (p, d) = proposal(json!({
            "schema": "warden.proposal/v1", "source": {"kind": "person", "id": "t"}, "event": "Manual",
            "actions": [{"kind": "write_file", "path": format!("f{i}.txt"), "content": format!("{i}\n"), "expect": "absent"}]
        }));
        let mut s = repo.session(&f.ctx, false, &mut |_| {}).expect("session");
        let plan = s.plan(&p, d, "t.json").expect("plan");
        s.apply(&plan).expect("apply");
    }
    (f, repo)
}

/// Apply `tamper` to the chain lines and return (first bad line, message).
fn tampered(tamper: impl Fn(&mut Vec<String>)) -> (u64, String) {
    let (_f, repo) = with_runs(5);
    assert!(repo.ledger().verify().expect("verify").ok);
    let mut l = lines(&repo);
    tamper(&mut l);
    write_lines(&repo, &l);
    let report = repo.ledger().verify().expect("verify");
    assert!(!report.ok, "tampering must be detected");
    let p = report.problem.expect("problem");
    assert!(p.file.starts_with(".ledger/runs/"), "{}", p.file);
    (p.line, p.message)
}

#[test]
fn an_edit_names_the_edited_entry() {
    let (line, msg) = tampered(|l| l[1] = l[1].replace("\"t\"", "\"mallory\""));
    assert_eq!(line, 2, "{msg}");
    assert!(msg.contains("edited"), "{msg}");
}

#[test]
fn an_edit_of_the_last_entry_is_caught_by_the_recorded_head() {
    let (line, msg) = tampered(|l| {
        let last = l.len() - 1;
        l[last] = l[last].replace("\"t\"", "\"mallory\"");
    });
    assert_eq!(line, 5, "{msg}");
}

#[test]
fn a_deletion_is_named() {
    let (line, msg) = tampered(|l| {
        l.remove(2);
    });
    assert_eq!(line, 3, "{msg}");
    assert!(msg.contains("deleted"), "{msg}");
}

#[test]
fn an_insertion_is_named() {
    let (line, msg) = tampered(|l| {
        let dup = l[1].clone();
        l.insert(2, dup);
    });
    assert_eq!(line, 3, "{msg}");
    assert!(msg.contains("inserted"), "{msg}");
}

#[test]
fn a_reorder_is_named() {
    let (line, msg) = tampered(|l| l.swap(1, 2));
    assert_eq!(line, 2, "{msg}");
}

#[test]
fn a_truncation_is_named() {
    let (line, msg) = tampered(|l| l.truncate(3));
    assert_eq!(line, 4, "{msg}");
    assert!(msg.contains("truncated"), "{msg}");
}

#[test]
fn a_deleted_chain_file_is_named() {
    let (_f, repo) = with_runs(2);
    assert!(repo.ledger().verify().expect("verify").ok);
    std::fs::remove_file(repo.ledger().chain_path(&repo.writer)).expect("rm");
    let report = repo.ledger().verify().expect("verify");
    assert!(report.problem.expect("problem").message.contains("deleted"));
}

#[test]
fn entries_record_what_the_spec_requires() {
    let (_f, repo) = with_runs(1);
    let e = &repo.ledger().entries().expect("entries")[0];
    assert_eq!(e.seq, 1);
    assert_eq!(e.prev, warden_core::ledger::genesis(&repo.writer));
    assert_eq!(e.actor.kind, "person");
    assert_eq!(e.event, "Manual");
    assert_eq!(e.policy, repo.policy.reference());
    assert_eq!(e.changes.len(), 1);
    assert!(e.rollback.is_some());
    assert_eq!(ulid::Ulid::from_string(&e.run).map(|_| ()), Ok(()));
}

#[test]
fn two_writers_chains_verify_side_by_side() {
    // Two clones share one ledger directory after a merge: each chain is its own file.
    let (f, repo) = with_runs(3);
    let other = repo.ledger().chain_path("other-clone");
    let mine = std::fs::read_to_string(repo.ledger().chain_path(&repo.writer)).expect("read");
    // A chain copied under another writer's name does not verify: its genesis differs.
    std::fs::write(&other, &mine).expect("write");
    assert!(!repo.ledger().verify().expect("verify").ok);
    std::fs::remove_file(&other).expect("rm");
    // A genuine second writer appends its own chain.
    let ledger = repo.ledger();
    let mut e = ledger.entries().expect("entries")[0].clone();
    e.run = "01ZZZZZZZZZZZZZZZZZZZZZZZZ".into();
    ledger.append("other-clone", e).expect("append");
    let report = ledger.verify().expect("verify");
    assert!(report.ok, "{:?}", report.problem);
    assert_eq!(report.chains.len(), 2);
    assert_eq!(report.entries, 4);
    drop(f);
}

/// A recorded run (no working-tree change) joins the chain, carries its
/// details, writes its artifacts, and keeps the ledger verifying.
#[test]
fn recorded_run_is_chained_with_details_and_artifacts() {
    use warden_core::engine::Record;
    use warden_core::ledger::RunResult;
    use warden_core::proposal::Source;
    let (f, repo) = with_runs(1);
    let before = common::tree(f.root());
    let mut s = repo.session(&f.ctx, false, &mut |_| {}).expect("session");
    let run = s.new_run_id();
    let record = |name: &str| Record {
        run: run.clone(),
        command: "sync audit".into(),
        actor: Source {
            kind: "person".into(),
            id: "t".into(),
        },
        event: "Manual".into(),
        input_digest: warden_core::Digest::of(b"audit"),
        rationale: None,
        details: Some(json!({"in_sync": false})),
        artifacts: vec![(name.to_string(), b"report\n".to_vec())],
    };
    for bad in ["../x", "run.json", ".hidden", "a/b", ""] {
        assert!(
            s.record(record(bad)).is_err(),
            "artifact name {bad:?} accepted"
        );
    }
    let entry = s.record(record("audit.json")).expect("record");
    drop(s);
    assert_eq!(entry.result, RunResult::Recorded);
    assert_eq!(entry.seq, 2);
    assert_eq!(entry.details, Some(json!({"in_sync": false})));
    let dir = repo.layout.run_dir(&run);
    assert_eq!(
        std::fs::read(dir.join("audit.json")).expect("artifact"),
        b"report\n"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("run.json")).expect("run.json"))
            .expect("json");
    assert_eq!(report["entry"]["result"], json!("recorded"));
    assert_eq!(
        common::tree(f.root()),
        before,
        "a recorded run touched the tree"
    );
    assert!(repo.ledger().verify().expect("verify").ok);
    assert_eq!(
        repo.ledger().find_run(&run).expect("find").expect("entry"),
        entry
    );
}

/// `record_many` chains a batch with one append: the entries are numbered in
/// order after the existing tip, each one's `prev` is the previous line, and the
/// ledger verifies exactly as if they had been recorded one by one.
#[test]
fn record_many_chains_a_batch_in_order() {
    use warden_core::engine::Record;
    use warden_core::proposal::Source;
    let (f, repo) = with_runs(2);
    let mut s = repo.session(&f.ctx, false, &mut |_| {}).expect("session");
    let records: Vec<Record> = (0..5)
        .map(|i| Record {
            run: s.new_run_id(),
            command: "bridge noop".into(),
            actor: Source {
                kind: "bridge".into(),
                id: format!("cmd-{i}"),
            },
            event: "CommandReceived".into(),
            input_digest: warden_core::Digest::of(format!("{i}").as_bytes()),
            rationale: None,
            details: None,
            artifacts: Vec::new(),
        })
        .collect();
    let bad = Record {
        command: String::new(),
        ..records[0].clone()
    };
    assert!(s.record_many(vec![bad]).is_err(), "empty command accepted");
    let entries = s.record_many(records.clone()).expect("record_many");
    assert!(s.record_many(Vec::new()).expect("empty batch").is_empty());
    drop(s);
    let seqs: Vec<u64> = entries.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, vec![3, 4, 5, 6, 7]);
    // Artifact-less records get no run directory: the ledger line is the record.
    for r in &records {
        assert!(!repo.layout.run_dir(&r.run).exists(), "{}", r.run);
    }
    for (r, e) in records.iter().zip(&entries) {
        assert_eq!(e.run, r.run);
        assert_eq!(e.actor.id, r.actor.id);
    }
    let l = lines(&repo);
    assert_eq!(l.len(), 7);
    for w in l.windows(2) {
        let next: serde_json::Value = serde_json::from_str(&w[1]).expect("json");
        assert_eq!(
            next["prev"],
            json!(warden_core::Digest::of(w[0].as_bytes())),
            "prev must hash the previous line"
        );
    }
    assert!(repo.ledger().verify().expect("verify").ok);
}

#[test]
fn undo_of_a_recorded_run_says_it_was_recorded_not_rolled_back() {
    use warden_core::engine::Record;
    use warden_core::proposal::Source;
    let (f, repo) = with_runs(0);
    let mut s = repo.session(&f.ctx, false, &mut |_| {}).expect("session");
    let run = s.new_run_id();
    let actor = Source {
        kind: "person".into(),
        id: "t".into(),
    };
    s.record(Record {
        run: run.clone(),
        command: "sync reconcile".into(),
        actor: actor.clone(),
        event: "SyncAudited".into(),
        input_digest: warden_core::Digest::of(b"reconcile"),
        rationale: None,
        details: None,
        artifacts: Vec::new(),
    })
    .expect("record");
    let err = s
        .plan_undo(&run, false, actor)
        .expect_err("nothing to undo");
    let text = err.to_string();
    assert!(text.contains("is a recorded run"), "{text}");
    assert!(text.contains("sync reconcile"), "{text}");
    assert!(!text.contains("rolled back"), "{text}");
}

fn person() -> warden_core::proposal::Source {
    warden_core::proposal::Source {
        kind: "person".into(),
        id: "t".into(),
    }
}

#[test]
fn undo_of_a_rolled_back_run_says_it_did_not_apply() {
    use warden_core::engine::ApplyOptions;
    use warden_core::ledger::RunResult;
    let f = Fixture::new();
    let repo = f.repo();
    let (p, d) = proposal(json!({
        "schema": "warden.proposal/v1", "source": {"kind": "person", "id": "t"}, "event": "Manual",
        "actions": [{"kind": "write_file", "path": "a.txt", "content": "a\n", "expect": "absent"}]
    }));
    let mut s = repo.session(&f.ctx, false, &mut |_| {}).expect("session");
    let plan = s.plan(&p, d, "t.json").expect("plan");
    let opts = ApplyOptions {
        deadline: None,
        extra_validation: vec![vec!["false".to_string()]],
    };
    let out = s.apply_with(&plan, &opts).expect("apply");
    assert_eq!(out.entry.result, RunResult::RolledBack);
    let err = s
        .plan_undo(&out.entry.run, false, person())
        .expect_err("nothing to undo");
    assert_eq!(
        err.to_string(),
        format!(
            "(command line): RUN: run {} did not apply (it was rolled back), so there is nothing to undo",
            out.entry.run
        )
    );
}

#[test]
fn a_second_undo_of_a_run_names_the_undo_that_restored_it() {
    let (f, repo) = with_runs(1);
    let run = repo.ledger().entries().expect("entries")[0].run.clone();
    let mut s = repo.session(&f.ctx, false, &mut |_| {}).expect("session");
    let plan = s.plan_undo(&run, false, person()).expect("undo plan");
    let undo = s.apply(&plan).expect("undo").entry.run;
    let err = s
        .plan_undo(&run, false, person())
        .expect_err("already undone");
    assert_eq!(
        err.to_string(),
        format!("(command line): RUN: run {run} was already undone by run {undo}")
    );
    assert_eq!(
        err.hint().as_deref(),
        Some(format!("`warden undo {undo}` restores what {run} did").as_str())
    );
}

#[test]
fn undo_in_another_clone_than_the_runs_names_the_writer_that_keeps_it() {
    let (f, repo) = with_runs(1);
    let run = repo.ledger().entries().expect("entries")[0].run.clone();
    let writer = repo.writer.clone();
    std::fs::write(f.root().join(".warden/state/writer"), "other-clone-1").expect("writer");
    let other = f.repo();
    assert_eq!(other.writer, "other-clone-1");
    let s = other.session(&f.ctx, false, &mut |_| {}).expect("session");
    let err = s
        .plan_undo(&run, false, person())
        .expect_err("kept in the other clone");
    assert_eq!(
        err.to_string(),
        format!(
            "(command line): RUN: run {run} was made in another clone (writer {writer}); its before-state is kept there"
        )
    );
}
