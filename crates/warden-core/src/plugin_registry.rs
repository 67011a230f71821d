//! `plugins/registry.json`: which plugins are enabled, pinned to the exact
//! manifest (and policy) they were validated against. It is an
//! ordinary repository file, written only through the engine (so enabling and
//! disabling are ledgered, undoable runs); the runtime refuses any plugin whose
//! files no longer match the pinned manifest. The core reads it to render the
//! operating contract.

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::strict;
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
        match strict::read_config(root, REGISTRY_FILE)? {
            Some(bytes) => Self::parse(&bytes),
            None => Ok(Self::default()),
        }
    }

    /// Parse the registry's bytes strictly ([`crate::strict`]).
    pub fn parse(bytes: &[u8]) -> Result<PluginRegistry> {
        let hint = "restore it with `git checkout -- plugins/registry.json`, or re-enable plugins with `warden plugin enable KEY`";
        let with_hint = |e: Error| match e {
            Error::Invalid {
                file,
                field,
                message,
                hint: None,
                ..
            } => Error::invalid(file, field, message, Some(hint.into())),
            other => other,
        };
        let value = strict::parse_json(bytes, REGISTRY_FILE).map_err(with_hint)?;
        let reg: PluginRegistry = strict::deserialize(&value, REGISTRY_FILE, hint)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_plugin_keys_in_the_registry_are_refused_not_last_wins() {
        let text = br#"{"schema": "warden.plugin-registry/v1", "plugins": {"a": {}, "a": {}}}"#;
        let e = PluginRegistry::parse(text).expect_err("duplicate");
        assert!(
            e.to_string()
                .starts_with("plugins/registry.json: plugins.a: duplicate key \"a\""),
            "{e}"
        );
    }

    #[test]
    fn unknown_registry_fields_are_named_with_a_did_you_mean() {
        let text = br#"{"schema": "warden.plugin-registry/v1", "plugin": {}}"#;
        let e = PluginRegistry::parse(text).expect_err("unknown");
        assert_eq!(
            e.to_string(),
            "plugins/registry.json: plugin: unknown field"
        );
        assert_eq!(e.hint().as_deref(), Some("did you mean \"plugins\"?"));
    }
}
