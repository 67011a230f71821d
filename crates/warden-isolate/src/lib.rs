//! warden-isolate: enter new namespaces for a plugin (G9).
//!
//! The plugin sandbox helper (`warden __sandbox`) calls [`unshare`] once, at
//! its start, to move into a new PID namespace and a new mount namespace (and,
//! when it is not root, a new user namespace whose root is the caller's own
//! uid, see [`map_ids`]). The helper's next child is then PID 1 of a namespace
//! that sees no other process, mounts its own `/proc`, and takes every
//! descendant of the plugin with it when it dies.
//!
//! `unshare(2)` is `unsafe` in rustix 1.x (`unshare_unsafe`): unsharing
//! `CLONE_FILES` would invalidate file descriptors other threads may hold, and
//! a user namespace needs a single-threaded caller. This crate exposes only the
//! flags that cannot do the former and is used only from the single-threaded
//! helper. It is the one place in warden with `unsafe`; the rest of the
//! workspace forbids it.

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
