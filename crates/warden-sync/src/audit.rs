//! `warden sync audit`: fetch without merging, then a deterministic report of
//! everything that differs between a checkout and its remotes.
//! Every list is sorted; the report carries no time, so the same
//! repository state gives the same bytes.
//!
//! Read-only toward the user's work: `status` runs with `--no-optional-locks`
//! (the index is not even refreshed); fetch updates remote-tracking refs and
//! warden's tag mirror `refs/warden/tags/<remote>/*` only. To say whether an
//! *uncommitted* change collides cleanly with the remote, the audit hashes a
//! snapshot into unreferenced objects (a temporary index), nothing more.

use crate::git::{CommitInfo, Entry, Git, NewCommit, RefInfo, Signature};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;
use warden_core::{Error, Result};

/// The schema tag of [`AuditReport`] (`warden schema sync-audit`).
pub const AUDIT_SCHEMA_ID: &str = "warden.sync-audit/v1";

/// Paths under this prefix are warden's own append-only ledger: listed as
/// bookkeeping, never a reason for exit 1 (every audit appends to it).
pub const BOOKKEEPING_PREFIX: &str = ".ledger/";

/// How many commit ids to list per branch and side (counts are always exact).
pub const COMMIT_LIST_LIMIT: usize = 20;

/// Which remotes to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchMode {
    /// `--no-fetch`: use the remote-tracking refs as they are.
    Skip,
    /// The current branch's upstream remote, else `origin`, else the only remote.
    Default,
    /// `--remote NAME`
    Remote(String),
    /// `--all-remotes`
    All,
}

/// How [`audit`] fetches: which remotes, and the deadline of each fetch.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// Which remotes to fetch.
    pub fetch: FetchMode,
    /// The deadline of each fetch.
    pub fetch_timeout: Duration,
}

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions {
            fetch: FetchMode::Default,
            fetch_timeout: Duration::from_secs(120),
        }
    }
}

/// Wraps every fetch, so a fleet can throttle fetches per host.
pub trait FetchGate: Sync {
    /// Run `run` (one fetch from `url`) when the gate allows it; its result is the fetch's.
    fn fetch(&self, url: &str, run: &mut dyn FnMut() -> Result<()>) -> Result<()>;
}

/// No throttling.
#[derive(Debug, Default)]
pub struct Ungated;

impl FetchGate for Ungated {
    fn fetch(&self, _url: &str, run: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        run()
    }
}

/// The audit report (`warden.sync-audit/v1`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(
    title = "warden sync audit report",
    description = "`warden sync audit --format json`; also .runs/<RUN>/audit.json"
)]
pub struct AuditReport {
    /// Always "warden.sync-audit/v1".
    pub schema: String,
    /// The run that recorded this report in the ledger (null when not recorded,
    /// e.g. warden is not initialised there, or in a fleet audit).
    pub run: Option<String>,
    /// The working tree's top directory.
    pub root: String,
    /// Where HEAD is.
    pub head: HeadInfo,
    /// One entry per remote fetched in this run (empty with `--no-fetch`).
    pub fetch: Vec<FetchResult>,
    /// The uncommitted state.
    pub working_tree: WorkingTree,
    /// Every stash entry, newest first.
    pub stashes: Vec<StashEntry>,
    /// Every local branch, by name.
    pub branches: Vec<BranchReport>,
    /// Local tags missing on the remote.
    pub tags: TagReport,
    /// Paths changed on both sides since the merge base, for every branch.
    pub collisions: Vec<Collision>,
    /// In sync, or what needs attention.
    pub summary: Summary,
}

/// Where HEAD is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HeadInfo {
    /// The checked-out branch; null when HEAD is detached.
    pub branch: Option<String>,
    /// null before the first commit.
    pub commit: Option<String>,
    /// Commits reachable from a detached HEAD and from no branch, remote-tracking ref or tag.
    pub unreferenced_commits: u64,
}

/// One remote fetched by the audit, and whether the fetch worked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FetchResult {
    /// The remote's name.
    pub remote: String,
    /// Whether the fetch worked.
    pub ok: bool,
    /// git's message when the fetch failed (credentials are never prompted for).
    pub error: Option<String>,
}

/// One changed path of the working tree or the index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PathChange {
    /// The path (its new name, for a rename or copy).
    pub path: String,
    /// One letter as git reports it: M modified, A added, D deleted, R renamed,
    /// C copied, T type changed.
    pub change: String,
    /// The original path of a rename or copy.
    pub from: Option<String>,
}

/// The uncommitted state: the index, the working tree, conflicts, untracked files.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WorkingTree {
    /// Changes in the index (would be in the next commit).
    pub staged: Vec<PathChange>,
    /// Changes in the working tree not staged.
    pub unstaged: Vec<PathChange>,
    /// Paths with merge conflicts.
    pub unmerged: Vec<String>,
    /// Every untracked, not ignored file (never collapsed to its directory).
    pub untracked: Vec<String>,
    /// Uncommitted changes to warden's own ledger (`.ledger/`): reported, but
    /// not a reason to exit 1, since every recorded run appends to it.
    pub bookkeeping: Vec<String>,
}

/// One stash entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StashEntry {
    /// `stash@{0}`, newest first.
    pub name: String,
    /// The stash commit.
    pub commit: String,
    /// The stash message.
    pub message: String,
}

/// A commit, as listed in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Commit {
    /// The full commit id.
    pub id: String,
    /// The first line of its message.
    pub subject: String,
}

/// Whether a branch has an upstream, and whether it still exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UpstreamState {
    /// An upstream is configured and its ref exists.
    Tracking,
    /// No upstream configured.
    None,
    /// Configured, but the remote branch is gone.
    Gone,
}

/// One local branch against its upstream (or against every remote, without one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BranchReport {
    /// The branch name, without `refs/heads/`.
    pub name: String,
    /// Its tip commit.
    pub commit: String,
    /// It is checked out (HEAD).
    pub current: bool,
    /// A lane warden made (`sync/…`, `quarantine/sync-…`): listed, never a
    /// reason for exit 1 on its own (its work is also on the branch it came from).
    pub warden_lane: bool,
    /// Full ref name of the upstream, e.g. `refs/remotes/origin/main`.
    pub upstream: Option<String>,
    /// Whether the upstream is configured and still there.
    pub upstream_state: UpstreamState,
    /// Local commits not in the upstream. Without a (live) upstream: commits
    /// on no remote-tracking ref at all.
    pub ahead: u64,
    /// Upstream commits not in the local branch.
    pub behind: u64,
    /// Both ahead and behind: a merge (or reconcile) is needed.
    pub diverged: bool,
    /// Up to 20 of the `ahead` commits, newest first.
    pub commits_ahead: Vec<Commit>,
    /// Up to 20 of the `behind` commits, newest first.
    pub commits_behind: Vec<Commit>,
}

/// A tag and the commit it points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TagRef {
    /// The tag name, without `refs/tags/`.
    pub name: String,
    /// The object the local tag points at.
    pub target: String,
}

/// The local tags the remote lacks (or has elsewhere).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TagReport {
    /// The remote the tags were compared with; null when no remote's tags are known
    /// (never fetched by warden, or no remote).
    pub remote: Option<String>,
    /// Local tags missing on that remote or pointing elsewhere there.
    pub unpushed: Vec<TagRef>,
}

/// Where a collision's local change is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LocalSide {
    /// Changed by local commits not in the upstream.
    Committed,
    /// Changed in the working tree (staged, unstaged or untracked).
    Uncommitted,
}

/// A path changed on both sides since the merge base of a branch and its upstream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Collision {
    /// The branch whose two sides changed the path.
    pub branch: String,
    /// The path.
    pub path: String,
    /// Whether the local change is committed or only in the working tree.
    pub local: LocalSide,
    /// Whether git merges this path without a conflict (`merge-tree --write-tree`).
    pub mergeable: bool,
}

/// The verdict: in sync, or what needs attention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    /// True when nothing needs attention (exit 0).
    pub in_sync: bool,
    /// Why not, one short line each, in a fixed order (exit 1 when not empty).
    pub needs_attention: Vec<String>,
}

/// Audit the repository containing `start`.
pub fn audit(
    git: &Git,
    start: &Path,
    opts: &AuditOptions,
    gate: &dyn FetchGate,
) -> Result<AuditReport> {
    let root = git.at(start).toplevel()?;
    audit_root(git, &root, opts, gate)
}

/// Audit the work tree whose top level is `root` (e.g. found by the fleet's
/// discovery, which saves asking git for it).
pub fn audit_root(
    git: &Git,
    root: &Path,
    opts: &AuditOptions,
    gate: &dyn FetchGate,
) -> Result<AuditReport> {
    let root = root.to_path_buf();
    // `git status` is the long pole on a big tree and depends on nothing else
    // here (its ahead/behind line is not used): run it beside the fetch and
    // the ref work.
    std::thread::scope(|s| {
        let status = s.spawn(|| git.at(&root).status(&[]).map_err(Error::from));
        let wait = move || {
            status
                .join()
                .unwrap_or_else(|_| Err(Error::Internal("git status panicked".into())))
        };
        audit_with(git, &root, opts, gate, wait)
    })
}

fn audit_with(
    git: &Git,
    root: &Path,
    opts: &AuditOptions,
    gate: &dyn FetchGate,
    status: impl FnOnce() -> Result<crate::git::Porcelain>,
) -> Result<AuditReport> {
    let repo = git.at(root);
    let remotes = Remotes(repo.remote_config()?);
    // The default remote is the current branch's. Before a fetch HEAD is read
    // on its own; without one, the ref listing below says which branch is HEAD.
    let early_head = if opts.fetch == FetchMode::Skip {
        None
    } else {
        repo.head_branch().ok().flatten()
    };
    let default_remote = remotes.default_for(early_head.as_deref());
    let to_fetch = remotes.to_fetch(&opts.fetch, default_remote.as_ref(), root)?;
    let fetch = remotes.fetch(&repo, &to_fetch, opts.fetch_timeout, gate);

    let refs = repo.refs(&[
        "refs/heads",
        "refs/remotes",
        "refs/tags",
        "refs/warden/tags",
    ])?;
    let head_ref = early_head.or_else(|| checked_out_branch(&refs));
    let BranchAudit {
        branches,
        mut collisions,
        pending,
    } = audit_branches(&repo, &refs, head_ref.as_deref())?;

    let status = status()?;
    let working_tree = working_tree(&status.entries);
    let stashes = stashes(&repo, &status)?;
    if let Some(pending) = pending {
        collisions.extend(pending.collisions(&repo, &working_tree)?);
    }
    collisions.sort_by(|a, b| {
        (&a.branch, &a.path, a.local as u8).cmp(&(&b.branch, &b.path, b.local as u8))
    });
    collisions.dedup();

    let tag_remote = match &opts.fetch {
        FetchMode::Remote(n) => Some(n.clone()),
        FetchMode::Skip => remotes.default_for(head_ref.as_deref()),
        _ => default_remote,
    };
    let tags = tag_report(&refs, tag_remote, &fetch);

    let mut report = AuditReport {
        schema: AUDIT_SCHEMA_ID.into(),
        run: None,
        root: root.display().to_string(),
        head: HeadInfo {
            branch: status.head.clone(),
            commit: status.oid.clone(),
            unreferenced_commits: unreferenced_commits(&repo, &status)?,
        },
        fetch,
        working_tree,
        stashes,
        branches,
        tags,
        collisions,
        summary: Summary {
            in_sync: true,
            needs_attention: Vec::new(),
        },
    };
    report.summary = summarise(&report);
    Ok(report)
}

/// A repository's remotes, and which of them an audit fetches.
struct Remotes(crate::git::RemoteConfig);

impl Remotes {
    fn names(&self) -> Vec<&str> {
        self.0.remotes.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// The remote an audit means by default: the checked-out branch's (when
    /// that remote exists), else `origin`, else the only remote.
    fn default_for(&self, head: Option<&str>) -> Option<String> {
        let names = self.names();
        head.and_then(|h| self.0.branch_remotes.get(h).cloned())
            .filter(|r| names.contains(&r.as_str()))
            .or_else(|| names.contains(&"origin").then(|| "origin".to_string()))
            .or_else(|| (self.0.remotes.len() == 1).then(|| self.0.remotes[0].0.clone()))
    }

    /// The remotes `mode` fetches; a `--remote` naming none is a usage error
    /// with the names there are.
    fn to_fetch(
        &self,
        mode: &FetchMode,
        default: Option<&String>,
        root: &Path,
    ) -> Result<Vec<String>> {
        let names = self.names();
        Ok(match mode {
            FetchMode::Skip => Vec::new(),
            FetchMode::Default => default.into_iter().cloned().collect(),
            FetchMode::All => names.iter().map(|n| n.to_string()).collect(),
            FetchMode::Remote(name) if names.contains(&name.as_str()) => vec![name.clone()],
            FetchMode::Remote(name) => {
                let hint = warden_core::error::did_you_mean(name, names.iter().copied())
                    .unwrap_or_else(|| {
                        if names.is_empty() {
                            "this repository has no remote; link one with `warden sync init --remote URL`".into()
                        } else {
                            format!("the remotes are: {}", names.join(", "))
                        }
                    });
                return Err(Error::invalid(
                    "(command line)",
                    "--remote",
                    format!("no remote named \"{name}\" in {}", root.display()),
                    Some(hint),
                ));
            }
        })
    }

    /// Fetch each remote through `gate`; a failure is reported, not fatal.
    fn fetch(
        &self,
        repo: &Git,
        names: &[String],
        timeout: Duration,
        gate: &dyn FetchGate,
    ) -> Vec<FetchResult> {
        let mut results = Vec::new();
        for name in names {
            let url = self
                .0
                .remotes
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, u)| u.as_str())
                .unwrap_or("");
            let r = gate.fetch(url, &mut || crate::git::fetch(repo, name, timeout));
            results.push(FetchResult {
                remote: name.clone(),
                ok: r.is_ok(),
                error: r.err().map(|e| e.to_string()),
            });
        }
        results
    }
}

/// The branch HEAD points at, as the ref listing says.
fn checked_out_branch(refs: &[RefInfo]) -> Option<String> {
    refs.iter()
        .find(|r| r.is_head && r.name.starts_with("refs/heads/"))
        .map(|r| r.name["refs/heads/".len()..].to_string())
}

/// What the audit learns from the refs alone: one report per local branch,
/// the collisions of diverged branches, and the check of the checked-out
/// branch's uncommitted work that waits for `git status`.
#[derive(Default)]
struct BranchAudit {
    branches: Vec<BranchReport>,
    collisions: Vec<Collision>,
    pending: Option<PendingUncommitted>,
}

fn audit_branches(repo: &Git, refs: &[RefInfo], head: Option<&str>) -> Result<BranchAudit> {
    let by_name: BTreeMap<&str, &RefInfo> = refs.iter().map(|r| (r.name.as_str(), r)).collect();
    let mut audit = BranchAudit::default();
    for r in refs.iter().filter(|r| r.name.starts_with("refs/heads/")) {
        let name = r.name["refs/heads/".len()..].to_string();
        let live_upstream = r.upstream.as_deref().and_then(|u| by_name.get(u).copied());
        let mut b = BranchReport {
            current: head == Some(name.as_str()),
            warden_lane: name.starts_with("sync/") || name.starts_with("quarantine/sync-"),
            name,
            commit: r.oid.clone(),
            upstream: r.upstream.clone(),
            upstream_state: match (&r.upstream, live_upstream) {
                (None, _) => UpstreamState::None,
                (Some(_), Some(_)) => UpstreamState::Tracking,
                (Some(_), None) => UpstreamState::Gone,
            },
            ahead: 0,
            behind: 0,
            diverged: false,
            commits_ahead: Vec::new(),
            commits_behind: Vec::new(),
        };
        match live_upstream {
            Some(up) => audit.compare_with_upstream(repo, r, up, &mut b)?,
            None => count_on_no_remote(repo, r, &mut b)?,
        }
        audit.branches.push(b);
    }
    Ok(audit)
}

impl BranchAudit {
    /// Ahead/behind, the commits of each side, and for a diverged branch the
    /// paths both sides changed.
    fn compare_with_upstream(
        &mut self,
        repo: &Git,
        r: &RefInfo,
        up: &RefInfo,
        b: &mut BranchReport,
    ) -> Result<()> {
        // git already counted them for `%(upstream:track)`.
        let (ahead, behind) = match r.track {
            Some(t) => t,
            None => repo.ahead_behind(&r.name, &up.name)?,
        };
        b.ahead = ahead;
        b.behind = behind;
        b.diverged = ahead > 0 && behind > 0;
        (b.commits_ahead, b.commits_behind) =
            commits_apart(repo, &r.name, &up.name, ahead, behind)?;
        let mut theirs = None;
        if b.diverged {
            let (found, changed) = committed_collisions(repo, &b.name, &r.oid, &up.oid)?;
            self.collisions.extend(found);
            theirs = Some(changed);
        }
        if b.current && behind > 0 {
            // `theirs` is computed after status, and only when there is
            // uncommitted work, unless the divergence already needed it.
            self.pending = Some(PendingUncommitted {
                branch: b.name.clone(),
                local: r.oid.clone(),
                upstream: up.oid.clone(),
                theirs,
            });
        }
        Ok(())
    }
}

/// Up to [`COMMIT_LIST_LIMIT`] commits of each side, newest first: one
/// left-right walk when both sides together are short, else a bounded walk
/// per side.
fn commits_apart(
    repo: &Git,
    local: &str,
    upstream: &str,
    ahead: u64,
    behind: u64,
) -> Result<(Vec<Commit>, Vec<Commit>)> {
    let (mut mine, mut theirs) = (Vec::new(), Vec::new());
    if ahead + behind <= 2 * COMMIT_LIST_LIMIT as u64 {
        if ahead + behind > 0 {
            let (l, r) = repo.commits_left_right(local, upstream)?;
            (mine, theirs) = (commits(l), commits(r));
        }
    } else {
        if ahead > 0 {
            mine = commits(repo.commits_between(local, &[upstream], COMMIT_LIST_LIMIT)?);
        }
        if behind > 0 {
            theirs = commits(repo.commits_between(upstream, &[local], COMMIT_LIST_LIMIT)?);
        }
    }
    mine.truncate(COMMIT_LIST_LIMIT);
    theirs.truncate(COMMIT_LIST_LIMIT);
    Ok((mine, theirs))
}

/// The paths both sides of a diverged branch changed since the merge base,
/// each with whether git merges it cleanly; and the paths the upstream
/// changed (empty for unrelated histories: nothing changed "since the base").
fn committed_collisions(
    repo: &Git,
    branch: &str,
    local: &str,
    upstream: &str,
) -> Result<(Vec<Collision>, Vec<String>)> {
    let theirs = repo.changed_since_base(local, upstream)?;
    let ours = repo.changed_since_base(upstream, local)?;
    let mut found = Vec::new();
    if let (Some(theirs), Some(ours)) = (&theirs, ours) {
        let both = intersect(&ours, theirs);
        if !both.is_empty() {
            found = collisions(repo, branch, local, upstream, both, LocalSide::Committed)?;
        }
    }
    Ok((found, theirs.unwrap_or_default()))
}

/// `paths` as collisions of `branch`, each mergeable unless merging `local`
/// and `upstream` conflicts there.
fn collisions(
    repo: &Git,
    branch: &str,
    local: &str,
    upstream: &str,
    paths: Vec<String>,
    side: LocalSide,
) -> Result<Vec<Collision>> {
    let conflicted: BTreeSet<String> = repo
        .merge_tree(local, upstream)?
        .conflicted_paths()
        .into_iter()
        .collect();
    Ok(paths
        .into_iter()
        .map(|path| Collision {
            branch: branch.to_string(),
            mergeable: !conflicted.contains(&path),
            path,
            local: side,
        })
        .collect())
}

/// Nothing upstream to compare with: what is on no remote at all?
fn count_on_no_remote(repo: &Git, r: &RefInfo, b: &mut BranchReport) -> Result<()> {
    b.ahead = repo.count_not_in(&r.oid, &["--remotes"])?;
    if b.ahead > 0 {
        b.commits_ahead =
            commits(repo.commits_between(&r.oid, &["--remotes"], COMMIT_LIST_LIMIT)?);
    }
    Ok(())
}

fn stashes(repo: &Git, status: &crate::git::Porcelain) -> Result<Vec<StashEntry>> {
    if status.stash == 0 {
        return Ok(Vec::new());
    }
    Ok(repo
        .stashes()?
        .into_iter()
        .map(|s| StashEntry {
            name: s.name,
            commit: s.commit,
            message: s.message,
        })
        .collect())
}

/// Commits reachable from a detached HEAD and from no branch, remote-tracking
/// ref or tag (0 on a branch).
fn unreferenced_commits(repo: &Git, status: &crate::git::Porcelain) -> Result<u64> {
    match (&status.head, &status.oid) {
        (None, Some(oid)) => Ok(repo.count_not_in(oid, &["--branches", "--remotes", "--tags"])?),
        _ => Ok(0),
    }
}

fn commits(v: Vec<CommitInfo>) -> Vec<Commit> {
    v.into_iter()
        .map(|c| Commit {
            id: c.id,
            subject: c.subject,
        })
        .collect()
}

fn intersect(a: &[String], b: &[String]) -> Vec<String> {
    let b: BTreeSet<&String> = b.iter().collect();
    a.iter().filter(|p| b.contains(p)).cloned().collect()
}

/// Every path with an uncommitted change (any kind), sorted, unique.
pub fn uncommitted_paths(w: &WorkingTree) -> Vec<String> {
    let mut all = BTreeSet::new();
    for c in w.staged.iter().chain(&w.unstaged) {
        all.insert(c.path.clone());
        if let Some(f) = &c.from {
            all.insert(f.clone());
        }
    }
    all.extend(w.unmerged.iter().cloned());
    all.extend(w.untracked.iter().cloned());
    all.extend(w.bookkeeping.iter().cloned());
    all.into_iter().collect()
}

/// A commit signature for throwaway commits (deterministic, never referenced).
pub fn probe_signature() -> Signature {
    Signature {
        name: "warden".into(),
        email: "warden@localhost".into(),
        date: "2000-01-01T00:00:00Z".into(),
    }
}

/// The checked-out branch is behind its upstream: whether its uncommitted
/// work collides with the upstream is known only after `git status`.
struct PendingUncommitted {
    branch: String,
    local: String,
    upstream: String,
    /// The paths the upstream changed since the merge base, when the
    /// divergence already needed them.
    theirs: Option<Vec<String>>,
}

impl PendingUncommitted {
    /// The uncommitted paths the upstream also changed, each with whether a
    /// snapshot of the work (an unreferenced probe commit) merges there.
    fn collisions(self, repo: &Git, w: &WorkingTree) -> Result<Vec<Collision>> {
        let mine = uncommitted_paths(w);
        if mine.is_empty() {
            return Ok(Vec::new());
        }
        let theirs = match self.theirs {
            Some(t) => t,
            None => repo
                .changed_since_base(&self.local, &self.upstream)?
                .unwrap_or_default(),
        };
        let both = intersect(&mine, &theirs);
        if both.is_empty() {
            return Ok(Vec::new());
        }
        let scratch = tempfile::Builder::new()
            .prefix("warden-sync-")
            .tempdir()
            .map_err(|e| Error::Internal(format!("cannot create a temp dir: {e}")))?;
        let tree = repo.snapshot_tree(scratch.path())?;
        let probe = repo.commit_tree(&NewCommit {
            tree: &tree,
            parents: &[&self.local],
            message: "warden sync audit probe",
            run: "audit-probe",
            who: &probe_signature(),
        })?;
        collisions(
            repo,
            &self.branch,
            &probe,
            &self.upstream,
            both,
            LocalSide::Uncommitted,
        )
    }
}

fn working_tree(entries: &[Entry]) -> WorkingTree {
    let mut w = WorkingTree::default();
    let mut bookkeeping = BTreeSet::new();
    let is_book = |p: &str| p.starts_with(BOOKKEEPING_PREFIX);
    for e in entries {
        match e {
            Entry::Changed {
                index,
                worktree,
                path,
                orig,
            } => {
                if is_book(path) && orig.as_deref().is_none_or(is_book) {
                    bookkeeping.insert(path.clone());
                    continue;
                }
                if *index != '.' {
                    w.staged.push(PathChange {
                        path: path.clone(),
                        change: index.to_string(),
                        from: orig.clone(),
                    });
                }
                if *worktree != '.' {
                    w.unstaged.push(PathChange {
                        path: path.clone(),
                        change: worktree.to_string(),
                        from: None,
                    });
                }
            }
            Entry::Unmerged { path } => w.unmerged.push(path.clone()),
            Entry::Untracked { path } if is_book(path) => {
                bookkeeping.insert(path.clone());
            }
            Entry::Untracked { path } => w.untracked.push(path.clone()),
            Entry::Ignored { .. } => {}
        }
    }
    w.staged.sort_by(|a, b| a.path.cmp(&b.path));
    w.unstaged.sort_by(|a, b| a.path.cmp(&b.path));
    w.unmerged.sort();
    w.untracked.sort();
    w.bookkeeping = bookkeeping.into_iter().collect();
    w
}

fn tag_report(refs: &[RefInfo], remote: Option<String>, fetch: &[FetchResult]) -> TagReport {
    let Some(remote) = remote else {
        return TagReport {
            remote: None,
            unpushed: Vec::new(),
        };
    };
    let prefix = format!("refs/warden/tags/{remote}/");
    let mirror: BTreeMap<&str, &str> = refs
        .iter()
        .filter_map(|r| Some((r.name.strip_prefix(&prefix)?, r.oid.as_str())))
        .collect();
    let fetched = fetch.iter().any(|f| f.remote == remote && f.ok);
    let local: Vec<(&str, &str)> = refs
        .iter()
        .filter_map(|r| Some((r.name.strip_prefix("refs/tags/")?, r.oid.as_str())))
        .collect();
    if !fetched && mirror.is_empty() {
        // The remote's tags were never mirrored: we cannot tell.
        return TagReport {
            remote: None,
            unpushed: Vec::new(),
        };
    }
    let unpushed = local
        .into_iter()
        .filter(|(name, oid)| mirror.get(name) != Some(oid))
        .map(|(name, oid)| TagRef {
            name: name.to_string(),
            target: oid.to_string(),
        })
        .collect();
    TagReport {
        remote: Some(remote),
        unpushed,
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn summarise(r: &AuditReport) -> Summary {
    let mut why = Vec::new();
    for f in r.fetch.iter().filter(|f| !f.ok) {
        why.push(format!("fetch from {} failed", f.remote));
    }
    let w = &r.working_tree;
    if !w.staged.is_empty() {
        why.push(plural(w.staged.len(), "staged change", "staged changes"));
    }
    if !w.unstaged.is_empty() {
        why.push(plural(
            w.unstaged.len(),
            "unstaged change",
            "unstaged changes",
        ));
    }
    if !w.unmerged.is_empty() {
        why.push(plural(w.unmerged.len(), "unmerged path", "unmerged paths"));
    }
    if !w.untracked.is_empty() {
        why.push(plural(
            w.untracked.len(),
            "untracked file",
            "untracked files",
        ));
    }
    if !r.stashes.is_empty() {
        why.push(plural(r.stashes.len(), "stash", "stashes"));
    }
    if r.head.unreferenced_commits > 0 {
        why.push(format!(
            "detached HEAD has {} on no branch",
            plural(r.head.unreferenced_commits as usize, "commit", "commits")
        ));
    }
    why.extend(
        r.branches
            .iter()
            .filter(|b| !b.warden_lane)
            .filter_map(branch_attention),
    );
    if !r.tags.unpushed.is_empty() {
        why.push(plural(
            r.tags.unpushed.len(),
            "unpushed tag",
            "unpushed tags",
        ));
    }
    let conflicting = r.collisions.iter().filter(|c| !c.mergeable).count();
    if !r.collisions.is_empty() {
        why.push(format!(
            "{} ({} would conflict)",
            plural(r.collisions.len(), "collision", "collisions"),
            conflicting
        ));
    }
    Summary {
        in_sync: why.is_empty(),
        needs_attention: why,
    }
}

/// Why a branch needs attention, if it does.
fn branch_attention(b: &BranchReport) -> Option<String> {
    match b.upstream_state {
        UpstreamState::Tracking if b.diverged => Some(format!(
            "{} diverged: {} ahead, {} behind",
            b.name, b.ahead, b.behind
        )),
        UpstreamState::Tracking if b.ahead > 0 => Some(format!(
            "{}: {} not pushed",
            b.name,
            plural(b.ahead as usize, "commit", "commits")
        )),
        UpstreamState::Tracking if b.behind > 0 => Some(format!(
            "{}: {} not pulled",
            b.name,
            plural(b.behind as usize, "commit", "commits")
        )),
        UpstreamState::Gone => Some(format!(
            "{}: upstream {} is gone",
            b.name,
            b.upstream.as_deref().unwrap_or("?")
        )),
        UpstreamState::None if b.ahead > 0 => Some(format!(
            "{}: no upstream, {} on no remote",
            b.name,
            plural(b.ahead as usize, "commit", "commits")
        )),
        _ => None,
    }
}
