//! `warden run EVENT`: every enabled plugin of the event in order, each
//! checked against its pin, invoked, checked for repository writes (rolled
//! back), and its proposal handed to a [`ProposalSink`]; the dispatch is
//! ledgered as one recorded run.

use super::{Fault, PLUGIN_DENIED};
use super::{FaultKind, Invocation, Launcher, RUN_SCHEMA_ID, fault, invoke, proposal_value};
use crate::generate::{self, MANIFEST};
use crate::sandbox::{Isolation, IsolationLayer, Level};
use crate::snapshot::Snapshot;
use crate::spec::PluginSpec;
use crate::validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::path::Path;
use warden_core::engine::{Record, Session};
use warden_core::plugin_registry::{EnabledPlugin, PluginRegistry};
use warden_core::policy::PolicyRef;
use warden_core::proposal::{Proposal, Source};
use warden_core::{Digest, Error, Result};

/// Why an enabled plugin may not run now (its files changed since it was
/// enabled, or the policy did), or None.
pub fn pinned_mismatch(
    root: &Path,
    key: &str,
    pinned: &EnabledPlugin,
    policy_digest: Digest,
) -> Option<String> {
    let dir = generate::plugin_dir(root, key);
    let fix = format!("run `warden plugin validate {key}`, then `warden plugin enable {key}`");
    let Ok(bytes) = std::fs::read(dir.join(MANIFEST)) else {
        return Some(format!("plugins/{key}/{MANIFEST} is missing; {fix}"));
    };
    if Digest::of(&bytes) != pinned.manifest_sha256 {
        return Some(format!(
            "plugins/{key}/{MANIFEST} changed since the plugin was enabled; {fix}"
        ));
    }
    let manifest: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let Some(files) = manifest["files"].as_object() else {
        return Some(format!("plugins/{key}/{MANIFEST} lists no files; {fix}"));
    };
    let on_disk = generate::list_files(&dir).unwrap_or_default();
    for rel in &on_disk {
        if rel != MANIFEST && !files.contains_key(rel) {
            return Some(format!(
                "plugins/{key}/{rel} was added since the plugin was enabled; {fix}"
            ));
        }
    }
    for (rel, sum) in files {
        let now = std::fs::read(dir.join(rel)).map(|b| Digest::of(&b).to_string());
        if now.as_deref().ok() != sum.as_str() {
            return Some(format!(
                "plugins/{key}/{rel} changed since the plugin was enabled; {fix}"
            ));
        }
    }
    if pinned.policy_sha256 != policy_digest {
        return Some(format!(
            "the policy changed since the plugin was enabled; run `warden plugin gen {key}`, then validate and enable it again"
        ));
    }
    None
}

/// What became of one plugin's turn in a dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PluginOutcome {
    /// Its proposal was applied as a run.
    Applied,
    /// It proposed nothing, or nothing that changes a file.
    NoChange,
    /// Its proposal was applied, then rolled back (validation, deadline).
    RolledBack,
    /// It faulted or changed what it must not; its effects were undone.
    Isolated,
    /// It was not started, or its proposal was refused.
    Refused,
    /// Its proposal was taken by the caller (the sync guardian, on its sync
    /// branch) rather than applied by the engine.
    Accepted,
}

impl PluginOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            PluginOutcome::Applied => "applied",
            PluginOutcome::NoChange => "no_change",
            PluginOutcome::RolledBack => "rolled_back",
            PluginOutcome::Isolated => "isolated",
            PluginOutcome::Refused => "refused",
            PluginOutcome::Accepted => "accepted",
        }
    }
}

impl std::fmt::Display for PluginOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `{:<11}` in tables: pad like a string.
        f.pad(self.as_str())
    }
}

/// What warden records for one plugin of a dispatch (its ledger contract).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PluginRecord {
    pub plugin: String,
    pub plugin_version: String,
    pub manifest_sha256: Digest,
    pub event: String,
    pub input_sha256: Digest,
    pub policy: PolicyRef,
    /// The file system layer (Landlock), as before `isolation` existed.
    pub sandbox: Level,
    /// Every isolation layer the helper enforced for this plugin; absent in
    /// records written before it existed, and when the plugin never started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolation: Option<Isolation>,
    pub exit: Option<i32>,
    pub duration_ms: u64,
    pub stderr_sha256: Digest,
    /// sha256 of the canonical proposal; null when the plugin gave none.
    pub proposal_sha256: Option<Digest>,
    pub outcome: PluginOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<Fault>,
    /// The engine run that applied the proposal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_run: Option<String>,
    /// What was kept in the quarantine lane.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quarantined: Vec<String>,
    /// The repository snapshots around this plugin were bounded: `.runs/`
    /// and `.git/` listed only to their top level, because the helper
    /// enforced the file system rules and the read-only mount (so the plugin
    /// could not write there). Absent when the full walk was used.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bounded_snapshot: bool,
}

/// The report of `warden run`, also the `details` of its ledger entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "warden plugin run report")]
pub struct DispatchReport {
    pub schema: String,
    pub run: String,
    pub event: String,
    pub input_sha256: Digest,
    pub items: u64,
    pub plugins: Vec<PluginRecord>,
}

impl DispatchReport {
    pub fn faults(&self) -> usize {
        self.plugins.iter().filter(|p| p.fault.is_some()).count()
    }
}

/// The canonical stored input of a dispatch.
pub fn input_bytes(event: &str, items: &[Value]) -> Vec<u8> {
    serde_json::to_vec(&json!({"event": event, "items": items})).unwrap_or_default()
}

/// Check a batch against the event's input schema. `file` names the input.
pub fn check_items(event: &str, items: &[Value], file: &str) -> Result<()> {
    let spec = warden_core::events::find(event).ok_or_else(|| {
        Error::invalid(
            "(command line)",
            "EVENT",
            format!("unknown event \"{event}\""),
            warden_core::error::did_you_mean(event, warden_core::events::event_names())
                .or(Some("`warden events` lists them".into())),
        )
    })?;
    let v =
        jsonschema::draft7::new(&spec.input_schema).map_err(|e| Error::Internal(e.to_string()))?;
    for (i, item) in items.iter().enumerate() {
        if let Some(err) = v.iter_errors(item).next() {
            let at = err.instance_path().to_string();
            return Err(Error::invalid(
                file,
                format!("items[{i}]{at}"),
                err.to_string(),
                Some(format!(
                    "`warden schema event/{event}` shows the payload of {event}"
                )),
            ));
        }
    }
    Ok(())
}

pub struct DispatchOptions<'a> {
    pub launcher: &'a Launcher,
    /// Who ran `warden run`.
    pub actor: Source,
}

/// What becomes of a plugin's proposal once it passed the runtime's own
/// checks (declared action kinds; nothing under `plugins/` or `ids/`).
pub trait ProposalSink {
    /// Plan and apply the proposal, or accept it for the caller to apply
    /// elsewhere. `Taken::Refused(e)` is recorded as the plugin's fault
    /// (`beyond_policy` for a refusal, else `invalid_proposal`) and its
    /// proposal is kept.
    fn take(
        &mut self,
        session: &mut Session,
        plugin: &PluginRecord,
        proposal: &Proposal,
        digest: Digest,
        label: &str,
    ) -> Result<Taken>;

    /// Where a faulty plugin's output is kept: the working tree's quarantine
    /// lane `.quarantine/<RUN>/` (true), or only the dispatch run's
    /// artifacts `.runs/<RUN>/` (false, for callers that must leave the
    /// working tree alone).
    fn quarantine_lane(&self) -> bool {
        true
    }
}

/// What a [`ProposalSink`] did with a proposal.
#[derive(Debug)]
pub enum Taken {
    Refused(Error),
    NoChange,
    /// Applied by the engine as its own run (rolled back when its validation failed).
    Applied {
        run: String,
        rolled_back: bool,
    },
    /// Accepted by the caller, who applies it elsewhere (recorded as `accepted`).
    Accepted,
}

/// The sink of `warden run`: the engine plans the proposal against the
/// working tree (policy gate, preconditions) and applies it as its own run.
pub struct WorkingTree;

impl ProposalSink for WorkingTree {
    fn take(
        &mut self,
        session: &mut Session,
        _plugin: &PluginRecord,
        proposal: &Proposal,
        digest: Digest,
        label: &str,
    ) -> Result<Taken> {
        let plan = match session.plan(proposal, digest, label) {
            Ok(p) => p,
            Err(e) => return Ok(Taken::Refused(e)),
        };
        if plan.noop.is_some() || plan.changes.is_empty() {
            return Ok(Taken::NoChange);
        }
        let outcome = session.apply(&plan)?;
        Ok(Taken::Applied {
            run: outcome.entry.run.clone(),
            rolled_back: outcome.entry.result != warden_core::ledger::RunResult::Applied,
        })
    }
}

/// Dispatch `event` with its batch to every enabled plugin and apply their
/// proposals to the working tree. See the module docs.
pub fn dispatch(
    session: &mut Session,
    event: &str,
    items: Vec<Value>,
    opts: &DispatchOptions,
) -> Result<DispatchReport> {
    dispatch_to(session, event, items, opts, &mut WorkingTree)
}

/// [`dispatch`], with the proposals going to `sink` instead of the working tree.
pub fn dispatch_to(
    session: &mut Session,
    event: &str,
    items: Vec<Value>,
    opts: &DispatchOptions,
    sink: &mut dyn ProposalSink,
) -> Result<DispatchReport> {
    let root = session.repo.root().to_path_buf();
    let policy = session.repo.policy.clone();
    let registry = PluginRegistry::read(&root)?;
    let run = session.new_run_id();
    let input = input_bytes(event, &items);
    let input_sha256 = Digest::of(&input);
    let require = !policy.file.plugins.run_unsandboxed;
    let launcher = opts.launcher.for_policy(&policy);
    let enabled: Vec<(String, EnabledPlugin)> = registry
        .for_event(event)
        .into_iter()
        .map(|(k, p)| (k.clone(), p.clone()))
        .collect();
    // When the policy requires the sandbox the helper itself refuses to start
    // an unsandboxed plugin; when it does not, the probe decides whether
    // snapshots must keep content to roll writes back. The probe (cached for
    // the boot) also says whether the snapshots may be bounded.
    let probed = if enabled.is_empty() || launcher.helper.is_none() {
        Isolation::NONE
    } else {
        crate::probe_cache::probe_isolation_cached(&launcher, &probe_cache_path(session))
    };
    let level = if enabled.is_empty() {
        Level::None
    } else if require {
        Level::Full
    } else {
        probed.filesystem
    };
    let bounded = bounding_launcher(&launcher, &probed);
    let turn = Turn {
        root: &root,
        run: &run,
        event,
        items: &items,
        input_sha256,
        policy: policy.reference(),
        launcher: &launcher,
        bounded: bounded.as_ref(),
        require,
        level,
        lane: sink.quarantine_lane(),
        cache: probe_cache_path(session),
    };
    let mut artifacts: Vec<(String, Vec<u8>)> = vec![("input.json".into(), input.clone())];
    let mut records = Vec::new();
    for (key, pinned) in enabled {
        records.push(turn.take(session, sink, &key, &pinned, &mut artifacts)?);
    }
    let report = DispatchReport {
        schema: RUN_SCHEMA_ID.into(),
        run: run.clone(),
        event: event.into(),
        input_sha256,
        items: items.len() as u64,
        plugins: records,
    };
    session.record(Record {
        run,
        command: "run".into(),
        actor: opts.actor.clone(),
        event: event.into(),
        input_digest: input_sha256,
        rationale: None,
        details: Some(serde_json::to_value(&report).map_err(|e| Error::Internal(e.to_string()))?),
        artifacts,
    })?;
    Ok(report)
}

/// Where the kernel's answer to the isolation probe is kept for the boot.
fn probe_cache_path(session: &Session) -> std::path::PathBuf {
    session
        .repo
        .layout
        .state_dir()
        .join(crate::probe_cache::FILE)
}

/// Whether a plugin may run between bounded snapshots (see
/// [`crate::snapshot`]): only when the file system rules and the read-only
/// mount are enforced, so it cannot write into `.runs/` at all.
pub fn allows_bounded_snapshot(iso: &Isolation) -> bool {
    iso.filesystem.enforced() && iso.metadata.on()
}

/// When the probe says the helper enforces what a bounded snapshot relies on:
/// the launcher that makes the helper refuse to start the plugin without it
/// (so a stale probe can never let a plugin run unseen). Else `None`.
fn bounding_launcher(launcher: &Launcher, probed: &Isolation) -> Option<Launcher> {
    if launcher.helper.is_none() || !allows_bounded_snapshot(probed) {
        return None;
    }
    let mut l = launcher.clone();
    for layer in [IsolationLayer::Filesystem, IsolationLayer::Metadata] {
        if !l.require_isolation.contains(&layer) {
            l.require_isolation.push(layer);
        }
    }
    Some(l)
}

/// What every plugin's turn in one dispatch shares.
struct Turn<'a> {
    root: &'a Path,
    run: &'a str,
    event: &'a str,
    items: &'a [Value],
    input_sha256: Digest,
    policy: PolicyRef,
    launcher: &'a Launcher,
    /// The launcher that requires the layers of a bounded snapshot, when
    /// the probe says the helper has them.
    bounded: Option<&'a Launcher>,
    require: bool,
    /// The sandbox level: when not enforced, snapshots keep content.
    level: Level,
    /// Keep faulty output in the quarantine lane (else under `.runs/`).
    lane: bool,
    /// The probe cache, dropped when the helper no longer gives what it said.
    cache: std::path::PathBuf,
}

impl Turn<'_> {
    /// One plugin's turn: pin check, invoke, repository check, proposal to
    /// the sink. Every failure is the plugin's fault in its record; only the
    /// core's own errors end the dispatch.
    fn take(
        &self,
        session: &mut Session,
        sink: &mut dyn ProposalSink,
        key: &str,
        pinned: &EnabledPlugin,
        artifacts: &mut Vec<(String, Vec<u8>)>,
    ) -> Result<PluginRecord> {
        let mut rec = self.record(key, pinned);
        let (spec, op) = match self.load(key, pinned) {
            Ok(found) => found,
            Err(f) => {
                rec.fault = Some(f);
                return Ok(rec);
            }
        };
        let (before, inv) = self.run_plugin(&spec, &op)?;
        rec.bounded_snapshot = before.bounded;
        rec.exit = inv.exit;
        rec.duration_ms = inv.duration_ms;
        rec.sandbox = inv.sandbox.filesystem;
        if self.launcher.helper.is_some() {
            rec.isolation = Some(inv.sandbox);
        }
        rec.stderr_sha256 = Digest::of(&inv.stderr);
        if !inv.stderr.is_empty() {
            artifacts.push((format!("{key}.stderr.log"), inv.stderr.clone()));
        }
        rec.outcome = PluginOutcome::Isolated;
        let after = self.snapshot(false, before.bounded)?;
        let rb = crate::snapshot::roll_back(
            session,
            self.run,
            &format!("{key}-repo-writes"),
            &before,
            &after,
        )?;
        let output = match (rb.changes.is_empty(), inv.outcome) {
            (true, Ok(o)) => o,
            (clean, outcome) => {
                if !clean {
                    rec.quarantined = rb.quarantined.clone();
                    rec.fault = Some(repo_fault(&rb));
                } else if let Err(f) = outcome {
                    rec.fault = Some(f);
                }
                keep_output(
                    session,
                    self.run,
                    key,
                    &inv.stdout,
                    &mut rec,
                    self.lane,
                    artifacts,
                )?;
                return Ok(rec);
            }
        };
        let doc = proposal_value(&spec, self.event, &output);
        let bytes = serde_json::to_vec(&doc).unwrap_or_default();
        rec.proposal_sha256 = Some(Digest::of(&bytes));
        artifacts.push((format!("{key}.proposal.json"), bytes.clone()));
        if output.actions.is_empty() {
            rec.outcome = PluginOutcome::NoChange;
            return Ok(rec);
        }
        if let Some(bad) = output
            .actions
            .iter()
            .filter_map(|a| a["kind"].as_str())
            .find(|k| !spec.actions.iter().any(|d| d == k))
        {
            rec.fault = Some(fault(
                FaultKind::UndeclaredAction,
                format!("proposed `{bad}`, which plugin.spec.json does not declare"),
            ));
            keep_proposal(session, self.run, key, &bytes, &mut rec, self.lane)?;
            return Ok(rec);
        }
        let label = format!("plugin {key} (run {})", self.run);
        let taken = match checked_proposal(&doc, &label) {
            Ok((p, d)) => sink.take(session, &rec, &p, d, &label)?,
            Err(e) => Taken::Refused(e),
        };
        if settle(&mut rec, taken) {
            keep_proposal(session, self.run, key, &bytes, &mut rec, self.lane)?;
        }
        Ok(rec)
    }

    /// The record of a plugin before it runs (refused until it does).
    fn record(&self, key: &str, pinned: &EnabledPlugin) -> PluginRecord {
        PluginRecord {
            plugin: key.into(),
            plugin_version: pinned.version.clone(),
            manifest_sha256: pinned.manifest_sha256,
            event: self.event.into(),
            input_sha256: self.input_sha256,
            policy: self.policy.clone(),
            // Set from the helper's report once the plugin runs.
            sandbox: Level::None,
            isolation: None,
            exit: None,
            duration_ms: 0,
            stderr_sha256: Digest::of(b""),
            proposal_sha256: None,
            outcome: PluginOutcome::Refused,
            fault: None,
            applied_run: None,
            quarantined: Vec::new(),
            bounded_snapshot: false,
        }
    }

    /// The snapshot before the plugin, and its invocation: bounded when the
    /// helper enforces the layers that allow it (it refuses to start the
    /// plugin otherwise, and then the plugin runs again after a full walk).
    fn run_plugin(&self, spec: &PluginSpec, op: &str) -> Result<(Snapshot, Invocation)> {
        let call = |launcher| {
            invoke(
                self.root,
                spec,
                op,
                self.event,
                self.items,
                launcher,
                self.require,
            )
        };
        if let Some(strict) = self.bounded {
            let before = self.snapshot(false, true)?;
            let inv = call(strict);
            let refused = matches!(&inv.outcome, Err(f) if f.kind == FaultKind::SandboxUnavailable);
            if !refused {
                return Ok((before, inv));
            }
            // The cached probe no longer holds: ask the kernel again next time.
            let _ = std::fs::remove_file(&self.cache);
        }
        let before = self.snapshot(!self.level.enforced(), false)?;
        Ok((before, call(self.launcher)))
    }

    /// The plugin's spec and the operation that handles the event, when its
    /// files still match its pin; else the `not_validated` fault.
    fn load(
        &self,
        key: &str,
        pinned: &EnabledPlugin,
    ) -> std::result::Result<(PluginSpec, String), Fault> {
        if let Some(why) = pinned_mismatch(self.root, key, pinned, self.policy.digest) {
            return Err(fault(FaultKind::NotValidated, why));
        }
        let spec = validate::load_pinned_spec(self.root, key)
            .map_err(|f| fault(FaultKind::NotValidated, f.message))?;
        let Some(op) = spec.operation_for(self.event).map(|o| o.name.clone()) else {
            return Err(fault(
                FaultKind::NotValidated,
                format!("no operation of {key} handles {}", self.event),
            ));
        };
        Ok((spec, op))
    }

    fn snapshot(&self, with_content: bool, bounded: bool) -> Result<Snapshot> {
        Snapshot::take_bounded(self.root, with_content, bounded).map_err(|e| Error::Io {
            op: "scan",
            path: self.root.to_path_buf(),
            source: e,
        })
    }
}

/// The fault of a plugin that changed the repository (already rolled back).
fn repo_fault(rb: &crate::snapshot::RollBack) -> Fault {
    fault(
        if rb.content {
            FaultKind::RepoModified
        } else {
            FaultKind::MetadataModified
        },
        format!(
            "the plugin changed the repository ({}); {}",
            rb.changes.join("; "),
            if rb.unrestored.is_empty() {
                "every change was rolled back, its versions kept in quarantine".to_string()
            } else {
                format!(
                    "rolled back what could be, its versions kept in quarantine; not restored: {}",
                    rb.unrestored.join("; ")
                )
            }
        ),
    )
}

/// A plugin's proposal document as a proposal, with the runtime's own
/// checks: no local content file (a sandboxed plugin sends bytes), and
/// nothing under `plugins/` or `ids/`.
fn checked_proposal(doc: &Value, label: &str) -> Result<(Proposal, Digest)> {
    let (p, d) = Proposal::from_value_remote(doc, label)?;
    p.refuse_content_file(label)?;
    // Plugins never touch plugins (their code, the registry) or identities.
    if let Some(path) = p
        .actions
        .iter()
        .flat_map(|a| a.paths())
        .find(|path| PLUGIN_DENIED.iter().any(|d| path.as_str().starts_with(d)))
    {
        return Err(Error::rejected(
            label,
            "actions",
            format!(
                "\"{path}\" is inside {}, which plugins may never change",
                PLUGIN_DENIED.join(" or ")
            ),
            Some("plugins propose changes to the repository's content only".into()),
        ));
    }
    Ok((p, d))
}

/// Record what the sink did with the proposal; true when it was refused
/// (its proposal is then kept).
fn settle(rec: &mut PluginRecord, taken: Taken) -> bool {
    match taken {
        Taken::Refused(e) => {
            let kind = if matches!(e, Error::Rejected { .. }) {
                FaultKind::BeyondPolicy
            } else {
                FaultKind::InvalidProposal
            };
            rec.fault = Some(fault(
                kind,
                format!(
                    "{e}{}",
                    e.hint().map(|h| format!(" ({h})")).unwrap_or_default()
                ),
            ));
            return true;
        }
        Taken::NoChange => rec.outcome = PluginOutcome::NoChange,
        Taken::Applied { run, rolled_back } => {
            rec.applied_run = Some(run);
            rec.outcome = if rolled_back {
                PluginOutcome::RolledBack
            } else {
                PluginOutcome::Applied
            };
        }
        Taken::Accepted => rec.outcome = PluginOutcome::Accepted,
    }
    false
}

/// Keep a faulty plugin's stdout: in the quarantine lane, or (`lane` false)
/// as an artifact of the dispatch run.
fn keep_output(
    session: &mut Session,
    run: &str,
    key: &str,
    stdout: &[u8],
    rec: &mut PluginRecord,
    lane: bool,
    artifacts: &mut Vec<(String, Vec<u8>)>,
) -> Result<()> {
    if stdout.is_empty() {
        return Ok(());
    }
    let name = format!("{key}.stdout");
    if lane {
        rec.quarantined
            .push(session.quarantine_artifact(run, &name, stdout)?);
    } else {
        rec.quarantined.push(format!(".runs/{run}/{name}"));
        artifacts.push((name, stdout.to_vec()));
    }
    Ok(())
}

/// Keep a refused proposal (it is already among the run's artifacts).
fn keep_proposal(
    session: &mut Session,
    run: &str,
    key: &str,
    bytes: &[u8],
    rec: &mut PluginRecord,
    lane: bool,
) -> Result<()> {
    let name = format!("{key}.proposal.json");
    rec.quarantined.push(if lane {
        session.quarantine_artifact(run, &name, bytes)?
    } else {
        format!(".runs/{run}/{name}")
    });
    Ok(())
}
