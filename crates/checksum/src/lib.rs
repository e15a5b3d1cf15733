//! Checksums behind one type: Bloscpack's ids plus xxh64 and blake3.
#![forbid(unsafe_code)]
