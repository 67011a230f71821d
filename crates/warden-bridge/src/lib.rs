//! warden-bridge: the signed-command bridge.
//!
//! Signed JSON commands arrive in `commands/`; each is checked layer by layer
//! (file → JSON → HMAC → schema → time → allowedActions → paths → dry-run
//! constraints), applied to the target repository as a warden run (so it is
//! ledgered and undoable), and answered with `results/`, `diffs/`, `archive/`
//! or `dead_letter/` documents that [`publish`] commits and pushes.
//!
//! This crate reads no environment variable and prints nothing: secrets,
//! paths and the clock come in from the caller (the CLI).

#![forbid(unsafe_code)]

pub mod audit_log;
pub mod canon;
pub mod command;
pub mod diff;
pub mod inbox;
pub mod layout;
pub mod new;
pub mod ops;
pub mod outputs;
pub mod pipeline;
pub mod publish;
pub mod reason;
pub mod report;
pub mod retries;
pub mod schema;
pub mod service;
pub mod sign;
pub mod smoke;
pub mod unit;
pub mod verify;
