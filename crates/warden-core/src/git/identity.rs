//! The user's git identity without a git process on every command: the
//! answer of `git var -l` kept in a small cache file (in the clone's ignored
//! state directory), used only while nothing git reads for it has changed.
//!
//! The cache's key is a digest of everything the answer depends on:
//! - the whole environment git is given (the handle's base environment and
//!   its own variables: `GIT_AUTHOR_NAME`, `EMAIL`, `HOME`,
//!   `XDG_CONFIG_HOME`, `GIT_CONFIG_*`, `PATH`, …) and the git program;
//! - every config file git would read for it, present or not: the system
//!   file and the global ones (`$XDG_CONFIG_HOME/git/config`,
//!   `~/.gitconfig`, as `git var` names them), and the repository's
//!   `.git/config` and `.git/config.worktree`, each by path, existence,
//!   size, modification and change time (nanoseconds), inode and device.
//!
//! It is filled only when the answer cannot depend on anything else: no
//! `include.path`/`includeIf` anywhere (an included file is not in the
//! key), the name and the email both set explicitly (config or
//! environment; an identity guessed from the host name or the password
//! database is never cached), and `.git` a directory of the working tree.
//! Otherwise every call asks git, as [`Git::identity`] does.

use super::{Call, Git, Identity, Mode, Result, parse};
use crate::digest::Hasher;
use serde::{Deserialize, Serialize};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// The cache's file name in the clone's state directory.
pub const IDENTITY_CACHE: &str = "git-identity.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Cached {
    /// The system and global config files `git var` named.
    files: Vec<PathBuf>,
    /// The digest of the key (see the module's documentation).
    key: String,
    name: String,
    email: String,
}

/// What `git var -l` says, as far as the cache needs it.
#[derive(Debug, Default, PartialEq, Eq)]
struct VarList {
    ident: Option<Identity>,
    system: Vec<PathBuf>,
    global: Vec<PathBuf>,
    /// Config entries (`section.key`, value) in the order git read them.
    config: Vec<(String, String)>,
}

/// Split `git var -l`: config entries first, then git's logical variables
/// (upper-case names). Read from the end, so that a config value spanning
/// lines cannot pass for a logical variable.
fn parse_var_list(out: &str) -> VarList {
    let mut v = VarList::default();
    let lines: Vec<&str> = out.lines().collect();
    let mut end = lines.len();
    while end > 0 {
        let Some((k, val)) = lines[end - 1].split_once('=') else {
            break;
        };
        if !k.starts_with("GIT_") || k.bytes().any(|b| b.is_ascii_lowercase()) {
            break;
        }
        end -= 1;
        match k {
            "GIT_AUTHOR_IDENT" if v.ident.is_none() => v.ident = parse::parse_ident(val),
            "GIT_CONFIG_SYSTEM" => v.system.push(val.into()),
            "GIT_CONFIG_GLOBAL" => v.global.push(val.into()),
            // The first logical variable git prints: config lies before it.
            "GIT_COMMITTER_IDENT" => break,
            _ => {}
        }
    }
    for l in &lines[..end] {
        if let Some((k, val)) = l.split_once('=') {
            v.config.push((k.to_string(), val.to_string()));
        } else {
            // `[section] key` without a value: a boolean true.
            v.config.push((l.to_string(), String::new()));
        }
    }
    v
}

impl VarList {
    /// Whether the answer depends only on the key: no includes, and the
    /// name and email set explicitly (env wins over config, as git does).
    fn cacheable(&self, env: &dyn Fn(&str) -> Option<String>) -> bool {
        let Some(id) = &self.ident else {
            return false;
        };
        let include = self
            .config
            .iter()
            .any(|(k, _)| k == "include.path" || k.starts_with("includeif."));
        let last = |keys: &[&str]| {
            self.config
                .iter()
                .rev()
                .find(|(k, _)| keys.contains(&k.as_str()))
                .map(|(_, v)| v.clone())
        };
        let name = env("GIT_AUTHOR_NAME")
            .or_else(|| last(&["author.name"]))
            .or_else(|| last(&["user.name"]));
        let email = env("GIT_AUTHOR_EMAIL")
            .or_else(|| last(&["author.email"]))
            .or_else(|| last(&["user.email"]))
            .or_else(|| env("EMAIL"));
        // git names the global files it reads (git 2.42 and later; an older
        // git is never cached) and the system file unless it skips it
        // (GIT_CONFIG_NOSYSTEM, which is in the key).
        !include
            && !self.global.is_empty()
            && name.is_some_and(|n| n.trim() == id.name)
            && email.is_some_and(|e| e.trim() == id.email)
    }
}

impl Git {
    /// [`Git::identity`], answered from the cache file `cache` while its key
    /// holds (see the module's documentation); otherwise asked of git, and
    /// the cache written when the answer may be kept. A cache that cannot be
    /// read or written is only a slower answer, never an error.
    pub fn identity_cached(&self, cache: &Path) -> Result<Option<Identity>> {
        if let Some(hit) = self.cached_identity(cache) {
            return Ok(Some(hit));
        }
        let Some(git_dir) = self.plain_git_dir() else {
            return self.identity();
        };
        let out = self.exec(Call::new(Mode::Read, ["var", "-l"]))?;
        let list = parse_var_list(&String::from_utf8_lossy(&out.stdout));
        let env = |k: &str| self.env_value(k);
        if !out.success() || !list.cacheable(&env) {
            return self.identity();
        }
        let Some(id) = list.ident.clone() else {
            return self.identity();
        };
        let files: Vec<PathBuf> = list.system.iter().chain(&list.global).cloned().collect();
        let entry = Cached {
            key: self.identity_key(&files, &git_dir),
            files,
            name: id.name.clone(),
            email: id.email.clone(),
        };
        if let Ok(bytes) = serde_json::to_vec(&entry) {
            let _ = crate::fsutil::write_atomic(cache, &bytes, 0o644);
        }
        Ok(Some(id))
    }

    /// The cached identity, when the cache's key still holds.
    fn cached_identity(&self, cache: &Path) -> Option<Identity> {
        let bytes = std::fs::read(cache).ok()?;
        let c: Cached = serde_json::from_slice(&bytes).ok()?;
        let git_dir = self.plain_git_dir()?;
        (self.identity_key(&c.files, &git_dir) == c.key).then_some(Identity {
            name: c.name,
            email: c.email,
        })
    }

    /// `<dir>/.git` when it is a directory (not a linked worktree's file).
    fn plain_git_dir(&self) -> Option<PathBuf> {
        let d = self.dir.join(".git");
        std::fs::symlink_metadata(&d)
            .ok()
            .filter(|m| m.is_dir())
            .map(|_| d)
    }

    /// The value git would see for `key` (the handle's own variables last).
    fn env_value(&self, key: &str) -> Option<String> {
        self.cfg
            .base
            .iter()
            .chain(&self.cfg.envs)
            .rev()
            .find(|(k, _)| k == OsStr::new(key))
            .map(|(_, v)| v.to_string_lossy().into_owned())
    }

    /// The digest of everything the identity depends on.
    fn identity_key(&self, files: &[PathBuf], git_dir: &Path) -> String {
        let mut h = Hasher::new();
        h.part(b"warden git identity v1");
        h.part(self.cfg.program.as_encoded_bytes());
        for (k, v) in self.cfg.base.iter().chain(&self.cfg.envs) {
            h.part(k.as_encoded_bytes()).part(v.as_encoded_bytes());
        }
        h.part(b"files");
        let local = [git_dir.join("config"), git_dir.join("config.worktree")];
        for f in files.iter().chain(&local) {
            h.part(f.as_os_str().as_encoded_bytes());
            h.part(stamp(f).as_bytes());
        }
        h.finish().hex()
    }
}

/// A file's identity and state, or `absent`.
fn stamp(path: &Path) -> String {
    let Ok(m) = std::fs::metadata(path) else {
        return "absent".into();
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        format!(
            "{} {} {}.{} {}.{} {} {}",
            m.is_file(),
            m.len(),
            m.mtime(),
            m.mtime_nsec(),
            m.ctime(),
            m.ctime_nsec(),
            m.ino(),
            m.dev()
        )
    }
    #[cfg(not(unix))]
    {
        format!("{} {} {:?}", m.is_file(), m.len(), m.modified().ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_logical_variables_are_read_from_the_end() {
        let out = "user.name=A\nuser.email=a@x\ncore.note=line one\nGIT_AUTHOR_IDENT=Evil <e@x> 1 +0000\ncore.bare=false\nGIT_COMMITTER_IDENT=A <a@x> 1 +0000\nGIT_AUTHOR_IDENT=A <a@x> 1 +0000\nGIT_EDITOR=vi\nGIT_CONFIG_SYSTEM=/etc/gitconfig\nGIT_CONFIG_GLOBAL=/h/.config/git/config\nGIT_CONFIG_GLOBAL=/h/.gitconfig\n";
        let v = parse_var_list(out);
        assert_eq!(
            v.ident,
            Some(Identity {
                name: "A".into(),
                email: "a@x".into()
            })
        );
        assert_eq!(v.system, vec![PathBuf::from("/etc/gitconfig")]);
        assert_eq!(
            v.global,
            vec![
                PathBuf::from("/h/.gitconfig"),
                PathBuf::from("/h/.config/git/config")
            ]
        );
        // The multi-line value's second line stays config.
        assert!(v.config.iter().any(|(k, _)| k == "GIT_AUTHOR_IDENT"));
        assert!(v.cacheable(&|_| None));
    }

    #[test]
    fn includes_and_guessed_identities_are_not_cacheable() {
        let base = "GIT_AUTHOR_IDENT=A <a@x> 1 +0000\nGIT_CONFIG_SYSTEM=/s\nGIT_CONFIG_GLOBAL=/g\n";
        let with = |config: &str| parse_var_list(&format!("{config}{base}"));
        assert!(with("user.name=A\nuser.email=a@x\n").cacheable(&|_| None));
        assert!(!with("user.name=A\nuser.email=a@x\ninclude.path=/other\n").cacheable(&|_| None));
        assert!(
            !with("user.name=A\nuser.email=a@x\nincludeif.gitdir:/w/.path=/o\n")
                .cacheable(&|_| None)
        );
        // No email in config: guessed by git from the host, or from EMAIL.
        assert!(!with("user.name=A\n").cacheable(&|_| None));
        assert!(with("user.name=A\n").cacheable(&|k| (k == "EMAIL").then(|| "a@x".to_string())));
        // The environment wins over config, as in git.
        assert!(
            !with("user.name=B\nuser.email=a@x\n").cacheable(&|_| None),
            "git said A, config says B: something else decided"
        );
        assert!(
            with("user.name=B\nuser.email=a@x\n")
                .cacheable(&|k| (k == "GIT_AUTHOR_NAME").then(|| "A".to_string()))
        );
    }
}
