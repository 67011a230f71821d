//! `warden classify --duplicates [PATHS…]`: groups of identical files, read
//! only.
//!
//! The files are those a classify run would look at (the same walk: no
//! `.gitignore`d paths, none of warden's own areas, no bridge roots, no
//! symbolic links), under the named paths or, by default, the whole working
//! tree. Empty files are left out (like `jdupes` and `fclones` by default).
//! Three passes, each in parallel (rayon), each only over what the previous
//! one left in play: the size (files of a unique size cannot have a twin),
//! the sha256 of the first [`PREFIX_BYTES`] bytes, and the full sha256. Only
//! the full digest decides; the first two passes only skip
//! reading files that cannot match.

use crate::IoContext;
use crate::scan;
use rayon::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use warden_core::paths::RepoPath;
use warden_core::{Digest, Error, Result};

pub const DUPLICATES_SCHEMA_ID: &str = "warden.classify-duplicates/v1";

/// How much of each same-size file the second pass reads.
pub const PREFIX_BYTES: usize = 4096;

/// One set of files with the same full sha256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DuplicateGroup {
    pub sha256: Digest,
    /// Bytes per file.
    pub size: u64,
    /// Repository paths, sorted.
    pub paths: Vec<String>,
}

/// `warden classify --duplicates --format json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(
    title = "warden classify --duplicates report",
    description = "`warden classify --duplicates [PATHS] --format json`: groups of identical files (equal full sha256)"
)]
pub struct DuplicatesReport {
    /// Always "warden.classify-duplicates/v1".
    pub schema: String,
    /// The paths searched (repository paths); empty means the whole working tree.
    pub scope: Vec<String>,
    /// Files looked at (non-empty, after exclusions; a hard link to a file
    /// already counted is not a file of its own).
    pub files: u64,
    /// Paths left out because they are hard links to a file already counted
    /// (the same inode takes no extra space, so it is no duplicate; as
    /// `fclones` does by default).
    #[serde(default)]
    pub hard_links: u64,
    /// Files whose size another file shares (read in part).
    pub same_size: u64,
    /// Files longer than 4 KiB read in full (their size and first 4 KiB are shared).
    pub hashed: u64,
    /// Groups of two or more identical files, largest wasted space first,
    /// then by digest.
    pub groups: Vec<DuplicateGroup>,
    /// Files beyond the first of each group.
    pub duplicate_files: u64,
    /// Bytes those files take.
    pub wasted_bytes: u64,
}

fn hash_file(path: &Path, limit: Option<usize>) -> Result<Digest> {
    let mut f = std::fs::File::open(path).io("open", path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; limit.unwrap_or(128 * 1024).min(128 * 1024)];
    let mut left = limit.unwrap_or(usize::MAX);
    while left > 0 {
        let want = buf.len().min(left);
        let n = f.read(&mut buf[..want]).io("read", path)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        left -= n;
    }
    Ok(Digest(hasher.finalize().into()))
}

/// Group `(key, path)` pairs; keep groups of two or more.
fn groups<K: Ord>(items: Vec<(K, RepoPath)>) -> Vec<(K, Vec<RepoPath>)> {
    let mut m: BTreeMap<K, Vec<RepoPath>> = BTreeMap::new();
    for (k, p) in items {
        m.entry(k).or_default().push(p);
    }
    m.into_iter().filter(|(_, v)| v.len() > 1).collect()
}

/// A file that vanished since the walk is left out.
fn skip_vanished<T>(r: Result<T>) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Find the groups of identical files under `starts` (none: the whole tree).
pub fn find(root: &Path, starts: &[RepoPath]) -> Result<DuplicatesReport> {
    let paths = paths_under(root, starts)?;
    // Pass 1: sizes (each inode once).
    let (sized, hard_links) = sized(root, paths)?;
    let files = sized.len() as u64;
    let by_size = groups(sized);
    let same_size: u64 = by_size.iter().map(|(_, g)| g.len() as u64).sum();
    // Pass 2: the first PREFIX_BYTES (for small files, the whole content).
    let candidates: Vec<RepoPath> = by_size.into_iter().flat_map(|(_, g)| g).collect();
    let by_prefix = groups(digested(root, candidates, Some(PREFIX_BYTES))?);
    // Pass 3: the full digest, for files longer than the prefix (for the
    // others the prefix digest is the full one).
    let mut full: Vec<((u64, Digest), RepoPath)> = Vec::new();
    let mut to_hash = Vec::new();
    for ((size, d), g) in by_prefix {
        for p in g {
            if size <= PREFIX_BYTES as u64 {
                full.push(((size, d), p));
            } else {
                to_hash.push(p);
            }
        }
    }
    let hashed = to_hash.len() as u64;
    full.extend(digested(root, to_hash, None)?);
    let out = duplicate_groups(full);
    Ok(DuplicatesReport {
        schema: DUPLICATES_SCHEMA_ID.into(),
        scope: starts.iter().map(|s| s.as_str().to_string()).collect(),
        files,
        hard_links,
        same_size,
        hashed,
        duplicate_files: out.iter().map(|g| g.paths.len() as u64 - 1).sum(),
        wasted_bytes: out.iter().map(waste).sum(),
        groups: out,
    })
}

/// The files under `starts` (none: the whole tree), sorted, each once.
fn paths_under(root: &Path, starts: &[RepoPath]) -> Result<Vec<RepoPath>> {
    if starts.is_empty() {
        return scan::walk_tree(root);
    }
    let mut paths = Vec::new();
    for s in starts {
        paths.extend(scan::walk(root, s)?);
    }
    paths.sort();
    paths.dedup();
    Ok(paths)
}

/// The regular, non-empty files with their sizes (vanished ones skipped),
/// each inode once: a later path (in path order) that is a hard link to a
/// file already kept is left out and counted.
fn sized(root: &Path, paths: Vec<RepoPath>) -> Result<(Vec<(u64, RepoPath)>, u64)> {
    use std::os::unix::fs::MetadataExt;
    type Sized = Option<(u64, (u64, u64), RepoPath)>;
    let sized: Vec<Sized> = paths
        .into_par_iter()
        .map(|p| {
            let fs = p.to_fs(root);
            let m = skip_vanished(std::fs::symlink_metadata(&fs).io("inspect", &fs))?;
            Ok(m.filter(|m| m.is_file() && m.len() > 0)
                .map(|m| (m.len(), (m.dev(), m.ino()), p)))
        })
        .collect::<Result<_>>()?;
    let mut seen = std::collections::BTreeSet::new();
    let mut links = 0u64;
    let mut out = Vec::new();
    for (size, inode, p) in sized.into_iter().flatten() {
        if seen.insert(inode) {
            out.push((size, p));
        } else {
            links += 1;
        }
    }
    Ok((out, links))
}

/// Each file's size and digest of its first `limit` bytes (all: None),
/// vanished ones skipped.
fn digested(
    root: &Path,
    paths: Vec<RepoPath>,
    limit: Option<usize>,
) -> Result<Vec<((u64, Digest), RepoPath)>> {
    let digested: Vec<Option<((u64, Digest), RepoPath)>> = paths
        .into_par_iter()
        .map(|p| {
            let fs = p.to_fs(root);
            let Some(size) =
                skip_vanished(std::fs::metadata(&fs).io("inspect", &fs))?.map(|m| m.len())
            else {
                return Ok(None);
            };
            Ok(skip_vanished(hash_file(&fs, limit))?.map(|d| ((size, d), p)))
        })
        .collect::<Result<_>>()?;
    Ok(digested.into_iter().flatten().collect())
}

/// The bytes a group wastes: every copy but one.
fn waste(g: &DuplicateGroup) -> u64 {
    g.size * (g.paths.len() as u64 - 1)
}

/// The groups of two or more files with the same size and digest, most
/// waste first.
fn duplicate_groups(full: Vec<((u64, Digest), RepoPath)>) -> Vec<DuplicateGroup> {
    let mut out: Vec<DuplicateGroup> = Vec::new();
    let mut m: BTreeMap<(u64, Digest), Vec<String>> = BTreeMap::new();
    for ((size, d), p) in full {
        m.entry((size, d)).or_default().push(p.as_str().to_string());
    }
    for ((size, sha256), mut paths) in m {
        if paths.len() > 1 {
            paths.sort();
            out.push(DuplicateGroup {
                sha256,
                size,
                paths,
            });
        }
    }
    out.sort_by(|a, b| waste(b).cmp(&waste(a)).then(a.sha256.cmp(&b.sha256)));
    out
}
