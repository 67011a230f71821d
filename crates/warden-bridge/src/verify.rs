//! The validation layers of a command, in one place: the executor runs them
//! on every file it takes (`pipeline`), and `warden bridge verify` runs the
//! same function with a trace, down to a dry-run plan (`explain`).
//!
//! Layers, in order: file (name, size) → json → hmac → schema → name →
//! replay → time → allowed → validationPlan; `explain` adds paths and
//! dry-run. The first layer that refuses decides; nothing is written.

use crate::canon::JVal;
use crate::command::{self, Command};
use crate::ops::{self, Target};
use crate::reason::{Reason, Rejection};
use crate::sign::{KeySlot, Secrets};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use warden_core::proposal::Proposal;
use warden_core::{Digest, Repo};

/// One layer's answer: what it found, or why it refused.
pub type Layer = (&'static str, Result<String, Rejection>);

/// A verified command waiting to be applied.
#[derive(Debug)]
pub struct Accepted {
    pub cmd: Command,
    /// The secret its MAC matched.
    pub slot: KeySlot,
}

/// What the layers decided.
#[derive(Debug)]
pub enum Verdict {
    Accept(Box<Accepted>),
    Reject {
        rej: Rejection,
        /// The command id, once a layer could read a valid one.
        id: Option<String>,
        /// Whether the MAC matched (a dead letter with a valid MAC burns its id).
        hmac_ok: bool,
    },
}

/// What the layers check against: the secrets, the clock, the limits, what
/// was already processed and the checks a `validationPlan` may name.
pub struct Verifier<'a> {
    pub secrets: &'a Secrets,
    pub now: jiff::Timestamp,
    pub skew_secs: i64,
    pub max_bytes: u64,
    /// `meta/bridge.json`'s checks (name → argv).
    pub checks: &'a BTreeMap<String, Vec<String>>,
    /// Whether a command id was already processed (archived, dead-lettered
    /// after a valid MAC, or in the ledger).
    pub seen: &'a dyn Fn(&str) -> bool,
    /// Whether the ledger already holds a run of this id.
    pub ledgered: &'a dyn Fn(&str) -> bool,
}

/// Where the file stands.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context<'b> {
    /// The file is in `commands/`: its name must be `<id>.json`.
    pub in_inbox: bool,
    /// The marker of a crashed batch lists this exact file: it is finished,
    /// not refused as a replay (nor as expired, when its run is ledgered).
    pub leftover: bool,
    /// Ids already accepted in this batch.
    pub in_batch: Option<&'b BTreeSet<String>>,
}

/// Records each layer's answer when asked to (`explain`); free otherwise.
struct Trace(Option<Vec<Layer>>);

impl Trace {
    fn ok(&mut self, layer: &'static str, note: impl FnOnce() -> String) {
        if let Some(t) = &mut self.0 {
            t.push((layer, Ok(note())));
        }
    }

    fn refuse(&mut self, layer: &'static str, rej: &Rejection) {
        if let Some(t) = &mut self.0 {
            t.push((layer, Err(rej.clone())));
        }
    }

    /// `layer` refused: traced, and the verdict.
    fn reject(
        &mut self,
        layer: &'static str,
        rej: Rejection,
        id: Option<String>,
        hmac_ok: bool,
    ) -> Verdict {
        self.refuse(layer, &rej);
        Verdict::Reject { rej, id, hmac_ok }
    }
}

impl Verifier<'_> {
    /// Run the layers on `bytes` (the content of `name`). No writes.
    pub fn verdict(&self, name: &str, bytes: &[u8], at: Context<'_>) -> Verdict {
        self.layers(name, bytes, at, &mut Trace(None))
    }

    fn layers(&self, name: &str, bytes: &[u8], at: Context<'_>, t: &mut Trace) -> Verdict {
        let (cmd, slot) = match self.authentic(name, bytes, at, t) {
            Ok(found) => found,
            Err(verdict) => return verdict,
        };
        match self.admissible(name, &cmd, at, t) {
            Ok(()) => Verdict::Accept(Box::new(Accepted { cmd, slot })),
            // A signed command under another file's name does not spend its
            // id: whoever saw it could otherwise copy it to `0.json` and
            // cancel the real `ID.json` before it arrives.
            Err(("name", rej)) => t.reject("name", rej, None, true),
            Err((layer, rej)) => t.reject(layer, rej, Some(cmd.id), true),
        }
    }

    /// The layers up to an authenticated, well-formed command: file, json,
    /// hmac, schema.
    #[allow(clippy::result_large_err)] // private; the verdict is the answer either way
    fn authentic(
        &self,
        name: &str,
        bytes: &[u8],
        at: Context<'_>,
        t: &mut Trace,
    ) -> Result<(Command, KeySlot), Verdict> {
        if let Err(r) = self.check_file(name, bytes, at.in_inbox) {
            return Err(t.reject("file", r, None, false));
        }
        t.ok("file", || {
            format!("{} bytes, sha256 {}", bytes.len(), Digest::of(bytes))
        });
        let doc = command::parse_json(bytes).map_err(|r| t.reject("json", r, None, false))?;
        t.ok("json", || "parsed; no duplicate keys".into());
        let doc_id = doc
            .get("id")
            .and_then(JVal::as_str)
            .filter(|i| command::valid_id(i))
            .map(str::to_string);
        let slot = match command::authenticate(&doc, self.secrets) {
            Ok(s) => s,
            Err(r) => return Err(t.reject("hmac", r, doc_id, false)),
        };
        t.ok("hmac", || {
            format!("matches the {} secret", self.secrets.slot_name(slot))
        });
        let cmd = command::parse_command(&doc).map_err(|r| t.reject("schema", r, doc_id, true))?;
        t.ok("schema", || {
            format!(
                "id {}, {} op(s){}",
                cmd.id,
                cmd.ops.len(),
                if cmd.diff.is_some() { " + diff" } else { "" }
            )
        });
        Ok((cmd, slot))
    }

    /// The layers of an authentic command: name, replay, time, allowed,
    /// validationPlan. Err: the layer that refused, and why.
    fn admissible(
        &self,
        name: &str,
        cmd: &Command,
        at: Context<'_>,
        t: &mut Trace,
    ) -> Result<(), (&'static str, Rejection)> {
        let refused = |layer: &'static str| move |r: Rejection| (layer, r);
        match check_name(name, &cmd.id) {
            Ok(()) => t.ok("name", || format!("{name} matches the id")),
            // A draft outside the inbox may have any name; say what it
            // must be called when it is dropped in.
            Err(_) if !at.in_inbox => t.ok("name", || {
                format!("drop it into commands/ as {}.json", cmd.id)
            }),
            Err(r) => return Err(("name", r)),
        }
        self.check_replay(cmd, at).map_err(refused("replay"))?;
        t.ok("replay", || "id not seen before".into());
        // A crashed batch's command is finished even if it expired meanwhile.
        if !(at.leftover && (self.ledgered)(&cmd.id)) {
            command::check_time(cmd, self.now, self.skew_secs).map_err(refused("time"))?;
        }
        t.ok("time", || {
            format!(
                "{} .. {} (skew {}s)",
                cmd.issued_at_text, cmd.expires_at_text, self.skew_secs
            )
        });
        command::check_allowed(cmd).map_err(refused("allowed"))?;
        t.ok("allowed", || {
            format!("ops within [{}]", cmd.allowed_actions.join(", "))
        });
        check_plan(self.checks, cmd).map_err(refused("validationPlan"))?;
        if !cmd.validation_plan.is_empty() {
            t.ok("validationPlan", || {
                format!(
                    "checks [{}] are defined in meta/bridge.json",
                    cmd.validation_plan.join(", ")
                )
            });
        }
        Ok(())
    }

    /// The file layer on content already read: a hidden name, an empty file
    /// or one over the limit. (The executor's inbox reader refuses the
    /// others — links, FIFOs, unreadable files — before reading.)
    fn check_file(&self, name: &str, bytes: &[u8], in_inbox: bool) -> Result<(), Rejection> {
        let at = if in_inbox {
            format!("commands/{name}")
        } else {
            name.to_string()
        };
        if name.starts_with('.') {
            return Err(Rejection::new(
                Reason::Hidden,
                format!("{at} has a hidden name; hidden files are never commands"),
            )
            .hint(
                "name commands <id>.json; write to a temp name outside commands/ and rename in",
            ));
        }
        if bytes.is_empty() {
            return Err(Rejection::new(Reason::Empty, format!("{at} is empty")));
        }
        if bytes.len() as u64 > self.max_bytes {
            return Err(Rejection::new(
                Reason::TooLarge,
                format!(
                    "{at} is {} bytes; the limit is {}",
                    bytes.len(),
                    self.max_bytes
                ),
            )
            .hint("split the change into several commands"));
        }
        Ok(())
    }

    /// A processed id, or one twice in a batch, is refused (G6). A crashed
    /// batch's own command is not a replay.
    fn check_replay(&self, cmd: &Command, at: Context<'_>) -> Result<(), Rejection> {
        let replay = (self.seen)(&cmd.id) && !at.leftover;
        if replay || at.in_batch.is_some_and(|b| b.contains(&cmd.id)) {
            return Err(Rejection::new(
                Reason::DuplicateId,
                format!(
                    "id \"{}\" was already processed (see archive/, dead_letter/ and logs/bridge.log)",
                    cmd.id
                ),
            )
            .field("id")
            .hint("every command needs a fresh id; replays are refused"));
        }
        Ok(())
    }

    /// `warden bridge verify`: every layer on `bytes` without writing
    /// anything, down to the dry-run plan in `repo`. The first `Err` ends the
    /// list. Hints never send the reader to `bridge verify`, which they are
    /// running.
    /// `local` is the executor's check against what git ignores in the
    /// target (a `moveFile` out of the local-only area), made before the
    /// dry run as the executor makes it before the apply.
    pub fn explain(
        &self,
        name: &str,
        bytes: &[u8],
        in_inbox: bool,
        (target, repo): (&Target, &Repo),
        local: &dyn Fn(&Command) -> Option<Rejection>,
    ) -> Vec<Layer> {
        let mut t = Trace(Some(Vec::new()));
        let at = Context {
            in_inbox,
            ..Context::default()
        };
        if let Verdict::Accept(a) = self.layers(name, bytes, at, &mut t) {
            match local(&a.cmd) {
                Some(rej) => t.refuse("paths", &rej),
                None => dry_run(&a.cmd, name, target, repo, &mut t),
            }
        }
        let mut out = t.0.unwrap_or_default();
        for (_, r) in &mut out {
            if let Err(rej) = r {
                rej.hint = rej.hint.take().map(|h| without_verify_hint(rej.reason, h));
            }
        }
        out
    }
}

/// The paths and dry-run layers of `explain`: the actions inside the target
/// and the plan the core would make (its policy, preconditions, limits).
fn dry_run(cmd: &Command, name: &str, target: &Target, repo: &Repo, t: &mut Trace) {
    let actions = match ops::actions(cmd, target) {
        Ok(a) => a,
        Err(r) => return t.refuse("paths", &r),
    };
    t.ok("paths", || {
        format!(
            "{} action(s) inside {}",
            actions.len(),
            target.root.display()
        )
    });
    if actions.is_empty() {
        return t.ok("dry-run", || {
            "no-op: nothing to change; it will be ledgered as a recorded run".into()
        });
    }
    let value = ops::proposal(cmd, actions);
    let plan = Proposal::from_value_remote(&value, name).and_then(|(p, d)| {
        p.refuse_content_file(name)?;
        warden_core::plan::resolve(repo.root(), &repo.policy, &p, d, name, "DRYRUN")
    });
    match plan {
        Err(e) => t.refuse("dry-run", &ops::core_rejection(&e)),
        Ok(p) => match check_files_changed(cmd, p.counts.files) {
            Err(r) => t.refuse("dry-run", &r),
            Ok(()) => t.ok("dry-run", || {
                format!(
                    "{} file(s) would change (+{} -{} lines)",
                    p.counts.files, p.counts.lines_added, p.counts.lines_removed
                )
            }),
        },
    }
}

/// The dead-letter hints point at `warden bridge verify FILE`; when that is
/// what runs, they say what to check instead.
fn without_verify_hint(reason: Reason, h: String) -> String {
    match h.split_once("; `warden bridge verify FILE` explains") {
        Some((head, tail)) if reason == Reason::HmacMismatch => format!(
            "{head}{tail}: check that the secret (GPT_BRIDGE_HMAC_SECRET_FILE or GPT_BRIDGE_HMAC_SECRET, and …_NEXT / …_PREV during a rotation) is the signer's, or re-sign with `warden bridge sign FILE --in-place`"
        ),
        Some((head, tail)) => format!("{head}{tail}"),
        None => h,
    }
}

/// `constraints.maxFilesChanged` against the files a plan changes.
pub fn check_files_changed(cmd: &Command, files: u64) -> Result<(), Rejection> {
    if files <= cmd.max_files_changed {
        return Ok(());
    }
    Err(Rejection::new(
        Reason::ConstraintViolation,
        format!(
            "the dry-run diff changes {files} file(s); constraints.maxFilesChanged is {}",
            cmd.max_files_changed
        ),
    )
    .field("constraints.maxFilesChanged"))
}

/// A command travels as `<id>.json`: the name the sender chose must be the
/// one its signature covers, so a file name can never pass one command off
/// as another (outputs, dead letters and logs are keyed by the id).
pub fn check_name(name: &str, id: &str) -> Result<(), Rejection> {
    let base = Path::new(name)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if base == format!("{id}.json") {
        return Ok(());
    }
    Err(Rejection::new(
        Reason::IdMismatch,
        format!("the file is named {base}, but the command's id is \"{id}\""),
    )
    .field("id")
    .hint(format!("name the file {id}.json (commands are <id>.json)")))
}

/// Every step of the command's `validationPlan` names a defined check.
pub fn check_plan(checks: &BTreeMap<String, Vec<String>>, cmd: &Command) -> Result<(), Rejection> {
    for (i, name) in cmd.validation_plan.iter().enumerate() {
        if !checks.contains_key(name) {
            let known: Vec<&str> = checks.keys().map(String::as_str).collect();
            return Err(Rejection::new(
                Reason::UnknownCheck,
                format!(
                    "validationPlan names check \"{name}\", which meta/bridge.json does not define (defined: {})",
                    if known.is_empty() { "none".to_string() } else { known.join(", ") }
                ),
            )
            .field(format!("validationPlan[{i}]"))
            .hint("the operator defines checks in meta/bridge.json under \"checks\" (name → argv); see docs/bridge.md"));
        }
    }
    Ok(())
}
