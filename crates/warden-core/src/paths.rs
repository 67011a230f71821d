//! Repository-relative paths that cannot escape the repository (G9).
//!
//! A `RepoPath` is validated lexically when parsed (no `..`, no absolute path, no
//! empty or `.` component, `/` separators only) and checked against the disk before
//! any write: no component may be a symlink, so a write can never leave the tree
//! through a link. The repository lock guarantees no other warden writer races us.

use crate::error::{Error, IoContext, Refusal, Result};
use std::fmt;
use std::path::{Path, PathBuf};

/// Top-level names that belong to git or to warden itself. Proposals may never
/// write below them; only the core's own code does (the quarantine lane only via
/// the `quarantine` action).
pub const PROTECTED: &[&str] = &[".git", ".ledger", ".warden", ".runs"];
pub const QUARANTINE_DIR: &str = ".quarantine";

/// The longest file name (one path component) the file systems warden runs
/// on accept, in bytes.
pub const NAME_MAX: usize = 255;
/// The longest path the kernel accepts, in bytes, including the final NUL.
pub const PATH_MAX: usize = 4096;
/// Bytes warden may put in front of a user's path when it keeps a copy in the
/// quarantine lane: `.quarantine/<RUN>/files/` (45) or
/// `.quarantine/<RUN>-recovered/` (49), and both at once when a lane copy is
/// itself kept again (94), rounded up. A path is accepted only if it still
/// fits then.
pub const LANE_PREFIX_MAX: usize = 128;

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoPath(String);

impl RepoPath {
    /// Validate a path as written in a proposal. `file` and `field` name where it
    /// came from, for the error message.
    pub fn parse(s: &str, file: &str, field: &str) -> Result<Self> {
        let bad = |why: &str, hint: &str| {
            Err(Error::invalid(
                file,
                field,
                format!("path \"{s}\" {why}"),
                Some(hint.into()),
            ))
        };
        if s.is_empty() {
            return bad(
                "is empty",
                "give a repository-relative path such as \"docs/a.md\"",
            );
        }
        if s.contains('\0') {
            return bad("contains a NUL byte", "remove the NUL byte");
        }
        if s.contains('\\') {
            return bad("uses '\\'", "use '/' as the separator");
        }
        if s.starts_with('/') || (s.len() >= 2 && s.as_bytes()[1] == b':') {
            return bad(
                "is absolute",
                "paths are relative to the repository root, e.g. \"docs/a.md\"",
            )
            .map_err(|e| e.refusing(Refusal::UnsafePath));
        }
        for comp in s.split('/') {
            match comp {
                "" => {
                    return bad(
                        "has an empty component",
                        "remove the doubled or trailing '/'",
                    );
                }
                "." => return bad("has a '.' component", "remove the './'"),
                ".." => {
                    return bad(
                        "escapes the repository with '..'",
                        "paths must stay inside the repository",
                    )
                    .map_err(|e| e.refusing(Refusal::UnsafePath));
                }
                _ => {}
            }
        }
        Ok(RepoPath(s.to_string()))
    }

    /// For paths the core builds itself from validated parts.
    pub(crate) fn from_trusted(s: String) -> Self {
        debug_assert!(RepoPath::parse(&s, "", "").is_ok(), "untrusted path {s}");
        RepoPath(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn to_fs(&self, root: &Path) -> PathBuf {
        let mut p = root.to_path_buf();
        p.extend(self.0.split('/'));
        p
    }

    pub fn parent(&self) -> Option<RepoPath> {
        self.0.rfind('/').map(|i| RepoPath(self.0[..i].to_string()))
    }

    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// Refuse a path the file system could not take: a component longer than
    /// [`NAME_MAX`], or a path that, below `root` and with room for warden's
    /// quarantine prefix, would reach [`PATH_MAX`]. Exit 2, naming the field.
    pub fn check_lengths(&self, root: &Path, file: &str, field: &str) -> Result<()> {
        if let Some(comp) = self.0.split('/').find(|c| c.len() > NAME_MAX) {
            let shown: String = comp.chars().take(40).collect();
            return Err(Error::invalid(
                file,
                field,
                format!(
                    "the name \"{shown}…\" in path \"{}…\" is {} bytes, more than NAME_MAX ({NAME_MAX})",
                    self.0.chars().take(40).collect::<String>(),
                    comp.len()
                ),
                Some(format!(
                    "shorten the file or directory name to at most {NAME_MAX} bytes"
                )),
            ));
        }
        let full = root.as_os_str().len() + 1 + self.0.len() + LANE_PREFIX_MAX;
        if full >= PATH_MAX {
            let max = PATH_MAX.saturating_sub(root.as_os_str().len() + 2 + LANE_PREFIX_MAX);
            return Err(Error::invalid(
                file,
                field,
                format!(
                    "path \"{}…\" is {} bytes; in this repository a path may have at most {max} bytes, so that it and its copy in the quarantine lane stay under PATH_MAX ({PATH_MAX})",
                    self.0.chars().take(40).collect::<String>(),
                    self.0.len()
                ),
                Some("use a shorter path".into()),
            ));
        }
        Ok(())
    }

    /// Every proper ancestor directory, outermost first (`a`, `a/b` for `a/b/c`).
    pub fn ancestors(&self) -> impl Iterator<Item = RepoPath> + '_ {
        self.0
            .match_indices('/')
            .map(|(i, _)| RepoPath(self.0[..i].to_string()))
    }

    /// The first component of this path on disk, from the root down (the
    /// path itself included), that is a symbolic link, with what it points
    /// at. `None` when there is none up to the first missing component.
    pub fn first_symlink(&self, root: &Path) -> Option<(RepoPath, PathBuf)> {
        self.ancestors()
            .chain(std::iter::once(self.clone()))
            .map_while(|p| {
                let fs = p.to_fs(root);
                let meta = std::fs::symlink_metadata(&fs).ok()?;
                Some((p, fs, meta))
            })
            .find(|(_, _, meta)| meta.file_type().is_symlink())
            .map(|(p, fs, _)| (p, std::fs::read_link(fs).unwrap_or_default()))
    }

    /// The top-level protected area this path lies in, if any. Case-insensitive so a
    /// case-folding filesystem cannot be used to reach `.GIT/`. Any `.git`
    /// component (a nested repository or submodule) counts as `.git`.
    pub fn protected_area(&self) -> Option<&'static str> {
        let first = self.0.split('/').next().unwrap_or("");
        if let Some(p) = PROTECTED.iter().find(|p| first.eq_ignore_ascii_case(p)) {
            return Some(p);
        }
        if self.0.split('/').any(|c| c.eq_ignore_ascii_case(".git")) {
            return Some(".git");
        }
        None
    }

    pub fn in_quarantine(&self) -> bool {
        let first = self.0.split('/').next().unwrap_or("");
        first.eq_ignore_ascii_case(QUARANTINE_DIR)
    }

    /// Refuse when any existing component of the path is a symlink or a
    /// non-directory, or the path itself exists and is not a regular file.
    pub fn check_on_disk(&self, root: &Path, file: &str, field: &str) -> Result<()> {
        let mut cur = root.to_path_buf();
        let comps: Vec<&str> = self.0.split('/').collect();
        for (i, comp) in comps.iter().enumerate() {
            cur.push(comp);
            let last = i + 1 == comps.len();
            let meta = match std::fs::symlink_metadata(&cur) {
                Ok(m) => m,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
                    return Err(Error::invalid(
                        file,
                        field,
                        format!("path \"{self}\" goes through a file that is not a directory"),
                        None,
                    ));
                }
                Err(e) => match crate::error::path_problem(&e) {
                    // The name itself is unusable here (too long, a loop, …):
                    // the proposal is wrong, not the repository.
                    Some(fix) => {
                        return Err(Error::invalid(
                            file,
                            field,
                            format!("path \"{self}\" cannot be used: {e}"),
                            Some(fix.into()),
                        ));
                    }
                    None => return Err(e).io("inspect", &cur),
                },
            };
            let shown = comps[..=i].join("/");
            if meta.file_type().is_symlink() {
                return Err(Error::invalid(
                    file,
                    field,
                    format!("path \"{self}\" goes through the symlink \"{shown}\""),
                    Some("warden never writes through symlinks; use the link's target path".into()),
                )
                .refusing(Refusal::UnsafePath));
            }
            if last && !meta.is_file() {
                return Err(Error::invalid(
                    file,
                    field,
                    format!("path \"{self}\" exists and is not a regular file"),
                    None,
                ));
            }
            if !last && !meta.is_dir() {
                return Err(Error::invalid(
                    file,
                    field,
                    format!("path \"{self}\": \"{shown}\" is not a directory"),
                    None,
                ));
            }
        }
        Ok(())
    }
}

impl fmt::Display for RepoPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RepoPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl serde::Serialize for RepoPath {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for RepoPath {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        RepoPath::parse(&s, "", "").map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_escapes_and_odd_forms() {
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "a/./b",
            "a/",
            "a\\b",
            "C:/x",
        ] {
            assert!(RepoPath::parse(bad, "f", "p").is_err(), "{bad} accepted");
        }
        assert!(RepoPath::parse("docs/a.md", "f", "p").is_ok());
    }

    #[test]
    fn protected_areas_are_case_insensitive() {
        let p = |s| RepoPath::parse(s, "f", "p").expect("valid");
        assert_eq!(p(".git/config").protected_area(), Some(".git"));
        assert_eq!(p(".GIT/config").protected_area(), Some(".git"));
        assert_eq!(p("sub/.git/hooks/x").protected_area(), Some(".git"));
        assert_eq!(p(".ledger/runs/x.jsonl").protected_area(), Some(".ledger"));
        assert_eq!(p(".warden/policy.yaml").protected_area(), Some(".warden"));
        assert_eq!(p("src/git.rs").protected_area(), None);
    }

    #[cfg(unix)]
    #[test]
    fn refuses_paths_through_symlinks() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("real")).expect("mkdir");
        std::os::unix::fs::symlink("/tmp", dir.path().join("link")).expect("symlink");
        let p = RepoPath::parse("link/x", "f", "p").expect("valid");
        let err = p
            .check_on_disk(dir.path(), "f", "p")
            .expect_err("must refuse");
        assert!(err.to_string().contains("symlink"), "{err}");
        let ok = RepoPath::parse("real/x", "f", "p").expect("valid");
        ok.check_on_disk(dir.path(), "f", "p").expect("fine");
    }

    #[test]
    fn a_name_too_long_for_the_file_system_is_an_input_error_naming_the_field() {
        let dir = tempfile::tempdir().expect("tempdir");
        let name = "y".repeat(300);
        let p = RepoPath::parse(&name, "p.json", "actions[0].path").expect("lexically fine");
        let e = p
            .check_on_disk(dir.path(), "p.json", "actions[0].path")
            .expect_err("too long");
        assert_eq!(e.class(), crate::ExitClass::Input, "{e}");
        assert!(
            e.to_string()
                .starts_with("p.json: actions[0].path: path \"yyy"),
            "{e}"
        );
    }
}
