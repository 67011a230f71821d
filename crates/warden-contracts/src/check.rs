//! Phase 2: `warden check` — every meta file against the repository, as a list
//! of gaps with stable ids (without the seed script's ten
//! defects: locations are resolved against the repository root, a README's
//! location is a directory, `meta.yaml` files are scanned, an empty file is a
//! gap, vendored trees are skipped, and paths in the report are relative).
//! Reading only: the one file it writes is the gap report ([`write_gap_file`]).

use crate::config::ContractsConfig;
use crate::gaps::{Gap, GapKind, NewGap, Severity, Status};
use crate::meta::{self, MetaType};
use crate::render::{self, Refresh};
use crate::skeleton::{self, Lang};
use rayon::prelude::*;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use warden_core::Result;
use warden_core::text::shown;

pub const CHECK_SCHEMA_ID: &str = "warden.check/v1";

/// One meta file, read and typed.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub path: String,
    pub bytes: Vec<u8>,
    pub text: String,
    /// The fields, typed by `meta_type`.
    pub body: meta::Body,
    pub meta_type: MetaType,
    /// The type as written (a seed alias stays an alias).
    pub type_name: String,
}

#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Unknown meta types are errors (overrides the config's `strict` when true).
    pub strict: bool,
    /// YYYY-MM-DD, for suppression expiry.
    pub today: String,
    /// Gap ids from a baseline file: reported, not failing.
    pub baseline: Option<BTreeSet<String>>,
    /// Coverage reports (`--coverage`): the declared thresholds of their
    /// kinds are checked; without one, thresholds are not.
    pub coverage: Vec<crate::coverage::Report>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(
    title = "warden check report",
    description = "`warden check --format json`: every gap of the meta contracts"
)]
pub struct CheckReport {
    /// Always "warden.check/v1".
    pub schema: String,
    /// The generator that checked.
    pub generator: String,
    /// How many meta files were found.
    pub meta_files: usize,
    /// The repository contract (`repo_contract`), when there is one.
    pub repo_contract: Option<String>,
    /// No gap fails the check (errors that are neither suppressed nor baselined).
    pub clean: bool,
    pub summary: Summary,
    /// Sorted by id.
    pub gaps: Vec<Gap>,
    /// `--run-tests`: the test command's result (null when not run).
    pub tests: Option<crate::run_tests::TestRun>,
}

#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct Summary {
    /// New errors: these fail the check.
    pub failing: usize,
    pub warnings: usize,
    pub baselined: usize,
    pub suppressed: usize,
}

/// Every meta file's path (less the config's `exclude`), sorted.
pub fn meta_paths(root: &Path) -> Vec<String> {
    let excluded = ContractsConfig::load(root)
        .map(|c| c.excluded())
        .unwrap_or_else(|_| globset::GlobSet::empty());
    crate::discover::meta_files(root)
        .into_iter()
        .filter(|p| !excluded.is_match(p))
        .collect()
}

/// Read every meta file (less the config's `exclude`). Files that cannot be
/// typed become gaps.
pub fn load_all(root: &Path, strict: bool) -> (Vec<Loaded>, Vec<Gap>) {
    let paths = meta_paths(root);
    // Parsed in parallel; collected in path order.
    let results: Vec<std::result::Result<Loaded, Box<NewGap>>> = paths
        .par_iter()
        .map(|p| load_one(root, p).map_err(Box::new))
        .collect();
    let mut loaded = Vec::new();
    let mut gaps = Vec::new();
    for r in results {
        match r {
            Ok(l) => loaded.push(l),
            Err(g) => gaps.push(g.finish(strict)),
        }
    }
    (loaded, gaps)
}

// The error is the gap itself, built once per bad file; boxed by the caller.
#[allow(clippy::result_large_err)]
fn load_one(root: &Path, path: &str) -> std::result::Result<Loaded, NewGap> {
    let bytes = crate::discover::read(&root.join(path)).map_err(|e| {
        NewGap::new(GapKind::InvalidMeta, path, format!("cannot read: {e}"))
            .ctx("problem", e.to_string())
    })?;
    load_bytes(path, bytes)
}

impl Loaded {
    /// The fields as `T`, when the meta file is of `T`'s type.
    pub fn body<T: meta::MetaBody>(&self) -> Option<&T> {
        T::of(&self.body)
    }
}

/// Type one meta file from its bytes; a file that cannot be typed is a gap.
///
/// A well-formed meta of a common type is parsed straight into its struct
/// ([`meta::Body::from_yaml_direct`], its type read by [`crate::scan::hint`]);
/// anything else, and every file that fails there, goes through a parsed
/// value, which words the gap (file, line, field, fix).
#[allow(clippy::result_large_err)]
pub fn load_bytes(path: &str, bytes: Vec<u8>) -> std::result::Result<Loaded, NewGap> {
    if let Some((meta_type, type_name, body)) = load_direct(path, &bytes) {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        return Ok(Loaded {
            path: path.to_string(),
            bytes,
            text,
            body,
            meta_type,
            type_name,
        });
    }
    load_value(path, bytes)
}

/// The direct parse of [`load_bytes`], when it decides.
fn load_direct(path: &str, bytes: &[u8]) -> Option<(MetaType, String, meta::Body)> {
    let text = warden_core::strict::text(bytes, path).ok()?;
    let hint = crate::scan::hint(text)?;
    let meta_type = MetaType::from_name(hint.type_name)?;
    let body = meta::Body::from_yaml_direct(meta_type, text)?;
    Some((meta_type, hint.type_name.to_string(), body))
}

/// [`load_bytes`] through a parsed value.
#[allow(clippy::result_large_err)]
fn load_value(path: &str, bytes: Vec<u8>) -> std::result::Result<Loaded, NewGap> {
    let value = warden_core::strict::parse_yaml(&bytes, path).map_err(|e| {
        let line = e
            .to_string()
            .split("line ")
            .nth(1)
            .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        NewGap::new(GapKind::InvalidMeta, path, e.to_string())
            .line(line)
            .ctx("problem", e.to_string())
    })?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let Some(obj) = value.as_object() else {
        let what = if value.is_null() {
            "empty"
        } else {
            "not a mapping"
        };
        return Err(NewGap::new(
            GapKind::InvalidMeta,
            path,
            format!(
                "{path}: the meta file is {what}; a meta contract is a YAML mapping with a `type`"
            ),
        )
        .ctx("problem", format!("meta file is {what}")));
    };
    let Some(type_name) = obj.get("type").and_then(Value::as_str).map(str::to_string) else {
        // A `type` that is there but not text (a list, a number) is not missing.
        let (message, problem) = match obj.get("type") {
            None | Some(Value::Null) => {
                (format!("{path}: no `type` field"), "no type field".into())
            }
            Some(v) => {
                let found = match v {
                    Value::Array(_) => "a list".to_string(),
                    Value::Object(_) => "a mapping".to_string(),
                    other => other.to_string(),
                };
                (
                    format!(
                        "{path}: type: {found} is not text; write the type's name, e.g. `type: subsystem_readme`"
                    ),
                    format!("type is {found}, not text"),
                )
            }
        };
        return Err(NewGap::new(GapKind::InvalidMeta, path, message).ctx("problem", problem));
    };
    let type_name = type_name.as_str();
    let Some(meta_type) = MetaType::from_name(type_name) else {
        return Err(unknown_type(path, &text, type_name));
    };
    let body = meta::Body::from_value(meta_type, &value, path).map_err(|e| {
        let field = match &e {
            warden_core::Error::Invalid { field, .. } => field.clone(),
            _ => String::new(),
        };
        NewGap::new(GapKind::SchemaViolation, path, e.to_string())
            .meta_type(Some(type_name))
            .key(field.clone())
            .line(field_line(&text, &field))
            .ctx("problem", e.to_string())
            .ctx("field", field)
    })?;
    Ok(Loaded {
        path: path.to_string(),
        bytes,
        text,
        body,
        meta_type,
        type_name: type_name.to_string(),
    })
}

/// An unknown `type`. A project may keep its own `*.meta.yaml` files, so an
/// unknown type is a warning (an error with `strict`); but one that is a
/// typo of a known type (`subsytem_readme`) is an error whatever `strict`
/// says: it is that type's contract, silently switched off. Both name the
/// nearest known type when there is one.
fn unknown_type(path: &str, text: &str, type_name: &str) -> NewGap {
    let known = || {
        MetaType::ALL
            .into_iter()
            .flat_map(|t| std::iter::once(t.name()).chain(t.seed_alias()))
    };
    let typo = warden_core::error::typo_of(type_name, known());
    let hint = match typo {
        Some(k) => format!("; did you mean \"{k}\"? (a typo switches that contract off)"),
        None => warden_core::error::did_you_mean(type_name, known())
            .map(|h| format!("; {h}"))
            .unwrap_or_default(),
    };
    let mut g = NewGap::new(
        GapKind::UnknownMetaType,
        path,
        format!("{path}: type: unknown meta type \"{type_name}\"{hint}"),
    )
    .meta_type(Some(type_name))
    .key(type_name)
    .line(field_line(text, "type"))
    .ctx("type", type_name);
    if let Some(k) = typo {
        g = g.ctx("did_you_mean", k).severity(Severity::Error);
    }
    g
}

/// The 1-based line of `field`, a YAML path such as `testing.commands[0]`
/// (its deepest ancestor's when it is not in the file; 1 when none is):
/// [`crate::lines::line_of_field`]. Use it wherever the field is known: a
/// text search finds the first line that merely contains the value.
pub fn field_line(text: &str, field: &str) -> usize {
    crate::lines::line_of_field(text, field).unwrap_or(1)
}

/// The 1-based line of the first occurrence of `needle` (1 when absent).
pub fn line_of(text: &str, needle: &str) -> usize {
    if needle.is_empty() {
        return 1;
    }
    text.lines()
        .position(|l| l.contains(needle))
        .map_or(1, |i| i + 1)
}

/// A path as written in a meta file, resolved against the repository root:
/// a leading '/' means the root, "." components go, ".." is refused, and so
/// is a path inside git's or warden's own areas (the core's
/// [`warden_core::paths::PROTECTED`] and the quarantine lane): warden never
/// writes there, so a document or test file declared there could never be
/// generated, and `warden fix` would plan a write the engine refuses.
/// The error reads after the field's name (`location: …`).
pub fn repo_rel(s: &str) -> std::result::Result<String, String> {
    let mut parts = Vec::new();
    for c in s.trim().split('/') {
        match c {
            "" | "." => {}
            ".." if parts.is_empty() => return Err(format!("\"{s}\" leaves the repository")),
            // `a/../.git` stays inside, but says `.git` the long way round.
            ".." => {
                return Err(format!(
                    "\"{s}\" goes back up with `..`; write the path from the repository's root without it"
                ));
            }
            c if c.contains('\\') || c.contains('\0') => {
                return Err(format!("\"{s}\" is not a repository path"));
            }
            c => parts.push(c),
        }
    }
    let rel = parts.join("/");
    if let Some(area) = own_area(&rel) {
        let all: Vec<String> = warden_core::paths::PROTECTED
            .iter()
            .chain(&[warden_core::paths::QUARANTINE_DIR])
            .map(|a| format!("{a}/"))
            .collect();
        return Err(format!(
            "\"{s}\" lies inside {area}/, which belongs to git and warden; no contract may point there: use a path outside {}",
            all.join(", ")
        ));
    }
    Ok(rel)
}

/// The area of git's or warden's own (`.git`, `.warden`, …, `.quarantine`)
/// that the repository path `rel` lies in, as the core decides it.
fn own_area(rel: &str) -> Option<&'static str> {
    let p = warden_core::paths::RepoPath::parse(rel, "", "").ok()?;
    p.protected_area().or_else(|| {
        p.in_quarantine()
            .then_some(warden_core::paths::QUARANTINE_DIR)
    })
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

fn dir_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

/// Where a document type's meta renders: a README type's `location` is a
/// repository-relative directory (default: the meta file's) holding
/// `README.md`, or a bare file name in the meta file's folder; a doc type's
/// is the file (default: the meta file's name with `.md`).
pub fn doc_target(l: &Loaded) -> std::result::Result<String, String> {
    target_for(&l.path, l.meta_type, l.body.location())
}

/// [`doc_target`] from its parts: the meta file's path, its type and its
/// `location` as written.
pub fn target_for(
    meta_file: &str,
    t: MetaType,
    loc: Option<&str>,
) -> std::result::Result<String, String> {
    if t.is_readme() {
        let dir = match loc {
            None => dir_of(meta_file).to_string(),
            // A bare file name ("README.md", the seed script's default) is
            // the meta file's folder's.
            Some(s) if !s.contains('/') && s.ends_with(".md") => {
                return Ok(join(dir_of(meta_file), s));
            }
            Some(s) => repo_rel(s)?,
        };
        if dir.ends_with(".md") {
            return Ok(dir);
        }
        return Ok(join(&dir, "README.md"));
    }
    match loc {
        Some(s) => repo_rel(s),
        None => {
            let base = meta_file.strip_suffix(".meta.yaml").unwrap_or(meta_file);
            Ok(format!("{base}.md"))
        }
    }
}

/// The inputs of rendering a document meta to `target`.
pub fn doc_inputs<'a>(l: &'a Loaded, target: &'a str, generator: &'a str) -> render::DocInputs<'a> {
    render::DocInputs {
        generator,
        meta_type: l.meta_type,
        meta_file: &l.path,
        target,
        meta_bytes: &l.bytes,
    }
}

struct Ctx<'a> {
    root: &'a Path,
    gaps: Vec<NewGap>,
}

impl Ctx<'_> {
    /// Whether the declared `target` is or goes through a symbolic link;
    /// when it is, a `symlinked_path` gap is added (and the caller reads
    /// nothing through it).
    fn linked(&mut self, l: &Loaded, target: &str, key: &str, needle: &str) -> bool {
        let Some(link) = crate::discover::symlink_on(self.root, target) else {
            return false;
        };
        let message = crate::discover::symlink_message(target, &link);
        self.gaps.push(
            NewGap::new(GapKind::SymlinkedPath, &l.path, message)
                .meta_type(Some(&l.type_name))
                .target(target)
                .key(key)
                .line(line_of(&l.text, needle))
                .ctx("link", link),
        );
        true
    }

    /// A regular file's text; `None` when it is absent or not a file (one
    /// open, no separate stat: a directory fails to read).
    fn file(&self, rel: &str) -> Option<String> {
        let bytes = crate::discover::read(&self.root.join(rel)).ok()?;
        Some(match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }
}

/// Check a document: exists, not empty, headings present, managed sections current.
fn check_document(
    c: &mut Ctx,
    l: &Loaded,
    target: &str,
    t: Option<MetaType>,
    extra_sections: &[String],
) {
    let required = required_sections(t, extra_sections);
    let doc = DocGaps::new(l, target);
    if c.linked(l, target, "", target) {
        return;
    }
    let Some(current) = c.file(target) else {
        c.gaps.push(
            doc.gap(GapKind::MissingDoc, format!("{target} does not exist"))
                .ctx("required_sections", required),
        );
        return;
    };
    if current.trim().is_empty() {
        c.gaps.push(
            doc.gap(GapKind::EmptyDoc, format!("{target} is empty"))
                .ctx("required_sections", required),
        );
        return;
    }
    let have: BTreeSet<String> = render::headings(&current).into_iter().collect();
    for h in &required {
        if !have.contains(&render::normalise_heading(h)) {
            c.gaps.push(
                doc.gap(
                    GapKind::MissingSection,
                    format!("{target} has no \"{h}\" section"),
                )
                .key(render::normalise_heading(h))
                .ctx("section", h.clone()),
            );
        }
    }
    if t.is_some_and(|t| t.is_document() && l.meta_type == t) {
        c.gaps.extend(doc.managed_drift(&current));
    }
}

/// The meta type's gold sections plus the extra ones declared, each heading
/// once (compared as normalised).
fn required_sections(t: Option<MetaType>, extra_sections: &[String]) -> Vec<String> {
    let mut required: Vec<String> = t
        .map(|t| t.gold_sections().iter().map(|s| s.to_string()).collect())
        .unwrap_or_default();
    for s in extra_sections {
        if !required
            .iter()
            .any(|r| render::normalise_heading(r) == render::normalise_heading(s))
        {
            required.push(s.clone());
        }
    }
    required
}

/// The gaps of one document a meta describes, all pointing at the meta's
/// line naming the document (or its `location`).
struct DocGaps<'a> {
    l: &'a Loaded,
    target: &'a str,
    line: usize,
}

impl<'a> DocGaps<'a> {
    fn new(l: &'a Loaded, target: &'a str) -> Self {
        let by_target = line_of(&l.text, target);
        let line = if by_target > 1 {
            by_target
        } else {
            field_line(&l.text, "location")
        };
        DocGaps { l, target, line }
    }

    fn gap(&self, kind: GapKind, msg: String) -> NewGap {
        NewGap::new(kind, &self.l.path, msg)
            .meta_type(Some(&self.l.type_name))
            .target(self.target)
            .line(self.line)
    }

    /// A managed document whose fences were edited by hand, are out of date
    /// or are broken (none for a hand-written document).
    fn managed_drift(&self, current: &str) -> Option<NewGap> {
        let (l, target) = (self.l, self.target);
        let generator = render::generator_id();
        match render::refresh(&doc_inputs(l, target, &generator), current) {
            Refresh::Unmanaged => None,
            Refresh::Managed { hand_edited, .. } if !hand_edited.is_empty() => Some(
                self.gap(
                    GapKind::Drift,
                    format!(
                        "{target}: managed section(s) edited by hand: {}",
                        hand_edited.join(", ")
                    ),
                )
                .key("hand-edit")
                .ctx("problem", "hand edit inside a managed fence")
                .ctx("fences", hand_edited),
            ),
            Refresh::Managed { text, .. } if text != current => Some(
                self.gap(
                    GapKind::Drift,
                    format!("{target}: managed sections differ from {}", l.path),
                )
                .key("render")
                .ctx("problem", "managed sections out of date"),
            ),
            Refresh::Managed { .. } => None,
            Refresh::Broken(e) => Some(
                self.gap(GapKind::Drift, format!("{target}: {e}"))
                    .key("markers")
                    .ctx("problem", e),
            ),
        }
    }
}

/// Check a declared test file.
fn check_test_file(c: &mut Ctx, l: &Loaded, d: &DeclaredTest) {
    let (file, subject, must_cover) = (d.file.as_str(), d.subject.as_str(), &d.must_cover);
    let target = match repo_rel(file) {
        Ok(t) => t,
        Err(p) => {
            let p = format!("{}: {p}", d.field);
            c.gaps.push(
                NewGap::new(GapKind::SchemaViolation, &l.path, p.clone())
                    .meta_type(Some(&l.type_name))
                    .key(format!("file:{file}"))
                    .line(field_line(&l.text, &d.field))
                    .ctx("problem", p),
            );
            return;
        }
    };
    let line = field_line(&l.text, &d.field);
    let base = |kind: GapKind, msg: String| {
        NewGap::new(kind, &l.path, msg)
            .meta_type(Some(&l.type_name))
            .target(&target)
            .line(line)
            .ctx("module_path", subject)
            .ctx("must_cover", must_cover.to_vec())
    };
    if c.linked(l, &target, &format!("file:{file}"), file) {
        return;
    }
    let Some(text) = c.file(&target) else {
        c.gaps.push(base(
            GapKind::MissingTestFile,
            format!("{target} does not exist (tests for {subject})"),
        ));
        return;
    };
    let Some(lang) = Lang::of(&target) else {
        return;
    };
    if !skeleton::has_tests(lang, &text) {
        c.gaps
            .push(base(GapKind::NoTests, format!("{target} defines no test")));
        return;
    }
    for (tline, b) in skeleton::pending(lang, &text) {
        let slug = skeleton::slug(&b);
        let mut g = base(
            GapKind::PendingTest,
            format!("{target}:{tline}: test_{slug} is pending: {b}"),
        )
        .key(slug.clone())
        .ctx("behaviour", b.clone())
        .ctx("test", format!("test_{slug}"))
        .ctx("target_line", tline as u64);
        g.context.remove("must_cover");
        c.gaps.push(g);
    }
}

/// A `schema_violation` of `l`, at the line of `field` (a YAML path).
fn schema_problem(
    c: &mut Ctx,
    l: &Loaded,
    key: &str,
    target: Option<&str>,
    problem: String,
    field: &str,
) {
    let mut g = NewGap::new(GapKind::SchemaViolation, &l.path, problem.clone())
        .meta_type(Some(&l.type_name))
        .key(key)
        .line(field_line(&l.text, field))
        .ctx("problem", problem);
    if let Some(t) = target {
        g = g.target(t);
    }
    c.gaps.push(g);
}

/// A test file a meta declares, as written there, with the behaviours it
/// must cover.
pub(crate) struct DeclaredTest {
    /// Where the meta declares it (`module_policies[2].file`).
    pub field: String,
    pub file: String,
    pub subject: String,
    pub must_cover: Vec<String>,
}

/// The test files a unit test spec or a subsystem test spec declares (none
/// for other meta types). A flow or invariant without `must_cover` must
/// cover what it `must_assert`s.
pub(crate) fn declared_tests(l: &Loaded) -> Vec<DeclaredTest> {
    let mut out = Vec::new();
    let mut push =
        |field: String, file: &Option<String>, subject: Option<&str>, cover: &[String]| {
            if let Some(f) = file {
                out.push(DeclaredTest {
                    field,
                    file: f.clone(),
                    subject: subject.unwrap_or(f).to_string(),
                    must_cover: cover.to_vec(),
                });
            }
        };
    match l.meta_type {
        MetaType::TestUnitSpec => {
            if let Some(s) = l.body::<meta::TestUnitSpec>() {
                for (i, p) in s.module_policies.iter().enumerate() {
                    let field = format!("module_policies[{i}].file");
                    push(field, &p.file, Some(&p.module), &p.must_cover);
                }
            }
        }
        MetaType::SubsystemTestSpec => {
            if let Some(s) = l.body::<meta::SubsystemTestSpec>() {
                for (i, m) in s.unit_tests.modules.iter().enumerate() {
                    let field = format!("unit_tests.modules[{i}].file");
                    push(field, &m.file, Some(&m.path), &m.must_cover);
                }
                let flows = s.integration_tests.flows.iter().enumerate();
                let flows = flows.map(|(i, r)| (format!("integration_tests.flows[{i}].file"), r));
                let invariants = s.governance_tests.invariants.iter().enumerate();
                let invariants =
                    invariants.map(|(i, r)| (format!("governance_tests.invariants[{i}].file"), r));
                for (field, r) in flows.chain(invariants) {
                    let cover = if r.must_cover.is_empty() {
                        &r.must_assert
                    } else {
                        &r.must_cover
                    };
                    push(field, &r.file, r.id.as_deref(), cover);
                }
            }
        }
        _ => {}
    }
    out
}

/// Each field that still holds its template's placeholder (`contracts new`
/// wrote it; a person has to replace it) is a `schema_violation`.
fn check_placeholders(c: &mut Ctx, l: &Loaded) {
    if crate::templates::placeholders(l.meta_type).is_empty() {
        return;
    }
    let Ok(body) = serde_json::to_value(&l.body) else {
        return;
    };
    for (field, value) in crate::templates::placeholders_in(l.meta_type, &body) {
        let problem =
            format!("{field}: still holds the template's placeholder \"{value}\"; replace it");
        schema_problem(c, l, &format!("placeholder:{field}"), None, problem, &field);
    }
}

/// The modules a test spec names as its subjects: each must exist.
fn check_subjects(c: &mut Ctx, l: &Loaded) {
    let subjects: Vec<(String, String)> = match l.meta_type {
        MetaType::TestUnitSpec => l
            .body::<meta::TestUnitSpec>()
            .map(|s| {
                s.module_policies
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (format!("module_policies[{i}].module"), p.module.clone()))
                    .collect()
            })
            .unwrap_or_default(),
        MetaType::SubsystemTestSpec => l
            .body::<meta::SubsystemTestSpec>()
            .map(|s| {
                s.unit_tests
                    .modules
                    .iter()
                    .enumerate()
                    .map(|(i, m)| (format!("unit_tests.modules[{i}].path"), m.path.clone()))
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    for (field, subject) in subjects {
        let key = format!("subject:{subject}");
        match repo_rel(&subject) {
            Ok(rel) if c.linked(l, &rel, &key, &subject) => {}
            Ok(rel) if rel.is_empty() || c.root.join(&rel).symlink_metadata().is_ok() => {}
            Ok(rel) => schema_problem(
                c,
                l,
                &key,
                Some(&rel),
                format!("{field}: \"{subject}\" does not exist"),
                &field,
            ),
            Err(e) => schema_problem(c, l, &key, None, format!("{field}: {e}"), &field),
        }
    }
}

fn check_one(c: &mut Ctx, l: &Loaded) {
    let t = l.meta_type;
    check_placeholders(c, l);
    check_subjects(c, l);
    if t.is_document() {
        match doc_target(l) {
            Ok(target) => {
                check_document(c, l, &target, Some(t), l.body.required_sections());
            }
            Err(p) => schema_problem(c, l, "location", None, format!("location: {p}"), "location"),
        }
        return;
    }
    for d in declared_tests(l) {
        check_test_file(c, l, &d);
    }
    match t {
        MetaType::SubsystemDocsSpec => check_docs_spec(c, l),
        MetaType::RepoContract => check_repo_paths(c, l),
        MetaType::SchemaExtractionContract => {
            if let Some(s) = l.body::<meta::SchemaExtractionContract>() {
                for (i, tg) in s.targets.iter().enumerate() {
                    check_schema_instance(
                        c,
                        l,
                        &tg.schema_file,
                        &format!("targets[{i}].schema_file"),
                    );
                }
            }
        }
        _ => {}
    }
}

/// The documents a docs spec names: only the sections the spec adds (the
/// document's own meta, if any, checks its gold sections).
fn check_docs_spec(c: &mut Ctx, l: &Loaded) {
    let Some(s) = l.body::<meta::SubsystemDocsSpec>() else {
        return;
    };
    for (i, d) in s.docs.iter().enumerate() {
        match repo_rel(&d.path) {
            Ok(target) => check_document(c, l, &target, None, &d.required_sections),
            Err(p) => schema_problem(
                c,
                l,
                &format!("docs:{}", d.path),
                None,
                format!("docs[{i}].path: {p}"),
                &format!("docs[{i}].path"),
            ),
        }
    }
}

/// The repository contract's `paths`: each an existing folder.
fn check_repo_paths(c: &mut Ctx, l: &Loaded) {
    let Some(s) = l.body::<meta::RepoContract>() else {
        return;
    };
    for (k, p) in &s.paths {
        match repo_rel(p) {
            Ok(rel) if c.linked(l, &rel, &format!("paths.{k}"), p) => {}
            Ok(rel) if c.root.join(&rel).is_dir() || rel.is_empty() => {}
            Ok(rel) => schema_problem(
                c,
                l,
                &format!("paths.{k}"),
                Some(&rel),
                format!("paths.{k}: the folder \"{p}\" does not exist"),
                &format!("paths.{k}"),
            ),
            Err(e) => schema_problem(
                c,
                l,
                &format!("paths.{k}"),
                None,
                format!("paths.{k}: {e}"),
                &format!("paths.{k}"),
            ),
        }
    }
}

fn check_schema_instance(c: &mut Ctx, l: &Loaded, file: &str, field: &str) {
    let key = format!("schema:{file}");
    let rel = match repo_rel(file) {
        Ok(r) => r,
        Err(e) => return schema_problem(c, l, &key, None, format!("{field}: {e}"), field),
    };
    if c.linked(l, &rel, &key, file) {
        return;
    }
    let Some(text) = c.file(&rel) else {
        return schema_problem(
            c,
            l,
            &key,
            Some(&rel),
            format!("schema file {rel} does not exist"),
            field,
        );
    };
    let v = match warden_core::strict::parse_yaml(text.as_bytes(), &rel) {
        Ok(v) => v,
        Err(e) => return schema_problem(c, l, &key, Some(&rel), e.to_string(), field),
    };
    let root_path = v.get("root_path").and_then(Value::as_str);
    match root_path.map(repo_rel) {
        Some(Ok(r)) if c.linked(l, &r, &format!("{key}:root_path"), file) => {}
        Some(Ok(r)) if c.root.join(&r).is_dir() => {}
        _ => {
            let mut g = NewGap::new(
                GapKind::SchemaViolation,
                &l.path,
                format!("{rel}: schema.root_path does not exist in repo"),
            )
            .meta_type(Some(&l.type_name))
            .key(format!("{key}:root_path"))
            .target(&rel)
            .line(field_line(&l.text, field))
            .ctx("problem", "schema.root_path does not exist in repo");
            if let Some(r) = root_path {
                g = g.ctx("expected_root_path", r);
            }
            c.gaps.push(g);
        }
    }
    let files = v
        .get("cursor_instructions")
        .and_then(|ci| ci.get("generate_files"))
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if files == 0 {
        let mut g = NewGap::new(
            GapKind::SchemaViolation,
            &l.path,
            format!("{rel}: cursor_instructions.generate_files is empty"),
        )
        .meta_type(Some(&l.type_name))
        .key(format!("{key}:generate_files"))
        .line(field_line(&l.text, field))
        .ctx("problem", "schema has no generate_files entry");
        g = g.target(&rel);
        c.gaps.push(g);
    }
}

/// The coverage thresholds the metas declare, against the reports given.
fn check_coverage(loaded: &[Loaded], reports: &[crate::coverage::Report], gaps: &mut Vec<NewGap>) {
    if reports.is_empty() {
        return;
    }
    for l in loaded {
        for t in declared_thresholds(l) {
            gaps.extend(t.gap(l, reports));
        }
    }
}

/// One coverage threshold a meta declares.
struct Threshold {
    /// The field, e.g. `expectations.coverage_target`.
    field: String,
    /// The coverage kind (unit, integration, e2e).
    kind: &'static str,
    measure: crate::coverage::Measure,
    value: Value,
    /// The modules the threshold is about (empty: all files).
    modules: Vec<String>,
}

/// A test spec's coverage kind, scope and expectations, typed.
fn test_spec_parts(
    l: &Loaded,
) -> Option<(&'static str, meta::TestScope, Option<meta::Expectations>)> {
    match l.meta_type {
        MetaType::TestUnitSpec => l
            .body::<meta::TestUnitSpec>()
            .map(|s| ("unit", s.scope.clone(), s.expectations.clone())),
        MetaType::TestIntegrationSpec => l
            .body::<meta::TestIntegrationSpec>()
            .map(|s| ("integration", s.scope.clone(), s.expectations.clone())),
        MetaType::TestE2eSpec => l
            .body::<meta::TestE2eSpec>()
            .map(|s| ("e2e", s.scope.clone(), s.expectations.clone())),
        _ => None,
    }
}

/// A test spec's `expectations` targets (about its `scope.target_modules`)
/// and a repository contract's `ci_contracts.min_*_coverage` per kind.
fn declared_thresholds(l: &Loaded) -> Vec<Threshold> {
    use crate::coverage::Measure;
    let mut declared = Vec::new();
    if let Some((kind, scope, Some(e))) = test_spec_parts(l) {
        for (key, measure, value) in [
            ("coverage_target", Measure::Lines, e.coverage_target),
            (
                "branch_coverage_target",
                Measure::Branches,
                e.branch_coverage_target,
            ),
        ] {
            if let Some(value) = value {
                declared.push(Threshold {
                    field: format!("expectations.{key}"),
                    kind,
                    measure,
                    value,
                    modules: scope.target_modules.clone(),
                });
            }
        }
    }
    let ci = l
        .body::<meta::RepoContract>()
        .and_then(|r| r.ci_contracts.clone());
    if let Some(c) = ci {
        for (kind, lines, branches) in [
            ("unit", c.min_unit_coverage, c.min_unit_branch_coverage),
            (
                "integration",
                c.min_integration_coverage,
                c.min_integration_branch_coverage,
            ),
            ("e2e", c.min_e2e_coverage, c.min_e2e_branch_coverage),
        ] {
            for (field, measure, value) in [
                (format!("min_{kind}_coverage"), Measure::Lines, lines),
                (
                    format!("min_{kind}_branch_coverage"),
                    Measure::Branches,
                    branches,
                ),
            ] {
                if let Some(value) = value {
                    declared.push(Threshold {
                        field: format!("ci_contracts.{field}"),
                        kind,
                        measure,
                        value,
                        modules: Vec::new(),
                    });
                }
            }
        }
    }
    declared
}

impl Threshold {
    /// The gap, if any: a value that is no threshold, or coverage below it
    /// in the reports of the threshold's kind (none given: no gap).
    fn gap(self, l: &Loaded, reports: &[crate::coverage::Report]) -> Option<NewGap> {
        use crate::coverage::{self, Lines};
        let needle = self.field.rsplit('.').next().unwrap_or(&self.field);
        let line = line_of(&l.text, needle);
        let Some(target) = coverage::threshold(&self.value) else {
            let problem = format!(
                "{}: {} is not a ratio (0.85) or a percentage (85)",
                self.field, self.value
            );
            return Some(
                NewGap::new(GapKind::SchemaViolation, &l.path, problem.clone())
                    .meta_type(Some(&l.type_name))
                    .key(self.field.clone())
                    .line(line)
                    .ctx("problem", problem)
                    .ctx("field", self.field),
            );
        };
        let mine: Vec<&coverage::Report> = reports.iter().filter(|r| r.kind == self.kind).collect();
        if mine.is_empty() {
            return None;
        }
        let mut lines = Lines::default();
        let mut files = 0;
        for (l, n) in mine
            .iter()
            .filter_map(|r| coverage::measured_as(r, self.measure, &self.modules))
        {
            lines.covered += l.covered;
            lines.valid += l.valid;
            files += n;
        }
        let measured = lines.ratio();
        if measured.is_some_and(|m| m + 1e-9 >= target) {
            return None;
        }
        let name = self.measure.name();
        let report_names: Vec<String> = mine.iter().map(|r| r.file.clone()).collect();
        Some(
            NewGap::new(
                GapKind::CoverageBelowTarget,
                &l.path,
                self.message(target, measured, lines, files),
            )
            .meta_type(Some(&l.type_name))
            .key(self.field)
            .line(line)
            .ctx("coverage_kind", self.kind)
            .ctx("target", target)
            .ctx(
                "measured",
                measured.map(|m| (m * 10000.0).round() / 10000.0),
            )
            .ctx("measure", name)
            .ctx(&format!("covered_{name}"), lines.covered)
            .ctx(name, lines.valid)
            .ctx("files", files as u64)
            .ctx("reports", report_names)
            .ctx("target_modules", self.modules),
        )
    }

    /// Why the measured coverage misses the target: below it, or nothing
    /// to compare (no branch data at all, or nothing covered in scope).
    fn message(
        &self,
        target: f64,
        measured: Option<f64>,
        lines: crate::coverage::Lines,
        files: usize,
    ) -> String {
        use crate::coverage::Measure;
        let (field, kind, what) = (&self.field, self.kind, self.measure);
        let pct = |x: f64| format!("{:.1}%", x * 100.0);
        let scope = |word: &str| {
            if self.modules.is_empty() {
                String::new()
            } else {
                format!(" {word} {}", self.modules.join(", "))
            }
        };
        match measured {
            Some(m) => format!(
                "{kind} {} coverage {} ({} of {} {}{}) is below {field} {}",
                match what {
                    Measure::Lines => "line",
                    Measure::Branches => "branch",
                },
                pct(m),
                lines.covered,
                lines.valid,
                what.name(),
                scope("in"),
                pct(target)
            ),
            None if what == Measure::Branches && files == 0 => format!(
                "the {kind} coverage report has no branch data{} to compare with {field} {} (measure branches: `coverage run --branch`, lcov `--rc branch_coverage=1`)",
                scope("under"),
                pct(target)
            ),
            None => format!(
                "the {kind} coverage report has no covered {}{} to compare with {field} {}",
                what.name(),
                scope("under"),
                pct(target)
            ),
        }
    }
}

/// Run every check.
/// A gap's status: suppressed (by a suppression that has not expired),
/// baselined, or new. A gap whose only suppression expired says so, with
/// the day and the reason, so the failure does not look new.
fn settle(g: &mut Gap, config: &ContractsConfig, opts: &CheckOptions) {
    if let Some(s) = config.suppress.iter().find(|s| s.covers(g, &opts.today)) {
        g.status = Status::Suppressed;
        g.suppressed_because = Some(s.reason.clone());
        return;
    }
    if opts.baseline.as_ref().is_some_and(|b| b.contains(&g.id)) {
        g.status = Status::Baselined;
        return;
    }
    let expired = config.suppress.iter().find_map(|s| {
        s.expired(&opts.today)
            .filter(|_| s.matches(g))
            .map(|e| (e, s))
    });
    if let Some((day, s)) = expired {
        g.message = format!(
            "{} (its suppression expired on {day}; reason: {})",
            g.message, s.reason
        );
        g.context
            .insert("suppression_expired".into(), Value::String(day.to_string()));
    }
}

pub fn check(root: &Path, opts: &CheckOptions) -> Result<CheckReport> {
    let config = ContractsConfig::load(root)?;
    let strict = opts.strict || config.strict;
    let (loaded, mut gaps) = load_all(root, strict);
    // Each meta file is checked on its own (in parallel); the gaps are
    // merged in meta file order, so the de-duplication below is deterministic.
    let per_meta: Vec<Vec<NewGap>> = loaded
        .par_iter()
        .map(|l| {
            let mut c = Ctx {
                root,
                gaps: Vec::new(),
            };
            check_one(&mut c, l);
            c.gaps
        })
        .collect();
    let mut c = Ctx {
        root,
        gaps: per_meta.into_iter().flatten().collect(),
    };
    crate::modules::check(root, &loaded, &mut c.gaps)?;
    check_coverage(&loaded, &opts.coverage, &mut c.gaps);
    // One gap per (kind, target, key) for document gaps declared twice
    // (a README and a docs spec naming it): the first meta file in order keeps it.
    let mut seen = BTreeSet::new();
    for g in c.gaps {
        let doc = matches!(
            g.kind,
            GapKind::MissingDoc | GapKind::EmptyDoc | GapKind::MissingSection
        );
        if doc && !seen.insert((g.kind, g.target_file.clone(), g.key.clone())) {
            continue;
        }
        gaps.push(g.finish(strict));
    }
    let mut summary = Summary::default();
    for g in &mut gaps {
        settle(g, &config, opts);
        match (g.status, g.severity) {
            (Status::Suppressed, _) => summary.suppressed += 1,
            (Status::Baselined, _) => summary.baselined += 1,
            (Status::New, Severity::Warning) => summary.warnings += 1,
            (Status::New, Severity::Error) => summary.failing += 1,
        }
    }
    gaps.sort_by(|a, b| a.id.cmp(&b.id));
    gaps.dedup_by(|a, b| a.id == b.id);
    let repo_contract = loaded
        .iter()
        .find(|l| l.meta_type == MetaType::RepoContract)
        .map(|l| l.path.clone());
    Ok(CheckReport {
        schema: CHECK_SCHEMA_ID.into(),
        generator: render::GENERATOR.into(),
        meta_files: loaded.len()
            + gaps
                .iter()
                .filter(|g| matches!(g.kind, GapKind::InvalidMeta | GapKind::UnknownMetaType))
                .map(|g| g.meta_file.as_str())
                .collect::<BTreeSet<_>>()
                .len(),
        repo_contract,
        clean: summary.failing == 0,
        summary,
        gaps,
        tests: None,
    })
}

/// Write `meta-gaps.yaml` at the root when there are gaps (not suppressed),
/// remove it when there are none, so no stale report survives a clean run.
/// Returns whether the file now exists.
pub fn write_gap_file(root: &Path, report: &CheckReport) -> Result<bool> {
    let path = root.join(crate::gaps::GAP_FILE);
    let file = crate::gaps::gap_file(&report.gaps, report.repo_contract.clone());
    if file.gaps.is_empty() {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(warden_core::Error::user_path("remove", &path, e)),
        }
        return Ok(false);
    }
    let text = crate::gaps::render_gap_file(&file);
    warden_core::fsutil::write_atomic(&path, text.as_bytes(), 0o644)?;
    Ok(true)
}

/// The report for a person.
pub fn human(report: &CheckReport) -> String {
    let mut s = String::new();
    for g in &report.gaps {
        let status = match (g.status, g.severity) {
            (Status::Suppressed, _) => "suppressed",
            (Status::Baselined, _) => "baselined",
            (Status::New, Severity::Warning) => "warning",
            (Status::New, Severity::Error) => "error",
        };
        s.push_str(&format!(
            "{status}: {} {} ({}:{}): {}\n",
            g.id,
            g.kind.name(),
            shown(&g.meta_file),
            g.line,
            shown(&g.message)
        ));
        if let Some(r) = &g.suppressed_because {
            s.push_str(&format!("  suppressed because: {}\n", shown(r)));
        } else if g.status == Status::New {
            s.push_str(&format!("  fix: {}\n", g.fix));
        }
    }
    let sm = &report.summary;
    s.push_str(&format!(
        "{} meta file(s); {} failing gap(s), {} warning(s), {} baselined, {} suppressed\n",
        report.meta_files, sm.failing, sm.warnings, sm.baselined, sm.suppressed
    ));
    s
}

#[cfg(test)]
mod direct_parse_tests;
