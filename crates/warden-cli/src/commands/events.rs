//! `warden events`

use crate::output::Format;
use crate::output::{self, CliError};
use std::path::PathBuf;
use std::process::ExitCode;

pub fn run(repo: Option<PathBuf>, fmt: Format) -> Result<ExitCode, CliError> {
    // Outside an initialised repository, show warden's defaults.
    let repo = super::open(repo).ok();
    let report = warden_core::status::EventsReport::new(repo.as_ref().map(|r| &r.policy));
    output::emit(&report, fmt)?;
    Ok(ExitCode::SUCCESS)
}
