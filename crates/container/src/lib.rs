//! Containers: the native .dpk format and Bloscpack v3 (.blp).
//!
//! [`blp`] reads, writes and appends to Bloscpack v3 files (the format of the Python `bloscpack` 0.16 package) and
//! holds the Blosc1 chunk codec they are made of.
#![forbid(unsafe_code)]

pub mod blp;
