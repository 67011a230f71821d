//! `warden registry stats`: capabilities per level and dimension, entries
//! without evidence, and the index against the entry files.

use crate::model::DIMENSIONS;
use crate::registry::Registry;
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;

pub const STATS_SCHEMA_ID: &str = "warden.registry-stats/v1";

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "warden registry stats")]
pub struct StatsReport {
    /// Always "warden.registry-stats/v1".
    pub schema: String,
    pub entries: usize,
    pub index_rows: usize,
    /// Per dimension (D, A, C, R): level → number of capabilities at it.
    pub levels: BTreeMap<String, BTreeMap<u8, usize>>,
    /// Per dimension: capabilities whose current level is below their target.
    pub below_target: BTreeMap<String, usize>,
    /// Ids of entries that cite no evidence at all.
    pub without_evidence: Vec<String>,
    /// Index rows whose entry file is missing.
    pub rows_without_entry: Vec<String>,
    /// Entries without an index row.
    pub entries_without_row: Vec<String>,
    /// Rows whose vector differs from their entry's.
    pub vector_drift: Vec<String>,
    /// Entry files that could not be read.
    pub unreadable: usize,
}

pub fn stats(reg: &Registry) -> StatsReport {
    let mut levels: BTreeMap<String, BTreeMap<u8, usize>> = BTreeMap::new();
    let mut below: BTreeMap<String, usize> = BTreeMap::new();
    for d in DIMENSIONS {
        levels.insert(d.to_string(), BTreeMap::new());
        below.insert(d.to_string(), 0);
    }
    for e in &reg.entries {
        for d in DIMENSIONS {
            if let Some(l) = e.meta.maturity.level(d) {
                *levels
                    .entry(d.to_string())
                    .or_default()
                    .entry(l.current)
                    .or_default() += 1;
                if l.target.is_some_and(|t| t > l.current) {
                    *below.entry(d.to_string()).or_default() += 1;
                }
            }
        }
    }
    let without_evidence = reg
        .entries
        .iter()
        .filter(|e| !e.meta.has_evidence())
        .map(|e| e.meta.id.clone())
        .collect();
    let (mut rows_without_entry, mut drift, mut without_row) = (Vec::new(), Vec::new(), Vec::new());
    if let Some(ix) = &reg.index {
        for row in &ix.capabilities {
            match reg.entries.iter().find(|e| e.path == row.entry) {
                None => rows_without_entry.push(row.id.clone()),
                Some(e) if e.meta.maturity.vector() != row.vector => drift.push(row.id.clone()),
                Some(_) => {}
            }
        }
        for e in &reg.entries {
            if ix.row(&e.meta.id).is_none() {
                without_row.push(e.meta.id.clone());
            }
        }
    }
    StatsReport {
        schema: STATS_SCHEMA_ID.into(),
        entries: reg.entries.len(),
        index_rows: reg.index.as_ref().map_or(0, |i| i.capabilities.len()),
        levels,
        below_target: below,
        without_evidence,
        rows_without_entry,
        entries_without_row: without_row,
        vector_drift: drift,
        unreadable: reg
            .load_problems
            .iter()
            .filter(|p| p.code == "entry_invalid")
            .count(),
    }
}

pub fn render(s: &StatsReport) -> String {
    let mut out = format!(
        "{} capabilities ({} index rows)\n\nlevel  {}\n",
        s.entries,
        s.index_rows,
        DIMENSIONS
            .iter()
            .map(|d| format!("{d:>4}"))
            .collect::<String>()
    );
    let max = s
        .levels
        .values()
        .flat_map(|m| m.keys().copied())
        .max()
        .unwrap_or(0);
    for l in 0..=max {
        out.push_str(&format!("{l:>5}  "));
        for d in DIMENSIONS {
            let n = s
                .levels
                .get(&d.to_string())
                .and_then(|m| m.get(&l))
                .copied()
                .unwrap_or(0);
            out.push_str(&format!("{n:>4}"));
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "below target: {}\n",
        DIMENSIONS
            .iter()
            .map(|d| format!("{d} {}", s.below_target.get(&d.to_string()).unwrap_or(&0)))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let list = |name: &str, v: &Vec<String>| {
        if v.is_empty() {
            format!("{name}: none\n")
        } else {
            let ids: Vec<String> = v
                .iter()
                .map(|x| warden_core::text::shown(x).to_string())
                .collect();
            format!("{name} ({}): {}\n", v.len(), ids.join(", "))
        }
    };
    out.push_str(&list("without evidence", &s.without_evidence));
    out.push_str(&list("index rows without entry", &s.rows_without_entry));
    out.push_str(&list("entries without index row", &s.entries_without_row));
    out.push_str(&list("vector drift", &s.vector_drift));
    if s.unreadable > 0 {
        out.push_str(&format!(
            "{} entry file(s) unreadable: `warden registry validate` names them\n",
            s.unreadable
        ));
    }
    out
}
