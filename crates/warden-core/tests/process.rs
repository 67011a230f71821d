//! The process runner (`warden_core::process`): the whole descendant tree of a
//! child is gone when `run` returns (setsid'd and double-forked grandchildren
//! included), at normal exit, at the deadline and past an output limit; the
//! child sees only the listed environment and never a secret.
//!
//! The tests run one at a time (`SERIAL`): the orphan sweep waits until no
//! runner child is running, so a concurrent test would delay another's sweep.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]
#![cfg(target_os = "linux")]

use std::sync::Mutex;
use std::time::{Duration, Instant};
use warden_core::process::{self, Cmd, End, Over, Sink};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    let g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    assert!(
        process::adopt_orphans(),
        "this test needs Linux (child subreaper)"
    );
    g
}

/// Alive = exists and is not a zombie.
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|r| r.split_whitespace().next());
            state != Some("Z")
        }
        Err(_) => false,
    }
}

fn first_pid(out: &[u8]) -> i32 {
    let text = String::from_utf8_lossy(out);
    text.lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("no pid printed: {text:?}"))
}

/// A child that starts a grandchild in a new session (setsid) and prints its pid.
const SETSID: &str = "import os, sys, time\n\
pid = os.fork()\n\
if pid == 0:\n    os.setsid()\n    time.sleep(60)\n    os._exit(0)\n\
print(pid, flush=True)\n";

/// A child whose child forks again and exits at once: the grandchild is an
/// orphan, moved to a process group of its own.
const DOUBLE_FORK: &str = "import os, sys, time\n\
r, w = os.pipe()\n\
if os.fork() == 0:\n    if os.fork() == 0:\n        os.setpgid(0, 0)\n        os.write(w, b'%d\\n' % os.getpid())\n        time.sleep(60)\n        os._exit(0)\n    os._exit(0)\n\
os.close(w)\n\
sys.stdout.write(os.read(r, 64).decode())\n\
sys.stdout.flush()\n";

fn python(code: &str) -> Cmd {
    Cmd::new("python3")
        .arg("-c")
        .arg(code)
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
}

#[test]
fn setsid_grandchild_does_not_survive_a_normal_exit() {
    let _g = serial();
    let done = python(SETSID).run().expect("run");
    assert_eq!(done.end, End::Exited(0), "{}", done.stderr_text());
    let pid = first_pid(&done.stdout);
    assert!(!alive(pid), "setsid'd grandchild {pid} survived");
}

#[test]
fn double_forked_grandchild_does_not_survive_a_normal_exit() {
    let _g = serial();
    let done = python(DOUBLE_FORK).run().expect("run");
    assert_eq!(done.end, End::Exited(0), "{}", done.stderr_text());
    let pid = first_pid(&done.stdout);
    assert!(!alive(pid), "double-forked grandchild {pid} survived");
}

#[test]
fn setsid_and_double_forked_grandchildren_do_not_survive_the_deadline() {
    let _g = serial();
    let code = format!(
        "{SETSID}\n{}\ntime.sleep(60)\n",
        DOUBLE_FORK.replace("import os, sys, time\n", "")
    );
    let started = Instant::now();
    let done = python(&code)
        .timeout(Duration::from_millis(1500))
        .run()
        .expect("run");
    assert_eq!(done.end, End::TimedOut);
    assert!(started.elapsed() < Duration::from_secs(10));
    let text = String::from_utf8_lossy(&done.stdout).to_string();
    let pids: Vec<i32> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
    assert_eq!(pids.len(), 2, "{text:?} {}", done.stderr_text());
    for pid in pids {
        assert!(!alive(pid), "grandchild {pid} survived the deadline kill");
    }
}

#[test]
fn output_limit_kills_the_whole_tree() {
    let _g = serial();
    let code = format!("{SETSID}\nwhile True:\n    sys.stdout.write('x' * 4096)\n");
    let done = python(&code)
        .stdout(Sink::capture(64 * 1024))
        .timeout(Duration::from_secs(30))
        .run()
        .expect("run");
    assert_eq!(done.end, End::OutputLimit);
    assert!(done.stdout_over);
    assert_eq!(done.stdout.len(), 64 * 1024);
    let pid = first_pid(&done.stdout);
    assert!(
        !alive(pid),
        "grandchild {pid} survived the output-limit kill"
    );
}

#[test]
fn stopped_child_is_still_killed_at_the_deadline() {
    let _g = serial();
    let started = Instant::now();
    let done = Cmd::new("/bin/sh")
        .args(["-c", "kill -STOP $$; echo resumed"])
        .timeout(Duration::from_millis(500))
        .run()
        .expect("run");
    assert_eq!(done.end, End::TimedOut);
    assert!(done.stdout.is_empty());
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn child_sees_only_the_listed_environment_and_never_a_secret() {
    let _g = serial();
    let done = Cmd::new("/usr/bin/env")
        .env("LISTED", "1")
        .env("GPT_BRIDGE_HMAC_SECRET", "s3cret")
        .env("GPT_BRIDGE_HMAC_SECRET_PREV", "old")
        .env("GITHUB_TOKEN", "tok")
        .envs([("my_api_token", "x"), ("ALSO_LISTED", "2")])
        .run()
        .expect("run");
    assert!(done.success());
    let mut lines: Vec<String> = String::from_utf8_lossy(&done.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    // Nothing inherited from this test process (which has PATH, HOME, …).
    assert_eq!(lines, ["ALSO_LISTED=2", "LISTED=1"]);
}

#[test]
fn exit_codes_signals_stdin_and_discarded_output_are_reported() {
    let _g = serial();
    let done = Cmd::new("/bin/sh")
        .args(["-c", "exit 7"])
        .run()
        .expect("run");
    assert_eq!((done.end, done.code), (End::Exited(7), Some(7)));
    let done = Cmd::new("/bin/sh")
        .args(["-c", "kill -TERM $$"])
        .run()
        .expect("run");
    assert_eq!(done.end, End::Signalled(15));
    let done = Cmd::new("/bin/cat")
        .stdin_bytes(b"hello\n".to_vec())
        .run()
        .expect("run");
    assert_eq!(done.stdout, b"hello\n");
    let done = Cmd::new("/bin/sh")
        .args(["-c", "head -c 100000 /dev/zero >&2; echo ok"])
        .stderr(Sink::Capture {
            limit: 10,
            over: Over::Discard,
        })
        .run()
        .expect("run");
    assert_eq!(done.end, End::Exited(0));
    assert_eq!((done.stderr.len(), done.stderr_over), (10, true));
    assert_eq!(done.stdout, b"ok\n");
    let err = Cmd::new("/nonexistent/program")
        .run()
        .expect_err("cannot start");
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
}

#[test]
fn orphans_are_swept_only_after_the_last_concurrent_child_ends() {
    let _g = serial();
    // The slow child runs until the test says so (not for a fixed time: on a
    // loaded machine the second child may take longer than any fixed sleep).
    let dir = tempfile::tempdir().expect("tempdir");
    let go = dir.path().join("go");
    let started = dir.path().join("started");
    let script = format!(
        "touch '{}'; while [ ! -e '{}' ]; do sleep 0.02; done",
        started.display(),
        go.display()
    );
    let slow = std::thread::spawn(move || {
        Cmd::new("/bin/sh")
            .args(["-c", &script])
            .run()
            .expect("run")
    });
    while !started.exists() {
        std::thread::sleep(Duration::from_millis(10));
    }
    let done = python(SETSID).run().expect("run");
    let pid = first_pid(&done.stdout);
    // The other child still runs: its siblings' orphans wait for the sweep.
    let deferred = alive(pid);
    std::fs::write(&go, b"").expect("go");
    assert!(slow.join().expect("thread").success());
    assert!(!alive(pid), "orphan {pid} survived the deferred sweep");
    assert!(
        deferred,
        "the sweep ran while another runner child was running"
    );
}
