//! The direct parse of a meta file ([`meta::Body::from_yaml_direct`]) must
//! give exactly what the parse through a value gives, or stand aside: the
//! same typed fields, the same gap for a bad file.

use super::{load_bytes, load_value};
use proptest::prelude::*;

/// Scalars that YAML reads as something other than plain text, or nearly.
const SCALARS: &[&str] = &[
    "plain text",
    "S1",
    "Part 7.",
    "123",
    "-5",
    "+12",
    "0x1F",
    "0o17",
    "0123",
    "-0123",
    "1_000",
    "1e3",
    "1e999",
    "-1e999",
    "1E400",
    ".inf",
    "-.Inf",
    ".nan",
    ".5",
    "1.",
    "true",
    "false",
    "True",
    "yes",
    "no",
    "on",
    "null",
    "Null",
    "~",
    "",
    "'quoted 1'",
    "\"123\"",
    "'true'",
    "'null'",
    "\"1e999\"",
    "!!str 5",
    "!!int 5",
    "!custom x",
    "&a anchored",
    "12:30",
    "2001-12-14",
    "[a, b]",
    "[]",
    "{}",
    "{a: 1}",
    "a: b",
    "\"tab\\there\"",
    "x # comment",
    "- item",
    "|\n    block",
    ">-\n    folded 5",
    "\"unterminated",
];

const TYPES: &[&str] = &[
    "subsystem_readme",
    "component_readme",
    "'subsystem_readme'",
    "root_readme",
    "doc_architecture",
    "subsystem_test_spec",
    "test_unit_spec",
    "not_a_type",
    "5",
];

fn readme(t: &str, s: &[&str]) -> String {
    format!(
        "type: {t}\nlocation: {}\nsubsystem:\n  name: {}\n  purpose: {}\nresponsibilities:\n  handles: [{}, {}]\nrequired_sections: [{}]\nproject_key: {}\n",
        s[0], s[1], s[2], s[3], s[4], s[5], s[6]
    )
}

fn test_spec(t: &str, s: &[&str]) -> String {
    format!(
        "type: {t}\nsubsystem:\n  name: {}\nunit_tests:\n  modules:\n    - path: {}\n      file: {}\n      must_cover: [{}]\nexpectations:\n  coverage_target: {}\nmodule_policies:\n  - module: {}\n    file: {}\n",
        s[0], s[1], s[2], s[3], s[4], s[5], s[6]
    )
}

/// Both paths on one text: the same loaded meta (fields as JSON) or the
/// same gap.
fn same(text: &str) -> Result<(), TestCaseError> {
    let path = "pkg/s/README.meta.yaml";
    let direct = load_bytes(path, text.as_bytes().to_vec());
    let value = load_value(path, text.as_bytes().to_vec());
    match (direct, value) {
        (Ok(d), Ok(v)) => {
            prop_assert_eq!(d.meta_type, v.meta_type);
            prop_assert_eq!(&d.type_name, &v.type_name);
            prop_assert_eq!(&d.text, &v.text);
            prop_assert_eq!(&d.bytes, &v.bytes);
            prop_assert_eq!(
                serde_json::to_value(&d.body).map_err(|e| TestCaseError::fail(e.to_string()))?,
                serde_json::to_value(&v.body).map_err(|e| TestCaseError::fail(e.to_string()))?
            );
        }
        (Err(d), Err(v)) => prop_assert_eq!(format!("{d:?}"), format!("{v:?}")),
        (d, v) => prop_assert!(false, "direct {:?}\nvalue {:?}", d.is_ok(), v.is_ok()),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn the_direct_parse_gives_what_the_value_path_gives(
        t in prop::sample::select(TYPES),
        s in prop::collection::vec(prop::sample::select(SCALARS), 7),
        spec in any::<bool>(),
    ) {
        let text = if spec { test_spec(t, &s) } else { readme(t, &s) };
        same(&text)?;
    }
}

#[test]
fn the_bench_metas_take_the_direct_path() {
    for text in [
        "type: subsystem_readme\nlocation: README.md\nsubsystem:\n  name: S1\n  purpose: Part 1.\n",
        "type: subsystem_test_spec\nsubsystem:\n  name: S1\nunit_tests:\n  modules:\n    - path: pkg/s00001/engine.py\n      file: tests/unit/test_s00001.py\n      must_cover: [\"Runs.\"]\n",
    ] {
        let t = crate::scan::hint(text).expect("hint").type_name;
        let t = crate::meta::MetaType::from_name(t).expect("type");
        assert!(
            crate::meta::Body::from_yaml_direct(t, text).is_some(),
            "{text}"
        );
        same(text).expect("same");
    }
}

#[test]
fn a_number_where_text_is_expected_stands_aside_and_the_value_path_words_the_gap() {
    for v in ["123", "1e999", "true", "null", "!!int 5"] {
        let text = format!("type: subsystem_readme\nsubsystem:\n  name: {v}\n  purpose: P.\n");
        let t = crate::meta::MetaType::SubsystemReadme;
        assert!(
            crate::meta::Body::from_yaml_direct(t, &text).is_none(),
            "{v}"
        );
        let gap = load_bytes("README.meta.yaml", text.into_bytes()).expect_err("a gap");
        // A number is the wrong type; an infinite one is no value at all.
        let kind = if v == "1e999" {
            crate::gaps::GapKind::InvalidMeta
        } else {
            crate::gaps::GapKind::SchemaViolation
        };
        assert_eq!(gap.kind, kind, "{v}: {gap:?}");
    }
}
