//! The deterministic signal collectors (T02). The
//! list is explicit ([`COLLECTORS`]); each is a pure function of the registry
//! and the files changed since `--from-git-since REF` (working tree against
//! REF, deleted files left out).
//!
//! A changed path maps to every capability whose `paths` globs match it; a
//! path that matches no capability is a report line (`unmapped`), never a
//! patch. An item already listed is never suggested again, so a second run
//! suggests nothing.

use crate::model::{INDEX_PATH, Index, REGISTRY_DIR};
use crate::patch::{Confidence, PatchKind, RegistryPatch};
use crate::registry::Registry;
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;
use warden_core::git::Git;
use warden_core::{Error, Result};

/// Every collector: name and what it suggests.
pub const COLLECTORS: &[(&str, &str)] = &[
    (
        "index_row",
        "an entry without an index row -> index_row_add",
    ),
    (
        "vector_drift",
        "an index row whose vector differs from its entry's -> vector_sync",
    ),
    (
        "workflows",
        "a changed .github/workflows/* or .gitea/workflows/* file -> evidence_append evidence.tests",
    ),
    (
        "tests",
        "a changed test file (tests/**, test_*.py, *_test.*, *.test.*, *.spec.*) -> evidence_append evidence.tests",
    ),
    (
        "docs",
        "a changed docs/** file -> evidence_append evidence.documentation",
    ),
    (
        "entry_points",
        "a new pyproject.toml [project.scripts] / Cargo.toml [[bin]] / package.json bin -> artifact_append availability.current_artifacts",
    ),
    (
        "stale_updated",
        "the index's `updated` is older than the last commit touching registry/ -> a note (bumped on the next write)",
    ),
    (
        "missing_entry",
        "an index row whose entry file is missing -> a blocking note (registry validate fails)",
    ),
    (
        "unmapped",
        "a changed path no capability's `paths` matches -> a note",
    ),
];

/// A report line that is not a patch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Note {
    pub collector: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub message: String,
    /// Blocks writing until fixed (missing_entry).
    pub blocking: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Collected {
    pub patches: Vec<RegistryPatch>,
    pub notes: Vec<Note>,
    /// The changed paths of the window (empty without one).
    pub changed: Vec<String>,
}

fn glob(g: &str) -> Option<globset::Glob> {
    GlobBuilder::new(g).literal_separator(true).build().ok()
}

fn set(globs: &[&str]) -> GlobSet {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        if let Some(g) = glob(g) {
            b.add(g);
        }
    }
    b.build().unwrap_or_else(|_| GlobSet::empty())
}

fn note(collector: &str, path: Option<&str>, message: String, blocking: bool) -> Note {
    Note {
        collector: collector.into(),
        path: path.map(str::to_string),
        message,
        blocking,
    }
}

fn evidence(id: &str, key: &str, path: &str, why: String) -> RegistryPatch {
    RegistryPatch {
        capability_id: id.into(),
        kind: PatchKind::EvidenceAppend,
        confidence: Confidence::High,
        rationale: why,
        field_path: format!("evidence.{key}"),
        value: None,
        append: Some(Value::String(path.into())),
        evidence_citations: vec![path.into()],
    }
}

/// Run every collector. `scope`: only this capability's patches.
pub fn collect(
    reg: &Registry,
    git: &Git,
    since: Option<&str>,
    scope: Option<&str>,
) -> Result<Collected> {
    let changed = changed_since(git, since)?;
    collect_with(reg, git, since, scope, changed)
}

/// The files changed since `since` (working tree against it, deleted files
/// left out), once `since` is known to be a commit; None without `since`.
/// Independent of the registry, so a caller can ask git while the registry
/// loads.
pub fn changed_since(git: &Git, since: Option<&str>) -> Result<Option<Vec<String>>> {
    let Some(since) = since else {
        return Ok(None);
    };
    check_rev(git, since)?;
    Ok(Some(git.changed_in_worktree(since, false)?))
}

/// [`collect`] given what [`changed_since`] answered for the same `since`.
pub fn collect_with(
    reg: &Registry,
    git: &Git,
    since: Option<&str>,
    scope: Option<&str>,
    changed: Option<Vec<String>>,
) -> Result<Collected> {
    let mut out = Collected::default();
    // index_row, vector_drift, missing_entry: the index against the entries.
    if let Some(ix) = &reg.index {
        out.patches = index_patches(reg, ix, scope);
        out.notes = missing_entries(reg, ix, scope);
        out.notes.extend(stale_updated(git, ix)?);
    }
    let (Some(since), Some(changed)) = (since, changed) else {
        return Ok(out);
    };
    let mut window = Window {
        reg,
        git,
        since,
        scope,
        notes: Vec::new(),
        evidence: Vec::new(),
        artifacts: Vec::new(),
    };
    let kinds = Kinds::new();
    let globs = EntryGlobs::new(reg);
    let mut hits = Vec::new();
    for path in &changed {
        if path.starts_with("registry/") || warden_own(path) {
            continue;
        }
        let owners = globs.owners(path, &mut hits);
        if owners.is_empty() {
            window.notes.push(note(
                "unmapped",
                Some(path),
                format!("{path} changed but no capability's `paths` matches it"),
                false,
            ));
            continue;
        }
        if let Some(kind) = kinds.evidence_kind(path) {
            window.evidence_for(path, &owners, kind);
        }
        if kinds.manifests.is_match(path) {
            window.artifacts_for(path, &owners)?;
        }
    }
    out.notes.append(&mut window.notes);
    out.patches.extend(window.sorted_patches());
    out.changed = changed;
    Ok(out)
}

/// Whether `path` is warden's own bookkeeping (`.ledger/`, `.warden/`,
/// `.runs/`): every warden run changes the ledger, which is no news about a
/// capability (before, each maintain reported it as `unmapped`).
fn warden_own(path: &str) -> bool {
    warden_core::paths::PROTECTED
        .iter()
        .any(|d| path.strip_prefix(d).is_some_and(|r| r.starts_with('/')))
}

fn in_scope(scope: Option<&str>, id: &str) -> bool {
    scope.is_none_or(|s| s == id)
}

/// index_row and vector_drift: a patch for each entry the index lacks or
/// places at another maturity.
fn index_patches(reg: &Registry, ix: &Index, scope: Option<&str>) -> Vec<RegistryPatch> {
    // The first row of each id, as `Index::row` finds it.
    let mut rows: std::collections::HashMap<&str, &crate::model::IndexRow> =
        std::collections::HashMap::with_capacity(ix.capabilities.len());
    for r in &ix.capabilities {
        rows.entry(r.id.as_str()).or_insert(r);
    }
    let mut patches = Vec::new();
    for e in &reg.entries {
        if !in_scope(scope, &e.meta.id) {
            continue;
        }
        match rows.get(e.meta.id.as_str()).copied() {
            None => patches.push(RegistryPatch {
                capability_id: e.meta.id.clone(),
                kind: PatchKind::IndexRowAdd,
                confidence: Confidence::High,
                rationale: format!("{} has no row in the index", e.path),
                field_path: "index.capabilities".into(),
                value: Some(Value::String(e.path.clone())),
                append: None,
                evidence_citations: vec![],
            }),
            Some(row) if row.entry == e.path && row.vector != e.meta.maturity.vector() => patches
                .push(RegistryPatch {
                    capability_id: e.meta.id.clone(),
                    kind: PatchKind::VectorSync,
                    confidence: Confidence::High,
                    rationale: format!(
                        "the index says {} but {} is at {}",
                        row.vector,
                        e.path,
                        e.meta.maturity.vector()
                    ),
                    field_path: "index.vector".into(),
                    value: Some(Value::String(e.meta.maturity.vector().to_string())),
                    append: None,
                    evidence_citations: vec![],
                }),
            Some(_) => {}
        }
    }
    patches
}

/// missing_entry: an index row whose entry file is gone (blocks writing).
fn missing_entries(reg: &Registry, ix: &Index, scope: Option<&str>) -> Vec<Note> {
    ix.capabilities
        .iter()
        .filter(|row| {
            in_scope(scope, &row.id) && reg.originals.get(&row.entry).is_none_or(Option::is_none)
        })
        .map(|row| {
            note(
                "missing_entry",
                Some(&row.entry),
                format!(
                    "capability \"{}\": its entry file {} is missing; restore it or remove the row",
                    row.id, row.entry
                ),
                true,
            )
        })
        .collect()
}

/// stale_updated: registry/ changed after the index's `updated` date.
fn stale_updated(git: &Git, ix: &Index) -> Result<Option<Note>> {
    let Some(last) = last_touch(git, REGISTRY_DIR, &ix.updated)? else {
        return Ok(None);
    };
    if last <= ix.updated {
        return Ok(None);
    }
    Ok(Some(note(
        "stale_updated",
        Some(INDEX_PATH),
        format!(
            "`updated` is {} but registry/ last changed on {last}; the next write bumps it",
            ix.updated
        ),
        false,
    )))
}

/// The kinds of changed file that count as evidence, and the manifests.
struct Kinds {
    workflows: GlobSet,
    tests: GlobSet,
    docs: GlobSet,
    manifests: GlobSet,
}

/// (collector, evidence key, what the file is).
type EvidenceKind = (&'static str, &'static str, &'static str);

impl Kinds {
    fn new() -> Self {
        Self {
            workflows: set(&[".github/workflows/*", ".gitea/workflows/*"]),
            tests: set(&[
                "tests/**",
                "**/tests/**",
                "test/**",
                "**/test/**",
                "**/test_*.py",
                "**/*_test.*",
                "**/*.test.*",
                "**/*.spec.*",
            ]),
            docs: set(&["docs/**"]),
            manifests: set(&[
                "pyproject.toml",
                "**/pyproject.toml",
                "Cargo.toml",
                "**/Cargo.toml",
                "package.json",
                "**/package.json",
            ]),
        }
    }

    fn evidence_kind(&self, path: &str) -> Option<EvidenceKind> {
        if self.workflows.is_match(path) {
            Some(("workflows", "tests", "a CI workflow"))
        } else if self.tests.is_match(path) {
            Some(("tests", "tests", "a test"))
        } else if self.docs.is_match(path) {
            Some(("docs", "documentation", "documentation"))
        } else {
            None
        }
    }
}

/// One set of every entry's globs; glob i belongs to entry `owner[i]`.
struct EntryGlobs {
    all: GlobSet,
    owner: Vec<usize>,
}

impl EntryGlobs {
    fn new(reg: &Registry) -> Self {
        let mut owner: Vec<usize> = Vec::new();
        let mut all = GlobSetBuilder::new();
        for (i, e) in reg.entries.iter().enumerate() {
            for g in &e.meta.paths {
                if let Some(g) = glob(g) {
                    all.add(g);
                    owner.push(i);
                }
            }
        }
        let all = all.build().unwrap_or_else(|_| GlobSet::empty());
        Self { all, owner }
    }

    /// The entries whose `paths` match `path`, in entry order.
    fn owners(&self, path: &str, hits: &mut Vec<usize>) -> Vec<usize> {
        self.all.matches_into(path, hits);
        let mut owners: Vec<usize> = hits.iter().map(|g| self.owner[*g]).collect();
        owners.sort_unstable();
        owners.dedup();
        owners
    }
}

/// The change window's collectors and what they found.
struct Window<'a> {
    reg: &'a Registry,
    git: &'a Git,
    since: &'a str,
    scope: Option<&'a str>,
    notes: Vec<Note>,
    evidence: Vec<(&'static str, RegistryPatch)>,
    artifacts: Vec<RegistryPatch>,
}

impl Window<'_> {
    /// workflows, tests, docs: cite `path` in each owner that does not list it.
    fn evidence_for(&mut self, path: &str, owners: &[usize], kind: EvidenceKind) {
        let (c, key, what) = kind;
        let since = self.since;
        for &i in owners {
            let e = &self.reg.entries[i];
            if !in_scope(self.scope, &e.meta.id) {
                continue;
            }
            let listed = e
                .meta
                .evidence
                .get(key)
                .is_some_and(|l| l.iter().any(|x| x == path));
            if !listed {
                self.evidence.push((c, evidence(
                    &e.meta.id,
                    key,
                    path,
                    format!("{path} ({what}) changed since {since} and matches this capability's paths"),
                )));
            }
        }
    }

    /// artifacts: entry points a manifest declares now but did not at `since`.
    fn artifacts_for(&mut self, path: &str, owners: &[usize]) -> Result<()> {
        let since = self.since;
        let now = std::fs::read(git_root_join(self.git, path)).ok();
        let before = self.git.show_file(since, path)?;
        let new_points: Vec<String> = {
            let a = entry_points(path, now.as_deref());
            let b = entry_points(path, before.as_deref());
            a.difference(&b).cloned().collect()
        };
        for art in new_points {
            for &i in owners {
                let e = &self.reg.entries[i];
                if !in_scope(self.scope, &e.meta.id)
                    || e.meta.availability.current_artifacts.contains(&art)
                {
                    continue;
                }
                self.artifacts.push(RegistryPatch {
                    capability_id: e.meta.id.clone(),
                    kind: PatchKind::ArtifactAppend,
                    confidence: Confidence::High,
                    rationale: format!("{path} declares the new entry point {art} since {since}"),
                    field_path: "availability.current_artifacts".into(),
                    value: None,
                    append: Some(Value::String(art.clone())),
                    evidence_citations: vec![path.to_string()],
                });
            }
        }
        Ok(())
    }

    /// Collector order, then capability, then path: deterministic (G7).
    fn sorted_patches(&mut self) -> Vec<RegistryPatch> {
        let order = |c: &str| COLLECTORS.iter().position(|(n, _)| *n == c).unwrap_or(99);
        let item = |p: &RegistryPatch| {
            p.append
                .as_ref()
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let mut ev = std::mem::take(&mut self.evidence);
        ev.sort_by_key(|(c, p)| (order(c), p.capability_id.clone(), item(p)));
        let mut arts = std::mem::take(&mut self.artifacts);
        arts.sort_by_key(|p| (p.capability_id.clone(), item(p)));
        ev.into_iter().map(|(_, p)| p).chain(arts).collect()
    }
}

fn git_root_join(git: &Git, path: &str) -> std::path::PathBuf {
    git.dir().join(path)
}

/// Refuse a revision that does not name a commit (exit 2, naming the flag).
fn check_rev(git: &Git, rev: &str) -> Result<()> {
    if git.resolve(rev)?.is_some() {
        return Ok(());
    }
    Err(Error::invalid(
        "(command line)",
        "--from-git-since",
        format!("\"{rev}\" is not a commit in this repository"),
        Some("give a branch, tag or commit, e.g. origin/main or HEAD~3".into()),
    ))
}

/// The day (YYYY-MM-DD) of the last commit after the day `after`
/// (YYYY-MM-DD) that touched `path`; None when there is none (the walk stops
/// at older commits, so a long history costs nothing).
fn last_touch(git: &Git, path: &str, after: &str) -> Result<Option<String>> {
    let since = format!("{after}T23:59:59Z");
    Ok(git.last_change(path, Some(&since))?.map(|(_, day)| day))
}

/// The entry points a manifest declares: `py-script:NAME`
/// (`[project.scripts]`, `[tool.poetry.scripts]`), `cargo-bin:NAME`
/// (`[[bin]]`), `npm-bin:NAME` (`bin`). Unparsable or absent: none.
pub fn entry_points(path: &str, bytes: Option<&[u8]>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Some(text) = bytes.and_then(|b| std::str::from_utf8(b).ok()) else {
        return out;
    };
    let name = path.rsplit('/').next().unwrap_or(path);
    match name {
        "pyproject.toml" => {
            if let Ok(v) = toml::from_str::<toml::Table>(text) {
                for t in [
                    v.get("project").and_then(|p| p.get("scripts")),
                    v.get("tool")
                        .and_then(|t| t.get("poetry"))
                        .and_then(|p| p.get("scripts")),
                ]
                .into_iter()
                .flatten()
                {
                    if let Some(t) = t.as_table() {
                        out.extend(t.keys().map(|k| format!("py-script:{k}")));
                    }
                }
            }
        }
        "Cargo.toml" => {
            if let Ok(v) = toml::from_str::<toml::Table>(text)
                && let Some(bins) = v.get("bin").and_then(|b| b.as_array())
            {
                for b in bins {
                    if let Some(n) = b.get("name").and_then(|n| n.as_str()) {
                        out.insert(format!("cargo-bin:{n}"));
                    }
                }
            }
        }
        "package.json" => {
            if let Ok(v) = serde_json::from_str::<Value>(text) {
                match v.get("bin") {
                    Some(Value::String(_)) => {
                        if let Some(n) = v.get("name").and_then(Value::as_str) {
                            out.insert(format!("npm-bin:{n}"));
                        }
                    }
                    Some(Value::Object(m)) => {
                        out.extend(m.keys().map(|k| format!("npm-bin:{k}")));
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_points_of_the_three_manifests() {
        let py = b"[project]\nname='x'\n[project.scripts]\ntool = 'x:main'\n";
        assert_eq!(
            entry_points("a/pyproject.toml", Some(py)),
            BTreeSet::from(["py-script:tool".to_string()])
        );
        let cargo = b"[package]\nname='w'\n[[bin]]\nname = \"warden\"\npath='src/main.rs'\n";
        assert_eq!(
            entry_points("Cargo.toml", Some(cargo)),
            BTreeSet::from(["cargo-bin:warden".to_string()])
        );
        let npm = br#"{"name":"pkg","bin":{"a":"x.js","b":"y.js"}}"#;
        assert_eq!(entry_points("package.json", Some(npm)).len(), 2);
        let npm = br#"{"name":"pkg","bin":"x.js"}"#;
        assert!(entry_points("package.json", Some(npm)).contains("npm-bin:pkg"));
        assert!(entry_points("Cargo.toml", Some(b"not toml [")).is_empty());
        assert!(entry_points("Cargo.toml", None).is_empty());
    }
}
