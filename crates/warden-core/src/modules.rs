//! The module registry `.warden/modules.yaml` (`warden.modules/v1`): the one
//! list of the repository's modules. The classifier places files by it
//! (where each module lives, the words that identify it, the file types it
//! takes) and the module contracts check it against spec files and folders.
//!
//! This module parses and checks the file; it does not look at the disk
//! beyond reading it (whether folders exist is a question for the callers).

use crate::error::{Error, Result};
use crate::paths::RepoPath;
use crate::strict;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

pub const MODULES_SCHEMA_ID: &str = "warden.modules/v1";
pub const MODULES_FILE: &str = ".warden/modules.yaml";

/// The file as written. Unknown keys are errors so a typo never silently
/// drops a rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "warden module registry",
    description = "`.warden/modules.yaml`: the repository's modules, for the classifier and the module contracts"
)]
pub struct ModulesFile {
    /// Always "warden.modules/v1".
    pub schema: String,
    /// The drop folders the classifier watches and empties (repository-relative, e.g. "inbox/").
    #[serde(default = "default_inbox")]
    pub inbox: Vec<String>,
    #[serde(default)]
    pub thresholds: Thresholds,
    /// What the classifier does with a file that has no clear winner:
    /// `stay` (default: left in place, candidates listed) or `quarantine`
    /// (moved to the quarantine lane with reason `ambiguous`).
    #[serde(default, skip_serializing_if = "OnAmbiguous::is_stay")]
    pub ambiguous: OnAmbiguous,
    #[serde(default)]
    pub modules: Vec<ModuleEntry>,
}

/// The `ambiguous:` setting of `.warden/modules.yaml`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnAmbiguous {
    /// Leave the file where it is and list its candidates.
    #[default]
    Stay,
    /// Move it to the quarantine lane with reason `ambiguous`.
    Quarantine,
}

impl OnAmbiguous {
    fn is_stay(&self) -> bool {
        *self == OnAmbiguous::Stay
    }
}

fn default_inbox() -> Vec<String> {
    vec!["inbox/".to_string()]
}

/// When a classification is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// The lowest score a module needs to be the winner.
    #[serde(default = "default_min_score")]
    pub min_score: u32,
    /// How far the best score must lead the second for a clear winner.
    #[serde(default = "default_min_margin")]
    pub min_margin: u32,
}

fn default_min_score() -> u32 {
    3
}
fn default_min_margin() -> u32 {
    2
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            min_score: default_min_score(),
            min_margin: default_min_margin(),
        }
    }
}

/// One module.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModuleEntry {
    /// Unique name: letters, digits, '_', '-' and '.'.
    pub name: String,
    /// Where the module's files live (repository-relative folder, e.g. "modules/ledger/").
    pub folder: String,
    /// Words that identify the module's files, matched case-insensitively against name, path and content tokens.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// File types the module takes, with or without the dot ("py", ".md"); empty means any. A hard filter.
    #[serde(default)]
    pub allowed_extensions: Vec<String>,
    /// Breaks a tie between equally scored modules: the higher priority wins.
    #[serde(default)]
    pub priority: i32,
    /// The module's spec file (repository-relative), for the module contracts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<String>,
    /// What the module is for, one line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A checked registry: paths validated, names unique, keywords case-folded,
/// extensions in one canonical form (lower case, no dot).
#[derive(Debug, Clone, PartialEq)]
pub struct Modules {
    /// Inbox roots as repository paths (without the trailing '/').
    pub inbox: Vec<RepoPath>,
    pub thresholds: Thresholds,
    pub ambiguous: OnAmbiguous,
    pub modules: Vec<Module>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Module {
    pub name: String,
    /// The folder as a repository path (without the trailing '/').
    pub folder: RepoPath,
    /// Lower-case, deduplicated, in file order.
    pub keywords: Vec<String>,
    /// Lower-case, without the dot; empty means any type.
    pub allowed_extensions: BTreeSet<String>,
    pub priority: i32,
    pub spec: Option<RepoPath>,
    pub description: Option<String>,
}

impl Module {
    /// Whether a file with this extension (any case, with or without the dot;
    /// "" for none) may be placed in the module.
    pub fn takes_extension(&self, ext: &str) -> bool {
        self.allowed_extensions.is_empty()
            || self.allowed_extensions.contains(&canonical_extension(ext))
    }
}

/// A warning `warden modules validate` prints without failing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Warning {
    /// The field the warning is about, e.g. "modules[2].keywords".
    pub field: String,
    pub message: String,
}

/// "py", ".PY" and "Py" are one extension: "py".
pub fn canonical_extension(ext: &str) -> String {
    ext.strip_prefix('.').unwrap_or(ext).to_ascii_lowercase()
}

impl Modules {
    /// Read and check `.warden/modules.yaml` under `root`. `Ok(None)` when the
    /// file does not exist.
    pub fn load(root: &Path) -> Result<Option<Modules>> {
        match strict::read_config(root, MODULES_FILE)? {
            Some(bytes) => Self::parse_bytes(&bytes, MODULES_FILE).map(Some),
            None => Ok(None),
        }
    }

    /// Parse and check the file's bytes strictly ([`crate::strict`]). `file`
    /// names it in errors.
    pub fn parse_bytes(bytes: &[u8], file: &str) -> Result<Modules> {
        let value = strict::parse_yaml(bytes, file)?;
        let raw: ModulesFile = strict::deserialize(
            &value,
            file,
            "see `warden schema modules` for the expected shape",
        )?;
        Self::check(&raw, file)
    }

    /// Check a parsed file: the schema tag, every path, unique names and folders.
    pub fn check(raw: &ModulesFile, file: &str) -> Result<Modules> {
        if raw.schema != MODULES_SCHEMA_ID {
            return Err(Error::invalid(
                file,
                "schema",
                format!("unsupported module registry schema \"{}\"", raw.schema),
                Some(format!("set `schema: {MODULES_SCHEMA_ID}`")),
            ));
        }
        let mut inbox = Vec::new();
        for (i, root) in raw.inbox.iter().enumerate() {
            inbox.push(folder_path(root, file, &format!("inbox[{i}]"))?);
        }
        let mut claims = Claims::default();
        let mut modules = Vec::new();
        for (index, entry) in raw.modules.iter().enumerate() {
            let at = EntryAt { file, index };
            modules.push(check_entry(entry, at, &mut claims)?);
        }
        Ok(Modules {
            inbox,
            thresholds: raw.thresholds,
            ambiguous: raw.ambiguous,
            modules,
        })
    }

    /// The module named `name`.
    pub fn get(&self, name: &str) -> Option<&Module> {
        self.modules.iter().find(|m| m.name == name)
    }

    /// The module whose folder holds `path` (the deepest one when folders nest).
    pub fn owner_of(&self, path: &RepoPath) -> Option<&Module> {
        self.modules
            .iter()
            .filter(|m| is_within(path, &m.folder))
            .max_by_key(|m| m.folder.as_str().len())
    }

    /// Whether `path` lies under one of the inbox roots.
    pub fn in_inbox(&self, path: &RepoPath) -> bool {
        self.inbox.iter().any(|root| is_within(path, root))
    }

    /// Problems that do not stop classification: a keyword two modules share
    /// (it scores for both, so it never decides), an inbox inside a module
    /// folder, a module without keywords (it can only win by folder words),
    /// `min_margin: 0` (a tie is never a winner, so it acts as 1).
    pub fn warnings(&self) -> Vec<Warning> {
        let mut out = Vec::new();
        if self.thresholds.min_margin == 0 {
            out.push(Warning {
                field: "thresholds.min_margin".into(),
                message: "min_margin 0 would let a module win a tie; a tie is never a winner \
                          (it stays ambiguous unless priority separates it), so 0 acts as 1: write 1 or more"
                    .into(),
            });
        }
        let mut owners: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for m in &self.modules {
            for k in &m.keywords {
                owners.entry(k.as_str()).or_default().push(m.name.as_str());
            }
        }
        for (i, m) in self.modules.iter().enumerate() {
            if m.keywords.is_empty() {
                out.push(Warning {
                    field: format!("modules[{i}].keywords"),
                    message: format!(
                        "module \"{}\" has no keywords: only its folder's words can select it",
                        m.name
                    ),
                });
            }
            for k in &m.keywords {
                let shared: Vec<&str> = owners[k.as_str()]
                    .iter()
                    .copied()
                    .filter(|n| *n != m.name)
                    .collect();
                // Report each shared keyword once, at its first owner.
                if !shared.is_empty() && owners[k.as_str()][0] == m.name {
                    out.push(Warning {
                        field: format!("modules[{i}].keywords"),
                        message: format!(
                            "keyword \"{k}\" is shared with {}: it scores for all of them and never decides",
                            shared.join(", ")
                        ),
                    });
                }
            }
        }
        for (i, root) in self.inbox.iter().enumerate() {
            if let Some(m) = self.owner_of(root) {
                out.push(Warning {
                    field: format!("inbox[{i}]"),
                    message: format!(
                        "inbox \"{}\" lies inside module \"{}\"'s folder",
                        root.as_str(),
                        m.name
                    ),
                });
            }
        }
        out
    }
}

/// A folder as written ("inbox/", "modules/a") as a repository path, refusing
/// the protected areas.
/// Where an entry's fields are, for errors: "modules[2].name" in `file`.
#[derive(Clone, Copy)]
struct EntryAt<'a> {
    file: &'a str,
    index: usize,
}

impl EntryAt<'_> {
    fn field(&self, f: &str) -> String {
        format!("modules[{}].{f}", self.index)
    }

    fn item(&self, f: &str, k: usize) -> String {
        format!("{}[{k}]", self.field(f))
    }
}

/// The names and folders the entries checked so far took, each with the
/// index of the entry that took it: a second claim is an error naming both.
#[derive(Default)]
struct Claims {
    names: BTreeMap<String, usize>,
    folders: BTreeMap<RepoPath, usize>,
}

impl Claims {
    fn name(&mut self, entry: &ModuleEntry, at: EntryAt) -> Result<()> {
        match self.names.insert(entry.name.clone(), at.index) {
            Some(first) => Err(Error::invalid(
                at.file,
                at.field("name"),
                format!("module \"{}\" is declared twice", entry.name),
                Some(format!(
                    "modules[{first}] has the same name; merge or rename one"
                )),
            )),
            None => Ok(()),
        }
    }

    fn folder(&mut self, entry: &ModuleEntry, folder: &RepoPath, at: EntryAt) -> Result<()> {
        match self.folders.insert(folder.clone(), at.index) {
            Some(first) => Err(Error::invalid(
                at.file,
                at.field("folder"),
                format!("folder \"{}\" belongs to two modules", entry.folder),
                Some(format!(
                    "modules[{first}] has the same folder; give each module its own"
                )),
            )),
            None => Ok(()),
        }
    }
}

/// Check one entry in the order a reader fixes it: its name (usable, then
/// unique), its folder (a path, then unique), keywords, extensions, spec.
fn check_entry(m: &ModuleEntry, at: EntryAt, claims: &mut Claims) -> Result<Module> {
    if !usable_name(&m.name) {
        return Err(Error::invalid(
            at.file,
            at.field("name"),
            format!("module name \"{}\" is not usable", m.name),
            Some("use letters, digits, '_', '-' and '.' only".into()),
        ));
    }
    claims.name(m, at)?;
    let folder = folder_path(&m.folder, at.file, &at.field("folder"))?;
    claims.folder(m, &folder, at)?;
    let keywords = folded_keywords(&m.keywords, at)?;
    let allowed_extensions = canonical_extensions(&m.allowed_extensions, at)?;
    let spec = match &m.spec {
        Some(s) => Some(RepoPath::parse(s, at.file, &at.field("spec"))?),
        None => None,
    };
    Ok(Module {
        name: m.name.clone(),
        folder,
        keywords,
        allowed_extensions,
        priority: m.priority,
        spec,
        description: m.description.clone(),
    })
}

/// Letters, digits, '_', '-' and '.', at least one.
fn usable_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Keywords trimmed, lower-cased and deduplicated in file order; an empty
/// one is an error.
fn folded_keywords(words: &[String], at: EntryAt) -> Result<Vec<String>> {
    let mut keywords = Vec::new();
    for (k, word) in words.iter().enumerate() {
        let w = word.trim().to_lowercase();
        if w.is_empty() {
            return Err(Error::invalid(
                at.file,
                at.item("keywords", k),
                "empty keyword",
                Some("remove it".into()),
            ));
        }
        if !keywords.contains(&w) {
            keywords.push(w);
        }
    }
    Ok(keywords)
}

/// Extensions in their [`canonical_extension`] form; one that is empty or
/// holds a '/' or NUL is an error.
fn canonical_extensions(exts: &[String], at: EntryAt) -> Result<BTreeSet<String>> {
    let mut allowed = BTreeSet::new();
    for (k, ext) in exts.iter().enumerate() {
        let e = canonical_extension(ext.trim());
        if e.is_empty() || e.contains('/') || e.contains('\0') {
            return Err(Error::invalid(
                at.file,
                at.item("allowed_extensions", k),
                format!("extension \"{ext}\" is not usable"),
                Some("write it as \"py\" or \".py\"".into()),
            ));
        }
        allowed.insert(e);
    }
    Ok(allowed)
}

fn folder_path(s: &str, file: &str, field: &str) -> Result<RepoPath> {
    if s.starts_with('/') {
        // Checked before the trailing '/' goes: "/" would be "" ("is empty").
        return Err(Error::invalid(
            file,
            field,
            format!("folder \"{s}\" is absolute; folders here are relative to the repository root"),
            Some(
                "drop the leading '/', e.g. \"inbox/\" (the repository root itself cannot be a folder here)"
                    .into(),
            ),
        )
        .refusing(crate::error::Refusal::UnsafePath));
    }
    let trimmed = s.strip_suffix('/').unwrap_or(s);
    let path = RepoPath::parse(trimmed, file, field)?;
    if let Some(area) = path.protected_area() {
        return Err(Error::invalid(
            file,
            field,
            format!("folder \"{s}\" lies inside {area}/, which warden keeps to itself"),
            Some("choose a folder outside .git/, .ledger/, .warden/ and .runs/".into()),
        ));
    }
    if path.in_quarantine() {
        return Err(Error::invalid(
            file,
            field,
            format!("folder \"{s}\" lies inside the quarantine lane"),
            Some("choose a folder outside .quarantine/".into()),
        ));
    }
    Ok(path)
}

/// Whether `path` is `dir` or lies below it.
fn is_within(path: &RepoPath, dir: &RepoPath) -> bool {
    let (p, d) = (path.as_str(), dir.as_str());
    p == d || (p.starts_with(d) && p.as_bytes().get(d.len()) == Some(&b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Modules> {
        Modules::parse_bytes(text.as_bytes(), MODULES_FILE)
    }

    const GOOD: &str = "schema: warden.modules/v1
modules:
  - name: ledger
    folder: modules/ledger/
    keywords: [Ledger, ulid, ledger]
    allowed_extensions: [.PY, jsonl]
  - name: goals
    folder: modules/goals
    keywords: [goal, ulid]
    priority: 2
";

    #[test]
    fn defaults_and_canonical_forms() {
        let m = parse(GOOD).expect("good registry");
        assert_eq!(m.inbox[0].as_str(), "inbox");
        assert_eq!(m.thresholds, Thresholds::default());
        let ledger = m.get("ledger").expect("module");
        assert_eq!(ledger.keywords, vec!["ledger", "ulid"]);
        assert!(ledger.takes_extension(".py") && ledger.takes_extension("JSONL"));
        assert!(!ledger.takes_extension("md"));
        assert!(m.get("goals").expect("module").takes_extension(""));
        assert_eq!(
            m.get("goals").expect("module").folder.as_str(),
            "modules/goals"
        );
    }

    #[test]
    fn owner_of_matches_whole_components_only() {
        let m = parse(GOOD).expect("good registry");
        let p = |s: &str| RepoPath::parse(s, "", "").expect("path");
        assert_eq!(
            m.owner_of(&p("modules/ledger/a.py")).expect("owner").name,
            "ledger"
        );
        assert!(m.owner_of(&p("modules/ledgerx/a.py")).is_none());
        assert!(m.in_inbox(&p("inbox/x/y.txt")) && !m.in_inbox(&p("inboxes/y.txt")));
    }

    #[test]
    fn shared_keyword_is_warned_once() {
        let w = parse(GOOD).expect("good registry").warnings();
        let shared: Vec<_> = w
            .iter()
            .filter(|w| w.message.contains("\"ulid\""))
            .collect();
        assert_eq!(shared.len(), 1, "{w:?}");
        assert_eq!(shared[0].field, "modules[0].keywords");
    }

    #[test]
    fn min_margin_0_was_accepted_silently_though_a_tie_is_never_a_winner() {
        let m = parse(
            "schema: warden.modules/v1\nthresholds: {min_score: 0, min_margin: 0}\nmodules:\n  - {name: a, folder: x, keywords: [k]}\n",
        )
        .expect("min_margin 0 parses");
        let w: Vec<_> = m
            .warnings()
            .into_iter()
            .filter(|w| w.field == "thresholds.min_margin")
            .collect();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].message.contains("a tie is never a winner"), "{w:?}");
        assert!(
            parse(GOOD)
                .expect("good registry")
                .warnings()
                .iter()
                .all(|w| w.field != "thresholds.min_margin")
        );
    }

    #[test]
    fn an_inbox_of_slash_was_called_empty_instead_of_absolute() {
        for (text, field) in [
            (
                "schema: warden.modules/v1\ninbox: [\"/\"]\nmodules: []\n",
                "inbox[0]",
            ),
            (
                "schema: warden.modules/v1\nmodules:\n  - {name: a, folder: /srv/a/}\n",
                "modules[0].folder",
            ),
        ] {
            let e = parse(text).expect_err("an absolute folder");
            let shown = e.to_string();
            assert!(
                shown.starts_with(&format!(".warden/modules.yaml: {field}: folder \"/")),
                "{shown}"
            );
            assert!(shown.contains("is absolute"), "{shown}");
            assert!(!shown.contains("empty"), "{shown}");
            assert!(
                e.hint().is_some_and(|h| h.contains("drop the leading '/'")),
                "{:?}",
                e.hint()
            );
        }
    }

    #[test]
    fn duplicate_module_name_names_both_entries() {
        let e = parse(
            "schema: warden.modules/v1\nmodules:\n  - {name: a, folder: x}\n  - {name: a, folder: z}\n",
        )
        .expect_err("must be refused");
        let s = format!("{e} {:?}", e.hint());
        assert!(
            s.contains("modules[1].name") && s.contains("modules[0]"),
            "{s}"
        );
    }

    #[test]
    fn folder_inside_protected_area_is_refused() {
        for folder in [".warden/x", ".git", "../up", "/abs", ".quarantine/r"] {
            let text = format!(
                "schema: warden.modules/v1\nmodules:\n  - {{name: a, folder: \"{folder}\"}}\n"
            );
            let e = parse(&text).expect_err("must be refused");
            assert!(e.to_string().contains("modules[0].folder"), "{folder}: {e}");
        }
    }

    #[test]
    fn unknown_field_suggests_the_near_one() {
        let e =
            parse("schema: warden.modules/v1\nmodules:\n  - {name: a, folder: x, keyword: [b]}\n")
                .expect_err("must be refused");
        assert!(format!("{:?}", e.hint()).contains("keywords"), "{e}");
    }

    /// The error for a registry of the given module entries (YAML flow maps).
    fn refusal(entries: &[&str]) -> String {
        let mut text = String::from("schema: warden.modules/v1\nmodules:\n");
        for e in entries {
            text.push_str(&format!("  - {e}\n"));
        }
        let e = parse(&text).expect_err("must be refused");
        format!("{e} hint: {:?}", e.hint())
    }

    #[test]
    fn unusable_module_name_is_refused() {
        for name in ["\"\"", "\"a b\"", "\"a/b\""] {
            let s = refusal(&[&format!("{{name: {name}, folder: x}}")]);
            assert!(
                s.contains("modules[0].name") && s.contains("not usable"),
                "{name}: {s}"
            );
        }
    }

    #[test]
    fn folder_claimed_twice_names_both_entries() {
        let s = refusal(&[
            "{name: a, folder: p/}",
            "{name: b, folder: q}",
            "{name: c, folder: p}",
        ]);
        assert!(
            s.contains("modules[2].folder") && s.contains("modules[0] has the same folder"),
            "{s}"
        );
    }

    #[test]
    fn empty_keyword_is_refused_at_its_index() {
        let s = refusal(&["{name: a, folder: x, keywords: [b, \"  \"]}"]);
        assert!(
            s.contains("modules[0].keywords[1]") && s.contains("empty keyword"),
            "{s}"
        );
    }

    #[test]
    fn unusable_extension_is_refused_at_its_index() {
        for ext in ["\".\"", "\"a/b\"", "\" \""] {
            let s = refusal(&[&format!(
                "{{name: a, folder: x, allowed_extensions: [py, {ext}]}}"
            )]);
            assert!(
                s.contains("modules[0].allowed_extensions[1]") && s.contains("not usable"),
                "{ext}: {s}"
            );
        }
    }

    #[test]
    fn spec_outside_the_repository_is_refused() {
        let s = refusal(&["{name: a, folder: x, spec: ../spec.md}"]);
        assert!(s.contains("modules[0].spec"), "{s}");
    }

    #[test]
    fn wrong_schema_tag_is_refused() {
        assert!(parse("schema: warden.modules/v2\n").is_err());
    }
}
