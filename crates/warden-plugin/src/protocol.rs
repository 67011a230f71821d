//! The plugin protocol, version 1 (docs/wire-format.md).
//!
//! One process per event batch. warden writes two JSON lines to the plugin's
//! stdin and closes it; the plugin writes two JSON lines to stdout:
//!
//! ```text
//! warden → plugin  {"type":"hello","protocol":{"major":1,"features":["batch"]}}
//! warden → plugin  {"type":"request","op":"handle","event":"FileDetected","input":{"items":[…]}}
//! plugin → warden  {"type":"hello","protocol":{"major":1,"features":["batch"]}}
//! plugin → warden  {"type":"response","output":{"actions":[…],"rationale":"…"}}
//! ```
//!
//! The protocol major is the plugin contract's version, independent of warden's
//! own (nushell's lesson). A plugin that answers with another major is refused.
//! The request carries no run id, clock or randomness, so the same input gives
//! the same proposal (G7). stderr is free for logs and captured into the run.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProtocolVersion {
    pub major: u32,
    #[serde(default)]
    pub features: Vec<String>,
}

/// A line warden writes to the plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
#[schemars(title = "warden plugin protocol: warden to plugin")]
pub enum ToPlugin {
    Hello {
        protocol: ProtocolVersion,
    },
    Request {
        op: String,
        event: String,
        input: RequestInput,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RequestInput {
    /// The event payloads of the batch (see `warden events` for each event's schema).
    pub items: Vec<serde_json::Value>,
}

/// A line the plugin writes to warden.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
#[schemars(title = "warden plugin protocol: plugin to warden")]
pub enum FromPlugin {
    Hello { protocol: ProtocolVersion },
    Response { output: Output },
    Error { message: String },
}

/// What an operation returns: the actions it proposes (proposal actions, see
/// `warden schema proposal`) and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Output {
    pub actions: Vec<serde_json::Value>,
    #[serde(default)]
    pub rationale: String,
}

/// An operation's example request (`examples/<op>_request.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExampleRequest {
    pub event: String,
    pub items: Vec<serde_json::Value>,
}

pub fn request_schema() -> serde_json::Value {
    crate::schemas::draft07::<ToPlugin>()
}

pub fn response_schema() -> serde_json::Value {
    crate::schemas::draft07::<FromPlugin>()
}
