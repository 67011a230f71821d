//! Phase 1: find the meta files. A meta file is any
//! `*.meta.yaml` (the dot-prefixed repository contracts included) or a file
//! named `meta.yaml` (the test folders' specs, which the seed's own glob
//! missed). `.gitignore` is honoured; `.git/`, `.warden/state`, vendored
//! trees and virtual environments are never entered.

use std::path::Path;

/// Folders never scanned, at any depth: they hold other people's files.
pub const VENDORED: &[&str] = &[
    ".git",
    "node_modules",
    "target",
    "vendor",
    "third_party",
    ".venv",
    "venv",
    "__pycache__",
    ".tox",
    ".mypy_cache",
    ".pytest_cache",
    "site-packages",
    ".quarantine",
    ".runs",
];

pub fn is_meta_name(name: &str) -> bool {
    name == "meta.yaml" || name.ends_with(".meta.yaml")
}

fn is_vendored_dir(name: &str) -> bool {
    VENDORED.contains(&name)
}

/// Every meta file under `root`, as sorted repository-relative paths with '/'.
pub fn meta_files(root: &Path) -> Vec<String> {
    let out = std::sync::Mutex::new(Vec::new());
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .git_ignore(true)
        .git_global(false)
        .git_exclude(true)
        .ignore(false)
        .parents(false)
        .require_git(false)
        .filter_entry(|e| {
            let is_dir = e.file_type().is_some_and(|t| t.is_dir());
            !(is_dir && e.depth() > 0 && is_vendored_dir(&e.file_name().to_string_lossy()))
        })
        .build_parallel();
    walker.run(|| {
        Box::new(|entry| {
            if let Ok(entry) = entry
                && entry.file_type().is_some_and(|t| t.is_file())
                && is_meta_name(&entry.file_name().to_string_lossy())
                && let Ok(rel) = entry.path().strip_prefix(root)
                && let Ok(mut v) = out.lock()
            {
                v.push(rel_string(rel));
            }
            ignore::WalkState::Continue
        })
    });
    let mut out = out.into_inner().unwrap_or_default();
    out.sort();
    out
}

/// A file's bytes, like `std::fs::read` but without its `statx` for a size
/// hint: meta files, documents and test files are small, and `check` reads
/// thousands of them. A directory fails to read (EISDIR), so no separate
/// `is_file` is needed.
pub fn read(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    // A FIFO where a file is expected must not block the walk (no effect on
    // regular files).
    #[cfg(target_os = "linux")]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut opts, 0o4000); // O_NONBLOCK
    let mut f = opts.open(path)?;
    let mut out = Vec::with_capacity(4096);
    let mut buf = [0u8; 16 * 1024];
    loop {
        match f.read(&mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// A relative path with '/' separators.
pub fn rel_string(rel: &Path) -> String {
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_pattern_and_skips_vendored_and_ignored_trees() {
        let d = tempfile::tempdir().expect("tempdir");
        let r = d.path();
        for f in [
            "README.meta.yaml",
            ".l9_repo.meta.yaml",
            "tests/unit/meta.yaml",
            "a/b/tests.meta.yaml",
            "node_modules/x/vendored.meta.yaml",
            "target/debug/x.meta.yaml",
            ".venv/lib/y.meta.yaml",
            "ignored/z.meta.yaml",
            "a/notmeta.yaml",
        ] {
            let p = r.join(f);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, "type: x\n").expect("write");
        }
        std::fs::write(r.join(".gitignore"), "ignored/\n").expect("write");
        assert_eq!(
            meta_files(r),
            vec![
                ".l9_repo.meta.yaml",
                "README.meta.yaml",
                "a/b/tests.meta.yaml",
                "tests/unit/meta.yaml"
            ]
        );
    }
}
