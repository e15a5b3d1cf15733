//! Bounds-checked MSB-first and LSB-first bit readers and writers.
#![forbid(unsafe_code)]
