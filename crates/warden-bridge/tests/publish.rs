//! Publishing at library level: the commits the bridge makes (who authors
//! them, the trailer naming warden and the run), and publishing on a branch
//! with no commits yet.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use std::ffi::OsString;
use std::path::Path;
use warden_bridge::layout::{self, Layout};
use warden_bridge::pipeline::{Bridge, ItemOutcome, Options};
use warden_bridge::publish::{self, Backoff};
use warden_bridge::sign::Secrets;
use warden_core::{Context, Repo};
use warden_testkit::Sandbox;

/// The environment git gets from the bridge: no identity variables, so the
/// identity is whatever the repository's config says. `extra` adds more.
fn child_env(home: &Path, extra: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = vec![
        ("PATH".into(), std::env::var_os("PATH").unwrap_or_default()),
        ("HOME".into(), home.into()),
        ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
    ];
    env.extend(extra.iter().map(|(k, v)| ((*k).into(), (*v).into())));
    env
}

/// Warden and a bridge root in `root`.
fn setup(root: &Path, env: Vec<(OsString, OsString)>) -> Layout {
    let ctx = Context::system("test-host", "bridge test");
    warden_core::repo::init(root, &ctx).expect("warden init");
    let layout = Layout::new(root).with_child_env(env);
    layout::init(&layout, None).expect("bridge init");
    layout
}

/// Drop a signed command and run one pass; the command's run.
fn process(layout: &Layout, id: &str, doc: serde_json::Value) -> String {
    std::fs::write(
        layout.commands().join(format!("{id}.json")),
        common::signed(&doc),
    )
    .expect("drop");
    let ctx = Context::system("test-host", "bridge test");
    let secrets = Secrets::new(common::SECRET, None);
    let repo = Repo::open(&layout.root).expect("open");
    let opts = Options {
        settle_ms: 0,
        ..Options::default()
    };
    let mut bridge = Bridge::new(layout.clone(), &repo, &ctx, &secrets, opts).expect("bridge");
    let pass = bridge.run_once().expect("pass");
    assert_eq!(pass.items.len(), 1, "{pass:?}");
    assert_eq!(pass.items[0].outcome, ItemOutcome::Archived, "{pass:?}");
    pass.items[0].run.clone().expect("run")
}

/// Warden and a bridge root, committed, and one write command processed.
fn one_command(s: &Sandbox, root: &Path, env: Vec<(OsString, OsString)>) -> (Layout, String) {
    let layout = setup(root, env);
    s.commit_all(root, "bridge root");
    let run = process(&layout, "c1", common::write("c1", "notes/a.md", "a\n"));
    (layout, run)
}

#[test]
fn bridge_commits_carry_the_users_identity_and_a_warden_run_trailer() {
    let s = Sandbox::new();
    let root = s.repo("cloud", true);
    s.git(&root, &["config", "user.name", "Alice Example"]);
    s.git(&root, &["config", "user.email", "alice@example.com"]);
    let (layout, run) = one_command(&s, &root, child_env(&s.home(), &[]));
    let r = publish::publish(&layout, &Backoff::default(), Some(&root)).expect("publish");
    assert_eq!(r.commits, vec!["bridge: results c1 (exit=0)".to_string()]);
    let who = s.git(&root, &["log", "-1", "--format=%an <%ae>|%cn <%ce>"]);
    assert_eq!(
        who.trim(),
        "Alice Example <alice@example.com>|Alice Example <alice@example.com>"
    );
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
    s.git(&root, &["config", "user.name", "Alice Example"]);
    s.git(&root, &["config", "user.email", "alice@example.com"]);
    let layout = setup(&root, child_env(&s.home(), &[]));
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
    s.git(&root, &["config", "user.name", "Alice Example"]);
    s.git(&root, &["config", "user.email", "alice@example.com"]);
    std::fs::write(root.join(".gitattributes"), "*.md text eol=lf\n").expect("attributes");
    let layout = setup(&root, child_env(&s.home(), &[]));
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
