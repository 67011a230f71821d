//! `warden ledger verify|log|show RUN`

use super::{open, recover_if_needed};
use crate::cli::{Format, LedgerCommand};
use crate::output::{self, CliError};
use std::path::PathBuf;
use std::process::ExitCode;
use warden_core::Digest;
use warden_core::engine::Record;
use warden_core::ledger::RunResult;
use warden_core::proposal::Source;

pub fn run(repo: Option<PathBuf>, cmd: LedgerCommand, fmt: Format) -> Result<ExitCode, CliError> {
    let repo = open(repo)?;
    recover_if_needed(&repo, &crate::env::context())?;
    let ledger = repo.ledger();
    match cmd {
        LedgerCommand::Verify => {
            let report = ledger.verify()?;
            if fmt == Format::Json {
                output::json(&report)?;
            } else if let Some(p) = &report.problem {
                let run = p
                    .run
                    .as_ref()
                    .map(|r| format!(" (run {r})"))
                    .unwrap_or_default();
                eprintln!("error: {}: entry {}{} {}", p.file, p.line, run, p.message);
                eprintln!(
                    "hint: the ledger was changed outside warden; restore it from git (`git checkout HEAD -- {0}`; `git log -p -- {0}`); writers refuse until it verifies (a lost tip can be accepted with `warden ledger accept --reason \"…\"`, which is ledgered)",
                    p.file
                );
            } else {
                println!(
                    "ledger ok: {} entries in {} chain(s), {} bytes",
                    report.entries,
                    report.chains.len(),
                    report.bytes
                );
            }
            Ok(output::code(if report.ok { 0 } else { 1 }))
        }
        LedgerCommand::Log => {
            let entries = ledger.entries()?;
            if fmt == Format::Json {
                output::json(&entries)?;
                return Ok(ExitCode::SUCCESS);
            }
            for e in &entries {
                let result = if e.result == RunResult::Applied {
                    "applied"
                } else {
                    "rolled_back"
                };
                println!(
                    "{}#{:<4} run {}  {}  {} {} by {}:{}  {}  {} file(s)  policy {}",
                    e.writer,
                    e.seq,
                    e.run,
                    e.time,
                    e.command,
                    e.event,
                    e.actor.kind,
                    e.actor.id,
                    result,
                    e.counts.files,
                    e.policy.version
                );
                if let Some(r) = &e.reason {
                    println!("    reason: {r}");
                }
            }
            if entries.is_empty() {
                println!("the ledger is empty");
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
            Ok(output::code(if report.problem.is_none() { 0 } else { 1 }))
        }
        LedgerCommand::Show { run } => {
            let e = ledger.find_run(&run)?.ok_or_else(|| {
                CliError::usage(
                    format!("no run \"{run}\" in the ledger"),
                    Some("`warden runs` lists the runs".to_string()),
                )
            })?;
            if fmt == Format::Json {
                output::json(&e)?;
            } else {
                println!(
                    "run {} — {} {} by {}:{}",
                    e.run, e.command, e.event, e.actor.kind, e.actor.id
                );
                println!("  time       {}", e.time);
                println!(
                    "  result     {:?}{}",
                    e.result,
                    e.reason
                        .as_ref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                );
                println!(
                    "  ledger     {} entry {} (prev {})",
                    e.writer,
                    e.seq,
                    e.prev.short()
                );
                println!(
                    "  policy     {} sha256 {}",
                    e.policy.version,
                    e.policy.digest.short()
                );
                println!("  input      sha256 {}", e.input_digest.short());
                println!("  before     sha256 {}", e.before_digest.short());
                println!("  after      sha256 {}", e.after_digest.short());
                if let Some(r) = &e.rationale {
                    println!("  rationale  {r}");
                }
                if let Some(h) = &e.rollback {
                    println!(
                        "  rollback   {} of {} at offset {} ({} bytes, sha256 {})",
                        h.store,
                        h.writer,
                        h.frame.offset,
                        h.frame.len,
                        h.frame.digest.short()
                    );
                }
                println!("  changes:");
                for c in &e.changes {
                    let s = |d: &Option<warden_core::Digest>| {
                        d.map_or("absent".to_string(), |d| d.short())
                    };
                    println!("    {}  {} -> {}", c.path, s(&c.before), s(&c.after));
                }
            }
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
        actor: Source {
            kind: "person".into(),
            id: "cli".into(),
        },
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
