//! Phase 3: documents from meta. A document is rendered whole when it is
//! missing (or empty); an existing one is *managed* when it carries the stamp
//! fence, and then only the bodies of its AUTO fences change (Markdown comment
//! fences, checksummed by [`warden_core::fence`]). Text outside the fences is
//! kept byte for byte; a fence whose body was edited by hand is reported and
//! left alone; a missing or out-of-order fence is an error, never an append.
//! The stamp names the generator version and the meta's digest, no time, so
//! rendering is a pure function of the meta (byte-identical when re-run).

use crate::meta::MetaType;
use crate::ordered::Node;
use warden_core::digest::{Digest, Hasher};
use warden_core::fence;

pub const STAMP_FENCE: &str = "warden-stamp";
pub const GENERATOR: &str = concat!("warden-contracts ", env!("CARGO_PKG_VERSION"));

/// One managed section: its heading, fence name and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub heading: String,
    pub fence: String,
    pub body: String,
}

/// A fence name for a heading: lower case, '-' between words.
pub fn fence_name(heading: &str) -> String {
    let mut s = String::new();
    for c in heading.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
    }
    s.trim_end_matches('-').to_string()
}

/// The document's title: the project, subsystem or component name.
pub fn title(t: MetaType, meta: &Node) -> String {
    // A title is one line: a newline or a control character in the name is
    // written escaped (`\n`, `\x1b`), never raw into the heading.
    let name = |k: &str| match meta.get(k).and_then(|v| v.get("name")) {
        Some(Node::Scalar(s)) => Some(warden_core::text::inline(s).replace('\n', "\\n")),
        _ => None,
    };
    match t {
        MetaType::RootReadme => name("project"),
        MetaType::SubsystemReadme => name("subsystem"),
        MetaType::ComponentReadme => name("component"),
        _ => None,
    }
    .unwrap_or_else(|| match t {
        MetaType::DocArchitecture => "Architecture".into(),
        MetaType::DocAiCollaboration => "Working with AI".into(),
        MetaType::TestStrategy => "Test strategy".into(),
        _ => "README".into(),
    })
}

/// A body that holds a fence marker cannot be written; it is shown as text.
fn defuse(body: String) -> String {
    let mut body = if fence::marker_line(&body).is_some() {
        body.replace("AUTO SECTION", "AUTO&#32;SECTION")
            .replace("AUTO-SECTION", "AUTO&#45;SECTION")
    } else {
        body
    };
    // As `fence::patch` writes it.
    if !body.is_empty() && !body.ends_with('\n') {
        body.push('\n');
    }
    body
}

/// The managed sections of a document of type `t`, in order, from the
/// meta file as written (`meta_bytes`; its key order is kept).
pub fn sections(t: MetaType, meta_bytes: &[u8], meta_file: &str) -> Vec<Section> {
    let node = Node::parse(&String::from_utf8_lossy(meta_bytes)).unwrap_or(Node::Null);
    sections_of(t, &node, meta_file)
}

fn sections_of(t: MetaType, node: &Node, meta_file: &str) -> Vec<Section> {
    t.gold_sections()
        .iter()
        .zip(t.section_keys())
        .map(|(heading, key)| {
            let body = match node.get(key) {
                Some(v) if *v != Node::Null => render_value(v),
                _ => format!("_Not described yet: add `{key}` to `{meta_file}`._\n"),
            };
            Section {
                heading: (*heading).to_string(),
                fence: fence_name(heading),
                body: defuse(body),
            }
        })
        .collect()
}

/// Everything one rendering reads. The stamp covers all of it, so a
/// document whose stamp and fence checksums match was rendered from exactly
/// these inputs and is in step without parsing the meta ([`in_step`]).
///
/// There is no other input: the title and every section body come from the
/// meta's bytes; the headings and keys of each type, the Markdown layout and
/// the fence syntax are the generator's (named by `generator`); the target
/// path is part of it because the meta's `location` decides it.
#[derive(Debug, Clone, Copy)]
pub struct DocInputs<'a> {
    /// The generator and template version ([`generator_id`]).
    pub generator: &'a str,
    pub meta_type: MetaType,
    pub meta_file: &'a str,
    /// The document's repository-relative path.
    pub target: &'a str,
    pub meta_bytes: &'a [u8],
}

/// The renderer's identity in stamps: the crate version and the template
/// version. Bump [`TEMPLATE_VERSION`] with every change to what a render
/// produces (the test `the_template_version_changes_with_the_rendering`
/// fails until it is bumped).
pub const TEMPLATE_VERSION: u32 = 2;

pub fn generator_id() -> String {
    format!("{GENERATOR} template {TEMPLATE_VERSION}")
}

impl<'a> DocInputs<'a> {
    /// The sha256 (16 hex digits) of every input of the render.
    pub fn digest(&self) -> String {
        inputs_digest(self.generator, self.meta_file, self.target, self.meta_bytes)
    }
}

fn inputs_digest(generator: &str, meta_file: &str, target: &str, meta_bytes: &[u8]) -> String {
    let mut h = Hasher::new();
    h.part(b"warden.doc-stamp/v1")
        .part(generator.as_bytes())
        .part(meta_file.as_bytes())
        .part(target.as_bytes())
        .part(meta_bytes);
    h.finish().short()
}

/// The digest of the managed fences in order: each fence's name and the
/// checksum of its body.
fn sections_digest<'s>(fences: impl Iterator<Item = (&'s str, &'s str)>) -> String {
    let mut h = Hasher::new();
    h.part(b"warden.doc-sections/v1");
    for (name, sum) in fences {
        h.part(name.as_bytes()).part(sum.as_bytes());
    }
    h.finish().short()
}

fn body_sum(body: &str) -> String {
    warden_core::fence::body_checksum(body)
}

fn stamp_body(inp: &DocInputs, sections: &[Section]) -> String {
    let sums: Vec<(String, String)> = sections
        .iter()
        .map(|s| (s.fence.clone(), body_sum(&s.body)))
        .collect();
    let sec = sections_digest(sums.iter().map(|(n, s)| (n.as_str(), s.as_str())));
    format!(
        "<!-- Generated by {} from {} (meta sha256 {}; inputs {}; sections {}). Edit the meta or the text outside the fences; `warden gen docs` keeps both. -->\n",
        inp.generator,
        inp.meta_file,
        Digest::of(inp.meta_bytes).short(),
        inp.digest(),
        sec
    )
}

/// The stamp's recorded input and section digests.
fn stamp_digests(body: &str) -> Option<(&str, &str)> {
    let after = |key: &str| {
        let i = body.rfind(key)? + key.len();
        let r = &body[i..];
        let n = r.find(|c: char| !c.is_ascii_hexdigit()).unwrap_or(r.len());
        (n == 16).then(|| &r[..n])
    };
    Some((after("; inputs ")?, after("; sections ")?))
}

/// Whether a managed document is in step with its meta, decided from the
/// stamp alone: the stamp's input digest equals the digest of the inputs
/// now, every fence body matches the checksum on its END marker, and the
/// fences (names and checksums, in order) are the ones the stamp recorded.
/// No YAML is parsed and nothing is rendered. `false` means "not proven"
/// (the caller renders and compares bytes), never "drift".
pub fn in_step(
    generator: &str,
    meta_file: &str,
    target: &str,
    meta_bytes: &[u8],
    doc: &str,
) -> bool {
    if !doc.contains(STAMP_FENCE) {
        return false;
    }
    let Some(fences) = canonical_fences(doc) else {
        return false;
    };
    let mut stamp = None;
    let mut sums = Vec::with_capacity(fences.len());
    for (name, body, checksum) in fences {
        if checksum != body_sum(body) {
            return false;
        }
        if name == STAMP_FENCE {
            if stamp.is_some() {
                return false;
            }
            stamp = Some(body);
        } else {
            sums.push((name, checksum));
        }
    }
    let Some((inputs, sections)) = stamp.and_then(stamp_digests) else {
        return false;
    };
    inputs == inputs_digest(generator, meta_file, target, meta_bytes)
        && sections == sections_digest(sums.into_iter())
}

/// The fences of a document exactly as warden writes them: every line that
/// mentions an AUTO fence (either spelling) is a canonical
/// `<!-- BEGIN AUTO SECTION: name -->` or
/// `<!-- END AUTO SECTION: name checksum=<16 hex> -->`, BEGIN and END
/// alternate with the same name, no name repeats. Returns (name, body,
/// checksum) in order, or `None` for anything else. Where it answers, the
/// core's `fence::parse` reads the same fences (it treats only lines holding
/// those spellings as markers); it is cheaper because it looks only at the
/// lines that hold "AUTO" and allocates nothing per line. `None` only means
/// "not proven here".
fn canonical_fences(doc: &str) -> Option<Vec<(&str, &str, &str)>> {
    let mut out: Vec<(&str, &str, &str)> = Vec::new();
    let mut open: Option<(&str, usize)> = None;
    let mut line_done = 0;
    for (at, _) in doc.match_indices("AUTO") {
        if at < line_done {
            continue; // a second "AUTO" on a line already looked at
        }
        let start = doc[..at].rfind('\n').map_or(0, |n| n + 1);
        let end = doc[at..].find('\n').map_or(doc.len(), |n| at + n);
        line_done = end;
        let line = &doc[start..end];
        let line = line.strip_suffix('\r').unwrap_or(line);
        if !(line.contains("AUTO SECTION") || line.contains("AUTO-SECTION")) {
            continue;
        }
        if let Some(name) = line
            .strip_prefix("<!-- BEGIN AUTO SECTION: ")
            .and_then(|r| r.strip_suffix(" -->"))
        {
            if open.is_some() || !fence::valid_name(name) || out.iter().any(|(n, _, _)| *n == name)
            {
                return None;
            }
            open = Some((name, (end + 1).min(doc.len())));
        } else {
            let rest = line
                .strip_prefix("<!-- END AUTO SECTION: ")
                .and_then(|r| r.strip_suffix(" -->"))?;
            let (name, sum) = rest.split_once(" checksum=")?;
            let (open_name, body_start) = open.take()?;
            if name != open_name || sum.len() != 16 || !sum.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            out.push((name, &doc[body_start..start], sum));
        }
    }
    if open.is_some() {
        return None;
    }
    Some(out)
}

/// The whole document, every fence stamped.
pub fn render_full(inp: &DocInputs) -> String {
    let node = Node::parse(&String::from_utf8_lossy(inp.meta_bytes)).unwrap_or(Node::Null);
    let sections = sections_of(inp.meta_type, &node, inp.meta_file);
    let mut text = String::new();
    let stamp = stamp_body(inp, &sections);
    text.push_str(&fenced(STAMP_FENCE, &stamp));
    text.push_str(&format!("# {}\n", title(inp.meta_type, &node)));
    for s in &sections {
        text.push_str(&format!("\n## {}\n\n", s.heading));
        text.push_str(&fenced(&s.fence, &s.body));
    }
    text
}

/// A fence with its body and checksum, as `fence::patch` writes it.
fn fenced(name: &str, body: &str) -> String {
    format!(
        "<!-- BEGIN AUTO SECTION: {name} -->\n{body}<!-- END AUTO SECTION: {name} checksum={} -->\n",
        body_sum(body)
    )
}

/// What refreshing an existing document found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refresh {
    /// No stamp fence: a hand-written document; only its headings are checked.
    Unmanaged,
    /// Managed; the new text (equal to the old one when up to date) and the
    /// fences left alone because their bodies were edited by hand.
    Managed {
        text: String,
        hand_edited: Vec<String>,
    },
    /// A fence is malformed, missing or out of order.
    Broken(String),
}

pub fn refresh(inp: &DocInputs, current: &str) -> Refresh {
    // No stamp marker at all: a hand-written document, not parsed further.
    if !current.contains(STAMP_FENCE) {
        return Refresh::Unmanaged;
    }
    // The stamp proves the document in step: nothing to parse or render.
    if in_step(
        inp.generator,
        inp.meta_file,
        inp.target,
        inp.meta_bytes,
        current,
    ) {
        return Refresh::Managed {
            text: current.to_string(),
            hand_edited: Vec::new(),
        };
    }
    refresh_rendered(inp, current)
}

/// [`refresh`] without the stamp's proof: parse the meta, render every
/// section and patch the fences.
pub fn refresh_rendered(inp: &DocInputs, current: &str) -> Refresh {
    if !current.contains(STAMP_FENCE) {
        return Refresh::Unmanaged;
    }
    let fences = match fence::parse(current) {
        Ok(f) => f,
        Err(e) => return Refresh::Broken(e.to_string()),
    };
    if !fences.iter().any(|f| f.name == STAMP_FENCE) {
        return Refresh::Unmanaged;
    }
    let sections = sections(inp.meta_type, inp.meta_bytes, inp.meta_file);
    let mut want: Vec<(String, String)> = vec![(STAMP_FENCE.into(), stamp_body(inp, &sections))];
    want.extend(sections.into_iter().map(|s| (s.fence, s.body)));
    // Order: the expected fences must appear, in the expected order.
    let order: Vec<&str> = fences
        .iter()
        .map(|f| f.name.as_str())
        .filter(|n| want.iter().any(|(w, _)| w == n))
        .collect();
    for (name, _) in &want {
        if !order.contains(&name.as_str()) {
            return Refresh::Broken(format!(
                "the managed fence \"{name}\" is missing (add `<!-- BEGIN AUTO SECTION: {name} -->` and its END marker where the section belongs)"
            ));
        }
    }
    let expected: Vec<&str> = want.iter().map(|(n, _)| n.as_str()).collect();
    if order != expected {
        return Refresh::Broken(format!(
            "managed fences are out of order: found {}, expected {}",
            order.join(", "),
            expected.join(", ")
        ));
    }
    let mut text = current.to_string();
    let mut hand_edited = Vec::new();
    for (name, body) in want {
        match fence::patch(&text, &name, &body) {
            Ok(Some(t)) => text = t,
            Ok(None) => {}
            Err(fence::PatchError::HandEdited { name, .. }) => hand_edited.push(name),
            Err(e) => return Refresh::Broken(e.to_string()),
        }
    }
    Refresh::Managed { text, hand_edited }
}

/// The lines of a Markdown text outside fenced code blocks (```` ``` ```` and
/// `~~~`): each line without its line ending, with the byte offsets of its
/// start and of the byte after its line ending. The fence lines themselves
/// are code, not prose, and are left out.
fn prose_lines(text: &str) -> impl Iterator<Item = (&str, usize, usize)> {
    let mut in_code: Option<&str> = None;
    let mut offset = 0;
    text.split_inclusive('\n').filter_map(move |raw| {
        let start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let t = line.trim_start();
        if let Some(fence) = ["```", "~~~"].into_iter().find(|f| t.starts_with(f)) {
            in_code = match in_code {
                Some(f) if f == fence => None,
                None => Some(fence),
                other => other,
            };
            return None;
        }
        in_code.is_none().then_some((line, start, offset))
    })
}

/// A line's ATX heading, normalised ([`normalise_heading`]), if it is one.
fn atx_heading(line: &str) -> Option<String> {
    let t = line.trim_start();
    let hashes = t.bytes().take_while(|c| *c == b'#').count();
    let rest = &t[hashes..];
    if hashes == 0 || hashes > 6 || !(rest.is_empty() || rest.starts_with(' ')) {
        return None;
    }
    Some(normalise_heading(rest.trim().trim_end_matches('#')))
}

/// The ATX heading lines of a Markdown text outside code blocks: the
/// normalised heading, the byte offset of the line's start and of the byte
/// after its line ending.
fn heading_lines(text: &str) -> Vec<(String, usize, usize)> {
    prose_lines(text)
        .filter_map(|(line, start, end)| Some((atx_heading(line)?, start, end)))
        .collect()
}

/// `gen docs --adopt`: a hand-written document becomes a managed one. The
/// stamp fence goes first; each section the meta manages gets its fence
/// right after its heading (the hand-written text under the heading follows
/// the fence, untouched); a section the document lacks is inserted, heading
/// and fence, before the next managed heading (or at the end). Only
/// insertions: every hand-written byte stays, outside the fences. A
/// document that is already managed, carries fences of its own, or has the
/// managed headings out of order is refused with the reason.
pub fn adopt(inp: &DocInputs, current: &str) -> Result<String, String> {
    refuse_fenced(inp, current)?;
    let node = Node::parse(&String::from_utf8_lossy(inp.meta_bytes)).unwrap_or(Node::Null);
    let sections = sections_of(inp.meta_type, &node, inp.meta_file);
    let at = managed_headings(inp, &sections, current)?;
    let mut text = current.to_string();
    for (o, block) in adopt_inserts(&sections, &at, current).into_iter().rev() {
        text.insert_str(o, &block);
    }
    text.insert_str(0, &fenced(STAMP_FENCE, &stamp_body(inp, &sections)));
    // The result must be what `gen docs` keeps as it is.
    match refresh_rendered(inp, &text) {
        Refresh::Managed {
            text: t,
            hand_edited,
        } if t == text && hand_edited.is_empty() => Ok(text),
        other => Err(format!(
            "{}: the adopted document would not be in step ({other:?}); please report this",
            inp.target
        )),
    }
}

/// Adopt converts only documents without fences: neither the stamp fence
/// (already managed) nor AUTO fences of their own.
fn refuse_fenced(inp: &DocInputs, current: &str) -> Result<(), String> {
    if current.contains(STAMP_FENCE) {
        return Err(format!(
            "{} is already managed (it has the {STAMP_FENCE} fence); `warden gen docs` refreshes it",
            inp.target
        ));
    }
    match fence::parse(current) {
        Ok(f) if f.is_empty() => Ok(()),
        Ok(f) => Err(format!(
            "{} has AUTO fences of its own ({}); adopt converts documents without fences",
            inp.target,
            f.iter()
                .map(|f| f.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Err(e) => Err(format!("{}: {e}", inp.target)),
    }
}

/// Where each managed section's heading line is (start, end), in layout
/// order, or None when the document lacks it; a heading found only before
/// the previous managed one is out of order (refused, with the order).
fn managed_headings(
    inp: &DocInputs,
    sections: &[Section],
    current: &str,
) -> Result<Vec<Option<(usize, usize)>>, String> {
    let found = heading_lines(current);
    let mut at = Vec::new();
    let mut after = 0;
    for s in sections {
        let want = normalise_heading(&s.heading);
        let mut hits = found.iter().filter(|(h, _, _)| *h == want);
        if let Some((_, start, end)) = hits.clone().find(|(_, start, _)| *start >= after) {
            after = *end;
            at.push(Some((*start, *end)));
        } else if hits.next().is_some() {
            return Err(format!(
                "{}: the heading \"{}\" comes before a section that precedes it in the {} layout; put the managed headings in this order first: {}",
                inp.target,
                s.heading,
                inp.meta_type.name(),
                sections
                    .iter()
                    .map(|s| s.heading.as_str())
                    .collect::<Vec<_>>()
                    .join(" · ")
            ));
        } else {
            at.push(None);
        }
    }
    Ok(at)
}

/// The insertions (offset, text) in document order, to be applied from the
/// end so several at one offset keep their order: a fence after each
/// present heading; heading and fence for a missing section before the
/// next present managed heading (or at the end).
fn adopt_inserts(
    sections: &[Section],
    at: &[Option<(usize, usize)>],
    current: &str,
) -> Vec<(usize, String)> {
    let mut inserts: Vec<(usize, String)> = Vec::new();
    for (i, s) in sections.iter().enumerate() {
        let block = match at[i] {
            Some((_, line_end)) => (line_end, format!("\n{}", fenced(&s.fence, &s.body))),
            None => {
                let next = at[i + 1..].iter().flatten().next().map(|(start, _)| *start);
                let block = format!("## {}\n\n{}", s.heading, fenced(&s.fence, &s.body));
                match next {
                    Some(start) => (start, format!("{block}\n")),
                    None => (current.len(), format!("\n{block}")),
                }
            }
        };
        inserts.push(block);
    }
    inserts.sort_by_key(|(o, _)| *o);
    // The last line has no line ending: what follows it starts a new line.
    if !current.is_empty()
        && !current.ends_with('\n')
        && let Some((_, first)) = inserts.iter_mut().find(|(o, _)| *o == current.len())
    {
        first.insert(0, '\n');
    }
    inserts
}

fn humanize(key: &str) -> String {
    let s = key.replace('_', " ");
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => s,
    }
}

fn inline(v: &Node) -> String {
    match v {
        Node::Null => String::new(),
        Node::Scalar(s) => s.trim().to_string(),
        Node::Seq(a) => a.iter().map(inline).collect::<Vec<_>>().join(", "),
        Node::Map(m) => {
            // A name and a path lead, in code style; the rest follows.
            let scalar = |keys: &[&str]| {
                keys.iter().find_map(|k| {
                    m.iter()
                        .find(|(mk, v)| mk == k && matches!(v, Node::Scalar(_)))
                        .map(|(mk, v)| (mk.clone(), inline(v)))
                })
            };
            let name = scalar(&["name", "id", "entity", "module"]);
            let path = scalar(&["path", "file"]);
            let lead_keys: Vec<&str> = [&name, &path]
                .iter()
                .filter_map(|x| x.as_ref().map(|(k, _)| k.as_str()))
                .collect();
            let rest: Vec<(&str, String)> = m
                .iter()
                .filter(|(k, _)| !lead_keys.contains(&k.as_str()))
                .map(|(k, v)| (k.as_str(), inline(v)))
                .collect();
            let body = match rest.as_slice() {
                [(_, only)] if !lead_keys.is_empty() => only.clone(),
                _ => rest
                    .iter()
                    .map(|(k, v)| format!("{}: {v}", k.replace('_', " ")))
                    .collect::<Vec<_>>()
                    .join("; "),
            };
            let lead = match (&name, &path) {
                (Some((_, n)), Some((_, p))) => format!("`{n}` (`{p}`)"),
                (Some((_, x)), None) | (None, Some((_, x))) => format!("`{x}`"),
                (None, None) => String::new(),
            };
            match (lead.is_empty(), body.is_empty()) {
                (true, _) => body,
                (false, true) => lead,
                (false, false) => format!("{lead}: {body}"),
            }
        }
    }
}

/// A meta value as Markdown: text as paragraphs, lists as bullets, mappings
/// as bold labels, in the meta file's order. Deterministic.
pub fn render_value(v: &Node) -> String {
    let mut out = String::new();
    match v {
        Node::Seq(items) => {
            for i in items {
                out.push_str(&format!("- {}\n", inline(i)));
            }
        }
        Node::Map(m) => {
            let mut first = true;
            for (k, v) in m {
                if !first {
                    out.push('\n');
                }
                first = false;
                match v {
                    Node::Seq(items) => {
                        out.push_str(&format!("**{}**:\n\n", humanize(k)));
                        for i in items {
                            out.push_str(&format!("- {}\n", inline(i)));
                        }
                    }
                    Node::Map(sub) => {
                        out.push_str(&format!("**{}**:\n\n", humanize(k)));
                        for (sk, sv) in sub {
                            out.push_str(&format!("- {}: {}\n", humanize(sk), inline(sv)));
                        }
                    }
                    _ => out.push_str(&format!("**{}**: {}\n", humanize(k), inline(v))),
                }
            }
        }
        _ => {
            out.push_str(&inline(v));
            out.push('\n');
        }
    }
    if out.trim().is_empty() {
        out = "_Not described yet._\n".into();
    }
    out
}

/// The ATX headings of a Markdown text (outside code blocks), normalised:
/// trimmed, lower case, single spaces, a leading "1." numbering removed.
pub fn headings(text: &str) -> Vec<String> {
    prose_lines(text)
        .filter_map(|(line, _, _)| atx_heading(line))
        .collect()
}

pub fn normalise_heading(h: &str) -> String {
    let h = h.trim();
    let h = h.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
    h.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: &[u8] = b"type: subsystem_readme\nsubsystem: {name: Agents, purpose: Run agents.}\nresponsibilities: {handles: [tasks], avoids: [http]}\n";
    const M2: &[u8] = b"type: subsystem_readme\nsubsystem: {name: Agents, purpose: Run agents well.}\nresponsibilities: {handles: [tasks], avoids: [http]}\n";

    fn inp<'a>(gen_id: &'a str, meta: &'a [u8]) -> DocInputs<'a> {
        DocInputs {
            generator: gen_id,
            meta_type: MetaType::SubsystemReadme,
            meta_file: "x/README.meta.yaml",
            target: "x/README.md",
            meta_bytes: meta,
        }
    }

    #[test]
    fn full_render_has_every_gold_heading_and_is_deterministic() {
        let g = generator_id();
        let a = render_full(&inp(&g, M));
        assert_eq!(a, render_full(&inp(&g, M)));
        let hs = headings(&a);
        for h in MetaType::SubsystemReadme.gold_sections() {
            assert!(hs.contains(&normalise_heading(h)), "{h}");
        }
        assert!(a.starts_with("<!-- BEGIN AUTO SECTION: warden-stamp -->\n"));
        assert!(a.contains("# Agents\n"), "{a}");
        assert!(a.contains("- tasks\n"), "{a}");
        // A fresh render is in step by its stamp, and by the full comparison.
        assert!(in_step(&g, "x/README.meta.yaml", "x/README.md", M, &a));
        let fences = fence::parse(&a).expect("fences");
        assert!(fences.iter().all(|f| !f.hand_edited(&a)));
        let mut slow = inp(&g, M);
        slow.generator = "another generator";
        // Patching the same bodies into the text changes nothing.
        for s in sections(MetaType::SubsystemReadme, M, "x/README.meta.yaml") {
            assert_eq!(fence::patch(&a, &s.fence, &s.body), Ok(None));
        }
        match refresh(&inp(&g, M), &a) {
            Refresh::Managed { text, hand_edited } => {
                assert_eq!(text, a);
                assert!(hand_edited.is_empty());
            }
            other => panic!("{other:?}"),
        }
        // Another generator renders the same sections but another stamp.
        let Refresh::Managed { text, .. } = refresh(&slow, &a) else {
            panic!("managed")
        };
        assert_ne!(text, a);
    }

    #[test]
    fn refresh_keeps_hand_text_and_refuses_hand_edits_and_broken_markers() {
        let g = generator_id();
        let a = render_full(&inp(&g, M));
        let with_notes = a.replace("## Key components\n", "## Key components\n\nHand notes.\n");
        // Text outside the fences does not take a document out of step.
        assert!(in_step(
            &g,
            "x/README.meta.yaml",
            "x/README.md",
            M,
            &with_notes
        ));
        let Refresh::Managed { text, hand_edited } = refresh(&inp(&g, M2), &with_notes) else {
            panic!("managed")
        };
        assert!(hand_edited.is_empty());
        assert!(text.contains("Hand notes.\n") && text.contains("Run agents well."));
        // Hand edit inside a fence: reported, left alone.
        let edited = a.replace("- tasks\n", "- tasks and more\n");
        assert!(!in_step(
            &g,
            "x/README.meta.yaml",
            "x/README.md",
            M,
            &edited
        ));
        let Refresh::Managed { text, hand_edited } = refresh(&inp(&g, M2), &edited) else {
            panic!("managed")
        };
        assert_eq!(
            hand_edited,
            vec!["responsibilities-and-boundaries".to_string()]
        );
        assert!(text.contains("- tasks and more\n"));
        // A missing fence is an error, never an append.
        let start = a
            .find("<!-- BEGIN AUTO SECTION: observability -->")
            .expect("fence");
        let end = a.find("<!-- END AUTO SECTION: observability").expect("end");
        let end = end + a[end..].find('\n').expect("nl") + 1;
        let missing = format!("{}{}", &a[..start], &a[end..]);
        assert!(!in_step(
            &g,
            "x/README.meta.yaml",
            "x/README.md",
            M,
            &missing
        ));
        assert!(
            matches!(refresh(&inp(&g, M), &missing), Refresh::Broken(e) if e.contains("\"observability\" is missing"))
        );
        // Unmanaged documents are left to people.
        assert_eq!(refresh(&inp(&g, M), "# Hi\n"), Refresh::Unmanaged);
    }

    #[test]
    fn the_stamp_covers_the_meta_the_target_and_the_generator() {
        let g = generator_id();
        let a = render_full(&inp(&g, M));
        assert!(in_step(&g, "x/README.meta.yaml", "x/README.md", M, &a));
        assert!(!in_step(&g, "x/README.meta.yaml", "x/README.md", M2, &a));
        assert!(!in_step(&g, "y/README.meta.yaml", "x/README.md", M, &a));
        assert!(!in_step(&g, "x/README.meta.yaml", "y/README.md", M, &a));
        assert!(!in_step(
            "warden-contracts 9.9.9 template 99",
            "x/README.meta.yaml",
            "x/README.md",
            M,
            &a
        ));
        // A forged stamp body (checksum not updated) proves nothing.
        let forged = a.replacen("; inputs ", "; inputs 0", 1);
        assert!(!in_step(
            &g,
            "x/README.meta.yaml",
            "x/README.md",
            M,
            &forged
        ));
    }

    #[test]
    fn a_body_holding_a_marker_is_shown_as_text() {
        let m = b"type: subsystem_readme\nsubsystem: {name: A, purpose: '<!-- END AUTO SECTION: x -->'}\n";
        let g = generator_id();
        let a = render_full(&inp(&g, m));
        assert!(fence::parse(&a).is_ok(), "{a}");
        assert!(a.contains("AUTO&#32;SECTION"), "{a}");
        assert!(in_step(&g, "x/README.meta.yaml", "x/README.md", m, &a));
        let Refresh::Managed { text, .. } = refresh(&inp(&g, m), &a) else {
            panic!("managed")
        };
        assert_eq!(text, a);
    }

    /// The rendering of every document type's annotated template, pinned:
    /// when it changes, bump [`TEMPLATE_VERSION`] (so every stamp changes and
    /// `gen docs --check` re-renders) and update the digest here.
    #[test]
    fn the_template_version_changes_with_the_rendering() {
        let mut h = Hasher::new();
        for t in MetaType::ALL.into_iter().filter(|t| t.is_document()) {
            let meta = crate::templates::template(t);
            h.part(
                render_full(&DocInputs {
                    generator: "pinned",
                    meta_type: t,
                    meta_file: "m.meta.yaml",
                    target: "m.md",
                    meta_bytes: meta.as_bytes(),
                })
                .as_bytes(),
            );
        }
        let pinned = (TEMPLATE_VERSION, h.finish().short());
        assert_eq!(pinned, (2, "682964936330c033".to_string()));
    }

    #[test]
    fn headings_skip_code_blocks_and_numbering() {
        let t = "# A\n```\n# not\n```\n## 2. Getting  Started ##\n#nope\n";
        assert_eq!(headings(t), vec!["a", "getting started"]);
    }
}
