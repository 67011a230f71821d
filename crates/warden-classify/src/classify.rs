//! One classification pass: pick the files in scope, read
//! them, score each against the registry, settle name clashes by the dedupe
//! rules, and turn the decisions into ONE proposal of `move_file` and
//! `quarantine` actions (never `delete_file`) on the `FileDetected` event.
//!
//! Scope: every file under the inbox roots, or the paths named. A file
//! inside a module's folder is reported, never moved, unless `reclassify`.
//! A winner goes to `<module folder>/<file name>` (sub-folders of the inbox
//! are not kept). Every action carries the file's sha256 as its
//! precondition, so a file changed between plan and apply is refused, and
//! re-seeing a file that was already placed proposes nothing (G6).

use crate::dedupe::{self, Keeps, Version};
use crate::report::{ClassifyReport, FileDecision, Outcome, SkipReason, Skipped};
use crate::scan::{self, FileInfo};
use crate::score::{DecisionPath, Scorer, Verdict};
use crate::times::{TimeSource, Times};
use rayon::prelude::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use warden_core::modules::{Modules, OnAmbiguous};
use warden_core::paths::RepoPath;
use warden_core::proposal::{Action, Expect, Proposal, RepoPathSchema, Source};
use warden_core::{Digest, Result};

/// The proposal's source: the classifier is a collector on `FileDetected`.
pub const SOURCE_KIND: &str = "collector";
pub const SOURCE_ID: &str = "warden-classify";
pub const EVENT: &str = "FileDetected";

/// Quarantine reasons the classifier uses.
pub const REASON_UNCLASSIFIED: &str = "unclassified";
pub const REASON_AMBIGUOUS: &str = "ambiguous";
pub const REASON_DUPLICATE: &str = "duplicate";
pub const REASON_SUPERSEDED: &str = "superseded";

/// What to look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every file under the registry's inbox roots.
    Inbox,
    /// These repository paths (files, or folders walked recursively).
    Paths(Vec<RepoPath>),
}

#[derive(Debug, Clone)]
pub struct Options {
    pub scope: Scope,
    /// Also move files that already lie inside a module's folder.
    pub reclassify: bool,
}

/// The decisions of one pass and the proposal they make.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub files: Vec<FileDecision>,
    /// The proposal's actions, quarantines first (a quarantined holder frees
    /// its name for the newcomer that wins it), then moves. Built as the
    /// core's typed actions: a big inbox never goes through a JSON value.
    pub actions: Vec<Action>,
    /// Entries in scope left unclassified (not regular files, names that
    /// are not UTF-8, files that changed while classify ran).
    pub skipped: Vec<Skipped>,
}

impl Analysis {
    /// The proposal (`warden.proposal/v1`) and its digest; `None` when there
    /// is no action. The digest is the one [`Proposal::from_value`] gives the
    /// same proposal as JSON (sha256 of its canonical JSON, keys sorted),
    /// computed by writing that form once into the hasher.
    pub fn proposal(&self) -> Result<Option<(Proposal, Digest)>> {
        if self.actions.is_empty() {
            return Ok(None);
        }
        let evidence: Vec<String> = self
            .files
            .iter()
            .filter(|f| f.action.is_some())
            .map(|f| {
                format!(
                    "{} {} {}{}",
                    f.path,
                    f.sha256.short(),
                    f.decision_path.name(),
                    f.module
                        .as_ref()
                        .map(|m| format!(" {m}"))
                        .unwrap_or_default()
                )
            })
            .collect();
        let p = Proposal {
            schema: warden_core::proposal::PROPOSAL_SCHEMA_ID.into(),
            source: Source {
                kind: SOURCE_KIND.into(),
                id: SOURCE_ID.into(),
            },
            event: EVENT.into(),
            rationale: format!(
                "classify {} file(s) by .warden/modules.yaml",
                self.files.len()
            ),
            confidence: None,
            evidence,
            actions: self.actions.clone(),
        };
        let digest = canonical_digest(&p)?;
        Ok(Some((p, digest)))
    }

    /// The proposal as JSON (`warden.proposal/v1`); `None` when there is no action.
    pub fn proposal_value(&self) -> Result<Option<Value>> {
        match self.proposal()? {
            Some((p, _)) => serde_json::to_value(&p)
                .map(Some)
                .map_err(|e| warden_core::Error::Internal(e.to_string())),
            None => Ok(None),
        }
    }

    /// The report of this pass (a copy; see [`Analysis::into_report`]).
    pub fn report(&self, run: Option<String>, outcome: Outcome) -> ClassifyReport {
        ClassifyReport::new(run, outcome, self.files.clone()).with_skipped(self.skipped.clone())
    }

    /// The report of this pass, without copying the decisions.
    pub fn into_report(self, run: Option<String>, outcome: Outcome) -> ClassifyReport {
        ClassifyReport::new(run, outcome, self.files).with_skipped(self.skipped)
    }

    /// Fill in where quarantined files went, once the run id is known.
    pub fn set_lane(&mut self, run: &str) {
        for f in &mut self.files {
            if f.action.as_deref() == Some("quarantine")
                && let Ok(p) = RepoPath::parse(&f.path, "(classifier)", "path")
            {
                f.target = Some(warden_core::plan::lane_copy(run, &p).to_string());
            }
        }
    }
}

/// The sha256 of a classifier proposal's canonical JSON: the bytes
/// `serde_json` writes for the same proposal as a JSON value (object keys
/// sorted, no whitespace), streamed into the hasher. The structs of
/// [`canonical`] declare their fields in sorted order so that serde writes
/// them so.
fn canonical_digest(p: &Proposal) -> Result<Digest> {
    use canonical::{Canon, Src};
    let actions = p
        .actions
        .iter()
        .map(canonical::action)
        .collect::<Result<Vec<_>>>()?;
    let canon = Canon {
        actions,
        event: &p.event,
        evidence: &p.evidence,
        rationale: &p.rationale,
        schema: &p.schema,
        source: Src {
            id: &p.source.id,
            kind: &p.source.kind,
        },
    };
    crate::json_digest(&canon).map_err(|e| warden_core::Error::Internal(e.to_string()))
}

/// A classifier proposal as its canonical JSON value: fields in sorted order.
mod canonical {
    use warden_core::proposal::{Action, Expect};
    use warden_core::{Digest, Result};

    #[derive(serde::Serialize)]
    pub(super) struct Src<'a> {
        pub(super) id: &'a str,
        pub(super) kind: &'a str,
    }

    #[derive(serde::Serialize)]
    pub(super) struct Sha<'a> {
        sha256: &'a Digest,
    }

    #[derive(serde::Serialize)]
    #[serde(untagged)]
    pub(super) enum Exp<'a> {
        Word(&'static str),
        Sha(Sha<'a>),
    }

    #[derive(serde::Serialize)]
    #[serde(untagged)]
    pub(super) enum Act<'a> {
        Move {
            expect: Exp<'a>,
            from: &'a str,
            kind: &'static str,
            to: &'a str,
        },
        Quarantine {
            expect: Exp<'a>,
            kind: &'static str,
            path: &'a str,
            reason: &'a str,
        },
    }

    #[derive(serde::Serialize)]
    pub(super) struct Canon<'a> {
        pub(super) actions: Vec<Act<'a>>,
        pub(super) event: &'a str,
        pub(super) evidence: &'a [String],
        pub(super) rationale: &'a str,
        pub(super) schema: &'a str,
        pub(super) source: Src<'a>,
    }

    fn exp(e: &Expect) -> Exp<'_> {
        match e {
            Expect::Absent => Exp::Word("absent"),
            Expect::Any => Exp::Word("any"),
            Expect::Sha256(d) => Exp::Sha(Sha { sha256: d }),
        }
    }

    /// One action; the classifier proposes only moves and quarantines.
    pub(super) fn action(a: &Action) -> Result<Act<'_>> {
        Ok(match a {
            Action::MoveFile { from, to, expect } => Act::Move {
                expect: exp(expect),
                from: from.0.as_str(),
                kind: "move_file",
                to: to.0.as_str(),
            },
            Action::Quarantine {
                path,
                reason,
                expect,
            } => Act::Quarantine {
                expect: exp(expect),
                kind: "quarantine",
                path: path.0.as_str(),
                reason,
            },
            other => {
                return Err(warden_core::Error::Internal(format!(
                    "the classifier proposes only move_file and quarantine, not {}",
                    other.kind().name()
                )));
            }
        })
    }
}

/// The files in scope, sorted and without duplicates.
pub fn files_in_scope(root: &Path, reg: &Modules, scope: &Scope) -> Result<Vec<RepoPath>> {
    Ok(scope_of(root, reg, scope)?.0)
}

/// The files in scope, sorted and without duplicates, and the entries in
/// scope that are not classified (sorted).
pub fn scope_of(
    root: &Path,
    reg: &Modules,
    scope: &Scope,
) -> Result<(Vec<RepoPath>, Vec<Skipped>)> {
    let starts: Vec<RepoPath> = match scope {
        Scope::Inbox => reg.inbox.clone(),
        Scope::Paths(p) => p.clone(),
    };
    let mut all = BTreeSet::new();
    let mut skipped = Vec::new();
    for s in &starts {
        all.extend(scan::walk_reporting(root, s, &mut skipped)?);
    }
    skipped.sort();
    skipped.dedup();
    Ok((all.into_iter().collect(), skipped))
}

/// The folders that count for a file's path score: those between its inbox
/// root and the file, or all its folders outside an inbox.
fn scoring_dirs(reg: &Modules, path: &RepoPath) -> String {
    let parent = path.parent().map(|p| p.to_string()).unwrap_or_default();
    let inbox = reg
        .inbox
        .iter()
        .filter(|r| parent == r.as_str() || parent.starts_with(&format!("{}/", r.as_str())))
        .max_by_key(|r| r.as_str().len());
    match inbox {
        Some(r) => parent[r.as_str().len()..]
            .trim_start_matches('/')
            .to_string(),
        None => parent,
    }
}

/// Whether `path` lies under one of the registry's inbox roots.
fn in_inbox(reg: &Modules, path: &RepoPath) -> bool {
    reg.inbox
        .iter()
        .any(|r| path.as_str().starts_with(&format!("{}/", r.as_str())))
}

fn join(folder: &RepoPath, name: &str) -> Result<RepoPath> {
    RepoPath::parse(
        &format!("{}/{name}", folder.as_str()),
        "(classifier)",
        "target",
    )
}

/// Classify the files in scope.
pub fn analyse(root: &Path, reg: &Modules, opts: &Options, times: &dyn Times) -> Result<Analysis> {
    let (paths, skipped) = scope_of(root, reg, &opts.scope)?;
    let mut a = analyse_read(root, reg, opts, times, &paths, &|_| true)?;
    a.skipped.extend(skipped);
    a.skipped.sort();
    Ok(a)
}

/// [`analyse`] leaving out `changed` (files that changed while a run was
/// planned): they are reported as skipped, `changed_while_classifying`.
pub fn analyse_without(
    root: &Path,
    reg: &Modules,
    opts: &Options,
    times: &dyn Times,
    changed: &BTreeSet<RepoPath>,
) -> Result<Analysis> {
    let (paths, mut skipped) = scope_of(root, reg, &opts.scope)?;
    let (left, kept): (Vec<RepoPath>, Vec<RepoPath>) =
        paths.into_iter().partition(|p| changed.contains(p));
    let mut a = analyse_read(root, reg, opts, times, &kept, &|_| true)?;
    skipped.extend(
        left.iter()
            .map(|p| Skipped::new(p.as_str(), SkipReason::ChangedWhileClassifying)),
    );
    a.skipped.extend(skipped);
    a.skipped.sort();
    Ok(a)
}

/// Classify `paths` (files), leaving out those `keep` refuses once read (the
/// watcher: a file whose size changed since it settled waits). Each file is
/// read, hashed and scored in one parallel pass, and its head dropped as soon
/// as it is scored, so a batch never holds its contents.
pub fn analyse_paths(
    root: &Path,
    reg: &Modules,
    opts: &Options,
    times: &dyn Times,
    paths: &[RepoPath],
    keep: &(dyn Fn(&FileInfo) -> bool + Sync),
) -> Result<Analysis> {
    analyse_read(root, reg, opts, times, paths, keep)
}

fn analyse_read(
    root: &Path,
    reg: &Modules,
    opts: &Options,
    times: &dyn Times,
    paths: &[RepoPath],
    keep: &(dyn Fn(&FileInfo) -> bool + Sync),
) -> Result<Analysis> {
    let scorer = Scorer::new(reg);
    let scored: Vec<Result<Option<(FileInfo, Verdict)>>> = paths
        .par_iter()
        .map_init(
            || vec![0u8; scan::READ_BUF],
            |buf, p| match scan::read_with(root, p, buf) {
                Ok(info) if keep(&info) => Ok(Some(score_one(&scorer, reg, info))),
                Ok(_) => Ok(None),
                Err(warden_core::Error::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    Ok(None)
                }
                Err(e) => Err(e),
            },
        )
        .collect();
    let mut all = Vec::with_capacity(scored.len());
    for s in scored {
        if let Some(x) = s? {
            all.push(x);
        }
    }
    decide_all(root, reg, opts, times, all)
}

fn score_one(scorer: &Scorer, reg: &Modules, mut info: FileInfo) -> (FileInfo, Verdict) {
    let facts = scorer.facts(
        info.path.file_name(),
        &scoring_dirs(reg, &info.path),
        &info.head,
    );
    info.head = Vec::new();
    let v = scorer.decide(&facts);
    (info, v)
}

/// Classify files already read (the watcher reads them itself).
pub fn analyse_files(
    root: &Path,
    reg: &Modules,
    opts: &Options,
    times: &dyn Times,
    infos: Vec<FileInfo>,
) -> Result<Analysis> {
    let scorer = Scorer::new(reg);
    let scored: Vec<(FileInfo, Verdict)> = infos
        .into_par_iter()
        .map(|info| score_one(&scorer, reg, info))
        .collect();
    decide_all(root, reg, opts, times, scored)
}

fn decide_all(
    root: &Path,
    reg: &Modules,
    opts: &Options,
    times: &dyn Times,
    scored: Vec<(FileInfo, Verdict)>,
) -> Result<Analysis> {
    let batch: BTreeSet<RepoPath> = scored.iter().map(|(i, _)| i.path.clone()).collect();
    let (files, wants, mut skipped) = own_decisions(root, reg, opts, scored)?;
    // Name clashes: against the file in place and between newcomers.
    let mut clashes = Clashes {
        root,
        times,
        batch: &batch,
        files,
        taken: BTreeMap::new(),
        timed: BTreeSet::new(),
        extra: Vec::new(),
    };
    for (target, group) in &wants {
        clashes.settle(target, group)?;
    }
    let Clashes {
        mut files, extra, ..
    } = clashes;
    files.extend(extra);
    // A content-derived name (`dedupe_kept_both`) was not checked with the
    // name its module gave: check it now, the same way.
    files.retain(|f| {
        let Some(to) = f.target.as_deref().filter(|_| {
            f.action.as_deref() == Some("move_file")
                && f.decision_path == DecisionPath::DedupeKeptBoth
        }) else {
            return true;
        };
        let Ok(to) = RepoPath::parse(to, "(classifier)", "target") else {
            return true;
        };
        match unusable_destination(root, &f.path, &to, f.module.as_deref()) {
            Some(s) => {
                skipped.push(s);
                false
            }
            None => true,
        }
    });
    files.sort_by(|a, b| a.path.cmp(&b.path));
    skipped.sort();
    let actions = actions_of(&files)?;
    Ok(Analysis {
        files,
        actions,
        skipped,
    })
}

/// Why a winner's destination cannot take it, by the check the engine
/// runs on every path before it writes ([`RepoPath::check_on_disk`]): a
/// symbolic link at or above it, or something there that is not a regular
/// file. The file is then skipped (`unusable_destination`), never the run:
/// the user chose no path, the registry did, so it is reported with what
/// is in the way, and every other file still goes where it belongs.
fn unusable_destination(
    root: &Path,
    from: &str,
    target: &RepoPath,
    module: Option<&str>,
) -> Option<Skipped> {
    let why = match target.check_on_disk(root, "(classifier)", "target") {
        Ok(()) => return None,
        Err(warden_core::Error::Invalid { message, .. }) => message,
        Err(e) => e.to_string(),
    };
    let module = module.map(|m| format!(" (module {m})")).unwrap_or_default();
    Some(
        Skipped::new(from, SkipReason::UnusableDestination)
            .with_detail(format!("it would go to {target}{module}, but {why}")),
    )
}

/// Target → indexes of the files that want it, in path order.
type Wants = BTreeMap<RepoPath, Vec<usize>>;

/// Each file's decision on its own (before any name clash), and the targets
/// wanted.
fn own_decisions(
    root: &Path,
    reg: &Modules,
    opts: &Options,
    scored: Vec<(FileInfo, Verdict)>,
) -> Result<(Vec<FileDecision>, Wants, Vec<Skipped>)> {
    let mut files: Vec<FileDecision> = Vec::with_capacity(scored.len());
    let mut wants = Wants::new();
    let mut skipped = Vec::new();
    for (info, v) in scored {
        let info = &info;
        let mut d = FileDecision::new(info, v.path, v.module.clone(), v.candidates, v.reason);
        let owner = reg.owner_of(&info.path).map(|m| m.name.clone());
        if let Some(owner) = owner.filter(|_| !opts.reclassify) {
            d.reason = format!(
                "already in module {owner}'s folder: reported, not moved (pass --reclassify to move it); {}",
                d.reason
            );
            files.push(d);
            continue;
        }
        match (v.path, &v.module) {
            (DecisionPath::ClearWinner | DecisionPath::PriorityTiebreak, Some(m)) => {
                let Some(module) = reg.get(m) else {
                    files.push(d);
                    continue;
                };
                let target = join(&module.folder, info.path.file_name())?;
                if target == info.path {
                    d.reason = format!("already in place; {}", d.reason);
                } else if let Some(s) =
                    unusable_destination(root, info.path.as_str(), &target, Some(m))
                {
                    // Checked before any clash is settled, so no holder is
                    // displaced for a newcomer that cannot take its name.
                    skipped.push(s);
                    continue;
                } else {
                    wants.entry(target).or_default().push(files.len());
                }
            }
            (DecisionPath::Unclassified | DecisionPath::Ambiguous, _)
                if !in_inbox(reg, &info.path) =>
            {
                d.reason = format!(
                    "outside the inbox: left in place (only files dropped into an inbox go to quarantine); {}",
                    d.reason
                );
            }
            (DecisionPath::Unclassified, _) => {
                d.quarantine(REASON_UNCLASSIFIED);
            }
            (DecisionPath::Ambiguous, _) if reg.ambiguous == OnAmbiguous::Quarantine => {
                d.quarantine(REASON_AMBIGUOUS);
            }
            _ => {}
        }
        files.push(d);
    }
    Ok((files, wants, skipped))
}

/// The holder of a wanted name: the file on disk (unless it is itself in
/// this batch and moving away), else the first newcomer.
enum Holder {
    Disk(Box<FileDecision>),
    New(usize),
    Nobody,
}

/// What settling name clashes shares across targets.
struct Clashes<'a> {
    root: &'a Path,
    times: &'a dyn Times,
    batch: &'a BTreeSet<RepoPath>,
    files: Vec<FileDecision>,
    /// Content-derived names already handed out in this batch.
    taken: BTreeMap<RepoPath, Digest>,
    /// Files whose comparison time was already asked for.
    timed: BTreeSet<usize>,
    /// Files on disk that lose their name to a newcomer.
    extra: Vec<FileDecision>,
}

impl Clashes<'_> {
    /// Settle who gets `target` among the file on disk and the newcomers in `group`.
    fn settle(&mut self, target: &RepoPath, group: &[usize]) -> Result<()> {
        let mut holder = self.disk_holder(target)?;
        for &i in group {
            if matches!(holder, Holder::Nobody) {
                let module = self.files[i].module.clone();
                self.files[i].place(target, module.as_deref());
                holder = Holder::New(i);
                continue;
            }
            holder = self.contest(target, holder, i)?;
        }
        Ok(())
    }

    fn disk_holder(&self, target: &RepoPath) -> Result<Holder> {
        if self.batch.contains(target) || !is_file(&target.to_fs(self.root)) {
            return Ok(Holder::Nobody);
        }
        let info = scan::read(self.root, target)?;
        let mut d = FileDecision::new(
            &info,
            DecisionPath::ClearWinner,
            None,
            Vec::new(),
            String::new(),
        );
        let (t, src) = self.times.mtime(self.root, target, info.fs_mtime);
        d.mtime = t;
        d.time_source = src;
        Ok(Holder::Disk(Box::new(d)))
    }

    /// Only a clash needs the comparison time (git is asked then only).
    fn ask_time(&mut self, k: usize) -> Result<()> {
        if self.timed.insert(k) {
            let f = &mut self.files[k];
            let p = RepoPath::parse(&f.path, "(classifier)", "path")?;
            let (t, src) = self.times.mtime(self.root, &p, f.mtime);
            f.mtime = t;
            f.time_source = src;
        }
        Ok(())
    }

    /// Newcomer `i` against the current holder of `target`; returns the holder after.
    fn contest(&mut self, target: &RepoPath, holder: Holder, i: usize) -> Result<Holder> {
        let module = self.files[i].module.clone();
        self.ask_time(i)?;
        if let Holder::New(j) = holder {
            self.ask_time(j)?;
        }
        let newcomer = version(&self.files[i]);
        let (held, holder_desc) = match &holder {
            Holder::Disk(d) => (version(d), d.path.clone()),
            Holder::New(j) => (version(&self.files[*j]), self.files[*j].path.clone()),
            Holder::Nobody => (newcomer.clone(), String::new()),
        };
        let (path, keeps) = dedupe::compare(&held, &newcomer);
        let why = clash_reason(
            target,
            &holder_desc,
            &self.files[i].path,
            path,
            &held,
            &newcomer,
        );
        match keeps {
            Keeps::Holder => {
                let f = &mut self.files[i];
                f.decision_path = path;
                f.winner_sha256 = Some(held.sha256);
                f.reason = why;
                f.quarantine(if path == DecisionPath::DedupeCollapsed {
                    REASON_DUPLICATE
                } else {
                    REASON_SUPERSEDED
                });
                Ok(holder)
            }
            Keeps::Newcomer => {
                self.supersede(holder, path, newcomer.sha256, &module, &why);
                let f = &mut self.files[i];
                f.decision_path = path;
                f.reason = why;
                f.place(target, module.as_deref());
                Ok(Holder::New(i))
            }
            Keeps::Both => {
                self.keep_both(target, i, path, newcomer.sha256, module.as_deref(), why)?;
                Ok(holder)
            }
        }
    }

    /// The holder loses the name to a newcomer with content `winner`.
    fn supersede(
        &mut self,
        holder: Holder,
        path: DecisionPath,
        winner: Digest,
        module: &Option<String>,
        why: &str,
    ) {
        match holder {
            Holder::Disk(mut d) => {
                d.decision_path = path;
                d.winner_sha256 = Some(winner);
                d.module = module.clone();
                d.reason = why.to_string();
                d.quarantine(REASON_SUPERSEDED);
                self.extra.push(*d);
            }
            Holder::New(j) => {
                let f = &mut self.files[j];
                f.decision_path = path;
                f.winner_sha256 = Some(winner);
                f.reason = why.to_string();
                f.target = None;
                f.quarantine(REASON_SUPERSEDED);
            }
            Holder::Nobody => {}
        }
    }

    /// Both versions stay: newcomer `i` goes under its content-derived name.
    fn keep_both(
        &mut self,
        target: &RepoPath,
        i: usize,
        path: DecisionPath,
        sha256: Digest,
        module: Option<&str>,
        why: String,
    ) -> Result<()> {
        let alt = dedupe::kept_both_name(target, &sha256)?;
        let f = &mut self.files[i];
        f.decision_path = path;
        f.reason = why;
        let on_disk = if self.batch.contains(&alt) || !is_file(&alt.to_fs(self.root)) {
            None
        } else {
            Some(scan::read(self.root, &alt)?.sha256)
        };
        let f = &mut self.files[i];
        match self.taken.get(&alt).copied().or(on_disk) {
            Some(d) if d == sha256 => {
                f.decision_path = DecisionPath::DedupeCollapsed;
                f.winner_sha256 = Some(d);
                f.reason = format!("{alt} already holds the same content");
                f.quarantine(REASON_DUPLICATE);
            }
            Some(_) => {
                // A different file under the content-derived
                // name: a prefix collision. Leave it, never guess.
                f.decision_path = DecisionPath::Ambiguous;
                f.reason = format!(
                    "{alt} exists with other content (sha256 prefix collision): left in place"
                );
            }
            None => {
                self.taken.insert(alt.clone(), sha256);
                f.place(&alt, module);
            }
        }
        Ok(())
    }
}

fn is_file(fs: &Path) -> bool {
    std::fs::symlink_metadata(fs).is_ok_and(|m| m.is_file())
}

/// The sentence that explains how a clash over `target` was settled.
fn clash_reason(
    target: &RepoPath,
    holder: &str,
    newcomer_path: &str,
    path: DecisionPath,
    held: &Version,
    newcomer: &Version,
) -> String {
    match path {
        DecisionPath::DedupeCollapsed => format!(
            "{target} is taken by {holder} with the same content (sha256 {})",
            held.sha256.short()
        ),
        DecisionPath::DedupeNewer => format!(
            "{target} is claimed by {holder} (mtime {}) and {newcomer_path} (mtime {}): the newer keeps the name",
            held.mtime, newcomer.mtime
        ),
        DecisionPath::DedupeLarger => format!(
            "{target} is claimed by {holder} ({} bytes) and {newcomer_path} ({} bytes), same mtime: the larger keeps the name",
            held.size, newcomer.size
        ),
        _ => format!(
            "{target} is claimed by {holder} and {newcomer_path}: same mtime and size, different content: both kept"
        ),
    }
}

/// The proposal's actions: quarantines first, then moves.
fn actions_of(files: &[FileDecision]) -> Result<Vec<Action>> {
    let mut quarantines = Vec::new();
    let mut moves = Vec::new();
    for f in files {
        let expect = Expect::Sha256(f.sha256);
        match (f.action.as_deref(), &f.target) {
            (Some("quarantine"), _) => quarantines.push(Action::Quarantine {
                path: RepoPathSchema(RepoPath::parse(&f.path, "(classifier)", "path")?),
                reason: f.quarantine_reason.clone().unwrap_or_default(),
                expect,
            }),
            (Some("move_file"), Some(to)) => moves.push(Action::MoveFile {
                from: RepoPathSchema(RepoPath::parse(&f.path, "(classifier)", "path")?),
                to: RepoPathSchema(RepoPath::parse(to, "(classifier)", "target")?),
                expect,
            }),
            _ => {}
        }
    }
    quarantines.extend(moves);
    Ok(quarantines)
}

fn version(d: &FileDecision) -> Version {
    Version {
        sha256: d.sha256,
        size: d.size,
        mtime: d.mtime,
    }
}

impl FileDecision {
    fn new(
        info: &FileInfo,
        path: DecisionPath,
        module: Option<String>,
        candidates: Vec<crate::score::Candidate>,
        reason: String,
    ) -> FileDecision {
        FileDecision {
            path: info.path.to_string(),
            sha256: info.sha256,
            size: info.size,
            mtime: info.fs_mtime,
            time_source: TimeSource::Filesystem,
            decision_path: path,
            module,
            target: None,
            action: None,
            quarantine_reason: None,
            winner_sha256: None,
            candidates,
            reason,
        }
    }

    fn quarantine(&mut self, reason: &str) {
        self.action = Some("quarantine".into());
        self.quarantine_reason = Some(reason.into());
        self.target = None;
    }

    fn place(&mut self, target: &RepoPath, module: Option<&str>) {
        self.action = Some("move_file".into());
        self.quarantine_reason = None;
        self.target = Some(target.to_string());
        if let Some(m) = module {
            self.module = Some(m.to_string());
        }
    }
}
