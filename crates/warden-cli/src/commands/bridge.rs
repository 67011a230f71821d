//! `warden bridge …`: the signed-command bridge (SPEC §10, seed 002). Argument
//! parsing, environment (via `env.rs`), printing and exit codes live here; the
//! pipeline itself is the `warden-bridge` crate.
//!
//! Exit codes: 0 ok; 1 a command was dead-lettered / a check failed; 2 usage or
//! input error (no bridge root, no secret); 3 internal error (including a
//! publish that failed and was recorded for retry); 4 another `bridge run`
//! holds the root.

use crate::cli::Format;
use crate::env;
use crate::output::{self, CliError};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use warden_bridge::canon::{self, JVal};
use warden_bridge::layout::{self, Layout};
use warden_bridge::new;
use warden_bridge::pipeline::{Bridge, ItemOutcome, Options, PassReport};
use warden_bridge::publish::Backoff;
use warden_bridge::service;
use warden_bridge::sign::Secrets;
use warden_core::Repo;

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
        file: PathBuf,
        /// Sign with GPT_BRIDGE_HMAC_SECRET_NEXT (during a rotation).
        #[arg(long)]
        next: bool,
        /// Rewrite FILE instead of printing.
        #[arg(long)]
        in_place: bool,
    },
    /// Explain, layer by layer, whether a command would be accepted (writes nothing).
    Verify { file: PathBuf },
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

/// The target repository: `--repo`, then meta/bridge.json, then the
/// repository holding the bridge root.
fn target_repo(repo: Option<PathBuf>, layout: &Layout) -> Result<Repo, CliError> {
    // A broken config must stop the executor, never fall back to a default target.
    layout::load_config(layout).map_err(|e| {
        CliError::usage(
            e,
            Some("fix meta/bridge.json; `warden schema bridge-config` prints its format".into()),
        )
    })?;
    let start = repo
        .or_else(|| layout::configured_target(layout))
        .unwrap_or_else(|| layout.root.clone());
    let root = warden_core::repo::discover(&start)?;
    Ok(Repo::open(&root)?)
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

pub fn run(repo: Option<PathBuf>, args: BridgeArgs, fmt: Format) -> Result<ExitCode, CliError> {
    if let BridgeCommand::Unit { install, force } = args.command {
        return super::bridge_unit::run(install, force, fmt);
    }
    let root = bridge_root(args.root)?;
    match args.command {
        BridgeCommand::Init { target } => init(&root, target.as_deref(), fmt),
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
            let backoff = Backoff {
                attempts: push_attempts.max(1),
                ..Backoff::default()
            };
            let how = How {
                watch,
                publish: !no_publish,
                poll_ms,
                debounce_ms,
                backoff,
            };
            run_bridge(repo, &root, opts, &how, fmt)
        }
        BridgeCommand::New(kind) => new(&root, kind, fmt),
        BridgeCommand::Sign {
            file,
            next,
            in_place,
        } => sign(&file, next, in_place),
        BridgeCommand::Verify { file } => verify(repo, &root, &file, fmt),
        BridgeCommand::Smoke { timeout_secs } => smoke(repo, &root, timeout_secs, fmt),
        BridgeCommand::Status => status(&root, fmt),
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

fn init(root: &Path, target: Option<&str>, fmt: Format) -> Result<ExitCode, CliError> {
    let layout = Layout::new(root).with_child_env(env::child_env());
    let report = layout::init(&layout, target).map_err(|e| io_err("bridge init", e))?;
    if super::is_json(fmt) {
        output::json(&report)?;
    } else {
        println!("bridge root {}", report.root);
        for c in &report.created {
            println!("  created   {c}");
        }
        for u in &report.unchanged {
            println!("  unchanged {u}");
        }
        println!(
            "next: export {}=<a file holding the secret, mode 600> and run `warden bridge run --watch --root {}`",
            env::BRIDGE_SECRET_FILE,
            root.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Seed §8: the resolved paths and the retries index, once, on stderr.
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

fn print_pass(pass: &PassReport) {
    for i in &pass.items {
        match i.outcome {
            ItemOutcome::Archived => println!(
                "archived     {}  {}  run {}{}",
                i.id,
                i.status.as_deref().unwrap_or(""),
                i.run.as_deref().unwrap_or("-"),
                if i.recovered { "  (recovered)" } else { "" }
            ),
            ItemOutcome::DeadLetter => println!(
                "dead_letter  {}  {}: {}",
                i.id,
                i.reason.map(|r| r.as_str()).unwrap_or("?"),
                i.detail.as_deref().unwrap_or("")
            ),
        }
    }
}

/// How `bridge run` runs.
struct How {
    watch: bool,
    publish: bool,
    poll_ms: u64,
    debounce_ms: u64,
    backoff: Backoff,
}

fn run_bridge(
    repo: Option<PathBuf>,
    root: &Path,
    opts: Options,
    how: &How,
    fmt: Format,
) -> Result<ExitCode, CliError> {
    let (watch, publish, backoff) = (how.watch, how.publish, &how.backoff);
    let layout = require_layout(root)?;
    let (secrets, sources) = secrets_with_sources()?;
    let ctx = env::context();
    let holder = format!("{} on host {}", ctx.holder, ctx.host);
    let _instance = match service::instance_lock(&layout, &holder) {
        Ok(lock) => lock,
        Err(warden_core::Error::Busy { holder }) => return Ok(second_executor(root, &holder)),
        Err(e) => return Err(e.into()),
    };
    let target = target_repo(repo, &layout)?;
    banner(&layout, target.root(), &secrets, &sources);
    let settle = Duration::from_millis(opts.settle_ms);
    let mut bridge = Bridge::new(layout.clone(), &target, &ctx, &secrets, opts)
        .map_err(|e| io_err("bridge", e))?;
    let poll = Duration::from_millis(how.poll_ms.max(10));
    let watcher = watch.then(|| {
        let w = service::InboxWatcher::new(&layout.commands());
        match &w.unavailable {
            None => eprintln!(
                "warden bridge: watching {} for changes (and looking every {} ms)",
                layout.commands().display(),
                poll.as_millis()
            ),
            Some(why) => eprintln!(
                "warden bridge: file events unavailable ({why}); looking at {} every {} ms",
                layout.commands().display(),
                poll.as_millis()
            ),
        }
        w
    });
    if !watch {
        // One --once takes what is in the inbox: wait for files still
        // settling rather than skip them.
        bridge
            .settle_inbox(settle + Duration::from_secs(1))
            .map_err(|e| io_err("bridge", e))?;
    }
    let mut first = true;
    loop {
        let now = ctx.clock.now();
        let tick = service::tick(&mut bridge, publish, first, backoff, now)
            .map_err(|e| io_err("bridge run", e))?;
        if super::is_json(fmt) {
            if !watch {
                output::json(&tick)?;
            } else if !tick.pass.items.is_empty() || tick.publish_error.is_some() {
                output::json_line(&tick)?;
            }
        } else {
            print_pass(&tick.pass);
            if let Some(p) = &tick.publish {
                if let Some(m) = &p.stale_lock_removed {
                    eprintln!("warden bridge: {m}");
                }
                for c in &p.commits {
                    println!("committed    {c}");
                }
                if p.pushed && !p.commits.is_empty() {
                    println!(
                        "pushed       after {} attempt(s){}",
                        p.attempts,
                        if p.rederived {
                            ", re-derived on the new upstream"
                        } else {
                            ""
                        }
                    );
                }
                if let Some(n) = &p.note
                    && !watch
                {
                    println!("publish      {n}");
                }
            }
            if let Some(e) = &tick.publish_error {
                eprintln!("warden bridge: publish failed (recorded in meta/retries.json): {e}");
            }
            if let Some(e) = &tick.pass.target_error {
                eprintln!(
                    "warden bridge: the target repository cannot be opened: {e}; {} verified command(s) wait in commands/ (`warden status` in the target says what to do)",
                    tick.pass.deferred.len()
                );
            }
            if !watch {
                let dead = tick
                    .pass
                    .items
                    .iter()
                    .filter(|i| i.outcome != ItemOutcome::Archived)
                    .count();
                println!(
                    "processed {}: {} archived, {} dead-lettered; {} still settling",
                    tick.pass.items.len(),
                    tick.pass.items.len() - dead,
                    dead,
                    tick.pass.waiting
                );
            }
        }
        if !watch {
            if tick.publish_error.is_some() || tick.pass.target_error.is_some() {
                return Ok(output::ExitStatus::Internal.into());
            }
            let dead = tick
                .pass
                .items
                .iter()
                .any(|i| i.outcome != ItemOutcome::Archived);
            return Ok(if dead {
                output::ExitStatus::Findings.into()
            } else {
                ExitCode::SUCCESS
            });
        }
        first = false;
        let wait = service::next_wake(&layout, &tick.pass, poll, settle, ctx.clock.now());
        match &watcher {
            Some(w) => {
                w.wait(wait, Duration::from_millis(how.debounce_ms));
            }
            None => std::thread::sleep(wait),
        }
    }
}

/// Exit 4: another executor serves this bridge root. Names the root, the
/// holder (pid, command line, start, host) and how to stop it.
fn second_executor(root: &Path, holder: &str) -> ExitCode {
    eprintln!(
        "error: the bridge root {} is already served by another executor: {holder}; only one executor per root",
        root.display()
    );
    let pid = holder
        .strip_prefix("pid ")
        .and_then(|r| r.split(' ').next())
        .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let host = holder
        .rsplit(" on host ")
        .next()
        .filter(|_| holder.contains(" on host "));
    let kill = match (pid, host) {
        (Some(pid), Some(host)) => format!("`kill {pid}` on {host}"),
        (Some(pid), None) => format!("`kill {pid}`"),
        _ => "stop that process".into(),
    };
    eprintln!(
        "hint: leave it running (it processes commands/; `warden bridge status --root {}` shows it), or stop it first: `systemctl --user stop warden-bridge` when it runs as the service, else {kill}",
        root.display()
    );
    output::ExitStatus::Busy.into()
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
                (None, Some(f)) => std::fs::read_to_string(&f).map_err(|e| {
                    CliError::usage(format!("cannot read {}: {e}", f.display()), None)
                })?,
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
    let skew = warden_bridge::command::DEFAULT_SKEW_SECS;
    let built = new::build(
        &new::NewCommand {
            ops,
            id: common.id,
            ttl_secs: common.ttl_secs,
        },
        &secrets,
        env::now(),
    )
    .map_err(|e| CliError::usage(e.to_string(), e.hint().map(str::to_string)))?;
    if common.ttl_secs <= 0 && common.ttl_secs >= -skew {
        eprintln!(
            "warning: --ttl-secs={} is within the executor's {skew} s clock-skew allowance: the command is still accepted until {}; use --ttl-secs=-{} or less for one that is rejected as expired",
            common.ttl_secs,
            (built.expires_at + jiff::SignedDuration::from_secs(skew))
                .strftime("%Y-%m-%dT%H:%M:%SZ"),
            skew + 1
        );
    }
    if common.stdout {
        print!("{}", built.text);
        return Ok(ExitCode::SUCCESS);
    }
    let layout = require_layout(root)?;
    let dest = new::drop_into(&layout, &built).map_err(|e| io_err("new", e))?;
    if super::is_json(fmt) {
        output::json(&warden_bridge::report::NewReport::new(
            built.id,
            dest.display().to_string(),
        ))?;
    } else {
        println!("{}", dest.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn sign(file: &Path, next: bool, in_place: bool) -> Result<ExitCode, CliError> {
    let secrets = secrets()?;
    let bytes = std::fs::read(file)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", file.display()), None))?;
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
    repo: Option<PathBuf>,
    root: &Path,
    file: &Path,
    fmt: Format,
) -> Result<ExitCode, CliError> {
    let secrets = secrets()?;
    let layout = Layout::new(root).with_child_env(env::child_env());
    let target = target_repo(repo, &layout)?;
    let ctx = env::context();
    let layout_commands = layout.commands();
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let in_inbox = file
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .and_then(|p| p.canonicalize().ok())
        .zip(layout_commands.canonicalize().ok())
        .is_some_and(|(a, b)| a == b);
    // A file in commands/ is read exactly as the executor reads it: through
    // the descriptor it was checked on, never through a link.
    let bytes = if in_inbox {
        let own_link = name.strip_suffix(".json").map(|id| layout.archive(id));
        match warden_bridge::inbox::open_verified(
            &layout_commands,
            &name,
            Options::default().max_bytes,
            own_link.as_deref(),
        ) {
            Ok(warden_bridge::inbox::Taken::Verified(v)) => Ok(v.bytes),
            Ok(warden_bridge::inbox::Taken::Refused(r)) => Err(r.rejection),
            Err(e) => {
                return Err(CliError::usage(
                    format!("cannot read {}: {e}", file.display()),
                    None,
                ));
            }
        }
    } else {
        Ok(std::fs::read(file)
            .map_err(|e| CliError::usage(format!("cannot read {}: {e}", file.display()), None))?)
    };
    let bridge = Bridge::new(layout, &target, &ctx, &secrets, Options::default())
        .map_err(|e| io_err("bridge", e))?;
    let layers = match bytes {
        Ok(bytes) => bridge.explain(&name, &bytes, in_inbox),
        Err(rej) => vec![("file", Err(rej))],
    };
    let ok = layers.iter().all(|(_, r)| r.is_ok());
    if super::is_json(fmt) {
        output::json(&warden_bridge::report::VerifyReport::new(
            file.display().to_string(),
            &layers,
        ))?;
    } else {
        for (l, r) in &layers {
            match r {
                Ok(note) => println!("{l:<8} ok    {note}"),
                Err(rej) => {
                    println!("{l:<8} FAIL  {}: {}", rej.reason, rej.detail);
                    if let Some(f) = &rej.field {
                        println!("{:<8}       field: {f}", "");
                    }
                    if let Some(h) = &rej.hint {
                        println!("{:<8}       hint: {h}", "");
                    }
                }
            }
        }
        if ok {
            println!("accepted: {} would be applied", file.display());
        } else {
            println!("rejected: {} would land in dead_letter/", file.display());
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        output::ExitStatus::Findings.into()
    })
}

fn smoke(
    repo: Option<PathBuf>,
    root: &Path,
    timeout_secs: u64,
    fmt: Format,
) -> Result<ExitCode, CliError> {
    let layout = require_layout(root)?;
    let secrets_ = secrets()?;
    let ctx = env::context();
    // Dropped without a line on stdout: with --format json the report below
    // is the only thing printed.
    let built = new::build(
        &new::NewCommand {
            ops: new::Ops::Noop,
            id: None,
            ttl_secs: 300,
        },
        &secrets_,
        env::now(),
    )
    .map_err(|e| io_err("bridge smoke", e))?;
    new::drop_into(&layout, &built).map_err(|e| io_err("bridge smoke", e))?;
    let id = built.id;
    let started = std::time::Instant::now();
    // No executor running: be one, for one pass.
    let holder = format!("{} on host {}", ctx.holder, ctx.host);
    if let Ok(lock) = service::instance_lock(&layout, &holder) {
        let target = target_repo(repo, &layout)?;
        let opts = Options {
            settle_ms: 0,
            ..Options::default()
        };
        let mut bridge = Bridge::new(layout.clone(), &target, &ctx, &secrets_, opts)
            .map_err(|e| io_err("bridge", e))?;
        let tick = service::tick(
            &mut bridge,
            true,
            true,
            &Backoff::default(),
            ctx.clock.now(),
        )
        .map_err(|e| io_err("bridge run", e))?;
        if let Some(e) = tick.publish_error {
            eprintln!("warden bridge smoke: publish failed: {e}");
        }
        drop(lock);
    } else {
        eprintln!("warden bridge smoke: an executor is running; waiting for it");
    }
    let mut checks: Vec<(String, bool)>;
    loop {
        checks = warden_bridge::report::smoke_checks(&layout, &id);
        if checks.iter().all(|(_, ok)| *ok) || started.elapsed() > Duration::from_secs(timeout_secs)
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let ok = checks.iter().all(|(_, ok)| *ok);
    let secs = started.elapsed().as_secs_f64();
    if super::is_json(fmt) {
        output::json(&warden_bridge::report::SmokeReport::new(
            id.clone(),
            secs,
            &checks,
        ))?;
    } else {
        for (c, ok) in &checks {
            println!("{}  {c}", if *ok { "ok  " } else { "FAIL" });
        }
        println!(
            "smoke {} in {secs:.1}s (limit {timeout_secs}s): {id}",
            if ok { "passed" } else { "FAILED" }
        );
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        output::ExitStatus::Findings.into()
    })
}

/// See `warden_bridge::service::publish_summary` (also used by `warden status`).
fn status(root: &Path, fmt: Format) -> Result<ExitCode, CliError> {
    let layout = require_layout(root)?;
    let b = service::backlog(&layout);
    let report = service::StatusReport {
        schema: service::STATUS_SCHEMA_ID.into(),
        root: root.display().to_string(),
        backlog: b.pending_commands as usize,
        dead_letters: b
            .dead_letters
            .iter()
            .map(|(k, v)| (k.clone(), *v as usize))
            .collect(),
        archived: b.archived as usize,
        retries_gave_up: b.retries_gave_up,
        retries: warden_bridge::retries::load(&layout),
        last_publish: service::last_publish(&layout),
        executor: b.executor,
        secret_configured: matches!(env::bridge_secrets(), Ok(Some(_))),
    };
    output::emit(&report, fmt)?;
    Ok(ExitCode::SUCCESS)
}
