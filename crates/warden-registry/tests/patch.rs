//! `patch::apply` on an entry: an item already there changes nothing; a
//! new one is reported as the field's before and after.
// Tests, examples and benches drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{DATE, Fx};
use serde_json::json;
use warden_registry::model::Origin;
use warden_registry::patch::{Confidence, FieldChange, PatchKind, RegistryPatch, Stamp, apply};
use warden_registry::registry::Registry;

fn patch(kind: PatchKind, field_path: &str, item: &str) -> RegistryPatch {
    RegistryPatch {
        capability_id: "capability.demo.alpha".into(),
        kind,
        confidence: Confidence::High,
        rationale: "test".into(),
        field_path: field_path.into(),
        value: None,
        append: Some(json!(item)),
        evidence_citations: vec![item.into()],
    }
}

fn stamp() -> Stamp {
    Stamp {
        date: DATE.into(),
        origin: Origin::Person,
        run: None,
    }
}

#[test]
fn an_evidence_item_already_listed_changes_nothing() {
    let fx = Fx::new();
    let mut reg = Registry::load(&fx.root).expect("load");
    let listed = patch(
        PatchKind::EvidenceAppend,
        "evidence.tests",
        "src/alpha/tests/t0.py",
    );
    assert_eq!(apply(&mut reg, &listed, &stamp()), Ok(None));
    let new = patch(
        PatchKind::EvidenceAppend,
        "evidence.tests",
        "src/alpha/tests/t1.py",
    );
    assert_eq!(
        apply(&mut reg, &new, &stamp()),
        Ok(Some(FieldChange {
            file: "registry/capabilities/alpha.md".into(),
            field: "evidence.tests".into(),
            before: "[src/alpha/tests/t0.py]".into(),
            after: "[src/alpha/tests/t0.py, src/alpha/tests/t1.py]".into(),
        }))
    );
}

#[test]
fn the_same_feedback_twice_is_recorded_once() {
    let fx = Fx::new();
    let mut reg = Registry::load(&fx.root).expect("load");
    let p = patch(
        PatchKind::ConsumerFeedback,
        "consumer_feedback",
        "works for us",
    );
    assert_eq!(
        apply(&mut reg, &p, &stamp()),
        Ok(Some(FieldChange {
            file: "registry/capabilities/alpha.md".into(),
            field: "consumer_feedback".into(),
            before: "0 item(s)".into(),
            after: "+ \"works for us\"".into(),
        }))
    );
    assert_eq!(apply(&mut reg, &p, &stamp()), Ok(None));
    let alpha = reg.entry("capability.demo.alpha").expect("alpha");
    assert_eq!(alpha.meta.consumer_feedback.len(), 1);
    assert_eq!(alpha.meta.consumer_feedback[0].date, DATE);
}
