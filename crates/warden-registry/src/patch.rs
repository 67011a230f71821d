//! The registry-patch contract (T01): seven kinds,
//! each with one field path shape and exactly one of `value` / `append`.
//! Patches come from the deterministic collectors, an LLM, a person (the
//! review loop's editor) or a file (`maintain --patches FILE`); all go through
//! [`check`] (the schema gate) and [`apply`] onto a [`Registry`] in memory.
//!
//! | kind | field_path | value / append |
//! |---|---|---|
//! | `vector_sync` | `index.vector` | value: the entry's vector, `D2/A1/C1/R0` |
//! | `evidence_append` | `evidence.<key>` | append: a path |
//! | `artifact_append` | `availability.current_artifacts` | append: an artifact |
//! | `maturity_promote` | `maturity.<D\|A\|C\|R>.current` | value: the new level |
//! | `consumer_feedback` | `consumer_feedback` | append: the feedback text |
//! | `relation_add` | `relations.<kind>` | append: another capability id |
//! | `index_row_add` | `index.capabilities` | value: the entry path |

use crate::model::{Feedback, IndexRow, Origin, Promotion, Vector, dim_index};
use crate::registry::Registry;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const PATCH_SCHEMA_ID: &str = "warden.registry-patch/v1";

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PatchKind {
    VectorSync,
    EvidenceAppend,
    ArtifactAppend,
    MaturityPromote,
    ConsumerFeedback,
    RelationAdd,
    IndexRowAdd,
}

impl PatchKind {
    pub const ALL: [PatchKind; 7] = [
        PatchKind::VectorSync,
        PatchKind::EvidenceAppend,
        PatchKind::ArtifactAppend,
        PatchKind::MaturityPromote,
        PatchKind::ConsumerFeedback,
        PatchKind::RelationAdd,
        PatchKind::IndexRowAdd,
    ];

    pub fn name(self) -> &'static str {
        match self {
            PatchKind::VectorSync => "vector_sync",
            PatchKind::EvidenceAppend => "evidence_append",
            PatchKind::ArtifactAppend => "artifact_append",
            PatchKind::MaturityPromote => "maturity_promote",
            PatchKind::ConsumerFeedback => "consumer_feedback",
            PatchKind::RelationAdd => "relation_add",
            PatchKind::IndexRowAdd => "index_row_add",
        }
    }

    /// Whether the patch carries `value` (else `append`).
    pub fn takes_value(self) -> bool {
        matches!(
            self,
            PatchKind::VectorSync | PatchKind::MaturityPromote | PatchKind::IndexRowAdd
        )
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub fn name(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// One patch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistryPatch {
    pub capability_id: String,
    pub kind: PatchKind,
    pub confidence: Confidence,
    pub rationale: String,
    pub field_path: String,
    /// The new value (vector_sync, maturity_promote, index_row_add).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// The item to append (the other kinds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub append: Option<Value>,
    /// Repository-relative paths that support the patch; required for
    /// maturity_promote.
    #[serde(default)]
    pub evidence_citations: Vec<String>,
}

/// A file of patches: `maintain --patches FILE`, and what `.runs/<RUN>/patches.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "warden registry patches",
    description = "Registry patches: `warden registry maintain --patches FILE`"
)]
pub struct PatchFile {
    /// Always "warden.registry-patch/v1".
    pub schema: String,
    pub patches: Vec<RegistryPatch>,
}

/// A patch that does not fit its contract or the registry: the field and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchError {
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for PatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

fn err(field: &str, message: impl Into<String>) -> PatchError {
    PatchError {
        field: field.into(),
        message: message.into(),
    }
}

/// The target of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    IndexVector,
    Evidence(String),
    Artifacts,
    Level(char),
    Feedback,
    Relation(String),
    IndexRows,
}

fn key_ok(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn target(kind: PatchKind, path: &str) -> Result<Target, PatchError> {
    let t = match kind {
        PatchKind::VectorSync if path == "index.vector" => Target::IndexVector,
        PatchKind::EvidenceAppend => match path.strip_prefix("evidence.") {
            Some(k) if key_ok(k) => Target::Evidence(k.into()),
            _ => {
                return Err(err(
                    "field_path",
                    format!(
                        "\"{path}\" is not evidence.<key> (key: lowercase letters, digits, _), e.g. evidence.tests"
                    ),
                ));
            }
        },
        PatchKind::ArtifactAppend if path == "availability.current_artifacts" => Target::Artifacts,
        PatchKind::MaturityPromote => {
            let dim = path
                .strip_prefix("maturity.")
                .map(|r| r.strip_suffix(".current").unwrap_or(r));
            match dim {
                Some(d) if d.len() == 1 && dim_index(d.chars().next().unwrap_or(' ')).is_some() => {
                    Target::Level(d.chars().next().unwrap_or('D'))
                }
                _ => {
                    return Err(err(
                        "field_path",
                        format!("\"{path}\" is not maturity.<D|A|C|R>.current"),
                    ));
                }
            }
        }
        PatchKind::ConsumerFeedback if path == "consumer_feedback" => Target::Feedback,
        PatchKind::RelationAdd => match path.strip_prefix("relations.") {
            Some(k) if key_ok(k) => Target::Relation(k.into()),
            _ => {
                return Err(err(
                    "field_path",
                    format!("\"{path}\" is not relations.<kind>, e.g. relations.depends_on"),
                ));
            }
        },
        PatchKind::IndexRowAdd if path == "index.capabilities" => Target::IndexRows,
        _ => {
            let want = match kind {
                PatchKind::VectorSync => "index.vector",
                PatchKind::ArtifactAppend => "availability.current_artifacts",
                PatchKind::ConsumerFeedback => "consumer_feedback",
                _ => "index.capabilities",
            };
            return Err(err(
                "field_path",
                format!("a {} patch writes \"{want}\", not \"{path}\"", kind.name()),
            ));
        }
    };
    Ok(t)
}

/// The schema gate: the patch fits its contract (field path, exactly one of
/// value/append with the right type, citations that are repository-relative).
pub fn check(p: &RegistryPatch) -> Result<(), PatchError> {
    if p.capability_id.trim().is_empty() {
        return Err(err("capability_id", "is empty"));
    }
    if p.rationale.trim().is_empty() {
        return Err(err("rationale", "is empty: say why"));
    }
    target(p.kind, &p.field_path)?;
    match (p.kind.takes_value(), &p.value, &p.append) {
        (true, Some(_), None) | (false, None, Some(_)) => {}
        (_, Some(_), Some(_)) => return Err(err("value", "give exactly one of value and append")),
        (true, _, _) => {
            return Err(err(
                "value",
                format!("a {} patch needs `value` (and no `append`)", p.kind.name()),
            ));
        }
        (false, _, _) => {
            return Err(err(
                "append",
                format!("a {} patch needs `append` (and no `value`)", p.kind.name()),
            ));
        }
    }
    match p.kind {
        PatchKind::VectorSync => {
            if p.value
                .as_ref()
                .and_then(Value::as_str)
                .and_then(Vector::parse)
                .is_none()
            {
                return Err(err("value", "must be a vector like \"D2/A1/C1/R0\""));
            }
        }
        PatchKind::MaturityPromote => {
            let level = p.value.as_ref().and_then(level_of);
            if level.is_none_or(|l| l > crate::model::MAX_LEVEL) {
                return Err(err("value", "must be a level from 0 to 9"));
            }
            if p.evidence_citations.is_empty() {
                return Err(err(
                    "evidence_citations",
                    "a promotion must cite evidence: repository paths of tests, workflows or docs",
                ));
            }
        }
        PatchKind::IndexRowAdd => {
            if p.value.as_ref().and_then(Value::as_str).is_none() {
                return Err(err("value", "must be the entry's path"));
            }
        }
        _ => {
            if p.append
                .as_ref()
                .and_then(Value::as_str)
                .is_none_or(|s| s.trim().is_empty())
            {
                return Err(err("append", "must be a non-empty string"));
            }
        }
    }
    for (i, c) in p.evidence_citations.iter().enumerate() {
        if warden_core::paths::RepoPath::parse(c, "", "").is_err() {
            return Err(err(
                &format!("evidence_citations[{i}]"),
                format!("\"{c}\" is not a repository-relative path"),
            ));
        }
    }
    Ok(())
}

/// A level given as 3 or "3".
pub fn level_of(v: &Value) -> Option<u8> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|n| u8::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// What a promotion changes: dimension, from, to.
pub fn promotion(p: &RegistryPatch, reg: &Registry) -> Option<(char, u8, u8)> {
    let Ok(Target::Level(d)) = target(p.kind, &p.field_path) else {
        return None;
    };
    let to = p.value.as_ref().and_then(level_of)?;
    let from = reg.entry(&p.capability_id)?.meta.maturity.level(d)?.current;
    Some((d, from, to))
}

/// Facts a write needs that the patch does not carry.
#[derive(Debug, Clone)]
pub struct Stamp {
    /// Today, YYYY-MM-DD.
    pub date: String,
    pub origin: Origin,
    pub run: Option<String>,
}

/// What applying a patch did, for the review loop's field diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub file: String,
    pub field: String,
    pub before: String,
    pub after: String,
}

/// Apply a checked patch to the registry in memory. A patch whose effect is
/// already present (the item is already listed) changes nothing and returns
/// `Ok(None)`.
pub fn apply(
    reg: &mut Registry,
    p: &RegistryPatch,
    stamp: &Stamp,
) -> Result<Option<FieldChange>, PatchError> {
    check(p)?;
    match target(p.kind, &p.field_path)? {
        Target::IndexRows => add_index_row(reg, p),
        Target::IndexVector => sync_index_vector(reg, p),
        t => apply_to_entry(reg, p, &t, stamp),
    }
}

/// A string value (`value` or `append`), empty when absent.
fn text_of(v: &Option<Value>) -> String {
    v.as_ref().and_then(Value::as_str).unwrap_or("").to_string()
}

/// index_row: a row for an entry file the index lacks.
fn add_index_row(reg: &mut Registry, p: &RegistryPatch) -> Result<Option<FieldChange>, PatchError> {
    let path = text_of(&p.value);
    let Some(entry) = reg.entries.iter().find(|e| e.path == path) else {
        return Err(err("value", format!("no entry file \"{path}\"")));
    };
    if entry.meta.id != p.capability_id {
        return Err(err(
            "capability_id",
            format!("\"{path}\" holds capability \"{}\"", entry.meta.id),
        ));
    }
    let vector = entry.meta.maturity.vector();
    let index = reg.index_mut();
    if index.capabilities.iter().any(|r| r.id == p.capability_id) {
        return Ok(None);
    }
    index.capabilities.push(IndexRow {
        id: p.capability_id.clone(),
        entry: path.clone(),
        vector,
    });
    index.capabilities.sort_by(|a, b| a.id.cmp(&b.id));
    reg.touch_index();
    Ok(Some(FieldChange {
        file: crate::model::INDEX_PATH.into(),
        field: "capabilities".into(),
        before: "(no row)".into(),
        after: format!("{} -> {path} ({vector})", p.capability_id),
    }))
}

/// vector_sync: the index row mirrors the entry's vector.
fn sync_index_vector(
    reg: &mut Registry,
    p: &RegistryPatch,
) -> Result<Option<FieldChange>, PatchError> {
    let v = Vector::parse(&text_of(&p.value)).ok_or_else(|| err("value", "not a vector"))?;
    let Some(entry) = reg.entry(&p.capability_id) else {
        return Err(err(
            "capability_id",
            format!("no entry \"{}\"", p.capability_id),
        ));
    };
    if entry.meta.maturity.vector() != v {
        return Err(err(
            "value",
            format!(
                "the entry's vector is {}, the index must mirror it",
                entry.meta.maturity.vector()
            ),
        ));
    }
    let index = reg.index_mut();
    let Some(row) = index
        .capabilities
        .iter_mut()
        .find(|r| r.id == p.capability_id)
    else {
        return Err(err(
            "capability_id",
            format!("the index has no row \"{}\"", p.capability_id),
        ));
    };
    if row.vector == v {
        return Ok(None);
    }
    let before = row.vector.to_string();
    row.vector = v;
    reg.touch_index();
    Ok(Some(FieldChange {
        file: crate::model::INDEX_PATH.into(),
        field: format!("capabilities[{}].vector", p.capability_id),
        before,
        after: v.to_string(),
    }))
}

/// A patch to one capability's entry file.
fn apply_to_entry(
    reg: &mut Registry,
    p: &RegistryPatch,
    t: &Target,
    stamp: &Stamp,
) -> Result<Option<FieldChange>, PatchError> {
    let Some(i) = reg.position(&p.capability_id) else {
        return Err(err(
            "capability_id",
            format!("no capability \"{}\" in the registry", p.capability_id),
        ));
    };
    let file = reg.entries[i].path.clone();
    reg.keep_as_loaded(i);
    let meta = &mut reg.entries[i].meta;
    let item = text_of(&p.append);
    let change = match t {
        Target::Evidence(k) => list_append(
            meta.evidence.entry(k.clone()).or_default(),
            &item,
            &file,
            format!("evidence.{k}"),
        ),
        Target::Artifacts => list_append(
            &mut meta.availability.current_artifacts,
            &item,
            &file,
            "availability.current_artifacts".into(),
        ),
        Target::Relation(k) => list_append(
            meta.relations.entry(k.clone()).or_default(),
            &item,
            &file,
            format!("relations.{k}"),
        ),
        Target::Feedback => add_feedback(&mut meta.consumer_feedback, &item, &file, stamp),
        Target::Level(d) => set_level(reg, i, p, *d, &file, stamp)?,
        Target::IndexVector | Target::IndexRows => None,
    };
    if change.is_some() {
        reg.touch_entry(&file);
    }
    Ok(change)
}

/// Append `item` to a list field unless it is already listed.
fn list_append(
    list: &mut Vec<String>,
    item: &str,
    file: &str,
    field: String,
) -> Option<FieldChange> {
    if list.iter().any(|x| x == item) {
        return None;
    }
    let before = format!("[{}]", list.join(", "));
    list.push(item.to_string());
    Some(FieldChange {
        file: file.to_string(),
        field,
        before,
        after: format!("[{}]", list.join(", ")),
    })
}

/// Add a consumer feedback item unless the same text is already there.
fn add_feedback(
    feedback: &mut Vec<Feedback>,
    item: &str,
    file: &str,
    stamp: &Stamp,
) -> Option<FieldChange> {
    if feedback.iter().any(|f| f.text == item) {
        return None;
    }
    feedback.push(Feedback {
        date: stamp.date.clone(),
        source: stamp.origin,
        text: item.to_string(),
    });
    Some(FieldChange {
        file: file.to_string(),
        field: "consumer_feedback".into(),
        before: format!("{} item(s)", feedback.len() - 1),
        after: format!("+ \"{item}\""),
    })
}

/// Set entry `i`'s level in dimension `d`, record the promotion, and keep
/// the index row's vector in step (vector sync on write).
fn set_level(
    reg: &mut Registry,
    i: usize,
    p: &RegistryPatch,
    d: char,
    file: &str,
    stamp: &Stamp,
) -> Result<Option<FieldChange>, PatchError> {
    let meta = &mut reg.entries[i].meta;
    let to = p.value.as_ref().and_then(level_of).unwrap_or(0);
    let from_vec = meta.maturity.vector();
    let Some(level) = meta.maturity.level_mut(d) else {
        return Err(err("field_path", "unknown dimension"));
    };
    if level.current == to {
        return Ok(None);
    }
    let from = level.current;
    level.current = to;
    let to_vec = meta.maturity.vector();
    meta.promotion_history.push(Promotion {
        from: from_vec,
        to: to_vec,
        date: stamp.date.clone(),
        evidence_citations: p.evidence_citations.clone(),
        source: stamp.origin,
        run: stamp.run.clone(),
    });
    let id = &p.capability_id;
    if let Some(row) = reg
        .index
        .as_mut()
        .and_then(|ix| ix.capabilities.iter_mut().find(|r| &r.id == id))
    {
        row.vector = to_vec;
        reg.index_dirty = true;
    }
    Ok(Some(FieldChange {
        file: file.to_string(),
        field: format!("maturity.{d}.current"),
        before: format!("{d}{from}"),
        after: format!("{d}{to}"),
    }))
}

/// The strict-mode LLM response schema (OpenAI `strict: true` rules: an object
/// at the root, every property required, `additionalProperties: false`
/// everywhere, nullable instead of optional).
pub fn llm_response_schema() -> Value {
    let kinds: Vec<&str> = PatchKind::ALL.iter().map(|k| k.name()).collect();
    serde_json::json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["patches"],
        "properties": {
            "patches": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["capability_id", "kind", "confidence", "rationale", "field_path", "value", "append", "evidence_citations"],
                    "properties": {
                        "capability_id": {"type": "string"},
                        "kind": {"type": "string", "enum": kinds},
                        "confidence": {"type": "string", "enum": ["low", "medium", "high"]},
                        "rationale": {"type": "string"},
                        "field_path": {"type": "string"},
                        "value": {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]},
                        "append": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                        "evidence_citations": {"type": "array", "items": {"type": "string"}}
                    }
                }
            }
        }
    })
}

/// The published form of [`llm_response_schema`].
pub fn llm_response_document() -> Value {
    let mut v = llm_response_schema();
    if let Value::Object(m) = &mut v {
        m.insert(
            "$schema".into(),
            Value::String("http://json-schema.org/draft-07/schema#".into()),
        );
        m.insert(
            "$id".into(),
            Value::String(
                "https://warden.invalid/schemas/registry-llm-response.schema.json".into(),
            ),
        );
        m.insert(
            "title".into(),
            Value::String("warden registry LLM response (strict mode)".into()),
        );
    }
    v
}

/// Turn a schema-valid LLM answer into patches (null → absent).
pub fn from_llm(answer: &Value) -> Result<Vec<RegistryPatch>, PatchError> {
    let items = answer
        .get("patches")
        .and_then(Value::as_array)
        .ok_or_else(|| err("patches", "missing"))?;
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let mut item = item.clone();
        if let Value::Object(m) = &mut item {
            m.retain(|_, v| !v.is_null());
        }
        let p: RegistryPatch = serde_json::from_value(item)
            .map_err(|e| err(&format!("patches[{i}]"), e.to_string()))?;
        out.push(p);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patch(
        kind: PatchKind,
        field: &str,
        value: Option<Value>,
        append: Option<Value>,
    ) -> RegistryPatch {
        RegistryPatch {
            capability_id: "capability.x".into(),
            kind,
            confidence: Confidence::High,
            rationale: "r".into(),
            field_path: field.into(),
            value,
            append,
            evidence_citations: vec![],
        }
    }

    #[test]
    fn exactly_one_of_value_and_append() {
        let p = patch(
            PatchKind::EvidenceAppend,
            "evidence.tests",
            Some(json!("a")),
            None,
        );
        assert_eq!(check(&p).expect_err("value").field, "append");
        let p = patch(
            PatchKind::EvidenceAppend,
            "evidence.tests",
            Some(json!("a")),
            Some(json!("b")),
        );
        assert_eq!(
            check(&p).expect_err("both").message,
            "give exactly one of value and append"
        );
        let p = patch(
            PatchKind::EvidenceAppend,
            "evidence.tests",
            None,
            Some(json!("tests/a.rs")),
        );
        check(&p).expect("ok");
    }

    #[test]
    fn field_paths_fit_their_kind() {
        let p = patch(
            PatchKind::ArtifactAppend,
            "evidence.tests",
            None,
            Some(json!("x")),
        );
        assert!(
            check(&p)
                .expect_err("path")
                .message
                .contains("availability.current_artifacts")
        );
        let p = patch(
            PatchKind::MaturityPromote,
            "maturity.X.current",
            Some(json!(2)),
            None,
        );
        assert_eq!(check(&p).expect_err("dim").field, "field_path");
        let mut p = patch(
            PatchKind::MaturityPromote,
            "maturity.C.current",
            Some(json!(2)),
            None,
        );
        assert_eq!(
            check(&p).expect_err("citations").field,
            "evidence_citations"
        );
        p.evidence_citations = vec!["../etc/passwd".into()];
        assert_eq!(
            check(&p).expect_err("escape").field,
            "evidence_citations[0]"
        );
        p.evidence_citations = vec!["tests/a.rs".into()];
        check(&p).expect("ok");
    }

    #[test]
    fn the_llm_schema_is_strict_mode_compatible() {
        // OpenAI strict rules: object root; every object lists every property
        // in `required` and sets additionalProperties false.
        fn walk(v: &Value, at: &str) {
            if v.get("type") == Some(&json!("object")) {
                let props = v["properties"].as_object().expect("properties");
                let req: Vec<&str> = v["required"]
                    .as_array()
                    .expect("required")
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                for k in props.keys() {
                    assert!(req.contains(&k.as_str()), "{at}.{k} not required");
                }
                assert_eq!(v["additionalProperties"], json!(false), "{at}");
                for (k, p) in props {
                    walk(p, &format!("{at}.{k}"));
                }
            }
            if let Some(items) = v.get("items") {
                walk(items, &format!("{at}[]"));
            }
        }
        let s = llm_response_schema();
        assert_eq!(s["type"], json!("object"));
        walk(&s, "");
    }
}
