//! A line scanner for a meta file's top-level `type:` and `location:`,
//! without a YAML parser. Its answer is a *hint* of where a document meta's
//! document lives; it is trusted only when the document's stamp confirms it
//! ([`crate::render::in_step`] covers the target path and the meta's bytes),
//! so a wrong hint costs a full parse, never a wrong answer. Anything the
//! scanner is not sure about (flow mappings, anchors, tags, escapes, a key
//! written twice, a multi-document file) gives no hint.

/// What the scanner read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint<'a> {
    pub type_name: &'a str,
    pub location: Option<&'a str>,
}

/// The value of a top-level `key: value` line, when it is a plain or simply
/// quoted scalar. `Some(None)` is an empty (null) value.
fn scalar(v: &str) -> Option<Option<&str>> {
    let v = v.trim_start_matches([' ', '\t']);
    let rest_ok = |r: &str| {
        let r = r.trim_start_matches([' ', '\t']);
        r.is_empty() || r.starts_with('#')
    };
    if let Some(q) = v.strip_prefix('"') {
        let end = q.find('"')?;
        let inner = &q[..end];
        return (!inner.contains('\\') && rest_ok(&q[end + 1..])).then_some(Some(inner));
    }
    if let Some(q) = v.strip_prefix('\'') {
        let end = q.find('\'')?;
        return rest_ok(&q[end + 1..]).then_some(Some(&q[..end]));
    }
    // A plain scalar ends at " #" (a comment).
    let plain = match v.find(" #").or_else(|| v.find("\t#")) {
        Some(i) => &v[..i],
        None => v,
    }
    .trim_end();
    if plain.is_empty() || plain.starts_with('#') {
        return Some(None);
    }
    let first = plain.chars().next()?;
    if "[]{}&*!|>%@`\"',".contains(first) || plain.contains(": ") || plain.ends_with(':') {
        return None;
    }
    if matches!(plain, "~" | "null" | "Null" | "NULL") {
        return Some(None);
    }
    Some(Some(plain))
}

/// The top-level `type` and `location` of a meta file, or `None` when the
/// scanner cannot be sure.
pub fn hint(text: &str) -> Option<Hint<'_>> {
    let mut type_name = None;
    let mut location: Option<Option<&str>> = None;
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("---") || line.starts_with("...") || line.starts_with('%') {
            // A directive or a document marker: only a leading "---" is simple.
            if i == 0 && line.trim_end() == "---" {
                continue;
            }
            return None;
        }
        if let Some(v) = line.strip_prefix("type:") {
            if type_name.is_some() {
                return None;
            }
            type_name = Some(scalar(v)??);
        } else if let Some(v) = line.strip_prefix("location:") {
            if location.is_some() {
                return None;
            }
            location = Some(scalar(v)?);
        } else if line.starts_with(['{', '[', '?', '&', '!', '*', '"', '\'']) {
            // A flow or complex top level: not for a line scanner.
            return None;
        }
    }
    Some(Hint {
        type_name: type_name?,
        location: location.flatten(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_plain_quoted_and_commented_values() {
        let h = hint(
            "location: \"/\"  # where\n\ntype: root_readme\nproject:\n  name: X\n  type: nested\n",
        )
        .expect("hint");
        assert_eq!(h.type_name, "root_readme");
        assert_eq!(h.location, Some("/"));
        let h = hint("type: 'subsystem_readme' # c\nlocation:\n").expect("hint");
        assert_eq!((h.type_name, h.location), ("subsystem_readme", None));
        let h = hint("---\ntype: doc_architecture\nlocation: docs/a.md\n").expect("hint");
        assert_eq!(h.location, Some("docs/a.md"));
    }

    #[test]
    fn gives_up_when_unsure() {
        for t in [
            "{type: root_readme}\n",
            "type: root_readme\ntype: other\n",
            "type: &a root_readme\n",
            "type: \"a\\u0041\"\n",
            "location: [a]\ntype: root_readme\n",
            "type: root_readme\n---\ntype: x\n",
            "\"type\": root_readme\n",
            "project: {}\n",
        ] {
            assert_eq!(hint(t), None, "{t}");
        }
    }
}
