//! Reading Bloscpack files: a streaming [`Reader`], whole-file [`read()`], and [`info`].

use std::io::{Read, Write};

use super::blosc::{self, ChunkHeader};
use super::header::{BlpHeader, MetaCodec, MetaHeader, HEADER_LEN, META_HEADER_LEN};
use super::{Error, Result};
use daspack_checksum::Checksum;

/// deflate cannot expand one input byte to more than 1032 output bytes.
const ZLIB_MAX_RATIO: u64 = 1032;

/// A decoded Bloscpack file.
#[derive(Clone, Debug, PartialEq)]
pub struct BlpFile {
    /// The file header.
    pub header: BlpHeader,
    /// The metadata header, when the file has metadata.
    pub meta_header: Option<MetaHeader>,
    /// The parsed metadata JSON.
    pub metadata: Option<serde_json::Value>,
    /// The original bytes.
    pub data: Vec<u8>,
}

/// One chunk as found in the file, not decompressed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkInfo {
    /// Chunk number.
    pub index: u64,
    /// File offset of the chunk's Blosc header.
    pub offset: u64,
    /// The Blosc header.
    pub header: ChunkHeader,
    /// The stored digest (empty without checksum).
    pub digest: Vec<u8>,
    /// Whether the digest matches the chunk bytes.
    pub checksum_ok: bool,
    /// The offsets-section entry for this chunk, when the file has offsets.
    pub offset_entry: Option<i64>,
}

/// The structure of a Bloscpack file (see [`info`]).
#[derive(Clone, Debug, PartialEq)]
pub struct BlpInfo {
    /// Size of the whole file.
    pub file_size: u64,
    /// The file header.
    pub header: BlpHeader,
    /// The metadata header.
    pub meta_header: Option<MetaHeader>,
    /// The parsed metadata.
    pub metadata: Option<serde_json::Value>,
    /// File offset of the metadata section.
    pub metadata_pos: Option<u64>,
    /// File offset of the offsets section.
    pub offsets_pos: Option<u64>,
    /// Every offset slot, used ones first; unused slots hold -1.
    pub offsets: Vec<i64>,
    /// The chunks in file order.
    pub chunks: Vec<ChunkInfo>,
    /// Sum of the chunks' uncompressed sizes.
    pub data_size: u64,
    /// Sum of the chunks' compressed sizes (Blosc `cbytes`, without digests).
    pub compressed_size: u64,
    /// Bytes after the last chunk's digest (the reference reader ignores them).
    pub trailing_bytes: u64,
    /// Whether every used offset slot points at its chunk.
    pub offsets_consistent: bool,
}

/// Reads exactly `n` bytes; the buffer grows only as data arrives, so a hostile `n` cannot force a big allocation.
fn read_exact_vec<R: Read>(r: &mut R, at: u64, n: u64, what: &'static str) -> Result<Vec<u8>> {
    let mut v = Vec::with_capacity(n.min(1 << 16) as usize);
    append_exact(r, at, n, what, &mut v)?;
    Ok(v)
}

fn append_exact<R: Read>(r: &mut R, at: u64, n: u64, what: &'static str, v: &mut Vec<u8>) -> Result<()> {
    let got = r.by_ref().take(n).read_to_end(v)? as u64;
    if got < n {
        return Err(Error::Truncated { what, offset: at, needed: n, available: got });
    }
    Ok(())
}

fn verify(what: impl FnOnce() -> String, algo: Checksum, offset: u64, data: &[u8], stored: &[u8]) -> Result<()> {
    let computed = algo.digest(data);
    if computed.as_bytes() != stored {
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        return Err(Error::ChecksumMismatch {
            what: what(),
            algo,
            offset,
            stored: hex(stored),
            computed: computed.to_hex(),
        });
    }
    Ok(())
}

/// Decodes the stored metadata bytes into JSON (the codec byte decides, not the sizes).
fn decode_metadata(mh: &MetaHeader, stored: &[u8], at: u64) -> Result<serde_json::Value> {
    let bad = |reason: String| Error::Metadata { offset: at, reason };
    let json: Vec<u8> = match mh.meta_codec {
        MetaCodec::None => {
            if stored.len() as u64 != u64::from(mh.meta_size) {
                return Err(bad(format!("raw metadata is {} bytes, meta_size says {}", stored.len(), mh.meta_size)));
            }
            stored.to_vec()
        }
        MetaCodec::Zlib => {
            let size = u64::from(mh.meta_size);
            if size > (stored.len() as u64).saturating_mul(ZLIB_MAX_RATIO) + 64 {
                return Err(bad(format!("meta_size {size} is more than {} zlib bytes can expand to", stored.len())));
            }
            let mut out = Vec::with_capacity(size as usize);
            flate2::read::ZlibDecoder::new(stored)
                .take(size + 1)
                .read_to_end(&mut out)
                .map_err(|e| bad(format!("zlib: {e}")))?;
            if out.len() as u64 != size {
                return Err(bad(format!("zlib metadata decodes to {} bytes, meta_size says {size}", out.len())));
            }
            out
        }
    };
    serde_json::from_slice(&json).map_err(|e| bad(format!("invalid JSON: {e}")))
}

/// A chunk read from the file, still compressed.
pub(crate) struct RawChunk {
    pub(crate) info: ChunkInfo,
    /// The whole Blosc chunk.
    pub(crate) bytes: Vec<u8>,
    /// File offset just after the chunk's digest.
    pub(crate) end: u64,
}

/// Reads the chunk at file offset `at` (the reader must be positioned there) and its digest, and checks the digest.
pub(crate) fn read_raw_chunk<R: Read>(r: &mut R, at: u64, index: u64, checksum: Checksum) -> Result<RawChunk> {
    let mut raw = read_unchecked_chunk(r, at, index, checksum)?;
    raw.info.checksum_ok = checksum.digest(&raw.bytes).as_bytes() == raw.info.digest.as_slice();
    Ok(raw)
}

/// [`read_raw_chunk`] leaving the digest unchecked (`checksum_ok` false): [`decode_raw_chunk`] checks it, on a
/// worker thread when decoding in parallel.
fn read_unchecked_chunk<R: Read>(r: &mut R, at: u64, index: u64, checksum: Checksum) -> Result<RawChunk> {
    let mut bytes = read_exact_vec(r, at, blosc::HEADER_LEN as u64, "Blosc chunk header")?;
    let header = ChunkHeader::parse(&bytes).map_err(|source| Error::Chunk { index, offset: at, source })?;
    let cbytes = u64::from(header.cbytes);
    if cbytes < blosc::HEADER_LEN as u64 {
        return Err(Error::Chunk {
            index,
            offset: at,
            source: blosc::BloscError::InvalidHeader {
                field: "cbytes",
                offset: 12,
                value: cbytes,
                reason: "smaller than the 16-byte header",
            },
        });
    }
    append_exact(r, at, cbytes - blosc::HEADER_LEN as u64, "Blosc chunk", &mut bytes)?;
    let dsize = checksum.digest_size() as u64;
    let digest = read_exact_vec(r, at + cbytes, dsize, "chunk checksum")?;
    Ok(RawChunk {
        info: ChunkInfo { index, offset: at, header, digest, checksum_ok: false, offset_entry: None },
        bytes,
        end: at + cbytes + dsize,
    })
}

/// Checks a raw chunk's digest and size against the file header, then decodes it into `out`.
pub(crate) fn decode_raw_chunk(raw: &RawChunk, checksum: Checksum, expected: u64, out: &mut Vec<u8>) -> Result<()> {
    let info = &raw.info;
    if !info.checksum_ok {
        verify(
            || format!("chunk {}", info.index),
            checksum,
            info.offset + u64::from(info.header.cbytes),
            &raw.bytes,
            &info.digest,
        )?;
    }
    if u64::from(info.header.nbytes) != expected {
        return Err(Error::ChunkSize {
            index: info.index,
            offset: info.offset,
            expected,
            found: u64::from(info.header.nbytes),
        });
    }
    blosc::decompress_into(&raw.bytes, out).map_err(|source| Error::Chunk {
        index: info.index,
        offset: info.offset,
        source,
    })?;
    Ok(())
}

/// Streaming reader: parses the header, metadata and offsets on construction, then yields the chunks in order.
///
/// ```no_run
/// # fn main() -> daspack_container::blp::Result<()> {
/// let file = std::fs::File::open("x.blp")?;
/// let mut r = daspack_container::blp::Reader::new(std::io::BufReader::new(file))?;
/// println!("{:?}", r.metadata());
/// r.copy_to(std::io::stdout().lock())?;
/// # Ok(()) }
/// ```
pub struct Reader<R> {
    inner: R,
    pos: u64,
    header: BlpHeader,
    meta_header: Option<MetaHeader>,
    metadata: Option<serde_json::Value>,
    metadata_pos: Option<u64>,
    offsets_pos: Option<u64>,
    offsets: Vec<i64>,
    next: u64,
    threads: usize,
}

impl<R: Read> Reader<R> {
    /// Reads and checks everything before the first chunk.
    pub fn new(mut inner: R) -> Result<Reader<R>> {
        let hb = read_exact_vec(&mut inner, 0, HEADER_LEN as u64, "Bloscpack header")?;
        let header = BlpHeader::parse(&hb)?;
        let mut pos = HEADER_LEN as u64;
        let (mut meta_header, mut metadata, mut metadata_pos) = (None, None, None);
        if header.metadata {
            metadata_pos = Some(pos);
            let mb = read_exact_vec(&mut inner, pos, META_HEADER_LEN as u64, "metadata header")?;
            let mh = MetaHeader::parse(&mb, pos)?;
            pos += META_HEADER_LEN as u64;
            let stored_at = pos;
            let stored = read_exact_vec(&mut inner, pos, u64::from(mh.meta_comp_size), "metadata")?;
            pos += u64::from(mh.meta_comp_size);
            let pad = u64::from(mh.max_meta_size - mh.meta_comp_size);
            let skipped = std::io::copy(&mut inner.by_ref().take(pad), &mut std::io::sink())?;
            if skipped < pad {
                return Err(Error::Truncated {
                    what: "preallocated metadata space",
                    offset: pos,
                    needed: pad,
                    available: skipped,
                });
            }
            pos += pad;
            let dsize = mh.meta_checksum.digest_size() as u64;
            let digest = read_exact_vec(&mut inner, pos, dsize, "metadata checksum")?;
            verify(|| "metadata".into(), mh.meta_checksum, pos, &stored, &digest)?;
            pos += dsize;
            metadata = Some(decode_metadata(&mh, &stored, stored_at)?);
            meta_header = Some(mh);
        }
        let mut offsets = Vec::new();
        let mut offsets_pos = None;
        if header.offsets {
            offsets_pos = Some(pos);
            let n = header.offset_slots();
            let bytes = n.checked_mul(8).ok_or(Error::InvalidField {
                section: "header",
                field: "nchunks + max_app_chunks",
                offset: 16,
                value: n.into(),
                reason: "offsets section too large",
            })?;
            let raw = read_exact_vec(&mut inner, pos, bytes, "offsets section")?;
            offsets = raw.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes"))).collect();
            pos += bytes;
        }
        Ok(Reader {
            inner,
            pos,
            header,
            meta_header,
            metadata,
            metadata_pos,
            offsets_pos,
            offsets,
            next: 0,
            threads: 0,
        })
    }

    /// Threads decoding chunks in [`Reader::read_to_end`], [`Reader::copy_to`] and [`Reader::into_file`]; 0 (the
    /// default) = one per core. At most 2 x threads chunks are held at once.
    pub fn threads(mut self, threads: usize) -> Reader<R> {
        self.threads = threads;
        self
    }

    /// The file header.
    pub fn header(&self) -> &BlpHeader {
        &self.header
    }

    /// The metadata header, if any.
    pub fn meta_header(&self) -> Option<&MetaHeader> {
        self.meta_header.as_ref()
    }

    /// The parsed metadata, if any.
    pub fn metadata(&self) -> Option<&serde_json::Value> {
        self.metadata.as_ref()
    }

    /// Every offset slot (empty without an offsets section).
    pub fn offsets(&self) -> &[i64] {
        &self.offsets
    }

    /// File offset of the offsets section.
    pub fn offsets_pos(&self) -> Option<u64> {
        self.offsets_pos
    }

    /// Current file offset.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// The underlying reader, positioned after what has been read.
    pub fn into_inner(self) -> R {
        self.inner
    }

    fn next_raw(&mut self, verify_now: bool) -> Result<Option<RawChunk>> {
        if self.next >= self.header.nchunks as u64 {
            return Ok(None);
        }
        let index = self.next;
        let (r, at, c) = (&mut self.inner, self.pos, self.header.checksum);
        let mut raw =
            if verify_now { read_raw_chunk(r, at, index, c)? } else { read_unchecked_chunk(r, at, index, c)? };
        raw.info.offset_entry = self.offsets.get(index as usize).copied();
        self.pos = raw.end;
        self.next += 1;
        Ok(Some(raw))
    }

    /// The original size of chunk `index`.
    fn expected_len(&self, index: u64) -> u64 {
        let last = index + 1 == self.header.nchunks as u64;
        (if last { self.header.last_chunk } else { self.header.chunk_size }) as u64
    }

    /// Decodes the next chunk, appending its bytes to `out`. `None` after the last chunk.
    pub fn next_chunk(&mut self, out: &mut Vec<u8>) -> Result<Option<ChunkInfo>> {
        let Some(mut raw) = self.next_raw(false)? else { return Ok(None) };
        decode_raw_chunk(&raw, self.header.checksum, self.expected_len(raw.info.index), out)?;
        raw.info.checksum_ok = true;
        Ok(Some(raw.info))
    }

    /// Decodes every remaining chunk, in order, handing each to `f`. With more than one thread and chunk left, this
    /// thread reads the chunks and calls `f` while a pool checks and decodes them.
    fn for_each_chunk(&mut self, mut f: impl FnMut(&[u8]) -> Result<()>) -> Result<()> {
        let left = (self.header.nchunks as u64).saturating_sub(self.next);
        if left > 1 && self.threads != 1 {
            let (pool, n) = crate::pipeline::pool(self.threads)?;
            if n > 1 {
                let checksum = self.header.checksum;
                let produce = || -> Result<_> {
                    Ok(self.next_raw(false)?.map(|raw| {
                        let expected = self.expected_len(raw.info.index);
                        (raw, expected)
                    }))
                };
                return crate::pipeline::ordered(
                    &pool,
                    2 * n,
                    produce,
                    |_, (raw, expected): (RawChunk, u64)| {
                        let mut out = Vec::new();
                        decode_raw_chunk(&raw, checksum, expected, &mut out).map(|()| out)
                    },
                    |i| Err(Error::Io(std::io::Error::other(format!("chunk {i}: the decoder panicked")))),
                    |_, r| f(&r?),
                );
            }
        }
        let mut buf = Vec::new();
        loop {
            buf.clear();
            if self.next_chunk(&mut buf)?.is_none() {
                return Ok(());
            }
            f(&buf)?;
        }
    }

    /// Decodes every remaining chunk into `out`; returns the number of bytes appended.
    pub fn read_to_end(&mut self, out: &mut Vec<u8>) -> Result<u64> {
        let start = out.len();
        if self.threads == 1 {
            while self.next_chunk(out)?.is_some() {}
        } else {
            self.for_each_chunk(|d| {
                out.extend_from_slice(d);
                Ok(())
            })?;
        }
        Ok((out.len() - start) as u64)
    }

    /// Decodes every remaining chunk into `w`, at most 2 x threads chunks in memory at a time; returns the bytes
    /// written.
    pub fn copy_to<W: Write>(&mut self, mut w: W) -> Result<u64> {
        let mut total = 0u64;
        self.for_each_chunk(|d| {
            w.write_all(d)?;
            total += d.len() as u64;
            Ok(())
        })?;
        w.flush()?;
        Ok(total)
    }

    /// Decodes the rest of the file into a [`BlpFile`].
    pub fn into_file(mut self) -> Result<BlpFile> {
        let mut data = Vec::new();
        self.read_to_end(&mut data)?;
        Ok(BlpFile { header: self.header, meta_header: self.meta_header, metadata: self.metadata, data })
    }
}

/// Decodes a whole Bloscpack file held in memory.
pub fn read(bytes: &[u8]) -> Result<BlpFile> {
    Reader::new(bytes)?.into_file()
}

/// Decodes a whole Bloscpack file from a reader (wrap files in a `BufReader`).
pub fn read_from<R: Read>(reader: R) -> Result<BlpFile> {
    Reader::new(reader)?.into_file()
}

/// The structure of a file: headers, metadata, offsets and the chunk table, with checksums verified but no chunk
/// decompressed. Fails only on structural problems (truncation, invalid headers); a bad checksum is reported in
/// [`ChunkInfo::checksum_ok`].
pub fn info(bytes: &[u8]) -> Result<BlpInfo> {
    let mut r = Reader::new(bytes)?;
    let mut chunks = Vec::new();
    let (mut data_size, mut compressed_size) = (0u64, 0u64);
    while let Some(raw) = r.next_raw(true)? {
        data_size += u64::from(raw.info.header.nbytes);
        compressed_size += u64::from(raw.info.header.cbytes);
        chunks.push(raw.info);
    }
    let offsets_consistent = !r.header.offsets || chunks.iter().all(|c| c.offset_entry == Some(c.offset as i64));
    let pos = r.pos;
    Ok(BlpInfo {
        file_size: bytes.len() as u64,
        header: r.header,
        meta_header: r.meta_header,
        metadata: r.metadata,
        metadata_pos: r.metadata_pos,
        offsets_pos: r.offsets_pos,
        offsets: r.offsets,
        chunks,
        data_size,
        compressed_size,
        trailing_bytes: bytes.len() as u64 - pos,
        offsets_consistent,
    })
}
