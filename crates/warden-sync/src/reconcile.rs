//! `warden sync reconcile`: build the merged truth of the working branch, its
//! uncommitted work and its fetched upstream on a new branch
//! `sync/<YYYYMMDD>-<RUN>` (step 6).
//!
//! Invariant: the user's working tree, index, stashes, HEAD and existing refs
//! are never written. Everything is built with plumbing:
//! 1. the uncommitted work is snapshotted through a *temporary* index seeded
//!    from a copy of the real one (`add -A`, `write-tree`) and committed on top
//!    of the local tip (`commit-tree`) — its own commit;
//! 2. the snapshot and the upstream are merged with `merge-tree --write-tree`;
//! 3. conflicted paths go to the resolvers: the built-in ones first
//!    (append-only JSONL union, then generators, which run sandboxed in a
//!    temporary worktree outside the repository), then the MergeConflict
//!    event is fired at the enabled plugins ([`crate::hooks`]); their
//!    accepted resolutions are written into the merge's tree only;
//! 4. if every conflict is settled the merge is committed and the sync branch
//!    created (create-only: `update-ref NAME NEW ""`); otherwise the merge with
//!    conflict markers goes to `quarantine/sync-<YYYYMMDD>-<RUN>` and no sync
//!    branch is made.
//!
//! Creating either branch is an action (`create_branch`) of the sync guardian
//! (source kind `collector`) on event `SyncAudited`: the policy must allow it,
//! checked before anything else is done.

use crate::audit::{Commit, FetchGate, FetchMode, FetchResult};
use crate::config::SyncConfig;
use crate::git::{Git, NewCommit, Signature};
use crate::hooks::{GeneratorLauncher, MergeConflictHook, PluginFault};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;
use warden_core::events::ActionKind;
use warden_core::policy::Policy;
use warden_core::{Error, Result};

mod conflicts;

/// The event and source kind under which the sync guardian creates branches.
pub const BRANCH_EVENT: &str = "SyncAudited";
/// The source kind under which the sync guardian creates branches.
pub const BRANCH_SOURCE: &str = "collector";

/// The schema tag of [`ReconcileReport`] (`warden schema sync-reconcile`).
pub const RECONCILE_SCHEMA_ID: &str = "warden.sync-reconcile/v1";
/// Commits listed per side in the report (counts are exact).
pub const LIST_LIMIT: usize = 1000;

/// What one reconcile does: fetch, run id and date (the branch names), signature, dry run, branch.
#[derive(Debug, Clone)]
pub struct ReconcileOptions {
    /// Which remotes to fetch first.
    pub fetch: FetchMode,
    /// The deadline of each fetch.
    pub fetch_timeout: Duration,
    /// The run id (a ULID): names the branches.
    pub run: String,
    /// `YYYYMMDD` (UTC) for the branch names.
    pub date: String,
    /// Author and committer of the commits warden makes.
    pub signature: Signature,
    /// Compute everything, create no ref (and consult no plugin).
    pub dry_run: bool,
    /// The local branch to reconcile; None: the checked-out one. Only the
    /// checked-out branch has uncommitted work to capture.
    pub branch: Option<String>,
}

/// What reconcile needs from outside the sync guardian.
pub struct Hooks<'a> {
    /// Must allow `create_branch` for source `collector` on `SyncAudited`.
    pub policy: &'a Policy,
    /// Fires MergeConflict at the enabled plugins.
    pub merge_conflict: &'a mut dyn MergeConflictHook,
    /// Starts the generators of `.warden/sync.yaml` (sandboxed by the CLI).
    pub generators: &'a dyn GeneratorLauncher,
}

/// What a reconcile came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The local branch (with no uncommitted work) already contains the upstream.
    UpToDate,
    /// The sync branch holds the merged truth; `warden sync adopt RUN` takes it.
    SyncBranch,
    /// Some paths stayed conflicted: the merge is on the quarantine branch.
    Quarantined,
}

/// The uncommitted work, captured as a commit on the local tip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Snapshot {
    /// The commit holding the uncommitted work, parent = the local tip.
    pub commit: String,
    /// The snapshot commit's tree.
    pub tree: String,
    /// Paths it changes relative to the local tip.
    pub paths: Vec<String>,
}

/// A conflicted path a resolver settled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Resolution {
    /// The path settled.
    pub path: String,
    /// `jsonl-union` or `generator` (built in), or `plugin`.
    pub resolver: String,
    /// The plugin key, when a plugin resolved it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    /// The plugin's version, when a plugin resolved it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin_version: Option<String>,
    /// How it was settled, in a sentence.
    pub detail: String,
}

/// A branch reconcile created (create-only: it never moves an existing ref).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CreatedRef {
    /// e.g. `refs/heads/sync/20260101-01J…`
    pub name: String,
    /// The commit the branch points at.
    pub commit: String,
}

/// A conflicted path no resolver settled (it goes to the quarantine branch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Conflict {
    /// The path left conflicted.
    pub path: String,
    /// Why no resolver settled it.
    pub reason: String,
}

/// The reconcile report (`warden.sync-reconcile/v1`), also the ledger details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(
    title = "warden sync reconcile report",
    description = "`warden sync reconcile --format json`; also .runs/<RUN>/reconcile.json and the ledger entry's details"
)]
pub struct ReconcileReport {
    /// Always "warden.sync-reconcile/v1".
    pub schema: String,
    /// This reconcile's run id.
    pub run: String,
    /// The working tree's top directory.
    pub root: String,
    /// Nothing was created: the report says what would be.
    pub dry_run: bool,
    /// The working branch (checked out).
    pub branch: String,
    /// Its upstream, e.g. `refs/remotes/origin/main`.
    pub upstream: String,
    /// The remotes fetched first (empty with `--no-fetch`).
    pub fetch: Vec<FetchResult>,
    /// The working branch's commit.
    pub local_tip: String,
    /// The upstream's commit (after the fetch).
    pub upstream_tip: String,
    /// Their merge base (null for unrelated histories).
    pub merge_base: Option<String>,
    /// The uncommitted work, captured as its own commit (null when clean).
    pub snapshot: Option<Snapshot>,
    /// Local commits brought in (not in the upstream), newest first, at most 1000.
    pub from_local: Vec<Commit>,
    /// How many local commits the upstream lacks.
    pub from_local_count: u64,
    /// Upstream commits brought in (not in the local branch), newest first, at most 1000.
    pub from_remote: Vec<Commit>,
    /// How many upstream commits the local branch lacks.
    pub from_remote_count: u64,
    /// Paths changed on both sides (local commits + uncommitted work, and the
    /// upstream) since the merge base, sorted.
    pub collisions: Vec<String>,
    /// What the reconcile came to.
    pub outcome: Outcome,
    /// `sync/<YYYYMMDD>-<RUN>` (null when up to date or quarantined). With
    /// `dry_run`, the name it would get: no branch is created.
    pub sync_branch: Option<String>,
    /// The commit of the sync branch.
    pub sync_commit: Option<String>,
    /// `quarantine/sync-<YYYYMMDD>-<RUN>` when conflicts remain. With
    /// `dry_run`, the name it would get: no branch is created.
    pub quarantine_branch: Option<String>,
    /// The commit of the quarantine branch.
    pub quarantine_commit: Option<String>,
    /// The MergeConflict event's input (`warden schema event/MergeConflict`,
    /// without the file contents), when git conflicted.
    pub merge_conflict: Option<serde_json::Value>,
    /// The ledgered run that fired MergeConflict at the enabled plugins
    /// (null when git did not conflict, built-in resolvers settled every
    /// path, or in a dry run).
    #[serde(default)]
    pub merge_conflict_run: Option<String>,
    /// Plugins that failed or whose proposals were refused.
    #[serde(default)]
    pub plugin_faults: Vec<PluginFault>,
    /// The conflicted paths a resolver settled.
    pub resolutions: Vec<Resolution>,
    /// What stays conflicted (on the quarantine branch only).
    pub conflicts: Vec<Conflict>,
    /// Digest of `.warden/sync.yaml` (sha256 of "" when absent).
    pub config_digest: String,
    /// The branches this run created (none in a dry run).
    #[serde(default)]
    pub created_refs: Vec<CreatedRef>,
    /// With `--adopt`: the adopt run it led to, or why it adopted nothing
    /// (absent without `--adopt`, and in the ledger entry, which is recorded
    /// before the adopt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopt: Option<crate::adopt::AutoAdopt>,
}

fn commits(v: Vec<crate::git::CommitInfo>) -> Vec<Commit> {
    v.into_iter()
        .map(|c| Commit {
            id: c.id,
            subject: c.subject,
        })
        .collect()
}

fn refuse(field: &str, message: String, hint: &str) -> Error {
    Error::rejected("sync reconcile", field, message, Some(hint.to_string()))
}

/// The checked-out branch, or None when HEAD is detached.
pub fn head_branch(git: &Git, root: &Path) -> Option<String> {
    git.at(root).head_branch().ok().flatten()
}

/// Which branches one `warden sync reconcile` reconciles.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// The branches to reconcile, in order; `None` is the checked-out one.
    pub plan: Vec<Option<String>>,
    /// Branches left out, with why (`--all`: no upstream, or up to date).
    pub skipped: Vec<Skipped>,
    /// The fetch done once for all of them (`None` for the checked-out
    /// branch alone, which fetches in `reconcile` itself).
    pub fetched: Option<Vec<FetchResult>>,
}

/// Choose the branches of a reconcile: the checked-out one (no `branches`,
/// not `all`), the named `branches` (each once; unknown names and branches
/// without upstream are refused later by `reconcile`, with the fix), or with
/// `all` every local branch whose upstream has commits it lacks. For more
/// than the checked-out branch, the remotes involved are fetched once here.
pub fn select_branches(
    git: &Git,
    root: &Path,
    all: bool,
    branches: &[String],
    fetch_mode: &FetchMode,
    timeout: Duration,
) -> Result<Selection> {
    if !all && branches.is_empty() {
        return Ok(Selection {
            plan: vec![None],
            ..Selection::default()
        });
    }
    let mut skipped = Vec::new();
    let (with, without) = branches_with_upstream(git, root)?;
    let chosen: Vec<(String, Option<String>)> = if all {
        skipped = without;
        with
    } else {
        let mut v: Vec<(String, Option<String>)> = Vec::new();
        for b in branches {
            if v.iter().any(|(x, _)| x == b) {
                continue;
            }
            let remote = with
                .iter()
                .find(|(n, _)| n == b)
                .and_then(|(_, r)| r.clone());
            v.push((b.clone(), remote));
        }
        v
    };
    let mut remotes: Vec<String> = chosen.iter().filter_map(|(_, r)| r.clone()).collect();
    remotes.sort();
    remotes.dedup();
    let fetched = fetch(
        git,
        root,
        fetch_mode,
        timeout,
        &remotes,
        &crate::audit::Ungated,
    )?;
    let mut plan = Vec::new();
    for (b, _) in chosen {
        if all && !needs_reconcile(git, root, &b)? {
            skipped.push(Skipped {
                branch: b,
                reason: "up to date: its upstream has nothing it lacks".into(),
            });
        } else {
            plan.push(Some(b));
        }
    }
    Ok(Selection {
        plan,
        skipped,
        fetched: Some(fetched),
    })
}

/// Fetch the remotes `mode` names (Default: `default_remotes`) before
/// reconciling; the first failure refuses the whole reconcile.
pub fn fetch(
    git: &Git,
    root: &Path,
    mode: &FetchMode,
    timeout: Duration,
    default_remotes: &[String],
    gate: &dyn FetchGate,
) -> Result<Vec<FetchResult>> {
    let to_fetch: Vec<String> = match mode {
        FetchMode::Skip => Vec::new(),
        FetchMode::Default => default_remotes.to_vec(),
        FetchMode::Remote(r) => vec![r.clone()],
        FetchMode::All => git
            .at(root)
            .remotes()?
            .into_iter()
            .map(|(n, _)| n)
            .collect(),
    };
    let urls = git.at(root).remotes()?;
    let mut fetched = Vec::new();
    for r in &to_fetch {
        let url = urls
            .iter()
            .find(|(n, _)| n == r)
            .map(|(_, u)| u.as_str())
            .unwrap_or("");
        let res = gate.fetch(url, &mut || crate::git::fetch(&git.at(root), r, timeout));
        if let Err(e) = &res {
            return Err(refuse(
                "fetch",
                format!("fetching {r} failed, so the upstream may be stale: {e}"),
                "fix the remote (network, credentials) or pass --no-fetch to reconcile with what was fetched last",
            ));
        }
        fetched.push(FetchResult {
            remote: r.clone(),
            ok: true,
            error: None,
        });
    }
    Ok(fetched)
}

/// Reconcile one branch with its upstream on a new sync branch (or quarantine
/// branch), never touching the user's working tree, index, stashes, HEAD or
/// existing branches; the steps are in this module's documentation.
pub fn reconcile(
    git: &Git,
    root: &Path,
    config: &SyncConfig,
    opts: &ReconcileOptions,
    gate: &dyn FetchGate,
    hooks: &mut Hooks,
) -> Result<ReconcileReport> {
    let root = git.at(root).toplevel()?;
    // The policy decides first, so a refusal costs nothing.
    hooks
        .policy
        .require(BRANCH_EVENT, BRANCH_SOURCE, ActionKind::CreateBranch)?;
    let branch = WorkingBranch::find(git, &root, opts)?;
    let remotes: Vec<String> = branch.remote.iter().cloned().collect();
    let fetch = fetch(git, &root, &opts.fetch, opts.fetch_timeout, &remotes, gate)?;
    let upstream_tip = branch.upstream_tip(git, &root)?;
    let scratch = tempfile::Builder::new()
        .prefix("warden-sync-")
        .tempdir()
        .map_err(|e| Error::Internal(format!("cannot create a temp dir: {e}")))?;
    let run = Run {
        repo: git.at(&root),
        opts,
        scratch: scratch.path(),
        branch,
        upstream_tip,
    };

    // 1. Snapshot the uncommitted work (only the checked-out branch has any).
    let snapshot = run.capture_uncommitted()?;
    let ours = snapshot
        .as_ref()
        .map_or(run.branch.tip.clone(), |s| s.commit.clone());
    let mut report = run.report(&root, config, fetch, snapshot)?;
    report.collisions = run.collisions(report.merge_base.as_deref(), &ours)?;

    // 2. Merge (3. resolve, or quarantine what stays conflicted).
    if let Some(merged) = run.merge(&ours, config, hooks, &mut report)? {
        let name = format!("sync/{}-{}", opts.date, opts.run);
        run.create_branch(&name, &merged, &mut report)?;
        report.outcome = Outcome::SyncBranch;
        report.sync_branch = Some(name);
        report.sync_commit = Some(merged);
    }
    Ok(report)
}

/// The branch being reconciled, as found before anything is fetched or built.
struct WorkingBranch {
    name: String,
    /// It is checked out, so it may hold uncommitted work.
    checked_out: bool,
    tip: String,
    /// Full name of its upstream, e.g. `refs/remotes/origin/main`.
    upstream: String,
    /// The upstream's remote: what a default fetch fetches.
    remote: Option<String>,
}

impl WorkingBranch {
    /// `--branch`, else the checked-out branch; refused (with the fix) when
    /// HEAD is detached, the branch has no commit or does not exist, or it
    /// has no upstream.
    fn find(git: &Git, root: &Path, opts: &ReconcileOptions) -> Result<WorkingBranch> {
        let head = head_branch(git, root);
        let name = match (&opts.branch, &head) {
            (Some(b), _) => b.clone(),
            (None, Some(h)) => h.clone(),
            (None, None) => {
                return Err(refuse(
                    "HEAD",
                    "HEAD is detached: there is no working branch to reconcile".into(),
                    "check out the branch you work on (`git switch NAME`), or name one with --branch",
                ));
            }
        };
        let checked_out = head.as_deref() == Some(name.as_str());
        let full = format!("refs/heads/{name}");
        let me = match git
            .at(root)
            .refs(&[&full])?
            .into_iter()
            .find(|r| r.name == full)
        {
            Some(r) => r,
            None if checked_out => {
                return Err(refuse(
                    "HEAD",
                    format!("branch {name} has no commit yet"),
                    "make a first commit, or push/pull once, then reconcile",
                ));
            }
            None => {
                return Err(Error::invalid(
                    "(command line)",
                    "--branch",
                    format!("there is no local branch {name}"),
                    Some("`git branch --list` shows the local branches".into()),
                ));
            }
        };
        let upstream = me.upstream.clone().ok_or_else(|| {
            refuse(
                "upstream",
                format!("branch {name} has no upstream to reconcile with"),
                &format!(
                    "set one with `git branch --set-upstream-to=origin/{name} {name}` (or push with -u)"
                ),
            )
        })?;
        Ok(WorkingBranch {
            name,
            checked_out,
            tip: me.oid,
            upstream,
            remote: me.upstream_remote,
        })
    }

    /// The upstream's commit (after the fetch); refused when its ref is gone.
    fn upstream_tip(&self, git: &Git, root: &Path) -> Result<String> {
        git.at(root).resolve(&self.upstream)?.ok_or_else(|| {
            refuse(
                "upstream",
                format!("the upstream {} of {} is gone", self.upstream, self.name),
                "push the branch again (`git push -u`) or set another upstream",
            )
        })
    }
}

/// One reconcile's fixed inputs, shared by its steps.
struct Run<'a> {
    /// Git at the work tree's top level.
    repo: Git,
    opts: &'a ReconcileOptions,
    /// A temporary directory for index copies and tree edits.
    scratch: &'a Path,
    branch: WorkingBranch,
    upstream_tip: String,
}

impl Run<'_> {
    /// Step 1: the uncommitted work as its own commit on the local tip
    /// (None when there is none, or the branch is not checked out).
    fn capture_uncommitted(&self) -> Result<Option<Snapshot>> {
        let (branch, tip) = (&self.branch.name, &self.branch.tip);
        if !self.branch.checked_out {
            return Ok(None);
        }
        let local_tree = self.repo.tree_of(tip)?;
        let snap_tree = self.repo.snapshot_tree(self.scratch)?;
        if snap_tree == local_tree {
            return Ok(None);
        }
        let paths = self.repo.changed_paths(&local_tree, &snap_tree)?;
        let msg = format!(
            "warden sync: uncommitted work on {branch}\n\nCaptured from the working tree by run {} ({} path(s)):\n{}",
            self.opts.run,
            paths.len(),
            paths
                .iter()
                .map(|p| format!("  {p}"))
                .collect::<Vec<_>>()
                .join("\n"),
        );
        let commit = self.commit(&snap_tree, &[tip], &msg)?;
        Ok(Some(Snapshot {
            commit,
            tree: snap_tree,
            paths,
        }))
    }

    /// The report before the merge: both tips, their merge base and the
    /// commits each side brings in.
    fn report(
        &self,
        root: &Path,
        config: &SyncConfig,
        fetch: Vec<FetchResult>,
        snapshot: Option<Snapshot>,
    ) -> Result<ReconcileReport> {
        let (local_tip, upstream_tip) = (&self.branch.tip, &self.upstream_tip);
        let (from_local_count, from_remote_count) =
            self.repo.ahead_behind(local_tip, upstream_tip)?;
        let from_local = self
            .repo
            .commits_between(local_tip, &[upstream_tip], LIST_LIMIT)?;
        let from_remote = self
            .repo
            .commits_between(upstream_tip, &[local_tip], LIST_LIMIT)?;
        Ok(ReconcileReport {
            schema: RECONCILE_SCHEMA_ID.into(),
            run: self.opts.run.clone(),
            root: root.display().to_string(),
            dry_run: self.opts.dry_run,
            branch: self.branch.name.clone(),
            upstream: self.branch.upstream.clone(),
            fetch,
            local_tip: local_tip.clone(),
            upstream_tip: upstream_tip.clone(),
            merge_base: self.repo.merge_base(local_tip, upstream_tip)?,
            snapshot,
            from_local: commits(from_local),
            from_local_count,
            from_remote: commits(from_remote),
            from_remote_count,
            collisions: Vec::new(),
            outcome: Outcome::UpToDate,
            sync_branch: None,
            sync_commit: None,
            quarantine_branch: None,
            quarantine_commit: None,
            merge_conflict: None,
            merge_conflict_run: None,
            plugin_faults: Vec::new(),
            resolutions: Vec::new(),
            conflicts: Vec::new(),
            config_digest: config.digest.hex(),
            created_refs: Vec::new(),
            adopt: None,
        })
    }

    /// The paths `ours` (local commits + uncommitted work) and the upstream
    /// both changed since the merge base, sorted.
    fn collisions(&self, base: Option<&str>, ours: &str) -> Result<Vec<String>> {
        let Some(base) = base else {
            return Ok(Vec::new());
        };
        let mine = self.repo.changed_paths(base, ours)?;
        let theirs: std::collections::BTreeSet<String> = self
            .repo
            .changed_paths(base, &self.upstream_tip)?
            .into_iter()
            .collect();
        Ok(mine.into_iter().filter(|p| theirs.contains(p)).collect())
    }

    /// Step 2: the merged commit for the sync branch; None when up to date,
    /// or when conflicts stayed and the merge went to quarantine.
    fn merge(
        &self,
        ours: &str,
        config: &SyncConfig,
        hooks: &mut Hooks,
        report: &mut ReconcileReport,
    ) -> Result<Option<String>> {
        let upstream_tip = self.upstream_tip.as_str();
        if self.repo.is_ancestor(upstream_tip, ours)? {
            return Ok((ours != self.branch.tip).then(|| ours.to_string()));
        }
        if self.repo.is_ancestor(ours, upstream_tip)? {
            return Ok(Some(upstream_tip.to_string()));
        }
        let mt = self.repo.merge_tree(ours, upstream_tip)?;
        if mt.clean {
            return Ok(Some(self.commit(
                &mt.tree,
                &[ours, upstream_tip],
                &self.merge_message("merge", report),
            )?));
        }
        // 3. Resolve.
        let edits = self.resolve_conflicts(config, &mt, ours, hooks, report)?;
        let tree = if edits.is_empty() {
            mt.tree.clone()
        } else {
            self.repo.edit_tree(self.scratch, &mt.tree, &edits)?
        };
        if report.conflicts.is_empty() {
            let message = self.merge_message("merge (conflicts resolved by warden)", report);
            return Ok(Some(self.commit(&tree, &[ours, upstream_tip], &message)?));
        }
        self.quarantine(&tree, ours, report)?;
        Ok(None)
    }

    /// What stays conflicted: the merge, conflict markers and all, on
    /// `quarantine/sync-<YYYYMMDD>-<RUN>`.
    fn quarantine(&self, tree: &str, ours: &str, report: &mut ReconcileReport) -> Result<()> {
        let list: Vec<String> = report
            .conflicts
            .iter()
            .map(|c| format!("  {}: {}", c.path, c.reason))
            .collect();
        let msg = format!(
            "{}\nStill conflicted (conflict markers in these files):\n{}",
            self.merge_message("QUARANTINED merge of", report),
            list.join("\n"),
        );
        let q = self.commit(tree, &[ours, &self.upstream_tip], &msg)?;
        let name = format!("quarantine/sync-{}-{}", self.opts.date, self.opts.run);
        self.create_branch(&name, &q, report)?;
        report.outcome = Outcome::Quarantined;
        report.quarantine_branch = Some(name);
        report.quarantine_commit = Some(q);
        Ok(())
    }

    fn merge_message(&self, what: &str, report: &ReconcileReport) -> String {
        let (upstream, branch) = (&self.branch.upstream, &self.branch.name);
        let snap_id = report
            .snapshot
            .as_ref()
            .map_or("none".to_string(), |s| s.commit.clone());
        format!(
            "warden sync: {what} {upstream} into {branch}\n\nRun {}: local {} + uncommitted {snap_id} + {upstream} {}.",
            self.opts.run, self.branch.tip, self.upstream_tip,
        )
    }

    /// A commit warden makes, signed and trailed with this run.
    fn commit(&self, tree: &str, parents: &[&str], message: &str) -> Result<String> {
        Ok(self.repo.commit_tree(&NewCommit {
            tree,
            parents,
            message,
            run: &self.opts.run,
            who: &self.opts.signature,
        })?)
    }

    /// Create `refs/heads/<name>` (create-only); nothing in a dry run.
    fn create_branch(&self, name: &str, commit: &str, report: &mut ReconcileReport) -> Result<()> {
        if self.opts.dry_run {
            return Ok(());
        }
        let full = format!("refs/heads/{name}");
        self.repo.create_ref(&full, commit, "warden sync: create")?;
        report.created_refs.push(CreatedRef {
            name: full,
            commit: commit.to_string(),
        });
        Ok(())
    }
}

/// The schema tag of [`ReconcileBatch`] (`warden schema sync-reconcile-batch`).
pub const RECONCILE_BATCH_SCHEMA_ID: &str = "warden.sync-reconcile-batch/v1";

/// `warden sync reconcile --branch NAME… | --all`: one run per branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(
    title = "warden sync reconcile batch",
    description = "`warden sync reconcile --branch NAME… --format json` and `--all`: one reconcile report (and run) per branch"
)]
pub struct ReconcileBatch {
    /// Always "warden.sync-reconcile-batch/v1".
    pub schema: String,
    /// One report per branch reconciled, in order.
    pub runs: Vec<ReconcileReport>,
    /// Branches `--all` did not reconcile, and why.
    pub skipped: Vec<Skipped>,
}

/// A local branch `--all` left alone, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Skipped {
    /// The branch left alone.
    pub branch: String,
    /// Why.
    pub reason: String,
}

/// Whether a name is one of warden's own lanes (never reconciled itself).
pub fn is_lane(branch: &str) -> bool {
    branch.starts_with("sync/") || branch.starts_with("quarantine/sync-")
}

/// A local branch and the remote of its upstream.
pub type Tracking = (String, Option<String>);

/// The local branches with an upstream (warden's lanes aside), and those
/// left out with the reason.
pub fn branches_with_upstream(git: &Git, root: &Path) -> Result<(Vec<Tracking>, Vec<Skipped>)> {
    let mut with = Vec::new();
    let mut skipped = Vec::new();
    for r in git.at(root).refs(&["refs/heads/"])? {
        let name = r.name.trim_start_matches("refs/heads/").to_string();
        if is_lane(&name) {
            continue;
        }
        match (&r.upstream, r.upstream_gone) {
            (None, _) => skipped.push(Skipped {
                branch: name,
                reason: "no upstream".into(),
            }),
            (Some(u), true) => skipped.push(Skipped {
                branch: name,
                reason: format!("its upstream {u} is gone"),
            }),
            (Some(_), false) => with.push((name, r.upstream_remote.clone())),
        }
    }
    Ok((with, skipped))
}

/// Whether `branch` needs reconciling: its upstream has commits it lacks,
/// or (the checked-out branch) the working tree holds uncommitted work
/// outside warden's own ledger.
pub fn needs_reconcile(git: &Git, root: &Path, branch: &str) -> Result<bool> {
    let full = format!("refs/heads/{branch}");
    let Some(me) = git
        .at(root)
        .refs(&[&full])?
        .into_iter()
        .find(|r| r.name == full)
    else {
        return Ok(false);
    };
    let Some(up) = me
        .upstream
        .as_deref()
        .and_then(|u| git.at(root).resolve(u).ok().flatten())
    else {
        return Ok(false);
    };
    let (_, behind) = git.at(root).ahead_behind(&me.oid, &up)?;
    if behind > 0 {
        return Ok(true);
    }
    if head_branch(git, root).as_deref() != Some(branch) {
        return Ok(false);
    }
    let status = git.at(root).status(&[])?;
    Ok(status.entries.iter().any(|e| match e {
        crate::git::Entry::Changed { path, .. }
        | crate::git::Entry::Unmerged { path }
        | crate::git::Entry::Untracked { path } => {
            !path.starts_with(crate::audit::BOOKKEEPING_PREFIX)
        }
        crate::git::Entry::Ignored { .. } => false,
    }))
}
