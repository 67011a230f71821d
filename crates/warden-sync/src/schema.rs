//! JSON Schemas (draft-07) of the sync guardian's formats, published in
//! `schemas/` beside the core's and printed by `warden schema NAME`. The core's
//! catalogue cannot name them (the core depends on no subsystem), so the CLI
//! asks both.

use serde_json::Value;

/// The draft-07 schema of `T`, its `schema` field pinned to `schema_id`.
fn schema_for<T: schemars::JsonSchema>(id: &str, schema_id: &str) -> Value {
    warden_core::schema::tagged::<T>(id, Some(schema_id))
}

/// Names accepted by `warden schema`, with what each describes.
pub fn catalogue() -> Vec<(String, &'static str)> {
    vec![
        (
            "sync-audit".into(),
            "`warden sync audit --format json`; .runs/<RUN>/audit.json",
        ),
        (
            "sync-reconcile".into(),
            "`warden sync reconcile --format json`; .runs/<RUN>/reconcile.json",
        ),
        (
            "sync-reconcile-batch".into(),
            "`warden sync reconcile --branch NAME… | --all --format json`",
        ),
        ("sync-adopt".into(), "`warden sync adopt RUN --format json`"),
        ("sync-config".into(), ".warden/sync.yaml"),
        (
            "sync-init".into(),
            "`warden sync init [--remote URL] --format json`",
        ),
        (
            "fleet-audit".into(),
            "`warden fleet audit DIR... --format json`",
        ),
    ]
}

/// The JSON Schema `warden schema NAME` prints for `name`, if it is one of this crate's.
pub fn get(name: &str) -> Option<Value> {
    use crate::*;
    Some(match name {
        "sync-audit" => schema_for::<audit::AuditReport>(name, audit::AUDIT_SCHEMA_ID),
        "sync-reconcile" => {
            schema_for::<reconcile::ReconcileReport>(name, reconcile::RECONCILE_SCHEMA_ID)
        }
        "sync-reconcile-batch" => {
            schema_for::<reconcile::ReconcileBatch>(name, reconcile::RECONCILE_BATCH_SCHEMA_ID)
        }
        "sync-adopt" => schema_for::<adopt::AdoptReport>(name, adopt::ADOPT_SCHEMA_ID),
        "sync-config" => schema_for::<config::SyncConfigFile>(name, config::SYNC_CONFIG_SCHEMA_ID),
        "sync-init" => schema_for::<init::SyncInitOutput>(name, init::SYNC_INIT_SCHEMA_ID),
        "fleet-audit" => schema_for::<fleet::FleetReport>(name, fleet::FLEET_SCHEMA_ID),
        _ => return None,
    })
}
