//! `warden apply FILE [--dry-run] [--yes] [--no-wait]`

use super::WriteArgs;
use super::{decide, open, session};
use crate::output::Format;
use crate::output::{self, CliError};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use warden_core::proposal::Proposal;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The proposal file; `warden schema proposal` shows its format.
    pub file: PathBuf,
    #[command(flatten)]
    pub write: super::WriteArgs,
}

fn read_input(file: &Path) -> Result<(Vec<u8>, String), CliError> {
    if file == Path::new("-") {
        let mut b = Vec::new();
        std::io::stdin().read_to_end(&mut b).map_err(|e| {
            CliError::usage(format!("cannot read the proposal from stdin: {e}"), None)
        })?;
        return Ok((b, "(stdin)".into()));
    }
    let label = file.display().to_string();
    let bytes = std::fs::read(file)
        .map_err(|e| warden_core::Error::user_path("read the proposal", file, e))?;
    Ok((bytes, label))
}

pub fn run(
    repo: Option<PathBuf>,
    file: &Path,
    write: &WriteArgs,
    fmt: Format,
) -> Result<ExitCode, CliError> {
    let (bytes, label) = read_input(file)?;
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
