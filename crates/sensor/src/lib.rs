//! Prefix-code codec (protocol v0.2) for slow 12-bit sensors; no_std, no allocation.
#![forbid(unsafe_code)]
