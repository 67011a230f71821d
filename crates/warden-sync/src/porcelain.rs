//! Parsers for git's machine formats: `status --porcelain=v2 -z --branch
//! --show-stash` and `merge-tree --write-tree -z`. Both are NUL-separated, so
//! any byte in a path (space, newline, quote) survives; non-UTF-8 bytes are
//! replaced, never dropped.

use crate::git::{ConflictStage, MergeTree};
use warden_core::{Error, Result};

/// One entry of `status --porcelain=v2`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// `1` (ordinary) or `2` (renamed/copied, with the original path).
    Changed {
        index: char,
        worktree: char,
        path: String,
        orig: Option<String>,
    },
    /// `u`: an unmerged path.
    Unmerged { path: String },
    /// `?`
    Untracked { path: String },
    /// `!` (only with --ignored; kept for completeness).
    Ignored { path: String },
}

impl Entry {
    /// The path the entry is about (for a rename, the new one).
    pub fn path(&self) -> &str {
        match self {
            Entry::Changed { path, .. }
            | Entry::Unmerged { path }
            | Entry::Untracked { path }
            | Entry::Ignored { path } => path,
        }
    }
}

/// The parsed status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Porcelain {
    /// `None` before the first commit.
    pub oid: Option<String>,
    /// `None` when HEAD is detached.
    pub head: Option<String>,
    pub upstream: Option<String>,
    /// `(ahead, behind)`; absent when there is no upstream or it is gone.
    pub ab: Option<(u64, u64)>,
    pub stash: u64,
    pub entries: Vec<Entry>,
}

fn bad(what: &str) -> Error {
    Error::Internal(format!(
        "unexpected `git status --porcelain=v2` output: {what}"
    ))
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Split `line` into `n` space-separated fields, the last taking the rest
/// (the path, which may contain spaces).
fn fields(line: &[u8], n: usize) -> Option<Vec<&[u8]>> {
    let mut out = Vec::with_capacity(n);
    let mut rest = line;
    for _ in 0..n - 1 {
        let sp = rest.iter().position(|b| *b == b' ')?;
        out.push(&rest[..sp]);
        rest = &rest[sp + 1..];
    }
    out.push(rest);
    Some(out)
}

fn xy(f: &[u8]) -> Option<(char, char)> {
    match f {
        [x, y] => Some((*x as char, *y as char)),
        _ => None,
    }
}

pub fn parse(out: &[u8]) -> Result<Porcelain> {
    let mut p = Porcelain::default();
    let mut records = out.split(|b| *b == 0).filter(|r| !r.is_empty());
    while let Some(rec) = records.next() {
        match rec[0] {
            b'#' => {
                let line = lossy(rec);
                let mut it = line.splitn(3, ' ');
                let (_, key, value) = (it.next(), it.next(), it.next().unwrap_or(""));
                match key {
                    Some("branch.oid") if value != "(initial)" => p.oid = Some(value.into()),
                    Some("branch.head") if value != "(detached)" => p.head = Some(value.into()),
                    Some("branch.upstream") => p.upstream = Some(value.into()),
                    Some("branch.ab") => {
                        let mut n = value.split(' ');
                        let a = n.next().and_then(|s| s.strip_prefix('+'));
                        let b = n.next().and_then(|s| s.strip_prefix('-'));
                        match (a.map(str::parse), b.map(str::parse)) {
                            (Some(Ok(a)), Some(Ok(b))) => p.ab = Some((a, b)),
                            _ => return Err(bad(&line)),
                        }
                    }
                    Some("stash") => p.stash = value.parse().map_err(|_| bad(&line))?,
                    _ => {}
                }
            }
            b'1' => {
                let f = fields(rec, 9).ok_or_else(|| bad(&lossy(rec)))?;
                let (index, worktree) = xy(f[1]).ok_or_else(|| bad(&lossy(rec)))?;
                p.entries.push(Entry::Changed {
                    index,
                    worktree,
                    path: lossy(f[8]),
                    orig: None,
                });
            }
            b'2' => {
                let f = fields(rec, 10).ok_or_else(|| bad(&lossy(rec)))?;
                let (index, worktree) = xy(f[1]).ok_or_else(|| bad(&lossy(rec)))?;
                let orig = records.next().ok_or_else(|| bad("rename without origin"))?;
                p.entries.push(Entry::Changed {
                    index,
                    worktree,
                    path: lossy(f[9]),
                    orig: Some(lossy(orig)),
                });
            }
            b'u' => {
                let f = fields(rec, 11).ok_or_else(|| bad(&lossy(rec)))?;
                p.entries.push(Entry::Unmerged { path: lossy(f[10]) });
            }
            b'?' => p.entries.push(Entry::Untracked {
                path: lossy(rec.get(2..).ok_or_else(|| bad("short ? line"))?),
            }),
            b'!' => p.entries.push(Entry::Ignored {
                path: lossy(rec.get(2..).ok_or_else(|| bad("short ! line"))?),
            }),
            _ => return Err(bad(&lossy(rec))),
        }
    }
    Ok(p)
}

/// `merge-tree --write-tree -z --no-messages` output: the tree id, then (when
/// not clean) `<mode> <oid> <stage>\t<path>` records.
pub fn parse_merge_tree(out: &[u8], clean: bool) -> Result<MergeTree> {
    let bad = |what: &str| Error::Internal(format!("unexpected `git merge-tree` output: {what}"));
    let mut recs = out.split(|b| *b == 0);
    let tree = lossy(recs.next().ok_or_else(|| bad("empty"))?)
        .trim()
        .to_string();
    if tree.is_empty() {
        return Err(bad("no tree id"));
    }
    let mut stages = Vec::new();
    for rec in recs {
        if rec.is_empty() {
            // An empty record ends the conflicted-file section.
            break;
        }
        let tab = rec
            .iter()
            .position(|b| *b == b'\t')
            .ok_or_else(|| bad(&lossy(rec)))?;
        let head = lossy(&rec[..tab]);
        let mut f = head.split(' ');
        let (Some(mode), Some(oid), Some(stage)) = (f.next(), f.next(), f.next()) else {
            return Err(bad(&head));
        };
        stages.push(ConflictStage {
            mode: mode.into(),
            oid: oid.into(),
            stage: stage.parse().map_err(|_| bad(&head))?,
            path: lossy(&rec[tab + 1..]),
        });
    }
    Ok(MergeTree {
        tree,
        clean,
        stages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_with_spaces_renames_unmerged_and_stash() {
        let mut raw = Vec::new();
        for r in [
            "# branch.oid 1111111111111111111111111111111111111111",
            "# branch.head main",
            "# branch.upstream origin/main",
            "# branch.ab +2 -3",
            "# stash 2",
            "1 M. N... 100644 100644 100644 aaaa bbbb dir/a file.txt",
            "2 R. N... 100644 100644 100644 aaaa aaaa R100 new name.txt",
            "old name.txt",
            "u UU N... 100644 100644 100644 100644 a b c conflict.txt",
            "? new dir/untracked file",
        ] {
            raw.extend_from_slice(r.as_bytes());
            raw.push(0);
        }
        let p = parse(&raw).expect("parse");
        assert_eq!(p.head.as_deref(), Some("main"));
        assert_eq!(p.upstream.as_deref(), Some("origin/main"));
        assert_eq!(p.ab, Some((2, 3)));
        assert_eq!(p.stash, 2);
        assert_eq!(
            p.entries,
            vec![
                Entry::Changed {
                    index: 'M',
                    worktree: '.',
                    path: "dir/a file.txt".into(),
                    orig: None
                },
                Entry::Changed {
                    index: 'R',
                    worktree: '.',
                    path: "new name.txt".into(),
                    orig: Some("old name.txt".into())
                },
                Entry::Unmerged {
                    path: "conflict.txt".into()
                },
                Entry::Untracked {
                    path: "new dir/untracked file".into()
                },
            ]
        );
    }

    #[test]
    fn detached_and_initial_heads_are_none() {
        let raw = b"# branch.oid (initial)\0# branch.head (detached)\0";
        let p = parse(raw).expect("parse");
        assert_eq!(p.oid, None);
        assert_eq!(p.head, None);
    }

    #[test]
    fn garbage_is_an_error_not_a_guess() {
        assert!(parse(b"X what\0").is_err());
        assert!(parse(b"1 M.\0").is_err());
    }

    #[test]
    fn merge_tree_conflicts() {
        let raw =
            b"abcd\x00100644 1111 1\ta.txt\x00100644 2222 2\ta.txt\x00100644 3333 3\ta.txt\0\0";
        let m = parse_merge_tree(raw, false).expect("parse");
        assert_eq!(m.tree, "abcd");
        assert_eq!(m.stages.len(), 3);
        assert_eq!(m.conflicted_paths(), vec!["a.txt".to_string()]);
        let clean = parse_merge_tree(b"abcd\0", true).expect("parse");
        assert!(clean.clean && clean.stages.is_empty());
    }
}
