//! The isolation layers a plugin gets, and the helper's status line that
//! reports them (`warden-sandbox: <level> processes=… signals=… metadata=…
//! privileges=…`, the first line of the helper's stderr).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use warden_core::policy::IsolationLayer;

/// The first stderr line of the sandbox helper: `warden-sandbox: <level> …`.
pub const STATUS_PREFIX: &str = "warden-sandbox: ";
/// Exit code of the helper when a required layer is not enforced.
pub const EXIT_UNENFORCED: i32 = 125;
/// Exit code of the helper when it cannot start the plugin.
pub const EXIT_EXEC_FAILED: i32 = 126;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Every requested restriction is enforced by the kernel.
    Full,
    /// Landlock is on, but this kernel lacks some rights (e.g. truncate before 6.2).
    Partial,
    /// No kernel enforcement (no Landlock, or not Linux).
    None,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Full => "full",
            Level::Partial => "partial",
            Level::None => "none",
        }
    }
    pub fn parse(s: &str) -> Option<Level> {
        match s.trim() {
            "full" => Some(Level::Full),
            "partial" => Some(Level::Partial),
            "none" => Some(Level::None),
            _ => None,
        }
    }
    /// Whether the repository is protected by the kernel at this level.
    pub fn enforced(self) -> bool {
        !matches!(self, Level::None)
    }
}

/// Whether one isolation layer was enforced by the kernel for a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Enforcement {
    Enforced,
    NotEnforced,
}

impl Enforcement {
    pub fn from_bool(on: bool) -> Enforcement {
        if on {
            Enforcement::Enforced
        } else {
            Enforcement::NotEnforced
        }
    }
    pub fn on(self) -> bool {
        self == Enforcement::Enforced
    }
    pub fn name(self) -> &'static str {
        match self {
            Enforcement::Enforced => "enforced",
            Enforcement::NotEnforced => "not_enforced",
        }
    }
}

/// Every isolation layer of one plugin process, as the helper achieved it on
/// this kernel (recorded per plugin as `isolation`, shown by `warden status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Isolation {
    /// Landlock file system rules: the repository and everything outside the
    /// scratch directory are read-only (`full`, `partial`, `none`).
    pub filesystem: Level,
    /// A PID namespace with its own `/proc`: no other process is visible
    /// (environ, cmdline, memory), and every descendant dies with the helper.
    pub processes: Enforcement,
    /// No signal reaches a process outside the sandbox (Landlock `Signal`
    /// scope, ABI 6, or the PID namespace).
    pub signals: Enforcement,
    /// The repository is mounted read-only for the plugin (mode, owner,
    /// xattr and time changes fail), with capabilities dropped so that it
    /// cannot be remounted. Whatever this says, the runtime also detects and
    /// restores metadata changes.
    pub metadata: Enforcement,
    /// No capabilities and `no_new_privs` (no setuid gain).
    pub privileges: Enforcement,
}

impl Default for Isolation {
    fn default() -> Self {
        Isolation::NONE
    }
}

impl Isolation {
    /// Nothing enforced (no helper, or an unreadable report).
    pub const NONE: Isolation = Isolation {
        filesystem: Level::None,
        processes: Enforcement::NotEnforced,
        signals: Enforcement::NotEnforced,
        metadata: Enforcement::NotEnforced,
        privileges: Enforcement::NotEnforced,
    };

    /// Whether `layer` is enforced.
    pub fn has(&self, layer: IsolationLayer) -> bool {
        match layer {
            IsolationLayer::Filesystem => self.filesystem.enforced(),
            IsolationLayer::Processes => self.processes.on(),
            IsolationLayer::Signals => self.signals.on(),
            IsolationLayer::Metadata => self.metadata.on(),
            IsolationLayer::Privileges => self.privileges.on(),
        }
    }

    /// The required layers that are not enforced, in the order given.
    pub fn missing(&self, required: &[IsolationLayer]) -> Vec<IsolationLayer> {
        required.iter().copied().filter(|l| !self.has(*l)).collect()
    }

    /// Each layer and its state, in a fixed order.
    pub fn layers(&self) -> [(IsolationLayer, &'static str); 5] {
        [
            (IsolationLayer::Filesystem, self.filesystem.name()),
            (IsolationLayer::Processes, self.processes.name()),
            (IsolationLayer::Signals, self.signals.name()),
            (IsolationLayer::Metadata, self.metadata.name()),
            (IsolationLayer::Privileges, self.privileges.name()),
        ]
    }

    /// The helper's status line (without the newline).
    pub fn status_line(&self) -> String {
        format!(
            "{STATUS_PREFIX}{} processes={} signals={} metadata={} privileges={}",
            self.filesystem.name(),
            self.processes.name(),
            self.signals.name(),
            self.metadata.name(),
            self.privileges.name()
        )
    }

    /// Parse a status line. The level comes first; a layer that is missing or
    /// unknown counts as not enforced, so an older helper's `warden-sandbox:
    /// full` reads as the file system layer only.
    pub fn parse(line: &str) -> Option<Isolation> {
        let rest = line.strip_prefix(STATUS_PREFIX)?;
        let mut words = rest.split_whitespace();
        let mut iso = Isolation {
            filesystem: Level::parse(words.next()?)?,
            ..Isolation::NONE
        };
        for w in words {
            let (k, v) = w.split_once('=')?;
            let e = Enforcement::from_bool(v == "enforced");
            match k {
                "processes" => iso.processes = e,
                "signals" => iso.signals = e,
                "metadata" => iso.metadata = e,
                "privileges" => iso.privileges = e,
                _ => {}
            }
        }
        Some(iso)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_line_round_trips_every_layer() {
        let iso = Isolation {
            filesystem: Level::Partial,
            processes: Enforcement::Enforced,
            signals: Enforcement::NotEnforced,
            metadata: Enforcement::Enforced,
            privileges: Enforcement::NotEnforced,
        };
        assert_eq!(Isolation::parse(&iso.status_line()), Some(iso));
    }

    #[test]
    fn old_status_line_reads_as_filesystem_only() {
        let iso = Isolation::parse("warden-sandbox: full").expect("parses");
        assert_eq!(iso.filesystem, Level::Full);
        assert_eq!(
            iso.missing(&[
                IsolationLayer::Filesystem,
                IsolationLayer::Processes,
                IsolationLayer::Metadata
            ]),
            vec![IsolationLayer::Processes, IsolationLayer::Metadata]
        );
        assert_eq!(Isolation::parse("warden-sandbox: maybe"), None);
        assert_eq!(Isolation::parse("something else"), None);
    }
}
