//! The watcher's memory of the placement history: for each (path, sha256)
//! only the latest decision still in force, as its fingerprint.
//!
//! A batch needs no more than that: whether a decision about one of its
//! files is new ([`crate::run::new_decisions`]). Keeping the whole
//! [`PlacementIndex`] (one row per decision, with its paths, run and place
//! in the ledger) made the watcher grow by a few hundred bytes per file
//! seen; a [`LatestIndex`] keeps one fixed 72-byte record per (path,
//! sha256) — a digest of the pair, the fingerprint, and which ledger entry
//! and position it came from — plus one small record per ledger entry that
//! holds decisions (a batch's run). The placement index file is not
//! rewritten per batch either: `warden where` and `warden classify` fold in
//! what the watcher's runs added the next time they load it.
//!
//! It answers exactly what [`PlacementIndex::latest_of`] answers (a
//! property test checks it against a fresh full load over random
//! histories):
//!
//! - it starts from [`PlacementIndex::load`] (checked and brought up to
//!   date), keeps the latest row of each pair and drops the rows;
//! - [`LatestIndex::refresh`] checks every chain's checkpoint like the
//!   placement index does, folds in only the lines appended since, and
//!   keeps a new row when it comes later in the ledger's order than the
//!   one it has;
//! - an undo of a run it holds decisions of (the decision before it would
//!   be in force again, and that one was not kept), a chain rewritten, cut
//!   or removed, or a new chain that is not empty at its start: it starts
//!   again from [`PlacementIndex::load`].

use crate::index::{Body, Checkpoint, PlacementIndex, Row, holds};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use warden_core::{Digest, Repo, Result};

/// What a batch asks of the placement history: the latest decision still in
/// force for each of its (path, sha256) pairs, as its fingerprint.
pub trait LatestOf {
    fn latest_of(&self, wanted: &BTreeSet<(&str, Digest)>) -> BTreeMap<(String, Digest), Digest>;
}

impl LatestOf for PlacementIndex {
    fn latest_of(&self, wanted: &BTreeSet<(&str, Digest)>) -> BTreeMap<(String, Digest), Digest> {
        PlacementIndex::latest_of(self, wanted)
    }
}

/// A ledger entry that holds decisions: where its rows sort.
#[derive(Debug, Clone, PartialEq, Eq)]
struct EntryAt {
    run: Arc<str>,
    seq: u64,
    writer: Arc<str>,
    at: u64,
}

/// The latest decision of one (path, sha256): 72 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Latest {
    /// The decision's fingerprint.
    key: Digest,
    /// Its ledger entry (an index into [`LatestIndex::entries`]).
    entry: u32,
    /// Its position among the entry's decisions.
    i: u32,
}

/// The latest decision of every (path, sha256), without the rows.
#[derive(Debug, Clone)]
pub struct LatestIndex {
    chains: BTreeMap<String, Checkpoint>,
    /// Undone run → the undo run.
    undone: BTreeMap<String, String>,
    entries: Vec<EntryAt>,
    /// The runs of `entries` (an undo of one of them starts again).
    runs: BTreeSet<Arc<str>>,
    latest: HashMap<Digest, Latest>,
    /// Whether the last load or refresh started again from the placement index.
    pub reloaded: bool,
}

/// The map's key for a (path, sha256): the sha256 of the path, a NUL
/// (which no repository path holds) and the file's digest.
fn pair_key(path: &str, sha256: &Digest) -> Digest {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    h.update(path.as_bytes());
    h.update([0u8]);
    h.update(sha256.0);
    Digest(h.finalize().into())
}

impl LatestIndex {
    /// From the placement index, checked and brought up to date.
    pub fn load(repo: &Repo) -> Result<LatestIndex> {
        let idx = PlacementIndex::load(repo)?;
        let mut out = LatestIndex {
            chains: BTreeMap::new(),
            undone: BTreeMap::new(),
            entries: Vec::new(),
            runs: BTreeSet::new(),
            latest: HashMap::new(),
            reloaded: true,
        };
        let body = idx.into_body();
        out.chains = body.chains;
        out.undone = body.undone;
        out.add_rows(body.rows);
        out.latest.shrink_to_fit();
        Ok(out)
    }

    /// Bring it up to the ledger's end, reading only what was appended since.
    pub fn refresh(mut self, repo: &Repo) -> Result<LatestIndex> {
        let ledger = repo.ledger();
        let writers = ledger.writers()?;
        if !self.chains.keys().all(|w| writers.contains(w)) {
            return Self::load(repo);
        }
        for (w, cp) in &self.chains {
            if !holds(&ledger.chain_path(w), cp)? {
                return Self::load(repo);
            }
        }
        let mut new = Body::default();
        for w in &writers {
            let from = self.chains.get(w).copied().unwrap_or(Checkpoint {
                seq: 0,
                hash: warden_core::ledger::genesis(w),
                offset: 0,
            });
            let cp = new.fold_chain(repo.root(), &ledger.chain_path(w), w, from)?;
            new.chains.insert(w.clone(), cp);
        }
        if new.undone.keys().any(|r| self.runs.contains(r.as_str())) {
            return Self::load(repo);
        }
        self.chains = new.chains;
        self.undone.extend(new.undone);
        new.rows.sort_unstable_by(|a, b| {
            (&a.run, a.seq, &a.writer, a.at, a.i).cmp(&(&b.run, b.seq, &b.writer, b.at, b.i))
        });
        self.add_rows(new.rows);
        self.reloaded = false;
        Ok(self)
    }

    /// Fold rows in the ledger's order: a row of a run not undone replaces
    /// the pair's latest when it comes later.
    fn add_rows(&mut self, rows: Vec<Row>) {
        for r in rows {
            if self.undone.contains_key(&*r.run) {
                continue;
            }
            let at = EntryAt {
                run: r.run,
                seq: r.seq,
                writer: r.writer,
                at: r.at,
            };
            if self.entries.last() != Some(&at) {
                self.runs.insert(at.run.clone());
                self.entries.push(at);
            }
            let row = Latest {
                key: r.key,
                entry: (self.entries.len() - 1) as u32,
                i: r.i,
            };
            let pair = pair_key(&r.path, &r.sha256);
            match self.latest.get(&pair).copied() {
                Some(old) if self.order(old, row) == Ordering::Greater => {}
                _ => {
                    self.latest.insert(pair, row);
                }
            }
        }
    }

    /// The ledger's order of two decisions (run, seq, chain, place, position).
    fn order(&self, a: Latest, b: Latest) -> Ordering {
        let (ea, eb) = (
            &self.entries[a.entry as usize],
            &self.entries[b.entry as usize],
        );
        (&ea.run, ea.seq, &ea.writer, ea.at, a.i).cmp(&(&eb.run, eb.seq, &eb.writer, eb.at, b.i))
    }

    /// How many (path, sha256) pairs it holds.
    pub fn len(&self) -> usize {
        self.latest.len()
    }

    pub fn is_empty(&self) -> bool {
        self.latest.is_empty()
    }
}

impl LatestOf for LatestIndex {
    fn latest_of(&self, wanted: &BTreeSet<(&str, Digest)>) -> BTreeMap<(String, Digest), Digest> {
        wanted
            .iter()
            .filter_map(|(p, d)| {
                let l = self.latest.get(&pair_key(p, d))?;
                Some(((p.to_string(), *d), l.key))
            })
            .collect()
    }
}
