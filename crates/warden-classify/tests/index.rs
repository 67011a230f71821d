//! The placement index (`.warden/state/placements-index.json`) answers what
//! a read of the whole ledger answers, and is rebuilt when it is missing,
//! corrupt or stale.
// Tests, examples and benches drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{Fixture, SEED};
use warden_classify::history::{self, WhereQuery, WhereReport};
use warden_classify::index::{PlacementIndex, index_path};
use warden_classify::score::DecisionPath;

/// Several runs: placed, unclassified, ambiguous (recorded), a duplicate,
/// and one run undone.
fn history_fixture() -> Fixture {
    let f = Fixture::new(SEED);
    f.write("inbox/notes.py", "ledger ulid append_only\n");
    f.write("inbox/holiday.txt", "sunny\n");
    f.write("inbox/goal_ledger.py", "x\n");
    f.classify();
    f.write("inbox/normalize_goal.md", "capability_tags constraints\n");
    let undone = f.classify().run.expect("run");
    f.undo(&undone);
    f.write("inbox/notes.py", "ledger ulid append_only\n");
    f.write("inbox/other_ledger.py", "provenance\n");
    f.classify();
    f
}

fn queries() -> Vec<WhereQuery> {
    vec![
        WhereQuery::default(),
        WhereQuery {
            file: Some("modules/ledger/notes.py".into()),
            ..WhereQuery::default()
        },
        WhereQuery {
            file: Some("inbox/normalize_goal.md".into()),
            ..WhereQuery::default()
        },
        WhereQuery {
            outcome: Some(DecisionPath::Unclassified),
            ..WhereQuery::default()
        },
        WhereQuery {
            outcome: Some(DecisionPath::DedupeCollapsed),
            ..WhereQuery::default()
        },
        WhereQuery {
            file: Some("inbox/goal_ledger.py".into()),
            outcome: Some(DecisionPath::Ambiguous),
            ..WhereQuery::default()
        },
    ]
}

/// The answers from the whole ledger, as before the index.
fn from_ledger(f: &Fixture) -> Vec<WhereReport> {
    let entries = f.repo().ledger().entries().expect("entries");
    let all = history::placements(&entries, f.root());
    queries().iter().map(|q| history::query(&all, q)).collect()
}

fn from_index(f: &Fixture) -> Vec<WhereReport> {
    let repo = f.repo();
    queries()
        .iter()
        .map(|q| PlacementIndex::query(&repo, q).expect("query"))
        .collect()
}

#[test]
fn the_placement_index_answers_what_the_whole_ledger_answers() {
    let f = history_fixture();
    let want = from_ledger(&f);
    assert!(want[0].placements.len() >= 6, "{:#?}", want[0]);
    assert!(
        want[2].placements.iter().any(|p| p.undone_by.is_some()),
        "the undone run shows: {:#?}",
        want[2]
    );
    assert!(
        !want[4].placements.is_empty(),
        "a duplicate: {:#?}",
        want[4]
    );
    assert_eq!(from_index(&f), want);
    // The latest decisions, which decide what a run records again.
    let entries = f.repo().ledger().entries().expect("entries");
    let all = history::placements(&entries, f.root());
    let idx = PlacementIndex::load(&f.repo()).expect("load");
    assert!(!idx.rebuilt, "brought up to date, not rebuilt");
    assert_eq!(idx.latest(), history::latest(&all));
    // It is kept up to date as runs are added: only the new part is read.
    f.write("inbox/more_ledger.py", "ulid\n");
    f.classify();
    assert_eq!(from_index(&f), from_ledger(&f));
    assert!(!PlacementIndex::load(&f.repo()).expect("load").rebuilt);
}

#[test]
fn a_missing_or_corrupt_index_is_rebuilt_with_the_same_answers() {
    let f = history_fixture();
    let want = from_ledger(&f);
    let path = index_path(&f.repo());
    assert!(path.is_file(), "the runs wrote the index");
    std::fs::remove_file(&path).expect("remove");
    assert!(PlacementIndex::load(&f.repo()).expect("load").rebuilt);
    assert_eq!(from_index(&f), want);
    // Garbage, a torn write, and an edited body (its digest no longer matches).
    let good = std::fs::read(&path).expect("read");
    let edited = String::from_utf8(good.clone())
        .expect("utf8")
        .replacen("inbox/notes.py", "inbox/NOTES.py", 1)
        .into_bytes();
    assert_ne!(edited, good);
    for bad in [
        b"not json".to_vec(),
        good[..good.len() / 2].to_vec(),
        edited,
    ] {
        std::fs::write(&path, &bad).expect("write");
        assert!(PlacementIndex::load(&f.repo()).expect("load").rebuilt);
        assert_eq!(from_index(&f), want);
    }
}

#[test]
fn a_stale_index_is_rebuilt_when_its_chain_changed_under_it() {
    let f = history_fixture();
    PlacementIndex::load(&f.repo()).expect("index");
    let repo = f.repo();
    let ledger = repo.ledger();
    let writers = ledger.writers().expect("writers");
    let chain = ledger.chain_path(&writers[0]);
    let text = std::fs::read_to_string(&chain).expect("chain");
    let mut lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() >= 3, "{text}");
    // The chain loses its last entry: the checkpoint lies past its end.
    lines.pop();
    let cut = format!("{}\n", lines.join("\n"));
    std::fs::write(&chain, &cut).expect("cut");
    assert!(PlacementIndex::load(&f.repo()).expect("load").rebuilt);
    assert_eq!(from_index(&f), from_ledger(&f));
    // The same length again, other content at the checkpoint: the line that
    // ends there is not the entry the index folded last.
    PlacementIndex::load(&f.repo()).expect("index");
    let first = lines[0];
    std::fs::write(&chain, format!("{cut}{first}\n")).expect("append");
    PlacementIndex::load(&f.repo()).expect("index");
    let swapped = format!("{}\n{first}\n", lines[..lines.len() - 1].join("\n"));
    let last = lines[lines.len() - 1];
    let swapped = format!("{swapped}{last}\n");
    assert_eq!(swapped.len(), cut.len() + first.len() + 1);
    std::fs::write(&chain, &swapped).expect("swap");
    assert!(PlacementIndex::load(&f.repo()).expect("load").rebuilt);
    assert_eq!(from_index(&f), from_ledger(&f));
}

#[test]
fn an_index_kept_in_memory_and_refreshed_after_more_runs_matches_a_fresh_load() {
    let f = history_fixture();
    let kept = PlacementIndex::load(&f.repo()).expect("load");
    f.write("inbox/more_ledger.py", "ulid\n");
    f.write("inbox/rain.txt", "cloudy\n");
    f.classify();
    let refreshed = kept.refresh(&f.repo()).expect("refresh");
    assert!(!refreshed.rebuilt, "only the new part was folded in");
    let fresh = PlacementIndex::rebuild(&f.repo()).expect("rebuild");
    assert_eq!(refreshed.rows(), fresh.rows());
    assert_eq!(refreshed.latest(), fresh.latest());
    // A chain rewritten under a kept index: the refresh rebuilds.
    let chain = f
        .repo()
        .ledger()
        .chain_path(&f.repo().ledger().writers().expect("w")[0]);
    let text = std::fs::read_to_string(&chain).expect("chain");
    let first = text.lines().next().expect("a line").len() + 1;
    std::fs::write(&chain, &text[..first]).expect("cut");
    let after_cut = refreshed.refresh(&f.repo()).expect("refresh");
    assert!(
        after_cut.rebuilt,
        "a cut chain makes the kept index rebuild"
    );
    assert_eq!(
        after_cut.rows(),
        PlacementIndex::rebuild(&f.repo()).expect("rebuild").rows()
    );
}
