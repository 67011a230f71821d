//! End-to-end tests of `warden bridge`: the real binary, real git repositories
//! with local bare remotes in temp dirs, `GIT_CONFIG_NOSYSTEM=1`, HOME in a
//! temp dir, no network. Child processes are killed and reaped by each test.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use warden_testkit::git::git as git_in;

use common::{BIN, isolated};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const SECRET: &str = "e2e-secret-c2VjcmV0";
const SMOKE_PY: &str = include_str!("../../warden-bridge/tests/fixtures/smoke.py");

struct Cloud {
    home: tempfile::TempDir,
    remote: PathBuf,
    root: PathBuf,
}

impl Cloud {
    /// A bare remote and a first clone with warden and a bridge root, pushed.
    fn new() -> Cloud {
        let home = tempfile::tempdir().expect("tempdir");
        let base = home.path().canonicalize().expect("canon");
        git_in(
            &base,
            &base,
            &[
                "init",
                "-q",
                "--bare",
                "--initial-branch=main",
                "remote.git",
            ],
        );
        git_in(&base, &base, &["clone", "-q", "remote.git", "cloud"]);
        let root = base.join("cloud");
        git_in(&root, &base, &["checkout", "-q", "-b", "main"]);
        let c = Cloud {
            remote: base.join("remote.git"),
            root,
            home,
        };
        c.ok(&c.root, &["init"]);
        c.ok(&c.root, &["bridge", "init"]);
        std::fs::write(c.root.join("README.md"), "cloud\n").expect("write");
        c.git(&c.root, &["add", "-A"]);
        c.git(&c.root, &["commit", "-q", "-m", "cloud"]);
        c.git(&c.root, &["push", "-q", "-u", "origin", "main"]);
        c
    }

    fn base(&self) -> PathBuf {
        self.home.path().canonicalize().expect("canon")
    }

    fn git(&self, dir: &Path, args: &[&str]) -> String {
        git_in(dir, &self.base(), args)
    }

    /// Another clone of the remote, set up as a bridge root.
    fn clone(&self, name: &str) -> PathBuf {
        self.git(&self.base(), &["clone", "-q", "remote.git", name]);
        let dir = self.base().join(name);
        self.ok(&dir, &["init"]);
        self.ok(&dir, &["bridge", "init"]);
        dir
    }

    fn warden(&self, root: &Path, args: &[&str]) -> Command {
        let mut c = isolated(BIN, &self.base());
        c.env("CLOUD", root)
            .env("GPT_BRIDGE_HMAC_SECRET", SECRET)
            .args(args)
            .current_dir(root);
        c
    }

    fn run(&self, root: &Path, args: &[&str]) -> Output {
        self.warden(root, args).output().expect("warden")
    }

    fn ok(&self, root: &Path, args: &[&str]) -> String {
        let out = self.run(root, args);
        assert!(
            out.status.success(),
            "warden {args:?} ({:?}):\nstdout: {}\nstderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn remote_subjects(&self) -> Vec<String> {
        self.git(&self.remote, &["log", "--format=%s", "main"])
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn ledger(&self, root: &Path) -> Vec<Value> {
        let out = self.ok(root, &["ledger", "log", "--format", "json"]);
        serde_json::from_str::<Value>(&out).expect("json")["entries"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

fn once(c: &Cloud, root: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["bridge", "run", "--once", "--settle-ms", "0"];
    args.extend_from_slice(extra);
    c.run(root, &args)
}

/// Another clone changes `files` (path, content) and pushes them as `subject`.
fn someone_else_pushes(c: &Cloud, subject: &str, files: &[(&str, &str)]) {
    let other = c.clone("other");
    for (path, content) in files {
        std::fs::write(other.join(path), content).expect("write");
    }
    c.git(&other, &["commit", "-q", "-am", subject]);
    c.git(&other, &["push", "-q"]);
}

/// `warden bridge run --once` in the bridge root, which must succeed.
fn once_ok(c: &Cloud) {
    let out = once(c, &c.root, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `warden bridge new write --id ID --path PATH --content CONTENT` in the bridge root.
fn new_write(c: &Cloud, id: &str, path: &str, content: &str) {
    c.ok(
        &c.root,
        &[
            "bridge",
            "new",
            "write",
            "--id",
            id,
            "--path",
            path,
            "--content",
            content,
        ],
    );
}

/// The inbound commands left in ROOT/commands/ (its `.gitkeep` is no command).
fn inbox(root: &Path) -> Vec<String> {
    let mut v = files(&root.join("commands"));
    v.retain(|f| f != ".gitkeep");
    v
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn the_seed_smoke_script_runs_unchanged_and_is_accepted_and_published() {
    let c = Cloud::new();
    let id = the_smoke_script_signs_a_command(&c);
    let started = Instant::now();
    let run = once(&c, &c.root, &[]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    the_command_is_published_once(&c, &id);
    the_integrity_record_is_complete(&c, &id);
    // The staged set was only the safe directories: of commands/, only its
    // .gitkeep (committed by the operator) is tracked.
    let tracked = c.git(&c.remote, &["ls-tree", "-r", "--name-only", "main"]);
    assert!(
        !tracked
            .lines()
            .any(|l| l.starts_with("commands/") && l != "commands/.gitkeep"),
        "{tracked}"
    );
    // The secret is nowhere on disk (bridge root, git objects, warden state).
    assert_no_secret(&c.root);
    // Ledgered as a bridge run.
    let ledger = c.ledger(&c.root);
    assert!(
        ledger
            .iter()
            .any(|e| e["actor"]["id"] == json!(id) && e["actor"]["kind"] == json!("bridge"))
    );
}

/// Runs the seed's Python signer unchanged; returns the id of the command it dropped.
fn the_smoke_script_signs_a_command(c: &Cloud) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(SMOKE_PY)
        .env_clear()
        .env("CLOUD", &c.root)
        .env("GPT_BRIDGE_HMAC_SECRET", SECRET)
        .output()
        .expect("python3 is required: the original signer is Python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Path::new(&path)
        .file_stem()
        .expect("stem")
        .to_string_lossy()
        .into_owned()
}

/// The command `id`'s archive, result, integrity record and diff exist.
fn outputs_exist(c: &Cloud, id: &str, point: &str) {
    for p in [
        format!("archive/{id}.json"),
        format!("results/{id}.json"),
        format!("results/{id}.integrity.json"),
        format!("diffs/{id}.patch"),
    ] {
        assert!(c.root.join(&p).is_file(), "{point}: {p} missing");
    }
}

/// Its archive, result, integrity record and diff exist, and one commit published them.
fn the_command_is_published_once(c: &Cloud, id: &str) {
    outputs_exist(c, id, "");
    // The archive is the command byte for byte.
    let subject = format!("bridge: results {id} (exit=0)");
    let subjects = c.remote_subjects();
    assert_eq!(
        subjects.iter().filter(|s| **s == subject).count(),
        1,
        "{subjects:?}"
    );
    assert!(inbox(&c.root).is_empty());
    assert!(!c.root.join("commands/.retries.json").exists());
}

fn the_integrity_record_is_complete(c: &Cloud, id: &str) {
    let integrity: Value = serde_json::from_slice(
        &std::fs::read(c.root.join(format!("results/{id}.integrity.json"))).expect("read"),
    )
    .expect("json");
    for k in [
        "id",
        "input_sha256",
        "result_sha256",
        "diff_sha256",
        "issued_at",
        "executed_at",
        "duration_ms",
        "files_changed",
        "constraints",
        "limits_ok",
        "hmac_ok",
        "exit_code",
    ] {
        assert!(integrity.get(k).is_some(), "integrity lacks {k}");
    }
    assert_eq!(integrity["hmac_ok"], json!(true));
    let result = std::fs::read(c.root.join(format!("results/{id}.json"))).expect("read");
    assert_eq!(
        integrity["result_sha256"],
        json!(warden_core::Digest::of(&result).to_string())
    );
}

fn assert_no_secret(dir: &Path) {
    for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let p = e.path();
        let m = std::fs::symlink_metadata(&p).expect("meta");
        if m.is_dir() {
            assert_no_secret(&p);
        } else if m.is_file() {
            let bytes = std::fs::read(&p).expect("read");
            assert!(
                !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
                "the secret is written in {}",
                p.display()
            );
        }
    }
}

/// The target repository can be another repository than the bridge root's.
#[test]
fn commands_change_the_configured_target_repository() {
    let c = Cloud::new();
    let target = c.base().join("target");
    std::fs::create_dir(&target).expect("mkdir");
    c.git(&target, &["init", "-q"]);
    c.ok(&target, &["init"]);
    c.ok(&c.root, &["bridge", "init", "--target", "../target"]);
    new_write(&c, "t1", "notes/t1.md", "t1\n");
    once_ok(&c);
    assert_eq!(
        std::fs::read_to_string(target.join("notes/t1.md")).expect("read"),
        "t1\n"
    );
    assert!(!c.root.join("notes").exists());
    let ledger = c.ledger(&target);
    assert!(
        ledger
            .iter()
            .any(|e| e["actor"]["id"] == json!("t1") && e["result"] == json!("applied"))
    );
    // With another target, the bridge root's directories are ordinary paths
    // there, but dot-directories stay protected.
    new_write(&c, "t2", ".github/x.yml", "x");
    assert_eq!(once(&c, &c.root, &[]).status.code(), Some(1));
    let dl: Value =
        serde_json::from_slice(&std::fs::read(c.root.join("dead_letter/t2.json")).expect("read"))
            .expect("json");
    assert_eq!(dl["reason"], json!("protected_path"));
    // `warden status` in the target (CLOUD set) shows this bridge's backlog…
    c.ok(&c.root, &["bridge", "new", "noop", "--id", "waiting"]);
    let t = target.to_str().expect("utf8");
    let st: Value =
        serde_json::from_str(&c.ok(&c.root, &["--repo", t, "status", "--format", "json"]))
            .expect("json");
    let b = &st["backlog"]["bridge"];
    assert_eq!(b["pending_commands"], json!(1), "{st}");
    assert_eq!(st["backlog"]["bridge_inbox"], json!(1));
    assert_eq!(b["dead_letters"]["protected_path"], json!(1));
    assert_eq!(b["archived"], json!(1));
    // …but not in a repository the bridge does not serve.
    let other = c.base().join("other");
    std::fs::create_dir(&other).expect("mkdir");
    c.git(&other, &["init", "-q"]);
    c.ok(&other, &["init"]);
    let o = other.to_str().expect("utf8");
    let st: Value =
        serde_json::from_str(&c.ok(&c.root, &["--repo", o, "status", "--format", "json"]))
            .expect("json");
    assert_eq!(st["backlog"]["bridge"], Value::Null, "{st}");
    assert_eq!(st["backlog"]["bridge_inbox"], Value::Null);
}

/// `warden status` shows the bridge's queue: pending commands,
/// dead letters by reason, retries pending, the last publish — human and JSON,
/// the JSON valid against the published schema, never the secret.
#[test]
fn warden_status_shows_the_bridge_backlog() {
    let c = Cloud::new();
    let human = c.ok(&c.root, &["status"]);
    assert!(human.contains("bridge inbox: 0 command(s)"), "{human}");
    assert!(human.contains("last publish  never"), "{human}");
    let mut bad = serde_json::from_str::<Value>(&c.ok(
        &c.root,
        &["bridge", "new", "noop", "--id", "bad", "--stdout"],
    ))
    .expect("json");
    bad["hmac"] = json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    std::fs::write(
        c.root.join("commands/bad.json"),
        serde_json::to_vec(&bad).expect("json"),
    )
    .expect("write");
    c.ok(&c.root, &["bridge", "new", "noop", "--id", "good"]);
    assert_eq!(once(&c, &c.root, &[]).status.code(), Some(1));
    c.ok(&c.root, &["bridge", "new", "noop", "--id", "later"]);
    let text = c.ok(&c.root, &["status", "--format", "json"]);
    assert!(!text.contains(SECRET));
    let st: Value = serde_json::from_str(&text).expect("json");
    let b = &st["backlog"]["bridge"];
    assert_eq!(b["root"], json!(c.root.display().to_string()));
    assert_eq!(b["pending_commands"], json!(1), "{st}");
    assert_eq!(b["dead_letters"], json!({"hmac_mismatch": 1}));
    assert_eq!(b["archived"], json!(1));
    assert_eq!(b["retries_pending"], json!(0));
    assert_eq!(b["last_publish"]["ok"], json!(true));
    assert_eq!(b["executor"], json!("not running"));
    let schema: Value = serde_json::from_str(&c.ok(&c.root, &["schema", "status"])).expect("json");
    let validator = jsonschema::draft7::new(&schema).expect("schema");
    let errors: Vec<String> = validator.iter_errors(&st).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    // `bridge status --format json` has its own schema and says which.
    let text = c.ok(&c.root, &["bridge", "status", "--format", "json"]);
    assert!(!text.contains(SECRET));
    let bst: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(bst["schema"], json!("warden.bridge-status/v1"), "{bst}");
    assert_eq!(bst["dead_letters"], json!({"hmac_mismatch": 1}));
    let schema: Value =
        serde_json::from_str(&c.ok(&c.root, &["schema", "bridge-status"])).expect("json");
    let validator = jsonschema::draft7::new(&schema).expect("schema");
    let errors: Vec<String> = validator.iter_errors(&bst).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let human = c.ok(&c.root, &["status"]);
    for want in [
        "bridge inbox: 1 command(s)",
        "dead letters  1 (hmac_mismatch 1)",
        "retries       0 pending",
        "last publish  ",
    ] {
        assert!(human.contains(want), "{want}: {human}");
    }
    assert!(!human.contains(SECRET));
}

#[test]
fn commands_signed_by_warden_verify_with_pythons_canonicalisation() {
    let c = Cloud::new();
    let unsigned = c.base().join("doc.json");
    std::fs::write(
        &unsigned,
        r#"{"z": {"b": [1.0, 1e30, 0.00001, 123456789012345678901234567890], "a": "caf\u00e9 😀"}, "A": -0, "é": {"nested": {"k": [true, null, ""]}}}"#,
    )
    .expect("write");
    let signed = c.ok(
        &c.root,
        &["bridge", "sign", unsigned.to_str().expect("utf8")],
    );
    let new = c.ok(&c.root, &["bridge", "new", "noop", "--stdout"]);
    let check = r#"
import json, sys, hmac, hashlib, base64, os
sec = os.environ["GPT_BRIDGE_HMAC_SECRET"]
for text in sys.stdin.read().split("\n\x00\n"):
    doc = json.loads(text)
    payload = json.dumps({k: v for k, v in doc.items() if k != "hmac"}, separators=(",", ":"), sort_keys=True).encode()
    want = base64.b64encode(hmac.new(sec.encode(), payload, hashlib.sha256).digest()).decode()
    assert doc["hmac"] == want, (doc["hmac"], want)
print("verified")
"#;
    use std::io::Write;
    let mut py = Command::new("python3")
        .arg("-c")
        .arg(check)
        .env_clear()
        .env("GPT_BRIDGE_HMAC_SECRET", SECRET)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    py.stdin
        .take()
        .expect("stdin")
        .write_all(format!("{signed}\n\x00\n{new}").as_bytes())
        .expect("write");
    let out = py.wait_with_output().expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "verified");
    // And warden accepts its own signed command.
    let cmd = c.base().join("new.json");
    std::fs::write(&cmd, &new).expect("write");
    let v = c.ok(&c.root, &["bridge", "verify", cmd.to_str().expect("utf8")]);
    assert!(v.contains("accepted"), "{v}");
}

#[test]
fn verify_names_the_layer_that_rejects_and_status_never_shows_the_secret() {
    let c = Cloud::new();
    let good = c.ok(
        &c.root,
        &["bridge", "new", "noop", "--stdout", "--id", "v1"],
    );
    let bad = good.replace("\"nonce\": \"", "\"nonce\": \"x");
    let f = c.base().join("bad.json");
    std::fs::write(&f, &bad).expect("write");
    let out = c.run(&c.root, &["bridge", "verify", f.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("hmac     FAIL  hmac_mismatch"), "{text}");
    assert!(text.contains("json     ok"), "{text}");
    // The hint does not send the reader to the command they are running.
    assert!(!text.contains("bridge verify"), "{text}");
    assert!(text.contains("bridge sign FILE --in-place"), "{text}");
    std::fs::write(c.root.join("commands/bad.json"), &bad).expect("write");
    assert_eq!(once(&c, &c.root, &[]).status.code(), Some(1));
    // The dead letter's hint does point to it.
    let dead = files(&c.root.join("dead_letter"));
    assert_eq!(dead.len(), 1, "{dead:?}");
    let dl = std::fs::read_to_string(c.root.join("dead_letter").join(&dead[0])).expect("dl");
    assert!(dl.contains("`warden bridge verify FILE` explains"), "{dl}");
    let status = c.ok(&c.root, &["bridge", "status", "--format", "json"]);
    let v: Value = serde_json::from_str(&status).expect("json");
    assert_eq!(v["dead_letters"]["hmac_mismatch"], json!(1));
    assert_eq!(v["backlog"], json!(0));
    assert_eq!(v["secret_configured"], json!(true));
    let human = c.ok(&c.root, &["bridge", "status"]);
    for text in [&status, &human] {
        assert!(!text.contains(SECRET), "status shows the secret");
    }
    // Without the secret the executor refuses to start (exit 2), naming the variable.
    let out = c
        .warden(&c.root, &["bridge", "run", "--once"])
        .env_remove("GPT_BRIDGE_HMAC_SECRET")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("GPT_BRIDGE_HMAC_SECRET is not set"));
}

/// `bridge sign FILE`, `bridge verify FILE` (outside the inbox) and `bridge
/// new write --content-file FILE` read the file whole, however big: a
/// device or a huge file was read until memory ran out. Each now reads no
/// more than the bridge takes (512 KiB).
#[test]
fn bridge_sign_verify_and_content_file_read_no_more_than_the_bridge_takes() {
    let c = Cloud::new();
    let big = c.base().join("big.json");
    std::fs::write(&big, vec![b' '; 512 * 1024 + 1]).expect("write");
    let big = big.to_str().expect("utf8");
    let limit = "is larger than 512 KiB (524288 bytes), the most `warden bridge` reads of";
    for (args, what) in [
        (vec!["bridge", "sign", big], "the bridge command"),
        (
            vec![
                "bridge",
                "new",
                "write",
                "--path",
                "a.txt",
                "--content-file",
                big,
                "--stdout",
            ],
            "a write's content",
        ),
    ] {
        let out = c.run(&c.root, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(&format!("error: {big}: (file): {limit} {what}")),
            "{args:?}: {err}"
        );
        assert!(
            err.contains("hint: split the change into several commands"),
            "{args:?}: {err}"
        );
    }
    let out = c.run(&c.root, &["bridge", "verify", big]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "too_large: {big} is more than 524288 bytes, the limit"
        )),
        "{text}"
    );
}

#[test]
fn smoke_passes_and_a_second_executor_is_refused_while_one_watches() {
    let c = Cloud::new();
    let smoke = c.ok(&c.root, &["bridge", "smoke"]);
    assert!(smoke.contains("smoke passed"), "{smoke}");
    let mut watch = c
        .warden(
            &c.root,
            &[
                "bridge",
                "run",
                "--watch",
                "--settle-ms",
                "0",
                "--poll-ms",
                "50",
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = c.ok(&c.root, &["bridge", "status", "--format", "json"]);
        let v: Value = serde_json::from_str(&status).expect("json");
        if v["executor"].as_str().unwrap_or("").starts_with("running") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the watcher did not start: {status}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = once(&c, &c.root, &[]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "a second executor was not refused"
    );
    let refused = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(refused.contains("only one executor per root"), "{refused}");
    // It names the bridge root, the holder and how to stop it; not the
    // repository lock's `--no-wait`, which `bridge run` does not have.
    let pid = watch.id().to_string();
    assert!(refused.contains(&c.root.display().to_string()), "{refused}");
    assert!(
        refused.contains(&format!("pid {pid} (warden bridge run --watch")),
        "{refused}"
    );
    assert!(refused.contains(" on host "), "{refused}");
    assert!(refused.contains(&format!("`kill {pid}`")), "{refused}");
    assert!(
        refused.contains("systemctl --user stop warden-bridge"),
        "{refused}"
    );
    assert!(!refused.contains("--no-wait"), "{refused}");
    // The watcher processes what arrives, and the smoke test works against it.
    let smoke = c.ok(&c.root, &["bridge", "smoke"]);
    assert!(smoke.contains("smoke passed"), "{smoke}");
    watch.kill().expect("kill");
    watch.wait().expect("wait");
}

/// `run --watch` is woken by file events: with a poll interval of ten
/// minutes, commands dropped while it runs are still taken (after the default
/// settle time), and nothing waits for the poll.
#[test]
fn commands_dropped_while_watching_are_taken_on_the_file_event() {
    let c = Cloud::new();
    let log = c.base().join("watch.err");
    let mut watch = c
        .warden(
            &c.root,
            &[
                "bridge",
                "run",
                "--watch",
                "--no-publish",
                "--poll-ms",
                "600000",
            ],
        )
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("spawn");
    let wait_for = |what: &str, cond: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !cond() {
            if Instant::now() > deadline {
                let _ = std::process::Command::new("kill")
                    .arg(watch.id().to_string())
                    .status();
                panic!(
                    "{what}; watcher said: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    wait_for("the watcher did not start", &|| {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("for changes")
    });
    // Seed §8/§16: the banner shows the program, its directory and the
    // resolved paths, the retries index once, and never the secret.
    let banner = std::fs::read_to_string(&log).expect("log");
    let root = c.root.display().to_string();
    for want in [
        format!("warden bridge: cwd={root}\n"),
        format!("warden bridge: CLOUD={root}\n"),
        format!("warden bridge: CMDS={root}/commands\n"),
        format!("warden bridge: RES={root}/results\n"),
        format!("warden bridge: DIFF={root}/diffs\n"),
        format!("warden bridge: ARCH={root}/archive\n"),
        format!("warden bridge: DLQ={root}/dead_letter\n"),
        format!("warden bridge: META={root}/meta\n"),
        "warden bridge: exe=".to_string(),
    ] {
        assert!(banner.contains(&want), "{want:?} missing: {banner}");
    }
    assert_eq!(
        banner
            .matches(&format!("retries index -> {root}/meta/retries.json"))
            .count(),
        1,
        "{banner}"
    );
    assert!(!banner.contains(SECRET));
    for id in ["w1", "w2"] {
        c.ok(&c.root, &["bridge", "new", "noop", "--id", id]);
        let archive = c.root.join(format!("archive/{id}.json"));
        let inbox = c.root.join(format!("commands/{id}.json"));
        wait_for(&format!("{id} was not taken"), &|| {
            archive.exists() && !inbox.exists()
        });
    }
    // A burst is taken too (one or a few passes).
    for n in 0..5 {
        c.ok(
            &c.root,
            &["bridge", "new", "noop", "--id", &format!("b{n}")],
        );
    }
    wait_for("the burst was not taken", &|| {
        (0..5).all(|n| c.root.join(format!("archive/b{n}.json")).exists())
    });
    watch.kill().expect("kill");
    watch.wait().expect("wait");
}

/// A `.git/index.lock` left by a killed git would block every later publish:
/// one that a live process holds, or that is young, is waited for (then the
/// publish fails and is recorded for retry); an old one nobody holds is
/// removed with a logged line and the publish goes through.
#[test]
fn a_stale_index_lock_is_removed_and_a_live_one_is_waited_for() {
    let c = Cloud::new();
    let lock = c.root.join(".git/index.lock");
    let old = std::time::SystemTime::now() - Duration::from_secs(600);
    c.ok(&c.root, &["bridge", "new", "noop", "--id", "l1"]);
    // Held open by a live process (this test): left alone.
    let held = std::fs::File::create(&lock).expect("lock");
    held.set_modified(old).expect("mtime");
    let out = once(&c, &c.root, &["--push-attempts", "2"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(lock.exists(), "a lock in use was removed");
    assert!(
        err.contains("index.lock is in use") && err.contains("has it open"),
        "{err}"
    );
    let retries = std::fs::read_to_string(c.root.join("meta/retries.json")).expect("retries");
    assert!(retries.contains("\"l1\""), "{retries}");
    drop(held);
    // Nobody holds it, but it is fresh (a git may be between steps): left alone.
    std::fs::File::create(&lock).expect("lock");
    let out = once(&c, &c.root, &["--push-attempts", "2"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(lock.exists());
    assert!(err.contains("ms old"), "{err}");
    // Old and unheld: a killed git's leftover. Removed, logged, published.
    std::fs::File::options()
        .write(true)
        .open(&lock)
        .expect("lock")
        .set_modified(old)
        .expect("mtime");
    let out = once(&c, &c.root, &[]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("removed a stale") && err.contains("index.lock"),
        "{err}"
    );
    assert!(!lock.exists());
    let subjects = c.remote_subjects();
    assert!(
        subjects.iter().any(|s| s == "bridge: results l1 (exit=0)"),
        "{subjects:?}"
    );
    assert_eq!(
        std::fs::read_to_string(c.root.join("meta/retries.json")).expect("retries"),
        "{}\n"
    );
}

/// Seed §16 "one commit with proper message" when a command changes the
/// bridge root's own repository: the changed files travel in the command's
/// one commit with its outputs, never commands/; a target file that the
/// upstream changed too is a conflict that is reported, not overwritten.
#[test]
fn a_change_to_the_bridge_repository_is_published_in_the_commands_one_commit() {
    let c = Cloud::new();
    let before = c.remote_subjects().len();
    new_write(&c, "w1", "notes/w1.md", "w1\n");
    once_ok(&c);
    let subjects = c.remote_subjects();
    assert_eq!(
        subjects[..subjects.len() - before].to_vec(),
        vec!["bridge: results w1 (exit=0)".to_string()]
    );
    let files = c.git(&c.remote, &["show", "--name-only", "--format=", "main"]);
    let mut files: Vec<&str> = files.lines().filter(|l| !l.is_empty()).collect();
    files.sort_unstable();
    // The run's ledger entry travels with it (this clone's chain file).
    assert!(files[0].starts_with(".ledger/runs/"), "{files:?}");
    assert_eq!(
        files[1..].to_vec(),
        vec![
            "archive/w1.json",
            "diffs/w1.patch",
            "logs/bridge.log",
            "notes/w1.md",
            "results/w1.integrity.json",
            "results/w1.json",
        ]
    );
    assert_eq!(
        c.git(
            &c.root,
            &["status", "--porcelain", "--", "notes", "commands"]
        ),
        ""
    );
    // Another clone changes the same file upstream; a second command changes
    // it here: publishing stops with the conflict named, nothing overwritten.
    let other = c.clone("other");
    std::fs::write(other.join("notes/w1.md"), "theirs\n").expect("write");
    c.git(&other, &["commit", "-q", "-am", "theirs"]);
    c.git(&other, &["push", "-q"]);
    new_write(&c, "w2", "notes/w1.md", "ours\n");
    let out = once(&c, &c.root, &["--push-attempts", "2"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("notes/w1.md changed both upstream and by a command"),
        "{err}"
    );
    assert_eq!(
        c.git(&c.remote, &["show", "main:notes/w1.md"]),
        "theirs\n",
        "the upstream change was overwritten"
    );
    // Ours is kept locally, committed with its outputs, waiting for a person.
    assert_eq!(
        c.git(&c.root, &["log", "-1", "--format=%s"]).trim(),
        "bridge: results w2 (exit=0)"
    );
    assert_eq!(c.git(&c.root, &["show", "HEAD:notes/w1.md"]), "ours\n");
    let retries = std::fs::read_to_string(c.root.join("meta/retries.json")).expect("retries");
    assert!(retries.contains("\"w2\""), "{retries}");
}

/// A broken meta/bridge.json stops the executor (exit 2) naming the file and
/// the field; it never falls back to another target.
#[test]
fn a_broken_bridge_config_stops_the_executor() {
    let c = Cloud::new();
    std::fs::write(
        c.root.join("meta/bridge.json"),
        r#"{"schema": "warden.bridge-config/v1", "taget": "../elsewhere"}"#,
    )
    .expect("write");
    c.ok(&c.root, &["bridge", "new", "noop", "--id", "n1"]);
    let out = once(&c, &c.root, &[]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("meta/bridge.json") && err.contains("taget"),
        "{err}"
    );
    assert!(
        c.root.join("commands/n1.json").exists(),
        "the command was taken"
    );
}

/// Seed §9 rotation as the README walks it: accept current and next, switch
/// the signer to next, then make next the only secret; the old one is refused.
#[test]
fn the_secret_rotates_through_a_window_of_two() {
    let c = Cloud::new();
    let old = SECRET;
    let new = "the-next-secret";
    the_window_accepts_both_and_the_signer_switches_to_next(&c, old, new);
    next_becomes_the_only_secret_and_the_old_one_is_refused(&c, old, new);
    for dir in ["results", "dead_letter", "logs", "meta", "archive"] {
        assert_no_secret(&c.root.join(dir));
    }
}

/// Runs warden with the current secret and, if given, the next one.
fn with_secrets(c: &Cloud, cur: &str, next: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = c.warden(&c.root, args);
    cmd.env("GPT_BRIDGE_HMAC_SECRET", cur);
    match next {
        Some(n) => cmd.env("GPT_BRIDGE_HMAC_SECRET_NEXT", n),
        None => cmd.env_remove("GPT_BRIDGE_HMAC_SECRET_NEXT"),
    };
    cmd.output().expect("warden")
}

/// Which secret (`current` or `next`) verified command ID, from its result.
fn secret_of(c: &Cloud, id: &str) -> Value {
    let r: Value = serde_json::from_slice(
        &std::fs::read(c.root.join(format!("results/{id}.json"))).expect("result"),
    )
    .expect("json");
    r["secret"].clone()
}

/// Steps 1 and 2: the window accepts both; the signer still uses the current
/// one, then switches to next.
fn the_window_accepts_both_and_the_signer_switches_to_next(c: &Cloud, old: &str, new: &str) {
    let with = |cur: &str, next: Option<&str>, args: &[&str]| with_secrets(c, cur, next, args);
    // 1) the window: both accepted; the signer still uses the current one.
    assert!(
        with(old, Some(new), &["bridge", "new", "noop", "--id", "r1"])
            .status
            .success()
    );
    let unsigned = c.base().join("r2.json");
    let out = with(
        old,
        None,
        &["bridge", "new", "noop", "--id", "r2", "--stdout"],
    );
    std::fs::write(&unsigned, &out.stdout).expect("write");
    // 2) the signer switches to next.
    let out = with(
        old,
        Some(new),
        &["bridge", "sign", "--next", unsigned.to_str().expect("utf8")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(c.root.join("commands/r2.json"), &out.stdout).expect("write");
    let run = with(
        old,
        Some(new),
        &["bridge", "run", "--once", "--settle-ms", "0"],
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(secret_of(c, "r1"), json!("current"));
    assert_eq!(secret_of(c, "r2"), json!("next"));
    let banner = String::from_utf8_lossy(&run.stderr);
    assert!(
        banner.contains(
            "2 accepted secret(s) from GPT_BRIDGE_HMAC_SECRET and GPT_BRIDGE_HMAC_SECRET_NEXT"
        ),
        "{banner}"
    );
    assert!(!banner.contains(old) && !banner.contains(new), "{banner}");
}

/// Step 3: next becomes the only secret: the old one is refused.
fn next_becomes_the_only_secret_and_the_old_one_is_refused(c: &Cloud, old: &str, new: &str) {
    let with = |cur: &str, next: Option<&str>, args: &[&str]| with_secrets(c, cur, next, args);
    assert!(
        with(old, None, &["bridge", "new", "noop", "--id", "r3"])
            .status
            .success()
    );
    assert!(
        with(new, None, &["bridge", "new", "noop", "--id", "r4"])
            .status
            .success()
    );
    let run = with(new, None, &["bridge", "run", "--once", "--settle-ms", "0"]);
    assert_eq!(run.status.code(), Some(1));
    let dl: Value =
        serde_json::from_slice(&std::fs::read(c.root.join("dead_letter/r3.json")).expect("dl"))
            .expect("json");
    assert_eq!(dl["reason"], json!("hmac_mismatch"));
    assert_eq!(secret_of(c, "r4"), json!("current"));
}

/// Crash the executor (abort) at every step boundary of a batch, and the
/// engine inside it; the next run finishes the batch with every command
/// processed exactly once and nothing lost.
#[test]
fn a_crash_at_any_point_resumes_with_each_command_processed_once() {
    let points = [
        "bridge.after_marker",
        "bridge.after_apply",
        "bridge.after_outputs",
        "bridge.after_sync",
        "bridge.after_first_remove",
        "bridge.after_removes",
        "run.after_stage",
        "run.after_ledger",
    ];
    for point in points {
        let c = Cloud::new();
        for id in ["n1", "n2"] {
            c.ok(&c.root, &["bridge", "new", "noop", "--id", id]);
        }
        new_write(&c, "w1", "docs/w1.md", "w1\n");
        std::fs::write(c.root.join("commands/bad.json"), b"{\"id\":\"bad\"}").expect("write");
        the_executor_aborts_at(&c, point);
        let again = once(&c, &c.root, &["--no-publish"]);
        assert!(
            matches!(again.status.code(), Some(0 | 1)),
            "{point}: {}",
            String::from_utf8_lossy(&again.stderr)
        );
        each_command_was_processed_once(&c, point);
        c.ok(&c.root, &["ledger", "verify"]);
        // A third run finds nothing to do.
        let third = once(&c, &c.root, &["--no-publish"]);
        assert!(third.status.success());
        assert!(
            String::from_utf8_lossy(&third.stdout).contains("processed 0"),
            "{point}"
        );
    }
}

/// One batch run, without publishing, with the failpoint POINT set to abort.
fn the_executor_aborts_at(c: &Cloud, point: &str) {
    let crashed = c
        .warden(
            &c.root,
            &[
                "bridge",
                "run",
                "--once",
                "--settle-ms",
                "0",
                "--no-publish",
            ],
        )
        .env("WARDEN_FAILPOINT", format!("{point}=abort"))
        .output()
        .expect("run");
    assert_eq!(
        crashed.status.code(),
        None,
        "{point}: did not abort: {}",
        String::from_utf8_lossy(&crashed.stderr)
    );
}

/// The inbox is empty; n1, n2 and w1 have all their outputs and one ledgered
/// run each; bad.json is the only dead letter; w1's write is on disk.
fn each_command_was_processed_once(c: &Cloud, point: &str) {
    assert!(inbox(&c.root).is_empty(), "{point}: commands left");
    for id in ["n1", "n2", "w1"] {
        outputs_exist(c, id, point);
        let runs = c
            .ledger(&c.root)
            .iter()
            .filter(|e| {
                e["actor"]["id"] == json!(id)
                    && e["actor"]["kind"] == json!("bridge")
                    && e["result"] != json!("rolled_back")
            })
            .count();
        assert_eq!(runs, 1, "{point}: {id} applied {runs} times");
    }
    assert_eq!(
        files(&c.root.join("dead_letter")),
        vec!["bad.json".to_string()],
        "{point}"
    );
    assert_eq!(
        std::fs::read_to_string(c.root.join("docs/w1.md")).expect("w1"),
        "w1\n"
    );
}

#[test]
fn four_bridges_on_four_clones_publish_fifty_commands_each_without_loss() {
    let c = Cloud::new();
    let clones: Vec<PathBuf> = (0..4).map(|k| c.clone(&format!("clone{k}"))).collect();
    for (k, dir) in clones.iter().enumerate() {
        for i in 0..50 {
            c.ok(
                dir,
                &["bridge", "new", "noop", "--id", &format!("c{k}-{i:02}")],
            );
        }
    }
    the_bridges_run_at_once(&c, &clones);
    the_remote_holds_two_hundred_results_once_each(&c);
    // Each clone's ledger chain travelled with its commits: every clone
    // verifies, holds its own 50 runs, and after a pull all 200.
    for dir in &clones {
        c.ok(dir, &["ledger", "verify"]);
        let writer = std::fs::read_to_string(dir.join(".warden/state/writer")).expect("writer");
        assert_eq!(
            c.ledger(dir)
                .iter()
                .filter(|e| e["actor"]["kind"] == json!("bridge")
                    && e["writer"] == json!(writer.trim()))
                .count(),
            50
        );
    }
    c.git(&clones[0], &["pull", "-q", "--rebase"]);
    c.ok(&clones[0], &["ledger", "verify"]);
    assert_eq!(
        c.ledger(&clones[0])
            .iter()
            .filter(|e| e["actor"]["kind"] == json!("bridge"))
            .count(),
        200
    );
}

/// Starts one executor per clone, all at once, and waits for each to succeed.
fn the_bridges_run_at_once(c: &Cloud, clones: &[PathBuf]) {
    let children: Vec<_> = clones
        .iter()
        .map(|dir| {
            c.warden(
                dir,
                &[
                    "bridge",
                    "run",
                    "--once",
                    "--settle-ms",
                    "0",
                    "--push-attempts",
                    "30",
                ],
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn")
        })
        .collect();
    for (k, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "bridge {k}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// 200 distinct result commits, 200 archives, 200 integrity records and 200
/// log lines on the remote's main.
fn the_remote_holds_two_hundred_results_once_each(c: &Cloud) {
    let subjects = c.remote_subjects();
    let results: Vec<&String> = subjects
        .iter()
        .filter(|s| s.starts_with("bridge: results "))
        .collect();
    assert_eq!(results.len(), 200, "{subjects:?}");
    let distinct: std::collections::BTreeSet<&String> = results.iter().copied().collect();
    assert_eq!(distinct.len(), 200, "duplicate commits");
    let tracked = c.git(&c.remote, &["ls-tree", "-r", "--name-only", "main"]);
    assert_eq!(
        tracked
            .lines()
            .filter(|l| l.starts_with("archive/"))
            .count(),
        200
    );
    assert_eq!(
        tracked
            .lines()
            .filter(|l| l.starts_with("results/") && l.ends_with(".integrity.json"))
            .count(),
        200
    );
    let log = c.git(&c.remote, &["show", "main:logs/bridge.log"]);
    assert_eq!(
        log.lines().count(),
        200,
        "the union-merged log has every line once"
    );
}

#[test]
fn a_failed_publish_is_recorded_in_meta_retries_and_retried() {
    let c = Cloud::new();
    c.ok(&c.root, &["bridge", "new", "noop", "--id", "r1"]);
    let moved = c.base().join("remote.moved");
    std::fs::rename(&c.remote, &moved).expect("move the remote away");
    let out = once(&c, &c.root, &["--push-attempts", "2"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let retries: Value =
        serde_json::from_slice(&std::fs::read(c.root.join("meta/retries.json")).expect("read"))
            .expect("json");
    assert_eq!(retries["r1"]["attempts"], json!(1), "{retries}");
    assert!(
        !retries["r1"]["last_error"]
            .as_str()
            .unwrap_or("")
            .is_empty()
    );
    assert!(retries["r1"]["last_ts"].is_string());
    assert!(!c.root.join("commands/.retries.json").exists());
    assert!(inbox(&c.root).is_empty());
    std::fs::rename(&moved, &c.remote).expect("restore the remote");
    once_ok(&c);
    let retries: Value =
        serde_json::from_slice(&std::fs::read(c.root.join("meta/retries.json")).expect("read"))
            .expect("json");
    assert_eq!(retries, json!({}));
    let subjects = c.remote_subjects();
    assert!(
        subjects.contains(&"bridge: results r1 (exit=0)".to_string()),
        "{subjects:?}"
    );
    assert!(
        subjects.contains(&"bridge: retries index update".to_string()),
        "{subjects:?}"
    );
    // Nothing new: no commit.
    let before = c.remote_subjects().len();
    assert!(once(&c, &c.root, &[]).status.success());
    assert_eq!(c.remote_subjects().len(), before);
}

#[test]
fn a_conflicting_rebase_re_derives_our_outputs_on_the_new_base() {
    let c = Cloud::new();
    someone_else_pushes(
        &c,
        "someone else edits meta",
        &[("meta/retries.json", "{\"theirs\": 1}\n")],
    );
    c.ok(&c.root, &["bridge", "new", "noop", "--id", "ours-1"]);
    std::fs::write(c.root.join("meta/retries.json"), "{\"ours\": 2}\n").expect("write");
    let out = once(&c, &c.root, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("re-derived"), "{stdout}");
    let subjects = c.remote_subjects();
    assert!(subjects.contains(&"someone else edits meta".to_string()));
    assert!(
        subjects.contains(&"bridge: results ours-1 (exit=0)".to_string()),
        "{subjects:?}"
    );
    let tracked = c.git(&c.remote, &["ls-tree", "-r", "--name-only", "main"]);
    assert!(tracked.contains("archive/ours-1.json"));
}

#[test]
fn the_hook_blocks_inbound_commands_from_being_committed() {
    let c = Cloud::new();
    let out = c.ok(&c.root, &["bridge", "hook", "install"]);
    assert!(out.contains("pre-commit"), "{out}");
    std::fs::write(c.root.join("commands/.retries.json"), "{}").expect("write");
    c.git(&c.root, &["add", "-f", "commands/.retries.json"]);
    let commit = isolated("git", &c.base())
        .args(["commit", "-q", "-m", "oops"])
        .current_dir(&c.root)
        .output()
        .expect("git");
    assert!(!commit.status.success());
    assert!(String::from_utf8_lossy(&commit.stderr).contains("blocking commands/.retries.json"));
    assert!(!c.root.join("commands/.retries.json").exists());
    // Installing again is idempotent; a different hook is not overwritten.
    c.ok(&c.root, &["bridge", "hook", "install"]);
}

/// What the user staged in the bridge's repository is theirs: publish commits
/// only the bridge's outputs (also when it re-derives on a new upstream), and
/// the user's entries stay staged exactly as they were.
#[test]
fn publish_never_commits_or_unstages_what_the_user_staged() {
    let c = Cloud::new();
    std::fs::write(c.root.join("private.txt"), "x\n").expect("write");
    std::fs::write(c.root.join("README.md"), "cloud, edited\n").expect("write");
    c.git(&c.root, &["add", "private.txt", "README.md"]);
    let staged_before = c.git(
        &c.root,
        &["status", "--porcelain", "--", "private.txt", "README.md"],
    );
    assert_eq!(staged_before, "M  README.md\nA  private.txt\n");
    c.ok(&c.root, &["bridge", "new", "noop", "--id", "n1"]);
    once_ok(&c);
    // A second pass that must re-derive: someone else changed meta/ upstream.
    someone_else_pushes(
        &c,
        "someone else edits meta",
        &[("meta/retries.json", "{\"theirs\": 1}\n")],
    );
    c.ok(&c.root, &["bridge", "new", "noop", "--id", "n2"]);
    std::fs::write(c.root.join("meta/retries.json"), "{\"ours\": 2}\n").expect("write");
    let out = once(&c, &c.root, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("re-derived"), "{stdout}");
    for id in ["n1", "n2"] {
        let subject = format!("bridge: results {id} (exit=0)");
        assert!(
            c.remote_subjects().contains(&subject),
            "{:?}",
            c.remote_subjects()
        );
        let sha = c.git(
            &c.root,
            &["log", "--format=%H", "--grep", &subject, "-F", "main"],
        );
        let touched = c.git(&c.root, &["show", "--name-only", "--format=", sha.trim()]);
        assert!(touched.contains(&format!("results/{id}.json")), "{touched}");
        assert!(
            !touched.contains("private.txt") && !touched.contains("README.md"),
            "{touched}"
        );
    }
    let remote_tree = c.git(&c.remote, &["ls-tree", "-r", "--name-only", "main"]);
    assert!(!remote_tree.contains("private.txt"), "{remote_tree}");
    assert_eq!(c.git(&c.remote, &["show", "main:README.md"]), "cloud\n");
    let staged_after = c.git(
        &c.root,
        &["status", "--porcelain", "--", "private.txt", "README.md"],
    );
    assert_eq!(staged_after, staged_before);
    // Nothing of the bridge's is left staged or modified.
    let rest = c.git(&c.root, &["status", "--porcelain"]);
    assert_eq!(rest, staged_before, "{rest}");
}

/// Re-deriving on a new upstream brings the upstream's versions of the files
/// the bridge did not touch into the work tree; a file the user has edited
/// there is not overwritten: publish stops, names it, and the edit survives.
#[test]
fn re_derivation_never_overwrites_a_users_uncommitted_edit() {
    let c = Cloud::new();
    c.ok(&c.root, &["bridge", "new", "noop", "--id", "n1"]);
    once_ok(&c);
    someone_else_pushes(
        &c,
        "someone else edits README and meta",
        &[
            ("README.md", "theirs\n"),
            ("meta/retries.json", "{\"theirs\": 1}\n"),
        ],
    );
    std::fs::write(c.root.join("README.md"), "mine, not committed\n").expect("write");
    c.ok(&c.root, &["bridge", "new", "noop", "--id", "n2"]);
    std::fs::write(c.root.join("meta/retries.json"), "{\"ours\": 2}\n").expect("write");
    let out = once(&c, &c.root, &["--push-attempts", "1"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("README.md changed upstream and has uncommitted local edits"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(c.root.join("README.md")).expect("read"),
        "mine, not committed\n"
    );
    assert!(
        !c.remote_subjects()
            .contains(&"bridge: results n2 (exit=0)".to_string())
    );
}

/// `git add -A && git commit` (the quickstart) never stages inbound commands,
/// and the hook blocks one forced in, with the bridge root at the top of the
/// work tree and in a subfolder (the README's `~/gitSync/_GPTsync`).
fn hook_and_ignore_guard(c: &Cloud, top: &Path, rel: &str) {
    let root = top.join(rel.trim_end_matches('/'));
    c.ok(&root, &["bridge", "init"]);
    c.ok(&root, &["bridge", "hook", "install"]);
    c.ok(&root, &["bridge", "new", "noop", "--id", "h1"]);
    c.git(top, &["add", "-A"]);
    c.git(top, &["commit", "-q", "--allow-empty", "-m", "quickstart"]);
    let tracked = c.git(top, &["ls-files"]);
    assert!(
        tracked.contains(&format!("{rel}commands/.gitkeep")),
        "{tracked}"
    );
    assert!(!tracked.contains("h1.json"), "{tracked}");
    let try_commit = |what: &str| {
        let commit = isolated("git", &c.base())
            .args(["commit", "-q", "-m", "oops"])
            .current_dir(top)
            .output()
            .expect("git");
        assert!(!commit.status.success(), "{what} was committed");
        String::from_utf8_lossy(&commit.stderr).into_owned()
    };
    c.git(top, &["add", "-f", &format!("{rel}commands/h1.json")]);
    let err = try_commit("an inbound command");
    assert!(
        err.contains(&format!("blocking staged files under {rel}commands/")),
        "{err}"
    );
    c.git(top, &["reset", "-q"]);
    let retries = root.join("commands/.retries.json");
    std::fs::write(&retries, "{}").expect("write");
    c.git(top, &["add", "-f", &format!("{rel}commands/.retries.json")]);
    let err = try_commit("commands/.retries.json");
    assert!(
        err.contains(&format!("blocking {rel}commands/.retries.json")),
        "{err}"
    );
    assert!(!retries.exists());
    // Installing again is idempotent.
    c.ok(&root, &["bridge", "hook", "install"]);
}

#[test]
fn inbound_commands_are_ignored_and_hooked_at_the_top_and_in_a_subfolder() {
    let c = Cloud::new();
    hook_and_ignore_guard(&c, &c.root, "");
    let top = c.base().join("gitSync");
    std::fs::create_dir_all(top.join("_GPTsync")).expect("mkdir");
    c.git(&top, &["init", "-q", "--initial-branch=main"]);
    hook_and_ignore_guard(&c, &top, "_GPTsync/");
}

/// `bridge new --ttl-secs -60` (with or without `=`) makes a command that
/// really expired: the executor dead-letters it as `expired`.
#[test]
fn a_negative_ttl_makes_a_command_the_executor_rejects_as_expired() {
    let c = Cloud::new();
    c.ok(
        &c.root,
        &["bridge", "new", "noop", "--id", "old1", "--ttl-secs=-60"],
    );
    c.ok(
        &c.root,
        &[
            "bridge",
            "new",
            "noop",
            "--id",
            "old2",
            "--ttl-secs",
            "-3600",
        ],
    );
    let out = once(&c, &c.root, &[]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    for id in ["old1", "old2"] {
        let dl: Value = serde_json::from_slice(
            &std::fs::read(c.root.join(format!("dead_letter/{id}.json"))).expect("dead letter"),
        )
        .expect("json");
        assert_eq!(dl["reason"], "expired", "{dl}");
        assert!(!c.root.join(format!("archive/{id}.json")).exists());
    }
}

/// `bridge sign x.json --in-place` with a bare file name signs it where it is.
#[test]
fn sign_in_place_takes_a_bare_file_name() {
    let c = Cloud::new();
    let doc = c.ok(
        &c.root,
        &["bridge", "new", "noop", "--id", "s1", "--stdout"],
    );
    let mut v: Value = serde_json::from_str(&doc).expect("json");
    v.as_object_mut().expect("object").remove("hmac");
    std::fs::write(c.root.join("x.json"), v.to_string()).expect("write");
    let out = c.run(&c.root, &["bridge", "sign", "x.json", "--in-place"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let signed: Value =
        serde_json::from_slice(&std::fs::read(c.root.join("x.json")).expect("read")).expect("json");
    assert_eq!(
        signed["hmac"],
        serde_json::from_str::<Value>(&doc).expect("json")["hmac"]
    );
    let verify = c.run(&c.root, &["bridge", "verify", "x.json"]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

/// The first thing a new user does: drop a command and run `--once` at once,
/// with the default settle time. The pass waits for the file to settle and
/// processes it.
#[test]
fn run_once_right_after_a_drop_waits_for_the_file_to_settle() {
    let c = Cloud::new();
    c.ok(&c.root, &["bridge", "new", "noop", "--id", "fresh"]);
    let out = c.ok(&c.root, &["bridge", "run", "--once"]);
    assert!(out.contains("processed 1: 1 archived"), "{out}");
    assert!(c.root.join("archive/fresh.json").is_file(), "{out}");
    assert!(
        c.remote_subjects()
            .contains(&"bridge: results fresh (exit=0)".to_string())
    );
}

/// `--once` takes a fresh file as soon as its size and mtime are seen
/// unchanged, not after the settle time: with a settle time of ten minutes
/// the pass still processes the command dropped just before.
#[test]
fn run_once_takes_a_complete_file_once_it_is_seen_stable() {
    let c = Cloud::new();
    c.ok(&c.root, &["bridge", "new", "noop", "--id", "stable"]);
    let out = c.ok(
        &c.root,
        &["bridge", "run", "--once", "--settle-ms", "600000"],
    );
    assert!(out.contains("processed 1: 1 archived"), "{out}");
    assert!(c.root.join("archive/stable.json").is_file(), "{out}");
}

/// Issue 11: publishing a pass costs the same number of git processes
/// whatever the number of commands in it (warden writes all of its commits
/// into one pack, after one `cat-file --batch` per level of HEAD's trees it
/// reads; a pack of fewer than 100 objects is stored loose by one more),
/// and each command still gets its own commit.
#[test]
fn publish_runs_as_many_git_processes_for_twelve_commands_as_for_three() {
    use std::os::unix::fs::PermissionsExt;
    let c = Cloud::new();
    let real = String::from_utf8(
        isolated("sh", &c.base())
            .args(["-c", "command -v git"])
            .output()
            .expect("sh")
            .stdout,
    )
    .expect("utf-8");
    let bin = c.base().join("bin");
    std::fs::create_dir(&bin).expect("mkdir");
    let log = c.base().join("git-calls.log");
    let wrapper = bin.join("git");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            real.trim()
        ),
    )
    .expect("wrapper");
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut calls = Vec::new();
    // A first pass puts the log and the ledger into HEAD; then 3, then 12.
    for (round, n) in [(0, 1), (1, 3), (2, 12)] {
        for i in 0..n {
            c.ok(
                &c.root,
                &["bridge", "new", "noop", "--id", &format!("r{round}-{i:02}")],
            );
        }
        let _ = std::fs::remove_file(&log);
        let out = c
            .warden(&c.root, &["bridge", "run", "--once", "--settle-ms", "0"])
            .env("PATH", &path)
            .output()
            .expect("warden");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&log).expect("the wrapper was used");
        // A pass of fewer than 100 objects stores them loose with one
        // `unpack-objects` (as fast-import does): at most one per pass.
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        let unpacks = lines
            .iter()
            .filter(|l| l.contains("unpack-objects"))
            .count();
        assert!(unpacks <= 1, "{lines:#?}");
        calls.push(
            lines
                .into_iter()
                .filter(|l| !l.contains("unpack-objects"))
                .collect::<Vec<_>>(),
        );
        let subjects = c.remote_subjects();
        for i in 0..n {
            let want = format!("bridge: results r{round}-{i:02} (exit=0)");
            assert!(subjects.contains(&want), "{want} in {subjects:?}");
        }
    }
    assert_eq!(
        calls[1].len(),
        calls[2].len(),
        "git processes for 3 commands: {:#?}\nfor 12: {:#?}",
        calls[1],
        calls[2]
    );
    let count = |word: &str| calls[2].iter().filter(|l| l.contains(word)).count();
    assert_eq!(count("fast-import"), 0, "{:#?}", calls[2]);
    assert_eq!(count("--show-object-format"), 1, "{:#?}", calls[2]);
}

/// `bridge run` needs exactly one of `--once` and `--watch`, and says so.
#[test]
fn run_without_a_mode_names_both_modes() {
    let c = Cloud::new();
    let out = c.run(&c.root, &["bridge", "run"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--once") && err.contains("--watch"), "{err}");
    let both = c.run(&c.root, &["bridge", "run", "--once", "--watch"]);
    assert_eq!(both.status.code(), Some(2));
    // `bridge --help` lists the exit codes, as `sync --help` does.
    let help = c.ok(&c.root, &["bridge", "--help"]);
    for code in [
        "Exit codes:",
        "  1  a command was dead-lettered",
        "  4  another",
    ] {
        assert!(help.contains(code), "{code}: {help}");
    }
}

/// In a pass over several commands, each command's commit carries its own
/// line of logs/bridge.log (also a dead letter's), and nothing is left over.
#[test]
fn each_commit_carries_its_own_log_line() {
    let c = Cloud::new();
    for id in ["b-first", "a-second", "c-third"] {
        c.ok(&c.root, &["bridge", "new", "noop", "--id", id]);
        // Processed in name order; distinct mtimes do not matter.
    }
    std::fs::write(c.root.join("commands/zz-bad.json"), "{\"x\": 1}").expect("write");
    assert_eq!(once(&c, &c.root, &[]).status.code(), Some(1));
    let log = c.git(&c.root, &["log", "--format=%H %s", "main"]);
    let mut seen = Vec::new();
    for line in log.lines() {
        let (sha, subject) = line.split_once(' ').expect("sha subject");
        let want = if let Some(rest) = subject.strip_prefix("bridge: results ") {
            rest.split(' ').next().expect("id").to_string()
        } else if subject.starts_with("bridge: DLQ ") {
            "zz-bad".to_string()
        } else {
            continue;
        };
        let diff = c.git(
            &c.root,
            &[
                "show",
                "--format=",
                "--unified=0",
                sha,
                "--",
                "logs/bridge.log",
            ],
        );
        let added: Vec<Value> = diff
            .lines()
            .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
            .map(|l| serde_json::from_str(&l[1..]).expect("log line"))
            .collect();
        assert_eq!(added.len(), 1, "{subject}: {diff}");
        assert_eq!(added[0]["id"], json!(want), "{subject}: {diff}");
        seen.push(want);
    }
    seen.sort();
    assert_eq!(seen, ["a-second", "b-first", "c-third", "zz-bad"]);
    assert_eq!(c.git(&c.root, &["status", "--porcelain"]), "");
    let remote_log = c.git(&c.remote, &["show", "main:logs/bridge.log"]);
    assert_eq!(remote_log.lines().count(), 4, "{remote_log}");
}

const FILE_SECRET: &str = "file-secret-bm90LWluLWFueS1lbnY";

/// `warden` with the secret supplied only by a file (or a credential): no
/// secret variable at all in its environment.
fn warden_file_secret(c: &Cloud, root: &Path, vars: &[(&str, &Path)], args: &[&str]) -> Output {
    let mut cmd = isolated(BIN, &c.base());
    cmd.env("CLOUD", root).args(args).current_dir(root);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().expect("warden")
}

fn secret_file(dir: &Path, name: &str, content: &str, mode: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, content).expect("write");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
    p
}

/// Build 3 (issue 10): with the secret supplied by a file, a validationPlan
/// check scanning every /proc/*/environ it can read finds no trace of it,
/// and its own environment holds none of the secret variables.
#[test]
fn a_validation_check_cannot_read_a_file_supplied_secret_from_any_process() {
    let c = Cloud::new();
    let base = c.base();
    let secret = secret_file(&base, "bridge-secret", &format!("{FILE_SECRET}\n"), 0o600);
    let dump = base.join("environs");
    std::fs::write(
        c.root.join("meta/bridge.json"),
        serde_json::to_vec_pretty(&json!({
            "schema": "warden.bridge-config/v1",
            "checks": {"snoop": ["sh", "-c",
                "for f in /proc/[0-9]*/environ; do cat \"$f\" 2>/dev/null; printf '\\n'; done > \"$0\"; env > \"$0.self\"",
                dump.display().to_string()]}
        }))
        .expect("json"),
    )
    .expect("config");
    let vars = [("GPT_BRIDGE_HMAC_SECRET_FILE", secret.as_path())];
    drop_a_snooping_command_signed_with_the_file(&c, &vars);
    let out = warden_file_secret(
        &c,
        &c.root,
        &vars,
        &[
            "bridge",
            "run",
            "--once",
            "--settle-ms",
            "0",
            "--no-publish",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stderr}\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr.contains("1 accepted secret(s) from GPT_BRIDGE_HMAC_SECRET_FILE ("),
        "{stderr}"
    );
    assert!(!stderr.contains(FILE_SECRET));
    let environs = std::fs::read(&dump).expect("the check ran");
    let text = String::from_utf8_lossy(&environs);
    assert!(text.contains("PATH="), "the check read no environ at all");
    assert!(
        !text.contains(FILE_SECRET),
        "the secret is in some process's environment"
    );
    let own = std::fs::read_to_string(base.join("environs.self")).expect("own env");
    assert!(!own.contains("GPT_BRIDGE_HMAC"), "{own}");
    assert!(
        !own.contains("CLOUD="),
        "the check inherited the executor's environment: {own}"
    );
    assert!(c.root.join("docs/snoop.md").exists());
}

/// A command with the `snoop` check, signed with the file's secret, dropped
/// in commands/.
fn drop_a_snooping_command_signed_with_the_file(c: &Cloud, vars: &[(&str, &Path)]) {
    let out = warden_file_secret(
        c,
        &c.root,
        vars,
        &[
            "bridge",
            "new",
            "write",
            "--path",
            "docs/snoop.md",
            "--content",
            "x",
            "--id",
            "snoop1",
            "--stdout",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut v: Value = serde_json::from_slice(&out.stdout).expect("json");
    v.as_object_mut().expect("object").remove("hmac");
    v["validationPlan"] = json!(["snoop"]);
    let draft = c.base().join("snoop1.json");
    std::fs::write(&draft, serde_json::to_vec(&v).expect("json")).expect("write");
    let out = warden_file_secret(
        c,
        &c.root,
        vars,
        &[
            "bridge",
            "sign",
            draft.to_str().expect("utf-8"),
            "--in-place",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::rename(&draft, c.root.join("commands/snoop1.json")).expect("rename");
}

/// The secret file is checked and named: missing, empty, both the variable
/// and the file set (exit 2); world-readable (a warning); a systemd
/// credential in $CREDENTIALS_DIRECTORY works like the file.
#[test]
fn secret_files_are_checked_and_named() {
    let c = Cloud::new();
    a_missing_empty_or_open_secret_file_is_named(&c);
    both_the_variable_and_the_file_are_refused(&c);
    a_systemd_credential_works_like_the_file(&c);
}

/// `bridge verify /dev/null` with VARS: its exit code and stderr.
fn verify_with(c: &Cloud, vars: &[(&str, &Path)]) -> (Option<i32>, String) {
    let out = warden_file_secret(c, &c.root, vars, &["bridge", "verify", "/dev/null"]);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn a_missing_empty_or_open_secret_file_is_named(c: &Cloud) {
    let base = c.base();
    let missing = base.join("no-such-secret");
    let (code, err) = verify_with(c, &[("GPT_BRIDGE_HMAC_SECRET_FILE", &missing)]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("GPT_BRIDGE_HMAC_SECRET_FILE")
            && err.contains("no-such-secret")
            && err.contains("does not exist"),
        "{err}"
    );
    let empty = secret_file(&base, "empty", "\n", 0o600);
    let (code, err) = verify_with(c, &[("GPT_BRIDGE_HMAC_SECRET_FILE", &empty)]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("is empty") && err.contains(&empty.display().to_string()),
        "{err}"
    );
    let open = secret_file(&base, "open", FILE_SECRET, 0o644);
    let (_, err) = verify_with(c, &[("GPT_BRIDGE_HMAC_SECRET_FILE", &open)]);
    assert!(
        err.contains("warning:") && err.contains("chmod 600"),
        "{err}"
    );
}

/// Both the variable and the file: refused, naming both.
fn both_the_variable_and_the_file_are_refused(c: &Cloud) {
    let base = c.base();
    let mut cmd = isolated(BIN, &base);
    let ok = secret_file(&base, "ok", FILE_SECRET, 0o600);
    let out = cmd
        .env("CLOUD", &c.root)
        .env("GPT_BRIDGE_HMAC_SECRET", "x")
        .env("GPT_BRIDGE_HMAC_SECRET_FILE", &ok)
        .args(["bridge", "verify", "/dev/null"])
        .current_dir(&c.root)
        .output()
        .expect("warden");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("GPT_BRIDGE_HMAC_SECRET_FILE") && err.contains("both"),
        "{err}"
    );
}

/// A systemd credential (LoadCredential=gpt-bridge-hmac-secret:…).
fn a_systemd_credential_works_like_the_file(c: &Cloud) {
    let creds = c.base().join("creds");
    std::fs::create_dir(&creds).expect("mkdir");
    secret_file(&creds, "gpt-bridge-hmac-secret", FILE_SECRET, 0o400);
    let out = warden_file_secret(
        c,
        &c.root,
        &[("CREDENTIALS_DIRECTORY", &creds)],
        &["bridge", "new", "noop", "--id", "cred1"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = warden_file_secret(
        c,
        &c.root,
        &[("CREDENTIALS_DIRECTORY", &creds)],
        &[
            "bridge",
            "run",
            "--once",
            "--settle-ms",
            "0",
            "--no-publish",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("systemd credential gpt-bridge-hmac-secret"),
        "{err}"
    );
    assert!(c.root.join("archive/cred1.json").exists());
}

/// `bridge verify` on a file in commands/ reads it as the executor does: a
/// hard link or a symlink to another file is refused at the file layer, and
/// nothing of that file is printed.
#[test]
fn verify_refuses_a_linked_inbox_file_like_the_executor() {
    let c = Cloud::new();
    let secret = c.base().join("private.txt");
    std::fs::write(&secret, "PRIVATE-CONTENT\n").expect("write");
    std::fs::hard_link(&secret, c.root.join("commands/hl.json")).expect("link");
    std::os::unix::fs::symlink(&secret, c.root.join("commands/sl.json")).expect("symlink");
    for (file, reason) in [
        ("commands/hl.json", "hard_link"),
        ("commands/sl.json", "symlink"),
    ] {
        let out = c.run(&c.root, &["bridge", "verify", file]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{file}: {stdout}");
        assert!(stdout.contains(reason), "{file}: {stdout}");
        assert!(!stdout.contains("PRIVATE"), "{file}: {stdout}");
    }
}

#[test]
fn an_inbox_file_cannot_forge_output_lines_or_send_escape_sequences() {
    // Unsigned: a duplicate key (and a file name) holding a newline, forged
    // lines and `ESC [ 8 m` reached the executor's output raw, one record per
    // line in the journal under `--watch`.
    let c = Cloud::new();
    let key = "x\narchived     t9  applied  run 01FORGED\ncommitted    bridge: results t9 (exit=0)\u{1b}[8m";
    let doc = format!(
        "{{{k}:1,{k}:2}}",
        k = serde_json::to_string(key).expect("key")
    );
    std::fs::write(c.root.join("commands/zz.json"), doc).expect("drop");
    std::fs::write(
        c.root
            .join("commands/.a\u{1b}]0;pwned\u{7}\nprocessed 0: forged\n.json"),
        "{}",
    )
    .expect("drop");
    let out = once(&c, &c.root, &["--no-publish"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );
    for line in text.lines() {
        assert!(
            line.starts_with("dead_letter  ") || line.starts_with("processed "),
            "a line the file forged: {line:?} in {text:?}"
        );
    }
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("dead_letter  "))
            .count(),
        2,
        "{text:?}"
    );
}
