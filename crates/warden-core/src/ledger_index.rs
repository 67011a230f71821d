//! `.warden/state/ledger-index.json`: a small summary derived from the ledger,
//! so that the everyday commands (`status`, `runs`, `apply`, `undo`) read a
//! bounded amount of the ledger whatever its length (issue 11).
//!
//! Per chain the index holds a checkpoint — the `{seq, hash, offset}` of the
//! last entry it has folded in — and what `warden status` shows: the number of
//! failures and the newest success and failure. It is derived data, never
//! trusted blindly:
//!
//! - before it is used, each chain's checkpoint is checked against the chain:
//!   the line that ends at `offset` must still be there with that `seq` and
//!   hash; otherwise that chain is folded again from its genesis;
//! - only what was appended after the checkpoint is read, and its links are
//!   checked while it is folded in (the same walk as `ledger verify`);
//! - the file carries the sha256 of its own `chains`; a file that does not
//!   parse or whose digest does not match (a crash mid-write: it is rewritten
//!   in place, without an fsync) is ignored and rebuilt.
//!
//! `warden ledger reindex` ([`Ledger::reindex`]) throws it away and rebuilds it
//! from every chain. Integrity is still the ledger's: the guard checks every
//! chain's tail before a write, `warden ledger verify` checks everything.

use crate::digest::Digest;
use crate::error::{IoContext, Result};
use crate::heads::Head;
use crate::ledger::{self, Entry, Ledger, Problem, RunResult};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

pub const INDEX_SCHEMA: &str = "warden.ledger-index/v1";

/// A run as `warden status` names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Brief {
    pub run: String,
    pub time: String,
}

/// What the index knows of one chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainSummary {
    /// The last entry folded in (its `offset` is the chain's length up to and
    /// including it).
    pub head: Head,
    /// Entries whose result is `rolled_back`.
    pub failures: u64,
    /// The applied entry with the greatest run id.
    pub last_success: Option<Brief>,
    /// The rolled-back entry with the greatest run id.
    pub last_failure: Option<Brief>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IndexFile {
    schema: String,
    /// sha256 of the compact JSON of `chains`.
    digest: Digest,
    chains: BTreeMap<String, ChainSummary>,
}

/// The ledger summed over every chain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub entries: u64,
    pub failures: u64,
    pub last_success: Option<Brief>,
    pub last_failure: Option<Brief>,
    /// The first chain problem met while folding (the entries before it are
    /// counted).
    pub problem: Option<Problem>,
}

/// `warden ledger reindex`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "warden ledger reindex report")]
pub struct ReindexReport {
    /// `warden.ledger-reindex/v1`
    pub schema: String,
    /// The index file, repository-relative.
    pub index: String,
    pub entries: u64,
    pub chains: Vec<ReindexChain>,
    /// The first chain problem found; the index then covers the entries
    /// before it, and `warden ledger verify` says more.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<Problem>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ReindexChain {
    pub writer: String,
    pub entries: u64,
}

/// The fields of an entry the summary needs.
#[derive(Deserialize)]
struct Facts {
    run: String,
    time: String,
    result: RunResult,
}

fn chains_digest(chains: &BTreeMap<String, ChainSummary>) -> Option<Digest> {
    serde_json::to_vec(chains).ok().map(|b| Digest::of(&b))
}

/// The index, or `None` when it is missing, unreadable, of another schema, or
/// does not match its own digest: it is then rebuilt.
fn read_index(path: &Path) -> Option<BTreeMap<String, ChainSummary>> {
    let bytes = std::fs::read(path).ok()?;
    let file: IndexFile = serde_json::from_slice(&bytes).ok()?;
    (file.schema == INDEX_SCHEMA && chains_digest(&file.chains) == Some(file.digest))
        .then_some(file.chains)
}

/// Rewrite the index in place, padded with spaces to its old length (no new
/// inode per run, like the heads file); not fsynced. Best effort: an index that
/// was not written, or was torn by a crash, is rebuilt by the next reader.
fn write_index(path: &Path, chains: &BTreeMap<String, ChainSummary>) {
    let Some(digest) = chains_digest(chains) else {
        return;
    };
    let file = IndexFile {
        schema: INDEX_SCHEMA.into(),
        digest,
        chains: chains.clone(),
    };
    let Ok(mut text) = serde_json::to_vec(&file) else {
        return;
    };
    text.push(b'\n');
    if crate::failpoint::hit("index.before_write").is_err() {
        return;
    }
    let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open(path)
    else {
        return;
    };
    let old = f.metadata().map(|m| m.len()).unwrap_or(0);
    if (text.len() as u64) < old {
        text.resize(old as usize, b' ');
    }
    if crate::failpoint::hit("index.torn_write").is_err() {
        // Stands for a crash mid-write: half of the new text over the old.
        let _ = f.write_all(&text[..text.len() / 2]);
        return;
    }
    let _ = f.write_all(&text);
}

fn newer(slot: &mut Option<Brief>, run: &str, time: &str) {
    if slot.as_ref().is_none_or(|b| b.run.as_str() <= run) {
        *slot = Some(Brief {
            run: run.to_string(),
            time: time.to_string(),
        });
    }
}

impl ChainSummary {
    fn genesis(writer: &str) -> Self {
        ChainSummary {
            head: Head {
                seq: 0,
                hash: ledger::genesis(writer),
                offset: Some(0),
            },
            failures: 0,
            last_success: None,
            last_failure: None,
        }
    }

    fn fold(&mut self, line: &[u8]) {
        let Ok(f) = serde_json::from_slice::<Facts>(line) else {
            return;
        };
        match f.result {
            RunResult::Applied => newer(&mut self.last_success, &f.run, &f.time),
            RunResult::RolledBack => {
                self.failures += 1;
                newer(&mut self.last_failure, &f.run, &f.time);
            }
            RunResult::Recorded => {}
        }
    }
}

impl Ledger {
    /// Bring one chain's summary up to the chain's end: check the checkpoint
    /// against the chain (or start from genesis), then fold in what follows,
    /// checking its links. Returns the summary, the first problem, and
    /// whether the summary changed.
    fn refresh_chain(
        &self,
        writer: &str,
        known: Option<ChainSummary>,
    ) -> Result<(ChainSummary, Option<Problem>)> {
        let path = self.chain_path(writer);
        let mut f = std::fs::File::open(&path).io("open", &path)?;
        let len = f.metadata().io("stat", &path)?.len();
        let start = known
            .filter(|k| checkpoint_holds(&mut f, &path, &k.head, len))
            .unwrap_or_else(|| ChainSummary::genesis(writer));
        let offset = start.head.offset.unwrap_or(0);
        if offset == len {
            return Ok((start, None));
        }
        // Streamed in chunks of whole lines, so a rebuild over a long chain
        // needs little memory.
        f.seek(SeekFrom::Start(offset)).io("seek", &path)?;
        let mut reader = Read::by_ref(&mut f).take(len - offset);
        let mut sum = start.clone();
        let mut end = offset;
        let mut n = start.head.seq;
        let mut tip = Some(start.head.hash);
        let mut carry: Vec<u8> = Vec::new();
        let mut walked = Ok(());
        // One buffer, sized to what is left to read (an append folds one
        // entry, not a 4 MiB chunk), at most FOLD_CHUNK.
        let mut chunk = vec![0u8; FOLD_CHUNK.min((len - offset) as usize)];
        loop {
            let got = reader.read(&mut chunk).io("read", &path)?;
            carry.extend_from_slice(&chunk[..got]);
            let whole = if got == 0 {
                carry.len()
            } else {
                match carry.iter().rposition(|&b| b == b'\n') {
                    Some(i) => i + 1,
                    None => continue,
                }
            };
            if whole == 0 {
                break;
            }
            let (seq0, hash0) = (n, tip.unwrap_or(start.head.hash));
            let from = ledger::ChainStart {
                writer,
                head: None,
                seq: seq0,
                hash: hash0,
            };
            walked = ledger::walk_chain(from, &carry[..whole], &mut n, &mut tip, &mut |line| {
                sum.fold(line);
                end += line.len() as u64 + 1;
            });
            carry.drain(..whole);
            if walked.is_err() || got == 0 {
                break;
            }
        }
        sum.head = Head {
            seq: n,
            hash: tip.unwrap_or(start.head.hash),
            offset: Some(end),
        };
        let problem = walked.err().map(|mut p| {
            p.file = self.rel_path(&path);
            p
        });
        Ok((sum, problem))
    }

    /// Every chain's summary, refreshed; the index is rewritten when it
    /// changed. `only` limits the refresh to one writer's chain (the others
    /// are kept as they are in the index).
    fn refreshed(
        &self,
        only: Option<&str>,
        fresh: bool,
    ) -> Result<(BTreeMap<String, ChainSummary>, Option<Problem>)> {
        let path = self.index_path();
        let old = if fresh { None } else { read_index(&path) };
        let mut chains = BTreeMap::new();
        let mut problem = None;
        for writer in self.writers()? {
            let known = old.as_ref().and_then(|o| o.get(&writer)).cloned();
            if only.is_some_and(|w| w != writer) {
                if let Some(k) = known {
                    chains.insert(writer, k);
                }
                continue;
            }
            let (sum, p) = self.refresh_chain(&writer, known)?;
            if problem.is_none() {
                problem = p;
            }
            chains.insert(writer, sum);
        }
        if old.as_ref() != Some(&chains) {
            write_index(&path, &chains);
        }
        Ok((chains, problem))
    }

    /// The ledger summed over every chain, reading only what was appended
    /// since the index was last brought up to date.
    pub fn summary(&self) -> Result<Summary> {
        let (chains, problem) = self.refreshed(None, false)?;
        let mut s = Summary {
            problem,
            ..Summary::default()
        };
        for c in chains.values() {
            s.entries += c.head.seq;
            s.failures += c.failures;
            for (slot, b) in [
                (&mut s.last_success, &c.last_success),
                (&mut s.last_failure, &c.last_failure),
            ] {
                if let Some(b) = b {
                    newer(slot, &b.run, &b.time);
                }
            }
        }
        Ok(s)
    }

    /// After an append to `writer`'s chain: fold the new entries into the
    /// index (best effort; a reader rebuilds what is missing).
    pub(crate) fn index_appended(&self, writer: &str) {
        let _ = self.refreshed(Some(writer), false);
    }

    /// `warden ledger reindex`: rebuild the index from every chain.
    pub fn reindex(&self) -> Result<ReindexReport> {
        let path = self.index_path();
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).io("remove", &path),
        }
        let (chains, problem) = self.refreshed(None, true)?;
        Ok(ReindexReport {
            schema: "warden.ledger-reindex/v1".into(),
            index: self.rel_path(&path),
            entries: chains.values().map(|c| c.head.seq).sum(),
            chains: chains
                .iter()
                .map(|(w, c)| ReindexChain {
                    writer: w.clone(),
                    entries: c.head.seq,
                })
                .collect(),
            problem,
        })
    }

    /// The newest `limit` entries over every chain, newest first (by run id),
    /// reading each chain backwards from its end; `None` reads everything.
    pub fn recent(&self, limit: Option<usize>) -> Result<Vec<Entry>> {
        let mut all = Vec::new();
        for writer in self.writers()? {
            let path = self.chain_path(&writer);
            let Some(mut lines) = RevLines::open(&path)? else {
                continue;
            };
            let mut taken = 0usize;
            while limit.is_none_or(|l| taken < l) {
                let Some(line) = lines.next_line()? else {
                    break;
                };
                all.push(parse_entry(&path, &line)?);
                taken += 1;
            }
        }
        all.sort_by(|a, b| b.run.cmp(&a.run).then(b.seq.cmp(&a.seq)));
        if let Some(l) = limit {
            all.truncate(l);
        }
        Ok(all)
    }

    /// Walk `writer`'s chain backwards from its end, handing each line to
    /// `visit` until it returns true. Returns whether it did. Memory is
    /// bounded by the longest line, whatever the chain's length.
    pub fn scan_back(
        &self,
        writer: &str,
        visit: &mut dyn FnMut(&[u8]) -> Result<bool>,
    ) -> Result<bool> {
        let path = self.chain_path(writer);
        let Some(mut lines) = RevLines::open(&path)? else {
            return Ok(false);
        };
        while let Some(line) = lines.next_line()? {
            if visit(&line)? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

pub(crate) fn parse_entry(path: &Path, line: &[u8]) -> Result<Entry> {
    serde_json::from_slice(line).map_err(|e| crate::error::Error::Corrupt {
        path: path.to_path_buf(),
        message: format!("not a valid ledger entry: {e}"),
    })
}

/// Whether the line ending at `head.offset` is still the entry `head` names.
fn checkpoint_holds(f: &mut std::fs::File, path: &Path, head: &Head, len: u64) -> bool {
    let Some(offset) = head.offset else {
        return false;
    };
    if offset == 0 {
        return head.seq == 0;
    }
    if offset > len {
        return false;
    }
    let Ok(line) = ledger::line_ending_at(f, offset, path) else {
        return false;
    };
    ledger::parse_link(&line).map(|l| l.seq) == Some(head.seq) && Digest::of(&line) == head.hash
}

/// The complete lines of a chain file, last first, read in chunks from the end.
/// A torn last line (no final newline) is skipped.
pub(crate) struct RevLines {
    f: std::fs::File,
    path: PathBuf,
    /// Offset of the first byte of `buf` in the file.
    pos: u64,
    /// Unyielded bytes `[pos, pos + buf.len())`; when not empty, they end
    /// with the newline of the next line to yield.
    buf: Vec<u8>,
    /// Bytes read at a time.
    chunk: u64,
}

const CHUNK: u64 = 64 * 1024;

/// How much of a chain a fold reads at a time.
const FOLD_CHUNK: usize = 4 << 20;

impl RevLines {
    pub(crate) fn open(path: &Path) -> Result<Option<Self>> {
        Self::open_with(path, CHUNK)
    }

    fn open_with(path: &Path, chunk: u64) -> Result<Option<Self>> {
        let mut f = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).io("open", path),
        };
        let len = f.metadata().io("stat", path)?.len();
        let mut end = len;
        if len > 0 && ledger::read_at(&mut f, len - 1, 1, path)? != b"\n" {
            // Torn: start at the last complete line.
            let mut hi = len;
            end = 0;
            while hi > 0 {
                let lo = hi.saturating_sub(chunk);
                let b = ledger::read_at(&mut f, lo, hi - lo, path)?;
                if let Some(i) = b.iter().rposition(|&c| c == b'\n') {
                    end = lo + i as u64 + 1;
                    break;
                }
                hi = lo;
            }
        }
        Ok(Some(RevLines {
            f,
            path: path.to_path_buf(),
            pos: end,
            buf: Vec::new(),
            chunk: chunk.max(1),
        }))
    }

    pub(crate) fn next_line(&mut self) -> Result<Option<Vec<u8>>> {
        loop {
            if self.buf.is_empty() {
                if self.pos == 0 {
                    return Ok(None);
                }
                self.fill()?;
                continue;
            }
            let body = self.buf.len() - 1;
            match self.buf[..body].iter().rposition(|&c| c == b'\n') {
                Some(i) => {
                    let line = self.buf[i + 1..body].to_vec();
                    self.buf.truncate(i + 1);
                    return Ok(Some(line));
                }
                None if self.pos == 0 => {
                    let line = self.buf[..body].to_vec();
                    self.buf.clear();
                    return Ok(Some(line));
                }
                None => self.fill()?,
            }
        }
    }

    /// Prepend the chunk before `pos`.
    fn fill(&mut self) -> Result<()> {
        let lo = self.pos.saturating_sub(self.chunk);
        let mut chunk = ledger::read_at(&mut self.f, lo, self.pos - lo, &self.path)?;
        chunk.extend_from_slice(&self.buf);
        self.buf = chunk;
        self.pos = lo;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lines_of(bytes: &[u8]) -> Vec<Vec<u8>> {
        lines_with(bytes, CHUNK)
    }

    fn lines_with(bytes: &[u8], chunk: u64) -> Vec<Vec<u8>> {
        let mut f = tempfile::NamedTempFile::new().expect("temp");
        std::io::Write::write_all(&mut f, bytes).expect("write");
        let mut r = RevLines::open_with(f.path(), chunk)
            .expect("open")
            .expect("exists");
        let mut out = Vec::new();
        while let Some(l) = r.next_line().expect("line") {
            out.push(l);
        }
        out
    }

    proptest! {
        /// Read backwards, a file gives exactly its complete lines, last
        /// first; a torn last line (no final newline) is not one.
        #[test]
        fn rev_lines_are_the_complete_lines_reversed(
            lines in proptest::collection::vec(proptest::collection::vec(0u8..=255, 0..300), 0..40),
            torn in proptest::collection::vec(0u8..=255, 0..50),
            chunk in 1u64..200,
        ) {
            let lines: Vec<Vec<u8>> = lines
                .into_iter()
                .map(|l| l.into_iter().filter(|b| *b != b'\n').collect())
                .collect();
            let torn: Vec<u8> = torn.into_iter().filter(|b| *b != b'\n').collect();
            let mut bytes = Vec::new();
            for l in &lines {
                bytes.extend_from_slice(l);
                bytes.push(b'\n');
            }
            bytes.extend_from_slice(&torn);
            let mut want = lines.clone();
            want.reverse();
            prop_assert_eq!(lines_with(&bytes, chunk), want.clone());
            prop_assert_eq!(lines_of(&bytes), want);
        }
    }

    #[test]
    fn a_line_longer_than_a_chunk_is_read_whole() {
        let long = vec![b'x'; CHUNK as usize * 3 + 17];
        let mut bytes = b"first\n".to_vec();
        bytes.extend_from_slice(&long);
        bytes.extend_from_slice(b"\nlast\n");
        assert_eq!(
            lines_of(&bytes),
            vec![b"last".to_vec(), long, b"first".to_vec()]
        );
    }
}
