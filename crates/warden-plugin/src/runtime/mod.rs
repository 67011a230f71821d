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
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use warden_core::process::{Cmd, Finished};
use warden_isolate::helper::{self, Entry, HELPER_FILE, Request};

pub const RUN_SCHEMA_ID: &str = "warden.plugin-run/v1";
/// Areas no plugin proposal may touch, on top of the core's protected areas.
pub const PLUGIN_DENIED: &[&str] = &["plugins/", "ids/"];

/// How long the sandbox probe (`warden __sandbox --probe`) may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// How plugin processes are started.
#[derive(Debug, Clone, Default)]
pub struct Launcher {
    /// The warden binary. The sandbox helper is the small `warden-sandbox`
    /// beside it when that is of the same build, else `warden __sandbox`
    /// ([`Launcher::sandbox_cmd`]). `None`: start plugins directly,
    /// unsandboxed.
    pub helper: Option<PathBuf>,
    /// Environment passed to plugins (the rest is cleared): PATH and toolchain homes.
    pub env: Vec<(String, String)>,
    /// Isolation layers the helper must enforce before it starts a plugin
    /// (`plugins.require_isolation`; see [`Launcher::for_policy`]). Empty
    /// unless the sandbox is required at all, or the runtime relies on the
    /// file system and metadata layers for a bounded snapshot.
    pub require_isolation: Vec<IsolationLayer>,
    /// Set once a `warden-sandbox` beside warden refused the handshake (it
    /// is of another build): every later start, by any clone of this
    /// launcher, goes to `warden __sandbox` at once.
    pub dedicated_refused: Arc<AtomicBool>,
}

/// Which sandbox helper executable a start goes through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelperExe {
    /// `warden-sandbox --build ID …`, the small executable beside warden.
    Dedicated(PathBuf),
    /// `warden __sandbox …`.
    Warden(PathBuf),
}

impl HelperExe {
    /// The program and the words before the request's own arguments.
    pub fn cmd(&self) -> Cmd {
        let (exe, entry) = match self {
            HelperExe::Dedicated(p) => (p, Entry::Dedicated),
            HelperExe::Warden(p) => (p, Entry::Warden),
        };
        Cmd::new(exe).args(entry.prefix())
    }
}

impl Launcher {
    /// The sandbox helper a plugin starts through now: `warden-sandbox` when
    /// it stands beside warden's executable (the same directory, so no one
    /// who cannot replace warden can place it) and has not refused this
    /// build; else warden itself. `None` without a helper (unsandboxed).
    pub fn helper_exe(&self) -> Option<HelperExe> {
        let warden = self.helper.as_ref()?;
        if !self.dedicated_refused.load(Ordering::Relaxed)
            && let Some(dir) = warden.parent()
        {
            let dedicated = dir.join(HELPER_FILE);
            if dedicated.is_file() {
                return Some(HelperExe::Dedicated(dedicated));
            }
        }
        Some(HelperExe::Warden(warden.clone()))
    }

    /// The command that starts the helper for `req` (without environment).
    pub fn sandbox_cmd(&self, req: &Request) -> Option<(HelperExe, Cmd)> {
        let exe = self.helper_exe()?;
        let cmd = exe.cmd().args(req.to_args());
        Some((exe, cmd))
    }

    /// The sandbox level a plugin would get now (runs the helper once).
    pub fn probe(&self) -> Level {
        self.probe_isolation().filesystem
    }

    /// Every isolation layer a plugin would get now (runs the helper once,
    /// with a protected directory, so the metadata layer is tried too).
    pub fn probe_isolation(&self) -> Isolation {
        if self.helper.is_none() {
            return Isolation::NONE;
        }
        let Ok(scratch) = tempfile::Builder::new().prefix("warden-probe-").tempdir() else {
            return Isolation::NONE;
        };
        let protect = scratch.path().join("protected");
        let _ = std::fs::create_dir(&protect);
        let req = Request {
            scratch: scratch.path().to_path_buf(),
            protect: vec![protect],
            probe: true,
            ..Request::default()
        };
        let out = self.run_helper(&req, |c| {
            c.envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .timeout(PROBE_TIMEOUT)
        });
        out.ok()
            .and_then(|o| {
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .next()
                    .and_then(Isolation::parse)
            })
            .unwrap_or(Isolation::NONE)
    }

    /// Run the sandbox helper for `req`, `finish` adding the environment,
    /// input and limits. When a `warden-sandbox` of another build refuses
    /// the handshake (it did nothing), remember that and run `warden
    /// __sandbox` instead. `Err(NotFound)` without a helper.
    pub fn run_helper(
        &self,
        req: &Request,
        finish: impl Fn(Cmd) -> Cmd,
    ) -> std::io::Result<Finished> {
        let Some((exe, cmd)) = self.sandbox_cmd(req) else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no sandbox helper",
            ));
        };
        let first = finish(cmd).run()?;
        if !matches!(exe, HelperExe::Dedicated(_))
            || !helper::refused_handshake(first.code, &first.stderr)
        {
            return Ok(first);
        }
        self.dedicated_refused.store(true, Ordering::Relaxed);
        match self.sandbox_cmd(req) {
            Some((_, cmd)) => finish(cmd).run(),
            None => Ok(first),
        }
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
    /// It left processes behind that kept starting new ones faster than they
    /// could be killed: some may still run (without a PID namespace only).
    ProcessesLeft,
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
