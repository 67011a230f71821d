//! `warden sync audit|init|reconcile|adopt`. The logic lives in
//! `warden-sync`; this file parses nothing, only wires the backend, the
//! session and the ledger together and prints.

use super::WriteArgs;
use crate::output::Format;
use crate::output::{self, CliError};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use warden_core::engine::Session;
use warden_core::events::ActionKind;
use warden_core::proposal::{Proposal, Source};
use warden_core::{Context, Error, Repo, Result};
use warden_plugin::runtime::{self, DispatchOptions, Launcher, PluginRecord, ProposalSink, Taken};
use warden_plugin::sandbox::{EXIT_EXEC_FAILED, EXIT_UNENFORCED};
use warden_sync::audit::{self, AuditOptions, FetchMode, Ungated};
use warden_sync::config::SyncConfig;
use warden_sync::git::Git;
use warden_sync::hooks::{
    self, Answer, Dispatched, GeneratorLauncher, MergeConflictHook, Pending, PluginFault,
};
use warden_sync::reconcile::{self, Outcome, ReconcileOptions};
use warden_sync::{adopt, record, render, select};

/// `warden sync …`. Exit codes: 0 in sync / done, 1 needs attention
/// or refused (nothing written), 2 usage, 3 internal, 4 busy.
#[derive(Debug, clap::Subcommand)]
#[command(defer = true)]
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

pub const FETCH_TIMEOUT: Duration = Duration::from_secs(120);

pub fn run(repo: Option<PathBuf>, cmd: SyncCommand, fmt: Format) -> Result<ExitCode, CliError> {
    let git = crate::env::git();
    warden_sync::git::check_version(&git)?;
    let start = match repo {
        Some(p) => p,
        None => std::env::current_dir().map_err(|e| {
            CliError::usage(format!("cannot read the current directory: {e}"), None)
        })?,
    };
    let ctx = crate::env::context();
    match cmd {
        SyncCommand::Audit {
            remote,
            all_remotes,
            no_fetch,
            no_wait,
        } => {
            // clap refuses --no-fetch with --remote/--all-remotes.
            let fetch = match (remote, all_remotes, no_fetch) {
                (_, _, true) => FetchMode::Skip,
                (Some(r), _, false) => FetchMode::Remote(r),
                (None, true, false) => FetchMode::All,
                (None, false, false) => FetchMode::Default,
            };
            audit_cmd(&git, &ctx, &start, fetch, no_wait, fmt)
        }
        SyncCommand::Init { remote } => init_cmd(&git, &ctx, &start, remote.as_deref(), fmt),
        SyncCommand::Reconcile {
            branch,
            all,
            no_fetch,
            dry_run,
            adopt,
            no_wait,
        } => {
            let flags = ReconcileFlags {
                branches: branch,
                all,
                no_fetch,
                dry_run,
                adopt,
                no_wait,
            };
            reconcile_cmd(&git, &ctx, &start, &flags, fmt)
        }
        SyncCommand::Adopt { run, write } => adopt_cmd(&git, &ctx, &start, &run, &write, fmt),
    }
}

/// warden's repository at the git top level, or None when warden is not set up there.
fn warden_repo(root: &Path) -> Result<Option<Repo>, CliError> {
    match Repo::open(root) {
        Ok(r) => Ok(Some(r)),
        Err(Error::NotInitialised { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn audit_cmd(
    git: &Git,
    ctx: &Context,
    start: &Path,
    fetch: FetchMode,
    no_wait: bool,
    fmt: Format,
) -> Result<ExitCode, CliError> {
    let opts = AuditOptions {
        fetch,
        fetch_timeout: FETCH_TIMEOUT,
    };
    let mut report = {
        let _progress = crate::ui::Progress::start(match &opts.fetch {
            FetchMode::Skip => "auditing".to_string(),
            _ => "fetching and auditing".to_string(),
        });
        audit::audit(git, start, &opts, &Ungated)?
    };
    let root = PathBuf::from(&report.root);
    // Read-only: the report is kept in .runs/ and this clone's local history
    // (`warden history`), never in the tracked ledger, and takes no lock.
    let _ = no_wait;
    match warden_repo(&root)? {
        Some(repo) => {
            let run = ctx.ids.run_id().to_string();
            report.run = Some(run.clone());
            let actor = super::actor(&root);
            warden_core::history::keep(&repo, ctx, record::audit(&run, &report, actor))?;
        }
        None => crate::ui::note(&format!(
            "warden: not kept: warden is not initialised in {} (run `warden init` to keep audits in .runs/ and `warden history`)",
            root.display()
        )),
    }
    output::emit(&report, fmt)?;
    Ok(if report.summary.in_sync {
        ExitCode::SUCCESS
    } else {
        output::ExitStatus::Findings.into()
    })
}

fn init_cmd(
    git: &Git,
    ctx: &Context,
    start: &Path,
    url: Option<&str>,
    fmt: Format,
) -> Result<ExitCode, CliError> {
    let report = warden_sync::init::init_with_timeout(git, start, url, FETCH_TIMEOUT)?;
    let warden = warden_core::repo::init(Path::new(&report.root), ctx)?;
    output::emit(
        &warden_sync::init::SyncInitOutput {
            schema: warden_sync::init::SYNC_INIT_SCHEMA_ID.into(),
            git: report,
            warden,
        },
        fmt,
    )?;
    Ok(ExitCode::SUCCESS)
}

pub struct ReconcileFlags {
    pub branches: Vec<String>,
    pub all: bool,
    pub no_fetch: bool,
    pub dry_run: bool,
    pub adopt: bool,
    pub no_wait: bool,
}

/// MergeConflict, fired at the enabled plugins through the plugin runtime.
/// Their proposals go to [`SyncSink`], never to the working tree.
pub struct PluginHook<'s, 'r> {
    pub session: &'s mut Session<'r>,
    pub launcher: Launcher,
}

impl MergeConflictHook for PluginHook<'_, '_> {
    fn dispatch(&mut self, payload: serde_json::Value, pending: &[Pending]) -> Result<Dispatched> {
        // Fired (and ledgered) even when no plugin is enabled for it, so the
        // ledger shows the event happened and nobody answered.
        let mut sink = SyncSink {
            pending,
            answers: Vec::new(),
        };
        let opts = DispatchOptions {
            launcher: &self.launcher,
            actor: Source {
                kind: reconcile::BRANCH_SOURCE.into(),
                id: "sync-guardian".into(),
            },
        };
        let report = runtime::dispatch_to(
            self.session,
            "MergeConflict",
            vec![payload],
            &opts,
            &mut sink,
        )?;
        let faults = report
            .plugins
            .iter()
            .filter_map(|p| {
                p.fault.as_ref().map(|f| PluginFault {
                    plugin: p.plugin.clone(),
                    plugin_version: p.plugin_version.clone(),
                    message: format!(
                        "{}: {}",
                        serde_json::to_value(f.kind)
                            .ok()
                            .and_then(|v| v.as_str().map(String::from))
                            .unwrap_or_default(),
                        f.message
                    ),
                })
            })
            .collect();
        Ok(Dispatched {
            run: Some(report.run),
            answers: sink.answers,
            faults,
        })
    }
}

/// Takes MergeConflict proposals for the sync branch: the core's policy gate
/// first, then the sync guardian's own checks ([`hooks::verdicts`]).
struct SyncSink<'p> {
    pending: &'p [Pending],
    answers: Vec<Answer>,
}

impl ProposalSink for SyncSink<'_> {
    fn take(
        &mut self,
        session: &mut Session,
        plugin: &PluginRecord,
        proposal: &Proposal,
        _digest: warden_core::Digest,
        label: &str,
    ) -> Result<Taken> {
        if let Err(e) = warden_core::plan::gate(&session.repo.policy, proposal, label) {
            return Ok(Taken::Refused(e));
        }
        match hooks::verdicts(self.pending, proposal) {
            Err(e) => Ok(Taken::Refused(e)),
            Ok(v) => {
                self.answers
                    .extend(v.into_iter().map(|(path, verdict)| Answer {
                        path,
                        plugin: plugin.plugin.clone(),
                        plugin_version: plugin.plugin_version.clone(),
                        verdict,
                    }));
                Ok(Taken::Accepted)
            }
        }
    }

    /// Reconcile leaves the working tree alone: faulty output is kept with
    /// the dispatch run, under `.runs/`.
    fn quarantine_lane(&self) -> bool {
        false
    }
}

/// Generator commands under the plugins' Landlock sandbox (`warden
/// __sandbox`): they may write only beneath their temporary area.
/// `WARDEN_SANDBOX=off` runs them directly, which the policy must allow
/// (`plugins.run_unsandboxed`), as for plugins.
pub struct SandboxedGenerators {
    pub helper: Option<PathBuf>,
    pub require: bool,
}

impl SandboxedGenerators {
    pub fn new(launcher: &Launcher, policy: &warden_core::policy::Policy) -> Self {
        SandboxedGenerators {
            helper: launcher.helper.clone(),
            require: !policy.file.plugins.run_unsandboxed,
        }
    }
}

const UNSANDBOXED_REFUSED: &str = "the policy does not allow running without the kernel sandbox (plugins.run_unsandboxed: false in .warden/policy.yaml)";

impl GeneratorLauncher for SandboxedGenerators {
    fn command(
        &self,
        argv: &[String],
        writable: &Path,
    ) -> std::result::Result<warden_core::process::Cmd, String> {
        match &self.helper {
            Some(helper) => {
                let c = warden_core::process::Cmd::new(helper)
                    .arg("__sandbox")
                    .arg("--scratch")
                    .arg(writable);
                let c = if self.require { c.arg("--require") } else { c };
                Ok(c.arg("--").args(argv).envs(crate::env::child_env()))
            }
            None if self.require => Err(format!(
                "WARDEN_SANDBOX=off leaves no sandbox and {UNSANDBOXED_REFUSED}"
            )),
            None => Ok(hooks::Unsandboxed
                .command(argv, writable)?
                .envs(crate::env::child_env())),
        }
    }

    fn explain(&self, code: i32) -> Option<String> {
        self.helper.as_ref()?;
        match code {
            EXIT_UNENFORCED => Some(format!(
                "the kernel sandbox (Landlock) is not enforced here and {UNSANDBOXED_REFUSED}"
            )),
            EXIT_EXEC_FAILED => Some("the sandbox helper could not start it".into()),
            _ => None,
        }
    }
}

fn reconcile_cmd(
    git: &Git,
    ctx: &Context,
    start: &Path,
    flags: &ReconcileFlags,
    fmt: Format,
) -> Result<ExitCode, CliError> {
    let root = git.at(start).toplevel().map_err(warden_core::Error::from)?;
    let config = SyncConfig::load(&root)?;
    let repo = match warden_repo(&root)? {
        Some(r) => r,
        None => return Err(Error::NotInitialised { root }.into()),
    };
    // The policy decides before any fetch.
    repo.policy.require(
        reconcile::BRANCH_EVENT,
        reconcile::BRANCH_SOURCE,
        ActionKind::CreateBranch,
    )?;
    let mut session = super::session(&repo, ctx, flags.no_wait)?;
    let fetch_mode = if flags.no_fetch {
        FetchMode::Skip
    } else {
        FetchMode::Default
    };
    let many = flags.all || !flags.branches.is_empty();
    let selection = {
        let _progress = many.then(|| crate::ui::Progress::start("fetching"));
        reconcile::select_branches(
            git,
            &root,
            flags.all,
            &flags.branches,
            &fetch_mode,
            FETCH_TIMEOUT,
        )?
    };
    let launcher = crate::env::launcher();
    let each = EachBranch {
        git,
        root: &root,
        config: &config,
        policy: &repo.policy,
        generators: SandboxedGenerators::new(&launcher, &repo.policy),
        launcher,
        // One fetch for many branches was done already.
        fetch: if selection.fetched.is_some() {
            FetchMode::Skip
        } else {
            fetch_mode
        },
        dates: select::dates(ctx.clock.now()),
        dry_run: flags.dry_run,
    };
    let mut reports = Vec::new();
    for branch in selection.plan {
        let mut report = each.reconcile(&mut session, branch)?;
        if let Some(f) = &selection.fetched {
            report.fetch = f.clone();
        }
        if !flags.dry_run {
            session.record(record::reconcile(&report, super::actor(&root)))?;
        }
        reports.push(report);
    }
    if flags.adopt && !flags.dry_run {
        auto_adopt(git, &root, &config, &mut session, &mut reports)?;
    }
    drop(session);
    let quarantined = reports.iter().any(|r| r.outcome == Outcome::Quarantined);
    // `--adopt`'s outcome rides in the reconcile report it adopted.
    match reports.first() {
        Some(r) if !many => output::emit(r, fmt)?,
        _ => output::emit(
            &reconcile::ReconcileBatch {
                schema: reconcile::RECONCILE_BATCH_SCHEMA_ID.into(),
                runs: reports,
                skipped: selection.skipped,
            },
            fmt,
        )?,
    }
    Ok(output::ExitStatus::findings_if(quarantined).into())
}

/// What every branch of one `sync reconcile` shares.
struct EachBranch<'a> {
    git: &'a Git,
    root: &'a Path,
    config: &'a SyncConfig,
    policy: &'a warden_core::policy::Policy,
    launcher: Launcher,
    generators: SandboxedGenerators,
    fetch: FetchMode,
    /// The sync branch's day and the commits' time ([`select::dates`]).
    dates: (String, String),
    dry_run: bool,
}

impl EachBranch<'_> {
    /// Reconcile one branch (`None`: the checked-out one) as its own run.
    fn reconcile(
        &self,
        session: &mut Session,
        branch: Option<String>,
    ) -> Result<reconcile::ReconcileReport, CliError> {
        let opts = ReconcileOptions {
            fetch: self.fetch.clone(),
            fetch_timeout: FETCH_TIMEOUT,
            run: session.new_run_id(),
            date: self.dates.0.clone(),
            signature: select::signature(self.git, self.root, self.dates.1.clone()),
            dry_run: self.dry_run,
            branch,
        };
        let mut plugins = PluginHook {
            session,
            launcher: self.launcher.clone(),
        };
        let mut hooks = reconcile::Hooks {
            policy: self.policy,
            merge_conflict: &mut plugins,
            generators: &self.generators,
        };
        let _progress = crate::ui::Progress::start(match &opts.branch {
            Some(b) => format!("reconciling {b}"),
            None => "reconciling".to_string(),
        });
        Ok(reconcile::reconcile(
            self.git,
            self.root,
            self.config,
            &opts,
            &Ungated,
            &mut hooks,
        )?)
    }
}

/// `--adopt`: adopt the checked-out branch's reconcile when the sync config
/// allows it and nothing collided, recording the adopt as its own run; the
/// outcome goes into that reconcile's report (`adopt`).
fn auto_adopt(
    git: &Git,
    root: &Path,
    config: &SyncConfig,
    session: &mut Session,
    reports: &mut [reconcile::ReconcileReport],
) -> Result<(), CliError> {
    let i = match select::adopt_candidate(git, root, reports) {
        Ok(i) => i,
        Err(why) => {
            eprintln!("warden: not adopting: {why}");
            return Ok(());
        }
    };
    let outcome = match select::adopt_refusal(config, &reports[i]) {
        Some(reason) => {
            eprintln!("warden: not adopting: {reason}");
            adopt::AutoAdopt::NotAdopted { reason }
        }
        None => {
            let scratch = scratch()?;
            let arun = session.new_run_id();
            let a = adopt::check(git, root, &reports[i], &arun, scratch.path())?;
            adopt::apply(git, root, &a)?;
            session.record(record::adopt(&a, super::actor(root)))?;
            adopt::AutoAdopt::Adopted { report: a }
        }
    };
    reports[i].adopt = Some(outcome);
    Ok(())
}

fn scratch() -> Result<tempfile::TempDir, CliError> {
    tempfile::Builder::new()
        .prefix("warden-sync-")
        .tempdir()
        .map_err(|e| CliError::Core(Error::Internal(format!("cannot create a temp dir: {e}"))))
}

fn adopt_cmd(
    git: &Git,
    ctx: &Context,
    start: &Path,
    run: &str,
    write: &WriteArgs,
    fmt: Format,
) -> Result<ExitCode, CliError> {
    let root = git.at(start).toplevel().map_err(warden_core::Error::from)?;
    let repo = match warden_repo(&root)? {
        Some(r) => r,
        None => return Err(Error::NotInitialised { root }.into()),
    };
    let entry = repo.ledger().find_run(run)?.ok_or_else(|| {
        Error::invalid(
            "(command line)",
            "RUN",
            format!("no run {run} in the ledger"),
            Some("`warden runs` lists the runs; give a `sync reconcile` run".into()),
        )
    })?;
    if entry.command != "sync reconcile" {
        return Err(Error::invalid(
            "(command line)",
            "RUN",
            format!(
                "run {} is a `{}` run, not a `sync reconcile` run",
                entry.run, entry.command
            ),
            Some("`warden runs` lists the runs; give a `sync reconcile` run".into()),
        )
        .into());
    }
    let rec: reconcile::ReconcileReport = entry
        .details
        .clone()
        .and_then(|d| serde_json::from_value(d).ok())
        .ok_or_else(|| Error::Corrupt {
            path: repo.layout.ledger_dir(),
            message: format!("run {}: its details are not a reconcile report", entry.run),
        })?;
    let mut session = super::session(&repo, ctx, write.no_wait)?;
    let arun = session.new_run_id();
    let scratch = scratch()?;
    let mut a = adopt::check(git, &root, &rec, &arun, scratch.path())?;
    if write.dry_run {
        a.dry_run = true;
        output::emit(&a, fmt)?;
        return Ok(ExitCode::SUCCESS);
    }
    // Asking: show what would happen first (the report after says it again
    // with the outcome).
    if fmt == Format::Human && !write.yes {
        print!("{}", render::adopt(&a));
    }
    if !super::confirm(
        write,
        &format!("fast-forward {} to {}", a.branch, a.sync_branch),
    )? {
        return Ok(output::nothing_written(output::NotWritten::Declined, fmt).into());
    }
    adopt::apply(git, &root, &a)?;
    session.record(record::adopt(&a, super::actor(&root)))?;
    output::emit(&a, fmt)?;
    Ok(ExitCode::SUCCESS)
}
