//! The documents this crate writes validate against their published schemas.
//! (That `schemas/` matches the code is checked once for every crate, in
//! `crates/warden-cli/tests/schemas.rs`.)
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

use std::path::Path;
use warden_sync::audit::{self, AuditOptions, FetchMode, Ungated};
use warden_sync::config::SyncConfig;
use warden_sync::git::{Git, Signature};
use warden_sync::reconcile::{self, ReconcileOptions};

fn validate(name: &str, doc: &serde_json::Value) {
    let schema = warden_sync::schema::get(name).expect("schema");
    warden_testkit::schemas::assert_valid(name, &schema, doc);
}

fn git(dir: &Path, home: &Path, args: &[&str]) {
    warden_testkit::git::git(dir, home, args);
}

#[test]
fn written_reports_validate_against_their_schemas() {
    let home = tempfile::tempdir().expect("tempdir");
    let h = home.path();
    git(h, h, &["init", "--quiet", "--bare", "remote.git"]);
    git(h, h, &["clone", "--quiet", "remote.git", "a"]);
    let a = h.join("a");
    std::fs::write(a.join("x.txt"), "x\n").expect("write");
    git(&a, h, &["add", "-A"]);
    git(&a, h, &["commit", "--quiet", "-m", "x"]);
    git(&a, h, &["push", "--quiet", "-u", "origin", "main"]);
    std::fs::write(a.join("x.txt"), "y\n").expect("write");
    std::fs::write(a.join("new.txt"), "n\n").expect("write");
    let g = Git::new(".")
        .with_env("HOME", h)
        .with_env("GIT_CONFIG_NOSYSTEM", "1");
    let report = audit::audit(&g, &a, &AuditOptions::default(), &Ungated).expect("audit");
    validate("sync-audit", &serde_json::to_value(&report).expect("json"));
    let rec = reconcile::reconcile(
        &g,
        &a,
        &SyncConfig::defaults(),
        &ReconcileOptions {
            fetch: FetchMode::Skip,
            fetch_timeout: std::time::Duration::from_secs(30),
            run: "01KSCHEMATEST0000000000000".into(),
            date: "20260101".into(),
            signature: Signature {
                name: "warden".into(),
                email: "warden@localhost".into(),
                date: "2026-01-01T00:00:00Z".into(),
            },
            dry_run: true,
            branch: None,
        },
        &Ungated,
        &mut reconcile::Hooks {
            policy: &warden_core::policy::Policy::parse(
                &warden_core::policy::default_policy_text("1", "test"),
                "policy.yaml",
            )
            .expect("policy"),
            merge_conflict: &mut warden_sync::hooks::NoPlugins,
            generators: &warden_sync::hooks::Unsandboxed,
        },
    )
    .expect("reconcile");
    validate("sync-reconcile", &serde_json::to_value(&rec).expect("json"));
    let fleet = warden_sync::fleet::audit_fleet(
        &g,
        std::slice::from_ref(&a),
        &warden_sync::fleet::FleetOptions {
            jobs: 1,
            per_host: 1,
            audit: AuditOptions {
                fetch: FetchMode::Skip,
                ..AuditOptions::default()
            },
        },
        &|_, _| {},
    );
    validate("fleet-audit", &serde_json::to_value(&fleet).expect("json"));
    let cfg: serde_json::Value = serde_json::json!({
        "schema": "warden.sync-config/v1", "auto_adopt": true,
        "append_only": ["a/*.jsonl"], "generated": [{"paths": ["x"], "command": ["make"]}]
    });
    validate("sync-config", &cfg);
}
