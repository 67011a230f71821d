//! `warden apply FILE [--dry-run] [--yes] [--no-wait]`

use super::WriteArgs;
use super::{decide, open, session};
use crate::output::Format;
use crate::output::{self, CliError};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use warden_core::proposal::Proposal;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The proposal file, or `-` for stdin (at most 16 MiB); `warden schema proposal` shows its format.
    pub file: PathBuf,
    #[command(flatten)]
    pub write: super::WriteArgs,
}

pub fn run(
    repo: Option<PathBuf>,
    file: &Path,
    write: &WriteArgs,
    fmt: Format,
) -> Result<ExitCode, CliError> {
    let (bytes, label) =
        crate::input::read(file, true, &crate::input::PROPOSAL, "read the proposal")?;
    // Parse before touching the repository: bad input never takes the lock.
    let (proposal, digest) = Proposal::parse_bytes(&bytes, &label)?;
    let repo = open(repo)?;
    let ctx = crate::env::context();
    let mut s = session(&repo, &ctx, write.no_wait)?;
    let plan = s.plan(&proposal, digest, &label)?;
    if let Some(code) = decide(&plan, write, fmt, "apply this plan")? {
        return Ok(code);
    }
    let outcome = s.apply(&plan)?;
    let e = &outcome.entry;
    output::emit(&warden_core::render::run::Applied(e), fmt)?;
    if let Some(out) = &outcome.validation_failure {
        eprintln!(
            "error: the validation command failed; run {} was rolled back and nothing changed",
            e.run
        );
        eprintln!("{}", out.trim_end());
        eprintln!("hint: the full output is in .runs/{}/validation.log", e.run);
        return Ok(output::ExitStatus::Findings.into());
    }
    Ok(ExitCode::SUCCESS)
}
