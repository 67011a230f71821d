//! The plugin attack matrix (issue 10, findings 2, 3, 4): hostile plugins,
//! run by the real binary in the real sandbox, try to read other processes'
//! environments, signal warden, outlive their run, and change metadata in
//! the repository. Each attack is prevented by the kernel, or detected,
//! restored and recorded — and `warden run` always ends with its ledger entry.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{Repo, chmod, mode, python_plugin};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const SECRET: &str = "hmac-secret-that-no-plugin-may-see-7f3a9c";

/// Snapshot filters, and the modes warden's state was created with (they
/// follow the umask).
fn state_modes(r: &Repo) -> insta::Settings {
    let mut s = common::snap::settings(r);
    s.add_filter(
        r"(\.warden/state(?:/journal)?): mode \d{4} ->",
        "$1: mode [MODE] ->",
    );
    s
}

/// The files the metadata attacks aim at, with known modes.
fn targets(r: &Repo) {
    r.write("README.md", "readme\n");
    r.write("run.sh", "#!/bin/sh\necho hi\n");
    r.write("src/main.rs", "fn main() {}\n");
    chmod(&r.root.join("README.md"), 0o644);
    chmod(&r.root.join("run.sh"), 0o755);
    chmod(&r.root.join("src/main.rs"), 0o644);
    chmod(&r.root.join("src"), 0o750);
}

const CHMODER: &str = r#"import os, sys
def handle(event, items):
    r = os.environ["WARDEN_REPO"]
    out = []
    def attempt(name, f):
        try:
            f()
            out.append(name + ": done")
        except Exception as e:
            out.append(name + ": " + type(e).__name__ + " " + str(e))
    attempt("chmod README.md 0777", lambda: os.chmod(os.path.join(r, "README.md"), 0o777))
    attempt("setuid run.sh", lambda: os.chmod(os.path.join(r, "run.sh"), 0o6755))
    attempt("chmod src/main.rs 000", lambda: os.chmod(os.path.join(r, "src/main.rs"), 0))
    attempt("chmod src 0777", lambda: os.chmod(os.path.join(r, "src"), 0o777))
    attempt("setxattr README.md", lambda: os.setxattr(os.path.join(r, "README.md"), "user.evil", b"1"))
    attempt("setxattr src", lambda: os.setxattr(os.path.join(r, "src"), "user.evil", b"1"))
    attempt("chmod journal 000", lambda: os.chmod(os.path.join(r, ".warden/state/journal"), 0))
    sys.stderr.write("\n".join(out) + "\n")
    return [], ""
"#;

fn stderr_log(r: &Repo, run: &str, key: &str) -> String {
    std::fs::read_to_string(r.root.join(format!(".runs/{run}/{key}.stderr.log")))
        .unwrap_or_default()
}

fn pgrep(pattern: &str) -> String {
    let out = std::process::Command::new("pgrep")
        .args(["-af", pattern])
        .output()
        .expect("pgrep");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.contains("pgrep"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether this kernel gives plugins every layer (the matrix asserts
/// prevention where it is enforced and only detection where it is not).
fn isolation(r: &Repo) -> Value {
    let st = r.json(&["status"]);
    let mut by = serde_json::Map::new();
    for l in st["isolation"].as_array().expect("isolation layers") {
        by.insert(
            l["layer"].as_str().expect("layer").to_string(),
            l["enforced"].clone(),
        );
    }
    Value::Object(by)
}

const ENVIRON: &str = r#"import os, sys
def handle(event, items):
    seen = []
    for d in sorted(os.listdir("/proc")):
        if not d.isdigit():
            continue
        for f in ("environ", "cmdline"):
            try:
                data = open("/proc/%s/%s" % (d, f), "rb").read()
                seen.append("%s/%s=%s" % (d, f, data.replace(b"\0", b" ").decode("latin-1")))
            except Exception as e:
                seen.append("%s/%s: %s" % (d, f, type(e).__name__))
    try:
        data = open("/proc/%d/environ" % os.getppid(), "rb").read()
        seen.append("parent environ=" + data.replace(b"\0", b" ").decode("latin-1"))
    except Exception as e:
        seen.append("parent: " + type(e).__name__)
    sys.stderr.write("SCANNED %d\n%s\n" % (len(seen), "\n".join(seen)))
    return [], ""
"#;

/// Signal the parent and every process named warden that the plugin can see.
const SIGNAL_WARDENS: &str = r#"import os, signal, sys, time
def wardens():
    found = {os.getppid()}
    for d in os.listdir("/proc"):
        if d.isdigit() and int(d) != os.getpid():
            try:
                if "warden" in open("/proc/%s/comm" % d).read():
                    found.add(int(d))
            except Exception:
                pass
    return found
def hit(sigs):
    for pid in sorted(wardens()):
        for sig in sigs:
            try:
                os.kill(pid, sig)
                sys.stderr.write("sent %d to %d\n" % (sig, pid))
            except Exception as e:
                sys.stderr.write("signal %d to %d: %s\n" % (sig, pid, e))
"#;

fn escaper(marker: &str) -> String {
    format!(
        r#"import os
def handle(event, items):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execvp("sh", ["sh", "-c", 'sleep 2; chmod 777 "$WARDEN_REPO/README.md"; echo late > "$WARDEN_REPO/late.txt" # {marker}'])
        os._exit(0)
    os.wait()
    return [], ""
"#
    )
}

/// A repository whose kernel gives plugins their own PID namespace and
/// signal isolation: signalling everything a plugin sees is only safe there.
fn isolated_repo() -> Repo {
    let r = Repo::new();
    targets(&r);
    let iso = isolation(&r);
    assert!(
        iso["processes"] == json!(true) && iso["signals"] == json!(true),
        "these tests need the PID namespace and signal isolation (root, or unprivileged user namespaces): {iso:#}"
    );
    r
}

/// `warden run FileDetected` with a secret in warden's environment. Checks
/// what every attack must leave intact: warden ends normally (not killed,
/// not stopped past its deadline) with its ledger entry, every plugin ran
/// with every process layer, the ledger verifies. Returns the report.
fn dispatch(r: &Repo, plugins: usize) -> Value {
    r.git(&["add", "-A"]);
    r.git(&["commit", "-qm", "attackers"]);
    let started = Instant::now();
    let out = r
        .cmd(&["run", "FileDetected", "--yes", "--format", "json"])
        .env("GPT_BRIDGE_HMAC_SECRET", SECRET)
        .env("GITHUB_TOKEN", SECRET)
        .output()
        .expect("warden run");
    let took = started.elapsed();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "warden run ended with {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(took < Duration::from_secs(30), "took {took:?}");
    let report: Value = serde_json::from_slice(&out.stdout).expect("report");
    let records = report["plugins"].as_array().expect("plugins");
    assert_eq!(records.len(), plugins, "{report:#}");
    for p in records {
        assert_eq!(p["isolation"]["processes"], json!("enforced"), "{p:#}");
        assert_eq!(p["isolation"]["signals"], json!("enforced"), "{p:#}");
        assert_eq!(p["isolation"]["privileges"], json!("enforced"), "{p:#}");
    }
    r.ok(&["ledger", "verify"]);
    let run = report["run"].as_str().expect("run");
    let entry = r.json(&["ledger", "show", run]);
    assert_eq!(
        entry["details"]["plugins"].as_array().map(Vec::len),
        Some(plugins)
    );
    r.ok(&["status"]);
    report
}

fn record<'a>(report: &'a Value, key: &str) -> &'a Value {
    report["plugins"]
        .as_array()
        .expect("plugins")
        .iter()
        .find(|p| p["plugin"] == key)
        .unwrap_or_else(|| panic!("{key} missing: {report:#}"))
}

#[test]
fn plugins_cannot_read_the_bridge_secret_from_any_process_environment() {
    common::with_each_helper(|_| {
        let r = isolated_repo();
        python_plugin(&r, "environ", 1, ENVIRON, |_| {});
        let report = dispatch(&r, 1);
        let log = stderr_log(&r, report["run"].as_str().expect("run"), "environ");
        // The plugin's stderr log: what it found among every process it scanned.
        assert!(log.contains("SCANNED"), "{log}");
        assert!(!log.contains(SECRET), "a plugin read the secret:\n{log}");
        assert!(
            !log.contains("FileDetected --format"),
            "a plugin read warden's command line:\n{log}"
        );
    });
}

#[test]
fn sigkill_and_sigstop_to_warden_neither_kill_it_nor_stretch_its_deadline() {
    common::with_each_helper(|_| {
        let r = isolated_repo();
        python_plugin(
            &r,
            "killer",
            1,
            &format!(
                "{SIGNAL_WARDENS}def handle(event, items):\n    hit([signal.SIGSTOP, signal.SIGKILL])\n    return [], \"\"\n"
            ),
            |_| {},
        );
        python_plugin(
            &r,
            "stopper",
            2,
            &format!(
                "{SIGNAL_WARDENS}def handle(event, items):\n    hit([signal.SIGSTOP])\n    time.sleep(60)\n    return [], \"\"\n"
            ),
            |v| v["limits"] = json!({"timeout_ms": 1500}),
        );
        let report = dispatch(&r, 2);
        let killer = record(&report, "killer");
        assert!(killer["fault"].is_null(), "{killer:#}");
        let stopper = record(&report, "stopper");
        assert_eq!(stopper["fault"]["kind"], json!("timed_out"), "{stopper:#}");
        assert!(stopper["duration_ms"].as_u64().expect("ms") < 10_000);
    });
}

#[test]
fn setsid_double_forked_children_die_with_the_run_and_make_no_delayed_change() {
    common::with_each_helper(|_| {
        let r = isolated_repo();
        let marker = format!("warden-attack-escaper-{}", std::process::id());
        python_plugin(&r, "escaper", 1, &escaper(&marker), |_| {});
        let report = dispatch(&r, 1);
        assert!(record(&report, "escaper")["fault"].is_null(), "{report:#}");
        assert_eq!(pgrep(&marker), "", "a plugin's child outlived the run");
        std::thread::sleep(Duration::from_millis(2500));
        assert_eq!(pgrep(&marker), "");
        assert!(!r.root.join("late.txt").exists());
        assert_eq!(mode(&r.root.join("README.md")), 0o644);
    });
}

#[test]
fn chmod_setuid_and_xattrs_on_files_directories_and_the_journal_are_prevented_or_restored() {
    common::with_each_helper(|_| {
        let r = isolated_repo();
        python_plugin(&r, "chmoder", 1, CHMODER, |_| {});
        let journal = r.root.join(".warden/state/journal");
        let journal_mode = mode(&journal);
        let before = r.tree();
        let report = dispatch(&r, 1);
        let chm = record(&report, "chmoder");
        let log = stderr_log(&r, report["run"].as_str().expect("run"), "chmoder");
        if chm["isolation"]["metadata"] == json!("enforced") {
            assert!(chm["fault"].is_null(), "{chm:#}");
            assert!(
                !log.contains(": done"),
                "a metadata change got through:\n{log}"
            );
        } else {
            assert_eq!(chm["fault"]["kind"], json!("metadata_modified"), "{chm:#}");
        }
        assert_targets_as_they_were(&r, &journal, journal_mode);
        let mut after = r.tree();
        after.retain(|k, _| !k.starts_with(".quarantine/"));
        assert_eq!(after, before);
    });
}

#[test]
fn metadata_changes_without_the_kernel_sandbox_are_restored_and_recorded() {
    let r = Repo::new();
    targets(&r);
    let policy = r
        .read(".warden/policy.yaml")
        .replace("run_unsandboxed: false", "run_unsandboxed: true");
    r.write(".warden/policy.yaml", &policy);
    python_plugin(&r, "chmoder", 1, CHMODER, |_| {});
    let journal = r.root.join(".warden/state/journal");
    let journal_mode = mode(&journal);
    let xattrs = rustix_free_xattr_probe(&r.root.join("README.md"));
    let out = r
        .cmd(&["run", "FileDetected", "--yes", "--format", "json"])
        .env("WARDEN_SANDBOX", "off")
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    let p = &report["plugins"][0];
    let run = report["run"].as_str().expect("run");
    let log = stderr_log(&r, run, "chmoder");
    // The plugin's own stderr log, among the runtime's lines.
    assert!(log.contains("chmod README.md 0777: done"), "{log}");
    assert_eq!(p["fault"]["kind"], json!("metadata_modified"), "{report:#}");
    let msg = p["fault"]["message"].as_str().expect("message");
    // Extended attributes are named only where the filesystem has them.
    if xattrs {
        for want in [
            "src: mode 0750 -> 0777, xattrs user.evil",
            "README.md: mode 0644 -> 0777, xattrs user.evil",
        ] {
            assert!(msg.contains(want), "{want:?} not in {msg}");
        }
    }
    let msg = msg.replace(", xattrs user.evil", "");
    state_modes(&r).bind(|| insta::assert_snapshot!("metadata_modified_without_the_sandbox", msg));
    assert_targets_as_they_were(&r, &journal, journal_mode);
    // The repository keeps working.
    r.ok(&["ledger", "verify"]);
    r.ok(&["status"]);
    let entry = r.json(&["ledger", "show", run]);
    assert_eq!(
        entry["details"]["plugins"][0]["fault"]["kind"],
        json!("metadata_modified")
    );
}

/// Whether user xattrs work here (setfattr-free: python).
fn rustix_free_xattr_probe(p: &std::path::Path) -> bool {
    std::process::Command::new("python3")
        .args([
            "-c",
            "import os,sys; os.setxattr(sys.argv[1], 'user.probe', b'1'); os.removexattr(sys.argv[1], 'user.probe')",
        ])
        .arg(p)
        .status()
        .is_ok_and(|s| s.success())
}

/// The chmod/xattr targets (`targets`) and the journal have their modes
/// back and no `user.evil` attribute.
fn assert_targets_as_they_were(r: &Repo, journal: &std::path::Path, journal_mode: u32) {
    assert_eq!(mode(&r.root.join("README.md")), 0o644);
    assert_eq!(mode(&r.root.join("run.sh")), 0o755);
    assert_eq!(mode(&r.root.join("src/main.rs")), 0o644);
    assert_eq!(mode(&r.root.join("src")), 0o750);
    assert_eq!(mode(journal), journal_mode);
    assert!(!has_xattr(&r.root.join("README.md"), "user.evil"));
    assert!(!has_xattr(&r.root.join("src"), "user.evil"));
}

fn has_xattr(p: &std::path::Path, name: &str) -> bool {
    std::process::Command::new("python3")
        .args([
            "-c",
            "import os,sys; sys.exit(0 if sys.argv[2] in os.listxattr(sys.argv[1]) else 1)",
        ])
        .arg(p)
        .arg(name)
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether this test can run commands as an unprivileged user: it runs as
/// root and has `setpriv`.
fn can_become_nobody() -> bool {
    let is_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n");
    let setpriv = std::process::Command::new("setpriv")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    is_root && setpriv
}

/// The user-namespace path of the helper: an unprivileged user still gets
/// its own PID namespace and /proc, a read-only repository and no
/// privileges (where the kernel allows unprivileged user namespaces).
#[test]
fn an_unprivileged_user_gets_every_layer_through_a_user_namespace() {
    if !can_become_nobody() {
        eprintln!("skipped: needs root and setpriv to become an unprivileged user");
        return;
    }
    // Both helpers: the small `warden-sandbox` (with this build's id) and
    // `warden __sandbox`.
    let build = warden_isolate::helper::BUILD_ID;
    for (exe, prefix) in [
        (common::HELPER_BIN, vec!["--build", build]),
        (common::BIN, vec!["__sandbox"]),
    ] {
        eprintln!("---- through {exe}");
        unprivileged_helper_gets_every_layer(exe, &prefix);
    }
}

fn unprivileged_helper_gets_every_layer(exe: &str, prefix: &[&str]) {
    use std::os::unix::fs::{PermissionsExt, chown};
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let bin = dir.path().join("helper");
    std::fs::copy(exe, &bin).expect("copy the helper");
    let repo = dir.path().join("repo");
    let scratch = dir.path().join("scratch");
    for d in [&repo, &scratch] {
        std::fs::create_dir(d).expect("mkdir");
        chown(d, Some(65534), Some(65534)).expect("chown");
    }
    std::fs::write(repo.join("f"), "x\n").expect("write");
    chown(repo.join("f"), Some(65534), Some(65534)).expect("chown");
    chmod(&repo.join("f"), 0o644);
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&bin)
        .args(prefix)
        .arg("--scratch")
        .arg(&scratch)
        .arg("--protect")
        .arg(&repo)
        .args(["--", "sh", "-c"])
        .arg("ls /proc | grep -c '^[0-9]'; chmod 777 f; touch g; touch \"$0/ok\"")
        .arg(&scratch)
        .current_dir(&repo)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .expect("helper");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let status = stderr.lines().next().unwrap_or_default();
    if status.contains("processes=not_enforced") {
        eprintln!("skipped: this kernel refuses unprivileged user namespaces ({status})");
        return;
    }
    assert_eq!(
        status,
        "warden-sandbox: full processes=enforced signals=enforced metadata=enforced privileges=enforced",
        "{stderr}"
    );
    // Only the namespace's own processes: the helper, sh, ls, grep.
    let visible: u32 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("count");
    assert!(visible <= 4, "{visible} processes visible");
    // The OS's own message for the read-only mount.
    assert!(stderr.contains("Read-only file system"), "{stderr}");
    assert_eq!(mode(&repo.join("f")), 0o644);
    assert!(!repo.join("g").exists());
    assert!(
        scratch.join("ok").exists(),
        "the scratch directory stays writable"
    );
}

/// `warden status` names every layer, which the policy requires, and fails
/// (exit 1) when a required one is missing.
#[test]
fn status_names_every_layer_and_fails_when_a_required_one_is_missing() {
    let r = Repo::new();
    let policy = r.read(".warden/policy.yaml").replace(
        "run_unsandboxed: false",
        "run_unsandboxed: false\n  require_isolation: [filesystem, processes, metadata]",
    );
    r.write(".warden/policy.yaml", &policy);
    let st = r.json(&["status"]);
    let layers: Vec<(String, bool)> = st["isolation"]
        .as_array()
        .expect("isolation")
        .iter()
        .map(|l| {
            (
                l["layer"].as_str().expect("layer").to_string(),
                l["required"].as_bool().expect("required"),
            )
        })
        .collect();
    assert_eq!(
        layers,
        [
            ("filesystem".to_string(), true),
            ("processes".to_string(), true),
            ("signals".to_string(), false),
            ("metadata".to_string(), true),
            ("privileges".to_string(), false),
        ]
    );
    let text = r.ok(&["status"]);
    // Which layers are enforced depends on this kernel (the whole status
    // is snapshotted without the sandbox below).
    assert!(
        text.contains("  processes     enforced (required)"),
        "{text}"
    );
    // Without the helper nothing is enforced: a required layer is missing.
    let out = r
        .cmd(&["status"])
        .env("WARDEN_SANDBOX", "off")
        .output()
        .expect("status");
    let off = common::snap::output("status (WARDEN_SANDBOX=off)", &out);
    common::snap::settings(&r)
        .bind(|| insta::assert_snapshot!("status_without_the_sandbox_required_layers", off));
}

/// Finding 3 as the issue saw it: a non-root user without the kernel
/// sandbox, whose plugin makes the journal, `.warden/state` and a source
/// directory unreadable. Every later command used to fail; now the changes
/// are restored at once, the run is recorded, and the next commands work.
#[test]
fn chmod_000_of_the_journal_as_non_root_no_longer_breaks_later_commands() {
    use std::os::unix::fs::PermissionsExt;
    if !can_become_nobody() {
        eprintln!("skipped: needs root and setpriv to become an unprivileged user");
        return;
    }
    let r = Repo::new();
    targets(&r);
    let policy = r
        .read(".warden/policy.yaml")
        .replace("run_unsandboxed: false", "run_unsandboxed: true");
    r.write(".warden/policy.yaml", &policy);
    python_plugin(
        &r,
        "locker",
        1,
        r#"import os
def handle(event, items):
    r = os.environ["WARDEN_REPO"]
    os.chmod(os.path.join(r, ".warden/state/journal"), 0)
    os.chmod(os.path.join(r, "src"), 0)
    os.chmod(os.path.join(r, ".warden/state"), 0)
    return [], ""
"#,
        |_| {},
    );
    let bin = r.home.path().join("warden-bin");
    std::fs::copy(common::BIN, &bin).expect("copy warden");
    std::fs::set_permissions(r.home.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod home");
    let chown = std::process::Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(r.home.path())
        .status()
        .expect("chown");
    assert!(chown.success());
    let as_nobody = |args: &[&str]| {
        let mut c = common::isolated("setpriv", r.home.path());
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin)
            .args(args)
            .current_dir(&r.root)
            .env("WARDEN_SANDBOX", "off");
        c.output().expect("warden as nobody")
    };
    let journal = r.root.join(".warden/state/journal");
    let journal_mode = mode(&journal);
    let out = as_nobody(&["run", "FileDetected", "--yes", "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("report");
    let p = &report["plugins"][0];
    assert_eq!(p["fault"]["kind"], json!("metadata_modified"), "{report:#}");
    let msg = p["fault"]["message"].as_str().expect("message");
    state_modes(&r).bind(|| insta::assert_snapshot!("metadata_modified_as_non_root", msg));
    assert_eq!(mode(&journal), journal_mode);
    assert_eq!(mode(&r.root.join("src")), 0o750);
    for cmd in [&["status"][..], &["runs"], &["ledger", "verify"]] {
        let out = as_nobody(cmd);
        assert_eq!(
            out.status.code(),
            Some(0),
            "warden {cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
