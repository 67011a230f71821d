//! Contracts read YAML 1.2 (`warden_core::strict::yaml_options`): `yes`,
//! `no`, `on`, `off`, `y` and `n` are text. A bool field given one of them is
//! refused naming the file, the field and the fix; a meta file's words are
//! rendered as written (under YAML 1.1 `off` came out as "false").
// Tests, examples and benches drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

use warden_contracts::config::ContractsConfig;
use warden_contracts::meta::{self, MetaType};
use warden_contracts::ordered::Node;

#[test]
fn a_contracts_bool_given_yes_is_refused_naming_the_field_and_the_fix() {
    let cases = [
        (
            "schema: warden.contracts/v1\nstrict: yes\n",
            ".warden/contracts.yaml: strict: \"yes\" is not a boolean; write true or false",
        ),
        (
            "schema: warden.contracts/v1\ntests:\n  command: [pytest]\n  allow_no_tests: Off\n",
            ".warden/contracts.yaml: tests.allow_no_tests: \"Off\" is not a boolean; write true or false",
        ),
    ];
    for (text, want) in cases {
        let e = ContractsConfig::parse(text.as_bytes(), ".warden/contracts.yaml").expect_err(text);
        assert_eq!(e.to_string(), want);
        assert!(
            e.hint()
                .is_some_and(|h| h.contains("warden reads YAML 1.2")),
            "{:?}",
            e.hint()
        );
    }
    let c = ContractsConfig::parse(
        b"schema: warden.contracts/v1\nstrict: true\nexclude: [off/**]\n",
        ".warden/contracts.yaml",
    )
    .expect("true is a boolean, off/** a glob");
    assert!(c.strict);
    assert_eq!(c.exclude, vec!["off/**"]);
}

#[test]
fn a_meta_bool_given_on_is_refused_naming_the_field_and_the_fix() {
    let text = "type: module_contracts\nci:\n  require_docs_and_tests_meta: on\n";
    let value =
        warden_core::strict::parse_yaml(text.as_bytes(), ".l9_modules.meta.yaml").expect("parses");
    let e = meta::validate(MetaType::ModuleContracts, &value, ".l9_modules.meta.yaml")
        .expect_err("on is not a boolean");
    assert_eq!(
        e.to_string(),
        ".l9_modules.meta.yaml: ci.require_docs_and_tests_meta: \"on\" is not a boolean; write true or false"
    );
}

#[test]
fn yaml11_words_in_a_meta_file_render_as_written() {
    let n = Node::parse("name: off\nflags: [yes, No, y, ON]\nkept: true\n").expect("parses");
    assert_eq!(
        n,
        Node::Map(vec![
            ("name".into(), Node::Scalar("off".into())),
            (
                "flags".into(),
                Node::Seq(
                    ["yes", "No", "y", "ON"]
                        .iter()
                        .map(|s| Node::Scalar((*s).into()))
                        .collect()
                )
            ),
            ("kept".into(), Node::Scalar("true".into())),
        ])
    );
}
