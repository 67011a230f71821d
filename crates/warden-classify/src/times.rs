//! Which modification time a dedupe comparison uses (SPEC §13.3): inside a
//! git checkout a file's mtime is when it was checked out, not when it was
//! written, so for a file git tracks with no uncommitted change the last
//! commit time that touched it counts; otherwise the file system's mtime.
//! The source used is recorded with every dedupe decision.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;
use warden_core::paths::RepoPath;
use warden_core::process::Cmd;

/// Where an mtime came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimeSource {
    /// The file system's modification time.
    Filesystem,
    /// The committer time of the last commit that changed the file (git tracks
    /// it and it has no uncommitted change).
    GitCommit,
}

/// The seam: tests use [`FsTimes`]; the CLI uses [`GitTimes`].
pub trait Times: Sync {
    /// The mtime (unix seconds) to compare for `path`, given its file-system
    /// mtime, and where it came from.
    fn mtime(&self, root: &Path, path: &RepoPath, fs_mtime: i64) -> (i64, TimeSource);
}

/// File-system mtimes only.
#[derive(Debug, Clone, Copy, Default)]
pub struct FsTimes;

impl Times for FsTimes {
    fn mtime(&self, _: &Path, _: &RepoPath, fs_mtime: i64) -> (i64, TimeSource) {
        (fs_mtime, TimeSource::Filesystem)
    }
}

/// Last commit time for clean tracked files, through `git` (run by
/// [`warden_core::process`] with the given environment).
#[derive(Debug, Clone, Default)]
pub struct GitTimes {
    pub env: Vec<(OsString, OsString)>,
}

impl GitTimes {
    fn git(&self, root: &Path, args: &[&str]) -> Option<String> {
        let out = Cmd::new("git")
            .args([
                "-c",
                "gc.autoDetach=false",
                "-c",
                "maintenance.autoDetach=false",
            ])
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("GIT_TERMINAL_PROMPT", "0")
            // Reading must not take index.lock or refresh the index.
            .env("GIT_OPTIONAL_LOCKS", "0")
            .cwd(root)
            .timeout(Duration::from_secs(60))
            .run()
            .ok()?;
        out.success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

impl Times for GitTimes {
    fn mtime(&self, root: &Path, path: &RepoPath, fs_mtime: i64) -> (i64, TimeSource) {
        let p = path.as_str();
        // Tracked and unchanged: `status` prints nothing for it and
        // `ls-files` names it.
        let tracked = self
            .git(root, &["ls-files", "--", p])
            .is_some_and(|s| !s.is_empty());
        let clean = tracked
            && self
                .git(root, &["status", "--porcelain", "--", p])
                .is_some_and(|s| s.is_empty());
        if clean
            && let Some(t) = self
                .git(root, &["log", "-1", "--format=%ct", "--", p])
                .and_then(|s| s.parse::<i64>().ok())
        {
            return (t, TimeSource::GitCommit);
        }
        (fs_mtime, TimeSource::Filesystem)
    }
}
