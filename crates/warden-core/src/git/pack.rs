//! A writer of git objects straight into one pack file and its index, for
//! callers that write many related commits at once (bridge publish: one
//! commit per command, each adding files to the same large directories).
//!
//! `git fast-import` does the same job but must rediscover what changed: it
//! hashes every tree with collision-detecting SHA-1 and finds a delta
//! between each tree and its previous version by scanning both. Here the
//! caller's tree model knows which entries changed, so a tree's delta
//! against its previous version is built from the entries alone
//! ([`entry_delta`]), and only the object ids are hashed.
//!
//! The format is git's own (`Documentation/gitformat-pack.txt`): a version 2
//! pack of whole objects and `OFS_DELTA`s (every base earlier in the same
//! pack, so the pack is self-contained), its version 2 `.idx`, both
//! written to temporary files, flushed, and renamed into `objects/pack/`
//! (the pack first: git only sees a pack through its index). Delta chains
//! stop at [`MAX_DEPTH`], the depth `fast-import` and `pack-objects` use, so
//! a push reuses the deltas as they are. SHA-1 repositories only.

use flate2::{Compress, Compression, FlushCompress, Status};
use sha1::{Digest, Sha1};
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The longest delta chain written (fast-import's and pack-objects' default).
pub const MAX_DEPTH: u32 = 50;

/// A SHA-1 object id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Oid(pub [u8; 20]);

impl Oid {
    /// Forty lower-case hex digits.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// From forty hex digits.
    pub fn from_hex(s: &str) -> Option<Oid> {
        let mut b = [0u8; 20];
        hex::decode_to_slice(s, &mut b).ok()?;
        Some(Oid(b))
    }
}

/// The object kinds a pack holds whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Commit = 1,
    Tree = 2,
    Blob = 3,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Commit => "commit",
            Kind::Tree => "tree",
            Kind::Blob => "blob",
        }
    }
}

/// The id git gives an object of `kind` with `body`.
pub fn object_id(kind: Kind, body: &[u8]) -> Oid {
    let mut h = Sha1::new();
    h.update(format!("{} {}\0", kind.name(), body.len()).as_bytes());
    h.update(body);
    Oid(h.finalize().into())
}

const OFS_DELTA: u8 = 6;

/// One object's place in the pack, for the index.
struct Placed {
    oid: Oid,
    offset: u64,
    crc: u32,
}

/// Objects written so far into a temporary pack file.
pub struct PackWriter {
    dir: PathBuf,
    tmp: PathBuf,
    /// None once finished (the temporary file is then renamed or gone).
    out: Option<BufWriter<File>>,
    offset: u64,
    placed: Vec<Placed>,
    seen: HashMap<Oid, (u64, u32)>,
    zlib: Compress,
}

impl std::fmt::Debug for PackWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackWriter")
            .field("tmp", &self.tmp)
            .field("objects", &self.placed.len())
            .finish()
    }
}

/// Where a written object is, to make later versions deltas of it.
#[derive(Debug, Clone, Copy)]
pub struct Base {
    offset: u64,
    depth: u32,
}

impl PackWriter {
    /// Start a pack in `pack_dir` (a repository's `objects/pack`).
    pub fn create(pack_dir: &Path) -> io::Result<PackWriter> {
        let mut suffix = [0u8; 8];
        getrandom::fill(&mut suffix).map_err(|e| io::Error::other(e.to_string()))?;
        let tmp = pack_dir.join(format!("tmp_pack_warden_{}", hex::encode(suffix)));
        let file = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        let mut out = BufWriter::with_capacity(1 << 16, file);
        // The object count is filled in by `finish`.
        out.write_all(b"PACK\0\0\0\x02\0\0\0\0")?;
        Ok(PackWriter {
            dir: pack_dir.to_path_buf(),
            tmp,
            out: Some(out),
            offset: 12,
            placed: Vec::new(),
            seen: HashMap::new(),
            zlib: Compress::new(Compression::fast(), true),
        })
    }

    /// How many objects are in the pack so far.
    pub fn len(&self) -> usize {
        self.placed.len()
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.placed.is_empty()
    }

    /// Write a whole object; its id and where it is. An object already in
    /// this pack is not written twice.
    pub fn whole(&mut self, kind: Kind, body: &[u8]) -> io::Result<(Oid, Base)> {
        let oid = object_id(kind, body);
        if let Some(&(offset, depth)) = self.seen.get(&oid) {
            return Ok((oid, Base { offset, depth }));
        }
        let head = header(kind as u8, body.len() as u64);
        let offset = self.offset;
        let deflated = deflate(&mut self.zlib, body)?;
        self.place(oid, &head, &deflated, 0)?;
        Ok((oid, Base { offset, depth: 0 }))
    }

    /// Write `body` (whose id is `oid`) as a delta of `base`: `delta` is
    /// git's delta encoding from the base's body to `body`. Past
    /// [`MAX_DEPTH`], or when the delta is not smaller, the object goes in
    /// whole.
    pub fn delta(
        &mut self,
        kind: Kind,
        body: &[u8],
        base: Base,
        delta: &[u8],
    ) -> io::Result<(Oid, Base)> {
        if base.depth >= MAX_DEPTH || delta.len() >= body.len() {
            return self.whole(kind, body);
        }
        let oid = object_id(kind, body);
        if let Some(&(offset, depth)) = self.seen.get(&oid) {
            return Ok((oid, Base { offset, depth }));
        }
        let offset = self.offset;
        let mut head = header(OFS_DELTA, delta.len() as u64);
        head.extend(negative_offset(offset - base.offset));
        let deflated = deflate(&mut self.zlib, delta)?;
        let depth = base.depth + 1;
        self.place(oid, &head, &deflated, depth)?;
        Ok((oid, Base { offset, depth }))
    }

    fn place(&mut self, oid: Oid, head: &[u8], data: &[u8], depth: u32) -> io::Result<()> {
        let mut crc = crc32fast::Hasher::new();
        crc.update(head);
        crc.update(data);
        let out = self
            .out
            .as_mut()
            .ok_or_else(|| io::Error::other("the pack is sealed"))?;
        out.write_all(head)?;
        out.write_all(data)?;
        self.placed.push(Placed {
            oid,
            offset: self.offset,
            crc: crc.finalize(),
        });
        self.seen.insert(oid, (self.offset, depth));
        self.offset += (head.len() + data.len()) as u64;
        Ok(())
    }

    /// Seal the pack (its object count and checksum), write its index, flush
    /// both and rename them into place; the pack's path. An empty pack is
    /// removed instead (`None`).
    pub fn finish(mut self) -> io::Result<Option<PathBuf>> {
        let Some(out) = self.out.take() else {
            return Ok(None);
        };
        if self.placed.is_empty() {
            drop(out);
            std::fs::remove_file(&self.tmp)?;
            return Ok(None);
        }
        let idx_tmp = self.tmp.with_extension("idx");
        // A failure (a full disk at the last flush) leaves nothing behind.
        self.seal(out, &idx_tmp).map(Some).inspect_err(|_| {
            let _ = std::fs::remove_file(&self.tmp);
            let _ = std::fs::remove_file(&idx_tmp);
        })
    }

    /// The sealed pack's bytes, for a caller that stores its objects another
    /// way (`git unpack-objects`, as `fast-import` does with a pack of few
    /// objects); None when it holds none. The temporary file is removed.
    pub fn into_bytes(mut self) -> io::Result<Option<Vec<u8>>> {
        let Some(out) = self.out.take() else {
            return Ok(None);
        };
        let sealed = if self.placed.is_empty() {
            drop(out);
            Ok(None)
        } else {
            self.trailer(out).and_then(|(mut file, _)| {
                let mut bytes = Vec::new();
                file.seek(SeekFrom::Start(0))?;
                file.read_to_end(&mut bytes)?;
                Ok(Some(bytes))
            })
        };
        let _ = std::fs::remove_file(&self.tmp);
        sealed
    }

    /// Write the object count and the trailing checksum; the file and the
    /// checksum.
    fn trailer(&mut self, mut out: BufWriter<File>) -> io::Result<(File, [u8; 20])> {
        out.flush()?;
        let mut file = out
            .into_inner()
            .map_err(|e| io::Error::other(e.to_string()))?;
        file.seek(SeekFrom::Start(8))?;
        file.write_all(&(self.placed.len() as u32).to_be_bytes())?;
        // The trailer is the SHA-1 of everything before it, header included.
        file.seek(SeekFrom::Start(0))?;
        let mut sum = Sha1::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut reader = (&file).take(self.offset);
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                break;
            }
            sum.update(&buf[..n]);
        }
        let checksum: [u8; 20] = sum.finalize().into();
        file.seek(SeekFrom::End(0))?;
        file.write_all(&checksum)?;
        Ok((file, checksum))
    }

    fn seal(&mut self, out: BufWriter<File>, idx_tmp: &Path) -> io::Result<PathBuf> {
        let (file, checksum) = self.trailer(out)?;
        file.sync_all()?;
        let name = format!("pack-{}", hex::encode(checksum));
        let pack = self.dir.join(format!("{name}.pack"));
        write_index(idx_tmp, &mut self.placed, &checksum)?;
        read_only(&self.tmp, &self.dir)?;
        read_only(idx_tmp, &self.dir)?;
        std::fs::rename(&self.tmp, &pack)?;
        std::fs::rename(idx_tmp, self.dir.join(format!("{name}.idx")))?;
        File::open(&self.dir)?.sync_all()?;
        Ok(pack)
    }
}

/// A pack dropped before [`PackWriter::finish`] leaves nothing behind.
impl Drop for PackWriter {
    fn drop(&mut self) {
        if self.out.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Make `file` read-only, readable by whom `dir` is (as git leaves a pack:
/// `0444` within the umask, and the group's read bit in a repository
/// shared with a group, whose directories are `g+rwxs` whatever the umask).
#[cfg(unix)]
fn read_only(file: &Path, dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir_mode = std::fs::metadata(dir)?.permissions().mode();
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o444 & dir_mode))
}

#[cfg(not(unix))]
fn read_only(file: &Path, _dir: &Path) -> io::Result<()> {
    let mut p = std::fs::metadata(file)?.permissions();
    p.set_readonly(true);
    std::fs::set_permissions(file, p)
}

/// A version 2 pack index of `placed`.
fn write_index(path: &Path, placed: &mut [Placed], pack_sum: &[u8; 20]) -> io::Result<()> {
    placed.sort_by_key(|p| p.oid);
    let mut idx: Vec<u8> = Vec::with_capacity(1072 + placed.len() * 28 + 40);
    idx.extend_from_slice(b"\xfftOc\0\0\0\x02");
    let mut fanout = [0u32; 256];
    for p in placed.iter() {
        fanout[p.oid.0[0] as usize] += 1;
    }
    let mut total = 0u32;
    for f in fanout {
        total += f;
        idx.extend_from_slice(&total.to_be_bytes());
    }
    for p in placed.iter() {
        idx.extend_from_slice(&p.oid.0);
    }
    for p in placed.iter() {
        idx.extend_from_slice(&p.crc.to_be_bytes());
    }
    let mut large: Vec<u64> = Vec::new();
    for p in placed.iter() {
        if p.offset < 0x8000_0000 {
            idx.extend_from_slice(&(p.offset as u32).to_be_bytes());
        } else {
            let at = 0x8000_0000 | large.len() as u32;
            idx.extend_from_slice(&at.to_be_bytes());
            large.push(p.offset);
        }
    }
    for l in large {
        idx.extend_from_slice(&l.to_be_bytes());
    }
    idx.extend_from_slice(pack_sum);
    let sum: [u8; 20] = Sha1::digest(&idx).into();
    idx.extend_from_slice(&sum);
    let mut f = File::options().write(true).create_new(true).open(path)?;
    f.write_all(&idx)?;
    f.sync_all()
}

/// An object's header: its type and (inflated) size.
fn header(kind: u8, mut size: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(10);
    let mut byte = (kind << 4) | (size & 0x0f) as u8;
    size >>= 4;
    while size != 0 {
        out.push(byte | 0x80);
        byte = (size & 0x7f) as u8;
        size >>= 7;
    }
    out.push(byte);
    out
}

/// The distance back to an `OFS_DELTA`'s base, as git encodes it.
fn negative_offset(mut n: u64) -> Vec<u8> {
    let mut out = vec![(n & 0x7f) as u8];
    n >>= 7;
    while n != 0 {
        n -= 1;
        out.push(0x80 | (n & 0x7f) as u8);
        n >>= 7;
    }
    out.reverse();
    out
}

/// Below this size an object is stored in its zlib stream uncompressed:
/// compressing a delta of a few dozen bytes costs more (miniz clears its
/// tables and builds Huffman codes per stream) than its bytes are worth.
const STORE_BELOW: usize = 4096;

/// One zlib stream of `bytes`: stored as they are when small, else
/// compressed with a compressor reused across objects (setting one up
/// clears a few hundred KiB of tables).
fn deflate(z: &mut Compress, bytes: &[u8]) -> io::Result<Vec<u8>> {
    if bytes.len() < STORE_BELOW {
        return Ok(stored(bytes));
    }
    z.reset();
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 8 + 64);
    loop {
        let done = z.total_in() as usize;
        let status = z
            .compress_vec(&bytes[done..], &mut out, FlushCompress::Finish)
            .map_err(|e| io::Error::other(e.to_string()))?;
        if status == Status::StreamEnd {
            return Ok(out);
        }
        out.reserve(out.capacity().max(64));
    }
}

/// A zlib stream of one stored (uncompressed) final block (RFC 1950/1951).
fn stored(bytes: &[u8]) -> Vec<u8> {
    debug_assert!(bytes.len() <= 0xffff);
    let len = bytes.len() as u16;
    let mut out = Vec::with_capacity(bytes.len() + 11);
    // CMF: deflate, 32 KiB window; FLG: no dictionary, fastest, check bits.
    out.extend_from_slice(&[0x78, 0x01, 0x01]);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(bytes);
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in bytes.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

/// git's delta encoding: instructions that build a target from a base.
#[derive(Debug)]
pub struct DeltaBuilder {
    out: Vec<u8>,
    pending: Vec<u8>,
    copy: Option<(u64, u64)>,
}

impl DeltaBuilder {
    /// A delta from a base of `base_len` bytes to a target of `target_len`.
    pub fn new(base_len: u64, target_len: u64) -> DeltaBuilder {
        let mut out = Vec::new();
        varint(&mut out, base_len);
        varint(&mut out, target_len);
        DeltaBuilder {
            out,
            pending: Vec::new(),
            copy: None,
        }
    }

    /// Copy `len` bytes of the base from `at`.
    pub fn copy(&mut self, at: u64, len: u64) {
        if len == 0 {
            return;
        }
        self.flush_insert();
        match &mut self.copy {
            Some((start, n)) if *start + *n == at => *n += len,
            _ => {
                self.flush_copy();
                self.copy = Some((at, len));
            }
        }
    }

    /// Add literal bytes.
    pub fn insert(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.flush_copy();
        self.pending.extend_from_slice(bytes);
    }

    fn flush_insert(&mut self) {
        for chunk in self.pending.chunks(0x7f) {
            self.out.push(chunk.len() as u8);
            self.out.extend_from_slice(chunk);
        }
        self.pending.clear();
    }

    fn flush_copy(&mut self) {
        let Some((mut at, mut len)) = self.copy.take() else {
            return;
        };
        // One instruction copies at most 0xffffff bytes from a 32-bit offset
        // (git's own encoder stays within these too).
        while len > 0 {
            let n = len.min(0x00ff_ffff);
            let mut op = 0x80u8;
            let mut args = Vec::with_capacity(7);
            for i in 0..4 {
                let b = ((at >> (8 * i)) & 0xff) as u8;
                if b != 0 {
                    op |= 1 << i;
                    args.push(b);
                }
            }
            for i in 0..3 {
                let b = ((n >> (8 * i)) & 0xff) as u8;
                if b != 0 {
                    op |= 1 << (4 + i);
                    args.push(b);
                }
            }
            self.out.push(op);
            self.out.extend_from_slice(&args);
            at += n;
            len -= n;
        }
    }

    /// The encoded delta.
    pub fn finish(mut self) -> Vec<u8> {
        self.flush_copy();
        self.flush_insert();
        self.out
    }
}

fn varint(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// Apply a delta to `base` (git's `patch_delta`): for tests and checks.
pub fn apply_delta(base: &[u8], delta: &[u8]) -> Option<Vec<u8>> {
    fn read_varint(d: &[u8], i: &mut usize) -> Option<u64> {
        let mut n = 0u64;
        let mut shift = 0;
        loop {
            let b = *d.get(*i)?;
            *i += 1;
            n |= u64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                return Some(n);
            }
        }
    }
    let mut i = 0;
    if read_varint(delta, &mut i)? != base.len() as u64 {
        return None;
    }
    let target = read_varint(delta, &mut i)? as usize;
    let mut out = Vec::with_capacity(target);
    while i < delta.len() {
        let op = delta[i];
        i += 1;
        if op & 0x80 != 0 {
            let mut at = 0usize;
            let mut len = 0usize;
            for b in 0..4 {
                if op & (1 << b) != 0 {
                    at |= usize::from(*delta.get(i)?) << (8 * b);
                    i += 1;
                }
            }
            for b in 0..3 {
                if op & (1 << (4 + b)) != 0 {
                    len |= usize::from(*delta.get(i)?) << (8 * b);
                    i += 1;
                }
            }
            if len == 0 {
                len = 0x10000;
            }
            out.extend_from_slice(base.get(at..at.checked_add(len)?)?);
        } else if op != 0 {
            out.extend_from_slice(delta.get(i..i + usize::from(op))?);
            i += usize::from(op);
        } else {
            return None;
        }
    }
    (out.len() == target).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delta_of_copies_and_inserts_rebuilds_its_target() {
        let base: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut target = base[..70_000].to_vec();
        target.extend_from_slice(&[7u8; 300]);
        target.extend_from_slice(&base[90_000..]);
        let mut d = DeltaBuilder::new(base.len() as u64, target.len() as u64);
        d.copy(0, 30_000);
        d.copy(30_000, 40_000); // joins the previous copy
        d.insert(&[7u8; 300]);
        d.copy(90_000, 110_000);
        let delta = d.finish();
        assert!(delta.len() < 400, "{}", delta.len());
        assert_eq!(apply_delta(&base, &delta).as_deref(), Some(&target[..]));
    }

    #[test]
    fn offsets_and_sizes_are_encoded_as_git_reads_them() {
        assert_eq!(header(3, 5), vec![0x35]);
        assert_eq!(header(1, 16), vec![0x90, 0x01]);
        // git's example: 128 is [0x80, 0x00] in the offset encoding.
        assert_eq!(negative_offset(127), vec![0x7f]);
        assert_eq!(negative_offset(128), vec![0x80, 0x00]);
        assert_eq!(negative_offset(16_511), vec![0xff, 0x7f]);
        assert_eq!(negative_offset(16_512), vec![0x80, 0x80, 0x00]);
    }

    #[test]
    fn incompressible_bytes_larger_than_the_first_guess_still_deflate_whole() {
        use std::io::Read as _;
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let bytes: Vec<u8> = (0..1_000_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let mut z = Compress::new(Compression::fast(), true);
        for input in [
            &bytes[..],
            b"small",
            &bytes[..10],
            b"",
            &bytes[..4095],
            &bytes[..4096],
        ] {
            let packed = deflate(&mut z, input).expect("deflate");
            let mut back = Vec::new();
            flate2::read::ZlibDecoder::new(&packed[..])
                .read_to_end(&mut back)
                .expect("inflate");
            assert_eq!(back, input);
        }
    }

    /// A disk that fills up at the last flush: `finish` fails and the
    /// temporary pack is gone (`/dev/full` stands for the full disk).
    #[cfg(target_os = "linux")]
    #[test]
    fn a_full_disk_when_the_pack_is_sealed_left_its_temporary_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut w = PackWriter::create(dir.path()).expect("create");
        let full = File::options()
            .read(true)
            .write(true)
            .open("/dev/full")
            .expect("/dev/full");
        w.out = Some(BufWriter::with_capacity(1 << 16, full));
        w.whole(Kind::Blob, b"buffered until the flush")
            .expect("whole");
        assert!(w.finish().is_err(), "the flush fails");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .expect("dir")
            .flatten()
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn a_copy_longer_than_one_instruction_is_split() {
        let base = vec![1u8; 0x0100_0005];
        let mut d = DeltaBuilder::new(base.len() as u64, base.len() as u64);
        d.copy(0, base.len() as u64);
        let delta = d.finish();
        assert_eq!(
            apply_delta(&base, &delta).map(|v| v.len()),
            Some(base.len())
        );
    }
}
