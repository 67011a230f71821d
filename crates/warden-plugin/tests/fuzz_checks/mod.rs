//! The checks behind the plugin fuzz target (`crates/warden-plugin/fuzz/`),
//! shared with `tests/fuzz_entry.rs` so that `cargo test` drives the same entry
//! point with arbitrary bytes on every CI run.

#![allow(dead_code)]

use warden_plugin::spec::PluginSpec;

/// The plugin-spec parser: never panics; an accepted spec written back
/// (`to_pretty`, what `warden plugin gen` writes) parses to the same spec, and
/// its derived values (entry, operation per event) can be computed.
pub fn plugin_spec(data: &[u8]) {
    let Ok(spec) = PluginSpec::parse_bytes(data, "plugin.spec.json") else {
        return;
    };
    let again = spec.to_pretty();
    let spec2 = PluginSpec::parse(&again, "again.json")
        .unwrap_or_else(|e| panic!("a re-serialised spec must parse: {e}\n{again}"));
    assert_eq!(spec2, spec, "re-parsing changed the spec");
    assert!(!spec.entry().is_empty());
    for ev in &spec.events {
        assert!(
            spec.operation_for(ev).is_some(),
            "every event has its operation"
        );
    }
}
