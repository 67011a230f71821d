//! `warden modules import FILE`: a module registry in JSON (an object keyed by
//! module name, as earlier classifier scripts kept it) as
//! `.warden/modules.yaml`. Each module may carry `keywords`,
//! `allowed_extensions` and, beyond those scripts' fields, `folder`
//! (default `modules/<name>/`), `priority` and `description`. The YAML is
//! written in a fixed layout, so importing the same file twice gives the
//! same bytes, and it is checked by the same parser that reads it.

use serde::Deserialize;
use std::collections::BTreeMap;
use warden_core::engine::Record;
use warden_core::modules::{MODULES_FILE, MODULES_SCHEMA_ID, Modules};
use warden_core::proposal::Source;
use warden_core::{Context, Digest, Error, Repo, Result, strict};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedModule {
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    allowed_extensions: Vec<String>,
    #[serde(default)]
    folder: Option<String>,
    #[serde(default)]
    priority: i32,
    #[serde(default)]
    description: Option<String>,
}

fn q(s: &str) -> String {
    // A JSON string is a valid YAML double-quoted scalar.
    serde_json::Value::String(s.to_string()).to_string()
}

fn list(items: &[String]) -> String {
    let v: Vec<String> = items.iter().map(|s| q(s)).collect();
    format!("[{}]", v.join(", "))
}

/// The registry text for the JSON `bytes` (`file` names it in errors).
/// Returns the text and the checked registry.
pub fn import(bytes: &[u8], file: &str) -> Result<(String, Modules)> {
    let value = strict::parse_json(bytes, file)?;
    let seed: BTreeMap<String, SeedModule> = strict::deserialize(
        &value,
        file,
        "the import format is an object keyed by module name, each with keywords and allowed_extensions",
    )?;
    let mut s = String::new();
    s.push_str("# yaml-language-server: $schema=../schemas/modules.schema.json\n");
    s.push_str(&format!(
        "# The module registry (`warden schema modules`), imported from {}.\n",
        warden_core::text::shown(file)
    ));
    s.push_str(&format!("schema: {MODULES_SCHEMA_ID}\n"));
    s.push_str("inbox: [\"inbox/\"]\n");
    s.push_str("thresholds:\n  min_score: 3\n  min_margin: 2\n");
    s.push_str("modules:\n");
    if seed.is_empty() {
        s.truncate(s.len() - 1);
        s.push_str(" []\n");
    }
    for (name, m) in &seed {
        let folder = m
            .folder
            .clone()
            .unwrap_or_else(|| format!("modules/{name}/"));
        s.push_str(&format!("  - name: {}\n", q(name)));
        s.push_str(&format!("    folder: {}\n", q(&folder)));
        s.push_str(&format!("    keywords: {}\n", list(&m.keywords)));
        s.push_str(&format!(
            "    allowed_extensions: {}\n",
            list(&m.allowed_extensions)
        ));
        if m.priority != 0 {
            s.push_str(&format!("    priority: {}\n", m.priority));
        }
        if let Some(d) = &m.description {
            s.push_str(&format!("    description: {}\n", q(d)));
        }
    }
    let names: Vec<&String> = seed.keys().collect();
    let checked = Modules::parse_bytes(s.as_bytes(), MODULES_FILE)
        .map_err(|e| in_the_input(e, file, &names))?;
    Ok((s, checked))
}

/// An error about the registry made from the JSON `file`, naming that file
/// and the module's key in it (`A.folder`), not the registry not yet
/// written: `modules[0].folder` of the YAML is key `A`'s `folder`.
fn in_the_input(e: Error, file: &str, names: &[&String]) -> Error {
    let rename = |field: &str| -> String {
        let Some(rest) = field.strip_prefix("modules[") else {
            return field.to_string();
        };
        let Some((i, tail)) = rest.split_once(']') else {
            return field.to_string();
        };
        match i.parse::<usize>().ok().and_then(|i| names.get(i)) {
            Some(name) => format!("{}{tail}", q(name)),
            None => field.to_string(),
        }
    };
    match e {
        Error::Invalid {
            file: f,
            field,
            message,
            hint,
            refusal,
        } if f == MODULES_FILE => Error::Invalid {
            file: file.to_string(),
            field: rename(&field),
            message,
            hint,
            refusal,
        },
        other => other,
    }
}

/// Write the imported registry to `.warden/modules.yaml` under the
/// repository lock (durably: temp, fsync, rename) and ledger it as a recorded
/// run (`modules import`, with the file's sha256). `.warden/` is warden's own
/// area, which proposals may not touch, like the policy `init` writes. An
/// existing registry is replaced only with `force`. Returns the run id.
pub fn write(repo: &Repo, ctx: &Context, text: &str, from: &str, force: bool) -> Result<String> {
    write_keeping(repo, ctx, "modules import", text, from, force).map(|(run, _)| run)
}

/// Where a registry replaced by run `run` is kept (repository-relative):
/// `.warden/` is warden's own area, which the engine's runs may not write,
/// so `warden undo` cannot put it back; this copy can (`cp`).
pub fn kept_path(run: &str) -> String {
    format!(".warden/state/replaced/{run}/modules.yaml")
}

/// [`write`] recorded as `command` (`modules import`, `modules init`),
/// returning the run and, when an existing registry with other
/// content was replaced (`force`), where its previous bytes are kept
/// ([`kept_path`], written durably before the replacement and named in the
/// run's details as `previous.kept_at`).
pub fn write_keeping(
    repo: &Repo,
    ctx: &Context,
    command: &str,
    text: &str,
    from: &str,
    force: bool,
) -> Result<(String, Option<String>)> {
    let mut s = repo.session(ctx, true, &mut |_| {})?;
    let path = repo.root().join(MODULES_FILE);
    let previous = strict::read_config(repo.root(), MODULES_FILE)?;
    if previous.is_some() && !force {
        return Err(Error::rejected(
            MODULES_FILE,
            "(file)",
            "the module registry already exists; nothing was written",
            Some("pass --force to replace it, or --dry-run to see the YAML it would write".into()),
        ));
    }
    let run = s.new_run_id();
    let digest = Digest::of(text.as_bytes());
    let mut details = serde_json::json!({"file": MODULES_FILE, "sha256": digest, "from": from});
    let kept = match previous {
        Some(old) if old != text.as_bytes() => {
            let rel = keep_previous(repo, &run, &old)?;
            details["previous"] = serde_json::json!({"sha256": Digest::of(&old), "kept_at": rel});
            Some(rel)
        }
        _ => None,
    };
    warden_core::fsutil::write_atomic(&path, text.as_bytes(), 0o644)?;
    s.record(Record {
        run: run.clone(),
        command: command.into(),
        actor: Source {
            kind: "person".into(),
            id: "cli".into(),
        },
        event: "Manual".into(),
        input_digest: digest,
        rationale: Some(format!("write the module registry from {from}")),
        details: Some(details),
        artifacts: Vec::new(),
    })?;
    Ok((run, kept))
}

/// Keep the registry's previous bytes at [`kept_path`] (durably).
fn keep_previous(repo: &Repo, run: &str, old: &[u8]) -> Result<String> {
    let rel = kept_path(run);
    let at = repo.root().join(&rel);
    if let Some(dir) = at.parent() {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            op: "create",
            path: dir.to_path_buf(),
            source,
        })?;
    }
    warden_core::fsutil::write_atomic(&at, old, 0o644)?;
    Ok(rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_example_imports() {
        let seed = br#"{ "Goal_Normalizer_MOD": {"keywords": ["normalize","goal","capability_tags","constraints"],
                             "allowed_extensions": [".py",".ps1",".md"]},
  "Ledger_Records_MOD":  {"keywords": ["ledger","ulid","append_only","provenance"],
                             "allowed_extensions": [".py",".ps1",".jsonl"]} }"#;
        let (text, m) = import(seed, "seed.json").expect("import");
        assert_eq!(m.modules.len(), 2);
        let l = m.get("Ledger_Records_MOD").expect("ledger");
        assert_eq!(l.folder.as_str(), "modules/Ledger_Records_MOD");
        assert!(l.takes_extension("jsonl"));
        assert_eq!(import(seed, "seed.json").expect("again").0, text);
    }

    proptest::proptest! {
        // Untrusted input: any bytes give a registry that parses back, or an error.
        #[test]
        fn any_bytes_import_or_fail_cleanly(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            if let Ok((text, _)) = import(&bytes, "seed.json") {
                proptest::prop_assert!(Modules::parse_bytes(text.as_bytes(), MODULES_FILE).is_ok());
            }
        }

        #[test]
        fn any_seed_shaped_object_imports_or_fails_cleanly(
            names in proptest::collection::vec("[A-Za-z0-9_ ./-]{0,12}", 0..4),
            words in proptest::collection::vec("\\PC{0,8}", 0..4),
        ) {
            let mut obj = serde_json::Map::new();
            for n in &names {
                obj.insert(n.clone(), serde_json::json!({"keywords": words, "allowed_extensions": words}));
            }
            let bytes = serde_json::to_vec(&obj).expect("json");
            if let Ok((text, m)) = import(&bytes, "seed.json") {
                proptest::prop_assert_eq!(m.modules.len(), obj.len());
                proptest::prop_assert!(Modules::parse_bytes(text.as_bytes(), MODULES_FILE).is_ok());
            }
        }
    }

    #[test]
    fn a_typo_names_the_field() {
        let e = import(br#"{"A": {"keywrods": []}}"#, "seed.json").expect_err("typo");
        assert!(e.to_string().contains("keywrods"), "{e}");
    }
}
