//! Identity: immutable ID cards `ids/cards/<ULID>.yaml`,
//! the append-only operation log `.ledger/ids.jsonl` (in the core), and the
//! generated index `ids/registry.yaml`.
//!
//! `warden ids check [--base REV]` enforces: every card parses and is named
//! after its id; no two cards share an id or an artifact (the one-artifact
//! rule); every card has its mint operation; and, against a base revision, no
//! card that existed there was changed or removed and every line of the base's
//! operation log is still present, in order (append-only).

use crate::validate::Finding;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use warden_core::git::Git;

/// How long one git call of `ids check --base` may take.
const GIT_TIMEOUT: Duration = Duration::from_secs(600);
use warden_core::Digest;
use warden_core::ids::{self as core_ids, IDS_LOG, IdOp};
use warden_core::strict;

pub const CARDS_DIR: &str = "ids/cards";
pub const REGISTRY_YAML: &str = "ids/registry.yaml";
pub const CARD_SCHEMA_ID: &str = "warden.id-card/v1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "warden ID card",
    description = "ids/cards/<ULID>.yaml: an immutable identity record"
)]
pub struct IdCard {
    pub schema: String,
    pub id: String,
    /// What the card identifies, e.g. "plugin".
    pub kind: String,
    /// Repository-relative path of the artifact.
    pub artifact: String,
    pub name: String,
    pub created: String,
}

impl IdCard {
    pub fn rel(&self) -> String {
        format!("{CARDS_DIR}/{}.yaml", self.id)
    }

    pub fn render(&self) -> String {
        format!(
            "# warden ID card: immutable once committed (`warden ids check` fails on any change).\nschema: {}\nid: {}\nkind: {}\nartifact: {}\nname: {}\ncreated: {}\n",
            self.schema,
            self.id,
            self.kind,
            self.artifact,
            yaml_str(&self.name),
            self.created
        )
    }
}

fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// Parse a card's bytes strictly (`warden_core::strict`): no byte-order mark,
/// valid UTF-8, no repeated key, no unknown field. The error is
/// "FIELD: MESSAGE (HINT)", for a finding that already names the file.
pub fn parse_card(bytes: &[u8]) -> Result<IdCard, String> {
    let describe = |e: warden_core::Error| match e {
        warden_core::Error::Invalid {
            field,
            message,
            hint: Some(hint),
            ..
        } => format!("{field}: {message} ({hint})"),
        warden_core::Error::Invalid { field, message, .. } => format!("{field}: {message}"),
        other => other.to_string(),
    };
    let value = strict::parse_yaml(bytes, "card").map_err(describe)?;
    let card: IdCard =
        strict::deserialize(&value, "card", "cards are written by `warden ids mint`")
            .map_err(describe)?;
    if card.schema != CARD_SCHEMA_ID {
        return Err(format!(
            "schema is \"{}\", expected \"{CARD_SCHEMA_ID}\"",
            card.schema
        ));
    }
    if ulid::Ulid::from_string(&card.id).is_err() {
        return Err(format!("id \"{}\" is not a ULID", card.id));
    }
    Ok(card)
}

pub fn read_card(root: &Path, id: &str) -> Result<IdCard, String> {
    let rel = format!("{CARDS_DIR}/{id}.yaml");
    let bytes = warden_core::strict::read_config(root, &rel)
        .map_err(|e| format!("cannot read {rel}: {e}"))?
        .ok_or_else(|| format!("cannot read {rel}: No such file or directory"))?;
    parse_card(&bytes)
}

/// Every card file: (repository-relative path, bytes), sorted.
pub fn card_files(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(root.join(CARDS_DIR))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().ends_with(".yaml"))
                .filter_map(|e| {
                    let rel = format!("{CARDS_DIR}/{}", e.file_name().to_string_lossy());
                    // As configuration: a card that is a link or not a
                    // regular file is left out, never followed.
                    warden_core::strict::read_config(root, &rel)
                        .ok()
                        .flatten()
                        .map(|b| (rel, b))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// A mint operation for a card just written by `run`.
pub fn mint_op(card: &IdCard, time: &str, run: &str, writer: &str) -> IdOp {
    IdOp {
        schema: core_ids::ID_OP_SCHEMA_ID.into(),
        time: time.into(),
        op: "mint".into(),
        id: card.id.clone(),
        kind: card.kind.clone(),
        artifact: card.artifact.clone(),
        card_sha256: Digest::of(card.render().as_bytes()),
        run: run.into(),
        writer: writer.into(),
    }
}

/// `ids/registry.yaml`, generated from the cards (sorted by id).
pub fn registry_yaml(root: &Path) -> Result<String, Vec<Finding>> {
    registry_yaml_with(root, &[])
}

/// [`registry_yaml`] as it will be once `extra` cards (repository-relative
/// path, bytes) are written too: a scaffold writes its card and the registry
/// in the same run, so `ids check` passes right after it.
pub fn registry_yaml_with(
    root: &Path,
    extra: &[(String, Vec<u8>)],
) -> Result<String, Vec<Finding>> {
    let mut problems = Vec::new();
    let mut cards = Vec::new();
    let mut files = card_files(root);
    files.retain(|(rel, _)| !extra.iter().any(|(x, _)| x == rel));
    files.extend(extra.iter().cloned());
    for (rel, bytes) in files {
        match parse_card(&bytes) {
            Ok(c) => cards.push((c, Digest::of(&bytes))),
            Err(e) => problems.push(f(
                "card-invalid",
                &rel,
                e,
                "restore the card from git; cards are immutable",
            )),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    cards.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    let mut s = String::from(
        "# Generated by `warden ids build` from ids/cards/; do not edit.\nschema: warden.id-registry/v1\nids:\n",
    );
    if cards.is_empty() {
        s = s.replace("ids:\n", "ids: []\n");
    }
    for (c, sum) in cards {
        s.push_str(&format!(
            "  - id: {}\n    kind: {}\n    artifact: {}\n    name: {}\n    card_sha256: {}\n",
            c.id,
            c.kind,
            c.artifact,
            yaml_str(&c.name),
            sum
        ));
    }
    Ok(s)
}

fn f(rule: &str, file: &str, message: String, fix: &str) -> Finding {
    Finding {
        rule: rule.into(),
        plugin: None,
        file: file.into(),
        line: None,
        message,
        fix: fix.into(),
    }
}

/// The identity files at a base revision.
#[derive(Debug, Clone, Default)]
pub struct Base {
    pub rev: String,
    pub cards: BTreeMap<String, Vec<u8>>,
    pub log: String,
}

/// Read the cards and the operation log at `rev` with git, which sees only
/// `env` (the CLI's allow-listed base; see `warden_core::process`).
pub fn read_base(
    root: &Path,
    rev: &str,
    env: &[(std::ffi::OsString, std::ffi::OsString)],
) -> Result<Base, String> {
    let git = Git::new(root)
        .with_base_env(env.to_vec())
        .local_timeout(GIT_TIMEOUT);
    let commit = match git.resolve(rev) {
        Ok(Some(c)) => c,
        _ => return Err(format!("\"{rev}\" is not a commit in this repository")),
    };
    let list = git
        .ls_tree(&commit, &[CARDS_DIR])
        .map_err(|e| e.to_string())?;
    let mut cards = BTreeMap::new();
    for entry in list {
        if entry.kind == "blob" && entry.path.ends_with(".yaml") {
            let bytes = git.cat_blob(&entry.oid).map_err(|e| e.to_string())?;
            cards.insert(entry.path, bytes);
        }
    }
    let log = git
        .show_file(&commit, IDS_LOG)
        .ok()
        .flatten()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    Ok(Base {
        rev: rev.into(),
        cards,
        log,
    })
}

/// The identity checks. Findings are empty when everything holds.
pub fn check(root: &Path, base: Option<&Base>) -> Vec<Finding> {
    let mut out = Vec::new();
    let files = card_files(root);
    let cards = parsed_cards(&files, &mut out);
    let ops = match core_ids::read(root) {
        Ok(ops) => ops,
        Err(e) => {
            out.push(f(
                "id-log-invalid",
                IDS_LOG,
                e.to_string(),
                "restore it with `git checkout -- .ledger/ids.jsonl`",
            ));
            Vec::new()
        }
    };
    check_minted(&cards, &ops, &mut out);
    if let Some(base) = base {
        check_against_base(root, base, &files, &mut out);
    }
    out
}

/// The cards that parse, with their digests; every card is named after its
/// id, and no id or artifact has two cards.
fn parsed_cards(
    files: &[(String, Vec<u8>)],
    out: &mut Vec<Finding>,
) -> Vec<(String, IdCard, Digest)> {
    let mut by_id: BTreeMap<String, String> = BTreeMap::new();
    let mut by_artifact: BTreeMap<String, String> = BTreeMap::new();
    let mut cards = Vec::new();
    for (rel, bytes) in files {
        let card = match parse_card(bytes) {
            Ok(card) => card,
            Err(e) => {
                out.push(f(
                    "card-invalid",
                    rel,
                    e,
                    "restore the card from git; cards are immutable",
                ));
                continue;
            }
        };
        if *rel != card.rel() {
            out.push(f(
                "card-name",
                rel,
                format!(
                    "the card's id is {} but the file is not named {}.yaml",
                    card.id, card.id
                ),
                "cards are named after their id; restore the original file",
            ));
        }
        if let Some(other) = by_id.insert(card.id.clone(), rel.clone()) {
            out.push(f(
                "id-collision",
                rel,
                format!("id {} is also claimed by {other}", card.id),
                "mint a new id for one of them",
            ));
        }
        if let Some(other) = by_artifact.insert(card.artifact.clone(), rel.clone()) {
            out.push(f(
                "one-artifact-rule",
                rel,
                format!("artifact {} already has the card {other}", card.artifact),
                "an artifact has exactly one card; remove the newer card",
            ));
        }
        cards.push((rel.clone(), card, Digest::of(bytes)));
    }
    cards
}

/// Every card was minted by an operation of the id log, as it is now.
fn check_minted(cards: &[(String, IdCard, Digest)], ops: &[IdOp], out: &mut Vec<Finding>) {
    for (rel, card, sum) in cards {
        match ops.iter().find(|o| o.op == "mint" && o.id == card.id) {
            None => out.push(f(
                "card-not-minted",
                rel,
                format!("no mint operation for {} in {IDS_LOG}", card.id),
                "cards are created by warden (`warden plugin new`, `warden ids mint`); `warden ids build` records a mint for a card added by hand",
            )),
            Some(op) if op.card_sha256 != *sum => out.push(f(
                "card-modified",
                rel,
                format!("the card differs from the one minted by run {}", op.run),
                "cards are immutable: restore it with `git checkout`; mint a new card for a new identity",
            )),
            Some(_) => {}
        }
    }
}

/// Against the base revision: no card removed or changed, and the id log
/// only appended to.
fn check_against_base(
    root: &Path,
    base: &Base,
    files: &[(String, Vec<u8>)],
    out: &mut Vec<Finding>,
) {
    for (rel, bytes) in &base.cards {
        match files.iter().find(|(r, _)| r == rel) {
            None => out.push(f(
                "card-removed",
                rel,
                format!("the card existed at {} and was removed", base.rev),
                "cards are immutable: restore it (`git checkout <base> -- <card>`)",
            )),
            Some((_, now)) if now != bytes => out.push(f(
                "card-modified",
                rel,
                format!("the card changed since {}", base.rev),
                "cards are immutable: restore it (`git checkout <base> -- <card>`)",
            )),
            Some(_) => {}
        }
    }
    let now = std::fs::read_to_string(core_ids::log_path(root)).unwrap_or_default();
    let mut cur = now.lines();
    for (i, line) in base.log.lines().enumerate() {
        if !cur.any(|l| l == line) {
            out.push(f(
                "id-log-rewritten",
                IDS_LOG,
                format!(
                    "line {} of the log at {} is missing or out of order",
                    i + 1,
                    base.rev
                ),
                "the log is append-only: restore it from the base and re-append new operations",
            ));
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CARD: &str = "schema: warden.id-card/v1\nid: 01ARZ3NDEKTSV4RRFFQ69G5FAV\nkind: plugin\nartifact: plugins/k\nname: \"k\"\ncreated: 2026-11-21T00:00:00Z\n";

    #[test]
    fn a_card_parses() {
        let card = parse_card(CARD.as_bytes()).expect("parses");
        assert_eq!(card.artifact, "plugins/k");
    }

    #[test]
    fn duplicate_card_keys_are_refused_naming_the_key_and_line() {
        // A second `artifact:` must never re-point the identity (serde-saphyr
        // refuses repeated keys by default; this pins it).
        let text = format!("{CARD}artifact: plugins/other\n");
        let e = parse_card(text.as_bytes()).expect_err("duplicate");
        assert!(
            e.starts_with("line 7 column 1: duplicate key \"artifact\""),
            "{e}"
        );
    }

    #[test]
    fn unknown_card_fields_are_named_with_a_did_you_mean() {
        let text = CARD.replace("artifact:", "artefact:");
        let e = parse_card(text.as_bytes()).expect_err("unknown");
        assert_eq!(e, "artefact: unknown field (did you mean \"artifact\"?)");
    }
}
