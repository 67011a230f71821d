//! The bridge's view of git: the work tree holding the bridge root, on top of
//! the one git layer (`warden_core::git`: the process runner, prompts off, a
//! deadline on every call, machine formats, typed errors). Publishing needs
//! only the typed operations below; no bridge file names git as a program.

use super::PublishError;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use warden_core::git::{Git as CoreGit, RefUpdate, Role};

/// The ref `git fast-import` writes a pass's commits to before HEAD is moved.
pub(super) const SCRATCH_REF: &str = "refs/warden/bridge-publish";

/// Who commits when git does not know who the user is (as sync does).
pub const FALLBACK_NAME: &str = "warden";
pub const FALLBACK_EMAIL: &str = "warden@localhost";

/// How long a local git command may run before its tree is killed.
pub const GIT_LOCAL_TIMEOUT: std::time::Duration = warden_core::git::LOCAL_TIMEOUT;
/// How long a network git command (`pull`, `push`, `fetch`) may run.
pub const GIT_NETWORK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(900);

impl From<warden_core::git::Error> for PublishError {
    fn from(e: warden_core::git::Error) -> Self {
        PublishError::Git {
            args: e.op.trim_start_matches("git ").to_string(),
            message: match &e.hint {
                Some(h) => format!("{} ({h})", e.message),
                None => e.message.clone(),
            },
        }
    }
}

/// The git work tree that holds the bridge root.
#[derive(Debug, Clone)]
pub(crate) struct Git {
    pub top: PathBuf,
    /// The bridge root relative to `top` ("" or "sub/dir/").
    pub prefix: String,
    git: CoreGit,
    env: Vec<(OsString, OsString)>,
}

impl Git {
    /// The work tree holding `root`, git run with `env` (the caller's
    /// allow-listed environment). Commits are the user's, as sync's are:
    /// their git identity when git knows who they are (`GIT_AUTHOR_NAME`
    /// and friends, else `user.name`/`user.email`), else warden's; warden
    /// and the run are named in each commit's trailer.
    pub(crate) fn open(root: &Path, env: &[(OsString, OsString)]) -> Result<Git, PublishError> {
        let core = CoreGit::new(root)
            .with_base_env(env.to_vec())
            .network_timeout(GIT_NETWORK_TIMEOUT);
        let (top, prefix) = core.toplevel_and_prefix()?;
        let mut git = core.at(&top);
        if git.identity()?.is_none() {
            for role in ["AUTHOR", "COMMITTER"] {
                git = git
                    .with_env(format!("GIT_{role}_NAME"), FALLBACK_NAME)
                    .with_env(format!("GIT_{role}_EMAIL"), FALLBACK_EMAIL);
            }
        }
        Ok(Git {
            top,
            prefix,
            git,
            env: env.to_vec(),
        })
    }

    /// The same git in another repository (the target), to compare tops.
    pub(super) fn open_other(&self, root: &Path) -> Result<Git, PublishError> {
        Git::open(root, &self.env)
    }

    /// A path of the bridge root, from the top of the work tree.
    pub(super) fn rel(&self, p: &str) -> String {
        format!("{}{p}", self.prefix)
    }

    /// Where git keeps `name` (`index.lock`, `hooks`, …), absolute.
    pub(super) fn git_path(&self, name: &str) -> Result<PathBuf, PublishError> {
        Ok(self.git.git_path(name)?)
    }

    /// The kernel lock serialising publishers of this clone.
    pub(super) fn lock(&self) -> Result<std::fs::File, PublishError> {
        let dir = self.git.common_dir()?;
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("warden-bridge-publish.lock"))?;
        f.lock()?;
        Ok(f)
    }

    /// HEAD's commit; None on a branch with no commits yet.
    pub(super) fn head(&self) -> Result<Option<String>, PublishError> {
        Ok(self.git.resolve("HEAD")?)
    }

    /// The current branch's upstream as (remote, remote ref), e.g.
    /// ("origin", "refs/heads/main").
    pub(super) fn upstream(&self) -> Option<(String, String)> {
        let branch = self.git.head_branch().ok().flatten()?;
        let remote = self
            .git
            .config_get(&format!("branch.{branch}.remote"))
            .ok()
            .flatten()?;
        let rref = self
            .git
            .config_get(&format!("branch.{branch}.merge"))
            .ok()
            .flatten()?;
        let (remote, rref) = (remote.trim(), rref.trim());
        (!remote.is_empty() && !rref.is_empty()).then(|| (remote.to_string(), rref.to_string()))
    }

    /// Subjects of local commits not yet on the upstream, newest first.
    pub(super) fn unpushed(&self) -> Vec<String> {
        self.git
            .commits_between("HEAD", &["@{u}"], 0)
            .map(|v| v.into_iter().map(|c| c.subject).collect())
            .unwrap_or_default()
    }

    /// The subjects of the newest `n` commits of HEAD.
    pub(crate) fn subjects(&self, n: usize) -> Result<Vec<String>, PublishError> {
        Ok(self
            .git
            .commits_between("HEAD", &[], n)?
            .into_iter()
            .map(|c| c.subject)
            .collect())
    }

    /// Paths (from the top) that `git status` lists under `dirs`: changed,
    /// staged or untracked (one by one), never ignored.
    pub(super) fn changed_under(&self, dirs: &[String]) -> Result<Vec<String>, PublishError> {
        let dirs: Vec<&str> = dirs.iter().map(String::as_str).collect();
        Ok(self
            .git
            .status(&dirs)?
            .entries
            .iter()
            .filter(|e| !matches!(e, warden_core::git::Entry::Ignored { .. }))
            .map(|e| e.path().to_string())
            .collect())
    }

    /// `path` (from the top) as HEAD has it; empty when HEAD has none.
    pub(super) fn head_blob(&self, path: &str) -> Vec<u8> {
        self.git
            .show_file("HEAD", path)
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// Whether HEAD has any of `paths` (none on an unborn branch). One process.
    pub(super) fn any_in_head(&self, paths: &[String]) -> Result<bool, PublishError> {
        let names: Vec<String> = paths.iter().map(|p| format!("HEAD:{p}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        Ok(self
            .git
            .objects(&names)?
            .iter()
            .any(|o| matches!(o, warden_core::git::ObjectInfo::Found { .. })))
    }

    /// Which of `paths` git ignores (tracked files never are). One process.
    pub(super) fn ignored(
        &self,
        paths: &BTreeSet<String>,
    ) -> Result<BTreeSet<String>, PublishError> {
        let list: Vec<&str> = paths.iter().map(String::as_str).collect();
        Ok(self.git.ignored(&list)?)
    }

    /// Store the work tree's files as blobs (with their path's filters, as
    /// `git add` does); their ids, in order. One process.
    pub(super) fn hash_paths(&self, paths: &[String]) -> Result<Vec<String>, PublishError> {
        let list: Vec<&str> = paths.iter().map(String::as_str).collect();
        Ok(self.git.hash_files(&list)?)
    }

    /// The blob ids of the work tree's files, storing nothing: with their
    /// filters (`filters`) or of their bytes as they are. One process.
    pub(super) fn blob_ids(
        &self,
        paths: &[String],
        filters: bool,
    ) -> Result<Vec<String>, PublishError> {
        let list: Vec<&str> = paths.iter().map(String::as_str).collect();
        Ok(self.git.blob_ids(&list, filters)?)
    }

    /// The (mode, blob id) of each of `paths` in `commit`, for those it has.
    /// One `cat-file --batch-check` for the ids; the modes of the paths found
    /// from one `ls-tree` of just those (pathspecs cost git a match per
    /// entry and path, so only the few that exist are named).
    pub(super) fn tree_entries(
        &self,
        commit: &str,
        paths: &BTreeSet<String>,
    ) -> Result<BTreeMap<String, (u32, String)>, PublishError> {
        // Paths with a newline cannot be asked (one name per line): they are
        // simply committed whenever present.
        let asked: Vec<&String> = paths.iter().filter(|p| !p.contains('\n')).collect();
        if asked.is_empty() {
            return Ok(BTreeMap::new());
        }
        let names: Vec<String> = asked.iter().map(|p| format!("{commit}:{p}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut found: BTreeMap<String, (u32, String)> = BTreeMap::new();
        for (p, info) in asked.iter().zip(self.git.objects(&names)?) {
            if let warden_core::git::ObjectInfo::Found { oid, kind, .. } = info
                && kind == "blob"
            {
                found.insert((*p).clone(), (0o100644, oid));
            }
        }
        if found.is_empty() {
            return Ok(found);
        }
        let list: Vec<&str> = found.keys().map(String::as_str).collect();
        for e in self.git.ls_tree(commit, &list)? {
            if let Some(v) = found.get_mut(&e.path) {
                v.0 = e.mode;
            }
        }
        Ok(found)
    }

    /// `Name <email> <time> <tz>` of the author and the committer of a
    /// commit made now.
    pub(super) fn idents(&self) -> Result<(String, String), PublishError> {
        let line = |role| -> Result<String, PublishError> {
            self.git.ident_line(role)?.ok_or_else(|| PublishError::Git {
                args: "var".into(),
                message: "git does not know who commits".into(),
            })
        };
        Ok((line(Role::Author)?, line(Role::Committer)?))
    }

    /// A writer of the pass's commits into one pack, reading HEAD's trees
    /// along `paths`; None when the repository is not SHA-1
    /// (or also names its objects in another format).
    pub(super) fn commit_writer(
        &self,
        head: Option<&str>,
        paths: &[&str],
    ) -> Result<Option<warden_core::git::CommitWriter>, PublishError> {
        Ok(self.git.commit_writer(head, paths)?)
    }

    /// Write the pass's commits with one `git fast-import`; the id of mark `n`.
    pub(super) fn fast_import(&self, stream: Vec<u8>, n: usize) -> Result<String, PublishError> {
        let marks = self.git.git_path("warden-bridge-marks")?;
        self.git
            .fast_import(stream, &marks)?
            .into_iter()
            .find(|(m, _)| *m == n as u64)
            .map(|(_, oid)| oid)
            .ok_or_else(|| PublishError::Git {
                args: "fast-import".into(),
                message: format!("no commit for mark :{n}"),
            })
    }

    /// Move HEAD (its branch) from `old` (None: unborn) to `new` and drop the
    /// scratch ref, in one transaction.
    pub(super) fn update_head(
        &self,
        new: &str,
        old: Option<&str>,
        msg: &str,
    ) -> Result<(), PublishError> {
        let updates = [
            RefUpdate::Update {
                name: "HEAD".into(),
                new: new.into(),
                old: Some(old.map_or_else(|| "0".repeat(40), str::to_string)),
            },
            RefUpdate::Delete {
                name: SCRATCH_REF.into(),
                old: None,
            },
        ];
        Ok(self.git.update_refs(&updates, msg)?)
    }

    /// The user's index follows HEAD for `paths` only. One process.
    pub(super) fn reset_paths(&self, paths: &[&str]) -> Result<(), PublishError> {
        Ok(self.git.reset_paths("HEAD", paths)?)
    }

    /// What the user has staged (the index as a tree, and the staged paths),
    /// to put back after `pull --rebase --autostash`, which re-applies its
    /// stash without `--index` and so would leave those changes unstaged.
    pub(super) fn staged_state(&self) -> Option<(String, Vec<String>)> {
        let paths = self.git.staged_paths(Some("HEAD"), None).ok()?;
        if paths.is_empty() {
            return None;
        }
        let tree = self.git.write_tree().ok()?;
        Some((tree, paths))
    }

    pub(super) fn restore_staged(
        &self,
        state: &Option<(String, Vec<String>)>,
    ) -> Result<(), PublishError> {
        if let Some((tree, paths)) = state {
            let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
            self.git.reset_paths(tree, &paths)?;
        }
        Ok(())
    }

    /// `pull --rebase --autostash`: whether it went through, and git's message.
    pub(super) fn pull_rebase(&self) -> Result<(bool, String), PublishError> {
        Ok(self.git.pull_rebase(true)?)
    }

    /// Abort a rebase `pull` left stopped; whether there was one.
    pub(super) fn abort_rebase(&self) -> Result<bool, PublishError> {
        if !self.git.rebase_in_progress()? {
            return Ok(false);
        }
        let _ = self.git.rebase_abort();
        Ok(true)
    }

    /// `push REMOTE HEAD:<ref>`: whether it went through, and git's message.
    pub(super) fn push(&self, remote: &str, rref: &str) -> Result<(bool, String), PublishError> {
        Ok(self.git.push(remote, &format!("HEAD:{rref}"))?)
    }

    // ------------------------------------------------------- re-derivation

    /// Fetch the upstream's remote (its remote-tracking refs).
    pub(super) fn fetch(&self) -> Result<(), PublishError> {
        Ok(self.git.fetch(&warden_core::git::Fetch::default())?)
    }

    pub(super) fn merge_base(&self, a: &str, b: &str) -> Result<String, PublishError> {
        self.git.merge_base(a, b)?.ok_or_else(|| PublishError::Git {
            args: format!("merge-base {a} {b}"),
            message: "no common ancestor".into(),
        })
    }

    /// Commits in `base..HEAD`, oldest first: (id, subject).
    pub(super) fn ours_since(&self, base: &str) -> Result<Vec<(String, String)>, PublishError> {
        let mut v: Vec<(String, String)> = self
            .git
            .commits_between("HEAD", &[base], 0)?
            .into_iter()
            .map(|c| (c.id, c.subject))
            .collect();
        v.reverse();
        Ok(v)
    }

    /// A commit's author header and whole message, to make it again.
    pub(super) fn commit_meta(
        &self,
        rev: &str,
    ) -> Result<warden_core::git::CommitMeta, PublishError> {
        Ok(self.git.commit_meta(rev)?)
    }

    /// Paths that differ between two commits.
    pub(super) fn changed_between(&self, a: &str, b: &str) -> Result<Vec<String>, PublishError> {
        Ok(self.git.changed_paths(a, b)?)
    }

    /// A file at a revision; None when it is not there.
    pub(super) fn file_at(&self, rev: &str, path: &str) -> Result<Option<Vec<u8>>, PublishError> {
        Ok(self.git.show_file(rev, path)?)
    }

    /// Of `paths`, those with local changes (staged or not; untracked ones
    /// left out).
    pub(super) fn edited(&self, paths: &[&str]) -> Result<Vec<String>, PublishError> {
        Ok(self
            .git
            .status(paths)?
            .entries
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    warden_core::git::Entry::Changed { .. }
                        | warden_core::git::Entry::Unmerged { .. }
                )
            })
            .map(|e| e.path().to_string())
            .collect())
    }

    /// Move HEAD's branch to `rev`, keeping the index and the work tree.
    pub(super) fn reset_soft(&self, rev: &str) -> Result<(), PublishError> {
        Ok(self.git.reset_soft(rev)?)
    }

    /// `path` as in `rev`, in the index and the work tree.
    pub(super) fn checkout(&self, rev: &str, path: &str) -> Result<(), PublishError> {
        Ok(self.git.checkout_paths(rev, &[path])?)
    }
}
