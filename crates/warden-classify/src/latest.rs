//! The watcher's memory of the placement history: for each (path, sha256)
//! whose latest decision in force left the file where it was (no action:
//! ambiguous, already in its module), that decision's fingerprint.
//!
//! A batch needs no more: whether a decision about one of its files is new
//! ([`crate::run::new_decisions`]). A decision with an action is recorded
//! whatever came before, and one without is compared with the latest in
//! force, whose fingerprint covers its action: when the latest moved or
//! quarantined the file, the two differ whether it is kept or not. So a
//! pair whose latest decision acted is not kept, and in a burst of files
//! that are all placed, nothing per file is. Keeping the whole
//! [`PlacementIndex`] (one row per decision, with its paths, run and place
//! in the ledger) made the watcher grow by a few hundred bytes per file
//! seen; a kept pair here is two digests (64 bytes in the map), and nothing
//! is kept per run. The placement index file
//! is not rewritten per batch either: `warden where` and `warden classify`
//! fold in what the watcher's runs added the next time they load it.
//!
//! It gives the same answers as [`PlacementIndex::latest_of`] for every
//! decision a batch asks about (a property test checks it against the whole
//! ledger over random histories):
//!
//! - it starts from [`PlacementIndex::load`] (checked and brought up to
//!   date), folds its rows in order and drops them (rows of an index file
//!   written before rows recorded whether they acted count as "kept");
//! - [`LatestIndex::refresh`] checks every chain's checkpoint like the
//!   placement index does and folds in only the lines appended since, in
//!   the ledger's order;
//! - it starts again from [`PlacementIndex::load`] when what it dropped
//!   could matter: any undo (of a run it folded, an earlier decision would
//!   be in force again; it does not remember which runs it folded), a row
//!   that sorts before one already folded (a chain's run older than the
//!   last one seen), or a chain rewritten, cut or removed.

use crate::index::{Body, Checkpoint, PlacementIndex, Row, holds};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use warden_core::{Digest, Repo, Result};

/// What a batch asks of the placement history: the latest decision still in
/// force for each of its (path, sha256) pairs, as its fingerprint. A pair
/// whose latest decision had an action (moved or quarantined the file) may
/// be left out: a decision is compared with it only when it has no action
/// itself, and then the fingerprints differ anyway.
pub trait LatestOf {
    fn latest_of(&self, wanted: &BTreeSet<(&str, Digest)>) -> BTreeMap<(String, Digest), Digest>;
}

impl LatestOf for PlacementIndex {
    fn latest_of(&self, wanted: &BTreeSet<(&str, Digest)>) -> BTreeMap<(String, Digest), Digest> {
        PlacementIndex::latest_of(self, wanted)
    }
}

/// Where a row sorts in the ledger's order (run, seq, chain, place, position).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Order {
    run: Arc<str>,
    seq: u64,
    writer: Arc<str>,
    at: u64,
    i: u32,
}

/// The latest decision of the pairs it keeps, without the rows.
#[derive(Debug, Clone)]
pub struct LatestIndex {
    chains: BTreeMap<String, Checkpoint>,
    /// Undone run → the undo run.
    undone: BTreeMap<String, String>,
    /// The last row folded in.
    last: Option<Order>,
    /// Pair → the fingerprint of its latest decision, when that one left
    /// the file in place.
    latest: HashMap<Digest, Digest>,
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
        let body = PlacementIndex::load(repo)?.into_body();
        let mut out = LatestIndex {
            chains: body.chains,
            undone: body.undone,
            last: None,
            latest: HashMap::new(),
            reloaded: true,
        };
        // The index's rows are in the ledger's order.
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
        new.rows.sort_unstable_by(|a, b| {
            (&a.run, a.seq, &a.writer, a.at, a.i).cmp(&(&b.run, b.seq, &b.writer, b.at, b.i))
        });
        // Any new undo: the run it undid may be one folded here (runs are
        // not remembered, so the watcher does not grow by one per batch).
        let undoes_folded = !new.undone.is_empty();
        let out_of_order = match (new.rows.first(), &self.last) {
            (Some(r), Some(last)) => order_of(r) < *last,
            _ => false,
        };
        if undoes_folded || out_of_order {
            return Self::load(repo);
        }
        self.chains = new.chains;
        self.undone.extend(new.undone);
        self.add_rows(new.rows);
        self.reloaded = false;
        Ok(self)
    }

    /// Fold rows, in the ledger's order: a row of a run not undone is its
    /// pair's latest decision; kept when it left the file in place.
    fn add_rows(&mut self, rows: Vec<Row>) {
        for r in rows {
            if self.undone.contains_key(&*r.run) {
                continue;
            }
            let pair = pair_key(&r.path, &r.sha256);
            if r.acted {
                self.latest.remove(&pair);
            } else {
                self.latest.insert(pair, r.key);
            }
            self.last = Some(order_of(&r));
        }
    }

    /// How many (path, sha256) pairs it keeps.
    pub fn len(&self) -> usize {
        self.latest.len()
    }

    pub fn is_empty(&self) -> bool {
        self.latest.is_empty()
    }
}

fn order_of(r: &Row) -> Order {
    Order {
        run: r.run.clone(),
        seq: r.seq,
        writer: r.writer.clone(),
        at: r.at,
        i: r.i,
    }
}

impl LatestOf for LatestIndex {
    fn latest_of(&self, wanted: &BTreeSet<(&str, Digest)>) -> BTreeMap<(String, Digest), Digest> {
        wanted
            .iter()
            .filter_map(|(p, d)| {
                let key = self.latest.get(&pair_key(p, d))?;
                Some(((p.to_string(), *d), *key))
            })
            .collect()
    }
}
