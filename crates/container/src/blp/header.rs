//! The Bloscpack header and the metadata header.

use super::{Error, Result};
use daspack_checksum::Checksum;

/// Length of the Bloscpack header.
pub const HEADER_LEN: usize = 32;
/// Length of the metadata header.
pub const META_HEADER_LEN: usize = 32;
const MAGIC: &[u8; 4] = b"blpk";
const META_MAGIC: &[u8] = b"JSON";

/// The 32-byte Bloscpack v3 header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlpHeader {
    /// Always 3.
    pub format_version: u8,
    /// An offsets section follows the header (and metadata).
    pub offsets: bool,
    /// A metadata section follows the header.
    pub metadata: bool,
    /// Checksum stored after every chunk.
    pub checksum: Checksum,
    /// Typesize the chunks were compressed with (used when appending).
    pub typesize: u8,
    /// Size of every chunk but the last.
    pub chunk_size: i32,
    /// Size of the last chunk.
    pub last_chunk: i32,
    /// Number of chunks.
    pub nchunks: i64,
    /// Offset slots preallocated for appended chunks.
    pub max_app_chunks: i64,
}

fn field(field: &'static str, offset: u64, value: i128, reason: &'static str) -> Error {
    Error::InvalidField { section: "header", field, offset, value, reason }
}

impl BlpHeader {
    /// Parses and validates the 32 header bytes.
    pub fn parse(b: &[u8]) -> Result<BlpHeader> {
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated {
                what: "Bloscpack header",
                offset: 0,
                needed: HEADER_LEN as u64,
                available: b.len() as u64,
            });
        }
        if &b[0..4] != MAGIC {
            return Err(Error::BadMagic { found: [b[0], b[1], b[2], b[3]] });
        }
        if b[4] != 3 {
            return Err(Error::UnsupportedVersion(b[4]));
        }
        let options = b[5];
        if options & !0b11 != 0 {
            return Err(field("options", 5, options.into(), "only bits 0 (offsets) and 1 (metadata) may be set"));
        }
        let checksum = Checksum::from_bloscpack_id(b[6])
            .ok_or_else(|| field("checksum", 6, b[6].into(), "unknown checksum id (0..=8)"))?;
        let i32_at = |i: usize| i32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let i64_at = |i: usize| i64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        let h = BlpHeader {
            format_version: b[4],
            offsets: options & 1 != 0,
            metadata: options & 2 != 0,
            checksum,
            typesize: b[7],
            chunk_size: i32_at(8),
            last_chunk: i32_at(12),
            nchunks: i64_at(16),
            max_app_chunks: i64_at(24),
        };
        if h.chunk_size < 0 {
            return Err(field("chunk_size", 8, h.chunk_size.into(), "negative (unknown sizes are not supported)"));
        }
        if h.last_chunk < 0 || h.last_chunk > h.chunk_size {
            return Err(field("last_chunk", 12, h.last_chunk.into(), "must be in 0..=chunk_size"));
        }
        if h.nchunks < 0 {
            return Err(field("nchunks", 16, h.nchunks.into(), "negative (unknown counts are not supported)"));
        }
        if h.max_app_chunks < 0 || h.nchunks.checked_add(h.max_app_chunks).is_none() {
            return Err(field("max_app_chunks", 24, h.max_app_chunks.into(), "negative or too large"));
        }
        if h.nchunks > 0 && h.last_chunk == 0 && h.chunk_size != 0 {
            return Err(field("last_chunk", 12, 0, "zero while chunk_size is not"));
        }
        Ok(h)
    }

    /// The 32 header bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..4].copy_from_slice(MAGIC);
        b[4] = self.format_version;
        b[5] = u8::from(self.offsets) | (u8::from(self.metadata) << 1);
        b[6] = self.checksum.bloscpack_id().unwrap_or(0);
        b[7] = self.typesize;
        b[8..12].copy_from_slice(&self.chunk_size.to_le_bytes());
        b[12..16].copy_from_slice(&self.last_chunk.to_le_bytes());
        b[16..24].copy_from_slice(&self.nchunks.to_le_bytes());
        b[24..32].copy_from_slice(&self.max_app_chunks.to_le_bytes());
        b
    }

    /// The options byte.
    pub fn options(&self) -> u8 {
        u8::from(self.offsets) | (u8::from(self.metadata) << 1)
    }

    /// Number of offset slots (`nchunks + max_app_chunks` when offsets are present, else 0).
    pub fn offset_slots(&self) -> u64 {
        if self.offsets {
            (self.nchunks + self.max_app_chunks) as u64
        } else {
            0
        }
    }

    /// Total decoded size the header promises: `chunk_size * (nchunks - 1) + last_chunk`.
    pub fn data_size(&self) -> Option<u64> {
        if self.nchunks == 0 {
            return Some(0);
        }
        (self.chunk_size as u64).checked_mul(self.nchunks as u64 - 1)?.checked_add(self.last_chunk as u64)
    }
}

/// How the metadata is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MetaCodec {
    /// Raw JSON (id 0).
    None,
    /// zlib-compressed JSON (id 1), Bloscpack's default.
    #[default]
    Zlib,
}

impl MetaCodec {
    /// Bloscpack's name: `None` or `zlib`.
    pub fn name(self) -> &'static str {
        match self {
            MetaCodec::None => "None",
            MetaCodec::Zlib => "zlib",
        }
    }
}

/// The 32-byte metadata header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetaHeader {
    /// The serializer magic without its NUL padding (`JSON`).
    pub magic: [u8; 8],
    /// Metadata options (0).
    pub meta_options: u8,
    /// Checksum of the stored metadata bytes.
    pub meta_checksum: Checksum,
    /// How the metadata is stored.
    pub meta_codec: MetaCodec,
    /// zlib level used (kept even when the codec fell back to None).
    pub meta_level: u8,
    /// Length of the serialized JSON.
    pub meta_size: u32,
    /// Space reserved for the stored metadata.
    pub max_meta_size: u32,
    /// Length of the stored metadata.
    pub meta_comp_size: u32,
    /// The user codec field (zeros).
    pub user_codec: [u8; 8],
}

impl MetaHeader {
    /// Parses the 32 bytes at file offset `at`.
    pub fn parse(b: &[u8], at: u64) -> Result<MetaHeader> {
        let f = |field, off: u64, value: i128, reason| Error::InvalidField {
            section: "metadata header",
            field,
            offset: at + off,
            value,
            reason,
        };
        if b.len() < META_HEADER_LEN {
            return Err(Error::Truncated {
                what: "metadata header",
                offset: at,
                needed: META_HEADER_LEN as u64,
                available: b.len() as u64,
            });
        }
        let magic: [u8; 8] = b[0..8].try_into().expect("8 bytes");
        let trimmed: Vec<u8> = magic.iter().copied().filter(|&c| c != 0).collect();
        if trimmed != META_MAGIC {
            return Err(Error::Metadata {
                offset: at,
                reason: format!("unknown serializer magic {:?} (only JSON)", String::from_utf8_lossy(&magic)),
            });
        }
        let meta_checksum = Checksum::from_bloscpack_id(b[9])
            .ok_or_else(|| f("meta_checksum", 9, b[9].into(), "unknown checksum id (0..=8)"))?;
        let meta_codec = match b[10] {
            0 => MetaCodec::None,
            1 => MetaCodec::Zlib,
            c => return Err(f("meta_codec", 10, c.into(), "unknown codec (0 None, 1 zlib)")),
        };
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let h = MetaHeader {
            magic,
            meta_options: b[8],
            meta_checksum,
            meta_codec,
            meta_level: b[11],
            meta_size: u32_at(12),
            max_meta_size: u32_at(16),
            meta_comp_size: u32_at(20),
            user_codec: b[24..32].try_into().expect("8 bytes"),
        };
        if h.meta_comp_size > h.max_meta_size {
            return Err(f("meta_comp_size", 20, h.meta_comp_size.into(), "larger than max_meta_size"));
        }
        Ok(h)
    }

    /// The 32 header bytes.
    pub fn to_bytes(&self) -> [u8; META_HEADER_LEN] {
        let mut b = [0u8; META_HEADER_LEN];
        b[0..8].copy_from_slice(&self.magic);
        b[8] = self.meta_options;
        b[9] = self.meta_checksum.bloscpack_id().unwrap_or(0);
        b[10] = match self.meta_codec {
            MetaCodec::None => 0,
            MetaCodec::Zlib => 1,
        };
        b[11] = self.meta_level;
        b[12..16].copy_from_slice(&self.meta_size.to_le_bytes());
        b[16..20].copy_from_slice(&self.max_meta_size.to_le_bytes());
        b[20..24].copy_from_slice(&self.meta_comp_size.to_le_bytes());
        b[24..32].copy_from_slice(&self.user_codec);
        b
    }

    /// The magic as text without padding (`"JSON"`).
    pub fn magic_str(&self) -> String {
        String::from_utf8_lossy(&self.magic).trim_end_matches('\0').to_string()
    }

    /// Bytes the whole metadata section occupies: header, reserved space and digest.
    pub fn section_len(&self) -> u64 {
        META_HEADER_LEN as u64 + u64::from(self.max_meta_size) + self.meta_checksum.digest_size() as u64
    }

    /// A header for `JSON` metadata.
    pub(crate) fn json() -> [u8; 8] {
        let mut m = [0u8; 8];
        m[..4].copy_from_slice(META_MAGIC);
        m
    }
}
