//! warden-classify: the file classifier and watcher.
//!
//! Files dropped into an inbox are scored against the module registry
//! `.warden/modules.yaml` ([`score`], tokenised by [`tokens`]), name clashes
//! are settled by the dedupe rules ([`dedupe`], with the time source of
//! [`times`]), and the decisions become ONE proposal of `move_file` and
//! `quarantine` actions that the core's policy gate and engine apply as one
//! undoable run ([`classify`], [`run`]). The decisions are the run's ledger
//! details: the placement history that [`history`] queries. [`quarantine`]
//! lists the core's quarantine lane; [`watch`] runs the classifier on what
//! settles in the inbox.
//!
//! Like every subsystem it depends on `warden-core` only, prints nothing and
//! reads no environment variables.

#![forbid(unsafe_code)]

pub mod checks;
pub mod classify;
pub mod dedupe;
pub mod duplicates;
pub mod history;
pub mod import;
pub mod index;
pub mod latest;
pub mod quarantine;
pub mod report;
pub mod run;
pub mod scan;
pub mod schema;
pub mod score;
pub mod template;
pub mod times;
pub mod tokens;
pub mod validate;
pub mod watch;

/// `Result<T, io::Error>` → `warden_core::Result` naming the operation and path.
pub(crate) trait IoContext<T> {
    fn io(self, op: &'static str, path: impl AsRef<std::path::Path>) -> warden_core::Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn io(self, op: &'static str, path: impl AsRef<std::path::Path>) -> warden_core::Result<T> {
        self.map_err(|source| warden_core::Error::Io {
            op,
            path: path.as_ref().to_path_buf(),
            source,
        })
    }
}

/// The sha256 of `value`'s JSON as `serde_json` writes it, streamed into the
/// hasher (the text is never held whole).
pub(crate) fn json_digest<T: serde::Serialize + ?Sized>(
    value: &T,
) -> serde_json::Result<warden_core::Digest> {
    use sha2::Digest as _;
    struct HashWriter(sha2::Sha256);
    impl std::io::Write for HashWriter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.update(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut w = HashWriter(sha2::Sha256::new());
    serde_json::to_writer(&mut w, value)?;
    Ok(warden_core::Digest(w.0.finalize().into()))
}
