//! The one git layer: every git process warden starts goes through a [`Git`]
//! handle, which runs the git command line through [`crate::process::Cmd`]
//! (as cargo, jj and GitButler do for the network: credential helpers, ssh
//! config and `insteadOf` keep working, and the user's git is the one that
//! reads their repository).
//!
//! A [`Git`] is a repository (or working) directory plus how to run git
//! there. Its invariants:
//! - **it never prompts**: `GIT_TERMINAL_PROMPT=0`, `GCM_INTERACTIVE=never`,
//!   ssh in `BatchMode` for network operations (unless the caller says the
//!   user chose an ssh command), stdin closed (or fed bytes);
//! - **reads never take optional locks** (`GIT_OPTIONAL_LOCKS=0`: no
//!   opportunistic index refresh), and no git leaves a detached `gc`/
//!   maintenance behind (`gc.autoDetach=false`);
//! - **only the environment it is given**: the caller's base (the CLI's
//!   allow-listed one) plus the variables above; `GIT_INDEX_FILE` only for a
//!   handle made with [`Git::with_index`]. The core reads no environment;
//! - **every call has a deadline**: [`Git::local_timeout`] for local
//!   operations, [`Git::network_timeout`] for `fetch`, `push`, `pull` and
//!   `ls-remote`; past it the whole process tree is killed;
//! - **machine formats only** ([`parse`]): `-z` everywhere git offers it,
//!   porcelain v2, `for-each-ref` with NUL separators, literal pathspecs;
//! - **typed operations and typed errors** ([`Error`], with an
//!   [`ErrorKind`] and a hint). There is no public way to run an arbitrary
//!   argv: a new need is a new typed operation here.

// The git layer is, with the process runner, the one place that names git as
// a program.

pub mod parse;

mod batch;
mod commit_meta;
mod commits;
mod identity;
mod ops;
pub mod pack;

pub use commit_meta::{CommitMeta, parse_commit_object};
pub use commits::{Blob, CommitWriter};
pub use identity::IDENTITY_CACHE;
pub use ops::{Fetch, RefUpdate, Role, fast_import_path};
pub use parse::{
    CommitInfo, ConflictStage, Entry, Identity, MergeTree, ObjectInfo, Porcelain, RefInfo,
    RemoteConfig, StashInfo, TreeEntry, Worktree,
};

use crate::process::{Cmd, End, Finished};
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How long a local git operation may take before its tree is killed:
/// generous (a status of a huge tree, a `merge-tree` of a big merge).
pub const LOCAL_TIMEOUT: Duration = Duration::from_secs(600);

/// How long a network operation (`fetch`, `push`, `pull`, `ls-remote`) may
/// take by default.
pub const NETWORK_TIMEOUT: Duration = Duration::from_secs(120);

/// The trailer naming warden and its run on every commit warden makes for
/// the user.
pub const RUN_TRAILER: &str = "Warden-Run";

/// `Warden-Run: <RUN>`.
pub fn run_trailer(run: &str) -> String {
    format!("{RUN_TRAILER}: {run}")
}

/// What went wrong, for callers that decide by kind (never by message text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// git is not installed (not on the child's `PATH`).
    Missing,
    /// git is older than an operation needs.
    TooOld,
    /// The directory is not inside a git working tree.
    NotARepo,
    /// git could not be started or waited for (other than missing).
    Spawn,
    /// git ran and exited non-zero (or was killed by a signal).
    Failed,
    /// git ran past its deadline; its tree was killed.
    TimedOut,
    /// git wrote more than warden reads; its tree was killed.
    OutputLimit,
    /// git's output was not in the format asked for.
    Unexpected,
    /// A file warden manages around git (a temporary index) failed.
    Io,
}

/// A failed git operation: what was run, what happened, and what to do.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{op}: {message}")]
pub struct Error {
    pub kind: ErrorKind,
    /// The git command as the user would type it (`git fetch origin`),
    /// without warden's hardening options.
    pub op: String,
    pub message: String,
    /// What the user can do about it, when known.
    pub hint: Option<String>,
    /// git's exit code, when it exited.
    pub code: Option<i32>,
    /// The directory git ran in.
    pub dir: PathBuf,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, op: impl Into<String>, message: impl Into<String>) -> Self {
        Error {
            kind,
            op: op.into(),
            message: message.into(),
            hint: None,
            code: None,
            dir: PathBuf::new(),
        }
    }

    fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    fn in_dir(mut self, dir: &Path) -> Self {
        self.dir = dir.to_path_buf();
        self
    }

    /// What the user can do about it, when known.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }
}

impl From<Error> for crate::Error {
    fn from(e: Error) -> Self {
        match e.kind {
            ErrorKind::Missing => crate::Error::invalid("git", "program", e.message, e.hint),
            ErrorKind::TooOld => crate::Error::invalid("git", "version", e.message, e.hint),
            ErrorKind::NotARepo => crate::Error::NotARepo { path: e.dir },
            ErrorKind::Failed => crate::Error::Internal(match &e.hint {
                Some(h) => format!("{} failed: {} ({h})", e.op, e.message),
                None => format!("{} failed: {}", e.op, e.message),
            }),
            _ => crate::Error::Internal(match &e.hint {
                Some(h) => format!("{}: {} ({h})", e.op, e.message),
                None => format!("{}: {}", e.op, e.message),
            }),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Identity and time of a commit warden makes (pinned in tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub name: String,
    pub email: String,
    /// `git` date format, e.g. `2026-01-01T00:00:00Z`.
    pub date: String,
}

impl Signature {
    /// The user's identity when git knows it, else warden's own (the
    /// `Warden-Run` trailer names warden either way).
    pub fn of(who: Option<Identity>, date: impl Into<String>) -> Signature {
        let date = date.into();
        match who {
            Some(who) => Signature {
                name: who.name,
                email: who.email,
                date,
            },
            None => Signature {
                name: "warden".into(),
                email: "warden@localhost".into(),
                date,
            },
        }
    }
}

/// An entry for a tree built from another tree plus replacements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEdit {
    pub path: String,
    /// `Some((mode, blob))` to set, `None` to remove.
    pub blob: Option<(String, String)>,
}

/// A commit warden makes for the user ([`Git::commit_tree`]): authored and
/// committed as `who`, its message ending in the `Warden-Run: <run>` trailer.
#[derive(Debug, Clone, Copy)]
pub struct NewCommit<'a> {
    pub tree: &'a str,
    pub parents: &'a [&'a str],
    /// Subject and body, without the trailer.
    pub message: &'a str,
    pub run: &'a str,
    pub who: &'a Signature,
}

impl NewCommit<'_> {
    /// The full message: `message`, a blank line, the trailer.
    pub fn full_message(&self) -> String {
        format!("{}\n\n{}\n", self.message.trim_end(), run_trailer(self.run))
    }
}

#[derive(Debug, Clone)]
struct Config {
    program: OsString,
    /// The base environment of every git process (the CLI's allow-listed
    /// one); nothing is inherited.
    base: Vec<(OsString, OsString)>,
    /// Set after the base (tests pin HOME and config here).
    envs: Vec<(OsString, OsString)>,
    /// The user chose an ssh command through the environment: leave ssh alone.
    user_ssh_command: bool,
    local_timeout: Duration,
    network_timeout: Duration,
}

/// A git working directory and how to run git there. Cheap to clone; the
/// builder methods return a changed copy.
#[derive(Debug, Clone)]
pub struct Git {
    dir: PathBuf,
    cfg: Arc<Config>,
    /// `GIT_INDEX_FILE` for every call (a temporary index).
    index: Option<PathBuf>,
}

/// What kind of call: decides locks, ssh and the deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Read,
    Write,
    Network,
}

/// One git call as the typed operations describe it.
struct Call {
    mode: Mode,
    /// Options before the subcommand (`-c key=value`).
    pre: Vec<OsString>,
    args: Vec<OsString>,
    stdin: Option<Vec<u8>>,
    env: Vec<(OsString, OsString)>,
}

impl Call {
    fn new<S: AsRef<OsStr>>(mode: Mode, args: impl IntoIterator<Item = S>) -> Call {
        Call {
            mode,
            pre: Vec::new(),
            args: args
                .into_iter()
                .map(|a| a.as_ref().to_os_string())
                .collect(),
            stdin: None,
            env: Vec::new(),
        }
    }

    fn arg(mut self, a: impl AsRef<OsStr>) -> Call {
        self.args.push(a.as_ref().to_os_string());
        self
    }

    fn args<S: AsRef<OsStr>>(mut self, a: impl IntoIterator<Item = S>) -> Call {
        self.args
            .extend(a.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    fn config(mut self, kv: impl AsRef<OsStr>) -> Call {
        self.pre.push("-c".into());
        self.pre.push(kv.as_ref().to_os_string());
        self
    }

    fn stdin(mut self, bytes: Vec<u8>) -> Call {
        self.stdin = Some(bytes);
        self
    }

    fn env(mut self, k: impl AsRef<OsStr>, v: impl AsRef<OsStr>) -> Call {
        self.env
            .push((k.as_ref().to_os_string(), v.as_ref().to_os_string()));
        self
    }

    /// `git fetch origin` for messages: the subcommand and its operands,
    /// options left out, long lists cut short.
    fn shown(&self) -> String {
        let mut s = String::from("git");
        let operands = self
            .args
            .iter()
            .map(|a| a.to_string_lossy())
            .filter(|a| !a.starts_with('-'));
        for (n, a) in operands.enumerate() {
            if n == 6 {
                s.push_str(" …");
                break;
            }
            s.push(' ');
            s.push_str(&a);
        }
        s
    }
}

impl Git {
    /// git (found on the base environment's `PATH`) in `dir`, with no
    /// environment beyond the hardening variables until
    /// [`Git::with_base_env`] gives one.
    pub fn new(dir: impl Into<PathBuf>) -> Git {
        Git {
            dir: dir.into(),
            cfg: Arc::new(Config {
                program: "git".into(),
                base: Vec::new(),
                envs: Vec::new(),
                user_ssh_command: false,
                local_timeout: LOCAL_TIMEOUT,
                network_timeout: NETWORK_TIMEOUT,
            }),
            index: None,
        }
    }

    fn cfg_mut(&mut self) -> &mut Config {
        Arc::make_mut(&mut self.cfg)
    }

    /// The git program to run (a path, or a name looked up on `PATH`); tests
    /// inject fakes here.
    pub fn with_program(mut self, program: impl Into<OsString>) -> Git {
        self.cfg_mut().program = program.into();
        self
    }

    /// The environment git starts from (PATH, HOME, git's own variables…).
    pub fn with_base_env(mut self, env: Vec<(OsString, OsString)>) -> Git {
        self.cfg_mut().base = env;
        self
    }

    /// Set one more variable for every git process (after the base).
    pub fn with_env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Git {
        self.cfg_mut().envs.push((key.into(), value.into()));
        self
    }

    /// The user set `GIT_SSH_COMMAND`/`GIT_SSH`: leave ssh alone.
    pub fn with_user_ssh_command(mut self, yes: bool) -> Git {
        self.cfg_mut().user_ssh_command = yes;
        self
    }

    /// The deadline of each local operation.
    pub fn local_timeout(mut self, t: Duration) -> Git {
        self.cfg_mut().local_timeout = t;
        self
    }

    /// The deadline of each network operation.
    pub fn network_timeout(mut self, t: Duration) -> Git {
        self.cfg_mut().network_timeout = t;
        self
    }

    /// The same git in another directory.
    pub fn at(&self, dir: impl Into<PathBuf>) -> Git {
        Git {
            dir: dir.into(),
            cfg: self.cfg.clone(),
            index: None,
        }
    }

    /// The same git, every call using `index` as its index file
    /// (`GIT_INDEX_FILE`): for building trees without touching the user's.
    pub fn with_index(&self, index: impl Into<PathBuf>) -> Git {
        Git {
            dir: self.dir.clone(),
            cfg: self.cfg.clone(),
            index: Some(index.into()),
        }
    }

    /// The directory git runs in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The base environment (for callers that start other children alike).
    pub fn base_env(&self) -> &[(OsString, OsString)] {
        &self.cfg.base
    }

    fn command(&self, mode: Mode) -> Cmd {
        let mut c = Cmd::new(&self.cfg.program)
            // `-C`, not a working directory for the child: without one the
            // standard library starts git with `posix_spawn` (a vfork). With
            // one, a static warden cannot find glibc's
            // `posix_spawn_file_actions_addchdir_np` and forks, copying its
            // page tables and taking copy-on-write faults afterwards.
            .arg("-C")
            .arg(&self.dir)
            // Never leave a detached `gc --auto`/maintenance behind.
            .args([
                "-c",
                "gc.autoDetach=false",
                "-c",
                "maintenance.autoDetach=false",
            ])
            .envs(self.cfg.base.iter().map(|(k, v)| (k, v)))
            .env_remove("GIT_INDEX_FILE")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GCM_INTERACTIVE", "never")
            // Paths warden passes are paths, never patterns.
            .env("GIT_LITERAL_PATHSPECS", "1")
            .envs(self.cfg.envs.iter().map(|(k, v)| (k, v)))
            .timeout(match mode {
                Mode::Network => self.cfg.network_timeout,
                _ => self.cfg.local_timeout,
            });
        if mode == Mode::Read {
            // No opportunistic index refresh by any read (status, diff, …):
            // a read leaves the user's index byte for byte as it was.
            c = c.env("GIT_OPTIONAL_LOCKS", "0");
        }
        if let Some(i) = &self.index {
            c = c.env("GIT_INDEX_FILE", i);
        }
        c
    }

    /// Run one call. A kill (timeout, output limit) or a failure to start is
    /// an error; a non-zero exit is not (the caller decides).
    fn exec(&self, call: Call) -> Result<Finished> {
        let op = call.shown();
        let mut c = self.command(call.mode);
        if call.mode == Mode::Network && !self.cfg.user_ssh_command {
            // core.sshCommand (if any) still applies when GIT_SSH_COMMAND is
            // unset; read it so BatchMode is added to the user's own command.
            let base = self
                .config_get("core.sshCommand")
                .ok()
                .flatten()
                .unwrap_or_default();
            let base = if base.is_empty() { "ssh".into() } else { base };
            c = c.env("GIT_SSH_COMMAND", format!("{base} -o BatchMode=yes"));
        }
        for (k, v) in &call.env {
            c = c.env(k, v);
        }
        c = c.args(&call.pre).args(&call.args);
        if let Some(b) = call.stdin {
            c = c.stdin_bytes(b);
        }
        let out = c.run().map_err(|e| {
            if !self.dir.is_dir() {
                Error::new(
                    ErrorKind::Spawn,
                    &op,
                    format!("{} is not a directory", self.dir.display()),
                )
            } else if e.kind() == std::io::ErrorKind::NotFound {
                Error::new(ErrorKind::Missing, &op, "git was not found on PATH")
                    .with_hint("install git and put it on PATH")
            } else {
                Error::new(ErrorKind::Spawn, &op, format!("cannot run git: {e}"))
            }
            .in_dir(&self.dir)
        })?;
        // git itself enters the directory (`-C`): a missing one is its exit 128.
        if out.code == Some(128) && !self.dir.is_dir() {
            return Err(Error::new(
                ErrorKind::Spawn,
                &op,
                format!("{} is not a directory", self.dir.display()),
            )
            .in_dir(&self.dir));
        }
        let limit = match call.mode {
            Mode::Network => self.cfg.network_timeout,
            _ => self.cfg.local_timeout,
        };
        match out.end {
            End::TimedOut => Err(Error::new(
                ErrorKind::TimedOut,
                &op,
                format!(
                    "timed out after {} s; its process tree was killed",
                    limit.as_secs_f64()
                ),
            )
            .with_hint(if call.mode == Mode::Network {
                "check the network and the remote's address; warden never waits for a prompt"
            } else {
                "the repository may be very large or a lock held; try again"
            })
            .in_dir(&self.dir)),
            End::OutputLimit => Err(Error::new(
                ErrorKind::OutputLimit,
                &op,
                "wrote more output than warden reads and was killed",
            )
            .in_dir(&self.dir)),
            End::Exited(_) | End::Signalled(_) => Ok(out),
        }
    }

    /// Run and require success; stdout.
    fn ok(&self, call: Call) -> Result<Vec<u8>> {
        let op = call.shown();
        let out = self.exec(call)?;
        if !out.success() {
            return Err(self.failed(&op, &out));
        }
        Ok(out.stdout)
    }

    /// Run, require success, stdout as one trimmed line.
    fn line(&self, call: Call) -> Result<String> {
        Ok(String::from_utf8_lossy(&self.ok(call)?).trim().to_string())
    }

    fn failed(&self, op: &str, out: &Finished) -> Error {
        let msg = out.stderr_text();
        let mut e = Error::new(
            ErrorKind::Failed,
            op,
            if msg.is_empty() {
                format!("{} (no message)", out.describe())
            } else {
                msg
            },
        )
        .in_dir(&self.dir);
        e.code = out.code;
        e
    }

    /// A path git printed relative to the directory it ran in, made absolute.
    fn absolute(&self, p: String) -> PathBuf {
        let p = PathBuf::from(p);
        if p.is_absolute() { p } else { self.dir.join(p) }
    }
}
