//! `.warden/state/ledger-heads.json`: what this clone last wrote or verified of
//! each ledger chain — the entry's seq, its hash and the byte length of the
//! chain up to and including it — plus the problem the last full verification
//! found, if any.
//!
//! The heads are what makes a cut or an edited chain tip detectable (G2): the
//! ledger guard ([`crate::ledger::Ledger::guard`]) checks every chain's bytes from
//! its recorded head onwards before a writer appends, so a write can never seal
//! a tampered tip. A head may lag behind its chain (the file is written after the
//! ledger's fsync, without one of its own); it may never be ahead of it or differ
//! from it. A heads file that cannot be read is an error, never ignored: it is
//! repaired only by `warden ledger accept`, which is itself ledgered.

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::ledger::Problem;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

pub const HEADS_SCHEMA: &str = "warden.ledger-heads/v2";

/// One chain's recorded head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Head {
    pub seq: u64,
    pub hash: Digest,
    /// Bytes of the chain up to and including entry `seq` (with its newline).
    /// Absent in heads written by warden before v2: the chain is then verified
    /// whole once, and the offset recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

/// The whole heads file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Heads {
    pub schema: String,
    pub chains: BTreeMap<String, Head>,
    /// What the last full `warden ledger verify` found, until one passes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<Problem>,
}

/// Heads written by warden before v2: `{writer: {seq, hash}}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HeadV1 {
    seq: u64,
    hash: Digest,
}

impl Heads {
    pub fn new() -> Self {
        Heads {
            schema: HEADS_SCHEMA.into(),
            ..Default::default()
        }
    }
}

/// `rel` is how errors name the file (repository-relative).
pub fn parse(bytes: &[u8], rel: &str) -> Result<Heads> {
    let corrupt = |why: String| {
        Error::rejected(
            rel,
            "(file)",
            format!(
                "is not a readable heads file ({why}): a cut or edited ledger tip could not be detected"
            ),
            Some(accept_hint()),
        )
    };
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
    if value.get("schema").is_some() {
        let heads: Heads = serde_json::from_value(value).map_err(|e| corrupt(e.to_string()))?;
        if heads.schema != HEADS_SCHEMA {
            return Err(corrupt(format!("unknown schema {:?}", heads.schema)));
        }
        return Ok(heads);
    }
    let old: BTreeMap<String, HeadV1> =
        serde_json::from_value(value).map_err(|e| corrupt(e.to_string()))?;
    let mut heads = Heads::new();
    for (writer, h) in old {
        heads.chains.insert(
            writer,
            Head {
                seq: h.seq,
                hash: h.hash,
                offset: None,
            },
        );
    }
    Ok(heads)
}

/// Read the heads file; `None` when it does not exist.
pub fn read(path: &Path, rel: &str) -> Result<Option<Heads>> {
    match std::fs::read(path) {
        Ok(bytes) => parse(&bytes, rel).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::rejected(
            rel,
            "(file)",
            format!("cannot be read ({e})"),
            Some(format!(
                "make it readable by this user, or remove it and run {}",
                accept_hint()
            )),
        )),
    }
}

/// Write the heads file in place, without truncating it first: the new text is
/// padded with spaces to the old length, so a crash mid-write leaves either
/// text whole in the usual case, and no new inode is made per run.
/// The first write goes through a temp file and a rename instead. Best effort:
/// a head that was not written only lags behind its chain, which the guard
/// tolerates.
pub fn write(path: &Path, heads: &Heads) {
    let Ok(mut text) = serde_json::to_vec_pretty(heads) else {
        return;
    };
    text.push(b'\n');
    if std::fs::symlink_metadata(path).is_err() {
        // The first write makes the file whole or not at all: created in
        // place, a kill between its creation and its first write would leave
        // an empty heads file, which reads as corrupt.
        let _ = crate::fsutil::write_atomic(path, &text, 0o644);
        return;
    }
    let Ok(mut f) = std::fs::OpenOptions::new()
        .write(true)
        .truncate(false)
        .open(path)
    else {
        return;
    };
    let old = f.metadata().map(|m| m.len()).unwrap_or(0);
    if (text.len() as u64) < old {
        text.resize(old as usize, b' ');
    }
    let _ = f.write_all(&text);
}

/// Replace the heads file durably (temp, fsync, rename): for `warden ledger
/// accept`, which must not leave the old heads behind.
pub fn write_replacing(path: &Path, heads: &Heads) -> Result<()> {
    let mut text = serde_json::to_vec_pretty(heads).map_err(|e| Error::Internal(e.to_string()))?;
    text.push(b'\n');
    crate::fsutil::write_atomic(path, &text, 0o644)
}

/// The recovery command, for hints.
pub fn accept_hint() -> String {
    "`warden ledger accept --reason \"…\"` to re-record the heads from the chains as they are now (the acceptance is itself ledgered)".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_written_before_v2_are_read_without_offsets() {
        let hash = Digest::of(b"x");
        let old = format!(r#"{{"w1": {{"seq": 3, "hash": "{hash}"}}}}"#);
        let h = parse(old.as_bytes(), "h.json").expect("parse");
        assert_eq!(h.chains["w1"].seq, 3);
        assert_eq!(h.chains["w1"].offset, None);
    }

    #[test]
    fn a_corrupted_heads_file_is_an_error_naming_the_file_and_the_fix() {
        let err = parse(
            b"{\"w1\": {\"seq\": 3, \"ha",
            ".warden/state/ledger-heads.json",
        )
        .expect_err("corrupt");
        let text = err.to_string();
        assert!(
            text.starts_with(".warden/state/ledger-heads.json"),
            "{text}"
        );
        assert!(err.hint().expect("hint").contains("warden ledger accept"));
        assert_eq!(err.class(), crate::error::ExitClass::Rejected);
    }

    #[test]
    fn a_shorter_rewrite_leaves_no_stale_tail() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("h.json");
        let mut h = Heads::new();
        for i in 0..20 {
            h.chains.insert(
                format!("writer-{i}"),
                Head {
                    seq: i,
                    hash: Digest::of(b"x"),
                    offset: Some(i * 100),
                },
            );
        }
        write(&p, &h);
        let small = Heads::new();
        write(&p, &small);
        assert_eq!(
            parse(&std::fs::read(&p).expect("read"), "h").expect("parse"),
            small
        );
    }
}
