//! Typed errors of the core. Every variant knows its exit class (SPEC §4) and
//! carries the file, the field and a hint so the CLI can print one clear message.

use std::path::PathBuf;

/// The stable exit classes of SPEC §4. The CLI maps them to process exit codes.
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

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Malformed or unknown input: exit 2.
    #[error("{file}: {field}: {message}")]
    Invalid {
        file: String,
        field: String,
        message: String,
        hint: Option<String>,
    },
    /// Input is well formed but the policy, a precondition or a check refuses it: exit 1.
    #[error("{file}: {field}: {message}")]
    Rejected {
        file: String,
        field: String,
        message: String,
        hint: Option<String>,
    },
    #[error("{} is not inside a git repository", path.display())]
    NotARepo { path: PathBuf },
    #[error("warden is not initialised in {}", root.display())]
    NotInitialised { root: PathBuf },
    #[error("the repository is locked by another writer: {holder}")]
    Busy { holder: String },
    #[error("{op} {}: {source}", path.display())]
    Io {
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
            Error::Invalid { .. } | Error::NotARepo { .. } | Error::NotInitialised { .. } => {
                ExitClass::Input
            }
            Error::Rejected { .. } | Error::ApplyFailed { .. } | Error::RecoveryBlocked { .. } => {
                ExitClass::Rejected
            }
            Error::Busy { .. } => ExitClass::Busy,
            Error::Io { .. } | Error::Corrupt { .. } | Error::Injected(_) | Error::Internal(_) => {
                ExitClass::Internal
            }
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
            Error::Busy { .. } => {
                Some("wait for it to finish, or run without --no-wait to wait for the lock".into())
            }
            Error::Corrupt { .. } => Some("run `warden ledger verify` and `warden status`".into()),
            Error::ApplyFailed { run, .. } => Some(format!(
                "fix the cause and run the command again; `warden runs` shows run {run} as rolled back"
            )),
            Error::RecoveryBlocked { fix, .. } => Some(fix.clone()),
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
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attach the path and the operation to an `io::Error`.
pub(crate) trait IoContext<T> {
    fn io(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn io(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| Error::Io {
            op,
            path: path.into(),
            source,
        })
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
