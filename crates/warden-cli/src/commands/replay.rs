//! `warden replay RUN`: re-derive a dispatch's proposals and compare (G7).
//! Exit 0 when every proposal is byte-identical, 1 (with a diff) when not.
//! Read-only: the replay is kept in `.runs/` and the local history
//! (`warden history`), never in the ledger.

use super::{open, session};
use crate::output::Format;
use crate::output::{self, CliError};
use std::path::PathBuf;
use std::process::ExitCode;
use warden_plugin::runtime::{self, DispatchOptions};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The run id of a `warden run` (or a unique prefix).
    pub run: String,
    #[arg(long)]
    pub no_wait: bool,
}

pub fn run(
    repo: Option<PathBuf>,
    run: &str,
    no_wait: bool,
    fmt: Format,
) -> Result<ExitCode, CliError> {
    let repo = open(repo)?;
    let ctx = crate::env::context();
    let launcher = crate::env::launcher();
    let mut s = session(&repo, &ctx, no_wait)?;
    if warden_registry::replay::is_registry_run(&s, run)? {
        return super::registry::replay(&repo, &mut s, run, fmt);
    }
    let opts = DispatchOptions {
        launcher: &launcher,
        actor: super::actor(repo.root()),
    };
    let (report, record) = runtime::replay(&mut s, run, &opts)?;
    drop(s);
    // Read-only: kept in .runs/ and the local history, not the ledger.
    warden_core::history::keep(&repo, &ctx, record)?;
    output::emit(&report, fmt)?;
    Ok(if report.identical {
        ExitCode::SUCCESS
    } else {
        output::ExitStatus::Findings.into()
    })
}
