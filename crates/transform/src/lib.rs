//! Exactly invertible integer transforms for 2-D sensor arrays (time x channel, row-major, one row per time
//! sample):
//! - [`wavelet`]: the reversible 5/3 lifting wavelet (JPEG 2000's), in 1-D and over `lt` levels in time and `lx`
//!   levels in space, for any size including odd and tiny ones;
//! - [`lpc`]: linear prediction from a causal neighbourhood (previous time samples of the same channel, previous
//!   channels of the same time sample, and cross terms), coefficients fitted by least squares in floating point,
//!   quantised, and applied in integer arithmetic so encoder and decoder agree bit for bit on every platform;
//! - [`mean`]: optional mean removal.
//!
//! All transforms work on `i64` samples so that int32 input with wavelet growth never overflows.
#![no_std]
// Unsafe code is limited to `simd` (calling an AVX2 build of a loop after checking the CPU has AVX2).
#![deny(unsafe_code)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod lpc;
pub mod mean;
mod simd;
pub mod wavelet;

pub use lpc::{Predictor, Tap};
