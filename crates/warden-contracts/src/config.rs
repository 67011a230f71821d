//! `.warden/contracts.yaml` (`warden.contracts/v1`): suppressions with a
//! reason and an optional expiry, the test command of `check --run-tests`,
//! and `strict`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::Path;
use warden_core::{Error, Result, strict};

pub const CONTRACTS_SCHEMA_ID: &str = "warden.contracts/v1";
pub const CONTRACTS_FILE: &str = ".warden/contracts.yaml";

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "warden contracts configuration",
    description = "`.warden/contracts.yaml`: suppressions, the test command, strictness"
)]
pub struct ContractsConfig {
    /// Always "warden.contracts/v1".
    pub schema: String,
    /// Unknown meta types fail the check (default: a warning).
    #[serde(default)]
    pub strict: bool,
    /// Gaps accepted on purpose.
    #[serde(default)]
    pub suppress: Vec<Suppression>,
    /// Globs (repository-relative) whose meta files are not contracts of this
    /// repository, e.g. test fixtures: `["crates/*/tests/fixtures/**"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// What `warden check --run-tests` runs after a clean pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<TestsConfig>,
}

/// One suppression: by gap id, or by kind and (optionally) target file.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Suppression {
    /// A gap id (`gap-…`), as `warden check` prints it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// A gap kind (all gaps of the kind, or of the kind on `target`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// A target file (repository-relative), with `kind`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Why the gap is accepted. Required.
    pub reason: String,
    /// YYYY-MM-DD: from this day on the suppression no longer applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestsConfig {
    /// argv, no shell: e.g. ["pytest", "-q"].
    pub command: Vec<String>,
    /// Exit codes that mean "no tests were collected" (pytest: 5). Default [5].
    #[serde(default = "default_no_tests")]
    pub no_tests_exit_codes: Vec<i32>,
    /// Whether "no tests collected" passes (default false: it fails, named as such).
    #[serde(default)]
    pub allow_no_tests: bool,
    /// Seconds before the command and its children are killed (default 3600).
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

fn default_no_tests() -> Vec<i32> {
    vec![5]
}
fn default_timeout() -> u64 {
    3600
}

impl ContractsConfig {
    pub fn load(root: &Path) -> Result<ContractsConfig> {
        let Some(bytes) = strict::read_config(root, CONTRACTS_FILE)? else {
            return Ok(ContractsConfig {
                schema: CONTRACTS_SCHEMA_ID.into(),
                ..ContractsConfig::default()
            });
        };
        Self::parse(&bytes, CONTRACTS_FILE)
    }

    pub fn parse(bytes: &[u8], file: &str) -> Result<ContractsConfig> {
        let v = strict::parse_yaml(bytes, file)?;
        let c: ContractsConfig =
            strict::deserialize(&v, file, "`warden schema contracts` prints the format")?;
        if c.schema != CONTRACTS_SCHEMA_ID {
            return Err(Error::invalid(
                file,
                "schema",
                format!("unsupported schema \"{}\"", c.schema),
                Some(format!("set `schema: {CONTRACTS_SCHEMA_ID}`")),
            ));
        }
        for (i, s) in c.suppress.iter().enumerate() {
            let at = format!("suppress[{i}]");
            if s.reason.trim().is_empty() {
                return Err(Error::invalid(
                    file,
                    format!("{at}.reason"),
                    "a suppression needs a reason",
                    Some("say why the gap is accepted".into()),
                ));
            }
            if s.id.is_none() && s.kind.is_none() {
                return Err(Error::invalid(
                    file,
                    &at,
                    "a suppression names an `id` or a `kind`",
                    Some("copy the gap id from `warden check`".into()),
                ));
            }
            if let Some(k) = &s.kind
                && crate::gaps::GapKind::from_name(k).is_none()
            {
                let hint = warden_core::error::did_you_mean(
                    k,
                    crate::gaps::GapKind::ALL.iter().map(|k| k.name()),
                );
                return Err(Error::invalid(
                    file,
                    format!("{at}.kind"),
                    format!("unknown gap kind \"{k}\""),
                    hint,
                ));
            }
            if let Some(e) = &s.expires
                && !is_date(e)
            {
                return Err(Error::invalid(
                    file,
                    format!("{at}.expires"),
                    format!("\"{e}\" is not a calendar date"),
                    Some("write a date that exists, as YYYY-MM-DD".into()),
                ));
            }
        }
        for (i, g) in c.exclude.iter().enumerate() {
            if let Err(e) = globset::Glob::new(g) {
                return Err(Error::invalid(
                    file,
                    format!("exclude[{i}]"),
                    format!("not a glob: {e}"),
                    Some("e.g. \"crates/*/tests/fixtures/**\"".into()),
                ));
            }
        }
        if let Some(t) = &c.tests
            && t.command.is_empty()
        {
            return Err(Error::invalid(
                file,
                "tests.command",
                "the test command is empty",
                Some("e.g. [\"pytest\", \"-q\"]".into()),
            ));
        }
        Ok(c)
    }
}

/// Whether `s` is a calendar date written YYYY-MM-DD: the shape, and a
/// month and day that exist (`2026-13-45` would compare after every real
/// date and suppress for ever).
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shaped {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<u32>().ok());
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

impl Suppression {
    /// Whether it covers the gap on `today` (YYYY-MM-DD).
    pub fn covers(&self, g: &crate::gaps::Gap, today: &str) -> bool {
        self.expired(today).is_none() && self.matches(g)
    }

    /// The day it expired, when `today` (YYYY-MM-DD) is on or after it.
    pub fn expired(&self, today: &str) -> Option<&str> {
        self.expires.as_deref().filter(|e| today >= *e)
    }

    /// Whether it names the gap (by id, or by kind and target), expired or not.
    pub fn matches(&self, g: &crate::gaps::Gap) -> bool {
        if let Some(id) = &self.id {
            return *id == g.id;
        }
        match &self.kind {
            Some(k) if k == g.kind.name() => match &self.target {
                Some(t) => g.target_file.as_deref() == Some(t.as_str()),
                None => true,
            },
            _ => false,
        }
    }
}

impl ContractsConfig {
    /// The `exclude` globs as one set (checked in [`ContractsConfig::parse`]).
    pub fn excluded(&self) -> globset::GlobSet {
        let mut b = globset::GlobSetBuilder::new();
        for g in &self.exclude {
            if let Ok(g) = globset::Glob::new(g) {
                b.add(g);
            }
        }
        b.build().unwrap_or_else(|_| globset::GlobSet::empty())
    }
}

#[cfg(test)]
mod date_tests {
    #[test]
    fn an_impossible_expires_date_was_accepted_and_suppressed_for_ever() {
        for bad in [
            "2026-13-45",
            "9999-99-99",
            "2026-02-30",
            "2025-02-29",
            "2026-00-10",
        ] {
            assert!(!super::is_date(bad), "{bad}");
        }
        for good in ["2026-11-28", "2024-02-29", "2000-02-29", "2026-12-31"] {
            assert!(super::is_date(good), "{good}");
        }
    }
}
