//! The publishing fixture shared by `tests/publish.rs` and
//! `tests/log_rotation.rs`: the environment git gets from the bridge, a
//! repository whose git identity is a person's, warden and a bridge root in
//! it, and one executor pass over signed commands.

use std::ffi::OsString;
use std::path::Path;
use warden_bridge::layout::{self, Layout};
use warden_bridge::pipeline::{Bridge, ItemOutcome, Options};
use warden_bridge::sign::Secrets;
use warden_core::{Context, Repo};
use warden_testkit::Sandbox;

/// The identity `alice` configures.
pub const ALICE: &str = "Alice Example <alice@example.com>";

/// The environment git gets from the bridge: no identity variables, so the
/// identity is whatever the repository's config says. `extra` adds more.
pub fn child_env(home: &Path, extra: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = vec![
        ("PATH".into(), std::env::var_os("PATH").unwrap_or_default()),
        ("HOME".into(), home.into()),
        ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
    ];
    env.extend(extra.iter().map(|(k, v)| ((*k).into(), (*v).into())));
    env
}

/// Configure [`ALICE`] as the git identity of the repository `root`.
pub fn alice(s: &Sandbox, root: &Path) {
    s.git(root, &["config", "user.name", "Alice Example"]);
    s.git(root, &["config", "user.email", "alice@example.com"]);
}

/// Warden and a bridge root in `root`, the bridge's git getting `env`.
pub fn bridge_root(root: &Path, env: Vec<(OsString, OsString)>) -> Layout {
    let ctx = Context::system("test-host", "bridge test");
    warden_core::repo::init(root, &ctx).expect("warden init");
    let layout = Layout::new(root).with_child_env(env);
    layout::init(&layout, None).expect("bridge init");
    layout
}

/// Drop the signed commands `(id, document)` and run one executor pass;
/// every one must be archived. Their runs, in order.
pub fn pass(layout: &Layout, commands: &[(&str, serde_json::Value)]) -> Vec<Option<String>> {
    for (id, doc) in commands {
        std::fs::write(
            layout.commands().join(format!("{id}.json")),
            super::signed(doc),
        )
        .expect("drop");
    }
    let ctx = Context::system("test-host", "bridge test");
    let secrets = Secrets::new(super::SECRET, None);
    let repo = Repo::open(&layout.root).expect("open");
    let opts = Options {
        settle_ms: 0,
        ..Options::default()
    };
    let mut bridge = Bridge::new(layout.clone(), &repo, &ctx, &secrets, opts).expect("bridge");
    let pass = bridge.run_once().expect("pass");
    assert_eq!(pass.items.len(), commands.len(), "{pass:?}");
    assert!(
        pass.items
            .iter()
            .all(|i| i.outcome == ItemOutcome::Archived),
        "{pass:?}"
    );
    pass.items.iter().map(|i| i.run.clone()).collect()
}
