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

pub mod classify;
pub mod dedupe;
pub mod duplicates;
pub mod history;
pub mod import;
pub mod index;
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
