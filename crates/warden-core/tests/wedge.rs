//! Nothing can wedge a repository (issue 10, findings 5, 6, 8, 9, 10): what
//! apply cannot do is refused at planning; a failure half-way is rolled back
//! *with* a ledger entry; a recovery that cannot proceed names the obstacle
//! and the fix while reading keeps working; the quarantine lane never loses a
//! version; undo restores directories; fence markers never enter a fence.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::*;
use serde_json::json;
use warden_core::failpoint::{self, Action};
use warden_core::ledger::RunResult;
use warden_core::{Error, ExitClass};

fn set_validation(f: &Fixture, argv: &str) {
    let p = f.root().join(".warden/policy.yaml");
    let policy = std::fs::read_to_string(&p).expect("policy");
    let policy = policy.split("\nvalidation:").next().expect("text");
    std::fs::write(&p, format!("{policy}\nvalidation:\n  command: {argv}\n")).expect("write");
}

fn last_entry(f: &Fixture) -> warden_core::ledger::Entry {
    f.repo()
        .ledger()
        .entries()
        .expect("entries")
        .pop()
        .expect("an entry")
}

#[cfg(unix)]
fn mode(p: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(p)
        .expect("meta")
        .permissions()
        .mode()
        & 0o7777
}

#[test]
fn failing_validation_with_a_210_byte_name_is_rolled_back_and_ledgered() {
    let _serial = serial();
    let f = Fixture::new();
    let name = format!("{}.txt", "n".repeat(206));
    assert_eq!(name.len(), 210);
    f.write(&name, "old\n", 0o644);
    set_validation(&f, "[\"false\"]");
    let before = tree(f.root());
    let out = try_apply(
        &f,
        manual(json!([{"kind": "write_file", "path": name, "content": "new\n", "expect": {"sha256": sha("old\n")}}])),
    )
    .expect("a failed validation is an outcome, not an error");
    assert_eq!(out.entry.result, RunResult::RolledBack);
    assert_eq!(tree(f.root()), before, "the new content must not stay");
    assert_eq!(last_entry(&f).result, RunResult::RolledBack);
    set_validation(&f, "[\"true\"]");
    still_works(&f, "after the rollback");
}

#[test]
fn a_file_and_a_file_below_it_in_one_proposal_are_refused_at_planning() {
    let _serial = serial();
    let f = Fixture::new();
    let before = tree(f.root());
    let err = try_apply(
        &f,
        manual(json!([
            {"kind": "write_file", "path": "x", "content": "file\n", "expect": "absent"},
            {"kind": "write_file", "path": "x/y", "content": "child\n", "expect": "absent"}
        ])),
    )
    .expect_err("x cannot be a file and a directory");
    assert_eq!(err.class(), ExitClass::Input, "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("actions[0].path") && msg.contains("actions[1].path"),
        "{msg}"
    );
    assert_eq!(tree(f.root()), before);
    still_works(&f, "x and x/y");
}

#[test]
fn a_new_file_name_of_217_to_255_bytes_applies_and_undoes() {
    let _serial = serial();
    for len in [217usize, 240, 255] {
        let f = Fixture::new();
        let name = "m".repeat(len);
        let path = format!("deep/{name}");
        let before = tree(f.root());
        let out = try_apply(
            &f,
            manual(json!([{"kind": "write_file", "path": path, "content": "long\n", "expect": "absent"}])),
        )
        .unwrap_or_else(|e| panic!("{len}: {e}"));
        assert_eq!(out.entry.result, RunResult::Applied);
        assert_eq!(
            std::fs::read(f.root().join(&path)).expect("written"),
            b"long\n"
        );
        try_undo(&f, &out.entry.run, false).expect("undo");
        assert_eq!(tree(f.root()), before, "{len}: undo must be byte-exact");
        still_works(&f, &format!("name of {len} bytes"));
    }
}

#[test]
fn a_quarantined_file_with_a_255_byte_name_applies() {
    let _serial = serial();
    let f = Fixture::new();
    let name = "q".repeat(255);
    f.write(&name, "stray\n", 0o600);
    let out = try_apply(
        &f,
        manual(json!([{"kind": "quarantine", "path": name, "reason": "test"}])),
    )
    .expect("quarantine");
    let kept = f
        .root()
        .join(format!(".quarantine/{}/files/{name}", out.entry.run));
    assert_eq!(std::fs::read(&kept).expect("kept"), b"stray\n");
    still_works(&f, "quarantine of a long name");
}

#[test]
fn a_name_over_name_max_is_refused_at_planning() {
    let _serial = serial();
    let f = Fixture::new();
    let err = try_apply(
        &f,
        manual(json!([{"kind": "write_file", "path": format!("d/{}", "z".repeat(256)), "content": "x", "expect": "absent"}])),
    )
    .expect_err("256 bytes is over NAME_MAX");
    assert_eq!(err.class(), ExitClass::Input, "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("actions[0].path") && msg.contains("NAME_MAX"),
        "{msg}"
    );
    still_works(&f, "NAME_MAX");
}

#[test]
fn a_path_near_path_max_is_refused_at_planning() {
    let _serial = serial();
    let f = Fixture::new();
    let seg = "s".repeat(200);
    let path = vec![seg.as_str(); 20].join("/");
    let err = try_apply(
        &f,
        manual(json!([{"kind": "write_file", "path": path, "content": "x", "expect": "absent"}])),
    )
    .expect_err("over PATH_MAX");
    assert_eq!(err.class(), ExitClass::Input, "{err}");
    assert!(err.to_string().contains("PATH_MAX"), "{err}");
    still_works(&f, "PATH_MAX");
}

#[test]
fn two_actions_on_one_path_are_refused_naming_both() {
    let _serial = serial();
    let f = Fixture::new();
    f.write("a.txt", "a\n", 0o644);
    let err = try_apply(
        &f,
        manual(json!([
            {"kind": "write_file", "path": "b.txt", "content": "b\n", "expect": "absent"},
            {"kind": "move_file", "from": "a.txt", "to": "b.txt", "expect": "any"}
        ])),
    )
    .expect_err("b.txt twice");
    assert_eq!(err.class(), ExitClass::Input, "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("actions[1].to") && msg.contains("actions[0].path"),
        "{msg}"
    );
}

#[test]
fn an_io_error_mid_apply_is_rolled_back_with_a_rolled_back_entry() {
    let _serial = serial();
    let f = Fixture::new();
    f.write("a.txt", "a\n", 0o644);
    f.write("b.txt", "b\n", 0o644);
    let before = tree(f.root());
    failpoint::clear();
    failpoint::arm("run.after_first_rename", Action::IoError);
    let err = try_apply(
        &f,
        manual(json!([
            {"kind": "write_file", "path": "a.txt", "content": "A\n", "expect": {"sha256": sha("a\n")}},
            {"kind": "write_file", "path": "b.txt", "content": "B\n", "expect": {"sha256": sha("b\n")}},
            {"kind": "write_file", "path": "new/c.txt", "content": "C\n", "expect": "absent"}
        ])),
    )
    .expect_err("the injected I/O error fails the run");
    failpoint::clear();
    let Error::ApplyFailed { run, .. } = &err else {
        panic!("expected ApplyFailed, got {err:?}");
    };
    assert_eq!(err.class(), ExitClass::Rejected);
    assert_eq!(tree(f.root()), before, "no change may stay on disk");
    assert!(!f.root().join("new").exists(), "created directory removed");
    let e = last_entry(&f);
    assert_eq!((&e.run, e.result), (run, RunResult::RolledBack));
    assert!(
        e.reason.as_deref().is_some_and(|r| r.contains("failed")),
        "{e:?}"
    );
    still_works(&f, "after an I/O error");
}

#[test]
fn a_temp_name_taken_by_a_directory_fails_the_stage_and_is_rolled_back() {
    let _serial = serial();
    let f = Fixture::new();
    f.write("a.txt", "a\n", 0o644);
    f.write("b.txt", "b\n", 0o644);
    let before = tree(f.root());
    let repo = f.repo();
    let (prop, digest) = proposal(manual(json!([
        {"kind": "write_file", "path": "a.txt", "content": "A\n", "expect": {"sha256": sha("a\n")}},
        {"kind": "write_file", "path": "b.txt", "content": "B\n", "expect": {"sha256": sha("b\n")}}
    ])));
    let mut s = repo.session(&f.ctx, false, &mut |_| {}).expect("session");
    let plan = s.plan(&prop, digest, "p.json").expect("plan");
    // Someone made a non-empty directory where b.txt's temp file goes.
    let blocker = f.root().join(format!(".warden-{}-1.tmp", plan.run));
    std::fs::create_dir(&blocker).expect("mkdir");
    std::fs::write(blocker.join("inside"), "x").expect("write");
    let err = s.apply(&plan).expect_err("staging fails");
    assert!(matches!(err, Error::ApplyFailed { .. }), "{err:?}");
    drop(s);
    std::fs::remove_dir_all(&blocker).expect("cleanup");
    assert_eq!(tree(f.root()), before);
    assert_eq!(last_entry(&f).result, RunResult::RolledBack);
    still_works(&f, "temp name blocked");
}

#[test]
fn a_directory_blocking_recovery_is_named_with_its_fix_and_reading_still_works() {
    let _serial = serial();
    let f = Fixture::new();
    f.write("a.txt", "a\n", 0o644);
    let before = tree(f.root());
    failpoint::clear();
    failpoint::arm("run.after_renames", Action::Error);
    try_apply(
        &f,
        manual(json!([{"kind": "write_file", "path": "a.txt", "content": "A\n", "expect": {"sha256": sha("a\n")}}])),
    )
    .expect_err("crash");
    failpoint::clear();
    // After the crash someone puts a directory where a.txt must go back.
    std::fs::remove_file(f.root().join("a.txt")).expect("rm");
    std::fs::create_dir(f.root().join("a.txt")).expect("mkdir");
    std::fs::write(f.root().join("a.txt/inner"), "mine\n").expect("write");
    let repo = f.repo();
    let err = match repo.session(&f.ctx, false, &mut |_| {}) {
        Ok(_) => panic!("recovery cannot put a.txt back"),
        Err(e) => e,
    };
    let Error::RecoveryBlocked { path, fix, .. } = &err else {
        panic!("expected RecoveryBlocked, got {err:?}");
    };
    assert_eq!(path, "a.txt");
    assert!(
        fix.contains("mv -- 'a.txt'") && fix.contains("warden status"),
        "{fix}"
    );
    assert_eq!(err.hint().as_deref(), Some(fix.as_str()));
    // Read-only views work and show the pending recovery.
    let st = warden_core::status::status(&repo).expect("status works");
    assert!(st.pending_recovery);
    assert!(repo.ledger().verify().expect("verify").ok);
    repo.ledger().entries().expect("runs work");
    // Doing what the fix says resolves it.
    std::fs::rename(f.root().join("a.txt"), f.root().join("a.txt.blocked")).expect("mv");
    let s = repo.session(&f.ctx, false, &mut |_| {}).expect("recovers");
    assert_eq!(
        s.recovered[0].outcome,
        warden_core::engine::RecoveryOutcome::RolledBack
    );
    drop(s);
    std::fs::remove_dir_all(f.root().join("a.txt.blocked")).expect("rm");
    assert_eq!(tree(f.root()), before);
    still_works(&f, "after the blocker moved");
}

#[test]
fn quarantining_a_root_file_named_quarantine_json_keeps_its_content() {
    let _serial = serial();
    let f = Fixture::new();
    f.write("QUARANTINE.json", "user data 1\n", 0o644);
    f.write("index.json", "user data 2\n", 0o600);
    let out = try_apply(
        &f,
        manual(json!([
            {"kind": "quarantine", "path": "QUARANTINE.json", "reason": "r1"},
            {"kind": "quarantine", "path": "index.json", "reason": "r2"}
        ])),
    )
    .expect("quarantine");
    let lane = f.root().join(format!(".quarantine/{}", out.entry.run));
    assert_eq!(
        std::fs::read_to_string(lane.join("files/QUARANTINE.json")).expect("copy"),
        "user data 1\n"
    );
    assert_eq!(
        std::fs::read_to_string(lane.join("files/index.json")).expect("copy"),
        "user data 2\n"
    );
    assert_eq!(mode(&lane.join("files/index.json")), 0o600);
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(lane.join("index.json")).expect("index"))
            .expect("json");
    assert_eq!(index["schema"], "warden.quarantine/v1");
    assert_eq!(index["files"][0]["path"], "QUARANTINE.json");
    assert_eq!(
        index["files"][1]["stored"],
        format!(".quarantine/{}/files/index.json", out.entry.run)
    );
    let st = warden_core::status::status(&f.repo()).expect("status");
    assert_eq!(st.quarantine, 2, "the index is not a quarantined file");
}

#[test]
fn undo_force_keeps_a_newer_edit_of_quarantine_json_in_the_lane() {
    let _serial = serial();
    let f = Fixture::new();
    let out = try_apply(
        &f,
        manual(json!([{"kind": "write_file", "path": "QUARANTINE.json", "content": "by the run\n", "expect": "absent"}])),
    )
    .expect("apply");
    f.write("QUARANTINE.json", "the user's newer edit\n", 0o644);
    try_undo(&f, &out.entry.run, false).expect_err("drift refuses without --force");
    let undo = try_undo(&f, &out.entry.run, true).expect("undo --force");
    let lane = f.root().join(format!(".quarantine/{}", undo.entry.run));
    assert_eq!(
        std::fs::read_to_string(lane.join("files/QUARANTINE.json")).expect("kept"),
        "the user's newer edit\n"
    );
    assert!(lane.join("index.json").is_file());
    assert!(
        !f.root().join("QUARANTINE.json").exists(),
        "restored: absent"
    );
    still_works(&f, "undo --force");
}

#[test]
fn undo_force_keeps_every_drifted_version_including_an_edited_lane_index() {
    let _serial = serial();
    let f = Fixture::new();
    f.write("stray.tmp", "stray\n", 0o644);
    f.write("gone.txt", "gone\n", 0o644);
    f.write("mod.txt", "v1\n", 0o644);
    let out = try_apply(
        &f,
        manual(json!([
            {"kind": "quarantine", "path": "stray.tmp", "reason": "r"},
            {"kind": "move_file", "from": "gone.txt", "to": "moved.txt", "expect": "any"},
            {"kind": "write_file", "path": "mod.txt", "content": "v2\n", "expect": {"sha256": sha("v1\n")}}
        ])),
    )
    .expect("apply");
    let run = out.entry.run.clone();
    // Drift of every kind: the lane's index edited, a file re-created where
    // the run removed it, a file edited, a file the run wrote deleted.
    let index = format!(".quarantine/{run}/index.json");
    f.write(&index, "edited index\n", 0o644);
    f.write("gone.txt", "re-created\n", 0o644);
    f.write("mod.txt", "v3\n", 0o644);
    std::fs::remove_file(f.root().join("moved.txt")).expect("rm");
    let undo = try_undo(&f, &run, true).expect("undo --force");
    let lane = f
        .root()
        .join(format!(".quarantine/{}/files", undo.entry.run));
    let kept = |p: &str| std::fs::read_to_string(lane.join(p)).expect(p);
    assert_eq!(kept(&index), "edited index\n");
    assert_eq!(kept("gone.txt"), "re-created\n");
    assert_eq!(kept("mod.txt"), "v3\n");
    let read = |p: &str| std::fs::read_to_string(f.root().join(p)).expect(p);
    assert_eq!(read("stray.tmp"), "stray\n");
    assert_eq!(read("gone.txt"), "gone\n");
    assert_eq!(read("mod.txt"), "v1\n");
    assert!(!f.root().join(".quarantine").join(&run).exists());
    still_works(&f, "undo --force of every drift");
}

#[cfg(unix)]
#[test]
fn a_pre_existing_empty_0750_directory_survives_undo() {
    let _serial = serial();
    let f = Fixture::new();
    let d = f.root().join("empty");
    std::fs::create_dir(&d).expect("mkdir");
    set_mode(&d, 0o750);
    let dirs = dir_modes(f.root());
    let out = try_apply(
        &f,
        manual(json!([{"kind": "write_file", "path": "empty/f.txt", "content": "x\n", "expect": "absent"}])),
    )
    .expect("apply");
    try_undo(&f, &out.entry.run, false).expect("undo");
    assert_eq!(
        dir_modes(f.root()),
        dirs,
        "the directory must be back, 0750"
    );
    assert_eq!(mode(&d), 0o750);
}

#[cfg(unix)]
#[test]
fn a_0700_directory_emptied_by_a_move_comes_back_0700_after_undo() {
    let _serial = serial();
    let f = Fixture::new();
    f.write("private/f.txt", "secret\n", 0o600);
    set_mode(&f.root().join("private"), 0o700);
    let (files, dirs) = (tree(f.root()), dir_modes(f.root()));
    let out = try_apply(
        &f,
        manual(json!([{"kind": "move_file", "from": "private/f.txt", "to": "public/f.txt", "expect": "any"}])),
    )
    .expect("apply");
    assert!(!f.root().join("private").exists(), "emptied by the move");
    let undo = try_undo(&f, &out.entry.run, false).expect("undo");
    assert_eq!(tree(f.root()), files);
    assert_eq!(dir_modes(f.root()), dirs, "0700 back, public/ gone");
    // Redo (undo of the undo) and undo again: still exact.
    let redo = try_undo(&f, &undo.entry.run, false).expect("redo");
    assert!(!f.root().join("private").exists());
    try_undo(&f, &redo.entry.run, false).expect("undo again");
    assert_eq!(dir_modes(f.root()), dirs);
}

#[cfg(unix)]
#[test]
fn a_validation_rollback_restores_a_0700_directory_the_run_emptied() {
    let _serial = serial();
    let f = Fixture::new();
    f.write("private/f.txt", "secret\n", 0o600);
    set_mode(&f.root().join("private"), 0o700);
    let (files, dirs) = (tree(f.root()), dir_modes(f.root()));
    set_validation(&f, "[\"false\"]");
    let out = try_apply(
        &f,
        manual(json!([{"kind": "move_file", "from": "private/f.txt", "to": "new/dir/f.txt", "expect": "any"}])),
    )
    .expect("outcome");
    assert_eq!(out.entry.result, RunResult::RolledBack);
    assert_eq!(tree(f.root()), files);
    assert_eq!(dir_modes(f.root()), dirs);
}

#[test]
fn patch_content_with_fence_markers_is_refused_naming_the_line() {
    let _serial = serial();
    let f = Fixture::new();
    let text = "a\n# BEGIN AUTO SECTION: X\nx = 1\n# END AUTO SECTION: X\n";
    f.write("cfg.py", text, 0o644);
    for (content, line) in [
        ("x = 2\n# END AUTO SECTION: X\n", 2),
        ("# BEGIN AUTO SECTION: Y\ny\n# END AUTO SECTION: Y\n", 1),
        ("ok\nok\n<!-- END AUTO-SECTION: X -->\n", 3),
        ("  // BEGIN AUTO SECTION: X", 1),
    ] {
        let err = try_apply(
            &f,
            manual(json!([{"kind": "patch_region", "path": "cfg.py", "fence": "X", "content": content}])),
        )
        .expect_err(content);
        assert_eq!(err.class(), ExitClass::Input, "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("actions[0].content")
                && msg.contains(&format!("line {line}"))
                && msg.contains("\"X\""),
            "{content:?}: {msg}"
        );
        assert_eq!(
            std::fs::read_to_string(f.root().join("cfg.py")).expect("read"),
            text
        );
    }
    // A later, ordinary patch still works.
    try_apply(
        &f,
        manual(
            json!([{"kind": "patch_region", "path": "cfg.py", "fence": "X", "content": "x = 3\n"}]),
        ),
    )
    .expect("ordinary patch");
    still_works(&f, "fence");
}

#[test]
fn a_validation_log_that_cannot_be_written_rolls_the_run_back_with_an_entry() {
    let _serial = serial();
    let f = Fixture::new();
    f.write("a.txt", "a\n", 0o644);
    set_validation(&f, "[\"true\"]");
    // .runs/ is a file: the validation log cannot be created.
    let runs = f.root().join(".runs");
    std::fs::remove_dir_all(&runs).ok();
    std::fs::write(&runs, "not a directory\n").expect("write");
    let before = tree(f.root());
    let out = try_apply(
        &f,
        manual(json!([{"kind": "write_file", "path": "a.txt", "content": "A\n", "expect": {"sha256": sha("a\n")}}])),
    )
    .expect("an outcome");
    assert_eq!(out.entry.result, RunResult::RolledBack);
    assert!(
        out.entry
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("could not run")),
        "{:?}",
        out.entry.reason
    );
    assert_eq!(tree(f.root()), before);
    assert_eq!(last_entry(&f).result, RunResult::RolledBack);
    std::fs::remove_file(&runs).expect("rm");
    std::fs::create_dir(&runs).expect("mkdir");
    still_works(&f, "after the log failure");
}

#[test]
fn an_older_versions_leftover_restore_temp_is_removed_by_recovery() {
    let _serial = serial();
    let f = Fixture::new();
    f.write("dir/a.txt", "a\n", 0o644);
    let before = tree(f.root());
    let repo = f.repo();
    let (prop, digest) = proposal(manual(json!([
        {"kind": "write_file", "path": "dir/a.txt", "content": "A\n", "expect": {"sha256": sha("a\n")}}
    ])));
    failpoint::clear();
    failpoint::arm("run.after_renames", Action::Error);
    let run = {
        let mut s = repo.session(&f.ctx, false, &mut |_| {}).expect("session");
        let plan = s.plan(&prop, digest, "p.json").expect("plan");
        s.apply(&plan).expect_err("crash");
        plan.run
    };
    failpoint::clear();
    // What a crash inside an older version's rollback left behind.
    let old = f
        .root()
        .join(format!("dir/.a.txt.warden-{run}-restore.tmp"));
    std::fs::write(&old, "half a restore").expect("write");
    let s = repo.session(&f.ctx, false, &mut |_| {}).expect("recovers");
    assert_eq!(
        s.recovered[0].outcome,
        warden_core::engine::RecoveryOutcome::RolledBack
    );
    drop(s);
    assert!(!old.exists(), "the old-style temp must be cleaned up");
    assert_eq!(tree(f.root()), before);
}

#[cfg(unix)]
#[test]
fn undo_keeps_a_directory_mode_changed_after_the_run() {
    let _serial = serial();
    let f = Fixture::new();
    let d = f.root().join("shared");
    std::fs::create_dir(&d).expect("mkdir");
    set_mode(&d, 0o750);
    let out = try_apply(
        &f,
        manual(json!([{"kind": "write_file", "path": "shared/f.txt", "content": "x\n", "expect": "absent"}])),
    )
    .expect("apply");
    set_mode(&d, 0o700); // the user's own change, after the run
    try_undo(&f, &out.entry.run, false).expect("undo");
    assert!(d.is_dir());
    assert_eq!(
        mode(&d),
        0o700,
        "the run did not set this mode; undo leaves it"
    );
}
