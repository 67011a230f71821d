//! `warden modules import FILE`: the seed's module registry (JSON keyed by
//! module name, REQUIREMENTS C2) as `.warden/modules.yaml`. Each module may
//! carry `keywords`, `allowed_extensions` and, beyond the seed, `folder`
//! (default `modules/<name>/`), `priority` and `description`. The YAML is
//! written in a fixed layout, so importing the same file twice gives the
//! same bytes, and it is checked by the same parser that reads it.

use serde::Deserialize;
use std::collections::BTreeMap;
use warden_core::modules::{MODULES_FILE, MODULES_SCHEMA_ID, Modules};
use warden_core::{Result, strict};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedModule {
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    allowed_extensions: Vec<String>,
    #[serde(default)]
    folder: Option<String>,
    #[serde(default)]
    priority: i32,
    #[serde(default)]
    description: Option<String>,
}

fn q(s: &str) -> String {
    // A JSON string is a valid YAML double-quoted scalar.
    serde_json::Value::String(s.to_string()).to_string()
}

fn list(items: &[String]) -> String {
    let v: Vec<String> = items.iter().map(|s| q(s)).collect();
    format!("[{}]", v.join(", "))
}

/// The registry text for the seed JSON `bytes` (`file` names it in errors).
/// Returns the text and the checked registry.
pub fn import(bytes: &[u8], file: &str) -> Result<(String, Modules)> {
    let value = strict::parse_json(bytes, file)?;
    let seed: BTreeMap<String, SeedModule> = strict::deserialize(
        &value,
        file,
        "the seed format is an object keyed by module name, each with keywords and allowed_extensions",
    )?;
    let mut s = String::new();
    s.push_str("# yaml-language-server: $schema=../schemas/modules.schema.json\n");
    s.push_str(&format!(
        "# The module registry (`warden schema modules`), imported from {file}.\n"
    ));
    s.push_str(&format!("schema: {MODULES_SCHEMA_ID}\n"));
    s.push_str("inbox: [\"inbox/\"]\n");
    s.push_str("thresholds:\n  min_score: 3\n  min_margin: 2\n");
    s.push_str("modules:\n");
    if seed.is_empty() {
        s.truncate(s.len() - 1);
        s.push_str(" []\n");
    }
    for (name, m) in &seed {
        let folder = m.folder.clone().unwrap_or_else(|| format!("modules/{name}/"));
        s.push_str(&format!("  - name: {}\n", q(name)));
        s.push_str(&format!("    folder: {}\n", q(&folder)));
        s.push_str(&format!("    keywords: {}\n", list(&m.keywords)));
        s.push_str(&format!(
            "    allowed_extensions: {}\n",
            list(&m.allowed_extensions)
        ));
        if m.priority != 0 {
            s.push_str(&format!("    priority: {}\n", m.priority));
        }
        if let Some(d) = &m.description {
            s.push_str(&format!("    description: {}\n", q(d)));
        }
    }
    let checked = Modules::parse_bytes(s.as_bytes(), MODULES_FILE)?;
    Ok((s, checked))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_example_imports() {
        let seed = br#"{ "Goal_Normalizer_MOD": {"keywords": ["normalize","goal","capability_tags","constraints"],
                             "allowed_extensions": [".py",".ps1",".md"]},
  "Ledger_Records_MOD":  {"keywords": ["ledger","ulid","append_only","provenance"],
                             "allowed_extensions": [".py",".ps1",".jsonl"]} }"#;
        let (text, m) = import(seed, "seed.json").expect("import");
        assert_eq!(m.modules.len(), 2);
        let l = m.get("Ledger_Records_MOD").expect("ledger");
        assert_eq!(l.folder.as_str(), "modules/Ledger_Records_MOD");
        assert!(l.takes_extension("jsonl"));
        assert_eq!(import(seed, "seed.json").expect("again").0, text);
    }

    #[test]
    fn a_typo_names_the_field() {
        let e = import(br#"{"A": {"keywrods": []}}"#, "seed.json").expect_err("typo");
        assert!(e.to_string().contains("keywrods"), "{e}");
    }
}
