//! `warden run EVENT`: dispatch an event to the enabled plugins.
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
//!
//! The runtime is three modules: [`invoke`] starts one plugin process and
//! reads its answer; [`dispatch`] runs every enabled plugin of an event and
//! hands their proposals on; [`replay`] re-derives a dispatch's proposals.

mod dispatch;
mod invoke;
mod replay;

pub use dispatch::*;
pub use invoke::*;
pub use replay::*;

use crate::sandbox::{Isolation, IsolationLayer, Level};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;
use warden_core::process::Cmd;

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
    /// (`plugins.require_isolation`; see [`Launcher::for_policy`]). Empty
    /// unless the sandbox is required at all, or the runtime relies on the
    /// file system and metadata layers for a bounded snapshot.
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

pub(crate) fn fault(kind: FaultKind, message: impl Into<String>) -> Fault {
    Fault {
        kind,
        message: message.into(),
    }
}
