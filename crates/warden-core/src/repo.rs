//! The repository as warden sees it: where its files live, `init`, and opening
//! an initialised repository (policy loaded, this clone's writer id known).
//!
//! Layout (committed unless noted):
//! - `.warden/policy.yaml`, `.warden/OPERATING_CONTRACT.md`
//! - `.warden/state/` (ignored, this clone only): `journal`, `lock`, `writer`,
//!   `ledger-heads.json`
//! - `.ledger/runs/<writer>.jsonl`: one hash chain per clone
//! - `.runs/<RUN_ID>/` (ignored): plan, diff, report of each run
//! - `.quarantine/<RUN_ID>/`: files routed to the quarantine lane

use crate::context::Context;
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::ledger::Ledger;
use crate::policy::{self, Policy};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Layout {
    pub root: PathBuf,
}

impl Layout {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Layout { root: root.into() }
    }
    pub fn warden_dir(&self) -> PathBuf {
        self.root.join(".warden")
    }
    pub fn state_dir(&self) -> PathBuf {
        self.warden_dir().join("state")
    }
    pub fn policy(&self) -> PathBuf {
        self.root.join(policy::POLICY_FILE)
    }
    pub fn contract(&self) -> PathBuf {
        self.warden_dir().join("OPERATING_CONTRACT.md")
    }
    pub fn journal(&self) -> PathBuf {
        self.state_dir().join("journal")
    }
    pub fn lock(&self) -> PathBuf {
        self.state_dir().join("lock")
    }
    pub fn writer_file(&self) -> PathBuf {
        self.state_dir().join("writer")
    }
    pub fn heads(&self) -> PathBuf {
        self.state_dir().join("ledger-heads.json")
    }
    /// The content store ([`crate::store`]): before-states too big for the journal.
    pub fn store_dir(&self) -> PathBuf {
        self.state_dir().join("store")
    }
    pub fn ledger_dir(&self) -> PathBuf {
        self.root.join(".ledger").join("runs")
    }
    pub fn runs_dir(&self) -> PathBuf {
        self.root.join(".runs")
    }
    pub fn run_dir(&self, run: &str) -> PathBuf {
        self.runs_dir().join(run)
    }
    pub fn quarantine_dir(&self) -> PathBuf {
        self.root.join(crate::paths::QUARANTINE_DIR)
    }
    pub fn ledger(&self) -> Ledger {
        Ledger::new(&self.root, self.ledger_dir(), self.heads())
    }
}

/// Find the repository root: the nearest ancestor of `start` holding `.git`.
pub fn discover(start: &Path) -> Result<PathBuf> {
    let start = start.canonicalize().user_io("resolve", start)?;
    let mut cur = start.as_path();
    loop {
        if cur.join(".git").exists() {
            return Ok(cur.to_path_buf());
        }
        match cur.parent() {
            Some(p) => cur = p,
            None => return Err(Error::NotARepo { path: start }),
        }
    }
}

/// What `init` did, path by path.
#[derive(Debug, Clone, Default, serde::Serialize, schemars::JsonSchema)]
pub struct InitReport {
    /// Always "warden.init/v1".
    pub schema: String,
    pub root: String,
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
    pub writer: String,
}

fn sanitize_host(host: &str) -> String {
    let s: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches('-');
    let s = if s.is_empty() { "host" } else { s };
    s.chars().take(32).collect()
}

/// Write `content` to `rel` unless it is already exactly that; report which.
fn ensure_file(
    root: &Path,
    rel: &str,
    content: &[u8],
    keep_existing: bool,
    report: &mut InitReport,
) -> Result<()> {
    let path = root.join(rel);
    match std::fs::read(&path) {
        Ok(existing) if existing == content || keep_existing => report.unchanged.push(rel.into()),
        Ok(_) => {
            fsutil::write_atomic(&path, content, 0o644)?;
            report.updated.push(rel.into());
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).io("create", dir)?;
            }
            fsutil::write_atomic(&path, content, 0o644)?;
            report.created.push(rel.into());
        }
        Err(e) => return Err(e).io("read", &path),
    }
    Ok(())
}

/// Initialise warden in the git repository at `root`. Idempotent: existing
/// policy and writer id are kept; the contract is re-rendered when it drifted.
pub fn init(root: &Path, ctx: &Context) -> Result<InitReport> {
    if !root.join(".git").exists() {
        return Err(Error::NotARepo {
            path: root.to_path_buf(),
        });
    }
    let layout = Layout::new(root);
    let mut report = InitReport {
        schema: crate::report::tag("init"),
        root: root.display().to_string(),
        ..Default::default()
    };
    std::fs::create_dir_all(layout.state_dir()).io("create", layout.state_dir())?;
    std::fs::create_dir_all(layout.ledger_dir()).io("create", layout.ledger_dir())?;
    ensure_tracked_files(root, ctx, &mut report)?;
    ensure_clone_state(&layout, ctx, &mut report)?;
    ensure_contract(root, &layout, &mut report)?;
    let writer_path = layout.writer_file();
    report.writer = std::fs::read_to_string(&writer_path)
        .io("read", &writer_path)?
        .trim()
        .to_string();
    Ok(report)
}

/// The files warden keeps in the repository: the policy (dated today, kept
/// when present) and its schema, the ignore files of the clone's state and
/// the run artifacts, and the ledger's README and merge attributes.
fn ensure_tracked_files(root: &Path, ctx: &Context, report: &mut InitReport) -> Result<()> {
    let today = ctx.clock.now().to_zoned(jiff::tz::TimeZone::UTC).date();
    let policy_text = policy::default_policy_text(&format!("{today}.1"), env!("CARGO_PKG_VERSION"));
    ensure_file(
        root,
        policy::POLICY_FILE,
        policy_text.as_bytes(),
        true,
        report,
    )?;
    let schema = crate::schema::get("policy")
        .map(|v| serde_json::to_string_pretty(&v).unwrap_or_default() + "\n")
        .unwrap_or_default();
    ensure_file(
        root,
        ".warden/policy.schema.json",
        schema.as_bytes(),
        false,
        report,
    )?;
    ensure_file(
        root,
        ".warden/.gitignore",
        b"# this clone's journal, lock and writer id\n/state/\n",
        false,
        report,
    )?;
    ensure_file(
        root,
        ".runs/.gitignore",
        b"# run artifacts (plan, diff, report) stay local\n*\n!.gitignore\n",
        false,
        report,
    )?;
    ensure_file(
        root,
        ".ledger/README.md",
        b"# warden ledger\n\nAppend-only, hash-chained run records: one `runs/<writer>.jsonl` per clone.\nNever edit by hand; `warden ledger verify` detects any change.\n",
        false,
        report,
    )?;
    ensure_file(
        root,
        ".ledger/.gitattributes",
        b"# identity operations are append-only lines: clones merge by union\nids.jsonl merge=union\n",
        false,
        report,
    )
}

/// This clone's own state: its writer id (minted once), journal and lock.
fn ensure_clone_state(layout: &Layout, ctx: &Context, report: &mut InitReport) -> Result<()> {
    let writer_path = layout.writer_file();
    if !writer_path.exists() {
        let id = ctx.ids.run_id().to_string().to_ascii_lowercase();
        let writer = format!("{}-{}", sanitize_host(&ctx.host), &id[id.len() - 8..]);
        fsutil::write_atomic(&writer_path, writer.as_bytes(), 0o644)?;
        report.created.push(".warden/state/writer".into());
    }
    for (p, what) in [
        (layout.journal(), ".warden/state/journal"),
        (layout.lock(), ".warden/state/lock"),
    ] {
        if !p.exists() {
            std::fs::File::create(&p).io("create", &p)?;
            report.created.push(what.into());
        }
    }
    fsutil::sync_dir(&layout.state_dir())
}

/// The operating contract, rendered from the policy actually on disk (it
/// may be the user's) and the plugins registered.
fn ensure_contract(root: &Path, layout: &Layout, report: &mut InitReport) -> Result<()> {
    let policy_bytes = std::fs::read(layout.policy()).io("read", layout.policy())?;
    let policy = Policy::parse_bytes(&policy_bytes, policy::POLICY_FILE)?;
    let plugins = crate::plugin_registry::PluginRegistry::read(root)?;
    let contract = crate::contract::render(&policy, &plugins);
    ensure_file(
        root,
        ".warden/OPERATING_CONTRACT.md",
        contract.as_bytes(),
        false,
        report,
    )
}

/// An initialised repository.
#[derive(Debug, Clone)]
pub struct Repo {
    pub layout: Layout,
    pub policy: Policy,
    /// This clone's ledger chain name.
    pub writer: String,
}

impl Repo {
    pub fn open(root: &Path) -> Result<Repo> {
        let layout = Layout::new(root);
        let writer_path = layout.writer_file();
        if !layout.policy().exists() || !writer_path.exists() || !layout.journal().exists() {
            return Err(Error::NotInitialised {
                root: root.to_path_buf(),
            });
        }
        // Never through a symbolic link (a policy linked to a secret file
        // would have its content in a parse error).
        let Some(bytes) = crate::strict::read_repo_file(root, policy::POLICY_FILE)? else {
            return Err(Error::NotInitialised {
                root: root.to_path_buf(),
            });
        };
        let policy = Policy::parse_bytes(&bytes, policy::POLICY_FILE)?;
        let writer = std::fs::read_to_string(&writer_path)
            .io("read", &writer_path)?
            .trim()
            .to_string();
        if writer.is_empty()
            || !writer
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(Error::Corrupt {
                path: writer_path,
                message: "the writer id is empty or malformed".into(),
            });
        }
        Ok(Repo {
            layout,
            policy,
            writer,
        })
    }

    pub fn root(&self) -> &Path {
        &self.layout.root
    }

    pub fn ledger(&self) -> Ledger {
        self.layout.ledger()
    }

    /// What `.warden/OPERATING_CONTRACT.md` should say now.
    pub fn rendered_contract(&self) -> Result<String> {
        let plugins = crate::plugin_registry::PluginRegistry::read(self.root())?;
        Ok(crate::contract::render(&self.policy, &plugins))
    }

    /// Whether `.warden/OPERATING_CONTRACT.md` matches what the policy and the
    /// enabled plugins render.
    pub fn contract_in_sync(&self) -> bool {
        let want = self.rendered_contract();
        std::fs::read_to_string(self.layout.contract()).is_ok_and(|c| want.is_ok_and(|w| c == w))
    }
}
