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
