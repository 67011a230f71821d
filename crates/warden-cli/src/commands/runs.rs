//! `warden runs`

use super::{open, recover_if_needed};
use crate::cli::Format;
use crate::output::{self, CliError};
use std::path::PathBuf;
use std::process::ExitCode;

pub fn run(repo: Option<PathBuf>, fmt: Format) -> Result<ExitCode, CliError> {
    let repo = open(repo)?;
    recover_if_needed(&repo, &crate::env::context())?;
    if let Some(problem) = repo.ledger().guard_problem(&repo.writer) {
        eprintln!("warning: the ledger does not verify; writers are refused: {problem}");
    }
    let report =
        warden_core::status::RunsReport::new(warden_core::status::runs(&repo.ledger().entries()?));
    output::emit(&report, fmt)?;
    Ok(ExitCode::SUCCESS)
}
