//! warden-sync: the sync guardian ("Problem 1").
//!
//! - [`git`]: what the guardian asks of git beyond the core's git layer
//!   ([`warden_core::git`]): the minimum version, the audit's fetch;
//! - [`audit`]: fetch without merging, then a deterministic report;
//! - [`reconcile`]: the merged truth on `sync/<YYYYMMDD>-<RUN>`, built with
//!   plumbing, never touching the user's working tree, index, stash or branch;
//! - [`resolve`]: deterministic conflict resolvers; [`config`]: `.warden/sync.yaml`;
//! - [`hooks`]: the MergeConflict plugins and the generator sandbox, reached
//!   through traits the CLI implements (this crate never depends on warden-plugin);
//! - [`adopt`]: fast-forward the working branch when nothing changed since;
//! - [`fleet`]: many repositories in parallel with per-host fetch throttling;
//! - [`record`], [`render`], [`schema`]: ledger records, text, JSON Schemas.
//!
//! Like the core it does no terminal I/O and reads no environment variable;
//! it depends on the core and the core never on it.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod adopt;
pub mod audit;
pub mod config;
pub mod fleet;
pub mod git;
pub mod hooks;
pub mod init;
pub mod reconcile;
pub mod record;
pub mod render;
pub mod resolve;
pub mod schema;
pub mod select;

pub use warden_core::git::Git;
