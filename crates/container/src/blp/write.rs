//! Writing Bloscpack files and appending to them, the way `bloscpack` 0.16 does.

use std::cell::RefCell;
use std::io::{Cursor, Read, Seek, SeekFrom, Write};

use super::blosc::{self, BloscError, Codec, CompressParams, Compressor, Shuffle};
use super::header::{BlpHeader, MetaCodec, MetaHeader, HEADER_LEN, META_HEADER_LEN};
use super::read::{decode_raw_chunk, read_raw_chunk, Reader};
use super::{Error, Result};
use daspack_checksum::Checksum;

/// Bloscpack's default chunk size, 1 MiB.
pub const DEFAULT_CHUNK_SIZE: usize = 1 << 20;

/// How the metadata is stored (Bloscpack's `MetadataArgs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetaOptions {
    /// `Zlib` (default) or `None`. zlib falls back to `None` when it does not make the metadata smaller, as
    /// bloscpack does (the level byte is kept).
    pub codec: MetaCodec,
    /// zlib level, 0..=9 (default 6).
    pub level: u8,
    /// Checksum of the stored metadata (default adler32; Bloscpack checksums only).
    pub checksum: Checksum,
    /// Space reserved for the stored metadata; `None` = 10 x the JSON length, as bloscpack.
    pub max_meta_size: Option<u32>,
}

impl Default for MetaOptions {
    fn default() -> Self {
        MetaOptions { codec: MetaCodec::Zlib, level: 6, checksum: Checksum::Adler32, max_meta_size: None }
    }
}

/// Options for [`write()`]; the defaults are `blpk compress`'s.
#[derive(Clone, Debug, PartialEq)]
pub struct BlpOptions {
    /// Codec, clevel (7), typesize (8, also stored in the file header), shuffle (byte), forced block size.
    pub blosc: CompressParams,
    /// Bytes per chunk (default 1 MiB); the last chunk holds the rest. Inputs smaller than this make one chunk.
    pub chunk_size: usize,
    /// Checksum after each chunk (default adler32). Only Bloscpack's checksums (ids 0..=8) are allowed.
    pub checksum: Checksum,
    /// Write an offsets section (default true).
    pub offsets: bool,
    /// Offset slots reserved for appending; `None` = 10 x nchunks, as bloscpack. Ignored without offsets.
    pub max_app_chunks: Option<u64>,
    /// JSON metadata to store, if any.
    pub metadata: Option<serde_json::Value>,
    /// How to store the metadata.
    pub meta: MetaOptions,
    /// Threads compressing chunks (0, the default, = one per core). The file does not depend on it.
    pub threads: usize,
}

impl Default for BlpOptions {
    fn default() -> Self {
        BlpOptions {
            blosc: CompressParams::default(),
            chunk_size: DEFAULT_CHUNK_SIZE,
            checksum: Checksum::Adler32,
            offsets: true,
            max_app_chunks: None,
            metadata: None,
            meta: MetaOptions::default(),
            threads: 0,
        }
    }
}

/// bloscpack's `calculate_nchunks`: `(nchunks, chunk_size, last_chunk)` for `len` input bytes. Empty input is one
/// empty chunk; a chunk size larger than the input shrinks to the input.
pub fn calculate_nchunks(len: u64, chunk_size: usize) -> Result<(u64, usize, usize)> {
    if len == 0 {
        return Ok((1, 0, 0));
    }
    if chunk_size == 0 || chunk_size > blosc::MAX_BUFFERSIZE {
        return Err(Error::InvalidOptions(format!("chunk_size {chunk_size} is not in 1..={}", blosc::MAX_BUFFERSIZE)));
    }
    let cs = (chunk_size as u64).min(len);
    let n = len.div_ceil(cs);
    let last = len - (n - 1) * cs;
    Ok((n, cs as usize, last as usize))
}

fn check_checksum(c: Checksum, what: &str) -> Result<()> {
    if c.bloscpack_id().is_none() {
        return Err(Error::InvalidOptions(format!("{what} {c} is not a Bloscpack checksum")));
    }
    Ok(())
}

fn check_blosc(p: &CompressParams) -> Result<()> {
    if p.typesize == 0 {
        return Err(Error::InvalidOptions("typesize must be 1..=255".into()));
    }
    if p.clevel > 9 {
        return Err(Error::InvalidOptions(format!("clevel {} is not in 0..=9", p.clevel)));
    }
    if p.codec == Codec::Snappy {
        return Err(Error::InvalidOptions("snappy is not supported".into()));
    }
    Ok(())
}

/// The metadata section: header, stored bytes, reserved NULs and digest.
fn metadata_section(value: &serde_json::Value, m: &MetaOptions) -> Result<Vec<u8>> {
    check_checksum(m.checksum, "meta checksum")?;
    if m.level > 9 {
        return Err(Error::InvalidOptions(format!("metadata level {} is not in 0..=9", m.level)));
    }
    let json = serde_json::to_vec(value).map_err(|e| Error::InvalidOptions(format!("metadata: {e}")))?;
    let meta_size = u32::try_from(json.len())
        .map_err(|_| Error::InvalidOptions(format!("metadata of {} bytes is too large", json.len())))?;
    let (codec, stored) = match m.codec {
        MetaCodec::None => (MetaCodec::None, json),
        MetaCodec::Zlib => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(u32::from(m.level)));
            e.write_all(&json)?;
            let z = e.finish()?;
            // bloscpack keeps the compressed form unless it is strictly larger.
            if z.len() > json.len() {
                (MetaCodec::None, json)
            } else {
                (MetaCodec::Zlib, z)
            }
        }
    };
    let comp = stored.len() as u32;
    let max_meta_size = match m.max_meta_size {
        Some(v) => v,
        None => meta_size.checked_mul(10).ok_or_else(|| Error::InvalidOptions("metadata too large".into()))?,
    };
    if comp > max_meta_size {
        return Err(Error::InvalidOptions(format!("metadata needs {comp} bytes but max_meta_size is {max_meta_size}")));
    }
    let mh = MetaHeader {
        magic: MetaHeader::json(),
        meta_options: 0,
        meta_checksum: m.checksum,
        meta_codec: codec,
        meta_level: m.level,
        meta_size,
        max_meta_size,
        meta_comp_size: comp,
        user_codec: [0; 8],
    };
    let mut out = Vec::with_capacity(META_HEADER_LEN + max_meta_size as usize + 64);
    out.extend_from_slice(&mh.to_bytes());
    out.extend_from_slice(&stored);
    out.resize(META_HEADER_LEN + max_meta_size as usize, 0);
    out.extend_from_slice(&m.checksum.digest(&stored));
    Ok(out)
}

/// Header and metadata section for `len` input bytes.
fn plan(len: u64, opts: &BlpOptions) -> Result<(BlpHeader, Vec<u8>)> {
    check_checksum(opts.checksum, "checksum")?;
    check_blosc(&opts.blosc)?;
    let (nchunks, chunk_size, last) = calculate_nchunks(len, opts.chunk_size)?;
    let max_app = if opts.offsets { opts.max_app_chunks.unwrap_or(nchunks.saturating_mul(10)) } else { 0 };
    let total = nchunks.checked_add(max_app).filter(|&t| t <= i64::MAX as u64 / 8);
    if total.is_none() {
        return Err(Error::InvalidOptions(format!("max_app_chunks {max_app} is too large")));
    }
    let header = BlpHeader {
        format_version: 3,
        offsets: opts.offsets,
        metadata: opts.metadata.is_some(),
        checksum: opts.checksum,
        typesize: opts.blosc.typesize,
        chunk_size: chunk_size as i32,
        last_chunk: last as i32,
        nchunks: nchunks as i64,
        max_app_chunks: max_app as i64,
    };
    let meta = match &opts.metadata {
        Some(v) => metadata_section(v, &opts.meta)?,
        None => Vec::new(),
    };
    Ok((header, meta))
}

thread_local! {
    /// Each thread keeps its compressor (and the match tables in it) across chunks.
    static COMPRESSOR: RefCell<Compressor> = RefCell::new(Compressor::new());
}

/// One chunk as it is stored: the Blosc chunk, then its digest. Kept apart (two writes) so that appending the
/// digest never reallocates and copies the chunk.
struct StoredChunk {
    blosc: Vec<u8>,
    digest: daspack_checksum::Digest,
}

impl StoredChunk {
    fn len(&self) -> u64 {
        (self.blosc.len() + self.digest.as_bytes().len()) as u64
    }

    fn write_to(&self, w: &mut impl Write) -> std::io::Result<()> {
        w.write_all(&self.blosc)?;
        w.write_all(self.digest.as_bytes())
    }
}

fn stored_chunk(data: &[u8], p: &CompressParams, checksum: Checksum) -> Result<StoredChunk> {
    let blosc = COMPRESSOR.with(|c| c.borrow_mut().compress(data, p)).map_err(Error::Compress)?;
    let digest = checksum.digest(&blosc);
    Ok(StoredChunk { blosc, digest })
}

/// Compresses the chunks `produce` returns and hands each stored chunk (with its digest) to `consume`, in order.
/// With more than one chunk and thread, the chunks are coded on a pool while this thread reads and writes; at most
/// 2 x threads chunks are in flight.
fn code_chunks<I: AsRef<[u8]> + Send>(
    nchunks: u64,
    opts: &BlpOptions,
    mut produce: impl FnMut() -> Result<Option<I>>,
    mut consume: impl FnMut(StoredChunk) -> Result<()>,
) -> Result<()> {
    let (p, checksum) = (&opts.blosc, opts.checksum);
    if nchunks > 1 && opts.threads != 1 {
        let (pool, n) = crate::pipeline::pool(opts.threads)?;
        if n > 1 {
            return crate::pipeline::ordered(
                &pool,
                2 * n,
                produce,
                |_, data: I| stored_chunk(data.as_ref(), p, checksum),
                |i| Err(Error::Compress(BloscError::InvalidParams(format!("chunk {i}: the compressor panicked")))),
                |_, c| consume(c?),
            );
        }
    }
    while let Some(data) = produce()? {
        consume(stored_chunk(data.as_ref(), p, checksum)?)?;
    }
    Ok(())
}

fn offsets_bytes(used: &[u64], slots: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(slots as usize * 8);
    for i in 0..slots as usize {
        let v = used.get(i).map_or(-1, |&o| o as i64);
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Writes `data` as a Bloscpack file. The compressed chunks are kept in memory until the offsets are known, so
/// `out` needs no `Seek`; see [`write_stream`] for large inputs.
pub fn write<W: Write>(mut out: W, data: &[u8], opts: &BlpOptions) -> Result<()> {
    let (header, meta) = plan(data.len() as u64, opts)?;
    let n = header.nchunks as u64;
    let mut pieces = data.chunks(header.chunk_size.max(1) as usize);
    let mut chunks = Vec::with_capacity(n as usize);
    if data.is_empty() {
        chunks.push(stored_chunk(&[], &opts.blosc, opts.checksum)?);
    } else {
        code_chunks(
            n,
            opts,
            || Ok(pieces.next()),
            |c| {
                chunks.push(c);
                Ok(())
            },
        )?;
    }
    let slots = header.offset_slots();
    let mut pos = (HEADER_LEN + meta.len()) as u64 + slots * 8;
    let mut used = Vec::with_capacity(chunks.len());
    for c in &chunks {
        used.push(pos);
        pos += c.len();
    }
    out.write_all(&header.to_bytes())?;
    out.write_all(&meta)?;
    if header.offsets {
        out.write_all(&offsets_bytes(&used, slots))?;
    }
    for c in &chunks {
        c.write_to(&mut out)?;
    }
    out.flush()?;
    Ok(())
}

/// Writes `len` bytes read from `input` as a Bloscpack file, one chunk in memory at a time, like bloscpack: the
/// offsets are written as -1 first and filled in at the end. Offsets are relative to where `out` was when called.
/// Returns the number of bytes written.
pub fn write_stream<R: Read, W: Write + Seek>(mut input: R, len: u64, mut out: W, opts: &BlpOptions) -> Result<u64> {
    let (header, meta) = plan(len, opts)?;
    let base = out.stream_position()?;
    out.write_all(&header.to_bytes())?;
    out.write_all(&meta)?;
    let slots = header.offset_slots();
    let offsets_pos = (HEADER_LEN + meta.len()) as u64;
    if header.offsets {
        out.write_all(&offsets_bytes(&[], slots))?;
    }
    let mut pos = offsets_pos + slots * 8;
    let n = header.nchunks as u64;
    let mut used = Vec::with_capacity(if header.offsets { n.min(1 << 20) as usize } else { 0 });
    let mut read_so_far = 0u64;
    let mut i = 0u64;
    let produce = || -> Result<Option<Vec<u8>>> {
        if i == n {
            return Ok(None);
        }
        let size = if i + 1 == n { header.last_chunk } else { header.chunk_size } as u64;
        let mut buf = Vec::with_capacity(size as usize);
        let got = input.by_ref().take(size).read_to_end(&mut buf)? as u64;
        if got < size {
            return Err(Error::Truncated { what: "input data", offset: read_so_far, needed: size, available: got });
        }
        read_so_far += size;
        i += 1;
        Ok(Some(buf))
    };
    code_chunks(n, opts, produce, |c| {
        if header.offsets {
            used.push(pos);
        }
        c.write_to(&mut out)?;
        pos += c.len();
        Ok(())
    })?;
    if header.offsets {
        out.seek(SeekFrom::Start(base + offsets_pos))?;
        out.write_all(&offsets_bytes(&used, n))?;
        out.seek(SeekFrom::Start(base + pos))?;
    }
    out.flush()?;
    Ok(pos)
}

/// Options for appending; the defaults are `blpk append`'s (blosclz, clevel 7, byte shuffle, the file's typesize).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppendOptions {
    /// Codec for the rewritten last chunk and the new chunks.
    pub codec: Codec,
    /// Compression level.
    pub clevel: u8,
    /// Shuffle filter.
    pub shuffle: Shuffle,
    /// Typesize; `None` takes the one in the file header.
    pub typesize: Option<u8>,
    /// Forced Blosc block size.
    pub blocksize: Option<usize>,
}

impl Default for AppendOptions {
    fn default() -> Self {
        AppendOptions { codec: Codec::BloscLz, clevel: 7, shuffle: Shuffle::Byte, typesize: None, blocksize: None }
    }
}

/// What [`append`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppendReport {
    /// Chunks added (0 when the data fitted into the last chunk).
    pub chunks_added: u64,
    /// Chunks in the file now.
    pub nchunks: u64,
    /// Offset slots still free.
    pub max_app_chunks: u64,
    /// Where the file now ends (after the last chunk's digest).
    pub file_len: u64,
}

/// Appends `extra` to the Bloscpack file in `file` as `blpk append` does: the last chunk is refilled up to
/// `chunk_size`, the rest goes into new chunks whose offsets take preallocated slots; the header's `nchunks`,
/// `max_app_chunks` and `last_chunk` are updated. The metadata is left unchanged (a numpy `shape` goes stale, as
/// with bloscpack). Bytes past [`AppendReport::file_len`] are not removed: use [`append_file`] for files.
///
/// Unlike bloscpack, appending to an empty file (chunk_size 0) works: the data is chunked with the default chunk
/// size and takes the empty chunk's place.
pub fn append<F: Read + Write + Seek>(file: &mut F, extra: &[u8], opts: &AppendOptions) -> Result<AppendReport> {
    file.seek(SeekFrom::Start(0))?;
    let (mut header, offsets, offsets_pos) = {
        let r = Reader::new(&mut *file)?;
        (*r.header(), r.offsets().to_vec(), r.offsets_pos())
    };
    let Some(offsets_pos) = offsets_pos.filter(|_| header.offsets) else {
        return Err(Error::Append("the file has no offsets section".into()));
    };
    if header.nchunks == 0 {
        return Err(Error::Append("the file has no chunks".into()));
    }
    let slots = header.offset_slots();
    let offsets_end = offsets_pos + slots * 8;
    let last_idx = header.nchunks as u64 - 1;
    let last_off = offsets[last_idx as usize];
    if last_off < offsets_end as i64 {
        return Err(Error::InvalidField {
            section: "offsets",
            field: "last chunk offset",
            offset: offsets_pos + last_idx * 8,
            value: last_off.into(),
            reason: "points before the chunks",
        });
    }
    let last_off = last_off as u64;
    file.seek(SeekFrom::Start(last_off))?;
    let raw = read_raw_chunk(&mut *file, last_off, last_idx, header.checksum)?;
    let mut last_data = Vec::new();
    decode_raw_chunk(&raw, header.checksum, u64::from(raw.info.header.nbytes), &mut last_data)?;
    let typesize = opts.typesize.unwrap_or(header.typesize);
    let params = CompressParams {
        codec: opts.codec,
        clevel: opts.clevel,
        typesize,
        shuffle: opts.shuffle,
        blocksize: opts.blocksize,
    };
    check_blosc(&params)?;
    let max_app = header.max_app_chunks as u64;
    if extra.is_empty() {
        return Ok(AppendReport {
            chunks_added: 0,
            nchunks: header.nchunks as u64,
            max_app_chunks: max_app,
            file_len: raw.end,
        });
    }
    // The plain chunks that replace the last one.
    let mut pieces: Vec<Vec<u8>> = Vec::new();
    let added: u64;
    if header.chunk_size == 0 {
        let (n, cs, last) = calculate_nchunks(extra.len() as u64, DEFAULT_CHUNK_SIZE)?;
        if n - 1 > max_app {
            return Err(Error::NotEnoughSpace { needed: n - 1, available: max_app });
        }
        pieces.extend(extra.chunks(cs).map(<[u8]>::to_vec));
        added = n - 1;
        header.chunk_size = cs as i32;
        header.last_chunk = last as i32;
    } else {
        let cs = header.chunk_size as usize;
        let room = cs.checked_sub(last_data.len()).ok_or(Error::ChunkSize {
            index: last_idx,
            offset: last_off,
            expected: cs as u64,
            found: last_data.len() as u64,
        })?;
        if extra.len() <= room {
            last_data.extend_from_slice(extra);
            header.last_chunk = last_data.len() as i32;
            pieces.push(last_data);
            added = 0;
        } else {
            let (fill, rest) = extra.split_at(room);
            let (n, _, last) = calculate_nchunks(rest.len() as u64, cs)?;
            if n > max_app {
                return Err(Error::NotEnoughSpace { needed: n, available: max_app });
            }
            last_data.extend_from_slice(fill);
            pieces.push(last_data);
            pieces.extend(rest.chunks(cs).map(<[u8]>::to_vec));
            added = n;
            header.last_chunk = last as i32;
        }
    }
    header.nchunks += added as i64;
    header.max_app_chunks -= added as i64;
    let mut pos = last_off;
    let mut new_offsets = Vec::with_capacity(pieces.len());
    file.seek(SeekFrom::Start(last_off))?;
    for p in &pieces {
        let c = stored_chunk(p, &params, header.checksum)?;
        c.write_to(file)?;
        new_offsets.push(pos);
        pos += c.len();
    }
    let mut table = Vec::with_capacity(new_offsets.len() * 8);
    for o in &new_offsets {
        table.extend_from_slice(&(*o as i64).to_le_bytes());
    }
    file.seek(SeekFrom::Start(offsets_pos + last_idx * 8))?;
    file.write_all(&table)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(&header.to_bytes())?;
    file.seek(SeekFrom::Start(pos))?;
    file.flush()?;
    Ok(AppendReport {
        chunks_added: added,
        nchunks: header.nchunks as u64,
        max_app_chunks: header.max_app_chunks as u64,
        file_len: pos,
    })
}

/// [`append`] to a file on disk, then truncates it to the new end (the refilled last chunk may be shorter than
/// the old one).
pub fn append_file(file: &mut std::fs::File, extra: &[u8], opts: &AppendOptions) -> Result<AppendReport> {
    let report = append(file, extra, opts)?;
    file.set_len(report.file_len)?;
    Ok(report)
}

/// [`append`] on a file held in memory; returns the new file bytes.
pub fn append_bytes(blp: &[u8], extra: &[u8], opts: &AppendOptions) -> Result<Vec<u8>> {
    let mut cur = Cursor::new(blp.to_vec());
    let report = append(&mut cur, extra, opts)?;
    let mut v = cur.into_inner();
    v.truncate(report.file_len as usize);
    Ok(v)
}
