//! The transaction engine (G1, G5, G6): apply a plan as one atomic,
//! journaled, ledgered run; recover interrupted runs; undo runs.
//!
//! A run, and the fsyncs of a one-file run:
//! 1. re-check every before-state against the disk (the plan may be stale);
//! 2. append the intent frame (before-states with content, after digests) to
//!    the journal and fsync it — (1) — this is also the rollback handle;
//! 3. stage each new content in a temp file beside its target, fsync — (2);
//! 4. rename temps over targets / unlink deleted paths, fsync each directory — (3);
//! 5. run the policy's validation command (and any extra ones of
//!    [`ApplyOptions`]); on failure restore the before-state;
//!    with a deadline ([`ApplyOptions`]): a validation command still running
//!    at the deadline is killed, and a run past its deadline here is restored
//!    too — it is ledgered `rolled_back`, never `applied`;
//! 6. append the ledger entry and fsync — (4): **the commit point**;
//! 7. append a done frame (no fsync) and write the run's report.
//!
//! Any real failure after the intent (steps 3–5, or a validation step that
//! cannot run) is rolled back at once and ledgered `rolled_back`: a change is
//! never left on disk without a ledger entry. Temp names are short
//! (`.warden-<RUN>-<n>.tmp`) whatever the length of the file's name. The
//! intent also records the directories above the changed paths, so rollback
//! and undo put directories back with their modes.
//!
//! Recovery, at the start of every session: a last journal frame that is an
//! intent means a run was interrupted. If its ledger entry exists the run had
//! committed and is completed (forward); otherwise every path is restored to its
//! before-state (back) — a path found in neither state is first preserved in the
//! quarantine lane — and the rollback is ledgered. A rollback that cannot
//! proceed is an [`Error::RecoveryBlocked`] naming the path and the fix.

use crate::content::Content;
use crate::context::Context;
use crate::digest::Digest;
use crate::error::{Error, IoContext, Result};
use crate::failpoint::hit;
use crate::fsutil;
use crate::journal::{
    self, DirRecord, Frame, FrameHeader, FrameRef, Intent, Journal, StateRecord, Tail,
    TransitionRecord, Written,
};
use crate::ledger::{Entry, LEDGER_SCHEMA_ID, RollbackCause, RollbackHandle, RunResult};
use crate::lock::{self, RepoLock};
use crate::paths::{QUARANTINE_DIR, RepoPath};
use crate::plan::{self, Change, FileState, Noop, Plan};
use crate::proposal::{Proposal, Source};
use crate::repo::Repo;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

mod apply;
mod record;
mod recover;
mod undo;

pub use apply::RunArtifact;
pub use record::{Record, RecordArtifact};

/// What recovery did at the start of a session.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Recovered {
    pub run: String,
    pub outcome: RecoveryOutcome,
    /// Paths found in neither the before- nor the after-state, preserved in quarantine.
    pub preserved: Vec<String>,
}

/// What recovery did with an interrupted run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecoveryOutcome {
    /// It had committed; only its done frame was missing.
    Completed,
    /// It had not committed; its before-state was restored and it was ledgered
    /// `rolled_back`.
    RolledBack,
}

impl RecoveryOutcome {
    /// "completed" or "rolled back", for messages.
    pub fn describe(self) -> &'static str {
        match self {
            RecoveryOutcome::Completed => "completed",
            RecoveryOutcome::RolledBack => "rolled back",
        }
    }
}

/// The result of applying a plan.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub entry: Entry,
    /// Output of a failed validation command (the run was rolled back).
    pub validation_failure: Option<String>,
    /// The deadline of [`ApplyOptions`] passed before the commit point: the
    /// run was rolled back (ledgered `rolled_back`, never `applied`).
    pub deadline_exceeded: bool,
}

/// Options of [`Session::apply_with`].
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// When this instant passes before the commit point (the ledger append),
    /// the run is rolled back instead of committed; validation commands still
    /// running then are killed.
    pub deadline: Option<std::time::Instant>,
    /// Validation commands run after the policy's own (argv each, in the
    /// repository root, same log, same limit): the first that fails rolls the
    /// run back, like the policy's.
    pub extra_validation: Vec<Vec<String>>,
}

/// The reason prefix of a run rolled back because its deadline passed.
pub const DEADLINE_REASON: &str = "deadline exceeded";

/// A writer's session: holds the repository lock; recovery has run.
pub struct Session<'a> {
    pub repo: &'a Repo,
    ctx: &'a Context,
    journal: Journal,
    _lock: RepoLock,
    pub recovered: Vec<Recovered>,
}

/// Whether an interrupted run is waiting for recovery (read-only check).
pub fn needs_recovery(repo: &Repo) -> Result<bool> {
    let j = Journal::open(&repo.layout.journal())?;
    Ok(match j.tail()? {
        Tail::Empty => false,
        Tail::Torn => true,
        Tail::Frame(f) => matches!(f.header, FrameHeader::Intent(_)),
    })
}

/// The temp file beside `path` that transition `n` of run `run` stages its
/// content in: `.warden-<RUN>-<n>.tmp`, at most 47 bytes, whatever the length of
/// the file's own name (NAME_MAX is 255). `tag` tells the apply's temps
/// (`""`) from a rollback's (`"r"`).
fn temp_for(path: &RepoPath, run: &str, tag: &str, n: usize) -> RepoPath {
    let name = format!(".warden-{run}-{tag}{n}.tmp");
    match path.parent() {
        Some(p) => RepoPath::from_trusted(format!("{p}/{name}")),
        None => RepoPath::from_trusted(name),
    }
}

/// Put directories into the recorded states: those recorded absent are
/// removed when empty (deepest first); those recorded with a mode are
/// created if missing and given that mode (outermost first). A directory that
/// `existed` (the current run's own before-states) says was there before this
/// run keeps its mode: a run never changes a directory's mode, so a different
/// one was set by someone since. Records every directory whose entry list
/// changed in `synced`.
fn settle_dirs(
    root: &Path,
    records: &[DirRecord],
    existed: &[DirRecord],
    synced: &mut BTreeSet<PathBuf>,
) -> std::result::Result<(), Box<(RepoPath, Error)>> {
    for r in records.iter().rev().filter(|r| r.mode.is_none()) {
        let fs = r.path.to_fs(root);
        if std::fs::symlink_metadata(&fs).is_ok_and(|m| m.is_dir())
            && std::fs::remove_dir(&fs).is_ok()
        {
            synced.insert(parent_dir(root, &r.path));
        }
    }
    for r in records {
        let Some(mode) = r.mode else { continue };
        let fs = r.path.to_fs(root);
        let at = |e: Error| Box::new((r.path.clone(), e));
        // Its mode before this run, if it was there (this run may have
        // removed it on the way, as it became empty).
        let had = existed
            .iter()
            .find(|e| e.path == r.path)
            .and_then(|e| e.mode);
        match std::fs::symlink_metadata(&fs) {
            Ok(m) if m.is_dir() => {
                if had.is_none() && fsutil::mode_of(&m) != mode {
                    fsutil::set_mode(&fs, mode).map_err(at)?;
                }
            }
            Ok(_) => {
                return Err(at(Error::invalid(
                    "(working tree)",
                    r.path.as_str(),
                    format!(
                        "\"{}\" must be a directory again, but a file is there",
                        r.path
                    ),
                    None,
                )));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                fsutil::create_dir_with_mode(&fs, had.unwrap_or(mode)).map_err(at)?;
                synced.insert(parent_dir(root, &r.path));
            }
            Err(e) => return Err(e).io("inspect", &fs).map_err(at),
        }
    }
    Ok(())
}

fn parent_dir(root: &Path, path: &RepoPath) -> PathBuf {
    path.parent()
        .map_or_else(|| root.to_path_buf(), |p| p.to_fs(root))
}

/// Create the parent directories of `path`; record every directory whose entry
/// list changed so it can be fsynced.
fn create_parents(root: &Path, path: &RepoPath, dirs: &mut BTreeSet<PathBuf>) -> Result<()> {
    let parent = parent_dir(root, path);
    let mut missing = Vec::new();
    let mut cur = parent.as_path();
    while !cur.exists() {
        missing.push(cur.to_path_buf());
        match cur.parent() {
            Some(p) => cur = p,
            None => break,
        }
    }
    for d in missing.iter().rev() {
        std::fs::create_dir(d).io("create dir", d)?;
        if let Some(p) = d.parent() {
            dirs.insert(p.to_path_buf());
        }
    }
    Ok(())
}

/// The path of content store entry `name`, refusing a name no run wrote.
fn store_entry(store: &Path, name: &str) -> Result<PathBuf> {
    if !crate::store::valid(name) {
        return Err(Error::Corrupt {
            path: store.to_path_buf(),
            message: format!("the journal names a content store entry {name:?}"),
        });
    }
    Ok(crate::store::path(store, name))
}

impl Repo {
    /// Take the write lock (waiting, or failing with `Busy` when `wait` is
    /// false) and run recovery.
    pub fn session<'a>(
        &'a self,
        ctx: &'a Context,
        wait: bool,
        on_wait: &mut dyn FnMut(&str),
    ) -> Result<Session<'a>> {
        let mut s = self.repair_session(ctx, wait, on_wait)?;
        // Before anything is appended (recovery may append): never chain onto
        // a cut or edited ledger tip.
        self.ledger().guard(&self.writer)?;
        s.recovered = s.recover()?;
        Ok(s)
    }

    /// The write lock only: no ledger guard and no recovery. For
    /// `warden ledger accept`, which repairs what the guard refuses; every
    /// other writer uses [`Repo::session`].
    pub fn repair_session<'a>(
        &'a self,
        ctx: &'a Context,
        wait: bool,
        on_wait: &mut dyn FnMut(&str),
    ) -> Result<Session<'a>> {
        let lock = lock::acquire(&self.layout.lock(), &ctx.holder, wait, on_wait)?;
        let journal = Journal::open(&self.layout.journal())?;
        Ok(Session {
            repo: self,
            ctx,
            journal,
            _lock: lock,
            recovered: Vec::new(),
        })
    }
}

impl Session<'_> {
    fn root(&self) -> &Path {
        self.repo.root()
    }

    fn now(&self) -> String {
        self.ctx.clock.now().to_string()
    }

    /// Plan a proposal: policy gate, preconditions, diff. Detects a proposal
    /// that was already applied and whose result is still in place.
    pub fn plan(&self, proposal: &Proposal, digest: Digest, file: &str) -> Result<Plan> {
        let run = self.ctx.ids.run_id().to_string();
        // A proposal whose effects are all present resolves to nothing (write,
        // patch, move, delete) or fails (its quarantined source is gone): only
        // then can it be one that was already applied, so only then is the
        // ledger consulted.
        let resolved = plan::resolve(self.root(), &self.repo.policy, proposal, digest, file, &run);
        if resolved.as_ref().is_ok_and(|p| p.noop.is_none()) {
            return resolved;
        }
        plan::gate(&self.repo.policy, proposal, file)?;
        if let Some(prev) = self.already_applied(digest)? {
            let header = plan::PlanHeader {
                run: &run,
                command: plan::RunCommand::Apply,
                source: proposal.source.clone(),
                event: &proposal.event,
                input_digest: digest,
                undoes: None,
            };
            let mut plan = plan::build(header, Vec::new(), Vec::new());
            plan.noop = Some(Noop::AlreadyApplied { run: prev });
            return Ok(plan);
        }
        resolved
    }

    /// The newest applied `apply` of a proposal with this digest, when its
    /// after-state is still on disk. Each chain is read backwards from its end
    /// and only lines that name the digest are parsed, so a proposal applied
    /// recently is found after reading the chains' tails.
    fn already_applied(&self, digest: Digest) -> Result<Option<String>> {
        let ledger = self.repo.ledger();
        let needle = digest.hex();
        let mut newest: Option<Entry> = None;
        for writer in ledger.writers()? {
            let path = ledger.chain_path(&writer);
            ledger.scan_back(&writer, &mut |line| {
                if !contains(line, needle.as_bytes()) {
                    return Ok(false);
                }
                let e = crate::ledger_index::parse_entry(&path, line)?;
                if e.command != "apply"
                    || e.input_digest != digest
                    || e.result != RunResult::Applied
                {
                    return Ok(false);
                }
                if newest.as_ref().is_none_or(|n| n.run < e.run) {
                    newest = Some(e);
                }
                Ok(true)
            })?;
        }
        let Some(e) = newest else {
            return Ok(None);
        };
        let Ok(changes) = e.load_changes(self.root()) else {
            return Ok(None);
        };
        let in_place = changes.iter().all(|c| {
            let Ok(p) = RepoPath::parse(&c.path, "", "") else {
                return false;
            };
            FileState::read(self.root(), &p)
                .is_ok_and(|s| s.digest() == c.after && s.mode() == c.after_mode)
        });
        Ok(in_place.then(|| e.run.clone()))
    }

    /// The entry `plan` will append. A run of more than
    /// [`INLINE_CHANGES`](crate::ledger::INLINE_CHANGES) paths keeps its
    /// per-file changes in `.runs/<RUN>/changes.json`, written durably here
    /// (before the intent), and the entry references it by digest.
    fn template(&self, plan: &Plan) -> Result<Entry> {
        let mut changes = plan.change_summaries();
        let mut changes_file = None;
        if changes.len() > crate::ledger::INLINE_CHANGES {
            changes_file = Some(self.keep_changes(&plan.run, &changes)?);
            changes = Vec::new();
        }
        let (details, details_file) = self.keep_details(&plan.run, plan.details.as_ref())?;
        Ok(Entry {
            schema: LEDGER_SCHEMA_ID.into(),
            seq: 0,
            prev: Digest([0; 32]),
            writer: self.repo.writer.clone(),
            run: plan.run.clone(),
            time: self.now(),
            command: plan.command.as_str().into(),
            actor: plan.source.clone(),
            event: plan.event.clone(),
            policy: self.repo.policy.reference(),
            input_digest: plan.input_digest,
            before_digest: plan.state_digest(false),
            after_digest: plan.state_digest(true),
            actions: plan.actions.clone(),
            changes,
            changes_file,
            counts: plan.counts.clone(),
            result: RunResult::Applied,
            reason: None,
            rolled_back_by: None,
            rationale: plan.rationale.clone(),
            undoes: plan.undoes.clone(),
            rollback: None,
            details,
            details_file,
        })
    }

    /// A run's details for its entry: inline, or, over
    /// [`INLINE_DETAILS_BYTES`](crate::ledger::INLINE_DETAILS_BYTES), written
    /// durably to `.runs/<RUN>/details.json` (before the entry that
    /// references it) and referenced by digest.
    pub(crate) fn keep_details(
        &self,
        run: &str,
        details: Option<&serde_json::Value>,
    ) -> Result<(Option<serde_json::Value>, Option<crate::ledger::DetailsRef>)> {
        let Some(d) = details else {
            return Ok((None, None));
        };
        let bytes = serde_json::to_vec(d).map_err(|e| Error::Internal(e.to_string()))?;
        if bytes.len() <= crate::ledger::INLINE_DETAILS_BYTES {
            return Ok((Some(d.clone()), None));
        }
        let file = self.keep_run_file(run, "details.json", &bytes)?;
        Ok((
            None,
            Some(crate::ledger::DetailsRef {
                file,
                sha256: Digest::of(&bytes),
            }),
        ))
    }

    /// Write `.runs/<RUN>/<name>` durably (its directories too); returns its
    /// repository-relative path.
    fn keep_run_file(&self, run: &str, name: &str, bytes: &[u8]) -> Result<String> {
        let runs = self.repo.layout.runs_dir();
        let dir = self.repo.layout.run_dir(run);
        std::fs::create_dir_all(&dir).io("create", &dir)?;
        fsutil::sync_dir(&runs)?;
        fsutil::sync_dir(self.root())?;
        fsutil::write_atomic(&dir.join(name), bytes, 0o644)?;
        Ok(format!(".runs/{run}/{name}"))
    }

    /// Write `.runs/<RUN>/changes.json` durably; returns its reference.
    fn keep_changes(
        &self,
        run: &str,
        changes: &[crate::ledger::ChangeSummary],
    ) -> Result<crate::ledger::ChangesRef> {
        let bytes = serde_json::to_vec(changes).map_err(|e| Error::Internal(e.to_string()))?;
        let file = self.keep_run_file(run, "changes.json", &bytes)?;
        Ok(crate::ledger::ChangesRef {
            file,
            sha256: Digest::of(&bytes),
            count: changes.len() as u64,
        })
    }

    /// The context (clock, ids) this session runs with.
    pub fn context(&self) -> &Context {
        self.ctx
    }

    /// A fresh run id, for a caller that must name things after its run
    /// (a branch, a report) before recording it.
    pub fn new_run_id(&self) -> String {
        self.ctx.ids.run_id().to_string()
    }

    /// Put paths back to a known before-state after something outside the
    /// engine changed them (a plugin that wrote the repository, G9). The
    /// current version of each path is first kept in
    /// `.quarantine/<run>/<label>/<path>` (G1) — moved there by rename, never
    /// read whole nor copied, unless it has other hard links (then copied and
    /// removed, so the kept copy is not the other names' file); `None` means
    /// the path was absent. Returns the
    /// quarantined copies, repository-relative.
    pub fn restore_paths(
        &mut self,
        run: &str,
        label: &str,
        paths: &[(String, Option<FileContent>)],
    ) -> Result<Vec<String>> {
        let root = self.root().to_path_buf();
        let mut kept = Vec::new();
        for (rel, before) in paths {
            if rel
                .split('/')
                .any(|c| c.is_empty() || c == "." || c == "..")
            {
                return Err(Error::Internal(format!("bad path to restore: {rel:?}")));
            }
            let path = root.join(rel);
            // Never through a symlink or a file standing where a directory
            // was: what is restored or moved must be inside the repository.
            let mut above = root.clone();
            let parts: Vec<&str> = rel.split('/').collect();
            for part in &parts[..parts.len() - 1] {
                above.push(part);
                match std::fs::symlink_metadata(&above) {
                    Ok(m) if m.is_dir() => {}
                    Ok(_) => {
                        return Err(Error::Io {
                            op: "restore",
                            path: path.clone(),
                            source: std::io::Error::other(format!(
                                "{} is not a directory (a symlink or a file stands there)",
                                above.display()
                            )),
                        });
                    }
                    Err(_) => break,
                }
            }
            if let Ok(meta) = std::fs::symlink_metadata(&path) {
                if meta.is_file() {
                    if let Some((b, m)) = before
                        && *m == fsutil::mode_of(&meta)
                        && same_bytes(&path, meta.len(), b)?
                    {
                        continue;
                    }
                    let keep = format!("{QUARANTINE_DIR}/{run}/{label}/{rel}");
                    move_durably(&path, &root.join(&keep))?;
                    kept.push(keep);
                } else if meta.is_dir() {
                    std::fs::remove_dir_all(&path).io("remove", &path)?;
                } else {
                    std::fs::remove_file(&path).io("remove", &path)?;
                }
            }
            if let Some((content, mode)) = before {
                if let Some(d) = path.parent() {
                    std::fs::create_dir_all(d).io("create", d)?;
                }
                fsutil::write_atomic(&path, content, *mode)?;
            }
            if path == self.repo.layout.journal() {
                // The session's open journal went to the quarantine lane with
                // what was written into it: later frames go to the one put back.
                self.journal = Journal::open(&path)?;
            }
        }
        Ok(kept)
    }

    /// Re-render `.warden/OPERATING_CONTRACT.md` (after the enabled plugins
    /// changed). Returns whether it changed.
    pub fn refresh_contract(&mut self) -> Result<bool> {
        let want = self.repo.rendered_contract()?;
        let path = self.repo.layout.contract();
        if std::fs::read_to_string(&path).is_ok_and(|c| c == want) {
            return Ok(false);
        }
        fsutil::write_atomic(&path, want.as_bytes(), 0o644)?;
        Ok(true)
    }

    /// Keep a rejected input (e.g. a plugin's proposal that failed the policy
    /// gate) in the quarantine lane: `.quarantine/<run>/<name>`, written
    /// durably. Returns the repository-relative path (G8).
    pub fn quarantine_artifact(&mut self, run: &str, name: &str, bytes: &[u8]) -> Result<String> {
        let plain = |s: &str| !s.is_empty() && !s.starts_with('.') && !s.contains(['/', '\\']);
        if !plain(run) || !plain(name) {
            return Err(Error::Internal(format!(
                "quarantine name {run:?}/{name:?} must be two plain file names"
            )));
        }
        let rel = format!("{QUARANTINE_DIR}/{run}/{name}");
        let path = self.root().join(&rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).io("create", dir)?;
        }
        fsutil::write_atomic(&path, bytes, 0o644)?;
        Ok(rel)
    }

    /// Once an undo has committed, the run it undid can never be undone
    /// again: its content store entries (linked back into the tree by the
    /// undo) are removed.
    fn release_undone(&self, entry: &Entry) {
        if entry.result == RunResult::Applied
            && let Some(undone) = &entry.undoes
        {
            crate::store::remove_run(&self.repo.layout.store_dir(), undone);
        }
    }

    fn handle(&self, at: FrameRef) -> RollbackHandle {
        RollbackHandle {
            store: "journal".into(),
            writer: self.repo.writer.clone(),
            frame: at,
        }
    }
}

/// A file's bytes and mode bits.
pub type FileContent = (Vec<u8>, u32);

fn result_name(r: RunResult) -> &'static str {
    match r {
        RunResult::Applied => "applied",
        RunResult::RolledBack => "rolled_back",
        RunResult::Recorded => "recorded",
    }
}

/// Whether `needle` occurs in `hay`.
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Whether the file at `path` (of `len` bytes) holds exactly `want`, read
/// in chunks (never whole).
fn same_bytes(path: &Path, len: u64, want: &[u8]) -> Result<bool> {
    use std::io::Read;
    if len != want.len() as u64 {
        return Ok(false);
    }
    let mut f = std::fs::File::open(path).io("open", path)?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut at = 0usize;
    loop {
        let n = f.read(&mut buf).io("read", path)?;
        if n == 0 {
            return Ok(at == want.len());
        }
        if want.get(at..at + n) != Some(&buf[..n]) {
            return Ok(false);
        }
        at += n;
    }
}

/// How many hard links `path` has (1 where that cannot be known).
fn links_of(path: &Path) -> u64 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::symlink_metadata(path).map_or(1, |m| m.nlink())
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        1
    }
}

/// Move a file to `to` (created directories included) by rename, or by a
/// copy when it has other hard links, then make the move durable: both
/// directories are synced.
fn move_durably(from: &Path, to: &Path) -> Result<()> {
    let dir = to
        .parent()
        .ok_or_else(|| Error::Internal(format!("no parent: {}", to.display())))?;
    std::fs::create_dir_all(dir).io("create", dir)?;
    if links_of(from) > 1 {
        // A hard link (a plugin's `ln`): renamed, the kept copy would still
        // be the other name's file. It is copied instead, then removed.
        std::fs::copy(from, to).io("copy", from)?;
        std::fs::File::open(to)
            .and_then(|f| f.sync_all())
            .io("fsync", to)?;
        std::fs::remove_file(from).io("remove", from)?;
    } else {
        std::fs::rename(from, to).io("rename", from)?;
    }
    fsutil::sync_dir(dir)?;
    if let Some(src) = from.parent() {
        fsutil::sync_dir(src)?;
    }
    Ok(())
}
