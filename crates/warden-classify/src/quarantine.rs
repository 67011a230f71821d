//! `warden quarantine list [--reason R]`: the core's quarantine lane
//! (`.quarantine/<RUN>/index.json`, `warden.quarantine/v1`) as one list. The
//! seed's `QUARANTINE_UNCLASSIFIED/` folder is this view with
//! `--reason unclassified`.

use crate::IoContext;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::Path;
use warden_core::{Error, Result};

pub const QUARANTINE_LIST_SCHEMA_ID: &str = "warden.quarantine-list/v1";

/// One quarantined file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Quarantined {
    /// The run that quarantined it.
    pub run: String,
    /// Where it was.
    pub path: String,
    /// Where it is now (repository-relative).
    pub stored: String,
    pub reason: String,
    pub sha256: Option<String>,
    /// Who proposed it, e.g. "collector/warden-classify".
    pub source: String,
    /// Whether the stored copy is still there.
    pub present: bool,
}

/// `warden quarantine list --format json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(
    title = "warden quarantine list",
    description = "`warden quarantine list [--reason R] --format json`"
)]
pub struct QuarantineList {
    /// Always "warden.quarantine-list/v1".
    pub schema: String,
    pub reason: Option<String>,
    /// Sorted by run, then path.
    pub files: Vec<Quarantined>,
}

/// Read every lane index under `.quarantine/`.
pub fn list(root: &Path, reason: Option<&str>) -> Result<QuarantineList> {
    let lane = root.join(warden_core::paths::QUARANTINE_DIR);
    let mut files = Vec::new();
    let dirs = match std::fs::read_dir(&lane) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(QuarantineList {
                schema: QUARANTINE_LIST_SCHEMA_ID.into(),
                reason: reason.map(str::to_string),
                files,
            });
        }
        Err(e) => return Err(e).io("read", &lane),
    };
    for d in dirs {
        let d = d.io("read", &lane)?;
        let index = d.path().join("index.json");
        let bytes = match std::fs::read(&index) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).io("read", &index),
        };
        let rel = format!(
            "{}/{}/index.json",
            warden_core::paths::QUARANTINE_DIR,
            d.file_name().to_string_lossy()
        );
        let v = warden_core::strict::parse_json(&bytes, &rel)?;
        let run = v["run"].as_str().unwrap_or_default().to_string();
        let Some(items) = v["files"].as_array() else {
            return Err(Error::Corrupt {
                path: index,
                message: "no \"files\" array".into(),
            });
        };
        for it in items {
            let s = |k: &str| it[k].as_str().unwrap_or_default().to_string();
            let stored = s("stored");
            let item = Quarantined {
                run: run.clone(),
                path: s("path"),
                present: root.join(&stored).is_file(),
                stored,
                reason: s("reason"),
                sha256: it["sha256"].as_str().map(str::to_string),
                source: format!(
                    "{}/{}",
                    it["source"]["kind"].as_str().unwrap_or_default(),
                    it["source"]["id"].as_str().unwrap_or_default()
                ),
            };
            if reason.is_none_or(|r| r == item.reason) {
                files.push(item);
            }
        }
    }
    files.sort_by(|a, b| (&a.run, &a.path).cmp(&(&b.run, &b.path)));
    Ok(QuarantineList {
        schema: QUARANTINE_LIST_SCHEMA_ID.into(),
        reason: reason.map(str::to_string),
        files,
    })
}
