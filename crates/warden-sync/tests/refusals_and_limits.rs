//! Library-level tests of the audit's and reconcile's branches that the CLI
//! tests do not reach: long histories, the fix named by each refusal.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use std::path::{Path, PathBuf};
use warden_sync::audit::{self, AuditOptions, FetchMode, Ungated};
use warden_sync::git::Git;
use warden_sync::reconcile;
use warden_testkit::Sandbox;

fn git_of(s: &Sandbox) -> Git {
    Git::new("git").with_base_env(s.env())
}

/// A remote and a clone `a` of it holding one pushed commit.
fn clone_with_remote(s: &Sandbox) -> (PathBuf, PathBuf) {
    let remote = s.bare_remote("remote.git");
    let seed = s.clone(&remote, "seed");
    std::fs::write(seed.join("README.md"), "hello\n").expect("write");
    s.commit_all(&seed, "init");
    s.git(&seed, &["push", "--quiet", "origin", "main"]);
    let a = s.clone(&remote, "a");
    (remote, a)
}

fn commits(s: &Sandbox, dir: &Path, prefix: &str, n: usize) {
    for i in 1..=n {
        std::fs::write(dir.join(format!("{prefix}.txt")), format!("{i}\n")).expect("write");
        s.commit_all(dir, &format!("{prefix} {i}"));
    }
}

/// More than twice the list limit apart: each side is walked on its own,
/// newest first, cut at the limit; the counts stay exact.
#[test]
fn a_branch_far_from_its_upstream_lists_at_most_twenty_commits_a_side() {
    let s = Sandbox::new();
    let (_, a) = clone_with_remote(&s);
    let b = s.clone(&s.home().join("remote.git"), "b");
    commits(&s, &b, "theirs", 25);
    s.git(&b, &["push", "--quiet", "origin", "main"]);
    commits(&s, &a, "mine", 30);
    let opts = AuditOptions::default();
    let report = audit::audit(&git_of(&s), &a, &opts, &Ungated).expect("audit");
    let main = &report.branches[0];
    assert_eq!((main.ahead, main.behind, main.diverged), (30, 25, true));
    let subjects = |v: &[audit::Commit]| v.iter().map(|c| c.subject.clone()).collect::<Vec<_>>();
    let want = |prefix: &str, from: usize| {
        (0..audit::COMMIT_LIST_LIMIT)
            .map(|i| format!("{prefix} {}", from - i))
            .collect::<Vec<_>>()
    };
    assert_eq!(subjects(&main.commits_ahead), want("mine", 30));
    assert_eq!(subjects(&main.commits_behind), want("theirs", 25));
}

/// `--remote NAME` that names no remote: the fix lists the remotes there
/// are, or says how to link one when there is none.
#[test]
fn an_unknown_remote_names_the_remotes_there_are_or_how_to_link_one() {
    let s = Sandbox::new();
    let (_, a) = clone_with_remote(&s);
    let lone = s.repo("lone", true);
    let opts = AuditOptions {
        fetch: FetchMode::Remote("upstream".into()),
        ..AuditOptions::default()
    };
    for (dir, want) in [
        (&a, "the remotes are: origin"),
        (&lone, "link one with `warden sync init --remote URL`"),
    ] {
        let e = audit::audit(&git_of(&s), dir, &opts, &Ungated).expect_err("unknown remote");
        let text = format!("{e} {:?}", e);
        assert!(text.contains("no remote named \"upstream\""), "{text}");
        assert!(text.contains(want), "{text}");
    }
}

fn reconcile_in(s: &Sandbox, dir: &Path) -> warden_core::Result<reconcile::ReconcileReport> {
    common::reconcile(&git_of(s), dir, &common::reconcile_options(true))
}

/// Each way of having no working branch to reconcile is refused with its fix.
#[test]
fn reconcile_refuses_a_detached_head_an_unborn_branch_and_a_gone_upstream() {
    let s = Sandbox::new();
    let (_, a) = clone_with_remote(&s);
    let detached = s.clone(&s.home().join("remote.git"), "detached");
    s.git(&detached, &["checkout", "--quiet", "--detach"]);
    let unborn = s.repo("unborn", false);
    let gone = s.clone(&s.home().join("remote.git"), "gone");
    s.git(&gone, &["update-ref", "-d", "refs/remotes/origin/main"]);
    for (dir, want) in [
        (&detached, "HEAD is detached"),
        (&unborn, "branch main has no commit yet"),
        (
            &gone,
            "the upstream refs/remotes/origin/main of main is gone",
        ),
    ] {
        let e = reconcile_in(&s, dir).expect_err(want);
        assert!(e.to_string().contains(want), "{e}");
    }
    reconcile_in(&s, &a).expect("a clone in sync reconciles (up to date)");
}
