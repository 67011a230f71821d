//! JSON Schemas (draft-07) of the contracts' formats, published in `schemas/`
//! and printed by `warden schema NAME`: one per meta type (`meta.<type>`), the
//! configuration, the gap report and the command reports.

use crate::meta::MetaType;
use serde_json::Value;
use warden_core::schema::tagged as schema_for;

/// Names accepted by `warden schema`, with what each describes.
pub fn catalogue() -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = vec![
        ("check".into(), "`warden check --format json`".into()),
        (
            "meta-gaps".into(),
            "meta-gaps.yaml (the gap report, seed v1 shape)".into(),
        ),
        ("contracts".into(), ".warden/contracts.yaml".into()),
        ("gen-docs".into(), "`warden gen docs --format json`".into()),
        (
            "gen-tests".into(),
            "`warden gen tests --format json`".into(),
        ),
        ("fix".into(), "`warden fix --format json`".into()),
        (
            "contracts-new".into(),
            "`warden contracts new TYPE --format json`".into(),
        ),
    ];
    for t in MetaType::ALL {
        v.push((
            t.schema_name(),
            format!(
                "meta contract `type: {}` ({})",
                t.name(),
                t.default_file_name()
            ),
        ));
    }
    v
}

pub fn get(name: &str) -> Option<Value> {
    use crate::*;
    if let Some(t) = name.strip_prefix("meta.").and_then(MetaType::from_name) {
        return (t.schema_name() == name).then(|| meta::schema_of(t));
    }
    Some(match name {
        "check" => schema_for::<check::CheckReport>(name, Some(check::CHECK_SCHEMA_ID)),
        "meta-gaps" => {
            let mut v = schema_for::<gaps::GapFile>(name, None);
            v["properties"]["version"] = serde_json::json!({"const": 1});
            v
        }
        "contracts" => {
            schema_for::<config::ContractsConfig>(name, Some(config::CONTRACTS_SCHEMA_ID))
        }
        "gen-docs" => schema_for::<report::GenReport>(name, Some(report::GEN_DOCS_SCHEMA_ID)),
        "gen-tests" => schema_for::<report::GenReport>(name, Some(report::GEN_TESTS_SCHEMA_ID)),
        "fix" => schema_for::<report::FixReport>(name, Some(report::FIX_SCHEMA_ID)),
        "contracts-new" => {
            schema_for::<report::ContractsNewReport>(name, Some(report::CONTRACTS_NEW_SCHEMA_ID))
        }
        _ => return None,
    })
}
