//! The `warden` command line. This crate alone parses arguments, reads the
//! environment, prints, and maps errors to the stable exit codes:
//! 0 ok, 1 findings/refused (nothing written), 2 usage or input error,
//! 3 internal error, 4 busy (lock held).

#![forbid(unsafe_code)]

// Every print of this crate goes through `output::out`, which turns a closed
// stdout (`io::ErrorKind::BrokenPipe`) into a typed unwind instead of std's
// panic. These shadow the prelude's `print!`/`println!` in every module below.
macro_rules! print {
    ($($arg:tt)*) => { $crate::output::out(format_args!($($arg)*)) };
}
macro_rules! println {
    () => { $crate::output::out(format_args!("\n")) };
    ($($arg:tt)*) => {{
        $crate::output::out(format_args!($($arg)*));
        $crate::output::out(format_args!("\n"));
    }};
}

mod cli;
mod commands;
mod dispatch;
mod env;
mod input;
mod output;
mod ui;

use clap::Parser;
use output::{BrokenPipe, CliError, ExitStatus, StdoutFailed};
use std::process::ExitCode;

fn main() -> ExitCode {
    quiet_on_broken_pipe();
    let args = match cli::Cli::try_parse().and_then(|a| a.check_format().map(|()| a)) {
        Ok(a) => a,
        Err(e) => return clap_error(e),
    };
    ui::init(&ui::Flags {
        format: args.format(),
        color: args.color,
        no_pager: args.no_pager,
        quiet: args.quiet,
        verbose: args.verbose,
    });
    let fmt = args.format();
    // Orphans of any child (a plugin's setsid'd or double-forked descendant)
    // come back to warden, and the process runner sweeps them when its child
    // ends. Every child warden starts goes through that runner. Not in the
    // sandbox helper: it becomes the plugin by exec.
    if !matches!(args.command, cli::Command::Sandbox(_)) {
        warden_core::process::adopt_orphans();
    }
    // A closed stdout unwinds (see `output::out`), so destructors run — the
    // demo's temporary repositories are removed — before exit 0.
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| dispatch::dispatch(args)));
    match run {
        Ok(Ok(code)) => code,
        Ok(Err(err)) => {
            output::print_error(&err, fmt);
            err.status().into()
        }
        Err(panic) if panic.is::<BrokenPipe>() => ExitStatus::Ok.into(),
        Err(panic) => match panic.downcast::<StdoutFailed>() {
            Ok(failed) => {
                eprintln!("error: cannot write to stdout: {}", failed.0);
                ExitStatus::Internal.into()
            }
            Err(panic) => std::panic::resume_unwind(panic),
        },
    }
}

/// A command line clap refuses: its own message (exit 2), plus the
/// `warden.error/v1` object on stdout when `--format json` was asked for.
/// `--help` and `--version` print as usual (exit 0).
fn clap_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind as K;
    if matches!(
        e.kind(),
        K::DisplayHelp | K::DisplayVersion | K::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return if e.kind() == K::DisplayHelpOnMissingArgumentOrSubcommand {
            ExitStatus::Usage.into()
        } else {
            ExitStatus::Ok.into()
        };
    }
    let _ = e.print();
    if wants_json(env::raw_args().into_iter()) {
        let text = e.render().to_string();
        let message = text
            .lines()
            .next()
            .unwrap_or("invalid arguments")
            .trim_start_matches("error: ")
            .to_string();
        let _ = output::write_json(
            &CliError::usage(message, Some("see `warden --help`".to_string())).report(),
        );
    }
    ExitStatus::Usage.into()
}

/// Whether the raw arguments ask for `--format json` (clap could not parse them).
fn wants_json(args: impl Iterator<Item = std::ffi::OsString>) -> bool {
    let args: Vec<String> = args.map(|a| a.to_string_lossy().into_owned()).collect();
    args.iter().any(|a| a == "--format=json")
        || args
            .windows(2)
            .any(|w| w[0] == "--format" && w[1] == "json")
}

/// Keep std's message off stderr for the typed unwinds of `output::out`; every
/// other panic is reported as usual.
fn quiet_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload().is::<BrokenPipe>() || info.payload().is::<StdoutFailed>() {
            return;
        }
        default(info);
    }));
}
