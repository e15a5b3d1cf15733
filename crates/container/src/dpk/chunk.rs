//! Chunk coding for bytes: the filters (delta, byte shuffle, bit shuffle; element-size aware) and the byte codecs
//! (stored, zstd, LZ4 block, raw deflate). DAS-coded array chunks are in `array.rs`.

use std::cell::RefCell;
use std::io::{Read, Write};

use crate::blp::shuffle;

/// How an entry's chunks are coded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChunkCodec {
    /// The bytes as they are.
    Stored = 0,
    /// The DAS array codec (`daspack_codec`): each chunk is a whole codec stream of a block of rows.
    Das = 1,
    /// One zstd frame.
    Zstd = 2,
    /// One LZ4 block (no frame; the original length is in the index).
    Lz4 = 3,
    /// Raw deflate (RFC 1951, no zlib or gzip wrapper).
    Deflate = 4,
}

impl ChunkCodec {
    pub const ALL: [ChunkCodec; 5] =
        [ChunkCodec::Stored, ChunkCodec::Das, ChunkCodec::Zstd, ChunkCodec::Lz4, ChunkCodec::Deflate];

    pub(crate) fn from_code(c: u8) -> Option<ChunkCodec> {
        ChunkCodec::ALL.get(usize::from(c)).copied()
    }

    /// `stored`, `das`, `zstd`, `lz4` or `deflate`.
    pub fn name(self) -> &'static str {
        match self {
            ChunkCodec::Stored => "stored",
            ChunkCodec::Das => "das",
            ChunkCodec::Zstd => "zstd",
            ChunkCodec::Lz4 => "lz4",
            ChunkCodec::Deflate => "deflate",
        }
    }

    /// Parses a name (ASCII case ignored; `none` is `stored`, `zlib` is `deflate`).
    pub fn from_name(s: &str) -> Option<ChunkCodec> {
        let s = s.to_ascii_lowercase();
        match s.as_str() {
            "none" => Some(ChunkCodec::Stored),
            "zlib" => Some(ChunkCodec::Deflate),
            _ => ChunkCodec::ALL.into_iter().find(|c| c.name() == s),
        }
    }

    /// The level used when none is given.
    pub fn default_level(self) -> i32 {
        match self {
            ChunkCodec::Zstd => 3,
            ChunkCodec::Deflate => 6,
            _ => 0,
        }
    }

    /// The most original bytes `stored` bytes can decode to with this codec: the format's expansion limit, which
    /// every decoder enforces before allocating. zstd: an RLE block of 3 + 1 bytes yields 128 KiB; LZ4: each
    /// length byte 255 adds 255 bytes; deflate: 258 bytes per (at least) 2 bits; DAS: the codec's own limit (2^20,
    /// docs/format.md section 1).
    pub fn max_output(self, stored: u64) -> u128 {
        let s = u128::from(stored);
        match self {
            ChunkCodec::Stored => s,
            ChunkCodec::Zstd => s * 32768,
            ChunkCodec::Lz4 => s * 256 + 64,
            ChunkCodec::Deflate => s * 1032 + 1024,
            ChunkCodec::Das => s * daspack_codec::MAX_EXPANSION,
        }
    }
}

/// Filters applied to a chunk before a byte codec (in this order: delta, then one shuffle) and undone after it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Filters {
    /// Replace each element (little-endian unsigned integer of `typesize` bytes: 1, 2, 4 or 8) by its wrapping
    /// difference with the previous one.
    pub delta: bool,
    /// Byte shuffle: byte `j` of every element together (Blosc's shuffle).
    pub shuffle: bool,
    /// Bit shuffle (Blosc 1.x semantics: only when the element count is a multiple of 8).
    pub bitshuffle: bool,
}

impl Filters {
    pub const NONE: Filters = Filters { delta: false, shuffle: false, bitshuffle: false };

    /// Bit 0 delta, bit 1 shuffle, bit 2 bit shuffle.
    pub fn bits(self) -> u8 {
        u8::from(self.delta) | u8::from(self.shuffle) << 1 | u8::from(self.bitshuffle) << 2
    }

    /// Checks the bits against the element size.
    pub fn from_bits(b: u8, typesize: u8) -> Result<Filters, String> {
        let f = Filters { delta: b & 1 != 0, shuffle: b & 2 != 0, bitshuffle: b & 4 != 0 };
        f.check(typesize).map(|()| f).map_err(|m| format!("{b:#04x}: {m}"))?;
        if b & !7 != 0 {
            return Err(format!("{b:#04x}: unknown filter bits"));
        }
        Ok(f)
    }

    pub(crate) fn check(self, typesize: u8) -> Result<(), String> {
        if typesize == 0 {
            return Err("typesize 0".into());
        }
        if self.shuffle && self.bitshuffle {
            return Err("shuffle and bitshuffle exclude each other".into());
        }
        if self.delta && !matches!(typesize, 1 | 2 | 4 | 8) {
            return Err(format!("delta needs a typesize of 1, 2, 4 or 8, not {typesize}"));
        }
        Ok(())
    }

    /// Parses `none` or a comma-separated list of `delta`, `shuffle`, `bitshuffle`.
    pub fn from_names(s: &str) -> Result<Filters, String> {
        let mut f = Filters::NONE;
        for part in s.split([',', '+']).map(str::trim).filter(|p| !p.is_empty()) {
            match part.to_ascii_lowercase().as_str() {
                "none" => {}
                "delta" => f.delta = true,
                "shuffle" | "byteshuffle" => f.shuffle = true,
                "bitshuffle" => f.bitshuffle = true,
                other => return Err(format!("unknown filter {other:?} (none, delta, shuffle, bitshuffle)")),
            }
        }
        Ok(f)
    }

    /// `none` or the list, as [`Filters::from_names`] reads it.
    pub fn names(self) -> String {
        let mut v = Vec::new();
        if self.delta {
            v.push("delta");
        }
        if self.shuffle {
            v.push("shuffle");
        }
        if self.bitshuffle {
            v.push("bitshuffle");
        }
        if v.is_empty() {
            "none".into()
        } else {
            v.join(",")
        }
    }

    fn is_none(self) -> bool {
        self == Filters::NONE
    }

    /// Applies the filters (delta then shuffle).
    pub(crate) fn apply(self, typesize: u8, data: &[u8]) -> Vec<u8> {
        let ts = usize::from(typesize);
        let mut cur = data.to_vec();
        if self.delta {
            delta_encode(ts, &mut cur);
        }
        if self.shuffle || self.bitshuffle {
            let mut out = vec![0u8; cur.len()];
            if self.shuffle {
                shuffle::shuffle(ts, &cur, &mut out);
            } else {
                shuffle::bitshuffle(ts, &cur, &mut out);
            }
            cur = out;
        }
        cur
    }

    /// [`Filters::apply`] into `out` (replacing its contents).
    pub(crate) fn apply_into(self, typesize: u8, data: &[u8], out: &mut Vec<u8>) {
        let ts = usize::from(typesize);
        out.clear();
        out.resize(data.len(), 0);
        if self.delta {
            out.copy_from_slice(data);
            delta_encode(ts, out);
            if self.shuffle || self.bitshuffle {
                let d = std::mem::take(out);
                *out = self.without_delta().apply(typesize, &d);
            }
        } else if self.shuffle {
            shuffle::shuffle(ts, data, out);
        } else if self.bitshuffle {
            shuffle::bitshuffle(ts, data, out);
        } else {
            out.copy_from_slice(data);
        }
    }

    fn without_delta(self) -> Filters {
        Filters { delta: false, ..self }
    }

    /// Undoes [`Filters::apply`] reading from `src` (unshuffle, then undo delta) into a new buffer.
    pub(crate) fn undo_from(self, typesize: u8, src: &[u8]) -> Vec<u8> {
        let ts = usize::from(typesize);
        let mut out = vec![0u8; src.len()];
        if self.shuffle {
            shuffle::unshuffle(ts, src, &mut out);
        } else if self.bitshuffle {
            shuffle::bitunshuffle(ts, src, &mut out);
        } else {
            out.copy_from_slice(src);
        }
        if self.delta {
            delta_decode(ts, &mut out);
        }
        out
    }

    /// Undoes [`Filters::apply`] in place (unshuffle, then undo delta).
    pub(crate) fn undo(self, typesize: u8, data: Vec<u8>) -> Vec<u8> {
        let ts = usize::from(typesize);
        let mut cur = data;
        if self.shuffle || self.bitshuffle {
            let mut out = vec![0u8; cur.len()];
            if self.shuffle {
                shuffle::unshuffle(ts, &cur, &mut out);
            } else {
                shuffle::bitunshuffle(ts, &cur, &mut out);
            }
            cur = out;
        }
        if self.delta {
            delta_decode(ts, &mut cur);
        }
        cur
    }
}

macro_rules! delta_impl {
    ($name:ident, $inv:ident, $t:ty, $n:expr) => {
        fn $name(data: &mut [u8]) {
            let mut prev: $t = 0;
            for c in data.chunks_exact_mut($n) {
                let x = <$t>::from_le_bytes(c.try_into().expect("exact chunk"));
                c.copy_from_slice(&x.wrapping_sub(prev).to_le_bytes());
                prev = x;
            }
        }
        fn $inv(data: &mut [u8]) {
            let mut prev: $t = 0;
            for c in data.chunks_exact_mut($n) {
                let x = <$t>::from_le_bytes(c.try_into().expect("exact chunk")).wrapping_add(prev);
                c.copy_from_slice(&x.to_le_bytes());
                prev = x;
            }
        }
    };
}
delta_impl!(delta8, undelta8, u8, 1);
delta_impl!(delta16, undelta16, u16, 2);
delta_impl!(delta32, undelta32, u32, 4);
delta_impl!(delta64, undelta64, u64, 8);

fn delta_encode(ts: usize, d: &mut [u8]) {
    match ts {
        1 => delta8(d),
        2 => delta16(d),
        4 => delta32(d),
        _ => delta64(d),
    }
}

fn delta_decode(ts: usize, d: &mut [u8]) {
    match ts {
        1 => undelta8(d),
        2 => undelta16(d),
        4 => undelta32(d),
        _ => undelta64(d),
    }
}

/// Codes one chunk of bytes with a byte codec (not [`ChunkCodec::Das`]).
pub(crate) fn encode_bytes(codec: ChunkCodec, level: i32, filters: Filters, typesize: u8, data: &[u8]) -> Vec<u8> {
    if filters.is_none() {
        return encode_filtered(codec, level, data);
    }
    // The filtered bytes go to a per-thread scratch buffer (they never leave this call).
    FILTER_SCRATCH.with(|cell| {
        let mut buf = cell.borrow_mut();
        filters.apply_into(typesize, data, &mut buf);
        let out = encode_filtered(codec, level, &buf);
        if buf.capacity() > SCRATCH_KEEP {
            *buf = Vec::new();
        }
        out
    })
}

fn encode_filtered(codec: ChunkCodec, level: i32, src: &[u8]) -> Vec<u8> {
    match codec {
        ChunkCodec::Stored | ChunkCodec::Das => src.to_vec(),
        ChunkCodec::Zstd => zstd_compress(src, level),
        ChunkCodec::Lz4 => lz4_flex::block::compress(src),
        ChunkCodec::Deflate => {
            let lvl = flate2::Compression::new(level.clamp(0, 9) as u32);
            let mut enc = flate2::write::DeflateEncoder::new(Vec::with_capacity(src.len() / 2), lvl);
            enc.write_all(src).expect("writing to a Vec cannot fail");
            enc.finish().expect("writing to a Vec cannot fail")
        }
    }
}

/// A scratch buffer larger than this is not kept by its thread after use.
const SCRATCH_KEEP: usize = 64 << 20;

thread_local! {
    /// zstd contexts per thread: creating one per chunk costs more than coding a small chunk (its tables are
    /// allocated and zeroed every time).
    static ZSTD_CCTX: RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> = const { RefCell::new(None) };
    static ZSTD_DCTX: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
    static ZSTD_SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static FILTER_SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static CODED_SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

fn zstd_compress(src: &[u8], level: i32) -> Vec<u8> {
    ZSTD_CCTX.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().is_none_or(|(l, _)| *l != level) {
            let c = zstd::bulk::Compressor::new(level).expect("zstd context for a valid level");
            *slot = Some((level, c));
        }
        let (_, c) = slot.as_mut().expect("just set");
        // Into a per-thread buffer of the worst-case size, then copied out at its exact size.
        CODED_SCRATCH.with(|cell| {
            let mut buf = cell.borrow_mut();
            buf.clear();
            buf.reserve(zstd::zstd_safe::compress_bound(src.len()));
            c.compress_to_buffer(src, &mut *buf).expect("zstd compresses any input into its bound");
            let out = buf.to_vec();
            if buf.capacity() > SCRATCH_KEEP {
                *buf = Vec::new();
            }
            out
        })
    })
}

/// Decodes one zstd frame into `out`'s spare capacity (which bounds the output).
fn zstd_decompress_into(stored: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    // A chunk is exactly one frame (docs/format.md A.3): libzstd would also decode frames after it.
    match zstd::zstd_safe::find_frame_compressed_size(stored) {
        Ok(n) if n == stored.len() => {}
        Ok(_) => return Err("zstd: bytes after the chunk's frame".to_string()),
        Err(code) => return Err(format!("zstd: {}", zstd::zstd_safe::get_error_name(code))),
    }
    ZSTD_DCTX.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(zstd::bulk::Decompressor::new().map_err(|e| format!("zstd: {e}"))?);
        }
        let d = slot.as_mut().expect("just set");
        d.decompress_to_buffer(stored, out).map(|_| ()).map_err(|e| format!("zstd: {e}"))
    })
}

/// Decodes one chunk of a byte codec to exactly `orig_len` bytes (the index has checked `orig_len` against the
/// codec's expansion limit, so allocating it is justified by the stored bytes).
pub(crate) fn decode_bytes(
    codec: ChunkCodec,
    filters: Filters,
    typesize: u8,
    stored: &[u8],
    orig_len: usize,
) -> Result<Vec<u8>, String> {
    if codec == ChunkCodec::Zstd && !filters.is_none() {
        // Decoded into a per-thread scratch buffer, then unfiltered into the one buffer returned.
        return ZSTD_SCRATCH.with(|cell| {
            let mut raw = cell.borrow_mut();
            raw.clear();
            raw.reserve(orig_len);
            zstd_decompress_into(stored, &mut raw)?;
            if raw.len() != orig_len {
                return Err(format!("decodes to {} bytes, the index says {orig_len}", raw.len()));
            }
            let out = filters.undo_from(typesize, &raw);
            if raw.capacity() > SCRATCH_KEEP {
                *raw = Vec::new();
            }
            Ok(out)
        });
    }
    let raw = match codec {
        ChunkCodec::Stored | ChunkCodec::Das => stored.to_vec(),
        ChunkCodec::Zstd => {
            let mut out = Vec::with_capacity(orig_len);
            zstd_decompress_into(stored, &mut out)?;
            out
        }
        ChunkCodec::Lz4 => lz4_flex::block::decompress(stored, orig_len).map_err(|e| format!("lz4: {e}"))?,
        ChunkCodec::Deflate => {
            let mut out = Vec::with_capacity(orig_len);
            flate2::read::DeflateDecoder::new(stored)
                .take(orig_len as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| format!("deflate: {e}"))?;
            out
        }
    };
    if raw.len() != orig_len {
        return Err(format!("decodes to {} bytes, the index says {orig_len}", raw.len()));
    }
    Ok(if filters.is_none() { raw } else { filters.undo(typesize, raw) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_and_codecs_round_trip() {
        let data: Vec<u8> = (0..5003u32).flat_map(|i| (i * i / 7).to_le_bytes()).take(20003).collect();
        for codec in [ChunkCodec::Stored, ChunkCodec::Zstd, ChunkCodec::Lz4, ChunkCodec::Deflate] {
            for bits in 0..8u8 {
                for ts in [1u8, 2, 4, 8] {
                    let Ok(f) = Filters::from_bits(bits, ts) else { continue };
                    let mut into = vec![7u8; 3];
                    f.apply_into(ts, &data, &mut into);
                    assert_eq!(into, f.apply(ts, &data), "{f:?} ts {ts}");
                    assert_eq!(f.undo_from(ts, &into), data, "{f:?} ts {ts}");
                    let enc = encode_bytes(codec, codec.default_level(), f, ts, &data);
                    assert!(codec.max_output(enc.len() as u64) >= data.len() as u128);
                    let dec = decode_bytes(codec, f, ts, &enc, data.len()).unwrap();
                    assert_eq!(dec, data, "{codec:?} {f:?} ts {ts}");
                    assert!(decode_bytes(codec, f, ts, &enc, data.len() - 1).is_err());
                }
            }
        }
        assert!(Filters::from_bits(6, 4).is_err());
        assert!(Filters::from_bits(1, 3).is_err());
        assert!(Filters::from_bits(8, 1).is_err());
        assert_eq!(Filters::from_names("delta,shuffle").unwrap().names(), "delta,shuffle");
    }
}
