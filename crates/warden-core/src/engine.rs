//! The transaction engine (SPEC §3.4; G1, G5, G6): apply a plan as one atomic,
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
    TransitionRecord,
};
use crate::ledger::{Entry, LEDGER_SCHEMA_ID, RollbackCause, RollbackHandle, RunResult};
use crate::lock::{self, RepoLock};
use crate::paths::{QUARANTINE_DIR, RepoPath};
use crate::plan::{self, Change, FileState, Noop, Plan};
use crate::proposal::{Proposal, Source};
use crate::repo::Repo;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

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

/// The rollback temp name of journals written before temp names were short
/// (`.<name>.warden-<RUN>-restore.tmp`), when it can exist at all: a crash in
/// such a rollback may have left one behind.
fn old_restore_temp(path: &RepoPath, run: &str) -> Option<RepoPath> {
    let name = format!(".{}.warden-{run}-restore.tmp", path.file_name());
    (name.len() <= crate::paths::NAME_MAX).then(|| match path.parent() {
        Some(p) => RepoPath::from_trusted(format!("{p}/{name}")),
        None => RepoPath::from_trusted(name),
    })
}

/// The before-state of every directory above the changed paths, outermost
/// first (recorded in the intent, so rollback and undo restore directories).
fn dir_records(root: &Path, changes: &[Change]) -> Result<Vec<DirRecord>> {
    let mut all: BTreeSet<(usize, RepoPath)> = BTreeSet::new();
    for c in changes {
        for d in c.path.ancestors() {
            all.insert((d.as_str().matches('/').count(), d));
        }
    }
    let mut out = Vec::with_capacity(all.len());
    for (_, d) in all {
        let fs = d.to_fs(root);
        let mode = match std::fs::symlink_metadata(&fs) {
            Ok(m) if m.is_dir() => Some(fsutil::mode_of(&m)),
            Ok(_) => {
                return Err(Error::invalid(
                    "(working tree)",
                    d.as_str(),
                    format!("\"{d}\" is not a directory"),
                    None,
                ));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).io("inspect", &fs),
        };
        out.push(DirRecord { path: d, mode });
    }
    Ok(out)
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

/// The error that stops every writer while an interrupted run cannot be
/// rolled back: what blocks it, where, and the command that resolves it.
fn blocked(run: &str, path: &RepoPath, cause: Error) -> Error {
    if matches!(
        cause,
        Error::RecoveryBlocked { .. } | Error::Injected(_) | Error::Corrupt { .. }
    ) {
        return cause;
    }
    Error::RecoveryBlocked {
        run: run.to_string(),
        path: path.to_string(),
        problem: cause.to_string(),
        fix: format!(
            "move \"{path}\" out of the way (e.g. `mv -- '{path}' '{path}.blocked'`) or fix the cause, then run `warden status`, which finishes the recovery"
        ),
    }
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

/// Steps 3–5 of a run: stage each new content in its temp file, keep the
/// big before-states in the content store, rename the temps over their
/// targets and unlink deleted paths, put the plan's directories into their
/// states, fsync every changed directory.
fn switch(root: &Path, store: &Path, plan: &Plan, intent: &Intent) -> Result<()> {
    let mut dirs = BTreeSet::new();
    for (c, t) in plan.changes.iter().zip(&intent.transitions) {
        if let (
            FileState::File {
                content,
                mode,
                digest,
            },
            Some(temp),
        ) = (&c.after, &t.temp)
        {
            create_parents(root, &c.path, &mut dirs)?;
            let tp = temp.to_fs(root);
            let _ = std::fs::remove_file(&tp);
            stage(store, &tp, content, *digest, *mode)?;
        }
    }
    hit("run.after_stage")?;
    keep_before_states(root, store, intent)?;
    hit("run.after_keep")?;
    for (i, t) in intent.transitions.iter().enumerate() {
        let target = t.path.to_fs(root);
        match &t.temp {
            Some(temp) => std::fs::rename(temp.to_fs(root), &target).io("rename into", &target)?,
            None => std::fs::remove_file(&target).io("remove", &target)?,
        }
        dirs.insert(parent_dir(root, &t.path));
        if i == 0 {
            hit("run.after_first_rename")?;
        }
    }
    hit("run.after_renames")?;
    for t in intent
        .transitions
        .iter()
        .filter(|t| t.after == StateRecord::Absent)
    {
        let parent = parent_dir(root, &t.path);
        fsutil::remove_empty_dirs(&parent, root);
        if !parent.exists()
            && let Some(up) = parent.parent()
        {
            dirs.insert(up.to_path_buf());
        }
    }
    settle_dirs(root, &plan.dirs, &intent.dirs, &mut dirs).map_err(|b| b.1)?;
    for d in &dirs {
        if d.exists() {
            fsutil::sync_dir(d)?;
        }
    }
    hit("run.after_dir_sync")
}

/// Write a new content into the fresh temp file `tp`: in-memory content is
/// written, a file is streamed (and hashed on the way), and a content store
/// entry (an undo putting a big file back) is linked, not copied.
fn stage(store: &Path, tp: &Path, content: &Content, digest: Digest, mode: u32) -> Result<()> {
    if let Content::File { path, len, .. } = content
        && path.starts_with(store)
    {
        crate::content::link_or_copy(path, tp, digest, *len)?;
        let meta = std::fs::symlink_metadata(tp).io("inspect", tp)?;
        if fsutil::mode_of(&meta) != mode {
            fsutil::set_mode(tp, mode)?;
        }
        return Ok(());
    }
    crate::content::write_new(tp, content, digest, mode, true)
}

/// Keep the before-state of every path whose intent names a content store
/// entry: a second name (hard link) on the file about to be replaced or
/// deleted, so its content survives the switch without being copied. Made
/// durable before any rename, so a crash after a rename finds it.
fn keep_before_states(root: &Path, store: &Path, intent: &Intent) -> Result<()> {
    let mut made = false;
    for t in &intent.transitions {
        let StateRecord::File {
            store: Some(name),
            digest,
            ..
        } = &t.before
        else {
            continue;
        };
        let dest = store_entry(store, name)?;
        if let Some(d) = dest.parent() {
            std::fs::create_dir_all(d).io("create", d)?;
        }
        let _ = std::fs::remove_file(&dest);
        let len = std::fs::symlink_metadata(t.path.to_fs(root))
            .io("inspect", t.path.to_fs(root))?
            .len();
        crate::content::link_or_copy(&t.path.to_fs(root), &dest, *digest, len)?;
        made = true;
    }
    if made {
        fsutil::sync_dir(&store.join(&intent.run))?;
        fsutil::sync_dir(store)?;
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
            let mut plan = plan::build(
                &run,
                plan::RunCommand::Apply,
                proposal.source.clone(),
                &proposal.event,
                digest,
                Vec::new(),
                Vec::new(),
                None,
            );
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
        let in_place = e.changes.iter().all(|c| {
            let Ok(p) = RepoPath::parse(&c.path, "", "") else {
                return false;
            };
            FileState::read(self.root(), &p)
                .is_ok_and(|s| s.digest() == c.after && s.mode() == c.after_mode)
        });
        Ok(in_place.then(|| e.run.clone()))
    }

    fn template(&self, plan: &Plan) -> Entry {
        Entry {
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
            changes: plan.change_summaries(),
            counts: plan.counts.clone(),
            result: RunResult::Applied,
            reason: None,
            rolled_back_by: None,
            rationale: plan.rationale.clone(),
            undoes: plan.undoes.clone(),
            rollback: None,
            details: plan.details.clone(),
        }
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
    /// `.quarantine/<run>/<label>/<path>` (G1); `None` means the path was
    /// absent. Returns the quarantined copies, repository-relative.
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
            if let Ok(meta) = std::fs::symlink_metadata(&path) {
                if meta.is_file() {
                    let current = std::fs::read(&path).io("read", &path)?;
                    if before
                        .as_ref()
                        .is_some_and(|(b, m)| *b == current && *m == fsutil::mode_of(&meta))
                    {
                        continue;
                    }
                    let keep = format!("{QUARANTINE_DIR}/{run}/{label}/{rel}");
                    let kp = root.join(&keep);
                    if let Some(d) = kp.parent() {
                        std::fs::create_dir_all(d).io("create", d)?;
                    }
                    fsutil::write_atomic(&kp, &current, fsutil::mode_of(&meta))?;
                    kept.push(keep);
                }
                if meta.is_dir() {
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

    /// Ledger a run that changed no working-tree file (result `recorded`) and
    /// write its artifacts to `.runs/<RUN>/`. The ledger append is durable
    /// before this returns; artifacts are written after it, like a run's report.
    pub fn record(&mut self, record: Record) -> Result<Entry> {
        check_record(&record)?;
        let entry = self.record_entry(&record);
        let entry = self.repo.ledger().append(&self.repo.writer, entry)?;
        self.write_record_artifacts(&record, &entry);
        Ok(entry)
    }

    fn record_entry(&self, record: &Record) -> Entry {
        Entry {
            schema: LEDGER_SCHEMA_ID.into(),
            seq: 0,
            prev: Digest([0; 32]),
            writer: self.repo.writer.clone(),
            run: record.run.clone(),
            time: self.now(),
            command: record.command.clone(),
            actor: record.actor.clone(),
            event: record.event.clone(),
            policy: self.repo.policy.reference(),
            input_digest: record.input_digest,
            before_digest: Digest::of(b""),
            after_digest: Digest::of(b""),
            actions: Vec::new(),
            changes: Vec::new(),
            counts: Default::default(),
            result: RunResult::Recorded,
            reason: None,
            rolled_back_by: None,
            rationale: record.rationale.clone(),
            undoes: None,
            rollback: None,
            details: record.details.clone(),
        }
    }

    /// Best effort, after the ledger append, like a run's report.
    fn write_record_artifacts(&self, record: &Record, entry: &Entry) {
        let run_dir = self.repo.layout.run_dir(&record.run);
        if std::fs::create_dir_all(&run_dir).is_ok() {
            let report = RecordArtifact {
                schema: "warden.record/v1".into(),
                entry: entry.clone(),
            };
            if let Ok(bytes) = serde_json::to_vec_pretty(&report) {
                let _ = std::fs::write(run_dir.join("run.json"), bytes);
            }
            for (name, bytes) in &record.artifacts {
                let _ = std::fs::write(run_dir.join(name), bytes);
            }
        }
    }

    /// Ledger several runs that change no working-tree file, like
    /// [`Session::record`] each, with one ledger write and one fsync for all
    /// of them (group commit). Returns the entries in order.
    ///
    /// Unlike [`Session::record`], a record without artifacts gets no
    /// `.runs/<RUN>/` directory: its `run.json` would only copy the ledger
    /// line, and two inodes per run are what a batch of thousands of
    /// recorded runs costs most on some filesystems. Records with artifacts
    /// get their directory, with `run.json`, as usual.
    pub fn record_many(&mut self, records: Vec<Record>) -> Result<Vec<Entry>> {
        let mut entries = Vec::with_capacity(records.len());
        for record in &records {
            check_record(record)?;
            entries.push(self.record_entry(record));
        }
        let entries = self.repo.ledger().append_many(&self.repo.writer, entries)?;
        for (record, entry) in records.iter().zip(&entries) {
            if !record.artifacts.is_empty() {
                self.write_record_artifacts(record, entry);
            }
        }
        Ok(entries)
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

    /// Apply a plan as one atomic run. See the module docs for the steps.
    pub fn apply(&mut self, plan: &Plan) -> Result<Outcome> {
        self.apply_with(plan, &ApplyOptions::default())
    }

    /// [`Session::apply`] with a deadline and extra validation commands.
    pub fn apply_with(&mut self, plan: &Plan, opts: &ApplyOptions) -> Result<Outcome> {
        if plan.noop.is_some() || plan.changes.is_empty() {
            return Err(Error::Internal(
                "apply called on a plan with nothing to do".into(),
            ));
        }
        if opts
            .deadline
            .is_some_and(|d| std::time::Instant::now() >= d)
        {
            return Err(Error::refused(
                crate::error::Refusal::Deadline,
                "(run)",
                "deadline",
                "the deadline passed before the run started; nothing was changed",
                None,
            ));
        }
        let root = self.root().to_path_buf();
        for c in &plan.changes {
            c.path
                .check_on_disk(&root, "(working tree)", c.path.as_str())?;
            if !c.before.still_on_disk(&root, &c.path)? {
                return Err(Error::refused(
                    crate::error::Refusal::Precondition,
                    "(working tree)",
                    c.path.as_str(),
                    "changed since the plan was made",
                    Some("run the command again to plan against the current content".into()),
                ));
            }
        }
        // Run artifacts are written once the run is decided (step 7): until then
        // the intent frame holds everything recovery and forensics need.
        let run_dir = self.repo.layout.run_dir(&plan.run);
        hit("run.after_plan")?;

        // Intent: before-states with content, after digests.
        let dirs = dir_records(&root, &plan.changes)?;
        let mut blobs = Vec::new();
        let mut transitions = Vec::with_capacity(plan.changes.len());
        for (n, c) in plan.changes.iter().enumerate() {
            let before = match &c.before {
                FileState::Absent => StateRecord::Absent,
                FileState::File {
                    content,
                    mode,
                    digest,
                } if content.is_large() => StateRecord::File {
                    digest: *digest,
                    mode: *mode,
                    blob: None,
                    store: Some(crate::store::entry(&plan.run, n)),
                },
                FileState::File {
                    content,
                    mode,
                    digest,
                } => {
                    let off = blobs.len() as u64;
                    let bytes = content.load()?;
                    blobs.extend_from_slice(&bytes);
                    StateRecord::File {
                        digest: *digest,
                        mode: *mode,
                        blob: Some((off, bytes.len() as u64)),
                        store: None,
                    }
                }
            };
            let temp = matches!(c.after, FileState::File { .. })
                .then(|| temp_for(&c.path, &plan.run, "", n));
            transitions.push(TransitionRecord {
                path: c.path.clone(),
                before,
                after: c.after.record(),
                temp,
            });
        }
        let mut entry = self.template(plan);
        let intent = Intent {
            run: plan.run.clone(),
            meta: serde_json::to_value(&entry).map_err(|e| Error::Internal(e.to_string()))?,
            transitions,
            dirs,
        };
        let frame = journal::encode(&FrameHeader::Intent(intent.clone()), &blobs)?;
        let at = self.journal.append(&frame, true)?;
        drop(blobs);
        entry.rollback = Some(self.handle(at));
        hit("run.after_intent")?;

        // From here on the tree changes. An injected failure acts as a crash
        // (recovery finishes the job); any real failure is rolled back now and
        // ledgered, so no change is ever left on disk without an entry.
        let store = self.repo.layout.store_dir();
        match switch(&root, &store, plan, &intent) {
            Ok(()) => {}
            Err(e @ Error::Injected(_)) => return Err(e),
            Err(e) => {
                let frame = self.journal.read_frame(at)?;
                self.roll_back(&frame, &intent)?;
                entry.result = RunResult::RolledBack;
                entry.reason = Some(format!("the apply failed and was rolled back: {e}"));
                entry.rolled_back_by = Some(RollbackCause::ApplyFailed);
                let entry = self.repo.ledger().append(&self.repo.writer, entry)?;
                let done = FrameHeader::Done {
                    run: plan.run.clone(),
                    result: result_name(entry.result).into(),
                };
                self.journal.append(&journal::encode(&done, &[])?, true)?;
                write_artifacts(&run_dir, plan, &entry);
                return Err(Error::ApplyFailed {
                    run: plan.run.clone(),
                    message: e.to_string(),
                });
            }
        }

        let mut validation_failure = None;
        let mut deadline_exceeded = false;
        let past =
            |d: &Option<std::time::Instant>| d.is_some_and(|d| std::time::Instant::now() >= d);
        let mut steps: Vec<&Vec<String>> = Vec::new();
        if let Some(v) = &self.repo.policy.file.validation {
            steps.push(&v.command);
        }
        steps.extend(opts.extra_validation.iter());
        let log = run_dir.join("validation.log");
        let limit = std::time::Duration::from_millis(self.repo.policy.file.limits.max_runtime_ms);
        let mut failed: Option<String> = None;
        for (n, argv) in steps.iter().enumerate() {
            if past(&opts.deadline) {
                break;
            }
            // A command that cannot even start fails the run like one that
            // fails: it is rolled back and ledgered, never left half-done.
            let ran = match crate::validate::run_until(
                argv,
                &root,
                &log,
                limit,
                opts.deadline,
                n > 0,
                &self.ctx.child_env,
            ) {
                Ok(ran) => ran,
                Err(e @ Error::Injected(_)) => return Err(e),
                Err(e) => {
                    failed = Some(format!("the validation command could not run: {e}"));
                    break;
                }
            };
            match ran {
                Ok(()) => {}
                Err(f) if f.deadline => {
                    deadline_exceeded = true;
                    failed = Some(f.why);
                    break;
                }
                Err(f) => {
                    failed = Some(f.why);
                    break;
                }
            }
        }
        // The last moment a too-slow run can still be taken back uncommitted.
        if failed.is_none() && past(&opts.deadline) {
            deadline_exceeded = true;
        }
        if failed.is_some() || deadline_exceeded {
            let frame = self.journal.read_frame(at)?;
            self.roll_back(&frame, &intent)?;
            entry.result = RunResult::RolledBack;
            if deadline_exceeded {
                entry.rolled_back_by = Some(RollbackCause::Deadline);
                entry.reason = Some(format!(
                    "{DEADLINE_REASON}: the run was rolled back before it committed{}",
                    failed
                        .as_ref()
                        .map(|w| format!(" ({w})"))
                        .unwrap_or_default()
                ));
            } else if let Some(why) = failed {
                entry.rolled_back_by = Some(RollbackCause::Validation);
                entry.reason = Some(format!("validation failed: {why}"));
                validation_failure = Some(std::fs::read_to_string(&log).unwrap_or(why));
            }
        }
        hit("run.after_validation")?;

        let entry = self.repo.ledger().append(&self.repo.writer, entry)?;
        hit("run.after_ledger")?;
        self.release_undone(&entry);
        let done = FrameHeader::Done {
            run: plan.run.clone(),
            result: result_name(entry.result).into(),
        };
        self.journal.append(&journal::encode(&done, &[])?, false)?;
        hit("run.after_done")?;
        write_artifacts(&run_dir, plan, &entry);
        Ok(Outcome {
            entry,
            validation_failure,
            deadline_exceeded,
        })
    }

    /// Restore every path of an intent to its before-state, and the
    /// directories above them to theirs. Paths found in neither state are
    /// preserved in the quarantine lane first (G1). An obstacle it cannot
    /// remove safely (a directory or a special file where a file must go
    /// back, an I/O error) is an [`Error::RecoveryBlocked`] naming the path.
    fn roll_back(&self, frame: &Frame, intent: &Intent) -> Result<Vec<String>> {
        let root = self.root().to_path_buf();
        let run = intent.run.as_str();
        let mut dirs = BTreeSet::new();
        let mut preserved = Vec::new();
        let created_dir =
            |p: &RepoPath| intent.dirs.iter().any(|d| d.path == *p && d.mode.is_none());
        // Deepest first, so a directory this run created is emptied before
        // the path it stands on is restored.
        let mut order: Vec<(usize, &TransitionRecord)> =
            intent.transitions.iter().enumerate().collect();
        order.sort_by_key(|(_, t)| std::cmp::Reverse(t.path.as_str().matches('/').count()));
        for (n, t) in order {
            let leftovers = [
                t.temp.clone(),
                Some(temp_for(&t.path, run, "r", n)),
                old_restore_temp(&t.path, run),
            ];
            for temp in leftovers.iter().flatten() {
                // Only a file (or a link) under that name can be ours; a
                // directory there is someone else's and stays.
                if std::fs::symlink_metadata(temp.to_fs(&root)).is_ok_and(|m| m.is_dir()) {
                    continue;
                }
                match std::fs::remove_file(temp.to_fs(&root)) {
                    Ok(()) => {
                        dirs.insert(parent_dir(&root, temp));
                    }
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                        ) => {}
                    Err(source) => {
                        let path = temp.to_fs(&root);
                        let e = Error::Io {
                            op: "remove",
                            path,
                            source,
                        };
                        return Err(blocked(run, temp, e));
                    }
                }
            }
            let fs = t.path.to_fs(&root);
            if created_dir(&t.path) && std::fs::symlink_metadata(&fs).is_ok_and(|m| m.is_dir()) {
                let _ = std::fs::remove_dir(&fs);
            }
            self.restore_one(frame, intent, n, t, &mut dirs, &mut preserved)
                .map_err(|e| blocked(run, &t.path, e))?;
        }
        for t in intent
            .transitions
            .iter()
            .filter(|t| t.before == StateRecord::Absent)
        {
            let parent = parent_dir(&root, &t.path);
            fsutil::remove_empty_dirs(&parent, &root);
            if !parent.exists()
                && let Some(up) = parent.parent()
            {
                dirs.insert(up.to_path_buf());
            }
        }
        settle_dirs(&root, &intent.dirs, &[], &mut dirs).map_err(|b| blocked(run, &b.0, b.1))?;
        for d in &dirs {
            if d.exists() {
                fsutil::sync_dir(d)?;
            }
        }
        // Every path is back, durably: a rolled-back run is never undone, so
        // its content store entries have served.
        crate::store::remove_run(&self.repo.layout.store_dir(), run);
        Ok(preserved)
    }

    /// Put one path of a rolled-back run back into its before-state.
    fn restore_one(
        &self,
        frame: &Frame,
        intent: &Intent,
        n: usize,
        t: &TransitionRecord,
        dirs: &mut BTreeSet<PathBuf>,
        preserved: &mut Vec<String>,
    ) -> Result<()> {
        let root = self.root();
        t.path.check_on_disk(root, "(journal)", t.path.as_str())?;
        let cur = FileState::read(root, &t.path)?;
        if cur.matches(&t.before) {
            return Ok(());
        }
        let mut gone = cur == FileState::Absent;
        if !cur.matches(&t.after) && !gone {
            // Someone else's version: it moves (no copy, whatever its size)
            // to the quarantine lane, durably, before anything replaces it.
            let keep = RepoPath::from_trusted(format!(
                "{QUARANTINE_DIR}/{}-recovered/{}",
                intent.run, t.path
            ));
            create_parents(root, &keep, dirs)?;
            let kp = keep.to_fs(root);
            std::fs::rename(t.path.to_fs(root), &kp).io("rename into", &kp)?;
            fsutil::sync_dir(&parent_dir(root, &keep))?;
            preserved.push(keep.to_string());
            gone = true;
        }
        match &t.before {
            StateRecord::Absent => {
                if !gone {
                    std::fs::remove_file(t.path.to_fs(root))
                        .io("remove", t.path.to_fs(root))?;
                }
            }
            StateRecord::File {
                mode,
                blob,
                store,
                digest,
            } => {
                create_parents(root, &t.path, dirs)?;
                let tp = temp_for(&t.path, &intent.run, "r", n).to_fs(root);
                let _ = std::fs::remove_file(&tp);
                match (store, blob) {
                    (Some(name), _) => {
                        // Linked back from the content store, not copied.
                        let from = store_entry(&self.repo.layout.store_dir(), name)?;
                        let len = std::fs::symlink_metadata(&from).io("inspect", &from)?.len();
                        crate::content::link_or_copy(&from, &tp, *digest, len)?;
                        fsutil::set_mode(&tp, *mode)?;
                    }
                    (None, Some(blob)) => {
                        fsutil::write_new_synced(&tp, frame.blob(*blob)?, *mode, true)?;
                    }
                    (None, None) => {
                        return Err(Error::Corrupt {
                            path: self.journal.path().to_path_buf(),
                            message: format!(
                                "run {}: no content recorded for {}",
                                intent.run, t.path
                            ),
                        });
                    }
                }
                std::fs::rename(&tp, t.path.to_fs(root)).io("rename into", t.path.to_fs(root))?;
            }
        }
        dirs.insert(parent_dir(root, &t.path));
        Ok(())
    }

    /// Finish or undo an interrupted run (G5).
    fn recover(&mut self) -> Result<Vec<Recovered>> {
        let ledger = self.repo.ledger();
        ledger.cut_torn_tail(&self.repo.writer)?;
        let frame = match self.journal.tail()? {
            Tail::Empty => return Ok(Vec::new()),
            Tail::Torn => {
                // The intent never became durable, so no file was touched.
                self.journal.cut_torn_tail()?;
                match self.journal.tail()? {
                    Tail::Frame(f) => f,
                    _ => return Ok(Vec::new()),
                }
            }
            Tail::Frame(f) => f,
        };
        let FrameHeader::Intent(intent) = &frame.header else {
            return Ok(Vec::new());
        };
        let tip = ledger
            .tip(&self.repo.writer)?
            .map(|(e, _)| e)
            .filter(|e| e.run == intent.run);
        let (outcome, preserved, result) = if let Some(committed) = tip {
            // Committed (applied, or rolled back by its validation): only the
            // done frame is missing.
            self.release_undone(&committed);
            (RecoveryOutcome::Completed, Vec::new(), committed.result)
        } else {
            let preserved = self.roll_back(&frame, intent)?;
            let mut entry: Entry =
                serde_json::from_value(intent.meta.clone()).map_err(|e| Error::Corrupt {
                    path: self.journal.path().to_path_buf(),
                    message: format!("run {}: unreadable intent: {e}", intent.run),
                })?;
            entry.result = RunResult::RolledBack;
            entry.rolled_back_by = Some(RollbackCause::Interrupted);
            entry.reason = Some(format!(
                "interrupted before it committed; rolled back by recovery at {}{}",
                self.now(),
                if preserved.is_empty() {
                    String::new()
                } else {
                    format!("; preserved {}", preserved.join(", "))
                }
            ));
            entry.rollback = Some(self.handle(frame.at));
            ledger.append(&self.repo.writer, entry)?;
            (
                RecoveryOutcome::RolledBack,
                preserved,
                RunResult::RolledBack,
            )
        };
        let done = FrameHeader::Done {
            run: intent.run.clone(),
            result: result_name(result).into(),
        };
        self.journal.append(&journal::encode(&done, &[])?, true)?;
        Ok(vec![Recovered {
            run: intent.run.clone(),
            outcome,
            preserved,
        }])
    }

    /// The applied undo of `entry`'s run, if any. Only `entry`'s writer can
    /// undo it (the rollback handle lives in that clone's journal), and only
    /// after it: so only that chain's entries after it are read, backwards.
    fn undone_by(&self, entry: &Entry) -> Result<Option<Entry>> {
        let ledger = self.repo.ledger();
        let path = ledger.chain_path(&entry.writer);
        let needle = format!("\"undoes\":\"{}\"", entry.run);
        let mut by = None;
        ledger.scan_back(&entry.writer, &mut |line| {
            if crate::ledger::parse_link(line).and_then(|l| l.run) == Some(entry.run.as_str()) {
                return Ok(true);
            }
            if !contains(line, needle.as_bytes()) {
                return Ok(false);
            }
            let e = crate::ledger_index::parse_entry(&path, line)?;
            if e.undoes.as_deref() == Some(entry.run.as_str()) && e.result == RunResult::Applied {
                by = Some(e);
                return Ok(true);
            }
            Ok(false)
        })?;
        Ok(by)
    }

    /// Plan the undo of `run`: restore its before-state, byte for byte and mode
    /// for mode. Refuses when its paths changed since, unless `force`, which
    /// first moves the current versions to the quarantine lane.
    pub fn plan_undo(&self, run: &str, force: bool, actor: Source) -> Result<Plan> {
        let ledger = self.repo.ledger();
        let entry = ledger.find_run(run)?.ok_or_else(|| {
            Error::invalid(
                "(command line)",
                "RUN",
                format!("no run \"{run}\" in the ledger"),
                Some("`warden runs` lists the runs".into()),
            )
        })?;
        let id = entry.run.clone();
        match entry.result {
            RunResult::Applied => {}
            RunResult::RolledBack => {
                return Err(Error::rejected(
                    "(command line)",
                    "RUN",
                    format!(
                        "run {id} did not apply (it was rolled back), so there is nothing to undo"
                    ),
                    None,
                ));
            }
            RunResult::Recorded => {
                return Err(Error::rejected(
                    "(command line)",
                    "RUN",
                    format!(
                        "run {id} ({}) is a recorded run: it changed no working-tree file, so there is nothing to undo",
                        entry.command
                    ),
                    Some(
                        "`warden ledger show RUN` says what it did; what it changed outside the working tree (git refs a sync run made) is undone with git"
                            .into(),
                    ),
                ));
            }
        }
        if let Some(by) = self.undone_by(&entry)? {
            return Err(Error::rejected(
                "(command line)",
                "RUN",
                format!("run {id} was already undone by run {}", by.run),
                Some(format!("`warden undo {}` restores what {id} did", by.run)),
            ));
        }
        let handle = entry.rollback.clone().ok_or_else(|| {
            Error::rejected(
                "(command line)",
                "RUN",
                format!("run {id} has no rollback handle"),
                None,
            )
        })?;
        if handle.writer != self.repo.writer {
            return Err(Error::rejected(
                "(command line)",
                "RUN",
                format!(
                    "run {id} was made in another clone (writer {}); its before-state is kept there",
                    handle.writer
                ),
                Some(format!("run `warden undo {id}` in that clone")),
            ));
        }
        let frame = self.journal.read_frame(handle.frame)?;
        let FrameHeader::Intent(intent) = &frame.header else {
            return Err(Error::Corrupt {
                path: self.journal.path().to_path_buf(),
                message: format!("run {id}: rollback handle is not an intent"),
            });
        };
        let new_run = self.ctx.ids.run_id().to_string();
        let root = self.root();
        let mut ov = plan::Overlay::new(root, "(undo)");
        let mut drifted = Vec::new();
        let mut actions = Vec::new();
        let mut quarantined = Vec::new();
        for t in &intent.transitions {
            let cur = ov.get(&t.path, t.path.as_str())?;
            if !cur.matches(&t.after) {
                drifted.push(format!(
                    "{} (now {}, run left {})",
                    t.path,
                    cur.digest()
                        .map_or("absent".into(), |d| format!("sha256 {}", d.short())),
                    t.after
                        .digest()
                        .map_or("absent".into(), |d| format!("sha256 {}", d.short()))
                ));
                if force && let FileState::File { .. } = cur {
                    let keep = plan::lane_copy(&new_run, &t.path);
                    ov.set(&keep, "(undo)", cur.clone())?;
                    quarantined.push(serde_json::json!({"path": t.path.as_str(), "stored": keep.as_str(), "reason": format!("changed after run {id}; set aside by `warden undo --force`"), "sha256": cur.digest()}));
                    actions.push(crate::ledger::ActionSummary {
                        kind: "quarantine".into(),
                        path: t.path.to_string(),
                        to: Some(keep.to_string()),
                        reason: Some("changed since the undone run".into()),
                    });
                }
            }
            let before = match &t.before {
                StateRecord::Absent => FileState::Absent,
                StateRecord::File {
                    mode,
                    store: Some(name),
                    digest,
                    ..
                } => {
                    // Referenced in the content store, never read here.
                    let path = store_entry(&self.repo.layout.store_dir(), name)?;
                    let len = std::fs::symlink_metadata(&path)
                        .map_err(|e| Error::Corrupt {
                            path: path.clone(),
                            message: format!(
                                "run {id}: the kept content of {} is missing ({e})",
                                t.path
                            ),
                        })?
                        .len();
                    FileState::with_content(
                        Content::File {
                            path,
                            len,
                            stamp: None,
                        },
                        *digest,
                        *mode,
                    )
                }
                StateRecord::File { mode, blob, .. } => {
                    let blob = blob.ok_or_else(|| Error::Corrupt {
                        path: self.journal.path().to_path_buf(),
                        message: format!("run {id}: no content for {}", t.path),
                    })?;
                    FileState::file(frame.blob(blob)?.to_vec(), *mode)
                }
            };
            actions.push(crate::ledger::ActionSummary {
                kind: "restore".into(),
                path: t.path.to_string(),
                to: None,
                reason: None,
            });
            ov.set(&t.path, t.path.as_str(), before)?;
        }
        if !drifted.is_empty() && !force {
            return Err(Error::rejected(
                "(working tree)",
                "RUN",
                format!("{} path(s) changed since run {id}: {}", drifted.len(), drifted.join("; ")),
                Some("undo refuses to overwrite newer work; `warden undo --force` moves the current versions to .quarantine/ first".into()),
            ));
        }
        if !quarantined.is_empty() {
            let body = plan::lane_index_body(&new_run, quarantined)?;
            ov.set(
                &plan::lane_index(&new_run),
                "(undo)",
                FileState::file(body, 0o644),
            )?;
        }
        let changes: Vec<Change> = ov.changes();
        let mut plan = plan::build(
            &new_run,
            plan::RunCommand::Undo,
            actor,
            "RollbackTriggered",
            Digest::of(id.as_bytes()),
            actions,
            changes,
            Some(id.clone()),
        );
        plan.rationale = Some(format!("undo of run {id}"));
        // Directories come back as they were before the undone run: those it
        // found exist again with their modes, those it created go when empty.
        plan.dirs = intent.dirs.clone();
        if plan.changes.is_empty() {
            plan.noop = Some(Noop::NothingToChange);
        }
        Ok(plan)
    }
}

/// `.runs/<RUN>/run.json` (plan, diff and ledger entry; schema `run`) and
/// `.runs/<RUN>/diff.patch`. Best effort and not fsynced: the ledger and the
/// journal are the record; these are for people and scripts.
fn write_artifacts(run_dir: &Path, plan: &Plan, entry: &Entry) {
    let artifact = RunArtifact {
        schema: "warden.run/v1".into(),
        plan: plan.report(),
        entry: entry.clone(),
    };
    if std::fs::create_dir_all(run_dir).is_err() {
        return;
    }
    if let Ok(bytes) = serde_json::to_vec_pretty(&artifact) {
        let _ = std::fs::write(run_dir.join("run.json"), bytes);
    }
    let _ = std::fs::write(run_dir.join("diff.patch"), plan.diff.as_bytes());
}

/// A file's bytes and mode bits.
pub type FileContent = (Vec<u8>, u32);
fn check_record(record: &Record) -> Result<()> {
    if record.run.is_empty() || record.command.is_empty() {
        return Err(Error::Internal(
            "record needs a run id and a command".into(),
        ));
    }
    for (name, _) in &record.artifacts {
        let plain = !name.is_empty()
            && name != "run.json"
            && !name.starts_with('.')
            && !name.contains(['/', '\\']);
        if !plain {
            return Err(Error::Internal(format!(
                "artifact name {name:?} must be a plain file name other than run.json"
            )));
        }
    }
    Ok(())
}

/// A run to ledger that changed no working-tree file; see [`Session::record`].
#[derive(Debug, Clone)]
pub struct Record {
    /// From [`Session::new_run_id`].
    pub run: String,
    /// What ran, e.g. "sync audit" or "plugin enable".
    pub command: String,
    pub actor: Source,
    pub event: String,
    /// sha256 of what the run was asked to do (its canonical input).
    pub input_digest: Digest,
    pub rationale: Option<String>,
    /// Command-specific facts, stored in the ledger entry.
    pub details: Option<serde_json::Value>,
    /// Extra files for `.runs/<RUN>/` (plain names; `run.json` is written by the engine).
    pub artifacts: Vec<(String, Vec<u8>)>,
}

/// `.runs/<RUN>/run.json` of a recorded run.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
#[schemars(title = "warden recorded run")]
pub struct RecordArtifact {
    pub schema: String,
    pub entry: Entry,
}

/// The report of one run, kept in `.runs/<RUN>/run.json`.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
#[schemars(title = "warden run artifact")]
pub struct RunArtifact {
    pub schema: String,
    pub plan: plan::PlanReport,
    pub entry: Entry,
}

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
