//! `warden completions SHELL`: a completion script from the clap definitions.

use crate::output::CliError;
use clap::Command;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell.
    pub shell: clap_complete::Shell,
}

/// `cmd` is warden's whole command line (`Cli::command()`).
pub fn run(mut cmd: Command, shell: clap_complete::Shell) -> Result<ExitCode, CliError> {
    cmd.build();
    complete_help_tree(&mut cmd);
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "warden", &mut out);
    crate::output::raw(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// Every subcommand enum is `#[command(defer = true)]`: clap adds a
/// subcommand's own subcommands when it builds that subcommand, after its
/// parent copied its tree under `help` (what `warden help <TAB>` completes).
/// Copy the missing levels (`warden help bridge <TAB>`) the way clap does.
fn complete_help_tree(cmd: &mut Command) {
    let subs: Vec<Command> = cmd
        .get_subcommands()
        .filter(|s| s.get_name() != "help")
        .cloned()
        .collect();
    let Some(help) = cmd.find_subcommand_mut("help") else {
        return;
    };
    let help_bin = help.get_bin_name().unwrap_or("warden help").to_string();
    for sub in subs {
        let Some(copy) = help.find_subcommand_mut(sub.get_name()) else {
            continue;
        };
        if copy.has_subcommands() || !sub.has_subcommands() {
            continue;
        }
        let bin = format!("{help_bin} {}", sub.get_name());
        let children: Vec<Command> = sub
            .get_subcommands()
            .filter(|c| c.get_name() != "help")
            .map(|c| help_copy(c, &bin))
            .collect();
        *copy = std::mem::take(copy).subcommands(children);
    }
}

/// A subcommand as clap copies it under `help`: name, about, visibility and
/// its subcommands, no arguments.
fn help_copy(cmd: &Command, parent_bin: &str) -> Command {
    let bin = format!("{parent_bin} {}", cmd.get_name());
    let mut copy = Command::default()
        .name(cmd.get_name().to_string())
        .bin_name(bin.clone())
        .hide(cmd.is_hide_set())
        .disable_help_flag(true)
        .disable_version_flag(true)
        .disable_help_subcommand(true)
        .subcommands(
            cmd.get_subcommands()
                .filter(|c| c.get_name() != "help")
                .map(|c| help_copy(c, &bin)),
        );
    if let Some(about) = cmd.get_about() {
        copy = copy.about(about.clone());
    }
    copy
}
