//! `warden status` for a person: one line per fact, `health` last.

use crate::report::Report;
use crate::status::{BridgeBacklog, BridgePublish, RunBrief, Status};
use std::fmt::Write;

/// The bridge's last publish as `warden status` and `warden bridge status`
/// show it: `never`, or the time, ok or FAILED, the commits and the error.
pub fn publish_summary(p: Option<&BridgePublish>) -> String {
    match p {
        None => "never".into(),
        Some(p) => format!(
            "{} {} ({} commit(s)){}",
            p.time,
            if p.ok { "ok" } else { "FAILED" },
            p.commits,
            p.error
                .as_deref()
                .map(|e| format!(": {}", crate::text::shown(e)))
                .unwrap_or_default()
        ),
    }
}

fn brief(b: &Option<RunBrief>) -> String {
    b.as_ref()
        .map_or("none".to_string(), |b| format!("{} at {}", b.run, b.time))
}

impl Report for Status {
    const SCHEMA: &'static str = "status";

    fn human(&self) -> String {
        let mut o = String::new();
        repository(&mut o, self);
        ledger(&mut o, self);
        sandbox(&mut o, self);
        backlog(&mut o, self);
        working_tree(&mut o, self);
        health(&mut o, self);
        o
    }
}

/// The repository, its policy and contract, runs, recovery, quarantine and lock.
fn repository(o: &mut String, st: &Status) {
    let _ = writeln!(o, "repository      {}", crate::text::shown(&st.root));
    let _ = writeln!(
        o,
        "policy          {} (sha256 {})",
        st.policy.version,
        st.policy.digest.short()
    );
    let _ = writeln!(
        o,
        "contract        {}",
        if st.contract_in_sync {
            "in sync"
        } else {
            "out of date: run `warden init` to re-render"
        }
    );
    let _ = writeln!(o, "last success    {}", brief(&st.last_success));
    let _ = writeln!(o, "last failure    {}", brief(&st.last_failure));
    let _ = writeln!(
        o,
        "runs            {} ({} rolled back)",
        st.runs, st.failures
    );
    let _ = writeln!(
        o,
        "recovery        {}",
        if st.pending_recovery {
            "an interrupted run waits (the next writer recovers it)"
        } else {
            "nothing pending"
        }
    );
    let _ = writeln!(o, "quarantine      {} file(s)", st.quarantine);
    let _ = writeln!(
        o,
        "lock            {}",
        st.lock_holder.as_deref().unwrap_or("free")
    );
}

/// The ledger: ok with its entry count, or where it is broken.
fn ledger(o: &mut String, st: &Status) {
    match &st.ledger.problem {
        None => {
            let _ = writeln!(o, "ledger          ok ({} entries)", st.ledger.entries);
        }
        Some(p) => {
            let _ = writeln!(
                o,
                "ledger          BROKEN: {} entry {}: {}",
                p.file, p.line, p.message
            );
        }
    }
}

/// The sandbox, then one line per isolation layer.
fn sandbox(o: &mut String, st: &Status) {
    let _ = writeln!(o, "sandbox         {}", st.sandbox);
    for l in &st.isolation {
        let _ = writeln!(
            o,
            "  {:<13} {}{}",
            l.layer.name(),
            l.state,
            match (l.required, l.enforced) {
                (true, true) => " (required)",
                (true, false) => " (required: plugins are refused)",
                _ => "",
            }
        );
    }
}

/// Pending proposals and, when a bridge is configured, its inbox and state.
fn backlog(o: &mut String, st: &Status) {
    match &st.backlog.bridge {
        None => {
            let _ = writeln!(
                o,
                "backlog         {} pending proposal(s); bridge inbox: not configured",
                st.backlog.pending_proposals
            );
        }
        Some(b) => {
            let _ = writeln!(
                o,
                "backlog         {} pending proposal(s); bridge inbox: {} command(s)",
                st.backlog.pending_proposals, b.pending_commands
            );
            bridge(o, b);
        }
    }
}

/// The bridge: where it lives, dead letters by reason, retries, last publish.
fn bridge(o: &mut String, b: &BridgeBacklog) {
    let _ = writeln!(o, "bridge          {} ({})", b.root, b.executor);
    let total: u64 = b.dead_letters.values().sum();
    let by: Vec<String> = b
        .dead_letters
        .iter()
        .map(|(r, n)| format!("{r} {n}"))
        .collect();
    let _ = writeln!(
        o,
        "  dead letters  {total}{}",
        if by.is_empty() {
            String::new()
        } else {
            format!(" ({})", by.join(", "))
        }
    );
    let _ = writeln!(
        o,
        "  retries       {} pending{}",
        b.retries_pending,
        if b.retries_gave_up {
            " (gave up; run `warden bridge run --once` to retry)"
        } else {
            ""
        }
    );
    let _ = writeln!(
        o,
        "  last publish  {}",
        publish_summary(b.last_publish.as_ref())
    );
}

/// The working tree: clean, how many paths changed, or unknown.
fn working_tree(o: &mut String, st: &Status) {
    match &st.dirty {
        None => {
            let _ = writeln!(o, "working tree    unknown (git status failed)");
        }
        Some(d) if d.is_empty() => {
            let _ = writeln!(o, "working tree    clean");
        }
        Some(d) => {
            let _ = writeln!(
                o,
                "working tree    {} changed or untracked path(s)",
                d.len()
            );
        }
    }
}

/// `health`, last: ok, or one line per reason it is not.
fn health(o: &mut String, st: &Status) {
    if st.unhealthy.is_empty() {
        let _ = writeln!(o, "health          ok");
    } else {
        for why in &st.unhealthy {
            let _ = writeln!(o, "health          UNHEALTHY: {why}");
        }
    }
}
