//! Fixtures: repositories laid out as the user's contracts documents them (the seed layout).
#![allow(dead_code)]

use std::path::Path;
use warden_contracts::check::{self, CheckOptions, CheckReport};
use warden_contracts::gaps::{Gap, GapKind};

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
    let root_headings: String = warden_contracts::meta::MetaType::RootReadme
        .gold_sections()
        .iter()
        .map(|h| format!("## {h}\n\ntext\n\n"))
        .collect();
    write(root, "README.md", &format!("# L9\n\n{root_headings}"));
    write(
        root,
        "l9/core/agents/README.meta.yaml",
        "location: \"l9/core/agents/\"\ntype: subsystem_readme\nsubsystem:\n  name: \"Agents Core\"\n",
    );
    let sub_headings: String = warden_contracts::meta::MetaType::SubsystemReadme
        .gold_sections()
        .iter()
        .map(|h| format!("## {h}\n\ntext\n\n"))
        .collect();
    write(
        root,
        "l9/core/agents/README.md",
        &format!("# Agents\n\n{sub_headings}"),
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
}
