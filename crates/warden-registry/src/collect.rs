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
use std::collections::{BTreeMap, BTreeSet};
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
        // A manifest's new entry points map by their targets' source files
        // (and the manifest's own path), so they are looked at first.
        let manifest = kinds.manifests.is_match(path);
        let declared = if manifest {
            window.artifacts_for(path, &owners, &globs)?
        } else {
            0
        };
        if owners.is_empty() {
            if declared == 0 {
                window.notes.push(note(
                    "unmapped",
                    Some(path),
                    format!("{path} changed but no capability's `paths` matches it"),
                    false,
                ));
            }
            continue;
        }
        if let Some(kind) = kinds.evidence_kind(path) {
            window.evidence_for(path, &owners, kind);
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

    /// artifacts: entry points a manifest declares now but did not at
    /// `since`, each suggested to every capability whose `paths` match its
    /// target's source file or the manifest (a new entry point neither
    /// matches is an `unmapped` note). How many new entry points there are.
    fn artifacts_for(&mut self, path: &str, owners: &[usize], globs: &EntryGlobs) -> Result<usize> {
        let since = self.since;
        let root = self.git.dir().to_path_buf();
        let now = std::fs::read(root.join(path)).ok();
        let before = self.git.show_file(since, path)?;
        let old = entry_points(path, before.as_deref());
        let new_points: Vec<(String, Vec<String>)> = declared(path, now.as_deref())
            .into_iter()
            .filter(|(art, _)| !old.contains(art))
            .collect();
        let mut hits = Vec::new();
        for (art, candidates) in &new_points {
            let sources = existing_or_all(candidates, |c| root.join(c).is_file());
            let mut mine: Vec<usize> = owners.to_vec();
            for src in &sources {
                mine.extend(globs.owners(src, &mut hits));
            }
            mine.sort_unstable();
            mine.dedup();
            if mine.is_empty() {
                self.notes.push(note(
                    "unmapped",
                    Some(path),
                    unmapped_point(path, art, &sources),
                    false,
                ));
            }
            let target = match sources.as_slice() {
                [] => String::new(),
                s => format!(" ({})", s.join(", ")),
            };
            for i in mine {
                let e = &self.reg.entries[i];
                if !in_scope(self.scope, &e.meta.id)
                    || e.meta.availability.current_artifacts.contains(art)
                {
                    continue;
                }
                self.artifacts.push(RegistryPatch {
                    capability_id: e.meta.id.clone(),
                    kind: PatchKind::ArtifactAppend,
                    confidence: Confidence::High,
                    rationale: format!(
                        "{path} declares the new entry point {art}{target} since {since}"
                    ),
                    field_path: "availability.current_artifacts".into(),
                    value: None,
                    append: Some(Value::String(art.clone())),
                    evidence_citations: vec![path.to_string()],
                });
            }
        }
        Ok(new_points.len())
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

/// The `unmapped` note of a new entry point no capability's `paths` match.
fn unmapped_point(path: &str, art: &str, sources: &[String]) -> String {
    let from = match sources {
        [] => String::new(),
        s => format!(" (source {})", s.join(", ")),
    };
    format!(
        "{path} declares the new entry point {art}{from}, but no capability's `paths` matches the manifest or the source"
    )
}

/// The candidates that exist (by `exists`); all of them when none does.
fn existing_or_all(candidates: &[String], exists: impl Fn(&str) -> bool) -> Vec<String> {
    let found: Vec<String> = candidates.iter().filter(|c| exists(c)).cloned().collect();
    if found.is_empty() {
        candidates.to_vec()
    } else {
        found
    }
}

/// The entry points a manifest declares: `py-script:NAME`
/// (`[project.scripts]`, `[tool.poetry.scripts]`), `cargo-bin:NAME`
/// (`[[bin]]`), `npm-bin:NAME` (`bin`). Unparsable or absent: none.
pub fn entry_points(path: &str, bytes: Option<&[u8]>) -> BTreeSet<String> {
    declared(path, bytes).into_keys().collect()
}

/// [`entry_points`], each with the repository-relative source files its
/// target may be in: a `[[bin]]`'s `path` (else Cargo's default places:
/// `src/main.rs` for the package's own name, `src/bin/NAME.rs`,
/// `src/bin/NAME/main.rs`), a `package.json` `bin` file, a Python script's
/// module (`pkg/mod.py`, `pkg/mod/__init__.py`, and the same under `src/`),
/// or a Poetry file script's `reference`; relative to the manifest's folder.
pub fn declared(path: &str, bytes: Option<&[u8]>) -> BTreeMap<String, Vec<String>> {
    let Some(text) = bytes.and_then(|b| std::str::from_utf8(b).ok()) else {
        return BTreeMap::new();
    };
    let (dir, name) = match path.rsplit_once('/') {
        Some((d, n)) => (d, n),
        None => ("", path),
    };
    let rel = |targets: Vec<String>| -> Vec<String> {
        targets.iter().filter_map(|t| join_rel(dir, t)).collect()
    };
    let points = match name {
        "pyproject.toml" => python_scripts(text),
        "Cargo.toml" => cargo_bins(text),
        "package.json" => npm_bins(text),
        _ => Vec::new(),
    };
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (art, targets) in points {
        out.entry(art).or_default().extend(rel(targets));
    }
    out
}

/// `dir/rel`, lexically normalised (`.` and `..` resolved); None when it
/// leaves the repository or is absolute.
fn join_rel(dir: &str, rel: &str) -> Option<String> {
    if rel.starts_with('/') || rel.contains('\\') {
        return None;
    }
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for p in rel.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// `[project.scripts]` and `[tool.poetry.scripts]`: name -> the module's
/// candidate files.
fn python_scripts(text: &str) -> Vec<(String, Vec<String>)> {
    let Ok(v) = toml::from_str::<toml::Table>(text) else {
        return Vec::new();
    };
    let tables = [
        v.get("project").and_then(|p| p.get("scripts")),
        v.get("tool")
            .and_then(|t| t.get("poetry"))
            .and_then(|p| p.get("scripts")),
    ];
    let mut out = Vec::new();
    for t in tables
        .into_iter()
        .flatten()
        .filter_map(toml::Value::as_table)
    {
        for (k, spec) in t {
            out.push((format!("py-script:{k}"), python_targets(spec)));
        }
    }
    out
}

/// Where a script's code is: `pkg.mod:func` (or a Poetry table's
/// `callable`) -> its module's candidate files; a Poetry `type = "file"`
/// script -> its `reference`.
fn python_targets(spec: &toml::Value) -> Vec<String> {
    let field = |k: &str| spec.get(k).and_then(toml::Value::as_str);
    if field("type") == Some("file") {
        return field("reference").map(str::to_string).into_iter().collect();
    }
    let Some(reference) = spec.as_str().or_else(|| field("callable")) else {
        return Vec::new();
    };
    let module = reference.split(':').next().unwrap_or("").trim();
    if module.is_empty() || !module.split('.').all(|p| !p.is_empty()) {
        return Vec::new();
    }
    let m = module.replace('.', "/");
    vec![
        format!("{m}.py"),
        format!("{m}/__init__.py"),
        format!("src/{m}.py"),
        format!("src/{m}/__init__.py"),
    ]
}

/// `[[bin]]`: name -> its `path`, or Cargo's default places for it.
fn cargo_bins(text: &str) -> Vec<(String, Vec<String>)> {
    let Ok(v) = toml::from_str::<toml::Table>(text) else {
        return Vec::new();
    };
    let package = v
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(toml::Value::as_str);
    let Some(bins) = v.get("bin").and_then(toml::Value::as_array) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for b in bins {
        let Some(n) = b.get("name").and_then(toml::Value::as_str) else {
            continue;
        };
        let targets = match b.get("path").and_then(toml::Value::as_str) {
            Some(p) => vec![p.to_string()],
            None => {
                let mut t = Vec::new();
                if package == Some(n) {
                    t.push("src/main.rs".to_string());
                }
                t.push(format!("src/bin/{n}.rs"));
                t.push(format!("src/bin/{n}/main.rs"));
                t
            }
        };
        out.push((format!("cargo-bin:{n}"), targets));
    }
    out
}

/// `bin`: a file (named after the package) or a map of names to files.
fn npm_bins(text: &str) -> Vec<(String, Vec<String>)> {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return Vec::new();
    };
    match v.get("bin") {
        Some(Value::String(file)) => v
            .get("name")
            .and_then(Value::as_str)
            .map(|n| vec![(format!("npm-bin:{n}"), vec![file.clone()])])
            .unwrap_or_default(),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, f)| {
                let files = f.as_str().map(str::to_string).into_iter().collect();
                (format!("npm-bin:{k}"), files)
            })
            .collect(),
        _ => Vec::new(),
    }
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

    #[test]
    fn entry_points_name_their_source_files() {
        let cargo = b"[package]\nname='w'\n[[bin]]\nname='w'\n[[bin]]\nname='x'\npath='./src/x/../x/main.rs'\n";
        let d = declared("tools/Cargo.toml", Some(cargo));
        assert_eq!(
            d,
            BTreeMap::from([
                (
                    "cargo-bin:w".to_string(),
                    vec![
                        "tools/src/main.rs".to_string(),
                        "tools/src/bin/w.rs".to_string(),
                        "tools/src/bin/w/main.rs".to_string()
                    ]
                ),
                (
                    "cargo-bin:x".to_string(),
                    vec!["tools/src/x/main.rs".to_string()]
                ),
            ])
        );
        let py = b"[project.scripts]\nt = 'pkg.cli:main'\n[tool.poetry.scripts]\nf = {reference = 'bin/f.sh', type = 'file'}\nc = {callable = 'q:run'}\n";
        let d = declared("pyproject.toml", Some(py));
        assert_eq!(d["py-script:t"][0], "pkg/cli.py");
        assert_eq!(d["py-script:t"][2], "src/pkg/cli.py");
        assert_eq!(d["py-script:f"], vec!["bin/f.sh".to_string()]);
        assert_eq!(d["py-script:c"][1], "q/__init__.py");
        let npm = br#"{"name":"pkg","bin":{"a":"./bin/a.js","up":"../../x.js"}}"#;
        let d = declared("web/package.json", Some(npm));
        assert_eq!(d["npm-bin:a"], vec!["web/bin/a.js".to_string()]);
        assert!(
            d["npm-bin:up"].is_empty(),
            "a path out of the repository is no source"
        );
        assert_eq!(
            existing_or_all(&["a".into(), "b".into()], |c| c == "b"),
            vec!["b".to_string()]
        );
        assert_eq!(
            existing_or_all(&["a".into()], |_| false),
            vec!["a".to_string()]
        );
    }
}
