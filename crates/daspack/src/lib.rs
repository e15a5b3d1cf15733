//! daspack facade: arrays, .npy files and every codec behind one API.
#![forbid(unsafe_code)]
