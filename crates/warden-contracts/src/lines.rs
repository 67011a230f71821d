//! The line of a meta file that holds a field, found by the field's YAML
//! path (`configuration.env_vars_required[0]`), not by searching the text:
//! a value's text can occur earlier in the file (`NAME` inside "PROJECT
//! NAME", a comment that mentions `location`), and a gap (and its SARIF
//! alert) must point at the field itself.
//!
//! The file is read as YAML events with their source spans (the parser
//! `serde-saphyr` is built on, re-exported by it), so block and flow style,
//! comments, quoting and multi-line scalars are the parser's business. A
//! mapping key is found at the key's line, a sequence item at the item's.
//! A path that is not in the file (a required field left out) gives the
//! line of its deepest ancestor that is; an unreadable file gives none.

use serde_saphyr::granit_parser::{Event, Parser};

/// One step of a field path: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

/// `a.b[2].c` (a leading `.` allowed) as its steps; `None` when it is not
/// such a path.
fn segments(field: &str) -> Option<Vec<Seg>> {
    let mut out = Vec::new();
    for part in field.trim_start_matches('.').split('.') {
        let (key, mut rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if !key.is_empty() {
            out.push(Seg::Key(key.to_string()));
        }
        if !rest.is_empty() {
            rest = rest.strip_suffix(']')?;
            for i in rest.split("][") {
                out.push(Seg::Index(i.parse().ok()?));
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

/// An open mapping or sequence, at `path`.
struct Frame {
    path: Vec<Seg>,
    kind: Kind,
    /// The collection is itself a mapping key (a complex key).
    is_key: bool,
}

enum Kind {
    /// `key` is the key whose value comes next, when `expect_key` is false.
    Map {
        key: Seg,
        expect_key: bool,
    },
    Seq {
        next: usize,
    },
}

/// A key no field path names (a complex key, a key that is not text).
fn opaque() -> Seg {
    Seg::Key("\0".into())
}

impl Frame {
    /// The path of the node that comes next in value position.
    fn child(&self) -> Vec<Seg> {
        let mut p = self.path.clone();
        p.push(match &self.kind {
            Kind::Map { key, .. } => key.clone(),
            Kind::Seq { next } => Seg::Index(*next),
        });
        p
    }

    fn expects_key(&self) -> bool {
        matches!(
            self.kind,
            Kind::Map {
                expect_key: true,
                ..
            }
        )
    }

    /// The key whose value comes next.
    fn keyed(&mut self, k: Seg) {
        if let Kind::Map { key, expect_key } = &mut self.kind {
            *key = k;
            *expect_key = false;
        }
    }

    /// A value (or sequence item) is complete.
    fn advance(&mut self) {
        match &mut self.kind {
            Kind::Map { expect_key, .. } => *expect_key = true,
            Kind::Seq { next } => *next += 1,
        }
    }
}

/// The 1-based line of `field` (a path such as `testing.commands[0]`) in
/// the YAML `text`: the key's line for a mapping entry, the item's for a
/// sequence item; when the path is not in the file, its deepest ancestor's
/// line; `None` when no part of it is there or the text is not YAML.
pub fn line_of_field(text: &str, field: &str) -> Option<usize> {
    let target = segments(field)?;
    let is_prefix = |p: &[Seg]| !p.is_empty() && p.len() < target.len() && target.starts_with(p);
    // The deepest ancestor seen, and its depth: a mapping entry's key line
    // stands for its value (a block mapping value starts a line below).
    let mut best: Option<usize> = None;
    let mut best_len = 0;
    let mut stack: Vec<Frame> = Vec::new();
    for ev in Parser::new_from_str(text) {
        let Ok((ev, span)) = ev else {
            return best;
        };
        let line = span.start.line();
        match ev {
            Event::Scalar(..) | Event::Alias(..) => {
                let Some(top) = stack.last_mut() else {
                    continue;
                };
                if top.expects_key() {
                    let k = match &ev {
                        Event::Scalar(v, ..) => Seg::Key(v.to_string()),
                        _ => opaque(),
                    };
                    let mut p = top.path.clone();
                    p.push(k.clone());
                    if p == target {
                        return Some(line);
                    }
                    if is_prefix(&p) && p.len() > best_len {
                        (best, best_len) = (Some(line), p.len());
                    }
                    top.keyed(k);
                } else {
                    if top.child() == target {
                        return Some(line);
                    }
                    top.advance();
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let (path, is_key) = match stack.last_mut() {
                    None => (Vec::new(), false),
                    Some(top) if top.expects_key() => {
                        let mut p = top.path.clone();
                        p.push(opaque());
                        (p, true)
                    }
                    Some(top) => (top.child(), false),
                };
                if path == target {
                    return Some(line);
                }
                if is_prefix(&path) && path.len() > best_len {
                    (best, best_len) = (Some(line), path.len());
                }
                let kind = if matches!(ev, Event::MappingStart(..)) {
                    Kind::Map {
                        key: opaque(),
                        expect_key: true,
                    }
                } else {
                    Kind::Seq { next: 0 }
                };
                stack.push(Frame { path, kind, is_key });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let done = stack.pop();
                if let Some(top) = stack.last_mut() {
                    if done.is_some_and(|f| f.is_key) {
                        top.keyed(opaque());
                    } else {
                        top.advance();
                    }
                }
            }
            Event::DocumentEnd => break,
            _ => {}
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_into_keys_and_indexes() {
        assert_eq!(
            segments(".a.b[2][0].c"),
            Some(vec![
                Seg::Key("a".into()),
                Seg::Key("b".into()),
                Seg::Index(2),
                Seg::Index(0),
                Seg::Key("c".into())
            ])
        );
        assert_eq!(segments(""), None);
        assert_eq!(segments("a[x]"), None);
    }

    #[test]
    fn block_flow_comments_and_missing_fields() {
        let text = "\
# project NAME: a comment
project:
  name: PROJECT NAME
  tags: [a, b]
configuration:
  note: |
    env_vars_required:
      - NAME
  env_vars_required:
    - NAME
    - {name: X, why: y}
? [complex, key]
: value
after: 1
";
        let at = |f: &str| line_of_field(text, f);
        assert_eq!(at("project"), Some(2));
        assert_eq!(at("project.name"), Some(3));
        assert_eq!(at("project.tags[1]"), Some(4));
        assert_eq!(at("configuration.env_vars_required"), Some(9));
        assert_eq!(at("configuration.env_vars_required[0]"), Some(10));
        assert_eq!(at("configuration.env_vars_required[1].why"), Some(11));
        assert_eq!(at("after"), Some(14));
        // Not in the file: the deepest ancestor that is.
        assert_eq!(at("project.owner"), Some(2));
        assert_eq!(at("configuration.env_vars_required[5]"), Some(9));
        assert_eq!(at("nothing.here"), None);
        assert_eq!(line_of_field("a: [unclosed", "a"), Some(1));
    }
}
