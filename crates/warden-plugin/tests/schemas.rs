//! The plugin schemas in `schemas/` are exactly what the code generates.
//! Regenerate with `WARDEN_BLESS=1 cargo test -p warden-plugin --test schemas`.

use std::path::PathBuf;

#[test]
fn published_plugin_schemas_match_the_code() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
    let bless = std::env::var_os("WARDEN_BLESS").is_some();
    let mut stale = Vec::new();
    for (name, _) in warden_plugin::schemas::catalogue() {
        let schema = warden_plugin::schemas::get(name).expect("known schema");
        assert!(
            warden_core::schema::get(name).is_none(),
            "{name} is also a core schema"
        );
        jsonschema::draft7::new(&schema).expect("the schema compiles");
        let text = serde_json::to_string_pretty(&schema).expect("json") + "\n";
        let path = dir.join(format!("{name}.schema.json"));
        if bless {
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
