//! `warden runs`

use super::{open, recover_if_needed};
use crate::output::Format;
use crate::output::{self, CliError};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Show the newest N runs (N is 1 or more).
    #[arg(long, value_name = "N", default_value_t = 20, conflicts_with = "all", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: u64,
    /// Show every run (reads the whole ledger).
    #[arg(long)]
    pub all: bool,
}

pub fn run(repo: Option<PathBuf>, limit: Option<usize>, fmt: Format) -> Result<ExitCode, CliError> {
    let repo = open(repo)?;
    recover_if_needed(&repo, &crate::env::context())?;
    if let Some(problem) = repo.ledger().guard_problem(&repo.writer) {
        eprintln!("warning: the ledger does not verify; writers are refused: {problem}");
    }
    let ledger = repo.ledger();
    // Newest first; a page reads only the chains' tails. Every run that could
    // have undone a run on the page is newer than it, so on the page too.
    let mut report =
        warden_core::status::RunsReport::new(warden_core::status::runs(&ledger.recent(limit)?));
    let shown = report.runs.len() as u64;
    if let Some(l) = limit
        && shown == l as u64
    {
        report.not_shown = ledger.summary()?.entries.saturating_sub(shown);
    }
    output::emit_paged(&report, fmt)?;
    Ok(ExitCode::SUCCESS)
}
