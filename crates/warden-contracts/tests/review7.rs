//! Regressions from the seventh review of the contracts, each named after
//! what broke.
// Tests, examples and benches drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{of_kind, run, write};
use warden_contracts::check;
use warden_contracts::gaps::GapKind;

#[test]
fn a_path_that_leaves_the_repository_was_a_double_quoted_message_without_its_field() {
    let d = tempfile::tempdir().expect("tempdir");
    write(
        d.path(),
        "t7/README.meta.yaml",
        "type: subsystem_readme\nlocation: ../../etc\nsubsystem: {name: x}\n",
    );
    write(
        d.path(),
        "x/tests.meta.yaml",
        "type: subsystem_test_spec\nsubsystem: {name: x}\nunit_tests:\n  modules:\n    - {path: x, file: ../t.py}\n",
    );
    write(
        d.path(),
        "docs.meta.yaml",
        "type: subsystem_docs_spec\ndocs:\n  - {path: ok.md}\n  - {path: ../up.md}\n",
    );
    let r = run(d.path());
    let mut got: Vec<(&str, &str)> = of_kind(&r, GapKind::SchemaViolation)
        .iter()
        .map(|g| (g.meta_file.as_str(), g.message.as_str()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (
                "docs.meta.yaml",
                "docs[1].path: \"../up.md\" leaves the repository"
            ),
            (
                "t7/README.meta.yaml",
                "location: \"../../etc\" leaves the repository"
            ),
            (
                "x/tests.meta.yaml",
                "unit_tests.modules[0].file: \"../t.py\" leaves the repository"
            ),
        ],
        "{:#?}",
        r.gaps
    );
    // Printed as written, not quoted and escaped as a whole.
    let human = check::human(&r);
    assert!(
        human.contains(
            "schema_violation (t7/README.meta.yaml:2): location: \"../../etc\" leaves the repository\n"
        ),
        "{human}"
    );
    assert!(!human.contains("\\\""), "{human}");
}
