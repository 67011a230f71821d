//! The registry maintainer: a capability registry —
//! `registry/indexes/capabilities.yaml` and `registry/capabilities/*.md` —
//! kept current by deterministic collectors, a review loop, and an optional
//! LLM whose answers are validated locally and gated on evidence. Every write
//! of a session is one `registry_patch` run through the core's policy gate
//! and engine: atomic, validated before commit, ledgered, undoable.
//!
//! Like the core, this crate never prints and reads no environment
//! variables: the CLI passes the child environment, the LLM settings and a
//! terminal (a reader and a writer) in.
#![forbid(unsafe_code)]

pub mod cache;
pub mod collect;
pub mod frontmatter;
pub mod index_text;
pub mod init;
pub mod llm;
pub mod maintain;
pub mod model;
pub mod patch;
pub mod publish;
pub mod registry;
pub mod replay;
pub mod report;
pub mod review;
pub mod sarif;
pub mod schema;
pub mod standard;
pub mod stats;
pub mod validate;
