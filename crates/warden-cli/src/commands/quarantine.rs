//! `warden quarantine list [--reason R]`: the quarantine lane as one list.

use super::{is_json, open};
use crate::output::Format;
use crate::output::{self, CliError};
use std::path::PathBuf;
use std::process::ExitCode;
use warden_core::text::shown;

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
                .map(|r| format!(" with reason {}", shown(r)))
                .unwrap_or_default()
        );
    }
    // Paths and reasons came from inbox file names and proposals: shown
    // escaped, so none acts on the terminal or forges a line.
    for f in &list.files {
        let reason = shown(&f.reason).to_string();
        println!(
            "{}  {:<12} {}  ({}{})",
            shown(&f.run),
            reason,
            shown(&f.path),
            shown(&f.stored),
            if f.present { "" } else { ", no longer there" }
        );
    }
    Ok(ExitCode::SUCCESS)
}
