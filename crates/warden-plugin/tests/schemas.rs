//! The documents this crate writes validate against their published schemas.
//! (That `schemas/` matches the code is checked once for every crate, in
//! `crates/warden-cli/tests/schemas.rs`.)
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

#[test]
fn scaffolded_specs_validate_against_the_published_schema() {
    let spec = warden_plugin::spec::PluginSpec {
        schema: warden_plugin::spec::SPEC_SCHEMA_ID.into(),
        key: "k".into(),
        id: "01ARZ3NDEKTSV4RRFFQ69G5FAV".into(),
        name: "k".into(),
        version: "0.1.0".into(),
        description: "d".into(),
        owner: String::new(),
        events: vec!["FileDetected".into()],
        lang: warden_plugin::spec::Lang::Python,
        entry: None,
        protocol: 1,
        priority: 100,
        actions: vec!["quarantine".into()],
        operations: vec![warden_plugin::spec::Operation {
            name: "handle".into(),
            description: "h".into(),
            events: vec!["FileDetected".into()],
        }],
        limits: Default::default(),
        ledger_fields: Vec::new(),
    };
    let schema = warden_plugin::schemas::get("plugin-spec").expect("schema");
    let v = jsonschema::draft7::new(&schema).expect("compiles");
    let doc: serde_json::Value = serde_json::from_str(&spec.to_pretty()).expect("json");
    assert!(v.is_valid(&doc), "{doc:#}");
    let mut bad = doc.clone();
    bad["lang"] = serde_json::json!("cobol");
    assert!(!v.is_valid(&bad));
    assert!(warden_plugin::spec::PluginSpec::parse(&spec.to_pretty(), "p.json").is_ok());
}
