//! Published JSON Schemas (draft-07) of every format warden reads or
//! writes. `warden schema NAME` prints them; `schemas/` holds the same files,
//! checked for drift by a test.

use schemars::JsonSchema;
use serde_json::Value;

/// The draft-07 schema of `T` with a stable `$id` (for other crates' formats too).
pub fn schema_for<T: JsonSchema>(id: &str) -> Value {
    let mut schema = schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<T>();
    schema.insert(
        "$id".into(),
        Value::String(format!("https://warden.invalid/schemas/{id}.schema.json")),
    );
    schema.to_value()
}

/// [`schema_for`] with the document's `schema` field pinned to its tag
/// (`warden.<name>/v1`) when `schema_id` is given: every crate's catalogue
/// builds its tagged formats' schemas with this.
pub fn tagged<T: JsonSchema>(id: &str, schema_id: Option<&str>) -> Value {
    let mut v = schema_for::<T>(id);
    if let Some(s) = schema_id {
        v["properties"]["schema"] = serde_json::json!({"const": s});
    }
    v
}

/// Names accepted by `warden schema`, with what each describes.
pub fn catalogue() -> Vec<(String, &'static str)> {
    let mut out: Vec<(String, &'static str)> = vec![
        (
            "proposal".into(),
            "a proposal submitted with `warden apply FILE`",
        ),
        ("policy".into(), ".warden/policy.yaml"),
        (
            "ledger".into(),
            "one line of .ledger/runs/<writer>.jsonl; `warden apply|undo|ledger show --format json`",
        ),
        ("ledger-log".into(), "`warden ledger log --format json`"),
        ("plan".into(), "`warden apply --dry-run --format json`"),
        (
            "run".into(),
            ".runs/<RUN>/run.json: a run's plan, diff and ledger entry",
        ),
        ("status".into(), "`warden status --format json`"),
        (
            "ledger-verify".into(),
            "`warden ledger verify --format json`",
        ),
        ("runs".into(), "`warden runs --format json`"),
        ("history".into(), "`warden history --format json`"),
        (
            "history-entry".into(),
            "one line of .runs/history.jsonl: a read-only report kept locally",
        ),
        (
            "ledger-reindex".into(),
            "`warden ledger reindex --format json`",
        ),
        (
            "ledger-accept".into(),
            "`warden ledger accept --reason TEXT --format json`",
        ),
        ("events".into(), "`warden events --format json`"),
        ("init".into(), "`warden init --format json`"),
        (
            "modules".into(),
            ".warden/modules.yaml: the module registry",
        ),
        (
            "record".into(),
            ".runs/<RUN>/run.json of a recorded run (no working-tree change)",
        ),
        (
            "quarantine".into(),
            ".quarantine/<RUN>/index.json: what a run moved into the quarantine lane",
        ),
        (
            "error".into(),
            "any command's error with `--format json` (stdout; exit 1–4)",
        ),
        ("schema-list".into(), "`warden schema --format json`"),
    ];
    for e in crate::events::event_names() {
        out.push((format!("event/{e}"), "input payload of a lifecycle event"));
    }
    out
}

pub fn get(name: &str) -> Option<Value> {
    Some(match name {
        // The schema field is a constant; allow additive fields elsewhere.
        "proposal" => tagged::<crate::proposal::Proposal>(
            "proposal",
            Some(crate::proposal::PROPOSAL_SCHEMA_ID),
        ),
        "policy" => schema_for::<crate::policy::PolicyFile>("policy"),
        // "ledger-entry" is the name this schema had before names matched tags.
        "ledger" | "ledger-entry" => {
            tagged::<crate::ledger::Entry>("ledger", Some(crate::ledger::LEDGER_SCHEMA_ID))
        }
        "ledger-log" => schema_for::<crate::status::LedgerLog>("ledger-log"),
        "record" => schema_for::<crate::engine::RecordArtifact>("record"),
        "quarantine" => schema_for::<crate::plan::QuarantineIndex>("quarantine"),
        "error" => schema_for::<crate::report::ErrorReport>("error"),
        "schema-list" => schema_for::<crate::report::SchemaList>("schema-list"),
        "plan" => schema_for::<crate::plan::PlanReport>("plan"),
        "run" => schema_for::<crate::engine::RunArtifact>("run"),
        "status" => schema_for::<crate::status::Status>("status"),
        "ledger-verify" => schema_for::<crate::ledger::VerifyReport>("ledger-verify"),
        "history" => schema_for::<crate::history::History>("history"),
        "history-entry" => schema_for::<crate::history::HistoryEntry>("history-entry"),
        "runs" => schema_for::<crate::status::RunsReport>("runs"),
        "events" => schema_for::<crate::status::EventsReport>("events"),
        "ledger-reindex" => schema_for::<crate::ledger_index::ReindexReport>("ledger-reindex"),
        "ledger-accept" => schema_for::<crate::render::ledger::Accepted>("ledger-accept"),
        "init" => schema_for::<crate::repo::InitReport>("init"),
        "modules" => tagged::<crate::modules::ModulesFile>(
            "modules",
            Some(crate::modules::MODULES_SCHEMA_ID),
        ),
        other => {
            let ev = other.strip_prefix("event/")?;
            crate::events::find(ev)?.input_schema
        }
    })
}
