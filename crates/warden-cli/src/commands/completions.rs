//! `warden completions SHELL`: a completion script from the clap definitions.

use crate::output::CliError;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell.
    pub shell: clap_complete::Shell,
}

/// `cmd` is warden's whole command line (`Cli::command()`).
pub fn run(mut cmd: clap::Command, shell: clap_complete::Shell) -> Result<ExitCode, CliError> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "warden", &mut out);
    crate::output::raw(&out)?;
    Ok(ExitCode::SUCCESS)
}
