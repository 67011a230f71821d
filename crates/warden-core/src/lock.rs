//! One writer per repository: a kernel lock (`flock`) on
//! `.warden/state/lock`. The kernel drops it when the process exits, however it
//! exits, so there is never a stale lock to delete by hand. The file's content
//! names the holder for the message a waiting writer prints; it is informative only.

use crate::error::{Error, IoContext, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Held while a writer works; released on drop or process exit.
#[derive(Debug)]
pub struct RepoLock {
    _file: File,
}

impl Drop for RepoLock {
    /// Unlock explicitly: closing the file alone keeps the lock while any
    /// copy of its descriptor lives, and a child that another thread has
    /// forked but not yet exec'd holds one for a moment.
    fn drop(&mut self) {
        let _ = self._file.unlock();
    }
}

fn open(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .io("open lock", path)
}

fn read_holder(mut f: &File) -> String {
    let mut s = String::new();
    let _ = f.seek(SeekFrom::Start(0));
    let _ = f.read_to_string(&mut s);
    let s = s.trim();
    if s.is_empty() {
        "another warden process".to_string()
    } else {
        s.to_string()
    }
}

/// Take the lock. When it is held: with `wait`, call `on_wait(holder)` once and
/// block until it is free; without, fail with `Error::Busy`.
pub fn acquire(
    path: &Path,
    holder: &str,
    wait: bool,
    on_wait: &mut dyn FnMut(&str),
) -> Result<RepoLock> {
    let file = open(path)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let who = read_holder(&file);
            if !wait {
                return Err(Error::Busy {
                    holder: who,
                    hint: None,
                });
            }
            on_wait(&who);
            file.lock().io("lock", path)?;
        }
        Err(TryLockError::Error(e)) => return Err(e).io("lock", path),
    }
    // Overwrite, then cut what is left of a longer holder: truncating to
    // zero first would free the file's block and allocate it again.
    let mut f = &file;
    let _ = f.seek(SeekFrom::Start(0));
    if f.write_all(holder.as_bytes()).is_ok() {
        let _ = file.set_len(holder.len() as u64);
    }
    Ok(RepoLock { _file: file })
}

/// Who holds the lock right now, if anyone. Does not block.
pub fn holder(path: &Path) -> Result<Option<String>> {
    if !path.exists() {
        return Ok(None);
    }
    let file = open(path)?;
    match file.try_lock() {
        Ok(()) => {
            let _ = file.unlock();
            Ok(None)
        }
        Err(TryLockError::WouldBlock) => Ok(Some(read_holder(&file))),
        Err(TryLockError::Error(e)) => Err(e).io("lock", path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_writer_is_busy_and_lock_is_released_on_drop() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("lock");
        let held = acquire(&p, "pid 1 (warden apply)", false, &mut |_| {}).expect("first");
        match acquire(&p, "pid 2", false, &mut |_| {}) {
            Err(Error::Busy { holder, .. }) => assert_eq!(holder, "pid 1 (warden apply)"),
            other => panic!("expected Busy, got {other:?}"),
        }
        assert_eq!(
            holder(&p).expect("holder").as_deref(),
            Some("pid 1 (warden apply)")
        );
        drop(held);
        assert_eq!(holder(&p).expect("holder"), None);
        acquire(&p, "pid 2", false, &mut |_| {}).expect("free again");
    }

    #[test]
    fn a_dropped_lock_was_still_held_by_a_forked_copy_of_its_descriptor() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("lock");
        let held = acquire(&p, "pid 1", false, &mut |_| {}).expect("first");
        // What a child forked by another thread holds until it execs.
        let copy = held._file.try_clone().expect("dup");
        drop(held);
        acquire(&p, "pid 2", false, &mut |_| {}).expect("free at once");
        drop(copy);
    }

    #[test]
    fn a_shorter_holder_after_a_longer_one_leaves_nothing_of_the_longer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("lock");
        drop(
            acquire(
                &p,
                "pid 12345 (warden apply a-long-name.json)",
                false,
                &mut |_| {},
            )
            .expect("first"),
        );
        let _held = acquire(&p, "pid 7", false, &mut |_| {}).expect("second");
        assert_eq!(std::fs::read_to_string(&p).expect("read"), "pid 7");
    }
}
