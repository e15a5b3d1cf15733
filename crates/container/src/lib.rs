//! Containers: the native .dpk format and Bloscpack v3 (.blp).
//!
//! [`blp`] reads, writes and appends to Bloscpack v3 files (the format of the Python `bloscpack` 0.16 package) and
//! holds the Blosc1 chunk codec they are made of. [`dpk`] is the native archive format: named entries (files, `.npy`
//! arrays coded with the DAS codec, directories), chunked, indexed for parallel and random access, crash-safe append.
#![forbid(unsafe_code)]

pub mod blp;
pub mod dpk;
mod pipeline;
