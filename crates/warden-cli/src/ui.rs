//! How human output looks on this terminal: colour (`--color`, `NO_COLOR`),
//! the pager (`PAGER`, `--no-pager`), `-q`/`-v`, progress, and run ids shown
//! as their shortest unique prefix. Decided once in `main` from the global
//! flags and the environment; JSON output never goes through any of it.

use crate::output::Format;
use anstyle::{AnsiColor, Style};
use std::io::Write;
use std::sync::OnceLock;
use std::time::Duration;

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

/// The choices for this process.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ui {
    /// Colour on stdout.
    pub color: bool,
    /// Long output may go through the pager.
    pub pager: bool,
    pub quiet: bool,
    pub verbose: u8,
}

static UI: OnceLock<Ui> = OnceLock::new();

/// The global flags that shape human output.
pub struct Flags {
    pub format: Format,
    pub color: ColorWhen,
    pub no_pager: bool,
    pub quiet: bool,
    pub verbose: u8,
}

/// Decide from the flags and the environment (once, in `main`).
pub fn init(cli: &Flags) {
    let human = cli.format == Format::Human;
    let tty = crate::env::stdout_is_tty();
    let color = human
        && match cli.color {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => tty && !crate::env::colour_unwanted(),
        };
    let _ = UI.set(Ui {
        color,
        pager: human && tty && !cli.no_pager,
        quiet: cli.quiet,
        verbose: cli.verbose,
    });
}

/// The choices (plain, no pager, when `init` was not called).
pub fn get() -> Ui {
    UI.get().copied().unwrap_or_default()
}

const HEADING: Style = Style::new().bold();
const ADDED: Style = AnsiColor::Green.on_default();
const REMOVED: Style = AnsiColor::Red.on_default();
const HUNK: Style = AnsiColor::Cyan.on_default();
const FILE: Style = Style::new().bold();
const UNIQUE: Style = AnsiColor::Magenta.on_default().bold();
const REST: Style = Style::new().dimmed();

fn paint(style: Style, text: &str, on: bool) -> String {
    if on && !text.is_empty() {
        format!("{}{text}{}", style.render(), style.render_reset())
    } else {
        text.to_string()
    }
}

/// A heading line (bold when colour is on).
pub fn heading(text: &str) -> String {
    paint(HEADING, text, get().color)
}

/// A unified diff with its lines coloured: additions green, removals red,
/// hunk headers cyan, file headers bold.
pub fn diff(text: &str) -> String {
    colour_diff(text, get().color)
}

fn colour_diff(text: &str, on: bool) -> String {
    if !on {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for line in text.split_inclusive('\n') {
        let (body, nl) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        let style = if body.starts_with("+++") || body.starts_with("---") {
            Some(FILE)
        } else if body.starts_with("@@") {
            Some(HUNK)
        } else if body.starts_with('+') {
            Some(ADDED)
        } else if body.starts_with('-') {
            Some(REMOVED)
        } else {
            None
        };
        match style {
            Some(s) => out.push_str(&paint(s, body, true)),
            None => out.push_str(body),
        }
        out.push_str(nl);
    }
    out
}

/// The style of this terminal for reports' human text: headings bold and
/// diffs coloured when colour is on ([`heading`], [`diff`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Term;

impl warden_core::report::Style for Term {
    fn heading(&self, text: &str) -> String {
        heading(text)
    }

    fn diff(&self, text: &str) -> String {
        diff(text)
    }

    fn run_id(&self, unique: &str, rest: &str) -> String {
        let on = get().color;
        paint(UNIQUE, unique, on) + &paint(REST, rest, on)
    }

    fn whole_run_ids(&self) -> bool {
        get().verbose > 0
    }
}

/// A report's human text in this terminal's style.
pub fn human<R: warden_core::Report>(report: &R) -> String {
    report.human_styled(&Term)
}

/// Print `text` on stdout: through the pager when stdout is a terminal, the
/// pager is on and the text is taller than the terminal; directly otherwise
/// (and when the pager cannot be started).
pub fn page(text: &str) {
    let ui = get();
    let tall = crate::env::terminal_rows().is_some_and(|rows| text.lines().count() >= rows);
    if ui.pager
        && tall
        && let Some(argv) = crate::env::pager()
        && run_pager(&argv, text)
    {
        return;
    }
    print!("{text}");
}

/// Hand `text` to the pager on our own terminal; false when it could not start.
fn run_pager(argv: &[String], text: &str) -> bool {
    use std::os::fd::AsFd;
    let Ok(out) = std::io::stdout().as_fd().try_clone_to_owned() else {
        return false;
    };
    let Ok(err) = std::io::stderr().as_fd().try_clone_to_owned() else {
        return false;
    };
    let _ = std::io::stdout().flush();
    warden_core::process::Cmd::new(&argv[0])
        .args(&argv[1..])
        .envs(crate::env::pager_env())
        .stdin_bytes(text.as_bytes().to_vec())
        .stdout(warden_core::process::Sink::File(std::fs::File::from(out)))
        .stderr(warden_core::process::Sink::File(std::fs::File::from(err)))
        .in_foreground()
        .run()
        .is_ok()
}

/// A note on stderr for a person (not an error or warning): left out with `-q`.
pub fn note(text: &str) {
    if !get().quiet {
        eprintln!("{text}");
    }
}

/// Progress on stderr while something long runs: a spinner (or a bar with
/// [`Progress::set`]) drawn only on a terminal, only after a short delay,
/// never with `-q`; cleared when dropped.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

/// How long something runs before its progress is drawn (jj waits too).
const PROGRESS_DELAY: Duration = Duration::from_millis(300);

impl Progress {
    pub fn start(message: impl Into<String>) -> Progress {
        Progress::new(message.into(), None)
    }

    /// A bar of `total` steps.
    pub fn steps(message: impl Into<String>, total: u64) -> Progress {
        Progress::new(message.into(), Some(total))
    }

    fn new(message: String, total: Option<u64>) -> Progress {
        if get().quiet || !crate::env::stderr_is_tty() {
            return Progress { bar: None };
        }
        let bar = match total {
            Some(n) => indicatif::ProgressBar::with_draw_target(
                Some(n),
                indicatif::ProgressDrawTarget::hidden(),
            )
            .with_style(
                indicatif::ProgressStyle::with_template("{msg} {bar:30} {pos}/{len}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            ),
            None => indicatif::ProgressBar::hidden().with_style(
                indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            ),
        };
        bar.set_message(message);
        let shown = bar.clone();
        // Drawn only once it has run for a while: quick commands stay quiet.
        std::thread::spawn(move || {
            std::thread::sleep(PROGRESS_DELAY);
            if !shown.is_finished() {
                shown.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                shown.enable_steady_tick(Duration::from_millis(120));
            }
        });
        Progress { bar: Some(bar) }
    }

    /// Steps done so far (bars).
    pub fn set(&self, done: u64) {
        if let Some(b) = &self.bar {
            b.set_position(done);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_pads_every_column_but_the_last() {
        let rows = vec![
            vec!["a".to_string(), "bbb".into(), "c".into()],
            vec!["aaaa".to_string(), "b".into(), "cc".into()],
        ];
        assert_eq!(
            warden_core::render::table(&rows),
            "a     bbb  c\naaaa  b    cc\n"
        );
    }

    #[test]
    fn width_skips_colour_escapes() {
        let s = paint(UNIQUE, "01KB", true) + "X";
        assert_eq!(warden_core::render::width(&s), 5);
    }

    #[test]
    fn diff_colour_marks_added_removed_and_hunks() {
        let d = "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n same\n";
        let c = colour_diff(d, true);
        assert!(c.contains("\u{1b}[32m+new\u{1b}[0m\n"), "{c:?}");
        assert!(c.contains("\u{1b}[31m-old\u{1b}[0m\n"), "{c:?}");
        assert!(c.ends_with(" same\n"), "{c:?}");
        assert_eq!(colour_diff(d, false), d);
    }
}
