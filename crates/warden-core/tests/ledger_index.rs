//! Issue 11: the derived ledger index (`.warden/state/ledger-index.json`) and
//! the bounded readers. The index must agree with the chains after every kind
//! of change — appends, a crash mid-write of the index, a rewritten or cut
//! chain, a chain from another clone — and is never trusted over the chain.

mod common;

use common::{Fixture, chain_lines, manual, serial, try_apply, try_undo, write_chain_lines};
use serde_json::json;
use warden_core::Repo;
use warden_core::engine::ApplyOptions;
use warden_core::failpoint::{self, Action};
use warden_core::ledger::{Entry, RunResult};
use warden_core::ledger_index::Summary;

/// The summary computed the slow way, from every entry.
fn expected(repo: &Repo) -> Summary {
    let all: Vec<Entry> = repo.ledger().entries().expect("entries");
    let last = |r: RunResult| {
        all.iter()
            .filter(|e| e.result == r)
            .max_by(|a, b| a.run.cmp(&b.run))
            .map(|e| warden_core::ledger_index::Brief {
                run: e.run.clone(),
                time: e.time.clone(),
            })
    };
    Summary {
        entries: all.len() as u64,
        failures: all
            .iter()
            .filter(|e| e.result == RunResult::RolledBack)
            .count() as u64,
        last_success: last(RunResult::Applied),
        last_failure: last(RunResult::RolledBack),
        problem: None,
    }
}

fn write(f: &Fixture, i: usize) -> String {
    let out = try_apply(
        f,
        manual(json!([{"kind": "write_file", "path": format!("f{i}.txt"), "content": format!("{i}\n"), "expect": "absent"}])),
    )
    .expect("apply");
    out.entry.run
}

#[test]
fn the_summary_agrees_with_the_whole_ledger_after_appends() {
    let f = Fixture::new();
    let repo = f.repo();
    assert_eq!(repo.ledger().summary().expect("summary"), expected(&repo));
    let first = write(&f, 0);
    write(&f, 1);
    try_undo(&f, &first, false).expect("undo");
    let s = repo.ledger().summary().expect("summary");
    assert_eq!(s, expected(&repo));
    assert_eq!(s.entries, 3);
    assert!(
        repo.ledger().index_path().is_file(),
        "appends keep the index"
    );
}

#[test]
fn a_rolled_back_run_counts_as_a_failure() {
    let f = Fixture::new();
    let repo = f.repo();
    write(&f, 0);
    let (prop, digest) = common::proposal(manual(
        json!([{"kind": "write_file", "path": "g.txt", "content": "g\n", "expect": "absent"}]),
    ));
    let mut s = repo.session(&f.ctx, false, &mut |_| {}).expect("session");
    let plan = s.plan(&prop, digest, "t.json").expect("plan");
    let opts = ApplyOptions {
        deadline: None,
        extra_validation: vec![vec!["false".to_string()]],
    };
    let out = s.apply_with(&plan, &opts).expect("apply");
    drop(s);
    assert_eq!(out.entry.result, RunResult::RolledBack);
    let sum = repo.ledger().summary().expect("summary");
    assert_eq!(sum, expected(&repo));
    assert_eq!(sum.failures, 1);
    assert_eq!(sum.last_failure.map(|b| b.run), Some(out.entry.run));
}

#[test]
fn a_corrupt_or_forged_index_is_rebuilt_not_believed() {
    let f = Fixture::new();
    let repo = f.repo();
    for i in 0..4 {
        write(&f, i);
    }
    let path = repo.ledger().index_path();
    let text = std::fs::read_to_string(&path).expect("index");
    // A changed count without a matching digest.
    let forged = text.replacen("\"failures\":0", "\"failures\":7", 1);
    assert_ne!(forged, text);
    std::fs::write(&path, &forged).expect("forge");
    assert_eq!(repo.ledger().summary().expect("summary"), expected(&repo));
    // Garbage.
    std::fs::write(&path, "{\"schema\":").expect("garbage");
    assert_eq!(repo.ledger().summary().expect("summary"), expected(&repo));
    // Gone.
    std::fs::remove_file(&path).expect("rm");
    assert_eq!(repo.ledger().summary().expect("summary"), expected(&repo));
}

#[test]
fn a_checkpoint_that_no_longer_matches_the_chain_refolds_that_chain() {
    let f = Fixture::new();
    let repo = f.repo();
    for i in 0..4 {
        write(&f, i);
    }
    assert_eq!(repo.ledger().summary().expect("summary").entries, 4);
    // Cut the tip (as a restore from an old backup would): the checkpoint
    // points past the end.
    let mut lines = chain_lines(&repo);
    lines.pop();
    write_chain_lines(&repo, &lines);
    let s = repo.ledger().summary().expect("summary");
    assert_eq!(s.entries, 3);
    assert_eq!(s, expected(&repo));
    // Replace the chain by another valid chain of the same writer and length
    // (fixtures share the writer id): the line at the checkpoint no longer
    // hashes to it, so the chain is folded again from its genesis.
    let f2 = Fixture::new();
    let other = f2.repo();
    assert_eq!(other.writer, repo.writer);
    write(&f2, 10);
    write(&f2, 11);
    try_apply(
        &f2,
        manual(json!([{"kind": "write_file", "path": "f10.txt", "content": "changed\n", "expect": {"sha256": common::sha("10\n")}}])),
    )
    .expect("apply");
    let theirs = chain_lines(&other);
    assert_eq!(theirs.len(), 3);
    assert_ne!(theirs, chain_lines(&repo));
    write_chain_lines(&repo, &theirs);
    let s = repo.ledger().summary().expect("summary");
    assert_eq!(s, expected(&repo));
    assert_eq!(
        s.last_success.map(|b| b.run),
        Some(other.ledger().entries().expect("e")[2].run.clone())
    );
}

#[test]
fn a_crash_while_the_index_is_written_leaves_it_rebuildable() {
    let _g = serial();
    let f = Fixture::new();
    let repo = f.repo();
    write(&f, 0);
    write(&f, 1);
    failpoint::arm("index.torn_write", Action::Error);
    write(&f, 2);
    failpoint::clear();
    // Half of the new text over the old one: not believed.
    assert_eq!(repo.ledger().summary().expect("summary"), expected(&repo));
    assert_eq!(repo.ledger().summary().expect("summary").entries, 3);
    failpoint::arm("index.before_write", Action::Error);
    write(&f, 3);
    failpoint::clear();
    // Not written at all: the index lags, and the rest is folded in.
    assert_eq!(repo.ledger().summary().expect("summary"), expected(&repo));
    common::still_works(&f, "after index crashes");
}

#[test]
fn another_clones_chain_is_folded_in() {
    let f = Fixture::new();
    let repo = f.repo();
    write(&f, 0);
    assert_eq!(repo.ledger().summary().expect("summary").entries, 1);
    // A second clone with its own writer id, whose chain a merge brings in.
    let f2 = Fixture::new();
    std::fs::write(
        f2.root().join(".warden/state/writer"),
        "otherclone-1234abcd",
    )
    .expect("writer");
    let other = f2.repo();
    assert_ne!(other.writer, repo.writer);
    write(&f2, 5);
    write(&f2, 6);
    let bytes = std::fs::read(other.ledger().chain_path(&other.writer)).expect("chain");
    std::fs::write(repo.ledger().chain_path(&other.writer), &bytes).expect("merge");
    let s = repo.ledger().summary().expect("summary");
    assert_eq!(s.entries, 3);
    assert_eq!(s, expected(&repo));
    // And the page of runs holds both clones' runs.
    assert_eq!(repo.ledger().recent(Some(10)).expect("recent").len(), 3);
}

#[test]
fn reindex_rebuilds_and_names_a_broken_chain() {
    let f = Fixture::new();
    let repo = f.repo();
    for i in 0..5 {
        write(&f, i);
    }
    let r = repo.ledger().reindex().expect("reindex");
    assert_eq!(r.schema, "warden.ledger-reindex/v1");
    assert_eq!(r.entries, 5);
    assert!(r.problem.is_none());
    let mut lines = chain_lines(&repo);
    lines[2] = lines[2].replace("\"test\"", "\"mallory\"");
    write_chain_lines(&repo, &lines);
    let r = repo.ledger().reindex().expect("reindex");
    let p = r.problem.expect("a problem");
    assert_eq!(p.line, 3, "{p:?}");
    assert_eq!(
        r.entries, 3,
        "the index covers the entries before the bad link"
    );
}

#[test]
fn recent_reads_newest_first_and_stops_at_the_limit() {
    let f = Fixture::new();
    let repo = f.repo();
    let runs: Vec<String> = (0..7).map(|i| write(&f, i)).collect();
    let page = repo.ledger().recent(Some(3)).expect("recent");
    let got: Vec<&str> = page.iter().map(|e| e.run.as_str()).collect();
    assert_eq!(got, vec![&runs[6][..], &runs[5], &runs[4]]);
    let all = repo.ledger().recent(None).expect("all");
    assert_eq!(all.len(), 7);
    assert_eq!(all.last().map(|e| e.run.as_str()), Some(&runs[0][..]));
    // A torn last line (a crash mid-append) is not an entry.
    let path = repo.ledger().chain_path(&repo.writer);
    let mut bytes = std::fs::read(&path).expect("chain");
    bytes.extend_from_slice(b"{\"schema\":\"warden.led");
    std::fs::write(&path, &bytes).expect("tear");
    let page = repo.ledger().recent(Some(2)).expect("recent");
    assert_eq!(page[0].run, runs[6]);
}

#[test]
fn find_run_finds_old_and_new_runs_and_refuses_ambiguous_prefixes() {
    let f = Fixture::new();
    let repo = f.repo();
    let runs: Vec<String> = (0..5).map(|i| write(&f, i)).collect();
    let l = repo.ledger();
    for r in &runs {
        assert_eq!(l.find_run(r).expect("find").map(|e| e.run), Some(r.clone()));
        assert_eq!(
            l.find_run(&r.to_ascii_lowercase())
                .expect("find")
                .map(|e| e.run),
            Some(r.clone())
        );
    }
    assert!(
        l.find_run("01NOSUCHRUN0000000000000000")
            .expect("find")
            .is_none()
    );
    // Sequential test ids share a long prefix.
    let common_prefix = &runs[0][..8];
    assert!(runs.iter().all(|r| r.starts_with(common_prefix)));
    let err = l.find_run(common_prefix).expect_err("ambiguous");
    assert!(err.to_string().contains("matches 5 runs"), "{err}");
}

#[test]
fn long_entries_are_read_back_whole_across_chunks() {
    let f = Fixture::new();
    let repo = f.repo();
    // A run whose rationale makes its entry longer than the reader's chunk
    // (64 KiB); its 400 changes are kept in the run's artifacts, so they do
    // not lengthen the entry.
    let actions: Vec<_> = (0..400)
        .map(|i| json!({"kind": "write_file", "path": format!("d/file-with-a-long-name-{i:04}.txt"), "content": "x\n", "expect": "absent"}))
        .collect();
    let mut p = manual(json!(actions));
    p["rationale"] = json!("why ".repeat(40_000));
    let big = try_apply(&f, p).expect("apply").entry.run;
    let small = write(&f, 0);
    let page = repo.ledger().recent(Some(2)).expect("recent");
    assert_eq!(page[0].run, small);
    assert_eq!(page[1].run, big);
    assert_eq!(page[1].rationale.as_ref().map(String::len), Some(160_000));
    assert_eq!(page[1].load_changes(f.root()).expect("changes").len(), 400);
    assert_eq!(
        repo.ledger()
            .find_run(&big)
            .expect("find")
            .map(|e| e.load_changes(f.root()).expect("changes").len()),
        Some(400)
    );
}

#[test]
fn a_big_run_keeps_its_changes_in_its_artifacts_not_its_entry() {
    let f = Fixture::new();
    let repo = f.repo();
    let n = warden_core::ledger::INLINE_CHANGES + 1;
    let actions: Vec<_> = (0..n)
        .map(|i| json!({"kind": "write_file", "path": format!("d/f{i}.txt"), "content": "x\n", "expect": "absent"}))
        .collect();
    let run = try_apply(&f, manual(json!(actions)))
        .expect("apply")
        .entry
        .run;
    let line = common::chain_lines(&repo).pop().expect("a line");
    // What is left is one short action summary per path (~44 bytes); the
    // changes inline would add ~200 bytes per path.
    assert!(line.len() < 48 * n, "the entry is {} bytes", line.len());
    let e = repo.ledger().find_run(&run).expect("find").expect("entry");
    assert!(e.changes.is_empty());
    let r = e.changes_file.clone().expect("a reference");
    assert_eq!(r.count, n as u64);
    assert_eq!(r.file, format!(".runs/{run}/changes.json"));
    let changes = e.load_changes(f.root()).expect("changes");
    assert_eq!(changes.len(), n);
    assert_eq!(repo.ledger().verify().expect("verify").run_files.checked, 1);
    assert!(
        changes
            .iter()
            .all(|c| c.before.is_none() && c.after.is_some())
    );
    // Undo and the already-applied check read them from there.
    let undo = common::try_undo(&f, &run, false).expect("undo");
    assert_eq!(
        undo.entry
            .load_changes(f.root())
            .expect("undo changes")
            .len(),
        n
    );
    // A tampered file is refused, naming it.
    let path = f.root().join(&r.file);
    std::fs::write(&path, b"[]").expect("tamper");
    let err = e.load_changes(f.root()).expect_err("tampered");
    assert!(err.to_string().contains("changes.json"), "{err}");
    // A small run keeps them inline.
    let small = write(&f, 1);
    let e = repo
        .ledger()
        .find_run(&small)
        .expect("find")
        .expect("entry");
    assert!(e.changes_file.is_none());
    assert_eq!(e.load_changes(f.root()).expect("inline").len(), 1);
}

/// A chain of `n` valid synthetic entries (every 7th rolled back), written
/// directly, with this clone's heads recorded.
fn synthetic(repo: &Repo, n: u64) {
    use warden_core::heads::{self, Head, Heads};
    use warden_core::ledger::{self, ActionSummary, Counts};
    let d = warden_core::Digest::of(b"x");
    let mut e = Entry {
        schema: ledger::LEDGER_SCHEMA_ID.into(),
        seq: 0,
        prev: d,
        writer: repo.writer.clone(),
        run: String::new(),
        time: "2026-11-29T00:00:00Z".into(),
        command: "apply".into(),
        actor: warden_core::proposal::Source {
            kind: "person".into(),
            id: "t".into(),
        },
        event: "Manual".into(),
        policy: warden_core::policy::PolicyRef {
            version: "1".into(),
            digest: d,
        },
        input_digest: d,
        before_digest: d,
        after_digest: d,
        actions: vec![ActionSummary {
            kind: "write_file".into(),
            path: "x".repeat(600),
            to: None,
            reason: None,
        }],
        changes: vec![],
        changes_file: None,
        details_file: None,
        counts: Counts::default(),
        result: RunResult::Applied,
        rolled_back_by: None,
        reason: None,
        rationale: None,
        undoes: None,
        rollback: None,
        details: None,
    };
    let mut out = Vec::new();
    let mut prev = ledger::genesis(&repo.writer);
    for i in 0..n {
        e.seq = i + 1;
        e.prev = prev;
        e.run = format!("01KB{i:022}");
        e.result = if i % 7 == 3 {
            RunResult::RolledBack
        } else {
            RunResult::Applied
        };
        let line = serde_json::to_vec(&e).expect("json");
        prev = warden_core::Digest::of(&line);
        out.extend_from_slice(&line);
        out.push(b'\n');
    }
    let path = repo.ledger().chain_path(&repo.writer);
    std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
    std::fs::write(&path, &out).expect("chain");
    let mut h = Heads::new();
    h.chains.insert(
        repo.writer.clone(),
        Head {
            seq: n,
            hash: prev,
            offset: Some(out.len() as u64),
        },
    );
    heads::write_replacing(&repo.layout.heads(), &h).expect("heads");
}

#[test]
fn a_long_chain_is_folded_in_chunks_and_a_bad_entry_past_the_first_chunk_is_named() {
    let f = Fixture::new();
    let repo = f.repo();
    // ~12 MB: several of the fold's read chunks, lines crossing their edges.
    synthetic(&repo, 15_000);
    let s = repo.ledger().reindex().expect("reindex");
    assert!(s.problem.is_none(), "{:?}", s.problem);
    assert_eq!(s.entries, 15_000);
    assert_eq!(repo.ledger().summary().expect("summary"), expected(&repo));
    let mut lines = chain_lines(&repo);
    lines[9_999] = lines[9_999].replace("\"Manual\"", "\"Manuel\"");
    write_chain_lines(&repo, &lines);
    let r = repo.ledger().reindex().expect("reindex");
    let p = r.problem.expect("problem");
    assert_eq!(p.line, 10_000, "{p:?}");
    // An edit shows at the next entry's link: the walk stops there.
    assert_eq!(r.entries, 10_000);
}

/// Record a run with `details`, as a subsystem does.
fn record_details(f: &Fixture, details: serde_json::Value) -> Entry {
    let repo = f.repo();
    let mut s = repo.session(&f.ctx, false, &mut |_| {}).expect("session");
    let run = s.new_run_id();
    s.record(warden_core::engine::Record {
        run,
        command: "classify".into(),
        actor: warden_core::proposal::Source {
            kind: "person".into(),
            id: "test".into(),
        },
        event: "Manual".into(),
        input_digest: warden_core::Digest::of(b"input"),
        rationale: None,
        details: Some(details),
        artifacts: Vec::new(),
    })
    .expect("record")
}

#[test]
fn big_details_live_in_the_run_artifacts_and_ledger_verify_checks_their_digest() {
    let f = Fixture::new();
    let repo = f.repo();
    // A classify report of 2,000 files is about 200 KB.
    let files: Vec<_> = (0..2000)
        .map(|i| json!({"path": format!("inbox/f{i:05}.md"), "candidates": ["docs", "notes"]}))
        .collect();
    let big = json!({"schema": "warden.classify/v1", "files": files});
    let e = record_details(&f, big.clone());
    let line = common::chain_lines(&repo).pop().expect("a line");
    assert!(line.len() < 4096, "the entry is {} bytes", line.len());
    assert_eq!(e.details, None);
    let r = e.details_file.clone().expect("a reference");
    assert_eq!(r.file, format!(".runs/{}/details.json", e.run));
    let stored = repo
        .ledger()
        .find_run(&e.run)
        .expect("find")
        .expect("entry");
    assert_eq!(stored.load_details(f.root()).expect("details"), Some(big));
    // Small details stay inline, and read the same way.
    let small = record_details(&f, json!({"schema": "warden.sync/v1", "from": "origin"}));
    assert!(small.details_file.is_none());
    assert_eq!(
        small.load_details(f.root()).expect("inline"),
        Some(json!({"schema": "warden.sync/v1", "from": "origin"}))
    );
    let v = repo.ledger().verify().expect("verify");
    assert!(v.ok);
    assert_eq!(v.run_files.checked, 1);
    // Tampered: load_details refuses, verify fails naming the file.
    let path = f.root().join(&r.file);
    let good = std::fs::read(&path).expect("read");
    std::fs::write(&path, b"{}").expect("tamper");
    let err = stored.load_details(f.root()).expect_err("tampered");
    assert!(err.to_string().contains("details.json"), "{err}");
    let v = repo.ledger().verify().expect("verify");
    assert!(!v.ok);
    assert_eq!(v.problem, None, "the chain itself is sound");
    assert_eq!(v.run_files.mismatched, std::slice::from_ref(&r.file));
    // Absent (another clone's run): said, not a failure.
    std::fs::remove_file(&path).expect("rm");
    let v = repo.ledger().verify().expect("verify");
    assert!(v.ok);
    assert_eq!(v.run_files.absent, std::slice::from_ref(&r.file));
    assert_eq!(v.run_files.checked, 0);
    std::fs::write(&path, good).expect("restore");
    assert!(repo.ledger().verify().expect("verify").ok);
}
