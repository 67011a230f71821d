//! Scoring a file against the module registry, and the decision
//! (docs/classify.md). Pure: the same facts and registry give the
//! same verdict, byte for byte.
//!
//! **Score.** For each module that takes the file's extension
//! (`allowed_extensions` is a hard filter), each of its terms — its keywords,
//! plus the words of its folder's last segment — adds, once per source:
//! [`WEIGHT_NAME`] when it occurs in the file name's tokens (extension
//! excluded), [`WEIGHT_PATH`] when it occurs in the tokens of the folders
//! between the inbox root and the file (for a path named outside an inbox:
//! all its folders), and [`WEIGHT_CONTENT`] when it occurs in the tokens of
//! the first [`HEAD_BYTES`] bytes of a text file (a file whose head holds a
//! NUL byte is binary and scored by name and path only).
//!
//! **Decision.** Candidates are the modules with a score above zero, ordered
//! by score (high first), then priority (high first), then name. With no
//! candidate the file is `unclassified`. The best is a `clear_winner` when its
//! score is at least `min_score` and it leads the second by at least
//! `min_margin` — and by more than nothing: a tie is never a clear winner,
//! whatever `min_margin` says (`0` included), since the order among tied
//! modules (by name) is a listing order, not a reason. When several modules share the best score (≥ `min_score`),
//! exactly one of them has the highest priority, and every other candidate
//! trails by at least `min_margin`, that one wins by `priority_tiebreak`.
//! Anything else is `ambiguous`.

use crate::tokens::{contains_phrase, for_each_token, tokens};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use warden_core::modules::{Module, Modules, Thresholds};

/// A keyword in the file name.
pub const WEIGHT_NAME: u32 = 3;
/// A keyword in a folder name between the inbox root and the file.
pub const WEIGHT_PATH: u32 = 2;
/// A keyword in the head of the content.
pub const WEIGHT_CONTENT: u32 = 1;
/// How much of a file's content is read for keywords.
pub const HEAD_BYTES: usize = 4096;

/// How a file's fate was decided: a closed set (docs/classify.md lists each).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DecisionPath {
    /// One module scored at least `min_score` and led by at least `min_margin`.
    ClearWinner,
    /// Candidates exist but none is a clear winner: the file stays (or goes to
    /// quarantine as `ambiguous` when `modules.yaml` says `ambiguous: quarantine`).
    Ambiguous,
    /// No module matched: the file goes to quarantine as `unclassified`.
    Unclassified,
    /// Modules tied on score and `priority` separated them.
    PriorityTiebreak,
    /// A file with the same full sha256 is already in place: the newcomer goes
    /// to quarantine as `duplicate`.
    DedupeCollapsed,
    /// Same name, different content: the newer file (mtime) has the name, the
    /// older goes to quarantine as `superseded`.
    DedupeNewer,
    /// Same name and mtime: the larger file has the name, the smaller goes to
    /// quarantine as `superseded`.
    DedupeLarger,
    /// Same name, mtime and size, different content: both are kept, the
    /// newcomer as `name.<sha256[:8]>.ext`.
    DedupeKeptBoth,
}

impl DecisionPath {
    /// Whether this is one of the duplicate rules' decisions (it is about
    /// content shared with another file).
    pub fn is_dedupe(self) -> bool {
        matches!(
            self,
            DecisionPath::DedupeCollapsed
                | DecisionPath::DedupeNewer
                | DecisionPath::DedupeLarger
                | DecisionPath::DedupeKeptBoth
        )
    }

    pub const ALL: [DecisionPath; 8] = [
        DecisionPath::ClearWinner,
        DecisionPath::Ambiguous,
        DecisionPath::Unclassified,
        DecisionPath::PriorityTiebreak,
        DecisionPath::DedupeCollapsed,
        DecisionPath::DedupeNewer,
        DecisionPath::DedupeLarger,
        DecisionPath::DedupeKeptBoth,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DecisionPath::ClearWinner => "clear_winner",
            DecisionPath::Ambiguous => "ambiguous",
            DecisionPath::Unclassified => "unclassified",
            DecisionPath::PriorityTiebreak => "priority_tiebreak",
            DecisionPath::DedupeCollapsed => "dedupe_collapsed",
            DecisionPath::DedupeNewer => "dedupe_newer",
            DecisionPath::DedupeLarger => "dedupe_larger",
            DecisionPath::DedupeKeptBoth => "dedupe_kept_both",
        }
    }

    pub fn parse(s: &str) -> Option<DecisionPath> {
        DecisionPath::ALL.into_iter().find(|d| d.name() == s)
    }
}

/// Where a term was found.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum HitSource {
    Name,
    Path,
    Content,
}

/// One term found in one place: a line of the score breakdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Hit {
    /// The module's keyword (or folder word) as written in the registry, case-folded.
    pub term: String,
    pub source: HitSource,
    pub weight: u32,
}

/// A module that scored above zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Candidate {
    pub module: String,
    pub score: u32,
    pub priority: i32,
    /// The score breakdown, in term order, then name, path, content.
    pub hits: Vec<Hit>,
}

/// What the scorer needs to know about a file: its words as ids in the
/// scorer's vocabulary (every word no term uses is [`OTHER`]), so scoring
/// allocates nothing per word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// The file name's words, without its extension.
    pub name: Vec<u32>,
    /// Extension, lower case without the dot ("" when none).
    pub ext: String,
    /// The words of the folders that count (see the module docs).
    pub path: Vec<u32>,
    /// The words of the content head; `None` for a binary file.
    pub content: Option<Vec<u32>>,
}

/// The id of a word that no module term uses.
pub const OTHER: u32 = u32::MAX;

/// `("report.final", "md")` for "report.final.md"; a leading dot is part of
/// the stem (".env" has no extension).
pub fn split_ext(file_name: &str) -> (&str, &str) {
    match file_name.rfind('.') {
        Some(i) if i > 0 && i + 1 < file_name.len() => (&file_name[..i], &file_name[i + 1..]),
        _ => (file_name, ""),
    }
}

/// A term as written and its words' ids.
type Term = (String, Vec<u32>);

/// A module's terms, tokenised once.
#[derive(Debug, Clone)]
pub struct Scorer {
    thresholds: Thresholds,
    modules: Vec<(Module, Vec<Term>)>,
    vocab: HashMap<String, u32, Fnv>,
    /// First bytes and lengths (bit n: length n, 63 for longer) of the
    /// vocabulary's words: most tokens of a file are not in it, and these
    /// tell without hashing.
    firsts: [bool; 256],
    lengths: u64,
}

fn length_bit(len: usize) -> u64 {
    1u64 << len.min(63)
}

/// FNV-1a for the vocabulary: its keys are short words from the registry and
/// every token of every file is looked up (SipHash showed in the profile).
#[derive(Debug, Clone, Copy, Default)]
pub struct Fnv;

impl std::hash::BuildHasher for Fnv {
    type Hasher = FnvHasher;
    fn build_hasher(&self) -> FnvHasher {
        FnvHasher(0xcbf2_9ce4_8422_2325)
    }
}

pub struct FnvHasher(u64);

impl std::hash::Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

impl Scorer {
    pub fn new(registry: &Modules) -> Scorer {
        let mut vocab: HashMap<String, u32, Fnv> = HashMap::with_hasher(Fnv);
        let mut modules = Vec::new();
        for m in &registry.modules {
            let mut terms: Vec<Term> = Vec::new();
            let folder_word = m.folder.file_name().to_lowercase();
            for word in m.keywords.iter().chain(std::iter::once(&folder_word)) {
                let ids: Vec<u32> = tokens(word)
                    .into_iter()
                    .map(|t| {
                        let next = vocab.len() as u32;
                        *vocab.entry(t).or_insert(next)
                    })
                    .collect();
                if !ids.is_empty() && !terms.iter().any(|(_, t)| *t == ids) {
                    terms.push((word.clone(), ids));
                }
            }
            modules.push((m.clone(), terms));
        }
        let mut firsts = [false; 256];
        let mut lengths = 0u64;
        for w in vocab.keys() {
            if let Some(b) = w.as_bytes().first() {
                firsts[usize::from(*b)] = true;
            }
            lengths |= length_bit(w.len());
        }
        Scorer {
            thresholds: registry.thresholds,
            modules,
            vocab,
            firsts,
            lengths,
        }
    }

    fn ids(&self, text: &str) -> Vec<u32> {
        let mut out = Vec::new();
        for_each_token(text, |t| {
            let maybe = t
                .as_bytes()
                .first()
                .is_some_and(|b| self.firsts[usize::from(*b)])
                && self.lengths & length_bit(t.len()) != 0;
            let id = if maybe {
                self.vocab.get(t).copied().unwrap_or(OTHER)
            } else {
                OTHER
            };
            // A run of words outside the vocabulary is one OTHER: terms are
            // made of vocabulary words only, so no match changes, and the
            // scan over a content head gets shorter.
            if !(id == OTHER && out.last() == Some(&OTHER)) {
                out.push(id);
            }
        });
        out
    }

    /// The facts of a file from its name, the folders that count (`dirs`,
    /// '/'-separated, may be empty) and the first bytes of its content.
    pub fn facts(&self, file_name: &str, dirs: &str, head: &[u8]) -> Facts {
        let (stem, ext) = split_ext(file_name);
        let content = if head.contains(&0) {
            None
        } else {
            Some(self.ids(&String::from_utf8_lossy(head)))
        };
        Facts {
            name: self.ids(stem),
            ext: ext.to_ascii_lowercase(),
            path: self.ids(dirs),
            content,
        }
    }

    /// Every module that scores above zero, in decision order.
    pub fn candidates(&self, facts: &Facts) -> Vec<Candidate> {
        let mut out = Vec::new();
        for (m, terms) in &self.modules {
            if !m.takes_extension(&facts.ext) {
                continue;
            }
            let mut hits = Vec::new();
            for (term, toks) in terms {
                if contains_phrase(&facts.name, toks) {
                    hits.push(hit(term, HitSource::Name, WEIGHT_NAME));
                }
                if contains_phrase(&facts.path, toks) {
                    hits.push(hit(term, HitSource::Path, WEIGHT_PATH));
                }
                if facts
                    .content
                    .as_ref()
                    .is_some_and(|c| contains_phrase(c, toks))
                {
                    hits.push(hit(term, HitSource::Content, WEIGHT_CONTENT));
                }
            }
            let score = hits.iter().map(|h| h.weight).sum();
            if score > 0 {
                out.push(Candidate {
                    module: m.name.clone(),
                    score,
                    priority: m.priority,
                    hits,
                });
            }
        }
        out.sort_by(|a, b| {
            b.score
                .cmp(&a.score)
                .then(b.priority.cmp(&a.priority))
                .then(a.module.cmp(&b.module))
        });
        out
    }

    /// The verdict for a file.
    pub fn decide(&self, facts: &Facts) -> Verdict {
        let candidates = self.candidates(facts);
        let t = self.thresholds;
        let (path, module, reason) = match candidates.first() {
            None => (DecisionPath::Unclassified, None, unclassified_reason(facts)),
            Some(best) if best.score < t.min_score => (
                DecisionPath::Ambiguous,
                None,
                format!(
                    "the best score {} ({}) is below min_score {}",
                    best.score, best.module, t.min_score
                ),
            ),
            Some(best) => clear_winner(best, &candidates, t)
                .or_else(|| priority_tiebreak(best, &candidates, t))
                .unwrap_or_else(|| no_clear_winner(best, &candidates, t)),
        };
        Verdict {
            path,
            module,
            reason,
            candidates,
        }
    }
}

/// How a verdict was reached, the module chosen, and why.
type Call = (DecisionPath, Option<String>, String);

fn unclassified_reason(facts: &Facts) -> String {
    if facts.content.is_none() {
        "no module's keywords occur in its name or path (binary: content not read), or no module takes its extension".into()
    } else {
        "no module's keywords occur in its name, path or content, or no module takes its extension"
            .into()
    }
}

/// The best is at least `min_margin` ahead of the next, and ahead at all: a
/// tie (a lead of 0, which `min_margin: 0` would let through) is never won
/// by the module whose name sorts first.
fn clear_winner(best: &Candidate, candidates: &[Candidate], t: Thresholds) -> Option<Call> {
    let second = candidates.get(1).map_or(0, |c| c.score);
    let lead = best.score - second;
    (lead > 0 && lead >= t.min_margin).then(|| {
        (
            DecisionPath::ClearWinner,
            Some(best.module.clone()),
            format!(
                "{} scored {} (min_score {}), {} ahead of the next (min_margin {})",
                best.module,
                best.score,
                t.min_score,
                best.score - second,
                t.min_margin
            ),
        )
    })
}

/// Several tie at the top, one of them has the highest priority, and the
/// tie is `min_margin` ahead of the rest.
fn priority_tiebreak(best: &Candidate, candidates: &[Candidate], t: Thresholds) -> Option<Call> {
    let tied: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| c.score == best.score)
        .collect();
    let rest = candidates
        .iter()
        .find(|c| c.score < best.score)
        .map_or(0, |c| c.score);
    let top_priority = tied.iter().map(|c| c.priority).max().unwrap_or(0);
    let at_top = tied.iter().filter(|c| c.priority == top_priority).count();
    (tied.len() > 1 && at_top == 1 && best.score - rest >= t.min_margin).then(|| {
        (
            DecisionPath::PriorityTiebreak,
            Some(best.module.clone()),
            format!(
                "{} modules tied at score {}; {} has the highest priority ({})",
                tied.len(),
                best.score,
                best.module,
                best.priority
            ),
        )
    })
}

fn no_clear_winner(best: &Candidate, candidates: &[Candidate], t: Thresholds) -> Call {
    let names: Vec<String> = candidates
        .iter()
        .take_while(|c| c.score == best.score || best.score - c.score < t.min_margin)
        .map(|c| format!("{} ({})", c.module, c.score))
        .collect();
    let why = if t.min_margin == 0 {
        // Only a tie gets here: say so, not "within min_margin 0".
        "tie for the best score (a tie is never a winner, whatever min_margin)".to_string()
    } else {
        format!("within min_margin {} of each other", t.min_margin)
    };
    (
        DecisionPath::Ambiguous,
        None,
        format!("no clear winner: {} {why}", names.join(", ")),
    )
}

fn hit(term: &str, source: HitSource, weight: u32) -> Hit {
    Hit {
        term: term.to_string(),
        source,
        weight,
    }
}

/// The scorer's answer for one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// `clear_winner`, `priority_tiebreak`, `ambiguous` or `unclassified`.
    pub path: DecisionPath,
    /// The chosen module (clear winner or priority tie-break).
    pub module: Option<String>,
    pub candidates: Vec<Candidate>,
    /// One sentence: why.
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(text: &str) -> Modules {
        Modules::parse_bytes(text.as_bytes(), ".warden/modules.yaml").expect("registry")
    }

    use warden_testkit::modules::SEED;

    #[test]
    fn content_keywords_pick_the_seed_ledger_module() {
        let s = Scorer::new(&registry(SEED));
        let v = s.decide(&s.facts("notes.py", "", b"ledger ulid append_only\n"));
        assert_eq!(v.path, DecisionPath::ClearWinner, "{v:?}");
        assert_eq!(v.module.as_deref(), Some("Ledger_Records_MOD"));
        assert_eq!(v.candidates[0].score, 3);
    }

    #[test]
    fn weights_name_over_path_over_content() {
        let s = Scorer::new(&registry(SEED));
        let name = s.candidates(&s.facts("ledger.py", "", b""));
        let path = s.candidates(&s.facts("x.py", "ledger", b""));
        let content = s.candidates(&s.facts("x.py", "", b"ledger"));
        assert_eq!(
            (name[0].score, path[0].score, content[0].score),
            (WEIGHT_NAME, WEIGHT_PATH, WEIGHT_CONTENT)
        );
        const { assert!(WEIGHT_NAME > WEIGHT_PATH && WEIGHT_PATH > WEIGHT_CONTENT) };
    }

    #[test]
    fn extensions_are_a_hard_filter() {
        let s = Scorer::new(&registry(SEED));
        let v = s.decide(&s.facts("ledger_ulid.txt", "", b"ledger"));
        assert_eq!(v.path, DecisionPath::Unclassified);
        assert!(v.candidates.is_empty());
    }

    #[test]
    fn binary_files_are_scored_by_name_only() {
        let s = Scorer::new(&registry(SEED));
        let v = s.decide(&s.facts("x.py", "", b"ledger ulid\0append_only"));
        assert_eq!(v.path, DecisionPath::Unclassified);
    }

    #[test]
    fn equal_scores_are_ambiguous_in_a_fixed_order() {
        let s = Scorer::new(&registry(SEED));
        let v = s.decide(&s.facts("goal_ledger.py", "", b""));
        assert_eq!(v.path, DecisionPath::Ambiguous);
        let names: Vec<&str> = v.candidates.iter().map(|c| c.module.as_str()).collect();
        assert_eq!(names, ["Goal_Normalizer_MOD", "Ledger_Records_MOD"]);
    }

    #[test]
    fn priority_separates_a_tie() {
        let text = SEED.replace(
            "    allowed_extensions: [.py, .ps1, .jsonl]\n",
            "    allowed_extensions: [.py, .ps1, .jsonl]\n    priority: 5\n",
        );
        let s = Scorer::new(&registry(&text));
        let v = s.decide(&s.facts("goal_ledger.py", "", b""));
        assert_eq!(v.path, DecisionPath::PriorityTiebreak, "{v:?}");
        assert_eq!(v.module.as_deref(), Some("Ledger_Records_MOD"));
    }

    #[test]
    fn min_margin_0_turned_an_exact_tie_into_a_clear_winner_picked_by_module_name() {
        let s = Scorer::new(&registry(
            "schema: warden.modules/v1\nthresholds: {min_score: 0, min_margin: 0}\nmodules:\n  - {name: a, folder: ext/, keywords: [foo]}\n  - {name: b, folder: docs/, keywords: [foo, bar]}\n",
        ));
        let v = s.decide(&s.facts("foo.txt", "", b"a\n"));
        assert_eq!(v.path, DecisionPath::Ambiguous, "{v:?}");
        assert_eq!(v.module, None);
        assert_eq!(
            v.reason,
            "no clear winner: a (3), b (3) tie for the best score (a tie is never a winner, whatever min_margin)"
        );
        // A lead of one point is a lead.
        let v = s.decide(&s.facts("foo.txt", "", b"bar\n"));
        assert_eq!(v.path, DecisionPath::ClearWinner, "{v:?}");
        assert_eq!(v.module.as_deref(), Some("b"));
    }

    #[test]
    fn a_weak_single_match_is_ambiguous_not_placed() {
        let s = Scorer::new(&registry(SEED));
        let v = s.decide(&s.facts("x.py", "", b"provenance"));
        assert_eq!(v.path, DecisionPath::Ambiguous);
        assert!(v.reason.contains("below min_score"), "{}", v.reason);
    }

    #[test]
    fn folder_words_count_as_terms() {
        let s = Scorer::new(&registry(SEED));
        let v = s.decide(&s.facts("goals_overview.md", "", b""));
        assert_eq!(v.module.as_deref(), Some("Goal_Normalizer_MOD"), "{v:?}");
    }

    #[test]
    fn split_ext_cases() {
        assert_eq!(split_ext("a.tar.gz"), ("a.tar", "gz"));
        assert_eq!(split_ext(".env"), (".env", ""));
        assert_eq!(split_ext("Makefile"), ("Makefile", ""));
        assert_eq!(split_ext("x."), ("x.", ""));
    }
}
