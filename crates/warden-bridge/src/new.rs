//! Building, signing and dropping a command (`warden bridge new`, the smoke
//! test, the demo, tests and benches all use this one template).

use crate::canon::{self, JVal};
use crate::layout::Layout;
use crate::sign::{KeySlot, Secrets};
use std::path::PathBuf;

/// What the command does.
#[derive(Debug, Clone)]
pub enum Ops {
    /// A signed no-op (what the smoke test sends).
    Noop,
    /// A signed writeFile of one file in the target repository.
    Write { path: String, content: String },
    /// Any ops and allowedActions, as given (tests, benches, hand-made commands).
    Custom {
        ops: serde_json::Value,
        allowed: Vec<String>,
    },
}

impl Ops {
    fn name(&self) -> &'static str {
        match self {
            Ops::Noop => "noop",
            Ops::Write { .. } => "write",
            Ops::Custom { .. } => "cmd",
        }
    }

    /// The `payload.inline.ops` and `allowedActions` of the command.
    fn json(&self) -> (serde_json::Value, serde_json::Value) {
        match self {
            Ops::Noop => (
                serde_json::json!([{"op": "noop"}]),
                serde_json::json!(["writeFile", "moveFile"]),
            ),
            Ops::Write { path, content } => (
                serde_json::json!([{"op": "writeFile", "path": path, "content": content}]),
                serde_json::json!(["writeFile"]),
            ),
            Ops::Custom { ops, allowed } => (ops.clone(), serde_json::json!(allowed)),
        }
    }
}

/// A bridge command to build and sign: its operations and envelope fields.
#[derive(Debug, Clone)]
pub struct Draft {
    pub ops: Ops,
    /// The command id (default: `<kind>-<UTC timestamp>-<random>`).
    pub id: Option<String>,
    /// Seconds until expires_at; zero or negative makes an expired command
    /// (issued five minutes before it expired).
    pub ttl_secs: i64,
    /// `constraints.maxFilesChanged`.
    pub max_files_changed: u64,
}

impl Draft {
    /// A command doing `ops`, with a generated id, valid for five minutes,
    /// changing at most one file.
    pub fn new(ops: Ops) -> Draft {
        Draft {
            ops,
            id: None,
            ttl_secs: 300,
            max_files_changed: 1,
        }
    }

    pub fn id(mut self, id: impl Into<String>) -> Draft {
        self.id = Some(id.into());
        self
    }

    pub fn ttl_secs(mut self, secs: i64) -> Draft {
        self.ttl_secs = secs;
        self
    }

    pub fn max_files_changed(mut self, n: u64) -> Draft {
        self.max_files_changed = n;
        self
    }
}

/// A built, signed command.
#[derive(Debug, Clone)]
pub struct Built {
    pub id: String,
    /// The pretty-printed signed document.
    pub text: String,
    pub expires_at: jiff::Timestamp,
}

#[derive(Debug, thiserror::Error)]
pub enum NewError {
    #[error("--id \"{0}\" cannot name files")]
    BadId(String),
    #[error("cannot sign the command: {0}")]
    Sign(String),
    #[error("{0}")]
    Random(String),
    #[error(
        "the signed command would be {size} bytes, over the bridge's limit of {limit}: the executor would dead-letter it as too_large"
    )]
    TooLarge { size: u64, limit: u64 },
}

impl NewError {
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            NewError::BadId(_) => {
                Some("use 1–128 of A–Z a–z 0–9 . _ -, starting with a letter or digit")
            }
            NewError::TooLarge { .. } => {
                Some("make the content smaller, or split the change into several commands")
            }
            _ => None,
        }
    }
}

fn random(bytes: usize) -> Result<String, NewError> {
    warden_core::context::random_hex(bytes).map_err(|e| NewError::Random(e.to_string()))
}

/// The unsigned document of `cmd` at time `now`, with its id and nonce.
pub fn document(cmd: &Draft, id: &str, nonce: &str, now: jiff::Timestamp) -> serde_json::Value {
    let fmt_ts = |t: jiff::Timestamp| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let expires = now + jiff::SignedDuration::from_secs(cmd.ttl_secs);
    // expires_at must be after issued_at: an already-expired command was
    // issued five minutes before it expired.
    let issued = if cmd.ttl_secs > 0 {
        now
    } else {
        expires - jiff::SignedDuration::from_secs(300)
    };
    let (ops, allowed) = cmd.ops.json();
    serde_json::json!({
        "schemaVersion": "1.0",
        "id": id,
        "issued_at": fmt_ts(issued),
        "expires_at": fmt_ts(expires),
        "nonce": nonce,
        "target": "MAIN",
        "action": "applyPatch",
        "patchType": "hybrid",
        "payload": {"inline": {"version": cmd.ops.name(), "ops": ops}},
        "validationPlan": [],
        "allowedActions": allowed,
        "constraints": {"maxRuntimeMs": 60000, "maxFilesChanged": cmd.max_files_changed},
    })
}

/// Sign a document (any JSON value; an `hmac` in it is replaced) with the
/// secret in `slot`: its pretty-printed signed text.
pub fn sign_document(
    doc: &serde_json::Value,
    secrets: &Secrets,
    slot: KeySlot,
) -> Result<String, NewError> {
    let text = serde_json::to_vec(doc).map_err(|e| NewError::Sign(e.to_string()))?;
    let mut parsed = canon::parse(&text).map_err(|e| NewError::Sign(e.to_string()))?;
    if let JVal::Obj(m) = &mut parsed {
        m.retain(|(k, _)| k != "hmac");
    }
    let mac = crate::sign::sign(&parsed, secrets, slot)
        .ok_or_else(|| NewError::Sign("no usable secret".into()))?;
    canon::set_member(&mut parsed, "hmac", JVal::Str(mac));
    Ok(canon::pretty(&parsed))
}

/// Build and sign `cmd` at time `now` with the first secret.
pub fn build(cmd: &Draft, secrets: &Secrets, now: jiff::Timestamp) -> Result<Built, NewError> {
    let stamp = now.strftime("%Y%m%dT%H%M%SZ").to_string();
    let id = match &cmd.id {
        Some(id) => id.clone(),
        None => format!("{}-{stamp}-{}", cmd.ops.name(), random(4)?),
    };
    if !crate::command::valid_id(&id) {
        return Err(NewError::BadId(id));
    }
    let doc = document(cmd, &id, &random(16)?, now);
    let expires_at = now + jiff::SignedDuration::from_secs(cmd.ttl_secs);
    let text = sign_document(&doc, secrets, KeySlot(0))?;
    let (size, limit) = (text.len() as u64, crate::command::DEFAULT_MAX_BYTES);
    if size > limit {
        return Err(NewError::TooLarge { size, limit });
    }
    Ok(Built {
        id,
        text,
        expires_at,
    })
}

/// A warning when `ttl_secs` makes a command meant to be expired that the
/// executor still accepts (it allows `skew_secs` of clock skew).
pub fn skew_warning(ttl_secs: i64, built: &Built, skew_secs: i64) -> Option<String> {
    (ttl_secs <= 0 && ttl_secs >= -skew_secs).then(|| {
        format!(
            "--ttl-secs={ttl_secs} is within the executor's {skew_secs} s clock-skew allowance: the command is still accepted until {}; use --ttl-secs=-{} or less for one that is rejected as expired",
            (built.expires_at + jiff::SignedDuration::from_secs(skew_secs))
                .strftime("%Y-%m-%dT%H:%M:%SZ"),
            skew_secs + 1
        )
    })
}

/// Drop a built command into `commands/`: written beside (in the private
/// directory), then renamed in, so the executor never sees half a file.
pub fn drop_into(layout: &Layout, built: &Built) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(layout.private())?;
    let tmp = layout.private().join(format!("{}.json.tmp", built.id));
    let dest = layout.commands().join(format!("{}.json", built.id));
    std::fs::write(&tmp, built.text.as_bytes())?;
    std::fs::rename(&tmp, &dest)?;
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> Secrets {
        Secrets::new("a test secret", None)
    }

    #[test]
    fn built_commands_verify_and_get_random_ids_and_nonces() {
        let s = secrets();
        let now = jiff::Timestamp::from_second(1_800_000_000).expect("ts");
        let cmd = Draft::new(Ops::Write {
            path: "a.txt".into(),
            content: "x\n".into(),
        });
        let a = build(&cmd, &s, now).expect("build");
        let b = build(&cmd, &s, now).expect("build");
        assert_ne!(a.id, b.id, "the random part differs at the same second");
        assert!(a.id.starts_with("write-20270115T080000Z-"), "{}", a.id);
        let doc = canon::parse(a.text.as_bytes()).expect("parse");
        let nonce = |t: &str| {
            let v: serde_json::Value = serde_json::from_str(t).expect("json");
            v["nonce"].as_str().expect("nonce").to_string()
        };
        assert_eq!(nonce(&a.text).len(), 32);
        assert_ne!(nonce(&a.text), nonce(&b.text));
        let v: serde_json::Value = serde_json::from_str(&a.text).expect("json");
        let mac = v["hmac"].as_str().expect("hmac").to_string();
        assert_eq!(
            s.verify_payload(&canon::signing_payload(&doc), &mac),
            Ok(Some(KeySlot(0))),
            "signed with the secret"
        );
    }

    /// Content at the 512 KiB limit made a command the executor then
    /// dead-lettered as too_large: the envelope and the signature count too.
    #[test]
    fn a_command_over_the_bridges_limit_once_signed_was_written_anyway() {
        let limit = crate::command::DEFAULT_MAX_BYTES as usize;
        let cmd = Draft::new(Ops::Write {
            path: "big.txt".into(),
            content: "a".repeat(limit),
        });
        let now = jiff::Timestamp::from_second(1_800_000_000).expect("ts");
        let e = build(&cmd, &secrets(), now).expect_err("over the limit");
        assert!(matches!(e, NewError::TooLarge { .. }), "{e}");
        assert!(e.to_string().contains("too_large") && e.hint().is_some());
        let fits = Draft::new(Ops::Write {
            path: "big.txt".into(),
            content: "a".repeat(limit - 4096),
        });
        assert!(build(&fits, &secrets(), now).expect("fits").text.len() <= limit);
    }

    #[test]
    fn an_id_that_cannot_name_a_file_is_refused() {
        let cmd = Draft::new(Ops::Noop).id("../x");
        let e = build(&cmd, &secrets(), jiff::Timestamp::UNIX_EPOCH).expect_err("bad id");
        assert!(matches!(e, NewError::BadId(_)));
        assert!(e.hint().is_some());
    }
}
