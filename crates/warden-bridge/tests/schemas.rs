//! The bridge's published schemas (`schemas/bridge-*.schema.json`) are what the
//! code generates, and the documents the executor writes validate against them.
//! Regenerate with `WARDEN_BLESS=1 cargo test -p warden-bridge --test schemas`.

mod common;

use common::*;
use serde_json::{Value, json};
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

#[test]
fn published_bridge_schemas_match_the_code() {
    let bless = std::env::var_os("WARDEN_BLESS").is_some();
    let mut stale = Vec::new();
    for (name, _) in warden_bridge::schema::catalogue() {
        let schema = warden_bridge::schema::get(&name).expect("known schema");
        let text = serde_json::to_string_pretty(&schema).expect("json") + "\n";
        let path = dir().join(format!("{name}.schema.json"));
        if bless {
            std::fs::write(&path, &text).expect("write");
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "schemas out of date (run with WARDEN_BLESS=1): {stale:?}"
    );
}

fn validate(name: &str, doc: &Value) {
    let schema = warden_bridge::schema::get(name).expect("schema");
    let v = jsonschema::draft7::new(&schema).expect("schema compiles");
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:?}\n{doc:#}");
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
    assert_eq!(env.one("s1.json", &signed(&cmd)).outcome, "archived");
    assert_eq!(env.one("bad.json", b"{\"x\": 1}").outcome, "dead_letter");
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
