//! Phase 1: find the meta files. A meta file is any
//! `*.meta.yaml` (the dot-prefixed repository contracts included) or a file
//! named `meta.yaml` (the test folders' specs, which the seed's own glob
//! missed). `.gitignore` is honoured; `.git/`, `.warden/state`, vendored
//! trees and virtual environments are never entered.

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use rayon::prelude::*;
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
///
/// One `read_dir` per folder: its listing says whether it has a
/// `.gitignore` (read only then), entry types come from the listing (no
/// `stat` per entry), and the repository's `.git/info/exclude` is read once. Ignore rules as git applies them: the
/// deepest `.gitignore` that matches decides (a `!` pattern re-includes),
/// then `info/exclude`; an ignored folder is not entered.
pub fn meta_files(root: &Path) -> Vec<String> {
    let out = std::sync::Mutex::new(Vec::new());
    let exclude = info_exclude(root);
    walk(root, "", None, &exclude, &out);
    let mut out = out.into_inner().unwrap_or_default();
    out.sort();
    out
}

/// One folder's ignore rules and its parent's.
struct Rules<'a> {
    parent: Option<&'a Rules<'a>>,
    gitignore: Option<Gitignore>,
}

impl Rules<'_> {
    fn ignored(&self, exclude: &Gitignore, path: &Path, is_dir: bool) -> bool {
        let mut at = Some(self);
        while let Some(r) = at {
            if let Some(gi) = &r.gitignore {
                match gi.matched(path, is_dir) {
                    Match::Ignore(_) => return true,
                    Match::Whitelist(_) => return false,
                    Match::None => {}
                }
            }
            at = r.parent;
        }
        exclude.matched(path, is_dir).is_ignore()
    }
}

fn walk(
    dir: &Path,
    rel: &str,
    parent: Option<&Rules>,
    exclude: &Gitignore,
    out: &std::sync::Mutex<Vec<String>>,
) {
    let Ok(listing) = std::fs::read_dir(dir) else {
        return;
    };
    let mut dirs = Vec::new();
    let mut metas = Vec::new();
    let mut has_gitignore = false;
    for e in listing.flatten() {
        let Ok(t) = e.file_type() else { continue };
        let name = e.file_name().to_string_lossy().into_owned();
        if t.is_dir() {
            if !is_vendored_dir(&name) {
                dirs.push(name);
            }
        } else {
            has_gitignore |= name == ".gitignore";
            if t.is_file() && is_meta_name(&name) {
                metas.push(name);
            }
        }
    }
    let rules = Rules {
        parent,
        gitignore: has_gitignore.then(|| {
            let mut b = GitignoreBuilder::new(dir);
            b.add(dir.join(".gitignore"));
            b.build().unwrap_or_else(|_| Gitignore::empty())
        }),
    };
    let child = |name: &str| {
        if rel.is_empty() {
            name.to_string()
        } else {
            format!("{rel}/{name}")
        }
    };
    let found: Vec<String> = metas
        .iter()
        .filter(|m| !rules.ignored(exclude, &dir.join(m), false))
        .map(|m| child(m))
        .collect();
    if !found.is_empty()
        && let Ok(mut v) = out.lock()
    {
        v.extend(found);
    }
    dirs.par_iter().for_each(|d| {
        let path = dir.join(d);
        if !rules.ignored(exclude, &path, true) {
            walk(&path, &child(d), Some(&rules), exclude, out);
        }
    });
}

/// The repository's `info/exclude` (through a worktree's `.git` file and
/// its `commondir` too); empty when there is none.
fn info_exclude(root: &Path) -> Gitignore {
    let dot_git = root.join(".git");
    let git_dir = match std::fs::read_to_string(&dot_git) {
        // A worktree or submodule: `.git` is a file naming the git folder.
        Ok(text) => {
            let Some(gd) = text.lines().next().and_then(|l| l.strip_prefix("gitdir: ")) else {
                return Gitignore::empty();
            };
            let gd = root.join(gd.trim());
            match std::fs::read_to_string(gd.join("commondir")) {
                Ok(common) => gd.join(common.trim()),
                Err(_) => gd,
            }
        }
        Err(_) => dot_git,
    };
    let mut b = GitignoreBuilder::new(root);
    b.add(git_dir.join("info").join("exclude"));
    b.build().unwrap_or_else(|_| Gitignore::empty())
}

/// A file's bytes, like `std::fs::read` but without its `statx` for a size
/// hint: meta files, documents and test files are small, and `check` reads
/// thousands of them. A directory fails to read (EISDIR), so no separate
/// `is_file` is needed.
pub fn read(path: &Path) -> std::io::Result<Vec<u8>> {
    read_all(&mut open(path)?)
}

/// [`read`], with the file's `stat` taken first when `stat` (from the open
/// file: no second path lookup). The stat is `None` for what is not a
/// regular file.
pub fn read_stat(
    path: &Path,
    stat: bool,
) -> std::io::Result<(Vec<u8>, Option<crate::proofs::FileStat>)> {
    let mut f = open(path)?;
    let st = if stat {
        f.metadata()
            .ok()
            .and_then(|m| crate::proofs::FileStat::from_metadata(&m))
    } else {
        None
    };
    Ok((read_all(&mut f)?, st))
}

fn open(path: &Path) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    // A FIFO where a file is expected must not block the walk (no effect on
    // regular files).
    #[cfg(target_os = "linux")]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut opts, 0o4000); // O_NONBLOCK
    opts.open(path)
}

/// The rest of the file. The bytes are kept (a meta file's, for the whole
/// run), so the result is allocated at its size: a small file is read into
/// a stack buffer first, not into a speculative heap one.
fn read_all(f: &mut std::fs::File) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut buf = [0u8; 16 * 1024];
    let mut out = Vec::new();
    loop {
        match f.read(&mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => {
                // Exact for a file read in one go; amortised after.
                if out.is_empty() {
                    out.reserve_exact(n);
                }
                out.extend_from_slice(&buf[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// The first part of `rel` (repository-relative, `/`-separated) that is a
/// symbolic link under `root`, as a repository-relative path; `None` when
/// no part is one (a part that does not exist ends the walk). Contracts
/// never read a declared document, test file or folder through a link: it
/// may lead out of the repository, and no warden run may write through one.
pub fn symlink_on(root: &Path, rel: &str) -> Option<String> {
    let mut at = root.to_path_buf();
    let mut end = 0;
    for part in rel.split('/') {
        end += part.len() + 1;
        if part.is_empty() || part == "." {
            continue;
        }
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                return Some(rel[..(end - 1).min(rel.len())].to_string());
            }
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

/// What a contract says of a declared path that goes through the symbolic
/// link `link` (see [`symlink_on`]).
pub fn symlink_message(rel: &str, link: &str) -> String {
    if rel == link {
        format!("{rel} is a symbolic link; warden neither reads nor writes through one")
    } else {
        format!(
            "{rel} goes through the symbolic link {link}; warden neither reads nor writes through one"
        )
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

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().expect("tempdir");
        for (f, text) in files {
            let p = d.path().join(f);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, text).expect("write");
        }
        d
    }

    #[test]
    fn the_deepest_gitignore_decides_and_a_bang_pattern_re_includes() {
        let d = tree(&[
            (".gitignore", "*.meta.yaml\n!keep/*.meta.yaml\n"),
            ("a.meta.yaml", "type: x\n"),
            ("keep/b.meta.yaml", "type: x\n"),
            ("sub/.gitignore", "!c.meta.yaml\nhidden/\n"),
            ("sub/c.meta.yaml", "type: x\n"),
            ("sub/d.meta.yaml", "type: x\n"),
            ("sub/hidden/e.meta.yaml", "type: x\n"),
            ("sub/meta.yaml", "type: x\n"),
        ]);
        assert_eq!(
            meta_files(d.path()),
            vec!["keep/b.meta.yaml", "sub/c.meta.yaml", "sub/meta.yaml"]
        );
    }

    #[test]
    fn info_exclude_is_honoured_in_a_repository_and_through_a_worktree_file() {
        let d = tree(&[
            (".git/info/exclude", "skipped/\n"),
            ("skipped/a.meta.yaml", "type: x\n"),
            ("kept/b.meta.yaml", "type: x\n"),
        ]);
        assert_eq!(meta_files(d.path()), vec!["kept/b.meta.yaml"]);
        // A linked worktree: `.git` names the worktree's git folder, whose
        // `commondir` leads to the repository's (where info/exclude is).
        let w = tree(&[
            ("skipped/a.meta.yaml", "type: x\n"),
            ("kept/b.meta.yaml", "type: x\n"),
        ]);
        let gd = d.path().join(".git/worktrees/w");
        std::fs::create_dir_all(&gd).expect("mkdir");
        std::fs::write(gd.join("commondir"), "../..\n").expect("write");
        std::fs::write(w.path().join(".git"), format!("gitdir: {}\n", gd.display()))
            .expect("write");
        assert_eq!(meta_files(w.path()), vec!["kept/b.meta.yaml"]);
    }
}
