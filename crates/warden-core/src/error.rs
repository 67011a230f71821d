//! Typed errors of the core. Every variant knows its exit class and
//! carries the file, the field and a hint so the CLI can print one clear message.

use std::path::PathBuf;

/// The stable exit classes (docs/cli.md). The CLI maps them to process exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitClass {
    /// 1: findings, validation or policy said no; nothing was written.
    Rejected,
    /// 2: usage or input error.
    Input,
    /// 3: internal error (I/O, corrupted state).
    Internal,
    /// 4: busy, another writer holds the repository lock.
    Busy,
}

impl ExitClass {
    pub fn code(self) -> i32 {
        match self {
            ExitClass::Rejected => 1,
            ExitClass::Input => 2,
            ExitClass::Internal => 3,
            ExitClass::Busy => 4,
        }
    }
}

/// What kind of refusal an `Invalid` or `Rejected` error is, so callers (the
/// bridge's dead-letter reasons) classify it without reading its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// Not one of the kinds below.
    #[default]
    Other,
    /// The policy does not allow the action, or refuses the path.
    Policy,
    /// The path is in an area only warden writes (the quarantine lane).
    Protected,
    /// The path leaves the repository: absolute, `..`, or through a symlink.
    UnsafePath,
    /// A precondition does not hold: an expected digest, a fence, the file's
    /// state since the plan was made.
    Precondition,
    /// Over a policy limit (`limits.max_files`, `limits.max_bytes`).
    Limit,
    /// The run's deadline passed before it started.
    Deadline,
    /// The ledger refuses writers (it does not verify).
    Ledger,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Malformed or unknown input: exit 2.
    #[error("{file}: {field}: {message}")]
    Invalid {
        file: String,
        field: String,
        message: String,
        hint: Option<String>,
        refusal: Refusal,
    },
    /// Input is well formed but the policy, a precondition or a check refuses it: exit 1.
    #[error("{file}: {field}: {message}")]
    Rejected {
        file: String,
        field: String,
        message: String,
        hint: Option<String>,
        refusal: Refusal,
    },
    #[error("{} is not inside a git repository", path.display())]
    NotARepo { path: PathBuf },
    #[error("warden is not initialised in {}", root.display())]
    NotInitialised { root: PathBuf },
    #[error("the repository is locked by another writer: {holder}")]
    Busy {
        holder: String,
        /// What to do about it, where the holder is not an ordinary writer
        /// that finishes (`None`: wait, or drop `--no-wait`).
        hint: Option<String>,
    },
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The OS refused a path the user named (a file argument, `--repo`): it
    /// does not exist, is too long, goes through a file, loops, … Exit 2: the
    /// input is wrong, not warden. Built by [`Error::user_path`].
    #[error("{op} {}: {source}", path.display())]
    UserPath {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Corrupt { path: PathBuf, message: String },
    /// A run failed after it began changing files (an I/O error mid-apply);
    /// it was rolled back and ledgered `rolled_back`: exit 1.
    #[error(
        "run {run} failed and was rolled back (ledgered as rolled_back; no change remains): {message}"
    )]
    ApplyFailed { run: String, message: String },
    /// An interrupted run cannot be rolled back until something in the way is
    /// removed: exit 1. Writers refuse with it; read-only commands report it.
    #[error("interrupted run {run} cannot be rolled back: {path}: {problem}")]
    RecoveryBlocked {
        run: String,
        path: String,
        problem: String,
        fix: String,
    },
    #[error("injected failure at failpoint {0}")]
    Injected(&'static str),
    #[error("{0}")]
    Internal(String),
}

impl Error {
    pub fn class(&self) -> ExitClass {
        match self {
            Error::Invalid { .. }
            | Error::UserPath { .. }
            | Error::NotARepo { .. }
            | Error::NotInitialised { .. } => ExitClass::Input,
            Error::Rejected { .. } | Error::ApplyFailed { .. } | Error::RecoveryBlocked { .. } => {
                ExitClass::Rejected
            }
            Error::Busy { .. } => ExitClass::Busy,
            Error::Io { .. } | Error::Corrupt { .. } | Error::Injected(_) | Error::Internal(_) => {
                ExitClass::Internal
            }
        }
    }

    /// A stable name of the variant, for machine-readable errors
    /// (`warden.error/v1`'s `kind`).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Invalid { .. } => "invalid",
            Error::Rejected { .. } => "rejected",
            Error::NotARepo { .. } => "not_a_repo",
            Error::NotInitialised { .. } => "not_initialised",
            Error::Busy { .. } => "busy",
            Error::Io { .. } => "io",
            Error::UserPath { .. } => "user_path",
            Error::Corrupt { .. } => "corrupt",
            Error::ApplyFailed { .. } => "apply_failed",
            Error::RecoveryBlocked { .. } => "recovery_blocked",
            Error::Injected(_) => "injected",
            Error::Internal(_) => "internal",
        }
    }

    /// What the user can do about it, when we know.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Invalid { hint, .. } | Error::Rejected { hint, .. } => hint.clone(),
            Error::NotARepo { .. } => Some(
                "run it inside a git repository, pass --repo PATH, or use `warden init --git-init` to create one"
                    .into(),
            ),
            Error::NotInitialised { .. } => Some("run `warden init` first".into()),
            Error::Busy { hint: Some(h), .. } => Some(h.clone()),
            Error::Busy { hint: None, .. } => {
                Some("wait for it to finish, or run without --no-wait to wait for the lock".into())
            }
            Error::Corrupt { .. } => Some("run `warden ledger verify` and `warden status`".into()),
            Error::ApplyFailed { run, .. } => Some(format!(
                "fix the cause and run the command again; `warden runs` shows run {run} as rolled back"
            )),
            Error::RecoveryBlocked { fix, .. } => Some(fix.clone()),
            Error::UserPath { source, .. } => Some(path_problem(source).unwrap_or("check the path").into()),
            _ => None,
        }
    }

    pub fn invalid(
        file: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> Self {
        Error::Invalid {
            file: file.into(),
            field: field.into(),
            message: message.into(),
            hint,
            refusal: Refusal::Other,
        }
    }

    pub fn rejected(
        file: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> Self {
        Error::Rejected {
            file: file.into(),
            field: field.into(),
            message: message.into(),
            hint,
            refusal: Refusal::Other,
        }
    }

    /// A `Rejected` error of the given kind (exit 1).
    pub fn refused(
        kind: Refusal,
        file: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> Self {
        Error::rejected(file, field, message, hint).refusing(kind)
    }

    /// The same error, classified as `kind` (for `Invalid` and `Rejected`;
    /// other variants are returned unchanged).
    pub fn refusing(mut self, kind: Refusal) -> Self {
        if let Error::Invalid { refusal, .. } | Error::Rejected { refusal, .. } = &mut self {
            *refusal = kind;
        }
        self
    }

    /// The kind of refusal, for `Invalid` and `Rejected`.
    pub fn refusal(&self) -> Option<Refusal> {
        match self {
            Error::Invalid { refusal, .. } | Error::Rejected { refusal, .. } => Some(*refusal),
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// ELOOP: `std::io::ErrorKind::FilesystemLoop` is not stable yet.
#[cfg(target_os = "linux")]
const ELOOP: i32 = 40;
#[cfg(not(target_os = "linux"))]
const ELOOP: i32 = 62;

/// When `e` is the OS refusing the path itself (rather than the disk or
/// warden's own state failing), what the user should do about it.
pub fn path_problem(e: &std::io::Error) -> Option<&'static str> {
    use std::io::ErrorKind as K;
    Some(match e.kind() {
        K::NotFound => "no such file or directory; check the path",
        K::NotADirectory => "a component of the path is a file, not a directory; check the path",
        K::IsADirectory => "it is a directory; give the path of a file",
        K::InvalidFilename => {
            "a name in the path is longer than the file system allows (255 bytes per name, 4096 per path on Linux); shorten it"
        }
        K::InvalidInput => "the path is not usable (e.g. it contains a NUL byte); check it",
        K::PermissionDenied => "permission denied; check the path and its permissions",
        _ if e.raw_os_error() == Some(ELOOP) => {
            "too many levels of symbolic links; check the path and the links on it"
        }
        _ => return None,
    })
}

impl Error {
    /// An I/O error on a path the user named: exit 2 ([`Error::UserPath`]) when
    /// the OS refused the path itself (see [`path_problem`]), else an internal
    /// I/O error (exit 3), e.g. a failing disk.
    pub fn user_path(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        let path = path.into();
        if path_problem(&source).is_some() {
            Error::UserPath { op, path, source }
        } else {
            Error::Io { op, path, source }
        }
    }
}

/// Attach the path and the operation to an `io::Error`.
pub(crate) trait IoContext<T> {
    /// On warden's own files: always an internal error (exit 3).
    fn io(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T>;
    /// On a path the user named: see [`Error::user_path`].
    fn user_io(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn io(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| Error::Io {
            op,
            path: path.into(),
            source,
        })
    }

    fn user_io(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| Error::user_path(op, path, source))
    }
}

/// "did you mean" for a misspelt name among known ones.
pub fn did_you_mean<'a>(given: &str, known: impl IntoIterator<Item = &'a str>) -> Option<String> {
    known
        .into_iter()
        .map(|k| (strsim::jaro_winkler(given, k), k))
        .filter(|(score, _)| *score > 0.75)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| format!("did you mean \"{k}\"?"))
}

/// The one known name `given` is a typo of: at most two edits away
/// (a character inserted, dropped, changed, or two neighbours swapped) and
/// fewer edits than a quarter of its length, so a short or merely similar
/// name (`subsystem_notes` against `subsystem_readme`) is not taken for
/// one. `None` when no name is that close, or two are equally close.
/// [`did_you_mean`] is the looser suggestion for a message; this is what
/// may turn a name the reader does not know into a mistake.
pub fn typo_of<'a>(given: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let max = 2.min(given.chars().count().div_ceil(4).saturating_sub(1));
    let mut close: Vec<(usize, &str)> = known
        .into_iter()
        .filter(|k| *k != given)
        .map(|k| (strsim::damerau_levenshtein(given, k), k))
        .filter(|(d, _)| (1..=max).contains(d))
        .collect();
    close.sort();
    match close.as_slice() {
        [(d, k), rest @ ..] if rest.first().is_none_or(|(e, _)| e > d) => Some(k),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_is_two_edits_at_most_and_never_a_merely_similar_name() {
        let known = [
            "subsystem_readme",
            "component_readme",
            "root_readme",
            "module_meta",
        ];
        assert_eq!(typo_of("subsytem_readme", known), Some("subsystem_readme"));
        assert_eq!(typo_of("subsystme_readme", known), Some("subsystem_readme"));
        assert_eq!(typo_of("root_reamde", known), Some("root_readme"));
        assert_eq!(typo_of("subsystem_notes", known), None);
        assert_eq!(
            typo_of("root_readme", known),
            None,
            "a known name is no typo"
        );
        assert_eq!(typo_of("abc", ["abd"]), None, "too short to tell");
        assert_eq!(
            typo_of("module_metb", ["module_meta", "module_metc"]),
            None,
            "two as close"
        );
    }

    #[test]
    fn file_name_too_long_on_a_user_path_exits_2_not_3() {
        let dir = tempfile::tempdir().expect("tempdir");
        let long = dir.path().join("x".repeat(300));
        let e = crate::repo::discover(&long).expect_err("too long");
        assert_eq!(e.class(), ExitClass::Input, "{e}");
        assert!(
            e.to_string().contains(&"x".repeat(300)),
            "names the path: {e}"
        );
        assert!(
            e.hint().is_some_and(|h| h.contains("255 bytes")),
            "{:?}",
            e.hint()
        );
    }

    #[test]
    fn os_errors_about_a_user_path_are_input_errors_naming_the_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").expect("write");
        let cases = [
            (file.join("below"), "not a directory"),
            (dir.path().join("missing"), "no such file"),
        ];
        for (path, hint) in cases {
            let e = crate::repo::discover(&path).expect_err("refused");
            assert_eq!(e.class(), ExitClass::Input, "{e}");
            assert!(e.to_string().contains(&path.display().to_string()), "{e}");
            assert!(e.hint().is_some_and(|h| h.contains(hint)), "{:?}", e.hint());
        }
        #[cfg(unix)]
        {
            let a = dir.path().join("a");
            let b = dir.path().join("b");
            std::os::unix::fs::symlink(&b, &a).expect("symlink");
            std::os::unix::fs::symlink(&a, &b).expect("symlink");
            let e = crate::repo::discover(&a).expect_err("loop");
            assert_eq!(e.class(), ExitClass::Input, "{e}");
            assert!(
                e.hint().is_some_and(|h| h.contains("symbolic links")),
                "{:?}",
                e.hint()
            );
        }
    }

    #[test]
    fn other_io_errors_stay_internal() {
        let e = Error::user_path("read", "/x", std::io::Error::other("disk on fire"));
        assert_eq!(e.class(), ExitClass::Internal);
    }
}
