//! What `warden run EVENT` would do, without doing it (`--dry-run`, and the
//! question asked on a terminal): the enabled plugins that handle the event,
//! in dispatch order, each with the operation it would run and the actions it
//! may propose, or why the dispatch would refuse it. Reads the registry and
//! the specs; starts no plugin and writes nothing.

use crate::runtime::pinned_mismatch;
use crate::validate;
use schemars::JsonSchema;
use serde::Serialize;
use std::path::Path;
use warden_core::plugin_registry::PluginRegistry;
use warden_core::{Digest, Result};

pub const RUN_PLAN_SCHEMA_ID: &str = "warden.run-plan/v1";

/// `warden run EVENT --dry-run --format json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "warden run plan")]
pub struct RunPlan {
    /// Always "warden.run-plan/v1".
    pub schema: String,
    pub event: String,
    /// Payloads in the batch.
    pub items: u64,
    /// The plugins that would run, in dispatch order (priority, then key).
    pub plugins: Vec<PlannedPlugin>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PlannedPlugin {
    pub plugin: String,
    pub version: String,
    pub priority: i32,
    /// The operation of its spec that handles the event (null when none does).
    pub operation: Option<String>,
    /// The action kinds its spec declares (what it may propose).
    pub actions: Vec<String>,
    /// Why the dispatch would refuse to start it (`not_validated`), or null.
    pub problem: Option<String>,
}

impl RunPlan {
    /// Plugins that would start.
    pub fn ready(&self) -> usize {
        self.plugins.iter().filter(|p| p.problem.is_none()).count()
    }
}

/// The plan of dispatching `event` with `items` payloads in `root`, whose
/// policy has digest `policy_digest`.
pub fn plan(root: &Path, event: &str, items: usize, policy_digest: Digest) -> Result<RunPlan> {
    let registry = PluginRegistry::read(root)?;
    let plugins = registry
        .for_event(event)
        .into_iter()
        .map(|(key, pinned)| {
            let mut p = PlannedPlugin {
                plugin: key.clone(),
                version: pinned.version.clone(),
                priority: pinned.priority,
                operation: None,
                actions: Vec::new(),
                problem: pinned_mismatch(root, key, pinned, policy_digest),
            };
            match validate::load_spec(root, key) {
                Ok(spec) => {
                    p.operation = spec.operation_for(event).map(|o| o.name.clone());
                    p.actions = spec.actions.clone();
                    if p.operation.is_none() && p.problem.is_none() {
                        p.problem = Some(format!("no operation of {key} handles {event}"));
                    }
                }
                Err(f) => {
                    p.problem.get_or_insert(f.message);
                }
            }
            p
        })
        .collect();
    Ok(RunPlan {
        schema: RUN_PLAN_SCHEMA_ID.into(),
        event: event.into(),
        items: items as u64,
        plugins,
    })
}
