//! AUTO fences (SafePatch).
//!
//! ```text
//! # BEGIN AUTO SECTION: NAME
//! generated body
//! # END AUTO SECTION: NAME checksum=0123456789abcdef
//! ```
//!
//! The markers live in the file's own comment syntax: whatever precedes `BEGIN`/
//! `END` on the line (and follows the name) is kept. The END marker carries the
//! first 16 hex digits of the sha256 of the body as last written by warden; a body
//! that no longer matches was edited by hand and is never overwritten. A fence
//! without a checksum (written by hand) may be filled once. Malformed fences are
//! hard errors. The seed's spelling `AUTO-SECTION` is accepted too.

use crate::digest::Digest;
use std::ops::Range;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub name: String,
    /// 1-based line of the BEGIN marker.
    pub begin_line: usize,
    /// Byte range of the body (the lines between the markers).
    pub body: Range<usize>,
    /// Byte range of the END marker line, without its line ending.
    end_marker: Range<usize>,
    /// Text before `END` on the END line (the comment opener).
    end_prefix: String,
    /// Text after the name and checksum on the END line (e.g. ` -->`).
    end_suffix: String,
    spelling: &'static str,
    pub checksum: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct FenceError {
    pub line: usize,
    pub message: String,
}

const SPELLINGS: &[&str] = &["AUTO SECTION:", "AUTO-SECTION:"];

pub fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Find `BEGIN <spelling>` or `END <spelling>` on a line.
/// Returns (prefix, name, rest-after-name, spelling).
fn marker<'a>(line: &'a str, word: &str) -> Option<(&'a str, &'a str, &'a str, &'static str)> {
    // Every spelling contains "AUTO": most lines are skipped without building
    // a searcher per spelling (fence parsing runs over whole documents).
    if !line.as_bytes().windows(4).any(|w| w == b"AUTO") {
        return None;
    }
    for spelling in SPELLINGS {
        let needle = format!("{word} {spelling}");
        if let Some(pos) = line.find(&needle) {
            let after = line[pos + needle.len()..].trim_start();
            let name_len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
                .unwrap_or(after.len());
            return Some((
                &line[..pos],
                &after[..name_len],
                &after[name_len..],
                spelling,
            ));
        }
    }
    None
}

/// The first line of `body` that the fence parser would read as a BEGIN or END
/// marker (any spelling), as (1-based line number, the line). A body holding
/// one would nest or close fences once written, so no patch may carry it.
pub fn marker_line(body: &str) -> Option<(usize, &str)> {
    body.split_inclusive('\n').enumerate().find_map(|(i, raw)| {
        let line = raw.trim_end_matches(['\n', '\r']);
        (marker(line, "BEGIN").is_some() || marker(line, "END").is_some()).then_some((i + 1, line))
    })
}

/// The checksum of a body, whatever its line endings: git's `core.autocrlf`
/// or an `eol` attribute converts a checkout between LF and CRLF, and that
/// is not a hand edit.
pub fn body_checksum(body: &str) -> String {
    Digest::of(body.replace("\r\n", "\n").as_bytes()).short()
}

/// Parse every fence in `text`.
pub fn parse(text: &str) -> Result<Vec<Fence>, FenceError> {
    let mut fences: Vec<Fence> = Vec::new();
    let mut open: Option<(String, usize, usize)> = None; // name, line, body start
    let mut offset = 0;
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        let line_no = i + 1;
        let line = raw.trim_end_matches(['\n', '\r']);
        if let Some((_, name, _, _)) = marker(line, "BEGIN") {
            if name.is_empty() {
                return Err(FenceError {
                    line: line_no,
                    message: "BEGIN AUTO SECTION without a name".into(),
                });
            }
            if let Some((open_name, open_line, _)) = &open {
                return Err(FenceError {
                    line: line_no,
                    message: format!(
                        "BEGIN of \"{name}\" inside fence \"{open_name}\" opened on line {open_line} (fences cannot nest)"
                    ),
                });
            }
            if fences.iter().any(|f| f.name == name) {
                return Err(FenceError {
                    line: line_no,
                    message: format!("fence \"{name}\" appears twice"),
                });
            }
            open = Some((name.to_string(), line_no, offset + raw.len()));
        } else if let Some((prefix, name, rest, spelling)) = marker(line, "END") {
            let Some((open_name, open_line, body_start)) = open.take() else {
                return Err(FenceError {
                    line: line_no,
                    message: format!("END of \"{name}\" without a BEGIN"),
                });
            };
            if open_name != name {
                return Err(FenceError {
                    line: line_no,
                    message: format!(
                        "END of \"{name}\" closes fence \"{open_name}\" opened on line {open_line}"
                    ),
                });
            }
            let (checksum, suffix) = match rest.trim_start().strip_prefix("checksum=") {
                Some(r) => {
                    let n = r.find(|c: char| !c.is_ascii_hexdigit()).unwrap_or(r.len());
                    (Some(r[..n].to_string()), &r[n..])
                }
                None => (None, rest),
            };
            fences.push(Fence {
                name: open_name,
                begin_line: open_line,
                body: body_start..offset,
                end_marker: offset..offset + line.len(),
                end_prefix: prefix.to_string(),
                end_suffix: suffix.to_string(),
                spelling,
                checksum,
            });
        }
        offset += raw.len();
    }
    if let Some((name, line, _)) = open {
        return Err(FenceError {
            line,
            message: format!("fence \"{name}\" has no END marker"),
        });
    }
    Ok(fences)
}

impl Fence {
    /// Whether the body was changed by hand since warden last wrote it.
    pub fn hand_edited(&self, text: &str) -> bool {
        match &self.checksum {
            Some(sum) => !sum.eq_ignore_ascii_case(&body_checksum(&text[self.body.clone()])),
            None => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    #[error("{0}")]
    Malformed(FenceError),
    #[error("no fence named \"{0}\"")]
    Missing(String),
    #[error("the body of fence \"{name}\" (line {line}) was edited by hand since warden wrote it")]
    HandEdited { name: String, line: usize },
}

/// Replace the body of fence `name` with `body` and stamp its checksum.
/// Returns the new text; `Ok(None)` when the body is already exactly `body` with
/// a matching checksum (nothing to do).
pub fn patch(text: &str, name: &str, body: &str) -> Result<Option<String>, PatchError> {
    let fences = parse(text).map_err(PatchError::Malformed)?;
    let fence = fences
        .iter()
        .find(|f| f.name == name)
        .ok_or_else(|| PatchError::Missing(name.to_string()))?;
    if let Some((line, text)) = marker_line(body) {
        return Err(PatchError::Malformed(FenceError {
            line,
            message: format!(
                "line {line} of the new body of fence \"{name}\" is an AUTO fence marker ({text:?}); a body cannot contain fence markers"
            ),
        }));
    }
    // The body takes the file's line ending, that of its BEGIN marker line,
    // as editors and git's autocrlf-aware tools do: a CRLF file stays CRLF,
    // not LF lines between CRLF markers.
    let crlf = text[..fence.body.start].ends_with("\r\n");
    let body = with_line_endings(body, if crlf { "\r\n" } else { "\n" });
    let current = &text[fence.body.clone()];
    let sum = body_checksum(&body);
    if current == body && fence.checksum.as_deref() == Some(sum.as_str()) {
        return Ok(None);
    }
    if fence.hand_edited(text) {
        return Err(PatchError::HandEdited {
            name: name.to_string(),
            line: fence.begin_line,
        });
    }
    let end_line = format!(
        "{}END {} {} checksum={}{}",
        fence.end_prefix, fence.spelling, fence.name, sum, fence.end_suffix
    );
    let mut out = String::with_capacity(text.len() + body.len());
    out.push_str(&text[..fence.body.start]);
    out.push_str(&body);
    out.push_str(&end_line);
    out.push_str(&text[fence.end_marker.end..]);
    Ok(Some(out))
}

/// `body` with every line ended by `eol` (a final line without one gets one;
/// an empty body stays empty).
fn with_line_endings(body: &str, eol: &str) -> String {
    let mut out = String::with_capacity(body.len() + body.len() / 32);
    for line in body.split_inclusive('\n') {
        let line = line.strip_suffix('\n').unwrap_or(line);
        out.push_str(line.strip_suffix('\r').unwrap_or(line));
        out.push_str(eol);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PY: &str =
        "x = 0\n# BEGIN AUTO SECTION: CONFIG\nold\n# END AUTO SECTION: CONFIG\ny = 1\n";

    #[test]
    fn patch_replaces_body_and_stamps_checksum() {
        let out = patch(PY, "CONFIG", "X = 1").expect("ok").expect("changed");
        let sum = body_checksum("X = 1\n");
        assert_eq!(
            out,
            format!(
                "x = 0\n# BEGIN AUTO SECTION: CONFIG\nX = 1\n# END AUTO SECTION: CONFIG checksum={sum}\ny = 1\n"
            )
        );
        assert_eq!(
            patch(&out, "CONFIG", "X = 1\n").expect("ok"),
            None,
            "idempotent"
        );
        let again = patch(&out, "CONFIG", "X = 2\n")
            .expect("ok")
            .expect("changed");
        assert!(again.contains("X = 2\n# END AUTO SECTION: CONFIG checksum="));
    }

    #[test]
    fn keeps_comment_syntax_of_html() {
        let md = "<!-- BEGIN AUTO SECTION: T -->\n<!-- END AUTO SECTION: T -->\n";
        let out = patch(md, "T", "row\n").expect("ok").expect("changed");
        assert!(
            out.ends_with(&format!(
                "row\n<!-- END AUTO SECTION: T checksum={} -->\n",
                body_checksum("row\n")
            )),
            "{out}"
        );
        assert_eq!(
            parse(&out).expect("parses")[0].checksum.as_deref(),
            Some(body_checksum("row\n").as_str())
        );
    }

    #[test]
    fn hand_edit_is_refused() {
        let out = patch(PY, "CONFIG", "X = 1\n")
            .expect("ok")
            .expect("changed");
        let edited = out.replace("X = 1", "X = 99");
        assert_eq!(
            patch(&edited, "CONFIG", "X = 2\n"),
            Err(PatchError::HandEdited {
                name: "CONFIG".into(),
                line: 2
            })
        );
    }

    #[test]
    fn malformed_fences_are_errors() {
        let cases = [
            ("# END AUTO SECTION: A\n", "END of \"A\" without a BEGIN"),
            ("# BEGIN AUTO SECTION: A\n", "fence \"A\" has no END marker"),
            (
                "# BEGIN AUTO SECTION: A\n# BEGIN AUTO SECTION: B\n",
                "cannot nest",
            ),
            (
                "# BEGIN AUTO SECTION: A\n# END AUTO SECTION: B\n",
                "closes fence \"A\"",
            ),
            (
                "# BEGIN AUTO SECTION: A\n# END AUTO SECTION: A\n# BEGIN AUTO SECTION: A\n# END AUTO SECTION: A\n",
                "appears twice",
            ),
        ];
        for (text, msg) in cases {
            let e = parse(text).expect_err(text);
            assert!(e.message.contains(msg), "{text:?}: {e}");
        }
    }

    #[test]
    fn fence_markers_in_a_new_body_are_refused() {
        for body in [
            "a\n# END AUTO SECTION: CONFIG\nb\n",
            "# BEGIN AUTO SECTION: OTHER\n",
            "x\n<!-- END AUTO-SECTION: CONFIG -->",
        ] {
            let e = patch(PY, "CONFIG", body).expect_err(body);
            assert!(e.to_string().contains("fence marker"), "{body:?}: {e}");
        }
        assert_eq!(
            marker_line("a\nb\n# END AUTO SECTION: X\n"),
            Some((3, "# END AUTO SECTION: X"))
        );
        assert_eq!(marker_line("BEGIN AUTO is not a marker\n"), None);
    }

    /// `patch_region` on a CRLF file wrote an LF body between CRLF markers,
    /// leaving the file with mixed line endings.
    #[test]
    fn a_crlf_file_gets_a_crlf_body_not_mixed_line_endings() {
        let crlf = PY.replace('\n', "\r\n");
        let out = patch(&crlf, "CONFIG", "X = 1\nY = 2")
            .expect("ok")
            .expect("changed");
        let sum = body_checksum("X = 1\r\nY = 2\r\n");
        assert_eq!(
            out,
            format!(
                "x = 0\r\n# BEGIN AUTO SECTION: CONFIG\r\nX = 1\r\nY = 2\r\n# END AUTO SECTION: CONFIG checksum={sum}\r\ny = 1\r\n"
            )
        );
        assert!(
            !out.replace("\r\n", "").contains('\n'),
            "no LF alone: {out:?}"
        );
        // The same content again is nothing to do, in either spelling.
        assert_eq!(patch(&out, "CONFIG", "X = 1\nY = 2\n"), Ok(None));
        assert_eq!(patch(&out, "CONFIG", "X = 1\r\nY = 2\r\n"), Ok(None));
        // And an LF file keeps LF, whatever the content's endings.
        let lf = patch(PY, "CONFIG", "X = 1\r\n")
            .expect("ok")
            .expect("changed");
        assert!(
            lf.contains("\nX = 1\n# END") && !lf.contains('\r'),
            "{lf:?}"
        );
    }

    /// A checkout converted between LF and CRLF (git's autocrlf, an `eol`
    /// attribute) made every fence look edited by hand: the checksum was of
    /// the bytes, line endings included.
    #[test]
    fn a_fence_converted_between_lf_and_crlf_was_taken_for_a_hand_edit() {
        let text = "x = 0\n# BEGIN AUTO SECTION: CONFIG\n# END AUTO SECTION: CONFIG\n";
        let lf = patch(text, "CONFIG", "X = 1\nY = 2\n")
            .expect("patch")
            .expect("changed");
        let crlf = lf.replace('\n', "\r\n");
        for converted in [crlf.as_str(), lf.as_str()] {
            let fence = &parse(converted).expect("parses")[0];
            assert!(!fence.hand_edited(converted), "{converted:?}");
            assert_eq!(
                patch(converted, "CONFIG", "X = 1\nY = 2\n").expect("patch"),
                None,
                "nothing to do: {converted:?}"
            );
        }
        let back = crlf.replace("\r\n", "\n");
        assert_eq!(back, lf);
        // A real edit is still one.
        let edited = crlf.replace("Y = 2", "Y = 3");
        assert!(parse(&edited).expect("parses")[0].hand_edited(&edited));
    }

    #[test]
    fn seed_spelling_is_accepted() {
        let t = "# BEGIN AUTO-SECTION: WATCHER_CONFIG\na\n# END AUTO-SECTION: WATCHER_CONFIG\n";
        let out = patch(t, "WATCHER_CONFIG", "b\n")
            .expect("ok")
            .expect("changed");
        assert!(out.contains("# END AUTO-SECTION: WATCHER_CONFIG checksum="));
    }
}
