//! Property: any sequence of accepted patches keeps the index and the entries
//! consistent (every row mirrors its entry's vector, every entry has a row
//! once index_row_add ran) and `registry validate` green; the rendered files
//! parse back to what was staged; the Markdown bodies never change.
// Tests, examples and benches drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

use proptest::prelude::*;
use serde_json::{Value, json};
use warden_registry::model::{Origin, Vector};
use warden_registry::patch::{self, Confidence, PatchKind, RegistryPatch, Stamp};
use warden_registry::registry::Registry;
use warden_registry::validate::validate;

const IDS: [&str; 3] = ["capability.p.one", "capability.p.two", "capability.p.three"];

fn fixture() -> (tempfile::TempDir, Registry) {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let mut index = String::from("updated: \"2026-01-01\"\ncapabilities:\n");
    for (i, id) in IDS.iter().enumerate() {
        let slug = id.rsplit('.').next().unwrap_or("x");
        let path = format!("registry/capabilities/{slug}.md");
        let text = format!(
            "---\nid: {id}\ntitle: {slug}\nmaturity:\n  D: {{current: 1}}\n  A: {{current: 0}}\n  C: {{current: 0}}\n  R: {{current: 0}}\n---\nbody {i}  \n\t*md*\n"
        );
        std::fs::create_dir_all(root.join("registry/capabilities")).expect("mkdir");
        std::fs::write(root.join(&path), text).expect("write");
        if i < 2 {
            // The third entry starts without an index row.
            index.push_str(&format!(
                "- id: {id}\n  entry: {path}\n  vector: D1/A0/C0/R0\n"
            ));
        }
    }
    std::fs::create_dir_all(root.join("registry/indexes")).expect("mkdir");
    std::fs::write(root.join("registry/indexes/capabilities.yaml"), index).expect("write");
    let reg = Registry::load(root).expect("load");
    (dir, reg)
}

fn arb_patch() -> impl Strategy<Value = RegistryPatch> {
    let id = prop::sample::select(IDS.to_vec());
    let kind = prop::sample::select(PatchKind::ALL.to_vec());
    let dim = prop::sample::select(vec!['D', 'A', 'C', 'R']);
    let word = "[a-z]{1,6}";
    (id, kind, dim, 0u8..10, word, word).prop_map(|(id, kind, dim, level, w1, w2)| {
        let slug = id.rsplit('.').next().unwrap_or("x").to_string();
        let (field, value, append): (String, Option<Value>, Option<Value>) = match kind {
            PatchKind::VectorSync => (
                "index.vector".into(),
                Some(json!(format!("D{level}/A0/C0/R0"))),
                None,
            ),
            PatchKind::EvidenceAppend => (
                format!("evidence.{w1}"),
                None,
                Some(json!(format!("docs/{w2}.md"))),
            ),
            PatchKind::ArtifactAppend => (
                "availability.current_artifacts".into(),
                None,
                Some(json!(format!("cargo-bin:{w1}"))),
            ),
            PatchKind::MaturityPromote => {
                (format!("maturity.{dim}.current"), Some(json!(level)), None)
            }
            PatchKind::ConsumerFeedback => (
                "consumer_feedback".into(),
                None,
                Some(json!(format!("{w1} {w2}"))),
            ),
            PatchKind::RelationAdd => (
                format!("relations.{w1}"),
                None,
                Some(json!(IDS[level as usize % 3])),
            ),
            PatchKind::IndexRowAdd => (
                "index.capabilities".into(),
                Some(json!(format!("registry/capabilities/{slug}.md"))),
                None,
            ),
        };
        RegistryPatch {
            capability_id: id.to_string(),
            kind,
            confidence: Confidence::High,
            rationale: "prop".into(),
            field_path: field,
            value,
            append,
            evidence_citations: vec![format!("docs/{w2}.md")],
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn accepted_patches_keep_the_registry_consistent_and_valid(patches in prop::collection::vec(arb_patch(), 0..24)) {
        let (dir, mut reg) = fixture();
        let bodies: Vec<String> = reg.entries.iter().map(|e| e.body.clone()).collect();
        let stamp = Stamp { date: "2026-11-29".into(), origin: Origin::Llm, run: None };
        for p in &patches {
            // A patch the registry refuses is simply not accepted.
            let _ = patch::apply(&mut reg, p, &stamp);
        }
        let staged = reg.staged("2026-11-29").expect("staged");
        let report = validate(&staged, dir.path());
        prop_assert!(report.ok, "{:#?}", report.problems);
        prop_assert!(!report.problems.iter().any(|p| p.code == "vector_drift"), "{:#?}", report.problems);
        let ix = staged.index.as_ref().expect("index");
        for row in &ix.capabilities {
            let e = staged.entries.iter().find(|e| e.path == row.entry).expect("entry of row");
            prop_assert_eq!(row.vector, e.meta.maturity.vector());
        }
        prop_assert_eq!(staged.entries.iter().map(|e| e.body.clone()).collect::<Vec<_>>(), bodies);
        // What would be written parses back to the same registry.
        for w in reg.writes("2026-11-29").expect("writes") {
            std::fs::write(dir.path().join(&w.path), &w.content).expect("write");
        }
        let back = Registry::load(dir.path()).expect("reload");
        prop_assert!(back.load_problems.is_empty());
        prop_assert_eq!(back.entries.iter().map(|e| e.meta.clone()).collect::<Vec<_>>(), staged.entries.iter().map(|e| e.meta.clone()).collect::<Vec<_>>());
        let _ = Vector::default();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    /// The entry parser takes untrusted bytes: it never panics, and any body
    /// under a valid front matter survives a rewrite byte for byte.
    #[test]
    fn entry_parsing_never_panics_and_keeps_any_body(bytes in prop::collection::vec(any::<u8>(), 0..400), body in "(?s).{0,300}") {
        let _ = warden_registry::model::Entry::parse(&bytes, "e.md");
        let mut with_fm = b"---\n".to_vec();
        with_fm.extend_from_slice(&bytes);
        let _ = warden_registry::model::Entry::parse(&with_fm, "e.md");
        let text = format!("---\nid: capability.x\ntitle: x\nmaturity:\n  D: {{current: 1}}\n  A: {{current: 0}}\n  C: {{current: 0}}\n  R: {{current: 0}}\n---\n{body}");
        let e = warden_registry::model::Entry::parse(text.as_bytes(), "e.md").expect("valid front matter");
        prop_assert_eq!(&e.body, &body);
        let again = warden_registry::model::Entry::parse(e.render().expect("render").as_bytes(), "e.md").expect("reparse");
        prop_assert_eq!(again.body, body);
        let _ = warden_registry::model::Index::parse(&bytes, "i.yaml");
        let _ = warden_registry::standard::Standard::parse(&bytes, "s.yaml");
    }
}
