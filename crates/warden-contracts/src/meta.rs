//! Meta contracts: the `type:` of every meta file, the serde shape of each
//! type, and parsing with the gap a bad file becomes.
//!
//! Each type's struct lists the fields the seed documents. Unknown keys are
//! allowed at every level (the seed's examples carry project-specific keys),
//! the keys a check needs are required. The seed's `l9_*` names are aliases of
//! the generic names.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Every meta type warden knows. The wire name is the generic one; the seed's
/// names are accepted as aliases.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum MetaType {
    RootReadme,
    SubsystemReadme,
    ComponentReadme,
    DocArchitecture,
    DocAiCollaboration,
    TestStrategy,
    TestUnitSpec,
    TestIntegrationSpec,
    TestE2eSpec,
    SubsystemTestSpec,
    SubsystemDocsSpec,
    RepoContract,
    SchemaExtractionContract,
    ModuleContracts,
    ModuleMeta,
    ModuleWiring,
    WiringContracts,
}

impl MetaType {
    pub const ALL: [MetaType; 17] = [
        MetaType::RootReadme,
        MetaType::SubsystemReadme,
        MetaType::ComponentReadme,
        MetaType::DocArchitecture,
        MetaType::DocAiCollaboration,
        MetaType::TestStrategy,
        MetaType::TestUnitSpec,
        MetaType::TestIntegrationSpec,
        MetaType::TestE2eSpec,
        MetaType::SubsystemTestSpec,
        MetaType::SubsystemDocsSpec,
        MetaType::RepoContract,
        MetaType::SchemaExtractionContract,
        MetaType::ModuleContracts,
        MetaType::ModuleMeta,
        MetaType::ModuleWiring,
        MetaType::WiringContracts,
    ];

    pub fn name(self) -> &'static str {
        match self {
            MetaType::RootReadme => "root_readme",
            MetaType::SubsystemReadme => "subsystem_readme",
            MetaType::ComponentReadme => "component_readme",
            MetaType::DocArchitecture => "doc_architecture",
            MetaType::DocAiCollaboration => "doc_ai_collaboration",
            MetaType::TestStrategy => "test_strategy",
            MetaType::TestUnitSpec => "test_unit_spec",
            MetaType::TestIntegrationSpec => "test_integration_spec",
            MetaType::TestE2eSpec => "test_e2e_spec",
            MetaType::SubsystemTestSpec => "subsystem_test_spec",
            MetaType::SubsystemDocsSpec => "subsystem_docs_spec",
            MetaType::RepoContract => "repo_contract",
            MetaType::SchemaExtractionContract => "schema_extraction_contract",
            MetaType::ModuleContracts => "module_contracts",
            MetaType::ModuleMeta => "module_meta",
            MetaType::ModuleWiring => "module_wiring",
            MetaType::WiringContracts => "wiring_contracts",
        }
    }

    /// The seed's name for the type, where it differs.
    pub fn seed_alias(self) -> Option<&'static str> {
        match self {
            MetaType::RepoContract => Some("l9_repo_contract"),
            MetaType::ModuleContracts => Some("l9_module_contracts"),
            MetaType::ModuleMeta => Some("l9_module_meta"),
            MetaType::WiringContracts => Some("l9_wiring_contracts"),
            _ => None,
        }
    }

    /// The type for a `type:` value, generic or seed name.
    pub fn from_name(s: &str) -> Option<MetaType> {
        MetaType::ALL
            .into_iter()
            .find(|t| t.name() == s || t.seed_alias() == Some(s))
    }

    /// Whether the type describes one rendered Markdown document.
    pub fn is_document(self) -> bool {
        matches!(
            self,
            MetaType::RootReadme
                | MetaType::SubsystemReadme
                | MetaType::ComponentReadme
                | MetaType::DocArchitecture
                | MetaType::DocAiCollaboration
                | MetaType::TestStrategy
        )
    }

    /// `location` names a directory whose `README.md` is the document.
    pub fn is_readme(self) -> bool {
        matches!(
            self,
            MetaType::RootReadme | MetaType::SubsystemReadme | MetaType::ComponentReadme
        )
    }

    /// The file name the seed uses for the type (for `contracts new`).
    pub fn default_file_name(self) -> &'static str {
        match self {
            MetaType::RootReadme | MetaType::SubsystemReadme | MetaType::ComponentReadme => {
                "README.meta.yaml"
            }
            MetaType::DocArchitecture => "architecture.meta.yaml",
            MetaType::DocAiCollaboration => "ai-collaboration.meta.yaml",
            MetaType::TestStrategy => "strategy.meta.yaml",
            MetaType::TestUnitSpec | MetaType::TestIntegrationSpec | MetaType::TestE2eSpec => {
                "meta.yaml"
            }
            MetaType::SubsystemTestSpec => "tests.meta.yaml",
            MetaType::SubsystemDocsSpec => "docs.meta.yaml",
            MetaType::RepoContract => ".l9_repo.meta.yaml",
            MetaType::SchemaExtractionContract => ".l9_schema_extraction.meta.yaml",
            MetaType::ModuleContracts => ".l9_modules.meta.yaml",
            MetaType::ModuleMeta => "module.meta.yaml",
            MetaType::ModuleWiring => "wiring.meta.yaml",
            MetaType::WiringContracts => ".l9_wiring.meta.yaml",
        }
    }

    /// The gold-standard section headings a rendered document of this type
    /// must carry (the user's gold-standard lists, verbatim).
    pub fn gold_sections(self) -> &'static [&'static str] {
        match self {
            MetaType::RootReadme => &[
                "Project overview",
                "Architecture summary",
                "Repository layout",
                "Getting started",
                "Configuration and environments",
                "Running tests and quality gates",
                "Deployment",
                "Observability and operations",
                "Security and compliance",
                "Working with AI on this repo",
                "Contribution guide (high level)",
                "License and attribution",
            ],
            MetaType::SubsystemReadme => &[
                "Subsystem overview",
                "Responsibilities and boundaries",
                "Directory layout",
                "Key components",
                "Data models and contracts",
                "Execution and lifecycle",
                "Configuration",
                "Observability",
                "Failure modes and resilience",
                "Working with AI on this subsystem",
            ],
            MetaType::ComponentReadme => &[
                "Component purpose",
                "Public APIs",
                "Internal design",
                "State and persistence",
                "Performance characteristics",
                "Extension points",
                "Testing strategy",
                "AI collaboration notes",
            ],
            MetaType::DocArchitecture => &[
                "System context",
                "Logical architecture",
                "Process and runtime view",
                "Deployment view",
                "Data view",
                "Cross-cutting concerns",
            ],
            MetaType::DocAiCollaboration => &[
                "Philosophy and goals",
                "Required pre-reading for AI tools",
                "Editing rules",
                "Change workflow",
                "Validation and safety",
                "Examples and anti-patterns",
            ],
            MetaType::TestStrategy => &["Philosophy", "Test layout", "Tooling", "Environments"],
            _ => &[],
        }
    }

    /// For each gold section, the meta key whose value renders its body.
    pub fn section_keys(self) -> &'static [&'static str] {
        match self {
            MetaType::RootReadme => &[
                "project",
                "architecture",
                "repository_layout",
                "getting_started",
                "configuration",
                "testing",
                "deployment",
                "observability",
                "security",
                "ai_collaboration",
                "contribution",
                "license",
            ],
            MetaType::SubsystemReadme => &[
                "subsystem",
                "responsibilities",
                "directory_layout",
                "key_components",
                "data_and_contracts",
                "lifecycle",
                "configuration",
                "observability",
                "failure_modes",
                "ai_collaboration",
            ],
            MetaType::ComponentReadme => &[
                "component",
                "public_apis",
                "design",
                "state_and_persistence",
                "performance",
                "extension_points",
                "testing",
                "ai_collaboration",
            ],
            MetaType::DocArchitecture => &[
                "system_context",
                "logical_architecture",
                "runtime_view",
                "deployment_view",
                "data_view",
                "cross_cutting_concerns",
            ],
            MetaType::DocAiCollaboration => &[
                "philosophy",
                "pre_reading",
                "editing_rules",
                "change_workflow",
                "validation",
                "examples",
            ],
            MetaType::TestStrategy => &["philosophy", "test_layout", "tooling", "environments"],
            _ => &[],
        }
    }

    pub fn schema_name(self) -> String {
        format!("meta.{}", self.name())
    }
}

/// Free-form project-specific keys, allowed anywhere.
pub type Extra = BTreeMap<String, Value>;

macro_rules! meta_struct {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
        pub struct $name {
            $($(#[$fm])* pub $field: $ty,)*
            /// Project-specific keys are allowed.
            #[serde(flatten)]
            pub extra: Extra,
        }
    };
}

/// A `{path, description/role/purpose}` entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct PathEntry {
    pub path: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A named entry (`{name, path, role}` and the like).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Named {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

type Strings = Vec<String>;

meta_struct!(Project {
    /// Human-readable project name (the document's title).
    name: String,
    /// Single-sentence summary.
    #[serde(default)] one_liner: Option<String>,
    /// What success looks like.
    #[serde(default)] goals: Strings,
    /// Explicitly out of scope.
    #[serde(default)] non_goals: Strings,
});

meta_struct!(
    /// `type: root_readme` — the repository's main README (`/README.meta.yaml`).
    RootReadme {
    /// The directory whose README.md is rendered ("/" = the repository root).
    #[serde(default)] location: Option<String>,
    project: Project,
    /// `{summary, key_components[{id, path, role}]}`.
    #[serde(default)] architecture: Option<Value>,
    /// `{entries[{path, description}]}`.
    #[serde(default)] repository_layout: Option<Value>,
    /// `{prerequisites[], setup_steps[], quickstart_commands[]}`.
    #[serde(default)] getting_started: Option<Value>,
    /// `{files[{path, purpose}], env_vars_required[]}`.
    #[serde(default)] configuration: Option<Value>,
    /// `{commands[], notes}`.
    #[serde(default)] testing: Option<Value>,
    /// `{strategy, entrypoints[], environments[{name, notes}]}`.
    #[serde(default)] deployment: Option<Value>,
    /// `{logging, metrics, dashboards[]}`.
    #[serde(default)] observability: Option<Value>,
    /// `{threat_model_summary, sensitive_components[], data_policies}`.
    #[serde(default)] security: Option<Value>,
    /// `{allowed_scopes[], restricted_scopes[], forbidden_scopes[], required_pre_reading[], change_policy}`.
    #[serde(default)] ai_collaboration: Option<Value>,
    /// `{workflow, coding_standards[], contact}`.
    #[serde(default)] contribution: Option<Value>,
    /// `{type, file}`.
    #[serde(default)] license: Option<Value>,
    /// Headings required in addition to the gold-standard ones.
    #[serde(default)] required_sections: Strings,
});

meta_struct!(SubsystemId {
    /// The subsystem's name (the document's title).
    name: String,
    #[serde(default)] purpose: Option<String>,
    #[serde(default)] context: Option<String>,
});

meta_struct!(
    /// `type: subsystem_readme` — `<subsystem>/README.meta.yaml`.
    SubsystemReadme {
    /// Repository-relative directory whose README.md is rendered (default: the meta file's).
    #[serde(default)] location: Option<String>,
    subsystem: SubsystemId,
    /// `{handles[], avoids[]}`.
    #[serde(default)] responsibilities: Option<Value>,
    /// `{entries[{path, role}]}`.
    #[serde(default)] directory_layout: Option<Value>,
    /// `{public_apis[{name, path, role}], internal_helpers[{name, path, role}]}`.
    #[serde(default)] key_components: Option<Value>,
    /// `{schemas[{name, path, role}], invariants[]}`.
    #[serde(default)] data_and_contracts: Option<Value>,
    /// `{startup{description}, shutdown{description}}`.
    #[serde(default)] lifecycle: Option<Value>,
    /// `{feature_flags[], env_vars[], config_files[]}`.
    #[serde(default)] configuration: Option<Value>,
    /// `{logs[], metrics[]}`.
    #[serde(default)] observability: Option<Value>,
    /// `{common[], resilience[]}`.
    #[serde(default)] failure_modes: Option<Value>,
    /// `{safe_to_edit[], requires_review[], invariants_to_preserve[]}`.
    #[serde(default)] ai_collaboration: Option<Value>,
    #[serde(default)] required_sections: Strings,
});

meta_struct!(ComponentId {
    name: String,
    #[serde(default)] purpose: Option<String>,
    #[serde(default)] consumers: Strings,
});

meta_struct!(
    /// `type: component_readme` — `<component>/README.meta.yaml`.
    ComponentReadme {
    #[serde(default)] location: Option<String>,
    component: ComponentId,
    /// `{functions[{name, path, signature, role}], classes[{name, path, role}]}`.
    #[serde(default)] public_apis: Option<Value>,
    /// `{patterns[], constraints[]}`.
    #[serde(default)] design: Option<Value>,
    /// `{backends[], guarantees[]}`.
    #[serde(default)] state_and_persistence: Option<Value>,
    /// `{expectations[], hot_paths[]}`.
    #[serde(default)] performance: Option<Value>,
    /// `{how_to_extend[], constraints[]}`.
    #[serde(default)] extension_points: Option<Value>,
    /// `{strategy[], commands[]}`.
    #[serde(default)] testing: Option<Value>,
    /// `{safe_to_edit[], risky_to_edit[], post_edit_checks[]}`.
    #[serde(default)] ai_collaboration: Option<Value>,
    #[serde(default)] required_sections: Strings,
});

meta_struct!(
    /// `type: doc_architecture` — `docs/architecture.meta.yaml`.
    DocArchitecture {
    /// The rendered file, repository-relative (default: the meta file's name with `.md`).
    #[serde(default)] location: Option<String>,
    /// `{description, external_actors[], external_systems[]}`.
    system_context: Value,
    /// `{layers[{name, role}], data_flows[]}`.
    #[serde(default)] logical_architecture: Option<Value>,
    /// `{common_flows[{id, name, steps[]}], async_components[]}`.
    #[serde(default)] runtime_view: Option<Value>,
    /// `{topology, services[{name, role}], infra_dependencies[]}`.
    #[serde(default)] deployment_view: Option<Value>,
    /// `{main_entities[], storage_mapping[{entity, backend}]}`.
    #[serde(default)] data_view: Option<Value>,
    /// `{security{notes}, observability{notes}, configuration{notes}}`.
    #[serde(default)] cross_cutting_concerns: Option<Value>,
    #[serde(default)] required_sections: Strings,
});

meta_struct!(
    /// `type: doc_ai_collaboration` — `docs/ai-collaboration.meta.yaml`.
    DocAiCollaboration {
    #[serde(default)] location: Option<String>,
    /// `{goals[], anti_goals[]}`.
    #[serde(default)] philosophy: Option<Value>,
    /// `{required_files[], optional_files[]}`.
    #[serde(default)] pre_reading: Option<Value>,
    /// `{allowed_areas[], review_required_areas[], forbidden_areas[]}`.
    editing_rules: Value,
    /// `{phases[], artifacts[]}`.
    #[serde(default)] change_workflow: Option<Value>,
    /// `{required_checks[], extra_checks_for_sensitive_changes[]}`.
    #[serde(default)] validation: Option<Value>,
    /// `{good_patterns[], bad_patterns[]}`.
    #[serde(default)] examples: Option<Value>,
    #[serde(default)] required_sections: Strings,
});

meta_struct!(
    /// `type: test_strategy` — `tests/strategy.meta.yaml`, rendered as `tests/strategy.md`.
    TestStrategy {
    #[serde(default)] location: Option<String>,
    /// `{goals[], non_goals[]}`.
    philosophy: Value,
    /// `{root_package, patterns{unit, integration, e2e}, naming_conventions{file_pattern, class_prefix, function_prefix}}`.
    #[serde(default)] test_layout: Option<Value>,
    /// `{framework, plugins[], linting_and_types[]}`.
    #[serde(default)] tooling: Option<Value>,
    /// `{required_services[], isolation_strategy[]}`.
    #[serde(default)] environments: Option<Value>,
    #[serde(default)] required_sections: Strings,
});

meta_struct!(
    /// What a test spec is about.
    TestScope {
    #[serde(default)] description: Option<String>,
    /// The code modules the unit tests cover (repository-relative); coverage targets are measured over them.
    #[serde(default)] target_modules: Strings,
    /// The flows the integration tests exercise.
    #[serde(default)] target_flows: Strings,
    /// The entrypoints the end-to-end tests drive.
    #[serde(default)] entrypoints: Strings,
});

meta_struct!(
    /// What a test spec's tests must reach.
    Expectations {
    /// Line coverage of `scope.target_modules`: a ratio (0.85) or a percentage (85); compared with `warden check --coverage`.
    #[serde(default)] #[schemars(with = "Option<f64>", range(min = 0, max = 100))] coverage_target: Option<Value>,
    /// Branch coverage, the same way.
    #[serde(default)] #[schemars(with = "Option<f64>", range(min = 0, max = 100))] branch_coverage_target: Option<Value>,
    /// Properties the tests must show.
    #[serde(default)] properties: Strings,
});

meta_struct!(ModulePolicy {
    /// The module under test (repository-relative).
    module: String,
    /// The test file for the module (repository-relative), checked when given.
    #[serde(default)] file: Option<String>,
    /// Behaviours a test must exercise; `warden gen tests` writes one pending skeleton each.
    #[serde(default)] must_cover: Strings,
});

meta_struct!(
    /// `type: test_unit_spec` — `tests/unit/meta.yaml`.
    TestUnitSpec {
    /// The meta file itself.
    #[serde(default)] location: Option<String>,
    scope: TestScope,
    #[serde(default)] expectations: Option<Expectations>,
    #[serde(default)] module_policies: Vec<ModulePolicy>,
    /// `{allowed_to_generate[], review_required[], invariants[]}`.
    #[serde(default)] ai_collaboration: Option<Value>,
});

meta_struct!(
    /// `type: test_integration_spec` — `tests/integration/meta.yaml`.
    TestIntegrationSpec {
    #[serde(default)] location: Option<String>,
    scope: TestScope,
    #[serde(default)] expectations: Option<Expectations>,
    /// `{setup_strategy[], teardown_strategy[]}`.
    #[serde(default)] environment: Option<Value>,
    /// `[{id, description, steps[]}]`.
    #[serde(default)] scenarios: Vec<Value>,
    /// `{max_runtime_seconds, target_flakiness_rate}`.
    #[serde(default)] metrics: Option<Value>,
    #[serde(default)] ai_collaboration: Option<Value>,
});

meta_struct!(
    /// `type: test_e2e_spec` — `tests/e2e/meta.yaml`.
    TestE2eSpec {
    #[serde(default)] location: Option<String>,
    scope: TestScope,
    #[serde(default)] expectations: Option<Expectations>,
    /// `{environment[], data_fixtures[]}`.
    #[serde(default)] requirements: Option<Value>,
    /// `[{id, description, expectations[]}]`.
    #[serde(default)] scenarios: Vec<Value>,
    #[serde(default)] ai_collaboration: Option<Value>,
});

meta_struct!(UnitModule {
    /// The code module (repository-relative).
    path: String,
    /// Its test file (repository-relative).
    #[serde(default)] file: Option<String>,
    #[serde(default)] must_cover: Strings,
});

meta_struct!(UnitTests {
    #[serde(default)] modules: Vec<UnitModule>,
});

meta_struct!(TestRef {
    #[serde(default)] id: Option<String>,
    /// The test file (repository-relative).
    #[serde(default)] file: Option<String>,
    #[serde(default)] description: Option<String>,
    #[serde(default)] must_cover: Strings,
    #[serde(default)] must_assert: Strings,
});

meta_struct!(Flows {
    #[serde(default)] flows: Vec<TestRef>,
});

meta_struct!(Invariants {
    #[serde(default)] invariants: Vec<TestRef>,
});

meta_struct!(SubsystemRef {
    /// Must match the subsystem README's name.
    name: String,
    #[serde(default)]
    code_paths: Strings,
});

meta_struct!(
    /// `type: subsystem_test_spec` — `<code dir>/tests.meta.yaml`.
    SubsystemTestSpec {
    #[serde(default)] location: Option<String>,
    subsystem: SubsystemRef,
    #[serde(default)] unit_tests: UnitTests,
    #[serde(default)] integration_tests: Flows,
    #[serde(default)] governance_tests: Invariants,
});

meta_struct!(DocEntry {
    /// The document (repository-relative).
    path: String,
    /// The meta file that describes its structure.
    #[serde(default)] source: Option<String>,
    /// Headings the document must carry.
    #[serde(default)] required_sections: Strings,
});

meta_struct!(
    /// `type: subsystem_docs_spec` — `<code dir>/docs.meta.yaml`.
    SubsystemDocsSpec {
    #[serde(default)] subsystem: Option<SubsystemRef>,
    docs: Vec<DocEntry>,
});

meta_struct!(
    /// `naming` of a repository contract.
    Naming {
    /// e.g. `test_*.py`.
    #[serde(default)] test_module_pattern: Option<String>,
    #[serde(default)] package_init_required: Option<bool>,
});

meta_struct!(
    /// `ci_enforcement` of a schema extraction contract.
    CiEnforcement {
    #[serde(default)] require_manifest: Option<bool>,
    #[serde(default)] require_tests: Option<bool>,
});

meta_struct!(
    /// `type: repo_contract` (seed: `l9_repo_contract`) — `.l9_repo.meta.yaml`.
    RepoContract {
    #[serde(default)] root_package: Option<String>,
    /// `{core, agents, memory, tools, tests, docs}`: folders that must exist.
    #[serde(default)] paths: BTreeMap<String, String>,
    #[serde(default)] naming: Option<Naming>,
    #[serde(default)] ci_contracts: Option<CiContracts>,
});

meta_struct!(
    /// A repository contract's CI thresholds; each `min_*` is a ratio (0.8) or a percentage (80), compared with `warden check --coverage`.
    CiContracts {
    #[serde(default)] require_meta_docs: Option<bool>,
    #[serde(default)] require_meta_tests: Option<bool>,
    #[serde(default)] #[schemars(with = "Option<f64>", range(min = 0, max = 100))] min_unit_coverage: Option<Value>,
    #[serde(default)] #[schemars(with = "Option<f64>", range(min = 0, max = 100))] min_integration_coverage: Option<Value>,
    #[serde(default)] #[schemars(with = "Option<f64>", range(min = 0, max = 100))] min_e2e_coverage: Option<Value>,
    #[serde(default)] #[schemars(with = "Option<f64>", range(min = 0, max = 100))] min_unit_branch_coverage: Option<Value>,
    #[serde(default)] #[schemars(with = "Option<f64>", range(min = 0, max = 100))] min_integration_branch_coverage: Option<Value>,
    #[serde(default)] #[schemars(with = "Option<f64>", range(min = 0, max = 100))] min_e2e_branch_coverage: Option<Value>,
});

meta_struct!(ExtractionTarget {
    name: String,
    /// A schema instance: needs a `root_path` that exists and one `cursor_instructions.generate_files` entry.
    schema_file: String,
});

meta_struct!(
    /// `type: schema_extraction_contract` — `.l9_schema_extraction.meta.yaml`.
    SchemaExtractionContract {
    #[serde(default)] canonical_schema_template: Option<String>,
    #[serde(default)] glue_contract: Option<String>,
    #[serde(default)] extractor_prompt: Option<String>,
    #[serde(default)] extractor_runner: Option<String>,
    targets: Vec<ExtractionTarget>,
    #[serde(default)] ci_enforcement: Option<CiEnforcement>,
});

meta_struct!(ModuleCi {
    /// Every registry entry names a spec file that exists (default true).
    #[serde(default)] require_spec_for_every_registry_entry: Option<bool>,
    /// Every registry entry's folder exists (default true).
    #[serde(default)] require_module_folder_for_every_spec: Option<bool>,
    /// Every module folder holds a `module.meta.yaml` (default false).
    #[serde(default)] require_docs_and_tests_meta: Option<bool>,
});

meta_struct!(
    /// `type: module_contracts` (seed: `l9_module_contracts`) — `.l9_modules.meta.yaml`.
    /// The registry is `.warden/modules.yaml`; `machine_registry_file` is read only when that is absent.
    ModuleContracts {
    #[serde(default)] registry_file: Option<String>,
    #[serde(default)] machine_registry_file: Option<String>,
    /// Where spec files live; a spec here that no module names is an `orphan_spec`.
    #[serde(default)] spec_root: Option<String>,
    /// Where module folders live; a folder here that no module names is an `orphan_module`.
    #[serde(default)] module_root: Option<String>,
    #[serde(default)] ci: ModuleCi,
});

meta_struct!(
    /// Where a module's code lives.
    ModuleLayout {
    /// The module's package folder (repository-relative); the approval-adapter rule searches it.
    #[serde(default)] package_path: Option<String>,
    #[serde(default)] routes_module: Option<String>,
    #[serde(default)] adapter_module: Option<String>,
    #[serde(default)] service_module: Option<String>,
    #[serde(default)] client_module: Option<String>,
    #[serde(default)] schemas_module: Option<String>,
    #[serde(default)] config_module: Option<String>,
});

meta_struct!(
    /// One link between a module and an agent (a tool binding or a collaborator).
    AgentLinkEntry {
    /// The agent; named in the agent registry file (`invariants.agent_bindings.agent_registry_file`).
    #[serde(default)] agent_id: Option<String>,
    /// A tool binding's mode (`direct`, `via_CA`, `via_plan`): the graph edge's mode.
    #[serde(default)] mode: Option<Value>,
    /// A collaborator's protocol (`tool_call`, `packet_stream`, `event_bus`): the graph edge's mode.
    #[serde(default)] interaction_protocol: Option<Value>,
    #[serde(default)] allowed_operations: Strings,
    #[serde(default)] packet_topics: Strings,
});

meta_struct!(
    /// `wiring.tools`.
    ToolsWiring {
    /// When true, the tool registry file must name `tool_name`.
    #[serde(default)] exposes_tool: Option<bool>,
    #[serde(default)] tool_name: Option<String>,
    /// The tool registry (default: the wiring contracts' `invariants.tool_registry.file`).
    #[serde(default)] tool_registry_file: Option<String>,
    #[serde(default)] agent_bindings: Vec<AgentLinkEntry>,
});

meta_struct!(
    /// `wiring.agents`.
    AgentsWiring {
    #[serde(default)] collaborators: Vec<AgentLinkEntry>,
});

meta_struct!(
    /// `wiring.memory`: segments must exist in `invariants.memory.segments_must_exist_in`.
    MemoryWiring {
    #[serde(default)] segments_read: Strings,
    #[serde(default)] segments_written: Strings,
    #[serde(default)] substrate_adapter: Option<String>,
});

meta_struct!(
    /// `wiring.http.include_in_router`: `file` must contain `router_name`.
    RouterInclude {
    #[serde(default)] file: Option<String>,
    #[serde(default)] router_name: Option<String>,
    #[serde(default)] mount_under: Option<String>,
});

meta_struct!(
    /// `wiring.http`.
    HttpWiring {
    #[serde(default)] include_in_router: Option<RouterInclude>,
});

meta_struct!(
    /// `wiring.governance`.
    GovernanceWiring {
    /// `low`, `medium`, `high`: the graph node's risk level.
    #[serde(default)] risk_level: Option<Value>,
    /// When true, a file under `layout.package_path` must call `approval_adapter`.
    #[serde(default)] requires_approval: Option<bool>,
    /// `igor_only`, `boss`, `auto`: the governance edge's target.
    #[serde(default)] approval_mechanism: Option<Value>,
    #[serde(default)] approval_adapter: Option<String>,
});

meta_struct!(
    /// A module meta's `wiring`: each declaration becomes a textual rule.
    ModuleWiringDecl {
    #[serde(default)] http: HttpWiring,
    #[serde(default)] tools: ToolsWiring,
    #[serde(default)] agents: AgentsWiring,
    #[serde(default)] memory: MemoryWiring,
    #[serde(default)] governance: GovernanceWiring,
});

meta_struct!(
    /// A module meta's `docs`.
    ModuleDocs {
    /// The docs meta file (`docs.meta.yaml`).
    #[serde(default)] meta_file: Option<String>,
    #[serde(default)] required_docs: Strings,
});

meta_struct!(
    /// One test file a module meta declares.
    ModuleTestFile {
    #[serde(default)] file: Option<String>,
    #[serde(default)] must_cover: Strings,
});

meta_struct!(
    /// A module meta's `tests`.
    ModuleTests {
    /// The tests meta file (`tests.meta.yaml`).
    #[serde(default)] meta_file: Option<String>,
    #[serde(default)] unit_tests: Vec<ModuleTestFile>,
    #[serde(default)] integration_tests: Vec<ModuleTestFile>,
});

meta_struct!(
    /// `type: module_meta` (seed: `l9_module_meta`) — `<module>/module.meta.yaml`.
    ModuleMeta {
    module_id: String,
    #[serde(default)] spec_file: Option<String>,
    #[serde(default)] layout: ModuleLayout,
    #[serde(default)] docs: Option<ModuleDocs>,
    #[serde(default)] tests: Option<ModuleTests>,
    #[serde(default)] wiring: ModuleWiringDecl,
    #[serde(default)] tier: Option<Value>,
});

meta_struct!(
    /// `routes.fastapi_include`.
    RouterMount {
    #[serde(default)] file: Option<String>,
    #[serde(default)] router_name: Option<String>,
    #[serde(default)] prefix: Option<String>,
});

meta_struct!(
    /// A module wiring's `routes`.
    Routes {
    #[serde(default)] fastapi_include: Option<RouterMount>,
});

meta_struct!(
    /// A module wiring's `task_routing`.
    TaskRouting {
    #[serde(default)] if_exposes_tool: Option<bool>,
    #[serde(default)] tool_name: Option<String>,
    #[serde(default)] registry_file: Option<String>,
});

meta_struct!(
    /// A module wiring's `deployment`.
    Deployment {
    #[serde(default)] docker_service_name: Option<String>,
    #[serde(default)] depends_on: Strings,
});

meta_struct!(
    /// `type: module_wiring` — `<module>/wiring.meta.yaml`.
    ModuleWiring {
    #[serde(default)] routes: Option<Routes>,
    #[serde(default)] task_routing: Option<TaskRouting>,
    #[serde(default)] deployment: Option<Deployment>,
});

/// One generic wiring rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "rule", rename_all = "snake_case", deny_unknown_fields)]
pub enum WiringRule {
    /// The file exists.
    FileExists { file: String },
    /// The file contains the text.
    FileContains { file: String, text: String },
    /// The YAML/JSON file has a value at the dotted key path.
    KeyExists { file: String, key: String },
}

meta_struct!(
    /// `invariants.tool_registry`.
    ToolRegistryInvariant {
    #[serde(default)] require_entry_for_exposes_tool: Option<bool>,
    /// The tool registry a module exposing a tool must be named in.
    #[serde(default)] file: Option<String>,
});

meta_struct!(
    /// `invariants.agent_bindings`.
    AgentBindingsInvariant {
    #[serde(default)] require_agent_exists: Option<bool>,
    /// The file every linked agent must be named in.
    #[serde(default)] agent_registry_file: Option<String>,
});

meta_struct!(
    /// `invariants.memory`.
    MemoryInvariant {
    /// The file every memory segment must be named in.
    #[serde(default)] segments_must_exist_in: Option<String>,
});

meta_struct!(
    /// `invariants.governance.if_requires_approval_true`.
    ApprovalInvariant {
    /// The approval adapter a module requiring approval must call (a file).
    #[serde(default)] must_call_adapter: Option<String>,
    #[serde(default)] must_have_tests: Option<bool>,
});

meta_struct!(
    /// `invariants.governance`.
    GovernanceInvariant {
    #[serde(default)] if_requires_approval_true: Option<ApprovalInvariant>,
});

meta_struct!(
    /// The wiring contracts' invariants.
    WiringInvariants {
    #[serde(default)] tool_registry: ToolRegistryInvariant,
    #[serde(default)] agent_bindings: AgentBindingsInvariant,
    #[serde(default)] memory: MemoryInvariant,
    #[serde(default)] governance: GovernanceInvariant,
});

meta_struct!(
    /// `type: wiring_contracts` (seed: `l9_wiring_contracts`) — `.l9_wiring.meta.yaml`.
    WiringContracts {
    /// Which module meta files are checked (default: every discovered `module_meta`).
    #[serde(default)] module_meta_glob: Option<String>,
    #[serde(default)] invariants: WiringInvariants,
    /// Extra rules, checked as written.
    #[serde(default)] rules: Vec<WiringRule>,
    /// The generated graph, drift-checked (default `generated/module_wiring_graph.yaml`).
    #[serde(default)] graph_file: Option<String>,
});

/// The `type` field every meta file carries.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Typed<T> {
    /// The meta type (`warden contracts new --list` names them); the seed's `l9_*` names are accepted.
    #[serde(rename = "type")]
    pub meta_type: String,
    #[serde(flatten)]
    pub body: T,
}

macro_rules! bodies {
    ($($name:ident),* $(,)?) => {
        /// A meta file's fields, typed by its `type` (one variant per
        /// [`MetaType`], named alike). Serialized as its struct.
        #[derive(Debug, Clone, Serialize)]
        #[serde(untagged)]
        pub enum Body {
            $($name(Box<$name>),)*
        }

        /// A meta type's struct, as found in a [`Body`].
        pub trait MetaBody: serde::de::DeserializeOwned {
            /// The struct, when the body is of this type.
            fn of(body: &Body) -> Option<&Self>;
        }

        $(impl MetaBody for $name {
            fn of(body: &Body) -> Option<&Self> {
                match body {
                    Body::$name(b) => Some(b.as_ref()),
                    #[allow(unreachable_patterns)]
                    _ => None,
                }
            }
        })*

        impl Body {
            /// Type a parsed meta value as `t`; the error names the field path.
            pub fn from_value(t: MetaType, value: &Value, file: &str) -> warden_core::Result<Body> {
                let hint = format!("`warden schema {}` prints the format", t.schema_name());
                match t {
                    $(MetaType::$name => typed_or_error::<$name>(value, file, &hint).map(|b| Body::$name(Box::new(b))),)*
                }
            }

            /// The type of the body.
            pub fn meta_type(&self) -> MetaType {
                match self {
                    $(Body::$name(_) => MetaType::$name,)*
                }
            }
        }
    };
}

bodies!(
    RootReadme,
    SubsystemReadme,
    ComponentReadme,
    DocArchitecture,
    DocAiCollaboration,
    TestStrategy,
    TestUnitSpec,
    TestIntegrationSpec,
    TestE2eSpec,
    SubsystemTestSpec,
    SubsystemDocsSpec,
    RepoContract,
    SchemaExtractionContract,
    ModuleContracts,
    ModuleMeta,
    ModuleWiring,
    WiringContracts,
);

/// `T` from a parsed value; the strict path words the error (file, field
/// path, fix).
fn typed_or_error<T: serde::de::DeserializeOwned>(
    v: &Value,
    file: &str,
    hint: &str,
) -> warden_core::Result<T> {
    // The common case, a valid meta, without the field-path bookkeeping.
    if let Ok(t) = T::deserialize(v) {
        return Ok(t);
    }
    warden_core::strict::deserialize::<T>(v, file, hint)
}

/// Check a parsed meta value against its type's shape. The error names the
/// field path.
pub fn validate(t: MetaType, value: &Value, file: &str) -> warden_core::Result<()> {
    Body::from_value(t, value, file).map(|_| ())
}

impl Body {
    /// The `location` a document or test spec type declares.
    pub fn location(&self) -> Option<&str> {
        match self {
            Body::RootReadme(b) => b.location.as_deref(),
            Body::SubsystemReadme(b) => b.location.as_deref(),
            Body::ComponentReadme(b) => b.location.as_deref(),
            Body::DocArchitecture(b) => b.location.as_deref(),
            Body::DocAiCollaboration(b) => b.location.as_deref(),
            Body::TestStrategy(b) => b.location.as_deref(),
            Body::TestUnitSpec(b) => b.location.as_deref(),
            Body::TestIntegrationSpec(b) => b.location.as_deref(),
            Body::TestE2eSpec(b) => b.location.as_deref(),
            Body::SubsystemTestSpec(b) => b.location.as_deref(),
            _ => None,
        }
    }

    /// The extra `required_sections` a document type declares.
    pub fn required_sections(&self) -> &[String] {
        match self {
            Body::RootReadme(b) => &b.required_sections,
            Body::SubsystemReadme(b) => &b.required_sections,
            Body::ComponentReadme(b) => &b.required_sections,
            Body::DocArchitecture(b) => &b.required_sections,
            Body::DocAiCollaboration(b) => &b.required_sections,
            Body::TestStrategy(b) => &b.required_sections,
            _ => &[],
        }
    }

    /// Parse a meta file's text straight into `t`'s struct, without a
    /// `serde_json::Value` first. `None` whenever this could differ from
    /// [`Body::from_value`] on the parsed value (the caller then takes that
    /// path, which also words every error):
    ///
    /// - only types whose fields are text, lists of text and free values
    ///   (a `bool` field would take a quoted `"true"` here, not there);
    /// - strings are read in serde-saphyr's `no_schema` mode, so a plain
    ///   scalar that resolves to a number, a boolean or null is refused
    ///   rather than taken as text (as a value would not be);
    /// - no YAML tags (`!`), which the two paths keep differently in
    ///   project-specific keys, and no number literal that overflows to
    ///   infinity (which `no_schema` does not recognise as a number);
    /// - the file's `type` must be `t`'s name.
    pub fn from_yaml_direct(t: MetaType, text: &str) -> Option<Body> {
        fn go<T: serde::de::DeserializeOwned>(text: &str) -> Option<Box<T>> {
            let mut opts = warden_core::strict::yaml_options();
            opts.no_schema = true;
            serde_saphyr::from_str_with_options(text, opts)
                .ok()
                .map(Box::new)
        }
        if text.contains('!') || overflowing_number(text) {
            return None;
        }
        let body = match t {
            MetaType::RootReadme => Body::RootReadme(go(text)?),
            MetaType::SubsystemReadme => Body::SubsystemReadme(go(text)?),
            MetaType::ComponentReadme => Body::ComponentReadme(go(text)?),
            MetaType::DocArchitecture => Body::DocArchitecture(go(text)?),
            MetaType::DocAiCollaboration => Body::DocAiCollaboration(go(text)?),
            MetaType::TestStrategy => Body::TestStrategy(go(text)?),
            MetaType::TestUnitSpec => Body::TestUnitSpec(go(text)?),
            MetaType::TestIntegrationSpec => Body::TestIntegrationSpec(go(text)?),
            MetaType::TestE2eSpec => Body::TestE2eSpec(go(text)?),
            MetaType::SubsystemTestSpec => Body::SubsystemTestSpec(go(text)?),
            MetaType::SubsystemDocsSpec => Body::SubsystemDocsSpec(go(text)?),
            _ => return None,
        };
        (body.type_value() == Some(t.name())).then_some(body)
    }

    /// The `type` as kept among the project-specific keys.
    fn type_value(&self) -> Option<&str> {
        let extra = match self {
            Body::RootReadme(b) => &b.extra,
            Body::SubsystemReadme(b) => &b.extra,
            Body::ComponentReadme(b) => &b.extra,
            Body::DocArchitecture(b) => &b.extra,
            Body::DocAiCollaboration(b) => &b.extra,
            Body::TestStrategy(b) => &b.extra,
            Body::TestUnitSpec(b) => &b.extra,
            Body::TestIntegrationSpec(b) => &b.extra,
            Body::TestE2eSpec(b) => &b.extra,
            Body::SubsystemTestSpec(b) => &b.extra,
            Body::SubsystemDocsSpec(b) => &b.extra,
            _ => return None,
        };
        extra.get("type").and_then(Value::as_str)
    }
}

/// Whether any word of the text is a number literal that overflows an
/// `f64` (`1e999`): a value reads it as infinity, `no_schema` as text.
fn overflowing_number(text: &str) -> bool {
    text.split(|c: char| c.is_whitespace() || ",[]{}:#\"'".contains(c))
        .any(|w| {
            let digits = w.strip_prefix(['+', '-']).unwrap_or(w);
            digits.as_bytes().first().is_some_and(u8::is_ascii_digit)
                && w.parse::<f64>().is_ok_and(f64::is_infinite)
        })
}

/// The JSON Schema of a meta type.
pub fn schema_of(t: MetaType) -> Value {
    fn s<T: JsonSchema>() -> Value {
        schemars::generate::SchemaSettings::draft07()
            .into_generator()
            .into_root_schema_for::<Typed<T>>()
            .to_value()
    }
    let mut v = match t {
        MetaType::RootReadme => s::<RootReadme>(),
        MetaType::SubsystemReadme => s::<SubsystemReadme>(),
        MetaType::ComponentReadme => s::<ComponentReadme>(),
        MetaType::DocArchitecture => s::<DocArchitecture>(),
        MetaType::DocAiCollaboration => s::<DocAiCollaboration>(),
        MetaType::TestStrategy => s::<TestStrategy>(),
        MetaType::TestUnitSpec => s::<TestUnitSpec>(),
        MetaType::TestIntegrationSpec => s::<TestIntegrationSpec>(),
        MetaType::TestE2eSpec => s::<TestE2eSpec>(),
        MetaType::SubsystemTestSpec => s::<SubsystemTestSpec>(),
        MetaType::SubsystemDocsSpec => s::<SubsystemDocsSpec>(),
        MetaType::RepoContract => s::<RepoContract>(),
        MetaType::SchemaExtractionContract => s::<SchemaExtractionContract>(),
        MetaType::ModuleContracts => s::<ModuleContracts>(),
        MetaType::ModuleMeta => s::<ModuleMeta>(),
        MetaType::ModuleWiring => s::<ModuleWiring>(),
        MetaType::WiringContracts => s::<WiringContracts>(),
    };
    let mut names = vec![Value::String(t.name().into())];
    if let Some(a) = t.seed_alias() {
        names.push(Value::String(a.into()));
    }
    v["properties"]["type"] = serde_json::json!({"enum": names, "description": "The meta type"});
    v["$id"] = Value::String(format!(
        "https://warden.invalid/schemas/{}.schema.json",
        t.schema_name()
    ));
    v["title"] = Value::String(format!("warden meta contract: {}", t.name()));
    v
}

/// Deserialize a checked meta value (after [`validate`]).
pub fn typed<T: serde::de::DeserializeOwned>(value: &Value) -> Option<T> {
    T::deserialize(value).ok()
}
