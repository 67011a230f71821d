//! The journal: an append-only file of framed records (`.warden/state/journal`)
//! that is both the write-ahead intent log (G5) and the snapshot store behind
//! rollback handles (G1).
//!
//! Before a run touches the tree it appends an *intent* frame holding, for every
//! path, the before-state (with its full content, or for a file bigger than
//! [`crate::content::LARGE`] the name of its content store entry) and the
//! after-state digest, and
//! fsyncs it — one fsync, because the file already exists. When the run is
//! ledgered a small *done* frame follows (not fsynced: the ledger entry is the
//! commit point). At start, a last frame that is an intent means a run was
//! interrupted; recovery decides forward or back from the ledger. The done
//! frame of an applied run also holds the settled stamps of the big files it
//! wrote ([`Written`]), so that its undo need not hash them again.
//!
//! Frames: `WRDNFRM1 | u64 body_len | body | u64 body_len | sha256(body) | WRDNEND\n`
//! with body = `u32 json_len | json header | blobs`. The trailer lets the last
//! frame be read from the end; a torn tail (crash mid-append) fails its checksum
//! and is cut off after a forward scan. Rollback handles are (offset, length,
//! digest) of an intent frame; the file lives outside git, so `git gc` cannot
//! touch it.

use crate::content::Stamp;
use crate::digest::Digest;
use crate::error::{Error, IoContext, Result};
use crate::paths::RepoPath;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

const HEAD_MAGIC: &[u8; 8] = b"WRDNFRM1";
const TAIL_MAGIC: &[u8; 8] = b"WRDNEND\n";
const HEAD_LEN: u64 = 16;
const TAIL_LEN: u64 = 48;

/// A file's state as recorded in the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum StateRecord {
    Absent,
    File {
        digest: Digest,
        mode: u32,
        /// (offset, length) of the content in the frame's blob area; before-states only.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        blob: Option<(u64, u64)>,
        /// The content store entry (`<RUN>/<n>`, see [`crate::store`]) that
        /// holds the content instead of the blob area: before-states bigger
        /// than [`crate::content::LARGE`]. Absent in journals written before
        /// the store existed, whose content is always in the blob area.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        store: Option<String>,
    },
}

impl StateRecord {
    pub fn digest(&self) -> Option<Digest> {
        match self {
            StateRecord::Absent => None,
            StateRecord::File { digest, .. } => Some(*digest),
        }
    }
    /// Same content and mode, ignoring where the content is stored.
    pub fn same(&self, other: &StateRecord) -> bool {
        match (self, other) {
            (StateRecord::Absent, StateRecord::Absent) => true,
            (
                StateRecord::File {
                    digest: a,
                    mode: ma,
                    ..
                },
                StateRecord::File {
                    digest: b,
                    mode: mb,
                    ..
                },
            ) => a == b && ma == mb,
            _ => false,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TransitionRecord {
    pub path: RepoPath,
    pub before: StateRecord,
    pub after: StateRecord,
    /// Temp file (same directory) the after-content is staged in, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temp: Option<RepoPath>,
}

/// A directory's state before a run: every ancestor directory of a path the
/// run changes is recorded, so rollback and undo can put directories back
/// (existence and mode) as well as files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirRecord {
    pub path: RepoPath,
    /// Mode bits of the directory; `None` when it did not exist.
    pub mode: Option<u32>,
}

/// Everything recovery needs to finish or undo a run and ledger it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Intent {
    pub run: String,
    /// The ledger entry this run will append, minus chain fields and result.
    pub meta: serde_json::Value,
    pub transitions: Vec<TransitionRecord>,
    /// Before-states of the directories above the changed paths, outermost
    /// first. Absent in journals written before directories were recorded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dirs: Vec<DirRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FrameHeader {
    Intent(Intent),
    Done {
        run: String,
        result: String,
        /// The big files the run wrote, with the stamps they had once they
        /// settled (see [`Written`]); empty for any other run.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        written: Vec<Written>,
    },
}

/// A big file an applied run wrote, and its [`Stamp`] once it could be
/// trusted: an undo that finds the file with this stamp knows it still
/// holds what the run wrote, without hashing it again (as `git status`
/// trusts its index). Only the lock holder writes the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Written {
    pub path: RepoPath,
    pub stamp: Stamp,
}

/// Where a frame lives: the rollback handle of an intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FrameRef {
    pub offset: u64,
    pub len: u64,
    pub digest: Digest,
}

/// A frame read back: header plus its blob area.
#[derive(Debug)]
pub struct Frame {
    pub at: FrameRef,
    pub header: FrameHeader,
    blobs: Vec<u8>,
}

impl Frame {
    pub fn blob(&self, (off, len): (u64, u64)) -> Result<&[u8]> {
        let range = usize::try_from(off)
            .ok()
            .zip(off.checked_add(len).and_then(|e| usize::try_from(e).ok()));
        range
            .and_then(|(s, e)| self.blobs.get(s..e))
            .ok_or_else(|| {
                Error::Internal(format!(
                    "journal frame at {} has a blob out of range",
                    self.at.offset
                ))
            })
    }
}

pub enum Tail {
    Empty,
    Frame(Box<Frame>),
    /// The end of the file is not a complete frame.
    Torn,
}

#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
}

/// Encode a frame; blobs are appended after the JSON header.
pub fn encode(header: &FrameHeader, blobs: &[u8]) -> Result<Vec<u8>> {
    let json = serde_json::to_vec(header).map_err(|e| Error::Internal(e.to_string()))?;
    let body_len = 4 + json.len() as u64 + blobs.len() as u64;
    let mut out = Vec::with_capacity((HEAD_LEN + body_len + TAIL_LEN) as usize);
    out.extend_from_slice(HEAD_MAGIC);
    out.extend_from_slice(&body_len.to_le_bytes());
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(blobs);
    let digest = Digest::of(&out[HEAD_LEN as usize..]);
    out.extend_from_slice(&body_len.to_le_bytes());
    out.extend_from_slice(&digest.0);
    out.extend_from_slice(TAIL_MAGIC);
    Ok(out)
}

/// The body length a frame's 16-byte head announces, if it is a head.
fn parse_head(head: &[u8]) -> Option<u64> {
    if head.len() < HEAD_LEN as usize || &head[..8] != HEAD_MAGIC {
        return None;
    }
    Some(u64::from_le_bytes(head[8..16].try_into().ok()?))
}

/// The body length and digest a frame's 48-byte trailer holds, if it is one.
fn parse_trailer(tail: &[u8]) -> Option<(u64, Digest)> {
    if tail.len() != TAIL_LEN as usize || &tail[40..] != TAIL_MAGIC {
        return None;
    }
    let body_len = u64::from_le_bytes(tail[..8].try_into().ok()?);
    Some((body_len, Digest(tail[8..40].try_into().ok()?)))
}

/// The whole length of a frame with this body length (None on overflow).
fn frame_len(body_len: u64) -> Option<u64> {
    body_len.checked_add(HEAD_LEN + TAIL_LEN)
}

/// Check and decode the bytes of one whole frame found at `at` (magic, both
/// lengths, checksum, header JSON). Pure: the file reader and the fuzz target
/// share it. `path` names the journal in errors.
pub fn decode(buf: &[u8], at: FrameRef, path: &Path) -> Result<Frame> {
    let corrupt = |m: &str| Error::Corrupt {
        path: path.to_path_buf(),
        message: format!("frame at offset {}: {m}", at.offset),
    };
    let body_len = (buf.len() as u64)
        .checked_sub(HEAD_LEN + TAIL_LEN)
        .ok_or_else(|| corrupt("shorter than a frame"))?;
    if parse_head(buf) != Some(body_len) {
        return Err(corrupt("bad frame header"));
    }
    let body = &buf[HEAD_LEN as usize..(HEAD_LEN + body_len) as usize];
    let trailer = parse_trailer(&buf[buf.len() - TAIL_LEN as usize..]);
    if trailer != Some((body_len, at.digest)) || Digest::of(body) != at.digest {
        return Err(corrupt("checksum mismatch"));
    }
    let json_len = u32::from_le_bytes(
        body.get(..4)
            .ok_or_else(|| corrupt("short body"))?
            .try_into()
            .map_err(|_| corrupt("short body"))?,
    ) as usize;
    let json = body
        .get(4..)
        .and_then(|b| b.get(..json_len))
        .ok_or_else(|| corrupt("header out of range"))?;
    let header: FrameHeader =
        serde_json::from_slice(json).map_err(|e| corrupt(&format!("bad header: {e}")))?;
    Ok(Frame {
        at,
        header,
        blobs: body[4 + json_len..].to_vec(),
    })
}

/// The frame that ends at `end` of `bytes`, if a valid one does (what
/// [`Journal::tail`] reads from the file).
pub fn frame_ending_at(bytes: &[u8], end: u64, path: &Path) -> Option<Frame> {
    let end_us = usize::try_from(end).ok()?;
    if end_us > bytes.len() || end < HEAD_LEN + TAIL_LEN + 4 {
        return None;
    }
    let (body_len, digest) = parse_trailer(&bytes[end_us - TAIL_LEN as usize..end_us])?;
    let start = end.checked_sub(frame_len(body_len)?)?;
    let at = FrameRef {
        offset: start,
        len: end - start,
        digest,
    };
    decode(&bytes[start as usize..end_us], at, path).ok()
}

/// A whole journal read from memory: the valid frames from the start, in
/// order, and the length of that valid prefix. Whatever follows it is a torn
/// tail (what [`Journal::cut_torn_tail`] removes). Never panics, whatever the
/// bytes: this is the entry point of the journal fuzz target.
pub fn scan(bytes: &[u8], path: &Path) -> (Vec<Frame>, u64) {
    let mut frames = Vec::new();
    let mut pos = 0u64;
    while let Some(f) = next_frame(bytes.len() as u64, pos, |off, buf| {
        let s = usize::try_from(off).ok()?;
        buf.copy_from_slice(bytes.get(s..s.checked_add(buf.len())?)?);
        Some(())
    })
    .and_then(|end| frame_ending_at(bytes, end, path))
    .filter(|f| f.at.offset == pos)
    {
        pos += f.at.len;
        frames.push(f);
    }
    (frames, pos)
}

/// Where the frame whose head is at `pos` ends, if its head is a head and the
/// announced frame fits in `len` bytes. `read` fills a buffer from an offset.
fn next_frame(
    len: u64,
    pos: u64,
    mut read: impl FnMut(u64, &mut [u8]) -> Option<()>,
) -> Option<u64> {
    if pos.checked_add(HEAD_LEN)? > len {
        return None;
    }
    let mut head = [0u8; HEAD_LEN as usize];
    read(pos, &mut head)?;
    let end = pos.checked_add(frame_len(parse_head(&head)?)?)?;
    (end <= len).then_some(end)
}

impl Journal {
    /// Open (creating if needed) the journal at `path`.
    pub fn open(path: &Path) -> Result<Journal> {
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .io("open journal", path)?;
        Ok(Journal {
            path: path.to_path_buf(),
            file,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn len(&self) -> Result<u64> {
        Ok(self.file.metadata().io("stat", &self.path)?.len())
    }

    /// Append one encoded frame in a single write; fsync when `sync`.
    pub fn append(&mut self, frame: &[u8], sync: bool) -> Result<FrameRef> {
        let offset = self.len()?;
        self.file.write_all(frame).io("append to", &self.path)?;
        if sync {
            self.file.sync_data().io("fsync", &self.path)?;
        }
        let digest = Digest(
            frame[frame.len() - 40..frame.len() - 8]
                .try_into()
                .map_err(|_| Error::Internal("frame too short".into()))?,
        );
        Ok(FrameRef {
            offset,
            len: frame.len() as u64,
            digest,
        })
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let mut f = &self.file;
        f.seek(SeekFrom::Start(offset)).io("seek", &self.path)?;
        f.read_exact(buf).io("read", &self.path)
    }

    /// Read and check the frame that ends at `end`, if a valid one does.
    fn frame_ending_at(&self, end: u64) -> Result<Option<Frame>> {
        if end < HEAD_LEN + TAIL_LEN + 4 {
            return Ok(None);
        }
        let mut tail = [0u8; TAIL_LEN as usize];
        self.read_exact_at(end - TAIL_LEN, &mut tail)?;
        let Some((body_len, digest)) = parse_trailer(&tail) else {
            return Ok(None);
        };
        let Some(start) = frame_len(body_len).and_then(|n| end.checked_sub(n)) else {
            return Ok(None);
        };
        self.read_frame(FrameRef {
            offset: start,
            len: end - start,
            digest,
        })
        .map(Some)
        .or(Ok(None))
    }

    /// Read the frame at a rollback handle, checking magic, length and digest.
    pub fn read_frame(&self, at: FrameRef) -> Result<Frame> {
        let file_len = self.len()?;
        let fits = at.offset.checked_add(at.len).is_some_and(|e| e <= file_len);
        if at.len < HEAD_LEN + TAIL_LEN || !fits {
            return Err(Error::Corrupt {
                path: self.path.clone(),
                message: format!(
                    "frame at offset {}: beyond the end of the journal (was it truncated or replaced?)",
                    at.offset
                ),
            });
        }
        let mut buf = vec![0u8; at.len as usize];
        self.read_exact_at(at.offset, &mut buf)?;
        decode(&buf, at, &self.path)
    }

    /// The valid frame that starts where the frame at `at` ends, if any (the
    /// done frame that follows a run's intent).
    pub fn frame_after(&self, at: FrameRef) -> Result<Option<Frame>> {
        let len = self.len()?;
        let Some(pos) = at.offset.checked_add(at.len) else {
            return Ok(None);
        };
        match next_frame(len, pos, |off, buf| self.read_exact_at(off, buf).ok()) {
            Some(end) => Ok(self.frame_ending_at(end)?.filter(|f| f.at.offset == pos)),
            None => Ok(None),
        }
    }

    /// The last frame, read from the end of the file.
    pub fn tail(&self) -> Result<Tail> {
        let len = self.len()?;
        if len == 0 {
            return Ok(Tail::Empty);
        }
        Ok(match self.frame_ending_at(len)? {
            Some(f) => Tail::Frame(Box::new(f)),
            None => Tail::Torn,
        })
    }

    /// Cut off a torn tail: scan forward over valid frames and truncate after the
    /// last one. Returns the number of bytes removed.
    pub fn cut_torn_tail(&mut self) -> Result<u64> {
        let len = self.len()?;
        let mut pos = 0u64;
        loop {
            let mut failed = None;
            let end = next_frame(len, pos, |off, buf| {
                self.read_exact_at(off, buf)
                    .map_err(|e| failed = Some(e))
                    .ok()
            });
            if let Some(e) = failed {
                return Err(e);
            }
            let Some(end) = end else { break };
            if self
                .frame_ending_at(end)?
                .is_none_or(|f| f.at.offset != pos)
            {
                break;
            }
            pos = end;
        }
        if pos < len {
            self.file.set_len(pos).io("truncate", &self.path)?;
            self.file.sync_all().io("fsync", &self.path)?;
        }
        Ok(len - pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(run: &str) -> FrameHeader {
        FrameHeader::Done {
            run: run.into(),
            result: "applied".into(),
            written: Vec::new(),
        }
    }

    #[test]
    fn frames_round_trip_and_torn_tails_are_cut() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("journal");
        let mut j = Journal::open(&p).expect("open");
        assert!(matches!(j.tail().expect("tail"), Tail::Empty));
        let a = j
            .append(&encode(&done("A"), b"blob-a").expect("enc"), true)
            .expect("append");
        let b = j
            .append(&encode(&done("B"), b"").expect("enc"), false)
            .expect("append");
        let fa = j.read_frame(a).expect("read a");
        assert_eq!(fa.blob((0, 6)).expect("blob"), b"blob-a");
        match j.tail().expect("tail") {
            Tail::Frame(f) => assert_eq!(f.at, b),
            _ => panic!("expected a frame"),
        }
        // A crash mid-append leaves half a frame.
        let third = encode(&done("C"), b"xyz").expect("enc");
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .expect("open")
            .write_all(&third[..20])
            .expect("write");
        let mut j = Journal::open(&p).expect("open");
        assert!(matches!(j.tail().expect("tail"), Tail::Torn));
        assert_eq!(j.cut_torn_tail().expect("cut"), 20);
        assert!(matches!(j.tail().expect("tail"), Tail::Frame(f) if f.at == b));
    }

    #[test]
    fn tampered_frame_is_detected() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("journal");
        let mut j = Journal::open(&p).expect("open");
        let a = j
            .append(&encode(&done("A"), b"content").expect("enc"), true)
            .expect("append");
        let mut bytes = std::fs::read(&p).expect("read");
        let n = bytes.len();
        bytes[n - 50] ^= 1;
        std::fs::write(&p, bytes).expect("write");
        let j = Journal::open(&p).expect("open");
        assert!(j.read_frame(a).is_err());
    }

    #[test]
    fn a_hostile_length_in_a_frame_head_or_trailer_does_not_overflow() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("journal");
        let good = encode(&done("A"), b"x").expect("enc");
        // A head announcing u64::MAX bytes after one good frame.
        let mut bytes = good.clone();
        bytes.extend_from_slice(HEAD_MAGIC);
        bytes.extend_from_slice(&u64::MAX.to_le_bytes());
        bytes.extend_from_slice(&[0u8; 60]);
        // A trailer announcing u64::MAX - 10 bytes at the very end.
        bytes.extend_from_slice(&(u64::MAX - 10).to_le_bytes());
        bytes.extend_from_slice(&[0u8; 32]);
        bytes.extend_from_slice(TAIL_MAGIC);
        let (frames, valid) = scan(&bytes, &p);
        assert_eq!(frames.len(), 1);
        assert_eq!(valid, good.len() as u64);
        std::fs::write(&p, &bytes).expect("write");
        let mut j = Journal::open(&p).expect("open");
        assert!(matches!(j.tail().expect("tail"), Tail::Torn));
        assert_eq!(
            j.cut_torn_tail().expect("cut"),
            (bytes.len() - good.len()) as u64
        );
        let far = FrameRef {
            offset: u64::MAX - 4,
            len: 100,
            digest: Digest::of(b""),
        };
        assert!(
            j.read_frame(far).is_err(),
            "a handle past u64::MAX is refused"
        );
    }

    #[test]
    fn a_blob_range_past_usize_is_an_error_not_a_panic() {
        let f = Frame {
            at: FrameRef {
                offset: 0,
                len: 0,
                digest: Digest::of(b""),
            },
            header: done("A"),
            blobs: b"abc".to_vec(),
        };
        assert_eq!(f.blob((1, 2)).expect("in range"), b"bc");
        assert!(f.blob((u64::MAX, 2)).is_err());
        assert!(f.blob((2, u64::MAX)).is_err());
    }

    #[test]
    fn scan_agrees_with_the_file_reader() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("journal");
        let mut j = Journal::open(&p).expect("open");
        let refs: Vec<FrameRef> = ["A", "B", "C"]
            .iter()
            .map(|r| {
                j.append(&encode(&done(r), r.as_bytes()).expect("enc"), false)
                    .expect("append")
            })
            .collect();
        let bytes = std::fs::read(&p).expect("read");
        let (frames, valid) = scan(&bytes, &p);
        assert_eq!(valid, bytes.len() as u64);
        assert_eq!(frames.iter().map(|f| f.at).collect::<Vec<_>>(), refs);
        for r in refs {
            let f = j.read_frame(r).expect("read");
            assert_eq!(f.at, r);
        }
    }
}
