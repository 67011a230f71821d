//! One `warden classify` invocation against a repository: analyse, then
//! either check the proposal against the policy (dry run), or plan it in a
//! writer session and apply it as ONE run whose ledger details are the
//! decisions (the placement history). A pass with nothing to move but new
//! decisions (ambiguous files) is ledgered as a recorded run; a pass that
//! repeats decisions already recorded for the same (path, sha256) writes
//! nothing (G6, REQUIREMENTS C14).

use crate::classify::{self, Analysis, EVENT, Options, SOURCE_ID, SOURCE_KIND};
use crate::history;
use crate::report::{ClassifyReport, FileDecision, Outcome};
use crate::times::Times;
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

/// Analyse and check the proposal against the policy gate; writes nothing.
pub fn dry_run(repo: &Repo, reg: &Modules, opts: &Options, times: &dyn Times) -> Result<Analysis> {
    let a = classify::analyse(repo.root(), reg, opts, times)?;
    if let Some((p, _)) = a.proposal()? {
        warden_core::plan::gate(&repo.policy, &p, "(classifier proposal)")?;
        warden_core::plan::check_shape(repo.root(), &p, "(classifier proposal)")?;
    }
    Ok(a)
}

/// Analyse and plan in a writer session.
pub fn prepare(s: &Session, reg: &Modules, opts: &Options, times: &dyn Times) -> Result<Prepared> {
    let analysis = classify::analyse(s.repo.root(), reg, opts, times)?;
    prepare_analysis(s, analysis)
}

/// Plan an analysis made by the caller (the watcher).
pub fn prepare_analysis(s: &Session, mut analysis: Analysis) -> Result<Prepared> {
    let entries = s.repo.ledger().entries()?;
    let all = history::placements(&entries);
    let latest = history::latest(&all);
    let mut plan = None;
    if let Some((p, digest)) = analysis.proposal()? {
        let mut pl = s.plan(&p, digest, "(classifier proposal)")?;
        pl.command = warden_core::plan::RunCommand::Classify;
        analysis.set_lane(&pl.run);
        plan = Some(pl);
    }
    let new: Vec<FileDecision> = analysis
        .files
        .iter()
        .filter(|f| {
            f.action.is_some()
                || latest
                    .get(&(f.path.clone(), f.sha256))
                    .is_none_or(|prev| !same_decision(prev, f))
        })
        .cloned()
        .collect();
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

fn same_decision(a: &FileDecision, b: &FileDecision) -> bool {
    a.decision_path == b.decision_path
        && a.module == b.module
        && a.action == b.action
        && a.candidates == b.candidates
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
        return Ok(analysis.report(Some(outcome.entry.run), Outcome::Applied));
    }
    if new.is_empty() {
        return Ok(analysis.report(None, Outcome::NothingToDo));
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
    Ok(analysis.report(Some(run), Outcome::Recorded))
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
