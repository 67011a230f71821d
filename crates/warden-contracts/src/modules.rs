//! Module and wiring contracts.
//!
//! Modules: the registry `.warden/modules.yaml` (shared with the
//! classifier) against spec files and module folders, with orphans both ways.
//! Wiring: what a `module_meta` declares (tool registry entries, agent
//! bindings, memory segments, approval adapters, router includes) becomes
//! generic textual rules — `file_exists`, `file_contains`, `key_exists` —
//! checked against the files they name, so nothing here knows Python or
//! FastAPI. The module wiring graph is derived from the module metas,
//! rendered deterministically and drift-checked.

use crate::check::{Loaded, line_of, repo_rel};
use crate::gaps::{GapKind, NewGap};
use crate::meta::{self, MetaType, WiringRule};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use warden_core::modules::{MODULES_FILE, Modules};

pub const DEFAULT_GRAPH: &str = "generated/module_wiring_graph.yaml";

fn s<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    Some(cur)
}

/// A kind of link between a module and an agent that a module meta
/// declares: a list of entries with an `agent_id` each.
struct AgentLink {
    /// The list in the module meta's wiring.
    entries: fn(&meta::ModuleWiringDecl) -> &[meta::AgentLinkEntry],
    /// The edge's type in the wiring graph.
    edge: &'static str,
    /// The edge runs from the agent to the module (else the other way).
    agent_calls_module: bool,
    /// The entry's field that becomes the edge's `mode`.
    mode: fn(&meta::AgentLinkEntry) -> Option<&Value>,
}

/// Every module–agent link kind; both the agent-registry rule and the
/// wiring graph read them from here.
const AGENT_LINKS: [AgentLink; 2] = [
    AgentLink {
        entries: |w| &w.tools.agent_bindings,
        edge: "tool_binding",
        agent_calls_module: true,
        mode: |e| e.mode.as_ref(),
    },
    AgentLink {
        entries: |w| &w.agents.collaborators,
        edge: "collaboration",
        agent_calls_module: false,
        mode: |e| e.interaction_protocol.as_ref(),
    },
];

/// Evaluate one rule. `Err` says what is missing.
pub fn eval(root: &Path, rule: &WiringRule) -> std::result::Result<(), String> {
    let read = |f: &str| -> std::result::Result<String, String> {
        let rel = repo_rel(f)?;
        std::fs::read(root.join(&rel))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .map_err(|_| format!("{rel} does not exist"))
    };
    match rule {
        WiringRule::FileExists { file } => read(file).map(|_| ()),
        WiringRule::FileContains { file, text } => {
            if read(file)?.contains(text.as_str()) {
                Ok(())
            } else {
                Err(format!("{file} does not contain \"{text}\""))
            }
        }
        WiringRule::KeyExists { file, key } => {
            let body = read(file)?;
            let v = warden_core::strict::parse_yaml(body.as_bytes(), file)
                .map_err(|e| e.to_string())?;
            let parts: Vec<&str> = key.split('.').collect();
            if s(&v, &parts).is_some() {
                Ok(())
            } else {
                Err(format!("{file} has no key \"{key}\""))
            }
        }
    }
}

fn rule_target(rule: &WiringRule) -> &str {
    match rule {
        WiringRule::FileExists { file }
        | WiringRule::FileContains { file, .. }
        | WiringRule::KeyExists { file, .. } => file,
    }
}

fn rule_key(rule: &WiringRule) -> String {
    match rule {
        WiringRule::FileExists { file } => format!("file_exists:{file}"),
        WiringRule::FileContains { file, text } => format!("file_contains:{file}:{text}"),
        WiringRule::KeyExists { file, key } => format!("key_exists:{file}:{key}"),
    }
}

/// The entries of one module–agent link list with their `agent_id`.
fn linked_agents<'a>(
    module: &'a meta::ModuleMeta,
    link: &AgentLink,
) -> impl Iterator<Item = (&'a meta::AgentLinkEntry, &'a str)> + use<'a> {
    (link.entries)(&module.wiring)
        .iter()
        .filter_map(|b| Some((b, b.agent_id.as_deref()?)))
}

/// A rule that `file` mentions `text`, pointing at `text` in the meta.
fn mentions(file: impl Into<String>, text: impl Into<String>) -> (WiringRule, String) {
    let text = text.into();
    (
        WiringRule::FileContains {
            file: file.into(),
            text: text.clone(),
        },
        text,
    )
}

/// The rules a module meta implies, with the meta text to point at.
pub fn module_rules(
    module: &meta::ModuleMeta,
    inv: &meta::WiringInvariants,
) -> Vec<(WiringRule, String)> {
    let w = &module.wiring;
    let mut rules: Vec<(WiringRule, String)> = tool_rule(w, inv).into_iter().collect();
    if let Some(file) = &inv.agent_bindings.agent_registry_file {
        let agents: BTreeSet<&str> = AGENT_LINKS
            .iter()
            .flat_map(|link| linked_agents(module, link).map(|(_, a)| a))
            .collect();
        rules.extend(agents.into_iter().map(|a| mentions(file, a)));
    }
    if let Some(file) = &inv.memory.segments_must_exist_in {
        let segs: BTreeSet<&str> = w
            .memory
            .segments_read
            .iter()
            .chain(&w.memory.segments_written)
            .map(String::as_str)
            .collect();
        rules.extend(segs.into_iter().map(|seg| mentions(file, seg)));
    }
    if let Some(meta::RouterInclude {
        file: Some(file),
        router_name: Some(router),
        ..
    }) = &w.http.include_in_router
    {
        rules.push(mentions(file, router));
    }
    rules
}

/// A module exposing a tool: its tool registry (the module's own, else the
/// contracts' invariant) names the tool.
fn tool_rule(
    w: &meta::ModuleWiringDecl,
    inv: &meta::WiringInvariants,
) -> Option<(WiringRule, String)> {
    if w.tools.exposes_tool != Some(true) {
        return None;
    }
    let tool = w.tools.tool_name.as_deref()?;
    let file = w
        .tools
        .tool_registry_file
        .as_ref()
        .or(inv.tool_registry.file.as_ref())?;
    Some(mentions(file, tool))
}

/// Whether `needle` occurs in a file under `dir` (the approval-adapter
/// check); meta files do not count (they name the adapter).
fn tree_contains(root: &Path, dir: &str, needle: &str) -> bool {
    let Ok(rel) = repo_rel(dir) else { return false };
    let walker = ignore::WalkBuilder::new(root.join(rel))
        .hidden(false)
        .build();
    walker.flatten().any(|e| {
        e.file_type().is_some_and(|t| t.is_file())
            && !crate::discover::is_meta_name(&e.file_name().to_string_lossy())
            && std::fs::read(e.path())
                .map(|b| String::from_utf8_lossy(&b).contains(needle))
                .unwrap_or(false)
    })
}

/// Module and wiring checks; gaps are appended.
pub fn check(root: &Path, loaded: &[Loaded], gaps: &mut Vec<NewGap>) -> warden_core::Result<()> {
    let mc = loaded
        .iter()
        .find(|l| l.meta_type == MetaType::ModuleContracts);
    let registry = match Modules::load(root) {
        Ok(r) => r,
        Err(e) => {
            // The registry's own fix (e.g. "replace the link …") with the
            // problem: the gap kind's fix is about meta files.
            let message = match e.hint() {
                Some(h) => format!("{e} (fix: {h})"),
                None => e.to_string(),
            };
            gaps.push(
                NewGap::new(GapKind::SchemaViolation, MODULES_FILE, message)
                    .key("registry")
                    .ctx("problem", e.to_string()),
            );
            None
        }
    };
    if let Some(mc) = mc {
        check_registry(root, mc, registry.as_ref(), gaps);
    }
    // Wiring.
    let wc = loaded
        .iter()
        .find(|l| l.meta_type == MetaType::WiringContracts);
    let contracts = wc.and_then(|l| l.body::<meta::WiringContracts>());
    let inv = contracts.map(|c| c.invariants.clone()).unwrap_or_default();
    for (l, m) in module_metas(loaded) {
        for (rule, needle) in module_rules(m, &inv) {
            if let Err(problem) = eval(root, &rule) {
                gaps.push(wiring_gap(l, &rule, problem, &needle));
            }
        }
        let gov = &m.wiring.governance;
        if gov.requires_approval == Some(true)
            && let Some(adapter) = gov.approval_adapter.as_deref()
        {
            let pkg = m.layout.package_path.as_deref().unwrap_or("");
            if pkg.is_empty() || !tree_contains(root, pkg, adapter) {
                let rule = WiringRule::FileContains {
                    file: pkg.to_string(),
                    text: adapter.to_string(),
                };
                gaps.push(wiring_gap(
                    l,
                    &rule,
                    format!("requires_approval: no file under \"{pkg}\" calls \"{adapter}\""),
                    adapter,
                ));
            }
        }
    }
    if let Some(wc) = wc {
        check_wiring_contracts(root, loaded, wc, gaps);
    }
    Ok(())
}

/// The wiring contract's own rules, its `graph_file` and the graph's drift.
fn check_wiring_contracts(root: &Path, loaded: &[Loaded], wc: &Loaded, gaps: &mut Vec<NewGap>) {
    if let Some(w) = wc.body::<meta::WiringContracts>() {
        for rule in &w.rules {
            if let Err(problem) = eval(root, rule) {
                gaps.push(wiring_gap(wc, rule, problem, rule_target(rule)));
            }
        }
        // A graph_file that is not a repository path is refused, not
        // replaced by the default in silence (nor drift-checked there).
        if let Some(Err(p)) = w.graph_file.as_deref().map(repo_rel) {
            let problem = format!("graph_file: {p}");
            gaps.push(
                NewGap::new(GapKind::SchemaViolation, &wc.path, problem.clone())
                    .meta_type(Some(&wc.type_name))
                    .key("graph_file")
                    .line(line_of(&wc.text, "graph_file"))
                    .ctx("problem", problem),
            );
            return;
        }
    }
    let (path, text) = graph(loaded);
    let current = std::fs::read(root.join(&path)).ok();
    if current.as_deref() != Some(text.as_bytes()) {
        let problem = if current.is_none() {
            format!("{path} does not exist")
        } else {
            format!("{path} differs from the module metas")
        };
        gaps.push(
            NewGap::new(GapKind::Drift, &wc.path, problem.clone())
                .meta_type(Some(&wc.type_name))
                .target(path)
                .key("graph")
                .line(line_of(&wc.text, "graph_file"))
                .ctx("problem", problem),
        );
    }
}

fn wiring_gap(l: &Loaded, rule: &WiringRule, problem: String, needle: &str) -> NewGap {
    NewGap::new(
        GapKind::WiringViolation,
        &l.path,
        format!("{}: {problem}", l.path),
    )
    .meta_type(Some(&l.type_name))
    .target(repo_rel(rule_target(rule)).unwrap_or_default())
    .key(rule_key(rule))
    .line(line_of(&l.text, needle))
    .ctx("problem", problem)
    .ctx("rule", serde_json::to_value(rule).unwrap_or(Value::Null))
}

fn check_registry(root: &Path, mc: &Loaded, registry: Option<&Modules>, gaps: &mut Vec<NewGap>) {
    let mut r = RegistryCheck { root, mc, gaps };
    let Some(reg) = registry else {
        let g = r
            .gap(
                GapKind::SchemaViolation,
                format!("{MODULES_FILE} does not exist"),
            )
            .target(MODULES_FILE)
            .key("registry")
            .ctx("problem", "no module registry");
        r.gaps.push(g);
        return;
    };
    let c = mc
        .body::<meta::ModuleContracts>()
        .cloned()
        .unwrap_or_default();
    let mut specs = BTreeSet::new();
    let mut folders = BTreeSet::new();
    for m in &reg.modules {
        if let Some(spec) = &m.spec {
            specs.insert(spec.to_string());
        }
        folders.insert(m.folder.to_string());
        r.check_spec(
            m,
            c.ci.require_spec_for_every_registry_entry.unwrap_or(true),
        );
        r.check_folder(m, &c.ci);
    }
    if let Some(spec_root) = c.spec_root.as_deref().and_then(|r| repo_rel(r).ok()) {
        r.orphan_specs(&spec_root, &specs);
    }
    if let Some(module_root) = c.module_root.as_deref().and_then(|r| repo_rel(r).ok()) {
        r.orphan_modules(&module_root, &folders);
    }
}

/// The module contracts' meta against the registry and the tree; gaps are
/// appended.
struct RegistryCheck<'a> {
    root: &'a Path,
    mc: &'a Loaded,
    gaps: &'a mut Vec<NewGap>,
}

impl RegistryCheck<'_> {
    fn gap(&self, kind: GapKind, msg: String) -> NewGap {
        NewGap::new(kind, &self.mc.path, msg).meta_type(Some(&self.mc.type_name))
    }

    /// A module's spec: named (when required), present, and within the
    /// content rules ([`spec_rules`]).
    fn check_spec(&mut self, m: &warden_core::modules::Module, require_spec: bool) {
        let Some(spec) = &m.spec else {
            if require_spec {
                let g = self
                    .gap(
                        GapKind::MissingModuleSpec,
                        format!("module \"{}\" names no spec file", m.name),
                    )
                    .key(m.name.clone())
                    .ctx("module", m.name.clone())
                    .ctx("problem", "no `spec:` in the registry");
                self.gaps.push(g);
            }
            return;
        };
        // Read as configuration: never through a link, only a regular file.
        let read = warden_core::strict::read_config(self.root, &spec.to_string());
        if let Ok(Some(text)) = &read {
            spec_rules(self.mc, &m.name, &spec.to_string(), text, self.gaps);
        } else {
            let why = match read {
                Err(e) => e.to_string(),
                _ => format!("spec {spec} does not exist"),
            };
            let g = self
                .gap(
                    GapKind::MissingModuleSpec,
                    format!("module \"{}\": {why}", m.name),
                )
                .target(spec.to_string())
                .key(m.name.clone())
                .ctx("module", m.name.clone());
            self.gaps.push(g);
        }
    }

    /// A module's folder exists (when required), else (when required) its
    /// `module.meta.yaml` does.
    fn check_folder(&mut self, m: &warden_core::modules::Module, ci: &meta::ModuleCi) {
        let folder = m.folder.to_string();
        let require_folder = ci.require_module_folder_for_every_spec.unwrap_or(true);
        let require_meta = ci.require_docs_and_tests_meta.unwrap_or(false);
        let g = if require_folder && !self.root.join(&folder).is_dir() {
            self.gap(
                GapKind::MissingModuleFolder,
                format!("module \"{}\": folder {folder}/ does not exist", m.name),
            )
            .target(folder.clone())
            .key(m.name.clone())
            .ctx("module", m.name.clone())
        } else if require_meta && !self.root.join(&folder).join("module.meta.yaml").is_file() {
            self.gap(
                GapKind::MissingModuleSpec,
                format!(
                    "module \"{}\": {folder}/module.meta.yaml does not exist",
                    m.name
                ),
            )
            .target(format!("{folder}/module.meta.yaml"))
            .key(format!("{}:module_meta", m.name))
            .ctx("module", m.name.clone())
            .ctx("problem", "no module.meta.yaml")
        } else {
            return;
        };
        self.gaps.push(g);
    }

    /// Files under the spec root that no module names.
    fn orphan_specs(&mut self, spec_root: &str, specs: &BTreeSet<String>) {
        let walker = ignore::WalkBuilder::new(self.root.join(spec_root))
            .hidden(false)
            .build();
        let mut found: Vec<String> = walker
            .flatten()
            .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
            .filter_map(|e| {
                e.path()
                    .strip_prefix(self.root)
                    .ok()
                    .map(crate::discover::rel_string)
            })
            .collect();
        found.sort();
        for f in found.into_iter().filter(|f| !specs.contains(f)) {
            let g = self
                .gap(
                    GapKind::OrphanSpec,
                    format!("{f} is named by no module in {MODULES_FILE}"),
                )
                .target(f)
                .line(line_of(&self.mc.text, "spec_root"));
            self.gaps.push(g);
        }
    }

    /// Folders under the module root that are no module.
    fn orphan_modules(&mut self, module_root: &str, folders: &BTreeSet<String>) {
        let Ok(rd) = std::fs::read_dir(self.root.join(module_root)) else {
            return;
        };
        let mut dirs: Vec<String> = rd
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| format!("{module_root}/{}", e.file_name().to_string_lossy()))
            .collect();
        dirs.sort();
        for d in dirs.into_iter().filter(|d| !folders.contains(d)) {
            let g = self
                .gap(
                    GapKind::OrphanModule,
                    format!("{d}/ is not a module in {MODULES_FILE}"),
                )
                .target(d)
                .line(line_of(&self.mc.text, "module_root"));
            self.gaps.push(g);
        }
    }
}

#[derive(Debug, Serialize)]
struct Graph {
    version: u32,
    nodes: Nodes,
    edges: Vec<Edge>,
}

#[derive(Debug, Serialize)]
struct Nodes {
    modules: Vec<ModuleNode>,
    agents: Vec<AgentNode>,
}

#[derive(Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
struct ModuleNode {
    id: String,
    tier: Option<String>,
    risk_level: Option<String>,
}

#[derive(Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
struct AgentNode {
    id: String,
}

#[derive(Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
struct Edge {
    #[serde(rename = "type")]
    kind: String,
    from: String,
    to: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    mode: Option<String>,
}

fn scalar(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// The Module-Spec versions whose content rules this build knows.
pub const SPEC_VERSIONS: &[&str] = &["2.5", "2.6"];

/// The content rules of one module spec: its
/// `schema_version` is known, and each `tier_expectations` flag that is true
/// has what it requires declared in the spec:
///
/// | flag | requires |
/// |---|---|
/// | `requires_runtime_wiring` | `runtime_wiring.service` |
/// | `requires_packet_contract` | a non-empty `packet_contract.emits` |
/// | `requires_negative_tests` | a non-empty `negative_tests` list |
pub fn spec_rules(mc: &Loaded, module: &str, spec: &str, bytes: &[u8], gaps: &mut Vec<NewGap>) {
    let text = String::from_utf8_lossy(bytes);
    let sg = SpecGaps {
        mc,
        module,
        spec,
        text: &text,
    };
    let v = match warden_core::strict::parse_yaml(bytes, spec) {
        Ok(v) if v.is_object() => v,
        Ok(_) => {
            gaps.push(sg.gap(
                "mapping",
                "(document)",
                "a module spec is a YAML mapping".into(),
            ));
            return;
        }
        Err(e) => {
            gaps.push(sg.gap("yaml", "(document)", e.to_string()));
            return;
        }
    };
    gaps.extend(sg.schema_version(&v));
    deprecations(mc, module, spec, &text, &v, gaps);
    gaps.extend(sg.tier_expectations(&v));
}

/// The `tier_expectations` flags: (flag, the field it requires, what that
/// field declares).
const TIER_FLAGS: [(&str, &str, &str); 3] = [
    (
        "requires_runtime_wiring",
        "runtime_wiring.service",
        "a runtime_wiring.service",
    ),
    (
        "requires_packet_contract",
        "packet_contract.emits",
        "packet_contract.emits entries",
    ),
    (
        "requires_negative_tests",
        "negative_tests",
        "negative_tests entries",
    ),
];

/// The content-rule gaps of one module spec.
struct SpecGaps<'a> {
    mc: &'a Loaded,
    module: &'a str,
    spec: &'a str,
    /// The spec's text (gaps point at the line of their field in it).
    text: &'a str,
}

impl SpecGaps<'_> {
    fn gap(&self, rule: &str, field: &str, problem: String) -> NewGap {
        let leaf = field.rsplit('.').next().unwrap_or(field);
        NewGap::new(
            GapKind::ModuleSpecViolation,
            &self.mc.path,
            format!("{}: {problem}", self.spec),
        )
        .meta_type(Some(&self.mc.type_name))
        .target(self.spec)
        .key(format!("{}:{rule}", self.module))
        .line(line_of(&self.mc.text, "spec_root"))
        .ctx("module", self.module)
        .ctx("rule", rule)
        .ctx("field", field)
        .ctx("problem", problem)
        .ctx("target_line", line_of(self.text, leaf) as u64)
    }

    /// `schema_version` is one of [`SPEC_VERSIONS`] (text or number).
    fn schema_version(&self, v: &Value) -> Option<NewGap> {
        let problem = match v.get("schema_version") {
            Some(Value::String(x)) if SPEC_VERSIONS.contains(&x.as_str()) => return None,
            Some(Value::Number(n)) if SPEC_VERSIONS.contains(&n.to_string().as_str()) => {
                return None;
            }
            Some(other) => format!(
                "schema_version {other} is not one this version knows ({})",
                SPEC_VERSIONS.join(", ")
            ),
            None => format!("no schema_version (one of {})", SPEC_VERSIONS.join(", ")),
        };
        Some(self.gap("schema_version", "schema_version", problem))
    }

    /// Each flag that is true has its field declared; a flag that is not a
    /// boolean is a gap of its own.
    fn tier_expectations(&self, v: &Value) -> Vec<NewGap> {
        let mut gaps = Vec::new();
        for (flag, field, what) in TIER_FLAGS {
            match s(v, &["tier_expectations", flag]) {
                None | Some(Value::Null) | Some(Value::Bool(false)) => {}
                Some(Value::Bool(true)) => {
                    let path: Vec<&str> = field.split('.').collect();
                    if !declared(v, &path) {
                        gaps.push(self.gap(
                            flag,
                            field,
                            format!(
                                "tier_expectations.{flag} is true but the spec declares no {what}"
                            ),
                        ));
                    }
                }
                Some(other) => gaps.push(self.gap(
                    flag,
                    &format!("tier_expectations.{flag}"),
                    format!("tier_expectations.{flag} is {other}, not true or false"),
                )),
            }
        }
        gaps
    }
}

/// Whether `path` holds something: not blank text, not an empty list or
/// mapping, not null.
fn declared(v: &Value, path: &[&str]) -> bool {
    match s(v, path) {
        Some(Value::String(x)) => !x.trim().is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(Value::Null) | None => false,
        Some(_) => true,
    }
}

/// The module metas that type-check (the others are `schema_violation`
/// gaps already), typed.
fn module_metas(loaded: &[Loaded]) -> impl Iterator<Item = (&Loaded, &meta::ModuleMeta)> {
    loaded
        .iter()
        .filter(|l| l.meta_type == MetaType::ModuleMeta)
        .filter_map(|l| Some((l, l.body::<meta::ModuleMeta>()?)))
}

/// The wiring graph's path and its text: a pure function of the module metas
/// (sorted nodes and edges, no time), so re-rendering is byte-identical.
pub fn graph(loaded: &[Loaded]) -> (String, String) {
    let path = loaded
        .iter()
        .find(|l| l.meta_type == MetaType::WiringContracts)
        .and_then(|l| l.body::<meta::WiringContracts>()?.graph_file.as_deref())
        .and_then(|p| repo_rel(p).ok())
        .unwrap_or_else(|| DEFAULT_GRAPH.to_string());
    let mut modules = Vec::new();
    let mut agents = BTreeSet::new();
    let mut edges = Vec::new();
    for (_, m) in module_metas(loaded) {
        let id = m.module_id.as_str();
        modules.push(ModuleNode {
            id: id.into(),
            tier: scalar(m.tier.as_ref()),
            risk_level: scalar(m.wiring.governance.risk_level.as_ref()),
        });
        for link in &AGENT_LINKS {
            for (b, a) in linked_agents(m, link) {
                agents.insert(a.to_string());
                edges.push(agent_edge(link, b, a, id));
            }
        }
        edges.extend(memory_edges(&m.wiring.memory, id));
        edges.extend(governance_edge(&m.wiring.governance, id));
    }
    modules.sort();
    edges.sort();
    edges.dedup();
    let g = Graph {
        version: 1,
        nodes: Nodes {
            modules,
            agents: agents.into_iter().map(|id| AgentNode { id }).collect(),
        },
        edges,
    };
    let mut text =
        String::from("# Generated by `warden gen docs` from the module metas; do not edit.\n");
    text.push_str(&serde_saphyr::to_string(&g).unwrap_or_default());
    (path, text)
}

/// The edge of one link entry between module `id` and agent `agent`.
fn agent_edge(link: &AgentLink, entry: &meta::AgentLinkEntry, agent: &str, id: &str) -> Edge {
    let (from, to) = if link.agent_calls_module {
        (agent, id)
    } else {
        (id, agent)
    };
    Edge {
        kind: link.edge.into(),
        from: from.into(),
        to: to.into(),
        mode: scalar((link.mode)(entry)),
    }
}

/// Memory segments flow into the module it reads them and out of the
/// module writing them.
fn memory_edges<'a>(m: &'a meta::MemoryWiring, id: &'a str) -> impl Iterator<Item = Edge> + 'a {
    [(&m.segments_read, true), (&m.segments_written, false)]
        .into_iter()
        .flat_map(move |(segs, read)| {
            segs.iter().map(move |seg| {
                let seg = format!("memory:{seg}");
                let (from, to) = if read {
                    (seg, id.to_string())
                } else {
                    (id.to_string(), seg)
                };
                Edge {
                    kind: "memory_flow".into(),
                    from,
                    to,
                    mode: None,
                }
            })
        })
}

/// A module that requires approval points at its approval mechanism.
fn governance_edge(g: &meta::GovernanceWiring, id: &str) -> Option<Edge> {
    if g.requires_approval != Some(true) {
        return None;
    }
    let to = scalar(g.approval_mechanism.as_ref()).unwrap_or_else(|| "approval".into());
    Some(Edge {
        kind: "governance".into(),
        from: id.into(),
        to: format!("approval:{to}"),
        mode: None,
    })
}

/// Deprecation markers in a module spec: `deprecated:` at the top marks the
/// whole spec, inside a top-level section marks that section. The marker is
/// `true`, a reason (text), or `{reason, superseded_by, since}`; `false` or
/// null is no marker. Each marker in use is a `module_spec_deprecated`
/// warning naming the section and what supersedes it.
fn deprecations(
    mc: &Loaded,
    module: &str,
    spec: &str,
    text: &str,
    v: &Value,
    gaps: &mut Vec<NewGap>,
) {
    let mut marked: Vec<(&str, &Value)> = Vec::new();
    if let Some(d) = v.get("deprecated") {
        marked.push(("(spec)", d));
    }
    for (k, section) in v.as_object().into_iter().flatten() {
        if let Some(d) = section.as_object().and_then(|o| o.get("deprecated")) {
            marked.push((k, d));
        }
    }
    for (section, d) in marked {
        let (reason, superseded_by, since) = match d {
            Value::Null | Value::Bool(false) => continue,
            Value::String(r) => (Some(r.as_str()), None, None),
            Value::Object(o) => {
                let t = |k: &str| o.get(k).and_then(Value::as_str);
                (
                    t("reason"),
                    t("superseded_by"),
                    t("since").map(str::to_string).or_else(|| {
                        o.get("since")
                            .filter(|x| x.is_number())
                            .map(Value::to_string)
                    }),
                )
            }
            _ => (None, None, None),
        };
        let what = if section == "(spec)" {
            format!("module \"{module}\" uses a deprecated spec")
        } else {
            format!("module \"{module}\": section `{section}` is deprecated")
        };
        let mut message = format!("{spec}: {what}");
        if let Some(s) = superseded_by {
            message.push_str(&format!("; superseded by {s}"));
        }
        if let Some(r) = reason {
            message.push_str(&format!(" ({r})"));
        }
        let needle = if section == "(spec)" {
            "deprecated"
        } else {
            section
        };
        let mut g = NewGap::new(GapKind::ModuleSpecDeprecated, &mc.path, message)
            .meta_type(Some(&mc.type_name))
            .target(spec)
            .key(format!("{module}:deprecated:{section}"))
            .line(line_of(&mc.text, "spec_root"))
            .ctx("module", module)
            .ctx("section", section)
            .ctx("target_line", line_of(text, needle) as u64);
        for (k, x) in [("superseded_by", superseded_by), ("reason", reason)] {
            if let Some(x) = x {
                g = g.ctx(k, x);
            }
        }
        if let Some(x) = since {
            g = g.ctx("since", x);
        }
        gaps.push(g);
    }
}
