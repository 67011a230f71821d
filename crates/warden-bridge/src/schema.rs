//! Draft-07 JSON Schemas of the bridge's file formats, published in
//! `schemas/bridge-*.schema.json` and printed by `warden schema NAME`. The
//! output documents' schemas are generated from their types; the command's is
//! written by hand because the command is parsed by hand (`command.rs`).

use serde_json::{Value, json};
use warden_core::schema::schema_for;

/// Names accepted by `warden schema`, with what each describes.
pub fn catalogue() -> Vec<(String, &'static str)> {
    vec![
        (
            "bridge-command".into(),
            "commands/<id>.json: a signed command",
        ),
        ("bridge-result".into(), "results/<id>.json"),
        ("bridge-integrity".into(), "results/<id>.integrity.json"),
        ("bridge-dead-letter".into(), "dead_letter/<key>.json"),
        ("bridge-log-line".into(), "one line of logs/bridge.log"),
        ("bridge-retries".into(), "meta/retries.json"),
        ("bridge-status".into(), "warden bridge status --format json"),
        (
            "bridge-unit".into(),
            "warden bridge unit --install --format json",
        ),
        (
            "bridge-config".into(),
            "meta/bridge.json: the target repository and the checks a validationPlan may name",
        ),
        ("bridge-init".into(), "`warden bridge init --format json`"),
        (
            "bridge-tick".into(),
            "`warden bridge run --once --format json` (with --watch: one per line)",
        ),
        ("bridge-new".into(), "`warden bridge new … --format json`"),
        (
            "bridge-verify".into(),
            "`warden bridge verify FILE --format json`",
        ),
        ("bridge-smoke".into(), "`warden bridge smoke --format json`"),
    ]
}

fn expect() -> Value {
    json!({"oneOf": [
        {"type": "string", "enum": ["any", "absent"]},
        {"type": "object", "properties": {"sha256": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"}},
         "required": ["sha256"], "additionalProperties": false}
    ]})
}

fn command() -> Value {
    let path = json!({"type": "string", "minLength": 1});
    let op = |name: &str, props: Value, required: &[&str]| {
        let mut p = props;
        p["op"] = json!({"const": name});
        let mut req = vec!["op"];
        req.extend_from_slice(required);
        json!({"type": "object", "properties": p, "required": req, "additionalProperties": false})
    };
    let ts = json!({"type": "string", "description": "RFC 3339 with an offset, e.g. 2025-08-09T06:24:51Z"});
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://warden.invalid/schemas/bridge-command.schema.json",
        "title": "warden bridge command",
        "description": "A signed command. hmac = base64(HMAC-SHA256(secret, Python json.dumps(doc without hmac, sort_keys=True, separators=(',', ':'))))",
        "type": "object",
        "properties": {
            "schemaVersion": {"const": "1.0"},
            "id": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"},
            "issued_at": ts,
            "expires_at": ts,
            "nonce": {"type": "string"},
            "target": {"const": "MAIN"},
            "action": {"enum": crate::command::ACTIONS},
            "patchType": {"enum": crate::command::PatchType::NAMES},
            "payload": {
                "type": "object",
                "properties": {"inline": {
                    "type": "object",
                    "properties": {
                        "version": {"type": "string"},
                        "diff": {"type": "string", "description": "a unified diff"},
                        "ops": {"type": "array", "minItems": 1, "items": {"oneOf": [
                            op("noop", json!({}), &[]),
                            op("writeFile", json!({"path": path, "content": {"type": "string"}, "expect": expect()}), &["path", "content"]),
                            op("writeFile", json!({"path": path, "content_base64": {"type": "string", "description": "the new content as base64 (any bytes)"}, "expect": expect()}), &["path", "content_base64"]),
                            op("moveFile", json!({"from": path, "to": path, "expect": expect()}), &["from", "to"]),
                            op("deleteFile", json!({"path": path, "expect": expect()}), &["path"]),
                            op("replaceRegion", json!({"path": path, "fence": {"type": "string"}, "content": {"type": "string"}}), &["path", "fence", "content"])
                        ]}}
                    },
                    "additionalProperties": false
                }},
                "required": ["inline"],
                "additionalProperties": false
            },
            "validationPlan": {"type": "array", "maxItems": crate::command::MAX_VALIDATION_STEPS,
                "description": "names of checks defined by the operator in meta/bridge.json (checks), run in the target repository after the change and before it commits",
                "items": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"}},
            "allowedActions": {"type": "array", "minItems": 1, "items": {"enum": crate::command::CAPABILITIES}},
            "constraints": {
                "type": "object",
                "properties": {
                    "maxRuntimeMs": {"type": "integer", "minimum": 1},
                    "maxFilesChanged": {"type": "integer", "minimum": 0}
                },
                "required": ["maxRuntimeMs", "maxFilesChanged"],
                "additionalProperties": false
            },
            "hmac": {"type": "string", "pattern": "^[A-Za-z0-9+/]{43}=$"}
        },
        "required": ["schemaVersion", "id", "issued_at", "expires_at", "nonce", "target", "action",
                     "patchType", "payload", "validationPlan", "allowedActions", "constraints", "hmac"],
        "additionalProperties": false
    })
}

pub fn get(name: &str) -> Option<Value> {
    Some(match name {
        "bridge-command" => command(),
        "bridge-result" => schema_for::<crate::outputs::ResultDoc>(name),
        "bridge-integrity" => schema_for::<crate::outputs::IntegrityDoc>(name),
        "bridge-dead-letter" => schema_for::<crate::outputs::DeadLetterDoc>(name),
        "bridge-log-line" => schema_for::<crate::outputs::LogLine>(name),
        "bridge-retries" => schema_for::<crate::retries::Index>(name),
        "bridge-config" => schema_for::<crate::layout::Config>(name),
        "bridge-status" => schema_for::<crate::service::StatusReport>(name),
        "bridge-unit" => schema_for::<crate::unit::UnitReport>(name),
        "bridge-init" => schema_for::<crate::layout::InitReport>(name),
        "bridge-tick" => schema_for::<crate::service::Tick>(name),
        "bridge-new" => schema_for::<crate::report::NewReport>(name),
        "bridge-verify" => schema_for::<crate::report::VerifyReport>(name),
        "bridge-smoke" => schema_for::<crate::report::SmokeReport>(name),
        _ => return None,
    })
}
