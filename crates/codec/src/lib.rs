//! The DAS array codec: 2-D arrays (time x channel, row-major) of int16, uint16, int32, float32 and float64,
//! compressed losslessly or with a guaranteed maximum absolute error.
//!
//! Pipeline per tile (tiles of `block_height x block_width`, coded independently and in parallel):
//! quantisation (fixed accuracy only) -> optional 5/3 wavelet -> per-subband least-squares integer prediction ->
//! adaptive context-modelled range coding of the residuals. The stream is self-describing and versioned, with a
//! tile index so that any tile decodes alone. `docs/format.md` specifies it byte for byte.
// Unsafe code is limited to the `simd::avx2_dispatch` macro (calling an AVX2 build after checking the CPU has AVX2
// and the other features it was compiled for).
#![deny(unsafe_code)]

mod array;
mod bytes;
mod exact;
mod format;
mod quant;
mod simd;
mod tile;

pub use array::{ArrayBuf, ArrayRef, DType};
pub use format::{Header, Mode, TileEntry, FORMAT_VERSION, MAGIC, MAX_EXPANSION};
pub use tile::Entropy;

use exact::FloatExact;
use format::TileGrid;
use quant::Quantiser;
use rayon::prelude::*;
use tile::{RawKind, Shape, TileConfig};

/// Errors of the codec. Offsets are byte offsets into the stream.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CodecError {
    #[error("not a daspack stream (bad magic)")]
    BadMagic,
    #[error("unsupported daspack stream version {0} (this build reads 1 to {FORMAT_VERSION})")]
    UnsupportedVersion(u8),
    #[error("truncated stream: {what} at byte {offset}")]
    Truncated { what: &'static str, offset: usize },
    #[error("corrupt stream: {what} at byte {offset}")]
    Corrupt { what: &'static str, offset: usize },
    #[error("corrupt stream: checksum mismatch in tile {tile}")]
    TileChecksum { tile: usize },
    #[error("stream claims {claimed} bytes of output from {input} bytes of input, more than the format allows")]
    TooLarge { claimed: u128, input: usize },
    #[error("invalid parameter: {0}")]
    InvalidParams(String),
    #[error("shape {rows} x {cols} does not match {len} elements")]
    ShapeMismatch { rows: usize, cols: usize, len: usize },
    #[error("element {index} is {value}: NaN and infinity cannot be stored with an error bound")]
    NonFinite { index: usize, value: f64 },
    #[error("element {index} ({value}) cannot be stored within the error bound {bound}: {why}")]
    Unrepresentable { index: usize, value: f64, bound: f64, why: &'static str },
}

/// Compression parameters. `Default` gives the values tuned on the real DAS corpus.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    /// Tile height in time samples; 0 chooses from the array shape.
    pub block_height: usize,
    /// Tile width in channels; 0 chooses from the array shape.
    pub block_width: usize,
    /// Wavelet levels along space (channels).
    pub lx: u8,
    /// Wavelet levels along time.
    pub lt: u8,
    /// Prediction order along time (taps on the previous samples of the same channel), 0..=32.
    pub lpc_order: u8,
    /// Prediction order along channels (taps on the previous channels of the same time sample), 0..=8.
    pub lpc_space: u8,
    /// Choose the predictor per tile among a few shapes (the orders above are one candidate).
    pub auto: bool,
    /// Entropy coder of the residuals.
    pub entropy: Entropy,
    /// Rows per predictor segment within a tile's subband (0 = one predictor per subband).
    pub segment_rows: usize,
    /// Maximum absolute error; 0 is lossless (integer types only; floats need E > 0).
    pub abs_error: f64,
    /// Worker threads; 0 uses rayon's global pool. The output does not depend on it.
    pub threads: usize,
    /// Predict every channel of a tile apart, along time, then from the channels before it, with the tile's shared
    /// entropy tables (tile method 4, stream version 4): `Some(true)` always, `Some(false)` never, `None` as a trial
    /// on the array decides (arrays of 8 to 64 channels, with `auto`, automatic tile widths, static tables and no
    /// wavelet).
    pub columns: Option<bool>,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            block_height: 0,
            block_width: 0,
            lx: 0,
            lt: 0,
            lpc_order: 2,
            lpc_space: 2,
            auto: true,
            segment_rows: 0,
            entropy: Entropy::Static,
            abs_error: 0.0,
            threads: 0,
            columns: None,
        }
    }
}

/// Upper bound on the tile area the encoder picks by itself (samples).
const AUTO_TILE_AREA: usize = 1 << 20;
/// Upper bound on any tile's area (samples): bounds per-thread memory of encoder and decoder, and with the smallest
/// tile the encoder writes (an index entry plus a payload of at least ~30 bytes) keeps every stream it can produce
/// within [`MAX_EXPANSION`] (2^22 samples x 8 bytes / 32 bytes = 2^20).
pub const MAX_TILE_AREA: usize = 1 << 22;

impl Params {
    fn validate(&self) -> Result<(), CodecError> {
        let bad = |m: String| Err(CodecError::InvalidParams(m));
        if self.lx > tile::MAX_LEVELS || self.lt > tile::MAX_LEVELS {
            return bad(format!("wavelet levels must be at most {}", tile::MAX_LEVELS));
        }
        if self.lpc_order > 32 {
            return bad("lpc_order must be in 0..=32".into());
        }
        if self.lpc_space > 8 {
            return bad("lpc_space must be in 0..=8".into());
        }
        if !(self.abs_error.is_finite() && self.abs_error >= 0.0) {
            return bad(format!("abs_error must be finite and >= 0, got {}", self.abs_error));
        }
        Ok(())
    }

    /// The tile size used for an array of `rows x cols`.
    pub fn tile_shape(&self, rows: usize, cols: usize) -> (usize, usize) {
        let bw = if self.block_width > 0 { self.block_width } else { cols.clamp(1, 1024) };
        let bw = bw.min(cols.max(1));
        let bh = if self.block_height > 0 { self.block_height } else { (AUTO_TILE_AREA / bw).max(256) };
        (bh.min(rows.max(1)).max(1), bw.max(1))
    }
}

/// Where tiles are coded: `threads` = 1 runs on the calling thread (no pool: a one-thread call neither spawns a
/// thread nor hands its buffers from one allocator heap to another), 0 on rayon's global pool, any other count on
/// a pool built once per call.
enum Workers {
    Calling,
    Global,
    Pool(rayon::ThreadPool),
}

impl Workers {
    fn new(threads: usize) -> Self {
        match threads {
            0 => Workers::Global,
            1 => Workers::Calling,
            // As many as the global pool has (from outside any pool): its workers, which outlive the call. A pool
            // built for the call starts threads whose allocator heaps are empty, and their first tiles page-fault
            // all their buffers in (measured: a quarter of the two-thread time of a 2.4 MB array).
            n if n == rayon::current_num_threads() && rayon::current_thread_index().is_none() => Workers::Global,
            n => match rayon::ThreadPoolBuilder::new().num_threads(n).build() {
                Ok(pool) => Workers::Pool(pool),
                Err(_) => Workers::Calling,
            },
        }
    }

    /// How many threads work.
    fn threads(&self) -> usize {
        match self {
            Workers::Calling => 1,
            Workers::Global => rayon::current_num_threads(),
            Workers::Pool(pool) => pool.current_num_threads(),
        }
    }

    /// `f` over `items`, results in order, each item given a state from `states` (taken from those that earlier
    /// items gave back, or made afresh). Each item is its own job, so an idle worker can take any item not yet
    /// started: by default rayon would hand each worker a run of items, and a worker running slower (on a shared
    /// machine one core often runs at two thirds the speed of the other) finished its run well after the other had
    /// run out. Measured on 28 tiles of a 100 MB array, two threads: one worker had finished its 14 tiles at 0.31 s
    /// while the other was still on its 8th of 14, finishing at 0.62 s.
    fn map<I: Send, S: Default + Send, R: Send>(
        &self,
        items: Vec<I>,
        states: &SharedStates<S>,
        f: impl Fn(&mut S, I) -> R + Sync + Send,
    ) -> Vec<R> {
        self.map_plain(items, |item| {
            let mut state = states.take();
            let r = f(&mut state, item);
            states.give(state);
            r
        })
    }

    /// `f` over `items`, results in order, an item per job (see [`Workers::map`]).
    fn map_plain<I: Send, R: Send>(&self, items: Vec<I>, f: impl Fn(I) -> R + Sync + Send) -> Vec<R> {
        match self {
            Workers::Calling => items.into_iter().map(f).collect(),
            Workers::Global => items.into_par_iter().with_max_len(1).map(f).collect(),
            Workers::Pool(pool) => pool.install(|| items.into_par_iter().with_max_len(1).map(f).collect()),
        }
    }
}

/// Workers' states (a tile coder's buffers: megabytes for a large tile), kept from call to call: an item takes one
/// and gives it back when done, so there are as many as items have run at once. (rayon's `map_init` made a state
/// per job, and with a job per item that was a fresh state for every tile, whose pages the kernel zeroed again: a
/// 100 MB array's tiles took 10.6 ms each on two threads against 10.2 on one. Kept from call to call, they spare the
/// same zeroing to every call of a program that codes chunk after chunk, an HDF5 filter's.) [`release_buffers`]
/// frees them.
struct SharedStates<S> {
    spare: std::sync::Mutex<Vec<S>>,
}

impl<S: Default> SharedStates<S> {
    const fn new() -> Self {
        SharedStates { spare: std::sync::Mutex::new(Vec::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<S>> {
        // (A poisoned lock only means that an item panicked while another held it; the stack itself is intact.)
        self.spare.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn take(&self) -> S {
        let spare = self.lock().pop();
        spare.unwrap_or_default()
    }

    fn give(&self, state: S) {
        self.lock().push(state);
    }

    fn release(&self) {
        let freed = std::mem::take(&mut *self.lock());
        // (Freed outside the lock.)
        drop(freed);
    }
}

/// Frees the buffers that compression and decompression keep for their next calls: at most one set per thread
/// that has coded at once, each the size its largest tile needed (for a tile of 1024 x 1024 int32, about 15 MB).
pub fn release_buffers() {
    CODER_STATES.release();
    DECODER_STATES.release();
}

/// The states of the tile coders and decoders at work (see [`SharedStates`]).
static CODER_STATES: SharedStates<Scratch> = SharedStates::new();
static DECODER_STATES: SharedStates<DecodeScratch> = SharedStates::new();

/// Compresses a `rows x cols` array.
pub fn compress(data: ArrayRef<'_>, rows: usize, cols: usize, params: &Params) -> Result<Vec<u8>, CodecError> {
    params.validate()?;
    if rows.checked_mul(cols) != Some(data.len()) {
        return Err(CodecError::ShapeMismatch { rows, cols, len: data.len() });
    }
    let dtype = data.dtype();
    let elems = if dtype.is_float() && params.abs_error == 0.0 {
        Elements::Exact(FloatExact::analyse(data))
    } else {
        Elements::Quant(Quantiser::new(data, params.abs_error)?)
    };
    let cfg = TileConfig {
        entropy: params.entropy,
        lt: params.lt,
        lx: params.lx,
        shape: Shape { time: params.lpc_order, space: params.lpc_space, cross: params.lpc_space.min(1) },
        auto: params.auto,
        segment_rows: params.segment_rows,
        raw: match dtype {
            DType::I16 => RawKind::I16,
            DType::U16 => RawKind::U16,
            _ => RawKind::I32,
        },
        columns: false,
        by_energy: false,
    };
    let encode_region = |s: &mut Scratch, (r0, c0, tr, tc): Region, way: Way| -> Result<CodedTile, CodecError> {
        let cfg = TileConfig { columns: way.columns, by_energy: way.by_energy, ..cfg };
        s.tile.table_laws = false;
        let bytes = match &elems {
            Elements::Quant(q) => {
                q.quantise_region(data, cols, r0, c0, tr, tc, &mut s.plane)?;
                tile::encode_tile(&mut s.plane, tr, tc, &cfg, &mut s.tile)
            }
            Elements::Exact(f) => f.encode_tile(data, cols, r0, c0, tr, tc, &cfg, &mut s.tile),
        };
        Ok(CodedTile { bytes, table_laws: s.tile.table_laws })
    };
    let workers = Workers::new(params.threads);
    let (bh, bw) = params.tile_shape(rows, cols);
    if bh * bw > MAX_TILE_AREA {
        return Err(CodecError::InvalidParams(format!("tile {bh} x {bw} exceeds {MAX_TILE_AREA} samples")));
    }
    // Genuine floats (mode 3) have no use for column bands: their variants are mostly not predictive.
    let genuine_floats = matches!(elems, Elements::Exact(FloatExact::Bits));
    // (Columns have static tables and no wavelet: other settings code the tiles as before.)
    let columns_allowed = params.entropy == Entropy::Static && params.lt == 0 && params.lx == 0;
    let (mut columns, mut done) = (params.columns.unwrap_or(false) && columns_allowed, Vec::new());
    if params.columns.is_none()
        && columns_allowed
        && params.auto
        && params.block_width == 0
        && !genuine_floats
        && rows > 0
        && COLUMN_TRIAL_COLS.contains(&cols)
    {
        (columns, done) = choose_columns(rows, cols, bh, &workers, &encode_region)?;
    }
    let grid = TileGrid::new(rows, cols, bh, bw);
    // Tiles the choice above already coded are kept; the others are coded now.
    let mut coded: Vec<Option<CodedTile>> = vec![None; grid.count()];
    for (i, tile) in done {
        coded[i] = Some(tile);
    }
    let todo: Vec<usize> = (0..grid.count()).filter(|&i| coded[i].is_none()).collect();
    let way = Way { columns, by_energy: false };
    let fresh = workers.map(todo.clone(), &CODER_STATES, |s, i| encode_region(s, grid.tile(i), way));
    for (i, tile) in todo.into_iter().zip(fresh) {
        coded[i] = Some(tile?);
    }
    let table_laws = coded.iter().flatten().any(|t| t.table_laws);
    let tiles: Vec<Vec<u8>> = coded.into_iter().map(|t| t.map(|t| t.bytes).unwrap_or_default()).collect();
    let header = Header {
        // Each stream has the lowest version that has what it uses (version 2 added lossless floats, version 3 tile
        // method 3, version 4 method 4, which replaced method 3 in the encoder, version 5 tables that are laws), so
        // that older decoders read every stream they can.
        version: if table_laws {
            5
        } else if columns {
            4
        } else if matches!(elems, Elements::Exact(_)) {
            2
        } else {
            1
        },
        dtype,
        mode: elems.mode(),
        rows: rows as u64,
        cols: cols as u64,
        block_height: bh as u32,
        block_width: bw as u32,
        abs_error: params.abs_error,
        tiles: Vec::new(),
        data_start: 0,
    };
    Ok(format::assemble(&header, tiles, |jobs| workers.map_plain(jobs, format::place_tile)))
}

/// Arrays this wide are tried with every channel predicted apart (tile method 4). With fewer channels the trial
/// costs more than the whole 2-D coding (and the corpus' 3-channel seismometer file codes 4 % larger that way).
const COLUMN_TRIAL_COLS: std::ops::RangeInclusive<usize> = 8..=64;
/// Tile rows shorter than this are tried whole (see [`choose_columns`]). (The 1024-row chunks of optodas that the
/// HDF5 benchmark writes, tried on 512 rows, took columns where 2-D tiles code 0.3-0.7 % smaller in three chunks of
/// four; tried whole, each takes the smaller.)
const COLUMN_TRIAL_WHOLE_ROWS: usize = 2048;
/// Fewest rows of the trial's band. (optodas, 5000 rows, is tried on 384 and takes columns, as when tried on 625,
/// 1024 or whole; with method 4's costlier columns the trial took 2.3 ms of optodas's 8.2 on 625 rows, 1.9 on 384.
/// The corpus' three arrays that reach the trial make the same choices, f32int on 625 rows, sentek on 1146.)
const COLUMN_TRIAL_BAND_ROWS: usize = 384;
/// The trial band's share of a long tile row, 1 / this.
const COLUMN_TRIAL_SHARE: usize = 16;

/// A tile's first row, first column, rows and columns.
type Region = (usize, usize, usize, usize);

/// How a region is coded: as 2-D planes or by columns (tile method 4), choosing predictors by the residual energy of
/// their fit or (2-D only) by a prediction pass per candidate (see `TileConfig`).
#[derive(Clone, Copy, Debug)]
struct Way {
    columns: bool,
    by_energy: bool,
}

/// Buffers a compressing worker reuses from tile to tile.
#[derive(Default)]
struct Scratch {
    /// The tile's quantised integers.
    plane: Vec<i64>,
    tile: tile::Scratch,
}

/// Buffers a decompressing worker reuses from tile to tile.
#[derive(Default)]
struct DecodeScratch {
    /// The tile's integers.
    plane: Vec<i64>,
    /// Residual magnitudes (the contexts' neighbourhood).
    mags: Vec<u32>,
    /// The tile's elements, once copied into the output.
    tile: Option<ArrayBuf>,
}

/// Coded tiles by their index in the tile grid.
type CodedTiles = Vec<(usize, CodedTile)>;

/// A tile's payload, and whether one of its entropy tables is a law (which needs stream version 5).
#[derive(Clone, Debug)]
struct CodedTile {
    bytes: Vec<u8>,
    table_laws: bool,
}

/// Chooses how the full-width tiles of a narrow array are coded: as 2-D planes (2-D prediction and contexts), or
/// with each channel predicted apart along time, then from the channels before it, with one-channel contexts and the
/// tile's shared tables (method 4; `columns` = true). Measured on the corpus (bytes as columns, method 4 then method
/// 3, as 2-D tiles, and as tiles of one channel, which method 3 replaced): porotomo_silixa_gdr_f32int 126991, 129129,
/// 136629, 130811; sentek 566638, 578516, 598623, 580290; optodas 261212, 271550, 274635, 280916. The first tile row (`bh` rows) is coded both ways when it has fewer than
/// [`COLUMN_TRIAL_WHOLE_ROWS`] rows; else on a band of 1 / [`COLUMN_TRIAL_SHARE`] of it (at least
/// [`COLUMN_TRIAL_BAND_ROWS`] rows) in its middle, each coding then counting its fixed part (predictors, tables)
/// once and the rest as many times as the whole tile row would.
/// Returns `columns` and the tiles already coded (tile 0, when the trial coded the whole first tile row).
fn choose_columns(
    rows: usize,
    cols: usize,
    bh: usize,
    workers: &Workers,
    encode_region: &(impl Fn(&mut Scratch, Region, Way) -> Result<CodedTile, CodecError> + Sync),
) -> Result<(bool, CodedTiles), CodecError> {
    let h = bh.min(rows);
    let share = COLUMN_TRIAL_SHARE;
    let hb = if h >= COLUMN_TRIAL_WHOLE_ROWS { (h / share).max(COLUMN_TRIAL_BAND_ROWS) } else { h };
    let r0 = (h - hb) / 2;
    // Job 0 is the 2-D coding, job 1 the columns'; each returns its coding and the coding's fixed part. On a band,
    // whose codings are dropped, the 2-D coding chooses its predictor by residual energy too: a prediction pass per
    // candidate was most of the trial's time.
    let whole = hb == h;
    let jobs = workers.map(vec![false, true], &CODER_STATES, |s, columns| {
        s.tile.fixed_bytes = 0;
        let tile = encode_region(s, (r0, 0, hb, cols), Way { columns, by_energy: !whole })?;
        Ok((tile, s.tile.fixed_bytes))
    });
    let mut tiles: Vec<(CodedTile, usize)> = jobs.into_iter().collect::<Result<Vec<_>, CodecError>>()?;
    // A coding's size scaled from the band to the tile row (its own size when the band is the tile row).
    let scaled = |(tile, fixed): &(CodedTile, usize)| {
        let len = tile.bytes.len();
        let fixed = (*fixed).min(len);
        fixed as f64 + (len - fixed) as f64 * h as f64 / hb as f64
    };
    let columns = scaled(&tiles[1]) < scaled(&tiles[0]);
    let done = if whole { vec![(0, tiles.swap_remove(columns as usize).0)] } else { Vec::new() };
    Ok((columns, done))
}

/// Reads the header and tile index of a stream without decoding any tile.
pub fn read_header(stream: &[u8]) -> Result<Header, CodecError> {
    format::parse(stream)
}

/// Decompresses a whole stream. Returns the header (dtype, shape, parameters) and the array.
pub fn decompress(stream: &[u8], threads: usize) -> Result<(Header, ArrayBuf), CodecError> {
    let h = format::parse(stream)?;
    let (rows, cols) = (h.rows as usize, h.cols as usize);
    let grid = TileGrid::new(rows, cols, h.block_height as usize, h.block_width as usize);
    let elems = Elements::from_header(&h)?;
    // Zeroed by the kernel as its pages are first written, which the workers do: the output is never written twice.
    let mut out = ArrayBuf::zeros(h.dtype, rows * cols);
    let workers = Workers::new(threads);
    let decode = |s: &mut DecodeScratch, i: usize| decode_tile_array(stream, &h, &elems, &grid, i, s);
    match &mut out {
        ArrayBuf::I16(o) => decode_into(o, cols, &grid, &workers, decode),
        ArrayBuf::U16(o) => decode_into(o, cols, &grid, &workers, decode),
        ArrayBuf::I32(o) => decode_into(o, cols, &grid, &workers, decode),
        ArrayBuf::F32(o) => decode_into(o, cols, &grid, &workers, decode),
        ArrayBuf::F64(o) => decode_into(o, cols, &grid, &workers, decode),
    }?;
    Ok((h, out))
}

/// Decodes every tile with `decode` into its place in `out` (row-major, `cols` columns). Each worker copies the
/// tiles it decodes into place itself: the tiles' row pieces are disjoint slices of `out`, handed out before the
/// workers start. Beyond the output, memory holds one decoded tile per worker (docs/format.md, "Decoder memory").
fn decode_into<T: Element>(
    out: &mut [T],
    cols: usize,
    grid: &TileGrid,
    workers: &Workers,
    decode: impl Fn(&mut DecodeScratch, usize) -> Result<ArrayBuf, CodecError> + Sync,
) -> Result<(), CodecError> {
    if grid.count() == 0 {
        return Ok(());
    }
    if grid.tile(0).3 < PIECE_MIN_WIDTH {
        return decode_then_place(out, cols, grid, workers, decode);
    }
    // The pieces (16 bytes each) are made a band of tile rows at a time, so that they do not grow with the array;
    // a band holds at least two tiles per worker.
    let (bh, across) = (grid.block_height(), grid.across());
    let band_tile_rows = (PIECES_PER_BAND / (bh * across)).max((2 * workers.threads()).div_ceil(across)).max(1);
    for (b, band) in out.chunks_mut(band_tile_rows * bh * cols).enumerate() {
        let row0 = b * band_tile_rows * bh;
        let first = grid.first_tile_of_row(row0);
        let mut pieces: Vec<Vec<&mut [T]>> = Vec::new();
        for (r, row) in band.chunks_mut(cols).enumerate() {
            let mut rest = row;
            let mut i = grid.first_tile_of_row(row0 + r) - first;
            while !rest.is_empty() {
                let (_, _, _, tc) = grid.tile(first + i);
                let (piece, tail) = rest.split_at_mut(tc);
                if pieces.len() <= i {
                    pieces.resize_with(i + 1, Vec::new);
                }
                pieces[i].push(piece);
                rest = tail;
                i += 1;
            }
        }
        let jobs: Vec<(usize, Vec<&mut [T]>)> = pieces.into_iter().enumerate().map(|(j, p)| (first + j, p)).collect();
        let results = workers.map(jobs, &DECODER_STATES, |s, (i, mut rows)| {
            let tile = decode(s, i)?;
            let (_, _, tr, tc) = grid.tile(i);
            for (dst, src) in rows.iter_mut().zip(T::values(&tile, tr, tc)?.chunks_exact(tc.max(1))) {
                dst.copy_from_slice(src);
            }
            s.tile = Some(tile);
            Ok(())
        });
        results.into_iter().collect::<Result<(), CodecError>>()?;
    }
    Ok(())
}

/// Row pieces made at a time by [`decode_into`] (unless fewer would leave workers idle).
const PIECES_PER_BAND: usize = 1 << 16;

/// Tiles narrower than this are copied into place by the calling thread ([`decode_then_place`]): as row pieces,
/// one-channel tiles would make a slice per element.
const PIECE_MIN_WIDTH: usize = 16;

/// As [`decode_into`], for narrow tiles: they are decoded in groups of two per worker, and the calling thread copies
/// each group into place (a decoded tile is small; memory holds one group).
fn decode_then_place<T: Element>(
    out: &mut [T],
    cols: usize,
    grid: &TileGrid,
    workers: &Workers,
    decode: impl Fn(&mut DecodeScratch, usize) -> Result<ArrayBuf, CodecError> + Sync,
) -> Result<(), CodecError> {
    let group = 2 * workers.threads();
    for first in (0..grid.count()).step_by(group) {
        let tiles: Vec<usize> = (first..(first + group).min(grid.count())).collect();
        let decoded = workers.map(tiles.clone(), &DECODER_STATES, |s, i| decode(s, i));
        for (i, tile) in tiles.into_iter().zip(decoded) {
            let tile = tile?;
            let (r0, c0, tr, tc) = grid.tile(i);
            for (r, src) in T::values(&tile, tr, tc)?.chunks_exact(tc.max(1)).enumerate() {
                out[(r0 + r) * cols + c0..][..tc].copy_from_slice(src);
            }
        }
    }
    Ok(())
}

/// An element type of [`ArrayBuf`].
trait Element: Copy + Send + Sync {
    /// The elements of a tile decoded with this type (tiles are decoded with the stream's dtype).
    fn slice_of(buf: &ArrayBuf) -> &[Self];

    /// The `tr x tc` elements of a decoded tile.
    fn values(tile: &ArrayBuf, tr: usize, tc: usize) -> Result<&[Self], CodecError> {
        let values = Self::slice_of(tile);
        if values.len() == tr * tc {
            Ok(values)
        } else {
            Err(CodecError::Corrupt { what: "decoded tile size", offset: 0 })
        }
    }
}

macro_rules! element {
    ($t:ty, $variant:ident) => {
        impl Element for $t {
            fn slice_of(buf: &ArrayBuf) -> &[Self] {
                match buf {
                    ArrayBuf::$variant(v) => v,
                    _ => &[],
                }
            }
        }
    };
}
element!(i16, I16);
element!(u16, U16);
element!(i32, I32);
element!(f32, F32);
element!(f64, F64);

/// How stored integers become elements: quantisation (integers, fixed-accuracy floats) or lossless floats.
enum Elements {
    Quant(Quantiser),
    Exact(FloatExact),
}

impl Elements {
    fn from_header(h: &Header) -> Result<Self, CodecError> {
        Ok(match h.mode {
            Mode::FloatScaled { scale } => Elements::Exact(FloatExact::Scaled { scale }),
            Mode::FloatBits => Elements::Exact(FloatExact::Bits),
            _ => Elements::Quant(Quantiser::from_header(h)?),
        })
    }

    fn mode(&self) -> Mode {
        match self {
            Elements::Quant(q) => q.mode(),
            Elements::Exact(FloatExact::Scaled { scale }) => Mode::FloatScaled { scale: *scale },
            Elements::Exact(FloatExact::Bits) => Mode::FloatBits,
        }
    }
}

/// Decodes tile `i` into a tile-sized array.
fn decode_tile_array(
    stream: &[u8],
    h: &Header,
    elems: &Elements,
    grid: &TileGrid,
    i: usize,
    s: &mut DecodeScratch,
) -> Result<ArrayBuf, CodecError> {
    let e = &h.tiles[i];
    let (start, end) = (e.offset as usize, (e.offset + e.len) as usize);
    let bytes = &stream[start..end];
    if crc32fast::hash(bytes) != e.crc32 {
        return Err(CodecError::TileChecksum { tile: i });
    }
    let (_, _, tr, tc) = grid.tile(i);
    match elems {
        Elements::Exact(f) => f.decode_tile(bytes, start, h.dtype, tr, tc),
        Elements::Quant(q) => {
            let kind = match h.dtype {
                DType::I16 => RawKind::I16,
                DType::U16 => RawKind::U16,
                _ => RawKind::I32,
            };
            tile::decode_tile_into(bytes, start, tr, tc, kind, &mut s.plane, &mut s.mags)?;
            // (scatter writes every element of the tile)
            let mut out = match s.tile.take() {
                Some(b) if b.dtype() == h.dtype && b.len() == tr * tc => b,
                _ => ArrayBuf::zeros(h.dtype, tr * tc),
            };
            q.scatter(&s.plane, &mut out, tc, 0, 0, tr, tc).map_err(|_| CodecError::Corrupt {
                what: "decoded value outside the element type's range",
                offset: start,
            })?;
            Ok(out)
        }
    }
}

/// For lossless float streams stored as scaled integers (mode 2): the number of elements stored as exceptions
/// (exact bits beside the integers). `None` for other modes.
pub fn float_exceptions(stream: &[u8]) -> Result<Option<u64>, CodecError> {
    let h = format::parse(stream)?;
    if !matches!(h.mode, Mode::FloatScaled { .. }) {
        return Ok(None);
    }
    let grid = TileGrid::new(h.rows as usize, h.cols as usize, h.block_height as usize, h.block_width as usize);
    let mut total = 0u64;
    for (i, t) in h.tiles.iter().enumerate() {
        let (start, end) = (t.offset as usize, (t.offset + t.len) as usize);
        let mut cur = bytes::Cursor::new(&stream[start..end], start);
        let (_, _, tr, tc) = grid.tile(i);
        // A tile in the bit form (the scale did not serve it) counts all its elements.
        let count = if cur.u8("scaled tile form")? == 0 { cur.varint("exception count")? } else { (tr * tc) as u64 };
        // At most one exception per element, as the tile decoder checks (so the sum cannot overflow).
        if count > (tr * tc) as u64 {
            return Err(CodecError::Corrupt { what: "exception count", offset: start });
        }
        total += count;
    }
    Ok(Some(total))
}

/// Decodes one tile alone: returns `(row0, col0, rows, cols)` of the tile and its elements (row-major).
#[allow(clippy::type_complexity)] // the tile's (first row, first column, rows, columns), then its elements
pub fn decompress_tile(stream: &[u8], tile: usize) -> Result<((usize, usize, usize, usize), ArrayBuf), CodecError> {
    let h = format::parse(stream)?;
    let grid = TileGrid::new(h.rows as usize, h.cols as usize, h.block_height as usize, h.block_width as usize);
    if tile >= grid.count() {
        return Err(CodecError::InvalidParams(format!("tile {tile} out of range (stream has {})", grid.count())));
    }
    let elems = Elements::from_header(&h)?;
    let out = decode_tile_array(stream, &h, &elems, &grid, tile, &mut DecodeScratch::default())?;
    Ok((grid.tile(tile), out))
}

/// Largest stream `compress` can produce for a `rows x cols` array of `dtype` with `params`: every tile stored raw
/// (or, for lossless floats, in the bit-plane form, which is raw plus a few bytes), plus the headers. Saturates.
pub fn compress_bound(dtype: DType, rows: usize, cols: usize, params: &Params) -> usize {
    let (bh, bw) = params.tile_shape(rows, cols);
    let tiles = TileGrid::new(rows, cols, bh, bw).count();
    let n = rows.saturating_mul(cols);
    (format::HEADER_LEN + 4)
        .saturating_add(tiles.saturating_mul(format::INDEX_ENTRY_LEN + TILE_OVERHEAD))
        .saturating_add(n.saturating_mul(dtype.size()))
}

/// Bytes a tile may take beyond its raw element bytes: method and variant bytes, plane length varints.
const TILE_OVERHEAD: usize = 16;
