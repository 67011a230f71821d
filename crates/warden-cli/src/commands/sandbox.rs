//! `warden __sandbox`: the plugin sandbox helper inside warden's own binary,
//! the fallback of the small `warden-sandbox` executable
//! (`src/bin/warden-sandbox.rs`). Both run `warden_isolate::helper::run`:
//! stage 1 enters new PID and mount namespaces and forks stage 2, PID 1 of
//! the new PID namespace, which mounts its own /proc, makes the protected
//! directories read-only, drops every privilege, applies Landlock, reports
//! the layers on stderr's first line, and runs the plugin as its child,
//! reaping every orphan. Without namespaces, one stage applies what it can
//! and execs the plugin. Either way a required layer that is not enforced
//! stops the plugin from starting (exit 125).

use crate::output::{self, CliError};
use std::path::PathBuf;
use std::process::ExitCode;
use warden_isolate::helper::{self, Entry, Request};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long)]
    pub scratch: PathBuf,
    /// The directory to enter before anything else (the plugin starts there).
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// Refuse to start the plugin when the sandbox is not enforced.
    #[arg(long)]
    pub require: bool,
    /// Also refuse unless this isolation layer is enforced (filesystem,
    /// processes, signals, metadata, privileges); repeatable.
    #[arg(long = "require-layer", value_name = "LAYER")]
    pub require_layer: Vec<String>,
    /// A directory the plugin must not change in any way (the repository):
    /// mounted read-only in its namespace; repeatable.
    #[arg(long, value_name = "DIR")]
    pub protect: Vec<PathBuf>,
    /// Only report the level.
    #[arg(long)]
    pub probe: bool,
    /// Internal: the second stage, PID 1 of the new namespaces.
    #[arg(long, hide = true)]
    stage2: bool,
    #[arg(last = true)]
    pub argv: Vec<String>,
}

pub fn run(args: &Args) -> Result<ExitCode, CliError> {
    let req = Request {
        scratch: args.scratch.clone(),
        cwd: args.cwd.clone(),
        require: args.require,
        require_layer: args.require_layer.clone(),
        protect: args.protect.clone(),
        probe: args.probe,
        stage2: args.stage2,
        argv: args.argv.clone(),
    };
    match helper::run(&req, Entry::Warden) {
        Ok(code) => Ok(output::ExitStatus::Child(code).into()),
        Err(u) => Err(CliError::usage(u.message, u.hint)),
    }
}
