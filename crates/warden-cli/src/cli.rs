//! The top of the command line (clap derive): the global options and the
//! `Command` enum, `warden <noun> <verb>`. Each command's own arguments live
//! in its file under `commands/`; this file only points at them.

use crate::commands::{
    contracts::ContractsCommand, fleet::FleetCommand, gen_cmd::GenCommand, hook::HookCommand,
    ids::IdsCommand, ledger::LedgerCommand, plugin::PluginCommand, sync::SyncCommand,
};
use crate::ui::ColorWhen;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

// `commands/bridge.rs` still names `crate::cli::Format`.
pub use crate::output::Format;

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
    /// Output format for reports (default: human).
    #[arg(long, global = true, value_enum)]
    pub format: Option<Format>,
    /// When to colour diffs and headings: auto (a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN")]
    pub color: ColorWhen,
    /// Print long output directly instead of through the pager ($PAGER, else less).
    #[arg(long, global = true)]
    pub no_pager: bool,
    /// Say less: no progress and no notes on stderr (errors and warnings stay).
    #[arg(long, short = 'q', global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Say more: full run ids instead of their shortest unique prefix.
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The output format: `--format`, else human. (Whether it was given at
    /// all is `self.format`: `registry maintain` streams JSON lines without
    /// a terminal unless `--format human` was asked for.)
    pub fn format(&self) -> Format {
        self.format.unwrap_or(Format::Human)
    }

    /// `--format sarif` is offered only by the commands whose findings point
    /// at files; for any other, the error clap prints (exit 2).
    pub fn check_format(&self) -> Result<(), clap::Error> {
        let sarif_ok = matches!(
            self.command,
            Command::Plugin(PluginCommand::Validate { .. })
                | Command::Ids(IdsCommand::Check { .. })
                | Command::Check(_)
        ) || matches!(&self.command, Command::Registry(r)
            if matches!(r.command, crate::commands::registry::RegistryCommand::Validate));
        if self.format == Some(Format::Sarif) && !sarif_ok {
            use clap::CommandFactory;
            return Err(Cli::command().error(
                clap::error::ErrorKind::InvalidValue,
                "invalid value 'sarif' for '--format <FORMAT>': SARIF is for findings that point at files; \
                 only `warden plugin validate`, `warden ids check`, `warden check` and `warden registry validate` take it (use human or json here)",
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Set up warden in a git repository (idempotent).
    Init(crate::commands::init::Args),
    /// Submit a proposal (JSON, `-` for stdin): plan, policy gate, atomic apply, ledger.
    Apply(crate::commands::apply::Args),
    /// Undo a run: restore its before-state byte for byte, as a new run.
    Undo(crate::commands::undo::Args),
    /// List runs, newest first, in an aligned table: the last 20 unless --limit
    /// or --all. Run ids are shown as their shortest unique prefix (every
    /// command accepts any unique prefix).
    Runs(crate::commands::runs::Args),
    /// The ledger's runs and this clone's local history of read-only reports
    /// (audits, replays), oldest first. The local history is not tracked by git.
    History,
    /// Inspect and verify the ledger.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Health: last success, failures, quarantine, lock holder, ledger integrity,
    /// and each plugin isolation layer on this kernel.
    ///
    /// Exits 1 when a layer the policy requires (plugins.require_isolation) is
    /// not enforced here.
    Status,
    /// Print a published JSON Schema (no NAME: list them).
    Schema(crate::commands::schema::Args),
    /// List the lifecycle events and what the policy allows on each.
    Events,
    /// Plugins: scaffold, regenerate, validate, enable, test.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Dispatch a lifecycle event to the enabled plugins; their proposals go through the policy gate.
    ///
    /// `--dry-run` lists the plugins that would run, in order, and writes
    /// nothing; on a terminal warden asks first, without one `--yes` is needed.
    Run(crate::commands::run::Args),
    /// Re-run the plugins of a `warden run` on its recorded input; exit 1 when a proposal differs.
    Replay(crate::commands::replay::Args),
    /// Identity: ID cards, the id log and the generated id registry.
    #[command(subcommand)]
    Ids(IdsCommand),
    /// The plugin sandbox helper (internal): restrict, report, exec.
    #[command(name = "__sandbox", hide = true)]
    Sandbox(crate::commands::sandbox::Args),
    /// The sync guardian: what differs from the remote, and a safe lane to reconcile.
    ///
    /// Exit codes: 0 in sync or done; 1 needs attention (audit), conflicts
    /// quarantined (reconcile) or refused with nothing written (the policy does
    /// not allow create_branch, adopt, init);
    /// 2 usage or input error (also: git missing or older than 2.38);
    /// 3 internal error; 4 busy (another writer holds the lock).
    #[command(subcommand)]
    Sync(SyncCommand),
    /// Many repositories at once.
    #[command(subcommand)]
    Fleet(FleetCommand),
    /// The signed-command bridge: verify, apply and publish signed commands.
    Bridge(crate::commands::bridge::BridgeArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout.
    ///
    /// For example `warden completions bash > ~/.local/share/bash-completion/completions/warden`.
    Completions(crate::commands::completions::Args),
    /// Print the man page (roff) on stdout: warden's, or one subcommand's.
    ///
    /// For example `warden man | man -l -` or `warden man sync > warden-sync.1`.
    Man(crate::commands::man::Args),
    /// Git hooks that dispatch lifecycle events.
    #[command(subcommand)]
    Hook(HookCommand),
    /// The capability registry: init, validate, stats, update, maintain.
    Registry(crate::commands::registry::RegistryArgs),
    /// Place inbox files into their modules by .warden/modules.yaml, as one undoable run.
    ///
    /// Exit codes: 0 done (or nothing to do); 1 refused by the policy or
    /// declined (nothing written); 2 usage or input error; 3 internal; 4 busy.
    Classify(crate::commands::classify::ClassifyArgs),
    /// Placement history: every decision about a file (following its moves and
    /// digest), or every decision of an outcome since a time.
    Where(crate::commands::where_::WhereArgs),
    /// The quarantine lane.
    #[command(subcommand)]
    Quarantine(crate::commands::quarantine::QuarantineCommand),
    /// The module registry .warden/modules.yaml.
    #[command(subcommand)]
    Modules(crate::commands::modules::ModulesCommand),
    /// Watch the inbox and classify what settles there, unattended (one run per batch).
    Watch(crate::commands::watch::WatchArgs),
    /// Walk through warden on a throwaway repository in a temp dir.
    Demo(crate::commands::demo::Args),
    /// Check the meta contracts: every README, document and test a
    /// meta.yaml declares, against the repository.
    ///
    /// Writes meta-gaps.yaml at the root when there are gaps and removes it when
    /// there are none. Formats: human, json (warden.check/v1), sarif.
    /// Exit codes: 0 clean, 1 gaps (or --run-tests failed), 2 usage or config error.
    Check(crate::commands::check::Args),
    /// Meta contracts: annotated templates.
    #[command(subcommand)]
    Contracts(ContractsCommand),
    /// Generators from the meta contracts: documents and test skeletons.
    #[command(subcommand)]
    Gen(GenCommand),
    /// Apply the generators for every fixable gap of `warden check` as one
    /// undoable run; each fix writes only its gap's target file.
    Fix(crate::commands::fix::Args),
}
