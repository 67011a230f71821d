//! `generate::generate`, step by step: the spec written only when missing,
//! derived files (the policy snapshot keeps its date while the policy is
//! unchanged), fenced files, files scaffolded once (and, for Rust, the crate
//! files), and the manifest over every file as it will be.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{TODAY, World};
use serde_json::Value;
use warden_plugin::generate::{self, Generation, Ownership, POLICY_SNAPSHOT};
use warden_plugin::lang;
use warden_plugin::scaffold::{self, NewPlugin};
use warden_plugin::spec::{Lang, PluginSpec};

fn new_spec(w: &World, key: &str, lang: &str) -> PluginSpec {
    scaffold::default_spec(
        &w.root,
        &w.repo().policy,
        &NewPlugin {
            key: key.into(),
            event: "FileDetected".into(),
            lang: lang.into(),
            name: None,
            description: None,
            actions: None,
        },
        "01ARZ3NDEKTSV4RRFFQ69G5FAV",
    )
    .expect("spec")
}

fn plan<'g>(g: &'g Generation, rel: &str) -> &'g generate::FilePlan {
    g.files.iter().find(|f| f.rel == rel).expect(rel)
}

fn taken(bytes: &[u8]) -> String {
    let v: Value = serde_json::from_slice(bytes).expect("json");
    v["taken"].as_str().expect("taken").to_string()
}

#[test]
fn the_policy_snapshot_keeps_its_date_until_the_policy_changes() {
    let w = World::new();
    let spec = w.scaffold("tidy");
    let later = "2026-03-03";
    let g = generate::generate(&w.root, &spec, &w.repo().policy, later).expect("generate");
    assert_eq!(g.changed().count(), 0, "same policy: nothing to rewrite");
    let snap = plan(&g, POLICY_SNAPSHOT);
    assert_eq!(taken(snap.current.as_deref().expect("written")), TODAY);
    // Another policy: the snapshot is retaken today, and the manifest follows.
    let policy = w.root.join(".warden/policy.yaml");
    let text = std::fs::read_to_string(&policy).expect("policy");
    std::fs::write(
        &policy,
        text.replace("run_unsandboxed: true", "run_unsandboxed: false"),
    )
    .expect("write");
    let g = generate::generate(&w.root, &spec, &w.repo().policy, later).expect("generate");
    let changed: Vec<&str> = g.changed().map(|f| f.rel.as_str()).collect();
    assert_eq!(changed, [POLICY_SNAPSHOT, generate::MANIFEST]);
    assert_eq!(
        taken(plan(&g, POLICY_SNAPSHOT).wanted.as_deref().expect("wanted")),
        later
    );
}

#[test]
fn the_spec_is_written_only_when_missing_and_scaffolded_files_only_once() {
    let w = World::new();
    let spec = w.scaffold("tidy");
    let policy = w.repo().policy;
    let g = generate::generate(&w.root, &spec, &policy, TODAY).expect("generate");
    let s = plan(&g, "plugin.spec.json");
    assert_eq!((s.ownership, s.wanted.is_none()), (Ownership::Spec, true));
    // A hand-edited example is the developer's: kept, and the manifest follows it.
    let example = "examples/handle_request.json";
    w.write(
        &format!("plugins/tidy/{example}"),
        "{\"event\": \"FileDetected\", \"items\": []}\n",
    );
    std::fs::remove_file(generate::plugin_dir(&w.root, "tidy").join("plugin.spec.json"))
        .expect("rm spec");
    let g = generate::generate(&w.root, &spec, &policy, TODAY).expect("generate");
    let changed: Vec<&str> = g.changed().map(|f| f.rel.as_str()).collect();
    assert_eq!(changed, ["plugin.spec.json", generate::MANIFEST]);
    assert_eq!(
        plan(&g, "plugin.spec.json").wanted.as_deref(),
        Some(spec.to_pretty().as_bytes())
    );
    let e = plan(&g, example);
    assert_eq!(
        (e.ownership, e.wanted.is_none()),
        (Ownership::Scaffold, true)
    );
}

#[test]
fn every_language_scaffolds_a_handler_defining_each_operation_and_rust_its_crate() {
    let w = World::new();
    let policy = w.repo().policy;
    for lang in Lang::ALL {
        let spec = new_spec(&w, &format!("p-{lang}"), lang);
        let g = generate::generate(&w.root, &spec, &policy, TODAY).expect("generate");
        let handler = plan(&g, spec.lang.handler());
        assert_eq!(handler.ownership, Ownership::Fenced);
        let text = String::from_utf8(handler.wanted.clone().expect("new")).expect("utf-8");
        for op in &spec.operations {
            assert!(
                lang::defines_op(spec.lang, &text, &op.name),
                "{lang}: {}",
                op.name
            );
            let test = plan(&g, &spec.lang.test_file(&op.name));
            let test = String::from_utf8(test.wanted.clone().expect("new")).expect("utf-8");
            assert!(
                test.contains(&format!("examples/{}_request.json", op.name)),
                "{lang}"
            );
        }
        let crate_files: Vec<&str> = g
            .files
            .iter()
            .filter(|f| f.rel.starts_with("Cargo."))
            .map(|f| f.rel.as_str())
            .collect();
        let want: &[&str] = if spec.lang == Lang::Rust {
            &["Cargo.toml", "Cargo.lock"]
        } else {
            &[]
        };
        assert_eq!(crate_files, want, "{lang}");
    }
}
