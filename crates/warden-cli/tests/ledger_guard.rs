//! The ledger guard end to end (issue 10, finding 7): a cut tip refuses every
//! writer with the chain, the entry and the recovery command; read-only
//! commands still answer (status exits 1, runs warns); `ledger accept` is the
//! ledgered way out.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::Repo;
use common::snap::{plugin_settings, transcript};
use serde_json::json;

fn chain(r: &Repo) -> std::path::PathBuf {
    let dir = r.root.join(".ledger/runs");
    let mut chains: Vec<_> = std::fs::read_dir(&dir)
        .expect("ledger dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(chains.len(), 1);
    chains.pop().expect("one chain")
}

#[test]
fn a_cut_ledger_tip_refuses_writers_until_accepted() {
    let r = Repo::new();
    for name in ["a.txt", "b.txt"] {
        let p = r.proposal(
            json!([{"kind": "write_file", "path": name, "content": "x\n", "expect": "absent"}]),
        );
        r.ok(&["apply", &p, "--yes"]);
    }
    let path = chain(&r);
    let text = std::fs::read_to_string(&path).expect("chain");
    let kept: Vec<&str> = text.lines().take(1).collect();
    std::fs::write(&path, format!("{}\n", kept.join("\n"))).expect("cut");

    // Writers refuse: exit 1, the chain, the entry, the recovery command.
    let p = r.proposal(
        json!([{"kind": "write_file", "path": "c.txt", "content": "x\n", "expect": "absent"}]),
    );
    // Read-only commands still answer (status exits 1 when unhealthy, runs
    // warns); `ledger accept` is the explicit, ledgered way out.
    let refused = transcript(
        &r,
        &[
            &["apply", &p, "--yes"],
            &["status"],
            &["runs"],
            &["ledger", "verify"],
            &["ledger", "accept", "--reason", " "],
            &[
                "ledger",
                "accept",
                "--reason",
                "restored from an old backup",
                "--yes",
            ],
        ],
    );
    assert!(!r.root.join("c.txt").exists(), "a refused writer wrote");
    let log = r.json(&["ledger", "log"])["entries"].clone();
    let last = log.as_array().and_then(|a| a.last()).expect("entry");
    assert_eq!(last["command"], "ledger accept");
    assert_eq!(last["rationale"], "restored from an old backup");
    let accepted = transcript(
        &r,
        &[
            &["ledger", "verify"],
            &["apply", &p, "--yes"],
            // Nothing left to accept.
            &["ledger", "accept", "--reason", "again", "--yes"],
        ],
    );
    assert!(r.root.join("c.txt").exists());
    r.ok(&["status"]);
    plugin_settings(&r).bind(|| {
        insta::assert_snapshot!("ledger_guard_refused", refused);
        insta::assert_snapshot!("ledger_guard_accepted", accepted);
    });
}

#[test]
fn status_exits_1_on_a_corrupted_heads_file() {
    let r = Repo::new();
    let p = r.proposal(
        json!([{"kind": "write_file", "path": "a.txt", "content": "x\n", "expect": "absent"}]),
    );
    r.ok(&["apply", &p, "--yes"]);
    std::fs::write(r.root.join(".warden/state/ledger-heads.json"), "{").expect("write");
    let out = r.run(&["status", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let st: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(st["ledger"]["ok"], false);
    assert!(
        st["unhealthy"][0]
            .as_str()
            .expect("reason")
            .contains("ledger-heads.json"),
        "{st}"
    );
}
