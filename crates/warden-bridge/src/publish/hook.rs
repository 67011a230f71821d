//! The pre-commit guard: no inbound command, nor a retries file in
//! `commands/`, is ever committed.

use super::PublishError;
use super::git::Git;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The first line after the shebang of every hook warden writes: an
/// existing hook starting so is ours and is replaced without `--force`.
const HOOK_MARK: &str = "# warden bridge:";

/// The pre-commit guard, extended to every file under `commands/`
/// but its `.gitkeep`. `prefix` is the bridge root relative to the top of the
/// work tree ("" or "sub/dir/"): git names staged files from the top.
pub fn pre_commit_hook(prefix: &str) -> String {
    let quoted = format!("'{}'", prefix.replace('\'', r"'\''"));
    format!(
        r#"#!/bin/sh
{HOOK_MARK} never commit inbound commands or a retries file in commands/.
# The bridge root, relative to the top of the work tree (where git runs this hook).
P={quoted}
if [ -n "$(git diff --cached --name-only -- ":(literal)${{P}}commands/.retries.json")" ]; then
  echo "pre-commit: blocking ${{P}}commands/.retries.json" >&2
  git reset -q HEAD -- ":(literal)${{P}}commands/.retries.json" || true
  rm -f "${{P}}commands/.retries.json" || true
  exit 1
fi
staged=$(git diff --cached --name-only -- ":(literal)${{P}}commands/" ":(exclude,literal)${{P}}commands/.gitkeep")
if [ -n "$staged" ]; then
  echo "pre-commit: blocking staged files under ${{P}}commands/ (inbound commands are never committed):" >&2
  echo "$staged" >&2
  echo "unstage them with: git reset -q -- '${{P}}commands/'" >&2
  exit 1
fi
exit 0
"#
    )
}

/// Write `.git/hooks/pre-commit` (the hooks directory git uses). Refuses to
/// overwrite a different existing hook unless `force` (an earlier warden
/// hook is replaced).
pub fn install_hook(
    root: &Path,
    force: bool,
    env: &[(OsString, OsString)],
) -> Result<PathBuf, PublishError> {
    let git = Git::open(root, env)?;
    let dir = git.git_path("hooks")?;
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("pre-commit");
    let hook = pre_commit_hook(&git.prefix);
    if let Ok(cur) = std::fs::read_to_string(&path)
        && cur != hook
        && cur.lines().nth(1).is_none_or(|l| !l.starts_with(HOOK_MARK))
        && !force
    {
        return Err(PublishError::Io(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!(
                "{} exists with other content; pass --force to replace it",
                path.display()
            ),
        )));
    }
    warden_core::fsutil::write_atomic(&path, hook.as_bytes(), 0o755)
        .map_err(std::io::Error::other)?;
    Ok(path)
}
