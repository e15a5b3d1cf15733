//! The stream container: fixed header, tile index, header checksum, tile payloads. See `docs/format.md`.

use crate::bytes::Cursor;
use crate::{CodecError, DType, MAX_TILE_AREA};

/// First four bytes of every stream.
pub const MAGIC: [u8; 4] = *b"DASP";
/// The newest stream version this build writes; it reads every version from 1 to this one. Version 2 added the
/// lossless float variants 3 and 4, version 3 tile method 3, version 4 tile method 4, version 5 entropy tables
/// given as laws (docs/format.md). A stream is written with the lowest version that has what it uses: streams with a
/// table that is a law as version 5, other streams coded by columns (method 4; this encoder no longer writes method
/// 3) as version 4, other streams of modes 2 and 3 as version 2, all others as version 1, so that older decoders
/// still read them.
pub const FORMAT_VERSION: u8 = 5;
pub(crate) const HEADER_LEN: usize = 52;
pub(crate) const INDEX_ENTRY_LEN: usize = 8;
/// A stream may not claim more than this many output bytes per input byte; bounds what a hostile header can make a
/// decoder allocate. The encoder cannot exceed it: a tile holds at most `MAX_TILE_AREA` (2^22) elements of at most
/// 8 bytes and costs an 8-byte index entry plus a payload of more than 24 bytes even when constant
/// (`tests/expansion_bound.rs` checks every dtype, mode and coder at the largest tile).
pub const MAX_EXPANSION: u128 = 1 << 20;

/// How stored integers map back to elements.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    /// Integer elements; stored integer `q` means `q * step` (step = 2E + 1; 1 is lossless).
    Int { step: u64 },
    /// Float elements quantised with `step` (= 2E, less a guard): stored `q` means `q * step` in f64, then rounded
    /// to the element type.
    FloatQuant { step: f64 },
    /// Lossless floats that are integers times `scale`: stored `k` means `float(k) * float(scale)` computed in the
    /// element type (for float32 with a scale that is no float32 value, since version 2: computed in f64, then
    /// rounded to float32), with per-tile exceptions holding exact bits.
    FloatScaled { scale: f64 },
    /// Lossless floats coded through an order-preserving map of their bits.
    FloatBits,
}

/// One tile's place in the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TileEntry {
    pub offset: u64,
    pub len: u64,
    pub crc32: u32,
}

/// A parsed stream header.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    pub version: u8,
    pub dtype: DType,
    pub mode: Mode,
    pub rows: u64,
    pub cols: u64,
    pub block_height: u32,
    pub block_width: u32,
    /// The error bound requested at compression (0 = lossless).
    pub abs_error: f64,
    pub tiles: Vec<TileEntry>,
    /// Offset of the first tile payload.
    pub data_start: u64,
}

/// The tiling of a `rows x cols` array by `bh x bw` tiles, numbered row-major.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TileGrid {
    rows: usize,
    cols: usize,
    bh: usize,
    bw: usize,
    across: usize,
    down: usize,
}

impl TileGrid {
    pub fn new(rows: usize, cols: usize, bh: usize, bw: usize) -> Self {
        let (bh, bw) = (bh.max(1), bw.max(1));
        let (down, across) = if rows == 0 || cols == 0 { (0, 0) } else { (rows.div_ceil(bh), cols.div_ceil(bw)) };
        TileGrid { rows, cols, bh, bw, across, down }
    }

    pub fn count(&self) -> usize {
        self.across * self.down
    }

    /// Rows of a full tile.
    pub fn block_height(&self) -> usize {
        self.bh
    }

    /// Tiles in a tile row.
    pub fn across(&self) -> usize {
        self.across
    }

    /// Index of the first tile (column 0) of the tile row holding array row `r`.
    pub fn first_tile_of_row(&self, r: usize) -> usize {
        r / self.bh * self.across
    }

    /// `(row0, col0, rows, cols)` of tile `i`.
    pub fn tile(&self, i: usize) -> (usize, usize, usize, usize) {
        let (ti, tj) = (i / self.across, i % self.across);
        let (r0, c0) = (ti * self.bh, tj * self.bw);
        (r0, c0, self.bh.min(self.rows - r0), self.bw.min(self.cols - c0))
    }
}

fn mode_bytes(mode: Mode) -> (u8, u64) {
    match mode {
        Mode::Int { step } => (0, step),
        Mode::FloatQuant { step } => (1, step.to_bits()),
        Mode::FloatScaled { scale } => (2, scale.to_bits()),
        Mode::FloatBits => (3, 0),
    }
}

/// The stream: header, tile index and its CRC, then the tiles. `place` copies each tile into its place and returns
/// its CRC-32 ([`place_tile`] on each), and may do so on several threads: the copy and its page faults were the
/// largest serial part of compressing a large array on two threads. Each tile is freed once copied, so peak memory
/// is about one output, not two.
pub(crate) fn assemble(
    h: &Header,
    tiles: Vec<Vec<u8>>,
    place: impl FnOnce(Vec<(&mut [u8], Vec<u8>)>) -> Vec<u32>,
) -> Vec<u8> {
    let lens: Vec<usize> = tiles.iter().map(Vec::len).collect();
    let head_len = HEADER_LEN + tiles.len() * INDEX_ENTRY_LEN + 4;
    let data_len: usize = lens.iter().sum();
    // Zeroed memory the allocator takes fresh from the system (its pages are faulted in by `place`'s writes).
    let mut out = vec![0u8; head_len + data_len];
    let (head, mut rest) = out.split_at_mut(head_len);
    let mut jobs = Vec::with_capacity(tiles.len());
    for t in tiles {
        let (dst, tail) = rest.split_at_mut(t.len());
        jobs.push((dst, t));
        rest = tail;
    }
    let crcs = place(jobs);
    let (mode, step) = mode_bytes(h.mode);
    let mut w = Vec::with_capacity(head_len);
    w.extend_from_slice(&MAGIC);
    w.extend_from_slice(&[h.version, h.dtype.code(), mode, 0]);
    w.extend_from_slice(&h.rows.to_le_bytes());
    w.extend_from_slice(&h.cols.to_le_bytes());
    w.extend_from_slice(&h.block_height.to_le_bytes());
    w.extend_from_slice(&h.block_width.to_le_bytes());
    w.extend_from_slice(&h.abs_error.to_le_bytes());
    w.extend_from_slice(&step.to_le_bytes());
    w.extend_from_slice(&(lens.len() as u32).to_le_bytes());
    for (&len, &crc) in lens.iter().zip(&crcs) {
        w.extend_from_slice(&(len as u32).to_le_bytes());
        w.extend_from_slice(&crc.to_le_bytes());
    }
    let crc = crc32fast::hash(&w);
    w.extend_from_slice(&crc.to_le_bytes());
    head.copy_from_slice(&w);
    out
}

/// What [`assemble`]'s `place` does with each tile: copies it into its place and returns its CRC-32.
pub(crate) fn place_tile((dst, tile): (&mut [u8], Vec<u8>)) -> u32 {
    dst.copy_from_slice(&tile);
    crc32fast::hash(&tile)
}

pub(crate) fn parse(s: &[u8]) -> Result<Header, CodecError> {
    let mut c = Cursor::new(s, 0);
    if c.take(4, "magic")? != MAGIC {
        return Err(CodecError::BadMagic);
    }
    let version = c.u8("version")?;
    if !(1..=FORMAT_VERSION).contains(&version) {
        return Err(CodecError::UnsupportedVersion(version));
    }
    let dtype = DType::from_code(c.u8("dtype")?).ok_or(CodecError::Corrupt { what: "dtype code", offset: 5 })?;
    let mode_code = c.u8("mode")?;
    let _reserved = c.u8("reserved")?;
    let rows = c.u64("rows")?;
    let cols = c.u64("cols")?;
    let block_height = c.u32("block height")?;
    let block_width = c.u32("block width")?;
    let abs_error = f64::from_bits(c.u64("abs_error")?);
    if !(abs_error.is_finite() && abs_error >= 0.0) {
        return Err(CodecError::Corrupt { what: "abs_error (must be finite and >= 0)", offset: 32 });
    }
    let step = c.u64("step")?;
    let ntiles = c.u32("tile count")? as usize;
    let mode = match (mode_code, dtype.is_float()) {
        (0, false) if step >= 1 && step <= u32::MAX as u64 => Mode::Int { step },
        (1, true) if f64::from_bits(step).is_finite() && f64::from_bits(step) > 0.0 => {
            Mode::FloatQuant { step: f64::from_bits(step) }
        }
        (2, true) => {
            let scale = f64::from_bits(step);
            // Version 1 knew only float32 scales for float32 elements; version 2 adds f64 scales (product in f64).
            let representable = dtype == DType::F64 || version >= 2 || (scale as f32) as f64 == scale;
            if !(scale.is_finite() && scale > 0.0 && representable) {
                return Err(CodecError::Corrupt { what: "float scale", offset: 40 });
            }
            Mode::FloatScaled { scale }
        }
        (3, true) if step == 0 => Mode::FloatBits,
        _ => return Err(CodecError::Corrupt { what: "mode or quantisation step", offset: 6 }),
    };
    let n = (rows as u128) * (cols as u128);
    // Saturating: rows * cols * 8 can pass u128 (2^64 x 2^64 x 8), and a wrapped product would pass the check.
    let claimed = n.saturating_mul(dtype.size() as u128);
    if claimed > (s.len() as u128) * MAX_EXPANSION || rows > usize::MAX as u64 || cols > usize::MAX as u64 {
        return Err(CodecError::TooLarge { claimed, input: s.len() });
    }
    if n > 0
        && (block_height == 0 || block_width == 0 || block_height as u64 * block_width as u64 > MAX_TILE_AREA as u64)
    {
        return Err(CodecError::Corrupt { what: "block size", offset: 24 });
    }
    let grid = TileGrid::new(rows as usize, cols as usize, block_height as usize, block_width as usize);
    if grid.count() != ntiles {
        return Err(CodecError::Corrupt { what: "tile count does not match shape and block size", offset: 48 });
    }
    // The index is read only after checking the input can hold it.
    let index = c.take(
        ntiles.checked_mul(INDEX_ENTRY_LEN).ok_or(CodecError::Truncated { what: "tile index", offset: HEADER_LEN })?,
        "tile index",
    )?;
    let crc = c.u32("header checksum")?;
    let header_end = HEADER_LEN + index.len();
    if crc32fast::hash(&s[..header_end]) != crc {
        return Err(CodecError::Corrupt { what: "header checksum mismatch", offset: header_end });
    }
    let data_start = (header_end + 4) as u64;
    let mut offset = data_start;
    let mut tiles = Vec::with_capacity(ntiles);
    for e in index.chunks_exact(INDEX_ENTRY_LEN) {
        let len = u32::from_le_bytes([e[0], e[1], e[2], e[3]]) as u64;
        let crc32 = u32::from_le_bytes([e[4], e[5], e[6], e[7]]);
        tiles.push(TileEntry { offset, len, crc32 });
        offset += len;
    }
    if offset != s.len() as u64 {
        let what = if offset > s.len() as u64 { "tile data" } else { "trailing bytes after the last tile" };
        return Err(if offset > s.len() as u64 {
            CodecError::Truncated { what, offset: s.len() }
        } else {
            CodecError::Corrupt { what, offset: offset as usize }
        });
    }
    Ok(Header { version, dtype, mode, rows, cols, block_height, block_width, abs_error, tiles, data_start })
}
