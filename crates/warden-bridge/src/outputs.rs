//! The documents the bridge writes per command (docs/bridge.md) and how they
//! are made durable.
//!
//! - `Group` (the default): a batch's files are written in place (no temp +
//!   rename: a crash before the batch is durable rewrites them all, whole)
//!   and with no fsync each; then one `syncfs(2)` on the bridge root's
//!   filesystem makes them all durable at once (elsewhere: one fsync per file
//!   and directory). Only after that are the batch's commands removed from
//!   `commands/`.
//! - `PerFile`: every file is written, fsynced, renamed and its directory
//!   fsynced on its own, as the seed's Python executor does. Kept as the
//!   benchmark baseline.

use serde::Serialize;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    Group,
    PerFile,
}

/// `results/<id>.json`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ResultDoc {
    pub schema: &'static str,
    pub id: String,
    /// "applied" (files changed), "recorded" (a no-op, ledgered), "unchanged"
    /// (every effect was already present; ledgered).
    pub status: String,
    pub exit_code: i32,
    /// The warden run that applied or recorded it (`warden undo RUN`).
    pub run: String,
    pub action: String,
    #[serde(rename = "patchType")]
    pub patch_type: String,
    pub ops: Vec<String>,
    pub timings: Timings,
    pub counters: Counters,
    pub constraints: serde_json::Value,
    pub constraints_ok: ConstraintsOk,
    pub hmac_ok: bool,
    /// "current" or "next": which accepted secret verified it.
    pub secret: &'static str,
    pub input_sha256: String,
    pub diff: String,
    /// The target-repository paths the run changed (relative to its root).
    /// When the target is the bridge root's own repository, publish commits
    /// them in this command's commit.
    pub paths: Vec<String>,
    /// True when a restart re-derived these outputs from the ledger.
    pub recovered: bool,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Timings {
    pub issued_at: String,
    pub received_at: String,
    pub executed_at: String,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct Counters {
    pub files_changed: u64,
    pub added: u64,
    pub modified: u64,
    pub deleted: u64,
    pub lines_added: u64,
    pub lines_removed: u64,
    pub bytes_written: u64,
    /// True when the command changed a file git ignores in the target (a
    /// local secret): `lines_added`, `lines_removed` and `bytes_written` are
    /// then 0, since they would tell that file's size.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sizes_hidden: bool,
}

impl From<&warden_core::ledger::Counts> for Counters {
    fn from(c: &warden_core::ledger::Counts) -> Self {
        Counters {
            files_changed: c.files,
            added: c.added,
            modified: c.modified,
            deleted: c.deleted,
            lines_added: c.lines_added,
            lines_removed: c.lines_removed,
            bytes_written: c.bytes_written,
            sizes_hidden: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ConstraintsOk {
    #[serde(rename = "maxFilesChanged")]
    pub max_files_changed: bool,
    #[serde(rename = "maxRuntimeMs")]
    pub max_runtime_ms: bool,
}

/// `results/<id>.integrity.json`: the digests, timing and limits of one processed command.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct IntegrityDoc {
    pub schema: &'static str,
    pub id: String,
    pub input_sha256: String,
    pub result_sha256: String,
    pub diff_sha256: String,
    pub issued_at: String,
    pub executed_at: String,
    pub duration_ms: u64,
    pub files_changed: u64,
    pub constraints: serde_json::Value,
    pub limits_ok: bool,
    pub hmac_ok: bool,
    pub exit_code: i32,
    pub run: String,
}

/// `dead_letter/<key>.json`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct DeadLetterDoc {
    pub schema: &'static str,
    /// The command id when the document had a valid one, else null.
    pub id: Option<String>,
    /// The file as it arrived in commands/.
    pub file: String,
    pub reason: crate::reason::Reason,
    /// The validation layer that refused it.
    pub layer: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    pub exit_code: i32,
    pub hmac_ok: bool,
    pub received_at: String,
    pub rejected_at: String,
    pub size: u64,
    /// What the name in commands/ was: "regular", "symlink", "fifo",
    /// "socket", "block_device", "char_device", "directory".
    pub file_type: &'static str,
    /// The sha256 of the bytes read; null when the file layer refused the
    /// file (then nothing of it was read).
    pub input_sha256: Option<String>,
    /// The original bytes, when they are UTF-8 text with no control
    /// character other than `\n`, `\r` and `\t` (dead letters written by older
    /// builds may have any UTF-8 here). Never present for a file the file
    /// layer refused (symlink, hard link, not regular, too large): their
    /// content was not read. `DeadLetterDoc::original` reads either field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_text: Option<String>,
    /// The original bytes (base64), when they are not UTF-8 or hold another
    /// control character (JSON would write each as six bytes, `\u0001`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_base64: Option<String>,
    /// Set when a restart re-derived this document.
    pub recovered: bool,
}

impl DeadLetterDoc {
    /// `(original_text, original_base64)` for the bytes read: text when
    /// they are UTF-8 without a control character other than `\n`, `\r`, `\t`,
    /// so a dead letter stays readable; otherwise base64, 4/3 of their size,
    /// where JSON would escape each control character as six bytes (and
    /// dead letters are committed).
    pub fn original_fields(bytes: &[u8]) -> (Option<String>, Option<String>) {
        match std::str::from_utf8(bytes) {
            Ok(t)
                if !t
                    .chars()
                    .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) =>
            {
                (Some(t.to_string()), None)
            }
            _ => {
                use base64::Engine as _;
                (
                    None,
                    Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
                )
            }
        }
    }

    /// The original bytes of a dead letter (`dead_letter/<key>.json`),
    /// whichever build wrote it: `original_text` (older builds wrote any
    /// UTF-8 there, control characters and all) or `original_base64`.
    /// `None` when it has neither (the file layer refused the file, so
    /// nothing of it was read) or the base64 is not valid.
    pub fn original(doc: &serde_json::Value) -> Option<Vec<u8>> {
        if let Some(t) = doc.get("original_text").and_then(|v| v.as_str()) {
            return Some(t.as_bytes().to_vec());
        }
        use base64::Engine as _;
        let b = doc.get("original_base64").and_then(|v| v.as_str())?;
        base64::engine::general_purpose::STANDARD.decode(b).ok()
    }
}

/// One line of `logs/bridge.log`, its fields in a fixed order.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct LogLine {
    pub ts: String,
    pub id: String,
    pub action: String,
    pub result: String,
    pub exit: i32,
    pub files_changed: u64,
    pub hmac_ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
}

pub fn pretty<T: Serialize>(v: &T) -> Vec<u8> {
    let mut b = serde_json::to_vec_pretty(v).unwrap_or_default();
    b.push(b'\n');
    b
}

/// Writes files with the chosen durability and counts flushes.
#[derive(Debug)]
pub struct Writer {
    pub mode: Durability,
    pub flushes: u64,
    dirs: BTreeSet<PathBuf>,
    files: Vec<PathBuf>,
}

fn tmp_for(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.bridge-tmp"))
}

impl Writer {
    pub fn new(mode: Durability) -> Writer {
        Writer {
            mode,
            flushes: 0,
            dirs: BTreeSet::new(),
            files: Vec::new(),
        }
    }

    /// Replace `path` with `bytes` (temp + rename; durable now in `PerFile`,
    /// at [`Writer::commit`] in `Group`).
    pub fn put(&mut self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        if !self.dirs.contains(&dir) {
            std::fs::create_dir_all(&dir)?;
        }
        if self.mode == Durability::Group {
            // No temp + rename: until the batch's syncfs nothing counts. A
            // crash before it leaves the commands in commands/ and the marker
            // names the batch, so every output is written again, whole, under
            // the same name; nothing reads them before the pass ends.
            std::fs::write(path, bytes)?;
            self.files.push(path.to_path_buf());
            self.dirs.insert(dir);
            return Ok(());
        }
        let tmp = tmp_for(path);
        let _ = std::fs::remove_file(&tmp);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        if self.mode == Durability::PerFile {
            f.sync_all()?;
            self.flushes += 1;
        }
        drop(f);
        std::fs::rename(&tmp, path)?;
        if self.mode == Durability::PerFile {
            warden_core::fsutil::sync_dir(&dir).map_err(std::io::Error::other)?;
            self.flushes += 1;
        } else {
            self.files.push(path.to_path_buf());
            self.dirs.insert(dir);
        }
        Ok(())
    }

    /// `dst` becomes `bytes` (the archive of a command): in `Group` mode a
    /// hard link to the **verified descriptor** `file` (never to a name in
    /// `commands/`, which may meanwhile name something else) when that file
    /// still has no other name and holds exactly these bytes — one inode
    /// fewer per command, and removing the command later frees none (on some
    /// filesystems inode allocation slows down behind recently freed
    /// inodes); otherwise a copy ([`Writer::put`]). Never writes through an
    /// existing `dst`.
    pub fn put_verified(
        &mut self,
        file: Option<&std::fs::File>,
        dst: &Path,
        bytes: &[u8],
    ) -> std::io::Result<()> {
        #[cfg(unix)]
        if self.mode == Durability::Group
            && let Some(f) = file
        {
            use std::os::unix::fs::MetadataExt;
            let single = f
                .metadata()
                .is_ok_and(|m| m.file_type().is_file() && m.nlink() == 1 && m.mode() & 0o111 == 0);
            let dir = dst.parent().unwrap_or(Path::new(".")).to_path_buf();
            if single {
                if !self.dirs.contains(&dir) {
                    std::fs::create_dir_all(&dir)?;
                }
                match std::fs::remove_file(dst) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
                if crate::inbox::link_verified(f, dst) {
                    // The archive must hold the verified bytes: checked
                    // through the descriptor, which is the archive's inode.
                    if crate::inbox::holds(f, bytes) {
                        self.files.push(dst.to_path_buf());
                        self.dirs.insert(dir);
                        return Ok(());
                    }
                    std::fs::remove_file(dst)?;
                }
            }
        }
        if dst.exists() {
            // Never truncate a name that may share its inode with a command.
            std::fs::remove_file(dst)?;
        }
        let _ = file;
        self.put(dst, bytes)
    }

    /// Append `bytes` to `path` (the audit log).
    pub fn append(&mut self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        f.write_all(bytes)?;
        if self.mode == Durability::PerFile {
            f.sync_data()?;
            self.flushes += 1;
        } else {
            self.files.push(path.to_path_buf());
        }
        Ok(())
    }

    /// Rename `from` to `to` (a sealed log segment): durable now in
    /// `PerFile` (both directories fsynced), at [`Writer::commit`] in `Group`.
    pub fn rename(&mut self, from: &Path, to: &Path) -> std::io::Result<()> {
        std::fs::rename(from, to)?;
        let dirs = [from.parent(), to.parent()];
        if self.mode == Durability::PerFile {
            let mut done: Vec<&Path> = Vec::new();
            for d in dirs.into_iter().flatten() {
                if !done.contains(&d) {
                    warden_core::fsutil::sync_dir(d).map_err(std::io::Error::other)?;
                    self.flushes += 1;
                    done.push(d);
                }
            }
        } else {
            self.files.push(to.to_path_buf());
            self.dirs
                .extend(dirs.into_iter().flatten().map(Path::to_path_buf));
        }
        Ok(())
    }

    /// Remove `path` (a processed command), durably in `PerFile`.
    pub fn remove(&mut self, path: &Path) -> std::io::Result<()> {
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        if self.mode == Durability::PerFile
            && let Some(dir) = path.parent()
        {
            warden_core::fsutil::sync_dir(dir).map_err(std::io::Error::other)?;
            self.flushes += 1;
        }
        Ok(())
    }

    /// Make everything written since the last commit durable: one `syncfs`
    /// of the filesystem holding `root` on Linux; elsewhere one fsync per
    /// file and directory.
    pub fn commit(&mut self, root: &Path) -> std::io::Result<()> {
        if self.mode == Durability::PerFile || (self.files.is_empty() && self.dirs.is_empty()) {
            return Ok(());
        }
        #[cfg(target_os = "linux")]
        {
            let f = std::fs::File::open(root)?;
            rustix::fs::syncfs(&f)?;
            self.flushes += 1;
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = root;
            for p in &self.files {
                std::fs::File::open(p)?.sync_all()?;
                self.flushes += 1;
            }
            for d in &self.dirs {
                warden_core::fsutil::sync_dir(d).map_err(std::io::Error::other)?;
                self.flushes += 1;
            }
        }
        self.files.clear();
        self.dirs.clear();
        Ok(())
    }
}
