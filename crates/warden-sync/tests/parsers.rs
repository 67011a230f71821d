//! Property tests of the sync guardian's parser of untrusted input,
//! `.warden/sync.yaml`: any text gives a value or a typed error, never a
//! panic; a config names the file and the field it refuses. (git's machine
//! formats are parsed, and tested, in `warden_core::git::parse`.)

use proptest::prelude::*;
use warden_sync::config::SyncConfig;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

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
