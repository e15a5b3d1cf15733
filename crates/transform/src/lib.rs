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
#![forbid(unsafe_code)]

extern crate alloc;

pub mod lpc;
pub mod mean;
pub mod wavelet;

pub use lpc::{Predictor, Tap};
