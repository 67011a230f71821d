//! `warden sync adopt RUN`: fast-forward the working branch to the sync branch
//! of a reconcile run, only when nothing changed since that run.
//!
//! Preconditions (each refusal names what moved and exits 1, nothing written):
//! the run built a sync branch; the branch still points at the recorded local
//! tip; the sync branch still points at the recorded commit. When the branch
//! is checked out here, the working tree must hold exactly the work the run
//! captured (warden's own `.ledger/` appends aside) and no unmerged path.
//! When it is checked out nowhere (a `reconcile --branch`/`--all` run of
//! another branch) and the run captured no uncommitted work, only its ref
//! moves; a branch checked out in another worktree is refused.
//!
//! Steps: when the run captured uncommitted work, the branch first moves to
//! that snapshot commit and the index is set to its tree (the working tree
//! already holds it, so no file changes); then `git merge --ff-only` to the
//! sync commit on a clean tree. If the second step fails, the branch sits on
//! the snapshot, which holds all the work: nothing is lost. A branch that is
//! not checked out moves with one compare-and-swap `update-ref`.

use crate::audit::BOOKKEEPING_PREFIX;
use crate::git::Git;
use crate::reconcile::{Outcome, ReconcileReport};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::Path;
use warden_core::{Error, Result};

/// The schema tag of [`AdoptReport`] (`warden schema sync-adopt`).
pub const ADOPT_SCHEMA_ID: &str = "warden.sync-adopt/v1";

/// The adopt report (`warden.sync-adopt/v1`), also the ledger details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(
    title = "warden sync adopt report",
    description = "`warden sync adopt RUN --format json`; also the ledger entry's details"
)]
pub struct AdoptReport {
    /// Always "warden.sync-adopt/v1".
    pub schema: String,
    /// This adopt's run id.
    pub run: String,
    /// The reconcile run adopted.
    pub reconcile_run: String,
    /// The working branch fast-forwarded (e.g. `main`).
    pub branch: String,
    /// The reconcile's sync branch it moves to (`sync/<YYYYMMDD>-<RUN>`).
    pub sync_branch: String,
    /// The branch tip before.
    pub from: String,
    /// The branch tip after (the sync commit).
    pub to: String,
    /// The uncommitted work became this commit on the branch (null when there was none).
    pub snapshot_commit: Option<String>,
    /// The branch was not checked out: only its ref moved (no files, no index).
    #[serde(default)]
    pub ref_only: bool,
    /// Nothing was written: the report says what adopt would do (`--dry-run`).
    pub dry_run: bool,
}

/// What `warden sync reconcile --adopt` came to, carried in the reconcile
/// report (`adopt`): the adopt run it recorded, or why it adopted nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum AutoAdopt {
    /// The working branch was fast-forwarded; `report` is the adopt run's
    /// report (also in the ledger as its own `sync adopt` run).
    Adopted {
        /// The adopt run's report (`warden.sync-adopt/v1`).
        report: AdoptReport,
    },
    /// Nothing was adopted, and why (the sync branch stays for `warden sync adopt RUN`).
    NotAdopted {
        /// Why, as the CLI says it.
        reason: String,
    },
}

fn refuse(field: &str, message: String, hint: &str) -> Error {
    Error::rejected("sync adopt", field, message, Some(hint.to_string()))
}

const RERUN: &str =
    "run `warden sync reconcile` again to build a fresh sync branch from the current state";

/// Check every precondition; returns the report of what adopt would do.
pub fn check(
    git: &Git,
    root: &Path,
    rec: &ReconcileReport,
    run: &str,
    scratch: &Path,
) -> Result<AdoptReport> {
    let (Some(sync_branch), Some(sync_commit)) = (&rec.sync_branch, &rec.sync_commit) else {
        return Err(no_sync_branch(rec));
    };
    if rec.dry_run {
        return Err(refuse(
            "RUN",
            format!("run {} was a dry run and created no branch", rec.run),
            "run `warden sync reconcile` without --dry-run",
        ));
    }
    let current = git
        .at(root)
        .head_branch()
        .ok()
        .flatten()
        .unwrap_or_default();
    let ref_only = current != rec.branch;
    if ref_only {
        ref_alone_may_move(git, root, rec, &current)?;
    }
    refs_unmoved(git, root, rec, sync_branch, sync_commit)?;
    if !ref_only {
        working_tree_unchanged(git, root, rec, scratch)?;
    }
    Ok(AdoptReport {
        schema: ADOPT_SCHEMA_ID.into(),
        run: run.to_string(),
        reconcile_run: rec.run.clone(),
        branch: rec.branch.clone(),
        sync_branch: sync_branch.clone(),
        from: rec.local_tip.clone(),
        to: sync_commit.clone(),
        snapshot_commit: rec.snapshot.as_ref().map(|s| s.commit.clone()),
        ref_only,
        dry_run: false,
    })
}

/// Why a run without a sync branch cannot be adopted.
fn no_sync_branch(rec: &ReconcileReport) -> Error {
    match rec.outcome {
        Outcome::Quarantined => refuse(
            "RUN",
            format!(
                "run {} left conflicts on {}; there is no sync branch to adopt",
                rec.run,
                rec.quarantine_branch
                    .as_deref()
                    .unwrap_or("the quarantine branch")
            ),
            "resolve the conflicts listed in its report, commit them, then reconcile again",
        ),
        _ => refuse(
            "RUN",
            format!(
                "run {} found {} up to date; there is nothing to adopt",
                rec.run, rec.branch
            ),
            "nothing to do",
        ),
    }
}

/// The reconciled branch is not checked out here (`current` is): only its
/// ref may move, so the run must have captured no uncommitted work and no
/// other worktree may have the branch checked out.
fn ref_alone_may_move(git: &Git, root: &Path, rec: &ReconcileReport, current: &str) -> Result<()> {
    let elsewhere = checked_out_in(git, root, &rec.branch)?;
    if rec.snapshot.is_none() && elsewhere.is_none() {
        return Ok(());
    }
    Err(refuse(
        "HEAD",
        format!(
            "run {} reconciled {}, but {} is checked out{}",
            rec.run,
            rec.branch,
            if current.is_empty() {
                "a detached HEAD"
            } else {
                current
            },
            match &elsewhere {
                Some(dir) => format!(" here and {} in {dir}", rec.branch),
                None => format!("; the run captured uncommitted work of {}", rec.branch),
            }
        ),
        &match elsewhere {
            Some(dir) => format!("run `warden sync adopt {}` in {dir}", rec.run),
            None => format!(
                "switch back with `git switch {}`, or reconcile this branch",
                rec.branch
            ),
        },
    ))
}

/// The branch is still at the run's local tip (not yet adopted) and the sync
/// branch still at the run's sync commit.
fn refs_unmoved(
    git: &Git,
    root: &Path,
    rec: &ReconcileReport,
    sync_branch: &str,
    sync_commit: &str,
) -> Result<()> {
    let tip = git
        .at(root)
        .resolve(&format!("refs/heads/{}", rec.branch))?;
    if tip.as_deref() == Some(sync_commit) {
        return Err(refuse(
            "RUN",
            format!(
                "run {} is already adopted: {} is at {sync_branch}",
                rec.run, rec.branch
            ),
            "nothing to do",
        ));
    }
    if tip.as_deref() != Some(rec.local_tip.as_str()) {
        return Err(refuse(
            "branch",
            format!(
                "{} moved since run {} (was {}, now {})",
                rec.branch,
                rec.run,
                short(&rec.local_tip),
                tip.as_deref().map_or("gone", short)
            ),
            RERUN,
        ));
    }
    let st = git.at(root).resolve(&format!("refs/heads/{sync_branch}"))?;
    if st.as_deref() != Some(sync_commit) {
        return Err(refuse(
            "sync_branch",
            format!("{sync_branch} no longer points at {}", short(sync_commit)),
            RERUN,
        ));
    }
    Ok(())
}

/// The worktree (other than `root`) that has `branch` checked out, if any.
fn checked_out_in(git: &Git, root: &Path, branch: &str) -> Result<Option<String>> {
    let want = format!("refs/heads/{branch}");
    Ok(git
        .at(root)
        .worktrees()?
        .into_iter()
        .find(|w| w.branch.as_deref() == Some(want.as_str()))
        .map(|w| w.path))
}

/// The checked-out branch's working tree holds exactly what the run captured.
fn working_tree_unchanged(
    git: &Git,
    root: &Path,
    rec: &ReconcileReport,
    scratch: &Path,
) -> Result<()> {
    let status = git.at(root).status(&[])?;
    if status
        .entries
        .iter()
        .any(|e| matches!(e, crate::git::Entry::Unmerged { .. }))
    {
        return Err(refuse(
            "working_tree",
            "the working tree has unmerged paths".into(),
            "finish or abort the merge in progress first",
        ));
    }
    let expected = match &rec.snapshot {
        Some(s) => s.tree.clone(),
        None => git.at(root).tree_of(&rec.local_tip)?,
    };
    let now = git.at(root).snapshot_tree(scratch)?;
    let drift: Vec<String> = git
        .at(root)
        .changed_paths(&expected, &now)?
        .into_iter()
        .filter(|p| !p.starts_with(BOOKKEEPING_PREFIX))
        .collect();
    if !drift.is_empty() {
        return Err(refuse(
            "working_tree",
            format!(
                "the working tree changed since run {}: {}",
                rec.run,
                drift.join(", ")
            ),
            RERUN,
        ));
    }
    Ok(())
}

fn short(s: &str) -> &str {
    s.get(..12).unwrap_or(s)
}

/// Carry out a checked adopt.
pub fn apply(git: &Git, root: &Path, a: &AdoptReport) -> Result<()> {
    let branch_ref = format!("refs/heads/{}", a.branch);
    if a.ref_only {
        // Not checked out anywhere: a fast-forward is a compare-and-swap of
        // the ref (refused by git if the branch moved meanwhile).
        if !git.at(root).is_ancestor(&a.from, &a.to)? {
            return Err(refuse(
                "sync_branch",
                format!("{} is not a fast-forward of {}", a.sync_branch, a.branch),
                RERUN,
            ));
        }
        git.at(root)
            .update_ref(&branch_ref, &a.to, Some(&a.from), "warden sync adopt")?;
        return Ok(());
    }
    if let Some(snap) = &a.snapshot_commit {
        // The working tree already holds the snapshot: make it the branch's
        // commit without touching a single file.
        let g = git.at(root);
        g.read_tree(Some(snap))?;
        g.update_ref(
            &branch_ref,
            snap,
            Some(&a.from),
            "warden sync adopt: uncommitted work",
        )?;
        let _ = g.refresh_index();
    }
    git.at(root)
        .merge_ff_only(&a.to)
        .map_err(|e| {
            Error::rejected(
                "sync adopt",
                "merge",
                format!("the fast-forward to {} failed: {e}", a.sync_branch),
                Some(format!(
                    "{} now holds all your work{}; nothing was lost. Inspect `git status`, then run `git merge --ff-only {}` yourself",
                    a.branch,
                    if a.snapshot_commit.is_some() { " (uncommitted work committed)" } else { "" },
                    a.sync_branch
                )),
            )
        })?;
    Ok(())
}
