//! The git backend seam. [`GitBackend`] is every question and every object
//! write the sync guardian needs, typed; [`GitCli`] answers them with the git
//! command line (as cargo, jj and GitButler do for the network: credential
//! helpers and ssh config keep working).
//!
//! Invariants of [`GitCli`]:
//! - it never prompts: `GIT_TERMINAL_PROMPT=0`, `GCM_INTERACTIVE=never`, ssh in
//!   `BatchMode`, stdin closed;
//! - it never refreshes the user's index opportunistically (`GIT_OPTIONAL_LOCKS=0`);
//! - it parses machine formats only (`status --porcelain=v2 -z`, `for-each-ref`
//!   with NUL separators, `rev-list --count`, `merge-tree --write-tree -z`);
//! - the only commands that write are object writes (`hash-object -w`,
//!   `write-tree` and `add` on a *temporary* index, `commit-tree`,
//!   `merge-tree --write-tree`), creating refs that must not exist yet
//!   (`update-ref REF NEW ""`), `fetch`, and the two steps of `adopt`.

use crate::porcelain::{self, Porcelain};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;
use warden_core::process::{Cmd, End, Finished, Sink};
use warden_core::{Error, Result};

/// How long a local git operation may take before its tree is killed:
/// generous (a status of a huge tree, a `merge-tree` of a big merge).
pub const LOCAL_TIMEOUT: Duration = Duration::from_secs(600);

/// `merge-tree --write-tree` arrived in git 2.38.
pub const MIN_GIT: (u32, u32) = (2, 38);

/// One ref from `for-each-ref`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefInfo {
    /// Full name, e.g. `refs/heads/main`.
    pub name: String,
    pub oid: String,
    /// Full name of the configured upstream, when there is one.
    pub upstream: Option<String>,
    /// The upstream is configured but its ref does not exist (`[gone]`).
    pub upstream_gone: bool,
    /// The remote of the upstream (`origin`), when there is one.
    pub upstream_remote: Option<String>,
    /// HEAD points at this ref (`%(HEAD)`).
    pub is_head: bool,
    /// (ahead, behind) against the upstream, as git counted it for
    /// `%(upstream:track)`; None without a live upstream.
    pub track: Option<(u64, u64)>,
}

/// Parse `%(upstream:track)`: "", "[ahead N]", "[behind M]",
/// "[ahead N, behind M]" (or "[gone]", which is None).
pub fn parse_track(s: &str) -> Option<(u64, u64)> {
    let inner = s.trim();
    if inner.is_empty() {
        return Some((0, 0));
    }
    let inner = inner.strip_prefix('[')?.strip_suffix(']')?;
    let (mut ahead, mut behind) = (0, 0);
    for part in inner.split(", ") {
        match part.split_once(' ') {
            Some(("ahead", n)) => ahead = n.parse().ok()?,
            Some(("behind", n)) => behind = n.parse().ok()?,
            _ => return None,
        }
    }
    Some((ahead, behind))
}

/// Remotes and branch → remote, as configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteConfig {
    /// (name, url), sorted.
    pub remotes: Vec<(String, String)>,
    pub branch_remotes: std::collections::BTreeMap<String, String>,
}

/// One stash entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StashInfo {
    pub name: String,
    pub commit: String,
    pub message: String,
}

/// A commit id and its subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    pub id: String,
    pub subject: String,
}

/// One conflicted stage from `merge-tree --write-tree`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictStage {
    pub mode: String,
    pub oid: String,
    /// 1 base, 2 ours, 3 theirs.
    pub stage: u8,
    pub path: String,
}

/// The result of a merge computed without a worktree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeTree {
    /// The merged tree; conflicted files hold conflict markers.
    pub tree: String,
    pub clean: bool,
    pub stages: Vec<ConflictStage>,
}

impl MergeTree {
    /// Conflicted paths, sorted and unique.
    pub fn conflicted_paths(&self) -> Vec<String> {
        let mut p: Vec<String> = self.stages.iter().map(|s| s.path.clone()).collect();
        p.sort();
        p.dedup();
        p
    }
}

/// An entry for a tree built from another tree plus replacements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEdit {
    pub path: String,
    /// `Some((mode, blob))` to set, `None` to remove.
    pub blob: Option<(String, String)>,
}

/// Identity and time of a commit warden makes (pinned in tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub name: String,
    pub email: String,
    /// `git` date format, e.g. `2026-01-01T00:00:00Z`.
    pub date: String,
}

/// Everything the sync guardian asks of git.
pub trait GitBackend: Send + Sync {
    /// `(major, minor, patch)`; an error when git is missing or too old.
    fn check_version(&self) -> Result<(u32, u32, u32)>;
    /// The top of the working tree that contains `dir`.
    fn toplevel(&self, dir: &Path) -> Result<PathBuf>;
    /// The repository's common git dir (shared by its worktrees), absolute.
    fn common_dir(&self, root: &Path) -> Result<PathBuf>;
    /// `git init` (used by `sync init` only).
    fn init(&self, dir: &Path) -> Result<()>;
    fn remotes(&self, root: &Path) -> Result<Vec<(String, String)>>;
    /// The remotes (name, url) and each branch's configured remote
    /// (`branch.<name>.remote`), from one read of the configuration.
    fn remote_config(&self, root: &Path) -> Result<RemoteConfig>;
    fn add_remote(&self, root: &Path, name: &str, url: &str) -> Result<()>;
    /// The branch the remote's HEAD points at (`main`), asked over the
    /// network within `timeout`; `None` for an empty remote.
    fn remote_default_branch(
        &self,
        root: &Path,
        remote: &str,
        timeout: Duration,
    ) -> Result<Option<String>>;
    /// Point an unborn HEAD at `branch` and make it track `remote`'s branch
    /// of the same name (`branch.<b>.remote`, `branch.<b>.merge`).
    fn track_unborn(&self, root: &Path, branch: &str, remote: &str) -> Result<()>;
    /// Fetch one remote without merging; also mirrors its tags under
    /// `refs/warden/tags/<remote>/` (no local tags are created).
    fn fetch(&self, root: &Path, remote: &str, timeout: Duration) -> Result<()>;
    /// Working-tree status, never taking the index lock.
    fn status(&self, root: &Path) -> Result<Porcelain>;
    /// Refs under the given prefixes, sorted by name.
    fn refs(&self, root: &Path, prefixes: &[&str]) -> Result<Vec<RefInfo>>;
    fn stashes(&self, root: &Path) -> Result<Vec<StashInfo>>;
    /// `(left, right)` = commits only in `a`, only in `b`.
    fn ahead_behind(&self, root: &Path, a: &str, b: &str) -> Result<(u64, u64)>;
    /// Commits reachable from `tip` and from none of `not` (at most `limit`, newest first).
    fn commits_between(
        &self,
        root: &Path,
        tip: &str,
        not: &[&str],
        limit: usize,
    ) -> Result<Vec<CommitInfo>>;
    /// Number of commits reachable from `tip` but not from any ref matching `not_refs` globs.
    fn count_not_in(&self, root: &Path, tip: &str, not_args: &[&str]) -> Result<u64>;
    /// All commits only in `a` and only in `b` (newest first), one walk.
    fn commits_left_right(
        &self,
        root: &Path,
        a: &str,
        b: &str,
    ) -> Result<(Vec<CommitInfo>, Vec<CommitInfo>)>;
    fn merge_base(&self, root: &Path, a: &str, b: &str) -> Result<Option<String>>;
    /// Paths changed from the merge base of `a` and `b` to `b`, sorted;
    /// `None` when they have no merge base.
    fn changed_since_base(&self, root: &Path, a: &str, b: &str) -> Result<Option<Vec<String>>>;
    fn is_ancestor(&self, root: &Path, a: &str, b: &str) -> Result<bool>;
    /// Paths that differ between two trees-ish, sorted.
    fn changed_paths(&self, root: &Path, from: &str, to: &str) -> Result<Vec<String>>;
    fn merge_tree(&self, root: &Path, ours: &str, theirs: &str) -> Result<MergeTree>;
    /// The tree of the working tree as `git add -A` would stage it, built in a
    /// temporary index seeded from the real one; the real index is only read.
    fn snapshot_tree(&self, root: &Path, scratch: &Path) -> Result<String>;
    fn tree_of(&self, root: &Path, commit: &str) -> Result<String>;
    fn resolve(&self, root: &Path, rev: &str) -> Result<Option<String>>;
    fn cat_blob(&self, root: &Path, oid: &str) -> Result<Vec<u8>>;
    fn hash_blob(&self, root: &Path, bytes: &[u8]) -> Result<String>;
    /// A new tree: `base` with `edits` applied (temporary index).
    fn edit_tree(
        &self,
        root: &Path,
        scratch: &Path,
        base: &str,
        edits: &[TreeEdit],
    ) -> Result<String>;
    fn commit_tree(
        &self,
        root: &Path,
        tree: &str,
        parents: &[&str],
        message: &str,
        who: &Signature,
    ) -> Result<String>;
    /// Create `name` at `oid`; fails if it exists already.
    fn create_ref(&self, root: &Path, name: &str, oid: &str) -> Result<()>;
    /// Run an arbitrary git command in `dir` (adopt, temporary worktrees).
    fn run(&self, dir: &Path, args: &[&str]) -> Result<String>;
    /// The user's git identity as a commit would get it (`GIT_AUTHOR_NAME`
    /// and friends, else `user.name`/`user.email`); `None` when git does not
    /// know who the user is.
    fn identity(&self, root: &Path) -> Result<Option<Identity>>;
}

/// A person as git names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub email: String,
}

/// `Name <email> 1700000000 +0000` (`git var GIT_AUTHOR_IDENT`).
pub fn parse_ident(line: &str) -> Option<Identity> {
    let (name, rest) = line.trim().split_once(" <")?;
    let (email, _) = rest.split_once('>')?;
    Some(Identity {
        name: name.trim().to_string(),
        email: email.to_string(),
    })
}

/// `ref: refs/heads/main<TAB>HEAD` from `git ls-remote --symref R HEAD`.
pub fn parse_symref_head(out: &str) -> Option<String> {
    out.lines().find_map(|l| {
        let (target, name) = l.strip_prefix("ref: ")?.split_once('\t')?;
        (name == "HEAD")
            .then(|| target.strip_prefix("refs/heads/").map(String::from))
            .flatten()
    })
}

/// The trailer naming warden and its run on every commit warden makes for
/// the user: `Warden-Run: <RUN>`.
pub fn run_trailer(run: &str) -> String {
    format!("Warden-Run: {run}")
}

/// The git command line.
#[derive(Debug, Clone)]
pub struct GitCli {
    program: OsString,
    /// Set when the user already chose an ssh command through the environment:
    /// then warden does not add `BatchMode` itself.
    user_ssh_command: bool,
    /// The base environment of every git process (the CLI's allow-listed
    /// one); nothing is inherited.
    base: Vec<(OsString, OsString)>,
    /// Extra environment for every git process (tests pin HOME and config here).
    envs: Vec<(OsString, OsString)>,
}

impl Default for GitCli {
    fn default() -> Self {
        GitCli::new("git")
    }
}

fn io_err(args: &[&str], e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        Error::invalid(
            "git",
            "program",
            "git was not found on PATH",
            Some(format!("install git {}.{} or newer", MIN_GIT.0, MIN_GIT.1)),
        )
    } else {
        Error::Internal(format!("cannot run git {}: {e}", args.join(" ")))
    }
}

fn failed(args: &[&str], stderr: &[u8]) -> Error {
    let msg = String::from_utf8_lossy(stderr);
    let msg = msg.trim();
    Error::Internal(format!(
        "git {} failed: {}",
        args.join(" "),
        if msg.is_empty() { "(no message)" } else { msg }
    ))
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Parse `git version 2.47.3` (and vendor suffixes like `.windows.1`).
pub fn parse_version(s: &str) -> Option<(u32, u32, u32)> {
    let v = s.trim().strip_prefix("git version ")?;
    let mut it = v.split(|c: char| !c.is_ascii_digit());
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    let patch = it.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    Some((major, minor, patch))
}

impl GitCli {
    pub fn new(program: impl Into<OsString>) -> Self {
        GitCli {
            program: program.into(),
            user_ssh_command: false,
            base: Vec::new(),
            envs: Vec::new(),
        }
    }

    /// The environment git starts from (PATH, HOME, git's own variables…);
    /// without it git gets only what [`GitCli::with_env`] adds.
    pub fn with_base_env(mut self, env: Vec<(OsString, OsString)>) -> Self {
        self.base = env;
        self
    }

    /// Set an environment variable for every git process this backend starts.
    pub fn with_env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.envs.push((key.into(), value.into()));
        self
    }

    /// The user set `GIT_SSH_COMMAND`/`GIT_SSH`: leave ssh alone.
    pub fn with_user_ssh_command(mut self, yes: bool) -> Self {
        self.user_ssh_command = yes;
        self
    }

    fn command(&self, dir: &Path) -> Cmd {
        Cmd::new(&self.program)
            // Never leave a detached `gc --auto`/maintenance behind.
            .args([
                "-c",
                "gc.autoDetach=false",
                "-c",
                "maintenance.autoDetach=false",
            ])
            .cwd(dir)
            .envs(self.base.iter().map(|(k, v)| (k, v)))
            .env_remove("GIT_INDEX_FILE")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GCM_INTERACTIVE", "never")
            // No opportunistic index refresh by any read (status, diff, …):
            // an audit must leave the user's index byte for byte as it was.
            .env("GIT_OPTIONAL_LOCKS", "0")
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .timeout(LOCAL_TIMEOUT)
    }

    /// A command that may reach the network: ssh never prompts.
    fn network(&self, root: &Path) -> Cmd {
        let mut c = self.command(root);
        if !self.user_ssh_command {
            // core.sshCommand (if any) still applies when GIT_SSH_COMMAND is unset;
            // read it so BatchMode is added to the user's own command.
            let base = self
                .line(root, &["config", "--get", "core.sshCommand"])
                .unwrap_or_default();
            let base = if base.is_empty() { "ssh".into() } else { base };
            c = c.env("GIT_SSH_COMMAND", format!("{base} -o BatchMode=yes"));
        }
        c
    }

    /// Run; a kill (timeout, output limit) is an error, a non-zero exit is not.
    fn output(&self, c: Cmd, args: &[&str]) -> Result<Finished> {
        let out = c.args(args).run().map_err(|e| io_err(args, e))?;
        match out.end {
            End::TimedOut => Err(Error::Internal(format!(
                "git {} did not finish within {} s and was killed",
                args.join(" "),
                LOCAL_TIMEOUT.as_secs()
            ))),
            End::OutputLimit => Err(Error::Internal(format!(
                "git {} wrote more output than warden reads and was killed",
                args.join(" ")
            ))),
            End::Exited(_) | End::Signalled(_) => Ok(out),
        }
    }

    /// Run and require success; stdout as bytes.
    fn bytes(&self, dir: &Path, args: &[&str]) -> Result<Vec<u8>> {
        let out = self.output(self.command(dir), args)?;
        if !out.success() {
            return Err(failed(args, &out.stderr));
        }
        Ok(out.stdout)
    }

    fn line(&self, dir: &Path, args: &[&str]) -> Result<String> {
        Ok(text(self.bytes(dir, args)?).trim().to_string())
    }

    fn with_index(&self, dir: &Path, index: &Path, args: &[&str]) -> Result<Vec<u8>> {
        let c = self.command(dir).env("GIT_INDEX_FILE", index);
        let out = self.output(c, args)?;
        if !out.success() {
            return Err(failed(args, &out.stderr));
        }
        Ok(out.stdout)
    }
}

/// Copy the index and give the copy the original's mtime: git compares file
/// mtimes with the index's own to spot "racily clean" entries (a file changed
/// in the same second the index was written, same size). A copy with a newer
/// mtime would make git trust those stale stat entries and miss the change.
fn copy_keeping_mtime(from: &Path, to: &Path) -> Result<()> {
    let io = |op: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { op, path, source }
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

impl GitBackend for GitCli {
    fn check_version(&self) -> Result<(u32, u32, u32)> {
        let out = self.line(Path::new("."), &["version"])?;
        let v = parse_version(&out).ok_or_else(|| {
            Error::invalid(
                "git",
                "version",
                format!("cannot read the git version from {out:?}"),
                None,
            )
        })?;
        if (v.0, v.1) < MIN_GIT {
            return Err(Error::invalid(
                "git",
                "version",
                format!(
                    "git {}.{}.{} is older than {}.{}, the oldest the sync guardian supports (it needs `merge-tree --write-tree`)",
                    v.0, v.1, v.2, MIN_GIT.0, MIN_GIT.1
                ),
                Some(format!(
                    "install git {}.{} or newer and put it first on PATH",
                    MIN_GIT.0, MIN_GIT.1
                )),
            ));
        }
        Ok(v)
    }

    fn toplevel(&self, dir: &Path) -> Result<PathBuf> {
        let out = self.output(self.command(dir), &["rev-parse", "--show-toplevel"])?;
        if !out.success() {
            return Err(Error::NotARepo {
                path: dir.to_path_buf(),
            });
        }
        let top = text(out.stdout).trim().to_string();
        if top.is_empty() {
            // A bare repository or inside .git: no working tree to audit.
            return Err(Error::NotARepo {
                path: dir.to_path_buf(),
            });
        }
        Ok(PathBuf::from(top))
    }

    fn common_dir(&self, root: &Path) -> Result<PathBuf> {
        let d = PathBuf::from(self.line(root, &["rev-parse", "--git-common-dir"])?);
        Ok(if d.is_absolute() { d } else { root.join(d) })
    }

    fn init(&self, dir: &Path) -> Result<()> {
        self.bytes(dir, &["init", "--quiet"]).map(|_| ())
    }

    fn remotes(&self, root: &Path) -> Result<Vec<(String, String)>> {
        Ok(self.remote_config(root)?.remotes)
    }

    fn remote_config(&self, root: &Path) -> Result<RemoteConfig> {
        let out = self.output(
            self.command(root),
            &[
                "config",
                "-z",
                "--get-regexp",
                r"^(remote\..+\.url|branch\..+\.remote)$",
            ],
        )?;
        // Exit 1 = no such key at all; each record is "key\nvalue".
        let mut c = RemoteConfig::default();
        for rec in out.stdout.split(|b| *b == 0).filter(|r| !r.is_empty()) {
            let rec = String::from_utf8_lossy(rec);
            let Some((key, value)) = rec.split_once('\n') else {
                continue;
            };
            if let Some(name) = key
                .strip_prefix("remote.")
                .and_then(|k| k.strip_suffix(".url"))
            {
                c.remotes.push((name.to_string(), value.to_string()));
            } else if let Some(b) = key
                .strip_prefix("branch.")
                .and_then(|k| k.strip_suffix(".remote"))
            {
                c.branch_remotes.insert(b.to_string(), value.to_string());
            }
        }
        c.remotes.sort();
        Ok(c)
    }

    fn add_remote(&self, root: &Path, name: &str, url: &str) -> Result<()> {
        self.bytes(root, &["remote", "add", name, url]).map(|_| ())
    }

    fn remote_default_branch(
        &self,
        root: &Path,
        remote: &str,
        timeout: Duration,
    ) -> Result<Option<String>> {
        let args = ["ls-remote", "--symref", remote, "HEAD"];
        let out = self
            .network(root)
            .args(args)
            .timeout(timeout)
            .run()
            .map_err(|e| io_err(&args, e))?;
        match out.end {
            End::Exited(0) => {}
            End::TimedOut => {
                return Err(Error::Internal(format!(
                    "git ls-remote {remote} timed out after {} s",
                    timeout.as_secs()
                )));
            }
            _ => {
                return Err(Error::Internal(format!(
                    "git ls-remote {remote} failed: {}",
                    out.stderr_text()
                )));
            }
        }
        Ok(parse_symref_head(&text(out.stdout)))
    }

    fn track_unborn(&self, root: &Path, branch: &str, remote: &str) -> Result<()> {
        let head = format!("refs/heads/{branch}");
        self.bytes(root, &["symbolic-ref", "HEAD", &head])?;
        self.bytes(
            root,
            &["config", &format!("branch.{branch}.remote"), remote],
        )?;
        self.bytes(root, &["config", &format!("branch.{branch}.merge"), &head])?;
        Ok(())
    }

    fn fetch(&self, root: &Path, remote: &str, timeout: Duration) -> Result<()> {
        let tags = format!("remote.{remote}.fetch=+refs/tags/*:refs/warden/tags/{remote}/*");
        let args = [
            "-c",
            tags.as_str(),
            "fetch",
            "--quiet",
            "--prune",
            "--no-tags",
            "--no-write-fetch-head",
            "--no-recurse-submodules",
            remote,
        ];
        let out = self
            .network(root)
            .args(args)
            .stdout(Sink::Null)
            .timeout(timeout)
            .run()
            .map_err(|e| io_err(&args, e))?;
        match out.end {
            End::Exited(0) => Ok(()),
            End::TimedOut => Err(Error::Internal(format!(
                "git fetch {remote} timed out after {} s",
                timeout.as_secs()
            ))),
            _ => Err(Error::Internal(format!(
                "git fetch {remote} failed: {}",
                out.stderr_text()
            ))),
        }
    }

    fn status(&self, root: &Path) -> Result<Porcelain> {
        let args = [
            "--no-optional-locks",
            "status",
            "--porcelain=v2",
            "-z",
            "--branch",
            "--show-stash",
            "-uall",
            "--ignore-submodules=dirty",
        ];
        let out = self.bytes(root, &args)?;
        porcelain::parse(&out)
    }

    fn refs(&self, root: &Path, prefixes: &[&str]) -> Result<Vec<RefInfo>> {
        let mut args = vec![
            "for-each-ref",
            "--format=%(refname)%00%(objectname)%00%(upstream)%00%(upstream:track)%00%(upstream:remotename)%00%(HEAD)",
        ];
        args.extend(prefixes);
        let out = self.bytes(root, &args)?;
        let mut v = Vec::new();
        for line in text(out).lines() {
            let f: Vec<&str> = line.split('\0').collect();
            if f.len() < 6 {
                return Err(Error::Internal(format!(
                    "unexpected for-each-ref line {line:?}"
                )));
            }
            let upstream = (!f[2].is_empty()).then(|| f[2].to_string());
            v.push(RefInfo {
                name: f[0].to_string(),
                oid: f[1].to_string(),
                upstream_gone: upstream.is_some() && f[3] == "[gone]",
                upstream,
                upstream_remote: (!f[4].is_empty()).then(|| f[4].to_string()),
                is_head: f[5] == "*",
                track: if f[2].is_empty() {
                    None
                } else {
                    parse_track(f[3])
                },
            });
        }
        v.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(v)
    }

    fn stashes(&self, root: &Path) -> Result<Vec<StashInfo>> {
        if self.resolve(root, "refs/stash")?.is_none() {
            return Ok(Vec::new());
        }
        let out = self.bytes(
            root,
            &[
                "log",
                "--walk-reflogs",
                "--format=%gd%x00%H%x00%gs",
                "refs/stash",
                "--",
            ],
        )?;
        Ok(text(out)
            .lines()
            .filter_map(|l| {
                let mut f = l.splitn(3, '\0');
                Some(StashInfo {
                    name: f.next()?.replace("refs/stash", "stash"),
                    commit: f.next()?.to_string(),
                    message: f.next().unwrap_or("").to_string(),
                })
            })
            .collect())
    }

    fn ahead_behind(&self, root: &Path, a: &str, b: &str) -> Result<(u64, u64)> {
        let range = format!("{a}...{b}");
        let out = self.line(root, &["rev-list", "--left-right", "--count", &range, "--"])?;
        let mut it = out.split_whitespace().map(str::parse::<u64>);
        match (it.next(), it.next()) {
            (Some(Ok(l)), Some(Ok(r))) => Ok((l, r)),
            _ => Err(Error::Internal(format!(
                "unexpected rev-list --count output {out:?}"
            ))),
        }
    }

    fn commits_between(
        &self,
        root: &Path,
        tip: &str,
        not: &[&str],
        limit: usize,
    ) -> Result<Vec<CommitInfo>> {
        let max = format!("--max-count={limit}");
        let mut args = vec!["log", "--format=%H%x00%s", max.as_str(), tip, "--not"];
        args.extend(not);
        args.push("--");
        let out = self.bytes(root, &args)?;
        Ok(text(out)
            .lines()
            .filter_map(|l| {
                let (id, subject) = l.split_once('\0')?;
                Some(CommitInfo {
                    id: id.to_string(),
                    subject: subject.to_string(),
                })
            })
            .collect())
    }

    fn count_not_in(&self, root: &Path, tip: &str, not_args: &[&str]) -> Result<u64> {
        let mut args = vec!["rev-list", "--count", tip, "--not"];
        args.extend(not_args);
        args.push("--");
        let out = self.line(root, &args)?;
        out.parse()
            .map_err(|_| Error::Internal(format!("unexpected rev-list --count output {out:?}")))
    }

    fn commits_left_right(
        &self,
        root: &Path,
        a: &str,
        b: &str,
    ) -> Result<(Vec<CommitInfo>, Vec<CommitInfo>)> {
        let range = format!("{a}...{b}");
        let out = self.bytes(
            root,
            &[
                "log",
                "--left-right",
                "--format=%m%x00%H%x00%s",
                &range,
                "--",
            ],
        )?;
        let (mut left, mut right) = (Vec::new(), Vec::new());
        for l in text(out).lines() {
            let mut f = l.splitn(3, '\0');
            let (Some(side), Some(id), subject) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            let c = CommitInfo {
                id: id.to_string(),
                subject: subject.unwrap_or("").to_string(),
            };
            match side {
                "<" => left.push(c),
                ">" => right.push(c),
                _ => {}
            }
        }
        Ok((left, right))
    }

    fn changed_since_base(&self, root: &Path, a: &str, b: &str) -> Result<Option<Vec<String>>> {
        let range = format!("{a}...{b}");
        let args = [
            "diff",
            "--name-only",
            "-z",
            "--no-renames",
            "--no-ext-diff",
            "--no-textconv",
            "--no-relative",
            &range,
            "--",
        ];
        let out = self.output(self.command(root), &args)?;
        if !out.success() {
            if String::from_utf8_lossy(&out.stderr).contains("no merge base") {
                return Ok(None);
            }
            return Err(failed(&args, &out.stderr));
        }
        let mut v: Vec<String> = out
            .stdout
            .split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect();
        v.sort();
        v.dedup();
        Ok(Some(v))
    }

    fn merge_base(&self, root: &Path, a: &str, b: &str) -> Result<Option<String>> {
        let args = ["merge-base", a, b];
        let out = self.output(self.command(root), &args)?;
        match out.code {
            Some(0) => Ok(Some(text(out.stdout).trim().to_string())),
            Some(1) => Ok(None),
            _ => Err(failed(&args, &out.stderr)),
        }
    }

    fn is_ancestor(&self, root: &Path, a: &str, b: &str) -> Result<bool> {
        let args = ["merge-base", "--is-ancestor", a, b];
        let out = self.output(self.command(root), &args)?;
        match out.code {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            _ => Err(failed(&args, &out.stderr)),
        }
    }

    fn changed_paths(&self, root: &Path, from: &str, to: &str) -> Result<Vec<String>> {
        let out = self.bytes(
            root,
            &[
                "diff-tree",
                "-r",
                "-z",
                "--name-only",
                "--no-renames",
                "--no-commit-id",
                from,
                to,
            ],
        )?;
        let mut v: Vec<String> = out
            .split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect();
        v.sort();
        v.dedup();
        Ok(v)
    }

    fn merge_tree(&self, root: &Path, ours: &str, theirs: &str) -> Result<MergeTree> {
        let args = [
            "merge-tree",
            "--write-tree",
            "-z",
            "--no-messages",
            "--allow-unrelated-histories",
            ours,
            theirs,
        ];
        let out = self.output(self.command(root), &args)?;
        let clean = match out.code {
            Some(0) => true,
            Some(1) => false,
            _ => return Err(failed(&args, &out.stderr)),
        };
        porcelain::parse_merge_tree(&out.stdout, clean)
    }

    fn snapshot_tree(&self, root: &Path, scratch: &Path) -> Result<String> {
        let index = scratch.join("snapshot.index");
        let real = PathBuf::from(self.line(root, &["rev-parse", "--git-path", "index"])?);
        let real = if real.is_absolute() {
            real
        } else {
            root.join(real)
        };
        // Seeding from the real index keeps its stat cache, so `add -A` only
        // hashes files that changed; copying never modifies the original.
        if real.exists() {
            copy_keeping_mtime(&real, &index)?;
        }
        self.with_index(root, &index, &["add", "-A", "--", "."])?;
        let tree = self.with_index(root, &index, &["write-tree"])?;
        Ok(text(tree).trim().to_string())
    }

    fn tree_of(&self, root: &Path, commit: &str) -> Result<String> {
        self.line(root, &["rev-parse", &format!("{commit}^{{tree}}")])
    }

    fn resolve(&self, root: &Path, rev: &str) -> Result<Option<String>> {
        let spec = format!("{rev}^{{commit}}");
        let args = ["rev-parse", "--verify", "--quiet", &spec];
        let out = self.output(self.command(root), &args)?;
        Ok(out.success().then(|| text(out.stdout).trim().to_string()))
    }

    fn cat_blob(&self, root: &Path, oid: &str) -> Result<Vec<u8>> {
        self.bytes(root, &["cat-file", "blob", oid])
    }

    fn hash_blob(&self, root: &Path, bytes: &[u8]) -> Result<String> {
        let args = ["hash-object", "-w", "--stdin"];
        let out = self.output(self.command(root).stdin_bytes(bytes.to_vec()), &args)?;
        if !out.success() {
            return Err(failed(&args, &out.stderr));
        }
        Ok(text(out.stdout).trim().to_string())
    }

    fn edit_tree(
        &self,
        root: &Path,
        scratch: &Path,
        base: &str,
        edits: &[TreeEdit],
    ) -> Result<String> {
        let index = scratch.join("edit.index");
        let _ = std::fs::remove_file(&index);
        self.with_index(root, &index, &["read-tree", base])?;
        for e in edits {
            match &e.blob {
                Some((mode, oid)) => {
                    // Removing first clears conflict stages and file/dir clashes.
                    self.with_index(
                        root,
                        &index,
                        &["update-index", "--force-remove", "--", &e.path],
                    )?;
                    let info = format!("{mode},{oid},{}", e.path);
                    self.with_index(
                        root,
                        &index,
                        &["update-index", "--add", "--cacheinfo", &info],
                    )?;
                }
                None => {
                    self.with_index(
                        root,
                        &index,
                        &["update-index", "--force-remove", "--", &e.path],
                    )?;
                }
            }
        }
        let tree = self.with_index(root, &index, &["write-tree"])?;
        Ok(text(tree).trim().to_string())
    }

    fn commit_tree(
        &self,
        root: &Path,
        tree: &str,
        parents: &[&str],
        message: &str,
        who: &Signature,
    ) -> Result<String> {
        let mut args = vec!["commit-tree", tree, "-m", message];
        for p in parents {
            args.extend(["-p", p]);
        }
        let c = self
            .command(root)
            .env("GIT_AUTHOR_NAME", &who.name)
            .env("GIT_AUTHOR_EMAIL", &who.email)
            .env("GIT_AUTHOR_DATE", &who.date)
            .env("GIT_COMMITTER_NAME", &who.name)
            .env("GIT_COMMITTER_EMAIL", &who.email)
            .env("GIT_COMMITTER_DATE", &who.date);
        // Signing would prompt (gpg agent) or differ per machine; warden's
        // sync commits are plain and deterministic.
        let mut full = vec!["-c", "commit.gpgsign=false"];
        full.extend(args);
        let out = self.output(c, &full)?;
        if !out.success() {
            return Err(failed(&full, &out.stderr));
        }
        Ok(text(out.stdout).trim().to_string())
    }

    fn create_ref(&self, root: &Path, name: &str, oid: &str) -> Result<()> {
        let msg = "warden sync: create";
        self.bytes(root, &["update-ref", "-m", msg, name, oid, ""])
            .map(|_| ())
    }

    fn run(&self, dir: &Path, args: &[&str]) -> Result<String> {
        Ok(text(self.bytes(dir, args)?))
    }

    fn identity(&self, root: &Path) -> Result<Option<Identity>> {
        let args = ["var", "GIT_AUTHOR_IDENT"];
        let out = self.output(self.command(root), &args)?;
        // git refuses (exit 128) when it cannot tell who the user is.
        Ok(out
            .success()
            .then(|| parse_ident(&text(out.stdout)))
            .flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_track_is_parsed_exactly() {
        assert_eq!(parse_track(""), Some((0, 0)));
        assert_eq!(parse_track("[ahead 3]"), Some((3, 0)));
        assert_eq!(parse_track("[behind 12]"), Some((0, 12)));
        assert_eq!(parse_track("[ahead 1, behind 2]"), Some((1, 2)));
        assert_eq!(parse_track("[gone]"), None);
        assert_eq!(parse_track("[ahead x]"), None);
    }

    #[test]
    fn versions_parse_including_vendor_suffixes() {
        assert_eq!(parse_version("git version 2.47.3\n"), Some((2, 47, 3)));
        assert_eq!(
            parse_version("git version 2.39.1.windows.1"),
            Some((2, 39, 1))
        );
        assert_eq!(parse_version("git version 2.38"), Some((2, 38, 0)));
        assert_eq!(parse_version("hg 6.1"), None);
    }

    #[test]
    fn an_old_git_is_refused_with_the_minimum_and_a_fix() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fake = dir.path().join("git");
        std::fs::write(&fake, "#!/bin/sh\necho 'git version 2.30.1'\n").expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
            let e = GitCli::new(&fake).check_version().expect_err("too old");
            let msg = e.to_string();
            assert!(msg.contains("git 2.30.1 is older than 2.38"), "{msg}");
            assert!(e.hint().unwrap_or_default().contains("2.38"));
            assert_eq!(e.class(), warden_core::ExitClass::Input);
        }
    }

    #[test]
    fn a_missing_git_says_so() {
        let e = GitCli::new("/nonexistent/git-xyz")
            .check_version()
            .expect_err("missing");
        assert!(e.to_string().contains("git was not found"), "{e}");
    }
}
