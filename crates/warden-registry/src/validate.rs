//! `warden registry validate`: every problem names the file, the field and
//! the fix. Errors block (exit 1, and a maintain batch that would leave one
//! is discarded); warnings are reported only.
//!
//! | code | severity | meaning |
//! |---|---|---|
//! | `index_missing` | error | no `registry/indexes/capabilities.yaml` |
//! | `index_invalid` | error | the index does not parse or fit its schema |
//! | `entry_invalid` | error | an entry's front matter does not parse or fit its schema, or its `id` holds a character other than `a-z`, `0-9`, `.`, `_`, `-` |
//! | `missing_entry` | error | an index row names an entry file that does not exist (blocking) |
//! | `id_mismatch` | error | an index row's id differs from the id in its entry |
//! | `duplicate_id` | error | two entries, or two index rows, share an id |
//! | `entry_outside` | error | an index row's entry is not under `registry/capabilities/` |
//! | `bad_glob` | error | an entry's `paths` glob does not compile |
//! | `missing_index_row` | warning | an entry has no index row (`index_row_add` fixes it) |
//! | `vector_drift` | warning | a row's vector differs from its entry's (`vector_sync` fixes it) |
//! | `evidence_missing` | warning | an evidence path does not exist in the repository |
//! | `relation_unknown` | warning | a relation names a capability that is not in the registry |

use crate::model::{ENTRIES_DIR, Entry, INDEX_PATH, Index, IndexRow};
use crate::registry::Registry;
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use warden_core::text::shown;

pub const VALIDATE_SCHEMA_ID: &str = "warden.registry-validate/v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Problem {
    /// Stable code (see the table in docs/registry.md).
    pub code: String,
    pub severity: Severity,
    /// Repository-relative file.
    pub file: String,
    pub field: String,
    pub message: String,
    /// How to fix it.
    pub fix: String,
    /// The 1-based line of the field in the file, when it can be found
    /// (for SARIF and editors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

impl Problem {
    pub fn new(
        code: &str,
        severity: Severity,
        file: &str,
        field: &str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Problem {
        Problem {
            code: code.into(),
            severity,
            file: file.into(),
            field: field.into(),
            message: message.into(),
            fix: fix.into(),
            line: None,
        }
    }

    /// From a parse error of the core's strict reader (file, field, hint).
    pub fn from_error(code: &str, e: &warden_core::Error) -> Problem {
        match e {
            warden_core::Error::Invalid {
                file,
                field,
                message,
                hint,
                ..
            }
            | warden_core::Error::Rejected {
                file,
                field,
                message,
                hint,
                ..
            } => Problem::new(
                code,
                Severity::Error,
                file,
                field,
                message.clone(),
                hint.clone().unwrap_or_else(|| "correct the file".into()),
            ),
            other => Problem::new(
                code,
                Severity::Error,
                "(registry)",
                "(file)",
                other.to_string(),
                other.hint().unwrap_or_else(|| "correct the file".into()),
            ),
        }
    }
}

/// `warden registry validate --format json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[schemars(title = "warden registry validate report")]
pub struct ValidateReport {
    /// Always "warden.registry-validate/v1".
    pub schema: String,
    /// No error (warnings may remain).
    pub ok: bool,
    pub entries: usize,
    pub index_rows: usize,
    pub errors: usize,
    pub warnings: usize,
    /// Sorted: errors first, then by file, field and code.
    pub problems: Vec<Problem>,
}

/// Check a loaded registry. `root` is used only to see whether evidence paths exist.
pub fn validate(reg: &Registry, root: &Path) -> ValidateReport {
    check(reg, Some(root))
}

/// The errors only (no look at the disk for the `evidence_missing`
/// warnings): the batch gate of a maintain session.
pub fn errors_only(reg: &Registry) -> ValidateReport {
    check(reg, None)
}

/// Whether a capability id holds only `a-z`, `0-9`, `.`, `_` and `-` (ids
/// are printed, used in file names and on command lines).
fn id_ok(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"._-".contains(&c))
}

fn check(reg: &Registry, root: Option<&Path>) -> ValidateReport {
    let mut out: Vec<Problem> = reg.load_problems.clone();
    let all_ids: std::collections::HashSet<&str> =
        reg.entries.iter().map(|e| e.meta.id.as_str()).collect();
    let mut ids: BTreeMap<&str, &str> = BTreeMap::new();
    for e in &reg.entries {
        if let Some(prev) = ids.insert(e.meta.id.as_str(), e.path.as_str()) {
            out.push(Problem::new(
                "duplicate_id",
                Severity::Error,
                &e.path,
                "id",
                format!("capability \"{}\" is also defined in {prev}", e.meta.id),
                "give each capability its own id, or merge the two entries",
            ));
        }
        if !id_ok(&e.meta.id) {
            out.push(Problem::new(
                "entry_invalid",
                Severity::Error,
                &e.path,
                "id",
                format!(
                    "id {} may hold only a-z, 0-9, '.', '_' and '-'",
                    shown(&e.meta.id)
                ),
                "write the id as capability.<area>.<name>, in lower case",
            ));
        }
        bad_globs(e, &mut out);
        if let Some(root) = root {
            missing_evidence(e, root, &mut out);
        }
        unknown_relations(e, &all_ids, &mut out);
    }
    if let Some(ix) = &reg.index {
        index_problems(reg, ix, &mut out);
    }
    report(reg, out)
}

/// bad_glob: a `paths` glob that does not parse.
fn bad_globs(e: &Entry, out: &mut Vec<Problem>) {
    for (i, g) in e.meta.paths.iter().enumerate() {
        if let Err(err) = globset::GlobBuilder::new(g).literal_separator(true).build() {
            out.push(Problem::new(
                "bad_glob",
                Severity::Error,
                &e.path,
                &format!("paths[{i}]"),
                format!("bad glob \"{g}\": {err}"),
                "use globs such as \"src/x/**\" or \"docs/x.md\"",
            ));
        }
    }
}

/// evidence_missing: a cited repository path (not a URL) that does not exist.
fn missing_evidence(e: &Entry, root: &Path, out: &mut Vec<Problem>) {
    for (k, list) in &e.meta.evidence {
        for (i, p) in list.iter().enumerate() {
            if p.contains("://") {
                continue;
            }
            let exists = warden_core::paths::RepoPath::parse(p, "", "")
                .is_ok_and(|rp| rp.to_fs(root).exists());
            if !exists {
                out.push(Problem::new(
                    "evidence_missing",
                    Severity::Warning,
                    &e.path,
                    &format!("evidence.{k}[{i}]"),
                    format!("\"{p}\" does not exist in the repository"),
                    "restore the file, or remove the citation",
                ));
            }
        }
    }
}

/// relation_unknown: a relation to an id no entry defines.
fn unknown_relations(e: &Entry, all_ids: &std::collections::HashSet<&str>, out: &mut Vec<Problem>) {
    for (k, list) in &e.meta.relations {
        for (i, id) in list.iter().enumerate() {
            if !all_ids.contains(id.as_str()) {
                out.push(Problem::new(
                    "relation_unknown",
                    Severity::Warning,
                    &e.path,
                    &format!("relations.{k}[{i}]"),
                    format!("no capability \"{id}\" in the registry"),
                    "add its entry, or correct the id",
                ));
            }
        }
    }
}

/// The index against the entries: each row, then the entries without one.
fn index_problems(reg: &Registry, ix: &Index, out: &mut Vec<Problem>) {
    let by_path: std::collections::HashMap<&str, &Entry> =
        reg.entries.iter().map(|e| (e.path.as_str(), e)).collect();
    let mut rows: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, row) in ix.capabilities.iter().enumerate() {
        let field = format!("capabilities[{i}]");
        if rows.insert(row.id.as_str(), i).is_some() {
            out.push(Problem::new(
                "duplicate_id",
                Severity::Error,
                INDEX_PATH,
                &format!("{field}.id"),
                format!("capability \"{}\" has two rows", row.id),
                "remove one of the rows",
            ));
        }
        out.extend(row_problem(reg, &by_path, row, &field));
    }
    for e in &reg.entries {
        if !rows.contains_key(e.meta.id.as_str()) {
            out.push(Problem::new(
                "missing_index_row",
                Severity::Warning,
                &e.path,
                "id",
                format!("capability \"{}\" has no row in the index", e.meta.id),
                "run `warden registry maintain` (index_row_add)",
            ));
        }
    }
}

/// What is wrong with one index row's entry: outside the entries folder,
/// another id, another vector, or missing.
fn row_problem(
    reg: &Registry,
    by_path: &std::collections::HashMap<&str, &Entry>,
    row: &IndexRow,
    field: &str,
) -> Option<Problem> {
    if !row.entry.starts_with(&format!("{ENTRIES_DIR}/")) || row.entry.contains("..") {
        return Some(Problem::new(
            "entry_outside",
            Severity::Error,
            INDEX_PATH,
            &format!("{field}.entry"),
            format!("\"{}\" is not under {ENTRIES_DIR}/", row.entry),
            format!("move the entry to {ENTRIES_DIR}/<slug>.md and point the row at it"),
        ));
    }
    match by_path.get(row.entry.as_str()).copied() {
        Some(e) if e.meta.id != row.id => Some(Problem::new(
            "id_mismatch",
            Severity::Error,
            INDEX_PATH,
            &format!("{field}.id"),
            format!(
                "the row says \"{}\" but {} defines \"{}\"",
                row.id, row.entry, e.meta.id
            ),
            "make the row's id equal the entry's id",
        )),
        Some(e) if e.meta.maturity.vector() != row.vector => Some(Problem::new(
            "vector_drift",
            Severity::Warning,
            INDEX_PATH,
            &format!("{field}.vector"),
            format!(
                "the row says {} but {} is at {}",
                row.vector,
                row.entry,
                e.meta.maturity.vector()
            ),
            "run `warden registry maintain` (vector_sync), or copy the entry's vector",
        )),
        Some(_) => None,
        None if reg.originals.get(&row.entry).is_some_and(Option::is_some) => None,
        None => Some(Problem::new(
            "missing_entry",
            Severity::Error,
            INDEX_PATH,
            &format!("{field}.entry"),
            format!(
                "capability \"{}\": the entry file {} does not exist",
                row.id, row.entry
            ),
            "restore the entry file, or remove the row",
        )),
    }
}

/// The report: problems sorted (errors first), each once, with its line.
fn report(reg: &Registry, mut out: Vec<Problem>) -> ValidateReport {
    out.sort_by(|a, b| {
        (a.severity, &a.file, &a.field, &a.code).cmp(&(b.severity, &b.file, &b.field, &b.code))
    });
    out.dedup();
    for p in &mut out {
        if let Some(Some(bytes)) = reg.originals.get(&p.file)
            && let Ok(text) = std::str::from_utf8(bytes)
        {
            p.line = crate::sarif::field_line(&p.file, text, &p.field);
        }
    }
    let errors = out.iter().filter(|p| p.severity == Severity::Error).count();
    ValidateReport {
        schema: VALIDATE_SCHEMA_ID.into(),
        ok: errors == 0,
        entries: reg.entries.len(),
        index_rows: reg.index.as_ref().map_or(0, |i| i.capabilities.len()),
        errors,
        warnings: out.len() - errors,
        problems: out,
    }
}

/// Human text of a report: one line per problem, `file:line: severity[code]:
/// field: message (fix: …)`, the place first as compilers write it, so
/// editors and terminals jump to it (`file:` alone when the field has no
/// line, e.g. a missing file).
pub fn render(r: &ValidateReport) -> String {
    let mut s = String::new();
    for p in &r.problems {
        let sev = match p.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let at = match p.line {
            Some(n) => format!("{}:{n}", shown(&p.file)),
            None => shown(&p.file).to_string(),
        };
        // The message and the fix quote ids, globs and citations from the
        // entries: escaped in place (a plain one prints unchanged).
        s.push_str(&format!(
            "{at}: {sev}[{}]: {}: {} (fix: {})\n",
            p.code,
            shown(&p.field),
            warden_core::text::inline(&p.message).replace('\n', "\\n"),
            warden_core::text::inline(&p.fix).replace('\n', "\\n")
        ));
    }
    s.push_str(&format!(
        "{}: {} entries, {} index rows, {} error(s), {} warning(s)\n",
        if r.ok {
            "registry valid"
        } else {
            "registry INVALID"
        },
        r.entries,
        r.index_rows,
        r.errors,
        r.warnings
    ));
    s
}
