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
pub(crate) struct Block {
    /// None: comments or blank lines with no key after them.
    pub(crate) key: Option<String>,
    /// Comment and blank lines above the key.
    pub(crate) lead: String,
    /// The key's line and its value's lines.
    pub(crate) body: String,
}

pub(crate) fn indent(line: &str) -> usize {
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
pub(crate) fn blocks(text: &str, col: usize) -> Option<Vec<Block>> {
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

/// The top-level fields of `old` and `new` as the merge reads them: a
/// changed field's JSON value on each side where it is written, and for a
/// field that did not change (compared typed) the same placeholder on both
/// sides, so the merge keeps its old text and nothing of it is serialized.
fn changed_values(
    old: &EntryMeta,
    new: &EntryMeta,
) -> serde_json::Result<(
    serde_json::Map<String, Value>,
    serde_json::Map<String, Value>,
)> {
    let (mut ov, mut nv) = (serde_json::Map::new(), serde_json::Map::new());
    for k in EntryMeta::FIELDS {
        if old.same_field(new, k) {
            if old.has_field(k) {
                ov.insert(k.into(), Value::Null);
                nv.insert(k.into(), Value::Null);
            }
            continue;
        }
        if let Some(v) = old.field_value(k)? {
            ov.insert(k.into(), v);
        }
        if let Some(v) = new.field_value(k)? {
            nv.insert(k.into(), v);
        }
    }
    Ok((ov, nv))
}

/// One mapping being merged: its value before and after, the column of its
/// keys, how deep it is, and its dotted path (empty at the top).
struct Mapping<'a> {
    old: &'a serde_json::Map<String, Value>,
    new: &'a serde_json::Map<String, Value>,
    col: usize,
    depth: usize,
    at: &'a str,
    /// The canonical order of the keys when the canonical text holds only
    /// some of them (the top level: only the changed fields are rendered).
    order: Option<&'a [&'a str]>,
}

/// Merge at column `m.col`: keep the blocks of `old_text` whose value is the
/// same in `old` and `new`, take `canon_text`'s block where it changed, drop
/// the removed keys, and insert the new ones after their canonical
/// predecessor. Mappings changed on both sides are merged one level deeper.
fn merge(
    old_text: &str,
    canon_text: &str,
    m: &Mapping<'_>,
    lost: &mut Vec<String>,
) -> Option<String> {
    let olds = blocks(old_text, m.col)?;
    let canon = Canon::new(canon_text, m.col)?;
    // Each old block, kept, replaced or dropped; then the new keys.
    let mut out: Vec<(Option<String>, String)> = Vec::new();
    for b in &olds {
        let Some(k) = &b.key else {
            out.push((None, b.lead.clone()));
            continue;
        };
        if let Some(body) = merge_block(b, k, m, &canon, lost)? {
            out.push((Some(k.clone()), format!("{}{body}", b.lead)));
        }
    }
    insert_new_keys(&mut out, &olds, m.new, &canon, m.order)?;
    Some(out.into_iter().map(|(_, t)| t).collect())
}

/// The canonical text's blocks, re-indented from their column to the
/// merged mapping's.
struct Canon {
    blocks: Vec<Block>,
    from: usize,
    to: usize,
}

impl Canon {
    fn new(canon_text: &str, col: usize) -> Option<Self> {
        let from = canon_text
            .lines()
            .find(|l| !l.trim().is_empty())
            .map_or(col, indent);
        Some(Self {
            blocks: blocks(canon_text, from)?,
            from,
            to: col,
        })
    }

    fn reindent(&self, s: &str) -> String {
        s.split_inclusive('\n')
            .map(|l| {
                if l.trim().is_empty() {
                    l.to_string()
                } else {
                    let i = indent(l);
                    let deeper = i.saturating_sub(self.from);
                    format!("{}{}", " ".repeat(self.to + deeper), &l[i..])
                }
            })
            .collect()
    }

    /// Key `k`'s canonical block, re-indented.
    fn of(&self, k: &str) -> Option<String> {
        self.blocks
            .iter()
            .find(|b| b.key.as_deref() == Some(k))
            .map(|b| self.reindent(&b.body))
    }
}

/// Old block `b` (key `k`) merged: Some(None) when the key was removed (its
/// comments go too, unless they lead the file); None when the merge cannot
/// be done this way.
fn merge_block(
    b: &Block,
    k: &str,
    m: &Mapping<'_>,
    canon: &Canon,
    lost: &mut Vec<String>,
) -> Option<Option<String>> {
    let path = if m.at.is_empty() {
        k.to_string()
    } else {
        format!("{}.{k}", m.at)
    };
    let first = b.body.split_inclusive('\n').next().unwrap_or("");
    let rest = &b.body[first.len()..];
    // The column of the value's first line below the key, when the
    // value is written in block style (`key:` then deeper lines).
    let child_col = rest
        .lines()
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(indent)
        .filter(|_| opens_block(first));
    let body = match (m.old.get(k), m.new.get(k)) {
        (Some(o), Some(n)) if o == n => b.body.clone(),
        (_, None) => return Some(None),
        (Some(Value::Object(om)), Some(Value::Object(nm))) if m.depth == 0 => {
            let canon_block = canon.of(k)?;
            let cfirst = canon_block.split_inclusive('\n').next().unwrap_or("");
            let crest = &canon_block[cfirst.len()..];
            match child_col {
                // Block style on both sides: merge the keys inside.
                Some(cc) if cc > m.col && !crest.is_empty() => {
                    let inner = Mapping {
                        old: om,
                        new: nm,
                        col: cc,
                        depth: m.depth + 1,
                        at: &path,
                        order: None,
                    };
                    format!("{first}{}", merge(rest, crest, &inner, lost)?)
                }
                _ => replaced(&b.body, canon_block, &path, lost),
            }
        }
        // Items appended to a block-style list: the old lines stay as
        // they are (with the comments between them), the new items
        // follow in canonical form.
        (Some(Value::Array(oa)), Some(Value::Array(na)))
            if na.len() > oa.len() && na[..oa.len()] == oa[..] =>
        {
            let canon_block = canon.of(k)?;
            match child_col.and_then(|ic| {
                appended(rest, ic, &canon_block, m.col, na.len(), na.len() - oa.len())
            }) {
                Some(more) => format!("{}{more}", b.body),
                None => replaced(&b.body, canon_block, &path, lost),
            }
        }
        _ => replaced(&b.body, canon.of(k)?, &path, lost),
    };
    Some(Some(body))
}

/// New keys, in canonical order, after the nearest preceding key present.
fn insert_new_keys(
    out: &mut Vec<(Option<String>, String)>,
    olds: &[Block],
    new: &serde_json::Map<String, Value>,
    canon: &Canon,
    order: Option<&[&str]>,
) -> Option<()> {
    let order: Vec<String> = match order {
        Some(o) => o.iter().map(|k| k.to_string()).collect(),
        None => canon.blocks.iter().filter_map(|b| b.key.clone()).collect(),
    };
    for (i, k) in order.iter().enumerate() {
        if olds.iter().any(|b| b.key.as_deref() == Some(k)) || !new.contains_key(k) {
            continue;
        }
        let text = canon.of(k)?;
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
    Some(())
}

/// Whether a key's line opens a block-style value (`key:`, maybe followed by
/// a comment), rather than holding the value itself.
pub(crate) fn opens_block(line: &str) -> bool {
    let t = line.trim_end();
    let t = match t.find(" #") {
        Some(i) => t[..i].trim_end(),
        None => t,
    };
    t.ends_with(':')
}

/// Whether `text` holds a comment: a `#` at the start of a line or after a
/// blank, outside quotes.
pub(crate) fn has_comment(text: &str) -> bool {
    text.lines().any(|line| {
        let (mut single, mut double, mut prev) = (false, false, ' ');
        for c in line.chars() {
            match c {
                '\'' if !double => single = !single,
                '"' if !single => double = !double,
                '#' if !single && !double && prev.is_whitespace() => return true,
                _ => {}
            }
            prev = c;
        }
        false
    })
}

/// `canon` in place of the old block `old`; a comment inside the old block
/// is lost, and `path` is noted in `lost`.
fn replaced(old: &str, canon: String, path: &str, lost: &mut Vec<String>) -> String {
    let first = old.split_inclusive('\n').next().unwrap_or("");
    if has_comment(&old[first.len()..]) || has_comment(first.split_once(':').map_or("", |x| x.1)) {
        lost.push(path.to_string());
    }
    canon
}

/// The last `more` of the `total` items of the canonical list block `canon`
/// (its key at column `col`), re-indented so its items stand at column `ic`
/// like the old list's. None when the canonical block is not a block-style
/// list of `total` items.
fn appended(
    old_rest: &str,
    ic: usize,
    canon: &str,
    col: usize,
    total: usize,
    more: usize,
) -> Option<String> {
    if !old_rest
        .lines()
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .is_some_and(|l| l.trim_start().starts_with('-'))
        || ic < col
    {
        return None;
    }
    let first = canon.split_inclusive('\n').next()?;
    if !opens_block(first) {
        return None;
    }
    let crest = &canon[first.len()..];
    let cic = crest.lines().find(|l| !l.trim().is_empty()).map(indent)?;
    let mut items: Vec<String> = Vec::new();
    for line in crest.split_inclusive('\n') {
        let i = indent(line);
        let shifted = if line.trim().is_empty() {
            line.to_string()
        } else {
            format!("{}{}", " ".repeat(i + ic - cic.min(i)), &line[i..])
        };
        if i == cic && line[i..].starts_with('-') {
            items.push(shifted);
        } else if let Some(last) = items.last_mut() {
            if i <= cic {
                return None;
            }
            last.push_str(&shifted);
        } else {
            return None;
        }
    }
    (items.len() == total).then(|| items[total - more..].concat())
}

/// The new front matter text: `old_yaml` (as the file had it) edited to say
/// `new`, or the canonical rendering when that is not possible. `old` is what
/// `old_yaml` parses to.
pub fn rewrite(old_yaml: &str, old: &EntryMeta, new: &EntryMeta) -> warden_core::Result<String> {
    Ok(rewrite_noting(old_yaml, old, new)?.0)
}

/// [`rewrite`], and the fields (`evidence.tests`, `notes`, …; `(front
/// matter)` when the whole of it had to be rendered again) inside whose old
/// value a comment could not be kept: a changed value is rendered in
/// canonical form unless items were appended to a block-style list, and a
/// flow-style value (`[a, b]  # …`) or a changed scalar loses the comments
/// inside it.
pub fn rewrite_noting(
    old_yaml: &str,
    old: &EntryMeta,
    new: &EntryMeta,
) -> warden_core::Result<(String, Vec<String>)> {
    if old == new {
        return Ok((old_yaml.to_string(), Vec::new()));
    }
    let all_lost = || {
        if has_comment(old_yaml) {
            vec!["(front matter)".to_string()]
        } else {
            Vec::new()
        }
    };
    let Ok((ov, nv)) = changed_values(old, new) else {
        return Ok((to_yaml(new)?, all_lost()));
    };
    // Only the changed fields are rendered (the rest is kept as written).
    let mut canon = String::new();
    for k in EntryMeta::FIELDS {
        if ov.get(k) != nv.get(k)
            && let Some(t) = new.field_yaml(k)?
        {
            canon.push_str(&t);
        }
    }
    let mut lost = Vec::new();
    let Some(mut text) = merge(
        old_yaml,
        &canon,
        &Mapping {
            old: &ov,
            new: &nv,
            col: 0,
            depth: 0,
            at: "",
            order: Some(&EntryMeta::FIELDS),
        },
        &mut lost,
    ) else {
        return Ok((to_yaml(new)?, all_lost()));
    };
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    // Checked: it must say exactly `new`. Block by block when the text
    // allows it (only the changed fields are parsed), else the whole of it.
    if said_by_blocks(old_yaml, &ov, &text, &nv, &canon) {
        return Ok((text, lost));
    }
    match typed_yaml::<EntryMeta>(&text, "(rewrite)", "") {
        Ok(back) if &back == new => Ok((text, lost)),
        _ => Ok((to_yaml(new)?, all_lost())),
    }
}

/// Whether `text` holds something that ties one key's value to text outside
/// its block: an anchor or alias (`&a`, `*a`), or a block scalar that keeps
/// its trailing blank lines (`|+`, `>+`), whose value depends on the blank
/// lines that follow it. Conservative: an `&` or `*` starting a word inside
/// a quoted string counts too (it only costs the whole-text check).
pub(crate) fn entangled(text: &str) -> bool {
    text.lines().any(|line| {
        let t = line.trim_start();
        if t.starts_with('#') {
            return false;
        }
        let b = t.as_bytes();
        b.iter().enumerate().any(|(i, &c)| {
            let starts = i == 0 || matches!(b[i - 1], b' ' | b'\t' | b'[' | b'{' | b',');
            match c {
                b'&' | b'*' => starts,
                b'|' | b'>' if starts => t[i + 1..]
                    .split(|ch: char| ch.is_whitespace() || ch == '#')
                    .next()
                    .is_some_and(|header| header.contains('+')),
                _ => false,
            }
        })
    })
}

/// The top-level blocks of `text` by key; None when a key repeats or the
/// text does not split into blocks.
fn keyed(text: &str) -> Option<std::collections::BTreeMap<String, String>> {
    let mut out = std::collections::BTreeMap::new();
    for b in blocks(text, 0)? {
        if let Some(k) = b.key
            && out.insert(k, b.body).is_some()
        {
            return None;
        }
    }
    Some(out)
}

/// The rewrite's check without parsing what it kept: `text` says exactly
/// `new` when its top-level blocks are one per field of `new`, every block
/// kept byte for byte from `old_yaml` holds a field that did not change, and
/// every other block, parsed alone, says that field's new value. That reading
/// holds only when each block's value depends on its own lines alone (no
/// anchors, aliases or keep-chomping block scalars: [`entangled`]) and the
/// old text's blocks are exactly the fields it parsed to; otherwise this
/// answers false and the caller parses the whole text back. A block that is
/// exactly the field's canonical rendering (`canon`) is not parsed either:
/// rendering is a fixed point of parsing (unit and property tests).
fn said_by_blocks(
    old_yaml: &str,
    old: &serde_json::Map<String, Value>,
    text: &str,
    new: &serde_json::Map<String, Value>,
    canon: &str,
) -> bool {
    if entangled(old_yaml) || entangled(text) {
        return false;
    }
    let (Some(olds), Some(news)) = (keyed(old_yaml), keyed(text)) else {
        return false;
    };
    let same_keys = |blocks: &std::collections::BTreeMap<String, String>,
                     fields: &serde_json::Map<String, Value>| {
        blocks.len() == fields.len() && blocks.keys().all(|k| fields.contains_key(k))
    };
    if !same_keys(&olds, old) || !same_keys(&news, new) {
        return false;
    }
    let canon = keyed(canon).unwrap_or_default();
    news.iter().all(|(k, body)| {
        if olds.get(k) == Some(body) && old.get(k) == new.get(k) {
            return true;
        }
        if canon.get(k) == Some(body) {
            return true;
        }
        match warden_core::strict::from_yaml_str::<Value>(body) {
            Ok(Value::Object(m)) => m.len() == 1 && m.get(k) == new.get(k),
            _ => false,
        }
    })
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
                "  tests:\n  - tests/x.rs   # unit\n  - tests/y.rs\n"
            ),
            "only the new item is written; every other line stays"
        );
    }

    /// Regression: appending to a list lost the comments between its
    /// earlier items (the whole list was rendered again).
    #[test]
    fn comments_between_list_items_survive_an_appended_item() {
        let text = "---\nid: capability.demo.x\ntitle: X\nmaturity:\n  D: {current: 1}\n  A: {current: 0}\n  C: {current: 0}\n  R: {current: 0}\nevidence:\n  tests:\n    # the fast ones\n    - tests/a.rs   # unit\n\n    # the slow ones\n    - tests/b.rs\n---\nbody\n";
        let (yaml, e) = parts(text);
        let mut new = e.meta.clone();
        new.evidence
            .get_mut("tests")
            .expect("tests")
            .push("tests/c.rs".into());
        new.promotion_history.push(crate::model::Promotion {
            from: crate::model::Vector([1, 0, 0, 0]),
            to: crate::model::Vector([1, 0, 1, 0]),
            date: "2026-11-29".into(),
            evidence_citations: vec!["tests/a.rs".into()],
            source: crate::model::Origin::Person,
            run: None,
        });
        let (out, lost) = rewrite_noting(&yaml, &e.meta, &new).expect("rewrite");
        assert_eq!(
            out,
            yaml.replace(
                "    - tests/b.rs\n",
                "    - tests/b.rs\n    - tests/c.rs\npromotion_history:\n- from: D1/A0/C0/R0\n  to: D1/A0/C1/R0\n  date: \"2026-11-29\"\n  evidence_citations:\n  - tests/a.rs\n  source: person\n"
            )
        );
        assert!(lost.is_empty(), "{lost:?}");
        // Appended again, to a list at the key's own column.
        let mut again = new.clone();
        again
            .promotion_history
            .push(new.promotion_history[0].clone());
        let (out2, lost) = rewrite_noting(&out, &new, &again).expect("rewrite");
        assert!(out2.starts_with(&out), "the old lines stay: {out2}");
        assert!(lost.is_empty());
        let back: EntryMeta = typed_yaml(&out2, "x", "").expect("reparse");
        assert_eq!(back, again);
    }

    /// Where a comment cannot be kept (a flow-style list, a changed
    /// scalar), the rewrite says which field lost it.
    #[test]
    fn a_comment_that_cannot_be_kept_is_named() {
        let (yaml, e) = parts(COMMENTED);
        let mut new = e.meta.clone();
        new.paths.push("src/y/**".into());
        new.maturity.D.current = 3;
        let (out, lost) = rewrite_noting(&yaml, &e.meta, &new).expect("rewrite");
        assert_eq!(lost, vec!["maturity.D".to_string(), "paths".to_string()]);
        assert!(!out.contains("# the code") && !out.contains("# aiming for 3"));
        assert!(out.contains("# stable id") && out.contains("# unit"));
        let (_, lost) = rewrite_noting(&yaml, &e.meta, &e.meta).expect("same");
        assert!(lost.is_empty());
    }

    #[test]
    fn anchors_aliases_and_kept_blank_lines_tie_blocks_together() {
        for tied in [
            "a: &x 1\nb: *x\n",
            "paths: [&p src/**]\n",
            "notes: |+\n  text\n\n",
            "notes: >2+\n  text\n",
        ] {
            assert!(entangled(tied), "{tied}");
        }
        for free in [
            "paths:\n- src/**\n- 'docs/**'\n",
            "notes: |\n  a&b, 2*3\n",
            "title: X # not an alias\n",
        ] {
            assert!(!entangled(free), "{free}");
        }
    }

    /// The block-by-block check never accepts what the whole-text parse
    /// would refuse: with an anchor in the old text, an edit that would
    /// break its alias is caught (the whole-text parse decides).
    #[test]
    fn an_edit_that_breaks_an_alias_falls_back_to_the_canonical_form() {
        let yaml = "id: capability.x\ntitle: &t X\nnotes: *t\nmaturity:\n  D: {current: 1}\n  A: {current: 0}\n  C: {current: 0}\n  R: {current: 0}\n";
        let old: EntryMeta = typed_yaml(yaml, "x", "").expect("parse");
        assert_eq!(old.notes.as_deref(), Some("X"));
        let mut new = old.clone();
        new.title = "Y".into();
        let out = rewrite(yaml, &old, &new).expect("rewrite");
        let back: EntryMeta = typed_yaml(&out, "x", "").expect("reparse");
        assert_eq!(back, new);
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
