//! The classifier's property (issue 12): over random inboxes and registries,
//! every file ends in exactly one of {its module, left in place with its
//! candidates, the quarantine lane}; the multiset of content digests across
//! the tree and the lane is unchanged (nothing lost); a second run proposes
//! nothing; undo restores the tree byte for byte.
// Tests, examples and benches drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::Fixture;
use proptest::prelude::*;
use std::collections::BTreeMap;
use warden_core::Digest;

const WORDS: &[&str] = &["ledger", "goal", "ulid", "report", "sync", "misc"];
const EXTS: &[&str] = &["py", "md", "txt"];

#[derive(Debug, Clone)]
struct Module {
    keywords: Vec<usize>,
    exts: Vec<usize>,
    priority: i32,
}

#[derive(Debug, Clone)]
struct File {
    in_module: Option<usize>,
    w1: usize,
    w2: usize,
    ext: usize,
    content: usize,
    mtime: u64,
}

fn module() -> impl Strategy<Value = Module> {
    (
        proptest::collection::vec(0..WORDS.len(), 1..3),
        proptest::collection::vec(0..EXTS.len(), 0..3),
        0..3i32,
    )
        .prop_map(|(keywords, exts, priority)| Module {
            keywords,
            exts,
            priority,
        })
}

fn file() -> impl Strategy<Value = File> {
    (
        proptest::option::weighted(0.3, 0..3usize),
        0..WORDS.len(),
        0..WORDS.len(),
        0..EXTS.len(),
        0..4usize,
        0..3u64,
    )
        .prop_map(|(in_module, w1, w2, ext, content, mtime)| File {
            in_module,
            w1,
            w2,
            ext,
            content,
            mtime,
        })
}

fn registry(mods: &[Module], ambiguous_quarantine: bool) -> String {
    let mut s =
        String::from("schema: warden.modules/v1\nthresholds:\n  min_score: 3\n  min_margin: 2\n");
    if ambiguous_quarantine {
        s.push_str("ambiguous: quarantine\n");
    }
    s.push_str("modules:\n");
    for (i, m) in mods.iter().enumerate() {
        let kw: Vec<&str> = m.keywords.iter().map(|k| WORDS[*k]).collect();
        let ex: Vec<&str> = m.exts.iter().map(|e| EXTS[*e]).collect();
        s.push_str(&format!(
            "  - name: M{i}\n    folder: mod{i}/\n    keywords: [{}]\n    allowed_extensions: [{}]\n    priority: {}\n",
            kw.join(", "),
            ex.join(", "),
            m.priority
        ));
    }
    s
}

fn digests(tree: &BTreeMap<String, Vec<u8>>) -> Vec<Digest> {
    let mut v: Vec<Digest> = tree
        .iter()
        .filter(|(k, _)| !(k.starts_with(".quarantine/") && k.ends_with("/index.json")))
        .map(|(_, c)| Digest::of(c))
        .collect();
    v.sort();
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn every_file_ends_in_one_place_nothing_is_lost_reruns_are_quiet_and_undo_restores(
        mods in proptest::collection::vec(module(), 1..4),
        files in proptest::collection::vec(file(), 0..10),
        ambiguous_quarantine in any::<bool>(),
    ) {
        let f = Fixture::new(&registry(&mods, ambiguous_quarantine));
        for file in &files {
            let dir = match file.in_module {
                Some(m) if m < mods.len() => format!("mod{m}"),
                _ => "inbox".to_string(),
            };
            let rel = format!("{dir}/{}_{}.{}", WORDS[file.w1], WORDS[file.w2], EXTS[file.ext]);
            f.write(&rel, &format!("{} {}\n", WORDS[file.content], "x".repeat(file.content)));
            f.touch(&rel, file.mtime);
        }
        let before = f.tree_with_lane();
        let inbox_before: BTreeMap<String, Vec<u8>> = before
            .iter()
            .filter(|(k, _)| k.starts_with("inbox/"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let report = match f.try_classify() {
            Ok(r) => r,
            Err(e) => return Err(TestCaseError::fail(format!("classify failed: {e}"))),
        };
        let after = f.tree_with_lane();
        // Nothing lost: the same multiset of contents, lane included.
        prop_assert_eq!(digests(&before), digests(&after));
        // Exactly one place per inbox file, and the report says which.
        for (path, content) in &inbox_before {
            let digest = Digest::of(content);
            let ds: Vec<_> = report.files.iter().filter(|d| &d.path == path).collect();
            prop_assert_eq!(ds.len(), 1, "one decision for {}", path);
            let d = ds[0];
            prop_assert_eq!(d.sha256, digest);
            let at = |p: &str| after.get(p).map(|c| Digest::of(c));
            match d.action.as_deref() {
                Some("move_file") => {
                    let t = d.target.as_deref().unwrap_or_default();
                    prop_assert!(t.starts_with("mod"), "{} -> {}", path, t);
                    prop_assert_eq!(at(t), Some(digest));
                    prop_assert!(!after.contains_key(path));
                }
                Some("quarantine") => {
                    let t = d.target.as_deref().unwrap_or_default();
                    prop_assert!(t.starts_with(".quarantine/"), "{}", t);
                    prop_assert_eq!(at(t), Some(digest));
                    prop_assert!(!after.contains_key(path));
                }
                _ => {
                    prop_assert_eq!(at(path), Some(digest));
                    prop_assert!(!d.candidates.is_empty() || d.module.is_some(),
                        "a file left in place has candidates: {:?}", d);
                }
            }
        }
        // A second run proposes nothing.
        let again = f.dry_run();
        prop_assert!(again.actions.is_empty(), "{:?}", again.actions);
        // Undo restores the tree byte for byte (the lane empties again).
        if let (warden_classify::report::Outcome::Applied, Some(run)) = (report.outcome, &report.run) {
            f.undo(run);
        }
        prop_assert_eq!(f.tree_with_lane(), before);
    }
}
