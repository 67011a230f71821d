//! Regression tests for review 6's registry findings: a promotion row
//! written by `maintain` lacked its run id (F9), the todo line of a skipped
//! suggestion dropped the git window (F7), and the review loop printed an
//! LLM's control characters raw (F8).
// Tests, examples and benches drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::Fx;
use serde_json::json;
use std::io::Cursor;
use warden_registry::maintain::{Checker, SessionOutcome, Suggestion, Tier};
use warden_registry::model::{Entry, Origin};
use warden_registry::patch::{Confidence, PatchKind, RegistryPatch};
use warden_registry::review::{Editor, Terminal, review};

struct NoEditor;

impl Editor for NoEditor {
    fn edit(&mut self, _: &str) -> std::io::Result<String> {
        Err(std::io::Error::other("no editor in this test"))
    }
}

fn promotion() -> Vec<RegistryPatch> {
    let ev = RegistryPatch {
        capability_id: "capability.demo.alpha".into(),
        kind: PatchKind::EvidenceAppend,
        confidence: Confidence::High,
        rationale: "second test".into(),
        field_path: "evidence.tests".into(),
        value: None,
        append: Some(json!("src/alpha/tests/t1.py")),
        evidence_citations: vec![],
    };
    let p = RegistryPatch {
        capability_id: "capability.demo.alpha".into(),
        kind: PatchKind::MaturityPromote,
        confidence: Confidence::High,
        rationale: "tests landed".into(),
        field_path: "maturity.C.current".into(),
        value: Some(json!(2)),
        append: None,
        evidence_citations: vec![
            "src/alpha/tests/t0.py".into(),
            "src/alpha/tests/t1.py".into(),
        ],
    };
    vec![ev, p]
}

#[test]
fn promotion_history_written_by_maintain_lacked_the_run_id() {
    let fx = Fx::new();
    fx.write("src/alpha/tests/t1.py", "t1\n");
    fx.commit("tests");
    let r = fx.auto(&fx.opts(None), None, promotion());
    assert_eq!(r.outcome, SessionOutcome::Applied, "{r:#?}");
    let run = r.run.clone().expect("a run");
    let text = fx.read("registry/capabilities/alpha.md");
    let e = Entry::parse(text.as_bytes(), "a").expect("parse");
    let h = e.meta.promotion_history.last().expect("history");
    assert_eq!(h.run.as_deref(), Some(run.as_str()), "{text}");
    assert!(!text.contains("(this run)"), "{text}");
    // The ledger knows the run the entry names.
    let repo = warden_core::repo::Repo::open(&fx.root).expect("open");
    assert!(repo.ledger().require_run(&run).is_ok());
}

#[test]
fn a_dry_run_promotion_names_no_run() {
    let fx = Fx::new();
    fx.write("src/alpha/tests/t1.py", "t1\n");
    fx.commit("tests");
    let opts = fx.opts(None);
    let prepared = fx.prepare(&opts, None, promotion());
    let g = fx.gitx();
    let checker = Checker::new(&fx.root, &g, &prepared.standard, &opts);
    let mut decided = warden_registry::maintain::decide_auto(&prepared, &checker, &mut |_| {});
    let c = warden_registry::maintain::dry_run(&mut decided, &opts).expect("dry run");
    assert!(c.run.is_none());
    let e = decided
        .staged
        .entry("capability.demo.alpha")
        .expect("alpha");
    let h = e.meta.promotion_history.last().expect("history");
    assert_eq!(h.run, None);
}

#[test]
fn maintains_todo_hint_dropped_the_git_window() {
    let fx = Fx::new();
    let base = fx.git(&["rev-parse", "HEAD"]).trim().to_string();
    fx.write("docs/alpha/a.md", "a");
    fx.commit("docs");
    let opts = fx.opts(Some(&base));
    let prepared = fx.prepare(&opts, None, vec![]);
    assert_eq!(prepared.suggestions.len(), 1);
    let g = fx.gitx();
    let checker = Checker::new(&fx.root, &g, &prepared.standard, &opts);
    let mut input = Cursor::new(b"s\n".to_vec());
    let mut out = Vec::new();
    let mut t = Terminal {
        input: &mut input,
        output: &mut out,
        editor: &mut NoEditor,
    };
    let mut decided = review(&prepared, &checker, &mut t).expect("review");
    let r = fx.commit_session(&prepared, &mut decided, &opts, true);
    assert_eq!(
        r.remaining_manual,
        vec![format!(
            "#1 evidence_append capability.demo.alpha: skipped; review it with `warden registry maintain --capability capability.demo.alpha --from-git-since {base}`"
        )]
    );
    // Quitting is a partial session (exit 5): the suggestion is still to do.
    assert_eq!((r.outcome, r.exit_code), (SessionOutcome::Partial, 5));
}

#[test]
fn review_loop_printed_llm_control_characters_raw() {
    let fx = Fx::new();
    let opts = fx.opts(None);
    let mut prepared = fx.prepare(&opts, None, vec![]);
    prepared.suggestions = vec![Suggestion {
        id: 1,
        origin: Origin::Llm,
        tier: Tier::of(Origin::Llm, PatchKind::ConsumerFeedback),
        patch: RegistryPatch {
            capability_id: "capability.demo.alpha".into(),
            kind: PatchKind::ConsumerFeedback,
            confidence: Confidence::High,
            rationale: "ok \x1b]0;PWNED\x07\x1b[2J\x1b[31mred".into(),
            field_path: "consumer_feedback".into(),
            value: None,
            append: Some(json!("evil\r\x1b[Kharmless note")),
            evidence_citations: vec!["docs/\x1b[2Jx.md".into()],
        },
    }];
    let g = fx.gitx();
    let checker = Checker::new(&fx.root, &g, &prepared.standard, &opts);
    // The evidence gate refuses the made-up citation: what the person
    // sees of it is escaped too.
    let mut input = Cursor::new(b"q\n".to_vec());
    let mut out = Vec::new();
    let mut t = Terminal {
        input: &mut input,
        output: &mut out,
        editor: &mut NoEditor,
    };
    review(&prepared, &checker, &mut t).expect("review");
    let out = String::from_utf8(out).expect("utf-8");
    assert!(
        !out.contains('\x1b') && !out.contains('\r') && !out.contains('\x07'),
        "{out:?}"
    );
    assert_eq!(
        out,
        "\n[1/1] consumer_feedback capability.demo.alpha  (llm-metadata, llm, confidence high)\n  why (the LLM's words): \"ok \\x1b]0;PWNED\\x07\\x1b[2J\\x1b[31mred\"\n  evidence: \"docs/\\x1b[2Jx.md\"\n  registry/capabilities/alpha.md: consumer_feedback: 0 item(s) -> \"+ \\\"evil\\r\\x1b[Kharmless note\\\"\"\n  refused by the evidence gate: \"cited path \\\"docs/\\x1b[2Jx.md\\\": docs is not a directory inside the repository\"\n",
        "{out}"
    );
}

#[test]
fn registry_init_hook_force_lost_the_users_pre_commit_hook() {
    let d = tempfile::tempdir().expect("tempdir");
    let hooks = d.path().join("hooks");
    std::fs::create_dir_all(&hooks).expect("mkdir");
    let mine = "#!/bin/sh\n# my precious lint hook\nmake lint\n";
    std::fs::write(hooks.join("pre-commit"), mine).expect("write");
    let refused = warden_registry::init::install_hook(&hooks, false, false).expect("report");
    assert_eq!(refused.outcome, warden_registry::init::HookOutcome::Refused);
    let r = warden_registry::init::install_hook(&hooks, true, false).expect("installed");
    assert_eq!(r.outcome, warden_registry::init::HookOutcome::Written);
    let kept = hooks.join("pre-commit.warden-backup");
    assert_eq!(
        r.backup.as_deref(),
        Some(kept.display().to_string().as_str())
    );
    assert_eq!(std::fs::read_to_string(&kept).expect("backup"), mine);
    // A second forced install over a changed hook keeps both earlier ones.
    std::fs::write(hooks.join("pre-commit"), "#!/bin/sh\n# second\n").expect("write");
    let r = warden_registry::init::install_hook(&hooks, true, false).expect("installed");
    assert!(
        r.backup
            .as_deref()
            .is_some_and(|b| b.ends_with("pre-commit.warden-backup.1"))
    );
    assert_eq!(std::fs::read_to_string(&kept).expect("backup"), mine);
}
