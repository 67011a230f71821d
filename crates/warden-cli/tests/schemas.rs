//! The one schema-drift test: every schema `warden schema` lists (the core's
//! and every subsystem's) is published in `schemas/` exactly as the binary
//! prints it, and `schemas/` holds nothing else.
//! Regenerate with `WARDEN_BLESS=1 cargo test -p warden-cli --test schemas`.
//!
//! It also checks the output contract on the commands' JSON: one object, a
//! `schema` tag naming a listed schema, valid against that schema.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{BIN, Repo, isolated};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

fn file_name(name: &str) -> String {
    format!("{}.schema.json", name.replace('/', "."))
}

fn warden(args: &[&str]) -> std::process::Output {
    let home = tempfile::tempdir().expect("tempdir");
    isolated(BIN, home.path())
        .args(args)
        .current_dir(home.path())
        .output()
        .expect("run warden")
}

fn names() -> Vec<String> {
    let out = warden(&["schema", "--format", "json"]);
    assert!(out.status.success(), "{out:?}");
    let list: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(list["schema"], "warden.schema-list/v1");
    list["schemas"]
        .as_array()
        .expect("schemas")
        .iter()
        .map(|s| s["name"].as_str().expect("name").to_string())
        .collect()
}

#[test]
fn published_schemas_match_the_code_and_nothing_else_is_published() {
    let bless = std::env::var_os("WARDEN_BLESS").is_some();
    let names = names();
    let unique: BTreeSet<&String> = names.iter().collect();
    assert_eq!(
        unique.len(),
        names.len(),
        "a name is listed twice: {names:?}"
    );
    let mut stale = Vec::new();
    let mut expected_files = BTreeSet::new();
    for name in &names {
        let out = warden(&["schema", name]);
        assert!(out.status.success(), "warden schema {name}: {out:?}");
        let schema: Value = serde_json::from_slice(&out.stdout).expect("json");
        jsonschema::draft7::new(&schema)
            .unwrap_or_else(|e| panic!("the schema {name} does not compile: {e}"));
        let text = serde_json::to_string_pretty(&schema).expect("json") + "\n";
        let file = file_name(name);
        let path = dir().join(&file);
        expected_files.insert(file);
        if bless {
            std::fs::write(&path, &text).expect("write");
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(path.display().to_string());
        }
    }
    let mut extra = Vec::new();
    for e in std::fs::read_dir(dir()).expect("schemas/") {
        let name = e.expect("entry").file_name().to_string_lossy().into_owned();
        if !expected_files.contains(&name) {
            if bless {
                std::fs::remove_file(dir().join(&name)).expect("remove a stale schema");
            } else {
                extra.push(name);
            }
        }
    }
    assert!(
        stale.is_empty() && extra.is_empty(),
        "schemas out of date (run with WARDEN_BLESS=1): changed {stale:?}, no longer published {extra:?}"
    );
}

/// What `warden schema NAME` prints.
fn schema_of(name: &str) -> Value {
    let out = warden(&["schema", name]);
    assert!(out.status.success(), "warden schema {name}: {out:?}");
    serde_json::from_slice(&out.stdout).expect("json")
}

/// The output contract on one command's stdout: exactly one JSON object whose
/// `schema` tag is `warden.<NAME>/v1` for a listed NAME, valid against it.
fn check(repo: &Repo, args: &[&str]) -> Value {
    let mut full = args.to_vec();
    full.extend(["--format", "json"]);
    let out = repo.run(&full);
    let text = String::from_utf8_lossy(&out.stdout);
    let mut stream = serde_json::Deserializer::from_str(&text).into_iter::<Value>();
    let doc = stream
        .next()
        .unwrap_or_else(|| panic!("warden {args:?}: no JSON on stdout: {out:?}"))
        .unwrap_or_else(|e| panic!("warden {args:?}: stdout is not JSON ({e}): {text}"));
    assert!(
        stream.next().is_none(),
        "warden {args:?}: more than one JSON document: {text}"
    );
    let tag = doc["schema"]
        .as_str()
        .unwrap_or_else(|| panic!("warden {args:?}: no schema field: {doc}"));
    let name = tag
        .strip_prefix("warden.")
        .and_then(|t| t.strip_suffix("/v1"))
        .unwrap_or_else(|| panic!("warden {args:?}: tag {tag} is not warden.<name>/v1"));
    assert!(
        names().iter().any(|n| n == name),
        "warden {args:?}: {tag} names no listed schema"
    );
    let errors = warden_testkit::schemas::errors(&schema_of(name), &doc);
    assert!(errors.is_empty(), "warden {args:?}: {errors:?}\n{doc:#}");
    doc
}

#[test]
fn every_json_output_is_one_object_with_a_published_schema() {
    let r = Repo::git_only();
    check(&r, &["init"]);
    r.write("a.txt", "a\n");
    std::fs::write(
        r.root.join("p.json"),
        r#"{"schema":"warden.proposal/v1","source":{"kind":"person","id":"t"},"event":"Manual",
            "actions":[{"kind":"write_file","path":"b.txt","content":"b\n","expect":"absent"}]}"#,
    )
    .expect("write");
    check(&r, &["apply", "p.json", "--dry-run"]);
    let entry = check(&r, &["apply", "p.json", "--yes"]);
    let run = entry["run"].as_str().expect("run").to_string();
    check(&r, &["apply", "p.json", "--yes"]); // nothing to do: the plan
    check(&r, &["runs"]);
    check(&r, &["events"]);
    check(&r, &["ledger", "log"]);
    check(&r, &["ledger", "verify"]);
    check(&r, &["ledger", "show", &run]);
    check(&r, &["status"]);
    check(&r, &["schema"]);
    check(&r, &["plugin", "list"]);
    check(&r, &["ids", "check"]);
    check(&r, &["undo", &run, "--dry-run"]);
    check(&r, &["undo", &run, "--yes"]);
    // Errors are objects too, on stdout, with the exit code.
    let e = check(&r, &["undo", "nosuchrun", "--yes"]);
    assert_eq!(e["schema"], "warden.error/v1");
    let e = check(&r, &["apply", "missing.json", "--yes"]);
    assert_eq!(
        (e["code"].as_u64(), e["kind"].as_str()),
        (Some(2), Some("user_path"))
    );
    assert!(
        e["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("missing.json")),
        "{e}"
    );
    let e = check(&r, &["no-such-command"]);
    assert_eq!(e["kind"], "usage");
}
