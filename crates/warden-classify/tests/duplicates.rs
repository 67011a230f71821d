//! `warden classify --duplicates`: the groups are exactly the sets of files
//! with equal full content (a naive grouping by content is the oracle).
// Tests, examples and benches drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{Fixture, SEED};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use warden_classify::duplicates::{PREFIX_BYTES, find};
use warden_core::paths::RepoPath;

fn oracle(files: &BTreeMap<String, Vec<u8>>) -> BTreeSet<Vec<String>> {
    let mut by: BTreeMap<&Vec<u8>, Vec<String>> = BTreeMap::new();
    for (p, c) in files {
        if !c.is_empty() {
            by.entry(c).or_default().push(p.clone());
        }
    }
    by.into_values().filter(|v| v.len() > 1).collect()
}

fn found(f: &Fixture, starts: &[RepoPath]) -> BTreeSet<Vec<String>> {
    let r = find(f.root(), starts).expect("find");
    r.groups.into_iter().map(|g| g.paths).collect()
}

#[test]
fn same_size_and_same_first_block_but_different_tails_are_not_duplicates() {
    let f = Fixture::new(SEED);
    let mut a = vec![b'x'; PREFIX_BYTES + 10];
    let b = a.clone();
    f.write_bytes("data/a.bin", &a);
    f.write_bytes("data/b.bin", &b);
    *a.last_mut().expect("byte") = b'y';
    f.write_bytes("data/c.bin", &a);
    f.write_bytes("data/empty1", b"");
    f.write_bytes("data/empty2", b"");
    f.write("data/ignored.log", "same\n");
    f.write("data/ignored2.log", "same\n");
    f.write(".gitignore", "*.log\n");
    let r = find(f.root(), &[]).expect("find");
    let groups: Vec<Vec<String>> = r.groups.iter().map(|g| g.paths.clone()).collect();
    assert_eq!(
        groups,
        vec![vec!["data/a.bin".to_string(), "data/b.bin".to_string()]]
    );
    assert_eq!(r.duplicate_files, 1);
    assert_eq!(r.wasted_bytes, (PREFIX_BYTES + 10) as u64);
    assert_eq!(
        r.hashed, 3,
        "the three same-size, same-prefix files are read in full"
    );
    // Warden's own areas (the ledger, .warden/) are never looked at.
    assert!(
        r.groups
            .iter()
            .flat_map(|g| &g.paths)
            .all(|p| p.starts_with("data/"))
    );
    // A scope limits the search.
    let only_c = RepoPath::parse("data/c.bin", "t", "p").expect("path");
    assert!(found(&f, &[only_c]).is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn groups_are_exactly_the_files_with_equal_content(
        files in proptest::collection::btree_map(
            "[a-c]{1,2}/[a-e]{1,3}\\.dat",
            prop_oneof![
                Just(Vec::new()),
                proptest::collection::vec(0u8..3, 1..4),
                (0u8..3, 0usize..3).prop_map(|(b, extra)| {
                    let mut v = vec![7u8; PREFIX_BYTES + extra];
                    v.push(b);
                    v
                }),
            ],
            0..14,
        )
    ) {
        let f = Fixture::new(SEED);
        let mut tree = BTreeMap::new();
        for (p, c) in &files {
            let rel = format!("data/{p}");
            f.write_bytes(&rel, c);
            tree.insert(rel, c.clone());
        }
        prop_assert_eq!(found(&f, &[]), oracle(&tree));
    }
}

#[test]
fn hard_links_no_longer_count_as_duplicates_or_wasted_bytes() {
    let f = Fixture::new(SEED);
    f.write("dd/a/1.txt", "hello\n");
    f.write("dd/c/copy.txt", "hello\n");
    std::fs::create_dir_all(f.root().join("dd/b")).expect("mkdir");
    std::fs::hard_link(f.root().join("dd/a/1.txt"), f.root().join("dd/b/hard.txt"))
        .expect("hard link");
    let starts = [RepoPath::parse("dd", "t", "t").expect("path")];
    let r = find(f.root(), &starts).expect("find");
    assert_eq!(r.hard_links, 1);
    assert_eq!(r.files, 2);
    assert_eq!(r.duplicate_files, 1);
    assert_eq!(r.wasted_bytes, 6, "one real copy of 6 bytes, not two");
    let groups: Vec<Vec<String>> = r.groups.into_iter().map(|g| g.paths).collect();
    assert_eq!(groups, [["dd/a/1.txt", "dd/c/copy.txt"]]);
}
