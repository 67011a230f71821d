//! Least privilege for plugin processes (G9): Landlock on Linux.
//!
//! Landlock restricts the calling thread and its future children, so it must
//! be applied in the child before the plugin starts (LESSONS: Landlock). Since
//! the workspace forbids `unsafe` (no `pre_exec`), the child is warden itself:
//! `warden __sandbox --scratch DIR [--require] -- PLUGIN ARGV…` restricts itself
//! (read and execute everywhere, write only beneath the scratch directory and
//! to /dev/null), reports the achieved level on stderr's first line, and execs
//! the plugin. The runtime strips that line from the captured stderr.

use serde::{Deserialize, Serialize};

/// The first stderr line of the sandbox helper: `warden-sandbox: <level>`.
pub const STATUS_PREFIX: &str = "warden-sandbox: ";
/// Exit code of the helper when the sandbox is required but not enforced.
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

/// Restrict the current process: read/execute everywhere, full access only
/// beneath `writable` (and writes to /dev/null). Returns the level achieved.
#[cfg(target_os = "linux")]
pub fn restrict_self(writable: &[&std::path::Path]) -> Level {
    use landlock::{
        ABI, Access, AccessFs, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus,
        path_beneath_rules,
    };
    let abi = ABI::V5;
    let attempt = || -> Result<RulesetStatus, landlock::RulesetError> {
        let status = Ruleset::default()
            .handle_access(AccessFs::from_all(abi))?
            .create()?
            .add_rules(path_beneath_rules(["/"], AccessFs::from_read(abi)))?
            .add_rules(path_beneath_rules(writable, AccessFs::from_all(abi)))?
            .add_rules(path_beneath_rules(
                ["/dev/null"],
                AccessFs::from_read(abi) | AccessFs::WriteFile,
            ))?
            .restrict_self()?;
        Ok(status.ruleset)
    };
    match attempt() {
        Ok(RulesetStatus::FullyEnforced) => Level::Full,
        Ok(RulesetStatus::PartiallyEnforced) => Level::Partial,
        Ok(RulesetStatus::NotEnforced) | Err(_) => Level::None,
    }
}

#[cfg(not(target_os = "linux"))]
pub fn restrict_self(_writable: &[&std::path::Path]) -> Level {
    Level::None
}
