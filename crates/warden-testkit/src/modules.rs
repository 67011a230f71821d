//! The text of module registries (`.warden/modules.yaml`), for the
//! classifier's own tests and the CLI's.

/// The registry of the original classifier scripts: two modules, a goal
/// normaliser and the append-only ledger, with their keywords and types.
pub const SEED: &str = "schema: warden.modules/v1
modules:
  - name: Goal_Normalizer_MOD
    folder: modules/goals/
    keywords: [normalize, goal, capability_tags, constraints]
    allowed_extensions: [.py, .ps1, .md]
  - name: Ledger_Records_MOD
    folder: modules/ledger/
    keywords: [ledger, ulid, append_only, provenance]
    allowed_extensions: [.py, .ps1, .jsonl]
";
