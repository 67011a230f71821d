//! `warden watch`: the classifier, run unattended on what settles in the
//! inbox.
//!
//! - It watches the inbox roots (folders, recursively, never single files)
//!   with `notify` through `notify-debouncer-full`, or, with `poll`, scans
//!   them every interval (for NFS, WSL, 9p, where no events come).
//! - Any event, error or rescan flag (inotify overflow) only marks the inbox
//!   dirty: the next step is a full scan of the inbox roots, so a lost or
//!   coalesced event costs nothing but latency. A full scan also runs every
//!   `rescan_every`, and at start-up (files that arrived while it was
//!   stopped).
//! - The scan uses the classifier's walk: `.gitignore`d paths, warden's own
//!   areas, engine temp files and bridge roots are never looked at.
//! - A file is acted on once it has settled: its (size, mtime) is the same
//!   as at the previous scan (or it is first seen already old) and its mtime
//!   is at least `settle` in the past. A file still being written keeps a
//!   fresh mtime and waits.
//! - Settled files go in batches (at most `max_batch`, and at most what the
//!   policy's `max_files` allows) through the same classification as
//!   `warden classify`: one proposal, one run, per batch.
//! - One watcher per repository (`.warden/state/watch.lock`); the stop flag
//!   is checked between batches, so a stop never leaves a batch half done.

use crate::IoContext;
use crate::classify::{self, Options, Scope};
use crate::latest::LatestIndex;
use crate::report::{ClassifyReport, Outcome};
use crate::scan;
use crate::times::Times;
use notify_debouncer_full::notify::RecursiveMode;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};
use warden_core::modules::Modules;
use warden_core::paths::RepoPath;
use warden_core::{Context, Error, Repo, Result};

pub const WATCH_SCHEMA_ID: &str = "warden.watch/v1";

#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Scan every interval instead of waiting for events.
    pub poll: Option<Duration>,
    /// How long a file's mtime must lie in the past before it is acted on.
    pub settle: Duration,
    /// The debouncer's window.
    pub debounce: Duration,
    /// Most files per batch (one run each).
    pub max_batch: usize,
    /// A full scan at least this often, events or not.
    pub rescan_every: Duration,
    /// Keep every batch's log line for the summary (`--format json` prints
    /// them at stop). Without it the summary only counts them, so a watcher
    /// that runs for weeks does not grow by a line per batch.
    pub keep_batches: bool,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            poll: None,
            settle: Duration::from_millis(500),
            debounce: Duration::from_millis(100),
            max_batch: 400,
            rescan_every: Duration::from_secs(30),
            keep_batches: true,
        }
    }
}

/// What the watcher tells its caller, as it happens.
#[derive(Debug, Clone)]
pub enum WatchEvent {
    Started {
        mode: String,
        roots: Vec<String>,
    },
    /// The event source asked for a full rescan (overflow) or failed.
    Rescan {
        why: String,
    },
    Batch(BatchLog),
    /// A batch failed; its files are retried when they change.
    Failed {
        files: usize,
        error: String,
    },
    /// One file failed on its own after its batch was split to find it
    /// (see [`BISECT_BUDGET`]); the rest of its batch was handled. It is
    /// retried when it changes.
    FileFailed {
        path: String,
        error: String,
    },
    /// An entry in an inbox that is never classified (not a regular file, a
    /// name that is not UTF-8): told once while it stays there. Also a
    /// settled file the classifier left in place ([`crate::report::SkipReason::UnusableDestination`]):
    /// told when its batch runs, and looked at again when it changes.
    Skipped(crate::report::Skipped),
}

/// How many times a failed batch may be split in halves to find the files
/// that failed it, so one file the policy refuses does not strand the rest
/// of its batch: isolating one bad file among 400 takes about 9 splits.
/// Past the budget (a failure every file shares, such as a broken policy)
/// the remaining parts fail whole.
pub const BISECT_BUDGET: u32 = 24;

/// One batch: one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BatchLog {
    pub batch: u64,
    pub files: usize,
    /// Files per decision path.
    pub counts: BTreeMap<String, u64>,
    /// The run that applied or recorded the decisions (`warden undo RUN`
    /// takes it); null when nothing was new.
    pub run: Option<String>,
    pub outcome: Outcome,
    /// Files seen but not settled yet.
    pub pending: usize,
    /// Who handled the batch: `built-in` (the classifier in-process, as a
    /// collector) or `plugin` (a FileDetected dispatch to the enabled
    /// plugins, the `ModuleClassifier` among them).
    #[serde(default = "built_in")]
    pub handler: String,
    /// The FileDetected dispatch's own run (`warden replay RUN`), when
    /// plugins handled the batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatch: Option<String>,
}

fn built_in() -> String {
    HANDLER_BUILT_IN.into()
}

pub const HANDLER_BUILT_IN: &str = "built-in";
pub const HANDLER_PLUGIN: &str = "plugin";

/// A settled file, handed to the batch's FileDetected handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    pub path: RepoPath,
    /// Its size when it settled (a file that grew since waits for the next scan).
    pub size: u64,
}

/// What became of one batch.
#[derive(Debug, Clone)]
pub struct Handled {
    /// The decisions, and the run that applied or recorded them.
    pub report: ClassifyReport,
    /// [`HANDLER_BUILT_IN`] or [`HANDLER_PLUGIN`].
    pub handler: String,
    /// The FileDetected dispatch's run, when plugins handled the batch.
    pub dispatch: Option<String>,
    /// What went wrong with a plugin (its fault), one line each; the batch
    /// is then logged as failed.
    pub faults: Vec<String>,
}

/// The FileDetected handler of a batch: one dispatch per batch.
pub trait BatchHandler {
    fn handle(&mut self, root: &Path, reg: &Modules, batch: &[Settled]) -> Result<Handled>;
}

/// The built-in classifier as the FileDetected handler: one proposal (source
/// `collector/warden-classify`), one run, per batch, with the decisions as
/// the run's details.
///
/// It keeps, between batches, only the latest decision of each (path,
/// sha256) ([`LatestIndex`], a fixed small record each) and brings it up to
/// date with [`LatestIndex::refresh`] (only what the ledger gained since is
/// read), so a long burst neither parses the growing placement index once
/// per batch nor keeps its rows.
pub struct BuiltIn<'a> {
    pub ctx: &'a Context,
    pub times: &'a dyn Times,
    index: Option<LatestIndex>,
}

impl<'a> BuiltIn<'a> {
    pub fn new(ctx: &'a Context, times: &'a dyn Times) -> Self {
        BuiltIn {
            ctx,
            times,
            index: None,
        }
    }
}

impl BatchHandler for BuiltIn<'_> {
    fn handle(&mut self, root: &Path, reg: &Modules, batch: &[Settled]) -> Result<Handled> {
        Ok(Handled {
            report: run_batch(root, self.ctx, self.times, reg, batch, &mut self.index)?,
            handler: HANDLER_BUILT_IN.into(),
            dispatch: None,
            faults: Vec::new(),
        })
    }
}

/// The FileDetected payloads of a batch (`path`, `sha256`, `size`, `mtime`),
/// read in parallel; a file that vanished or changed size since it settled
/// is left out (it is looked at again at the next scan).
pub fn payloads(root: &Path, batch: &[Settled]) -> Result<Vec<serde_json::Value>> {
    use rayon::prelude::*;
    let read: Vec<Result<Option<serde_json::Value>>> = batch
        .par_iter()
        .map_init(
            || vec![0u8; scan::READ_BUF],
            |buf, s| match scan::read_with(root, &s.path, buf) {
                Ok(i) if i.size == s.size => {
                    let mtime = jiff::Timestamp::from_second(i.fs_mtime)
                        .map(|t| t.to_string())
                        .unwrap_or_default();
                    Ok(Some(serde_json::json!({
                        "path": i.path.as_str(),
                        "sha256": i.sha256.to_string(),
                        "size": i.size,
                        "mtime": mtime,
                    })))
                }
                Ok(_) => Ok(None),
                Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                    Ok(None)
                }
                Err(e) => Err(e),
            },
        )
        .collect();
    let mut out = Vec::with_capacity(read.len());
    for r in read {
        if let Some(v) = r? {
            out.push(v);
        }
    }
    Ok(out)
}

/// `warden watch --format json`, printed when it stops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(
    title = "warden watch summary",
    description = "`warden watch --format json`: printed once, when the watcher stops"
)]
pub struct WatchSummary {
    /// Always "warden.watch/v1".
    pub schema: String,
    /// "events" or "poll".
    pub mode: String,
    pub batches: Vec<BatchLog>,
    /// Batches (or, once a failed batch was split, single files) that
    /// failed.
    pub failed: u64,
    /// Batches handled (also when their lines are not kept).
    #[serde(skip)]
    #[schemars(skip)]
    pub handled: u64,
}

type Key = (u64, i128);

fn key_of(m: &std::fs::Metadata) -> (Key, Option<Duration>) {
    let mtime = m.modified().ok();
    let nanos = mtime
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i128);
    let age = mtime.map(warden_core::context::age_of);
    ((m.len(), nanos), age)
}

/// What the file watcher delivers: a debounced batch of events, or errors.
pub type EventBatch = notify_debouncer_full::DebounceEventResult;

/// Run until `stop` is set. `log` hears every batch.
pub fn watch(
    root: &Path,
    ctx: &Context,
    times: &dyn Times,
    opts: &WatchOptions,
    stop: &AtomicBool,
    log: &mut dyn FnMut(&WatchEvent),
) -> Result<WatchSummary> {
    run(root, opts, stop, log, None, &mut BuiltIn::new(ctx, times))
}

/// [`watch`], each batch going to `handler` (the CLI's dispatch through the
/// plugin runtime).
pub fn watch_with(
    root: &Path,
    opts: &WatchOptions,
    stop: &AtomicBool,
    log: &mut dyn FnMut(&WatchEvent),
    handler: &mut dyn BatchHandler,
) -> Result<WatchSummary> {
    run(root, opts, stop, log, None, handler)
}

/// The test seam for what the kernel cannot be made to do on demand (an
/// inotify queue overflow; `max_queued_events` is not settable
/// unprivileged): no kernel watcher is started and the events come from
/// `events` instead, through the same handling as the kernel's. With
/// `rescan_every` long, nothing but an event (or the start-up scan) makes it
/// look at the inbox.
pub fn watch_events(
    root: &Path,
    ctx: &Context,
    times: &dyn Times,
    opts: &WatchOptions,
    stop: &AtomicBool,
    log: &mut dyn FnMut(&WatchEvent),
    events: mpsc::Receiver<EventBatch>,
) -> Result<WatchSummary> {
    run(
        root,
        opts,
        stop,
        log,
        Some(events),
        &mut BuiltIn::new(ctx, times),
    )
}

/// Whether a batch from the event source asks for a full rescan rather than
/// just a look (an overflow, or an error), and why.
pub fn rescan_reason(batch: &EventBatch) -> Option<String> {
    match batch {
        Ok(events) => events
            .iter()
            .any(|e| e.event.need_rescan())
            .then(|| "the kernel dropped events (overflow)".to_string()),
        Err(errors) => Some(format!("watcher error: {:?}", errors.first())),
    }
}

fn run(
    root: &Path,
    opts: &WatchOptions,
    stop: &AtomicBool,
    log: &mut dyn FnMut(&WatchEvent),
    injected: Option<mpsc::Receiver<EventBatch>>,
    handler: &mut dyn BatchHandler,
) -> Result<WatchSummary> {
    let repo = Repo::open(root)?;
    let _lock = lock_watch(&repo)?;
    let reg = load_registry(root)?;
    let mode = if opts.poll.is_some() {
        "poll"
    } else {
        "events"
    };
    let (rx, mut roots) = WatchedRoots::start(root, opts, injected)?;
    roots.watch(&reg);
    log(&WatchEvent::Started {
        mode: mode.into(),
        roots: reg.inbox.iter().map(|r| r.to_string()).collect(),
    });

    let mut sweep = Sweep::default();
    let mut summary = WatchSummary {
        schema: WATCH_SCHEMA_ID.into(),
        mode: mode.into(),
        batches: Vec::new(),
        failed: 0,
        handled: 0,
    };
    let mut next_scan = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        let now = Instant::now();
        if now < next_scan {
            if wait_for_events(&rx, now, next_scan, log) {
                next_scan = Instant::now();
            }
            continue;
        }
        // A full scan of the inbox roots.
        let reg = match load_registry(root) {
            Ok(r) => r,
            Err(e) => {
                log(&WatchEvent::Failed {
                    files: 0,
                    error: e.to_string(),
                });
                next_scan = Instant::now() + opts.rescan_every.min(Duration::from_secs(5));
                continue;
            }
        };
        roots.watch(&reg);
        let cap = batch_cap(root, opts);
        let (mut settled, wake) = sweep.look(root, &reg, opts, WINDOW_BATCHES * cap)?;
        for skipped in std::mem::take(&mut sweep.fresh) {
            log(&WatchEvent::Skipped(skipped));
        }
        // More settled than a batch, or files beyond the window once this
        // batch is out of it: look again at once.
        let mut again = settled.len() > cap || (sweep.beyond > 0 && !settled.is_empty());
        settled.truncate(cap);
        if !settled.is_empty() {
            let pending = sweep.seen.len() + sweep.beyond - settled.len();
            let mut batch = Batch {
                root,
                reg: &reg,
                summary: &mut summary,
                log,
                keep: opts.keep_batches,
            };
            batch.handle(handler, &settled, pending);
            sweep.done.extend(settled);
            // A run that emptied an inbox root removed it and the classifier
            // made it again: what was dropped into the new folder before it
            // was watched sent no event, so look again at once.
            again |= roots.watch(&reg);
        }
        let base = if again {
            Duration::ZERO
        } else {
            opts.poll.unwrap_or(opts.rescan_every)
        };
        let after = wake.map_or(base, |w| w.min(base) + Duration::from_millis(10));
        next_scan = Instant::now() + after;
    }
    drop(roots);
    Ok(summary)
}

/// One watcher per repository: hold the lock file for as long as the watch runs.
fn lock_watch(repo: &Repo) -> Result<std::fs::File> {
    let lock_path = repo.layout.state_dir().join("watch.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .io("open", &lock_path)?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Busy {
            holder: format!(
                "another `warden watch` of this repository is running (it holds {})",
                lock_path
                    .strip_prefix(repo.root())
                    .unwrap_or(&lock_path)
                    .display()
            ),
            hint: Some(
                "one watcher per repository: stop that one (Ctrl-C or SIGTERM) to start another"
                    .into(),
            ),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(e).io("lock", &lock_path),
    }
}

/// Wait (at most a slice) for the kernel's next batch; whether one came.
///
/// Every batch already queued is taken with it (the debouncer keeps sending
/// while a run is applied): one full scan answers them all, and the queue
/// never holds a burst's events while the watcher works through it.
fn wait_for_events(
    rx: &mpsc::Receiver<EventBatch>,
    now: Instant,
    next_scan: Instant,
    log: &mut dyn FnMut(&WatchEvent),
) -> bool {
    let wait = (next_scan - now).min(Duration::from_millis(100));
    match rx.recv_timeout(wait) {
        Ok(first) => {
            let mut why = rescan_reason(&first);
            drop(first);
            while let Ok(more) = rx.try_recv() {
                why = why.or_else(|| rescan_reason(&more));
            }
            if let Some(why) = why {
                log(&WatchEvent::Rescan { why });
            }
            true
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            std::thread::sleep(wait);
            false
        }
        Err(mpsc::RecvTimeoutError::Timeout) => false,
    }
}

/// The largest batch: the option, within half the policy's file limit (a
/// move touches two paths).
fn batch_cap(root: &Path, opts: &WatchOptions) -> usize {
    let policy_cap = Repo::open(root)
        .map(|r| (r.policy.file.limits.max_files / 2).saturating_sub(1) as usize)
        .unwrap_or(1)
        .max(1);
    opts.max_batch.max(1).min(policy_cap)
}

/// Wakes queued from the kernel watcher at most; one more would be answered
/// by the same full scan.
const WAKES_QUEUED: usize = 2;

/// What the watcher keeps of a debounced batch: nothing but whether it asks
/// for a full rescan (the first such event or error). Every wake is a full
/// scan of the inbox, so the events themselves are dropped here, on the
/// debouncer's thread, as they come: a burst's events never queue up while a
/// batch is applied (they did: a 20,000-file burst queued its events, and
/// the allocator kept that peak). A wake that finds the queue full is
/// dropped (one already queued makes the same scan).
fn wake_of(batch: EventBatch) -> EventBatch {
    match batch {
        Ok(events) => Ok(events
            .into_iter()
            .filter(|e| e.event.need_rescan())
            .take(1)
            .collect()),
        Err(errors) => Err(errors.into_iter().take(1).collect()),
    }
}

type KernelWatcher = notify_debouncer_full::Debouncer<
    notify_debouncer_full::notify::RecommendedWatcher,
    notify_debouncer_full::RecommendedCache,
>;

/// Each watched root with its inode: a root removed and made again (the
/// engine removes folders a run empties; the classifier re-creates the
/// inbox) is a new folder the kernel does not watch yet.
struct WatchedRoots<'a> {
    root: &'a Path,
    /// None when polling (or when events are injected).
    debouncer: Option<KernelWatcher>,
    watched: BTreeMap<RepoPath, u64>,
}

impl<'a> WatchedRoots<'a> {
    /// The kernel watcher (none when polling or when events are injected)
    /// and where its batches arrive.
    fn start(
        root: &'a Path,
        opts: &WatchOptions,
        injected: Option<mpsc::Receiver<EventBatch>>,
    ) -> Result<(mpsc::Receiver<EventBatch>, Self)> {
        let (tx, own_rx) = mpsc::sync_channel(WAKES_QUEUED);
        let (rx, kernel) = match injected {
            Some(rx) => (rx, false),
            None => (own_rx, opts.poll.is_none()),
        };
        let debouncer = match kernel {
            false => None,
            true => Some(
                notify_debouncer_full::new_debouncer(opts.debounce, None, move |b| {
                    let _ = tx.try_send(wake_of(b));
                })
                .map_err(|e| Error::Internal(format!("cannot start the file watcher: {e}")))?,
            ),
        };
        let roots = Self {
            root,
            debouncer,
            watched: BTreeMap::new(),
        };
        Ok((rx, roots))
    }

    /// Watch every inbox root not watched yet (or made again); whether one
    /// was.
    fn watch(&mut self, reg: &Modules) -> bool {
        use std::os::unix::fs::MetadataExt;
        let Some(deb) = &mut self.debouncer else {
            return false;
        };
        let mut added = false;
        for r in &reg.inbox {
            let fs = r.to_fs(self.root);
            let Ok(meta) = std::fs::metadata(&fs) else {
                continue;
            };
            if !meta.is_dir() || self.watched.get(r) == Some(&meta.ino()) {
                continue;
            }
            if self.watched.remove(r).is_some() {
                let _ = deb.unwatch(&fs);
            }
            if deb.watch(&fs, RecursiveMode::Recursive).is_ok() {
                self.watched.insert(r.clone(), meta.ino());
                added = true;
            }
        }
        added
    }
}

/// The files settled in one look, and when an unsettled one may be.
type Look = (Vec<(RepoPath, Key)>, Option<Duration>);

/// How many batches' worth of files a scan looks at, at most (the window).
pub const WINDOW_BATCHES: usize = 2;

/// What the scans remember between rounds.
///
/// A scan looks at a bounded window of the inbox: the first `window` paths
/// (in path order) that are not handled as they are, so a burst of 10,000
/// files costs the watcher the same memory as a burst of a few batches;
/// the rest wait for the next scan, which comes at once.
#[derive(Default)]
struct Sweep {
    /// Each file in the window as last seen.
    seen: BTreeMap<RepoPath, Key>,
    /// Files handled, as they were then (changed again: handled again).
    done: BTreeMap<RepoPath, Key>,
    /// Files beyond the window at the last scan.
    beyond: usize,
    /// Entries skipped in the last scan (each is told once while it stays).
    skipped: std::collections::BTreeSet<crate::report::Skipped>,
    /// Entries skipped that the last scan saw first.
    fresh: Vec<crate::report::Skipped>,
}

impl Sweep {
    /// Scan the inbox roots: the files settled (unchanged and older than
    /// `settle`, not handled as they are), and when an unsettled one may be.
    fn look(
        &mut self,
        root: &Path,
        reg: &Modules,
        opts: &WatchOptions,
        window: usize,
    ) -> Result<Look> {
        let (present, done) = self.window(root, reg, window.max(1))?;
        // A handled file that changed is looked at again, from how it was.
        let handled = std::mem::replace(&mut self.done, done);
        let mut settled: Vec<(RepoPath, Key)> = Vec::new();
        let mut wake: Option<Duration> = None;
        let mut keep_seen = BTreeMap::new();
        for p in present {
            let Ok(meta) = std::fs::symlink_metadata(p.to_fs(root)) else {
                continue;
            };
            let (key, age) = key_of(&meta);
            let prev = self.seen.get(&p).or_else(|| handled.get(&p)).copied();
            let age = age.unwrap_or(Duration::ZERO);
            let stable = prev.is_none_or(|k| k == key);
            if stable && age >= opts.settle {
                settled.push((p.clone(), key));
            } else {
                let until = if age >= opts.settle {
                    opts.debounce
                } else {
                    opts.settle - age
                };
                wake = Some(wake.map_or(until, |w: Duration| w.min(until)));
            }
            keep_seen.insert(p, key);
        }
        self.seen = keep_seen;
        Ok((settled, wake))
    }

    /// The window: the first `window` present paths (in path order) not
    /// handled as they are, sorted; and the handled files still as they
    /// were. Sets `beyond`.
    fn window(
        &mut self,
        root: &Path,
        reg: &Modules,
        window: usize,
    ) -> Result<(Vec<RepoPath>, BTreeMap<RepoPath, Key>)> {
        let mut heap = std::collections::BinaryHeap::with_capacity(window + 1);
        let mut done = BTreeMap::new();
        let mut beyond = 0usize;
        let mut visit = |p: RepoPath| {
            if let Some(k) = self.done.get(&p) {
                let same =
                    std::fs::symlink_metadata(p.to_fs(root)).is_ok_and(|m| key_of(&m).0 == *k);
                if same {
                    done.insert(p, *k);
                    return;
                }
            }
            heap.push(p);
            if heap.len() > window {
                heap.pop();
                beyond += 1;
            }
        };
        let mut skipped = Vec::new();
        for r in &reg.inbox {
            scan::walk_each(root, r, &mut visit, &mut skipped)?;
        }
        self.beyond = beyond;
        let skipped: std::collections::BTreeSet<_> = skipped.into_iter().collect();
        self.fresh = skipped.difference(&self.skipped).cloned().collect();
        self.skipped = skipped;
        Ok((heap.into_sorted_vec(), done))
    }
}

/// Handing one settled batch to the handler and logging the result.
struct Batch<'a, 'l> {
    root: &'a Path,
    reg: &'a Modules,
    summary: &'a mut WatchSummary,
    log: &'a mut (dyn FnMut(&WatchEvent) + 'l),
    /// [`WatchOptions::keep_batches`].
    keep: bool,
}

impl Batch<'_, '_> {
    /// Hand `settled` to the handler; a batch that fails is split in halves
    /// and each half handled again (within [`BISECT_BUDGET`] splits), so
    /// only the files that fail it are held back.
    fn handle(
        &mut self,
        handler: &mut dyn BatchHandler,
        settled: &[(RepoPath, Key)],
        pending: usize,
    ) {
        let mut budget = BISECT_BUDGET;
        self.handle_part(handler, settled, pending, &mut budget);
    }

    fn handle_part(
        &mut self,
        handler: &mut dyn BatchHandler,
        settled: &[(RepoPath, Key)],
        pending: usize,
        budget: &mut u32,
    ) {
        let Err(error) = self.attempt(handler, settled, pending) else {
            return;
        };
        if settled.len() > 1 && *budget > 0 {
            *budget -= 1;
            let (a, b) = settled.split_at(settled.len() / 2);
            self.handle_part(handler, a, pending, budget);
            self.handle_part(handler, b, pending, budget);
            return;
        }
        self.summary.failed += 1;
        let event = match settled {
            [(path, _)] => WatchEvent::FileFailed {
                path: path.to_string(),
                error,
            },
            _ => WatchEvent::Failed {
                files: settled.len(),
                error,
            },
        };
        (self.log)(&event);
    }

    /// One run of the handler over `settled`: logged when it succeeds, the
    /// failure's text when it does not.
    fn attempt(
        &mut self,
        handler: &mut dyn BatchHandler,
        settled: &[(RepoPath, Key)],
        pending: usize,
    ) -> std::result::Result<(), String> {
        let batch: Vec<Settled> = settled
            .iter()
            .map(|(p, k)| Settled {
                path: p.clone(),
                size: k.0,
            })
            .collect();
        match handler.handle(self.root, self.reg, &batch) {
            Ok(h) if !h.faults.is_empty() => Err(format!(
                "{}{}",
                h.faults.join("; "),
                h.dispatch
                    .map(|d| format!(" (dispatch run {d}; `warden replay {d}`)"))
                    .unwrap_or_default()
            )),
            Ok(h) => {
                // Entries the classifier itself left where they are (a
                // winner whose destination is a symbolic link): told once,
                // like the scan's; retried when they change.
                for skipped in &h.report.skipped {
                    (self.log)(&WatchEvent::Skipped(skipped.clone()));
                }
                self.summary.handled += 1;
                let b = BatchLog {
                    batch: self.summary.handled,
                    files: settled.len(),
                    counts: h.report.counts,
                    run: h.report.run,
                    outcome: h.report.outcome,
                    pending,
                    handler: h.handler,
                    dispatch: h.dispatch,
                };
                (self.log)(&WatchEvent::Batch(b.clone()));
                if self.keep {
                    self.summary.batches.push(b);
                }
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        }
    }
}

fn load_registry(root: &Path) -> Result<Modules> {
    Modules::load(root)?.ok_or_else(|| {
        Error::invalid(
            warden_core::modules::MODULES_FILE,
            "(file)",
            "there is no module registry, so there is nothing to watch",
            Some("write .warden/modules.yaml (`warden schema modules`) or `warden modules import FILE`".into()),
        )
    })
}

fn run_batch(
    root: &Path,
    ctx: &Context,
    times: &dyn Times,
    reg: &Modules,
    settled: &[Settled],
    index: &mut Option<LatestIndex>,
) -> Result<crate::report::ClassifyReport> {
    let paths: Vec<RepoPath> = settled.iter().map(|s| s.path.clone()).collect();
    let sizes: BTreeMap<&RepoPath, u64> = settled.iter().map(|s| (&s.path, s.size)).collect();
    let opts = Options {
        scope: Scope::Paths(paths.clone()),
        reclassify: false,
    };
    // A file that changed between the scan and the read waits for the next scan.
    let keep = |i: &scan::FileInfo| sizes.get(&i.path) == Some(&i.size);
    let analysis = classify::analyse_paths(root, reg, &opts, times, &paths, &keep)?;
    let repo = Repo::open(root)?;
    let mut s = repo.session(ctx, true, &mut |_| {})?;
    // Taken out while the batch runs: a failed batch loads it afresh next time.
    let idx = match index.take() {
        Some(i) => i.refresh(&repo)?,
        None => LatestIndex::load(&repo)?,
    };
    // An engine error about the proposal names the inbox file it is about,
    // as `warden classify` does, never "(classifier proposal): actions[0]".
    let sources = crate::checks::sources(&analysis);
    let prepared = crate::run::prepare_analysis_with(&s, analysis, &idx)
        .map_err(|e| crate::checks::in_user_terms(e, &sources))?;
    let report = crate::run::commit(&mut s, prepared)?;
    *index = Some(idx);
    Ok(report)
}
