//! What a pass commits, grouped into commits: one per accepted command
//! (its outputs, the target files it changed, its own log line), one for
//! all the dead letters, one for the rest.

use super::PublishError;
use super::git::Git;
use crate::audit_log::{SEGMENT_DIR, segment_seq};
use crate::layout::{Layout, SAFE_DIRS};
use std::collections::{BTreeMap, BTreeSet};

/// One commit's worth of outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Group {
    pub subject: String,
    /// Trailers of the commit message: `Warden-Run: <RUN>` for a command's
    /// commit, `Warden-Bridge: …` for the others (warden is always named).
    pub trailers: Vec<String>,
    /// The command ids (or `dead_letter/<key>`s) the commit publishes.
    pub ids: Vec<String>,
    pub files: Vec<String>,
    /// Target-repository files the command changed (paths from the top of
    /// the work tree), staged with the outputs when the target is this work tree.
    pub target_files: Vec<String>,
    /// Files committed with this content rather than the work tree's: the
    /// log up to this command's own line.
    pub blobs: Vec<(String, Vec<u8>)>,
    /// The ids its log lines carry (the command id; a dead letter's key too).
    pub log_ids: Vec<String>,
    /// A commit made again (re-derivation): its original author header
    /// (`Name <email> <time> <tz>`) and whole message, kept as they were.
    pub original: Option<(String, Vec<u8>)>,
}

impl Group {
    pub fn new(subject: String, trailer: String) -> Group {
        Group {
            subject,
            trailers: vec![trailer],
            ids: Vec::new(),
            files: Vec::new(),
            target_files: Vec::new(),
            blobs: Vec::new(),
            log_ids: Vec::new(),
            original: None,
        }
    }

    /// The commit message: the subject, a blank line, the trailers (a
    /// re-derived commit's own message as it was).
    pub fn message_bytes(&self) -> Vec<u8> {
        match &self.original {
            Some((_, m)) => m.clone(),
            None => self.message().into_bytes(),
        }
    }

    /// The subject, a blank line, the trailers.
    pub fn message(&self) -> String {
        let mut m = format!("{}\n", self.subject);
        if !self.trailers.is_empty() {
            m.push('\n');
            for t in &self.trailers {
                m.push_str(t);
                m.push('\n');
            }
        }
        m
    }
}

/// The trailer naming warden and the run on the commit of a command's
/// outputs, as on every commit warden makes for the user (sync's too).
pub fn run_trailer(run: &str) -> String {
    warden_core::git::run_trailer(run)
}

/// Changed files under the safe directories, sorted by what they belong to.
#[derive(Debug, Default)]
struct Pending {
    /// Command id → its output files.
    by_id: BTreeMap<String, BTreeSet<String>>,
    /// Dead-letter path → (reason, the command id in it).
    dlq: BTreeMap<String, (String, Option<String>)>,
    /// Everything else (logs, meta/, files in subdirectories).
    rest: BTreeSet<String>,
}

/// `git status` of the safe directories, sorted into [`Pending`].
fn pending(git: &Git, layout: &Layout) -> Result<Pending, PublishError> {
    let dirs: Vec<String> = SAFE_DIRS.iter().map(|d| git.rel(d)).collect();
    let mut p = Pending::default();
    for path in git.changed_under(&dirs)? {
        let Some(rel) = path.strip_prefix(&git.prefix) else {
            continue;
        };
        let Some((dir, name)) = rel.split_once('/') else {
            p.rest.insert(path.clone());
            continue;
        };
        let id = match dir {
            "archive" => name.strip_suffix(".json"),
            "diffs" => name.strip_suffix(".patch"),
            "results" => name
                .strip_suffix(".integrity.json")
                .or_else(|| name.strip_suffix(".json")),
            "dead_letter" => {
                if let Some(key) = name.strip_suffix(".json") {
                    let doc = read_json(&layout.dead_letter(key));
                    let reason = doc["reason"].as_str().unwrap_or("unknown").to_string();
                    let doc_id = doc["id"].as_str().map(str::to_string);
                    p.dlq.insert(path.clone(), (reason, doc_id));
                    continue;
                }
                None
            }
            _ => None,
        };
        match id {
            Some(id) if !name.contains('/') => {
                p.by_id
                    .entry(id.to_string())
                    .or_default()
                    .insert(path.clone());
            }
            _ => {
                p.rest.insert(path.clone());
            }
        }
    }
    Ok(p)
}

fn read_json(path: &std::path::Path) -> serde_json::Value {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .unwrap_or_default()
}

/// Changed or new files under the safe directories, grouped per command.
pub(super) fn pending_groups(
    git: &Git,
    layout: &Layout,
    target_prefix: Option<&str>,
) -> Result<Vec<Group>, PublishError> {
    let Pending {
        by_id,
        dlq,
        mut rest,
    } = pending(git, layout)?;
    let mut groups: Vec<Group> = by_id
        .into_iter()
        .map(|(id, files)| command_group(layout, id, files, target_prefix))
        .collect();
    if !dlq.is_empty() {
        groups.push(dlq_group(&dlq));
    }
    let only_retries = !rest.is_empty() && rest.iter().all(|p| *p == git.rel("meta/retries.json"));
    let logs: Vec<String> = rest
        .iter()
        .filter(|p| p.starts_with(&git.rel("logs/")))
        .cloned()
        .collect();
    if !groups.is_empty() && !logs.is_empty() {
        let log = git.rel("logs/bridge.log");
        let seg_dir = git.rel(&format!("{SEGMENT_DIR}/"));
        let segments: Vec<String> = logs
            .iter()
            .filter(|p| {
                p.strip_prefix(&seg_dir)
                    .is_some_and(|n| !n.contains('/') && segment_seq(n).is_some())
            })
            .cloned()
            .collect();
        let placed = if logs.contains(&log) || !segments.is_empty() {
            split_log(git, &log, &segments, &mut groups)?
        } else {
            BTreeSet::new()
        };
        // Other audit files, and the log when it cannot be split, travel
        // with the last command's commit.
        if let Some(last) = groups.last_mut() {
            last.files
                .extend(logs.iter().filter(|p| !placed.contains(*p)).cloned());
        }
        rest.retain(|p| !logs.contains(p));
    }
    // The target's ledger (one chain file per writer, so clones never
    // conflict) travels with the last command's commit: the remote gets the
    // record of the runs that changed it.
    if let (Some(prefix), Some(last)) = (target_prefix, groups.last_mut()) {
        last.target_files.push(format!("{prefix}.ledger/runs"));
    }
    if !rest.is_empty() {
        let (subject, what) = if only_retries {
            ("bridge: retries index update", "retries index")
        } else {
            ("bridge: outputs update", "outputs")
        };
        let mut g = Group::new(subject.into(), format!("Warden-Bridge: {what}"));
        g.files = rest.into_iter().collect();
        groups.push(g);
    }
    Ok(groups)
}

/// The commit of one command's outputs (and, when the target is this work
/// tree and the command was applied, the files it changed).
fn command_group(
    layout: &Layout,
    id: String,
    files: BTreeSet<String>,
    target_prefix: Option<&str>,
) -> Group {
    let result = read_json(&layout.result(&id));
    let exit = result["exit_code"].as_i64().unwrap_or(0);
    let target_files = match target_prefix {
        Some(prefix) if result["status"] == "applied" => result["paths"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| p.as_str())
                    .map(|p| format!("{prefix}{p}"))
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let trailer = match result["run"].as_str() {
        Some(run) => run_trailer(run),
        None => format!("Warden-Bridge: command {id}"),
    };
    let mut g = Group::new(format!("bridge: results {id} (exit={exit})"), trailer);
    g.log_ids = vec![id.clone()];
    g.ids = vec![id];
    g.files = files.into_iter().collect();
    g.target_files = target_files;
    g
}

/// Every dead letter of the pass in one commit: a flood of refused
/// commands costs one commit, not one each.
fn dlq_group(dlq: &BTreeMap<String, (String, Option<String>)>) -> Group {
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for (reason, _) in dlq.values() {
        *reasons.entry(reason.as_str()).or_default() += 1;
    }
    let subject = if dlq.len() == 1 {
        format!(
            "bridge: DLQ {}",
            reasons.keys().next().copied().unwrap_or("unknown")
        )
    } else {
        let list: Vec<String> = reasons
            .iter()
            .map(|(r, n)| {
                if *n == 1 {
                    r.to_string()
                } else {
                    format!("{r} x{n}")
                }
            })
            .collect();
        format!(
            "bridge: DLQ {} dead letters ({})",
            dlq.len(),
            list.join(", ")
        )
    };
    let mut g = Group::new(subject, "Warden-Bridge: dead letters".into());
    for (path, (_, doc_id)) in dlq {
        let key = path
            .rsplit('/')
            .next()
            .and_then(|n| n.strip_suffix(".json"))
            .unwrap_or_default()
            .to_string();
        g.ids.push(format!("dead_letter/{key}"));
        g.log_ids.push(key);
        g.log_ids.extend(doc_id.clone());
        g.files.push(path.clone());
    }
    g
}

/// One commit per command with its own log line: the lines the log gained
/// since HEAD (in the segments sealed since, then in `logs/bridge.log`) are
/// given, in order, to the commands they name, and the commands are put in
/// the order of their lines (the order they were processed). Each commit
/// takes the log as it was right after its command's last line: the
/// segments sealed before that line (each added, whole, by the first commit
/// that has it) and `logs/bridge.log` up to the line. The last one takes the
/// whole log, so the final tree is the work tree's. So a commit writes at
/// most one bounded log blob (plus a segment git already has, when a segment
/// ends with the previous command's line). Left as it is (everything in the
/// last commit) when the log was not only appended to: a segment HEAD
/// already has changed, or the first new one (or, with none, the log) does
/// not start with HEAD's log. Returns the log paths it placed.
fn split_log(
    git: &Git,
    log: &str,
    segments: &[String],
    groups: &mut Vec<Group>,
) -> Result<BTreeSet<String>, PublishError> {
    let none = BTreeSet::new();
    let head = git.head_blob(log);
    if !segments.is_empty() && git.any_in_head(segments)? {
        return Ok(none);
    }
    // The pieces of the stream of added lines: (path, range in `added`);
    // the first piece's file starts with HEAD's log.
    let mut added: Vec<u8> = Vec::new();
    let mut pieces: Vec<(String, std::ops::Range<usize>)> = Vec::new();
    let files = segments
        .iter()
        .cloned()
        .chain(std::iter::once(log.to_string()));
    for (i, path) in files.enumerate() {
        let bytes = match std::fs::read(git.top.join(&path)) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && path == log => Vec::new(),
            Err(_) => return Ok(none),
        };
        let new = if i == 0 {
            match bytes.strip_prefix(head.as_slice()) {
                Some(rest) => rest,
                None => return Ok(none),
            }
        } else {
            bytes.as_slice()
        };
        let start = added.len();
        added.extend_from_slice(new);
        pieces.push((path, start..added.len()));
    }
    // End offset (in `added`) of each group's last line.
    let mut ends: Vec<Option<usize>> = vec![None; groups.len()];
    let mut off = 0;
    for line in added.split_inclusive(|b| *b == b'\n') {
        off += line.len();
        let id = serde_json::from_slice::<serde_json::Value>(line)
            .ok()
            .and_then(|v| v["id"].as_str().map(str::to_string));
        if let Some(id) = id
            && let Some(i) = groups.iter().position(|g| g.log_ids.contains(&id))
        {
            ends[i] = Some(off);
        }
    }
    if ends.iter().all(Option::is_none) {
        return Ok(none);
    }
    let mut order: Vec<(Option<usize>, Group)> = ends.into_iter().zip(groups.drain(..)).collect();
    // Commands without a line first (as they were), then in log order.
    order.sort_by_key(|(end, _)| end.map_or((0, 0), |e| (1, e)));
    let last = order.iter().rposition(|(end, _)| end.is_some());
    let live = pieces.len() - 1;
    let mut sealed = 0; // segments already in an earlier commit
    for (i, (end, mut g)) in order.into_iter().enumerate() {
        if let Some(end) = end {
            let upto = if Some(i) == last { added.len() } else { end };
            // The piece holding the line (the last commit: the live log);
            // the segments before it are sealed.
            let at = if Some(i) == last {
                live
            } else {
                pieces
                    .iter()
                    .position(|(_, r)| r.start < upto && upto <= r.end)
                    .unwrap_or(live)
            };
            for (path, _) in &pieces[sealed..at] {
                g.files.push(path.clone());
            }
            sealed = sealed.max(at);
            let r = &pieces[at].1;
            let mut content = if at == 0 { head.clone() } else { Vec::new() };
            content.extend_from_slice(&added[r.start..upto]);
            g.blobs.push((log.to_string(), content));
        }
        groups.push(g);
    }
    Ok(pieces.into_iter().map(|(p, _)| p).collect())
}
