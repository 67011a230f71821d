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
use warden_core::process::Cmd;
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

fn git(root: &Path, env: &[(OsString, OsString)], args: &[&str]) -> Result<Vec<u8>> {
    let out = Cmd::new("git")
        .args(args)
        .cwd(root)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .timeout(GIT_TIMEOUT)
        .run()
        .map_err(|e| Error::Internal(format!("cannot run git: {e}")))?;
    if !out.success() {
        return Err(Error::invalid(
            root.display().to_string(),
            format!("git {}", args.join(" ")),
            format!("{}: {}", out.describe(), out.stderr_text().trim()),
            Some("run it inside a git repository with git on PATH".into()),
        ));
    }
    Ok(out.stdout)
}

/// The folder git runs hooks from.
pub fn hooks_dir(root: &Path, env: &[(OsString, OsString)]) -> Result<PathBuf> {
    let out = git(root, env, &["rev-parse", "--git-path", "hooks"])?;
    let rel = String::from_utf8_lossy(&out)
        .trim_end_matches('\n')
        .to_string();
    Ok(root.join(rel))
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
    let out = git(
        root,
        env,
        &[
            "diff",
            "--cached",
            "--name-only",
            "-z",
            "--no-renames",
            "--diff-filter=ACMR",
        ],
    )?;
    let mut paths: Vec<String> = out
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    paths.sort();
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
