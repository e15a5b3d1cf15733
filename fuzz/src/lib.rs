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

/// Makes a `.dpk` archive's CRCs agree with its bytes (header CRC, every chunk record's CRC, the index CRC and
/// commit slot 0, pointed at the index the slot names), so that mutated archives reach the index parser and the
/// chunk decoders instead of stopping at a CRC mismatch. `None` when the bytes are too short for a header and a
/// slot-0 index. Layout: docs/format.md, "Archive format .dpk v1".
pub fn fix_dpk_checksums(archive: &[u8]) -> Option<Vec<u8>> {
    const HEADER: usize = 80;
    const DIGEST: [usize; 11] = [0, 4, 4, 16, 20, 28, 32, 48, 64, 8, 32];
    if archive.len() < HEADER || archive[..4] != *b"\x89DPK" {
        return None;
    }
    let mut a = archive.to_vec();
    let crc = crc32fast::hash(&a[..12]);
    a[12..16].copy_from_slice(&crc.to_le_bytes());
    let u64_at = |b: &[u8], i: usize| Some(u64::from_le_bytes(b.get(i..i + 8)?.try_into().ok()?));
    let off = usize::try_from(u64_at(&a, 24)?).ok()?;
    let len = usize::try_from(u64_at(&a, 32)?).ok()?;
    let end = off.checked_add(len).filter(|&e| off >= HEADER && e <= a.len())?;
    // Walk the index, fixing each chunk record's CRC; stop quietly where it stops making sense.
    let mut p = off + 8;
    let n = u32::from_le_bytes(a.get(off + 4..off + 8)?.try_into().ok()?);
    for _ in 0..n.min(1024) {
        let name_len = usize::from(u16::from_le_bytes(a.get(p..p + 2)?.try_into().ok()?));
        p += 2 + name_len;
        let checksum = *a.get(p + 4)? as usize;
        p += 8 + 8 + 4;
        let meta_len = u32::from_le_bytes(a.get(p..p + 4)?.try_into().ok()?) as usize;
        p = p.checked_add(4 + meta_len + DIGEST.get(checksum).copied().unwrap_or(0))?;
        let nchunks = u64_at(&a, p)?;
        p += 8;
        for _ in 0..nchunks.min(4096) {
            if p + 20 > end {
                break;
            }
            let c_off = usize::try_from(u64_at(&a, p)?).ok()?;
            let c_len = u32::from_le_bytes(a[p + 8..p + 12].try_into().ok()?) as usize;
            if let Some(bytes) = c_off.checked_add(c_len).and_then(|e| a.get(c_off..e)) {
                let crc = crc32fast::hash(bytes);
                a[p + 16..p + 20].copy_from_slice(&crc.to_le_bytes());
            }
            p += 20;
        }
        if p >= end {
            break;
        }
    }
    let crc = crc32fast::hash(&a[off..end]);
    a[40..44].copy_from_slice(&crc.to_le_bytes());
    let crc = crc32fast::hash(&a[16..44]);
    a[44..48].copy_from_slice(&crc.to_le_bytes());
    Some(a)
}
