//! `warden registry maintain` and `update`: collect suggestions
//! (deterministic first, then one LLM call per capability, then patches from
//! a file), decide each one (the gates below, or a person in the review
//! loop), validate the whole batch as it would land, and write it as ONE
//! `registry_patch` run through the core's policy gate and engine.
//!
//! Tiers: `safe` = every deterministic patch;
//! `llm-metadata` = a non-deterministic patch that is not a promotion;
//! `llm-promote` = a non-deterministic `maturity_promote`.
//!
//! Gates, in order, each naming itself when it refuses:
//! 1. `schema`: the patch fits the registry-patch contract and the registry;
//! 2. `tier`: (automatic only) the patch's tier is enabled (`--auto-tier`);
//! 3. `confidence`: (automatic only, non-deterministic patches) confidence
//!    at least `--auto-confidence` (default high);
//! 4. `evidence`: every cited path (and an appended evidence path) is inside
//!    the repository, exists, and is tracked by git;
//! 5. `level`: a promotion raises a level, by at most `--auto-max-delta`
//!    steps per dimension in this session (default 1; in the review loop a
//!    person may confirm more);
//! 6. `standard`: after the patch, the entry has the evidence the maturity
//!    standard needs for the new level;
//! 7. `validate`: the batch as it would be written passes `registry
//!    validate` (else nothing is written, exit 1).

use crate::collect::{self, Note};
use crate::model::{Origin, slug};
use crate::patch::{self, Confidence, FieldChange, PatchKind, RegistryPatch, Stamp};
use crate::registry::{Registry, Write};
use crate::standard::Standard;
use crate::validate::{self, ValidateReport};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use warden_core::engine::Session;
use warden_core::git::Git;
use warden_core::proposal::Proposal;
use warden_core::text::shown;
use warden_core::{Error, Result};

pub const MAINTAIN_SCHEMA_ID: &str = "warden.registry-maintain/v1";
pub const EVENT_SCHEMA_ID: &str = "warden.registry-event/v1";
pub const UPDATE_SCHEMA_ID: &str = "warden.registry-update/v1";

/// The event the registry's runs are ledgered under.
pub const EVENT: &str = "RegistryMaintain";

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    Safe,
    LlmMetadata,
    LlmPromote,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::Safe, Tier::LlmMetadata, Tier::LlmPromote];

    pub fn name(self) -> &'static str {
        match self {
            Tier::Safe => "safe",
            Tier::LlmMetadata => "llm-metadata",
            Tier::LlmPromote => "llm-promote",
        }
    }

    pub fn parse(s: &str) -> Option<Tier> {
        Self::ALL.into_iter().find(|t| t.name() == s)
    }

    pub fn of(origin: Origin, kind: PatchKind) -> Tier {
        match (origin, kind) {
            (Origin::Deterministic, _) => Tier::Safe,
            (_, PatchKind::MaturityPromote) => Tier::LlmPromote,
            _ => Tier::LlmMetadata,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Gate {
    Schema,
    Tier,
    Confidence,
    Evidence,
    Level,
    Standard,
    Validate,
    /// The LLM call for a capability failed (no patch came back).
    Llm,
}

impl Gate {
    pub fn name(self) -> &'static str {
        match self {
            Gate::Schema => "schema",
            Gate::Tier => "tier",
            Gate::Confidence => "confidence",
            Gate::Evidence => "evidence",
            Gate::Level => "level",
            Gate::Standard => "standard",
            Gate::Validate => "validate",
            Gate::Llm => "llm",
        }
    }
}

/// One suggested patch, numbered in the order it is reviewed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Suggestion {
    pub id: usize,
    pub origin: Origin,
    pub tier: Tier,
    pub patch: RegistryPatch,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PatchOutcome {
    /// Written by the session's run.
    Applied,
    /// Accepted, but its effect was already present.
    Unchanged,
    /// A person skipped it, or the session ended before it was reviewed.
    Skipped,
    /// A gate refused it.
    Rejected,
    /// Accepted, but the batch was not written (validation failed, declined, dry run).
    NotWritten,
}

/// What became of one suggestion.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PatchResult {
    pub id: usize,
    pub origin: Origin,
    pub tier: Tier,
    pub outcome: PatchOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<Gate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The field it changed: `file: field: before -> after`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<String>,
    /// The patch as decided (after an edit in the review loop).
    pub patch: RegistryPatch,
}

impl PatchResult {
    /// `s`, refused by `gate` for `why`.
    pub fn rejected(s: &Suggestion, gate: Gate, why: String) -> PatchResult {
        PatchResult {
            id: s.id,
            origin: s.origin,
            tier: s.tier,
            outcome: PatchOutcome::Rejected,
            gate: Some(gate),
            reason: Some(why),
            change: None,
            patch: s.patch.clone(),
        }
    }
}

/// What the LLM step did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
pub struct LlmSummary {
    pub used: bool,
    /// Why no LLM was asked (`--no-llm`, no URL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    pub calls: usize,
    pub failures: usize,
    /// Where the raw exchanges were recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded_in: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionOutcome {
    /// Nothing was suggested.
    NothingToDo,
    /// Every suggestion applied (or already present).
    Applied,
    /// Some suggestions skipped or refused; the rest (if any) applied as one run.
    Partial,
    /// The batch failed validation: nothing written.
    ValidationFailed,
    /// A person declined to write the accepted patches.
    Declined,
    /// `--dry-run`: nothing written.
    DryRun,
}

/// `warden registry maintain --format json` and the `summary` event.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(title = "warden registry maintain report")]
pub struct MaintainReport {
    /// Always "warden.registry-maintain/v1".
    pub schema: String,
    pub outcome: SessionOutcome,
    /// 0 all applied or nothing to do, 1 validation failed (nothing
    /// written), 5 partial.
    pub exit_code: u8,
    /// The run that wrote the batch (`warden undo RUN` reverts it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    pub suggested: usize,
    pub applied: usize,
    pub skipped: usize,
    pub rejected: usize,
    pub patches: Vec<PatchResult>,
    pub notes: Vec<Note>,
    pub files_changed: Vec<String>,
    /// What a person still has to do.
    pub remaining_manual: Vec<String>,
    /// The batch validation's problems when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation: Option<ValidateReport>,
    pub llm: LlmSummary,
    pub publish_reminder: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish: Option<crate::publish::PublishReport>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Suggestion,
    Applied,
    Skipped,
    Rejected,
    Summary,
}

/// One line of the JSON-lines stream (`warden.registry-event/v1`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(title = "warden registry event")]
pub struct Event {
    /// Always "warden.registry-event/v1".
    pub schema: String,
    pub event: EventKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capability_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<Tier>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<RegistryPatch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<Gate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<Box<MaintainReport>>,
}

impl Event {
    fn new(event: EventKind) -> Event {
        Event {
            schema: EVENT_SCHEMA_ID.into(),
            event,
            suggestion: None,
            capability_id: None,
            origin: None,
            tier: None,
            patch: None,
            gate: None,
            reason: None,
            change: None,
            run: None,
            summary: None,
        }
    }

    /// An event about suggestion `id` and its patch.
    fn about(event: EventKind, id: usize, origin: Origin, tier: Tier, p: &RegistryPatch) -> Event {
        Event {
            suggestion: Some(id),
            capability_id: Some(p.capability_id.clone()),
            origin: Some(origin),
            tier: Some(tier),
            patch: Some(p.clone()),
            ..Event::new(event)
        }
    }

    pub fn suggestion(s: &Suggestion) -> Event {
        Event::about(EventKind::Suggestion, s.id, s.origin, s.tier, &s.patch)
    }

    pub fn result(r: &PatchResult, run: Option<&str>) -> Event {
        let kind = match r.outcome {
            PatchOutcome::Applied | PatchOutcome::Unchanged => EventKind::Applied,
            PatchOutcome::Skipped | PatchOutcome::NotWritten => EventKind::Skipped,
            PatchOutcome::Rejected => EventKind::Rejected,
        };
        Event {
            gate: r.gate,
            reason: r.reason.clone(),
            change: r.change.clone(),
            run: run.map(str::to_string),
            ..Event::about(kind, r.id, r.origin, r.tier, &r.patch)
        }
    }

    /// A capability whose LLM call failed.
    pub fn llm_failed(capability: &str, reason: &str) -> Event {
        Event {
            capability_id: Some(capability.into()),
            origin: Some(Origin::Llm),
            gate: Some(Gate::Llm),
            reason: Some(reason.into()),
            ..Event::new(EventKind::Rejected)
        }
    }

    pub fn summary(r: &MaintainReport) -> Event {
        Event {
            run: r.run.clone(),
            summary: Some(Box::new(r.clone())),
            ..Event::new(EventKind::Summary)
        }
    }
}

/// The knobs of one session.
#[derive(Debug, Clone)]
pub struct Options {
    /// Only this capability (`--capability ID`); None: all.
    pub scope: Option<String>,
    pub since: Option<String>,
    pub tiers: BTreeSet<Tier>,
    pub min_confidence: Confidence,
    pub max_delta: u8,
    /// Today, YYYY-MM-DD.
    pub date: String,
}

impl Options {
    pub fn new(date: &str) -> Options {
        Options {
            scope: None,
            since: None,
            tiers: Tier::ALL.into_iter().collect(),
            min_confidence: Confidence::High,
            max_delta: 1,
            date: date.into(),
        }
    }
}

/// Everything collected before any decision.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub registry: Registry,
    pub standard: Standard,
    pub suggestions: Vec<Suggestion>,
    pub notes: Vec<Note>,
    pub changed: Vec<String>,
    pub llm: LlmSummary,
    /// Capabilities whose LLM call failed, with why.
    pub llm_failures: Vec<(String, String)>,
    /// Raw LLM exchanges to record under `.runs/<RUN>/llm/` (name, bytes).
    pub llm_records: Vec<(String, Vec<u8>)>,
}

impl Prepared {
    /// The loaded registry, taken out (an empty one is left): for a caller
    /// that decides on it and needs `prepared.registry` no more.
    pub fn take_registry(&mut self) -> Registry {
        std::mem::replace(&mut self.registry, Registry::empty())
    }
}

/// Patches (schema-valid) or why the LLM call failed, and the raw exchanges
/// to record (file name, bytes).
pub type Proposed = (
    std::result::Result<Vec<RegistryPatch>, String>,
    Vec<(String, Vec<u8>)>,
);

/// Asks an LLM for patches for one capability (see [`crate::llm`]).
pub trait Planner {
    /// Patches (schema-valid) or why the call failed; plus the raw exchanges
    /// to record (name, bytes).
    fn propose(
        &self,
        registry: &Registry,
        standard: &Standard,
        capability: &str,
        changed: &[String],
    ) -> Proposed;
}

/// Collect every suggestion: deterministic first, then the LLM's (one call
/// per capability in scope), then `extra` (from `--patches FILE`, origin
/// person).
pub fn prepare(
    root: &Path,
    git: &Git,
    opts: &Options,
    planner: Option<&dyn Planner>,
    llm_skipped: Option<String>,
    extra: Vec<RegistryPatch>,
) -> Result<Prepared> {
    // git answers what changed (a child process) while the registry loads.
    let (registry, changed) = rayon::join(
        || Registry::load(root),
        || collect::changed_since(git, opts.since.as_deref()),
    );
    let registry = registry?;
    let standard = Standard::load(root)?;
    if let Some(id) = &opts.scope
        && registry.entry(id).is_none()
    {
        return Err(Error::invalid(
            "(command line)",
            "--capability",
            format!("no capability \"{id}\" in the registry"),
            Some(
                "`warden registry stats` lists the capabilities; ids are the entries' `id`".into(),
            ),
        ));
    }
    let collected = collect::collect_with(
        &registry,
        git,
        opts.since.as_deref(),
        opts.scope.as_deref(),
        changed?,
    )?;
    let mut suggestions = Vec::new();
    let push = |origin: Origin, patch: RegistryPatch, list: &mut Vec<Suggestion>| {
        list.push(Suggestion {
            id: list.len() + 1,
            origin,
            tier: Tier::of(origin, patch.kind),
            patch,
        });
    };
    for p in collected.patches {
        push(Origin::Deterministic, p, &mut suggestions);
    }
    let mut llm = LlmSummary {
        skipped: llm_skipped,
        ..LlmSummary::default()
    };
    let mut llm_failures = Vec::new();
    let mut llm_records = Vec::new();
    if let Some(planner) = planner {
        llm.used = true;
        let asked = ask_llm(
            planner,
            &registry,
            &standard,
            opts.scope.as_deref(),
            &collected.changed,
        );
        llm.calls = asked.calls;
        llm.failures = asked.failures.len();
        llm_failures = asked.failures;
        llm_records = asked.records;
        for p in asked.patches {
            push(Origin::Llm, p, &mut suggestions);
        }
    }
    for p in extra {
        push(Origin::Person, p, &mut suggestions);
    }
    Ok(Prepared {
        registry,
        standard,
        suggestions,
        notes: collected.notes,
        changed: collected.changed,
        llm,
        llm_failures,
        llm_records,
    })
}

/// What the LLM step of a session gave.
#[derive(Debug, Clone, Default)]
pub struct Asked {
    pub calls: usize,
    /// Schema-valid patches, in capability order.
    pub patches: Vec<RegistryPatch>,
    /// Capabilities whose call failed, with why.
    pub failures: Vec<(String, String)>,
    /// Raw exchanges to record (file name, bytes).
    pub records: Vec<(String, Vec<u8>)>,
}

/// The LLM step: one call per capability in scope, in entry order.
pub fn ask_llm(
    planner: &dyn Planner,
    registry: &Registry,
    standard: &Standard,
    scope: Option<&str>,
    changed: &[String],
) -> Asked {
    let mut out = Asked::default();
    let ids: Vec<String> = registry
        .entries
        .iter()
        .map(|e| e.meta.id.clone())
        .filter(|id| scope.is_none_or(|s| s == id))
        .collect();
    for id in ids {
        out.calls += 1;
        let (answer, records) = planner.propose(registry, standard, &id, changed);
        out.records.extend(records);
        match answer {
            Ok(patches) => out.patches.extend(patches),
            Err(why) => out.failures.push((id, why)),
        }
    }
    out
}

/// Where a session's decisions stand: the registry with every accepted patch
/// applied, and a result per suggestion.
#[derive(Debug, Clone)]
pub struct Decided {
    /// The registry with the accepted patches applied in memory; after
    /// [`commit`] or [`dry_run`], the registry as written.
    pub staged: Registry,
    pub results: Vec<PatchResult>,
    /// A person declined to write at the end.
    pub declined: bool,
}

/// The gates that need the repository: evidence (paths inside, existing,
/// tracked).
pub struct Checker<'a> {
    pub root: &'a Path,
    pub git: &'a Git,
    pub standard: &'a Standard,
    pub opts: &'a Options,
    /// Directories already looked at by the evidence gate.
    pub dirs: std::cell::RefCell<std::collections::HashMap<std::path::PathBuf, bool>>,
    /// Paths already asked about: tracked or not (one `ls-files` for a whole
    /// session's citations instead of one per patch).
    pub known: std::cell::RefCell<std::collections::BTreeMap<String, bool>>,
}

impl<'a> Checker<'a> {
    pub fn new(root: &'a Path, git: &'a Git, standard: &'a Standard, opts: &'a Options) -> Self {
        Checker {
            root,
            git,
            standard,
            opts,
            dirs: Default::default(),
            known: Default::default(),
        }
    }
}

impl Checker<'_> {
    /// Which of `paths` git tracks. Answers are remembered.
    fn tracked(&self, paths: &[String]) -> warden_core::Result<std::collections::BTreeSet<String>> {
        let unknown: Vec<&str> = {
            let known = self.known.borrow();
            paths
                .iter()
                .filter(|p| !known.contains_key(*p))
                .map(String::as_str)
                .collect()
        };
        if !unknown.is_empty() {
            let found = self.git.tracked(&unknown)?;
            let mut known = self.known.borrow_mut();
            for p in unknown {
                known.insert(p.to_string(), found.contains(p));
            }
        }
        let known = self.known.borrow();
        Ok(paths
            .iter()
            .filter(|p| known.get(*p).copied().unwrap_or(false))
            .cloned()
            .collect())
    }

    /// `dir` is a real directory, not a symlink (remembered per session).
    fn real_dir(&self, dir: &Path) -> bool {
        if let Some(v) = self.dirs.borrow().get(dir) {
            return *v;
        }
        let v = std::fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_dir());
        self.dirs.borrow_mut().insert(dir.to_path_buf(), v);
        v
    }

    /// Ask git once about every path the suggestions cite.
    pub fn prefetch(&self, suggestions: &[Suggestion]) {
        let mut all: Vec<String> = suggestions
            .iter()
            .flat_map(|s| {
                let mut v = s.patch.evidence_citations.clone();
                if let Some(a) = s.patch.append.as_ref().and_then(serde_json::Value::as_str) {
                    v.push(a.to_string());
                }
                v
            })
            .filter(|p| warden_core::paths::RepoPath::parse(p, "", "").is_ok())
            .collect();
        all.sort();
        all.dedup();
        // A failure here is reported by the gate itself, path by path.
        let _ = self.tracked(&all);
    }

    fn evidence(&self, p: &RegistryPatch) -> std::result::Result<(), String> {
        let mut cited: Vec<String> = p.evidence_citations.clone();
        if p.kind == PatchKind::EvidenceAppend
            && let Some(s) = p.append.as_ref().and_then(serde_json::Value::as_str)
            && !s.contains("://")
        {
            cited.push(s.to_string());
        }
        cited.sort();
        cited.dedup();
        for c in &cited {
            let rp = warden_core::paths::RepoPath::parse(c, "", "")
                .map_err(|_| format!("\"{c}\" is not a repository-relative path"))?;
            // No component may be a symlink (an escape), and the path must be
            // a regular file: lstat each directory once per session.
            for dir in rp.ancestors() {
                if !self.real_dir(&dir.to_fs(self.root)) {
                    return Err(format!(
                        "cited path \"{c}\": {dir} is not a directory inside the repository"
                    ));
                }
            }
            match std::fs::symlink_metadata(rp.to_fs(self.root)) {
                Ok(m) if m.file_type().is_file() => {}
                Ok(_) => {
                    return Err(format!(
                        "\"{c}\" is not a regular file inside the repository"
                    ));
                }
                Err(_) => return Err(format!("cited path \"{c}\" does not exist")),
            }
        }
        let tracked = self.tracked(&cited).map_err(|e| e.to_string())?;
        if let Some(c) = cited.iter().find(|c| !tracked.contains(*c)) {
            return Err(format!(
                "cited path \"{c}\" is not tracked by git (an untracked file is weak evidence; `git add` it)"
            ));
        }
        Ok(())
    }

    /// Run the gates on `s` against the working registry. `person`: a person
    /// decides (the review loop): tier and confidence do not apply, and a
    /// promotion above the delta is returned as `Err((Level, …))` for the
    /// loop to ask about.
    pub fn gates(
        &self,
        s: &Suggestion,
        work: &Registry,
        raised: &BTreeMap<(String, char), u8>,
        person: bool,
    ) -> std::result::Result<(), (Gate, String)> {
        let p = &s.patch;
        patch::check(p).map_err(|e| (Gate::Schema, e.to_string()))?;
        if !person {
            if !self.opts.tiers.contains(&s.tier) {
                return Err((
                    Gate::Tier,
                    format!("tier {} is not enabled (--auto-tier)", s.tier.name()),
                ));
            }
            if s.origin != Origin::Deterministic && p.confidence < self.opts.min_confidence {
                return Err((
                    Gate::Confidence,
                    format!(
                        "confidence {} is below --auto-confidence {}",
                        p.confidence.name(),
                        self.opts.min_confidence.name()
                    ),
                ));
            }
        }
        self.evidence(p).map_err(|e| (Gate::Evidence, e))?;
        if p.kind == PatchKind::MaturityPromote {
            let Some((d, from, to)) = patch::promotion(p, work) else {
                return Err((
                    Gate::Schema,
                    format!("no capability \"{}\" in the registry", p.capability_id),
                ));
            };
            if to <= from {
                return Err((
                    Gate::Level,
                    format!("{d}{to} does not raise the current level {d}{from}"),
                ));
            }
            let so_far = raised
                .get(&(p.capability_id.clone(), d))
                .copied()
                .unwrap_or(0);
            let delta = so_far + (to - from);
            if delta > self.opts.max_delta {
                return Err((
                    Gate::Level,
                    format!(
                        "{d}{from} -> {d}{to} raises {d} by {delta} level(s) this session, above --auto-max-delta {}",
                        self.opts.max_delta
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The standard gate, on the registry after the patch.
    pub fn standard_gate(
        &self,
        p: &RegistryPatch,
        after: &Registry,
    ) -> std::result::Result<(), (Gate, String)> {
        if p.kind != PatchKind::MaturityPromote {
            return Ok(());
        }
        let Some(e) = after.entry(&p.capability_id) else {
            return Ok(());
        };
        let Some(d) = p.field_path.chars().nth("maturity.".len()) else {
            return Ok(());
        };
        let level = e.meta.maturity.level(d).map_or(0, |l| l.current);
        let unmet = self.standard.unmet(&e.meta, d, level);
        if unmet.is_empty() {
            Ok(())
        } else {
            Err((Gate::Standard, unmet.join("; ")))
        }
    }
}

/// The `run` a promotion row carries until its session's run id is known:
/// [`stamp_run`] replaces it before anything is rendered or written.
pub const PENDING_RUN: &str = "(this run)";

/// Put `run` (the session's run id; None for a dry run, which records no
/// run) into every promotion row this session added.
pub fn stamp_run(reg: &mut Registry, run: Option<&str>) {
    for e in &mut reg.entries {
        for p in &mut e.meta.promotion_history {
            if p.run.as_deref() == Some(PENDING_RUN) {
                p.run = run.map(str::to_string);
            }
        }
    }
}

/// Apply `s` to `work` as accepted; the result (applied in memory, or why not).
pub fn accept(
    checker: &Checker<'_>,
    s: &Suggestion,
    origin: Origin,
    work: &mut Registry,
    raised: &mut BTreeMap<(String, char), u8>,
) -> PatchResult {
    // Only a promotion can be refused after it applied (the standard gate):
    // keep what it may change, to put back (cloning the whole registry per
    // patch would make a session quadratic).
    let promo = patch::promotion(&s.patch, work);
    let saved = promo.map(|_| {
        let entry = work.entry(&s.patch.capability_id).cloned();
        let index = work.index.clone();
        (entry, index, work.dirty.clone(), work.index_dirty)
    });
    let stamp = Stamp {
        date: checker.opts.date.clone(),
        origin,
        run: Some(PENDING_RUN.into()),
    };
    let result =
        |outcome, gate: Option<Gate>, reason: Option<String>, change: Option<FieldChange>| {
            PatchResult {
                id: s.id,
                origin,
                tier: s.tier,
                outcome,
                gate,
                reason,
                change: change
                    .map(|c| format!("{}: {}: {} -> {}", c.file, c.field, c.before, c.after)),
                patch: s.patch.clone(),
            }
        };
    match patch::apply(work, &s.patch, &stamp) {
        Err(e) => result(
            PatchOutcome::Rejected,
            Some(Gate::Schema),
            Some(e.to_string()),
            None,
        ),
        Ok(None) => result(
            PatchOutcome::Unchanged,
            None,
            Some("already present".into()),
            None,
        ),
        Ok(Some(change)) => {
            if let Err((g, why)) = checker.standard_gate(&s.patch, work) {
                if let Some((entry, index, dirty, index_dirty)) = saved {
                    if let Some(e) = entry
                        && let Some(slot) = work.entries.iter_mut().find(|x| x.path == e.path)
                    {
                        *slot = e;
                    }
                    work.index = index;
                    work.dirty = dirty;
                    work.index_dirty = index_dirty;
                }
                return result(PatchOutcome::Rejected, Some(g), Some(why), None);
            }
            if let Some((d, from, to)) = promo
                && to > from
            {
                *raised
                    .entry((s.patch.capability_id.clone(), d))
                    .or_default() += to - from;
            }
            // Applied in memory; becomes Applied once the run commits.
            result(PatchOutcome::NotWritten, None, None, Some(change))
        }
    }
}

/// Decide every suggestion by the gates alone (`--auto`, `--yes`).
pub fn decide_auto(
    prepared: &Prepared,
    checker: &Checker<'_>,
    on_event: &mut dyn FnMut(&Event),
) -> Decided {
    decide_auto_on(prepared.registry.clone(), prepared, checker, on_event)
}

/// [`decide_auto`] on `work`, the registry [`Prepared::take_registry`]
/// took out of `prepared` (no copy of every entry).
pub fn decide_auto_on(
    mut work: Registry,
    prepared: &Prepared,
    checker: &Checker<'_>,
    on_event: &mut dyn FnMut(&Event),
) -> Decided {
    let mut raised = BTreeMap::new();
    let mut results = Vec::new();
    for s in &prepared.suggestions {
        on_event(&Event::suggestion(s));
    }
    checker.prefetch(&prepared.suggestions);
    for s in &prepared.suggestions {
        let r = match checker.gates(s, &work, &raised, false) {
            Err((g, why)) => PatchResult::rejected(s, g, why),
            Ok(()) => accept(checker, s, s.origin, &mut work, &mut raised),
        };
        if r.outcome == PatchOutcome::Rejected {
            on_event(&Event::result(&r, None));
        }
        results.push(r);
    }
    Decided {
        staged: work,
        results,
        declined: false,
    }
}

/// The proposal source of a session's run: a person when one reviewed it,
/// else the LLM when an LLM patch is in it, else the collectors.
pub fn source_kind(results: &[PatchResult], person: bool) -> &'static str {
    if person {
        return "person";
    }
    let written = results
        .iter()
        .filter(|r| r.outcome == PatchOutcome::NotWritten);
    let mut kinds = written.map(|r| r.origin);
    if kinds.clone().any(|o| o == Origin::Person) {
        "person"
    } else if kinds.any(|o| o == Origin::Llm) {
        "llm"
    } else {
        "collector"
    }
}

/// Build the session's proposal: one `registry_patch` action per file.
pub fn proposal(
    writes: &[Write],
    source_kind: &str,
    rationale: &str,
    citations: &[String],
) -> Result<(Proposal, warden_core::digest::Digest)> {
    let actions: Vec<serde_json::Value> = writes
        .iter()
        .map(|w| {
            serde_json::json!({
                "kind": "registry_patch",
                "path": w.path,
                "content": w.content,
                "expect": match &w.expect {
                    None => serde_json::json!("absent"),
                    Some(d) => serde_json::json!({"sha256": d.hex()}),
                },
            })
        })
        .collect();
    let value = serde_json::json!({
        "schema": warden_core::proposal::PROPOSAL_SCHEMA_ID,
        "source": {"kind": source_kind, "id": "registry-maintain"},
        "event": EVENT,
        "rationale": rationale,
        "evidence": citations,
        "actions": actions,
    });
    Proposal::from_value(&value, "(registry maintain)")
}

/// What committing the batch did.
#[derive(Debug, Clone)]
pub struct Committed {
    pub run: Option<String>,
    pub files: Vec<String>,
    pub validation: Option<ValidateReport>,
    /// The engine's validation command failed: rolled back.
    pub rolled_back: Option<String>,
    /// Fields whose comments the rewrite could not keep (collector `rewrite`).
    pub notes: Vec<Note>,
}

/// Validate the batch as it would land, then write it as one run. Nothing is
/// written when the validation fails or there is nothing to write.
pub fn commit(
    session: &mut Session<'_>,
    decided: &mut Decided,
    opts: &Options,
    source: &str,
    llm_records: &[(String, Vec<u8>)],
    dry_run: bool,
) -> Result<Committed> {
    commit_to(Some(session), decided, opts, source, llm_records, dry_run)
}

/// `--dry-run`: render and validate the batch as [`commit`] would, without
/// a session (no lock, no recovery: a dry run writes nothing, like every
/// read-only command).
pub fn dry_run(decided: &mut Decided, opts: &Options) -> Result<Committed> {
    commit_to(None, decided, opts, "person", &[], true)
}

fn commit_to(
    session: Option<&mut Session<'_>>,
    decided: &mut Decided,
    opts: &Options,
    source: &str,
    llm_records: &[(String, Vec<u8>)],
    dry_run: bool,
) -> Result<Committed> {
    // The run id is allocated before the content is rendered, so the
    // promotion rows name the run that writes them.
    let run = session
        .as_ref()
        .filter(|_| !(dry_run || decided.declined))
        .map(|s| s.new_run_id());
    stamp_run(&mut decided.staged, run.as_deref());
    let writes = decided.staged.writes(&opts.date)?;
    let nothing = Committed {
        run: None,
        files: Vec::new(),
        validation: None,
        rolled_back: None,
        notes: rewrite_notes(&writes),
    };
    // Validated as it will land; staged in place (nothing reads the
    // registry before the writes after this).
    decided.staged.stage(&writes);
    let report = validate::errors_only(&decided.staged);
    if !report.ok {
        for_accepted(&mut decided.results, |r| {
            r.gate = Some(Gate::Validate);
            r.reason = Some("the batch failed validation; nothing was written".into());
        });
        return Ok(Committed {
            validation: Some(report),
            ..nothing
        });
    }
    let session = match session {
        Some(s) if !(writes.is_empty() || dry_run || decided.declined) => s,
        _ => {
            return Ok(Committed {
                files: writes.iter().map(|w| w.path.clone()).collect(),
                ..nothing
            });
        }
    };
    let accepted: Vec<&PatchResult> = decided
        .results
        .iter()
        .filter(|r| r.outcome == PatchOutcome::NotWritten)
        .collect();
    let (rationale, citations) = rationale_of(&accepted, opts);
    let (proposal, digest) = proposal(&writes, source, &rationale, &citations)?;
    let mut plan = session.plan(&proposal, digest, "(registry maintain)")?;
    if let Some(run) = run {
        plan.run = run;
    }
    if plan.noop.is_some() {
        for_accepted(&mut decided.results, |r| {
            r.outcome = PatchOutcome::Unchanged
        });
        return Ok(nothing);
    }
    let outcome = session.apply(&plan)?;
    let run = outcome.entry.run.clone();
    record_patches(&session.repo.layout.run_dir(&run), &accepted, llm_records);
    if let Some(out) = outcome.validation_failure {
        for_accepted(&mut decided.results, |r| {
            r.gate = Some(Gate::Validate);
            r.reason =
                Some("the policy's validation command failed; the run was rolled back".into());
        });
        return Ok(Committed {
            run: Some(run),
            rolled_back: Some(out),
            ..nothing
        });
    }
    for_accepted(&mut decided.results, |r| r.outcome = PatchOutcome::Applied);
    Ok(Committed {
        run: Some(run),
        files: writes.iter().map(|w| w.path.clone()).collect(),
        ..nothing
    })
}

/// Settle every accepted (not yet written) patch's result.
fn for_accepted(results: &mut [PatchResult], settle: impl Fn(&mut PatchResult)) {
    results
        .iter_mut()
        .filter(|r| r.outcome == PatchOutcome::NotWritten)
        .for_each(settle);
}

/// The run's rationale and its evidence (the accepted patches' citations,
/// sorted, each once).
fn rationale_of(accepted: &[&PatchResult], opts: &Options) -> (String, Vec<String>) {
    let mut citations: Vec<String> = accepted
        .iter()
        .flat_map(|r| r.patch.evidence_citations.iter().cloned())
        .collect();
    citations.sort();
    citations.dedup();
    let kinds: BTreeSet<&str> = accepted.iter().map(|r| r.patch.kind.name()).collect();
    let rationale = format!(
        "registry maintain: {} patch(es) ({}){}",
        accepted.len(),
        kinds.into_iter().collect::<Vec<_>>().join(", "),
        opts.since
            .as_ref()
            .map(|s| format!(" since {s}"))
            .unwrap_or_default()
    );
    (rationale, citations)
}

/// Artifacts of the run (untracked): the patches and the raw LLM answers.
fn record_patches(run_dir: &Path, accepted: &[&PatchResult], llm_records: &[(String, Vec<u8>)]) {
    let patches: Vec<&RegistryPatch> = accepted.iter().map(|r| &r.patch).collect();
    let doc = serde_json::json!({"schema": patch::PATCH_SCHEMA_ID, "patches": patches});
    let _ = std::fs::create_dir_all(run_dir);
    if let Ok(b) = serde_json::to_vec_pretty(&doc) {
        let _ = std::fs::write(run_dir.join("patches.json"), b);
    }
    record_llm(run_dir, llm_records);
}

/// One `rewrite` note per field whose comments could not be kept.
fn rewrite_notes(writes: &[Write]) -> Vec<Note> {
    writes
        .iter()
        .flat_map(|w| {
            w.comments_lost.iter().map(|f| Note {
                collector: "rewrite".into(),
                path: Some(w.path.clone()),
                message: format!(
                    "{}: {f}: a comment inside the old value could not be kept (the changed value is written in canonical form; only items appended to a block-style list keep the lines around them)",
                    w.path
                ),
                blocking: false,
            })
        })
        .collect()
}

/// Keep raw LLM exchanges in `<run_dir>/llm/` (best effort, untracked).
pub fn record_llm(run_dir: &Path, records: &[(String, Vec<u8>)]) {
    if records.is_empty() {
        return;
    }
    let dir = run_dir.join("llm");
    if std::fs::create_dir_all(&dir).is_ok() {
        for (name, bytes) in records {
            let _ = std::fs::write(dir.join(name), bytes);
        }
    }
}

/// Assemble the report and its exit code.
pub fn report(
    prepared: &Prepared,
    decided: &Decided,
    committed: &Committed,
    opts: &Options,
    dry_run: bool,
) -> MaintainReport {
    let count = |o: PatchOutcome| decided.results.iter().filter(|r| r.outcome == o).count();
    let applied = count(PatchOutcome::Applied) + count(PatchOutcome::Unchanged);
    let skipped = count(PatchOutcome::Skipped) + count(PatchOutcome::NotWritten);
    let rejected = count(PatchOutcome::Rejected) + prepared.llm_failures.len();
    let outcome = if committed.validation.is_some() || committed.rolled_back.is_some() {
        SessionOutcome::ValidationFailed
    } else if dry_run {
        SessionOutcome::DryRun
    } else if decided.declined {
        SessionOutcome::Declined
    } else if prepared.suggestions.is_empty() && prepared.llm_failures.is_empty() {
        SessionOutcome::NothingToDo
    } else if skipped + rejected == 0 {
        SessionOutcome::Applied
    } else {
        SessionOutcome::Partial
    };
    let exit_code = match outcome {
        SessionOutcome::ValidationFailed => 1,
        SessionOutcome::NothingToDo | SessionOutcome::Applied | SessionOutcome::DryRun => 0,
        SessionOutcome::Partial | SessionOutcome::Declined => 5,
    };
    let remaining = remaining_manual(prepared, decided, opts);
    let mut llm = prepared.llm.clone();
    if let Some(run) = &committed.run
        && !prepared.llm_records.is_empty()
    {
        llm.recorded_in = Some(format!(".runs/{run}/llm/"));
    }
    MaintainReport {
        schema: MAINTAIN_SCHEMA_ID.into(),
        outcome,
        exit_code,
        run: committed.run.clone(),
        since: opts.since.clone(),
        suggested: prepared.suggestions.len(),
        applied,
        skipped,
        rejected,
        patches: decided.results.clone(),
        notes: prepared
            .notes
            .iter()
            .chain(&committed.notes)
            .cloned()
            .collect(),
        files_changed: committed.files.clone(),
        remaining_manual: remaining,
        validation: committed.validation.clone(),
        llm,
        publish_reminder: if committed.run.is_some() {
            "commit and push registry/ so consumers see it; check with `warden registry maintain --publish --raw-url URL`".into()
        } else {
            "nothing was written".into()
        },
        publish: None,
    }
}

/// What a person still has to do: the refused and skipped patches, the
/// LLM's failures and the blocking notes.
fn remaining_manual(prepared: &Prepared, decided: &Decided, opts: &Options) -> Vec<String> {
    // The window the suggestion came from: without it, the command the todo
    // line names would not suggest it again.
    let window = opts
        .since
        .as_deref()
        .map(|s| format!(" --from-git-since {}", shell_word(s)))
        .unwrap_or_default();
    let mut remaining: Vec<String> = Vec::new();
    for r in &decided.results {
        match r.outcome {
            PatchOutcome::Rejected => remaining.push(format!(
                "#{} {} {}: refused by the {} gate: {}",
                r.id,
                r.patch.kind.name(),
                r.patch.capability_id,
                r.gate.map_or("?", Gate::name),
                r.reason.clone().unwrap_or_default()
            )),
            PatchOutcome::Skipped => remaining.push(format!(
                "#{} {} {}: skipped; review it with `warden registry maintain --capability {}{window}`",
                r.id,
                r.patch.kind.name(),
                r.patch.capability_id,
                shell_word(&r.patch.capability_id)
            )),
            _ => {}
        }
    }
    for (id, why) in &prepared.llm_failures {
        remaining.push(format!("{id}: the LLM gave no usable answer: {why}"));
    }
    for n in prepared.notes.iter().filter(|n| n.blocking) {
        remaining.push(n.message.clone());
    }
    remaining
}

/// `s` as one shell word: unchanged when it holds only characters no shell
/// treats specially, else single-quoted.
fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/~^@:+=,".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// One patch's lines in the human text.
fn render_patch(p: &PatchResult) -> String {
    let what = match p.outcome {
        PatchOutcome::Applied => "applied",
        PatchOutcome::Unchanged => "unchanged",
        PatchOutcome::Skipped => "skipped",
        PatchOutcome::Rejected => "REJECTED",
        PatchOutcome::NotWritten => "not written",
    };
    format!(
        "#{} {what:<11} {} {} [{}]{}{}\n",
        p.id,
        p.patch.kind.name(),
        shown(&p.patch.capability_id),
        p.tier.name(),
        p.change
            .as_ref()
            .map(|c| format!("\n      {}", shown(c)))
            .unwrap_or_default(),
        match (&p.gate, &p.reason) {
            (Some(g), Some(why)) => format!("\n      {} gate: {}", g.name(), shown(why)),
            _ => String::new(),
        }
    )
}

/// Human text of a report.
pub fn render(r: &MaintainReport) -> String {
    let mut s = String::new();
    for p in &r.patches {
        s.push_str(&render_patch(p));
    }
    for n in &r.notes {
        s.push_str(&format!(
            "note[{}]{}: {}\n",
            n.collector,
            if n.blocking { " BLOCKING" } else { "" },
            shown(&n.message)
        ));
    }
    if let Some(v) = &r.validation {
        s.push_str("the batch failed validation; nothing was written:\n");
        s.push_str(&validate::render(v));
    }
    if let Some(why) = &r.llm.skipped {
        s.push_str(&format!("llm: skipped ({})\n", shown(why)));
    } else if r.llm.used {
        s.push_str(&format!(
            "llm: {} call(s), {} failure(s){}\n",
            r.llm.calls,
            r.llm.failures,
            r.llm
                .recorded_in
                .as_ref()
                .map(|d| format!("; raw answers in {d}"))
                .unwrap_or_default()
        ));
    }
    s.push_str(&format!(
        "{}: {} suggested, {} applied, {} skipped, {} rejected{}\n",
        match r.outcome {
            SessionOutcome::NothingToDo => "nothing to do",
            SessionOutcome::Applied => "done",
            SessionOutcome::Partial => "partial",
            SessionOutcome::ValidationFailed => "validation failed",
            SessionOutcome::Declined => "declined",
            SessionOutcome::DryRun => "dry run",
        },
        r.suggested,
        r.applied,
        r.skipped,
        r.rejected,
        r.run
            .as_ref()
            .map(|run| format!("; run {run} (undo with `warden undo {run}`)"))
            .unwrap_or_default()
    ));
    if !r.files_changed.is_empty() {
        let files: Vec<String> = r
            .files_changed
            .iter()
            .map(|f| shown(f).to_string())
            .collect();
        s.push_str(&format!("files: {}\n", files.join(", ")));
    }
    for m in &r.remaining_manual {
        s.push_str(&format!("todo: {}\n", shown(m)));
    }
    if r.run.is_some() {
        s.push_str(&format!("next: {}\n", r.publish_reminder));
    }
    s
}

/// `warden registry update --format json`: the seed's report, kept for scripts.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(title = "warden registry update report")]
pub struct UpdateReport {
    /// Always "warden.registry-update/v1".
    pub schema: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    pub suggestions: Vec<Suggestion>,
    pub notes: Vec<Note>,
    /// With `--apply`: what became of each suggestion.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied: Option<MaintainReport>,
}

/// The file name of a capability's LLM record.
pub fn llm_record_name(capability: &str, attempt: usize) -> String {
    format!("{}-{attempt}.json", slug(capability))
}
