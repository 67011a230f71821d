//! The identity operation log `.ledger/ids.jsonl`.
//!
//! One JSON line per identity operation (an id card minted or retired), append
//! only. It is a single file shared by every clone, so `.ledger/.gitattributes`
//! marks it `merge=union`: two clones that each append merge without conflict,
//! and `warden ids check` verifies that every line of a base revision is still
//! present, in order. The ID cards themselves (`ids/cards/<ULID>.yaml`) are
//! ordinary repository files written through the engine.

use crate::digest::Digest;
use crate::engine::Session;
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::strict;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const ID_OP_SCHEMA_ID: &str = "warden.id-op/v1";
/// Repository-relative path of the identity operation log.
pub const IDS_LOG: &str = ".ledger/ids.jsonl";

/// One identity operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "warden identity operation",
    description = "One line of .ledger/ids.jsonl"
)]
pub struct IdOp {
    pub schema: String,
    pub time: String,
    /// "mint" (a card was created) or "retire" (its artifact was removed).
    pub op: String,
    /// The ULID of the card.
    pub id: String,
    /// What the card identifies, e.g. "plugin".
    pub kind: String,
    /// Repository-relative path of the artifact, e.g. `plugins/hello`.
    pub artifact: String,
    /// sha256 of the card file's bytes when the operation was recorded.
    pub card_sha256: Digest,
    /// The run that wrote the card.
    pub run: String,
    pub writer: String,
}

pub fn log_path(root: &Path) -> PathBuf {
    root.join(IDS_LOG)
}

/// Read every operation; a line that does not parse is an error naming it.
pub fn read(root: &Path) -> Result<Vec<IdOp>> {
    let path = log_path(root);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).io("read", &path),
    };
    parse(&text, IDS_LOG)
}

pub fn parse(text: &str, file: &str) -> Result<Vec<IdOp>> {
    let mut ops = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let hint = "this file is append-only; restore it with `git checkout -- .ledger/ids.jsonl`";
        // Strict, like every input: a repeated or unknown key is named, with its line.
        let op: IdOp = strict::parse_json(line.as_bytes(), file)
            .and_then(|v| strict::deserialize(&v, file, hint))
            .map_err(|e| match e {
                Error::Invalid {
                    file,
                    field,
                    message,
                    hint: h,
                    ..
                } => Error::invalid(
                    file,
                    format!("line {}: {field}", i + 1),
                    format!("not an identity operation: {message}"),
                    Some(h.map_or(hint.to_string(), |h| format!("{h}; {hint}"))),
                ),
                other => other,
            })?;
        ops.push(op);
    }
    Ok(ops)
}

impl Session<'_> {
    /// Append identity operations durably (one write, one fdatasync). Holds
    /// the session's repository lock, so appends never interleave.
    pub fn append_id_ops(&mut self, ops: &[IdOp]) -> Result<()> {
        if ops.is_empty() {
            return Ok(());
        }
        let path = log_path(self.repo.root());
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).io("create", dir)?;
        }
        let mut buf = Vec::new();
        // A torn last line (crash mid-append) is completed as its own line so
        // the next line stays parseable; `ids check` reports the torn one.
        if let Ok(existing) = std::fs::read(&path)
            && !existing.is_empty()
            && !existing.ends_with(b"\n")
        {
            buf.push(b'\n');
        }
        for op in ops {
            serde_json::to_writer(&mut buf, op).map_err(|e| Error::Internal(e.to_string()))?;
            buf.push(b'\n');
        }
        let existed = path.exists();
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .io("open", &path)?;
        f.write_all(&buf).io("append to", &path)?;
        f.sync_data().io("fsync", &path)?;
        if !existed && let Some(dir) = path.parent() {
            fsutil::sync_dir(dir)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OP: &str = r#"{"schema":"warden.id-op/v1","time":"2026-11-21T00:00:00Z","op":"mint","id":"01ARZ3NDEKTSV4RRFFQ69G5FAV","kind":"plugin","artifact":"plugins/k","card_sha256":"0000000000000000000000000000000000000000000000000000000000000000","run":"R","writer":"w"}"#;

    #[test]
    fn an_id_op_with_a_repeated_key_is_refused_naming_the_key_and_line() {
        assert_eq!(parse(OP, IDS_LOG).expect("parses").len(), 1);
        let twice = OP.replace(
            r#""artifact":"plugins/k","#,
            r#""artifact":"plugins/k","artifact":"plugins/other","#,
        );
        let e = parse(&format!("{OP}\n{twice}\n"), IDS_LOG).expect_err("duplicate");
        assert!(
            e.to_string().starts_with(
                ".ledger/ids.jsonl: line 2: artifact: not an identity operation: duplicate key \"artifact\""
            ),
            "{e}"
        );
    }

    #[test]
    fn an_unknown_id_op_field_is_named_with_a_did_you_mean() {
        let typo = OP.replace(r#""writer":"w""#, r#""writer":"w","wirter":"w""#);
        let e = parse(&typo, IDS_LOG).expect_err("unknown");
        assert_eq!(
            e.to_string(),
            ".ledger/ids.jsonl: line 1: wirter: not an identity operation: unknown field"
        );
        assert!(
            e.hint().is_some_and(
                |h| h.starts_with("did you mean \"writer\"?; this file is append-only")
            ),
            "{:?}",
            e.hint()
        );
    }
}
