//! One file per command (jj: `cli/src/commands/`).

pub mod apply;
pub mod bridge;
mod bridge_unit;
pub mod check;
pub mod classify;
pub mod completions;
pub mod contracts;
pub mod demo;
mod demo_bridge;
mod demo_classify;
mod demo_contracts;
mod demo_plugins;
mod demo_registry;
mod demo_sync;
pub mod events;
pub mod fix;
pub mod fleet;
pub mod gen_cmd;
pub mod history;
pub mod hook;
pub mod ids;
pub mod init;
pub mod ledger;
pub mod man;
pub mod modules;
pub mod plugin;
pub mod quarantine;
pub mod registry;
pub mod replay;
pub mod run;
pub mod runs;
pub mod sandbox;
pub mod schema;
pub mod status;
pub mod sync;
pub mod undo;
pub mod watch;
pub mod where_;

use crate::env;
use crate::output::CliError;
use crate::output::Format;
use crate::output::{NotWritten, nothing_written};
use std::path::PathBuf;
use std::process::ExitCode;
use warden_core::plan::Plan;
use warden_core::{Context, Repo};

#[derive(Debug, clap::Args)]
pub struct WriteArgs {
    /// Show the plan (diff and counts) and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Apply without asking (required when stdin is not a terminal).
    #[arg(long, short = 'y', alias = "auto")]
    pub yes: bool,
    /// Exit 4 instead of waiting when another writer holds the lock.
    #[arg(long)]
    pub no_wait: bool,
}

/// The repository root: `--repo` or discovered from the current directory.
pub fn root(repo: Option<PathBuf>) -> Result<PathBuf, CliError> {
    let start = match repo {
        Some(p) => p,
        None => std::env::current_dir().map_err(|e| {
            CliError::usage(format!("cannot read the current directory: {e}"), None)
        })?,
    };
    Ok(warden_core::repo::discover(&start)?)
}

pub fn open(repo: Option<PathBuf>) -> Result<Repo, CliError> {
    Ok(Repo::open(&root(repo)?)?)
}

/// Run recovery if an interrupted run waits for it and no writer is active, so
/// read-only commands report the repository as the next writer will see it.
pub fn recover_if_needed(repo: &Repo, ctx: &Context) -> Result<(), CliError> {
    if warden_core::engine::needs_recovery(repo)? {
        match repo.session(ctx, false, &mut |_| {}) {
            Ok(s) => report_recovered(&s.recovered),
            Err(warden_core::Error::Busy { .. }) => {}
            // A read-only command still reports what it can; writers refuse
            // with the same message.
            Err(e) => warn_blocked(&e),
        }
    }
    Ok(())
}

/// Say on stderr why writers are refused, with the way out.
pub fn warn_blocked(e: &warden_core::Error) {
    eprintln!("warning: writers are refused: {e}");
    if let Some(h) = e.hint() {
        eprintln!("hint: {h}");
    }
}

pub fn report_recovered(recovered: &[warden_core::engine::Recovered]) {
    for r in recovered {
        eprintln!(
            "warden: recovered interrupted run {}: {}{}",
            r.run,
            r.outcome.describe(),
            if r.preserved.is_empty() {
                String::new()
            } else {
                format!(" (kept {} in quarantine)", r.preserved.join(", "))
            }
        );
    }
}

/// Print a plan for a person (through the pager when it is long).
pub fn print_plan(plan: &Plan) {
    crate::ui::page(&render_plan(plan));
}

/// A plan as a person reads it: heading, actions, then the coloured diff.
pub fn render_plan(plan: &Plan) -> String {
    crate::output::human_safe(&warden_core::render::plan::PlanView(plan))
}

/// Decide whether to write: `--yes`, or ask on a terminal; refuse otherwise.
pub fn confirm(write: &WriteArgs, what: &str) -> Result<bool, CliError> {
    if write.yes {
        return Ok(true);
    }
    if !env::stdin_is_tty() {
        return Err(CliError::usage(
            format!("refusing to {what} without confirmation: stdin is not a terminal"),
            Some(
                "pass --yes to apply non-interactively, or --dry-run to only see the plan"
                    .to_string(),
            ),
        ));
    }
    eprint!("{what}? [y/N] ");
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| CliError::usage(format!("cannot read the answer: {e}"), None))?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "Yes"))
}

/// Show a plan and decide whether to apply it: `Some(code)` when the command
/// ends here (dry run, nothing to do, declined), `None` to go on and apply.
pub fn decide(
    plan: &Plan,
    write: &WriteArgs,
    fmt: Format,
    question: &str,
) -> Result<Option<ExitCode>, CliError> {
    if is_json(fmt) && (write.dry_run || plan.noop.is_some()) {
        crate::output::json(&warden_core::render::plan::PlanView(plan))?;
        return Ok(Some(ExitCode::SUCCESS));
    }
    if !is_json(fmt) {
        print_plan(plan);
    }
    if plan.noop.is_some() {
        return Ok(Some(ExitCode::SUCCESS));
    }
    if write.dry_run {
        return Ok(Some(nothing_written(NotWritten::DryRun(None), fmt).into()));
    }
    if !confirm(write, question)? {
        return Ok(Some(nothing_written(NotWritten::Declined, fmt).into()));
    }
    Ok(None)
}

/// Open a writer session, telling the user when it waits for the lock.
pub fn session<'a>(
    repo: &'a Repo,
    ctx: &'a Context,
    no_wait: bool,
) -> Result<warden_core::engine::Session<'a>, CliError> {
    let s = repo.session(ctx, !no_wait, &mut |holder| {
        crate::ui::note(&format!(
            "warden: waiting for the repository lock held by {holder}"
        ));
    })?;
    report_recovered(&s.recovered);
    Ok(s)
}

/// Who runs a command at this terminal, for the ledger: the OS user and,
/// when git knows it, the git identity (`alice (git: Alice <a@example.com>)`),
/// kept in the clone's state while nothing it depends on changes
/// (`Git::identity_cached`).
pub fn actor(root: &std::path::Path) -> warden_core::proposal::Source {
    let user = env::os_user();
    let cache = warden_core::repo::Layout::new(root)
        .state_dir()
        .join(warden_core::git::IDENTITY_CACHE);
    let id = match env::git().at(root).identity_cached(&cache) {
        Ok(Some(who)) => format!("{user} (git: {} <{}>)", who.name, who.email),
        _ => user,
    };
    warden_core::proposal::Source {
        kind: "person".into(),
        id,
    }
}

pub fn is_json(fmt: Format) -> bool {
    fmt == Format::Json
}
