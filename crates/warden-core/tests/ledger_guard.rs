//! The ledger tip is guarded (issue 10, finding 7): a writer never chains onto
//! a cut or edited tip, a corrupted heads file is an error, writers refuse
//! while the ledger does not verify, and `ledger accept` is the one explicit,
//! ledgered way out.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{Fixture, chain_lines as lines, proposal, write_chain_lines as write_lines};
use serde_json::json;
use warden_core::engine::Record;
use warden_core::error::ExitClass;
use warden_core::proposal::Source;
use warden_core::{Digest, Repo};

fn apply_one(f: &Fixture, repo: &Repo, name: &str) -> warden_core::Result<()> {
    let (p, d) = proposal(json!({
        "schema": "warden.proposal/v1", "source": {"kind": "person", "id": "t"}, "event": "Manual",
        "actions": [{"kind": "write_file", "path": name, "content": "x\n", "expect": "absent"}]
    }));
    let mut s = repo.session(&f.ctx, false, &mut |_| {})?;
    let plan = s.plan(&p, d, "t.json")?;
    s.apply(&plan)?;
    Ok(())
}

fn with_runs(n: usize) -> (Fixture, Repo) {
    let f = Fixture::new();
    let repo = f.repo();
    for i in 0..n {
        apply_one(&f, &repo, &format!("f{i}.txt")).expect("apply");
    }
    (f, repo)
}

fn chain(repo: &Repo) -> std::path::PathBuf {
    repo.ledger().chain_path(&repo.writer)
}

/// The refusal a writer gets: exit 1, naming the chain, the entry and the way out.
fn assert_refused(err: warden_core::Error, entry: &str) {
    assert_eq!(err.class(), ExitClass::Rejected, "{err}");
    let text = err.to_string();
    assert!(text.starts_with(".ledger/runs/"), "{text}");
    assert!(text.contains(entry), "{text}");
    let hint = err.hint().expect("hint");
    assert!(hint.contains("git checkout HEAD --"), "{hint}");
    assert!(hint.contains("warden ledger accept"), "{hint}");
}

#[test]
fn a_cut_tip_is_not_sealed_by_the_next_apply() {
    let (f, repo) = with_runs(3);
    let mut l = lines(&repo);
    l.pop();
    write_lines(&repo, &l);
    let before = std::fs::read(chain(&repo)).expect("read");
    let err = apply_one(&f, &repo, "next.txt").expect_err("refused");
    assert_refused(err, "entry 3");
    assert_eq!(std::fs::read(chain(&repo)).expect("read"), before);
    assert!(!f.root().join("next.txt").exists());
    // Still detected afterwards: nothing was sealed.
    assert!(!repo.ledger().verify().expect("verify").ok);
}

#[test]
fn an_edited_tip_is_not_sealed_by_the_next_apply() {
    let (f, repo) = with_runs(3);
    let mut l = lines(&repo);
    l[2] = l[2].replace("\"t\"", "\"mallory\"");
    write_lines(&repo, &l);
    let err = apply_one(&f, &repo, "next.txt").expect_err("refused");
    assert_refused(err, "entry 3");
    assert!(!repo.ledger().verify().expect("verify").ok);
}

#[test]
fn a_tip_cut_and_replaced_by_a_forged_entry_is_refused() {
    // The attacker drops entry 3 and appends a well-formed entry 3 of their own.
    let (f, repo) = with_runs(3);
    let mut l = lines(&repo);
    l[2] = l[2].replace("f2.txt", "evil.txt");
    write_lines(&repo, &l);
    assert!(apply_one(&f, &repo, "next.txt").is_err());
}

#[test]
fn a_deleted_chain_is_refused_by_writers() {
    let (f, repo) = with_runs(2);
    std::fs::remove_file(chain(&repo)).expect("rm");
    let err = apply_one(&f, &repo, "next.txt").expect_err("refused");
    assert_eq!(err.class(), ExitClass::Rejected);
    assert!(err.to_string().contains("deleted"), "{err}");
    assert!(!chain(&repo).exists(), "no new chain was started");
}

#[test]
fn a_corrupted_heads_file_is_an_error_not_ignored() {
    let (f, repo) = with_runs(2);
    std::fs::write(repo.layout.heads(), b"{\"garbage").expect("write");
    let err = apply_one(&f, &repo, "next.txt").expect_err("refused");
    assert_eq!(err.class(), ExitClass::Rejected);
    assert!(
        err.to_string()
            .starts_with(".warden/state/ledger-heads.json"),
        "{err}"
    );
    assert!(err.hint().expect("hint").contains("warden ledger accept"));
    assert!(repo.ledger().verify().is_err(), "verify reports it too");
}

#[test]
fn a_deleted_heads_file_refuses_writers_once_the_chain_has_entries() {
    let (f, repo) = with_runs(2);
    std::fs::remove_file(repo.layout.heads()).expect("rm");
    let err = apply_one(&f, &repo, "next.txt").expect_err("refused");
    assert!(err.to_string().contains("is missing"), "{err}");
}

#[test]
fn a_head_that_lags_after_a_crash_before_the_heads_write_is_tolerated() {
    let (f, repo) = with_runs(2);
    let stale = std::fs::read(repo.layout.heads()).expect("heads");
    apply_one(&f, &repo, "third.txt").expect("apply");
    // As if the process died after the ledger fsync, before the heads write.
    std::fs::write(repo.layout.heads(), stale).expect("write");
    apply_one(&f, &repo, "fourth.txt").expect("a lagging head is fine");
    assert!(repo.ledger().verify().expect("verify").ok);
}

#[test]
fn heads_written_before_v2_are_upgraded_on_the_next_write() {
    let (f, repo) = with_runs(2);
    let l = lines(&repo);
    let hash = Digest::of(l[1].as_bytes());
    std::fs::write(
        repo.layout.heads(),
        format!(r#"{{"{}": {{"seq": 2, "hash": "{hash}"}}}}"#, repo.writer),
    )
    .expect("write");
    apply_one(&f, &repo, "third.txt").expect("apply");
    let text = std::fs::read_to_string(repo.layout.heads()).expect("heads");
    assert!(text.contains("warden.ledger-heads/v2"), "{text}");
    assert!(text.contains("\"offset\""), "{text}");
}

#[test]
fn writers_refuse_while_a_full_verify_fails() {
    // An edit in the middle is not at the tip: only a full verify sees it,
    // and from then on writers refuse until the ledger verifies again.
    let (f, repo) = with_runs(4);
    let good = lines(&repo);
    let mut l = good.clone();
    l[1] = l[1].replace("\"t\"", "\"mallory\"");
    write_lines(&repo, &l);
    assert!(!repo.ledger().verify().expect("verify").ok);
    let err = apply_one(&f, &repo, "next.txt").expect_err("refused");
    assert_refused(err, "entry 2");
    // Restored (e.g. from git): writers go on.
    write_lines(&repo, &good);
    apply_one(&f, &repo, "next.txt").expect("apply after restore");
    assert!(repo.ledger().verify().expect("verify").ok);
}

#[test]
fn another_clones_chain_merged_in_is_verified_before_writing() {
    let (f, repo) = with_runs(1);
    let other = repo.ledger().chain_path("other-clone");
    std::fs::write(
        &other,
        b"{\"schema\":\"warden.ledger/v1\",\"seq\":1,\"prev\":\"00\"}\n",
    )
    .expect("write");
    let err = apply_one(&f, &repo, "next.txt").expect_err("refused");
    assert!(
        err.to_string()
            .starts_with(".ledger/runs/other-clone.jsonl"),
        "{err}"
    );
}

fn accept(f: &Fixture, repo: &Repo) -> warden_core::Result<Vec<warden_core::ledger::Problem>> {
    let mut s = repo.repair_session(&f.ctx, false, &mut |_| {})?;
    let accepted = repo.ledger().accept()?;
    let run = s.new_run_id();
    s.record(Record {
        run,
        command: "ledger accept".into(),
        actor: Source {
            kind: "person".into(),
            id: "t".into(),
        },
        event: "Manual".into(),
        input_digest: Digest::of(b"lost a disk"),
        rationale: Some("lost a disk".into()),
        details: Some(json!({ "accepted": accepted })),
        artifacts: Vec::new(),
    })?;
    Ok(accepted)
}

#[test]
fn ledger_accept_records_the_loss_and_unblocks_writers() {
    let (f, repo) = with_runs(3);
    let mut l = lines(&repo);
    l.pop();
    write_lines(&repo, &l);
    assert!(apply_one(&f, &repo, "next.txt").is_err());
    let accepted = accept(&f, &repo).expect("accept");
    assert_eq!(accepted.len(), 1, "{accepted:?}");
    assert!(accepted[0].message.contains("cut"), "{accepted:?}");
    // The acceptance is itself the next entry, and says what was lost.
    let after = lines(&repo);
    assert_eq!(after.len(), 3);
    assert!(after[2].contains("ledger accept"), "{}", after[2]);
    assert!(after[2].contains("the tip was cut"), "{}", after[2]);
    assert!(repo.ledger().verify().expect("verify").ok);
    apply_one(&f, &repo, "next.txt").expect("writers go on");
}

#[test]
fn ledger_accept_refuses_a_chain_broken_inside() {
    let (f, repo) = with_runs(4);
    let mut l = lines(&repo);
    l.remove(1);
    write_lines(&repo, &l);
    let err = accept(&f, &repo).expect_err("cannot accept");
    assert!(err.to_string().contains("broken inside"), "{err}");
    assert!(err.hint().expect("hint").contains("git checkout HEAD --"));
}

#[test]
fn ledger_accept_with_nothing_wrong_is_a_usage_error() {
    let (f, repo) = with_runs(1);
    let err = accept(&f, &repo).expect_err("nothing to accept");
    assert_eq!(err.class(), ExitClass::Input);
}

#[test]
fn ledger_accept_repairs_a_corrupted_heads_file() {
    let (f, repo) = with_runs(2);
    std::fs::write(repo.layout.heads(), b"not json").expect("write");
    accept(&f, &repo).expect("accept");
    apply_one(&f, &repo, "next.txt").expect("writers go on");
    assert!(repo.ledger().verify().expect("verify").ok);
}
