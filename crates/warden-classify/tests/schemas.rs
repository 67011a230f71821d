//! The classifier's reports validate against its published schemas.
//! The one drift test of `schemas/` is `crates/warden-cli/tests/schemas.rs`.
// Tests, examples and benches drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{Fixture, SEED};

fn validate(name: &str, doc: &serde_json::Value) {
    let schema = warden_classify::schema::get(name).expect("schema");
    warden_testkit::schemas::assert_valid(name, &schema, doc);
}

#[test]
fn written_reports_validate_against_their_schemas() {
    let f = Fixture::new(SEED);
    f.write("inbox/notes.py", "ledger ulid append_only\n");
    f.write("inbox/goal_ledger.py", "x\n");
    f.write("inbox/holiday.txt", "sunny\n");
    let r = f.classify();
    validate("classify", &serde_json::to_value(&r).expect("json"));
    let entries = f.repo().ledger().entries().expect("entries");
    let all = warden_classify::history::placements(&entries, f.root());
    let w = warden_classify::history::query(&all, &Default::default());
    assert_eq!(w.placements.len(), 3);
    validate("where", &serde_json::to_value(&w).expect("json"));
    let q = warden_classify::quarantine::list(f.root(), None).expect("list");
    validate("quarantine-list", &serde_json::to_value(&q).expect("json"));
    let m = warden_classify::validate::validate(f.root()).expect("validate");
    validate("modules-validate", &serde_json::to_value(&m).expect("json"));
    f.write("inbox/copy.py", "ledger ulid append_only\n");
    let d = warden_classify::duplicates::find(f.root(), &[]).expect("duplicates");
    assert_eq!(d.groups.len(), 1, "{d:#?}");
    validate(
        "classify-duplicates",
        &serde_json::to_value(&d).expect("json"),
    );
}
