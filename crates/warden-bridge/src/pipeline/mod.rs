//! The executor (docs/bridge.md): take commands from `commands/`, run each through
//! the validation layers, apply the accepted ones as warden runs, write their
//! outputs, and remove them from the inbox — in crash-safe batches.
//!
//! A batch (group commit):
//! 1. verify every file of the batch (no writes);
//! 2. write the batch marker `.bridge/batch.json` (the files, their sha256 and
//!    the output names assigned) and fsync it — flush 1;
//! 3. apply the accepted commands: no-ops are ledgered together by
//!    `Session::record_many` — flush 2; changes go through `Session::apply`;
//!    a `moveFile` that would take a file git ignores in the target out of
//!    the local-only area is refused first, and no refusal of a command
//!    naming an ignored file shows its digest (`local_only`);
//! 4. write every output (results, integrity, diffs, archive, dead letters,
//!    log lines) without per-file fsyncs, then one `syncfs` — flush 3; a
//!    diff never shows a file git ignores in the target (`ignored`);
//! 5. only now remove the batch's commands from `commands/` and clear the marker.
//!
//! Restart after a crash at any point: the marker names the batch. A command
//! still in `commands/` with the same sha256 is taken again; if the ledger
//! already holds its run, its outputs are re-derived from the ledger entry
//! instead of applying it again (no command processed twice); a command not
//! yet ledgered is processed normally (none lost). Dead letters reuse the
//! names assigned in the marker, so nothing is written twice under two names.
//!
//! The steps live in their own files: [`crate::verify`] (the layers, shared
//! with `warden bridge verify`), `batch` (taking files, the marker, one
//! batch), `apply` (the runs), `local_only` (what git ignores stays in the
//! target), `ignored` (what a published diff leaves out)
//! and `outputs` (results, dead letters, log).

mod apply;
mod batch;
mod ignored;
mod local_only;
mod marker;
mod outputs;

use crate::inbox;
use crate::layout::Layout;
use crate::ops::Target;
use crate::outputs::Durability;
use crate::reason::{Reason, Rejection};
use crate::report::VerifyReport;
use crate::sign::Secrets;
use crate::verify::{self, Verdict, Verifier};
use marker::MarkerItem;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::time::Instant;
use warden_core::ledger::{RollbackCause, RunResult};
use warden_core::proposal::Source;
use warden_core::{Context, Repo};

/// The executor's crash points, in order (armed only in builds with the
/// `warden-core/failpoints` feature, e.g. `WARDEN_FAILPOINT=bridge.after_apply=abort`).
pub const BATCH_POINTS: &[&str] = &[
    "bridge.after_marker",
    "bridge.after_apply",
    "bridge.after_outputs",
    "bridge.after_sync",
    "bridge.after_first_remove",
    "bridge.after_removes",
];

fn fail(name: &'static str) -> std::io::Result<()> {
    warden_core::failpoint::hit(name).map_err(|e| std::io::Error::other(e.to_string()))
}

/// Tunables of one executor.
#[derive(Debug, Clone)]
pub struct Options {
    /// Largest accepted command file.
    pub max_bytes: u64,
    /// Clock skew tolerated around issued_at / expires_at, in seconds.
    pub skew_secs: i64,
    /// A file is taken only once its mtime is this old (writers that are not
    /// atomic, like the seed's smoke script, finish first).
    pub settle_ms: u64,
    /// Most commands per batch.
    pub batch_size: usize,
    pub durability: Durability,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_bytes: crate::command::DEFAULT_MAX_BYTES,
            skew_secs: crate::command::DEFAULT_SKEW_SECS,
            settle_ms: 500,
            batch_size: 64,
            durability: Durability::Group,
        }
    }
}

/// Where a command ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemOutcome {
    /// Applied or recorded, moved to `archive/`.
    Archived,
    /// Refused, moved to `dead_letter/`.
    DeadLetter,
}

/// What happened to one command.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ItemReport {
    pub file: String,
    /// The command id, or for a dead letter its key.
    pub id: String,
    pub outcome: ItemOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub exit_code: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    pub recovered: bool,
}

/// What one pass over the inbox did.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct PassReport {
    pub items: Vec<ItemReport>,
    /// Files still being written (younger than the settle time).
    pub waiting: usize,
    /// Entries of commands/ that are not `*.json` files (left alone).
    pub ignored: Vec<String>,
    pub batches: usize,
    pub flushes: u64,
    /// Verified commands left in commands/ because the target repository
    /// could not be opened (its recovery cannot finish); taken again later.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deferred: Vec<String>,
    /// Why the target repository could not be opened, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_error: Option<String>,
    /// Why git could not say which changed files it ignores in the target,
    /// when it could not: the diffs of this pass then show no file's
    /// content (a file git ignores never has its content in a diff).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore_check_error: Option<String>,
}

/// The executor for one bridge root and its target repository.
pub struct Bridge<'a> {
    pub layout: Layout,
    pub target: Target,
    repo: &'a Repo,
    ctx: &'a Context,
    secrets: &'a Secrets,
    pub opts: Options,
    /// Ids already used: archived, or dead-lettered after a valid HMAC.
    used: BTreeSet<String>,
    /// Command id → the newest ledger entry the bridge made for it.
    /// (Only the run id: the entry is read back when a crashed batch needs it.)
    runs: BTreeMap<String, String>,
    /// Dead-letter keys on disk.
    dl_keys: BTreeSet<String>,
    /// Checks a `validationPlan` may name (`meta/bridge.json`).
    checks: BTreeMap<String, Vec<String>>,
    /// Why the target repository could not be opened in this pass.
    target_error: Option<String>,
    /// Commands of this pass left in commands/ for that reason.
    deferred: Vec<String>,
    /// Why git could not say what it ignores in the target in this pass.
    ignore_check_error: Option<String>,
    /// Young files seen so far: name → (size, mtime, when first seen so).
    observed: BTreeMap<OsString, Observation>,
}

type Observation = (u64, Option<std::time::SystemTime>, std::time::Instant);

/// A file younger than the settle time is taken once its size and mtime have
/// been seen unchanged for this long (issue 11: no fixed settle sleep).
pub const STABLE_MS: u64 = 50;

struct Item {
    /// The name in commands/ as text ([`inbox::shown_name`]): what reports,
    /// the dead letter and the marker call it.
    file: String,
    /// The name in commands/ as the file system has it (UTF-8 or not): what
    /// is opened and removed.
    name: OsString,
    /// The verified bytes, read from `fd`; `None` when the file layer
    /// refused it (its content was never read).
    bytes: Option<Vec<u8>>,
    /// The descriptor the checks were made on and the bytes read from.
    fd: Option<std::fs::File>,
    /// (device, inode) of what the name held when it was taken: the name is
    /// removed from commands/ only while it still names that.
    identity: Option<(u64, u64)>,
    kind: inbox::Kind,
    size: u64,
    sha256: Option<String>,
    received_at: String,
    started: Instant,
    verdict: Verdict,
    key: String,
    /// The marker of a crashed batch lists this exact file.
    leftover: bool,
}

/// What an archived command's outputs say about its run.
struct Done {
    status: String,
    run: String,
    counts: warden_core::ledger::Counts,
    diff: String,
    /// Target-repository paths the run changed.
    paths: Vec<String>,
    recovered: bool,
    /// A changed path is ignored by git in the target: the line and byte
    /// counts were zeroed ([`ignored`]).
    sizes_hidden: bool,
}

/// The outcome of applying one accepted command.
enum Applied {
    Done(Done),
    Failed(Rejection),
    /// Not applied because the target repository cannot be opened: the
    /// command stays in commands/ for a later pass (no output is written).
    Deferred,
}

impl<'a> Bridge<'a> {
    /// Set up an executor: reads what was already processed (archive, dead
    /// letters, the ledger) so replays are refused.
    pub fn new(
        layout: Layout,
        target_repo: &'a Repo,
        ctx: &'a Context,
        secrets: &'a Secrets,
        opts: Options,
    ) -> std::io::Result<Bridge<'a>> {
        let target = Target::new(target_repo.root(), &layout.root);
        let checks = crate::layout::load_config(&layout)
            .map_err(std::io::Error::other)?
            .map(|c| c.checks)
            .unwrap_or_default();
        let mut b = Bridge {
            layout,
            target,
            repo: target_repo,
            ctx,
            secrets,
            opts,
            used: BTreeSet::new(),
            runs: BTreeMap::new(),
            dl_keys: BTreeSet::new(),
            checks,
            target_error: None,
            deferred: Vec::new(),
            ignore_check_error: None,
            observed: BTreeMap::new(),
        };
        b.load_outputs();
        b.load_runs()?;
        Ok(b)
    }

    /// Ids in archive/ and of dead letters with a valid MAC; dead-letter keys.
    fn load_outputs(&mut self) {
        for (dir, is_dl) in [("archive", false), ("dead_letter", true)] {
            let Ok(rd) = std::fs::read_dir(self.layout.dir(dir)) else {
                continue;
            };
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let Some(stem) = name.strip_suffix(".json") else {
                    continue;
                };
                if name.starts_with('.') {
                    continue;
                }
                if !is_dl {
                    self.used.insert(stem.to_string());
                    continue;
                }
                self.dl_keys.insert(stem.to_string());
                if let Ok(bytes) = std::fs::read(e.path())
                    && let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes)
                    && v["hmac_ok"] == serde_json::Value::Bool(true)
                    && let Some(id) = v["id"].as_str()
                {
                    self.used.insert(id.to_string());
                }
            }
        }
    }

    /// Command id → the newest run the bridge made for it, from the ledger.
    fn load_runs(&mut self) -> std::io::Result<()> {
        // Every chain streamed backwards, only the lines of bridge runs
        // parsed, and only the fields needed: memory is one id per command
        // the bridge ever ran, not the ledger.
        #[derive(serde::Deserialize)]
        struct Light {
            run: String,
            actor: Source,
            result: RunResult,
            #[serde(default)]
            reason: Option<String>,
            #[serde(default)]
            rolled_back_by: Option<RollbackCause>,
        }
        let ledger = self.repo.ledger();
        let io = |e: warden_core::Error| std::io::Error::other(e.to_string());
        for writer in ledger.writers().map_err(io)? {
            let path = ledger.chain_path(&writer);
            let runs = &mut self.runs;
            ledger
                .scan_back(&writer, &mut |line| {
                    const NEEDLE: &[u8] = br#""kind":"bridge","#;
                    if !line.windows(NEEDLE.len()).any(|w| w == NEEDLE) {
                        return Ok(false);
                    }
                    let e: Light = serde_json::from_slice(line).map_err(|err| {
                        warden_core::Error::Corrupt {
                            path: path.clone(),
                            message: format!("not a valid ledger entry: {err}"),
                        }
                    })?;
                    // A run that recovery rolled back never happened: the
                    // command is taken again, not counted as processed. A run
                    // rolled back by its validation or its deadline was the
                    // command's answer.
                    let interrupted =
                        RollbackCause::of(e.result, e.rolled_back_by, e.reason.as_deref())
                            == Some(RollbackCause::Interrupted);
                    if e.actor.kind == "bridge"
                        && !interrupted
                        && runs.get(&e.actor.id).is_none_or(|r| *r < e.run)
                    {
                        runs.insert(e.actor.id, e.run);
                    }
                    Ok(false)
                })
                .map_err(io)?;
        }
        Ok(())
    }

    /// The executor's clock.
    pub fn now(&self) -> jiff::Timestamp {
        self.ctx.clock.now()
    }

    /// One pass: finish a crashed batch, then process every settled command.
    pub fn run_once(&mut self) -> std::io::Result<PassReport> {
        let mut report = PassReport::default();
        let marker = marker::read(&self.layout);
        let leftovers: BTreeMap<String, MarkerItem> = marker
            .items
            .into_iter()
            .map(|i| (i.file.clone(), i))
            .collect();
        let (mut files, waiting, ignored) = self.scan(&leftovers)?;
        report.waiting = waiting;
        report.ignored = ignored;
        // The crashed batch first, in its order.
        files.sort_by_key(|f| (!leftovers.contains_key(&inbox::shown_name(f)), f.clone()));
        for chunk in files.chunks(self.opts.batch_size.max(1)) {
            let (items, flushes) = self.batch(chunk, &leftovers)?;
            report.items.extend(items);
            report.flushes += flushes;
            report.batches += 1;
        }
        if files.is_empty() && !leftovers.is_empty() {
            // Every command of the crashed batch was already removed.
            marker::clear(&self.layout);
        }
        report.deferred = std::mem::take(&mut self.deferred);
        report.target_error = self.target_error.take();
        report.ignore_check_error = self.ignore_check_error.take();
        Ok(report)
    }

    /// Candidate files of `commands/` by their names' bytes (a name that is
    /// not UTF-8 is taken too, and dead-lettered), in name order; how many
    /// are still settling; which entries are ignored.
    fn scan(
        &mut self,
        leftovers: &BTreeMap<String, MarkerItem>,
    ) -> std::io::Result<(Vec<OsString>, usize, Vec<String>)> {
        let mut files = Vec::new();
        let mut waiting = 0;
        let mut ignored = Vec::new();
        let dir = self.layout.commands();
        let rd = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok((files, 0, ignored));
            }
            Err(e) => return Err(e),
        };
        for e in rd {
            let e = e?;
            let os = e.file_name();
            if os == ".gitkeep" {
                continue; // `bridge init` keeps the directory in git with it
            }
            let name = inbox::shown_name(&os);
            let meta = match std::fs::symlink_metadata(e.path()) {
                Ok(m) => m,
                // Removed between the listing and now: nothing to take.
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
                Err(err) => return Err(err),
            };
            if meta.is_dir() || !os.as_encoded_bytes().ends_with(b".json") {
                ignored.push(name);
                continue;
            }
            // Our own temp files never live here, but a writer's might: a
            // hidden name is judged (dead-lettered) only once it settles too.
            let age = meta
                .modified()
                .ok()
                .map(warden_core::context::age_of)
                .unwrap_or_default();
            if !leftovers.contains_key(&name)
                && age.as_millis() < u128::from(self.opts.settle_ms)
                && !self.stable(&os, &meta)
            {
                waiting += 1;
                continue;
            }
            files.push(os);
        }
        // Forget files that are gone (taken, or removed by their writer).
        self.observed.retain(|n, _| dir.join(n).exists());
        files.sort();
        Ok((files, waiting, ignored))
    }

    /// Whether a young file's size and mtime have been seen unchanged for
    /// [`STABLE_MS`] (or the settle time, when shorter); records what is
    /// seen now.
    fn stable(&mut self, name: &OsStr, meta: &std::fs::Metadata) -> bool {
        let key = (meta.len(), meta.modified().ok());
        let now = std::time::Instant::now();
        let window = std::time::Duration::from_millis(STABLE_MS.min(self.opts.settle_ms));
        match self.observed.get(name) {
            Some((len, mtime, since)) if (*len, *mtime) == key => {
                now.duration_since(*since) >= window
            }
            _ => {
                self.observed
                    .insert(name.to_os_string(), (key.0, key.1, now));
                false
            }
        }
    }

    /// For `--once`: wait until every `*.json` in commands/ is settled — older
    /// than the settle time, or with size and mtime seen unchanged for
    /// [`STABLE_MS`] — for at most `max`. Files that settle are then taken by
    /// the next [`Bridge::run_once`] without further waiting.
    pub fn settle_inbox(&mut self, max: std::time::Duration) -> std::io::Result<()> {
        let deadline = std::time::Instant::now() + max;
        loop {
            let (_, waiting, _) = self.scan(&BTreeMap::new())?;
            if waiting == 0 || std::time::Instant::now() >= deadline {
                return Ok(());
            }
            let step = std::time::Duration::from_millis(STABLE_MS.min(self.opts.settle_ms) / 5 + 1);
            std::thread::sleep(
                step.min(deadline.saturating_duration_since(std::time::Instant::now())),
            );
        }
    }

    /// The layers with this executor's secrets, clock, limits and memory of
    /// what was processed.
    fn with_verifier<R>(&self, f: impl FnOnce(&Verifier<'_>) -> R) -> R {
        let seen = |id: &str| {
            self.used.contains(id) || self.runs.contains_key(id) || self.layout.archive(id).exists()
        };
        let ledgered = |id: &str| self.runs.contains_key(id);
        f(&Verifier {
            secrets: self.secrets,
            now: self.ctx.clock.now(),
            skew_secs: self.opts.skew_secs,
            max_bytes: self.opts.max_bytes,
            checks: &self.checks,
            seen: &seen,
            ledgered: &ledgered,
        })
    }

    /// `bridge verify`: every layer of [`crate::verify`] on `bytes` without
    /// writing anything, down to the dry-run plan. Each entry is
    /// (layer, Ok(note) | Err(why)); the first `Err` ends the list.
    /// `in_inbox`: the file is in `commands/`, so its name must be `<id>.json`.
    pub fn explain(&self, name: &str, bytes: &[u8], in_inbox: bool) -> Vec<verify::Layer> {
        let local = |cmd: &crate::command::Command| self.local_only_refusal(cmd);
        self.with_verifier(|v| v.explain(name, bytes, in_inbox, (&self.target, self.repo), &local))
    }

    /// `warden bridge verify FILE`: read `file` as the executor would (one in
    /// `commands/` through the descriptor it was checked on, never through a
    /// link) and explain every layer. Writes nothing.
    pub fn verify_file(&self, file: &Path) -> std::io::Result<VerifyReport> {
        let commands = self.layout.commands();
        let os = file.file_name().unwrap_or_default();
        let name = inbox::shown_name(os);
        let dir = match file.parent() {
            Some(p) if p.as_os_str().is_empty() => Path::new("."),
            Some(p) => p,
            None => Path::new("."),
        };
        let in_inbox = dir
            .canonicalize()
            .ok()
            .zip(commands.canonicalize().ok())
            .is_some_and(|(a, b)| a == b);
        let bytes = if in_inbox {
            let own_link = name.strip_suffix(".json").map(|id| self.layout.archive(id));
            match inbox::open_verified(&commands, os, self.opts.max_bytes, own_link.as_deref())? {
                inbox::Taken::Verified(v) => Ok(v.bytes),
                inbox::Taken::Refused(r) => Err(r.rejection),
            }
        } else {
            read_bounded(file, self.opts.max_bytes)?
        };
        let layers = match bytes {
            Ok(bytes) => self.explain(&name, &bytes, in_inbox),
            Err(rej) => vec![("file", Err(rej))],
        };
        Ok(VerifyReport::new(file.display().to_string(), &layers))
    }
}

/// A file outside the inbox that `verify_file` explains: read, but never
/// more than the limit (a device or a growing file would otherwise be read
/// until memory runs out); over it, the `too_large` the executor would give.
fn read_bounded(file: &Path, max_bytes: u64) -> std::io::Result<Result<Vec<u8>, Rejection>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(file)?
        .take(max_bytes + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max_bytes {
        return Ok(Err(Rejection::new(
            Reason::TooLarge,
            format!(
                "{} is more than {max_bytes} bytes, the limit; it was not read further",
                file.display()
            ),
        )
        .hint("split the change into several commands")));
    }
    Ok(Ok(bytes))
}
