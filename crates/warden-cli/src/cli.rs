//! Argument definitions (clap derive). `warden <noun> <verb>`; `--repo` and
//! `--format` are global.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "warden",
    version,
    about = "A deterministic, auditable caretaker for git repositories",
    long_about = "warden applies every automated change to a repository as a policy-checked, atomic, \
                  ledgered and undoable run.\n\nExit codes: 0 ok, 1 findings or refused (nothing written), \
                  2 usage or input error, 3 internal error, 4 busy (another writer holds the lock)."
)]
pub struct Cli {
    /// The repository (default: discovered from the current directory).
    #[arg(long, global = true, value_name = "PATH")]
    pub repo: Option<PathBuf>,
    /// Output format for reports.
    #[arg(long, global = true, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set up warden in a git repository (idempotent).
    Init {
        /// Create the git repository first when there is none.
        #[arg(long)]
        git_init: bool,
    },
    /// Submit a proposal (JSON, `-` for stdin): plan, policy gate, atomic apply, ledger.
    Apply {
        /// The proposal file; `warden schema proposal` shows its format.
        file: PathBuf,
        #[command(flatten)]
        write: WriteArgs,
    },
    /// Undo a run: restore its before-state byte for byte, as a new run.
    Undo {
        /// Run id (or a unique prefix of at least 6 characters).
        run: String,
        /// When the files changed since, move the current versions to .quarantine/ first.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        write: WriteArgs,
    },
    /// List runs, oldest first.
    Runs,
    /// Inspect and verify the ledger.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Health: last success, failures, quarantine, lock holder, ledger integrity.
    Status,
    /// Print a published JSON Schema (no NAME: list them).
    Schema { name: Option<String> },
    /// List the lifecycle events and what the policy allows on each.
    Events,
    /// The signed-command bridge: verify, apply and publish signed commands (SPEC §10).
    Bridge(crate::commands::bridge::BridgeArgs),
    /// Walk through warden on a throwaway repository in a temp dir.
    Demo {
        /// Keep the temp repository and print its path.
        #[arg(long)]
        keep: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Check every chain; exit 1 naming the first bad entry.
    Verify,
    /// Print every entry, oldest first.
    Log,
    /// Print one run's entry.
    Show { run: String },
}

#[derive(Debug, Args)]
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
