//! Writing archives: entries are read sequentially (so any `Read`, stdin included, works), cut into chunks, coded
//! in parallel by a pipeline (the calling thread reads and writes while the pool codes; at most 2 x threads chunks
//! in flight, so memory is bounded by threads x chunk size), and written in order to any `Write`. The index goes
//! last; a seekable output then gets commit slot 0, a stream a footer.

use std::collections::HashSet;
use std::io::{Read, Seek, SeekFrom, Write};
use std::time::Instant;

use daspack_checksum::Checksum;
use daspack_codec::Params;
use serde_json::{json, Map, Value};

use super::array::{self, DasLayout, NpyInfo};
use super::chunk::{self, ChunkCodec, Filters};
use super::index::{check_name, ChunkRecord, Entry, EntryKind, Index};
use super::layout::{encode_header, slot_offset, Commit, HEADER_LEN};
use super::{Error, Result};

/// Original bytes per chunk unless asked otherwise.
pub const DEFAULT_CHUNK_SIZE: u32 = 1 << 20;
/// Original bytes per chunk of DAS-coded arrays unless asked otherwise.
pub const DEFAULT_DAS_CHUNK_SIZE: u32 = 8 << 20;
/// Largest original chunk length the format allows (readers refuse more).
pub const MAX_CHUNK_SIZE: u32 = 1 << 30;

/// How to store one entry.
#[derive(Clone, Debug)]
pub struct EntryOptions {
    /// Chunk codec. [`ChunkCodec::Das`] applies to `.npy` arrays of the codec's types; other inputs then fall back
    /// to zstd with byte shuffle.
    pub codec: ChunkCodec,
    /// Codec level (zstd 1..=22, deflate 0..=9; ignored by the others).
    pub level: i32,
    /// Filters before a byte codec.
    pub filters: Filters,
    /// Element size for the filters; `None`: the array's item size, or 1 for plain files.
    pub typesize: Option<u8>,
    /// Original bytes per chunk of byte codecs.
    pub chunk_size: u32,
    /// Original bytes per chunk of DAS-coded arrays (rounded down to whole rows, at least one): larger than
    /// `chunk_size` by default because the codec's ratio drops when its tiles get short (about 2.5 % at 1 MiB on
    /// the real corpus, nothing measurable from 4 MiB).
    pub das_chunk_size: u32,
    /// Digest of each entry's original bytes.
    pub checksum: Checksum,
    /// DAS codec parameters (its `threads` is ignored: chunks share the writer's pool).
    pub das: Params,
    /// User metadata (a JSON object), stored under `user`.
    pub user_metadata: Option<Value>,
}

impl Default for EntryOptions {
    fn default() -> Self {
        EntryOptions {
            codec: ChunkCodec::Zstd,
            level: 3,
            filters: Filters { shuffle: true, ..Filters::NONE },
            typesize: None,
            chunk_size: DEFAULT_CHUNK_SIZE,
            das_chunk_size: DEFAULT_DAS_CHUNK_SIZE,
            checksum: Checksum::Xxh64,
            das: Params::default(),
            user_metadata: None,
        }
    }
}

/// One coded chunk, as reported to [`Writer::on_chunk`].
#[derive(Clone, Copy, Debug)]
pub struct ChunkEvent<'a> {
    pub entry: &'a str,
    pub index: u64,
    pub orig_len: u32,
    pub stored_len: u32,
    /// Time spent coding it (one thread).
    pub seconds: f64,
}

type ChunkCallback = Box<dyn FnMut(&ChunkEvent<'_>) + Send>;
/// A coded chunk: stored bytes, the decoded bytes when they differ from the input (fixed accuracy), seconds.
type CodedChunk = std::result::Result<(Vec<u8>, Option<Vec<u8>>, f64), String>;

/// How the chunks of one entry are coded.
#[derive(Clone)]
enum Plan {
    Bytes { codec: ChunkCodec, level: i32, filters: Filters, typesize: u8 },
    Das { layout: DasLayout, params: Params, lossy: bool },
}

/// Writes an archive to `W`.
pub struct Writer<W: Write> {
    out: W,
    pos: u64,
    index: Index,
    names: HashSet<String>,
    generation: u64,
    pool: crate::pipeline::Pool,
    threads: usize,
    on_chunk: Option<ChunkCallback>,
}

impl<W: Write> Writer<W> {
    /// Starts an archive: writes the header (no commit yet). `threads` = 0 uses every core.
    pub fn new(mut out: W, threads: usize) -> Result<Writer<W>> {
        out.write_all(&encode_header())?;
        Writer::resume(out, HEADER_LEN, Index::default(), 1, threads)
    }

    /// Continues after `pos` (where `out` stands) with the entries of `index` already present.
    pub(crate) fn resume(out: W, pos: u64, index: Index, generation: u64, threads: usize) -> Result<Writer<W>> {
        let (pool, threads) = crate::pipeline::pool(threads)?;
        let names = index.entries.iter().map(|e| e.name.clone()).collect();
        Ok(Writer { out, pos, index, names, generation, pool, threads, on_chunk: None })
    }

    /// Calls `f` after each chunk is written (progress bars, per-chunk reports).
    pub fn on_chunk(&mut self, f: impl FnMut(&ChunkEvent<'_>) + Send + 'static) {
        self.on_chunk = Some(Box::new(f));
    }

    /// The entries written so far.
    pub fn index(&self) -> &Index {
        &self.index
    }

    fn claim_name(&mut self, name: &str) -> Result<()> {
        check_name(name).map_err(Error::Invalid)?;
        if !self.names.insert(name.to_string()) {
            return Err(Error::Invalid(format!("the archive already has an entry named {name:?}")));
        }
        Ok(())
    }

    /// Adds an empty directory.
    pub fn add_dir(&mut self, name: &str) -> Result<&Entry> {
        self.claim_name(name)?;
        let e = Entry {
            name: name.to_string(),
            kind: EntryKind::Dir,
            codec: ChunkCodec::Stored,
            filters: Filters::NONE,
            typesize: 1,
            checksum: Checksum::None,
            level: 0,
            size: 0,
            chunk_size: 1,
            metadata: json!({}),
            digest: Vec::new(),
            chunks: Vec::new(),
            starts: Vec::new(),
        };
        self.index.entries.push(e);
        Ok(self.index.entries.last().expect("just pushed"))
    }

    /// Adds the bytes of `input` as a file entry (a [`ChunkCodec::Das`] request falls back to zstd + shuffle).
    pub fn add_reader(&mut self, name: &str, input: impl Read, opts: &EntryOptions) -> Result<&Entry> {
        self.claim_name(name)?;
        let typesize = opts.typesize.unwrap_or(1);
        let plan = byte_plan(opts, typesize)?;
        self.write_entry(name, EntryKind::File, base_meta(opts), input, None, plan, opts)
    }

    /// Adds a file of `file_len` bytes that may be a `.npy` array: an array keeps its header in the metadata and its
    /// data is coded by the DAS codec when asked and possible; anything else is stored as by [`Writer::add_reader`].
    pub fn add_npy(&mut self, name: &str, mut input: impl Read, file_len: u64, opts: &EntryOptions) -> Result<&Entry> {
        let head = read_npy_head(&mut input)?;
        let Some(info) = NpyInfo::parse(&head, file_len) else {
            return self.add_reader(name, std::io::Cursor::new(head).chain(input), opts);
        };
        self.claim_name(name)?;
        let mut meta = base_meta(opts);
        meta.insert("npy".into(), info.to_json());
        let rest = info.data_offset as usize;
        let data = std::io::Cursor::new(head[rest..].to_vec()).chain(input);
        let (rows, cols) = info.layout_2d();
        let das_ok = opts.codec == ChunkCodec::Das
            && info.das_dtype().is_some()
            && cols.checked_mul(info.itemsize).is_some_and(|rb| rb <= u64::from(MAX_CHUNK_SIZE));
        let plan = if das_ok {
            let layout = DasLayout { dtype: info.das_dtype().expect("checked"), cols };
            let mut params = opts.das.clone();
            params.threads = 0;
            meta.insert("das".into(), layout.to_json(rows, &params));
            Plan::Das { layout, params: params.clone(), lossy: params.abs_error > 0.0 }
        } else {
            let typesize = opts.typesize.unwrap_or(u8::try_from(info.itemsize).unwrap_or(1));
            byte_plan(opts, typesize)?
        };
        let size = info.data_len();
        self.write_entry(name, EntryKind::Array, meta, data, Some(size), plan, opts)
    }

    #[allow(clippy::too_many_arguments)]
    fn write_entry(
        &mut self,
        name: &str,
        kind: EntryKind,
        meta: Map<String, Value>,
        mut input: impl Read,
        exact_size: Option<u64>,
        plan: Plan,
        opts: &EntryOptions,
    ) -> Result<&Entry> {
        let chunk_len = match &plan {
            Plan::Das { layout, .. } if layout.row_bytes() > 0 => {
                let rb = layout.row_bytes();
                (u64::from(opts.das_chunk_size.min(MAX_CHUNK_SIZE)) / rb).max(1) * rb
            }
            _ => u64::from(opts.chunk_size.clamp(1, MAX_CHUNK_SIZE)),
        } as usize;
        let (codec, filters, typesize, level) = match &plan {
            Plan::Bytes { codec, filters, typesize, level } => (*codec, *filters, *typesize, *level),
            Plan::Das { .. } => (ChunkCodec::Das, Filters::NONE, 0, 0),
        };
        let mut hasher = opts.checksum.hasher();
        let mut chunks: Vec<ChunkRecord> = Vec::new();
        let mut total = 0u64;
        let mut remaining = exact_size;
        let threads = self.threads;
        let (out, pos, on_chunk) = (&mut self.out, &mut self.pos, &mut self.on_chunk);
        // Writes one coded chunk (in order) and records it.
        let mut emit = |data: &[u8], res: CodedChunk| -> Result<()> {
            let (stored, decoded, seconds) = res.map_err(|m| Error::Invalid(format!("{name}: {m}")))?;
            hasher.update(decoded.as_deref().unwrap_or(data));
            let rec = ChunkRecord {
                offset: *pos,
                stored_len: u32::try_from(stored.len())
                    .map_err(|_| Error::Invalid(format!("{name}: a coded chunk exceeds 4 GiB")))?,
                orig_len: data.len() as u32,
                crc32: crc32fast::hash(&stored),
            };
            out.write_all(&stored)?;
            *pos += stored.len() as u64;
            total += data.len() as u64;
            if let Some(f) = on_chunk.as_mut() {
                f(&ChunkEvent {
                    entry: name,
                    index: chunks.len() as u64,
                    orig_len: rec.orig_len,
                    stored_len: rec.stored_len,
                    seconds,
                });
            }
            chunks.push(rec);
            Ok(())
        };
        let plan = &plan;
        if threads <= 1 {
            while let Some(data) = read_next(&mut input, chunk_len, &mut remaining, name)? {
                let res = timed_chunk(plan, &data);
                emit(&data, res)?;
            }
        } else {
            // This thread reads the input and writes coded chunks in order while the pool codes them.
            crate::pipeline::ordered(
                &self.pool,
                2 * threads,
                || read_next(&mut input, chunk_len, &mut remaining, name),
                |_, data: Vec<u8>| {
                    let res = timed_chunk(plan, &data);
                    (data, res)
                },
                |_| (Vec::new(), Err("the chunk coder panicked".into())),
                |_, (data, res)| emit(&data, res),
            )?;
        }
        let mut e = Entry {
            name: name.to_string(),
            kind,
            codec,
            filters,
            typesize: typesize.max(1),
            checksum: opts.checksum,
            level: level.clamp(-128, 127) as i8,
            size: total,
            chunk_size: chunk_len.max(1) as u32,
            metadata: Value::Object(meta),
            digest: hasher.finalize().to_vec(),
            chunks,
            starts: Vec::new(),
        };
        e.compute_starts();
        self.index.entries.push(e);
        Ok(self.index.entries.last().expect("just pushed"))
    }

    /// Writes the index where the output stands; returns the commit that names it.
    pub(crate) fn write_index(&mut self) -> Result<Commit> {
        let bytes = self.index.encode();
        self.out.write_all(&bytes)?;
        let c = Commit {
            generation: self.generation,
            index_offset: self.pos,
            index_len: bytes.len() as u64,
            index_crc: crc32fast::hash(&bytes),
        };
        self.pos += bytes.len() as u64;
        self.out.flush()?;
        Ok(c)
    }

    /// Ends an archive written to a stream: the index, then the footer.
    pub fn finish_stream(mut self) -> Result<W> {
        let c = self.write_index()?;
        self.out.write_all(&c.encode_footer())?;
        self.out.flush()?;
        Ok(self.out)
    }

    pub(crate) fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }
}

impl<W: Write + Seek> Writer<W> {
    /// Ends an archive written to a seekable output: the index, then commit slot 0.
    pub fn finish(mut self) -> Result<W> {
        let c = self.write_index()?;
        self.out.seek(SeekFrom::Start(slot_offset(0)))?;
        self.out.write_all(&c.encode())?;
        self.out.seek(SeekFrom::End(0))?;
        self.out.flush()?;
        Ok(self.out)
    }
}

fn base_meta(opts: &EntryOptions) -> Map<String, Value> {
    let mut m = Map::new();
    if let Some(u) = &opts.user_metadata {
        m.insert("user".into(), u.clone());
    }
    m
}

fn byte_plan(opts: &EntryOptions, typesize: u8) -> Result<Plan> {
    let typesize = typesize.max(1);
    let (codec, level, mut filters) = if opts.codec == ChunkCodec::Das {
        // Not an array the DAS codec takes: zstd, with the requested filters where they make sense.
        let mut f = opts.filters;
        f.delta &= matches!(typesize, 1 | 2 | 4 | 8);
        (ChunkCodec::Zstd, if opts.level > 0 { opts.level } else { 3 }, f)
    } else {
        (opts.codec, opts.level, opts.filters)
    };
    if typesize == 1 {
        filters.shuffle = false; // a byte shuffle of single bytes is a copy
    }
    filters.check(typesize).map_err(Error::Invalid)?;
    Ok(Plan::Bytes { codec, level, filters, typesize })
}

/// Codes one chunk; for fixed-accuracy DAS chunks also returns the decoded bytes, which the digest covers.
fn code_chunk(plan: &Plan, data: &[u8]) -> std::result::Result<(Vec<u8>, Option<Vec<u8>>), String> {
    match plan {
        Plan::Bytes { codec, level, filters, typesize } => {
            Ok((chunk::encode_bytes(*codec, *level, *filters, *typesize, data), None))
        }
        Plan::Das { layout, params, lossy } => {
            let stored = array::encode_das(*layout, params, data)?;
            let decoded = if *lossy { Some(array::decode_das(*layout, &stored, data.len())?) } else { None };
            Ok((stored, decoded))
        }
    }
}

/// Codes one chunk and times it.
fn timed_chunk(plan: &Plan, data: &[u8]) -> CodedChunk {
    let t = Instant::now();
    let (stored, decoded) = code_chunk(plan, data)?;
    Ok((stored, decoded, t.elapsed().as_secs_f64()))
}

/// The next chunk of the input (`None` at its end); with a known size, an input ending early is an error.
fn read_next(
    input: &mut impl Read,
    chunk_len: usize,
    remaining: &mut Option<u64>,
    name: &str,
) -> Result<Option<Vec<u8>>> {
    let want = remaining.map_or(chunk_len, |r| r.min(chunk_len as u64) as usize);
    if want == 0 {
        return Ok(None);
    }
    let buf = read_up_to(input, want)?;
    if let Some(r) = remaining.as_mut() {
        if buf.len() < want {
            return Err(Error::Invalid(format!("{name}: input ended {} bytes early", *r - buf.len() as u64)));
        }
        *r -= buf.len() as u64;
    }
    Ok((!buf.is_empty()).then_some(buf))
}

/// Reads until `want` bytes or the end of the input.
fn read_up_to(r: &mut impl Read, want: usize) -> Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(want);
    r.take(want as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

/// The preamble and header of a possible `.npy` file (or whatever the first bytes are).
fn read_npy_head(r: &mut impl Read) -> Result<Vec<u8>> {
    let mut head = read_up_to(r, 12)?;
    if head.len() == 12 && head.starts_with(b"\x93NUMPY") {
        let (hlen, start) = match head[6] {
            1 => (usize::from(u16::from_le_bytes([head[8], head[9]])), 10),
            _ => (u32::from_le_bytes(head[8..12].try_into().expect("4 bytes")) as usize, 12),
        };
        let want = (start + hlen.min(1 << 20)).saturating_sub(12);
        head.extend_from_slice(&read_up_to(r, want)?);
    }
    Ok(head)
}
