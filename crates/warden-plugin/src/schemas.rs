//! JSON Schemas of the plugin formats (draft-07), published with the core's
//! under `schemas/` and printed by `warden schema NAME`.

use schemars::JsonSchema;
use serde_json::Value;

pub fn draft07<T: JsonSchema>() -> Value {
    schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value()
}

/// Names and what each describes.
pub fn catalogue() -> Vec<(&'static str, &'static str)> {
    vec![
        ("plugin-spec", "plugins/<key>/plugin.spec.json"),
        ("plugin-registry", "plugins/registry.json: enabled plugins"),
        (
            "plugin-protocol-request",
            "plugin protocol v1: the lines warden writes to a plugin",
        ),
        (
            "plugin-protocol-response",
            "plugin protocol v1: the lines a plugin writes to warden",
        ),
        ("plugin-validate", "`warden plugin validate --format json`"),
        (
            "plugin-run",
            "`warden run EVENT --format json`, and the details of its ledger entry",
        ),
        ("run-plan", "`warden run EVENT --dry-run --format json`"),
        ("hook-install", "`warden hook install --format json`"),
        ("replay", "`warden replay RUN --format json`"),
        ("plugin-list", "`warden plugin list --format json`"),
        ("plugin-test", "`warden plugin test KEY --format json`"),
        ("plugin-gen", "`warden plugin gen --format json`"),
        ("plugin-new", "`warden plugin new KEY --format json`"),
        (
            "plugin-enable",
            "`warden plugin enable|disable KEY --format json`",
        ),
        (
            "ids-check",
            "`warden ids check --format json` (the shape of plugin-validate)",
        ),
        ("ids-build", "`warden ids build --format json`"),
        ("id-card", "ids/cards/<ULID>.yaml"),
        ("id-op", "one line of .ledger/ids.jsonl"),
    ]
}

pub fn get(name: &str) -> Option<Value> {
    use warden_core::schema::schema_for;
    Some(match name {
        "plugin-spec" => {
            let mut v = schema_for::<crate::spec::PluginSpec>(name);
            v["properties"]["schema"] = serde_json::json!({"const": crate::spec::SPEC_SCHEMA_ID});
            v
        }
        "plugin-registry" => schema_for::<warden_core::plugin_registry::PluginRegistry>(name),
        "plugin-protocol-request" => schema_for::<crate::protocol::ToPlugin>(name),
        "plugin-protocol-response" => schema_for::<crate::protocol::FromPlugin>(name),
        "plugin-validate" => schema_for::<crate::validate::Report>(name),
        "plugin-run" => schema_for::<crate::runtime::DispatchReport>(name),
        "run-plan" => schema_for::<crate::preview::RunPlan>(name),
        "hook-install" => schema_for::<crate::hook::InstallReport>(name),
        "replay" => schema_for::<crate::runtime::ReplayReport>(name),
        "plugin-list" => schema_for::<crate::report::PluginList>(name),
        "plugin-test" => schema_for::<crate::probes::ProbeReport>(name),
        "plugin-gen" => schema_for::<crate::report::GenReport>(name),
        "plugin-new" => schema_for::<crate::report::NewReport>(name),
        "plugin-enable" => schema_for::<crate::report::EnableReport>(name),
        "ids-check" => schema_for::<crate::validate::Report>(name),
        "ids-build" => schema_for::<crate::report::IdsBuildReport>(name),
        "id-card" => schema_for::<crate::ids::IdCard>(name),
        "id-op" => schema_for::<warden_core::ids::IdOp>(name),
        _ => return None,
    })
}
