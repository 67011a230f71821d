//! `warden bridge …`: the signed-command bridge. Argument parsing (the clap
//! structs below), the environment (via `env.rs`: the root, the secrets, the
//! clock), printing and exit codes live here; everything else — building
//! commands, the executor and its loop, verify, smoke, status — is the
//! `warden-bridge` crate, whose reports render themselves.
//!
//! Exit codes: 0 ok; 1 a command was dead-lettered / a check failed; 2 usage or
//! input error (no bridge root, no secret); 3 internal error (including a
//! publish that failed and was recorded for retry); 4 another `bridge run`
//! holds the root.

use crate::cli::Format;
use crate::env;
use crate::output::{self, CliError, ExitStatus};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use warden_bridge::canon::{self, JVal};
use warden_bridge::layout::{self, Layout};
use warden_bridge::new;
use warden_bridge::pipeline::{Bridge, Options};
use warden_bridge::publish::Backoff;
use warden_bridge::service::{self, Holder, InstanceError, TargetError};
use warden_bridge::sign::Secrets;
use warden_core::report::ErrorReport;
use warden_core::{Repo, Report};

/// What `warden bridge --help` ends with: the exit codes of every subcommand.
const EXIT_CODES: &str = "Exit codes:
  0  ok (run --once: every command archived; verify: accepted; smoke: passed)
  1  a command was dead-lettered (run --once), verify rejects the file, smoke failed
  2  usage or input error: no bridge root (--root or CLOUD), no secret (GPT_BRIDGE_HMAC_SECRET_FILE,
     the systemd credential gpt-bridge-hmac-secret, or GPT_BRIDGE_HMAC_SECRET), a missing, empty
     or unreadable secret file, a broken meta/bridge.json, an unreadable file
  3  internal error, including a publish that failed (recorded in meta/retries.json and retried)
     and a target repository that cannot be opened (verified commands wait in commands/)
  4  another `warden bridge run` already serves this bridge root";

#[derive(Debug, Args)]
#[command(after_help = EXIT_CODES)]
pub struct BridgeArgs {
    /// The bridge root (default: the CLOUD environment variable).
    #[arg(long, global = true, value_name = "PATH")]
    pub root: Option<PathBuf>,
    #[command(subcommand)]
    pub command: BridgeCommand,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum BridgeCommand {
    /// Create the bridge directories, meta/retries.json and the .gitignore entries (idempotent).
    Init {
        /// The target repository the commands change (default: the repository holding the root).
        #[arg(long, value_name = "PATH")]
        target: Option<String>,
    },
    /// Process commands/: verify, apply as warden runs, write outputs, publish.
    #[command(group(clap::ArgGroup::new("mode").required(true).args(["once", "watch"])))]
    Run {
        /// One pass over the inbox (waiting for files still settling), then publish and exit.
        #[arg(long)]
        once: bool,
        /// Keep watching (single instance per root; stop with SIGTERM/SIGINT).
        #[arg(long)]
        watch: bool,
        /// Do not commit or push the outputs.
        #[arg(long)]
        no_publish: bool,
        /// Take a file only once it is this many milliseconds old.
        #[arg(long, default_value_t = 500, value_name = "MS")]
        settle_ms: u64,
        /// --watch is woken by file events on commands/ (inotify and the like);
        /// it also looks this often, for missed events and filesystems without them.
        #[arg(
            long,
            alias = "interval-ms",
            default_value_t = 5_000,
            value_name = "MS"
        )]
        poll_ms: u64,
        /// After an event, wait this long for more before a pass (a burst is one batch).
        #[arg(long, default_value_t = 50, value_name = "MS")]
        debounce_ms: u64,
        /// Most commands made durable together (group commit).
        #[arg(long, default_value_t = 64, value_name = "N")]
        batch: usize,
        /// Make every output durable on its own (the original executor's way; for benchmarks).
        #[arg(long, hide = true)]
        per_file_durability: bool,
        /// Tries of pull --rebase + push per publish (exponential backoff with jitter between them).
        #[arg(long, default_value_t = 10, value_name = "N")]
        push_attempts: u32,
    },
    /// Write a new signed command into commands/ (or to stdout).
    #[command(subcommand)]
    New(NewKind),
    /// Sign a command file with GPT_BRIDGE_HMAC_SECRET (prints the signed JSON).
    Sign {
        /// The command file to sign (a JSON object, at most 512 KiB); its `hmac` field is set.
        file: PathBuf,
        /// Sign with GPT_BRIDGE_HMAC_SECRET_NEXT (during a rotation).
        #[arg(long)]
        next: bool,
        /// Rewrite FILE instead of printing.
        #[arg(long)]
        in_place: bool,
    },
    /// Explain, layer by layer, whether a command would be accepted (writes nothing).
    Verify {
        /// The command file; one in commands/ is read as the executor reads it.
        file: PathBuf,
    },
    /// Drop a signed no-op and confirm archive, result, diff and one commit within the timeout.
    Smoke {
        #[arg(long, default_value_t = 10, value_name = "SECS")]
        timeout_secs: u64,
    },
    /// Backlog, dead letters by reason, retries, last publish (never secrets).
    Status,
    /// Git hooks.
    #[command(subcommand)]
    Hook(HookCommand),
    /// Print the systemd user unit that runs this warden binary (by its
    /// absolute path) as `bridge run --watch`; `--install` writes it to
    /// ~/.config/systemd/user/warden-bridge.service.
    Unit {
        /// Write the unit instead of printing it (an existing different unit
        /// needs --force).
        #[arg(long)]
        install: bool,
        /// Replace an existing, different unit file.
        #[arg(long, requires = "install")]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum HookCommand {
    /// Write the pre-commit guard (no command file is ever committed) into the root's git hooks.
    Install {
        /// Replace an existing, different pre-commit hook.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Args)]
pub struct NewCommon {
    /// The command id (default: <kind>-<UTC timestamp>-<random>).
    #[arg(long)]
    pub id: Option<String>,
    /// Seconds until expires_at. A negative value makes a command that expired
    /// that long ago (issued_at 5 minutes before that), to test rejection; the
    /// executor allows 30 s of clock skew, so use -60 or less.
    #[arg(
        long,
        default_value_t = 300,
        value_name = "SECS",
        allow_negative_numbers = true
    )]
    pub ttl_secs: i64,
    /// Print the command instead of writing it into commands/.
    #[arg(long)]
    pub stdout: bool,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum NewKind {
    /// A signed no-op (what the smoke test sends).
    Noop {
        #[command(flatten)]
        common: NewCommon,
    },
    /// A signed writeFile of one file in the target repository.
    Write {
        /// Repository-relative path.
        #[arg(long)]
        path: String,
        /// The new content.
        #[arg(long, conflicts_with = "content_file")]
        content: Option<String>,
        /// Read the new content from this file.
        #[arg(long)]
        content_file: Option<PathBuf>,
        #[command(flatten)]
        common: NewCommon,
    },
}

fn bridge_root(root: Option<PathBuf>) -> Result<PathBuf, CliError> {
    root.or_else(env::bridge_root).ok_or_else(|| {
        CliError::usage(
            "no bridge root: pass --root PATH or set CLOUD",
            Some("`warden bridge init --root PATH` creates one".to_string()),
        )
    })
}

fn secrets() -> Result<Secrets, CliError> {
    Ok(secrets_with_sources()?.0)
}

/// The accepted secrets and where each came from (for the banner). Warnings
/// (a world-readable secret file) go to stderr.
fn secrets_with_sources() -> Result<(Secrets, Vec<String>), CliError> {
    let read = env::bridge_secrets().map_err(|e| CliError::usage(e.message, Some(e.hint)))?;
    let s = read.ok_or_else(|| {
        CliError::usage(
            format!(
                "{} is not set (nor {}, a file holding the secret, nor the systemd credential {})",
                env::BRIDGE_SECRET,
                env::BRIDGE_SECRET_FILE,
                env::BRIDGE_CREDENTIAL
            ),
            Some(format!(
                "prefer the file: `install -m 600 /dev/null ~/.config/warden/bridge-secret`, write the signer's secret into it, export {}=<that path>; it is never written or printed",
                env::BRIDGE_SECRET_FILE
            )),
        )
    })?;
    for w in &s.warnings {
        eprintln!("warning: {w}");
    }
    Ok((
        Secrets::from_bytes(&s.current, s.next.as_deref(), s.previous.as_deref()),
        s.sources,
    ))
}

/// The target repository (`service::open_target`); a broken
/// meta/bridge.json is a usage error naming the file.
fn target_repo(repo: Option<&Path>, layout: &Layout) -> Result<Repo, CliError> {
    service::open_target(layout, repo).map_err(target_err)
}

fn target_err(e: TargetError) -> CliError {
    match e {
        TargetError::Config(m) => CliError::usage(
            m,
            Some("fix meta/bridge.json; `warden schema bridge-config` prints its format".into()),
        ),
        TargetError::Core(e) => e.into(),
    }
}

fn io_err(what: &str, e: impl std::fmt::Display) -> CliError {
    CliError::Core(warden_core::Error::Internal(format!("{what}: {e}")))
}

fn require_layout(root: &Path) -> Result<Layout, CliError> {
    let layout = Layout::new(root).with_child_env(env::child_env());
    if !layout.commands().is_dir() {
        return Err(CliError::usage(
            format!(
                "{} is not a bridge root (no commands/ directory)",
                root.display()
            ),
            Some(format!(
                "run `warden bridge init --root {}`",
                root.display()
            )),
        ));
    }
    Ok(layout)
}

/// This process as the holder of a bridge root.
fn holder(ctx: &warden_core::Context) -> Holder {
    let args: Vec<String> = env::raw_args()
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    Holder {
        pid: std::process::id(),
        host: ctx.host.clone(),
        command: format!("warden {}", args.join(" ")),
        since: env::now()
            .round(jiff::Unit::Second)
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
            .to_string(),
    }
}

pub fn run(repo: Option<PathBuf>, args: BridgeArgs, fmt: Format) -> Result<ExitCode, CliError> {
    if let BridgeCommand::Unit { install, force } = args.command {
        return super::bridge_unit::run(install, force, fmt);
    }
    let root = bridge_root(args.root)?;
    match args.command {
        BridgeCommand::Init { target } => {
            let layout = Layout::new(&root).with_child_env(env::child_env());
            let report =
                layout::init(&layout, target.as_deref()).map_err(|e| io_err("bridge init", e))?;
            output::emit(&report, fmt)?;
            Ok(ExitCode::SUCCESS)
        }
        BridgeCommand::Run {
            once: _,
            watch,
            no_publish,
            settle_ms,
            poll_ms,
            debounce_ms,
            batch,
            per_file_durability,
            push_attempts,
        } => {
            let opts = Options {
                settle_ms,
                batch_size: batch,
                durability: if per_file_durability {
                    warden_bridge::outputs::Durability::PerFile
                } else {
                    warden_bridge::outputs::Durability::Group
                },
                ..Options::default()
            };
            let how = service::Serve {
                watch,
                publish: !no_publish,
                poll: Duration::from_millis(poll_ms),
                debounce: Duration::from_millis(debounce_ms),
                backoff: Backoff {
                    attempts: push_attempts.max(1),
                    ..Backoff::default()
                },
            };
            run_bridge(repo.as_deref(), &root, opts, &how, fmt)
        }
        BridgeCommand::New(kind) => new(&root, kind, fmt),
        BridgeCommand::Sign {
            file,
            next,
            in_place,
        } => sign(&file, next, in_place),
        BridgeCommand::Verify { file } => verify(repo.as_deref(), &root, &file, fmt),
        BridgeCommand::Smoke { timeout_secs } => smoke(repo.as_deref(), &root, timeout_secs, fmt),
        BridgeCommand::Status => {
            let layout = require_layout(&root)?;
            let secret = matches!(env::bridge_secrets(), Ok(Some(_)));
            output::emit(&service::status_report(&layout, secret), fmt)?;
            Ok(ExitCode::SUCCESS)
        }
        BridgeCommand::Hook(HookCommand::Install { force }) => {
            let path = warden_bridge::publish::install_hook(&root, force, &env::child_env())
                .map_err(|e| CliError::usage(e.to_string(), None))?;
            println!("installed the pre-commit guard at {}", path.display());
            Ok(ExitCode::SUCCESS)
        }
        BridgeCommand::Unit { .. } => unreachable_unit(),
    }
}

/// `bridge unit` is answered before a bridge root is resolved.
fn unreachable_unit() -> Result<ExitCode, CliError> {
    Err(CliError::Core(warden_core::Error::Internal(
        "bridge unit is handled before the bridge root is resolved".into(),
    )))
}

/// At start: the resolved paths and the retries index, once, on stderr.
fn banner(layout: &Layout, target: &Path, secrets: &Secrets, sources: &[String]) {
    let r = &layout.root;
    // What `pm2 describe` showed in the seed: the program and its directory.
    if let Ok(exe) = std::env::current_exe() {
        eprintln!("warden bridge: exe={}", exe.display());
    }
    if let Ok(cwd) = std::env::current_dir() {
        eprintln!("warden bridge: cwd={}", cwd.display());
    }
    eprintln!("warden bridge: CLOUD={}", r.display());
    for (k, d) in [
        ("CMDS", "commands"),
        ("RES", "results"),
        ("DIFF", "diffs"),
        ("ARCH", "archive"),
        ("DLQ", "dead_letter"),
        ("META", "meta"),
    ] {
        eprintln!("warden bridge: {k}={}", layout.dir(d).display());
    }
    eprintln!("warden bridge: TARGET={}", target.display());
    eprintln!(
        "warden bridge: retries index -> {}",
        layout.retries().display()
    );
    eprintln!(
        "warden bridge: {} accepted secret(s) from {} (values never shown)",
        secrets.count(),
        sources.join(" and ")
    );
}

fn run_bridge(
    repo: Option<&Path>,
    root: &Path,
    opts: Options,
    how: &service::Serve,
    fmt: Format,
) -> Result<ExitCode, CliError> {
    let layout = require_layout(root)?;
    let (secrets, sources) = secrets_with_sources()?;
    let ctx = env::context();
    let _instance = match service::instance_lock(&layout, &holder(&ctx)) {
        Ok(lock) => lock,
        Err(e @ InstanceError::Busy { .. }) => return Ok(busy(&e, fmt)),
        Err(InstanceError::Core(e)) => return Err(e.into()),
    };
    let target = target_repo(repo, &layout)?;
    banner(&layout, target.root(), &secrets, &sources);
    let mut bridge = Bridge::new(layout.clone(), &target, &ctx, &secrets, opts)
        .map_err(|e| io_err("bridge", e))?;
    let mut on = |event: service::Event<'_>| -> Result<(), CliError> {
        match event {
            service::Event::Watching {
                dir,
                poll,
                unavailable,
            } => match unavailable {
                None => eprintln!(
                    "warden bridge: watching {} for changes (and looking every {} ms)",
                    dir.display(),
                    poll.as_millis()
                ),
                Some(why) => eprintln!(
                    "warden bridge: file events unavailable ({why}); looking at {} every {} ms",
                    dir.display(),
                    poll.as_millis()
                ),
            },
            service::Event::Tick(tick) => {
                if super::is_json(fmt) {
                    if !tick.watch {
                        output::json(tick)?;
                    } else if !tick.pass.items.is_empty() || tick.publish_error.is_some() {
                        output::json_line(tick)?;
                    }
                } else {
                    print!("{}", output::human_safe(tick));
                    for n in tick.notes() {
                        eprintln!("warden bridge: {}", warden_core::text::shown(&n));
                    }
                }
            }
        }
        Ok(())
    };
    let tick = service::serve(&mut bridge, how, &mut on).map_err(|e| match e {
        service::ServeError::Io(e) => io_err("bridge run", e),
        service::ServeError::Caller(e) => e,
    })?;
    Ok(ExitStatus::of_report(tick.code()).into())
}

/// Exit 4: another executor serves this bridge root. Names the root, the
/// holder (pid, command line, start, host) and how to stop it.
fn busy(e: &InstanceError, fmt: Format) -> ExitCode {
    let report = ErrorReport {
        schema: ErrorReport::SCHEMA_ID.into(),
        code: ExitStatus::Busy.code(),
        kind: "busy".into(),
        message: e.to_string(),
        refusal: None,
        file: None,
        field: None,
        hint: e.hint(),
    };
    eprint!("{}", report.human());
    if super::is_json(fmt) {
        let _ = output::json(&report);
    }
    ExitStatus::Busy.into()
}

fn new(root: &Path, kind: NewKind, fmt: Format) -> Result<ExitCode, CliError> {
    let secrets = secrets()?;
    let (common, ops) = match kind {
        NewKind::Noop { common } => (common, new::Ops::Noop),
        NewKind::Write {
            path,
            content,
            content_file,
            common,
        } => {
            let content = match (content, content_file) {
                (Some(c), _) => c,
                (None, Some(f)) => {
                    crate::input::read_text(
                        &f,
                        false,
                        &crate::input::BRIDGE_CONTENT,
                        "read the content file",
                    )?
                    .0
                }
                (None, None) => {
                    return Err(CliError::usage(
                        "bridge new write needs --content or --content-file",
                        None,
                    ));
                }
            };
            (common, new::Ops::Write { path, content })
        }
    };
    let mut cmd = new::Draft::new(ops).ttl_secs(common.ttl_secs);
    cmd.id = common.id;
    let built = new::build(&cmd, &secrets, env::now())
        .map_err(|e| CliError::usage(e.to_string(), e.hint().map(str::to_string)))?;
    let skew = warden_bridge::command::DEFAULT_SKEW_SECS;
    if let Some(w) = new::skew_warning(common.ttl_secs, &built, skew) {
        eprintln!("warning: {w}");
    }
    if common.stdout {
        print!("{}", built.text);
        return Ok(ExitCode::SUCCESS);
    }
    let layout = require_layout(root)?;
    let dest = new::drop_into(&layout, &built).map_err(|e| io_err("new", e))?;
    let report = warden_bridge::report::NewReport::new(built.id, dest.display().to_string());
    output::emit(&report, fmt)?;
    Ok(ExitCode::SUCCESS)
}
fn sign(file: &Path, next: bool, in_place: bool) -> Result<ExitCode, CliError> {
    let secrets = secrets()?;
    let (bytes, _) = crate::input::read(
        file,
        false,
        &crate::input::BRIDGE_COMMAND,
        "read the command",
    )?;
    let mut doc = canon::parse(&bytes).map_err(|e| {
        CliError::usage(
            format!("{}: not acceptable JSON: {e}", file.display()),
            Some("fix the JSON; duplicate keys, NaN and lone surrogates are refused".into()),
        )
    })?;
    if !matches!(doc, JVal::Obj(_)) {
        return Err(CliError::usage(
            format!("{}: the command must be a JSON object", file.display()),
            None,
        ));
    }
    let mac = secrets
        .slot_of(if next { "next" } else { "current" })
        .and_then(|slot| warden_bridge::sign::sign(&doc, &secrets, slot))
        .ok_or_else(|| {
            CliError::usage(
                format!("{} is not set", env::BRIDGE_SECRET_NEXT),
                Some(
                    "set it (or GPT_BRIDGE_HMAC_SECRET_NEXT_FILE) to the next secret to sign with it"
                        .into(),
                ),
            )
        })?;
    canon::set_member(&mut doc, "hmac", JVal::Str(mac));
    let out = canon::pretty(&doc);
    let limit = warden_bridge::command::DEFAULT_MAX_BYTES;
    if out.len() as u64 > limit {
        return Err(CliError::usage(
            format!(
                "{}: the signed command would be {} bytes, over the bridge's limit of {limit}: the executor would dead-letter it as too_large",
                file.display(),
                out.len()
            ),
            Some("make the content smaller, or split the change into several commands".into()),
        ));
    }
    if in_place {
        // A bare name's parent is "": the temp file goes beside it in ".".
        let file = match file.parent() {
            Some(p) if p.as_os_str().is_empty() => Path::new(".").join(file),
            _ => file.to_path_buf(),
        };
        warden_core::fsutil::write_atomic(&file, out.as_bytes(), 0o644)?;
        eprintln!("signed {}", file.display());
    } else {
        print!("{out}");
    }
    Ok(ExitCode::SUCCESS)
}

fn verify(
    repo: Option<&Path>,
    root: &Path,
    file: &Path,
    fmt: Format,
) -> Result<ExitCode, CliError> {
    let secrets = secrets()?;
    let layout = Layout::new(root).with_child_env(env::child_env());
    let target = target_repo(repo, &layout)?;
    let ctx = env::context();
    let bridge = Bridge::new(layout, &target, &ctx, &secrets, Options::default())
        .map_err(|e| io_err("bridge", e))?;
    let report = bridge
        .verify_file(file)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", file.display()), None))?;
    output::emit(&report, fmt)?;
    Ok(ExitStatus::of_report(if report.accepted { 0 } else { 1 }).into())
}

fn smoke(
    repo: Option<&Path>,
    root: &Path,
    timeout_secs: u64,
    fmt: Format,
) -> Result<ExitCode, CliError> {
    let layout = require_layout(root)?;
    let secrets = secrets()?;
    let ctx = env::context();
    let done = warden_bridge::smoke::smoke(
        &layout,
        repo,
        &ctx,
        &secrets,
        &holder(&ctx),
        Duration::from_secs(timeout_secs),
    )
    .map_err(|e| match e {
        warden_bridge::smoke::SmokeError::Target(t) => target_err(t),
        other => io_err("bridge smoke", other),
    })?;
    for n in &done.notes {
        eprintln!("warden bridge smoke: {n}");
    }
    output::emit(&done.report, fmt)?;
    Ok(ExitStatus::of_report(if done.report.ok { 0 } else { 1 }).into())
}
