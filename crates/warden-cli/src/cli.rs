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
    /// `--format sarif` is offered only by the commands whose findings point
    /// at files; for any other, the error clap prints (exit 2).
    pub fn check_format(&self) -> Result<(), clap::Error> {
        let sarif_ok = matches!(
            self.command,
            Command::Plugin(PluginCommand::Validate { .. })
                | Command::Ids(IdsCommand::Check { .. })
                | Command::Check { .. }
        );
        if self.format == Format::Sarif && !sarif_ok {
            use clap::CommandFactory;
            return Err(Cli::command().error(
                clap::error::ErrorKind::InvalidValue,
                "invalid value 'sarif' for '--format <FORMAT>': SARIF is for findings that point at files; \
                 only `warden plugin validate`, `warden ids check` and `warden check` take it (use human or json here)",
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    /// SARIF 2.1.0, for commands whose findings point at files (`plugin validate`, `ids check`, `check`).
    Sarif,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
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
        /// Run id, or any unique prefix of it (`warden runs` shows the shortest).
        run: String,
        /// When the files changed since, move the current versions to .quarantine/ first.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        write: WriteArgs,
    },
    /// List runs, newest first, in an aligned table: the last 20 unless --limit
    /// or --all. Run ids are shown as their shortest unique prefix (every
    /// command accepts any unique prefix).
    Runs {
        /// Show the newest N runs.
        #[arg(long, default_value_t = 20, conflicts_with = "all")]
        limit: usize,
        /// Show every run (reads the whole ledger).
        #[arg(long)]
        all: bool,
    },
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
    Schema { name: Option<String> },
    /// List the lifecycle events and what the policy allows on each.
    Events,
    /// Plugins: scaffold, regenerate, validate, enable, test.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Dispatch a lifecycle event to the enabled plugins; their proposals go through the policy gate.
    ///
    /// `--dry-run` lists the plugins that would run, in order, and writes
    /// nothing; on a terminal warden asks first, without one `--yes` is needed.
    Run {
        /// The event (`warden events` lists them).
        event: String,
        /// The event payload: one JSON object, an array of them (a batch), or `-` for stdin. Default: an empty batch.
        #[arg(long, value_name = "FILE")]
        input: Option<PathBuf>,
        #[command(flatten)]
        write: WriteArgs,
    },
    /// Re-run the plugins of a `warden run` on its recorded input; exit 1 when a proposal differs.
    Replay {
        /// The run id of a `warden run` (or a unique prefix).
        run: String,
        #[arg(long)]
        no_wait: bool,
    },
    /// Identity: ID cards, the id log and the generated id registry.
    #[command(subcommand)]
    Ids(IdsCommand),
    /// The plugin sandbox helper (internal): restrict, report, exec.
    #[command(name = "__sandbox", hide = true)]
    Sandbox {
        #[arg(long)]
        scratch: PathBuf,
        /// Refuse to start the plugin when the sandbox is not enforced.
        #[arg(long)]
        require: bool,
        /// Also refuse unless this isolation layer is enforced (filesystem,
        /// processes, signals, metadata, privileges); repeatable.
        #[arg(long = "require-layer", value_name = "LAYER")]
        require_layer: Vec<String>,
        /// A directory the plugin must not change in any way (the repository):
        /// mounted read-only in its namespace; repeatable.
        #[arg(long, value_name = "DIR")]
        protect: Vec<PathBuf>,
        /// Only report the level.
        #[arg(long)]
        probe: bool,
        /// Internal: the second stage, PID 1 of the new namespaces.
        #[arg(long, hide = true)]
        stage2: bool,
        #[arg(last = true)]
        argv: Vec<String>,
    },
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
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout: warden's, or one subcommand's.
    ///
    /// For example `warden man | man -l -` or `warden man sync > warden-sync.1`.
    Man {
        /// A subcommand (`sync`, `plugin`, ...); nested ones separated by spaces, e.g. `sync audit`.
        subcommand: Vec<String>,
    },
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
    Demo {
        /// Keep the temp repository and print its path.
        #[arg(long)]
        keep: bool,
    },
    /// Check the meta contracts (SPEC §8): every README, document and test a
    /// meta.yaml declares, against the repository.
    ///
    /// Writes meta-gaps.yaml at the root when there are gaps and removes it when
    /// there are none. Formats: human, json (warden.check/v1), sarif.
    /// Exit codes: 0 clean, 1 gaps (or --run-tests failed), 2 usage or config error.
    Check {
        /// A previous meta-gaps.yaml or `check --format json` report: its gaps are
        /// reported as baselined and do not fail the check.
        #[arg(long, value_name = "FILE")]
        baseline: Option<PathBuf>,
        /// After a clean pass, run `tests.command` from .warden/contracts.yaml.
        #[arg(long)]
        run_tests: bool,
        /// Unknown meta types fail the check.
        #[arg(long)]
        strict: bool,
        /// Do not write or remove meta-gaps.yaml.
        #[arg(long)]
        no_report: bool,
        /// A coverage report (Cobertura XML, coverage.py JSON or lcov) to check
        /// the declared thresholds against; KIND is unit (default),
        /// integration or e2e. Repeatable. warden does not run the tests.
        #[arg(long, value_name = "[KIND=]FILE")]
        coverage: Vec<String>,
    },
    /// Meta contracts: annotated templates.
    #[command(subcommand)]
    Contracts(ContractsCommand),
    /// Generators from the meta contracts: documents and test skeletons.
    #[command(subcommand)]
    Gen(GenCommand),
    /// Apply the generators for every fixable gap of `warden check` as one
    /// undoable run; each fix writes only its gap's target file.
    Fix {
        #[command(flatten)]
        write: WriteArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum ContractsCommand {
    /// Write an annotated meta template (every field explained).
    New {
        /// The meta type (see --list); the seed's l9_* names are accepted.
        #[arg(value_name = "TYPE", required_unless_present = "list")]
        meta_type: Option<String>,
        /// Where to write it (default: the type's usual place); a folder gets the usual file name.
        path: Option<PathBuf>,
        /// List the meta types.
        #[arg(long)]
        list: bool,
        /// Print the template instead of writing it.
        #[arg(long)]
        stdout: bool,
        #[command(flatten)]
        write: WriteArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum GenCommand {
    /// Render every document from its meta: a missing one whole, a managed one
    /// only inside its AUTO fences. One undoable run.
    Docs {
        /// Write nothing: print the diff and exit 1 when anything would change.
        #[arg(long)]
        check: bool,
        /// Convert this hand-written document into a managed one instead:
        /// fences for the sections its meta manages, every hand-written byte
        /// kept outside them. One undoable run.
        #[arg(long, value_name = "PATH", conflicts_with = "check")]
        adopt: Option<PathBuf>,
        #[command(flatten)]
        write: WriteArgs,
    },
    /// Write pending test skeletons for every must_cover behaviour that has
    /// no test yet. One undoable run.
    Tests {
        #[command(flatten)]
        write: WriteArgs,
    },
}

#[derive(Debug, Subcommand)]
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

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Check every chain; exit 1 naming the first bad entry.
    Verify,
    /// Print every entry, oldest first.
    Log,
    /// Print one run's entry.
    Show { run: String },
    /// Rebuild the derived ledger index (.warden/state/ledger-index.json) from
    /// every chain; exit 1 naming the first bad entry.
    Reindex,
    /// After writers refused a cut or edited tip, a deleted chain or a broken heads
    /// file: re-record the heads from the chains as they are now, and ledger what was
    /// accepted. A chain broken inside cannot be accepted: restore it from git.
    Accept {
        /// Why the loss is accepted; recorded in the ledger entry.
        #[arg(long)]
        reason: String,
        /// Exit 4 instead of waiting when another writer holds the lock.
        #[arg(long)]
        no_wait: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Scaffold plugins/KEY from a new spec: every derived file, a working handler, tests, an ID card.
    New {
        key: String,
        /// The lifecycle event it handles (`warden events`).
        #[arg(long)]
        event: String,
        /// Handler language: python, sh, pwsh or rust.
        #[arg(long)]
        lang: String,
        /// Human-readable name (default: the key).
        #[arg(long)]
        name: Option<String>,
        /// One-line description.
        #[arg(long)]
        description: Option<String>,
        /// Actions it may propose, comma-separated (default: what the policy allows plugins on the event).
        #[arg(long, value_delimiter = ',')]
        actions: Option<Vec<String>>,
        #[command(flatten)]
        write: WriteArgs,
    },
    /// Regenerate every derived file from the spec and the policy (byte-identical when nothing changed).
    Gen {
        key: Option<String>,
        #[arg(long, conflicts_with = "key")]
        all: bool,
        #[command(flatten)]
        write: WriteArgs,
    },
    /// Run the full checklist; exit 1 on any finding.
    Validate {
        key: Option<String>,
        #[arg(long, conflicts_with = "key")]
        all: bool,
    },
    /// Enable a plugin that validates (pins its manifest in plugins/registry.json).
    Enable {
        key: String,
        #[command(flatten)]
        write: WriteArgs,
    },
    /// Disable a plugin.
    Disable {
        key: String,
        #[command(flatten)]
        write: WriteArgs,
    },
    /// List the plugins of this repository and their state.
    List,
    /// Run the health probes and every conformance example; exit 1 on any failure.
    Test { key: String },
}

#[derive(Debug, Subcommand)]
pub enum IdsCommand {
    /// Regenerate ids/registry.yaml from ids/cards/ (and record mints for cards added by hand).
    Build {
        #[command(flatten)]
        write: WriteArgs,
    },
    /// Check immutability, uniqueness and the one-artifact rule; exit 1 on any finding.
    Check {
        /// Compare against this git revision (cards unchanged, id log append-only).
        #[arg(long, value_name = "REV")]
        base: Option<String>,
    },
    /// Mint an ID card for an artifact.
    Mint {
        /// What the artifact is, e.g. plugin, module, document.
        kind: String,
        /// Its repository-relative path.
        artifact: String,
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        write: WriteArgs,
    },
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

/// `warden sync …`. Exit codes: 0 in sync / done, 1 needs attention
/// or refused (nothing written), 2 usage, 3 internal, 4 busy.
#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Fetch without merging, then report everything that differs from the
    /// remote; exit 0 when in sync, 1 when anything needs attention.
    ///
    /// Read-only: writes nothing git tracks. The report is kept in
    /// .runs/<RUN>/ and the local history (`warden history`).
    Audit {
        /// Fetch and compare tags with this remote (default: the current
        /// branch's upstream remote, else origin, else the only remote).
        #[arg(long, value_name = "NAME", conflicts_with = "all_remotes")]
        remote: Option<String>,
        /// Fetch every remote.
        #[arg(long)]
        all_remotes: bool,
        /// Do not fetch: compare with the remote-tracking refs as they are.
        #[arg(long, conflicts_with_all = ["remote", "all_remotes"])]
        no_fetch: bool,
        /// No effect: an audit is read-only and takes no lock (kept so scripts
        /// that pass it keep working).
        #[arg(long, hide = true)]
        no_wait: bool,
    },
    /// Create the git repository if there is none and link the remote once (idempotent).
    Init {
        /// The remote's URL, linked as origin.
        #[arg(long, value_name = "URL")]
        remote: Option<String>,
    },
    /// Build sync/<YYYYMMDD>-<RUN> from the local branch, its uncommitted work and
    /// the fetched upstream, without touching the working tree, index, stash or branch.
    Reconcile {
        /// Reconcile this local branch instead of the checked-out one (repeatable);
        /// each gets its own run and sync branch.
        #[arg(long, value_name = "NAME", conflicts_with = "all")]
        branch: Vec<String>,
        /// Reconcile every local branch with an upstream that has commits the
        /// branch lacks (and the checked-out one when it has uncommitted work).
        #[arg(long)]
        all: bool,
        /// Do not fetch first.
        #[arg(long)]
        no_fetch: bool,
        /// Compute and report, create no branch, record nothing.
        #[arg(long)]
        dry_run: bool,
        /// Adopt right away when .warden/sync.yaml sets `auto_adopt: true` and
        /// nothing collided.
        #[arg(long)]
        adopt: bool,
        /// Exit 4 instead of waiting when another writer holds the lock.
        #[arg(long)]
        no_wait: bool,
    },
    /// Fast-forward the working branch to a reconcile run's sync branch, when
    /// nothing changed since that run.
    Adopt {
        /// The reconcile run id, or any unique prefix of it.
        run: String,
        #[command(flatten)]
        write: WriteArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum FleetCommand {
    /// Audit every repository under the given folders in parallel; exit 1 if any
    /// needs attention.
    Audit {
        /// Folders to search for repositories.
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<PathBuf>,
        /// Repositories audited at once.
        #[arg(long, short = 'j', default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
        jobs: u16,
        /// Fetches at once against one host.
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=16))]
        per_host: u16,
        /// Do not fetch.
        #[arg(long)]
        no_fetch: bool,
    },
}
