//! The review loop driven through a reader (tests drive
//! stdin): apply, skip, edit with re-validation, quit, apply-all-safe, the
//! level confirmation, and end of input writing nothing.
// Tests, examples and benches drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::Fx;
use serde_json::json;
use std::io::Cursor;
use warden_registry::maintain::{Checker, Gate, PatchOutcome, SessionOutcome};
use warden_registry::model::{Entry, Origin};
use warden_registry::patch::{Confidence, PatchKind, RegistryPatch};
use warden_registry::review::{Editor, Terminal, review};

/// An editor that returns scripted texts and keeps what it was shown.
struct Scripted {
    outputs: Vec<String>,
    shown: Vec<String>,
}

impl Editor for Scripted {
    fn edit(&mut self, text: &str) -> std::io::Result<String> {
        self.shown.push(text.to_string());
        if self.outputs.is_empty() {
            return Err(std::io::Error::other("no more scripted edits"));
        }
        Ok(self.outputs.remove(0))
    }
}

/// A session with three deterministic suggestions (docs a, b, c for alpha)
/// and, optionally, extra patches.
fn setup(
    extra: Vec<RegistryPatch>,
) -> (
    Fx,
    warden_registry::maintain::Options,
    warden_registry::maintain::Prepared,
) {
    let fx = Fx::new();
    let base = fx.git(&["rev-parse", "HEAD"]).trim().to_string();
    for n in ["a", "b", "c"] {
        fx.write(&format!("docs/alpha/{n}.md"), n);
    }
    fx.commit("docs");
    let opts = fx.opts(Some(&base));
    let prepared = fx.prepare(&opts, None, extra);
    (fx, opts, prepared)
}

fn run(
    fx: &Fx,
    opts: &warden_registry::maintain::Options,
    prepared: &warden_registry::maintain::Prepared,
    answers: &str,
    editor: &mut Scripted,
) -> (warden_registry::maintain::MaintainReport, String) {
    let g = fx.gitx();
    let checker = Checker::new(&fx.root, &g, &prepared.standard, opts);
    let mut input = Cursor::new(answers.as_bytes().to_vec());
    let mut out = Vec::new();
    let mut t = Terminal {
        input: &mut input,
        output: &mut out,
        editor,
    };
    let mut decided = review(prepared, &checker, &mut t).expect("review");
    let report = fx.commit_session(prepared, &mut decided, opts, true);
    (report, String::from_utf8(out).expect("utf-8"))
}

fn docs(fx: &Fx) -> Vec<String> {
    let e = Entry::parse(fx.read("registry/capabilities/alpha.md").as_bytes(), "a").expect("parse");
    e.meta
        .evidence
        .get("documentation")
        .cloned()
        .unwrap_or_default()
}

fn no_edits() -> Scripted {
    Scripted {
        outputs: vec![],
        shown: vec![],
    }
}

#[test]
fn apply_and_skip_write_only_the_accepted_patches_at_the_end() {
    let (fx, opts, prepared) = setup(vec![]);
    assert_eq!(prepared.suggestions.len(), 3);
    let (r, out) = run(&fx, &opts, &prepared, "a\ns\na\n", &mut no_edits());
    assert!(
        out.contains(
            "[1/3] evidence_append capability.demo.alpha  (safe, deterministic, confidence high)"
        ),
        "{out}"
    );
    assert!(
        out.contains("evidence.documentation: [] -> [docs/alpha/a.md]"),
        "the field diff is shown: {out}"
    );
    assert_eq!(docs(&fx), vec!["docs/alpha/a.md", "docs/alpha/c.md"]);
    assert_eq!(r.outcome, SessionOutcome::Partial);
    assert_eq!(r.exit_code, 5);
    assert_eq!(r.patches[1].outcome, PatchOutcome::Skipped);
}

#[test]
fn a_bad_edit_is_shown_and_asked_again_then_the_good_edit_applies() {
    let (fx, opts, prepared) = setup(vec![]);
    let good = "capability_id: capability.demo.alpha\nkind: evidence_append\nconfidence: high\nrationale: edited\nfield_path: evidence.documentation\nappend: docs/alpha/c.md\nevidence_citations: []\n";
    let mut ed = Scripted {
        outputs: vec![
            "capability_id: capability.demo.alpha\nkind: evidence_apend\n".into(),
            good.into(),
        ],
        shown: vec![],
    };
    // e (bad) -> edit again? y -> good -> a ; then skip the other two.
    let (r, out) = run(&fx, &opts, &prepared, "e\ny\na\ns\ns\n", &mut ed);
    assert!(out.contains("the edited patch is not valid"), "{out}");
    assert!(
        ed.shown[0].contains("append: docs/alpha/a.md"),
        "the editor got the patch as YAML"
    );
    assert!(
        ed.shown[1].contains("evidence_apend"),
        "asked again with the bad text"
    );
    assert_eq!(docs(&fx), vec!["docs/alpha/c.md"]);
    assert_eq!(
        r.patches[0].origin,
        Origin::Person,
        "an edited patch is the person's"
    );
    assert_eq!(r.patches[0].patch.rationale, "edited");
}

#[test]
fn an_edit_citing_a_missing_file_is_refused_by_the_evidence_gate() {
    let (fx, opts, prepared) = setup(vec![]);
    let bad = "capability_id: capability.demo.alpha\nkind: evidence_append\nconfidence: high\nrationale: edited\nfield_path: evidence.documentation\nappend: docs/alpha/nope.md\nevidence_citations: []\n";
    let mut ed = Scripted {
        outputs: vec![bad.into()],
        shown: vec![],
    };
    let (r, out) = run(&fx, &opts, &prepared, "e\ns\ns\n", &mut ed);
    assert!(out.contains("refused by the evidence gate"), "{out}");
    assert_eq!(r.patches[0].gate, Some(Gate::Evidence));
    assert!(
        docs(&fx).is_empty(),
        "nothing written for refused/skipped patches"
    );
}

#[test]
fn quit_asks_whether_to_write_what_was_accepted() {
    let (fx, opts, prepared) = setup(vec![]);
    let (r, out) = run(&fx, &opts, &prepared, "a\nq\nn\n", &mut no_edits());
    assert!(
        out.contains("Write the 1 accepted patch(es) [y/N]?"),
        "{out}"
    );
    assert!(docs(&fx).is_empty());
    assert_eq!(r.outcome, SessionOutcome::Declined);
    assert!(r.run.is_none());
    let (fx, opts, prepared) = setup(vec![]);
    let (r, _) = run(&fx, &opts, &prepared, "a\nq\ny\n", &mut no_edits());
    assert_eq!(docs(&fx), vec!["docs/alpha/a.md"]);
    assert_eq!(r.exit_code, 5, "the rest were not reviewed");
}

#[test]
fn end_of_input_writes_nothing() {
    let (fx, opts, prepared) = setup(vec![]);
    let before = fx.tree();
    let (r, _) = run(&fx, &opts, &prepared, "a\na\n", &mut no_edits());
    assert_eq!(fx.tree(), before);
    assert!(r.run.is_none());
}

#[test]
fn apply_all_safe_takes_the_deterministic_ones_and_still_asks_about_the_others() {
    let rel = RegistryPatch {
        capability_id: "capability.demo.alpha".into(),
        kind: PatchKind::RelationAdd,
        confidence: Confidence::Low,
        rationale: "uses beta".into(),
        field_path: "relations.depends_on".into(),
        value: None,
        append: Some(json!("capability.demo.beta")),
        evidence_citations: vec![],
    };
    let (fx, opts, prepared) = setup(vec![rel]);
    assert_eq!(prepared.suggestions.len(), 4);
    let (r, out) = run(&fx, &opts, &prepared, "A\ns\n", &mut no_edits());
    assert!(
        out.contains("[2/4] evidence_append capability.demo.alpha: accepted (A)"),
        "{out}"
    );
    assert!(
        out.contains("[4/4] relation_add"),
        "the person's patch is still asked: {out}"
    );
    assert_eq!(docs(&fx).len(), 3);
    assert_eq!(r.patches[3].outcome, PatchOutcome::Skipped);
}

#[test]
fn a_promotion_above_the_delta_needs_a_confirmation_in_the_loop() {
    let (fx, mut opts, _) = setup(vec![]);
    opts.max_delta = 0;
    let promo = RegistryPatch {
        capability_id: "capability.demo.alpha".into(),
        kind: PatchKind::MaturityPromote,
        confidence: Confidence::High,
        rationale: "docs landed".into(),
        field_path: "maturity.D.current".into(),
        value: Some(json!(2)),
        append: None,
        evidence_citations: vec!["docs/alpha/a.md".into()],
    };
    let prepared = fx.prepare(&opts, None, vec![promo]);
    // Accept the three docs, then: a -> not confirmed (asked again) -> a -> y.
    let (r, out) = run(
        &fx,
        &opts,
        &prepared,
        "a\na\na\na\nn\na\ny\n",
        &mut no_edits(),
    );
    assert!(out.contains("Confirm this promotion [y/N]?"), "{out}");
    assert_eq!(r.patches[3].outcome, PatchOutcome::Applied, "{r:#?}");
    let e = Entry::parse(fx.read("registry/capabilities/alpha.md").as_bytes(), "a").expect("parse");
    assert_eq!(e.meta.maturity.D.current, 2);
}

#[test]
fn giving_up_on_a_bad_edit_keeps_the_suggested_patch() {
    let (fx, opts, prepared) = setup(vec![]);
    let mut ed = Scripted {
        outputs: vec!["capability_id: capability.demo.alpha\nkind: evidence_apend\n".into()],
        shown: vec![],
    };
    // e (bad) -> edit again? n -> an unknown key -> a ; then skip the other two.
    let (r, out) = run(&fx, &opts, &prepared, "e\nn\nx\na\ns\ns\n", &mut ed);
    assert!(out.contains("the edited patch is not valid"), "{out}");
    assert!(
        out.contains("unknown answer \"x\"; ? shows the keys"),
        "{out}"
    );
    assert_eq!(ed.shown.len(), 1, "not asked to edit again");
    assert_eq!(docs(&fx), vec!["docs/alpha/a.md"]);
    assert_eq!(
        r.patches[0].origin,
        Origin::Deterministic,
        "the patch as suggested, not the person's"
    );
}
