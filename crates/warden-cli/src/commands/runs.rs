//! `warden runs`

use super::{open, recover_if_needed};
use crate::cli::Format;
use crate::output::{self, CliError};
use std::path::PathBuf;
use std::process::ExitCode;
use warden_core::ledger::RunResult;

pub fn run(repo: Option<PathBuf>, limit: Option<usize>, fmt: Format) -> Result<ExitCode, CliError> {
    let repo = open(repo)?;
    recover_if_needed(&repo, &crate::env::context())?;
    if let Some(problem) = repo.ledger().guard_problem(&repo.writer) {
        eprintln!("warning: the ledger does not verify; writers are refused: {problem}");
    }
    let ledger = repo.ledger();
    // Newest first; a page reads only the chains' tails. Every run that could
    // have undone a run on the page is newer than it, so on the page too.
    let rows = warden_core::status::runs(&ledger.recent(limit)?);
    if fmt == Format::Json {
        output::json(&rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        println!("no runs yet");
    }
    let shown = rows.len() as u64;
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
    if let Some(l) = limit
        && shown == l as u64
    {
        let total = ledger.summary()?.entries;
        if total > shown {
            println!(
                "({} older run(s) not shown; --limit N or --all shows more)",
                total - shown
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
