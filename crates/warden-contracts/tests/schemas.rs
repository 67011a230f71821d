//! The contracts' schemas in `schemas/` are exactly what the code generates,
//! and real reports validate against them.
//! Regenerate with `WARDEN_BLESS=1 cargo test -p warden-contracts --test schemas`.

mod common;

use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

#[test]
fn published_contracts_schemas_match_the_code() {
    let bless = std::env::var_os("WARDEN_BLESS").is_some();
    let mut stale = Vec::new();
    for (name, _) in warden_contracts::schema::catalogue() {
        let schema = warden_contracts::schema::get(&name).expect("known schema");
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
    // Every meta type has one; an alias is not a second name.
    for t in warden_contracts::meta::MetaType::ALL {
        assert!(warden_contracts::schema::get(&t.schema_name()).is_some());
        if let Some(a) = t.seed_alias() {
            assert!(warden_contracts::schema::get(&format!("meta.{a}")).is_none());
        }
    }
}

#[test]
fn a_check_report_and_its_sarif_validate() {
    let d = tempfile::tempdir().expect("tempdir");
    common::seed_layout(d.path());
    let r = common::run(d.path());
    let v = serde_json::to_value(&r).expect("json");
    assert_eq!(v["schema"], "warden.check/v1");
    let schema = warden_contracts::schema::get("check").expect("schema");
    let validator = jsonschema::draft7::new(&schema).expect("compiles");
    let errors: Vec<String> = validator
        .iter_errors(&v)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let s = warden_contracts::sarif::sarif(d.path(), &r);
    assert_eq!(s["version"], "2.1.0");
    let results = s["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), r.gaps.len());
    for (res, g) in results.iter().zip(&r.gaps) {
        assert_eq!(res["ruleId"], g.kind.name());
        assert_eq!(res["partialFingerprints"]["wardenGapId/v1"], g.id.as_str());
        let loc = &res["locations"][0]["physicalLocation"];
        let uri = loc["artifactLocation"]["uri"].as_str().expect("uri");
        assert!(d.path().join(uri).is_file(), "{uri} exists");
        assert!(loc["region"]["startLine"].as_u64().expect("line") >= 1);
    }
    // A missing target points at the declaring line of its meta file.
    let missing = results
        .iter()
        .find(|r| {
            r["ruleId"] == "missing_test_file"
                && r["message"]["text"]
                    .as_str()
                    .unwrap_or("")
                    .contains("task_queue")
        })
        .expect("result");
    let loc = &missing["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "tests/unit/meta.yaml");
    assert_eq!(loc["region"]["startLine"], 7);
}
