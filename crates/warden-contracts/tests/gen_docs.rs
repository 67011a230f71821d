//! `gen docs --check`: a managed document is proven in step by its stamp
//! (every input of the render and the checksum of every fence) without
//! parsing the meta or rendering; everything else is rendered and compared
//! byte for byte, so a hand edit, a changed meta, a changed generator, a
//! moved target and a broken stamp all still show as drift.

mod common;

use common::write;
use proptest::prelude::*;
use std::path::Path;
use warden_contracts::check;
use warden_contracts::gaps::GapKind;
use warden_contracts::generate::{self, DocsPlan};
use warden_contracts::meta::MetaType;
use warden_contracts::proofs::Proofs;
use warden_contracts::render::{self, DocInputs, Refresh};

const METAS: &[(&str, &str, &str)] = &[
    (
        "a/README.meta.yaml",
        "a/README.md",
        "type: subsystem_readme\nsubsystem:\n  name: Agents\n  purpose: Run agents.\nresponsibilities:\n  handles: [tasks]\n",
    ),
    (
        "b/README.meta.yaml",
        "c/README.md",
        "location: \"c/\"  # rendered elsewhere\ntype: component_readme\ncomponent: {name: Queue}\n",
    ),
    (
        "docs/architecture.meta.yaml",
        "docs/architecture.md",
        "type: doc_architecture\nsystem_context:\n  description: The system.\n",
    ),
    (
        "tests/strategy.meta.yaml",
        "tests/strategy.md",
        "type: test_strategy\nlocation: tests/strategy.md\nphilosophy: {goals: [fast]}\n",
    ),
];

fn apply(root: &Path, plan: &DocsPlan) {
    for w in &plan.writes {
        write(root, &w.path, &w.content);
    }
}

fn read(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).expect("read")
}

/// A repository whose documents were all rendered by `gen docs`.
fn managed() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    for (meta, _, text) in METAS {
        write(d.path(), meta, text);
    }
    let plan = generate::plan_docs(d.path());
    assert_eq!(plan.writes.len(), METAS.len(), "{:?}", plan.problems);
    apply(d.path(), &plan);
    d
}

fn proven(root: &Path, meta: &str) -> Option<String> {
    let bytes = std::fs::read(root.join(meta)).expect("meta");
    generate::stamped_in_step(root, meta, &bytes, &render::generator_id())
}

#[test]
fn untouched_documents_are_proven_in_step_by_their_stamps() {
    let d = managed();
    for (meta, target, _) in METAS {
        assert_eq!(proven(d.path(), meta).as_deref(), Some(*target), "{meta}");
    }
    let plan = generate::plan_docs(d.path());
    assert!(plan.writes.is_empty() && plan.problems.is_empty());
    assert_eq!(plan.current.len(), METAS.len());
    // Hand-written text outside the fences keeps the proof.
    let doc = read(d.path(), "a/README.md").replace(
        "## Key components\n",
        "## Key components\n\nNotes by hand.\n",
    );
    write(d.path(), "a/README.md", &doc);
    assert!(proven(d.path(), "a/README.meta.yaml").is_some());
    assert!(
        check::check(d.path(), &Default::default())
            .expect("check")
            .clean
    );
}

/// Discovery reads the working tree, not git's index: a meta nobody has
/// added yet is rendered like a committed one; a git-ignored one is not.
#[test]
fn an_untracked_new_meta_is_still_found() {
    let sb = warden_testkit::Sandbox::new();
    let root = sb.repo("r", false);
    for (meta, _, text) in METAS {
        write(&root, meta, text);
    }
    apply(&root, &generate::plan_docs(&root));
    write(&root, ".gitignore", "ignored/\n");
    sb.commit_all(&root, "managed documents");
    write(
        &root,
        "new/README.meta.yaml",
        "type: subsystem_readme\nsubsystem: {name: New}\n",
    );
    write(
        &root,
        "ignored/README.meta.yaml",
        "type: subsystem_readme\nsubsystem: {name: Ignored}\n",
    );
    let plan = generate::plan_docs(&root);
    let changed: Vec<&str> = plan.writes.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(changed, vec!["new/README.md"]);
    assert_eq!(plan.current.len(), METAS.len());
}

#[test]
fn a_hand_edit_inside_a_fence_shows_as_drift() {
    let d = managed();
    let doc = read(d.path(), "a/README.md").replace("- tasks\n", "- tasks, edited\n");
    write(d.path(), "a/README.md", &doc);
    assert_eq!(proven(d.path(), "a/README.meta.yaml"), None);
    let plan = generate::plan_docs(d.path());
    assert!(plan.writes.is_empty());
    assert_eq!(plan.problems.len(), 1, "{:?}", plan.problems);
    assert!(
        plan.problems[0]
            .message
            .contains("responsibilities-and-boundaries")
    );
    let r = check::check(d.path(), &Default::default()).expect("check");
    let drift: Vec<_> = r.gaps.iter().filter(|g| g.kind == GapKind::Drift).collect();
    assert_eq!(drift.len(), 1);
    assert_eq!(drift[0].key, "hand-edit");
}

#[test]
fn a_changed_meta_shows_as_drift_with_a_diff() {
    let d = managed();
    write(
        d.path(),
        "a/README.meta.yaml",
        &METAS[0].2.replace("Run agents.", "Run agents well."),
    );
    assert_eq!(proven(d.path(), "a/README.meta.yaml"), None);
    let plan = generate::plan_docs(d.path());
    assert_eq!(plan.writes.len(), 1);
    assert_eq!(plan.writes[0].path, "a/README.md");
    let diff = generate::diff(&plan.writes);
    assert!(diff.contains("-**Purpose**: Run agents.\n"), "{diff}");
    assert!(diff.contains("+**Purpose**: Run agents well.\n"), "{diff}");
    let r = check::check(d.path(), &Default::default()).expect("check");
    assert!(
        r.gaps
            .iter()
            .any(|g| g.kind == GapKind::Drift && g.key == "render")
    );
}

#[test]
fn a_changed_generator_shows_as_drift_with_a_diff() {
    let d = tempfile::tempdir().expect("tempdir");
    for (meta, _, text) in METAS {
        write(d.path(), meta, text);
    }
    let old = "warden-contracts 0.0.1 template 1";
    let plan = generate::plan_docs_with(d.path(), old);
    apply(d.path(), &plan);
    assert!(generate::plan_docs_with(d.path(), old).writes.is_empty());
    // The current generator proves none of them and re-renders every one.
    for (meta, _, _) in METAS {
        assert_eq!(proven(d.path(), meta), None);
    }
    let plan = generate::plan_docs(d.path());
    assert_eq!(plan.writes.len(), METAS.len());
    let diff = generate::diff(&plan.writes);
    assert!(
        diff.contains(&format!("-<!-- Generated by {old} from")),
        "{diff}"
    );
    assert!(
        diff.contains(&format!(
            "+<!-- Generated by {} from",
            render::generator_id()
        )),
        "{diff}"
    );
}

#[test]
fn a_document_copied_to_a_new_location_is_not_proven_by_its_old_stamp() {
    let d = managed();
    // The meta now renders to d/README.md; a copy of the old document there
    // carries a stamp for c/README.md.
    write(
        d.path(),
        "b/README.meta.yaml",
        &METAS[1].2.replace("\"c/\"", "\"d/\""),
    );
    write(d.path(), "d/README.md", &read(d.path(), "c/README.md"));
    assert_eq!(proven(d.path(), "b/README.meta.yaml"), None);
    let plan = generate::plan_docs(d.path());
    assert_eq!(
        plan.writes
            .iter()
            .map(|w| w.path.as_str())
            .collect::<Vec<_>>(),
        vec!["d/README.md"]
    );
}

#[test]
fn a_stamp_or_fence_changed_by_hand_is_not_trusted() {
    let d = managed();
    let doc = read(d.path(), "docs/architecture.md");
    // The stamp's input digest changed (its checksum no longer matches).
    let i = doc.find("; inputs ").expect("stamp") + "; inputs ".len();
    let forged = format!("{}0{}", &doc[..i], &doc[i + 1..]);
    write(d.path(), "docs/architecture.md", &forged);
    assert_eq!(proven(d.path(), "docs/architecture.meta.yaml"), None);
    assert_eq!(generate::plan_docs(d.path()).problems.len(), 1);
    // A whole fence removed (its markers too): every other checksum still
    // matches, the stamp's section digest does not.
    let start = doc
        .find("<!-- BEGIN AUTO SECTION: data-view -->")
        .expect("fence");
    let end = doc.find("<!-- END AUTO SECTION: data-view").expect("end");
    let end = end + doc[end..].find('\n').expect("nl") + 1;
    write(
        d.path(),
        "docs/architecture.md",
        &format!("{}{}", &doc[..start], &doc[end..]),
    );
    assert_eq!(proven(d.path(), "docs/architecture.meta.yaml"), None);
    let plan = generate::plan_docs(d.path());
    assert!(
        plan.problems[0]
            .message
            .contains("\"data-view\" is missing")
    );
}

#[test]
fn a_meta_the_line_scanner_cannot_read_falls_back_to_the_full_render() {
    let d = tempfile::tempdir().expect("tempdir");
    write(
        d.path(),
        "a/README.meta.yaml",
        "{type: subsystem_readme, subsystem: {name: Flow}}\n",
    );
    apply(d.path(), &generate::plan_docs(d.path()));
    assert_eq!(proven(d.path(), "a/README.meta.yaml"), None);
    let plan = generate::plan_docs(d.path());
    assert!(plan.writes.is_empty() && plan.problems.is_empty());
    assert_eq!(plan.current, vec!["a/README.md"]);
}

fn inputs(meta: &[u8]) -> DocInputs<'_> {
    DocInputs {
        generator: "g",
        meta_type: MetaType::SubsystemReadme,
        meta_file: "a/README.meta.yaml",
        target: "a/README.md",
        meta_bytes: meta,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever is done to a managed document, the stamp's proof never
    /// disagrees with the full render: proven in step ⇒ rendering and
    /// patching every fence changes no byte and finds no hand edit.
    #[test]
    fn the_stamps_proof_never_disagrees_with_the_full_render(
        purpose in "[a-z ]{0,12}",
        other in "[a-z ]{0,12}",
        at in 0usize..4000,
        len in 0usize..40,
        insert in "([-a-z#<>!: \n]|AUTO SECTION: |AUTO-SECTION: |BEGIN |END |checksum=|-->|subsystem-overview){0,8}",
    ) {
        let meta = format!("type: subsystem_readme\nsubsystem: {{name: A, purpose: '{purpose}'}}\n");
        let doc = render::render_full(&inputs(meta.as_bytes()));
        let at = at.min(doc.len());
        let mut end = (at + len).min(doc.len());
        let mut start = at;
        while !doc.is_char_boundary(start) { start -= 1; }
        while !doc.is_char_boundary(end) { end -= 1; }
        let edited = format!("{}{}{}", &doc[..start], insert, &doc[end..]);
        let now = format!("type: subsystem_readme\nsubsystem: {{name: A, purpose: '{other}'}}\n");
        for m in [meta.as_bytes(), now.as_bytes()] {
            for d in [&doc, &edited] {
                if render::in_step("g", "a/README.meta.yaml", "a/README.md", m, d) {
                    match render::refresh_rendered(&inputs(m), d) {
                        Refresh::Managed { text, hand_edited } => {
                            prop_assert!(hand_edited.is_empty());
                            prop_assert_eq!(&text, d);
                        }
                        other => prop_assert!(false, "proven but {:?}", other),
                    }
                }
            }
        }
        // The untouched render is always proven.
        prop_assert!(render::in_step("g", "a/README.meta.yaml", "a/README.md", meta.as_bytes(), &doc));
    }
}

#[test]
fn adopt_fences_a_hand_written_document_keeping_every_byte_outside_the_fences() {
    let d = tempfile::tempdir().expect("tempdir");
    write(d.path(), METAS[2].0, METAS[2].2);
    // Hand-written: a title, an intro, two of the six sections (one with a
    // numbered heading), a code block with a heading-like line, no final newline.
    let hand = "# Our architecture\n\nIntro by hand.\n\n## 1. System context\n\nWe wrote this.\n\n```\n## Data view\n```\n\n## Deployment view\n\nk8s, by hand.";
    write(d.path(), "docs/architecture.md", hand);
    let w = generate::plan_adopt(d.path(), "docs/architecture.md").expect("adopt");
    assert_eq!(w.current.as_deref(), Some(hand.as_bytes()));
    // Removing the fences (markers and bodies) and the inserted headings
    // gives back the hand-written bytes.
    let fences = warden_core::fence::parse(&w.content).expect("fences");
    let mut outside = String::new();
    let mut last = 0;
    for f in &fences {
        let begin = w.content[..f.body.start]
            .rfind("<!-- BEGIN")
            .expect("begin");
        outside.push_str(&w.content[last..begin]);
        last = f.body.end + w.content[f.body.end..].find('\n').expect("end line") + 1;
    }
    outside.push_str(&w.content[last..]);
    let mut back = outside.clone();
    for h in [
        "Logical architecture",
        "Process and runtime view",
        "Data view",
        "Cross-cutting concerns",
    ] {
        back = back.replacen(&format!("## {h}\n\n\n"), "", 1).replacen(
            &format!("\n\n## {h}\n\n"),
            "",
            1,
        );
    }
    assert_eq!(
        back.replace("\n\n\n", "\n\n"),
        hand.replace("\n\n\n", "\n\n"),
        "{}",
        w.content
    );
    // Every hand-written line is still there, in order, and the result is in step.
    let mut pos = 0;
    for line in hand.lines().filter(|l| !l.is_empty()) {
        let i = w.content[pos..]
            .find(line)
            .unwrap_or_else(|| panic!("{line:?} kept in order"));
        pos += i + line.len();
    }
    write(d.path(), "docs/architecture.md", &w.content);
    assert!(
        proven(d.path(), "docs/architecture.meta.yaml").is_some(),
        "{}",
        w.content
    );
    let plan = generate::plan_docs(d.path());
    assert!(
        plan.writes.is_empty() && plan.problems.is_empty(),
        "{:?}",
        plan.problems
    );
    assert!(
        check::check(d.path(), &Default::default())
            .expect("check")
            .clean
    );
    // The hand text sits right after its section's fence.
    assert!(
        w.content.contains("checksum=") && w.content.contains(" -->\n\nWe wrote this.\n"),
        "{}",
        w.content
    );
    // Once managed, adopt refuses; so it does for a document without a meta
    // and for managed headings out of order.
    let again = generate::plan_adopt(d.path(), "docs/architecture.md").expect_err("managed");
    assert!(again.contains("already managed"), "{again}");
    let none = generate::plan_adopt(d.path(), "docs/other.md").expect_err("no meta");
    assert!(none.contains("no document meta"), "{none}");
    write(
        d.path(),
        "docs/architecture.md",
        "## Data view\n\nx\n\n## System context\n\ny\n",
    );
    let order = generate::plan_adopt(d.path(), "docs/architecture.md").expect_err("order");
    assert!(order.contains("\"Data view\""), "{order}");
}

/// `gen docs` with remembered proofs taken as settled (every change counts
/// as older than the run), stored afterwards.
fn plan_remembering(root: &Path) -> DocsPlan {
    let g = render::generator_id();
    let proofs = Proofs::load_settled_before(root, &g, i128::MAX);
    let plan = generate::plan_docs_proven(root, &g, &proofs);
    proofs.store();
    plan
}

fn holds(root: &Path, meta: &str) -> Option<String> {
    Proofs::load_settled_before(root, &render::generator_id(), i128::MAX).holds(root, meta)
}

/// A remembered proof skips reading an unchanged meta and document; a hand
/// edit inside a fence is still caught when the editor keeps the size and
/// sets the modification time back (the change time still moves).
#[test]
fn remembered_proofs_never_hide_a_hand_edit_inside_a_fence() {
    let d = managed();
    std::fs::create_dir_all(d.path().join(".warden/state")).expect("mkdir");
    let first = plan_remembering(d.path());
    assert!(first.writes.is_empty() && first.problems.is_empty());
    for (meta, target, _) in METAS {
        assert_eq!(holds(d.path(), meta).as_deref(), Some(*target), "{meta}");
    }
    let doc_path = d.path().join("a/README.md");
    let mtime = std::fs::metadata(&doc_path)
        .expect("stat")
        .modified()
        .expect("mtime");
    let doc = read(d.path(), "a/README.md").replace("- tasks\n", "- TASKS\n");
    write(d.path(), "a/README.md", &doc);
    std::fs::File::options()
        .write(true)
        .open(&doc_path)
        .expect("open")
        .set_modified(mtime)
        .expect("set mtime");
    assert_eq!(holds(d.path(), "a/README.meta.yaml"), None);
    let plan = plan_remembering(d.path());
    assert_eq!(plan.problems.len(), 1, "{:?}", plan.problems);
    assert_eq!(plan.problems[0].file, "a/README.md");
    assert_eq!(plan.current.len(), METAS.len() - 1);
    // A changed meta is not proven by its old proof either.
    write(
        d.path(),
        "b/README.meta.yaml",
        &METAS[1].2.replace("Queue", "Queues"),
    );
    assert_eq!(holds(d.path(), "b/README.meta.yaml"), None);
    assert_eq!(plan_remembering(d.path()).writes.len(), 1);
}

/// A change made less than the settle time before the run is not
/// remembered (a second write in the same timestamp tick could leave the
/// times unchanged); without `.warden/state/` nothing is remembered.
#[test]
fn recent_changes_and_repositories_without_state_are_not_remembered() {
    let d = managed();
    let g = render::generator_id();
    let p = Proofs::load(d.path(), &g);
    assert!(
        generate::plan_docs_proven(d.path(), &g, &p)
            .problems
            .is_empty()
    );
    p.store();
    assert!(!d.path().join(warden_contracts::proofs::FILE).exists());
    std::fs::create_dir_all(d.path().join(".warden/state")).expect("mkdir");
    let p = Proofs::load(d.path(), &g);
    generate::plan_docs_proven(d.path(), &g, &p);
    p.store();
    // Just written: too recent to remember, so no cache file yet.
    assert!(!d.path().join(warden_contracts::proofs::FILE).exists());
    assert_eq!(holds(d.path(), "a/README.meta.yaml"), None);
}

/// A proofs file that cannot be read, or one another generator wrote,
/// proves nothing; the run stores its own proofs over it.
#[test]
fn unreadable_or_foreign_proofs_prove_nothing() {
    let d = managed();
    std::fs::create_dir_all(d.path().join(".warden/state")).expect("mkdir");
    let file = d.path().join(warden_contracts::proofs::FILE);
    std::fs::write(&file, "{not json").expect("write");
    assert_eq!(holds(d.path(), "a/README.meta.yaml"), None);
    assert!(plan_remembering(d.path()).problems.is_empty());
    assert_eq!(
        holds(d.path(), "a/README.meta.yaml").as_deref(),
        Some("a/README.md")
    );
    let other = "warden-contracts 0.0.1 template 1";
    let foreign = Proofs::load_settled_before(d.path(), other, i128::MAX);
    assert_eq!(foreign.holds(d.path(), "a/README.meta.yaml"), None);
}
