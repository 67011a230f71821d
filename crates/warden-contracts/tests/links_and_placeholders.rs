//! Regression tests for review 6's F5 and F6: a declared path that is a
//! symbolic link is a `symlinked_path` gap and is never read nor promised
//! to a writer; a template's placeholders and a test spec's missing subject
//! are gaps.
// Tests, examples and benches drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{of_kind, run, write};
use std::os::unix::fs::symlink;
use warden_contracts::gaps::GapKind;
use warden_contracts::generate;
use warden_contracts::meta::MetaType;
use warden_contracts::templates;

const SECRET: &str = "SECRET_TOKEN=ghp_supersecret123\n# Usage\n";

/// A repository whose `f/README.md` is a link to a file outside it, and
/// whose `d/README.md` is a link to nothing.
fn linked_readmes() -> (tempfile::TempDir, tempfile::TempDir) {
    let d = tempfile::tempdir().expect("tempdir");
    let outside = tempfile::tempdir().expect("tempdir");
    let secret = outside.path().join("passwd");
    std::fs::write(&secret, SECRET).expect("write");
    let meta = "type: subsystem_readme\nsubsystem:\n  name: X\n";
    write(d.path(), "f/README.meta.yaml", meta);
    symlink(&secret, d.path().join("f/README.md")).expect("symlink");
    write(d.path(), "d/README.meta.yaml", meta);
    symlink("/nonexistent/R.md", d.path().join("d/README.md")).expect("symlink");
    (d, outside)
}

#[test]
fn contracts_read_a_symlinked_document_from_outside_the_repository() {
    let (d, _outside) = linked_readmes();
    let r = run(d.path());
    let mut got: Vec<(String, String, String)> = r
        .gaps
        .iter()
        .map(|g| {
            (
                g.kind.name().to_string(),
                g.target_file.clone().unwrap_or_default(),
                g.message.clone(),
            )
        })
        .collect();
    got.sort();
    let said =
        |t: &str| format!("{t} is a symbolic link; warden neither reads nor writes through one");
    assert_eq!(
        got,
        vec![
            (
                "symlinked_path".into(),
                "d/README.md".into(),
                said("d/README.md")
            ),
            (
                "symlinked_path".into(),
                "f/README.md".into(),
                said("f/README.md")
            ),
        ]
    );
    assert_eq!(r.gaps[0].fix, GapKind::SymlinkedPath.fix());
    assert!(!GapKind::SymlinkedPath.fixable());
    let json = serde_json::to_string(&r).expect("json");
    assert!(!json.contains("SECRET_TOKEN"), "{json}");
}

#[test]
fn gen_docs_adopt_printed_the_file_a_symlinked_document_points_at() {
    let (d, _outside) = linked_readmes();
    let e = generate::plan_adopt(d.path(), "f/README.md").expect_err("refused");
    assert_eq!(
        e,
        "f/README.md is a symbolic link; warden neither reads nor writes through one: replace the link with a file"
    );
    assert!(!e.contains("SECRET_TOKEN"));
}

#[test]
fn fix_and_gen_docs_dry_runs_promised_writes_through_a_symlink_that_the_real_run_refuses() {
    let (d, _outside) = linked_readmes();
    let r = run(d.path());
    let fix = generate::plan_fix(d.path(), &r).expect("plan");
    assert!(fix.writes.is_empty(), "{:?}", fix.actions);
    let docs = generate::plan_docs(d.path());
    assert!(docs.writes.is_empty(), "{:?}", docs.writes.len());
    let problems: Vec<(&str, &str)> = docs
        .problems
        .iter()
        .map(|p| (p.file.as_str(), p.message.as_str()))
        .collect();
    assert_eq!(
        problems,
        vec![
            (
                "d/README.md",
                "d/README.md is a symbolic link; warden neither reads nor writes through one: replace the link with a file"
            ),
            (
                "f/README.md",
                "f/README.md is a symbolic link; warden neither reads nor writes through one: replace the link with a file"
            ),
        ]
    );
}

#[test]
fn a_test_file_under_a_symlinked_folder_was_read_through_the_link() {
    let d = tempfile::tempdir().expect("tempdir");
    let outside = tempfile::tempdir().expect("tempdir");
    write(outside.path(), "test_x.py", "def test_a():\n    pass\n");
    symlink(outside.path(), d.path().join("tests")).expect("symlink");
    write(d.path(), "src/x.py", "");
    write(
        d.path(),
        "spec/meta.yaml",
        "type: test_unit_spec\nscope:\n  description: unit\nmodule_policies:\n  - module: src/x.py\n    file: tests/test_x.py\n    must_cover: [a]\n",
    );
    let r = run(d.path());
    let g = of_kind(&r, GapKind::SymlinkedPath);
    assert_eq!(g.len(), 1, "{:#?}", r.gaps);
    assert_eq!(
        g[0].message,
        "tests/test_x.py goes through the symbolic link tests; warden neither reads nor writes through one"
    );
    assert_eq!(g[0].context["link"], "tests");
    assert!(generate::plan_tests(d.path()).writes.is_empty());
}

#[test]
fn contracts_new_placeholders_passed_check() {
    let d = tempfile::tempdir().expect("tempdir");
    write(
        d.path(),
        "README.meta.yaml",
        templates::template(MetaType::RootReadme),
    );
    let r = run(d.path());
    let placeholders: Vec<&str> = of_kind(&r, GapKind::SchemaViolation)
        .iter()
        .map(|g| g.message.as_str())
        .collect();
    assert!(
        placeholders.contains(
            &"project.name: still holds the template's placeholder \"PROJECT NAME\"; replace it"
        ),
        "{placeholders:#?}"
    );
    assert!(
        placeholders.contains(
            &"getting_started.prerequisites[0]: still holds the template's placeholder \"TOOL AND VERSION\"; replace it"
        ),
        "{placeholders:#?}"
    );
    // Filled in, the same fields are no gap.
    let filled = templates::template(MetaType::RootReadme)
        .replace("\"PROJECT NAME\"", "\"warden\"")
        .replace("\"TOOL AND VERSION\"", "\"Rust 1.91\"");
    write(d.path(), "README.meta.yaml", &filled);
    let after: Vec<String> = of_kind(&run(d.path()), GapKind::SchemaViolation)
        .iter()
        .map(|g| g.message.clone())
        .collect();
    assert!(
        !after
            .iter()
            .any(|m| m.starts_with("project.name")
                || m.starts_with("getting_started.prerequisites[0]")),
        "{after:#?}"
    );
    assert_eq!(after.len(), placeholders.len() - 2);
}

#[test]
fn a_unit_spec_module_that_does_not_exist_passed_check() {
    let d = tempfile::tempdir().expect("tempdir");
    write(
        d.path(),
        "tests/unit/meta.yaml",
        "type: test_unit_spec\nscope:\n  description: unit\nmodule_policies:\n  - module: src/pkg/module.py\n    file: tests/unit/test_module.py\n    must_cover: [a]\n",
    );
    write(
        d.path(),
        "tests/unit/test_module.py",
        "def test_a():\n    pass\n",
    );
    let r = run(d.path());
    let g = of_kind(&r, GapKind::SchemaViolation);
    assert_eq!(g.len(), 1, "{:#?}", r.gaps);
    assert_eq!(
        g[0].message,
        "module_policies[0].module: \"src/pkg/module.py\" does not exist"
    );
    assert_eq!(g[0].target_file.as_deref(), Some("src/pkg/module.py"));
    write(d.path(), "src/pkg/module.py", "");
    assert!(run(d.path()).gaps.is_empty(), "{:#?}", run(d.path()).gaps);
}

#[test]
fn an_expired_suppression_failed_without_saying_it_expired() {
    let d = tempfile::tempdir().expect("tempdir");
    write(
        d.path(),
        "x/README.meta.yaml",
        "type: subsystem_readme\nsubsystem:\n  name: X\n",
    );
    write(
        d.path(),
        ".warden/contracts.yaml",
        "schema: warden.contracts/v1\nsuppress:\n  - kind: missing_doc\n    reason: later\n    expires: \"2026-05-01\"\n",
    );
    // `run` checks as of 2026-06-01.
    let r = run(d.path());
    let g = of_kind(&r, GapKind::MissingDoc);
    assert_eq!(g.len(), 1, "{:#?}", r.gaps);
    assert_eq!(
        g[0].message,
        "x/README.md does not exist (its suppression expired on 2026-05-01; reason: later)"
    );
    assert_eq!(g[0].context["suppression_expired"], "2026-05-01");
    write(
        d.path(),
        ".warden/contracts.yaml",
        "schema: warden.contracts/v1\nsuppress:\n  - kind: missing_doc\n    reason: later\n    expires: \"2026-13-45\"\n",
    );
    let e = warden_contracts::check::check(
        d.path(),
        &warden_contracts::check::CheckOptions {
            strict: false,
            today: "2026-06-01".into(),
            baseline: None,
            coverage: Vec::new(),
        },
    )
    .expect_err("an impossible date is refused");
    assert_eq!(
        e.to_string(),
        ".warden/contracts.yaml: suppress[0].expires: \"2026-13-45\" is not a calendar date"
    );
}
