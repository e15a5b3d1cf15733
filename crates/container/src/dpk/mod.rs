//! The native archive format `.dpk` (version 1): named entries (files, `.npy` arrays, directories), each cut into
//! chunks coded alone, with an index that gives every chunk's place, sizes and CRC-32, so that any chunk or byte
//! range decodes alone and chunks decode in parallel. `docs/format.md` ("Archive format .dpk v1") is the spec.
//!
//! # Layout in brief (all integers little-endian)
//! ```text
//! header   80 bytes: magic, version, header CRC, two commit slots {generation, index offset/len/CRC}
//! chunks   back to back, each coded by its entry's codec after its filters
//! index    "DPKI", entries (name, kind, codec, filters, sizes, JSON metadata, digest, chunk table)
//! footer   40 bytes, only when the archive was written to a stream that cannot seek back to the slots
//! ```
//! A reader takes the valid commit slot with the highest generation (or, with no valid slot, the footer) and
//! ignores bytes past what that index refers to. Appending writes new chunks and a new index after the committed
//! end, syncs, then overwrites the older slot: an interrupted append leaves the previous archive as it was.
//!
//! # Entry points
//! * [`Writer`] (any `Write`): [`Writer::add_reader`], [`Writer::add_npy`], [`Writer::add_dir`], then
//!   [`Writer::finish`] (seekable output, commits slot 0) or [`Writer::finish_stream`] (footer).
//! * [`Archive`] over any [`Source`] (a byte slice, a `File`): random access that decodes only the chunks needed
//!   ([`Archive::read_chunk`], [`Archive::read_range`], [`Archive::read_rows`], [`Archive::read_elements`],
//!   [`Archive::chunks_for_range`]), whole entries through a bounded parallel pipeline ([`Archive::extract`] in
//!   order, [`Archive::extract_to_file`] with positional writes; memory: threads x chunk size), and
//!   [`Archive::verify_entry`].
//! * [`Appender`]: adds entries to an existing archive file, crash-safe.
//!
//! # Hostile input
//! Every size, offset and count is checked against the file size with checked arithmetic before anything is
//! allocated; the index may not exceed the file; a chunk may not claim more output than its codec can produce
//! from its stored bytes. Errors name the entry, the chunk and the file offset.
#![allow(clippy::module_name_repetitions)]

mod append;
mod array;
mod chunk;
mod index;
mod layout;
mod read;
mod source;
mod write;

pub use append::Appender;
pub use array::NpyInfo;
pub use chunk::{ChunkCodec, Filters};
pub use index::{check_name, ChunkRecord, Entry, EntryKind, Index, MAX_NAME_LEN};
pub use layout::{Commit, HEADER_LEN, MAGIC, VERSION};
pub use read::{Archive, EntryReport};
pub use source::Source;
pub use write::{ChunkEvent, EntryOptions, Writer, DEFAULT_CHUNK_SIZE, DEFAULT_DAS_CHUNK_SIZE, MAX_CHUNK_SIZE};

/// Everything that can go wrong with a `.dpk` archive. Offsets are from the start of the file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O error from the underlying reader or writer.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The file ends before a structure it must hold.
    #[error("truncated archive: {what} needs bytes [{offset}, {end}) but the file has {len} bytes")]
    Truncated { what: &'static str, offset: u64, end: u128, len: u64 },
    /// The first eight bytes are not the `.dpk` magic.
    #[error("not a .dpk archive (bad magic at offset 0)")]
    BadMagic,
    /// A version this build does not read.
    #[error("unsupported .dpk version {0} (this build reads version {VERSION})")]
    UnsupportedVersion(u16),
    /// Neither commit slot nor a footer is valid.
    #[error("no committed index: the archive was never completed, or its header is damaged")]
    NoCommit,
    /// A structure is malformed.
    #[error("corrupt archive: {what} at offset {offset}: {reason}")]
    Corrupt { what: &'static str, offset: u64, reason: String },
    /// A chunk's stored bytes do not match the CRC-32 in the index.
    #[error("entry {entry:?} chunk {chunk} at offset {offset}: CRC-32 mismatch (stored {stored:08x}, computed {computed:08x})")]
    ChunkChecksum { entry: String, chunk: u64, offset: u64, stored: u32, computed: u32 },
    /// A chunk does not decode to its original size.
    #[error("entry {entry:?} chunk {chunk} at offset {offset}: {reason}")]
    ChunkDecode { entry: String, chunk: u64, offset: u64, reason: String },
    /// An entry's digest over its original bytes does not match.
    #[error("entry {entry:?}: {algo} digest mismatch (stored {stored}, computed {computed})")]
    DigestMismatch { entry: String, algo: daspack_checksum::Checksum, stored: String, computed: String },
    /// No entry has this name.
    #[error("no entry named {0:?} in the archive")]
    NotFound(String),
    /// A request outside an entry.
    #[error("out of range: {0}")]
    OutOfRange(String),
    /// Invalid writer or append options, or input that cannot be stored as asked.
    #[error("invalid input: {0}")]
    Invalid(String),
}

/// Result with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn corrupt(what: &'static str, offset: u64, reason: impl Into<String>) -> Error {
    Error::Corrupt { what, offset, reason: reason.into() }
}
