//! Plugins end to end (issue: plugins): scaffold → test → validate → enable →
//! run → replay, the validator's refusals, identity, and the fault matrix —
//! real child processes in the real sandbox.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::snap::{plugin_settings, transcript};
use common::{Repo, edit_spec, python_plugin, set_handler};
use serde_json::{Value, json};

/// A repository with a scaffolded python plugin `key` on FileDetected.
fn with_plugin(key: &str) -> Repo {
    let r = Repo::new();
    r.ok(&common::plugin_new(key, "python"));
    r
}

fn file_detected(r: &Repo, paths: &[&str]) -> String {
    let items: Vec<Value> = paths
        .iter()
        .map(|p| json!({"path": p, "sha256": common::sha(&r.read(p)), "size": r.read(p).len()}))
        .collect();
    let p = r.home.path().join("input.json");
    std::fs::write(&p, serde_json::to_string(&items).expect("json")).expect("write");
    p.display().to_string()
}

/// Run a plugin's scaffolded unit test `script` with `interpreter` in its
/// folder; it must pass.
fn scaffolded_unit_test_passes(r: &Repo, key: &str, interpreter: &str, script: &str) {
    let unit = std::process::Command::new(interpreter)
        .arg(script)
        .current_dir(r.root.join("plugins").join(key))
        .output()
        .unwrap_or_else(|e| panic!("{interpreter}: {e}"));
    assert!(
        unit.status.success(),
        "{}",
        String::from_utf8_lossy(&unit.stderr)
    );
}

#[test]
fn scaffold_validate_enable_run_undo() {
    let r = with_plugin("hello");
    the_scaffold_is_complete_and_has_an_id(&r);
    // Works out of the box: probes pass, the scaffolded unit test passes.
    let probes = transcript(&r, &[&["plugin", "test", "hello"]]);
    scaffolded_unit_test_passes(&r, "hello", "python3", "tests/test_handle.py");
    // Regeneration is byte-identical.
    let before = r.tree();
    let gen_validate = transcript(
        &r,
        &[
            &["plugin", "gen", "hello", "--yes"],
            &["plugin", "validate", "hello"],
        ],
    );
    assert_eq!(r.tree(), before);
    plugin_settings(&r).bind(|| {
        insta::assert_snapshot!("python_plugin_test", probes);
        insta::assert_snapshot!("python_plugin_gen_validate", gen_validate);
    });
    let report = enabled_it_runs_in_the_full_sandbox_and_is_ledgered(&r);
    let p = &report["plugins"][0];
    let run = report["run"].as_str().expect("run");
    let mut replays = replay_is_a_read_only_report(&r, run);
    // The applied proposal is undoable.
    let applied = p["applied_run"].as_str().expect("applied run");
    r.ok(&["undo", applied, "--yes"]);
    assert_eq!(r.read("junk.tmp"), "x\n");
    // Replay notices a changed plugin and shows the diff.
    set_handler(
        &r,
        "hello",
        "def handle(event, items):\n    return [{\"kind\": \"quarantine\", \"path\": i[\"path\"], \"reason\": \"changed\"} for i in items if i[\"path\"].endswith(\".tmp\")], \"changed\"\n",
    );
    r.ok(&["plugin", "gen", "hello", "--yes"]);
    replays.push_str(&transcript(&r, &[&["replay", run]]));
    plugin_settings(&r)
        .bind(|| insta::assert_snapshot!("python_plugin_replay_identical_then_differs", replays));
}

/// Every scaffolded file exists; the plugin has an id, a card and a line in
/// the id log.
fn the_scaffold_is_complete_and_has_an_id(r: &Repo) {
    for f in [
        "plugin.spec.json",
        "manifest.json",
        "ledger_contract.json",
        "policy_snapshot.json",
        "README_PLUGIN.md",
        "healthcheck.md",
        "src/handler.py",
        "tests/test_handle.py",
        "schemas/handle.in.schema.json",
        "schemas/handle.out.schema.json",
        "examples/handle_request.json",
        "examples/handle_response.json",
        "conformance/schemas/protocol.request.schema.json",
        "conformance/perf/budget.json",
    ] {
        assert!(r.root.join("plugins/hello").join(f).exists(), "{f} missing");
    }
    let spec: Value =
        serde_json::from_str(&r.read("plugins/hello/plugin.spec.json")).expect("spec");
    let id = spec["id"].as_str().expect("id").to_string();
    // The card and the id log hold dates and digests: the lines that tie
    // them to the plugin are checked.
    assert!(
        r.read(&format!("ids/cards/{id}.yaml"))
            .contains("artifact: plugins/hello")
    );
    assert!(r.read(".ledger/ids.jsonl").contains(&id));
}

/// Not enabled, it does not run; enabled, it quarantines junk.tmp under
/// Landlock and the run is ledgered. Returns the run's report.
fn enabled_it_runs_in_the_full_sandbox_and_is_ledgered(r: &Repo) -> Value {
    // Not enabled yet: nothing runs.
    r.write("junk.tmp", "x\n");
    r.write("keep.md", "k\n");
    let input = file_detected(r, &["junk.tmp", "keep.md"]);
    let report = r.json(&["run", "FileDetected", "--yes", "--input", &input]);
    assert_eq!(report["plugins"], json!([]));
    r.ok(&["plugin", "enable", "hello", "--yes"]);
    // One row of the generated contract names the enabled plugin.
    assert!(
        r.read(".warden/OPERATING_CONTRACT.md")
            .contains("| `hello` |")
    );
    let report = r.json(&["run", "FileDetected", "--yes", "--input", &input]);
    let p = &report["plugins"][0];
    assert_eq!(p["outcome"], json!("applied"), "{report:#}");
    assert_eq!(
        p["sandbox"],
        json!("full"),
        "Landlock must be enforced on this machine: {report:#}"
    );
    assert!(!r.root.join("junk.tmp").exists());
    assert!(r.root.join("keep.md").exists());
    // The dispatch and the applied proposal are both ledgered.
    let runs = r.json(&["runs"])["runs"].clone();
    let cmds: Vec<&str> = runs
        .as_array()
        .expect("runs")
        .iter()
        .filter_map(|x| x["command"].as_str())
        .collect();
    assert!(cmds.contains(&"run"), "{cmds:?}");
    r.ok(&["ledger", "verify"]);
    report
}

/// Replay: byte-identical. It is a read-only report: kept in the local
/// history, not in the ledger. Returns its transcript.
fn replay_is_a_read_only_report(r: &Repo, run: &str) -> String {
    let ledger_before = r.json(&["ledger", "log"])["entries"]
        .as_array()
        .map_or(0, Vec::len);
    let replays = transcript(r, &[&["replay", run]]);
    assert_eq!(
        r.json(&["ledger", "log"])["entries"]
            .as_array()
            .map_or(0, Vec::len),
        ledger_before
    );
    let history = r.json(&["history"]);
    let last = history["runs"]
        .as_array()
        .and_then(|a| a.last())
        .cloned()
        .expect("a row");
    assert_eq!(last["command"], "replay");
    assert_eq!(last["origin"], "local");
    replays
}

#[test]
fn sh_plugin_works_out_of_the_box() {
    let r = Repo::new();
    r.ok(&common::plugin_new("shy", "sh"));
    let out = transcript(
        &r,
        &[&["plugin", "test", "shy"], &["plugin", "validate", "shy"]],
    );
    plugin_settings(&r).bind(|| insta::assert_snapshot!("sh_plugin_test_validate", out));
    scaffolded_unit_test_passes(&r, "shy", "sh", "tests/test_handle.sh");
}

#[test]
fn sh_plugin_accepts_a_hello_written_with_spaces() {
    // Python's json.dumps writes `"major": 1`; the scaffolded sh handler used
    // to string-match `"major":1` and refuse it as an unsupported protocol.
    let r = Repo::new();
    r.ok(&common::plugin_new("shy", "sh"));
    let hello = r#"{"type": "hello", "protocol": {"major": 1, "features": ["batch"]}}"#;
    let request = r#"{"type": "request", "op": "handle", "event": "FileDetected", "input": {"items": [{"path": "inbox/a.md", "sha256": "00", "size": 1}]}}"#;
    let mut child = std::process::Command::new("sh")
        .arg("src/handler.sh")
        .current_dir(r.root.join("plugins/shy"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("sh");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "{hello}\n{request}").expect("write");
    }
    let out = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    let response: serde_json::Value = serde_json::from_str(lines[1]).expect("response json");
    assert_eq!(response["type"], "response", "{stdout}");
}

#[test]
fn other_languages_scaffold_and_validate() {
    let r = Repo::new();
    for lang in ["pwsh", "rust"] {
        let key = format!("p-{lang}");
        r.ok(&[
            "plugin",
            "new",
            &key,
            "--event",
            "PreCommit",
            "--lang",
            lang,
            "--yes",
        ]);
        r.ok(&["plugin", "validate", &key]);
    }
    assert!(r.root.join("plugins/p-rust/Cargo.toml").exists());
    // The rust scaffold builds and answers in the sandbox (cargo writes only to
    // the scratch dir; the toolchain comes from the real rustup home).
    let home = std::env::var("HOME").unwrap_or_default();
    let rustup = std::env::var("RUSTUP_HOME").unwrap_or(format!("{home}/.rustup"));
    let cargo = std::env::var("CARGO_HOME").unwrap_or(format!("{home}/.cargo"));
    let out = r
        .cmd(&["plugin", "test", "p-rust"])
        .env("RUSTUP_HOME", rustup)
        .env("CARGO_HOME", cargo)
        .output()
        .expect("plugin test");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The generated handler is long: the developer's entry point is checked.
    assert!(
        r.read("plugins/p-pwsh/src/handler.ps1")
            .contains("function handle(")
    );
}

#[test]
fn gen_keeps_developer_code_and_refuses_hand_edited_fences() {
    let r = with_plugin("hello");
    set_handler(
        &r,
        "hello",
        "def handle(event, items):\n    # my own logic\n    return [], \"mine\"\n",
    );
    // Validation sees the change (manifest checksums), gen fixes the manifest only.
    let stale = transcript(&r, &[&["plugin", "validate", "hello"]]);
    r.ok(&["plugin", "gen", "hello", "--yes"]);
    // The developer's line survives among the generated handler's lines.
    assert!(
        r.read("plugins/hello/src/handler.py")
            .contains("# my own logic")
    );
    r.ok(&["plugin", "validate", "hello"]);
    // A hand edit inside an AUTO fence is reported, never overwritten.
    let rel = "plugins/hello/src/handler.py";
    let edited = r
        .read(rel)
        .replace("PROTOCOL_MAJOR = 1", "PROTOCOL_MAJOR = 1  # tweak");
    r.write(rel, &edited);
    let out = transcript(
        &r,
        &[
            &["plugin", "gen", "hello", "--yes"],
            &["plugin", "validate", "hello"],
        ],
    );
    assert_eq!(r.read(rel), edited);
    plugin_settings(&r).bind(|| {
        insta::assert_snapshot!("developer_area_changed_validate", stale);
        insta::assert_snapshot!("auto_fence_edited_by_hand", out);
    });
}

#[test]
fn validator_findings_name_file_and_fix_and_block_enable() {
    let r = with_plugin("hello");
    edit_spec(&r, "hello", |v| {
        v["actions"] = json!(["quarantine", "delete_file"]);
        v["protocol"] = json!(2);
    });
    std::fs::remove_file(r.root.join("plugins/hello/tests/test_handle.py")).expect("rm");
    r.write(
        "plugins/hello/examples/handle_request.json",
        "{\"event\": \"FileDetected\", \"items\": [{\"path\": 3}]}\n",
    );
    let out = r.run(&["plugin", "validate", "hello", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    for rule in [
        "actions-beyond-policy",
        "protocol-unsupported",
        "file-missing",
        "example-schema-mismatch",
        "derived-out-of-sync",
    ] {
        assert!(rules.contains(&rule), "{rule} not in {rules:?}");
    }
    for f in report["findings"].as_array().expect("findings") {
        assert!(
            f["file"]
                .as_str()
                .is_some_and(|s| s.starts_with("plugins/hello/")),
            "{f}"
        );
        assert!(!f["fix"].as_str().unwrap_or_default().is_empty(), "{f}");
    }
    // Each finding with its file and fix, as a person reads them.
    let human = transcript(&r, &[&["plugin", "validate", "hello"]]);
    // SARIF: one result per finding, each with a location.
    let sarif: Value = serde_json::from_slice(
        &r.run(&["plugin", "validate", "hello", "--format", "sarif"])
            .stdout,
    )
    .expect("sarif");
    assert_eq!(
        sarif["runs"][0]["results"].as_array().map(Vec::len),
        report["findings"].as_array().map(Vec::len)
    );
    // An invalid plugin cannot be enabled.
    let out = r.run(&["plugin", "enable", "hello", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!r.root.join("plugins/registry.json").exists());
    // Two plugins with one id: not unique.
    let r2 = with_plugin("one");
    let spec = r2.read("plugins/one/plugin.spec.json");
    r2.write(
        "plugins/two/plugin.spec.json",
        &spec.replace("\"one\"", "\"two\""),
    );
    r2.ok(&["plugin", "gen", "two", "--yes"]);
    let mut two = transcript(&r2, &[&["plugin", "validate", "--all"]]);
    // A bad spec names its field.
    r2.write(
        "plugins/two/plugin.spec.json",
        &spec.replace("\"events\"", "\"event\""),
    );
    two.push_str(&transcript(&r2, &[&["plugin", "validate", "two"]]));
    plugin_settings(&r).bind(|| insta::assert_snapshot!("validator_findings_human", human));
    plugin_settings(&r2).bind(|| insta::assert_snapshot!("validator_id_not_unique_bad_spec", two));
}

#[test]
fn a_changed_plugin_is_refused_until_enabled_again_and_the_contract_tracks_it() {
    let r = with_plugin("hello");
    r.ok(&["plugin", "enable", "hello", "--yes"]);
    r.ok(&["plugin", "validate", "--all"]);
    set_handler(
        &r,
        "hello",
        "def handle(event, items):\n    return [], \"sneaky\"\n",
    );
    r.write("junk.tmp", "x\n");
    let input = file_detected(&r, &["junk.tmp"]);
    let report = r.json_any(&["run", "FileDetected", "--yes", "--input", &input], 1);
    assert_eq!(
        report["plugins"][0]["fault"]["kind"],
        json!("not_validated")
    );
    let fault = serde_json::to_string_pretty(&report["plugins"][0]["fault"]).expect("json");
    assert!(r.root.join("junk.tmp").exists());
    r.ok(&["plugin", "gen", "hello", "--yes"]);
    r.ok(&["plugin", "enable", "hello", "--yes"]);
    r.ok(&["run", "FileDetected", "--yes", "--input", &input]);
    r.ok(&["plugin", "disable", "hello", "--yes"]);
    // No row of the generated contract names the disabled plugin.
    assert!(
        !r.read(".warden/OPERATING_CONTRACT.md")
            .contains("| `hello` |")
    );
    // A stale contract fails `validate --all`.
    let c = r.read(".warden/OPERATING_CONTRACT.md");
    r.write(".warden/OPERATING_CONTRACT.md", &(c + "edited\n"));
    let stale = transcript(&r, &[&["plugin", "validate", "--all"]]);
    plugin_settings(&r).bind(|| {
        insta::assert_snapshot!("changed_plugin_not_validated_fault", fault);
        insta::assert_snapshot!("contract_stale_validate_all", stale);
    });
}

#[test]
fn plugins_setsid_child_does_not_survive_warden_run() {
    let r = Repo::new();
    r.write("a.txt", "a\n");
    // The grandchild leaves the plugin's session and outlives the plugin;
    // its unusual sleep time marks it in the process table.
    python_plugin(
        &r,
        "escapee",
        1,
        "import os, sys, time\ndef handle(event, items):\n    pid = os.fork()\n    if pid == 0:\n        os.setsid()\n        os.execvp(\"sleep\", [\"sleep\", \"4242.4242\"])\n    time.sleep(0.3)\n    started = b\"4242.4242\" in open(f\"/proc/{pid}/cmdline\", \"rb\").read()\n    sys.stderr.write(f\"grandchild started: {started}\\n\")\n    return [], \"\"\n",
        |_| {},
    );
    let input = file_detected(&r, &["a.txt"]);
    let out = r
        .cmd(&["run", "FileDetected", "--yes", "--input", &input])
        .output()
        .expect("warden run");
    let log = std::fs::read_dir(r.root.join(".runs"))
        .expect(".runs")
        .flatten()
        .map(|e| e.path().join("escapee.stderr.log"))
        .find(|p| p.is_file())
        .map(|p| std::fs::read_to_string(p).expect("log"))
        .unwrap_or_default();
    // The plugin's own stderr log (Python's output among the runtime's).
    assert!(
        log.contains("grandchild started: True"),
        "{log}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let survivors = common::processes_with("4242.4242");
    assert!(
        survivors.is_empty(),
        "the plugin's setsid'd child survived: {survivors:?}"
    );
}

/// One misbehaving plugin of the fault matrix: its handler, its limits and
/// the fault it must be isolated with.
struct Fault {
    key: &'static str,
    handler: &'static str,
    limits: Option<Value>,
    kind: &'static str,
}

/// The faults, in priority order (1, 2, …).
fn faults() -> Vec<Fault> {
    vec![
        Fault {
            key: "crash",
            handler: "def handle(event, items):\n    raise SystemExit(3)\n",
            limits: None,
            kind: "crashed",
        },
        Fault {
            key: "hang",
            handler: "import time\ndef handle(event, items):\n    time.sleep(60)\n    return [], \"\"\n",
            limits: Some(json!({"timeout_ms": 700})),
            kind: "timed_out",
        },
        Fault {
            key: "garbage",
            handler: "def handle(event, items):\n    print(\"not json\")\n    raise SystemExit(0)\n",
            limits: None,
            kind: "garbage_output",
        },
        Fault {
            key: "huge",
            handler: "import sys\ndef handle(event, items):\n    sys.stdout.write(\"x\" * 5000000)\n    return [], \"\"\n",
            limits: Some(json!({"max_output_bytes": 65536})),
            kind: "output_too_large",
        },
        Fault {
            key: "writer",
            handler: "import os\ndef handle(event, items):\n    open(os.path.join(os.environ[\"WARDEN_REPO\"], \"pwned.txt\"), \"w\").write(\"x\")\n    return [], \"\"\n",
            limits: None,
            kind: "crashed",
        },
        Fault {
            key: "overreach",
            handler: "def handle(event, items):\n    return [{\"kind\": \"quarantine\", \"path\": \".git/config\", \"reason\": \"mine\"}], \"grab\"\n",
            limits: None,
            kind: "beyond_policy",
        },
        Fault {
            key: "selfedit",
            handler: "def handle(event, items):\n    return [{\"kind\": \"quarantine\", \"path\": \"plugins/registry.json\", \"reason\": \"mine\"}], \"grab\"\n",
            limits: None,
            kind: "beyond_policy",
        },
        Fault {
            key: "undeclared",
            handler: "def handle(event, items):\n    return [{\"kind\": \"write_file\", \"path\": \"x.txt\", \"content\": \"x\", \"expect\": \"absent\"}], \"w\"\n",
            limits: None,
            kind: "undeclared_action",
        },
        Fault {
            key: "oldproto",
            handler: "PROTOCOL_MAJOR = 2\ndef handle(event, items):\n    return [], \"\"\n",
            limits: None,
            kind: "protocol_mismatch",
        },
    ]
}

/// Each fault's plugin at its priority, and `good` (priority 10), enabled and
/// committed.
fn install_the_faulty_plugins_and_a_good_one(r: &Repo) {
    for (priority, fault) in (1..).zip(faults()) {
        python_plugin(r, fault.key, priority, fault.handler, |v| {
            if let Some(limits) = fault.limits {
                v["limits"] = limits;
            }
        });
    }
    r.ok(&common::plugin_new("good", "python"));
    edit_spec(r, "good", |v| v["priority"] = json!(10));
    r.ok(&["plugin", "gen", "good", "--yes"]);
    r.ok(&["plugin", "enable", "good", "--yes"]);
    r.git(&["add", "-A"]);
    r.git(&["commit", "-qm", "plugins"]);
}

/// The record of plugin KEY in a run's report.
fn plugin_of(report: &Value, k: &str) -> Value {
    report["plugins"]
        .as_array()
        .expect("plugins")
        .iter()
        .find(|p| p["plugin"] == k)
        .cloned()
        .expect(k)
}

#[test]
fn fault_matrix_each_fault_is_isolated_and_recorded() {
    let r = Repo::new();
    install_the_faulty_plugins_and_a_good_one(&r);
    r.write("junk.tmp", "x\n");
    let input = file_detected(&r, &["junk.tmp"]);
    let before = r.tree();
    let report = r.json_any(&["run", "FileDetected", "--yes", "--input", &input], 1);
    let order: Vec<&str> = report["plugins"]
        .as_array()
        .expect("p")
        .iter()
        .filter_map(|p| p["plugin"].as_str())
        .collect();
    assert_eq!(
        order,
        [
            "crash",
            "hang",
            "garbage",
            "huge",
            "writer",
            "overreach",
            "selfedit",
            "undeclared",
            "oldproto",
            "good"
        ]
    );
    for Fault { key, kind, .. } in faults() {
        let p = plugin_of(&report, key);
        assert_eq!(p["fault"]["kind"], json!(kind), "{key}: {p:#}");
        assert_eq!(p["outcome"], json!("isolated"), "{key}");
    }
    // The hanging plugin was killed at its limit, not waited for (it sleeps 60 s).
    assert!(
        plugin_of(&report, "hang")["duration_ms"]
            .as_u64()
            .expect("ms")
            < 30_000
    );
    only_the_good_plugins_proposal_changed_the_tree(&r, &report, &before);
    r.ok(&["ledger", "verify"]);
    // The dispatch's ledger entry holds every plugin's record.
    let entry = r.json(&["ledger", "show", report["run"].as_str().expect("run")]);
    assert_eq!(
        entry["details"]["plugins"].as_array().map(Vec::len),
        Some(10)
    );
}

fn only_the_good_plugins_proposal_changed_the_tree(
    r: &Repo,
    report: &Value,
    before: &std::collections::BTreeMap<String, (Vec<u8>, u32)>,
) {
    // The sandbox stopped the write (the read-only repository mount, or
    // Landlock where there are no namespaces); the good plugin still ran.
    assert!(!r.root.join("pwned.txt").exists());
    let log = String::from_utf8_lossy(
        &std::fs::read(r.root.join(format!(
            ".runs/{}/writer.stderr.log",
            report["run"].as_str().expect("run")
        )))
        .expect("stderr log"),
    )
    .into_owned();
    // Python's error: which one depends on the kernel's sandbox layers.
    assert!(
        log.contains("PermissionError") || log.contains("Read-only file system"),
        "{log}"
    );
    assert_eq!(plugin_of(report, "good")["outcome"], json!("applied"));
    assert!(!r.root.join("junk.tmp").exists());
    // Rejected proposals are kept in quarantine.
    assert!(
        plugin_of(report, "overreach")["quarantined"][0]
            .as_str()
            .expect("q")
            .ends_with("overreach.proposal.json")
    );
    let mut after = r.tree();
    after.retain(|k, _| !k.starts_with(".quarantine/"));
    let mut expected = before.clone();
    expected.remove("junk.tmp");
    assert_eq!(
        after, expected,
        "only the good plugin's proposal changed the tree"
    );
}

#[test]
fn without_the_kernel_sandbox_writes_are_rolled_back_and_policy_decides() {
    let r = Repo::new();
    python_plugin(
        &r,
        "writer",
        1,
        "import os\ndef handle(event, items):\n    p = os.path.join(os.environ[\"WARDEN_REPO\"], \"notes.md\")\n    open(p, \"w\").write(\"overwritten\\n\")\n    open(os.path.join(os.environ[\"WARDEN_REPO\"], \"new.txt\"), \"w\").write(\"n\")\n    return [], \"\"\n",
        |_| {},
    );
    r.write("notes.md", "mine\n");
    let before = r.tree();
    // Policy says no: refused before it starts.
    let out = r
        .cmd(&["run", "FileDetected", "--yes", "--format", "json"])
        .env("WARDEN_SANDBOX", "off")
        .output()
        .expect("run");
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        report["plugins"][0]["fault"]["kind"],
        json!("sandbox_unavailable"),
        "{report:#}"
    );
    // Policy allows unsandboxed plugins: the write happens, is detected, rolled back, kept.
    let policy = r
        .read(".warden/policy.yaml")
        .replace("run_unsandboxed: false", "run_unsandboxed: true");
    r.write(".warden/policy.yaml", &policy);
    r.ok(&["plugin", "gen", "writer", "--yes"]);
    r.ok(&["plugin", "enable", "writer", "--yes"]);
    let before = {
        let mut b = before;
        b.extend(r.tree());
        r.tree()
    };
    let out = r
        .cmd(&["run", "FileDetected", "--yes", "--format", "json"])
        .env("WARDEN_SANDBOX", "off")
        .output()
        .expect("run");
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    let p = &report["plugins"][0];
    assert_eq!(p["fault"]["kind"], json!("repo_modified"), "{report:#}");
    assert_eq!(p["sandbox"], json!("none"));
    let mut after = r.tree();
    let kept: Vec<String> = after
        .keys()
        .filter(|k| k.starts_with(".quarantine/"))
        .cloned()
        .collect();
    after.retain(|k, _| !k.starts_with(".quarantine/"));
    assert_eq!(after, before, "the plugin's writes were not rolled back");
    assert!(
        kept.iter()
            .any(|k| k.ends_with("writer-repo-writes/notes.md")),
        "{kept:?}"
    );
    assert!(
        kept.iter()
            .any(|k| k.ends_with("writer-repo-writes/new.txt")),
        "{kept:?}"
    );
}

#[test]
fn identity_cards_are_immutable_unique_and_the_log_append_only() {
    let r = with_plugin("hello");
    r.ok(&["ids", "check"]);
    r.ok(&["ids", "build", "--yes"]);
    // The generated registry (dates, digests) lists the plugin's card.
    assert!(
        r.read("ids/registry.yaml")
            .contains("artifact: plugins/hello")
    );
    r.git(&["add", "-A"]);
    r.git(&["commit", "-qm", "base"]);
    r.ok(&["ids", "check", "--base", "HEAD"]);
    // One artifact, one card.
    let mut t = transcript(&r, &[&["ids", "mint", "plugin", "plugins/hello", "--yes"]]);
    r.ok(&["ids", "mint", "module", "docs", "--yes"]);
    // The mint rewrote the generated registry in the same run.
    r.ok(&["ids", "check"]);
    // A registry edited by hand is stale.
    let registry = r.read("ids/registry.yaml");
    r.write("ids/registry.yaml", &format!("{registry}# edited\n"));
    t.push_str(&transcript(&r, &[&["ids", "check"]]));
    r.ok(&["ids", "build", "--yes"]);
    assert_eq!(r.read("ids/registry.yaml"), registry);
    r.ok(&["ids", "check", "--base", "HEAD"]);
    // A modified card fails, locally and against the base.
    let card = r
        .git(&["ls-files", "ids/cards"])
        .lines()
        .next()
        .expect("card")
        .to_string();
    let text = r.read(&card);
    r.write(&card, &text.replace("name: ", "name: x"));
    t.push_str(&transcript(&r, &[&["ids", "check", "--base", "HEAD"]]));
    r.write(&card, &text);
    // A rewritten id log fails against the base.
    let log = r.read(".ledger/ids.jsonl");
    let first = log.lines().next().expect("line").to_string();
    r.write(
        ".ledger/ids.jsonl",
        &log.replacen(&first, &first.replace("mint", "mint "), 1),
    );
    let out = r.run(&["ids", "check", "--base", "HEAD", "--format", "json"]);
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .expect("f")
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert!(rules.contains(&"id-log-rewritten"), "{rules:?}");
    r.write(".ledger/ids.jsonl", &log);
    // A copied card (same id, another file) collides; the registry goes stale.
    r.write("ids/cards/01ARZ3NDEKTSV4RRFFQ69G5FAV.yaml", &text);
    t.push_str(&transcript(&r, &[&["ids", "check"]]));
    let mut settings = plugin_settings(&r);
    settings.add_filter(r"created: \d{4}-\d\d-\d\d", "created: [DATE]");
    settings.bind(|| insta::assert_snapshot!("ids_one_card_stale_modified_copied", t));
}
