//! Which files a run looks at, and what it reads of each: the
//! files under the inbox roots (or under the paths named on
//! the command line), skipping `.gitignore`d paths, warden's own areas
//! (`.git/`, `.warden/`, `.ledger/`, `.runs/`, `.quarantine/`), the engine's
//! temp files, any bridge root (a folder with `.bridge/` or
//! `meta/bridge.json`). Entries that are not regular files with a UTF-8
//! name (symbolic links, FIFOs, sockets, devices, non-UTF-8 names) and the
//! engine's temp files are never classified but reported as [`Skipped`]
//! by [`walk_reporting`]. Each file is read once, in parallel: its full
//! sha256 and the first [`HEAD_BYTES`] bytes.

use crate::IoContext;
use crate::report::{SkipReason, Skipped};
use crate::score::HEAD_BYTES;
use rayon::prelude::*;
use sha2::{Digest as _, Sha256};
use std::io::Read;
use std::path::Path;
use warden_core::paths::RepoPath;
use warden_core::{Digest, Error, Result};

/// What was read of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    pub path: RepoPath,
    pub size: u64,
    /// Modification time on disk, unix seconds.
    pub fs_mtime: i64,
    pub sha256: Digest,
    pub head: Vec<u8>,
}

/// Whether warden must never classify `path`.
pub fn is_excluded(path: &RepoPath) -> bool {
    path.protected_area().is_some() || path.in_quarantine() || is_temp(path)
}

fn is_bridge_root(dir: &Path) -> bool {
    dir.join(".bridge").is_dir() || dir.join("meta").join("bridge.json").is_file()
}

/// Every file below `start` (a repository path; a file is itself), sorted.
/// A start that does not exist gives nothing.
pub fn walk(root: &Path, start: &RepoPath) -> Result<Vec<RepoPath>> {
    walk_reporting(root, start, &mut Vec::new())
}

/// [`walk`], adding to `skipped` every entry below `start` that is not
/// classified for what it is (not for where it is: ignored paths and
/// warden's own areas are left out silently).
pub fn walk_reporting(
    root: &Path,
    start: &RepoPath,
    skipped: &mut Vec<Skipped>,
) -> Result<Vec<RepoPath>> {
    let fs = start.to_fs(root);
    let meta = match std::fs::symlink_metadata(&fs) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).io("inspect", &fs),
    };
    if meta.is_dir() {
        return walk_fs(root, &fs, skipped);
    }
    if is_excluded(start) || ignored(root, start) {
        if is_temp(start) && start.protected_area().is_none() && !start.in_quarantine() {
            skipped.push(skip(start.as_str(), SkipReason::EngineTempFile));
        }
        return Ok(Vec::new());
    }
    if let Some(reason) = kind_reason(&meta.file_type()) {
        skipped.push(skip(start.as_str(), reason));
        return Ok(Vec::new());
    }
    Ok(vec![start.clone()])
}

/// Every file of the working tree, with the same exclusions as [`walk`].
pub fn walk_tree(root: &Path) -> Result<Vec<RepoPath>> {
    walk_fs(root, root, &mut Vec::new())
}

fn skip(path: &str, reason: SkipReason) -> Skipped {
    Skipped::new(path, reason)
}

fn is_temp(path: &RepoPath) -> bool {
    let name = path.file_name();
    name.starts_with(".warden-") && name.ends_with(".tmp")
}

/// Why an entry of this type is not classified; None for a regular file
/// (and a folder, which is walked).
fn kind_reason(t: &std::fs::FileType) -> Option<SkipReason> {
    use std::os::unix::fs::FileTypeExt;
    if t.is_file() || t.is_dir() {
        None
    } else if t.is_symlink() {
        Some(SkipReason::Symlink)
    } else if t.is_fifo() {
        Some(SkipReason::Fifo)
    } else if t.is_socket() {
        Some(SkipReason::Socket)
    } else {
        Some(SkipReason::Device)
    }
}

fn walk_fs(root: &Path, fs: &Path, skipped: &mut Vec<Skipped>) -> Result<Vec<RepoPath>> {
    let mut out = Vec::new();
    walk_fs_each(root, fs, &mut |p| out.push(p), skipped)?;
    out.sort();
    Ok(out)
}

/// [`walk_reporting`], handing each file to `visit` as it is found (in no
/// particular order) instead of collecting them: the watcher keeps only a
/// bounded window of a big inbox.
pub fn walk_each(
    root: &Path,
    start: &RepoPath,
    visit: &mut dyn FnMut(RepoPath),
    skipped: &mut Vec<Skipped>,
) -> Result<()> {
    let fs = start.to_fs(root);
    let meta = match std::fs::symlink_metadata(&fs) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).io("inspect", &fs),
    };
    if meta.is_dir() {
        return walk_fs_each(root, &fs, visit, skipped);
    }
    for p in walk_reporting(root, start, skipped)? {
        visit(p);
    }
    Ok(())
}

fn walk_fs_each(
    root: &Path,
    fs: &Path,
    visit: &mut dyn FnMut(RepoPath),
    skipped: &mut Vec<Skipped>,
) -> Result<()> {
    let walker = ignore::WalkBuilder::new(fs)
        .hidden(false)
        .ignore(false)
        .git_global(false)
        .git_ignore(true)
        .git_exclude(true)
        .parents(true)
        .require_git(false)
        .follow_links(false)
        .filter_entry(|e| {
            let is_dir = e.file_type().is_some_and(|t| t.is_dir());
            !(is_dir && (e.file_name() == ".git" || is_bridge_root(e.path())))
        })
        .build();
    for entry in walker {
        let entry = entry.map_err(|e| Error::Internal(format!("walk {}: {e}", fs.display())))?;
        let Some(t) = entry.file_type().filter(|t| !t.is_dir()) else {
            continue;
        };
        let Ok(rel) = entry.path().strip_prefix(root) else {
            continue;
        };
        let Some(rel_str) = rel.to_str() else {
            use std::os::unix::ffi::OsStrExt;
            skipped.push(Skipped::not_utf8(rel.as_os_str().as_bytes()));
            continue;
        };
        let Ok(p) = RepoPath::parse(rel_str, "(working tree)", "path") else {
            skipped.push(skip(rel_str, SkipReason::UnusableName));
            continue;
        };
        if is_excluded(&p) {
            if is_temp(&p) && p.protected_area().is_none() && !p.in_quarantine() {
                skipped.push(skip(rel_str, SkipReason::EngineTempFile));
            }
            continue;
        }
        match kind_reason(&t) {
            None => visit(p),
            Some(reason) => skipped.push(skip(rel_str, reason)),
        }
    }
    Ok(())
}

/// Whether `.gitignore` files (from the root down to the file's folder)
/// ignore `path`.
pub fn ignored(root: &Path, path: &RepoPath) -> bool {
    let mut b = ignore::gitignore::GitignoreBuilder::new(root);
    let mut dir = root.to_path_buf();
    let _ = b.add(dir.join(".gitignore"));
    if let Some(parent) = path.parent() {
        for comp in parent.as_str().split('/') {
            dir.push(comp);
            let _ = b.add(dir.join(".gitignore"));
        }
    }
    match b.build() {
        Ok(gi) => gi
            .matched_path_or_any_parents(path.to_fs(root), false)
            .is_ignore(),
        Err(_) => false,
    }
}

/// Read one file: size, mtime, full sha256, head.
pub fn read(root: &Path, path: &RepoPath) -> Result<FileInfo> {
    read_with(root, path, &mut vec![0u8; READ_BUF])
}

/// The read buffer of [`read_with`].
pub const READ_BUF: usize = 64 * 1024;

/// [`read`] with the caller's buffer (one per worker thread: a fresh 64 KiB
/// allocation per file showed in the profile).
pub fn read_with(root: &Path, path: &RepoPath, buf: &mut Vec<u8>) -> Result<FileInfo> {
    if buf.len() < READ_BUF {
        buf.resize(READ_BUF, 0);
    }
    let fs = path.to_fs(root);
    let mut f = std::fs::File::open(&fs).io("open", &fs)?;
    let meta = f.metadata().io("inspect", &fs)?;
    let fs_mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs() as i64);
    let mut hasher = Sha256::new();
    let mut head = Vec::new();
    let mut size = 0u64;
    loop {
        let n = f.read(buf).io("read", &fs)?;
        if n == 0 {
            break;
        }
        if head.len() < HEAD_BYTES {
            let take = (HEAD_BYTES - head.len()).min(n);
            head.extend_from_slice(&buf[..take]);
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok(FileInfo {
        path: path.clone(),
        size,
        fs_mtime,
        sha256: Digest(hasher.finalize().into()),
        head,
    })
}

/// Read many files in parallel; the result is in the order of `paths`. A file
/// that vanished since the walk is left out.
pub fn read_all(root: &Path, paths: &[RepoPath]) -> Result<Vec<FileInfo>> {
    let results: Vec<Result<Option<FileInfo>>> = paths
        .par_iter()
        .map_init(
            || vec![0u8; READ_BUF],
            |buf, p| match read_with(root, p, buf) {
                Ok(i) => Ok(Some(i)),
                Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                    Ok(None)
                }
                Err(e) => Err(e),
            },
        )
        .collect();
    let mut out = Vec::with_capacity(results.len());
    for r in results {
        if let Some(i) = r? {
            out.push(i);
        }
    }
    Ok(out)
}
