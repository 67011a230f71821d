//! The checks behind the registry's fuzz targets
//! (`crates/warden-registry/fuzz/`), shared with `tests/fuzz_entry.rs` so that
//! `cargo test` drives the same entry points with arbitrary bytes on every CI
//! run. Each function takes any bytes and panics only when an invariant
//! breaks.

#![allow(dead_code)]

use warden_registry::model::{Entry, Index};
use warden_registry::patch::{self, PatchFile};

/// An entry file: parsing never panics; an accepted entry renders to a text
/// that parses back to the same front matter and body (canonical and in
/// place over its own text, after a change), and the body is kept byte for
/// byte. The same bytes as an index: never a panic, and an accepted index
/// renders to a fixed point.
pub fn entry(data: &[u8]) {
    if let Ok(e) = Entry::parse(data, "registry/capabilities/fuzz.md") {
        let text = e.render().expect("an accepted entry renders");
        let back = Entry::parse(text.as_bytes(), "again.md")
            .unwrap_or_else(|err| panic!("a rendered entry must parse: {err}\n{text}"));
        assert_eq!(back.meta, e.meta, "rendering changed the front matter");
        assert_eq!(back.body, e.body, "rendering changed the body");
        let mut changed = e.clone();
        changed.meta.notes = Some("fuzz".into());
        changed
            .meta
            .evidence
            .entry("tests".into())
            .or_default()
            .push("tests/fuzz.rs".into());
        let text = changed
            .render_over(Some(data))
            .expect("an accepted entry renders over its text");
        let back = Entry::parse(text.as_bytes(), "again.md")
            .unwrap_or_else(|err| panic!("a rewritten entry must parse: {err}\n{text}"));
        assert_eq!(back.meta, changed.meta, "the rewrite says something else");
        assert_eq!(back.body, e.body, "the rewrite changed the body");
    }
    if let Ok(ix) = Index::parse(data, "registry/indexes/capabilities.yaml") {
        let text = ix.render().expect("an accepted index renders");
        let back = Index::parse(text.as_bytes(), "again.yaml")
            .unwrap_or_else(|err| panic!("a rendered index must parse: {err}\n{text}"));
        assert_eq!(back, ix, "rendering changed the index");
    }
}

/// A patch file and an LLM answer: never a panic; an accepted patch file
/// re-serialises to one that parses to the same patches.
pub fn patch(data: &[u8]) {
    if let Ok(v) = warden_core::strict::parse_json(data, "fuzz.json")
        && let Ok(file) = warden_core::strict::deserialize::<PatchFile>(&v, "fuzz.json", "")
    {
        for p in &file.patches {
            let _ = patch::check(p);
        }
        let again = serde_json::to_vec(&file).expect("serialise");
        let v2 = warden_core::strict::parse_json(&again, "again.json").expect("json");
        let file2: PatchFile =
            warden_core::strict::deserialize(&v2, "again.json", "").expect("a patch file");
        assert_eq!(file2, file, "re-parsing changed the patches");
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = warden_registry::llm::validate_answer(text, "capability.demo.alpha");
    }
}
