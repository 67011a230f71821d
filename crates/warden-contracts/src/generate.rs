//! The generators: `gen docs`, `gen tests` and `fix` compute file writes; the
//! CLI hands them to the engine as ONE proposal (policy gate, atomic apply,
//! ledger, undo). Nothing here writes what git tracks: `gen docs` only
//! remembers its stamp proofs in the clone's ignored state ([`Proofs`]).

use crate::check::{self, CheckReport, Loaded, doc_target, repo_rel};
use crate::gaps::{Gap, GapKind, Status};
use crate::meta::MetaType;
use crate::proofs::{FileStat, Proofs};
use crate::render::{self, Refresh};
use crate::skeleton::{self, Lang};
use rayon::prelude::*;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use warden_core::digest::Digest;

/// One file to write: its path, the bytes it has now (None = absent), the new text.
#[derive(Debug, Clone)]
pub struct FileWrite {
    pub path: String,
    pub current: Option<Vec<u8>>,
    pub content: String,
}

/// A problem a generator will not resolve by itself (reported, exit 1).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Problem {
    pub file: String,
    pub message: String,
}

#[derive(Debug, Clone, Default)]
pub struct DocsPlan {
    pub writes: Vec<FileWrite>,
    pub problems: Vec<Problem>,
    /// Documents without the stamp fence: hand-written, headings checked only.
    pub unmanaged: Vec<String>,
    /// Managed documents already up to date.
    pub current: Vec<String>,
}

fn read(root: &Path, rel: &str) -> Option<Vec<u8>> {
    crate::discover::read(&root.join(rel)).ok()
}

/// Why `rel` can be neither read nor written: it is, or goes through, a
/// symbolic link (the engine writes through none; see
/// [`crate::discover::symlink_on`]). `None` when it is not.
fn linked(root: &Path, rel: &str) -> Option<String> {
    crate::discover::symlink_on(root, rel).map(|link| {
        format!(
            "{}: replace the link with a file",
            crate::discover::symlink_message(rel, &link)
        )
    })
}

/// What one document meta renders to, given the document's current bytes.
pub enum DocRender {
    Write(String),
    UpToDate,
    Unmanaged,
    HandEdited(Vec<String>),
    Broken(String),
}

pub fn render_doc(l: &Loaded, target: &str, current: Option<&[u8]>) -> DocRender {
    render_doc_with(l, target, current, &render::generator_id())
}

fn render_doc_with(l: &Loaded, target: &str, current: Option<&[u8]>, generator: &str) -> DocRender {
    let inp = check::doc_inputs(l, target, generator);
    let cur = current.map(String::from_utf8_lossy);
    match cur {
        None => DocRender::Write(render::render_full(&inp)),
        Some(c) if c.trim().is_empty() => DocRender::Write(render::render_full(&inp)),
        Some(c) => match render::refresh(&inp, &c) {
            Refresh::Unmanaged => DocRender::Unmanaged,
            Refresh::Broken(e) => DocRender::Broken(e),
            Refresh::Managed { hand_edited, .. } if !hand_edited.is_empty() => {
                DocRender::HandEdited(hand_edited)
            }
            Refresh::Managed { text, .. } if text == c => DocRender::UpToDate,
            Refresh::Managed { text, .. } => DocRender::Write(text),
        },
    }
}

/// The fast path of `gen docs --check`: a document meta whose document's
/// stamp proves it in step, decided from the meta's bytes and the
/// document's bytes alone (no YAML parsed, nothing rendered). The target
/// comes from a line scan of the meta ([`crate::scan`]); the stamp covers
/// the target, so a wrong scan only means "not proven". Returns the target.
pub fn stamped_in_step(
    root: &Path,
    meta_file: &str,
    meta_bytes: &[u8],
    generator: &str,
) -> Option<String> {
    stamped_in_step_stat(root, meta_file, meta_bytes, generator, false).map(|(target, _)| target)
}

/// [`stamped_in_step`], with the document's `stat` taken before it is read
/// when `stat` (for [`Proofs::made`]).
fn stamped_in_step_stat(
    root: &Path,
    meta_file: &str,
    meta_bytes: &[u8],
    generator: &str,
    stat: bool,
) -> Option<(String, Option<FileStat>)> {
    let text = std::str::from_utf8(meta_bytes).ok()?;
    let hint = crate::scan::hint(text)?;
    let t = MetaType::from_name(hint.type_name).filter(|t| t.is_document())?;
    let target = check::target_for(meta_file, t, hint.location).ok()?;
    let path = root.join(&target);
    let (doc, stat) = crate::discover::read_stat(&path, stat).ok()?;
    let doc = std::str::from_utf8(&doc).ok()?;
    render::in_step(generator, meta_file, &target, meta_bytes, doc).then_some((target, stat))
}

/// A document meta's target, current bytes and rendering (`Err`: its
/// location is not a repository path).
type DocOutcome = Result<(String, Option<Vec<u8>>, DocRender), String>;

/// One meta file as `gen docs` sees it.
enum Seen {
    /// Proven in step by its document's stamp (the target).
    InStep(String),
    /// Typed (the fast path could not decide).
    Loaded(Box<Loaded>),
    /// Not a usable meta file: `check` reports it; `gen docs` skips it.
    Bad,
}

/// `warden gen docs`: every document meta, plus the wiring graph. A document
/// whose stamp proves it in step is not rendered; every other one is
/// rendered and compared byte for byte.
pub fn plan_docs(root: &Path) -> DocsPlan {
    plan_docs_with(root, &render::generator_id())
}

/// [`plan_docs`] as a given generator (its identity is in every stamp). A
/// meta whose remembered proof still holds ([`Proofs`]: neither it nor its
/// document changed since a run proved them in step) is not read; the
/// proofs of this run are stored for the next one.
pub fn plan_docs_with(root: &Path, generator: &str) -> DocsPlan {
    let proofs = Proofs::load(root, generator);
    let plan = plan_docs_proven(root, generator, &proofs);
    proofs.store();
    plan
}

/// [`plan_docs_with`] with the given proofs (which it adds this run's to).
pub fn plan_docs_proven(root: &Path, generator: &str, proofs: &Proofs) -> DocsPlan {
    let paths = check::meta_paths(root);
    let seen: Vec<Seen> = paths
        .par_iter()
        .map(|p| see(root, p, generator, proofs))
        .collect();
    // Rendered in parallel, collected in meta file order.
    let rendered: Vec<(Option<Loaded>, Option<DocOutcome>)> = seen
        .into_par_iter()
        .map(|s| render_seen(root, s, generator))
        .collect();
    let mut plan = DocsPlan::default();
    let mut loaded: Vec<Loaded> = Vec::new();
    for (l, out) in rendered {
        let meta = l.as_ref().map(|l| l.path.clone()).unwrap_or_default();
        loaded.extend(l);
        if let Some(out) = out {
            plan.record(meta, out);
        }
    }
    if loaded
        .iter()
        .any(|l| l.meta_type == MetaType::WiringContracts)
    {
        plan.record_graph(root, &loaded);
    }
    plan.writes.sort_by(|a, b| a.path.cmp(&b.path));
    plan
}

/// One meta file: proven in step by its document's stamp, or typed.
fn see(root: &Path, meta_file: &str, generator: &str, proofs: &Proofs) -> Seen {
    if let Some(target) = proofs.holds(root, meta_file) {
        return Seen::InStep(target);
    }
    let path = root.join(meta_file);
    let remember = proofs.enabled();
    let Ok((bytes, meta_stat)) = crate::discover::read_stat(&path, remember) else {
        return Seen::Bad;
    };
    if let Some((target, doc_stat)) =
        stamped_in_step_stat(root, meta_file, &bytes, generator, remember)
    {
        proofs.made(meta_file, &target, meta_stat, doc_stat);
        return Seen::InStep(target);
    }
    match check::load_bytes(meta_file, bytes) {
        Ok(l) => Seen::Loaded(Box::new(l)),
        Err(_) => Seen::Bad,
    }
}

/// The typed meta (kept for the wiring graph) and, for a document meta,
/// what its document renders to.
fn render_seen(root: &Path, s: Seen, generator: &str) -> (Option<Loaded>, Option<DocOutcome>) {
    match s {
        Seen::InStep(target) => (None, Some(Ok((target, None, DocRender::UpToDate)))),
        Seen::Bad => (None, None),
        Seen::Loaded(l) => {
            let out = l.meta_type.is_document().then(|| match doc_target(&l) {
                Ok(target) => {
                    if let Some(e) = linked(root, &target) {
                        return Ok((target, None, DocRender::Broken(e)));
                    }
                    let current = read(root, &target);
                    let r = render_doc_with(&l, &target, current.as_deref(), generator);
                    Ok((target, current, r))
                }
                Err(e) => Err(format!("location: {e}")),
            });
            (Some(*l), out)
        }
    }
}

impl DocsPlan {
    /// Files one document meta's outcome under its write, its problem, or
    /// the documents that are unmanaged or current.
    fn record(&mut self, meta: String, out: DocOutcome) {
        let (target, current, r) = match out {
            Ok(o) => o,
            Err(message) => {
                self.problems.push(Problem {
                    file: meta,
                    message,
                });
                return;
            }
        };
        match r {
            DocRender::Write(content) => self.writes.push(FileWrite {
                path: target,
                current,
                content,
            }),
            DocRender::UpToDate => self.current.push(target),
            DocRender::Unmanaged => self.unmanaged.push(target),
            DocRender::HandEdited(f) => self.problems.push(Problem {
                file: target,
                message: format!(
                    "managed fence(s) {} edited by hand since warden wrote them; left alone (move the text to {meta} or outside the fence, then delete the fence body)",
                    f.join(", "),
                ),
            }),
            DocRender::Broken(e) => self.problems.push(Problem {
                file: target,
                message: e,
            }),
        }
    }

    /// The wiring graph: written when its bytes differ, else current.
    fn record_graph(&mut self, root: &Path, loaded: &[Loaded]) {
        let (path, text) = crate::modules::graph(loaded);
        if let Some(e) = linked(root, &path) {
            self.problems.push(Problem {
                file: path,
                message: e,
            });
            return;
        }
        let current = read(root, &path);
        if current.as_deref() != Some(text.as_bytes()) {
            self.writes.push(FileWrite {
                path,
                current,
                content: text,
            });
        } else {
            self.current.push(path);
        }
    }
}

/// `warden gen docs --adopt PATH`: the write that turns the hand-written
/// document `target` (repository-relative) into a managed one
/// ([`render::adopt`]). `Err` says why not, with the fix.
pub fn plan_adopt(root: &Path, target: &str) -> Result<FileWrite, String> {
    let (loaded, _) = check::load_all(root, false);
    let Some(l) = loaded
        .iter()
        .find(|l| l.meta_type.is_document() && doc_target(l).ok().as_deref() == Some(target))
    else {
        return Err(format!(
            "no document meta renders {target}; write one first (`warden contracts new subsystem_readme {}`)",
            target.rsplit_once('/').map_or("", |(d, _)| d)
        ));
    };
    if let Some(e) = linked(root, target) {
        return Err(e);
    }
    let current = match read(root, target) {
        Some(b) if !String::from_utf8_lossy(&b).trim().is_empty() => b,
        _ => {
            return Err(format!(
                "{target} does not exist or is empty: `warden gen docs` renders it whole"
            ));
        }
    };
    let text = std::str::from_utf8(&current)
        .map_err(|e| format!("{target} is not UTF-8 (byte {})", e.valid_up_to()))?;
    let generator = render::generator_id();
    let content = render::adopt(&check::doc_inputs(l, target, &generator), text)?;
    Ok(FileWrite {
        path: target.to_string(),
        current: Some(current),
        content,
    })
}

/// A declared test file and the behaviours it must cover.
#[derive(Debug, Clone)]
pub struct TestDecl {
    pub meta_file: String,
    pub file: String,
    pub subject: String,
    pub must_cover: Vec<String>,
}

/// Every declared test file whose path is a repository path (`check`
/// reports the others).
pub fn test_decls(loaded: &[Loaded]) -> Vec<TestDecl> {
    loaded
        .iter()
        .flat_map(|l| {
            check::declared_tests(l).into_iter().filter_map(|d| {
                Some(TestDecl {
                    meta_file: l.path.clone(),
                    file: repo_rel(&d.file).ok()?,
                    subject: d.subject,
                    must_cover: d.must_cover,
                })
            })
        })
        .collect()
}

#[derive(Debug, Clone, Default)]
pub struct TestsPlan {
    pub writes: Vec<FileWrite>,
    /// Test files in a language without a skeleton generator.
    pub unsupported: Vec<String>,
}

/// The skeleton writes for the given declarations (several may name one file).
fn skeleton_writes(root: &Path, decls: &[TestDecl]) -> TestsPlan {
    let mut files: BTreeMap<String, (Option<Vec<u8>>, Option<String>)> = BTreeMap::new();
    let mut plan = TestsPlan::default();
    for d in decls {
        let Some(lang) = Lang::of(&d.file) else {
            if !plan.unsupported.contains(&d.file) {
                plan.unsupported.push(d.file.clone());
            }
            continue;
        };
        // A test file that is (or goes through) a symbolic link is never
        // read nor written: `check` reports it as `symlinked_path`.
        if linked(root, &d.file).is_some() {
            continue;
        }
        let entry = files
            .entry(d.file.clone())
            .or_insert_with(|| (read(root, &d.file), None));
        let base = entry.1.clone().or_else(|| {
            entry
                .0
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
        });
        if let Some(t) = skeleton::add_skeletons(
            lang,
            base.as_deref(),
            &d.subject,
            &d.meta_file,
            &d.must_cover,
        ) {
            entry.1 = Some(t);
        }
    }
    for (path, (current, content)) in files {
        if let Some(content) = content {
            plan.writes.push(FileWrite {
                path,
                current,
                content,
            });
        }
    }
    plan
}

/// `warden gen tests`.
pub fn plan_tests(root: &Path) -> TestsPlan {
    let (loaded, _) = check::load_all(root, false);
    skeleton_writes(root, &test_decls(&loaded))
}

/// What `warden fix` does for one gap.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FixAction {
    pub gap: String,
    pub kind: GapKind,
    pub target_file: Option<String>,
    /// rendered_document | refreshed_sections | wrote_skeletons | regenerated_graph | skipped
    pub action: String,
    /// Why a gap was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct FixPlan {
    pub writes: Vec<FileWrite>,
    pub actions: Vec<FixAction>,
}

/// `warden fix`: a generator per fixable gap. Each fix may write only its
/// gap's `target_file`; a write anywhere else is refused here (enforced, not
/// trusted), before anything reaches the engine.
pub fn plan_fix(root: &Path, report: &CheckReport) -> warden_core::Result<FixPlan> {
    let (loaded, _) = check::load_all(root, false);
    let fixer = Fixer::new(root, &loaded);
    let mut plan = FixPlan::default();
    let mut written: BTreeMap<String, usize> = BTreeMap::new();
    for g in &report.gaps {
        if g.status == Status::Suppressed || !g.kind.fixable() {
            continue;
        }
        let Some(target) = g.target_file.clone() else {
            continue;
        };
        // The same path check as the engine's, so a dry run never promises
        // a write the real run refuses.
        let fix = if written.contains_key(&target) {
            Fix::skip("covered", "another gap's fix writes this file")
        } else if let Err(e) = repo_rel(&target) {
            // `check` reports such a target as a schema_violation, not a
            // fixable gap; this guards a report made otherwise, so a write
            // the engine refuses never stops every other fix.
            Fix::skip("skipped", e)
        } else if let Some(e) = linked(root, &target) {
            Fix::skip("skipped", e)
        } else {
            match fixer.fix(g, &target) {
                Some(fix) => fix,
                None => continue,
            }
        };
        plan.actions.push(FixAction {
            gap: g.id.clone(),
            kind: g.kind,
            target_file: Some(target.clone()),
            action: fix.action.into(),
            note: fix.note,
        });
        if let Some(w) = fix.write {
            if w.path != target {
                return Err(warden_core::Error::Internal(format!(
                    "fix for gap {} would write {} instead of its target {target}",
                    g.id, w.path
                )));
            }
            written.insert(target, plan.writes.len());
            plan.writes.push(w);
        }
    }
    Ok(plan)
}

/// What one gap's fix does: the action recorded for it and the write (if any).
struct Fix {
    action: &'static str,
    note: Option<String>,
    write: Option<FileWrite>,
}

impl Fix {
    fn write(action: &'static str, write: FileWrite) -> Self {
        Fix {
            action,
            note: None,
            write: Some(write),
        }
    }

    fn skip(action: &'static str, note: impl Into<String>) -> Self {
        Fix {
            action,
            note: Some(note.into()),
            write: None,
        }
    }
}

/// The metas `warden fix` generates from, shared by every gap's fix.
struct Fixer<'a> {
    root: &'a Path,
    loaded: &'a [Loaded],
    by_path: BTreeMap<&'a str, &'a Loaded>,
    decls: Vec<TestDecl>,
}

impl<'a> Fixer<'a> {
    fn new(root: &'a Path, loaded: &'a [Loaded]) -> Self {
        Fixer {
            root,
            loaded,
            by_path: loaded.iter().map(|l| (l.path.as_str(), l)).collect(),
            decls: test_decls(loaded),
        }
    }

    /// The fix for one gap; `None` for a kind no generator handles.
    fn fix(&self, g: &Gap, target: &str) -> Option<Fix> {
        match g.kind {
            GapKind::MissingDoc | GapKind::EmptyDoc | GapKind::Drift => {
                Some(self.fix_document(g, target))
            }
            GapKind::MissingTestFile => Some(self.fix_test_file(target)),
            _ => None,
        }
    }

    /// A missing, empty or drifted document: the wiring graph is regenerated,
    /// any other document re-rendered from the meta that describes it.
    fn fix_document(&self, g: &Gap, target: &str) -> Fix {
        let meta = self.by_path.get(g.meta_file.as_str()).copied();
        if g.kind == GapKind::Drift
            && meta.is_some_and(|m| m.meta_type == MetaType::WiringContracts)
        {
            let (path, text) = crate::modules::graph(self.loaded);
            return Fix::write(
                "regenerated_graph",
                FileWrite {
                    current: read(self.root, &path),
                    path,
                    content: text,
                },
            );
        }
        let doc = meta
            .filter(|m| m.meta_type.is_document())
            .or_else(|| self.doc_meta_for(target));
        match doc {
            None => Fix::skip(
                "skipped",
                "no document meta describes this file; write it by hand or add a README.meta.yaml",
            ),
            Some(l) => self.render_document(l, g.kind, target),
        }
    }

    fn doc_meta_for(&self, target: &str) -> Option<&'a Loaded> {
        self.loaded
            .iter()
            .find(|l| l.meta_type.is_document() && doc_target(l).ok().as_deref() == Some(target))
    }

    /// The document `l` renders at `target`, or why it is left alone.
    fn render_document(&self, l: &Loaded, kind: GapKind, target: &str) -> Fix {
        let current = read(self.root, target);
        match render_doc(l, target, current.as_deref()) {
            DocRender::Write(content) => {
                let action = if current.is_some() && kind == GapKind::Drift {
                    "refreshed_sections"
                } else {
                    "rendered_document"
                };
                Fix::write(
                    action,
                    FileWrite {
                        path: target.to_string(),
                        current,
                        content,
                    },
                )
            }
            DocRender::UpToDate => Fix::skip("skipped", "already up to date"),
            DocRender::Unmanaged => Fix::skip("skipped", "hand-written document (no stamp fence)"),
            DocRender::HandEdited(f) => Fix::skip(
                "skipped",
                format!("hand edit inside fence(s) {}", f.join(", ")),
            ),
            DocRender::Broken(e) => Fix::skip("skipped", e),
        }
    }

    /// A missing test file: the skeletons of every declaration naming it.
    fn fix_test_file(&self, target: &str) -> Fix {
        let mine: Vec<TestDecl> = self
            .decls
            .iter()
            .filter(|d| d.file == target)
            .cloned()
            .collect();
        match skeleton_writes(self.root, &mine).writes.into_iter().next() {
            Some(w) => Fix::write("wrote_skeletons", w),
            None => Fix::skip("skipped", "no skeleton generator for this language"),
        }
    }
}

/// The proposal for a set of writes (`warden.proposal/v1`): one `write_file`
/// (source kind "person": a person ran the command, as for `plugin gen`)
/// per file, each guarded by the content it replaces.
pub fn proposal(writes: &[FileWrite], rationale: &str, id: &str) -> Value {
    let actions: Vec<Value> = writes
        .iter()
        .map(|w| {
            let expect = match &w.current {
                None => json!("absent"),
                Some(b) => json!({"sha256": Digest::of(b)}),
            };
            json!({"kind": "write_file", "path": w.path, "content": w.content, "expect": expect})
        })
        .collect();
    json!({
        "schema": "warden.proposal/v1",
        "source": {"kind": "person", "id": id},
        "event": "Manual",
        "rationale": rationale,
        "actions": actions,
    })
}

/// The unified diff between what is on disk and what would be written.
pub fn diff(writes: &[FileWrite]) -> String {
    let mut out = String::new();
    for w in writes {
        let old = w
            .current
            .as_ref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        let d = similar::TextDiff::from_lines(&old, &w.content);
        out.push_str(
            &d.unified_diff()
                .header(
                    &if w.current.is_some() {
                        format!("a/{}", w.path)
                    } else {
                        "/dev/null".into()
                    },
                    &format!("b/{}", w.path),
                )
                .to_string(),
        );
    }
    out
}
