//! `warden plugin test KEY`: the health probes of `healthcheck.md` and every
//! conformance example, each run like a real dispatch (same sandbox, limits
//! and protocol), reporting pass/fail per probe. Writes nothing.

use crate::generate::{self, op_files};
use crate::protocol::{ExampleRequest, Output};
use crate::runtime::{FaultKind, Invocation, Launcher, invoke};
use crate::sandbox::Level;
use crate::snapshot::Snapshot;
use crate::spec::PluginSpec;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use std::path::Path;

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Probe {
    pub probe: String,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "warden plugin test report")]
pub struct ProbeReport {
    pub schema: String,
    pub plugin: String,
    pub sandbox: Level,
    pub probes: Vec<Probe>,
}

impl ProbeReport {
    pub fn ok(&self) -> bool {
        self.probes.iter().all(|p| p.ok)
    }
}

fn describe(inv: &Invocation) -> String {
    match &inv.outcome {
        Ok(o) => format!("{} action(s) in {} ms", o.actions.len(), inv.duration_ms),
        Err(f) => {
            let stderr = String::from_utf8_lossy(&inv.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            if tail.is_empty() {
                f.message.clone()
            } else {
                format!("{} (stderr: {})", f.message, tail.join(" | "))
            }
        }
    }
}

fn read_json(path: &Path) -> Result<Value, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    // Strict: an example repeating a key would test something other than it shows.
    warden_core::strict::parse_json(&bytes, &path.display().to_string()).map_err(|e| {
        let hint = e.hint().map(|h| format!(" ({h})")).unwrap_or_default();
        format!("{e}{hint}")
    })
}

/// Run one example: request file → expected response file.
#[allow(clippy::too_many_arguments)] // one probe's whole context; a struct would only rename it
fn example(
    root: &Path,
    spec: &PluginSpec,
    dir: &Path,
    request: &str,
    response: &str,
    out_schema: Option<&str>,
    launcher: &Launcher,
    require: bool,
    invs: &mut Vec<Invocation>,
) -> Result<String, String> {
    let req: ExampleRequest = serde_json::from_value(read_json(&dir.join(request))?)
        .map_err(|e| format!("{request}: {e}"))?;
    let expected: Output = serde_json::from_value(read_json(&dir.join(response))?)
        .map_err(|e| format!("{response}: {e}"))?;
    let op = spec
        .operation_for(&req.event)
        .ok_or_else(|| format!("{request}: no operation handles {}", req.event))?;
    let inv = invoke(
        root, spec, &op.name, &req.event, &req.items, launcher, require,
    );
    let detail = describe(&inv);
    let got = inv.outcome.clone();
    invs.push(inv);
    let got = got.map_err(|_| detail.clone())?;
    if got != expected {
        return Err(format!(
            "response differs from {response}: got {}",
            serde_json::to_string(&got).unwrap_or_default()
        ));
    }
    if let Some(schema) = out_schema {
        let schema = read_json(&dir.join(schema))?;
        let v = jsonschema::draft7::new(&schema).map_err(|e| format!("bad output schema: {e}"))?;
        let got = serde_json::to_value(&got).unwrap_or(Value::Null);
        if let Some(err) = v.iter_errors(&got).next() {
            return Err(format!(
                "the response does not match the output schema: {err}"
            ));
        }
    }
    Ok(detail)
}

pub fn run(root: &Path, spec: &PluginSpec, launcher: &Launcher, require: bool) -> ProbeReport {
    let dir = generate::plugin_dir(root, &spec.key);
    let mut probes = Vec::new();
    let mut invs: Vec<Invocation> = Vec::new();
    let before = Snapshot::take(root, false).ok();
    let mut push = |probe: String, r: Result<String, String>| {
        probes.push(match r {
            Ok(detail) => Probe {
                probe,
                ok: true,
                detail,
            },
            Err(detail) => Probe {
                probe,
                ok: false,
                detail,
            },
        })
    };

    let op = &spec.operations[0];
    let event = op.events.first().cloned().unwrap_or_default();
    let inv = invoke(root, spec, &op.name, &event, &[], launcher, require);
    let r = match &inv.outcome {
        Ok(_) => Ok(format!(
            "protocol {} hello and a response to an empty batch ({})",
            spec.protocol,
            describe(&inv)
        )),
        Err(_) => Err(describe(&inv)),
    };
    let level = inv.sandbox.filesystem;
    invs.push(inv);
    push("handshake".into(), r);

    for op in &spec.operations {
        let f = op_files(spec.lang, &op.name);
        let r = example(
            root,
            spec,
            &dir,
            &f.request,
            &f.response,
            Some(&f.out_schema),
            launcher,
            require,
            &mut invs,
        );
        push(format!("example:{}", op.name), r);
    }
    let mut conformance: Vec<String> = std::fs::read_dir(dir.join("conformance/examples"))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter_map(|n| n.strip_suffix("_request.json").map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    conformance.sort();
    for name in conformance {
        let r = example(
            root,
            spec,
            &dir,
            &format!("conformance/examples/{name}_request.json"),
            &format!("conformance/examples/{name}_response.json"),
            None,
            launcher,
            require,
            &mut invs,
        );
        push(format!("conformance:{name}"), r);
    }

    let after = Snapshot::take(root, false).ok();
    let changed = match (&before, &after) {
        (Some(b), Some(a)) => b.changed(a),
        _ => vec!["(the repository could not be scanned)".into()],
    };
    push(
        "read-only".into(),
        if changed.is_empty() {
            Ok("the repository is unchanged after every probe".into())
        } else {
            Err(format!("the plugin changed: {}", changed.join(", ")))
        },
    );
    let over: Vec<String> = invs
        .iter()
        .filter_map(|i| i.outcome.as_ref().err())
        .filter(|f| matches!(f.kind, FaultKind::TimedOut | FaultKind::OutputTooLarge))
        .map(|f| f.message.clone())
        .collect();
    let slowest = invs.iter().map(|i| i.duration_ms).max().unwrap_or(0);
    push(
        "limits".into(),
        if over.is_empty() {
            Ok(format!(
                "slowest probe {slowest} ms (limit {} ms)",
                spec.limits.timeout_ms
            ))
        } else {
            Err(over.join("; "))
        },
    );
    ProbeReport {
        schema: "warden.plugin-test/v1".into(),
        plugin: spec.key.clone(),
        sandbox: level,
        probes,
    }
}
