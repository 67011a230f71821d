//! Least privilege for plugin processes (G9): what the sandbox helper applies
//! to itself before it starts a plugin, layer by layer, and how it reports it.
//!
//! The restrictions must be applied in the child before the plugin starts
//! (LESSONS: Landlock). Since the workspace forbids `unsafe` (no `pre_exec`),
//! the child is warden itself, `warden __sandbox --scratch DIR [--require]
//! [--require-layer L…] [--protect DIR…] [--probe] -- PLUGIN ARGV…`:
//!
//! 1. **Stage 1** enters a new PID and mount namespace (a user namespace too
//!    when it is not root; `warden_isolate::unshare`) and starts itself again.
//! 2. **Stage 2** is PID 1 of that namespace. It dies with stage 1
//!    (parent-death signal), makes every mount private, mounts a fresh `/proc`
//!    (no other process is visible: no environ, cmdline or memory of warden),
//!    binds each protected directory (the repository) read-only onto itself
//!    (chmod, chown, xattrs, utimes, writes: `EROFS`), drops every capability
//!    (bounding, ambient, effective, permitted, inheritable) and sets
//!    `no_new_privs`, applies Landlock (file system rules, then the `Signal`
//!    and `AbstractUnixSocket` scopes of ABI 6), prints the status line, and
//!    spawns the plugin, reaping every orphan as a minimal init until the
//!    plugin exits. When PID 1 exits the kernel kills everything left in the
//!    namespace, so nothing a plugin started outlives the helper.
//!
//! Where namespaces are refused (no user namespaces for unprivileged users, a
//! container without `CAP_SYS_ADMIN`), the helper applies what it can in one
//! stage and execs the plugin; the layers it could not enforce say so.
//!
//! The status line is the first line of stderr: `warden-sandbox: <level>
//! processes=… signals=… metadata=… privileges=…` ([`Isolation::status_line`],
//! [`Isolation::parse`]); the runtime strips it and records it per plugin.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub use warden_core::policy::IsolationLayer;
/// Stage 2 as a forked child of stage 1 (no second exec of warden).
#[cfg(target_os = "linux")]
pub use warden_isolate::{Forked, fork, wait_exit_byte};

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

/// What stage 2 achieved before the plugin starts (beyond Landlock).
#[derive(Debug, Clone, Default)]
pub struct Stage2 {
    pub processes: bool,
    pub metadata: bool,
    /// Why a layer is missing, for the helper's diagnostics.
    pub notes: Vec<String>,
}

/// Enter new PID and mount namespaces (plus a user namespace when not root,
/// or when root may not create them directly). Returns whether a user
/// namespace was used. Call only while single-threaded (the helper's start).
#[cfg(target_os = "linux")]
pub fn enter_namespaces() -> std::io::Result<bool> {
    let uid = rustix::process::getuid().as_raw();
    let gid = rustix::process::getgid().as_raw();
    let attempts: &[bool] = if uid == 0 { &[false, true] } else { &[true] };
    let mut last = std::io::Error::other("no attempt");
    for &user in attempts {
        match warden_isolate::unshare(user) {
            Ok(()) => {
                if user {
                    warden_isolate::map_ids(uid, gid)?;
                }
                return Ok(user);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

#[cfg(not(target_os = "linux"))]
pub fn enter_namespaces() -> std::io::Result<bool> {
    warden_isolate::unshare(false).map(|()| false)
}

/// Stage 2's namespace work, as PID 1 of the new PID namespace: die with
/// stage 1, make every mount private, mount a fresh `/proc`, and bind each
/// of `protect` read-only onto itself (a `writable` directory beneath one
/// stays writable). The working directory is re-entered so that it resolves
/// through the read-only mount.
#[cfg(target_os = "linux")]
pub fn setup_namespace(protect: &[&Path], writable: &[&Path]) -> Stage2 {
    use rustix::mount::{MountFlags, MountPropagationFlags};
    let mut st = Stage2::default();
    if let Err(e) =
        rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
    {
        st.notes.push(format!("parent-death signal: {e}"));
        return st;
    }
    // Without private propagation every mount below would reach the host.
    if let Err(e) = rustix::mount::mount_change(
        "/",
        MountPropagationFlags::PRIVATE | MountPropagationFlags::REC,
    ) {
        st.notes.push(format!("private mounts: {e}"));
        return st;
    }
    match rustix::mount::mount(
        "proc",
        "/proc",
        "proc",
        MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
        None,
    ) {
        Ok(()) => st.processes = true,
        Err(e) => st.notes.push(format!("mount /proc: {e}")),
    }
    let mut all = !protect.is_empty();
    for dir in protect {
        if let Err(e) = bind_read_only(dir) {
            st.notes
                .push(format!("read-only bind of {}: {e}", dir.display()));
            all = false;
        }
    }
    for &dir in writable
        .iter()
        .filter(|w| protect.iter().any(|p| w.starts_with(p)))
    {
        let rw = rustix::mount::mount_bind(dir, dir).and_then(|()| {
            rustix::mount::mount_remount(dir, MountFlags::BIND | kept_flags(dir)?, "")
        });
        if let Err(e) = rw {
            st.notes
                .push(format!("writable bind of {}: {e}", dir.display()));
        }
    }
    if let Ok(cwd) = std::env::current_dir()
        && let Err(e) = std::env::set_current_dir(&cwd)
    {
        st.notes.push(format!("re-enter {}: {e}", cwd.display()));
        all = false;
    }
    st.metadata = all;
    st
}

#[cfg(target_os = "linux")]
fn bind_read_only(dir: &Path) -> std::io::Result<()> {
    use rustix::mount::MountFlags as M;
    rustix::mount::mount_bind_recursive(dir, dir)?;
    rustix::mount::mount_remount(dir, M::BIND | M::RDONLY | kept_flags(dir)?, "")?;
    Ok(())
}

/// The flags of the mount at `dir` that a remount must keep: in a user
/// namespace the kernel locks nosuid, nodev, noexec and the atime flags.
#[cfg(target_os = "linux")]
fn kept_flags(dir: &Path) -> rustix::io::Result<rustix::mount::MountFlags> {
    use rustix::fs::StatVfsMountFlags as V;
    use rustix::mount::MountFlags as M;
    let have = rustix::fs::statvfs(dir)?.f_flag;
    let mut flags = M::empty();
    for (v, m) in [
        (V::NOSUID, M::NOSUID),
        (V::NODEV, M::NODEV),
        (V::NOEXEC, M::NOEXEC),
        (V::NOATIME, M::NOATIME),
        (V::NODIRATIME, M::NODIRATIME),
        (V::RELATIME, M::RELATIME),
    ] {
        if have.contains(v) {
            flags |= m;
        }
    }
    Ok(flags)
}

#[cfg(not(target_os = "linux"))]
pub fn setup_namespace(_protect: &[&Path], _writable: &[&Path]) -> Stage2 {
    Stage2::default()
}

/// Drop every capability (bounding set, ambient, effective, permitted,
/// inheritable) and set `no_new_privs`. Returns whether the process now has
/// no capability and cannot gain one: for uid 0 (also uid 0 of a user
/// namespace) that needs an empty bounding set, since exec would otherwise
/// grant root its full set again; for any other uid, `no_new_privs` and
/// empty sets suffice (it may lack the right to shrink its bounding set).
#[cfg(target_os = "linux")]
pub fn drop_privileges() -> bool {
    use rustix::thread::{CapabilitySet, CapabilitySets};
    let mut bounding_empty = true;
    for bit in 0..64u32 {
        let cap = CapabilitySet::from_bits_retain(1u64 << bit);
        match rustix::thread::capability_is_in_bounding_set(cap) {
            Ok(true) => {
                bounding_empty &= rustix::thread::remove_capability_from_bounding_set(cap).is_ok()
            }
            Ok(false) => {}
            // Past the kernel's last capability.
            Err(_) => break,
        }
    }
    let ambient = rustix::thread::clear_ambient_capability_set().is_ok();
    let none = CapabilitySet::empty();
    let sets = rustix::thread::set_capabilities(
        None,
        CapabilitySets {
            effective: none,
            permitted: none,
            inheritable: none,
        },
    )
    .is_ok();
    let nnp = rustix::thread::set_no_new_privs(true).is_ok();
    let empty = rustix::thread::capabilities(None).is_ok_and(|c| {
        c.effective.is_empty() && c.permitted.is_empty() && c.inheritable.is_empty()
    });
    let root = rustix::process::getuid().is_root() || rustix::process::geteuid().is_root();
    ambient && sets && nnp && empty && (bounding_empty || !root)
}

#[cfg(not(target_os = "linux"))]
pub fn drop_privileges() -> bool {
    false
}

/// Restrict the current process: read/execute everywhere, full access only
/// beneath `writable` (and writes to /dev/null). Returns the level achieved.
/// Landlock also forbids the process any further mount change.
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

/// Landlock scopes (ABI 6, Linux 6.12): no signal to, and no abstract unix
/// socket of, any process outside this sandbox. A separate ruleset, so its
/// status is known on its own. Returns whether the signal scope is enforced.
#[cfg(target_os = "linux")]
pub fn scope_signals() -> bool {
    use landlock::{CompatLevel, Compatible, Ruleset, RulesetAttr, RulesetStatus, Scope};
    let attempt = || -> Result<RulesetStatus, landlock::RulesetError> {
        let status = Ruleset::default()
            .set_compatibility(CompatLevel::BestEffort)
            .scope(Scope::Signal | Scope::AbstractUnixSocket)?
            .create()?
            .restrict_self()?;
        Ok(status.ruleset)
    };
    matches!(attempt(), Ok(RulesetStatus::FullyEnforced))
}

#[cfg(not(target_os = "linux"))]
pub fn scope_signals() -> bool {
    false
}

/// As PID 1 of the namespace: reap every child (orphans are re-parented
/// here) until `pid` exits, and return its exit code (128 + N when signal N
/// killed it), as a shell would report it.
#[cfg(target_os = "linux")]
pub fn reap_until(pid: u32) -> i32 {
    use rustix::process::{WaitOptions, wait};
    loop {
        match wait(WaitOptions::empty()) {
            Ok(Some((p, status))) if p.as_raw_nonzero().get() as u32 == pid => {
                if let Some(code) = status.exit_status() {
                    return code;
                }
                if let Some(sig) = status.terminating_signal() {
                    return 128 + sig;
                }
            }
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => return EXIT_EXEC_FAILED,
        }
    }
}

#[cfg(not(target_os = "linux"))]
pub fn reap_until(_pid: u32) -> i32 {
    EXIT_EXEC_FAILED
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
