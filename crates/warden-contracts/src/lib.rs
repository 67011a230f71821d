//! warden's contracts: meta.yaml contracts next to the
//! code say which READMEs, docs and tests must exist and what they must hold.
//!
//! - [`discover`] finds meta files, [`meta`] types them (one serde shape and
//!   JSON Schema per meta type; the seed's `l9_*` names are aliases);
//! - [`check`] turns them into [`gaps`] with stable ids, the `meta-gaps.yaml`
//!   report and [`sarif`]; [`modules`] adds module and wiring contracts;
//! - [`render`], [`skeleton`] and [`generate`] compute the writes of `gen docs`,
//!   `gen tests` and `fix`, which the CLI applies as one undoable run;
//! - [`templates`] are the annotated meta templates of `contracts new`.
//!
//! The crate depends on `warden-core` only and never writes the repository
//! except the gap report; every other change goes through the engine (G3).

#![forbid(unsafe_code)]

pub mod check;
pub mod config;
pub mod coverage;
pub mod discover;
pub mod gaps;
pub mod generate;
pub mod lines;
pub mod meta;
pub mod modules;
pub mod ordered;
pub mod proofs;
pub mod render;
pub mod report;
pub mod run_tests;
pub mod sarif;
pub mod scan;
pub mod schema;
pub mod skeleton;
pub mod templates;
