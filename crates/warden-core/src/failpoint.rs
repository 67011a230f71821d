//! Named crash points at every step boundary of a run (G5). Compiled in only with
//! the `failpoints` feature; without it `hit` is an empty inline function.
//!
//! Tests arm one point with an action: return an error without any cleanup (as a
//! crash would), abort the process, or sleep so a test can `kill -9` the process
//! at a known moment.

use crate::error::Result;

/// Every failpoint of a run, in the order a run passes them.
pub const RUN_POINTS: &[&str] = &[
    "run.after_plan",
    "run.after_intent",
    "run.after_stage",
    "run.after_keep",
    "run.after_first_rename",
    "run.after_renames",
    "run.after_dir_sync",
    "run.after_validation",
    "run.after_ledger",
    "run.after_done",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Return `Error::Injected` and skip all cleanup, like a crash.
    Error,
    /// `std::process::abort()`.
    Abort,
    /// Sleep this many milliseconds, then continue.
    Sleep(u64),
    /// Return an I/O error, as a full disk or a failing device would: unlike
    /// `Error`, the engine handles it like any real failure.
    IoError,
}

impl Action {
    /// `error`, `abort` or `sleep(MS)`.
    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "error" => Some(Action::Error),
            "abort" => Some(Action::Abort),
            "ioerror" => Some(Action::IoError),
            _ => s
                .strip_prefix("sleep(")
                .and_then(|r| r.strip_suffix(')'))
                .and_then(|ms| ms.parse().ok())
                .map(Action::Sleep),
        }
    }
}

#[cfg(feature = "failpoints")]
mod imp {
    use super::Action;
    use std::sync::Mutex;

    pub(super) static ARMED: Mutex<Vec<(String, Action)>> = Mutex::new(Vec::new());
}

/// Arm `name` with `action` (replacing any previous action for it).
#[cfg(feature = "failpoints")]
pub fn arm(name: &str, action: Action) {
    let mut armed = imp::ARMED.lock().unwrap_or_else(|e| e.into_inner());
    armed.retain(|(n, _)| n != name);
    armed.push((name.to_string(), action));
}

/// Disarm every failpoint.
#[cfg(feature = "failpoints")]
pub fn clear() {
    imp::ARMED.lock().unwrap_or_else(|e| e.into_inner()).clear();
}

#[cfg(feature = "failpoints")]
/// Stop here if `name` is armed. Public so subsystem crates (the bridge) can
/// name their own step boundaries; a no-op unless built with `failpoints`.
pub fn hit(name: &'static str) -> Result<()> {
    let action = imp::ARMED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, a)| *a);
    match action {
        None => Ok(()),
        Some(Action::Error) => Err(crate::error::Error::Injected(name)),
        Some(Action::Abort) => std::process::abort(),
        Some(Action::IoError) => Err(crate::error::Error::Io {
            op: "write (injected)",
            path: std::path::PathBuf::from(name),
            source: std::io::Error::other("injected I/O failure"),
        }),
        Some(Action::Sleep(ms)) => {
            std::thread::sleep(std::time::Duration::from_millis(ms));
            Ok(())
        }
    }
}

/// Without the `failpoints` feature there is nothing to arm.
#[cfg(not(feature = "failpoints"))]
pub fn arm(_name: &str, _action: Action) {}

#[cfg(not(feature = "failpoints"))]
pub fn clear() {}

#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn hit(_name: &'static str) -> Result<()> {
    Ok(())
}

/// Whether this build has failpoints compiled in.
pub const ENABLED: bool = cfg!(feature = "failpoints");
