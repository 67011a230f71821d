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
use crate::index::PlacementIndex;
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
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            poll: None,
            settle: Duration::from_millis(500),
            debounce: Duration::from_millis(100),
            max_batch: 400,
            rescan_every: Duration::from_secs(30),
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
    /// An entry in an inbox that is never classified (not a regular file, a
    /// name that is not UTF-8): told once while it stays there.
    Skipped(crate::report::Skipped),
}

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
/// It keeps the placement index in memory between batches and brings it up
/// to date with [`PlacementIndex::refresh`] (only what the ledger gained
/// since is read), so a long burst does not parse the growing index file
/// once per batch.
pub struct BuiltIn<'a> {
    pub ctx: &'a Context,
    pub times: &'a dyn Times,
    index: Option<PlacementIndex>,
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
    /// Batches that failed.
    pub failed: u64,
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
        let (mut settled, wake) = sweep.look(root, &reg, opts)?;
        for skipped in std::mem::take(&mut sweep.fresh) {
            log(&WatchEvent::Skipped(skipped));
        }
        let cap = batch_cap(root, opts);
        let more = settled.len() > cap;
        settled.truncate(cap);
        if !settled.is_empty() {
            let pending = sweep.seen.len() - settled.len();
            let mut batch = Batch {
                root,
                reg: &reg,
                summary: &mut summary,
                log,
            };
            batch.handle(handler, &settled, pending);
            sweep.done.extend(settled);
            roots.watch(&reg);
        }
        let base = if more {
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
        let (tx, own_rx) = mpsc::channel();
        let (rx, kernel) = match injected {
            Some(rx) => (rx, false),
            None => (own_rx, opts.poll.is_none()),
        };
        let debouncer = match kernel {
            false => None,
            true => Some(
                notify_debouncer_full::new_debouncer(opts.debounce, None, tx)
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

    fn watch(&mut self, reg: &Modules) {
        use std::os::unix::fs::MetadataExt;
        let Some(deb) = &mut self.debouncer else {
            return;
        };
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
            }
        }
    }
}

/// The files settled in one look, and when an unsettled one may be.
type Look = (Vec<(RepoPath, Key)>, Option<Duration>);

/// What the scans remember between rounds.
#[derive(Default)]
struct Sweep {
    /// Each present file as last seen.
    seen: BTreeMap<RepoPath, Key>,
    /// Files handled, as they were then (changed again: handled again).
    done: BTreeMap<RepoPath, Key>,
    /// Entries skipped in the last scan (each is told once while it stays).
    skipped: std::collections::BTreeSet<crate::report::Skipped>,
    /// Entries skipped that the last scan saw first.
    fresh: Vec<crate::report::Skipped>,
}

impl Sweep {
    /// Scan the inbox roots: the files settled (unchanged and older than
    /// `settle`, not handled as they are), and when an unsettled one may be.
    fn look(&mut self, root: &Path, reg: &Modules, opts: &WatchOptions) -> Result<Look> {
        let mut present: Vec<RepoPath> = Vec::new();
        let mut skipped = Vec::new();
        for r in &reg.inbox {
            present.extend(scan::walk_reporting(root, r, &mut skipped)?);
        }
        let skipped: std::collections::BTreeSet<_> = skipped.into_iter().collect();
        self.fresh = skipped.difference(&self.skipped).cloned().collect();
        self.skipped = skipped;
        let mut settled: Vec<(RepoPath, Key)> = Vec::new();
        let mut wake: Option<Duration> = None;
        let mut keep_seen = BTreeMap::new();
        for p in present {
            let Ok(meta) = std::fs::symlink_metadata(p.to_fs(root)) else {
                continue;
            };
            let (key, age) = key_of(&meta);
            if self.done.get(&p) == Some(&key) {
                keep_seen.insert(p, key);
                continue;
            }
            self.done.remove(&p);
            let prev = self.seen.get(&p).copied();
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
        self.done.retain(|p, _| keep_seen.contains_key(p));
        self.seen = keep_seen;
        Ok((settled, wake))
    }
}

/// Handing one settled batch to the handler and logging the result.
struct Batch<'a, 'l> {
    root: &'a Path,
    reg: &'a Modules,
    summary: &'a mut WatchSummary,
    log: &'a mut (dyn FnMut(&WatchEvent) + 'l),
}

impl Batch<'_, '_> {
    fn handle(
        &mut self,
        handler: &mut dyn BatchHandler,
        settled: &[(RepoPath, Key)],
        pending: usize,
    ) {
        let n = settled.len();
        let batch: Vec<Settled> = settled
            .iter()
            .map(|(p, k)| Settled {
                path: p.clone(),
                size: k.0,
            })
            .collect();
        match handler.handle(self.root, self.reg, &batch) {
            Ok(h) if !h.faults.is_empty() => {
                self.summary.failed += 1;
                (self.log)(&WatchEvent::Failed {
                    files: n,
                    error: format!(
                        "{}{}",
                        h.faults.join("; "),
                        h.dispatch
                            .map(|d| format!(" (dispatch run {d}; `warden replay {d}`)"))
                            .unwrap_or_default()
                    ),
                });
            }
            Ok(h) => {
                let b = BatchLog {
                    batch: self.summary.batches.len() as u64 + 1,
                    files: n,
                    counts: h.report.counts,
                    run: h.report.run,
                    outcome: h.report.outcome,
                    pending,
                    handler: h.handler,
                    dispatch: h.dispatch,
                };
                (self.log)(&WatchEvent::Batch(b.clone()));
                self.summary.batches.push(b);
            }
            Err(e) => {
                self.summary.failed += 1;
                (self.log)(&WatchEvent::Failed {
                    files: n,
                    error: e.to_string(),
                });
            }
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
    index: &mut Option<PlacementIndex>,
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
        None => PlacementIndex::load(&repo)?,
    };
    let prepared = crate::run::prepare_analysis_with(&s, analysis, &idx)?;
    let report = crate::run::commit(&mut s, prepared)?;
    *index = Some(idx);
    Ok(report)
}
