//! `warden hook install` and `warden hook pre-commit` (what the installed
//! hook runs): the PreCommit event for the staged files.

use super::WriteArgs;
use super::root;
use crate::output::Format;
use crate::output::{self, CliError};
use std::path::PathBuf;
use std::process::ExitCode;
use warden_plugin::hook;

#[derive(Debug, clap::Subcommand)]
#[command(defer = true)]
pub enum HookCommand {
    /// Install the git pre-commit hook that runs `warden run PreCommit --yes`.
    ///
    /// Refuses to replace a hook warden did not write (exit 1) unless `--force`
    /// is given; then the old hook is kept beside it as `pre-commit.warden-backup`.
    Install {
        /// Replace a pre-commit hook that warden did not write.
        #[arg(long)]
        force: bool,
    },
    /// What the installed hook runs: dispatch PreCommit with the staged paths
    /// (exit 1, stopping the commit, when a plugin faulted or changed files).
    PreCommit,
}

pub fn run(repo: Option<PathBuf>, cmd: HookCommand, fmt: Format) -> Result<ExitCode, CliError> {
    match cmd {
        HookCommand::Install { force } => install(repo, force, fmt),
        HookCommand::PreCommit => pre_commit(repo, fmt),
    }
}

fn install(repo: Option<PathBuf>, force: bool, fmt: Format) -> Result<ExitCode, CliError> {
    let root = root(repo)?;
    let exe = std::env::current_exe().map_err(|e| {
        CliError::Core(warden_core::Error::Internal(format!(
            "cannot tell where the warden binary is: {e}"
        )))
    })?;
    let done = hook::install(&root, &exe, force, &crate::env::child_env())?;
    let report = hook::InstallReport::new(&done, &exe);
    output::emit(&report, fmt)?;
    Ok(ExitCode::SUCCESS)
}

/// Dispatch PreCommit with the staged paths. A plugin's fault stops the
/// commit (exit 1); so does a change a plugin applied, which the user should
/// look at and stage before committing again (as pre-commit does).
fn pre_commit(repo: Option<PathBuf>, fmt: Format) -> Result<ExitCode, CliError> {
    let root = root(repo)?;
    // No enabled plugin handles PreCommit: nothing to dispatch, and nothing
    // recorded (a ledger line per commit would leave every commit's tree dirty).
    let opened = warden_core::Repo::open(&root)?;
    let plan = warden_plugin::preview::plan(&root, "PreCommit", 0, opened.policy.digest)?;
    if plan.plugins.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    // `git commit -a` or `git commit PATH` stage into a temporary index that
    // git names in GIT_INDEX_FILE for its hooks: list what that commit holds.
    let mut env = crate::env::child_env();
    if let Some(index) = crate::env::git_index_file() {
        env.push(("GIT_INDEX_FILE".into(), index));
    }
    let payload = hook::staged(&root, &env)?;
    let dir = tempfile::tempdir().map_err(|e| {
        CliError::Core(warden_core::Error::Internal(format!(
            "cannot create a temporary directory: {e}"
        )))
    })?;
    let input = dir.path().join("precommit.json");
    std::fs::write(&input, payload.to_string()).map_err(|e| {
        CliError::Core(warden_core::Error::Io {
            op: "write",
            path: input.clone(),
            source: e,
        })
    })?;
    let write = WriteArgs {
        dry_run: false,
        // Installing the hook was the consent.
        yes: true,
        no_wait: false,
    };
    let (code, report) = super::run::dispatch(Some(root), "PreCommit", Some(&input), &write, fmt)?;
    if let Some(r) = report
        && r.plugins.iter().any(|p| p.applied_run.is_some())
    {
        eprintln!(
            "warden: PreCommit plugins changed files (run {}): look at them, `git add` what you keep, and commit again",
            r.run
        );
        return Ok(output::ExitStatus::Findings.into());
    }
    Ok(code)
}
