//! Real reports validate against the contracts' published schemas.
//! The one drift test of `schemas/` is `crates/warden-cli/tests/schemas.rs`.
// Tests, examples and benches drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

#[test]
fn a_check_report_and_its_sarif_validate() {
    let d = tempfile::tempdir().expect("tempdir");
    common::seed_layout(d.path());
    let r = common::run(d.path());
    let v = serde_json::to_value(&r).expect("json");
    assert_eq!(v["schema"], "warden.check/v1");
    let schema = warden_contracts::schema::get("check").expect("schema");
    warden_testkit::schemas::assert_valid("check", &schema, &v);
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
