//! The classifier's report (`warden.classify/v1`): `warden classify --format
//! json`, and the `details` of the run's ledger entry, which is the placement
//! history `warden where` reads.

use crate::score::{Candidate, DecisionPath};
use crate::times::TimeSource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use warden_core::Digest;

pub const CLASSIFY_SCHEMA_ID: &str = "warden.classify/v1";

/// What the invocation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// `--dry-run`: decided and checked against the policy; nothing written.
    Planned,
    /// `--explain`: scores only; nothing proposed, nothing written.
    Explained,
    /// The moves and quarantines were applied as run `run` (undo with `warden undo RUN`).
    Applied,
    /// Nothing to move, but new decisions (e.g. ambiguous files) were ledgered as run `run`.
    Recorded,
    /// Nothing to move and nothing new to record.
    NothingToDo,
}

/// One file's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FileDecision {
    /// Where the file was when it was classified.
    pub path: String,
    pub sha256: Digest,
    pub size: u64,
    /// Unix seconds; see `time_source`.
    pub mtime: i64,
    /// Where `mtime` came from (dedupe compares it).
    pub time_source: TimeSource,
    pub decision_path: DecisionPath,
    /// The module the file belongs to (winner), if any.
    pub module: Option<String>,
    /// Where it went or would go (a module folder or the quarantine lane); null when it stays.
    pub target: Option<String>,
    /// `move_file`, `quarantine`, or null (stays).
    pub action: Option<String>,
    /// `unclassified`, `ambiguous`, `duplicate` or `superseded` when quarantined.
    pub quarantine_reason: Option<String>,
    /// For a dedupe decision: the digest of the version that kept the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub winner_sha256: Option<Digest>,
    /// Modules that scored, best first, with the score breakdown.
    pub candidates: Vec<Candidate>,
    /// Why, in one sentence.
    pub reason: String,
}

/// `warden classify --format json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(
    title = "warden classify report",
    description = "`warden classify --format json`; also the details of a classify run's ledger entry (the placement history)"
)]
pub struct ClassifyReport {
    /// Always "warden.classify/v1".
    pub schema: String,
    /// The run that applied or recorded the decisions; null for a dry run or an explanation.
    pub run: Option<String>,
    pub outcome: Outcome,
    /// Files per decision path.
    pub counts: BTreeMap<String, u64>,
    /// Every file in scope, sorted by path.
    pub files: Vec<FileDecision>,
    /// Entries in scope that were not classified, sorted by path: each is
    /// left where it is (see docs/classify.md, "Skipped entries").
    #[serde(default)]
    pub skipped: Vec<Skipped>,
}

/// An entry in scope that the classifier leaves where it is, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct Skipped {
    /// Where it is, repository-relative; a name that is not UTF-8 is shown
    /// with each invalid byte as U+FFFD.
    pub path: String,
    pub reason: SkipReason,
    /// What exactly stands in the way, when the reason alone does not say
    /// (`unusable_destination`: where the file would go, and what is there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The name's bytes as the file system gave them, when they are not
    /// UTF-8 (`path` then holds U+FFFD for each invalid byte): the human
    /// output prints them escaped ([`Skipped::shown_path`]). Not in the JSON.
    #[serde(skip)]
    #[schemars(skip)]
    pub bytes: Option<Vec<u8>>,
}

impl Skipped {
    pub fn new(path: impl Into<String>, reason: SkipReason) -> Self {
        Skipped {
            path: path.into(),
            reason,
            detail: None,
            bytes: None,
        }
    }

    /// An entry whose repository path is `bytes`, not valid UTF-8.
    pub fn not_utf8(bytes: &[u8]) -> Self {
        Skipped {
            bytes: Some(bytes.to_vec()),
            ..Skipped::new(String::from_utf8_lossy(bytes), SkipReason::NotUtf8Name)
        }
    }

    /// The path for a person to read: escaped by `warden_core::text`, and
    /// a name that is not UTF-8 with its real bytes in octal (as git
    /// quotes it), not U+FFFD.
    pub fn shown_path(&self) -> String {
        match &self.bytes {
            Some(b) => warden_core::text::shown_bytes(b).to_string(),
            None => warden_core::text::shown(&self.path).to_string(),
        }
    }

    /// The entry with what stands in the way.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

/// Why an entry was not classified (a closed set).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Its name (or a folder's above it) is not valid UTF-8: rename it.
    NotUtf8Name,
    /// Its name holds a character warden refuses in any repository path (a
    /// backslash, which is a separator on Windows): rename it.
    UnusableName,
    /// A symbolic link: warden never follows one; replace it with the file.
    Symlink,
    /// A named pipe (FIFO).
    Fifo,
    /// A Unix socket.
    Socket,
    /// A block or character device.
    Device,
    /// The engine's own temporary file (`.warden-*.tmp`), left by an
    /// interrupted write; the next command's recovery removes it.
    EngineTempFile,
    /// The file changed between being read and being moved: run `warden
    /// classify` again once it is complete.
    ChangedWhileClassifying,
    /// Its module won, but the destination cannot be written: it is, or
    /// goes through, a symbolic link, or holds something that is not a
    /// regular file (`detail` says which). The rest of the run goes ahead.
    UnusableDestination,
}

impl SkipReason {
    pub fn name(self) -> &'static str {
        match self {
            SkipReason::NotUtf8Name => "not_utf8_name",
            SkipReason::UnusableName => "unusable_name",
            SkipReason::Symlink => "symlink",
            SkipReason::Fifo => "fifo",
            SkipReason::Socket => "socket",
            SkipReason::Device => "device",
            SkipReason::EngineTempFile => "engine_temp_file",
            SkipReason::ChangedWhileClassifying => "changed_while_classifying",
            SkipReason::UnusableDestination => "unusable_destination",
        }
    }

    /// What to do about it, in one phrase.
    pub fn fix(self) -> &'static str {
        match self {
            SkipReason::NotUtf8Name => "rename it to a UTF-8 name",
            SkipReason::UnusableName => "rename it without the backslash",
            SkipReason::Symlink => "replace the link with the file it points to",
            SkipReason::Fifo | SkipReason::Socket | SkipReason::Device => {
                "warden classifies regular files only; remove it from the inbox"
            }
            SkipReason::EngineTempFile => "left by an interrupted write; removed by recovery",
            SkipReason::ChangedWhileClassifying => {
                "run `warden classify` again once it is complete"
            }
            SkipReason::UnusableDestination => {
                "warden never writes through a symbolic link nor over what is not a regular file: \
                 remove or replace what holds that path, or change the module's `folder` in \
                 .warden/modules.yaml; then classify again"
            }
        }
    }
}

impl ClassifyReport {
    pub fn new(run: Option<String>, outcome: Outcome, files: Vec<FileDecision>) -> Self {
        let mut counts = BTreeMap::new();
        for f in &files {
            *counts
                .entry(f.decision_path.name().to_string())
                .or_insert(0) += 1;
        }
        ClassifyReport {
            schema: CLASSIFY_SCHEMA_ID.into(),
            run,
            outcome,
            counts,
            files,
            skipped: Vec::new(),
        }
    }

    /// The report with the entries left unclassified, sorted by path.
    pub fn with_skipped(mut self, mut skipped: Vec<Skipped>) -> Self {
        skipped.sort();
        skipped.dedup();
        self.skipped = skipped;
        self
    }
}
