//! End-to-end tests of `warden sync …` and `warden fleet audit` on real git
//! repositories with real bare remotes in temp dirs (issue 4, one group per
//! numbered point). No network: remotes are local paths, and the one
//! "unreachable" remote is a closed local port.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use warden_testkit::git::git as git_in;

use common::snap::{
    git_settings, git_settings_at, settings, settings_at, transcript, transcript_at,
};
use common::{Repo, isolated, set_handler};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A bare remote with a first commit on `main`, and clone `a` tracking it.
struct World {
    home: tempfile::TempDir,
    remote: PathBuf,
    a: Repo,
}

impl World {
    fn new() -> World {
        let home = tempfile::tempdir().expect("tempdir");
        let remote = common::bare_remote(home.path());
        let a = Repo::clone_of(&remote, &home, "a");
        a.write("README.md", "# project\n\nline two\n");
        a.write("src/lib.txt", "alpha\nbeta\ngamma\n");
        a.git(&["add", "-A"]);
        a.git(&["commit", "--quiet", "-m", "first"]);
        a.git(&["push", "--quiet", "-u", "origin", "main"]);
        World { home, remote, a }
    }

    /// Another clone of the remote.
    fn clone(&self, name: &str) -> Repo {
        Repo::clone_of(&self.remote, &self.home, name)
    }
}

fn commit_all(r: &Repo, msg: &str) {
    r.git(&["add", "-A"]);
    r.git(&["commit", "--quiet", "-m", msg]);
}

fn code(r: &Repo, args: &[&str]) -> (i32, String, String) {
    let out = r.run(args);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json_of(r: &Repo, args: &[&str], want: i32) -> Value {
    let mut a = args.to_vec();
    a.extend(["--format", "json"]);
    let (c, out, err) = code(r, &a);
    assert_eq!(c, want, "warden {args:?}\nstdout: {out}\nstderr: {err}");
    serde_json::from_str(&out).expect("json output")
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_str().expect("string").to_string())
        .collect()
}

fn paths(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x["path"].as_str().expect("path").to_string())
        .collect()
}

/// What reconcile must never change: HEAD, the index bytes, stash, branch and
/// tag refs, and the working tree.
fn user_state(r: &Repo) -> (String, Vec<u8>, String, String, String) {
    let refs = r.git(&[
        "for-each-ref",
        "--format=%(refname) %(objectname)",
        "refs/heads",
        "refs/tags",
        "refs/stash",
    ]);
    let refs: String = refs
        .lines()
        .filter(|l| !l.starts_with("refs/heads/sync/") && !l.starts_with("refs/heads/quarantine/"))
        .map(|l| format!("{l}\n"))
        .collect();
    (
        r.git(&["symbolic-ref", "HEAD"]),
        std::fs::read(r.root.join(".git/index")).unwrap_or_default(),
        r.git(&["stash", "list"]),
        refs,
        format!("{:?}", common::tree(&r.root)),
    )
}

// ---- 1. git backend -------------------------------------------------------

#[test]
fn a_fetch_that_fails_is_reported_never_prompted_for() {
    let w = World::new();
    // A closed local port: fails at once, no network, no prompt.
    w.a.git(&["remote", "add", "dead", "https://127.0.0.1:9/x.git"]);
    let v = json_of(&w.a, &["sync", "audit", "--remote", "dead"], 1);
    assert_eq!(v["fetch"][0]["remote"], "dead");
    assert_eq!(v["fetch"][0]["ok"], false);
    // The error ends with git's and curl's own words, which vary by version.
    assert!(
        v["fetch"][0]["error"]
            .as_str()
            .unwrap_or("")
            .contains("git fetch dead failed"),
        "{v:#}"
    );
    assert!(
        strings(&v["summary"]["needs_attention"]).contains(&"fetch from dead failed".to_string())
    );
}

#[test]
fn an_unknown_remote_is_a_usage_error_with_a_hint() {
    let w = World::new();
    let out = transcript(
        &w.a,
        &[
            &["sync", "audit", "--remote", "orign"],
            &["sync", "audit", "--remote", "origin", "--no-fetch"],
        ],
    );
    settings(&w.a).bind(|| insta::assert_snapshot!("sync_audit_unknown_remote", out));
}

#[test]
fn sync_commands_outside_a_repository_say_so() {
    let w = World::new();
    let out = transcript_at(w.home.path(), w.home.path(), &[&["sync", "audit"]]);
    settings_at(w.home.path(), w.home.path())
        .bind(|| insta::assert_snapshot!("sync_outside_a_repository", out));
}

// ---- 2. sync audit -----------------------------------------------------------

#[test]
fn a_fresh_clone_is_in_sync_and_exits_0() {
    let w = World::new();
    let b = w.clone("b");
    let v = json_of(&b, &["sync", "audit"], 0);
    assert_eq!(v["schema"], "warden.sync-audit/v1");
    assert_eq!(v["summary"]["in_sync"], true);
    assert_eq!(v["branches"][0]["name"], "main");
    assert_eq!(v["branches"][0]["upstream_state"], "tracking");
    let human = transcript(&b, &[&["sync", "audit", "--no-fetch"]]);
    git_settings(&b).bind(|| insta::assert_snapshot!("sync_audit_fresh_clone_not_fetched", human));
    // --all-remotes fetches every remote, in name order.
    w.a.git(&["tag", "v9"]);
    w.a.git(&["push", "--quiet", "origin", "v9"]);
    b.git(&["remote", "add", "mirror", &w.remote.display().to_string()]);
    let all = json_of(&b, &["sync", "audit", "--all-remotes"], 0);
    let fetched: Vec<&str> = all["fetch"]
        .as_array()
        .expect("fetch")
        .iter()
        .map(|f| f["remote"].as_str().expect("remote"))
        .collect();
    assert_eq!(fetched, vec!["mirror", "origin"]);
    assert_eq!(
        b.git(&["for-each-ref", "--format=%(refname)", "refs/remotes/mirror"]),
        "refs/remotes/mirror/main\n"
    );
    // Fetching never creates local tags; the remote's tags are mirrored apart.
    assert!(b.git(&["tag", "--list"]).trim().is_empty());
    assert_eq!(
        b.git(&[
            "for-each-ref",
            "--format=%(refname)",
            "refs/warden/tags/origin"
        ]),
        "refs/warden/tags/origin/v9\n"
    );
}

#[test]
fn audit_reports_every_kind_of_difference() {
    let w = World::new();
    let b = w.clone("b");
    let a = &w.a;
    make_every_kind_of_difference(a, &b);

    let v = json_of(a, &["sync", "audit"], 1);
    assert_eq!(
        v["fetch"][0],
        serde_json::json!({"remote": "origin", "ok": true, "error": null})
    );
    let wt = &v["working_tree"];
    assert_eq!(paths(&wt["staged"]), vec!["staged.txt"]);
    assert_eq!(paths(&wt["unstaged"]), vec!["src/lib.txt"]);
    assert_eq!(
        strings(&wt["untracked"]),
        vec!["new dir/deeper/two.txt", "new dir/one.txt"],
        "every untracked file, not the directory"
    );
    assert_eq!(v["stashes"][0]["name"], "stash@{0}");
    assert_eq!(v["stashes"][0]["message"], "On main: parked");
    the_audit_reports_each_branch_and_tag(&v);
    the_audit_reports_the_collisions_and_why(&v);

    // Ground truth from git itself.
    let counts = a.git(&["rev-list", "--left-right", "--count", "main...origin/main"]);
    assert_eq!(
        counts.split_whitespace().collect::<Vec<_>>(),
        vec!["1", "1"]
    );
}

/// B pushes remote edits; A gets a conflicting and a mergeable commit, a
/// stash, staged, unstaged and untracked changes, a branch without upstream,
/// one whose upstream is gone and an unpushed tag.
fn make_every_kind_of_difference(a: &Repo, b: &Repo) {
    // The remote moves on: README and src/lib.txt change there.
    b.write("README.md", "# project\n\nline two, remote\n");
    b.write("src/lib.txt", "ALPHA\nbeta\ngamma\n");
    commit_all(b, "remote edits");
    b.git(&["push", "--quiet"]);
    b.git(&["push", "--quiet", "origin", "main:gone-soon"]);

    // Local commits: README conflicts, src/lib.txt merges cleanly.
    a.write("README.md", "# project\n\nline two, local\n");
    a.write("src/lib.txt", "alpha\nbeta\nGAMMA\n");
    commit_all(a, "local edits");
    // A stash, staged/unstaged changes and untracked files in a new directory.
    a.write("notes.txt", "stashed\n");
    a.git(&["add", "notes.txt"]);
    a.git(&["stash", "push", "--quiet", "-m", "parked"]);
    a.write("staged.txt", "s\n");
    a.git(&["add", "staged.txt"]);
    a.write("src/lib.txt", "alpha\nbeta\nGAMMA\ndelta\n");
    a.write("new dir/one.txt", "1\n");
    a.write("new dir/deeper/two.txt", "2\n");
    // A branch without upstream, one whose upstream is gone, an unpushed tag.
    a.git(&["branch", "experiment"]);
    a.git(&["fetch", "--quiet"]);
    a.git(&["branch", "--track", "tracked-gone", "origin/gone-soon"]);
    b.git(&["push", "--quiet", "origin", "--delete", "gone-soon"]);
    a.git(&["tag", "v1-local"]);
}

fn the_audit_reports_each_branch_and_tag(v: &Value) {
    let branch = |name: &str| {
        v["branches"]
            .as_array()
            .expect("branches")
            .iter()
            .find(|b| b["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} missing: {v:#}"))
    };
    let main = branch("main");
    assert_eq!(
        (main["ahead"].as_u64(), main["behind"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(main["diverged"], true);
    assert_eq!(main["commits_ahead"][0]["subject"], "local edits");
    assert_eq!(main["commits_behind"][0]["subject"], "remote edits");
    let exp = branch("experiment");
    assert_eq!(exp["upstream_state"], "none");
    assert_eq!(exp["ahead"], 1, "one commit on no remote");
    let gone = branch("tracked-gone");
    assert_eq!(gone["upstream_state"], "gone");
    assert_eq!(gone["ahead"], 0, "its commits are on origin/main still");
    assert_eq!(v["tags"]["remote"], "origin");
    assert_eq!(v["tags"]["unpushed"][0]["name"], "v1-local");
}

fn the_audit_reports_the_collisions_and_why(v: &Value) {
    let collisions: Vec<(String, String, bool)> = v["collisions"]
        .as_array()
        .expect("collisions")
        .iter()
        .map(|c| {
            (
                c["path"].as_str().expect("p").to_string(),
                c["local"].as_str().expect("l").to_string(),
                c["mergeable"].as_bool().expect("m"),
            )
        })
        .collect();
    assert_eq!(
        collisions,
        vec![
            ("README.md".into(), "committed".into(), false),
            ("src/lib.txt".into(), "committed".into(), true),
            ("src/lib.txt".into(), "uncommitted".into(), true),
        ],
        "{v:#}"
    );
    let why = strings(&v["summary"]["needs_attention"]);
    for w in [
        "1 staged change",
        "1 unstaged change",
        "2 untracked files",
        "1 stash",
        "main diverged: 1 ahead, 1 behind",
        "experiment: no upstream, 1 commit on no remote",
        "1 unpushed tag",
    ] {
        assert!(why.iter().any(|x| x == w), "{w:?} missing from {why:?}");
    }
    assert!(
        why.iter().any(|x| x.starts_with("tracked-gone: upstream")),
        "{why:?}"
    );
}

/// Regression: every `sync audit` appended to the tracked ledger and left
/// the tree dirty. A read-only report is kept in .runs/ and the local,
/// untracked history (`warden history`), never in anything git tracks.
#[test]
fn audit_writes_nothing_git_tracks_and_is_kept_in_the_local_history() {
    let w = World::new();
    w.a.ok(&["init"]);
    commit_all(&w.a, "warden init");
    w.a.git(&["push", "--quiet"]);
    let before = w.a.ledger_len();
    let v1 = json_of(&w.a, &["sync", "audit", "--no-fetch"], 0);
    let run = v1["run"].as_str().expect("kept as a report").to_string();
    let saved: Value =
        serde_json::from_str(&w.a.read(&format!(".runs/{run}/audit.json"))).expect("audit.json");
    assert_eq!(saved, v1);
    let report = w.a.read(&format!(".runs/{run}/report.md"));
    git_settings(&w.a).bind(|| insta::assert_snapshot!("sync_audit_report_md", report));
    assert_eq!(
        w.a.ledger_len(),
        before,
        "the ledger holds only runs that changed something"
    );
    assert_eq!(
        w.a.git(&["status", "--porcelain", "-uall"]).trim(),
        "",
        "an audit leaves the tree clean"
    );
    let history = w.a.json(&["history"]);
    assert_eq!(history["schema"], "warden.history/v1");
    let row = history["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .find(|r| r["run"] == run.as_str())
        .cloned()
        .expect("the audit is in the history");
    assert_eq!(row["origin"], "local");
    assert_eq!(row["command"], "sync audit");
    assert_eq!(row["result"], "report");
    assert_eq!(row["actor"]["kind"], "person");
    // A second audit sees the same state and reports the same (apart from its id).
    let mut v2 = json_of(&w.a, &["sync", "audit", "--no-fetch"], 0);
    assert!(
        strings(&v2["working_tree"]["bookkeeping"]).is_empty(),
        "{v2:#}"
    );
    v2["run"] = v1["run"].clone();
    assert_eq!(v1, v2);
    w.a.ok(&["ledger", "verify"]);
}

// ---- 3. sync init ------------------------------------------------------------

#[test]
fn sync_init_creates_the_repo_links_once_and_refuses_a_second_url() {
    let w = World::new();
    let dir = w.home.path().join("fresh");
    std::fs::create_dir(&dir).expect("mkdir");
    let url = w.remote.display().to_string();
    let out = transcript_at(
        &dir,
        w.home.path(),
        &[
            &["sync", "init", "--remote", &url],
            &["sync", "init", "--remote", &url],
            &["sync", "init", "--remote", "/elsewhere.git"],
        ],
    );
    assert!(dir.join(".git").is_dir() && dir.join(".warden/policy.yaml").is_file());
    settings_at(&dir, w.home.path()).bind(|| insta::assert_snapshot!("sync_init_links_once", out));
}

// ---- 4. sync reconcile -------------------------------------------------------

/// `a` diverged from the remote (both touch README.md without overlapping
/// lines... or overlapping when `conflict`), plus uncommitted work.
fn diverged(conflict: bool) -> (World, Repo) {
    let w = World::new();
    w.a.ok(&["init"]);
    commit_all(&w.a, "warden init");
    w.a.git(&["push", "--quiet"]);
    let b = w.clone("b");
    b.write("src/lib.txt", "ALPHA\nbeta\ngamma\n");
    b.write("remote-only.txt", "from b\n");
    commit_all(&b, "b: edits");
    b.git(&["push", "--quiet"]);
    let a = &w.a;
    a.write(
        "src/lib.txt",
        if conflict {
            "alpha (a)\nbeta\ngamma\n"
        } else {
            "alpha\nbeta\nGAMMA\n"
        },
    );
    commit_all(a, "a: edits");
    a.write("README.md", "# project\n\nline two\nuncommitted line\n");
    a.write("scratch/idea.txt", "untracked idea\n");
    a.write("staged.txt", "staged\n");
    a.git(&["add", "staged.txt"]);
    (w, b)
}

#[test]
fn reconcile_builds_the_sync_branch_and_touches_nothing_of_the_user() {
    let (w, _b) = diverged(false);
    let a = &w.a;
    a.write("stash-me.txt", "s\n");
    a.git(&["add", "stash-me.txt"]);
    a.git(&["stash", "push", "--quiet", "--", "stash-me.txt"]);
    let local_tip = a.git(&["rev-parse", "main"]).trim().to_string();
    let before = user_state(a);
    let v = json_of(a, &["sync", "reconcile"], 0);
    assert_eq!(user_state(a), before, "reconcile changed the user's state");
    assert_eq!(v["schema"], "warden.sync-reconcile/v1");
    assert_eq!(v["outcome"], "sync_branch");
    let branch = v["sync_branch"].as_str().expect("branch");
    let run = v["run"].as_str().expect("run");
    assert_eq!(branch, format!("sync/{}-{run}", &branch[5..13]));
    assert!(branch[5..13].chars().all(|c| c.is_ascii_digit()));
    let tip = a.git(&["rev-parse", branch]).trim().to_string();
    assert_eq!(tip, v["sync_commit"]);
    the_sync_tree_holds_the_merged_truth(a, &local_tip, &tip);
    the_snapshot_is_the_users_work_named_by_its_run(a, &v, branch, run);
    assert_eq!(v["from_local_count"], 1);
    assert_eq!(v["from_remote"][0]["subject"], "b: edits");
    assert_eq!(strings(&v["collisions"]), vec!["src/lib.txt"]);
    the_reconcile_is_ledgered_and_its_branch_is_wardens_lane(a, branch, run);
}

/// The merged truth: local commit, remote commit, every uncommitted change.
fn the_sync_tree_holds_the_merged_truth(a: &Repo, local_tip: &str, tip: &str) {
    a.git(&["merge-base", "--is-ancestor", local_tip, tip]);
    a.git(&["merge-base", "--is-ancestor", "origin/main", tip]);
    let show = |p: &str| a.git(&["show", &format!("{tip}:{p}")]);
    assert_eq!(show("src/lib.txt"), "ALPHA\nbeta\nGAMMA\n");
    assert_eq!(show("remote-only.txt"), "from b\n");
    assert_eq!(
        show("README.md"),
        "# project\n\nline two\nuncommitted line\n"
    );
    assert_eq!(show("scratch/idea.txt"), "untracked idea\n");
    assert_eq!(show("staged.txt"), "staged\n");
}

/// The snapshot of uncommitted work, and the merge commit, name the run.
fn the_snapshot_is_the_users_work_named_by_its_run(a: &Repo, v: &Value, branch: &str, run: &str) {
    let snap = &v["snapshot"];
    assert_eq!(
        strings(&snap["paths"])
            .into_iter()
            .filter(|p| !p.starts_with(".ledger/"))
            .collect::<Vec<_>>(),
        vec!["README.md", "scratch/idea.txt", "staged.txt"]
    );
    assert_eq!(
        a.git(&[
            "log",
            "-1",
            "--format=%s",
            snap["commit"].as_str().expect("c")
        ])
        .trim(),
        "warden sync: uncommitted work on main"
    );
    // Regression: the capture was authored by `warden <warden@localhost>`.
    // It is the user's work, so it carries the user's git identity, and
    // names warden and its run in a trailer.
    let snap_commit = snap["commit"].as_str().expect("c");
    assert_eq!(
        a.git(&["log", "-1", "--format=%an <%ae>|%cn <%ce>", snap_commit])
            .trim(),
        "test <test@warden.invalid>|test <test@warden.invalid>"
    );
    assert_eq!(
        a.git(&[
            "log",
            "-1",
            "--format=%(trailers:key=Warden-Run,valueonly)",
            snap_commit
        ])
        .trim(),
        run
    );
    assert_eq!(
        a.git(&[
            "log",
            "-1",
            "--format=%(trailers:key=Warden-Run,valueonly)",
            branch
        ])
        .trim(),
        run,
        "the merge commit names its run too"
    );
}

fn the_reconcile_is_ledgered_and_its_branch_is_wardens_lane(a: &Repo, branch: &str, run: &str) {
    // Ledgered with what came from where.
    let entry = a.json(&["ledger", "show", run]);
    assert_eq!(entry["command"], "sync reconcile");
    assert_eq!(entry["details"]["sync_branch"], branch);
    assert_eq!(entry["details"]["upstream"], "refs/remotes/origin/main");
    assert!(a.root.join(format!(".runs/{run}/report.md")).is_file());
    // The temporary worktree and index left nothing behind.
    assert_eq!(
        a.git(&["worktree", "list", "--porcelain"])
            .matches("worktree ")
            .count(),
        1
    );
    // The sync branch is warden's lane: listed by the audit, not a finding.
    let audit = json_of(a, &["sync", "audit", "--no-fetch"], 1);
    let lane = audit["branches"]
        .as_array()
        .expect("branches")
        .iter()
        .find(|b| b["name"] == branch)
        .cloned()
        .expect("the sync branch is listed");
    assert_eq!(lane["warden_lane"], true);
    let why = strings(&audit["summary"]["needs_attention"]);
    assert!(why.iter().all(|w| !w.contains("sync/")), "{why:?}");
}

#[test]
fn reconcile_dry_run_creates_nothing_and_records_nothing() {
    let (w, _b) = diverged(false);
    let before = w.a.ledger_len();
    let v = json_of(&w.a, &["sync", "reconcile", "--dry-run"], 0);
    assert_eq!(v["dry_run"], true);
    let branch = v["sync_branch"].as_str().expect("branch");
    let out = w.a.run(&["sync", "audit", "--no-fetch"]);
    drop(out);
    assert!(w.a.git(&["branch", "--list", branch]).trim().is_empty());
    assert_eq!(
        w.a.ledger_len(),
        before,
        "nothing was recorded (an audit is not ledgered)"
    );
}

#[test]
fn what_stays_conflicted_goes_to_a_quarantine_branch_not_the_sync_branch() {
    let (w, _b) = diverged(true);
    let a = &w.a;
    let before = user_state(a);
    let v = json_of(a, &["sync", "reconcile"], 1);
    assert_eq!(user_state(a), before);
    assert_eq!(v["outcome"], "quarantined");
    assert_eq!(v["sync_branch"], Value::Null);
    assert_eq!(v["conflicts"][0]["path"], "src/lib.txt");
    assert_eq!(v["merge_conflict"]["paths"][0], "src/lib.txt");
    let q = v["quarantine_branch"].as_str().expect("quarantine");
    assert!(q.starts_with("quarantine/sync-"), "{q}");
    assert!(a.git(&["branch", "--list", "sync/*"]).trim().is_empty());
    // Nothing is lost: both sides and the uncommitted work are reachable from it.
    a.git(&["merge-base", "--is-ancestor", "main", q]);
    a.git(&["merge-base", "--is-ancestor", "origin/main", q]);
    let body = a.git(&["show", &format!("{q}:src/lib.txt")]);
    // git's conflict markers name commits and vary with its version: the
    // sides are checked, not the whole text.
    assert!(body.contains("<<<<<<<") && body.contains("alpha (a)") && body.contains("ALPHA"));
    assert_eq!(
        a.git(&["show", &format!("{q}:scratch/idea.txt")]),
        "untracked idea\n"
    );
    let entry = a.json(&["ledger", "show", v["run"].as_str().expect("run")]);
    assert_eq!(entry["event"], "SyncAudited");
    assert_eq!(
        entry["details"]["created_refs"][0]["name"],
        format!("refs/heads/{q}")
    );
    // MergeConflict was fired (no plugin is enabled: nobody answered).
    let mc = v["merge_conflict_run"].as_str().expect("fired");
    let fired = a.json(&["ledger", "show", mc]);
    assert_eq!(fired["event"], "MergeConflict");
    assert_eq!(fired["details"]["plugins"], serde_json::json!([]));
    // And adopt refuses it.
    let refused = transcript(
        a,
        &[&["sync", "adopt", v["run"].as_str().expect("run"), "--yes"]],
    );
    git_settings(a).bind(|| insta::assert_snapshot!("adopt_refused_quarantined_run", refused));
}

#[test]
fn append_only_jsonl_conflicts_are_resolved_by_union() {
    let w = World::new();
    w.a.ok(&["init"]);
    w.a.write(
        ".warden/sync.yaml",
        "schema: warden.sync-config/v1\nappend_only: [\"log/*.jsonl\"]\n",
    );
    w.a.write("log/events.jsonl", "{\"id\":\"e1\",\"v\":1}\n");
    commit_all(&w.a, "log");
    w.a.git(&["push", "--quiet"]);
    let b = w.clone("b");
    b.write(
        "log/events.jsonl",
        "{\"id\":\"e1\",\"v\":1}\n{\"id\":\"b1\",\"v\":2}\n",
    );
    commit_all(&b, "b logs");
    b.git(&["push", "--quiet"]);
    w.a.write(
        "log/events.jsonl",
        "{\"id\":\"e1\",\"v\":1}\n{\"id\":\"a1\",\"v\":3}\n",
    );
    commit_all(&w.a, "a logs");
    let v = json_of(&w.a, &["sync", "reconcile"], 0);
    assert_eq!(v["outcome"], "sync_branch", "{v:#}");
    assert_eq!(v["resolutions"][0]["resolver"], "jsonl-union");
    assert_eq!(v["merge_conflict"]["paths"][0], "log/events.jsonl");
    let merged = w.a.git(&[
        "show",
        &format!("{}:log/events.jsonl", v["sync_branch"].as_str().expect("b")),
    ]);
    assert_eq!(
        merged,
        "{\"id\":\"e1\",\"v\":1}\n{\"id\":\"a1\",\"v\":3}\n{\"id\":\"b1\",\"v\":2}\n"
    );
}

#[test]
fn generated_files_are_regenerated_in_a_temporary_worktree() {
    let w = World::new();
    w.a.ok(&["init"]);
    w.a.write(
        ".warden/sync.yaml",
        "schema: warden.sync-config/v1\ngenerated:\n  - paths: [\"combined.txt\"]\n    command: [\"sh\", \"-c\", \"cat parts/*.txt > combined.txt\"]\n",
    );
    w.a.write("parts/0.txt", "zero\n");
    w.a.write("combined.txt", "zero\n");
    commit_all(&w.a, "parts");
    w.a.git(&["push", "--quiet"]);
    let b = w.clone("b");
    b.write("parts/2.txt", "two\n");
    b.write("combined.txt", "zero\ntwo\n");
    commit_all(&b, "b part");
    b.git(&["push", "--quiet"]);
    w.a.write("parts/1.txt", "one\n");
    w.a.write("combined.txt", "zero\none\n");
    commit_all(&w.a, "a part");
    let v = json_of(&w.a, &["sync", "reconcile"], 0);
    assert_eq!(v["outcome"], "sync_branch", "{v:#}");
    assert_eq!(v["resolutions"][0]["resolver"], "generator");
    let tip = v["sync_commit"].as_str().expect("tip");
    assert_eq!(
        w.a.git(&["show", &format!("{tip}:combined.txt")]),
        "zero\none\ntwo\n"
    );
    assert_eq!(
        w.a.git(&["worktree", "list", "--porcelain"])
            .matches("worktree ")
            .count(),
        1
    );
}

#[test]
fn a_bad_sync_config_names_the_field_and_the_fix() {
    let w = World::new();
    w.a.ok(&["init"]);
    w.a.write(
        ".warden/sync.yaml",
        "schema: warden.sync-config/v1\nauto_adopts: true\n",
    );
    let out = transcript(&w.a, &[&["sync", "reconcile"]]);
    settings(&w.a).bind(|| insta::assert_snapshot!("sync_config_unknown_field", out));
}

#[test]
fn reconcile_needs_a_branch_with_an_upstream() {
    let w = World::new();
    w.a.ok(&["init"]);
    w.a.git(&["switch", "--quiet", "-c", "lonely"]);
    let out = transcript(&w.a, &[&["sync", "reconcile"]]);
    settings(&w.a).bind(|| insta::assert_snapshot!("reconcile_without_upstream", out));
}

// ---- 5. sync adopt -----------------------------------------------------------

#[test]
fn adopt_fast_forwards_when_nothing_changed_since() {
    let (w, _b) = diverged(false);
    let a = &w.a;
    let v = json_of(a, &["sync", "reconcile"], 0);
    let run = v["run"].as_str().expect("run");
    // Without a terminal and without --yes: refused, nothing written.
    let out = transcript(
        a,
        &[
            &["sync", "adopt", run],
            &["sync", "adopt", run, "--dry-run"],
            &["sync", "adopt", run, "--yes"],
        ],
    );
    assert_eq!(a.git(&["rev-parse", "main"]).trim(), v["sync_commit"]);
    assert_eq!(a.git(&["symbolic-ref", "--short", "HEAD"]).trim(), "main");
    // The working tree holds everything and is clean apart from warden's ledger.
    assert_eq!(a.read("src/lib.txt"), "ALPHA\nbeta\nGAMMA\n");
    assert_eq!(a.read("remote-only.txt"), "from b\n");
    assert_eq!(a.read("scratch/idea.txt"), "untracked idea\n");
    let status = a.git(&["status", "--porcelain", "-uall"]);
    assert!(
        status.lines().all(|l| l.contains(".ledger/")),
        "dirty after adopt: {status}"
    );
    let runs = a.json(&["runs"])["runs"].clone();
    let last = runs
        .as_array()
        .and_then(|r| r.first())
        .cloned()
        .expect("runs");
    assert_eq!(last["command"], "sync adopt");
    // Adopting it again says so, rather than that the branch moved.
    let again = transcript(a, &[&["sync", "adopt", run, "--yes"]]);
    // The branch is now only ahead: push, audit → in sync.
    a.git(&["push", "--quiet"]);
    json_of(a, &["sync", "audit"], 0);
    git_settings(a).bind(|| {
        insta::assert_snapshot!("adopt_fast_forward", out);
        insta::assert_snapshot!("adopt_again", again);
    });
}

#[test]
fn adopt_refuses_when_the_tree_or_the_branch_moved() {
    let (w, _b) = diverged(false);
    let a = &w.a;
    let v = json_of(a, &["sync", "reconcile"], 0);
    let run = v["run"].as_str().expect("run").to_string();
    a.write("README.md", "edited after the reconcile\n");
    let before = user_state(a);
    let tree_moved = transcript(a, &[&["sync", "adopt", &run, "--yes"]]);
    assert_eq!(user_state(a), before);
    a.write("README.md", "# project\n\nline two\nuncommitted line\n");
    commit_all(a, "moved on");
    let refused = transcript(
        a,
        &[
            &["sync", "adopt", &run, "--yes"],
            &["sync", "adopt", "NOSUCHRUN", "--yes"],
        ],
    );
    git_settings(a).bind(|| {
        insta::assert_snapshot!("adopt_refused_tree_moved", tree_moved);
        insta::assert_snapshot!("adopt_refused_branch_moved", refused);
    });
}

#[test]
fn auto_adopt_needs_the_policy_and_no_collisions() {
    let w = World::new();
    w.a.ok(&["init"]);
    commit_all(&w.a, "warden init");
    w.a.git(&["push", "--quiet"]);
    let b = w.clone("b");
    b.write("remote.txt", "r\n");
    commit_all(&b, "b");
    b.git(&["push", "--quiet"]);
    w.a.write("local.txt", "l\n");
    commit_all(&w.a, "a");
    // Off by default.
    let off = transcript(&w.a, &[&["sync", "reconcile", "--adopt"]]);
    git_settings(&w.a).bind(|| insta::assert_snapshot!("reconcile_adopt_off_by_default", off));
    let tip = w.a.git(&["rev-parse", "main"]);
    w.a.write(
        ".warden/sync.yaml",
        "schema: warden.sync-config/v1\nauto_adopt: true\n",
    );
    commit_all(&w.a, "allow auto adopt");
    let v = json_of(&w.a, &["sync", "reconcile", "--adopt"], 0);
    assert_ne!(w.a.git(&["rev-parse", "main"]), tip);
    assert_eq!(w.a.git(&["rev-parse", "main"]).trim(), v["sync_commit"]);
    assert_eq!(w.a.read("remote.txt"), "r\n");
}

// ---- 6. fleet audit ----------------------------------------------------------

#[test]
fn fleet_audit_finds_repos_audits_them_in_parallel_and_exits_1_on_findings() {
    let w = World::new();
    let fleet = w.home.path().join("fleet");
    std::fs::create_dir_all(fleet.join("group")).expect("mkdir");
    let url = w.remote.display().to_string();
    for (name, dirty) in [("clean", false), ("group/dirty", true)] {
        git_in(&fleet, w.home.path(), &["clone", "--quiet", &url, name]);
        if dirty {
            std::fs::write(fleet.join(name).join("wip.txt"), "wip\n").expect("write");
        }
    }
    git_in(
        &fleet,
        w.home.path(),
        &["init", "--quiet", "--initial-branch=main", "broken"],
    );
    git_in(
        &fleet.join("broken"),
        w.home.path(),
        &["remote", "add", "origin", "https://127.0.0.1:9/x.git"],
    );
    let run = |args: &[&str]| {
        isolated(common::BIN, w.home.path())
            .args(args)
            .current_dir(w.home.path())
            .output()
            .expect("run")
    };
    let f = fleet.display().to_string();
    let out = run(&["fleet", "audit", &f, "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["schema"], "warden.fleet-audit/v1");
    assert_eq!(v["total"], 3);
    let rows = v["repos"].as_array().expect("rows");
    let names: Vec<String> = rows
        .iter()
        .map(|r| {
            Path::new(r["repo"].as_str().expect("repo"))
                .strip_prefix(fleet.canonicalize().expect("canon"))
                .expect("under fleet")
                .display()
                .to_string()
        })
        .collect();
    assert_eq!(names, vec!["broken", "clean", "group/dirty"]);
    assert_eq!(rows[1]["needs_attention"], false);
    assert_eq!(rows[2]["untracked"], 1);
    // The error ends with curl's message, which has a timing in it.
    assert!(
        rows[0]["fetch_error"]
            .as_str()
            .unwrap_or("")
            .contains("git fetch origin failed")
    );
    // One worker gives the same report as four (curl's message has a timing in it).
    let one = run(&["fleet", "audit", &f, "--jobs", "1", "--format", "json"]);
    let no_timing = |mut v: Value| {
        for r in v["repos"].as_array_mut().expect("rows") {
            r["fetch_error"] = Value::Bool(r["fetch_error"].is_string());
        }
        v
    };
    assert_eq!(
        no_timing(serde_json::from_slice(&one.stdout).expect("json")),
        no_timing(v.clone())
    );
    let mut out = common::snap::output(
        "fleet audit FLEET --no-fetch",
        &run(&["fleet", "audit", &f, "--no-fetch"]),
    );
    out.push_str(&common::snap::output(
        "fleet audit /no/such/dir",
        &run(&["fleet", "audit", "/no/such/dir"]),
    ));
    git_settings_at(&fleet, w.home.path())
        .bind(|| insta::assert_snapshot!("fleet_audit_table_and_bad_dir", out));
}

// ---- 7. demo and schemas -----------------------------------------------------

#[test]
fn the_demo_walks_through_audit_reconcile_and_adopt() {
    let r = Repo::git_only();
    let out = r.ok(&["demo"]);
    // The demo's transcript is long and follows every command's output (each
    // snapshotted on its own): its steps are checked by their landmarks.
    for s in [
        "Sync guardian: one remote, two clones",
        "DIVERGED from origin/main: 1 ahead, 1 behind",
        "uncommitted work captured as commit",
        "files and its branch are untouched: yes",
        "fast-forward",
        "todo.txt: yes",
        "IN SYNC",
    ] {
        assert!(out.contains(s), "{s:?} missing from the demo:\n{out}");
    }
}

#[test]
fn sync_schemas_are_listed_and_printed() {
    let r = Repo::git_only();
    let list = r.json(&["schema"]);
    for n in [
        "sync-audit",
        "sync-reconcile",
        "sync-reconcile-batch",
        "sync-adopt",
        "sync-config",
        "sync-init",
        "fleet-audit",
    ] {
        assert!(
            list["schemas"]
                .as_array()
                .expect("list")
                .iter()
                .any(|x| x["name"] == n),
            "{n}"
        );
        let s = r.json(&["schema", n]);
        assert!(
            s["$id"]
                .as_str()
                .expect("id")
                .ends_with(&format!("{n}.schema.json"))
        );
    }
}

// ---- MergeConflict plugins --------------------------------------------------

/// Scaffold a python MergeConflict plugin with `code` as its handler, at
/// `priority`; regenerate, validate, enable.
fn merge_plugin(r: &Repo, key: &str, priority: i64, code: &str) {
    r.ok(&[
        "plugin",
        "new",
        key,
        "--event",
        "MergeConflict",
        "--lang",
        "python",
        "--yes",
    ]);
    set_handler(r, key, code);
    let rel = format!("plugins/{key}/plugin.spec.json");
    let mut spec: Value = serde_json::from_str(&r.read(&rel)).expect("spec");
    spec["priority"] = serde_json::json!(priority);
    r.write(
        &rel,
        &(serde_json::to_string_pretty(&spec).expect("json") + "\n"),
    );
    r.ok(&["plugin", "gen", key, "--yes"]);
    r.ok(&["plugin", "validate", key]);
    r.ok(&["plugin", "enable", key, "--yes"]);
}

/// Keeps both sides' lines of src/lib.txt (ours, then theirs' new ones).
const KEEP_BOTH: &str = r#"def handle(event, items):
    actions = []
    for item in items:
        for f in item.get("files", []):
            if f["path"] != "src/lib.txt" or f["ours"] is None or f["theirs"] is None:
                continue
            lines = f["ours"].splitlines(True)
            for line in f["theirs"].splitlines(True):
                if line not in lines:
                    lines.append(line)
            actions.append({"kind": "write_file", "path": f["path"],
                            "content": "".join(lines),
                            "expect": {"sha256": f["merged_sha256"]}})
    return actions, "keep both sides' lines"
"#;

/// Misbehaves: answers notes.txt by rewriting README.md, which is not conflicted.
const GRABBY: &str = r#"def handle(event, items):
    if not any(f["path"] == "notes.txt" for i in items for f in i.get("files", [])):
        return [], "nothing for me"
    return [{"kind": "write_file", "path": "README.md", "content": "pwned\n", "expect": "any"}], "grab"
"#;

#[test]
fn merge_conflict_plugins_resolve_on_the_sync_tree_and_a_misbehaving_one_leaves_quarantine() {
    let w = World::new();
    let a = &w.a;
    a.ok(&["init"]);
    a.write("notes.txt", "note\n");
    merge_plugin(a, "keepboth", 1, KEEP_BOTH);
    merge_plugin(a, "grabby", 2, GRABBY);
    commit_all(a, "warden init, plugins");
    a.git(&["push", "--quiet"]);
    let b = w.clone("b");
    b.write("src/lib.txt", "ALPHA\nbeta\ngamma\n");
    b.write("notes.txt", "their note\n");
    commit_all(&b, "b: edits");
    b.git(&["push", "--quiet"]);
    a.write("src/lib.txt", "alpha (a)\nbeta\ngamma\n");
    a.write("notes.txt", "our note\n");
    commit_all(a, "a: edits");
    let before = user_state(a);
    let v = json_of(a, &["sync", "reconcile"], 1);
    assert_eq!(user_state(a), before, "reconcile changed the user's state");
    assert_eq!(a.read("README.md"), "# project\n\nline two\n");
    assert_eq!(v["outcome"], "quarantined", "{v:#}");
    // keepboth resolved src/lib.txt; ledgered with its key and version.
    let res = &v["resolutions"][0];
    assert_eq!(res["path"], "src/lib.txt", "{v:#}");
    assert_eq!(res["resolver"], "plugin");
    assert_eq!(res["plugin"], "keepboth");
    assert_eq!(res["plugin_version"], "0.1.0");
    // grabby's proposal was refused: notes.txt stays conflicted.
    assert_eq!(v["conflicts"][0]["path"], "notes.txt");
    assert_eq!(v["plugin_faults"][0]["plugin"], "grabby");
    let why = serde_json::to_string_pretty(&serde_json::json!({
        "conflicts": v["conflicts"],
        "plugin_faults": v["plugin_faults"],
    }))
    .expect("json");
    common::snap::plugin_settings(a)
        .bind(|| insta::assert_snapshot!("reconcile_plugin_conflicts_and_faults", why));
    // The quarantine branch holds the plugin's resolution and the markers.
    let q = v["quarantine_branch"].as_str().expect("q");
    assert_eq!(
        a.git(&["show", &format!("{q}:src/lib.txt")]),
        "alpha (a)\nbeta\ngamma\nALPHA\n"
    );
    let notes = a.git(&["show", &format!("{q}:notes.txt")]);
    // git's conflict markers vary with its version: the sides are checked.
    assert!(
        notes.contains("<<<<<<<") && notes.contains("our note") && notes.contains("their note")
    );
    assert_eq!(
        a.git(&["show", &format!("{q}:README.md")]),
        "# project\n\nline two\n"
    );
    a.git(&["merge-base", "--is-ancestor", "main", q]);
    a.git(&["merge-base", "--is-ancestor", "origin/main", q]);
    // The dispatch is its own ledgered MergeConflict run; faulty output is
    // kept with it, not in the working tree's quarantine lane.
    let mc = v["merge_conflict_run"].as_str().expect("fired");
    let fired = a.json(&["ledger", "show", mc]);
    assert_eq!(fired["event"], "MergeConflict");
    let plugins = fired["details"]["plugins"].as_array().expect("plugins");
    assert_eq!(plugins[0]["plugin"], "keepboth");
    assert_eq!(plugins[0]["outcome"], "accepted");
    assert_eq!(plugins[1]["plugin"], "grabby");
    assert_eq!(plugins[1]["fault"]["kind"], "beyond_policy");
    assert!(!a.root.join(".quarantine").exists());
    assert!(
        a.root
            .join(format!(".runs/{mc}/grabby.proposal.json"))
            .is_file()
    );

    // Once notes.txt is settled by hand, keepboth's resolution lands on the sync branch.
    a.write("notes.txt", "their note\n");
    commit_all(a, "a: take their note");
    let v = json_of(a, &["sync", "reconcile"], 0);
    assert_eq!(v["outcome"], "sync_branch", "{v:#}");
    assert_eq!(v["resolutions"][0]["plugin"], "keepboth");
    let tip = v["sync_commit"].as_str().expect("tip");
    assert_eq!(
        a.git(&["show", &format!("{tip}:src/lib.txt")]),
        "alpha (a)\nbeta\ngamma\nALPHA\n"
    );
    assert_eq!(a.read("src/lib.txt"), "alpha (a)\nbeta\ngamma\n");
}

// ---- branch creation through the policy gate ---------------------------------

#[test]
fn branch_creation_needs_the_policy_and_an_old_policy_gets_the_fix() {
    let (w, _b) = diverged(false);
    let a = &w.a;
    let policy = a.read(".warden/policy.yaml");
    let allow = "  SyncAudited:\n    collector: [create_branch]\n";
    // One rule among the generated default policy.
    assert!(
        policy.contains(allow),
        "the default policy allows it:\n{policy}"
    );
    // A policy written before the sync guardian created branches.
    a.write(
        ".warden/policy.yaml",
        &policy.replace(allow, "  SyncAudited: {}\n"),
    );
    let before = a.ledger_len();
    let refused = transcript(a, &[&["sync", "reconcile"]]);
    git_settings(a).bind(|| insta::assert_snapshot!("reconcile_refused_by_an_old_policy", refused));
    assert!(a.git(&["branch", "--list", "sync/*"]).trim().is_empty());
    assert_eq!(a.ledger_len(), before, "a refusal records nothing");
    // The fix from the hint works.
    a.write(".warden/policy.yaml", &policy);
    let v = json_of(a, &["sync", "reconcile"], 0);
    let branch = v["sync_branch"].as_str().expect("branch");
    let created = &v["created_refs"];
    assert_eq!(created.as_array().map(Vec::len), Some(1));
    assert_eq!(created[0]["name"], format!("refs/heads/{branch}"));
    assert_eq!(created[0]["commit"], v["sync_commit"]);
    let entry = a.json(&["ledger", "show", v["run"].as_str().expect("run")]);
    assert_eq!(entry["details"]["created_refs"], *created);
}

// ---- reconcile --branch / --all ----------------------------------------------

#[test]
fn reconcile_all_builds_one_sync_branch_per_branch_that_needs_it() {
    let w = World::new();
    let a = &w.a;
    let _b = branches_that_need_reconciling(&w);
    let before = user_state(a);
    let v = json_of(a, &["sync", "reconcile", "--all"], 0);
    assert_eq!(user_state(a), before, "reconcile changed the user's state");
    assert_eq!(v["schema"], "warden.sync-reconcile-batch/v1");
    let runs = v["runs"].as_array().expect("runs");
    let by: std::collections::BTreeMap<String, &Value> = runs
        .iter()
        .map(|r| (r["branch"].as_str().expect("b").to_string(), r))
        .collect();
    each_branch_got_its_own_sync_branch(a, &v, &by);
    the_skipped_branches_say_why(&v);
    // --branch picks one, even when it is not checked out; unknown names are refused.
    let one = json_of(
        a,
        &["sync", "reconcile", "--no-fetch", "--branch", "feature"],
        0,
    );
    assert_eq!(one["runs"].as_array().map(Vec::len), Some(1));
    assert_eq!(one["runs"][0]["branch"], "feature");
    let mut t = transcript(
        a,
        &[
            &["sync", "reconcile", "--branch", "nope"],
            &["sync", "reconcile", "--branch", "lonely"],
        ],
    );
    assert_eq!(user_state(a), before);
    t.push_str(&adopt_moves_only_the_ref_of_a_branch_checked_out_nowhere(
        a, &one,
    ));
    // Checked out in another worktree: refused, pointing there.
    let main_run = by["main"]["run"].as_str().expect("run").to_string();
    a.git(&["switch", "--quiet", "--detach"]);
    let wt = a.root.parent().expect("parent").join("a-main-wt");
    a.git(&[
        "worktree",
        "add",
        "--quiet",
        &wt.display().to_string(),
        "main",
    ]);
    t.push_str(&transcript(a, &[&["sync", "adopt", &main_run, "--yes"]]));
    git_settings(a).bind(|| insta::assert_snapshot!("reconcile_branch_and_adopt_ref_only", t));
}

/// On `a`: main, feature and stale pushed, lonely with no upstream; on a
/// second clone, returned: new commits on main and feature, pushed; a local
/// commit on main.
fn branches_that_need_reconciling(w: &World) -> Repo {
    let a = &w.a;
    a.ok(&["init"]);
    commit_all(a, "warden init");
    a.git(&["push", "--quiet"]);
    for name in ["feature", "stale"] {
        a.git(&["branch", name]);
        a.git(&["push", "--quiet", "-u", "origin", name]);
    }
    a.git(&["branch", "lonely"]);
    let b = w.clone("b");
    b.git(&["switch", "--quiet", "feature"]);
    b.write("feature.txt", "from b\n");
    commit_all(&b, "b: feature work");
    b.git(&["switch", "--quiet", "main"]);
    b.write("main.txt", "from b\n");
    commit_all(&b, "b: main work");
    b.git(&["push", "--quiet", "origin", "main", "feature"]);
    a.write("local.txt", "a's\n");
    commit_all(a, "a: main work");
    b
}

/// Feature and main each have a sync branch of their own run, merging both
/// sides, ledgered with the branch.
fn each_branch_got_its_own_sync_branch(
    a: &Repo,
    v: &Value,
    by: &std::collections::BTreeMap<String, &Value>,
) {
    assert_eq!(
        by.keys().cloned().collect::<Vec<_>>(),
        vec!["feature", "main"],
        "{v:#}"
    );
    assert_ne!(
        by["feature"]["run"], by["main"]["run"],
        "one run per branch"
    );
    for (branch, file) in [("feature", "feature.txt"), ("main", "main.txt")] {
        let r = by[branch];
        assert_eq!(r["outcome"], "sync_branch");
        let sync = r["sync_branch"].as_str().expect("sync");
        assert!(sync.ends_with(r["run"].as_str().expect("run")));
        a.git(&["merge-base", "--is-ancestor", branch, sync]);
        a.git(&[
            "merge-base",
            "--is-ancestor",
            &format!("origin/{branch}"),
            sync,
        ]);
        assert_eq!(a.git(&["show", &format!("{sync}:{file}")]), "from b\n");
        let entry = a.json(&["ledger", "show", r["run"].as_str().expect("run")]);
        assert_eq!(entry["details"]["branch"], branch);
    }
    assert_eq!(by["main"]["from_local_count"], 1);
    assert_eq!(by["feature"]["snapshot"], Value::Null);
}

/// Lonely has no upstream and stale is up to date.
fn the_skipped_branches_say_why(v: &Value) {
    let skipped: Vec<(String, String)> = v["skipped"]
        .as_array()
        .expect("skipped")
        .iter()
        .map(|s| {
            (
                s["branch"].as_str().expect("b").to_string(),
                s["reason"].as_str().expect("r").to_string(),
            )
        })
        .collect();
    assert!(
        skipped.contains(&("lonely".into(), "no upstream".into())),
        "{skipped:?}"
    );
    assert!(
        skipped
            .iter()
            .any(|(b, r)| b == "stale" && r.starts_with("up to date")),
        "{skipped:?}"
    );
}

/// A branch that is checked out nowhere is adopted by moving its ref only:
/// the working tree, index and the checked-out branch stay as they are.
/// Returns the adopt's transcript.
fn adopt_moves_only_the_ref_of_a_branch_checked_out_nowhere(a: &Repo, one: &Value) -> String {
    let feature_run = one["runs"][0]["run"].as_str().expect("run").to_string();
    let feature_sync = one["runs"][0]["sync_branch"]
        .as_str()
        .expect("sync")
        .to_string();
    let head = a.git(&["rev-parse", "HEAD"]);
    let status = a.git(&["status", "--porcelain=v1", "-uall"]);
    let t = transcript(a, &[&["sync", "adopt", &feature_run, "--yes"]]);
    assert_eq!(
        a.git(&["rev-parse", "feature"]),
        a.git(&["rev-parse", &feature_sync])
    );
    assert_eq!(a.git(&["rev-parse", "HEAD"]), head);
    assert_eq!(a.git(&["status", "--porcelain=v1", "-uall"]), status);
    let entry = a.json(&["ledger", "show", &feature_run]);
    assert_eq!(entry["details"]["branch"], "feature");
    t
}

// ---- generators run sandboxed ----------------------------------------------

#[test]
fn a_generator_that_writes_outside_its_worktree_is_refused() {
    let w = World::new();
    let a = &w.a;
    a.ok(&["init"]);
    let escape = a.root.join("escaped.txt");
    a.write(
        ".warden/sync.yaml",
        &format!(
            "schema: warden.sync-config/v1\ngenerated:\n  - paths: [\"combined.txt\"]\n    command: [\"sh\", \"-c\", \"set -e; echo x > '{}'; cat parts/*.txt > combined.txt\"]\n",
            escape.display()
        ),
    );
    a.write("parts/0.txt", "zero\n");
    a.write("combined.txt", "zero\n");
    commit_all(a, "parts");
    a.git(&["push", "--quiet"]);
    let b = w.clone("b");
    b.write("parts/2.txt", "two\n");
    b.write("combined.txt", "zero\ntwo\n");
    commit_all(&b, "b part");
    b.git(&["push", "--quiet"]);
    a.write("parts/1.txt", "one\n");
    a.write("combined.txt", "zero\none\n");
    commit_all(a, "a part");
    let v = json_of(a, &["sync", "reconcile"], 1);
    assert!(
        !escape.exists(),
        "the sandbox let the generator write the repository"
    );
    assert_eq!(v["outcome"], "quarantined", "{v:#}");
    assert_eq!(v["conflicts"][0]["path"], "combined.txt");
    // The reason carries the sandboxed generator's own error, which depends
    // on the kernel's sandbox layers.
    assert!(
        v["conflicts"][0]["reason"]
            .as_str()
            .expect("reason")
            .contains("failed"),
        "{v:#}"
    );
    // Without the sandbox helper the policy refuses to run it at all.
    let out = a
        .cmd(&["sync", "reconcile", "--format", "json"])
        .env("WARDEN_SANDBOX", "off")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let reason = v["conflicts"][0]["reason"].as_str().expect("reason");
    common::snap::plugin_settings(a)
        .bind(|| insta::assert_snapshot!("reconcile_generator_not_run_unsandboxed", reason));
    assert!(!escape.exists());
}

// ---- every sync/fleet JSON output has a schema ------------------------------

#[test]
fn every_sync_and_fleet_json_output_validates_against_its_schema() {
    let check = |r: &Repo, name: &str, v: &Value| {
        let schema = r.json(&["schema", name]);
        let val = jsonschema::draft7::new(&schema).expect("schema compiles");
        let errs: Vec<String> = val.iter_errors(v).map(|e| e.to_string()).collect();
        assert!(errs.is_empty(), "{name}: {errs:?}\n{v:#}");
    };
    let w = World::new();
    let dir = w.home.path().join("fresh");
    std::fs::create_dir(&dir).expect("mkdir");
    let out = isolated(common::BIN, w.home.path())
        .args(["sync", "init", "--format", "json"])
        .current_dir(&dir)
        .output()
        .expect("run");
    assert!(out.status.success());
    let init: Value = serde_json::from_slice(&out.stdout).expect("json");
    let a = &w.a;
    check(a, "sync-init", &init);
    assert_eq!(init["schema"], "warden.sync-init/v1");
    let (w, _b) = diverged(false);
    let a = &w.a;
    check(a, "sync-audit", &json_of(a, &["sync", "audit"], 1));
    let rec = json_of(a, &["sync", "reconcile", "--dry-run"], 0);
    check(a, "sync-reconcile", &rec);
    check(
        a,
        "sync-reconcile-batch",
        &json_of(a, &["sync", "reconcile", "--all", "--dry-run"], 0),
    );
    let rec = json_of(a, &["sync", "reconcile"], 0);
    let run = rec["run"].as_str().expect("run");
    check(
        a,
        "sync-adopt",
        &json_of(a, &["sync", "adopt", run, "--dry-run"], 0),
    );
    check(
        a,
        "fleet-audit",
        &json_of(
            a,
            &[
                "fleet",
                "audit",
                "--no-fetch",
                w.home.path().to_str().expect("utf8"),
            ],
            1,
        ),
    );
}
