//! Parsers of git's machine formats and the values they produce. Every
//! format read here is NUL-separated where git offers it (`status
//! --porcelain=v2 -z`, `for-each-ref` with `%00`, `merge-tree --write-tree
//! -z`, `config -z`, `ls-tree -z`), so any byte in a path (space, newline,
//! quote) survives; non-UTF-8 bytes are replaced, never dropped. Bad input is
//! a typed error ([`super::ErrorKind::Unexpected`]), never a guess or a panic.

use super::{Error, ErrorKind, Result};
use std::collections::BTreeMap;

fn unexpected(format: &str, what: &str) -> Error {
    Error::new(
        ErrorKind::Unexpected,
        format!("git {format}"),
        format!("unexpected output: {what}"),
    )
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// NUL-separated records, empty ones skipped, as text.
pub fn nul_list(out: &[u8]) -> Vec<String> {
    out.split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(lossy)
        .collect()
}

// ---------------------------------------------------------------- status

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

/// The parsed `status --porcelain=v2 -z --branch --show-stash`.
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

/// Parse `status --porcelain=v2 -z` (with or without `--branch` and
/// `--show-stash` headers).
pub fn parse_status(out: &[u8]) -> Result<Porcelain> {
    let bad = |what: &str| unexpected("status --porcelain=v2", what);
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

// ------------------------------------------------------------ merge-tree

/// One conflicted stage from `merge-tree --write-tree`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictStage {
    pub mode: String,
    pub oid: String,
    /// 1 base, 2 ours, 3 theirs.
    pub stage: u8,
    pub path: String,
}

/// The result of a merge computed without a worktree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeTree {
    /// The merged tree; conflicted files hold conflict markers.
    pub tree: String,
    pub clean: bool,
    pub stages: Vec<ConflictStage>,
}

impl MergeTree {
    /// Conflicted paths, sorted and unique.
    pub fn conflicted_paths(&self) -> Vec<String> {
        let mut p: Vec<String> = self.stages.iter().map(|s| s.path.clone()).collect();
        p.sort();
        p.dedup();
        p
    }
}

/// `merge-tree --write-tree -z --no-messages` output: the tree id, then (when
/// not clean) `<mode> <oid> <stage>\t<path>` records.
pub fn parse_merge_tree(out: &[u8], clean: bool) -> Result<MergeTree> {
    let bad = |what: &str| unexpected("merge-tree", what);
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

// ---------------------------------------------------------- for-each-ref

/// One ref from `for-each-ref`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefInfo {
    /// Full name, e.g. `refs/heads/main`.
    pub name: String,
    pub oid: String,
    /// Full name of the configured upstream, when there is one.
    pub upstream: Option<String>,
    /// The upstream is configured but its ref does not exist (`[gone]`).
    pub upstream_gone: bool,
    /// The remote of the upstream (`origin`), when there is one.
    pub upstream_remote: Option<String>,
    /// HEAD points at this ref (`%(HEAD)`).
    pub is_head: bool,
    /// (ahead, behind) against the upstream, as git counted it for
    /// `%(upstream:track)`; None without a live upstream.
    pub track: Option<(u64, u64)>,
}

/// The `--format` that [`parse_refs`] reads.
pub const REFS_FORMAT: &str = "--format=%(refname)%00%(objectname)%00%(upstream)%00%(upstream:track)%00%(upstream:remotename)%00%(HEAD)";

/// Parse `%(upstream:track)`: "", "[ahead N]", "[behind M]",
/// "[ahead N, behind M]" (or "[gone]", which is None).
pub fn parse_track(s: &str) -> Option<(u64, u64)> {
    let inner = s.trim();
    if inner.is_empty() {
        return Some((0, 0));
    }
    let inner = inner.strip_prefix('[')?.strip_suffix(']')?;
    let (mut ahead, mut behind) = (0, 0);
    for part in inner.split(", ") {
        match part.split_once(' ') {
            Some(("ahead", n)) => ahead = n.parse().ok()?,
            Some(("behind", n)) => behind = n.parse().ok()?,
            _ => return None,
        }
    }
    Some((ahead, behind))
}

/// Parse `for-each-ref` output in [`REFS_FORMAT`], sorted by name.
pub fn parse_refs(out: &[u8]) -> Result<Vec<RefInfo>> {
    let mut v = Vec::new();
    for line in lossy(out).lines() {
        let f: Vec<&str> = line.split('\0').collect();
        if f.len() < 6 {
            return Err(unexpected("for-each-ref", &format!("{line:?}")));
        }
        let upstream = (!f[2].is_empty()).then(|| f[2].to_string());
        v.push(RefInfo {
            name: f[0].to_string(),
            oid: f[1].to_string(),
            upstream_gone: upstream.is_some() && f[3] == "[gone]",
            upstream,
            upstream_remote: (!f[4].is_empty()).then(|| f[4].to_string()),
            is_head: f[5] == "*",
            track: if f[2].is_empty() {
                None
            } else {
                parse_track(f[3])
            },
        });
    }
    v.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(v)
}

// ------------------------------------------------------- small formats

/// Parse `git version 2.47.3` (and vendor suffixes like `.windows.1`).
pub fn parse_version(s: &str) -> Option<(u32, u32, u32)> {
    let v = s.trim().strip_prefix("git version ")?;
    let mut it = v.split(|c: char| !c.is_ascii_digit());
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    let patch = it.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    Some((major, minor, patch))
}

/// A person as git names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub email: String,
}

/// `Name <email> 1700000000 +0000` (`git var GIT_AUTHOR_IDENT`).
pub fn parse_ident(line: &str) -> Option<Identity> {
    let (name, rest) = line.trim().split_once(" <")?;
    let (email, _) = rest.split_once('>')?;
    Some(Identity {
        name: name.trim().to_string(),
        email: email.to_string(),
    })
}

/// `ref: refs/heads/main<TAB>HEAD` from `git ls-remote --symref R HEAD`.
pub fn parse_symref_head(out: &str) -> Option<String> {
    out.lines().find_map(|l| {
        let (target, name) = l.strip_prefix("ref: ")?.split_once('\t')?;
        (name == "HEAD")
            .then(|| target.strip_prefix("refs/heads/").map(String::from))
            .flatten()
    })
}

/// Remotes and branch → remote, as configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteConfig {
    /// (name, url), sorted.
    pub remotes: Vec<(String, String)>,
    pub branch_remotes: BTreeMap<String, String>,
}

/// `config -z --get-regexp '^(remote\..+\.url|branch\..+\.remote)$'`: each
/// record is `key\nvalue`.
pub fn parse_remote_config(out: &[u8]) -> RemoteConfig {
    let mut c = RemoteConfig::default();
    for rec in out.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        let rec = String::from_utf8_lossy(rec);
        let Some((key, value)) = rec.split_once('\n') else {
            continue;
        };
        if let Some(name) = key
            .strip_prefix("remote.")
            .and_then(|k| k.strip_suffix(".url"))
        {
            c.remotes.push((name.to_string(), value.to_string()));
        } else if let Some(b) = key
            .strip_prefix("branch.")
            .and_then(|k| k.strip_suffix(".remote"))
        {
            c.branch_remotes.insert(b.to_string(), value.to_string());
        }
    }
    c.remotes.sort();
    c
}

/// One stash entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StashInfo {
    pub name: String,
    pub commit: String,
    pub message: String,
}

/// `log --walk-reflogs --format=%gd%x00%H%x00%gs refs/stash`.
pub fn parse_stashes(out: &[u8]) -> Vec<StashInfo> {
    lossy(out)
        .lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, '\0');
            Some(StashInfo {
                name: f.next()?.replace("refs/stash", "stash"),
                commit: f.next()?.to_string(),
                message: f.next().unwrap_or("").to_string(),
            })
        })
        .collect()
}

/// A commit id and its subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    pub id: String,
    pub subject: String,
}

/// `log --format=%H%x00%s`.
pub fn parse_commits(out: &[u8]) -> Vec<CommitInfo> {
    lossy(out)
        .lines()
        .filter_map(|l| {
            let (id, subject) = l.split_once('\0')?;
            Some(CommitInfo {
                id: id.to_string(),
                subject: subject.to_string(),
            })
        })
        .collect()
}

/// `log --left-right --format=%m%x00%H%x00%s A...B`: (only in A, only in B).
pub fn parse_left_right(out: &[u8]) -> (Vec<CommitInfo>, Vec<CommitInfo>) {
    let (mut left, mut right) = (Vec::new(), Vec::new());
    for l in lossy(out).lines() {
        let mut f = l.splitn(3, '\0');
        let (Some(side), Some(id), subject) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let c = CommitInfo {
            id: id.to_string(),
            subject: subject.unwrap_or("").to_string(),
        };
        match side {
            "<" => left.push(c),
            ">" => right.push(c),
            _ => {}
        }
    }
    (left, right)
}

/// One working tree of a repository (`worktree list --porcelain -z`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Worktree {
    pub path: String,
    /// The commit checked out; None in a repository without commits.
    pub head: Option<String>,
    /// The branch checked out (full ref name); None when detached or bare.
    pub branch: Option<String>,
    pub bare: bool,
    pub detached: bool,
}

/// `worktree list --porcelain -z`: attribute records, an empty record ends
/// each worktree.
pub fn parse_worktrees(out: &[u8]) -> Vec<Worktree> {
    let mut v = Vec::new();
    let mut cur: Option<Worktree> = None;
    for rec in out.split(|b| *b == 0) {
        if rec.is_empty() {
            v.extend(cur.take());
            continue;
        }
        let line = lossy(rec);
        let (key, value) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        if key == "worktree" {
            v.extend(cur.take());
            cur = Some(Worktree {
                path: value.to_string(),
                ..Worktree::default()
            });
            continue;
        }
        let Some(w) = cur.as_mut() else { continue };
        match key {
            "HEAD" => w.head = Some(value.to_string()),
            "branch" => w.branch = Some(value.to_string()),
            "bare" => w.bare = true,
            "detached" => w.detached = true,
            _ => {}
        }
    }
    v.extend(cur);
    v
}

/// One entry of `ls-tree -z` (`<mode> <type> <oid>\t<path>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEntry {
    /// The mode as git prints it, octal (`100644`, `100755`, `120000`, `040000`, `160000`).
    pub mode: u32,
    /// `blob`, `tree` or `commit`.
    pub kind: String,
    pub oid: String,
    pub path: String,
}

/// Parse `ls-tree -z` output.
pub fn parse_ls_tree(out: &[u8]) -> Result<Vec<TreeEntry>> {
    let mut v = Vec::new();
    for rec in out.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        let bad = || unexpected("ls-tree", &lossy(rec));
        let tab = rec.iter().position(|b| *b == b'\t').ok_or_else(bad)?;
        let head = lossy(&rec[..tab]);
        let mut f = head.split(' ');
        let (Some(mode), Some(kind), Some(oid)) = (f.next(), f.next(), f.next()) else {
            return Err(bad());
        };
        v.push(TreeEntry {
            mode: u32::from_str_radix(mode, 8).map_err(|_| bad())?,
            kind: kind.to_string(),
            oid: oid.to_string(),
            path: lossy(&rec[tab + 1..]),
        });
    }
    Ok(v)
}

/// What `cat-file --batch-check` says about one object name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectInfo {
    /// It exists: its id, type (`blob`, `tree`, `commit`, `tag`) and size.
    Found {
        oid: String,
        kind: String,
        size: u64,
    },
    /// `<name> missing` (or ambiguous).
    Missing,
}

/// `cat-file --batch-check` default format, one answer line per input line.
pub fn parse_batch_check(out: &[u8], asked: usize) -> Result<Vec<ObjectInfo>> {
    let text = lossy(out);
    let mut v = Vec::with_capacity(asked);
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        match f.as_slice() {
            [_, "missing"] | [_, "ambiguous"] => v.push(ObjectInfo::Missing),
            [oid, kind, size] => v.push(ObjectInfo::Found {
                oid: oid.to_string(),
                kind: kind.to_string(),
                size: size
                    .parse()
                    .map_err(|_| unexpected("cat-file --batch-check", line))?,
            }),
            _ => return Err(unexpected("cat-file --batch-check", line)),
        }
    }
    if v.len() != asked {
        return Err(unexpected(
            "cat-file --batch-check",
            &format!("{} answers for {asked} names", v.len()),
        ));
    }
    Ok(v)
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
        let p = parse_status(&raw).expect("parse");
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
        let p = parse_status(raw).expect("parse");
        assert_eq!(p.oid, None);
        assert_eq!(p.head, None);
    }

    #[test]
    fn garbage_is_an_error_not_a_guess() {
        assert!(parse_status(b"X what\0").is_err());
        assert!(parse_status(b"1 M.\0").is_err());
        let e = parse_status(b"X\0").expect_err("garbage");
        assert_eq!(e.kind, ErrorKind::Unexpected);
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

    #[test]
    fn upstream_track_is_parsed_exactly() {
        assert_eq!(parse_track(""), Some((0, 0)));
        assert_eq!(parse_track("[ahead 3]"), Some((3, 0)));
        assert_eq!(parse_track("[behind 12]"), Some((0, 12)));
        assert_eq!(parse_track("[ahead 1, behind 2]"), Some((1, 2)));
        assert_eq!(parse_track("[gone]"), None);
        assert_eq!(parse_track("[ahead x]"), None);
    }

    #[test]
    fn refs_with_and_without_upstream() {
        let raw = b"refs/heads/b\0bbbb\0refs/remotes/origin/b\0[ahead 1, behind 2]\0origin\0*\nrefs/heads/a\0aaaa\0\0\0\0 \n";
        let r = parse_refs(raw).expect("parse");
        assert_eq!(r[0].name, "refs/heads/a");
        assert_eq!(r[0].track, None);
        assert!(!r[0].is_head);
        assert_eq!(r[1].track, Some((1, 2)));
        assert_eq!(r[1].upstream_remote.as_deref(), Some("origin"));
        assert!(r[1].is_head);
        assert!(parse_refs(b"refs/heads/x\0only\n").is_err());
    }

    #[test]
    fn versions_parse_including_vendor_suffixes() {
        assert_eq!(parse_version("git version 2.47.3\n"), Some((2, 47, 3)));
        assert_eq!(
            parse_version("git version 2.39.1.windows.1"),
            Some((2, 39, 1))
        );
        assert_eq!(parse_version("git version 2.38"), Some((2, 38, 0)));
        assert_eq!(parse_version("hg 6.1"), None);
    }

    #[test]
    fn worktrees_and_ls_tree_and_batch_check() {
        let raw = b"worktree /r\0HEAD aaaa\0branch refs/heads/main\0\0worktree /w\0HEAD bbbb\0detached\0\0";
        let w = parse_worktrees(raw);
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].branch.as_deref(), Some("refs/heads/main"));
        assert!(w[1].detached && w[1].branch.is_none());
        let t = parse_ls_tree(b"100755 blob abcd\ta b\0").expect("ls-tree");
        assert_eq!(t[0].mode, 0o100755);
        assert_eq!(t[0].path, "a b");
        assert!(parse_ls_tree(b"nonsense\0").is_err());
        let b = parse_batch_check(b"abcd blob 12\nx missing\n", 2).expect("batch");
        assert_eq!(b[1], ObjectInfo::Missing);
        assert!(parse_batch_check(b"abcd blob 12\n", 2).is_err());
    }
}
