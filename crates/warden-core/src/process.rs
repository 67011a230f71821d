//! The one process runner: every child warden starts goes through [`Cmd::run`]
//! (plugins and their probes, validation commands, bridge checks, sync
//! generators, git). One job, one place:
//!
//! - **argv, no shell**; a working directory; stdin null or given bytes;
//!   stdout and stderr each captured up to a byte limit (or sent to a file, or
//!   dropped);
//! - **an environment built only from what the caller lists**: the child's
//!   environment is always cleared first, and names that look like secrets
//!   ([`is_secret`]: `*SECRET*`, `*TOKEN*`, `*PASSWORD*`, …) are stripped even
//!   when a caller lists them. The core reads no environment itself: the CLI
//!   builds the allow-listed base and hands it down;
//! - **a wall-clock deadline** and a result that says how the child ended
//!   ([`End`]): exited, killed by a signal, timed out, or over its output limit;
//! - **a kill that takes the whole descendant tree.** Each child leads its own
//!   process group (`process_group(0)`); when it ends — normally or killed — the
//!   group is sent `SIGKILL` (`kill_process_group`, while the child is still an
//!   unreaped zombie, so its pid cannot have been reused). Descendants that left
//!   the group (`setsid`, double fork into a new group) are caught by the
//!   **orphan sweep**: after [`adopt_orphans`] (Linux), this process is a child
//!   subreaper, so every orphan of any child is re-parented to it; when no
//!   runner child is running any more, the runner `SIGKILL`s and reaps every
//!   child of this process listed in `/proc/self/task/<main>/children` (they
//!   are all orphans then), repeating until none is left. With several runner
//!   children running at once (threads), the sweep waits until the last one
//!   ends: a sweep must never kill a child another thread still tracks.
//!   A program that calls [`adopt_orphans`] must therefore start **every**
//!   child through this runner. Elsewhere (macOS, BSD, or without
//!   [`adopt_orphans`]) only the process-group kill applies.
//!
//! The calling thread alone watches a child: `poll` on its output pipes and
//! on a pidfd, with the time left to the deadline (no thread per stream).
//! No `unsafe` and no `kill(1)`: signals, waits and polls go through `rustix`.

// The process runner is the seam: the one place that starts children.
#![allow(clippy::disallowed_methods)]

use std::ffi::{OsStr, OsString};
use std::io::Write;
#[cfg(unix)]
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Parts of a variable name that mark it as a secret, never passed to a child
/// (compared case-insensitively). The bridge's `GPT_BRIDGE_HMAC_SECRET`,
/// `…_SECRET_PREV`, `…_SECRET_NEXT` and `…_SECRET_FILE` all match `SECRET`.
pub const SECRET_MARKERS: &[&str] = &["SECRET", "TOKEN", "PASSWORD", "PASSWD", "CREDENTIAL"];

/// Whether an environment variable name is a secret that no child may see.
pub fn is_secret(name: &OsStr) -> bool {
    let upper = name.to_string_lossy().to_ascii_uppercase();
    SECRET_MARKERS.iter().any(|m| upper.contains(m))
}

/// The default capture limit of stdout and stderr: generous, but bounded.
pub const DEFAULT_CAPTURE: u64 = 256 * 1024 * 1024;

/// What the child reads.
#[derive(Debug, Clone, Default)]
pub enum Input {
    /// `/dev/null`.
    #[default]
    Null,
    /// These bytes, then end of file.
    Bytes(Vec<u8>),
}

/// What happens past a capture limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Over {
    /// Kill the whole tree; the run ends with [`End::OutputLimit`].
    Kill,
    /// Keep the first `limit` bytes, read and drop the rest (the child is not
    /// blocked); the stream is marked over its limit.
    Discard,
}

/// Where one output stream goes.
#[derive(Debug)]
pub enum Sink {
    /// `/dev/null`.
    Null,
    /// Captured into memory, up to `limit` bytes.
    Capture { limit: u64, over: Over },
    /// Written to this file (the validation log).
    File(std::fs::File),
}

impl Sink {
    /// Capture up to `limit` bytes; past it, kill the tree.
    pub fn capture(limit: u64) -> Sink {
        Sink::Capture {
            limit,
            over: Over::Kill,
        }
    }
}

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// It exited on its own with this code.
    Exited(i32),
    /// A signal it did not get from the runner ended it.
    Signalled(i32),
    /// The deadline passed; the runner killed its tree.
    TimedOut,
    /// A stream with [`Over::Kill`] went past its limit; the runner killed its tree.
    OutputLimit,
}

/// The result of one [`Cmd::run`].
#[derive(Debug, Clone)]
pub struct Finished {
    pub end: End,
    /// The exit code the child reported, if it exited (also after a kill that
    /// raced its own exit).
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Whether stdout / stderr went past their capture limit.
    pub stdout_over: bool,
    pub stderr_over: bool,
    pub duration: Duration,
    /// The orphan sweep after this child gave up: descendants that left its
    /// group kept starting new ones faster than they could be killed, and
    /// some may still run (and write) after it returned.
    pub orphans_left: bool,
}

impl Finished {
    /// Exited with code 0.
    pub fn success(&self) -> bool {
        self.end == End::Exited(0)
    }

    /// stderr as trimmed text, for error messages.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).trim().to_string()
    }

    /// `exited with 3`, `killed by signal 9`, `timed out`, …, for messages.
    pub fn describe(&self) -> String {
        match self.end {
            End::Exited(c) => format!("exited with {c}"),
            End::Signalled(s) => format!("was killed by signal {s}"),
            End::TimedOut => "ran past its deadline and was killed".into(),
            End::OutputLimit => "wrote more than its output limit and was killed".into(),
        }
    }
}

/// One child process to run: build it, then [`Cmd::run`].
#[derive(Debug)]
pub struct Cmd {
    argv: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    cwd: Option<PathBuf>,
    stdin: Input,
    stdout: Sink,
    stderr: Sink,
    deadline: Option<Instant>,
    /// The child leads its own process group (so its tree can be killed).
    own_group: bool,
}

impl Cmd {
    /// `program` is looked up on the child's `PATH` when it has no `/`. The
    /// environment starts empty; stdin is null; stdout and stderr are captured
    /// up to [`DEFAULT_CAPTURE`] (past it the tree is killed); no deadline.
    pub fn new(program: impl AsRef<OsStr>) -> Cmd {
        Cmd {
            argv: vec![program.as_ref().to_os_string()],
            env: Vec::new(),
            cwd: None,
            stdin: Input::Null,
            stdout: Sink::capture(DEFAULT_CAPTURE),
            stderr: Sink::capture(DEFAULT_CAPTURE),
            deadline: None,
            own_group: true,
        }
    }

    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Cmd {
        self.argv.push(a.as_ref().to_os_string());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.argv
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// Set one variable (a later value for the same name wins). Secret names
    /// ([`is_secret`]) are dropped here and never reach the child.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Cmd {
        let key = key.as_ref();
        if key.is_empty() || is_secret(key) {
            return self;
        }
        self.env.retain(|(k, _)| k.as_os_str() != key);
        self.env
            .push((key.to_os_string(), value.as_ref().to_os_string()));
        self
    }

    pub fn envs<I, K, V>(mut self, vars: I) -> Cmd
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        for (k, v) in vars {
            self = self.env(k, v);
        }
        self
    }

    /// Remove a variable set earlier.
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Cmd {
        self.env.retain(|(k, _)| k.as_os_str() != key.as_ref());
        self
    }

    pub fn cwd(mut self, dir: impl AsRef<Path>) -> Cmd {
        self.cwd = Some(dir.as_ref().to_path_buf());
        self
    }

    pub fn stdin(mut self, input: Input) -> Cmd {
        self.stdin = input;
        self
    }

    pub fn stdin_bytes(self, bytes: impl Into<Vec<u8>>) -> Cmd {
        self.stdin(Input::Bytes(bytes.into()))
    }

    pub fn stdout(mut self, sink: Sink) -> Cmd {
        self.stdout = sink;
        self
    }

    pub fn stderr(mut self, sink: Sink) -> Cmd {
        self.stderr = sink;
        self
    }

    /// Kill the tree when `deadline` passes (the earlier of this and any
    /// deadline set before wins).
    pub fn deadline(mut self, deadline: Instant) -> Cmd {
        self.deadline = Some(self.deadline.map_or(deadline, |d| d.min(deadline)));
        self
    }

    /// Kill the tree `timeout` after this call (see [`Cmd::deadline`]).
    pub fn timeout(self, timeout: Duration) -> Cmd {
        match Instant::now().checked_add(timeout) {
            Some(d) => self.deadline(d),
            None => self,
        }
    }

    /// The program and its arguments, for messages.
    pub fn display(&self) -> String {
        self.argv
            .iter()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Keep the child in warden's own process group, the terminal's foreground
    /// group, so it may read the terminal: the pager. Its tree is then not
    /// killed as a group when it ends (the child's own end is still awaited,
    /// and orphans still come back to warden).
    pub fn in_foreground(mut self) -> Cmd {
        self.own_group = false;
        self
    }

    /// Start the child, feed stdin, collect its output within the limits,
    /// enforce the deadline, and kill whatever is left of its tree. `Err` only
    /// when it could not be started (or waited for).
    pub fn run(self) -> std::io::Result<Finished> {
        let started = Instant::now();
        let (mut command, stdin, watch) = self.prepare()?;
        let mut child = spawn_tracked(&mut command)?;
        feed_stdin(&mut child, stdin);
        finish(child, watch, started)
    }

    /// The `std` command (argv, cleared environment plus the listed
    /// variables, cwd, stdio, own process group), the input still to feed,
    /// and what watching the child needs.
    fn prepare(self) -> std::io::Result<(std::process::Command, Input, Watch)> {
        let Cmd {
            argv,
            env,
            cwd,
            stdin,
            stdout,
            stderr,
            deadline,
            own_group,
        } = self;
        let Some((prog, args)) = argv.split_first() else {
            return Err(std::io::Error::other("empty argv"));
        };
        let mut cmd = std::process::Command::new(prog);
        cmd.args(args).env_clear().envs(env);
        if let Some(dir) = &cwd {
            cmd.current_dir(dir);
        }
        cmd.stdin(match stdin {
            Input::Null => Stdio::null(),
            Input::Bytes(_) => Stdio::piped(),
        });
        let (out_stdio, out_cap) = stdio_of(stdout)?;
        let (err_stdio, err_cap) = stdio_of(stderr)?;
        cmd.stdout(out_stdio).stderr(err_stdio);
        #[cfg(unix)]
        if own_group {
            std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        }
        #[cfg(not(unix))]
        let _ = own_group;
        let watch = Watch {
            out_cap,
            err_cap,
            deadline,
        };
        Ok((cmd, stdin, watch))
    }
}

/// What watching a started child needs: the capture limits of its output
/// streams and the deadline.
struct Watch {
    out_cap: Option<Capture>,
    err_cap: Option<Capture>,
    deadline: Option<Instant>,
}

/// Spawn and register the child with the orphan sweep's tracker, so no sweep
/// can kill it between the two.
fn spawn_tracked(cmd: &mut std::process::Command) -> std::io::Result<Child> {
    let _spawning = tracker::Spawning::begin();
    let child = cmd.spawn()?;
    tracker::track(child.id());
    Ok(child)
}

/// Write the given input to the child's stdin.
fn feed_stdin(child: &mut Child, stdin: Input) {
    if let (Input::Bytes(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A thread: the child may write its output before reading all input.
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        });
    }
}

/// Watch the child to its end (output, deadline), kill what is left of its
/// tree, reap it, and say how it ended.
#[cfg(unix)]
fn finish(mut child: Child, limits: Watch, started: Instant) -> std::io::Result<Finished> {
    let group = Group {
        pid: child.id(),
        alive: Mutex::new(true),
    };
    let mut out = Stream::new(child.stdout.take(), limits.out_cap);
    let mut err = Stream::new(child.stderr.take(), limits.err_cap);
    let watched = watch(&child, limits.deadline, &group, &mut out, &mut err);
    // The child has ended but is not reaped yet: its pid (= the group id)
    // cannot be reused, so killing the group hits only its own tree.
    group.kill_and_retire();
    let status = child.wait();
    let orphans_left = tracker::untrack(group.pid);
    let (timed_out, output_kill) = watched?;
    let status = status?;
    // Whatever still holds the pipes was killed by now (group kill or
    // sweep); take what is left, for a short while at most.
    drain(&mut out, &mut err);
    Ok(Finished {
        end: end_of(timed_out, output_kill, &status),
        code: status.code(),
        stdout: out.buf,
        stderr: err.buf,
        stdout_over: out.over,
        stderr_over: err.over,
        duration: started.elapsed(),
        orphans_left,
    })
}

/// How the child ended: a kill warden made (deadline first, then output
/// limit) wins over the exit status that kill produced.
#[cfg(unix)]
fn end_of(timed_out: bool, output_kill: bool, status: &std::process::ExitStatus) -> End {
    if timed_out {
        End::TimedOut
    } else if output_kill {
        End::OutputLimit
    } else {
        match status.code() {
            Some(c) => End::Exited(c),
            None => End::Signalled(signal_of(status)),
        }
    }
}

#[cfg(not(unix))]
fn finish(child: Child, limits: Watch, started: Instant) -> std::io::Result<Finished> {
    let _ = (limits.out_cap, limits.err_cap);
    run_plain(child, started, limits.deadline)
}

/// Elsewhere than Unix: wait, capture, no deadline, no tree kill.
#[cfg(not(unix))]
fn run_plain(
    child: Child,
    started: Instant,
    _deadline: Option<Instant>,
) -> std::io::Result<Finished> {
    let pid = child.id();
    let out = child.wait_with_output();
    let orphans_left = tracker::untrack(pid);
    let out = out?;
    let code = out.status.code();
    Ok(Finished {
        end: code.map_or(End::Signalled(0), End::Exited),
        code,
        stdout: out.stdout,
        stderr: out.stderr,
        stdout_over: false,
        stderr_over: false,
        duration: started.elapsed(),
        orphans_left,
    })
}

/// Start `prog` with this process's own stdio and environment, untracked by
/// the runner. Only for the plugin sandbox helper, which is itself a child the
/// runner tracks and kills as a tree: its stages start each other and the
/// plugin this way, and its PID 1 reaps everything it starts.
pub fn spawn_inherit<S: AsRef<OsStr>>(
    prog: impl AsRef<OsStr>,
    args: impl IntoIterator<Item = S>,
) -> std::io::Result<Child> {
    std::process::Command::new(prog).args(args).spawn()
}

/// Replace this process with `argv` (`execvp`), keeping the environment it
/// has. Returns only on failure. Not a spawn: nothing is left to track.
#[cfg(unix)]
pub fn exec_replace(argv: &[String]) -> std::io::Error {
    use std::os::unix::process::CommandExt;
    let Some((prog, args)) = argv.split_first() else {
        return std::io::Error::other("empty argv");
    };
    std::process::Command::new(prog).args(args).exec()
}

#[cfg(unix)]
fn signal_of(status: &std::process::ExitStatus) -> i32 {
    std::os::unix::process::ExitStatusExt::signal(status).unwrap_or(0)
}

#[cfg(not(unix))]
fn signal_of(_: &std::process::ExitStatus) -> i32 {
    0
}

#[cfg(unix)]
/// The child's process group, killable until the child is reaped.
struct Group {
    pid: u32,
    alive: Mutex<bool>,
}

#[cfg(unix)]
impl Group {
    fn kill(&self) {
        let alive = self.alive.lock().unwrap_or_else(|e| e.into_inner());
        if *alive {
            kill_tree_of(self.pid);
        }
    }

    /// Kill, and never signal this pid again: it is about to be reaped.
    fn kill_and_retire(&self) {
        let mut alive = self.alive.lock().unwrap_or_else(|e| e.into_inner());
        if *alive {
            kill_tree_of(self.pid);
            *alive = false;
        }
    }
}

#[cfg(unix)]
impl Drop for Group {
    fn drop(&mut self) {
        *self.alive.lock().unwrap_or_else(|e| e.into_inner()) = false;
    }
}

#[cfg(unix)]
fn kill_tree_of(pid: u32) {
    use rustix::process::{Pid, Signal, kill_process, kill_process_group};
    if let Some(p) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
        let _ = kill_process_group(p, Signal::KILL);
        // The child may have moved itself to another group (setsid makes its
        // own pid the group id, which the line above covers; setpgid does not).
        let _ = kill_process(p, Signal::KILL);
    }
}

struct Capture {
    limit: u64,
    over: Over,
}

fn stdio_of(sink: Sink) -> std::io::Result<(Stdio, Option<Capture>)> {
    Ok(match sink {
        Sink::Null => (Stdio::null(), None),
        Sink::File(f) => (Stdio::from(f), None),
        Sink::Capture { limit, over } => (Stdio::piped(), Some(Capture { limit, over })),
    })
}

#[cfg(unix)]
/// How long to wait for the output pipes to close after the child was reaped.
const PIPE_GRACE: Duration = Duration::from_millis(250);

#[cfg(unix)]
/// One captured output stream, read without blocking by the calling thread.
struct Stream {
    /// `None` once closed (end of file, or dropped past a `Kill` limit).
    fd: Option<OwnedFd>,
    buf: Vec<u8>,
    limit: usize,
    mode: Over,
    over: bool,
}

#[cfg(unix)]
impl Stream {
    fn new(pipe: Option<impl Into<OwnedFd>>, cap: Option<Capture>) -> Stream {
        let (fd, limit, mode) = match (pipe, cap) {
            (Some(p), Some(c)) => {
                let fd: OwnedFd = p.into();
                // Non-blocking: one thread serves both pipes and the deadline.
                let fd = rustix::io::ioctl_fionbio(&fd, true).ok().map(|()| fd);
                (fd, usize::try_from(c.limit).unwrap_or(usize::MAX), c.over)
            }
            _ => (None, 0, Over::Discard),
        };
        Stream {
            fd,
            buf: Vec::new(),
            limit,
            mode,
            over: false,
        }
    }

    /// Read all that is available now. True when a `Kill` limit was passed.
    fn pump(&mut self, chunk: &mut [u8]) -> bool {
        while let Some(fd) = &self.fd {
            match rustix::io::read(fd, &mut *chunk) {
                Ok(0) => self.fd = None,
                Ok(n) => {
                    if self.over {
                        continue; // Over::Discard: drain
                    }
                    let room = self.limit.saturating_sub(self.buf.len());
                    self.buf.extend_from_slice(&chunk[..n.min(room)]);
                    if n > room {
                        self.over = true;
                        if self.mode == Over::Kill {
                            self.fd = None;
                            return true;
                        }
                    }
                }
                Err(rustix::io::Errno::INTR) => {}
                Err(rustix::io::Errno::AGAIN) => return false,
                Err(_) => self.fd = None,
            }
        }
        false
    }
}

#[cfg(unix)]
/// A descriptor that becomes readable when the child has exited, without
/// reaping it: a pidfd (Linux 5.3+), else a pipe a waiter thread closes after
/// `waitid(WEXITED | WNOWAIT)`.
fn exit_fd(pid: u32) -> std::io::Result<OwnedFd> {
    #[cfg(target_os = "linux")]
    if let Some(p) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
        && let Ok(fd) = rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty())
    {
        return Ok(fd);
    }
    let (r, w) = std::io::pipe()?;
    std::thread::spawn(move || {
        let _ = wait_no_reap(pid);
        drop(w);
    });
    Ok(r.into())
}

#[cfg(unix)]
/// Poll the output pipes and the exit descriptor until the child has exited
/// (not reaped), killing its tree at the deadline or past a `Kill` limit.
/// Returns (timed out, killed for output).
fn watch(
    child: &Child,
    deadline: Option<Instant>,
    group: &Group,
    out: &mut Stream,
    err: &mut Stream,
) -> std::io::Result<(bool, bool)> {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let exited = exit_fd(child.id())?;
    let (mut timed_out, mut output_kill) = (false, false);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let wait = match deadline {
            Some(d) if !timed_out => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    group.kill();
                    timed_out = true;
                    continue;
                }
                Timespec::try_from(left).ok()
            }
            _ => None,
        };
        let (ready_out, ready_err, ready_exit) = {
            let read = PollFlags::IN | PollFlags::HUP | PollFlags::ERR;
            let mut fds = vec![PollFd::new(&exited, PollFlags::IN)];
            let o = out.fd.as_ref().map(|fd| {
                fds.push(PollFd::new(fd, PollFlags::IN));
                fds.len() - 1
            });
            let e = err.fd.as_ref().map(|fd| {
                fds.push(PollFd::new(fd, PollFlags::IN));
                fds.len() - 1
            });
            match poll(&mut fds, wait.as_ref()) {
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
            let hit = |i: Option<usize>| i.is_some_and(|i| fds[i].revents().intersects(read));
            (hit(o), hit(e), hit(Some(0)))
        };
        if ready_out && out.pump(&mut chunk) || ready_err && err.pump(&mut chunk) {
            group.kill();
            output_kill = true;
        }
        if ready_exit {
            return Ok((timed_out, output_kill));
        }
    }
}

#[cfg(unix)]
/// After the child was reaped: read what the pipes still hold, until they
/// close or [`PIPE_GRACE`] passes (a descendant that escaped every kill —
/// possible only without the orphan sweep — may hold them open).
fn drain(out: &mut Stream, err: &mut Stream) {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let until = Instant::now() + PIPE_GRACE;
    let mut chunk = vec![0u8; 64 * 1024];
    while out.fd.is_some() || err.fd.is_some() {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        {
            let mut fds: Vec<PollFd<'_>> = [&out.fd, &err.fd]
                .into_iter()
                .flatten()
                .map(|fd| PollFd::new(fd, PollFlags::IN))
                .collect();
            match poll(&mut fds, Timespec::try_from(left).ok().as_ref()) {
                Ok(0) => return,
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(_) => return,
            }
        }
        // Past a limit here the tree is gone already; just stop reading.
        out.pump(&mut chunk);
        err.pump(&mut chunk);
    }
}

/// Block until `pid` has exited, leaving it a zombie (WNOWAIT).
#[cfg(unix)]
fn wait_no_reap(pid: u32) -> std::io::Result<()> {
    use rustix::process::{Pid, WaitId, WaitIdOptions, waitid};
    let Some(p) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
        return Err(std::io::Error::other("bad pid"));
    };
    loop {
        match waitid(
            WaitId::Pid(p),
            WaitIdOptions::EXITED | WaitIdOptions::NOWAIT,
        ) {
            Ok(_) => return Ok(()),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Make this process a child subreaper (Linux), so orphans of any child come
/// back to it and the runner can sweep them. Call once, early, from a program
/// that starts **every** child through [`Cmd`]. True when it took effect.
pub fn adopt_orphans() -> bool {
    tracker::adopt()
}

/// Whether [`adopt_orphans`] is in effect.
pub fn adopting_orphans() -> bool {
    tracker::adopting()
}

mod tracker {
    //! Which runner children are running, and the orphan sweep.
    use super::*;

    static ADOPT: AtomicBool = AtomicBool::new(false);
    static STATE: Mutex<State> = Mutex::new(State {
        running: 0,
        spawning: 0,
    });

    struct State {
        running: usize,
        spawning: usize,
    }

    fn state() -> std::sync::MutexGuard<'static, State> {
        STATE.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[cfg(target_os = "linux")]
    pub fn adopt() -> bool {
        if ADOPT.load(Ordering::SeqCst) {
            return true;
        }
        let ok = rustix::process::set_child_subreaper(Some(rustix::process::getpid())).is_ok();
        if ok {
            ADOPT.store(true, Ordering::SeqCst);
        }
        ok
    }

    #[cfg(not(target_os = "linux"))]
    pub fn adopt() -> bool {
        false
    }

    pub fn adopting() -> bool {
        ADOPT.load(Ordering::SeqCst)
    }

    /// Held while a child is being started, so no sweep runs meanwhile.
    pub struct Spawning;

    impl Spawning {
        pub fn begin() -> Spawning {
            state().spawning += 1;
            Spawning
        }
    }

    impl Drop for Spawning {
        fn drop(&mut self) {
            let mut s = state();
            s.spawning = s.spawning.saturating_sub(1);
        }
    }

    pub fn track(_pid: u32) {
        state().running += 1;
    }

    /// The child `pid` was reaped: when it was the last one running, sweep.
    /// True when the sweep gave up with orphans still running.
    pub fn untrack(_pid: u32) -> bool {
        let mut s = state();
        s.running = s.running.saturating_sub(1);
        if s.running == 0 && s.spawning == 0 && adopting() {
            // Under the lock: no child can be started while the sweep runs.
            return !sweep();
        }
        false
    }

    /// SIGKILL and reap every child of this process until none is left.
    /// False when it gave up with some still running.
    #[cfg(target_os = "linux")]
    fn sweep() -> bool {
        use rustix::process::{Pid, Signal, WaitOptions, kill_process, waitpid};
        // Bounded: a fork bomb cannot keep the runner here for ever.
        for _ in 0..1000 {
            let kids = children();
            if kids.is_empty() {
                return true;
            }
            for pid in kids {
                let Some(p) = Pid::from_raw(pid) else {
                    continue;
                };
                let _ = kill_process(p, Signal::KILL);
                // Reap exactly this pid (EINTR: try again).
                while let Err(rustix::io::Errno::INTR) = waitpid(Some(p), WaitOptions::empty()) {}
            }
        }
        children().is_empty()
    }

    #[cfg(not(target_os = "linux"))]
    fn sweep() -> bool {
        true
    }

    /// The children of this process's main thread. Orphans are re-parented to
    /// the subreaper's first live thread, the main thread; children other
    /// threads started are runner children, all reaped by the time of a
    /// sweep. One small file read: the sweep costs next to nothing per spawn.
    #[cfg(target_os = "linux")]
    fn children() -> Vec<i32> {
        let me = std::process::id();
        std::fs::read_to_string(format!("/proc/self/task/{me}/children"))
            .map(|text| {
                text.split_whitespace()
                    .filter_map(|p| p.parse::<i32>().ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_are_recognised_in_any_case() {
        for name in [
            "GPT_BRIDGE_HMAC_SECRET",
            "GPT_BRIDGE_HMAC_SECRET_PREV",
            "GITHUB_TOKEN",
            "my_token_x",
            "DB_PASSWORD",
            "CREDENTIALS_DIRECTORY",
        ] {
            assert!(is_secret(OsStr::new(name)), "{name}");
        }
        for name in ["PATH", "HOME", "LANG", "GIT_CONFIG_NOSYSTEM", "TZ"] {
            assert!(!is_secret(OsStr::new(name)), "{name}");
        }
    }

    #[test]
    fn a_listed_secret_is_dropped_by_the_builder() {
        let c = Cmd::new("true")
            .env("GPT_BRIDGE_HMAC_SECRET", "x")
            .env("PATH", "/bin");
        assert_eq!(
            c.env,
            vec![(OsString::from("PATH"), OsString::from("/bin"))]
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_kill_warden_made_wins_over_the_status_it_produced() {
        use std::os::unix::process::ExitStatusExt;
        let exited = |code: i32| std::process::ExitStatus::from_raw(code << 8);
        let killed = std::process::ExitStatus::from_raw(9);
        assert_eq!(end_of(true, true, &killed), End::TimedOut);
        assert_eq!(end_of(true, false, &exited(0)), End::TimedOut);
        assert_eq!(end_of(false, true, &killed), End::OutputLimit);
        assert_eq!(end_of(false, false, &exited(3)), End::Exited(3));
        assert_eq!(end_of(false, false, &killed), End::Signalled(9));
    }
}
