//! A strict unified-diff applier for `payload.inline.diff`: every context and
//! removed line must match exactly at the position the hunk names (no fuzz, no
//! offset search), so a diff applies to exactly the content it was made from.
//! Renames, binary patches and mode changes are refused.

/// One file's part of a unified diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff {
    pub old: Option<String>,
    pub new: Option<String>,
    hunks: Vec<Hunk>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Hunk {
    old_start: usize,
    old_len: usize,
    new_len: usize,
    /// (' ' | '-' | '+', line text including its "\n" unless at EOF without one)
    lines: Vec<(char, String)>,
}

fn strip_prefix(p: &str) -> String {
    let p = p.split('\t').next().unwrap_or(p).trim_end();
    p.strip_prefix("a/")
        .or_else(|| p.strip_prefix("b/"))
        .unwrap_or(p)
        .to_string()
}

fn name(header: &str) -> Option<String> {
    let n = strip_prefix(header);
    (n != "/dev/null").then_some(n)
}

fn range(s: &str) -> Result<(usize, usize), String> {
    let (a, b) = match s.split_once(',') {
        Some((a, b)) => (a, b),
        None => (s, "1"),
    };
    let a = a.parse().map_err(|_| format!("bad hunk range \"{s}\""))?;
    let b = b.parse().map_err(|_| format!("bad hunk range \"{s}\""))?;
    Ok((a, b))
}

/// Parse a (possibly multi-file) unified diff.
pub fn parse(text: &str) -> Result<Vec<FileDiff>, String> {
    let mut files: Vec<FileDiff> = Vec::new();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        refuse_unsupported(l)?;
        if let Some(old) = l.strip_prefix("--- ") {
            files.push(file_header(old, lines.get(i + 1).copied())?);
            i += 2;
        } else if let Some(rest) = l.strip_prefix("@@ -") {
            let file = files
                .last_mut()
                .ok_or("a hunk before any \"--- \"/\"+++ \" header")?;
            let (hunk, next) = hunk(rest, &lines, i + 1)?;
            file.hunks.push(hunk);
            i = next;
        } else {
            i += 1;
        }
    }
    check_files(&files)?;
    Ok(files)
}

/// Binary patches, renames and mode changes are refused wherever they appear.
fn refuse_unsupported(l: &str) -> Result<(), String> {
    if l.starts_with("GIT binary patch") || l.starts_with("Binary files ") {
        return Err("binary patches are not supported".into());
    }
    if l.starts_with("rename from ") || l.starts_with("old mode ") {
        return Err("renames and mode changes are not supported; use moveFile".into());
    }
    Ok(())
}

/// A file's `--- OLD` / `+++ NEW` header (`old` is what follows `--- `,
/// `next` the line after it).
fn file_header(old: &str, next: Option<&str>) -> Result<FileDiff, String> {
    let new = next
        .and_then(|n| n.strip_prefix("+++ "))
        .ok_or("a \"--- \" line must be followed by \"+++ \"")?;
    let (old, new) = (
        name(old.trim_end_matches('\n')),
        name(new.trim_end_matches('\n')),
    );
    if old.is_none() && new.is_none() {
        return Err("both sides are /dev/null".into());
    }
    if let (Some(a), Some(b)) = (&old, &new)
        && a != b
    {
        return Err(format!(
            "renames are not supported ({a} -> {b}); use moveFile"
        ));
    }
    Ok(FileDiff {
        old,
        new,
        hunks: Vec::new(),
    })
}

/// One hunk: `rest` is its header after `@@ -`, its lines start at
/// `lines[i]`. Returns the hunk and the index of the line after it.
fn hunk(rest: &str, lines: &[&str], mut i: usize) -> Result<(Hunk, usize), String> {
    let (ranges, _) = rest.split_once(" @@").ok_or("bad hunk header")?;
    let (o, n) = ranges.split_once(" +").ok_or("bad hunk header")?;
    let (old_start, old_len) = range(o)?;
    let (_, new_len) = range(n)?;
    let mut hunk = Hunk {
        old_start,
        old_len,
        new_len,
        lines: Vec::new(),
    };
    let no_newline = |i: usize| lines.get(i).is_some_and(|n| n.starts_with("\\ "));
    let (mut seen_old, mut seen_new) = (0, 0);
    while i < lines.len() && (seen_old < old_len || seen_new < new_len) {
        let (tag, body) = hunk_line(lines[i])?;
        if matches!(tag, ' ' | '-') {
            seen_old += 1;
        }
        if matches!(tag, ' ' | '+') {
            seen_new += 1;
        }
        hunk.lines.push((tag, body.to_string()));
        i += 1;
        if no_newline(i) {
            if let Some(last) = hunk.lines.last_mut()
                && last.1.ends_with('\n')
            {
                last.1.pop();
            }
            i += 1;
        }
    }
    if seen_old != old_len || seen_new != new_len {
        return Err("a hunk is shorter than its header says".into());
    }
    while no_newline(i) {
        i += 1;
    }
    Ok((hunk, i))
}

/// A hunk line's tag (' ', '-' or '+') and text.
fn hunk_line(l: &str) -> Result<(char, &str), String> {
    match l.chars().next() {
        Some(c @ (' ' | '-' | '+')) => Ok((c, &l[1..])),
        // Some tools drop the space of an empty context line.
        Some('\n') => Ok((' ', "\n")),
        _ => Err(format!("unexpected line in hunk: {:?}", l.trim_end())),
    }
}

/// At least one file, each with hunks, none twice.
fn check_files(files: &[FileDiff]) -> Result<(), String> {
    if files.is_empty() {
        return Err("no file headers (\"--- a/PATH\" / \"+++ b/PATH\") found".into());
    }
    if let Some(f) = files.iter().find(|f| f.hunks.is_empty()) {
        return Err(format!("{} has no hunks", f.path()));
    }
    let mut seen = std::collections::BTreeSet::new();
    for f in files {
        if !seen.insert(f.path().to_string()) {
            return Err(format!("{} appears twice", f.path()));
        }
    }
    Ok(())
}

impl FileDiff {
    pub fn path(&self) -> &str {
        self.new.as_deref().or(self.old.as_deref()).unwrap_or("")
    }

    /// Apply to the current content (`None`: the file does not exist).
    /// Returns the new content, or `None` when the diff deletes the file.
    pub fn apply(&self, current: Option<&[u8]>) -> Result<Option<String>, String> {
        let text = match (current, &self.old) {
            (None, None) => String::new(),
            (Some(_), None) => return Err("the diff creates the file, but it exists".into()),
            (None, Some(_)) => return Err("the file does not exist".into()),
            (Some(b), Some(_)) => String::from_utf8(b.to_vec())
                .map_err(|_| "the current content is not UTF-8 text".to_string())?,
        };
        let old: Vec<&str> = text.split_inclusive('\n').collect();
        let mut out = String::new();
        let mut pos = 0usize;
        for h in &self.hunks {
            let start = if h.old_len == 0 {
                h.old_start
            } else {
                h.old_start.saturating_sub(1)
            };
            if start < pos || start > old.len() {
                return Err(format!(
                    "hunk at line {} is out of order or past the end",
                    h.old_start
                ));
            }
            for l in &old[pos..start] {
                out.push_str(l);
            }
            pos = start;
            for (tag, body) in &h.lines {
                match tag {
                    ' ' | '-' => {
                        if old.get(pos) != Some(&body.as_str()) {
                            return Err(format!(
                                "line {} does not match the diff's {}",
                                pos + 1,
                                if *tag == ' ' {
                                    "context"
                                } else {
                                    "removed line"
                                }
                            ));
                        }
                        if *tag == ' ' {
                            out.push_str(body);
                        }
                        pos += 1;
                    }
                    _ => out.push_str(body),
                }
            }
        }
        for l in &old[pos..] {
            out.push_str(l);
        }
        if self.new.is_none() {
            if !out.is_empty() {
                return Err(
                    "the diff deletes the file but does not remove all of its lines".into(),
                );
            }
            return Ok(None);
        }
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_create_modify_delete_and_refuses_mismatch() {
        let d = "--- a/x.txt\n+++ b/x.txt\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1 @@\n+hi\n\\ No newline at end of file\n--- a/gone.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n";
        let files = parse(d).expect("parse");
        assert_eq!(files.len(), 3);
        assert_eq!(
            files[0].apply(Some(b"a\nb\nc\nd\n")).expect("apply"),
            Some("a\nB\nc\nd\n".into())
        );
        assert!(files[0].apply(Some(b"a\nx\nc\n")).is_err());
        assert_eq!(files[1].apply(None).expect("create"), Some("hi".into()));
        assert!(files[1].apply(Some(b"")).is_err());
        assert_eq!(files[2].apply(Some(b"bye\n")).expect("delete"), None);
        assert!(files[2].apply(Some(b"bye\nmore\n")).is_err());
        assert!(parse("--- a/x\n+++ b/y\n@@ -1 +1 @@\n-a\n+b\n").is_err());
        assert!(parse("hello\n").is_err());
        assert!(parse("--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n-a\n+b\n").is_err());
    }

    /// Each refusal of the parser, by the step that makes it: the line
    /// checks, the file header, the hunk, the hunk line, the whole diff.
    #[test]
    fn every_malformed_diff_is_refused_with_its_reason() {
        let cases = [
            ("GIT binary patch\n", "binary patches are not supported"),
            (
                "Binary files a/x and b/x differ\n",
                "binary patches are not supported",
            ),
            (
                "rename from a\nrename to b\n",
                "renames and mode changes are not supported",
            ),
            (
                "old mode 100644\nnew mode 100755\n",
                "renames and mode changes are not supported",
            ),
            ("--- a/x\n", "must be followed by \"+++ \""),
            ("--- /dev/null\n+++ /dev/null\n", "both sides are /dev/null"),
            ("--- a/x\n+++ b/y\n", "renames are not supported (x -> y)"),
            ("@@ -1 +1 @@\n-a\n+b\n", "a hunk before any"),
            ("--- a/x\n+++ b/x\n@@ -1 +1\n", "bad hunk header"),
            ("--- a/x\n+++ b/x\n@@ -1 @@\n", "bad hunk header"),
            ("--- a/x\n+++ b/x\n@@ -a +1 @@\n", "bad hunk range \"a\""),
            (
                "--- a/x\n+++ b/x\n@@ -1 +1 @@\n*a\n",
                "unexpected line in hunk: \"*a\"",
            ),
            (
                "--- a/x\n+++ b/x\n@@ -1,2 +1 @@\n-a\n",
                "a hunk is shorter than its header says",
            ),
            ("hello\n", "no file headers"),
            ("--- a/x\n+++ b/x\n", "x has no hunks"),
            (
                "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-b\n+c\n",
                "x appears twice",
            ),
        ];
        for (diff, want) in cases {
            let e = parse(diff).expect_err(want);
            assert!(e.contains(want), "{diff:?}: {e} (wanted {want})");
        }
    }

    /// A context line whose space was dropped, and "\ No newline" after the
    /// last line of each side.
    #[test]
    fn an_empty_context_line_and_no_newline_markers_are_read() {
        let d = "--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n\n-a\n\\ No newline at end of file\n+b\n\\ No newline at end of file\n";
        let files = parse(d).expect("parse");
        assert_eq!(
            files[0].apply(Some(b"\na")).expect("apply"),
            Some("\nb".into())
        );
    }
}
