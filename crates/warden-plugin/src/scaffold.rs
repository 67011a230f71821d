//! What `warden plugin new|gen|enable|disable` write, as data and proposals:
//! the default spec of a new plugin, the files of a generation, the pin of an
//! enabled plugin, and the ONE proposal that carries any set of file writes to
//! the engine (G3: a plugin's files reach the repository only as a proposal,
//! planned, gated, applied and ledgered by the core).

use crate::generate::{self, Generation, PLUGINS_DIR};
use crate::spec::{Lang, Operation, PROTOCOL_MAJOR, PluginLimits, PluginSpec, SPEC_SCHEMA_ID};
use serde_json::json;
use std::path::Path;
use warden_core::engine::Session;
use warden_core::events::{self, ActionKind};
use warden_core::ledger::Entry;
use warden_core::plan::Plan;
use warden_core::plugin_registry::EnabledPlugin;
use warden_core::policy::Policy;
use warden_core::proposal::Proposal;
use warden_core::{Digest, Error, Result};

/// The source id of the proposals warden makes for plugin files.
pub const SOURCE_ID: &str = "warden-plugin";

/// One file to write as part of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileWrite {
    pub path: String,
    /// What is there now (`None`: absent). The proposal expects exactly it.
    pub current: Option<Vec<u8>>,
    pub content: Vec<u8>,
    /// Set the executable bit (`Some(true)`), clear it, or leave it.
    pub executable: Option<bool>,
}

/// The proposal that writes `writes` (one `write_file` action each, expecting
/// the current content), on the Manual event, by `person:warden-plugin`.
/// (The default policy lets only people write files on Manual.)
pub fn proposal(writes: &[FileWrite], rationale: &str) -> Result<(Proposal, Digest)> {
    let mut actions = Vec::new();
    for w in writes {
        let content = String::from_utf8(w.content.clone()).map_err(|_| {
            Error::invalid(
                "(generated)",
                w.path.clone(),
                "generated content is not UTF-8",
                None,
            )
        })?;
        let expect = match &w.current {
            None => json!("absent"),
            Some(b) => json!({"sha256": Digest::of(b)}),
        };
        let mut a =
            json!({"kind": "write_file", "path": w.path, "content": content, "expect": expect});
        if let Some(x) = w.executable {
            a["executable"] = json!(x);
        }
        actions.push(a);
    }
    let doc = json!({
        "schema": "warden.proposal/v1",
        // Written by warden's plugin tooling at a person's request: the ledger
        // names the tool; the person confirmed (or passed --yes).
        "source": {"kind": "tool", "id": SOURCE_ID},
        "event": "Manual",
        "rationale": rationale,
        "actions": actions,
    });
    Proposal::from_value(&doc, "(generated)")
}

/// The files a generation changes (the handler of a new non-Rust plugin
/// executable).
pub fn generation_writes(g: &Generation, lang: Lang) -> Vec<FileWrite> {
    let handler = lang.handler();
    g.changed()
        .map(|f| FileWrite {
            path: format!("{}/{}", g.dir_rel(), f.rel),
            current: f.current.clone(),
            content: f.wanted.clone().unwrap_or_default(),
            executable: (f.rel == handler && f.current.is_none() && lang != Lang::Rust)
                .then_some(true),
        })
        .collect()
}

/// What a new plugin is (the arguments of `warden plugin new`).
#[derive(Debug, Clone)]
pub struct NewPlugin {
    pub key: String,
    pub event: String,
    pub lang: String,
    pub name: Option<String>,
    pub description: Option<String>,
    /// Default: what the policy allows plugins on the event.
    pub actions: Option<Vec<String>>,
}

/// The spec of a new plugin with id `id`, checked. Refuses (exit 2) an
/// unknown language or event, and a key whose directory exists.
pub fn default_spec(root: &Path, policy: &Policy, new: &NewPlugin, id: &str) -> Result<PluginSpec> {
    let lang = Lang::parse(&new.lang).ok_or_else(|| {
        Error::invalid(
            "(command line)",
            "--lang",
            format!("unknown language \"{}\"", new.lang),
            Some(format!("one of: {}", Lang::ALL.join(", "))),
        )
    })?;
    let event = new.event.as_str();
    if events::find(event).is_none() {
        let hint = warden_core::error::did_you_mean(event, events::event_names())
            .unwrap_or_else(|| "`warden events` lists them".into());
        return Err(Error::invalid(
            "(command line)",
            "--event",
            format!("unknown event \"{event}\""),
            Some(hint),
        ));
    }
    let key = new.key.as_str();
    if generate::plugin_dir(root, key).exists() {
        return Err(Error::invalid(
            "(command line)",
            "KEY",
            format!("{PLUGINS_DIR}/{key} already exists"),
            Some(format!(
                "`warden plugin gen {key}` regenerates its derived files"
            )),
        ));
    }
    let actions = new.actions.clone().unwrap_or_else(|| {
        policy
            .allowed(event, "plugin")
            .into_iter()
            .filter(|a| a.supported())
            .map(ActionKind::name)
            .map(String::from)
            .collect()
    });
    let spec = PluginSpec {
        schema: SPEC_SCHEMA_ID.into(),
        key: key.into(),
        id: id.into(),
        name: new.name.clone().unwrap_or_else(|| key.to_string()),
        version: "0.1.0".into(),
        description: new
            .description
            .clone()
            .unwrap_or_else(|| format!("Handles {event}.")),
        owner: String::new(),
        events: vec![event.into()],
        lang,
        entry: None,
        protocol: PROTOCOL_MAJOR,
        priority: 100,
        actions,
        operations: vec![Operation {
            name: "handle".into(),
            description: format!("Handle a batch of {event}."),
            events: vec![event.into()],
        }],
        limits: PluginLimits::default(),
        ledger_fields: Vec::new(),
    };
    spec.check(&format!("{PLUGINS_DIR}/{key}/plugin.spec.json"))?;
    Ok(spec)
}

/// The ID card of a new plugin (`ids/cards/<id>.yaml`), and its write.
pub fn id_card(spec: &PluginSpec, today: &str) -> (crate::ids::IdCard, FileWrite) {
    let card = crate::ids::IdCard {
        schema: crate::ids::CARD_SCHEMA_ID.into(),
        id: spec.id.clone(),
        kind: "plugin".into(),
        artifact: format!("{PLUGINS_DIR}/{}", spec.key),
        name: spec.name.clone(),
        created: today.into(),
    };
    let write = FileWrite {
        path: card.rel(),
        current: None,
        content: card.render().into_bytes(),
        executable: None,
    };
    (card, write)
}

/// The pin of an enabled plugin: its manifest's and the policy's digests as
/// they are now (a later change refuses its dispatches until re-enabled).
pub fn pin(root: &Path, spec: &PluginSpec, policy: &Policy) -> Result<EnabledPlugin> {
    let path = generate::plugin_dir(root, &spec.key).join(generate::MANIFEST);
    let manifest = std::fs::read(&path).map_err(|e| Error::Io {
        op: "read the manifest",
        path,
        source: e,
    })?;
    Ok(EnabledPlugin {
        id: spec.id.clone(),
        version: spec.version.clone(),
        events: spec.events.clone(),
        priority: spec.priority,
        manifest_sha256: Digest::of(&manifest),
        policy_sha256: policy.digest,
    })
}

/// The label a generated proposal is planned under.
pub const LABEL: &str = "(generated)";

/// Plan `writes` as ONE run: the [`proposal`] through the core's policy gate
/// and planner (G3). Writes nothing; the caller shows the plan, decides, and
/// hands it to [`apply_planned`].
pub fn plan_writes(s: &mut Session, writes: &[FileWrite], rationale: &str) -> Result<Plan> {
    let (proposal, digest) = proposal(writes, rationale)?;
    s.plan(&proposal, digest, LABEL)
}

/// What applying a planned run of file writes came to.
#[derive(Debug)]
pub enum Written {
    /// Applied and ledgered.
    Applied(Box<Entry>),
    /// The policy's validation command failed: the run was rolled back.
    RolledBack { run: String },
}

/// Apply a plan of [`plan_writes`] through the engine (atomic, ledgered, undoable).
pub fn apply_planned(s: &mut Session, plan: &Plan) -> Result<Written> {
    let outcome = s.apply(plan)?;
    if outcome.validation_failure.is_some() {
        return Ok(Written::RolledBack {
            run: outcome.entry.run,
        });
    }
    Ok(Written::Applied(Box::new(outcome.entry)))
}

/// Every file `warden plugin new` writes for `spec`, in one run: the
/// generation, the ID card and, when it changes, the generated id registry
/// (so `warden ids check` passes right after a scaffold).
pub struct NewPluginWrites {
    pub card: crate::ids::IdCard,
    pub writes: Vec<FileWrite>,
}

/// The writes of a new plugin (see [`NewPluginWrites`]). A registry that
/// cannot be regenerated (a broken card elsewhere) is refused (exit 2) with
/// the first finding's file and fix.
pub fn new_plugin_writes(
    root: &Path,
    spec: &PluginSpec,
    policy: &Policy,
    today: &str,
) -> Result<NewPluginWrites> {
    let g = generate::generate(root, spec, policy, today)?;
    let (card, _) = id_card(spec, today);
    let mut writes = generation_writes(&g, spec.lang);
    writes.extend(card_writes(root, &card)?);
    Ok(NewPluginWrites { card, writes })
}

/// What `warden plugin enable|disable KEY` changes in `plugins/registry.json`.
#[derive(Debug)]
pub enum RegistryChange {
    /// The one write that enables or disables it.
    Write(FileWrite),
    /// Enabled already, with this exact manifest and policy.
    AlreadyEnabled,
    /// Not enabled, so nothing to disable.
    NotEnabled,
}

/// Enable `spec` (pin its manifest and the policy, see [`pin`]) or, with
/// `spec` `None`, disable `key`: the registry write, or why there is none.
/// The caller validates the plugin before enabling it.
pub fn registry_change(
    root: &Path,
    key: &str,
    enable: Option<(&PluginSpec, &Policy)>,
) -> Result<RegistryChange> {
    use warden_core::plugin_registry::{PluginRegistry, REGISTRY_FILE};
    let mut registry = PluginRegistry::read(root)?;
    let current = std::fs::read(root.join(REGISTRY_FILE)).ok();
    match enable {
        Some((spec, policy)) => {
            let entry = pin(root, spec, policy)?;
            if registry.plugins.get(key) == Some(&entry) {
                return Ok(RegistryChange::AlreadyEnabled);
            }
            registry.plugins.insert(key.to_string(), entry);
        }
        None => {
            if registry.plugins.remove(key).is_none() {
                return Ok(RegistryChange::NotEnabled);
            }
        }
    }
    Ok(RegistryChange::Write(FileWrite {
        path: REGISTRY_FILE.into(),
        current,
        content: registry.render().into_bytes(),
        executable: None,
    }))
}

/// The writes of a new ID card: the card and, when it changes, the generated
/// id registry (`ids/registry.yaml`), so `warden ids check` passes right
/// after the run. A registry that cannot be regenerated (a broken card
/// elsewhere) is refused (exit 2) with the first finding's file and fix.
pub fn card_writes(root: &Path, card: &crate::ids::IdCard) -> Result<Vec<FileWrite>> {
    let content = card.render().into_bytes();
    let registry = crate::ids::registry_yaml_with(root, &[(card.rel(), content.clone())]).map_err(
        |findings| {
            let (file, rule, message, fix) = findings.into_iter().next().map_or_else(
                || {
                    (
                        crate::ids::REGISTRY_YAML.to_string(),
                        String::new(),
                        String::new(),
                        None,
                    )
                },
                |f| (f.file, f.rule, f.message, Some(f.fix)),
            );
            Error::invalid(
                file,
                rule,
                format!("cannot regenerate {}: {message}", crate::ids::REGISTRY_YAML),
                fix,
            )
        },
    )?;
    let mut writes = vec![FileWrite {
        path: card.rel(),
        current: None,
        content,
        executable: None,
    }];
    let current = std::fs::read(root.join(crate::ids::REGISTRY_YAML)).ok();
    if current.as_deref() != Some(registry.as_bytes()) {
        writes.push(FileWrite {
            path: crate::ids::REGISTRY_YAML.into(),
            current,
            content: registry.into_bytes(),
            executable: None,
        });
    }
    Ok(writes)
}
