//! `warden quarantine list [--reason R]`: the quarantine lane as one list.

use super::{is_json, open};
use crate::output::Format;
use crate::output::{self, CliError};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
#[command(defer = true)]
pub enum QuarantineCommand {
    /// Every quarantined file, oldest run first (the seed's QUARANTINE_UNCLASSIFIED/ is `--reason unclassified`).
    List {
        /// Only this reason, e.g. unclassified, ambiguous, duplicate, superseded.
        #[arg(long)]
        reason: Option<String>,
    },
}

pub fn run(
    repo: Option<PathBuf>,
    cmd: &QuarantineCommand,
    fmt: Format,
) -> Result<ExitCode, CliError> {
    let QuarantineCommand::List { reason } = cmd;
    let repo = open(repo)?;
    let list = warden_classify::quarantine::list(repo.root(), reason.as_deref())?;
    if is_json(fmt) {
        output::json(&list)?;
        return Ok(ExitCode::SUCCESS);
    }
    if list.files.is_empty() {
        println!(
            "the quarantine lane holds no file{}",
            reason
                .as_ref()
                .map(|r| format!(" with reason {r}"))
                .unwrap_or_default()
        );
    }
    for f in &list.files {
        println!(
            "{}  {:<12} {}  ({}{})",
            f.run,
            f.reason,
            f.path,
            f.stored,
            if f.present { "" } else { ", no longer there" }
        );
    }
    Ok(ExitCode::SUCCESS)
}
