//! Publishing at library level: the commits the bridge makes (who authors
//! them, the trailer naming warden and the run), and publishing on a branch
//! with no commits yet.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::publish as publish_fx;
use common::publish::{ALICE, alice, bridge_root, child_env};
use std::ffi::OsString;
use std::path::Path;
use warden_bridge::layout::Layout;
use warden_bridge::publish::{self, Backoff};
use warden_testkit::Sandbox;

/// Drop a signed command and run one pass; the command's run.
fn process(layout: &Layout, id: &str, doc: serde_json::Value) -> String {
    let runs = publish_fx::pass(layout, &[(id, doc)]);
    runs[0].clone().expect("run")
}

/// Warden and a bridge root, committed, and one write command processed.
fn one_command(s: &Sandbox, root: &Path, env: Vec<(OsString, OsString)>) -> (Layout, String) {
    let layout = bridge_root(root, env);
    s.commit_all(root, "bridge root");
    let run = process(&layout, "c1", common::write("c1", "notes/a.md", "a\n"));
    (layout, run)
}

#[test]
fn bridge_commits_carry_the_users_identity_and_a_warden_run_trailer() {
    let s = Sandbox::new();
    let root = s.repo("cloud", true);
    alice(&s, &root);
    let (layout, run) = one_command(&s, &root, child_env(&s.home(), &[]));
    let r = publish::publish(&layout, &Backoff::default(), Some(&root)).expect("publish");
    assert_eq!(r.commits, vec!["bridge: results c1 (exit=0)".to_string()]);
    let who = s.git(&root, &["log", "-1", "--format=%an <%ae>|%cn <%ce>"]);
    assert_eq!(who.trim(), format!("{ALICE}|{ALICE}"));
    let trailer = s.git(
        &root,
        &["log", "-1", "--format=%(trailers:key=Warden-Run,valueonly)"],
    );
    assert_eq!(trailer.trim(), run, "the commit names the command's run");
    assert_eq!(
        s.git(&root, &["log", "-1", "--format=%s"]).trim(),
        "bridge: results c1 (exit=0)",
        "the subject stays the seed's"
    );
}

#[test]
fn bridge_commits_are_warden_s_when_git_does_not_know_the_user() {
    let s = Sandbox::new();
    let root = s.repo("cloud", true);
    // No identity anywhere, and git may not guess one from the host.
    let env = child_env(
        &s.home(),
        &[
            ("GIT_CONFIG_COUNT", "1"),
            ("GIT_CONFIG_KEY_0", "user.useConfigOnly"),
            ("GIT_CONFIG_VALUE_0", "true"),
        ],
    );
    let (layout, run) = one_command(&s, &root, env);
    publish::publish(&layout, &Backoff::default(), Some(&root)).expect("publish");
    let who = s.git(&root, &["log", "-1", "--format=%an <%ae>"]);
    assert_eq!(
        who.trim(),
        format!("{} <{}>", publish::FALLBACK_NAME, publish::FALLBACK_EMAIL)
    );
    let trailer = s.git(
        &root,
        &["log", "-1", "--format=%(trailers:key=Warden-Run,valueonly)"],
    );
    assert_eq!(trailer.trim(), run);
}

#[test]
fn publish_on_an_unborn_branch_leaves_the_first_commands_outputs_tracked_and_clean() {
    let s = Sandbox::new();
    let root = s.repo("cloud", false);
    alice(&s, &root);
    let layout = bridge_root(&root, child_env(&s.home(), &[]));
    process(&layout, "c1", common::write("c1", "notes/a.md", "a\n"));
    let r = publish::publish(&layout, &Backoff::default(), Some(&root)).expect("publish");
    assert_eq!(r.commits[0], "bridge: results c1 (exit=0)", "{r:?}");
    // Nothing of what was committed is staged as deleted or untracked.
    let status = s.git(
        &root,
        &[
            "status",
            "--porcelain=v1",
            "-uall",
            "--",
            "results",
            "diffs",
            "archive",
            "logs",
            "notes",
        ],
    );
    assert_eq!(status, "", "outputs left behind after the first commit");
    let tracked = s.git(&root, &["ls-files", "--", "results", "archive"]);
    assert!(tracked.contains("results/c1.json"), "{tracked}");
    assert!(tracked.contains("archive/c1.json"), "{tracked}");
    // A second command on the now-born branch publishes as usual.
    process(&layout, "c2", common::noop("c2"));
    let r = publish::publish(&layout, &Backoff::default(), Some(&root)).expect("publish");
    assert_eq!(r.commits, vec!["bridge: results c2 (exit=0)".to_string()]);
    let status = s.git(
        &root,
        &["status", "--porcelain=v1", "--", "results", "archive"],
    );
    assert_eq!(status, "");
}

/// A file whose bytes git's filters change (here `eol=lf` on a CRLF file) is
/// committed as `git add` would store it, not as its raw bytes: publish
/// hands files to fast-import inline only when the filtered and the raw
/// blob ids agree.
#[test]
fn a_file_a_filter_changes_is_committed_as_git_add_stores_it() {
    let s = Sandbox::new();
    let root = s.repo("cloud", true);
    alice(&s, &root);
    std::fs::write(root.join(".gitattributes"), "*.md text eol=lf\n").expect("attributes");
    let layout = bridge_root(&root, child_env(&s.home(), &[]));
    s.commit_all(&root, "bridge root");
    process(
        &layout,
        "c1",
        common::write("c1", "notes/a.md", "one\r\ntwo\r\n"),
    );
    process(&layout, "c2", common::write("c2", "notes/b.md", "plain\n"));
    publish::publish(&layout, &Backoff::default(), Some(&root)).expect("publish");
    assert_eq!(
        s.git(&root, &["cat-file", "blob", "HEAD:notes/a.md"]),
        "one\ntwo\n",
        "stored through the filter"
    );
    assert_eq!(
        s.git(&root, &["cat-file", "blob", "HEAD:notes/b.md"]),
        "plain\n"
    );
    assert_eq!(
        s.git(&root, &["status", "--porcelain", "--", "notes", "results"]),
        ""
    );
}
