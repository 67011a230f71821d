//! `validate` names each problem of the index rows and of the entries, in
//! its report order: errors first, then by file, field and code.
// Tests, examples and benches drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{Fx, entry};
use warden_registry::registry::Registry;
use warden_registry::validate::{Severity, errors_only, validate};

const ALPHA: &str = "registry/capabilities/alpha.md";
const EPSILON: &str = "registry/capabilities/epsilon.md";
const INDEX: &str = "registry/indexes/capabilities.yaml";

/// One entry with a bad glob, a missing evidence file, a relation to no
/// one and no index row; an index whose rows drift, name another id, point
/// outside the entries folder, at a missing file, and repeat an id.
fn broken() -> Fx {
    let fx = Fx::new();
    fx.write(
        EPSILON,
        &entry(
            "capability.demo.epsilon",
            [0, 0, 0, 0],
            &["src/[x"],
            "evidence:\n  tests: [nope/x.py, https://example.org/x]\nrelations:\n  depends_on: [capability.nowhere]\n",
        ),
    );
    fx.write(
        INDEX,
        &warden_testkit::registry::index(
            "2026-01-01",
            &[
                ("capability.demo.alpha", ALPHA, "D0/A0/C0/R0"),
                ("capability.demo.beta", ALPHA, "D0/A0/C0/R0"),
                ("capability.demo.gamma", "elsewhere/gamma.md", "D0/A0/C0/R0"),
                (
                    "capability.demo.delta",
                    "registry/capabilities/delta.md",
                    "D0/A0/C0/R0",
                ),
                ("capability.demo.alpha", ALPHA, "D1/A0/C1/R0"),
            ],
        ),
    );
    fx
}

fn codes(report: &warden_registry::validate::ValidateReport) -> Vec<(Severity, &str, &str, &str)> {
    report
        .problems
        .iter()
        .map(|p| {
            (
                p.severity,
                p.code.as_str(),
                p.file.as_str(),
                p.field.as_str(),
            )
        })
        .collect()
}

#[test]
fn validate_names_every_row_and_entry_problem_in_report_order() {
    let fx = broken();
    let reg = Registry::load(&fx.root).expect("load");
    let report = validate(&reg, &fx.root);
    use Severity::{Error, Warning};
    assert_eq!(
        codes(&report),
        vec![
            (Error, "bad_glob", EPSILON, "paths[0]"),
            (Error, "id_mismatch", INDEX, "capabilities[1].id"),
            (Error, "entry_outside", INDEX, "capabilities[2].entry"),
            (Error, "missing_entry", INDEX, "capabilities[3].entry"),
            (Error, "duplicate_id", INDEX, "capabilities[4].id"),
            (Warning, "evidence_missing", EPSILON, "evidence.tests[0]"),
            (Warning, "missing_index_row", EPSILON, "id"),
            (
                Warning,
                "relation_unknown",
                EPSILON,
                "relations.depends_on[0]"
            ),
            (Warning, "vector_drift", INDEX, "capabilities[0].vector"),
        ]
    );
    assert!(!report.ok);
    assert_eq!((report.errors, report.warnings), (5, 4));
    assert_eq!((report.entries, report.index_rows), (3, 5));
}

#[test]
fn errors_only_does_not_look_for_evidence_files() {
    let fx = broken();
    let reg = Registry::load(&fx.root).expect("load");
    let all = validate(&reg, &fx.root);
    let gate = errors_only(&reg);
    let expected: Vec<_> = codes(&all)
        .into_iter()
        .filter(|(_, code, ..)| *code != "evidence_missing")
        .collect();
    assert_eq!(codes(&gate), expected);
}
