//! `warden ledger verify|log|show RUN`

use super::{open, recover_if_needed};
use crate::output::Format;
use crate::output::{self, CliError};
use std::path::PathBuf;
use std::process::ExitCode;
use warden_core::engine::Record;
use warden_core::ledger::RunResult;
use warden_core::{Digest, Report};

#[derive(Debug, clap::Subcommand)]
pub enum LedgerCommand {
    /// Check every chain; exit 1 naming the first bad entry.
    Verify,
    /// Print every entry, oldest first.
    Log,
    /// Print one run's entry.
    Show { run: String },
    /// Rebuild the derived ledger index (.warden/state/ledger-index.json) from
    /// every chain; exit 1 naming the first bad entry.
    Reindex,
    /// After writers refused a cut or edited tip, a deleted chain or a broken heads
    /// file: re-record the heads from the chains as they are now, and ledger what was
    /// accepted. A chain broken inside cannot be accepted: restore it from git.
    Accept {
        /// Why the loss is accepted; recorded in the ledger entry.
        #[arg(long)]
        reason: String,
        /// Exit 4 instead of waiting when another writer holds the lock.
        #[arg(long)]
        no_wait: bool,
    },
}

pub fn run(repo: Option<PathBuf>, cmd: LedgerCommand, fmt: Format) -> Result<ExitCode, CliError> {
    let repo = open(repo)?;
    recover_if_needed(&repo, &crate::env::context())?;
    let ledger = repo.ledger();
    match cmd {
        LedgerCommand::Verify => {
            let report = ledger.verify()?;
            if fmt == Format::Human && report.problem.is_some() {
                // The first bad entry is an error: stderr, exit 1.
                eprint!("{}", report.human());
            } else {
                output::emit(&report, fmt)?;
            }
            Ok(output::ExitStatus::findings_if(!report.ok).into())
        }
        LedgerCommand::Log => {
            let log = warden_core::status::LedgerLog::new(ledger.entries()?);
            if fmt != Format::Human {
                output::emit(&log, fmt)?;
                return Ok(ExitCode::SUCCESS);
            }
            if log.entries.is_empty() {
                println!("the ledger is empty");
            } else {
                crate::ui::page(&log_table(&log.entries));
            }
            Ok(ExitCode::SUCCESS)
        }
        LedgerCommand::Accept { reason, no_wait } => accept(&repo, &reason, no_wait, fmt),
        LedgerCommand::Reindex => {
            let report = ledger.reindex()?;
            if fmt == Format::Json {
                output::json(&report)?;
            } else if let Some(p) = &report.problem {
                eprintln!(
                    "error: {}: entry {} {}; the index covers the {} entries before it",
                    p.file, p.line, p.message, report.entries
                );
                eprintln!("hint: `warden ledger verify` checks every chain");
            } else {
                println!(
                    "ledger index rebuilt: {} entries in {} chain(s) ({})",
                    report.entries,
                    report.chains.len(),
                    report.index
                );
            }
            Ok(output::ExitStatus::findings_if(report.problem.is_some()).into())
        }
        LedgerCommand::Show { run } => {
            let e = ledger.require_run(&run)?;
            output::emit(&warden_core::render::ledger::EntryView(&e), fmt)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `warden ledger accept --reason TEXT`: the explicit, ledgered way past a
/// refused ledger tip (see `Ledger::accept`).
fn accept(
    repo: &warden_core::Repo,
    reason: &str,
    no_wait: bool,
    fmt: Format,
) -> Result<ExitCode, CliError> {
    if reason.trim().is_empty() {
        return Err(CliError::usage(
            "--reason must say why the loss is accepted",
            Some(
                "e.g. --reason \"restored the disk from a backup that missed the last run\"".into(),
            ),
        ));
    }
    let ctx = crate::env::context();
    let mut s = repo.repair_session(&ctx, !no_wait, &mut |holder| {
        eprintln!("warden: waiting for the repository lock held by {holder}");
    })?;
    let accepted = repo.ledger().accept()?;
    let run = s.new_run_id();
    let entry = s.record(Record {
        run,
        command: "ledger accept".into(),
        actor: super::actor(repo.root()),
        event: "Manual".into(),
        input_digest: Digest::of(reason.as_bytes()),
        rationale: Some(reason.to_string()),
        details: Some(serde_json::json!({ "accepted": accepted })),
        artifacts: Vec::new(),
    })?;
    if fmt == Format::Json {
        output::json(&entry)?;
    } else {
        for p in &accepted {
            let at = if p.line > 0 {
                format!(" entry {}", p.line)
            } else {
                String::new()
            };
            println!("accepted: {}{at}: {}", p.file, p.message);
        }
        println!(
            "recorded as run {} ({} entry {}); writers may go on",
            entry.run, entry.writer, entry.seq
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `ledger log` for a person: one aligned row per entry, oldest first; run
/// ids as their shortest unique prefix.
fn log_table(entries: &[warden_core::ledger::Entry]) -> String {
    let ids: Vec<&str> = entries.iter().map(|e| e.run.as_str()).collect();
    let short = crate::ui::short_ids(&ids);
    let mut rows = vec![
        [
            "ENTRY", "RUN", "TIME", "COMMAND", "EVENT", "ACTOR", "RESULT", "FILES", "POLICY",
            "REASON",
        ]
        .map(crate::ui::heading)
        .to_vec(),
    ];
    for e in entries {
        let result = match e.result {
            RunResult::Applied => "applied",
            RunResult::RolledBack => "rolled back",
            RunResult::Recorded => "recorded",
        };
        rows.push(vec![
            format!("{}#{}", e.writer, e.seq),
            short.get(&e.run).cloned().unwrap_or_else(|| e.run.clone()),
            crate::ui::time(&e.time),
            e.command.clone(),
            e.event.clone(),
            format!("{}:{}", e.actor.kind, e.actor.id),
            result.to_string(),
            e.counts.files.to_string(),
            e.policy.version.clone(),
            e.reason.clone().unwrap_or_default(),
        ]);
    }
    crate::ui::table(&rows)
}
