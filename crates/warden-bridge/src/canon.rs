//! Parsing and canonicalising untrusted command JSON exactly as the seed's
//! Python signer does: `json.dumps(obj, sort_keys=True, separators=(",", ":"))`
//! with its defaults (`ensure_ascii=True`), applied to what `json.loads` returns.
//!
//! That is neither RFC 8785 nor `serde_json`: Python escapes every character
//! outside printable ASCII as a lowercase `\uXXXX` (astral ones as a surrogate
//! pair), prints floats with `repr` (`1.0`, `1e+30`, `1e-05`), keeps integers
//! of any size exactly, and sorts keys by code point. So this module has its own
//! parser that keeps every number's literal text and its own printer.
//!
//! The parser fails closed where Python would be ambiguous or lenient: duplicate
//! keys (Python keeps the last one silently), `NaN`/`Infinity` literals, numbers
//! that overflow to infinity, lone surrogates, a byte-order mark, nesting deeper
//! than [`MAX_DEPTH`].

use std::fmt::Write as _;

/// Deepest nesting accepted (Python's default recursion limit is about 1000;
/// commands never need more than a handful of levels).
pub const MAX_DEPTH: usize = 64;

/// Python 3.11+ refuses to convert integers with more digits than this.
pub const MAX_INT_DIGITS: usize = 4300;

/// A JSON value as parsed: object members keep their order; numbers keep their text.
#[derive(Debug, Clone, PartialEq)]
pub enum JVal {
    Null,
    Bool(bool),
    Num(JNum),
    Str(String),
    Arr(Vec<JVal>),
    Obj(Vec<(String, JVal)>),
}

/// A number literal: its text as written, and whether Python reads it as an int.
#[derive(Debug, Clone, PartialEq)]
pub struct JNum {
    pub text: String,
    pub is_int: bool,
}

impl JNum {
    /// The value as a non-negative integer, when it is an int literal that fits.
    pub fn as_u64(&self) -> Option<u64> {
        if self.is_int {
            self.text.parse().ok()
        } else {
            None
        }
    }
}

impl JVal {
    pub fn get(&self, key: &str) -> Option<&JVal> {
        match self {
            JVal::Obj(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            JVal::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            JVal::Null => "null",
            JVal::Bool(_) => "a boolean",
            JVal::Num(_) => "a number",
            JVal::Str(_) => "a string",
            JVal::Arr(_) => "an array",
            JVal::Obj(_) => "an object",
        }
    }
}

/// Why text is not acceptable JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not JSON (or JSON Python would read differently), at a byte offset.
    #[error("byte {offset}: {message}")]
    Syntax { offset: usize, message: String },
    /// An object has the same key twice (Python would keep the last silently).
    #[error("object at byte {offset} has the key \"{key}\" twice")]
    DuplicateKey { offset: usize, key: String },
}

/// Parse one JSON document (UTF-8 bytes).
pub fn parse(bytes: &[u8]) -> Result<JVal, ParseError> {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            return Err(ParseError::Syntax {
                offset: e.valid_up_to(),
                message: "not valid UTF-8".into(),
            });
        }
    };
    if text.starts_with('\u{feff}') {
        return Err(ParseError::Syntax {
            offset: 0,
            message: "starts with a byte-order mark".into(),
        });
    }
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    p.ws();
    let v = p.value(0)?;
    p.ws();
    if p.i != p.s.len() {
        return Err(p.err("unexpected data after the JSON value"));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn err(&self, message: &str) -> ParseError {
        ParseError::Syntax {
            offset: self.i,
            message: message.into(),
        }
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn lit(&mut self, word: &str, v: JVal) -> Result<JVal, ParseError> {
        if self.s[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(v)
        } else {
            Err(self.err("unexpected character"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<JVal, ParseError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        match self.peek() {
            None => Err(self.err("unexpected end of input")),
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => Ok(JVal::Str(self.string()?)),
            Some(b't') => self.lit("true", JVal::Bool(true)),
            Some(b'f') => self.lit("false", JVal::Bool(false)),
            Some(b'n') => self.lit("null", JVal::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'N' | b'I') => Err(self.err("NaN and Infinity are not accepted")),
            Some(_) => Err(self.err("unexpected character")),
        }
    }

    fn object(&mut self, depth: usize) -> Result<JVal, ParseError> {
        let start = self.i;
        self.i += 1;
        let mut members: Vec<(String, JVal)> = Vec::new();
        // Duplicate keys are found by hashing, not by comparing each key with
        // every earlier one: an unsigned file of 65,000 short keys took
        // seconds of CPU before its signature was even looked at.
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(JVal::Obj(members));
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(self.err("expected a string key"));
            }
            let key = self.string()?;
            self.ws();
            if self.peek() != Some(b':') {
                return Err(self.err("expected ':'"));
            }
            self.i += 1;
            self.ws();
            let v = self.value(depth + 1)?;
            if !seen.insert(key.clone()) {
                return Err(ParseError::DuplicateKey { offset: start, key });
            }
            members.push((key, v));
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(JVal::Obj(members));
                }
                _ => return Err(self.err("expected ',' or '}'")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<JVal, ParseError> {
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(JVal::Arr(items));
        }
        loop {
            self.ws();
            items.push(self.value(depth + 1)?);
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(JVal::Arr(items));
                }
                _ => return Err(self.err("expected ',' or ']'")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let h = self
            .s
            .get(self.i..self.i + 4)
            .ok_or_else(|| self.err("truncated \\u escape"))?;
        let h = std::str::from_utf8(h).map_err(|_| self.err("bad \\u escape"))?;
        if !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(self.err("bad \\u escape"));
        }
        let v = u32::from_str_radix(h, 16).map_err(|_| self.err("bad \\u escape"))?;
        self.i += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<String, ParseError> {
        self.i += 1;
        let mut out = String::new();
        loop {
            let Some(b) = self.peek() else {
                return Err(self.err("unterminated string"));
            };
            match b {
                b'"' => {
                    self.i += 1;
                    return Ok(out);
                }
                b'\\' => {
                    self.i += 1;
                    let Some(e) = self.peek() else {
                        return Err(self.err("unterminated escape"));
                    };
                    self.i += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let c = if (0xD800..0xDC00).contains(&hi) {
                                if self.s.get(self.i..self.i + 2) != Some(b"\\u") {
                                    return Err(self.err("lone surrogate in \\u escape"));
                                }
                                self.i += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.err("lone surrogate in \\u escape"));
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else if (0xDC00..0xE000).contains(&hi) {
                                return Err(self.err("lone surrogate in \\u escape"));
                            } else {
                                hi
                            };
                            out.push(char::from_u32(c).ok_or_else(|| self.err("bad \\u escape"))?);
                        }
                        _ => {
                            self.i -= 1;
                            return Err(self.err("invalid escape"));
                        }
                    }
                }
                0..=0x1f => return Err(self.err("control character in string")),
                _ => {
                    // Copy one UTF-8 character (the input is valid UTF-8).
                    let len = match b {
                        0x00..=0x7f => 1,
                        0xc0..=0xdf => 2,
                        0xe0..=0xef => 3,
                        _ => 4,
                    };
                    let chunk = std::str::from_utf8(&self.s[self.i..self.i + len])
                        .map_err(|_| self.err("not valid UTF-8"))?;
                    out.push_str(chunk);
                    self.i += len;
                }
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<JVal, ParseError> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            Some(b'I') => return Err(self.err("NaN and Infinity are not accepted")),
            _ => return Err(self.err("expected a digit")),
        }
        let mut is_int = true;
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(self.err("expected a digit after '.'"));
            }
            is_int = false;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(self.err("expected a digit in the exponent"));
            }
            is_int = false;
        }
        let text = std::str::from_utf8(&self.s[start..self.i])
            .map_err(|_| self.err("bad number"))?
            .to_string();
        if is_int {
            if text.trim_start_matches('-').len() > MAX_INT_DIGITS {
                return Err(ParseError::Syntax {
                    offset: start,
                    message: format!("integer has more than {MAX_INT_DIGITS} digits"),
                });
            }
        } else {
            let f: f64 = text.parse().map_err(|_| self.err("bad number"))?;
            if !f.is_finite() {
                return Err(ParseError::Syntax {
                    offset: start,
                    message: format!("number {text} is out of range"),
                });
            }
        }
        Ok(JVal::Num(JNum { text, is_int }))
    }
}

/// The canonical bytes the HMAC covers: the top-level object without its
/// `hmac` member, printed like Python's `json.dumps(..., sort_keys=True,
/// separators=(",", ":"))`.
pub fn signing_payload(doc: &JVal) -> Vec<u8> {
    let stripped = match doc {
        JVal::Obj(m) => JVal::Obj(m.iter().filter(|(k, _)| k != "hmac").cloned().collect()),
        other => other.clone(),
    };
    canonical(&stripped).into_bytes()
}

/// Print a value like Python's `json.dumps(v, sort_keys=True, separators=(",", ":"))`.
pub fn canonical(v: &JVal) -> String {
    let mut out = String::new();
    write_value(&mut out, v);
    out
}

fn write_value(out: &mut String, v: &JVal) {
    match v {
        JVal::Null => out.push_str("null"),
        JVal::Bool(true) => out.push_str("true"),
        JVal::Bool(false) => out.push_str("false"),
        JVal::Num(n) => out.push_str(&python_number(n)),
        JVal::Str(s) => write_string(out, s),
        JVal::Arr(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        JVal::Obj(members) => {
            let mut sorted: Vec<&(String, JVal)> = members.iter().collect();
            // Rust orders strings by UTF-8 bytes, which is code-point order: Python's.
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            out.push('{');
            for (i, (k, val)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, k);
                out.push(':');
                write_value(out, val);
            }
            out.push('}');
        }
    }
}

/// Print with two-space indentation, members in their original order and
/// numbers as written (like Python's `json.dumps(doc, indent=2)`).
pub fn pretty(v: &JVal) -> String {
    let mut out = String::new();
    write_pretty(&mut out, v, 0);
    out.push('\n');
    out
}

fn write_pretty(out: &mut String, v: &JVal, level: usize) {
    let pad = |out: &mut String, l: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(l));
    };
    match v {
        JVal::Arr(items) if !items.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                pad(out, level + 1);
                write_pretty(out, item, level + 1);
            }
            pad(out, level);
            out.push(']');
        }
        JVal::Obj(members) if !members.is_empty() => {
            out.push('{');
            for (i, (k, val)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                pad(out, level + 1);
                write_string(out, k);
                out.push_str(": ");
                write_pretty(out, val, level + 1);
            }
            pad(out, level);
            out.push('}');
        }
        JVal::Num(n) => out.push_str(&n.text),
        other => write_value(out, other),
    }
}

/// Set (or replace) a top-level member.
pub fn set_member(doc: &mut JVal, key: &str, value: JVal) {
    if let JVal::Obj(m) = doc {
        match m.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = value,
            None => m.push((key.to_string(), value)),
        }
    }
}

/// Python's `ensure_ascii` string encoding.
pub fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{u:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// How Python prints the number `json.loads` made of this literal.
pub fn python_number(n: &JNum) -> String {
    if n.is_int {
        let neg = n.text.starts_with('-');
        let digits = n.text.trim_start_matches('-');
        // An int literal has no leading zeros except "0" itself, and int("-0") == 0.
        if digits == "0" || !neg {
            digits.to_string()
        } else {
            n.text.clone()
        }
    } else {
        // The parser checked the literal parses to a finite f64.
        python_float_repr(n.text.parse().unwrap_or(0.0))
    }
}

/// Python's `repr(float)`: the shortest round-tripping digits, in fixed
/// notation when the decimal exponent is in -4..16, else `1.5e+30` style.
pub fn python_float_repr(f: f64) -> String {
    // `{:e}` gives the shortest round-tripping digits, like Python's repr.
    let sci = format!("{f:e}");
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mant) = match mant.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mant),
    };
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let ndigits = digits.len() as i32;
    let decpt = exp + 1;
    let mut out = String::from(sign);
    if decpt <= -4 || decpt > 16 {
        out.push_str(&digits[..1]);
        if ndigits > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let e = decpt - 1;
        let _ = write!(out, "e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    } else if decpt <= 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat((-decpt) as usize));
        out.push_str(&digits);
    } else if decpt >= ndigits {
        out.push_str(&digits);
        out.push_str(&"0".repeat((decpt - ndigits) as usize));
        out.push_str(".0");
    } else {
        out.push_str(&digits[..decpt as usize]);
        out.push('.');
        out.push_str(&digits[decpt as usize..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        canonical(&parse(s.as_bytes()).expect("parse"))
    }

    #[test]
    fn an_object_of_tens_of_thousands_of_keys_is_checked_for_duplicates_by_hashing() {
        // Each key was compared with every earlier one: 65,534 three-letter
        // keys (an unsigned 512 KB file) cost 4.6 s of CPU in a release
        // build before the signature was looked at. Its speed is measured by
        // docs/benchmarks.md; here, that the check still finds a duplicate
        // anywhere in such an object.
        let keys: Vec<String> = (0..65_534u32)
            .map(|n| {
                let b = |i: u32| {
                    char::from(b'a' + u8::try_from(n / 26u32.pow(i) % 26).expect("below 26"))
                };
                format!("{}{}{}{}", b(3), b(2), b(1), b(0))
            })
            .collect();
        let object = |extra: &str| {
            let mut s = String::from("{");
            for k in &keys {
                s.push_str(&format!("\"{k}\":0,"));
            }
            s.push_str(extra);
            s.push('}');
            s
        };
        match parse(object("\"zzzz\":1").as_bytes()).expect("distinct keys") {
            JVal::Obj(m) => assert_eq!(m.len(), 65_535),
            other => panic!("{other:?}"),
        }
        let dup = format!("\"{}\":1", keys[0]);
        assert!(matches!(
            parse(object(&dup).as_bytes()),
            Err(ParseError::DuplicateKey { key, .. }) if key == keys[0]
        ));
    }

    #[test]
    fn floats_print_like_python_repr() {
        for (lit, want) in [
            ("1.0", "1.0"),
            ("1e30", "1e+30"),
            ("1.5E30", "1.5e+30"),
            ("0.00001", "1e-05"),
            ("0.0001", "0.0001"),
            ("1e16", "1e+16"),
            ("1e15", "1000000000000000.0"),
            ("-0.0", "-0.0"),
            ("0.1", "0.1"),
            ("123.456e-7", "1.23456e-05"),
            ("5e-324", "5e-324"),
            ("1.7976931348623157e308", "1.7976931348623157e+308"),
        ] {
            assert_eq!(canon(lit), want, "{lit}");
        }
    }

    #[test]
    fn ints_keep_every_digit() {
        assert_eq!(
            canon("123456789012345678901234567890"),
            "123456789012345678901234567890"
        );
        assert_eq!(canon("-0"), "0");
        assert_eq!(canon("-17"), "-17");
    }

    #[test]
    fn strings_escape_like_ensure_ascii() {
        assert_eq!(
            canon(r#""é😀\u007f\u0001\n\"\\/""#),
            r#""\u00e9\ud83d\ude00\u007f\u0001\n\"\\/""#
        );
    }

    #[test]
    fn keys_sort_by_code_point_and_hmac_is_left_out() {
        let doc = parse(r#"{"b":1,"a":{"z":[1,2],"é":0,"Z":true},"hmac":"x"}"#.as_bytes())
            .expect("parse");
        assert_eq!(
            String::from_utf8(signing_payload(&doc)).expect("utf8"),
            r#"{"a":{"Z":true,"z":[1,2],"\u00e9":0},"b":1}"#
        );
    }

    #[test]
    fn ambiguous_or_broken_input_is_refused() {
        for bad in [
            r#"{"a":1,"a":2}"#,
            "NaN",
            "[Infinity]",
            "1e400",
            r#""\ud800""#,
            r#""\udc00x""#,
            "\u{feff}{}",
            "{\"a\":1",
            "01",
            "1.",
            "[1,]",
            "\"a\u{1}\"",
            "{} x",
            "",
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "accepted {bad:?}");
        }
        let deep = "[".repeat(MAX_DEPTH + 2) + &"]".repeat(MAX_DEPTH + 2);
        assert!(parse(deep.as_bytes()).is_err());
        assert!(parse(&[0xff, 0xfe]).is_err());
    }
}
