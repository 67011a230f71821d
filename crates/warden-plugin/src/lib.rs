//! warden-plugin: plugins as a governed lifecycle.
//!
//! - [`spec`]: `plugin.spec.json`, the one hand-written file of a plugin;
//! - [`generate`]: every derived artifact from the spec + policy, byte-identical on
//!   regeneration, AUTO fences kept honest;
//! - [`validate`]: the checklist that gates enabling;
//! - [`protocol`], [`runtime`], [`sandbox`], [`snapshot`]: sandboxed process
//!   plugins on lifecycle events, whose results are proposals for the core;
//! - [`ids`]: immutable ID cards and their checks;
//! - [`preview`]: what `warden run EVENT` would do (`--dry-run`);
//! - [`hook`]: the git pre-commit hook that dispatches PreCommit.
//!
//! Like every subsystem it writes the repository only through the core's
//! engine; it never prints.

#![forbid(unsafe_code)]

pub mod developer_area;
pub mod generate;
pub mod hook;
pub mod ids;
pub mod lang;
pub mod preview;
pub mod probe_cache;
pub mod probes;
pub mod protocol;
pub mod report;
pub mod runtime;
pub mod sandbox;
pub mod scaffold;
pub mod schemas;
pub mod snapshot;
pub mod spec;
pub mod validate;
