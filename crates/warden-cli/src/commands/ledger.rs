//! `warden ledger verify|log|show RUN`

use super::{open, recover_if_needed};
use crate::output::Format;
use crate::output::{self, CliError};
use std::path::PathBuf;
use std::process::ExitCode;
use warden_core::engine::Record;
use warden_core::ledger::Ledger;
use warden_core::render::ledger::Accepted;
use warden_core::repo::Layout;
use warden_core::{Digest, Report};
use warden_core::{Error, Repo};

#[derive(Debug, clap::Subcommand)]
#[command(defer = true)]
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
        #[command(flatten)]
        write: super::WriteArgs,
    },
}

pub fn run(repo: Option<PathBuf>, cmd: LedgerCommand, fmt: Format) -> Result<ExitCode, CliError> {
    match cmd {
        LedgerCommand::Verify => {
            let report = read_only_ledger(repo)?.verify()?;
            if fmt == Format::Human && report.problem.is_some() {
                // The first bad entry is an error: stderr, exit 1.
                eprint!("{}", report.human());
            } else {
                output::emit(&report, fmt)?;
            }
            Ok(output::ExitStatus::findings_if(!report.ok).into())
        }
        LedgerCommand::Log => {
            let log = warden_core::status::LedgerLog::new(read_only_ledger(repo)?.entries()?);
            output::emit_paged(&log, fmt)?;
            Ok(ExitCode::SUCCESS)
        }
        LedgerCommand::Show { run } => {
            let e = read_only_ledger(repo)?.require_run(&run)?;
            output::emit(&warden_core::render::ledger::EntryView(&e), fmt)?;
            Ok(ExitCode::SUCCESS)
        }
        LedgerCommand::Accept { reason, write } => {
            let repo = open(repo)?;
            recover_if_needed(&repo, &crate::env::context())?;
            accept(&repo, &reason, &write, fmt)
        }
        LedgerCommand::Reindex => {
            let repo = open(repo)?;
            recover_if_needed(&repo, &crate::env::context())?;
            let report = repo.ledger().reindex()?;
            if fmt == Format::Human && report.problem.is_some() {
                // A chain problem is an error: stderr, exit 1.
                eprint!("{}", report.human());
            } else {
                output::emit(&report, fmt)?;
            }
            Ok(output::ExitStatus::findings_if(report.problem.is_some()).into())
        }
    }
}

/// The ledger, for the commands that only read it (`verify`, `log`, `show`).
/// They need no policy: with `.warden/policy.yaml` unreadable (broken, a
/// link, missing) in a clone whose warden state and ledger are there, they
/// still read the chains and say on stderr why writers are refused, so a
/// problem that is not the ledger's does not fail the `warden-ledger-verify`
/// pre-commit hook. Recovering an interrupted run needs the policy: that is
/// left to the next command that can read it.
fn read_only_ledger(repo: Option<PathBuf>) -> Result<Ledger, CliError> {
    let root = super::root(repo)?;
    let e = match Repo::open(&root) {
        Ok(repo) => {
            recover_if_needed(&repo, &crate::env::context())?;
            return Ok(repo.ledger());
        }
        Err(e) => e,
    };
    let layout = Layout::new(&root);
    let initialised = layout.writer_file().is_file() && layout.ledger_dir().is_dir();
    let policy = warden_core::policy::POLICY_FILE;
    match &e {
        Error::Invalid { file, .. } if initialised && file == policy => {
            super::warn_blocked(&e);
        }
        Error::NotInitialised { .. } if initialised && !layout.policy().exists() => {
            // `exists` follows a link: a dangling one is there, pointing nowhere.
            let what = if std::fs::symlink_metadata(layout.policy()).is_ok() {
                "is a symbolic link to nothing"
            } else {
                "is missing"
            };
            eprintln!("warning: writers are refused: {policy} {what}");
            eprintln!(
                "hint: restore it (`git checkout -- {policy}`), or run `warden init` to write the default policy"
            );
        }
        _ => return Err(e.into()),
    }
    eprintln!(
        "warning: the ledger was read without the policy, which reading it does not need; an interrupted run, if any, is recovered once the policy can be read"
    );
    Ok(layout.ledger())
}

/// `warden ledger accept --reason TEXT`: the explicit, ledgered way past a
/// refused ledger tip (see `Ledger::accept`).
fn accept(
    repo: &warden_core::Repo,
    reason: &str,
    write: &super::WriteArgs,
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
    // The mutation convention: a dry run shows what would be accepted; a
    // person at a terminal confirms it; without a terminal --yes is needed.
    let preview = Accepted::dry_run(repo.ledger().to_accept()?.0);
    if write.dry_run {
        output::emit(&preview, fmt)?;
        return Ok(ExitCode::SUCCESS);
    }
    if !write.yes && !super::is_json(fmt) && crate::env::stdin_is_tty() {
        eprint!("{}", preview.lines("would accept"));
    }
    if !super::confirm(write, "accept this and re-record the ledger heads")? {
        return Ok(crate::output::nothing_written(crate::output::NotWritten::Declined, fmt).into());
    }
    let ctx = crate::env::context();
    let mut s = repo.repair_session(&ctx, !write.no_wait, &mut |holder| {
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
    output::emit(&Accepted::new(accepted, &entry), fmt)?;
    Ok(ExitCode::SUCCESS)
}
