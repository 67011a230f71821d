//! The reports of the plugin commands that are not file formats
//! (`plugin list`, `plugin gen` with nothing to do, `ids build`); each is one
//! JSON object with a `schema` tag (see `warden_core::report`).

use crate::validate;
use schemars::JsonSchema;
use serde::Serialize;
use std::path::Path;
use warden_core::plugin_registry::PluginRegistry;
use warden_core::policy::Policy;
use warden_core::report::{Report, tag};

/// Whether a plugin is enabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PluginState {
    Enabled,
    /// Enabled, but its files or the policy changed since it was pinned: its
    /// dispatches are refused until it is enabled again.
    Changed,
    Disabled,
}

impl PluginState {
    pub fn describe(self) -> &'static str {
        match self {
            PluginState::Enabled => "enabled",
            PluginState::Changed => "enabled, but changed since (refused until re-enabled)",
            PluginState::Disabled => "disabled",
        }
    }
}

/// One plugin of `warden plugin list`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PluginRow {
    pub key: String,
    pub version: Option<String>,
    pub events: Vec<String>,
    pub lang: Option<String>,
    pub priority: Option<i64>,
    /// No finding of `warden plugin validate`.
    pub valid: bool,
    pub findings: u64,
    pub state: PluginState,
}

/// `warden plugin list --format json` (`warden.plugin-list/v1`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "warden plugin list")]
pub struct PluginList {
    /// Always "warden.plugin-list/v1".
    pub schema: String,
    pub plugins: Vec<PluginRow>,
}

/// The plugins of the repository at `root`, validated, with their state.
pub fn list(root: &Path, policy: &Policy, registry: &PluginRegistry, today: &str) -> PluginList {
    let plugins = validate::plugin_keys(root)
        .into_iter()
        .map(|key| {
            let (spec, _, findings) = validate::validate_plugin(root, policy, &key, today);
            let state = match registry.plugins.get(&key) {
                Some(p) => match crate::runtime::pinned_mismatch(root, &key, p, policy.digest) {
                    None => PluginState::Enabled,
                    Some(_) => PluginState::Changed,
                },
                None => PluginState::Disabled,
            };
            PluginRow {
                version: spec.as_ref().map(|s| s.version.clone()),
                events: spec.as_ref().map(|s| s.events.clone()).unwrap_or_default(),
                lang: spec.as_ref().map(|s| s.lang.name().to_string()),
                priority: spec.as_ref().map(|s| i64::from(s.priority)),
                valid: findings.is_empty(),
                findings: findings.len() as u64,
                state,
                key,
            }
        })
        .collect();
    PluginList {
        schema: tag(PluginList::SCHEMA),
        plugins,
    }
}

impl Report for PluginList {
    const SCHEMA: &'static str = "plugin-list";

    fn human(&self) -> String {
        let mut s = String::new();
        if self.plugins.is_empty() {
            s.push_str(&format!(
                "no plugins under {}/ (`warden plugin new KEY --event EVENT --lang python` scaffolds one)\n",
                crate::generate::PLUGINS_DIR
            ));
        }
        for r in &self.plugins {
            s.push_str(&format!(
                "{:<20} {:<8} {:<7} {:<28} {}  {}\n",
                r.key,
                r.version.as_deref().unwrap_or("?"),
                r.lang.as_deref().unwrap_or("?"),
                r.events.join(","),
                if r.valid { "valid" } else { "invalid" },
                r.state.describe()
            ));
        }
        s
    }
}

/// `warden plugin gen --format json` when no file changes
/// (`warden.plugin-gen/v1`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "warden plugin gen (nothing to do)")]
pub struct GenReport {
    /// Always "warden.plugin-gen/v1".
    pub schema: String,
    /// Files that would change (empty: every derived file is up to date).
    pub changed: Vec<String>,
}

impl GenReport {
    pub fn unchanged() -> Self {
        GenReport {
            schema: tag("plugin-gen"),
            changed: Vec::new(),
        }
    }
}

/// `warden ids build --format json` (`warden.ids-build/v1`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "warden ids build")]
pub struct IdsBuildReport {
    /// Always "warden.ids-build/v1".
    pub schema: String,
    /// The run that rewrote `ids/registry.yaml`; null when it was up to date.
    pub run: Option<String>,
    /// Ids of cards added by hand whose mint was recorded now.
    pub minted: Vec<String>,
}

impl IdsBuildReport {
    pub fn new(run: Option<String>, minted: Vec<String>) -> Self {
        IdsBuildReport {
            schema: tag("ids-build"),
            run,
            minted,
        }
    }
}

/// Findings as text: `FILE[:LINE]: [rule] message`, then the fix.
pub fn findings_text(findings: &[validate::Finding]) -> String {
    let mut s = String::new();
    for f in findings {
        let line = f.line.map(|l| format!(":{l}")).unwrap_or_default();
        s.push_str(&format!("{}{line}: [{}] {}\n", f.file, f.rule, f.message));
        s.push_str(&format!("  fix: {}\n", f.fix));
    }
    s
}

impl Report for validate::Report {
    const SCHEMA: &'static str = "plugin-validate";

    fn human(&self) -> String {
        let mut s = findings_text(&self.findings);
        for p in &self.plugins {
            s.push_str(&format!(
                "{}: {}\n",
                p.key,
                if p.ok { "valid" } else { "INVALID" }
            ));
        }
        if self.plugins.is_empty() {
            s.push_str(&format!(
                "no plugins under {}/\n",
                crate::generate::PLUGINS_DIR
            ));
        }
        s
    }

    /// Findings point at files: SARIF 2.1.0.
    fn sarif(&self) -> Option<serde_json::Value> {
        Some(validate::sarif(self))
    }
}
