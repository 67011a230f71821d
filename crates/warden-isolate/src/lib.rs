//! warden-isolate: the plugin sandbox helper (G9), and warden's `unsafe` calls.
//!
//! - [`helper`]: the helper's whole job — its command line, the build
//!   handshake, stage 1 and stage 2 — shared by the small dedicated
//!   executable `warden-sandbox` and its fallback `warden __sandbox`.
//! - [`sandbox`]: what the helper applies to itself, layer by layer.
//! - [`layers`]: the isolation layers and the helper's status line.
//!
//! The helper calls [`unshare`] once, at its start, to move into a new PID
//! namespace and a new mount namespace (and, when it is not root, a new user
//! namespace whose root is the caller's own uid, see [`map_ids`]). The
//! helper's next child is then PID 1 of a namespace that sees no other
//! process, mounts its own `/proc`, and takes every descendant of the plugin
//! with it when it dies.
//!
//! `unshare(2)` is `unsafe` in rustix 1.x (`unshare_unsafe`): unsharing
//! `CLONE_FILES` would invalidate file descriptors other threads may hold, and
//! a user namespace needs a single-threaded caller. This crate exposes only the
//! flags that cannot do the former and is used only from the single-threaded
//! helper. It is the one place in warden with `unsafe`; the rest of the
//! workspace forbids it.
//!
//! [`fork`] then makes that next child without a second exec: the forked
//! child is PID 1 of the new namespace and carries on as the helper's second
//! stage, while the parent only waits for it ([`wait_exit_byte`]).

pub mod helper;
pub mod layers;
pub mod sandbox;

#[cfg(target_os = "linux")]
mod linux {
    use rustix::thread::UnshareFlags;
    use std::io;

    /// Move the calling process into a new PID namespace (for its future
    /// children) and a new mount namespace, plus a new user namespace when
    /// `user` is true. Nothing is changed when it fails.
    ///
    /// Call it only while the process has a single thread (the helper calls it
    /// first thing): the kernel refuses a user namespace otherwise.
    pub fn unshare(user: bool) -> io::Result<()> {
        let mut flags = UnshareFlags::NEWPID | UnshareFlags::NEWNS;
        if user {
            flags |= UnshareFlags::NEWUSER;
        }
        #[allow(unsafe_code)]
        // SAFETY: the flags never include CLONE_FILES (or CLONE_FS/CLONE_SYSVSEM
        // semantics that other threads could observe): NEWPID only affects
        // children created later, NEWNS gives this process a private copy of
        // its mount table, NEWUSER a new credential set. The only caller is the
        // sandbox helper, which is single-threaded at this point, so no other
        // thread holds descriptors or assumptions that unsharing could break.
        let r = unsafe { rustix::thread::unshare_unsafe(flags) };
        r.map_err(io::Error::from)
    }

    /// After `unshare(true)`: map uid and gid 0 of the new user namespace to
    /// the caller's real ids (the only mapping an unprivileged process may
    /// write), with `setgroups` denied as the kernel requires.
    pub fn map_ids(uid: u32, gid: u32) -> io::Result<()> {
        std::fs::write("/proc/self/setgroups", "deny")?;
        std::fs::write("/proc/self/uid_map", format!("0 {uid} 1"))?;
        std::fs::write("/proc/self/gid_map", format!("0 {gid} 1"))?;
        Ok(())
    }
}

#[cfg(target_os = "linux")]
mod fork_linux {
    use std::io;

    /// Which side of a [`fork`] this process is.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Forked {
        /// The new process (after [`super::unshare`]: PID 1 of the new PID
        /// namespace).
        Child,
        /// The caller, with the child's process id.
        Parent(u32),
    }

    /// fork(2). Call it only while the process has a single thread (the
    /// helper, right after [`super::unshare`]).
    pub fn fork() -> io::Result<Forked> {
        #[allow(unsafe_code)]
        // SAFETY: the only caller is the sandbox helper's first stage, which
        // is single-threaded here: a fresh exec of the helper that has started no
        // thread (and, when it is not root, the kernel has just accepted a user
        // namespace, which it refuses to a multi-threaded caller). With one
        // thread no lock can be held by a thread that does not exist in the
        // child, and the C library's fork runs its own atfork handlers. The
        // child goes on with ordinary Rust code and ends through `exit`.
        let pid = unsafe { libc::fork() };
        match pid {
            -1 => Err(io::Error::last_os_error()),
            0 => Ok(Forked::Child),
            p => Ok(Forked::Parent(p as u32)),
        }
    }

    /// Wait for the child `pid` to end: its exit code, or 128 + the signal
    /// that killed it (as a shell reports it).
    pub fn wait_exit_byte(pid: u32) -> io::Result<u8> {
        let pid = rustix::process::Pid::from_raw(pid as i32)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "pid 0"))?;
        loop {
            match rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty()) {
                Ok(Some((_, status))) => {
                    if let Some(code) = status.exit_status() {
                        return Ok(code as u8);
                    }
                    if let Some(sig) = status.terminating_signal() {
                        return Ok((128 + sig) as u8);
                    }
                }
                Ok(None) => {}
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

#[cfg(target_os = "linux")]
pub use fork_linux::{Forked, fork, wait_exit_byte};
#[cfg(target_os = "linux")]
pub use linux::{map_ids, unshare};

/// Namespaces exist only on Linux.
#[cfg(not(target_os = "linux"))]
pub fn unshare(_user: bool) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "namespaces are Linux-only",
    ))
}

#[cfg(not(target_os = "linux"))]
pub fn map_ids(_uid: u32, _gid: u32) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "namespaces are Linux-only",
    ))
}
