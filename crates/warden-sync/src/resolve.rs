//! Deterministic resolvers for paths git cannot merge (the built-in answers to
//! the MergeConflict event). A resolver either returns the full resolved
//! content or says why it cannot; it never guesses. What no resolver settles
//! goes to the quarantine branch, never to the sync branch.

use serde_json::Value;
use std::collections::BTreeMap;

/// The three sides of a conflicted path (`None` = absent on that side).
#[derive(Debug, Clone, Default)]
pub struct Sides {
    /// The merge base's version (None when absent there).
    pub base: Option<Vec<u8>>,
    /// The local side's version (None when absent).
    pub ours: Option<Vec<u8>>,
    /// The upstream's version (None when absent).
    pub theirs: Option<Vec<u8>>,
}

fn lines(b: &[u8]) -> Vec<&[u8]> {
    let mut v: Vec<&[u8]> = b.split(|c| *c == b'\n').collect();
    if v.last().is_some_and(|l| l.is_empty()) {
        v.pop();
    }
    v
}

/// The identity of one entry: its `id`, else its `run`, else the whole line.
fn entry_id(line: &[u8], side: &str, n: usize) -> Result<String, String> {
    // Strict: a line repeating its `id` key must not pick its own identity.
    let v: Value = warden_core::strict::parse_json(line, side)
        .map_err(|e| format!("{side} line {}: not JSON ({e})", n + 1))?;
    let Value::Object(map) = &v else {
        return Err(format!("{side} line {}: not a JSON object", n + 1));
    };
    for key in ["id", "run"] {
        match map.get(key) {
            Some(Value::String(s)) => return Ok(format!("{key}:{s}")),
            Some(Value::Number(x)) => return Ok(format!("{key}:{x}")),
            _ => {}
        }
    }
    Ok(format!("line:{}", String::from_utf8_lossy(line)))
}

/// Union of an append-only JSONL file: the base must be a prefix of both
/// sides; the result is ours, then theirs' new entries whose id ours lacks,
/// in their order. The same id with different content is a real conflict.
pub fn union_jsonl(s: &Sides) -> Result<Vec<u8>, String> {
    let (Some(ours), Some(theirs)) = (&s.ours, &s.theirs) else {
        return Err("deleted on one side; a union needs both".into());
    };
    let base = s.base.as_deref().unwrap_or(b"");
    let (b, o, t) = (lines(base), lines(ours), lines(theirs));
    for (side, l) in [("ours", &o), ("theirs", &t)] {
        if l.len() < b.len() || l[..b.len()] != b[..] {
            return Err(format!(
                "not append-only: {side} rewrote lines of the common base"
            ));
        }
    }
    let mut seen: BTreeMap<String, &[u8]> = BTreeMap::new();
    let mut out: Vec<u8> = Vec::with_capacity(ours.len() + theirs.len());
    for (n, line) in o.iter().enumerate() {
        if line.is_empty() {
            continue;
        }
        let id = entry_id(line, "ours", n)?;
        if let Some(prev) = seen.insert(id.clone(), line)
            && prev != *line
        {
            return Err(format!("ours holds two different entries with {id}"));
        }
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    for (n, line) in t.iter().enumerate().skip(b.len()) {
        if line.is_empty() {
            continue;
        }
        let id = entry_id(line, "theirs", n)?;
        match seen.get(&id) {
            Some(prev) if prev == line => {}
            Some(_) => {
                return Err(format!("entry {id} differs between ours and theirs"));
            }
            None => {
                seen.insert(id, line);
                out.extend_from_slice(line);
                out.push(b'\n');
            }
        }
    }
    Ok(out)
}

/// True when the content still holds a conflict marker at a line start.
pub fn has_conflict_markers(b: &[u8]) -> bool {
    lines(b)
        .iter()
        .any(|l| l.starts_with(b"<<<<<<< ") || l.starts_with(b">>>>>>> ") || *l == b"=======")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sides(base: &str, ours: &str, theirs: &str) -> Sides {
        Sides {
            base: Some(base.as_bytes().to_vec()),
            ours: Some(ours.as_bytes().to_vec()),
            theirs: Some(theirs.as_bytes().to_vec()),
        }
    }

    #[test]
    fn union_keeps_ours_then_theirs_new_entries() {
        let s = sides(
            "{\"id\":1}\n",
            "{\"id\":1}\n{\"id\":2,\"x\":\"o\"}\n",
            "{\"id\":1}\n{\"id\":3}\n{\"id\":2,\"x\":\"o\"}\n",
        );
        let out = union_jsonl(&s).expect("union");
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "{\"id\":1}\n{\"id\":2,\"x\":\"o\"}\n{\"id\":3}\n"
        );
    }

    #[test]
    fn union_is_keyed_by_run_when_there_is_no_id() {
        let s = sides("", "{\"run\":\"A\"}\n", "{\"run\":\"B\"}\n");
        let out = union_jsonl(&s).expect("union");
        assert_eq!(out, b"{\"run\":\"A\"}\n{\"run\":\"B\"}\n");
    }

    #[test]
    fn union_refuses_rewrites_same_id_different_content_and_non_json() {
        let rewrite = sides("{\"id\":1}\n", "{\"id\":9}\n", "{\"id\":1}\n{\"id\":2}\n");
        assert!(
            union_jsonl(&rewrite)
                .expect_err("rewrite")
                .contains("not append-only")
        );
        let clash = sides("", "{\"id\":1,\"v\":1}\n", "{\"id\":1,\"v\":2}\n");
        assert!(union_jsonl(&clash).expect_err("clash").contains("differs"));
        let junk = sides("", "not json\n", "{\"id\":1}\n");
        assert!(
            union_jsonl(&junk)
                .expect_err("junk")
                .contains("ours line 1: not JSON")
        );
        let twice = sides("", "{\"id\":1,\"id\":2}\n", "{\"id\":2}\n");
        assert!(
            union_jsonl(&twice)
                .expect_err("a repeated id key")
                .contains("duplicate key \"id\""),
        );
        let deleted = Sides {
            base: Some(b"{}\n".to_vec()),
            ours: None,
            theirs: Some(b"{}\n".to_vec()),
        };
        assert!(union_jsonl(&deleted).is_err());
    }

    #[test]
    fn markers_are_found_only_at_line_starts() {
        assert!(has_conflict_markers(
            b"a\n<<<<<<< ours\nb\n=======\nc\n>>>>>>> theirs\n"
        ));
        assert!(!has_conflict_markers(b"x <<<<<<< y\n"));
    }
}
