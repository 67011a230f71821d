//! The ledger (SPEC §3.5, G2): append-only JSONL under `.ledger/runs/`, one
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
    pub changes: Vec<ChangeSummary>,
    pub counts: Counts,
    pub result: RunResult,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
    /// For an undo: the run it undid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undoes: Option<String>,
    pub rollback: Option<RollbackHandle>,
    /// Command-specific facts of a recorded run (e.g. what a sync brought in
    /// from where). Absent for apply and undo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

pub fn genesis(writer: &str) -> Digest {
    Digest::of(format!("{LEDGER_SCHEMA_ID} genesis {writer}").as_bytes())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    pub seq: u64,
    pub hash: Digest,
}

/// The first problem `verify` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Problem {
    /// The chain file, repository-relative.
    pub file: String,
    pub writer: String,
    /// 1-based line (= expected seq) of the first bad entry.
    pub line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
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
struct Link<'a> {
    seq: u64,
    #[serde(borrow)]
    prev: &'a str,
    #[serde(borrow)]
    run: Option<&'a str>,
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
    pub fn append(&self, writer: &str, mut entry: Entry) -> Result<Entry> {
        let path = self.chain_path(writer);
        let (seq, prev) = match self.tip(writer)? {
            Some((e, h)) => (e.seq + 1, h),
            None => (1, genesis(writer)),
        };
        entry.schema = LEDGER_SCHEMA_ID.into();
        entry.seq = seq;
        entry.prev = prev;
        entry.writer = writer.into();
        let mut line = serde_json::to_vec(&entry).map_err(|e| Error::Internal(e.to_string()))?;
        let hash = Digest::of(&line);
        line.push(b'\n');
        std::fs::create_dir_all(&self.dir).io("create", &self.dir)?;
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .io("open", &path)?;
        f.write_all(&line).io("append to", &path)?;
        f.sync_data().io("fsync", &path)?;
        // Not fsynced: a stale head is only behind, never wrong.
        let mut heads = self.read_heads();
        heads.insert(writer.to_string(), Head { seq, hash });
        self.write_heads(&heads);
        Ok(entry)
    }

    /// Append several entries to `writer`'s chain in one write and one fsync
    /// (group commit). They are chained in order, exactly as if appended one by
    /// one. A crash mid-write leaves a torn last line that recovery cuts, so a
    /// prefix of the batch may survive; each entry is complete or absent.
    pub fn append_many(&self, writer: &str, entries: Vec<Entry>) -> Result<Vec<Entry>> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let path = self.chain_path(writer);
        let (mut seq, mut prev) = match self.tip(writer)? {
            Some((e, h)) => (e.seq + 1, h),
            None => (1, genesis(writer)),
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
        let mut heads = self.read_heads();
        heads.insert(
            writer.to_string(),
            Head {
                seq: seq - 1,
                hash: prev,
            },
        );
        self.write_heads(&heads);
        Ok(written)
    }

    /// Cut a torn last line (crash mid-append) off `writer`'s chain. Returns
    /// whether something was cut. Only recovery calls this, under the lock.
    pub fn cut_torn_tail(&self, writer: &str) -> Result<bool> {
        let path = self.chain_path(writer);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e).io("read", &path),
        };
        if bytes.is_empty() || bytes.last() == Some(&b'\n') {
            return Ok(false);
        }
        let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let f = OpenOptions::new()
            .write(true)
            .open(&path)
            .io("open", &path)?;
        f.set_len(keep as u64).io("truncate", &path)?;
        f.sync_all().io("fsync", &path)?;
        Ok(true)
    }

    fn read_heads(&self) -> BTreeMap<String, Head> {
        std::fs::read(&self.heads)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn write_heads(&self, heads: &BTreeMap<String, Head>) {
        if let Ok(bytes) = serde_json::to_vec_pretty(heads) {
            // Best effort, written in place (no new inode per run): the heads
            // file only strengthens truncation detection; a torn one is ignored.
            let _ = std::fs::write(&self.heads, bytes);
        }
    }

    /// Verify every chain against itself and against the heads this clone has
    /// seen. On success, remember the new tips.
    pub fn verify(&self) -> Result<VerifyReport> {
        let heads = self.read_heads();
        let mut report = VerifyReport {
            schema: "warden.ledger-verify/v1".into(),
            ok: true,
            entries: 0,
            bytes: 0,
            chains: Vec::new(),
            problem: None,
        };
        let mut tips = BTreeMap::new();
        let writers = self.writers()?;
        for writer in &writers {
            let path = self.chain_path(writer);
            let bytes = std::fs::read(&path).io("read", &path)?;
            report.bytes += bytes.len() as u64;
            let (chain, problem) = verify_chain(writer, &bytes, heads.get(writer));
            report.entries += chain.entries;
            if let Some((seq, hash)) = chain.tip.map(|t| (chain.entries, t)) {
                tips.insert(writer.clone(), Head { seq, hash });
            }
            report.chains.push(chain);
            if let Some(mut p) = problem
                && report.problem.is_none()
            {
                p.file = self.rel(&path);
                report.problem = Some(p);
            }
        }
        for (writer, head) in &heads {
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
            let mut merged = heads;
            for (w, h) in tips {
                if merged.get(&w).is_none_or(|old| old.seq <= h.seq) {
                    merged.insert(w, h);
                }
            }
            self.write_heads(&merged);
        }
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

    /// The entry of a run. Accepts a unique prefix of the run id (at least 6 characters).
    pub fn find_run(&self, run: &str) -> Result<Option<Entry>> {
        let run = run.to_ascii_uppercase();
        let mut hits: Vec<Entry> = self
            .entries()?
            .into_iter()
            .filter(|e| e.run.starts_with(&run))
            .collect();
        if hits.len() > 1 && hits.iter().any(|e| e.run != hits[0].run) {
            return Err(Error::invalid(
                "(command line)",
                "RUN",
                format!("\"{run}\" matches {} runs", hits.len()),
                Some("give more characters of the run id (see `warden runs`)".into()),
            ));
        }
        if run.len() < 6 && hits.first().is_some_and(|e| e.run != run) {
            return Ok(None);
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
    let problem = walk_chain(writer, bytes, head, &mut n, &mut tip).err();
    let report = ChainReport {
        writer: writer.into(),
        entries: n,
        tip,
    };
    (report, problem)
}

/// Walk a chain's lines, counting good entries into `n` and their last hash
/// into `tip`, until the first problem.
fn walk_chain(
    writer: &str,
    bytes: &[u8],
    head: Option<&Head>,
    n: &mut u64,
    tip: &mut Option<Digest>,
) -> Result<(), Problem> {
    let mut expected_prev = genesis(writer);
    let mut prev_run: Option<String> = None;
    let problem = |line: u64, run: Option<String>, message: String| Problem {
        file: String::new(),
        writer: writer.to_string(),
        line,
        run,
        message,
    };
    let mut rest = bytes;
    while !rest.is_empty() {
        let (line, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => {
                let p = problem(
                    *n + 1,
                    None,
                    "the last entry is incomplete (no final newline): truncated or torn".into(),
                );
                return Err(p);
            }
        };
        rest = next;
        let expect_seq = *n + 1;
        let link: Link = match fast_link(line).map_or_else(|| serde_json::from_slice(line), Ok) {
            Ok(l) => l,
            Err(e) => {
                let p = problem(expect_seq, None, format!("not a valid ledger entry ({e})"));
                return Err(p);
            }
        };
        if link.seq != expect_seq {
            let msg = if link.seq > expect_seq {
                format!(
                    "has seq {} where {expect_seq} was expected: {} entr{} before it were deleted",
                    link.seq,
                    link.seq - expect_seq,
                    if link.seq - expect_seq == 1 {
                        "y"
                    } else {
                        "ies"
                    }
                )
            } else {
                format!(
                    "has seq {} where {expect_seq} was expected: an entry was inserted or the entries were reordered",
                    link.seq
                )
            };
            let p = problem(expect_seq, link.run.map(str::to_string), msg);
            return Err(p);
        }
        if Digest::parse_hex(link.prev) != Some(expected_prev) {
            // The link of this entry does not match the previous line: the
            // previous entry was edited, or this one was forged.
            let p = if *n == 0 {
                problem(1, link.run.map(str::to_string), "does not start from the chain's genesis: it was edited or the chain was replaced".into())
            } else {
                problem(
                    *n,
                    prev_run.clone(),
                    format!("was edited: entry {expect_seq}'s link to it no longer matches"),
                )
            };
            return Err(p);
        }
        let hash = Digest::of(line);
        if let Some(h) = head
            && h.seq == expect_seq
            && h.hash != hash
        {
            let p = problem(
                expect_seq,
                link.run.map(str::to_string),
                "was edited: it differs from the entry this clone recorded".into(),
            );
            return Err(p);
        }
        expected_prev = hash;
        *tip = Some(hash);
        prev_run = link.run.map(str::to_string);
        *n = expect_seq;
    }
    if let Some(h) = head
        && h.seq > *n
    {
        let p = problem(
            *n + 1,
            None,
            format!(
                "is missing: the chain ends at entry {n} but this clone has seen {} entries: it was truncated",
                h.seq
            ),
        );
        return Err(p);
    }
    Ok(())
}
