//! Gaps: the closed set of kinds, each with its fix; stable ids; the
//! `meta-gaps.yaml` v1 report (L2243-2333).
//!
//! A gap id is `gap-` and the first 12 hex digits of sha256(kind, meta file,
//! target file, structural key), so a gap keeps its id when others appear or
//! go. The seed's prose numbers gaps per run (`gap-0001`); its own
//! comment calls the id "stable", and only a content-derived id is.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use warden_core::digest::Hasher;

/// Every kind of gap `warden check` reports.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum GapKind {
    InvalidMeta,
    SchemaViolation,
    MissingDoc,
    EmptyDoc,
    MissingSection,
    MissingTestFile,
    NoTests,
    PendingTest,
    MissingModuleSpec,
    MissingModuleFolder,
    OrphanModule,
    OrphanSpec,
    WiringViolation,
    Drift,
    UnknownMetaType,
    CoverageBelowTarget,
    ModuleSpecViolation,
    ModuleSpecDeprecated,
    SymlinkedPath,
}

impl GapKind {
    pub const ALL: [GapKind; 19] = [
        GapKind::InvalidMeta,
        GapKind::SchemaViolation,
        GapKind::MissingDoc,
        GapKind::EmptyDoc,
        GapKind::MissingSection,
        GapKind::MissingTestFile,
        GapKind::NoTests,
        GapKind::PendingTest,
        GapKind::MissingModuleSpec,
        GapKind::MissingModuleFolder,
        GapKind::OrphanModule,
        GapKind::OrphanSpec,
        GapKind::WiringViolation,
        GapKind::Drift,
        GapKind::UnknownMetaType,
        GapKind::CoverageBelowTarget,
        GapKind::ModuleSpecViolation,
        GapKind::ModuleSpecDeprecated,
        GapKind::SymlinkedPath,
    ];

    pub fn name(self) -> &'static str {
        match self {
            GapKind::InvalidMeta => "invalid_meta",
            GapKind::SchemaViolation => "schema_violation",
            GapKind::MissingDoc => "missing_doc",
            GapKind::EmptyDoc => "empty_doc",
            GapKind::MissingSection => "missing_section",
            GapKind::MissingTestFile => "missing_test_file",
            GapKind::NoTests => "no_tests",
            GapKind::PendingTest => "pending_test",
            GapKind::MissingModuleSpec => "missing_module_spec",
            GapKind::MissingModuleFolder => "missing_module_folder",
            GapKind::OrphanModule => "orphan_module",
            GapKind::OrphanSpec => "orphan_spec",
            GapKind::WiringViolation => "wiring_violation",
            GapKind::Drift => "drift",
            GapKind::UnknownMetaType => "unknown_meta_type",
            GapKind::CoverageBelowTarget => "coverage_below_target",
            GapKind::ModuleSpecViolation => "module_spec_violation",
            GapKind::ModuleSpecDeprecated => "module_spec_deprecated",
            GapKind::SymlinkedPath => "symlinked_path",
        }
    }

    /// One line: what the gap means.
    pub fn summary(self) -> &'static str {
        match self {
            GapKind::InvalidMeta => {
                "A meta file is not a YAML mapping with a `type` (syntax error, empty, or not a mapping)."
            }
            GapKind::SchemaViolation => {
                "A meta file does not match its type's schema, or names a path or schema instance that is not usable."
            }
            GapKind::MissingDoc => "A document a meta contract declares does not exist.",
            GapKind::EmptyDoc => "A declared document exists but holds only whitespace.",
            GapKind::MissingSection => "A document lacks a required section heading.",
            GapKind::MissingTestFile => "A test file a meta contract declares does not exist.",
            GapKind::NoTests => "A declared test file exists but defines no test.",
            GapKind::PendingTest => {
                "A generated test skeleton is still skipped/ignored as pending."
            }
            GapKind::MissingModuleSpec => {
                "A module in the registry has no spec file, or its spec file is missing."
            }
            GapKind::MissingModuleFolder => "A module in the registry has no folder on disk.",
            GapKind::OrphanModule => "A folder under the module root is not in the registry.",
            GapKind::OrphanSpec => "A spec file under the spec root is named by no module.",
            GapKind::WiringViolation => {
                "Declared wiring names something the named file does not contain."
            }
            GapKind::Drift => {
                "A generated file or managed section differs from what its meta renders."
            }
            GapKind::UnknownMetaType => {
                "A meta file's `type` is not one warden knows (a warning unless --strict; an error when it is a typo of a known type)."
            }
            GapKind::CoverageBelowTarget => {
                "A coverage report given with --coverage is below a threshold a meta file declares."
            }
            GapKind::ModuleSpecViolation => {
                "A module spec does not declare what its tier expectations require, or names an unknown schema_version."
            }
            GapKind::ModuleSpecDeprecated => {
                "A module in the registry uses a spec, or a spec section, marked `deprecated` (always a warning)."
            }
            GapKind::SymlinkedPath => {
                "A document, test file or folder a meta contract declares is, or goes through, a symbolic link (never read, never written)."
            }
        }
    }

    /// How to close the gap.
    pub fn fix(self) -> &'static str {
        match self {
            GapKind::InvalidMeta => {
                "fix the YAML at the reported line; give the file a `type:` (`warden contracts new TYPE` writes a template)"
            }
            GapKind::SchemaViolation => {
                "correct the named field (`warden schema meta.<type>` prints the format)"
            }
            GapKind::MissingDoc => {
                "`warden fix` (or `warden gen docs`) renders it from its meta; or write it by hand"
            }
            GapKind::EmptyDoc => {
                "`warden fix` renders it from its meta when it is empty; or write it by hand"
            }
            GapKind::MissingSection => {
                "add the heading; a managed document gets it from `warden gen docs`"
            }
            GapKind::MissingTestFile => {
                "`warden fix` (or `warden gen tests`) writes pending skeletons for its must_cover behaviours"
            }
            GapKind::NoTests => "add at least one test (`warden gen tests` adds pending skeletons)",
            GapKind::PendingTest => "fill in the test's body and remove its skip/ignore marker",
            GapKind::MissingModuleSpec => {
                "write the spec file and name it in `.warden/modules.yaml` (`spec:`)"
            }
            GapKind::MissingModuleFolder => {
                "create the module's folder, or fix `folder:` in `.warden/modules.yaml`"
            }
            GapKind::OrphanModule => {
                "add the folder to `.warden/modules.yaml`, or move it out of the module root"
            }
            GapKind::OrphanSpec => {
                "name the spec from a module in `.warden/modules.yaml`, or delete it"
            }
            GapKind::WiringViolation => {
                "add the missing entry to the named file, or correct the wiring in the module meta"
            }
            GapKind::Drift => {
                "`warden fix` (or `warden gen docs`) regenerates it; a hand edit inside a fence must move to the meta first"
            }
            GapKind::UnknownMetaType => {
                "correct the type (the message names the nearest known one; `warden contracts new --list`), or suppress it in `.warden/contracts.yaml`"
            }
            GapKind::CoverageBelowTarget => {
                "add tests for the uncovered lines or branches, or lower the declared threshold in the meta file (context names both numbers)"
            }
            GapKind::ModuleSpecViolation => {
                "declare the section the rule names in the module spec (context.rule), or relax its tier_expectations"
            }
            GapKind::ModuleSpecDeprecated => {
                "move to what `superseded_by` names (context) and remove the deprecated section, or the spec and its registry entry; suppress it with a reason in `.warden/contracts.yaml` until then"
            }
            GapKind::SymlinkedPath => {
                "replace the link with a file (or a folder) inside the repository, or point the meta at the real path"
            }
        }
    }

    /// Whether `warden fix` has a generator for the kind.
    pub fn fixable(self) -> bool {
        matches!(
            self,
            GapKind::MissingDoc | GapKind::EmptyDoc | GapKind::MissingTestFile | GapKind::Drift
        )
    }

    pub fn from_name(s: &str) -> Option<GapKind> {
        GapKind::ALL.into_iter().find(|k| k.name() == s)
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

/// Whether a gap fails the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Not in the baseline: fails the check (when an error).
    New,
    /// In the `--baseline` file: reported, does not fail.
    Baselined,
    /// Suppressed in `.warden/contracts.yaml` with a reason: reported, does not fail.
    Suppressed,
}

/// One gap.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Gap {
    /// Stable: `gap-` + 12 hex digits of sha256(kind, meta_file, target_file, key).
    pub id: String,
    pub kind: GapKind,
    pub severity: Severity,
    /// The meta type as written in the file (null when it could not be read).
    pub meta_type: Option<String>,
    /// The meta file that declares the contract (repository-relative).
    pub meta_file: String,
    /// Where the missing or wrong artifact is or must go (repository-relative).
    pub target_file: Option<String>,
    /// The structural key that tells gaps of one kind, meta and target apart (a heading, a test slug, a field).
    pub key: String,
    /// The line of `meta_file` that declares the contract (1-based).
    pub line: usize,
    pub message: String,
    pub fix: String,
    pub status: Status,
    /// The suppression's reason, when suppressed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed_because: Option<String>,
    /// Hints for a generator: required sections, must_cover, the problem.
    pub context: BTreeMap<String, Value>,
}

pub fn gap_id(kind: GapKind, meta_file: &str, target_file: Option<&str>, key: &str) -> String {
    let mut h = Hasher::new();
    h.part(kind.name().as_bytes())
        .part(meta_file.as_bytes())
        .part(target_file.unwrap_or("").as_bytes())
        .part(key.as_bytes());
    format!("gap-{}", &h.finish().hex()[..12])
}

/// A gap under construction.
#[derive(Debug, Clone)]
pub struct NewGap {
    pub kind: GapKind,
    pub meta_type: Option<String>,
    pub meta_file: String,
    pub target_file: Option<String>,
    pub key: String,
    pub line: usize,
    pub message: String,
    pub context: BTreeMap<String, Value>,
    /// Overrides the kind's severity ([`NewGap::finish`]).
    pub severity: Option<Severity>,
}

impl NewGap {
    pub fn new(kind: GapKind, meta_file: &str, message: impl Into<String>) -> Self {
        NewGap {
            kind,
            meta_type: None,
            meta_file: meta_file.to_string(),
            target_file: None,
            key: String::new(),
            line: 1,
            message: message.into(),
            context: BTreeMap::new(),
            severity: None,
        }
    }
    /// A severity other than the kind's (an unknown type that is a typo of
    /// a known one fails even without `strict`).
    pub fn severity(mut self, s: Severity) -> Self {
        self.severity = Some(s);
        self
    }
    pub fn meta_type(mut self, t: Option<&str>) -> Self {
        self.meta_type = t.map(str::to_string);
        self
    }
    pub fn target(mut self, t: impl Into<String>) -> Self {
        self.target_file = Some(t.into());
        self
    }
    pub fn key(mut self, k: impl Into<String>) -> Self {
        self.key = k.into();
        self
    }
    pub fn line(mut self, l: usize) -> Self {
        self.line = l.max(1);
        self
    }
    pub fn ctx(mut self, k: &str, v: impl Into<Value>) -> Self {
        self.context.insert(k.to_string(), v.into());
        self
    }

    pub fn finish(self, strict: bool) -> Gap {
        let severity = self.severity.unwrap_or(match self.kind {
            GapKind::UnknownMetaType if !strict => Severity::Warning,
            GapKind::ModuleSpecDeprecated => Severity::Warning,
            _ => Severity::Error,
        });
        Gap {
            id: gap_id(
                self.kind,
                &self.meta_file,
                self.target_file.as_deref(),
                &self.key,
            ),
            kind: self.kind,
            severity,
            meta_type: self.meta_type,
            meta_file: self.meta_file,
            target_file: self.target_file,
            key: self.key,
            line: self.line,
            message: self.message,
            fix: self.kind.fix().to_string(),
            status: Status::New,
            suppressed_because: None,
            context: self.context,
        }
    }
}

/// `meta-gaps.yaml`, seed shape v1.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct GapFile {
    pub version: u32,
    pub repo: GapFileRepo,
    pub gaps: Vec<GapFileEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct GapFileRepo {
    /// The repository root relative to the report file.
    pub root: String,
    /// The repository contract, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta_repo_contract: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct GapFileEntry {
    pub id: String,
    pub kind: String,
    pub meta_type: Option<String>,
    pub meta_file: String,
    pub target_file: Option<String>,
    pub context: BTreeMap<String, Value>,
}

pub const GAP_FILE: &str = "meta-gaps.yaml";

/// The report of the gaps that are not suppressed, sorted by id.
pub fn gap_file(gaps: &[Gap], repo_contract: Option<String>) -> GapFile {
    let mut entries: Vec<GapFileEntry> = gaps
        .iter()
        .filter(|g| g.status != Status::Suppressed)
        .map(|g| GapFileEntry {
            id: g.id.clone(),
            kind: g.kind.name().to_string(),
            meta_type: g.meta_type.clone(),
            meta_file: g.meta_file.clone(),
            target_file: g.target_file.clone(),
            context: g.context.clone(),
        })
        .collect();
    entries.sort_by(|a, b| a.id.cmp(&b.id));
    GapFile {
        version: 1,
        repo: GapFileRepo {
            root: ".".into(),
            meta_repo_contract: repo_contract,
        },
        gaps: entries,
    }
}

pub fn render_gap_file(f: &GapFile) -> String {
    let mut s = String::from(
        "# Written by `warden check`; do not edit. Removed when the check is clean.\n",
    );
    s.push_str(&serde_saphyr::to_string(f).unwrap_or_default());
    s
}

/// The gap ids in a baseline file: a `meta-gaps.yaml` or a `warden check
/// --format json` report (both carry `gaps[].id`).
pub fn baseline_ids(
    bytes: &[u8],
    file: &str,
) -> warden_core::Result<std::collections::BTreeSet<String>> {
    let v = warden_core::strict::parse_yaml(bytes, file)?;
    let Some(gaps) = v.get("gaps").and_then(Value::as_array) else {
        return Err(warden_core::Error::invalid(
            file,
            "gaps",
            "a baseline needs a `gaps` list",
            Some("pass a meta-gaps.yaml or a `warden check --format json` report".into()),
        ));
    };
    let mut ids = std::collections::BTreeSet::new();
    for (i, g) in gaps.iter().enumerate() {
        match g.get("id").and_then(Value::as_str) {
            Some(id) => {
                ids.insert(id.to_string());
            }
            None => {
                return Err(warden_core::Error::invalid(
                    file,
                    format!("gaps[{i}].id"),
                    "missing gap id",
                    Some("each baselined gap needs its `id`".into()),
                ));
            }
        }
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_depend_on_kind_meta_target_and_key_only() {
        let a = gap_id(GapKind::MissingDoc, "a.meta.yaml", Some("README.md"), "");
        assert_eq!(
            a,
            gap_id(GapKind::MissingDoc, "a.meta.yaml", Some("README.md"), "")
        );
        assert_ne!(
            a,
            gap_id(GapKind::EmptyDoc, "a.meta.yaml", Some("README.md"), "")
        );
        assert_ne!(
            a,
            gap_id(GapKind::MissingDoc, "b.meta.yaml", Some("README.md"), "")
        );
        assert_ne!(a, gap_id(GapKind::MissingDoc, "a.meta.yaml", None, ""));
        assert_ne!(
            a,
            gap_id(GapKind::MissingDoc, "a.meta.yaml", Some("README.md"), "x")
        );
        assert!(a.starts_with("gap-") && a.len() == 16);
    }

    #[test]
    fn every_kind_round_trips_its_name_and_has_a_fix() {
        for k in GapKind::ALL {
            assert_eq!(GapKind::from_name(k.name()), Some(k));
            assert_eq!(
                serde_json::to_value(k).expect("json"),
                Value::String(k.name().into())
            );
            assert!(!k.fix().is_empty() && !k.summary().is_empty());
        }
    }
}
