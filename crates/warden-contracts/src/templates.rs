//! Annotated meta templates (`warden contracts new TYPE [PATH]`): every field
//! with a `#` explanation, as the user asked. Each template parses and
//! validates against its type's schema (tested).

use crate::meta::MetaType;

pub fn template(t: MetaType) -> &'static str {
    match t {
        MetaType::RootReadme => include_str!("templates/root_readme.yaml"),
        MetaType::SubsystemReadme => include_str!("templates/subsystem_readme.yaml"),
        MetaType::ComponentReadme => include_str!("templates/component_readme.yaml"),
        MetaType::DocArchitecture => include_str!("templates/doc_architecture.yaml"),
        MetaType::DocAiCollaboration => include_str!("templates/doc_ai_collaboration.yaml"),
        MetaType::TestStrategy => include_str!("templates/test_strategy.yaml"),
        MetaType::TestUnitSpec => include_str!("templates/test_unit_spec.yaml"),
        MetaType::TestIntegrationSpec => include_str!("templates/test_integration_spec.yaml"),
        MetaType::TestE2eSpec => include_str!("templates/test_e2e_spec.yaml"),
        MetaType::SubsystemTestSpec => include_str!("templates/subsystem_test_spec.yaml"),
        MetaType::SubsystemDocsSpec => include_str!("templates/subsystem_docs_spec.yaml"),
        MetaType::RepoContract => include_str!("templates/repo_contract.yaml"),
        MetaType::SchemaExtractionContract => {
            include_str!("templates/schema_extraction_contract.yaml")
        }
        MetaType::ModuleContracts => include_str!("templates/module_contracts.yaml"),
        MetaType::ModuleMeta => include_str!("templates/module_meta.yaml"),
        MetaType::ModuleWiring => include_str!("templates/module_wiring.yaml"),
        MetaType::WiringContracts => include_str!("templates/wiring_contracts.yaml"),
    }
}

/// Whether a template's string value is a placeholder for the person to
/// replace: written in capitals (`PROJECT NAME`, `STEP`, `BEHAVIOUR`), or an
/// instruction sentence (`One sentence: what this repository is.`, `Where
/// things run.`). Example paths and names (`src/`, `core`) are not: they are
/// usable as they are.
fn is_placeholder(s: &str) -> bool {
    let capitals =
        s.chars().any(|c| c.is_ascii_uppercase()) && !s.chars().any(|c| c.is_ascii_lowercase());
    let sentence = s.ends_with('.')
        && s.contains(' ')
        && s.chars().next().is_some_and(|c| c.is_ascii_uppercase());
    capitals || sentence
}

/// The placeholder values the template of `t` writes ([`template`]): one
/// list, read from the template itself, shared by `contracts new` (which
/// writes them) and `warden check` (which reports a meta that still holds
/// one). Sorted, each once.
pub fn placeholders(t: MetaType) -> &'static [String] {
    use std::sync::OnceLock;
    static ALL: OnceLock<Vec<Vec<String>>> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        MetaType::ALL
            .iter()
            .map(|t| {
                let mut out = Vec::new();
                if let Ok(v) = warden_core::strict::parse_yaml(template(*t).as_bytes(), t.name()) {
                    collect_placeholders(&v, &mut out);
                }
                out.sort();
                out.dedup();
                out
            })
            .collect()
    });
    MetaType::ALL
        .iter()
        .position(|x| *x == t)
        .and_then(|i| all.get(i))
        .map_or(&[], Vec::as_slice)
}

fn collect_placeholders(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) if is_placeholder(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_placeholders(x, out)),
        serde_json::Value::Object(m) => m.values().for_each(|x| collect_placeholders(x, out)),
        _ => {}
    }
}

/// Each field of `value` (a meta of type `t`) that still holds one of its
/// template's [`placeholders`]: (field path, placeholder), in document order.
pub fn placeholders_in(t: MetaType, value: &serde_json::Value) -> Vec<(String, String)> {
    let wanted = placeholders(t);
    let mut out = Vec::new();
    if !wanted.is_empty() {
        find_placeholders(value, wanted, String::new(), &mut out);
    }
    out
}

fn find_placeholders(
    v: &serde_json::Value,
    wanted: &[String],
    at: String,
    out: &mut Vec<(String, String)>,
) {
    match v {
        serde_json::Value::String(s) if wanted.binary_search(s).is_ok() => {
            out.push((at, s.clone()));
        }
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                find_placeholders(x, wanted, format!("{at}[{i}]"), out);
            }
        }
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                let field = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                find_placeholders(x, wanted, field, out);
            }
        }
        _ => {}
    }
}

/// Where `contracts new TYPE` puts the file when no PATH is given (repository-relative).
pub fn default_path(t: MetaType) -> &'static str {
    match t {
        MetaType::RootReadme => "README.meta.yaml",
        MetaType::DocArchitecture => "docs/architecture.meta.yaml",
        MetaType::DocAiCollaboration => "docs/ai-collaboration.meta.yaml",
        MetaType::TestStrategy => "tests/strategy.meta.yaml",
        MetaType::TestUnitSpec => "tests/unit/meta.yaml",
        MetaType::TestIntegrationSpec => "tests/integration/meta.yaml",
        MetaType::TestE2eSpec => "tests/e2e/meta.yaml",
        t => t.default_file_name(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_template_holds_its_placeholders_and_a_filled_in_one_none() {
        let t = MetaType::RootReadme;
        let v = warden_core::strict::parse_yaml(template(t).as_bytes(), "t").expect("yaml");
        let found = placeholders_in(t, &v);
        let fields: Vec<&str> = found.iter().map(|(f, _)| f.as_str()).collect();
        assert!(fields.contains(&"project.name"), "{fields:?}");
        assert!(
            fields.contains(&"getting_started.setup_steps[0]"),
            "{fields:?}"
        );
        // Example paths are usable values, not placeholders.
        assert!(
            !found.iter().any(|(_, p)| p == "src/" || p == "docs/"),
            "{found:?}"
        );
        let filled = serde_json::json!({"project": {"name": "warden", "goals": ["Keep repositories tidy."]}});
        assert_eq!(placeholders_in(t, &filled), Vec::new());
    }

    #[test]
    fn every_template_validates_and_explains_every_field() {
        for t in MetaType::ALL {
            let text = template(t);
            let v = warden_core::strict::parse_yaml(text.as_bytes(), t.name()).expect("yaml");
            assert_eq!(v["type"].as_str(), Some(t.name()));
            crate::meta::validate(t, &v, t.name()).expect("valid");
            // Every `key: value` line outside a list item carries a `#` explanation.
            let mut list_indent: Option<usize> = None;
            for (i, line) in text.lines().enumerate() {
                let indent = line.len() - line.trim_start().len();
                let l = line.trim_start();
                if l.is_empty() || l.starts_with('#') {
                    continue;
                }
                if l.starts_with("- ") {
                    list_indent = Some(indent);
                    continue;
                }
                if list_indent.is_some_and(|li| indent > li) {
                    continue;
                }
                list_indent = None;
                if l.ends_with(':') {
                    continue;
                }
                assert!(
                    line.contains('#'),
                    "{}: line {} has no explanation: {line}",
                    t.name(),
                    i + 1
                );
            }
        }
    }
}
