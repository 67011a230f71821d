//! The `warden` command line. This crate alone parses arguments, reads the
//! environment, prints, and maps errors to the exit codes of SPEC §4:
//! 0 ok, 1 findings/refused (nothing written), 2 usage or input error,
//! 3 internal error, 4 busy (lock held).

#![forbid(unsafe_code)]

mod cli;
mod commands;
mod env;
mod output;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match commands::dispatch(args) {
        Ok(code) => code,
        Err(err) => {
            output::print_error(&err);
            ExitCode::from(err.exit_code())
        }
    }
}
