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
            let done = warden_core::process::Cmd::new("git")
                .args(["init", "--quiet"])
                .arg(&start)
                .envs(crate::env::child_env())
                .stdout(warden_core::process::Sink::Null)
                .timeout(std::time::Duration::from_secs(60))
                .run()
                .map_err(|e| {
                    CliError::usage(
                        format!("cannot run git: {e}"),
                        Some("install git".to_string()),
                    )
                })?;
            if !done.success() {
                return Err(CliError::usage(
                    format!(
                        "`git init {}` failed ({}): {}",
                        start.display(),
                        done.describe(),
                        done.stderr_text()
                    ),
                    None,
                ));
            }
            warden_core::repo::discover(&start)?
        }
        Err(e) => return Err(e.into()),
    };
    let report = warden_core::repo::init(&root, &ctx)?;
    output::emit(&report, fmt)?;
    Ok(ExitCode::SUCCESS)
}
