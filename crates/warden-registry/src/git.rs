//! The git questions the registry maintainer asks, through the core's process
//! runner (`warden_core::process::Cmd`): read-only, never prompting, with the
//! environment the caller lists.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;
use warden_core::process::{Cmd, Sink};
use warden_core::{Error, Result};

const TIMEOUT: Duration = Duration::from_secs(300);
const LIMIT: u64 = 256 << 20;

#[derive(Debug, Clone)]
pub struct Git {
    root: PathBuf,
    env: Vec<(OsString, OsString)>,
    /// Paths already asked about: tracked or not (one `ls-files` for a whole
    /// session's citations instead of one per patch).
    known: std::cell::RefCell<std::collections::BTreeMap<String, bool>>,
}

impl Git {
    /// `env`: the base environment of children (PATH, HOME, …).
    pub fn new(root: &Path, env: Vec<(OsString, OsString)>) -> Git {
        Git {
            root: root.to_path_buf(),
            env,
            known: Default::default(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn run(&self, args: &[&str]) -> Result<(bool, Vec<u8>, String)> {
        let out = Cmd::new("git")
            .envs(self.env.iter().map(|(k, v)| (k.clone(), v.clone())))
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_OPTIONAL_LOCKS", "0")
            .env("GIT_LITERAL_PATHSPECS", "1")
            .env("LC_ALL", "C")
            .args(args)
            .cwd(&self.root)
            .stdout(Sink::capture(LIMIT))
            .stderr(Sink::capture(1 << 20))
            .timeout(TIMEOUT)
            .run()
            .map_err(|e| Error::Io {
                op: "run git in",
                path: self.root.clone(),
                source: e,
            })?;
        Ok((out.success(), out.stdout.clone(), out.stderr_text()))
    }

    fn ok(&self, args: &[&str]) -> Result<Vec<u8>> {
        let (ok, out, err) = self.run(args)?;
        if !ok {
            return Err(Error::Internal(format!(
                "git {}: {}",
                args.join(" "),
                err.trim()
            )));
        }
        Ok(out)
    }

    /// Refuse a revision that does not name a commit (exit 2, naming the flag).
    pub fn check_rev(&self, rev: &str) -> Result<()> {
        let spec = format!("{rev}^{{commit}}");
        let (ok, _, _) = self.run(&["rev-parse", "--verify", "--quiet", &spec])?;
        if ok {
            Ok(())
        } else {
            Err(Error::invalid(
                "(command line)",
                "--from-git-since",
                format!("\"{rev}\" is not a commit in this repository"),
                Some("give a branch, tag or commit, e.g. origin/main or HEAD~3".into()),
            ))
        }
    }

    /// Files that differ between `rev` and the working tree (committed,
    /// staged or not), deleted ones left out; sorted.
    pub fn changed_since(&self, rev: &str) -> Result<Vec<String>> {
        let out = self.ok(&[
            "diff",
            "--name-only",
            "-z",
            "--no-renames",
            "--diff-filter=d",
            rev,
            "--",
        ])?;
        let mut v: Vec<String> = out
            .split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect();
        v.sort();
        v.dedup();
        Ok(v)
    }

    /// A file's content at a revision, or None when it did not exist there.
    pub fn show(&self, rev: &str, path: &str) -> Result<Option<Vec<u8>>> {
        let spec = format!("{rev}:{path}");
        let (ok, out, _) = self.run(&["show", &spec])?;
        Ok(ok.then_some(out))
    }

    /// Which of `paths` git tracks (in the index). Answers are remembered.
    pub fn tracked(&self, paths: &[String]) -> Result<BTreeSet<String>> {
        let unknown: Vec<&String> = {
            let known = self.known.borrow();
            paths.iter().filter(|p| !known.contains_key(*p)).collect()
        };
        if !unknown.is_empty() {
            let mut found = BTreeSet::new();
            // Bounded argument lists.
            for chunk in unknown.chunks(2000) {
                let mut args = vec!["ls-files", "-z", "--"];
                args.extend(chunk.iter().map(|s| s.as_str()));
                let out = self.ok(&args)?;
                found.extend(
                    out.split(|b| *b == 0)
                        .filter(|s| !s.is_empty())
                        .map(|s| String::from_utf8_lossy(s).into_owned()),
                );
            }
            let mut known = self.known.borrow_mut();
            for p in unknown {
                known.insert(p.clone(), found.contains(p));
            }
        }
        let known = self.known.borrow();
        Ok(paths
            .iter()
            .filter(|p| known.get(*p).copied().unwrap_or(false))
            .cloned()
            .collect())
    }

    /// The committer date (YYYY-MM-DD) of the last commit after the day
    /// `after` (YYYY-MM-DD) that touched `path`; None when there is none (the
    /// walk stops at older commits, so a long history costs nothing).
    pub fn last_touch(&self, path: &str, after: &str) -> Result<Option<String>> {
        let since = format!("--since={after}T23:59:59Z");
        let (ok, out, _) = self.run(&["log", "-1", "--format=%cs", &since, "--", path])?;
        let s = String::from_utf8_lossy(&out).trim().to_string();
        Ok((ok && !s.is_empty()).then_some(s))
    }

    /// The git directory (for the pre-commit hook).
    pub fn hooks_dir(&self) -> Result<PathBuf> {
        let out = self.ok(&["rev-parse", "--git-path", "hooks"])?;
        let s = String::from_utf8_lossy(&out).trim().to_string();
        let p = PathBuf::from(s);
        Ok(if p.is_absolute() {
            p
        } else {
            self.root.join(p)
        })
    }
}
