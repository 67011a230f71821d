//! Reading a command file safely: the bridge reads only what it verified.
//!
//! A name in `commands/` is opened once, without following a symlink
//! (`O_NOFOLLOW`), without blocking on a FIFO (`O_NONBLOCK`), without
//! becoming a controlling terminal (`O_NOCTTY`) and closed on exec
//! (`O_CLOEXEC`). The checks are made on the **opened descriptor** (`fstat`):
//! a regular file, exactly one link, a size within the limit. The bytes are
//! then read from that same descriptor, bounded. Nothing is ever read again
//! by path: the archive is linked from the descriptor (`/proc/self/fd`), and
//! the command is removed only while its name still names the verified inode.
//!
//! Whatever fails a check — a symlink, a hard link to a file elsewhere, a
//! FIFO, a socket, a device, a file over the limit — is refused with a
//! precise reason and **its content is never read**, so a dead letter (which
//! is published) can never carry another file's bytes.

use crate::reason::{Reason, Rejection};
use std::ffi::OsStr;
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// A name in `commands/` as text: itself when it is UTF-8; otherwise its
/// bytes, every one that is not printable ASCII escaped (`bad\xff.json`),
/// as warden shows such names elsewhere. The file is still opened and
/// removed by its bytes; this text only names it (in reports, dead letters
/// and the batch marker), and reaches a terminal escaped like any name.
pub fn shown_name(name: &OsStr) -> String {
    match name.to_str() {
        Some(s) => s.to_string(),
        None => name.as_encoded_bytes().escape_ascii().to_string(),
    }
}

/// What the file system says about a name, without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Regular,
    Symlink,
    Directory,
    Fifo,
    Socket,
    BlockDevice,
    CharDevice,
    Unknown,
}

impl Kind {
    /// The stable name written into dead letters (`file_type`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Regular => "regular",
            Kind::Symlink => "symlink",
            Kind::Directory => "directory",
            Kind::Fifo => "fifo",
            Kind::Socket => "socket",
            Kind::BlockDevice => "block_device",
            Kind::CharDevice => "char_device",
            Kind::Unknown => "unknown",
        }
    }

    fn of(ft: std::fs::FileType) -> Kind {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            if ft.is_fifo() {
                return Kind::Fifo;
            }
            if ft.is_socket() {
                return Kind::Socket;
            }
            if ft.is_block_device() {
                return Kind::BlockDevice;
            }
            if ft.is_char_device() {
                return Kind::CharDevice;
            }
        }
        if ft.is_symlink() {
            Kind::Symlink
        } else if ft.is_dir() {
            Kind::Directory
        } else if ft.is_file() {
            Kind::Regular
        } else {
            Kind::Unknown
        }
    }
}

/// A command file that passed the file checks: its bytes were read from the
/// descriptor those checks were made on, and the descriptor stays open.
#[derive(Debug)]
pub struct Verified {
    pub file: File,
    pub bytes: Vec<u8>,
    pub modified: Option<std::time::SystemTime>,
    /// (device, inode) of the verified file.
    pub identity: (u64, u64),
}

/// A refusal at the file layer: what was found, never what it contains.
#[derive(Debug)]
pub struct Refused {
    pub rejection: Rejection,
    pub kind: Kind,
    /// The size the file system reports (0 when it was never opened).
    pub size: u64,
    pub modified: Option<std::time::SystemTime>,
    /// (device, inode) of what was looked at.
    pub identity: Option<(u64, u64)>,
}

/// What taking a name gave.
#[derive(Debug)]
pub enum Taken {
    Verified(Verified),
    Refused(Box<Refused>),
}

/// Open, check and read `commands/<name>`: a verified file, or one the
/// bridge refuses; `Err` is an I/O error (`NotFound` when it vanished).
/// `name` is the name's bytes, UTF-8 or not (messages show it as
/// [`shown_name`]). `own_link` is the one other name the file may have: the
/// bridge's own archive of it (`archive/<id>.json`, linked to it before a
/// crash that came before its removal from `commands/`).
pub fn open_verified(
    dir: &Path,
    name: impl AsRef<OsStr>,
    max_bytes: u64,
    own_link: Option<&Path>,
) -> std::io::Result<Taken> {
    match take(dir, name.as_ref(), max_bytes, own_link) {
        Ok(v) => Ok(Taken::Verified(v)),
        Err(Ok(r)) => Ok(Taken::Refused(Box::new(r))),
        Err(Err(e)) => Err(e),
    }
}

/// The answer of each step of taking a file: go on, or stop with a refusal
/// (`Ok`) or an I/O error (`Err`).
type Taking<T> = Result<T, Result<Refused, std::io::Error>>;

#[allow(clippy::result_large_err)] // private; the public face is `Taken`
fn take(dir: &Path, name: &OsStr, max_bytes: u64, own_link: Option<&Path>) -> Taking<Verified> {
    let path = dir.join(name);
    let at = format!("commands/{}", shown_name(name));
    // A first look that opens nothing: a FIFO, a socket or a device is never
    // opened (opening some devices has effects of its own).
    let meta = std::fs::symlink_metadata(&path).map_err(Err)?;
    let kind = Kind::of(meta.file_type());
    let modified = meta.modified().ok();
    if kind != Kind::Regular {
        let mut r = refused(&at, kind, meta.len(), modified);
        r.identity = Some(links_and_identity(&meta).1);
        return Err(Ok(r));
    }
    let file = open_nofollow(&path).map_err(|e| open_failed(&at, e, &meta))?;
    // From here on only the descriptor counts: whatever the name now points
    // to, this is the file that is checked and read.
    let opened = Opened::of(&at, &file.metadata().map_err(Err)?);
    opened.check(max_bytes, own_link)?;
    let bytes = opened.read(&file, max_bytes)?;
    Ok(Verified {
        file,
        bytes,
        modified: opened.modified,
        identity: opened.identity,
    })
}

/// Why opening a regular file failed: swapped for a symlink or a socket
/// since the look, or unreadable (refused); else an I/O error.
fn open_failed(
    at: &str,
    e: std::io::Error,
    meta: &std::fs::Metadata,
) -> Result<Refused, std::io::Error> {
    let modified = meta.modified().ok();
    match e.raw_os_error() {
        // Swapped for a symlink (ELOOP) or a socket (ENXIO) since the look.
        Some(code) if code == rustix::io::Errno::LOOP.raw_os_error() => {
            Ok(refused(at, Kind::Symlink, 0, modified))
        }
        Some(code) if code == rustix::io::Errno::NXIO.raw_os_error() => {
            Ok(refused(at, Kind::Socket, 0, modified))
        }
        // A file the executor may not read must not stop every later pass.
        _ if e.kind() == std::io::ErrorKind::PermissionDenied => Ok(Refused {
            rejection: Rejection::new(
                Reason::Unreadable,
                format!("{at} cannot be opened by the executor: {e}"),
            )
            .hint("write commands readable by the user running `warden bridge run`"),
            kind: Kind::Regular,
            size: meta.len(),
            modified,
            identity: Some(links_and_identity(meta).1),
        }),
        _ => Err(e),
    }
}

/// What the opened descriptor says about the file being taken.
struct Opened<'a> {
    at: &'a str,
    kind: Kind,
    size: u64,
    modified: Option<std::time::SystemTime>,
    links: u64,
    identity: (u64, u64),
}

impl<'a> Opened<'a> {
    fn of(at: &'a str, meta: &std::fs::Metadata) -> Opened<'a> {
        let (links, identity) = links_and_identity(meta);
        Opened {
            at,
            kind: Kind::of(meta.file_type()),
            size: meta.len(),
            modified: meta.modified().ok(),
            links,
            identity,
        }
    }

    /// The checks on the descriptor: still linked, a regular file, no other
    /// name than the bridge's own archive, not empty, within the limit.
    #[allow(clippy::result_large_err)] // private; the public face is `Taken`
    fn check(&self, max_bytes: u64, own_link: Option<&Path>) -> Taking<()> {
        let at = self.at;
        if self.links == 0 {
            // Replaced or removed since it was opened: what the name holds now is
            // another file, taken (and checked) at the next pass.
            return Err(Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{at} was replaced while it was being taken"),
            )));
        }
        if self.kind != Kind::Regular {
            let r = refused(at, self.kind, self.size, self.modified);
            return Err(Ok(self.identified(r)));
        }
        let archived_by_us = self.links == 2
            && own_link.is_some_and(|p| {
                std::fs::symlink_metadata(p)
                    .is_ok_and(|m| links_and_identity(&m).1 == self.identity)
            });
        if self.links != 1 && !archived_by_us {
            return Err(Ok(self.refuse(Rejection::new(
                Reason::HardLink,
                format!(
                    "{at} has {} links: it is also a file elsewhere, so its content is not the sender's to give; it was not read",
                    self.links
                ),
            )
            .hint("write the command as a new file of its own (write to a temp name, then rename it into commands/)"))));
        }
        if self.size == 0 {
            return Err(Ok(
                self.refuse(Rejection::new(Reason::Empty, format!("{at} is empty")))
            ));
        }
        if self.size > max_bytes {
            let r = too_large(at, self.size, max_bytes, self.modified);
            return Err(Ok(self.identified(r)));
        }
        Ok(())
    }

    /// Read the content through the descriptor, bounded: a file that grows
    /// while it is read is cut at the limit + 1 and refused, never read whole.
    #[allow(clippy::result_large_err)] // private; the public face is `Taken`
    fn read(&self, file: &File, max_bytes: u64) -> Taking<Vec<u8>> {
        let mut bytes = Vec::with_capacity(usize::try_from(self.size).unwrap_or(0));
        file.take(max_bytes + 1)
            .read_to_end(&mut bytes)
            .map_err(Err)?;
        if bytes.len() as u64 > max_bytes {
            let r = too_large(self.at, bytes.len() as u64, max_bytes, self.modified);
            return Err(Ok(self.identified(r)));
        }
        Ok(bytes)
    }

    fn refuse(&self, rejection: Rejection) -> Refused {
        Refused {
            rejection,
            kind: self.kind,
            size: self.size,
            modified: self.modified,
            identity: Some(self.identity),
        }
    }

    fn identified(&self, mut r: Refused) -> Refused {
        r.identity = Some(self.identity);
        r
    }
}

fn refused(at: &str, kind: Kind, size: u64, modified: Option<std::time::SystemTime>) -> Refused {
    let rejection = match kind {
        Kind::Symlink => Rejection::new(
            Reason::Symlink,
            format!("{at} is a symlink; it was not followed or read"),
        )
        .hint("write the command as a plain file in commands/, not a link to one"),
        other => Rejection::new(
            Reason::NotRegular,
            format!(
                "{at} is a {}, not a regular file; it was not opened or read",
                other.as_str().replace('_', " ")
            ),
        )
        .hint("write the command as a plain file"),
    };
    Refused {
        rejection,
        kind,
        size,
        modified,
        identity: None,
    }
}

fn too_large(at: &str, size: u64, max: u64, modified: Option<std::time::SystemTime>) -> Refused {
    Refused {
        rejection: Rejection::new(
            Reason::TooLarge,
            format!("{at} is {size} bytes or more; the limit is {max}; it was not read"),
        )
        .hint("split the change into several commands"),
        kind: Kind::Regular,
        size,
        modified,
        identity: None,
    }
}

#[cfg(unix)]
fn open_nofollow(path: &Path) -> std::io::Result<File> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
    )?;
    Ok(File::from(fd))
}

#[cfg(not(unix))]
fn open_nofollow(path: &Path) -> std::io::Result<File> {
    File::open(path)
}

#[cfg(unix)]
fn links_and_identity(meta: &std::fs::Metadata) -> (u64, (u64, u64)) {
    use std::os::unix::fs::MetadataExt;
    (meta.nlink(), (meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn links_and_identity(_meta: &std::fs::Metadata) -> (u64, (u64, u64)) {
    (1, (0, 0))
}

/// Whether `path` still names what was taken (same device and inode),
/// looked at without following a link.
pub fn still_names(path: &Path, identity: (u64, u64)) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| links_and_identity(&m).1 == identity)
}

/// Give the verified file a second name `dst` (the archive) through its
/// descriptor, never through its name in `commands/`: on Linux by linking
/// `/proc/self/fd/N`. Returns false when that is not possible here (the
/// caller copies the verified bytes instead).
pub fn link_verified(file: &File, dst: &Path) -> bool {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let src = format!("/proc/self/fd/{}", file.as_raw_fd());
        rustix::fs::linkat(
            rustix::fs::CWD,
            src.as_str(),
            rustix::fs::CWD,
            dst,
            rustix::fs::AtFlags::SYMLINK_FOLLOW,
        )
        .is_ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (file, dst);
        false
    }
}

/// Whether the verified file still holds exactly `bytes`, read through its
/// descriptor (positioned reads; the name is not used).
pub fn holds(file: &File, bytes: &[u8]) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        let Ok(meta) = file.metadata() else {
            return false;
        };
        if meta.len() != bytes.len() as u64 {
            return false;
        }
        let mut buf = vec![0u8; bytes.len()];
        file.read_exact_at(&mut buf, 0).is_ok() && buf == bytes
    }
    #[cfg(not(unix))]
    {
        let _ = (file, bytes);
        false
    }
}

/// Wait until every `commands/*.json` is `settle` old (the settle time
/// guards against half-written files), for at most `settle` + 1 s: a file
/// still being rewritten after that is left for the next pass.
pub fn settle(layout: &crate::layout::Layout, settle: std::time::Duration) {
    let deadline = std::time::Instant::now() + settle + std::time::Duration::from_secs(1);
    loop {
        let youngest = std::fs::read_dir(layout.commands())
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
            .filter_map(|e| e.metadata().ok()?.modified().ok())
            .map(warden_core::context::age_of)
            .min();
        let Some(age) = youngest.filter(|a| *a < settle) else {
            return;
        };
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep((settle - age + std::time::Duration::from_millis(5)).min(left));
    }
}
