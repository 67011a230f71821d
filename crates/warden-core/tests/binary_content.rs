//! Issue 11, Build 2: `write_file` carries any bytes — `content` (text),
//! `content_base64`, or `content_file` (a staged file outside the repository,
//! with a required `content_sha256` checked before anything is written) —
//! exactly one of them; each refusal names the field and the fix.

mod common;

use base64::Engine;
use common::{Fixture, manual, try_apply};
use serde_json::json;
use warden_core::Digest;
use warden_core::proposal::Proposal;

fn bytes() -> Vec<u8> {
    (0..=255u8).chain([0, 0xff, b'\n', 0x80]).collect()
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// The error of parsing (and planning) one write_file action.
fn refused(f: &Fixture, action: serde_json::Value) -> String {
    let before = common::tree(f.root());
    let err = try_apply(f, manual(json!([action]))).expect_err("must be refused");
    assert_eq!(common::tree(f.root()), before, "nothing is written");
    assert_eq!(
        err.class(),
        warden_core::ExitClass::Input,
        "bad input is a usage error: {err}"
    );
    err.to_string()
}

#[test]
fn content_base64_writes_any_bytes_and_undo_restores_them() {
    let f = Fixture::new();
    let out = try_apply(
        &f,
        manual(json!([{"kind": "write_file", "path": "img/logo.bin", "content_base64": b64(&bytes()), "expect": "absent"}])),
    )
    .expect("apply");
    assert_eq!(
        std::fs::read(f.root().join("img/logo.bin")).expect("read"),
        bytes()
    );
    // With a matching content_sha256 it is accepted too.
    try_apply(
        &f,
        manual(json!([{"kind": "write_file", "path": "img/other.bin", "content_base64": b64(b"\x00\x01"), "content_sha256": Digest::of(b"\x00\x01").hex(), "expect": "absent"}])),
    )
    .expect("apply with sha");
    common::try_undo(&f, &out.entry.run, false).expect("undo");
    assert!(!f.root().join("img/logo.bin").exists());
}

#[test]
fn content_file_is_read_once_and_checked_against_its_sha256() {
    let f = Fixture::new();
    let staged = visible_staging();
    let file = staged.path().join("big.pdf");
    std::fs::write(&file, bytes()).expect("stage");
    try_apply(
        &f,
        manual(json!([{"kind": "write_file", "path": "docs/big.pdf", "content_file": file.to_str().expect("utf-8"), "content_sha256": Digest::of(&bytes()).hex(), "expect": "absent"}])),
    )
    .expect("apply");
    assert_eq!(
        std::fs::read(f.root().join("docs/big.pdf")).expect("read"),
        bytes()
    );
}

#[test]
fn each_way_of_getting_the_content_wrong_is_refused_naming_the_field() {
    let f = Fixture::new();
    let staged = visible_staging();
    let file = staged.path().join("c.bin");
    std::fs::write(&file, b"staged").expect("stage");
    let fp = file.to_str().expect("utf-8").to_string();
    let cases = [
        (
            json!({"kind": "write_file", "path": "a", "expect": "absent"}),
            "actions[0].content",
            "is missing",
        ),
        (
            json!({"kind": "write_file", "path": "a", "content": "x", "content_base64": "eA==", "expect": "absent"}),
            "actions[0].content_base64",
            "together with \"content\"",
        ),
        (
            json!({"kind": "write_file", "path": "a", "content_base64": "not base64!", "expect": "absent"}),
            "actions[0].content_base64",
            "not valid base64",
        ),
        (
            json!({"kind": "write_file", "path": "a", "content_file": fp, "expect": "absent"}),
            "actions[0].content_sha256",
            "is missing",
        ),
        (
            json!({"kind": "write_file", "path": "a", "content_file": fp, "content_sha256": Digest::of(b"other").hex(), "expect": "absent"}),
            "actions[0].content_sha256",
            "does not match",
        ),
        (
            json!({"kind": "write_file", "path": "a", "content": "x", "content_sha256": Digest::of(b"y").hex(), "expect": "absent"}),
            "actions[0].content_sha256",
            "does not match",
        ),
        (
            json!({"kind": "write_file", "path": "a", "content_file": "relative/c.bin", "content_sha256": Digest::of(b"staged").hex(), "expect": "absent"}),
            "actions[0].content_file",
            "not an absolute path",
        ),
        (
            json!({"kind": "write_file", "path": "a", "content_file": staged.path().join("missing").to_str().expect("utf-8"), "content_sha256": Digest::of(b"staged").hex(), "expect": "absent"}),
            "actions[0].content_file",
            "cannot be read",
        ),
        (
            json!({"kind": "write_file", "path": "a", "content_sha256": "zz", "content": "x", "expect": "absent"}),
            "actions[0].content_sha256",
            "64 hex",
        ),
    ];
    for (action, field, what) in cases {
        let err = refused(&f, action.clone());
        assert!(
            err.contains(field) && err.contains(what),
            "{action}: expected {field} / {what}, got: {err}"
        );
    }
}

#[test]
fn a_content_file_inside_the_repository_is_refused() {
    let f = Fixture::new();
    f.write("staged.bin", "inside", 0o644);
    let inside = f.root().join("staged.bin");
    let err = refused(
        &f,
        json!({"kind": "write_file", "path": "copy.bin", "content_file": inside.to_str().expect("utf-8"), "content_sha256": Digest::of(b"inside").hex(), "expect": "absent"}),
    );
    assert!(
        err.contains("actions[0].content_file") && err.contains("inside the repository"),
        "{err}"
    );
}

#[test]
fn sources_that_must_not_name_local_paths_are_refused_a_content_file() {
    let staged = visible_staging();
    let file = staged.path().join("c.bin");
    std::fs::write(&file, b"staged").expect("stage");
    let doc = json!({"schema": "warden.proposal/v1", "source": {"kind": "plugin", "id": "p"}, "event": "Manual",
        "actions": [{"kind": "write_file", "path": "a", "content_file": file.to_str().expect("utf-8"), "content_sha256": Digest::of(b"staged").hex(), "expect": "absent"}]});
    // Refused while parsing, before the file is read.
    let err = Proposal::from_value_remote(&doc, "plugin p").expect_err("refused");
    assert!(
        err.to_string().contains("actions[0].content_file")
            && err.to_string().contains("local path"),
        "{err}"
    );
    // And by the check on a parsed proposal (a person may name one).
    let mut doc = doc;
    doc["source"]["kind"] = json!("person");
    let (p, _) = Proposal::from_value(&doc, "person").expect("parses");
    let err = p.refuse_content_file("plugin p").expect_err("refused");
    assert!(err.to_string().contains("actions[0].content_file"), "{err}");
    let ok = json!({"schema": "warden.proposal/v1", "source": {"kind": "plugin", "id": "p"}, "event": "Manual",
        "actions": [{"kind": "write_file", "path": "a", "content_base64": "AA==", "expect": "absent"}]});
    let (p, _) = Proposal::from_value_remote(&ok, "plugin p").expect("base64 is fine");
    p.refuse_content_file("plugin p").expect("base64 is fine");
}

#[test]
fn a_content_file_digest_mismatch_does_not_reveal_the_files_sha256() {
    let f = Fixture::new();
    let staged = visible_staging();
    let file = staged.path().join("id_rsa");
    std::fs::write(&file, b"PRIVATE KEY MATERIAL\n").expect("stage");
    let actual = Digest::of(b"PRIVATE KEY MATERIAL\n").hex();
    let err = try_apply(
        &f,
        manual(json!([{"kind": "write_file", "path": "notes.txt", "content_file": file.to_str().expect("utf-8"), "content_sha256": "0".repeat(64), "expect": "absent"}])),
    )
    .expect_err("mismatch");
    let shown = format!("{err} / {}", err.hint().unwrap_or_default());
    assert!(!shown.contains(&actual), "the digest leaks: {shown}");
    assert_eq!(
        err.to_string(),
        "p.json: actions[0].content_sha256: does not match the content_file"
    );
    // Inline content is the author's own: its digest may be shown.
    let err = try_apply(
        &f,
        manual(json!([{"kind": "write_file", "path": "n.txt", "content": "x", "content_sha256": "0".repeat(64), "expect": "absent"}])),
    )
    .expect_err("mismatch");
    assert!(err.to_string().contains(&Digest::of(b"x").hex()), "{err}");
}

#[test]
fn a_content_file_that_is_a_symlink_or_in_a_hidden_or_system_place_is_refused() {
    let f = Fixture::new();
    let staged = visible_staging();
    let secret = staged.path().join(".ssh/id_rsa");
    std::fs::create_dir_all(secret.parent().expect("parent")).expect("mkdir");
    std::fs::write(&secret, b"key").expect("write");
    let link = staged.path().join("innocent.txt");
    std::os::unix::fs::symlink(&secret, &link).expect("link");
    let sha = Digest::of(b"key").hex();
    let cases = [
        (secret.clone(), "is in a hidden file or directory"),
        (link, "is a symbolic link"),
        ("/etc/hostname".into(), "is under /etc"),
        ("/proc/self/environ".into(), "is under /proc"),
    ];
    for (path, why) in cases {
        let err = refused(
            &f,
            json!({"kind": "write_file", "path": "a", "content_file": path.to_str().expect("utf-8"), "content_sha256": sha, "expect": "absent"}),
        );
        assert!(
            err.contains("actions[0].content_file") && err.contains(why),
            "{path:?}: expected {why}, got: {err}"
        );
    }
}

#[test]
fn automated_source_kinds_may_not_name_a_content_file_even_through_apply() {
    let staged = visible_staging();
    let file = staged.path().join("c.bin");
    std::fs::write(&file, b"staged").expect("stage");
    for kind in ["plugin", "bridge", "collector", "generator", "llm"] {
        let doc = json!({"schema": "warden.proposal/v1", "source": {"kind": kind, "id": "x"}, "event": "Manual",
            "actions": [{"kind": "write_file", "path": "a", "content_file": file.to_str().expect("utf-8"), "content_sha256": Digest::of(b"staged").hex(), "expect": "absent"}]});
        let err = Proposal::from_value(&doc, "p.json").expect_err(kind);
        assert_eq!(
            err.to_string(),
            format!(
                "p.json: actions[0].content_file: is not accepted from a proposal of source kind \"{kind}\": only a person or a tool names a local file"
            )
        );
    }
    for kind in ["person", "tool"] {
        let doc = json!({"schema": "warden.proposal/v1", "source": {"kind": kind, "id": "x"}, "event": "Manual",
            "actions": [{"kind": "write_file", "path": "a", "content_file": file.to_str().expect("utf-8"), "content_sha256": Digest::of(b"staged").hex(), "expect": "absent"}]});
        Proposal::from_value(&doc, "p.json").expect(kind);
    }
}

proptest::proptest! {
    /// Any bytes travel through `content_base64` unchanged, and a wrong
    /// `content_sha256` is always refused.
    #[test]
    fn any_bytes_round_trip_through_content_base64(data in proptest::collection::vec(0u8..=255, 0..2000)) {
        let doc = json!({"schema": "warden.proposal/v1", "source": {"kind": "plugin", "id": "p"}, "event": "Manual",
            "actions": [{"kind": "write_file", "path": "a.bin", "content_base64": b64(&data), "content_sha256": Digest::of(&data).hex(), "expect": "any"}]});
        let (p, _) = Proposal::from_value_remote(&doc, "p").expect("parses");
        let warden_core::proposal::Action::WriteFile { content, .. } = &p.actions[0] else {
            panic!("write_file");
        };
        proptest::prop_assert_eq!(content.as_bytes(), &data[..]);
        let mut other = data.clone();
        other.push(1);
        let bad = json!({"schema": "warden.proposal/v1", "source": {"kind": "plugin", "id": "p"}, "event": "Manual",
            "actions": [{"kind": "write_file", "path": "a.bin", "content_base64": b64(&data), "content_sha256": Digest::of(&other).hex(), "expect": "any"}]});
        proptest::prop_assert!(Proposal::from_value_remote(&bad, "p").is_err());
    }
}

/// A staging directory for `content_file`: visible (tempfile's default name
/// starts with a dot, and a hidden directory is refused as a staging place).
fn visible_staging() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("warden-staging-")
        .tempdir()
        .expect("staging")
}
