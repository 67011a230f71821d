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

use crate::error::{Error, IoContext, Result, did_you_mean};
use serde::de::{
    self, Deserialize, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor,
};
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::fmt;

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
                "duplicate key \"{key}\" at line {} column {}",
                e.line(),
                e.column()
            ),
            Some(format!(
                "a key may appear only once in an object; remove one of the \"{key}\" entries"
            )),
        ),
        None => Error::invalid(
            file,
            format!("line {} column {}", e.line(), e.column()),
            format!("not valid JSON: {e}"),
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

/// The bytes of the repository file `rel` that warden reads as its own
/// configuration (`.warden/*.yaml`, the registry index); `None` when it is
/// absent. A symbolic link anywhere on the way is refused (exit 2), never
/// followed: it can point at any file the user can read (a key,
/// `/proc/self/environ`), and a parse error would then show its content.
pub fn read_repo_file(root: &std::path::Path, rel: &str) -> Result<Option<Vec<u8>>> {
    let mut at = root.to_path_buf();
    for part in rel.split('/').filter(|p| !p.is_empty()) {
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(Error::invalid(
                    rel,
                    "(file)",
                    format!(
                        "{} is a symbolic link; warden reads only regular files inside the repository",
                        crate::text::shown(&at.strip_prefix(root).unwrap_or(&at).to_string_lossy())
                    ),
                    Some("replace the link with the file itself".into()),
                ));
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).user_io("read", at),
        }
    }
    match std::fs::read(&at) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).user_io("read", at),
    }
}

/// Parse YAML strictly: [`text`]'s checks, then serde-saphyr with
/// [`yaml_options`] (YAML 1.2 booleans, duplicate mapping keys refused, alias
/// expansion bounded).
pub fn parse_yaml(bytes: &[u8], file: &str) -> Result<Value> {
    let text = text(bytes, file)?;
    from_yaml_str::<Value>(text).map_err(|e| {
        let field = match e.location() {
            Some(l) => format!("line {} column {}", l.line(), l.column()),
            None => "(yaml)".to_string(),
        };
        if let serde_saphyr::Error::DuplicateMappingKey { key, .. } = e.without_snippet() {
            let key = key.as_deref().unwrap_or("(a complex key)");
            return Error::invalid(
                file,
                field,
                format!("duplicate key \"{key}\""),
                Some(format!(
                    "a key may appear only once in a mapping; remove one of the \"{key}\" entries"
                )),
            );
        }
        // Without serde-saphyr's source snippet: a config that is a link to
        // a secret (`/proc/self/environ`, a key file) must not have its
        // lines quoted into a CI log, JSON or SARIF; the line and column say
        // where.
        Error::invalid(
            file,
            field,
            format!("not valid YAML: {}", e.without_snippet()),
            Some("fix the YAML syntax at the reported line".into()),
        )
    })
}

/// Deserialize a parsed value into a serde type. Errors name the field path;
/// an unknown field (the type says `deny_unknown_fields`) names the field and
/// suggests the nearest known one. `hint` is the fallback hint, e.g. "`warden
/// schema policy` prints the format".
pub fn deserialize<T: DeserializeOwned>(value: &Value, file: &str, hint: &str) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "(document)".to_string()
        } else {
            path
        };
        let message = e.inner().to_string();
        if let Some((name, known)) = parse_unknown(&message, "unknown field `") {
            return unknown_field_error(file, &field, &name, known.iter().map(String::as_str));
        }
        if let Some((name, known)) = parse_unknown(&message, "unknown variant `") {
            let hint = did_you_mean(&name, known.iter().map(String::as_str))
                .unwrap_or_else(|| format!("one of: {}", known.join(", ")));
            return Error::invalid(file, field, format!("unknown value \"{name}\""), Some(hint));
        }
        if let Some(found) = invalid_type(&message, "string ", "a boolean") {
            return Error::invalid(
                file,
                field,
                format!("{found} is not a boolean; write true or false"),
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
        Error::invalid(file, field, message, Some(hint.to_string()))
    })
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
    Error::invalid(file, field, "unknown field", hint)
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
    fn a_config_that_is_a_symlink_was_read_through_it() {
        let d = tempfile::tempdir().expect("tempdir");
        let secret = d.path().join("secret");
        std::fs::write(&secret, "SECRET_TOKEN=ghp_supersecret123\n").expect("write");
        let root = d.path().join("r");
        std::fs::create_dir_all(root.join(".warden")).expect("mkdir");
        std::os::unix::fs::symlink(&secret, root.join(".warden/modules.yaml")).expect("link");
        let e = read_repo_file(&root, ".warden/modules.yaml").expect_err("refused");
        assert_eq!(
            e.to_string(),
            ".warden/modules.yaml: (file): .warden/modules.yaml is a symbolic link; warden reads only regular files inside the repository"
        );
        assert_eq!(
            read_repo_file(&root, ".warden/policy.yaml").expect("absent"),
            None
        );
        std::fs::write(root.join(".warden/x.yaml"), "a: 1\n").expect("write");
        assert_eq!(
            read_repo_file(&root, ".warden/x.yaml").expect("read"),
            Some(b"a: 1\n".to_vec())
        );
    }

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
