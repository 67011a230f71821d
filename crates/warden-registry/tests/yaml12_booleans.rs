//! Registry files are read as YAML 1.2 (`warden_core::strict::yaml_options`):
//! a front-matter value `no`, `off` or `y` is the text it says, on the fast
//! typed read, on the strict fallback that words errors, and through the
//! in-place front-matter editor.
// Tests, examples and benches drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

use warden_registry::frontmatter::rewrite_noting;
use warden_registry::model::{Entry, EntryMeta, split_front_matter, typed_yaml};

const ENTRY: &str = "---\n# A capability whose words look like YAML 1.1 booleans.\nid: capability.demo.off\ntitle: off\nmaturity:\n  D: {current: 1}\n  A: {current: 0}\n  C: {current: 0}\n  R: {current: 0}\nevidence:\n  tests:\n  - no   # a test file literally named no\n  - y\nnotes: no\n---\n# Off\n";

fn parts(text: &str) -> (String, Entry) {
    let e = Entry::parse(text.as_bytes(), "registry/capabilities/off.md").expect("parses");
    let (yaml, _) = split_front_matter(text, "off.md").expect("split");
    (yaml.to_string(), e)
}

#[test]
fn a_front_matter_value_no_stays_the_string_no_through_the_in_place_editor() {
    let (yaml, e) = parts(ENTRY);
    assert_eq!(e.meta.title, "off");
    assert_eq!(e.meta.notes.as_deref(), Some("no"));
    assert_eq!(e.meta.evidence["tests"], vec!["no", "y"]);

    // Append an item: every old line stays as written, `no` unquoted; the
    // new item is a YAML 1.1 word, so it is written quoted (any YAML reader
    // then takes it as text).
    let mut new = e.meta.clone();
    new.evidence
        .get_mut("tests")
        .expect("tests")
        .push("off".into());
    let (out, lost) = rewrite_noting(&yaml, &e.meta, &new).expect("rewrite");
    assert_eq!(out, yaml.replace("  - y\n", "  - y\n  - \"off\"\n"));
    assert!(lost.is_empty(), "{lost:?}");
    let back: EntryMeta = typed_yaml(&out, "x", "").expect("reparse");
    assert_eq!(back, new);

    // So is a changed scalar; it reads back as the same text.
    let mut again = new.clone();
    again.notes = Some("yes".into());
    again.title = "On".into();
    let (out2, _) = rewrite_noting(&out, &new, &again).expect("rewrite");
    assert_eq!(
        out2,
        out.replace("title: off\n", "title: \"On\"\n")
            .replace("notes: no\n", "notes: \"yes\"\n")
    );
    let back: EntryMeta = typed_yaml(&out2, "x", "").expect("reparse");
    assert_eq!(back, again);
}

#[test]
fn an_entry_with_notes_no_and_a_typo_names_the_typo_not_notes() {
    // The strict fallback (taken when the fast typed read fails) read
    // `notes: no` as the boolean false and reported that instead.
    let text = ENTRY.replace("notes: no\n", "notes: no\nnotez: x\n");
    let e = Entry::parse(text.as_bytes(), "registry/capabilities/off.md").expect_err("typo");
    assert_eq!(
        e.to_string(),
        "registry/capabilities/off.md: notez: unknown field"
    );
    assert_eq!(e.hint().as_deref(), Some("did you mean \"notes\"?"));
}
