//! `warden replay RUN` of a registry maintain run (G7): re-run the session
//! from what it recorded, without any network, and compare what it would
//! write with what the run wrote, byte for byte.
//!
//! A maintain run that writes keeps, untracked, in `.runs/<RUN>/`:
//! - `session.json` ([`SessionRecord`]): the options, the changed paths of
//!   the window, every suggestion that did not come from the LLM (the
//!   collectors' and `--patches FILE`'s: their inputs are the git history and
//!   the disk at that moment), the LLM's suggestions as derived then, and for
//!   a reviewed session the person's decisions;
//! - `llm/`: every raw LLM exchange.
//!
//! The replay takes the registry as it was before the run from the engine's
//! rollback record of the run (the files must still be as the run left
//! them), answers every LLM step from `llm/` (each answer validated again,
//! locally), decides again — the gates for an automatic session, the recorded
//! decisions for a reviewed one — renders the batch, and compares. It writes
//! nothing.

use crate::llm::{LlmPlanner, Replay};
use crate::maintain::{
    self, Checker, Decided, EVENT, LlmSummary, Options, PatchOutcome, Prepared, Suggestion, Tier,
};
use crate::model::Origin;
use crate::patch::{Confidence, RegistryPatch};
use crate::registry::{Overrides, Registry};
use crate::standard::Standard;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use warden_core::engine::Session;
use warden_core::git::Git;
use warden_core::plan::FileState;
use warden_core::{Error, Result};

pub const SESSION_SCHEMA_ID: &str = "warden.registry-session/v1";
pub const REPLAY_SCHEMA_ID: &str = "warden.registry-replay/v1";
/// The file in `.runs/<RUN>/`.
pub const SESSION_FILE: &str = "session.json";

/// The options of a session, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordedOptions {
    pub scope: Option<String>,
    pub since: Option<String>,
    pub tiers: Vec<Tier>,
    pub min_confidence: Confidence,
    pub max_delta: u8,
    pub date: String,
}

/// A person's decision in a reviewed session: the suggestion, as accepted
/// (after an edit), and who it counts as.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Accepted {
    pub id: usize,
    pub origin: Origin,
    pub tier: Tier,
    pub patch: RegistryPatch,
}

/// `.runs/<RUN>/session.json`: what replaying the run needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionRecord {
    /// Always "warden.registry-session/v1".
    pub schema: String,
    pub options: RecordedOptions,
    /// A person decided in the review loop.
    pub reviewed: bool,
    /// The files changed in the window (`--from-git-since`).
    pub changed: Vec<String>,
    /// Every suggestion but the LLM's, in order (their ids as then).
    pub suggestions: Vec<Suggestion>,
    /// Whether an LLM was asked (its answers are in `llm/`).
    pub llm: bool,
    /// The LLM's schema-valid patches as derived then, in order.
    pub llm_patches: Vec<RegistryPatch>,
    /// A reviewed session: the accepted suggestions, in decision order.
    pub accepted: Vec<Accepted>,
}

impl SessionRecord {
    pub fn of(prepared: &Prepared, decided: &Decided, opts: &Options, reviewed: bool) -> Self {
        SessionRecord {
            schema: SESSION_SCHEMA_ID.into(),
            options: RecordedOptions {
                scope: opts.scope.clone(),
                since: opts.since.clone(),
                tiers: opts.tiers.iter().copied().collect(),
                min_confidence: opts.min_confidence,
                max_delta: opts.max_delta,
                date: opts.date.clone(),
            },
            reviewed,
            changed: prepared.changed.clone(),
            suggestions: prepared
                .suggestions
                .iter()
                .filter(|s| s.origin != Origin::Llm)
                .cloned()
                .collect(),
            llm: prepared.llm.used,
            llm_patches: prepared
                .suggestions
                .iter()
                .filter(|s| s.origin == Origin::Llm)
                .map(|s| s.patch.clone())
                .collect(),
            accepted: if reviewed {
                decided
                    .results
                    .iter()
                    .filter(|r| {
                        matches!(
                            r.outcome,
                            PatchOutcome::Applied
                                | PatchOutcome::Unchanged
                                | PatchOutcome::NotWritten
                        )
                    })
                    .map(|r| Accepted {
                        id: r.id,
                        origin: r.origin,
                        tier: r.tier,
                        patch: r.patch.clone(),
                    })
                    .collect()
            } else {
                Vec::new()
            },
        }
    }

    fn options(&self) -> Options {
        let mut o = Options::new(&self.options.date);
        o.scope = self.options.scope.clone();
        o.since = self.options.since.clone();
        o.tiers = self.options.tiers.iter().copied().collect();
        o.min_confidence = self.options.min_confidence;
        o.max_delta = self.options.max_delta;
        o
    }
}

/// Keep `session.json` in the run's directory (best effort, untracked, like
/// `patches.json`).
pub fn record_session(run_dir: &Path, record: &SessionRecord) {
    if std::fs::create_dir_all(run_dir).is_ok()
        && let Ok(b) = serde_json::to_vec_pretty(record)
    {
        let _ = std::fs::write(run_dir.join(SESSION_FILE), b);
    }
}

/// One file the run wrote, compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ReplayFile {
    pub path: String,
    pub identical: bool,
}

/// `warden replay RUN --format json` for a registry maintain run.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(title = "warden registry replay report")]
pub struct ReplayReport {
    /// Always "warden.registry-replay/v1".
    pub schema: String,
    pub run: String,
    /// Everything the replay would write equals what the run wrote.
    pub identical: bool,
    pub reviewed: bool,
    pub suggested: usize,
    /// LLM steps answered from the recorded exchanges (no network).
    pub llm_calls: usize,
    /// The LLM's answers, validated again, give the same patches.
    pub llm_identical: bool,
    pub files: Vec<ReplayFile>,
    /// What differs, one line each.
    pub differences: Vec<String>,
}

fn content(s: &FileState) -> Option<Vec<u8>> {
    match s {
        FileState::Absent => None,
        FileState::File { content, .. } => content.load().ok().map(|c| c.into_owned()),
    }
}

/// Whether `run` is a registry maintain run (its ledger event).
pub fn is_registry_run(session: &Session<'_>, run: &str) -> Result<bool> {
    Ok(session
        .repo
        .ledger()
        .find_run(run)?
        .is_some_and(|e| e.event == EVENT && e.command == "apply"))
}

/// Replay a registry maintain run. Writes nothing.
pub fn replay(session: &mut Session<'_>, git: &Git, run: &str) -> Result<ReplayReport> {
    let root = session.repo.root().to_path_buf();
    let entry = session.repo.ledger().require_run(run)?;
    let run = entry.run.clone();
    let record = read_record(session, &run)?;
    let (before, written) = before_state(session, &run)?;
    let registry = Registry::load_with(&root, &before)?;
    let standard = Standard::load(&root)?;
    let opts = record.options();
    // The LLM, answered from the records only.
    let llm_dir = session.repo.layout.run_dir(&run).join("llm");
    let asked = if record.llm {
        let planner = LlmPlanner::new(Replay { dir: llm_dir });
        maintain::ask_llm(
            &planner,
            &registry,
            &standard,
            opts.scope.as_deref(),
            &record.changed,
        )
    } else {
        maintain::Asked::default()
    };
    let mut differences = Vec::new();
    let llm_identical = asked.patches == record.llm_patches;
    if !llm_identical {
        differences.push(format!(
            "the recorded LLM answers, validated again, give other patches than the run had ({} now, {} then)",
            asked.patches.len(),
            record.llm_patches.len()
        ));
    }
    let prepared = Prepared {
        registry,
        standard,
        suggestions: suggestions_in_order(&record, asked.patches),
        notes: Vec::new(),
        changed: record.changed.clone(),
        llm: LlmSummary::default(),
        llm_failures: asked.failures,
        llm_records: Vec::new(),
    };
    let checker = Checker::new(&root, git, &prepared.standard, &opts);
    let mut decided = decide_again(&record, &prepared, &checker);
    maintain::stamp_run(&mut decided.staged, Some(&run));
    let writes = decided.staged.writes(&opts.date)?;
    let mut replayed: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for w in writes {
        replayed.insert(w.path, w.content.into_bytes());
    }
    let files = compare_writes(&written, &replayed, &mut differences);
    Ok(ReplayReport {
        schema: REPLAY_SCHEMA_ID.into(),
        run,
        identical: differences.is_empty(),
        reviewed: record.reviewed,
        suggested: prepared.suggestions.len(),
        llm_calls: asked.calls,
        llm_identical,
        files,
        differences,
    })
}

/// The session the run recorded in `.runs/RUN/` (refused when it has none).
fn read_record(session: &Session<'_>, run: &str) -> Result<SessionRecord> {
    let path = session.repo.layout.run_dir(run).join(SESSION_FILE);
    let label = path.display().to_string();
    let bytes = std::fs::read(&path).map_err(|_| {
        Error::rejected(
            "(command line)",
            "RUN",
            format!(
                "run {run} cannot be replayed: it has no recorded session ({label}); runs made before warden recorded sessions (and runs whose .runs/ was cleaned) have none"
            ),
            Some(
                "`warden ledger show RUN` shows what the run wrote, and `warden undo RUN` still reverts it; to get a replayable run, undo it and run the same `warden registry maintain` or `update --apply` again"
                    .into(),
            ),
        )
    })?;
    let value = warden_core::strict::parse_json(&bytes, &label)?;
    warden_core::strict::deserialize(
        &value,
        &label,
        "the session record of a registry maintain run",
    )
}

/// What the run wrote: each path's content after it (None: removed).
type Written = BTreeMap<String, Option<Vec<u8>>>;

/// The run's before-states (as overrides to load the registry from) and
/// what it wrote, from the engine's rollback record (refused when a file is
/// no longer as the run left it).
fn before_state(session: &mut Session<'_>, run: &str) -> Result<(Overrides, Written)> {
    let undo = session
        .plan_undo(
            run,
            false,
            warden_core::proposal::Source {
                kind: "person".into(),
                id: "registry-replay".into(),
            },
        )
        .map_err(|e| {
            Error::rejected(
                "(command line)",
                "RUN",
                format!("run {run} cannot be replayed: {e}"),
                Some("a replay starts from the run's before-state, which needs the files as the run left them".into()),
            )
        })?;
    let mut before = Overrides::new();
    let mut written = Written::new();
    for c in &undo.changes {
        // The undo plan goes from the run's after-state to its before-state.
        before.insert(c.path.to_string(), content(&c.after));
        written.insert(c.path.to_string(), content(&c.before));
    }
    Ok((before, written))
}

/// The suggestions in the session's order: deterministic, LLM, person.
fn suggestions_in_order(record: &SessionRecord, llm: Vec<RegistryPatch>) -> Vec<Suggestion> {
    let recorded = |origin: Origin| {
        record
            .suggestions
            .iter()
            .filter(move |s| s.origin == origin)
            .map(|s| (s.origin, s.patch.clone()))
    };
    recorded(Origin::Deterministic)
        .chain(llm.into_iter().map(|p| (Origin::Llm, p)))
        .chain(recorded(Origin::Person))
        .enumerate()
        .map(|(i, (origin, patch))| Suggestion {
            id: i + 1,
            origin,
            tier: Tier::of(origin, patch.kind),
            patch,
        })
        .collect()
}

/// Decide again as the run did: the person's recorded choices when it was
/// reviewed, else the automatic tiers.
fn decide_again(record: &SessionRecord, prepared: &Prepared, checker: &Checker<'_>) -> Decided {
    if !record.reviewed {
        return maintain::decide_auto(prepared, checker, &mut |_| {});
    }
    let mut work = prepared.registry.clone();
    let mut raised = BTreeMap::new();
    let results = record
        .accepted
        .iter()
        .map(|a| {
            let s = Suggestion {
                id: a.id,
                origin: a.origin,
                tier: a.tier,
                patch: a.patch.clone(),
            };
            maintain::accept(checker, &s, a.origin, &mut work, &mut raised)
        })
        .collect();
    Decided {
        staged: work,
        results,
        declined: false,
    }
}

/// Each path the run or the replay writes, and whether both write the same;
/// a sentence in `differences` for each that differs.
fn compare_writes(
    written: &Written,
    replayed: &BTreeMap<String, Vec<u8>>,
    differences: &mut Vec<String>,
) -> Vec<ReplayFile> {
    let paths: std::collections::BTreeSet<&String> =
        written.keys().chain(replayed.keys()).collect();
    let mut files = Vec::new();
    for p in paths {
        let ran = written.get(p).cloned().flatten();
        let again = replayed.get(p).cloned();
        let identical = ran == again;
        if !identical {
            differences.push(match (&ran, &again) {
                (Some(_), None) => format!("{p}: the run wrote it; the replay would not"),
                (None, Some(_)) => format!("{p}: the replay would write it; the run did not"),
                _ => format!("{p}: the replay would write other content"),
            });
        }
        files.push(ReplayFile {
            path: p.clone(),
            identical,
        });
    }
    files
}

/// Human text of a replay.
pub fn render(r: &ReplayReport) -> String {
    let mut s = format!(
        "replay of registry maintain run {}{}: {} suggestion(s), {} LLM step(s) answered from the records\n",
        r.run,
        if r.reviewed { " (reviewed)" } else { "" },
        r.suggested,
        r.llm_calls
    );
    for f in &r.files {
        s.push_str(&format!(
            "  {:<9} {}\n",
            if f.identical { "identical" } else { "DIFFERS" },
            f.path
        ));
    }
    for d in &r.differences {
        s.push_str(&format!("  {d}\n"));
    }
    s.push_str(if r.identical {
        "every file is byte-identical\n"
    } else {
        "the replay differs from the run\n"
    });
    s
}
