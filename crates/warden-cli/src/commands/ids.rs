//! `warden ids build|check|mint`.

use super::WriteArgs;
use super::plugin::{Applied, FileWrite, apply_writes};
use super::{open, session};
use crate::output::Format;
use crate::output::{self, CliError};
use std::path::PathBuf;
use std::process::ExitCode;
use warden_core::Repo;
use warden_plugin::ids::{self, CARD_SCHEMA_ID, IdCard, REGISTRY_YAML};
use warden_plugin::report::{IdsBuildReport, IdsBuilt, IdsCheck, Minted};
use warden_plugin::validate::{Finding, Report};

#[derive(Debug, clap::Subcommand)]
#[command(defer = true)]
pub enum IdsCommand {
    /// Regenerate ids/registry.yaml from ids/cards/ (and record mints for cards added by hand).
    Build {
        #[command(flatten)]
        write: WriteArgs,
    },
    /// Check immutability, uniqueness and the one-artifact rule; exit 1 on any finding.
    Check {
        /// Compare against this git revision (cards unchanged, id log append-only).
        #[arg(long, value_name = "REV")]
        base: Option<String>,
    },
    /// Mint an ID card for an artifact.
    Mint {
        /// What the artifact is, e.g. plugin, module, document.
        kind: String,
        /// Its repository-relative path.
        artifact: String,
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        write: WriteArgs,
    },
}

pub fn run(repo: Option<PathBuf>, cmd: IdsCommand, fmt: Format) -> Result<ExitCode, CliError> {
    let repo = open(repo)?;
    match cmd {
        IdsCommand::Build { write } => build(&repo, &write, fmt),
        IdsCommand::Check { base } => check(&repo, base.as_deref(), fmt),
        IdsCommand::Mint {
            kind,
            artifact,
            name,
            write,
        } => mint(&repo, &kind, &artifact, name, &write, fmt),
    }
}

fn print_findings(findings: &[Finding]) {
    for f in findings {
        println!("{}: [{}] {}", f.file, f.rule, f.message);
        println!("  fix: {}", f.fix);
    }
}

fn build(repo: &Repo, write: &WriteArgs, fmt: Format) -> Result<ExitCode, CliError> {
    let root = repo.root();
    let text = match ids::registry_yaml(root) {
        Ok(t) => t,
        // The findings are the data: as text, or with --format json the
        // one `ids check` report that names them (exit 1 either way).
        Err(_) if fmt == Format::Json => return check(repo, None, fmt),
        Err(findings) => {
            print_findings(&findings);
            return Ok(output::ExitStatus::Findings.into());
        }
    };
    let ctx = crate::env::context();
    let mut s = session(repo, &ctx, write.no_wait)?;
    // Cards added by hand get their mint recorded (the card as it is now).
    let ops = warden_core::ids::read(root)?;
    let mut missing = Vec::new();
    for (rel, bytes) in ids::card_files(root) {
        if let Ok(card) = ids::parse_card(&bytes)
            && !ops.iter().any(|o| o.op == "mint" && o.id == card.id)
        {
            if card.render().as_bytes() != bytes.as_slice() {
                eprintln!(
                    "warning: {rel} is not in warden's card layout; its mint records the card as warden would write it"
                );
            }
            missing.push(card);
        }
    }
    let current = std::fs::read(root.join(REGISTRY_YAML)).ok();
    let mut run = None;
    if current.as_deref() != Some(text.as_bytes()) {
        let writes = [FileWrite {
            path: REGISTRY_YAML.into(),
            current,
            content: text.into_bytes(),
            executable: None,
        }];
        match apply_writes(
            &mut s,
            &writes,
            "rebuild the id registry from ids/cards/",
            write,
            fmt,
            "write ids/registry.yaml",
        )? {
            Applied::Done(code) => return Ok(code),
            Applied::Run(e) => run = Some(*e),
        }
    }
    let time = ctx.clock.now().to_string();
    let tag = run
        .as_ref()
        .map(|e| e.run.clone())
        .unwrap_or_else(|| s.new_run_id());
    let mint_ops: Vec<_> = missing
        .iter()
        .map(|c| ids::mint_op(c, &time, &tag, &repo.writer))
        .collect();
    s.append_id_ops(&mint_ops)?;
    output::emit(
        &IdsBuilt {
            report: IdsBuildReport::new(
                run.map(|e| e.run),
                missing.iter().map(|c| c.id.clone()).collect(),
            ),
            minted: missing
                .iter()
                .map(|c| (c.id.clone(), c.artifact.clone()))
                .collect(),
        },
        fmt,
    )?;
    Ok(ExitCode::SUCCESS)
}

fn check(repo: &Repo, base: Option<&str>, fmt: Format) -> Result<ExitCode, CliError> {
    let root = repo.root();
    let base = match base {
        Some(rev) => Some(
            ids::read_base(root, rev, &crate::env::child_env()).map_err(|e| {
                CliError::usage(
                    format!("--base {rev}: {e}"),
                    Some("pass a commit, branch or tag of this repository".to_string()),
                )
            })?,
        ),
        None => None,
    };
    let mut findings = ids::check(root, base.as_ref());
    // The registry is generated: stale means someone forgot `warden ids build`.
    if let Ok(text) = ids::registry_yaml(root)
        && root.join(REGISTRY_YAML).exists()
        && std::fs::read_to_string(root.join(REGISTRY_YAML))
            .ok()
            .as_deref()
            != Some(text.as_str())
    {
        findings.push(Finding {
            rule: "registry-stale".into(),
            plugin: None,
            file: REGISTRY_YAML.into(),
            line: None,
            message: "the id registry does not match ids/cards/".into(),
            fix: "run `warden ids build`".into(),
        });
    }
    let report = IdsCheck {
        report: Report {
            schema: "warden.ids-check/v1".into(),
            plugins: Vec::new(),
            findings,
        },
        cards: ids::card_files(root).len(),
        base: base.map(|b| b.rev),
    };
    output::emit(&report, fmt)?;
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        output::ExitStatus::Findings.into()
    })
}

fn mint(
    repo: &Repo,
    kind: &str,
    artifact: &str,
    name: Option<String>,
    write: &WriteArgs,
    fmt: Format,
) -> Result<ExitCode, CliError> {
    let valid_kind = !kind.is_empty()
        && kind
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '-' || c == '_');
    if !valid_kind {
        return Err(CliError::usage(
            format!("\"{kind}\" is not an artifact kind"),
            Some("use lowercase letters, - and _, e.g. plugin or module".to_string()),
        ));
    }
    let path = warden_core::paths::RepoPath::parse(
        artifact.trim_end_matches('/'),
        "(command line)",
        "ARTIFACT",
    )?;
    let root = repo.root();
    if let Some((rel, _)) = ids::card_files(root)
        .into_iter()
        .find(|(_, b)| ids::parse_card(b).is_ok_and(|c| c.artifact == path.as_str()))
    {
        return Err(CliError::usage(
            format!("{path} already has the ID card {rel}"),
            Some("an artifact has exactly one card".to_string()),
        ));
    }
    let ctx = crate::env::context();
    let mut s = session(repo, &ctx, write.no_wait)?;
    let card = IdCard {
        schema: CARD_SCHEMA_ID.into(),
        id: s.new_run_id(),
        kind: kind.into(),
        artifact: path.to_string(),
        name: name.unwrap_or_else(|| path.file_name().to_string()),
        created: crate::env::today(),
    };
    // The card and the regenerated id registry, in one run.
    let writes = warden_plugin::scaffold::card_writes(root, &card)?;
    match apply_writes(
        &mut s,
        &writes,
        &format!("mint an ID card for {path}"),
        write,
        fmt,
        "mint this card",
    )? {
        Applied::Done(code) => Ok(code),
        Applied::Run(e) => {
            s.append_id_ops(&[ids::mint_op(&card, &e.time, &e.run, &e.writer)])?;
            output::emit(&Minted { card, run: e.run }, fmt)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
