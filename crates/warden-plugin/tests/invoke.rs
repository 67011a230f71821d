//! What `runtime::invoke` makes of a real `sh` plugin's stdout and exit
//! status: a hello of this protocol major, then exactly one response line,
//! from a process that exited 0 — every other shape is a named fault.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::World;
use serde_json::json;
use warden_plugin::protocol::Output;
use warden_plugin::runtime::{self, Fault, FaultKind};

const HELLO: &str = r#"{"type":"hello","protocol":{"major":1,"features":["batch"]}}"#;
const RESPONSE: &str = r#"{"type":"response","output":{"actions":[],"rationale":"r"}}"#;

/// A developer area that prints `lines` on stdout, then ends with `end`
/// (`exit N`, or a signal), before the protocol fence ever runs.
fn prints(lines: &[&str], end: &str) -> String {
    let quoted: Vec<String> = lines.iter().map(|l| format!("'{l}'")).collect();
    let printf = if lines.is_empty() {
        String::new()
    } else {
        format!("printf '%s\\n' {}\n", quoted.join(" "))
    };
    format!("cat >/dev/null\n{printf}{end}\n")
}

fn fault(kind: FaultKind, message: &str) -> Result<Output, Fault> {
    Err(Fault {
        kind,
        message: message.into(),
    })
}

fn answered(rationale: &str) -> Result<Output, Fault> {
    Ok(Output {
        actions: Vec::new(),
        rationale: rationale.into(),
    })
}

/// One stdout shape: a name, the developer area that prints it, and what
/// `invoke` must make of it.
type Case = (&'static str, String, Result<Output, Fault>);

/// Good answers, another protocol major, and processes that crashed.
fn answers_and_crashes() -> Vec<Case> {
    let other_major = r#"{"type":"hello","protocol":{"major":9}}"#;
    vec![
        (
            "a hello and a response",
            prints(&[HELLO, RESPONSE], "exit 0"),
            answered("r"),
        ),
        (
            "blank lines around the two lines are ignored",
            prints(&["", HELLO, "  ", RESPONSE, ""], "exit 0"),
            answered("r"),
        ),
        (
            "a hello of another protocol major",
            prints(&[other_major, RESPONSE], "exit 0"),
            fault(
                FaultKind::ProtocolMismatch,
                "the plugin speaks protocol 9; this warden speaks 1",
            ),
        ),
        (
            "no hello and a non-zero exit",
            prints(&["junk"], "exit 4"),
            fault(FaultKind::Crashed, "exited with code 4"),
        ),
        (
            "killed by a signal before the hello",
            prints(&[], "kill -9 $$"),
            fault(FaultKind::Crashed, "exited with a signal"),
        ),
    ]
}

/// Lines that are missing, extra or not what the protocol says.
fn garbage() -> Vec<Case> {
    let error = r#"{"type":"error","message":"nope"}"#;
    vec![
        (
            "a first line that is not a hello",
            prints(&["hi there"], "exit 0"),
            fault(
                FaultKind::GarbageOutput,
                r#"expected a hello line, got "hi there""#,
            ),
        ),
        (
            "nothing on stdout",
            prints(&[], "exit 0"),
            fault(FaultKind::GarbageOutput, "no output on stdout"),
        ),
        (
            "no response after the hello",
            prints(&[HELLO], "exit 0"),
            fault(FaultKind::GarbageOutput, "no response line after hello"),
        ),
        (
            "a hello, then a crash",
            prints(&[HELLO], "exit 5"),
            fault(FaultKind::Crashed, "exited with code 5"),
        ),
        (
            "a hello and an unreadable line, then a crash",
            prints(&[HELLO, "junk"], "exit 5"),
            fault(FaultKind::Crashed, "exited with code 5"),
        ),
        (
            "a good answer from a process that exited non-zero",
            prints(&[HELLO, RESPONSE], "exit 6"),
            fault(FaultKind::Crashed, "exited with code 6"),
        ),
        (
            "a third line on stdout",
            prints(&[HELLO, RESPONSE, "a log line"], "exit 0"),
            fault(
                FaultKind::GarbageOutput,
                "more than two lines on stdout (logs belong on stderr)",
            ),
        ),
        (
            "an error message instead of a response",
            prints(&[HELLO, error], "exit 0"),
            fault(FaultKind::PluginError, "nope"),
        ),
        (
            "a second hello instead of a response",
            prints(&[HELLO, HELLO], "exit 0"),
            fault(
                FaultKind::GarbageOutput,
                "a second hello instead of a response",
            ),
        ),
    ]
}

#[test]
fn every_shape_of_plugin_stdout_is_an_answer_or_a_named_fault() {
    let w = World::new();
    let spec = w.scaffold("raw");
    let launcher = w.launcher();
    let cases = [answers_and_crashes(), garbage()].concat();
    let items = [json!({"path": "a.txt"})];
    let mut wrong = Vec::new();
    for (name, code, want) in &cases {
        w.set_developer_area("raw", code);
        let inv = runtime::invoke(
            &w.root,
            &spec,
            "handle",
            "FileDetected",
            &items,
            &launcher,
            false,
        );
        if inv.outcome != *want {
            wrong.push(format!("{name}: got {:?}, want {want:?}", inv.outcome));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_response_that_is_not_protocol_json_is_garbage_naming_the_line() {
    let w = World::new();
    let spec = w.scaffold("raw");
    w.set_developer_area("raw", &prints(&[HELLO, "{not json"], "exit 0"));
    let inv = runtime::invoke(
        &w.root,
        &spec,
        "handle",
        "FileDetected",
        &[],
        &w.launcher(),
        false,
    );
    let f = inv.outcome.expect_err("garbage");
    assert_eq!(f.kind, FaultKind::GarbageOutput, "{f:?}");
    // The parser's own words sit between the two fixed parts.
    assert!(
        f.message.starts_with("the response is not protocol JSON (")
            && f.message.ends_with(r#"): "{not json""#),
        "{}",
        f.message
    );
}
