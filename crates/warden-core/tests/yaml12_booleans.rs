//! warden reads YAML 1.2: only `true` and `false` are booleans. Under the
//! YAML 1.1 rules serde-saphyr applies by default, a module named `off` or a
//! folder `y` in `.warden/modules.yaml` was refused with "invalid type:
//! boolean `true`, expected a string" (found twice by users). These tests pin
//! the YAML 1.2 reading and the words of the refusal when a boolean field
//! gets one of the YAML 1.1 words.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

use proptest::prelude::*;
use serde::Deserialize;
use serde_json::{Value, json};
use warden_core::modules::Modules;
use warden_core::policy::Policy;
use warden_core::strict;

/// Every boolean spelling of YAML 1.1 that YAML 1.2 does not have.
const YAML11_WORDS: &[&str] = &[
    "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off",
    "OFF",
];

/// The YAML 1.2 core schema's booleans.
const YAML12_BOOLEANS: &[(&str, bool)] = &[
    ("true", true),
    ("True", true),
    ("TRUE", true),
    ("false", false),
    ("False", false),
    ("FALSE", false),
];

const HINT: &str = "warden reads YAML 1.2: only true and false (unquoted) are booleans; yes, no, on, off, y and n are text";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Flag {
    #[allow(dead_code)]
    flag: bool,
}

#[test]
fn a_module_named_off_and_a_folder_y_are_read_as_strings() {
    let text = "schema: warden.modules/v1\nmodules:\n  - name: off\n    folder: y\n    keywords: [yes, no, on, N]\n  - name: no\n    folder: modules/Off/\n";
    let m = Modules::parse_bytes(text.as_bytes(), ".warden/modules.yaml").expect("parses");
    let got: Vec<(&str, &str, Vec<&str>)> = m
        .modules
        .iter()
        .map(|m| {
            (
                m.name.as_str(),
                m.folder.as_str(),
                m.keywords.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("off", "y", vec!["yes", "no", "on", "n"]),
            ("no", "modules/Off", vec![]),
        ]
    );
}

#[test]
fn a_module_named_true_is_refused_with_write_it_in_quotes() {
    let text = "schema: warden.modules/v1\nmodules:\n  - name: true\n    folder: t/\n";
    let e = Modules::parse_bytes(text.as_bytes(), ".warden/modules.yaml").expect_err("a boolean");
    assert_eq!(
        e.to_string(),
        ".warden/modules.yaml: modules[0].name: true is a boolean here, not text; write \"true\" in quotes"
    );
    assert_eq!(e.hint().as_deref(), Some(HINT));
    let quoted = "schema: warden.modules/v1\nmodules:\n  - name: \"true\"\n    folder: t/\n";
    let m = Modules::parse_bytes(quoted.as_bytes(), ".warden/modules.yaml").expect("quoted");
    assert_eq!(m.modules[0].name, "true");
}

#[test]
fn a_policy_bool_given_yes_is_refused_naming_the_field_and_the_fix() {
    for word in YAML11_WORDS {
        let text = format!(
            "schema: warden.policy/v1\nversion: \"1\"\nplugins:\n  run_unsandboxed: {word}\n"
        );
        let e = Policy::parse(&text, "policy.yaml").expect_err(word);
        assert_eq!(
            e.to_string(),
            format!(
                "policy.yaml: plugins.run_unsandboxed: \"{word}\" is not a boolean; write true or false"
            )
        );
        assert_eq!(e.hint().as_deref(), Some(HINT), "{word}");
        assert_eq!(e.class(), warden_core::ExitClass::Input, "{word}");
    }
    for (word, want) in YAML12_BOOLEANS {
        let text = format!(
            "schema: warden.policy/v1\nversion: \"1\"\nplugins:\n  run_unsandboxed: {word}\n"
        );
        let p = Policy::parse(&text, "policy.yaml").expect(word);
        assert_eq!(p.file.plugins.run_unsandboxed, *want, "{word}");
    }
}

#[test]
fn yaml11_boolean_words_are_text_in_every_yaml_read() {
    for word in YAML11_WORDS {
        let text = format!("k: {word}\nlist: [{word}]\n{word}: 1\n");
        let want = json!({"k": word, "list": [word], *word: 1});
        let strict_value = strict::parse_yaml(text.as_bytes(), "x.yaml").expect(word);
        assert_eq!(strict_value, want, "parse_yaml, {word}");
        let direct: Value = strict::from_yaml_str(&text).expect(word);
        assert_eq!(direct, want, "from_yaml_str, {word}");
        // Both the direct typed read and the strict path refuse it as a bool.
        assert!(
            strict::from_yaml_str::<Flag>(&format!("flag: {word}\n")).is_err(),
            "{word}"
        );
    }
    for (word, want) in YAML12_BOOLEANS {
        let v = strict::parse_yaml(format!("k: {word}\n").as_bytes(), "x.yaml").expect(word);
        assert_eq!(v, json!({"k": want}), "{word}");
        let v: Value = strict::from_yaml_str(&format!("k: {word}\n")).expect(word);
        assert_eq!(v, json!({"k": want}), "{word}");
    }
    // A quoted word was always text; an explicit tag still makes a boolean.
    let v = strict::parse_yaml(b"a: 'yes'\nb: \"off\"\nc: !!bool true\n", "x.yaml").expect("ok");
    assert_eq!(v, json!({"a": "yes", "b": "off", "c": true}));
}

fn yaml11_word() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["y", "yes", "n", "no", "on", "off"]),
        prop::collection::vec(any::<bool>(), 3),
    )
        .prop_map(|(w, upper)| {
            w.chars()
                .zip(upper)
                .map(|(c, u)| if u { c.to_ascii_uppercase() } else { c })
                .collect()
        })
}

proptest! {
    /// Any casing of a YAML 1.1 boolean word ("yEs", "oFF") is text where
    /// text is wanted and refused, with the fix, where a boolean is wanted.
    #[test]
    fn any_casing_of_a_yaml11_word_is_text(word in yaml11_word()) {
        let v = strict::parse_yaml(format!("k: {word}\n").as_bytes(), "x.yaml").expect("parses");
        prop_assert_eq!(v, json!({"k": word.clone()}));
        let v = strict::parse_yaml(format!("flag: {word}\n").as_bytes(), "f.yaml").expect("parses");
        let e = strict::deserialize::<Flag>(&v, "f.yaml", "see the schema").expect_err("not a bool");
        prop_assert_eq!(
            e.to_string(),
            format!("f.yaml: flag: \"{word}\" is not a boolean; write true or false")
        );
        prop_assert_eq!(e.hint(), Some(HINT.to_string()));
    }
}
