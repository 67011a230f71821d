//! `warden sync init [--remote URL]` (step 1): make sure there is a
//! git repository and that it is linked to its remote, once. Re-running it is
//! a no-op; a different URL for an existing `origin` is refused, never replaced.

use crate::git::Git;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::Path;
use warden_core::{Error, Result};

/// The git part of `warden sync init`: the repository and its remotes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SyncInitReport {
    /// The working tree's top directory.
    pub root: String,
    /// `git init` ran.
    pub initialised_git: bool,
    /// The remote added in this run (name, url).
    pub linked: Option<(String, String)>,
    /// The remotes after the run (name, url), sorted.
    pub remotes: Vec<(String, String)>,
    /// In a repository this run created: the remote's default branch that
    /// the (still unborn) local branch now tracks, e.g. "main".
    #[serde(default)]
    pub tracking: Option<String>,
}

/// The schema tag of [`SyncInitOutput`] (`warden schema sync-init`).
pub const SYNC_INIT_SCHEMA_ID: &str = "warden.sync-init/v1";

/// `warden sync init --format json`: the git part and warden's own set-up.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(
    title = "warden sync init report",
    description = "`warden sync init [--remote URL] --format json`"
)]
pub struct SyncInitOutput {
    /// Always "warden.sync-init/v1".
    pub schema: String,
    /// The git repository and its remotes.
    pub git: SyncInitReport,
    /// What `warden init` did (as `warden init --format json`).
    pub warden: warden_core::repo::InitReport,
}

/// Initialise `dir` when it is not inside a repository, then link `url` as
/// `origin` when given and no remote has it yet.
pub fn init(git: &Git, dir: &Path, url: Option<&str>) -> Result<SyncInitReport> {
    init_with_timeout(git, dir, url, std::time::Duration::from_secs(60))
}

/// [`init`]; asking the remote for its default branch waits at most `timeout`.
pub fn init_with_timeout(
    git: &Git,
    dir: &Path,
    url: Option<&str>,
    timeout: std::time::Duration,
) -> Result<SyncInitReport> {
    let (root, initialised_git) = match git.at(dir).toplevel() {
        Ok(r) => (r, false),
        Err(e) if e.kind == warden_core::git::ErrorKind::NotARepo => {
            std::fs::create_dir_all(dir).map_err(|e| Error::Io {
                op: "create",
                path: dir.to_path_buf(),
                source: e,
            })?;
            git.at(dir).init()?;
            (git.at(dir).toplevel()?, true)
        }
        Err(e) => return Err(e.into()),
    };
    let mut remotes = git.at(&root).remotes()?;
    let mut linked = None;
    if let Some(url) = url {
        if url.trim().is_empty() {
            return Err(Error::invalid(
                "(command line)",
                "--remote",
                "the URL is empty",
                Some("give the clone URL, e.g. git@github.com:me/repo.git".into()),
            ));
        }
        if !remotes.iter().any(|(_, u)| u == url) {
            if let Some((_, other)) = remotes.iter().find(|(n, _)| n == "origin") {
                return Err(Error::rejected(
                    ".git/config",
                    "remote.origin.url",
                    format!("origin is already linked to {other}, not {url}"),
                    Some(format!(
                        "warden links a remote once and never replaces it; change it yourself with `git remote set-url origin {url}`"
                    )),
                ));
            }
            git.at(&root).add_remote("origin", url)?;
            linked = Some(("origin".to_string(), url.to_string()));
            remotes = git.at(&root).remotes()?;
        }
    }
    // A repository made here has an unborn branch named by git's default
    // (`master` unless configured): name it after the remote's default
    // branch and track it, so the first fetch and reconcile line up.
    let mut tracking = None;
    if initialised_git && linked.is_some() && git.at(&root).resolve("HEAD")?.is_none() {
        // Unreachable or empty: leave the branch as git made it; linking
        // the remote is what was asked, and it is done.
        if let Ok(Some(branch)) = git
            .at(&root)
            .network_timeout(timeout)
            .remote_default_branch("origin")
        {
            crate::git::track_unborn(&git.at(&root), &branch, "origin")?;
            tracking = Some(branch);
        }
    }
    Ok(SyncInitReport {
        root: root.display().to_string(),
        initialised_git,
        linked,
        remotes,
        tracking,
    })
}
