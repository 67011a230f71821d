//! The typed operations of [`Git`]. Each names the git command it runs, its
//! machine format and whether it reads, writes or reaches the network.

use super::parse::{self, CommitInfo, MergeTree, ObjectInfo, Porcelain, RefInfo, RemoteConfig};
use super::{Call, Error, ErrorKind, Git, Identity, Mode, NewCommit, Result, TreeEdit};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Whose identity [`Git::ident`] asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Author,
    Committer,
}

/// What [`Git::fetch`] fetches.
#[derive(Debug, Clone, Default)]
pub struct Fetch {
    /// The remote; None: the current branch's (git's default).
    pub remote: Option<String>,
    /// Remove remote-tracking refs that no longer exist on the remote.
    pub prune: bool,
    /// Fetch no tags into `refs/tags/`.
    pub no_tags: bool,
    /// Mirror the remote's tags under `<prefix><remote>/` instead (e.g.
    /// `refs/warden/tags/`), so no local tag is created or moved.
    pub mirror_tags_under: Option<String>,
    /// Write `FETCH_HEAD` (git's default; off for audits).
    pub write_fetch_head: bool,
}

/// One change of [`Git::update_refs`], applied in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefUpdate {
    /// Set `name` to `new` if it now points at `old` (None: whatever it is).
    Update {
        name: String,
        new: String,
        old: Option<String>,
    },
    /// Create `name` at `new`; refused if it exists.
    Create { name: String, new: String },
    /// Delete `name` if it now points at `old` (None: whatever it is).
    Delete { name: String, old: Option<String> },
}

fn text(b: Vec<u8>) -> String {
    String::from_utf8_lossy(&b).into_owned()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

/// A path as fast-import reads it: C-style quoted when it must be.
pub fn fast_import_path(p: &str) -> String {
    if !p.starts_with('"') && !p.contains(['\n', '\\', '"']) {
        return p.to_string();
    }
    let mut q = String::from("\"");
    for c in p.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

impl Git {
    // ------------------------------------------------------------ setup

    /// `(major, minor, patch)` of the git program.
    pub fn version(&self) -> Result<(u32, u32, u32)> {
        let out = self.line(Call::new(Mode::Read, ["version"]))?;
        parse::parse_version(&out).ok_or_else(|| {
            Error::new(
                ErrorKind::Unexpected,
                "git version",
                format!("cannot read the git version from {out:?}"),
            )
            .in_dir(&self.dir)
        })
    }

    /// The version, refused (kind [`ErrorKind::TooOld`]) when older than
    /// `min`; `who` completes "the oldest … supports".
    pub fn require_version(&self, min: (u32, u32), who: &str) -> Result<(u32, u32, u32)> {
        let v = self.version().map_err(|mut e| {
            if e.kind == ErrorKind::Missing {
                e.hint = Some(format!("install git {}.{} or newer", min.0, min.1));
            }
            e
        })?;
        if (v.0, v.1) < min {
            return Err(Error::new(
                ErrorKind::TooOld,
                "git version",
                format!(
                    "git {}.{}.{} is older than {}.{}, the oldest {who}",
                    v.0, v.1, v.2, min.0, min.1
                ),
            )
            .with_hint(format!(
                "install git {}.{} or newer and put it first on PATH",
                min.0, min.1
            ))
            .in_dir(&self.dir));
        }
        Ok(v)
    }

    /// `git init` of the handle's directory (created when missing).
    pub fn init(&self) -> Result<()> {
        self.init_with("git init", &["init", "--quiet"])
    }

    /// `git init --bare` of the handle's directory (created when missing):
    /// a remote to push to and clone from.
    pub fn init_bare(&self) -> Result<()> {
        self.init_with("git init --bare", &["init", "--quiet", "--bare"])
    }

    /// Create the handle's directory, then run `args` (a `git init`) in it;
    /// `op` names the operation in errors.
    fn init_with(&self, op: &str, args: &[&str]) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(|e| {
            Error::new(
                ErrorKind::Io,
                op,
                format!("cannot create {}: {e}", self.dir.display()),
            )
            .in_dir(&self.dir)
        })?;
        self.ok(Call::new(Mode::Write, args.iter().copied()))
            .map(|_| ())
    }

    /// Clone `url` into `dest` (a new directory); a network operation.
    pub fn clone_into(&self, url: &str, dest: &Path) -> Result<()> {
        let call = Call::new(Mode::Network, ["clone", "--quiet", "--", url]).arg(dest);
        self.ok(call).map(|_| ())
    }

    /// The top of the working tree that contains the directory (kind
    /// [`ErrorKind::NotARepo`] outside one, or in a bare repository).
    pub fn toplevel(&self) -> Result<PathBuf> {
        Ok(self.toplevel_and_prefix()?.0)
    }

    /// The top of the working tree and the directory's path below it (`""`
    /// or `sub/dir/`).
    pub fn toplevel_and_prefix(&self) -> Result<(PathBuf, String)> {
        let not_a_repo = || {
            Error::new(
                ErrorKind::NotARepo,
                "git rev-parse --show-toplevel",
                format!("{} is not inside a git working tree", self.dir.display()),
            )
            .with_hint("run it inside a git repository, or pass --repo PATH")
            .in_dir(&self.dir)
        };
        if !self.dir.is_dir() {
            return Err(not_a_repo());
        }
        let out = self.exec(Call::new(
            Mode::Read,
            ["rev-parse", "--show-toplevel", "--show-prefix"],
        ))?;
        if !out.success() {
            return Err(not_a_repo());
        }
        let t = text(out.stdout);
        let mut lines = t.lines();
        let top = lines.next().unwrap_or_default().to_string();
        if top.is_empty() {
            return Err(not_a_repo());
        }
        Ok((
            PathBuf::from(top),
            lines.next().unwrap_or_default().to_string(),
        ))
    }

    /// The repository's common git dir (shared by its worktrees), absolute.
    pub fn common_dir(&self) -> Result<PathBuf> {
        let d = self.line(Call::new(Mode::Read, ["rev-parse", "--git-common-dir"]))?;
        Ok(self.absolute(d))
    }

    /// Where git keeps `name` (`rev-parse --git-path`: `hooks`, `index`,
    /// `index.lock`, …), absolute.
    pub fn git_path(&self, name: &str) -> Result<PathBuf> {
        let d = self.line(Call::new(Mode::Read, ["rev-parse", "--git-path", name]))?;
        Ok(self.absolute(d))
    }

    // ----------------------------------------------------------- config

    /// One configuration value (`config --get`); None when unset.
    pub fn config_get(&self, key: &str) -> Result<Option<String>> {
        let call = Call::new(Mode::Read, ["config", "--get", "--", key]);
        let op = call.shown();
        let out = self.exec(call)?;
        match out.code {
            Some(0) => Ok(Some(text(out.stdout).trim_end_matches('\n').to_string())),
            Some(1) => Ok(None),
            _ => Err(self.failed(&op, &out)),
        }
    }

    /// Set one value in the repository's configuration.
    pub fn config_set(&self, key: &str, value: &str) -> Result<()> {
        self.ok(Call::new(Mode::Write, ["config", "--", key, value]))
            .map(|_| ())
    }

    /// The remotes (name, url) and each branch's configured remote, from one
    /// read of the configuration.
    pub fn remote_config(&self) -> Result<RemoteConfig> {
        let call = Call::new(
            Mode::Read,
            [
                "config",
                "-z",
                "--get-regexp",
                r"^(remote\..+\.url|branch\..+\.remote)$",
            ],
        );
        let op = call.shown();
        let out = self.exec(call)?;
        // Exit 1: no such key at all.
        match out.code {
            Some(0) | Some(1) => Ok(parse::parse_remote_config(&out.stdout)),
            _ => Err(self.failed(&op, &out)),
        }
    }

    /// The remotes (name, url), sorted.
    pub fn remotes(&self) -> Result<Vec<(String, String)>> {
        Ok(self.remote_config()?.remotes)
    }

    pub fn add_remote(&self, name: &str, url: &str) -> Result<()> {
        self.ok(Call::new(Mode::Write, ["remote", "add", "--", name, url]))
            .map(|_| ())
    }

    /// `git var GIT_AUTHOR_IDENT`/`GIT_COMMITTER_IDENT` as git would stamp a
    /// commit now (`Name <email> 1700000000 +0000`); None when git does not
    /// know who the user is.
    pub fn ident_line(&self, role: Role) -> Result<Option<String>> {
        let var = match role {
            Role::Author => "GIT_AUTHOR_IDENT",
            Role::Committer => "GIT_COMMITTER_IDENT",
        };
        let out = self.exec(Call::new(Mode::Read, ["var", var]))?;
        // git refuses (exit 128) when it cannot tell who the user is.
        Ok(out
            .success()
            .then(|| text(out.stdout).trim().to_string())
            .filter(|s| !s.is_empty()))
    }

    /// The user's git identity as a commit would get it (`GIT_AUTHOR_NAME`
    /// and friends, else `user.name`/`user.email`); None when unknown.
    pub fn identity(&self) -> Result<Option<Identity>> {
        Ok(self
            .ident_line(Role::Author)?
            .and_then(|l| parse::parse_ident(&l)))
    }

    // ------------------------------------------------------------- refs

    /// The checked-out branch's short name; None when detached (or no repo).
    pub fn head_branch(&self) -> Result<Option<String>> {
        let out = self.exec(Call::new(
            Mode::Read,
            ["symbolic-ref", "--quiet", "--short", "HEAD"],
        ))?;
        Ok(out
            .success()
            .then(|| text(out.stdout).trim().to_string())
            .filter(|s| !s.is_empty()))
    }

    /// Point HEAD at `target` (a full ref name; the branch may be unborn).
    pub fn set_head(&self, target: &str) -> Result<()> {
        self.ok(Call::new(Mode::Write, ["symbolic-ref", "HEAD", target]))
            .map(|_| ())
    }

    /// Refs under the given prefixes (all refs when empty), sorted by name.
    pub fn refs(&self, prefixes: &[&str]) -> Result<Vec<RefInfo>> {
        let call = Call::new(Mode::Read, ["for-each-ref", parse::REFS_FORMAT]).args(prefixes);
        parse::parse_refs(&self.ok(call)?).map_err(|e| e.in_dir(&self.dir))
    }

    /// The commit `rev` names (`rev^{commit}`); None when it names none.
    pub fn resolve(&self, rev: &str) -> Result<Option<String>> {
        self.resolve_object(&format!("{rev}^{{commit}}"))
    }

    /// The object any revision expression names (`rev-parse --verify`):
    /// `tree:path`, `HEAD^{tree}`, …; None when it names none.
    pub fn resolve_object(&self, spec: &str) -> Result<Option<String>> {
        let out = self.exec(Call::new(
            Mode::Read,
            ["rev-parse", "--verify", "--quiet", "--end-of-options", spec],
        ))?;
        Ok(out
            .success()
            .then(|| text(out.stdout).trim().to_string())
            .filter(|s| !s.is_empty()))
    }

    /// The tree of a commit.
    pub fn tree_of(&self, commit: &str) -> Result<String> {
        let spec = format!("{commit}^{{tree}}");
        self.resolve_object(&spec)?.ok_or_else(|| {
            Error::new(
                ErrorKind::Failed,
                format!("git rev-parse {spec}"),
                "no such commit",
            )
            .in_dir(&self.dir)
        })
    }

    /// Create `name` at `oid`; fails if it exists already.
    pub fn create_ref(&self, name: &str, oid: &str, reason: &str) -> Result<()> {
        self.ok(Call::new(
            Mode::Write,
            ["update-ref", "-m", reason, name, oid, ""],
        ))
        .map(|_| ())
    }

    /// Set `name` to `new` if it points at `old` now (a compare-and-swap;
    /// None: whatever it is).
    pub fn update_ref(&self, name: &str, new: &str, old: Option<&str>, reason: &str) -> Result<()> {
        let call = Call::new(Mode::Write, ["update-ref", "-m", reason, name, new]).args(old);
        self.ok(call).map(|_| ())
    }

    /// Several ref changes in one transaction (`update-ref --stdin -z`): all
    /// or none.
    pub fn update_refs(&self, updates: &[RefUpdate], reason: &str) -> Result<()> {
        let mut input = Vec::new();
        let mut push = |fields: &[&str]| {
            for f in fields {
                input.extend_from_slice(f.as_bytes());
                input.push(0);
            }
        };
        for u in updates {
            match u {
                RefUpdate::Update { name, new, old } => {
                    push(&[&format!("update {name}"), new, old.as_deref().unwrap_or("")])
                }
                RefUpdate::Create { name, new } => push(&[&format!("create {name}"), new]),
                RefUpdate::Delete { name, old } => {
                    push(&[&format!("delete {name}"), old.as_deref().unwrap_or("")])
                }
            }
        }
        self.ok(Call::new(Mode::Write, ["update-ref", "-m", reason, "--stdin", "-z"]).stdin(input))
            .map(|_| ())
    }

    /// The stash entries, newest first.
    pub fn stashes(&self) -> Result<Vec<parse::StashInfo>> {
        if self.resolve("refs/stash")?.is_none() {
            return Ok(Vec::new());
        }
        let out = self.ok(Call::new(
            Mode::Read,
            [
                "log",
                "--walk-reflogs",
                "--format=%gd%x00%H%x00%gs",
                "refs/stash",
                "--",
            ],
        ))?;
        Ok(parse::parse_stashes(&out))
    }

    /// The working trees of the repository (the main one first).
    pub fn worktrees(&self) -> Result<Vec<parse::Worktree>> {
        let out = self.ok(Call::new(
            Mode::Read,
            ["worktree", "list", "--porcelain", "-z"],
        ))?;
        Ok(parse::parse_worktrees(&out))
    }

    /// Check out `commit` detached in a new working tree at `path` (no
    /// hooks run).
    pub fn worktree_add_detached(&self, path: &Path, commit: &str) -> Result<()> {
        let call = Call::new(Mode::Write, ["worktree", "add", "--quiet", "--detach"])
            .config("core.hooksPath=/dev/null")
            .arg(path)
            .arg(commit);
        self.ok(call).map(|_| ())
    }

    /// Remove the working tree at `path` (only that one; no prune).
    pub fn worktree_remove(&self, path: &Path) -> Result<()> {
        self.ok(Call::new(Mode::Write, ["worktree", "remove", "--force"]).arg(path))
            .map(|_| ())
    }

    // ---------------------------------------------------------- history

    /// `(left, right)` = numbers of commits only in `a`, only in `b`.
    pub fn ahead_behind(&self, a: &str, b: &str) -> Result<(u64, u64)> {
        let range = format!("{a}...{b}");
        let out = self.line(Call::new(
            Mode::Read,
            ["rev-list", "--left-right", "--count", &range, "--"],
        ))?;
        let mut it = out.split_whitespace().map(str::parse::<u64>);
        match (it.next(), it.next()) {
            (Some(Ok(l)), Some(Ok(r))) => Ok((l, r)),
            _ => Err(Error::new(
                ErrorKind::Unexpected,
                "git rev-list --left-right --count",
                format!("unexpected output {out:?}"),
            )
            .in_dir(&self.dir)),
        }
    }

    /// Commits reachable from `tip` and from none of `not` (at most `limit`,
    /// newest first; `limit` 0: all).
    pub fn commits_between(
        &self,
        tip: &str,
        not: &[&str],
        limit: usize,
    ) -> Result<Vec<CommitInfo>> {
        let mut call = Call::new(Mode::Read, ["log", "--format=%H%x00%s"]);
        if limit > 0 {
            call = call.arg(format!("--max-count={limit}"));
        }
        let call = call.arg(tip).arg("--not").args(not).arg("--");
        Ok(parse::parse_commits(&self.ok(call)?))
    }

    /// Number of commits reachable from `tip` but from none of `not` (revs or
    /// options such as `--remotes=origin`).
    pub fn count_not_in(&self, tip: &str, not: &[&str]) -> Result<u64> {
        let call = Call::new(Mode::Read, ["rev-list", "--count", tip, "--not"])
            .args(not)
            .arg("--");
        let out = self.line(call)?;
        out.parse().map_err(|_| {
            Error::new(
                ErrorKind::Unexpected,
                "git rev-list --count",
                format!("unexpected output {out:?}"),
            )
            .in_dir(&self.dir)
        })
    }

    /// All commits only in `a` and only in `b` (newest first), one walk.
    pub fn commits_left_right(
        &self,
        a: &str,
        b: &str,
    ) -> Result<(Vec<CommitInfo>, Vec<CommitInfo>)> {
        let range = format!("{a}...{b}");
        let out = self.ok(Call::new(
            Mode::Read,
            [
                "log",
                "--left-right",
                "--format=%m%x00%H%x00%s",
                &range,
                "--",
            ],
        ))?;
        Ok(parse::parse_left_right(&out))
    }

    /// The best common ancestor; None when there is none.
    pub fn merge_base(&self, a: &str, b: &str) -> Result<Option<String>> {
        let call = Call::new(Mode::Read, ["merge-base", a, b]);
        let op = call.shown();
        let out = self.exec(call)?;
        match out.code {
            Some(0) => Ok(Some(text(out.stdout).trim().to_string())),
            Some(1) => Ok(None),
            _ => Err(self.failed(&op, &out)),
        }
    }

    /// Whether `a` is an ancestor of (or equal to) `b`.
    pub fn is_ancestor(&self, a: &str, b: &str) -> Result<bool> {
        let call = Call::new(Mode::Read, ["merge-base", "--is-ancestor", a, b]);
        let op = call.shown();
        let out = self.exec(call)?;
        match out.code {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            _ => Err(self.failed(&op, &out)),
        }
    }

    /// The committer time (unix seconds) and day (`YYYY-MM-DD`) of the last
    /// commit reachable from HEAD that changed `path`, optionally only
    /// commits after `since` (a git date); None when there is none.
    pub fn last_change(&self, path: &str, since: Option<&str>) -> Result<Option<(i64, String)>> {
        let mut call = Call::new(Mode::Read, ["log", "-1", "--format=%ct%x00%cs"]);
        if let Some(s) = since {
            call = call.arg(format!("--since={s}"));
        }
        let out = self.exec(call.args(["--", path]))?;
        if !out.success() {
            // No commits yet.
            return Ok(None);
        }
        let t = text(out.stdout);
        let Some((secs, day)) = t.trim().split_once('\0') else {
            return Ok(None);
        };
        Ok(secs.parse().ok().map(|s| (s, day.to_string())))
    }

    // ------------------------------------------------------ trees, diffs

    /// Working-tree status (porcelain v2, untracked files listed one by one,
    /// dirty submodules ignored), never taking the index lock. `paths`
    /// limits it (all when empty).
    pub fn status(&self, paths: &[&str]) -> Result<Porcelain> {
        let mut call = Call::new(
            Mode::Read,
            [
                "--no-optional-locks",
                "status",
                "--porcelain=v2",
                "-z",
                "--branch",
                "--show-stash",
                "-uall",
                "--ignore-submodules=dirty",
            ],
        );
        if !paths.is_empty() {
            call = call.arg("--").args(paths);
        }
        parse::parse_status(&self.ok(call)?).map_err(|e| e.in_dir(&self.dir))
    }

    /// Paths changed from the merge base of `a` and `b` to `b`, sorted;
    /// None when they have no merge base.
    pub fn changed_since_base(&self, a: &str, b: &str) -> Result<Option<Vec<String>>> {
        let range = format!("{a}...{b}");
        let call = Call::new(
            Mode::Read,
            [
                "diff",
                "--name-only",
                "-z",
                "--no-renames",
                "--no-ext-diff",
                "--no-textconv",
                "--no-relative",
                &range,
                "--",
            ],
        )
        .env("LC_ALL", "C");
        let op = call.shown();
        let out = self.exec(call)?;
        if !out.success() {
            if String::from_utf8_lossy(&out.stderr).contains("no merge base") {
                return Ok(None);
            }
            return Err(self.failed(&op, &out));
        }
        Ok(Some(sorted(parse::nul_list(&out.stdout))))
    }

    /// Paths that differ between two tree-ishes, sorted.
    pub fn changed_paths(&self, from: &str, to: &str) -> Result<Vec<String>> {
        let out = self.ok(Call::new(
            Mode::Read,
            [
                "diff-tree",
                "-r",
                "-z",
                "--name-only",
                "--no-renames",
                "--no-commit-id",
                from,
                to,
            ],
        ))?;
        Ok(sorted(parse::nul_list(&out)))
    }

    /// Files that differ between `rev` and the working tree (committed,
    /// staged or not), sorted; deleted ones left out when `deleted` is false.
    pub fn changed_in_worktree(&self, rev: &str, deleted: bool) -> Result<Vec<String>> {
        let mut call = Call::new(
            Mode::Read,
            [
                "diff",
                "--name-only",
                "-z",
                "--no-renames",
                "--no-ext-diff",
                "--no-relative",
            ],
        );
        if !deleted {
            call = call.arg("--diff-filter=d");
        }
        Ok(sorted(parse::nul_list(&self.ok(call.args([rev, "--"]))?)))
    }

    /// The staged paths (index against `against`, HEAD when None), sorted;
    /// `filter` is git's `--diff-filter` letters (`ACMR`), all when None.
    pub fn staged_paths(&self, against: Option<&str>, filter: Option<&str>) -> Result<Vec<String>> {
        let mut call = Call::new(
            Mode::Read,
            [
                "diff",
                "--cached",
                "--name-only",
                "-z",
                "--no-renames",
                "--no-ext-diff",
                "--no-relative",
            ],
        );
        if let Some(f) = filter {
            call = call.arg(format!("--diff-filter={f}"));
        }
        if let Some(a) = against {
            call = call.arg(a);
        }
        Ok(sorted(parse::nul_list(&self.ok(call.arg("--"))?)))
    }

    /// Which of `paths` git tracks (in the index).
    pub fn tracked(&self, paths: &[&str]) -> Result<BTreeSet<String>> {
        let mut found = BTreeSet::new();
        // Bounded argument lists.
        for chunk in paths.chunks(2000) {
            let call = Call::new(Mode::Read, ["ls-files", "-z", "--"]).args(chunk);
            found.extend(parse::nul_list(&self.ok(call)?));
        }
        Ok(found)
    }

    /// The entries of `tree_ish` (recursively), limited to `paths` (all
    /// when empty), paths from the top of the tree.
    pub fn ls_tree(&self, tree_ish: &str, paths: &[&str]) -> Result<Vec<parse::TreeEntry>> {
        let mut v = Vec::new();
        let chunks: Vec<&[&str]> = if paths.is_empty() {
            vec![&[]]
        } else {
            paths.chunks(2000).collect()
        };
        for chunk in chunks {
            let call = Call::new(
                Mode::Read,
                ["ls-tree", "-r", "-z", "--full-tree", tree_ish, "--"],
            )
            .args(chunk);
            v.extend(parse::parse_ls_tree(&self.ok(call)?).map_err(|e| e.in_dir(&self.dir))?);
        }
        Ok(v)
    }

    /// A file's content at a revision (`rev:path`, path from the top); None
    /// when it is not there.
    pub fn show_file(&self, rev: &str, path: &str) -> Result<Option<Vec<u8>>> {
        let spec = format!("{rev}:{path}");
        match self.resolve_object(&spec)? {
            Some(oid) => self.cat_blob(&oid).map(Some),
            None => Ok(None),
        }
    }

    /// A blob's bytes.
    pub fn cat_blob(&self, oid: &str) -> Result<Vec<u8>> {
        self.ok(Call::new(Mode::Read, ["cat-file", "blob", oid]))
    }

    /// One `cat-file --batch-check` for many object names.
    pub fn objects(&self, names: &[&str]) -> Result<Vec<ObjectInfo>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let mut input = Vec::new();
        for n in names {
            input.extend_from_slice(n.as_bytes());
            input.push(b'\n');
        }
        let out = self.ok(Call::new(Mode::Read, ["cat-file", "--batch-check"]).stdin(input))?;
        parse::parse_batch_check(&out, names.len()).map_err(|e| e.in_dir(&self.dir))
    }

    /// Store `bytes` as a blob; its id.
    pub fn hash_blob(&self, bytes: &[u8]) -> Result<String> {
        self.line(Call::new(Mode::Write, ["hash-object", "-w", "--stdin"]).stdin(bytes.to_vec()))
    }

    /// Merge two commits without a working tree (`merge-tree --write-tree`).
    pub fn merge_tree(&self, ours: &str, theirs: &str) -> Result<MergeTree> {
        let call = Call::new(
            Mode::Write,
            [
                "merge-tree",
                "--write-tree",
                "-z",
                "--no-messages",
                "--allow-unrelated-histories",
                ours,
                theirs,
            ],
        );
        let op = call.shown();
        let out = self.exec(call)?;
        let clean = match out.code {
            Some(0) => true,
            Some(1) => false,
            _ => return Err(self.failed(&op, &out)),
        };
        parse::parse_merge_tree(&out.stdout, clean).map_err(|e| e.in_dir(&self.dir))
    }

    // ----------------------------------------------------- index, trees

    /// Fill the index from a tree (`read-tree`; the empty tree when None).
    pub fn read_tree(&self, tree: Option<&str>) -> Result<()> {
        let call = match tree {
            Some(t) => Call::new(Mode::Write, ["read-tree", t]),
            None => Call::new(Mode::Write, ["read-tree", "--empty"]),
        };
        self.ok(call).map(|_| ())
    }

    /// Stage `paths` as they are in the working tree (`add`, ignored files
    /// refused by git).
    pub fn add(&self, paths: &[&str]) -> Result<()> {
        for chunk in paths.chunks(2000) {
            self.ok(Call::new(Mode::Write, ["add", "--"]).args(chunk))?;
        }
        Ok(())
    }

    /// Stage everything (`add -A -- .`).
    pub fn add_all(&self) -> Result<()> {
        self.ok(Call::new(Mode::Write, ["add", "-A", "--", "."]))
            .map(|_| ())
    }

    /// Put `oid` with `mode` (`100644`) at `path` in the index.
    pub fn stage_blob(&self, mode: &str, oid: &str, path: &str) -> Result<()> {
        // Removing first clears conflict stages and file/dir clashes.
        self.unstage(path)?;
        let info = format!("{mode},{oid},{path}");
        self.ok(Call::new(
            Mode::Write,
            ["update-index", "--add", "--cacheinfo", &info],
        ))
        .map(|_| ())
    }

    /// Remove `path` from the index (the working tree is not touched).
    pub fn unstage(&self, path: &str) -> Result<()> {
        self.ok(Call::new(
            Mode::Write,
            ["update-index", "--force-remove", "--", path],
        ))
        .map(|_| ())
    }

    /// Remove `paths` from the index where present (`rm --cached
    /// --ignore-unmatch`).
    pub fn remove_cached(&self, paths: &[&str]) -> Result<()> {
        for chunk in paths.chunks(2000) {
            self.ok(Call::new(
                Mode::Write,
                ["rm", "-q", "--cached", "--ignore-unmatch", "--"],
            )
            .args(chunk))?;
        }
        Ok(())
    }

    /// Write the index as a tree; its id.
    pub fn write_tree(&self) -> Result<String> {
        self.line(Call::new(Mode::Write, ["write-tree"]))
    }

    /// Refresh the index's stat data (`update-index -q --refresh`).
    pub fn refresh_index(&self) -> Result<()> {
        self.ok(Call::new(Mode::Write, ["update-index", "-q", "--refresh"]))
            .map(|_| ())
    }

    /// The tree of the working tree as `git add -A` would stage it, built in
    /// a temporary index in `scratch` seeded from the real one; the real
    /// index is only read.
    pub fn snapshot_tree(&self, scratch: &Path) -> Result<String> {
        let index = scratch.join("snapshot.index");
        let real = self.at(&self.dir).git_path("index")?;
        // Seeding from the real index keeps its stat cache, so `add -A` only
        // hashes files that changed; copying never modifies the original.
        if real.exists() {
            copy_keeping_mtime(&real, &index).map_err(|e| e.in_dir(&self.dir))?;
        }
        let g = self.with_index(&index);
        g.add_all()?;
        g.write_tree()
    }

    /// A new tree: `base` with `edits` applied (temporary index in `scratch`).
    pub fn edit_tree(&self, scratch: &Path, base: &str, edits: &[TreeEdit]) -> Result<String> {
        let index = scratch.join("edit.index");
        let _ = std::fs::remove_file(&index);
        let g = self.with_index(&index);
        g.read_tree(Some(base))?;
        for e in edits {
            match &e.blob {
                Some((mode, oid)) => g.stage_blob(mode, oid, &e.path)?,
                None => g.unstage(&e.path)?,
            }
        }
        g.write_tree()
    }

    // ------------------------------------------------------ commits, HEAD

    /// Make a commit object (no ref moves): authored and committed as the
    /// commit's signature, its message ending in the `Warden-Run` trailer,
    /// never signed (signing would prompt or differ per machine).
    pub fn commit_tree(&self, c: &NewCommit<'_>) -> Result<String> {
        let mut call = Call::new(Mode::Write, ["commit-tree", c.tree])
            .config("commit.gpgsign=false")
            .arg("-F")
            .arg("-");
        for p in c.parents {
            call = call.args(["-p", p]);
        }
        let who = c.who;
        let call = call
            .stdin(c.full_message().into_bytes())
            .env("GIT_AUTHOR_NAME", &who.name)
            .env("GIT_AUTHOR_EMAIL", &who.email)
            .env("GIT_AUTHOR_DATE", &who.date)
            .env("GIT_COMMITTER_NAME", &who.name)
            .env("GIT_COMMITTER_EMAIL", &who.email)
            .env("GIT_COMMITTER_DATE", &who.date);
        self.line(call)
    }

    /// Commit the index on the current branch as git's own `commit` does
    /// (the identity git knows, the user's hooks run, `message` as given);
    /// the new commit's id. For code that acts as the user at a keyboard
    /// (the demo); a commit warden makes *for* the user is a
    /// [`Git::commit_tree`] with the `Warden-Run` trailer.
    pub fn commit_index(&self, message: &str) -> Result<String> {
        self.ok(Call::new(Mode::Write, ["commit", "--quiet", "-F", "-"])
            .stdin(message.as_bytes().to_vec()))?;
        self.resolve("HEAD")?.ok_or_else(|| {
            Error::new(ErrorKind::Unexpected, "git commit", "HEAD names no commit")
                .in_dir(&self.dir)
        })
    }

    /// Stage the changes of tracked files (`add -u`; untracked files stay out).
    pub fn add_tracked(&self) -> Result<()> {
        self.ok(Call::new(Mode::Write, ["add", "-u", "--", "."]))
            .map(|_| ())
    }

    /// Make `branch` track `upstream` (`origin/main`).
    pub fn set_upstream(&self, branch: &str, upstream: &str) -> Result<()> {
        let to = format!("--set-upstream-to={upstream}");
        self.ok(Call::new(Mode::Write, ["branch", "--quiet", &to, branch]))
            .map(|_| ())
    }

    /// The paths a commit changed against its first parent (all of its
    /// files for a root commit), sorted.
    pub fn commit_paths(&self, rev: &str) -> Result<Vec<String>> {
        let out = self.ok(Call::new(
            Mode::Read,
            [
                "diff-tree",
                "--root",
                "--no-commit-id",
                "--name-only",
                "-r",
                "-z",
                "--no-renames",
                rev,
            ],
        ))?;
        Ok(sorted(parse::nul_list(&out)))
    }

    /// The last `n` commits from HEAD as `git log --oneline --graph` draws
    /// them (no colour): text for people, never parsed.
    pub fn graph(&self, n: usize) -> Result<String> {
        let max = format!("--max-count={n}");
        Ok(text(self.ok(Call::new(
            Mode::Read,
            ["log", "--oneline", "--graph", "--no-color", &max],
        ))?))
    }

    /// Import commits with one `fast-import` (`--force`, `--done`); the marks
    /// it exported (`:1 <oid>` lines) are written to `marks`, which is read
    /// back and removed: returned as (mark, oid).
    pub fn fast_import(&self, stream: Vec<u8>, marks: &Path) -> Result<Vec<(u64, String)>> {
        let mut export = OsString::from("--export-marks=");
        export.push(marks);
        let call = Call::new(Mode::Write, ["fast-import", "--quiet", "--force", "--done"])
            .arg(export)
            .stdin(stream);
        let done = self.ok(call);
        let text = std::fs::read_to_string(marks).unwrap_or_default();
        let _ = std::fs::remove_file(marks);
        done?;
        Ok(text
            .lines()
            .filter_map(|l| {
                let (m, oid) = l.strip_prefix(':')?.split_once(' ')?;
                Some((m.parse().ok()?, oid.to_string()))
            })
            .collect())
    }

    /// Store the objects of `pack` (a whole pack file) as loose objects
    /// (`unpack-objects -q`, as `fast-import` does with a small pack).
    pub fn unpack_objects(&self, pack: Vec<u8>) -> Result<()> {
        self.ok(Call::new(Mode::Write, ["unpack-objects", "-q"]).stdin(pack))
            .map(|_| ())
    }

    /// Fast-forward the checked-out branch to `rev` (`merge --ff-only`).
    pub fn merge_ff_only(&self, rev: &str) -> Result<()> {
        self.ok(Call::new(
            Mode::Write,
            ["merge", "--ff-only", "--quiet", rev],
        ))
        .map(|_| ())
    }

    /// Move HEAD's branch to `rev`, keeping index and working tree
    /// (`reset --soft`).
    pub fn reset_soft(&self, rev: &str) -> Result<()> {
        self.ok(Call::new(Mode::Write, ["reset", "-q", "--soft", rev]))
            .map(|_| ())
    }

    /// The index entries of `paths` as in `rev` (`reset REV -- PATHS`; the
    /// working tree is not touched). Paths go through stdin, any number.
    pub fn reset_paths(&self, rev: &str, paths: &[&str]) -> Result<()> {
        if paths.is_empty() {
            return Ok(());
        }
        let mut input = Vec::new();
        for p in paths {
            input.extend_from_slice(p.as_bytes());
            input.push(0);
        }
        self.ok(Call::new(
            Mode::Write,
            [
                "reset",
                "-q",
                rev,
                "--pathspec-from-file=-",
                "--pathspec-file-nul",
            ],
        )
        .stdin(input))
            .map(|_| ())
    }

    /// Write `paths` as in `rev` to the index and working tree (`checkout
    /// REV -- PATHS`).
    pub fn checkout_paths(&self, rev: &str, paths: &[&str]) -> Result<()> {
        for chunk in paths.chunks(2000) {
            self.ok(Call::new(Mode::Write, ["checkout", "-q", rev, "--"]).args(chunk))?;
        }
        Ok(())
    }

    /// Whether a rebase stopped part-way (`REBASE_HEAD` exists).
    pub fn rebase_in_progress(&self) -> Result<bool> {
        Ok(self.resolve_object("REBASE_HEAD")?.is_some())
    }

    /// Abort a stopped rebase.
    pub fn rebase_abort(&self) -> Result<()> {
        self.ok(Call::new(Mode::Write, ["rebase", "--abort"]))
            .map(|_| ())
    }

    // ---------------------------------------------------------- network

    /// Fetch (never merging); within [`Git::network_timeout`].
    pub fn fetch(&self, f: &Fetch) -> Result<()> {
        let mut call = Call::new(
            Mode::Network,
            ["fetch", "--quiet", "--no-recurse-submodules"],
        );
        if let (Some(prefix), Some(remote)) = (&f.mirror_tags_under, &f.remote) {
            call = call.config(format!(
                "remote.{remote}.fetch=+refs/tags/*:{prefix}{remote}/*"
            ));
        }
        if f.prune {
            call = call.arg("--prune");
        }
        if f.no_tags {
            call = call.arg("--no-tags");
        }
        if !f.write_fetch_head {
            call = call.arg("--no-write-fetch-head");
        }
        if let Some(r) = &f.remote {
            call = call.arg("--end-of-options").arg(r);
        }
        self.ok(call).map(|_| ())
    }

    /// The branch the remote's HEAD points at (`main`), asked over the
    /// network; None for an empty remote.
    pub fn remote_default_branch(&self, remote: &str) -> Result<Option<String>> {
        let out = self.ok(Call::new(
            Mode::Network,
            ["ls-remote", "--symref", remote, "HEAD"],
        ))?;
        Ok(parse::parse_symref_head(&text(out)))
    }

    /// `pull --rebase` (with `--autostash` when asked). A conflict is
    /// `Ok(false)`: the rebase is left stopped for the caller
    /// ([`Git::rebase_in_progress`], [`Git::rebase_abort`]); its message is
    /// in the second field.
    pub fn pull_rebase(&self, autostash: bool) -> Result<(bool, String)> {
        let mut call = Call::new(Mode::Network, ["pull", "--rebase", "-q"]);
        if autostash {
            call = call.arg("--autostash");
        }
        let out = self.exec(call)?;
        Ok((out.success(), out.stderr_text()))
    }

    /// `push REMOTE REFSPEC`. A refusal (non-fast-forward, hook) is
    /// `Ok(false)` with git's message.
    pub fn push(&self, remote: &str, refspec: &str) -> Result<(bool, String)> {
        let out = self.exec(Call::new(Mode::Network, ["push", "-q", remote, refspec]))?;
        Ok((out.success(), out.stderr_text()))
    }
}

/// Copy the index and give the copy the original's mtime: git compares file
/// mtimes with the index's own to spot "racily clean" entries (a file changed
/// in the same second the index was written, same size). A copy with a newer
/// mtime would make git trust those stale stat entries and miss the change.
fn copy_keeping_mtime(from: &Path, to: &Path) -> Result<()> {
    let io = |op: &str, path: &Path| {
        let what = format!("{op} {}", path.display());
        move |e: std::io::Error| Error::new(ErrorKind::Io, what, e.to_string())
    };
    std::fs::copy(from, to).map_err(io("copy the index to", to))?;
    let mtime = std::fs::metadata(from)
        .and_then(|m| m.modified())
        .map_err(io("stat", from))?;
    std::fs::OpenOptions::new()
        .write(true)
        .open(to)
        .and_then(|f| f.set_modified(mtime))
        .map_err(io("set the mtime of", to))?;
    Ok(())
}
