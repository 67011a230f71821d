//! Applying a batch's accepted commands as warden runs under one session:
//! no-ops and unchanged commands are ledgered together (`record_many`),
//! changes go through the engine (`apply_with`: the command's deadline and
//! its validationPlan checks), a crashed batch's ledgered runs are re-derived.

use super::local_only::LocalOnly;
use super::{Applied, Bridge, Done, Item};
use crate::command::{Command, Op};
use crate::ops;
use crate::outputs::{Durability, Writer};
use crate::reason::{Reason, Rejection};
use crate::verify::{self, Verdict};
use std::time::Instant;
use warden_core::Digest;
use warden_core::engine::{ApplyOptions, Outcome, Record, Session};
use warden_core::ledger::{Entry, RunResult};
use warden_core::plan::Plan;
use warden_core::proposal::{Proposal, Source};

/// What applying one command came to.
enum Step {
    /// Its answer (done, or refused).
    Answer(Applied),
    /// Nothing to change: ledgered as a recorded run with this status.
    Record(&'static str),
    /// The engine failed its run part-way: the session must be opened again
    /// so the engine's recovery settles that run.
    EngineFailed { rej: Rejection, run: String },
}

fn io(e: warden_core::Error) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl<'a> Bridge<'a> {
    /// Apply every accepted command of the batch under one session.
    pub(super) fn apply_all(
        &mut self,
        items: &[Item],
        local: &LocalOnly,
        w: &mut Writer,
    ) -> std::io::Result<Vec<Option<Applied>>> {
        let mut out: Vec<Option<Applied>> = items.iter().map(|_| None).collect();
        let accepted = |i: &Item| matches!(i.verdict, Verdict::Accept(_));
        if !items.iter().any(accepted) {
            return Ok(out);
        }
        // The target cannot be opened (its recovery cannot finish): every
        // accepted command waits in commands/ — none is lost, none is
        // dead-lettered for a fault that is not its own.
        let mut session = match self.repo.session(self.ctx, true, &mut |_| {}) {
            Ok(s) => s,
            Err(e) => {
                self.target_error = Some(ops::core_message(&e));
                for (i, item) in items.iter().enumerate() {
                    if accepted(item) {
                        out[i] = Some(Applied::Deferred);
                    }
                }
                return Ok(out);
            }
        };
        let mut records: Vec<(usize, Record)> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let Verdict::Accept(a) = &item.verdict else {
                continue;
            };
            // A crashed batch's run already happened: it is re-derived.
            let rederived = item.leftover && self.runs.contains_key(&a.cmd.id);
            if !rederived && let Some(why) = local.must_wait(&a.cmd, &self.target) {
                self.ignore_check_error.get_or_insert_with(|| {
                    format!(
                        "{why}; the commands that change files wait in commands/ until git can say what it ignores in {} (its ledger is published with the bridge's outputs, and must not carry an ignored file's digest)",
                        self.target.root.display()
                    )
                });
                out[i] = Some(Applied::Deferred);
                continue;
            }
            if !rederived && let Some(rej) = local.refusal(&a.cmd, &self.target) {
                out[i] = Some(Applied::Failed(rej));
                continue;
            }
            let (rej, run) = match self.apply_one(&mut session, item, &a.cmd)? {
                Step::Answer(applied) => {
                    out[i] = Some(applied);
                    continue;
                }
                Step::Record(status) => {
                    records.push((i, record(item, &a.cmd, status, session.new_run_id())));
                    continue;
                }
                Step::EngineFailed { rej, run } => (rej, run),
            };
            drop(session);
            match self.reopen(rej, &run) {
                Ok((s, rej)) => {
                    session = s;
                    out[i] = Some(Applied::Failed(rej));
                }
                Err(rej) => {
                    out[i] = Some(Applied::Failed(rej));
                    // The others (and the records gathered so far, which
                    // cannot be written now) wait in commands/.
                    for (j, item) in items.iter().enumerate() {
                        if accepted(item)
                            && (out[j].is_none() || records.iter().any(|(k, _)| *k == j))
                        {
                            out[j] = Some(Applied::Deferred);
                        }
                    }
                    return Ok(out);
                }
            }
        }
        self.write_records(&mut session, records, w, &mut out)?;
        Ok(out)
    }

    /// Open the session again after the engine failed `run` part-way, so its
    /// recovery settles that run (rolled back and ledgered) before the next
    /// command is applied. The command's rejection says what became of it;
    /// `Err` when the target's recovery cannot finish.
    fn reopen(
        &mut self,
        mut rej: Rejection,
        run: &str,
    ) -> Result<(Session<'a>, Rejection), Rejection> {
        match self.repo.session(self.ctx, true, &mut |_| {}) {
            Ok(s) => {
                for r in s.recovered.iter().filter(|r| r.run == run) {
                    rej.detail.push_str(&format!(
                        "; run {} was {} by the engine's recovery",
                        r.run,
                        r.outcome.describe()
                    ));
                }
                Ok((s, rej))
            }
            Err(re) => {
                let why = ops::core_message(&re);
                rej.detail.push_str(&format!(
                    "; the target's recovery of run {run} could not finish: {why}"
                ));
                self.target_error = Some(why);
                Err(rej)
            }
        }
    }

    /// Plan and apply one accepted command.
    fn apply_one(
        &mut self,
        session: &mut Session<'_>,
        item: &Item,
        cmd: &Command,
    ) -> std::io::Result<Step> {
        // Already ledgered by a crashed batch: re-derive, never re-apply.
        if let Some(run) = self.runs.get(&cmd.id).filter(|_| item.leftover) {
            return Ok(Step::Answer(self.rederive_run(run, cmd)?));
        }
        let plan = match self.plan(session, item, cmd) {
            Ok(plan) => plan,
            Err(step) => return Ok(step),
        };
        let deadline = item.started + std::time::Duration::from_millis(cmd.max_runtime_ms);
        if Instant::now() >= deadline {
            let rej = runtime(cmd, item.started, false);
            return Ok(Step::Answer(Applied::Failed(rej)));
        }
        let opts = ApplyOptions {
            deadline: Some(deadline),
            extra_validation: cmd
                .validation_plan
                .iter()
                .filter_map(|n| self.checks.get(n).cloned())
                .collect(),
        };
        let outcome = match session.apply_with(&plan, &opts) {
            Ok(o) => o,
            Err(e) => return Ok(apply_failed(&e, cmd, item, &plan)),
        };
        // Rolled back or not, the run is this command's answer.
        self.runs.insert(cmd.id.clone(), outcome.entry.run.clone());
        Ok(Step::Answer(self.answer(cmd, item, &plan, outcome)))
    }

    /// The answer of a command whose run `run` a crashed batch ledgered.
    fn rederive_run(&self, run: &str, cmd: &Command) -> std::io::Result<Applied> {
        let e = self
            .repo
            .ledger()
            .find_run(run)
            .map_err(io)?
            .ok_or_else(|| {
                std::io::Error::other(format!(
                    "run {run} of command {} is not in the ledger",
                    cmd.id
                ))
            })?;
        Ok(self.rederive(&e))
    }

    /// The command's plan in the core, or the step it ends with here:
    /// refused (its paths, its proposal, maxFilesChanged), or nothing to
    /// apply (no actions: recorded; a no-op plan: unchanged).
    #[allow(clippy::result_large_err)] // private; either way it is the next step
    fn plan(&self, session: &mut Session<'_>, item: &Item, cmd: &Command) -> Result<Plan, Step> {
        let actions =
            ops::actions(cmd, &self.target).map_err(|r| Step::Answer(Applied::Failed(r)))?;
        if actions.is_empty() {
            return Err(Step::Record("recorded"));
        }
        let value = ops::proposal(cmd, actions);
        let file = format!("commands/{}", item.file);
        let plan = Proposal::from_value_remote(&value, &file)
            .and_then(|(p, d)| {
                p.refuse_content_file(&file)?;
                session.plan(&p, d, &file)
            })
            .map_err(|e| Step::Answer(Applied::Failed(ops::core_rejection(&e))))?;
        if let Err(r) = verify::check_files_changed(cmd, plan.counts.files) {
            return Err(Step::Answer(Applied::Failed(r)));
        }
        if plan.noop.is_some() {
            return Err(Step::Record("unchanged"));
        }
        Ok(plan)
    }

    /// A finished run as the command's answer: applied, or rolled back by
    /// its deadline or its validation.
    fn answer(&self, cmd: &Command, item: &Item, plan: &Plan, outcome: Outcome) -> Applied {
        if outcome.deadline_exceeded {
            return Applied::Failed(runtime(cmd, item.started, true));
        }
        if let Some(v) = outcome.validation_failure {
            return Applied::Failed(
                Rejection::new(
                    Reason::ValidationFailed,
                    format!(
                        "validation failed; run {} was rolled back before it committed: {}",
                        plan.run,
                        v.lines().last().unwrap_or("")
                    ),
                )
                .hint(format!(
                    "the validation output is in {}",
                    self.repo
                        .layout
                        .run_dir(&plan.run)
                        .join("validation.log")
                        .display()
                )),
            );
        }
        Applied::Done(Done {
            status: "applied".into(),
            run: plan.run.clone(),
            counts: outcome.entry.counts.clone(),
            diff: plan.diff.clone(),
            paths: plan.changes.iter().map(|c| c.path.to_string()).collect(),
            recovered: false,
            sizes_hidden: false,
        })
    }

    /// Ledger the recorded runs: one append and fsync for the batch (group
    /// commit), or one each, as a one-at-a-time executor would.
    fn write_records(
        &mut self,
        session: &mut Session<'_>,
        records: Vec<(usize, Record)>,
        w: &mut Writer,
        out: &mut [Option<Applied>],
    ) -> std::io::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let (idx, recs): (Vec<usize>, Vec<Record>) = records.into_iter().unzip();
        let entries = match w.mode {
            Durability::Group => {
                w.flushes += 1;
                session.record_many(recs).map_err(io)?
            }
            Durability::PerFile => {
                let mut v = Vec::new();
                for r in recs {
                    w.flushes += 1;
                    v.extend(session.record_many(vec![r]).map_err(io)?);
                }
                v
            }
        };
        for (i, e) in idx.into_iter().zip(entries) {
            self.runs.insert(e.actor.id.clone(), e.run.clone());
            out[i] = Some(Applied::Done(Done {
                status: bridge_status(&e),
                run: e.run.clone(),
                counts: e.counts.clone(),
                diff: String::new(),
                paths: Vec::new(),
                recovered: false,
                sizes_hidden: false,
            }));
        }
        Ok(())
    }

    /// Outputs of a command whose run is already in the ledger.
    fn rederive(&self, e: &Entry) -> Applied {
        let status = match e.result {
            RunResult::Applied => "applied".to_string(),
            RunResult::RolledBack => {
                let why = e.reason.clone().unwrap_or_default();
                use warden_core::ledger::RollbackCause as C;
                let reason = match e.rollback_cause() {
                    Some(C::Deadline) => Reason::RuntimeExceeded,
                    Some(C::Validation) => Reason::ValidationFailed,
                    Some(C::ApplyFailed | C::Interrupted) | None => Reason::ApplyFailed,
                };
                return Applied::Failed(Rejection::new(
                    reason,
                    format!(
                        "run {} was rolled back before it committed: {why} (re-derived after a restart)",
                        e.run
                    ),
                ));
            }
            RunResult::Recorded => bridge_status(e),
        };
        let diff = std::fs::read_to_string(self.repo.layout.run_dir(&e.run).join("diff.patch"))
            .unwrap_or_default();
        Applied::Done(Done {
            status,
            run: e.run.clone(),
            counts: e.counts.clone(),
            diff,
            paths: e
                .load_changes(self.repo.root())
                .unwrap_or_default()
                .iter()
                .map(|c| c.path.clone())
                .collect(),
            recovered: true,
            sizes_hidden: false,
        })
    }
}

/// The ledger record of a command that changes nothing.
fn record(item: &Item, cmd: &Command, status: &str, run: String) -> Record {
    Record {
        run,
        command: "bridge".into(),
        actor: Source {
            kind: "bridge".into(),
            id: cmd.id.clone(),
        },
        event: "CommandReceived".into(),
        input_digest: Digest::of(item.bytes.as_deref().unwrap_or_default()),
        rationale: Some(format!("signed command {}", cmd.id)),
        details: Some(serde_json::json!({"bridge": {
            "status": status,
            "ops": cmd.ops.iter().map(Op::name).collect::<Vec<_>>(),
        }})),
        artifacts: Vec::new(),
    }
}

/// The status a recorded run's details carry ("recorded" or "unchanged").
fn bridge_status(e: &Entry) -> String {
    e.details
        .as_ref()
        .and_then(|d| d["bridge"]["status"].as_str())
        .unwrap_or("recorded")
        .to_string()
}

fn runtime(cmd: &Command, started: Instant, undone: bool) -> Rejection {
    Rejection::new(
        Reason::RuntimeExceeded,
        format!(
            "processing took {} ms; constraints.maxRuntimeMs is {}{}",
            started.elapsed().as_millis(),
            cmd.max_runtime_ms,
            if undone {
                "; the change was rolled back before it committed (the ledger records the run as rolled_back)"
            } else {
                "; nothing was applied"
            }
        ),
    )
    .field("constraints.maxRuntimeMs")
}

/// What an engine error while applying comes to: the command's deadline
/// (nothing was applied), or a run that failed part-way, which the engine's
/// recovery must settle.
fn apply_failed(e: &warden_core::Error, cmd: &Command, item: &Item, plan: &Plan) -> Step {
    if e.refusal() == Some(warden_core::error::Refusal::Deadline) {
        return Step::Answer(Applied::Failed(runtime(cmd, item.started, false)));
    }
    let mut rej = ops::core_rejection(e);
    rej.reason = Reason::ApplyFailed;
    Step::EngineFailed {
        rej,
        run: plan.run.clone(),
    }
}
