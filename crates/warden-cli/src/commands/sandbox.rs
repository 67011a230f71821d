//! `warden __sandbox`: the plugin sandbox helper (see warden_plugin::sandbox).
//!
//! Stage 1 enters new PID and mount namespaces and forks stage 2 (or, where
//! fork fails, starts itself again as stage 2), PID 1 of the new PID
//! namespace, which mounts its own /proc, makes
//! the protected directories read-only, drops every privilege, applies
//! Landlock, reports the layers on stderr's first line, and runs the plugin
//! as its child, reaping every orphan. Without namespaces, one stage applies
//! what it can and execs the plugin. Either way a required layer that is not
//! enforced stops the plugin from starting (exit 125).

use crate::output::{self, CliError};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use warden_plugin::sandbox::{
    self, EXIT_EXEC_FAILED, EXIT_UNENFORCED, Enforcement, Isolation, IsolationLayer,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long)]
    pub scratch: PathBuf,
    /// Refuse to start the plugin when the sandbox is not enforced.
    #[arg(long)]
    pub require: bool,
    /// Also refuse unless this isolation layer is enforced (filesystem,
    /// processes, signals, metadata, privileges); repeatable.
    #[arg(long = "require-layer", value_name = "LAYER")]
    pub require_layer: Vec<String>,
    /// A directory the plugin must not change in any way (the repository):
    /// mounted read-only in its namespace; repeatable.
    #[arg(long, value_name = "DIR")]
    pub protect: Vec<PathBuf>,
    /// Only report the level.
    #[arg(long)]
    pub probe: bool,
    /// Internal: the second stage, PID 1 of the new namespaces.
    #[arg(long, hide = true)]
    stage2: bool,
    #[arg(last = true)]
    pub argv: Vec<String>,
}

pub fn run(args: &Args) -> Result<ExitCode, CliError> {
    let mut required = Vec::new();
    if args.require {
        required.push(IsolationLayer::Filesystem);
    }
    for name in &args.require_layer {
        let layer = IsolationLayer::parse(name).ok_or_else(|| {
            CliError::usage(
                format!("--require-layer: unknown isolation layer \"{name}\""),
                Some("one of: filesystem, processes, signals, metadata, privileges".into()),
            )
        })?;
        if !required.contains(&layer) {
            required.push(layer);
        }
    }
    if !args.probe && args.argv.is_empty() {
        return Err(CliError::usage("no plugin command after --", None));
    }
    if args.stage2 {
        return stage2(args, &required);
    }
    // Stage 1: still single-threaded, the one moment a user namespace can be made.
    match sandbox::enter_namespaces() {
        Ok(_user) => forked(args, &required),
        Err(e) => single_stage(args, &required, &e.to_string()),
    }
}

/// Stage 2 in a forked child, PID 1 of the new namespaces, without a second
/// exec of warden; stage 1 waits for it and exits as it does. Where fork
/// fails, stage 1 starts itself again as stage 2 instead.
#[cfg(target_os = "linux")]
fn forked(args: &Args, required: &[IsolationLayer]) -> Result<ExitCode, CliError> {
    match sandbox::fork() {
        Ok(sandbox::Forked::Child) => stage2(args, required),
        Ok(sandbox::Forked::Parent(pid)) => match sandbox::wait_exit_byte(pid) {
            Ok(code) => Ok(output::ExitStatus::Child(code).into()),
            Err(e) => {
                eprintln!("warden: the sandbox helper lost its second stage: {e}");
                Ok(output::ExitStatus::Child(EXIT_EXEC_FAILED as u8).into())
            }
        },
        Err(_) => stage1(args),
    }
}

#[cfg(not(target_os = "linux"))]
fn forked(args: &Args, _required: &[IsolationLayer]) -> Result<ExitCode, CliError> {
    stage1(args)
}

/// Start stage 2 inside the new namespaces and exit as it does.
fn stage1(args: &Args) -> Result<ExitCode, CliError> {
    let exe = std::env::current_exe()
        .map_err(|e| CliError::usage(format!("cannot find warden's own executable: {e}"), None))?;
    let mut argv: Vec<std::ffi::OsString> = vec![
        "__sandbox".into(),
        "--stage2".into(),
        "--scratch".into(),
        args.scratch.clone().into(),
    ];
    if args.require {
        argv.push("--require".into());
    }
    for l in &args.require_layer {
        argv.extend(["--require-layer".into(), l.into()]);
    }
    for p in &args.protect {
        argv.extend(["--protect".into(), p.clone().into()]);
    }
    if args.probe {
        argv.push("--probe".into());
    }
    argv.push("--".into());
    argv.extend(args.argv.iter().map(Into::into));
    let status = match warden_core::process::spawn_inherit(exe, argv).and_then(|mut c| c.wait()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("warden: the sandbox helper cannot start its second stage: {e}");
            return Ok(output::ExitStatus::Child(EXIT_EXEC_FAILED as u8).into());
        }
    };
    Ok(output::ExitStatus::Child(exit_byte(status)).into())
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

fn stage2(args: &Args, required: &[IsolationLayer]) -> Result<ExitCode, CliError> {
    let protect: Vec<&Path> = args.protect.iter().map(PathBuf::as_path).collect();
    let ns = sandbox::setup_namespace(&protect, &[&args.scratch]);
    let privileges = sandbox::drop_privileges();
    let filesystem = sandbox::restrict_self(&[&args.scratch]);
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
    if let Some(code) = report(&iso, required, args.probe, &ns.notes) {
        return Ok(code);
    }
    let Some((prog, rest)) = args.argv.split_first() else {
        return Err(CliError::usage("no plugin command after --", None));
    };
    // The plugin is a child, not an exec: PID 1 gets no default signal
    // handling, and it must reap the orphans a plugin leaves.
    let child = match warden_core::process::spawn_inherit(prog, rest) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("warden: cannot start `{prog}`: {e}");
            return Ok(output::ExitStatus::Child(EXIT_EXEC_FAILED as u8).into());
        }
    };
    let code = sandbox::reap_until(child.id());
    // Returning ends PID 1, and with it every process left in the namespace.
    Ok(output::ExitStatus::Child(code as u8).into())
}

/// No namespaces here: apply what one process can, then exec the plugin.
fn single_stage(args: &Args, required: &[IsolationLayer], why: &str) -> Result<ExitCode, CliError> {
    let privileges = sandbox::drop_privileges();
    let filesystem = sandbox::restrict_self(&[&args.scratch]);
    let scoped = sandbox::scope_signals();
    let iso = Isolation {
        filesystem,
        processes: Enforcement::NotEnforced,
        signals: Enforcement::from_bool(scoped),
        metadata: Enforcement::NotEnforced,
        privileges: Enforcement::from_bool(privileges),
    };
    let notes = [format!("namespaces: {why}")];
    if let Some(code) = report(&iso, required, args.probe, &notes) {
        return Ok(code);
    }
    let Some((prog, _rest)) = args.argv.split_first() else {
        return Err(CliError::usage("no plugin command after --", None));
    };
    #[cfg(unix)]
    {
        let err = warden_core::process::exec_replace(&args.argv);
        eprintln!("warden: cannot start `{prog}`: {err}");
        Ok(output::ExitStatus::Child(EXIT_EXEC_FAILED as u8).into())
    }
    #[cfg(not(unix))]
    {
        let status = warden_core::process::spawn_inherit(prog, _rest)
            .and_then(|mut c| c.wait())
            .map_err(|e| CliError::usage(format!("cannot start `{prog}`: {e}"), None))?;
        Ok(output::ExitStatus::Child(status.code().unwrap_or(EXIT_EXEC_FAILED) as u8).into())
    }
}

/// Print the status line; stop here for a probe, or when a required layer
/// is missing (exit 125, naming each missing layer and why).
fn report(
    iso: &Isolation,
    required: &[IsolationLayer],
    probe: bool,
    notes: &[String],
) -> Option<ExitCode> {
    eprintln!("{}", iso.status_line());
    if probe {
        return Some(ExitCode::SUCCESS);
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
    Some(output::ExitStatus::Child(EXIT_UNENFORCED as u8).into())
}
