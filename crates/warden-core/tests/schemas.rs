//! The published schemas in `schemas/` are exactly what the code generates,
//! and the documents warden writes validate against them.
//! Regenerate with `WARDEN_BLESS=1 cargo test -p warden-core --test schemas`.

mod common;

use common::{Fixture, proposal, sha};
use serde_json::json;
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

fn file_name(name: &str) -> String {
    format!("{}.schema.json", name.replace('/', "."))
}

#[test]
fn published_schemas_match_the_code() {
    let bless = std::env::var_os("WARDEN_BLESS").is_some();
    let mut stale = Vec::new();
    for (name, _) in warden_core::schema::catalogue() {
        let schema = warden_core::schema::get(&name).expect("known schema");
        let text = serde_json::to_string_pretty(&schema).expect("json") + "\n";
        let path = dir().join(file_name(&name));
        if bless {
            std::fs::create_dir_all(dir()).expect("mkdir");
            std::fs::write(&path, &text).expect("write");
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "schemas out of date (run with WARDEN_BLESS=1): {stale:?}"
    );
}

fn validate(schema_name: &str, doc: &serde_json::Value) {
    let schema = warden_core::schema::get(schema_name).expect("schema");
    let v = jsonschema::draft7::new(&schema).expect("schema compiles");
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{schema_name}: {errors:?}\n{doc:#}");
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
    validate(
        "ledger-entry",
        &serde_json::to_value(&out.entry).expect("json"),
    );
    validate(
        "status",
        &serde_json::to_value(warden_core::status::status(&repo).expect("status")).expect("json"),
    );
    validate(
        "ledger-verify",
        &serde_json::to_value(repo.ledger().verify().expect("v")).expect("json"),
    );
    let rows = warden_core::status::runs(&repo.ledger().entries().expect("entries"));
    validate("runs", &serde_json::to_value(rows).expect("json"));
    validate(
        "events",
        &serde_json::to_value(warden_core::status::event_infos(Some(&repo.policy))).expect("json"),
    );
    // The policy written by init validates against the policy schema.
    let text = std::fs::read_to_string(repo.layout.policy()).expect("policy");
    let value: serde_json::Value = serde_saphyr::from_str(&text).expect("yaml");
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
