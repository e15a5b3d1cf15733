//! The filter's `cd_values`: the words users pass (`H5Pset_filter`, h5py's `compression_opts`, `h5repack -f UD=`)
//! and the words `set_local` stores in the dataset, plus the chunk coding both directions share. Pure Rust, no
//! HDF5: unit-tested without a host library. `docs/hdf5.md` documents the layouts.

use daspack_codec::{compress, decompress, read_header, ArrayBuf, ArrayRef, DType, Params};

/// The filter id registered with The HDF Group for DASPack.
pub const FILTER_ID: i32 = 33000;
/// First word of the stored `cd_values`.
pub const STORED_VERSION: u32 = 1;
/// Number of stored words.
pub const STORED_LEN: usize = 14;
/// At most this many user words: 6 DASPack words + the error bound as two words.
pub const MAX_USER: usize = 8;
/// Chunk ranks the filter accepts.
pub const MAX_RANK: usize = 3;
/// Upper bound on any tile's area in the codec (`daspack_codec::MAX_TILE_AREA`).
const MAX_TILE_AREA: usize = 1 << 22;

/// The compression parameters a dataset carries.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UserParams {
    pub block_height: u32,
    pub block_width: u32,
    pub lx: u32,
    pub lt: u32,
    pub lpc_order: u32,
    pub abs_error: f64,
}

impl Default for UserParams {
    fn default() -> Self {
        let p = Params::default();
        UserParams {
            block_height: p.block_height as u32,
            block_width: p.block_width as u32,
            lx: p.lx as u32,
            lt: p.lt as u32,
            lpc_order: p.lpc_order as u32,
            abs_error: p.abs_error,
        }
    }
}

/// Splits an f64 into the two cd words (low word of the IEEE-754 bit pattern first).
pub fn f64_words(x: f64) -> [u32; 2] {
    let b = x.to_bits();
    [b as u32, (b >> 32) as u32]
}

fn words_f64(lo: u32, hi: u32) -> f64 {
    f64::from_bits(lo as u64 | ((hi as u64) << 32))
}

/// Reads the words found on a dataset creation property list: either user words (0..=8) or, when the property
/// list was copied from an existing dataset (h5repack, `create_dataset_like`), the stored words.
pub fn parse_user(cd: &[u32]) -> Result<UserParams, String> {
    if cd.len() == STORED_LEN {
        return Stored::decode(cd).map(|s| s.params);
    }
    if cd.len() > MAX_USER {
        return Err(format!(
            "{} cd_values given; expected at most {MAX_USER}: (block_height, block_width, lx, lt, lpc_order, \
             tailcut_permille, abs_error_lo, abs_error_hi)",
            cd.len()
        ));
    }
    if cd.len() == 7 {
        return Err("7 cd_values given: the error bound needs both words (abs_error_lo, abs_error_hi)".into());
    }
    let mut p = UserParams::default();
    let get = |i: usize, default: u32| cd.get(i).copied().unwrap_or(default);
    p.block_height = get(0, p.block_height);
    p.block_width = get(1, p.block_width);
    p.lx = get(2, p.lx);
    p.lt = get(3, p.lt);
    p.lpc_order = get(4, p.lpc_order);
    // cd[5]: DASPack's tail cut (per mille). Accepted for compatibility and ignored: the daspack entropy coder
    // codes every residual exactly, it has no tail to cut.
    if cd.len() == 8 {
        p.abs_error = words_f64(cd[6], cd[7]);
    }
    p.validate()?;
    Ok(p)
}

impl UserParams {
    fn codec(&self) -> Params {
        Params {
            block_height: self.block_height as usize,
            block_width: self.block_width as usize,
            lx: self.lx.min(255) as u8,
            lt: self.lt.min(255) as u8,
            lpc_order: self.lpc_order.min(255) as u8,
            abs_error: self.abs_error,
            // 0: rayon's global pool; the output does not depend on it.
            threads: 0,
            ..Params::default()
        }
    }

    /// Checks the values the codec would reject, so that the error shows at dataset creation, not first write.
    pub fn validate(&self) -> Result<(), String> {
        if self.lx > 255 || self.lt > 255 || self.lpc_order > 255 {
            return Err(format!("lx {}, lt {}, lpc_order {} out of range", self.lx, self.lt, self.lpc_order));
        }
        if !(self.abs_error.is_finite() && self.abs_error >= 0.0) {
            return Err(format!("abs_error must be finite and >= 0, got {}", self.abs_error));
        }
        // The codec's own checks (levels, orders): code a tiny array with the same parameters.
        let mut p = self.codec();
        p.block_height = 0;
        p.block_width = 0;
        p.threads = 1;
        compress(ArrayRef::I32(&[0; 16]), 4, 4, &p).map(|_| ()).map_err(|e| e.to_string())
    }
}

/// What `set_local` stores: everything the filter needs to code a chunk alone.
#[derive(Clone, Debug, PartialEq)]
pub struct Stored {
    pub dtype: DType,
    /// The dataset's (file) datatype is big-endian: chunk bytes are big-endian.
    pub big_endian: bool,
    /// Chunk dimensions, 1..=3 of them.
    pub chunk: Vec<u64>,
    pub params: UserParams,
}

impl Stored {
    /// `[version, dtype, rank, c0, c1, c2, block_height, block_width, lx, lt, lpc_order, abs_lo, abs_hi, order]`.
    pub fn encode(&self) -> Result<[u32; STORED_LEN], String> {
        let mut w = [0u32; STORED_LEN];
        w[0] = STORED_VERSION;
        w[1] = self.dtype.code() as u32;
        w[2] = self.chunk.len() as u32;
        for (i, &d) in self.chunk.iter().enumerate() {
            w[3 + i] = u32::try_from(d).map_err(|_| format!("chunk dimension {d} does not fit 32 bits"))?;
        }
        w[6] = self.params.block_height;
        w[7] = self.params.block_width;
        w[8] = self.params.lx;
        w[9] = self.params.lt;
        w[10] = self.params.lpc_order;
        [w[11], w[12]] = f64_words(self.params.abs_error);
        w[13] = self.big_endian as u32;
        Ok(w)
    }

    pub fn decode(cd: &[u32]) -> Result<Stored, String> {
        if cd.len() != STORED_LEN {
            return Err(format!("dataset has {} cd_values, expected {STORED_LEN} (set_local did not run?)", cd.len()));
        }
        if cd[0] != STORED_VERSION {
            return Err(format!("stored cd_values version {} (this plugin reads {STORED_VERSION})", cd[0]));
        }
        let dtype = u8::try_from(cd[1]).ok().and_then(DType::from_code).ok_or(format!("bad dtype code {}", cd[1]))?;
        let rank = cd[2] as usize;
        if !(1..=MAX_RANK).contains(&rank) {
            return Err(format!("bad chunk rank {rank}"));
        }
        if cd[13] > 1 {
            return Err(format!("bad byte order word {}", cd[13]));
        }
        Ok(Stored {
            dtype,
            big_endian: cd[13] == 1,
            chunk: cd[3..3 + rank].iter().map(|&d| d as u64).collect(),
            params: UserParams {
                block_height: cd[6],
                block_width: cd[7],
                lx: cd[8],
                lt: cd[9],
                lpc_order: cd[10],
                abs_error: words_f64(cd[11], cd[12]),
            },
        })
    }

    /// The chunk as a 2-D array (time x channel): rank 1 = (n, 1); rank 2 as is; rank 3 folds the two leading
    /// dimensions into time.
    pub fn shape(&self) -> (usize, usize) {
        let c: Vec<usize> = self.chunk.iter().map(|&d| d as usize).collect();
        match c.len() {
            1 => (c[0], 1),
            2 => (c[0], c[1]),
            _ => (c[0] * c[1], c[2]),
        }
    }

    /// Bytes of a chunk: up to 2^96 x 8 for three 32-bit dimensions, hence u128 (a usize product overflowed).
    pub fn chunk_bytes(&self) -> u128 {
        self.chunk.iter().map(|&d| d as u128).product::<u128>() * self.dtype.size() as u128
    }

    /// The tile the codec will use on a chunk must respect the codec's area limit.
    pub fn check_tile(&self) -> Result<(), String> {
        let (r, c) = self.shape();
        let (bh, bw) = self.params.codec().tile_shape(r, c);
        if bh * bw > MAX_TILE_AREA {
            return Err(format!("tile {bh} x {bw} exceeds {MAX_TILE_AREA} samples: lower block_height/block_width"));
        }
        Ok(())
    }
}

fn from_bytes<T, const N: usize>(b: &[u8], be: bool, f: fn([u8; N]) -> T, g: fn([u8; N]) -> T) -> Vec<T> {
    b.chunks_exact(N).map(|c| if be { g(c.try_into().unwrap()) } else { f(c.try_into().unwrap()) }).collect()
}

fn to_bytes<T: Copy, const N: usize>(v: &[T], be: bool, f: fn(T) -> [u8; N], g: fn(T) -> [u8; N]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len() * N);
    v.iter().for_each(|&x| out.extend_from_slice(&if be { g(x) } else { f(x) }));
    out
}

/// Compresses one chunk (`data` in the dataset's byte order).
pub fn encode_chunk(s: &Stored, data: &[u8]) -> Result<Vec<u8>, String> {
    let size = s.dtype.size();
    if !data.len().is_multiple_of(size) {
        return Err(format!("chunk of {} bytes is not a whole number of {}", data.len(), s.dtype.name()));
    }
    let n = data.len() / size;
    let (r, c) = s.shape();
    // HDF5 always passes whole chunks (edge chunks padded); anything else is coded as it is.
    let (rows, cols) = if r as u128 * c as u128 == n as u128 {
        (r, c)
    } else if c > 0 && n.is_multiple_of(c) {
        (n / c, c)
    } else {
        (n, 1)
    };
    let be = s.big_endian;
    let p = s.params.codec();
    let r = match s.dtype {
        DType::I16 => {
            compress(ArrayRef::I16(&from_bytes(data, be, i16::from_le_bytes, i16::from_be_bytes)), rows, cols, &p)
        }
        DType::U16 => {
            compress(ArrayRef::U16(&from_bytes(data, be, u16::from_le_bytes, u16::from_be_bytes)), rows, cols, &p)
        }
        DType::I32 => {
            compress(ArrayRef::I32(&from_bytes(data, be, i32::from_le_bytes, i32::from_be_bytes)), rows, cols, &p)
        }
        DType::F32 => {
            compress(ArrayRef::F32(&from_bytes(data, be, f32::from_le_bytes, f32::from_be_bytes)), rows, cols, &p)
        }
        DType::F64 => {
            compress(ArrayRef::F64(&from_bytes(data, be, f64::from_le_bytes, f64::from_be_bytes)), rows, cols, &p)
        }
    };
    r.map_err(|e| e.to_string())
}

/// Decompresses one chunk into the dataset's byte order. Without stored values (never from HDF5) the bytes are
/// little-endian and the size is not checked.
pub fn decode_chunk(s: Option<&Stored>, stream: &[u8]) -> Result<Vec<u8>, String> {
    // The header is checked against the dataset before decoding, so that a small chunk cannot make the filter
    // allocate what its header claims (up to 2^20 bytes per stream byte) for a chunk the dataset cannot hold.
    let check = |s: &Stored, dtype: DType, elems: u128| {
        if dtype != s.dtype {
            return Err(format!("chunk holds {}, the dataset {}", dtype.name(), s.dtype.name()));
        }
        let got = elems * dtype.size() as u128;
        if got != s.chunk_bytes() {
            return Err(format!("chunk decodes to {got} bytes, the dataset's chunks have {}", s.chunk_bytes()));
        }
        Ok(())
    };
    if let Some(s) = s {
        let h = read_header(stream).map_err(|e| e.to_string())?;
        check(s, h.dtype, h.rows as u128 * h.cols as u128)?;
    }
    let (h, a) = decompress(stream, 0).map_err(|e| e.to_string())?;
    let be = s.is_some_and(|s| s.big_endian);
    if let Some(s) = s {
        check(s, h.dtype, a.len() as u128)?;
    }
    Ok(match &a {
        ArrayBuf::I16(v) => to_bytes(v, be, i16::to_le_bytes, i16::to_be_bytes),
        ArrayBuf::U16(v) => to_bytes(v, be, u16::to_le_bytes, u16::to_be_bytes),
        ArrayBuf::I32(v) => to_bytes(v, be, i32::to_le_bytes, i32::to_be_bytes),
        ArrayBuf::F32(v) => to_bytes(v, be, f32::to_le_bytes, f32::to_be_bytes),
        ArrayBuf::F64(v) => to_bytes(v, be, f64::to_le_bytes, f64::to_be_bytes),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(dtype: DType, chunk: &[u64], cd: &[u32]) -> Stored {
        Stored { dtype, big_endian: false, chunk: chunk.to_vec(), params: parse_user(cd).unwrap() }
    }

    #[test]
    fn user_words() {
        assert_eq!(parse_user(&[]).unwrap(), UserParams::default());
        let p = parse_user(&[64, 32, 1, 2, 3, 50]).unwrap();
        assert_eq!((p.block_height, p.block_width, p.lx, p.lt, p.lpc_order, p.abs_error), (64, 32, 1, 2, 3, 0.0));
        let [lo, hi] = f64_words(0.25);
        assert_eq!(parse_user(&[0, 0, 0, 0, 2, 0, lo, hi]).unwrap().abs_error, 0.25);
        assert_eq!(f64_words(1.0), [0, 0x3ff0_0000]);
        assert!(parse_user(&[0; 7]).is_err());
        assert!(parse_user(&[0; 9]).is_err());
        assert!(parse_user(&[0, 0, 99]).is_err(), "too many wavelet levels");
        assert!(parse_user(&[0, 0, 0, 0, 40]).is_err(), "lpc order");
        let [lo, hi] = f64_words(f64::NAN);
        assert!(parse_user(&[0, 0, 0, 0, 2, 0, lo, hi]).is_err());
    }

    #[test]
    fn stored_words_round_trip_and_are_reparsed() {
        let s = Stored { big_endian: true, ..stored(DType::F32, &[10, 20, 30], &[8, 16, 1, 1, 4, 0, 0, 0x3fe0_0000]) };
        let w = s.encode().unwrap();
        assert_eq!(w, [1, 4, 3, 10, 20, 30, 8, 16, 1, 1, 4, 0, 0x3fe0_0000, 1]);
        assert_eq!(Stored::decode(&w).unwrap(), s);
        assert_eq!(parse_user(&w).unwrap(), s.params);
        assert_eq!(s.shape(), (200, 30));
        assert!(Stored::decode(&w[..13]).is_err());
    }

    #[test]
    fn chunks_round_trip() {
        let v: Vec<i16> = (0..300).map(|i| ((i * 37) % 251 - 120) as i16).collect();
        for be in [false, true] {
            for (chunk, cd) in
                [(&[300u64][..], &[][..]), (&[30, 10][..], &[8, 4][..]), (&[3, 10, 10][..], &[0, 0, 1, 1])]
            {
                let s = Stored { big_endian: be, ..stored(DType::I16, chunk, cd) };
                let bytes = to_bytes(&v, be, i16::to_le_bytes, i16::to_be_bytes);
                let z = encode_chunk(&s, &bytes).unwrap();
                assert_eq!(decode_chunk(Some(&s), &z).unwrap(), bytes);
            }
        }
        let f: Vec<f64> = (0..200).map(|i| (i as f64 * 0.1).sin()).collect();
        let s = stored(DType::F64, &[20, 10], &[0, 0, 0, 0, 2, 0, 0, 0x3f50_624d]); // ~1e-3
        let e = s.params.abs_error;
        let z = encode_chunk(&s, &to_bytes(&f, false, f64::to_le_bytes, f64::to_be_bytes)).unwrap();
        let back = from_bytes(&decode_chunk(Some(&s), &z).unwrap(), false, f64::from_le_bytes, f64::from_be_bytes);
        assert!(f.iter().zip(&back).all(|(a, b)| (a - b).abs() <= e));
        // Size and type checks on decoding.
        let other = stored(DType::F64, &[10, 10], &[]);
        assert!(decode_chunk(Some(&other), &z).is_err());
        let other = stored(DType::F32, &[20, 10], &[]);
        assert!(decode_chunk(Some(&other), &z).is_err());
        assert!(decode_chunk(None, &z[..z.len() / 2]).is_err());
    }
}
