//! JSON Schemas (draft-07) of the classifier's formats, published in
//! `schemas/` and printed by `warden schema NAME` (the module registry
//! itself, `modules`, is the core's).

use serde_json::Value;

/// The draft-07 schema of `T`, its `schema` field pinned to `schema_id`.
fn schema_for<T: schemars::JsonSchema>(id: &str, schema_id: &str) -> Value {
    warden_core::schema::tagged::<T>(id, Some(schema_id))
}

/// Names accepted by `warden schema`, with what each describes.
pub fn catalogue() -> Vec<(String, &'static str)> {
    vec![
        (
            "classify".into(),
            "`warden classify --format json`; a classify run's ledger details",
        ),
        ("where".into(), "`warden where [FILE] --format json`"),
        (
            "quarantine-list".into(),
            "`warden quarantine list --format json`",
        ),
        (
            "modules-validate".into(),
            "`warden modules validate --format json`",
        ),
        ("modules-init".into(), "`warden modules init --format json`"),
        (
            "modules-import".into(),
            "`warden modules import FILE --format json`",
        ),
        (
            "classify-duplicates".into(),
            "`warden classify --duplicates --format json`",
        ),
        (
            "watch".into(),
            "`warden watch --format json` (printed when it stops)",
        ),
    ]
}

pub fn get(name: &str) -> Option<Value> {
    use crate::*;
    Some(match name {
        "classify" => schema_for::<report::ClassifyReport>(name, report::CLASSIFY_SCHEMA_ID),
        "where" => schema_for::<history::WhereReport>(name, history::WHERE_SCHEMA_ID),
        "quarantine-list" => {
            schema_for::<quarantine::QuarantineList>(name, quarantine::QUARANTINE_LIST_SCHEMA_ID)
        }
        "modules-validate" => {
            schema_for::<validate::ModulesValidation>(name, validate::MODULES_VALIDATE_SCHEMA_ID)
        }
        "modules-init" => {
            schema_for::<template::ModulesWritten>(name, template::MODULES_INIT_SCHEMA_ID)
        }
        "modules-import" => {
            schema_for::<template::ModulesWritten>(name, template::MODULES_IMPORT_SCHEMA_ID)
        }
        "classify-duplicates" => {
            schema_for::<duplicates::DuplicatesReport>(name, duplicates::DUPLICATES_SCHEMA_ID)
        }
        "watch" => schema_for::<watch::WatchSummary>(name, watch::WATCH_SCHEMA_ID),
        _ => return None,
    })
}
