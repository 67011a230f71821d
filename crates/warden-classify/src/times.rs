//! Which modification time a dedupe comparison uses: inside a
//! git checkout a file's mtime is when it was checked out, not when it was
//! written, so for a file git tracks with no uncommitted change the last
//! commit time that touched it counts; otherwise the file system's mtime.
//! The source used is recorded with every dedupe decision.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;
use warden_core::git::Git;
use warden_core::paths::RepoPath;

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

/// Last commit time for clean tracked files, through the core's git layer
/// ([`warden_core::git`]) with the given environment.
#[derive(Debug, Clone, Default)]
pub struct GitTimes {
    pub env: Vec<(OsString, OsString)>,
}

impl GitTimes {
    fn git(&self, root: &Path) -> Git {
        Git::new(root)
            .with_base_env(self.env.clone())
            .local_timeout(Duration::from_secs(60))
    }
}

impl Times for GitTimes {
    fn mtime(&self, root: &Path, path: &RepoPath, fs_mtime: i64) -> (i64, TimeSource) {
        let p = path.as_str();
        let git = self.git(root);
        // Tracked and unchanged: `ls-files` names it and `status` lists
        // nothing for it. (Reads take no index lock.)
        let tracked = git.tracked(&[p]).is_ok_and(|t| t.contains(p));
        let clean = tracked && git.status(&[p]).is_ok_and(|s| s.entries.is_empty());
        if clean && let Ok(Some((t, _))) = git.last_change(p, None) {
            return (t, TimeSource::GitCommit);
        }
        (fs_mtime, TimeSource::Filesystem)
    }
}
