//! The contracts commands through the real binary: `check` (exit codes, one
//! JSON object, SARIF, baseline, the report file), `gen docs` (--check drift
//! with a diff, hand text kept byte for byte, a hand edit inside a fence
//! reported), `gen tests`, `fix` + `undo` byte-exact, and `contracts new`.
// Tests, examples and benches drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;
use common::Repo;

fn seed_repo() -> Repo {
    let r = Repo::new();
    r.write(
        "README.meta.yaml",
        "location: \"/\"\ntype: root_readme\nproject:\n  name: Demo\n  one_liner: A demo.\n",
    );
    r.write(
        "svc/tests.meta.yaml",
        "type: subsystem_test_spec\nsubsystem: {name: Svc}\nunit_tests:\n  modules:\n    - path: svc/engine.py\n      file: tests/test_engine.py\n      must_cover: [\"Starts.\", \"Stops.\"]\n",
    );
    r.write(
        "docs/architecture.meta.yaml",
        "type: doc_architecture\nsystem_context: {description: One service.}\n",
    );
    // The code the test spec names as its subject.
    r.write("svc/engine.py", "");
    r
}

#[test]
fn check_exit_codes_json_and_the_report_file() {
    let r = Repo::new();
    // No meta files: clean, no report.
    r.ok(&["check"]);
    assert!(!r.root.join("meta-gaps.yaml").exists());
    let r = seed_repo();
    let before = r.tree();
    let out = r.run(&["check", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("exactly one JSON object");
    assert_eq!(v["schema"], "warden.check/v1");
    assert_eq!(v["clean"], false);
    let kinds: Vec<&str> = v["gaps"]
        .as_array()
        .expect("gaps")
        .iter()
        .map(|g| g["kind"].as_str().expect("kind"))
        .collect();
    assert!(
        kinds.contains(&"missing_doc") && kinds.contains(&"missing_test_file"),
        "{kinds:?}"
    );
    // Read-only: the one file written is the gap report.
    let mut after = r.tree();
    assert!(after.remove("meta-gaps.yaml").is_some());
    assert_eq!(before, after);
    // Config error: exit 2, naming the file and field.
    r.write(
        ".warden/contracts.yaml",
        "schema: warden.contracts/v1\nsupress: []\n",
    );
    let err = r.fails(&["check"], 2);
    assert!(
        err.contains(".warden/contracts.yaml") && err.contains("suppress"),
        "{err}"
    );
    std::fs::remove_file(r.root.join(".warden/contracts.yaml")).expect("rm");
    let err = r.fails(&["check", "--baseline", "/nonexistent/baseline.yaml"], 2);
    assert!(err.contains("baseline"), "{err}");
}

#[test]
fn check_from_another_directory_reports_the_same_gaps() {
    let r = seed_repo();
    let here = r.json_any(&["check"], 1);
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let out = common::isolated(common::BIN, r.home.path())
        .args(["check", "--format", "json", "--repo"])
        .arg(&r.root)
        .current_dir(elsewhere.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let there: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(here["gaps"], there["gaps"]);
    assert!(
        std::fs::read_dir(elsewhere.path())
            .expect("dir")
            .next()
            .is_none(),
        "nothing written in the cwd"
    );
}

#[test]
fn baseline_adoption_then_sarif() {
    let r = seed_repo();
    r.fails(&["check"], 1);
    std::fs::rename(
        r.root.join("meta-gaps.yaml"),
        r.home.path().join("baseline.yaml"),
    )
    .expect("mv");
    let base = r.home.path().join("baseline.yaml").display().to_string();
    r.ok(&["check", "--baseline", &base]);
    r.write(
        "docs/ai-collaboration.meta.yaml",
        "type: doc_ai_collaboration\nediting_rules: {allowed_areas: [docs]}\n",
    );
    let err = r.run(&["check", "--baseline", &base]);
    assert_eq!(err.status.code(), Some(1), "a new gap fails");
    let s = r.run(&["check", "--baseline", &base, "--format", "sarif"]);
    let v: serde_json::Value = serde_json::from_slice(&s.stdout).expect("sarif");
    let states: Vec<&str> = v["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|x| x["baselineState"].as_str().expect("state"))
        .collect();
    assert_eq!(
        states.iter().filter(|s| **s == "new").count(),
        1,
        "{states:?}"
    );
    // --format sarif is refused where it means nothing.
    r.fails(&["runs", "--format", "sarif"], 2);
}

#[test]
fn fix_is_one_undoable_run_and_undo_is_byte_exact() {
    let r = seed_repo();
    r.git(&["add", "-A"]);
    let before = r.tree();
    // No terminal, no --yes: refused, nothing written.
    r.fails(&["fix"], 2);
    assert_eq!(r.tree(), before);
    let out = r.json(&["fix", "--yes"]);
    assert_eq!(out["schema"], "warden.fix/v1");
    let changed: Vec<&str> = out["changed"]
        .as_array()
        .expect("changed")
        .iter()
        .map(|c| c.as_str().expect("path"))
        .collect();
    assert_eq!(
        changed,
        vec!["README.md", "docs/architecture.md", "tests/test_engine.py"]
    );
    for a in out["actions"].as_array().expect("actions") {
        assert!(a["gap"].as_str().expect("gap").starts_with("gap-"));
    }
    let run = out["run"].as_str().expect("run").to_string();
    let v = r.json_any(&["check"], 1);
    let kinds: std::collections::BTreeSet<&str> = v["gaps"]
        .as_array()
        .expect("gaps")
        .iter()
        .map(|g| g["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(kinds, ["pending_test"].into_iter().collect(), "{v:#}");
    r.ok(&["undo", &run, "--yes"]);
    let mut now = r.tree();
    now.remove("meta-gaps.yaml");
    let mut was = before.clone();
    was.remove("meta-gaps.yaml");
    assert_eq!(now, was, "undo restores the tree byte for byte");
}

#[test]
fn gen_docs_check_shows_a_diff_keeps_hand_text_and_reports_hand_edits() {
    let r = seed_repo();
    r.ok(&["gen", "docs", "--yes"]);
    r.ok(&["gen", "docs", "--check"]);
    // Hand-written text outside the fences survives a regeneration byte for byte.
    let doc = r.read("docs/architecture.md");
    let with_notes = doc.replace("## Data view\n", "## Data view\n\nHand notes, *kept*.\n");
    r.write("docs/architecture.md", &with_notes);
    r.write(
        "docs/architecture.meta.yaml",
        "type: doc_architecture\nsystem_context: {description: Two services.}\n",
    );
    let out = r.run(&["gen", "docs", "--check"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("-**Description**: One service.")
            && stdout.contains("+**Description**: Two services."),
        "{stdout}"
    );
    assert_eq!(
        r.read("docs/architecture.md"),
        with_notes,
        "--check writes nothing"
    );
    r.ok(&["gen", "docs", "--yes"]);
    let new = r.read("docs/architecture.md");
    assert!(new.contains("## Data view\n\nHand notes, *kept*.\n") && new.contains("Two services."));
    assert_eq!(
        outside_fences(&new),
        outside_fences(&with_notes),
        "hand text byte-identical"
    );
    // A hand edit inside a fence: reported, never overwritten.
    let edited = new.replace(
        "**Description**: Two services.",
        "**Description**: edited by hand",
    );
    r.write("docs/architecture.md", &edited);
    let err = r.fails(&["gen", "docs", "--yes"], 1);
    assert!(err.contains("edited by hand"), "{err}");
    assert_eq!(r.read("docs/architecture.md"), edited);
    let v = r.json_any(&["check"], 1);
    assert!(
        v["gaps"]
            .as_array()
            .expect("gaps")
            .iter()
            .any(|g| g["kind"] == "drift")
    );
    // A deleted marker is an error, never an append.
    let broken = new.replace("<!-- BEGIN AUTO SECTION: data-view -->\n", "");
    r.write("docs/architecture.md", &broken);
    let err = r.fails(&["gen", "docs", "--yes"], 1);
    assert!(err.contains("data-view"), "{err}");
    assert_eq!(r.read("docs/architecture.md"), broken);
}

/// The text outside the AUTO fences (markers and bodies dropped).
fn outside_fences(t: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in t.split_inclusive('\n') {
        if line.contains("BEGIN AUTO SECTION:") {
            inside = true;
        } else if line.contains("END AUTO SECTION:") {
            inside = false;
        } else if !inside {
            out.push_str(line);
        }
    }
    out
}

#[test]
fn gen_tests_writes_pending_skeletons_once() {
    let r = seed_repo();
    r.ok(&["gen", "tests", "--yes"]);
    let t = r.read("tests/test_engine.py");
    assert!(
        t.contains("@pytest.mark.skip(reason=\"pending: Starts.\")"),
        "{t}"
    );
    assert_eq!(r.ok(&["gen", "tests", "--yes"]).trim(), "nothing to do");
}

#[test]
fn contracts_new_writes_an_annotated_template() {
    let r = Repo::new();
    let list = r.ok(&["contracts", "new", "--list"]);
    assert!(
        list.contains("root_readme") && list.contains("seed: l9_module_meta"),
        "{list}"
    );
    r.fails(&["contracts", "new", "root_readm"], 2);
    r.write("svc/x.py", "");
    let out = r.json(&["contracts", "new", "subsystem_readme", "svc/", "--yes"]);
    assert_eq!(out["path"], "svc/README.meta.yaml");
    let t = r.read("svc/README.meta.yaml");
    assert!(t.contains("type: subsystem_readme  #"), "{t}");
    r.fails(
        &["contracts", "new", "subsystem_readme", "svc/", "--yes"],
        2,
    );
    let schema = r.ok(&["schema", "meta.subsystem_readme"]);
    assert!(schema.contains("\"subsystem\""));
}

#[test]
fn check_coverage_compares_declared_thresholds_with_a_given_report() {
    let r = Repo::new();
    r.write(
        "tests/unit/meta.yaml",
        "type: test_unit_spec\nscope: {description: all}\nexpectations: {coverage_target: 0.9}\n",
    );
    r.write(
        "cov/coverage.json",
        r#"{"files": {"a.py": {"summary": {"covered_lines": 3, "num_statements": 4}}}, "totals": {"covered_lines": 3, "num_statements": 4}}"#,
    );
    // Without a report the threshold is declared only.
    r.ok(&["check"]);
    let v = r.json_any(&["check", "--coverage", "cov/coverage.json"], 1);
    let gaps = v["gaps"].as_array().expect("gaps");
    assert_eq!(gaps.len(), 1, "{v}");
    assert_eq!(gaps[0]["kind"], "coverage_below_target");
    assert_eq!(gaps[0]["context"]["measured"], 0.75);
    assert_eq!(gaps[0]["context"]["reports"][0], "cov/coverage.json");
    // An integration report does not answer a unit threshold.
    r.ok(&[
        "check",
        "--no-report",
        "--coverage",
        "integration=cov/coverage.json",
    ]);
    // A branch target is compared with the report's branch counts.
    r.write(
        "tests/unit/meta.yaml",
        "type: test_unit_spec\nscope: {description: all}\nexpectations: {coverage_target: 0.5, branch_coverage_target: 0.9}\n",
    );
    r.write(
        "cov/branches.json",
        r#"{"files": {"a.py": {"summary": {"covered_lines": 3, "num_statements": 4, "covered_branches": 1, "num_branches": 2}}}}"#,
    );
    let v = r.json_any(
        &["check", "--no-report", "--coverage", "cov/branches.json"],
        1,
    );
    let gaps = v["gaps"].as_array().expect("gaps");
    assert_eq!(gaps.len(), 1, "{v}");
    assert_eq!(gaps[0]["key"], "expectations.branch_coverage_target");
    assert_eq!(gaps[0]["context"]["measure"], "branches");
    assert_eq!(gaps[0]["context"]["measured"], 0.5);
    assert_eq!(gaps[0]["context"]["covered_branches"], 1);
    // Unreadable reports and unknown kinds are input errors.
    r.write("cov/bad.xml", "<coverage><class name='x'></coverage>");
    let err = r.fails(&["check", "--coverage", "cov/bad.xml"], 2);
    assert!(
        err.contains("cov/bad.xml") && err.contains("filename"),
        "{err}"
    );
    let err = r.fails(&["check", "--coverage", "smoke=cov/coverage.json"], 2);
    assert!(err.contains("unknown kind"), "{err}");
    r.fails(&["check", "--coverage", "cov/missing.json"], 2);
}

#[test]
fn gen_docs_adopt_is_one_undoable_run_that_keeps_the_hand_text() {
    let r = Repo::new();
    r.ok(&["init"]);
    r.write(
        "docs/architecture.meta.yaml",
        "type: doc_architecture\nsystem_context: {description: One service.}\n",
    );
    let hand = "# Architecture\n\nOur own intro.\n\n## System context\n\nWritten by hand.\n";
    r.write("docs/architecture.md", hand);
    // Hand-written: not rewritten by gen docs, headings checked by check.
    r.ok(&["gen", "docs", "--check"]);
    // Dry run: the diff, nothing written.
    let out = r.ok(&[
        "gen",
        "docs",
        "--adopt",
        "docs/architecture.md",
        "--dry-run",
    ]);
    assert!(
        out.contains("+<!-- BEGIN AUTO SECTION: system-context -->"),
        "{out}"
    );
    assert_eq!(r.read("docs/architecture.md"), hand);
    // Without a terminal --yes is required.
    r.fails(&["gen", "docs", "--adopt", "docs/architecture.md"], 2);
    let v = r.json(&["gen", "docs", "--adopt", "docs/architecture.md", "--yes"]);
    let run = v["run"].as_str().expect("run id").to_string();
    let adopted = r.read("docs/architecture.md");
    assert!(adopted.contains("warden-stamp") && adopted.contains("Our own intro.\n"));
    assert!(adopted.contains(" -->\n\nWritten by hand.\n"), "{adopted}");
    // Now managed and in step: check is clean, gen docs --check has nothing to do.
    r.ok(&["gen", "docs", "--check"]);
    r.ok(&["check", "--no-report"]);
    // Twice: refused, exit 2, naming why.
    let err = r.fails(
        &["gen", "docs", "--adopt", "docs/architecture.md", "--yes"],
        2,
    );
    assert!(err.contains("already managed"), "{err}");
    r.ok(&["undo", &run, "--yes"]);
    assert_eq!(r.read("docs/architecture.md"), hand);
}

/// `gen docs --check` remembers its stamp proofs only in the clone's ignored
/// state (git sees no change), and a remembered proof never hides a hand
/// edit inside a fence, even one that keeps the document's size.
#[test]
fn gen_docs_check_remembers_proofs_in_ignored_state_and_still_sees_hand_edits() {
    let r = seed_repo();
    r.ok(&["gen", "docs", "--yes"]);
    r.git(&["add", "-A"]);
    r.git(&["commit", "--quiet", "-m", "documents"]);
    // Only changes older than the settle time are remembered.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    r.ok(&["gen", "docs", "--check"]);
    let cache = r.root.join(warden_contracts::proofs::FILE);
    let proofs: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cache).expect("proofs remembered")).expect("json");
    let mut metas: Vec<&String> = proofs["proofs"]
        .as_object()
        .expect("proofs")
        .keys()
        .collect();
    metas.sort();
    assert_eq!(metas, ["README.meta.yaml", "docs/architecture.meta.yaml"]);
    assert_eq!(r.git(&["status", "--porcelain"]), "", "nothing git tracks");
    r.ok(&["gen", "docs", "--check"]);
    let doc = r.read("docs/architecture.md");
    let edited = doc.replace("One service.", "One servic_.");
    assert_eq!(edited.len(), doc.len());
    r.write("docs/architecture.md", &edited);
    let out = r.run(&["gen", "docs", "--check"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}
