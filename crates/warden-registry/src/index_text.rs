//! Writing the index `registry/indexes/capabilities.yaml` in place: the
//! rows a patch did not change are kept byte for byte with their comments,
//! blank lines and quoting; a changed row is written in canonical form where
//! it stood (a comment inside it is lost and named), a new row in canonical
//! form at its place in the row order, and `updated:` gets the new date
//! with its line's trailing comment kept.
//!
//! Only what changed is rendered and checked: each changed row, parsed
//! alone, must say the new row, and the `updated` line the new date. When
//! the text has a shape this line-based editor does not follow (a flow-style
//! list of rows, an anchor or alias, a key the index does not have, a row
//! list that does not split into one item per row), the whole index is
//! written in canonical form instead, and the loss of its comments is named
//! `(index)`.

use crate::frontmatter::{blocks, entangled, has_comment, indent, opens_block};
use crate::model::{Index, IndexRow, field_yaml, to_yaml};
use std::collections::HashMap;
use warden_core::{Result, strict};

/// The first line the canonical rendering writes (see [`Index::render`]).
const HEADER: &str = "# yaml-language-server:";

/// The index text `old_text` (which parses to `old`) edited to say `new`,
/// and where a comment could not be kept: `capabilities[ID]` for a row
/// rewritten or removed with a comment inside it, `(index)` when the whole
/// index had to be rendered again.
pub fn rewrite(old_text: &str, old: &Index, new: &Index) -> Result<(String, Vec<String>)> {
    if old == new {
        return Ok((old_text.to_string(), Vec::new()));
    }
    if let Some(done) = edit(old_text, old, new)? {
        return Ok(done);
    }
    let own_comment = old_text
        .lines()
        .filter(|l| !l.starts_with(HEADER))
        .any(has_comment);
    let lost = if own_comment {
        vec!["(index)".to_string()]
    } else {
        Vec::new()
    };
    Ok((new.render()?, lost))
}

/// The in-place edit, or None when the text's shape does not allow it.
fn edit(old_text: &str, old: &Index, new: &Index) -> Result<Option<(String, Vec<String>)>> {
    if entangled(old_text) {
        return Ok(None);
    }
    let Some(top) = blocks(old_text, 0) else {
        return Ok(None);
    };
    let (mut out, mut lost) = (String::with_capacity(old_text.len() + 256), Vec::new());
    let (mut updated, mut capabilities) = (false, false);
    for b in &top {
        out.push_str(&b.lead);
        let piece = match b.key.as_deref() {
            None => Some(String::new()),
            Some("updated") if !updated => {
                updated = true;
                if old.updated == new.updated {
                    Some(b.body.clone())
                } else {
                    updated_line(&b.body, &new.updated)?
                }
            }
            Some("capabilities") if !capabilities => {
                capabilities = true;
                if old.capabilities == new.capabilities {
                    Some(b.body.clone())
                } else {
                    rows(&b.body, old, new, &mut lost)?
                }
            }
            _ => None,
        };
        let Some(piece) = piece else { return Ok(None) };
        out.push_str(&piece);
    }
    if !updated || !capabilities {
        return Ok(None);
    }
    Ok(Some((out, lost)))
}

/// Where the comment of a YAML line starts (the blanks before its `#`),
/// outside quotes; None when it has none.
fn comment_start(line: &str) -> Option<usize> {
    let (mut single, mut double, mut prev) = (false, false, ' ');
    for (i, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && prev.is_whitespace() => {
                return Some(line[..i].trim_end().len());
            }
            _ => {}
        }
        prev = c;
    }
    None
}

/// `updated: DATE` in canonical form, keeping the old line's trailing
/// comment; None when the old value is not on one line or the new line does
/// not parse back to the date.
fn updated_line(body: &str, date: &str) -> Result<Option<String>> {
    if body.trim_end().contains('\n') {
        return Ok(None);
    }
    let canon = field_yaml("updated", date)?;
    let mut line = canon.trim_end_matches('\n').to_string();
    let old = body.trim_end_matches(['\n', '\r']);
    if let Some(at) = comment_start(old) {
        line.push_str(&old[at..]);
    }
    line.push('\n');
    let back = strict::from_yaml_str::<HashMap<String, String>>(&line).ok();
    let says =
        back.is_some_and(|m| m.len() == 1 && m.get("updated").map(String::as_str) == Some(date));
    Ok(says.then_some(line))
}

/// The `updated` date an index text says (its `updated:` line parsed
/// alone); None when it has no such line.
pub(crate) fn updated_of(text: &str) -> Option<String> {
    let line = text.lines().find(|l| l.starts_with("updated:"))?;
    strict::from_yaml_str::<HashMap<String, String>>(line)
        .ok()?
        .remove("updated")
}

/// One old row's text: the comment and blank lines above it, and its lines.
struct Item {
    lead: String,
    body: String,
}

/// The old row list's items (block style, each `-` at column `ic`), and the
/// comment and blank lines after the last one. None when it does not split so.
fn items(rest: &str) -> Option<(usize, Vec<Item>, String)> {
    let ic = rest
        .lines()
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(indent)?;
    let (mut out, mut lead): (Vec<Item>, String) = (Vec::new(), String::new());
    for line in rest.split_inclusive('\n') {
        let t = line.trim();
        let col = indent(line);
        if t.is_empty() || (t.starts_with('#') && col <= ic) {
            lead.push_str(line);
        } else if col == ic && line[ic..].starts_with('-') {
            out.push(Item {
                lead: std::mem::take(&mut lead),
                body: line.to_string(),
            });
        } else if col > ic
            && let Some(last) = out.last_mut()
        {
            last.body.push_str(&std::mem::take(&mut lead));
            last.body.push_str(line);
        } else {
            return None;
        }
    }
    Some((ic, out, lead))
}

/// A row in canonical form with its `-` at column `ic`, checked to parse
/// back to the row; None when it does not.
fn canonical_row(row: &IndexRow, ic: usize) -> Result<Option<String>> {
    let text = to_yaml(&[row])?;
    let pad = " ".repeat(ic);
    let text: String = text
        .split_inclusive('\n')
        .map(|l| {
            if l.trim().is_empty() {
                l.to_string()
            } else {
                format!("{pad}{l}")
            }
        })
        .collect();
    let back = strict::from_yaml_str::<Vec<IndexRow>>(&text).ok();
    Ok((back.as_deref() == Some(std::slice::from_ref(row))).then_some(text))
}

/// The `capabilities:` block edited row by row (rows matched by id): an
/// unchanged row keeps its text, a changed or new one is written in
/// canonical form. None when the block's shape does not allow it.
fn rows(body: &str, old: &Index, new: &Index, lost: &mut Vec<String>) -> Result<Option<String>> {
    let first = body.split_inclusive('\n').next().unwrap_or("");
    let rest = &body[first.len()..];
    let has_items = rest
        .lines()
        .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    if !opens_block(first) || !has_items {
        // `capabilities: []` (as `init` writes it) or no rows: the rows go
        // in canonical form; the key line's comment is lost.
        if !old.capabilities.is_empty() || has_items {
            return Ok(None);
        }
        if first.split_once(':').is_some_and(|(_, v)| has_comment(v)) {
            lost.push("capabilities".into());
        }
        let mut text = field_yaml("capabilities", &new.capabilities)?;
        text.push_str(rest);
        return Ok(Some(text));
    }
    let Some((ic, olds, tail)) = items(rest) else {
        return Ok(None);
    };
    if olds.len() != old.capabilities.len() {
        return Ok(None);
    }
    let mut at: HashMap<&str, usize> = HashMap::with_capacity(olds.len());
    for (i, r) in old.capabilities.iter().enumerate() {
        if at.insert(r.id.as_str(), i).is_some() {
            return Ok(None);
        }
    }
    let mut used = vec![false; olds.len()];
    let mut out = String::with_capacity(body.len() + 128);
    out.push_str(first);
    for row in &new.capabilities {
        let kept = at.get(row.id.as_str()).copied().filter(|&i| !used[i]);
        if let Some(i) = kept {
            used[i] = true;
            out.push_str(&olds[i].lead);
            if old.capabilities[i] == *row {
                out.push_str(&olds[i].body);
                continue;
            }
            if has_comment(&olds[i].body) {
                lost.push(format!("capabilities[{}]", row.id));
            }
        }
        let Some(text) = canonical_row(row, ic)? else {
            return Ok(None);
        };
        out.push_str(&text);
    }
    for (i, gone) in used.iter().enumerate() {
        if !gone && has_comment(&format!("{}{}", olds[i].lead, olds[i].body)) {
            lost.push(format!("capabilities[{}]", old.capabilities[i].id));
        }
    }
    out.push_str(&tail);
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Vector;

    const COMMENTED: &str = "# The capability index (kept by hand and by warden).\nupdated: \"2026-01-01\"   # bumped on every write\n\ncapabilities:\n# -- storage --\n- id: capability.demo.a   # the first one\n  entry: registry/capabilities/a.md\n  vector: D1/A0/C1/R0\n\n# -- api --\n- id: capability.demo.b\n  # mirrored from the entry\n  entry: 'registry/capabilities/b.md'\n  vector: D1/A0/C0/R0\n- {id: capability.demo.d, entry: registry/capabilities/d.md, vector: D0/A0/C0/R0}  # flow\n# the end\n";

    fn parse(text: &str) -> Index {
        Index::parse(text.as_bytes(), "x.yaml").expect("parse")
    }

    /// One row's vector changes: only that row's lines (and `updated`'s
    /// value) differ; every comment and the other rows stay byte for byte.
    #[test]
    fn one_changed_vector_rewrites_only_its_row() {
        let old = parse(COMMENTED);
        let mut new = old.clone();
        new.updated = "2026-11-29".into();
        new.capabilities[1].vector = Vector([2, 0, 0, 0]);
        let (text, lost) = rewrite(COMMENTED, &old, &new).expect("rewrite");
        let want = COMMENTED
            .replace("\"2026-01-01\"", "\"2026-11-29\"")
            .replace(
                "- id: capability.demo.b\n  # mirrored from the entry\n  entry: 'registry/capabilities/b.md'\n  vector: D1/A0/C0/R0\n",
                "- id: capability.demo.b\n  entry: registry/capabilities/b.md\n  vector: D2/A0/C0/R0\n",
            );
        assert_eq!(text, want);
        assert_eq!(lost, vec!["capabilities[capability.demo.b]".to_string()]);
        assert_eq!(parse(&text), new);
    }

    #[test]
    fn a_new_row_goes_in_its_place_and_the_rest_stays() {
        let old = parse(COMMENTED);
        let mut new = old.clone();
        new.capabilities.push(IndexRow {
            id: "capability.demo.c".into(),
            entry: "registry/capabilities/c.md".into(),
            vector: Vector([0, 0, 0, 0]),
        });
        new.capabilities.sort_by(|a, b| a.id.cmp(&b.id));
        let (text, lost) = rewrite(COMMENTED, &old, &new).expect("rewrite");
        assert_eq!(
            text,
            COMMENTED.replace(
                "- {id: capability.demo.d",
                "- id: capability.demo.c\n  entry: registry/capabilities/c.md\n  vector: D0/A0/C0/R0\n- {id: capability.demo.d"
            )
        );
        assert!(lost.is_empty(), "{lost:?}");
        assert_eq!(parse(&text), new);
    }

    #[test]
    fn an_empty_flow_list_from_init_takes_its_first_row() {
        let fresh = Index {
            updated: "2026-01-01".into(),
            capabilities: Vec::new(),
        }
        .render()
        .expect("render");
        let old = parse(&fresh);
        let mut new = old.clone();
        new.capabilities.push(IndexRow {
            id: "capability.demo.a".into(),
            entry: "registry/capabilities/a.md".into(),
            vector: Vector([1, 0, 0, 0]),
        });
        let (text, lost) = rewrite(&fresh, &old, &new).expect("rewrite");
        assert_eq!(text, new.render().expect("render"));
        assert!(lost.is_empty());
    }

    #[test]
    fn a_shape_it_does_not_follow_falls_back_to_the_canonical_form() {
        let flow = "# mine\nupdated: \"2026-01-01\"\ncapabilities: [{id: capability.demo.a, entry: registry/capabilities/a.md, vector: D1/A0/C1/R0}]\n";
        let old = parse(flow);
        let mut new = old.clone();
        new.capabilities[0].vector = Vector([2, 0, 1, 0]);
        let (text, lost) = rewrite(flow, &old, &new).expect("rewrite");
        assert_eq!(text, new.render().expect("render"));
        assert_eq!(lost, vec!["(index)".to_string()]);
    }

    proptest::proptest! {
        /// Any set of vector changes and new rows: the text says exactly the
        /// new index, and every untouched row's lines are still there.
        #[test]
        fn in_place_edits_say_exactly_the_new_index(
            bumps in proptest::collection::vec((0usize..3, 0u8..10), 0..4),
            added in proptest::collection::vec("[a-z]{1,5}", 0..3),
            date in proptest::bool::ANY,
        ) {
            let old = parse(COMMENTED);
            let mut new = old.clone();
            if date {
                new.updated = "2026-11-29".into();
            }
            for (i, l) in &bumps {
                new.capabilities[*i].vector = Vector([*l, 0, 0, 0]);
            }
            for w in &added {
                if new.capabilities.iter().all(|r| r.id != format!("capability.new.{w}")) {
                    new.capabilities.push(IndexRow {
                        id: format!("capability.new.{w}"),
                        entry: format!("registry/capabilities/{w}.md"),
                        vector: Vector([0, 0, 0, 0]),
                    });
                }
            }
            new.capabilities.sort_by(|a, b| a.id.cmp(&b.id));
            let (text, _) = rewrite(COMMENTED, &old, &new).expect("rewrite");
            proptest::prop_assert_eq!(parse(&text), new.clone());
            for c in ["# The capability index", "# bumped on every write", "# -- storage --", "# -- api --", "# the end"] {
                proptest::prop_assert!(text.contains(c), "{} lost:\n{}", c, text);
            }
            for (i, r) in old.capabilities.iter().enumerate() {
                if new.capabilities.iter().any(|n| n == r) && i == 0 {
                    proptest::prop_assert!(text.contains("- id: capability.demo.a   # the first one\n"));
                }
            }
        }
    }
}
