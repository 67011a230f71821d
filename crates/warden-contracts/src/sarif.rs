//! SARIF 2.1.0 for GitHub code scanning: one rule per gap kind (stable
//! `ruleId` = the kind), `partialFingerprints` = the gap id (no line numbers),
//! a location for every result (the target file when it exists, otherwise the
//! line of the meta file that declares it). Suppressed gaps are marked, not
//! dropped, and baselined ones carry `baselineState: unchanged`, so code
//! scanning dismisses rather than closes and reopens alerts.

use crate::check::CheckReport;
use crate::gaps::{GapKind, Severity, Status};
use serde_json::{Value, json};
use std::path::Path;

pub fn sarif(root: &Path, report: &CheckReport) -> Value {
    let rules: Vec<Value> = GapKind::ALL
        .iter()
        .map(|k| {
            json!({
                "id": k.name(),
                "name": k.name(),
                "shortDescription": {"text": k.summary()},
                "help": {"text": format!("Fix: {}", k.fix())},
                "defaultConfiguration": {"level": if matches!(k, GapKind::UnknownMetaType | GapKind::ModuleSpecDeprecated) { "warning" } else { "error" }},
            })
        })
        .collect();
    let results: Vec<Value> = report
        .gaps
        .iter()
        .map(|g| {
            let target_line = g.context.get("target_line").and_then(Value::as_u64);
            let (uri, line) = match &g.target_file {
                Some(t) if root.join(t).is_file() => (t.clone(), target_line.unwrap_or(1) as usize),
                _ => (g.meta_file.clone(), g.line),
            };
            let mut r = json!({
                "ruleId": g.kind.name(),
                "ruleIndex": GapKind::ALL.iter().position(|k| *k == g.kind).unwrap_or(0),
                "level": match g.severity { Severity::Error => "error", Severity::Warning => "warning" },
                "message": {"text": format!("{} ({}). Fix: {}", g.message, g.id, g.fix)},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": line.max(1)},
                }}],
                "partialFingerprints": {"wardenGapId/v1": g.id},
                "baselineState": if g.status == Status::Baselined { "unchanged" } else { "new" },
            });
            if g.status == Status::Suppressed {
                r["suppressions"] = json!([{
                    "kind": "external",
                    "justification": g.suppressed_because.clone().unwrap_or_default(),
                }]);
            }
            r
        })
        .collect();
    warden_core::report::sarif_log(rules, results)
}
