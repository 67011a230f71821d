//! `warden runs`

use super::{open, recover_if_needed};
use crate::cli::Format;
use crate::output::{self, CliError};
use std::path::PathBuf;
use std::process::ExitCode;
use warden_core::ledger::RunResult;

pub fn run(repo: Option<PathBuf>, fmt: Format) -> Result<ExitCode, CliError> {
    let repo = open(repo)?;
    recover_if_needed(&repo, &crate::env::context())?;
    if let Some(problem) = repo.ledger().guard_problem(&repo.writer) {
        eprintln!("warning: the ledger does not verify; writers are refused: {problem}");
    }
    let rows = warden_core::status::runs(&repo.ledger().entries()?);
    if fmt == Format::Json {
        output::json(&rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        println!("no runs yet");
    }
    for r in rows {
        let result = match r.result {
            RunResult::Applied => "applied",
            RunResult::RolledBack => "rolled back",
            RunResult::Recorded => "recorded",
        };
        let mut note = String::new();
        if let Some(u) = &r.undoes {
            note.push_str(&format!(" undoes {u}"));
        }
        if let Some(u) = &r.undone_by {
            note.push_str(&format!(" undone by {u}"));
        }
        println!(
            "{}  {}  {:<5} {:<18} {}:{}  {:<11} {} file(s){}",
            r.run, r.time, r.command, r.event, r.actor.kind, r.actor.id, result, r.files, note
        );
    }
    Ok(ExitCode::SUCCESS)
}
