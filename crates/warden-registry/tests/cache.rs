//! The parse cache (`.warden/state/registry-cache.json`): a load parses only
//! the files whose bytes it has not seen, answers exactly as a fresh parse
//! would, and is never created where warden is not set up.
// Tests, examples and benches drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::Fx;
use warden_core::digest::Digest;
use warden_registry::cache::{CACHE_PATH, ParseCache};
use warden_registry::registry::Registry;

fn ids(reg: &Registry) -> Vec<(String, String)> {
    reg.entries
        .iter()
        .map(|e| (e.path.clone(), e.meta.title.clone()))
        .collect()
}

#[test]
fn a_load_takes_a_parse_from_the_cache_only_for_the_same_bytes() {
    let fx = Fx::new();
    let fresh = Registry::load(&fx.root).expect("load");
    let cache = ParseCache::read(&fx.root);
    assert_eq!(cache.entries.len(), 2, "both entries cached");
    assert!(cache.index.is_some(), "and the index");
    // The cache is what a load answers from: a planted answer for alpha's
    // bytes comes back (this is how the test knows the YAML was not parsed).
    let alpha = std::fs::read(fx.root.join("registry/capabilities/alpha.md")).expect("read");
    let mut planted = cache.clone();
    planted
        .entries
        .get_mut(&Digest::of(&alpha).hex())
        .expect("alpha cached")
        .title = "from the cache".into();
    planted.write(&fx.root);
    let reg = Registry::load(&fx.root).expect("load");
    assert_eq!(reg.entries[0].meta.title, "from the cache");
    assert_eq!(reg.entries[0].body, fresh.entries[0].body);
    // Other bytes: parsed again, and the cache follows.
    fx.write(
        "registry/capabilities/alpha.md",
        &String::from_utf8_lossy(&alpha)
            .replace("title: capability.demo.alpha", "title: Alpha, edited"),
    );
    let reg = Registry::load(&fx.root).expect("load");
    assert_eq!(
        ids(&reg),
        vec![
            (
                "registry/capabilities/alpha.md".to_string(),
                "Alpha, edited".to_string()
            ),
            (
                "registry/capabilities/beta.md".to_string(),
                "capability.demo.beta".to_string()
            ),
        ]
    );
    let cache = ParseCache::read(&fx.root);
    assert_eq!(cache.entries.len(), 2, "the old bytes' parse is dropped");
    assert!(cache.entries.values().all(|m| m.title != "from the cache"));
}

#[test]
fn a_damaged_cache_is_ignored_and_an_invalid_entry_is_never_cached() {
    let fx = Fx::new();
    let fresh = Registry::load(&fx.root).expect("load");
    std::fs::write(fx.root.join(CACHE_PATH), b"{ not json").expect("damage");
    let reg = Registry::load(&fx.root).expect("load");
    assert_eq!(ids(&reg), ids(&fresh));
    assert_eq!(ParseCache::read(&fx.root).entries.len(), 2, "rewritten");
    fx.write("registry/capabilities/beta.md", "---\nid: x\n---\n");
    let reg = Registry::load(&fx.root).expect("load");
    assert_eq!(reg.entries.len(), 1);
    assert_eq!(reg.load_problems.len(), 1, "{:?}", reg.load_problems);
    assert_eq!(ParseCache::read(&fx.root).entries.len(), 1);
    // Loaded again: the same problem, not an entry from the cache.
    let again = Registry::load(&fx.root).expect("load");
    assert_eq!(again.load_problems, reg.load_problems);
}

#[test]
fn no_cache_is_written_where_warden_is_not_set_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("registry/capabilities")).expect("mkdir");
    std::fs::write(
        root.join("registry/capabilities/x.md"),
        common::entry("capability.demo.x", [0, 0, 0, 0], &["src/**"], ""),
    )
    .expect("write");
    let reg = Registry::load(root).expect("load");
    assert_eq!(reg.entries.len(), 1);
    assert!(!root.join(".warden").exists(), "nothing created");
}
