//! Snapshots of whole CLI outputs: stdout, stderr and the exit code of the
//! main commands, human and json, where the whole text matters (not just a
//! `contains`). Run ids, times, digests, the writer id and temp paths are
//! filtered. Update with `INSTA_UPDATE=always cargo test -p warden-cli --test
//! snapshots` and review the diff of `tests/snapshots/`.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::Repo;
use common::snap::{git_settings_at, plugin_settings, settings, transcript, transcript_at};
use std::path::Path;

fn proposal(r: &Repo) -> String {
    let p = r.home.path().join("p.json");
    std::fs::write(
        &p,
        serde_json::to_string_pretty(&warden_testkit::build::manual(vec![
            warden_testkit::build::write_file(
                "docs/new.md",
                "text\n",
                warden_testkit::build::absent(),
            ),
        ]))
        .expect("json"),
    )
    .expect("write");
    p.display().to_string()
}

#[test]
fn apply_undo_and_the_reports_for_a_person() {
    let r = Repo::git_only();
    let init = transcript(&r, &[&["init"]]);
    let p = proposal(&r);
    let flow = transcript(
        &r,
        &[
            &["apply", &p, "--dry-run"],
            &["apply", &p],
            &["apply", &p, "--yes"],
            &["apply", &p, "--yes"],
            &["runs"],
            &["ledger", "log"],
            &["ledger", "verify"],
            &["events"],
        ],
    );
    let run = r.newest_run();
    let undo = transcript(
        &r,
        &[
            &["undo", &run, "--dry-run"],
            &["undo", &run, "--yes"],
            &["runs"],
        ],
    );
    settings(&r).bind(|| {
        insta::assert_snapshot!("human_init", init);
        insta::assert_snapshot!("human_apply_flow", flow);
        insta::assert_snapshot!("human_undo", undo);
    });
}

#[test]
fn json_reports_and_errors() {
    let r = Repo::git_only();
    let init = transcript(&r, &[&["init", "--format", "json"]]);
    let p = proposal(&r);
    let flow = transcript(
        &r,
        &[
            &["apply", &p, "--dry-run", "--format", "json"],
            &["apply", &p, "--yes", "--format", "json"],
            &["runs", "--format", "json"],
            &["ledger", "verify", "--format", "json"],
        ],
    );
    let errors = transcript(
        &r,
        &[
            &["apply", "no-such-file.json", "--yes", "--format", "json"],
            &["apply", &p, "--format", "json"],
            &["undo", "nosuchrun", "--yes", "--format", "json"],
            &["runs", "--format", "sarif"],
            &["frobnicate", "--format", "json"],
            &["schema", "sync.audit"],
        ],
    );
    settings(&r).bind(|| {
        insta::assert_snapshot!("json_init", init);
        insta::assert_snapshot!("json_apply_flow", flow);
        insta::assert_snapshot!("json_errors", errors);
    });
}

#[test]
fn the_schema_catalogue() {
    let r = Repo::git_only();
    let list = transcript(&r, &[&["schema"]]);
    settings(&r).bind(|| insta::assert_snapshot!("schema_list", list));
}

#[test]
fn a_repository_that_does_not_exist_is_a_usage_error() {
    let r = Repo::git_only();
    let out = transcript(
        &r,
        &[
            &["status", "--repo", "/nonexistent/warden-test"],
            &[
                "runs",
                "--repo",
                "/nonexistent/warden-test",
                "--format",
                "json",
            ],
        ],
    );
    settings(&r).bind(|| insta::assert_snapshot!("missing_repo", out));
}

fn write_items(r: &Repo, items: serde_json::Value) -> String {
    let p = r.home.path().join("items.json");
    std::fs::write(&p, serde_json::to_string_pretty(&items).expect("json")).expect("write");
    p.display().to_string()
}

#[test]
fn a_plugin_from_scaffold_to_replay_for_a_person() {
    let r = Repo::new();
    // The scaffold's plan (every generated file's diff) is not the point here.
    r.ok(&common::plugin_new("hello", "sh"));
    let scaffold = transcript(
        &r,
        &[
            &["plugin", "validate", "hello"],
            &["plugin", "validate", "--all", "--format", "json"],
            &["ids", "check"],
            &["ids", "check", "--format", "json"],
            &["plugin", "enable", "hello", "--yes"],
            &["plugin", "enable", "hello", "--yes"],
        ],
    );
    r.write("inbox/scratch.tmp", "x\n");
    let items = write_items(
        &r,
        serde_json::json!([
            {"path": "inbox/scratch.tmp", "sha256": common::sha("x\n"), "size": 2},
        ]),
    );
    let run = transcript(
        &r,
        &[
            &["run", "FileDetected", "--dry-run"],
            &["run", "FileDetected", "--input", &items, "--dry-run"],
            &[
                "run",
                "FileDetected",
                "--input",
                &items,
                "--dry-run",
                "--format",
                "json",
            ],
            &["run", "FileDetected", "--input", &items],
            &["run", "FileDetected", "--input", &items, "--yes"],
        ],
    );
    let runs = r.json(&["runs"]);
    let dispatch = runs["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .find(|x| x["command"] == "run")
        .and_then(|x| x["run"].as_str())
        .expect("the dispatch run")
        .to_string();
    let after = transcript(
        &r,
        &[
            &["replay", &dispatch],
            &["ledger", "show", &dispatch],
            &["runs"],
            &["history"],
            &["status"],
            &["plugin", "disable", "hello", "--yes"],
            &["plugin", "disable", "hello", "--yes"],
        ],
    );
    plugin_settings(&r).bind(|| {
        insta::assert_snapshot!("plugin_scaffold", scaffold);
        insta::assert_snapshot!("plugin_run", run);
        insta::assert_snapshot!("plugin_after", after);
    });
}

#[test]
fn ledger_show_verify_history_and_status_for_a_person() {
    let r = Repo::new();
    let p = proposal(&r);
    r.ok(&["apply", &p, "--yes"]);
    let run = r.newest_run();
    let out = transcript(
        &r,
        &[
            &["ledger", "show", &run],
            &["ledger", "show", &run, "--format", "json"],
            &["ledger", "show", "nosuchrun"],
            &["ledger", "verify"],
            &["undo", &run, "--yes"],
            &["history"],
            &["status"],
        ],
    );
    // A ledger changed outside warden: verify names the entry (stderr, exit 1).
    let chain = r.chain();
    let text = std::fs::read_to_string(&chain).expect("chain");
    std::fs::write(&chain, text.replacen("\"apply\"", "\"apply!\"", 1)).expect("tamper");
    let broken = transcript(&r, &[&["ledger", "verify"]]);
    plugin_settings(&r).bind(|| {
        insta::assert_snapshot!("ledger_show_verify", out);
        insta::assert_snapshot!("ledger_verify_broken", broken);
    });
}

#[test]
fn sync_audit_of_a_clone_and_its_bare_remote() {
    let r = Repo::git_only();
    let remote = common::bare_remote(r.home.path());
    r.write("README.md", "hello\n");
    r.ok(&["init"]);
    r.git(&["add", "-A"]);
    r.git(&["commit", "--quiet", "-m", "init"]);
    r.git(&["remote", "add", "origin", &remote.display().to_string()]);
    r.git(&["push", "--quiet", "-u", "origin", "main"]);
    let in_sync = transcript(&r, &[&["sync", "audit"]]);
    r.write("notes.txt", "draft\n");
    r.write("README.md", "hello again\n");
    let differs = transcript(
        &r,
        &[
            &["sync", "audit", "--no-fetch"],
            &["sync", "audit", "--no-fetch", "--format", "json"],
        ],
    );
    plugin_settings(&r).bind(|| {
        insta::assert_snapshot!("sync_audit_in_sync", in_sync);
        insta::assert_snapshot!("sync_audit_differs", differs);
    });
}

#[test]
fn check_and_where_on_a_fresh_repository() {
    let r = Repo::new();
    let out = transcript(
        &r,
        &[
            &["check", "--no-report"],
            &["check", "--no-report", "--format", "json"],
            &["where", "docs/none.md"],
            &["where", "--outcome", "nonsense"],
        ],
    );
    settings(&r).bind(|| insta::assert_snapshot!("check_and_where", out));
}

#[test]
fn ids_build_mint_and_check_for_a_person() {
    let r = Repo::new();
    r.write("docs/guide.md", "guide\n");
    let out = transcript(
        &r,
        &[
            &["ids", "build", "--yes"],
            &["ids", "mint", "document", "docs/guide.md", "--dry-run"],
            &["ids", "mint", "document", "docs/guide.md", "--yes"],
            &["ids", "mint", "document", "docs/guide.md", "--yes"],
            &["ids", "check"],
            &["ids", "build", "--yes"],
            &["ids", "check"],
        ],
    );
    // A card that does not parse: build refuses, naming it (with --format
    // json as the one `ids check` report).
    r.write("ids/cards/01ARZ3NDEKTSV4RRFFQ69G5FAV.yaml", "not: a card\n");
    let refused = transcript(
        &r,
        &[
            &["ids", "build", "--yes"],
            &["ids", "build", "--yes", "--format", "json"],
        ],
    );
    let mut s = settings(&r);
    s.add_filter(r"created: \d{4}-\d\d-\d\d", "created: [DATE]");
    s.bind(|| {
        insta::assert_snapshot!("ids_build_mint_check", out);
        insta::assert_snapshot!("ids_build_refused", refused);
    });
}

/// A transcript whose first command prints a plan before its report: the
/// plan (every generated file's diff, covered by the generator's own tests)
/// is replaced by one line; the report from `report_starts` on stays whole.
fn without_plan(t: String, report_starts: &str) -> String {
    let (head, rest) = t.split_once("--- stdout\n").expect("stdout");
    let at = rest.find(report_starts).expect("the report after the plan");
    format!("{head}--- stdout\n[the plan]\n{}", &rest[at..])
}

#[test]
fn plugin_new_gen_test_enable_and_disable_print_their_reports() {
    let r = Repo::new();
    let new_json = transcript(
        &r,
        &[&[
            "plugin",
            "new",
            "hello",
            "--event",
            "FileDetected",
            "--lang",
            "sh",
            "--yes",
            "--format",
            "json",
        ]],
    );
    let new_human = without_plan(
        transcript(&r, &[&common::plugin_new("second", "sh")]),
        "scaffolded ",
    );
    common::edit_spec(&r, "hello", |v| {
        v["description"] = serde_json::json!("Says hello, differently.");
    });
    // Out of date: enable refuses (its findings are the one JSON object),
    // then gen brings it up to date.
    let gen_json = transcript(
        &r,
        &[
            &["plugin", "enable", "hello", "--yes", "--format", "json"],
            &["plugin", "gen", "hello", "--yes", "--format", "json"],
            &["plugin", "gen", "hello", "--yes"],
            &["plugin", "gen", "--all", "--yes", "--format", "json"],
        ],
    );
    common::edit_spec(&r, "hello", |v| {
        v["description"] = serde_json::json!("Says hello once more.");
    });
    let gen_human = without_plan(
        transcript(&r, &[&["plugin", "gen", "hello", "--yes"]]),
        "regenerated ",
    );
    let rest = transcript(
        &r,
        &[
            &["plugin", "test", "hello"],
            &["plugin", "test", "hello", "--format", "json"],
            &["plugin", "enable", "hello", "--yes", "--format", "json"],
            &["plugin", "enable", "hello", "--yes"],
            &["plugin", "enable", "hello", "--yes", "--format", "json"],
            &["plugin", "disable", "hello", "--yes"],
            &["plugin", "disable", "hello", "--yes", "--format", "json"],
        ],
    );
    plugin_settings(&r).bind(|| {
        insta::assert_snapshot!("plugin_new", format!("{new_json}{new_human}"));
        insta::assert_snapshot!("plugin_gen", format!("{gen_json}{gen_human}"));
        insta::assert_snapshot!("plugin_test_enable_disable", rest);
    });
}

#[test]
fn ledger_log_reindex_and_accept_print_their_reports() {
    let r = Repo::new();
    let p = proposal(&r);
    r.ok(&["apply", &p, "--yes"]);
    let second = r.proposal(serde_json::json!([
        {"kind": "write_file", "path": "b.txt", "content": "b\n", "expect": "absent"}
    ]));
    r.ok(&["apply", &second, "--yes"]);
    let fine = transcript(
        &r,
        &[
            &["ledger", "log"],
            &["ledger", "log", "--format", "json"],
            &["ledger", "reindex"],
            &["ledger", "reindex", "--format", "json"],
        ],
    );
    // Cut the chain's tip: writers refuse until the loss is accepted.
    let chain = r.chain();
    let text = std::fs::read_to_string(&chain).expect("chain");
    let first = text.lines().next().expect("an entry");
    std::fs::write(&chain, format!("{first}\n")).expect("cut");
    let cut = transcript(
        &r,
        &[
            &[
                "ledger",
                "accept",
                "--reason",
                "restored from a backup",
                "--yes",
                "--format",
                "json",
            ],
            &["ledger", "log"],
            &["ledger", "accept", "--reason", "again", "--yes"],
        ],
    );
    settings(&r).bind(|| {
        insta::assert_snapshot!("ledger_log_reindex", fine);
        insta::assert_snapshot!("ledger_accept", cut);
    });
}

/// A bare remote whose `main` holds a seed repository's first commit, and
/// its URL.
fn seeded_remote(s: &warden_testkit::Sandbox) -> (std::path::PathBuf, String) {
    let remote = s.bare_remote("remote.git");
    let url = remote.display().to_string();
    let seed = s.repo("seed", true);
    s.git(&seed, &["push", "--quiet", &url, "main"]);
    (remote, url)
}

/// Another clone (`b`) moves the remote on by one commit adding `file`.
fn push_from_another_clone(s: &warden_testkit::Sandbox, remote: &Path, file: &str, content: &str) {
    let b = s.clone(remote, "b");
    std::fs::write(b.join(file), content).expect("write");
    s.commit_all(&b, "b: a file");
    s.git(&b, &["push", "--quiet"]);
}

/// The run ids of the ledger's runs of `command`, oldest first.
fn runs_of(dir: &Path, home: &Path, command: &str) -> Vec<String> {
    let out = common::isolated(common::BIN, home)
        .args(["ledger", "log", "--format", "json"])
        .current_dir(dir)
        .output()
        .expect("run warden");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    v["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["command"] == command)
        .map(|e| e["run"].as_str().expect("run").to_string())
        .collect()
}

/// `sync init` in an empty folder, `sync reconcile` of a clone whose remote
/// moved on, `sync adopt`, and `warden undo` of both runs. Regression: undo
/// of a reconcile or adopt run said "it was rolled back"; they are recorded
/// runs, whose git refs are undone with git.
#[test]
fn sync_init_reconcile_adopt_and_the_undo_of_a_recorded_sync_run() {
    let s = warden_testkit::Sandbox::new();
    let home = s.home();
    let (remote, url) = seeded_remote(&s);
    let a = home.join("a");
    std::fs::create_dir(&a).expect("mkdir");
    let init = transcript_at(
        &a,
        &home,
        &[
            &["sync", "init", "--remote", &url],
            &["sync", "init", "--format", "json"],
        ],
    );
    s.git(&a, &["pull", "--quiet"]);
    s.commit_all(&a, "warden init");
    s.git(&a, &["push", "--quiet"]);
    // Another clone moves the remote on; `a` commits and keeps working.
    push_from_another_clone(&s, &remote, "remote-only.txt", "from b\n");
    std::fs::write(a.join("local.txt"), "from a\n").expect("write");
    s.commit_all(&a, "a: a file");
    std::fs::write(a.join("README.md"), "hello\nuncommitted line\n").expect("write");
    let reconcile = transcript_at(
        &a,
        &home,
        &[&["sync", "reconcile", "--dry-run"], &["sync", "reconcile"]],
    );
    let rec = runs_of(&a, &home, "sync reconcile");
    let rec = rec.last().expect("the reconcile run");
    let adopt = transcript_at(
        &a,
        &home,
        &[
            &["sync", "adopt", rec, "--dry-run"],
            &["sync", "adopt", rec, "--dry-run", "--format", "json"],
            &["sync", "adopt", rec, "--yes"],
            &["sync", "reconcile", "--no-fetch", "--format", "json"],
        ],
    );
    let adopted = runs_of(&a, &home, "sync adopt");
    let adopted = adopted.last().expect("the adopt run");
    let undo = transcript_at(
        &a,
        &home,
        &[&["undo", rec, "--yes"], &["undo", adopted, "--yes"]],
    );
    git_settings_at(&a, &home).bind(|| {
        insta::assert_snapshot!("sync_init", init);
        insta::assert_snapshot!("sync_reconcile", reconcile);
        insta::assert_snapshot!("sync_adopt", adopt);
        insta::assert_snapshot!("sync_undo_of_recorded_runs", undo);
    });
}

#[test]
fn bridge_unit_install_prints_its_report() {
    let r = Repo::git_only();
    let out = transcript(
        &r,
        &[
            &["bridge", "unit", "--install"],
            &["bridge", "unit", "--install", "--format", "json"],
        ],
    );
    let mut s = settings(&r);
    s.add_filter(&common::snap::escape(common::BIN), "[BIN]");
    s.bind(|| insta::assert_snapshot!("bridge_unit_install", out));
}

/// `sync reconcile --adopt --format json` is one reconcile object that
/// carries the adopt run it recorded (`adopt.outcome: adopted`, with the
/// adopt report), or why it adopted nothing (`not_adopted`). Regression: the
/// JSON held only the reconcile; the adopt run was in the human text alone.
#[test]
fn sync_reconcile_adopt_json_carries_the_adopt_run() {
    let s = warden_testkit::Sandbox::new();
    let home = s.home();
    let (remote, _) = seeded_remote(&s);
    let a = s.clone(&remote, "a");
    let init = transcript_at(&a, &home, &[&["init"]]);
    assert!(init.contains("exit: 0"), "{init}");
    s.commit_all(&a, "warden init");
    s.git(&a, &["push", "--quiet"]);
    push_from_another_clone(&s, &remote, "remote.txt", "r\n");
    std::fs::write(a.join("local.txt"), "l\n").expect("write");
    s.commit_all(&a, "a: a file");
    let off = transcript_at(
        &a,
        &home,
        &[&["sync", "reconcile", "--adopt", "--format", "json"]],
    );
    std::fs::write(
        a.join(".warden/sync.yaml"),
        "schema: warden.sync-config/v1\nauto_adopt: true\n",
    )
    .expect("write");
    s.commit_all(&a, "allow auto adopt");
    let on = transcript_at(
        &a,
        &home,
        &[&["sync", "reconcile", "--adopt", "--format", "json"]],
    );
    // The adopt the JSON names is the one the ledger recorded.
    let adopted = runs_of(&a, &home, "sync adopt");
    assert_eq!(adopted.len(), 1, "{on}");
    let v: serde_json::Value = serde_json::from_str(
        &on[on.find("--- stdout\n").expect("stdout") + 11..on.find("\n}\n").expect("end") + 2],
    )
    .expect("one json object");
    assert_eq!(v["adopt"]["report"]["run"], adopted[0].as_str());
    assert_eq!(
        s.git(&a, &["rev-parse", "main"]).trim(),
        v["sync_commit"].as_str().expect("sync commit")
    );
    git_settings_at(&a, &home).bind(|| {
        insta::assert_snapshot!("sync_reconcile_adopt_json_off", off);
        insta::assert_snapshot!("sync_reconcile_adopt_json", on);
    });
}

/// `plugin gen` over a hand-edited AUTO fence refuses through the error
/// contract: exit 1, nothing written, and under `--format json` one
/// `warden.error/v1` (file, field, hint) on stdout with the human text on
/// stderr. Regression: the JSON run printed nothing on stdout.
#[test]
fn plugin_gen_refusing_a_hand_edited_auto_fence_prints_the_error_contract() {
    let r = Repo::new();
    r.ok(&[
        "plugin",
        "new",
        "hello",
        "--event",
        "FileDetected",
        "--lang",
        "python",
        "--yes",
    ]);
    let rel = "plugins/hello/src/handler.py";
    let edited = r
        .read(rel)
        .replace("PROTOCOL_MAJOR = 1", "PROTOCOL_MAJOR = 1  # tweak");
    r.write(rel, &edited);
    let before = r.tree();
    let out = transcript(
        &r,
        &[
            &["plugin", "gen", "hello", "--yes"],
            &["plugin", "gen", "hello", "--yes", "--format", "json"],
        ],
    );
    assert_eq!(r.tree(), before, "nothing was written");
    plugin_settings(&r).bind(|| insta::assert_snapshot!("plugin_gen_auto_fence_error", out));
}

/// A dry run ends with the one "nothing was written" line for a person and
/// prints only its report under `--format json` (one object, `dry_run:
/// true`). Regression: `contracts new --dry-run --format json` printed a
/// diff and the human line instead of JSON.
#[test]
fn dry_runs_say_nothing_was_written_once_and_json_stays_one_object() {
    let r = Repo::new();
    r.write("svc/x.py", "");
    let p = proposal(&r);
    let before = r.tree();
    let out = transcript(
        &r,
        &[
            &["contracts", "new", "subsystem_readme", "svc/", "--dry-run"],
            &[
                "contracts",
                "new",
                "subsystem_readme",
                "svc/",
                "--dry-run",
                "--format",
                "json",
            ],
            &["fix", "--dry-run"],
            &["apply", &p, "--dry-run"],
        ],
    );
    assert_eq!(r.tree(), before, "a dry run writes nothing");
    settings(&r).bind(|| insta::assert_snapshot!("dry_runs_nothing_was_written", out));
}
