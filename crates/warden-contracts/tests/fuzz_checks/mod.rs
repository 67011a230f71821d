//! The checks the fuzz targets run (`crates/warden-contracts/fuzz/`), shared
//! with `tests/fuzz_entry.rs` so `cargo test` runs them too.
// Each fuzz target uses one of the checks.
#![allow(dead_code)]

use std::path::Path;
use warden_contracts::render::{self, DocInputs, Refresh};
use warden_contracts::{check, coverage, scan};

/// Untrusted meta bytes: typed or a gap, never a panic. A document meta's
/// render is proven in step by its own stamp and is what the full refresh
/// keeps; adopting the bytes as a hand-written document either is refused
/// or gives a document that is in step.
pub fn meta(data: &[u8]) {
    let _ = scan::hint(&String::from_utf8_lossy(data));
    let Ok(l) = check::load_bytes("a/README.meta.yaml", data.to_vec()) else {
        return;
    };
    assert!(warden_contracts::meta::MetaType::from_name(&l.type_name).is_some());
    if !l.meta_type.is_document() {
        return;
    }
    let inp = DocInputs {
        generator: "fuzz",
        meta_type: l.meta_type,
        meta_file: &l.path,
        target: "a/README.md",
        meta_bytes: &l.bytes,
    };
    let doc = render::render_full(&inp);
    assert!(render::in_step(
        "fuzz",
        &l.path,
        "a/README.md",
        &l.bytes,
        &doc
    ));
    match render::refresh_rendered(&inp, &doc) {
        Refresh::Managed { text, hand_edited } => {
            assert!(hand_edited.is_empty());
            assert_eq!(text, doc);
        }
        other => panic!("a fresh render is not managed: {other:?}"),
    }
    let hand = String::from_utf8_lossy(data);
    if let Ok(adopted) = render::adopt(&inp, &hand) {
        assert!(render::in_step(
            "fuzz",
            &l.path,
            "a/README.md",
            &l.bytes,
            &adopted
        ));
    }
}

/// Untrusted coverage report bytes: a report or an error, never a panic.
pub fn coverage(data: &[u8]) {
    if let Ok(r) = coverage::parse(data, "cov", "unit", Path::new("/r")) {
        let _ = coverage::measured(&r, &["a".into()]);
    }
}
