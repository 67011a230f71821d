//! Batch operations over many work-tree paths in one process each, for
//! callers that must stay linear in the number of paths (bridge publish):
//! pathspec arguments make git match every file against every path.

use super::{Call, Error, ErrorKind, Git, Mode, Result};
use crate::process::End;
use std::collections::BTreeSet;

impl Git {
    /// Store the working tree's files at `paths` (from the top) as blobs,
    /// with their path's filters as `git add` applies them; their ids, in
    /// order. One `hash-object -w --stdin-paths`. Paths must not hold a
    /// newline (the input is one path per line).
    pub fn hash_files(&self, paths: &[&str]) -> Result<Vec<String>> {
        self.hash_stdin_paths(paths, &["-w"])
    }

    /// The blob ids the working tree's files at `paths` would get, storing
    /// nothing: with their path's filters (as [`Git::hash_files`]) when
    /// `filters`, else of their bytes as they are. One `hash-object
    /// --stdin-paths`. Where the two differ a filter applies; where they
    /// agree the bytes on disk are the blob (so they can go into a pack as
    /// they are, or to `fast-import` inline, instead of being written as
    /// loose objects).
    pub fn blob_ids(&self, paths: &[&str], filters: bool) -> Result<Vec<String>> {
        self.hash_stdin_paths(paths, if filters { &[] } else { &["--no-filters"] })
    }

    fn hash_stdin_paths(&self, paths: &[&str], extra: &[&str]) -> Result<Vec<String>> {
        if paths.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(p) = paths.iter().find(|p| p.contains('\n')) {
            return Err(Error::new(
                ErrorKind::Unexpected,
                "git hash-object --stdin-paths",
                format!("a path with a newline cannot be given: {p:?}"),
            )
            .in_dir(&self.dir));
        }
        let input = paths.join("\n") + "\n";
        let mode = if extra.contains(&"-w") {
            Mode::Write
        } else {
            Mode::Read
        };
        let out = self.ok(Call::new(mode, ["hash-object"])
            .args(extra.iter().copied())
            .arg("--stdin-paths")
            .stdin(input.into_bytes()))?;
        let ids: Vec<String> = String::from_utf8_lossy(&out)
            .lines()
            .map(str::to_string)
            .collect();
        if ids.len() != paths.len() {
            return Err(Error::new(
                ErrorKind::Unexpected,
                "git hash-object --stdin-paths",
                format!("gave {} ids for {} files", ids.len(), paths.len()),
            )
            .in_dir(&self.dir));
        }
        Ok(ids)
    }

    /// Which of `paths` (relative to the directory) git ignores (tracked
    /// files never are). One `check-ignore -z --stdin`.
    pub fn ignored(&self, paths: &[&str]) -> Result<BTreeSet<String>> {
        if paths.is_empty() {
            return Ok(BTreeSet::new());
        }
        // check-ignore reads a name that starts with ':' as pathspec magic
        // (`:(top)x` asks about `x`, `:!x` is refused), so such a name is
        // sent as `./:…`, which git reads as the name itself and echoes.
        let renamed: std::collections::BTreeMap<String, &str> = paths
            .iter()
            .filter(|p| p.starts_with(':'))
            .map(|p| (format!("./{p}"), *p))
            .collect();
        let mut input = Vec::new();
        for p in paths {
            if p.starts_with(':') {
                input.extend_from_slice(b"./");
            }
            input.extend_from_slice(p.as_bytes());
            input.push(0);
        }
        // check-ignore takes path names, never patterns, and refuses the
        // `literal` pathspec magic the layer sets for every other command.
        let call = Call::new(Mode::Read, ["check-ignore", "-z", "--stdin"])
            .stdin(input)
            .env("GIT_LITERAL_PATHSPECS", "0");
        let op = call.shown();
        let out = self.exec(call)?;
        // Exit 1: none is ignored.
        if !out.success() && out.end != End::Exited(1) {
            return Err(self.failed(&op, &out));
        }
        Ok(super::parse::nul_list(&out.stdout)
            .into_iter()
            .map(|p| match renamed.get(&p) {
                Some(name) => (*name).to_string(),
                None => p,
            })
            .collect())
    }
}
