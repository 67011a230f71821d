//! Untrusted text made safe to print on a terminal or in a log line.
//!
//! File names, YAML values, plugin and LLM output reach warden's human
//! output. Printed raw, a control character in them is an attack on the
//! reader: `ESC [ 2 J` clears the screen, `ESC ] 0 ;` retitles the window,
//! `\r` followed by `ESC [ K` overwrites the line the person is judging, a
//! newline forges a second record for `grep` or a log shipper, and a
//! right-to-left override makes a name read backwards. [`shown`] wraps such
//! a string for `Display`: text without any of those characters prints
//! unchanged; text with one prints in double quotes with the offending
//! characters (and `"` and `\`) escaped, as git quotes an unusual path
//! (`core.quotePath`); so does text that itself starts with `"`, so the two
//! never read alike. JSON output needs none of this: serde escapes
//! control characters itself.

use std::fmt;

/// `s` for `Display`, escaped when it holds a character that would act on
/// a terminal instead of being shown (see the module documentation).
pub fn shown(s: &str) -> Shown<'_> {
    Shown(s)
}

/// The `Display` wrapper [`shown`] returns.
#[derive(Debug, Clone, Copy)]
pub struct Shown<'a>(&'a str);

/// Whether `c` acts on a terminal or on a line-oriented reader instead of
/// being shown: C0 controls (newline and tab included), DEL, C1 controls,
/// the bidirectional embeddings, overrides and isolates, and the line and
/// paragraph separators.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Whether [`shown`] would print `s` as it is: no character of
/// [`is_unsafe`], and not starting with `"` (so a shown text that starts
/// with a quote is always the escaped form).
pub fn is_plain(s: &str) -> bool {
    !s.starts_with('"') && !s.chars().any(is_unsafe)
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if is_plain(self.0) {
            return f.write_str(self.0);
        }
        f.write_str("\"")?;
        for c in self.0.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c if u32::from(c) < 0x80 && is_unsafe(c) => write!(f, "\\x{:02x}", u32::from(c))?,
                c if is_unsafe(c) => write!(f, "\\u{{{:04x}}}", u32::from(c))?,
                c => write!(f, "{c}")?,
            }
        }
        f.write_str("\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_prints_unchanged() {
        for s in [
            "inbox/ledger_f1.py",
            "",
            "naïve café/日本.md",
            "a \"quoted\" name",
            "back\\slash",
        ] {
            assert_eq!(shown(s).to_string(), s);
        }
    }

    #[test]
    fn terminal_escapes_newlines_and_bidi_overrides_are_quoted() {
        let cases = [
            (
                "ledger_\x1b[31mred\x1b[0m.py",
                r#""ledger_\x1b[31mred\x1b[0m.py""#,
            ),
            ("ledger_nl\nx.py", r#""ledger_nl\nx.py""#),
            ("evil\r\x1b[Kharmless", r#""evil\r\x1b[Kharmless""#),
            ("title\x1b]0;PWNED\x07", r#""title\x1b]0;PWNED\x07""#),
            ("a\"b\\c\td", r#""a\"b\\c\td""#),
            ("gpj.\u{202E}exe", r#""gpj.\u{202e}exe""#),
            ("del\x7f c1\u{9b}", r#""del\x7f c1\u{009b}""#),
            ("\"quoted\" at the start", r#""\"quoted\" at the start""#),
        ];
        for (raw, want) in cases {
            assert_eq!(shown(raw).to_string(), want, "{raw:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn shown_text_never_holds_a_character_that_acts_on_a_terminal(s in "\\PC*|[\\x00-\\x1f\\x7f\\u{80}-\\u{9f}\\u{202a}-\\u{202e}a\"\\\\]{0,16}") {
            let out = shown(&s).to_string();
            proptest::prop_assert!(!out.chars().any(is_unsafe), "{:?} -> {:?}", s, out);
            if is_plain(&s) {
                proptest::prop_assert_eq!(out, s);
            }
        }
    }
}
