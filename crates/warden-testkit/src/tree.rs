//! Snapshots of a working tree, to compare before and after.

use std::collections::BTreeMap;
use std::path::Path;

/// Git's and warden's own areas: left out of [`files`] with `skip_own`.
pub const OWN_AREAS: &[&str] = &[".git", ".warden", ".ledger", ".runs"];

/// One file of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub bytes: Vec<u8>,
    /// Permission bits (`0o644`); 0 where the platform has none.
    pub mode: u32,
}

/// Every regular file below `root` (symlinks as their target text), by
/// repository-relative path with `/`, leaving out the top-level entries named
/// in `skip` (e.g. [`OWN_AREAS`], or just `&[".git"]`).
pub fn files(root: &Path, skip: &[&str]) -> BTreeMap<String, File> {
    let mut out = BTreeMap::new();
    walk(root, root, skip, &mut |rel, p, is_dir| {
        if !is_dir {
            let meta = std::fs::symlink_metadata(p).expect("metadata");
            let bytes = if meta.file_type().is_symlink() {
                std::fs::read_link(p)
                    .expect("read_link")
                    .to_string_lossy()
                    .into_owned()
                    .into_bytes()
            } else {
                std::fs::read(p).expect("read")
            };
            out.insert(
                rel,
                File {
                    bytes,
                    mode: mode(&meta),
                },
            );
        }
    });
    out
}

/// [`files`] without the modes.
pub fn contents(root: &Path, skip: &[&str]) -> BTreeMap<String, Vec<u8>> {
    files(root, skip)
        .into_iter()
        .map(|(k, f)| (k, f.bytes))
        .collect()
}

/// The directories below `root` (relative paths), leaving out `skip` as in [`files`].
pub fn dirs(root: &Path, skip: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    walk(root, root, skip, &mut |rel, _, is_dir| {
        if is_dir {
            out.push(rel);
        }
    });
    out.sort();
    out
}

#[cfg(unix)]
fn mode(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn mode(_: &std::fs::Metadata) -> u32 {
    0
}

fn walk(root: &Path, dir: &Path, skip: &[&str], f: &mut dyn FnMut(String, &Path, bool)) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry"))
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for ent in entries {
        let p = ent.path();
        let rel = p
            .strip_prefix(root)
            .expect("below root")
            .to_string_lossy()
            .replace('\\', "/");
        if skip.contains(&rel.as_str()) {
            continue;
        }
        let is_dir = ent.file_type().expect("file type").is_dir();
        f(rel, &p, is_dir);
        if is_dir {
            walk(root, &p, skip, f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_list_files_below_the_root_and_skip_the_named_areas() {
        let d = tempfile::tempdir().expect("tempdir");
        let r = d.path();
        std::fs::create_dir_all(r.join("a/b")).expect("mkdir");
        std::fs::create_dir_all(r.join(".git")).expect("mkdir");
        std::fs::write(r.join("a/b/c.txt"), "c").expect("write");
        std::fs::write(r.join("top"), "t").expect("write");
        std::fs::write(r.join(".git/HEAD"), "h").expect("write");
        let all = contents(r, &[]);
        assert_eq!(
            all.keys().collect::<Vec<_>>(),
            [".git/HEAD", "a/b/c.txt", "top"]
        );
        let mine = files(r, OWN_AREAS);
        assert_eq!(mine.keys().collect::<Vec<_>>(), ["a/b/c.txt", "top"]);
        assert_eq!(mine["top"].bytes, b"t");
        assert_eq!(dirs(r, &[".git"]), ["a", "a/b"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(r.join("top"), std::fs::Permissions::from_mode(0o755))
                .expect("chmod");
            assert_eq!(files(r, OWN_AREAS)["top"].mode, 0o755);
        }
    }
}
