//! From the parsed command line to the command that runs it.

use crate::cli::{Cli, Command};
use crate::commands::{
    apply, bridge, check, classify, completions, contracts, demo, events, fix, fleet, gen_cmd,
    history, hook, ids, init, ledger, man, modules, plugin, quarantine, registry, replay, run,
    runs, sandbox, schema, status, sync, undo, watch, where_,
};
use crate::output::CliError;
use clap::CommandFactory;
use std::process::ExitCode;

pub fn dispatch(cli: Cli) -> Result<ExitCode, CliError> {
    let fmt = cli.format();
    let format_given = cli.format;
    let repo = cli.repo;
    match cli.command {
        Command::Init(a) => init::run(repo, a.git_init, fmt),
        Command::Apply(a) => apply::run(repo, &a.file, &a.write, fmt),
        Command::Undo(a) => undo::run(repo, &a.run, a.force, &a.write, fmt),
        Command::Runs(a) => runs::run(
            repo,
            (!a.all).then(|| usize::try_from(a.limit).unwrap_or(usize::MAX)),
            fmt,
        ),
        Command::History => history::run(repo, fmt),
        Command::Completions(a) => completions::run(Cli::command(), a.shell),
        Command::Man(a) => man::run(Cli::command(), &a.subcommand),
        Command::Hook(cmd) => hook::run(repo, cmd, fmt),
        Command::Ledger(cmd) => ledger::run(repo, cmd, fmt),
        Command::Status => status::run(repo, fmt),
        Command::Schema(a) => schema::run(a.name.as_deref(), fmt),
        Command::Events => events::run(repo, fmt),
        Command::Sync(cmd) => sync::run(repo, cmd, fmt),
        Command::Fleet(cmd) => fleet::run(cmd, fmt),
        Command::Demo(a) => demo::run(a.keep),
        Command::Plugin(cmd) => plugin::run(repo, cmd, fmt),
        Command::Run(a) => run::run(repo, &a.event, a.input.as_deref(), &a.write, fmt),
        Command::Replay(a) => replay::run(repo, &a.run, a.no_wait, fmt),
        Command::Ids(cmd) => ids::run(repo, cmd, fmt),
        Command::Sandbox(a) => sandbox::run(&a),
        Command::Bridge(args) => bridge::run(repo, args, fmt),
        Command::Registry(args) => registry::run(repo, args, format_given),
        Command::Check(a) => check::run(repo, &a, fmt),
        Command::Contracts(cmd) => contracts::run(repo, cmd, fmt),
        Command::Gen(cmd) => gen_cmd::run(repo, cmd, fmt),
        Command::Fix(a) => fix::run(repo, &a.write, fmt),
        Command::Classify(args) => classify::run(repo, &args, fmt),
        Command::Where(args) => where_::run(repo, &args, fmt),
        Command::Quarantine(cmd) => quarantine::run(repo, &cmd, fmt),
        Command::Modules(cmd) => modules::run(repo, &cmd, fmt),
        Command::Watch(args) => watch::run(repo, &args, fmt),
    }
}
