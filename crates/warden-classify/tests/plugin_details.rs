//! A `ModuleClassifier` plugin's proposal gets the classifier's decisions as
//! its run's details only when they make exactly the plugin's actions; the
//! plugin-made placement then reads in the history like a built-in one.
// Tests, examples and benches drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{Fixture, SEED};
use serde_json::json;
use warden_classify::classify::{Options, Scope};
use warden_classify::history::{self, Placement, WhereQuery};
use warden_classify::report::ClassifyReport;
use warden_classify::times::FsTimes;
use warden_core::engine::Session;
use warden_core::paths::RepoPath;
use warden_core::plan::Plan;
use warden_core::proposal::Proposal;

fn plugin_proposal(actions: &serde_json::Value) -> (Proposal, warden_core::Digest) {
    let doc = json!({
        "schema": "warden.proposal/v1",
        "source": {"kind": "plugin", "id": "module-classifier"},
        "event": "FileDetected",
        "rationale": "placed by the module registry (.warden/modules.yaml)",
        "actions": actions,
    });
    Proposal::from_value(&doc, "(plugin)").expect("proposal")
}

fn paths() -> Vec<RepoPath> {
    ["inbox/notes.py", "inbox/holiday.txt"]
        .iter()
        .map(|p| RepoPath::parse(p, "(test)", "path").expect("path"))
        .collect()
}

/// `plan_plugin_proposal` of a plugin proposal with these actions, the
/// classifier looking at `paths`.
fn plan(
    f: &Fixture,
    s: &Session,
    actions: &serde_json::Value,
    paths: &[RepoPath],
) -> (Plan, Option<ClassifyReport>) {
    let (p, d) = plugin_proposal(actions);
    warden_classify::run::plan_plugin_proposal(s, &p, d, "(plugin)", &f.registry(), paths, &FsTimes)
        .expect("plan")
}

/// Every placement in the fixture's ledger.
fn placements(f: &Fixture) -> Vec<Placement> {
    let entries = f.repo().ledger().entries().expect("entries");
    history::placements(&entries, f.root())
}

fn fixture() -> Fixture {
    let f = Fixture::new(SEED);
    f.write("inbox/notes.py", "ledger ulid append_only\n");
    f.write("inbox/holiday.txt", "sunny\n");
    f
}

#[test]
fn the_plugins_run_carries_the_classifiers_decisions_when_they_match_its_actions() {
    let f = fixture();
    // What the plugin's handler prints: the classifier's own actions.
    let opts = Options {
        scope: Scope::Paths(paths()),
        reclassify: false,
    };
    let a = warden_classify::classify::analyse(f.root(), &f.registry(), &opts, &FsTimes)
        .expect("analyse");
    let repo = f.repo();
    let mut s = repo.session(&f.ctx, false, &mut |_| {}).expect("session");
    let (plan, report) = plan(&f, &s, &json!(a.actions), &paths());
    let report = report.expect("the decisions match the actions");
    assert_eq!(report.files.len(), 2, "{report:#?}");
    assert!(plan.details.is_some());
    let run = s.apply(&plan).expect("apply").entry.run;
    drop(s);
    let all = placements(&f);
    let w = history::query(
        &all,
        &WhereQuery {
            file: Some("modules/ledger/notes.py".into()),
            ..WhereQuery::default()
        },
    );
    let d = &w.placements[0].decision;
    assert_eq!(w.placements[0].run, run);
    assert_eq!(d.module.as_deref(), Some("Ledger_Records_MOD"));
    assert_eq!(d.candidates[0].score, 3, "{d:#?}");
    let lane = all
        .iter()
        .find(|p| p.decision.path == "inbox/holiday.txt")
        .expect("holiday");
    assert_eq!(
        lane.decision.target.as_deref(),
        Some(format!(".quarantine/{run}/files/inbox/holiday.txt").as_str())
    );
}

#[test]
fn a_plugin_proposal_that_differs_from_the_classifier_gets_no_details() {
    let f = fixture();
    // Only one of the two actions the classifier would propose.
    let one = json!([{
        "kind": "move_file", "from": "inbox/notes.py", "to": "modules/ledger/notes.py",
        "expect": {"sha256": warden_core::Digest::of(b"ledger ulid append_only\n").to_string()},
    }]);
    let repo = f.repo();
    let s = repo.session(&f.ctx, false, &mut |_| {}).expect("session");
    let (plan, report) = plan(&f, &s, &one, &paths());
    assert!(report.is_none());
    assert!(plan.details.is_none());
    assert_eq!(plan.changes.len(), 2, "the move is still planned");
}

#[test]
fn a_big_plugin_run_without_details_is_read_back_from_its_changes_file() {
    // Over 500 paths, a run's changes live in `.runs/<RUN>/changes.json`,
    // not in its ledger entry: the placements must still be found.
    let f = Fixture::new(SEED);
    let n = 260;
    let mut actions = Vec::new();
    for i in 0..n {
        let body = format!("ledger ulid append_only {i}\n");
        f.write(&format!("inbox/n{i}.py"), &body);
        actions.push(json!({
            "kind": "move_file", "from": format!("inbox/n{i}.py"), "to": format!("modules/ledger/n{i}.py"),
            "expect": {"sha256": warden_core::Digest::of(body.as_bytes()).to_string()},
        }));
    }
    let repo = f.repo();
    let mut s = repo.session(&f.ctx, false, &mut |_| {}).expect("session");
    let (plan, report) = plan(&f, &s, &json!(actions), &[]);
    assert!(report.is_none() && plan.details.is_none());
    let entry = s.apply(&plan).expect("apply").entry;
    drop(s);
    assert!(
        entry.changes.is_empty() && entry.changes_file.is_some(),
        "a run of {} paths keeps its changes beside the ledger",
        plan.changes.len()
    );
    let all = placements(&f);
    assert_eq!(all.len(), n, "every move is a placement");
    assert!(all.iter().all(|p| p.run == entry.run));
}
