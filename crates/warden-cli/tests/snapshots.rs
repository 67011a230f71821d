//! Snapshots of whole CLI outputs: stdout, stderr and the exit code of the
//! main commands, human and json, where the whole text matters (not just a
//! `contains`). Run ids, times, digests, the writer id and temp paths are
//! filtered. Update with `INSTA_UPDATE=always cargo test -p warden-cli --test
//! snapshots` and review the diff of `tests/snapshots/`.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::Repo;

/// `$ warden ARGS`, the exit code, stdout and stderr, for a snapshot.
fn transcript(r: &Repo, runs: &[&[&str]]) -> String {
    let mut s = String::new();
    for args in runs {
        let out = r.run(args);
        s.push_str(&format!("$ warden {}\n", args.join(" ")));
        s.push_str(&format!("exit: {}\n", out.status.code().unwrap_or(-1)));
        for (name, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            if !bytes.is_empty() {
                s.push_str(&format!("--- {name}\n{}", String::from_utf8_lossy(bytes)));
                if !bytes.ends_with(b"\n") {
                    s.push('\n');
                }
            }
        }
        s.push('\n');
    }
    s
}

fn escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$#&-~".contains(c);
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect()
}

/// Filters for what differs between runs and machines.
fn settings(r: &Repo) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_prepend_module_to_snapshot(false);
    let root = r.root.canonicalize().expect("canonical root");
    let home = r.home.path().canonicalize().expect("canonical home");
    for (path, name) in [(&root, "[ROOT]"), (&home, "[HOME]")] {
        s.add_filter(&escape(&path.display().to_string()), name);
    }
    if let Ok(w) = std::fs::read_to_string(r.root.join(".warden/state/writer")) {
        s.add_filter(&escape(w.trim()), "[WRITER]");
    }
    s.add_filter(r"\b[0-9A-HJKMNP-TV-Z]{26}\b", "[RUN]");
    s.add_filter(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)",
        "[TIME]",
    );
    // Tables show a run id's shortest unique prefix (at least 8 characters,
    // more when ids share a prefix) and local times; their column widths
    // follow, so runs of spaces inside a line are folded (indentation stays).
    s.add_filter(r"\b0[0-9A-HJKMNP-TV-Z]{7,25}\b", "[RUN]");
    s.add_filter(r"\b\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\b", "[TIME]");
    s.add_filter(r"(\S)  +", "$1  ");
    s.add_filter(r"\b\d{4}-\d\d-\d\d\.1\b", "[DATE].1");
    s.add_filter(r"\b[0-9a-f]{12,64}\b", "[SHA]");
    s.add_filter(r"warden \d+\.\d+\.\d+", "warden [VERSION]");
    // Sizes that follow the length of the times and digests above.
    s.add_filter(r#""(len|bytes|offset)": \d+"#, r#""$1": [N]"#);
    s.add_filter(r"\d+ bytes", "[N] bytes");
    s
}

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
    let run = r.json(&["runs"])["runs"][0]["run"]
        .as_str()
        .expect("run")
        .to_string();
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

/// [`settings`] plus what a plugin run adds: durations, and the sandbox
/// level and isolation layers of this kernel.
fn plugin_settings(r: &Repo) -> insta::Settings {
    let mut s = settings(r);
    s.add_filter(r"\b\d+ ms\b", "[N] ms");
    // Commits carry the date of the policy's version: short ids vary by day.
    s.add_filter(r" at [0-9a-f]{7,11}\)", " at [COMMIT])");
    s.add_filter(r"sandbox=[a-z_]+", "sandbox=[LEVEL]");
    s.add_filter(r"(?m)^sandbox: [a-z_]+$", "sandbox: [LEVEL]");
    s.add_filter(r"(?m)^sandbox +.*$", "sandbox  [KERNEL]");
    s.add_filter(
        r"(?m)^  (filesystem|processes|signals|metadata|privileges) .*\n",
        "",
    );
    s
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
    r.ok(&[
        "plugin",
        "new",
        "hello",
        "--event",
        "FileDetected",
        "--lang",
        "sh",
        "--yes",
    ]);
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
    let run = r.json(&["runs"])["runs"][0]["run"]
        .as_str()
        .expect("run")
        .to_string();
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
    let chain = std::fs::read_dir(r.root.join(".ledger/runs"))
        .expect("chains")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .expect("a chain");
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
    let remote = r.home.path().join("remote.git");
    warden_testkit::git::git(
        r.home.path(),
        r.home.path(),
        &[
            "init",
            "--quiet",
            "--bare",
            "--initial-branch=main",
            "remote.git",
        ],
    );
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
    let mut s = settings(&r);
    s.add_filter(r"created: \d{4}-\d\d-\d\d", "created: [DATE]");
    s.bind(|| insta::assert_snapshot!("ids_build_mint_check", out));
}
