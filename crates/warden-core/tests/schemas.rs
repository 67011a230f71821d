//! The documents this crate writes validate against their published schemas.
//! (That `schemas/` matches the code is checked once for every crate, in
//! `crates/warden-cli/tests/schemas.rs`.)
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{Fixture, proposal, sha};
use serde_json::json;

fn validate(schema_name: &str, doc: &serde_json::Value) {
    let schema = warden_core::schema::get(schema_name).expect("schema");
    warden_testkit::schemas::assert_valid(schema_name, &schema, doc);
}

#[test]
fn written_documents_validate_against_their_schemas() {
    let f = Fixture::new();
    f.write("a.txt", "a\n", 0o644);
    let repo = f.repo();
    let doc = json!({
        "schema": "warden.proposal/v1", "source": {"kind": "person", "id": "t"}, "event": "Manual",
        "rationale": "r", "confidence": 0.5, "evidence": ["x"],
        "actions": [
            {"kind": "write_file", "path": "b.txt", "content": "b\n", "expect": "absent"},
            {"kind": "move_file", "from": "a.txt", "to": "c/a.txt", "expect": {"sha256": sha("a\n")}}
        ]
    });
    validate("proposal", &doc);
    let (p, d) = proposal(doc);
    let mut s = repo.session(&f.ctx, false, &mut |_| {}).expect("session");
    let plan = s.plan(&p, d, "t.json").expect("plan");
    validate("plan", &serde_json::to_value(plan.report()).expect("json"));
    let out = s.apply(&plan).expect("apply");
    drop(s);
    validate("ledger", &serde_json::to_value(&out.entry).expect("json"));
    validate(
        "status",
        &serde_json::to_value(warden_core::status::status(&repo).expect("status")).expect("json"),
    );
    validate(
        "ledger-verify",
        &serde_json::to_value(repo.ledger().verify().expect("v")).expect("json"),
    );
    let rows = warden_core::status::runs(&repo.ledger().entries().expect("entries"));
    validate(
        "runs",
        &serde_json::to_value(warden_core::status::RunsReport::new(rows)).expect("json"),
    );
    validate(
        "events",
        &serde_json::to_value(warden_core::status::EventsReport::new(Some(&repo.policy)))
            .expect("json"),
    );
    validate(
        "ledger-log",
        &serde_json::to_value(warden_core::status::LedgerLog::new(
            repo.ledger().entries().expect("entries"),
        ))
        .expect("json"),
    );
    // The policy written by init validates against the policy schema.
    let text = std::fs::read_to_string(repo.layout.policy()).expect("policy");
    let value: serde_json::Value = warden_core::strict::from_yaml_str(&text).expect("yaml");
    validate("policy", &value);
}

#[test]
fn the_proposal_schema_rejects_what_the_parser_rejects() {
    let schema = warden_core::schema::get("proposal").expect("schema");
    let v = jsonschema::draft7::new(&schema).expect("compiles");
    let bad = json!({"schema": "warden.proposal/v1", "source": {"kind": "person", "id": "t"}, "event": "Manual",
        "actions": [{"kind": "mv_file", "path": "x"}]});
    assert!(!v.is_valid(&bad));
    let escape = json!({"schema": "warden.proposal/v1", "source": {"kind": "person", "id": "t"}, "event": "Manual",
        "actions": [{"kind": "write_file", "path": "../x", "content": "", "expect": "absent"}]});
    assert!(!v.is_valid(&escape));
}
