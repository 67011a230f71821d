//! Regressions of the small defects found by the reviews, each named after
//! what broke (ripgrep: `tests/regression.rs`).

mod common;

use common::snap::{settings, transcript};
use common::{Repo, isolated};
use serde_json::Value;

fn commit_all(r: &Repo, msg: &str) {
    r.git(&["add", "-A"]);
    r.git(&["commit", "--quiet", "-m", msg]);
}

/// `plugin new` minted an ID card but left `ids/registry.yaml` stale, so
/// `ids check` failed right after every scaffold.
#[test]
fn plugin_new_leaves_the_id_registry_current_so_ids_check_passes() {
    let r = Repo::new();
    // A registry already exists (a first scaffold creates it).
    r.ok(&[
        "plugin",
        "new",
        "first",
        "--event",
        "FileDetected",
        "--lang",
        "sh",
        "--yes",
    ]);
    r.ok(&["ids", "check"]);
    let before = r.read("ids/registry.yaml");
    r.ok(&[
        "plugin",
        "new",
        "second",
        "--event",
        "FileDetected",
        "--lang",
        "sh",
        "--yes",
    ]);
    r.ok(&["ids", "check"]);
    let after = r.read("ids/registry.yaml");
    assert_ne!(before, after);
    assert!(
        after.contains("artifact: plugins/first") && after.contains("artifact: plugins/second"),
        "{after}"
    );
    // The registry is exactly what `ids build` would write.
    r.ok(&["ids", "build", "--yes"]);
    assert_eq!(r.read("ids/registry.yaml"), after);
}

/// `sync reconcile --dry-run` named a quarantine branch ("the merge is on
/// quarantine/…") that it never created.
#[test]
fn reconcile_dry_run_does_not_claim_a_quarantine_branch_exists() {
    let home = tempfile::tempdir().expect("tempdir");
    let remote = home.path().join("remote.git");
    let git = |dir: &std::path::Path, args: &[&str]| {
        let out = isolated("git", home.path())
            .args(args)
            .current_dir(dir)
            .output()
            .expect("git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(
        home.path(),
        &[
            "init",
            "--quiet",
            "--bare",
            "--initial-branch=main",
            remote.to_str().expect("utf-8"),
        ],
    );
    let a = Repo::clone_of(&remote, &home, "a");
    a.write("f.txt", "base\n");
    commit_all(&a, "base");
    a.git(&["push", "--quiet", "origin", "HEAD:main"]);
    a.ok(&["init"]);
    commit_all(&a, "warden init");
    a.git(&["push", "--quiet", "origin", "HEAD:main"]);
    let b = Repo::clone_of(&remote, &home, "b");
    b.write("f.txt", "theirs\n");
    commit_all(&b, "theirs");
    b.git(&["push", "--quiet"]);
    a.write("f.txt", "ours\n");
    commit_all(&a, "ours");
    // The whole text: "would go to quarantine/…", never "the merge is on".
    let human = transcript(&a, &[&["sync", "reconcile", "--dry-run"]]);
    let mut settings = settings(&a);
    settings.add_filter(r"\b[0-9a-f]{10}\b", "[COMMIT]");
    settings.add_filter(r"sync-\d{8}-", "sync-[DATE]-");
    settings.bind(|| insta::assert_snapshot!("reconcile_dry_run_quarantine", human));
    let v: Value = serde_json::from_slice(
        &a.run(&["sync", "reconcile", "--dry-run", "--format", "json"])
            .stdout,
    )
    .expect("json");
    let name = v["quarantine_branch"]
        .as_str()
        .expect("the name it would get");
    assert!(a.git(&["branch", "--list", name]).trim().is_empty());
    assert_eq!(v["created_refs"], serde_json::json!([]));
}

/// `sync init --remote URL` in an empty folder left an unborn `master`
/// instead of the remote's default branch.
#[test]
fn sync_init_in_an_empty_folder_tracks_the_remotes_default_branch() {
    let home = tempfile::tempdir().expect("tempdir");
    let remote = home.path().join("remote.git");
    let seed = home.path().join("seed");
    let git = |dir: &std::path::Path, args: &[&str]| {
        let out = isolated("git", home.path())
            .args(args)
            .current_dir(dir)
            .output()
            .expect("git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // The remote's default branch is `trunk`; git's own default is not.
    git(
        home.path(),
        &[
            "init",
            "--quiet",
            "--bare",
            "--initial-branch=trunk",
            remote.to_str().expect("utf-8"),
        ],
    );
    std::fs::create_dir(&seed).expect("mkdir");
    git(&seed, &["init", "--quiet", "--initial-branch=trunk"]);
    std::fs::write(seed.join("a.txt"), "a\n").expect("write");
    git(&seed, &["add", "-A"]);
    git(&seed, &["commit", "--quiet", "-m", "a"]);
    git(
        &seed,
        &["push", "--quiet", remote.to_str().expect("utf-8"), "trunk"],
    );
    let fresh = home.path().join("fresh");
    std::fs::create_dir(&fresh).expect("mkdir");
    let out = isolated(common::BIN, home.path())
        .args([
            "sync",
            "init",
            "--remote",
            remote.to_str().expect("utf-8"),
            "--format",
            "json",
        ])
        .current_dir(&fresh)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["git"]["tracking"], "trunk");
    assert_eq!(
        git(&fresh, &["symbolic-ref", "HEAD"]).trim(),
        "refs/heads/trunk"
    );
    assert_eq!(
        git(&fresh, &["config", "branch.trunk.merge"]).trim(),
        "refs/heads/trunk"
    );
    // The first pull brings the remote's history onto that branch.
    git(&fresh, &["pull", "--quiet"]);
    assert_eq!(
        std::fs::read_to_string(fresh.join("a.txt")).expect("a.txt"),
        "a\n"
    );
}

/// `warden status` started a sandbox probe process on every call; the
/// kernel's answer is kept for the boot in the clone's state directory.
#[test]
fn status_does_not_probe_the_sandbox_again_within_a_boot() {
    if !std::path::Path::new("/proc/sys/kernel/random/boot_id").exists() {
        eprintln!("skipped: no boot id on this system, so nothing is cached by design");
        return;
    }
    let r = Repo::new();
    let first = r.run(&["status", "--format", "json"]);
    let cache = r.root.join(".warden/state/isolation-probe.json");
    let cached: Value =
        serde_json::from_slice(&std::fs::read(&cache).expect("the answer is cached"))
            .expect("json");
    // Plant a different answer under the same key: status reports it, so no
    // probe ran.
    let mut planted = cached.clone();
    let now = planted["isolation"]["processes"].clone();
    let other = if now == "enforced" {
        "not_enforced"
    } else {
        "enforced"
    };
    planted["isolation"]["processes"] = Value::from(other);
    std::fs::write(&cache, serde_json::to_vec(&planted).expect("json")).expect("write");
    let second: Value =
        serde_json::from_slice(&r.run(&["status", "--format", "json"]).stdout).expect("json");
    let layer = second["isolation"]
        .as_array()
        .expect("layers")
        .iter()
        .find(|l| l["layer"] == "processes")
        .cloned()
        .expect("processes layer");
    assert_eq!(layer["enforced"], other == "enforced", "{second:#}");
    drop(first);
    // .warden/state is ignored: the cache is never something git tracks.
    assert!(
        r.git(&["status", "--porcelain", "--", ".warden/state"])
            .trim()
            .is_empty()
    );
}

/// Plugin scaffolding was ledgered as a person (`person:warden-plugin`). It
/// is warden's tool acting at a person's request: `tool:warden-plugin`, and
/// the policy decides what the tool may write.
#[test]
fn plugin_scaffolding_is_recorded_as_tool_warden_plugin_not_a_person() {
    let r = Repo::new();
    let new = r.json(&[
        "plugin",
        "new",
        "t",
        "--event",
        "FileDetected",
        "--lang",
        "sh",
        "--yes",
    ]);
    let entry = r.json(&["ledger", "show", new["run"].as_str().expect("run")]);
    assert_eq!(entry["actor"]["kind"], "tool", "{entry}");
    assert_eq!(entry["actor"]["id"], "warden-plugin");
    // A policy written before the tool kind existed refuses it, naming the line to add.
    let policy = r.read(".warden/policy.yaml");
    assert!(policy.contains("    tool: [write_file]\n"), "{policy}");
    r.write(
        ".warden/policy.yaml",
        &policy.replace("    tool: [write_file]\n", ""),
    );
    r.ok(&["init"]);
    let err = r.fails(
        &[
            "plugin",
            "new",
            "u",
            "--event",
            "FileDetected",
            "--lang",
            "sh",
            "--yes",
        ],
        1,
    );
    assert!(
        err.contains("\"tool\"") && err.contains("events.Manual.tool"),
        "{err}"
    );
}

/// `warden status --repo /nonexistent` exited 3 (internal) without a hint;
/// a path the user named that does not exist is a usage error.
#[test]
fn status_of_a_repo_path_that_does_not_exist_is_a_usage_error_with_a_hint() {
    let r = Repo::git_only();
    let missing = r.home.path().join("no-such-repo");
    let missing = missing.to_str().expect("utf-8");
    let out = transcript(&r, &[&["status", "--repo", missing]]);
    settings(&r).bind(|| insta::assert_snapshot!("status_of_a_missing_repo_path", out));
}

/// `warden ledger log` printed every run that was not applied as
/// `rolled_back`, recorded runs included.
#[test]
fn ledger_log_shows_a_recorded_run_as_recorded_not_rolled_back() {
    let r = Repo::new();
    r.ok(&["run", "Manual", "--yes"]);
    let log = transcript(&r, &[&["ledger", "log"]]);
    settings(&r).bind(|| insta::assert_snapshot!("ledger_log_of_a_recorded_run", log));
}

/// `warden apply` read a proposal of any size into memory: `warden apply
/// /dev/zero` ran until it was killed, `yes | warden apply -` the same, and
/// under a memory limit it died "out of memory", exit 3. A file a command
/// reads whole is now read up to a cap (16 MiB for a proposal; big content
/// goes through `content_file`), and one past it is exit 2 naming the file,
/// the cap and the fix. The other commands that read a named file whole
/// have their caps too (crates/warden-cli/src/input.rs).
#[test]
fn apply_reads_no_proposal_past_its_size_cap() {
    use std::io::Write;
    const CAP: usize = 16 << 20;
    let r = Repo::new();
    let proposal = r.proposal(serde_json::json!([
        {"kind": "write_file", "path": "a.txt", "content": "x\n", "expect": "absent"}
    ]));
    let mut bytes = std::fs::read(&proposal).expect("read");
    // Exactly at the cap (JSON allows the blanks): read and planned.
    bytes.resize(CAP, b' ');
    let at_cap = r.home.path().join("at-cap.json");
    std::fs::write(&at_cap, &bytes).expect("write");
    let at_cap = at_cap.to_str().expect("utf-8");
    r.ok(&["apply", at_cap, "--dry-run"]);
    // One byte more: refused unread, exit 2, naming the file, cap and fix.
    bytes.push(b' ');
    let over = r.home.path().join("over.json");
    std::fs::write(&over, &bytes).expect("write");
    let over = over.to_str().expect("utf-8");
    let err = r.fails(&["apply", over, "--dry-run"], 2);
    assert!(
        err.contains(&format!(
            "error: {over}: (file): is larger than 16 MiB (16777216 bytes), the most `warden apply` reads of the proposal"
        )),
        "{err}"
    );
    assert!(
        err.contains(
            "hint: put large file contents in files of their own and name them with `content_file`"
        ),
        "{err}"
    );
    // Stdin says no size: it is read up to the cap and no further.
    let mut child = r
        .cmd(&["apply", "-", "--dry-run"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("warden");
    let mut stdin = child.stdin.take().expect("stdin");
    let feeder = std::thread::spawn(move || {
        let block = vec![b'y'; 1 << 20];
        // warden stops reading at the cap: the pipe breaks, as `yes` sees it.
        for _ in 0..64 {
            if stdin.write_all(&block).is_err() {
                return;
            }
        }
    });
    let out = child.wait_with_output().expect("warden");
    feeder.join().expect("feeder");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("error: (stdin): (file): is larger than 16 MiB"),
        "{err}"
    );
    // The other commands that read a file the user names, whole.
    for (args, what) in [
        (
            vec!["run", "Manual", "--input", over, "--dry-run"],
            "the most `warden run` reads of the event input",
        ),
        (
            vec!["check", "--baseline", over, "--no-report"],
            "the most `warden check` reads of the baseline",
        ),
        (
            vec!["modules", "import", over, "--dry-run"],
            "the most `warden modules import` reads of the JSON module registry",
        ),
    ] {
        let err = r.fails(&args, 2);
        assert!(
            err.contains(&format!("error: {over}: (file): is larger than 16 MiB"))
                && err.contains(what),
            "{args:?}: {err}"
        );
        assert!(err.contains("hint: "), "{args:?}: {err}");
    }
}

/// `warden runs --limit 0` said "no runs yet" in a repository with runs (its
/// JSON said `"not_shown": 13`). A page of no runs is refused when the
/// arguments are parsed.
#[test]
fn runs_limit_0_is_refused_not_reported_as_no_runs_yet() {
    let r = Repo::new();
    r.ok(&["run", "Manual", "--yes"]);
    let err = r.fails(&["runs", "--limit", "0"], 2);
    assert!(err.contains("invalid value '0' for '--limit <N>'"), "{err}");
    assert!(
        !r.run(&["runs", "--limit", "0"])
            .stdout
            .starts_with(b"no runs yet")
    );
    assert!(r.ok(&["runs", "--limit", "1"]).contains("recorded"));
}

/// Some YAML errors showed library internals or the wrong fix. For
/// `.warden/policy.yaml`: a second `---` document said "use
/// from_str_multiple or from_str_multiple_wit…", an alias bomb "budget
/// breached: Nodes { nodes: 250001 }" with "fix the YAML syntax", an empty
/// file "expected struct PolicyFile", and `max_bytes:
/// 99999999999999999999999` "floating point `1e+23`, expected u64".
#[test]
fn policy_yaml_errors_are_plain_sentences_not_library_internals() {
    let r = Repo::new();
    let policy = r.read(".warden/policy.yaml");
    let mut bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n".to_string();
    for i in 1..7 {
        let p = format!("*a{}", i - 1);
        bomb.push_str(&format!("a{i}: &a{i} [{}]\n", vec![p; 10].join(", ")));
    }
    let huge = policy.replace("max_bytes: 67108864", "max_bytes: 99999999999999999999999");
    assert_ne!(huge, policy, "the default policy sets max_bytes");
    let cases = [
        (
            format!("{policy}---\nmore: 1\n"),
            "holds more than one YAML document (the second begins here); warden reads one document per file",
            "hint: keep one: remove the `---` line",
        ),
        (
            bomb,
            "is too big to read: more than 250000 values, counting each copy an alias (`*name`) makes (the limit)",
            "hint: write the values out instead of repeating them through aliases",
        ),
        (
            String::new(),
            ".warden/policy.yaml: (document): is empty: it holds no document",
            "hint: restore it (`git checkout -- .warden/policy.yaml`), or remove it and run `warden init`",
        ),
        (
            huge,
            ".warden/policy.yaml: limits.max_bytes: 1e+23 is too large: it is not a whole number from 0 to 18446744073709551615",
            "hint: write a whole number from 0 to 18446744073709551615",
        ),
    ];
    for (text, want, hint) in cases {
        r.write(".warden/policy.yaml", &text);
        let err = r.fails(&["status"], 2);
        assert!(err.contains(want) && err.contains(hint), "{err}");
        for internal in [
            "from_str_multiple",
            "budget",
            "Nodes {",
            "struct PolicyFile",
            "expected u64",
            "floating point",
        ] {
            assert!(!err.contains(internal), "{internal}: {err}");
        }
    }
}

/// `patch_region` on a CRLF file wrote an LF body between CRLF markers,
/// leaving the file with mixed line endings.
#[test]
fn patch_region_on_a_crlf_file_writes_a_crlf_body() {
    let r = Repo::new();
    let before =
        "[a]\r\n# BEGIN AUTO SECTION: LIMITS\r\nold = 1\r\n# END AUTO SECTION: LIMITS\r\n[b]\r\n";
    std::fs::write(r.root.join("conf.ini"), before).expect("write");
    let p = r.proposal(serde_json::json!([
        {"kind": "patch_region", "path": "conf.ini", "fence": "LIMITS", "content": "workers = 8\nqueue = 64\n"}
    ]));
    r.ok(&["apply", &p, "--yes"]);
    let after = std::fs::read(r.root.join("conf.ini")).expect("read");
    let after = String::from_utf8(after).expect("utf-8");
    assert!(
        after.starts_with(
            "[a]\r\n# BEGIN AUTO SECTION: LIMITS\r\nworkers = 8\r\nqueue = 64\r\n# END AUTO SECTION: LIMITS checksum="
        ) && after.ends_with("\r\n[b]\r\n"),
        "{after:?}"
    );
    assert!(
        !after.replace("\r\n", "").contains('\n'),
        "mixed: {after:?}"
    );
}

/// Undo of a run whose folder was since swapped for a symbolic link said
/// `(undo): sub/a.txt: path "sub/a.txt" goes through the symlink "sub"` with
/// the hint "use the link's target path", though the user named no path.
/// It now says which folder is a link and how to put it back, and that
/// `--force` does not help; still exit 2, nothing written.
#[test]
fn undo_through_a_folder_swapped_for_a_symlink_says_which_and_how_to_put_it_back() {
    let r = Repo::new();
    let p = r.proposal(serde_json::json!([
        {"kind": "write_file", "path": "sub/a.txt", "content": "hi\n", "expect": "absent"}
    ]));
    r.ok(&["apply", &p, "--yes"]);
    let run = r.newest_run();
    let elsewhere = r.home.path().join("elsewhere");
    std::fs::rename(r.root.join("sub"), &elsewhere).expect("move the folder away");
    std::os::unix::fs::symlink(&elsewhere, r.root.join("sub")).expect("link");
    let ledger = r.ledger_len();
    for force in [false, true] {
        let mut args = vec!["undo", run.as_str(), "--yes"];
        if force {
            args.push("--force");
        }
        let err = r.fails(&args, 2);
        assert!(
            err.contains(&format!(
                "error: (working tree): sub/a.txt: run {run} changed sub/a.txt, but its folder sub is now a symbolic link (to {}); undo writes only in the repository's own folders, never through a link",
                elsewhere.display()
            )),
            "{err}"
        );
        assert!(
            err.contains(&format!("hint: put the folder back: replace the link sub with the directory itself (what it points at, once checked), then run `warden undo {run}` again; --force does not help here")),
            "{err}"
        );
        assert!(!err.contains("use the link's target path"), "{err}");
    }
    assert_eq!(r.ledger_len(), ledger, "nothing was ledgered");
    assert_eq!(
        std::fs::read(elsewhere.join("a.txt")).expect("kept"),
        b"hi\n"
    );
}

/// The docs and `--help` disagreed: docs/cli.md said `--format sarif` is
/// offered by `plugin validate` and `ids check` while the commands also
/// take it for `check` and `registry validate`; wire-format.md's
/// `source.kind` list left out `tool`; `warden bridge sign <FILE>` had an
/// empty help text for FILE.
#[test]
fn docs_and_help_agree_on_sarif_source_kinds_and_bridge_sign_file() {
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs");
    let read = |name: &str| std::fs::read_to_string(docs.join(name)).expect("docs");
    let r = Repo::new();
    // The commands that take SARIF, as the refusal of any other names them.
    let err = r.fails(&["status", "--format", "sarif"], 2);
    let sarif: Vec<&str> = err
        .split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|s| s.strip_prefix("warden "))
        .collect();
    assert_eq!(
        sarif,
        ["plugin validate", "ids check", "check", "registry validate"],
        "{err}"
    );
    let cli = read("cli.md").replace("\n  ", " ");
    let listed = format!(
        "`--format sarif` is offered by the commands whose findings point at files ({})",
        sarif
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    assert!(cli.contains(&listed), "docs/cli.md: want {listed:?}");
    let wire = read("wire-format.md");
    let row = wire
        .lines()
        .find(|l| l.starts_with("| `source.kind` |"))
        .expect("the source.kind row");
    for kind in warden_core::events::SOURCE_KINDS {
        assert!(row.contains(&format!("`{kind}`")), "{kind}: {row}");
    }
    assert!(row.contains("`tool` is one of warden's own tools"), "{row}");
    // Every argument of `bridge sign` says what it is.
    let help = r.ok(&["bridge", "sign", "--help"]);
    let after = help.split("  <FILE>\n").nth(1).expect("a FILE argument");
    let first = after.lines().next().unwrap_or("").trim();
    assert!(first.starts_with("The command file to sign"), "{help}");
}

/// A broken or symlinked `.warden/policy.yaml` made the read-only `ledger
/// verify` exit 2, and a missing one made it say "not initialised", which
/// failed the `warden-ledger-verify` pre-commit hook for a problem that is
/// not the ledger's. Verifying (and `ledger log`/`show`) reads no policy:
/// it verifies, and says on stderr why writers are refused.
#[test]
fn ledger_verify_works_without_a_readable_policy() {
    let r = Repo::new();
    r.ok(&["run", "Manual", "--yes"]);
    let run = r.newest_run();
    let policy = r.root.join(".warden/policy.yaml");
    let good = std::fs::read(&policy).expect("policy");
    let outside = r.home.path().join("policy.yaml");
    std::fs::write(&outside, &good).expect("write");
    let cases = [
        (
            "broken",
            "warning: writers are refused: .warden/policy.yaml: line 1 column 9: not valid YAML",
        ),
        (
            "a symlink",
            "warning: writers are refused: .warden/policy.yaml: (file): is a symbolic link",
        ),
        (
            "missing",
            "warning: writers are refused: .warden/policy.yaml is missing",
        ),
    ];
    for (what, warning) in cases {
        std::fs::remove_file(&policy).expect("rm");
        match what {
            "broken" => std::fs::write(&policy, "events: [\n").expect("write"),
            "a symlink" => std::os::unix::fs::symlink(&outside, &policy).expect("link"),
            _ => {}
        }
        let out = r.run(&["ledger", "verify"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{what}: {err}");
        assert!(err.contains(warning), "{what}: {err}");
        assert!(
            err.contains("the ledger was read without the policy"),
            "{what}: {err}"
        );
        let v = r.json_any(&["ledger", "verify"], 0);
        assert_eq!(
            (&v["ok"], &v["entries"]),
            (&serde_json::json!(true), &serde_json::json!(1)),
            "{what}: {v}"
        );
        assert!(r.ok(&["ledger", "show", &run]).contains(&run), "{what}");
        // Writers still refuse (exit 2), as before.
        r.fails(&["run", "Manual", "--yes"], 2);
        let _ = std::fs::remove_file(&policy);
        std::fs::write(&policy, &good).expect("restore");
    }
    // Without the policy, verify still finds an edited entry (exit 1).
    std::fs::remove_file(&policy).expect("rm");
    let chain = r.chain();
    let text = std::fs::read_to_string(&chain).expect("chain");
    std::fs::write(&chain, text.replacen("\"Manual\"", "\"Manuel\"", 1)).expect("edit");
    let err = r.fails(&["ledger", "verify"], 1);
    assert!(err.contains(".warden/policy.yaml is missing"), "{err}");
    // And a repository warden never initialised is still "not initialised".
    let fresh = Repo::git_only();
    let err = fresh.fails(&["ledger", "verify"], 2);
    assert!(err.contains("warden is not initialised"), "{err}");
}

/// A policy that is a link to nothing was reported as missing: `exists`
/// follows the link.
#[test]
fn a_dangling_policy_link_was_called_missing() {
    let r = Repo::new();
    let policy = r.root.join(".warden/policy.yaml");
    std::fs::remove_file(&policy).expect("rm");
    std::os::unix::fs::symlink(r.home.path().join("nothing-here.yaml"), &policy).expect("link");
    let out = r.run(&["ledger", "verify"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains(".warden/policy.yaml is a symbolic link to nothing"),
        "{err}"
    );
}
