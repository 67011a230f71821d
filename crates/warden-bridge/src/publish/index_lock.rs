//! The runbook's "unwedge publish", done safely: a `.git/index.lock` left by a
//! killed git is removed; one a live process holds, or a young one, is
//! waited for.

use super::git::Git;
use super::{Backoff, PublishError, delay};
use std::path::Path;

/// An `index.lock` younger than this is never judged stale.
pub const STALE_LOCK_SECS: u64 = 5;

/// Who keeps `lock` alive: a process with it open, or a git process running
/// in `top`. `Ok(None)`: nobody (as far as /proc shows); `Err`: cannot tell
/// (no /proc).
fn lock_users(lock: &Path, top: &Path) -> std::io::Result<Option<String>> {
    let me = std::process::id().to_string();
    for e in std::fs::read_dir("/proc")?.flatten() {
        let pid = e.file_name().to_string_lossy().into_owned();
        if pid == me || !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let proc = e.path();
        if let Ok(fds) = std::fs::read_dir(proc.join("fd")) {
            for fd in fds.flatten() {
                if std::fs::read_link(fd.path()).is_ok_and(|t| t == lock) {
                    return Ok(Some(format!("process {pid} has it open")));
                }
            }
        }
        let comm = std::fs::read_to_string(proc.join("comm")).unwrap_or_default();
        if comm.trim() == "git"
            && std::fs::read_link(proc.join("cwd")).is_ok_and(|c| c.starts_with(top))
        {
            return Ok(Some(format!(
                "git (process {pid}) is running in {}",
                top.display()
            )));
        }
    }
    Ok(None)
}

/// The runbook's "unwedge publish", done safely: under our publish lock, an
/// `index.lock` that no live process holds and that is older than
/// [`STALE_LOCK_SECS`] was left by a killed git and is removed; one in use is
/// waited for with backoff. Returns what was removed.
pub(super) fn clear_stale_index_lock(
    git: &Git,
    backoff: &Backoff,
) -> Result<Option<String>, PublishError> {
    let lock = git.git_path("index.lock")?;
    let mut why = String::new();
    for attempt in 0..backoff.attempts.max(1) {
        let meta = match std::fs::symlink_metadata(&lock) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let age = meta
            .modified()
            .ok()
            .map(warden_core::context::age_of)
            .unwrap_or_default();
        why = match lock_users(&lock, &git.top) {
            Ok(Some(user)) => user,
            Err(e) => format!("cannot tell whether a process uses it (/proc: {e})"),
            Ok(None) if age.as_secs() < STALE_LOCK_SECS => {
                format!("it is only {} ms old", age.as_millis())
            }
            Ok(None) => {
                std::fs::remove_file(&lock)?;
                return Ok(Some(format!(
                    "removed a stale {} ({} s old, no process holds it open, no git running in {})",
                    lock.display(),
                    age.as_secs(),
                    git.top.display()
                )));
            }
        };
        if attempt + 1 < backoff.attempts.max(1) {
            std::thread::sleep(delay(attempt, backoff.base_ms, backoff.cap_ms));
        }
    }
    Err(PublishError::Git {
        args: "index.lock".into(),
        message: format!(
            "{} is in use ({why}); publishing waits for it (retried with backoff). If no git runs in {} any more, remove the file",
            lock.display(),
            git.top.display()
        ),
    })
}
