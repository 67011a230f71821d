//! `warden fleet audit DIR… [--jobs N]`: audit many repositories in parallel;
//! one table (or `--format json`); progress on a terminal; exit 1 if any
//! repository needs attention.

use crate::cli::{FleetCommand, Format};
use crate::output::{self, CliError};
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use warden_sync::audit::AuditOptions;
use warden_sync::fleet::{self, FleetOptions};
use warden_sync::git::GitBackend;

/// Progress appears only when the work lasts longer than this (jj does the same).
const PROGRESS_DELAY: Duration = Duration::from_millis(300);

pub fn run(cmd: FleetCommand, fmt: Format) -> Result<ExitCode, CliError> {
    let FleetCommand::Audit {
        dirs,
        jobs,
        per_host,
        no_fetch,
    } = cmd;
    let git = crate::env::git();
    git.check_version()?;
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
    let tty = crate::env::stderr_is_tty();
    let started = Instant::now();
    let progress = |done: usize, total: usize| {
        if tty && started.elapsed() >= PROGRESS_DELAY {
            let mut e = std::io::stderr().lock();
            let _ = write!(e, "\rfleet audit: {done}/{total} repositories");
            let _ = e.flush();
        }
    };
    let report = fleet::audit_fleet(&git, &repos, &opts, &progress);
    if tty && started.elapsed() >= PROGRESS_DELAY {
        // Clear the progress line without escape codes.
        eprint!("\r{:60}\r", "");
    }
    output::emit(&report, fmt)?;
    Ok(if report.needing_attention > 0 {
        output::ExitStatus::Findings.into()
    } else {
        ExitCode::SUCCESS
    })
}
