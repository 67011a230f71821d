//! One `warden classify` invocation against a repository: analyse, then
//! either check the proposal against the policy (dry run), or plan it in a
//! writer session and apply it as ONE run whose ledger details are the
//! decisions (the placement history). A pass with nothing to move but new
//! decisions (ambiguous files) is ledgered as a recorded run; a pass that
//! repeats decisions already recorded for the same (path, sha256) writes
//! nothing (G6).

use crate::classify::{self, Analysis, EVENT, Options, SOURCE_ID, SOURCE_KIND};
use crate::history;
use crate::index::PlacementIndex;
use crate::latest::LatestOf;
use crate::report::{ClassifyReport, FileDecision, Outcome};
use crate::times::Times;
use std::collections::{BTreeMap, BTreeSet};
use warden_core::engine::{Record, Session};
use warden_core::modules::Modules;
use warden_core::plan::Plan;
use warden_core::proposal::Source;
use warden_core::{Digest, Error, Repo, Result};

/// The decisions of a pass and, when something moves, its plan.
#[derive(Debug)]
pub struct Prepared {
    pub analysis: Analysis,
    /// The plan of the proposal (None when nothing moves).
    pub plan: Option<Plan>,
    /// The decisions worth recording: those with an action, and those that
    /// differ from the latest recorded for the same (path, sha256).
    pub new: Vec<FileDecision>,
}

/// Analyse and run the checks the real run runs before it writes (the
/// policy gate, the paths' shape, the limits: [`crate::checks::check`]);
/// writes nothing.
pub fn dry_run(repo: &Repo, reg: &Modules, opts: &Options, times: &dyn Times) -> Result<Analysis> {
    let a = classify::analyse(repo.root(), reg, opts, times)?;
    crate::checks::check(repo, &a)?;
    Ok(a)
}

/// How many times a run is planned again after files changed under it.
const MAX_REPLANS: usize = 8;

/// Analyse and plan in a writer session. A file that changes between
/// being read and being planned is left where it is (reported as skipped,
/// `changed_while_classifying`) and the rest is planned again without it.
pub fn prepare(s: &Session, reg: &Modules, opts: &Options, times: &dyn Times) -> Result<Prepared> {
    let analysis = classify::analyse(s.repo.root(), reg, opts, times)?;
    prepare_from(s, reg, opts, times, analysis)
}

/// [`prepare`] of an analysis the caller made of `opts`' scope (files may
/// have changed since it read them).
pub fn prepare_from(
    s: &Session,
    reg: &Modules,
    opts: &Options,
    times: &dyn Times,
    mut analysis: Analysis,
) -> Result<Prepared> {
    let root = s.repo.root();
    let mut changed: BTreeSet<warden_core::paths::RepoPath> = BTreeSet::new();
    for _ in 0..MAX_REPLANS {
        crate::checks::check(s.repo, &analysis)?;
        let sources = crate::checks::sources(&analysis);
        match prepare_analysis(s, analysis) {
            Ok(p) => return Ok(p),
            Err(e) => match crate::checks::changed_path(&e, &sources) {
                Some(p) if !changed.contains(&p) => {
                    changed.insert(p);
                }
                _ => return Err(crate::checks::in_user_terms(e, &sources)),
            },
        }
        analysis = classify::analyse_without(root, reg, opts, times, &changed)?;
    }
    let sources = crate::checks::sources(&analysis);
    prepare_analysis(s, analysis).map_err(|e| crate::checks::in_user_terms(e, &sources))
}

/// Plan an analysis made by the caller.
pub fn prepare_analysis(s: &Session, analysis: Analysis) -> Result<Prepared> {
    let index = PlacementIndex::load(s.repo)?;
    prepare_analysis_with(s, analysis, &index)
}

/// [`prepare_analysis`] with the history the caller keeps (the watcher: a
/// [`crate::latest::LatestIndex`] brought up to date per batch).
pub fn prepare_analysis_with(
    s: &Session,
    mut analysis: Analysis,
    index: &dyn LatestOf,
) -> Result<Prepared> {
    let latest = latest_for(index, &analysis);
    let mut plan = None;
    if let Some((p, digest)) = analysis.proposal()? {
        let mut pl = s.plan(&p, digest, "(classifier proposal)")?;
        pl.command = warden_core::plan::RunCommand::Classify;
        analysis.set_lane(&pl.run);
        plan = Some(pl);
    }
    let new = new_decisions(&analysis, &latest);
    if let Some(pl) = &mut plan {
        let report = ClassifyReport::new(Some(pl.run.clone()), Outcome::Applied, new.clone());
        pl.details = serde_json::to_value(&report).ok();
    }
    Ok(Prepared {
        analysis,
        plan,
        new,
    })
}

/// The latest recorded decision of each (path, sha256) of the analysis.
fn latest_for(index: &dyn LatestOf, analysis: &Analysis) -> BTreeMap<(String, Digest), Digest> {
    let wanted: BTreeSet<(&str, Digest)> = analysis
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.sha256))
        .collect();
    index.latest_of(&wanted)
}

/// The decisions worth recording: those with an action, and those that
/// differ from the latest recorded for the same (path, sha256).
pub fn new_decisions(
    analysis: &Analysis,
    latest: &BTreeMap<(String, Digest), Digest>,
) -> Vec<FileDecision> {
    analysis
        .files
        .iter()
        .filter(|f| {
            f.action.is_some()
                || latest
                    .get(&(f.path.clone(), f.sha256))
                    .is_none_or(|prev| *prev != history::fingerprint(f))
        })
        .cloned()
        .collect()
}

/// Apply (or record) what [`prepare`] found. Returns the report; a failed
/// validation command is an error (the run was rolled back).
pub fn commit(s: &mut Session, prepared: Prepared) -> Result<ClassifyReport> {
    let Prepared {
        analysis,
        plan,
        new,
    } = prepared;
    if let Some(plan) = plan.filter(|p| p.noop.is_none()) {
        let outcome = s.apply(&plan)?;
        if let Some(out) = outcome.validation_failure {
            return Err(Error::ApplyFailed {
                run: outcome.entry.run,
                message: format!("the validation command failed: {}", out.trim_end()),
            });
        }
        keep_inbox_roots(s.repo.root(), &analysis);
        return Ok(analysis.into_report(Some(outcome.entry.run), Outcome::Applied));
    }
    if new.is_empty() {
        return Ok(analysis.into_report(None, Outcome::NothingToDo));
    }
    let run = s.new_run_id();
    let report = ClassifyReport::new(Some(run.clone()), Outcome::Recorded, new);
    let details = serde_json::to_value(&report).map_err(|e| Error::Internal(e.to_string()))?;
    let canonical =
        serde_json::to_vec(&report.files).map_err(|e| Error::Internal(e.to_string()))?;
    s.record(Record {
        run: run.clone(),
        command: "classify".into(),
        actor: Source {
            kind: SOURCE_KIND.into(),
            id: SOURCE_ID.into(),
        },
        event: EVENT.into(),
        input_digest: Digest::of(&canonical),
        rationale: Some(format!(
            "{} classification decision(s) with nothing to move",
            report.files.len()
        )),
        details: Some(details),
        artifacts: Vec::new(),
    })?;
    Ok(analysis.into_report(Some(run), Outcome::Recorded))
}

/// The engine removes folders a run leaves empty; an inbox root is where
/// people drop files (and what the watcher watches), so the classifier puts
/// back the inbox roots that this run emptied (an empty folder, nothing
/// else; an undo puts the run's files back into it).
fn keep_inbox_roots(root: &std::path::Path, analysis: &Analysis) {
    let Ok(Some(reg)) = Modules::load(root) else {
        return;
    };
    for r in &reg.inbox {
        let used = analysis
            .files
            .iter()
            .any(|f| f.path.starts_with(&format!("{}/", r.as_str())));
        let fs = r.to_fs(root);
        if used && !fs.exists() {
            let _ = std::fs::create_dir_all(&fs);
        }
    }
}

/// A `ModuleClassifier` plugin's proposal, planned in a writer session with
/// the classifier's decisions as the plan's `details` (the placement
/// history of a plugin-made run, the same `warden.classify/v1` report a
/// built-in run carries).
///
/// The plugin classified `paths` inside its sandbox; the repository is part
/// of its input and it cannot write to it, so classifying the same paths
/// here gives the same decisions. They are attached only when they make
/// exactly the plugin's actions; otherwise (or when the analysis fails) the
/// plan has no details and `warden where` reads the run from its actions.
/// A refusal by the policy gate or a precondition is the `Err`.
pub fn plan_plugin_proposal(
    s: &Session,
    proposal: &warden_core::proposal::Proposal,
    digest: Digest,
    label: &str,
    reg: &Modules,
    paths: &[warden_core::paths::RepoPath],
    times: &dyn Times,
) -> Result<(Plan, Option<ClassifyReport>)> {
    let mut plan = s.plan(proposal, digest, label)?;
    let opts = Options {
        scope: classify::Scope::Paths(paths.to_vec()),
        reclassify: false,
    };
    let Ok(mut analysis) = classify::analyse(s.repo.root(), reg, &opts, times) else {
        return Ok((plan, None));
    };
    let ours = match analysis.proposal() {
        Ok(Some((p, _))) => serde_json::to_value(&p.actions).ok(),
        _ => None,
    };
    if ours.is_none() || ours != serde_json::to_value(&proposal.actions).ok() {
        return Ok((plan, None));
    }
    analysis.set_lane(&plan.run);
    let latest = latest_for(&PlacementIndex::load(s.repo)?, &analysis);
    let new = new_decisions(&analysis, &latest);
    let report = ClassifyReport::new(Some(plan.run.clone()), Outcome::Applied, new);
    plan.details = serde_json::to_value(&report).ok();
    Ok((plan, Some(report)))
}

/// After a FileDetected dispatch in which the `ModuleClassifier` plugin
/// proposed nothing (every file stays: ambiguous, already placed): record
/// the decisions that are new, as `warden classify` does, so `warden where`
/// has them. Returns None, writing nothing, when the classifier would move
/// something after all (the plugin's empty proposal stands).
pub fn record_stays(
    s: &mut Session,
    reg: &Modules,
    paths: &[warden_core::paths::RepoPath],
    times: &dyn Times,
) -> Result<Option<ClassifyReport>> {
    let opts = Options {
        scope: classify::Scope::Paths(paths.to_vec()),
        reclassify: false,
    };
    let analysis = classify::analyse(s.repo.root(), reg, &opts, times)?;
    if !analysis.actions.is_empty() {
        return Ok(None);
    }
    let prepared = prepare_analysis(s, analysis)?;
    commit(s, prepared).map(Some)
}
