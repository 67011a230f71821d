//! A generator's dry run runs the checks its real run runs (review 6: F5,
//! F14): `fix --dry-run` and `gen docs --dry-run` said "would change" and
//! exited 0 for writes the real run refuses.
// Tests, examples and benches drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::Repo;
use common::snap::{settings, transcript};

#[test]
fn fix_and_gen_docs_dry_runs_promised_writes_into_git_and_warden_that_the_real_run_refuses() {
    let r = Repo::new();
    r.write(
        "q/arch.meta.yaml",
        "type: doc_architecture\nlocation: \".git/hooks/post-checkout\"\nsystem_context: x\n",
    );
    let before = r.tree();
    let t = transcript(
        &r,
        &[
            &["fix", "--dry-run"],
            &["gen", "docs", "--dry-run"],
            &["fix", "--yes"],
        ],
    );
    let mut after = r.tree();
    after.remove("meta-gaps.yaml");
    assert_eq!(after, before, "nothing written");
    assert!(!r.root.join(".git/hooks/post-checkout").exists());
    settings(&r).bind(|| insta::assert_snapshot!("dry_runs_refused_like_the_real_run", t));
}

#[test]
fn registry_maintain_dry_run_without_a_terminal_was_refused() {
    let r = Repo::new();
    r.ok(&["registry", "init", "--scaffold", "--yes"]);
    r.git(&["add", "-A"]);
    r.git(&["commit", "--quiet", "-m", "registry"]);
    let before = r.tree();
    let out = r.run(&["registry", "maintain", "--no-llm", "--dry-run"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last: serde_json::Value =
        serde_json::from_str(stdout.lines().last().expect("a summary line")).expect("json");
    assert_eq!(last["event"], "summary", "{stdout}");
    assert_eq!(last["summary"]["outcome"], "dry_run", "{stdout}");
    assert_eq!(r.tree(), before, "a dry run writes nothing");
}

#[test]
fn the_registry_pre_commit_hook_blocked_the_first_commit_of_a_new_repository() {
    let r = Repo::git_only();
    r.ok(&["init"]);
    r.ok(&["registry", "init", "--scaffold", "--hook", "--yes"]);
    let bin_dir = std::path::Path::new(common::BIN)
        .parent()
        .expect("bin dir")
        .display()
        .to_string();
    let path = format!("{bin_dir}:{}", std::env::var("PATH").unwrap_or_default());
    let git = |args: &[&str]| {
        common::isolated("git", r.home.path())
            .env("PATH", &path)
            .args(args)
            .current_dir(&r.root)
            .output()
            .expect("git")
    };
    assert!(git(&["add", "-A"]).status.success());
    let out = git(&["commit", "--quiet", "-m", "first"]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(git(&["rev-parse", "--verify", "HEAD"]).status.success());
}
