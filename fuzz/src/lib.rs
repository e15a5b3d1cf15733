//! Helpers shared by the fuzz targets.

/// Makes a daspack codec stream's checksums (and the last tile's length) agree with its bytes, so that mutated
/// streams reach the tile decoders instead of stopping at a checksum mismatch. Returns `None` when the bytes are too
/// short to hold a header and tile index. Layout (docs/format.md): a 52-byte header whose last field (offset 48)
/// is the tile count, `count` index entries of (u32 length, u32 crc32), a u32 crc32 of everything before it, then
/// the tile payloads back to back.
pub fn fix_codec_checksums(stream: &[u8]) -> Option<Vec<u8>> {
    const HEADER: usize = 52;
    if stream.len() < HEADER || &stream[..4] != b"DASP" {
        return None;
    }
    let ntiles = u32::from_le_bytes(stream[48..52].try_into().ok()?) as usize;
    let index_end = HEADER.checked_add(ntiles.checked_mul(8)?)?;
    let data_start = index_end.checked_add(4)?;
    if data_start > stream.len() {
        return None;
    }
    let mut s = stream.to_vec();
    let mut offset = data_start;
    for t in 0..ntiles {
        let e = HEADER + 8 * t;
        let mut len = u32::from_le_bytes(s[e..e + 4].try_into().ok()?) as usize;
        let left = s.len() - offset.min(s.len());
        // The last tile takes whatever is left; earlier tiles are cut to what is present.
        if t + 1 == ntiles || len > left {
            len = left;
            s[e..e + 4].copy_from_slice(&(len as u32).to_le_bytes());
        }
        let crc = crc32fast::hash(&s[offset..offset + len]);
        s[e + 4..e + 8].copy_from_slice(&crc.to_le_bytes());
        offset += len;
    }
    let crc = crc32fast::hash(&s[..index_end]);
    s[index_end..data_start].copy_from_slice(&crc.to_le_bytes());
    Some(s)
}

/// A little-endian reader of fuzz input that yields zeros once the input is exhausted.
pub struct Bytes<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Bytes<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Bytes { data, pos: 0 }
    }

    pub fn u8(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    /// The unread rest of the input.
    pub fn rest(&self) -> &'a [u8] {
        &self.data[self.pos.min(self.data.len())..]
    }
}
