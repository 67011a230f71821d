//! The registry's schemas in `schemas/` are exactly what the code generates,
//! and what the registry writes and reports validates against them.
//! Regenerate with `WARDEN_BLESS=1 cargo test -p warden-registry --test schemas`.

mod common;

use common::Fx;
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

#[test]
fn published_registry_schemas_match_the_code() {
    let bless = std::env::var_os("WARDEN_BLESS").is_some();
    let mut stale = Vec::new();
    for (name, _) in warden_registry::schema::catalogue() {
        let schema = warden_registry::schema::get(name).expect("known schema");
        let text = serde_json::to_string_pretty(&schema).expect("json") + "\n";
        let path = dir().join(format!("{name}.schema.json"));
        if bless {
            std::fs::write(&path, &text).expect("write");
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(path.display().to_string());
        }
        assert!(
            warden_core::schema::get(name).is_none(),
            "{name} is also a core schema"
        );
    }
    assert!(
        stale.is_empty(),
        "schemas out of date (run with WARDEN_BLESS=1): {stale:?}"
    );
}

fn validate(name: &str, doc: &serde_json::Value) {
    let schema = warden_registry::schema::get(name).expect("schema");
    let v = jsonschema::draft7::new(&schema).expect("schema compiles");
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:?}\n{doc:#}");
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
