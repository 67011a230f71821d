//! The local history of read-only reports (audits): what a command found,
//! kept in this clone only and never in anything git tracks.
//!
//! A read-only command (`sync audit`, and other reports) changes nothing, so
//! it has no place in the committed, hash-chained ledger, which holds only
//! runs that changed something. It keeps its artifacts in `.runs/<RUN>/`
//! and one line in `.runs/history.jsonl`; both are inside `.runs/`, which
//! `warden init` makes git ignore. `warden history` lists these lines with
//! the ledger's runs.
//!
//! The history is a convenience, not evidence: it is not chained, it is not
//! locked against other writers (each line is one `write` to a file opened
//! for appending, so concurrent reports do not interleave), and deleting it
//! loses nothing the ledger proves. A line that does not parse is skipped and
//! reported, never fatal.

use crate::context::Context;
use crate::engine::Record;
use crate::error::{Error, IoContext, Result};
use crate::proposal::Source;
use crate::repo::Repo;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const HISTORY_SCHEMA_ID: &str = "warden.history-entry/v1";
/// The history file, relative to the repository root (inside ignored `.runs/`).
pub const HISTORY_FILE: &str = ".runs/history.jsonl";

/// One line of `.runs/history.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "warden local history entry")]
pub struct HistoryEntry {
    /// Always "warden.history-entry/v1".
    pub schema: String,
    pub run: String,
    /// RFC 3339.
    pub time: String,
    /// What ran, e.g. "sync audit".
    pub command: String,
    pub actor: Source,
    pub event: String,
    /// sha256 of the report.
    pub input_digest: crate::Digest,
    /// One line for people ("in sync", "3 need attention").
    pub rationale: Option<String>,
    /// The command's summary facts.
    #[serde(default)]
    pub details: Option<serde_json::Value>,
    /// The files kept in `.runs/<RUN>/`.
    pub artifacts: Vec<String>,
}

fn history_path(root: &Path) -> PathBuf {
    root.join(HISTORY_FILE)
}

/// Keep a read-only report: its artifacts in `.runs/<RUN>/`, one line in
/// the local history. Writes nothing git tracks and takes no lock.
pub fn keep(repo: &Repo, ctx: &Context, record: Record) -> Result<HistoryEntry> {
    for (name, _) in &record.artifacts {
        let plain = !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\']);
        if !plain {
            return Err(Error::Internal(format!(
                "artifact name {name:?} must be a plain file name"
            )));
        }
    }
    let root = repo.root();
    let entry = HistoryEntry {
        schema: HISTORY_SCHEMA_ID.into(),
        run: record.run.clone(),
        time: ctx.clock.now().to_string(),
        command: record.command,
        actor: record.actor,
        event: record.event,
        input_digest: record.input_digest,
        rationale: record.rationale,
        details: record.details,
        artifacts: record.artifacts.iter().map(|(n, _)| n.clone()).collect(),
    };
    let dir = repo.layout.run_dir(&record.run);
    std::fs::create_dir_all(&dir).io("create", &dir)?;
    for (name, bytes) in &record.artifacts {
        let p = dir.join(name);
        std::fs::write(&p, bytes).io("write", &p)?;
    }
    let mut line = serde_json::to_vec(&entry).map_err(|e| Error::Internal(e.to_string()))?;
    line.push(b'\n');
    let path = history_path(root);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .io("open", &path)?;
    f.write_all(&line).io("append to", &path)?;
    Ok(entry)
}

/// The local history, oldest first, and the lines that could not be read
/// (`"line N: why"`). No history yet is an empty one.
pub fn read(root: &Path) -> Result<(Vec<HistoryEntry>, Vec<String>)> {
    let path = history_path(root);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(e) => return Err(e).io("read", &path),
    };
    let mut entries = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<HistoryEntry>(line) {
            Ok(e) if e.schema == HISTORY_SCHEMA_ID => entries.push(e),
            Ok(e) => bad.push(format!("line {}: unknown schema {:?}", i + 1, e.schema)),
            Err(e) => bad.push(format!("line {}: {e}", i + 1)),
        }
    }
    entries.sort_by(|a, b| a.run.cmp(&b.run));
    Ok((entries, bad))
}

pub const HISTORY_REPORT_SCHEMA_ID: &str = "warden.history/v1";

/// Where a row of `warden history` comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// The committed ledger: a run that changed something (or was recorded there).
    Ledger,
    /// This clone's local history: a read-only report.
    Local,
}

/// One row of `warden history`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct HistoryRow {
    pub run: String,
    pub time: String,
    pub command: String,
    pub event: String,
    pub actor: Source,
    pub origin: Origin,
    /// The ledger's result ("applied", "rolled_back", "recorded"), or
    /// "report" for a local read-only report.
    pub result: String,
    /// Files the run changed (0 for reports).
    pub files: u64,
    pub summary: Option<String>,
}

/// `warden history --format json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "warden history")]
pub struct History {
    /// Always "warden.history/v1".
    pub schema: String,
    /// The ledger's runs and the local reports, oldest first (by run id).
    pub runs: Vec<HistoryRow>,
    /// Lines of the local history that could not be read ("line N: why").
    pub unreadable: Vec<String>,
}

/// The ledger's entries and the local history, merged and sorted by run id
/// (ULIDs sort by time).
pub fn list(ledger: &[crate::ledger::Entry], root: &Path) -> Result<History> {
    let (local, unreadable) = read(root)?;
    // `status::runs` keeps the entries' order, one row each.
    let mut runs: Vec<HistoryRow> = crate::status::runs(ledger)
        .into_iter()
        .zip(ledger)
        .map(|(r, e)| HistoryRow {
            summary: r.reason.clone().or_else(|| e.rationale.clone()),
            run: r.run,
            time: r.time,
            command: r.command,
            event: r.event,
            actor: r.actor,
            origin: Origin::Ledger,
            result: match r.result {
                crate::ledger::RunResult::Applied => "applied",
                crate::ledger::RunResult::RolledBack => "rolled_back",
                crate::ledger::RunResult::Recorded => "recorded",
            }
            .into(),
            files: r.files,
        })
        .collect();
    runs.extend(local.into_iter().map(|e| HistoryRow {
        run: e.run,
        time: e.time,
        command: e.command,
        event: e.event,
        actor: e.actor,
        origin: Origin::Local,
        result: "report".into(),
        files: 0,
        summary: e.rationale,
    }));
    runs.sort_by(|a, b| a.run.cmp(&b.run));
    Ok(History {
        schema: HISTORY_REPORT_SCHEMA_ID.into(),
        runs,
        unreadable,
    })
}
