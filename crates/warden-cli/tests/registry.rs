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

/// The one capability of [`setup`]: alpha, D0/A0/C0/R0, covering docs/alpha/.
fn alpha() -> String {
    warden_testkit::registry::entry(
        "capability.demo.alpha",
        "Alpha",
        [0, 0, 0, 0],
        &["docs/alpha/**"],
        "",
        "# Alpha\n\nbody  \n",
    )
}

const ALPHA_ROW: (&str, &str, &str) = (
    "capability.demo.alpha",
    "registry/capabilities/alpha.md",
    "D0/A0/C0/R0",
);
const GHOST_ROW: (&str, &str, &str) = (
    "capability.demo.ghost",
    "registry/capabilities/ghost.md",
    "D0/A0/C0/R0",
);

/// A governed repository with one capability and three new docs for it; the
/// base commit.
fn setup() -> (Repo, String) {
    let r = Repo::new();
    r.write("registry/capabilities/alpha.md", &alpha());
    r.write(
        "registry/indexes/capabilities.yaml",
        &warden_testkit::registry::index("2026-01-01", &[ALPHA_ROW]),
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

/// The summary event: the last JSON line a maintain printed.
fn summary(out: &std::process::Output) -> Value {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .map(|l| serde_json::from_str(l).expect("json"))
        .expect("summary")
}

/// `warden ARGS`, which must exit 0 (else its stderr is shown); the summary.
fn summary_ok(r: &Repo, args: &[&str]) -> Value {
    let out = r.run(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    summary(&out)
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
    let validate = |r: &Repo| {
        r.cmd(&["registry", "validate"])
            .current_dir(&sub)
            .output()
            .expect("run")
    };
    let out = validate(&r);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "registry valid: 1 entries, 1 index rows, 0 error(s), 0 warning(s)\n"
    );
    // Problems of every place: each line starts with file:line (or just
    // the file when the field has no line), then the field and the fix.
    r.write(
        "registry/capabilities/alpha.md",
        &alpha().replace(
            "paths:\n- docs/alpha/**\n",
            "paths:\n- docs/alpha/**\n- docs/[alpha\nrelations:\n  depends_on:\n  - capability.nowhere\n",
        ),
    );
    r.write(
        "registry/capabilities/broken.md",
        "---\nid: capability.demo.broken\ntitel: Broken\n---\n",
    );
    r.write(
        "registry/indexes/capabilities.yaml",
        &warden_testkit::registry::index(
            "2026-01-01",
            &[
                ("capability.demo.alpha", ALPHA_ROW.1, "D1/A0/C0/R0"),
                GHOST_ROW,
            ],
        ),
    );
    let out = validate(&r);
    assert_eq!(out.status.code(), Some(1));
    insta::with_settings!({prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!(
            "registry_validate_human",
            String::from_utf8_lossy(&out.stdout)
        );
    });
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

/// The review loop of `maintain --no-llm --from-git-since BASE` in a real
/// pseudo-terminal, answered in turn; the transcript.
fn review(r: &Repo, base: &str, answers: &str) -> String {
    pty(
        r,
        &["registry", "maintain", "--no-llm", "--from-git-since", base],
        answers,
    )
}

#[test]
fn the_review_loop_runs_in_a_real_terminal() {
    let (r, base) = setup();
    let t = review(&r, &base, "a,s,a");
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
    let t = review(&r, &base, "a,^C");
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
    let last = summary(&out);
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

/// An LLM server on 127.0.0.1: answers every request with `body` and counts
/// the requests.
fn llm_server(body: Value) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = hits.clone();
    let body = body.to_string().into_bytes();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { break };
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut reader = BufReader::new(s.try_clone().expect("clone"));
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() || line == "\r\n" || line.is_empty() {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut req = vec![0u8; len];
            let _ = std::io::Read::read_exact(&mut reader, &mut req);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(&body);
        }
    });
    (url, hits)
}

/// `warden replay RUN` of a maintain run that asked an LLM re-runs the
/// session from the recorded inputs and raw answers: byte-identical, and the
/// LLM server it is pointed at is never called. A changed recorded answer
/// makes the replay differ (exit 1).
#[test]
fn replay_of_a_maintain_run_uses_the_recorded_llm_answers_and_no_network() {
    let (r, base) = setup();
    let answer = serde_json::json!({"patches": [{
        "capability_id": "capability.demo.alpha", "kind": "consumer_feedback",
        "confidence": "high", "rationale": "the team said so", "field_path": "consumer_feedback",
        "value": null, "append": "team X uses it daily", "evidence_citations": []}]});
    let (url, hits) = llm_server(answer);
    let out = r.run(&[
        "registry",
        "maintain",
        "--auto",
        "--from-git-since",
        &base,
        "--llm-url",
        &url,
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
    let run = summary(&out)["summary"]["run"]
        .as_str()
        .expect("run")
        .to_string();
    assert!(
        r.read("registry/capabilities/alpha.md")
            .contains("team X uses it daily")
    );
    // A server that must not be called: the replay has the records.
    let (trap, trapped) = llm_server(serde_json::json!({"refusal": "must not be called"}));
    let before = r.tree();
    let out = r
        .cmd(&["replay", &run, "--format", "json"])
        .env("LLM_CONNECT_URL", &trap)
        .output()
        .expect("replay");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["schema"], "warden.registry-replay/v1");
    assert_eq!(v["identical"], true, "{v:#}");
    assert_eq!(v["llm_calls"], 1);
    assert_eq!(v["llm_identical"], true);
    assert_eq!(v["files"].as_array().map(Vec::len), Some(2), "{v:#}");
    assert_eq!(
        trapped.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no network"
    );
    assert_eq!(r.tree(), before, "a replay writes nothing git tracks");
    // Another recorded answer: the replay follows the records, so it differs.
    let rec = r.root.join(format!(".runs/{run}/llm/alpha-0.json"));
    let text = std::fs::read_to_string(&rec).expect("recorded answer");
    std::fs::write(
        &rec,
        text.replace("team X uses it daily", "team Y uses it weekly"),
    )
    .expect("write");
    let out = r.run(&["replay", &run]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l.contains("DIFFERS") && l.ends_with("registry/capabilities/alpha.md")),
        "{text}"
    );
    assert_eq!(
        trapped.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no network"
    );
}

/// `registry validate --format sarif`: one rule per problem code, every
/// result at its file and the field's line, fingerprints without lines.
#[test]
fn validate_as_sarif_locates_each_problem_at_its_field() {
    let (r, _) = setup();
    r.write(
        "registry/capabilities/alpha.md",
        &alpha().replace(
            "paths:\n- docs/alpha/**\n",
            "paths:\n- docs/alpha/**\nrelations:\n  depends_on:\n  - capability.nowhere\n",
        ),
    );
    r.write(
        "registry/indexes/capabilities.yaml",
        &warden_testkit::registry::index("2026-01-01", &[ALPHA_ROW, GHOST_ROW]),
    );
    let out = r.run(&["registry", "validate", "--format", "sarif"]);
    assert_eq!(out.status.code(), Some(1), "missing_entry is an error");
    let v: Value = serde_json::from_slice(&out.stdout).expect("sarif");
    assert_eq!(v["version"], "2.1.0");
    let results = v["runs"][0]["results"].as_array().expect("results");
    let at = |rule: &str| {
        let res = results
            .iter()
            .find(|x| x["ruleId"] == rule)
            .unwrap_or_else(|| panic!("{rule} in {v:#}"));
        let loc = &res["locations"][0]["physicalLocation"];
        (
            loc["artifactLocation"]["uri"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            loc["region"]["startLine"].as_u64().unwrap_or(0),
            res["partialFingerprints"]["wardenRegistryProblem/v1"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        )
    };
    let (file, line, fp) = at("missing_entry");
    assert_eq!(
        (file.as_str(), line),
        ("registry/indexes/capabilities.yaml", 7)
    );
    assert_eq!(fp.len(), 64);
    let (file, line, _) = at("relation_unknown");
    assert_eq!(
        (file.as_str(), line),
        ("registry/capabilities/alpha.md", 13)
    );
    let rules: Vec<&str> = v["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter_map(|x| x["id"].as_str())
        .collect();
    assert!(rules.contains(&"missing_entry") && rules.contains(&"relation_unknown"));
    // A line inserted above moves the line, not the fingerprint.
    r.write(
        "registry/indexes/capabilities.yaml",
        &format!(
            "# a comment\n{}",
            r.read("registry/indexes/capabilities.yaml")
        ),
    );
    let out = r.run(&["registry", "validate", "--format", "sarif"]);
    let v2: Value = serde_json::from_slice(&out.stdout).expect("sarif");
    let res = v2["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|x| x["ruleId"] == "missing_entry")
        .expect("missing_entry")
        .clone();
    assert_eq!(
        res["locations"][0]["physicalLocation"]["region"]["startLine"],
        8
    );
    assert_eq!(res["partialFingerprints"]["wardenRegistryProblem/v1"], fp);
}

/// `maintain --dry-run` decides and validates the batch, reports it, and
/// writes nothing (no run, no ledger entry).
#[test]
fn maintain_dry_run_reports_the_batch_and_writes_nothing() {
    let (r, base) = setup();
    let before = r.tree();
    let ledger = r.ledger_len();
    let last = summary_ok(
        &r,
        &[
            "registry",
            "maintain",
            "--auto",
            "--no-llm",
            "--from-git-since",
            &base,
            "--dry-run",
            "--format",
            "json",
        ],
    );
    assert_eq!(last["summary"]["outcome"], "dry_run", "{last:#}");
    assert_eq!(
        last["summary"]["files_changed"],
        serde_json::json!([
            "registry/capabilities/alpha.md",
            "registry/indexes/capabilities.yaml"
        ])
    );
    assert!(last["summary"]["run"].is_null());
    assert_eq!(r.tree(), before);
    assert_eq!(r.ledger_len(), ledger);
}

/// `maintain --auto` without a terminal printed JSON lines even with an
/// explicit `--format human` (the CLI could not tell it from the default).
/// Explicit human prints the human report; no `--format` keeps the
/// documented JSON lines; explicit json too.
#[test]
fn maintain_auto_without_a_terminal_printed_json_lines_despite_format_human() {
    let (r, _) = setup();
    let m = [
        "registry",
        "maintain",
        "--auto",
        "--no-llm",
        "--from-git-since",
        "HEAD~1",
        "--dry-run",
    ];
    let with = |extra: &[&'static str]| -> Vec<&str> { m.iter().chain(extra).copied().collect() };
    let t = common::snap::transcript(&r, &[&with(&["--format", "human"]), &with(&[])]);
    common::snap::settings(&r)
        .bind(|| insta::assert_snapshot!("maintain_format_human_without_a_terminal", t));
    let json = r.run(&with(&["--format", "json"]));
    let default = r.run(&with(&[]));
    assert_eq!(
        json.stdout, default.stdout,
        "no --format: JSON lines, as with --format json"
    );
}

/// `registry update --apply` records its session like `maintain`, so
/// `warden replay RUN` re-derives it byte for byte; a run without a recorded
/// session (made before warden recorded them, or with `.runs/` cleaned) is
/// refused, saying why and what still works.
#[test]
fn replay_of_an_update_apply_run_and_of_a_run_without_a_session() {
    let (r, base) = setup();
    let v = r.json(&["registry", "update", "--from-git-since", &base, "--apply"]);
    let run = v["applied"]["run"].as_str().expect("run").to_string();
    assert_eq!(v["applied"]["applied"], 3, "{v:#}");
    assert!(r.root.join(format!(".runs/{run}/session.json")).is_file());
    let before = r.tree();
    let rep = r.json(&["replay", &run]);
    assert_eq!(rep["schema"], "warden.registry-replay/v1");
    assert_eq!(rep["identical"], true, "{rep:#}");
    assert_eq!(rep["suggested"], 3);
    assert_eq!(r.tree(), before, "a replay writes nothing");
    std::fs::remove_file(r.root.join(format!(".runs/{run}/session.json"))).expect("rm");
    let err = r.fails(&["replay", &run], 1);
    assert!(
        err.contains(&format!(
            "run {run} cannot be replayed: it has no recorded session"
        )),
        "{err}"
    );
    assert!(
        err.contains("runs made before warden recorded sessions"),
        "why: {err}"
    );
    assert!(
        err.contains("`warden undo RUN` still reverts it"),
        "what to do: {err}"
    );
    r.ok(&["undo", &run, "--yes"]);
}

/// Regression: `registry update --apply --yes` was refused as an unknown
/// argument, though every other writing command takes `--yes`. It is now
/// accepted with `--apply` (which is the confirmation); `--yes` alone is a
/// usage error that writes nothing.
#[test]
fn update_takes_yes_with_apply_and_refuses_it_alone() {
    let (r, base) = setup();
    let before = r.tree();
    let err = r.fails(
        &["registry", "update", "--from-git-since", &base, "--yes"],
        2,
    );
    assert!(err.contains("--apply"), "{err}");
    assert_eq!(r.tree(), before, "nothing written");
    let v = r.json(&[
        "registry",
        "update",
        "--from-git-since",
        &base,
        "--apply",
        "--yes",
    ]);
    assert_eq!(v["applied"]["applied"], 3, "{v:#}");
}
