//! The actor warden records for a command run at a terminal: the OS user and
//! the git identity, which comes from a cache in `.warden/state/` while
//! nothing git reads for it changed (`Git::identity_cached`; every
//! invalidation is tested in warden-core's `tests/git_identity.rs`). Here:
//! the real binary, a changed environment and an edited `~/.gitconfig` are
//! seen by the very next run.
#![allow(clippy::disallowed_methods)]

mod common;

use common::Repo;

/// `warden run FileDetected` (no plugins: a recorded run) with `env`
/// changes; the newest ledger entry's actor.
fn actor_of_a_run(r: &Repo, set: &[(&str, &str)], unset: &[&str]) -> String {
    let mut c = r.cmd(&["run", "FileDetected", "--yes"]);
    c.envs(set.iter().copied());
    for k in unset {
        c.env_remove(k);
    }
    let out = c.output().expect("warden run");
    assert!(out.status.success(), "{out:?}");
    let entry = r.json(&["ledger", "show", &r.newest_run()]);
    entry["actor"]["id"].as_str().expect("actor").to_string()
}

fn git_part(actor: &str) -> &str {
    actor.split_once(" (git: ").map_or("", |(_, g)| g)
}

#[test]
fn a_changed_environment_or_gitconfig_changes_the_recorded_actor_at_once() {
    let r = Repo::new();
    let env = "test <test@warden.invalid>)";
    assert_eq!(git_part(&actor_of_a_run(&r, &[], &[])), env);
    assert!(
        r.root.join(".warden/state/git-identity.json").exists(),
        "the identity is kept in the clone's state"
    );
    assert_eq!(git_part(&actor_of_a_run(&r, &[], &[])), env);
    assert_eq!(
        git_part(&actor_of_a_run(&r, &[("GIT_AUTHOR_NAME", "Other")], &[])),
        "Other <test@warden.invalid>)"
    );
    assert_eq!(git_part(&actor_of_a_run(&r, &[], &[])), env);
    // Without GIT_AUTHOR_NAME, ~/.gitconfig decides; an edit is seen next run.
    let gitconfig = r.home.path().join(".gitconfig");
    std::fs::write(&gitconfig, "[user]\n\tname = From Config\n").expect("write");
    assert_eq!(
        git_part(&actor_of_a_run(&r, &[], &["GIT_AUTHOR_NAME"])),
        "From Config <test@warden.invalid>)"
    );
    std::fs::write(&gitconfig, "[user]\n\tname = Edited Config\n").expect("write");
    assert_eq!(
        git_part(&actor_of_a_run(&r, &[], &["GIT_AUTHOR_NAME"])),
        "Edited Config <test@warden.invalid>)"
    );
}
