//! The `warden` command line. This crate alone parses arguments, reads the
//! environment, prints, and maps errors to the exit codes of SPEC §4:
//! 0 ok, 1 findings/refused (nothing written), 2 usage or input error,
//! 3 internal error, 4 busy (lock held).

#![forbid(unsafe_code)]

mod cli;
mod commands;
mod env;
mod output;
mod ui;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    quiet_on_broken_pipe();
    let args = cli::Cli::parse();
    ui::init(&args);
    // Orphans of any child (a plugin's setsid'd or double-forked descendant)
    // come back to warden, and the process runner sweeps them when its child
    // ends. Every child warden starts goes through that runner. Not in the
    // sandbox helper: it becomes the plugin by exec.
    if !matches!(args.command, cli::Command::Sandbox { .. }) {
        warden_core::process::adopt_orphans();
    }
    // A closed stdout unwinds (see `quiet_on_broken_pipe`), so destructors
    // run — the demo's temporary repositories are removed — before exit 0.
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| commands::dispatch(args)));
    match run {
        Ok(Ok(code)) => code,
        Ok(Err(err)) => {
            output::print_error(&err);
            ExitCode::from(err.exit_code())
        }
        Err(_) if BROKEN_PIPE.load(std::sync::atomic::Ordering::SeqCst) => ExitCode::SUCCESS,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Set when a print found stdout closed by its reader.
static BROKEN_PIPE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `warden ledger log | head` closes stdout early; `println!` then panics.
/// Treat that as the reader being done, like other Unix tools, not as a crash:
/// say nothing, let the panic unwind (so temporary directories are removed),
/// and exit 0 in `main`.
fn quiet_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.contains("failed printing to stdout") && msg.contains("Broken pipe") {
            BROKEN_PIPE.store(true, std::sync::atomic::Ordering::SeqCst);
            return;
        }
        default(info);
    }));
}
