//! The command contract and its validation layers (docs/bridge.md):
//! file → JSON → HMAC → schema → time window. Each layer returns a
//! [`Rejection`] naming the reason, the field and the fix.

use crate::canon::{self, JVal, ParseError};
use crate::reason::{Reason, Rejection};
use crate::sign::{KeySlot, Secrets};
use jiff::{SignedDuration, Timestamp};

/// The only schema version this executor reads.
pub const SCHEMA_VERSION: &str = "1.0";
/// The only `action`: apply the payload's ops / diff to the target repository.
pub const ACTIONS: &[&str] = &["applyPatch"];
/// `target` names the configured target repository; only one is supported.
pub const TARGETS: &[&str] = &["MAIN"];
/// Default size limit of one command file (512 KB).
pub const DEFAULT_MAX_BYTES: u64 = 512 * 1024;
/// Clock skew tolerated in both directions of the time window.
pub const DEFAULT_SKEW_SECS: i64 = 30;

const FIELDS: &[&str] = &[
    "schemaVersion",
    "id",
    "issued_at",
    "expires_at",
    "nonce",
    "target",
    "action",
    "patchType",
    "payload",
    "validationPlan",
    "allowedActions",
    "constraints",
    "hmac",
];

/// How the payload describes the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// `payload.inline.ops` and/or `payload.inline.diff`.
    Hybrid,
    /// `payload.inline.ops` only.
    Ops,
    /// `payload.inline.diff` (a unified diff) only.
    Unified,
}

impl PatchType {
    pub const NAMES: &[&str] = &["hybrid", "ops", "unified"];
    fn parse(s: &str) -> Option<Self> {
        match s {
            "hybrid" => Some(PatchType::Hybrid),
            "ops" => Some(PatchType::Ops),
            "unified" => Some(PatchType::Unified),
            _ => None,
        }
    }
}

/// What the executor can do; `allowedActions` must be a non-empty subset.
pub const CAPABILITIES: &[&str] = &[
    "noop",
    "writeFile",
    "moveFile",
    "deleteFile",
    "replaceRegion",
];

/// A precondition on a path's current content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    Any,
    Absent,
    Sha256(String),
}

impl Expect {
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Expect::Any => "any".into(),
            Expect::Absent => "absent".into(),
            Expect::Sha256(h) => serde_json::json!({ "sha256": h }),
        }
    }
}

/// One operation of `payload.inline.ops`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Noop,
    WriteFile {
        path: String,
        /// UTF-8 text (`content`), or base64 when `base64` (`content_base64`:
        /// any bytes). A remote command never names a local file.
        content: String,
        base64: bool,
        expect: Expect,
    },
    MoveFile {
        from: String,
        to: String,
        expect: Expect,
    },
    DeleteFile {
        path: String,
        expect: Expect,
    },
    ReplaceRegion {
        path: String,
        fence: String,
        content: String,
    },
}

impl Op {
    pub const NAMES: &[&str] = &[
        "noop",
        "writeFile",
        "moveFile",
        "deleteFile",
        "replaceRegion",
    ];
    pub fn name(&self) -> &'static str {
        match self {
            Op::Noop => "noop",
            Op::WriteFile { .. } => "writeFile",
            Op::MoveFile { .. } => "moveFile",
            Op::DeleteFile { .. } => "deleteFile",
            Op::ReplaceRegion { .. } => "replaceRegion",
        }
    }
}

/// A command that passed the schema layer.
#[derive(Debug, Clone)]
pub struct Command {
    pub id: String,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    pub issued_at_text: String,
    pub expires_at_text: String,
    pub action: String,
    pub patch_type: PatchType,
    pub ops: Vec<Op>,
    pub diff: Option<String>,
    pub allowed_actions: Vec<String>,
    pub max_runtime_ms: u64,
    pub max_files_changed: u64,
    /// `validationPlan`: names of checks the operator defined in
    /// `meta/bridge.json` (`checks`), run in order after the change is applied
    /// and before it commits.
    pub validation_plan: Vec<String>,
}

impl Command {
    /// The constraints as written, for results and integrity reports.
    pub fn constraints_json(&self) -> serde_json::Value {
        serde_json::json!({
            "maxRuntimeMs": self.max_runtime_ms,
            "maxFilesChanged": self.max_files_changed,
        })
    }

    /// Whether the command changes nothing by construction.
    pub fn is_noop(&self) -> bool {
        self.diff.is_none() && self.ops.iter().all(|o| *o == Op::Noop)
    }
}

/// Whether `id` can name files: 1–128 of `[A-Za-z0-9._-]`, starting with an
/// alphanumeric, no `..`.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id.as_bytes()[0].is_ascii_alphanumeric()
        && !id.contains("..")
        // `results/<id>.integrity.json` is the integrity report of `<id>`:
        // a command `<id>.integrity` would overwrite it with its result.
        && !id.ends_with(".integrity")
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Layer 1b: parse the bytes as JSON.
pub fn parse_json(bytes: &[u8]) -> Result<JVal, Rejection> {
    canon::parse(bytes).map_err(|e| match e {
        ParseError::DuplicateKey { ref key, .. } if key == "hmac" => {
            Rejection::new(Reason::HmacDuplicated, e.to_string())
                .field("hmac")
                .hint("sign once: a command carries exactly one \"hmac\"")
        }
        ParseError::DuplicateKey { ref key, .. } => {
            Rejection::new(Reason::DuplicateKey, e.to_string())
                .field(key.clone())
                .hint("remove the repeated key; JSON readers disagree on which copy wins")
        }
        ParseError::Syntax { ref message, .. } if message.contains("byte-order mark") => {
            Rejection::new(Reason::InvalidJson, e.to_string())
                .hint("save the file as UTF-8 without a byte-order mark (BOM), then sign it again")
        }
        ParseError::Syntax { .. } => Rejection::new(Reason::InvalidJson, e.to_string())
            .hint("write the whole file as one JSON object, then rename it into commands/"),
    })
}

/// Layer 2: the HMAC over the canonical JSON without `hmac`.
pub fn authenticate(doc: &JVal, secrets: &Secrets) -> Result<KeySlot, Rejection> {
    if !matches!(doc, JVal::Obj(_)) {
        return Err(Rejection::new(
            Reason::HmacMissing,
            format!(
                "the document is {}, not an object with \"hmac\"",
                doc.type_name()
            ),
        ));
    }
    let Some(mac) = doc.get("hmac") else {
        return Err(Rejection::new(Reason::HmacMissing, "no \"hmac\" field")
            .field("hmac")
            .hint("sign the command: `warden bridge sign FILE`"));
    };
    let Some(mac) = mac.as_str() else {
        return Err(Rejection::new(
            Reason::HmacMalformed,
            format!("\"hmac\" is {}, not a base64 string", mac.type_name()),
        )
        .field("hmac"));
    };
    let payload = canon::signing_payload(doc);
    match secrets.verify_payload(&payload, mac) {
        Err(why) => Err(Rejection::new(Reason::HmacMalformed, why).field("hmac")),
        Ok(Some(slot)) => Ok(slot),
        Ok(None) => Err(Rejection::new(
            Reason::HmacMismatch,
            format!(
                "the HMAC does not match the canonical JSON under any of the {} accepted secret(s)",
                secrets.count()
            ),
        )
        .field("hmac")
        .hint("the document was changed after signing, or signed with another secret; `warden bridge verify FILE` explains")),
    }
}

fn schema(field: &str, detail: impl Into<String>) -> Rejection {
    Rejection::new(Reason::Schema, detail)
        .field(field)
        .hint("`warden bridge new noop` writes a valid command to start from; docs/wire-format.md has the format")
}

fn req<'a>(doc: &'a JVal, field: &str) -> Result<&'a JVal, Rejection> {
    doc.get(field)
        .ok_or_else(|| schema(field, format!("\"{field}\" is missing")))
}

fn string<'a>(v: &'a JVal, field: &str) -> Result<&'a str, Rejection> {
    v.as_str()
        .ok_or_else(|| schema(field, format!("must be a string, found {}", v.type_name())))
}

fn req_str<'a>(doc: &'a JVal, field: &str) -> Result<&'a str, Rejection> {
    string(req(doc, field)?, field)
}

fn uint(v: &JVal, field: &str) -> Result<u64, Rejection> {
    match v {
        JVal::Num(n) => n.as_u64().ok_or_else(|| {
            schema(
                field,
                format!("must be a non-negative integer, found {}", n.text),
            )
        }),
        other => Err(schema(
            field,
            format!(
                "must be a non-negative integer, found {}",
                other.type_name()
            ),
        )),
    }
}

fn timestamp(doc: &JVal, field: &str) -> Result<(Timestamp, String), Rejection> {
    let text = req_str(doc, field)?;
    let ts: Timestamp = text.parse().map_err(|e| {
        schema(
            field,
            format!("\"{text}\" is not an RFC 3339 timestamp: {e}"),
        )
        .hint("write UTC with a Z, e.g. \"2025-08-09T06:24:51Z\"")
    })?;
    Ok((ts, text.to_string()))
}

fn members<'a>(v: &'a JVal, field: &str) -> Result<&'a [(String, JVal)], Rejection> {
    match v {
        JVal::Obj(m) => Ok(m),
        other => Err(schema(
            field,
            format!("must be an object, found {}", other.type_name()),
        )),
    }
}

fn only_keys(v: &JVal, field: &str, known: &[&str]) -> Result<(), Rejection> {
    for (k, _) in members(v, field)? {
        if !known.contains(&k.as_str()) {
            let at = if field.is_empty() {
                k.clone()
            } else {
                format!("{field}.{k}")
            };
            let hint = match warden_core::error::did_you_mean(k, known.iter().copied()) {
                Some(dym) => format!("{dym} Unknown fields are refused, never ignored"),
                None => format!(
                    "remove it; the fields here are {} (docs/wire-format.md)",
                    known.join(", ")
                ),
            };
            return Err(schema(
                &at,
                format!("unknown field \"{k}\" (known: {})", known.join(", ")),
            )
            .hint(hint));
        }
    }
    Ok(())
}

/// Layer 3: the schema. The document has already been authenticated.
pub fn parse_command(doc: &JVal) -> Result<Command, Rejection> {
    only_keys(doc, "", FIELDS)?;
    let version = req_str(doc, "schemaVersion")?;
    if version != SCHEMA_VERSION {
        return Err(schema(
            "schemaVersion",
            format!(
                "unsupported schemaVersion \"{version}\" (this executor reads \"{SCHEMA_VERSION}\")"
            ),
        ));
    }
    let id = command_id(doc)?;
    let (issued_at, issued_at_text) = timestamp(doc, "issued_at")?;
    let (expires_at, expires_at_text) = timestamp(doc, "expires_at")?;
    if expires_at <= issued_at {
        return Err(schema(
            "expires_at",
            format!("expires_at {expires_at_text} is not after issued_at {issued_at_text}"),
        ));
    }
    req_str(doc, "nonce")?;
    check_target(doc)?;
    let (action, patch_type) = action_and_patch_type(doc)?;
    let validation_plan = validation_plan(req(doc, "validationPlan")?)?;
    let allowed_actions = allowed_actions(req(doc, "allowedActions")?)?;
    let (max_runtime_ms, max_files_changed) = constraints(req(doc, "constraints")?)?;
    let (ops, diff) = payload(req(doc, "payload")?, patch_type)?;
    Ok(Command {
        id: id.to_string(),
        issued_at,
        expires_at,
        issued_at_text,
        expires_at_text,
        action: action.to_string(),
        patch_type,
        ops,
        diff,
        allowed_actions,
        max_runtime_ms,
        max_files_changed,
        validation_plan,
    })
}

/// `id`: it names files, so only a safe alphabet.
fn command_id(doc: &JVal) -> Result<&str, Rejection> {
    let id = req_str(doc, "id")?;
    if !valid_id(id) {
        return Err(schema(
            "id",
            format!(
                "\"{id}\" cannot name files: use 1–128 of A–Z a–z 0–9 . _ -, starting with a letter or digit, not ending in .integrity"
            ),
        ));
    }
    Ok(id)
}

/// `target`: one of [`TARGETS`].
fn check_target(doc: &JVal) -> Result<(), Rejection> {
    let target = req_str(doc, "target")?;
    if !TARGETS.contains(&target) {
        return Err(schema(
            "target",
            format!(
                "unknown target \"{target}\" (known: {})",
                TARGETS.join(", ")
            ),
        )
        .hint("\"MAIN\" is the one target repository of this bridge root (meta/bridge.json, `warden bridge init --target PATH`); to change another repository, give it a bridge root of its own"));
    }
    Ok(())
}

/// `action` (one of [`ACTIONS`]) and `patchType`.
fn action_and_patch_type(doc: &JVal) -> Result<(&str, PatchType), Rejection> {
    let action = req_str(doc, "action")?;
    if !ACTIONS.contains(&action) {
        return Err(Rejection::new(
            Reason::UnknownAction,
            format!(
                "unknown action \"{action}\" (known: {})",
                ACTIONS.join(", ")
            ),
        )
        .field("action"));
    }
    let pt = req_str(doc, "patchType")?;
    let Some(patch_type) = PatchType::parse(pt) else {
        return Err(Rejection::new(
            Reason::UnknownPatchType,
            format!(
                "unknown patchType \"{pt}\" (known: {})",
                PatchType::NAMES.join(", ")
            ),
        )
        .field("patchType"));
    };
    Ok((action, patch_type))
}

/// `constraints`: (maxRuntimeMs, maxFilesChanged).
fn constraints(constraints: &JVal) -> Result<(u64, u64), Rejection> {
    only_keys(
        constraints,
        "constraints",
        &["maxRuntimeMs", "maxFilesChanged"],
    )?;
    let max_runtime_ms = uint(
        req(constraints, "maxRuntimeMs")
            .map_err(|_| schema("constraints.maxRuntimeMs", "is missing"))?,
        "constraints.maxRuntimeMs",
    )?;
    if max_runtime_ms == 0 {
        return Err(schema("constraints.maxRuntimeMs", "must be at least 1"));
    }
    let max_files_changed = uint(
        req(constraints, "maxFilesChanged")
            .map_err(|_| schema("constraints.maxFilesChanged", "is missing"))?,
        "constraints.maxFilesChanged",
    )?;
    Ok((max_runtime_ms, max_files_changed))
}

/// `payload.inline`: the ops and the diff, as `patch_type` allows them.
fn payload(payload: &JVal, patch_type: PatchType) -> Result<(Vec<Op>, Option<String>), Rejection> {
    only_keys(payload, "payload", &["inline"])?;
    let inline = payload
        .get("inline")
        .ok_or_else(|| schema("payload.inline", "is missing"))?;
    only_keys(inline, "payload.inline", &["version", "ops", "diff"])?;
    if let Some(v) = inline.get("version") {
        string(v, "payload.inline.version")?;
    }
    let ops = match inline.get("ops") {
        None => Vec::new(),
        Some(JVal::Arr(items)) => items
            .iter()
            .enumerate()
            .map(|(i, o)| parse_op(o, &format!("payload.inline.ops[{i}]")))
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(schema(
                "payload.inline.ops",
                format!("must be an array, found {}", other.type_name()),
            ));
        }
    };
    let diff = match inline.get("diff") {
        None => None,
        Some(v) => Some(string(v, "payload.inline.diff")?.to_string()),
    };
    let has_ops = inline.get("ops").is_some();
    match patch_type {
        PatchType::Ops if diff.is_some() => {
            return Err(schema(
                "payload.inline.diff",
                "patchType \"ops\" takes no diff; use \"hybrid\" or \"unified\"",
            ));
        }
        PatchType::Ops if !has_ops => {
            return Err(schema("payload.inline.ops", "is missing"));
        }
        PatchType::Unified if has_ops => {
            return Err(schema(
                "payload.inline.ops",
                "patchType \"unified\" takes only a diff; use \"hybrid\" for both",
            ));
        }
        PatchType::Unified if diff.is_none() => {
            return Err(schema("payload.inline.diff", "is missing"));
        }
        PatchType::Hybrid if !has_ops && diff.is_none() => {
            return Err(schema("payload.inline", "has neither \"ops\" nor \"diff\""));
        }
        _ => {}
    }
    if has_ops && ops.is_empty() {
        return Err(schema(
            "payload.inline.ops",
            "is empty; a no-op command sends [{\"op\": \"noop\"}]",
        ));
    }
    Ok((ops, diff))
}

/// Most steps of one `validationPlan`.
pub const MAX_VALIDATION_STEPS: usize = 16;

/// `validationPlan`: an array of check names (strings). What each name runs
/// is the operator's (`meta/bridge.json`), never the command's: a signed
/// command can ask for checks, not run programs of its own.
fn validation_plan(v: &JVal) -> Result<Vec<String>, Rejection> {
    let JVal::Arr(items) = v else {
        return Err(schema(
            "validationPlan",
            format!("must be an array, found {}", v.type_name()),
        ));
    };
    if items.len() > MAX_VALIDATION_STEPS {
        return Err(schema(
            "validationPlan",
            format!(
                "{} steps; at most {MAX_VALIDATION_STEPS} are allowed",
                items.len()
            ),
        ));
    }
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let field = format!("validationPlan[{i}]");
        match item {
            JVal::Str(name) if valid_check_name(name) => out.push(name.clone()),
            JVal::Str(name) => {
                return Err(schema(
                    &field,
                    format!("\"{name}\" is not a check name (1–64 of A–Z a–z 0–9 . _ -)"),
                ));
            }
            other => {
                return Err(schema(
                    &field,
                    format!(
                        "must be the name of a check (a string), found {}",
                        other.type_name()
                    ),
                )
                .hint("a step names a check defined by the operator in meta/bridge.json (\"checks\"); commands cannot carry programs to run"));
            }
        }
    }
    Ok(out)
}

/// A check name: 1–64 of `[A-Za-z0-9._-]`.
pub fn valid_check_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn allowed_actions(v: &JVal) -> Result<Vec<String>, Rejection> {
    let JVal::Arr(items) = v else {
        return Err(schema(
            "allowedActions",
            format!("must be an array, found {}", v.type_name()),
        ));
    };
    if items.is_empty() {
        return Err(Rejection::new(
            Reason::OpNotAllowed,
            "allowedActions is empty; it must be a non-empty subset of the executor's capabilities",
        )
        .field("allowedActions")
        .hint(format!("capabilities: {}", CAPABILITIES.join(", "))));
    }
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let field = format!("allowedActions[{i}]");
        let name = string(item, &field)?;
        if !CAPABILITIES.contains(&name) {
            return Err(Rejection::new(
                Reason::OpNotAllowed,
                format!("\"{name}\" is not a capability of this executor"),
            )
            .field(field)
            .hint(format!("capabilities: {}", CAPABILITIES.join(", "))));
        }
        out.push(name.to_string());
    }
    Ok(out)
}

fn parse_expect(op: &JVal, field: &str) -> Result<Expect, Rejection> {
    match op.get("expect") {
        None => Ok(Expect::Any),
        Some(JVal::Str(s)) if s == "any" => Ok(Expect::Any),
        Some(JVal::Str(s)) if s == "absent" => Ok(Expect::Absent),
        Some(v @ JVal::Obj(_)) => {
            only_keys(v, field, &["sha256"])?;
            let h = req_str(v, "sha256")
                .map_err(|_| schema(&format!("{field}.sha256"), "must be a string"))?;
            if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(schema(&format!("{field}.sha256"), "must be 64 hex digits"));
            }
            Ok(Expect::Sha256(h.to_ascii_lowercase()))
        }
        Some(_) => Err(schema(
            field,
            "must be \"any\", \"absent\" or {\"sha256\": \"<hex>\"}",
        )),
    }
}

fn parse_op(o: &JVal, field: &str) -> Result<Op, Rejection> {
    members(o, field)?;
    let name = o
        .get("op")
        .ok_or_else(|| schema(&format!("{field}.op"), "is missing"))?;
    let name = string(name, &format!("{field}.op"))?;
    let f = OpFields { o, field };
    Ok(match name {
        "noop" => {
            f.only(&["op"])?;
            Op::Noop
        }
        "writeFile" => {
            f.only(&["op", "path", "content", "content_base64", "expect"])?;
            let (content, base64) = f.content()?;
            Op::WriteFile {
                path: f.string("path")?,
                content,
                base64,
                expect: f.expect()?,
            }
        }
        "moveFile" => {
            f.only(&["op", "from", "to", "expect"])?;
            Op::MoveFile {
                from: f.string("from")?,
                to: f.string("to")?,
                expect: f.expect()?,
            }
        }
        "deleteFile" => {
            f.only(&["op", "path", "expect"])?;
            Op::DeleteFile {
                path: f.string("path")?,
                expect: f.expect()?,
            }
        }
        "replaceRegion" => {
            f.only(&["op", "path", "fence", "content"])?;
            Op::ReplaceRegion {
                path: f.string("path")?,
                fence: f.string("fence")?,
                content: f.string("content")?,
            }
        }
        other => {
            return Err(Rejection::new(
                Reason::UnknownOp,
                format!("unknown op \"{other}\" (known: {})", Op::NAMES.join(", ")),
            )
            .field(format!("{field}.op")));
        }
    })
}

/// One op object (`payload.inline.ops[i]`), read field by field; every
/// rejection names the field.
struct OpFields<'a> {
    o: &'a JVal,
    field: &'a str,
}

impl OpFields<'_> {
    /// Refuse any key but `known`.
    fn only(&self, known: &[&str]) -> Result<(), Rejection> {
        only_keys(self.o, self.field, known)
    }

    /// A required string.
    fn string(&self, k: &str) -> Result<String, Rejection> {
        let f = format!("{}.{k}", self.field);
        let v = self
            .o
            .get(k)
            .ok_or_else(|| schema(&f, format!("\"{k}\" is missing")))?;
        Ok(string(v, &f)?.to_string())
    }

    fn expect(&self) -> Result<Expect, Rejection> {
        parse_expect(self.o, &format!("{}.expect", self.field))
    }

    /// `writeFile`'s content: exactly one of `content` (text) and
    /// `content_base64` (checked to decode). Returns it and whether it is base64.
    fn content(&self) -> Result<(String, bool), Rejection> {
        let field = self.field;
        let base64 = match (
            self.o.get("content").is_some(),
            self.o.get("content_base64").is_some(),
        ) {
            (true, true) => {
                return Err(schema(
                    &format!("{field}.content_base64"),
                    "cannot be given together with \"content\": give exactly one",
                ));
            }
            (false, false) => {
                return Err(schema(
                    &format!("{field}.content"),
                    "\"content\" (text) or \"content_base64\" (any bytes) is missing",
                ));
            }
            (_, b) => b,
        };
        let content = self.string(if base64 { "content_base64" } else { "content" })?;
        if base64 {
            use base64::Engine;
            if let Err(e) = base64::engine::general_purpose::STANDARD.decode(content.as_bytes()) {
                return Err(schema(
                    &format!("{field}.content_base64"),
                    format!("is not valid base64 ({e})"),
                ));
            }
        }
        Ok((content, base64))
    }
}

/// Layer 4: `issued_at - skew <= now <= expires_at + skew`.
pub fn check_time(cmd: &Command, now: Timestamp, skew_secs: i64) -> Result<(), Rejection> {
    let skew = SignedDuration::from_secs(skew_secs);
    if cmd.issued_at > now + skew {
        return Err(Rejection::new(
            Reason::NotYetValid,
            format!(
                "issued_at {} is in the future (now {}, skew allowance {skew_secs}s)",
                cmd.issued_at_text,
                now.round(jiff::Unit::Second).unwrap_or(now)
            ),
        )
        .field("issued_at")
        .hint("check the signer's clock"));
    }
    if now > cmd.expires_at + skew {
        return Err(Rejection::new(
            Reason::Expired,
            format!(
                "expired at {} (now {}, skew allowance {skew_secs}s)",
                cmd.expires_at_text,
                now.round(jiff::Unit::Second).unwrap_or(now)
            ),
        )
        .field("expires_at")
        .hint("issue a new command with a later expires_at"));
    }
    Ok(())
}

/// Every op must be allowed: `noop` always is; the others must be listed.
pub fn check_allowed(cmd: &Command) -> Result<(), Rejection> {
    for (i, op) in cmd.ops.iter().enumerate() {
        if *op != Op::Noop && !cmd.allowed_actions.iter().any(|a| a == op.name()) {
            return Err(Rejection::new(
                Reason::OpNotAllowed,
                format!(
                    "op \"{}\" is not in allowedActions [{}]",
                    op.name(),
                    cmd.allowed_actions.join(", ")
                ),
            )
            .field(format!("payload.inline.ops[{i}].op")));
        }
    }
    Ok(())
}
