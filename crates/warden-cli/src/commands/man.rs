//! `warden man [SUBCOMMAND…]`: the man page (roff) from the clap definitions,
//! warden's own or one subcommand's (`warden man sync audit` is
//! `warden-sync-audit(1)`).

use crate::output::CliError;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A subcommand (`sync`, `plugin`, ...); nested ones separated by spaces, e.g. `sync audit`.
    pub subcommand: Vec<String>,
}

/// `cmd` is warden's whole command line (`Cli::command()`).
pub fn run(mut cmd: clap::Command, path: &[String]) -> Result<ExitCode, CliError> {
    // Propagates the global flags to every subcommand, so each page lists them.
    cmd.build();
    let mut name = String::from("warden");
    for part in path {
        let Some(sub) = cmd
            .find_subcommand(part)
            .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        else {
            let known: Vec<String> = cmd
                .get_subcommands()
                .filter(|s| !s.is_hide_set() && s.get_name() != "help")
                .map(|s| s.get_name().to_string())
                .collect();
            return Err(CliError::usage(
                format!("`{name}` has no subcommand `{part}`"),
                Some(if known.is_empty() {
                    format!(
                        "`warden man {}` is the last page here",
                        path_before(path, part)
                    )
                } else {
                    format!("one of: {}", known.join(", "))
                }),
            ));
        };
        name = format!("{name}-{}", sub.get_name());
        cmd = sub.clone();
    }
    let cmd = cmd
        .name(name.clone())
        .bin_name(name.replace('-', " "))
        .version(env!("CARGO_PKG_VERSION"));
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut out)
        .map_err(|e| CliError::Core(warden_core::Error::Internal(e.to_string())))?;
    crate::output::raw(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn path_before(path: &[String], part: &str) -> String {
    path.iter()
        .take_while(|p| p.as_str() != part)
        .cloned()
        .collect::<Vec<_>>()
        .join(" ")
}
