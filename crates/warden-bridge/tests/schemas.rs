//! The documents this crate writes validate against their published schemas.
//! (That `schemas/` matches the code is checked once for every crate, in
//! `crates/warden-cli/tests/schemas.rs`.)
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::*;
use serde_json::{Value, json};
use std::path::PathBuf;

fn validate(name: &str, doc: &Value) {
    let schema = warden_bridge::schema::get(name).expect("schema");
    warden_testkit::schemas::assert_valid(name, &schema, doc);
}

fn read(p: PathBuf) -> Value {
    serde_json::from_slice(&std::fs::read(&p).expect("read")).expect("json")
}

#[test]
fn written_documents_validate_and_the_command_schema_rejects_what_the_parser_rejects() {
    let env = Env::new();
    let l = env.layout();
    let cmd = write("s1", "docs/s1.md", "s1\n");
    let signed_cmd: Value = serde_json::from_slice(&signed(&cmd)).expect("json");
    validate("bridge-command", &signed_cmd);
    assert_eq!(
        env.one("s1.json", &signed(&cmd)).outcome,
        warden_bridge::pipeline::ItemOutcome::Archived
    );
    assert_eq!(
        env.one("bad.json", b"{\"x\": 1}").outcome,
        warden_bridge::pipeline::ItemOutcome::DeadLetter
    );
    validate("bridge-result", &read(l.result("s1")));
    validate("bridge-integrity", &read(l.integrity("s1")));
    validate("bridge-dead-letter", &read(l.dead_letter("bad")));
    for line in std::fs::read_to_string(l.log()).expect("log").lines() {
        validate(
            "bridge-log-line",
            &serde_json::from_str(line).expect("json"),
        );
    }
    validate(
        "bridge-retries",
        &json!({"s1": {"attempts": 1, "last_error": "e", "last_ts": "t", "next_attempt_at": "t"}}),
    );
    let schema = warden_bridge::schema::get("bridge-command").expect("schema");
    let v = jsonschema::draft7::new(&schema).expect("compiles");
    for (what, f) in [
        (
            "unknown field",
            Box::new(|d: &mut Value| d["shell"] = json!("x")) as Box<dyn Fn(&mut Value)>,
        ),
        (
            "no hmac",
            Box::new(|d: &mut Value| {
                d.as_object_mut().expect("obj").remove("hmac");
            }),
        ),
        (
            "empty allowedActions",
            Box::new(|d: &mut Value| d["allowedActions"] = json!([])),
        ),
        (
            "string maxFilesChanged",
            Box::new(|d: &mut Value| d["constraints"]["maxFilesChanged"] = json!("1")),
        ),
        (
            "unknown op",
            Box::new(|d: &mut Value| d["payload"]["inline"]["ops"] = json!([{"op": "exec"}])),
        ),
    ] {
        let mut d = signed_cmd.clone();
        f(&mut d);
        assert!(!v.is_valid(&d), "the schema accepts a command with {what}");
    }
}
