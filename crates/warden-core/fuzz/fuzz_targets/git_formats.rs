//! Untrusted bytes as git's machine formats (`status --porcelain=v2 -z`,
//! `merge-tree -z`, `for-each-ref`, `ls-tree -z`, `worktree list -z`,
//! `cat-file --batch-check`, `config -z`): parsed or refused, never a panic.
//! (`cargo test` runs the same property in tests/git_parsers.rs.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_core::git::parse;

fuzz_target!(|data: &[u8]| {
    let _ = parse::parse_status(data);
    let _ = parse::parse_merge_tree(data, false);
    let _ = parse::parse_merge_tree(data, true);
    let _ = parse::parse_refs(data);
    let _ = parse::parse_ls_tree(data);
    let _ = parse::parse_worktrees(data);
    let _ = parse::parse_batch_check(data, 2);
    let _ = parse::parse_remote_config(data);
});
