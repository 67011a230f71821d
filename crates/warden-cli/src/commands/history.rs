//! `warden history`: the ledger's runs and this clone's local history of
//! read-only reports (`.runs/history.jsonl`), in one table, oldest first.

use super::{open, recover_if_needed};
use crate::output::Format;
use crate::output::{self, CliError};
use std::path::PathBuf;
use std::process::ExitCode;
use warden_core::history;

pub fn run(repo: Option<PathBuf>, fmt: Format) -> Result<ExitCode, CliError> {
    let repo = open(repo)?;
    recover_if_needed(&repo, &crate::env::context())?;
    let h = history::list(&repo.ledger().entries()?, repo.root())?;
    for bad in &h.unreadable {
        eprintln!(
            "warning: {}: {bad} (skipped)",
            warden_core::history::HISTORY_FILE
        );
    }
    output::emit_paged(&h, fmt)?;
    Ok(ExitCode::SUCCESS)
}
