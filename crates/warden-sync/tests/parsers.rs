//! Property tests of the sync guardian's parsers of untrusted input: git's
//! porcelain v2 and merge-tree output, and `.warden/sync.yaml`. Any bytes
//! give a value or a typed error, never a panic; what git would write is read
//! back exactly; a config names the file and the field it refuses.

use proptest::prelude::*;
use warden_sync::config::SyncConfig;
use warden_sync::porcelain::{self, Entry};

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
        let _ = porcelain::parse(&bytes);
        let _ = porcelain::parse_merge_tree(&bytes, false);
        let _ = porcelain::parse_merge_tree(&bytes, true);
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
        let p = porcelain::parse(&out).expect("parses");
        prop_assert_eq!(p.head.as_deref(), Some("main"));
        prop_assert_eq!(p.upstream.as_deref(), Some("origin/main"));
        prop_assert_eq!(p.ab, Some((ahead, behind)));
        prop_assert_eq!(p.stash, stash);
        prop_assert_eq!(p.entries, entries);
    }

    #[test]
    fn sync_config_never_panics(text in "[ -~\n]{0,200}") {
        let _ = SyncConfig::parse(&text, "sync.yaml");
    }

    #[test]
    fn sync_config_reads_what_it_documents(
        auto_adopt in any::<bool>(),
        globs in prop::collection::vec("[a-z]{1,8}/\\*\\.jsonl", 0..4),
        timeout in prop::option::of(1u64..100_000),
    ) {
        let quoted: Vec<String> = globs.iter().map(|g| format!("\"{g}\"")).collect();
        let mut text = format!(
            "schema: warden.sync-config/v1\nauto_adopt: {auto_adopt}\nappend_only: [{}]\n",
            quoted.join(", ")
        );
        text.push_str("generated:\n  - paths: [\"docs/index.md\"]\n    command: [\"make\", \"docs\"]\n");
        if let Some(t) = timeout {
            text.push_str(&format!("    timeout_ms: {t}\n"));
        }
        let c = SyncConfig::parse(&text, "sync.yaml").expect("valid config");
        prop_assert_eq!(c.file.auto_adopt, auto_adopt);
        prop_assert_eq!(&c.file.append_only, &globs);
        prop_assert_eq!(c.file.generated.len(), 1);
        prop_assert_eq!(c.file.generated[0].timeout_ms, timeout);
    }

    #[test]
    fn an_unknown_sync_config_field_is_refused_naming_file_and_field(
        field in "[a-z_]{3,12}".prop_filter("not a known field", |f| {
            !["schema", "auto_adopt", "append_only", "generated"].contains(&f.as_str())
        }),
    ) {
        let text = format!("schema: warden.sync-config/v1\n{field}: true\n");
        let e = SyncConfig::parse(&text, "sync.yaml").expect_err("unknown field");
        let msg = e.to_string();
        prop_assert!(msg.contains("sync.yaml") && msg.contains(&field), "{}", msg);
        prop_assert_eq!(e.class(), warden_core::ExitClass::Input);
    }
}
