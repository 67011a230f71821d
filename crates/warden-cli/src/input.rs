//! Files the user names on the command line (or `-`, stdin) that a command
//! reads whole: read through one function, never past a limit. Without it
//! `warden apply /dev/zero`, `yes | warden apply -` or a file that grows while
//! it is read is read until memory runs out. Each kind of input has its
//! [`Limit`], with the fix the error offers; docs/cli.md ("Input size
//! limits") lists them.
//!
//! Only inputs named by the user go through here: warden's own configuration
//! files are read by `warden_core::strict::read_config`, files in the working
//! tree by the core.

use crate::output::CliError;
use std::io::Read;
use std::path::Path;

const MIB: u64 = 1 << 20;

/// How much of one kind of input a command reads, and what to do instead.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// What the input is, for the messages: "the proposal".
    pub what: &'static str,
    /// The command that reads it, for the messages: "warden apply".
    pub command: &'static str,
    /// The most bytes read.
    pub bytes: u64,
    /// The fix when the input is larger.
    pub fix: &'static str,
}

/// `warden apply FILE`. A file's content over 1 MiB does not belong inline:
/// `content_file` names a file that the engine streams from disk, so a
/// proposal is a list of actions and small contents. 16 MiB leaves room for
/// inline content well past that, and is still cheap to hold and parse.
pub const PROPOSAL: Limit = Limit {
    what: "the proposal",
    command: "warden apply",
    bytes: 16 * MIB,
    fix: "put large file contents in files of their own and name them with `content_file` and `content_sha256` (docs/wire-format.md), or split the proposal into several",
};

/// `warden run EVENT --input FILE`: event payloads are small JSON objects.
pub const EVENT_INPUT: Limit = Limit {
    what: "the event input",
    command: "warden run",
    bytes: 16 * MIB,
    fix: "pass fewer payloads per run (split the batch)",
};

/// `warden check --baseline FILE`: a list of gap ids.
pub const BASELINE: Limit = Limit {
    what: "the baseline",
    command: "warden check",
    bytes: 16 * MIB,
    fix: "a baseline is the `meta-gaps.yaml` that `warden check` writes (docs/contracts.md); point --baseline at such a file",
};

/// `warden check --coverage FILE`: coverage reports of big projects run to
/// tens of megabytes (Cobertura XML, lcov), so this one is generous.
pub const COVERAGE: Limit = Limit {
    what: "the coverage report",
    command: "warden check",
    bytes: 256 * MIB,
    fix: "produce the report for the covered packages only",
};

/// `warden registry patch FILE`: registry patches, JSON.
pub const REGISTRY_PATCHES: Limit = Limit {
    what: "the patches",
    command: "warden registry",
    bytes: 16 * MIB,
    fix: "split the patches into several files",
};

/// `warden modules import FILE`: a JSON module registry.
pub const MODULE_REGISTRY: Limit = Limit {
    what: "the JSON module registry",
    command: "warden modules import",
    bytes: 16 * MIB,
    fix: "import a registry of the modules only (names, folders, keywords)",
};

/// `warden bridge sign FILE`: the bridge takes no command over its own
/// limit, so signing reads no more.
pub const BRIDGE_COMMAND: Limit = Limit {
    what: "the bridge command",
    command: "warden bridge",
    bytes: warden_bridge::command::DEFAULT_MAX_BYTES,
    fix: "split the change into several commands (the bridge refuses larger ones as too_large)",
};

/// `warden bridge new write --content-file FILE`: the content goes into one
/// command, which the bridge takes only up to its limit.
pub const BRIDGE_CONTENT: Limit = Limit {
    what: "a write's content",
    ..BRIDGE_COMMAND
};

/// Read `path` whole, or stdin when `path` is `-` and `stdin` allows it, but
/// never more than `limit.bytes`: an input over the limit is an error (exit
/// 2) naming it, the limit and the fix. Returns the bytes and the name errors
/// call the input by: the path as given, or "(stdin)". `op` words a failure
/// to open the file ("read the proposal").
pub fn read(
    path: &Path,
    stdin: bool,
    limit: &Limit,
    op: &'static str,
) -> Result<(Vec<u8>, String), CliError> {
    if stdin && path == Path::new("-") {
        let label = "(stdin)".to_string();
        let bytes = bounded(std::io::stdin().lock(), 0, limit, &label).map_err(|e| match e {
            Bounded::Over(e) => e,
            Bounded::Io(e) => {
                CliError::usage(format!("cannot read {} from stdin: {e}", limit.what), None)
            }
        })?;
        return Ok((bytes, label));
    }
    let label = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| warden_core::Error::user_path(op, path, e))?;
    // A regular file says its size: one over the limit is refused unread.
    // Devices, FIFOs and /proc files say 0 or less than they hold, so the
    // read below is bounded whatever the size said.
    let size = file
        .metadata()
        .map_err(|e| warden_core::Error::user_path(op, path, e))?
        .len();
    if size > limit.bytes {
        return Err(too_large(&label, limit));
    }
    let bytes = bounded(file, size, limit, &label).map_err(|e| match e {
        Bounded::Over(e) => e,
        Bounded::Io(e) => warden_core::Error::user_path(op, path, e).into(),
    })?;
    Ok((bytes, label))
}

/// [`read`] for text: the bytes as UTF-8 (as they are: a byte-order mark is
/// kept), or an error naming the input and the first byte that is not.
pub fn read_text(
    path: &Path,
    stdin: bool,
    limit: &Limit,
    op: &'static str,
) -> Result<(String, String), CliError> {
    let (bytes, label) = read(path, stdin, limit, op)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        warden_core::Error::invalid(
            &label,
            format!("byte {}", e.utf8_error().valid_up_to()),
            "not valid UTF-8",
            Some("save the file as UTF-8 text".into()),
        )
    })?;
    Ok((text, label))
}

enum Bounded {
    Over(CliError),
    Io(std::io::Error),
}

fn bounded(r: impl Read, size: u64, limit: &Limit, label: &str) -> Result<Vec<u8>, Bounded> {
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    r.take(limit.bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(Bounded::Io)?;
    if bytes.len() as u64 > limit.bytes {
        return Err(Bounded::Over(too_large(label, limit)));
    }
    Ok(bytes)
}

fn too_large(label: &str, limit: &Limit) -> CliError {
    let size = if limit.bytes.is_multiple_of(MIB) {
        format!("{} MiB", limit.bytes / MIB)
    } else {
        format!("{} KiB", limit.bytes / 1024)
    };
    warden_core::Error::invalid(
        label,
        "(file)",
        format!(
            "is larger than {size} ({} bytes), the most `{}` reads of {}; it was not read further",
            limit.bytes, limit.command, limit.what
        ),
        Some(limit.fix.to_string()),
    )
    .into()
}
