//! "The repo is verified unchanged after each plugin run" (G9), independently
//! of the kernel: a fingerprint of every file (size, mtime, mode, inode) before
//! and after. When the sandbox is not enforced the snapshot also keeps the
//! content of every file, so a change can be rolled back exactly.

use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    pub len: u64,
    pub mtime_ns: i128,
    pub mode: u32,
    pub ino: u64,
    pub symlink: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub files: BTreeMap<String, Meta>,
    /// Content (and mode) of every regular file, when taken with content.
    pub content: BTreeMap<String, (Vec<u8>, u32)>,
}

/// Areas the runtime itself writes between snapshots (never plugins).
const SKIP: &[&str] = &[".runs", ".warden/state"];

fn meta_of(m: &std::fs::Metadata) -> Meta {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Meta {
            len: m.len(),
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
            mode: m.mode(),
            ino: m.ino(),
            symlink: m.file_type().is_symlink(),
        }
    }
    #[cfg(not(unix))]
    {
        Meta {
            len: m.len(),
            mtime_ns: m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos() as i128),
            mode: 0,
            ino: 0,
            symlink: m.file_type().is_symlink(),
        }
    }
}

impl Snapshot {
    pub fn take(root: &Path, with_content: bool) -> std::io::Result<Snapshot> {
        let mut snap = Snapshot::default();
        walk(root, root, "", with_content, &mut snap)?;
        Ok(snap)
    }

    /// Paths whose presence or fingerprint differs, sorted.
    pub fn changed(&self, after: &Snapshot) -> Vec<String> {
        let mut out: Vec<String> = self
            .files
            .iter()
            .filter(|(p, m)| after.files.get(*p) != Some(m))
            .map(|(p, _)| p.clone())
            .collect();
        out.extend(
            after
                .files
                .keys()
                .filter(|p| !self.files.contains_key(*p))
                .cloned(),
        );
        out.sort();
        out.dedup();
        out
    }
}

fn walk(
    root: &Path,
    dir: &Path,
    prefix: &str,
    with_content: bool,
    snap: &mut Snapshot,
) -> std::io::Result<()> {
    for ent in std::fs::read_dir(dir)? {
        let ent = ent?;
        let name = ent.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        if SKIP.contains(&rel.as_str()) {
            continue;
        }
        let meta = std::fs::symlink_metadata(ent.path())?;
        if meta.is_dir() {
            walk(root, &ent.path(), &rel, with_content, snap)?;
            continue;
        }
        let m = meta_of(&meta);
        if with_content && meta.is_file() {
            let bytes = std::fs::read(ent.path())?;
            snap.content.insert(rel.clone(), (bytes, m.mode & 0o7777));
        }
        snap.files.insert(rel, m);
    }
    let _ = root;
    Ok(())
}
