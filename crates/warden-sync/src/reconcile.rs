//! `warden sync reconcile`: build the merged truth of the working branch, its
//! uncommitted work and its fetched upstream on a new branch
//! `sync/<YYYYMMDD>-<RUN>` (seed 000, step 6).
//!
//! Invariant: the user's working tree, index, stashes, HEAD and existing refs
//! are never written. Everything is built with plumbing:
//! 1. the uncommitted work is snapshotted through a *temporary* index seeded
//!    from a copy of the real one (`add -A`, `write-tree`) and committed on top
//!    of the local tip (`commit-tree`) — its own commit;
//! 2. the snapshot and the upstream are merged with `merge-tree --write-tree`;
//! 3. conflicted paths go to the resolvers (append-only JSONL union, then
//!    generators, which run in a temporary worktree outside the repository);
//! 4. if every conflict is settled the merge is committed and the sync branch
//!    created (create-only: `update-ref NAME NEW ""`); otherwise the merge with
//!    conflict markers goes to `quarantine/sync-<YYYYMMDD>-<RUN>` and no sync
//!    branch is made.

use crate::audit::{Commit, FetchGate, FetchMode, FetchResult};
use crate::config::{Generator, SyncConfig};
use crate::git::{ConflictStage, GitBackend, Signature, TreeEdit};
use crate::resolve::{self, Sides};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use warden_core::{Error, Result};

pub const RECONCILE_SCHEMA_ID: &str = "warden.sync.reconcile/v1";
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
    /// Compute everything, create no ref.
    pub dry_run: bool,
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
    /// `jsonl-union` or `generator`.
    pub resolver: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Conflict {
    pub path: String,
    /// Why no resolver settled it.
    pub reason: String,
}

/// The reconcile report (`warden.sync.reconcile/v1`), also the ledger details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(
    title = "warden sync reconcile report",
    description = "`warden sync reconcile --format json`; also .runs/<RUN>/reconcile.json and the ledger entry's details"
)]
pub struct ReconcileReport {
    /// Always "warden.sync.reconcile/v1".
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
    /// `sync/<YYYYMMDD>-<RUN>` (null when up to date or quarantined).
    pub sync_branch: Option<String>,
    pub sync_commit: Option<String>,
    pub quarantine_branch: Option<String>,
    pub quarantine_commit: Option<String>,
    /// The MergeConflict event's input (`warden schema event/MergeConflict`), when git conflicted.
    pub merge_conflict: Option<serde_json::Value>,
    pub resolutions: Vec<Resolution>,
    /// What stays conflicted (on the quarantine branch only).
    pub conflicts: Vec<Conflict>,
    /// Digest of `.warden/sync.yaml` (sha256 of "" when absent).
    pub config_digest: String,
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
    Error::rejected("(repository)", field, message, Some(hint.to_string()))
}

pub fn reconcile(
    git: &dyn GitBackend,
    root: &Path,
    config: &SyncConfig,
    opts: &ReconcileOptions,
    gate: &dyn FetchGate,
) -> Result<ReconcileReport> {
    let root = git.toplevel(root)?;
    let branch = git
        .run(&root, &["symbolic-ref", "--quiet", "--short", "HEAD"])
        .map(|s| s.trim().to_string())
        .map_err(|_| {
            refuse(
                "HEAD",
                "HEAD is detached: there is no working branch to reconcile".into(),
                "check out the branch you work on (`git switch NAME`) and run it again",
            )
        })?;
    let refs = git.refs(&root, &[&format!("refs/heads/{branch}")])?;
    let me = refs.first().ok_or_else(|| {
        refuse(
            "HEAD",
            format!("branch {branch} has no commit yet"),
            "make a first commit, or push/pull once, then reconcile",
        )
    })?;
    let upstream = me.upstream.clone().ok_or_else(|| {
        refuse(
            "upstream",
            format!("branch {branch} has no upstream to reconcile with"),
            &format!(
                "set one with `git branch --set-upstream-to=origin/{branch}` (or push with -u)"
            ),
        )
    })?;
    let remote = me.upstream_remote.clone();

    let mut fetch = Vec::new();
    let to_fetch: Vec<String> = match &opts.fetch {
        FetchMode::Skip => Vec::new(),
        FetchMode::Default => remote.iter().cloned().collect(),
        FetchMode::Remote(r) => vec![r.clone()],
        FetchMode::All => git.remotes(&root)?.into_iter().map(|(n, _)| n).collect(),
    };
    let urls = git.remotes(&root)?;
    for r in &to_fetch {
        let url = urls
            .iter()
            .find(|(n, _)| n == r)
            .map(|(_, u)| u.as_str())
            .unwrap_or("");
        let res = gate.fetch(url, &mut || git.fetch(&root, r, opts.fetch_timeout));
        if let Err(e) = &res {
            return Err(refuse(
                "fetch",
                format!("fetching {r} failed, so the upstream may be stale: {e}"),
                "fix the remote (network, credentials) or pass --no-fetch to reconcile with what was fetched last",
            ));
        }
        fetch.push(FetchResult {
            remote: r.clone(),
            ok: true,
            error: None,
        });
    }

    let local_tip = me.oid.clone();
    let upstream_tip = git.resolve(&root, &upstream)?.ok_or_else(|| {
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

    // 1. Snapshot the uncommitted work.
    let local_tree = git.tree_of(&root, &local_tip)?;
    let snap_tree = git.snapshot_tree(&root, scratch.path())?;
    let snapshot = if snap_tree != local_tree {
        let paths = git.changed_paths(&root, &local_tree, &snap_tree)?;
        let msg = format!(
            "warden sync: uncommitted work on {branch}\n\nCaptured from the working tree by run {} ({} path(s)):\n{}\n",
            opts.run,
            paths.len(),
            paths
                .iter()
                .map(|p| format!("  {p}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        let commit = git.commit_tree(&root, &snap_tree, &[&local_tip], &msg, &opts.signature)?;
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

    let merge_base = git.merge_base(&root, &local_tip, &upstream_tip)?;
    let (from_local_count, from_remote_count) =
        git.ahead_behind(&root, &local_tip, &upstream_tip)?;
    let from_local =
        commits(git.commits_between(&root, &local_tip, &[&upstream_tip], LIST_LIMIT)?);
    let from_remote =
        commits(git.commits_between(&root, &upstream_tip, &[&local_tip], LIST_LIMIT)?);

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
        resolutions: Vec::new(),
        conflicts: Vec::new(),
        config_digest: config.digest.hex(),
    };

    if let Some(base) = &report.merge_base {
        let mine = git.changed_paths(&root, base, &ours)?;
        let theirs: std::collections::BTreeSet<String> = git
            .changed_paths(&root, base, &upstream_tip)?
            .into_iter()
            .collect();
        report.collisions = mine.into_iter().filter(|p| theirs.contains(p)).collect();
    }

    // 2. Merge.
    let merged: Option<String> = if git.is_ancestor(&root, &upstream_tip, &ours)? {
        (ours != local_tip).then(|| ours.clone())
    } else if git.is_ancestor(&root, &ours, &upstream_tip)? {
        Some(upstream_tip.clone())
    } else {
        let mt = git.merge_tree(&root, &ours, &upstream_tip)?;
        let snap_id = report
            .snapshot
            .as_ref()
            .map_or("none".to_string(), |s| s.commit.clone());
        let message = |what: &str| {
            format!(
                "warden sync: {what} {upstream} into {branch}\n\nRun {}: local {local_tip} + uncommitted {snap_id} + {upstream} {upstream_tip}.\n",
                opts.run,
            )
        };
        if mt.clean {
            Some(git.commit_tree(
                &root,
                &mt.tree,
                &[&ours, &upstream_tip],
                &message("merge"),
                &opts.signature,
            )?)
        } else {
            // 3. Resolve.
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
                        base: blob(git, &root, stages.get(&1))?,
                        ours: blob(git, &root, stages.get(&2))?,
                        theirs: blob(git, &root, stages.get(&3))?,
                    };
                    match resolve::union_jsonl(&sides) {
                        Ok(bytes) => {
                            let oid = git.hash_blob(&root, &bytes)?;
                            let mode = stages
                                .get(&2)
                                .or(stages.get(&3))
                                .map_or("100644".to_string(), |s| s.mode.clone());
                            edits.push(TreeEdit {
                                path: path.clone(),
                                blob: Some((mode, oid)),
                            });
                            report.resolutions.push(Resolution {
                                path,
                                resolver: "jsonl-union".into(),
                                detail: "append-only JSONL: union of both sides' entries by id"
                                    .into(),
                            });
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
                let candidate = git.edit_tree(&root, scratch.path(), &mt.tree, &edits)?;
                let probe = git.commit_tree(
                    &root,
                    &candidate,
                    &[&ours, &upstream_tip],
                    "warden sync: generator input",
                    &opts.signature,
                )?;
                match run_generator(git, &root, scratch.path(), &probe, generator) {
                    Ok(dir) => {
                        for (path, stages) in mine {
                            let file = dir.join(&path);
                            match std::fs::read(&file) {
                                Ok(bytes) if !resolve::has_conflict_markers(&bytes) => {
                                    let oid = git.hash_blob(&root, &bytes)?;
                                    let mode = stages
                                        .get(&2)
                                        .or(stages.get(&3))
                                        .map_or("100644".to_string(), |s| s.mode.clone());
                                    edits.push(TreeEdit {
                                        path: path.clone(),
                                        blob: Some((mode, oid)),
                                    });
                                    report.resolutions.push(Resolution {
                                        path,
                                        resolver: "generator".into(),
                                        detail: format!(
                                            "regenerated by `{}`",
                                            generator.command.join(" ")
                                        ),
                                    });
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
                                    reason: format!(
                                        "`{}` did not write it",
                                        generator.command.join(" ")
                                    ),
                                }),
                            }
                        }
                        remove_worktree(git, &root, &dir);
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
            for (path, stages) in pending {
                let reason = if stages.len() == 3 {
                    "both sides changed the same lines; no resolver applies".to_string()
                } else {
                    "changed on one side and deleted (or added differently) on the other; no resolver applies".to_string()
                };
                report.conflicts.push(Conflict { path, reason });
            }
            report.conflicts.sort_by(|a, b| a.path.cmp(&b.path));
            report.resolutions.sort_by(|a, b| a.path.cmp(&b.path));
            let tree = if edits.is_empty() {
                mt.tree.clone()
            } else {
                git.edit_tree(&root, scratch.path(), &mt.tree, &edits)?
            };
            if report.conflicts.is_empty() {
                Some(git.commit_tree(
                    &root,
                    &tree,
                    &[&ours, &upstream_tip],
                    &message("merge (conflicts resolved by warden)"),
                    &opts.signature,
                )?)
            } else {
                let list: Vec<String> = report
                    .conflicts
                    .iter()
                    .map(|c| format!("  {}: {}", c.path, c.reason))
                    .collect();
                let msg = format!(
                    "{}\nStill conflicted (conflict markers in these files):\n{}\n",
                    message("QUARANTINED merge of"),
                    list.join("\n")
                );
                let q =
                    git.commit_tree(&root, &tree, &[&ours, &upstream_tip], &msg, &opts.signature)?;
                let name = format!("quarantine/sync-{}-{}", opts.date, opts.run);
                if !opts.dry_run {
                    git.create_ref(&root, &format!("refs/heads/{name}"), &q)?;
                }
                report.outcome = Outcome::Quarantined;
                report.quarantine_branch = Some(name);
                report.quarantine_commit = Some(q);
                None
            }
        }
    };
    if let Some(m) = merged {
        let name = format!("sync/{}-{}", opts.date, opts.run);
        if !opts.dry_run {
            git.create_ref(&root, &format!("refs/heads/{name}"), &m)?;
        }
        report.outcome = Outcome::SyncBranch;
        report.sync_branch = Some(name);
        report.sync_commit = Some(m);
    }
    Ok(report)
}

fn blob(git: &dyn GitBackend, root: &Path, s: Option<&ConflictStage>) -> Result<Option<Vec<u8>>> {
    match s {
        Some(s) => Ok(Some(git.cat_blob(root, &s.oid)?)),
        None => Ok(None),
    }
}

/// Check out `commit` in a temporary worktree outside the repository and run
/// the generator there. Returns the worktree directory.
fn run_generator(
    git: &dyn GitBackend,
    root: &Path,
    scratch: &Path,
    commit: &str,
    g: &Generator,
) -> std::result::Result<std::path::PathBuf, String> {
    let dir = scratch.join("worktree");
    let d = dir.display().to_string();
    git.run(
        root,
        &[
            "-c",
            "core.hooksPath=/dev/null",
            "worktree",
            "add",
            "--quiet",
            "--detach",
            &d,
            commit,
        ],
    )
    .map_err(|e| format!("cannot check out the merge for the generator: {e}"))?;
    let mut cmd = Command::new(&g.command[0]);
    cmd.args(&g.command[1..])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let failed = |why: String| {
        remove_worktree(git, root, &dir);
        why
    };
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Err(failed(format!(
                "generator `{}` could not start: {e}",
                g.command.join(" ")
            )));
        }
    };
    let limit = Duration::from_millis(g.timeout_ms.unwrap_or(120_000));
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(s)) if s.success() => return Ok(dir),
            Ok(Some(s)) => {
                return Err(failed(format!(
                    "generator `{}` failed ({s})",
                    g.command.join(" ")
                )));
            }
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(failed(format!(
                    "generator `{}` timed out after {} ms",
                    g.command.join(" "),
                    limit.as_millis()
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(failed(format!("generator wait failed: {e}"))),
        }
    }
}

fn remove_worktree(git: &dyn GitBackend, root: &Path, dir: &Path) {
    let d = dir.display().to_string();
    // Only our own worktree: `worktree prune` would touch the user's others.
    let _ = git.run(root, &["worktree", "remove", "--force", &d]);
}
