//! Reading archives from any [`Source`]: open (choose the commit, check the index), then decode single chunks,
//! byte, row or element ranges (only the chunks that hold them), or whole entries with chunks decoded in parallel
//! by a bounded pipeline (memory: threads x chunk size, whatever the entry's size).

use std::io::Write;

use super::array::{self, DasLayout, NpyInfo};
use super::chunk::{self, ChunkCodec};
use super::index::{Entry, EntryKind, Index};
use super::layout::{parse_footer, parse_header, Commit, FOOTER_LEN, HEADER_LEN};
use super::source::Source;
use super::{corrupt, Error, Result};

/// An open archive.
pub struct Archive<S> {
    src: S,
    len: u64,
    commit: Commit,
    /// The slot the commit came from (`None`: the footer).
    slot: Option<usize>,
    index: Index,
}

/// What [`Archive::verify_entry`] checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryReport {
    pub chunks: u64,
    pub size: u64,
    pub stored: u64,
    /// The digest, recomputed and matching (hex; empty without a checksum).
    pub digest: String,
}

fn io_at(e: std::io::Error, what: &'static str, offset: u64, end: u128, len: u64) -> Error {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        Error::Truncated { what, offset, end, len }
    } else {
        Error::Io(e)
    }
}

fn decode_panicked(e: &Entry, i: usize) -> Error {
    let offset = e.chunks.get(i).map_or(0, |c| c.offset);
    Error::ChunkDecode { entry: e.name.clone(), chunk: i as u64, offset, reason: "the decoder panicked".into() }
}

impl<S: Source> Archive<S> {
    /// Opens an archive: the valid commit slot with the highest generation, else the footer; then its index.
    pub fn open(src: S) -> Result<Archive<S>> {
        let len = src.len()?;
        let mut head = vec![0u8; len.min(HEADER_LEN) as usize];
        src.read_exact_at(&mut head, 0)?;
        let header = parse_header(&head, len)?;
        let (slot, commit) = match header.best() {
            Some((i, c)) => (Some(i), c),
            None => {
                let footer = if len >= HEADER_LEN + FOOTER_LEN {
                    let mut tail = vec![0u8; FOOTER_LEN as usize];
                    src.read_exact_at(&mut tail, len - FOOTER_LEN)?;
                    parse_footer(&tail)
                } else {
                    None
                };
                let c = footer.ok_or(Error::NoCommit)?;
                if c.index_offset.checked_add(c.index_len) != Some(len - FOOTER_LEN) {
                    return Err(corrupt("footer", len - FOOTER_LEN, "the index does not end where the footer starts"));
                }
                (None, c)
            }
        };
        let end = u128::from(commit.index_offset) + u128::from(commit.index_len);
        if commit.index_offset < HEADER_LEN {
            return Err(corrupt("commit", 16, format!("index offset {} inside the header", commit.index_offset)));
        }
        if end > u128::from(len) {
            return Err(Error::Truncated { what: "index", offset: commit.index_offset, end, len });
        }
        // The index is within the file, so this allocation is bounded by the input's size.
        let mut bytes = vec![0u8; commit.index_len as usize];
        src.read_exact_at(&mut bytes, commit.index_offset)
            .map_err(|e| io_at(e, "index", commit.index_offset, end, len))?;
        let crc = crc32fast::hash(&bytes);
        if crc != commit.index_crc {
            return Err(corrupt(
                "index",
                commit.index_offset,
                format!("CRC-32 mismatch (commit says {:08x}, computed {crc:08x})", commit.index_crc),
            ));
        }
        let index = Index::parse(&bytes, commit.index_offset)?;
        Ok(Archive { src, len, commit, slot, index })
    }

    /// The entries.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// The commit in use and its slot (`None` when it came from the footer of a streamed archive).
    pub fn commit(&self) -> (Commit, Option<usize>) {
        (self.commit, self.slot)
    }

    /// File length.
    pub fn file_len(&self) -> u64 {
        self.len
    }

    /// End of the committed state: bytes past it are left-overs of an interrupted append, or foreign.
    pub fn committed_end(&self) -> u64 {
        let end = self.commit.index_offset + self.commit.index_len;
        if self.slot.is_none() {
            end + FOOTER_LEN
        } else {
            end
        }
    }

    /// The source.
    pub fn source(&self) -> &S {
        &self.src
    }

    /// The entry named `name`.
    pub fn entry(&self, name: &str) -> Result<&Entry> {
        self.index.get(name).ok_or_else(|| Error::NotFound(name.to_string()))
    }

    /// The stored bytes of chunk `i` of `e`, after checking their CRC-32.
    pub fn read_stored(&self, e: &Entry, i: usize) -> Result<Vec<u8>> {
        let c = *e.chunks.get(i).ok_or_else(|| {
            Error::OutOfRange(format!("entry {:?} has {} chunks, not chunk {i}", e.name, e.chunks.len()))
        })?;
        let end = u128::from(c.offset) + u128::from(c.stored_len);
        // Validated by the index against the file size, so the allocation is bounded by the input.
        let mut stored = vec![0u8; c.stored_len as usize];
        self.src.read_exact_at(&mut stored, c.offset).map_err(|e| io_at(e, "chunk", c.offset, end, self.len))?;
        let computed = crc32fast::hash(&stored);
        if computed != c.crc32 {
            return Err(Error::ChunkChecksum {
                entry: e.name.clone(),
                chunk: i as u64,
                offset: c.offset,
                stored: c.crc32,
                computed,
            });
        }
        Ok(stored)
    }

    /// The original bytes of chunk `i` of `e`.
    pub fn read_chunk(&self, e: &Entry, i: usize) -> Result<Vec<u8>> {
        let stored = self.read_stored(e, i)?;
        let c = e.chunks[i];
        let bad =
            |reason: String| Error::ChunkDecode { entry: e.name.clone(), chunk: i as u64, offset: c.offset, reason };
        let orig = c.orig_len as usize;
        match e.codec {
            ChunkCodec::Das => {
                let layout = e
                    .metadata
                    .get("das")
                    .ok_or_else(|| "a DAS entry without das metadata".to_string())
                    .and_then(DasLayout::from_json)
                    .map_err(bad)?;
                let raw = array::decode_das(layout, &stored, orig).map_err(bad)?;
                Ok(if e.filters == chunk::Filters::NONE { raw } else { e.filters.undo(e.typesize, raw) })
            }
            codec => chunk::decode_bytes(codec, e.filters, e.typesize, &stored, orig).map_err(bad),
        }
    }

    /// `len` original bytes of `e` from `start`.
    pub fn read_range(&self, e: &Entry, start: u64, len: u64) -> Result<Vec<u8>> {
        let end = start.checked_add(len).filter(|&end| end <= e.size).ok_or_else(|| {
            Error::OutOfRange(format!("bytes [{start}, +{len}) of entry {:?} ({} bytes)", e.name, e.size))
        })?;
        let mut out = Vec::with_capacity(len as usize);
        if len == 0 {
            return Ok(out);
        }
        let (first, last) = (e.chunk_at(start), e.chunk_at(end - 1));
        for i in first..=last {
            let data = self.read_chunk(e, i)?;
            let cs = e.chunk_start(i);
            let lo = start.saturating_sub(cs) as usize;
            let hi = ((end - cs) as usize).min(data.len());
            out.extend_from_slice(&data[lo..hi]);
        }
        Ok(out)
    }

    /// The `.npy` header of an array entry.
    pub fn npy_info(&self, e: &Entry) -> Result<NpyInfo> {
        if e.kind != EntryKind::Array {
            return Err(Error::Invalid(format!("entry {:?} is a {}, not an array", e.name, e.kind.name())));
        }
        let v = e.metadata.get("npy").ok_or_else(|| corrupt("entry metadata", 0, "array without npy metadata"))?;
        NpyInfo::from_json(v, e.size).map_err(|m| corrupt("entry metadata", 0, format!("{:?}: {m}", e.name)))
    }

    /// Rows `[r0, r1)` of an array entry, as bytes of its memory layout (see [`NpyInfo::layout_2d`]).
    pub fn read_rows(&self, e: &Entry, r0: u64, r1: u64) -> Result<Vec<u8>> {
        let info = self.npy_info(e)?;
        let (rows, cols) = info.layout_2d();
        if r0 > r1 || r1 > rows {
            return Err(Error::OutOfRange(format!("rows [{r0}, {r1}) of entry {:?} ({rows} rows)", e.name)));
        }
        let rb = cols * info.itemsize;
        self.read_range(e, r0 * rb, (r1 - r0) * rb)
    }

    /// Elements `[i0, i1)` of an array entry, counted in its memory layout (row-major over
    /// [`NpyInfo::layout_2d`]), as bytes; only the chunks holding them are read and decoded.
    pub fn read_elements(&self, e: &Entry, i0: u64, i1: u64) -> Result<Vec<u8>> {
        let info = self.npy_info(e)?;
        let n = e.size / info.itemsize;
        if i0 > i1 || i1 > n {
            return Err(Error::OutOfRange(format!("elements [{i0}, {i1}) of entry {:?} ({n} elements)", e.name)));
        }
        self.read_range(e, i0 * info.itemsize, (i1 - i0) * info.itemsize)
    }

    /// The chunks [`Archive::read_range`] decodes for `len` bytes from `start` (empty when `len` is 0).
    pub fn chunks_for_range(&self, e: &Entry, start: u64, len: u64) -> std::ops::Range<usize> {
        match start.checked_add(len) {
            Some(end) if len > 0 && end <= e.size => e.chunk_at(start)..e.chunk_at(end - 1) + 1,
            _ => 0..0,
        }
    }

    /// Decodes every chunk of `e` with `threads` workers (0 = all cores) and checks the digest. Each worker reads,
    /// decodes and hands its chunk to `place` (positional writes); the calling thread hashes the chunks in order and
    /// hands them to `sink`. At most `2 x threads` chunks (`threads + 1` above 2 MiB) are in flight (dispatched and not yet sunk), so memory is
    /// bounded by threads x chunk size whatever the entry's size. One thread: everything on the calling thread.
    fn for_each_chunk(
        &self,
        e: &Entry,
        threads: usize,
        mut sink: impl FnMut(usize, &[u8]) -> Result<()>,
        place: impl Fn(usize, &[u8]) -> Result<()> + Sync,
    ) -> Result<String> {
        let n = if threads == 0 { std::thread::available_parallelism().map_or(1, |n| n.get()) } else { threads };
        let count = e.chunks.len();
        let mut hasher = e.checksum.hasher();
        let one = |i: usize| -> Result<Vec<u8>> {
            let d = self.read_chunk(e, i)?;
            place(i, &d)?;
            Ok(d)
        };
        if n <= 1 || count <= 1 {
            for i in 0..count {
                let d = one(i)?;
                hasher.update(&d);
                sink(i, &d)?;
            }
        } else {
            let (pool, n) = crate::pipeline::pool(threads)?;
            // Two chunks per worker keeps every worker busy; large chunks (DAS arrays, 8 MiB by default) get one
            // per worker plus the one being written, to keep the peak memory under 100 MB at two threads.
            let window = if e.chunk_size > 2 << 20 { n + 1 } else { 2 * n };
            let mut next = 0..count;
            crate::pipeline::ordered(
                &pool,
                window,
                || Ok(next.next()),
                |_, i| one(i),
                |i| Err(decode_panicked(e, i)),
                |i, r| {
                    let d = r?;
                    hasher.update(&d);
                    sink(i, &d)
                },
            )?;
        }
        let computed = hasher.finalize();
        if computed.as_bytes() != e.digest.as_slice() {
            return Err(Error::DigestMismatch {
                entry: e.name.clone(),
                algo: e.checksum,
                stored: e.digest.iter().map(|b| format!("{b:02x}")).collect(),
                computed: computed.to_hex(),
            });
        }
        Ok(computed.to_hex())
    }

    /// Writes the original bytes of `e` to `w` in order (chunks decoded in parallel), then checks the digest. On a
    /// digest mismatch the bytes have been written already: callers writing files write to a temporary name.
    pub fn extract(&self, e: &Entry, mut w: impl Write, threads: usize) -> Result<()> {
        self.for_each_chunk(e, threads, |_, d| Ok(w.write_all(d)?), |_, _| Ok(()))?;
        Ok(())
    }

    /// Writes the original bytes of `e` into `file` at `base + their offset`, each thread writing the chunks it
    /// decoded (positional writes, no shared cursor), then checks the digest.
    pub fn extract_to_file(&self, e: &Entry, file: &std::fs::File, base: u64, threads: usize) -> Result<()> {
        use std::os::unix::fs::FileExt;
        let starts = &e.starts;
        self.for_each_chunk(e, threads, |_, _| Ok(()), |i, d| Ok(file.write_all_at(d, base + starts[i])?))?;
        Ok(())
    }

    /// Decodes every chunk of `e` and checks every CRC and the digest; for an array, also its `npy` metadata (what
    /// extraction needs to rebuild the `.npy`).
    pub fn verify_entry(&self, e: &Entry, threads: usize) -> Result<EntryReport> {
        if e.kind == EntryKind::Array {
            self.npy_info(e)?;
        }
        let digest = self.for_each_chunk(e, threads, |_, _| Ok(()), |_, _| Ok(()))?;
        Ok(EntryReport { chunks: e.chunks.len() as u64, size: e.size, stored: e.stored_size(), digest })
    }
}
