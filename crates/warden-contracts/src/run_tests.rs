//! `warden check --run-tests`: after a clean contract pass, run the
//! `tests.command` of `.warden/contracts.yaml` through the one
//! process runner. A missing program and "no tests collected" are named
//! outcomes, not crashes (the seed script's defect 9).

use crate::config::TestsConfig;
use schemars::JsonSchema;
use serde::Serialize;
use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;
use warden_core::process::{Cmd, End, Sink};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Passed,
    Failed,
    /// The command said it collected no tests (an exit code in `no_tests_exit_codes`).
    NoTests,
    /// The program could not be started.
    NotFound,
    TimedOut,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TestRun {
    pub command: Vec<String>,
    pub outcome: Outcome,
    pub exit_code: Option<i32>,
    /// Whether the outcome passes `--run-tests`.
    pub ok: bool,
    /// The last lines of stdout and stderr.
    pub output_tail: String,
}

pub fn run(root: &Path, cfg: &TestsConfig, env: &[(OsString, OsString)]) -> TestRun {
    let Some((program, args)) = cfg.command.split_first() else {
        return TestRun {
            command: Vec::new(),
            outcome: Outcome::NotFound,
            exit_code: None,
            ok: false,
            output_tail: "empty command".into(),
        };
    };
    let cmd = Cmd::new(program)
        .args(args)
        .envs(env.iter().cloned())
        .cwd(root)
        .stdout(Sink::capture(1 << 24))
        .stderr(Sink::capture(1 << 24))
        .timeout(Duration::from_secs(cfg.timeout_seconds));
    let (outcome, code, tail) = match cmd.run() {
        Err(e) => (
            Outcome::NotFound,
            None,
            format!("cannot start {program}: {e}"),
        ),
        Ok(f) => {
            let mut all = String::from_utf8_lossy(&f.stdout).into_owned();
            all.push_str(&String::from_utf8_lossy(&f.stderr));
            let lines: Vec<&str> = all.lines().collect();
            let tail = lines[lines.len().saturating_sub(20)..].join("\n");
            match f.end {
                End::Exited(0) => (Outcome::Passed, Some(0), tail),
                End::Exited(c) if cfg.no_tests_exit_codes.contains(&c) => {
                    (Outcome::NoTests, Some(c), tail)
                }
                End::Exited(c) => (Outcome::Failed, Some(c), tail),
                End::TimedOut => (Outcome::TimedOut, None, tail),
                End::Signalled(_) | End::OutputLimit => (Outcome::Failed, None, tail),
            }
        }
    };
    let ok = outcome == Outcome::Passed || (outcome == Outcome::NoTests && cfg.allow_no_tests);
    TestRun {
        command: cfg.command.clone(),
        outcome,
        exit_code: code,
        ok,
        output_tail: tail,
    }
}
