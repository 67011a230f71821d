//! Strict reading of every file people and programs hand to warden: proposals,
//! the policy, plugin specs, the plugin registry, ID cards and subsystem
//! configuration (G10). One place decides what "well formed" means, so every
//! parser refuses the same things with the same words:
//!
//! - a byte-order mark (UTF-8 or UTF-16) is named as such, not reported as a
//!   syntax error at line 1 column 1;
//! - invalid UTF-8 is named with its byte offset and line;
//! - a key repeated in one JSON object or YAML mapping is refused, naming the
//!   key, its field path and its line (serde_json's `Value` would silently keep
//!   the last one; serde-saphyr refuses them by default);
//! - YAML is read as YAML 1.2 ([`yaml_options`]): only `true` and `false` are
//!   booleans, so `yes`, `no`, `on`, `off`, `y` and `n` are text (a module
//!   named `off` stays "off"); a field that wants a boolean and gets one of
//!   those words is refused with "write true or false";
//! - a field the format does not define is refused with its full path and a
//!   did-you-mean ([`known_fields`] for hand-written parsers, [`deserialize`]
//!   for serde types marked `deny_unknown_fields`).
//!
//! Every error is [`Error::Invalid`] (exit 2) naming the file, the field and the fix.
//!
//! Warden's own configuration files are read through [`read_config`]: never
//! through a symbolic link (anywhere on the path inside the repository),
//! never from a FIFO, device or directory. And an error never quotes more of
//! the input than a short, escaped [`excerpt`]: a file that is not what it
//! claims (a "YAML" file that holds credentials) must not reach a log, a
//! JSON report or a SARIF upload through warden's error message.

use crate::error::{Error, Result, did_you_mean};
use serde::de::{
    self, Deserialize, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor,
};
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::fmt;
use std::io::Read;
use std::path::Path;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Check the raw bytes of an input file and return its text: no byte-order
/// mark, valid UTF-8.
pub fn text<'a>(bytes: &'a [u8], file: &str) -> Result<&'a str> {
    if bytes.starts_with(UTF8_BOM) {
        return Err(Error::invalid(
            file,
            "byte 0",
            "file starts with a UTF-8 byte-order mark",
            Some("save it as UTF-8 without BOM (the three bytes EF BB BF at its start)".into()),
        ));
    }
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(Error::invalid(
            file,
            "byte 0",
            "file starts with a UTF-16 byte-order mark; warden reads UTF-8 only",
            Some("save it as UTF-8 without BOM".into()),
        ));
    }
    std::str::from_utf8(bytes).map_err(|e| {
        let offset = e.valid_up_to();
        let line = 1 + bytes[..offset].iter().filter(|b| **b == b'\n').count();
        Error::invalid(
            file,
            format!("byte {offset}"),
            format!("not valid UTF-8 (line {line})"),
            Some("save the file as UTF-8".into()),
        )
    })
}

/// The most characters of an input's own text an error quotes.
pub const EXCERPT_CHARS: usize = 80;

/// A short, terminal-safe excerpt of text that came from an input file (a
/// parser's message, a key, a value): at most [`EXCERPT_CHARS`] characters
/// of its first line, with "…" when something was cut, escaped by
/// [`crate::text::shown`].
pub fn excerpt(s: &str) -> String {
    let line = s.lines().next().unwrap_or("");
    let mut cut: String = line.chars().take(EXCERPT_CHARS).collect();
    if cut.len() < s.len() {
        cut.push('…');
    }
    crate::text::shown(&cut).to_string()
}

/// Read one of warden's own configuration files, `rel` (slash-separated,
/// relative to `root`): `Ok(None)` when it does not exist. Refused (exit 2,
/// naming the file and the fix): any component of `rel` that is a symbolic
/// link, even one that points inside the repository, and a final file that
/// is not a regular file (a FIFO would block, `/proc` or a device would be
/// read as configuration). The last component is opened with `O_NOFOLLOW`
/// and `O_NONBLOCK`, so a link or FIFO swapped in after the check is still
/// refused, not followed or waited on. See docs/security.md.
pub fn read_config(root: &Path, rel: &str) -> Result<Option<Vec<u8>>> {
    let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty()).collect();
    let mut at = root.to_path_buf();
    for (i, part) in parts.iter().enumerate() {
        at.push(part);
        let meta = match std::fs::symlink_metadata(&at) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(unreadable_config(rel, &e.to_string())),
        };
        if meta.file_type().is_symlink() {
            return Err(config_link_error(rel, &parts[..=i].join("/"), &at));
        }
        if i + 1 < parts.len() && !meta.is_dir() {
            return Ok(None);
        }
    }
    let mut file = match open_config(&at) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
            return Err(config_link_error(rel, rel, &at));
        }
        Err(e) => return Err(unreadable_config(rel, &e.to_string())),
    };
    let meta = file
        .metadata()
        .map_err(|e| unreadable_config(rel, &e.to_string()))?;
    if !meta.is_file() {
        return Err(not_regular_error(rel, &meta));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.read_to_end(&mut bytes)
        .map_err(|e| unreadable_config(rel, &e.to_string()))?;
    Ok(Some(bytes))
}

fn open_config(path: &Path) -> std::io::Result<std::fs::File> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
    )?;
    Ok(std::fs::File::from(fd))
}

fn config_link_error(rel: &str, link: &str, at: &Path) -> Error {
    let target = std::fs::read_link(at)
        .map(|t| t.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "(unreadable)".into());
    let what = if link == rel {
        "is a symbolic link".to_string()
    } else {
        format!(
            "is reached through the symbolic link {}",
            crate::text::shown(link)
        )
    };
    Error::invalid(
        rel,
        "(file)",
        format!(
            "{what} (to {}); warden reads its configuration only from regular files inside the repository, never through a link",
            crate::text::shown(&target)
        ),
        Some(format!(
            "replace the link {} with the file itself (check what it points at first)",
            crate::text::shown(link)
        )),
    )
}

fn not_regular_error(rel: &str, meta: &std::fs::Metadata) -> Error {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    let kind = if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else {
        "not a regular file"
    };
    Error::invalid(
        rel,
        "(file)",
        format!("is {kind}; warden reads its configuration only from regular files"),
        Some(format!("replace {rel} with a regular file")),
    )
}

fn unreadable_config(rel: &str, why: &str) -> Error {
    Error::invalid(
        rel,
        "(file)",
        format!("cannot be read ({why})"),
        Some(format!("make {rel} a readable regular file")),
    )
}

/// Parse JSON strictly: [`text`]'s checks, then the syntax, then no key may
/// repeat within one object. The value is exactly what `serde_json` would give
/// for the same (accepted) bytes.
pub fn parse_json(bytes: &[u8], file: &str) -> Result<Value> {
    let text = text(bytes, file)?;
    let dup = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = StrictValue {
        path: String::new(),
        dup: &dup,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v));
    parsed.map_err(|e| match dup.take() {
        Some(Duplicate { field, key }) => Error::invalid(
            file,
            field,
            format!(
                "duplicate key {} at line {} column {}",
                quoted(&key),
                e.line(),
                e.column()
            ),
            Some(format!(
                "a key may appear only once in an object; remove one of the {} entries",
                quoted(&key)
            )),
        ),
        None => Error::invalid(
            file,
            format!("line {} column {}", e.line(), e.column()),
            format!("not valid JSON: {}", excerpt(&e.to_string())),
            Some("fix the JSON syntax".into()),
        ),
    })
}

/// How warden reads YAML, decided in this one place: YAML 1.2 booleans (only
/// `true` and `false`, in the spellings `true`/`True`/`TRUE`; the YAML 1.1
/// words `yes`, `no`, `on`, `off`, `y` and `n` stay text), and serde-saphyr's
/// defaults otherwise (a repeated mapping key is refused, alias expansion is
/// bounded). Every YAML read in the workspace uses these options, through
/// [`parse_yaml`] or [`from_yaml_str`].
pub fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! { strict_booleans: true }
}

/// Read YAML text with [`yaml_options`] straight into `T`, with
/// serde-saphyr's own error. For fast paths that fall back to [`parse_yaml`]
/// and [`deserialize`] to word an error, and for reading back what warden
/// wrote itself; input from people goes through those two.
pub fn from_yaml_str<'de, T: Deserialize<'de>>(
    text: &'de str,
) -> std::result::Result<T, serde_saphyr::Error> {
    serde_saphyr::from_str_with_options(text, yaml_options())
}

/// Parse YAML strictly: [`text`]'s checks, then serde-saphyr with
/// [`yaml_options`] (YAML 1.2 booleans, duplicate mapping keys refused, alias
/// expansion bounded). Errors are worded here, in plain sentences: a repeated
/// key, a second document, a file that expands past the reader's limits (an
/// alias bomb) each name the file, the line and the fix, never the parser's
/// internals.
pub fn parse_yaml(bytes: &[u8], file: &str) -> Result<Value> {
    let text = text(bytes, file)?;
    from_yaml_str::<Value>(text).map_err(|e| yaml_error(&e, file))
}

/// The error of a YAML text serde-saphyr refused, as warden words it.
fn yaml_error(e: &serde_saphyr::Error, file: &str) -> Error {
    use serde_saphyr::Error as Y;
    let field = match e.location() {
        Some(l) => format!("line {} column {}", l.line(), l.column()),
        None => "(yaml)".to_string(),
    };
    // The error itself, without the source snippet (which quotes the input)
    // and without the alias that led to it (its location is `field`).
    let mut inner = e;
    while let Y::WithSnippet { error, .. } | Y::AliasError { error, .. } = inner {
        inner = error;
    }
    match inner {
        Y::DuplicateMappingKey { key, .. } => {
            let key = quoted(key.as_deref().unwrap_or("(a complex key)"));
            Error::invalid(
                file,
                field,
                format!("duplicate key {key}"),
                Some(format!(
                    "a key may appear only once in a mapping; remove one of the {key} entries"
                )),
            )
        }
        Y::MultipleDocuments { .. } => Error::invalid(
            file,
            field,
            "holds more than one YAML document (the second begins here); warden reads one document per file",
            Some(
                "keep one: remove the `---` line before this one and the document after it, or merge the two"
                    .into(),
            ),
        ),
        Y::Budget { breach, .. } => too_big(file, field, &budget_breach(breach)),
        Y::AliasReplayLimitExceeded {
            max_total_replayed_events,
            ..
        } => too_big(
            file,
            field,
            &format!(
                "its aliases (`*name`) expand to more than {max_total_replayed_events} values (the limit)"
            ),
        ),
        Y::AliasExpansionLimitExceeded {
            max_expansions_per_anchor,
            ..
        } => too_big(
            file,
            field,
            &format!(
                "an anchor (`&name`) is used through aliases more than {max_expansions_per_anchor} times (the limit)"
            ),
        ),
        Y::AliasReplayStackDepthExceeded { max_depth, .. } => too_big(
            file,
            field,
            &format!("its aliases (`*name`) nest more than {max_depth} deep (the limit)"),
        ),
        // The message without serde-saphyr's source snippet (the lines
        // around the error) and its place (`field` says it), and bounded:
        // the input may not be YAML at all. The common mistakes in words.
        other => {
            let said = other.to_string();
            let said = without_place(said.lines().next().unwrap_or(""));
            let (what, hint) = match syntax_sentence(said) {
                Some((what, hint)) => (what.to_string(), hint.to_string()),
                None => (
                    format!("not valid YAML: {}", excerpt(said)),
                    format!("fix the YAML syntax at {field}"),
                ),
            };
            Error::invalid(file, field, what, Some(hint))
        }
    }
}

/// The parser's message without its trailing ` at line L, column C`.
fn without_place(msg: &str) -> &str {
    match msg.rsplit_once(" at line ") {
        Some((head, tail))
            if tail
                .split_once(", column ")
                .is_some_and(|(l, c)| l.parse::<u64>().is_ok() && c.parse::<u64>().is_ok()) =>
        {
            head
        }
        _ => msg,
    }
}

/// What the parser's message means and what to do, for the mistakes people
/// make most (the parser's own sentence is kept for the rest). Each row:
/// the parser's words (`|` between alternatives), the sentence, the fix.
fn syntax_sentence(msg: &str) -> Option<(&'static str, &'static str)> {
    const SENTENCES: &[(&str, &str, &str)] = &[
        (
            "found a tab|tabs disallowed",
            "not valid YAML: a tab character where YAML reads indentation or a plain value",
            "indent with spaces, and quote a value that holds a tab",
        ),
        (
            "unknown anchor",
            "not valid YAML: an alias (`*name`) whose anchor (`&name`) is not defined before it",
            "define the anchor with `&name` earlier in the file, or write the value out",
        ),
        (
            "unknown escape character",
            "not valid YAML: a double-quoted string holds a backslash escape YAML does not know",
            "write `\\\\` for a backslash, or use single quotes, inside which a backslash is literal",
        ),
        (
            "unclosed bracket '['",
            "not valid YAML: a `[` list is not closed",
            "close it with `]`, or write the list one `- item` per line",
        ),
        (
            "unclosed bracket '{'",
            "not valid YAML: a `{` mapping is not closed",
            "close it with `}`, or write the mapping one `key: value` per line",
        ),
        (
            "non-finite float",
            "not valid YAML: `.inf` and `.nan` are not numbers warden accepts",
            "write a finite number",
        ),
        (
            "mapping values are not allowed",
            "not valid YAML: a second `: ` where a plain value was expected",
            "quote the value if it holds `: `, or put the nested mapping on its own indented lines",
        ),
        (
            "unexpected character",
            "not valid YAML: a plain value starts with a character YAML reserves (such as `@`)",
            "quote the value",
        ),
        (
            "multiline quoted scalar",
            "not valid YAML: a quoted value is not closed before the next line",
            "close the quote on the line it opens, or indent the value's next lines",
        ),
    ];
    SENTENCES
        .iter()
        .find(|(needles, _, _)| needles.split('|').any(|n| msg.contains(n)))
        .map(|(_, what, hint)| (*what, *hint))
}

/// A YAML text past one of the reader's limits, which keep a small file
/// from expanding into a huge one in memory.
fn too_big(file: &str, field: String, what: &str) -> Error {
    Error::invalid(
        file,
        field,
        format!("is too big to read: {what}"),
        Some("write the values out instead of repeating them through aliases (`*name`), or split the file; warden's YAML limits are fixed".into()),
    )
}

/// Which of the reader's limits ([`serde_saphyr::Budget`], the defaults
/// [`yaml_options`] keeps) a text went past, in words.
fn budget_breach(breach: &serde_saphyr::budget::BudgetBreach) -> String {
    use serde_saphyr::budget::BudgetBreach as B;
    let b = yaml_options().budget.unwrap_or_default();
    match breach {
        B::Nodes { .. } => format!(
            "more than {} values, counting each copy an alias (`*name`) makes (the limit)",
            b.max_nodes
        ),
        B::Aliases { .. } => format!("more than {} aliases (`*name`) (the limit)", b.max_aliases),
        B::Anchors { .. } => format!("more than {} anchors (`&name`) (the limit)", b.max_anchors),
        B::AliasAnchorRatio { aliases, anchors } => format!(
            "{aliases} aliases (`*name`) for {anchors} anchors (`&name`), more than {} per anchor (the limit)",
            b.alias_anchor_ratio_multiplier
        ),
        B::Depth { .. } => format!("nested more than {} levels deep (the limit)", b.max_depth),
        B::Events { .. } => format!("more than {} parser events (the limit)", b.max_events),
        B::Documents { .. } => format!("more than {} documents (the limit)", b.max_documents),
        B::ScalarBytes { .. } => format!(
            "more than {} bytes of values (the limit)",
            b.max_total_scalar_bytes
        ),
        B::MergeKeys { .. } => format!(
            "more than {} merge keys (`<<`) (the limit)",
            b.max_merge_keys
        ),
        B::RecordedAnchorEvents { .. } | B::RecordedAnchorBytes { .. } => {
            "its anchors (`&name`) hold more than the reader keeps for aliases (the limit)".into()
        }
        _ => "it is past one of the YAML reader's size limits".into(),
    }
}

/// Deserialize a parsed value into a serde type. Errors name the field path;
/// an unknown field (the type says `deny_unknown_fields`) names the field and
/// suggests the nearest known one. `hint` is the fallback hint, e.g. "`warden
/// schema policy` prints the format".
pub fn deserialize<T: DeserializeOwned>(value: &Value, file: &str, hint: &str) -> Result<T> {
    serde_path_to_error::deserialize(Shaped(value.clone())).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "(document)".to_string()
        } else {
            path
        };
        let message = e.inner().to_string();
        if let Some(e) = shape_error(value, e.path(), &message, file, &field, hint) {
            return e;
        }
        if let Some((name, known)) = parse_unknown(&message, "unknown field `") {
            return unknown_field_error(file, &field, &name, known.iter().map(String::as_str));
        }
        let field = excerpt(&field);
        if let Some((name, known)) = parse_unknown(&message, "unknown variant `") {
            let hint = did_you_mean(&name, known.iter().map(String::as_str))
                .unwrap_or_else(|| format!("one of: {}", known.join(", ")));
            let name = quoted(&name);
            return Error::invalid(file, field, format!("unknown value {name}"), Some(hint));
        }
        if let Some(found) = invalid_type(&message, "string ", "a boolean") {
            return Error::invalid(
                file,
                field,
                format!("{} is not a boolean; write true or false", {
                    let inner = found.strip_prefix('"').and_then(|f| f.strip_suffix('"'));
                    quoted(inner.unwrap_or(found))
                }),
                Some(YAML12_BOOLEANS.into()),
            );
        }
        if let Some(found) = invalid_type(&message, "boolean `", "a string") {
            let found = found.trim_end_matches('`');
            return Error::invalid(
                file,
                field,
                format!("{found} is a boolean here, not text; write \"{found}\" in quotes"),
                Some(YAML12_BOOLEANS.into()),
            );
        }
        if let Some(e) = wrong_type(value, e.path(), &message, file, &field, hint) {
            return e;
        }
        Error::invalid(file, field, excerpt(&message), Some(hint.to_string()))
    })
}

/// serde's "invalid type: integer `1`, expected a boolean" for any other
/// mix-up, worded for the file's author: the value as written, and what
/// belongs there in YAML's terms.
fn wrong_type(
    value: &Value,
    path: &serde_path_to_error::Path,
    message: &str,
    file: &str,
    field: &str,
    hint: &str,
) -> Option<Error> {
    let (_, expected) = message
        .strip_prefix("invalid type: ")?
        .rsplit_once(", expected ")?;
    let wanted = match expected {
        "a boolean" => "true or false",
        "a string" => "text (quote it if it looks like a number or a boolean)",
        "a sequence" => "a list (`- item` lines, or `[a, b]`)",
        "a map" => "a mapping (`key: value` lines)",
        e if e.starts_with("u") || e.starts_with("i") => "a whole number",
        e if e.starts_with('f') => "a number",
        _ => return None,
    };
    let found = value_at(value, path).map_or_else(|| "the value".into(), shown_value);
    Some(Error::invalid(
        file,
        field.to_string(),
        format!("{found} is not {wanted}"),
        Some(hint.to_string()),
    ))
}

/// A parsed value handed to a serde type with one rule serde's own value
/// deserializer lacks: a mapping (a struct) is never read from a list.
/// serde lets a derived struct take its fields by position from a sequence,
/// so `limits: [1, 99999, 1000]` silently set `max_files` to 1. Everything
/// else is `serde_json::Value`'s own reading.
struct Shaped(Value);

impl<'de> de::Deserializer<'de> for Shaped {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Array(items) => v.visit_seq(ShapedSeq(items.into_iter())),
            Value::Object(map) => v.visit_map(ShapedMap {
                entries: map.into_iter(),
                value: None,
            }),
            other => other.deserialize_any(v),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Array(_) => Err(de::Error::invalid_type(de::Unexpected::Seq, &v)),
            other => Shaped(other).deserialize_any(v),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Null => v.visit_none(),
            other => v.visit_some(Shaped(other)),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, Self::Error> {
        v.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_enum(name, variants, v)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map identifier
        ignored_any
    }
}

struct ShapedSeq(std::vec::IntoIter<Value>);

impl<'de> SeqAccess<'de> for ShapedSeq {
    type Error = serde_json::Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Self::Error> {
        self.0
            .next()
            .map(|v| seed.deserialize(Shaped(v)))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct ShapedMap {
    entries: serde_json::map::IntoIter,
    value: Option<Value>,
}

impl<'de> MapAccess<'de> for ShapedMap {
    type Error = serde_json::Error;

    fn next_key_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Self::Error> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        seed.deserialize(Value::String(key)).map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, Self::Error> {
        let value = self.value.take().unwrap_or(Value::Null);
        seed.deserialize(Shaped(value))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// The errors of a value of the wrong shape that serde words for a
/// programmer ("invalid type: null, expected struct PolicyFile", "invalid
/// type: floating point `1e+23`, expected u64"), worded for the file's
/// author: an empty document, a number out of its field's range, something
/// else where a mapping belongs.
fn shape_error(
    value: &Value,
    path: &serde_path_to_error::Path,
    message: &str,
    file: &str,
    field: &str,
    hint: &str,
) -> Option<Error> {
    if field == "(document)" && value.is_null() {
        return Some(Error::invalid(
            file,
            field.to_string(),
            "is empty: it holds no document (only blank lines, comments or null)",
            Some(hint.to_string()),
        ));
    }
    if let Some(range) = whole_number_expected(message) {
        let at = value_at(value, path);
        let found = at.map_or_else(|| "the value".into(), shown_value);
        // A whole number past 64 bits was read as floating point (`1e+23`).
        let past = at
            .and_then(Value::as_f64)
            .filter(|f| f.fract() == 0.0 && f.abs() >= 9.2e18)
            .map_or("", |f| {
                if f > 0.0 {
                    "is too large: it "
                } else {
                    "is too small: it "
                }
            });
        return Some(Error::invalid(
            file,
            excerpt(field),
            format!("{found} {past}is not a whole number from {range}"),
            Some(format!(
                "write a whole number from {range}, without quotes or units"
            )),
        ));
    }
    let wants_mapping = message
        .rsplit_once(", expected ")
        .is_some_and(|(_, t)| t.starts_with("struct ") || t == "a map");
    if message.starts_with("invalid type: ") && wants_mapping {
        // serde names the Rust type it wanted ("struct PolicyFile").
        let found = match value_at(value, path) {
            Some(Value::String(s)) => format!("text: {}", excerpt(s)),
            Some(Value::Number(n)) => format!("the number {n}"),
            Some(v) => shown_value(v),
            None => "something else".into(),
        };
        return Some(Error::invalid(
            file,
            excerpt(field),
            format!("is not a mapping (`key: value` lines) but {found}"),
            Some(hint.to_string()),
        ));
    }
    None
}

/// For hand-written parsers: refuse the first key of `obj` (in sorted order)
/// that is not in `known`. `prefix` is the object's field path with its
/// trailing dot (`"actions[0]."`), or `""` at the top level.
pub fn known_fields(
    obj: &Map<String, Value>,
    known: &[&str],
    file: &str,
    prefix: &str,
) -> Result<()> {
    match obj.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(unknown_field_error(
            file,
            &format!("{prefix}{k}"),
            k,
            known.iter().copied(),
        )),
        None => Ok(()),
    }
}

/// The error for an unknown field: exit 2, the full field path, and a
/// did-you-mean (or the list of known fields).
pub fn unknown_field_error<'a>(
    file: &str,
    field: &str,
    name: &str,
    known: impl Iterator<Item = &'a str> + Clone,
) -> Error {
    let hint = did_you_mean(name, known.clone()).or_else(|| {
        let all: Vec<&str> = known.collect();
        Some(if all.is_empty() {
            "this object takes no fields".to_string()
        } else {
            format!("known fields here: {}", all.join(", "))
        })
    });
    Error::invalid(file, excerpt(field), "unknown field", hint)
}

/// `s` in double quotes when it is plain text, else [`excerpt`]'s escaped
/// (and already quoted) form; both bounded.
fn quoted(s: &str) -> String {
    let e = excerpt(s);
    if e.starts_with('"') {
        e
    } else {
        format!("\"{e}\"")
    }
}

/// serde's wording, stable since serde 1.0: "unknown field `x`, expected one
/// of `a`, `b`", "unknown field `x`, expected `a`" or "unknown field `x`,
/// there are no fields" (and the same for "unknown variant"). Returns the
/// name and the known names.
fn parse_unknown(message: &str, prefix: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix(prefix)?;
    let end = rest.find("`, ")?;
    let name = rest[..end].to_string();
    let tail = &rest[end + 3..];
    let known = tail
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    Some((name, known))
}

/// serde's wording for an integer field given something else: "invalid
/// type: floating point `1e+23`, expected u64", "invalid value: integer
/// `-1`, expected u64". Returns the range of the integer type wanted, as
/// "0 to 18446744073709551615".
fn whole_number_expected(message: &str) -> Option<&'static str> {
    if !(message.starts_with("invalid type: ") || message.starts_with("invalid value: ")) {
        return None;
    }
    let ty = message.rsplit_once(", expected ")?.1;
    Some(match ty {
        "u8" => "0 to 255",
        "u16" => "0 to 65535",
        "u32" => "0 to 4294967295",
        "u64" | "usize" => "0 to 18446744073709551615",
        "i8" => "-128 to 127",
        "i16" => "-32768 to 32767",
        "i32" => "-2147483648 to 2147483647",
        "i64" | "isize" => "-9223372036854775808 to 9223372036854775807",
        _ => return None,
    })
}

/// The value at `path` inside `value`, where the path leads to one.
fn value_at<'v>(value: &'v Value, path: &serde_path_to_error::Path) -> Option<&'v Value> {
    use serde_path_to_error::Segment;
    path.iter().try_fold(value, |v, seg| match seg {
        Segment::Seq { index } => v.get(index),
        Segment::Map { key } => v.get(key),
        Segment::Enum { .. } | Segment::Unknown => None,
    })
}

/// A value as an error names it: a number or boolean as written, text
/// quoted and bounded, anything else by its kind. A number past the range
/// of a 64-bit integer was read as a floating point number (`1e23`).
fn shown_value(v: &Value) -> String {
    match v {
        Value::Null => "an empty value".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => quoted(s),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}

/// The hint of both boolean mix-ups [`deserialize`] words itself.
const YAML12_BOOLEANS: &str = "warden reads YAML 1.2: only true and false (unquoted) are booleans; yes, no, on, off, y and n are text";

/// serde's wording for a value of the wrong type: "invalid type: string
/// \"yes\", expected a boolean". Returns what follows `kind` (here
/// `"yes"`, quoted as serde quotes it) when the message is about `kind`
/// given where `expected` was wanted.
fn invalid_type<'m>(message: &'m str, kind: &str, expected: &str) -> Option<&'m str> {
    message
        .strip_prefix("invalid type: ")?
        .strip_prefix(kind)?
        .strip_suffix(expected)?
        .strip_suffix(", expected ")
}

struct Duplicate {
    field: String,
    key: String,
}

/// A `serde_json::Value` built by hand so that a repeated key can be seen (and
/// its path recorded in `dup`) instead of overwriting the first.
struct StrictValue<'d> {
    path: String,
    dup: &'d RefCell<Option<Duplicate>>,
}

impl StrictValue<'_> {
    fn child(&self, segment: &str) -> String {
        if self.path.is_empty() {
            segment.to_string()
        } else {
            format!("{}.{segment}", self.path)
        }
    }
}

impl<'de> DeserializeSeed<'de> for StrictValue<'_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(StrictValue {
            path: format!("{}[{}]", self.path, out.len()),
            dup: self.dup,
        })? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = self.child(&key);
            if out.contains_key(&key) {
                *self.dup.borrow_mut() = Some(Duplicate {
                    field: path,
                    key: key.clone(),
                });
                return Err(de::Error::custom(format_args!("duplicate key \"{key}\"")));
            }
            let v = map.next_value_seed(StrictValue {
                path,
                dup: self.dup,
            })?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_yaml_error_quoted_the_lines_of_the_file_it_could_not_parse() {
        for bytes in [
            &b"SECRET_TOKEN=ghp_supersecret123\0SHELL=/bin/bash\0"[..],
            b"a: 1\nSECRET_TOKEN: [ghp_supersecret123\n  b: {\n",
        ] {
            let e = parse_yaml(bytes, "p.yaml").expect_err("invalid");
            let shown = format!("{e} {:?}", e.hint());
            assert!(!shown.contains("ghp_supersecret123"), "{shown}");
            assert!(shown.contains("p.yaml"), "{shown}");
        }
    }

    #[test]
    fn duplicate_json_keys_are_refused_naming_the_key_path_and_line() {
        let e = parse_json(b"{\"a\": {\"b\": [1, {\"c\": 1,\n \"c\": 2}]}}", "x.json")
            .expect_err("duplicate");
        assert_eq!(
            e.to_string(),
            "x.json: a.b[1].c: duplicate key \"c\" at line 2 column 4"
        );
        assert_eq!(e.class(), crate::ExitClass::Input);
        let e = parse_json(b"{\"k\": 1, \"k\": 1}", "x.json").expect_err("same value too");
        assert!(e.to_string().starts_with("x.json: k: duplicate key"), "{e}");
    }

    #[test]
    fn a_utf8_bom_is_named_as_such() {
        let e = parse_json(b"\xEF\xBB\xBF{}", "p.json").expect_err("bom");
        assert_eq!(
            e.to_string(),
            "p.json: byte 0: file starts with a UTF-8 byte-order mark"
        );
        assert!(e.hint().is_some_and(|h| h.contains("without BOM")));
        let e = parse_yaml(b"\xEF\xBB\xBFa: 1\n", "p.yaml").expect_err("bom");
        assert!(e.to_string().contains("byte-order mark"), "{e}");
        let e = parse_json(b"\xFF\xFE{\x00}\x00", "p.json").expect_err("utf-16");
        assert!(e.to_string().contains("UTF-16 byte-order mark"), "{e}");
    }

    #[test]
    fn invalid_utf8_is_named_with_its_byte_offset() {
        let e = parse_json(b"{\"a\":\n\"\xff\"}", "p.json").expect_err("utf-8");
        assert_eq!(e.to_string(), "p.json: byte 7: not valid UTF-8 (line 2)");
    }

    #[test]
    fn strict_json_equals_serde_json_on_accepted_input() {
        let text = br#"{"z": [1, -2, 3.5, 1e300, null, true, "s\u00e9"], "a": {"b": {}}, "n": 18446744073709551615}"#;
        let strict = parse_json(text, "x").expect("parses");
        let plain: Value = serde_json::from_slice(text).expect("parses");
        assert_eq!(strict, plain);
        assert!(parse_json(b"{} x", "x").is_err(), "trailing characters");
        assert!(parse_json(b"", "x").is_err(), "empty");
    }

    #[test]
    fn duplicate_yaml_keys_are_refused() {
        let e = parse_yaml(b"a: 1\nb:\n  c: 1\n  c: 2\n", "s.yaml").expect_err("duplicate");
        assert_eq!(
            e.to_string(),
            "s.yaml: line 4 column 3: duplicate key \"c\""
        );
        let e = parse_yaml(b"a: 1\na: 1\n", "s.yaml").expect_err("duplicate");
        assert!(e.to_string().contains("duplicate key \"a\""), "{e}");
    }

    /// A YAML syntax error was the parser's sentence with its line and
    /// column said twice, and the same hint whatever the mistake.
    #[test]
    fn a_yaml_syntax_error_said_its_place_twice_and_no_fix() {
        for (yaml, says, hint) in [
            ("a:\n\tb: 1\n", "a tab character", "indent with spaces"),
            ("a: 1\n\tb: 1\n", "a tab character", "indent with spaces"),
            (
                "a: *nope\n",
                "anchor (`&name`) is not defined",
                "define the anchor",
            ),
            ("a: \"x \\q\"\n", "backslash escape", "single quotes"),
            ("a: [1, 2\n", "`[` list is not closed", "close it with `]`"),
            (
                "a: {b: 1\n",
                "`{` mapping is not closed",
                "close it with `}`",
            ),
            ("a: .inf\n", "`.inf` and `.nan`", "finite number"),
            ("a: b: c\n", "a second `: `", "quote the value"),
            ("a: @x\n", "reserves", "quote the value"),
        ] {
            let e = parse_yaml(yaml.as_bytes(), "p.yaml").expect_err(yaml);
            let text = e.to_string();
            assert!(text.contains(says), "{yaml:?}: {text}");
            assert!(!text.contains(", column "), "{yaml:?}: {text}");
            let h = e.hint().unwrap_or_default().to_string();
            assert!(h.contains(hint), "{yaml:?}: {h}");
        }
        // Any other syntax error keeps the parser's words, its place once.
        let e = parse_yaml(b"a: 'x\n", "p.yaml").expect_err("open quote");
        assert!(e.to_string().matches("line ").count() == 1, "{e}");
    }

    /// serde's own wording ("invalid type: integer `1`, expected a
    /// boolean") reached the file's author for every other type mix-up.
    #[test]
    fn a_value_of_the_wrong_type_was_worded_in_serdes_terms() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct File {
            #[serde(default)]
            flag: bool,
            #[serde(default)]
            name: String,
            #[serde(default)]
            list: Vec<String>,
        }
        for (yaml, says) in [
            ("flag: 1\n", "1 is not true or false"),
            ("name: [a]\n", "a list is not text"),
            ("list: x\n", "\"x\" is not a list"),
        ] {
            let v = parse_yaml(yaml.as_bytes(), "p.yaml").expect("yaml");
            let e = deserialize::<File>(&v, "p.yaml", "h")
                .expect_err(yaml)
                .to_string();
            assert!(e.contains(says), "{yaml}: {e}");
            assert!(!e.contains("invalid type"), "{yaml}: {e}");
        }
    }

    /// serde lets a derived struct read its fields by position from a
    /// list, so `limits: [1, 99999, 1000]` set `max_files` to 1 without a
    /// word. A list where a mapping belongs is refused, naming the field.
    #[test]
    fn a_list_where_a_mapping_belongs_was_read_by_position() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Limits {
            max_files: u64,
            max_bytes: u64,
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct File {
            limits: Limits,
            #[serde(default)]
            names: Vec<String>,
            extra: Option<Limits>,
        }
        let value = parse_yaml(b"limits: [1, 99999]\n", "policy.yaml").expect("yaml");
        let err =
            deserialize::<File>(&value, "policy.yaml", "h").expect_err("a list is no mapping");
        let text = err.to_string();
        assert!(
            text.contains("limits") && text.contains("is not a mapping"),
            "{text}"
        );
        let ok = parse_yaml(
            b"limits: {max_files: 1, max_bytes: 2}\nnames: [a, b]\nextra: null\n",
            "policy.yaml",
        )
        .expect("yaml");
        let f =
            deserialize::<File>(&ok, "policy.yaml", "h").expect("a mapping and a list are read");
        assert_eq!(f.names, ["a", "b"]);
        let nested = parse_yaml(
            b"limits: {max_files: 1, max_bytes: 2}\nextra: [1, 2]\n",
            "p",
        )
        .expect("yaml");
        let err = deserialize::<File>(&nested, "p", "h").expect_err("nor in an option");
        assert!(err.to_string().contains("extra"), "{err}");
    }

    #[test]
    fn invalid_type_reads_serdes_wording() {
        let m = "invalid type: string \"yes\", expected a boolean";
        assert_eq!(invalid_type(m, "string ", "a boolean"), Some("\"yes\""));
        assert_eq!(invalid_type(m, "string ", "a string"), None);
        let m = "invalid type: boolean `false`, expected a string";
        assert_eq!(invalid_type(m, "boolean `", "a string"), Some("false`"));
        assert_eq!(
            invalid_type("unknown field `x`", "string ", "a boolean"),
            None
        );
    }

    const FAKE_SECRET: &str = "SECRET_TOKEN=ghp_fake0123456789";

    /// A repository root and, outside it, a file holding a fake secret.
    fn root_and_secret() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("repo");
        std::fs::create_dir_all(root.join(".warden")).expect("mkdir");
        let secret = dir.path().join("credentials");
        std::fs::write(&secret, format!("{FAKE_SECRET}\nPASSWORD=hunter2\n")).expect("write");
        (dir, root, secret)
    }

    #[test]
    fn a_config_file_that_is_a_symlink_to_a_secret_outside_the_repo_is_refused_unread() {
        let (_d, root, secret) = root_and_secret();
        std::os::unix::fs::symlink(&secret, root.join(".warden/modules.yaml")).expect("link");
        let e = read_config(&root, ".warden/modules.yaml").expect_err("a link");
        let shown = format!("{e} / {}", e.hint().unwrap_or_default());
        assert_eq!(e.class(), crate::ExitClass::Input);
        assert!(!shown.contains("SECRET_TOKEN"), "{shown}");
        assert_eq!(
            shown,
            format!(
                ".warden/modules.yaml: (file): is a symbolic link (to {}); warden reads its configuration only from regular files inside the repository, never through a link / replace the link .warden/modules.yaml with the file itself (check what it points at first)",
                secret.display()
            )
        );
    }

    #[test]
    fn a_config_file_inside_a_symlinked_directory_is_refused_too() {
        let (d, root, _secret) = root_and_secret();
        let elsewhere = d.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).expect("mkdir");
        std::fs::write(elsewhere.join("capabilities.yaml"), FAKE_SECRET).expect("write");
        std::fs::create_dir(root.join("registry")).expect("mkdir");
        std::os::unix::fs::symlink(&elsewhere, root.join("registry/indexes")).expect("link");
        let e = read_config(&root, "registry/indexes/capabilities.yaml").expect_err("a link");
        assert!(
            e.to_string()
                .contains("is reached through the symbolic link registry/indexes"),
            "{e}"
        );
        // Even a link that stays inside the repository: configuration is
        // read from regular files only.
        std::fs::write(root.join("real.yaml"), "a: 1\n").expect("write");
        std::os::unix::fs::symlink("../real.yaml", root.join(".warden/sync.yaml")).expect("link");
        assert!(read_config(&root, ".warden/sync.yaml").is_err());
    }

    #[test]
    fn a_config_file_that_is_a_fifo_is_refused_without_waiting_for_a_writer() {
        let (_d, root, _secret) = root_and_secret();
        let fifo = root.join(".warden/policy.yaml");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o644),
            0,
        )
        .expect("mkfifo");
        let e = read_config(&root, ".warden/policy.yaml").expect_err("a FIFO");
        assert_eq!(
            e.to_string(),
            ".warden/policy.yaml: (file): is a FIFO; warden reads its configuration only from regular files"
        );
        std::fs::create_dir(root.join(".warden/contracts.yaml")).expect("mkdir");
        let e = read_config(&root, ".warden/contracts.yaml").expect_err("a directory");
        assert!(e.to_string().contains("is a directory"), "{e}");
    }

    #[test]
    fn a_regular_config_file_is_read_and_a_missing_one_is_none() {
        let (_d, root, _secret) = root_and_secret();
        std::fs::write(root.join(".warden/modules.yaml"), "a: 1\n").expect("write");
        let got = read_config(&root, ".warden/modules.yaml").expect("read");
        assert_eq!(got.as_deref(), Some(&b"a: 1\n"[..]));
        assert_eq!(read_config(&root, ".warden/none.yaml").expect("none"), None);
        assert_eq!(read_config(&root, "absent/dir/x.yaml").expect("none"), None);
    }

    #[test]
    fn a_yaml_parse_error_quotes_no_source_snippet_and_a_bounded_excerpt() {
        let long = "k".repeat(500);
        let text = format!("{FAKE_SECRET}{long} second: [\nPASSWORD=hunter2\n");
        let e = parse_yaml(text.as_bytes(), "m.yaml").expect_err("bad yaml");
        let s = e.to_string();
        assert!(!s.contains("hunter2") && !s.contains(&long), "{s}");
        assert!(s.len() < 200, "{s}");
        // A file that parses as one long scalar: serde names the value.
        let value =
            parse_yaml(format!("{FAKE_SECRET}{long}\n").as_bytes(), "m.yaml").expect("a scalar");
        let e = deserialize::<std::collections::BTreeMap<String, u8>>(&value, "m.yaml", "h")
            .expect_err("wrong type");
        let s = e.to_string();
        assert!(!s.contains(&long) && s.ends_with('…'), "{s}");
    }

    /// A typed file as the policy is read: YAML, then serde.
    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Limits {
        max_bytes: u64,
        #[serde(default)]
        max_files: u16,
    }

    fn read_limits(text: &str) -> Error {
        parse_yaml(text.as_bytes(), "p.yaml")
            .and_then(|v| deserialize::<Limits>(&v, "p.yaml", "see the schema"))
            .expect_err("refused")
    }

    /// A second `---` document said "multiple YAML documents detected; use
    /// from_str_multiple or from_str_multiple_wit…" (serde-saphyr's advice
    /// to a programmer) and "fix the YAML syntax".
    #[test]
    fn a_second_yaml_document_is_named_without_the_librarys_advice() {
        let e = read_limits("max_bytes: 1\n---\nmax_bytes: 2\n");
        assert_eq!(
            e.to_string(),
            "p.yaml: line 3 column 1: holds more than one YAML document (the second begins here); warden reads one document per file"
        );
        assert!(e.hint().is_some_and(|h| h.starts_with("keep one")), "{e:?}");
        assert_eq!(e.class(), crate::ExitClass::Input);
    }

    /// An alias bomb said "budget breached: Nodes { nodes: 250001 }" (a Rust
    /// debug print) with the hint "fix the YAML syntax".
    #[test]
    fn an_alias_bomb_names_the_limit_not_the_budget_struct() {
        let mut text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n".to_string();
        for i in 1..7 {
            let p = format!("*a{}", i - 1);
            text.push_str(&format!("a{i}: &a{i} [{}]\n", vec![p; 10].join(", ")));
        }
        let e = read_limits(&text);
        let shown = format!("{e} / {}", e.hint().unwrap_or_default());
        assert!(
            shown.contains(
                "is too big to read: more than 250000 values, counting each copy an alias (`*name`) makes (the limit)"
            ),
            "{shown}"
        );
        assert!(
            shown.contains("write the values out instead of repeating them through aliases"),
            "{shown}"
        );
        for internal in ["budget", "Nodes", "{", "syntax"] {
            assert!(!shown.contains(internal), "{internal}: {shown}");
        }
    }

    /// An empty file said "invalid type: null, expected struct PolicyFile".
    #[test]
    fn an_empty_yaml_file_says_it_is_empty_not_expected_struct() {
        for text in ["", "# only a comment\n", "---\n", "null\n"] {
            let e = read_limits(text);
            assert_eq!(
                e.to_string(),
                "p.yaml: (document): is empty: it holds no document (only blank lines, comments or null)",
                "{text:?}"
            );
            assert_eq!(e.hint().as_deref(), Some("see the schema"));
        }
    }

    /// `max_bytes: 99999999999999999999999` said "invalid type: floating
    /// point `1e+23`, expected u64"; -1, 1.5 and "64MB" said as much.
    #[test]
    fn a_number_out_of_range_names_the_range_not_serdes_types() {
        let cases = [
            (
                "99999999999999999999999",
                "1e+23 is too large: it is not a whole number from 0 to 18446744073709551615",
            ),
            (
                "-1",
                "-1 is not a whole number from 0 to 18446744073709551615",
            ),
            (
                "1.5",
                "1.5 is not a whole number from 0 to 18446744073709551615",
            ),
            (
                "64MB",
                "\"64MB\" is not a whole number from 0 to 18446744073709551615",
            ),
            (
                "",
                "an empty value is not a whole number from 0 to 18446744073709551615",
            ),
        ];
        for (v, want) in cases {
            let e = read_limits(&format!("max_bytes: {v}\n"));
            assert_eq!(e.to_string(), format!("p.yaml: max_bytes: {want}"), "{v:?}");
            assert!(
                e.hint()
                    .is_some_and(|h| h.starts_with("write a whole number from 0 to")),
                "{e:?}"
            );
        }
        // serde's name of the Rust type wanted is not shown either.
        let e = read_limits("just text\n");
        assert_eq!(
            e.to_string(),
            "p.yaml: (document): is not a mapping (`key: value` lines) but text: just text"
        );
        let e = read_limits("max_bytes: 1\nmax_files: 70000\n");
        assert_eq!(
            e.to_string(),
            "p.yaml: max_files: 70000 is not a whole number from 0 to 65535"
        );
    }

    #[test]
    fn an_excerpt_is_one_escaped_line_of_bounded_length() {
        assert_eq!(excerpt("plain"), "plain");
        assert_eq!(excerpt("a\nsecond line"), "a…");
        assert_eq!(excerpt("red \u{1b}[31m"), "\"red \\x1b[31m\"");
        let cut = excerpt(&"x".repeat(200));
        assert_eq!(cut.chars().count(), EXCERPT_CHARS + 1);
        let e = parse_yaml(b"a: 1\n\"\\e[2J\": 1\n\"\\e[2J\": 2\n", "d.yaml").expect_err("dup");
        assert_eq!(
            e.to_string(),
            "d.yaml: line 3 column 1: duplicate key \"\\x1b[2J\""
        );
    }

    #[test]
    fn unknown_fields_get_a_did_you_mean() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Inner {
            max_files: u64,
            max_bytes: u64,
        }
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Outer {
            items: Vec<Inner>,
        }
        let v = serde_json::json!({"items": [{"max_files": 1, "max_bytes": 2}, {"max_filez": 1}]});
        let e = deserialize::<Outer>(&v, "f.json", "see the schema").expect_err("unknown");
        assert_eq!(e.to_string(), "f.json: items[1].max_filez: unknown field");
        assert_eq!(e.hint().as_deref(), Some("did you mean \"max_files\"?"));
        #[derive(serde::Deserialize, Debug)]
        #[serde(rename_all = "lowercase")]
        enum Lang {
            Python,
            Sh,
        }
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct WithLang {
            lang: Lang,
        }
        let e = deserialize::<WithLang>(&serde_json::json!({"lang": "pyhton"}), "f.json", "")
            .expect_err("unknown value");
        assert_eq!(e.to_string(), "f.json: lang: unknown value \"pyhton\"");
        assert_eq!(e.hint().as_deref(), Some("did you mean \"python\"?"));
        let v = serde_json::json!({"items": [], "zzz": 1});
        let e = deserialize::<Outer>(&v, "f.json", "see the schema").expect_err("unknown");
        assert_eq!(e.to_string(), "f.json: zzz: unknown field");
        assert_eq!(e.hint().as_deref(), Some("known fields here: items"));
    }
}
