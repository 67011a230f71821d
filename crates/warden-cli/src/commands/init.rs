//! `warden init [--git-init]`

use crate::output::Format;
use crate::output::{self, CliError};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Create the git repository first when there is none.
    #[arg(long)]
    pub git_init: bool,
}

pub fn run(repo: Option<PathBuf>, git_init: bool, fmt: Format) -> Result<ExitCode, CliError> {
    let ctx = crate::env::context();
    let start = match repo {
        Some(p) => p,
        None => std::env::current_dir().map_err(|e| {
            CliError::usage(format!("cannot read the current directory: {e}"), None)
        })?,
    };
    let root = match warden_core::repo::discover(&start) {
        Ok(r) => r,
        Err(warden_core::Error::NotARepo { .. }) if git_init => {
            crate::env::git()
                .at(&start)
                .local_timeout(std::time::Duration::from_secs(60))
                .init()
                .map_err(|e| {
                    let hint = (e.kind == warden_core::git::ErrorKind::Missing)
                        .then(|| "install git".to_string());
                    CliError::usage(format!("`git init {}` failed: {e}", start.display()), hint)
                })?;
            warden_core::repo::discover(&start)?
        }
        Err(e) => return Err(e.into()),
    };
    let report = warden_core::repo::init(&root, &ctx)?;
    output::emit(&report, fmt)?;
    Ok(ExitCode::SUCCESS)
}
