//! `warden completions SHELL`: a completion script from the clap definitions.

use crate::output::CliError;
use std::process::ExitCode;

pub fn run(shell: clap_complete::Shell) -> Result<ExitCode, CliError> {
    let mut cmd = <crate::cli::Cli as clap::CommandFactory>::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "warden", &mut out);
    crate::output::raw(&out)?;
    Ok(ExitCode::SUCCESS)
}
