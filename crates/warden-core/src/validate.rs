//! The policy's optional validation command (SPEC §3.4): run in the repository
//! root after a run applied, output captured to the run's `validation.log`,
//! killed (its whole process group) past `limits.max_runtime_ms`.

use crate::error::{IoContext, Result};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Ok(Ok(())) when the command succeeded, Ok(Err(why)) when it failed or timed out.
pub fn run(
    argv: &[String],
    root: &Path,
    log: &Path,
    limit: Duration,
) -> Result<Result<(), String>> {
    Ok(run_until(argv, root, log, limit, None, false)?.map_err(|f| f.why))
}

/// Why a validation command did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub why: String,
    /// It was killed because the run's deadline passed (not its own limit).
    pub deadline: bool,
}

/// Like [`run`], but also killed (its whole process group) when `deadline`
/// passes, whichever comes first; `append` adds to the log instead of
/// replacing it (several steps share one log).
pub fn run_until(
    argv: &[String],
    root: &Path,
    log: &Path,
    limit: Duration,
    deadline: Option<Instant>,
    append: bool,
) -> Result<Result<(), Failure>> {
    let Some((prog, args)) = argv.split_first() else {
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
    let mut cmd = Command::new(prog);
    cmd.args(args)
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Ok(Err(Failure {
                why: format!("cannot start `{prog}`: {e}"),
                deadline: false,
            }));
        }
    };
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().io("wait for", prog)? {
            return Ok(if status.success() {
                Ok(())
            } else {
                Err(Failure {
                    why: format!("`{}` exited with {status}", argv.join(" ")),
                    deadline: false,
                })
            });
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            kill_group(&mut child);
            return Ok(Err(Failure {
                why: format!(
                    "`{}` was still running at the run's deadline and was killed",
                    argv.join(" ")
                ),
                deadline: true,
            }));
        }
        if start.elapsed() > limit {
            kill_group(&mut child);
            return Ok(Err(Failure {
                why: format!(
                    "`{}` ran longer than limits.max_runtime_ms ({} ms) and was killed",
                    argv.join(" "),
                    limit.as_millis()
                ),
                deadline: false,
            }));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn kill_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    {
        // No unsafe here: ask kill(1) to signal the whole group.
        let _ = Command::new("kill")
            // `-s KILL -- -PGID`: procps-ng 4.0 ignores `-KILL -PGID`.
            .args(["-s", "KILL", "--"])
            .arg(format!("-{}", child.id()))
            .status();
    }
    let _ = child.kill();
    let _ = child.wait();
}
