//! The sync guardian's schemas in `schemas/` are exactly what the code
//! generates, and the reports it writes validate against them.
//! Regenerate with `WARDEN_BLESS=1 cargo test -p warden-sync --test schemas`.

use std::path::{Path, PathBuf};
use std::process::Command;
use warden_sync::audit::{self, AuditOptions, FetchMode, Ungated};
use warden_sync::config::SyncConfig;
use warden_sync::git::{GitCli, Signature};
use warden_sync::reconcile::{self, ReconcileOptions};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

#[test]
fn published_sync_schemas_match_the_code() {
    let bless = std::env::var_os("WARDEN_BLESS").is_some();
    let mut stale = Vec::new();
    for (name, _) in warden_sync::schema::catalogue() {
        let schema = warden_sync::schema::get(&name).expect("known schema");
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
    // No name clashes with the core's catalogue.
    for (name, _) in warden_sync::schema::catalogue() {
        assert!(
            warden_core::schema::get(&name).is_none(),
            "{name} is also a core schema"
        );
    }
}

fn validate(name: &str, doc: &serde_json::Value) {
    let schema = warden_sync::schema::get(name).expect("schema");
    let v = jsonschema::draft7::new(&schema).expect("schema compiles");
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:?}\n{doc:#}");
}

fn git(dir: &Path, home: &Path, args: &[&str]) {
    let out = Command::new("git")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@warden.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@warden.invalid")
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
        .args(["-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    let g = GitCli::default()
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
