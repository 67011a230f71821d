//! The policy pack (G4): `.warden/policy.yaml`. Which actions each
//! source kind may propose per event, which paths are writable, and the limits.
//! Every run records the policy's version and the digest of its exact bytes.

use crate::digest::Digest;
use crate::error::{Error, Result, did_you_mean};
use crate::events::{self, ActionKind, SOURCE_KINDS};
use crate::paths::RepoPath;
use crate::strict;
use globset::{GlobSet, GlobSetBuilder};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

pub const POLICY_SCHEMA_ID: &str = "warden.policy/v1";
pub const POLICY_FILE: &str = ".warden/policy.yaml";

/// The policy file as written. Unknown keys are errors so typos don't silently
/// weaken a rule.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "warden policy pack", description = "`.warden/policy.yaml`")]
pub struct PolicyFile {
    /// Always "warden.policy/v1".
    pub schema: String,
    /// Version stamp recorded by every run, e.g. "2026-11-21.1". Bump it when you edit the policy.
    pub version: String,
    /// Per lifecycle event, per source kind: the allowed action kinds.
    #[serde(default)]
    pub events: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    #[serde(default)]
    pub paths: PathRules,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub validation: Option<Validation>,
    #[serde(default)]
    pub plugins: PluginRules,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PathRules {
    /// Globs of writable paths (default: everything). `.git/`, `.ledger/`, `.warden/` and `.runs/` are always denied.
    #[serde(default = "default_allow")]
    pub allow: Vec<String>,
    /// Globs of paths no proposal may touch; deny wins over allow.
    #[serde(default)]
    pub deny: Vec<String>,
}

fn default_allow() -> Vec<String> {
    vec!["**".into()]
}

impl Default for PathRules {
    fn default() -> Self {
        PathRules {
            allow: default_allow(),
            deny: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Most paths one run may touch.
    #[serde(default = "default_max_files")]
    pub max_files: u64,
    /// Most bytes of new content one run may write.
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
    /// Wall-clock limit of the validation command, in milliseconds.
    #[serde(default = "default_max_runtime_ms")]
    pub max_runtime_ms: u64,
}

fn default_max_files() -> u64 {
    1000
}
fn default_max_bytes() -> u64 {
    64 * 1024 * 1024
}
fn default_max_runtime_ms() -> u64 {
    120_000
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_files: default_max_files(),
            max_bytes: default_max_bytes(),
            max_runtime_ms: default_max_runtime_ms(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Validation {
    /// argv of a command run in the repository root after a run applied; a non-zero exit rolls the run back.
    pub command: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PluginRules {
    /// Whether plugins may run when the kernel sandbox cannot be enforced
    /// (then no isolation layer is required at all).
    #[serde(default)]
    pub run_unsandboxed: bool,
    /// The isolation layers the kernel must enforce before a plugin starts
    /// (unless `run_unsandboxed`); a plugin is refused (`sandbox_unavailable`)
    /// when one is missing. The others are applied where the kernel can and
    /// recorded either way.
    #[serde(default = "default_require_isolation")]
    pub require_isolation: Vec<IsolationLayer>,
}

impl Default for PluginRules {
    fn default() -> Self {
        PluginRules {
            run_unsandboxed: false,
            require_isolation: default_require_isolation(),
        }
    }
}

fn default_require_isolation() -> Vec<IsolationLayer> {
    vec![IsolationLayer::Filesystem]
}

/// One layer of a plugin's isolation (see `docs/ARCHITECTURE.md`, G9).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum IsolationLayer {
    /// Landlock: the repository and everything outside the scratch directory are read-only.
    Filesystem,
    /// A PID namespace with its own /proc: no other process is visible.
    Processes,
    /// No signal reaches a process outside the sandbox.
    Signals,
    /// The repository is mounted read-only: no mode, owner, xattr or time change.
    Metadata,
    /// No capabilities, no_new_privs.
    Privileges,
}

impl IsolationLayer {
    pub fn name(self) -> &'static str {
        match self {
            IsolationLayer::Filesystem => "filesystem",
            IsolationLayer::Processes => "processes",
            IsolationLayer::Signals => "signals",
            IsolationLayer::Metadata => "metadata",
            IsolationLayer::Privileges => "privileges",
        }
    }
    pub fn parse(s: &str) -> Option<IsolationLayer> {
        [
            IsolationLayer::Filesystem,
            IsolationLayer::Processes,
            IsolationLayer::Signals,
            IsolationLayer::Metadata,
            IsolationLayer::Privileges,
        ]
        .into_iter()
        .find(|l| l.name() == s)
    }
}

/// A parsed, checked policy plus its identity.
#[derive(Debug, Clone)]
pub struct Policy {
    pub file: PolicyFile,
    pub digest: Digest,
    allow: PathGlobs,
    deny: PathGlobs,
}

/// A compiled glob list of the policy. The two lists nearly every policy
/// has, nothing (`deny: []`) and everything (`allow: ["**"]`), need no
/// matcher: building one compiles a regex set, and asks the OS how many
/// CPUs it has, on every run's policy load.
#[derive(Debug, Clone)]
enum PathGlobs {
    Nothing,
    Everything,
    Set(GlobSet),
}

impl PathGlobs {
    /// Every glob is checked as [`globs`] checks it, whatever the shortcut.
    fn compile(list: &[String], file: &str, field: &str) -> Result<PathGlobs> {
        if list.is_empty() {
            return Ok(PathGlobs::Nothing);
        }
        if list.iter().any(|g| g == "**") {
            for (i, g) in list.iter().enumerate() {
                glob(g, i, file, field)?;
            }
            return Ok(PathGlobs::Everything);
        }
        Ok(PathGlobs::Set(globs(list, file, field)?))
    }

    fn is_match(&self, path: &str) -> bool {
        match self {
            PathGlobs::Nothing => false,
            PathGlobs::Everything => true,
            PathGlobs::Set(set) => set.is_match(path),
        }
    }
}

/// The policy identity recorded in ledger entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PolicyRef {
    pub version: String,
    pub digest: Digest,
}

impl Policy {
    /// Parse and check policy text. `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Policy> {
        Self::parse_bytes(text.as_bytes(), file)
    }

    /// Parse and check the policy file's bytes, strictly ([`crate::strict`]):
    /// no byte-order mark, valid UTF-8, no repeated key, no unknown field.
    pub fn parse_bytes(bytes: &[u8], file: &str) -> Result<Policy> {
        let value = strict::parse_yaml(bytes, file)?;
        let hint = if value.is_null() {
            format!(
                "restore it (`git checkout -- {file}`), or remove it and run `warden init`, which writes the default policy"
            )
        } else {
            "see `warden schema policy` for the expected shape".to_string()
        };
        let pf: PolicyFile = strict::deserialize(&value, file, &hint)?;
        Self::check(pf, Digest::of(bytes), file)
    }

    fn check(pf: PolicyFile, digest: Digest, file: &str) -> Result<Policy> {
        if pf.schema != POLICY_SCHEMA_ID {
            return Err(Error::invalid(
                file,
                "schema",
                format!("unsupported policy schema \"{}\"", pf.schema),
                Some(format!("set `schema: {POLICY_SCHEMA_ID}`")),
            ));
        }
        if pf.version.trim().is_empty() {
            return Err(Error::invalid(
                file,
                "version",
                "the version stamp is empty",
                Some("set e.g. `version: \"2026-11-21.1\"`".into()),
            ));
        }
        let known_events = events::event_names();
        for (event, sources) in &pf.events {
            if !known_events.contains(&event.as_str()) {
                return Err(Error::invalid(
                    file,
                    format!("events.{event}"),
                    format!("unknown event \"{event}\""),
                    did_you_mean(event, known_events.iter().copied())
                        .or_else(|| Some(format!("known events: {}", known_events.join(", ")))),
                ));
            }
            for (source, actions) in sources {
                if !SOURCE_KINDS.contains(&source.as_str()) {
                    return Err(Error::invalid(
                        file,
                        format!("events.{event}.{source}"),
                        format!("unknown source kind \"{source}\""),
                        did_you_mean(source, SOURCE_KINDS.iter().copied())
                            .or_else(|| Some(format!("known: {}", SOURCE_KINDS.join(", ")))),
                    ));
                }
                for (i, a) in actions.iter().enumerate() {
                    if ActionKind::parse(a).is_none() {
                        return Err(Error::invalid(
                            file,
                            format!("events.{event}.{source}[{i}]"),
                            format!("unknown action \"{a}\""),
                            did_you_mean(a, ActionKind::names()).or_else(|| {
                                Some(format!(
                                    "known actions: {}",
                                    ActionKind::names().collect::<Vec<_>>().join(", ")
                                ))
                            }),
                        ));
                    }
                }
            }
        }
        let allow = PathGlobs::compile(&pf.paths.allow, file, "paths.allow")?;
        let deny = PathGlobs::compile(&pf.paths.deny, file, "paths.deny")?;
        if let Some(v) = &pf.validation
            && v.command.is_empty()
        {
            return Err(Error::invalid(
                file,
                "validation.command",
                "the command is empty",
                Some(
                    "give an argv list such as [\"cargo\", \"check\"], or remove `validation`"
                        .into(),
                ),
            ));
        }
        Ok(Policy {
            file: pf,
            digest,
            allow,
            deny,
        })
    }

    pub fn reference(&self) -> PolicyRef {
        PolicyRef {
            version: self.file.version.clone(),
            digest: self.digest,
        }
    }

    /// Allowed action kinds for `source_kind` on `event`.
    pub fn allowed(&self, event: &str, source_kind: &str) -> BTreeSet<ActionKind> {
        self.file
            .events
            .get(event)
            .and_then(|s| s.get(source_kind))
            .map(|v| v.iter().filter_map(|a| ActionKind::parse(a)).collect())
            .unwrap_or_default()
    }

    /// Refuse unless `source_kind` may take action `kind` on `event`. For the
    /// subsystems that act without a proposal (the sync guardian creating its
    /// branches); the error names the policy file, the field and the fix.
    pub fn require(&self, event: &str, source_kind: &str, kind: ActionKind) -> Result<()> {
        if self.allowed(event, source_kind).contains(&kind) {
            return Ok(());
        }
        Err(Error::refused(
            crate::error::Refusal::Policy,
            POLICY_FILE,
            format!("events.{event}.{source_kind}"),
            format!(
                "policy {} does not allow source kind \"{source_kind}\" to \"{}\" on event \"{event}\"",
                self.file.version,
                kind.name()
            ),
            Some(format!(
                "add \"{}\" to events.{event}.{source_kind} in {POLICY_FILE} (e.g. `{event}: {{{source_kind}: [{}]}}`) and bump its version; policies written before this action existed lack it",
                kind.name(),
                kind.name()
            )),
        ))
    }

    /// Why a path may not be written, or None when it may.
    pub fn path_refusal(&self, path: &RepoPath) -> Option<String> {
        if let Some(area) = path.protected_area() {
            return Some(format!(
                "\"{path}\" is inside {area}/, which proposals may never write"
            ));
        }
        if self.deny.is_match(path.as_str()) {
            return Some(format!("\"{path}\" matches paths.deny"));
        }
        if !self.allow.is_match(path.as_str()) {
            return Some(format!("\"{path}\" matches no glob in paths.allow"));
        }
        None
    }
}

/// Compile `list` (field `field` of `file`) into one set; a bad glob is an
/// error naming its index. Shared with the subsystems' own policy files.
pub fn globs(list: &[String], file: &str, field: &str) -> Result<GlobSet> {
    let mut b = GlobSetBuilder::new();
    for (i, g) in list.iter().enumerate() {
        b.add(glob(g, i, file, field)?);
    }
    b.build()
        .map_err(|e| Error::invalid(file, field, e.to_string(), None))
}

/// One glob of `field`, at index `i`; `/` is never matched by `*`.
fn glob(g: &str, i: usize, file: &str, field: &str) -> Result<globset::Glob> {
    globset::GlobBuilder::new(g)
        .literal_separator(true)
        .build()
        .map_err(|e| {
            Error::invalid(
                file,
                format!("{field}[{i}]"),
                format!("bad glob \"{g}\": {e}"),
                Some("use globs such as \"docs/**\" or \"*.md\"".into()),
            )
        })
}

/// The commented default policy written by `warden init`, stamped with `version`.
pub fn default_policy_text(version: &str, warden_version: &str) -> String {
    let mut s = String::new();
    s.push_str("# yaml-language-server: $schema=policy.schema.json\n");
    s.push_str("# warden policy pack. Every run records `version` and the sha256 of\n");
    s.push_str("# this file's bytes. Bump `version` whenever you change a rule.\n");
    s.push_str(&format!(
        "# Written by warden {warden_version}; `warden schema policy` prints its JSON Schema.\n"
    ));
    s.push_str(&format!("schema: {POLICY_SCHEMA_ID}\n"));
    s.push_str(&format!("version: \"{version}\"\n\n"));
    s.push_str("# Per lifecycle event (`warden events`), per source kind\n");
    s.push_str(&format!(
        "# ({}), the actions that source may propose.\n",
        SOURCE_KINDS.join(", ")
    ));
    s.push_str("# delete_file is never allowed unless you list it here.\n");
    s.push_str("events:\n");
    for ev in events::catalogue() {
        if ev.default_allow.is_empty() {
            s.push_str(&format!("  {}: {{}}  # {}\n", ev.name, ev.trigger));
            continue;
        }
        s.push_str(&format!("  # {}\n", ev.trigger));
        s.push_str(&format!("  {}:\n", ev.name));
        for (source, actions) in ev.default_allow {
            let names: Vec<&str> = actions.iter().map(|a| a.name()).collect();
            s.push_str(&format!("    {source}: [{}]\n", names.join(", ")));
        }
    }
    s.push_str(
        "\n# Writable paths. .git/, .ledger/, .warden/ and .runs/ are always denied;\n\
         # the quarantine lane .quarantine/ is written only by the quarantine action.\n\
         paths:\n  allow: [\"**\"]\n  deny: []\n\n\
         # Limits of one run.\n\
         limits:\n  max_files: 1000        # paths touched\n  max_bytes: 67108864     # bytes of new content\n  max_runtime_ms: 120000  # validation command wall-clock limit\n\n\
         # Optional: a command run in the repository root after each run applied.\n\
         # A non-zero exit rolls the run back (exit 1). Example:\n\
         # validation:\n#   command: [\"cargo\", \"check\", \"--quiet\"]\n\n\
         plugins:\n  # Whether plugins may run when the kernel sandbox is not enforced.\n  run_unsandboxed: false\n",
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_parses() {
        let p = Policy::parse(&default_policy_text("2026-11-21.1", "0.1.0"), "policy.yaml")
            .expect("default policy must parse");
        assert!(
            p.allowed("Manual", "person")
                .contains(&ActionKind::WriteFile)
        );
        assert!(
            !p.allowed("Manual", "person")
                .contains(&ActionKind::DeleteFile)
        );
    }

    #[test]
    fn require_names_the_file_the_field_and_the_fix() {
        let p = Policy::parse(&default_policy_text("1", "0.1.0"), "policy.yaml").expect("parse");
        p.require("SyncAudited", "collector", ActionKind::CreateBranch)
            .expect("the default policy lets the sync guardian create its branches");
        let old = "schema: warden.policy/v1\nversion: \"7\"\nevents:\n  SyncAudited: {}\n";
        let p = Policy::parse(old, "policy.yaml").expect("parse");
        let e = p
            .require("SyncAudited", "collector", ActionKind::CreateBranch)
            .expect_err("an old policy lacks it");
        assert_eq!(
            e.to_string(),
            ".warden/policy.yaml: events.SyncAudited.collector: policy 7 does not allow source kind \"collector\" to \"create_branch\" on event \"SyncAudited\""
        );
        assert!(
            e.hint()
                .is_some_and(|h| h.contains("`SyncAudited: {collector: [create_branch]}`")),
            "{:?}",
            e.hint()
        );
    }

    #[test]
    fn unknown_action_names_field_and_suggests() {
        let text = "schema: warden.policy/v1\nversion: \"1\"\nevents:\n  FileDetected:\n    plugin: [move_file, mv_file]\n";
        let e = Policy::parse(text, "policy.yaml").expect_err("must fail");
        assert_eq!(
            e.to_string(),
            "policy.yaml: events.FileDetected.plugin[1]: unknown action \"mv_file\""
        );
        assert_eq!(e.hint().as_deref(), Some("did you mean \"move_file\"?"));
    }

    #[test]
    fn unknown_key_is_an_error_with_its_path() {
        let text = "schema: warden.policy/v1\nversion: \"1\"\nlimits:\n  max_filez: 3\n";
        let e = Policy::parse(text, "policy.yaml").expect_err("must fail");
        assert_eq!(
            e.to_string(),
            "policy.yaml: limits.max_filez: unknown field"
        );
        assert_eq!(e.hint().as_deref(), Some("did you mean \"max_files\"?"));
        let text = "schema: warden.policy/v1\nversion: \"1\"\nplugin:\n  run_unsandboxed: true\n";
        let e = Policy::parse(text, "policy.yaml").expect_err("must fail");
        assert_eq!(e.to_string(), "policy.yaml: plugin: unknown field");
        assert_eq!(e.hint().as_deref(), Some("did you mean \"plugins\"?"));
    }

    #[test]
    fn duplicate_keys_in_the_policy_are_refused_naming_the_key_and_line() {
        // A second `deny:` must never replace the first and drop a rule
        // (serde-saphyr refuses repeated keys by default; this pins it).
        let text = "schema: warden.policy/v1\nversion: \"1\"\npaths:\n  deny: [\"secret/**\"]\n  allow: [\"**\"]\n  deny: []\n";
        let e = Policy::parse(text, "policy.yaml").expect_err("must fail");
        assert_eq!(
            e.to_string(),
            "policy.yaml: line 6 column 3: duplicate key \"deny\""
        );
        assert_eq!(e.class(), crate::ExitClass::Input);
    }

    #[test]
    fn a_bom_in_the_policy_is_named_as_such() {
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend_from_slice(default_policy_text("1", "0.1.0").as_bytes());
        let e = Policy::parse_bytes(&bytes, "policy.yaml").expect_err("bom");
        assert_eq!(
            e.to_string(),
            "policy.yaml: byte 0: file starts with a UTF-8 byte-order mark"
        );
    }

    #[test]
    fn require_isolation_defaults_to_the_filesystem_and_names_a_bad_layer() {
        let base = "schema: warden.policy/v1\nversion: \"1\"\n";
        let p = Policy::parse(base, "policy.yaml").expect("parse");
        assert_eq!(
            p.file.plugins.require_isolation,
            vec![IsolationLayer::Filesystem]
        );
        let text =
            format!("{base}plugins:\n  require_isolation: [filesystem, processes, metadata]\n");
        let p = Policy::parse(&text, "policy.yaml").expect("parse");
        assert_eq!(
            p.file.plugins.require_isolation,
            vec![
                IsolationLayer::Filesystem,
                IsolationLayer::Processes,
                IsolationLayer::Metadata
            ]
        );
        let text = format!("{base}plugins:\n  require_isolation: [filesystem, proceses]\n");
        let e = Policy::parse(&text, "policy.yaml").expect_err("must fail");
        assert_eq!(
            e.to_string(),
            "policy.yaml: plugins.require_isolation[1]: unknown value \"proceses\""
        );
        assert!(
            e.hint().is_some_and(|h| h.contains("\"processes\"")),
            "{e:?}"
        );
    }

    #[test]
    fn protected_and_denied_paths() {
        let text = "schema: warden.policy/v1\nversion: \"1\"\npaths:\n  allow: [\"docs/**\", \"*.md\"]\n  deny: [\"docs/secret/**\"]\n";
        let p = Policy::parse(text, "policy.yaml").expect("parse");
        let rp = |s| RepoPath::parse(s, "", "").expect("valid");
        assert!(p.path_refusal(&rp("docs/a/b.md")).is_none());
        assert!(p.path_refusal(&rp("README.md")).is_none());
        assert!(
            p.path_refusal(&rp("src/README.md")).is_some(),
            "* must not cross /"
        );
        assert!(p.path_refusal(&rp("docs/secret/k")).is_some());
        assert!(p.path_refusal(&rp(".git/config")).is_some());
    }

    #[test]
    fn a_bad_glob_beside_a_match_all_glob_is_still_an_error_naming_its_index() {
        let text = "schema: warden.policy/v1\nversion: \"1\"\npaths:\n  allow: [\"**\", \"a[\"]\n";
        let err = Policy::parse(text, "policy.yaml").expect_err("bad glob");
        assert!(err.to_string().contains("paths.allow[1]"), "{err}");
    }

    proptest::proptest! {
        /// The shortcuts for `[]` and `["**"]` match exactly what a compiled
        /// glob set of the same list matches.
        #[test]
        fn the_shortcut_glob_lists_match_what_a_compiled_set_matches(
            path in "[a-z.]{1,4}(/[a-z.*]{1,4}){0,3}",
        ) {
            let lists: [&[&str]; 4] = [&[], &["**"], &["docs/**", "**"], &["*.md"]];
            for list in lists {
                let list: Vec<String> = list.iter().map(|s| s.to_string()).collect();
                let fast = PathGlobs::compile(&list, "p", "f").expect("compile");
                let set = globs(&list, "p", "f").expect("compile");
                proptest::prop_assert_eq!(fast.is_match(&path), set.is_match(&path), "{:?}", list);
            }
        }
    }
}
