//! The classifier's acceptance tests, at library level,
//! each named after what it proves. The watcher's are in
//! `crates/warden-cli/tests/classify.rs` (real binary).
// Tests, examples and benches drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{Fixture, SEED};
use warden_classify::history::{self, WhereQuery};
use warden_classify::report::Outcome;
use warden_classify::score::DecisionPath;
use warden_core::ledger::RunResult;

fn decision<'a>(
    r: &'a warden_classify::report::ClassifyReport,
    path: &str,
) -> &'a warden_classify::report::FileDecision {
    r.files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("no decision for {path}: {r:#?}"))
}

#[test]
fn healthcheck_file_classifies_to_the_ledger_module_in_a_dry_run_and_nothing_is_written() {
    let f = Fixture::new(SEED);
    f.write("inbox/notes.py", "ledger ulid append_only\n");
    let before = f.tree_with_lane();
    let ledger_before = f.repo().ledger().entries().expect("entries").len();
    let a = f.dry_run();
    let d = &a.files[0];
    assert_eq!(d.decision_path, DecisionPath::ClearWinner);
    assert_eq!(d.module.as_deref(), Some("Ledger_Records_MOD"));
    assert_eq!(d.target.as_deref(), Some("modules/ledger/notes.py"));
    assert_eq!(f.tree_with_lane(), before, "a dry run writes nothing");
    assert_eq!(
        f.repo().ledger().entries().expect("entries").len(),
        ledger_before
    );
}

#[test]
fn two_equal_matches_are_ambiguous_with_ordered_candidates_no_move_and_a_ledger_entry() {
    let f = Fixture::new(SEED);
    f.write("inbox/goal_ledger.py", "x\n");
    let r = f.classify();
    let d = decision(&r, "inbox/goal_ledger.py");
    assert_eq!(d.decision_path, DecisionPath::Ambiguous);
    let names: Vec<&str> = d.candidates.iter().map(|c| c.module.as_str()).collect();
    assert_eq!(names, ["Goal_Normalizer_MOD", "Ledger_Records_MOD"]);
    assert_eq!(d.target, None);
    assert!(f.exists("inbox/goal_ledger.py"), "an ambiguous file stays");
    assert_eq!(r.outcome, Outcome::Recorded);
    let run = r.run.expect("recorded run");
    let entry = f
        .repo()
        .ledger()
        .find_run(&run)
        .expect("find")
        .expect("ledger entry present");
    assert_eq!(entry.result, RunResult::Recorded);
    assert_eq!(entry.command, "classify");
}

#[test]
fn ambiguous_files_go_to_quarantine_when_the_registry_says_so() {
    let f = Fixture::new(&format!("{SEED}ambiguous: quarantine\n"));
    f.write("inbox/goal_ledger.py", "x\n");
    let r = f.classify();
    let d = decision(&r, "inbox/goal_ledger.py");
    assert_eq!(d.decision_path, DecisionPath::Ambiguous);
    assert_eq!(d.quarantine_reason.as_deref(), Some("ambiguous"));
    assert!(!f.exists("inbox/goal_ledger.py"));
}

#[test]
fn no_match_goes_to_quarantine_unclassified_and_where_shows_the_reason_path() {
    let f = Fixture::new(SEED);
    f.write("inbox/holiday.txt", "sunny\n");
    let r = f.classify();
    let run = r.run.clone().expect("run");
    let d = decision(&r, "inbox/holiday.txt");
    assert_eq!(d.decision_path, DecisionPath::Unclassified);
    assert_eq!(d.quarantine_reason.as_deref(), Some("unclassified"));
    assert!(!f.exists("inbox/holiday.txt"));
    assert!(f.exists(&format!(".quarantine/{run}/files/inbox/holiday.txt")));
    let list = warden_classify::quarantine::list(f.root(), Some("unclassified")).expect("list");
    assert_eq!(list.files.len(), 1);
    assert_eq!(list.files[0].path, "inbox/holiday.txt");
    let entries = f.repo().ledger().entries().expect("entries");
    let all = history::placements(&entries, f.root());
    let w = history::query(
        &all,
        &WhereQuery {
            file: Some("inbox/holiday.txt".into()),
            ..WhereQuery::default()
        },
    );
    assert_eq!(w.placements.len(), 1);
    assert_eq!(
        w.placements[0].decision.decision_path,
        DecisionPath::Unclassified
    );
    assert!(!w.placements[0].decision.reason.is_empty());
    // "Show me all unclassified files from the last 24h."
    let since = history::parse_since("24h", f.ctx.clock.now()).expect("since");
    let w = history::query(
        &all,
        &WhereQuery {
            outcome: Some(DecisionPath::Unclassified),
            since: Some(since),
            ..WhereQuery::default()
        },
    );
    assert_eq!(w.placements.len(), 1);
}

#[test]
fn dedupe_matrix_collapse_newer_larger_kept_both_and_a_second_run_proposes_nothing() {
    let f = Fixture::new(SEED);
    // (1) same digest: collapse.
    f.write("modules/ledger/same_ledger.py", "one\n");
    f.write("inbox/same_ledger.py", "one\n");
    // (2) newer mtime wins: the newcomer is newer.
    f.write("modules/ledger/newer_ledger.py", "old content\n");
    f.touch("modules/ledger/newer_ledger.py", 100);
    f.write("inbox/newer_ledger.py", "new\n");
    f.touch("inbox/newer_ledger.py", 200);
    // (2') the file in place is newer: the newcomer is superseded.
    f.write("modules/ledger/older_ledger.py", "kept\n");
    f.touch("modules/ledger/older_ledger.py", 300);
    f.write("inbox/older_ledger.py", "stale\n");
    f.touch("inbox/older_ledger.py", 200);
    // (3) same mtime, larger wins.
    f.write("modules/ledger/larger_ledger.py", "s\n");
    f.touch("modules/ledger/larger_ledger.py", 100);
    f.write("inbox/larger_ledger.py", "much larger\n");
    f.touch("inbox/larger_ledger.py", 100);
    // (4) same mtime, same size, different digest: both kept.
    f.write("modules/ledger/both_ledger.py", "aaaa\n");
    f.touch("modules/ledger/both_ledger.py", 100);
    f.write("inbox/both_ledger.py", "bbbb\n");
    f.touch("inbox/both_ledger.py", 100);
    let r = f.classify();
    let run = r.run.clone().expect("run");
    let lane = |p: &str| format!(".quarantine/{run}/files/{p}");

    let d = decision(&r, "inbox/same_ledger.py");
    assert_eq!(d.decision_path, DecisionPath::DedupeCollapsed);
    assert_eq!(d.quarantine_reason.as_deref(), Some("duplicate"));
    assert!(f.exists(&lane("inbox/same_ledger.py")));
    assert_eq!(f.read("modules/ledger/same_ledger.py"), "one\n");

    let d = decision(&r, "inbox/newer_ledger.py");
    assert_eq!(d.decision_path, DecisionPath::DedupeNewer);
    assert_eq!(d.action.as_deref(), Some("move_file"));
    assert_eq!(f.read("modules/ledger/newer_ledger.py"), "new\n");
    let old = decision(&r, "modules/ledger/newer_ledger.py");
    assert_eq!(old.quarantine_reason.as_deref(), Some("superseded"));
    assert_eq!(
        f.read(&lane("modules/ledger/newer_ledger.py")),
        "old content\n"
    );

    let d = decision(&r, "inbox/older_ledger.py");
    assert_eq!(d.decision_path, DecisionPath::DedupeNewer);
    assert_eq!(d.quarantine_reason.as_deref(), Some("superseded"));
    assert_eq!(f.read("modules/ledger/older_ledger.py"), "kept\n");

    let d = decision(&r, "inbox/larger_ledger.py");
    assert_eq!(d.decision_path, DecisionPath::DedupeLarger);
    assert_eq!(f.read("modules/ledger/larger_ledger.py"), "much larger\n");
    assert_eq!(f.read(&lane("modules/ledger/larger_ledger.py")), "s\n");

    let d = decision(&r, "inbox/both_ledger.py");
    assert_eq!(d.decision_path, DecisionPath::DedupeKeptBoth);
    let short = &d.sha256.hex()[..8];
    let kept = format!("modules/ledger/both_ledger.{short}.py");
    assert_eq!(d.target.as_deref(), Some(kept.as_str()));
    assert_eq!(f.read(&kept), "bbbb\n");
    assert_eq!(f.read("modules/ledger/both_ledger.py"), "aaaa\n");

    // No `file (1)` spiral: the second run proposes nothing.
    let again = f.dry_run();
    assert!(again.actions.is_empty(), "{:#?}", again.actions);
    let r2 = f.classify();
    assert_eq!(r2.outcome, Outcome::NothingToDo);
}

#[test]
fn newcomers_competing_for_one_name_are_settled_in_one_run() {
    let f = Fixture::new(SEED);
    f.write("inbox/a/x_ledger.py", "first\n");
    f.touch("inbox/a/x_ledger.py", 100);
    f.write("inbox/b/x_ledger.py", "second, newer\n");
    f.touch("inbox/b/x_ledger.py", 200);
    f.write("inbox/c/x_ledger.py", "first\n");
    f.touch("inbox/c/x_ledger.py", 50);
    let r = f.classify();
    assert_eq!(f.read("modules/ledger/x_ledger.py"), "second, newer\n");
    assert_eq!(
        decision(&r, "inbox/a/x_ledger.py")
            .quarantine_reason
            .as_deref(),
        Some("superseded")
    );
    // c is older than b, which holds the name by then.
    assert_eq!(
        decision(&r, "inbox/c/x_ledger.py")
            .quarantine_reason
            .as_deref(),
        Some("superseded")
    );
    assert!(f.user_tree().keys().all(|k| !k.starts_with("inbox/")));
}

#[test]
fn seeing_the_same_file_detected_twice_proposes_nothing_the_second_time() {
    let f = Fixture::new(SEED);
    f.write("inbox/notes.py", "ledger ulid append_only\n");
    f.write("inbox/goal_ledger.py", "x\n");
    let first = f.classify();
    assert_eq!(first.outcome, Outcome::Applied);
    assert!(
        f.root().join("inbox").is_dir(),
        "the inbox root is kept when a run empties it"
    );
    let entries = f.repo().ledger().entries().expect("entries").len();
    let second = f.classify();
    assert_eq!(second.outcome, Outcome::NothingToDo);
    assert_eq!(f.repo().ledger().entries().expect("entries").len(), entries);
    // Naming the placed file explicitly proposes nothing either.
    let a = f.dry_run_paths(&["modules/ledger/notes.py"], true);
    assert!(a.actions.is_empty(), "{:?}", a.actions);
}

#[test]
fn identical_inputs_give_byte_identical_proposals() {
    let make = || {
        let f = Fixture::new(SEED);
        f.mixed_inbox();
        f
    };
    let (a, b) = (make(), make());
    let pa = serde_json::to_vec(&a.dry_run().proposal_value().expect("value")).expect("json");
    let pb = serde_json::to_vec(&b.dry_run().proposal_value().expect("value")).expect("json");
    assert_eq!(pa, pb);
    let (_, da) = a.dry_run().proposal().expect("parse").expect("some");
    let (_, db) = b.dry_run().proposal().expect("parse").expect("some");
    assert_eq!(da, db);
}

#[test]
fn the_typed_proposal_has_the_digest_and_the_fields_of_its_parsed_json() {
    let f = Fixture::new(SEED);
    f.mixed_inbox();
    f.write("inbox/holiday.txt", "sunny\n");
    let a = f.dry_run();
    let (typed, digest) = a.proposal().expect("proposal").expect("some");
    let value = a.proposal_value().expect("value").expect("some");
    let (parsed, parsed_digest) =
        warden_core::proposal::Proposal::from_value(&value, "(test)").expect("the core parses it");
    assert_eq!(digest, parsed_digest, "the digest of the canonical JSON");
    assert_eq!(
        serde_json::to_value(&typed).expect("typed"),
        serde_json::to_value(&parsed).expect("parsed")
    );
    let kinds: Vec<&str> = typed.actions.iter().map(|x| x.kind().name()).collect();
    assert_eq!(
        kinds,
        ["quarantine", "quarantine", "move_file", "move_file"]
    );
}

#[test]
fn files_in_a_module_folder_are_reported_not_moved_unless_reclassify() {
    let f = Fixture::new(SEED);
    f.write(
        "modules/goals/ledger_ulid_notes.py",
        "ledger ulid append_only\n",
    );
    let a = f.dry_run_paths(&["modules/goals"], false);
    assert!(a.actions.is_empty());
    assert!(
        a.files[0].reason.contains("--reclassify"),
        "{}",
        a.files[0].reason
    );
    let b = f.dry_run_paths(&["modules/goals"], true);
    assert_eq!(
        b.files[0].target.as_deref(),
        Some("modules/ledger/ledger_ulid_notes.py")
    );
}

#[test]
fn gitignored_and_warden_owned_paths_are_never_classified() {
    let f = Fixture::new(SEED);
    f.write(".gitignore", "inbox/*.tmp\n");
    f.write("inbox/partial_ledger.tmp", "ledger\n");
    f.write("inbox/.warden-01ABC-0.tmp", "ledger\n");
    f.write("inbox/bridge/.bridge/x", "x\n");
    f.write("inbox/bridge/commands/c_ledger.py", "ledger\n");
    f.write("inbox/notes.py", "ledger ulid append_only\n");
    let a = f.dry_run();
    let paths: Vec<&str> = a.files.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(paths, ["inbox/notes.py"]);
}

#[test]
fn undo_restores_the_inbox_byte_for_byte() {
    let f = Fixture::new(SEED);
    f.write("inbox/notes.py", "ledger ulid append_only\n");
    f.write("inbox/holiday.txt", "sunny\n");
    f.write("modules/ledger/dup_ledger.py", "d\n");
    f.write("inbox/dup_ledger.py", "d\n");
    let before = f.user_tree();
    let r = f.classify();
    assert_ne!(f.user_tree(), before);
    f.undo(&r.run.expect("run"));
    assert_eq!(f.user_tree(), before);
}

#[test]
fn a_kept_both_name_already_taken_collapses_the_same_content_and_leaves_other_content_alone() {
    let f = Fixture::new(SEED);
    let short = |text: &str| warden_core::Digest::of(text.as_bytes()).hex()[..8].to_string();
    // Same mtime, same size, different content: the newcomer would be kept
    // under its content-derived name, which already holds the same content.
    f.write("modules/ledger/dup_ledger.py", "aaaa\n");
    f.touch("modules/ledger/dup_ledger.py", 100);
    f.write("inbox/dup_ledger.py", "bbbb\n");
    f.touch("inbox/dup_ledger.py", 100);
    let alt_same = format!("modules/ledger/dup_ledger.{}.py", short("bbbb\n"));
    f.write(&alt_same, "bbbb\n");
    // ... and here it holds other content (a prefix collision).
    f.write("modules/ledger/coll_ledger.py", "cccc\n");
    f.touch("modules/ledger/coll_ledger.py", 100);
    f.write("inbox/coll_ledger.py", "dddd\n");
    f.touch("inbox/coll_ledger.py", 100);
    let alt_other = format!("modules/ledger/coll_ledger.{}.py", short("dddd\n"));
    f.write(&alt_other, "zzzz\n");
    let a = f.dry_run();
    let find = |p: &str| {
        a.files
            .iter()
            .find(|d| d.path == p)
            .unwrap_or_else(|| panic!("no decision for {p}: {:#?}", a.files))
    };

    let d = find("inbox/dup_ledger.py");
    assert_eq!(d.decision_path, DecisionPath::DedupeCollapsed);
    assert_eq!(d.quarantine_reason.as_deref(), Some("duplicate"));
    assert_eq!(
        d.reason,
        format!("{alt_same} already holds the same content")
    );
    assert_eq!(d.winner_sha256, Some(d.sha256));

    let d = find("inbox/coll_ledger.py");
    assert_eq!(d.decision_path, DecisionPath::Ambiguous);
    assert_eq!((d.action.as_deref(), d.target.as_deref()), (None, None));
    assert_eq!(
        d.reason,
        format!("{alt_other} exists with other content (sha256 prefix collision): left in place")
    );
    let moved: Vec<String> = a
        .actions
        .iter()
        .map(|x| format!("{x:?}"))
        .filter(|x| x.contains("coll_ledger"))
        .collect();
    assert!(moved.is_empty(), "nothing proposed for it: {moved:?}");
}
