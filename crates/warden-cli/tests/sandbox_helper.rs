//! The small sandbox helper `warden-sandbox`: warden starts plugins through
//! it when it stands beside warden's executable and is of the same build,
//! and through `warden __sandbox` otherwise. The real binaries, a real `sh`
//! plugin; the sandboxed tests of `attacks.rs` and `git_dir.rs` run through
//! both helpers (`common::with_each_helper`).
// Tests drive real processes directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{HELPER_BIN, Repo};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use warden_isolate::helper::{BUILD_ID, EXIT_WRONG_BUILD, WRONG_BUILD_LINE};

/// A `warden-sandbox` beside a warden of its own: a script that logs its
/// arguments to `log` and then runs `then` (the real helper, maybe with
/// other arguments).
fn logging_helper(dir: &Path, log: &Path, then: &str) {
    let script = dir.join("warden-sandbox");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\n{then}\n",
            log.display()
        ),
    )
    .expect("write the helper");
    common::chmod(&script, 0o755);
}

/// An enabled `sh` plugin, committed; `warden run` of it, as JSON.
fn dispatch_sh_plugin(r: &Repo) -> Value {
    r.ok(&[
        "plugin",
        "new",
        "shb",
        "--event",
        "FileDetected",
        "--lang",
        "sh",
        "--yes",
    ]);
    r.ok(&["plugin", "enable", "shb", "--yes"]);
    r.git(&["add", "-A"]);
    r.git(&["commit", "-qm", "plugin"]);
    r.json(&["run", "FileDetected", "--yes"])
}

/// Every layer the record says the plugin got, and whether it faulted.
fn sandboxed_without_fault(report: &Value) {
    let rec = &report["plugins"][0];
    assert_eq!(rec["plugin"], json!("shb"), "{report:#}");
    assert!(rec["fault"].is_null(), "{rec:#}");
    assert_eq!(rec["sandbox"], json!("full"), "{rec:#}");
    assert_eq!(rec["isolation"]["privileges"], json!("enforced"), "{rec:#}");
}

fn lines(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn warden_starts_plugins_through_the_warden_sandbox_beside_it() {
    let (dir, warden) = common::warden_alone();
    let log = dir.path().join("helper.log");
    logging_helper(dir.path(), &log, &format!("exec '{HELPER_BIN}' \"$@\""));
    common::with_bin(warden, || {
        let r = Repo::new();
        let report = dispatch_sh_plugin(&r);
        sandboxed_without_fault(&report);
        let root = r.root.canonicalize().expect("root");
        let calls = lines(&log);
        // The probe, then the plugin: each with this build's id first.
        let plugin: Vec<&String> = calls
            .iter()
            .filter(|l| l.ends_with("-- sh src/handler.sh"))
            .collect();
        assert_eq!(plugin.len(), 1, "{calls:#?}");
        assert!(
            plugin[0].starts_with(&format!("--build {BUILD_ID} --scratch ")),
            "{calls:#?}"
        );
        assert!(
            plugin[0].contains(&format!(" --protect {} ", root.display())),
            "{calls:#?}"
        );
        // The helper enters the plugin's directory itself, so warden starts
        // it without one of its own (a vfork, not a copy of warden).
        assert!(
            plugin[0].contains(&format!(" --cwd {}/plugins/", root.display())),
            "{calls:#?}"
        );
        assert!(
            calls.iter().all(|l| l.starts_with("--build ")),
            "{calls:#?}"
        );
    });
}

#[test]
fn a_warden_sandbox_of_another_build_is_refused_and_warden_runs_its_own_helper() {
    let (dir, warden) = common::warden_alone();
    let log = dir.path().join("helper.log");
    // Another build: the real helper, handed an id that is not its own.
    logging_helper(
        dir.path(),
        &log,
        &format!("shift 2\nexec '{HELPER_BIN}' --build 0.0.0+another \"$@\""),
    );
    common::with_bin(warden, || {
        let r = Repo::new();
        let report = dispatch_sh_plugin(&r);
        sandboxed_without_fault(&report);
        // It was asked (with this build's id), refused, and the plugin still
        // ran in the full sandbox: through `warden __sandbox`.
        let calls = lines(&log);
        assert!(!calls.is_empty(), "the helper beside warden was not tried");
        assert!(
            calls
                .iter()
                .all(|l| l.starts_with(&format!("--build {BUILD_ID} "))),
            "{calls:#?}"
        );
        r.ok(&["ledger", "verify"]);
    });
}

/// The fallback: warden alone, no `warden-sandbox` beside it.
#[test]
fn warden_alone_runs_plugins_through_warden_sandbox_subcommand() {
    common::with_helper(common::Helper::Fallback, || {
        assert!(!common::bin().with_file_name("warden-sandbox").exists());
        let r = Repo::new();
        sandboxed_without_fault(&dispatch_sh_plugin(&r));
    });
}

fn helper(args: &[&str], scratch: &Path) -> std::process::Output {
    Command::new(HELPER_BIN)
        .args(args)
        .arg("--scratch")
        .arg(scratch)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .expect("warden-sandbox")
}

#[test]
fn the_helper_refuses_any_other_build_before_doing_anything_and_answers_its_own() {
    let scratch = tempfile::tempdir().expect("tempdir");
    for args in [
        vec!["--build", "0.0.0+another", "--probe"],
        vec!["--probe"],
        vec!["--build"],
    ] {
        let out = helper(&args, scratch.path());
        assert_eq!(out.status.code(), Some(EXIT_WRONG_BUILD), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!("{WRONG_BUILD_LINE}\n")
        );
        assert!(out.stdout.is_empty());
    }
    // Its own build: the same status line as `warden __sandbox --probe`.
    let own = helper(&["--build", BUILD_ID, "--probe"], scratch.path());
    assert_eq!(own.status.code(), Some(0));
    let fallback = Command::new(common::BIN)
        .args(["__sandbox", "--probe", "--scratch"])
        .arg(scratch.path())
        .output()
        .expect("warden __sandbox");
    assert_eq!(fallback.status.code(), Some(0));
    let first = |o: &std::process::Output| {
        String::from_utf8_lossy(&o.stderr)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    };
    assert!(first(&own).starts_with("warden-sandbox: "), "{own:?}");
    assert_eq!(first(&own), first(&fallback));
    // A malformed request of its own build is a usage error (exit 2).
    let bad = helper(
        &["--build", BUILD_ID, "--require-layer", "network"],
        scratch.path(),
    );
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&bad.stderr),
        "warden-sandbox: --require-layer: unknown isolation layer \"network\"\nhint: one of: filesystem, processes, signals, metadata, privileges\n"
    );
}

/// The helper links no argument parser and no JSON: far smaller than warden.
#[test]
fn the_helper_is_a_fraction_of_warden() {
    let size = |p: &str| std::fs::metadata(PathBuf::from(p)).expect("binary").len();
    let (helper, warden) = (size(HELPER_BIN), size(common::BIN));
    assert!(
        helper * 4 < warden,
        "warden-sandbox is {helper} bytes, warden {warden}"
    );
}
