//! Why a command was dead-lettered: a closed, machine-readable set of reasons
//! (the `reason` field of `dead_letter/<id>.json`), each with a human detail,
//! the field it concerns and a hint at the fix.

use serde::Serialize;

macro_rules! reasons {
    ($($variant:ident => $name:literal, $layer:literal, $doc:literal;)*) => {
        /// A dead-letter reason. The string form is stable (wire format).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Reason { $(#[doc = $doc] $variant,)* }

        impl Reason {
            pub const ALL: &[Reason] = &[$(Reason::$variant,)*];
            pub fn as_str(self) -> &'static str {
                match self { $(Reason::$variant => $name,)* }
            }
            /// The validation layer that rejects it (docs/bridge.md: file → HMAC →
            /// schema → constraints → dry-run → apply).
            pub fn layer(self) -> &'static str {
                match self { $(Reason::$variant => $layer,)* }
            }
            pub fn describe(self) -> &'static str {
                match self { $(Reason::$variant => $doc,)* }
            }
        }
    };
}

reasons! {
    Hidden => "hidden", "file", "The file name starts with '.' (hidden files are never commands).";
    Symlink => "symlink", "file", "The command file is a symlink; it was neither followed nor read.";
    HardLink => "hard_link", "file", "The command file has more than one link (it is also a file elsewhere); it was not read.";
    Unreadable => "unreadable", "file", "The executor may not open the command file (permissions); nothing of it was read.";
    NotRegular => "not_regular", "file", "The command is not a regular file (a FIFO, a socket, a device); it was not opened or read.";
    Empty => "empty", "file", "The file is zero bytes long.";
    TooLarge => "too_large", "file", "The file is larger than the size limit.";
    InvalidJson => "invalid_json", "file", "The file is not valid JSON (or JSON Python would read ambiguously).";
    DuplicateKey => "duplicate_key", "file", "An object has the same key twice.";
    HmacMissing => "hmac_missing", "hmac", "There is no top-level \"hmac\" string.";
    HmacDuplicated => "hmac_duplicated", "hmac", "The \"hmac\" key appears more than once.";
    HmacMalformed => "hmac_malformed", "hmac", "The \"hmac\" value is not base64 of a 32-byte HMAC-SHA256.";
    HmacMismatch => "hmac_mismatch", "hmac", "The HMAC does not match the canonical JSON under any accepted secret.";
    Schema => "schema", "schema", "A required field is missing, has the wrong type, or an unknown field is present.";
    Expired => "expired", "time", "now is after expires_at (plus the clock-skew allowance).";
    NotYetValid => "not_yet_valid", "time", "issued_at is in the future (beyond the clock-skew allowance).";
    UnknownAction => "unknown_action", "schema", "\"action\" is not one this executor performs.";
    UnknownPatchType => "unknown_patch_type", "schema", "\"patchType\" is not recognised.";
    UnknownOp => "unknown_op", "schema", "An op is not one this executor knows.";
    OpNotAllowed => "op_not_allowed", "constraints", "An op (or an allowedActions entry) is outside allowedActions or the executor's capabilities.";
    PathEscape => "path_escape", "paths", "A path leaves the target repository (.., absolute, symlink).";
    ProtectedPath => "protected_path", "paths", "A path is in .git/, a dot-directory or a bridge directory (commands/, meta/, ...), or a moveFile would take a file git ignores in the target to a path it does not ignore.";
    PolicyDenied => "policy_denied", "policy", "The target repository's policy refuses the change.";
    ConstraintViolation => "constraint_violation", "dry-run", "The dry-run diff changes more files than constraints.maxFilesChanged.";
    RuntimeExceeded => "runtime_exceeded", "apply", "Processing took longer than constraints.maxRuntimeMs (nothing was committed; a change in progress was rolled back).";
    ValidationFailed => "validation_failed", "validation", "A validation step (the target's policy validation or a validationPlan check) failed; the change was rolled back.";
    UnknownCheck => "unknown_check", "schema", "validationPlan names a check the operator did not define in meta/bridge.json.";
    PreconditionFailed => "precondition_failed", "dry-run", "An op's precondition does not hold (expected digest, fence, diff context).";
    ApplyFailed => "apply_failed", "apply", "The transaction engine refused or failed to apply the change.";
    IdMismatch => "id_mismatch", "schema", "The file name is not <id>.json for the command's own id.";
    DuplicateId => "duplicate_id", "replay", "The id was already processed (archive or dead letter): a replay.";
}

impl Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl schemars::JsonSchema for Reason {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Reason".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        schemars::json_schema!({
            "type": "string",
            "enum": names,
            "description": "why the command was dead-lettered (docs/wire-format.md)"
        })
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Reason {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Reason::ALL
            .iter()
            .copied()
            .find(|r| r.as_str() == s)
            .ok_or(())
    }
}

/// A refusal: the reason, the field, what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Rejection {
    pub reason: Reason,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Rejection {
    pub fn new(reason: Reason, detail: impl Into<String>) -> Self {
        Rejection {
            reason,
            field: None,
            detail: detail.into(),
            hint: None,
        }
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.reason)?;
        if let Some(field) = &self.field {
            write!(f, ": {field}")?;
        }
        write!(f, ": {}", self.detail)?;
        if let Some(h) = &self.hint {
            write!(f, " (hint: {h})")?;
        }
        Ok(())
    }
}
