//! The policy's optional validation command: run in the repository
//! root after a run applied, output captured to the run's `validation.log`,
//! killed (its whole process tree, see [`crate::process`]) past
//! `limits.max_runtime_ms`. It sees only the environment the caller lists
//! ([`crate::Context::child_env`]), never a secret.

use crate::error::{IoContext, Result};
use crate::process::{Cmd, End, Sink};
use std::ffi::OsString;
use std::path::Path;
use std::time::{Duration, Instant};

/// Ok(Ok(())) when the command succeeded, Ok(Err(why)) when it failed or timed out.
pub fn run(
    argv: &[String],
    root: &Path,
    log: &Path,
    limit: Duration,
    env: &[(OsString, OsString)],
) -> Result<Result<(), String>> {
    Ok(run_until(argv, root, log, limit, None, false, env)?.map_err(|f| f.why))
}

/// Why a validation command did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub why: String,
    /// It was killed because the run's deadline passed (not its own limit).
    pub deadline: bool,
}

/// Like [`run`], but also killed (its whole process tree) when `deadline`
/// passes, whichever comes first; `append` adds to the log instead of
/// replacing it (several steps share one log).
pub fn run_until(
    argv: &[String],
    root: &Path,
    log: &Path,
    limit: Duration,
    deadline: Option<Instant>,
    append: bool,
    env: &[(OsString, OsString)],
) -> Result<Result<(), Failure>> {
    let Some(prog) = argv.first() else {
        return Ok(Ok(()));
    };
    if let Some(d) = log.parent() {
        std::fs::create_dir_all(d).io("create", d)?;
    }
    let out = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(log)
        .io("create", log)?;
    let err = out.try_clone().io("dup", log)?;
    let own_limit = Instant::now().checked_add(limit);
    let cmd = Cmd::new(prog)
        .args(&argv[1..])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .cwd(root)
        .stdout(Sink::File(out))
        .stderr(Sink::File(err));
    let cmd = match own_limit {
        Some(l) => cmd.deadline(l),
        None => cmd,
    };
    let cmd = match deadline {
        Some(d) => cmd.deadline(d),
        None => cmd,
    };
    let done = match cmd.run() {
        Ok(f) => f,
        Err(e) => {
            return Ok(Err(Failure {
                why: format!("cannot start `{prog}`: {e}"),
                deadline: false,
            }));
        }
    };
    let line = argv.join(" ");
    Ok(match done.end {
        End::Exited(0) => Ok(()),
        End::TimedOut if deadline.is_some_and(|d| own_limit.is_none_or(|l| d <= l)) => {
            Err(Failure {
                why: format!("`{line}` was still running at the run's deadline and was killed"),
                deadline: true,
            })
        }
        End::TimedOut => Err(Failure {
            why: format!(
                "`{line}` ran longer than limits.max_runtime_ms ({} ms) and was killed",
                limit.as_millis()
            ),
            deadline: false,
        }),
        End::Exited(c) => Err(Failure {
            why: format!("`{line}` exited with exit status: {c}"),
            deadline: false,
        }),
        End::Signalled(s) => Err(Failure {
            why: format!("`{line}` exited with signal: {s}"),
            deadline: false,
        }),
        End::OutputLimit => Err(Failure {
            why: format!("`{line}` {}", done.describe()),
            deadline: false,
        }),
    })
}
