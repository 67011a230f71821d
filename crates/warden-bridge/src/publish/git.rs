//! The one place the bridge runs git: through the process runner, with only
//! the caller's environment, prompts off, no detached gc, a timeout on every
//! command (longer for the network). Typed operations for publishing: the
//! work tree and prefix, the user's identity, the publish lock, batch object
//! writes (`hash-object --stdin-paths`, `cat-file --batch-check`,
//! `fast-import`), ref moves, and the index resets that follow.

use super::PublishError;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;
use warden_core::process::{Cmd, End, Finished};

/// The git work tree that holds the bridge root.
#[derive(Debug, Clone)]
pub(crate) struct Git {
    pub top: PathBuf,
    /// The bridge root relative to `top` ("" or "sub/dir/").
    pub prefix: String,
    identity: Vec<String>,
    pub(super) env: Vec<(OsString, OsString)>,
}

/// The ref `git fast-import` writes a pass's commits to before HEAD is moved.
pub(super) const SCRATCH_REF: &str = "refs/warden/bridge-publish";

/// Who commits when git does not know who the user is (as sync does).
pub const FALLBACK_NAME: &str = "warden";
pub const FALLBACK_EMAIL: &str = "warden@localhost";

/// How long a local git command may run before its tree is killed.
pub const GIT_LOCAL_TIMEOUT: Duration = Duration::from_secs(600);
/// How long a network git command (`pull`, `push`) may run.
pub const GIT_NETWORK_TIMEOUT: Duration = Duration::from_secs(900);

/// A git command's stdout, or its stderr as the error.
fn stdout_of(args: &[&str], out: Finished) -> Result<String, PublishError> {
    if out.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(PublishError::Git {
            args: args.join(" "),
            message: match out.end {
                End::Exited(_) => out.stderr_text(),
                _ => format!("{} ({})", out.describe(), out.stderr_text()),
            },
        })
    }
}

/// git in `dir` through the process runner: only `env` (plus no prompts),
/// no detached gc, killed with its tree past its timeout.
fn git_cmd(dir: &Path, env: &[(OsString, OsString)], args: &[&str]) -> Cmd {
    let network = args.iter().any(|a| matches!(*a, "pull" | "push" | "fetch"));
    Cmd::new("git")
        .args([
            "-c",
            "gc.autoDetach=false",
            "-c",
            "maintenance.autoDetach=false",
        ])
        .args(args)
        .cwd(dir)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env_remove("GIT_INDEX_FILE")
        .env("GIT_TERMINAL_PROMPT", "0")
        .timeout(if network {
            GIT_NETWORK_TIMEOUT
        } else {
            GIT_LOCAL_TIMEOUT
        })
}

fn run(dir: &Path, env: &[(OsString, OsString)], args: &[&str]) -> std::io::Result<Finished> {
    git_cmd(dir, env, args).run()
}

impl Git {
    pub(crate) fn open(root: &Path, env: &[(OsString, OsString)]) -> Result<Git, PublishError> {
        let out = run(
            root,
            env,
            &["rev-parse", "--show-toplevel", "--show-prefix"],
        )?;
        if !out.success() {
            return Err(PublishError::Git {
                args: "rev-parse".into(),
                message: format!(
                    "{} is not inside a git work tree: {}",
                    root.display(),
                    out.stderr_text()
                ),
            });
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines();
        let top = PathBuf::from(lines.next().unwrap_or_default());
        let prefix = lines.next().unwrap_or_default().to_string();
        let mut g = Git {
            top,
            prefix,
            identity: Vec::new(),
            env: env.to_vec(),
        };
        // Commits are the user's, as sync's are: their git identity when git
        // knows who they are (`GIT_AUTHOR_NAME` and friends, else
        // `user.name`/`user.email`), else warden's; warden and the run are
        // named in each commit's trailer.
        if g.try_git(&["var", "GIT_AUTHOR_IDENT"])?.is_none() {
            g.identity = vec![
                "-c".into(),
                format!("user.name={FALLBACK_NAME}"),
                "-c".into(),
                format!("user.email={FALLBACK_EMAIL}"),
            ];
        }
        Ok(g)
    }

    pub(super) fn raw(&self, args: &[&str]) -> std::io::Result<Finished> {
        let mut all: Vec<&str> = self.identity.iter().map(String::as_str).collect();
        all.extend_from_slice(args);
        run(&self.top, &self.env, &all)
    }

    /// Run git on another index file (`GIT_INDEX_FILE`).
    pub(super) fn git_index(&self, index: &Path, args: &[&str]) -> Result<String, PublishError> {
        let mut all: Vec<&str> = self.identity.iter().map(String::as_str).collect();
        all.extend_from_slice(args);
        let out = git_cmd(&self.top, &self.env, &all)
            .env("GIT_INDEX_FILE", index)
            .run()?;
        stdout_of(args, out)
    }

    /// Run git; `Ok(None)` when it exits non-zero.
    pub(super) fn try_git(&self, args: &[&str]) -> std::io::Result<Option<String>> {
        let out = self.raw(args)?;
        Ok(out
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned()))
    }

    pub(super) fn git(&self, args: &[&str]) -> Result<String, PublishError> {
        stdout_of(args, self.raw(args)?)
    }

    /// The kernel lock serialising publishers of this clone.
    pub(super) fn lock(&self) -> Result<std::fs::File, PublishError> {
        let dir = self.git(&["rev-parse", "--git-common-dir"])?;
        let dir = self.top.join(dir.trim());
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("warden-bridge-publish.lock"))?;
        f.lock()?;
        Ok(f)
    }

    pub(super) fn rel(&self, p: &str) -> String {
        format!("{}{p}", self.prefix)
    }

    /// The current branch's upstream as (remote, remote ref), e.g.
    /// ("origin", "refs/heads/main").
    pub(super) fn upstream(&self) -> Option<(String, String)> {
        let head = self
            .try_git(&["symbolic-ref", "-q", "HEAD"])
            .ok()
            .flatten()?;
        let branch = head.trim().strip_prefix("refs/heads/")?.to_string();
        let remote = self
            .try_git(&["config", &format!("branch.{branch}.remote")])
            .ok()
            .flatten()?;
        let rref = self
            .try_git(&["config", &format!("branch.{branch}.merge")])
            .ok()
            .flatten()?;
        let (remote, rref) = (remote.trim(), rref.trim());
        (!remote.is_empty() && !rref.is_empty()).then(|| (remote.to_string(), rref.to_string()))
    }

    /// Subjects of local commits not yet on the upstream.
    pub(super) fn unpushed(&self) -> Vec<String> {
        self.try_git(&["log", "--format=%s", "@{u}..HEAD"])
            .ok()
            .flatten()
            .map(|s| s.lines().map(str::to_string).collect())
            .unwrap_or_default()
    }
}

impl Git {
    /// Which of `paths` git ignores (tracked files never are). One process.
    pub(super) fn ignored(
        &self,
        paths: &BTreeSet<String>,
    ) -> Result<BTreeSet<String>, PublishError> {
        if paths.is_empty() {
            return Ok(BTreeSet::new());
        }
        let mut input = Vec::new();
        for p in paths {
            input.extend_from_slice(p.as_bytes());
            input.push(0);
        }
        let args = ["check-ignore", "-z", "--stdin"];
        let out = git_cmd(&self.top, &self.env, &args)
            .stdin_bytes(input)
            .run()?;
        // Exit 1: none is ignored.
        if !out.success() && out.end != End::Exited(1) {
            return Err(PublishError::Git {
                args: args.join(" "),
                message: out.stderr_text(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .split('\0')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect())
    }

    /// Store the work tree's files as blobs (with their path's filters, as
    /// `git add` does); their ids, in order. One process.
    pub(super) fn hash_paths(&self, paths: &[String]) -> Result<Vec<String>, PublishError> {
        if paths.is_empty() {
            return Ok(Vec::new());
        }
        let input = paths.join("\n") + "\n";
        let args = ["hash-object", "-w", "--stdin-paths"];
        let out = git_cmd(&self.top, &self.env, &args)
            .stdin_bytes(input)
            .run()?;
        let ids: Vec<String> = stdout_of(&args, out)?.lines().map(str::to_string).collect();
        if ids.len() != paths.len() {
            return Err(PublishError::Git {
                args: args.join(" "),
                message: format!("gave {} ids for {} files", ids.len(), paths.len()),
            });
        }
        Ok(ids)
    }

    /// The (mode, blob id) of each of `paths` in `commit`, for those it has.
    /// One `cat-file --batch-check` for the ids; modes other than 100644 are
    /// read by one `ls-tree` of just the paths whose id is known.
    pub(super) fn tree_entries(
        &self,
        commit: &str,
        paths: &BTreeSet<String>,
    ) -> Result<BTreeMap<String, (u32, String)>, PublishError> {
        let mut out_map = BTreeMap::new();
        if paths.is_empty() {
            return Ok(out_map);
        }
        // Paths with a newline are left out (their output line could not be
        // told apart): they are simply committed whenever present.
        let asked: Vec<&String> = paths.iter().filter(|p| !p.contains('\n')).collect();
        let mut input = Vec::new();
        for p in &asked {
            input.extend_from_slice(format!("{commit}:{p}").as_bytes());
            input.push(0);
        }
        // `-z`: NUL-separated input (git 2.39 has no `-Z` for the output).
        let args = [
            "cat-file",
            "--batch-check=%(objectname) %(objecttype)",
            "-z",
        ];
        let out = git_cmd(&self.top, &self.env, &args)
            .stdin_bytes(input)
            .run()?;
        let text = stdout_of(&args, out)?;
        let mut found: Vec<&String> = Vec::new();
        for (p, rec) in asked.into_iter().zip(text.lines()) {
            if let Some(id) = rec.strip_suffix(" blob") {
                out_map.insert(p.clone(), (0o100644, id.to_string()));
                found.push(p);
            }
        }
        if found.is_empty() {
            return Ok(out_map);
        }
        // Modes: ls-tree of the known paths (literal pathspecs, from stdin
        // is not offered, so in batches of arguments).
        for chunk in found.chunks(2000) {
            let mut args = vec![
                "--literal-pathspecs",
                "ls-tree",
                "-z",
                "--full-tree",
                commit,
                "--",
            ];
            args.extend(chunk.iter().map(|p| p.as_str()));
            for rec in self.git(&args)?.split('\0').filter(|r| !r.is_empty()) {
                let Some((meta, path)) = rec.split_once('\t') else {
                    continue;
                };
                let mode = meta
                    .split(' ')
                    .next()
                    .and_then(|m| u32::from_str_radix(m, 8).ok());
                if let (Some(mode), Some(e)) = (mode, out_map.get_mut(path)) {
                    e.0 = mode;
                }
            }
        }
        Ok(out_map)
    }

    /// Write the pass's commits with one `git fast-import`; the id of the last.
    pub(super) fn fast_import(&self, stream: Vec<u8>, n: usize) -> Result<String, PublishError> {
        let marks = self.top.join(
            self.git(&["rev-parse", "--git-path", "warden-bridge-marks"])?
                .trim(),
        );
        let export = format!("--export-marks={}", marks.display());
        let args = [
            "fast-import",
            "--quiet",
            "--force",
            "--done",
            export.as_str(),
        ];
        let out = git_cmd(&self.top, &self.env, &args)
            .stdin_bytes(stream)
            .run();
        let text = std::fs::read_to_string(&marks).unwrap_or_default();
        let _ = std::fs::remove_file(&marks);
        stdout_of(&args, out?)?;
        let want = format!(":{n} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&want))
            .map(|s| s.trim().to_string())
            .ok_or_else(|| PublishError::Git {
                args: "fast-import".into(),
                message: format!("no commit for mark :{n}"),
            })
    }

    /// Move HEAD (its branch) from `old` to `new` and drop the scratch ref,
    /// in one transaction.
    pub(super) fn update_head(&self, new: &str, old: &str, msg: &str) -> Result<(), PublishError> {
        let input = format!("update HEAD {new} {old}\ndelete {SCRATCH_REF}\n");
        let args = ["update-ref", "-m", msg, "--stdin"];
        let out = git_cmd(&self.top, &self.env, &args)
            .stdin_bytes(input)
            .run()?;
        stdout_of(&args, out).map(|_| ())
    }

    /// The user's index follows HEAD for `paths` only. One process.
    pub(super) fn reset_paths(&self, paths: &[&str]) -> Result<(), PublishError> {
        if paths.is_empty() {
            return Ok(());
        }
        let mut input = Vec::new();
        for p in paths {
            input.extend_from_slice(p.as_bytes());
            input.push(0);
        }
        let args = [
            "--literal-pathspecs",
            "reset",
            "-q",
            "HEAD",
            "--pathspec-from-file=-",
            "--pathspec-file-nul",
        ];
        let out = git_cmd(&self.top, &self.env, &args)
            .stdin_bytes(input)
            .run()?;
        stdout_of(&args, out).map(|_| ())
    }

    /// The subjects of the newest `n` commits of HEAD.
    pub(crate) fn subjects(&self, n: usize) -> Result<Vec<String>, PublishError> {
        let n = n.to_string();
        Ok(self
            .git(&["log", "--format=%s", "-n", &n])?
            .lines()
            .map(str::to_string)
            .collect())
    }

    /// `path` (from the top) as HEAD has it; empty when HEAD has none.
    pub(super) fn head_blob(&self, path: &str) -> Vec<u8> {
        self.raw(&["show", &format!("HEAD:{path}")])
            .ok()
            .filter(|o| o.success())
            .map(|o| o.stdout)
            .unwrap_or_default()
    }

    /// What the user has staged (the index as a tree, and the staged paths), to
    /// put back after `pull --rebase --autostash`, which re-applies its stash
    /// without `--index` and so would leave those changes unstaged.
    pub(super) fn staged_state(&self) -> Option<(String, Vec<String>)> {
        let paths: Vec<String> = self
            .try_git(&["diff", "--cached", "--name-only", "-z", "HEAD"])
            .ok()??
            .split('\0')
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect();
        if paths.is_empty() {
            return None;
        }
        let tree = self.try_git(&["write-tree"]).ok()??.trim().to_string();
        Some((tree, paths))
    }

    pub(super) fn restore_staged(
        &self,
        state: &Option<(String, Vec<String>)>,
    ) -> Result<(), PublishError> {
        if let Some((tree, paths)) = state {
            let mut args = vec!["reset", "-q", tree.as_str(), "--"];
            args.extend(paths.iter().map(String::as_str));
            self.git(&args)?;
        }
        Ok(())
    }
}
