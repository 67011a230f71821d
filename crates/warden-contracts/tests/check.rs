//! `warden check` at library level: the seed's examples, each of the ten
//! defects of the seed's `ci_meta_check_and_tests.py` as a
//! regression test, stable ids, suppressions, baselines, module and wiring
//! contracts, and the generators' guarantees.
// Tests, examples and benches drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{
    context_rows, fix_rows, gaps_from, of_kind, registered_modules, repo_with_gaps, rows, run,
    seed_layout, seeded, write,
};
use std::path::Path;
use warden_contracts::check::{self, CheckOptions};
use warden_contracts::gaps::{self, GapKind, Status};
use warden_contracts::generate;
use warden_contracts::meta::{self, MetaType};

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

#[test]
fn every_seed_example_parses_and_validates_against_its_schema() {
    let mut n = 0;
    for e in std::fs::read_dir(fixtures().join("seed004")).expect("dir") {
        let p = e.expect("entry").path();
        let bytes = std::fs::read(&p).expect("read");
        let name = p.display().to_string();
        let v = warden_core::strict::parse_yaml(&bytes, &name).expect("yaml");
        let t = MetaType::from_name(v["type"].as_str().expect("type")).expect("known type");
        meta::validate(t, &v, &name).expect("valid");
        // And against the published JSON Schema.
        let schema = meta::schema_of(t);
        let validator = jsonschema::draft7::new(&schema).expect("schema compiles");
        let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
        n += 1;
    }
    assert_eq!(n, 19, "the seed's 19 typed examples");
}

#[test]
fn a_required_key_missing_is_a_schema_violation_naming_the_field() {
    let d = tempfile::tempdir().expect("tempdir");
    write(
        d.path(),
        "x/tests.meta.yaml",
        "type: subsystem_test_spec\nunit_tests: {modules: []}\n",
    );
    let r = run(d.path());
    let g = of_kind(&r, GapKind::SchemaViolation);
    assert_eq!(g.len(), 1, "{:#?}", r.gaps);
    assert!(g[0].message.contains("subsystem"), "{}", g[0].message);
    // Unknown project-specific keys are allowed.
    write(
        d.path(),
        "x/tests.meta.yaml",
        "type: subsystem_test_spec\nsubsystem: {name: A, team: core}\nowner: me\n",
    );
    assert!(run(d.path()).gaps.is_empty());
}

#[test]
fn seed_aliases_are_accepted() {
    for (alias, t) in [
        ("l9_repo_contract", MetaType::RepoContract),
        ("l9_module_contracts", MetaType::ModuleContracts),
        ("l9_module_meta", MetaType::ModuleMeta),
        ("l9_wiring_contracts", MetaType::WiringContracts),
    ] {
        assert_eq!(MetaType::from_name(alias), Some(t));
    }
}

#[test]
fn seed_layout_reports_the_true_gaps_only() {
    let (_d, r) = seeded();
    let mut got: Vec<(String, String)> = r
        .gaps
        .iter()
        .map(|g| {
            (
                g.kind.name().to_string(),
                g.target_file.clone().unwrap_or(g.meta_file.clone()),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("invalid_meta".to_string(), "bad.meta.yaml".to_string()),
            ("missing_doc".into(), "docs/architecture.md".into()),
            ("missing_doc".into(), "tests/strategy.md".into()),
            (
                "missing_test_file".into(),
                "tests/unit/test_agents_engine.py".into()
            ),
            (
                "missing_test_file".into(),
                "tests/unit/test_task_queue.py".into()
            ),
        ]
    );
}

#[test]
fn seed_defect_01_root_location_slash_means_the_repository_root() {
    let (d, r) = seeded();
    assert!(
        !r.gaps.iter().any(|g| g.meta_file == "README.meta.yaml"),
        "{:#?}",
        r.gaps
    );
    std::fs::remove_file(d.path().join("README.md")).expect("rm");
    let r = run(d.path());
    let g = of_kind(&r, GapKind::MissingDoc);
    assert!(
        g.iter()
            .any(|g| g.target_file.as_deref() == Some("README.md")),
        "{:#?}",
        r.gaps
    );
}

#[test]
fn seed_defect_02_subsystem_location_is_not_joined_to_the_meta_folder_again() {
    let (_d, r) = seeded();
    assert!(
        !r.gaps
            .iter()
            .any(|g| g.meta_file == "l9/core/agents/README.meta.yaml"
                || g.target_file
                    .as_deref()
                    .is_some_and(|t| t.contains("agents/l9"))),
        "{:#?}",
        r.gaps
    );
}

#[test]
fn seed_defect_03_meta_yaml_in_test_folders_is_scanned() {
    let (_d, r) = seeded();
    assert!(r.gaps.iter().any(|g| g.meta_file == "tests/unit/meta.yaml"));
}

#[test]
fn seed_defect_04_unit_spec_module_policy_files_are_checked() {
    let (d, r) = seeded();
    let g: Vec<_> = of_kind(&r, GapKind::MissingTestFile)
        .into_iter()
        .filter(|g| g.meta_file == "tests/unit/meta.yaml")
        .collect();
    assert_eq!(g.len(), 1);
    assert_eq!(
        g[0].target_file.as_deref(),
        Some("tests/unit/test_task_queue.py")
    );
    assert_eq!(g[0].context["module_path"], "l9/core/task_queue.py");
    write(
        d.path(),
        "tests/unit/test_task_queue.py",
        "def test_x():\n    assert True\n",
    );
    assert_eq!(gaps_from(d.path(), "tests/unit/meta.yaml"), 0);
}

#[test]
fn seed_defect_05_paths_resolve_against_the_root() {
    // Library level: the check takes the root, never the working directory;
    // targets are the repository-relative paths the meta names. (The CLI test
    // `check_from_another_directory_reports_the_same_gaps` runs it elsewhere.)
    let (d, r) = seeded();
    for g in &r.gaps {
        if let Some(t) = &g.target_file {
            assert!(!t.starts_with('/') && !t.contains(".."), "{t}");
            assert!(d.path().join(t).starts_with(d.path()));
        }
    }
    write(
        d.path(),
        "tests/strategy.md",
        "# Test strategy\n## Philosophy\n## Test layout\n## Tooling\n## Environments\n",
    );
    assert_eq!(gaps_from(d.path(), "tests/strategy.meta.yaml"), 0);
}

#[test]
fn seed_defect_06_empty_or_non_mapping_meta_is_a_gap_and_the_report_is_still_written() {
    let d = tempfile::tempdir().expect("tempdir");
    write(d.path(), "empty.meta.yaml", "");
    write(d.path(), "list.meta.yaml", "- a\n- b\n");
    write(d.path(), "notype.meta.yaml", "project: {name: x}\n");
    let r = run(d.path());
    let g = of_kind(&r, GapKind::InvalidMeta);
    assert_eq!(g.len(), 3, "{:#?}", r.gaps);
    assert!(g.iter().any(|g| g.message.contains("empty")));
    assert!(check::write_gap_file(d.path(), &r).expect("write"));
    assert!(
        std::fs::read_to_string(d.path().join("meta-gaps.yaml"))
            .expect("read")
            .contains("empty.meta.yaml")
    );
}

#[test]
fn seed_defect_07_vendored_and_ignored_meta_files_are_skipped() {
    let d = tempfile::tempdir().expect("tempdir");
    write(
        d.path(),
        "node_modules/x/vendored.meta.yaml",
        "type: root_readme\n",
    );
    write(d.path(), ".venv/lib/y.meta.yaml", "type: root_readme\n");
    write(d.path(), "build/z.meta.yaml", "type: root_readme\n");
    write(d.path(), ".gitignore", "build/\n");
    write(d.path(), "crates/x/tests/fixtures/a.meta.yaml", "");
    write(
        d.path(),
        ".warden/contracts.yaml",
        "schema: warden.contracts/v1\nexclude: [\"crates/*/tests/fixtures/**\"]\n",
    );
    let r = run(d.path());
    assert!(r.gaps.is_empty(), "{:#?}", r.gaps);
    assert_eq!(r.meta_files, 0);
}

#[test]
fn seed_defect_08_a_clean_run_removes_the_stale_report() {
    let d = tempfile::tempdir().expect("tempdir");
    write(
        d.path(),
        "docs/architecture.meta.yaml",
        "type: doc_architecture\nsystem_context: {description: x}\n",
    );
    let r = run(d.path());
    assert!(check::write_gap_file(d.path(), &r).expect("write"));
    assert!(d.path().join("meta-gaps.yaml").exists());
    let bytes = std::fs::read(d.path().join("docs/architecture.meta.yaml")).expect("read");
    let body = warden_contracts::render::render_full(&warden_contracts::render::DocInputs {
        generator: &warden_contracts::render::generator_id(),
        meta_type: MetaType::DocArchitecture,
        meta_file: "docs/architecture.meta.yaml",
        target: "docs/architecture.md",
        meta_bytes: &bytes,
    });
    write(d.path(), "docs/architecture.md", &body);
    let r = run(d.path());
    assert!(r.clean, "{:#?}", r.gaps);
    assert!(!check::write_gap_file(d.path(), &r).expect("write"));
    assert!(!d.path().join("meta-gaps.yaml").exists());
}

#[test]
fn seed_defect_09_a_missing_runner_and_no_tests_collected_are_named_outcomes() {
    use warden_contracts::config::TestsConfig;
    use warden_contracts::run_tests::{Outcome, run};
    let d = tempfile::tempdir().expect("tempdir");
    let env: Vec<(std::ffi::OsString, std::ffi::OsString)> =
        vec![("PATH".into(), std::env::var_os("PATH").unwrap_or_default())];
    let cfg = |cmd: &[&str], allow: bool| TestsConfig {
        command: cmd.iter().map(|s| s.to_string()).collect(),
        no_tests_exit_codes: vec![5],
        allow_no_tests: allow,
        timeout_seconds: 60,
    };
    let t = run(d.path(), &cfg(&["warden-no-such-test-runner"], false), &env);
    assert_eq!((t.outcome, t.ok), (Outcome::NotFound, false));
    let t = run(d.path(), &cfg(&["sh", "-c", "exit 5"], false), &env);
    assert_eq!((t.outcome, t.ok), (Outcome::NoTests, false));
    let t = run(d.path(), &cfg(&["sh", "-c", "exit 5"], true), &env);
    assert_eq!((t.outcome, t.ok), (Outcome::NoTests, true));
    let t = run(
        d.path(),
        &cfg(&["sh", "-c", "echo boom; exit 3"], false),
        &env,
    );
    assert_eq!(
        (t.outcome, t.exit_code, t.ok),
        (Outcome::Failed, Some(3), false)
    );
    assert!(t.output_tail.contains("boom"));
    let t = run(d.path(), &cfg(&["true"], false), &env);
    assert_eq!((t.outcome, t.ok), (Outcome::Passed, true));
}

#[test]
fn seed_defect_10_the_report_is_v1_with_ids_meta_types_and_relative_paths() {
    let d = tempfile::tempdir().expect("tempdir");
    seed_layout(d.path());
    write(
        d.path(),
        ".l9_repo.meta.yaml",
        "type: l9_repo_contract\nroot_package: l9\npaths: {core: l9/core}\n",
    );
    let r = run(d.path());
    check::write_gap_file(d.path(), &r).expect("write");
    let text = std::fs::read_to_string(d.path().join("meta-gaps.yaml")).expect("read");
    let v = warden_core::strict::parse_yaml(text.as_bytes(), "meta-gaps.yaml").expect("yaml");
    assert_eq!(v["version"], 1);
    assert_eq!(v["repo"]["root"], ".");
    assert_eq!(v["repo"]["meta_repo_contract"], ".l9_repo.meta.yaml");
    let ids: Vec<&str> = v["gaps"]
        .as_array()
        .expect("gaps")
        .iter()
        .map(|g| g["id"].as_str().expect("id"))
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "sorted by id");
    for g in v["gaps"].as_array().expect("gaps") {
        for k in [
            "id",
            "kind",
            "meta_type",
            "meta_file",
            "target_file",
            "context",
        ] {
            assert!(g.get(k).is_some(), "{k} in {g}");
        }
        assert!(!g["meta_file"].as_str().expect("meta").starts_with('/'));
    }
    assert!(
        !text.contains(&d.path().display().to_string()),
        "no absolute paths"
    );
    let schema = warden_contracts::schema::get("meta-gaps").expect("schema");
    let validator = jsonschema::draft7::new(&schema).expect("compiles");
    assert!(validator.is_valid(&v));
}

#[test]
fn gap_ids_are_stable_when_other_gaps_come_and_go() {
    let (d, first) = seeded();
    let again = run(d.path());
    let ids = |r: &check::CheckReport| r.gaps.iter().map(|g| g.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&first), ids(&again));
    // Fix one gap, add another: every other gap keeps its id.
    write(
        d.path(),
        "tests/unit/test_task_queue.py",
        "def test_q():\n    pass\n",
    );
    write(
        d.path(),
        "docs/ai-collaboration.meta.yaml",
        "type: doc_ai_collaboration\nediting_rules: {allowed_areas: [docs]}\n",
    );
    let later = run(d.path());
    let before: std::collections::BTreeSet<_> = ids(&first).into_iter().collect();
    let after: std::collections::BTreeSet<_> = ids(&later).into_iter().collect();
    assert_eq!(before.difference(&after).count(), 1, "one gap fixed");
    assert_eq!(after.difference(&before).count(), 1, "one gap added");
}

#[test]
fn missing_sections_are_named_and_empty_documents_reported() {
    let d = tempfile::tempdir().expect("tempdir");
    write(
        d.path(),
        "docs/architecture.meta.yaml",
        "type: doc_architecture\nsystem_context: {description: x}\nrequired_sections: [Glossary]\n",
    );
    write(
        d.path(),
        "docs/architecture.md",
        "# A\n## System context\n```\n## Data view\n```\n## 3. Deployment View\n",
    );
    let r = run(d.path());
    let mut sections: Vec<String> = of_kind(&r, GapKind::MissingSection)
        .iter()
        .map(|g| g.context["section"].as_str().expect("section").to_string())
        .collect();
    sections.sort();
    assert_eq!(
        sections,
        vec![
            "Cross-cutting concerns",
            "Data view",
            "Glossary",
            "Logical architecture",
            "Process and runtime view"
        ]
    );
    write(d.path(), "docs/architecture.md", " \n\n");
    let r = run(d.path());
    assert_eq!(r.gaps.len(), 1);
    assert_eq!(r.gaps[0].kind, GapKind::EmptyDoc);
}

#[test]
fn suppressions_need_a_reason_and_expire() {
    let d = tempfile::tempdir().expect("tempdir");
    write(
        d.path(),
        "docs/architecture.meta.yaml",
        "type: doc_architecture\nsystem_context: {description: x}\n",
    );
    write(d.path(), "odd.meta.yaml", "type: made_up\n");
    write(
        d.path(),
        ".warden/contracts.yaml",
        "schema: warden.contracts/v1\nsuppress:\n  - kind: missing_doc\n    target: docs/architecture.md\n    reason: written next sprint\n    expires: 2026-07-01\n",
    );
    let r = run(d.path());
    assert!(r.clean, "{:#?}", r.gaps);
    let g = of_kind(&r, GapKind::MissingDoc)[0];
    assert_eq!(g.status, Status::Suppressed);
    assert_eq!(g.suppressed_because.as_deref(), Some("written next sprint"));
    assert_eq!(r.summary.warnings, 1, "unknown type is a warning");
    // Expired: the gap fails again.
    let late = check::check(
        d.path(),
        &CheckOptions {
            today: "2026-07-01".into(),
            ..CheckOptions::default()
        },
    )
    .expect("check");
    assert!(!late.clean);
    // --strict: the unknown type fails.
    let strict = check::check(
        d.path(),
        &CheckOptions {
            strict: true,
            today: "2026-06-01".into(),
            ..CheckOptions::default()
        },
    )
    .expect("check");
    assert_eq!(strict.summary.failing, 1);
    // No reason: a config error naming the field.
    write(
        d.path(),
        ".warden/contracts.yaml",
        "schema: warden.contracts/v1\nsuppress:\n  - kind: missing_doc\n    reason: \"\"\n",
    );
    let e = check::check(d.path(), &CheckOptions::default()).expect_err("no reason");
    assert!(e.to_string().contains("suppress[0].reason"), "{e}");
    write(
        d.path(),
        ".warden/contracts.yaml",
        "schema: warden.contracts/v1\nsuppress:\n  - kind: missing_dco\n    reason: r\n",
    );
    let e = check::check(d.path(), &CheckOptions::default()).expect_err("bad kind");
    assert!(e.hint().unwrap_or_default().contains("missing_doc"), "{e}");
}

#[test]
fn a_baseline_lets_old_gaps_pass_and_new_ones_fail() {
    let (d, r) = seeded();
    check::write_gap_file(d.path(), &r).expect("write");
    let ids = gaps::baseline_ids(
        &std::fs::read(d.path().join("meta-gaps.yaml")).expect("read"),
        "meta-gaps.yaml",
    )
    .expect("ids");
    let opts = CheckOptions {
        today: "2026-06-01".into(),
        baseline: Some(ids),
        ..CheckOptions::default()
    };
    let b = check::check(d.path(), &opts).expect("check");
    assert!(b.clean);
    assert_eq!(b.summary.baselined, r.gaps.len());
    write(
        d.path(),
        "docs/ai-collaboration.meta.yaml",
        "type: doc_ai_collaboration\nediting_rules: {}\n",
    );
    let b = check::check(d.path(), &opts).expect("check");
    assert_eq!(b.summary.failing, 1);
    // The JSON report works as a baseline too.
    let json = serde_json::to_vec(&b).expect("json");
    assert_eq!(
        gaps::baseline_ids(&json, "r.json").expect("ids").len(),
        b.gaps.len()
    );
}

#[test]
fn module_contracts_find_missing_specs_folders_and_orphans_both_ways() {
    let d = tempfile::tempdir().expect("tempdir");
    let r0 = d.path();
    write(
        r0,
        ".warden/modules.yaml",
        "schema: warden.modules/v1\nmodules:\n  - name: ledger\n    folder: modules/ledger/\n    spec: modules/specs/ledger.yaml\n  - name: tools\n    folder: modules/tools/\n    spec: modules/specs/tools.yaml\n  - name: nospec\n    folder: modules/nospec/\n",
    );
    write(
        r0,
        ".l9_modules.meta.yaml",
        "type: l9_module_contracts\nspec_root: modules/specs\nmodule_root: modules\n",
    );
    write(r0, "modules/specs/ledger.yaml", "schema_version: \"2.6\"\n");
    write(r0, "modules/specs/old.yaml", "schema_version: \"2.5\"\n");
    write(r0, "modules/ledger/a.py", "");
    write(r0, "modules/nospec/a.py", "");
    write(r0, "modules/stray/a.py", "");
    let r = run(r0);
    let mut got: Vec<(&str, String)> = r
        .gaps
        .iter()
        .map(|g| {
            (
                g.kind.name(),
                g.target_file.clone().unwrap_or_else(|| g.key.clone()),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("missing_module_folder", "modules/tools".to_string()),
            ("missing_module_spec", "modules/specs/tools.yaml".into()),
            ("missing_module_spec", "nospec".into()),
            ("orphan_module", "modules/specs".into()),
            ("orphan_module", "modules/stray".into()),
            ("orphan_spec", "modules/specs/old.yaml".into()),
        ],
        "{:#?}",
        r.gaps
    );
}

#[test]
fn wiring_rules_are_checked_and_the_graph_is_drift_checked() {
    let d = tempfile::tempdir().expect("tempdir");
    let r0 = d.path();
    write(
        r0,
        ".l9_wiring.meta.yaml",
        "type: l9_wiring_contracts\ninvariants:\n  tool_registry: {file: app/tools.py}\n  agent_bindings: {agent_registry_file: agents.yaml}\n  memory: {segments_must_exist_in: Memory.yaml}\nrules:\n  - rule: key_exists\n    file: agents.yaml\n    key: agents.emma\n",
    );
    write(
        r0,
        "m/module.meta.yaml",
        "type: l9_module_meta\nmodule_id: billing\ntier: 2\nlayout: {package_path: m}\nwiring:\n  tools:\n    exposes_tool: true\n    tool_name: billing_tool\n    agent_bindings: [{agent_id: emma, mode: direct}, {agent_id: igor, mode: via_plan}]\n  memory: {segments_read: [ledger], segments_written: [invoices]}\n  governance: {risk_level: high, requires_approval: true, approval_mechanism: boss, approval_adapter: ask_boss}\n",
    );
    write(r0, "app/tools.py", "REGISTRY = {}\n");
    write(r0, "agents.yaml", "agents:\n  emma: {}\n");
    write(r0, "Memory.yaml", "segments: [ledger]\n");
    let r = run(r0);
    let mut v: Vec<String> = of_kind(&r, GapKind::WiringViolation)
        .iter()
        .map(|g| g.key.clone())
        .collect();
    v.sort();
    assert_eq!(
        v,
        vec![
            "file_contains:Memory.yaml:invoices",
            "file_contains:agents.yaml:igor",
            "file_contains:app/tools.py:billing_tool",
            "file_contains:m:ask_boss",
        ],
        "{:#?}",
        r.gaps
    );
    let drift = of_kind(&r, GapKind::Drift);
    assert_eq!(drift.len(), 1);
    assert_eq!(
        drift[0].target_file.as_deref(),
        Some("generated/module_wiring_graph.yaml")
    );
    // Fix the wiring and write the graph: clean; the graph is deterministic.
    write(r0, "app/tools.py", "REGISTRY = {'billing_tool': 1}\n");
    write(r0, "agents.yaml", "agents:\n  emma: {}\n  igor: {}\n");
    write(r0, "Memory.yaml", "segments: [ledger, invoices]\n");
    write(r0, "m/service.py", "ask_boss()\n");
    let plan = generate::plan_docs(r0);
    assert_eq!(plan.writes.len(), 1);
    let text = plan.writes[0].content.clone();
    assert_eq!(text, generate::plan_docs(r0).writes[0].content);
    assert!(
        text.contains("type: tool_binding") && text.contains("id: billing"),
        "{text}"
    );
    write(r0, "generated/module_wiring_graph.yaml", &text);
    let r = run(r0);
    assert!(r.gaps.is_empty(), "{:#?}", r.gaps);
}

/// A wiring contract's `graph_file` outside the repository (or in one of
/// warden's own areas) was replaced by the default path without a word.
#[test]
fn a_graph_file_outside_the_repository_fell_back_to_the_default_in_silence() {
    let d = tempfile::tempdir().expect("tempdir");
    let r0 = d.path();
    for (bad, says) in [
        ("../graph.yaml", "leaves the repository"),
        (".git/graph.yaml", ".git/"),
    ] {
        write(
            r0,
            ".l9_wiring.meta.yaml",
            &format!("type: l9_wiring_contracts\ngraph_file: \"{bad}\"\nrules: []\n"),
        );
        let r = run(r0);
        let bad_field: Vec<_> = of_kind(&r, GapKind::SchemaViolation)
            .into_iter()
            .filter(|g| g.key == "graph_file")
            .collect();
        assert_eq!(bad_field.len(), 1, "{bad}: {:#?}", r.gaps);
        let g = bad_field[0];
        assert!(
            g.message.contains("graph_file") && g.message.contains(says),
            "{bad}: {}",
            g.message
        );
        assert_eq!(g.line, 2, "{bad}");
        assert!(
            of_kind(&r, GapKind::Drift).is_empty(),
            "{bad}: {:#?}",
            r.gaps
        );
    }
}

#[test]
fn fix_writes_only_each_gaps_target_and_gen_tests_only_adds_missing_skeletons() {
    let (d, r) = seeded();
    let plan = generate::plan_fix(d.path(), &r).expect("plan");
    let targets: std::collections::BTreeSet<String> = r
        .gaps
        .iter()
        .filter_map(|g| g.target_file.clone())
        .collect();
    assert_eq!(plan.writes.len(), 4, "{:?}", plan.actions);
    for w in &plan.writes {
        assert!(targets.contains(&w.path), "{} is not a gap target", w.path);
    }
    for w in &plan.writes {
        write(d.path(), &w.path, &w.content);
    }
    let after = run(d.path());
    let kinds: std::collections::BTreeSet<&str> =
        after.gaps.iter().map(|g| g.kind.name()).collect();
    assert_eq!(
        kinds,
        ["invalid_meta", "pending_test"].into_iter().collect()
    );
    assert_eq!(of_kind(&after, GapKind::PendingTest).len(), 3);
    // A person fills in one test: it stops being pending, and gen tests leaves it alone.
    let f = d.path().join("tests/unit/test_agents_engine.py");
    let text = std::fs::read_to_string(&f).expect("read");
    let filled = text.replacen(
        "@pytest.mark.skip(reason=\"pending: AgentExecutorService basic happy path.\")\n",
        "",
        1,
    );
    std::fs::write(&f, &filled).expect("write");
    assert_eq!(of_kind(&run(d.path()), GapKind::PendingTest).len(), 2);
    write(
        d.path(),
        "l9/core/agents/tests.meta.yaml",
        &std::fs::read_to_string(d.path().join("l9/core/agents/tests.meta.yaml"))
            .expect("read")
            .replace(
                "        - \"Handling of tasks with no tools.\"\n",
                "        - \"Handling of tasks with no tools.\"\n        - \"Tool failure.\"\n",
            ),
    );
    let tp = generate::plan_tests(d.path());
    assert_eq!(tp.writes.len(), 1);
    assert_eq!(tp.writes[0].path, "tests/unit/test_agents_engine.py");
    assert!(
        tp.writes[0].content.starts_with(&filled),
        "appended, never rewritten"
    );
    assert!(tp.writes[0].content.contains("pending: Tool failure."));
}

#[test]
fn the_guide_documents_every_gap_kind_and_meta_type() {
    let guide = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/contracts.md"),
    )
    .expect("docs/contracts.md");
    for k in GapKind::ALL {
        assert!(
            guide.contains(&format!("| `{}` |", k.name())),
            "docs/contracts.md: gap kind {} has no row",
            k.name()
        );
    }
    for t in MetaType::ALL {
        assert!(
            guide.contains(&format!("| `{}`", t.name())),
            "docs/contracts.md: meta type {} has no row",
            t.name()
        );
        for h in t.gold_sections() {
            assert!(
                guide.contains(h),
                "docs/contracts.md: heading {h} of {}",
                t.name()
            );
        }
    }
    let slug = warden_contracts::skeleton::slug("Enqueue works.");
    assert!(
        guide.contains(&format!("def test_{slug}():")),
        "the guide's skeleton example uses the real slug {slug}"
    );
}

mod fuzzish {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Untrusted meta bytes never crash the check: every file is either
        /// a contract or a gap.
        #[test]
        fn any_meta_bytes_become_a_contract_or_a_gap(bytes in proptest::collection::vec(any::<u8>(), 0..200),
                                                     text in "(type: [a-z_]{1,20}\n)?([a-z_]{1,8}: [^\n]{0,20}\n){0,5}") {
            let d = tempfile::tempdir().expect("tempdir");
            write(d.path(), "a.meta.yaml", "");
            std::fs::write(d.path().join("a.meta.yaml"), &bytes).expect("write");
            write(d.path(), "b/README.meta.yaml", &text);
            let r = run(d.path());
            prop_assert!(r.meta_files <= 2);
        }

        /// Any document text: headings and the fence refresh never panic, and
        /// a refreshed managed document keeps its text outside the fences.
        #[test]
        fn refresh_never_panics_and_keeps_outside_text(extra in "[^\u{0}]{0,80}") {
            let m = b"type: subsystem_readme\nsubsystem: {name: A}\n";
            let g = warden_contracts::render::generator_id();
            let inp = |meta_bytes: &'static [u8]| warden_contracts::render::DocInputs {
                generator: &g,
                meta_type: MetaType::SubsystemReadme,
                meta_file: "m",
                target: "README.md",
                meta_bytes,
            };
            let doc = warden_contracts::render::render_full(&inp(m));
            let with = doc.replace("## Configuration\n", &format!("## Configuration\n{extra}\n"));
            let _ = warden_contracts::render::headings(&with);
            if let warden_contracts::render::Refresh::Managed { text, .. } =
                warden_contracts::render::refresh(&inp(b"type: subsystem_readme\nsubsystem: {name: B}\n"), &with)
            {
                let want = format!("## Configuration\n{}\n", extra);
                prop_assert!(text.contains(&want));
            }
        }
    }
}

#[test]
fn seed_defect_11_a_readme_meta_without_location_is_its_folders_readme() {
    // The seed script crashes (`Path(None)`) on a subsystem README meta without
    // `location`; found by bench/contracts.sh. A bare "README.md" (the
    // script's default) is the meta file's folder's too.
    let d = tempfile::tempdir().expect("tempdir");
    write(
        d.path(),
        "a/README.meta.yaml",
        "type: subsystem_readme\nsubsystem: {name: A}\n",
    );
    write(
        d.path(),
        "b/README.meta.yaml",
        "type: component_readme\nlocation: README.md\ncomponent: {name: B}\n",
    );
    let r = run(d.path());
    let mut t: Vec<&str> = of_kind(&r, GapKind::MissingDoc)
        .iter()
        .filter_map(|g| g.target_file.as_deref())
        .collect();
    t.sort();
    assert_eq!(t, vec!["a/README.md", "b/README.md"]);
}

#[test]
fn branch_thresholds_compare_branch_counts_and_say_when_a_report_has_none() {
    use warden_contracts::coverage;
    let d = tempfile::tempdir().expect("tempdir");
    write(
        d.path(),
        "tests/unit/meta.yaml",
        "type: test_unit_spec\nscope:\n  description: core\nexpectations:\n  coverage_target: 0.5\n  branch_coverage_target: 0.75\n",
    );
    write(
        d.path(),
        ".l9_repo.meta.yaml",
        "type: l9_repo_contract\nci_contracts:\n  min_unit_branch_coverage: 50\n",
    );
    let run = |text: &str| {
        let rep = coverage::parse(text.as_bytes(), "lcov.info", "unit", d.path()).expect("report");
        let r = check::check(
            d.path(),
            &CheckOptions {
                today: "2026-06-01".into(),
                coverage: vec![rep],
                ..CheckOptions::default()
            },
        )
        .expect("check");
        let mut gaps = of_kind(&r, GapKind::CoverageBelowTarget)
            .iter()
            .map(|g| (g.key.clone(), g.message.clone()))
            .collect::<Vec<_>>();
        gaps.sort();
        gaps
    };
    // Lines at 100 %, branches at 60 %: only the 75 % branch target fails.
    assert_eq!(
        run("SF:a.py\nLF:2\nLH:2\nBRF:5\nBRH:3\nend_of_record\n"),
        vec![(
            "expectations.branch_coverage_target".to_string(),
            "unit branch coverage 60.0% (3 of 5 branches) is below expectations.branch_coverage_target 75.0%".to_string()
        )]
    );
    // Branches at 80 %: both branch targets met.
    assert_eq!(
        run("SF:a.py\nLF:2\nLH:2\nBRF:5\nBRH:4\nend_of_record\n"),
        vec![]
    );
    // A report without branch data cannot meet a branch target: both say so.
    let gaps = run("SF:a.py\nLF:2\nLH:2\nend_of_record\n");
    assert_eq!(
        gaps.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        vec![
            "ci_contracts.min_unit_branch_coverage",
            "expectations.branch_coverage_target"
        ]
    );
    assert!(
        gaps.iter().all(|(_, m)| m.contains("has no branch data")),
        "{gaps:?}"
    );
}

#[test]
fn coverage_thresholds_are_gaps_only_when_a_report_of_their_kind_is_given() {
    use warden_contracts::coverage;
    let d = tempfile::tempdir().expect("tempdir");
    write(
        d.path(),
        "tests/unit/meta.yaml",
        "type: test_unit_spec\nscope:\n  description: core\n  target_modules: [l9/core/]\nexpectations:\n  coverage_target: 0.85\n",
    );
    write(
        d.path(),
        ".l9_repo.meta.yaml",
        "type: l9_repo_contract\nci_contracts:\n  min_unit_coverage: 80\n  min_integration_coverage: 0.5\n",
    );
    let opts = |reports: Vec<coverage::Report>| CheckOptions {
        today: "2026-06-01".into(),
        coverage: reports,
        ..CheckOptions::default()
    };
    let report = |kind: &str, text: &str| {
        coverage::parse(text.as_bytes(), &format!("{kind}.info"), kind, d.path()).expect("report")
    };
    // Declared only: nothing to compare with, no gap.
    let r = check::check(d.path(), &opts(vec![])).expect("check");
    assert!(r.clean, "{:#?}", r.gaps);
    // l9/core at 80 % (< 85 %), the whole unit report at 90 % (>= 80 %).
    let unit = report(
        "unit",
        "SF:l9/core/q.py\nLF:10\nLH:8\nend_of_record\nSF:other/x.py\nLF:10\nLH:10\nend_of_record\n",
    );
    let r = check::check(d.path(), &opts(vec![unit.clone()])).expect("check");
    let gaps = of_kind(&r, GapKind::CoverageBelowTarget);
    assert_eq!(gaps.len(), 1, "{:#?}", r.gaps);
    assert_eq!(gaps[0].meta_file, "tests/unit/meta.yaml");
    assert_eq!(gaps[0].key, "expectations.coverage_target");
    assert_eq!(gaps[0].line, 6);
    assert_eq!(gaps[0].context["measured"], serde_json::json!(0.8));
    assert!(
        gaps[0]
            .message
            .contains("80.0% (8 of 10 lines in l9/core/)"),
        "{}",
        gaps[0].message
    );
    // An integration report below the repository contract's minimum.
    let integ = report(
        "integration",
        "SF:a.py\nDA:1,1\nDA:2,0\nDA:3,0\nend_of_record\n",
    );
    let r = check::check(d.path(), &opts(vec![unit, integ])).expect("check");
    let keys: Vec<&str> = of_kind(&r, GapKind::CoverageBelowTarget)
        .iter()
        .map(|g| g.key.as_str())
        .collect();
    assert_eq!(
        keys.iter()
            .copied()
            .collect::<std::collections::BTreeSet<_>>(),
        [
            "ci_contracts.min_integration_coverage",
            "expectations.coverage_target"
        ]
        .into_iter()
        .collect()
    );
    // A threshold that is not a number is a schema violation naming the field.
    write(
        d.path(),
        "tests/unit/meta.yaml",
        "type: test_unit_spec\nscope: {description: core}\nexpectations: {coverage_target: high}\n",
    );
    let unit = report("unit", "SF:a.py\nLF:1\nLH:1\nend_of_record\n");
    let r = check::check(d.path(), &opts(vec![unit])).expect("check");
    let v = of_kind(&r, GapKind::SchemaViolation);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].context["field"], "expectations.coverage_target");
}

#[test]
fn module_spec_tier_expectations_and_schema_version_are_checked() {
    let d = tempfile::tempdir().expect("tempdir");
    let r0 = d.path();
    registered_modules(r0, &["good", "bare", "old", "flags"]);
    let expect = "tier_expectations:\n  requires_runtime_wiring: true\n  requires_packet_contract: true\n  requires_negative_tests: true\n";
    write(
        r0,
        "specs/good.yaml",
        &format!(
            "schema_version: \"2.6\"\nruntime_wiring: {{service: api}}\npacket_contract: {{emits: [task.done]}}\nnegative_tests: [rejects bad input]\n{expect}"
        ),
    );
    write(
        r0,
        "specs/bare.yaml",
        &format!("schema_version: \"2.6\"\nruntime_wiring: {{service: ''}}\n{expect}"),
    );
    write(r0, "specs/old.yaml", "schema_version: \"1.0\"\n");
    write(
        r0,
        "specs/flags.yaml",
        "schema_version: 2.5\ntier_expectations: {requires_negative_tests: yes please}\n",
    );
    let r = run(r0);
    assert_eq!(
        context_rows(&of_kind(&r, GapKind::ModuleSpecViolation), &["rule"]),
        rows(&[
            &["specs/bare.yaml", "requires_negative_tests"],
            &["specs/bare.yaml", "requires_packet_contract"],
            &["specs/bare.yaml", "requires_runtime_wiring"],
            &["specs/flags.yaml", "requires_negative_tests"],
            &["specs/old.yaml", "schema_version"],
        ]),
        "{:#?}",
        r.gaps
    );
    assert_eq!(r.gaps.len(), 5, "{:#?}", r.gaps);
    let bare = of_kind(&r, GapKind::ModuleSpecViolation)
        .into_iter()
        .find(|g| g.context["rule"] == "requires_runtime_wiring")
        .expect("gap");
    assert_eq!(bare.context["field"], "runtime_wiring.service");
    assert_eq!(bare.context["target_line"], 2);
}

#[test]
fn deprecated_specs_and_sections_are_warnings_naming_what_supersedes_them() {
    let d = tempfile::tempdir().expect("tempdir");
    let r0 = d.path();
    registered_modules(r0, &["whole", "part", "kept"]);
    write(
        r0,
        "specs/whole.yaml",
        "schema_version: \"2.6\"\ndeprecated: replaced by part\n",
    );
    write(
        r0,
        "specs/part.yaml",
        "schema_version: \"2.6\"\nruntime_wiring: {service: api}\npacket_contract:\n  deprecated: {superseded_by: event_contract, since: 2.6}\n  emits: [task.done]\n",
    );
    write(
        r0,
        "specs/kept.yaml",
        "schema_version: \"2.6\"\ndeprecated: false\nruntime_wiring: {deprecated: null, service: api}\n",
    );
    let r = run(r0);
    assert!(r.clean, "warnings only: {:#?}", r.gaps);
    let mut got: Vec<(String, String, String)> = of_kind(&r, GapKind::ModuleSpecDeprecated)
        .iter()
        .map(|g| {
            assert_eq!(g.severity, warden_contracts::gaps::Severity::Warning);
            (
                g.target_file.clone().unwrap_or_default(),
                g.context["section"].as_str().unwrap_or("").to_string(),
                g.message.clone(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            (
                "specs/part.yaml".to_string(),
                "packet_contract".to_string(),
                "specs/part.yaml: module \"part\": section `packet_contract` is deprecated; superseded by event_contract".to_string()
            ),
            (
                "specs/whole.yaml".to_string(),
                "(spec)".to_string(),
                "specs/whole.yaml: module \"whole\" uses a deprecated spec (replaced by part)".to_string()
            ),
        ]
    );
    assert_eq!(r.gaps.len(), 2, "{:#?}", r.gaps);
    assert_eq!(r.summary.warnings, 2);
    let part = of_kind(&r, GapKind::ModuleSpecDeprecated)
        .into_iter()
        .find(|g| g.context["section"] == "packet_contract")
        .expect("gap");
    assert_eq!(part.context["since"], "2.6");
    assert_eq!(part.context["target_line"], 3);
}

/// `warden fix` on a repository holding `file` (path, text) whose one gap of
/// `kind` it skips at `target`, saying `note`.
fn fix_skips_the_only_gap(file: (&str, &str), kind: GapKind, target: &str, note: &str) {
    let (d, r) = repo_with_gaps(&[file], kind, 1);
    let (plan, acts) = fix_rows(d.path(), &r);
    assert!(plan.writes.is_empty(), "{:?}", plan.writes);
    assert_eq!(acts, rows(&[&["skipped", target, note]]));
}

#[test]
fn fix_skips_a_missing_test_file_in_a_language_without_a_skeleton_generator() {
    fix_skips_the_only_gap(
        (
            "tests/unit/meta.yaml",
            "type: test_unit_spec\nscope: {description: unit}\nmodule_policies:\n  - module: lib/queue.ex\n    file: tests/unit/queue_test.exs\n    must_cover: [Enqueue.]\n",
        ),
        GapKind::MissingTestFile,
        "tests/unit/queue_test.exs",
        "no skeleton generator for this language",
    );
}

#[test]
fn fix_writes_a_test_file_two_metas_declare_once_and_marks_the_second_gap_covered() {
    let spec = |m: &str, behaviour: &str| {
        format!(
            "type: subsystem_test_spec\nsubsystem: {{name: {m}}}\nunit_tests:\n  modules:\n    - path: {m}/q.py\n      file: tests/unit/test_q.py\n      must_cover: [\"{behaviour}\"]\n"
        )
    };
    let (a, b) = (spec("a", "Enqueue."), spec("b", "Dequeue."));
    let (d, r) = repo_with_gaps(
        &[("a/tests.meta.yaml", &a), ("b/tests.meta.yaml", &b)],
        GapKind::MissingTestFile,
        2,
    );
    let (plan, mut acts) = fix_rows(d.path(), &r);
    acts.sort();
    assert_eq!(
        acts,
        rows(&[
            &[
                "covered",
                "tests/unit/test_q.py",
                "another gap's fix writes this file"
            ],
            &["wrote_skeletons", "tests/unit/test_q.py", ""],
        ])
    );
    assert_eq!(plan.writes.len(), 1, "{:?}", plan.writes);
    for b in ["pending: Enqueue.", "pending: Dequeue."] {
        assert!(
            plan.writes[0].content.contains(b),
            "{}",
            plan.writes[0].content
        );
    }
}

#[test]
fn fix_skips_a_missing_doc_that_no_document_meta_describes() {
    fix_skips_the_only_gap(
        (
            "x/docs.meta.yaml",
            "type: subsystem_docs_spec\ndocs:\n  - path: x/guide.md\n    required_sections: [Intro]\n",
        ),
        GapKind::MissingDoc,
        "x/guide.md",
        "no document meta describes this file; write it by hand or add a README.meta.yaml",
    );
}

/// `warden fix` re-reads each target: a report taken before a document was
/// generated or written by hand does not overwrite it.
#[test]
fn fix_with_a_stale_report_leaves_documents_written_since_alone() {
    let (d, stale) = repo_with_gaps(
        &[
            (
                "docs/architecture.meta.yaml",
                "type: doc_architecture\nsystem_context: {description: x}\n",
            ),
            (
                "docs/ai-collaboration.meta.yaml",
                "type: doc_ai_collaboration\nediting_rules: {allowed_areas: [docs]}\n",
            ),
        ],
        GapKind::MissingDoc,
        2,
    );
    for w in generate::plan_docs(d.path()).writes {
        if w.path == "docs/architecture.md" {
            write(d.path(), &w.path, &w.content);
        }
    }
    write(
        d.path(),
        "docs/ai-collaboration.md",
        "# Working with AI\n\nBy hand.\n",
    );
    let (plan, mut acts) = fix_rows(d.path(), &stale);
    acts.sort();
    assert!(plan.writes.is_empty(), "{:?}", plan.writes);
    assert_eq!(
        acts,
        rows(&[
            &[
                "skipped",
                "docs/ai-collaboration.md",
                "hand-written document (no stamp fence)"
            ],
            &["skipped", "docs/architecture.md", "already up to date"],
        ])
    );
}

/// A drifted managed document is refreshed by `fix` unless a person edited
/// inside a fence or broke a marker: those are skipped, naming why.
#[test]
fn fix_skips_hand_edited_fences_and_broken_markers() {
    let d = tempfile::tempdir().expect("tempdir");
    for (dir, name) in [("a", "A"), ("b", "B"), ("c", "C")] {
        write(
            d.path(),
            &format!("{dir}/README.meta.yaml"),
            &format!(
                "type: component_readme\ncomponent: {{name: {name}, purpose: Part {name}.}}\n"
            ),
        );
    }
    for w in generate::plan_docs(d.path()).writes {
        write(d.path(), &w.path, &w.content);
    }
    let edit = |rel: &str, from: &str, to: &str| {
        let text = std::fs::read_to_string(d.path().join(rel)).expect("read");
        assert!(text.contains(from), "{rel}: {text}");
        write(d.path(), rel, &text.replacen(from, to, 1));
    };
    edit("a/README.md", "Part A.", "Part A, edited by hand.");
    let end = "<!-- END AUTO SECTION: public-apis";
    let text = std::fs::read_to_string(d.path().join("b/README.md")).expect("read");
    let line = text
        .lines()
        .find(|l| l.starts_with(end))
        .expect("end marker");
    edit("b/README.md", &format!("{line}\n"), "");
    edit("c/README.meta.yaml", "Part C.", "Part C, changed.");
    let r = run(d.path());
    assert_eq!(of_kind(&r, GapKind::Drift).len(), 3, "{:#?}", r.gaps);
    let (plan, mut acts) = fix_rows(d.path(), &r);
    acts.sort_by(|x, y| x[1].cmp(&y[1]));
    let paths: Vec<&str> = plan.writes.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(paths, ["c/README.md"]);
    assert_eq!(
        acts,
        rows(&[
            &[
                "skipped",
                "a/README.md",
                "hand edit inside fence(s) component-purpose"
            ],
            &[
                "skipped",
                "b/README.md",
                "line 21: BEGIN of \"internal-design\" inside fence \"public-apis\" opened on line 16 (fences cannot nest)"
            ],
            &["refreshed_sections", "c/README.md", ""]
        ])
    );
}

#[test]
fn a_module_spec_that_is_not_a_yaml_mapping_is_one_gap_naming_why() {
    let d = tempfile::tempdir().expect("tempdir");
    let r0 = d.path();
    registered_modules(r0, &["list", "broken"]);
    write(r0, "specs/list.yaml", "- schema_version: \"2.6\"\n");
    write(r0, "specs/broken.yaml", "schema_version: [\"2.6\"\n");
    let r = run(r0);
    assert_eq!(
        context_rows(
            &of_kind(&r, GapKind::ModuleSpecViolation),
            &["rule", "field"]
        ),
        rows(&[
            &["specs/broken.yaml", "yaml", "(document)"],
            &["specs/list.yaml", "mapping", "(document)"],
        ]),
        "{:#?}",
        r.gaps
    );
    assert_eq!(r.gaps.len(), 2, "{:#?}", r.gaps);
}

/// The typed parts of the test specs, the repository contract, module metas
/// and wiring contracts name the field a bad value is in.
#[test]
fn typed_scope_expectations_ci_contracts_and_wiring_name_the_bad_field() {
    for (file, text, field) in [
        (
            "tests/unit/meta.yaml",
            "type: test_unit_spec\nscope: {target_modules: lib/q.py}\n",
            "scope.target_modules",
        ),
        (
            "tests/e2e/meta.yaml",
            "type: test_e2e_spec\nscope: {entrypoints: [cli]}\nexpectations: {properties: fast}\n",
            "expectations.properties",
        ),
        (
            ".l9_repo.meta.yaml",
            "type: l9_repo_contract\nci_contracts: {require_meta_docs: \"yes\"}\n",
            "ci_contracts.require_meta_docs",
        ),
        (
            "m/module.meta.yaml",
            "type: l9_module_meta\nmodule_id: m\nwiring:\n  tools: {exposes_tool: \"yes\", tool_name: t}\n",
            "wiring.tools.exposes_tool",
        ),
        (
            "m/module.meta.yaml",
            "type: l9_module_meta\nmodule_id: m\nwiring:\n  memory: {segments_read: [{name: s}]}\n",
            "wiring.memory.segments_read",
        ),
        (
            ".l9_wiring.meta.yaml",
            "type: l9_wiring_contracts\ninvariants:\n  memory: {segments_must_exist_in: [Memory.yaml]}\n",
            "invariants.memory.segments_must_exist_in",
        ),
    ] {
        let (_d, r) = repo_with_gaps(&[(file, text)], GapKind::SchemaViolation, 1);
        let g = of_kind(&r, GapKind::SchemaViolation)[0];
        assert!(g.message.contains(field), "{file}: {}", g.message);
    }
}

/// A tree with every reading outcome many times over: metas parsed
/// straight into their types, metas that fall back to a value (a number
/// where text is expected, a tag, broken YAML), missing and present
/// documents and test files, all in parallel.
fn mixed_tree(root: &Path) {
    for i in 0..120 {
        let d = format!("pkg/s{i:03}");
        let name = match i % 6 {
            0 => "123".to_string(),
            1 => "!!str tagged".to_string(),
            2 => "[broken".to_string(),
            _ => format!("S{i}"),
        };
        write(
            root,
            &format!("{d}/README.meta.yaml"),
            &format!("type: subsystem_readme\nsubsystem:\n  name: {name}\n  purpose: Part {i}.\n"),
        );
        write(
            root,
            &format!("{d}/tests.meta.yaml"),
            &format!(
                "type: subsystem_test_spec\nsubsystem:\n  name: S{i}\nunit_tests:\n  modules:\n    - path: {d}/engine.py\n      file: tests/unit/test_s{i:03}.py\n      must_cover: [\"Runs.\"]\n"
            ),
        );
        if i % 4 != 1 {
            write(
                root,
                &format!("{d}/README.md"),
                "# S\n\n## Subsystem overview\n\nText.\n",
            );
        }
        if i % 5 != 2 {
            write(
                root,
                &format!("tests/unit/test_s{i:03}.py"),
                "def test_runs():\n    assert True\n",
            );
        }
    }
}

#[test]
fn a_parallel_check_is_byte_identical_run_to_run_and_to_one_thread() {
    let d = tempfile::tempdir().expect("tempdir");
    mixed_tree(d.path());
    let json = |r: &check::CheckReport| serde_json::to_string_pretty(r).expect("json");
    let first = json(&run(d.path()));
    assert_eq!(first, json(&run(d.path())), "two runs differ");
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    assert_eq!(
        first,
        json(&one.install(|| run(d.path()))),
        "one thread differs"
    );
    // Every outcome is in the tree: typed, fallen back to a gap, missing.
    let r = run(d.path());
    for k in [
        GapKind::SchemaViolation,
        GapKind::InvalidMeta,
        GapKind::MissingDoc,
        GapKind::MissingSection,
        GapKind::MissingTestFile,
    ] {
        assert!(!of_kind(&r, k).is_empty(), "{k:?}");
    }
}
