//! Least privilege for plugin processes (G9): the isolation layers and the
//! sandbox helper's status line, as the runtime reads them.
//!
//! The helper itself lives in `warden-isolate` (`warden_isolate::helper`):
//! the restrictions must be applied in the child before the plugin starts
//! (Landlock), and since the workspace forbids `unsafe` (no `pre_exec`), the
//! child is a helper process, `warden-sandbox --build ID --scratch DIR
//! [--require] [--require-layer L…] [--protect DIR…] [--probe] -- PLUGIN
//! ARGV…` — the small executable beside warden — or, when that is absent or
//! of another build, `warden __sandbox` with the same arguments:
//!
//! 1. **Stage 1** enters a new PID and mount namespace (a user namespace too
//!    when it is not root; `warden_isolate::unshare`) and forks stage 2.
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

pub use warden_isolate::helper::{EXIT_WRONG_BUILD, WRONG_BUILD_LINE};
pub use warden_isolate::layers::*;
pub use warden_isolate::sandbox::*;
/// Stage 2 as a forked child of stage 1 (no second exec).
#[cfg(target_os = "linux")]
pub use warden_isolate::{Forked, fork, wait_exit_byte};
