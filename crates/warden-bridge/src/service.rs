//! The long-running side: single-instance lock, and one tick of `run --watch`
//! (process the inbox, then publish when something is new or a retry is due).

use crate::layout::Layout;
use crate::pipeline::{Bridge, ItemOutcome, PassReport};
use crate::publish::{self, Backoff, PublishReport};
use crate::retries;
use serde::Serialize;
use warden_core::text::shown;

/// Who serves a bridge root: written into `.bridge/run.lock` by the
/// executor that holds it (as JSON), read back by a second one and by
/// `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Holder {
    pub pid: u32,
    pub host: String,
    /// Its command line, e.g. "warden bridge run --watch".
    pub command: String,
    /// When it started (RFC 3339).
    pub since: String,
}

impl Holder {
    /// The holder text of a lock: JSON. Another warden wrote plain text;
    /// that is kept as the command, with pid 0 and no host.
    pub fn parse(text: &str) -> Holder {
        serde_json::from_str(text).unwrap_or_else(|_| Holder {
            pid: 0,
            host: String::new(),
            command: text.to_string(),
            since: String::new(),
        })
    }

    /// "pid 1234 (warden bridge run --watch) since T on host H".
    pub fn describe(&self) -> String {
        if self.pid == 0 {
            return self.command.clone();
        }
        let mut s = format!("pid {} ({})", self.pid, self.command);
        if !self.since.is_empty() {
            s.push_str(&format!(" since {}", self.since));
        }
        if !self.host.is_empty() {
            s.push_str(&format!(" on host {}", self.host));
        }
        s
    }

    /// How to stop it: `kill PID` (on its host).
    pub fn kill_hint(&self) -> String {
        match (self.pid, self.host.as_str()) {
            (0, _) => "stop that process".into(),
            (pid, "") => format!("`kill {pid}`"),
            (pid, host) => format!("`kill {pid}` on {host}"),
        }
    }

    fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Why the single-instance lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    /// Another executor serves this root.
    #[error("the bridge root {} is already served by another executor: {}; only one executor per root", root.display(), holder.describe())]
    Busy {
        root: std::path::PathBuf,
        holder: Holder,
    },
    #[error(transparent)]
    Core(#[from] warden_core::Error),
}

impl InstanceError {
    /// What to do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            InstanceError::Busy { root, holder } => Some(format!(
                "leave it running (it processes commands/; `warden bridge status --root {}` shows it), or stop it first: `systemctl --user stop warden-bridge` when it runs as the service, else {}",
                root.display(),
                holder.kill_hint()
            )),
            InstanceError::Core(e) => e.hint(),
        }
    }
}

/// Take the single-instance lock of a bridge root (kernel `flock` on
/// `.bridge/run.lock`; released when the process exits, however it exits),
/// recording `holder`. Retries for about a second first, so a momentary
/// holder (`bridge status` probing, a `smoke` pass) does not make a
/// starting executor exit.
pub fn instance_lock(
    layout: &Layout,
    holder: &Holder,
) -> Result<warden_core::lock::RepoLock, InstanceError> {
    std::fs::create_dir_all(layout.private()).map_err(|e| {
        warden_core::Error::Internal(format!("create {}: {e}", layout.private().display()))
    })?;
    let text = holder.to_text();
    let mut tries = 0;
    loop {
        match warden_core::lock::acquire(&layout.run_lock(), &text, false, &mut |_| {}) {
            Err(warden_core::Error::Busy { .. }) if tries < 20 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(warden_core::Error::Busy { holder, .. }) => {
                return Err(InstanceError::Busy {
                    root: layout.root.clone(),
                    holder: Holder::parse(&holder),
                });
            }
            other => return Ok(other?),
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
    /// Rendered for `--watch` (no summary line per tick); not serialized.
    #[serde(skip)]
    #[schemars(skip)]
    pub watch: bool,
}

impl Tick {
    /// What goes to stderr rather than into the report: a stale index lock
    /// removed, a failed publish, diffs written without content because git
    /// could not say what it ignores, a target that cannot be opened.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if let Some(m) = self
            .publish
            .as_ref()
            .and_then(|p| p.stale_lock_removed.as_ref())
        {
            notes.push(m.clone());
        }
        if let Some(e) = &self.publish_error {
            notes.push(format!(
                "publish failed (recorded in meta/retries.json): {e}"
            ));
        }
        if let Some(e) = &self.pass.ignore_check_error {
            notes.push(format!("git could not say what it ignores: {e}"));
        }
        if let Some(e) = &self.pass.target_error {
            notes.push(format!(
                "the target repository cannot be opened: {e}; {} verified command(s) wait in commands/ (`warden status` in the target says what to do)",
                self.pass.deferred.len()
            ));
        }
        notes
    }

    /// Commands dead-lettered in this tick.
    pub fn dead_lettered(&self) -> usize {
        self.pass
            .items
            .iter()
            .filter(|i| i.outcome != ItemOutcome::Archived)
            .count()
    }

    /// The exit code of `run --once`: 3 when publishing failed or the target
    /// could not be opened, 1 when a command was dead-lettered, else 0.
    pub fn code(&self) -> u8 {
        if self.publish_error.is_some() || self.pass.target_error.is_some() {
            3
        } else if self.dead_lettered() > 0 {
            1
        } else {
            0
        }
    }
}

impl warden_core::Report for Tick {
    const SCHEMA: &'static str = "bridge-tick";

    fn human(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        for i in &self.pass.items {
            let _ = match i.outcome {
                // The id and the detail come from the inbox (a file name, a
                // duplicate key): shown escaped, so they cannot forge a line
                // or act on the terminal.
                ItemOutcome::Archived => writeln!(
                    s,
                    "archived     {}  {}  run {}{}",
                    shown(&i.id),
                    i.status.as_deref().unwrap_or(""),
                    i.run.as_deref().unwrap_or("-"),
                    if i.recovered { "  (recovered)" } else { "" }
                ),
                ItemOutcome::DeadLetter => writeln!(
                    s,
                    "dead_letter  {}  {}: {}",
                    shown(&i.id),
                    i.reason.map(|r| r.as_str()).unwrap_or("?"),
                    shown(i.detail.as_deref().unwrap_or(""))
                ),
            };
        }
        if let Some(p) = &self.publish {
            for c in &p.commits {
                let _ = writeln!(s, "committed    {}", shown(c));
            }
            if p.pushed && !p.commits.is_empty() {
                let _ = writeln!(
                    s,
                    "pushed       after {} attempt(s){}",
                    p.attempts,
                    if p.rederived {
                        ", re-derived on the new upstream"
                    } else {
                        ""
                    }
                );
            }
            if let Some(n) = &p.note
                && !self.watch
            {
                let _ = writeln!(s, "publish      {n}");
            }
        }
        if !self.watch {
            let dead = self.dead_lettered();
            let _ = writeln!(
                s,
                "processed {}: {} archived, {} dead-lettered; {} still settling",
                self.pass.items.len(),
                self.pass.items.len() - dead,
                dead,
                self.pass.waiting
            );
        }
        s
    }
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
        Ok(Some(h)) => format!("running: {}", Holder::parse(&h).describe()),
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
            warden_core::render::status::publish_summary(
                p.map(|p| warden_core::status::BridgePublish {
                    time: p.time.clone(),
                    ok: p.ok,
                    commits: p.commits as u64,
                    error: p.error.clone(),
                })
                .as_ref()
            )
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

/// `warden bridge status`: the backlog, dead letters by reason, retries,
/// the last publish and the executor. `secret_configured`: whether the
/// caller has a secret (never its value).
pub fn status_report(layout: &Layout, secret_configured: bool) -> StatusReport {
    let b = backlog(layout);
    StatusReport {
        schema: STATUS_SCHEMA_ID.into(),
        root: layout.root.display().to_string(),
        backlog: b.pending_commands as usize,
        dead_letters: b
            .dead_letters
            .iter()
            .map(|(k, v)| (k.clone(), *v as usize))
            .collect(),
        archived: b.archived as usize,
        retries_gave_up: b.retries_gave_up,
        retries: retries::load(layout),
        last_publish: last_publish(layout),
        executor: b.executor,
        secret_configured,
    }
}

/// Why the target repository cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// `meta/bridge.json` is broken: the executor stops rather than fall
    /// back to another target.
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Core(#[from] warden_core::Error),
}

/// The target repository: `repo` (the caller's `--repo`), then
/// `meta/bridge.json`'s target, then the repository holding the bridge root.
pub fn open_target(
    layout: &Layout,
    repo: Option<&std::path::Path>,
) -> Result<warden_core::Repo, TargetError> {
    crate::layout::load_config(layout).map_err(TargetError::Config)?;
    let start = repo
        .map(std::path::Path::to_path_buf)
        .or_else(|| crate::layout::configured_target(layout))
        .unwrap_or_else(|| layout.root.clone());
    let root = warden_core::repo::discover(&start)?;
    Ok(warden_core::Repo::open(&root)?)
}

/// How `bridge run` runs.
#[derive(Debug, Clone)]
pub struct Serve {
    /// Keep watching (else one pass, then publish and return).
    pub watch: bool,
    pub publish: bool,
    /// --watch looks this often, for missed events.
    pub poll: std::time::Duration,
    /// After an event, wait this long for more before a pass.
    pub debounce: std::time::Duration,
    pub backoff: Backoff,
}

/// What `serve` has to say while it runs.
#[derive(Debug)]
pub enum Event<'t> {
    /// `--watch` started: file events on `dir`, or only the poll (and why).
    Watching {
        dir: std::path::PathBuf,
        poll: std::time::Duration,
        unavailable: Option<String>,
    },
    /// A tick ran.
    Tick(&'t Tick),
}

/// Why [`serve`] stopped: the executor failed, or the caller's callback did.
#[derive(Debug)]
pub enum ServeError<E> {
    Io(std::io::Error),
    Caller(E),
}

impl<E> From<std::io::Error> for ServeError<E> {
    fn from(e: std::io::Error) -> Self {
        ServeError::Io(e)
    }
}

/// Run the executor: with `watch`, tick on every file event or poll until
/// an error (a report callback's error stops it too); without, wait for
/// the files in the inbox to settle, tick once and return that tick.
pub fn serve<E>(
    bridge: &mut Bridge<'_>,
    how: &Serve,
    on: &mut dyn FnMut(Event<'_>) -> Result<(), E>,
) -> Result<Tick, ServeError<E>> {
    let settle = std::time::Duration::from_millis(bridge.opts.settle_ms);
    let poll = how.poll.max(std::time::Duration::from_millis(10));
    let watcher = if how.watch {
        let w = InboxWatcher::new(&bridge.layout.commands());
        on(Event::Watching {
            dir: bridge.layout.commands(),
            poll,
            unavailable: w.unavailable.clone(),
        })
        .map_err(ServeError::Caller)?;
        Some(w)
    } else {
        // One --once takes what is in the inbox: wait for files still
        // settling rather than skip them.
        bridge.settle_inbox(settle + std::time::Duration::from_secs(1))?;
        None
    };
    let mut first = true;
    loop {
        let mut t = tick(bridge, how.publish, first, &how.backoff, bridge.now())?;
        t.watch = how.watch;
        on(Event::Tick(&t)).map_err(ServeError::Caller)?;
        let Some(w) = &watcher else {
            return Ok(t);
        };
        first = false;
        let wait = next_wake(&bridge.layout, &t.pass, poll, settle, bridge.now());
        w.wait(wait, how.debounce);
    }
}
