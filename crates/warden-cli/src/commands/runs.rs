//! `warden runs`

use super::{open, recover_if_needed};
use crate::output::Format;
use crate::output::{self, CliError};
use std::path::PathBuf;
use std::process::ExitCode;
use warden_core::ledger::RunResult;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Show the newest N runs.
    #[arg(long, default_value_t = 20, conflicts_with = "all")]
    pub limit: usize,
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
    let report =
        warden_core::status::RunsReport::new(warden_core::status::runs(&ledger.recent(limit)?));
    if fmt != Format::Human {
        output::emit(&report, fmt)?;
        return Ok(ExitCode::SUCCESS);
    }
    if report.runs.is_empty() {
        println!("no runs yet");
        return Ok(ExitCode::SUCCESS);
    }
    let mut text = table(&report.runs);
    let shown = report.runs.len() as u64;
    if let Some(l) = limit
        && shown == l as u64
    {
        let total = ledger.summary()?.entries;
        if total > shown {
            text.push_str(&format!(
                "({} older run(s) not shown; --limit N or --all shows more)\n",
                total - shown
            ));
        }
    }
    crate::ui::page(&text);
    Ok(ExitCode::SUCCESS)
}

/// The runs as an aligned table; run ids as their shortest unique prefix.
fn table(rows: &[warden_core::status::RunRow]) -> String {
    let ids: Vec<&str> = rows.iter().map(|r| r.run.as_str()).collect();
    let short = crate::ui::short_ids(&ids);
    let run_id = |id: &str| short.get(id).cloned().unwrap_or_else(|| id.to_string());
    let mut cells = vec![
        [
            "RUN", "TIME", "COMMAND", "EVENT", "ACTOR", "RESULT", "FILES", "NOTE",
        ]
        .map(crate::ui::heading)
        .to_vec(),
    ];
    for r in rows {
        let result = match r.result {
            RunResult::Applied => "applied",
            RunResult::RolledBack => "rolled back",
            RunResult::Recorded => "recorded",
        };
        let mut note = Vec::new();
        if let Some(u) = &r.undoes {
            note.push(format!("undoes {}", run_id(u)));
        }
        if let Some(u) = &r.undone_by {
            note.push(format!("undone by {}", run_id(u)));
        }
        cells.push(vec![
            run_id(&r.run),
            crate::ui::time(&r.time),
            r.command.clone(),
            r.event.clone(),
            format!("{}:{}", r.actor.kind, r.actor.id),
            result.to_string(),
            r.files.to_string(),
            note.join(", "),
        ]);
    }
    crate::ui::table(&cells)
}
