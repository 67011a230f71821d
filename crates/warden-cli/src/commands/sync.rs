//! `warden sync audit|init|reconcile|adopt` (SPEC §6). The logic lives in
//! `warden-sync`; this file parses nothing, only wires the backend, the
//! session and the ledger together and prints.

use crate::cli::{Format, SyncCommand, WriteArgs};
use crate::output::{self, CliError};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use warden_core::{Context, Error, Repo};
use warden_sync::audit::{self, AuditOptions, FetchMode, Ungated};
use warden_sync::config::SyncConfig;
use warden_sync::git::{GitBackend, Signature};
use warden_sync::reconcile::{self, Outcome, ReconcileOptions};
use warden_sync::{adopt, record, render};

pub const FETCH_TIMEOUT: Duration = Duration::from_secs(120);

pub fn run(repo: Option<PathBuf>, cmd: SyncCommand, fmt: Format) -> Result<ExitCode, CliError> {
    let git = crate::env::git();
    git.check_version()?;
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
            no_fetch,
            dry_run,
            adopt,
            no_wait,
        } => reconcile_cmd(&git, &ctx, &start, no_fetch, dry_run, adopt, no_wait, fmt),
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
    git: &dyn GitBackend,
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
    let mut report = audit::audit(git, start, &opts, &Ungated)?;
    let root = PathBuf::from(&report.root);
    match warden_repo(&root)? {
        Some(repo) => {
            let mut session = super::session(&repo, ctx, no_wait)?;
            let run = session.new_run_id();
            report.run = Some(run.clone());
            session.record(record::audit(&run, &report, record::cli_actor()))?;
        }
        None => eprintln!(
            "warden: not recorded: warden is not initialised in {} (run `warden init` to keep audits in the ledger)",
            root.display()
        ),
    }
    if fmt == Format::Json {
        output::json(&report)?;
    } else {
        print!("{}", render::audit(&report));
        if let Some(run) = &report.run {
            println!("recorded as run {run} (.runs/{run}/audit.json, report.md)");
        }
    }
    Ok(if report.summary.in_sync {
        ExitCode::SUCCESS
    } else {
        output::code(1)
    })
}

fn init_cmd(
    git: &dyn GitBackend,
    ctx: &Context,
    start: &Path,
    url: Option<&str>,
    fmt: Format,
) -> Result<ExitCode, CliError> {
    let report = warden_sync::init::init(git, start, url)?;
    let warden = warden_core::repo::init(Path::new(&report.root), ctx)?;
    if fmt == Format::Json {
        output::json(&serde_json::json!({
            "schema": "warden.sync.init/v1",
            "git": report,
            "warden": warden,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    if report.initialised_git {
        println!("created a git repository in {}", report.root);
    }
    match &report.linked {
        Some((name, url)) => println!("linked remote {name} -> {url}"),
        None if report.remotes.is_empty() => {
            println!("no remote linked yet: run `warden sync init --remote URL` once to link one")
        }
        None => {}
    }
    for (name, url) in &report.remotes {
        println!("remote {name}: {url}");
    }
    if warden.created.is_empty() && warden.updated.is_empty() {
        println!("warden is set up in {}; nothing changed", report.root);
    } else {
        println!(
            "initialised warden in {} (ledger chain {})",
            report.root, warden.writer
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `YYYYMMDD` in UTC, and the RFC 3339 time for commits.
fn dates(ctx: &Context) -> (String, String) {
    let now = ctx.clock.now();
    let day = now.strftime("%Y%m%d").to_string();
    let t = now
        .round(jiff::Unit::Second)
        .unwrap_or(now)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    (day, t)
}

fn signature(date: String) -> Signature {
    Signature {
        name: "warden".into(),
        email: "warden@localhost".into(),
        date,
    }
}

#[allow(clippy::too_many_arguments)]
fn reconcile_cmd(
    git: &dyn GitBackend,
    ctx: &Context,
    start: &Path,
    no_fetch: bool,
    dry_run: bool,
    want_adopt: bool,
    no_wait: bool,
    fmt: Format,
) -> Result<ExitCode, CliError> {
    let root = git.toplevel(start)?;
    let config = SyncConfig::load(&root)?;
    let repo = match warden_repo(&root)? {
        Some(r) => r,
        None => return Err(Error::NotInitialised { root }.into()),
    };
    let mut session = super::session(&repo, ctx, no_wait)?;
    let run = session.new_run_id();
    let (day, time) = dates(ctx);
    let opts = ReconcileOptions {
        fetch: if no_fetch {
            FetchMode::Skip
        } else {
            FetchMode::Default
        },
        fetch_timeout: FETCH_TIMEOUT,
        run,
        date: day,
        signature: signature(time),
        dry_run,
    };
    let report = reconcile::reconcile(git, &root, &config, &opts, &Ungated)?;
    if !dry_run {
        session.record(record::reconcile(&report, record::cli_actor()))?;
    }
    let mut adopted = None;
    if want_adopt && !dry_run {
        let why_not = if !config.file.auto_adopt {
            Some("automatic adopt is off (set `auto_adopt: true` in .warden/sync.yaml)".to_string())
        } else if report.outcome != Outcome::SyncBranch {
            Some("there is no sync branch to adopt".to_string())
        } else if !report.collisions.is_empty() {
            Some(format!(
                "{} path(s) changed on both sides; adopt by hand after a look: `warden sync adopt {}`",
                report.collisions.len(),
                report.run
            ))
        } else {
            None
        };
        match why_not {
            Some(w) => eprintln!("warden: not adopting: {w}"),
            None => {
                let scratch = scratch()?;
                let arun = session.new_run_id();
                let a = adopt::check(git, &root, &report, &arun, scratch.path())?;
                adopt::apply(git, &root, &a)?;
                session.record(record::adopt(&a, record::cli_actor()))?;
                adopted = Some(a);
            }
        }
    }
    drop(session);
    if fmt == Format::Json {
        output::json(&report)?;
    } else {
        print!("{}", render::reconcile(&report));
        if let Some(a) = &adopted {
            print!("{}", render::adopt(a));
        }
    }
    Ok(if report.outcome == Outcome::Quarantined {
        output::code(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn scratch() -> Result<tempfile::TempDir, CliError> {
    tempfile::Builder::new()
        .prefix("warden-sync-")
        .tempdir()
        .map_err(|e| CliError::Core(Error::Internal(format!("cannot create a temp dir: {e}"))))
}

fn adopt_cmd(
    git: &dyn GitBackend,
    ctx: &Context,
    start: &Path,
    run: &str,
    write: &WriteArgs,
    fmt: Format,
) -> Result<ExitCode, CliError> {
    let root = git.toplevel(start)?;
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
        if fmt == Format::Json {
            output::json(&a)?;
        } else {
            print!("{}", render::adopt(&a));
            println!("dry run: nothing was written (the checks above all passed)");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if fmt == Format::Human {
        print!("{}", render::adopt(&a));
    }
    if !super::confirm(
        write,
        &format!("fast-forward {} to {}", a.branch, a.sync_branch),
    )? {
        eprintln!("declined: nothing was written");
        return Ok(output::code(1));
    }
    adopt::apply(git, &root, &a)?;
    session.record(record::adopt(&a, record::cli_actor()))?;
    if fmt == Format::Json {
        output::json(&a)?;
    } else {
        println!("done: {} is now at {} (run {arun})", a.branch, a.to);
    }
    Ok(ExitCode::SUCCESS)
}
