//! `warden fleet audit DIR… [--jobs N]`: audit many repositories in parallel;
//! one table (or `--format json`); progress on a terminal; exit 1 if any
//! repository needs attention.

use crate::output::Format;
use crate::output::{self, CliError};
use std::path::PathBuf;
use std::process::ExitCode;
use warden_sync::audit::AuditOptions;
use warden_sync::fleet::{self, FleetOptions};

#[derive(Debug, clap::Subcommand)]
#[command(defer = true)]
pub enum FleetCommand {
    /// Audit every repository under the given folders in parallel; exit 1 if any
    /// needs attention.
    Audit {
        /// Folders to search for repositories.
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<PathBuf>,
        /// Repositories audited at once.
        #[arg(long, short = 'j', default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
        jobs: u16,
        /// Fetches at once against one host.
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=16))]
        per_host: u16,
        /// Do not fetch.
        #[arg(long)]
        no_fetch: bool,
    },
}

pub fn run(cmd: FleetCommand, fmt: Format) -> Result<ExitCode, CliError> {
    let FleetCommand::Audit {
        dirs,
        jobs,
        per_host,
        no_fetch,
    } = cmd;
    let git = crate::env::git();
    warden_sync::git::check_version(&git)?;
    let repos = fleet::discover(&dirs)?;
    if repos.is_empty() {
        return Err(CliError::usage(
            format!(
                "no git repository under {}",
                dirs.iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Some("give folders that contain repositories (a folder with .git)".to_string()),
        ));
    }
    let opts = FleetOptions {
        jobs: jobs as usize,
        per_host: per_host as usize,
        audit: AuditOptions {
            fetch: fleet::fetch_mode(no_fetch),
            fetch_timeout: super::sync::FETCH_TIMEOUT,
        },
    };
    let bar = crate::ui::Progress::steps("fleet audit", repos.len() as u64);
    let progress = |done: usize, _total: usize| bar.set(done as u64);
    let report = fleet::audit_fleet(&git, &repos, &opts, &progress);
    drop(bar);
    output::emit(&report, fmt)?;
    Ok(if report.needing_attention > 0 {
        output::ExitStatus::Findings.into()
    } else {
        ExitCode::SUCCESS
    })
}
