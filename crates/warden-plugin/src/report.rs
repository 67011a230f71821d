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

/// `warden plugin gen --format json` (`warden.plugin-gen/v1`): the files
/// regenerated and the run that wrote them, or nothing when every derived
/// file was up to date.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "warden plugin gen")]
pub struct GenReport {
    /// Always "warden.plugin-gen/v1".
    pub schema: String,
    /// The plugins regenerated.
    #[serde(default)]
    pub plugins: Vec<String>,
    /// Files rewritten, repository-relative (empty: every derived file is up
    /// to date).
    pub changed: Vec<String>,
    /// The run that wrote them; absent when nothing changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
}

impl GenReport {
    /// Nothing to write: regenerating `plugins` changes no file.
    pub fn unchanged(plugins: Vec<String>) -> Self {
        GenReport {
            schema: tag(Self::SCHEMA),
            plugins,
            changed: Vec::new(),
            run: None,
        }
    }

    /// `changed` written by `run`.
    pub fn written(plugins: Vec<String>, mut changed: Vec<String>, run: &str) -> Self {
        changed.sort();
        GenReport {
            schema: tag(Self::SCHEMA),
            plugins,
            changed,
            run: Some(run.to_string()),
        }
    }
}

impl Report for GenReport {
    const SCHEMA: &'static str = "plugin-gen";

    fn human(&self) -> String {
        match &self.run {
            None => format!(
                "up to date: regenerating {} plugin(s) changes nothing\n",
                self.plugins.len()
            ),
            Some(run) => format!(
                "regenerated {} file(s) in run {run}; undo with `warden undo {run}`\n",
                self.changed.len()
            ),
        }
    }
}

/// `warden plugin new KEY --format json` (`warden.plugin-new/v1`): the
/// scaffolded plugin, its files, its ID card and the run that wrote them.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "warden plugin new")]
pub struct NewReport {
    /// Always "warden.plugin-new/v1".
    pub schema: String,
    pub plugin: String,
    /// The run that wrote the files (undo with `warden undo RUN`).
    pub run: String,
    /// Every file written, repository-relative.
    pub files: Vec<String>,
    /// The plugin's ID card, repository-relative.
    pub id_card: String,
}

impl NewReport {
    pub fn new(plugin: &str, run: &str, mut files: Vec<String>, id_card: String) -> Self {
        files.sort();
        NewReport {
            schema: tag(Self::SCHEMA),
            plugin: plugin.to_string(),
            run: run.to_string(),
            files,
            id_card,
        }
    }
}

impl Report for NewReport {
    const SCHEMA: &'static str = "plugin-new";

    fn human(&self) -> String {
        format!(
            "scaffolded {}/{} ({} files) in run {}; ID card {}\nnext: `warden plugin test {key}`, then `warden plugin validate {key}` and `warden plugin enable {key}`\n",
            crate::generate::PLUGINS_DIR,
            self.plugin,
            self.files.len(),
            self.run,
            self.id_card,
            key = self.plugin
        )
    }
}

/// `warden plugin enable|disable KEY --format json`
/// (`warden.plugin-enable/v1`): the plugin's state afterwards, and the run
/// that changed `plugins/registry.json` (absent when nothing changed).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "warden plugin enable or disable")]
pub struct EnableReport {
    /// Always "warden.plugin-enable/v1".
    pub schema: String,
    pub plugin: String,
    /// Enabled afterwards (`plugin enable`), or disabled (`plugin disable`).
    pub enabled: bool,
    /// The run that changed the registry; absent when the plugin already was
    /// in that state (enabled with this exact manifest, or not enabled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
}

impl EnableReport {
    pub fn new(plugin: &str, enabled: bool, run: Option<String>) -> Self {
        EnableReport {
            schema: tag(Self::SCHEMA),
            plugin: plugin.to_string(),
            enabled,
            run,
        }
    }
}

impl Report for EnableReport {
    const SCHEMA: &'static str = "plugin-enable";

    fn human(&self) -> String {
        let key = &self.plugin;
        match (&self.run, self.enabled) {
            (None, true) => {
                format!("plugin {key} is already enabled with this exact manifest\n")
            }
            (None, false) => format!("plugin {key} is not enabled\n"),
            (Some(run), enabled) => format!(
                "{}d plugin {key} in run {run} (the operating contract lists the enabled plugins); undo with `warden undo {run}`\n",
                if enabled { "enable" } else { "disable" }
            ),
        }
    }
}

impl Report for crate::probes::ProbeReport {
    const SCHEMA: &'static str = "plugin-test";

    fn human(&self) -> String {
        let mut s = String::new();
        for p in &self.probes {
            s.push_str(&format!(
                "{} {:<28} {}\n",
                if p.ok { "pass" } else { "FAIL" },
                p.probe,
                p.detail
            ));
        }
        s.push_str(&format!("sandbox: {}\n", self.sandbox.name()));
        let failed = self.probes.iter().filter(|p| !p.ok).count();
        s.push_str(&format!(
            "{} probe(s), {failed} failed\n",
            self.probes.len()
        ));
        s
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

impl Report for crate::runtime::DispatchReport {
    const SCHEMA: &'static str = "plugin-run";

    /// One line for the run, then one per plugin: outcome, sandbox, time,
    /// and the fault or the applied run.
    fn human(&self) -> String {
        if self.plugins.is_empty() {
            return format!(
                "no enabled plugin handles {} (`warden plugin list`); run {} recorded\n",
                self.event, self.run
            );
        }
        let mut s = format!(
            "run {}: {} with {} item(s) to {} plugin(s)\n",
            self.run,
            self.event,
            self.items,
            self.plugins.len()
        );
        for p in &self.plugins {
            let extra = match (&p.fault, &p.applied_run) {
                (Some(f), _) => format!(
                    " [{}] {}",
                    serde_json::to_value(f.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default(),
                    // A fault's message can quote what the plugin wrote.
                    warden_core::text::shown(&f.message)
                ),
                (None, Some(run)) => format!(" as run {run} (undo with `warden undo {run}`)"),
                _ => String::new(),
            };
            s.push_str(&format!(
                "  {:<20} {:<11} sandbox={} {} ms{}\n",
                p.plugin,
                p.outcome,
                p.sandbox.name(),
                p.duration_ms,
                extra
            ));
            for q in &p.quarantined {
                s.push_str(&format!(
                    "    kept in quarantine: {}\n",
                    warden_core::text::shown(q)
                ));
            }
        }
        s
    }
}

impl Report for crate::preview::RunPlan {
    const SCHEMA: &'static str = "run-plan";

    fn human(&self) -> String {
        self.human_styled(&warden_core::report::Plain)
    }

    /// The plugins a dispatch would start, in order, with what each may
    /// propose or why it would be refused.
    fn human_styled(&self, style: &dyn warden_core::report::Style) -> String {
        let mut out = style.heading(&format!(
            "{} with {} item(s) would go to {} plugin(s):",
            self.event,
            self.items,
            self.plugins.len()
        ));
        out.push('\n');
        if self.plugins.is_empty() {
            out.push_str("  (no enabled plugin handles it; the run would only be recorded)\n");
        }
        let rows: Vec<Vec<String>> = self
            .plugins
            .iter()
            .map(|pl| {
                vec![
                    format!("  {}", pl.plugin),
                    pl.version.clone(),
                    format!("priority {}", pl.priority),
                    match &pl.problem {
                        Some(why) => format!("refused: {why}"),
                        None => format!(
                            "{} (may propose {})",
                            pl.operation.as_deref().unwrap_or("-"),
                            pl.actions.join(", ")
                        ),
                    },
                ]
            })
            .collect();
        out.push_str(&warden_core::render::table(&rows));
        out
    }
}

impl Report for crate::runtime::ReplayReport {
    const SCHEMA: &'static str = "replay";

    fn human(&self) -> String {
        let mut s = format!(
            "replay of run {} ({}), kept as report {} (`warden history`)\n",
            self.run, self.event, self.replay_run
        );
        for p in &self.plugins {
            s.push_str(&format!(
                "  {:<20} {}{}\n",
                p.plugin,
                if p.identical { "identical" } else { "DIFFERS" },
                p.note
                    .as_ref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            ));
            if let Some(d) = &p.diff {
                for line in d.lines() {
                    s.push_str(&format!("    {line}\n"));
                }
            }
        }
        if self.plugins.is_empty() {
            s.push_str("  (no plugin ran in that run)\n");
        }
        s.push_str(if self.identical {
            "every proposal is byte-identical\n"
        } else {
            "proposals differ\n"
        });
        s
    }
}

/// `warden ids build`: the human text also names the artifacts of the
/// cards whose mint was recorded; the JSON is the [`IdsBuildReport`].
#[derive(Debug, Clone)]
pub struct IdsBuilt {
    pub report: IdsBuildReport,
    /// The cards whose mint was recorded now (id, artifact).
    pub minted: Vec<(String, String)>,
}

impl Serialize for IdsBuilt {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.report.serialize(s)
    }
}

impl Report for IdsBuilt {
    const SCHEMA: &'static str = "ids-build";

    fn human(&self) -> String {
        let mut s = match &self.report.run {
            Some(run) => format!("wrote {} in run {run}\n", crate::ids::REGISTRY_YAML),
            None => format!("{} is up to date\n", crate::ids::REGISTRY_YAML),
        };
        for (id, artifact) in &self.minted {
            s.push_str(&format!("recorded the mint of {id} ({artifact})\n"));
        }
        s
    }
}

/// `warden ids check` (`warden.ids-check/v1`): the findings (SARIF too),
/// and for a person the number of cards checked and the base revision.
#[derive(Debug, Clone)]
pub struct IdsCheck {
    pub report: validate::Report,
    /// ID cards in `ids/cards/`.
    pub cards: usize,
    /// The git revision the cards and the id log were compared with.
    pub base: Option<String>,
}

impl IdsCheck {
    pub fn ok(&self) -> bool {
        self.report.ok()
    }
}

impl Serialize for IdsCheck {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.report.serialize(s)
    }
}

impl Report for IdsCheck {
    const SCHEMA: &'static str = "ids-check";

    fn human(&self) -> String {
        let mut s = String::new();
        for f in &self.report.findings {
            s.push_str(&format!("{}: [{}] {}\n", f.file, f.rule, f.message));
            s.push_str(&format!("  fix: {}\n", f.fix));
        }
        if self.report.ok() {
            s.push_str(&format!(
                "{} ID card(s): immutable, unique, one per artifact{}\n",
                self.cards,
                self.base
                    .as_ref()
                    .map(|b| format!(" (checked against {b})"))
                    .unwrap_or_default()
            ));
        }
        s
    }

    fn sarif(&self) -> Option<serde_json::Value> {
        Some(validate::sarif(&self.report))
    }
}

/// `warden ids mint`: the new card (its JSON is the card itself).
#[derive(Debug, Clone)]
pub struct Minted {
    pub card: crate::ids::IdCard,
    /// The run that wrote it.
    pub run: String,
}

impl Serialize for Minted {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.card.serialize(s)
    }
}

impl Report for Minted {
    const SCHEMA: &'static str = "id-card";

    fn human(&self) -> String {
        format!(
            "minted {} for {} ({}) in run {}\n",
            self.card.id,
            self.card.artifact,
            self.card.rel(),
            self.run
        )
    }
}

impl Report for crate::hook::InstallReport {
    const SCHEMA: &'static str = "hook-install";

    fn human(&self) -> String {
        let mut s = format!("pre-commit hook {}: {}\n", self.state, self.hook);
        if let Some(b) = &self.backup {
            s.push_str(&format!("your previous hook is kept as {b}\n"));
        }
        s.push_str(
            "each commit now dispatches PreCommit to the enabled plugins (`warden plugin list`)\n",
        );
        s
    }
}
