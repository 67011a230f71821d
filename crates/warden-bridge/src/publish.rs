//! Publishing outputs with git (seed §6.6, §11.1, §12).
//!
//! - Only the safe directories' outputs (and the files a command changed, and
//!   the ledger) are committed, never `-A`, never `commands/`; nothing changed
//!   → no commit. Each commit is built in a private index seeded from HEAD, so
//!   what the user staged is neither committed nor unstaged.
//! - One commit per accepted command, `bridge: results <id> (exit=<code>)`;
//!   one commit for all the dead letters of a pass, `bridge: DLQ <reason>`
//!   (one) or `bridge: DLQ <n> dead letters (<reason> x<k>, …)`;
//!   `bridge: retries index update` for
//!   `meta/retries.json` alone; anything else under the safe directories goes
//!   in `bridge: outputs update`.
//! - `pull --rebase --autostash` + `push`, retried with exponential backoff
//!   and jitter up to a cap, serialised by a kernel lock (`flock` on a file in
//!   the git directory: released when the process dies, nothing to delete by hand).
//! - A rebase that conflicts is aborted and our commits are re-derived on the
//!   new upstream tip (Renovate's approach): our own files are kept, the log is
//!   merged as a union of lines, and the upstream's other files are taken as
//!   they are. Outputs are never dropped.

use crate::layout::{Layout, SAFE_DIRS};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;
use warden_core::process::{Cmd, End, Finished};

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("git {args}: {message}")]
    Git { args: String, message: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Backoff of the push loop.
#[derive(Debug, Clone)]
pub struct Backoff {
    /// Tries of pull --rebase + push within one publish.
    pub attempts: u32,
    pub base_ms: u64,
    pub cap_ms: u64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            attempts: 8,
            base_ms: 100,
            cap_ms: 5_000,
        }
    }
}

/// A random factor in [0.5, 1.5), from the operating system's random source
/// (1.0 in the unlikely case there is none).
pub fn jitter() -> f64 {
    match warden_core::context::random_u64() {
        Ok(r) => 0.5 + (r >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 1.0,
    }
}

/// `base * 2^attempt`, capped, times a jitter factor.
pub fn delay(attempt: u32, base_ms: u64, cap_ms: u64) -> Duration {
    let raw = base_ms.saturating_mul(1u64 << attempt.min(20)).min(cap_ms);
    Duration::from_millis((raw as f64 * jitter()) as u64)
}

#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct PublishReport {
    /// Commit subjects made, oldest first.
    pub commits: Vec<String>,
    /// What was committed: command ids, and `dead_letter/<key>` for dead letters.
    pub ids: Vec<String>,
    pub pushed: bool,
    /// Tries of pull + push.
    pub attempts: u32,
    /// Whether a conflicting rebase made us re-derive our commits.
    pub rederived: bool,
    /// Why nothing was pushed, when nothing was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The push kept failing (the commits stay local; retried later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A stale `index.lock` left by a killed git was removed (what and why).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale_lock_removed: Option<String>,
}

/// An `index.lock` younger than this is never judged stale.
pub const STALE_LOCK_SECS: u64 = 5;

/// Who keeps `lock` alive: a process with it open, or a git process running
/// in `top`. `Ok(None)`: nobody (as far as /proc shows); `Err`: cannot tell
/// (no /proc).
fn lock_users(lock: &Path, top: &Path) -> std::io::Result<Option<String>> {
    let me = std::process::id().to_string();
    for e in std::fs::read_dir("/proc")?.flatten() {
        let pid = e.file_name().to_string_lossy().into_owned();
        if pid == me || !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let proc = e.path();
        if let Ok(fds) = std::fs::read_dir(proc.join("fd")) {
            for fd in fds.flatten() {
                if std::fs::read_link(fd.path()).is_ok_and(|t| t == lock) {
                    return Ok(Some(format!("process {pid} has it open")));
                }
            }
        }
        let comm = std::fs::read_to_string(proc.join("comm")).unwrap_or_default();
        if comm.trim() == "git"
            && std::fs::read_link(proc.join("cwd")).is_ok_and(|c| c.starts_with(top))
        {
            return Ok(Some(format!(
                "git (process {pid}) is running in {}",
                top.display()
            )));
        }
    }
    Ok(None)
}

/// Seed §17's "unwedge publish", done safely: under our publish lock, an
/// `index.lock` that no live process holds and that is older than
/// [`STALE_LOCK_SECS`] was left by a killed git and is removed; one in use is
/// waited for with backoff. Returns what was removed.
fn clear_stale_index_lock(git: &Git, backoff: &Backoff) -> Result<Option<String>, PublishError> {
    let rel = git.git(&["rev-parse", "--git-path", "index.lock"])?;
    let lock = git.top.join(rel.trim());
    let mut why = String::new();
    for attempt in 0..backoff.attempts.max(1) {
        let meta = match std::fs::symlink_metadata(&lock) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let age = meta
            .modified()
            .ok()
            .map(warden_core::context::age_of)
            .unwrap_or_default();
        why = match lock_users(&lock, &git.top) {
            Ok(Some(user)) => user,
            Err(e) => format!("cannot tell whether a process uses it (/proc: {e})"),
            Ok(None) if age.as_secs() < STALE_LOCK_SECS => {
                format!("it is only {} ms old", age.as_millis())
            }
            Ok(None) => {
                std::fs::remove_file(&lock)?;
                return Ok(Some(format!(
                    "removed a stale {} ({} s old, no process holds it open, no git running in {})",
                    lock.display(),
                    age.as_secs(),
                    git.top.display()
                )));
            }
        };
        if attempt + 1 < backoff.attempts.max(1) {
            std::thread::sleep(delay(attempt, backoff.base_ms, backoff.cap_ms));
        }
    }
    Err(PublishError::Git {
        args: "index.lock".into(),
        message: format!(
            "{} is in use ({why}); publishing waits for it (retried with backoff). If no git runs in {} any more, remove the file",
            lock.display(),
            git.top.display()
        ),
    })
}

/// The git work tree that holds the bridge root.
#[derive(Debug, Clone)]
pub struct Git {
    pub top: PathBuf,
    /// The bridge root relative to `top` ("" or "sub/dir/").
    pub prefix: String,
    identity: Vec<String>,
    env: Vec<(OsString, OsString)>,
}

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
    pub fn open(root: &Path, env: &[(OsString, OsString)]) -> Result<Git, PublishError> {
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
        if g.try_git(&["config", "user.email"])?.is_none() {
            g.identity = vec![
                "-c".into(),
                "user.name=warden bridge".into(),
                "-c".into(),
                "user.email=warden-bridge@localhost".into(),
            ];
        }
        Ok(g)
    }

    fn raw(&self, args: &[&str]) -> std::io::Result<Finished> {
        let mut all: Vec<&str> = self.identity.iter().map(String::as_str).collect();
        all.extend_from_slice(args);
        run(&self.top, &self.env, &all)
    }

    /// Store `content` as a blob; its id.
    fn hash_object(&self, content: &[u8]) -> Result<String, PublishError> {
        let args = ["hash-object", "-w", "--stdin"];
        let out = git_cmd(&self.top, &self.env, &args)
            .stdin_bytes(content.to_vec())
            .run()?;
        Ok(stdout_of(&args, out)?.trim().to_string())
    }

    /// Run git on another index file (`GIT_INDEX_FILE`).
    fn git_index(&self, index: &Path, args: &[&str]) -> Result<String, PublishError> {
        let mut all: Vec<&str> = self.identity.iter().map(String::as_str).collect();
        all.extend_from_slice(args);
        let out = git_cmd(&self.top, &self.env, &all)
            .env("GIT_INDEX_FILE", index)
            .run()?;
        stdout_of(args, out)
    }

    /// Run git; `Ok(None)` when it exits non-zero.
    fn try_git(&self, args: &[&str]) -> std::io::Result<Option<String>> {
        let out = self.raw(args)?;
        Ok(out
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned()))
    }

    fn git(&self, args: &[&str]) -> Result<String, PublishError> {
        stdout_of(args, self.raw(args)?)
    }

    /// The kernel lock serialising publishers of this clone.
    fn lock(&self) -> Result<std::fs::File, PublishError> {
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

    fn rel(&self, p: &str) -> String {
        format!("{}{p}", self.prefix)
    }

    /// The current branch's upstream as (remote, remote ref), e.g.
    /// ("origin", "refs/heads/main").
    pub fn upstream(&self) -> Option<(String, String)> {
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
    fn unpushed(&self) -> Vec<String> {
        self.try_git(&["log", "--format=%s", "@{u}..HEAD"])
            .ok()
            .flatten()
            .map(|s| s.lines().map(str::to_string).collect())
            .unwrap_or_default()
    }
}

/// One commit's worth of outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    subject: String,
    /// The command ids (or `dead_letter/<key>`s) the commit publishes.
    ids: Vec<String>,
    files: Vec<String>,
    /// Target-repository files the command changed (paths from the top of
    /// the work tree), staged with the outputs when the target is this work tree.
    target_files: Vec<String>,
    /// Files committed with this content rather than the work tree's: the
    /// log up to this command's own line.
    blobs: Vec<(String, Vec<u8>)>,
    /// The ids its log lines carry (the command id; a dead letter's key too).
    log_ids: Vec<String>,
}

/// Changed or new files under the safe directories, grouped per command.
fn pending_groups(
    git: &Git,
    layout: &Layout,
    target_prefix: Option<&str>,
) -> Result<Vec<Group>, PublishError> {
    let mut args = vec!["status", "--porcelain=v1", "-z", "-uall", "--"];
    let dirs: Vec<String> = SAFE_DIRS.iter().map(|d| git.rel(d)).collect();
    args.extend(dirs.iter().map(String::as_str));
    let out = git.git(&args)?;
    let mut by_id: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut dlq: BTreeMap<String, (String, Option<String>)> = BTreeMap::new();
    let mut rest: BTreeSet<String> = BTreeSet::new();
    for rec in out.split('\0').filter(|r| r.len() > 3) {
        let path = rec[3..].to_string();
        let Some(rel) = path.strip_prefix(&git.prefix) else {
            continue;
        };
        let parts: Vec<&str> = rel.splitn(2, '/').collect();
        let (dir, name) = match parts.as_slice() {
            [d, n] => (*d, *n),
            _ => {
                rest.insert(path.clone());
                continue;
            }
        };
        let id = match dir {
            "archive" => name.strip_suffix(".json"),
            "diffs" => name.strip_suffix(".patch"),
            "results" => name
                .strip_suffix(".integrity.json")
                .or_else(|| name.strip_suffix(".json")),
            "dead_letter" => {
                if let Some(key) = name.strip_suffix(".json") {
                    let doc = std::fs::read(layout.dead_letter(key))
                        .ok()
                        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                        .unwrap_or_default();
                    let reason = doc["reason"].as_str().unwrap_or("unknown").to_string();
                    let doc_id = doc["id"].as_str().map(str::to_string);
                    dlq.insert(path.clone(), (reason, doc_id));
                    continue;
                }
                None
            }
            _ => None,
        };
        match id {
            Some(id) if !name.contains('/') => {
                by_id
                    .entry(id.to_string())
                    .or_default()
                    .insert(path.clone());
            }
            _ => {
                rest.insert(path.clone());
            }
        }
    }
    let mut groups: Vec<Group> = Vec::new();
    for (id, files) in by_id {
        let result = std::fs::read(layout.result(&id))
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .unwrap_or_default();
        let exit = result["exit_code"].as_i64().unwrap_or(0);
        let target_files = match target_prefix {
            Some(prefix) if result["status"] == "applied" => result["paths"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|p| p.as_str())
                        .map(|p| format!("{prefix}{p}"))
                        .collect()
                })
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        groups.push(Group {
            subject: format!("bridge: results {id} (exit={exit})"),
            log_ids: vec![id.clone()],
            ids: vec![id],
            files: files.into_iter().collect(),
            target_files,
            blobs: Vec::new(),
        });
    }
    // Every dead letter of the pass in one commit: a flood of refused
    // commands costs one commit, not one each.
    if !dlq.is_empty() {
        let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
        for (reason, _) in dlq.values() {
            *reasons.entry(reason.as_str()).or_default() += 1;
        }
        let subject = if dlq.len() == 1 {
            format!(
                "bridge: DLQ {}",
                reasons.keys().next().copied().unwrap_or("unknown")
            )
        } else {
            let list: Vec<String> = reasons
                .iter()
                .map(|(r, n)| {
                    if *n == 1 {
                        r.to_string()
                    } else {
                        format!("{r} x{n}")
                    }
                })
                .collect();
            format!(
                "bridge: DLQ {} dead letters ({})",
                dlq.len(),
                list.join(", ")
            )
        };
        let mut ids = Vec::new();
        let mut log_ids = Vec::new();
        let mut files = Vec::new();
        for (path, (_, doc_id)) in &dlq {
            let key = path
                .rsplit('/')
                .next()
                .and_then(|n| n.strip_suffix(".json"))
                .unwrap_or_default()
                .to_string();
            ids.push(format!("dead_letter/{key}"));
            log_ids.push(key);
            log_ids.extend(doc_id.clone());
            files.push(path.clone());
        }
        groups.push(Group {
            subject,
            ids,
            files,
            target_files: Vec::new(),
            blobs: Vec::new(),
            log_ids,
        });
    }
    let only_retries = !rest.is_empty() && rest.iter().all(|p| *p == git.rel("meta/retries.json"));
    let logs: Vec<String> = rest
        .iter()
        .filter(|p| p.starts_with(&git.rel("logs/")))
        .cloned()
        .collect();
    if !groups.is_empty() && !logs.is_empty() {
        let log = git.rel("logs/bridge.log");
        if logs.contains(&log) {
            split_log(git, &log, &mut groups);
        }
        let split = groups.iter().any(|g| !g.blobs.is_empty());
        // Other audit files, and the log when it cannot be split, travel
        // with the last command's commit.
        if let Some(last) = groups.last_mut() {
            last.files
                .extend(logs.iter().filter(|p| !split || **p != log).cloned());
        }
        rest.retain(|p| !logs.contains(p));
    }
    // The target's ledger (one chain file per writer, so clones never
    // conflict) travels with the last command's commit: the remote gets the
    // record of the runs that changed it.
    if let (Some(prefix), Some(last)) = (target_prefix, groups.last_mut()) {
        last.target_files.push(format!("{prefix}.ledger/runs"));
    }
    if !rest.is_empty() {
        groups.push(Group {
            subject: if only_retries {
                "bridge: retries index update".into()
            } else {
                "bridge: outputs update".into()
            },
            ids: Vec::new(),
            files: rest.into_iter().collect(),
            target_files: Vec::new(),
            blobs: Vec::new(),
            log_ids: Vec::new(),
        });
    }
    Ok(groups)
}

/// One commit per command with its own log line: the lines the log gained
/// since HEAD are given, in order, to the commands they name, and the
/// commands are put in the order of their lines (the order they were
/// processed). Each commit takes the log up to its command's last line; the
/// last one takes the whole file, so the final tree is the work tree's. Left
/// as it is (the whole log in the last commit) when the log was not only
/// appended to.
fn split_log(git: &Git, log: &str, groups: &mut Vec<Group>) {
    let Ok(work) = std::fs::read(git.top.join(log)) else {
        return;
    };
    let head = git
        .raw(&["show", &format!("HEAD:{log}")])
        .ok()
        .filter(|o| o.success())
        .map(|o| o.stdout)
        .unwrap_or_default();
    let Some(added) = work.strip_prefix(head.as_slice()) else {
        return;
    };
    // End offset (in `added`) of each group's last line.
    let mut ends: Vec<Option<usize>> = vec![None; groups.len()];
    let mut off = 0;
    for line in added.split_inclusive(|b| *b == b'\n') {
        off += line.len();
        let id = serde_json::from_slice::<serde_json::Value>(line)
            .ok()
            .and_then(|v| v["id"].as_str().map(str::to_string));
        if let Some(id) = id
            && let Some(i) = groups.iter().position(|g| g.log_ids.contains(&id))
        {
            ends[i] = Some(off);
        }
    }
    if ends.iter().all(Option::is_none) {
        return;
    }
    let mut order: Vec<(Option<usize>, Group)> = ends.into_iter().zip(groups.drain(..)).collect();
    // Commands without a line first (as they were), then in log order.
    order.sort_by_key(|(end, _)| end.map_or((0, 0), |e| (1, e)));
    let last = order.iter().rposition(|(end, _)| end.is_some());
    for (i, (end, mut g)) in order.into_iter().enumerate() {
        if let Some(end) = end {
            let upto = if Some(i) == last { added.len() } else { end };
            let mut content = head.clone();
            content.extend_from_slice(&added[..upto]);
            g.blobs.push((log.to_string(), content));
        }
        groups.push(g);
    }
}

/// Make one commit per group, in order, on top of HEAD, with a constant
/// number of git processes for the whole pass (issue 11): the work-tree files
/// are stored by one `git hash-object -w --stdin-paths` (which applies the
/// path's filters, as `git add` does), HEAD's versions are looked up by one
/// `git cat-file --batch-check`, ignored optional paths are found by one
/// `git check-ignore --stdin`, every commit is written by one
/// `git fast-import` onto a scratch ref, HEAD is moved by one
/// `git update-ref --stdin` against its old value, and the user's index is
/// brought up to the new HEAD for these paths only by one `git reset`.
/// A group that changes nothing is not committed, as before.
fn commit_groups(
    git: &Git,
    groups: &[Group],
    report: &mut PublishReport,
) -> Result<(), PublishError> {
    if groups.is_empty() {
        return Ok(());
    }
    let head = git
        .try_git(&["rev-parse", "-q", "--verify", "HEAD^{commit}"])?
        .map(|s| s.trim().to_string());
    // Optional paths: directories expanded to their files; ignored ones dropped.
    let mut optional: Vec<Vec<String>> = Vec::with_capacity(groups.len());
    let mut all_optional: BTreeSet<String> = BTreeSet::new();
    for g in groups {
        let mut list = Vec::new();
        for f in &g.target_files {
            expand(&git.top, f, &mut list);
        }
        all_optional.extend(list.iter().cloned());
        optional.push(list);
    }
    let ignored = git.ignored(&all_optional)?;
    // Every path of the pass, and what the work tree holds there.
    let mut paths: BTreeSet<String> = BTreeSet::new();
    for (g, opt) in groups.iter().zip(&optional) {
        paths.extend(g.files.iter().cloned());
        paths.extend(opt.iter().filter(|p| !ignored.contains(*p)).cloned());
        paths.extend(g.blobs.iter().map(|(p, _)| p.clone()));
    }
    let mut work: BTreeMap<String, Option<(u32, Content)>> = BTreeMap::new();
    let mut regular: Vec<String> = Vec::new();
    for p in &paths {
        let full = git.top.join(p);
        let entry = match std::fs::symlink_metadata(&full) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = std::fs::read_link(&full)?;
                Some((
                    0o120000,
                    Content::Inline(target.as_os_str().as_encoded_bytes().to_vec()),
                ))
            }
            Ok(m) if m.is_file() => {
                use std::os::unix::fs::PermissionsExt;
                let mode = if m.permissions().mode() & 0o111 != 0 {
                    0o100755
                } else {
                    0o100644
                };
                if p.contains('\n') {
                    Some((mode, Content::Inline(std::fs::read(&full)?)))
                } else {
                    regular.push(p.clone());
                    Some((mode, Content::Blob(String::new())))
                }
            }
            Ok(_) => None, // a directory where a file was: not ours to commit
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e.into()),
        };
        work.insert(p.clone(), entry);
    }
    for (p, sha) in regular.iter().zip(git.hash_paths(&regular)?) {
        if let Some(Some((_, c))) = work.get_mut(p) {
            *c = Content::Blob(sha);
        }
    }
    // HEAD's versions: (mode, blob id).
    let mut state: BTreeMap<String, (u32, String)> = match &head {
        Some(h) => git.tree_entries(h, &paths)?,
        None => BTreeMap::new(),
    };
    let mut commits: Vec<(usize, Vec<Change>)> = Vec::new();
    for (i, (g, opt)) in groups.iter().zip(&optional).enumerate() {
        let mut changes: Vec<Change> = Vec::new();
        let mut take = |path: &String| {
            let now = match g.blobs.iter().find(|(p, _)| p == path) {
                Some((_, bytes)) => Some((0o100644, Content::Inline(bytes.clone()))),
                None => work.get(path).cloned().flatten(),
            };
            match (&now, state.get(path)) {
                (Some((mode, Content::Blob(sha))), Some((m, s))) if m == mode && s == sha => {}
                (None, None) => {}
                (None, Some(_)) => {
                    state.remove(path);
                    changes.push((path.clone(), None));
                }
                (Some((mode, c)), _) => {
                    let id = match c {
                        Content::Blob(sha) => sha.clone(),
                        // Inline content never equals a stored id: always a change.
                        Content::Inline(_) => String::new(),
                    };
                    state.insert(path.clone(), (*mode, id));
                    changes.push((path.clone(), now.clone()));
                }
            }
        };
        for f in &g.files {
            take(f);
        }
        for f in opt.iter().filter(|p| !ignored.contains(*p)) {
            take(f);
        }
        for (f, _) in &g.blobs {
            if !g.files.contains(f) {
                take(f);
            }
        }
        if !changes.is_empty() {
            commits.push((i, changes));
        }
    }
    let touched: Vec<&str> = paths.iter().map(String::as_str).collect();
    if commits.is_empty() {
        // Still sync the user's index (repairs a crash between moving HEAD
        // and that sync).
        if head.is_some() {
            git.reset_paths(&touched)?;
        }
        return Ok(());
    }
    let author = git.git(&["var", "GIT_AUTHOR_IDENT"])?.trim().to_string();
    let committer = git.git(&["var", "GIT_COMMITTER_IDENT"])?.trim().to_string();
    let mut stream: Vec<u8> = Vec::new();
    if head.is_none() {
        // An unborn branch: the first commit has no parent (and not a stale
        // scratch ref's tip).
        stream.extend_from_slice(format!("reset {SCRATCH_REF}\n\n").as_bytes());
    }
    for (n, (i, changes)) in commits.iter().enumerate() {
        let g = &groups[*i];
        stream.extend_from_slice(format!("commit {SCRATCH_REF}\nmark :{}\n", n + 1).as_bytes());
        stream.extend_from_slice(format!("author {author}\ncommitter {committer}\n").as_bytes());
        let msg = format!("{}\n", g.subject);
        stream.extend_from_slice(format!("data {}\n{msg}", msg.len()).as_bytes());
        if let (0, Some(h)) = (n, &head) {
            stream.extend_from_slice(format!("from {h}\n").as_bytes());
        }
        for (path, now) in changes {
            let q = quote_path(path);
            match now {
                None => stream.extend_from_slice(format!("D {q}\n").as_bytes()),
                Some((mode, Content::Blob(sha))) => {
                    stream.extend_from_slice(format!("M {mode:o} {sha} {q}\n").as_bytes())
                }
                Some((mode, Content::Inline(bytes))) => {
                    stream.extend_from_slice(
                        format!("M {mode:o} inline {q}\ndata {}\n", bytes.len()).as_bytes(),
                    );
                    stream.extend_from_slice(bytes);
                    stream.push(b'\n');
                }
            }
        }
        stream.push(b'\n');
    }
    stream.extend_from_slice(b"done\n");
    let new = git.fast_import(stream, commits.len())?;
    let old = head.clone().unwrap_or_else(|| "0".repeat(40));
    let last = &groups[commits.last().map_or(0, |c| c.0)].subject;
    git.update_head(&new, &old, &format!("commit: {last}"))?;
    for (i, _) in &commits {
        report.commits.push(groups[*i].subject.clone());
        report.ids.extend(groups[*i].ids.iter().cloned());
    }
    git.reset_paths(&touched)?;
    Ok(())
}

/// The ref `git fast-import` writes a pass's commits to before HEAD is moved.
const SCRATCH_REF: &str = "refs/warden/bridge-publish";

/// One path's change in a commit: its new mode and content, or removed.
type Change = (String, Option<(u32, Content)>);

/// A file's new content: a stored blob's id, or bytes for fast-import.
#[derive(Debug, Clone)]
enum Content {
    Blob(String),
    Inline(Vec<u8>),
}

/// `rel` (from the top of the work tree) as files: a directory's files,
/// recursively; a file or a missing path as itself.
fn expand(top: &Path, rel: &str, out: &mut Vec<String>) {
    let full = top.join(rel);
    match std::fs::symlink_metadata(&full) {
        Ok(m) if m.is_dir() => {
            let Ok(rd) = std::fs::read_dir(&full) else {
                return;
            };
            let mut names: Vec<String> = rd
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            for n in names {
                expand(top, &format!("{}/{n}", rel.trim_end_matches('/')), out);
            }
        }
        _ => out.push(rel.to_string()),
    }
}

/// A path as fast-import reads it: C-style quoted when it must be.
fn quote_path(p: &str) -> String {
    if !p.starts_with('"') && !p.contains(['\n', '\\', '"']) {
        return p.to_string();
    }
    let mut q = String::from("\"");
    for c in p.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

impl Git {
    /// Which of `paths` git ignores (tracked files never are). One process.
    fn ignored(&self, paths: &BTreeSet<String>) -> Result<BTreeSet<String>, PublishError> {
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
    fn hash_paths(&self, paths: &[String]) -> Result<Vec<String>, PublishError> {
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
    fn tree_entries(
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
    fn fast_import(&self, stream: Vec<u8>, n: usize) -> Result<String, PublishError> {
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
    fn update_head(&self, new: &str, old: &str, msg: &str) -> Result<(), PublishError> {
        let input = format!("update HEAD {new} {old}\ndelete {SCRATCH_REF}\n");
        let args = ["update-ref", "-m", msg, "--stdin"];
        let out = git_cmd(&self.top, &self.env, &args)
            .stdin_bytes(input)
            .run()?;
        stdout_of(&args, out).map(|_| ())
    }

    /// The user's index follows HEAD for `paths` only. One process.
    fn reset_paths(&self, paths: &[&str]) -> Result<(), PublishError> {
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
}

/// What one commit takes from the work tree (paths from the top).
struct Paths<'a> {
    /// Taken as they are in the work tree.
    files: &'a [String],
    /// Taken one at a time when git accepts them (not ignored, tracked or present).
    optional: &'a [String],
    /// Removed from the commit.
    removed: &'a [String],
    /// Taken with this content (not the work tree's).
    blobs: &'a [(String, Vec<u8>)],
}

/// Commit exactly `paths` on top of HEAD and nothing else: the commit is
/// built in a private index seeded from HEAD (`GIT_INDEX_FILE`), written with
/// `commit-tree` and moved in with `update-ref` against the old HEAD, so what
/// the user has staged is neither committed nor disturbed. Then the user's
/// index is brought up to the new HEAD for these paths only. Returns whether
/// a commit was made (no change → none; the index is still synced, which
/// also repairs a crash between `update-ref` and that sync).
fn commit_paths(git: &Git, subject: &str, paths: &Paths) -> Result<bool, PublishError> {
    let index = git.top.join(
        git.git(&["rev-parse", "--git-path", "warden-bridge-index"])?
            .trim(),
    );
    let _ = std::fs::remove_file(&index);
    let head = git
        .try_git(&["rev-parse", "-q", "--verify", "HEAD^{commit}"])?
        .map(|s| s.trim().to_string());
    let made = (|| -> Result<bool, PublishError> {
        match &head {
            Some(h) => git.git_index(&index, &["read-tree", h])?,
            None => git.git_index(&index, &["read-tree", "--empty"])?,
        };
        if !paths.files.is_empty() {
            let mut args = vec!["add", "--"];
            args.extend(paths.files.iter().map(String::as_str));
            git.git_index(&index, &args)?;
        }
        for f in paths.optional {
            let _ = git.git_index(&index, &["add", "--", f]);
        }
        for (path, content) in paths.blobs {
            let blob = git.hash_object(content)?;
            git.git_index(
                &index,
                &[
                    "update-index",
                    "--add",
                    "--cacheinfo",
                    &format!("100644,{blob},{path}"),
                ],
            )?;
        }
        if !paths.removed.is_empty() {
            let mut args = vec!["rm", "-q", "--cached", "--ignore-unmatch", "--"];
            args.extend(paths.removed.iter().map(String::as_str));
            git.git_index(&index, &args)?;
        }
        let tree = git.git_index(&index, &["write-tree"])?.trim().to_string();
        let parent_tree = match &head {
            Some(h) => Some(git.git(&["rev-parse", &format!("{h}^{{tree}}")])?),
            None => None,
        };
        if parent_tree.as_deref().map(str::trim) == Some(tree.as_str()) {
            return Ok(false);
        }
        let mut args = vec!["commit-tree", tree.as_str(), "-m", subject];
        if let Some(h) = &head {
            args.extend(["-p", h.as_str()]);
        }
        let commit = git.git(&args)?.trim().to_string();
        let old = head.clone().unwrap_or_default();
        git.git(&[
            "update-ref",
            "-m",
            &format!("commit: {subject}"),
            "HEAD",
            &commit,
            &old,
        ])?;
        Ok(true)
    })();
    let _ = std::fs::remove_file(&index);
    let made = made?;
    // The user's index follows HEAD for our paths only.
    let mut args = vec!["reset", "-q", "HEAD", "--"];
    let all: Vec<&str> = paths
        .files
        .iter()
        .chain(paths.optional)
        .chain(paths.removed)
        .chain(paths.blobs.iter().map(|(p, _)| p))
        .map(String::as_str)
        .collect();
    if !all.is_empty() && head.is_some() {
        args.extend(all);
        git.git(&args)?;
    }
    Ok(made)
}

/// What the user has staged (the index as a tree, and the staged paths), to
/// put back after `pull --rebase --autostash`, which re-applies its stash
/// without `--index` and so would leave those changes unstaged.
fn staged_state(git: &Git) -> Option<(String, Vec<String>)> {
    let paths: Vec<String> = git
        .try_git(&["diff", "--cached", "--name-only", "-z", "HEAD"])
        .ok()??
        .split('\0')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    if paths.is_empty() {
        return None;
    }
    let tree = git.try_git(&["write-tree"]).ok()??.trim().to_string();
    Some((tree, paths))
}

fn restore_staged(git: &Git, state: &Option<(String, Vec<String>)>) -> Result<(), PublishError> {
    if let Some((tree, paths)) = state {
        let mut args = vec!["reset", "-q", tree.as_str(), "--"];
        args.extend(paths.iter().map(String::as_str));
        git.git(&args)?;
    }
    Ok(())
}

/// Where the target repository's paths start in the bridge root's work tree:
/// `Some("")` when the target is that work tree, `None` when it is another
/// repository (its changes are not ours to commit).
fn target_prefix(git: &Git, target: Option<&Path>) -> Option<String> {
    let t = Git::open(target?, &git.env).ok()?;
    let same = |a: &Path, b: &Path| {
        a.canonicalize()
            .ok()
            .zip(b.canonicalize().ok())
            .is_some_and(|(a, b)| a == b)
    };
    same(&t.top, &git.top).then_some(t.prefix)
}

/// Ids (and `dead_letter/<key>`s) whose outputs wait to be committed or
/// pushed.
pub fn pending_ids(layout: &Layout) -> Vec<String> {
    let Ok(git) = Git::open(&layout.root, &layout.child_env) else {
        return Vec::new();
    };
    let mut ids: Vec<String> = pending_groups(&git, layout, None)
        .map(|groups| groups.into_iter().flat_map(|g| g.ids).collect())
        .unwrap_or_default();
    for subject in git.unpushed() {
        if let Some(id) = subject
            .strip_prefix("bridge: results ")
            .and_then(|r| r.split(' ').next())
            && !ids.iter().any(|i| i == id)
        {
            ids.push(id.to_string());
        }
    }
    ids
}

/// Commit pending outputs and push them (when the branch has an upstream).
/// `target`: the target repository's root; when it is the bridge root's own
/// work tree, the files each command changed are committed with its outputs.
pub fn publish(
    layout: &Layout,
    backoff: &Backoff,
    target: Option<&Path>,
) -> Result<PublishReport, PublishError> {
    let git = Git::open(&layout.root, &layout.child_env)?;
    let _lock = git.lock()?;
    let mut report = PublishReport {
        stale_lock_removed: clear_stale_index_lock(&git, backoff)?,
        ..PublishReport::default()
    };
    let prefix = target_prefix(&git, target);
    let groups = pending_groups(&git, layout, prefix.as_deref())?;
    commit_groups(&git, &groups, &mut report)?;
    let Some((remote, rref)) = git.upstream() else {
        report.note = Some("the branch has no upstream; committed locally only".into());
        return Ok(report);
    };
    let target = format!("HEAD:{rref}");
    let mut last_err = String::new();
    let staged = staged_state(&git);
    for attempt in 0..backoff.attempts.max(1) {
        report.attempts = attempt + 1;
        let pull = git.raw(&["pull", "--rebase", "--autostash", "-q"])?;
        restore_staged(&git, &staged)?;
        if !pull.success() {
            last_err = String::from_utf8_lossy(&pull.stderr).trim().to_string();
            let rebasing = git
                .try_git(&["rev-parse", "-q", "--verify", "REBASE_HEAD"])?
                .is_some();
            if rebasing {
                git.try_git(&["rebase", "--abort"])?;
                restore_staged(&git, &staged)?;
                rederive(&git)?;
                report.rederived = true;
                continue;
            }
            std::thread::sleep(delay(attempt, backoff.base_ms, backoff.cap_ms));
            continue;
        }
        if git.unpushed().is_empty() {
            report.pushed = true;
            if report.commits.is_empty() {
                report.note = Some(format!("nothing to push; up to date with {remote}"));
            }
            return Ok(report);
        }
        let push = git.raw(&["push", "-q", &remote, &target])?;
        if push.success() {
            report.pushed = true;
            return Ok(report);
        }
        last_err = String::from_utf8_lossy(&push.stderr).trim().to_string();
        std::thread::sleep(delay(attempt, backoff.base_ms, backoff.cap_ms));
    }
    for subject in git.unpushed() {
        if let Some(id) = subject
            .strip_prefix("bridge: results ")
            .and_then(|r| r.split(' ').next())
            && !report.ids.iter().any(|i| i == id)
        {
            report.ids.push(id.to_string());
        }
    }
    report.error = Some(format!(
        "push to {remote} failed after {} tries: {}",
        report.attempts,
        last_err.lines().next().unwrap_or("")
    ));
    Ok(report)
}

/// Re-create our unpushed commits on top of the upstream tip.
fn rederive(git: &Git) -> Result<(), PublishError> {
    git.git(&["fetch", "-q"])?;
    let base = git.git(&["merge-base", "HEAD", "@{u}"])?.trim().to_string();
    let log = git.git(&[
        "log",
        "--reverse",
        "--format=%H%x00%s",
        &format!("{base}..HEAD"),
    ])?;
    // Each commit's files as that commit had them (a log line stays in its
    // command's commit).
    type Files = Vec<(String, Option<Vec<u8>>)>;
    let mut commits: Vec<(String, Files)> = Vec::new();
    let mut contents: BTreeSet<String> = BTreeSet::new();
    for line in log.lines() {
        let Some((sha, subject)) = line.split_once('\0') else {
            continue;
        };
        let mut files = Files::new();
        for f in git
            .git(&["diff-tree", "--no-commit-id", "--name-only", "-r", sha])?
            .lines()
        {
            let out = git.raw(&["show", &format!("{sha}:{f}")])?;
            files.push((f.to_string(), out.success().then_some(out.stdout)));
            contents.insert(f.to_string());
        }
        commits.push((subject.to_string(), files));
    }
    let theirs: BTreeSet<String> = git
        .git(&["diff", "--name-only", &base, "@{u}"])?
        .lines()
        .map(str::to_string)
        .collect();
    // Our outputs are ours alone; a target file the upstream changed too is a
    // real conflict: stop before touching anything and say so.
    let safe: Vec<String> = SAFE_DIRS
        .iter()
        .map(|d| git.rel(&format!("{d}/")))
        .collect();
    let clash: Vec<&String> = contents
        .iter()
        .filter(|f| theirs.contains(*f) && !safe.iter().any(|d| f.starts_with(d.as_str())))
        .collect();
    if !clash.is_empty() {
        return Err(PublishError::Git {
            args: "pull --rebase".into(),
            message: format!(
                "{} changed both upstream and by a command not yet pushed; resolve by hand (git pull --rebase, fix, git rebase --continue), then `warden bridge run --once`",
                clash
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    // The upstream's versions of files we did not touch replace them in the
    // work tree below; a file the user has edited (staged or not) would lose
    // that edit, so stop first and let them commit or stash it.
    let bring: Vec<&String> = theirs.iter().filter(|f| !contents.contains(*f)).collect();
    if !bring.is_empty() {
        let mut args = vec!["status", "--porcelain=v1", "--untracked-files=no", "--"];
        args.extend(bring.iter().map(|f| f.as_str()));
        let edited = git.git(&args)?;
        if !edited.trim().is_empty() {
            let names: Vec<&str> = edited.lines().filter_map(|l| l.get(3..)).collect();
            return Err(PublishError::Git {
                args: "pull --rebase".into(),
                message: format!(
                    "{} changed upstream and has uncommitted local edits; commit or stash them, then `warden bridge run --once` publishes",
                    names.join(", ")
                ),
            });
        }
    }
    // HEAD only: the user's index (what they staged) stays as it is.
    git.git(&["reset", "-q", "--soft", "@{u}"])?;
    // Bring the upstream's versions of files we did not touch into the work tree.
    for f in bring {
        let _ = git.try_git(&["checkout", "-q", "@{u}", "--", f])?;
    }
    for (subject, files) in &commits {
        let (mut keep, mut gone) = (Vec::new(), Vec::new());
        for (f, ours) in files {
            let path = git.top.join(f);
            let merged = match ours.clone() {
                Some(ours) if theirs.contains(f) && f.ends_with(".log") => {
                    let up = git.raw(&["show", &format!("@{{u}}:{f}")])?.stdout;
                    let mut text = String::from_utf8_lossy(&up).into_owned();
                    let have: BTreeSet<&str> = text.lines().collect::<BTreeSet<_>>();
                    let add: Vec<String> = String::from_utf8_lossy(&ours)
                        .lines()
                        .filter(|l| !have.contains(l))
                        .map(str::to_string)
                        .collect();
                    if !text.is_empty() && !text.ends_with('\n') {
                        text.push('\n');
                    }
                    for l in add {
                        text.push_str(&l);
                        text.push('\n');
                    }
                    Some(text.into_bytes())
                }
                other => other,
            };
            match merged {
                Some(bytes) => {
                    if let Some(d) = path.parent() {
                        std::fs::create_dir_all(d)?;
                    }
                    std::fs::write(&path, bytes)?;
                    keep.push(f.clone());
                }
                None => gone.push(f.clone()),
            }
        }
        let paths = Paths {
            files: &keep,
            optional: &[],
            removed: &gone,
            blobs: &[],
        };
        commit_paths(git, subject, &paths)?;
    }
    Ok(())
}

/// The first line after the shebang of every hook warden writes: an
/// existing hook starting so is ours and is replaced without `--force`.
const HOOK_MARK: &str = "# warden bridge:";

/// The seed §12 pre-commit guard, extended to every file under `commands/`
/// but its `.gitkeep`. `prefix` is the bridge root relative to the top of the
/// work tree ("" or "sub/dir/"): git names staged files from the top.
pub fn pre_commit_hook(prefix: &str) -> String {
    let quoted = format!("'{}'", prefix.replace('\'', r"'\''"));
    format!(
        r#"#!/bin/sh
{HOOK_MARK} never commit inbound commands or a retries file in commands/ (seed §12).
# The bridge root, relative to the top of the work tree (where git runs this hook).
P={quoted}
if [ -n "$(git diff --cached --name-only -- ":(literal)${{P}}commands/.retries.json")" ]; then
  echo "pre-commit: blocking ${{P}}commands/.retries.json" >&2
  git reset -q HEAD -- ":(literal)${{P}}commands/.retries.json" || true
  rm -f "${{P}}commands/.retries.json" || true
  exit 1
fi
staged=$(git diff --cached --name-only -- ":(literal)${{P}}commands/" ":(exclude,literal)${{P}}commands/.gitkeep")
if [ -n "$staged" ]; then
  echo "pre-commit: blocking staged files under ${{P}}commands/ (inbound commands are never committed):" >&2
  echo "$staged" >&2
  echo "unstage them with: git reset -q -- '${{P}}commands/'" >&2
  exit 1
fi
exit 0
"#
    )
}

/// Write `.git/hooks/pre-commit` (the hooks directory git uses). Refuses to
/// overwrite a different existing hook unless `force` (an earlier warden
/// hook is replaced).
pub fn install_hook(
    root: &Path,
    force: bool,
    env: &[(OsString, OsString)],
) -> Result<PathBuf, PublishError> {
    let git = Git::open(root, env)?;
    let dir = git.git(&["rev-parse", "--git-path", "hooks"])?;
    let dir = git.top.join(dir.trim());
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("pre-commit");
    let hook = pre_commit_hook(&git.prefix);
    if let Ok(cur) = std::fs::read_to_string(&path)
        && cur != hook
        && cur.lines().nth(1).is_none_or(|l| !l.starts_with(HOOK_MARK))
        && !force
    {
        return Err(PublishError::Io(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!(
                "{} exists with other content; pass --force to replace it",
                path.display()
            ),
        )));
    }
    warden_core::fsutil::write_atomic(&path, hook.as_bytes(), 0o755)
        .map_err(std::io::Error::other)?;
    Ok(path)
}
