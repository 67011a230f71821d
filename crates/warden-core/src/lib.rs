//! warden-core: the small trusted core of warden.
//!
//! It owns every write to a governed repository: proposals are parsed
//! ([`proposal`]), checked against the policy pack ([`policy`]), planned
//! ([`plan`]), applied atomically through the journal ([`engine`], [`journal`]),
//! recorded in the hash-chained ledger ([`ledger`]) and can be undone by run id.
//!
//! This crate does no terminal I/O and reads no environment variables: time,
//! identifiers and the host name come in through [`context::Context`].

#![forbid(unsafe_code)]

pub mod content;
pub mod context;
pub mod contract;
pub mod digest;
pub mod engine;
pub mod error;
pub mod events;
pub mod failpoint;
pub mod fence;
pub mod fsutil;
pub mod git;
pub mod heads;
pub mod history;
pub mod ids;
pub mod journal;
pub mod ledger;
pub mod ledger_index;
pub mod lock;
pub mod modules;
pub mod paths;
pub mod plan;
pub mod plugin_registry;
pub mod policy;
pub mod process;
pub mod proposal;
pub mod render;
pub mod repo;
pub mod report;
pub mod schema;
pub mod status;
pub mod store;
pub mod strict;
pub mod text;
pub mod validate;

pub use context::Context;
pub use digest::Digest;
pub use error::{Error, ExitClass, Result};
pub use repo::Repo;
pub use report::Report;

/// The version of warden, stamped into generated files.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
