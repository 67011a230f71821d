//! What the sync guardian asks of git beyond the core's git layer
//! ([`warden_core::git`], which runs every git process, never prompting,
//! parsing machine formats only): the oldest git it supports, how an audit
//! fetches, and how `sync init` makes an unborn branch track the remote's.
//!
//! The only git commands the guardian runs that write are object writes
//! (`hash-object -w`, `write-tree` and `add` on a *temporary* index,
//! `commit-tree`, `merge-tree --write-tree`), creating refs that must not
//! exist yet, `fetch`, and the two steps of `adopt`.

use std::time::Duration;
use warden_core::Result;
pub use warden_core::git::{
    CommitInfo, ConflictStage, Entry, Fetch, Git, Identity, MergeTree, NewCommit, Porcelain,
    RefInfo, RemoteConfig, Signature, StashInfo, TreeEdit, run_trailer,
};

/// `merge-tree --write-tree` arrived in git 2.38.
pub const MIN_GIT: (u32, u32) = (2, 38);

/// Where a fetch mirrors a remote's tags: `refs/warden/tags/<remote>/`, so no
/// local tag is created or moved.
pub const TAG_MIRROR: &str = "refs/warden/tags/";

/// The git version; an error (exit 2, with the minimum and the fix) when git
/// is missing or older than [`MIN_GIT`].
pub fn check_version(git: &Git) -> Result<(u32, u32, u32)> {
    Ok(git.require_version(
        MIN_GIT,
        "the sync guardian supports (it needs `merge-tree --write-tree`)",
    )?)
}

/// Fetch one remote without merging, within `timeout`, pruning, writing no
/// `FETCH_HEAD`, its tags mirrored under [`TAG_MIRROR`].
pub fn fetch(git: &Git, remote: &str, timeout: Duration) -> Result<()> {
    Ok(git.clone().network_timeout(timeout).fetch(&Fetch {
        remote: Some(remote.to_string()),
        prune: true,
        no_tags: true,
        mirror_tags_under: Some(TAG_MIRROR.to_string()),
        write_fetch_head: false,
    })?)
}

/// Point an unborn HEAD at `branch` and make it track `remote`'s branch of
/// the same name (`branch.<b>.remote`, `branch.<b>.merge`).
pub fn track_unborn(git: &Git, branch: &str, remote: &str) -> Result<()> {
    let head = format!("refs/heads/{branch}");
    git.set_head(&head)?;
    git.config_set(&format!("branch.{branch}.remote"), remote)?;
    git.config_set(&format!("branch.{branch}.merge"), &head)?;
    Ok(())
}
