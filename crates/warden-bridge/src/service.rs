//! The long-running side: single-instance lock, and one tick of `run --watch`
//! (process the inbox, then publish when something is new or a retry is due).

use crate::layout::Layout;
use crate::pipeline::{Bridge, PassReport};
use crate::publish::{self, Backoff, PublishReport};
use crate::retries;
use serde::Serialize;

/// Take the single-instance lock of a bridge root (kernel `flock` on
/// `.bridge/run.lock`; released when the process exits, however it exits).
/// Retries for about a second first, so a momentary holder (`bridge status`
/// probing, a `smoke` pass) does not make a starting executor exit.
pub fn instance_lock(
    layout: &Layout,
    holder: &str,
) -> warden_core::Result<warden_core::lock::RepoLock> {
    std::fs::create_dir_all(layout.private()).map_err(|e| {
        warden_core::Error::Internal(format!("create {}: {e}", layout.private().display()))
    })?;
    let mut tries = 0;
    loop {
        match warden_core::lock::acquire(&layout.run_lock(), holder, false, &mut |_| {}) {
            Err(warden_core::Error::Busy { .. }) if tries < 20 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

/// What happened to the last publish (`.bridge/publish.json`, for `status`).
#[derive(Debug, Clone, Serialize, serde::Deserialize, Default, schemars::JsonSchema)]
pub struct LastPublish {
    pub time: String,
    pub ok: bool,
    pub commits: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The `schema` of `warden bridge status --format json`.
pub const TICK_SCHEMA_ID: &str = "warden.bridge-tick/v1";

pub const STATUS_SCHEMA_ID: &str = "warden.bridge-status/v1";

/// `warden bridge status --format json` (`warden schema bridge-status`).
/// Never holds a secret: only whether one is configured.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(title = "warden bridge status")]
pub struct StatusReport {
    /// Always "warden.bridge-status/v1".
    pub schema: String,
    /// The bridge root.
    pub root: String,
    /// Commands waiting in commands/.
    pub backlog: usize,
    /// Dead letters by reason.
    pub dead_letters: std::collections::BTreeMap<String, usize>,
    /// Commands archived (accepted and processed).
    pub archived: usize,
    /// meta/retries.json: publishes waiting to be retried.
    pub retries: retries::Index,
    /// The retries gave up (run `warden bridge run --once` to retry).
    pub retries_gave_up: bool,
    /// The last publish, when there was one.
    pub last_publish: Option<LastPublish>,
    /// "running: <holder>", "not running" or "unknown: <error>".
    pub executor: String,
    /// Whether GPT_BRIDGE_HMAC_SECRET is set (never its value).
    pub secret_configured: bool,
}

pub fn last_publish(layout: &Layout) -> Option<LastPublish> {
    std::fs::read(layout.publish_state())
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
}

/// One tick of `warden bridge run` (`warden.bridge-tick/v1`): a pass over the
/// inbox and the publish that followed, if any.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
#[schemars(title = "warden bridge tick")]
pub struct Tick {
    /// Always "warden.bridge-tick/v1".
    pub schema: String,
    pub pass: PassReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish: Option<PublishReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish_error: Option<String>,
}

/// Publish now, update `meta/retries.json` and `.bridge/publish.json`.
pub fn publish_now(
    layout: &Layout,
    backoff: &Backoff,
    target: Option<&std::path::Path>,
    now: jiff::Timestamp,
) -> (Option<PublishReport>, Option<String>) {
    let mut r = match publish::publish(layout, backoff, target) {
        Ok(r) => r,
        Err(e) => return record(layout, now, None, e.to_string()),
    };
    if let Some(e) = r.error.clone() {
        return record(layout, now, Some(r), e);
    }
    // Everything is pushed (or committed, without an upstream): the retry
    // index empties, and that change is published too.
    if retries::clear(layout).unwrap_or(false) {
        match publish::publish(layout, backoff, target) {
            Ok(again) => {
                r.commits.extend(again.commits);
                if let Some(e) = again.error {
                    return record(layout, now, Some(r), e);
                }
            }
            Err(e) => return record(layout, now, Some(r), e.to_string()),
        }
    }
    let (report, error) = (Some(r), None);
    let state = LastPublish {
        time: now.to_string(),
        ok: true,
        commits: report.as_ref().map_or(0, |r| r.commits.len()),
        error: None,
    };
    let _ = std::fs::write(
        layout.publish_state(),
        serde_json::to_vec_pretty(&state).unwrap_or_default(),
    );
    (report, error)
}

fn record(
    layout: &Layout,
    now: jiff::Timestamp,
    report: Option<PublishReport>,
    error: String,
) -> (Option<PublishReport>, Option<String>) {
    // Without a report nothing was committed: what waits is what is pending.
    let keys = report
        .as_ref()
        .map(|r| r.ids.clone())
        .unwrap_or_else(|| publish::pending_ids(layout));
    let _ = retries::record_failure(layout, &keys, &error, now);
    let state = LastPublish {
        time: now.to_string(),
        ok: false,
        commits: report.as_ref().map_or(0, |r| r.commits.len()),
        error: Some(error.clone()),
    };
    let _ = std::fs::write(
        layout.publish_state(),
        serde_json::to_vec_pretty(&state).unwrap_or_default(),
    );
    (report, Some(error))
}

/// One watch tick. `publish` off: process only. `force`: publish even when
/// nothing new was processed (the first tick, `--once`).
pub fn tick(
    bridge: &mut Bridge<'_>,
    publish: bool,
    force: bool,
    backoff: &Backoff,
    now: jiff::Timestamp,
) -> std::io::Result<Tick> {
    let pass = bridge.run_once()?;
    let mut t = Tick {
        schema: TICK_SCHEMA_ID.into(),
        pass,
        ..Default::default()
    };
    if publish {
        let index = retries::load(&bridge.layout);
        let new_work = !t.pass.items.is_empty();
        if force || new_work || (!index.is_empty() && retries::due(&index, now)) {
            let target = bridge.target.root.clone();
            let (r, e) = publish_now(&bridge.layout, backoff, Some(&target), now);
            t.publish = r;
            t.publish_error = e;
        }
    }
    Ok(t)
}

/// Wakes `run --watch` when something arrives in `commands/` (inotify,
/// FSEvents, … through the `notify` crate), so a dropped command is taken at
/// once; the caller's timeout is the slow poll that covers missed events,
/// queue overflows and filesystems without change notification (NFS, some
/// FUSE mounts). Watches the directory, never single files.
pub struct InboxWatcher {
    _watcher: Option<notify::RecommendedWatcher>,
    rx: std::sync::mpsc::Receiver<()>,
    /// Why events are unavailable (then only the poll runs).
    pub unavailable: Option<String>,
}

impl std::fmt::Debug for InboxWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboxWatcher")
            .field("unavailable", &self.unavailable)
            .finish()
    }
}

impl InboxWatcher {
    pub fn new(commands: &std::path::Path) -> InboxWatcher {
        use notify::{EventKind, RecursiveMode, Watcher as _};
        let (tx, rx) = std::sync::mpsc::channel();
        let handler = move |res: notify::Result<notify::Event>| {
            let wake = match &res {
                // Our own removals and reads are not news.
                Ok(e) => !matches!(e.kind, EventKind::Remove(_) | EventKind::Access(_)),
                // An error (e.g. the queue overflowed): rescan to be sure.
                Err(_) => true,
            };
            if wake {
                let _ = tx.send(());
            }
        };
        let watcher = notify::recommended_watcher(handler).and_then(|mut w| {
            w.watch(commands, RecursiveMode::NonRecursive)?;
            Ok(w)
        });
        match watcher {
            Ok(w) => InboxWatcher {
                _watcher: Some(w),
                rx,
                unavailable: None,
            },
            Err(e) => InboxWatcher {
                _watcher: None,
                rx,
                unavailable: Some(e.to_string()),
            },
        }
    }

    /// Block until an event (then `debounce` more, so a burst of drops is
    /// taken in one pass) or until `timeout`. Returns whether an event woke it.
    pub fn wait(&self, timeout: std::time::Duration, debounce: std::time::Duration) -> bool {
        match self.rx.recv_timeout(timeout) {
            Ok(()) => {
                std::thread::sleep(debounce);
                while self.rx.try_recv().is_ok() {}
                true
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => false,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                // No watcher: only the poll is left.
                std::thread::sleep(timeout);
                false
            }
        }
    }
}

/// How long `run --watch` may sleep before its next pass: the poll interval,
/// shorter while files settle (`settle`) or a publish retry falls due.
pub fn next_wake(
    layout: &Layout,
    pass: &PassReport,
    poll: std::time::Duration,
    settle: std::time::Duration,
    now: jiff::Timestamp,
) -> std::time::Duration {
    let mut d = poll;
    if pass.waiting > 0 {
        // A waiting file is taken once seen stable for STABLE_MS.
        let stable = std::time::Duration::from_millis(crate::pipeline::STABLE_MS);
        d = d.min(settle.min(stable) + std::time::Duration::from_millis(10));
    }
    // A retry is due when every waiting entry is (`retries::due`).
    let index = retries::load(layout);
    let latest = index
        .values()
        .filter_map(|e| e.next_attempt_at.parse::<jiff::Timestamp>().ok())
        .max();
    if let Some(t) = latest.filter(|_| !retries::gave_up(&index)) {
        let left = std::time::Duration::try_from(t.duration_since(now)).unwrap_or_default();
        d = d.min(left.max(std::time::Duration::from_millis(10)));
    }
    d
}

/// The backlog of a bridge root for `warden status` and `bridge status`:
/// pending commands, dead letters by reason, retries, the last publish and
/// whether an executor holds the root. Reads only; never a secret.
pub fn backlog(layout: &Layout) -> warden_core::status::BridgeBacklog {
    let count_json = |dir: &std::path::Path| {
        std::fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
                    .count() as u64
            })
            .unwrap_or(0)
    };
    let mut dead = std::collections::BTreeMap::new();
    if let Ok(rd) = std::fs::read_dir(layout.dir("dead_letter")) {
        for e in rd.flatten() {
            if !e.file_name().to_string_lossy().ends_with(".json") {
                continue;
            }
            let reason = std::fs::read(e.path())
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .and_then(|v| v["reason"].as_str().map(str::to_string))
                .unwrap_or_else(|| "unreadable".into());
            *dead.entry(reason).or_insert(0) += 1;
        }
    }
    let executor = match warden_core::lock::holder(&layout.run_lock()) {
        Ok(Some(h)) => format!("running: {h}"),
        Ok(None) => "not running".to_string(),
        Err(e) => format!("unknown: {e}"),
    };
    let index = retries::load(layout);
    warden_core::status::BridgeBacklog {
        root: layout.root.display().to_string(),
        pending_commands: count_json(&layout.commands()),
        dead_letters: dead,
        archived: count_json(&layout.dir("archive")),
        retries_pending: index.len() as u64,
        retries_gave_up: retries::gave_up(&index),
        last_publish: last_publish(layout).map(|p| warden_core::status::BridgePublish {
            time: p.time,
            ok: p.ok,
            commits: p.commits as u64,
            error: p.error,
        }),
        executor,
    }
}

/// "TIME ok (N commit(s))", "TIME FAILED (…): ERROR" or "never", for
/// `bridge status` and the bridge part of `warden status`.
pub fn publish_summary(p: Option<(&str, bool, u64, Option<&str>)>) -> String {
    match p {
        None => "never".into(),
        Some((time, ok, commits, error)) => format!(
            "{time} {} ({commits} commit(s)){}",
            if ok { "ok" } else { "FAILED" },
            error.map(|e| format!(": {e}")).unwrap_or_default()
        ),
    }
}

impl warden_core::Report for StatusReport {
    const SCHEMA: &'static str = "bridge-status";

    fn human(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(s, "bridge root   {}", self.root);
        let _ = writeln!(s, "executor      {}", self.executor);
        let _ = writeln!(s, "backlog       {} command(s) in commands/", self.backlog);
        let _ = writeln!(s, "archived      {}", self.archived);
        let total: usize = self.dead_letters.values().sum();
        let _ = writeln!(s, "dead letters  {total}");
        for (r, n) in &self.dead_letters {
            let _ = writeln!(s, "  {r:<22} {n}");
        }
        let _ = writeln!(
            s,
            "retries       {} waiting{}",
            self.retries.len(),
            if self.retries_gave_up {
                " (gave up; run `warden bridge run --once` to retry)"
            } else {
                ""
            }
        );
        for (k, e) in &self.retries {
            let _ = writeln!(
                s,
                "  {k}: {} attempt(s), next {}, last error: {}",
                e.attempts, e.next_attempt_at, e.last_error
            );
        }
        let p = self.last_publish.as_ref();
        let _ = writeln!(
            s,
            "last publish  {}",
            publish_summary(p.map(|p| (
                p.time.as_str(),
                p.ok,
                p.commits as u64,
                p.error.as_deref()
            )))
        );
        let _ = writeln!(
            s,
            "secret        {}",
            if self.secret_configured {
                "configured (value not shown)"
            } else {
                "GPT_BRIDGE_HMAC_SECRET not set"
            }
        );
        s
    }
}
