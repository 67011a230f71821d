//! `warden fleet audit DIR…`: find the repositories under some folders and
//! audit them in parallel with bounded concurrency (`--jobs`, default 4) and
//! at most `per_host` fetches at a time against one host, so dozens of repos
//! on one server do not open dozens of ssh connections at once.
//! The fleet audit only reads: it records nothing in the audited repositories.

use crate::audit::{self, AuditOptions, FetchGate, FetchMode};
use crate::git::Git;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use warden_core::{Error, Result};

/// The schema tag of [`FleetReport`] (`warden schema fleet-audit`).
pub const FLEET_SCHEMA_ID: &str = "warden.fleet-audit/v1";
/// Repositories audited at once, by default.
pub const DEFAULT_JOBS: usize = 4;
/// Fetches from one host at once, by default.
pub const DEFAULT_PER_HOST: usize = 2;
/// How deep discovery looks below each folder.
pub const MAX_DEPTH: usize = 8;

/// Which repositories a fleet audit finds and how it runs them.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    /// Repositories audited at once.
    pub jobs: usize,
    /// Fetches from one host at once.
    pub per_host: usize,
    /// How each repository is audited.
    pub audit: AuditOptions,
}

/// One repository's row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FleetRow {
    /// The repository's top directory.
    pub repo: String,
    /// The checked-out branch (null when detached or when the audit failed).
    pub branch: Option<String>,
    /// The current branch against its upstream (without one: commits on no remote).
    pub ahead: u64,
    /// Upstream commits the current branch lacks.
    pub behind: u64,
    /// Staged + unstaged + unmerged paths.
    pub dirty: u64,
    /// Untracked files.
    pub untracked: u64,
    /// Stash entries.
    pub stashes: u64,
    /// Paths changed on both sides.
    pub collisions: u64,
    /// The repository's audit did not say "in sync".
    pub needs_attention: bool,
    /// The audit's reasons, as in `summary.needs_attention`.
    pub reasons: Vec<String>,
    /// The last fetch error, if a fetch failed.
    pub fetch_error: Option<String>,
    /// The audit itself failed (the repository could not be read).
    pub error: Option<String>,
}

/// The fleet audit report: one audit per repository found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(
    title = "warden fleet audit report",
    description = "`warden fleet audit DIR... --format json`"
)]
pub struct FleetReport {
    /// Always "warden.fleet-audit/v1".
    pub schema: String,
    /// Repositories sorted by path.
    pub repos: Vec<FleetRow>,
    /// Repositories found.
    pub total: u64,
    /// Repositories whose audit needs attention.
    pub needing_attention: u64,
    /// Repositories whose audit failed.
    pub failed: u64,
}

/// Repositories (directories holding `.git`) under each folder, sorted and
/// unique. Does not descend into a repository it found.
pub fn discover(dirs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut found = std::collections::BTreeSet::new();
    for (i, d) in dirs.iter().enumerate() {
        if !d.is_dir() {
            return Err(Error::invalid(
                "(command line)",
                format!("DIR[{i}]"),
                format!("{} is not a directory", d.display()),
                Some("give folders that contain git repositories".into()),
            ));
        }
        let d = d.canonicalize().map_err(|e| Error::Io {
            op: "resolve",
            path: d.clone(),
            source: e,
        })?;
        walk(&d, 0, &mut found);
    }
    Ok(found.into_iter().collect())
}

fn walk(dir: &Path, depth: usize, out: &mut std::collections::BTreeSet<PathBuf>) {
    if dir.join(".git").exists() {
        out.insert(dir.to_path_buf());
        return;
    }
    if depth >= MAX_DEPTH {
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut children: Vec<PathBuf> = rd
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| e.file_name() != "node_modules")
        .map(|e| e.path())
        .collect();
    children.sort();
    for c in children {
        walk(&c, depth + 1, out);
    }
}

/// The host of a remote URL (`local` for paths and file URLs).
pub fn host_of(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        if scheme == "file" {
            return "local".into();
        }
        let authority = rest.split('/').next().unwrap_or("");
        let host = authority.rsplit('@').next().unwrap_or(authority);
        return host.split(':').next().unwrap_or(host).to_lowercase();
    }
    // scp-like `user@host:path` (a colon before any slash).
    if let Some(colon) = url.find(':')
        && !url[..colon].contains('/')
        && colon > 1
    {
        let h = &url[..colon];
        return h.rsplit('@').next().unwrap_or(h).to_lowercase();
    }
    "local".into()
}

/// At most `limit` fetches at a time per host.
#[derive(Debug)]
pub struct HostGate {
    limit: usize,
    busy: Mutex<BTreeMap<String, usize>>,
    freed: Condvar,
}

impl HostGate {
    /// A gate letting at most `limit` fetches run at once against each host.
    pub fn new(limit: usize) -> Self {
        HostGate {
            limit: limit.max(1),
            busy: Mutex::new(BTreeMap::new()),
            freed: Condvar::new(),
        }
    }
}

impl FetchGate for HostGate {
    fn fetch(&self, url: &str, run: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        let host = host_of(url);
        {
            let mut busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
            while busy.get(&host).copied().unwrap_or(0) >= self.limit {
                busy = self.freed.wait(busy).unwrap_or_else(|e| e.into_inner());
            }
            *busy.entry(host.clone()).or_default() += 1;
        }
        let r = run();
        let mut busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = busy.get_mut(&host) {
            *n -= 1;
        }
        self.freed.notify_all();
        r
    }
}

fn row(repo: &Path, r: Result<audit::AuditReport>) -> FleetRow {
    let mut row = FleetRow {
        repo: repo.display().to_string(),
        branch: None,
        ahead: 0,
        behind: 0,
        dirty: 0,
        untracked: 0,
        stashes: 0,
        collisions: 0,
        needs_attention: true,
        reasons: Vec::new(),
        fetch_error: None,
        error: None,
    };
    match r {
        Err(e) => {
            row.reasons.push("audit failed".into());
            row.error = Some(e.to_string());
        }
        Ok(a) => {
            let cur = a.branches.iter().find(|b| b.current);
            row.branch = a.head.branch.clone();
            row.ahead = cur.map_or(0, |b| b.ahead);
            row.behind = cur.map_or(0, |b| b.behind);
            let w = &a.working_tree;
            row.dirty = (w.staged.len() + w.unstaged.len() + w.unmerged.len()) as u64;
            row.untracked = w.untracked.len() as u64;
            row.stashes = a.stashes.len() as u64;
            row.collisions = a.collisions.len() as u64;
            row.fetch_error = a.fetch.iter().rev().find_map(|f| f.error.clone());
            row.needs_attention = !a.summary.in_sync;
            row.reasons = a.summary.needs_attention;
        }
    }
    row
}

/// Audit every repository with `opts.jobs` workers. `progress(done, total)`
/// is called after each one.
pub fn audit_fleet(
    git: &Git,
    repos: &[PathBuf],
    opts: &FleetOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> FleetReport {
    let gate = HostGate::new(opts.per_host);
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<FleetRow>>> = repos.iter().map(|_| Mutex::new(None)).collect();
    let workers = opts.jobs.max(1).min(repos.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(repo) = repos.get(i) else { break };
                    // Discovery found the top level (the folder holding .git).
                    let r = audit::audit_root(git, repo, &opts.audit, &gate);
                    let r = row(repo, r);
                    *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
                    let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                    progress(n, repos.len());
                }
            });
        }
    });
    let rows: Vec<FleetRow> = slots
        .into_iter()
        .filter_map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
        .collect();
    FleetReport {
        schema: FLEET_SCHEMA_ID.into(),
        total: rows.len() as u64,
        needing_attention: rows.iter().filter(|r| r.needs_attention).count() as u64,
        failed: rows.iter().filter(|r| r.error.is_some()).count() as u64,
        repos: rows,
    }
}

/// `--no-fetch` for every repository, or the default remote of each.
pub fn fetch_mode(no_fetch: bool) -> FetchMode {
    if no_fetch {
        FetchMode::Skip
    } else {
        FetchMode::Default
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_common_url_shapes() {
        assert_eq!(host_of("git@github.com:me/x.git"), "github.com");
        assert_eq!(host_of("ssh://git@Example.org:2222/x"), "example.org");
        assert_eq!(host_of("https://user@gitlab.com/a/b"), "gitlab.com");
        assert_eq!(host_of("/srv/git/x.git"), "local");
        assert_eq!(host_of("file:///srv/x"), "local");
        assert_eq!(host_of("../x.git"), "local");
        assert_eq!(host_of("C:/repos/x"), "local");
    }

    #[test]
    fn the_host_gate_never_exceeds_its_limit() {
        let gate = HostGate::new(2);
        let live = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    gate.fetch("git@h:x", &mut || {
                        let n = live.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(n, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        live.fetch_sub(1, Ordering::SeqCst);
                        Ok(())
                    })
                    .expect("fetch");
                });
            }
        });
        assert_eq!(peak.load(Ordering::SeqCst), 2);
    }
}
