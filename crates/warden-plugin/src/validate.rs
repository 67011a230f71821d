//! `warden plugin validate`: the full checklist (docs/plugins.md). Each finding names the file, the rule and the fix.
//! Only a plugin without findings can be enabled.

use crate::generate::{self, Generation, Ownership, PLUGINS_DIR};
use crate::ids;
use crate::lang;
use crate::protocol::Output;
use crate::spec::{PROTOCOL_MAJOR, PluginSpec, SPEC_FILE};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use warden_core::Digest;
use warden_core::policy::Policy;
use warden_core::proposal::Proposal;

pub const REPORT_SCHEMA_ID: &str = "warden.plugin-validate/v1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Finding {
    /// A stable rule id, e.g. `derived-out-of-sync`.
    pub rule: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    /// Repository-relative path of the file at fault.
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub message: String,
    pub fix: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PluginResult {
    pub key: String,
    pub ok: bool,
    /// sha256 of the manifest as generated now (what `enable` pins).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest_sha256: Option<Digest>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "warden plugin validate report")]
pub struct Report {
    pub schema: String,
    pub plugins: Vec<PluginResult>,
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.findings.is_empty()
    }
}

fn finding(rule: &str, plugin: &str, file: String, message: String, fix: String) -> Finding {
    Finding {
        rule: rule.into(),
        plugin: Some(plugin.into()),
        file,
        line: None,
        message,
        fix,
    }
}

fn boxed(rule: &str, plugin: &str, file: String, message: String, fix: String) -> Box<Finding> {
    Box::new(finding(rule, plugin, file, message, fix))
}

/// The plugin keys under `plugins/` (folders), sorted.
pub fn plugin_keys(root: &Path) -> Vec<String> {
    let mut keys: Vec<String> = std::fs::read_dir(root.join(PLUGINS_DIR))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    keys.sort();
    keys
}

/// Read and check `plugins/<key>/plugin.spec.json`.
pub fn load_spec(root: &Path, key: &str) -> Result<PluginSpec, Box<Finding>> {
    load(root, key, true)
}

/// [`load_spec`] for a plugin whose files still match the manifest pinned
/// when it was enabled (`runtime::pinned_mismatch` found nothing): the spec
/// is byte for byte the one that passed the JSON Schema then, so only the
/// strict parse runs (a dispatch does not compile the spec's schema again).
pub fn load_pinned_spec(root: &Path, key: &str) -> Result<PluginSpec, Box<Finding>> {
    load(root, key, false)
}

fn load(root: &Path, key: &str, schema: bool) -> Result<PluginSpec, Box<Finding>> {
    let rel = format!("{PLUGINS_DIR}/{key}/{SPEC_FILE}");
    let missing = |why: String| {
        boxed(
            "spec-missing",
            key,
            rel.clone(),
            format!("cannot read the spec: {why}"),
            format!("create it with `warden plugin new {key} --event EVENT --lang LANG`"),
        )
    };
    let bytes = warden_core::strict::read_config(root, &rel)
        .map_err(|e| missing(e.to_string()))?
        .ok_or_else(|| missing("No such file or directory".into()))?;
    // Strict parsing first (encoding, repeated keys, unknown fields with a
    // did-you-mean, the rules the schema cannot say), then the published JSON
    // Schema (what editors check).
    let spec = PluginSpec::parse_bytes(&bytes, &rel).map_err(|e| {
        boxed(
            "spec-invalid",
            key,
            rel.clone(),
            e.to_string(),
            e.hint()
                .unwrap_or_else(|| "`warden schema plugin-spec` prints the format".into()),
        )
    })?;
    if schema
        && let Ok(value) = serde_json::from_slice::<Value>(&bytes)
        && let Ok(v) =
            jsonschema::draft7::new(&crate::schemas::get("plugin-spec").unwrap_or(Value::Null))
        && let Some(err) = v.iter_errors(&value).next()
    {
        return Err(boxed(
            "spec-schema",
            key,
            rel,
            format!(
                "{}: {err}",
                if err.instance_path().as_str().is_empty() {
                    "(document)".to_string()
                } else {
                    err.instance_path().to_string()
                }
            ),
            "fix the field; `warden schema plugin-spec` prints the format".into(),
        ));
    }
    if spec.key != key {
        return Err(boxed(
            "spec-key",
            key,
            rel,
            format!(
                "the spec's key \"{}\" is not its folder name \"{key}\"",
                spec.key
            ),
            format!("set \"key\": \"{key}\" (or rename the folder)"),
        ));
    }
    Ok(spec)
}

/// Validate one plugin. Returns the generation (when the spec loads) and findings.
pub fn validate_plugin(
    root: &Path,
    policy: &Policy,
    key: &str,
    today: &str,
) -> (Option<PluginSpec>, Option<Generation>, Vec<Finding>) {
    let spec = match load_spec(root, key) {
        Ok(s) => s,
        Err(f) => return (None, None, vec![*f]),
    };
    let dir_rel = format!("{PLUGINS_DIR}/{key}");
    let g = match generate::generate(root, &spec, policy, today) {
        Ok(g) => g,
        Err(e) => {
            let f = finding(
                "generate",
                key,
                dir_rel,
                e.to_string(),
                "fix the error and run `warden plugin validate` again".into(),
            );
            return (Some(spec), None, vec![f]);
        }
    };
    let mut c = Checker {
        root,
        key,
        spec: &spec,
        gen_fix: format!("run `warden plugin gen {key}`"),
        dir_rel,
        out: Vec::new(),
    };
    c.protocol();
    c.generated_files(&g);
    c.handler_defines_every_operation();
    c.actions_within_policy(policy);
    c.operation_artifacts(&g);
    c.id_card();
    let out = c.out;
    (Some(spec), Some(g), out)
}

/// The checks of one plugin whose spec loads and generates, each adding its
/// findings to `out`.
struct Checker<'a> {
    root: &'a Path,
    key: &'a str,
    spec: &'a PluginSpec,
    /// `plugins/KEY`.
    dir_rel: String,
    /// The fix of everything `warden plugin gen` rewrites.
    gen_fix: String,
    out: Vec<Finding>,
}

impl Checker<'_> {
    fn push(&mut self, kind: &str, file: String, message: String, fix: String) {
        self.out.push(finding(kind, self.key, file, message, fix));
    }

    /// The spec's protocol major is the one this warden speaks.
    fn protocol(&mut self) {
        let p = self.spec.protocol;
        if p != PROTOCOL_MAJOR {
            self.push(
                "protocol-unsupported",
                format!("{}/{SPEC_FILE}", self.dir_rel),
                format!("protocol major {p} is not supported (this warden speaks {PROTOCOL_MAJOR})"),
                format!("set \"protocol\": {PROTOCOL_MAJOR} and port the handler, or use a warden that speaks {p}"),
            );
        }
    }

    /// Every generated file is present, untouched where it is fenced and in
    /// step with the spec.
    fn generated_files(&mut self, g: &Generation) {
        for f in &g.files {
            let file = format!("{}/{}", self.dir_rel, f.rel);
            if let Some(p) = &f.problem {
                self.push(
                    "auto-fence-edited",
                    file,
                    p.clone(),
                    "see the message".into(),
                );
                continue;
            }
            let fix = self.gen_fix.clone();
            match (f.ownership, &f.current, f.changes()) {
                (Ownership::Spec, _, _) => {}
                (_, None, _) => self.push(
                    "file-missing",
                    file,
                    format!("{} file is missing", ownership_name(f.ownership)),
                    fix,
                ),
                (Ownership::Derived, Some(_), true) => self.push(
                    "derived-out-of-sync",
                    file,
                    "derived file is out of sync with plugin.spec.json, the policy or the plugin's files (checksums differ)".into(),
                    fix,
                ),
                (Ownership::Fenced, Some(_), true) => self.push(
                    "auto-fence-out-of-sync",
                    file,
                    "an AUTO fence is out of sync with plugin.spec.json".into(),
                    fix,
                ),
                _ => {}
            }
        }
    }

    /// The handler defines every operation. A missing handler is reported
    /// as file-missing by [`Checker::generated_files`].
    fn handler_defines_every_operation(&mut self) {
        let handler_rel = format!("{}/{}", self.dir_rel, self.spec.lang.handler());
        let Ok(text) = std::fs::read_to_string(self.root.join(&handler_rel)) else {
            return;
        };
        for op in &self.spec.operations {
            if !lang::defines_op(self.spec.lang, &text, &op.name) {
                self.push(
                    "handler-op-missing",
                    handler_rel.clone(),
                    format!("the handler does not define operation `{}`", op.name),
                    format!(
                        "define `{}` in the developer area (see a freshly scaffolded plugin)",
                        op.name
                    ),
                );
            }
        }
    }

    /// Every action the plugin asks for is one the policy allows plugins on
    /// each of its events.
    fn actions_within_policy(&mut self, policy: &Policy) {
        for ev in &self.spec.events {
            let allowed = policy.allowed(ev, "plugin");
            for a in &self.spec.actions {
                if !allowed.iter().any(|k| k.name() == a) {
                    self.push(
                        "actions-beyond-policy",
                        format!("{}/{SPEC_FILE}", self.dir_rel),
                        format!("the plugin asks for `{a}` on {ev}, which the policy does not allow plugins"),
                        format!("remove \"{a}\" from \"actions\", or allow it in .warden/policy.yaml under events.{ev}.plugin"),
                    );
                }
            }
        }
    }

    /// Every operation has its schemas, examples and test, and its examples
    /// validate against its schemas and the declared actions.
    fn operation_artifacts(&mut self, g: &Generation) {
        let (root, key, dir_rel) = (self.root, self.key, self.dir_rel.clone());
        for op in &self.spec.operations {
            let f = generate::op_files(self.spec.lang, &op.name);
            for rel in [
                &f.in_schema,
                &f.out_schema,
                &f.request,
                &f.response,
                &f.test,
            ] {
                if !root.join(&dir_rel).join(rel).exists()
                    && !g.files.iter().any(|p| &p.rel == rel && p.current.is_none())
                {
                    self.push(
                        "file-missing",
                        format!("{dir_rel}/{rel}"),
                        "operation artifact is missing".into(),
                        self.gen_fix.clone(),
                    );
                }
            }
            check_example(root, key, &dir_rel, &f.in_schema, &f.request, &mut self.out);
            check_example(
                root,
                key,
                &dir_rel,
                &f.out_schema,
                &f.response,
                &mut self.out,
            );
            if let Some(resp) = read_json(root, &format!("{dir_rel}/{}", f.response)) {
                check_response_actions(
                    self.spec,
                    op.events.first().map(String::as_str).unwrap_or("Manual"),
                    &resp,
                    key,
                    &format!("{dir_rel}/{}", f.response),
                    &mut self.out,
                );
            }
        }
    }

    /// The spec's id has a card naming this plugin.
    fn id_card(&mut self) {
        let dir_rel = self.dir_rel.clone();
        let card_rel = format!("{}/{}.yaml", ids::CARDS_DIR, self.spec.id);
        match ids::read_card(self.root, &self.spec.id) {
            Ok(card) if card.artifact == dir_rel => {}
            Ok(card) => self.push(
                "id-card-mismatch",
                card_rel,
                format!("the ID card names artifact \"{}\", not \"{dir_rel}\"", card.artifact),
                "ID cards are immutable: give the plugin its own id (`warden ids mint plugin plugins/KEY`)".into(),
            ),
            Err(e) => self.push(
                "id-card-missing",
                card_rel,
                e,
                format!("mint one with `warden ids mint plugin {dir_rel}` and put its id in plugin.spec.json"),
            ),
        }
    }
}

fn ownership_name(o: Ownership) -> &'static str {
    match o {
        Ownership::Spec => "the spec",
        Ownership::Derived => "a derived",
        Ownership::Fenced => "a generated",
        Ownership::Scaffold => "a scaffolded",
    }
}

fn read_json(root: &Path, rel: &str) -> Option<Value> {
    std::fs::read(root.join(rel))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
}

fn check_example(
    root: &Path,
    key: &str,
    dir_rel: &str,
    schema_rel: &str,
    example_rel: &str,
    out: &mut Vec<Finding>,
) {
    let schema_path = format!("{dir_rel}/{schema_rel}");
    let example_path = format!("{dir_rel}/{example_rel}");
    let Ok(schema_bytes) = std::fs::read(root.join(&schema_path)) else {
        return;
    };
    let Ok(example_bytes) = std::fs::read(root.join(&example_path)) else {
        return;
    };
    let schema: Value = match serde_json::from_slice(&schema_bytes) {
        Ok(v) => v,
        Err(e) => {
            out.push(finding(
                "schema-invalid",
                key,
                schema_path,
                format!("not JSON: {e}"),
                "fix the JSON".into(),
            ));
            return;
        }
    };
    let validator = match jsonschema::draft7::new(&schema) {
        Ok(v) => v,
        Err(e) => {
            out.push(finding(
                "schema-invalid",
                key,
                schema_path,
                format!("not a valid JSON Schema: {e}"),
                "fix the schema (draft-07)".into(),
            ));
            return;
        }
    };
    let example: Value = match serde_json::from_slice(&example_bytes) {
        Ok(v) => v,
        Err(e) => {
            out.push(finding(
                "example-invalid",
                key,
                example_path,
                format!("not JSON: {e}"),
                "fix the JSON".into(),
            ));
            return;
        }
    };
    if let Some(err) = validator.iter_errors(&example).next() {
        let at = err.instance_path().to_string();
        out.push(finding(
            "example-schema-mismatch",
            key,
            example_path,
            format!(
                "{}: {err}",
                if at.is_empty() {
                    "(document)".into()
                } else {
                    at
                }
            ),
            format!("make the example match {schema_rel} (or fix the schema)"),
        ));
    }
}

/// The example response's actions must parse as proposal actions.
fn check_response_actions(
    spec: &PluginSpec,
    event: &str,
    resp: &Value,
    key: &str,
    file: &str,
    out: &mut Vec<Finding>,
) {
    let Ok(output) = serde_json::from_value::<Output>(resp.clone()) else {
        return;
    };
    if output.actions.is_empty() {
        return; // proposing nothing is a valid answer
    }
    let doc = crate::runtime::proposal_value(spec, event, &output);
    if let Err(e) = Proposal::from_value(&doc, file) {
        out.push(finding(
            "example-action-invalid",
            key,
            file.to_string(),
            e.to_string(),
            e.hint()
                .unwrap_or_else(|| "`warden schema proposal` shows the action format".into()),
        ));
    }
}

/// Validate the given plugins (all when `keys` is None), plus the cross-plugin
/// rules: ids unique, and (for all) the operating contract up to date.
pub fn validate(
    root: &Path,
    policy: &Policy,
    keys: Option<&[String]>,
    today: &str,
    contract_in_sync: Option<bool>,
) -> Report {
    let all = plugin_keys(root);
    let chosen: Vec<String> = keys.map(|k| k.to_vec()).unwrap_or_else(|| all.clone());
    let mut findings = Vec::new();
    let mut plugins = Vec::new();
    let mut ids_seen: BTreeMap<String, String> = BTreeMap::new();
    // Ids across every plugin, so a chosen plugin colliding with another is found.
    for key in &all {
        if let Ok(spec) = load_spec(root, key) {
            if let Some(other) = ids_seen.get(&spec.id) {
                if chosen.contains(key) || chosen.contains(other) {
                    findings.push(finding(
                        "id-not-unique",
                        key,
                        format!("{PLUGINS_DIR}/{key}/{SPEC_FILE}"),
                        format!("id {} is also the id of plugin \"{other}\"", spec.id),
                        "give this plugin its own ID card: `warden ids mint plugin plugins/KEY`"
                            .into(),
                    ));
                }
            } else {
                ids_seen.insert(spec.id.clone(), key.clone());
            }
        }
    }
    for key in &chosen {
        let (_, g, f) = validate_plugin(root, policy, key, today);
        let manifest_sha256 = g.as_ref().and_then(|g| g.manifest_bytes()).map(Digest::of);
        plugins.push(PluginResult {
            key: key.clone(),
            ok: f.is_empty()
                && !findings
                    .iter()
                    .any(|x: &Finding| x.plugin.as_deref() == Some(key)),
            manifest_sha256,
        });
        findings.extend(f);
    }
    if contract_in_sync == Some(false) {
        findings.push(Finding {
            rule: "contract-stale".into(),
            plugin: None,
            file: ".warden/OPERATING_CONTRACT.md".into(),
            line: None,
            message: "the operating contract does not match the policy and the enabled plugins"
                .into(),
            fix: "run `warden init` to re-render it".into(),
        });
    }
    Report {
        schema: REPORT_SCHEMA_ID.into(),
        plugins,
        findings,
    }
}

/// SARIF 2.1.0 for code-scanning UIs: stable rule ids, a location per result.
pub fn sarif(report: &Report) -> Value {
    let mut rules: Vec<&str> = report.findings.iter().map(|f| f.rule.as_str()).collect();
    rules.sort();
    rules.dedup();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            serde_json::json!({
                "ruleId": f.rule,
                "level": "error",
                "message": {"text": format!("{} Fix: {}", f.message, f.fix)},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": f.file},
                    "region": {"startLine": f.line.unwrap_or(1)},
                }}],
                "partialFingerprints": {"warden/v1": Digest::of(format!("{}\0{}\0{}", f.rule, f.file, f.message).as_bytes()).to_string()},
            })
        })
        .collect();
    warden_core::report::sarif_log(
        rules.iter().map(|r| serde_json::json!({"id": r})).collect(),
        results,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_names_a_misspelt_spec_field_with_a_did_you_mean() {
        let dir = tempfile::tempdir().expect("tempdir");
        let plugin = dir.path().join("plugins/k");
        std::fs::create_dir_all(&plugin).expect("mkdir");
        let spec = r#"{"schema": "warden.plugin-spec/v1", "key": "k", "id": "01ARZ3NDEKTSV4RRFFQ69G5FAV",
            "name": "k", "version": "0.1.0", "description": "d", "events": ["FileDetected"],
            "lang": "python", "protocol": 1, "actions": ["quarantine"], "priorty": 5,
            "operations": [{"name": "handle", "description": "h", "events": ["FileDetected"]}]}"#;
        std::fs::write(plugin.join("plugin.spec.json"), spec).expect("write");
        let f = load_spec(dir.path(), "k").expect_err("unknown field");
        assert_eq!(f.rule, "spec-invalid");
        assert_eq!(
            f.message,
            "plugins/k/plugin.spec.json: priorty: unknown field"
        );
        assert_eq!(f.fix, "did you mean \"priority\"?");
    }
}
