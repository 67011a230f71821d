//! Core and configuration findings of review 6, each a regression test named
//! after what broke: configuration read through a symbolic link and echoed
//! in errors (F23), the `content_file` digest oracle (F11), `--force`
//! rewrites of `.warden/modules.yaml` that `undo` could not restore (F13),
//! moves charged against `limits.max_bytes` (F21), and `ledger accept`
//! outside the mutation convention (M6).
// Tests drive real processes and files directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::Repo;
use common::snap::{output, settings, transcript};

const FAKE_SECRET: &str = "SECRET_TOKEN=ghp_fake_f23_0123456789";

/// A file outside the repository holding a fake secret, as `~/.aws/credentials` would.
fn secret_file(r: &Repo) -> std::path::PathBuf {
    let p = r.home.path().join("credentials");
    std::fs::write(&p, format!("{FAKE_SECRET}\nPASSWORD=hunter2\n")).expect("write");
    p
}

fn link(target: &std::path::Path, r: &Repo, rel: &str) {
    let at = r.root.join(rel);
    std::fs::create_dir_all(at.parent().expect("parent")).expect("mkdir");
    let _ = std::fs::remove_file(&at);
    std::os::unix::fs::symlink(target, at).expect("symlink");
}

fn assert_no_secret(what: &str, text: &str) {
    assert!(
        !text.contains("ghp_fake") && !text.contains("hunter2"),
        "{what} leaks the secret:\n{text}"
    );
}

#[test]
fn config_files_symlinked_to_a_secret_outside_the_repo_are_refused_and_never_echoed() {
    let r = Repo::new();
    r.write("x.txt", "x\n");
    let secret = secret_file(&r);
    link(&secret, &r, ".warden/modules.yaml");
    let mut t = transcript(&r, &[&["check"], &["modules", "validate"]]);
    let gaps = std::fs::read_to_string(r.root.join("meta-gaps.yaml")).unwrap_or_default();
    assert_no_secret("meta-gaps.yaml", &gaps);
    assert!(gaps.contains("is a symbolic link"), "{gaps}");
    // The machine formats carry the same refusal and nothing of the file
    // (their whole shape is snapshot elsewhere).
    for format in ["sarif", "json"] {
        let out = r.run(&["check", "--format", format]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_no_secret(format, &text);
        assert!(text.contains("is a symbolic link (to "), "{text}");
    }
    std::fs::remove_file(r.root.join(".warden/modules.yaml")).expect("rm");
    link(&secret, &r, ".warden/contracts.yaml");
    t.push_str(&transcript(&r, &[&["check"]]));
    std::fs::remove_file(r.root.join(".warden/contracts.yaml")).expect("rm");
    link(&secret, &r, "registry/indexes/capabilities.yaml");
    t.push_str(&transcript(&r, &[&["registry", "validate"]]));
    std::fs::remove_file(r.root.join("registry/indexes/capabilities.yaml")).expect("rm");
    std::fs::rename(
        r.root.join(".warden/policy.yaml"),
        r.home.path().join("policy.yaml"),
    )
    .expect("mv");
    link(&secret, &r, ".warden/policy.yaml");
    t.push_str(&transcript(
        &r,
        &[&["status"], &["status", "--format", "json"]],
    ));
    assert_no_secret("the transcript", &t);
    settings(&r).bind(|| insta::assert_snapshot!(t));
}

#[test]
fn a_committed_config_file_holding_non_yaml_text_is_quoted_only_as_a_short_excerpt() {
    let r = Repo::new();
    let long = "a".repeat(300);
    r.write(
        ".warden/modules.yaml",
        &format!("{FAKE_SECRET}{long} x: [\nPASSWORD=hunter2\n"),
    );
    let t = transcript(&r, &[&["modules", "validate"]]);
    r.write(
        ".warden/modules.yaml",
        &format!("{FAKE_SECRET}{long}\nPASSWORD=hunter2\n"),
    );
    let t = t + &transcript(&r, &[&["modules", "validate"], &["check"]]);
    assert!(!t.contains("hunter2") && !t.contains(&long), "{t}");
    settings(&r).bind(|| insta::assert_snapshot!(t));
}

#[test]
fn a_config_file_that_is_a_fifo_is_refused_instead_of_hanging() {
    let r = Repo::new();
    let fifo = r.root.join(".warden/modules.yaml");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    let out = r.run(&["modules", "validate"]);
    let t = output("modules validate", &out);
    settings(&r).bind(|| insta::assert_snapshot!(t));
}

#[test]
fn modules_init_force_keeps_the_replaced_registry_and_undo_names_it() {
    let r = Repo::new();
    std::fs::create_dir_all(r.root.join("billing")).expect("mkdir");
    r.write("billing/a.py", "x\n");
    let mine = "schema: warden.modules/v1\n# tuned by hand, not committed\nmodules:\n  - name: Billing\n    folder: billing/\n    keywords: [invoice, vat]\n";
    r.write(".warden/modules.yaml", mine);
    let out = r.run(&["modules", "init", "--force"]);
    let mut t = output("modules init --force", &out);
    let run = r.newest_run();
    t.push_str(&transcript(&r, &[&["undo", &run, "--yes"]]));
    let kept = format!(".warden/state/replaced/{run}/modules.yaml");
    assert_eq!(
        r.read(&kept),
        mine,
        "the previous registry is kept byte for byte"
    );
    assert_ne!(r.read(".warden/modules.yaml"), mine);
    // The same file again: nothing differs, nothing is kept.
    std::fs::copy(r.root.join(&kept), r.root.join(".warden/modules.yaml")).expect("cp back");
    assert_eq!(r.read(".warden/modules.yaml"), mine);
    let again = r.json(&["modules", "init", "--force"]);
    let again_run = again["run"].as_str().expect("run");
    assert_eq!(
        again["previous_kept_at"],
        format!(".warden/state/replaced/{again_run}/modules.yaml")
    );
    t.push_str(&transcript(&r, &[&["modules", "init", "--force"]]));
    settings(&r).bind(|| insta::assert_snapshot!(t));
}

#[test]
fn ledger_accept_without_a_terminal_needs_yes_and_its_dry_run_writes_nothing() {
    let r = Repo::new();
    for name in ["a.txt", "b.txt"] {
        let p = r.proposal(serde_json::json!([{"kind": "write_file", "path": name, "content": "x\n", "expect": "absent"}]));
        r.ok(&["apply", &p, "--yes"]);
    }
    // Cut the chain's tip: writers refuse until the loss is accepted.
    let chain = r.chain();
    let text = std::fs::read_to_string(&chain).expect("chain");
    let first = text.lines().next().expect("an entry");
    std::fs::write(&chain, format!("{first}\n")).expect("cut");
    let before = r.ledger_len();
    let heads = std::fs::read(r.root.join(".warden/state/ledger-heads.json")).expect("heads");
    let t = transcript(
        &r,
        &[
            &[
                "ledger",
                "accept",
                "--reason",
                "restored from a backup",
                "--dry-run",
            ],
            &[
                "ledger",
                "accept",
                "--reason",
                "restored from a backup",
                "--dry-run",
                "--format",
                "json",
            ],
            &["ledger", "accept", "--reason", "restored from a backup"],
        ],
    );
    assert_eq!(r.ledger_len(), before, "nothing was recorded");
    assert_eq!(
        std::fs::read(r.root.join(".warden/state/ledger-heads.json")).expect("heads"),
        heads,
        "the heads were not re-recorded"
    );
    let t = t + &transcript(
        &r,
        &[&[
            "ledger",
            "accept",
            "--reason",
            "restored from a backup",
            "--yes",
        ]],
    );
    assert_eq!(r.ledger_len(), before + 1);
    settings(&r).bind(|| insta::assert_snapshot!(t));
}

#[test]
fn a_content_file_sha256_mismatch_does_not_print_the_files_digest() {
    let r = Repo::new();
    // A visible staging place (the test's home is a hidden temp directory,
    // and a hidden path is refused before the digest is checked).
    let staging = tempfile::Builder::new()
        .prefix("warden-staging-")
        .tempdir()
        .expect("staging");
    let key = staging.path().join("id_rsa");
    std::fs::write(&key, "PRIVATE KEY MATERIAL\n").expect("write");
    let actual = common::sha("PRIVATE KEY MATERIAL\n");
    let proposal = |kind: &str, sha: &str| {
        let p = r.home.path().join(format!("p-{kind}.json"));
        let doc = serde_json::json!({"schema": "warden.proposal/v1", "source": {"kind": kind, "id": "ai-assistant"},
            "event": "Manual", "rationale": "closes gap-x",
            "actions": [{"kind": "write_file", "path": "docs/notes.txt", "content_file": key.to_str().expect("utf-8"),
                         "content_sha256": sha, "expect": "absent"}]});
        std::fs::write(&p, doc.to_string()).expect("write");
        p.display().to_string()
    };
    let zeros = "0".repeat(64);
    let person = proposal("person", &zeros);
    let plugin = proposal("plugin", &actual);
    let t = transcript(
        &r,
        &[
            &["apply", &person, "--yes"],
            &["apply", &person, "--yes", "--format", "json"],
            &["apply", &plugin, "--yes"],
        ],
    );
    assert!(!t.contains(&actual), "the digest leaks:\n{t}");
    assert!(!r.root.join("docs/notes.txt").exists());
    let mut s = settings(&r);
    s.add_filter(
        &common::snap::escape(&staging.path().display().to_string()),
        "[STAGING]",
    );
    s.bind(|| insta::assert_snapshot!(t));
}

#[test]
fn a_100_mib_move_passes_the_default_max_bytes_in_dry_run_and_real_run() {
    let r = Repo::new();
    let big = r.root.join("big.pdf");
    std::fs::File::create(&big)
        .and_then(|f| f.set_len(100 << 20))
        .expect("sparse file");
    let zeros = vec![0u8; 100 << 20];
    let sha = warden_core::Digest::of(&zeros).hex();
    drop(zeros);
    let p = r.proposal(serde_json::json!([
        {"kind": "move_file", "from": "big.pdf", "to": "moved.pdf", "expect": {"sha256": sha}}
    ]));
    let t = transcript(&r, &[&["apply", &p, "--dry-run"], &["apply", &p, "--yes"]]);
    assert!(r.root.join("moved.pdf").exists() && !big.exists(), "{t}");
    settings(&r).bind(|| insta::assert_snapshot!(t));
}
