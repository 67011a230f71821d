//! The output contract every command follows.
//!
//! A *report* is a type that serializes to ONE JSON object whose first field,
//! `schema`, is the tag `warden.<NAME>/v<N>`, where `NAME` is exactly what
//! `warden schema NAME` accepts (kebab-case: `warden.sync-audit/v1` ↔
//! `warden schema sync-audit`). The same value renders itself for a person.
//! The CLI's one `emit` writes it for `--format human|json|sarif`; nothing else
//! decides what a command prints.
//!
//! Any crate implements [`Report`] for its own report types (the core does no
//! terminal I/O: `human` returns text, the CLI prints it).

use crate::error::Error;
use schemars::JsonSchema;
use serde::Serialize;

/// A report a command prints. See the module documentation.
pub trait Report: Serialize {
    /// The `warden schema` name of this report, e.g. `"status"`, `"sync-audit"`.
    /// The serialized `schema` field is `warden.<SCHEMA>/v<N>`.
    const SCHEMA: &'static str;

    /// The report for a person: plain text (no colour), ending in a newline
    /// unless empty.
    fn human(&self) -> String;

    /// [`Report::human`] with its headings and diffs styled by `style` (the
    /// CLI's colours on a terminal). The default ignores the style; a report
    /// with headings or a diff renders through it, and its `human()` is this
    /// with [`Plain`].
    fn human_styled(&self, style: &dyn Style) -> String {
        let _ = style;
        self.human()
    }

    /// SARIF 2.1.0, for reports whose findings point at files; `None` (the
    /// default) when `--format sarif` makes no sense for this report.
    fn sarif(&self) -> Option<serde_json::Value> {
        None
    }
}

/// A SARIF 2.1.0 log of one warden run: `rules` (reporting descriptors) and
/// `results`, with result locations relative to `%SRCROOT%`, the repository
/// root. Every `--format sarif` goes through this one envelope.
pub fn sarif_log(
    rules: Vec<serde_json::Value>,
    results: Vec<serde_json::Value>,
) -> serde_json::Value {
    serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "warden",
                "version": crate::VERSION,
                "rules": rules,
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "the repository root"}}},
            "results": results,
        }],
    })
}

/// How the human text of a report may be styled. The core does no terminal
/// I/O and decides nothing about colour: the CLI passes its style (colour on
/// a terminal, `--color`, `NO_COLOR`); [`Plain`] leaves the text as it is.
pub trait Style {
    /// A heading line (without its newline).
    fn heading(&self, text: &str) -> String {
        text.to_string()
    }

    /// A unified diff, whole.
    fn diff(&self, text: &str) -> String {
        text.to_string()
    }

    /// A run id shown as `unique` (the shortest prefix no other shown id
    /// shares) followed by `rest` (the characters shown beyond it); the CLI
    /// highlights the unique part on a terminal.
    fn run_id(&self, unique: &str, rest: &str) -> String {
        format!("{unique}{rest}")
    }

    /// Whether tables show whole run ids (`-v`) instead of their shortest
    /// unique prefix.
    fn whole_run_ids(&self) -> bool {
        false
    }
}

/// No styling: the text as it is (pipes, files, `--color never`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Plain;

impl Style for Plain {}

/// The tag `warden.<name>/v1`.
pub fn tag(name: &str) -> String {
    format!("warden.{name}/v1")
}

/// The schema name in a tag `warden.<name>/v<N>`; `None` when `tag` is not one.
pub fn schema_name(tag: &str) -> Option<&str> {
    let rest = tag.strip_prefix("warden.")?;
    let (name, version) = rest.rsplit_once("/v")?;
    let valid_name = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let valid_version = !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit());
    (valid_name && valid_version).then_some(name)
}

/// Why a command that could write ended without writing anything: the one
/// line every such command (and report) ends with, worded the same everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotWritten<'a> {
    /// `--dry-run` (or a check): the plan was shown; the detail, when
    /// given, says what would have happened ("3 file(s) would change").
    DryRun(Option<&'a str>),
    /// The person answered no to the confirmation.
    Declined,
}

impl NotWritten<'_> {
    /// The line, without its newline: `dry run: nothing was written`,
    /// `dry run: 3 file(s) would change; nothing was written`,
    /// `declined: nothing was written`.
    pub fn line(self) -> String {
        match self {
            NotWritten::DryRun(None) => "dry run: nothing was written".into(),
            NotWritten::DryRun(Some(d)) => format!("dry run: {d}; nothing was written"),
            NotWritten::Declined => "declined: nothing was written".into(),
        }
    }
}

/// Why a command failed, as `--format json` prints it on stdout
/// (`warden.error/v1`); the same text still goes to stderr.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[schemars(title = "warden error")]
pub struct ErrorReport {
    /// Always "warden.error/v1".
    pub schema: String,
    /// The process exit code: 1 refused (nothing written), 2 usage or input,
    /// 3 internal, 4 busy.
    pub code: u8,
    /// A stable name of the kind of error (see [`Error::kind`]), e.g.
    /// "invalid", "rejected", "busy", "usage".
    pub kind: String,
    /// What went wrong, as the human text says it.
    pub message: String,
    /// For a refusal of the input ("invalid", "rejected"): what kind
    /// (policy, unsafe_path, precondition, limit, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<crate::error::Refusal>,
    /// The file (or path) the error is about, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The field inside that file (`actions[2].expect`), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What to do about it, when warden knows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl ErrorReport {
    pub const SCHEMA_ID: &'static str = "warden.error/v1";

    /// The report of a core error.
    pub fn of(e: &Error) -> Self {
        let (file, field) = match e {
            Error::Invalid { file, field, .. } | Error::Rejected { file, field, .. } => {
                (Some(file.clone()), Some(field.clone()))
            }
            Error::NotARepo { path }
            | Error::Io { path, .. }
            | Error::UserPath { path, .. }
            | Error::Corrupt { path, .. } => (Some(path.display().to_string()), None),
            Error::NotInitialised { root } => (Some(root.display().to_string()), None),
            Error::RecoveryBlocked { path, .. } => (Some(path.clone()), None),
            Error::Busy { .. }
            | Error::ApplyFailed { .. }
            | Error::Injected(_)
            | Error::Internal(_) => (None, None),
        };
        ErrorReport {
            schema: Self::SCHEMA_ID.into(),
            code: u8::try_from(e.class().code()).unwrap_or(3),
            kind: e.kind().into(),
            refusal: e.refusal().filter(|r| *r != crate::error::Refusal::Other),
            message: e.to_string(),
            file,
            field,
            hint: e.hint(),
        }
    }

    /// A usage error found outside the core (exit 2).
    pub fn usage(message: impl Into<String>, hint: Option<String>) -> Self {
        ErrorReport {
            schema: Self::SCHEMA_ID.into(),
            code: 2,
            kind: "usage".into(),
            refusal: None,
            message: message.into(),
            file: None,
            field: None,
            hint,
        }
    }
}

impl Report for ErrorReport {
    const SCHEMA: &'static str = "error";

    fn human(&self) -> String {
        let mut s = format!("error: {}\n", self.message);
        if let Some(h) = &self.hint {
            s.push_str(&format!("hint: {h}\n"));
        }
        s
    }
}

/// One entry of the schema catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct SchemaInfo {
    /// The name `warden schema NAME` accepts.
    pub name: String,
    /// What the schema describes (a file, or a command's output).
    pub describes: String,
}

/// `warden schema` without a name (`warden.schema-list/v1`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "warden schema list")]
pub struct SchemaList {
    /// Always "warden.schema-list/v1".
    pub schema: String,
    pub schemas: Vec<SchemaInfo>,
}

impl SchemaList {
    pub fn new(schemas: Vec<SchemaInfo>) -> Self {
        SchemaList {
            schema: tag(Self::SCHEMA),
            schemas,
        }
    }
}

impl Report for SchemaList {
    const SCHEMA: &'static str = "schema-list";

    fn human(&self) -> String {
        let mut s = String::new();
        for i in &self.schemas {
            s.push_str(&format!("{:<30} {}\n", i.name, i.describes));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_written_is_worded_the_same_for_every_command() {
        assert_eq!(
            NotWritten::DryRun(None).line(),
            "dry run: nothing was written"
        );
        assert_eq!(
            NotWritten::DryRun(Some("2 file(s) would change")).line(),
            "dry run: 2 file(s) would change; nothing was written"
        );
        assert_eq!(NotWritten::Declined.line(), "declined: nothing was written");
    }

    #[test]
    fn schema_names_come_out_of_tags() {
        assert_eq!(schema_name("warden.sync-audit/v1"), Some("sync-audit"));
        assert_eq!(schema_name("warden.ledger-heads/v2"), Some("ledger-heads"));
        assert_eq!(schema_name(&tag("error")), Some("error"));
        for bad in [
            "warden.sync.audit/v1",
            "warden./v1",
            "warden.x/v",
            "warden.x/1",
            "warden.X/v1",
            "other.x/v1",
            "warden.x/v1x",
        ] {
            assert_eq!(schema_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn error_reports_carry_file_field_hint_and_code() {
        let e = Error::invalid(
            "p.json",
            "actions[0].path",
            "is absolute",
            Some("fix".into()),
        );
        let r = ErrorReport::of(&e);
        assert_eq!(r.code, 2);
        assert_eq!(r.kind, "invalid");
        assert_eq!(r.file.as_deref(), Some("p.json"));
        assert_eq!(r.field.as_deref(), Some("actions[0].path"));
        assert_eq!(r.hint.as_deref(), Some("fix"));
        assert_eq!(r.message, "p.json: actions[0].path: is absolute");
        let busy = ErrorReport::of(&Error::Busy {
            holder: "pid 1".into(),
            hint: None,
        });
        assert_eq!((busy.code, busy.kind.as_str()), (4, "busy"));
        assert!(busy.hint.is_some());
        let v = serde_json::to_value(&busy).expect("json");
        assert_eq!(v["schema"], "warden.error/v1");
        assert!(v.get("file").is_none(), "absent fields are left out: {v}");
    }
}
