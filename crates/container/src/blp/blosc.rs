//! Blosc1 chunks, decoded and encoded exactly as c-blosc 1.x lays them out.
//!
//! ```text
//! offset  size  field
//!      0     1  version      2 (Blosc format 2; 1 is accepted too)
//!      1     1  versionlz    1 for every codec
//!      2     1  flags        0x01 byte shuffle, 0x02 memcpyed, 0x04 bit shuffle, 0x10 don't split,
//!                            bits 5..7 codec: 0 blosclz, 1 lz4/lz4hc, 2 snappy, 3 zlib, 4 zstd
//!      3     1  typesize
//!      4     4  nbytes       uncompressed size (u32 LE)
//!      8     4  blocksize    (u32 LE)
//!     12     4  cbytes       whole chunk size including this header (u32 LE)
//! memcpyed: the nbytes raw bytes follow. Otherwise:
//!     16  4*nb  bstarts      i32 LE offset of each block from the chunk start (any order: threads finish
//!                            blocks in any order)
//! block: for each of `nsplits` streams: i32 LE csize, then csize bytes; csize == stream size means stored raw.
//! ```
//!
//! `nblocks = ceil(nbytes / blocksize)`; the last block holds `nbytes % blocksize` bytes when that is not zero (the
//! "leftover" block). A block is split into `typesize` streams (one per byte of the element, after shuffling) when
//! the don't-split flag is clear, `typesize <= 16`, `blocksize / typesize >= 128` and the block is not the leftover;
//! otherwise it is one stream. The encoder decides the flag as c-blosc 1.x's default "forward compatible" split
//! mode does: split unless the codec is zstd, `typesize > 16` or `blocksize / typesize < 128`.
//!
//! # Hostile input
//! Every field is checked before use and all arithmetic is checked. The output (`nbytes`) is allocated only after
//! checking `nbytes <= (cbytes - 16) * max_ratio(codec)`, where the ratio is the most the codec's format can
//! expand one input byte: 256 for BloscLZ and LZ4, 1040 for zlib (deflate's limit is 1032), 32768 for zstd (a
//! 4-byte RLE block expands to 128 KiB), and 1 for memcpyed chunks. So a chunk never makes us allocate more than
//! those multiples of the bytes it actually occupies.

use super::blosclz;
use super::shuffle::{bitshuffle, bitunshuffle, shuffle, unshuffle};

/// Size of the chunk header.
pub const HEADER_LEN: usize = 16;
/// c-blosc's BLOSC_MAX_OVERHEAD: a chunk is never more than this larger than its data.
pub const MAX_OVERHEAD: usize = 16;
/// Chunks smaller than this are stored memcpyed (c-blosc's BLOSC_MIN_BUFFERSIZE).
pub const MIN_BUFFERSIZE: usize = 128;
/// Largest chunk c-blosc accepts (BLOSC_MAX_BUFFERSIZE).
pub const MAX_BUFFERSIZE: usize = i32::MAX as usize - MAX_OVERHEAD;
/// Most streams a block is split into (c-blosc's MAX_SPLITS).
pub const MAX_SPLITS: usize = 16;
/// Flag bits.
pub const FLAG_SHUFFLE: u8 = 0x01;
/// The chunk holds its data uncompressed.
pub const FLAG_MEMCPYED: u8 = 0x02;
/// Bit shuffle.
pub const FLAG_BITSHUFFLE: u8 = 0x04;
/// Blocks are not split into per-byte streams.
pub const FLAG_DONT_SPLIT: u8 = 0x10;

const L1: usize = 32 * 1024;

/// A Blosc compressor. `Lz4hc` is stored with the same format code as `Lz4`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Codec {
    /// BloscLZ (code 0), Bloscpack's default.
    BloscLz,
    /// LZ4 (code 1).
    Lz4,
    /// LZ4 high compression (code 1; this crate encodes it with the plain LZ4 compressor).
    Lz4hc,
    /// Snappy (code 2): recognised, not supported.
    Snappy,
    /// zlib (code 3).
    Zlib,
    /// Zstandard (code 4).
    Zstd,
}

impl Codec {
    /// Codecs this crate can write.
    pub const WRITABLE: [Codec; 5] = [Codec::BloscLz, Codec::Lz4, Codec::Lz4hc, Codec::Zlib, Codec::Zstd];

    /// The name python-blosc uses.
    pub fn name(self) -> &'static str {
        match self {
            Codec::BloscLz => "blosclz",
            Codec::Lz4 => "lz4",
            Codec::Lz4hc => "lz4hc",
            Codec::Snappy => "snappy",
            Codec::Zlib => "zlib",
            Codec::Zstd => "zstd",
        }
    }

    /// Parses a python-blosc name (ASCII case ignored).
    pub fn from_name(name: &str) -> Option<Codec> {
        [Codec::BloscLz, Codec::Lz4, Codec::Lz4hc, Codec::Snappy, Codec::Zlib, Codec::Zstd]
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(name))
    }

    /// The 3-bit format code stored in the flags.
    pub fn format_code(self) -> u8 {
        match self {
            Codec::BloscLz => 0,
            Codec::Lz4 | Codec::Lz4hc => 1,
            Codec::Snappy => 2,
            Codec::Zlib => 3,
            Codec::Zstd => 4,
        }
    }

    /// The codec for a format code (1 reads as `Lz4`).
    pub fn from_format_code(code: u8) -> Option<Codec> {
        match code {
            0 => Some(Codec::BloscLz),
            1 => Some(Codec::Lz4),
            2 => Some(Codec::Snappy),
            3 => Some(Codec::Zlib),
            4 => Some(Codec::Zstd),
            _ => None,
        }
    }

    /// c-blosc's HCR(): codecs meant for high ratios get bigger blocks.
    fn high_ratio(self) -> bool {
        matches!(self, Codec::Lz4hc | Codec::Zlib | Codec::Zstd)
    }

    /// Most output bytes one input byte of this codec's stream can produce (see the module docs).
    pub fn max_ratio(self) -> u64 {
        match self {
            Codec::BloscLz | Codec::Lz4 | Codec::Lz4hc | Codec::Snappy => 256,
            Codec::Zlib => 1040,
            Codec::Zstd => 32768,
        }
    }
}

impl std::fmt::Display for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The shuffle filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Shuffle {
    /// No filter (python-blosc `NOSHUFFLE` = 0).
    None,
    /// Byte shuffle (`SHUFFLE` = 1), Bloscpack's default.
    #[default]
    Byte,
    /// Bit shuffle (`BITSHUFFLE` = 2).
    Bit,
}

impl Shuffle {
    /// Parses `none`/`noshuffle`/`0`, `byte`/`shuffle`/`1`, `bit`/`bitshuffle`/`2`.
    pub fn from_name(name: &str) -> Option<Shuffle> {
        match name.to_ascii_lowercase().as_str() {
            "none" | "noshuffle" | "no" | "0" | "false" => Some(Shuffle::None),
            "byte" | "shuffle" | "1" | "true" => Some(Shuffle::Byte),
            "bit" | "bitshuffle" | "2" => Some(Shuffle::Bit),
            _ => None,
        }
    }

    /// `none`, `byte` or `bit`.
    pub fn name(self) -> &'static str {
        match self {
            Shuffle::None => "none",
            Shuffle::Byte => "byte",
            Shuffle::Bit => "bit",
        }
    }
}

/// Why a chunk could not be decoded or encoded. Offsets are from the start of the chunk.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BloscError {
    /// Fewer bytes than a field needs.
    #[error("truncated Blosc chunk: {what} needs {needed} bytes at chunk offset {offset}, only {available} present")]
    Truncated { what: &'static str, offset: u64, needed: u64, available: u64 },
    /// Unknown format version.
    #[error("unsupported Blosc format version {0} (chunk offset 0)")]
    UnsupportedVersion(u8),
    /// Unknown codec format version.
    #[error("unsupported {codec} format version {versionlz} (chunk offset 1)")]
    UnsupportedCodecVersion { codec: &'static str, versionlz: u8 },
    /// A codec this crate does not implement.
    #[error("unsupported Blosc codec {0} (flags at chunk offset 2)")]
    UnsupportedCodec(String),
    /// A header field out of range.
    #[error("invalid Blosc header: {field} = {value} at chunk offset {offset}: {reason}")]
    InvalidHeader { field: &'static str, offset: u64, value: u64, reason: &'static str },
    /// `nbytes` larger than the compressed bytes can justify.
    #[error("Blosc chunk claims {nbytes} bytes from {cbytes} compressed bytes, more than {codec} can expand to")]
    ImplausibleRatio { nbytes: u64, cbytes: u64, codec: &'static str },
    /// A block start outside the chunk.
    #[error("block {block}: start {value} (bstarts entry at chunk offset {offset}) is outside the chunk")]
    BadBlockStart { block: u64, offset: u64, value: i64 },
    /// A stream size outside the chunk.
    #[error("block {block} stream {stream}: size {value} at chunk offset {offset} is invalid")]
    BadStreamSize { block: u64, stream: u64, offset: u64, value: i64 },
    /// A block that cannot be split as its flags say.
    #[error("block {block} of {size} bytes cannot be split into {nsplits} streams")]
    BadSplit { block: u64, size: u64, nsplits: u64 },
    /// A codec failed on a stream.
    #[error("block {block} stream {stream} at chunk offset {offset}: {codec} stream is corrupt: {reason}")]
    Corrupt { block: u64, stream: u64, offset: u64, codec: &'static str, reason: String },
    /// Invalid compression parameters.
    #[error("invalid Blosc parameters: {0}")]
    InvalidParams(String),
    /// A codec failed while compressing.
    #[error("{codec} compression failed: {reason}")]
    Compress { codec: &'static str, reason: String },
}

type Result<T> = std::result::Result<T, BloscError>;

/// The 16-byte chunk header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkHeader {
    /// Blosc format version (2).
    pub version: u8,
    /// Codec format version (1).
    pub versionlz: u8,
    /// Flag byte.
    pub flags: u8,
    /// Element size used by the shuffle and the split.
    pub typesize: u8,
    /// Uncompressed size.
    pub nbytes: u32,
    /// Block size.
    pub blocksize: u32,
    /// Whole chunk size including the header.
    pub cbytes: u32,
}

impl ChunkHeader {
    /// Reads the header fields from the first 16 bytes (no validation beyond the length).
    pub fn parse(bytes: &[u8]) -> Result<ChunkHeader> {
        if bytes.len() < HEADER_LEN {
            return Err(BloscError::Truncated {
                what: "header",
                offset: 0,
                needed: HEADER_LEN as u64,
                available: bytes.len() as u64,
            });
        }
        let u32_at = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        Ok(ChunkHeader {
            version: bytes[0],
            versionlz: bytes[1],
            flags: bytes[2],
            typesize: bytes[3],
            nbytes: u32_at(4),
            blocksize: u32_at(8),
            cbytes: u32_at(12),
        })
    }

    /// The 16 header bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0] = self.version;
        b[1] = self.versionlz;
        b[2] = self.flags;
        b[3] = self.typesize;
        b[4..8].copy_from_slice(&self.nbytes.to_le_bytes());
        b[8..12].copy_from_slice(&self.blocksize.to_le_bytes());
        b[12..16].copy_from_slice(&self.cbytes.to_le_bytes());
        b
    }

    /// The 3-bit codec code.
    pub fn codec_code(&self) -> u8 {
        self.flags >> 5
    }

    /// The codec, if the code is known.
    pub fn codec(&self) -> Option<Codec> {
        Codec::from_format_code(self.codec_code())
    }

    /// Whether the data is stored uncompressed.
    pub fn memcpyed(&self) -> bool {
        self.flags & FLAG_MEMCPYED != 0
    }

    /// The shuffle the flags ask for (byte shuffle wins if both bits are set, as in c-blosc).
    pub fn shuffle(&self) -> Shuffle {
        if self.flags & FLAG_SHUFFLE != 0 {
            Shuffle::Byte
        } else if self.flags & FLAG_BITSHUFFLE != 0 {
            Shuffle::Bit
        } else {
            Shuffle::None
        }
    }

    /// Whether the don't-split flag is set.
    pub fn dont_split(&self) -> bool {
        self.flags & FLAG_DONT_SPLIT != 0
    }

    /// Number of blocks (0 for memcpyed chunks, whose data is not blocked).
    pub fn nblocks(&self) -> u64 {
        if self.memcpyed() || self.blocksize == 0 {
            0
        } else {
            u64::from(self.nbytes).div_ceil(u64::from(self.blocksize))
        }
    }
}

fn invalid(field: &'static str, offset: u64, value: u64, reason: &'static str) -> BloscError {
    BloscError::InvalidHeader { field, offset, value, reason }
}

/// Checks the header against the chunk bytes (`chunk` may extend past `cbytes`; only `cbytes` are used).
fn validate(h: &ChunkHeader, available: usize) -> Result<()> {
    if !(1..=2).contains(&h.version) {
        return Err(BloscError::UnsupportedVersion(h.version));
    }
    let cbytes = h.cbytes as usize;
    if cbytes < HEADER_LEN {
        return Err(invalid("cbytes", 12, cbytes as u64, "smaller than the 16-byte header"));
    }
    if cbytes > available {
        return Err(BloscError::Truncated {
            what: "chunk (cbytes)",
            offset: 0,
            needed: cbytes as u64,
            available: available as u64,
        });
    }
    if h.nbytes as usize > MAX_BUFFERSIZE {
        return Err(invalid("nbytes", 4, u64::from(h.nbytes), "larger than Blosc's 2 GiB limit"));
    }
    if h.typesize == 0 {
        return Err(invalid("typesize", 3, 0, "must be at least 1"));
    }
    if h.memcpyed() {
        if (h.nbytes as usize) > cbytes - HEADER_LEN {
            return Err(BloscError::Truncated {
                what: "memcpyed data",
                offset: HEADER_LEN as u64,
                needed: u64::from(h.nbytes),
                available: (cbytes - HEADER_LEN) as u64,
            });
        }
        return Ok(());
    }
    let Some(codec) = h.codec() else {
        return Err(BloscError::UnsupportedCodec(format!("code {}", h.codec_code())));
    };
    if h.versionlz != 1 {
        return Err(BloscError::UnsupportedCodecVersion { codec: codec.name(), versionlz: h.versionlz });
    }
    if h.nbytes == 0 {
        return Ok(());
    }
    if h.blocksize == 0 || h.blocksize > h.nbytes {
        return Err(invalid("blocksize", 8, u64::from(h.blocksize), "must be in 1..=nbytes"));
    }
    let payload = (cbytes - HEADER_LEN) as u64;
    if u64::from(h.nbytes) > payload.saturating_mul(codec.max_ratio()) {
        return Err(BloscError::ImplausibleRatio {
            nbytes: u64::from(h.nbytes),
            cbytes: cbytes as u64,
            codec: codec.name(),
        });
    }
    let table_end = (HEADER_LEN as u64) + 4 * h.nblocks();
    if table_end > cbytes as u64 {
        return Err(BloscError::Truncated {
            what: "bstarts table",
            offset: HEADER_LEN as u64,
            needed: table_end - HEADER_LEN as u64,
            available: payload,
        });
    }
    Ok(())
}

/// The whole size of the chunk starting at `bytes` (its `cbytes`), after checking the header.
pub fn chunk_len(bytes: &[u8]) -> Result<usize> {
    let h = ChunkHeader::parse(bytes)?;
    Ok(h.cbytes as usize)
}

/// Decodes one chunk into a new `Vec`. `chunk` may be longer than the chunk; only `cbytes` bytes are used.
pub fn decompress(chunk: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    decompress_into(chunk, &mut out)?;
    Ok(out)
}

/// Decodes one chunk, appending its bytes to `out`. Returns the chunk header.
pub fn decompress_into(chunk: &[u8], out: &mut Vec<u8>) -> Result<ChunkHeader> {
    let h = ChunkHeader::parse(chunk)?;
    validate(&h, chunk.len())?;
    let chunk = &chunk[..h.cbytes as usize];
    let nbytes = h.nbytes as usize;
    let base = out.len();
    if h.memcpyed() {
        out.extend_from_slice(&chunk[HEADER_LEN..HEADER_LEN + nbytes]);
        return Ok(h);
    }
    if nbytes == 0 {
        return Ok(h);
    }
    let codec = h.codec().expect("validated");
    let typesize = usize::from(h.typesize);
    let blocksize = h.blocksize as usize;
    let nblocks = nbytes.div_ceil(blocksize);
    let leftover = nbytes % blocksize;
    let shuffle_kind = h.shuffle();
    out.resize(base + nbytes, 0);
    let mut tmp = if shuffle_kind == Shuffle::None { Vec::new() } else { vec![0u8; blocksize] };
    let mut zstd_ctx: Option<zstd::bulk::Decompressor<'static>> = None;
    for j in 0..nblocks {
        let entry = HEADER_LEN + 4 * j;
        let bstart = i32::from_le_bytes([chunk[entry], chunk[entry + 1], chunk[entry + 2], chunk[entry + 3]]);
        let table_end = HEADER_LEN + 4 * nblocks;
        if bstart < 0 || (bstart as usize) < table_end || bstart as usize >= chunk.len() {
            return Err(BloscError::BadBlockStart { block: j as u64, offset: entry as u64, value: i64::from(bstart) });
        }
        let leftover_block = j == nblocks - 1 && leftover != 0;
        let bsize = if leftover_block { leftover } else { blocksize };
        let do_shuffle = match shuffle_kind {
            Shuffle::Byte => typesize > 1,
            Shuffle::Bit => bsize >= typesize,
            Shuffle::None => false,
        };
        let nsplits =
            if !h.dont_split() && typesize <= MAX_SPLITS && blocksize / typesize >= MIN_BUFFERSIZE && !leftover_block {
                typesize
            } else {
                1
            };
        if bsize % nsplits != 0 {
            return Err(BloscError::BadSplit { block: j as u64, size: bsize as u64, nsplits: nsplits as u64 });
        }
        let neblock = bsize / nsplits;
        let out_block = &mut out[base + j * blocksize..base + j * blocksize + bsize];
        let dest: &mut [u8] = if do_shuffle { &mut tmp[..bsize] } else { out_block };
        let mut pos = bstart as usize;
        for k in 0..nsplits {
            if chunk.len() - pos < 4 {
                return Err(BloscError::Truncated {
                    what: "stream size",
                    offset: pos as u64,
                    needed: 4,
                    available: (chunk.len() - pos) as u64,
                });
            }
            let csize = i32::from_le_bytes([chunk[pos], chunk[pos + 1], chunk[pos + 2], chunk[pos + 3]]);
            let size_at = pos;
            pos += 4;
            if csize <= 0 || csize as usize > chunk.len() - pos {
                return Err(BloscError::BadStreamSize {
                    block: j as u64,
                    stream: k as u64,
                    offset: size_at as u64,
                    value: i64::from(csize),
                });
            }
            let src = &chunk[pos..pos + csize as usize];
            let dst = &mut dest[k * neblock..(k + 1) * neblock];
            if src.len() == neblock {
                dst.copy_from_slice(src);
            } else {
                let corrupt = |reason: String| BloscError::Corrupt {
                    block: j as u64,
                    stream: k as u64,
                    offset: pos as u64,
                    codec: codec.name(),
                    reason,
                };
                decode_stream(codec, src, dst, &mut zstd_ctx).map_err(corrupt)?;
            }
            pos += csize as usize;
        }
        if do_shuffle {
            let out_block = &mut out[base + j * blocksize..base + j * blocksize + bsize];
            match shuffle_kind {
                Shuffle::Byte => unshuffle(typesize, &tmp[..bsize], out_block),
                Shuffle::Bit => bitunshuffle(typesize, &tmp[..bsize], out_block),
                Shuffle::None => {}
            }
        }
    }
    Ok(h)
}

/// Decodes one stream into `dst`, which it must fill exactly.
fn decode_stream(
    codec: Codec,
    src: &[u8],
    dst: &mut [u8],
    zstd_ctx: &mut Option<zstd::bulk::Decompressor<'static>>,
) -> std::result::Result<(), String> {
    let n = match codec {
        Codec::BloscLz => blosclz::decompress(src, dst).map_err(|e| e.to_string())?,
        Codec::Lz4 | Codec::Lz4hc => lz4_flex::block::decompress_into(src, dst).map_err(|e| e.to_string())?,
        Codec::Zlib => {
            let mut d = flate2::Decompress::new(true);
            let status = d.decompress(src, dst, flate2::FlushDecompress::Finish).map_err(|e| format!("zlib: {e}"))?;
            if status != flate2::Status::StreamEnd {
                return Err("zlib stream does not end within the block".into());
            }
            d.total_out() as usize
        }
        Codec::Zstd => {
            if zstd_ctx.is_none() {
                *zstd_ctx = Some(zstd::bulk::Decompressor::new().map_err(|e| format!("zstd: {e}"))?);
            }
            let ctx = zstd_ctx.as_mut().expect("just set");
            ctx.decompress_to_buffer(src, dst).map_err(|e| format!("zstd: {e}"))?
        }
        Codec::Snappy => return Err("snappy is not supported".into()),
    };
    if n != dst.len() {
        return Err(format!("decoded {n} bytes, expected {}", dst.len()));
    }
    Ok(())
}

/// How to compress a chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompressParams {
    /// The codec.
    pub codec: Codec,
    /// 0 (memcpy) ..= 9.
    pub clevel: u8,
    /// Element size for shuffle and split (1..=255).
    pub typesize: u8,
    /// The shuffle filter.
    pub shuffle: Shuffle,
    /// A forced block size (clamped to 128..=nbytes and rounded to the typesize), or `None` for c-blosc's choice.
    pub blocksize: Option<usize>,
}

impl Default for CompressParams {
    /// Bloscpack's defaults: blosclz, clevel 7, typesize 8, byte shuffle.
    fn default() -> Self {
        CompressParams { codec: Codec::BloscLz, clevel: 7, typesize: 8, shuffle: Shuffle::Byte, blocksize: None }
    }
}

/// c-blosc 1.x `split_block` in its default BLOSC_FORWARD_COMPAT_SPLIT mode.
fn split_block(codec: Codec, typesize: usize, blocksize: usize) -> bool {
    codec != Codec::Zstd && typesize <= MAX_SPLITS && blocksize / typesize >= MIN_BUFFERSIZE
}

/// c-blosc 1.x `compute_blocksize`.
pub fn compute_blocksize(codec: Codec, clevel: u8, typesize: usize, nbytes: usize, forced: Option<usize>) -> usize {
    if nbytes < typesize {
        return 1;
    }
    let mut bs = nbytes;
    if let Some(f) = forced.filter(|&f| f > 0) {
        bs = f.max(MIN_BUFFERSIZE);
    } else if nbytes >= L1 {
        bs = L1;
        if codec.high_ratio() {
            bs *= 2;
        }
        match clevel {
            0 => bs /= 4,
            1 => bs /= 2,
            2 => {}
            3 => bs *= 2,
            4 | 5 => bs *= 4,
            6..=8 => bs *= 8,
            _ => {
                bs *= 8;
                if codec.high_ratio() {
                    bs *= 2;
                }
            }
        }
    }
    if forced.is_none() && clevel > 0 && split_block(codec, typesize, bs) {
        bs = bs.min(1 << 18) * typesize;
        bs = bs.clamp(1 << 16, 1 << 20);
    }
    if bs > nbytes {
        bs = nbytes;
    }
    if bs > typesize {
        bs = bs / typesize * typesize;
    }
    bs
}

/// Reusable compression state (the BloscLZ hash table).
#[derive(Default)]
pub struct Compressor {
    blosclz: Option<blosclz::Encoder>,
}

impl Compressor {
    /// A new compressor.
    pub fn new() -> Compressor {
        Compressor::default()
    }

    /// Compresses `src` into one Blosc1 chunk that c-blosc 1.x decodes.
    pub fn compress(&mut self, src: &[u8], p: &CompressParams) -> Result<Vec<u8>> {
        if src.len() > MAX_BUFFERSIZE {
            return Err(BloscError::InvalidParams(format!(
                "{} bytes is more than one Blosc chunk can hold ({MAX_BUFFERSIZE})",
                src.len()
            )));
        }
        if p.typesize == 0 {
            return Err(BloscError::InvalidParams("typesize must be 1..=255".into()));
        }
        if p.clevel > 9 {
            return Err(BloscError::InvalidParams(format!("clevel {} is not in 0..=9", p.clevel)));
        }
        if p.codec == Codec::Snappy {
            return Err(BloscError::UnsupportedCodec("snappy".into()));
        }
        let nbytes = src.len();
        let typesize = usize::from(p.typesize);
        let blocksize = compute_blocksize(p.codec, p.clevel, typesize, nbytes, p.blocksize);
        let split = split_block(p.codec, typesize, blocksize);
        let mut flags = p.codec.format_code() << 5;
        match p.shuffle {
            Shuffle::None => {}
            Shuffle::Byte => flags |= FLAG_SHUFFLE,
            Shuffle::Bit => flags |= FLAG_BITSHUFFLE,
        }
        if !split {
            flags |= FLAG_DONT_SPLIT;
        }
        let mut header = ChunkHeader {
            version: 2,
            versionlz: 1,
            flags,
            typesize: p.typesize,
            nbytes: nbytes as u32,
            blocksize: blocksize as u32,
            cbytes: 0,
        };
        if p.clevel > 0 && nbytes >= MIN_BUFFERSIZE {
            if let Some(chunk) = self.compress_blocks(src, p, &mut header, split)? {
                return Ok(chunk);
            }
        }
        header.flags |= FLAG_MEMCPYED;
        header.cbytes = (nbytes + HEADER_LEN) as u32;
        let mut out = Vec::with_capacity(nbytes + HEADER_LEN);
        out.extend_from_slice(&header.to_bytes());
        out.extend_from_slice(src);
        Ok(out)
    }

    /// The blocked layout, or `None` when it would be larger than a memcpyed chunk.
    fn compress_blocks(
        &mut self,
        src: &[u8],
        p: &CompressParams,
        header: &mut ChunkHeader,
        split: bool,
    ) -> Result<Option<Vec<u8>>> {
        let nbytes = src.len();
        let blocksize = header.blocksize as usize;
        let typesize = usize::from(p.typesize);
        let nblocks = nbytes.div_ceil(blocksize);
        let leftover = nbytes % blocksize;
        let maxbytes = nbytes + MAX_OVERHEAD;
        let mut out = Vec::with_capacity(maxbytes.min(HEADER_LEN + 4 * nblocks + nbytes / 2 + 64));
        out.extend_from_slice(&[0u8; HEADER_LEN]);
        out.resize(HEADER_LEN + 4 * nblocks, 0);
        let mut tmp = vec![0u8; blocksize];
        for j in 0..nblocks {
            if out.len() > maxbytes {
                return Ok(None);
            }
            let bstart = out.len() as u32;
            out[HEADER_LEN + 4 * j..HEADER_LEN + 4 * j + 4].copy_from_slice(&bstart.to_le_bytes());
            let leftover_block = j == nblocks - 1 && leftover != 0;
            let bsize = if leftover_block { leftover } else { blocksize };
            let block = &src[j * blocksize..j * blocksize + bsize];
            let filtered: &[u8] = match p.shuffle {
                Shuffle::Byte if typesize > 1 => {
                    shuffle(typesize, block, &mut tmp[..bsize]);
                    &tmp[..bsize]
                }
                Shuffle::Bit if bsize >= typesize => {
                    bitshuffle(typesize, block, &mut tmp[..bsize]);
                    &tmp[..bsize]
                }
                _ => block,
            };
            let nsplits = if split && !leftover_block { typesize } else { 1 };
            let neblock = bsize / nsplits;
            for k in 0..nsplits {
                let stream = &filtered[k * neblock..(k + 1) * neblock];
                let size_at = out.len();
                out.extend_from_slice(&[0u8; 4]);
                let written = self.encode_stream(p, stream, &mut out)?;
                let csize = match written {
                    Some(n) => n,
                    None => {
                        out.extend_from_slice(stream);
                        neblock
                    }
                };
                out[size_at..size_at + 4].copy_from_slice(&(csize as u32).to_le_bytes());
            }
        }
        if out.len() > maxbytes {
            return Ok(None);
        }
        header.cbytes = out.len() as u32;
        out[..HEADER_LEN].copy_from_slice(&header.to_bytes());
        Ok(Some(out))
    }

    /// Appends the compressed stream and returns its length, or `None` when it is not shorter than the input.
    fn encode_stream(&mut self, p: &CompressParams, stream: &[u8], out: &mut Vec<u8>) -> Result<Option<usize>> {
        let n = stream.len();
        let err = |reason: String| BloscError::Compress { codec: p.codec.name(), reason };
        let compressed: Vec<u8> = match p.codec {
            Codec::BloscLz => {
                let enc = self.blosclz.get_or_insert_with(blosclz::Encoder::new);
                return Ok(enc.compress(stream, p.clevel, n, out));
            }
            Codec::Lz4 | Codec::Lz4hc => lz4_flex::block::compress(stream),
            Codec::Zlib => {
                use std::io::Write;
                let mut e = flate2::write::ZlibEncoder::new(
                    Vec::with_capacity(n / 2 + 64),
                    flate2::Compression::new(u32::from(p.clevel)),
                );
                e.write_all(stream).map_err(|e| err(e.to_string()))?;
                e.finish().map_err(|e| err(e.to_string()))?
            }
            Codec::Zstd => {
                // c-blosc 1.x maps its clevel to zstd's: 2*clevel - 1, and 9 to zstd's maximum.
                let level = if p.clevel < 9 { 2 * i32::from(p.clevel) - 1 } else { 22 };
                zstd::bulk::compress(stream, level).map_err(|e| err(e.to_string()))?
            }
            Codec::Snappy => return Err(BloscError::UnsupportedCodec("snappy".into())),
        };
        if compressed.is_empty() || compressed.len() >= n {
            return Ok(None);
        }
        out.extend_from_slice(&compressed);
        Ok(Some(compressed.len()))
    }
}

/// Compresses `src` into one chunk with a fresh [`Compressor`].
pub fn compress(src: &[u8], params: &CompressParams) -> Result<Vec<u8>> {
    Compressor::new().compress(src, params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(n: usize) -> Vec<u8> {
        (0..n as u64).flat_map(|i| (i * 3 + (i >> 9)).to_le_bytes()).take(n).collect()
    }

    #[test]
    fn blocksizes_match_c_blosc() {
        // Values read from the golden Bloscpack files' chunk headers.
        assert_eq!(compute_blocksize(Codec::BloscLz, 7, 8, 1 << 20, None), 1 << 20);
        assert_eq!(compute_blocksize(Codec::Zstd, 7, 8, 1 << 20, None), 1 << 19);
        assert_eq!(compute_blocksize(Codec::Zlib, 7, 8, 1 << 20, None), 1 << 20);
        assert_eq!(compute_blocksize(Codec::Zstd, 5, 2, 140_000, None), 140_000);
        assert_eq!(compute_blocksize(Codec::BloscLz, 0, 8, 10_000, None), 10_000);
        assert_eq!(compute_blocksize(Codec::BloscLz, 7, 8, 100, None), 96);
        assert_eq!(compute_blocksize(Codec::BloscLz, 7, 8, 0, None), 1);
    }

    #[test]
    fn round_trip_all() {
        let mut c = Compressor::new();
        for codec in Codec::WRITABLE {
            for shuffle in [Shuffle::None, Shuffle::Byte, Shuffle::Bit] {
                for ts in [1u8, 2, 4, 8, 15, 17] {
                    for n in [0usize, 1, 127, 128, 1000, 70_001, 300_000] {
                        for clevel in [0u8, 1, 5, 9] {
                            if clevel == 9 && (n > 100_000 || codec == Codec::Zstd) {
                                continue;
                            }
                            let src = sample(n);
                            let p = CompressParams { codec, clevel, typesize: ts, shuffle, blocksize: None };
                            let chunk = c.compress(&src, &p).unwrap();
                            assert!(chunk.len() <= n + MAX_OVERHEAD);
                            let h = ChunkHeader::parse(&chunk).unwrap();
                            assert_eq!(h.cbytes as usize, chunk.len());
                            assert_eq!(decompress(&chunk).unwrap(), src, "{p:?} n={n}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn forced_small_blocks_with_leftover() {
        let src = sample(10_007);
        for codec in Codec::WRITABLE {
            let p = CompressParams { codec, clevel: 5, typesize: 4, shuffle: Shuffle::Byte, blocksize: Some(1000) };
            let chunk = compress(&src, &p).unwrap();
            let h = ChunkHeader::parse(&chunk).unwrap();
            assert_eq!(h.blocksize, 1000);
            assert_eq!(h.nblocks(), 11);
            assert_eq!(decompress(&chunk).unwrap(), src);
        }
    }

    #[test]
    fn absurd_headers_are_errors() {
        let chunk = compress(&sample(5000), &CompressParams::default()).unwrap();
        let mut bad = chunk.clone();
        bad[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decompress(&bad).is_err());
        let mut bad = chunk.clone();
        bad[8..12].copy_from_slice(&0u32.to_le_bytes());
        assert!(decompress(&bad).is_err());
        let mut bad = chunk.clone();
        bad[12..16].copy_from_slice(&(chunk.len() as u32 + 1).to_le_bytes());
        assert!(decompress(&bad).is_err());
        let mut bad = chunk.clone();
        bad[16..20].copy_from_slice(&(-5i32).to_le_bytes());
        assert!(decompress(&bad).is_err());
        // nbytes far beyond what the compressed bytes can expand to
        let mut bad = chunk;
        bad[4..8].copy_from_slice(&(i32::MAX as u32 - 100).to_le_bytes());
        assert!(matches!(decompress(&bad), Err(BloscError::ImplausibleRatio { .. })));
    }
}
