//! What the registry writes and reports validates against its published
//! schemas.
//! The one drift test of `schemas/` is `crates/warden-cli/tests/schemas.rs`.
// Tests, examples and benches drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::Fx;

fn validate(name: &str, doc: &serde_json::Value) {
    let schema = warden_registry::schema::get(name).expect("schema");
    warden_testkit::schemas::assert_valid(name, &schema, doc);
}

#[test]
fn written_files_and_reports_validate_against_their_schemas() {
    let fx = Fx::new();
    let base = fx.git(&["rev-parse", "HEAD"]).trim().to_string();
    fx.write("docs/alpha/guide.md", "g\n");
    fx.commit("docs");
    let report = fx.auto(&fx.opts(Some(&base)), None, vec![]);
    let v = serde_json::to_value(&report).expect("json");
    validate("registry-maintain", &v);
    let event = warden_registry::maintain::Event::summary(&report);
    validate(
        "registry-event",
        &serde_json::to_value(&event).expect("json"),
    );
    for r in &report.patches {
        let e = warden_registry::maintain::Event::result(r, report.run.as_deref());
        validate("registry-event", &serde_json::to_value(&e).expect("json"));
    }
    let reg = warden_registry::registry::Registry::load(&fx.root).expect("load");
    validate(
        "registry-validate",
        &serde_json::to_value(warden_registry::validate::validate(&reg, &fx.root)).expect("json"),
    );
    validate(
        "registry-stats",
        &serde_json::to_value(warden_registry::stats::stats(&reg)).expect("json"),
    );
    // The files on disk, as JSON.
    let index = warden_core::strict::parse_yaml(
        fx.read(warden_registry::model::INDEX_PATH).as_bytes(),
        "i",
    )
    .expect("yaml");
    validate("registry-index", &index);
    let text = fx.read("registry/capabilities/alpha.md");
    let (fm, _) = warden_registry::model::split_front_matter(&text, "a").expect("fm");
    validate(
        "registry-entry",
        &warden_core::strict::parse_yaml(fm.as_bytes(), "a").expect("yaml"),
    );
    let std_text =
        warden_registry::model::to_yaml(&warden_registry::standard::Standard::default_standard())
            .expect("yaml");
    validate(
        "registry-standard",
        &warden_core::strict::parse_yaml(std_text.as_bytes(), "s").expect("yaml"),
    );
    let patches = fx.read(&format!(
        ".runs/{}/patches.json",
        report.run.as_deref().expect("run")
    ));
    validate(
        "registry-patch",
        &serde_json::from_str(&patches).expect("json"),
    );
    // A full strict LLM answer validates against the published response schema.
    let answer = serde_json::json!({"patches": [{"capability_id": "c", "kind": "maturity_promote", "confidence": "high",
        "rationale": "r", "field_path": "maturity.C.current", "value": 2, "append": null, "evidence_citations": ["t.py"]}]});
    validate("registry-llm-response", &answer);
}
