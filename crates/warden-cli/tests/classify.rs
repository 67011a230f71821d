//! `warden classify`, `where`, `quarantine list`, `modules` and `watch`
//! through the real binary. The watcher tests use bounded waits (they fail
//! after a generous deadline, never on a measured duration) and stop the
//! watcher with SIGTERM.
// Tests, examples and benches drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::Repo;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use warden_testkit::modules::SEED;

fn repo() -> Repo {
    let r = Repo::new();
    r.write(".warden/modules.yaml", SEED);
    r
}

fn validate(r: &Repo, name: &str, doc: &serde_json::Value) {
    let schema = r.json(&["schema", name]);
    warden_testkit::schemas::assert_valid(name, &schema, doc);
}

#[test]
fn classify_json_is_one_report_and_undo_puts_everything_back() {
    let r = repo();
    r.write("inbox/notes.py", "ledger ulid append_only\n");
    r.write("inbox/goal_ledger.py", "x\n");
    r.write("inbox/holiday.txt", "sunny\n");
    let before = r.tree();
    let plan = r.json(&["classify", "--dry-run"]);
    assert_eq!(plan["outcome"], "planned");
    assert_eq!(r.tree(), before, "a dry run writes nothing");
    let report = r.json(&["classify", "--yes"]);
    validate(&r, "classify", &report);
    assert_eq!(report["outcome"], "applied");
    assert_eq!(report["counts"]["clear_winner"], 1);
    assert_eq!(report["counts"]["ambiguous"], 1);
    assert_eq!(report["counts"]["unclassified"], 1);
    assert_eq!(
        r.read("modules/ledger/notes.py"),
        "ledger ulid append_only\n"
    );
    let run = report["run"].as_str().expect("run").to_string();
    r.ok(&["undo", &run, "--yes"]);
    assert_eq!(r.tree(), before);
}

#[test]
fn classify_without_a_terminal_needs_yes_and_writes_nothing() {
    let r = repo();
    r.write("inbox/notes.py", "ledger ulid append_only\n");
    let before = r.tree();
    let err = r.fails(&["classify"], 2);
    assert!(err.contains("--yes"), "{err}");
    assert_eq!(r.tree(), before);
}

#[test]
fn classify_without_a_registry_names_the_file_and_the_fix() {
    let r = Repo::new();
    let err = r.fails(&["classify", "--dry-run"], 2);
    assert!(err.contains(".warden/modules.yaml"), "{err}");
    assert!(err.contains("warden modules import"), "{err}");
    r.write(
        ".warden/modules.yaml",
        "schema: warden.modules/v1\nmodulez: []\n",
    );
    let err = r.fails(&["classify", "--dry-run"], 2);
    assert!(err.contains("modulez"), "{err}");
}

#[test]
fn classify_explain_prints_the_score_table() {
    let r = repo();
    r.write("inbox/notes.py", "ledger ulid append_only\n");
    let out = r.ok(&["classify", "--explain"]);
    assert!(out.contains("Ledger_Records_MOD"), "{out}");
    assert!(out.contains("ledger in content +1"), "{out}");
    assert!(r.root.join("inbox/notes.py").exists());
}

#[test]
fn where_follows_a_file_through_its_move_and_lists_recent_unclassified_files() {
    let r = repo();
    r.write("inbox/notes.py", "ledger ulid append_only\n");
    r.write("inbox/holiday.txt", "sunny\n");
    r.ok(&["classify", "--yes"]);
    // By its new place (on disk) and by its old one (gone).
    for name in ["modules/ledger/notes.py", "inbox/notes.py"] {
        let w = r.json(&["where", name]);
        validate(&r, "where", &w);
        let p = w["placements"].as_array().expect("placements");
        assert_eq!(p.len(), 1, "{name}: {w:#}");
        assert_eq!(p[0]["decision"]["decision_path"], "clear_winner");
        assert_eq!(p[0]["decision"]["target"], "modules/ledger/notes.py");
    }
    let w = r.json(&["where", "--outcome", "unclassified", "--since", "24h"]);
    let p = w["placements"].as_array().expect("placements");
    assert_eq!(p.len(), 1);
    assert_eq!(p[0]["decision"]["path"], "inbox/holiday.txt");
    let q = r.json(&["quarantine", "list", "--reason", "unclassified"]);
    validate(&r, "quarantine-list", &q);
    assert_eq!(q["files"][0]["path"], "inbox/holiday.txt");
    let none = r.json(&["quarantine", "list", "--reason", "duplicate"]);
    assert_eq!(none["files"].as_array().map(Vec::len), Some(0));
    let err = r.fails(&["where", "--outcome", "lost"], 2);
    assert!(err.contains("clear_winner"), "{err}");
    let err = r.fails(&["where", "--since", "yesterday"], 2);
    assert!(err.contains("24h"), "{err}");
}

#[test]
fn modules_import_writes_the_seed_registry_and_validate_checks_folders() {
    let r = Repo::new();
    let seed = r.home.path().join("seed.json");
    std::fs::write(
        &seed,
        r#"{"Ledger_Records_MOD": {"keywords": ["ledger", "ulid"], "allowed_extensions": [".py"]}}"#,
    )
    .expect("seed");
    let seed = seed.display().to_string();
    r.ok(&["modules", "import", &seed]);
    assert!(
        r.read(".warden/modules.yaml")
            .contains("Ledger_Records_MOD")
    );
    // A second import refuses to overwrite.
    r.fails(&["modules", "import", &seed], 1);
    // The folder does not exist yet: a finding, exit 1.
    let out = r.run(&["modules", "validate", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    validate(&r, "modules-validate", &v);
    assert_eq!(v["findings"][0]["field"], "modules[0].folder");
    std::fs::create_dir_all(r.root.join("modules/Ledger_Records_MOD")).expect("mkdir");
    r.ok(&["modules", "validate"]);
}

#[test]
fn modules_init_writes_an_annotated_registry_from_the_top_level_folders() {
    let r = Repo::new();
    for d in ["billing", "invoiceParser", "inbox", "node_modules"] {
        std::fs::create_dir_all(r.root.join(d)).expect("mkdir");
    }
    let t = common::snap::transcript(
        &r,
        &[
            &["modules", "init", "--dry-run"],
            &["modules", "init"],
            &["modules", "init"],
            &["modules", "validate"],
        ],
    );
    common::snap::settings(&r).bind(|| insta::assert_snapshot!("modules_init", t));
    // The written registry is the dry run's text, and it validates.
    let out = r.run(&["modules", "init", "--dry-run", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    validate(&r, "modules-init", &v);
    assert_eq!(
        v["yaml"].as_str(),
        Some(r.read(".warden/modules.yaml").as_str())
    );
    // `--force` replaces it, recorded as a second run.
    r.ok(&["modules", "init", "--force"]);
    let runs = r.json(&["runs"]);
    assert_eq!(runs["runs"][0]["command"], "modules init");
    assert_eq!(runs["runs"][1]["command"], "modules init");
}

// ---- the watcher ----

struct Watcher {
    child: Child,
    err: std::path::PathBuf,
}

impl Watcher {
    fn start(r: &Repo, extra: &[&str]) -> Watcher {
        let n = std::fs::read_dir(r.home.path()).map_or(0, |d| d.count());
        let err = r.home.path().join(format!("watch-{n}.err"));
        let mut args = vec!["watch", "--settle", "300"];
        args.extend(extra);
        let child = r
            .cmd(&args)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&err).expect("log"))
            .spawn()
            .expect("spawn watch");
        let w = Watcher { child, err };
        w.wait_log("watching");
        w
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    fn wait_log(&self, what: &str) {
        until(&format!("the watcher to log {what:?}"), || {
            self.log().contains(what)
        });
    }

    /// SIGTERM, then wait for a clean exit.
    fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        let st = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(st.success());
        let status = self.child.wait().expect("wait");
        let log = self.log();
        assert!(status.success(), "watch exited {status:?}:\n{log}");
        assert!(log.contains("stopped after"), "{log}");
        log
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Wait for `cond`, checking every 50 ms; fail after ten minutes (a
/// bound, not a measurement: each batch is one durable run, fsyncs included).
fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(600);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.filter(|e| e.is_ok()).count())
}

#[test]
fn watch_sees_an_editors_save_by_rename_once() {
    let r = repo();
    std::fs::create_dir_all(r.root.join("inbox")).expect("inbox");
    let w = Watcher::start(&r, &[]);
    // An editor writes a temp file and renames it over the real name.
    r.write("inbox/.notes.py.swp", "ledger ulid append_only\n");
    std::fs::rename(
        r.root.join("inbox/.notes.py.swp"),
        r.root.join("inbox/notes.py"),
    )
    .expect("rename");
    until("notes.py to be placed", || {
        r.root.join("modules/ledger/notes.py").exists()
    });
    w.stop();
    let all = r.json(&["where"]);
    let p = all["placements"].as_array().expect("placements");
    assert_eq!(
        p.len(),
        1,
        "one decision, for the renamed file only: {all:#}"
    );
    assert_eq!(p[0]["decision"]["path"], "inbox/notes.py");
    let q = r.json(&["quarantine", "list"]);
    assert_eq!(q["files"].as_array().map(Vec::len), Some(0));
}

#[test]
fn watch_handles_a_burst_of_ten_thousand_files_and_loses_none() {
    let r = repo();
    std::fs::create_dir_all(r.root.join("inbox")).expect("inbox");
    let w = Watcher::start(&r, &["--max-batch", "1000"]);
    for i in 0..10_000 {
        std::fs::write(
            r.root.join(format!("inbox/ledger_{i:05}.py")),
            format!("{i}\n"),
        )
        .expect("write");
    }
    until("every file to be placed", || {
        count_files(&r.root.join("modules/ledger")) == 10_000
    });
    let log = w.stop();
    assert!(log.contains("batch 1:"), "{log}");
    assert_eq!(count_files(&r.root.join("inbox")), 0);
    for i in [0, 4_999, 9_999] {
        assert_eq!(
            r.read(&format!("modules/ledger/ledger_{i:05}.py")),
            format!("{i}\n")
        );
    }
}

#[test]
fn watch_waits_for_a_file_still_being_written() {
    let r = repo();
    std::fs::create_dir_all(r.root.join("inbox")).expect("inbox");
    let w = Watcher::start(&r, &[]);
    let path = r.root.join("inbox/big_ledger.py");
    let mut expected = String::new();
    // Appends every 50 ms, well inside the 300 ms settle time.
    for i in 0..40 {
        let chunk = format!("ledger chunk {i}\n");
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .expect("open");
        f.write_all(chunk.as_bytes()).expect("append");
        expected.push_str(&chunk);
        drop(f);
        std::thread::sleep(Duration::from_millis(50));
    }
    until("the finished file to be placed", || {
        r.root.join("modules/ledger/big_ledger.py").exists()
    });
    w.stop();
    assert_eq!(r.read("modules/ledger/big_ledger.py"), expected);
    assert!(!path.exists(), "nothing was left behind in the inbox");
}

#[test]
fn watch_picks_up_what_arrived_while_it_was_stopped_and_polls_without_events() {
    let r = repo();
    std::fs::create_dir_all(r.root.join("inbox")).expect("inbox");
    let w = Watcher::start(&r, &[]);
    r.write("inbox/first_ledger.py", "1\n");
    until("the first file", || {
        r.root.join("modules/ledger/first_ledger.py").exists()
    });
    w.stop();
    r.write("inbox/second_ledger.py", "2\n");
    r.write("inbox/holiday.txt", "sunny\n");
    let w = Watcher::start(&r, &["--poll", "100"]);
    until("the file that came while stopped", || {
        r.root.join("modules/ledger/second_ledger.py").exists()
            && !r.root.join("inbox/holiday.txt").exists()
    });
    // A second watcher of the same repository is refused (busy).
    let err = r.fails(&["watch", "--poll", "100"], 4);
    assert!(err.contains("warden watch"), "{err}");
    w.stop();
    let q = r.json(&["quarantine", "list", "--reason", "unclassified"]);
    assert_eq!(q["files"][0]["path"], "inbox/holiday.txt");
}

#[test]
fn watch_never_touches_gitignored_files() {
    let r = repo();
    r.write(".gitignore", "inbox/*.part\n");
    r.write("inbox/download_ledger.part", "ledger\n");
    let w = Watcher::start(&r, &[]);
    r.write("inbox/notes_ledger.py", "x\n");
    until("the visible file", || {
        r.root.join("modules/ledger/notes_ledger.py").exists()
    });
    w.stop();
    assert!(r.root.join("inbox/download_ledger.part").exists());
}

// ---- the classifier as a plugin on FileDetected ----

/// The FileDetected items of files in the repository (`path`, `sha256`, `size`).
fn items_of(r: &Repo, paths: &[&str]) -> Vec<serde_json::Value> {
    paths
        .iter()
        .map(|p| serde_json::json!({"path": p, "sha256": common::sha(&r.read(p)), "size": r.read(p).len()}))
        .collect()
}

/// `warden run FileDetected --yes --input ITEMS.json --format json`.
fn run_file_detected(r: &Repo, items: &[serde_json::Value]) -> serde_json::Value {
    let input = r.home.path().join("items.json");
    std::fs::write(&input, serde_json::to_string(items).expect("json")).expect("write");
    r.json(&[
        "run",
        "FileDetected",
        "--yes",
        "--input",
        &input.display().to_string(),
    ])
}

/// The developer area of the `ModuleClassifier` sh plugin (docs/classify.md).
const PLUGIN_HANDLE: &str =
    "RATIONALE_handle='placed by the module registry (.warden/modules.yaml)'
handle() {
  \"${WARDEN_EXE:-warden}\" classify --plugin-actions
}";

/// The module classifier plugin validates and passes its probes.
fn classifier_validates_and_passes_its_probes(r: &Repo) {
    let v = r.ok(&["plugin", "validate", "module-classifier"]);
    assert!(v.contains("module-classifier: valid"), "{v}");
    let t = r.ok(&["plugin", "test", "module-classifier"]);
    assert!(t.contains("pass example:handle"), "{t}");
}

/// `warden run FileDetected --yes` on `items`: the report, whose one plugin
/// applied its proposal.
fn dispatch_applied(r: &Repo, items: &[serde_json::Value]) -> serde_json::Value {
    let report = run_file_detected(r, items);
    assert_eq!(report["plugins"][0]["outcome"], "applied", "{report:#}");
    report
}

#[test]
fn the_module_classifier_plugin_validates_passes_its_probes_and_places_files() {
    let r = repo();
    r.write("inbox/notes.py", "ledger ulid append_only\n");
    r.write("inbox/holiday.txt", "sunny\n");
    r.ok(&[
        "plugin",
        "new",
        "module-classifier",
        "--event",
        "FileDetected",
        "--lang",
        "sh",
        "--name",
        "ModuleClassifier",
        "--description",
        "Classifies new or changed files into the correct module or quarantine.",
        "--actions",
        "move_file,quarantine",
        "--yes",
    ]);
    let rel = "plugins/module-classifier/src/handler.sh";
    let text = r.read(rel);
    let start = text.find("# ---- DEVELOPER AREA").expect("dev area");
    let start = start + text[start..].find('\n').expect("eol") + 1;
    let end = text.find("# ---- END OF DEVELOPER AREA").expect("dev end");
    r.write(
        rel,
        &format!("{}{}\n{}", &text[..start], PLUGIN_HANDLE, &text[end..]),
    );
    let items = items_of(&r, &["inbox/notes.py", "inbox/holiday.txt"]);
    r.write(
        "plugins/module-classifier/examples/handle_request.json",
        &serde_json::to_string_pretty(
            &serde_json::json!({"event": "FileDetected", "items": items}),
        )
        .expect("json"),
    );
    r.write(
        "plugins/module-classifier/examples/handle_response.json",
        &serde_json::to_string_pretty(&serde_json::json!({
            "actions": [
                {"kind": "quarantine", "path": "inbox/holiday.txt", "reason": "unclassified",
                 "expect": {"sha256": common::sha("sunny\n")}},
                {"kind": "move_file", "from": "inbox/notes.py", "to": "modules/ledger/notes.py",
                 "expect": {"sha256": common::sha("ledger ulid append_only\n")}},
            ],
            "rationale": "placed by the module registry (.warden/modules.yaml)",
        }))
        .expect("json"),
    );
    r.ok(&["plugin", "gen", "module-classifier", "--yes"]);
    classifier_validates_and_passes_its_probes(&r);
    r.ok(&["plugin", "enable", "module-classifier", "--yes"]);
    let report = dispatch_applied(&r, &items);
    let p = &report["plugins"][0];
    assert_eq!(
        r.read("modules/ledger/notes.py"),
        "ledger ulid append_only\n"
    );
    assert!(!r.root.join("inbox/holiday.txt").exists());
    let q = r.json(&["quarantine", "list", "--reason", "unclassified"]);
    assert_eq!(q["files"][0]["source"], "plugin/module-classifier");
    // G7: the repository is part of the classifier's input. With the files
    // back where they were, the dispatch replays byte for byte.
    let applied = p["applied_run"].as_str().expect("applied run");
    r.ok(&["undo", applied, "--yes"]);
    let run = report["run"].as_str().expect("run");
    let replay = r.ok(&["replay", run]);
    assert!(replay.contains("byte-identical"), "{replay}");
}

#[test]
fn classify_refused_by_the_policy_writes_nothing_and_names_the_rule() {
    let r = repo();
    r.write("inbox/notes.py", "ledger ulid append_only\n");
    let policy = r.read(".warden/policy.yaml");
    let narrowed = policy.replace(
        "  FileDetected:\n    plugin: [move_file, quarantine]\n    collector: [move_file, quarantine]\n",
        "  FileDetected:\n    plugin: [move_file, quarantine]\n",
    );
    assert_ne!(
        narrowed, policy,
        "the default policy lets collectors move files"
    );
    r.write(".warden/policy.yaml", &narrowed);
    let before = r.tree();
    let err = r.fails(&["classify", "--dry-run"], 1);
    assert!(err.contains("collector"), "{err}");
    let err = r.fails(&["classify", "--yes"], 1);
    assert!(err.contains("FileDetected"), "{err}");
    assert_eq!(r.tree(), before);
}

#[test]
fn install_plugin_sets_up_the_module_classifier_and_its_placements_show_in_where() {
    let r = repo();
    r.write("inbox/notes.py", "ledger ulid append_only\n");
    r.write("inbox/holiday.txt", "sunny\n");
    let out = r.ok(&["modules", "install-plugin", "--yes"]);
    assert!(out.contains("installed and enabled"), "{out}");
    classifier_validates_and_passes_its_probes(&r);
    // A second install refuses and names the fix.
    let err = r.fails(&["modules", "install-plugin", "--yes"], 2);
    assert!(err.contains("already exists"), "{err}");
    let report = dispatch_applied(&r, &items_of(&r, &["inbox/notes.py", "inbox/holiday.txt"]));
    let p = &report["plugins"][0];
    assert_eq!(
        r.read("modules/ledger/notes.py"),
        "ledger ulid append_only\n"
    );
    let w = r.json(&["where", "modules/ledger/notes.py"]);
    let pl = &w["placements"][0];
    assert_eq!(pl["decision"]["path"], "inbox/notes.py", "{w:#}");
    assert_eq!(pl["decision"]["target"], "modules/ledger/notes.py", "{w:#}");
    assert_eq!(pl["decision"]["decision_path"], "clear_winner", "{w:#}");
    assert_eq!(pl["run"], p["applied_run"], "{w:#}");
    let u = r.json(&["where", "--outcome", "unclassified", "--since", "1h"]);
    assert_eq!(
        u["placements"][0]["decision"]["path"], "inbox/holiday.txt",
        "{u:#}"
    );
    assert_eq!(u["placements"].as_array().map(Vec::len), Some(1), "{u:#}");
    // Undone, the placement says so.
    let applied = p["applied_run"].as_str().expect("applied run");
    r.ok(&["undo", applied, "--yes"]);
    let w = r.json(&["where", "inbox/notes.py"]);
    assert!(w["placements"][0]["undone_by"].is_string(), "{w:#}");
}

#[test]
fn a_hand_run_file_detected_dispatch_to_the_module_classifier_keeps_its_scores_for_where() {
    let r = repo();
    r.write("inbox/notes.py", "ledger ulid append_only\n");
    r.ok(&["modules", "install-plugin", "--yes"]);
    let report = dispatch_applied(&r, &items_of(&r, &["inbox/notes.py"]));
    let p = &report["plugins"][0];
    let w = r.json(&["where", "modules/ledger/notes.py"]);
    let pl = &w["placements"][0];
    assert_eq!(pl["run"], p["applied_run"], "{w:#}");
    let d = &pl["decision"];
    assert_eq!(
        (
            &d["path"],
            &d["target"],
            &d["decision_path"],
            &d["module"],
            &d["candidates"][0]["module"],
            &d["candidates"][0]["score"],
        ),
        (
            &serde_json::json!("inbox/notes.py"),
            &serde_json::json!("modules/ledger/notes.py"),
            &serde_json::json!("clear_winner"),
            &serde_json::json!("Ledger_Records_MOD"),
            &serde_json::json!("Ledger_Records_MOD"),
            &serde_json::json!(3),
        ),
        "a hand-run dispatch's placement carries the classifier's scores: {w:#}"
    );
    assert_eq!(
        d["candidates"][0]["hits"].as_array().map(Vec::len),
        Some(3),
        "ledger, ulid, append_only in the content: {w:#}"
    );
}

#[test]
fn classify_duplicates_lists_identical_files_and_writes_nothing() {
    let r = repo();
    r.write("inbox/a.txt", "same bytes\n");
    r.write("docs/b.txt", "same bytes\n");
    r.write("docs/c.txt", "other bytes\n");
    let before = r.tree();
    let d = r.json(&["classify", "--duplicates"]);
    assert_eq!(d["schema"], "warden.classify-duplicates/v1", "{d:#}");
    assert_eq!(
        d["groups"],
        serde_json::json!([{"sha256": common::sha("same bytes\n"), "size": 11,
                            "paths": ["docs/b.txt", "inbox/a.txt"]}]),
        "{d:#}"
    );
    let scoped = r.json(&["classify", "--duplicates", "docs"]);
    assert_eq!(scoped["groups"], serde_json::json!([]), "{scoped:#}");
    let human = r.ok(&["classify", "--duplicates"]);
    assert!(human.contains("  docs/b.txt\n  inbox/a.txt"), "{human}");
    assert_eq!(r.tree(), before);
    let err = r.fails(&["classify", "--duplicates", "nowhere"], 2);
    assert!(err.contains("nowhere"), "{err}");
}

#[test]
fn watch_dispatches_each_batch_to_the_module_classifier_plugin_and_where_shows_its_scores() {
    let r = repo();
    std::fs::create_dir_all(r.root.join("inbox")).expect("inbox");
    let out = r.ok(&["modules", "install-plugin", "--yes"]);
    assert!(out.contains("installed and enabled"), "{out}");
    let w = Watcher::start(&r, &[]);
    r.write("inbox/notes.py", "ledger ulid append_only\n");
    r.write("inbox/holiday.txt", "sunny\n");
    until("both files to be handled", || {
        r.root.join("modules/ledger/notes.py").exists()
            && !r.root.join("inbox/holiday.txt").exists()
    });
    // An ambiguous file alone: the plugin proposes nothing, the decision is
    // still recorded.
    r.write("inbox/goal_ledger.py", "x\n");
    until("the ambiguous file's decision", || {
        r.json(&["where", "--outcome", "ambiguous"])["placements"]
            .as_array()
            .is_some_and(|p| !p.is_empty())
    });
    let log = w.stop();
    assert!(log.contains("FileDetected dispatch"), "{log}");
    // The plugin's run carries the classifier's decisions: module, scores,
    // decision path, lane target.
    let v = r.json(&["where", "modules/ledger/notes.py"]);
    let pl = &v["placements"][0];
    assert_eq!(pl["decision"]["path"], "inbox/notes.py", "{v:#}");
    assert_eq!(pl["decision"]["decision_path"], "clear_winner", "{v:#}");
    assert_eq!(pl["decision"]["module"], "Ledger_Records_MOD", "{v:#}");
    assert_eq!(
        pl["decision"]["candidates"][0]["score"], 3,
        "the scores are kept: {v:#}"
    );
    let run = pl["run"].as_str().expect("run").to_string();
    let runs = r.json(&["runs", "--all"]);
    let entry = runs["runs"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["run"] == run.as_str()))
        .expect("the placing run is ledgered");
    assert_eq!(entry["actor"]["kind"], "plugin", "{entry:#}");
    assert_eq!(entry["actor"]["id"], "module-classifier", "{entry:#}");
    let u = r.json(&["where", "--outcome", "unclassified"]);
    assert_eq!(u["placements"][0]["decision"]["path"], "inbox/holiday.txt");
    assert!(
        u["placements"][0]["decision"]["target"]
            .as_str()
            .is_some_and(|t| t.starts_with(".quarantine/")),
        "{u:#}"
    );
    // Undo puts the files back. Two files written together usually settle
    // in one batch (one run); on a loaded machine the second may settle in
    // the next one.
    let lane_run = u["placements"][0]["run"].as_str().expect("run").to_string();
    let mut runs = vec![run.clone(), lane_run];
    runs.sort();
    runs.dedup();
    for undo in runs.iter().rev() {
        r.ok(&["undo", undo, "--yes"]);
    }
    assert_eq!(r.read("inbox/notes.py"), "ledger ulid append_only\n");
    assert_eq!(r.read("inbox/holiday.txt"), "sunny\n");
    let v = r.json(&["where", "inbox/notes.py"]);
    assert!(v["placements"][0]["undone_by"].is_string(), "{v:#}");
}

/// `where FILE --format json` with what differs between two repositories
/// (run ids, times, the file's mtime) blanked, for comparing them.
fn where_history(r: &Repo, file: &str) -> serde_json::Value {
    fn blank(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    match k.as_str() {
                        "run" | "time" | "mtime" => *x = serde_json::json!("[..]"),
                        _ => blank(x),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(blank),
            _ => {}
        }
    }
    let mut v = r.json(&["where", file]);
    blank(&mut v);
    v
}

#[test]
fn a_file_that_stays_has_the_same_where_history_from_a_hand_run_dispatch_and_from_the_watcher() {
    let file = "inbox/goal_ledger.py";
    // By hand: `warden run FileDetected` with the classifier plugin enabled.
    let hand = repo();
    hand.write(file, "x\n");
    hand.ok(&["modules", "install-plugin", "--yes"]);
    let items = items_of(&hand, &[file]);
    let report = run_file_detected(&hand, &items);
    assert_eq!(report["plugins"][0]["outcome"], "no_change", "{report:#}");
    // The watcher, on the same file in another repository.
    let watched = repo();
    std::fs::create_dir_all(watched.root.join("inbox")).expect("inbox");
    watched.ok(&["modules", "install-plugin", "--yes"]);
    let w = Watcher::start(&watched, &[]);
    watched.write(file, "x\n");
    until("the watcher to record the stay", || {
        watched.json(&["where", file])["placements"]
            .as_array()
            .is_some_and(|p| !p.is_empty())
    });
    w.stop();
    let by_hand = where_history(&hand, file);
    assert_eq!(
        by_hand,
        where_history(&watched, file),
        "the same history however the file was seen"
    );
    insta::with_settings!({prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!(
            "where_a_file_that_stays",
            serde_json::to_string_pretty(&by_hand).expect("json")
        );
    });
    // A second hand run records nothing new.
    let before = hand.ledger_len();
    run_file_detected(&hand, &items);
    assert_eq!(
        where_history(&hand, file),
        by_hand,
        "the same stay is not recorded twice"
    );
    assert!(
        hand.ledger_len() > before,
        "the dispatch itself is ledgered"
    );
}

#[test]
fn a_second_watcher_of_the_same_repository_exits_busy_and_the_first_keeps_running() {
    let r = repo();
    std::fs::create_dir_all(r.root.join("inbox")).expect("inbox");
    // A batch size no other process uses marks this test's watchers.
    let first = Watcher::start(&r, &["--max-batch", "4747"]);
    let second = common::snap::transcript(&r, &[&["watch", "--max-batch", "4747"]]);
    common::snap::settings(&r)
        .bind(|| insta::assert_snapshot!("watch_second_watcher_busy", second));
    // The first watcher still works.
    r.write("inbox/after_ledger.py", "ledger\n");
    until("the first watcher to place a file", || {
        r.root.join("modules/ledger/after_ledger.py").exists()
    });
    let log = first.stop();
    assert!(log.contains("batch 1: 1 file(s): 1 clear_winner"), "{log}");
    assert_eq!(
        common::processes_with("4747"),
        Vec::<u32>::new(),
        "no watcher is left running"
    );
}

// ---- review 6: regressions, each named after what broke ----

fn mkfifo(p: &Path) {
    let st = std::process::Command::new("mkfifo")
        .arg(p)
        .status()
        .expect("mkfifo");
    assert!(st.success(), "mkfifo {}", p.display());
}

#[test]
fn control_characters_in_inbox_names_no_longer_reach_the_terminal_raw() {
    let r = repo();
    r.write(
        "inbox/ledger_\x1b[31mred\x1b[0m.py",
        "ledger ulid append_only\n",
    );
    r.write(
        "inbox/ledger_nl\nx.py forged line",
        "ledger ulid append_only\n",
    );
    r.write("inbox/\x1b]0;PWNED\x07.bin", "\0\u{1}");
    let mut t = common::snap::transcript(
        &r,
        &[
            &["classify", "--dry-run"],
            &["classify", "--yes"],
            &["where"],
            &["quarantine", "list"],
        ],
    );
    // A module name and folder from the YAML file, echoed by validate.
    let m = Repo::new();
    m.write(
        ".warden/modules.yaml",
        "schema: warden.modules/v1\ninbox: [inbox/]\nmodules:\n  - name: A\n    folder: \"mod\\e]0;T\\a/\"\n    keywords: [\"x\\e[2J\"]\n  - name: B\n    folder: modb/\n    keywords: [\"x\\e[2J\"]\n",
    );
    t.push_str(&common::snap::transcript(&m, &[&["modules", "validate"]]));
    for bad in ['\x1b', '\x07'] {
        assert!(
            !t.contains(bad),
            "a control character reached the output:\n{t}"
        );
    }
    common::snap::settings(&r)
        .bind(|| insta::assert_snapshot!("classify_control_characters_escaped", t));
}

#[test]
fn unclassifiable_inbox_entries_are_reported_and_no_longer_skipped_silently() {
    use std::os::unix::ffi::OsStrExt;
    let r = repo();
    let inbox = r.root.join("inbox");
    std::fs::create_dir_all(&inbox).expect("inbox");
    let odd = std::ffi::OsStr::from_bytes(b"ledger_\xfe.py");
    std::fs::write(inbox.join(odd), "z\n").expect("non-UTF-8 name");
    mkfifo(&inbox.join("ledger_fifo.py"));
    std::os::unix::fs::symlink("/etc/passwd", inbox.join("ledger_link.py")).expect("symlink");
    // (`r.tree()` would block opening the FIFO: list the names instead.)
    let names = || {
        let mut v: Vec<_> = std::fs::read_dir(&inbox)
            .expect("inbox")
            .map(|e| e.expect("entry").file_name())
            .collect();
        v.sort();
        v
    };
    let before = names();
    let mut t = common::snap::transcript(
        &r,
        &[
            &["classify", "--dry-run"],
            &["classify", "--dry-run", "--format", "json"],
            &["classify", "--yes"],
        ],
    );
    // Named explicitly, the non-UTF-8 file is an error with a fix.
    let out = r
        .cmd(&["classify", "--dry-run"])
        .arg(std::path::Path::new("inbox").join(odd))
        .output()
        .expect("run warden");
    t.push_str(&common::snap::output(
        "classify --dry-run inbox/ledger_\\xfe.py",
        &out,
    ));
    assert_eq!(names(), before, "nothing moved");
    assert!(!r.root.join("modules").exists(), "nothing moved");
    common::snap::settings(&r).bind(|| insta::assert_snapshot!("classify_skipped_entries", t));
    let report = r.json(&["classify", "--dry-run"]);
    validate(&r, "classify", &report);
}

#[test]
fn watch_logs_each_skipped_inbox_entry_once_instead_of_never() {
    let r = repo();
    let inbox = r.root.join("inbox");
    std::fs::create_dir_all(&inbox).expect("inbox");
    mkfifo(&inbox.join("ledger_fifo.py"));
    let w = Watcher::start(&r, &[]);
    w.wait_log("skipped inbox/ledger_fifo.py (fifo");
    r.write("inbox/notes.py", "ledger ulid append_only\n");
    until("notes.py to be placed", || {
        r.root.join("modules/ledger/notes.py").exists()
    });
    r.write("inbox/more_ledger.py", "ledger\n");
    until("more_ledger.py to be placed", || {
        r.root.join("modules/ledger/more_ledger.py").exists()
    });
    let log = w.stop();
    assert_eq!(
        log.matches("skipped inbox/ledger_fifo.py (fifo: warden classifies regular files only; remove it from the inbox); it stays where it is").count(),
        1,
        "{log}"
    );
}

#[test]
fn classify_dry_run_over_max_files_exits_1_as_the_real_run_and_says_the_ways_out() {
    let r = repo();
    let policy = r.read(".warden/policy.yaml");
    r.write(
        ".warden/policy.yaml",
        &policy.replace("max_files: 1000", "max_files: 10"),
    );
    for i in 0..6 {
        r.write(&format!("inbox/ledger_{i}.py"), &format!("{i}\n"));
    }
    let before = r.tree();
    let t = common::snap::transcript(&r, &[&["classify", "--dry-run"], &["classify", "--yes"]]);
    assert_eq!(r.tree(), before, "nothing moved");
    common::snap::settings(&r).bind(|| insta::assert_snapshot!("classify_over_max_files", t));
}

#[test]
fn modules_validate_no_longer_calls_a_module_folder_through_a_symlink_valid() {
    let r = repo();
    let outside = tempfile::tempdir().expect("outside");
    std::os::unix::fs::symlink(outside.path(), r.root.join("modules")).expect("symlink");
    std::fs::create_dir_all(r.root.join("inbox")).expect("inbox");
    let t = common::snap::transcript(&r, &[&["modules", "validate"]]);
    common::snap::settings(&r)
        .bind(|| insta::assert_snapshot!("modules_validate_symlinked_folder", t));
}

#[test]
fn modules_init_force_no_longer_loses_the_hand_written_registry() {
    let r = repo();
    let mine = r.read(".warden/modules.yaml");
    let out = r.json(&["modules", "init", "--force"]);
    let run = out["run"].as_str().expect("run");
    let kept = format!(".warden/state/replaced/{run}/modules.yaml");
    assert_eq!(out["previous_kept_at"].as_str(), Some(kept.as_str()));
    assert_eq!(r.read(&kept), mine, "the replaced registry, byte for byte");
    validate(&r, "modules-init", &out);
    // The hand-written registry back, so the next `--force` replaces a file
    // that differs from the template again.
    r.write(".warden/modules.yaml", &mine);
    let human = r.ok(&["modules", "init", "--force"]);
    assert!(
        human.contains("the previous registry is kept at .warden/state/replaced/"),
        "{human}"
    );
}

#[test]
fn the_classifier_plugin_never_placed_names_holding_a_quote_a_backslash_or_a_tab() {
    let r = repo();
    // (A backslash is refused in every repository path: such a name is
    // reported as skipped, `unusable_name`, see the next test.)
    let names = [
        "inbox/ledger_q\"x.py",
        "inbox/ledger_tab\tx.py",
        "inbox/ledger_esc\u{1b}[2J.py",
        "inbox/ledger_ok.py",
    ];
    for n in names {
        r.write(n, "ledger ulid append_only\n");
    }
    r.ok(&["modules", "install-plugin", "--yes"]);
    let report = run_file_detected(&r, &items_of(&r, &names));
    for n in names {
        let placed = n.replace("inbox/", "modules/ledger/");
        assert!(
            !r.root.join(n).exists() && r.root.join(&placed).is_file(),
            "{n} was not placed at {placed}: {report:#}"
        );
    }
}

#[test]
fn a_name_with_a_backslash_was_skipped_silently_instead_of_reported() {
    let r = repo();
    r.write("inbox/ledger_back\\slash.py", "ledger\n");
    let out = r.json(&["classify", "--dry-run"]);
    assert_eq!(
        out["skipped"],
        serde_json::json!([{"path": "inbox/ledger_back\\slash.py", "reason": "unusable_name"}]),
        "{out:#}"
    );
}

#[test]
fn classify_dry_run_said_yes_then_the_real_run_failed_on_a_symlinked_destination_and_moved_nothing()
{
    let r = Repo::new();
    r.write(
        ".warden/modules.yaml",
        "schema: warden.modules/v1\nmodules:\n  - {name: a, folder: ext/, keywords: [foo]}\n  - {name: d, folder: docs/, keywords: [bar]}\n",
    );
    r.write("inbox/foo.txt", "a\n");
    r.write("inbox/bar.txt", "b\n");
    std::fs::create_dir_all(r.root.join("docs")).expect("docs");
    std::fs::create_dir_all(r.root.join("ext")).expect("ext");
    let outside = tempfile::tempdir().expect("outside");
    std::os::unix::fs::symlink(outside.path(), r.root.join("ext/foo.txt")).expect("symlink");
    let t = common::snap::transcript(&r, &[&["classify", "--dry-run"], &["classify", "--yes"]]);
    assert_eq!(r.read("docs/bar.txt"), "b\n", "the rest is moved");
    assert_eq!(r.read("inbox/foo.txt"), "a\n", "the skipped file stays");
    common::snap::settings(&r)
        .bind(|| insta::assert_snapshot!("classify_symlinked_destination_skipped", t));
    let report = r.json(&["classify", "--dry-run"]);
    validate(&r, "classify", &report);
}
