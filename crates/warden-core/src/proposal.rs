//! Proposals: the public contract through which people, scripts,
//! plugins, LLMs and remote commands ask the core for a change (G3). Fields may
//! be added to this format, never renamed.
//!
//! Parsing is by hand over a JSON value so that every error names the exact field
//! (`actions[2].kind`) and a fix. The typed structs below double as the source of
//! the published JSON Schema (`warden schema proposal`).

use crate::digest::Digest;
use crate::error::{Error, IoContext, Result, did_you_mean};
use crate::events::{self, ActionKind, SOURCE_KINDS};
use crate::paths::RepoPath;
use crate::strict;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value};

pub const PROPOSAL_SCHEMA_ID: &str = "warden.proposal/v1";

/// A proposal as submitted.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "warden proposal", description = "A change the core may apply")]
#[serde(deny_unknown_fields)]
pub struct Proposal {
    /// Always "warden.proposal/v1".
    pub schema: String,
    pub source: Source,
    /// A lifecycle event from `warden events`, e.g. "Manual".
    pub event: String,
    /// Why this change is wanted.
    #[serde(default)]
    pub rationale: String,
    /// 0.0–1.0, how sure the proposer is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// Supporting references (paths, URLs, ids).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    pub actions: Vec<Action>,
}

// Also read back from ledger entries, so serde stays lenient here (a newer
// warden may add fields); proposals refuse unknown fields in the parser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, JsonSchema)]
#[schemars(extend("additionalProperties" = false))]
pub struct Source {
    /// person, plugin, bridge, collector, generator, llm or tool (warden's own
    /// tools, e.g. `tool:warden-plugin` for plugin scaffolding).
    pub kind: String,
    /// Who exactly: a plugin key, a command id, a user name.
    pub id: String,
}

/// The precondition on a path's current content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The path must not exist.
    Absent,
    /// No precondition (explicit opt-out).
    Any,
    /// The current content's sha256.
    Sha256(Digest),
}

impl Serialize for Expect {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Expect::Absent => s.serialize_str("absent"),
            Expect::Any => s.serialize_str("any"),
            Expect::Sha256(d) => {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("sha256", d)?;
                m.end()
            }
        }
    }
}

impl JsonSchema for Expect {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Expect".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Precondition: \"absent\" (the path must not exist), \"any\" (no check), or the sha256 of the current content",
            "oneOf": [
                {"type": "string", "enum": ["absent", "any"]},
                {"type": "object", "properties": {"sha256": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"}},
                 "required": ["sha256"], "additionalProperties": false}
            ]
        })
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Create or replace a whole file. The new content is given by exactly
    /// one of `content` (UTF-8 text), `content_base64` (any bytes) and
    /// `content_file` (a staged file outside the repository, with its
    /// `content_sha256`).
    WriteFile {
        path: RepoPathSchema,
        /// The complete new content as UTF-8 text.
        #[serde(rename = "content", skip_serializing_if = "Option::is_none")]
        text: Option<String>,
        /// The complete new content as base64 (standard alphabet, padded): any bytes.
        #[serde(skip_serializing_if = "Option::is_none")]
        content_base64: Option<String>,
        /// An absolute path to a staged file outside the repository holding
        /// the new content; read once, and checked against `content_sha256`
        /// before anything is written. Not accepted from plugins or the bridge.
        #[serde(skip_serializing_if = "Option::is_none")]
        content_file: Option<String>,
        /// The sha256 of the new content: required with `content_file`,
        /// checked when given with the others.
        #[serde(skip_serializing_if = "Option::is_none")]
        content_sha256: Option<Digest>,
        /// The bytes to write, whichever field carried them.
        #[serde(skip)]
        #[schemars(skip)]
        content: Bytes,
        expect: Expect,
        /// Set (true) or clear (false) the executable bits; default: keep the current mode, 0644 for new files.
        #[serde(skip_serializing_if = "Option::is_none")]
        executable: Option<bool>,
    },
    /// Replace the body of one AUTO fence.
    PatchRegion {
        path: RepoPathSchema,
        /// The fence name in `BEGIN AUTO SECTION: NAME`.
        fence: String,
        /// The new body of the fence.
        content: String,
        #[serde(default = "any")]
        expect: Expect,
    },
    /// Move or rename a file.
    MoveFile {
        from: RepoPathSchema,
        to: RepoPathSchema,
        expect: Expect,
    },
    /// Move a file into the quarantine lane `.quarantine/<RUN>/` with a reason.
    Quarantine {
        path: RepoPathSchema,
        reason: String,
        #[serde(default = "any")]
        expect: Expect,
    },
    /// Delete a file (denied unless the policy allows delete_file).
    DeleteFile {
        path: RepoPathSchema,
        expect: Expect,
    },
    /// Write the new content of one capability registry file (the index or an
    /// entry under `registry/`), computed by the registry maintainer from the
    /// registry patches a session accepted. Applied like
    /// `write_file`; the policy grants it separately and it may only write
    /// below `registry/`.
    RegistryPatch {
        path: RepoPathSchema,
        /// The complete new content of the file.
        content: String,
        expect: Expect,
    },
}

fn any() -> Expect {
    Expect::Any
}

/// The content a `write_file` writes (cheap to clone) and its sha256. A
/// `content_file` over [`LARGE`](crate::content::LARGE) stays on disk: the
/// engine streams it; only [`Bytes::as_bytes`] reads it whole.
#[derive(Debug, Clone)]
pub struct Bytes {
    /// The content, and its bytes once [`Bytes::as_bytes`] read them.
    inner: std::sync::Arc<(crate::content::Content, std::sync::OnceLock<Vec<u8>>)>,
    pub digest: Digest,
}

impl PartialEq for Bytes {
    fn eq(&self, other: &Self) -> bool {
        self.digest == other.digest && self.content().len() == other.content().len()
    }
}

impl Eq for Bytes {}

impl Default for Bytes {
    fn default() -> Self {
        Bytes::new(Vec::new())
    }
}

impl Bytes {
    /// In-memory content.
    pub fn new(bytes: Vec<u8>) -> Bytes {
        let digest = Digest::of(&bytes);
        Bytes::of(
            crate::content::Content::Bytes(std::sync::Arc::new(bytes)),
            digest,
        )
    }

    fn of(content: crate::content::Content, digest: Digest) -> Bytes {
        Bytes {
            inner: std::sync::Arc::new((content, std::sync::OnceLock::new())),
            digest,
        }
    }

    /// The content: in memory, or (a big `content_file`) on disk.
    pub fn content(&self) -> &crate::content::Content {
        &self.inner.0
    }

    /// The whole content in memory. For content on disk (a big
    /// `content_file`) this reads the file once, and an unreadable file reads
    /// as empty: callers that only inspect content (conflict markers) may use
    /// it; the engine never does.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.inner.0 {
            crate::content::Content::Bytes(b) => b,
            crate::content::Content::File { path, .. } => self
                .inner
                .1
                .get_or_init(|| std::fs::read(path).unwrap_or_default()),
        }
    }
}

/// A `RepoPath` for the schema: a repository-relative path with `/`.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct RepoPathSchema(pub RepoPath);

impl JsonSchema for RepoPathSchema {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RepoPath".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "minLength": 1,
            "pattern": "^(?!/)(?!.*(^|/)\\.\\.?(/|$))(?!.*//)[^\\\\\\u0000]+$",
            "description": "Repository-relative path with '/' separators; no '..', no leading '/'"
        })
    }
}

impl std::fmt::Display for RepoPathSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::ops::Deref for RepoPathSchema {
    type Target = RepoPath;
    fn deref(&self) -> &RepoPath {
        &self.0
    }
}

impl Action {
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::WriteFile { .. } => ActionKind::WriteFile,
            Action::PatchRegion { .. } => ActionKind::PatchRegion,
            Action::MoveFile { .. } => ActionKind::MoveFile,
            Action::Quarantine { .. } => ActionKind::Quarantine,
            Action::DeleteFile { .. } => ActionKind::DeleteFile,
            Action::RegistryPatch { .. } => ActionKind::RegistryPatch,
        }
    }

    /// Every path the action touches.
    pub fn paths(&self) -> Vec<&RepoPath> {
        match self {
            Action::WriteFile { path, .. }
            | Action::PatchRegion { path, .. }
            | Action::Quarantine { path, .. }
            | Action::DeleteFile { path, .. }
            | Action::RegistryPatch { path, .. } => vec![&path.0],
            Action::MoveFile { from, to, .. } => vec![&from.0, &to.0],
        }
    }
}

impl Proposal {
    /// For proposals from a remote or sandboxed source (plugins, the bridge):
    /// refuse `content_file`, which names a local path.
    pub fn refuse_content_file(&self, file: &str) -> Result<()> {
        for (i, a) in self.actions.iter().enumerate() {
            if let Action::WriteFile {
                content_file: Some(_),
                ..
            } = a
            {
                return Err(Error::invalid(
                    file,
                    format!("actions[{i}].content_file"),
                    "is not accepted from this source: it names a local path",
                    Some("send the bytes as \"content_base64\"".into()),
                ));
            }
        }
        Ok(())
    }

    /// Refuse a `content_file` inside the repository at `root`: the staged
    /// file must live outside it.
    pub fn check_content_files(&self, root: &std::path::Path, file: &str) -> Result<()> {
        let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
        for (i, a) in self.actions.iter().enumerate() {
            if let Action::WriteFile {
                content_file: Some(f),
                ..
            } = a
            {
                let p = std::path::Path::new(f);
                let p = p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
                if p.starts_with(&root) {
                    return Err(Error::invalid(
                        file,
                        format!("actions[{i}].content_file"),
                        format!("\"{f}\" is inside the repository"),
                        Some("stage the content outside the repository (e.g. in /tmp)".into()),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Parse a proposal from JSON text. `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<(Proposal, Digest)> {
        Self::parse_bytes(text.as_bytes(), file)
    }

    /// Parse a proposal from the bytes of a file, strictly ([`crate::strict`]):
    /// no byte-order mark, valid UTF-8, no repeated key, no unknown field.
    pub fn parse_bytes(bytes: &[u8], file: &str) -> Result<(Proposal, Digest)> {
        let value = strict::parse_json(bytes, file).map_err(|e| match e {
            Error::Invalid {
                file,
                field,
                message,
                hint,
                refusal,
            } if field.starts_with("line ") && message.starts_with("not valid JSON") => {
                Error::Invalid {
                    file,
                    field,
                    message,
                    hint: hint.map(|h| format!("{h}; `warden schema proposal` shows the format")),
                    refusal,
                }
            }
            other => other,
        })?;
        Self::from_value(&value, file)
    }

    /// Parse a proposal from a JSON value. Returns it with its digest: the
    /// sha256 of its canonical JSON (sorted keys, no whitespace).
    pub fn from_value(value: &Value, file: &str) -> Result<(Proposal, Digest)> {
        Self::from_value_with(value, file, true)
    }

    /// [`Proposal::from_value`] for a remote or sandboxed source (a plugin,
    /// the bridge): a `content_file` is refused before anything reads it.
    pub fn from_value_remote(value: &Value, file: &str) -> Result<(Proposal, Digest)> {
        Self::from_value_with(value, file, false)
    }

    fn from_value_with(value: &Value, file: &str, local: bool) -> Result<(Proposal, Digest)> {
        let p = Parser {
            file,
            local,
            kind: String::new(),
        };
        let obj = p.object(value, "(top level)")?;
        strict::known_fields(obj, TOP_FIELDS, file, "")?;
        let schema = p.schema(obj)?;
        let source = p.source(obj)?;
        let p = Parser {
            kind: source.kind.clone(),
            ..p
        };
        let proposal = Proposal {
            schema,
            source,
            event: p.event(obj)?,
            rationale: match obj.get("rationale") {
                None | Some(Value::Null) => String::new(),
                Some(_) => p.string(obj, "rationale", "")?,
            },
            confidence: p.confidence(obj)?,
            evidence: p.evidence(obj)?,
            actions: p.actions(obj)?,
        };
        let digest =
            Digest::of(&serde_json::to_vec(value).map_err(|e| Error::Internal(e.to_string()))?);
        Ok((proposal, digest))
    }
}

/// The fields of a proposal's top level. Fields may be added, never renamed.
const TOP_FIELDS: &[&str] = &[
    "schema",
    "source",
    "event",
    "rationale",
    "confidence",
    "evidence",
    "actions",
];

/// The fields each action kind takes. Any other field, such as a misspelt
/// `executable`, is an error: never silently ignored.
fn action_fields(kind: ActionKind) -> &'static [&'static str] {
    match kind {
        ActionKind::WriteFile => &[
            "kind",
            "path",
            "content",
            "content_base64",
            "content_file",
            "content_sha256",
            "expect",
            "executable",
        ],
        ActionKind::PatchRegion => &["kind", "path", "fence", "content", "expect"],
        ActionKind::MoveFile => &["kind", "from", "to", "expect"],
        ActionKind::Quarantine => &["kind", "path", "reason", "expect"],
        ActionKind::DeleteFile => &["kind", "path", "expect"],
        ActionKind::RegistryPatch => &["kind", "path", "content", "expect"],
        ActionKind::CreateBranch => &["kind"],
    }
}

struct Parser<'a> {
    file: &'a str,
    /// Whether `content_file` (a local path) is accepted: not from plugins
    /// or the bridge.
    local: bool,
    /// The proposal's `source.kind` (once parsed): only [`STAGING_KINDS`]
    /// may name a `content_file`.
    kind: String,
}

/// The source kinds whose proposals may name a `content_file` (a person, or
/// a tool the person runs); every automated source (plugin, bridge,
/// collector, generator, llm) sends the bytes (`content_base64`).
pub const STAGING_KINDS: &[&str] = &["person", "tool"];

/// Directories a staged `content_file` may never be read from: system
/// configuration, kernel and device files, the administrator's home.
const STAGING_REFUSED_ROOTS: &[&str] = &["/etc", "/proc", "/sys", "/dev", "/boot", "/root"];

/// Why the staged file at `path` (absolute) may not be a `content_file`, if
/// it may not: a symbolic link, a path with a hidden component (where
/// credentials live: `~/.ssh`, `~/.gnupg`, `~/.aws`, `~/.config`, another
/// repository's `.git`), or a place in [`STAGING_REFUSED_ROOTS`]. The
/// directories are resolved first, so a link to them is seen through.
fn staging_refusal(path: &std::path::Path) -> Option<String> {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Some("is a symbolic link; name the staged file itself".into());
    }
    let real = match (
        path.parent().map(std::path::Path::canonicalize),
        path.file_name(),
    ) {
        (Some(Ok(dir)), Some(name)) => dir.join(name),
        _ => path.to_path_buf(),
    };
    let hidden = real.components().any(
        |c| matches!(c, std::path::Component::Normal(n) if n.to_string_lossy().starts_with('.')),
    );
    if hidden {
        return Some(
            "is in a hidden file or directory (where keys and credentials live); stage the content in a visible place"
                .into(),
        );
    }
    STAGING_REFUSED_ROOTS
        .iter()
        .find(|r| real.starts_with(r))
        .map(|r| format!("is under {r}, where warden never reads staged content"))
}

impl Parser<'_> {
    fn object<'v>(&self, v: &'v Value, field: &str) -> Result<&'v Map<String, Value>> {
        v.as_object()
            .ok_or_else(|| Error::invalid(self.file, field, "must be a JSON object", None))
    }

    fn field<'v>(
        &self,
        obj: &'v Map<String, Value>,
        name: &str,
        prefix: &str,
    ) -> Result<&'v Value> {
        obj.get(name).ok_or_else(|| {
            Error::invalid(
                self.file,
                format!("{prefix}{name}"),
                "is missing",
                Some(format!(
                    "add \"{name}\"; `warden schema proposal` shows the format"
                )),
            )
        })
    }

    fn string(&self, obj: &Map<String, Value>, name: &str, prefix: &str) -> Result<String> {
        self.field(obj, name, prefix)?
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| {
                Error::invalid(
                    self.file,
                    format!("{prefix}{name}"),
                    "must be a string",
                    None,
                )
            })
    }

    /// `schema`: the one proposal schema this version reads.
    fn schema(&self, obj: &Map<String, Value>) -> Result<String> {
        let schema = self.string(obj, "schema", "")?;
        if schema != PROPOSAL_SCHEMA_ID {
            return Err(Error::invalid(
                self.file,
                "schema",
                format!("unsupported proposal schema \"{schema}\""),
                Some(format!("set \"schema\": \"{PROPOSAL_SCHEMA_ID}\"")),
            ));
        }
        Ok(schema)
    }

    /// `source`: a known kind and an id.
    fn source(&self, obj: &Map<String, Value>) -> Result<Source> {
        let src = self.object(self.field(obj, "source", "")?, "source")?;
        strict::known_fields(src, &["kind", "id"], self.file, "source.")?;
        let source = Source {
            kind: self.string(src, "kind", "source.")?,
            id: self.string(src, "id", "source.")?,
        };
        if !SOURCE_KINDS.contains(&source.kind.as_str()) {
            return Err(Error::invalid(
                self.file,
                "source.kind",
                format!("unknown source kind \"{}\"", source.kind),
                did_you_mean(&source.kind, SOURCE_KINDS.iter().copied())
                    .or_else(|| Some(format!("known: {}", SOURCE_KINDS.join(", ")))),
            ));
        }
        Ok(source)
    }

    /// `event`: one of the events warden knows.
    fn event(&self, obj: &Map<String, Value>) -> Result<String> {
        let event = self.string(obj, "event", "")?;
        let names = events::event_names();
        if !names.contains(&event.as_str()) {
            return Err(Error::invalid(
                self.file,
                "event",
                format!("unknown event \"{event}\""),
                did_you_mean(&event, names.iter().copied())
                    .or_else(|| Some(format!("known events: {}", names.join(", ")))),
            ));
        }
        Ok(event)
    }

    /// The optional `confidence`: a number from 0.0 to 1.0.
    fn confidence(&self, obj: &Map<String, Value>) -> Result<Option<f64>> {
        match obj.get("confidence") {
            None | Some(Value::Null) => Ok(None),
            Some(v) => match v.as_f64() {
                Some(c) if (0.0..=1.0).contains(&c) => Ok(Some(c)),
                _ => Err(Error::invalid(
                    self.file,
                    "confidence",
                    "must be a number from 0.0 to 1.0",
                    None,
                )),
            },
        }
    }

    /// The optional `evidence`: an array of strings.
    fn evidence(&self, obj: &Map<String, Value>) -> Result<Vec<String>> {
        match obj.get("evidence") {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    v.as_str().map(str::to_string).ok_or_else(|| {
                        Error::invalid(
                            self.file,
                            format!("evidence[{i}]"),
                            "must be a string",
                            None,
                        )
                    })
                })
                .collect(),
            Some(_) => Err(Error::invalid(
                self.file,
                "evidence",
                "must be an array of strings",
                None,
            )),
        }
    }

    /// `actions`: a non-empty array of actions.
    fn actions(&self, obj: &Map<String, Value>) -> Result<Vec<Action>> {
        match self.field(obj, "actions", "")? {
            Value::Array(items) if !items.is_empty() => items
                .iter()
                .enumerate()
                .map(|(i, a)| self.action(a, i))
                .collect(),
            Value::Array(_) => Err(Error::invalid(
                self.file,
                "actions",
                "is empty",
                Some("a proposal needs at least one action".into()),
            )),
            _ => Err(Error::invalid(
                self.file,
                "actions",
                "must be an array",
                None,
            )),
        }
    }

    fn path(&self, obj: &Map<String, Value>, name: &str, prefix: &str) -> Result<RepoPathSchema> {
        let s = self.string(obj, name, prefix)?;
        RepoPath::parse(&s, self.file, &format!("{prefix}{name}")).map(RepoPathSchema)
    }

    fn expect(&self, obj: &Map<String, Value>, prefix: &str, required: bool) -> Result<Expect> {
        let field = format!("{prefix}expect");
        let hint = || {
            Some(
                "use \"absent\", \"any\", or {\"sha256\": \"<64 hex digits of the current content>\"}"
                    .to_string(),
            )
        };
        match obj.get("expect") {
            None | Some(Value::Null) if required => Err(Error::invalid(
                self.file,
                field,
                "is missing: every write needs a precondition",
                hint(),
            )),
            None | Some(Value::Null) => Ok(Expect::Any),
            Some(Value::String(s)) if s == "absent" => Ok(Expect::Absent),
            Some(Value::String(s)) if s == "any" => Ok(Expect::Any),
            Some(Value::Object(m)) => {
                strict::known_fields(m, &["sha256"], self.file, &format!("{field}."))?;
                let digest = m
                    .get("sha256")
                    .and_then(Value::as_str)
                    .and_then(Digest::parse_hex);
                digest.map(Expect::Sha256).ok_or_else(|| {
                    Error::invalid(
                        self.file,
                        format!("{field}.sha256"),
                        "must be 64 hex characters",
                        hint(),
                    )
                })
            }
            Some(_) => Err(Error::invalid(
                self.file,
                field,
                "unknown precondition",
                hint(),
            )),
        }
    }

    /// A `write_file`'s content: exactly one of `content`, `content_base64`
    /// and `content_file`; `content_sha256` required with `content_file` and
    /// checked whenever given. A `content_file` is read here, once, and its
    /// digest checked before anything else happens.
    fn content(&self, obj: &Map<String, Value>, prefix: &str) -> Result<WriteContent> {
        let which = self.content_source(obj, prefix)?;
        let sha = self.content_sha256(obj, prefix)?;
        let (mut text, mut base64, mut file) = (None, None, None);
        let staged = match which {
            "content" => {
                let t = self.string(obj, "content", prefix)?;
                let b = t.clone().into_bytes();
                text = Some(t);
                Staged::Inline(b)
            }
            "content_base64" => {
                let (t, b) = self.content_base64(obj, prefix)?;
                base64 = Some(t);
                Staged::Inline(b)
            }
            _ => {
                let (f, content, got) = self.content_file(obj, prefix, sha.is_some())?;
                file = Some(f);
                Staged::Checked(content, got)
            }
        };
        let (bytes, got) = match staged {
            Staged::Checked(c, d) => (c, d),
            Staged::Inline(b) => {
                let d = Digest::of(&b);
                (crate::content::Content::Bytes(std::sync::Arc::new(b)), d)
            }
        };
        if let Some(want) = sha
            && got != want
        {
            // The digest of a staged file is never printed: `content_sha256`
            // is what proves the author knew the file, and an error that
            // handed it out would let a second try copy any readable file.
            let (message, hint) = if which == "content_file" {
                (
                    "does not match the content_file".to_string(),
                    "restage the file, or give the sha256 its author computed (`sha256sum FILE`)",
                )
            } else {
                (
                    format!("does not match the {which}: its sha256 is {}", got.hex()),
                    "recompute it from the content (`sha256sum FILE`), or restage the file",
                )
            };
            return Err(Error::invalid(
                self.file,
                format!("{prefix}content_sha256"),
                message,
                Some(hint.into()),
            ));
        }
        Ok(WriteContent {
            text,
            base64,
            file,
            sha256: sha,
            bytes: Bytes::of(bytes, got),
        })
    }

    /// Which one of the three content fields is given: exactly one must be.
    fn content_source(&self, obj: &Map<String, Value>, prefix: &str) -> Result<&'static str> {
        let given: Vec<&'static str> = ["content", "content_base64", "content_file"]
            .into_iter()
            .filter(|k| obj.get(*k).is_some_and(|v| !v.is_null()))
            .collect();
        let hint = || {
            Some(
                "give exactly one of \"content\" (UTF-8 text), \"content_base64\" (any bytes) or \"content_file\" (a staged file, with \"content_sha256\")"
                    .to_string(),
            )
        };
        match given.as_slice() {
            [one] => Ok(*one),
            [] => Err(Error::invalid(
                self.file,
                format!("{prefix}content"),
                "is missing",
                hint(),
            )),
            [a, b, ..] => Err(Error::invalid(
                self.file,
                format!("{prefix}{b}"),
                format!("cannot be given together with \"{a}\""),
                hint(),
            )),
        }
    }

    /// The optional `content_sha256`: 64 hex characters when given.
    fn content_sha256(&self, obj: &Map<String, Value>, prefix: &str) -> Result<Option<Digest>> {
        match obj.get("content_sha256") {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_str()
                .and_then(Digest::parse_hex)
                .map(Some)
                .ok_or_else(|| {
                    Error::invalid(
                        self.file,
                        format!("{prefix}content_sha256"),
                        "must be 64 hex characters",
                        Some("the sha256 of the new content (`sha256sum FILE`)".into()),
                    )
                }),
        }
    }

    /// `content_base64` as given and decoded.
    fn content_base64(&self, obj: &Map<String, Value>, prefix: &str) -> Result<(String, Vec<u8>)> {
        use base64::Engine;
        let t = self.string(obj, "content_base64", prefix)?;
        let b = base64::engine::general_purpose::STANDARD
            .decode(t.as_bytes())
            .map_err(|e| {
                Error::invalid(
                    self.file,
                    format!("{prefix}content_base64"),
                    format!("is not valid base64 ({e})"),
                    Some("use the standard alphabet with padding (`base64 -w0 FILE`)".into()),
                )
            })?;
        Ok((t, b))
    }

    /// `content_file`: accepted only from a local source, with its sha256
    /// (`has_sha`), by absolute path; read and hashed here, and kept on disk
    /// when it is big. Returns the name as given, the content and its digest.
    fn content_file(
        &self,
        obj: &Map<String, Value>,
        prefix: &str,
        has_sha: bool,
    ) -> Result<(String, crate::content::Content, Digest)> {
        let f = self.string(obj, "content_file", prefix)?;
        if !self.local {
            return Err(Error::invalid(
                self.file,
                format!("{prefix}content_file"),
                "is not accepted from this source: it names a local path",
                Some("send the bytes as \"content_base64\"".into()),
            ));
        }
        if !STAGING_KINDS.contains(&self.kind.as_str()) {
            return Err(Error::invalid(
                self.file,
                format!("{prefix}content_file"),
                format!(
                    "is not accepted from a proposal of source kind \"{}\": only a person or a tool names a local file",
                    self.kind
                ),
                Some("send the bytes as \"content_base64\"".into()),
            ));
        }
        if !has_sha {
            return Err(Error::invalid(
                self.file,
                format!("{prefix}content_sha256"),
                "is missing: a content_file needs the sha256 of its content",
                Some("add \"content_sha256\": the output of `sha256sum FILE`".into()),
            ));
        }
        let path = std::path::Path::new(&f);
        if !path.is_absolute() {
            return Err(Error::invalid(
                self.file,
                format!("{prefix}content_file"),
                format!("\"{f}\" is not an absolute path"),
                Some("name the staged file by its absolute path".into()),
            ));
        }
        if let Some(why) = staging_refusal(path) {
            return Err(Error::invalid(
                self.file,
                format!("{prefix}content_file"),
                format!("{} {why}", crate::text::shown(&f)),
                Some("stage the content in a regular file outside the repository (e.g. under /tmp); see docs/wire-format.md".into()),
            ));
        }
        let unreadable = |e: Error| {
            Error::invalid(
                self.file,
                format!("{prefix}content_file"),
                format!("\"{f}\" cannot be read ({e})"),
                Some("stage the content in a readable file outside the repository".into()),
            )
        };
        if !path.is_file() {
            return Err(unreadable(Error::Internal("not a regular file".into())));
        }
        // Hashed by streaming, and kept on disk when it is big: the
        // engine copies it once, hashing it again on the way.
        let (got, len, stamp) = crate::content::hash_file(path).map_err(unreadable)?;
        let content = if len > crate::content::LARGE {
            crate::content::Content::File {
                path: path.to_path_buf(),
                len,
                stamp,
            }
        } else {
            let b = std::fs::read(path).io("read", path).map_err(unreadable)?;
            if Digest::of(&b) != got {
                return Err(unreadable(Error::Internal(
                    "it changed while it was read".into(),
                )));
            }
            crate::content::Content::Bytes(std::sync::Arc::new(b))
        };
        Ok((f, content, got))
    }

    fn action(&self, v: &Value, i: usize) -> Result<Action> {
        let prefix = format!("actions[{i}].");
        let obj = self.object(v, &format!("actions[{i}]"))?;
        let (kind, kind_s) = self.action_kind(obj, &prefix)?;
        if kind.supported() {
            strict::known_fields(obj, action_fields(kind), self.file, &prefix)?;
        }
        Ok(match kind {
            ActionKind::WriteFile => self.write_file(obj, &prefix)?,
            ActionKind::PatchRegion => Action::PatchRegion {
                path: self.path(obj, "path", &prefix)?,
                fence: self.fence(obj, &prefix)?,
                content: self.string(obj, "content", &prefix)?,
                expect: self.expect(obj, &prefix, false)?,
            },
            ActionKind::MoveFile => Action::MoveFile {
                from: self.path(obj, "from", &prefix)?,
                to: self.path(obj, "to", &prefix)?,
                expect: self.expect(obj, &prefix, true)?,
            },
            ActionKind::Quarantine => Action::Quarantine {
                path: self.path(obj, "path", &prefix)?,
                reason: self.string(obj, "reason", &prefix)?,
                expect: self.expect(obj, &prefix, false)?,
            },
            ActionKind::DeleteFile => Action::DeleteFile {
                path: self.path(obj, "path", &prefix)?,
                expect: self.expect(obj, &prefix, true)?,
            },
            ActionKind::RegistryPatch => Action::RegistryPatch {
                path: self.path(obj, "path", &prefix)?,
                content: self.string(obj, "content", &prefix)?,
                expect: self.expect(obj, &prefix, true)?,
            },
            ActionKind::CreateBranch => {
                return Err(Error::invalid(
                    self.file,
                    format!("{prefix}kind"),
                    format!("action \"{kind_s}\" is not supported by this version of warden yet"),
                    Some("branches are created by `warden sync reconcile` only (allowed under events.SyncAudited.collector in .warden/policy.yaml)".into()),
                ));
            }
        })
    }

    /// An action's `kind`, known or refused with the nearest known name.
    fn action_kind(&self, obj: &Map<String, Value>, prefix: &str) -> Result<(ActionKind, String)> {
        let kind_s = self.string(obj, "kind", prefix)?;
        let Some(kind) = ActionKind::parse(&kind_s) else {
            return Err(Error::invalid(
                self.file,
                format!("{prefix}kind"),
                format!("unknown action \"{kind_s}\""),
                did_you_mean(&kind_s, ActionKind::names()).or_else(|| {
                    Some(format!(
                        "known actions: {}",
                        ActionKind::names().collect::<Vec<_>>().join(", ")
                    ))
                }),
            ));
        };
        Ok((kind, kind_s))
    }

    fn write_file(&self, obj: &Map<String, Value>, prefix: &str) -> Result<Action> {
        let c = self.content(obj, prefix)?;
        Ok(Action::WriteFile {
            path: self.path(obj, "path", prefix)?,
            text: c.text,
            content_base64: c.base64,
            content_file: c.file,
            content_sha256: c.sha256,
            content: c.bytes,
            expect: self.expect(obj, prefix, true)?,
            executable: match obj.get("executable") {
                None | Some(Value::Null) => None,
                Some(Value::Bool(b)) => Some(*b),
                Some(_) => {
                    return Err(Error::invalid(
                        self.file,
                        format!("{prefix}executable"),
                        "must be true or false",
                        None,
                    ));
                }
            },
        })
    }

    /// A `patch_region`'s fence name.
    fn fence(&self, obj: &Map<String, Value>, prefix: &str) -> Result<String> {
        let f = self.string(obj, "fence", prefix)?;
        if !crate::fence::valid_name(&f) {
            return Err(Error::invalid(
                self.file,
                format!("{prefix}fence"),
                format!("invalid fence name \"{f}\""),
                Some("fence names use letters, digits, '_', '-' and '.'".into()),
            ));
        }
        Ok(f)
    }
}

/// A `write_file`'s content fields as parsed: which form it came in, the
/// digest it was given, and the content with its checked digest.
struct WriteContent {
    text: Option<String>,
    base64: Option<String>,
    file: Option<String>,
    sha256: Option<Digest>,
    bytes: Bytes,
}

/// A `write_file`'s content while it is parsed: bytes still to hash, or
/// content already hashed (a staged `content_file`).
enum Staged {
    Inline(Vec<u8>),
    Checked(crate::content::Content, Digest),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> Error {
        Proposal::parse(text, "p.json").expect_err("must fail")
    }

    #[test]
    fn parses_the_spec_example_shape() {
        let text = r#"{"schema":"warden.proposal/v1","source":{"kind":"person","id":"cli"},
          "event":"Manual","rationale":"why","actions":[
          {"kind":"write_file","path":"docs/new.md","content":"text\n","expect":"absent"},
          {"kind":"move_file","from":"a.txt","to":"lib/a.txt","expect":{"sha256":"0000000000000000000000000000000000000000000000000000000000000000"}},
          {"kind":"patch_region","path":"src/x.py","fence":"CONFIG","content":"X = 1\n"},
          {"kind":"quarantine","path":"stray.tmp","reason":"unclassified"},
          {"kind":"delete_file","path":"old.txt","expect":"any"}]}"#;
        let (p, _) = Proposal::parse(text, "p.json").expect("parses");
        assert_eq!(p.actions.len(), 5);
        assert_eq!(p.actions[1].kind(), ActionKind::MoveFile);
    }

    #[test]
    fn the_digest_does_not_depend_on_key_order_or_whitespace() {
        let a = r#"{"schema":"warden.proposal/v1","source":{"kind":"person","id":"x"},"event":"Manual",
            "actions":[{"kind":"write_file","path":"a","content":"x","expect":"absent"}]}"#;
        let b = r#"{ "actions": [ {"expect": "absent", "content": "x", "path": "a", "kind": "write_file"} ],
            "event": "Manual", "source": {"id": "x", "kind": "person"}, "schema": "warden.proposal/v1" }"#;
        let (_, da) = Proposal::parse(a, "a.json").expect("a");
        let (_, db) = Proposal::parse(b, "b.json").expect("b");
        assert_eq!(
            da, db,
            "idempotence relies on a canonical digest (serde_json must sort keys)"
        );
    }

    #[test]
    fn errors_name_file_field_and_fix() {
        let base = |actions: &str| {
            format!(
                r#"{{"schema":"warden.proposal/v1","source":{{"kind":"person","id":"x"}},"event":"Manual","actions":[{actions}]}}"#
            )
        };
        let e = err(&base(r#"{"kind":"mv_file","from":"a","to":"b"}"#));
        assert_eq!(
            e.to_string(),
            "p.json: actions[0].kind: unknown action \"mv_file\""
        );
        assert_eq!(e.hint().as_deref(), Some("did you mean \"move_file\"?"));

        let e = err(&base(
            r#"{"kind":"write_file","path":"../x","content":"","expect":"absent"}"#,
        ));
        assert!(
            e.to_string()
                .starts_with("p.json: actions[0].path: path \"../x\" escapes"),
            "{e}"
        );

        let e = err(&base(r#"{"kind":"write_file","path":"x","content":""}"#));
        assert!(
            e.to_string().contains("actions[0].expect: is missing"),
            "{e}"
        );

        let e = err("{\"schema\": ");
        assert!(e.to_string().starts_with("p.json: line 1 column"), "{e}");
    }

    fn one_action(action: &str) -> String {
        format!(
            r#"{{"schema":"warden.proposal/v1","source":{{"kind":"person","id":"x"}},"event":"Manual","actions":[{action}]}}"#
        )
    }

    #[test]
    fn misspelt_executable_is_an_unknown_field_not_a_silent_mode_644() {
        let e = err(&one_action(
            r##"{"kind":"write_file","path":"run.sh","content":"#!/bin/sh\n","expect":"absent","exectuable":true}"##,
        ));
        assert_eq!(
            e.to_string(),
            "p.json: actions[0].exectuable: unknown field"
        );
        assert_eq!(e.hint().as_deref(), Some("did you mean \"executable\"?"));
        assert_eq!(e.class(), crate::ExitClass::Input);
    }

    #[test]
    fn unknown_fields_are_refused_at_every_level_of_a_proposal() {
        let cases = [
            (
                r#"{"schema":"warden.proposal/v1","source":{"kind":"person","id":"x"},"event":"Manual","rationale":"r","rationle":"r","actions":[]}"#.to_string(),
                "rationle",
                Some("did you mean \"rationale\"?"),
            ),
            (
                r#"{"schema":"warden.proposal/v1","source":{"kind":"person","id":"x","ids":"y"},"event":"Manual","actions":[]}"#.to_string(),
                "source.ids",
                Some("did you mean \"id\"?"),
            ),
            (
                one_action(r#"{"kind":"move_file","from":"a","to":"b","expect":"any","too":"c"}"#),
                "actions[0].too",
                Some("did you mean \"to\"?"),
            ),
            (
                one_action(r#"{"kind":"delete_file","path":"a","expect":{"sha265":"00"}}"#),
                "actions[0].expect.sha265",
                Some("did you mean \"sha256\"?"),
            ),
            (
                one_action(r#"{"kind":"quarantine","path":"a","reason":"r","zzzz":1}"#),
                "actions[0].zzzz",
                Some("known fields here: kind, path, reason, expect"),
            ),
        ];
        for (text, field, hint) in cases {
            let e = err(&text);
            assert_eq!(
                e.to_string(),
                format!("p.json: {field}: unknown field"),
                "{text}"
            );
            assert_eq!(e.hint().as_deref(), hint, "{text}");
        }
    }

    fn top(fields: &str) -> String {
        format!(
            r#"{{"schema":"warden.proposal/v1","source":{{"kind":"person","id":"x"}},"event":"Manual",{fields}}}"#
        )
    }

    /// Each `(proposal, error)` is refused as an input error reading
    /// exactly `p.json: <error>`.
    fn assert_refusals(cases: &[(String, String)]) {
        for (text, want) in cases {
            let e = err(text);
            assert_eq!(e.to_string(), format!("p.json: {want}"), "{text}");
            assert_eq!(e.class(), crate::ExitClass::Input, "{text}");
        }
    }

    /// Each decision of the parser on the top level (schema, source, event,
    /// confidence, evidence, actions) refuses with the field it names.
    #[test]
    fn every_top_level_refusal_names_its_field() {
        assert_refusals(&[
            (
                r#"{"schema":"warden.proposal/v2","source":{"kind":"person","id":"x"},"event":"Manual","actions":[]}"#.to_string(),
                "schema: unsupported proposal schema \"warden.proposal/v2\"".to_string(),
            ),
            (
                r#"{"schema":"warden.proposal/v1","source":{"kind":"robot","id":"x"},"event":"Manual","actions":[]}"#.to_string(),
                "source.kind: unknown source kind \"robot\"".into(),
            ),
            (
                r#"{"schema":"warden.proposal/v1","source":{"kind":"person","id":"x"},"event":"Manuall","actions":[]}"#.to_string(),
                "event: unknown event \"Manuall\"".into(),
            ),
            (
                top(r#""confidence":1.5,"actions":[]"#),
                "confidence: must be a number from 0.0 to 1.0".into(),
            ),
            (
                top(r#""evidence":"x","actions":[]"#),
                "evidence: must be an array of strings".into(),
            ),
            (
                top(r#""evidence":["a",1],"actions":[]"#),
                "evidence[1]: must be a string".into(),
            ),
            (top(r#""actions":[]"#), "actions: is empty".into()),
            (top(r#""actions":{}"#), "actions: must be an array".into()),
        ]);
    }

    /// Each decision of the parser on an action (a write's content in its
    /// three forms, fence, executable, kind) refuses with the field it names.
    #[test]
    fn every_action_refusal_names_its_field() {
        let action = |a: &str| top(&format!(r#""actions":[{a}]"#));
        let x_sha = Digest::of(b"x").hex();
        assert_refusals(&[
            (
                action(r#"{"kind":"write_file","path":"a","expect":"absent"}"#),
                "actions[0].content: is missing".into(),
            ),
            (
                action(r#"{"kind":"write_file","path":"a","content":"x","content_base64":"eA==","expect":"absent"}"#),
                "actions[0].content_base64: cannot be given together with \"content\"".into(),
            ),
            (
                action(r#"{"kind":"write_file","path":"a","content":"x","content_sha256":"zz","expect":"absent"}"#),
                "actions[0].content_sha256: must be 64 hex characters".into(),
            ),
            (
                action(&format!(
                    r#"{{"kind":"write_file","path":"a","content_base64":"eA==","content_sha256":"{}","expect":"absent"}}"#,
                    "0".repeat(64)
                )),
                format!("actions[0].content_sha256: does not match the content_base64: its sha256 is {x_sha}"),
            ),
            (
                action(r#"{"kind":"write_file","path":"a","content_file":"/tmp/x","expect":"absent"}"#),
                "actions[0].content_sha256: is missing: a content_file needs the sha256 of its content".into(),
            ),
            (
                action(&format!(
                    r#"{{"kind":"write_file","path":"a","content_file":"rel.txt","content_sha256":"{x_sha}","expect":"absent"}}"#
                )),
                "actions[0].content_file: \"rel.txt\" is not an absolute path".into(),
            ),
            (
                action(&format!(
                    r#"{{"kind":"write_file","path":"a","content_file":"/","content_sha256":"{x_sha}","expect":"absent"}}"#
                )),
                "actions[0].content_file: \"/\" cannot be read (not a regular file)".into(),
            ),
            (
                action(r#"{"kind":"patch_region","path":"a","fence":"bad name!","content":"x"}"#),
                "actions[0].fence: invalid fence name \"bad name!\"".into(),
            ),
            (
                action(r#"{"kind":"write_file","path":"a","content":"x","expect":"absent","executable":"yes"}"#),
                "actions[0].executable: must be true or false".into(),
            ),
            (
                action(r#"{"kind":"create_branch"}"#),
                "actions[0].kind: action \"create_branch\" is not supported by this version of warden yet".into(),
            ),
        ]);
    }

    #[test]
    fn a_content_file_from_a_remote_source_is_refused_before_it_is_read() {
        let text = top(&format!(
            r#""actions":[{{"kind":"write_file","path":"a","content_file":"/nonexistent/x","content_sha256":"{}","expect":"absent"}}]"#,
            Digest::of(b"x").hex()
        ));
        let value: Value = serde_json::from_str(&text).expect("json");
        let e = Proposal::from_value_remote(&value, "p.json").expect_err("remote");
        assert_eq!(
            e.to_string(),
            "p.json: actions[0].content_file: is not accepted from this source: it names a local path"
        );
    }

    #[test]
    fn duplicate_keys_in_a_proposal_are_refused_not_last_wins() {
        let e = err(&one_action(
            r#"{"kind":"write_file","path":"a.txt","path":"b.txt","content":"x","expect":"absent"}"#,
        ));
        assert!(
            e.to_string()
                .starts_with("p.json: actions[0].path: duplicate key \"path\" at line 1"),
            "{e}"
        );
        assert_eq!(e.class(), crate::ExitClass::Input);
    }

    #[test]
    fn a_bom_in_a_proposal_is_named_not_reported_as_expected_value() {
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend_from_slice(
            one_action(r#"{"kind":"delete_file","path":"a","expect":"any"}"#).as_bytes(),
        );
        let e = Proposal::parse_bytes(&bytes, "p.json").expect_err("bom");
        assert_eq!(
            e.to_string(),
            "p.json: byte 0: file starts with a UTF-8 byte-order mark"
        );
        let e = Proposal::parse_bytes(b"{\"schema\": \"\xC3\"}", "p.json").expect_err("utf-8");
        assert_eq!(e.to_string(), "p.json: byte 12: not valid UTF-8 (line 1)");
    }
}
