//! The baseline of `bench/registry.sh`: read every registry file and
//! YAML-parse it (the entries' front matter, the index) with the same YAML
//! library and options (`warden_core::strict::from_yaml_str`), and nothing else. Usage: parse_baseline REPO
// Tests, examples and benches drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]
use std::path::Path;

fn main() {
    let root = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let root = Path::new(&root);
    let mut n = 0usize;
    let index = std::fs::read_to_string(root.join("registry/indexes/capabilities.yaml"))
        .unwrap_or_default();
    let v: serde_json::Value = warden_core::strict::from_yaml_str(&index).unwrap_or_default();
    n += usize::from(!v.is_null());
    let mut names: Vec<_> = std::fs::read_dir(root.join("registry/capabilities"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    names.sort();
    for p in names {
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        let Some(rest) = text.strip_prefix("---\n") else {
            continue;
        };
        let Some(end) = rest.find("\n---\n") else {
            continue;
        };
        let v: serde_json::Value =
            warden_core::strict::from_yaml_str(&rest[..end + 1]).unwrap_or_default();
        n += usize::from(!v.is_null());
    }
    println!("{n}");
}
