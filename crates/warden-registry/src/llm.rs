//! The optional LLM: one adapter ([`Backend`]), two HTTP
//! backends, and [`LlmPlanner`], which asks once per capability, validates
//! every answer locally (never trusting a 200), retries at most twice with
//! the parse or validation errors fed back, and treats refusals, truncated
//! answers, HTTP errors and timeouts as failures. Every exchange is returned
//! for recording under `.runs/<RUN>/llm/`; [`Replay`] answers from such a
//! record without the network.
//!
//! Wire formats (docs/registry.md has them in full):
//! - llm-connect: `POST {url}/execute` with `{"task": "registry.maintain",
//!   "messages": [...], "prompt": "...", "response_schema": {...},
//!   "schema_name": "registry_patches", "temperature": 0, "max_tokens": N,
//!   "metadata": {"capability_id": ID}}`; the answer is a JSON object that is
//!   either the patches object itself, or `{"output": object|string}`, or
//!   `{"text": string}`; `{"refusal": "..."}` is a refusal and
//!   `{"finish_reason": "length"}` a truncation.
//! - OpenAI-compatible: `POST {url}/chat/completions` with `response_format`
//!   `{"type": "json_schema", "json_schema": {"name": "registry_patches",
//!   "strict": true, "schema": ...}}`; `choices[0].message.content`,
//!   `message.refusal` and `finish_reason: "length"` as above.

use crate::maintain::{Planner, Proposed, llm_record_name};
use crate::model::to_yaml;
use crate::patch::{self, RegistryPatch, llm_response_schema};
use crate::registry::Registry;
use crate::standard::Standard;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;
use warden_core::digest::Digest;

pub const EXCHANGE_SCHEMA_ID: &str = "warden.registry-llm-exchange/v1";
pub const SCHEMA_NAME: &str = "registry_patches";
/// Retries after the first attempt.
pub const MAX_RETRIES: usize = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub role: &'static str,
    pub content: String,
}

/// Why a call produced no answer to validate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Http(u16),
    Transport(String),
    Refusal(String),
    Truncated,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Http(s) => write!(f, "the server answered HTTP {s}"),
            Failure::Transport(e) => write!(f, "no answer: {e}"),
            Failure::Refusal(r) => write!(f, "the model refused: {r}"),
            Failure::Truncated => write!(f, "the answer was truncated (finish_reason length)"),
        }
    }
}

/// One call's result.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The request body sent.
    pub request: Value,
    pub status: Option<u16>,
    /// The raw response body.
    pub raw: String,
    /// The JSON text to validate, or why there is none.
    pub content: Result<String, Failure>,
}

/// One LLM backend.
pub trait Backend {
    /// E.g. `llm-connect http://127.0.0.1:8088`.
    fn describe(&self) -> String;
    fn call(&self, messages: &[Message], capability: &str, attempt: usize) -> Reply;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    LlmConnect,
    OpenAi,
}

impl Api {
    pub fn parse(s: &str) -> Option<Api> {
        match s {
            "llm-connect" => Some(Api::LlmConnect),
            "openai" => Some(Api::OpenAi),
            _ => None,
        }
    }
}

/// The HTTP backends (ureq, blocking, one global timeout per call).
#[derive(Debug, Clone)]
pub struct Http {
    pub api: Api,
    /// Base URL, without a trailing slash.
    pub url: String,
    pub model: Option<String>,
    pub api_key: Option<String>,
    pub timeout: Duration,
    pub max_tokens: u32,
}

impl Http {
    fn endpoint(&self) -> String {
        let base = self.url.trim_end_matches('/');
        match self.api {
            Api::LlmConnect => format!("{base}/execute"),
            Api::OpenAi => format!("{base}/chat/completions"),
        }
    }

    fn body(&self, messages: &[Message], capability: &str) -> Value {
        let msgs: Vec<Value> = messages
            .iter()
            .map(|m| json!({"role": m.role, "content": m.content}))
            .collect();
        match self.api {
            Api::LlmConnect => json!({
                "task": "registry.maintain",
                "messages": msgs,
                "prompt": messages.iter().map(|m| format!("[{}]\n{}", m.role, m.content)).collect::<Vec<_>>().join("\n\n"),
                "response_schema": llm_response_schema(),
                "schema_name": SCHEMA_NAME,
                "temperature": 0,
                "max_tokens": self.max_tokens,
                "model": self.model,
                "metadata": {"capability_id": capability},
            }),
            Api::OpenAi => json!({
                "model": self.model.clone().unwrap_or_else(|| "default".into()),
                "messages": msgs,
                "temperature": 0,
                "max_tokens": self.max_tokens,
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": SCHEMA_NAME, "strict": true, "schema": llm_response_schema()}
                },
            }),
        }
    }
}

/// Extract the JSON text to validate from a response body.
pub fn extract(api: Api, status: u16, raw: &str) -> Result<String, Failure> {
    if status != 200 {
        return Err(Failure::Http(status));
    }
    let v: Value = match serde_json::from_str(raw) {
        Ok(v) => v,
        // Not JSON at all: hand it on, the parse error is fed back.
        Err(_) => return Ok(raw.to_string()),
    };
    match api {
        Api::LlmConnect => {
            if let Some(r) = v.get("refusal").and_then(Value::as_str) {
                return Err(Failure::Refusal(r.into()));
            }
            if v.get("finish_reason").and_then(Value::as_str) == Some("length")
                || v.get("truncated") == Some(&Value::Bool(true))
            {
                return Err(Failure::Truncated);
            }
            Ok(match (v.get("output"), v.get("text")) {
                (Some(Value::String(s)), _) => s.clone(),
                (Some(o), _) => o.to_string(),
                (None, Some(Value::String(s))) => s.clone(),
                _ => raw.to_string(),
            })
        }
        Api::OpenAi => {
            let choice = &v["choices"][0];
            if let Some(r) = choice["message"]["refusal"].as_str() {
                return Err(Failure::Refusal(r.into()));
            }
            if choice["finish_reason"].as_str() == Some("length") {
                return Err(Failure::Truncated);
            }
            match choice["message"]["content"].as_str() {
                Some(s) => Ok(s.to_string()),
                None => Ok(raw.to_string()),
            }
        }
    }
}

impl Backend for Http {
    fn describe(&self) -> String {
        let api = match self.api {
            Api::LlmConnect => "llm-connect",
            Api::OpenAi => "openai",
        };
        format!("{api} {}", self.url)
    }

    fn call(&self, messages: &[Message], capability: &str, _attempt: usize) -> Reply {
        let request = self.body(messages, capability);
        let url = self.endpoint();
        let agent = crate::publish::agent(&url, self.timeout);
        let mut req = agent.post(&url).header("Content-Type", "application/json");
        if let Some(k) = &self.api_key {
            req = req.header("Authorization", &format!("Bearer {k}"));
        }
        let sent = req.send(request.to_string().as_bytes());
        match sent {
            Err(e) => Reply {
                request,
                status: None,
                raw: String::new(),
                content: Err(Failure::Transport(e.to_string())),
            },
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                match resp
                    .body_mut()
                    .with_config()
                    .limit(16 << 20)
                    .read_to_string()
                {
                    Err(e) => Reply {
                        request,
                        status: Some(status),
                        raw: String::new(),
                        content: Err(Failure::Transport(e.to_string())),
                    },
                    Ok(raw) => Reply {
                        content: extract(self.api, status, &raw),
                        request,
                        status: Some(status),
                        raw,
                    },
                }
            }
        }
    }
}

/// Answers from the exchanges recorded in `.runs/<RUN>/llm/`: the same
/// capability and attempt get the same raw answer; no network.
#[derive(Debug, Clone)]
pub struct Replay {
    pub dir: PathBuf,
}

impl Backend for Replay {
    fn describe(&self) -> String {
        format!("replay {}", self.dir.display())
    }

    fn call(&self, _messages: &[Message], capability: &str, attempt: usize) -> Reply {
        let path = self.dir.join(llm_record_name(capability, attempt));
        let rec: Option<Value> = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let Some(rec) = rec else {
            return Reply {
                request: Value::Null,
                status: None,
                raw: String::new(),
                content: Err(Failure::Transport(format!(
                    "no recorded answer {}",
                    path.display()
                ))),
            };
        };
        let raw = rec["response"].as_str().unwrap_or("").to_string();
        let status = rec["status"].as_u64().and_then(|s| u16::try_from(s).ok());
        let api = if rec["backend"]
            .as_str()
            .is_some_and(|b| b.starts_with("openai"))
        {
            Api::OpenAi
        } else {
            Api::LlmConnect
        };
        Reply {
            request: rec["request"].clone(),
            content: match status {
                Some(s) => extract(api, s, &raw),
                None => Err(Failure::Transport(
                    rec["error"].as_str().unwrap_or("no answer").to_string(),
                )),
            },
            status,
            raw,
        }
    }
}

/// Validate one answer: JSON, the strict schema, the patch contract, and the
/// capability asked about. Every error, for the feedback.
pub fn validate_answer(text: &str, capability: &str) -> Result<Vec<RegistryPatch>, Vec<String>> {
    let v: Value =
        serde_json::from_str(text.trim()).map_err(|e| vec![format!("not valid JSON: {e}")])?;
    let schema = llm_response_schema();
    let validator = jsonschema::draft7::new(&schema).map_err(|e| {
        vec![format!(
            "internal: the response schema does not compile: {e}"
        )]
    })?;
    let errors: Vec<String> = validator
        .iter_errors(&v)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    let patches = patch::from_llm(&v).map_err(|e| vec![e.to_string()])?;
    let mut errors = Vec::new();
    for (i, p) in patches.iter().enumerate() {
        if p.capability_id != capability {
            errors.push(format!(
                "/patches/{i}/capability_id: must be \"{capability}\" (one capability per answer)"
            ));
        }
        if let Err(e) = patch::check(p) {
            errors.push(format!("/patches/{i}/{}: {}", e.field, e.message));
        }
    }
    if errors.is_empty() {
        Ok(patches)
    } else {
        Err(errors)
    }
}

const SYSTEM: &str = "You maintain a capability registry. Propose registry patches for ONE capability, \
as JSON matching the given schema exactly (every field present; null where unused). Kinds and field paths: \
evidence_append evidence.<key> (append: a repository path), artifact_append availability.current_artifacts \
(append), maturity_promote maturity.<D|A|C|R>.current (value: the new level, one step at most; cite existing \
repository paths in evidence_citations), consumer_feedback consumer_feedback (append: text), relation_add \
relations.<kind> (append: another capability id). Cite only files that exist. Use confidence high only when \
the evidence is direct. Answer {\"patches\": []} when nothing should change.";

/// The user message for one capability: its entry, the standard's summary
/// table and the changed paths that map to it (never whole files).
pub fn prompt(reg: &Registry, standard: &Standard, capability: &str, changed: &[String]) -> String {
    let Some(e) = reg.entry(capability) else {
        return format!("capability {capability}");
    };
    let globs: Vec<globset::GlobMatcher> = e
        .meta
        .paths
        .iter()
        .filter_map(|g| {
            globset::GlobBuilder::new(g)
                .literal_separator(true)
                .build()
                .ok()
                .map(|g| g.compile_matcher())
        })
        .collect();
    let mine: Vec<&String> = changed
        .iter()
        .filter(|p| globs.iter().any(|g| g.is_match(p.as_str())))
        .collect();
    let meta = to_yaml(&e.meta).unwrap_or_default();
    format!(
        "Capability: {capability}\nEntry file: {}\n\nFront matter:\n```yaml\n{meta}```\n\nEntry text:\n{}\n\nMaturity standard (summary):\n{}\nChanged paths of this capability:\n{}\n",
        e.path,
        e.body.trim(),
        standard.summary_table(),
        if mine.is_empty() {
            "(none)".to_string()
        } else {
            mine.iter()
                .map(|p| format!("- {p}"))
                .collect::<Vec<_>>()
                .join("\n")
        }
    )
}

/// [`Planner`] over a [`Backend`].
pub struct LlmPlanner<B: Backend> {
    pub backend: B,
    pub max_retries: usize,
}

impl<B: Backend> LlmPlanner<B> {
    pub fn new(backend: B) -> Self {
        LlmPlanner {
            backend,
            max_retries: MAX_RETRIES,
        }
    }
}

fn record(
    backend: &str,
    capability: &str,
    attempt: usize,
    reply: &Reply,
    error: Option<String>,
) -> (String, Vec<u8>) {
    let doc = json!({
        "schema": EXCHANGE_SCHEMA_ID,
        "capability_id": capability,
        "attempt": attempt,
        "backend": backend,
        "request": reply.request,
        "request_sha256": Digest::of(reply.request.to_string().as_bytes()).hex(),
        "status": reply.status,
        "response": reply.raw,
        "response_sha256": Digest::of(reply.raw.as_bytes()).hex(),
        "error": error,
    });
    (
        llm_record_name(capability, attempt),
        serde_json::to_vec_pretty(&doc).unwrap_or_default(),
    )
}

impl<B: Backend> Planner for LlmPlanner<B> {
    fn propose(
        &self,
        registry: &Registry,
        standard: &Standard,
        capability: &str,
        changed: &[String],
    ) -> Proposed {
        let mut messages = vec![
            Message {
                role: "system",
                content: SYSTEM.into(),
            },
            Message {
                role: "user",
                content: prompt(registry, standard, capability, changed),
            },
        ];
        let name = self.backend.describe();
        let mut records = Vec::new();
        let mut last = String::new();
        for attempt in 0..=self.max_retries {
            let reply = self.backend.call(&messages, capability, attempt);
            let text = match &reply.content {
                Err(f) => {
                    records.push(record(
                        &name,
                        capability,
                        attempt,
                        &reply,
                        Some(f.to_string()),
                    ));
                    return (Err(f.to_string()), records);
                }
                Ok(t) => t.clone(),
            };
            match validate_answer(&text, capability) {
                Ok(patches) => {
                    records.push(record(&name, capability, attempt, &reply, None));
                    return (Ok(patches), records);
                }
                Err(errors) => {
                    last = errors.join("; ");
                    records.push(record(
                        &name,
                        capability,
                        attempt,
                        &reply,
                        Some(last.clone()),
                    ));
                    messages.push(Message {
                        role: "assistant",
                        content: text,
                    });
                    messages.push(Message {
                        role: "user",
                        content: format!(
                            "Your answer was not valid:\n{}\nAnswer again with only the JSON object, matching the schema exactly.",
                            errors.iter().map(|e| format!("- {e}")).collect::<Vec<_>>().join("\n")
                        ),
                    });
                }
            }
        }
        (
            Err(format!(
                "no valid answer after {} attempt(s): {last}",
                self.max_retries + 1
            )),
            records,
        )
    }
}
