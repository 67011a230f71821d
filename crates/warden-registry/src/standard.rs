//! The maturity standard: what each level of each dimension needs as
//! evidence. warden ships a default (the seed names
//! `CapabilityMaturityStandard.md` but gives no content); a repository
//! overrides it with `registry/maturity-standard.yaml`. The promotion gate
//! checks a promotion against it, and the LLM prompt carries its summary
//! table, never the whole document.

use crate::model::{DIMENSIONS, EntryMeta, STANDARD_PATH};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::Path;
use warden_core::{Error, Result, strict};

pub const STANDARD_SCHEMA_ID: &str = "warden.registry-standard/v1";

/// `registry/maturity-standard.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "warden maturity standard",
    description = "registry/maturity-standard.yaml: the levels of each maturity dimension and the evidence each needs"
)]
pub struct Standard {
    /// Always "warden.registry-standard/v1".
    pub schema: String,
    /// Exactly the four dimensions D, A, C, R.
    pub dimensions: Vec<Dimension>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Dimension {
    /// D, A, C or R.
    pub key: String,
    pub name: String,
    /// Level 1 upwards (0 needs nothing); a promotion to level N needs the
    /// requirements of every level up to N.
    pub levels: Vec<LevelRule>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LevelRule {
    pub level: u8,
    pub title: String,
    #[serde(default)]
    pub requires: Vec<Requirement>,
}

/// At least `min` items in a list field of the entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    /// `evidence.<key>`, `availability.current_artifacts` or `consumer_feedback`.
    pub field: String,
    pub min: usize,
}

fn req(field: &str, min: usize) -> Requirement {
    Requirement {
        field: field.into(),
        min,
    }
}

fn rule(level: u8, title: &str, requires: Vec<Requirement>) -> LevelRule {
    LevelRule {
        level,
        title: title.into(),
        requires,
    }
}

impl Standard {
    /// The default standard.
    pub fn default_standard() -> Standard {
        const DOC: &str = "evidence.documentation";
        const TESTS: &str = "evidence.tests";
        const ART: &str = "availability.current_artifacts";
        const FB: &str = "consumer_feedback";
        Standard {
            schema: STANDARD_SCHEMA_ID.into(),
            dimensions: vec![
                Dimension {
                    key: "D".into(),
                    name: "Documentation".into(),
                    levels: vec![
                        rule(1, "described", vec![req(DOC, 1)]),
                        rule(2, "usage documented", vec![req(DOC, 2)]),
                        rule(3, "reference documented", vec![req(DOC, 3)]),
                        rule(4, "documented and tested examples", vec![req(TESTS, 1)]),
                        rule(5, "documented for consumers", vec![req(FB, 1)]),
                        rule(
                            6,
                            "documentation kept current by consumers",
                            vec![req(FB, 2)],
                        ),
                    ],
                },
                Dimension {
                    key: "A".into(),
                    name: "Availability".into(),
                    levels: vec![
                        rule(1, "one artifact", vec![req(ART, 1)]),
                        rule(2, "artifact documented", vec![req(DOC, 1)]),
                        rule(3, "several artifacts", vec![req(ART, 2)]),
                        rule(4, "artifacts tested", vec![req(TESTS, 1)]),
                        rule(5, "artifacts used by consumers", vec![req(FB, 1)]),
                    ],
                },
                Dimension {
                    key: "C".into(),
                    name: "Confidence (tests and CI)".into(),
                    levels: vec![
                        rule(1, "tested", vec![req(TESTS, 1)]),
                        rule(2, "tests in CI", vec![req(TESTS, 2)]),
                        rule(3, "broad tests", vec![req(TESTS, 3)]),
                        rule(4, "tests documented", vec![req(DOC, 1)]),
                        rule(5, "tests cover consumer use", vec![req(FB, 1)]),
                        rule(6, "tests cover every consumer", vec![req(FB, 2)]),
                    ],
                },
                Dimension {
                    key: "R".into(),
                    name: "Reliability (consumers)".into(),
                    levels: vec![
                        rule(1, "tested", vec![req(TESTS, 1)]),
                        rule(2, "one consumer", vec![req(FB, 1)]),
                        rule(3, "several consumers", vec![req(FB, 2)]),
                        rule(4, "consumer telemetry", vec![req(FB, 3)]),
                    ],
                },
            ],
        }
    }

    /// The repository's standard, or the default.
    pub fn load(root: &Path) -> Result<Standard> {
        match strict::read_config(root, STANDARD_PATH)? {
            Some(bytes) => Self::parse(&bytes, STANDARD_PATH),
            None => Ok(Self::default_standard()),
        }
    }

    pub fn parse(bytes: &[u8], file: &str) -> Result<Standard> {
        let value = strict::parse_yaml(bytes, file)?;
        let s: Standard = strict::deserialize(
            &value,
            file,
            "see `warden schema registry-standard` for the expected shape",
        )?;
        if s.schema != STANDARD_SCHEMA_ID {
            return Err(Error::invalid(
                file,
                "schema",
                format!("unsupported schema \"{}\"", s.schema),
                Some(format!("set `schema: {STANDARD_SCHEMA_ID}`")),
            ));
        }
        let keys: Vec<&str> = s.dimensions.iter().map(|d| d.key.as_str()).collect();
        if keys != ["D", "A", "C", "R"] {
            return Err(Error::invalid(
                file,
                "dimensions",
                format!("the dimensions are {keys:?}"),
                Some("list exactly D, A, C, R, in this order".into()),
            ));
        }
        for (i, d) in s.dimensions.iter().enumerate() {
            for (j, l) in d.levels.iter().enumerate() {
                for (k, r) in l.requires.iter().enumerate() {
                    if !known_field(&r.field) {
                        return Err(Error::invalid(
                            file,
                            format!("dimensions[{i}].levels[{j}].requires[{k}].field"),
                            format!("unknown field \"{}\"", r.field),
                            Some("use evidence.<key>, availability.current_artifacts or consumer_feedback".into()),
                        ));
                    }
                }
            }
        }
        Ok(s)
    }

    /// What an entry lacks to hold `level` in dimension `dim`: one line per
    /// unmet requirement; empty when it qualifies.
    pub fn unmet(&self, meta: &EntryMeta, dim: char, level: u8) -> Vec<String> {
        let Some(d) = self.dimensions.iter().find(|d| d.key.starts_with(dim)) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for l in d.levels.iter().filter(|l| l.level <= level) {
            for r in &l.requires {
                let have = count(meta, &r.field);
                if have < r.min {
                    out.push(format!(
                        "{dim}{} ({}) needs {} item(s) in {}, the entry has {have}",
                        l.level, l.title, r.min, r.field
                    ));
                }
            }
        }
        out
    }

    /// The summary table the LLM prompt carries.
    pub fn summary_table(&self) -> String {
        let mut s = String::from("| dimension | level | title | needs |\n|---|---|---|---|\n");
        for d in &self.dimensions {
            for l in &d.levels {
                let needs: Vec<String> = l
                    .requires
                    .iter()
                    .map(|r| format!("{} >= {}", r.field, r.min))
                    .collect();
                s.push_str(&format!(
                    "| {} {} | {} | {} | {} |\n",
                    d.key,
                    d.name,
                    l.level,
                    l.title,
                    needs.join(", ")
                ));
            }
        }
        s
    }
}

fn known_field(f: &str) -> bool {
    f == "availability.current_artifacts"
        || f == "consumer_feedback"
        || f.strip_prefix("evidence.").is_some_and(|k| !k.is_empty())
}

fn count(meta: &EntryMeta, field: &str) -> usize {
    match field {
        "availability.current_artifacts" => meta.availability.current_artifacts.len(),
        // Feedback an LLM wrote is a claim, not evidence: only a person's
        // (or a deterministic collector's) counts toward a level.
        "consumer_feedback" => meta
            .consumer_feedback
            .iter()
            .filter(|f| f.source != crate::model::Origin::Llm)
            .count(),
        f => f
            .strip_prefix("evidence.")
            .and_then(|k| meta.evidence.get(k))
            .map_or(0, Vec::len),
    }
}

/// Every dimension letter, for messages.
pub fn dimension_letters() -> String {
    DIMENSIONS
        .iter()
        .map(char::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_standard_round_trips_through_its_own_parser() {
        let s = Standard::default_standard();
        let text = crate::model::to_yaml(&s).expect("yaml");
        assert_eq!(
            Standard::parse(text.as_bytes(), "s.yaml").expect("parse"),
            s
        );
    }

    #[test]
    fn llm_written_consumer_feedback_counted_toward_a_promotion() {
        let text = "---\nid: capability.x.y\ntitle: t\nmaturity:\n  D: {current: 0}\n  A: {current: 0}\n  C: {current: 0}\n  R: {current: 0}\nconsumer_feedback:\n- {date: '2026-11-29', source: llm, text: Team Orion relies on it daily}\n---\n";
        let e = crate::model::Entry::parse(text.as_bytes(), "x.md").expect("entry");
        assert_eq!(count(&e.meta, "consumer_feedback"), 0);
        let text = text.replace("source: llm", "source: person");
        let e = crate::model::Entry::parse(text.as_bytes(), "x.md").expect("entry");
        assert_eq!(count(&e.meta, "consumer_feedback"), 1);
    }

    #[test]
    fn a_bad_requirement_field_is_named() {
        let mut s = Standard::default_standard();
        s.dimensions[1].levels[0].requires[0].field = "evidence".into();
        let text = crate::model::to_yaml(&s).expect("yaml");
        let e = Standard::parse(text.as_bytes(), "s.yaml").expect_err("bad");
        assert_eq!(
            e.to_string(),
            "s.yaml: dimensions[1].levels[0].requires[0].field: unknown field \"evidence\""
        );
    }
}
