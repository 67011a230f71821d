//! The reports of the generator commands (`--format json`).

use crate::generate::{FixAction, Problem};
use schemars::JsonSchema;
use serde::Serialize;

pub const GEN_DOCS_SCHEMA_ID: &str = "warden.gen-docs/v1";
pub const GEN_TESTS_SCHEMA_ID: &str = "warden.gen-tests/v1";
pub const FIX_SCHEMA_ID: &str = "warden.fix/v1";
pub const CONTRACTS_NEW_SCHEMA_ID: &str = "warden.contracts-new/v1";

/// `warden gen docs|tests --format json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct GenReport {
    /// "warden.gen-docs/v1" or "warden.gen-tests/v1".
    pub schema: String,
    /// Files written (or, with --check/--dry-run, that would be).
    pub changed: Vec<String>,
    /// Files already up to date.
    pub current: Vec<String>,
    /// Hand-written documents (no stamp fence): headings checked, never rewritten.
    pub unmanaged: Vec<String>,
    /// Declared test files with no skeleton generator for their language.
    pub unsupported: Vec<String>,
    /// Hand edits inside fences, missing or out-of-order markers.
    pub problems: Vec<Problem>,
    /// --check / --dry-run: nothing was written.
    pub dry_run: bool,
    /// The run that applied the change, when one did.
    pub run: Option<String>,
    /// The unified diff of the change.
    pub diff: String,
}

/// `warden fix --format json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FixReport {
    /// "warden.fix/v1".
    pub schema: String,
    /// Gap id → what was done.
    pub actions: Vec<FixAction>,
    /// Files written (or that would be, with --dry-run).
    pub changed: Vec<String>,
    pub dry_run: bool,
    pub run: Option<String>,
    pub diff: String,
}

/// `warden contracts new TYPE --format json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ContractsNewReport {
    /// "warden.contracts-new/v1".
    pub schema: String,
    /// The meta file written (repository-relative).
    pub path: String,
    /// Its meta type.
    pub meta_type: String,
    /// `--dry-run`: nothing was written (`run` is null).
    pub dry_run: bool,
    /// The run that wrote it (null in a dry run).
    pub run: Option<String>,
}
