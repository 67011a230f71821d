//! One file per command (jj: `cli/src/commands/`).

mod apply;
pub mod bridge;
mod bridge_unit;
mod check;
pub mod classify;
mod completions;
mod contracts;
mod demo;
mod demo_bridge;
mod demo_classify;
mod demo_contracts;
mod demo_plugins;
mod demo_registry;
mod demo_sync;
mod events;
mod fix;
mod fleet;
mod gen_cmd;
mod history;
mod hook;
mod ids;
mod init;
mod ledger;
mod man;
pub mod modules;
mod plugin;
pub mod quarantine;
pub mod registry;
mod replay;
mod run;
mod runs;
mod sandbox;
pub mod schema;
mod status;
mod sync;
mod undo;
pub mod watch;
pub mod where_;

use crate::cli::{Cli, Command, Format, WriteArgs};
use crate::env;
use crate::output::CliError;
use std::path::PathBuf;
use std::process::ExitCode;
use warden_core::plan::{Noop, Plan};
use warden_core::{Context, Repo};

pub fn dispatch(cli: Cli) -> Result<ExitCode, CliError> {
    let fmt = cli.format;
    match cli.command {
        Command::Init { git_init } => init::run(cli.repo, git_init, fmt),
        Command::Apply { file, write } => apply::run(cli.repo, &file, &write, fmt),
        Command::Undo { run, force, write } => undo::run(cli.repo, &run, force, &write, fmt),
        Command::Runs { limit, all } => runs::run(cli.repo, (!all).then_some(limit), fmt),
        Command::History => history::run(cli.repo, fmt),
        Command::Completions { shell } => completions::run(shell),
        Command::Man { subcommand } => man::run(&subcommand),
        Command::Hook(cmd) => hook::run(cli.repo, cmd, fmt),
        Command::Ledger(cmd) => ledger::run(cli.repo, cmd, fmt),
        Command::Status => status::run(cli.repo, fmt),
        Command::Schema { name } => schema::run(name.as_deref(), fmt),
        Command::Events => events::run(cli.repo, fmt),
        Command::Sync(cmd) => sync::run(cli.repo, cmd, fmt),
        Command::Fleet(cmd) => fleet::run(cmd, fmt),
        Command::Demo { keep } => demo::run(keep),
        Command::Plugin(cmd) => plugin::run(cli.repo, cmd, fmt),
        Command::Run {
            event,
            input,
            write,
        } => run::run(cli.repo, &event, input.as_deref(), &write, fmt),
        Command::Replay { run, no_wait } => replay::run(cli.repo, &run, no_wait, fmt),
        Command::Ids(cmd) => ids::run(cli.repo, cmd, fmt),
        Command::Sandbox {
            scratch,
            require,
            require_layer,
            protect,
            probe,
            stage2,
            argv,
        } => sandbox::run(&sandbox::Args {
            scratch,
            require,
            require_layer,
            protect,
            probe,
            stage2,
            argv,
        }),
        Command::Bridge(args) => bridge::run(cli.repo, args, fmt),
        Command::Registry(args) => registry::run(cli.repo, args, fmt),
        Command::Check {
            baseline,
            run_tests,
            strict,
            no_report,
            coverage,
        } => check::run(
            cli.repo,
            &check::Args {
                baseline,
                run_tests,
                strict,
                no_report,
                coverage,
            },
            fmt,
        ),
        Command::Contracts(cmd) => contracts::run(cli.repo, cmd, fmt),
        Command::Gen(cmd) => gen_cmd::run(cli.repo, cmd, fmt),
        Command::Fix { write } => fix::run(cli.repo, &write, fmt),
        Command::Classify(args) => classify::run(cli.repo, &args, fmt),
        Command::Where(args) => where_::run(cli.repo, &args, fmt),
        Command::Quarantine(cmd) => quarantine::run(cli.repo, &cmd, fmt),
        Command::Modules(cmd) => modules::run(cli.repo, &cmd, fmt),
        Command::Watch(args) => watch::run(cli.repo, &args, fmt),
    }
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
    use std::fmt::Write;
    let c = &plan.counts;
    match &plan.noop {
        Some(Noop::AlreadyApplied { run }) => {
            return format!(
                "nothing to do: this proposal was already applied by run {run} and its result is in place\n"
            );
        }
        Some(Noop::NothingToChange) => {
            return "nothing to do: every action's effect is already present\n".to_string();
        }
        None => {}
    }
    let mut out = crate::ui::heading(&format!(
        "plan for run {} ({} {}): {} file(s): {} added, {} modified, {} deleted; +{} -{} lines",
        plan.run,
        plan.command,
        plan.event,
        c.files,
        c.added,
        c.modified,
        c.deleted,
        c.lines_added,
        c.lines_removed
    ));
    out.push('\n');
    for a in &plan.actions {
        let to =
            a.to.as_ref()
                .map(|t| format!(" -> {t}"))
                .unwrap_or_default();
        let why = a
            .reason
            .as_ref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        let _ = writeln!(out, "  {} {}{}{}", a.kind, a.path, to, why);
    }
    out.push('\n');
    out.push_str(&crate::ui::diff(&plan.diff));
    out
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
        crate::output::json(&plan.report())?;
        return Ok(Some(ExitCode::SUCCESS));
    }
    if !is_json(fmt) {
        print_plan(plan);
    }
    if plan.noop.is_some() || write.dry_run {
        if write.dry_run && !is_json(fmt) && plan.noop.is_none() {
            println!("dry run: nothing was written");
        }
        return Ok(Some(ExitCode::SUCCESS));
    }
    if !confirm(write, question)? {
        eprintln!("declined: nothing was written");
        return Ok(Some(crate::output::ExitStatus::Findings.into()));
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
/// when git knows it, the git identity (`alice (git: Alice <a@example.com>)`).
pub fn actor(root: &std::path::Path) -> warden_core::proposal::Source {
    use warden_sync::git::GitBackend;
    let user = env::os_user();
    let id = match env::git().identity(root) {
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
