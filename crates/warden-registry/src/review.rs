//! The interactive review loop, in the manner of `git add -p` and `cargo
//! insta review`, over a reader and a writer so tests can drive it.
//!
//! For each suggestion (deterministic ones first) it shows the kind, the
//! capability, the tier, the rationale, the evidence and the field diff, then
//! asks: `a` apply, `s` skip, `e` edit in `$EDITOR` (the edit is parsed and
//! re-validated; a bad edit is shown and offered again), `q` quit (asks
//! whether to write what was accepted), `A` accept every remaining
//! deterministic suggestion, `?` help. A promotion above `--auto-max-delta`
//! needs a second confirmation. Nothing is written here: the caller writes
//! the accepted batch at the end, so Ctrl-C or end of input writes nothing.

use crate::maintain::{
    Checker, Decided, Gate, PatchOutcome, PatchResult, Prepared, Suggestion, Tier, accept,
};
use crate::model::{Origin, to_yaml};
use crate::patch::{self, RegistryPatch, Stamp};
use std::collections::BTreeMap;
use std::io::{self, BufRead, Write};
use warden_core::text::{inline, shown};

/// Edits text in the user's editor.
pub trait Editor {
    fn edit(&mut self, text: &str) -> io::Result<String>;
}

/// The loop's terminal: answers in, text out, an editor.
pub struct Terminal<'a> {
    pub input: &'a mut dyn BufRead,
    pub output: &'a mut dyn Write,
    pub editor: &'a mut dyn Editor,
}

impl Terminal<'_> {
    /// One answer, trimmed; None at end of input.
    fn ask(&mut self, question: &str) -> io::Result<Option<String>> {
        write!(self.output, "{question}")?;
        self.output.flush()?;
        let mut line = String::new();
        if self.input.read_line(&mut line)? == 0 {
            writeln!(self.output)?;
            return Ok(None);
        }
        Ok(Some(line.trim().to_string()))
    }

    fn yes(&mut self, question: &str) -> io::Result<bool> {
        Ok(matches!(
            self.ask(question)?.as_deref(),
            Some("y" | "Y" | "yes")
        ))
    }
}

const HELP: &str = "a - apply this patch\ns - skip it\ne - edit it in $EDITOR, then decide\nq - quit: asks whether to write the patches accepted so far\nA - apply this and every remaining deterministic (safe) patch\n? - this help\n";

fn show(
    t: &mut Terminal<'_>,
    s: &Suggestion,
    total: usize,
    preview: &str,
    warning: Option<&str>,
) -> io::Result<()> {
    let p = &s.patch;
    writeln!(
        t.output,
        "\n[{}/{}] {} {}  ({}, {}, confidence {})",
        s.id,
        total,
        p.kind.name(),
        shown(&p.capability_id),
        s.tier.name(),
        s.origin.name(),
        p.confidence.name()
    )?;
    // Every value below may come from an LLM or a file: escaped, so what
    // the person judges is what the patch writes (an LLM's `\r` or screen
    // clear cannot redraw the diff line); the LLM's own words say so.
    let whose = if s.origin == Origin::Llm {
        " (the LLM's words)"
    } else {
        ""
    };
    writeln!(t.output, "  why{whose}: {}", shown(&p.rationale))?;
    if !p.evidence_citations.is_empty() {
        let cited: Vec<String> = p
            .evidence_citations
            .iter()
            .map(|c| shown(c).to_string())
            .collect();
        writeln!(t.output, "  evidence: {}", cited.join(", "))?;
    }
    writeln!(t.output, "  {preview}")?;
    if let Some(w) = warning {
        writeln!(t.output, "  warning: {}", shown(w))?;
    }
    Ok(())
}

/// What the patch would change, as one line.
fn preview(
    work: &crate::registry::Registry,
    p: &RegistryPatch,
    origin: Origin,
    date: &str,
) -> String {
    let mut trial = work.clone();
    let stamp = Stamp {
        date: date.into(),
        origin,
        run: None,
    };
    match patch::apply(&mut trial, p, &stamp) {
        Ok(Some(c)) => format!(
            "{}: {}: {} -> {}",
            shown(&c.file),
            shown(&c.field),
            shown(&c.before),
            shown(&c.after)
        ),
        Ok(None) => "no change: already present".into(),
        Err(e) => format!("cannot apply: {}", shown(&e.to_string())),
    }
}

/// Parse and check an edited patch.
fn parse_edit(text: &str) -> Result<RegistryPatch, String> {
    let v = warden_core::strict::parse_yaml(text.as_bytes(), "(edited patch)").map_err(|e| {
        let hint = e.hint().map(|h| format!(" ({h})")).unwrap_or_default();
        format!("{e}{hint}")
    })?;
    let p: RegistryPatch = warden_core::strict::deserialize(
        &v,
        "(edited patch)",
        "see `warden schema registry-patch`",
    )
    .map_err(|e| {
        let hint = e.hint().map(|h| format!(" ({h})")).unwrap_or_default();
        format!("{e}{hint}")
    })?;
    patch::check(&p).map_err(|e| format!("(edited patch): {e}"))?;
    Ok(p)
}

fn rejected(s: &Suggestion, origin: Origin, gate: Gate, why: String) -> PatchResult {
    PatchResult {
        origin,
        ..PatchResult::rejected(s, gate, why)
    }
}

fn skipped(s: &Suggestion, why: &str) -> PatchResult {
    PatchResult {
        id: s.id,
        origin: s.origin,
        tier: s.tier,
        outcome: PatchOutcome::Skipped,
        gate: None,
        reason: Some(why.into()),
        change: None,
        patch: s.patch.clone(),
    }
}

/// Review every suggestion with a person.
pub fn review(
    prepared: &Prepared,
    checker: &Checker<'_>,
    t: &mut Terminal<'_>,
) -> io::Result<Decided> {
    let mut r = Review {
        checker,
        t,
        work: prepared.registry.clone(),
        raised: BTreeMap::new(),
        results: Vec::new(),
        total: prepared.suggestions.len(),
        all_safe: false,
        date: checker.opts.date.clone(),
    };
    checker.prefetch(&prepared.suggestions);
    let mut suggestions = prepared.suggestions.iter();
    while let Some(orig) = suggestions.next() {
        let why = match r.decide(orig)? {
            Step::Next => continue,
            Step::EndOfInput => "not reviewed (end of input)",
            Step::Quit => "not reviewed (quit)",
        };
        for rest in suggestions.by_ref() {
            r.results.push(skipped(rest, why));
        }
        if why == "not reviewed (end of input)" {
            // End of input: like Ctrl-C, nothing is written.
            return Ok(r.finish(true));
        }
        let n = r
            .results
            .iter()
            .filter(|r| r.outcome == PatchOutcome::NotWritten)
            .count();
        let write = n > 0
            && r.t
                .yes(&format!("Write the {n} accepted patch(es) [y/N]? "))?;
        return Ok(r.finish(n > 0 && !write));
    }
    Ok(r.finish(false))
}

/// After one suggestion: on to the next, or stop reviewing.
enum Step {
    Next,
    EndOfInput,
    Quit,
}

/// One review session's state.
struct Review<'a, 't> {
    checker: &'a Checker<'a>,
    t: &'a mut Terminal<'t>,
    /// The registry with the patches accepted so far.
    work: crate::registry::Registry,
    raised: BTreeMap<(String, char), u8>,
    results: Vec<PatchResult>,
    total: usize,
    /// `A` was answered: accept safe patches without asking.
    all_safe: bool,
    date: String,
}

impl Review<'_, '_> {
    fn finish(self, declined: bool) -> Decided {
        Decided {
            staged: self.work,
            results: self.results,
            declined,
        }
    }

    /// Ask about one suggestion until it is decided (edits loop back).
    fn decide(&mut self, orig: &Suggestion) -> io::Result<Step> {
        let mut s = orig.clone();
        let mut edited = false;
        loop {
            let origin = if edited { Origin::Person } else { s.origin };
            let warning = match self.checker.gates(&s, &self.work, &self.raised, true) {
                Ok(()) => None,
                Err((Gate::Level, why)) => Some(why),
                Err((g, why)) => {
                    self.show(&s, origin, None)?;
                    writeln!(
                        self.t.output,
                        "  refused by the {} gate: {}",
                        g.name(),
                        shown(&why)
                    )?;
                    self.results.push(rejected(&s, origin, g, why));
                    return Ok(Step::Next);
                }
            };
            if self.all_safe && s.origin == Origin::Deterministic && !edited && warning.is_none() {
                self.accept_safe(&s, origin)?;
                return Ok(Step::Next);
            }
            self.show(&s, origin, warning.as_deref())?;
            let Some(answer) = self.t.ask("Apply this patch [a,s,e,q,A,?]? ")? else {
                self.results
                    .push(skipped(&s, "not reviewed (end of input)"));
                return Ok(Step::EndOfInput);
            };
            match answer.as_str() {
                "a" | "y" => {
                    if self.accept_answered(&s, origin, warning.as_deref())? {
                        return Ok(Step::Next);
                    }
                }
                "s" | "n" => {
                    self.results.push(skipped(&s, "skipped in review"));
                    return Ok(Step::Next);
                }
                "e" => {
                    if let Some(p) = self.edit(&s.patch)? {
                        s.patch = p;
                        s.tier = Tier::of(Origin::Person, s.patch.kind);
                        edited = true;
                    }
                }
                "q" => {
                    self.results.push(skipped(&s, "not reviewed (quit)"));
                    return Ok(Step::Quit);
                }
                "A" => {
                    self.all_safe = true;
                    if s.origin != Origin::Deterministic || edited {
                        writeln!(
                            self.t.output,
                            "  (A accepts deterministic patches only; decide this one)"
                        )?;
                    }
                }
                "?" | "h" => write!(self.t.output, "{HELP}")?,
                other => writeln!(
                    self.t.output,
                    "  unknown answer \"{}\"; ? shows the keys",
                    inline(other)
                )?,
            }
        }
    }

    fn show(&mut self, s: &Suggestion, origin: Origin, warning: Option<&str>) -> io::Result<()> {
        let preview = preview(&self.work, &s.patch, origin, &self.date);
        show(self.t, s, self.total, &preview, warning)
    }

    /// After `A`: a safe patch is accepted without asking.
    fn accept_safe(&mut self, s: &Suggestion, origin: Origin) -> io::Result<()> {
        let r = accept(self.checker, s, origin, &mut self.work, &mut self.raised);
        writeln!(
            self.t.output,
            "[{}/{}] {} {}: accepted (A)",
            s.id,
            self.total,
            s.patch.kind.name(),
            shown(&s.patch.capability_id)
        )?;
        self.results.push(r);
        Ok(())
    }

    /// `a`: accept (a promotion the level gate warns about is confirmed
    /// first); false when the person did not confirm and is asked again.
    fn accept_answered(
        &mut self,
        s: &Suggestion,
        origin: Origin,
        warning: Option<&str>,
    ) -> io::Result<bool> {
        if let Some(w) = warning
            && !self
                .t
                .yes(&format!("  {}\n  Confirm this promotion [y/N]? ", shown(w)))?
        {
            return Ok(false);
        }
        let r = accept(self.checker, s, origin, &mut self.work, &mut self.raised);
        if let (PatchOutcome::Rejected, Some(g), Some(why)) = (r.outcome, r.gate, &r.reason) {
            writeln!(
                self.t.output,
                "  refused by the {} gate: {}",
                g.name(),
                shown(why)
            )?;
        }
        self.results.push(r);
        Ok(true)
    }

    /// `e`: the patch as the person edited it; None when they gave up on an
    /// invalid edit.
    fn edit(&mut self, patch: &RegistryPatch) -> io::Result<Option<RegistryPatch>> {
        let mut text = format!(
            "# Edit the patch, save and close the editor. `warden schema registry-patch` shows the fields.\n{}",
            to_yaml(patch).unwrap_or_default()
        );
        loop {
            let out = self.t.editor.edit(&text)?;
            match parse_edit(&out) {
                Ok(p) => return Ok(Some(p)),
                Err(e) => {
                    writeln!(
                        self.t.output,
                        "  the edited patch is not valid: {}",
                        inline(&e)
                    )?;
                    if !self.t.yes("  Edit again [y/n]? ")? {
                        return Ok(None);
                    }
                    text = out;
                }
            }
        }
    }
}
