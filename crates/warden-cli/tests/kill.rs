//! G5 with real processes: a `warden apply` killed with SIGKILL (or aborting)
//! mid-run leaves the tree, after the next command's automatic recovery, equal
//! to the before- or the after-state byte for byte, and the ledger verifies.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{Repo, sha};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use warden_core::failpoint::RUN_POINTS;

const N: usize = 150;

type Tree = BTreeMap<String, (Vec<u8>, u32)>;

/// A repository with N files and a proposal that rewrites all of them and adds N more.
fn setup() -> (Repo, String, Tree) {
    let r = Repo::new();
    let mut actions = Vec::new();
    for i in 0..N {
        let old = format!("old {i}\n");
        r.write(&format!("files/f{i:03}.txt"), &old);
        actions.push(json!({"kind": "write_file", "path": format!("files/f{i:03}.txt"), "content": format!("new {i}\n").repeat(50), "expect": {"sha256": sha(&old)}}));
        actions.push(json!({"kind": "write_file", "path": format!("added/a{i:03}.txt"), "content": format!("added {i}\n"), "expect": "absent"}));
    }
    let p = r.proposal(json!(actions));
    let before = r.tree();
    (r, p, before)
}

fn expected_after(before: &Tree) -> Tree {
    let mut after = before.clone();
    for i in 0..N {
        after.insert(
            format!("files/f{i:03}.txt"),
            (format!("new {i}\n").repeat(50).into_bytes(), 0o644),
        );
        after.insert(
            format!("added/a{i:03}.txt"),
            (format!("added {i}\n").into_bytes(), 0o644),
        );
    }
    after
}

/// After the interruption: the next command recovers; check the invariants.
/// Returns whether the run had committed.
fn check_recovered(r: &Repo, before: &Tree) -> bool {
    let verify = r.run(&["ledger", "verify", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&verify.stdout).expect("json");
    assert_eq!(
        v["ok"],
        true,
        "ledger must verify after recovery: {v}\n{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    let status = r.json(&["status"]);
    assert_eq!(status["pending_recovery"], false);
    let now = r.tree();
    let leftovers: Vec<&String> = now
        .keys()
        .filter(|k| k.contains(".warden-") && k.ends_with(".tmp"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temp files left behind: {leftovers:?}"
    );
    if now == *before {
        false
    } else {
        assert!(
            now == expected_after(before),
            "tree is neither the before- nor the after-state"
        );
        true
    }
}

#[test]
fn kill_9_while_files_are_being_renamed() {
    let (r, p, before) = setup();
    let mut child = r
        .cmd(&["apply", &p, "--yes"])
        .env("WARDEN_FAILPOINT", "run.after_first_rename=sleep(20000)")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    // Wait until the first file was renamed into place: the run is mid-switch.
    let first = r.root.join("added/a000.txt");
    let start = Instant::now();
    while !first.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the run never reached its first rename"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    assert_ne!(r.tree(), before, "the kill must land mid-run");
    assert!(
        !check_recovered(&r, &before),
        "an uncommitted run is rolled back"
    );
    let runs = r.json(&["runs"])["runs"].clone();
    assert_eq!(runs[0]["result"], "rolled_back");
    // The repository works normally afterwards.
    r.ok(&["apply", &p, "--yes"]);
    assert_eq!(r.tree(), expected_after(&before));
}

#[test]
fn kill_9_at_arbitrary_moments() {
    let mut outcomes = Vec::new();
    for delay_ms in [0u64, 3, 8, 15, 25, 40, 60, 90, 150] {
        let (r, p, before) = setup();
        let mut child = r
            .cmd(&["apply", &p, "--yes"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        child.wait().expect("reap");
        outcomes.push(check_recovered(&r, &before));
    }
    // Not an assertion about timing: only that every outcome was one of the two states.
    eprintln!("committed per delay: {outcomes:?}");
}

#[test]
fn abort_at_every_step_boundary() {
    for (i, point) in RUN_POINTS.iter().enumerate() {
        let r = Repo::new();
        r.write("a.txt", "v1\n");
        r.write("b/c.txt", "c\n");
        let p = r.proposal(json!([
            {"kind": "write_file", "path": "a.txt", "content": "v2\n", "expect": {"sha256": sha("v1\n")}},
            {"kind": "move_file", "from": "b/c.txt", "to": "d/c.txt", "expect": {"sha256": sha("c\n")}},
            {"kind": "write_file", "path": "e/new.txt", "content": "new\n", "expect": "absent"}
        ]));
        let before = r.tree();
        let out = r
            .cmd(&["apply", &p, "--yes"])
            .env("WARDEN_FAILPOINT", format!("{point}=abort"))
            .output()
            .expect("run");
        assert!(
            !out.status.success(),
            "{point}: the process must have aborted (are failpoints compiled into the test binary?)"
        );
        let verify = r.json(&["ledger", "verify"]);
        assert_eq!(verify["ok"], true, "{point}");
        let committed = i
            >= RUN_POINTS
                .iter()
                .position(|p| *p == "run.after_ledger")
                .expect("point");
        if committed {
            assert_eq!(r.read("a.txt"), "v2\n", "{point}");
            assert_eq!(r.read("d/c.txt"), "c\n", "{point}");
        } else {
            assert_eq!(r.tree(), before, "{point}");
        }
    }
}

#[test]
fn a_blocked_recovery_leaves_read_only_commands_working_and_writers_refusing() {
    let r = Repo::new();
    r.write("a.txt", "v1\n");
    let p = r.proposal(json!([
        {"kind": "write_file", "path": "a.txt", "content": "v2\n", "expect": {"sha256": sha("v1\n")}}
    ]));
    let out = r
        .cmd(&["apply", &p, "--yes"])
        .env("WARDEN_FAILPOINT", "run.after_renames=abort")
        .output()
        .expect("run");
    assert!(!out.status.success(), "the process must have aborted");
    // Someone puts a directory where a.txt must go back.
    std::fs::remove_file(r.root.join("a.txt")).expect("rm");
    std::fs::create_dir(r.root.join("a.txt")).expect("mkdir");
    std::fs::write(r.root.join("a.txt/inner"), "mine\n").expect("write");
    // Reading still works, and says what blocks recovery and how to clear it.
    for args in [
        &["status", "--format", "json"][..],
        &["runs"][..],
        &["ledger", "verify"][..],
    ] {
        let out = r.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{args:?}: {:?}\n{stderr}",
            out.status.code()
        );
        assert!(
            stderr.contains("cannot be rolled back") && stderr.contains("mv -- 'a.txt'"),
            "{args:?}: {stderr}"
        );
    }
    let st = r.run(&["status", "--format", "json"]);
    let st: serde_json::Value = serde_json::from_slice(&st.stdout).expect("status json");
    assert_eq!(st["pending_recovery"], true);
    // Writers refuse with the same message.
    let q = r.proposal(json!([
        {"kind": "write_file", "path": "other.txt", "content": "x\n", "expect": "absent"}
    ]));
    let err = r.fails(&["apply", &q, "--yes"], 1);
    assert!(
        err.contains("cannot be rolled back") && err.contains("mv -- 'a.txt'"),
        "{err}"
    );
    // Doing what the message says resolves it.
    std::fs::rename(r.root.join("a.txt"), r.root.join("a.txt.blocked")).expect("mv");
    r.ok(&["status"]);
    assert_eq!(r.read("a.txt"), "v1\n");
    r.ok(&["apply", &q, "--yes"]);
}
