//! Property tests of the git layer's parsers of git's machine formats
//! (porcelain v2, merge-tree, for-each-ref, ls-tree, …): any bytes give a
//! value or a typed error, never a panic; what git would write is read back
//! exactly.

use proptest::prelude::*;
use warden_core::git::parse::{self, Entry};

/// A path as git prints it with `-z`: any characters but NUL.
fn path() -> impl Strategy<Value = String> {
    "[^\u{0}]{1,24}"
}

fn entry() -> impl Strategy<Value = Entry> {
    let xy = prop::sample::select(vec!['.', 'M', 'A', 'D', 'R', 'C', 'T']);
    prop_oneof![
        (xy.clone(), xy.clone(), path()).prop_map(|(index, worktree, path)| Entry::Changed {
            index,
            worktree,
            path,
            orig: None,
        }),
        (xy.clone(), xy, path(), path()).prop_map(|(index, worktree, path, orig)| {
            Entry::Changed {
                index,
                worktree,
                path,
                orig: Some(orig),
            }
        }),
        path().prop_map(|path| Entry::Unmerged { path }),
        path().prop_map(|path| Entry::Untracked { path }),
    ]
}

/// The records git writes for `e` (`status --porcelain=v2 -z`).
fn render(e: &Entry) -> Vec<u8> {
    let oid = "0".repeat(40);
    let s = match e {
        Entry::Changed {
            index,
            worktree,
            path,
            orig: None,
        } => format!("1 {index}{worktree} N... 100644 100644 100644 {oid} {oid} {path}\0"),
        Entry::Changed {
            index,
            worktree,
            path,
            orig: Some(o),
        } => {
            format!("2 {index}{worktree} N... 100644 100644 100644 {oid} {oid} R100 {path}\0{o}\0")
        }
        Entry::Unmerged { path } => {
            format!("u UU N... 100644 100644 100644 100644 {oid} {oid} {oid} {path}\0")
        }
        Entry::Untracked { path } => format!("? {path}\0"),
        Entry::Ignored { path } => format!("! {path}\0"),
    };
    s.into_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn porcelain_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse::parse_status(&bytes);
        let _ = parse::parse_merge_tree(&bytes, false);
        let _ = parse::parse_merge_tree(&bytes, true);
        let _ = parse::parse_refs(&bytes);
        let _ = parse::parse_ls_tree(&bytes);
        let _ = parse::parse_batch_check(&bytes, 1);
        let _ = parse::parse_worktrees(&bytes);
        let _ = parse::parse_remote_config(&bytes);
        let text = String::from_utf8_lossy(&bytes);
        let _ = parse::parse_track(&text);
        let _ = parse::parse_version(&text);
        let _ = parse::parse_ident(&text);
        let _ = parse::parse_symref_head(&text);
    }

    #[test]
    fn porcelain_reads_back_what_git_writes(
        entries in prop::collection::vec(entry(), 0..8),
        ahead in 0u64..1000,
        behind in 0u64..1000,
        stash in 0u64..50,
    ) {
        let mut out = format!(
            "# branch.oid {}\0# branch.head main\0# branch.upstream origin/main\0# branch.ab +{ahead} -{behind}\0# stash {stash}\0",
            "a".repeat(40)
        )
        .into_bytes();
        for e in &entries {
            out.extend(render(e));
        }
        let p = parse::parse_status(&out).expect("parses");
        prop_assert_eq!(p.head.as_deref(), Some("main"));
        prop_assert_eq!(p.upstream.as_deref(), Some("origin/main"));
        prop_assert_eq!(p.ab, Some((ahead, behind)));
        prop_assert_eq!(p.stash, stash);
        prop_assert_eq!(p.entries, entries);
    }


    #[test]
    fn refs_read_back_what_git_writes(
        names in prop::collection::btree_set("[a-z]{1,12}", 1..6),
        ahead in 0u64..1000,
        behind in 0u64..1000,
    ) {
        let mut out = Vec::new();
        for n in &names {
            out.extend(format!(
                "refs/heads/{n}\0{}\0refs/remotes/origin/{n}\0[ahead {ahead}, behind {behind}]\0origin\0 \n",
                "b".repeat(40)
            ).into_bytes());
        }
        let refs = parse::parse_refs(&out).expect("parses");
        prop_assert_eq!(refs.len(), names.len());
        for (r, n) in refs.iter().zip(&names) {
            prop_assert_eq!(&r.name, &format!("refs/heads/{n}"));
            prop_assert_eq!(r.track, Some((ahead, behind)));
            prop_assert_eq!(r.upstream_remote.as_deref(), Some("origin"));
        }
    }
}
