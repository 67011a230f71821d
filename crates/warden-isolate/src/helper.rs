//! The sandbox helper's whole job, shared by its two entry points:
//!
//! - **`warden-sandbox`**, a small executable of its own (the warden-cli
//!   package's second binary, installed beside `warden`), which links this
//!   crate and what it needs (no argument parser, no JSON), so that starting
//!   it per plugin costs a fraction of starting warden;
//! - **`warden __sandbox`**, the same code inside warden's own binary: the
//!   fallback when no `warden-sandbox` of this very build stands beside
//!   warden (`cargo run`, a copied binary, an older installation).
//!
//! `warden-sandbox --build ID [--stage2] --scratch DIR [--cwd DIR] [--require]
//! [--require-layer L]… [--protect DIR]… [--probe] -- PLUGIN ARGV…`. The
//! first two words are the handshake: `ID` must be [`BUILD_ID`], which both
//! binaries take from this crate, so a helper left from another build (whose
//! arguments or layers may differ) refuses before doing anything: it prints
//! [`WRONG_BUILD_LINE`] and exits [`EXIT_WRONG_BUILD`], and warden falls back
//! to `warden __sandbox`.
//!
//! 1. **Stage 1** enters a new PID and mount namespace (a user namespace too
//!    when it is not root) and forks stage 2 (or, where fork fails, starts
//!    itself again with `--stage2`), then waits and exits as stage 2 does.
//! 2. **Stage 2** is PID 1 of that namespace: private mounts, its own
//!    `/proc`, the protected directories bound read-only, every privilege
//!    dropped, Landlock; it prints the status line and runs the plugin as its
//!    child, reaping every orphan.
//!
//! Without namespaces, one stage applies what it can and execs the plugin.
//! Either way a required layer that is not enforced stops the plugin from
//! starting ([`EXIT_UNENFORCED`]).

use crate::layers::{EXIT_EXEC_FAILED, EXIT_UNENFORCED, Enforcement, Isolation, IsolationLayer};
use crate::sandbox;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The identity of this build of the helper protocol: the crate's version
/// and a digest of its sources (`build.rs`). `warden` passes its own; a
/// `warden-sandbox` of any other build refuses.
pub const BUILD_ID: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "+",
    env!("WARDEN_ISOLATE_SOURCE_DIGEST")
);
/// The dedicated helper's file name, beside warden's own executable.
pub const HELPER_FILE: &str = if cfg!(windows) {
    "warden-sandbox.exe"
} else {
    "warden-sandbox"
};
/// Exit code of a `warden-sandbox` started with another build's id (or
/// without one): it did nothing; start `warden __sandbox` instead.
pub const EXIT_WRONG_BUILD: i32 = 123;
/// The one stderr line of a refused handshake.
pub const WRONG_BUILD_LINE: &str = "warden-sandbox: wrong build";
/// Exit code of a malformed command line.
pub const EXIT_USAGE: u8 = 2;

/// One start of the helper, as its command line says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// The plugin's scratch directory: the one place it may write.
    pub scratch: PathBuf,
    /// The directory the plugin starts in. The helper enters it itself, first
    /// thing: warden then starts the helper without a working directory of
    /// its own, which lets the standard library use `posix_spawn` (a vfork)
    /// instead of copying warden's whole address space with `fork` (in a
    /// static executable it cannot find `posix_spawn_file_actions_addchdir_np`).
    pub cwd: Option<PathBuf>,
    /// Refuse to start the plugin unless the file system layer is enforced.
    pub require: bool,
    /// Also refuse unless these layers are enforced (by name).
    pub require_layer: Vec<String>,
    /// Directories the plugin must not change in any way (read-only binds).
    pub protect: Vec<PathBuf>,
    /// Only report the layers; start nothing.
    pub probe: bool,
    /// Internal: this process is stage 2 (after a fork that failed).
    pub stage2: bool,
    /// The plugin's command line.
    pub argv: Vec<String>,
}

/// How the helper was started, so stage 1 can start itself again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// `warden-sandbox --build ID …`
    Dedicated,
    /// `warden __sandbox …`
    Warden,
}

impl Entry {
    /// The words between the program and the request's own arguments.
    pub fn prefix(self) -> Vec<OsString> {
        match self {
            Entry::Dedicated => vec!["--build".into(), BUILD_ID.into()],
            Entry::Warden => vec!["__sandbox".into()],
        }
    }
}

/// A command line the helper cannot act on: the message and a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    pub message: String,
    pub hint: Option<String>,
}

fn usage(message: impl Into<String>, hint: Option<&str>) -> Usage {
    Usage {
        message: message.into(),
        hint: hint.map(str::to_string),
    }
}

impl Request {
    /// The request's arguments (after the entry's prefix), in the order
    /// [`Request::parse`] reads them.
    pub fn to_args(&self) -> Vec<OsString> {
        let mut a: Vec<OsString> = Vec::new();
        if self.stage2 {
            a.push("--stage2".into());
        }
        a.push("--scratch".into());
        a.push(self.scratch.clone().into());
        if let Some(dir) = &self.cwd {
            a.push("--cwd".into());
            a.push(dir.clone().into());
        }
        if self.require {
            a.push("--require".into());
        }
        for l in &self.require_layer {
            a.extend(["--require-layer".into(), l.into()]);
        }
        for p in &self.protect {
            a.extend(["--protect".into(), p.clone().into()]);
        }
        if self.probe {
            a.push("--probe".into());
        }
        a.push("--".into());
        a.extend(self.argv.iter().map(Into::into));
        a
    }

    /// Read the request's arguments (after `--build ID`). Everything after
    /// `--` is the plugin's command line, taken as it is.
    pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Request, Usage> {
        let mut r = Request::default();
        let mut scratch = None;
        let mut it = args.into_iter();
        while let Some(a) = it.next() {
            let word = a
                .to_str()
                .ok_or_else(|| usage("an argument is not UTF-8", None))?
                .to_string();
            let mut value = |name: &str| {
                it.next()
                    .ok_or_else(|| usage(format!("{name} needs a value"), None))
            };
            match word.as_str() {
                "--" => {
                    for p in it.by_ref() {
                        let p = p
                            .into_string()
                            .map_err(|_| usage("the plugin's command line is not UTF-8", None))?;
                        r.argv.push(p);
                    }
                }
                "--stage2" => r.stage2 = true,
                "--require" => r.require = true,
                "--probe" => r.probe = true,
                "--scratch" => scratch = Some(PathBuf::from(value("--scratch")?)),
                "--cwd" => r.cwd = Some(PathBuf::from(value("--cwd")?)),
                "--protect" => r.protect.push(PathBuf::from(value("--protect")?)),
                "--require-layer" => r.require_layer.push(
                    value("--require-layer")?
                        .into_string()
                        .map_err(|_| usage("--require-layer: not UTF-8", None))?,
                ),
                other => return Err(usage(format!("unknown argument \"{other}\""), None)),
            }
        }
        r.scratch = scratch.ok_or_else(|| usage("--scratch DIR is required", None))?;
        Ok(r)
    }

    /// The layers that must be enforced before the plugin starts.
    pub fn required(&self) -> Result<Vec<IsolationLayer>, Usage> {
        let mut required = Vec::new();
        if self.require {
            required.push(IsolationLayer::Filesystem);
        }
        for name in &self.require_layer {
            let layer = IsolationLayer::parse(name).ok_or_else(|| {
                usage(
                    format!("--require-layer: unknown isolation layer \"{name}\""),
                    Some("one of: filesystem, processes, signals, metadata, privileges"),
                )
            })?;
            if !required.contains(&layer) {
                required.push(layer);
            }
        }
        Ok(required)
    }
}

/// `warden-sandbox`'s `main`: the handshake, the arguments, the helper.
/// Returns the exit byte.
pub fn main_dedicated(args: impl IntoIterator<Item = OsString>) -> u8 {
    let mut args = args.into_iter().skip(1);
    let build = match (args.next(), args.next()) {
        (Some(flag), Some(id)) if flag == "--build" => id,
        _ => OsString::new(),
    };
    if build != BUILD_ID {
        eprintln!("{WRONG_BUILD_LINE}");
        return EXIT_WRONG_BUILD as u8;
    }
    match Request::parse(args).and_then(|r| run(&r, Entry::Dedicated)) {
        Ok(code) => code,
        Err(u) => {
            eprintln!("warden-sandbox: {}", u.message);
            if let Some(h) = u.hint {
                eprintln!("hint: {h}");
            }
            EXIT_USAGE
        }
    }
}

/// Run the helper for `req`: probe, or isolate and start the plugin.
/// Returns the exit byte (the plugin's own, or 125/126).
pub fn run(req: &Request, entry: Entry) -> Result<u8, Usage> {
    let required = req.required()?;
    if !req.probe && req.argv.is_empty() {
        return Err(usage("no plugin command after --", None));
    }
    // Before anything else, so every stage and the plugin start there (and
    // stage 2 re-enters it through the read-only mount, as it would a
    // working directory it was started in).
    if let Some(dir) = &req.cwd
        && let Err(e) = std::env::set_current_dir(dir)
    {
        eprintln!(
            "warden: the sandbox helper cannot enter {}: {e}",
            dir.display()
        );
        return Ok(EXIT_EXEC_FAILED as u8);
    }
    if req.stage2 {
        return Ok(stage2(req, &required));
    }
    // Stage 1: still single-threaded, the one moment a user namespace can be made.
    Ok(match sandbox::enter_namespaces() {
        Ok(_user) => forked(req, &required, entry),
        Err(e) => single_stage(req, &required, &e.to_string()),
    })
}

/// Stage 2 in a forked child, PID 1 of the new namespaces, without a second
/// exec; stage 1 waits for it and exits as it does. Where fork fails, stage
/// 1 starts itself again as stage 2 instead.
#[cfg(target_os = "linux")]
fn forked(req: &Request, required: &[IsolationLayer], entry: Entry) -> u8 {
    match crate::fork() {
        // The child's exit byte is its `main`'s return value.
        Ok(crate::Forked::Child) => stage2(req, required),
        Ok(crate::Forked::Parent(pid)) => match crate::wait_exit_byte(pid) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("warden: the sandbox helper lost its second stage: {e}");
                EXIT_EXEC_FAILED as u8
            }
        },
        Err(_) => stage1(req, entry),
    }
}

#[cfg(not(target_os = "linux"))]
fn forked(req: &Request, _required: &[IsolationLayer], entry: Entry) -> u8 {
    stage1(req, entry)
}

/// Start stage 2 inside the new namespaces and exit as it does.
fn stage1(req: &Request, entry: Entry) -> u8 {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("warden: the sandbox helper cannot find its own executable: {e}");
            return EXIT_EXEC_FAILED as u8;
        }
    };
    let mut argv = entry.prefix();
    argv.extend(
        Request {
            stage2: true,
            ..req.clone()
        }
        .to_args(),
    );
    match warden_core::process::spawn_inherit(exe, argv).and_then(|mut c| c.wait()) {
        Ok(s) => exit_byte(s),
        Err(e) => {
            eprintln!("warden: the sandbox helper cannot start its second stage: {e}");
            EXIT_EXEC_FAILED as u8
        }
    }
}

fn exit_byte(status: std::process::ExitStatus) -> u8 {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return (128 + sig) as u8;
        }
    }
    status.code().unwrap_or(EXIT_EXEC_FAILED) as u8
}

fn stage2(req: &Request, required: &[IsolationLayer]) -> u8 {
    let protect: Vec<&Path> = req.protect.iter().map(PathBuf::as_path).collect();
    let ns = sandbox::setup_namespace(&protect, &[&req.scratch]);
    let privileges = sandbox::drop_privileges();
    let filesystem = sandbox::restrict_self(&[&req.scratch]);
    let scoped = sandbox::scope_signals();
    let iso = Isolation {
        filesystem,
        processes: Enforcement::from_bool(ns.processes),
        signals: Enforcement::from_bool(scoped || ns.processes),
        // Read-only only holds if the plugin cannot remount: no capabilities,
        // or Landlock (which forbids any mount change).
        metadata: Enforcement::from_bool(ns.metadata && (privileges || filesystem.enforced())),
        privileges: Enforcement::from_bool(privileges),
    };
    if let Some(code) = report(&iso, required, req.probe, &ns.notes) {
        return code;
    }
    let Some((prog, rest)) = req.argv.split_first() else {
        return EXIT_EXEC_FAILED as u8;
    };
    // The plugin is a child, not an exec: PID 1 gets no default signal
    // handling, and it must reap the orphans a plugin leaves.
    let child = match warden_core::process::spawn_inherit(prog, rest) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("warden: cannot start `{prog}`: {e}");
            return EXIT_EXEC_FAILED as u8;
        }
    };
    // Returning ends PID 1, and with it every process left in the namespace.
    sandbox::reap_until(child.id()) as u8
}

/// No namespaces here: apply what one process can, then exec the plugin.
fn single_stage(req: &Request, required: &[IsolationLayer], why: &str) -> u8 {
    let privileges = sandbox::drop_privileges();
    let filesystem = sandbox::restrict_self(&[&req.scratch]);
    let scoped = sandbox::scope_signals();
    let iso = Isolation {
        filesystem,
        processes: Enforcement::NotEnforced,
        signals: Enforcement::from_bool(scoped),
        metadata: Enforcement::NotEnforced,
        privileges: Enforcement::from_bool(privileges),
    };
    let notes = [format!("namespaces: {why}")];
    if let Some(code) = report(&iso, required, req.probe, &notes) {
        return code;
    }
    let Some((prog, _rest)) = req.argv.split_first() else {
        return EXIT_EXEC_FAILED as u8;
    };
    #[cfg(unix)]
    {
        let err = warden_core::process::exec_replace(&req.argv);
        eprintln!("warden: cannot start `{prog}`: {err}");
        EXIT_EXEC_FAILED as u8
    }
    #[cfg(not(unix))]
    {
        match warden_core::process::spawn_inherit(prog, _rest).and_then(|mut c| c.wait()) {
            Ok(s) => exit_byte(s),
            Err(e) => {
                eprintln!("warden: cannot start `{prog}`: {e}");
                EXIT_EXEC_FAILED as u8
            }
        }
    }
}

/// Print the status line; stop here for a probe, or when a required layer
/// is missing (exit 125, naming each missing layer and why).
fn report(
    iso: &Isolation,
    required: &[IsolationLayer],
    probe: bool,
    notes: &[String],
) -> Option<u8> {
    eprintln!("{}", iso.status_line());
    if probe {
        return Some(0);
    }
    let missing = iso.missing(required);
    if missing.is_empty() {
        return None;
    }
    let names: Vec<&str> = missing.iter().map(|l| l.name()).collect();
    eprintln!(
        "warden: refusing to start the plugin: the policy requires the isolation layer(s) {} and this kernel does not enforce them{} (plugins.require_isolation, or plugins.run_unsandboxed: true, in .warden/policy.yaml)",
        names.join(", "),
        if notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", notes.join("; "))
        }
    );
    Some(EXIT_UNENFORCED as u8)
}

/// Whether a helper's stderr and exit code say it refused the handshake.
pub fn refused_handshake(exit: Option<i32>, stderr: &[u8]) -> bool {
    exit == Some(EXIT_WRONG_BUILD)
        && stderr
            .split(|b| *b == b'\n')
            .next()
            .is_some_and(|l| l == WRONG_BUILD_LINE.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn a_request_reads_back_what_it_writes() {
        let r = Request {
            scratch: "/tmp/s".into(),
            cwd: Some("/repo/plugins/p".into()),
            require: true,
            require_layer: vec!["processes".into(), "metadata".into()],
            protect: vec!["/repo".into(), "/other".into()],
            probe: false,
            stage2: true,
            argv: vec!["sh".into(), "--".into(), "-c".into(), "echo".into()],
        };
        assert_eq!(Request::parse(r.to_args()), Ok(r));
    }

    #[test]
    fn a_helper_of_another_build_refuses_before_doing_anything() {
        for args in [
            os(&[
                "warden-sandbox",
                "--build",
                "0.0.0+other",
                "--probe",
                "--scratch",
                "/x",
            ]),
            os(&["warden-sandbox", "--scratch", "/x", "--probe"]),
            os(&["warden-sandbox"]),
        ] {
            assert_eq!(main_dedicated(args), EXIT_WRONG_BUILD as u8);
        }
        assert!(refused_handshake(
            Some(EXIT_WRONG_BUILD),
            format!("{WRONG_BUILD_LINE}\n").as_bytes()
        ));
        // A plugin's own exit 123 is not a refused handshake.
        assert!(!refused_handshake(
            Some(EXIT_WRONG_BUILD),
            b"my own error\n"
        ));
        assert!(!refused_handshake(Some(0), WRONG_BUILD_LINE.as_bytes()));
    }

    #[test]
    fn malformed_requests_are_usage_errors() {
        assert_eq!(
            Request::parse(os(&["--probe"])).map_err(|u| u.message),
            Err("--scratch DIR is required".into())
        );
        assert_eq!(
            Request::parse(os(&["--scratch"])).map_err(|u| u.message),
            Err("--scratch needs a value".into())
        );
        assert_eq!(
            Request::parse(os(&["--scratch", "/x", "--frobnicate"])).map_err(|u| u.message),
            Err("unknown argument \"--frobnicate\"".into())
        );
        let bad = Request {
            scratch: "/x".into(),
            require_layer: vec!["network".into()],
            ..Request::default()
        };
        assert_eq!(
            bad.required().map_err(|u| u.message),
            Err("--require-layer: unknown isolation layer \"network\"".into())
        );
        let none = Request {
            scratch: "/x".into(),
            ..Request::default()
        };
        assert_eq!(
            run(&none, Entry::Dedicated).map_err(|u| u.message),
            Err("no plugin command after --".into())
        );
    }

    proptest::proptest! {
        #[test]
        fn any_request_reads_back_what_it_writes(
            scratch in "[^\u{0}]{1,20}",
            cwd in proptest::option::of("[^\u{0}]{1,20}"),
            require: bool,
            probe: bool,
            stage2: bool,
            layers in proptest::collection::vec("[a-z-]{0,12}", 0..3),
            protect in proptest::collection::vec("[^\u{0}]{0,20}", 0..3),
            argv in proptest::collection::vec("[^\u{0}]{0,12}", 0..5),
        ) {
            let r = Request {
                scratch: scratch.into(),
                cwd: cwd.map(PathBuf::from),
                require,
                require_layer: layers,
                protect: protect.into_iter().map(PathBuf::from).collect(),
                probe,
                stage2,
                argv,
            };
            proptest::prop_assert_eq!(Request::parse(r.to_args()), Ok(r));
        }

        #[test]
        fn any_command_line_parses_or_is_a_usage_error(
            args in proptest::collection::vec("(--[a-z-]{0,14}|[^\u{0}]{0,8})", 0..8),
        ) {
            // Never a panic; a parsed request writes back to a command line
            // that parses to the same request.
            if let Ok(r) = Request::parse(args.iter().map(OsString::from)) {
                proptest::prop_assert_eq!(Request::parse(r.to_args()), Ok(r));
            }
        }
    }

    #[test]
    fn the_build_id_names_the_version_and_a_source_digest() {
        let (version, digest) = BUILD_ID.split_once('+').expect("version+digest");
        assert_eq!(version, env!("CARGO_PKG_VERSION"));
        assert_eq!(digest.len(), 16, "{digest}");
        assert!(digest.bytes().all(|b| b.is_ascii_hexdigit()), "{digest}");
    }
}
