//! The checks behind the core's fuzz targets (`crates/warden-core/fuzz/`),
//! shared with `tests/fuzz_entry.rs` so that `cargo test` drives the same entry
//! points with arbitrary bytes on every CI run. Each function takes any bytes
//! and panics only when an invariant breaks.

#![allow(dead_code)]

use std::path::Path;
use warden_core::journal::{self, FrameHeader, FrameRef, StateRecord};
use warden_core::policy::Policy;
use warden_core::proposal::Proposal;
use warden_core::strict;

/// Strict JSON accepts a subset of what serde_json accepts, with the same value.
pub fn strict_json(data: &[u8]) {
    if let Ok(v) = strict::parse_json(data, "fuzz.json") {
        let plain: serde_json::Value = serde_json::from_slice(data).expect("strict JSON is JSON");
        assert_eq!(v, plain, "strict parsing changed the value");
    }
    let _ = strict::parse_yaml(data, "fuzz.yaml");
}

/// The proposal parser: never panics; an accepted proposal re-serialises to a
/// proposal that parses to the same thing (a fixed point), and its digest is
/// the digest of its canonical JSON.
pub fn proposal(data: &[u8]) {
    strict_json(data);
    let Ok((p, digest)) = Proposal::parse_bytes(data, "fuzz.json") else {
        return;
    };
    let value: serde_json::Value = serde_json::from_slice(data).expect("accepted JSON");
    let canonical = serde_json::to_vec(&value).expect("serialise");
    assert_eq!(digest, warden_core::Digest::of(&canonical), "digest");
    let again = serde_json::to_vec(&p).expect("serialise the proposal");
    let (p2, _) = Proposal::parse_bytes(&again, "again.json")
        .unwrap_or_else(|e| panic!("a re-serialised proposal must parse: {e}"));
    assert_eq!(
        serde_json::to_value(&p2).expect("value"),
        serde_json::to_value(&p).expect("value"),
        "re-parsing changed the proposal"
    );
}

/// The policy parser: never panics; an accepted policy written back as JSON
/// (which is YAML) parses to the same policy.
pub fn policy(data: &[u8]) {
    let Ok(p) = Policy::parse_bytes(data, "fuzz.yaml") else {
        return;
    };
    let again = serde_json::to_vec(&p.file).expect("serialise");
    let p2 = Policy::parse_bytes(&again, "again.yaml")
        .unwrap_or_else(|e| panic!("a re-serialised policy must parse: {e}"));
    assert_eq!(
        serde_json::to_value(&p2.file).expect("value"),
        serde_json::to_value(&p.file).expect("value"),
        "re-parsing changed the policy"
    );
    for path in ["a", "docs/x.md", ".git/config", ".quarantine/x"] {
        let rp = warden_core::paths::RepoPath::parse(path, "", "").expect("valid");
        let _ = p.path_refusal(&rp);
    }
}

/// The journal frame reader, two ways: `data` as a whole journal (never
/// panics; the valid prefix is a run of contiguous frames), and `data` as one
/// frame body sealed with a correct checksum (so the header JSON and blob
/// areas are reached): the scan finds the frame exactly when it decodes.
pub fn journal(data: &[u8]) {
    let path = Path::new("fuzz-journal");
    let (frames, valid) = journal::scan(data, path);
    assert!(valid as usize <= data.len());
    let mut pos = 0;
    for f in &frames {
        assert_eq!(f.at.offset, pos, "frames are contiguous");
        pos += f.at.len;
        touch_blobs(f);
    }
    assert_eq!(pos, valid);

    let sealed = seal(data);
    let digest = warden_core::Digest::of(&sealed[16..sealed.len() - 48]);
    let at = FrameRef {
        offset: 0,
        len: sealed.len() as u64,
        digest,
    };
    let decoded = journal::decode(&sealed, at, path);
    let (frames, valid) = journal::scan(&sealed, path);
    match decoded {
        Ok(f) => {
            touch_blobs(&f);
            assert_eq!(frames.len(), 1, "a frame that decodes is found by the scan");
            assert_eq!(valid, sealed.len() as u64);
        }
        Err(_) => {
            assert!(
                frames.is_empty(),
                "a frame that fails to decode is not found"
            );
            assert_eq!(valid, 0);
        }
    }
}

/// Frame `body` exactly as the journal writes it: head, body, trailer.
fn seal(body: &[u8]) -> Vec<u8> {
    let mut out = b"WRDNFRM1".to_vec();
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&warden_core::Digest::of(body).0);
    out.extend_from_slice(b"WRDNEND\n");
    out
}

fn touch_blobs(f: &journal::Frame) {
    if let FrameHeader::Intent(i) = &f.header {
        for t in &i.transitions {
            for s in [&t.before, &t.after] {
                if let StateRecord::File { blob: Some(b), .. } = s {
                    let _ = f.blob(*b);
                }
            }
        }
    }
}
