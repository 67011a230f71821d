//! `warden run EVENT`: dispatch an event to the enabled plugins (SPEC §5.3).
//!
//! For each enabled plugin handling the event, in order (priority, then key):
//! 1. refuse it unless its files still match the manifest pinned at enable
//!    time and the policy is the one it was validated against;
//! 2. start one process for the whole batch (through the sandbox helper),
//!    speak the protocol, enforce the wall-clock and output limits;
//! 3. verify the repository is unchanged (G9) — roll back and quarantine any
//!    change;
//! 4. turn the response into a proposal (source `plugin:<key>`) and hand it
//!    to the engine: policy gate, atomic apply, ledger — its own undoable run.
//!
//! A plugin that fails at any step is isolated: its fault is recorded, its
//! output is kept in the quarantine lane, and the next plugin still runs
//! (G8). The dispatch itself is ledgered as a recorded run holding, per
//! plugin, the fields of its ledger contract, so `warden replay RUN` can
//! re-derive every proposal from the stored input (G7).

use crate::generate::{self, MANIFEST};
use crate::protocol::{FromPlugin, Output, ProtocolVersion, RequestInput, ToPlugin};
use crate::sandbox::{self, Isolation, IsolationLayer, Level};
use crate::snapshot::Snapshot;
use crate::spec::{FEATURES, PROTOCOL_MAJOR, PluginSpec};
use crate::validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use warden_core::engine::{Record, Session};
use warden_core::plugin_registry::{EnabledPlugin, PluginRegistry};
use warden_core::policy::PolicyRef;
use warden_core::process::{Cmd, End, Over, Sink};
use warden_core::proposal::{Proposal, Source};
use warden_core::{Digest, Error, Result};

pub const RUN_SCHEMA_ID: &str = "warden.plugin-run/v1";
/// Areas no plugin proposal may touch, on top of the core's protected areas.
pub const PLUGIN_DENIED: &[&str] = &["plugins/", "ids/"];

/// How long the sandbox probe (`warden __sandbox --probe`) may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// How plugin processes are started.
#[derive(Debug, Clone, Default)]
pub struct Launcher {
    /// The warden binary, used as the sandbox helper (`warden __sandbox`).
    /// `None`: start plugins directly, unsandboxed.
    pub helper: Option<PathBuf>,
    /// Environment passed to plugins (the rest is cleared): PATH and toolchain homes.
    pub env: Vec<(String, String)>,
    /// Isolation layers the helper must enforce before it starts a plugin
    /// (`plugins.require_isolation`; see [`Launcher::for_policy`]). Only
    /// passed when the sandbox is required at all.
    pub require_isolation: Vec<IsolationLayer>,
}

impl Launcher {
    /// The sandbox level a plugin would get now (runs the helper once).
    pub fn probe(&self) -> Level {
        self.probe_isolation().filesystem
    }

    /// Every isolation layer a plugin would get now (runs the helper once,
    /// with a protected directory, so the metadata layer is tried too).
    pub fn probe_isolation(&self) -> Isolation {
        let Some(helper) = &self.helper else {
            return Isolation::NONE;
        };
        let Ok(scratch) = tempfile::Builder::new().prefix("warden-probe-").tempdir() else {
            return Isolation::NONE;
        };
        let protect = scratch.path().join("protected");
        let _ = std::fs::create_dir(&protect);
        let out = Cmd::new(helper)
            .arg("__sandbox")
            .arg("--probe")
            .arg("--scratch")
            .arg(scratch.path())
            .arg("--protect")
            .arg(&protect)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .timeout(PROBE_TIMEOUT)
            .run();
        out.ok()
            .and_then(|o| {
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .next()
                    .and_then(Isolation::parse)
            })
            .unwrap_or(Isolation::NONE)
    }

    /// This launcher with the policy's required isolation layers.
    pub fn for_policy(&self, policy: &warden_core::policy::Policy) -> Launcher {
        let mut l = self.clone();
        l.require_isolation = if policy.file.plugins.run_unsandboxed {
            Vec::new()
        } else {
            policy.file.plugins.require_isolation.clone()
        };
        l
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// The plugin's files no longer match the manifest pinned when it was enabled.
    NotValidated,
    /// The kernel sandbox is not enforced and the policy does not allow running unsandboxed.
    SandboxUnavailable,
    SpawnFailed,
    /// Exited non-zero or was killed by a signal.
    Crashed,
    TimedOut,
    OutputTooLarge,
    /// stdout is not the protocol's JSON lines.
    GarbageOutput,
    /// The plugin speaks another protocol major.
    ProtocolMismatch,
    /// The plugin answered with an error message.
    PluginError,
    /// It proposed an action kind its spec does not declare.
    UndeclaredAction,
    /// The policy gate refused its proposal (an action, a path or a limit), or
    /// a precondition does not hold.
    BeyondPolicy,
    /// Its proposal is malformed.
    InvalidProposal,
    /// It changed the repository (rolled back; its version is quarantined).
    RepoModified,
    /// It changed only metadata in the repository: a mode (chmod, setuid),
    /// an owner or an extended attribute, of a file or a directory (restored).
    MetadataModified,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Fault {
    pub kind: FaultKind,
    pub message: String,
}

fn fault(kind: FaultKind, message: impl Into<String>) -> Fault {
    Fault {
        kind,
        message: message.into(),
    }
}

/// One plugin process: what it said and how it ended.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub exit: Option<i32>,
    pub duration_ms: u64,
    /// Every isolation layer, as the helper reported it.
    pub sandbox: Isolation,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub outcome: std::result::Result<Output, Fault>,
}

/// Start the plugin, send hello + request, collect its answer within limits.
/// The process runner (`warden_core::process`) owns the child: cleared
/// environment plus the launcher's list, its own process group, the
/// wall-clock limit, the stdout limit, and the kill of its whole tree.
pub fn invoke(
    root: &Path,
    spec: &PluginSpec,
    op: &str,
    event: &str,
    items: &[Value],
    launcher: &Launcher,
    require_sandbox: bool,
) -> Invocation {
    let started = Instant::now();
    let done = |exit, sandbox, stdout, stderr, outcome| Invocation {
        exit,
        duration_ms: started.elapsed().as_millis() as u64,
        sandbox,
        stdout,
        stderr,
        outcome,
    };
    if require_sandbox && launcher.helper.is_none() {
        return done(
            None,
            Isolation::NONE,
            Vec::new(),
            Vec::new(),
            Err(fault(
                FaultKind::SandboxUnavailable,
                "plugins run without the sandbox helper here (WARDEN_SANDBOX=off) and the policy does not allow unsandboxed plugins (plugins.run_unsandboxed)",
            )),
        );
    }
    let dir = generate::plugin_dir(root, &spec.key);
    let scratch = match tempfile::Builder::new().prefix("warden-plugin-").tempdir() {
        Ok(s) => s,
        Err(e) => {
            return done(
                None,
                Isolation::NONE,
                Vec::new(),
                Vec::new(),
                Err(fault(
                    FaultKind::SpawnFailed,
                    format!("cannot create a scratch directory: {e}"),
                )),
            );
        }
    };
    let entry = spec.entry();
    let cmd = match &launcher.helper {
        Some(helper) => {
            let mut c = Cmd::new(helper)
                .arg("__sandbox")
                .arg("--scratch")
                .arg(scratch.path())
                .arg("--protect")
                .arg(root);
            if require_sandbox {
                c = c.arg("--require");
                for l in &launcher.require_isolation {
                    c = c.arg("--require-layer").arg(l.name());
                }
            }
            c.arg("--").args(&entry)
        }
        None => Cmd::new(&entry[0]).args(&entry[1..]),
    };
    let mut input = Vec::new();
    for msg in [
        ToPlugin::Hello {
            protocol: ProtocolVersion {
                major: PROTOCOL_MAJOR,
                features: FEATURES.iter().map(|s| s.to_string()).collect(),
            },
        },
        ToPlugin::Request {
            op: op.into(),
            event: event.into(),
            input: RequestInput {
                items: items.to_vec(),
            },
        },
    ] {
        let _ = serde_json::to_writer(&mut input, &msg);
        input.push(b'\n');
    }
    let limit = spec.limits.max_output_bytes;
    let run = cmd
        .cwd(&dir)
        .envs(launcher.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("HOME", scratch.path())
        .env("TMPDIR", scratch.path())
        .env("CARGO_TARGET_DIR", scratch.path().join("target"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("WARDEN_REPO", root)
        .env("WARDEN_SCRATCH", scratch.path())
        .env("WARDEN_PLUGIN", &spec.key)
        .stdin_bytes(input)
        .stdout(Sink::capture(limit))
        .stderr(Sink::Capture {
            limit,
            over: Over::Discard,
        })
        .timeout(Duration::from_millis(spec.limits.timeout_ms))
        .run();
    let finished = match run {
        Ok(f) => f,
        Err(e) => {
            return done(
                None,
                Isolation::NONE,
                Vec::new(),
                Vec::new(),
                Err(fault(
                    FaultKind::SpawnFailed,
                    format!("cannot start `{}`: {e}", entry.join(" ")),
                )),
            );
        }
    };
    let (level, stderr) = split_status(finished.stderr, launcher);
    let stdout = finished.stdout;
    let exit = finished.code;
    match finished.end {
        End::TimedOut => {
            return done(
                None,
                level,
                stdout,
                stderr,
                Err(fault(
                    FaultKind::TimedOut,
                    format!(
                        "ran longer than {} ms; its process tree was killed",
                        spec.limits.timeout_ms
                    ),
                )),
            );
        }
        End::OutputLimit => {
            return done(
                exit,
                level,
                stdout,
                stderr,
                Err(fault(
                    FaultKind::OutputTooLarge,
                    format!(
                        "wrote more than {limit} bytes to stdout (limits.max_output_bytes); it was killed"
                    ),
                )),
            );
        }
        End::Exited(_) | End::Signalled(_) => {}
    }
    if let Some(f) = unavailable(exit, &level, launcher, require_sandbox) {
        return done(exit, level, stdout, stderr, Err(f));
    }
    let outcome = parse_output(&stdout, exit);
    done(exit, level, stdout, stderr, outcome)
}

/// Take the helper's status line off the plugin's stderr: the isolation it
/// achieved, and the rest of stderr.
pub fn split_status(stderr: Vec<u8>, launcher: &Launcher) -> (Isolation, Vec<u8>) {
    if launcher.helper.is_none() {
        return (Isolation::NONE, stderr);
    }
    let text = String::from_utf8_lossy(&stderr);
    if let Some(first) = text.lines().next()
        && let Some(iso) = Isolation::parse(first)
    {
        let rest = stderr
            .iter()
            .position(|b| *b == b'\n')
            .map_or(Vec::new(), |i| stderr[i + 1..].to_vec());
        return (iso, rest);
    }
    (Isolation::NONE, stderr)
}

/// The helper refused to start the plugin (exit 125) because a layer the
/// policy requires is not enforced here: the `sandbox_unavailable` fault.
fn unavailable(
    exit: Option<i32>,
    iso: &Isolation,
    launcher: &Launcher,
    require_sandbox: bool,
) -> Option<Fault> {
    if exit != Some(sandbox::EXIT_UNENFORCED) || launcher.helper.is_none() || !require_sandbox {
        return None;
    }
    let mut required = vec![IsolationLayer::Filesystem];
    for l in &launcher.require_isolation {
        if !required.contains(l) {
            required.push(*l);
        }
    }
    let missing = iso.missing(&required);
    if missing.is_empty() {
        return None;
    }
    let names: Vec<&str> = missing.iter().map(|l| l.name()).collect();
    Some(fault(
        FaultKind::SandboxUnavailable,
        format!(
            "this kernel does not enforce the isolation layer(s) {} that the policy requires (plugins.require_isolation; plugins.run_unsandboxed: true lets plugins run without them)",
            names.join(", ")
        ),
    ))
}

fn parse_output(stdout: &[u8], exit: Option<i32>) -> std::result::Result<Output, Fault> {
    let text = String::from_utf8_lossy(stdout);
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next();
    let hello = first.map(serde_json::from_str::<FromPlugin>);
    match hello {
        Some(Ok(FromPlugin::Hello { protocol })) if protocol.major != PROTOCOL_MAJOR => {
            return Err(fault(
                FaultKind::ProtocolMismatch,
                format!(
                    "the plugin speaks protocol {}; this warden speaks {PROTOCOL_MAJOR}",
                    protocol.major
                ),
            ));
        }
        Some(Ok(FromPlugin::Hello { .. })) => {}
        _ if exit != Some(0) => {
            return Err(fault(
                FaultKind::Crashed,
                format!(
                    "exited with {}",
                    exit.map_or("a signal".into(), |c| format!("code {c}"))
                ),
            ));
        }
        Some(_) => {
            return Err(fault(
                FaultKind::GarbageOutput,
                format!(
                    "expected a hello line, got {:?}",
                    clip(first.unwrap_or_default())
                ),
            ));
        }
        None => return Err(fault(FaultKind::GarbageOutput, "no output on stdout")),
    }
    let second = lines.next();
    let reply = match second.map(serde_json::from_str::<FromPlugin>) {
        Some(Ok(r)) => r,
        Some(Err(e)) if exit == Some(0) => {
            return Err(fault(
                FaultKind::GarbageOutput,
                format!(
                    "the response is not protocol JSON ({e}): {:?}",
                    clip(second.unwrap_or_default())
                ),
            ));
        }
        None if exit == Some(0) => {
            return Err(fault(
                FaultKind::GarbageOutput,
                "no response line after hello",
            ));
        }
        _ => {
            return Err(fault(
                FaultKind::Crashed,
                format!(
                    "exited with {}",
                    exit.map_or("a signal".into(), |c| format!("code {c}"))
                ),
            ));
        }
    };
    if exit != Some(0) {
        return Err(fault(
            FaultKind::Crashed,
            format!(
                "exited with {}",
                exit.map_or("a signal".into(), |c| format!("code {c}"))
            ),
        ));
    }
    if lines.next().is_some() {
        return Err(fault(
            FaultKind::GarbageOutput,
            "more than two lines on stdout (logs belong on stderr)",
        ));
    }
    match reply {
        FromPlugin::Response { output } => Ok(output),
        FromPlugin::Error { message } => Err(fault(FaultKind::PluginError, message)),
        FromPlugin::Hello { .. } => Err(fault(
            FaultKind::GarbageOutput,
            "a second hello instead of a response",
        )),
    }
}

fn clip(s: &str) -> String {
    s.chars().take(200).collect()
}

/// The proposal a plugin's output stands for (canonical: keys sorted).
pub fn proposal_value(spec: &PluginSpec, event: &str, output: &Output) -> Value {
    json!({
        "schema": "warden.proposal/v1",
        "source": {"kind": "plugin", "id": spec.key},
        "event": event,
        "rationale": output.rationale,
        "actions": output.actions,
    })
}

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
    let lane = sink.quarantine_lane();
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
    // an unsandboxed plugin, so no probe is needed; when it does not, the
    // probe decides whether snapshots must keep content to roll writes back.
    let level = if enabled.is_empty() {
        Level::None
    } else if require {
        Level::Full
    } else {
        launcher.probe()
    };
    let mut artifacts: Vec<(String, Vec<u8>)> = vec![("input.json".into(), input.clone())];
    let mut records = Vec::new();
    for (key, pinned) in enabled {
        let mut rec = PluginRecord {
            plugin: key.clone(),
            plugin_version: pinned.version.clone(),
            manifest_sha256: pinned.manifest_sha256,
            event: event.into(),
            input_sha256,
            policy: policy.reference(),
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
        };
        if let Some(why) = pinned_mismatch(&root, &key, &pinned, policy.digest) {
            rec.fault = Some(fault(FaultKind::NotValidated, why));
            records.push(rec);
            continue;
        }
        let spec = match validate::load_spec(&root, &key) {
            Ok(s) => s,
            Err(f) => {
                rec.fault = Some(fault(FaultKind::NotValidated, f.message));
                records.push(rec);
                continue;
            }
        };
        let Some(op) = spec.operation_for(event) else {
            rec.fault = Some(fault(
                FaultKind::NotValidated,
                format!("no operation of {key} handles {event}"),
            ));
            records.push(rec);
            continue;
        };
        let before = Snapshot::take(&root, !level.enforced()).map_err(|e| Error::Io {
            op: "scan",
            path: root.clone(),
            source: e,
        })?;
        let inv = invoke(&root, &spec, &op.name, event, &items, &launcher, require);
        rec.exit = inv.exit;
        rec.duration_ms = inv.duration_ms;
        rec.sandbox = inv.sandbox.filesystem;
        if launcher.helper.is_some() {
            rec.isolation = Some(inv.sandbox);
        }
        rec.stderr_sha256 = Digest::of(&inv.stderr);
        if !inv.stderr.is_empty() {
            artifacts.push((format!("{key}.stderr.log"), inv.stderr.clone()));
        }
        rec.outcome = PluginOutcome::Isolated;
        let after = Snapshot::take(&root, false).map_err(|e| Error::Io {
            op: "scan",
            path: root.clone(),
            source: e,
        })?;
        let rb = crate::snapshot::roll_back(
            session,
            &run,
            &format!("{key}-repo-writes"),
            &before,
            &after,
        )?;
        if !rb.changes.is_empty() {
            rec.quarantined = rb.quarantined;
            rec.fault = Some(fault(
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
            ));
            keep_output(
                session,
                &run,
                &key,
                &inv.stdout,
                &mut rec,
                lane,
                &mut artifacts,
            )?;
            records.push(rec);
            continue;
        }
        let output = match inv.outcome {
            Ok(o) => o,
            Err(f) => {
                rec.fault = Some(f);
                keep_output(
                    session,
                    &run,
                    &key,
                    &inv.stdout,
                    &mut rec,
                    lane,
                    &mut artifacts,
                )?;
                records.push(rec);
                continue;
            }
        };
        let doc = proposal_value(&spec, event, &output);
        let bytes = serde_json::to_vec(&doc).unwrap_or_default();
        rec.proposal_sha256 = Some(Digest::of(&bytes));
        artifacts.push((format!("{key}.proposal.json"), bytes.clone()));
        if output.actions.is_empty() {
            rec.outcome = PluginOutcome::NoChange;
            records.push(rec);
            continue;
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
            keep_proposal(session, &run, &key, &bytes, &mut rec, lane)?;
            records.push(rec);
            continue;
        }
        let label = format!("plugin {key} (run {run})");
        let planned = Proposal::from_value_remote(&doc, &label).and_then(|(p, d)| {
            // A sandboxed plugin sends bytes, never a local path to read.
            p.refuse_content_file(&label)?;
            // Plugins never touch plugins (their code, the registry) or identities.
            if let Some(path) = p
                .actions
                .iter()
                .flat_map(|a| a.paths())
                .find(|path| PLUGIN_DENIED.iter().any(|d| path.as_str().starts_with(d)))
            {
                return Err(Error::rejected(
                    &label,
                    "actions",
                    format!(
                        "\"{path}\" is inside {}, which plugins may never change",
                        PLUGIN_DENIED.join(" or ")
                    ),
                    Some("plugins propose changes to the repository's content only".into()),
                ));
            }
            Ok((p, d))
        });
        let taken = match planned {
            Ok((p, d)) => sink.take(session, &rec, &p, d, &label)?,
            Err(e) => Taken::Refused(e),
        };
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
                keep_proposal(session, &run, &key, &bytes, &mut rec, lane)?;
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
        records.push(rec);
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

/// One plugin's comparison in a replay.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ReplayItem {
    pub plugin: String,
    pub recorded: Option<Digest>,
    pub replayed: Option<Digest>,
    pub identical: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Unified diff of the recorded vs replayed proposal, when they differ and both exist.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "warden replay report")]
pub struct ReplayReport {
    pub schema: String,
    pub run: String,
    /// The id this replay is kept under in the local history (`warden history`,
    /// `.runs/<ID>/replay.json`); a replay is not ledgered.
    pub replay_run: String,
    pub event: String,
    pub identical: bool,
    pub plugins: Vec<ReplayItem>,
}

/// Re-run the plugins of dispatch `run` on its recorded input and compare
/// their proposals byte for byte (G7). Applies nothing and records nothing:
/// a replay is a read-only report, which the caller keeps in the local
/// history (`warden_core::history::keep`) with the returned record.
pub fn replay(
    session: &mut Session,
    run: &str,
    opts: &DispatchOptions,
) -> Result<(ReplayReport, Record)> {
    let root = session.repo.root().to_path_buf();
    let entry = session.repo.ledger().find_run(run)?.ok_or_else(|| {
        Error::invalid(
            "(command line)",
            "RUN",
            format!("no run \"{run}\" in the ledger"),
            Some("`warden runs` lists the runs".into()),
        )
    })?;
    if entry.command != "run" {
        return Err(Error::rejected(
            "(command line)",
            "RUN",
            format!(
                "run {} is a `{}` run; only plugin dispatches (`warden run EVENT`) can be replayed",
                entry.run, entry.command
            ),
            Some("`warden runs` shows each run's command".into()),
        ));
    }
    let report: DispatchReport = entry
        .details
        .clone()
        .and_then(|d| serde_json::from_value(d).ok())
        .ok_or_else(|| Error::Corrupt {
            path: root.join(".ledger"),
            message: format!("run {} has no dispatch details", entry.run),
        })?;
    let input_path = session.repo.layout.run_dir(&entry.run).join("input.json");
    let input = std::fs::read(&input_path).map_err(|e| Error::Io {
        op: "read",
        path: input_path.clone(),
        source: e,
    })?;
    if Digest::of(&input) != report.input_sha256 {
        return Err(Error::Corrupt {
            path: input_path,
            message: "the stored input does not match the digest in the ledger".into(),
        });
    }
    let stored: Value =
        serde_json::from_slice(&input).map_err(|e| Error::Internal(e.to_string()))?;
    let items: Vec<Value> = stored["items"].as_array().cloned().unwrap_or_default();
    let require = !session.repo.policy.file.plugins.run_unsandboxed;
    let launcher = opts.launcher.for_policy(&session.repo.policy);
    let mut out = Vec::new();
    for rec in &report.plugins {
        let mut item = ReplayItem {
            plugin: rec.plugin.clone(),
            recorded: rec.proposal_sha256,
            replayed: None,
            identical: false,
            note: None,
            diff: None,
        };
        let pinned = EnabledPlugin {
            id: String::new(),
            version: rec.plugin_version.clone(),
            events: Vec::new(),
            priority: 0,
            manifest_sha256: rec.manifest_sha256,
            policy_sha256: rec.policy.digest,
        };
        let changed = pinned_mismatch(&root, &rec.plugin, &pinned, rec.policy.digest);
        if let Some(why) = &changed {
            item.note = Some(format!(
                "the plugin is not the one that ran ({why}); replayed with the current version"
            ));
        }
        let spec = match validate::load_spec(&root, &rec.plugin) {
            Ok(s) => s,
            Err(f) => {
                item.note = Some(f.message);
                out.push(item);
                continue;
            }
        };
        let Some(op) = spec.operation_for(&report.event) else {
            item.note = Some(format!("no operation handles {} any more", report.event));
            out.push(item);
            continue;
        };
        let inv = invoke(
            &root,
            &spec,
            &op.name,
            &report.event,
            &items,
            &launcher,
            require,
        );
        let replayed = inv.outcome.as_ref().ok().map(|o| {
            serde_json::to_vec(&proposal_value(&spec, &report.event, o)).unwrap_or_default()
        });
        item.replayed = replayed.as_deref().map(Digest::of);
        item.identical = item.replayed == item.recorded && changed.is_none();
        if let (Err(f), None) = (&inv.outcome, &item.note) {
            item.note = Some(format!("replay failed: {}", f.message));
        }
        if item.replayed != item.recorded
            && let Some(new) = &replayed
        {
            let old = std::fs::read(
                session
                    .repo
                    .layout
                    .run_dir(&entry.run)
                    .join(format!("{}.proposal.json", rec.plugin)),
            )
            .ok();
            let new_pretty = pretty_json(new);
            let old_pretty = old.as_deref().map(pretty_json).unwrap_or_else(|| {
                format!(
                    "(recorded proposal sha256 {})\n",
                    rec.proposal_sha256
                        .map(|d| d.to_string())
                        .unwrap_or_else(|| "none".into())
                )
            });
            item.diff = Some(warden_core::plan::unified_diff(
                &old_pretty,
                &new_pretty,
                "recorded",
                "replayed",
            ));
        }
        out.push(item);
    }
    let identical = out.iter().all(|i| i.identical);
    let replay_run = session.new_run_id();
    let rep = ReplayReport {
        schema: "warden.replay/v1".into(),
        run: entry.run.clone(),
        replay_run: replay_run.clone(),
        event: report.event.clone(),
        identical,
        plugins: out,
    };
    let record = Record {
        run: replay_run,
        command: "replay".into(),
        actor: opts.actor.clone(),
        event: report.event.clone(),
        input_digest: report.input_sha256,
        rationale: Some(format!(
            "replay of run {}: {}",
            entry.run,
            if rep.identical {
                "byte-identical"
            } else {
                "proposals differ"
            }
        )),
        details: Some(serde_json::to_value(&rep).map_err(|e| Error::Internal(e.to_string()))?),
        artifacts: vec![(
            "replay.json".into(),
            serde_json::to_vec_pretty(&rep).map_err(|e| Error::Internal(e.to_string()))?,
        )],
    };
    Ok((rep, record))
}

fn pretty_json(bytes: &[u8]) -> String {
    serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .map(|s| s + "\n")
        .unwrap_or_else(|| String::from_utf8_lossy(bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::Enforcement;

    #[test]
    fn a_refusal_for_a_missing_required_layer_is_sandbox_unavailable_naming_it() {
        let launcher = Launcher {
            helper: Some(PathBuf::from("warden")),
            env: Vec::new(),
            require_isolation: vec![IsolationLayer::Processes, IsolationLayer::Filesystem],
        };
        let iso = Isolation {
            filesystem: Level::Full,
            privileges: Enforcement::Enforced,
            ..Isolation::NONE
        };
        let f = unavailable(Some(sandbox::EXIT_UNENFORCED), &iso, &launcher, true)
            .expect("a required layer is missing");
        assert_eq!(f.kind, FaultKind::SandboxUnavailable);
        assert!(
            f.message
                .starts_with("this kernel does not enforce the isolation layer(s) processes that"),
            "{}",
            f.message
        );
        // A plugin's own exit 125 with every required layer in place is its own crash.
        let all = Isolation {
            processes: Enforcement::Enforced,
            ..iso
        };
        assert_eq!(
            unavailable(Some(sandbox::EXIT_UNENFORCED), &all, &launcher, true),
            None
        );
        assert_eq!(unavailable(Some(0), &iso, &launcher, true), None);
    }

    #[test]
    fn split_status_strips_the_helper_line_and_reads_every_layer() {
        let launcher = Launcher {
            helper: Some(PathBuf::from("warden")),
            ..Launcher::default()
        };
        let stderr = b"warden-sandbox: full processes=enforced signals=not_enforced metadata=enforced privileges=enforced\nplugin log\n".to_vec();
        let (iso, rest) = split_status(stderr, &launcher);
        assert_eq!(rest, b"plugin log\n");
        assert_eq!(iso.filesystem, Level::Full);
        assert!(iso.has(IsolationLayer::Metadata));
        assert!(!iso.has(IsolationLayer::Signals));
    }
}
