//! The reports of the bridge commands that are not file formats of the bridge
//! root (`bridge new`, `bridge verify`, `bridge smoke`); each is one JSON
//! object with a `schema` tag (see `warden_core::report`).

use crate::reason::Rejection;
use schemars::JsonSchema;
use serde::Serialize;

/// `warden bridge new … --format json` (`warden.bridge-new/v1`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "warden bridge new")]
pub struct NewReport {
    /// Always "warden.bridge-new/v1".
    pub schema: String,
    /// The command id.
    pub id: String,
    /// Where the signed command was dropped (`commands/<id>.json`).
    pub file: String,
}

impl NewReport {
    pub fn new(id: impl Into<String>, file: impl Into<String>) -> Self {
        NewReport {
            schema: warden_core::report::tag("bridge-new"),
            id: id.into(),
            file: file.into(),
        }
    }
}

/// One validation layer of `warden bridge verify`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LayerResult {
    /// file, hmac, schema, time, constraints, paths, policy, dry-run.
    pub layer: String,
    pub ok: bool,
    /// What the layer found, when it passed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Why it refused, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejection: Option<Rejection>,
}

/// `warden bridge verify FILE --format json` (`warden.bridge-verify/v1`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "warden bridge verify")]
pub struct VerifyReport {
    /// Always "warden.bridge-verify/v1".
    pub schema: String,
    pub file: String,
    /// Whether every layer passed (the command would be applied).
    pub accepted: bool,
    pub layers: Vec<LayerResult>,
}

impl VerifyReport {
    pub fn new(file: impl Into<String>, layers: &[(&str, Result<String, Rejection>)]) -> Self {
        VerifyReport {
            schema: warden_core::report::tag("bridge-verify"),
            file: file.into(),
            accepted: layers.iter().all(|(_, r)| r.is_ok()),
            layers: layers
                .iter()
                .map(|(l, r)| LayerResult {
                    layer: (*l).to_string(),
                    ok: r.is_ok(),
                    note: r.as_ref().ok().cloned(),
                    rejection: r.as_ref().err().cloned(),
                })
                .collect(),
        }
    }
}

/// One check of `warden bridge smoke`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SmokeCheck {
    pub check: String,
    pub ok: bool,
}

/// `warden bridge smoke --format json` (`warden.bridge-smoke/v1`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "warden bridge smoke")]
pub struct SmokeReport {
    /// Always "warden.bridge-smoke/v1".
    pub schema: String,
    /// The no-op command's id.
    pub id: String,
    /// Whether every check passed.
    pub ok: bool,
    pub seconds: f64,
    pub checks: Vec<SmokeCheck>,
}

impl SmokeReport {
    pub fn new(id: impl Into<String>, seconds: f64, checks: &[(String, bool)]) -> Self {
        SmokeReport {
            schema: warden_core::report::tag("bridge-smoke"),
            id: id.into(),
            ok: checks.iter().all(|(_, ok)| *ok),
            seconds,
            checks: checks
                .iter()
                .map(|(c, ok)| SmokeCheck {
                    check: c.clone(),
                    ok: *ok,
                })
                .collect(),
        }
    }
}

/// What `warden bridge smoke` checks once its no-op command `id` went
/// through: archived, a result and a diff written, exactly one result commit,
/// no retry pending. Each check with whether it holds now.
pub fn smoke_checks(layout: &crate::layout::Layout, id: &str) -> Vec<(String, bool)> {
    let subject = format!("bridge: results {id} (exit=0)");
    let commits = crate::publish::Git::open(&layout.root, &layout.child_env)
        .and_then(|g| g.subjects(200))
        .map(|s| s.iter().filter(|l| **l == subject).count())
        .unwrap_or(0);
    vec![
        (format!("archive/{id}.json"), layout.archive(id).is_file()),
        (format!("results/{id}.json"), layout.result(id).is_file()),
        (format!("diffs/{id}.patch"), layout.diff(id).is_file()),
        (format!("one commit \"{subject}\""), commits == 1),
        (
            "no commands/.retries.json".to_string(),
            !layout.commands().join(".retries.json").exists(),
        ),
    ]
}
