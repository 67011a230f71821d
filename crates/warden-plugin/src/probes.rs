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

/// One `plugin test` in progress: what every probe runs against, the
/// invocations so far (the limits probe looks at them all) and the verdicts.
struct Prober<'a> {
    root: &'a Path,
    spec: &'a PluginSpec,
    /// The plugin's folder, where its examples live.
    dir: std::path::PathBuf,
    launcher: &'a Launcher,
    require: bool,
    invs: Vec<Invocation>,
    probes: Vec<Probe>,
}

/// The files of one example: request, expected response and, for an
/// operation's own example, the schema the response must match.
struct ExampleFiles<'f> {
    request: &'f str,
    response: &'f str,
    out_schema: Option<&'f str>,
}

impl Prober<'_> {
    fn push(&mut self, probe: String, r: Result<String, String>) {
        let (ok, detail) = match r {
            Ok(detail) => (true, detail),
            Err(detail) => (false, detail),
        };
        self.probes.push(Probe { probe, ok, detail });
    }

    /// The plugin says hello and answers an empty batch of its first
    /// operation. Returns the sandbox level the plugin ran at.
    fn handshake(&mut self) -> Level {
        let op = &self.spec.operations[0];
        let event = op.events.first().cloned().unwrap_or_default();
        let inv = invoke(
            self.root,
            self.spec,
            &op.name,
            &event,
            &[],
            self.launcher,
            self.require,
        );
        let r = match &inv.outcome {
            Ok(_) => Ok(format!(
                "protocol {} hello and a response to an empty batch ({})",
                self.spec.protocol,
                describe(&inv)
            )),
            Err(_) => Err(describe(&inv)),
        };
        let level = inv.sandbox.filesystem;
        self.invs.push(inv);
        self.push("handshake".into(), r);
        level
    }

    /// Each operation's own example, with its output schema.
    fn operation_examples(&mut self) {
        for op in &self.spec.operations {
            let f = op_files(self.spec.lang, &op.name);
            let files = ExampleFiles {
                request: &f.request,
                response: &f.response,
                out_schema: Some(&f.out_schema),
            };
            let r = self.example(&files);
            self.push(format!("example:{}", op.name), r);
        }
    }

    /// Every `conformance/examples/NAME_request.json`, by name.
    fn conformance_examples(&mut self) {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.join("conformance/examples"))
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter_map(|n| n.strip_suffix("_request.json").map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        for name in names {
            let request = format!("conformance/examples/{name}_request.json");
            let response = format!("conformance/examples/{name}_response.json");
            let files = ExampleFiles {
                request: &request,
                response: &response,
                out_schema: None,
            };
            let r = self.example(&files);
            self.push(format!("conformance:{name}"), r);
        }
    }

    /// Run one example: request file → expected response file.
    fn example(&mut self, files: &ExampleFiles<'_>) -> Result<String, String> {
        let (request, response) = (files.request, files.response);
        let req: ExampleRequest = serde_json::from_value(read_json(&self.dir.join(request))?)
            .map_err(|e| format!("{request}: {e}"))?;
        let expected: Output = serde_json::from_value(read_json(&self.dir.join(response))?)
            .map_err(|e| format!("{response}: {e}"))?;
        let op = self
            .spec
            .operation_for(&req.event)
            .ok_or_else(|| format!("{request}: no operation handles {}", req.event))?;
        let inv = invoke(
            self.root,
            self.spec,
            &op.name,
            &req.event,
            &req.items,
            self.launcher,
            self.require,
        );
        let detail = describe(&inv);
        let got = inv.outcome.clone();
        self.invs.push(inv);
        let got = got.map_err(|_| detail.clone())?;
        if got != expected {
            return Err(format!(
                "response differs from {response}: got {}",
                serde_json::to_string(&got).unwrap_or_default()
            ));
        }
        if let Some(schema) = files.out_schema {
            let schema = read_json(&self.dir.join(schema))?;
            let v =
                jsonschema::draft7::new(&schema).map_err(|e| format!("bad output schema: {e}"))?;
            let got = serde_json::to_value(&got).unwrap_or(Value::Null);
            if let Some(err) = v.iter_errors(&got).next() {
                return Err(format!(
                    "the response does not match the output schema: {err}"
                ));
            }
        }
        Ok(detail)
    }

    /// The repository is the same after every probe as before the first.
    fn read_only(&mut self, before: Option<&Snapshot>) {
        let after = Snapshot::take(self.root, false).ok();
        let changed = match (before, &after) {
            (Some(b), Some(a)) => b.changed(a),
            _ => vec!["(the repository could not be scanned)".into()],
        };
        self.push(
            "read-only".into(),
            if changed.is_empty() {
                Ok("the repository is unchanged after every probe".into())
            } else {
                Err(format!("the plugin changed: {}", changed.join(", ")))
            },
        );
    }

    /// No probe timed out or wrote more output than the limits allow.
    fn limits(&mut self) {
        let over: Vec<String> = self
            .invs
            .iter()
            .filter_map(|i| i.outcome.as_ref().err())
            .filter(|f| matches!(f.kind, FaultKind::TimedOut | FaultKind::OutputTooLarge))
            .map(|f| f.message.clone())
            .collect();
        let slowest = self.invs.iter().map(|i| i.duration_ms).max().unwrap_or(0);
        self.push(
            "limits".into(),
            if over.is_empty() {
                Ok(format!(
                    "slowest probe {slowest} ms (limit {} ms)",
                    self.spec.limits.timeout_ms
                ))
            } else {
                Err(over.join("; "))
            },
        );
    }
}

pub fn run(root: &Path, spec: &PluginSpec, launcher: &Launcher, require: bool) -> ProbeReport {
    let mut prober = Prober {
        root,
        spec,
        dir: generate::plugin_dir(root, &spec.key),
        launcher,
        require,
        invs: Vec::new(),
        probes: Vec::new(),
    };
    let before = Snapshot::take(root, false).ok();
    let level = prober.handshake();
    prober.operation_examples();
    prober.conformance_examples();
    prober.read_only(before.as_ref());
    prober.limits();
    ProbeReport {
        schema: "warden.plugin-test/v1".into(),
        plugin: spec.key.clone(),
        sandbox: level,
        probes: prober.probes,
    }
}
