//! Entropy coding for the DAS codec.
//!
//! - [`rc`]: an adaptive binary range coder (LZMA-style carry handling, 15-bit probabilities that mix a fast and a
//!   slow adapting estimate) whose decoder never panics and never reads outside its input;
//! - [`raw`]: a little-endian bit stream for the low-order bits of residuals, which carry no exploitable structure
//!   and would only cost time in the range coder;
//! - [`residual`]: the context model of prediction residuals (magnitude class, sign, top mantissa bit) shared by
//!   the encoder and decoder.
//!
//! The exact model is documented in `docs/format.md` of the repository.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod bytes;
pub mod rans;
pub mod raw;
pub mod rc;
pub mod residual;
mod varint;

pub use raw::{RawReader, RawWriter};
pub use rc::{Prob, RangeDecoder, RangeEncoder};
pub use residual::{ResidualModel, MAX_CONTEXTS};
