//! The human text of the core's reports: `warden status`, a plan (`apply`,
//! `undo`, `--dry-run`), the result of `apply` and `undo`, `ledger show`,
//! `verify`, `log`, `reindex` and `accept`, and the `runs` and `history`
//! tables. Each is a [`Report`](crate::report::Report): the CLI
//! builds it and hands it to its one `emit`; the JSON is the same data.
//!
//! The core does no terminal I/O: these return text, styled only through the
//! [`Style`](crate::report::Style) the CLI passes.

pub mod history;
pub mod ledger;
pub mod plan;
pub mod run;
pub mod runs;
pub mod status;

use crate::report::Style;
use std::collections::HashMap;

/// The shortest prefix of each id that no other id in `ids` shares, at
/// least `min` characters long (jj's `shortest(min)`): `(unique, shown)`
/// lengths per id, in the order given. Any unique prefix is accepted back
/// on the command line.
pub fn unique_prefixes(ids: &[&str], min: usize) -> Vec<(usize, usize)> {
    let mut sorted: Vec<&str> = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let common = |a: &str, b: &str| a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    ids.iter()
        .map(|id| {
            let i = sorted.partition_point(|s| s < id);
            let before = i.checked_sub(1).map_or(0, |j| common(sorted[j], id));
            let after = sorted.get(i + 1).map_or(0, |s| common(s, id));
            let unique = (before.max(after) + 1).min(id.len());
            (unique, unique.max(min).min(id.len()))
        })
        .collect()
}

/// Shortest run ids shown in tables (ULIDs of runs made in the same second
/// share their first 8 characters).
pub const RUN_ID_MIN: usize = 8;

/// Run ids as a table shows them: the shortest unique prefix among `all`
/// (at least [`RUN_ID_MIN`] characters), or the whole id when the style asks
/// for it, each drawn by [`Style::run_id`]. Keyed by the whole id.
pub fn short_ids(all: &[&str], style: &dyn Style) -> HashMap<String, String> {
    let lens = unique_prefixes(all, RUN_ID_MIN);
    all.iter()
        .zip(lens)
        .map(|(id, (unique, shown))| {
            let shown = if style.whole_run_ids() {
                id.len()
            } else {
                shown
            };
            let (u, rest) = (id.get(..unique), id.get(unique..shown));
            let text = match (u, rest) {
                (Some(u), Some(rest)) => style.run_id(u, rest),
                _ => id.to_string(),
            };
            (id.to_string(), text)
        })
        .collect()
}

/// A ledger time (RFC 3339, nanoseconds) as a table shows it:
/// `2026-11-29 08:35:21` (UTC); anything else as it is.
pub fn time(t: &str) -> String {
    match t.parse::<jiff::Timestamp>() {
        Ok(ts) => ts.strftime("%Y-%m-%d %H:%M:%S").to_string(),
        Err(_) => t.to_string(),
    }
}

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

    #[test]
    fn unique_prefixes_are_as_short_as_the_neighbours_allow() {
        let ids = ["01KB0AAA", "01KB0AAB", "01KB1ZZZ", "02"];
        let got = unique_prefixes(&ids, 1);
        assert_eq!(got, vec![(8, 8), (8, 8), (5, 5), (2, 2)]);
        // The minimum pads what is shown, never what is unique.
        let got = unique_prefixes(&ids, 4);
        assert_eq!(got[2], (5, 5));
        assert_eq!(got[3], (2, 2));
        assert_eq!(unique_prefixes(&["01KB1ZZZ"], 3), vec![(1, 3)]);
    }

    #[test]
    fn short_run_ids_follow_the_style() {
        struct Whole;
        impl Style for Whole {
            fn run_id(&self, unique: &str, rest: &str) -> String {
                format!("[{unique}]{rest}")
            }
            fn whole_run_ids(&self) -> bool {
                true
            }
        }
        let ids = ["01KB1AAAAAAA", "01KB1ZZZZZZZ"];
        let plain = short_ids(&ids, &crate::report::Plain);
        assert_eq!(plain["01KB1AAAAAAA"], "01KB1AAA");
        let whole = short_ids(&ids, &Whole);
        assert_eq!(whole["01KB1ZZZZZZZ"], "[01KB1Z]ZZZZZZ");
    }
}
