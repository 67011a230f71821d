//! Untrusted text in human output: a name holding `ESC [ 2 J`, a carriage
//! return and a newline comes out escaped, never raw (review 6: F1, F8, F15,
//! M10), one test per family — the core's plan and run, an error, the
//! registry, contracts.
// Tests, examples and benches drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::Repo;
use common::snap::{output, settings, transcript};
use serde_json::json;

const NASTY: &str = "a\u{1b}[2J\rb\nc";

/// No byte of what warden printed acts on a terminal but its own newlines
/// (the transcript's `$ warden ARGS` lines echo the arguments as given).
fn assert_inert(t: &str) {
    let printed: String = t
        .lines()
        .filter(|l| !l.starts_with("$ warden"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        !printed
            .chars()
            .any(|c| c != '\n' && warden_core::text::is_unsafe(c)),
        "{t:?}"
    );
}

#[test]
fn apply_printed_a_proposal_path_with_terminal_escapes_raw() {
    let r = Repo::new();
    let p = r.proposal(json!([{
        "kind": "write_file",
        "path": format!("docs/{NASTY}.txt"),
        "content": "x\n",
        "expect": "absent"
    }]));
    let t = transcript(
        &r,
        &[
            &["apply", &p, "--dry-run"],
            &["apply", &p, "--yes"],
            &["ledger", "log"],
        ],
    );
    assert_inert(&t);
    settings(&r).bind(|| insta::assert_snapshot!("terminal_safety_apply", t));
}

#[test]
fn an_error_message_printed_a_control_character_raw() {
    let r = Repo::new();
    // An error message keeps the lines warden broke it into, so this name
    // has no newline; every other control character is escaped in place.
    let missing = "a\u{1b}[2J\rb\u{202e}.json";
    let out = r.run(&["apply", missing, "--dry-run"]);
    // The transcript's header echoes the argument: shown escaped here.
    let t = output(
        &format!("apply {} --dry-run", warden_core::text::shown(missing)),
        &out,
    );
    assert_inert(&t);
    settings(&r).bind(|| insta::assert_snapshot!("terminal_safety_error", t));
}

#[test]
fn registry_validate_printed_an_entry_id_and_title_raw() {
    let r = Repo::new();
    r.ok(&["registry", "init", "--scaffold", "--yes"]);
    r.write(
        "registry/capabilities/esc.md",
        "---\nid: \"capability.x\\u001b[2J\\rb\\nc\"\ntitle: \"t\\u001b]0;T\\u0007\"\nmaturity:\n  D: {current: 0}\n  A: {current: 0}\n  C: {current: 0}\n  R: {current: 0}\npaths: [\"src/\\u001b[31m**\"]\n---\n",
    );
    let t = transcript(&r, &[&["registry", "validate"], &["registry", "stats"]]);
    assert_inert(&t);
    settings(&r).bind(|| insta::assert_snapshot!("terminal_safety_registry", t));
}

#[test]
fn contracts_printed_a_meta_heading_with_terminal_escapes_raw() {
    let r = Repo::new();
    r.write(
        "x/README.meta.yaml",
        "type: subsystem_readme\nsubsystem:\n  name: \"X\\u001b[2J\\rY\\nZ\"\n",
    );
    let t = transcript(&r, &[&["check"], &["gen", "docs", "--dry-run"]]);
    assert_inert(&t);
    settings(&r).bind(|| insta::assert_snapshot!("terminal_safety_contracts", t));
}

#[test]
fn gen_docs_adopt_dry_run_printed_the_file_a_symlinked_readme_points_at() {
    let r = Repo::new();
    let outside = r.home.path().join("secret.txt");
    std::fs::write(&outside, "SECRET_TOKEN=ghp_supersecret123\n").expect("write");
    r.write(
        "f/README.meta.yaml",
        "type: subsystem_readme\nsubsystem:\n  name: X\n",
    );
    std::os::unix::fs::symlink(&outside, r.root.join("f/README.md")).expect("symlink");
    r.write(
        "d/README.meta.yaml",
        "type: subsystem_readme\nsubsystem:\n  name: X\n",
    );
    std::os::unix::fs::symlink("/nonexistent/R.md", r.root.join("d/README.md")).expect("symlink");
    let t = transcript(
        &r,
        &[
            &["gen", "docs", "--adopt", "f/README.md", "--dry-run"],
            &["check"],
            &["fix", "--dry-run"],
            &["fix", "--yes"],
        ],
    );
    assert!(!t.contains("SECRET_TOKEN"), "{t}");
    assert!(!t.contains("(generated)"), "{t}");
    settings(&r).bind(|| insta::assert_snapshot!("terminal_safety_contracts_symlink", t));
}

#[test]
fn a_config_symlinked_to_a_secret_printed_the_secret_in_check_and_registry_output() {
    let r = Repo::new();
    r.ok(&["registry", "init", "--scaffold", "--yes"]);
    let secret = r.home.path().join("environ");
    std::fs::write(
        &secret,
        "SECRET_TOKEN=ghp_supersecret123\0SHELL=/bin/bash\0",
    )
    .expect("write");
    let link = |rel: &str| {
        let p = r.root.join(rel);
        let _ = std::fs::remove_file(&p);
        std::os::unix::fs::symlink(&secret, &p).expect("symlink");
    };
    link(".warden/modules.yaml");
    link("registry/indexes/capabilities.yaml");
    let mut t = transcript(
        &r,
        &[
            &["check"],
            &["check", "--format", "sarif"],
            &["registry", "validate"],
        ],
    );
    t.push_str(&r.read("meta-gaps.yaml"));
    std::fs::remove_file(r.root.join(".warden/modules.yaml")).expect("rm");
    link(".warden/contracts.yaml");
    t.push_str(&transcript(&r, &[&["check"]]));
    std::fs::remove_file(r.root.join(".warden/contracts.yaml")).expect("rm");
    link(".warden/policy.yaml");
    t.push_str(&transcript(&r, &[&["status"]]));
    assert!(!t.contains("SECRET_TOKEN"), "{t}");
    let human: String = t
        .lines()
        .filter(|l| l.starts_with("error") || l.starts_with("hint") || l.contains("INVALID"))
        .collect::<Vec<_>>()
        .join("\n");
    settings(&r).bind(|| insta::assert_snapshot!("terminal_safety_config_symlinks", human));
}
