//! The reports of the bridge commands that are not file formats of the bridge
//! root (`bridge new`, `bridge verify`, `bridge smoke`); each is one JSON
//! object with a `schema` tag and renders itself for a person
//! (`warden_core::report::Report`).

use crate::reason::Rejection;
use schemars::JsonSchema;
use serde::Serialize;
use warden_core::text::shown;

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
    /// The timeout it was given, in seconds.
    pub limit_secs: u64,
    pub checks: Vec<SmokeCheck>,
}

impl SmokeReport {
    pub fn new(id: impl Into<String>, seconds: f64, checks: &[(String, bool)]) -> Self {
        SmokeReport {
            schema: warden_core::report::tag("bridge-smoke"),
            id: id.into(),
            ok: checks.iter().all(|(_, ok)| *ok),
            seconds,
            limit_secs: 0,
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

impl warden_core::Report for NewReport {
    const SCHEMA: &'static str = "bridge-new";

    /// The path of the dropped command, which scripts read.
    fn human(&self) -> String {
        format!("{}\n", self.file)
    }
}

impl warden_core::Report for VerifyReport {
    const SCHEMA: &'static str = "bridge-verify";

    fn human(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        for l in &self.layers {
            match &l.rejection {
                None => {
                    let _ = writeln!(
                        s,
                        "{:<8} ok    {}",
                        l.layer,
                        l.note.as_deref().unwrap_or("")
                    );
                }
                Some(rej) => {
                    // The detail and the field may quote the file (a key,
                    // its name): shown escaped, never a second line.
                    let _ = writeln!(
                        s,
                        "{:<8} FAIL  {}: {}",
                        l.layer,
                        rej.reason,
                        shown(&rej.detail)
                    );
                    if let Some(f) = &rej.field {
                        let _ = writeln!(s, "{:<8}       field: {}", "", shown(f));
                    }
                    if let Some(h) = &rej.hint {
                        let _ = writeln!(s, "{:<8}       hint: {h}", "");
                    }
                }
            }
        }
        let _ = if self.accepted {
            writeln!(s, "accepted: {} would be applied", shown(&self.file))
        } else {
            writeln!(
                s,
                "rejected: {} would land in dead_letter/",
                shown(&self.file)
            )
        };
        s
    }
}

impl warden_core::Report for SmokeReport {
    const SCHEMA: &'static str = "bridge-smoke";

    fn human(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        for c in &self.checks {
            let _ = writeln!(s, "{}  {}", if c.ok { "ok  " } else { "FAIL" }, c.check);
        }
        let _ = writeln!(
            s,
            "smoke {} in {:.1}s (limit {}s): {}",
            if self.ok { "passed" } else { "FAILED" },
            self.seconds,
            self.limit_secs,
            self.id
        );
        s
    }
}
