//! `warden history`: the ledger's runs and this clone's local history of
//! read-only reports (`.runs/history.jsonl`), in one table, oldest first.

use super::{open, recover_if_needed};
use crate::output::Format;
use crate::output::{self, CliError};
use std::path::PathBuf;
use std::process::ExitCode;
use warden_core::history::{self, Origin};

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
    if fmt == Format::Json {
        output::json(&h)?;
        return Ok(ExitCode::SUCCESS);
    }
    if h.runs.is_empty() {
        println!("no runs or reports yet");
        return Ok(ExitCode::SUCCESS);
    }
    let ids: Vec<&str> = h.runs.iter().map(|r| r.run.as_str()).collect();
    let short = crate::ui::short_ids(&ids);
    let mut rows = vec![
        ["RUN", "TIME", "WHERE", "COMMAND", "RESULT", "SUMMARY"]
            .map(crate::ui::heading)
            .to_vec(),
    ];
    for r in &h.runs {
        rows.push(vec![
            short.get(&r.run).cloned().unwrap_or_else(|| r.run.clone()),
            crate::ui::time(&r.time),
            match r.origin {
                Origin::Ledger => "ledger".into(),
                Origin::Local => "local".into(),
            },
            r.command.clone(),
            r.result.replace('_', " "),
            r.summary.clone().unwrap_or_default(),
        ]);
    }
    crate::ui::page(&crate::ui::table(&rows));
    Ok(ExitCode::SUCCESS)
}
