//! `warden registry …` through the real binary: the seed's acceptance items
//! that are about the command line (no terminal → refused; validate from the
//! current directory; the TTY walk-through, driven once through a real
//! pseudo-terminal by python3's `pty`; Ctrl-C writes nothing; the publish
//! check; the hook that is not overwritten without --force; undo).
// Tests, examples and benches drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{BIN, Repo};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

const ALPHA: &str = "---\nid: capability.demo.alpha\ntitle: Alpha\nmaturity:\n  D: {current: 0}\n  A: {current: 0}\n  C: {current: 0}\n  R: {current: 0}\npaths:\n- docs/alpha/**\n---\n# Alpha\n\nbody  \n";

/// A governed repository with one capability and three new docs for it; the
/// base commit.
fn setup() -> (Repo, String) {
    let r = Repo::new();
    r.write("registry/capabilities/alpha.md", ALPHA);
    r.write(
        "registry/indexes/capabilities.yaml",
        "updated: \"2026-01-01\"\ncapabilities:\n- id: capability.demo.alpha\n  entry: registry/capabilities/alpha.md\n  vector: D0/A0/C0/R0\n",
    );
    r.git(&["add", "-A"]);
    r.git(&["commit", "-q", "-m", "start"]);
    let base = r.git(&["rev-parse", "HEAD"]).trim().to_string();
    for n in ["a", "b", "c"] {
        r.write(&format!("docs/alpha/{n}.md"), n);
    }
    r.git(&["add", "-A"]);
    r.git(&["commit", "-q", "-m", "docs"]);
    (r, base)
}

#[test]
fn maintain_without_a_terminal_refuses_with_exit_2_and_writes_nothing() {
    let (r, base) = setup();
    let before = r.tree();
    let err = r.fails(
        &[
            "registry",
            "maintain",
            "--no-llm",
            "--from-git-since",
            &base,
        ],
        2,
    );
    assert!(err.contains("stdin is not a terminal"), "{err}");
    assert!(err.contains("--auto"), "names the way out: {err}");
    assert_eq!(r.tree(), before);
}

#[test]
fn maintain_auto_streams_json_lines_and_undo_restores() {
    let (r, base) = setup();
    let alpha = r.read("registry/capabilities/alpha.md");
    let out = r.run(&["registry", "maintain", "--auto", "--from-git-since", &base]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("LLM step skipped: no LLM configured"),
        "a clear message: {err}"
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert!(
        lines
            .iter()
            .all(|l| l["schema"] == "warden.registry-event/v1")
    );
    let events: Vec<&str> = lines.iter().filter_map(|l| l["event"].as_str()).collect();
    assert_eq!(
        events,
        [
            "suggestion",
            "suggestion",
            "suggestion",
            "applied",
            "applied",
            "applied",
            "summary"
        ]
    );
    let summary = &lines[6]["summary"];
    assert_eq!(summary["outcome"], "applied");
    let run = summary["run"].as_str().expect("run").to_string();
    assert_ne!(r.read("registry/capabilities/alpha.md"), alpha);
    r.ok(&["undo", &run, "--yes"]);
    assert_eq!(r.read("registry/capabilities/alpha.md"), alpha);
}

/// Every line of a real session — suggestions, a gate's refusal, the
/// applied patches and the summary — validates against the published
/// `registry-event` schema, and the summary's report against
/// `registry-maintain`.
#[test]
fn maintain_json_lines_and_summary_validate_against_their_schemas() {
    let (r, base) = setup();
    r.write(
        "patches.json",
        r#"{"schema": "warden.registry-patch/v1", "patches": [{"capability_id": "capability.demo.alpha", "kind": "evidence_append", "confidence": "high", "rationale": "a person says so", "field_path": "evidence.tests", "append": "tests/missing.py", "evidence_citations": []}]}"#,
    );
    let out = r.run(&[
        "registry",
        "maintain",
        "--auto",
        "--no-llm",
        "--format",
        "json",
        "--from-git-since",
        &base,
        "--patches",
        "patches.json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(5),
        "partial: the person's patch is refused: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let compile = |name: &str| {
        let schema = warden_registry::schema::get(name).expect("schema");
        jsonschema::draft7::new(&schema).expect("schema compiles")
    };
    let event = compile("registry-event");
    let maintain = compile("registry-maintain");
    let mut kinds = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: Value = serde_json::from_str(line).expect("one JSON object per line");
        let errors: Vec<String> = event.iter_errors(&v).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?}\n{line}");
        kinds.push(v["event"].as_str().expect("event").to_string());
        if v["event"] == "summary" {
            let errors: Vec<String> = maintain
                .iter_errors(&v["summary"])
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{errors:?}\n{line}");
            assert_eq!(v["summary"]["exit_code"], 5);
        }
        if v["event"] == "rejected" {
            assert_eq!(v["gate"], "evidence", "{line}");
        }
    }
    assert!(kinds.contains(&"rejected".to_string()), "{kinds:?}");
    assert_eq!(
        kinds.iter().filter(|k| *k == "applied").count(),
        3,
        "{kinds:?}"
    );
    assert_eq!(kinds.last().map(String::as_str), Some("summary"));
}

#[test]
fn validate_defaults_to_the_current_directory_and_names_file_field_and_fix() {
    let (r, _) = setup();
    let sub = r.root.join("docs/alpha");
    let out = r
        .cmd(&["registry", "validate"])
        .current_dir(&sub)
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("registry valid: 1 entries"));
    std::fs::remove_file(r.root.join("registry/capabilities/alpha.md")).expect("rm");
    let out = r
        .cmd(&["registry", "validate"])
        .current_dir(&sub)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "error[missing_entry]: registry/indexes/capabilities.yaml: capabilities[0].entry:"
        ),
        "{text}"
    );
    assert!(
        text.contains("fix: restore the entry file, or remove the row"),
        "{text}"
    );
}

#[test]
fn init_scaffolds_and_never_overwrites_a_foreign_hook_without_force() {
    let r = Repo::new();
    r.write(".git/hooks/pre-commit", "#!/bin/sh\necho mine\n");
    let err = r.fails(&["registry", "init", "--scaffold", "--hook", "--yes"], 1);
    assert!(
        err.contains("not overwritten") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(r.read(".git/hooks/pre-commit"), "#!/bin/sh\necho mine\n");
    assert!(
        r.root
            .join("registry/templates/git-hook.pre-commit.registry")
            .is_file()
    );
    assert!(
        r.root
            .join("registry/templates/Makefile.registry.fragment")
            .is_file()
    );
    r.ok(&["registry", "validate"]);
    r.ok(&["registry", "init", "--hook", "--force", "--yes"]);
    assert!(
        r.read(".git/hooks/pre-commit")
            .contains("warden registry maintain --auto --no-llm")
    );
    let stats = r.json(&["registry", "stats"]);
    assert_eq!(stats["schema"], "warden.registry-stats/v1");
    assert_eq!(stats["entries"], 1);
}

/// Drive `argv` in a real pseudo-terminal: answer each prompt in turn
/// ("^C" sends Ctrl-C); print the transcript and the exit status.
const PTY_DRIVER: &str = r#"
import os, pty, sys, select, time
answers = os.environ["ANSWERS"].split(",")
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
out = b""
def pump(until, timeout=30):
    global out
    end = time.time() + timeout
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return False
            if not chunk:
                return False
            out += chunk
            if until is not None and out.count(until[0]) >= until[1]:
                return True
    return False
prompt = b"[a,s,e,q,A,?]? "
for i, a in enumerate(answers):
    if not pump((prompt, i + 1)):
        break
    os.write(fd, b"\x03" if a == "^C" else (a + "\n").encode())
pump(None, 10)
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode("utf-8", "replace"))
sys.stdout.write("\nSTATUS %d %d\n" % (os.WIFEXITED(status) and os.WEXITSTATUS(status) or -1, os.WIFSIGNALED(status) and os.WTERMSIG(status) or 0))
"#;

fn pty(r: &Repo, args: &[&str], answers: &str) -> String {
    let out = common::isolated("python3", r.home.path())
        .arg("-c")
        .arg(PTY_DRIVER)
        .arg(BIN)
        .args(args)
        .env("ANSWERS", answers)
        .env("TERM", "dumb")
        .current_dir(&r.root)
        .output()
        .expect("python3");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_review_loop_runs_in_a_real_terminal() {
    let (r, base) = setup();
    let t = pty(
        &r,
        &[
            "registry",
            "maintain",
            "--no-llm",
            "--from-git-since",
            &base,
        ],
        "a,s,a",
    );
    assert!(
        t.contains("[1/3] evidence_append capability.demo.alpha"),
        "{t}"
    );
    assert!(
        t.contains("evidence.documentation: [] -> [docs/alpha/a.md]"),
        "{t}"
    );
    assert!(
        t.contains("partial: 3 suggested, 2 applied, 1 skipped"),
        "{t}"
    );
    assert!(t.contains("STATUS 5 0"), "exit 5 = partial: {t}");
    let alpha = r.read("registry/capabilities/alpha.md");
    assert!(
        alpha.contains("docs/alpha/a.md")
            && !alpha.contains("docs/alpha/b.md")
            && alpha.contains("docs/alpha/c.md"),
        "{alpha}"
    );
}

#[test]
fn ctrl_c_in_the_review_loop_writes_nothing() {
    let (r, base) = setup();
    let before = r.tree();
    let t = pty(
        &r,
        &[
            "registry",
            "maintain",
            "--no-llm",
            "--from-git-since",
            &base,
        ],
        "a,^C",
    );
    assert!(t.contains("[2/3]"), "{t}");
    assert!(t.contains("STATUS -1 2"), "ended by SIGINT: {t}");
    assert_eq!(r.tree(), before, "the accepted patch was not written");
}

/// Serve `body` with `status` to every request.
fn serve(status: u16, body: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!(
        "http://{}/raw/main/registry/indexes/capabilities.yaml",
        listener.local_addr().expect("addr")
    );
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { break };
            let mut reader = BufReader::new(s.try_clone().expect("clone"));
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() || line == "\r\n" || line.is_empty() {
                    break;
                }
            }
            let _ = write!(
                s,
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(&body);
        }
    });
    url
}

#[test]
fn publish_passes_only_when_the_url_serves_the_committed_index() {
    let (r, _) = setup();
    let index = r.read("registry/indexes/capabilities.yaml").into_bytes();
    let good = serve(200, index.clone());
    let out = r.run(&[
        "registry",
        "maintain",
        "--auto",
        "--no-llm",
        "--publish",
        "--raw-url",
        &good,
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last: Value = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .map(|l| serde_json::from_str(l).expect("json"))
        .expect("summary");
    assert_eq!(last["summary"]["publish"]["pass"], true, "{last:#}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("## Registry publish check: PASS"));
    let stale = serve(200, b"updated: \"2025-01-01\"\ncapabilities: []\n".to_vec());
    let out = r.run(&[
        "registry",
        "maintain",
        "--auto",
        "--no-llm",
        "--publish",
        "--raw-url",
        &stale,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("FAIL"));
    let missing = serve(404, b"not found".to_vec());
    r.fails(
        &[
            "registry",
            "maintain",
            "--auto",
            "--no-llm",
            "--publish",
            "--raw-url",
            &missing,
        ],
        1,
    );
}
