//! End-to-end tests of the `warden` binary on real git repositories.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::snap::{plugin_settings, settings, settings_at, transcript, transcript_at};
use common::{Repo, chmod, mode, sha};
use serde_json::json;

#[test]
fn version_and_help() {
    let r = Repo::git_only();
    let out = transcript(&r, &[&["--version"], &["--help"]]);
    settings(&r).bind(|| insta::assert_snapshot!("version_and_help", out));
}

#[test]
fn init_creates_the_layout_and_is_idempotent() {
    let r = Repo::git_only();
    let mut out = transcript(&r, &[&["init"]]);
    for p in [
        ".warden/policy.yaml",
        ".warden/policy.schema.json",
        ".warden/OPERATING_CONTRACT.md",
        ".warden/.gitignore",
        ".runs/.gitignore",
        ".ledger/README.md",
    ] {
        assert!(r.root.join(p).is_file(), "{p} missing");
    }
    let before = common::tree(&r.root.join(".warden"));
    out.push_str(&transcript(&r, &[&["init"]]));
    assert_eq!(common::tree(&r.root.join(".warden")), before);
    // warden's local state is ignored by git (no .warden/state, nothing of
    // .runs/ but its ignore rule); the policy and contract are not.
    let status = r.git(&["status", "--porcelain", "--untracked-files=all"]);
    out.push_str(&format!(
        "$ git status --porcelain --untracked-files=all\n{status}\n"
    ));
    // The contract is a long generated document: its sections are checked
    // by name (its text is the renderer's, tested in warden-core).
    let contract = r.read(".warden/OPERATING_CONTRACT.md");
    for section in [
        "## A. Scope and guarantees",
        "## B. Lifecycle events",
        "FileDetected",
        "## C. Core vs plugin",
        "## D. Required artifacts",
        "## E. Operational flow",
    ] {
        assert!(contract.contains(section), "{section} missing");
    }
    // A policy edit re-renders the contract on the next init.
    let policy = r
        .read(".warden/policy.yaml")
        .replace("max_files: 1000", "max_files: 7");
    r.write(".warden/policy.yaml", &policy);
    assert!(r.json(&["status"])["contract_in_sync"] == json!(false));
    out.push_str(&transcript(&r, &[&["init"]]));
    // One line of the generated contract says the new limit.
    assert!(r.read(".warden/OPERATING_CONTRACT.md").contains("7 paths"));
    settings(&r).bind(|| insta::assert_snapshot!("init_idempotent_and_contract_update", out));
}

#[test]
fn init_outside_git_explains_and_git_init_creates_one() {
    let home = tempfile::tempdir().expect("tempdir");
    let dir = home.path().join("plain");
    std::fs::create_dir(&dir).expect("mkdir");
    let refused = transcript_at(&dir, home.path(), &[&["init"]]);
    assert!(!dir.join(".warden").exists());
    let out = common::isolated(common::BIN, home.path())
        .args(["init", "--git-init"])
        .current_dir(&dir)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.join(".git").exists() && dir.join(".warden/policy.yaml").exists());
    settings_at(&dir, home.path()).bind(|| insta::assert_snapshot!("init_outside_git", refused));
}

#[test]
fn commands_other_than_init_need_an_initialised_repo() {
    let r = Repo::git_only();
    let out = transcript(&r, &[&["status"], &["runs"]]);
    settings(&r).bind(|| insta::assert_snapshot!("not_initialised", out));
}

#[test]
fn apply_plans_confirms_applies_and_is_idempotent() {
    let r = Repo::new();
    r.write("README.md", "hello\n");
    let p = r.proposal(json!([
        {"kind": "write_file", "path": "docs/new.md", "content": "text\n", "expect": "absent"},
        {"kind": "write_file", "path": "README.md", "content": "hello, world\n", "expect": {"sha256": sha("hello\n")}}
    ]));
    let before = r.tree();

    // The plan (counts, diff), then without a terminal and without --yes:
    // refused, nothing written.
    let mut flow = transcript(&r, &[&["apply", &p, "--dry-run"], &["apply", &p]]);
    assert_eq!(r.tree(), before);
    let json_plan = r.json(&["apply", &p, "--dry-run"]);
    assert_eq!(json_plan["schema"], "warden.plan/v1");
    assert_eq!(json_plan["counts"]["files"], 2);
    assert_eq!(r.ledger_len(), 0);

    flow.push_str(&transcript(&r, &[&["apply", &p, "--yes"]]));
    assert_eq!(r.read("docs/new.md"), "text\n");
    assert_eq!(r.read("README.md"), "hello, world\n");
    assert_eq!(r.ledger_len(), 1);
    let run = r.newest_run();
    // The recorded diff (the whole text is in the plan above): its changed line.
    assert!(
        std::fs::read_to_string(r.root.join(".runs").join(&run).join("diff.patch"))
            .expect("diff")
            .contains("+hello, world")
    );
    assert!(r.root.join(".runs").join(&run).join("run.json").is_file());

    // Re-applying the applied proposal is a no-op: nothing written, nothing ledgered.
    flow.push_str(&transcript(&r, &[&["apply", &p, "--yes"]]));
    assert_eq!(r.ledger_len(), 1);
    settings(&r).bind(|| insta::assert_snapshot!("apply_plan_confirm_idempotent", flow));
    // The recorded diff applies cleanly with git: it is a real patch.
    r.git(&[
        "apply",
        "--check",
        "-R",
        &r.root
            .join(".runs")
            .join(&run)
            .join("diff.patch")
            .display()
            .to_string(),
    ]);
}

#[test]
fn proposals_can_come_from_stdin() {
    let r = Repo::new();
    let doc = json!({"schema": "warden.proposal/v1", "source": {"kind": "llm", "id": "assistant"}, "event": "Manual",
        "actions": [{"kind": "write_file", "path": "x.md", "content": "x\n", "expect": "absent"}]});
    let mut child = r
        .cmd(&["apply", "-", "--yes"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(doc.to_string().as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    // The default policy does not let an LLM write on the Manual event.
    let refused = common::snap::output("apply - --yes", &out);
    assert!(!r.root.join("x.md").exists());
    settings(&r).bind(|| insta::assert_snapshot!("apply_from_stdin_refused", refused));
}

/// One refused input: a proposal's actions and the exit code they get.
struct Case {
    actions: serde_json::Value,
    code: i32,
}

/// Bad proposals: unknown kinds, paths out of the tree or into protected
/// ones, a stale or missing `expect`, a missing fence, a policy file.
fn bad_inputs() -> Vec<Case> {
    vec![
        Case {
            actions: json!([{"kind": "mv_file", "from": "a.txt", "to": "b.txt"}]),
            code: 2,
        },
        Case {
            actions: json!([{"kind": "write_file", "path": "../out.txt", "content": "x", "expect": "absent"}]),
            code: 2,
        },
        Case {
            actions: json!([{"kind": "write_file", "path": "/etc/passwd", "content": "x", "expect": "absent"}]),
            code: 2,
        },
        Case {
            actions: json!([{"kind": "write_file", "path": "escape/out.txt", "content": "x", "expect": "absent"}]),
            code: 2,
        },
        Case {
            actions: json!([{"kind": "write_file", "path": ".git/hooks/pre-commit", "content": "x", "expect": "absent"}]),
            code: 1,
        },
        Case {
            actions: json!([{"kind": "write_file", "path": ".ledger/runs/x.jsonl", "content": "x", "expect": "absent"}]),
            code: 1,
        },
        Case {
            actions: json!([{"kind": "write_file", "path": ".Git/config", "content": "x", "expect": "absent"}]),
            code: 1,
        },
        Case {
            actions: json!([{"kind": "write_file", "path": "a.txt", "content": "new", "expect": {"sha256": sha("other\n")}}]),
            code: 1,
        },
        Case {
            actions: json!([{"kind": "write_file", "path": "a.txt", "content": "new", "expect": "absent"}]),
            code: 1,
        },
        Case {
            actions: json!([{"kind": "write_file", "path": "a.txt", "content": "new"}]),
            code: 2,
        },
        Case {
            actions: json!([{"kind": "delete_file", "path": "a.txt", "expect": {"sha256": sha("a\n")}}]),
            code: 1,
        },
        Case {
            actions: json!([{"kind": "patch_region", "path": "a.txt", "fence": "NOPE", "content": "x"}]),
            code: 1,
        },
        Case {
            actions: json!([{"kind": "write_file", "path": "ok.txt", "content": "x", "expect": "absent"}, {"kind": "write_file", "path": ".warden/policy.yaml", "content": "x", "expect": "any"}]),
            code: 1,
        },
    ]
}

/// Malformed JSON names the file and the position; a malformed policy names
/// its file and field. Returns both refusals' transcript.
fn malformed_proposal_and_policy(r: &Repo) -> String {
    let bad = r.home.path().join("bad.json");
    std::fs::write(
        &bad,
        "{\"schema\": \"warden.proposal/v1\",\n  \"actions\": [}",
    )
    .expect("write");
    let mut refused = transcript(r, &[&["apply", &bad.display().to_string(), "--yes"]]);
    // A malformed policy names its file and field.
    let policy = r.read(".warden/policy.yaml");
    r.write(
        ".warden/policy.yaml",
        &policy.replace(
            "[write_file, patch_region, move_file, quarantine]",
            "[write_file, mv_file]",
        ),
    );
    let p = r.proposal(
        json!([{"kind": "write_file", "path": "n.txt", "content": "x", "expect": "absent"}]),
    );
    refused.push_str(&transcript(r, &[&["apply", &p, "--yes"]]));
    r.write(".warden/policy.yaml", &policy);
    refused
}

/// Each bad input: its refusal (exit code, the file, field and fix).
#[test]
fn bad_input_is_refused_naming_file_field_and_fix_and_nothing_is_written() {
    let r = Repo::new();
    r.write("a.txt", "a\n");
    std::fs::create_dir(r.root.join("real")).expect("mkdir");
    #[cfg(unix)]
    std::os::unix::fs::symlink(r.home.path(), r.root.join("escape")).expect("symlink");
    let before = r.tree();
    let mut cases_out = String::new();
    for Case { actions, code } in bad_inputs() {
        let p = r.proposal(actions.clone());
        r.fails(&["apply", &p, "--yes"], code);
        cases_out.push_str(&format!("# {actions}\n"));
        cases_out.push_str(&transcript(&r, &[&["apply", &p, "--yes"]]));
        assert_eq!(r.tree(), before, "something was written for {actions}");
    }
    let mut s = settings(&r);
    // Each case's proposal file is numbered.
    s.add_filter(r"proposal-\d+\.json", "proposal-[N].json");
    s.bind(|| insta::assert_snapshot!("bad_input_refused", cases_out));
    let refused = malformed_proposal_and_policy(&r);
    settings(&r).bind(|| insta::assert_snapshot!("malformed_proposal_and_policy", refused));
    assert_eq!(r.tree(), before);
    assert_eq!(r.ledger_len(), 0);
    assert_eq!(r.json(&["ledger", "verify"])["ok"], true);
}

#[test]
fn undo_restores_tracked_and_untracked_files_byte_exact_with_modes() {
    let r = Repo::new();
    r.write("tracked.sh", "#!/bin/sh\necho v1\n");
    chmod(&r.root.join("tracked.sh"), 0o755);
    r.write("stray.bin", "untracked \u{0} bytes\n");
    chmod(&r.root.join("stray.bin"), 0o600);
    r.write("dir/doc.md", "doc\n");
    r.git(&["add", "tracked.sh", "dir/doc.md"]);
    r.git(&["commit", "--quiet", "-m", "base"]);
    let before = r.tree();
    let p = r.proposal(json!([
        {"kind": "write_file", "path": "tracked.sh", "content": "#!/bin/sh\necho v2\n", "expect": {"sha256": sha("#!/bin/sh\necho v1\n")}, "executable": false},
        {"kind": "quarantine", "path": "stray.bin", "reason": "unclassified"},
        {"kind": "move_file", "from": "dir/doc.md", "to": "docs/doc.md", "expect": {"sha256": sha("doc\n")}},
        {"kind": "write_file", "path": "brand/new.txt", "content": "new\n", "expect": "absent"}
    ]));
    r.ok(&["apply", &p, "--yes"]);
    assert_eq!(mode(&r.root.join("tracked.sh")), 0o644);
    assert!(!r.root.join("stray.bin").exists() && !r.root.join("dir").exists());
    let run = r.newest_run();
    let q = r.root.join(".quarantine").join(&run);
    assert_eq!(
        mode(&q.join("files/stray.bin")),
        0o600,
        "quarantine keeps the mode"
    );
    // (The quarantine index, with the reason, is in the undo's diff below.)
    assert!(q.join("index.json").is_file());

    let mut out = transcript(&r, &[&["undo", &run, "--yes"]]);
    assert_eq!(r.tree(), before, "byte-exact, modes included");
    // Newest first: the undo, then the run it undid.
    let runs = r.json(&["runs"])["runs"].clone();
    assert_eq!(runs[1]["undone_by"], runs[0]["run"]);
    assert_eq!(runs[0]["undoes"], json!(run));
    assert_eq!(runs[0]["event"], "RollbackTriggered");
    // Again: already undone. An undo is a run too: undoing it redoes the change.
    let undo_run = runs[0]["run"].as_str().expect("run").to_string();
    out.push_str(&transcript(
        &r,
        &[
            &["undo", &run, "--yes"],
            &["undo", &undo_run[..10], "--yes"],
        ],
    ));
    assert_eq!(r.read("tracked.sh"), "#!/bin/sh\necho v2\n");
    settings(&r).bind(|| insta::assert_snapshot!("undo_quarantine_already_undone_redo", out));
    assert_eq!(r.json(&["ledger", "verify"])["ok"], true);
}

#[test]
fn undo_refuses_newer_work_and_force_quarantines_it_first() {
    let r = Repo::new();
    r.write("a.txt", "v1\n");
    let p = r.proposal(json!([{"kind": "write_file", "path": "a.txt", "content": "v2\n", "expect": {"sha256": sha("v1\n")}}]));
    r.ok(&["apply", &p, "--yes"]);
    let run = r.newest_run();
    r.write("a.txt", "v3 by hand\n");
    let refused = transcript(&r, &[&["undo", &run, "--yes"]]);
    assert_eq!(r.read("a.txt"), "v3 by hand\n");
    settings(&r).bind(|| insta::assert_snapshot!("undo_refuses_newer_work", refused));
    r.ok(&["undo", &run, "--yes", "--force"]);
    assert_eq!(r.read("a.txt"), "v1\n");
    let undo = r.newest_run();
    assert_eq!(
        std::fs::read_to_string(r.root.join(".quarantine").join(undo).join("files/a.txt"))
            .expect("kept"),
        "v3 by hand\n"
    );
}

#[test]
fn unknown_run_is_a_usage_error() {
    let r = Repo::new();
    let out = transcript(&r, &[&["undo", "01NOSUCHRUN", "--yes"]]);
    settings(&r).bind(|| insta::assert_snapshot!("undo_unknown_run", out));
}

#[test]
fn a_second_writer_exits_4_with_no_wait_or_waits_naming_the_holder() {
    let r = Repo::new();
    let p = r.proposal(
        json!([{"kind": "write_file", "path": "x.txt", "content": "x\n", "expect": "absent"}]),
    );
    let lock = warden_core::lock::acquire(
        &r.root.join(".warden/state/lock"),
        "pid 4242 (warden apply big.json)",
        false,
        &mut |_| {},
    )
    .expect("lock");
    let mut out = transcript(&r, &[&["apply", &p, "--yes", "--no-wait"]]);
    let status = r.json(&["status"]);
    assert_eq!(status["lock_holder"], "pid 4242 (warden apply big.json)");
    // Without --no-wait it waits, says for whom, and proceeds once the lock is free.
    let child = r
        .cmd(&["apply", &p, "--yes"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!r.root.join("x.txt").exists());
    drop(lock);
    out.push_str(&common::snap::output(
        "apply P --yes",
        &child.wait_with_output().expect("wait"),
    ));
    assert_eq!(r.read("x.txt"), "x\n");
    let mut s = settings(&r);
    s.add_filter(r"proposal-\d+\.json", "proposal-[N].json");
    s.bind(|| insta::assert_snapshot!("second_writer_busy_then_waits", out));
}

#[test]
fn a_failing_validation_command_rolls_the_run_back() {
    let r = Repo::new();
    r.write("a.txt", "v1\n");
    let policy = r.read(".warden/policy.yaml");
    r.write(".warden/policy.yaml", &format!("{policy}\nvalidation:\n  command: [\"sh\", \"-c\", \"grep -q ok a.txt || {{ echo a.txt is not ok >&2; exit 3; }}\"]\n"));
    let bad = r.proposal(json!([{"kind": "write_file", "path": "a.txt", "content": "bad\n", "expect": {"sha256": sha("v1\n")}}]));
    let failed = transcript(&r, &[&["apply", &bad, "--yes"]]);
    assert_eq!(r.read("a.txt"), "v1\n");
    settings(&r).bind(|| insta::assert_snapshot!("validation_failed_rolled_back", failed));
    let runs = r.json(&["runs"])["runs"].clone();
    assert_eq!(runs[0]["result"], "rolled_back");
    // The reason ends with the command's own output (whole in the snapshot).
    assert!(
        runs[0]["reason"]
            .as_str()
            .expect("reason")
            .contains("validation failed")
    );
    let good = r.proposal(json!([{"kind": "write_file", "path": "a.txt", "content": "ok\n", "expect": {"sha256": sha("v1\n")}}]));
    r.ok(&["apply", &good, "--yes"]);
    assert_eq!(r.read("a.txt"), "ok\n");
    assert_eq!(r.json(&["status"])["failures"], 1);
}

#[test]
fn validation_commands_setsid_child_does_not_survive_apply() {
    let r = Repo::new();
    r.write("a.txt", "v1\n");
    let policy = r.read(".warden/policy.yaml");
    // The validation command leaves a grandchild in a session of its own
    // (marked by its unusual sleep time) and records what it sees.
    r.write(
        ".warden/policy.yaml",
        &format!(
            "{policy}\nvalidation:\n  command: [\"sh\", \"-c\", \"setsid sleep 4343.4343 </dev/null >/dev/null 2>&1 & sleep 0.3; env > \\\"$HOME/validation.env\\\"\"]\n"
        ),
    );
    let p = r.proposal(json!([{"kind": "write_file", "path": "a.txt", "content": "v2\n", "expect": {"sha256": sha("v1\n")}}]));
    let out = r
        .cmd(&["apply", &p, "--yes"])
        .env("GPT_BRIDGE_HMAC_SECRET", "hunter2")
        .env("MY_API_TOKEN", "tok")
        .env("UNLISTED_VARIABLE", "x")
        .output()
        .expect("warden apply");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(r.read("a.txt"), "v2\n");
    let survivors = common::processes_with("4343.4343");
    assert!(
        survivors.is_empty(),
        "validation's setsid'd child survived: {survivors:?}"
    );
    let seen = std::fs::read_to_string(r.home.path().join("validation.env")).expect("env");
    assert!(seen.lines().any(|l| l.starts_with("PATH=")), "{seen}");
    for hidden in [
        "GPT_BRIDGE_HMAC_SECRET",
        "MY_API_TOKEN",
        "UNLISTED_VARIABLE",
        "hunter2",
    ] {
        assert!(
            !seen.contains(hidden),
            "the validation command saw {hidden}: {seen}"
        );
    }
}

#[test]
fn two_clones_append_and_merge_without_conflict() {
    let base = Repo::new();
    base.git(&["add", "-A"]);
    base.git(&["commit", "--quiet", "-m", "warden init"]);
    let remote = base.home.path().join("remote.git");
    common::isolated("git", base.home.path())
        .args(["clone", "--quiet", "--bare"])
        .arg(&base.root)
        .arg(&remote)
        .status()
        .expect("bare");
    let a = Repo::clone_of(&remote, &base.home, "a");
    let b = Repo::clone_of(&remote, &base.home, "b");
    for (clone, name) in [(&a, "a"), (&b, "b")] {
        clone.ok(&["init"]); // a new writer id for this clone
        for i in 0..2 {
            let p = clone.proposal(json!([{"kind": "write_file", "path": format!("{name}{i}.txt"), "content": "x\n", "expect": "absent"}]));
            clone.ok(&["apply", &p, "--yes"]);
        }
        clone.git(&["add", "-A"]);
        clone.git(&["commit", "--quiet", "-m", &format!("work in {name}")]);
    }
    a.git(&["push", "--quiet", "origin", "main"]);
    b.git(&[
        "pull",
        "--quiet",
        "--no-rebase",
        "--no-edit",
        "origin",
        "main",
    ]);
    let v = b.json(&["ledger", "verify"]);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["entries"], 4);
    assert_eq!(v["chains"].as_array().expect("chains").len(), 2);
    assert_eq!(b.json(&["runs"])["runs"].as_array().expect("runs").len(), 4);
}

#[test]
fn rollback_handles_survive_git_gc() {
    let r = Repo::new();
    r.write("a.txt", "v1\n");
    r.git(&["add", "-A"]);
    r.git(&["commit", "--quiet", "-m", "base"]);
    let p = r.proposal(json!([{"kind": "write_file", "path": "a.txt", "content": "v2\n", "expect": {"sha256": sha("v1\n")}}]));
    r.ok(&["apply", &p, "--yes"]);
    r.git(&["add", "-A"]);
    r.git(&["commit", "--quiet", "--amend", "-m", "rewritten history"]);
    r.git(&["reflog", "expire", "--expire=now", "--all"]);
    r.git(&["gc", "--quiet", "--prune=now", "--aggressive"]);
    let run = r.newest_run();
    r.ok(&["undo", &run, "--yes"]);
    assert_eq!(r.read("a.txt"), "v1\n");
}

#[test]
fn reports_have_json_formats_with_schema_ids() {
    let r = Repo::new();
    let p = r.proposal(
        json!([{"kind": "write_file", "path": "x.txt", "content": "x\n", "expect": "absent"}]),
    );
    r.ok(&["apply", &p, "--yes"]);
    let s = r.json(&["status"]);
    assert_eq!(s["schema"], "warden.status/v1");
    assert_eq!(s["ledger"]["ok"], true);
    assert_eq!(s["runs"], 1);
    assert!(s["last_success"]["run"].is_string());
    assert!(
        s["dirty"]
            .as_array()
            .expect("dirty")
            .iter()
            .any(|p| p == "x.txt")
    );
    assert_eq!(
        r.json(&["ledger", "verify"])["schema"],
        "warden.ledger-verify/v1"
    );
    let log = r.json(&["ledger", "log"])["entries"].clone();
    assert_eq!(log[0]["schema"], "warden.ledger/v1");
    let run = log[0]["run"].as_str().expect("run").to_string();
    assert_eq!(r.json(&["ledger", "show", &run])["run"], json!(run));
    let events = r.json(&["events"])["events"].clone();
    assert_eq!(events.as_array().expect("events").len(), 11);
    assert_eq!(events[0]["name"], "Manual");
    assert_eq!(r.json(&["schema", "proposal"])["title"], "warden proposal");
    let human = transcript(
        &r,
        &[&["ledger", "show", &run], &["schema", "nope"], &["status"]],
    );
    plugin_settings(&r).bind(|| insta::assert_snapshot!("ledger_show_schema_status", human));
}

#[test]
fn demo_runs_end_to_end() {
    let r = Repo::git_only();
    let out = r.ok(&["demo"]);
    // The demo's transcript is long and follows every command's output (each
    // snapshotted on its own): its steps are checked by their landmarks.
    for step in [
        "== 1.",
        "== 5. Apply",
        "already applied",
        "== 8. Undo",
        "byte-for-byte what it was: yes",
        "ok: true",
        "was edited",
        "== 27. Files land in an inbox",
        "quarantined (unclassified): inbox/holiday.txt",
        "the inbox is byte-for-byte what it was: yes",
        "== 31. Registry maintainer",
        "refused by the evidence gate",
        "the entry is byte-for-byte what it was: yes",
        "== 35. Meta contracts on a repository that does not comply",
    ] {
        assert!(out.contains(step), "{step} missing from the demo:\n{out}");
    }
}

#[test]
fn demo_into_a_closed_pipe_leaves_no_temp_dir_behind() {
    // `warden demo | head -1` used to exit from the panic hook, skipping the
    // destructors that remove the demo's temporary repositories.
    use std::io::BufRead;
    let home = tempfile::tempdir().expect("home");
    let tmp = tempfile::tempdir().expect("tmp");
    let mut child = common::isolated(common::BIN, home.path())
        .arg("demo")
        .env("TMPDIR", tmp.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("demo");
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("first line");
    // The reader is gone (like `head -1`).
    let status = child.wait().expect("wait");
    assert!(!first.is_empty());
    assert_eq!(status.code(), Some(0));
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("tmp")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
