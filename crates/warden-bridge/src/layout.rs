//! The bridge root (docs/bridge.md): its directories, its private state, `init`.
//!
//! ```text
//! <root>/commands/      inbound signed commands (*.json); never staged
//!        results/       <id>.json, <id>.integrity.json
//!        diffs/         <id>.patch
//!        archive/       <id>.json: the command, byte for byte, on success
//!        dead_letter/   <key>.json: failures with a machine-readable reason
//!        meta/          retries.json (published control state), bridge.json (config)
//!        logs/          bridge.log (one JSON line per command), .gitattributes
//!        summaries/ context/   optional outputs, published as they are
//!        .bridge/       private, ignored: locks and the group-commit marker
//! ```

use std::path::{Path, PathBuf};

/// The bridge's directories; commands may never write into them.
pub const BRIDGE_DIRS: &[&str] = &[
    "commands",
    "results",
    "diffs",
    "archive",
    "dead_letter",
    "meta",
    "logs",
    "summaries",
    "context",
];

/// The directories publish stages: everything but `commands/`.
pub const SAFE_DIRS: &[&str] = &[
    "context",
    "results",
    "diffs",
    "summaries",
    "logs",
    "archive",
    "dead_letter",
    "meta",
];

/// Lines `init` makes sure `.gitignore` at the bridge root has.
/// Neither `commands/.retries.json` nor inbound commands (`commands/*.json`)
/// are ever committed, so `git add -A` does not stage them.
pub const GITIGNORE_LINES: &[&str] = &["commands/.retries.json", "commands/*.json", ".bridge/"];

#[derive(Debug, Clone)]
pub struct Layout {
    pub root: PathBuf,
    /// The environment of the git processes publishing this root (the CLI's
    /// allow-listed base; nothing is inherited, secrets never pass).
    pub child_env: Vec<(std::ffi::OsString, std::ffi::OsString)>,
}

impl Layout {
    pub fn new(root: impl Into<PathBuf>) -> Layout {
        Layout {
            root: root.into(),
            child_env: Vec::new(),
        }
    }
    /// The same layout whose git processes get `env`.
    pub fn with_child_env(mut self, env: Vec<(std::ffi::OsString, std::ffi::OsString)>) -> Layout {
        self.child_env = env;
        self
    }
    pub fn dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }
    pub fn commands(&self) -> PathBuf {
        self.dir("commands")
    }
    pub fn result(&self, id: &str) -> PathBuf {
        self.dir("results").join(format!("{id}.json"))
    }
    pub fn integrity(&self, id: &str) -> PathBuf {
        self.dir("results").join(format!("{id}.integrity.json"))
    }
    pub fn diff(&self, id: &str) -> PathBuf {
        self.dir("diffs").join(format!("{id}.patch"))
    }
    pub fn archive(&self, id: &str) -> PathBuf {
        self.dir("archive").join(format!("{id}.json"))
    }
    pub fn dead_letter(&self, key: &str) -> PathBuf {
        self.dir("dead_letter").join(format!("{key}.json"))
    }
    pub fn retries(&self) -> PathBuf {
        self.dir("meta").join("retries.json")
    }
    pub fn config(&self) -> PathBuf {
        self.dir("meta").join("bridge.json")
    }
    pub fn log(&self) -> PathBuf {
        self.dir("logs").join("bridge.log")
    }
    pub fn private(&self) -> PathBuf {
        self.root.join(".bridge")
    }
    pub fn run_lock(&self) -> PathBuf {
        self.private().join("run.lock")
    }
    pub fn marker(&self) -> PathBuf {
        self.private().join("batch.json")
    }
    pub fn publish_state(&self) -> PathBuf {
        self.private().join("publish.json")
    }
}

/// What `warden bridge init` did (`warden.bridge-init/v1`).
#[derive(Debug, Clone, Default, serde::Serialize, schemars::JsonSchema)]
#[schemars(title = "warden bridge init")]
pub struct InitReport {
    /// Always "warden.bridge-init/v1".
    pub schema: String,
    pub root: String,
    pub created: Vec<String>,
    pub unchanged: Vec<String>,
}

impl warden_core::Report for InitReport {
    const SCHEMA: &'static str = "bridge-init";

    fn human(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(s, "bridge root {}", self.root);
        for c in &self.created {
            let _ = writeln!(s, "  created   {c}");
        }
        for u in &self.unchanged {
            let _ = writeln!(s, "  unchanged {u}");
        }
        let _ = writeln!(
            s,
            "next: export GPT_BRIDGE_HMAC_SECRET_FILE=<a file holding the secret, mode 600> and run `warden bridge run --watch --root {}`",
            self.root
        );
        s
    }
}

fn ensure_file(
    path: &Path,
    content: &str,
    rel: &str,
    report: &mut InitReport,
) -> std::io::Result<()> {
    if path.exists() {
        report.unchanged.push(rel.into());
    } else {
        warden_core::fsutil::write_atomic(path, content.as_bytes(), 0o644)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        report.created.push(rel.into());
    }
    Ok(())
}

/// Create the directories, `meta/retries.json`, the `.gitignore` entries and
/// the union-merge attribute of the log. Idempotent. `target` (relative to the
/// root, or absolute) is stored in `meta/bridge.json` when given.
pub fn init(layout: &Layout, target: Option<&str>) -> std::io::Result<InitReport> {
    let mut report = InitReport {
        schema: "warden.bridge-init/v1".into(),
        root: layout.root.display().to_string(),
        ..Default::default()
    };
    std::fs::create_dir_all(&layout.root)?;
    for d in BRIDGE_DIRS.iter().chain(&[".bridge"]) {
        let p = layout.dir(d);
        if p.is_dir() {
            report.unchanged.push(format!("{d}/"));
        } else {
            std::fs::create_dir_all(&p)?;
            report.created.push(format!("{d}/"));
        }
    }
    ensure_file(&layout.retries(), "{}\n", "meta/retries.json", &mut report)?;
    // commands/ itself travels with the repository (its *.json are ignored).
    ensure_file(
        &layout.commands().join(".gitkeep"),
        "",
        "commands/.gitkeep",
        &mut report,
    )?;
    // Parallel bridges append to the same log: git merges it as a union of lines.
    ensure_file(
        &layout.dir("logs").join(".gitattributes"),
        "bridge.log merge=union\n",
        "logs/.gitattributes",
        &mut report,
    )?;
    if let Some(t) = target {
        // Keep the operator's checks when the target is set again.
        let mut cfg = load_config(layout)
            .map_err(std::io::Error::other)?
            .unwrap_or_default();
        cfg.schema = CONFIG_SCHEMA_ID.into();
        cfg.target = Some(t.to_string());
        let text = serde_json::to_string_pretty(&cfg).unwrap_or_default() + "\n";
        warden_core::fsutil::write_atomic(&layout.config(), text.as_bytes(), 0o644)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        report.created.push("meta/bridge.json".into());
    }
    let gi = layout.root.join(".gitignore");
    let current = std::fs::read_to_string(&gi).unwrap_or_default();
    let missing: Vec<&str> = GITIGNORE_LINES
        .iter()
        .copied()
        .filter(|l| !current.lines().any(|c| c.trim() == *l))
        .collect();
    if missing.is_empty() {
        report.unchanged.push(".gitignore".into());
    } else {
        let mut text = current.clone();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        for l in missing {
            text.push_str(l);
            text.push('\n');
        }
        warden_core::fsutil::write_atomic(&gi, text.as_bytes(), 0o644)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        report.created.push(".gitignore".into());
    }
    Ok(report)
}

/// `meta/bridge.json` (`warden.bridge-config/v1`): the operator's settings.
/// Commands can never write it (`meta/` is protected).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "warden bridge config (meta/bridge.json)")]
pub struct Config {
    /// "warden.bridge-config/v1".
    pub schema: String,
    /// The target repository, relative to the bridge root or absolute
    /// (default: the repository holding the root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Checks a command's `validationPlan` may name: check name → argv, run
    /// in the target repository's root after the change is applied and before
    /// it commits; failure or the command's deadline rolls the change back.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub checks: std::collections::BTreeMap<String, Vec<String>>,
}

pub const CONFIG_SCHEMA_ID: &str = "warden.bridge-config/v1";

/// The spelling written before the tags followed `warden.<schema name>/v1`;
/// still read, so existing `meta/bridge.json` files keep working.
pub const CONFIG_SCHEMA_ID_OLD: &str = "warden.bridge.config/v1";

/// Read `meta/bridge.json`: `Ok(None)` when there is none; an error names the
/// file, the field and the fix.
pub fn load_config(layout: &Layout) -> Result<Option<Config>, String> {
    let path = layout.config();
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: cannot read: {e}", path.display())),
    };
    // Read strictly first: a BOM, a duplicate key (which copy would win?) or
    // an unknown field is refused with the file and the field named.
    let doc = crate::canon::parse(&bytes).map_err(|e| match e {
        crate::canon::ParseError::Syntax { ref message, .. }
            if message.contains("byte-order mark") =>
        {
            format!(
                "{}: {e}; save it as UTF-8 without a byte-order mark (BOM)",
                path.display()
            )
        }
        crate::canon::ParseError::DuplicateKey { ref key, .. } => format!(
            "{}: field {key}: {e}; keep one copy (JSON readers disagree on which wins)",
            path.display()
        ),
        _ => format!("{}: not valid JSON: {e}", path.display()),
    })?;
    if let crate::canon::JVal::Obj(members) = &doc {
        const KNOWN: &[&str] = &["schema", "target", "checks"];
        for (k, _) in members {
            if !KNOWN.contains(&k.as_str()) {
                let fix = warden_core::error::did_you_mean(k, KNOWN.iter().copied())
                    .unwrap_or_else(|| format!("the fields are {}", KNOWN.join(", ")));
                return Err(format!(
                    "{}: field {k}: unknown field; {fix} (unknown fields are refused, never ignored)",
                    path.display()
                ));
            }
        }
    }
    let cfg: Config = serde_json::from_slice(&bytes).map_err(|e| {
        format!(
            "{}: {e}; fields are schema, target and checks (`warden schema bridge-config`)",
            path.display()
        )
    })?;
    if cfg.schema != CONFIG_SCHEMA_ID && cfg.schema != CONFIG_SCHEMA_ID_OLD {
        return Err(format!(
            "{}: field schema is \"{}\"; expected \"{CONFIG_SCHEMA_ID}\"",
            path.display(),
            cfg.schema
        ));
    }
    for (name, argv) in &cfg.checks {
        if !crate::command::valid_check_name(name) {
            return Err(format!(
                "{}: field checks.{name}: a check name is 1–64 of A–Z a–z 0–9 . _ -",
                path.display()
            ));
        }
        if argv.first().is_some_and(|a| a.contains('=')) {
            return Err(format!(
                "{}: field checks.{name}: the program \"{}\" contains '='; name the program first (e.g. [\"env\", \"K=V\", \"make\"] is not allowed: checks get an explicit environment)",
                path.display(),
                argv[0]
            ));
        }
        if argv.is_empty() || argv[0].is_empty() {
            return Err(format!(
                "{}: field checks.{name}: give the command as a non-empty argv array, e.g. [\"make\", \"test\"]",
                path.display()
            ));
        }
    }
    Ok(Some(cfg))
}

/// The configured target (from `meta/bridge.json`), resolved against the root.
pub fn configured_target(layout: &Layout) -> Option<PathBuf> {
    let cfg = load_config(layout).ok().flatten()?;
    let t = cfg.target?;
    let p = Path::new(&t);
    Some(if p.is_absolute() {
        p.to_path_buf()
    } else {
        layout.root.join(p)
    })
}
