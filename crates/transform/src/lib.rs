//! Exactly invertible integer transforms: 5/3 lifting wavelet, integer LPC, mean removal.
#![forbid(unsafe_code)]
