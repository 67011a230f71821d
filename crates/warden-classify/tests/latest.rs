//! The watcher's compact history (`LatestIndex`: per (path, sha256) only the
//! latest decision in force) answers what a fresh full load of the placement
//! index answers, over random histories of classify runs, re-drops of the
//! same and of changed files, and undos, refreshed at random points.
// Tests, examples and benches drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{Fixture, SEED};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use warden_classify::history;
use warden_classify::index::PlacementIndex;
use warden_classify::latest::{LatestIndex, LatestOf};
use warden_core::Digest;

/// Names that land in a module, tie (ambiguous, recorded), or match nothing.
const NAMES: &[&str] = &[
    "inbox/notes.py",
    "inbox/goal_ledger.py",
    "inbox/holiday.txt",
    "inbox/normalize_goal.md",
    "inbox/sub/ulid_tool.py",
];
const CONTENTS: &[&str] = &[
    "ledger ulid append_only\n",
    "capability_tags constraints\n",
    "sunny\n",
    "x\n",
];

#[derive(Debug, Clone)]
enum Op {
    /// Drop a file into the inbox.
    Write(usize, usize),
    /// `warden classify --yes` over the inbox.
    Classify,
    /// Undo the k-th run made so far (modulo their number), if it can be.
    Undo(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..NAMES.len(), 0..CONTENTS.len()).prop_map(|(n, c)| Op::Write(n, c)),
        3 => Just(Op::Classify),
        1 => (0..8usize).prop_map(Op::Undo),
    ]
}

fn try_undo(f: &Fixture, run: &str) {
    let repo = f.repo();
    let Ok(mut s) = repo.session(&f.ctx, false, &mut |_| {}) else {
        return;
    };
    let actor = warden_core::proposal::Source {
        kind: "person".into(),
        id: "test".into(),
    };
    if let Ok(plan) = s.plan_undo(run, false, actor) {
        let _ = s.apply(&plan);
    }
}

/// The answer from the whole ledger: for each (path, sha256), its latest
/// decision in force, when that one left the file in place.
fn from_ledger(f: &Fixture) -> BTreeMap<(String, Digest), Digest> {
    let entries = f.repo().ledger().entries().expect("entries");
    let mut latest = BTreeMap::new();
    for p in history::placements(&entries, f.root()) {
        if p.undone_by.is_some() {
            continue;
        }
        let pair = (p.decision.path.clone(), p.decision.sha256);
        match p.decision.action {
            Some(_) => latest.remove(&pair),
            None => latest.insert(pair, history::fingerprint(&p.decision)),
        };
    }
    latest
}

/// Asked about every (path, sha256) the history holds a decision about (in
/// force or not) and one it never saw, the kept index answers what the
/// whole ledger answers, and what a fresh full load of the placement index
/// answers for the pairs it keeps.
fn agree(f: &Fixture, kept: &LatestIndex) -> Result<(), TestCaseError> {
    let fresh = PlacementIndex::rebuild(&f.repo()).expect("rebuild");
    let pairs: BTreeSet<(String, Digest)> = fresh
        .rows()
        .iter()
        .map(|r| (r.path.to_string(), r.sha256))
        .chain([("inbox/never.py".to_string(), Digest::of(b"x"))])
        .collect();
    let wanted: BTreeSet<(&str, Digest)> = pairs.iter().map(|(p, d)| (p.as_str(), *d)).collect();
    let got = kept.latest_of(&wanted);
    prop_assert_eq!(&got, &from_ledger(f));
    let full = LatestOf::latest_of(&fresh, &wanted);
    for (pair, key) in &got {
        prop_assert_eq!(full.get(pair), Some(key));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn the_watchers_compact_history_agrees_with_a_fresh_full_load(
        ops in proptest::collection::vec((op(), any::<bool>()), 1..14),
    ) {
        let f = Fixture::new(SEED);
        let mut kept = Some(LatestIndex::load(&f.repo()).expect("load"));
        let mut runs: Vec<String> = Vec::new();
        for (op, refresh) in ops {
            match op {
                Op::Write(n, c) => f.write(NAMES[n], CONTENTS[c]),
                Op::Classify => {
                    if let Some(r) = f.classify().run {
                        runs.push(r);
                    }
                }
                Op::Undo(k) if !runs.is_empty() => try_undo(&f, &runs[k % runs.len()]),
                Op::Undo(_) => {}
            }
            if refresh {
                let k = kept.take().expect("kept").refresh(&f.repo()).expect("refresh");
                agree(&f, &k)?;
                kept = Some(k);
            }
        }
        let k = kept.take().expect("kept").refresh(&f.repo()).expect("refresh");
        agree(&f, &k)?;
    }
}

#[test]
fn an_undo_of_a_run_the_compact_history_folded_makes_it_start_again() {
    let f = Fixture::new(SEED);
    f.write("inbox/goal_ledger.py", "x\n");
    f.classify();
    let kept = LatestIndex::load(&f.repo()).expect("load");
    assert_eq!(
        kept.len(),
        1,
        "one ambiguous decision, the file left in place"
    );
    f.write("inbox/notes.py", "ledger ulid append_only\n");
    let run = f.classify().run.expect("a run");
    let kept = kept.refresh(&f.repo()).expect("refresh");
    assert!(!kept.reloaded, "only the new run was folded in");
    assert_eq!(kept.len(), 1, "a placed file is not kept");
    f.undo(&run);
    f.write("inbox/goal_ledger.py", "y\n");
    f.classify();
    let kept = kept.refresh(&f.repo()).expect("refresh");
    assert!(kept.reloaded, "an undo of a folded run starts again");
    assert_eq!(kept.len(), 2, "{kept:?}");
}
