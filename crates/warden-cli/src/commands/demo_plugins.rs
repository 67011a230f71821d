//! The plugin part of `warden demo`: scaffold a plugin, validate, enable, fire
//! its event, show the proposal applied and ledgered, then the validator and
//! the runtime refusing a tampered plugin. Runs the real `warden` commands.

use crate::output::CliError;
use std::path::Path;
use warden_core::process::Cmd;

fn io(e: std::io::Error) -> CliError {
    CliError::usage(e.to_string(), None)
}

/// Run this warden binary in `root` (the demos of every subsystem use it).
pub(super) fn warden(root: &Path, args: &[&str]) -> Result<(i32, String), CliError> {
    let exe = std::env::current_exe()
        .map_err(|e| CliError::usage(format!("cannot find warden itself: {e}"), None))?;
    // The demo's own warden sees the children's base environment and the
    // sandbox switch, nothing else.
    let out = Cmd::new(exe)
        .args(args)
        .cwd(root)
        .envs(crate::env::child_env())
        .envs(crate::env::sandbox_switch().map(|v| ("WARDEN_SANDBOX", v)))
        .timeout(std::time::Duration::from_secs(600))
        .run()
        .map_err(|e| CliError::usage(format!("cannot run warden: {e}"), None))?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Ok((out.code.unwrap_or(-1), text))
}

/// Print a command and (the last `max` lines of) what it said.
pub(super) fn show(cmd: &str, out: &str, max: usize) {
    println!("   $ warden {cmd}");
    let lines: Vec<&str> = out.lines().collect();
    let from = lines.len().saturating_sub(max);
    if from > 0 {
        println!("     … ({from} more lines)");
    }
    for l in &lines[from..] {
        println!("     {l}");
    }
}

/// Steps `first`.. of the demo. Returns whether everything behaved as promised.
pub fn run(root: &Path, first: u32, step: fn(u32, &str), say: fn(&str)) -> Result<bool, CliError> {
    let mut ok = true;
    step(first, "A plugin from one spec");
    let (code, out) = warden(
        root,
        &[
            "plugin",
            "new",
            "tidy",
            "--event",
            "FileDetected",
            "--lang",
            "python",
            "--description",
            "Quarantines temporary files.",
            "--yes",
        ],
    )?;
    ok &= code == 0;
    show(
        "plugin new tidy --event FileDetected --lang python --yes",
        &out,
        2,
    );
    say(
        "One hand-written file (plugins/tidy/plugin.spec.json) and everything derived from it:\n\
         a manifest with a checksum of every file, the ledger contract, a policy snapshot, the\n\
         README, health checks, a handler with AUTO fences around the tool-managed parts,\n\
         schemas, examples and a test per operation, and an immutable ID card in ids/cards/.",
    );

    step(first + 1, "Test, validate, enable");
    let (code, out) = warden(root, &["plugin", "test", "tidy"])?;
    ok &= code == 0;
    show("plugin test tidy", &out, 8);
    let (code, out) = warden(root, &["plugin", "validate", "tidy"])?;
    ok &= code == 0;
    show("plugin validate tidy", &out, 4);
    let (code, out) = warden(root, &["plugin", "enable", "tidy", "--yes"])?;
    ok &= code == 0;
    show("plugin enable tidy --yes", &out, 1);
    say(
        "Only a plugin that validates can be enabled; enabling pins its manifest digest in\n\
         plugins/registry.json as a ledgered, undoable run.",
    );

    step(first + 2, "Fire the event");
    ok &= fire_file_detected(root)?;
    say(
        "The plugin ran in the sandbox (Landlock where the kernel has it: the repository\n\
         read-only, a scratch directory its only writable place) and only proposed; the core\n\
         checked the proposal against the policy and applied it as its own undoable run:\n\
         scratch.tmp is now in .quarantine/.",
    );

    step(first + 3, "Tamper with the plugin");
    let handler = root.join("plugins/tidy/src/handler.py");
    let text = std::fs::read_to_string(&handler).map_err(io)?;
    std::fs::write(&handler, text.replace("\"temporary file\"", "\"gone\"")).map_err(io)?;
    let (code, out) = warden(root, &["plugin", "validate", "tidy"])?;
    ok &= code == 1;
    show("plugin validate tidy", &out, 3);
    let (code, out) = warden(root, &["run", "FileDetected", "--yes"])?;
    ok &= code == 1;
    show("run FileDetected", &out, 2);
    say(
        "A hand change to the plugin breaks its checksums: the validator names the file and\n\
         the fix, and the runtime refuses the plugin until it validates and is enabled again.",
    );
    Ok(ok)
}

/// Step 3's event: a stray `scratch.tmp` is reported as FileDetected with
/// `warden run`; true when it ran and the file went to the quarantine.
fn fire_file_detected(root: &Path) -> Result<bool, CliError> {
    std::fs::write(root.join("scratch.tmp"), "leftover\n").map_err(io)?;
    let sum = warden_core::Digest::of(b"leftover\n");
    std::fs::write(
        root.join(".runs/demo-input.json"),
        format!("{{\"path\":\"scratch.tmp\",\"sha256\":\"{sum}\",\"size\":9}}"),
    )
    .map_err(io)?;
    let (code, out) = warden(
        root,
        &[
            "run",
            "FileDetected",
            "--yes",
            "--input",
            ".runs/demo-input.json",
        ],
    )?;
    let fired = code == 0 && !root.join("scratch.tmp").exists();
    show("run FileDetected --input .runs/demo-input.json", &out, 4);
    Ok(fired)
}
