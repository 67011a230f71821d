//! The git pre-commit hook that dispatches the PreCommit event
//! (`warden hook install`, `warden hook pre-commit`).
//!
//! The hook is a two-line shell script naming warden's binary by its absolute
//! path (a hook runs with git's `PATH`, which may lack `~/.cargo/bin`). It is
//! written where git looks for hooks (`git rev-parse --git-path hooks`, so
//! `core.hooksPath` is honoured), never in the working tree. A hook warden did
//! not write is kept: installing refuses, or with `force` moves it aside.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;
use warden_core::git::Git;
use warden_core::{Error, Result};

/// The line that marks a hook as warden's (and its format version).
pub const MARKER: &str = "# warden-hook v1";
/// Where a replaced hook is kept.
pub const BACKUP: &str = "pre-commit.warden-backup";
const GIT_TIMEOUT: Duration = Duration::from_secs(30);

pub const HOOK_INSTALL_SCHEMA_ID: &str = "warden.hook-install/v1";

/// `warden hook install --format json`.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
#[schemars(title = "warden hook install")]
pub struct InstallReport {
    /// Always "warden.hook-install/v1".
    pub schema: String,
    /// The hook file.
    pub hook: String,
    /// "written", "unchanged" or "replaced".
    pub state: String,
    /// Where the user's previous hook was moved ("replaced" only).
    pub backup: Option<String>,
    /// The warden binary the hook runs.
    pub binary: String,
}

impl InstallReport {
    pub fn new(done: &Installed, exe: &Path) -> InstallReport {
        let (state, path, backup) = match done {
            Installed::Written { path } => ("written", path, None),
            Installed::Unchanged { path } => ("unchanged", path, None),
            Installed::Replaced { path, backup } => ("replaced", path, Some(backup)),
        };
        InstallReport {
            schema: HOOK_INSTALL_SCHEMA_ID.into(),
            hook: path.display().to_string(),
            state: state.into(),
            backup: backup.map(|b| b.display().to_string()),
            binary: exe.display().to_string(),
        }
    }
}

/// The hook's text for the warden binary at `exe`.
pub fn script(exe: &Path) -> String {
    let exe = exe.display().to_string().replace('\'', r"'\''");
    format!(
        "#!/bin/sh\n{MARKER}: written by `warden hook install`; dispatches PreCommit to the enabled plugins.\nexec '{exe}' hook pre-commit\n"
    )
}

/// What [`install`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Installed {
    /// Written (or rewritten over an older warden hook).
    Written { path: PathBuf },
    /// Already there, byte for byte.
    Unchanged { path: PathBuf },
    /// Written; the user's own hook was moved to `backup`.
    Replaced { path: PathBuf, backup: PathBuf },
}

/// git in `root` with `env` as its base; a `GIT_INDEX_FILE` there (the
/// index a `git commit -a` hook runs against) becomes the handle's index.
fn git(root: &Path, env: &[(OsString, OsString)]) -> Git {
    let g = Git::new(root)
        .with_base_env(env.to_vec())
        .local_timeout(GIT_TIMEOUT);
    match env.iter().rev().find(|(k, _)| k == "GIT_INDEX_FILE") {
        Some((_, index)) => g.with_index(index),
        None => g,
    }
}

/// A git failure as a usage error naming the repository.
fn refused(root: &Path, e: warden_core::git::Error) -> Error {
    Error::invalid(
        root.display().to_string(),
        e.op.clone(),
        e.message.clone(),
        Some("run it inside a git repository with git on PATH".into()),
    )
}

/// The folder git runs hooks from.
pub fn hooks_dir(root: &Path, env: &[(OsString, OsString)]) -> Result<PathBuf> {
    git(root, env)
        .git_path("hooks")
        .map_err(|e| refused(root, e))
}

/// Write the pre-commit hook for the binary `exe`.
pub fn install(
    root: &Path,
    exe: &Path,
    force: bool,
    env: &[(OsString, OsString)],
) -> Result<Installed> {
    let dir = hooks_dir(root, env)?;
    let path = dir.join("pre-commit");
    let text = script(exe);
    let io = |op: &'static str, p: &Path| {
        let p = p.to_path_buf();
        move |source| Error::Io {
            op,
            path: p,
            source,
        }
    };
    let mut backup = None;
    match std::fs::read(&path) {
        Ok(old) if old == text.as_bytes() => return Ok(Installed::Unchanged { path }),
        Ok(old) if String::from_utf8_lossy(&old).contains(MARKER) => {}
        Ok(_) if !force => {
            return Err(Error::rejected(
                path.display().to_string(),
                "pre-commit",
                "a pre-commit hook that warden did not write is installed",
                Some(format!(
                    "call `warden hook pre-commit` from it, or pass --force to move it to {BACKUP} and install warden's"
                )),
            ));
        }
        Ok(_) => {
            let b = dir.join(BACKUP);
            std::fs::rename(&path, &b).map_err(io("move aside", &path))?;
            backup = Some(b);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io("read", &path)(e)),
    }
    std::fs::create_dir_all(&dir).map_err(io("create", &dir))?;
    warden_core::fsutil::write_atomic(&path, text.as_bytes(), 0o755)?;
    Ok(match backup {
        Some(backup) => Installed::Replaced { path, backup },
        None => Installed::Written { path },
    })
}

/// The PreCommit payload: the staged paths that will be in the commit
/// (added, copied, modified, renamed; not deleted), sorted.
pub fn staged(root: &Path, env: &[(OsString, OsString)]) -> Result<serde_json::Value> {
    let paths = git(root, env)
        .staged_paths(None, Some("ACMR"))
        .map_err(|e| refused(root, e))?;
    Ok(serde_json::json!({ "staged": paths }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hook_quotes_a_binary_path_with_a_quote() {
        let s = script(Path::new("/opt/it's/warden"));
        assert!(
            s.contains(r"exec '/opt/it'\''s/warden' hook pre-commit"),
            "{s}"
        );
        assert!(s.starts_with("#!/bin/sh\n") && s.contains(MARKER), "{s}");
    }
}
