//! daspack: compression for Distributed Acoustic Sensing and other sensor arrays.
//!
//! This facade gathers the codecs behind one API and adds what they leave to their users: `.npy` files,
//! synthetic DAS data for demos and tests, and one error type.
//!
//! ```
//! use daspack::{compress, decompress, ArrayRef, Params};
//! let data: Vec<i32> = (0..64 * 8).map(|i| (i % 17) as i32 - 8).collect();
//! let packed = compress(ArrayRef::I32(&data), 64, 8, &Params::default()).unwrap();
//! let (header, array) = decompress(&packed, 0).unwrap();
//! assert_eq!((header.rows, header.cols), (64, 8));
//! assert_eq!(array.as_ref().len(), data.len());
//! ```
#![forbid(unsafe_code)]

pub mod npy;

pub use daspack_checksum as checksum;
pub use daspack_container as container;
pub use daspack_sensor as sensor;
pub mod synth;

pub use daspack_codec::{
    compress, compress_bound, decompress, decompress_tile, float_exceptions, read_header, release_buffers, ArrayBuf,
    ArrayRef, CodecError, DType, Entropy, Header, Mode, Params,
};

/// Errors of the facade.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("not a usable .npy file: {0}")]
    Npy(String),
    #[error("{0}")]
    Codec(#[from] CodecError),
}
