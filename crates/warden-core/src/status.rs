//! Health and self-description, and the other reports the CLI
//! prints. Each report is a versioned wire format with a JSON Schema.

use crate::engine;
use crate::error::{IoContext, Result};
use crate::events;
use crate::ledger::{Entry, Problem, RunResult, VerifyReport};
use crate::ledger_index::Brief;
use crate::lock;
use crate::policy::{Policy, PolicyRef};
use crate::proposal::Source;
use crate::repo::Repo;
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RunBrief {
    pub run: String,
    pub time: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LedgerHealth {
    /// Every chain's tail since this clone's head checks out, the entries
    /// folded into the index since it was last brought up to date chain
    /// correctly, and the last full `warden ledger verify` did not fail. Not a
    /// full verification: `warden ledger verify` is.
    pub ok: bool,
    /// Entries in every chain (from the derived ledger index).
    pub entries: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<Problem>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Backlog {
    /// Proposals waiting for a decision (none are queued in this version).
    pub pending_proposals: u64,
    /// Commands waiting in the bridge inbox; null until the bridge is configured.
    pub bridge_inbox: Option<u64>,
    /// The signed-command bridge serving this repository (found through the
    /// `CLOUD` variable or a bridge root at the repository's root); null when
    /// there is none. The core only carries it; the bridge fills it in.
    #[serde(default)]
    pub bridge: Option<BridgeBacklog>,
}

/// The bridge's backlog, as `warden status` shows it (never secrets).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BridgeBacklog {
    /// The bridge root.
    pub root: String,
    /// `*.json` files waiting in `commands/`.
    pub pending_commands: u64,
    /// Dead letters by reason.
    pub dead_letters: BTreeMap<String, u64>,
    /// Commands archived (applied or recorded).
    pub archived: u64,
    /// Entries of `meta/retries.json` (outputs whose publish waits for a retry).
    pub retries_pending: u64,
    /// Some entry used up its automatic attempts.
    pub retries_gave_up: bool,
    pub last_publish: Option<BridgePublish>,
    /// "not running", or "running: <holder>" (the single-instance lock).
    pub executor: String,
}

/// One isolation layer of the plugin sandbox on this kernel (`warden status`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LayerState {
    pub layer: crate::policy::IsolationLayer,
    /// "enforced" or "not_enforced"; for the file system layer the Landlock
    /// level "full", "partial" or "none".
    pub state: String,
    pub enforced: bool,
    /// Whether the policy requires it (`plugins.require_isolation`).
    pub required: bool,
}

/// The last publish attempt of the bridge.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BridgePublish {
    pub time: String,
    pub ok: bool,
    pub commits: u64,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "warden status")]
pub struct Status {
    pub schema: String,
    pub root: String,
    pub writer: String,
    pub policy: PolicyRef,
    pub contract_in_sync: bool,
    pub last_success: Option<RunBrief>,
    pub last_failure: Option<RunBrief>,
    pub runs: u64,
    /// Runs that were rolled back (validation failed or interrupted).
    pub failures: u64,
    /// An interrupted run waits for recovery (the next writer recovers it).
    pub pending_recovery: bool,
    /// Files in the quarantine lane.
    pub quarantine: u64,
    pub lock_holder: Option<String>,
    pub ledger: LedgerHealth,
    /// Plugin sandbox level: "full", "partial", "none", or why not applicable.
    pub sandbox: String,
    /// Each isolation layer a plugin gets on this kernel (filled by the CLI).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub isolation: Vec<LayerState>,
    pub backlog: Backlog,
    /// Paths git reports as changed or untracked; null when git could not be asked.
    pub dirty: Option<Vec<String>>,
    /// Why the repository is unhealthy (`warden status` then exits 1): the
    /// ledger does not verify or writers are refused, an interrupted run could
    /// not be recovered, the sandbox the policy requires is missing. Empty
    /// when healthy.
    pub unhealthy: Vec<String>,
}

/// Files below `dir`; `depth` 0 is `.quarantine/` itself, 1 a run's lane.
fn count_files(dir: &std::path::Path, depth: usize) -> Result<u64> {
    let mut n = 0;
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e).io("list", dir),
    };
    // A run's lane holds `files/` and its `index.json` (older runs: the files
    // beside a `QUARANTINE.json`); the indexes are not quarantined files.
    let lane = depth == 1;
    let new_layout = lane && dir.join("files").is_dir();
    for ent in rd {
        let ent = ent.io("list", dir)?;
        let ft = ent.file_type().io("inspect", ent.path())?;
        let name = ent.file_name();
        if ft.is_dir() {
            n += count_files(&ent.path(), depth + 1)?;
        } else if !(lane && name == "QUARANTINE.json" || new_layout && name == "index.json") {
            n += 1;
        }
    }
    Ok(n)
}

fn brief(b: Brief) -> RunBrief {
    RunBrief {
        run: b.run,
        time: b.time,
    }
}

pub fn status(repo: &Repo) -> Result<Status> {
    let ledger = repo.ledger();
    // Bounded: every chain is checked from this clone's head to its end (what
    // the guard checks before a write), the problem of the last full
    // `warden ledger verify` is reported until one passes, and the counts come
    // from the derived index (which checks what was appended since it was
    // last brought up to date). The whole chain is read only by `ledger verify`.
    let summary = ledger.summary()?;
    let mut verify = VerifyReport {
        schema: "warden.ledger-verify/v1".into(),
        ok: true,
        entries: summary.entries,
        bytes: 0,
        chains: Vec::new(),
        problem: None,
        run_files: Default::default(),
    };
    if let Some(why) = ledger.guard_problem(&repo.writer) {
        verify.ok = false;
        verify.problem = Some(Problem {
            file: ".warden/state/ledger-heads.json".into(),
            writer: repo.writer.clone(),
            line: 0,
            run: None,
            message: why,
        });
    } else if let Some(p) = summary.problem.clone() {
        verify.ok = false;
        verify.problem = Some(p);
    }
    let pending_recovery = engine::needs_recovery(repo)?;
    let lock_holder = lock::holder(&repo.layout.lock())?;
    let mut unhealthy = Vec::new();
    if let Some(p) = &verify.problem {
        unhealthy.push(format!("ledger: {}: {}", p.file, p.message));
    }
    // With the lock free, an intent without its done frame is a run that
    // recovery could not finish (with the lock held, it is a run in progress).
    if pending_recovery && lock_holder.is_none() {
        unhealthy.push(
            "journal: an interrupted run could not be recovered (see the warning above)".into(),
        );
    }
    let (last_success, last_failure, runs, failures) = if verify.ok {
        (
            summary.last_success.map(brief),
            summary.last_failure.map(brief),
            summary.entries,
            summary.failures,
        )
    } else {
        (None, None, 0, 0)
    };
    Ok(Status {
        schema: "warden.status/v1".into(),
        root: repo.root().display().to_string(),
        writer: repo.writer.clone(),
        policy: repo.policy.reference(),
        contract_in_sync: repo.contract_in_sync(),
        last_success,
        last_failure,
        runs,
        failures,
        pending_recovery,
        quarantine: count_files(&repo.layout.quarantine_dir(), 0)?,
        lock_holder,
        ledger: LedgerHealth {
            ok: verify.ok,
            entries: verify.entries,
            problem: verify.problem,
        },
        // The core cannot probe the kernel; the CLI fills this in.
        sandbox: "unknown".into(),
        isolation: Vec::new(),
        backlog: Backlog {
            pending_proposals: 0,
            bridge_inbox: None,
            bridge: None,
        },
        dirty: None,
        unhealthy,
    })
}

/// One row of `warden runs`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "warden runs row")]
pub struct RunRow {
    pub run: String,
    pub time: String,
    pub writer: String,
    pub command: String,
    pub actor: Source,
    pub event: String,
    pub result: RunResult,
    pub files: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undoes: Option<String>,
    /// The run that undid this one, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undone_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

pub fn runs(entries: &[Entry]) -> Vec<RunRow> {
    let undone: BTreeMap<&str, &str> = entries
        .iter()
        .filter(|e| e.result == RunResult::Applied)
        .filter_map(|e| e.undoes.as_deref().map(|u| (u, e.run.as_str())))
        .collect();
    entries
        .iter()
        .map(|e| RunRow {
            run: e.run.clone(),
            time: e.time.clone(),
            writer: e.writer.clone(),
            command: e.command.clone(),
            actor: e.actor.clone(),
            event: e.event.clone(),
            result: e.result,
            files: e.counts.files,
            undoes: e.undoes.clone(),
            undone_by: undone.get(e.run.as_str()).map(|s| s.to_string()),
            reason: e.reason.clone(),
        })
        .collect()
}

/// One event of `warden events`, with the actions the current policy allows.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "warden event")]
pub struct EventInfo {
    pub name: String,
    pub trigger: String,
    /// Per source kind, the allowed action kinds (from the policy when known,
    /// otherwise warden's defaults).
    pub allowed: BTreeMap<String, Vec<String>>,
    pub required_ledger_fields: Vec<String>,
    pub rollback: String,
    pub input_schema: serde_json::Value,
}

pub fn event_infos(policy: Option<&Policy>) -> Vec<EventInfo> {
    events::catalogue()
        .into_iter()
        .map(|ev| {
            let allowed = match policy {
                Some(p) => events::SOURCE_KINDS
                    .iter()
                    .filter_map(|s| {
                        let a = p.allowed(ev.name, s);
                        (!a.is_empty()).then(|| {
                            (
                                s.to_string(),
                                a.iter().map(|k| k.name().to_string()).collect(),
                            )
                        })
                    })
                    .collect(),
                None => ev
                    .default_allow
                    .iter()
                    .map(|(s, a)| {
                        (
                            s.to_string(),
                            a.iter().map(|k| k.name().to_string()).collect(),
                        )
                    })
                    .collect(),
            };
            EventInfo {
                name: ev.name.into(),
                trigger: ev.trigger.into(),
                allowed,
                required_ledger_fields: ev
                    .required_ledger_fields
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                rollback: ev.rollback.into(),
                input_schema: ev.input_schema,
            }
        })
        .collect()
}

/// `warden runs` (`warden.runs/v1`): the runs, oldest first.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "warden runs")]
pub struct RunsReport {
    /// Always "warden.runs/v1".
    pub schema: String,
    pub runs: Vec<RunRow>,
    /// Older runs this page leaves out (`--limit N`); absent when none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub not_shown: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl RunsReport {
    pub fn new(runs: Vec<RunRow>) -> Self {
        RunsReport {
            schema: crate::report::tag(<Self as crate::report::Report>::SCHEMA),
            runs,
            not_shown: 0,
        }
    }
}

impl crate::report::Report for RunsReport {
    const SCHEMA: &'static str = "runs";

    fn human(&self) -> String {
        self.human_styled(&crate::report::Plain)
    }

    fn human_styled(&self, style: &dyn crate::report::Style) -> String {
        crate::render::runs::runs(self, style)
    }
}

/// `warden events` (`warden.events/v1`): the lifecycle events and what the
/// policy allows on each.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "warden events")]
pub struct EventsReport {
    /// Always "warden.events/v1".
    pub schema: String,
    /// Whether `allowed` comes from the repository's policy (false: warden's
    /// defaults, outside an initialised repository).
    pub from_policy: bool,
    pub events: Vec<EventInfo>,
}

impl EventsReport {
    pub fn new(policy: Option<&Policy>) -> Self {
        EventsReport {
            schema: crate::report::tag(<Self as crate::report::Report>::SCHEMA),
            from_policy: policy.is_some(),
            events: event_infos(policy),
        }
    }
}

impl crate::report::Report for EventsReport {
    const SCHEMA: &'static str = "events";

    fn human(&self) -> String {
        let mut s = format!(
            "allowed actions are {}\n\n",
            if self.from_policy {
                "from .warden/policy.yaml"
            } else {
                "warden's defaults (no initialised repository here)"
            }
        );
        for e in &self.events {
            s.push_str(&format!("{}\n", e.name));
            s.push_str(&format!("  trigger   {}\n", e.trigger));
            if e.allowed.is_empty() {
                s.push_str("  allowed   nothing\n");
            }
            for (src, acts) in &e.allowed {
                s.push_str(&format!("  allowed   {src}: {}\n", acts.join(", ")));
            }
            s.push_str(&format!("  rollback  {}\n", e.rollback));
            s.push_str(&format!("  schema    `warden schema event/{}`\n", e.name));
        }
        s
    }
}

/// `warden ledger log` (`warden.ledger-log/v1`): every entry, ordered by run id.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "warden ledger log")]
pub struct LedgerLog {
    /// Always "warden.ledger-log/v1".
    pub schema: String,
    /// Each is a ledger line (`warden.ledger/v1`).
    pub entries: Vec<Entry>,
}

impl LedgerLog {
    pub fn new(entries: Vec<Entry>) -> Self {
        LedgerLog {
            schema: crate::report::tag(<Self as crate::report::Report>::SCHEMA),
            entries,
        }
    }
}

impl crate::report::Report for LedgerLog {
    const SCHEMA: &'static str = "ledger-log";

    fn human(&self) -> String {
        self.human_styled(&crate::report::Plain)
    }

    fn human_styled(&self, style: &dyn crate::report::Style) -> String {
        crate::render::runs::ledger_log(self, style)
    }
}

impl crate::report::Report for crate::repo::InitReport {
    const SCHEMA: &'static str = "init";

    fn human(&self) -> String {
        let mut s = if self.created.is_empty() && self.updated.is_empty() {
            format!(
                "warden is already initialised in {}; nothing changed\n",
                self.root
            )
        } else {
            format!(
                "initialised warden in {} (this clone writes ledger chain {})\n",
                self.root, self.writer
            )
        };
        for p in &self.created {
            s.push_str(&format!("  created   {p}\n"));
        }
        for p in &self.updated {
            s.push_str(&format!("  updated   {p}\n"));
        }
        if !self.created.is_empty() {
            s.push_str(
                "\nnext: commit .warden/, .ledger/ and .runs/.gitignore; try `warden apply --help`\n",
            );
        }
        s
    }
}
