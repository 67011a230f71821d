//! What the sandbox helper applies to itself, layer by layer, before it
//! starts a plugin (see [`crate::helper`] for the order): the namespaces,
//! the private mounts and read-only binds, the dropped privileges, the
//! Landlock rules and scopes, and PID 1's reaping.

use crate::layers::{EXIT_EXEC_FAILED, Level};
use std::path::Path;

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
        match crate::unshare(user) {
            Ok(()) => {
                if user {
                    crate::map_ids(uid, gid)?;
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
    crate::unshare(false).map(|()| false)
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
