//! Bloscpack v3 (`.blp`), compatible with the Python `bloscpack` 0.16 package, and the Blosc1 chunks it holds.
//!
//! # File layout (all integers little-endian)
//! ```text
//! header (32 bytes)
//!      0  4  magic "blpk"
//!      4  1  format_version = 3
//!      5  1  options: bit 0 offsets section present, bit 1 metadata section present (other bits zero)
//!      6  1  checksum id: 0 None, 1 adler32, 2 crc32, 3 md5, 4 sha1, 5 sha224, 6 sha256, 7 sha384, 8 sha512
//!      7  1  typesize
//!      8  4  chunk_size (i32; every chunk but the last holds this many bytes)
//!     12  4  last_chunk (i32)
//!     16  8  nchunks (i64)
//!     24  8  max_app_chunks (i64): offset slots preallocated for appending
//! metadata section (if options bit 1)
//!      0  8  magic "JSON" padded with NULs
//!      8  1  meta_options (0)
//!      9  1  meta_checksum id (as above)
//!     10  1  meta_codec: 0 None, 1 zlib -- trust this over the sizes (zlib data can be as long as the raw JSON)
//!     11  1  meta_level
//!     12  4  meta_size (u32, serialized JSON length)
//!     16  4  max_meta_size (u32, space reserved for the stored metadata)
//!     20  4  meta_comp_size (u32, stored length)
//!     24  8  user codec (zeros)
//!     32     meta_comp_size stored bytes, then NULs up to max_meta_size, then the digest of the stored bytes
//! offsets section (if options bit 0): nchunks + max_app_chunks i64 file offsets, unused slots -1
//! chunks: each a whole Blosc1 chunk (see [`blosc`]) followed by the digest of that whole chunk
//! ```
//! The reference reader walks the chunks in sequence; so does [`Reader`] (reading them in order on the calling
//! thread while a pool checks and decodes them, [`Reader::threads`]). Offsets are used by [`append`] and reported by
//! [`info`]. The writers code chunks on a pool too ([`BlpOptions::threads`]); the file does not depend on it.
//!
//! # Entry points
//! * [`read()`] / [`read_from`] / [`Reader`] (streaming, chunk by chunk): the original bytes plus parsed metadata.
//! * [`write()`] (any `Write`) and [`write_stream`] (`Read` input, `Write + Seek` output) with [`BlpOptions`].
//! * [`append`] / [`append_file`] / [`append_bytes`]: `blpk append`'s algorithm (refill the last chunk, then new
//!   chunks into the preallocated offset slots).
//! * [`info`]: headers and the chunk table without decompressing.
//! * [`NumpyMeta`]: the dtype/shape/order that `bloscpack.pack_ndarray` stores in the metadata.
//!
//! ```
//! use daspack_container::blp::{self, BlpOptions, CompressParams, NumpyMeta};
//! # fn main() -> blp::Result<()> {
//! // An f8 array written with bloscpack's numpy convention, as `pack_ndarray` would.
//! let data: Vec<u8> = (0..1000u32).flat_map(|i| f64::from(i).to_le_bytes()).collect();
//! let meta = NumpyMeta::simple("<f8", vec![1000], false);
//! let opts = BlpOptions {
//!     blosc: CompressParams { typesize: 8, ..Default::default() },
//!     metadata: Some(meta.to_metadata()),
//!     ..Default::default()
//! };
//! let mut file = Vec::new();
//! blp::write(&mut file, &data, &opts)?;
//! let back = blp::read(&file[..])?;
//! assert_eq!(back.data, data);
//! let nm = NumpyMeta::from_metadata(back.metadata.as_ref().unwrap())?.unwrap();
//! let mut npy = nm.npy_header(); // what np.save would write before the data
//! npy.extend_from_slice(&back.data);
//! assert_eq!(blp::info(&file)?.chunks.len(), 1);
//! # Ok(()) }
//! ```
//!
//! # Hostile input
//! Reading never trusts a size before the bytes behind it exist: sections are read with bounded reads that grow
//! only as data arrives, every count and offset is checked with checked arithmetic, chunk checksums are verified
//! before decoding, and Blosc chunks are bounded as described in [`blosc`]. Errors carry the file offset.

pub mod blosc;
pub mod blosclz;
mod header;
mod numpy;
mod read;
pub mod shuffle;
mod write;

pub use blosc::{BloscError, ChunkHeader, Codec, CompressParams, Shuffle};
pub use daspack_checksum::Checksum;
pub use header::{BlpHeader, MetaCodec, MetaHeader, HEADER_LEN, META_HEADER_LEN};
pub use numpy::NumpyMeta;
pub use read::{info, read, read_from, BlpFile, BlpInfo, ChunkInfo, Reader};
pub use write::{
    append, append_bytes, append_file, calculate_nchunks, write, write_stream, AppendOptions, AppendReport, BlpOptions,
    MetaOptions, DEFAULT_CHUNK_SIZE,
};

/// Everything that can go wrong with a Bloscpack file. Offsets are from the start of the file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O error from the underlying reader or writer.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The file ends inside a section.
    #[error("truncated file: {what} needs {needed} bytes at offset {offset}, only {available} present")]
    Truncated { what: &'static str, offset: u64, needed: u64, available: u64 },
    /// The first four bytes are not `blpk`.
    #[error("not a Bloscpack file: magic {found:02x?} at offset 0 (expected \"blpk\")")]
    BadMagic { found: [u8; 4] },
    /// A format version other than 3.
    #[error("unsupported Bloscpack format version {0} at offset 4 (only version 3 is supported)")]
    UnsupportedVersion(u8),
    /// A header field out of range.
    #[error("invalid {section} field {field} = {value} at offset {offset}: {reason}")]
    InvalidField { section: &'static str, field: &'static str, offset: u64, value: i128, reason: &'static str },
    /// The metadata could not be decoded.
    #[error("metadata at offset {offset}: {reason}")]
    Metadata { offset: u64, reason: String },
    /// A stored digest does not match the data.
    #[error("{what} checksum ({algo}) mismatch at offset {offset}: stored {stored}, computed {computed}")]
    ChecksumMismatch { what: String, algo: Checksum, offset: u64, stored: String, computed: String },
    /// A Blosc chunk could not be decoded.
    #[error("chunk {index} at offset {offset}: {source}")]
    Chunk {
        index: u64,
        offset: u64,
        #[source]
        source: BloscError,
    },
    /// A chunk does not hold the number of bytes the header promises.
    #[error("chunk {index} at offset {offset} holds {found} bytes, the header says {expected}")]
    ChunkSize { index: u64, offset: u64, expected: u64, found: u64 },
    /// Invalid writer or append options.
    #[error("invalid options: {0}")]
    InvalidOptions(String),
    /// Compression failed.
    #[error(transparent)]
    Compress(BloscError),
    /// Appending is impossible for this file.
    #[error("cannot append: {0}")]
    Append(String),
    /// The preallocated offset slots are too few for the appended data.
    #[error("cannot append: {needed} new chunks needed, only {available} offset slots preallocated")]
    NotEnoughSpace { needed: u64, available: u64 },
}

/// Result with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
