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
//! never read alike. [`shown_bytes`] does the same for a name that is not
//! UTF-8, writing each invalid byte in octal as git does (`"bad\377name"`).
//! JSON output needs none of this: serde escapes control characters itself.

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
            quoted_char(f, c)?;
        }
        f.write_str("\"")
    }
}

/// One character inside the double quotes of [`shown`]'s escaped form.
fn quoted_char(f: &mut fmt::Formatter<'_>, c: char) -> fmt::Result {
    match c {
        '"' => f.write_str("\\\""),
        '\\' => f.write_str("\\\\"),
        '\n' => f.write_str("\\n"),
        '\r' => f.write_str("\\r"),
        '\t' => f.write_str("\\t"),
        c if u32::from(c) < 0x80 && is_unsafe(c) => write!(f, "\\x{:02x}", u32::from(c)),
        c if is_unsafe(c) => write!(f, "\\u{{{:04x}}}", u32::from(c)),
        c => write!(f, "{c}"),
    }
}

/// A name as the file system gave it (bytes, not necessarily UTF-8) for
/// `Display`: valid UTF-8 prints as [`shown`] prints it; otherwise it is
/// quoted, each byte that is not part of a valid UTF-8 character written
/// as a backslash and three octal digits, as git quotes such a path
/// (`"bad\377name"`), so the real bytes can be read back (a lossy form
/// with U+FFFD cannot tell two names apart).
pub fn shown_bytes(b: &[u8]) -> ShownBytes<'_> {
    ShownBytes(b)
}

/// The `Display` wrapper [`shown_bytes`] returns.
#[derive(Debug, Clone, Copy)]
pub struct ShownBytes<'a>(&'a [u8]);

impl fmt::Display for ShownBytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Ok(s) = std::str::from_utf8(self.0) {
            return shown(s).fmt(f);
        }
        f.write_str("\"")?;
        for chunk in self.0.utf8_chunks() {
            for c in chunk.valid().chars() {
                quoted_char(f, c)?;
            }
            for b in chunk.invalid() {
                write!(f, "\\{b:03o}")?;
            }
        }
        f.write_str("\"")
    }
}

/// One character of [`is_unsafe`] in the escaped form [`shown`] uses.
fn escape_char(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if u32::from(c) < 0x80 => out.push_str(&format!("\\x{:02x}", u32::from(c))),
        c => out.push_str(&format!("\\u{{{:04x}}}", u32::from(c))),
    }
}

/// A message made of warden's words and untrusted names (an error, a log
/// line), with every character of [`is_unsafe`] but the newline escaped in
/// place (`\x1b`, `\r`, `\u{202e}`) and no quotes added: a plain message
/// is returned unchanged, and a message warden itself broke into lines keeps
/// them.
pub fn inline(s: &str) -> String {
    if !s.chars().any(|c| c != '\n' && is_unsafe(c)) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c != '\n' && is_unsafe(c) {
            escape_char(&mut out, c);
        } else {
            out.push(c);
        }
    }
    out
}

/// A whole rendered text (a report's human form) made safe as a last line
/// of defence: newlines and tabs are kept, and so are colour sequences
/// (`ESC [ digits ; m`, SGR) when `colour` is on, since the CLI's own styling
/// uses them; every other character of [`is_unsafe`] is escaped in place as
/// [`inline`] does. Values that could hold a newline are quoted with
/// [`shown`] where they are rendered; this catches what a renderer missed.
pub fn terminal_safe(s: &str, colour: bool) -> String {
    if !s.chars().any(|c| c != '\n' && c != '\t' && is_unsafe(c)) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 16);
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if colour && c == '\x1b' {
            let sgr = sgr_len(rest);
            if sgr > 0 {
                out.push_str(&rest[..sgr]);
                rest = &rest[sgr..];
                continue;
            }
        }
        if c != '\n' && c != '\t' && is_unsafe(c) {
            escape_char(&mut out, c);
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The length of the SGR sequence (`ESC [ [0-9;]* m`) `s` starts with; 0
/// when it starts with none.
fn sgr_len(s: &str) -> usize {
    let b = s.as_bytes();
    if !b.starts_with(b"\x1b[") {
        return 0;
    }
    let params = b[2..]
        .iter()
        .take_while(|c| c.is_ascii_digit() || **c == b';')
        .count();
    if b.get(2 + params) == Some(&b'm') {
        3 + params
    } else {
        0
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

    #[test]
    fn a_name_that_is_not_utf8_lost_its_bytes_to_u_fffd() {
        assert_eq!(
            shown_bytes(b"inbox/bad\xffname_docs.txt").to_string(),
            r#""inbox/bad\377name_docs.txt""#
        );
        // Two names that differ only in their invalid bytes print apart.
        assert_ne!(
            shown_bytes(b"a\xfe").to_string(),
            shown_bytes(b"a\xff").to_string()
        );
        // Escapes and valid characters around them as `shown` writes them.
        assert_eq!(
            shown_bytes(
                "ñ\x1b\""
                    .as_bytes()
                    .iter()
                    .chain(b"\xc3")
                    .copied()
                    .collect::<Vec<_>>()
                    .as_slice()
            )
            .to_string(),
            r#""ñ\x1b\"\303""#
        );
        // Valid UTF-8 prints exactly as `shown` prints it.
        for s in ["inbox/a.py", "naïve.md", "a\nb", "\"q\""] {
            assert_eq!(shown_bytes(s.as_bytes()).to_string(), shown(s).to_string());
        }
    }

    #[test]
    fn inline_escapes_in_place_and_keeps_plain_messages_and_their_lines() {
        let plain = "d/README.md: heading \"Usage\" is missing\nsecond line";
        assert_eq!(inline(plain), plain);
        assert_eq!(
            inline("path \"a\x1b[2J\rb\u{202e}\" goes\nthrough"),
            "path \"a\\x1b[2J\\rb\\u{202e}\" goes\nthrough"
        );
    }

    #[test]
    fn terminal_safe_keeps_lines_tabs_and_only_the_colour_sequences_it_may() {
        let styled = "\x1b[1mheading\x1b[0m\n\tx\n";
        assert_eq!(terminal_safe(styled, true), styled);
        assert_eq!(
            terminal_safe(styled, false),
            "\\x1b[1mheading\\x1b[0m\n\tx\n"
        );
        assert_eq!(
            terminal_safe("a\x1b[2J\x1b]0;T\x07\rb\x1b[31m\n", true),
            "a\\x1b[2J\\x1b]0;T\\x07\\rb\x1b[31m\n"
        );
    }

    proptest::proptest! {
        #[test]
        fn terminal_safe_text_holds_no_unsafe_character_but_lines_tabs_and_colour(s in "[\\x00-\\x1f\\x7fa\\[;0-9m\\u{202e}]{0,24}") {
            let out = terminal_safe(&s, false);
            proptest::prop_assert!(!out.chars().any(|c| c != '\n' && c != '\t' && is_unsafe(c)), "{:?} -> {:?}", s, out);
            let line = inline(&s);
            proptest::prop_assert!(!line.chars().any(|c| c != '\n' && is_unsafe(c)), "{:?} -> {:?}", s, line);
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
