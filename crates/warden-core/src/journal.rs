//! The journal: an append-only file of framed records (`.warden/state/journal`)
//! that is both the write-ahead intent log (G5) and the snapshot store behind
//! rollback handles (G1).
//!
//! Before a run touches the tree it appends an *intent* frame holding, for every
//! path, the before-state (with its full content) and the after-state digest, and
//! fsyncs it — one fsync, because the file already exists. When the run is
//! ledgered a small *done* frame follows (not fsynced: the ledger entry is the
//! commit point). At start, a last frame that is an intent means a run was
//! interrupted; recovery decides forward or back from the ledger.
//!
//! Frames: `WRDNFRM1 | u64 body_len | body | u64 body_len | sha256(body) | WRDNEND\n`
//! with body = `u32 json_len | json header | blobs`. The trailer lets the last
//! frame be read from the end; a torn tail (crash mid-append) fails its checksum
//! and is cut off after a forward scan. Rollback handles are (offset, length,
//! digest) of an intent frame; the file lives outside git, so `git gc` cannot
//! touch it.

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
    Done { run: String, result: String },
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

fn decode_body(body: &[u8], at: FrameRef, path: &Path) -> Result<Frame> {
    let corrupt = |m: &str| Error::Corrupt {
        path: path.to_path_buf(),
        message: format!("frame at offset {}: {m}", at.offset),
    };
    let json_len = u32::from_le_bytes(
        body.get(..4)
            .ok_or_else(|| corrupt("short body"))?
            .try_into()
            .map_err(|_| corrupt("short body"))?,
    ) as usize;
    let json = body
        .get(4..4 + json_len)
        .ok_or_else(|| corrupt("header out of range"))?;
    let header: FrameHeader =
        serde_json::from_slice(json).map_err(|e| corrupt(&format!("bad header: {e}")))?;
    Ok(Frame {
        at,
        header,
        blobs: body[4 + json_len..].to_vec(),
    })
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
        if &tail[40..] != TAIL_MAGIC {
            return Ok(None);
        }
        let body_len = u64::from_le_bytes(
            tail[..8]
                .try_into()
                .map_err(|_| Error::Internal("trailer".into()))?,
        );
        let Some(start) = body_len
            .checked_add(TAIL_LEN + HEAD_LEN)
            .and_then(|n| end.checked_sub(n))
        else {
            return Ok(None);
        };
        self.read_frame(FrameRef {
            offset: start,
            len: end - start,
            digest: Digest(
                tail[8..40]
                    .try_into()
                    .map_err(|_| Error::Internal("trailer".into()))?,
            ),
        })
        .map(Some)
        .or(Ok(None))
    }

    /// Read the frame at a rollback handle, checking magic, length and digest.
    pub fn read_frame(&self, at: FrameRef) -> Result<Frame> {
        let corrupt = |m: &str| Error::Corrupt {
            path: self.path.clone(),
            message: format!("frame at offset {}: {m}", at.offset),
        };
        let file_len = self.len()?;
        if at.len < HEAD_LEN + TAIL_LEN
            || at
                .offset
                .checked_add(at.len)
                .is_none_or(|end| end > file_len)
        {
            return Err(corrupt(
                "beyond the end of the journal (was it truncated or replaced?)",
            ));
        }
        let mut buf = vec![0u8; at.len as usize];
        self.read_exact_at(at.offset, &mut buf)?;
        let body_len = at.len - HEAD_LEN - TAIL_LEN;
        if &buf[..8] != HEAD_MAGIC || buf[8..16] != body_len.to_le_bytes() {
            return Err(corrupt("bad frame header"));
        }
        let body = &buf[HEAD_LEN as usize..(HEAD_LEN + body_len) as usize];
        let digest = Digest::of(body);
        if digest != at.digest || &buf[buf.len() - 8..] != TAIL_MAGIC {
            return Err(corrupt("checksum mismatch"));
        }
        decode_body(body, at, &self.path)
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
        while pos + HEAD_LEN <= len {
            let mut head = [0u8; HEAD_LEN as usize];
            self.read_exact_at(pos, &mut head)?;
            if &head[..8] != HEAD_MAGIC {
                break;
            }
            let body_len = u64::from_le_bytes(
                head[8..]
                    .try_into()
                    .map_err(|_| Error::Internal("header".into()))?,
            );
            let Some(end) = body_len.checked_add(pos + HEAD_LEN + TAIL_LEN) else {
                break;
            };
            if end > len
                || self
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
}
