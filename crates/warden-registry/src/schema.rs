//! JSON Schemas (draft-07) of the registry maintainer's formats, published in
//! `schemas/` and printed by `warden schema NAME`.

use serde_json::Value;
use warden_core::schema::tagged as schema_for;

/// Names accepted by `warden schema`, with what each describes.
pub fn catalogue() -> Vec<(&'static str, &'static str)> {
    vec![
        ("registry-index", "registry/indexes/capabilities.yaml"),
        (
            "registry-entry",
            "the YAML front matter of registry/capabilities/<slug>.md",
        ),
        ("registry-standard", "registry/maturity-standard.yaml"),
        (
            "registry-patch",
            "registry patches: `warden registry maintain --patches FILE`; .runs/<RUN>/patches.json",
        ),
        (
            "registry-llm-response",
            "the strict-mode JSON an LLM answers with (every field required, nullable)",
        ),
        (
            "registry-validate",
            "`warden registry validate --format json`",
        ),
        ("registry-stats", "`warden registry stats --format json`"),
        ("registry-update", "`warden registry update --format json`"),
        (
            "registry-maintain",
            "`warden registry maintain --format json` (the summary)",
        ),
        (
            "registry-event",
            "one line of `warden registry maintain` without a terminal (JSON lines)",
        ),
        ("registry-init", "`warden registry init --format json`"),
        (
            "registry-publish",
            "the publish check of `warden registry maintain --publish --raw-url URL`",
        ),
        (
            "registry-replay",
            "`warden replay RUN --format json` of a registry maintain run",
        ),
    ]
}

pub fn get(name: &str) -> Option<Value> {
    use crate::*;
    Some(match name {
        "registry-index" => schema_for::<model::Index>(name, None),
        "registry-entry" => schema_for::<model::EntryMeta>(name, None),
        "registry-standard" => {
            schema_for::<standard::Standard>(name, Some(standard::STANDARD_SCHEMA_ID))
        }
        "registry-patch" => schema_for::<patch::PatchFile>(name, Some(patch::PATCH_SCHEMA_ID)),
        "registry-llm-response" => patch::llm_response_document(),
        "registry-validate" => {
            schema_for::<validate::ValidateReport>(name, Some(validate::VALIDATE_SCHEMA_ID))
        }
        "registry-stats" => schema_for::<stats::StatsReport>(name, Some(stats::STATS_SCHEMA_ID)),
        "registry-update" => {
            schema_for::<maintain::UpdateReport>(name, Some(maintain::UPDATE_SCHEMA_ID))
        }
        "registry-maintain" => {
            schema_for::<maintain::MaintainReport>(name, Some(maintain::MAINTAIN_SCHEMA_ID))
        }
        "registry-event" => schema_for::<maintain::Event>(name, Some(maintain::EVENT_SCHEMA_ID)),
        "registry-init" => schema_for::<init::InitReport>(name, Some(init::INIT_SCHEMA_ID)),
        "registry-publish" => {
            schema_for::<publish::PublishReport>(name, Some(publish::PUBLISH_SCHEMA_ID))
        }
        "registry-replay" => {
            schema_for::<replay::ReplayReport>(name, Some(replay::REPLAY_SCHEMA_ID))
        }
        _ => return None,
    })
}
