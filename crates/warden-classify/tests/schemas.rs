//! The classifier's schemas in `schemas/` are exactly what the code
//! generates, and its reports validate against them.
//! Regenerate with `WARDEN_BLESS=1 cargo test -p warden-classify --test schemas`.

mod common;

use common::{Fixture, SEED};
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

#[test]
fn published_classify_schemas_match_the_code() {
    let bless = std::env::var_os("WARDEN_BLESS").is_some();
    let mut stale = Vec::new();
    for (name, _) in warden_classify::schema::catalogue() {
        let schema = warden_classify::schema::get(&name).expect("known schema");
        let text = serde_json::to_string_pretty(&schema).expect("json") + "\n";
        let path = dir().join(format!("{name}.schema.json"));
        if bless {
            std::fs::write(&path, &text).expect("write");
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(path.display().to_string());
        }
        assert!(
            warden_core::schema::get(&name).is_none(),
            "{name} is also a core schema"
        );
    }
    assert!(
        stale.is_empty(),
        "schemas out of date (run with WARDEN_BLESS=1): {stale:?}"
    );
}

fn validate(name: &str, doc: &serde_json::Value) {
    let schema = warden_classify::schema::get(name).expect("schema");
    let v = jsonschema::draft7::new(&schema).expect("schema compiles");
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:?}\n{doc:#}");
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
    let all = warden_classify::history::placements(&entries);
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
