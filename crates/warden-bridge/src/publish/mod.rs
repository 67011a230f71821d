//! Publishing outputs with git.
//!
//! - Only the safe directories' outputs (and the files a command changed, and
//!   the ledger) are committed, never `-A`, never `commands/`; nothing changed
//!   → no commit. Each commit is built in a private index seeded from HEAD, so
//!   what the user staged is neither committed nor unstaged.
//! - One commit per accepted command, `bridge: results <id> (exit=<code>)`;
//!   one commit for all the dead letters of a pass, `bridge: DLQ <reason>`
//!   (one) or `bridge: DLQ <n> dead letters (<reason> x<k>, …)`;
//!   `bridge: retries index update` for
//!   `meta/retries.json` alone; anything else under the safe directories goes
//!   in `bridge: outputs update`.
//! - `pull --rebase --autostash` + `push`, retried with exponential backoff
//!   and jitter up to a cap, serialised by a kernel lock (`flock` on a file in
//!   the git directory: released when the process dies, nothing to delete by hand).
//! - A rebase that conflicts is aborted and our commits are re-derived on the
//!   new upstream tip (Renovate's approach): our own files are kept, the log is
//!   merged as a union of lines, and the upstream's other files are taken as
//!   they are. Outputs are never dropped.
//! - Commits are authored with the user's git identity and name warden and
//!   the run in a trailer (`Warden-Run: <RUN>`; `Warden-Bridge: …` on the
//!   commits no run made).
//!
//! Files: `git` (every git process), `index_lock`, `groups` (what goes in
//! which commit), `commit` (a pass's commits), `rederive`, `hook`.

mod commit;
mod git;
mod groups;
mod hook;
mod index_lock;
mod rederive;

pub(crate) use git::Git;
pub use git::{FALLBACK_EMAIL, FALLBACK_NAME, GIT_LOCAL_TIMEOUT, GIT_NETWORK_TIMEOUT};
pub use groups::run_trailer;
pub use hook::{install_hook, pre_commit_hook};
pub use index_lock::STALE_LOCK_SECS;

use crate::layout::Layout;
use serde::Serialize;
use std::path::Path;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("git {args}: {message}")]
    Git { args: String, message: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Backoff of the push loop.
#[derive(Debug, Clone)]
pub struct Backoff {
    /// Tries of pull --rebase + push within one publish.
    pub attempts: u32,
    pub base_ms: u64,
    pub cap_ms: u64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            attempts: 8,
            base_ms: 100,
            cap_ms: 5_000,
        }
    }
}

/// A random factor in [0.5, 1.5), from the operating system's random source
/// (1.0 in the unlikely case there is none).
pub fn jitter() -> f64 {
    match warden_core::context::random_u64() {
        Ok(r) => 0.5 + (r >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 1.0,
    }
}

/// `base * 2^attempt`, capped, times a jitter factor.
pub fn delay(attempt: u32, base_ms: u64, cap_ms: u64) -> Duration {
    let raw = base_ms.saturating_mul(1u64 << attempt.min(20)).min(cap_ms);
    Duration::from_millis((raw as f64 * jitter()) as u64)
}

#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct PublishReport {
    /// Commit subjects made, oldest first.
    pub commits: Vec<String>,
    /// What was committed: command ids, and `dead_letter/<key>` for dead letters.
    pub ids: Vec<String>,
    pub pushed: bool,
    /// Tries of pull + push.
    pub attempts: u32,
    /// Whether a conflicting rebase made us re-derive our commits.
    pub rederived: bool,
    /// Why nothing was pushed, when nothing was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The push kept failing (the commits stay local; retried later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A stale `index.lock` left by a killed git was removed (what and why).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale_lock_removed: Option<String>,
}

/// Where the target repository's paths start in the bridge root's work tree:
/// `Some("")` when the target is that work tree, `None` when it is another
/// repository (its changes are not ours to commit).
fn target_prefix(git: &Git, target: Option<&Path>) -> Option<String> {
    let t = git.open_other(target?).ok()?;
    let same = |a: &Path, b: &Path| {
        a.canonicalize()
            .ok()
            .zip(b.canonicalize().ok())
            .is_some_and(|(a, b)| a == b)
    };
    same(&t.top, &git.top).then_some(t.prefix)
}

/// Ids (and `dead_letter/<key>`s) whose outputs wait to be committed or
/// pushed.
pub fn pending_ids(layout: &Layout) -> Vec<String> {
    let Ok(git) = Git::open(&layout.root, &layout.child_env) else {
        return Vec::new();
    };
    let mut ids: Vec<String> = groups::pending_groups(&git, layout, None)
        .map(|groups| groups.into_iter().flat_map(|g| g.ids).collect())
        .unwrap_or_default();
    for id in unpushed_ids(&git) {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

/// Commit pending outputs and push them (when the branch has an upstream).
/// `target`: the target repository's root; when it is the bridge root's own
/// work tree, the files each command changed are committed with its outputs.
pub fn publish(
    layout: &Layout,
    backoff: &Backoff,
    target: Option<&Path>,
) -> Result<PublishReport, PublishError> {
    let git = Git::open(&layout.root, &layout.child_env)?;
    let _lock = git.lock()?;
    let mut report = PublishReport {
        stale_lock_removed: index_lock::clear_stale_index_lock(&git, backoff)?,
        ..PublishReport::default()
    };
    let prefix = target_prefix(&git, target);
    let groups = groups::pending_groups(&git, layout, prefix.as_deref())?;
    commit::commit_groups(&git, &groups, &mut report)?;
    let Some((remote, rref)) = git.upstream() else {
        report.note = Some("the branch has no upstream; committed locally only".into());
        return Ok(report);
    };
    let last_err = push(&git, backoff, &remote, &rref, &mut report)?;
    if report.pushed {
        return Ok(report);
    }
    for id in unpushed_ids(&git) {
        if !report.ids.contains(&id) {
            report.ids.push(id);
        }
    }
    report.error = Some(format!(
        "push to {remote} failed after {} tries: {}",
        report.attempts,
        last_err.lines().next().unwrap_or("")
    ));
    Ok(report)
}

/// `pull --rebase` + `push` until pushed or out of tries (re-deriving our
/// commits when the rebase conflicts); the last error when not pushed.
fn push(
    git: &Git,
    backoff: &Backoff,
    remote: &str,
    rref: &str,
    report: &mut PublishReport,
) -> Result<String, PublishError> {
    let mut last_err = String::new();
    let staged = git.staged_state();
    for attempt in 0..backoff.attempts.max(1) {
        report.attempts = attempt + 1;
        let (pulled, message) = git.pull_rebase()?;
        git.restore_staged(&staged)?;
        if !pulled {
            last_err = message.trim().to_string();
            if git.abort_rebase()? {
                git.restore_staged(&staged)?;
                rederive::rederive(git)?;
                report.rederived = true;
                continue;
            }
            std::thread::sleep(delay(attempt, backoff.base_ms, backoff.cap_ms));
            continue;
        }
        if git.unpushed().is_empty() {
            report.pushed = true;
            if report.commits.is_empty() {
                report.note = Some(format!("nothing to push; up to date with {remote}"));
            }
            return Ok(last_err);
        }
        let (pushed, message) = git.push(remote, rref)?;
        if pushed {
            report.pushed = true;
            return Ok(last_err);
        }
        last_err = message.trim().to_string();
        std::thread::sleep(delay(attempt, backoff.base_ms, backoff.cap_ms));
    }
    Ok(last_err)
}

/// The command ids of local `bridge: results` commits not yet pushed.
fn unpushed_ids(git: &Git) -> Vec<String> {
    git.unpushed()
        .iter()
        .filter_map(|subject| {
            subject
                .strip_prefix("bridge: results ")
                .and_then(|r| r.split(' ').next())
                .map(str::to_string)
        })
        .collect()
}
