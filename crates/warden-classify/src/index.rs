//! `.warden/state/placements-index.json`: the placement history by path and
//! digest, derived from the ledger, so that `warden classify`, `warden
//! watch` and `warden where` do not read the whole ledger.
//!
//! The index holds one small row per decision (run, time, path, target,
//! sha256, decision path, a [`history::fingerprint`] of the decision, and
//! where its ledger entry lies in its chain), the map of undone runs, and
//! per chain a checkpoint `{seq, hash, offset}`: the last entry folded in.
//! The full decision (candidates, scores, reason) stays in the ledger; a
//! query reads only the entries of the rows it selects.
//!
//! It is derived data, never trusted blindly (like the core's
//! `ledger-index.json`):
//!
//! - before use, each chain's checkpoint is checked against the chain: the
//!   line that ends at `offset` must still be there with that `seq` and
//!   sha256; a chain that was rewritten, cut or removed makes it rebuild
//!   from every chain (a chain it has not seen yet is read from its start);
//! - only what was appended after the checkpoint is read and folded in;
//! - the file carries the sha256 of its own body; a file that does not parse,
//!   is of another schema or does not match its digest is rebuilt;
//! - a row whose ledger line no longer holds its decision (the index is
//!   stale in a way the checkpoints did not show) makes the query rebuild
//!   the index and ask again.
//!
//! It is written with a temporary file and a rename (no fsync: a lost write
//! is rebuilt by the next reader), under `.warden/state/`, which git ignores.

use crate::IoContext;
use crate::history::{self, Placement, View, WhereQuery, WhereReport};
use crate::score::DecisionPath;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{BufRead, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use warden_core::ledger::Entry;
use warden_core::{Digest, Error, Repo, Result};

pub const INDEX_SCHEMA: &str = "warden.placements-index/v1";
pub const INDEX_FILE: &str = "placements-index.json";

/// The last entry of a chain folded into the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub seq: u64,
    /// sha256 of that entry's line (without its newline), as the chain links it.
    pub hash: Digest,
    /// Bytes of the chain up to and including that line's newline.
    pub offset: u64,
}

/// One decision: what a query selects by, and where the decision is.
///
/// The index grows with the history and the watcher keeps it in memory, so a
/// row is kept small: the run, time and chain, which every decision of one
/// ledger entry has in common, are one shared string per entry
/// ([`Body::share`]), and the paths are boxed (no spare capacity). The file's
/// JSON is the same as plain strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    #[serde(with = "shared")]
    pub run: Arc<str>,
    pub seq: u64,
    #[serde(with = "shared")]
    pub time: Arc<str>,
    pub path: Box<str>,
    pub target: Option<Box<str>>,
    pub sha256: Digest,
    pub decision_path: DecisionPath,
    /// [`history::fingerprint`] of the decision.
    pub key: Digest,
    /// The chain (writer) and the byte range of the entry's line in it.
    #[serde(with = "shared")]
    pub writer: Arc<str>,
    pub at: u64,
    pub len: u64,
    /// The decision's position among the entry's placements.
    pub i: u32,
    /// Whether the decision moved or quarantined the file (it had an
    /// action). Written only when true; a row of an index written before
    /// it reads as false, which [`crate::latest::LatestIndex`] treats as
    /// "keep" (the safe side).
    #[serde(default, skip_serializing_if = "is_false")]
    pub acted: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A shared string, written and read as a plain JSON string.
mod shared {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::sync::Arc;

    pub fn serialize<S: Serializer>(v: &Arc<str>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Arc<str>, D::Error> {
        String::deserialize(d).map(Arc::from)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Body {
    pub(crate) chains: BTreeMap<String, Checkpoint>,
    /// Undone run → the undo run.
    pub(crate) undone: BTreeMap<String, String>,
    pub(crate) rows: Vec<Row>,
}

#[derive(Serialize, Deserialize)]
struct IndexFile {
    schema: String,
    digest: Digest,
    body: Body,
}

/// Where [`PlacementIndex::load_with`] starts from.
enum Start {
    /// Nothing: every chain from its start.
    Fresh,
    /// The index file.
    File,
    /// An index held in memory.
    Memory(Body),
}

/// The placement index, brought up to the ledger's end.
#[derive(Debug, Clone)]
pub struct PlacementIndex {
    body: Body,
    /// Whether [`PlacementIndex::load`] rebuilt it from the chains' start.
    pub rebuilt: bool,
}

/// Where the index lives.
pub fn index_path(repo: &Repo) -> PathBuf {
    repo.layout.state_dir().join(INDEX_FILE)
}

/// The bytes of a body's JSON, streamed into sha256 (never held whole).
fn body_digest(body: &Body) -> Option<Digest> {
    crate::json_digest(body).ok()
}

fn read_index(path: &Path) -> Option<Body> {
    let bytes = std::fs::read(path).ok()?;
    let file: IndexFile = serde_json::from_slice(&bytes).ok()?;
    drop(bytes);
    let mut body = (file.schema == INDEX_SCHEMA && body_digest(&file.body) == Some(file.digest))
        .then_some(file.body)?;
    body.share();
    Some(body)
}

/// Best effort: a temp file beside it, then a rename. Streamed from the
/// body (no copy of it, no buffer of the whole file).
fn write_index(path: &Path, body: &Body) {
    use std::io::Write;
    #[derive(Serialize)]
    struct IndexRef<'a> {
        schema: &'a str,
        digest: Digest,
        body: &'a Body,
    }
    let Some(digest) = body_digest(body) else {
        return;
    };
    let file = IndexRef {
        schema: INDEX_SCHEMA,
        digest,
        body,
    };
    let tmp = path.with_file_name(format!("{INDEX_FILE}.{}.tmp", std::process::id()));
    let written = std::fs::File::create(&tmp).is_ok_and(|f| {
        let mut w = std::io::BufWriter::with_capacity(64 * 1024, f);
        serde_json::to_writer(&mut w, &file).is_ok() && w.flush().is_ok()
    });
    if !written || std::fs::rename(&tmp, path).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// The sequence number of a ledger line.
fn seq_of(line: &[u8]) -> Option<u64> {
    #[derive(Deserialize)]
    struct Link {
        seq: u64,
    }
    serde_json::from_slice::<Link>(line).ok().map(|l| l.seq)
}

/// Whether the line of `chain` that ends at `cp.offset` is still the entry
/// `cp` names.
pub(crate) fn holds(chain: &Path, cp: &Checkpoint) -> Result<bool> {
    if cp.offset == 0 {
        return Ok(cp.seq == 0);
    }
    let mut f = match std::fs::File::open(chain) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e).io("open", chain),
    };
    let len = f.metadata().io("inspect", chain)?.len();
    if cp.offset > len {
        return Ok(false);
    }
    // Read back from the offset until the newline before the line.
    let mut back = 4096u64;
    loop {
        let start = cp.offset.saturating_sub(back);
        f.seek(SeekFrom::Start(start)).io("seek", chain)?;
        let mut buf = vec![0u8; (cp.offset - start) as usize];
        f.read_exact(&mut buf).io("read", chain)?;
        if buf.last() != Some(&b'\n') {
            return Ok(false);
        }
        let body = &buf[..buf.len() - 1];
        let line = match body.iter().rposition(|&b| b == b'\n') {
            Some(i) => &body[i + 1..],
            None if start == 0 => body,
            None => {
                back = back.saturating_mul(4);
                continue;
            }
        };
        return Ok(Digest::of(line) == cp.hash && seq_of(line) == Some(cp.seq));
    }
}

fn corrupt(path: &Path, message: String) -> Error {
    Error::Corrupt {
        path: path.to_path_buf(),
        message,
    }
}

impl Body {
    /// One string for the run, time and chain that rows share (read from
    /// the file, each row has its own copy): rows are in run order, so a
    /// row repeats the one before it.
    fn share(&mut self) {
        let mut last: Option<[Arc<str>; 3]> = None;
        for r in &mut self.rows {
            let fields = [&mut r.run, &mut r.time, &mut r.writer];
            if let Some(l) = &last {
                for (f, l) in fields.into_iter().zip(l) {
                    if *f == *l {
                        *f = l.clone();
                    }
                }
            }
            last = Some([r.run.clone(), r.time.clone(), r.writer.clone()]);
        }
    }

    /// Fold the complete lines of `writer`'s chain after `from` into the
    /// body; returns the new checkpoint.
    pub(crate) fn fold_chain(
        &mut self,
        root: &Path,
        chain: &Path,
        writer: &str,
        from: Checkpoint,
    ) -> Result<Checkpoint> {
        let writer: Arc<str> = self
            .rows
            .iter()
            .rev()
            .find(|r| &*r.writer == writer)
            .map_or_else(|| Arc::from(writer), |r| r.writer.clone());
        let mut f = std::fs::File::open(chain).io("open", chain)?;
        f.seek(SeekFrom::Start(from.offset)).io("seek", chain)?;
        let mut r = std::io::BufReader::with_capacity(256 * 1024, f);
        let mut cp = from;
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = r.read_until(b'\n', &mut line).io("read", chain)?;
            if n == 0 || line.last() != Some(&b'\n') {
                // The end, or a torn last line (left for the ledger's recovery).
                break;
            }
            let at = cp.offset;
            let text = &line[..line.len() - 1];
            if text.is_empty() {
                cp.offset += 1;
                continue;
            }
            let e: Entry = serde_json::from_slice(text).map_err(|e| {
                corrupt(
                    chain,
                    format!(
                        "byte {at}: not a valid ledger entry: {e} (fix: `warden ledger verify`)"
                    ),
                )
            })?;
            if let Some((undone, by)) = history::undo_of(&e) {
                self.undone.insert(undone, by);
            }
            let mut shared: Option<(Arc<str>, Arc<str>)> = None;
            for (i, p) in history::entry_placements(&e, root).into_iter().enumerate() {
                let (run, time) = match &shared {
                    Some((r, t)) if **r == *p.run && **t == *p.time => (r.clone(), t.clone()),
                    _ => {
                        let rt: (Arc<str>, Arc<str>) = (p.run.into(), p.time.into());
                        shared = Some(rt.clone());
                        rt
                    }
                };
                self.rows.push(Row {
                    run,
                    seq: e.seq,
                    time,
                    key: history::fingerprint(&p.decision),
                    path: p.decision.path.into(),
                    target: p.decision.target.map(Into::into),
                    sha256: p.decision.sha256,
                    decision_path: p.decision.decision_path,
                    writer: writer.clone(),
                    at,
                    len: text.len() as u64,
                    i: i as u32,
                    acted: p.decision.action.is_some(),
                });
            }
            cp = Checkpoint {
                seq: e.seq,
                hash: Digest::of(text),
                offset: at + line.len() as u64,
            };
        }
        Ok(cp)
    }
}

impl PlacementIndex {
    /// The index, checked against every chain and brought up to date (or
    /// rebuilt); rewritten when it changed.
    pub fn load(repo: &Repo) -> Result<PlacementIndex> {
        Self::load_with(repo, Start::File)
    }

    /// Throw the index away and rebuild it from every chain.
    pub fn rebuild(repo: &Repo) -> Result<PlacementIndex> {
        Self::load_with(repo, Start::Fresh)
    }

    /// This index, kept in memory by a long-running caller (the watcher),
    /// checked against every chain like [`PlacementIndex::load`] and brought
    /// up to date by folding in only what was appended since: the file is
    /// not read and parsed again for every batch.
    pub fn refresh(self, repo: &Repo) -> Result<PlacementIndex> {
        Self::load_with(repo, Start::Memory(self.body))
    }

    fn load_with(repo: &Repo, start: Start) -> Result<PlacementIndex> {
        let path = index_path(repo);
        let ledger = repo.ledger();
        let writers = ledger.writers()?;
        let old = match start {
            Start::Fresh => None,
            Start::File => read_index(&path),
            Start::Memory(b) => Some(b),
        };
        // Usable only when every chain it knows still holds its checkpoint.
        let mut usable = match &old {
            Some(b) => b.chains.keys().all(|w| writers.contains(w)),
            None => false,
        };
        if let Some(b) = old.as_ref().filter(|_| usable) {
            for (w, cp) in &b.chains {
                if !holds(&ledger.chain_path(w), cp)? {
                    usable = false;
                    break;
                }
            }
        }
        let rebuilt = !usable;
        let mut body = match old {
            Some(b) if usable => b,
            _ => Body::default(),
        };
        let mut changed = false;
        for w in &writers {
            let known = body.chains.get(w).copied();
            let from = known.unwrap_or(Checkpoint {
                seq: 0,
                hash: warden_core::ledger::genesis(w),
                offset: 0,
            });
            let cp = body.fold_chain(repo.root(), &ledger.chain_path(w), w, from)?;
            changed |= known != Some(cp);
            body.chains.insert(w.clone(), cp);
        }
        if changed || rebuilt {
            // The ledger's order (run, then seq, then chain and place). The
            // key is unique, so an unstable sort gives the same order without
            // the stable sort's buffer of half the rows.
            body.rows.sort_unstable_by(|a, b| {
                (&a.run, a.seq, &a.writer, a.at, a.i).cmp(&(&b.run, b.seq, &b.writer, b.at, b.i))
            });
            write_index(&path, &body);
        }
        Ok(PlacementIndex { body, rebuilt })
    }

    /// Its body, to keep less of it ([`crate::latest::LatestIndex`]).
    pub(crate) fn into_body(self) -> Body {
        self.body
    }

    /// Every row, oldest first.
    pub fn rows(&self) -> &[Row] {
        &self.body.rows
    }

    /// The run that undid `run`, if any.
    pub fn undone_by(&self, run: &str) -> Option<&String> {
        self.body.undone.get(run)
    }

    /// The latest decision still in force for each (path, sha256), as its
    /// fingerprint ([`history::latest`] without reading the ledger).
    pub fn latest(&self) -> BTreeMap<(String, Digest), Digest> {
        let mut m = BTreeMap::new();
        for r in self
            .body
            .rows
            .iter()
            .filter(|r| self.undone_by(&r.run).is_none())
        {
            m.insert((r.path.to_string(), r.sha256), r.key);
        }
        m
    }

    /// [`PlacementIndex::latest`] for the given (path, sha256) pairs only
    /// (a batch's files): no map of the whole history is built.
    pub fn latest_of(
        &self,
        wanted: &std::collections::BTreeSet<(&str, Digest)>,
    ) -> BTreeMap<(String, Digest), Digest> {
        let mut m = BTreeMap::new();
        for r in &self.body.rows {
            if wanted.contains(&(&*r.path, r.sha256)) && self.undone_by(&r.run).is_none() {
                m.insert((r.path.to_string(), r.sha256), r.key);
            }
        }
        m
    }

    /// The decisions of the selected rows, read from their ledger entries
    /// (each entry once). `None` when a row no longer matches its entry.
    fn fetch(&self, repo: &Repo, picked: &[usize]) -> Result<Option<Vec<Placement>>> {
        let ledger = repo.ledger();
        let mut cache: BTreeMap<(String, u64), Vec<Placement>> = BTreeMap::new();
        let mut out = Vec::with_capacity(picked.len());
        for &k in picked {
            let r = &self.body.rows[k];
            let key = (r.writer.to_string(), r.at);
            if !cache.contains_key(&key) {
                let chain = ledger.chain_path(&r.writer);
                let mut f = std::fs::File::open(&chain).io("open", &chain)?;
                f.seek(SeekFrom::Start(r.at)).io("seek", &chain)?;
                let mut buf = vec![0u8; r.len as usize];
                if f.read_exact(&mut buf).is_err() {
                    return Ok(None);
                }
                let Ok(e) = serde_json::from_slice::<Entry>(&buf) else {
                    return Ok(None);
                };
                if *e.run != *r.run {
                    return Ok(None);
                }
                cache.insert(key.clone(), history::entry_placements(&e, repo.root()));
            }
            let Some(mut p) = cache.get(&key).and_then(|v| v.get(r.i as usize)).cloned() else {
                return Ok(None);
            };
            if *p.decision.path != *r.path || p.decision.sha256 != r.sha256 {
                return Ok(None);
            }
            p.undone_by = self.undone_by(&r.run).cloned();
            out.push(p);
        }
        Ok(Some(out))
    }

    /// Answer `warden where`: select rows by the query, then read only
    /// their entries. A stale row rebuilds the index and asks again.
    pub fn query(repo: &Repo, q: &WhereQuery) -> Result<WhereReport> {
        let mut idx = Self::load(repo)?;
        for attempt in 0..2 {
            let picked = history::select(idx.rows(), Row::view, q);
            if let Some(found) = idx.fetch(repo, &picked)? {
                return Ok(WhereReport::new(q, found));
            }
            if attempt == 0 {
                idx = Self::rebuild(repo)?;
            }
        }
        Err(corrupt(
            &index_path(repo),
            "the placement index does not match the ledger even after a rebuild (fix: `warden ledger verify`)".into(),
        ))
    }
}

impl Row {
    fn view(&self) -> View<'_> {
        View {
            path: &self.path,
            target: self.target.as_deref(),
            sha256: self.sha256,
            decision_path: self.decision_path,
            time: &self.time,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(run: &str, path: &str) -> Row {
        Row {
            run: run.into(),
            seq: 1,
            time: "2026-11-29T00:00:00Z".into(),
            path: path.into(),
            target: Some(format!("modules/{path}").into()),
            sha256: Digest::of(path.as_bytes()),
            decision_path: DecisionPath::ClearWinner,
            key: Digest::of(b"key"),
            writer: "W".into(),
            at: 0,
            len: 1,
            i: 0,
            acted: false,
        }
    }

    #[test]
    fn rows_read_back_from_the_file_share_their_run_time_and_chain() {
        let body = Body {
            rows: vec![
                row("R1", "a"),
                row("R1", "b"),
                row("R1", "c"),
                row("R2", "d"),
            ],
            ..Body::default()
        };
        let text = serde_json::to_string(&body).expect("json");
        assert!(
            text.contains(r#""run":"R1","seq":1,"time":"2026-11-29T00:00:00Z","path":"a""#),
            "plain strings in the file: {text}"
        );
        let mut back: Body = serde_json::from_str(&text).expect("parse");
        assert_eq!(back, body);
        assert!(!Arc::ptr_eq(&back.rows[0].run, &back.rows[2].run));
        back.share();
        assert_eq!(back, body, "sharing changes no value");
        let r = &back.rows;
        assert!(Arc::ptr_eq(&r[0].run, &r[2].run) && !Arc::ptr_eq(&r[2].run, &r[3].run));
        assert!(Arc::ptr_eq(&r[0].time, &r[3].time) && Arc::ptr_eq(&r[0].writer, &r[3].writer));
    }
}
