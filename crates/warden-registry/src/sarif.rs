//! `warden registry validate --format sarif`: SARIF 2.1.0 for code scanning.
//! One rule per problem code (stable `ruleId` = the code, see [`RULES`]);
//! every result located at its file and the line of its field
//! ([`field_line`]); `partialFingerprints` from the code, the file and the
//! field (never the line, so an alert survives lines moving above it).

use crate::model::INDEX_PATH;
use crate::validate::{Severity, ValidateReport};
use serde_json::{Value, json};

/// Every problem code `registry validate` reports: code, default level, what
/// it means, how to fix it (the table in docs/registry.md).
pub const RULES: &[(&str, Severity, &str, &str)] = &[
    (
        "index_missing",
        Severity::Error,
        "the registry index does not exist",
        "run `warden registry init`",
    ),
    (
        "index_invalid",
        Severity::Error,
        "the index does not parse or fit its schema",
        "correct the named field; `warden schema registry-index` shows the format",
    ),
    (
        "entry_invalid",
        Severity::Error,
        "an entry's front matter does not parse or fit its schema",
        "correct the named field; `warden schema registry-entry` shows the format",
    ),
    (
        "missing_entry",
        Severity::Error,
        "an index row names an entry file that does not exist (blocking)",
        "restore the entry file, or remove the row",
    ),
    (
        "id_mismatch",
        Severity::Error,
        "an index row's id differs from the id in its entry",
        "make the row's id equal the entry's id",
    ),
    (
        "duplicate_id",
        Severity::Error,
        "two entries, or two index rows, share an id",
        "one id per capability, one row per id",
    ),
    (
        "entry_outside",
        Severity::Error,
        "an index row's entry is not under registry/capabilities/",
        "move the entry to registry/capabilities/<slug>.md and point the row at it",
    ),
    (
        "bad_glob",
        Severity::Error,
        "an entry's `paths` glob does not compile",
        "use globs such as \"src/x/**\" or \"docs/x.md\"",
    ),
    (
        "missing_index_row",
        Severity::Warning,
        "an entry has no index row",
        "run `warden registry maintain` (index_row_add)",
    ),
    (
        "vector_drift",
        Severity::Warning,
        "an index row's vector differs from its entry's",
        "run `warden registry maintain` (vector_sync)",
    ),
    (
        "evidence_missing",
        Severity::Warning,
        "an evidence path does not exist in the repository",
        "restore the file, or remove the citation",
    ),
    (
        "relation_unknown",
        Severity::Warning,
        "a relation names a capability that is not in the registry",
        "add its entry, or correct the id",
    ),
];

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// The SARIF log of a validate report.
pub fn sarif(report: &ValidateReport) -> Value {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|(code, sev, what, fix)| {
            json!({
                "id": code,
                "name": code,
                "shortDescription": {"text": what},
                "help": {"text": format!("Fix: {fix}")},
                "defaultConfiguration": {"level": level(*sev)},
            })
        })
        .collect();
    let results: Vec<Value> = report
        .problems
        .iter()
        .map(|p| {
            let fingerprint = warden_core::digest::Digest::of(
                format!("{}\0{}\0{}", p.code, p.file, p.field).as_bytes(),
            );
            let mut r = json!({
                "ruleId": p.code,
                "level": level(p.severity),
                "message": {"text": format!("{}: {}. Fix: {}", p.field, p.message, p.fix)},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": p.file, "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": p.line.unwrap_or(1).max(1)},
                }}],
                "partialFingerprints": {"wardenRegistryProblem/v1": fingerprint.hex()},
            });
            if let Some(i) = RULES.iter().position(|(c, ..)| *c == p.code) {
                r["ruleIndex"] = json!(i);
            }
            r
        })
        .collect();
    warden_core::report::sarif_log(rules, results)
}

/// One step of a field path: a mapping key or a sequence index.
#[derive(Debug, PartialEq, Eq)]
enum Step<'a> {
    Key(&'a str),
    Item(usize),
}

fn steps(field: &str) -> Option<Vec<Step<'_>>> {
    let mut out = Vec::new();
    for part in field.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            out.push(Step::Key(key));
        }
        while let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            out.push(Step::Item(r[..end].parse().ok()?));
            rest = &r[end + 1..];
        }
        if !rest.is_empty() {
            return None;
        }
    }
    Some(out)
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// The key a block-style line starts with (`key:` or `- key:`), and the
/// column of the key.
fn line_key(line: &str) -> Option<(&str, usize)> {
    let mut col = indent(line);
    let mut rest = &line[col..];
    if let Some(r) = rest.strip_prefix("- ") {
        col += 2 + indent(r);
        rest = r.trim_start_matches(' ');
    }
    let end = rest.find(':')?;
    let key = rest[..end].trim_end().trim_matches(['"', '\'']);
    let after = &rest[end + 1..];
    (!key.is_empty() && (after.is_empty() || after.starts_with(' '))).then_some((key, col))
}

/// The 1-based line of the file `file` (its text) where the field `field`
/// (a problem's field path: `capabilities[3].entry`, `evidence.tests[0]`,
/// `line 4 column 2`) is written. For an entry, the front matter starts on
/// line 2. Block and flow style are followed as far as the lines show them;
/// when a step cannot be found, the line of the deepest step found.
pub fn field_line(file: &str, text: &str, field: &str) -> Option<usize> {
    // The front matter of an entry starts after its `---` line.
    let offset = usize::from(file != INDEX_PATH && text.starts_with("---"));
    if let Some(rest) = field.strip_prefix("line ") {
        let n: usize = rest.split(' ').next()?.parse().ok()?;
        return Some(n + offset);
    }
    let steps = steps(field)?;
    let lines: Vec<&str> = text.lines().collect();
    // The YAML part: for an entry, up to the closing `---`.
    let start = offset;
    let end = if offset == 1 {
        lines
            .iter()
            .skip(1)
            .position(|l| l.trim_end() == "---")
            .map_or(lines.len(), |p| p + 1)
    } else {
        lines.len()
    };
    let content = |l: &str| {
        let t = l.trim_start();
        !t.is_empty() && !t.starts_with('#')
    };
    let is_dash = |t: &str| t.starts_with("- ") || t == "-";
    // The node found so far: its line, its column (a key's, or an item's
    // dash), and whether it is a sequence item. None: the document.
    let mut node: Option<(usize, usize, bool)> = None;
    for step in steps {
        // The node's block: the lines below it that are deeper (a sequence
        // may sit at its key's own column); an item's first key shares the
        // dash's line.
        let mut block: Vec<usize> = Vec::new();
        if let Some((at, _, true)) = node {
            block.push(at);
        }
        for (i, l) in lines
            .iter()
            .enumerate()
            .take(end)
            .skip(node.map_or(start, |(at, ..)| at + 1))
        {
            if !content(l) {
                continue;
            }
            if let Some((_, col, item)) = node {
                let ind = indent(l);
                let child = ind > col || (ind == col && !item && is_dash(l.trim_start()));
                if !child {
                    break;
                }
            }
            block.push(i);
        }
        let hit = match step {
            Step::Key(k) => {
                let child_col = block
                    .first()
                    .and_then(|&i| line_key(lines[i]))
                    .map(|(_, c)| c);
                block.iter().find_map(|&i| match line_key(lines[i]) {
                    Some((key, c)) if key == k && Some(c) == child_col => Some((i, c, false)),
                    _ => None,
                })
            }
            Step::Item(n) => {
                let dash_col = block
                    .first()
                    .filter(|&&i| is_dash(lines[i].trim_start()))
                    .map(|&i| indent(lines[i]));
                block
                    .iter()
                    .filter(|&&i| {
                        Some(indent(lines[i])) == dash_col && is_dash(lines[i].trim_start())
                    })
                    .nth(n)
                    .map(|&i| (i, indent(lines[i]), true))
            }
        };
        match hit {
            Some(h) => node = Some(h),
            // Flow style (`tests: [a, b]`) or a field that is not there: the
            // deepest line found.
            None => break,
        }
    }
    node.map(|(at, ..)| at + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENTRY: &str = "---\nid: capability.x\ntitle: X\nmaturity:\n  D: {current: 1}\n  A: {current: 0}\n  C: {current: 0}\n  R: {current: 0}\npaths:\n- src/x/**\n- '[bad'\nevidence:\n  # the tests\n  tests:\n  - tests/a.rs\n  - tests/b.rs\n  documentation: [docs/a.md, docs/b.md]\nrelations:\n  depends_on:\n    - capability.y\n---\n# X\n";

    const INDEX: &str = "# yaml-language-server: $schema=x\nupdated: \"2026-01-01\"\ncapabilities:\n- id: capability.a\n  entry: registry/capabilities/a.md\n  vector: D1/A0/C0/R0\n- id: capability.b\n  entry: registry/capabilities/b.md\n  vector: D0/A0/C0/R0\n";

    #[test]
    fn fields_are_found_on_their_lines() {
        let f = "registry/capabilities/x.md";
        let line = |field| field_line(f, ENTRY, field);
        assert_eq!(line("id"), Some(2));
        assert_eq!(line("maturity.C.current"), Some(7));
        assert_eq!(line("paths[1]"), Some(11));
        assert_eq!(line("evidence.tests[1]"), Some(16));
        assert_eq!(
            line("evidence.documentation[1]"),
            Some(17),
            "flow style: the key's line"
        );
        assert_eq!(line("relations.depends_on[0]"), Some(20));
        assert_eq!(
            line("line 3 column 1"),
            Some(4),
            "a parse error's line, after `---`"
        );
        assert_eq!(line("notes"), None);
        let ix = |field| field_line(INDEX_PATH, INDEX, field);
        assert_eq!(ix("updated"), Some(2));
        assert_eq!(ix("capabilities[1].entry"), Some(8));
        assert_eq!(ix("capabilities[0].vector"), Some(6));
        assert_eq!(ix("capabilities[1].id"), Some(7));
    }
}
