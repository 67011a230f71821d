//! The plugin attack matrix (issue 10, findings 2, 3, 4): hostile plugins,
//! run by the real binary in the real sandbox, try to read other processes'
//! environments, signal warden, outlive their run, and change metadata in
//! the repository. Each attack is prevented by the kernel, or detected,
//! restored and recorded — and `warden run` always ends with its ledger entry.

mod common;

use common::{Repo, chmod, mode};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const SECRET: &str = "hmac-secret-that-no-plugin-may-see-7f3a9c";

fn set_handler(r: &Repo, key: &str, code: &str) {
    let rel = format!("plugins/{key}/src/handler.py");
    let text = r.read(&rel);
    let start = text.find("# ---- DEVELOPER AREA").expect("dev area");
    let start = start + text[start..].find('\n').expect("eol") + 1;
    let end = text.find("# ---- END OF DEVELOPER AREA").expect("dev end");
    r.write(
        &rel,
        &format!("{}{}\n{}", &text[..start], code, &text[end..]),
    );
}

/// A python plugin on FileDetected whose handler is `code`.
fn hostile(r: &Repo, key: &str, priority: i64, code: &str, spec: impl FnOnce(&mut Value)) {
    r.ok(&[
        "plugin",
        "new",
        key,
        "--event",
        "FileDetected",
        "--lang",
        "python",
        "--yes",
    ]);
    set_handler(r, key, code);
    let rel = format!("plugins/{key}/plugin.spec.json");
    let mut v: Value = serde_json::from_str(&r.read(&rel)).expect("spec");
    v["priority"] = json!(priority);
    spec(&mut v);
    r.write(
        &rel,
        &(serde_json::to_string_pretty(&v).expect("json") + "\n"),
    );
    r.ok(&["plugin", "gen", key, "--yes"]);
    r.ok(&["plugin", "enable", key, "--yes"]);
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

#[test]
fn plugin_attack_matrix_is_prevented_or_restored_and_recorded() {
    let r = Repo::new();
    targets(&r);
    let iso = isolation(&r);
    let (processes, signals) = (
        iso["processes"] == json!(true),
        iso["signals"] == json!(true),
    );
    // Killing what a plugin can see is only safe to try where it sees only itself.
    assert!(
        processes && signals,
        "this test needs the PID namespace and signal isolation (root, or unprivileged user namespaces): {iso:#}"
    );
    let marker = format!("warden-attack-escaper-{}", std::process::id());
    hostile(
        &r,
        "environ",
        1,
        r#"import os, sys
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
"#,
        |_| {},
    );
    let kill_all_wardens = r#"import os, signal, sys, time
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
    hostile(
        &r,
        "killer",
        2,
        &format!(
            "{kill_all_wardens}def handle(event, items):\n    hit([signal.SIGSTOP, signal.SIGKILL])\n    return [], \"\"\n"
        ),
        |_| {},
    );
    hostile(
        &r,
        "stopper",
        3,
        &format!(
            "{kill_all_wardens}def handle(event, items):\n    hit([signal.SIGSTOP])\n    time.sleep(60)\n    return [], \"\"\n"
        ),
        |v| v["limits"] = json!({"timeout_ms": 1500}),
    );
    hostile(
        &r,
        "escaper",
        4,
        &format!(
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
        ),
        |_| {},
    );
    hostile(&r, "chmoder", 5, CHMODER, |_| {});
    r.git(&["add", "-A"]);
    r.git(&["commit", "-qm", "attackers"]);
    let journal = r.root.join(".warden/state/journal");
    let journal_mode = mode(&journal);
    let before = r.tree();
    let started = Instant::now();
    let out = r
        .cmd(&["run", "FileDetected", "--format", "json"])
        .env("GPT_BRIDGE_HMAC_SECRET", SECRET)
        .env("GITHUB_TOKEN", SECRET)
        .output()
        .expect("warden run");
    let took = started.elapsed();
    // warden was neither killed (137) nor stopped past its deadline.
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "warden run ended with {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(took < Duration::from_secs(30), "took {took:?}");
    let report: Value = serde_json::from_slice(&out.stdout).expect("report");
    let run = report["run"].as_str().expect("run").to_string();
    let by_key = |k: &str| {
        report["plugins"]
            .as_array()
            .expect("plugins")
            .iter()
            .find(|p| p["plugin"] == k)
            .cloned()
            .unwrap_or_else(|| panic!("{k} missing: {report:#}"))
    };
    for key in ["environ", "killer", "stopper", "escaper", "chmoder"] {
        let p = by_key(key);
        assert_eq!(
            p["isolation"],
            json!({"filesystem": "full", "processes": "enforced", "signals": "enforced",
                   "metadata": p["isolation"]["metadata"], "privileges": "enforced"}),
            "{key}: {p:#}"
        );
    }

    // Finding 2: no process's environment (or warden's command line) is visible.
    let log = stderr_log(&r, &run, "environ");
    assert!(log.contains("SCANNED"), "{log}");
    assert!(!log.contains(SECRET), "a plugin read the secret:\n{log}");
    assert!(
        !log.contains("FileDetected --format"),
        "a plugin read warden's command line:\n{log}"
    );

    // Finding 4: signals to warden go nowhere; the deadline holds.
    assert!(
        by_key("killer")["fault"].is_null(),
        "{:#}",
        by_key("killer")
    );
    let stopper = by_key("stopper");
    assert_eq!(stopper["fault"]["kind"], json!("timed_out"), "{stopper:#}");
    assert!(stopper["duration_ms"].as_u64().expect("ms") < 10_000);

    // Finding 3: metadata of files, directories and the journal is unchanged.
    let chm = by_key("chmoder");
    let log = stderr_log(&r, &run, "chmoder");
    if chm["isolation"]["metadata"] == json!("enforced") {
        assert!(chm["fault"].is_null(), "{chm:#}");
        assert!(
            !log.contains(": done"),
            "a metadata change got through:\n{log}"
        );
    } else {
        assert_eq!(chm["fault"]["kind"], json!("metadata_modified"), "{chm:#}");
    }
    assert_eq!(mode(&r.root.join("README.md")), 0o644);
    assert_eq!(mode(&r.root.join("run.sh")), 0o755);
    assert_eq!(mode(&r.root.join("src/main.rs")), 0o644);
    assert_eq!(mode(&r.root.join("src")), 0o750);
    assert_eq!(mode(&journal), journal_mode);

    // Finding 4: the double-forked, setsid child died with the run; its
    // delayed change never happens.
    assert_eq!(pgrep(&marker), "", "a plugin's child outlived the run");
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(pgrep(&marker), "");
    assert!(!r.root.join("late.txt").exists());
    assert_eq!(mode(&r.root.join("README.md")), 0o644);

    // The run is ledgered; the tree is what it was (plus warden's own records).
    let mut after = r.tree();
    after.retain(|k, _| !k.starts_with(".quarantine/"));
    let mut want = before;
    want.retain(|k, _| !k.starts_with(".quarantine/"));
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    r.ok(&["ledger", "verify"]);
    let entry = r.json(&["ledger", "show", &run]);
    assert_eq!(
        entry["details"]["plugins"].as_array().map(Vec::len),
        Some(5)
    );
    r.ok(&["status"]);
}

#[test]
fn metadata_changes_without_the_kernel_sandbox_are_restored_and_recorded() {
    let r = Repo::new();
    targets(&r);
    let policy = r
        .read(".warden/policy.yaml")
        .replace("run_unsandboxed: false", "run_unsandboxed: true");
    r.write(".warden/policy.yaml", &policy);
    hostile(&r, "chmoder", 1, CHMODER, |_| {});
    let journal = r.root.join(".warden/state/journal");
    let journal_mode = mode(&journal);
    let xattrs = rustix_free_xattr_probe(&r.root.join("README.md"));
    let out = r
        .cmd(&["run", "FileDetected", "--format", "json"])
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
    assert!(log.contains("chmod README.md 0777: done"), "{log}");
    assert_eq!(p["fault"]["kind"], json!("metadata_modified"), "{report:#}");
    let msg = p["fault"]["message"].as_str().expect("message");
    for want in [
        "README.md: mode 0644 -> 0777",
        "run.sh: mode 0755 -> 6755",
        "src/main.rs: mode 0644 -> 0000",
        "src: mode 0750 -> 0777",
        ".warden/state/journal: mode",
        "every change was rolled back",
    ] {
        assert!(msg.contains(want), "{want:?} not in {msg}");
    }
    if xattrs {
        assert!(
            msg.contains("src: mode 0750 -> 0777, xattrs user.evil"),
            "{msg}"
        );
        assert!(
            msg.contains("README.md: mode 0644 -> 0777, xattrs user.evil"),
            "{msg}"
        );
    }
    assert_eq!(mode(&r.root.join("README.md")), 0o644);
    assert_eq!(mode(&r.root.join("run.sh")), 0o755);
    assert_eq!(mode(&r.root.join("src/main.rs")), 0o644);
    assert_eq!(mode(&r.root.join("src")), 0o750);
    assert_eq!(mode(&journal), journal_mode);
    assert!(!has_xattr(&r.root.join("README.md"), "user.evil"));
    assert!(!has_xattr(&r.root.join("src"), "user.evil"));
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
