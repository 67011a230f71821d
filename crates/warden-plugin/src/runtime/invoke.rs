//! One plugin process: start it (through the sandbox helper when there is
//! one), speak the protocol, enforce the limits, and read its answer.

use super::{Fault, FaultKind, Launcher, fault};
use crate::generate;
use crate::protocol::{FromPlugin, Output, ProtocolVersion, RequestInput, ToPlugin};
use crate::sandbox::{self, Isolation, IsolationLayer};
use crate::spec::{FEATURES, PROTOCOL_MAJOR, PluginSpec};
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};
use warden_core::process::{Cmd, End, Over, Sink};
use warden_isolate::helper::Request;

/// One plugin process: what it said and how it ended.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub exit: Option<i32>,
    pub duration_ms: u64,
    /// Every isolation layer, as the helper reported it.
    pub sandbox: Isolation,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub outcome: std::result::Result<Output, Fault>,
}

/// Start the plugin, send hello + request, collect its answer within limits.
/// The process runner (`warden_core::process`) owns the child: cleared
/// environment plus the launcher's list, its own process group, the
/// wall-clock limit, the stdout limit, and the kill of its whole tree.
pub fn invoke(
    root: &Path,
    spec: &PluginSpec,
    op: &str,
    event: &str,
    items: &[Value],
    launcher: &Launcher,
    require_sandbox: bool,
) -> Invocation {
    let started = Instant::now();
    let done = |exit, sandbox, stdout, stderr, outcome| Invocation {
        exit,
        duration_ms: started.elapsed().as_millis() as u64,
        sandbox,
        stdout,
        stderr,
        outcome,
    };
    // The plugin never started: nothing ran, nothing was printed.
    let not_started = |kind, message: String| {
        done(
            None,
            Isolation::NONE,
            Vec::new(),
            Vec::new(),
            Err(fault(kind, message)),
        )
    };
    if require_sandbox && launcher.helper.is_none() {
        return not_started(
            FaultKind::SandboxUnavailable,
            "plugins run without the sandbox helper here (WARDEN_SANDBOX=off) and the policy does not allow unsandboxed plugins (plugins.run_unsandboxed)".into(),
        );
    }
    let dir = generate::plugin_dir(root, &spec.key);
    let scratch = match tempfile::Builder::new().prefix("warden-plugin-").tempdir() {
        Ok(s) => s,
        Err(e) => {
            return not_started(
                FaultKind::SpawnFailed,
                format!("cannot create a scratch directory: {e}"),
            );
        }
    };
    let entry = spec.entry();
    let input = request_lines(op, event, items);
    let finish = |c: Cmd| configure(c, root, scratch.path(), spec, launcher, &input);
    let run = match sandbox_request(
        root,
        &dir,
        &entry,
        scratch.path(),
        launcher,
        require_sandbox,
    ) {
        // The helper enters the plugin's directory itself (see `Request::cwd`).
        Some(req) => launcher.run_helper(&req, finish),
        None => finish(Cmd::new(&entry[0]).args(&entry[1..]).cwd(&dir)).run(),
    };
    let finished = match run {
        Ok(f) => f,
        Err(e) => {
            return not_started(
                FaultKind::SpawnFailed,
                format!("cannot start `{}`: {e}", entry.join(" ")),
            );
        }
    };
    let (level, stderr) = split_status(finished.stderr, launcher);
    let stdout = finished.stdout;
    let exit = finished.code;
    if let Some(f) = cut_short(&finished.end, finished.orphans_left, spec) {
        // A timed-out plugin's exit status is the kill's, not its own.
        let exit = if matches!(finished.end, End::TimedOut) {
            None
        } else {
            exit
        };
        return done(exit, level, stdout, stderr, Err(f));
    }
    if let Some(f) = unavailable(exit, &level, launcher, require_sandbox) {
        return done(exit, level, stdout, stderr, Err(f));
    }
    let outcome = parse_output(&stdout, exit);
    done(exit, level, stdout, stderr, outcome)
}

/// The plugin's environment, input and limits, on the command that starts
/// it (through the helper or directly).
fn configure(
    c: Cmd,
    root: &Path,
    scratch: &Path,
    spec: &PluginSpec,
    launcher: &Launcher,
    input: &[u8],
) -> Cmd {
    c.envs(launcher.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("HOME", scratch)
        .env("TMPDIR", scratch)
        .env("CARGO_TARGET_DIR", scratch.join("target"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("WARDEN_REPO", root)
        .env("WARDEN_SCRATCH", scratch)
        .env("WARDEN_PLUGIN", &spec.key)
        .stdin_bytes(input.to_vec())
        .stdout(Sink::capture(spec.limits.max_output_bytes))
        .stderr(Sink::Capture {
            limit: spec.limits.max_output_bytes,
            over: Over::Discard,
        })
        .timeout(Duration::from_millis(spec.limits.timeout_ms))
}

/// What the sandbox helper is asked for the plugin's `entry`, started in
/// `dir`: the repository protected, the required layers named; `None` when
/// there is no helper (the plugin starts directly).
fn sandbox_request(
    root: &Path,
    dir: &Path,
    entry: &[String],
    scratch: &Path,
    launcher: &Launcher,
    require_sandbox: bool,
) -> Option<Request> {
    launcher.helper.as_ref()?;
    Some(Request {
        scratch: scratch.to_path_buf(),
        cwd: Some(dir.to_path_buf()),
        require: require_sandbox,
        // Empty unless the policy requires the sandbox, or the runtime
        // relies on these layers (a bounded snapshot).
        require_layer: launcher
            .require_isolation
            .iter()
            .map(|l| l.name().to_string())
            .collect(),
        // The working tree, and a git directory outside it (a linked
        // worktree's, a `--separate-git-dir`'s): the plugin changes neither.
        protect: std::iter::once(root.to_path_buf())
            .chain(crate::snapshot::git_dirs_outside(root))
            .collect(),
        probe: false,
        stage2: false,
        argv: entry.to_vec(),
    })
}

/// What warden writes on the plugin's stdin: the hello and the request, one
/// JSON line each.
fn request_lines(op: &str, event: &str, items: &[Value]) -> Vec<u8> {
    let mut input = Vec::new();
    for msg in [
        ToPlugin::Hello {
            protocol: ProtocolVersion {
                major: PROTOCOL_MAJOR,
                features: FEATURES.iter().map(|s| s.to_string()).collect(),
            },
        },
        ToPlugin::Request {
            op: op.into(),
            event: event.into(),
            input: RequestInput {
                items: items.to_vec(),
            },
        },
    ] {
        let _ = serde_json::to_writer(&mut input, &msg);
        input.push(b'\n');
    }
    input
}

/// The fault of a process the runner cut short: past its wall-clock limit,
/// or over its output limit; or of one whose leftover processes outran the
/// orphan sweep (whatever they do next happens after every check of the
/// run); `None` when it ended by itself.
fn cut_short(end: &End, orphans_left: bool, spec: &PluginSpec) -> Option<Fault> {
    if orphans_left {
        return Some(fault(
            FaultKind::ProcessesLeft,
            "it left processes that kept starting new ones faster than warden could kill them; some may still be running (run plugins in the sandbox, whose PID namespace ends them all)",
        ));
    }
    match end {
        End::TimedOut => Some(fault(
            FaultKind::TimedOut,
            format!(
                "ran longer than {} ms; its process tree was killed",
                spec.limits.timeout_ms
            ),
        )),
        End::OutputLimit => Some(fault(
            FaultKind::OutputTooLarge,
            format!(
                "wrote more than {} bytes to stdout (limits.max_output_bytes); it was killed",
                spec.limits.max_output_bytes
            ),
        )),
        End::Exited(_) | End::Signalled(_) => None,
    }
}

/// Take the helper's status line off the plugin's stderr: the isolation it
/// achieved, and the rest of stderr.
pub fn split_status(stderr: Vec<u8>, launcher: &Launcher) -> (Isolation, Vec<u8>) {
    if launcher.helper.is_none() {
        return (Isolation::NONE, stderr);
    }
    let text = String::from_utf8_lossy(&stderr);
    if let Some(first) = text.lines().next()
        && let Some(iso) = Isolation::parse(first)
    {
        let rest = stderr
            .iter()
            .position(|b| *b == b'\n')
            .map_or(Vec::new(), |i| stderr[i + 1..].to_vec());
        return (iso, rest);
    }
    (Isolation::NONE, stderr)
}

/// The helper refused to start the plugin (exit 125) because a layer the
/// policy requires is not enforced here: the `sandbox_unavailable` fault.
fn unavailable(
    exit: Option<i32>,
    iso: &Isolation,
    launcher: &Launcher,
    require_sandbox: bool,
) -> Option<Fault> {
    let layers = !launcher.require_isolation.is_empty();
    if exit != Some(sandbox::EXIT_UNENFORCED)
        || launcher.helper.is_none()
        || !(require_sandbox || layers)
    {
        return None;
    }
    let mut required = if require_sandbox {
        vec![IsolationLayer::Filesystem]
    } else {
        Vec::new()
    };
    for l in &launcher.require_isolation {
        if !required.contains(l) {
            required.push(*l);
        }
    }
    let missing = iso.missing(&required);
    if missing.is_empty() {
        return None;
    }
    let names: Vec<&str> = missing.iter().map(|l| l.name()).collect();
    Some(fault(
        FaultKind::SandboxUnavailable,
        format!(
            "this kernel does not enforce the isolation layer(s) {} that the policy requires (plugins.require_isolation; plugins.run_unsandboxed: true lets plugins run without them)",
            names.join(", ")
        ),
    ))
}

/// Read a plugin's stdout: a hello of this protocol major, then exactly one
/// response line, from a process that exited 0.
fn parse_output(stdout: &[u8], exit: Option<i32>) -> std::result::Result<Output, Fault> {
    let text = String::from_utf8_lossy(stdout);
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    check_hello(lines.next(), exit)?;
    let reply = read_reply(lines.next(), exit)?;
    if exit != Some(0) {
        return Err(crashed(exit));
    }
    if lines.next().is_some() {
        return Err(fault(
            FaultKind::GarbageOutput,
            "more than two lines on stdout (logs belong on stderr)",
        ));
    }
    match reply {
        FromPlugin::Response { output } => Ok(output),
        FromPlugin::Error { message } => Err(fault(FaultKind::PluginError, message)),
        FromPlugin::Hello { .. } => Err(fault(
            FaultKind::GarbageOutput,
            "a second hello instead of a response",
        )),
    }
}

/// The first line must be a hello of this protocol major. Without one, a
/// process that did not exit 0 crashed; one that did spoke garbage.
fn check_hello(first: Option<&str>, exit: Option<i32>) -> std::result::Result<(), Fault> {
    match first.map(serde_json::from_str::<FromPlugin>) {
        Some(Ok(FromPlugin::Hello { protocol })) if protocol.major != PROTOCOL_MAJOR => Err(fault(
            FaultKind::ProtocolMismatch,
            format!(
                "the plugin speaks protocol {}; this warden speaks {PROTOCOL_MAJOR}",
                protocol.major
            ),
        )),
        Some(Ok(FromPlugin::Hello { .. })) => Ok(()),
        _ if exit != Some(0) => Err(crashed(exit)),
        Some(_) => Err(fault(
            FaultKind::GarbageOutput,
            format!(
                "expected a hello line, got {:?}",
                clip(first.unwrap_or_default())
            ),
        )),
        None => Err(fault(FaultKind::GarbageOutput, "no output on stdout")),
    }
}

/// The line after the hello, parsed. A missing or unreadable one is garbage
/// from a process that exited 0 and a crash from one that did not.
fn read_reply(second: Option<&str>, exit: Option<i32>) -> std::result::Result<FromPlugin, Fault> {
    match second.map(serde_json::from_str::<FromPlugin>) {
        Some(Ok(r)) => Ok(r),
        Some(Err(e)) if exit == Some(0) => Err(fault(
            FaultKind::GarbageOutput,
            format!(
                "the response is not protocol JSON ({e}): {:?}",
                clip(second.unwrap_or_default())
            ),
        )),
        None if exit == Some(0) => Err(fault(
            FaultKind::GarbageOutput,
            "no response line after hello",
        )),
        _ => Err(crashed(exit)),
    }
}

/// A process that exited non-zero (`exit`) or was killed by a signal (`None`).
fn crashed(exit: Option<i32>) -> Fault {
    fault(
        FaultKind::Crashed,
        format!(
            "exited with {}",
            exit.map_or("a signal".into(), |c| format!("code {c}"))
        ),
    )
}

fn clip(s: &str) -> String {
    s.chars().take(200).collect()
}

/// The proposal a plugin's output stands for (canonical: keys sorted).
pub fn proposal_value(spec: &PluginSpec, event: &str, output: &Output) -> Value {
    json!({
        "schema": "warden.proposal/v1",
        "source": {"kind": "plugin", "id": spec.key},
        "event": event,
        "rationale": output.rationale,
        "actions": output.actions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::{Enforcement, Level};
    use std::path::PathBuf;

    #[test]
    fn a_refusal_for_a_missing_required_layer_is_sandbox_unavailable_naming_it() {
        let launcher = Launcher {
            helper: Some(PathBuf::from("warden")),
            require_isolation: vec![IsolationLayer::Processes, IsolationLayer::Filesystem],
            ..Launcher::default()
        };
        let iso = Isolation {
            filesystem: Level::Full,
            privileges: Enforcement::Enforced,
            ..Isolation::NONE
        };
        let f = unavailable(Some(sandbox::EXIT_UNENFORCED), &iso, &launcher, true)
            .expect("a required layer is missing");
        assert_eq!(f.kind, FaultKind::SandboxUnavailable);
        assert!(
            f.message
                .starts_with("this kernel does not enforce the isolation layer(s) processes that"),
            "{}",
            f.message
        );
        // A plugin's own exit 125 with every required layer in place is its own crash.
        let all = Isolation {
            processes: Enforcement::Enforced,
            ..iso
        };
        assert_eq!(
            unavailable(Some(sandbox::EXIT_UNENFORCED), &all, &launcher, true),
            None
        );
        assert_eq!(unavailable(Some(0), &iso, &launcher, true), None);
    }

    #[test]
    fn split_status_strips_the_helper_line_and_reads_every_layer() {
        let launcher = Launcher {
            helper: Some(PathBuf::from("warden")),
            ..Launcher::default()
        };
        let stderr = b"warden-sandbox: full processes=enforced signals=not_enforced metadata=enforced privileges=enforced\nplugin log\n".to_vec();
        let (iso, rest) = split_status(stderr, &launcher);
        assert_eq!(rest, b"plugin log\n");
        assert_eq!(iso.filesystem, Level::Full);
        assert!(iso.has(IsolationLayer::Metadata));
        assert!(!iso.has(IsolationLayer::Signals));
    }
}
