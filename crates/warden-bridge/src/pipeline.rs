//! The executor (seed §6–§8): take commands from `commands/`, run each through
//! the validation layers, apply the accepted ones as warden runs, write their
//! outputs, and remove them from the inbox — in crash-safe batches.
//!
//! A batch (group commit):
//! 1. verify every file of the batch (no writes);
//! 2. write the batch marker `.bridge/batch.json` (the files, their sha256 and
//!    the output names assigned) and fsync it — flush 1;
//! 3. apply the accepted commands: no-ops are ledgered together by
//!    `Session::record_many` — flush 2; changes go through `Session::apply`;
//! 4. write every output (results, integrity, diffs, archive, dead letters,
//!    log lines) without per-file fsyncs, then one `syncfs` — flush 3;
//! 5. only now remove the batch's commands from `commands/` and clear the marker.
//!
//! Restart after a crash at any point: the marker names the batch. A command
//! still in `commands/` with the same sha256 is taken again; if the ledger
//! already holds its run, its outputs are re-derived from the ledger entry
//! instead of applying it again (no command processed twice); a command not
//! yet ledgered is processed normally (none lost). Dead letters reuse the
//! names assigned in the marker, so nothing is written twice under two names.

use crate::canon::JVal;
use crate::command::{self, Command, Op};
use crate::inbox;
use crate::layout::Layout;
use crate::ops::{self, Target};
use crate::outputs::{
    ConstraintsOk, Counters, DeadLetterDoc, Durability, IntegrityDoc, LogLine, ResultDoc, Timings,
    Writer, pretty,
};
use crate::reason::{Reason, Rejection};
use crate::sign::{KeySlot, Secrets};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Instant;
use warden_core::engine::{ApplyOptions, Record};
use warden_core::ledger::{Entry, RollbackCause, RunResult};
use warden_core::proposal::{Proposal, Source};
use warden_core::{Context, Digest, Repo};

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
            max_bytes: command::DEFAULT_MAX_BYTES,
            skew_secs: command::DEFAULT_SKEW_SECS,
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
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Marker {
    schema: String,
    items: Vec<MarkerItem>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct MarkerItem {
    file: String,
    sha256: String,
    /// `archive/<key>.json` or `dead_letter/<key>.json`.
    key: String,
    accepted: bool,
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
    /// Young files seen so far: name → (size, mtime, when first seen so).
    observed: BTreeMap<String, Observation>,
}

type Observation = (u64, Option<std::time::SystemTime>, std::time::Instant);

/// A file younger than the settle time is taken once its size and mtime have
/// been seen unchanged for this long (issue 11: no fixed settle sleep).
pub const STABLE_MS: u64 = 50;

/// A verified command waiting to be applied.
struct Accepted {
    cmd: Command,
    slot: KeySlot,
}

enum Verdict {
    Accept(Box<Accepted>),
    Reject {
        rej: Rejection,
        id: Option<String>,
        hmac_ok: bool,
    },
}

struct Item {
    file: String,
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

/// The outcome of applying one accepted command.
enum Applied {
    Done {
        status: String,
        run: String,
        counts: warden_core::ledger::Counts,
        diff: String,
        /// Target-repository paths the run changed.
        paths: Vec<String>,
        recovered: bool,
    },
    Failed(Rejection),
    /// Not applied because the target repository cannot be opened: the
    /// command stays in commands/ for a later pass (no output is written).
    Deferred,
}

fn exit_code_for(reason: Reason) -> i32 {
    match reason {
        Reason::Hidden
        | Reason::Symlink
        | Reason::HardLink
        | Reason::Unreadable
        | Reason::IdMismatch
        | Reason::NotRegular
        | Reason::Empty
        | Reason::TooLarge
        | Reason::InvalidJson
        | Reason::DuplicateKey
        | Reason::Schema
        | Reason::UnknownAction
        | Reason::UnknownPatchType
        | Reason::UnknownOp
        | Reason::UnknownCheck => 2,
        Reason::ApplyFailed => 3,
        _ => 1,
    }
}

fn sanitize_key(stem: &str) -> String {
    let s: String = stem
        .trim_start_matches('.')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let s = s.replace("..", "_");
    if s.is_empty() { "unnamed".into() } else { s }
}

fn ts_of(t: std::time::SystemTime) -> String {
    jiff::Timestamp::try_from(t)
        .map(|t| t.round(jiff::Unit::Millisecond).unwrap_or(t).to_string())
        .unwrap_or_default()
}

/// Map a core refusal to a dead-letter reason, by its kind (never its text).
fn core_rejection(e: &warden_core::Error) -> Rejection {
    use warden_core::Error as E;
    use warden_core::error::Refusal;
    let msg = ops::core_message(e);
    let (reason, field, hint) = match e {
        E::Rejected {
            field,
            hint,
            refusal,
            ..
        }
        | E::Invalid {
            field,
            hint,
            refusal,
            ..
        } => {
            let reason = match refusal {
                Refusal::Policy if matches!(e, E::Rejected { .. }) => Reason::PolicyDenied,
                Refusal::UnsafePath => Reason::PathEscape,
                Refusal::Protected => Reason::ProtectedPath,
                _ => Reason::PreconditionFailed,
            };
            (reason, Some(field.clone()), hint.clone())
        }
        _ => (Reason::ApplyFailed, None, None),
    };
    let mut r = Rejection::new(reason, msg);
    r.field = field.map(|f| format!("(proposal) {f}"));
    r.hint = hint;
    r
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
            observed: BTreeMap::new(),
        };
        b.load_state()?;
        Ok(b)
    }

    fn load_state(&mut self) -> std::io::Result<()> {
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

    /// One pass: finish a crashed batch, then process every settled command.
    pub fn run_once(&mut self) -> std::io::Result<PassReport> {
        let mut report = PassReport::default();
        let marker = self.read_marker();
        let leftovers: BTreeMap<String, MarkerItem> = marker
            .items
            .into_iter()
            .map(|i| (i.file.clone(), i))
            .collect();
        let (mut files, waiting, ignored) = self.scan(&leftovers)?;
        report.waiting = waiting;
        report.ignored = ignored;
        // The crashed batch first, in its order.
        files.sort_by_key(|f| (!leftovers.contains_key(f), f.clone()));
        for chunk in files.chunks(self.opts.batch_size.max(1)) {
            let (items, flushes) = self.batch(chunk, &leftovers)?;
            report.items.extend(items);
            report.flushes += flushes;
            report.batches += 1;
        }
        if files.is_empty() && !leftovers.is_empty() {
            // Every command of the crashed batch was already removed.
            self.clear_marker();
        }
        report.deferred = std::mem::take(&mut self.deferred);
        report.target_error = self.target_error.take();
        Ok(report)
    }

    /// Candidate files of `commands/`, oldest name first; how many are still
    /// settling; which entries are ignored.
    fn scan(
        &mut self,
        leftovers: &BTreeMap<String, MarkerItem>,
    ) -> std::io::Result<(Vec<String>, usize, Vec<String>)> {
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
            let name = e.file_name().to_string_lossy().into_owned();
            if name == ".gitkeep" {
                continue; // `bridge init` keeps the directory in git with it
            }
            let meta = match std::fs::symlink_metadata(e.path()) {
                Ok(m) => m,
                // Removed between the listing and now: nothing to take.
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
                Err(err) => return Err(err),
            };
            if meta.is_dir() || !name.ends_with(".json") {
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
                && !self.stable(&name, &meta)
            {
                waiting += 1;
                continue;
            }
            files.push(name);
        }
        // Forget files that are gone (taken, or removed by their writer).
        self.observed.retain(|n, _| dir.join(n).exists());
        files.sort();
        Ok((files, waiting, ignored))
    }

    /// Whether a young file's size and mtime have been seen unchanged for
    /// [`STABLE_MS`] (or the settle time, when shorter); records what is
    /// seen now.
    fn stable(&mut self, name: &str, meta: &std::fs::Metadata) -> bool {
        let key = (meta.len(), meta.modified().ok());
        let now = std::time::Instant::now();
        let window = std::time::Duration::from_millis(STABLE_MS.min(self.opts.settle_ms));
        match self.observed.get(name) {
            Some((len, mtime, since)) if (*len, *mtime) == key => {
                now.duration_since(*since) >= window
            }
            _ => {
                self.observed.insert(name.to_string(), (key.0, key.1, now));
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

    fn read_marker(&self) -> Marker {
        std::fs::read(self.layout.marker())
            .ok()
            .filter(|b| !b.is_empty())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Durably record the batch before anything it causes can be durable.
    fn write_marker(&self, marker: &Marker, w: &mut Writer) -> std::io::Result<()> {
        std::fs::create_dir_all(self.layout.private())?;
        let path = self.layout.marker();
        let existed = path.exists();
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&path)?;
        std::io::Write::write_all(&mut f, &pretty(marker))?;
        f.sync_data()?;
        w.flushes += 1;
        if !existed {
            warden_core::fsutil::sync_dir(&self.layout.private()).map_err(std::io::Error::other)?;
            w.flushes += 1;
        }
        Ok(())
    }

    /// Not fsynced: a marker that survives names files that are gone, or
    /// files that are then taken again and recognised by their sha256.
    fn clear_marker(&self) {
        if let Ok(f) = std::fs::OpenOptions::new()
            .write(true)
            .open(self.layout.marker())
        {
            let _ = f.set_len(0);
        }
    }

    /// Layers 1–4 plus replay and allowedActions: no writes.
    fn verify(
        &self,
        name: &str,
        bytes: &[u8],
        leftover: bool,
        in_batch: &BTreeSet<String>,
    ) -> Verdict {
        let reject = |rej: Rejection, id: Option<String>, hmac_ok: bool| Verdict::Reject {
            rej,
            id,
            hmac_ok,
        };
        let doc = match command::parse_json(bytes) {
            Ok(d) => d,
            Err(r) => return reject(r, None, false),
        };
        let doc_id = doc
            .get("id")
            .and_then(JVal::as_str)
            .filter(|i| command::valid_id(i))
            .map(str::to_string);
        let slot = match command::authenticate(&doc, self.secrets) {
            Ok(s) => s,
            Err(r) => return reject(r, doc_id, false),
        };
        let cmd = match command::parse_command(&doc) {
            Ok(c) => c,
            Err(r) => return reject(r, doc_id, true),
        };
        let id = Some(cmd.id.clone());
        if let Err(r) = check_name(name, &cmd.id) {
            return reject(r, id, true);
        }
        let replay = (self.used.contains(&cmd.id)
            || self.runs.contains_key(&cmd.id)
            || self.layout.archive(&cmd.id).exists())
            && !leftover;
        if replay || in_batch.contains(&cmd.id) {
            return reject(
                Rejection::new(
                    Reason::DuplicateId,
                    format!("id \"{}\" was already processed (see archive/, dead_letter/ and logs/bridge.log)", cmd.id),
                )
                .field("id")
                .hint("every command needs a fresh id; replays are refused"),
                id,
                true,
            );
        }
        // A crashed batch's command is finished even if it expired meanwhile.
        if !(leftover && self.runs.contains_key(&cmd.id))
            && let Err(r) = command::check_time(&cmd, self.ctx.clock.now(), self.opts.skew_secs)
        {
            return reject(r, id, true);
        }
        if let Err(r) = command::check_allowed(&cmd) {
            return reject(r, id, true);
        }
        if let Err(r) = self.check_plan(&cmd) {
            return reject(r, id, true);
        }
        Verdict::Accept(Box::new(Accepted { cmd, slot }))
    }

    /// `bridge verify`: run every layer on `bytes` without writing anything,
    /// down to the dry-run plan. Each entry is (layer, Ok(note) | Err(why));
    /// the first `Err` ends the list. Hints never send the reader to
    /// `bridge verify`, which they are running.
    /// `in_inbox`: the file is in `commands/`, so its name must be `<id>.json`.
    pub fn explain(
        &self,
        name: &str,
        bytes: &[u8],
        in_inbox: bool,
    ) -> Vec<(&'static str, Result<String, Rejection>)> {
        let mut out = self.explain_layers(name, bytes, in_inbox);
        for (_, r) in &mut out {
            if let Err(rej) = r {
                rej.hint = rej.hint.take().map(|h| {
                    match h.split_once("; `warden bridge verify FILE` explains") {
                        Some((head, tail)) if rej.reason == Reason::HmacMismatch => format!(
                            "{head}{tail}: check that the secret (GPT_BRIDGE_HMAC_SECRET_FILE or GPT_BRIDGE_HMAC_SECRET, and …_NEXT / …_PREV during a rotation) is the signer's, or re-sign with `warden bridge sign FILE --in-place`"
                        ),
                        Some((head, tail)) => format!("{head}{tail}"),
                        None => h,
                    }
                });
            }
        }
        out
    }

    fn explain_layers(
        &self,
        name: &str,
        bytes: &[u8],
        in_inbox: bool,
    ) -> Vec<(&'static str, Result<String, Rejection>)> {
        let mut out = Vec::new();
        if name.starts_with('.') {
            out.push((
                "file",
                Err(Rejection::new(
                    Reason::Hidden,
                    format!("{name} has a hidden name"),
                )),
            ));
            return out;
        }
        if bytes.is_empty() {
            out.push((
                "file",
                Err(Rejection::new(Reason::Empty, "the file is empty")),
            ));
            return out;
        }
        if bytes.len() as u64 > self.opts.max_bytes {
            out.push((
                "file",
                Err(Rejection::new(
                    Reason::TooLarge,
                    format!(
                        "{} bytes; the limit is {}",
                        bytes.len(),
                        self.opts.max_bytes
                    ),
                )),
            ));
            return out;
        }
        out.push((
            "file",
            Ok(format!(
                "{} bytes, sha256 {}",
                bytes.len(),
                Digest::of(bytes)
            )),
        ));
        let doc = match command::parse_json(bytes) {
            Ok(d) => d,
            Err(r) => {
                out.push(("json", Err(r)));
                return out;
            }
        };
        out.push(("json", Ok("parsed; no duplicate keys".into())));
        match command::authenticate(&doc, self.secrets) {
            Ok(slot) => out.push((
                "hmac",
                Ok(format!(
                    "matches the {} secret",
                    self.secrets.slot_name(slot)
                )),
            )),
            Err(r) => {
                out.push(("hmac", Err(r)));
                return out;
            }
        }
        let cmd = match command::parse_command(&doc) {
            Ok(c) => c,
            Err(r) => {
                out.push(("schema", Err(r)));
                return out;
            }
        };
        out.push((
            "schema",
            Ok(format!(
                "id {}, {} op(s){}",
                cmd.id,
                cmd.ops.len(),
                if cmd.diff.is_some() { " + diff" } else { "" }
            )),
        ));
        match check_name(name, &cmd.id) {
            Ok(()) => out.push(("name", Ok(format!("{name} matches the id")))),
            // A draft outside the inbox may have any name; say what it
            // must be called when it is dropped in.
            Err(_) if !in_inbox => out.push((
                "name",
                Ok(format!("drop it into commands/ as {}.json", cmd.id)),
            )),
            Err(r) => {
                out.push(("name", Err(r)));
                return out;
            }
        }
        if let Err(r) = command::check_time(&cmd, self.ctx.clock.now(), self.opts.skew_secs) {
            out.push(("time", Err(r)));
            return out;
        }
        out.push((
            "time",
            Ok(format!(
                "{} .. {} (skew {}s)",
                cmd.issued_at_text, cmd.expires_at_text, self.opts.skew_secs
            )),
        ));
        if self.used.contains(&cmd.id)
            || self.runs.contains_key(&cmd.id)
            || self.layout.archive(&cmd.id).exists()
        {
            out.push((
                "replay",
                Err(Rejection::new(
                    Reason::DuplicateId,
                    format!("id \"{}\" was already processed", cmd.id),
                )),
            ));
            return out;
        }
        out.push(("replay", Ok("id not seen before".into())));
        if let Err(r) = command::check_allowed(&cmd) {
            out.push(("allowed", Err(r)));
            return out;
        }
        out.push((
            "allowed",
            Ok(format!("ops within [{}]", cmd.allowed_actions.join(", "))),
        ));
        if let Err(r) = self.check_plan(&cmd) {
            out.push(("validationPlan", Err(r)));
            return out;
        }
        if !cmd.validation_plan.is_empty() {
            out.push((
                "validationPlan",
                Ok(format!(
                    "checks [{}] are defined in meta/bridge.json",
                    cmd.validation_plan.join(", ")
                )),
            ));
        }
        let actions = match ops::actions(&cmd, &self.target) {
            Ok(a) => a,
            Err(r) => {
                out.push(("paths", Err(r)));
                return out;
            }
        };
        out.push((
            "paths",
            Ok(format!(
                "{} action(s) inside {}",
                actions.len(),
                self.target.root.display()
            )),
        ));
        if actions.is_empty() {
            out.push((
                "dry-run",
                Ok("no-op: nothing to change; it will be ledgered as a recorded run".into()),
            ));
            return out;
        }
        let value = ops::proposal(&cmd, actions);
        let plan = Proposal::from_value_remote(&value, name).and_then(|(p, d)| {
            p.refuse_content_file(name)?;
            warden_core::plan::resolve(self.repo.root(), &self.repo.policy, &p, d, name, "DRYRUN")
        });
        match plan {
            Err(e) => out.push(("dry-run", Err(core_rejection(&e)))),
            Ok(p) if p.counts.files > cmd.max_files_changed => out.push((
                "dry-run",
                Err(Rejection::new(
                    Reason::ConstraintViolation,
                    format!(
                        "changes {} file(s); constraints.maxFilesChanged is {}",
                        p.counts.files, cmd.max_files_changed
                    ),
                )),
            )),
            Ok(p) => out.push((
                "dry-run",
                Ok(format!(
                    "{} file(s) would change (+{} -{} lines)",
                    p.counts.files, p.counts.lines_added, p.counts.lines_removed
                )),
            )),
        }
        out
    }

    /// Every step of the command's `validationPlan` names a defined check.
    fn check_plan(&self, cmd: &Command) -> Result<(), Rejection> {
        for (i, name) in cmd.validation_plan.iter().enumerate() {
            if !self.checks.contains_key(name) {
                let known: Vec<&str> = self.checks.keys().map(String::as_str).collect();
                return Err(Rejection::new(
                    Reason::UnknownCheck,
                    format!(
                        "validationPlan names check \"{name}\", which meta/bridge.json does not define (defined: {})",
                        if known.is_empty() { "none".to_string() } else { known.join(", ") }
                    ),
                )
                .field(format!("validationPlan[{i}]"))
                .hint("the operator defines checks in meta/bridge.json under \"checks\" (name → argv); see docs/bridge.md"));
            }
        }
        Ok(())
    }

    fn dead_letter_key(&self, base: &str, taken: &BTreeSet<String>) -> String {
        let free = |k: &str| !self.dl_keys.contains(k) && !taken.contains(k);
        if free(base) {
            return base.to_string();
        }
        (2..)
            .map(|n| format!("{base}.{n}"))
            .find(|k| free(k))
            .unwrap_or_else(|| base.to_string())
    }

    /// Open, check and read one file through one descriptor
    /// ([`inbox::open_verified`]), then verify its content.
    fn take(
        &self,
        name: &str,
        leftovers: &BTreeMap<String, MarkerItem>,
        in_batch: &BTreeSet<String>,
    ) -> std::io::Result<Item> {
        let started = Instant::now();
        let mut item = Item {
            file: name.to_string(),
            bytes: None,
            fd: None,
            identity: None,
            kind: inbox::Kind::Regular,
            size: 0,
            sha256: None,
            received_at: String::new(),
            started,
            verdict: Verdict::Reject {
                rej: Rejection::new(Reason::Empty, ""),
                id: None,
                hmac_ok: false,
            },
            key: String::new(),
            leftover: false,
        };
        let file_reject = |rej: Rejection| Verdict::Reject {
            rej,
            id: None,
            hmac_ok: false,
        };
        let own_link = name
            .strip_suffix(".json")
            .filter(|id| command::valid_id(id))
            .map(|id| self.layout.archive(id));
        match inbox::open_verified(
            &self.layout.commands(),
            name,
            self.opts.max_bytes,
            own_link.as_deref(),
        ) {
            Err(e) => return Err(e),
            Ok(inbox::Taken::Refused(refused)) => {
                // Refused at the file layer: nothing of it was read.
                item.received_at = refused.modified.map(ts_of).unwrap_or_default();
                item.size = refused.size;
                item.kind = refused.kind;
                item.identity = refused.identity;
                item.verdict = file_reject(refused.rejection);
            }
            Ok(inbox::Taken::Verified(v)) => {
                item.received_at = v.modified.map(ts_of).unwrap_or_default();
                item.size = v.bytes.len() as u64;
                item.identity = Some(v.identity);
                let digest = Digest::of(&v.bytes).to_string();
                if name.starts_with('.') {
                    item.verdict = file_reject(
                        Rejection::new(
                            Reason::Hidden,
                            format!(
                                "commands/{name} has a hidden name; hidden files are never commands"
                            ),
                        )
                        .hint(
                            "name commands <id>.json; write to a temp name outside commands/ and rename in",
                        ),
                    );
                } else {
                    item.leftover = leftovers.get(name).is_some_and(|m| m.sha256 == digest);
                    item.verdict = self.verify(name, &v.bytes, item.leftover, in_batch);
                }
                item.sha256 = Some(digest);
                item.bytes = Some(v.bytes);
                item.fd = Some(v.file);
            }
        }
        Ok(item)
    }

    /// Process one batch of files; returns the reports and the flush count.
    fn batch(
        &mut self,
        files: &[String],
        leftovers: &BTreeMap<String, MarkerItem>,
    ) -> std::io::Result<(Vec<ItemReport>, u64)> {
        let mut w = Writer::new(self.opts.durability);
        let mut items = Vec::new();
        let mut in_batch = BTreeSet::new();
        let mut taken_keys = BTreeSet::new();
        for name in files {
            let mut item = match self.take(name, leftovers, &in_batch) {
                Ok(i) => i,
                // Gone meanwhile (another process, or an operator): skip it.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            let marker_key = leftovers
                .get(name)
                .filter(|_| item.leftover)
                .map(|m| m.key.clone());
            item.key = match &item.verdict {
                Verdict::Accept(a) => {
                    in_batch.insert(a.cmd.id.clone());
                    a.cmd.id.clone()
                }
                Verdict::Reject { id, .. } => match marker_key {
                    Some(k) => k,
                    None => {
                        let base = id
                            .clone()
                            .unwrap_or_else(|| sanitize_key(name.trim_end_matches(".json")));
                        self.dead_letter_key(&base, &taken_keys)
                    }
                },
            };
            taken_keys.insert(item.key.clone());
            items.push(item);
        }
        if items.is_empty() {
            return Ok((Vec::new(), 0));
        }
        if w.mode == Durability::Group {
            let marker = Marker {
                schema: "warden.bridge-batch/v1".into(),
                items: items
                    .iter()
                    .map(|i| MarkerItem {
                        file: i.file.clone(),
                        sha256: i.sha256.clone().unwrap_or_default(),
                        key: i.key.clone(),
                        accepted: matches!(i.verdict, Verdict::Accept(_)),
                    })
                    .collect(),
            };
            self.write_marker(&marker, &mut w)?;
        }
        fail("bridge.after_marker")?;
        let applied = self.apply_all(&items, &mut w)?;
        fail("bridge.after_apply")?;
        let mut reports = Vec::new();
        let mut log = Vec::new();
        let mut deferred = BTreeSet::new();
        for (item, applied) in items.iter().zip(applied) {
            if matches!(applied, Some(Applied::Deferred)) {
                deferred.insert(item.file.clone());
                continue;
            }
            let r = self.write_outputs(item, applied, &mut w, &mut log)?;
            reports.push(r);
        }
        w.append(&self.layout.log(), &log)?;
        fail("bridge.after_outputs")?;
        w.commit(&self.layout.root)?;
        fail("bridge.after_sync")?;
        for (n, item) in items
            .iter()
            .filter(|i| !deferred.contains(&i.file))
            .enumerate()
        {
            let path = self.layout.commands().join(&item.file);
            // A name that now holds something else (swapped in after it was
            // taken) is left for the next pass, never removed unread.
            if item.identity.is_none_or(|id| inbox::still_names(&path, id)) {
                w.remove(&path)?;
            }
            if n == 0 {
                fail("bridge.after_first_remove")?;
            }
        }
        fail("bridge.after_removes")?;
        if w.mode == Durability::Group {
            self.clear_marker();
        }
        self.deferred.extend(deferred);
        Ok((reports, w.flushes))
    }

    /// Apply every accepted command of the batch under one session.
    fn apply_all(
        &mut self,
        items: &[Item],
        w: &mut Writer,
    ) -> std::io::Result<Vec<Option<Applied>>> {
        let mut out: Vec<Option<Applied>> = items.iter().map(|_| None).collect();
        if !items
            .iter()
            .any(|i| matches!(i.verdict, Verdict::Accept(_)))
        {
            return Ok(out);
        }
        let io = |e: warden_core::Error| std::io::Error::other(e.to_string());
        // The target cannot be opened (its recovery cannot finish): every
        // accepted command waits in commands/ — none is lost, none is
        // dead-lettered for a fault that is not its own.
        let mut session = match self.repo.session(self.ctx, true, &mut |_| {}) {
            Ok(s) => s,
            Err(e) => {
                self.target_error = Some(ops::core_message(&e));
                for (i, item) in items.iter().enumerate() {
                    if matches!(item.verdict, Verdict::Accept(_)) {
                        out[i] = Some(Applied::Deferred);
                    }
                }
                return Ok(out);
            }
        };
        let mut records: Vec<(usize, Record)> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let Verdict::Accept(a) = &item.verdict else {
                continue;
            };
            let cmd = &a.cmd;
            // Already ledgered by a crashed batch: re-derive, never re-apply.
            if let Some(run) = self.runs.get(&cmd.id).filter(|_| item.leftover) {
                let e = self
                    .repo
                    .ledger()
                    .find_run(run)
                    .map_err(|e| std::io::Error::other(e.to_string()))?
                    .ok_or_else(|| {
                        std::io::Error::other(format!(
                            "run {run} of command {} is not in the ledger",
                            cmd.id
                        ))
                    })?;
                out[i] = Some(self.rederive(&e));
                continue;
            }
            let actions = match ops::actions(cmd, &self.target) {
                Ok(a) => a,
                Err(r) => {
                    out[i] = Some(Applied::Failed(r));
                    continue;
                }
            };
            let digest = Digest::of(item.bytes.as_deref().unwrap_or_default());
            let record = |status: &str, run: String| Record {
                run,
                command: "bridge".into(),
                actor: Source {
                    kind: "bridge".into(),
                    id: cmd.id.clone(),
                },
                event: "CommandReceived".into(),
                input_digest: digest,
                rationale: Some(format!("signed command {}", cmd.id)),
                details: Some(
                    serde_json::json!({"bridge": {"status": status, "ops": cmd.ops.iter().map(Op::name).collect::<Vec<_>>()}}),
                ),
                artifacts: Vec::new(),
            };
            if actions.is_empty() {
                records.push((i, record("recorded", session.new_run_id())));
                continue;
            }
            let value = ops::proposal(cmd, actions);
            let file = format!("commands/{}", item.file);
            let plan = Proposal::from_value_remote(&value, &file).and_then(|(p, d)| {
                p.refuse_content_file(&file)?;
                session.plan(&p, d, &file)
            });
            let plan = match plan {
                Ok(p) => p,
                Err(e) => {
                    out[i] = Some(Applied::Failed(core_rejection(&e)));
                    continue;
                }
            };
            if plan.counts.files > cmd.max_files_changed {
                out[i] = Some(Applied::Failed(
                    Rejection::new(
                        Reason::ConstraintViolation,
                        format!(
                            "the dry-run diff changes {} file(s); constraints.maxFilesChanged is {}",
                            plan.counts.files, cmd.max_files_changed
                        ),
                    )
                    .field("constraints.maxFilesChanged"),
                ));
                continue;
            }
            if plan.noop.is_some() {
                records.push((i, record("unchanged", session.new_run_id())));
                continue;
            }
            let deadline = item.started + std::time::Duration::from_millis(cmd.max_runtime_ms);
            if Instant::now() >= deadline {
                out[i] = Some(Applied::Failed(runtime(cmd, item.started, false)));
                continue;
            }
            let opts = ApplyOptions {
                deadline: Some(deadline),
                extra_validation: cmd
                    .validation_plan
                    .iter()
                    .filter_map(|n| self.checks.get(n).cloned())
                    .collect(),
            };
            let outcome = match session.apply_with(&plan, &opts) {
                Ok(o) => o,
                Err(e) if e.refusal() == Some(warden_core::error::Refusal::Deadline) => {
                    out[i] = Some(Applied::Failed(runtime(cmd, item.started, false)));
                    continue;
                }
                Err(e) => {
                    // The engine failed this command's run part-way: it is
                    // dead-lettered, and the session is opened again so the
                    // engine's recovery settles that run (rolled back and
                    // ledgered) before the next command is applied.
                    let mut rej = core_rejection(&e);
                    rej.reason = Reason::ApplyFailed;
                    drop(session);
                    match self.repo.session(self.ctx, true, &mut |_| {}) {
                        Ok(s) => {
                            session = s;
                            for r in session.recovered.iter().filter(|r| r.run == plan.run) {
                                rej.detail.push_str(&format!(
                                    "; run {} was {} by the engine's recovery",
                                    r.run,
                                    r.outcome.describe()
                                ));
                            }
                            out[i] = Some(Applied::Failed(rej));
                            continue;
                        }
                        Err(re) => {
                            let why = ops::core_message(&re);
                            rej.detail.push_str(&format!(
                                "; the target's recovery of run {} could not finish: {why}",
                                plan.run
                            ));
                            self.target_error = Some(why);
                            out[i] = Some(Applied::Failed(rej));
                            // The others (and the records gathered so far,
                            // which cannot be written now) wait in commands/.
                            for (j, item) in items.iter().enumerate() {
                                if matches!(item.verdict, Verdict::Accept(_))
                                    && (out[j].is_none() || records.iter().any(|(k, _)| *k == j))
                                {
                                    out[j] = Some(Applied::Deferred);
                                }
                            }
                            return Ok(out);
                        }
                    }
                }
            };
            // Rolled back or not, the run is this command's answer.
            self.runs.insert(cmd.id.clone(), outcome.entry.run.clone());
            if outcome.deadline_exceeded {
                out[i] = Some(Applied::Failed(runtime(cmd, item.started, true)));
                continue;
            }
            if let Some(v) = outcome.validation_failure {
                out[i] = Some(Applied::Failed(
                    Rejection::new(
                        Reason::ValidationFailed,
                        format!(
                            "validation failed; run {} was rolled back before it committed: {}",
                            plan.run,
                            v.lines().last().unwrap_or("")
                        ),
                    )
                    .hint(format!(
                        "the validation output is in {}",
                        self.repo
                            .layout
                            .run_dir(&plan.run)
                            .join("validation.log")
                            .display()
                    )),
                ));
                continue;
            }
            out[i] = Some(Applied::Done {
                status: "applied".into(),
                run: plan.run.clone(),
                counts: outcome.entry.counts.clone(),
                diff: plan.diff.clone(),
                paths: plan.changes.iter().map(|c| c.path.to_string()).collect(),
                recovered: false,
            });
        }
        if !records.is_empty() {
            let (idx, recs): (Vec<usize>, Vec<Record>) = match w.mode {
                Durability::Group => records.into_iter().unzip(),
                Durability::PerFile => records.into_iter().unzip(),
            };
            let entries = match w.mode {
                Durability::Group => {
                    w.flushes += 1;
                    session.record_many(recs).map_err(io)?
                }
                Durability::PerFile => {
                    // One ledger append and fsync per command, as a
                    // one-at-a-time executor would.
                    let mut v = Vec::new();
                    for r in recs {
                        w.flushes += 1;
                        v.extend(session.record_many(vec![r]).map_err(io)?);
                    }
                    v
                }
            };
            for (i, e) in idx.into_iter().zip(entries) {
                let status = e
                    .details
                    .as_ref()
                    .and_then(|d| d["bridge"]["status"].as_str())
                    .unwrap_or("recorded")
                    .to_string();
                self.runs.insert(e.actor.id.clone(), e.run.clone());
                out[i] = Some(Applied::Done {
                    status,
                    run: e.run.clone(),
                    counts: e.counts.clone(),
                    diff: String::new(),
                    paths: Vec::new(),
                    recovered: false,
                });
            }
        }
        Ok(out)
    }

    /// Outputs of a command whose run is already in the ledger.
    fn rederive(&self, e: &Entry) -> Applied {
        let status = match e.result {
            RunResult::Applied => "applied".to_string(),
            RunResult::RolledBack => {
                let why = e.reason.clone().unwrap_or_default();
                use warden_core::ledger::RollbackCause as C;
                let reason = match e.rollback_cause() {
                    Some(C::Deadline) => Reason::RuntimeExceeded,
                    Some(C::Validation) => Reason::ValidationFailed,
                    Some(C::ApplyFailed | C::Interrupted) | None => Reason::ApplyFailed,
                };
                return Applied::Failed(Rejection::new(
                    reason,
                    format!(
                        "run {} was rolled back before it committed: {why} (re-derived after a restart)",
                        e.run
                    ),
                ));
            }
            RunResult::Recorded => e
                .details
                .as_ref()
                .and_then(|d| d["bridge"]["status"].as_str())
                .unwrap_or("recorded")
                .to_string(),
        };
        let diff = std::fs::read_to_string(self.repo.layout.run_dir(&e.run).join("diff.patch"))
            .unwrap_or_default();
        Applied::Done {
            status,
            run: e.run.clone(),
            counts: e.counts.clone(),
            diff,
            paths: e
                .load_changes(self.repo.root())
                .unwrap_or_default()
                .iter()
                .map(|c| c.path.clone())
                .collect(),
            recovered: true,
        }
    }

    fn write_outputs(
        &mut self,
        item: &Item,
        applied: Option<Applied>,
        w: &mut Writer,
        log: &mut Vec<u8>,
    ) -> std::io::Result<ItemReport> {
        let now = self.ctx.clock.now().to_string();
        let duration_ms = item.started.elapsed().as_millis() as u64;
        let (rej, id, hmac_ok) = match (&item.verdict, applied) {
            (
                Verdict::Accept(a),
                Some(Applied::Done {
                    status,
                    run,
                    counts,
                    diff,
                    paths,
                    recovered,
                }),
            ) => {
                let cmd = &a.cmd;
                let id = cmd.id.clone();
                let diff_rel = format!("diffs/{id}.patch");
                let result = ResultDoc {
                    schema: "warden.bridge-result/v1",
                    id: id.clone(),
                    status: status.clone(),
                    exit_code: 0,
                    run: run.clone(),
                    action: cmd.action.clone(),
                    patch_type: match cmd.patch_type {
                        command::PatchType::Hybrid => "hybrid",
                        command::PatchType::Ops => "ops",
                        command::PatchType::Unified => "unified",
                    }
                    .into(),
                    ops: cmd
                        .ops
                        .iter()
                        .map(|o| o.name().to_string())
                        .chain(cmd.diff.as_ref().map(|_| "diff".to_string()))
                        .collect(),
                    timings: Timings {
                        issued_at: cmd.issued_at_text.clone(),
                        received_at: item.received_at.clone(),
                        executed_at: now.clone(),
                        duration_ms,
                    },
                    counters: Counters::from(&counts),
                    constraints: cmd.constraints_json(),
                    constraints_ok: ConstraintsOk {
                        max_files_changed: counts.files <= cmd.max_files_changed,
                        max_runtime_ms: duration_ms <= cmd.max_runtime_ms || recovered,
                    },
                    hmac_ok: true,
                    secret: self.secrets.slot_name(a.slot),
                    input_sha256: item.sha256.clone().unwrap_or_default(),
                    diff: diff_rel,
                    paths,
                    recovered,
                };
                let result_bytes = pretty(&result);
                let integrity = IntegrityDoc {
                    schema: "warden.bridge-integrity/v1",
                    id: id.clone(),
                    input_sha256: result.input_sha256.clone(),
                    result_sha256: Digest::of(&result_bytes).to_string(),
                    diff_sha256: Digest::of(diff.as_bytes()).to_string(),
                    issued_at: cmd.issued_at_text.clone(),
                    executed_at: now.clone(),
                    duration_ms,
                    files_changed: counts.files,
                    constraints: cmd.constraints_json(),
                    limits_ok: result.constraints_ok.max_files_changed
                        && result.constraints_ok.max_runtime_ms,
                    hmac_ok: true,
                    exit_code: 0,
                    run: run.clone(),
                };
                w.put(&self.layout.diff(&id), diff.as_bytes())?;
                w.put(&self.layout.result(&id), &result_bytes)?;
                w.put(&self.layout.integrity(&id), &pretty(&integrity))?;
                w.put_verified(
                    item.fd.as_ref(),
                    &self.layout.archive(&id),
                    item.bytes.as_deref().unwrap_or_default(),
                )?;
                self.used.insert(id.clone());
                let line = LogLine {
                    ts: now,
                    id: id.clone(),
                    action: cmd.action.clone(),
                    result: status.clone(),
                    exit: 0,
                    files_changed: counts.files,
                    hmac_ok: true,
                    reason: None,
                    run: Some(run.clone()),
                };
                log.extend(serde_json::to_vec(&line).unwrap_or_default());
                log.push(b'\n');
                return Ok(ItemReport {
                    file: item.file.clone(),
                    id,
                    outcome: ItemOutcome::Archived,
                    status: Some(status),
                    reason: None,
                    detail: None,
                    exit_code: 0,
                    run: Some(run),
                    recovered,
                });
            }
            (Verdict::Accept(a), Some(Applied::Failed(rej))) => (rej, Some(a.cmd.id.clone()), true),
            (Verdict::Accept(a), None | Some(Applied::Deferred)) => (
                Rejection::new(Reason::ApplyFailed, "internal: the command was not applied"),
                Some(a.cmd.id.clone()),
                true,
            ),
            (Verdict::Reject { rej, id, hmac_ok }, _) => (rej.clone(), id.clone(), *hmac_ok),
        };
        let (text, b64) = match &item.bytes {
            Some(b) => match std::str::from_utf8(b) {
                Ok(t) => (Some(t.to_string()), None),
                Err(_) => {
                    use base64::Engine as _;
                    (
                        None,
                        Some(base64::engine::general_purpose::STANDARD.encode(b)),
                    )
                }
            },
            None => (None, None),
        };
        let exit_code = exit_code_for(rej.reason);
        let doc = DeadLetterDoc {
            schema: "warden.bridge-dead-letter/v1",
            id: id.clone(),
            file: format!("commands/{}", item.file),
            reason: rej.reason,
            layer: rej.reason.layer(),
            field: rej.field.clone(),
            detail: rej.detail.clone(),
            hint: rej.hint.clone(),
            exit_code,
            hmac_ok,
            received_at: item.received_at.clone(),
            rejected_at: now.clone(),
            size: item.size,
            file_type: item.kind.as_str(),
            input_sha256: item.sha256.clone(),
            original_text: text,
            original_base64: b64,
            recovered: item.leftover,
        };
        w.put(&self.layout.dead_letter(&item.key), &pretty(&doc))?;
        self.dl_keys.insert(item.key.clone());
        if hmac_ok && let Some(id) = &id {
            self.used.insert(id.clone());
        }
        let line = LogLine {
            ts: now,
            id: id.clone().unwrap_or_else(|| item.key.clone()),
            action: match &item.verdict {
                Verdict::Accept(a) => a.cmd.action.clone(),
                Verdict::Reject { .. } => "-".into(),
            },
            result: "dead_letter".into(),
            exit: exit_code,
            files_changed: 0,
            hmac_ok,
            reason: Some(rej.reason.as_str().into()),
            run: None,
        };
        log.extend(serde_json::to_vec(&line).unwrap_or_default());
        log.push(b'\n');
        Ok(ItemReport {
            file: item.file.clone(),
            id: item.key.clone(),
            outcome: ItemOutcome::DeadLetter,
            status: None,
            reason: Some(rej.reason),
            detail: Some(rej.detail),
            exit_code,
            run: None,
            recovered: item.leftover,
        })
    }
}

/// A command travels as `<id>.json`: the name the sender chose must be the
/// one its signature covers, so a file name can never pass one command off
/// as another (outputs, dead letters and logs are keyed by the id).
fn check_name(name: &str, id: &str) -> Result<(), Rejection> {
    let base = Path::new(name)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if base == format!("{id}.json") {
        return Ok(());
    }
    Err(Rejection::new(
        Reason::IdMismatch,
        format!("the file is named {base}, but the command's id is \"{id}\""),
    )
    .field("id")
    .hint(format!("name the file {id}.json (commands are <id>.json)")))
}

fn runtime(cmd: &Command, started: Instant, undone: bool) -> Rejection {
    Rejection::new(
        Reason::RuntimeExceeded,
        format!(
            "processing took {} ms; constraints.maxRuntimeMs is {}{}",
            started.elapsed().as_millis(),
            cmd.max_runtime_ms,
            if undone {
                "; the change was rolled back before it committed (the ledger records the run as rolled_back)"
            } else {
                "; nothing was applied"
            }
        ),
    )
    .field("constraints.maxRuntimeMs")
}
