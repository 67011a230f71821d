//! Durable file operations. A write is: temp file in the same directory, write,
//! fsync, rename over the target, fsync the directory. `sync_all` on macOS uses
//! F_FULLFSYNC.

use crate::error::{IoContext, Result};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

#[cfg(unix)]
pub fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o7777))
        .io("set mode of", path)
}

#[cfg(not(unix))]
pub fn set_mode(_path: &Path, _mode: u32) -> Result<()> {
    Ok(())
}

#[cfg(unix)]
pub fn mode_of(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
pub fn mode_of(meta: &std::fs::Metadata) -> u32 {
    if meta.permissions().readonly() {
        0o444
    } else {
        0o644
    }
}

/// fsync a directory so renames and unlinks inside it are durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)
            .io("open dir", dir)?
            .sync_all()
            .io("fsync dir", dir)?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Write `content` to a fresh file at `path` (which must not exist), set its mode
/// and fsync it. Used for temp files that are renamed into place later.
pub fn write_new_synced(path: &Path, content: &[u8], mode: u32, sync: bool) -> Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .io("create", path)?;
    f.write_all(content).io("write", path)?;
    set_mode(path, mode)?;
    if sync {
        f.sync_all().io("fsync", path)?;
    }
    Ok(())
}

/// The temp name `write_atomic` stages `path` in: fixed length (at most 40 bytes),
/// whatever the length of the file name, so a legal name (up to NAME_MAX)
/// never yields an illegal temp name.
pub fn short_temp_name(path: &Path) -> String {
    let name = path.file_name().unwrap_or_default();
    let digest = crate::digest::Digest::of(name.as_encoded_bytes());
    format!(".warden-{}.tmp", digest.short())
}

/// Replace `path` durably with `content`: temp + fsync + rename + fsync dir.
pub fn write_atomic(path: &Path, content: &[u8], mode: u32) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(short_temp_name(path));
    let _ = std::fs::remove_file(&tmp);
    write_new_synced(&tmp, content, mode, true)?;
    std::fs::rename(&tmp, path).io("rename into", path)?;
    sync_dir(dir)
}

/// Create the directory `dir` (its parent exists) with the mode bits `mode`.
pub fn create_dir_with_mode(dir: &Path, mode: u32) -> Result<()> {
    std::fs::create_dir(dir).io("create dir", dir)?;
    set_mode(dir, mode)
}

/// Remove `dir` and then its parents up to (not including) `stop` while empty.
pub fn remove_empty_dirs(mut dir: &Path, stop: &Path) {
    while dir != stop && dir.starts_with(stop) {
        if std::fs::remove_dir(dir).is_err() {
            break;
        }
        match dir.parent() {
            Some(p) => dir = p,
            None => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_works_for_a_255_byte_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("n".repeat(255));
        write_atomic(&p, b"x", 0o644).expect("a legal name must be writable");
        assert_eq!(std::fs::read(&p).expect("read"), b"x");
        assert!(short_temp_name(&p).len() <= 40);
    }
}
