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
    let bytes = std::fs::read(root.join(&rel)).map_err(|e| {
        boxed(
            "spec-missing",
            key,
            rel.clone(),
            format!("cannot read the spec: {e}"),
            format!("create it with `warden plugin new {key} --event EVENT --lang LANG`"),
        )
    })?;
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
    let mut out = Vec::new();
    let spec = match load_spec(root, key) {
        Ok(s) => s,
        Err(f) => return (None, None, vec![*f]),
    };
    let dir_rel = format!("{PLUGINS_DIR}/{key}");
    let g = match generate::generate(root, &spec, policy, today) {
        Ok(g) => g,
        Err(e) => {
            out.push(finding(
                "generate",
                key,
                dir_rel,
                e.to_string(),
                "fix the error and run `warden plugin validate` again".into(),
            ));
            return (Some(spec), None, out);
        }
    };
    let gen_fix = format!("run `warden plugin gen {key}`");

    if spec.protocol != PROTOCOL_MAJOR {
        out.push(finding(
            "protocol-unsupported",
            key,
            format!("{dir_rel}/{SPEC_FILE}"),
            format!("protocol major {} is not supported (this warden speaks {PROTOCOL_MAJOR})", spec.protocol),
            format!("set \"protocol\": {PROTOCOL_MAJOR} and port the handler, or use a warden that speaks {}", spec.protocol),
        ));
    }

    for f in &g.files {
        let file = format!("{dir_rel}/{}", f.rel);
        if let Some(p) = &f.problem {
            out.push(finding(
                "auto-fence-edited",
                key,
                file,
                p.clone(),
                "see the message".into(),
            ));
            continue;
        }
        match (f.ownership, &f.current, f.changes()) {
            (Ownership::Spec, _, _) => {}
            (_, None, _) => out.push(finding(
                "file-missing",
                key,
                file,
                format!("{} file is missing", ownership_name(f.ownership)),
                gen_fix.clone(),
            )),
            (Ownership::Derived, Some(_), true) => out.push(finding(
                "derived-out-of-sync",
                key,
                file,
                "derived file is out of sync with plugin.spec.json, the policy or the plugin's files (checksums differ)".into(),
                gen_fix.clone(),
            )),
            (Ownership::Fenced, Some(_), true) => out.push(finding(
                "auto-fence-out-of-sync",
                key,
                file,
                "an AUTO fence is out of sync with plugin.spec.json".into(),
                gen_fix.clone(),
            )),
            _ => {}
        }
    }

    // Handler: present, defines every operation.
    let handler_rel = format!("{dir_rel}/{}", spec.lang.handler());
    match std::fs::read_to_string(root.join(&handler_rel)) {
        Ok(text) => {
            for op in &spec.operations {
                if !lang::defines_op(spec.lang, &text, &op.name) {
                    out.push(finding(
                        "handler-op-missing",
                        key,
                        handler_rel.clone(),
                        format!("the handler does not define operation `{}`", op.name),
                        format!(
                            "define `{}` in the developer area (see a freshly scaffolded plugin)",
                            op.name
                        ),
                    ));
                }
            }
        }
        Err(_) => {
            // Reported as file-missing above.
        }
    }

    // Requested actions within the policy for each event.
    for ev in &spec.events {
        let allowed = policy.allowed(ev, "plugin");
        for a in &spec.actions {
            if !allowed.iter().any(|k| k.name() == a) {
                out.push(finding(
                    "actions-beyond-policy",
                    key,
                    format!("{dir_rel}/{SPEC_FILE}"),
                    format!("the plugin asks for `{a}` on {ev}, which the policy does not allow plugins"),
                    format!("remove \"{a}\" from \"actions\", or allow it in .warden/policy.yaml under events.{ev}.plugin"),
                ));
            }
        }
    }

    // Every operation: schemas, examples, test; examples validate.
    for op in &spec.operations {
        let f = generate::op_files(spec.lang, &op.name);
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
                out.push(finding(
                    "file-missing",
                    key,
                    format!("{dir_rel}/{rel}"),
                    "operation artifact is missing".into(),
                    gen_fix.clone(),
                ));
            }
        }
        check_example(root, key, &dir_rel, &f.in_schema, &f.request, &mut out);
        check_example(root, key, &dir_rel, &f.out_schema, &f.response, &mut out);
        if let Some(resp) = read_json(root, &format!("{dir_rel}/{}", f.response)) {
            check_response_actions(
                &spec,
                op.events.first().map(String::as_str).unwrap_or("Manual"),
                &resp,
                key,
                &format!("{dir_rel}/{}", f.response),
                &mut out,
            );
        }
    }

    // Identity: the spec's id has a card naming this plugin.
    let card_rel = format!("{}/{}.yaml", ids::CARDS_DIR, spec.id);
    match ids::read_card(root, &spec.id) {
        Ok(card) if card.artifact == dir_rel => {}
        Ok(card) => out.push(finding(
            "id-card-mismatch",
            key,
            card_rel,
            format!("the ID card names artifact \"{}\", not \"{dir_rel}\"", card.artifact),
            "ID cards are immutable: give the plugin its own id (`warden ids mint plugin plugins/KEY`)".into(),
        )),
        Err(e) => out.push(finding(
            "id-card-missing",
            key,
            card_rel,
            e,
            format!("mint one with `warden ids mint plugin {dir_rel}` and put its id in plugin.spec.json"),
        )),
    }
    (Some(spec), Some(g), out)
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
