//! `warden undo RUN [--force] [--dry-run] [--yes] [--no-wait]`

use super::WriteArgs;
use super::{decide, open, session};
use crate::output::Format;
use crate::output::{self, CliError};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run id, or any unique prefix of it (`warden runs` shows the shortest).
    pub run: String,
    /// When the files changed since, move the current versions to .quarantine/ first.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub write: super::WriteArgs,
}

pub fn run(
    repo: Option<PathBuf>,
    run: &str,
    force: bool,
    write: &WriteArgs,
    fmt: Format,
) -> Result<ExitCode, CliError> {
    let repo = open(repo)?;
    let ctx = crate::env::context();
    let mut s = session(&repo, &ctx, write.no_wait)?;
    let actor = super::actor(repo.root());
    let plan = s.plan_undo(run, force, actor)?;
    if let Some(code) = decide(&plan, write, fmt, "undo this run")? {
        return Ok(code);
    }
    let outcome = s.apply(&plan)?;
    output::emit(
        &warden_core::render::run::Undone {
            undid: plan.undoes.as_deref(),
            entry: &outcome.entry,
        },
        fmt,
    )?;
    if outcome.validation_failure.is_some() {
        eprintln!("error: the validation command failed; the undo was rolled back");
        return Ok(output::ExitStatus::Findings.into());
    }
    Ok(ExitCode::SUCCESS)
}
