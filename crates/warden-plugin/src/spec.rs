//! `plugins/<key>/plugin.spec.json`: the one hand-written file of a plugin
//!. Every other file of the plugin is derived from
//! it (and the repository's policy pack) or scaffolded once from it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use warden_core::events::{self, ActionKind};
use warden_core::strict;
use warden_core::{Error, Result};

pub const SPEC_SCHEMA_ID: &str = "warden.plugin-spec/v1";
pub const SPEC_FILE: &str = "plugin.spec.json";
/// The plugin protocol major this warden speaks (independent of warden's version).
pub const PROTOCOL_MAJOR: u32 = 1;
/// Protocol features this warden offers in its hello.
pub const FEATURES: &[&str] = &["batch"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "warden plugin spec",
    description = "plugins/<key>/plugin.spec.json: the single source of truth of a plugin"
)]
pub struct PluginSpec {
    /// Always "warden.plugin-spec/v1".
    pub schema: String,
    /// The plugin's key: its folder name under plugins/ (lowercase letters, digits, - and _).
    pub key: String,
    /// The ULID of the plugin's ID card (ids/cards/<id>.yaml).
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// The plugin's own version (semver).
    pub version: String,
    pub description: String,
    #[serde(default)]
    pub owner: String,
    /// The lifecycle events the plugin handles (`warden events`).
    pub events: Vec<String>,
    pub lang: Lang,
    /// The command to start the plugin, run in the plugin's folder. Default per language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<Vec<String>>,
    /// The plugin protocol major version the plugin speaks.
    pub protocol: u32,
    /// Lower runs first; ties are broken by key.
    #[serde(default = "default_priority")]
    pub priority: i32,
    /// The action kinds the plugin may propose; must be allowed by the policy for each event.
    pub actions: Vec<String>,
    /// The plugin's operations; each handles one or more of `events`.
    pub operations: Vec<Operation>,
    #[serde(default)]
    pub limits: PluginLimits,
    /// Extra fields the plugin's ledger contract requires (besides warden's own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ledger_fields: Vec<String>,
}

fn default_priority() -> i32 {
    100
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    /// The operation token `<op>` (lowercase letters, digits and _).
    pub name: String,
    pub description: String,
    /// The events this operation handles.
    pub events: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PluginLimits {
    /// Wall-clock limit of one plugin process (its whole process group is killed).
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    /// Largest stdout accepted; stderr is kept up to the same size.
    #[serde(default = "default_output")]
    pub max_output_bytes: u64,
}

fn default_timeout() -> u64 {
    10_000
}
fn default_output() -> u64 {
    1 << 20
}

impl Default for PluginLimits {
    fn default() -> Self {
        PluginLimits {
            timeout_ms: default_timeout(),
            max_output_bytes: default_output(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Python,
    Sh,
    Pwsh,
    Rust,
}

impl Lang {
    pub const ALL: &[&str] = &["python", "sh", "pwsh", "rust"];

    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "python" => Some(Lang::Python),
            "sh" => Some(Lang::Sh),
            "pwsh" => Some(Lang::Pwsh),
            "rust" => Some(Lang::Rust),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Lang::Python => "python",
            Lang::Sh => "sh",
            Lang::Pwsh => "pwsh",
            Lang::Rust => "rust",
        }
    }

    /// The handler file, relative to the plugin folder.
    pub fn handler(self) -> &'static str {
        match self {
            Lang::Python => "src/handler.py",
            Lang::Sh => "src/handler.sh",
            Lang::Pwsh => "src/handler.ps1",
            Lang::Rust => "src/main.rs",
        }
    }

    /// The default command, run in the plugin folder.
    pub fn default_entry(self) -> Vec<String> {
        let v: &[&str] = match self {
            Lang::Python => &["python3", "src/handler.py"],
            Lang::Sh => &["sh", "src/handler.sh"],
            Lang::Pwsh => &[
                "pwsh",
                "-NoProfile",
                "-NonInteractive",
                "-File",
                "src/handler.ps1",
            ],
            Lang::Rust => &[
                "cargo",
                "run",
                "--quiet",
                "--offline",
                "--locked",
                "--release",
            ],
        };
        v.iter().map(|s| s.to_string()).collect()
    }

    /// The comment opener of the handler's language (for AUTO fences).
    pub fn comment(self) -> &'static str {
        match self {
            Lang::Python | Lang::Sh | Lang::Pwsh => "#",
            Lang::Rust => "//",
        }
    }

    /// Per-operation test file name.
    pub fn test_file(self, op: &str) -> String {
        match self {
            Lang::Python => format!("tests/test_{op}.py"),
            Lang::Sh => format!("tests/test_{op}.sh"),
            Lang::Pwsh => format!("tests/test_{op}.ps1"),
            Lang::Rust => format!("tests/test_{op}.rs"),
        }
    }
}

/// A spec error at `field` of `file`, with its fix.
fn bad(file: &str, field: &str, msg: String, fix: &str) -> Result<()> {
    Err(Error::invalid(file, field, msg, Some(fix.to_string())))
}

pub fn valid_key(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn valid_op(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl PluginSpec {
    /// Parse and check a spec. `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<PluginSpec> {
        Self::parse_bytes(text.as_bytes(), file)
    }

    /// Parse and check a spec file's bytes, strictly (`warden_core::strict`): no
    /// byte-order mark, valid UTF-8, no repeated key, no unknown field (named
    /// with a did-you-mean), then the rules of [`PluginSpec::check`].
    pub fn parse_bytes(bytes: &[u8], file: &str) -> Result<PluginSpec> {
        let value = strict::parse_json(bytes, file)?;
        let spec: PluginSpec = strict::deserialize(
            &value,
            file,
            "`warden schema plugin-spec` prints the format",
        )?;
        spec.check(file)?;
        Ok(spec)
    }

    /// The semantic rules the schema cannot say, in field order; the first
    /// broken one is the error.
    pub fn check(&self, file: &str) -> Result<()> {
        self.check_identity(file)?;
        self.check_events(file)?;
        if self.protocol == 0 {
            return bad(
                file,
                "protocol",
                "protocol major 0 does not exist".into(),
                &format!("set it to {PROTOCOL_MAJOR}"),
            );
        }
        self.check_actions(file)?;
        self.check_operations(file)?;
        self.check_entry_and_limits(file)
    }

    /// Schema tag, key and id.
    fn check_identity(&self, file: &str) -> Result<()> {
        if self.schema != SPEC_SCHEMA_ID {
            return bad(
                file,
                "schema",
                format!("unknown schema \"{}\"", self.schema),
                &format!("set it to \"{SPEC_SCHEMA_ID}\""),
            );
        }
        if !valid_key(&self.key) {
            return bad(
                file,
                "key",
                format!("\"{}\" is not a plugin key", self.key),
                "use lowercase letters, digits, - and _ (at most 64), starting with a letter or digit",
            );
        }
        if ulid::Ulid::from_string(&self.id).is_err() {
            return bad(
                file,
                "id",
                format!("\"{}\" is not a ULID", self.id),
                "the id is the plugin's ID card (ids/cards/<id>.yaml); `warden plugin new` mints one",
            );
        }
        Ok(())
    }

    /// At least one event, each known and listed once.
    fn check_events(&self, file: &str) -> Result<()> {
        if self.events.is_empty() {
            return bad(
                file,
                "events",
                "no events".into(),
                "list at least one event from `warden events`",
            );
        }
        for (i, ev) in self.events.iter().enumerate() {
            if events::find(ev).is_none() {
                let hint = warden_core::error::did_you_mean(ev, events::event_names())
                    .unwrap_or_else(|| "`warden events` lists them".into());
                return bad(
                    file,
                    &format!("events[{i}]"),
                    format!("unknown event \"{ev}\""),
                    &hint,
                );
            }
            if self.events[..i].contains(ev) {
                return bad(
                    file,
                    &format!("events[{i}]"),
                    format!("\"{ev}\" is listed twice"),
                    "list each event once",
                );
            }
        }
        Ok(())
    }

    /// Every action is a known, supported kind.
    fn check_actions(&self, file: &str) -> Result<()> {
        for (i, a) in self.actions.iter().enumerate() {
            match ActionKind::parse(a) {
                Some(k) if k.supported() => {}
                Some(_) => {
                    return bad(
                        file,
                        &format!("actions[{i}]"),
                        format!("action \"{a}\" is not supported yet"),
                        "remove it",
                    );
                }
                None => {
                    let hint = warden_core::error::did_you_mean(a, ActionKind::names())
                        .unwrap_or_else(|| {
                            format!(
                                "one of: {}",
                                ActionKind::names().collect::<Vec<_>>().join(", ")
                            )
                        });
                    return bad(
                        file,
                        &format!("actions[{i}]"),
                        format!("unknown action \"{a}\""),
                        &hint,
                    );
                }
            }
        }
        Ok(())
    }

    /// At least one operation, each named once by a token, listing only the
    /// plugin's events; each event is handled by exactly one operation.
    fn check_operations(&self, file: &str) -> Result<()> {
        if self.operations.is_empty() {
            return bad(
                file,
                "operations",
                "no operations".into(),
                "declare at least one operation, e.g. {\"name\": \"handle\", ...}",
            );
        }
        for (i, op) in self.operations.iter().enumerate() {
            self.check_operation(file, i, op)?;
        }
        for ev in &self.events {
            let n = self
                .operations
                .iter()
                .filter(|o| o.events.contains(ev))
                .count();
            if n != 1 {
                return bad(
                    file,
                    "operations",
                    format!("event \"{ev}\" is handled by {n} operations"),
                    "exactly one operation must list each event",
                );
            }
        }
        Ok(())
    }

    /// Operation `i`: a token, not declared before, listing only the
    /// plugin's events.
    fn check_operation(&self, file: &str, i: usize, op: &Operation) -> Result<()> {
        if !valid_op(&op.name) {
            return bad(
                file,
                &format!("operations[{i}].name"),
                format!("\"{}\" is not an operation token", op.name),
                "use lowercase letters, digits and _, starting with a letter",
            );
        }
        if self.operations[..i].iter().any(|o| o.name == op.name) {
            return bad(
                file,
                &format!("operations[{i}].name"),
                format!("operation \"{}\" is declared twice", op.name),
                "give each operation its own name",
            );
        }
        for (j, ev) in op.events.iter().enumerate() {
            if !self.events.contains(ev) {
                return bad(
                    file,
                    &format!("operations[{i}].events[{j}]"),
                    format!("\"{ev}\" is not one of the plugin's events"),
                    "add it to `events` or remove it here",
                );
            }
        }
        Ok(())
    }

    /// A given entry is a command; limits are positive.
    fn check_entry_and_limits(&self, file: &str) -> Result<()> {
        if let Some(entry) = &self.entry
            && entry.is_empty()
        {
            return bad(
                file,
                "entry",
                "empty command".into(),
                "remove `entry` to use the language default",
            );
        }
        if self.limits.timeout_ms == 0 || self.limits.max_output_bytes == 0 {
            return bad(
                file,
                "limits",
                "limits must be positive".into(),
                "remove `limits` for the defaults",
            );
        }
        Ok(())
    }

    pub fn entry(&self) -> Vec<String> {
        self.entry
            .clone()
            .unwrap_or_else(|| self.lang.default_entry())
    }

    /// The operation that handles `event`.
    pub fn operation_for(&self, event: &str) -> Option<&Operation> {
        self.operations
            .iter()
            .find(|o| o.events.iter().any(|e| e == event))
    }

    pub fn to_pretty(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r#"{
  "schema": "warden.plugin-spec/v1",
  "key": "k",
  "id": "01ARZ3NDEKTSV4RRFFQ69G5FAV",
  "name": "k",
  "version": "0.1.0",
  "description": "d",
  "events": ["FileDetected"],
  "lang": "python",
  "protocol": 1,
  "actions": ["quarantine"],
  "operations": [{"name": "handle", "description": "h", "events": ["FileDetected"]}],
  "limits": {"timeout_ms": 1000}
}
"#;

    #[test]
    fn a_valid_spec_parses() {
        let spec = PluginSpec::parse(SPEC, "p.json").expect("parses");
        assert_eq!(spec.limits.timeout_ms, 1000);
    }

    #[test]
    fn unknown_spec_fields_are_named_with_a_did_you_mean() {
        let text = SPEC.replace("\"timeout_ms\"", "\"timeout\"");
        let e = PluginSpec::parse(&text, "p.json").expect_err("unknown");
        assert_eq!(e.to_string(), "p.json: limits.timeout: unknown field");
        assert_eq!(e.hint().as_deref(), Some("did you mean \"timeout_ms\"?"));
        let text = SPEC.replace("\"h\",", "\"h\", \"event\": [],");
        let e = PluginSpec::parse(&text, "p.json").expect_err("unknown");
        assert_eq!(e.to_string(), "p.json: operations[0].event: unknown field");
        assert_eq!(e.hint().as_deref(), Some("did you mean \"events\"?"));
    }

    #[test]
    fn duplicate_spec_keys_are_refused_naming_the_key_and_line() {
        let text = SPEC.replace(
            "\"lang\": \"python\",",
            "\"lang\": \"python\", \"lang\": \"sh\",",
        );
        let e = PluginSpec::parse(&text, "p.json").expect_err("duplicate");
        assert!(
            e.to_string()
                .starts_with("p.json: lang: duplicate key \"lang\" at line 9"),
            "{e}"
        );
    }

    #[test]
    fn a_bom_in_a_spec_is_named_as_such() {
        let e = PluginSpec::parse(&format!("\u{feff}{SPEC}"), "p.json").expect_err("bom");
        assert_eq!(
            e.to_string(),
            "p.json: byte 0: file starts with a UTF-8 byte-order mark"
        );
    }
}
