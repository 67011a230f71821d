//! Fixtures: repositories laid out as the user's contracts documents them (the seed layout).
#![allow(dead_code)]

use std::path::Path;
use warden_contracts::check::{self, CheckOptions, CheckReport};
use warden_contracts::gaps::{Gap, GapKind};
use warden_contracts::generate;
use warden_contracts::meta::MetaType;

pub fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

pub fn run(root: &Path) -> CheckReport {
    check::check(
        root,
        &CheckOptions {
            strict: false,
            today: "2026-06-01".into(),
            baseline: None,
            coverage: Vec::new(),
        },
    )
    .expect("check")
}

pub fn of_kind(r: &CheckReport, k: GapKind) -> Vec<&Gap> {
    r.gaps.iter().filter(|g| g.kind == k).collect()
}

/// Seed 004's documented layout: README metas with `location: "/"` and
/// `location: "l9/core/agents/"` (their READMEs present, with every gold
/// heading), a tests/unit/meta.yaml with `module_policies[].file`, a
/// tests.meta.yaml, tests/strategy.meta.yaml, docs/architecture.meta.yaml, and
/// a broken bad.meta.yaml. True gaps: docs/architecture.md, tests/strategy.md,
/// tests/unit/test_agents_engine.py, tests/unit/test_task_queue.py, bad.meta.yaml.
pub fn seed_layout(root: &Path) {
    write(
        root,
        "README.meta.yaml",
        "location: \"/\"  # Path where the rendered README.md should live\n\ntype: root_readme\n\nproject:\n  name: \"L9 Secure AI OS\"\n  one_liner: \"Secure agent OS.\"\n",
    );
    write(root, "README.md", &gold_readme("L9", MetaType::RootReadme));
    write(
        root,
        "l9/core/agents/README.meta.yaml",
        "location: \"l9/core/agents/\"\ntype: subsystem_readme\nsubsystem:\n  name: \"Agents Core\"\n",
    );
    write(
        root,
        "l9/core/agents/README.md",
        &gold_readme("Agents", MetaType::SubsystemReadme),
    );
    write(
        root,
        "l9/core/agents/tests.meta.yaml",
        "location: \"l9/core/agents/tests.meta.yaml\"\ntype: subsystem_test_spec\nsubsystem:\n  name: \"Agents Core\"\n  code_paths: [\"l9/core/agents/\"]\nunit_tests:\n  modules:\n    - path: \"l9/core/agents/engine.py\"\n      file: \"tests/unit/test_agents_engine.py\"\n      must_cover:\n        - \"AgentExecutorService basic happy path.\"\n        - \"Handling of tasks with no tools.\"\n",
    );
    write(
        root,
        "tests/unit/meta.yaml",
        "location: \"tests/unit/meta.yaml\"\ntype: test_unit_spec\nscope:\n  description: \"unit\"\nmodule_policies:\n  - module: \"l9/core/task_queue.py\"\n    file: \"tests/unit/test_task_queue.py\"\n    must_cover:\n      - \"Enqueue/dequeue behavior.\"\n",
    );
    write(
        root,
        "tests/strategy.meta.yaml",
        "location: \"tests/strategy.md\"\ntype: test_strategy\nphilosophy:\n  goals: [\"Fast feedback.\"]\n",
    );
    write(
        root,
        "docs/architecture.meta.yaml",
        "location: \"docs/architecture.md\"\ntype: doc_architecture\nsystem_context:\n  description: \"The system.\"\n",
    );
    write(root, "bad.meta.yaml", "type: root_readme\nproject: [\n");
    // The code the test specs name as their subjects.
    write(root, "l9/core/agents/engine.py", "");
    write(root, "l9/core/task_queue.py", "");
}

/// A hand-written document with every gold-standard heading of `t`.
pub fn gold_readme(title: &str, t: MetaType) -> String {
    let headings: String = t
        .gold_sections()
        .iter()
        .map(|h| format!("## {h}\n\ntext\n\n"))
        .collect();
    format!("# {title}\n\n{headings}")
}

/// A temporary repository in [`seed_layout`] and its first check.
pub fn seeded() -> (tempfile::TempDir, CheckReport) {
    let d = tempfile::tempdir().expect("tempdir");
    seed_layout(d.path());
    let r = run(d.path());
    (d, r)
}

/// How many gaps a fresh check finds that `meta_file` declares.
pub fn gaps_from(root: &Path, meta_file: &str) -> usize {
    run(root)
        .gaps
        .iter()
        .filter(|g| g.meta_file == meta_file)
        .count()
}

/// `.warden/modules.yaml` registering each of `names` (folder
/// `modules/<name>/` holding one file, spec `specs/<name>.yaml`, not
/// written) and the module contracts meta rooted there.
pub fn registered_modules(root: &Path, names: &[&str]) {
    let mut reg = String::from("schema: warden.modules/v1\nmodules:\n");
    for m in names {
        reg.push_str(&format!(
            "  - name: {m}\n    folder: modules/{m}/\n    spec: specs/{m}.yaml\n"
        ));
        write(root, &format!("modules/{m}/a.py"), "");
    }
    write(root, ".warden/modules.yaml", &reg);
    write(
        root,
        ".l9_modules.meta.yaml",
        "type: l9_module_contracts\nspec_root: specs\nmodule_root: modules\n",
    );
}

/// One row per gap: its target file, then the named `context` fields, sorted.
pub fn context_rows(gaps: &[&Gap], fields: &[&str]) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = gaps
        .iter()
        .map(|g| {
            let mut row = vec![g.target_file.clone().unwrap_or_default()];
            row.extend(
                fields
                    .iter()
                    .map(|f| g.context[*f].as_str().unwrap_or("").to_string()),
            );
            row
        })
        .collect();
    rows.sort();
    rows
}

/// Expected rows, written as string slices.
pub fn rows(want: &[&[&str]]) -> Vec<Vec<String>> {
    want.iter()
        .map(|r| r.iter().map(|s| s.to_string()).collect())
        .collect()
}

/// `warden fix`'s plan for `r`: one row per action (action, target, note).
pub fn fix_rows(root: &Path, r: &CheckReport) -> (generate::FixPlan, Vec<Vec<String>>) {
    let plan = generate::plan_fix(root, r).expect("plan");
    let rows = plan
        .actions
        .iter()
        .map(|a| {
            vec![
                a.action.clone(),
                a.target_file.clone().unwrap_or_default(),
                a.note.clone().unwrap_or_default(),
            ]
        })
        .collect();
    (plan, rows)
}

/// A temporary repository holding `files` (path, text).
pub fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    for (rel, text) in files {
        write(d.path(), rel, text);
    }
    d
}

/// [`repo`], checked: asserts the check finds `n` gaps of `kind`.
pub fn repo_with_gaps(
    files: &[(&str, &str)],
    kind: GapKind,
    n: usize,
) -> (tempfile::TempDir, CheckReport) {
    let d = repo(files);
    let r = run(d.path());
    assert_eq!(of_kind(&r, kind).len(), n, "{:#?}", r.gaps);
    (d, r)
}
