//! The index: every entry (name, kind, coding, sizes, JSON metadata, digest) and its chunk table. Parsing checks
//! every count against the bytes left and every chunk against the file, so a hostile index cannot make the
//! reader allocate more than the index's own size or read outside the file.

use daspack_checksum::Checksum;
use std::collections::HashSet;

use super::chunk::{ChunkCodec, Filters};
use super::layout::HEADER_LEN;
use super::{corrupt, Error, Result};

pub(crate) const INDEX_MAGIC: [u8; 4] = *b"DPKI";
/// Bytes of one chunk record: offset u64, stored length u32, original length u32, CRC-32 u32.
pub(crate) const CHUNK_RECORD_LEN: usize = 20;
/// Smallest possible entry record (empty name, no metadata, no digest, no chunks).
const MIN_ENTRY_LEN: usize = 2 + 8 + 8 + 4 + 4 + 8;
/// Longest entry name in bytes.
pub const MAX_NAME_LEN: usize = 4096;

/// What an entry holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// Any bytes.
    File = 0,
    /// A `.npy` file: the data region is the entry's bytes, the `.npy` header is in the metadata.
    Array = 1,
    /// An (empty) directory, so that unpacking recreates empty directories.
    Dir = 2,
}

impl EntryKind {
    fn from_code(c: u8) -> Option<EntryKind> {
        Some(match c {
            0 => EntryKind::File,
            1 => EntryKind::Array,
            2 => EntryKind::Dir,
            _ => return None,
        })
    }

    /// `file`, `array` or `dir`.
    pub fn name(self) -> &'static str {
        match self {
            EntryKind::File => "file",
            EntryKind::Array => "array",
            EntryKind::Dir => "dir",
        }
    }
}

/// One chunk's place in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkRecord {
    /// File offset of the stored bytes.
    pub offset: u64,
    /// Stored (compressed) length.
    pub stored_len: u32,
    /// Original length.
    pub orig_len: u32,
    /// CRC-32 (IEEE, as zlib) of the stored bytes.
    pub crc32: u32,
}

/// One named entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Relative path, components separated by `/`.
    pub name: String,
    pub kind: EntryKind,
    pub codec: ChunkCodec,
    pub filters: Filters,
    /// Element size the filters work on (1 for plain bytes).
    pub typesize: u8,
    /// Algorithm of [`Entry::digest`].
    pub checksum: Checksum,
    /// Compression level used (informative).
    pub level: i8,
    /// Original size in bytes.
    pub size: u64,
    /// Largest original length of a chunk.
    pub chunk_size: u32,
    /// A JSON object: `npy` (arrays), `das` (DAS-coded arrays) and user keys.
    pub metadata: serde_json::Value,
    /// Digest of the original bytes with [`Entry::checksum`].
    pub digest: Vec<u8>,
    pub chunks: Vec<ChunkRecord>,
    /// Original offset of each chunk within the entry (computed, not stored).
    pub(crate) starts: Vec<u64>,
}

impl Entry {
    /// The chunk holding original byte `pos` (`pos < size`).
    pub(crate) fn chunk_at(&self, pos: u64) -> usize {
        self.starts.partition_point(|&s| s <= pos) - 1
    }

    /// Original offset of chunk `i` within the entry.
    pub fn chunk_start(&self, i: usize) -> u64 {
        self.starts[i]
    }

    /// Sum of the stored chunk lengths.
    pub fn stored_size(&self) -> u64 {
        self.chunks.iter().map(|c| u64::from(c.stored_len)).sum()
    }

    pub(crate) fn compute_starts(&mut self) {
        let mut pos = 0u64;
        self.starts = self
            .chunks
            .iter()
            .map(|c| {
                let s = pos;
                pos += u64::from(c.orig_len);
                s
            })
            .collect();
    }
}

/// The entries of one committed state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Index {
    pub entries: Vec<Entry>,
}

/// Checks an entry name: relative, `/`-separated, no empty, `.` or `..` component, no NUL or backslash, at most
/// [`MAX_NAME_LEN`] bytes. Unpacking relies on this to never write outside its directory.
pub fn check_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(format!("entry name length {} is not in 1..={MAX_NAME_LEN}", name.len()));
    }
    if name.contains(['\0', '\\']) {
        return Err(format!("entry name {name:?} holds a NUL or a backslash"));
    }
    if name.split('/').any(|c| c.is_empty() || c == "." || c == "..") {
        return Err(format!("entry name {name:?} has an empty, '.' or '..' component (or starts with '/')"));
    }
    Ok(())
}

impl Index {
    /// The entry named `name`.
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == name)
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&INDEX_MAGIC);
        b.extend_from_slice(&(self.entries.len() as u32).to_le_bytes());
        for e in &self.entries {
            b.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
            b.extend_from_slice(e.name.as_bytes());
            let checksum_id = Checksum::ALL.iter().position(|&c| c == e.checksum).expect("known checksum") as u8;
            b.extend_from_slice(&[e.kind as u8, e.codec as u8, e.filters.bits(), e.typesize, checksum_id]);
            b.extend_from_slice(&e.level.to_le_bytes());
            b.extend_from_slice(&[0, 0]);
            b.extend_from_slice(&e.size.to_le_bytes());
            b.extend_from_slice(&e.chunk_size.to_le_bytes());
            let meta = serde_json::to_vec(&e.metadata).expect("JSON values serialise");
            b.extend_from_slice(&(meta.len() as u32).to_le_bytes());
            b.extend_from_slice(&meta);
            b.extend_from_slice(&e.digest);
            b.extend_from_slice(&(e.chunks.len() as u64).to_le_bytes());
            for c in &e.chunks {
                b.extend_from_slice(&c.offset.to_le_bytes());
                b.extend_from_slice(&c.stored_len.to_le_bytes());
                b.extend_from_slice(&c.orig_len.to_le_bytes());
                b.extend_from_slice(&c.crc32.to_le_bytes());
            }
        }
        b
    }

    /// Parses the index found at file offset `base`; every chunk must lie in `[HEADER_LEN, base)`.
    pub(crate) fn parse(bytes: &[u8], base: u64) -> Result<Index> {
        let mut r = Cursor { b: bytes, pos: 0, base };
        if r.take(4, "index magic")? != INDEX_MAGIC {
            return Err(corrupt("index magic", base, "not \"DPKI\""));
        }
        let n = r.u32("entry count")? as usize;
        if n > r.left() / MIN_ENTRY_LEN {
            return Err(corrupt("entry count", base + 4, format!("{n} entries cannot fit in {} bytes", r.left())));
        }
        let mut entries = Vec::with_capacity(n);
        let mut names = HashSet::with_capacity(n);
        for _ in 0..n {
            let e = parse_entry(&mut r)?;
            if !names.insert(e.name.clone()) {
                return Err(corrupt("entry name", r.at(), format!("{:?} appears twice", e.name)));
            }
            entries.push(e);
        }
        if r.left() != 0 {
            return Err(corrupt("index", r.at(), format!("{} bytes after the last entry", r.left())));
        }
        Ok(Index { entries })
    }
}

fn parse_entry(r: &mut Cursor<'_>) -> Result<Entry> {
    let start = r.at();
    let name_len = usize::from(r.u16("name length")?);
    let name_bytes = r.take(name_len, "entry name")?;
    let name = std::str::from_utf8(name_bytes).map_err(|_| corrupt("entry name", start, "not UTF-8"))?.to_string();
    check_name(&name).map_err(|m| corrupt("entry name", start, m))?;
    let at = r.at();
    let f = r.take(8, "entry fields")?;
    let kind = EntryKind::from_code(f[0]).ok_or_else(|| corrupt("entry kind", at, format!("{}", f[0])))?;
    let codec = ChunkCodec::from_code(f[1]).ok_or_else(|| corrupt("entry codec", at + 1, format!("{}", f[1])))?;
    let typesize = f[3];
    let filters = Filters::from_bits(f[2], typesize).map_err(|m| corrupt("entry filters", at + 2, m))?;
    let checksum =
        *Checksum::ALL.get(usize::from(f[4])).ok_or_else(|| corrupt("checksum id", at + 4, f[4].to_string()))?;
    let level = f[5] as i8;
    if f[6] != 0 || f[7] != 0 {
        return Err(corrupt("entry reserved bytes", at + 6, "not zero"));
    }
    let size = r.u64("entry size")?;
    let chunk_size = r.u32("chunk size")?;
    if chunk_size == 0 || chunk_size > super::MAX_CHUNK_SIZE {
        return Err(corrupt("chunk size", r.at() - 4, format!("{chunk_size} not in 1..={}", super::MAX_CHUNK_SIZE)));
    }
    let meta_len = r.u32("metadata length")? as usize;
    let meta_at = r.at();
    let meta = r.take(meta_len, "metadata")?;
    let metadata: serde_json::Value =
        serde_json::from_slice(meta).map_err(|e| corrupt("entry metadata", meta_at, e.to_string()))?;
    if !metadata.is_object() {
        return Err(corrupt("entry metadata", meta_at, "not a JSON object"));
    }
    let digest = r.take(checksum.digest_size(), "entry digest")?.to_vec();
    let nchunks_at = r.at();
    let nchunks = r.u64("chunk count")?;
    if nchunks > (r.left() / CHUNK_RECORD_LEN) as u64 {
        return Err(corrupt("chunk count", nchunks_at, format!("{nchunks} records cannot fit in {} bytes", r.left())));
    }
    if kind == EntryKind::Dir && (size != 0 || nchunks != 0) {
        return Err(corrupt("directory entry", start, "a directory holds no bytes"));
    }
    let mut chunks = Vec::with_capacity(nchunks as usize);
    let mut total = 0u64;
    for i in 0..nchunks {
        let at = r.at();
        let c = ChunkRecord {
            offset: r.u64("chunk offset")?,
            stored_len: r.u32("chunk stored length")?,
            orig_len: r.u32("chunk original length")?,
            crc32: r.u32("chunk CRC-32")?,
        };
        let bad = |m: String| corrupt("chunk record", at, format!("{name:?} chunk {i}: {m}"));
        let end = c.offset.checked_add(u64::from(c.stored_len));
        if c.offset < HEADER_LEN || end.is_none_or(|e| e > r.base) {
            return Err(bad(format!(
                "stored bytes [{}, +{}) are outside the data region [{HEADER_LEN}, {})",
                c.offset, c.stored_len, r.base
            )));
        }
        if c.orig_len == 0 || c.orig_len > chunk_size {
            return Err(bad(format!("original length {} not in 1..={chunk_size}", c.orig_len)));
        }
        if u128::from(c.orig_len) > codec.max_output(u64::from(c.stored_len)) {
            return Err(bad(format!(
                "{} bytes cannot come from {} stored bytes with {}",
                c.orig_len,
                c.stored_len,
                codec.name()
            )));
        }
        total = total.checked_add(u64::from(c.orig_len)).ok_or_else(|| bad("sizes overflow".into()))?;
        chunks.push(c);
    }
    if total != size {
        return Err(corrupt(
            "entry size",
            start,
            format!("{name:?}: chunks hold {total} bytes, the entry says {size}"),
        ));
    }
    let mut e = Entry {
        name,
        kind,
        codec,
        filters,
        typesize,
        checksum,
        level,
        size,
        chunk_size,
        metadata,
        digest,
        chunks,
        starts: Vec::new(),
    };
    e.compute_starts();
    Ok(e)
}

/// A bounds-checked little-endian reader over the index bytes; errors carry file offsets.
struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
    base: u64,
}

impl<'a> Cursor<'a> {
    fn at(&self) -> u64 {
        self.base + self.pos as u64
    }
    fn left(&self) -> usize {
        self.b.len() - self.pos
    }
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8]> {
        if n > self.left() {
            return Err(corrupt(what, self.at(), format!("needs {n} bytes, the index has {} left", self.left())));
        }
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u16(&mut self, what: &'static str) -> Result<u16> {
        Ok(u16::from_le_bytes(self.take(2, what)?.try_into().expect("2 bytes")))
    }
    fn u32(&mut self, what: &'static str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4, what)?.try_into().expect("4 bytes")))
    }
    fn u64(&mut self, what: &'static str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8, what)?.try_into().expect("8 bytes")))
    }
}

impl From<String> for Error {
    fn from(s: String) -> Error {
        Error::Invalid(s)
    }
}
