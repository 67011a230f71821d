//! The human text of the core's reports: `warden status`, a plan (`apply`,
//! `undo`, `--dry-run`), the result of `apply` and `undo`, `ledger show` and
//! `ledger verify`. Each is a [`Report`](crate::report::Report): the CLI
//! builds it and hands it to its one `emit`; the JSON is the same data.
//!
//! The core does no terminal I/O: these return text, styled only through the
//! [`Style`](crate::report::Style) the CLI passes.

pub mod ledger;
pub mod plan;
pub mod run;
pub mod status;

/// The visible width of a string that may hold ANSI colour escapes.
pub fn width(s: &str) -> usize {
    let mut n = 0;
    let mut in_escape = false;
    for c in s.chars() {
        match (in_escape, c) {
            (false, '\u{1b}') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => n += 1,
        }
    }
    n
}

/// Rows of cells as an aligned table: every column but the last padded to
/// its widest cell, two spaces between columns, trailing spaces trimmed.
pub fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| width(s))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            line.push_str(cell);
            if c + 1 != r.len() {
                line.push_str(&" ".repeat(widths[c] - width(cell) + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_on_the_visible_width_and_trim_the_last_column() {
        let rows = vec![
            vec![
                "A".to_string(),
                "\u{1b}[1mbold\u{1b}[0m".to_string(),
                "x".to_string(),
            ],
            vec!["longer".to_string(), "b".to_string(), String::new()],
        ];
        assert_eq!(
            table(&rows),
            "A       \u{1b}[1mbold\u{1b}[0m  x\nlonger  b\n"
        );
        assert_eq!(width("\u{1b}[32m+x\u{1b}[0m"), 2);
    }
}
