//! Shared test fixtures for warden's crates (a dev-dependency of each):
//!
//! - [`git`]: hermetic git — the environment cleared, no system or global
//!   config, fixed identities and dates, no prompts — and the helpers that run it;
//! - [`Sandbox`]: a temporary home with repositories, bare remotes and clones;
//! - [`tree`]: snapshots of a working tree (contents, modes) to compare before
//!   and after;
//! - [`build`]: proposal and bridge-command documents;
//! - [`registry`]: the text of capability-registry entries and indexes;
//! - [`modules`]: the text of module registries (`.warden/modules.yaml`);
//! - [`schemas`]: checking documents against published JSON Schemas.
//!
//! It depends on no warden crate, so each crate's own tests can use it without
//! building that crate twice.

// Test fixtures run real processes and read the environment directly.
#![allow(clippy::disallowed_methods)]

pub mod build;
pub mod fuzz;
pub mod git;
pub mod modules;
pub mod registry;
pub mod schemas;
pub mod tree;

use std::path::{Path, PathBuf};

/// A temporary home directory holding repositories, bare remotes and clones.
/// Git run through [`Sandbox::git`] uses it as `HOME`, so nothing outside it
/// is read or written. Removed when dropped.
#[derive(Debug)]
pub struct Sandbox {
    home: tempfile::TempDir,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            home: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// The home directory (canonical, so paths compare with what git prints).
    pub fn home(&self) -> PathBuf {
        self.home.path().canonicalize().expect("canonical home")
    }

    /// The hermetic environment with this sandbox's home ([`git::env`]).
    pub fn env(&self) -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
        git::env(&self.home())
    }

    /// Run git in `dir` and require success; returns stdout.
    pub fn git(&self, dir: &Path, args: &[&str]) -> String {
        git::git(dir, &self.home(), args)
    }

    /// Run git in `dir`; whether it succeeded.
    pub fn try_git(&self, dir: &Path, args: &[&str]) -> bool {
        git::try_git(dir, &self.home(), args)
    }

    /// A new repository `name` on branch `main`, with one commit of a README
    /// when `initial_commit`.
    pub fn repo(&self, name: &str, initial_commit: bool) -> PathBuf {
        let root = self.home().join(name);
        std::fs::create_dir_all(&root).expect("mkdir");
        self.git(&root, &["init", "--quiet", "--initial-branch=main"]);
        if initial_commit {
            std::fs::write(root.join("README.md"), "hello\n").expect("write");
            self.commit_all(&root, "init");
        }
        root
    }

    /// A bare repository `name` (e.g. "remote.git") to push to and clone from.
    pub fn bare_remote(&self, name: &str) -> PathBuf {
        let h = self.home();
        self.git(
            &h,
            &["init", "--quiet", "--bare", "--initial-branch=main", name],
        );
        h.join(name)
    }

    /// A clone of `remote` as `name`.
    pub fn clone(&self, remote: &Path, name: &str) -> PathBuf {
        let h = self.home();
        let remote = remote.to_string_lossy().into_owned();
        self.git(&h, &["clone", "--quiet", &remote, name]);
        h.join(name)
    }

    /// `git add -A` and commit everything in `dir`.
    pub fn commit_all(&self, dir: &Path, message: &str) {
        self.git(dir, &["add", "-A"]);
        self.git(dir, &["commit", "--quiet", "--allow-empty", "-m", message]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clone_of_a_bare_remote_round_trips_a_commit_with_fixed_identity_and_date() {
        let s = Sandbox::new();
        let remote = s.bare_remote("remote.git");
        let a = s.clone(&remote, "a");
        std::fs::write(a.join("x.txt"), "x\n").expect("write");
        s.commit_all(&a, "x");
        s.git(&a, &["push", "--quiet", "-u", "origin", "main"]);
        let b = s.clone(&remote, "b");
        assert_eq!(
            std::fs::read_to_string(b.join("x.txt")).expect("read"),
            "x\n"
        );
        let who = s.git(&b, &["log", "-1", "--format=%an <%ae> %aI %cn %cI"]);
        assert_eq!(
            who.trim(),
            format!(
                "{0} <{1}> {2} {0} {2}",
                git::NAME,
                git::EMAIL,
                "2026-01-01T00:00:00Z"
            )
        );
        assert!(!s.try_git(&b, &["rev-parse", "--verify", "no-such-branch"]));
    }

    #[test]
    fn the_environment_does_not_reach_git() {
        // A variable git would honour is not passed: the commit date stays fixed.
        let s = Sandbox::new();
        let r = s.repo("r", true);
        let out = git::hermetic("env", &s.home())
            .current_dir(&r)
            .output()
            .expect("env");
        let env = String::from_utf8_lossy(&out.stdout);
        let names: Vec<&str> = env.lines().filter_map(|l| l.split('=').next()).collect();
        for n in &names {
            assert!(
                n.starts_with("GIT_") || ["PATH", "HOME", "LC_ALL", "TZ"].contains(n),
                "unexpected variable {n} in {names:?}"
            );
        }
        assert!(names.contains(&"GIT_CONFIG_NOSYSTEM"));
        assert!(names.contains(&"GIT_TERMINAL_PROMPT"));
    }
}
