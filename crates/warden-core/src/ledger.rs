//! The ledger (G2): append-only JSONL under `.ledger/runs/`, one
//! hash-chained file per writer (clone), so two clones that append and merge get
//! no textual conflict and each chain still verifies.
//!
//! Entry n carries `prev` = sha256 of the exact bytes of line n-1 (for n = 1, of
//! `"warden.ledger/v1 genesis " + writer`) and `seq` = n. An edit breaks the next
//! link; a deletion, insertion or reorder breaks `seq` or a link; a truncation of
//! the tail is caught against the heads this clone has seen
//! (`.warden/state/ledger-heads.json`, updated on every append and verify).
//! Appending is one `write` of the whole line plus an fsync: the commit point of a run.

use crate::digest::Digest;
use crate::error::{Error, IoContext, Result};
use crate::heads::{self, Heads};
use crate::journal::FrameRef;
use crate::policy::PolicyRef;
use crate::proposal::Source;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

pub const LEDGER_SCHEMA_ID: &str = "warden.ledger/v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunResult {
    /// All actions applied and committed.
    Applied,
    /// The run was undone before it committed: its validation failed, or it was
    /// interrupted and recovery rolled it back.
    RolledBack,
    /// A run that changed no working-tree file and is ledgered for the record:
    /// a report (an audit), a registry change, a branch built in its own
    /// worktree. Its facts are in `details` and `.runs/<RUN>/`.
    Recorded,
}

/// Why a run was rolled back before it committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RollbackCause {
    /// Writing the change failed (an I/O error, a full disk); undone at once.
    ApplyFailed,
    /// The validation command (or a bridge check) failed.
    Validation,
    /// The run's deadline passed before it committed.
    Deadline,
    /// The process died mid-run; recovery rolled it back.
    Interrupted,
}

impl Entry {
    /// Why this run was rolled back; `None` unless `result` is `rolled_back`.
    /// Reads the typed field, or for entries written before it existed, the
    /// start of `reason` (the wording those versions wrote).
    pub fn rollback_cause(&self) -> Option<RollbackCause> {
        RollbackCause::of(self.result, self.rolled_back_by, self.reason.as_deref())
    }
}

impl RollbackCause {
    /// Why a run with this result, typed cause and reason was rolled back
    /// (`None` unless it was): the typed field, or for entries written before
    /// it existed, the start of `reason` (the wording those versions wrote).
    pub fn of(
        result: RunResult,
        typed: Option<RollbackCause>,
        reason: Option<&str>,
    ) -> Option<RollbackCause> {
        if result != RunResult::RolledBack {
            return None;
        }
        if let Some(c) = typed {
            return Some(c);
        }
        let r = reason?;
        Some(if r.starts_with("interrupted") {
            RollbackCause::Interrupted
        } else if r.starts_with(crate::engine::DEADLINE_REASON) {
            RollbackCause::Deadline
        } else if r.starts_with("the apply failed") {
            RollbackCause::ApplyFailed
        } else {
            RollbackCause::Validation
        })
    }
}

impl RunResult {
    /// The serialized name: "applied", "rolled_back", "recorded".
    pub fn name(self) -> &'static str {
        match self {
            RunResult::Applied => "applied",
            RunResult::RolledBack => "rolled_back",
            RunResult::Recorded => "recorded",
        }
    }
}

/// One action of the proposal, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ActionSummary {
    pub kind: String,
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Runs that change more paths than this keep their per-file changes in
/// `.runs/<RUN>/changes.json` instead of their ledger entry, so an entry stays
/// bounded (a 10,000-file run wrote a 2 MB line before; 500 changes are
/// about 100 KB).
pub const INLINE_CHANGES: usize = 500;

/// Where a run's per-file changes are kept instead of in its entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ChangesRef {
    /// Repository-relative: `.runs/<RUN>/changes.json` (a JSON array of the
    /// changes, in the writer's clone; `.runs/` is not tracked by git).
    pub file: String,
    /// sha256 of that file's bytes.
    pub sha256: Digest,
    /// How many changes it holds.
    pub count: u64,
}

/// Runs whose `details` serialize to more than this many bytes keep them in
/// `.runs/<RUN>/details.json` instead of their ledger entry (a `classify` of
/// thousands of files stored every file's candidates in its entry). Small
/// details (a sync's, a plugin dispatch's) stay inline.
pub const INLINE_DETAILS_BYTES: usize = 64 * 1024;

/// Where a run's details are kept instead of in its entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DetailsRef {
    /// Repository-relative: `.runs/<RUN>/details.json` (the details as JSON,
    /// in the writer's clone; `.runs/` is not tracked by git).
    pub file: String,
    /// sha256 of that file's bytes.
    pub sha256: Digest,
}

impl Entry {
    /// The run's details: from the entry, or from the file its
    /// `details_file` names (checked against its sha256). A missing file is
    /// an error naming it (it lives in the writer's clone).
    pub fn load_details(&self, root: &Path) -> Result<Option<serde_json::Value>> {
        let Some(r) = &self.details_file else {
            return Ok(self.details.clone());
        };
        let bytes = self.run_file(root, "details", &r.file, r.sha256)?;
        let path = root.join(&r.file);
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Corrupt {
                path,
                message: format!("run {}: bad details file: {e}", self.run),
            })
    }

    /// The bytes of `.runs/<RUN>/<what>.json`, which the entry names as
    /// `file` with `sha256`.
    fn run_file(&self, root: &Path, what: &str, file: &str, sha256: Digest) -> Result<Vec<u8>> {
        let expected = format!(".runs/{}/{what}.json", self.run);
        let path = root.join(&expected);
        let unreadable = |message: String| Error::Corrupt {
            path: path.clone(),
            message,
        };
        if file != expected {
            return Err(unreadable(format!(
                "run {}: its entry names the {what} file {file:?}, not {expected:?}",
                self.run
            )));
        }
        let bytes = std::fs::read(&path).map_err(|e| {
            unreadable(format!(
                "run {}: its {what} file cannot be read ({e}); it is kept in the clone of writer {}",
                self.run, self.writer
            ))
        })?;
        if Digest::of(&bytes) != sha256 {
            return Err(unreadable(format!(
                "run {}: the {what} file does not match the sha256 its ledger entry records",
                self.run
            )));
        }
        Ok(bytes)
    }

    /// The run's per-file changes: from the entry, or from the file its
    /// `changes_file` names (checked against its sha256 and count). A
    /// missing file is an error naming it (it lives in the writer's clone).
    pub fn load_changes(&self, root: &Path) -> Result<Vec<ChangeSummary>> {
        let Some(r) = &self.changes_file else {
            return Ok(self.changes.clone());
        };
        let expected = format!(".runs/{}/changes.json", self.run);
        let path = root.join(&expected);
        let unreadable = |message: String| Error::Corrupt {
            path: path.clone(),
            message,
        };
        if r.file != expected {
            return Err(unreadable(format!(
                "run {}: its entry names the changes file {:?}, not {expected:?}",
                self.run, r.file
            )));
        }
        let bytes = std::fs::read(&path).map_err(|e| {
            unreadable(format!(
                "run {}: its per-file changes cannot be read ({e}); they are kept in the clone of writer {}",
                self.run, self.writer
            ))
        })?;
        if Digest::of(&bytes) != r.sha256 {
            return Err(unreadable(format!(
                "run {}: the changes file does not match the sha256 its ledger entry records",
                self.run
            )));
        }
        let changes: Vec<ChangeSummary> = serde_json::from_slice(&bytes)
            .map_err(|e| unreadable(format!("run {}: bad changes file: {e}", self.run)))?;
        if changes.len() as u64 != r.count {
            return Err(unreadable(format!(
                "run {}: the changes file holds {} changes, its entry says {}",
                self.run,
                changes.len(),
                r.count
            )));
        }
        Ok(changes)
    }
}

/// One path's change; `null` means absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ChangeSummary {
    pub path: String,
    pub before: Option<Digest>,
    pub after: Option<Digest>,
    pub before_mode: Option<u32>,
    pub after_mode: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Counts {
    pub files: u64,
    pub added: u64,
    pub modified: u64,
    pub deleted: u64,
    pub lines_added: u64,
    pub lines_removed: u64,
    pub bytes_written: u64,
}

/// The rollback handle: where this clone keeps the before-state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RollbackHandle {
    /// Always "journal": `.warden/state/journal` of the writer's clone.
    pub store: String,
    pub writer: String,
    #[serde(flatten)]
    pub frame: FrameRef,
}

/// A ledger entry (one line). Field order is the serialisation order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(
    title = "warden ledger entry",
    description = "One line of .ledger/runs/<writer>.jsonl"
)]
pub struct Entry {
    pub schema: String,
    pub seq: u64,
    pub prev: Digest,
    pub writer: String,
    pub run: String,
    pub time: String,
    /// apply or undo.
    pub command: String,
    pub actor: Source,
    pub event: String,
    pub policy: PolicyRef,
    /// sha256 of the proposal's canonical JSON (for undo: of the undone run id).
    pub input_digest: Digest,
    /// Digest over (path, before) of every changed path.
    pub before_digest: Digest,
    /// Digest over (path, after) of every changed path.
    pub after_digest: Digest,
    pub actions: Vec<ActionSummary>,
    /// The per-file changes; empty when they are kept in the run's
    /// artifacts instead (`changes_file`): read them with
    /// [`Entry::load_changes`].
    pub changes: Vec<ChangeSummary>,
    /// For a run of more than [`INLINE_CHANGES`] paths: where its per-file
    /// changes are kept (`.runs/<RUN>/changes.json` in the writer's clone),
    /// with the sha256 of that file and the number of changes. Entries
    /// written before it existed carry their changes inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes_file: Option<ChangesRef>,
    pub counts: Counts,
    pub result: RunResult,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Why a `rolled_back` run was rolled back. Entries written before this
    /// field existed lack it: [`Entry::rollback_cause`] reads their `reason`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolled_back_by: Option<RollbackCause>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
    /// For an undo: the run it undid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undoes: Option<String>,
    pub rollback: Option<RollbackHandle>,
    /// Command-specific facts of a recorded run (e.g. what a sync brought in
    /// from where). Absent for apply and undo, and when they are kept in the
    /// run's artifacts instead (`details_file`): read them with
    /// [`Entry::load_details`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
    /// For details over [`INLINE_DETAILS_BYTES`]: where they are kept
    /// (`.runs/<RUN>/details.json` in the writer's clone), with the sha256
    /// of that file. Entries written before it existed carry their details
    /// inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details_file: Option<DetailsRef>,
}

pub fn genesis(writer: &str) -> Digest {
    Digest::of(format!("{LEDGER_SCHEMA_ID} genesis {writer}").as_bytes())
}

pub use crate::heads::Head;

/// The first problem `verify` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Problem {
    /// The chain file, repository-relative.
    pub file: String,
    pub writer: String,
    /// 1-based line (= expected seq) of the first bad entry.
    pub line: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ChainReport {
    pub writer: String,
    pub entries: u64,
    pub tip: Option<Digest>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "warden ledger verify report")]
pub struct VerifyReport {
    pub schema: String,
    pub ok: bool,
    pub entries: u64,
    pub bytes: u64,
    pub chains: Vec<ChainReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<Problem>,
    /// The run files entries reference by digest (`changes_file`,
    /// `details_file`); absent when no entry references one.
    #[serde(default, skip_serializing_if = "RunFiles::is_empty")]
    pub run_files: RunFiles,
}

/// What `ledger verify` found of the files in `.runs/` that entries
/// reference by digest. They exist only in the writer's clone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct RunFiles {
    /// Files that exist and match their digest.
    pub checked: u64,
    /// Referenced files that are not in this clone (written by another
    /// clone, or removed), repository-relative.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub absent: Vec<String>,
    /// Files that exist but do not match the digest their entry records.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mismatched: Vec<String>,
}

impl RunFiles {
    pub fn is_empty(&self) -> bool {
        self.checked == 0 && self.absent.is_empty() && self.mismatched.is_empty()
    }

    /// Check the run files that the entries of one chain reference: only
    /// lines that name one are parsed.
    fn check_chain(&mut self, root: &Path, bytes: &[u8]) {
        let mut lines = std::collections::BTreeSet::new();
        for needle in [&b"\"changes_file\":"[..], &b"\"details_file\":"[..]] {
            for at in memchr::memmem::find_iter(bytes, needle) {
                let start = bytes[..at]
                    .iter()
                    .rposition(|b| *b == b'\n')
                    .map_or(0, |i| i + 1);
                lines.insert(start);
            }
        }
        for start in lines {
            let end = bytes[start..]
                .iter()
                .position(|b| *b == b'\n')
                .map_or(bytes.len(), |i| start + i);
            let Ok(e) = serde_json::from_slice::<Entry>(&bytes[start..end]) else {
                continue;
            };
            let refs = e
                .changes_file
                .iter()
                .map(|r| ("changes", &r.file, r.sha256))
                .chain(
                    e.details_file
                        .iter()
                        .map(|r| ("details", &r.file, r.sha256)),
                );
            for (what, file, sha) in refs {
                match e.run_file(root, what, file, sha) {
                    Ok(_) => self.checked += 1,
                    Err(_) if !root.join(file).exists() => self.absent.push(file.clone()),
                    Err(_) => self.mismatched.push(file.clone()),
                }
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct Ledger {
    root: PathBuf,
    dir: PathBuf,
    heads: PathBuf,
}

/// The minimum of an entry that chain verification needs; parsed without
/// allocating the rest.
#[derive(Deserialize)]
pub(crate) struct Link<'a> {
    pub(crate) seq: u64,
    #[serde(borrow)]
    prev: &'a str,
    #[serde(borrow)]
    pub(crate) run: Option<&'a str>,
}

impl Ledger {
    /// `dir` is `.ledger/runs`, `heads` the local heads file.
    pub fn new(root: &Path, dir: PathBuf, heads: PathBuf) -> Self {
        Ledger {
            root: root.to_path_buf(),
            dir,
            heads,
        }
    }

    /// The derived index (`.warden/state/ledger-index.json`), beside the heads.
    pub fn index_path(&self) -> PathBuf {
        self.heads.with_file_name("ledger-index.json")
    }

    pub(crate) fn rel_path(&self, p: &Path) -> String {
        self.rel(p)
    }

    pub fn chain_path(&self, writer: &str) -> PathBuf {
        self.dir.join(format!("{writer}.jsonl"))
    }

    fn rel(&self, p: &Path) -> String {
        p.strip_prefix(&self.root)
            .unwrap_or(p)
            .to_string_lossy()
            .replace('\\', "/")
    }

    /// Writers with a chain file, sorted.
    pub fn writers(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let rd = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e).io("list", &self.dir),
        };
        for ent in rd {
            let ent = ent.io("list", &self.dir)?;
            let name = ent.file_name().to_string_lossy().into_owned();
            if let Some(w) = name.strip_suffix(".jsonl") {
                out.push(w.to_string());
            }
        }
        out.sort();
        Ok(out)
    }

    /// The last complete line of a chain (without newline) and the chain's length.
    fn last_line(path: &Path) -> Result<Option<Vec<u8>>> {
        let mut f = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).io("open", path),
        };
        let len = f.metadata().io("stat", path)?.len();
        if len == 0 {
            return Ok(None);
        }
        let mut chunk = 8192u64;
        loop {
            let start = len.saturating_sub(chunk);
            f.seek(SeekFrom::Start(start)).io("seek", path)?;
            let mut buf = Vec::with_capacity((len - start) as usize);
            std::io::Read::by_ref(&mut f)
                .take(len - start)
                .read_to_end(&mut buf)
                .io("read", path)?;
            if buf.last() != Some(&b'\n') {
                return Err(Error::Corrupt {
                    path: path.to_path_buf(),
                    message: "the last entry is incomplete (torn write)".into(),
                });
            }
            let body = &buf[..buf.len() - 1];
            match body.iter().rposition(|&b| b == b'\n') {
                Some(i) => return Ok(Some(body[i + 1..].to_vec())),
                None if start == 0 => return Ok(Some(body.to_vec())),
                None => chunk *= 4,
            }
        }
    }

    /// The last entry of a writer's chain.
    pub fn tip(&self, writer: &str) -> Result<Option<(Entry, Digest)>> {
        let path = self.chain_path(writer);
        let Some(line) = Self::last_line(&path)? else {
            return Ok(None);
        };
        let entry: Entry = serde_json::from_slice(&line).map_err(|e| Error::Corrupt {
            path: path.clone(),
            message: format!("last entry is not a valid ledger entry: {e}"),
        })?;
        Ok(Some((entry, Digest::of(&line))))
    }

    /// Append an entry to `writer`'s chain; `seq` and `prev` are filled in here.
    /// One write, one fsync. Returns the entry as written.
    pub fn append(&self, writer: &str, entry: Entry) -> Result<Entry> {
        let mut written = self.append_many(writer, vec![entry])?;
        written
            .pop()
            .ok_or_else(|| Error::Internal("append wrote no entry".into()))
    }

    /// Append several entries to `writer`'s chain in one write and one fsync
    /// (group commit). They are chained in order, exactly as if appended one by
    /// one. A crash mid-write leaves a torn last line that recovery cuts, so a
    /// prefix of the batch may survive; each entry is complete or absent.
    ///
    /// The chain's tail is checked against this clone's head first
    /// ([`Ledger::guard`]'s check, bounded by what was appended since): an
    /// append never chains onto a cut or edited tip.
    pub fn append_many(&self, writer: &str, entries: Vec<Entry>) -> Result<Vec<Entry>> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let path = self.chain_path(writer);
        let mut heads = self.heads_for_write(writer)?;
        let tip = self
            .check_from_head(writer, heads.chains.get(writer))
            .map_err(|p| self.refusal(p))?;
        let (mut seq, mut prev, offset) = match tip {
            Some(h) => (h.seq + 1, h.hash, h.offset.unwrap_or(0)),
            None => (1, genesis(writer), 0),
        };
        let mut buf = Vec::new();
        let mut written = Vec::with_capacity(entries.len());
        for mut entry in entries {
            entry.schema = LEDGER_SCHEMA_ID.into();
            entry.seq = seq;
            entry.prev = prev;
            entry.writer = writer.into();
            let line = serde_json::to_vec(&entry).map_err(|e| Error::Internal(e.to_string()))?;
            prev = Digest::of(&line);
            seq += 1;
            buf.extend_from_slice(&line);
            buf.push(b'\n');
            written.push(entry);
        }
        std::fs::create_dir_all(&self.dir).io("create", &self.dir)?;
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .io("open", &path)?;
        f.write_all(&buf).io("append to", &path)?;
        f.sync_data().io("fsync", &path)?;
        // Not fsynced: a head that lags behind its chain is tolerated.
        heads.chains.insert(
            writer.to_string(),
            Head {
                seq: seq - 1,
                hash: prev,
                offset: Some(offset + buf.len() as u64),
            },
        );
        heads::write(&self.heads, &heads);
        self.index_appended(writer);
        Ok(written)
    }

    /// Cut a torn last line (crash mid-append) off `writer`'s chain. Returns
    /// whether something was cut. Reads only the chain's end. Only recovery
    /// and the guard call this, under the lock.
    pub fn cut_torn_tail(&self, writer: &str) -> Result<bool> {
        let path = self.chain_path(writer);
        let mut f = match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e).io("open", &path),
        };
        let len = f.metadata().io("stat", &path)?.len();
        if len == 0 || read_at(&mut f, len - 1, 1, &path)? == b"\n" {
            return Ok(false);
        }
        let keep = match last_newline_before(&mut f, len, &path)? {
            Some(i) => i + 1,
            None => 0,
        };
        f.set_len(keep).io("truncate", &path)?;
        f.sync_all().io("fsync", &path)?;
        Ok(true)
    }

    fn rel_heads(&self) -> String {
        self.rel(&self.heads)
    }

    /// The heads file, or empty heads when it does not exist.
    fn read_heads(&self) -> Result<Heads> {
        Ok(heads::read(&self.heads, &self.rel_heads())?.unwrap_or_else(Heads::new))
    }

    /// The heads, for a writer about to append to `writer`'s chain: a missing
    /// heads file is refused once that chain has entries (the heads were
    /// deleted, so a cut tip could no longer be seen).
    fn heads_for_write(&self, writer: &str) -> Result<Heads> {
        if let Some(h) = heads::read(&self.heads, &self.rel_heads())? {
            return Ok(h);
        }
        let path = self.chain_path(writer);
        match std::fs::metadata(&path) {
            Ok(m) if m.len() > 0 => Err(Error::rejected(
                self.rel_heads(),
                "(file)",
                format!(
                    "is missing, but this clone's chain {} has entries: without it a cut or edited tip cannot be detected",
                    self.rel(&path)
                ),
                Some(format!(
                    "if `warden ledger verify` passes, run {}",
                    heads::accept_hint()
                )),
            )),
            _ => Ok(Heads::new()),
        }
    }

    /// Check `writer`'s chain from its recorded head to its end: the line the
    /// head names must still be there, unchanged, and every line after it must
    /// chain onto it. Without a head the whole chain is walked; with a head
    /// from before v2 (no offset), too. Returns the chain's tip (with its byte
    /// offset), or the first problem. Reads the head's line and what was
    /// appended since, not the chain's history.
    fn check_from_head(
        &self,
        writer: &str,
        head: Option<&Head>,
    ) -> std::result::Result<Option<Head>, Problem> {
        let path = self.chain_path(writer);
        let io = |e: std::io::Error| {
            self.chain_problem(&path, writer, 0, format!("cannot be read: {e}"))
        };
        let Some(mut f) = self.open_chain(&path, writer, head)? else {
            return Ok(None);
        };
        let len = f.metadata().map_err(io)?.len();
        let (start_seq, start_hash, start) = match head {
            Some(
                h @ Head {
                    offset: Some(offset),
                    ..
                },
            ) => {
                self.check_head_line(&mut f, &path, writer, h, *offset, len)?;
                (h.seq, h.hash, *offset)
            }
            _ => (0, genesis(writer), 0),
        };
        let mut rest = Vec::with_capacity((len - start) as usize);
        f.seek(SeekFrom::Start(start)).map_err(io)?;
        Read::by_ref(&mut f)
            .take(len - start)
            .read_to_end(&mut rest)
            .map_err(io)?;
        let mut n = start_seq;
        let mut tip = (start_seq > 0).then_some(start_hash);
        let old_head = head.filter(|h| h.offset.is_none());
        let from = ChainStart {
            writer,
            head: old_head,
            seq: start_seq,
            hash: start_hash,
        };
        walk_chain(from, &rest, &mut n, &mut tip, &mut |_| {}).map_err(|mut p| {
            p.file = self.rel(&path);
            p
        })?;
        Ok(tip.map(|hash| Head {
            seq: n,
            hash,
            offset: Some(len),
        }))
    }

    /// A problem at `line` of `writer`'s chain at `path`.
    fn chain_problem(&self, path: &Path, writer: &str, line: u64, message: String) -> Problem {
        Problem {
            file: self.rel(path),
            writer: writer.to_string(),
            line,
            run: None,
            message,
        }
    }

    /// Open `writer`'s chain file. A missing one is an empty chain, unless
    /// this clone has seen entries in it (`head`): then it was deleted.
    fn open_chain(
        &self,
        path: &Path,
        writer: &str,
        head: Option<&Head>,
    ) -> std::result::Result<Option<std::fs::File>, Problem> {
        match std::fs::File::open(path) {
            Ok(f) => Ok(Some(f)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match head {
                Some(h) => Err(self.chain_problem(
                    path,
                    writer,
                    1,
                    format!(
                        "the chain file is missing, but this clone has seen {} entries in it: the chain was deleted",
                        h.seq
                    ),
                )),
                None => Ok(None),
            },
            Err(e) => Err(self.chain_problem(path, writer, 0, format!("cannot be read: {e}"))),
        }
    }

    /// The line this clone's head `h` names, ending at byte `offset` of a
    /// chain of `len` bytes, must still be there and unchanged.
    fn check_head_line(
        &self,
        f: &mut std::fs::File,
        path: &Path,
        writer: &str,
        h: &Head,
        offset: u64,
        len: u64,
    ) -> std::result::Result<(), Problem> {
        if len < offset {
            return Err(self.chain_problem(
                path,
                writer,
                h.seq,
                format!(
                    "is missing: the chain is {len} bytes, but this clone's head (entry {}) ends at byte {offset}: the tip was cut",
                    h.seq
                ),
            ));
        }
        let line = line_ending_at(f, offset, path)
            .map_err(|e| self.chain_problem(path, writer, h.seq, e.to_string()))?;
        let link = parse_link(&line);
        if link.as_ref().map(|l| l.seq) != Some(h.seq) || Digest::of(&line) != h.hash {
            return Err(self.chain_problem(
                path,
                writer,
                h.seq,
                "was edited or the chain was rewritten: it differs from the entry this clone recorded".into(),
            ));
        }
        Ok(())
    }

    fn refusal(&self, p: Problem) -> Error {
        let run = p
            .run
            .as_ref()
            .map(|r| format!(" (run {r})"))
            .unwrap_or_default();
        Error::rejected(
            p.file.clone(),
            format!("entry {}{run}", p.line),
            p.message.clone(),
            Some(format!(
                "restore the chain from git (`git checkout HEAD -- {0}`; `git log -p -- {0}` shows its history) or from another clone, then run `warden ledger verify`; to accept the loss and go on, run {1}",
                p.file,
                heads::accept_hint()
            )),
        )
        .refusing(crate::error::Refusal::Ledger)
    }

    /// The ledger guard, run before a writer session does anything: cut a torn
    /// tail off `writer`'s chain (a crash mid-append), then check every chain
    /// from this clone's head to its end ([`Ledger::check_from_head`]) and refuse
    /// (exit 1, naming the chain, the entry and the recovery command) when a
    /// tip was cut, edited or deleted, when the heads file is unreadable, or
    /// while the last full verification found a problem. On success the heads
    /// move to the chains' tips. Bounded by what was appended since the last
    /// check, not by the ledger's length.
    pub fn guard(&self, writer: &str) -> Result<()> {
        self.cut_torn_tail(writer)?;
        let mut heads = self.heads_for_write(writer)?;
        if heads.problem.is_some() {
            // The last full verification failed. Only then is the whole
            // ledger read again here: the problem may be gone (a torn tail
            // that was just cut, a chain restored from git).
            if let Some(p) = self.verify()?.problem {
                return Err(self.refusal(p));
            }
            heads = self.heads_for_write(writer)?;
        }
        let mut names: Vec<String> = self.writers()?;
        names.extend(heads.chains.keys().cloned());
        names.sort();
        names.dedup();
        let mut changed = false;
        for name in &names {
            let head = heads.chains.get(name).copied();
            match self.check_from_head(name, head.as_ref()) {
                Err(p) => return Err(self.refusal(p)),
                Ok(Some(tip)) if Some(tip) != head => {
                    heads.chains.insert(name.clone(), tip);
                    changed = true;
                }
                Ok(_) => {}
            }
        }
        if changed {
            heads::write(&self.heads, &heads);
        }
        Ok(())
    }

    /// What the guard would refuse, without refusing: for read-only commands
    /// that warn (`warden runs`). Writes nothing.
    pub fn guard_problem(&self, writer: &str) -> Option<String> {
        let heads = match heads::read(&self.heads, &self.rel_heads()) {
            Ok(h) => h.unwrap_or_else(Heads::new),
            Err(e) => return Some(e.to_string()),
        };
        if let Err(e) = self.heads_for_write(writer) {
            return Some(e.to_string());
        }
        if let Some(p) = &heads.problem {
            return Some(self.refusal(p.clone()).to_string());
        }
        let mut names = self.writers().unwrap_or_default();
        names.extend(heads.chains.keys().cloned());
        names.sort();
        names.dedup();
        names.iter().find_map(|name| {
            self.check_from_head(name, heads.chains.get(name))
                .err()
                .map(|p| self.refusal(p).to_string())
        })
    }

    /// `warden ledger accept`: re-record the heads from the chains as they are
    /// now, after the guard refused. Only problems that the chains themselves
    /// do not show are accepted — a cut or edited tip, a deleted chain, a
    /// missing or unreadable heads file; a chain that is broken inside does not
    /// verify on its own and must be restored (from git or another clone).
    /// Returns what was accepted, one line each; the caller ledgers them.
    pub fn accept(&self) -> Result<Vec<Problem>> {
        let (accepted, fresh) = self.to_accept()?;
        heads::write_replacing(&self.heads, &fresh)?;
        Ok(accepted)
    }

    /// What [`Ledger::accept`] would accept, and the heads it would record,
    /// with nothing written (`warden ledger accept --dry-run`, and the list
    /// shown before the person confirms). Refused as `accept` is.
    pub fn to_accept(&self) -> Result<(Vec<Problem>, Heads)> {
        let rel = self.rel_heads();
        let mut accepted = Vec::new();
        let old = match heads::read(&self.heads, &rel) {
            Ok(Some(h)) => h,
            Ok(None) => {
                accepted.push(Problem {
                    file: rel.clone(),
                    writer: String::new(),
                    line: 0,
                    run: None,
                    message: "the heads file was missing".into(),
                });
                Heads::new()
            }
            Err(e) => {
                accepted.push(Problem {
                    file: rel.clone(),
                    writer: String::new(),
                    line: 0,
                    run: None,
                    message: e.to_string(),
                });
                Heads::new()
            }
        };
        let mut fresh = Heads::new();
        let mut names = self.writers()?;
        names.extend(old.chains.keys().cloned());
        names.sort();
        names.dedup();
        for name in &names {
            if let Err(p) = self.check_from_head(name, old.chains.get(name)) {
                accepted.push(p);
            }
            // The chain on its own, from genesis: this must hold.
            match self.check_from_head(name, None) {
                Ok(Some(tip)) => {
                    fresh.chains.insert(name.clone(), tip);
                }
                Ok(None) => {}
                Err(p) => {
                    return Err(Error::rejected(
                        p.file.clone(),
                        format!("entry {}", p.line),
                        format!(
                            "{} — the chain is broken inside, which accepting cannot mend",
                            p.message
                        ),
                        Some(format!(
                            "restore the chain from git (`git checkout HEAD -- {0}`; `git log -p -- {0}`) or from another clone, then run `warden ledger verify`",
                            p.file
                        )),
                    ));
                }
            }
        }
        if let Some(p) = old.problem {
            // A full verification failed earlier; the chains verify now.
            accepted.push(p);
        }
        if accepted.is_empty() {
            return Err(Error::invalid(
                "(command line)",
                "accept",
                "the ledger's chains and heads agree: there is nothing to accept",
                Some("`warden ledger verify` checks every chain".into()),
            ));
        }
        Ok((accepted, fresh))
    }

    /// Verify every chain against itself and against the heads this clone has
    /// seen. On success, remember the new tips; on failure, remember the
    /// problem, so that writers refuse until the ledger verifies again.
    pub fn verify(&self) -> Result<VerifyReport> {
        let mut heads = self.read_heads()?;
        let mut report = VerifyReport {
            schema: "warden.ledger-verify/v1".into(),
            ok: true,
            entries: 0,
            bytes: 0,
            chains: Vec::new(),
            problem: None,
            run_files: RunFiles::default(),
        };
        let mut tips = BTreeMap::new();
        let writers = self.writers()?;
        for writer in &writers {
            let path = self.chain_path(writer);
            let bytes = std::fs::read(&path).io("read", &path)?;
            report.bytes += bytes.len() as u64;
            let (chain, problem) = verify_chain(writer, &bytes, heads.chains.get(writer));
            report.run_files.check_chain(&self.root, &bytes);
            report.entries += chain.entries;
            if let Some(hash) = chain.tip {
                let head = Head {
                    seq: chain.entries,
                    hash,
                    offset: Some(bytes.len() as u64),
                };
                tips.insert(writer.clone(), head);
            }
            report.chains.push(chain);
            if let Some(mut p) = problem
                && report.problem.is_none()
            {
                p.file = self.rel(&path);
                report.problem = Some(p);
            }
        }
        for (writer, head) in &heads.chains {
            if !writers.contains(writer) && report.problem.is_none() {
                report.problem = Some(Problem {
                    file: self.rel(&self.chain_path(writer)),
                    writer: writer.clone(),
                    line: 1,
                    run: None,
                    message: format!(
                        "the chain file is missing, but this clone has seen {} entries in it: the chain was deleted",
                        head.seq
                    ),
                });
            }
        }
        report.ok = report.problem.is_none();
        if report.ok {
            // A run file that does not match its entry fails the verify, but
            // the chain itself is sound: writers are not stopped by it.
            report.ok = report.run_files.mismatched.is_empty();
            for (w, h) in tips {
                if heads.chains.get(&w).is_none_or(|old| old.seq <= h.seq) {
                    heads.chains.insert(w, h);
                }
            }
            heads.problem = None;
        } else {
            heads.problem = report.problem.clone();
        }
        heads::write(&self.heads, &heads);
        Ok(report)
    }

    /// Every entry of every chain, ordered by run id (ULIDs sort by time).
    pub fn entries(&self) -> Result<Vec<Entry>> {
        let mut all = Vec::new();
        for writer in self.writers()? {
            let path = self.chain_path(&writer);
            let bytes = std::fs::read(&path).io("read", &path)?;
            for (i, line) in bytes
                .split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .enumerate()
            {
                let e: Entry = serde_json::from_slice(line).map_err(|e| Error::Corrupt {
                    path: path.clone(),
                    message: format!("line {}: not a valid ledger entry: {e}", i + 1),
                })?;
                all.push(e);
            }
        }
        all.sort_by(|a, b| a.run.cmp(&b.run).then(a.seq.cmp(&b.seq)));
        Ok(all)
    }

    /// The entry of `run` as a user named it on the command line (see
    /// [`Ledger::find_run`]); a run that is not there is a usage error that
    /// says where the runs are listed.
    pub fn require_run(&self, run: &str) -> Result<Entry> {
        self.find_run(run)?.ok_or_else(|| {
            Error::invalid(
                "(command line)",
                "RUN",
                format!("no run \"{run}\" in the ledger"),
                Some("`warden runs` lists the runs".into()),
            )
        })
    }

    /// The entry of a run. Accepts any unique prefix of the run id (`warden
    /// runs` shows each run's shortest one), in either case. A full run id is looked up backwards from each chain's
    /// end, so finding a recent run reads only the chains' tails; a prefix, or
    /// an id that is not there, reads every chain (streamed, a line at a time).
    pub fn find_run(&self, run: &str) -> Result<Option<Entry>> {
        let run = run.to_ascii_uppercase();
        if run.is_empty() {
            return Ok(None);
        }
        let exact = run.len() == 26;
        let mut hits: Vec<Entry> = Vec::new();
        for writer in self.writers()? {
            let path = self.chain_path(&writer);
            let found = self.scan_back(&writer, &mut |line| {
                let Some(id) = parse_link(line).and_then(|l| l.run) else {
                    return Ok(false);
                };
                if !id.starts_with(&run) {
                    return Ok(false);
                }
                hits.push(crate::ledger_index::parse_entry(&path, line)?);
                Ok(exact)
            })?;
            if found {
                break;
            }
        }
        // Oldest first, as the whole-ledger order had it.
        hits.sort_by(|a, b| a.run.cmp(&b.run).then(a.seq.cmp(&b.seq)));
        if hits.len() > 1 && hits.iter().any(|e| e.run != hits[0].run) {
            return Err(Error::invalid(
                "(command line)",
                "RUN",
                format!("\"{run}\" matches {} runs", hits.len()),
                Some("give more characters of the run id (see `warden runs`)".into()),
            ));
        }
        Ok(hits.pop())
    }
}

/// The chain fields of a line as warden writes it, read without a JSON parser:
/// `{"schema":"warden.ledger/v1","seq":N,"prev":"<64 hex>","writer":"W","run":"R",...`.
/// Any other shape returns None and is parsed properly. Integrity does not
/// depend on this: every byte of the line is covered by the next entry's `prev`.
fn fast_link(line: &[u8]) -> Option<Link<'_>> {
    let rest = line.strip_prefix(br#"{"schema":"warden.ledger/v1","seq":"#)?;
    let digits = rest.iter().position(|b| !b.is_ascii_digit())?;
    if digits == 0 || digits > 19 {
        return None;
    }
    let seq = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
    let rest = rest[digits..].strip_prefix(br#","prev":""#)?;
    let prev = std::str::from_utf8(rest.get(..64)?).ok()?;
    let rest = rest[64..].strip_prefix(br#"","writer":""#)?;
    let end = rest.iter().position(|&b| b == b'"' || b == b'\\')?;
    let rest = rest[end..].strip_prefix(br#"","run":""#)?;
    let end = rest.iter().position(|&b| b == b'"' || b == b'\\')?;
    let run = std::str::from_utf8(&rest[..end]).ok()?;
    rest.get(end..)?.strip_prefix(b"\"")?;
    Some(Link {
        seq,
        prev,
        run: Some(run),
    })
}

/// Check one chain's bytes. Returns its summary and the first problem.
pub fn verify_chain(
    writer: &str,
    bytes: &[u8],
    head: Option<&Head>,
) -> (ChainReport, Option<Problem>) {
    let mut n = 0u64;
    let mut tip = None;
    let from = ChainStart::genesis(writer, head);
    let problem = walk_chain(from, bytes, &mut n, &mut tip, &mut |_| {}).err();
    let report = ChainReport {
        writer: writer.into(),
        entries: n,
        tip,
    };
    (report, problem)
}

/// Where a [`walk_chain`] starts: whose chain, this clone's head of it, and
/// the entry the walked bytes follow (0 and the genesis for a whole chain).
pub(crate) struct ChainStart<'a> {
    pub writer: &'a str,
    /// This clone's head of the chain: the line it names must be unchanged.
    pub head: Option<&'a Head>,
    /// The seq of the entry the bytes start after.
    pub seq: u64,
    /// That entry's hash.
    pub hash: Digest,
}

impl<'a> ChainStart<'a> {
    /// A whole chain of `writer`, from its genesis.
    pub fn genesis(writer: &'a str, head: Option<&'a Head>) -> Self {
        ChainStart {
            writer,
            head,
            seq: 0,
            hash: genesis(writer),
        }
    }
}

/// Walk a chain's lines, counting good entries into `n` and their last hash
/// into `tip`, until the first problem. `bytes` start after entry
/// `from.seq`, whose hash is `from.hash`.
pub(crate) fn walk_chain(
    from: ChainStart<'_>,
    bytes: &[u8],
    n: &mut u64,
    tip: &mut Option<Digest>,
    on_line: &mut dyn FnMut(&[u8]),
) -> Result<(), Problem> {
    *n = from.seq;
    let mut walk = Walk {
        writer: from.writer,
        head: from.head,
        expected_prev: from.hash,
        prev_run: None,
    };
    let mut rest = bytes;
    while !rest.is_empty() {
        let Some(i) = rest.iter().position(|&b| b == b'\n') else {
            return Err(walk.problem(
                *n + 1,
                None,
                "the last entry is incomplete (no final newline): truncated or torn".into(),
            ));
        };
        let line = &rest[..i];
        rest = &rest[i + 1..];
        let hash = walk.check_line(line, *n)?;
        on_line(line);
        *tip = Some(hash);
        *n += 1;
    }
    walk.check_not_truncated(*n)
}

/// What [`walk_chain`] carries from one line to the next.
struct Walk<'a> {
    writer: &'a str,
    /// This clone's head of the chain: the line it names must be unchanged.
    head: Option<&'a Head>,
    /// The hash the next line's `prev` must name.
    expected_prev: Digest,
    /// The run of the last good line, to name when the next one breaks it.
    prev_run: Option<String>,
}

impl Walk<'_> {
    fn problem(&self, line: u64, run: Option<String>, message: String) -> Problem {
        Problem {
            file: String::new(),
            writer: self.writer.to_string(),
            line,
            run,
            message,
        }
    }

    /// Check the line after entry `n`: it parses, has the next seq, links to
    /// the line before and matches this clone's head. Returns its hash.
    fn check_line(&mut self, line: &[u8], n: u64) -> Result<Digest, Problem> {
        let expect_seq = n + 1;
        let link: Link = match fast_link(line).map_or_else(|| serde_json::from_slice(line), Ok) {
            Ok(l) => l,
            Err(e) => {
                return Err(self.problem(
                    expect_seq,
                    None,
                    format!("not a valid ledger entry ({e})"),
                ));
            }
        };
        let run = link.run.map(str::to_string);
        if link.seq != expect_seq {
            return Err(self.problem(expect_seq, run, seq_gap(link.seq, expect_seq)));
        }
        if Digest::parse_hex(link.prev) != Some(self.expected_prev) {
            // The link of this entry does not match the previous line: the
            // previous entry was edited, or this one was forged.
            return Err(if n == 0 {
                self.problem(1, run, "does not start from the chain's genesis: it was edited or the chain was replaced".into())
            } else {
                self.problem(
                    n,
                    self.prev_run.clone(),
                    format!("was edited: entry {expect_seq}'s link to it no longer matches"),
                )
            });
        }
        let hash = Digest::of(line);
        if let Some(h) = self.head
            && h.seq == expect_seq
            && h.hash != hash
        {
            return Err(self.problem(
                expect_seq,
                run,
                "was edited: it differs from the entry this clone recorded".into(),
            ));
        }
        self.expected_prev = hash;
        self.prev_run = run;
        Ok(hash)
    }

    /// A chain that ends at entry `n` must reach this clone's head.
    fn check_not_truncated(&self, n: u64) -> Result<(), Problem> {
        match self.head {
            Some(h) if h.seq > n => Err(self.problem(
                n + 1,
                None,
                format!(
                    "is missing: the chain ends at entry {n} but this clone has seen {} entries: it was truncated",
                    h.seq
                ),
            )),
            _ => Ok(()),
        }
    }
}

/// What a line with seq `seq` where `expected` was due says happened.
fn seq_gap(seq: u64, expected: u64) -> String {
    if seq > expected {
        format!(
            "has seq {seq} where {expected} was expected: {} entr{} before it were deleted",
            seq - expected,
            if seq - expected == 1 { "y" } else { "ies" }
        )
    } else {
        format!(
            "has seq {seq} where {expected} was expected: an entry was inserted or the entries were reordered"
        )
    }
}

/// The chain fields of one line.
pub(crate) fn parse_link(line: &[u8]) -> Option<Link<'_>> {
    fast_link(line).or_else(|| serde_json::from_slice(line).ok())
}

pub(crate) fn read_at(f: &mut std::fs::File, at: u64, len: u64, path: &Path) -> Result<Vec<u8>> {
    f.seek(SeekFrom::Start(at)).io("seek", path)?;
    let mut buf = Vec::with_capacity(len as usize);
    Read::by_ref(f)
        .take(len)
        .read_to_end(&mut buf)
        .io("read", path)?;
    Ok(buf)
}

/// The offset of the last `\n` before byte `end`, reading backwards in chunks.
fn last_newline_before(f: &mut std::fs::File, end: u64, path: &Path) -> Result<Option<u64>> {
    let mut hi = end;
    let mut chunk = 8192u64;
    while hi > 0 {
        let lo = hi.saturating_sub(chunk);
        let buf = read_at(f, lo, hi - lo, path)?;
        if let Some(i) = buf.iter().rposition(|&b| b == b'\n') {
            return Ok(Some(lo + i as u64));
        }
        hi = lo;
        chunk = chunk.saturating_mul(4);
    }
    Ok(None)
}

/// The line (without its newline) that ends exactly at byte `end`.
pub(crate) fn line_ending_at(f: &mut std::fs::File, end: u64, path: &Path) -> Result<Vec<u8>> {
    let not_a_line = || Error::Corrupt {
        path: path.to_path_buf(),
        message: format!("no entry ends at byte {end}"),
    };
    if end == 0 || read_at(f, end - 1, 1, path)? != b"\n" {
        return Err(not_a_line());
    }
    let start = last_newline_before(f, end - 1, path)?.map_or(0, |i| i + 1);
    read_at(f, start, end - 1 - start, path)
}
