//! `plugins/registry.json`: which plugins are enabled, pinned to the exact
//! manifest (and policy) they were validated against (SPEC §5.2). It is an
//! ordinary repository file, written only through the engine (so enabling and
//! disabling are ledgered, undoable runs); the runtime refuses any plugin whose
//! files no longer match the pinned manifest. The core reads it to render the
//! operating contract.

use crate::digest::Digest;
use crate::error::{Error, IoContext, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub const REGISTRY_FILE: &str = "plugins/registry.json";
pub const REGISTRY_SCHEMA_ID: &str = "warden.plugin-registry/v1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "warden plugin registry",
    description = "plugins/registry.json"
)]
pub struct PluginRegistry {
    pub schema: String,
    /// Enabled plugins by key.
    #[serde(default)]
    pub plugins: BTreeMap<String, EnabledPlugin>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnabledPlugin {
    pub id: String,
    pub version: String,
    pub events: Vec<String>,
    pub priority: i32,
    /// sha256 of `plugins/<key>/manifest.json` when it was enabled.
    pub manifest_sha256: Digest,
    /// sha256 of the policy it was validated against.
    pub policy_sha256: Digest,
}

impl Default for PluginRegistry {
    fn default() -> Self {
        PluginRegistry {
            schema: REGISTRY_SCHEMA_ID.into(),
            plugins: BTreeMap::new(),
        }
    }
}

impl PluginRegistry {
    /// Read the registry; a missing file is an empty registry.
    pub fn read(root: &Path) -> Result<PluginRegistry> {
        let path = root.join(REGISTRY_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(e).io("read", &path),
        };
        let de = &mut serde_json::Deserializer::from_str(&text);
        let reg: PluginRegistry = serde_path_to_error::deserialize(de).map_err(|e| {
            Error::invalid(
                REGISTRY_FILE,
                e.path().to_string(),
                e.inner().to_string(),
                Some("restore it with `git checkout -- plugins/registry.json`, or re-enable plugins with `warden plugin enable KEY`".into()),
            )
        })?;
        if reg.schema != REGISTRY_SCHEMA_ID {
            return Err(Error::invalid(
                REGISTRY_FILE,
                "schema",
                format!("unknown schema \"{}\"", reg.schema),
                Some(format!("expected \"{REGISTRY_SCHEMA_ID}\"")),
            ));
        }
        Ok(reg)
    }

    /// The file's bytes (pretty JSON, sorted keys, trailing newline).
    pub fn render(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Enabled plugins handling `event`, in dispatch order (priority, then key).
    pub fn for_event(&self, event: &str) -> Vec<(&String, &EnabledPlugin)> {
        let mut v: Vec<_> = self
            .plugins
            .iter()
            .filter(|(_, p)| p.events.iter().any(|e| e == event))
            .collect();
        v.sort_by(|a, b| a.1.priority.cmp(&b.1.priority).then(a.0.cmp(b.0)));
        v
    }
}
