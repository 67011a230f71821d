//! Phase 4: honest pending test skeletons. One skeleton per
//! `must_cover` behaviour, named `test_<slug>` where the slug is a readable
//! stem plus 6 hex digits of the behaviour's sha256 (stable, unique), skipped
//! or ignored with the behaviour named. An existing file only gains the
//! skeletons it lacks, appended; a test a person filled in (its marker gone)
//! is never touched. Skeletons stay `pending_test` gaps until their marker goes.

use warden_core::digest::Digest;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Python,
    Rust,
    Shell,
}

impl Lang {
    pub fn of(path: &str) -> Option<Lang> {
        let ext = path.rsplit_once('.').map(|(_, e)| e)?;
        match ext {
            "py" => Some(Lang::Python),
            "rs" => Some(Lang::Rust),
            "sh" | "bash" => Some(Lang::Shell),
            _ => None,
        }
    }
}

/// The stable slug of a behaviour: `test_<slug>` names its test.
pub fn slug(behaviour: &str) -> String {
    let mut s = String::new();
    for c in behaviour.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if !s.ends_with('_') && !s.is_empty() {
            s.push('_');
        }
        if s.len() >= 40 {
            break;
        }
    }
    let stem = s.trim_end_matches('_');
    let hash = &Digest::of(behaviour.trim().as_bytes()).hex()[..6];
    if stem.is_empty() {
        format!("behaviour_{hash}")
    } else {
        format!("{stem}_{hash}")
    }
}

fn quoted(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', " ")
}

fn one(lang: Lang, behaviour: &str) -> String {
    let name = format!("test_{}", slug(behaviour));
    let q = quoted(behaviour.trim());
    match lang {
        Lang::Python => format!(
            "\n\n@pytest.mark.skip(reason=\"pending: {q}\")\ndef {name}():\n    \"\"\"{}\"\"\"\n    raise NotImplementedError(\"fill in this test, then remove the skip marker\")\n",
            behaviour.trim().replace("\"\"\"", "'''")
        ),
        Lang::Rust => format!(
            "\n#[test]\n#[ignore = \"pending: {q}\"]\nfn {name}() {{\n    panic!(\"fill in this test, then remove the ignore attribute\");\n}}\n"
        ),
        Lang::Shell => format!(
            "\n{name}() {{\n  # pending: {}\n  echo \"SKIP {name}: pending\"\n  return 0\n}}\n",
            behaviour.trim().replace('\n', " ")
        ),
    }
}

fn header(lang: Lang, subject: &str, meta_file: &str) -> String {
    match lang {
        Lang::Python => format!(
            "\"\"\"Tests for {subject}.\n\nSkeletons written by `warden gen tests` from {meta_file}; each stays a\n`pending_test` gap until its skip marker is removed.\n\"\"\"\n\nimport pytest\n"
        ),
        Lang::Rust => format!(
            "//! Tests for {subject}.\n//!\n//! Skeletons written by `warden gen tests` from {meta_file}; each stays a\n//! `pending_test` gap until its ignore attribute is removed.\n"
        ),
        Lang::Shell => format!(
            "#!/bin/sh\n# Tests for {subject}.\n# Skeletons written by `warden gen tests` from {meta_file}; each stays a\n# `pending_test` gap until its pending comment is removed.\n"
        ),
    }
}

/// The new content of a test file: `current` (None = missing) plus the
/// skeletons it lacks. `None` when nothing is missing.
pub fn add_skeletons(
    lang: Lang,
    current: Option<&str>,
    subject: &str,
    meta_file: &str,
    behaviours: &[String],
) -> Option<String> {
    let mut text = match current {
        Some(t) => t.to_string(),
        None => header(lang, subject, meta_file),
    };
    let mut added = false;
    for b in behaviours {
        if b.trim().is_empty() {
            continue;
        }
        let name = format!("test_{}", slug(b));
        if has_test_named(&text, &name) {
            continue;
        }
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&one(lang, b));
        added = true;
    }
    (added || current.is_none()).then_some(text)
}

fn has_test_named(text: &str, name: &str) -> bool {
    text.match_indices(name).any(|(i, _)| {
        let after = text[i + name.len()..].chars().next();
        !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// Whether the file defines at least one test.
pub fn has_tests(lang: Lang, text: &str) -> bool {
    text.lines().any(|l| {
        let t = l.trim_start();
        match lang {
            Lang::Python => t.starts_with("def test") || t.starts_with("async def test"),
            Lang::Rust => t.starts_with("#[test]") || t.contains("::test]"),
            Lang::Shell => t.starts_with("test_") && t.contains("()"),
        }
    })
}

/// The behaviours still marked pending, as (line, behaviour).
pub fn pending(lang: Lang, text: &str) -> Vec<(usize, String)> {
    let marker = match lang {
        Lang::Python => "mark.skip(reason=\"pending: ",
        Lang::Rust => "#[ignore = \"pending: ",
        Lang::Shell => "# pending: ",
    };
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let Some(pos) = l.find(marker) else { continue };
        let rest = &l[pos + marker.len()..];
        let b = match lang {
            Lang::Shell => rest.trim().to_string(),
            _ => unquote_until_quote(rest),
        };
        out.push((i + 1, b));
    }
    out
}

fn unquote_until_quote(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '"' => break,
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn skeletons_are_pending_named_and_added_only_when_missing() {
        let bs = vec![
            "Basic search with \"results\".".to_string(),
            "Empty search results.".to_string(),
        ];
        for lang in [Lang::Python, Lang::Rust, Lang::Shell] {
            let t = add_skeletons(lang, None, "m.py", "tests/unit/meta.yaml", &bs).expect("new");
            assert!(has_tests(lang, &t), "{lang:?}\n{t}");
            let p = pending(lang, &t);
            assert_eq!(
                p.iter().map(|(_, b)| b.clone()).collect::<Vec<_>>(),
                bs,
                "{lang:?}\n{t}"
            );
            assert_eq!(
                add_skeletons(lang, Some(&t), "m", "x", &bs),
                None,
                "idempotent"
            );
            let more = [bs.clone(), vec!["Bad query.".into()]].concat();
            let t2 = add_skeletons(lang, Some(&t), "m", "x", &more).expect("added");
            assert!(t2.starts_with(&t), "appends, never rewrites");
            assert_eq!(pending(lang, &t2).len(), 3);
        }
    }

    #[test]
    fn a_filled_in_test_is_left_alone_and_not_pending() {
        let bs = vec!["Enqueue works.".to_string()];
        let t = add_skeletons(Lang::Python, None, "q", "m", &bs).expect("new");
        let filled = t.replace(
            "@pytest.mark.skip(reason=\"pending: Enqueue works.\")\n",
            "",
        );
        assert!(pending(Lang::Python, &filled).is_empty());
        assert_eq!(
            add_skeletons(Lang::Python, Some(&filled), "q", "m", &bs),
            None
        );
    }

    proptest! {
        #[test]
        fn slugs_are_identifiers_and_stable(b in ".{0,80}") {
            let s = slug(&b);
            prop_assert!(s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
            prop_assert!(!s.starts_with('_'));
            prop_assert_eq!(s.clone(), slug(&b));
        }

        #[test]
        fn pending_markers_round_trip_any_behaviour(b in "[^\n\r]{1,60}") {
            prop_assume!(!b.trim().is_empty());
            for lang in [Lang::Python, Lang::Rust] {
                let t = add_skeletons(lang, None, "s", "m", std::slice::from_ref(&b)).expect("new");
                let p = pending(lang, &t);
                prop_assert_eq!(p.len(), 1);
                prop_assert_eq!(&p[0].1, &b.trim().to_string());
            }
        }
    }
}
