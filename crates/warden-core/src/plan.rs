//! Planning (first two steps): resolve a proposal's actions against
//! the tree into per-path changes, gate them by the policy, and render the plan
//! (unified diff + counts). Nothing is written here.
//!
//! Actions are resolved in order over a virtual overlay of the tree. Each path
//! may be used by one action only, and never as a file by one action and as a
//! directory by another ([`check_shape`]): whatever apply could not carry out
//! is refused here, before anything is journaled. Each action's precondition
//! is checked against the overlay; an action whose effect is already present is
//! skipped, which makes re-applying idempotent (G6).

use crate::content::Content;
use crate::digest::{Digest, Hasher};
use crate::error::{Error, IoContext, Refusal, Result};
use crate::events::ActionKind;
use crate::fence::{self, PatchError};
use crate::fsutil;
use crate::journal::{DirRecord, StateRecord};
use crate::ledger::{ActionSummary, ChangeSummary, Counts};
use crate::paths::{QUARANTINE_DIR, RepoPath};
use crate::policy::Policy;
use crate::proposal::{Action, Bytes, Expect, Proposal, Source};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

/// A file's full state: absent, or content and mode. Content over
/// [`LARGE`](crate::content::LARGE) stays on disk ([`Content::File`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileState {
    Absent,
    File {
        content: Content,
        mode: u32,
        digest: Digest,
    },
}

impl FileState {
    pub fn file(content: Vec<u8>, mode: u32) -> Self {
        let digest = Digest::of(&content);
        FileState::File {
            content: Content::Bytes(Arc::new(content)),
            mode,
            digest,
        }
    }

    /// A file with content whose digest is already known.
    pub fn with_content(content: Content, digest: Digest, mode: u32) -> Self {
        FileState::File {
            content,
            mode,
            digest,
        }
    }

    /// Read `path` from disk (the caller checked it is not reached through a
    /// symlink). A file over [`LARGE`](crate::content::LARGE) is hashed by
    /// streaming it and referenced where it lies, never read whole.
    pub fn read(root: &Path, path: &RepoPath) -> Result<FileState> {
        let fs = path.to_fs(root);
        let meta = match std::fs::symlink_metadata(&fs) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileState::Absent),
            Err(e) => return Err(e).io("inspect", &fs),
        };
        if meta.is_file() && meta.len() > crate::content::LARGE {
            let (digest, len, stamp) = crate::content::hash_file(&fs)?;
            return Ok(FileState::File {
                content: Content::File {
                    path: fs,
                    len,
                    stamp,
                },
                mode: fsutil::mode_of(&meta),
                digest,
            });
        }
        let content = std::fs::read(&fs).io("read", &fs)?;
        Ok(FileState::file(content, fsutil::mode_of(&meta)))
    }

    /// Whether `path` is still in this state. A big file that still has the
    /// stamp it had when it was hashed is not hashed again.
    pub fn still_on_disk(&self, root: &Path, path: &RepoPath) -> Result<bool> {
        if let FileState::File {
            content:
                Content::File {
                    path: at,
                    stamp: Some(stamp),
                    ..
                },
            mode,
            ..
        } = self
            && *at == path.to_fs(root)
            && stamp.holds(at)
            && std::fs::symlink_metadata(at).is_ok_and(|m| fsutil::mode_of(&m) == *mode)
        {
            return Ok(true);
        }
        Ok(FileState::read(root, path)?.same(self))
    }

    pub fn digest(&self) -> Option<Digest> {
        match self {
            FileState::Absent => None,
            FileState::File { digest, .. } => Some(*digest),
        }
    }

    pub fn mode(&self) -> Option<u32> {
        match self {
            FileState::Absent => None,
            FileState::File { mode, .. } => Some(*mode),
        }
    }

    pub fn content(&self) -> Option<&Content> {
        match self {
            FileState::Absent => None,
            FileState::File { content, .. } => Some(content),
        }
    }

    /// Same content and mode.
    pub fn same(&self, other: &FileState) -> bool {
        self.digest() == other.digest() && self.mode() == other.mode()
    }

    pub fn matches(&self, rec: &StateRecord) -> bool {
        match (self, rec) {
            (FileState::Absent, StateRecord::Absent) => true,
            (
                FileState::File { digest, mode, .. },
                StateRecord::File {
                    digest: d, mode: m, ..
                },
            ) => digest == d && mode == m,
            _ => false,
        }
    }

    /// The journal record of this state, without content.
    pub fn record(&self) -> StateRecord {
        match self {
            FileState::Absent => StateRecord::Absent,
            FileState::File { mode, digest, .. } => StateRecord::File {
                digest: *digest,
                mode: *mode,
                blob: None,
                store: None,
            },
        }
    }
}

#[derive(Debug, Clone)]
pub struct Change {
    pub path: RepoPath,
    pub before: FileState,
    pub after: FileState,
}

/// Why a plan has nothing to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Noop {
    /// This exact proposal was applied by `run` and its result is still in place.
    AlreadyApplied { run: String },
    /// Every action's effect is already present.
    NothingToChange,
}

/// What a plan does: apply a proposal, undo a run, or apply the classifier's
/// placements (`warden classify`, `warden watch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunCommand {
    Apply,
    Undo,
    Classify,
}

impl RunCommand {
    /// "apply", "undo" or "classify" (also the ledger entry's `command`).
    pub fn as_str(self) -> &'static str {
        match self {
            RunCommand::Apply => "apply",
            RunCommand::Undo => "undo",
            RunCommand::Classify => "classify",
        }
    }
}

impl std::fmt::Display for RunCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub run: String,
    pub command: RunCommand,
    pub source: Source,
    pub event: String,
    pub rationale: Option<String>,
    pub input_digest: Digest,
    pub undoes: Option<String>,
    pub actions: Vec<ActionSummary>,
    pub changes: Vec<Change>,
    pub counts: Counts,
    pub diff: String,
    pub noop: Option<Noop>,
    /// Directories to leave in a given state (existing with a mode, or gone
    /// when empty) once the files are in place. Only an undo sets them: the
    /// undone run's directory before-states.
    pub dirs: Vec<DirRecord>,
    /// Facts a subsystem stores in the run's ledger entry (`details`), e.g.
    /// the classifier's decisions; `None` for a plain apply or undo.
    pub details: Option<serde_json::Value>,
}

/// The plan as reported (`--format json`, the `plan` of `.runs/<RUN>/run.json`).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(title = "warden plan")]
pub struct PlanReport {
    pub schema: String,
    pub run: String,
    pub command: RunCommand,
    pub source: Source,
    pub event: String,
    pub input_digest: Digest,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undoes: Option<String>,
    pub actions: Vec<ActionSummary>,
    pub changes: Vec<ChangeSummary>,
    pub counts: Counts,
    /// null when there is something to do; otherwise why not.
    pub noop: Option<serde_json::Value>,
    pub diff: String,
}

impl Plan {
    pub fn change_summaries(&self) -> Vec<ChangeSummary> {
        self.changes
            .iter()
            .map(|c| ChangeSummary {
                path: c.path.to_string(),
                before: c.before.digest(),
                after: c.after.digest(),
                before_mode: c.before.mode(),
                after_mode: c.after.mode(),
            })
            .collect()
    }

    pub fn report(&self) -> PlanReport {
        PlanReport {
            schema: "warden.plan/v1".into(),
            run: self.run.clone(),
            command: self.command,
            source: self.source.clone(),
            event: self.event.clone(),
            input_digest: self.input_digest,
            undoes: self.undoes.clone(),
            actions: self.actions.clone(),
            changes: self.change_summaries(),
            counts: self.counts.clone(),
            noop: self
                .noop
                .as_ref()
                .and_then(|n| serde_json::to_value(n).ok()),
            diff: self.diff.clone(),
        }
    }

    /// Digest over (path, state) of every change's before- or after-state.
    pub fn state_digest(&self, after: bool) -> Digest {
        let mut h = Hasher::new();
        for c in &self.changes {
            let s = if after { &c.after } else { &c.before };
            h.part(c.path.as_str().as_bytes());
            h.part(s.digest().map(|d| d.hex()).unwrap_or_default().as_bytes());
            h.part(&s.mode().unwrap_or(0).to_le_bytes());
        }
        h.finish()
    }
}

/// The tree as the actions so far would leave it.
pub(crate) struct Overlay<'a> {
    root: &'a Path,
    file: &'a str,
    original: BTreeMap<RepoPath, FileState>,
    current: BTreeMap<RepoPath, FileState>,
}

impl<'a> Overlay<'a> {
    pub(crate) fn new(root: &'a Path, file: &'a str) -> Self {
        Overlay {
            root,
            file,
            original: BTreeMap::new(),
            current: BTreeMap::new(),
        }
    }

    pub(crate) fn get(&mut self, path: &RepoPath, field: &str) -> Result<FileState> {
        if let Some(s) = self.current.get(path) {
            return Ok(s.clone());
        }
        path.check_on_disk(self.root, self.file, field)
            .map_err(|e| user_path_error(e, path, self.file, field))?;
        let s = FileState::read(self.root, path)
            .map_err(|e| user_path_error(e, path, self.file, field))?;
        self.original.insert(path.clone(), s.clone());
        self.current.insert(path.clone(), s.clone());
        Ok(s)
    }

    /// Take `state` as what is on disk at `path` (known without reading it),
    /// unless the path was already read or set.
    pub(crate) fn know(&mut self, path: &RepoPath, state: FileState) {
        if !self.current.contains_key(path) {
            self.original.insert(path.clone(), state.clone());
            self.current.insert(path.clone(), state);
        }
    }

    pub(crate) fn set(&mut self, path: &RepoPath, field: &str, state: FileState) -> Result<()> {
        self.get(path, field)?;
        self.current.insert(path.clone(), state);
        Ok(())
    }

    pub(crate) fn changes(self) -> Vec<Change> {
        let mut original = self.original;
        self.current
            .into_iter()
            .filter_map(|(path, after)| {
                let before = original.remove(&path)?;
                (!before.same(&after)).then_some(Change {
                    path,
                    before,
                    after,
                })
            })
            .collect()
    }
}

/// An OS error about a path the input named (not readable, name too long, a
/// component that is not a directory, …) is bad input: exit 2, naming the field
/// and the path. Other I/O errors stay internal.
fn user_path_error(e: Error, path: &RepoPath, file: &str, field: &str) -> Error {
    use std::io::ErrorKind as K;
    match e {
        Error::Io { op, source, .. }
            if matches!(
                source.kind(),
                K::PermissionDenied
                    | K::InvalidFilename
                    | K::NotADirectory
                    | K::IsADirectory
                    | K::InvalidInput
            ) =>
        {
            Error::invalid(
                file,
                field,
                format!("cannot {op} \"{path}\": {source}"),
                Some("check the path and its permissions".into()),
            )
        }
        other => other,
    }
}

fn check_expect(
    cur: &FileState,
    expect: &Expect,
    path: &RepoPath,
    file: &str,
    field: &str,
) -> Result<()> {
    let recompute = Some(format!(
        "the file changed since the proposal was written: recompute the digest from its current content (`sha256sum {path}`)"
    ));
    match (expect, cur) {
        (Expect::Any, _) | (Expect::Absent, FileState::Absent) => Ok(()),
        (Expect::Absent, FileState::File { digest, .. }) => Err(Error::refused(
            Refusal::Precondition,
            file,
            field,
            format!(
                "precondition failed: \"{path}\" exists (sha256 {}) but the proposal expects it absent",
                digest.short()
            ),
            Some(format!(
                "to replace it use \"expect\": {{\"sha256\": \"{digest}\"}}"
            )),
        )),
        (Expect::Sha256(want), FileState::Absent) => Err(Error::refused(
            Refusal::Precondition,
            file,
            field,
            format!(
                "precondition failed: \"{path}\" does not exist but the proposal expects sha256 {}",
                want.short()
            ),
            Some("use \"expect\": \"absent\" to create it".into()),
        )),
        (Expect::Sha256(want), FileState::File { digest, .. }) if want == digest => Ok(()),
        (Expect::Sha256(want), FileState::File { digest, .. }) => Err(Error::refused(
            Refusal::Precondition,
            file,
            field,
            format!(
                "precondition failed: \"{path}\" has sha256 {} but the proposal expects {}",
                digest.short(),
                want.short()
            ),
            recompute,
        )),
    }
}

fn new_mode(current: Option<u32>, executable: Option<bool>) -> u32 {
    let base = current.unwrap_or(0o644);
    match executable {
        Some(true) => base | ((base & 0o444) >> 2),
        Some(false) => base & !0o111,
        None => base,
    }
}

/// The folder a `registry_patch` action may write.
pub const REGISTRY_DIR: &str = "registry/";

/// Check every action's kind and paths against the policy (G4) and the
/// protected areas (G9). Returns the first refusal.
pub fn gate(policy: &Policy, proposal: &Proposal, file: &str) -> Result<()> {
    let allowed = policy.allowed(&proposal.event, &proposal.source.kind);
    let version = &policy.file.version;
    for (i, action) in proposal.actions.iter().enumerate() {
        let kind = action.kind();
        if !allowed.contains(&kind) {
            let hint = if kind == ActionKind::DeleteFile {
                format!(
                    "delete_file is denied unless listed: add it under events.{}.{} in .warden/policy.yaml and bump its version, or use \"quarantine\" to keep the file",
                    proposal.event, proposal.source.kind
                )
            } else {
                format!(
                    "if this is intended, add \"{}\" under events.{}.{} in .warden/policy.yaml and bump its version",
                    kind.name(),
                    proposal.event,
                    proposal.source.kind
                )
            };
            return Err(Error::refused(
                Refusal::Policy,
                file,
                format!("actions[{i}].kind"),
                format!(
                    "policy {version} does not allow source kind \"{}\" to propose \"{}\" on event \"{}\"",
                    proposal.source.kind,
                    kind.name(),
                    proposal.event
                ),
                Some(hint),
            ));
        }
        if let Action::RegistryPatch { path, .. } = action
            && !path.as_str().starts_with(REGISTRY_DIR)
        {
            return Err(Error::rejected(
                file,
                format!("actions[{i}].path"),
                format!(
                    "registry_patch writes only the capability registry ({REGISTRY_DIR}…), not \"{}\"",
                    path.as_str()
                ),
                Some("use write_file for other files".into()),
            ));
        }
        let fields: &[&str] = if kind == ActionKind::MoveFile {
            &["from", "to"]
        } else {
            &["path"]
        };
        for (p, f) in action.paths().into_iter().zip(fields) {
            if p.in_quarantine() {
                return Err(Error::refused(
                    Refusal::Protected,
                    file,
                    format!("actions[{i}].{f}"),
                    format!(
                        "\"{p}\" is inside the quarantine lane {QUARANTINE_DIR}/, which only the quarantine action writes"
                    ),
                    Some(
                        "undo the quarantining run to bring a file back (`warden undo RUN`)".into(),
                    ),
                ));
            }
            if let Some(why) = policy.path_refusal(p) {
                return Err(Error::refused(
                    Refusal::Policy,
                    file,
                    format!("actions[{i}].{f}"),
                    format!("policy {version} refuses this path: {why}"),
                    Some(
                        "change the path, or paths.allow / paths.deny in .warden/policy.yaml"
                            .into(),
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The quarantine lane of run `run`: `.quarantine/<RUN>/`.
pub fn lane_dir(run: &str) -> String {
    format!("{QUARANTINE_DIR}/{run}")
}

/// Where run `run` keeps its copy of `path`: `.quarantine/<RUN>/files/<path>`.
/// User paths live below `files/`, and the index beside it, so no user path
/// can ever collide with the index.
pub fn lane_copy(run: &str, path: &RepoPath) -> RepoPath {
    RepoPath::from_trusted(format!("{}/files/{path}", lane_dir(run)))
}

/// The index of run `run`'s quarantine lane: `.quarantine/<RUN>/index.json`.
pub fn lane_index(run: &str) -> RepoPath {
    RepoPath::from_trusted(format!("{}/index.json", lane_dir(run)))
}

/// `.quarantine/<RUN>/index.json` (`warden.quarantine/v1`).
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
#[schemars(title = "warden quarantine lane index")]
pub struct QuarantineIndex {
    /// Always "warden.quarantine/v1".
    pub schema: String,
    /// The run that moved the files.
    pub run: String,
    /// One object per file: `path` (where it was), `stored` (where it is now,
    /// below `.quarantine/<RUN>/files/`), `sha256`, and why (`reason`; a
    /// quarantine action also names its `source` and `event`).
    pub files: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// The bytes of a lane index (`warden.quarantine/v1`).
pub(crate) fn lane_index_body(run: &str, files: Vec<serde_json::Value>) -> Result<Vec<u8>> {
    let index = QuarantineIndex {
        schema: crate::report::tag("quarantine"),
        run: run.to_string(),
        files: files
            .into_iter()
            .map(|f| match f {
                serde_json::Value::Object(m) => m,
                other => serde_json::Map::from_iter([("value".to_string(), other)]),
            })
            .collect(),
    };
    let mut body = serde_json::to_vec_pretty(&index).map_err(|e| Error::Internal(e.to_string()))?;
    body.push(b'\n');
    Ok(body)
}

/// Refuse, before anything is read, what the apply step could not carry out:
/// names over NAME_MAX or paths near PATH_MAX, one path used by two actions
/// (naming both), and a path used as a file by one action and as a directory
/// by another. Exit 2, naming the action and the path.
pub fn check_shape(root: &Path, proposal: &Proposal, file: &str) -> Result<()> {
    let mut used: BTreeMap<RepoPath, String> = BTreeMap::new();
    // Paths an earlier quarantine action emptied: a later move_file may put a
    // file there (the classifier's "newer file wins the name": the old one
    // goes to the lane, the newcomer takes its place, in one run).
    let mut freed: BTreeSet<RepoPath> = BTreeSet::new();
    for (i, action) in proposal.actions.iter().enumerate() {
        let fields: &[&str] = if action.kind() == ActionKind::MoveFile {
            &["from", "to"]
        } else {
            &["path"]
        };
        for (p, f) in action.paths().into_iter().zip(fields) {
            let field = format!("actions[{i}].{f}");
            p.check_lengths(root, file, &field)?;
            if *f == "to" && freed.remove(p) {
                used.insert(p.clone(), field);
                continue;
            }
            if action.kind() == ActionKind::Quarantine && !used.contains_key(p) {
                freed.insert(p.clone());
            }
            if let Some(prev) = used.get(p) {
                return Err(Error::invalid(
                    file,
                    &field,
                    format!(
                        "\"{p}\" is also used by {prev}; a proposal may use each path only once"
                    ),
                    Some("merge the two actions into one, or split them into two proposals".into()),
                ));
            }
            used.insert(p.clone(), field);
        }
    }
    for (p, field) in &used {
        for dir in p.ancestors() {
            if let Some(other) = used.get(&dir) {
                return Err(Error::invalid(
                    file,
                    field,
                    format!(
                        "\"{p}\" needs \"{dir}\" to be a directory, but {other} uses \"{dir}\" as a file"
                    ),
                    Some("a path cannot be both a file and a directory: split this into two proposals".into()),
                ));
            }
        }
    }
    Ok(())
}

/// Resolve a proposal into a plan for run `run`. `file` names the proposal in errors.
pub fn resolve(
    root: &Path,
    policy: &Policy,
    proposal: &Proposal,
    digest: Digest,
    file: &str,
    run: &str,
) -> Result<Plan> {
    gate(policy, proposal, file)?;
    check_shape(root, proposal, file)?;
    proposal.check_content_files(root, file)?;
    let mut r = Resolver {
        ov: Overlay::new(root, file),
        file,
        run,
        i: 0,
        quarantined: Vec::new(),
        summaries: Vec::new(),
    };
    for (i, action) in proposal.actions.iter().enumerate() {
        r.i = i;
        r.action(action, proposal)?;
    }
    let Resolver {
        mut ov,
        quarantined,
        summaries,
        ..
    } = r;
    if !quarantined.is_empty() {
        let body = lane_index_body(run, quarantined)?;
        ov.set(
            &lane_index(run),
            "quarantine index",
            FileState::file(body, 0o644),
        )?;
    }
    let changes = ov.changes();
    let header = PlanHeader {
        run,
        command: RunCommand::Apply,
        source: proposal.source.clone(),
        event: &proposal.event,
        input_digest: digest,
        undoes: None,
    };
    let plan = build(header, summaries, changes);
    check_limits(policy, &plan, file)?;
    Ok(Plan {
        rationale: (!proposal.rationale.is_empty()).then(|| proposal.rationale.clone()),
        noop: plan.changes.is_empty().then_some(Noop::NothingToChange),
        ..plan
    })
}

/// The actions of one proposal, resolved in order over the overlay.
struct Resolver<'a> {
    ov: Overlay<'a>,
    file: &'a str,
    run: &'a str,
    /// The index of the action being resolved.
    i: usize,
    quarantined: Vec<serde_json::Value>,
    summaries: Vec<ActionSummary>,
}

impl Resolver<'_> {
    fn field(&self, s: &str) -> String {
        format!("actions[{}].{s}", self.i)
    }

    fn action(&mut self, action: &Action, proposal: &Proposal) -> Result<()> {
        match action {
            Action::WriteFile {
                path,
                content,
                expect,
                executable,
                ..
            } => self.write_file(path, content, expect, executable),
            Action::RegistryPatch {
                path,
                content,
                expect,
            } => self.registry_patch(path, content, expect),
            Action::PatchRegion {
                path,
                fence: name,
                content,
                expect,
            } => self.patch_region(path, name, content, expect),
            Action::MoveFile { from, to, expect } => self.move_file(from, to, expect),
            Action::Quarantine {
                path,
                reason,
                expect,
            } => self.quarantine(path, reason, expect, proposal),
            Action::DeleteFile { path, expect } => self.delete_file(path, expect),
        }
    }

    /// `write_file`: the whole new content (a big one stays on disk).
    fn write_file(
        &mut self,
        path: &RepoPath,
        content: &Bytes,
        expect: &Expect,
        executable: &Option<bool>,
    ) -> Result<()> {
        self.summaries.push(summary("write_file", path, None, None));
        let cur = self.ov.get(path, &self.field("path"))?;
        let mode = new_mode(cur.mode(), *executable);
        let want = FileState::with_content(content.content().clone(), content.digest, mode);
        if cur.same(&want) {
            return Ok(());
        }
        check_expect(&cur, expect, path, self.file, &self.field("expect"))?;
        self.ov.set(path, &self.field("path"), want)?;
        Ok(())
    }

    /// `registry_patch`: like `write_file`, below `registry/` only.
    fn registry_patch(&mut self, path: &RepoPath, content: &str, expect: &Expect) -> Result<()> {
        self.summaries
            .push(summary("registry_patch", path, None, None));
        let cur = self.ov.get(path, &self.field("path"))?;
        let want = FileState::file(content.as_bytes().to_vec(), cur.mode().unwrap_or(0o644));
        if cur.same(&want) {
            return Ok(());
        }
        check_expect(&cur, expect, path, self.file, &self.field("expect"))?;
        self.ov.set(path, &self.field("path"), want)?;
        Ok(())
    }

    /// `patch_region`: the file with one AUTO fence's body replaced.
    fn patch_region(
        &mut self,
        path: &RepoPath,
        name: &str,
        content: &str,
        expect: &Expect,
    ) -> Result<()> {
        self.summaries.push(summary(
            "patch_region",
            path,
            None,
            Some(format!("fence {name}")),
        ));
        if let Some((line, text)) = fence::marker_line(content) {
            return Err(Error::invalid(
                self.file,
                self.field("content"),
                format!(
                    "line {line} of the content is an AUTO fence marker ({text:?}); written into fence \"{name}\" it would nest or close fences"
                ),
                Some("remove the BEGIN/END AUTO SECTION lines from the content".into()),
            ));
        }
        let cur = self.ov.get(path, &self.field("path"))?;
        check_expect(&cur, expect, path, self.file, &self.field("expect"))?;
        let FileState::File {
            content: bytes,
            mode,
            ..
        } = &cur
        else {
            return Err(Error::refused(
                Refusal::Precondition,
                self.file,
                self.field("path"),
                format!("\"{path}\" does not exist, so it has no fence \"{name}\""),
                None,
            ));
        };
        let bytes = bytes.load()?;
        let text = std::str::from_utf8(&bytes).map_err(|_| {
            Error::refused(
                Refusal::Precondition,
                self.file,
                self.field("path"),
                format!("\"{path}\" is not UTF-8 text; AUTO fences need text"),
                None,
            )
        })?;
        let patched = fence::patch(text, name, content).map_err(|e| match e {
                PatchError::Malformed(fe) => Error::refused(Refusal::Precondition,
                    path.as_str(),
                    format!("line {}", fe.line),
                    format!("malformed AUTO fence: {}", fe.message),
                    Some("fix the BEGIN/END AUTO SECTION markers by hand".into()),
                ),
                PatchError::Missing(n) => Error::refused(Refusal::Precondition,
                    self.file,
                    self.field("fence"),
                    format!("\"{path}\" has no fence \"{n}\""),
                    Some(format!("add `BEGIN AUTO SECTION: {n}` / `END AUTO SECTION: {n}` comment lines to {path}")),
                ),
                PatchError::HandEdited { name, line } => Error::refused(Refusal::Precondition,
                    path.as_str(),
                    format!("line {line}"),
                    format!("the body of AUTO fence \"{name}\" was edited by hand since warden wrote it; refusing to overwrite it"),
                    Some("move the hand-written text outside the fence, or delete the `checksum=` on its END line to accept the current body".into()),
                ),
            })?;
        if let Some(new_text) = patched {
            self.ov.set(
                path,
                &self.field("path"),
                FileState::file(new_text.into_bytes(), *mode),
            )?;
        }
        Ok(())
    }

    /// `move_file`: never over an existing file.
    fn move_file(&mut self, from: &RepoPath, to: &RepoPath, expect: &Expect) -> Result<()> {
        self.summaries
            .push(summary("move_file", from, Some(to), None));
        let src = self.ov.get(from, &self.field("from"))?;
        let dst = self.ov.get(to, &self.field("to"))?;
        if src == FileState::Absent
            && let Expect::Sha256(want) = expect
            && dst.digest() == Some(*want)
        {
            return Ok(()); // already moved
        }
        if src == FileState::Absent {
            return Err(Error::rejected(
                self.file,
                self.field("from"),
                format!("\"{from}\" does not exist"),
                Some("check the path; `git status` shows what moved".into()),
            ));
        }
        check_expect(&src, expect, from, self.file, &self.field("expect"))?;
        if dst != FileState::Absent {
            return Err(Error::rejected(
                self.file,
                self.field("to"),
                format!("the destination \"{to}\" already exists; move_file never overwrites"),
                Some("quarantine or move the existing file first, in the same proposal".into()),
            ));
        }
        self.ov.set(to, &self.field("to"), src)?;
        self.ov.set(from, &self.field("from"), FileState::Absent)?;
        Ok(())
    }

    /// `quarantine`: the file moves to the lane, which gets an index entry.
    fn quarantine(
        &mut self,
        path: &RepoPath,
        reason: &String,
        expect: &Expect,
        proposal: &Proposal,
    ) -> Result<()> {
        self.summaries
            .push(summary("quarantine", path, None, Some(reason.clone())));
        let cur = self.ov.get(path, &self.field("path"))?;
        if cur == FileState::Absent {
            return Err(Error::rejected(
                self.file,
                self.field("path"),
                format!("\"{path}\" does not exist, so there is nothing to quarantine"),
                None,
            ));
        }
        check_expect(&cur, expect, path, self.file, &self.field("expect"))?;
        let dest = lane_copy(self.run, path);
        let dest_field = self.field("path");
        self.ov.set(&dest, &dest_field, cur.clone())?;
        self.ov.set(path, &self.field("path"), FileState::Absent)?;
        self.quarantined.push(serde_json::json!({
                "path": path.as_str(), "stored": dest.as_str(), "reason": reason, "sha256": cur.digest(),
                "source": proposal.source, "event": proposal.event,
            }));
        if let Some(s) = self.summaries.last_mut() {
            s.to = Some(dest.to_string());
        }
        Ok(())
    }

    /// `delete_file`.
    fn delete_file(&mut self, path: &RepoPath, expect: &Expect) -> Result<()> {
        self.summaries
            .push(summary("delete_file", path, None, None));
        let cur = self.ov.get(path, &self.field("path"))?;
        if cur == FileState::Absent && !matches!(expect, Expect::Absent) {
            return Ok(()); // already deleted
        }
        check_expect(&cur, expect, path, self.file, &self.field("expect"))?;
        self.ov.set(path, &self.field("path"), FileState::Absent)?;
        Ok(())
    }
}

fn summary(
    kind: &str,
    path: &RepoPath,
    to: Option<&RepoPath>,
    reason: Option<String>,
) -> ActionSummary {
    ActionSummary {
        kind: kind.into(),
        path: path.to_string(),
        to: to.map(|t| t.to_string()),
        reason,
    }
}

fn check_limits(policy: &Policy, plan: &Plan, file: &str) -> Result<()> {
    let l = &policy.file.limits;
    if plan.changes.len() as u64 > l.max_files {
        return Err(Error::refused(
            Refusal::Limit,
            file,
            "actions",
            format!(
                "the run would touch {} paths, more than limits.max_files = {} of policy {}",
                plan.changes.len(),
                l.max_files,
                policy.file.version
            ),
            Some("split the proposal, or raise limits.max_files in .warden/policy.yaml".into()),
        ));
    }
    let new_bytes = new_content_bytes(plan);
    if new_bytes > l.max_bytes {
        return Err(Error::refused(
            Refusal::Limit,
            file,
            "actions",
            format!(
                "the run would write {new_bytes} bytes of new content, more than limits.max_bytes = {} of policy {}",
                l.max_bytes, policy.file.version
            ),
            Some("split the proposal, or raise limits.max_bytes in .warden/policy.yaml".into()),
        ));
    }
    Ok(())
}

/// The bytes of new content a plan brings into the working tree: what
/// `limits.max_bytes` limits. Content that the same plan takes away from
/// another path (a `move_file` or a `quarantine`: a path that ends absent
/// and a path that ends with the same digest) is moved, not new, and is
/// not charged, whatever its size; every other after-state counts in full.
/// See docs/configuration.md ("limits").
pub fn new_content_bytes(plan: &Plan) -> u64 {
    let mut moved: std::collections::HashMap<Digest, usize> = std::collections::HashMap::new();
    for c in &plan.changes {
        if let (Some(d), FileState::Absent) = (c.before.digest(), &c.after) {
            *moved.entry(d).or_default() += 1;
        }
    }
    let mut total = 0u64;
    for c in &plan.changes {
        let (Some(content), Some(d)) = (c.after.content(), c.after.digest()) else {
            continue;
        };
        if c.before == FileState::Absent
            && let Some(n) = moved.get_mut(&d).filter(|n| **n > 0)
        {
            *n -= 1;
            continue;
        }
        total += content.len();
    }
    total
}

/// What a plan is of: its run, command, source, event, input and (for an
/// undo) the run it undoes. [`build`] adds the actions and changes.
pub struct PlanHeader<'a> {
    pub run: &'a str,
    pub command: RunCommand,
    pub source: Source,
    pub event: &'a str,
    pub input_digest: Digest,
    pub undoes: Option<String>,
}

/// Assemble a plan from changes: counts and unified diff.
pub fn build(header: PlanHeader<'_>, actions: Vec<ActionSummary>, changes: Vec<Change>) -> Plan {
    let PlanHeader {
        run,
        command,
        source,
        event,
        input_digest,
        undoes,
    } = header;
    let mut counts = Counts {
        files: changes.len() as u64,
        ..Default::default()
    };
    let mut diff = String::new();
    for c in &changes {
        match (&c.before, &c.after) {
            (FileState::Absent, FileState::File { .. }) => counts.added += 1,
            (FileState::File { .. }, FileState::Absent) => counts.deleted += 1,
            _ => counts.modified += 1,
        }
        counts.bytes_written += c.after.content().map_or(0, Content::len);
        render_diff(c, &mut diff, &mut counts);
    }
    Plan {
        run: run.into(),
        command,
        source,
        event: event.into(),
        rationale: None,
        input_digest,
        undoes,
        actions,
        changes,
        counts,
        diff,
        noop: None,
        dirs: Vec::new(),
        details: None,
    }
}

fn render_diff(c: &Change, out: &mut String, counts: &mut Counts) {
    let p = c.path.as_str();
    let (a, b) = (c.before.content(), c.after.content());
    // A name with a control character is quoted and escaped, as git's own
    // diff header does (`"a/x\033[2J"`), so it cannot forge a line.
    let (qa, qb) = (
        crate::text::shown(&format!("a/{p}")).to_string(),
        crate::text::shown(&format!("b/{p}")).to_string(),
    );
    let old_name = if a.is_some() {
        qa.clone()
    } else {
        "/dev/null".into()
    };
    let new_name = if b.is_some() {
        qb.clone()
    } else {
        "/dev/null".into()
    };
    out.push_str(&format!("diff --git {qa} {qb}\n"));
    match (c.before.mode(), c.after.mode()) {
        (None, Some(m)) => out.push_str(&format!("new file mode {:o}\n", 0o100000 | m)),
        (Some(m), None) => out.push_str(&format!("deleted file mode {:o}\n", 0o100000 | m)),
        (Some(x), Some(y)) if x != y => out.push_str(&format!(
            "old mode {:o}\nnew mode {:o}\n",
            0o100000 | x,
            0o100000 | y
        )),
        _ => {}
    }
    if c.before.digest() == c.after.digest() {
        return;
    }
    fn inline(x: Option<&Content>) -> Option<&[u8]> {
        match x {
            None => Some(&[][..]),
            Some(c) if c.is_large() => None,
            Some(c) => c.bytes(),
        }
    }
    let (Some(a), Some(b)) = (inline(a), inline(b)) else {
        large_summary(c, out);
        return;
    };
    let (ta, tb) = (std::str::from_utf8(a), std::str::from_utf8(b));
    let (Ok(ta), Ok(tb)) = (ta, tb) else {
        out.push_str(&format!("Binary files {old_name} and {new_name} differ\n"));
        return;
    };
    let d = similar::TextDiff::from_lines(ta, tb);
    for ch in d.iter_all_changes() {
        match ch.tag() {
            similar::ChangeTag::Insert => counts.lines_added += 1,
            similar::ChangeTag::Delete => counts.lines_removed += 1,
            similar::ChangeTag::Equal => {}
        }
    }
    out.push_str(
        &d.unified_diff()
            .context_radius(3)
            .header(&old_name, &new_name)
            .to_string(),
    );
    if !out.ends_with('\n') {
        out.push('\n');
    }
}

/// The one line that stands for the diff of a file over
/// [`LARGE`](crate::content::LARGE) (either side): digests and sizes, never
/// the content.
fn large_summary(c: &Change, out: &mut String) {
    let side = |s: &FileState| match s {
        FileState::Absent => "absent".to_string(),
        FileState::File {
            content, digest, ..
        } => format!("sha256 {} ({} bytes)", digest.short(), content.len()),
    };
    out.push_str(&format!(
        "Binary/large file changed: {} -> {}\n",
        side(&c.before),
        side(&c.after)
    ));
}

/// A unified diff of two texts (3 lines of context), e.g. for reports that
/// compare two versions of a document.
pub fn unified_diff(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(old_name, new_name)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_os_error_about_a_user_path_is_input_naming_the_path() {
        let p = RepoPath::parse("docs/a.md", "f", "x").expect("path");
        let io = |kind| Error::Io {
            op: "read",
            path: "/r/docs/a.md".into(),
            source: std::io::Error::from(kind),
        };
        let e = user_path_error(
            io(std::io::ErrorKind::PermissionDenied),
            &p,
            "p.json",
            "actions[3].path",
        );
        assert_eq!(e.class(), crate::ExitClass::Input);
        assert!(
            e.to_string().contains("actions[3].path") && e.to_string().contains("docs/a.md"),
            "{e}"
        );
        let e = user_path_error(
            io(std::io::ErrorKind::OutOfMemory),
            &p,
            "p.json",
            "actions[3].path",
        );
        assert_eq!(e.class(), crate::ExitClass::Internal);
    }
}
