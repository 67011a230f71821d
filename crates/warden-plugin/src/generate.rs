//! One spec → every derived artifact.
//!
//! Each file of a plugin folder has one owner:
//! - **derived**: rewritten whole from the spec + policy (`manifest.json`,
//!   `ledger_contract.json`, `policy_snapshot.json`, `conformance/schemas/*`,
//!   `conformance/perf/budget.json`); never hand-edited.
//! - **fenced**: tool-managed AUTO fences inside a file the developer also
//!   edits (`README_PLUGIN.md`, `healthcheck.md`, the handler in `src/`); only
//!   fence bodies are regenerated, and a fence edited by hand is reported,
//!   never overwritten.
//! - **scaffold**: written once when missing, then the developer's
//!   (per-operation schemas, examples and tests, conformance notes).
//!
//! Generation is a pure function of its inputs, so regenerating an unchanged
//! plugin is byte-identical. The manifest comes last: it carries the sha256 of
//! every other file of the folder, so any change anywhere shows up in it.

use crate::lang;
use crate::protocol::{self, ExampleRequest};
use crate::spec::{FEATURES, Lang, Operation, PluginSpec, SPEC_FILE};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use warden_core::events::{self, ActionKind};
use warden_core::fence;
use warden_core::policy::Policy;
use warden_core::{Digest, Error, Result};

/// Stamped into every derived file; bump when generated output changes shape.
pub const GENERATOR: &str = "warden-plugin-gen/1";
pub const MANIFEST: &str = "manifest.json";
pub const POLICY_SNAPSHOT: &str = "policy_snapshot.json";
/// Where plugins live, repository-relative.
pub const PLUGINS_DIR: &str = "plugins";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ownership {
    Spec,
    Derived,
    Fenced,
    Scaffold,
}

/// One file of the plugin folder and what generation wants of it.
#[derive(Debug, Clone)]
pub struct FilePlan {
    /// Relative to the plugin folder, with `/`.
    pub rel: String,
    pub ownership: Ownership,
    pub current: Option<Vec<u8>>,
    /// The content generation wants; `None`: leave the file as it is.
    pub wanted: Option<Vec<u8>>,
    /// Why the file cannot be regenerated (a hand-edited or malformed fence).
    pub problem: Option<String>,
}

impl FilePlan {
    pub fn changes(&self) -> bool {
        self.problem.is_none() && self.wanted.is_some() && self.wanted != self.current
    }
}

#[derive(Debug, Clone)]
pub struct Generation {
    pub key: String,
    pub files: Vec<FilePlan>,
}

impl Generation {
    pub fn dir_rel(&self) -> String {
        format!("{PLUGINS_DIR}/{}", self.key)
    }
    pub fn changed(&self) -> impl Iterator<Item = &FilePlan> {
        self.files.iter().filter(|f| f.changes())
    }
    pub fn problems(&self) -> impl Iterator<Item = &FilePlan> {
        self.files.iter().filter(|f| f.problem.is_some())
    }
    /// The manifest as generation wants it (or as it is when unchanged).
    pub fn manifest_bytes(&self) -> Option<&[u8]> {
        let f = self.files.iter().find(|f| f.rel == MANIFEST)?;
        f.wanted.as_deref().or(f.current.as_deref())
    }
}

pub fn plugin_dir(root: &Path, key: &str) -> PathBuf {
    root.join(PLUGINS_DIR).join(key)
}

fn read(dir: &Path, rel: &str) -> Option<Vec<u8>> {
    std::fs::read(dir.join(rel)).ok()
}

fn pretty(v: &Value) -> Vec<u8> {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s.into_bytes()
}

/// Every file of a plugin folder (relative, sorted), skipping build output
/// (`target/`, `__pycache__/`) and hidden names.
pub fn list_files(dir: &Path) -> Result<Vec<String>> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) -> Result<()> {
        let rd = match std::fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(Error::Io {
                    op: "read",
                    path: dir.to_path_buf(),
                    source: e,
                });
            }
        };
        for ent in rd {
            let ent = ent.map_err(|e| Error::Io {
                op: "read",
                path: dir.to_path_buf(),
                source: e,
            })?;
            let name = ent.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name == "target" || name == "__pycache__" {
                continue;
            }
            let rel = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            let ft = ent.file_type().map_err(|e| Error::Io {
                op: "stat",
                path: ent.path(),
                source: e,
            })?;
            if ft.is_dir() {
                walk(&ent.path(), &rel, out)?;
            } else {
                out.push(rel);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out)?;
    out.sort();
    Ok(out)
}

/// The paths of an operation's artifacts, relative to the plugin folder.
pub struct OpFiles {
    pub in_schema: String,
    pub out_schema: String,
    pub request: String,
    pub response: String,
    pub test: String,
}

pub fn op_files(lang: Lang, op: &str) -> OpFiles {
    OpFiles {
        in_schema: format!("schemas/{op}.in.schema.json"),
        out_schema: format!("schemas/{op}.out.schema.json"),
        request: format!("examples/{op}_request.json"),
        response: format!("examples/{op}_response.json"),
        test: lang.test_file(op),
    }
}

/// Generate the plugin folder of `spec` against `policy`. `today` (YYYY-MM-DD)
/// dates a new policy snapshot; an unchanged policy keeps the old date.
pub fn generate(
    root: &Path,
    spec: &PluginSpec,
    policy: &Policy,
    today: &str,
) -> Result<Generation> {
    let mut g = Planner {
        dir: plugin_dir(root, &spec.key),
        spec,
        files: Vec::new(),
    };
    // The spec itself: hand-written, normalised only when missing.
    let spec_current = read(&g.dir, SPEC_FILE);
    g.push(
        SPEC_FILE,
        Ownership::Spec,
        spec_current
            .is_none()
            .then(|| spec.to_pretty().into_bytes()),
        None,
    );
    g.derived(policy, today);
    g.fenced();
    g.scaffolded();
    g.manifest()?;
    Ok(Generation {
        key: spec.key.clone(),
        files: g.files,
    })
}

/// One generation in progress: the plugin's folder and the files planned so far.
struct Planner<'a> {
    dir: PathBuf,
    spec: &'a PluginSpec,
    files: Vec<FilePlan>,
}

impl Planner<'_> {
    fn push(
        &mut self,
        rel: &str,
        ownership: Ownership,
        wanted: Option<Vec<u8>>,
        problem: Option<String>,
    ) {
        self.files.push(FilePlan {
            rel: rel.to_string(),
            ownership,
            current: read(&self.dir, rel),
            wanted,
            problem,
        });
    }

    /// A file written once, when it is missing; then the developer's.
    fn scaffold(&mut self, rel: &str, content: String) {
        let exists = self.dir.join(rel).exists();
        self.push(
            rel,
            Ownership::Scaffold,
            (!exists).then(|| content.into_bytes()),
            None,
        );
    }

    /// Derived files, rewritten whole from the spec and the policy.
    fn derived(&mut self, policy: &Policy, today: &str) {
        let spec = self.spec;
        self.push(
            "ledger_contract.json",
            Ownership::Derived,
            Some(pretty(&ledger_contract(spec))),
            None,
        );
        let previous_date = read(&self.dir, POLICY_SNAPSHOT)
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .filter(|v| v["policy"]["sha256"] == json!(policy.digest))
            .and_then(|v| v["taken"].as_str().map(str::to_string));
        let taken = previous_date.unwrap_or_else(|| today.to_string());
        self.push(
            POLICY_SNAPSHOT,
            Ownership::Derived,
            Some(pretty(&policy_snapshot(spec, policy, &taken))),
            None,
        );
        self.push(
            "conformance/schemas/protocol.request.schema.json",
            Ownership::Derived,
            Some(pretty(&protocol::request_schema())),
            None,
        );
        self.push(
            "conformance/schemas/protocol.response.schema.json",
            Ownership::Derived,
            Some(pretty(&protocol::response_schema())),
            None,
        );
        self.push(
            "conformance/perf/budget.json",
            Ownership::Derived,
            Some(pretty(&json!({
                "schema": "warden.plugin-perf-budget/v1",
                "generator": GENERATOR,
                "timeout_ms": spec.limits.timeout_ms,
                "max_output_bytes": spec.limits.max_output_bytes,
            }))),
            None,
        );
    }

    /// Fenced files: only their AUTO sections are rewritten.
    fn fenced(&mut self) {
        let spec = self.spec;
        let readme_tpl = format!(
            "# {}\n\n<!-- BEGIN AUTO SECTION: OVERVIEW -->\n<!-- END AUTO SECTION: OVERVIEW -->\n\n## Notes\n\nHand-written notes go here; warden never rewrites anything outside the AUTO section.\n",
            spec.name
        );
        let (w, p) = fenced(
            &self.dir,
            "README_PLUGIN.md",
            &readme_tpl,
            &[("OVERVIEW", readme_body(spec))],
        );
        self.push("README_PLUGIN.md", Ownership::Fenced, w, p);
        let health_tpl = format!(
            "# Health checks: {}\n\n<!-- BEGIN AUTO SECTION: PROBES -->\n<!-- END AUTO SECTION: PROBES -->\n\n## Notes\n\nHow to tell this plugin is silently failing (hand-written; kept by `warden plugin gen`).\n",
            spec.name
        );
        let (w, p) = fenced(
            &self.dir,
            "healthcheck.md",
            &health_tpl,
            &[("PROBES", healthcheck_body(spec))],
        );
        self.push("healthcheck.md", Ownership::Fenced, w, p);
        let handler = spec.lang.handler();
        let (w, p) = fenced(
            &self.dir,
            handler,
            &lang::handler_template(spec),
            &[
                ("PLUGIN", lang::plugin_fence(spec)),
                ("PROTOCOL", lang::protocol_fence(spec)),
            ],
        );
        self.push(handler, Ownership::Fenced, w, p);
    }

    /// Files scaffolded once: each operation's schemas, example and test,
    /// the conformance READMEs and, for Rust, the crate files.
    fn scaffolded(&mut self) {
        let spec = self.spec;
        let text = |v: &Value| String::from_utf8(pretty(v)).unwrap_or_default();
        for op in &spec.operations {
            let f = op_files(spec.lang, &op.name);
            self.scaffold(&f.in_schema, text(&op_in_schema(spec, op)));
            self.scaffold(&f.out_schema, text(&op_out_schema(spec, op)));
            let (req, resp) = op_example(spec, op);
            self.scaffold(&f.request, text(&req));
            self.scaffold(&f.response, text(&resp));
            self.scaffold(&f.test, lang::op_test(spec, op));
        }
        self.scaffold(
            "conformance/behavior/README.md",
            "# Behaviour scenarios\n\nAdd scenarios here as the plugin's scope grows (Given/When/Then, one file each).\n".into(),
        );
        self.scaffold(
            "conformance/examples/README.md",
            "# Conformance examples\n\nPairs `<name>_request.json` / `<name>_response.json` (same shapes as `examples/`)\nthat `warden plugin test` runs besides each operation's own example.\n".into(),
        );
        if spec.lang == Lang::Rust {
            self.scaffold("Cargo.toml", lang::cargo_toml(spec));
            self.scaffold("Cargo.lock", lang::cargo_lock(spec));
        }
    }

    /// The manifest: checksums of every other file as it will be.
    fn manifest(&mut self) -> Result<()> {
        let mut after: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        for rel in list_files(&self.dir)? {
            if rel != MANIFEST
                && let Some(b) = read(&self.dir, &rel)
            {
                after.insert(rel, b);
            }
        }
        for f in &self.files {
            if let Some(w) = f.wanted.as_ref().filter(|_| f.problem.is_none()) {
                after.insert(f.rel.clone(), w.clone());
            }
        }
        let manifest = manifest(self.spec, &after);
        self.push(MANIFEST, Ownership::Derived, Some(pretty(&manifest)), None);
        Ok(())
    }
}

/// Regenerate the fences of a file (or render it from its template when
/// missing). Returns (wanted, problem).
fn fenced(
    dir: &Path,
    rel: &str,
    template: &str,
    bodies: &[(&str, String)],
) -> (Option<Vec<u8>>, Option<String>) {
    let current = read(dir, rel).map(|b| String::from_utf8_lossy(&b).into_owned());
    let mut text = current.clone().unwrap_or_else(|| template.to_string());
    for (name, body) in bodies {
        match fence::patch(&text, name, body) {
            Ok(Some(t)) => text = t,
            Ok(None) => {}
            Err(fence::PatchError::HandEdited { name, line }) => {
                return (
                    None,
                    Some(format!(
                        "the AUTO fence \"{name}\" (line {line}) was edited by hand; move the change to the developer area or restore the fence (`git checkout -- {rel}`), then run `warden plugin gen`"
                    )),
                );
            }
            Err(fence::PatchError::Missing(name)) => {
                return (
                    None,
                    Some(format!(
                        "the AUTO fence \"{name}\" is missing; put back its BEGIN/END markers (see a freshly scaffolded plugin) and run `warden plugin gen`"
                    )),
                );
            }
            Err(fence::PatchError::Malformed(e)) => {
                return (None, Some(format!("malformed AUTO fence: {e}")));
            }
        }
    }
    (Some(text.into_bytes()), None)
}

/// The union of every event's required ledger fields, plus the per-plugin record.
pub const PLUGIN_RECORD_FIELDS: &[&str] = &[
    "plugin",
    "plugin_version",
    "manifest_sha256",
    "event",
    "input_sha256",
    "policy",
    "sandbox",
    "exit",
    "duration_ms",
    "stderr_sha256",
    "proposal_sha256",
    "outcome",
];

fn ledger_contract(spec: &PluginSpec) -> Value {
    let mut run_fields: Vec<&str> = Vec::new();
    for ev in &spec.events {
        if let Some(e) = events::find(ev) {
            for f in e.required_ledger_fields {
                if !run_fields.contains(f) {
                    run_fields.push(f);
                }
            }
        }
    }
    let mut record: Vec<String> = PLUGIN_RECORD_FIELDS.iter().map(|s| s.to_string()).collect();
    for f in &spec.ledger_fields {
        if !record.contains(f) {
            record.push(f.clone());
        }
    }
    json!({
        "schema": "warden.plugin-ledger-contract/v1",
        "generator": GENERATOR,
        "plugin": spec.key,
        "id": spec.id,
        "events": spec.events,
        "run_entry": {
            "description": "fields of the ledger entry of every run that applies this plugin's proposal (.ledger/runs/<writer>.jsonl)",
            "required": run_fields,
        },
        "plugin_record": {
            "description": "fields warden records for every invocation of this plugin (details.plugins[] of the `run` ledger entry)",
            "required": record,
        },
    })
}

fn policy_snapshot(spec: &PluginSpec, policy: &Policy, taken: &str) -> Value {
    let mut per_event = serde_json::Map::new();
    for ev in &spec.events {
        let allowed: Vec<&str> = policy
            .allowed(ev, "plugin")
            .into_iter()
            .map(ActionKind::name)
            .collect();
        let requested: Vec<&str> = spec.actions.iter().map(String::as_str).collect();
        let granted: Vec<&str> = requested
            .iter()
            .copied()
            .filter(|a| allowed.contains(a))
            .collect();
        let denied: Vec<&str> = requested
            .iter()
            .copied()
            .filter(|a| !allowed.contains(a))
            .collect();
        per_event.insert(
            ev.clone(),
            json!({"allowed": allowed, "requested": requested, "granted": granted, "denied": denied}),
        );
    }
    json!({
        "schema": "warden.plugin-policy-snapshot/v1",
        "generator": GENERATOR,
        "plugin": spec.key,
        "policy": {"version": policy.file.version, "sha256": policy.digest},
        "taken": taken,
        "events": per_event,
        "paths": {
            "allow": policy.file.paths.allow,
            "deny": policy.file.paths.deny,
            "always_denied": [".git/", ".ledger/", ".warden/", ".runs/", "plugins/"],
        },
        "limits": policy.file.limits,
        "sandbox": {
            "repository": "read-only",
            "writable": "a per-run scratch directory",
            "run_unsandboxed": policy.file.plugins.run_unsandboxed,
        },
    })
}

fn manifest(spec: &PluginSpec, files: &BTreeMap<String, Vec<u8>>) -> Value {
    let ops: Vec<Value> = spec
        .operations
        .iter()
        .map(|o| {
            let f = op_files(spec.lang, &o.name);
            json!({
                "name": o.name, "events": o.events, "input_schema": f.in_schema, "output_schema": f.out_schema,
                "request_example": f.request, "response_example": f.response, "test": f.test,
            })
        })
        .collect();
    let sums: BTreeMap<&String, String> = files
        .iter()
        .map(|(k, v)| (k, Digest::of(v).to_string()))
        .collect();
    json!({
        "schema": "warden.plugin-manifest/v1",
        "generator": GENERATOR,
        "key": spec.key,
        "id": spec.id,
        "name": spec.name,
        "version": spec.version,
        "description": spec.description,
        "owner": spec.owner,
        "lang": spec.lang,
        "entry": spec.entry(),
        "handler": spec.lang.handler(),
        "protocol": {"major": spec.protocol, "features": FEATURES},
        "compatibility": {"warden": format!(">={}", warden_core::VERSION), "protocol_majors": [crate::spec::PROTOCOL_MAJOR]},
        "events": spec.events,
        "priority": spec.priority,
        "operations": ops,
        "capabilities": {"actions": spec.actions, "repository": "read-only", "writable": "scratch"},
        "limits": spec.limits,
        "files": sums,
    })
}

fn readme_body(spec: &PluginSpec) -> String {
    let mut s = String::new();
    s.push_str(&format!("{}\n\n", spec.description.trim()));
    s.push_str(&format!(
        "| | |\n|---|---|\n| key | `{}` |\n| id | `{}` (ids/cards/{}.yaml) |\n| version | {} |\n| language | {} (`{}`) |\n| protocol | {} |\n| priority | {} |\n| may propose | {} |\n\n",
        spec.key,
        spec.id,
        spec.id,
        spec.version,
        spec.lang.name(),
        spec.lang.handler(),
        spec.protocol,
        spec.priority,
        spec.actions.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ")
    ));
    s.push_str("## When it runs\n\n");
    for ev in &spec.events {
        let trigger = events::find(ev).map(|e| e.trigger).unwrap_or("");
        s.push_str(&format!("- **{ev}**: {trigger}\n"));
    }
    s.push_str("\n## Operations\n\n| operation | events | input | output | example |\n|---|---|---|---|---|\n");
    for op in &spec.operations {
        let f = op_files(spec.lang, &op.name);
        s.push_str(&format!(
            "| `{}` | {} | [{}]({}) | [{}]({}) | [request]({}) → [response]({}) |\n",
            op.name,
            op.events.join(", "),
            f.in_schema,
            f.in_schema,
            f.out_schema,
            f.out_schema,
            f.request,
            f.response
        ));
    }
    let ev = &spec.events[0];
    let first = op_files(spec.lang, &spec.operations[0].name);
    s.push_str(&format!(
        "\n## Try it\n\n```\nwarden plugin validate {k}      # the full checklist\nwarden plugin test {k}          # health probes + conformance examples\nwarden plugin enable {k}        # only a plugin that validates\nwarden run {ev} --input plugins/{k}/{req}\n```\n\nThe plugin only proposes; warden's core checks each proposal against the policy\n(see [policy_snapshot.json](policy_snapshot.json)) and applies it as a ledgered,\nundoable run. Everything in this section is generated from `plugin.spec.json` by\n`warden plugin gen`.\n",
        k = spec.key,
        req = first.request
    ));
    s
}

fn healthcheck_body(spec: &PluginSpec) -> String {
    let mut s = String::from(
        "`warden plugin test KEY` runs every probe below in the same sandbox as a real run and reports pass/fail per probe.\n\n| probe | passes when |\n|---|---|\n",
    )
    .replace("KEY", &spec.key);
    s.push_str(&format!(
        "| `handshake` | the plugin starts, answers hello with protocol major {} and returns a response to an empty batch within {} ms |\n",
        spec.protocol, spec.limits.timeout_ms
    ));
    for op in &spec.operations {
        let f = op_files(spec.lang, &op.name);
        s.push_str(&format!(
            "| `example:{}` | `{}` yields exactly `{}`, which validates against `{}` |\n",
            op.name, f.request, f.response, f.out_schema
        ));
    }
    s.push_str("| `conformance:<name>` | each `conformance/examples/<name>_request.json` yields `<name>_response.json` |\n");
    s.push_str(&format!(
        "| `read-only` | the repository is byte-for-byte unchanged after every probe |\n| `limits` | no probe exceeds {} ms or {} bytes of output |\n",
        spec.limits.timeout_ms, spec.limits.max_output_bytes
    ));
    s
}

fn op_in_schema(spec: &PluginSpec, op: &Operation) -> Value {
    let items: Vec<Value> = op
        .events
        .iter()
        .filter_map(|e| events::find(e).map(|e| e.input_schema))
        .map(|mut v| {
            if let Some(o) = v.as_object_mut() {
                o.remove("$schema");
            }
            v
        })
        .collect();
    let item = if items.len() == 1 {
        items.into_iter().next().unwrap_or(Value::Null)
    } else {
        json!({"anyOf": items})
    };
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": format!("{}: input of operation {}", spec.key, op.name),
        "type": "object",
        "additionalProperties": false,
        "required": ["event", "items"],
        "properties": {
            "event": {"enum": op.events},
            "items": {"type": "array", "items": item},
        },
    })
}

fn op_out_schema(spec: &PluginSpec, op: &Operation) -> Value {
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": format!("{}: output of operation {}", spec.key, op.name),
        "type": "object",
        "additionalProperties": false,
        "required": ["actions", "rationale"],
        "properties": {
            "actions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["kind"],
                    "properties": {"kind": {"enum": spec.actions}},
                },
            },
            "rationale": {"type": "string"},
        },
    })
}

/// The scaffolded example pair of an operation, matching the default handler.
fn op_example(spec: &PluginSpec, op: &Operation) -> (Value, Value) {
    let event = op.events[0].clone();
    let items = match event.as_str() {
        "FileDetected" => vec![
            json!({"path": "inbox/report.md", "sha256": Digest::of(b"# report\n").to_string(), "size": 9}),
            json!({"path": "inbox/scratch.tmp", "sha256": Digest::of(b"x\n").to_string(), "size": 2}),
        ],
        "PreCommit" => vec![json!({"staged": ["src/lib.rs"]})],
        "PreMerge" => vec![json!({"base": "main", "head": "feature"})],
        "MergeConflict" => vec![json!({"paths": ["notes.md"]})],
        "PostMerge" => vec![json!({"commit": "0000000000000000000000000000000000000000"})],
        "SyncAudited" => vec![json!({"report": {}})],
        "QuarantineCreated" => vec![json!({"path": "stray.bin", "reason": "unclassified"})],
        "RollbackTriggered" => vec![json!({"run": "01JZ0000000000000000000000"})],
        "CommandReceived" => vec![json!({"id": "cmd-1", "action": "noop"})],
        _ => vec![json!({"proposal": {}})],
    };
    let req = ExampleRequest {
        event,
        items: items.clone(),
    };
    let actions: Vec<Value> = if lang::quarantines(spec, op) {
        items
            .iter()
            .filter_map(|i| i["path"].as_str())
            .filter(|p| p.ends_with(".tmp") || p.ends_with('~'))
            .map(|p| json!({"kind": "quarantine", "path": p, "reason": "temporary file"}))
            .collect()
    } else {
        Vec::new()
    };
    (
        serde_json::to_value(req).unwrap_or(Value::Null),
        json!({"actions": actions, "rationale": lang::rationale(spec, op)}),
    )
}
