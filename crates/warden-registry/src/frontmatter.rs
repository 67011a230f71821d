//! Rewriting an entry's front matter without losing what a person wrote:
//! comments, blank lines, key order and quoting of every part a patch did
//! not touch are kept; only the changed top-level fields (or, inside a
//! mapping such as `evidence`, `relations` or `maturity`, only the changed
//! keys) are replaced by their canonical rendering. New fields go after the
//! field that precedes them in the canonical order.
//!
//! The result is checked: it must parse back to exactly the new front
//! matter, else the canonical rendering is used instead (so a construct this
//! line-based editor does not follow, such as a flow mapping spread over
//! several lines, costs the comments, never correctness).

use crate::model::{EntryMeta, to_yaml, typed_yaml};
use serde_json::Value;

/// A run of lines that belongs to one key: the comments and blank lines
/// just above it, the key's line, and the lines below it that are deeper.
#[derive(Debug, Clone, PartialEq)]
struct Block {
    /// None: comments or blank lines with no key after them.
    key: Option<String>,
    /// Comment and blank lines above the key.
    lead: String,
    /// The key's line and its value's lines.
    body: String,
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// The key of a line `key: …` at column `col` (not a sequence item, not a
/// comment).
fn key_at(line: &str, col: usize) -> Option<String> {
    if indent(line) != col {
        return None;
    }
    let t = &line[col..];
    if t.starts_with('#') || t.starts_with('-') || t.is_empty() {
        return None;
    }
    let end = t.find(':')?;
    let after = &t[end + 1..];
    if !(after.is_empty() || after.starts_with([' ', '\n', '\r'])) {
        return None;
    }
    let k = t[..end].trim_end();
    let k = k
        .strip_prefix('"')
        .and_then(|k| k.strip_suffix('"'))
        .or_else(|| k.strip_prefix('\'').and_then(|k| k.strip_suffix('\'')))
        .unwrap_or(k);
    Some(k.to_string())
}

/// Split YAML lines (each with its newline) into blocks of keys at column
/// `col`. None when a line at or left of `col` is neither a key, a comment,
/// blank, nor (at `col`) a sequence item continuing the previous key.
fn blocks(text: &str, col: usize) -> Option<Vec<Block>> {
    let mut out: Vec<Block> = Vec::new();
    let mut lead = String::new();
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        if t.is_empty() || (t.starts_with('#') && indent(line) <= col) {
            lead.push_str(line);
            continue;
        }
        if let Some(k) = key_at(line, col) {
            out.push(Block {
                key: Some(k),
                lead: std::mem::take(&mut lead),
                body: line.to_string(),
            });
            continue;
        }
        let deeper = indent(line) > col || (indent(line) == col && line[col..].starts_with('-'));
        match out.last_mut() {
            Some(b) if deeper => {
                // Comments and blank lines inside a value stay with it.
                b.body.push_str(&std::mem::take(&mut lead));
                b.body.push_str(line);
            }
            _ => return None,
        }
    }
    if !lead.is_empty() {
        out.push(Block {
            key: None,
            lead,
            body: String::new(),
        });
    }
    Some(out)
}

fn obj(v: &Value) -> serde_json::Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

/// Merge at column `col`: keep the blocks of `old_text` whose value is the
/// same in `old` and `new`, take `canon_text`'s block where it changed, drop
/// the removed keys, and insert the new ones after their canonical
/// predecessor. Mappings changed on both sides are merged one level deeper.
fn merge(
    old_text: &str,
    canon_text: &str,
    old: &serde_json::Map<String, Value>,
    new: &serde_json::Map<String, Value>,
    col: usize,
    depth: usize,
) -> Option<String> {
    let olds = blocks(old_text, col)?;
    let canon_col = canon_text
        .lines()
        .find(|l| !l.trim().is_empty())
        .map_or(col, indent);
    let canons = blocks(canon_text, canon_col)?;
    let reindent = |s: &str| -> String {
        s.split_inclusive('\n')
            .map(|l| {
                if l.trim().is_empty() {
                    l.to_string()
                } else {
                    let i = indent(l);
                    let deeper = i.saturating_sub(canon_col);
                    format!("{}{}", " ".repeat(col + deeper), &l[i..])
                }
            })
            .collect()
    };
    let canon_of = |k: &str| {
        canons
            .iter()
            .find(|b| b.key.as_deref() == Some(k))
            .map(|b| reindent(&b.body))
    };
    // Each old block, kept, replaced or dropped; then the new keys.
    let mut out: Vec<(Option<String>, String)> = Vec::new();
    for b in &olds {
        let Some(k) = &b.key else {
            out.push((None, b.lead.clone()));
            continue;
        };
        let (o, n) = (old.get(k), new.get(k));
        let body = match (o, n) {
            (Some(o), Some(n)) if o == n => b.body.clone(),
            (_, None) => {
                // Removed: its comments go too, unless they lead the file.
                continue;
            }
            (Some(Value::Object(om)), Some(Value::Object(nm))) if depth == 0 => {
                let first = b.body.split_inclusive('\n').next().unwrap_or("");
                let rest = &b.body[first.len()..];
                let child_col = rest
                    .lines()
                    .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
                    .map(indent);
                let canon_block = canon_of(k)?;
                let cfirst = canon_block.split_inclusive('\n').next().unwrap_or("");
                let crest = &canon_block[cfirst.len()..];
                match child_col {
                    // Block style on both sides: merge the keys inside.
                    Some(cc)
                        if cc > col && first.trim_end().ends_with(':') && !crest.is_empty() =>
                    {
                        let inner = merge(rest, crest, om, nm, cc, depth + 1)?;
                        format!("{first}{inner}")
                    }
                    _ => canon_block,
                }
            }
            _ => canon_of(k)?,
        };
        out.push((Some(k.clone()), format!("{}{body}", b.lead)));
    }
    // New keys, in canonical order, after the nearest preceding key present.
    let order: Vec<String> = canons.iter().filter_map(|b| b.key.clone()).collect();
    for (i, k) in order.iter().enumerate() {
        if olds.iter().any(|b| b.key.as_deref() == Some(k)) || !new.contains_key(k) {
            continue;
        }
        let text = canon_of(k)?;
        let after = order[..i].iter().rev().find_map(|p| {
            out.iter()
                .rposition(|(ok, _)| ok.as_deref() == Some(p.as_str()))
        });
        let at = match after {
            Some(p) => p + 1,
            // Before every key (after leading comments).
            None => out
                .iter()
                .position(|(ok, _)| ok.is_some())
                .unwrap_or(out.len()),
        };
        out.insert(at, (Some(k.clone()), text));
    }
    Some(out.into_iter().map(|(_, t)| t).collect())
}

/// The new front matter text: `old_yaml` (as the file had it) edited to say
/// `new`, or the canonical rendering when that is not possible. `old` is what
/// `old_yaml` parses to.
pub fn rewrite(old_yaml: &str, old: &EntryMeta, new: &EntryMeta) -> warden_core::Result<String> {
    let canon = to_yaml(new)?;
    if old == new {
        return Ok(old_yaml.to_string());
    }
    let (Ok(ov), Ok(nv)) = (serde_json::to_value(old), serde_json::to_value(new)) else {
        return Ok(canon);
    };
    let Some(mut text) = merge(old_yaml, &canon, &obj(&ov), &obj(&nv), 0, 0) else {
        return Ok(canon);
    };
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    // Checked: it must say exactly `new`.
    match typed_yaml::<EntryMeta>(&text, "(rewrite)", "") {
        Ok(back) if &back == new => Ok(text),
        _ => Ok(canon),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Entry;

    const COMMENTED: &str = "---\n# The statehub capability.\nid: capability.demo.x   # stable id\ntitle: 'X'\n\nmaturity:\n  # documentation\n  D: {current: 2, target: 3}   # aiming for 3\n  A: {current: 1}\n  C: {current: 1}\n  R: {current: 0}\npaths: [src/x/**]   # the code\nevidence:\n  # what proves it works\n  tests:\n  - tests/x.rs   # unit\n  documentation:\n  - docs/x.md\nnotes: \"keep me\"\n# trailing comment\n---\n# X\n\nbody  \n";

    fn parts(text: &str) -> (String, Entry) {
        let e = Entry::parse(text.as_bytes(), "x.md").expect("parse");
        let (yaml, _) = crate::model::split_front_matter(text, "x.md").expect("split");
        (yaml.to_string(), e)
    }

    #[test]
    fn a_changed_key_inside_a_mapping_keeps_every_other_line() {
        let (yaml, e) = parts(COMMENTED);
        let mut new = e.meta.clone();
        new.evidence
            .get_mut("tests")
            .expect("tests")
            .push("tests/y.rs".into());
        let out = rewrite(&yaml, &e.meta, &new).expect("rewrite");
        assert_eq!(
            out,
            yaml.replace(
                "  tests:\n  - tests/x.rs   # unit\n",
                "  tests:\n  - tests/x.rs\n  - tests/y.rs\n"
            ),
            "only the changed list is rendered again"
        );
    }

    #[test]
    fn a_new_field_goes_after_its_canonical_predecessor() {
        let (yaml, e) = parts(COMMENTED);
        let mut new = e.meta.clone();
        new.availability
            .current_artifacts
            .push("cargo-bin:x".into());
        new.maturity.A.current = 2;
        let out = rewrite(&yaml, &e.meta, &new).expect("rewrite");
        assert!(
            out.contains("  D: {current: 2, target: 3}   # aiming for 3\n"),
            "{out}"
        );
        assert!(
            out.contains("  A:\n    current: 2\n") || out.contains("  A: {current: 2}"),
            "{out}"
        );
        assert!(
            out.contains("  - docs/x.md\navailability:\n  current_artifacts:\n  - cargo-bin:x\nnotes: \"keep me\"\n# trailing comment\n"),
            "{out}"
        );
        assert!(
            out.starts_with("# The statehub capability.\nid: capability.demo.x   # stable id\n")
        );
    }

    #[test]
    fn what_cannot_be_edited_in_place_falls_back_to_the_canonical_form() {
        let yaml = "id: capability.x\ntitle: X\nmaturity: {D: {current: 1},\n  A: {current: 0}, C: {current: 0}, R: {current: 0}}\n";
        let old: EntryMeta = typed_yaml(yaml, "x", "").expect("parse");
        let mut new = old.clone();
        new.maturity.D.current = 2;
        let out = rewrite(yaml, &old, &new).expect("rewrite");
        let back: EntryMeta = typed_yaml(&out, "x", "").expect("reparse");
        assert_eq!(back, new);
    }

    proptest::proptest! {
        /// Any sequence of changes: the rewritten front matter says exactly
        /// the new meta, the body is kept byte for byte, and the comments of
        /// what no change touched are all still there.
        #[test]
        fn rewrites_keep_untouched_comments_and_say_exactly_the_new_meta(
            changes in proptest::collection::vec((0u8..7, 0usize..3, "[a-z]{1,6}"), 1..8)
        ) {
            let (_, e) = parts(COMMENTED);
            let mut new = e.clone();
            let mut touched_d = false;
            for (what, k, w) in &changes {
                let key = ["tests", "documentation", "examples"][*k];
                match what {
                    0 => new.meta.evidence.entry(key.into()).or_default().push(format!("docs/{w}.md")),
                    1 => new.meta.availability.current_artifacts.push(format!("cargo-bin:{w}")),
                    2 => new.meta.maturity.A.current = (new.meta.maturity.A.current + 1) % 10,
                    3 => new.meta.relations.entry("depends_on".into()).or_default().push(format!("capability.{w}")),
                    4 => new.meta.consumer_feedback.push(crate::model::Feedback {
                        date: "2026-11-29".into(),
                        source: crate::model::Origin::Person,
                        text: w.clone(),
                    }),
                    5 => new.meta.notes = Some(w.clone()),
                    _ => {
                        touched_d = true;
                        new.meta.maturity.D.current = (new.meta.maturity.D.current + 1) % 10;
                    }
                }
            }
            let text = new.render_over(Some(COMMENTED.as_bytes())).expect("render");
            let back = Entry::parse(text.as_bytes(), "x.md").expect("parses");
            proptest::prop_assert_eq!(&back.meta, &new.meta);
            proptest::prop_assert!(text.ends_with("---\n# X\n\nbody  \n"));
            for c in ["# The statehub capability.", "# stable id", "# the code", "# trailing comment",
                      "# documentation", "# what proves it works", "title: 'X'"] {
                proptest::prop_assert!(text.contains(c), "{} lost:\n{}", c, text);
            }
            if !touched_d {
                proptest::prop_assert!(text.contains("# aiming for 3"), "{}", text);
            }
        }
    }
}
