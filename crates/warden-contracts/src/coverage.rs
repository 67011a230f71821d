//! Coverage thresholds. Meta files *declare* them —
//! `expectations.coverage_target` in a test spec, `ci_contracts.min_<kind>_coverage`
//! in the repository contract — and `warden check --coverage [KIND=]FILE`
//! compares them with a coverage report someone else produced: warden does
//! not run tests. Without a report for a kind, its thresholds are not
//! checked. Reports: Cobertura XML, coverage.py JSON and lcov, told apart by
//! their content. Line coverage always; branch coverage where the format
//! carries it (Cobertura `branches-covered`/`branches-valid` and each
//! line's `condition-coverage`, lcov `BRF`/`BRH`/`BRDA`, coverage.py
//! `covered_branches`/`num_branches`).

use std::collections::BTreeMap;
use std::path::Path;
use warden_core::{Error, Result};

/// The kinds of coverage a threshold can name.
pub const KINDS: &[&str] = &["unit", "integration", "e2e"];

/// One coverage report: per file (repository-relative when the report's
/// paths lie inside the repository) covered and coverable lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// unit | integration | e2e.
    pub kind: String,
    /// Where it was read from, as given.
    pub file: String,
    /// Which format it was: cobertura | coverage.py | lcov.
    pub format: &'static str,
    pub files: BTreeMap<String, Lines>,
    /// The report's own total (Cobertura's root counts), else the sum of files.
    pub total: Lines,
    /// Per file, covered and coverable branches, for the files the report
    /// has branch data for (empty when it measured none).
    pub branch_files: BTreeMap<String, Lines>,
    /// The report's own branch total, else the sum of `branch_files`;
    /// `None` when the report has no branch data.
    pub branch_total: Option<Lines>,
}

/// What a threshold is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    Lines,
    Branches,
}

impl Measure {
    pub fn name(self) -> &'static str {
        match self {
            Measure::Lines => "lines",
            Measure::Branches => "branches",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lines {
    pub covered: u64,
    pub valid: u64,
}

impl Lines {
    pub fn ratio(self) -> Option<f64> {
        (self.valid > 0).then(|| self.covered as f64 / self.valid as f64)
    }
    fn add(&mut self, o: Lines) {
        self.covered = self.covered.saturating_add(o.covered);
        self.valid = self.valid.saturating_add(o.valid);
    }
}

fn bad(file: &str, field: &str, message: impl Into<String>) -> Error {
    Error::invalid(
        file,
        field,
        message,
        Some("pass a Cobertura XML (coverage.xml), coverage.py JSON (`coverage json`) or lcov (lcov.info) report".into()),
    )
}

/// `--coverage [KIND=]FILE`: the kind (default unit) and the path.
pub fn parse_arg(arg: &str) -> std::result::Result<(String, String), String> {
    match arg.split_once('=') {
        Some((k, f)) if KINDS.contains(&k) && !f.is_empty() => Ok((k.to_string(), f.to_string())),
        Some((k, _)) if !k.contains('/') && !k.contains('.') => Err(format!(
            "--coverage {arg}: unknown kind \"{k}\" (one of: {})",
            KINDS.join(", ")
        )),
        _ if arg.is_empty() => Err("--coverage needs a file".into()),
        _ => Ok(("unit".into(), arg.to_string())),
    }
}

/// Read a report. `root` makes absolute paths inside the repository relative.
pub fn parse(bytes: &[u8], file: &str, kind: &str, root: &Path) -> Result<Report> {
    let text = warden_core::strict::text(bytes, file)?;
    let t = text.trim_start();
    let mut r = if t.starts_with('{') {
        coverage_py(bytes, file)?
    } else if t.starts_with('<') {
        cobertura(text, file)?
    } else if text.lines().any(|l| l.starts_with("SF:")) {
        lcov(text, file)?
    } else {
        return Err(bad(
            file,
            "(document)",
            "not a coverage report this version reads",
        ));
    };
    r.kind = kind.to_string();
    r.file = file.to_string();
    let root_s = root.to_string_lossy().trim_end_matches('/').to_string();
    r.files = std::mem::take(&mut r.files)
        .into_iter()
        .map(|(p, l)| (relative(&p, &root_s), l))
        .collect();
    r.branch_files = std::mem::take(&mut r.branch_files)
        .into_iter()
        .map(|(p, l)| (relative(&p, &root_s), l))
        .collect();
    if r.branch_total.is_none() && !r.branch_files.is_empty() {
        let mut t = Lines::default();
        for l in r.branch_files.values() {
            t.add(*l);
        }
        r.branch_total = Some(t);
    }
    Ok(r)
}

fn relative(p: &str, root: &str) -> String {
    let p = p.replace('\\', "/");
    let p = match p.strip_prefix(root) {
        Some(rest) if rest.starts_with('/') => rest.trim_start_matches('/').to_string(),
        _ => p,
    };
    p.trim_start_matches("./").to_string()
}

fn coverage_py(bytes: &[u8], file: &str) -> Result<Report> {
    let v = warden_core::strict::parse_json(bytes, file)?;
    let num = |v: &serde_json::Value, at: &str, k: &str| -> Result<u64> {
        v.get(k)
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| bad(file, format!("{at}.{k}").as_str(), "missing or not a count"))
    };
    let files = v
        .get("files")
        .and_then(serde_json::Value::as_object)
        .ok_or_else(|| {
            bad(
                file,
                "files",
                "a coverage.py JSON report has a `files` object",
            )
        })?;
    let mut r = Report {
        format: "coverage.py",
        ..Report::default()
    };
    for (path, f) in files {
        let at = format!("files.{path}.summary");
        let s = f
            .get("summary")
            .ok_or_else(|| bad(file, at.as_str(), "missing"))?;
        let l = Lines {
            covered: num(s, &at, "covered_lines")?,
            valid: num(s, &at, "num_statements")?,
        };
        r.files.insert(path.clone(), l);
        r.total.add(l);
        // Present only when coverage.py measured branches (`--branch`).
        if s.get("num_branches").is_some() {
            let b = Lines {
                covered: num(s, &at, "covered_branches")?,
                valid: num(s, &at, "num_branches")?,
            };
            r.branch_files.insert(path.clone(), b);
        }
    }
    if let Some(t) = v.get("totals") {
        r.total = Lines {
            covered: num(t, "totals", "covered_lines")?,
            valid: num(t, "totals", "num_statements")?,
        };
        if t.get("num_branches").is_some() {
            r.branch_total = Some(Lines {
                covered: num(t, "totals", "covered_branches")?,
                valid: num(t, "totals", "num_branches")?,
            });
        }
    }
    Ok(r)
}

fn lcov(text: &str, file: &str) -> Result<Report> {
    let mut r = Report {
        format: "lcov",
        ..Report::default()
    };
    let mut cur: Option<(String, Lines, Lines)> = None; // file, LF/LH, counted DA
    let mut has_lf = false;
    // Branches of the current record: BRF/BRH, and counted BRDA.
    let (mut brf, mut brda) = (None::<Lines>, None::<Lines>);
    for (i, line) in text.lines().enumerate() {
        let field = || format!("line {}", i + 1);
        let count = |s: &str| -> Result<u64> {
            s.trim()
                .parse()
                .map_err(|_| bad(file, &field(), format!("\"{line}\" is not a count")))
        };
        if let Some(p) = line.strip_prefix("SF:") {
            cur = Some((p.trim().to_string(), Lines::default(), Lines::default()));
            has_lf = false;
            (brf, brda) = (None, None);
        } else if cur.is_some() && line.starts_with("BRF:") {
            brf.get_or_insert_default().valid = count(&line[4..])?;
        } else if cur.is_some() && line.starts_with("BRH:") {
            brf.get_or_insert_default().covered = count(&line[4..])?;
        } else if let Some(b) = line.strip_prefix("BRDA:").filter(|_| cur.is_some()) {
            // BRDA:LINE,BLOCK,BRANCH,TAKEN ("-": never evaluated).
            let taken = b.split(',').nth(3).ok_or_else(|| {
                bad(
                    file,
                    &field(),
                    format!("\"{line}\" is not BRDA:LINE,BLOCK,BRANCH,TAKEN"),
                )
            })?;
            let d = brda.get_or_insert_default();
            d.valid += 1;
            if taken.trim() != "-" && count(taken)? > 0 {
                d.covered += 1;
            }
        } else if let Some((_, lf, _)) = cur.as_mut().filter(|_| line.starts_with("LF:")) {
            lf.valid = count(&line[3..])?;
            has_lf = true;
        } else if let Some((_, lf, _)) = cur.as_mut().filter(|_| line.starts_with("LH:")) {
            lf.covered = count(&line[3..])?;
        } else if let Some((_, _, da)) = cur.as_mut().filter(|_| line.starts_with("DA:")) {
            let hits = line[3..]
                .split(',')
                .nth(1)
                .ok_or_else(|| bad(file, &field(), format!("\"{line}\" is not DA:LINE,HITS")))?;
            da.valid += 1;
            if count(hits)? > 0 {
                da.covered += 1;
            }
        } else if line.trim() == "end_of_record" {
            let Some((p, lf, da)) = cur.take() else {
                return Err(bad(file, &field(), "end_of_record without SF:"));
            };
            let l = if has_lf { lf } else { da };
            if let Some(b) = brf.or(brda) {
                r.branch_files.entry(p.clone()).or_default().add(b);
            }
            r.files.entry(p).or_default().add(l);
            r.total.add(l);
        }
    }
    if cur.is_some() {
        return Err(bad(file, "(end)", "the last record has no end_of_record"));
    }
    Ok(r)
}

/// The attributes of one XML start tag (`name="value"` pairs), entities in
/// values decoded for the few XML predefines.
fn attrs(tag: &str) -> BTreeMap<&str, String> {
    let mut out = BTreeMap::new();
    let mut rest = tag;
    while let Some(eq) = rest.find('=') {
        let name = rest[..eq]
            .trim()
            .rsplit(char::is_whitespace)
            .next()
            .unwrap_or("");
        let after = rest[eq + 1..].trim_start();
        let Some(q) = after.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            break;
        };
        let Some(end) = after[1..].find(q) else { break };
        let v = &after[1..1 + end];
        out.insert(
            name,
            v.replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&amp;", "&"),
        );
        rest = &after[end + 2..];
    }
    out
}

/// Cobertura XML: `<coverage lines-covered lines-valid>` (or `line-rate`),
/// `<source>` folders, and per `<class filename>` its `<line hits>`.
fn cobertura(text: &str, file: &str) -> Result<Report> {
    let mut c = Cobertura {
        file,
        r: Report {
            format: "cobertura",
            ..Report::default()
        },
        sources: Vec::new(),
        root_total: None,
        root_branches: None,
        class: None,
        seen_root: false,
    };
    for tag in (XmlTags { rest: text, file }) {
        let (name, tag, rest) = tag?;
        c.element(name, tag, rest)?;
    }
    c.finish()
}

/// The tags of an XML text, comments skipped: each tag's name, the text
/// inside its angle brackets and the text after it. An unclosed tag or
/// comment is an error (and the last item).
struct XmlTags<'a> {
    rest: &'a str,
    file: &'a str,
}

impl<'a> Iterator for XmlTags<'a> {
    type Item = Result<(&'a str, &'a str, &'a str)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let lt = self.rest.find('<')?;
            let after = &self.rest[lt + 1..];
            if let Some(c) = after.strip_prefix("!--") {
                let Some(end) = c.find("-->") else {
                    self.rest = "";
                    return Some(Err(bad(self.file, "(xml)", "unclosed comment")));
                };
                self.rest = &c[end + 3..];
                continue;
            }
            let Some(gt) = after.find('>') else {
                self.rest = "";
                return Some(Err(bad(self.file, "(xml)", "a tag is not closed")));
            };
            let tag = &after[..gt];
            self.rest = &after[gt + 1..];
            let name_end = tag
                .find(|c: char| c.is_whitespace() || c == '/')
                .unwrap_or(tag.len());
            return Some(Ok((&tag[..name_end], tag, self.rest)));
        }
    }
}

/// A Cobertura report as its elements are read.
struct Cobertura<'a> {
    file: &'a str,
    r: Report,
    sources: Vec<String>,
    /// The root's own totals, when it has them.
    root_total: Option<Lines>,
    root_branches: Option<Lines>,
    /// The file of the `<class>` being read.
    class: Option<String>,
    seen_root: bool,
}

impl Cobertura<'_> {
    fn element(&mut self, name: &str, tag: &str, rest: &str) -> Result<()> {
        match name {
            "coverage" => {
                self.seen_root = true;
                let a = attrs(tag);
                let pair = |covered: &str, valid: &str| {
                    let n = |k: &str| a.get(k).and_then(|v| v.parse::<u64>().ok());
                    Some(Lines {
                        covered: n(covered)?,
                        valid: n(valid)?,
                    })
                };
                self.root_total = pair("lines-covered", "lines-valid");
                self.root_branches = pair("branches-covered", "branches-valid");
            }
            "source" => {
                if let Some(end) = rest.find("</source>") {
                    self.sources.push(rest[..end].trim().to_string());
                }
            }
            "class" => {
                let a = attrs(tag);
                let f = a.get("filename").ok_or_else(|| {
                    bad(self.file, "class.filename", "a <class> without filename")
                })?;
                self.r.files.entry(f.clone()).or_default();
                self.class = Some(f.clone());
            }
            "/class" => self.class = None,
            "line" => self.line(tag)?,
            _ => {}
        }
        Ok(())
    }

    /// A `<line hits>` inside a class: a valid line, covered when hit, and
    /// for a branch line its `condition-coverage="50% (1/2)"`.
    fn line(&mut self, tag: &str) -> Result<()> {
        let Some(c) = &self.class else {
            return Ok(());
        };
        let a = attrs(tag);
        let hits: u64 = a
            .get("hits")
            .and_then(|h| h.parse().ok())
            .ok_or_else(|| bad(self.file, "line.hits", "a <line> without a hits count"))?;
        let l = self.r.files.entry(c.clone()).or_default();
        l.valid += 1;
        if hits > 0 {
            l.covered += 1;
        }
        if a.get("branch").map(String::as_str) == Some("true")
            && let Some((cov, all)) = a
                .get("condition-coverage")
                .and_then(|cc| condition_coverage(cc))
        {
            let b = self.r.branch_files.entry(c.clone()).or_default();
            b.add(Lines {
                covered: cov.min(all),
                valid: all,
            });
        }
        Ok(())
    }

    /// The report: class files under the first `<source>`, the totals the
    /// root states (else the sum of the files).
    fn finish(self) -> Result<Report> {
        let mut r = self.r;
        if !self.seen_root {
            return Err(bad(self.file, "coverage", "no <coverage> element"));
        }
        // Class file names are relative to a <source>.
        if let Some(src) = self.sources.first().filter(|s| !s.is_empty()) {
            let under = |m: BTreeMap<String, Lines>| {
                m.into_iter()
                    .map(|(p, l)| {
                        if p.starts_with('/') {
                            (p, l)
                        } else {
                            (format!("{}/{p}", src.trim_end_matches('/')), l)
                        }
                    })
                    .collect()
            };
            r.files = under(std::mem::take(&mut r.files));
            r.branch_files = under(std::mem::take(&mut r.branch_files));
        }
        r.branch_total = self.root_branches;
        r.total = match self.root_total {
            Some(t) => t,
            None => {
                let mut t = Lines::default();
                for l in r.files.values() {
                    t.add(*l);
                }
                t
            }
        };
        Ok(r)
    }
}

/// `"50% (1/2)"` → (1, 2).
fn condition_coverage(text: &str) -> Option<(u64, u64)> {
    let (x, y) = text.split_once('(')?.1.strip_suffix(')')?.split_once('/')?;
    Some((x.trim().parse().ok()?, y.trim().parse().ok()?))
}

/// A threshold value as written: a ratio (0.85) or a percentage (85).
pub fn threshold(v: &serde_json::Value) -> Option<f64> {
    let x = v.as_f64()?;
    if !(0.0..=100.0).contains(&x) {
        return None;
    }
    Some(if x > 1.0 { x / 100.0 } else { x })
}

/// The lines of the files under any of `prefixes` (a file or a folder,
/// repository-relative), or the report's total when there are none.
pub fn measured(r: &Report, prefixes: &[String]) -> (Lines, usize) {
    measured_in(&r.files, r.total, prefixes)
}

/// [`measured`] for `what`: `None` for branches when the report has no
/// branch data.
pub fn measured_as(r: &Report, what: Measure, prefixes: &[String]) -> Option<(Lines, usize)> {
    match what {
        Measure::Lines => Some(measured(r, prefixes)),
        Measure::Branches => r
            .branch_total
            .map(|t| measured_in(&r.branch_files, t, prefixes)),
    }
}

fn measured_in(
    files: &BTreeMap<String, Lines>,
    total: Lines,
    prefixes: &[String],
) -> (Lines, usize) {
    if prefixes.is_empty() {
        return (total, files.len());
    }
    let mut t = Lines::default();
    let mut n = 0;
    for (p, l) in files {
        let under = prefixes.iter().any(|pre| {
            let pre = pre.trim_start_matches('/').trim_end_matches('/');
            p == pre || p.starts_with(&format!("{pre}/"))
        });
        if under {
            t.add(*l);
            n += 1;
        }
    }
    (t, n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_the_three_formats() {
        let root = Path::new("/repo");
        let xml = r#"<?xml version="1.0" ?>
<coverage version="7.4" line-rate="0.5" lines-covered="1" lines-valid="2">
  <sources><source>/repo</source></sources>
  <!-- a comment <class filename="no"> -->
  <packages><package name="l9"><classes>
    <class name="q.py" filename="l9/core/q.py" line-rate="0.5">
      <lines><line number="1" hits="3"/><line number="2" hits="0"/></lines>
    </class>
  </classes></package></packages>
</coverage>"#;
        let r = parse(xml.as_bytes(), "coverage.xml", "unit", root).expect("xml");
        assert_eq!(r.format, "cobertura");
        assert_eq!(
            r.files["l9/core/q.py"],
            Lines {
                covered: 1,
                valid: 2
            }
        );
        assert_eq!(r.total.ratio(), Some(0.5));
        let json = r#"{"meta": {}, "files": {"l9/core/q.py": {"summary": {"covered_lines": 9, "num_statements": 10}}},
            "totals": {"covered_lines": 9, "num_statements": 10}}"#;
        let r = parse(json.as_bytes(), "coverage.json", "unit", root).expect("json");
        assert_eq!(
            r.total,
            Lines {
                covered: 9,
                valid: 10
            }
        );
        let lcov = "TN:\nSF:/repo/src/a.rs\nDA:1,1\nDA:2,0\nend_of_record\nSF:src/b.rs\nLF:4\nLH:4\nend_of_record\n";
        let r = parse(lcov.as_bytes(), "lcov.info", "integration", root).expect("lcov");
        assert_eq!(
            r.files["src/a.rs"],
            Lines {
                covered: 1,
                valid: 2
            }
        );
        assert_eq!(
            r.total,
            Lines {
                covered: 5,
                valid: 6
            }
        );
        assert_eq!(
            measured(&r, &["src/a.rs".into()]),
            (
                Lines {
                    covered: 1,
                    valid: 2
                },
                1
            )
        );
        assert_eq!(measured(&r, &["src/".into()]).1, 2);
        assert_eq!(measured(&r, &["sr".into()]).1, 0);
    }

    #[test]
    fn branch_counts_are_read_where_the_format_has_them() {
        let root = Path::new("/repo");
        let b = |covered, valid| Lines { covered, valid };
        // Cobertura: the root's counts, and each branch line's condition-coverage.
        let xml = r#"<coverage lines-covered="2" lines-valid="2" branches-covered="3" branches-valid="8" branch-rate="0.375">
  <sources><source>/repo</source></sources>
  <class name="q" filename="l9/q.py"><lines>
    <line number="1" hits="1" branch="true" condition-coverage="50% (1/2)"/>
    <line number="2" hits="1" branch="false"/>
  </lines></class>
  <class name="r" filename="l9/r.py"><lines>
    <line number="1" hits="1" branch="true" condition-coverage="33% (2/6)"/>
  </lines></class>
</coverage>"#;
        let r = parse(xml.as_bytes(), "coverage.xml", "unit", root).expect("xml");
        assert_eq!(r.branch_total, Some(b(3, 8)));
        assert_eq!(r.branch_files["l9/q.py"], b(1, 2));
        assert_eq!(
            measured_as(&r, Measure::Branches, &["l9/r.py".into()]),
            Some((b(2, 6), 1))
        );
        // lcov: BRF/BRH when given, else the BRDA lines ("-" = not taken).
        let lcov = "SF:a.rs\nDA:1,1\nBRDA:1,0,0,1\nBRDA:1,0,1,-\nBRDA:1,0,2,0\nend_of_record\nSF:b.rs\nDA:1,1\nBRF:4\nBRH:4\nend_of_record\nSF:c.rs\nDA:1,1\nend_of_record\n";
        let r = parse(lcov.as_bytes(), "lcov.info", "unit", root).expect("lcov");
        assert_eq!(r.branch_files["a.rs"], b(1, 3));
        assert_eq!(r.branch_files["b.rs"], b(4, 4));
        assert!(!r.branch_files.contains_key("c.rs"));
        assert_eq!(r.branch_total, Some(b(5, 7)));
        // coverage.py: only when measured with --branch.
        let json = r#"{"files": {"a.py": {"summary": {"covered_lines": 1, "num_statements": 1, "covered_branches": 1, "num_branches": 4}}},
            "totals": {"covered_lines": 1, "num_statements": 1, "covered_branches": 1, "num_branches": 4}}"#;
        let r = parse(json.as_bytes(), "coverage.json", "unit", root).expect("json");
        assert_eq!(r.branch_total, Some(b(1, 4)));
        assert_eq!(r.branch_files["a.py"], b(1, 4));
        let lines_only =
            r#"{"files": {"a.py": {"summary": {"covered_lines": 1, "num_statements": 1}}}}"#;
        let r = parse(lines_only.as_bytes(), "coverage.json", "unit", root).expect("json");
        assert_eq!(r.branch_total, None);
        assert_eq!(measured_as(&r, Measure::Branches, &[]), None);
        assert_eq!(measured_as(&r, Measure::Lines, &[]), Some((b(1, 1), 1)));
    }

    #[test]
    fn bad_reports_and_arguments_name_the_problem() {
        let root = Path::new("/repo");
        for (text, what) in [
            ("hello", "not a coverage report"),
            ("{\"files\": 3}", "`files` object"),
            ("SF:a\nDA:1\nend_of_record\n", "DA:LINE,HITS"),
            ("SF:a\nDA:1,1\n", "no end_of_record"),
            ("<coverage><class name='x'>", "without filename"),
        ] {
            let e = parse(text.as_bytes(), "f", "unit", root).expect_err(text);
            assert!(e.to_string().contains(what), "{e}");
        }
        assert_eq!(parse_arg("x.xml"), Ok(("unit".into(), "x.xml".into())));
        assert_eq!(
            parse_arg("integration=cov/i.json"),
            Ok(("integration".into(), "cov/i.json".into()))
        );
        assert!(parse_arg("smoke=x").is_err());
        assert_eq!(threshold(&serde_json::json!(85)), Some(0.85));
        assert_eq!(threshold(&serde_json::json!(0.8)), Some(0.8));
        assert_eq!(threshold(&serde_json::json!(-1)), None);
    }

    #[test]
    fn cobertura_names_an_unclosed_comment_or_tag_and_a_missing_root_or_hits_count() {
        let root = Path::new("/repo");
        for (text, what) in [
            ("<coverage><!-- never closed", "unclosed comment"),
            ("<coverage lines-valid=\"2\"", "a tag is not closed"),
            ("<report/>", "no <coverage> element"),
            (
                "<coverage><class filename='a.py'><line number='1'/></class></coverage>",
                "without a hits count",
            ),
        ] {
            let e = parse(text.as_bytes(), "cov.xml", "unit", root).expect_err(text);
            assert!(e.to_string().contains(what), "{text}: {e}");
        }
        // A comment hides the tags inside it; a line outside a class counts for nothing.
        let r = parse(
            b"<coverage><!-- <class filename='x.py'> --><line hits='1'/></coverage>",
            "cov.xml",
            "unit",
            root,
        )
        .expect("xml");
        assert!(r.files.is_empty(), "{:?}", r.files);
        assert_eq!(r.total, Lines::default());
    }

    #[test]
    fn condition_coverage_reads_the_counts_in_parentheses_only() {
        assert_eq!(condition_coverage("50% (1/2)"), Some((1, 2)));
        assert_eq!(condition_coverage("100% ( 4 / 4 )"), Some((4, 4)));
        for bad in ["50%", "50% (1/2", "(1-2)", "(x/2)", "(1/)"] {
            assert_eq!(condition_coverage(bad), None, "{bad}");
        }
    }

    proptest! {
        /// Any bytes: a report or an error naming the file, never a panic.
        #[test]
        fn any_bytes_parse_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..300),
                                           text in "[<>a-z =\"'/!:,SFDALHBR0-9\n{}-]{0,200}") {
            for b in [bytes.as_slice(), text.as_bytes()] {
                if let Err(e) = parse(b, "cov", "unit", Path::new("/r")) {
                    prop_assert!(e.to_string().contains("cov"));
                }
            }
        }
    }
}
