//! The fixed header (magic, version, two commit slots) and the stream footer.

use super::{corrupt, Error, Result};

/// First eight bytes of every archive: a non-ASCII byte, the name, and CR LF SUB LF (as PNG) so that text-mode
/// transfers and truncation to 7 bits are caught at once.
pub const MAGIC: [u8; 8] = *b"\x89DPK\r\n\x1a\n";
/// The archive version this build writes and reads.
pub const VERSION: u16 = 1;
/// Bytes before the first chunk: magic 8, version 2, flags 2, header CRC 4, two slots of 32.
pub const HEADER_LEN: u64 = 80;
/// Offset of commit slot `i`.
pub(crate) const fn slot_offset(i: usize) -> u64 {
    16 + 32 * i as u64
}
pub(crate) const SLOT_LEN: usize = 32;
/// Footer: one slot then this magic, at the very end of a streamed archive.
pub(crate) const FOOTER_MAGIC: [u8; 8] = *b"DPK-END\n";
pub(crate) const FOOTER_LEN: u64 = 40;

/// One committed state: where its index is and what it must hash to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Commit {
    /// Increases by one at every append; 0 marks an empty slot.
    pub generation: u64,
    /// File offset of the index.
    pub index_offset: u64,
    /// Index length in bytes.
    pub index_len: u64,
    /// CRC-32 of the index bytes.
    pub index_crc: u32,
}

impl Commit {
    /// The 32-byte slot: generation, index offset, index length, index CRC, then the CRC-32 of those 28 bytes.
    pub(crate) fn encode(&self) -> [u8; SLOT_LEN] {
        let mut b = [0u8; SLOT_LEN];
        b[0..8].copy_from_slice(&self.generation.to_le_bytes());
        b[8..16].copy_from_slice(&self.index_offset.to_le_bytes());
        b[16..24].copy_from_slice(&self.index_len.to_le_bytes());
        b[24..28].copy_from_slice(&self.index_crc.to_le_bytes());
        let crc = crc32fast::hash(&b[..28]);
        b[28..32].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// A slot whose CRC holds and whose generation is not 0; `None` for an empty or torn slot.
    pub(crate) fn decode(b: &[u8]) -> Option<Commit> {
        let b: &[u8; SLOT_LEN] = b.get(..SLOT_LEN)?.try_into().ok()?;
        let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        let stored = u32::from_le_bytes(b[28..32].try_into().expect("4 bytes"));
        if crc32fast::hash(&b[..28]) != stored {
            return None;
        }
        let c = Commit {
            generation: u64_at(0),
            index_offset: u64_at(8),
            index_len: u64_at(16),
            index_crc: u32::from_le_bytes(b[24..28].try_into().expect("4 bytes")),
        };
        (c.generation != 0).then_some(c)
    }

    /// The footer of a streamed archive: the slot then [`FOOTER_MAGIC`].
    pub(crate) fn encode_footer(&self) -> [u8; FOOTER_LEN as usize] {
        let mut f = [0u8; FOOTER_LEN as usize];
        f[..SLOT_LEN].copy_from_slice(&self.encode());
        f[SLOT_LEN..].copy_from_slice(&FOOTER_MAGIC);
        f
    }
}

/// The header of a new archive: both slots empty (all zero bytes, whose CRC does not hold).
pub(crate) fn encode_header() -> [u8; HEADER_LEN as usize] {
    let mut h = [0u8; HEADER_LEN as usize];
    h[0..8].copy_from_slice(&MAGIC);
    h[8..10].copy_from_slice(&VERSION.to_le_bytes());
    // flags (10..12) are 0: no flag is defined in version 1.
    let crc = crc32fast::hash(&h[..12]);
    h[12..16].copy_from_slice(&crc.to_le_bytes());
    h
}

/// The parsed header: the two slots (each `None` when empty or torn).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Header {
    pub slots: [Option<Commit>; 2],
}

pub(crate) fn parse_header(h: &[u8], file_len: u64) -> Result<Header> {
    if h.len() < 8 || h[..8] != MAGIC {
        return Err(if h.len() < 8 && MAGIC.starts_with(h) && file_len > 0 {
            Error::Truncated { what: "header", offset: 0, end: HEADER_LEN.into(), len: file_len }
        } else {
            Error::BadMagic
        });
    }
    if h.len() < HEADER_LEN as usize {
        return Err(Error::Truncated { what: "header", offset: 0, end: HEADER_LEN.into(), len: file_len });
    }
    let stored = u32::from_le_bytes(h[12..16].try_into().expect("4 bytes"));
    if crc32fast::hash(&h[..12]) != stored {
        return Err(corrupt("header", 0, "CRC-32 mismatch of bytes 0..12"));
    }
    let version = u16::from_le_bytes([h[8], h[9]]);
    if version != VERSION {
        return Err(Error::UnsupportedVersion(version));
    }
    let flags = u16::from_le_bytes([h[10], h[11]]);
    if flags != 0 {
        return Err(corrupt("header flags", 10, format!("{flags:#06x}: no flag is defined in version 1")));
    }
    let slot = |i: usize| Commit::decode(&h[slot_offset(i) as usize..slot_offset(i) as usize + SLOT_LEN]);
    Ok(Header { slots: [slot(0), slot(1)] })
}

/// The footer at the end of `tail` (the last [`FOOTER_LEN`] bytes of the file), if there is a valid one.
pub(crate) fn parse_footer(tail: &[u8]) -> Option<Commit> {
    if tail.len() != FOOTER_LEN as usize || tail[SLOT_LEN..] != FOOTER_MAGIC {
        return None;
    }
    Commit::decode(&tail[..SLOT_LEN])
}

impl Header {
    /// The slot to read: the valid one with the highest generation.
    pub fn best(&self) -> Option<(usize, Commit)> {
        let mut best: Option<(usize, Commit)> = None;
        for (i, s) in self.slots.iter().enumerate() {
            if let Some(c) = s {
                if best.is_none_or(|(_, b)| c.generation > b.generation) {
                    best = Some((i, *c));
                }
            }
        }
        best
    }

    /// The slot an append overwrites: the empty one, else the one with the lower generation.
    pub fn older_slot(&self) -> usize {
        match self.slots {
            [None, _] => 0,
            [_, None] => 1,
            [Some(a), Some(b)] => usize::from(a.generation > b.generation),
        }
    }
}
