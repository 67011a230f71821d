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
use crate::config::{Generator, SyncConfig};
use crate::git::{ConflictStage, Git, NewCommit, Signature, TreeEdit};
use crate::hooks::{GeneratorLauncher, MergeConflictHook, Pending, PluginFault, Verdict};
use crate::resolve::{self, Sides};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use warden_core::events::ActionKind;
use warden_core::policy::Policy;
use warden_core::process::{End, Sink};
use warden_core::{Error, Result};

/// The event and source kind under which the sync guardian creates branches.
pub const BRANCH_EVENT: &str = "SyncAudited";
pub const BRANCH_SOURCE: &str = "collector";

pub const RECONCILE_SCHEMA_ID: &str = "warden.sync-reconcile/v1";
/// Commits listed per side in the report (counts are exact).
pub const LIST_LIMIT: usize = 1000;

#[derive(Debug, Clone)]
pub struct ReconcileOptions {
    pub fetch: FetchMode,
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
    pub merge_conflict: &'a mut dyn MergeConflictHook,
    pub generators: &'a dyn GeneratorLauncher,
}

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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Snapshot {
    /// The commit holding the uncommitted work, parent = the local tip.
    pub commit: String,
    pub tree: String,
    /// Paths it changes relative to the local tip.
    pub paths: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Resolution {
    pub path: String,
    /// `jsonl-union` or `generator` (built in), or `plugin`.
    pub resolver: String,
    /// The plugin key, when a plugin resolved it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    /// The plugin's version, when a plugin resolved it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin_version: Option<String>,
    pub detail: String,
}

/// A branch reconcile created (create-only: it never moves an existing ref).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CreatedRef {
    /// e.g. `refs/heads/sync/20260101-01J…`
    pub name: String,
    pub commit: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Conflict {
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
    pub run: String,
    pub root: String,
    pub dry_run: bool,
    /// The working branch (checked out).
    pub branch: String,
    /// Its upstream, e.g. `refs/remotes/origin/main`.
    pub upstream: String,
    pub fetch: Vec<FetchResult>,
    pub local_tip: String,
    pub upstream_tip: String,
    pub merge_base: Option<String>,
    /// The uncommitted work, captured as its own commit (null when clean).
    pub snapshot: Option<Snapshot>,
    /// Local commits brought in (not in the upstream), newest first, at most 1000.
    pub from_local: Vec<Commit>,
    pub from_local_count: u64,
    /// Upstream commits brought in (not in the local branch), newest first, at most 1000.
    pub from_remote: Vec<Commit>,
    pub from_remote_count: u64,
    /// Paths changed on both sides (local commits + uncommitted work, and the
    /// upstream) since the merge base, sorted.
    pub collisions: Vec<String>,
    pub outcome: Outcome,
    /// `sync/<YYYYMMDD>-<RUN>` (null when up to date or quarantined). With
    /// `dry_run`, the name it would get: no branch is created.
    pub sync_branch: Option<String>,
    pub sync_commit: Option<String>,
    /// `quarantine/sync-<YYYYMMDD>-<RUN>` when conflicts remain. With
    /// `dry_run`, the name it would get: no branch is created.
    pub quarantine_branch: Option<String>,
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
    pub resolutions: Vec<Resolution>,
    /// What stays conflicted (on the quarantine branch only).
    pub conflicts: Vec<Conflict>,
    /// Digest of `.warden/sync.yaml` (sha256 of "" when absent).
    pub config_digest: String,
    /// The branches this run created (none in a dry run).
    #[serde(default)]
    pub created_refs: Vec<CreatedRef>,
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
    let head = head_branch(git, &root);
    let branch = match (&opts.branch, &head) {
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
    let checked_out = head.as_deref() == Some(branch.as_str());
    let full = format!("refs/heads/{branch}");
    let refs = git.at(&root).refs(&[&full])?;
    let me = match refs.into_iter().find(|r| r.name == full) {
        Some(r) => r,
        None if checked_out => {
            return Err(refuse(
                "HEAD",
                format!("branch {branch} has no commit yet"),
                "make a first commit, or push/pull once, then reconcile",
            ));
        }
        None => {
            return Err(Error::invalid(
                "(command line)",
                "--branch",
                format!("there is no local branch {branch}"),
                Some("`git branch --list` shows the local branches".into()),
            ));
        }
    };
    let upstream = me.upstream.clone().ok_or_else(|| {
        refuse(
            "upstream",
            format!("branch {branch} has no upstream to reconcile with"),
            &format!(
                "set one with `git branch --set-upstream-to=origin/{branch} {branch}` (or push with -u)"
            ),
        )
    })?;
    let remotes: Vec<String> = me.upstream_remote.iter().cloned().collect();
    let fetch = fetch(git, &root, &opts.fetch, opts.fetch_timeout, &remotes, gate)?;

    let local_tip = me.oid.clone();
    let upstream_tip = git.at(&root).resolve(&upstream)?.ok_or_else(|| {
        refuse(
            "upstream",
            format!("the upstream {upstream} of {branch} is gone"),
            "push the branch again (`git push -u`) or set another upstream",
        )
    })?;

    let scratch = tempfile::Builder::new()
        .prefix("warden-sync-")
        .tempdir()
        .map_err(|e| Error::Internal(format!("cannot create a temp dir: {e}")))?;

    // 1. Snapshot the uncommitted work (only the checked-out branch has any).
    let local_tree = git.at(&root).tree_of(&local_tip)?;
    let snap_tree = if checked_out {
        git.at(&root).snapshot_tree(scratch.path())?
    } else {
        local_tree.clone()
    };
    let snapshot = if snap_tree != local_tree {
        let paths = git.at(&root).changed_paths(&local_tree, &snap_tree)?;
        let msg = format!(
            "warden sync: uncommitted work on {branch}\n\nCaptured from the working tree by run {} ({} path(s)):\n{}",
            opts.run,
            paths.len(),
            paths
                .iter()
                .map(|p| format!("  {p}"))
                .collect::<Vec<_>>()
                .join("\n"),
        );
        let commit = git.at(&root).commit_tree(&NewCommit {
            tree: &snap_tree,
            parents: &[&local_tip],
            message: &msg,
            run: &opts.run,
            who: &opts.signature,
        })?;
        Some(Snapshot {
            commit,
            tree: snap_tree.clone(),
            paths,
        })
    } else {
        None
    };
    let ours = snapshot
        .as_ref()
        .map_or(local_tip.clone(), |s| s.commit.clone());

    let merge_base = git.at(&root).merge_base(&local_tip, &upstream_tip)?;
    let (from_local_count, from_remote_count) =
        git.at(&root).ahead_behind(&local_tip, &upstream_tip)?;
    let from_local = commits(git.at(&root).commits_between(
        &local_tip,
        &[&upstream_tip],
        LIST_LIMIT,
    )?);
    let from_remote = commits(git.at(&root).commits_between(
        &upstream_tip,
        &[&local_tip],
        LIST_LIMIT,
    )?);

    let mut report = ReconcileReport {
        schema: RECONCILE_SCHEMA_ID.into(),
        run: opts.run.clone(),
        root: root.display().to_string(),
        dry_run: opts.dry_run,
        branch: branch.clone(),
        upstream: upstream.clone(),
        fetch,
        local_tip: local_tip.clone(),
        upstream_tip: upstream_tip.clone(),
        merge_base,
        snapshot,
        from_local,
        from_local_count,
        from_remote,
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
    };

    if let Some(base) = &report.merge_base {
        let mine = git.at(&root).changed_paths(base, &ours)?;
        let theirs: std::collections::BTreeSet<String> = git
            .at(&root)
            .changed_paths(base, &upstream_tip)?
            .into_iter()
            .collect();
        report.collisions = mine.into_iter().filter(|p| theirs.contains(p)).collect();
    }

    // 2. Merge.
    let merged: Option<String> = if git.at(&root).is_ancestor(&upstream_tip, &ours)? {
        (ours != local_tip).then(|| ours.clone())
    } else if git.at(&root).is_ancestor(&ours, &upstream_tip)? {
        Some(upstream_tip.clone())
    } else {
        let mt = git.at(&root).merge_tree(&ours, &upstream_tip)?;
        let snap_id = report
            .snapshot
            .as_ref()
            .map_or("none".to_string(), |s| s.commit.clone());
        let message = |what: &str| {
            format!(
                "warden sync: {what} {upstream} into {branch}\n\nRun {}: local {local_tip} + uncommitted {snap_id} + {upstream} {upstream_tip}.",
                opts.run,
            )
        };
        if mt.clean {
            Some(git.at(&root).commit_tree(&NewCommit {
                tree: &mt.tree,
                parents: &[&ours, &upstream_tip],
                message: &message("merge"),
                run: &opts.run,
                who: &opts.signature,
            })?)
        } else {
            // 3. Resolve.
            let edits = resolve_conflicts(
                git,
                &root,
                config,
                opts,
                scratch.path(),
                &mt,
                &ours,
                &upstream_tip,
                hooks,
                &mut report,
            )?;
            let tree = if edits.is_empty() {
                mt.tree.clone()
            } else {
                git.at(&root).edit_tree(scratch.path(), &mt.tree, &edits)?
            };
            if report.conflicts.is_empty() {
                Some(git.at(&root).commit_tree(&NewCommit {
                    tree: &tree,
                    parents: &[&ours, &upstream_tip],
                    message: &message("merge (conflicts resolved by warden)"),
                    run: &opts.run,
                    who: &opts.signature,
                })?)
            } else {
                let list: Vec<String> = report
                    .conflicts
                    .iter()
                    .map(|c| format!("  {}: {}", c.path, c.reason))
                    .collect();
                let msg = format!(
                    "warden sync: QUARANTINED merge of {upstream} into {branch}\n\nRun {}: local {local_tip} + uncommitted {snap_id} + {upstream} {upstream_tip}.\nStill conflicted (conflict markers in these files):\n{}",
                    opts.run,
                    list.join("\n"),
                );
                let q = git.at(&root).commit_tree(&NewCommit {
                    tree: &tree,
                    parents: &[&ours, &upstream_tip],
                    message: &msg,
                    run: &opts.run,
                    who: &opts.signature,
                })?;
                let name = format!("quarantine/sync-{}-{}", opts.date, opts.run);
                create_branch(git, &root, opts, &name, &q, &mut report)?;
                report.outcome = Outcome::Quarantined;
                report.quarantine_branch = Some(name);
                report.quarantine_commit = Some(q);
                None
            }
        }
    };
    if let Some(m) = merged {
        let name = format!("sync/{}-{}", opts.date, opts.run);
        create_branch(git, &root, opts, &name, &m, &mut report)?;
        report.outcome = Outcome::SyncBranch;
        report.sync_branch = Some(name);
        report.sync_commit = Some(m);
    }
    Ok(report)
}

fn create_branch(
    git: &Git,
    root: &Path,
    opts: &ReconcileOptions,
    name: &str,
    commit: &str,
    report: &mut ReconcileReport,
) -> Result<()> {
    if opts.dry_run {
        return Ok(());
    }
    let full = format!("refs/heads/{name}");
    git.at(root)
        .create_ref(&full, commit, "warden sync: create")?;
    report.created_refs.push(CreatedRef {
        name: full,
        commit: commit.to_string(),
    });
    Ok(())
}

/// A path a built-in resolver settled: its new blob joins the tree edits and
/// the resolution the report.
fn built_in(
    edits: &mut Vec<TreeEdit>,
    report: &mut ReconcileReport,
    path: String,
    blob: (String, String),
    resolver: &str,
    detail: String,
) {
    edits.push(TreeEdit {
        path: path.clone(),
        blob: Some(blob),
    });
    report.resolutions.push(Resolution {
        path,
        resolver: resolver.into(),
        plugin: None,
        plugin_version: None,
        detail,
    });
}

fn mode_of(stages: &BTreeMap<u8, ConflictStage>) -> String {
    stages
        .get(&2)
        .or(stages.get(&3))
        .map_or("100644".to_string(), |s| s.mode.clone())
}

/// Step 3: built-in resolvers, then the plugins. Fills the report's
/// resolutions and conflicts; returns the tree edits of what was resolved.
#[allow(clippy::too_many_arguments)]
fn resolve_conflicts(
    git: &Git,
    root: &Path,
    config: &SyncConfig,
    opts: &ReconcileOptions,
    scratch: &Path,
    mt: &crate::git::MergeTree,
    ours: &str,
    upstream_tip: &str,
    hooks: &mut Hooks,
    report: &mut ReconcileReport,
) -> Result<Vec<TreeEdit>> {
    let paths = mt.conflicted_paths();
    report.merge_conflict = Some(serde_json::json!({
        "paths": paths,
        "base": report.merge_base,
        "ours": ours,
        "theirs": upstream_tip,
    }));
    let mut edits = Vec::new();
    let mut pending: Vec<(String, BTreeMap<u8, ConflictStage>)> = Vec::new();
    let mut by_path: BTreeMap<String, BTreeMap<u8, ConflictStage>> = BTreeMap::new();
    for s in &mt.stages {
        by_path
            .entry(s.path.clone())
            .or_default()
            .insert(s.stage, s.clone());
    }
    for (path, stages) in by_path {
        if config.append_only.is_match(&path) {
            let sides = Sides {
                base: blob(git, root, stages.get(&1))?,
                ours: blob(git, root, stages.get(&2))?,
                theirs: blob(git, root, stages.get(&3))?,
            };
            match resolve::union_jsonl(&sides) {
                Ok(bytes) => {
                    let oid = git.at(root).hash_blob(&bytes)?;
                    let detail = "append-only JSONL: union of both sides' entries by id";
                    built_in(
                        &mut edits,
                        report,
                        path,
                        (mode_of(&stages), oid),
                        "jsonl-union",
                        detail.into(),
                    );
                }
                Err(why) => report.conflicts.push(Conflict { path, reason: why }),
            }
        } else {
            pending.push((path, stages));
        }
    }
    // Generators, each once over all of its conflicted paths.
    for (globs, generator) in &config.generators {
        let mine: Vec<(String, BTreeMap<u8, ConflictStage>)> = pending
            .iter()
            .filter(|(p, _)| globs.is_match(p))
            .cloned()
            .collect();
        if mine.is_empty() {
            continue;
        }
        pending.retain(|(p, _)| !globs.is_match(p));
        let candidate = git.at(root).edit_tree(scratch, &mt.tree, &edits)?;
        let probe = git.at(root).commit_tree(&NewCommit {
            tree: &candidate,
            parents: &[ours, upstream_tip],
            message: "warden sync: generator input",
            run: &opts.run,
            who: &opts.signature,
        })?;
        match run_generator(git, root, &probe, generator, hooks.generators) {
            Ok(dir) => {
                let wt = dir.path().join("worktree");
                for (path, stages) in mine {
                    let file = wt.join(&path);
                    match std::fs::read(&file) {
                        Ok(bytes) if !resolve::has_conflict_markers(&bytes) => {
                            let oid = git.at(root).hash_blob(&bytes)?;
                            let detail =
                                format!("regenerated by `{}`", generator.command.join(" "));
                            built_in(
                                &mut edits,
                                report,
                                path,
                                (mode_of(&stages), oid),
                                "generator",
                                detail,
                            );
                        }
                        Ok(_) => report.conflicts.push(Conflict {
                            path,
                            reason: format!(
                                "`{}` left conflict markers in it",
                                generator.command.join(" ")
                            ),
                        }),
                        Err(_) => report.conflicts.push(Conflict {
                            path,
                            reason: format!("`{}` did not write it", generator.command.join(" ")),
                        }),
                    }
                }
                remove_worktree(git, root, &wt);
            }
            Err(why) => {
                for (path, _) in mine {
                    report.conflicts.push(Conflict {
                        path,
                        reason: why.clone(),
                    });
                }
            }
        }
    }
    // The plugins, for what the built-in resolvers left.
    let mut answered: BTreeMap<String, String> = BTreeMap::new();
    if !pending.is_empty() && !opts.dry_run {
        let mut items = Vec::new();
        for (path, stages) in &pending {
            // The merge tree's version of the path (with conflict markers);
            // absent when git left nothing there (e.g. modify/delete).
            let merged = git.at(root).show_file(&mt.tree, path)?;
            items.push(Pending {
                path: path.clone(),
                base: blob(git, root, stages.get(&1))?,
                ours: blob(git, root, stages.get(&2))?,
                theirs: blob(git, root, stages.get(&3))?,
                merged,
            });
        }
        let payload =
            crate::hooks::payload(report.merge_base.as_deref(), ours, upstream_tip, &items);
        let d = hooks.merge_conflict.dispatch(payload, &items)?;
        report.merge_conflict_run = d.run;
        report.plugin_faults = d.faults;
        for a in d.answers {
            let Some((_, stages)) = pending.iter().find(|(p, _)| *p == a.path) else {
                continue;
            };
            if answered.contains_key(&a.path) {
                continue; // an earlier plugin (priority, then key) answered it
            }
            answered.insert(a.path.clone(), a.plugin.clone());
            match a.verdict {
                Verdict::Resolved {
                    content,
                    executable,
                } => {
                    let oid = git.at(root).hash_blob(&content)?;
                    let mode = match executable {
                        Some(true) => "100755".to_string(),
                        Some(false) => "100644".to_string(),
                        None => mode_of(stages),
                    };
                    edits.push(TreeEdit {
                        path: a.path.clone(),
                        blob: Some((mode, oid)),
                    });
                    report.resolutions.push(Resolution {
                        path: a.path,
                        resolver: "plugin".into(),
                        detail: format!(
                            "resolved by plugin {} {} (MergeConflict run {})",
                            a.plugin,
                            a.plugin_version,
                            report.merge_conflict_run.as_deref().unwrap_or("-")
                        ),
                        plugin: Some(a.plugin),
                        plugin_version: Some(a.plugin_version),
                    });
                }
                Verdict::Quarantine { reason } => report.conflicts.push(Conflict {
                    path: a.path,
                    reason: format!(
                        "plugin {} {} quarantined it: {reason}",
                        a.plugin, a.plugin_version
                    ),
                }),
            }
        }
    }
    let consulted = if opts.dry_run {
        "; plugins are not consulted in a dry run"
    } else if report.merge_conflict_run.is_some() {
        "; no plugin resolved it"
    } else {
        ""
    };
    for (path, stages) in pending {
        if answered.contains_key(&path) {
            continue;
        }
        let reason = if stages.len() == 3 {
            format!("both sides changed the same lines; no resolver applies{consulted}")
        } else {
            format!(
                "changed on one side and deleted (or added differently) on the other; no resolver applies{consulted}"
            )
        };
        report.conflicts.push(Conflict { path, reason });
    }
    report.conflicts.sort_by(|a, b| a.path.cmp(&b.path));
    report.resolutions.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(edits)
}

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
    pub runs: Vec<ReconcileReport>,
    /// Branches `--all` did not reconcile, and why.
    pub skipped: Vec<Skipped>,
}

/// A local branch `--all` left alone, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Skipped {
    pub branch: String,
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

fn blob(git: &Git, root: &Path, s: Option<&ConflictStage>) -> Result<Option<Vec<u8>>> {
    match s {
        Some(s) => Ok(Some(git.at(root).cat_blob(&s.oid)?)),
        None => Ok(None),
    }
}

/// Check out `commit` in a temporary worktree outside the repository and run
/// the generator there, through `launcher` (the CLI sandboxes it: it may
/// write only beneath the returned directory, which holds `worktree/` and
/// `tmp/`). Returns that directory.
fn run_generator(
    git: &Git,
    root: &Path,
    commit: &str,
    g: &Generator,
    launcher: &dyn GeneratorLauncher,
) -> std::result::Result<tempfile::TempDir, String> {
    let shown = g.command.join(" ");
    let area = tempfile::Builder::new()
        .prefix("warden-generator-")
        .tempdir()
        .map_err(|e| format!("cannot create a temp dir for generator `{shown}`: {e}"))?;
    let dir = area.path().join("worktree");
    let tmp = area.path().join("tmp");
    std::fs::create_dir(&tmp)
        .map_err(|e| format!("cannot create a temp dir for generator `{shown}`: {e}"))?;
    git.at(root)
        .worktree_add_detached(&dir, commit)
        .map_err(|e| format!("cannot check out the merge for the generator: {e}"))?;
    let failed = |why: String| {
        remove_worktree(git, root, &dir);
        why
    };
    let cmd = match launcher.command(&g.command, area.path()) {
        Ok(c) => c,
        Err(why) => return Err(failed(format!("generator `{shown}` was not run: {why}"))),
    };
    let limit = Duration::from_millis(g.timeout_ms.unwrap_or(120_000));
    let done = cmd
        .cwd(&dir)
        .env("TMPDIR", &tmp)
        .stdout(Sink::Null)
        .stderr(Sink::Null)
        .timeout(limit)
        .run();
    let done = match done {
        Ok(d) => d,
        Err(e) => {
            return Err(failed(format!("generator `{shown}` could not start: {e}")));
        }
    };
    match done.end {
        End::Exited(0) => Ok(area),
        End::TimedOut => Err(failed(format!(
            "generator `{shown}` timed out after {} ms",
            limit.as_millis()
        ))),
        _ => {
            let why = done.code.and_then(|c| launcher.explain(c)).map_or(
                format!("generator `{shown}` failed ({})", done.describe()),
                |w| format!("generator `{shown}` was not run: {w}"),
            );
            Err(failed(why))
        }
    }
}

fn remove_worktree(git: &Git, root: &Path, dir: &Path) {
    // Only our own worktree: `worktree prune` would touch the user's others.
    let _ = git.at(root).worktree_remove(dir);
}
