//! Helpers shared by the Bloscpack integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The golden Bloscpack files written by the real Python bloscpack 0.16 (outside the repository).
pub const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/golden/bloscpack");

/// The golden directory, or `None` (after printing a note) when it is absent.
pub fn golden_dir() -> Option<PathBuf> {
    let p = PathBuf::from(GOLDEN);
    if p.join("manifest.json").is_file() {
        Some(p)
    } else {
        eprintln!("note: {GOLDEN} is absent; skipping the golden Bloscpack tests");
        None
    }
}

pub fn read(dir: &std::path::Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The data region of a `.npy` file (format 1.0/2.0/3.0 header parsed by hand).
pub fn npy_data(npy: &[u8]) -> &[u8] {
    assert_eq!(&npy[..6], b"\x93NUMPY", "not a .npy file");
    let (len, start) = match npy[6] {
        1 => (u16::from_le_bytes([npy[8], npy[9]]) as usize, 10),
        2 | 3 => (u32::from_le_bytes([npy[8], npy[9], npy[10], npy[11]]) as usize, 12),
        v => panic!("npy version {v}"),
    };
    &npy[start + len..]
}

/// The bytes a golden `.blp` file decodes to, per the golden README's table.
pub fn expected_input(dir: &std::path::Path, blp: &str) -> Vec<u8> {
    let npy = |n: &str| npy_data(&read(dir, n)).to_vec();
    let stem = blp.trim_end_matches(".blp");
    if stem == "cli_appended_arange_i8_160k_plus_tail100" {
        let mut v = npy("arange_i8_160k.npy");
        v.extend(read(dir, "append_tail_i8_100.bin"));
        return v;
    }
    if stem == "cli_appended_chunk256K_crc32_meta_raw_160k_plus_1MiB" {
        let mut v = npy("arange_i8_160k.npy");
        v.extend(npy("arange_i8_1MiB.npy"));
        return v;
    }
    if stem.ends_with("arange_i8_1MiB") {
        return npy("arange_i8_1MiB.npy");
    }
    if stem.ends_with("arange_i8_160k") {
        return npy("arange_i8_160k.npy");
    }
    if stem.ends_with("arange_i8_4096") {
        return npy("arange_i8_4096.npy");
    }
    if stem == "cli_default_tiny_100B" {
        return read(dir, "tiny_100B.bin");
    }
    if stem == "cli_default_empty" {
        return read(dir, "empty.bin");
    }
    if stem.ends_with("linspace_f8_100k") {
        return npy("linspace_f8_100k.npy");
    }
    if stem == "np_fortran_f4_3x4x5" {
        return npy("fortran_f4_3x4x5.npy");
    }
    if stem == "np_struct_50" {
        return npy("struct_50.npy");
    }
    if stem == "np_zstd_bitshuffle_clevel5_u2_70000" {
        return npy("u2_70000.npy");
    }
    panic!("no expected input known for {blp}");
}

/// The `.npy` file a `np_*` golden file was packed from.
pub fn npy_source(blp: &str) -> Option<&'static str> {
    Some(match blp.trim_end_matches(".blp") {
        "np_default_arange_i8_1MiB" => "arange_i8_1MiB.npy",
        "np_default_linspace_f8_100k" | "np_chunk256K_sha256_linspace_f8_100k" => "linspace_f8_100k.npy",
        "np_fortran_f4_3x4x5" => "fortran_f4_3x4x5.npy",
        "np_struct_50" => "struct_50.npy",
        "np_zstd_bitshuffle_clevel5_u2_70000" => "u2_70000.npy",
        _ => return None,
    })
}

/// A small deterministic generator (xorshift64*), so tests need no RNG crate.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Sample data that compresses like real arrays: a slow ramp with noise in the low bytes.
pub fn sample(n: usize, seed: u64) -> Vec<u8> {
    let mut r = Rng(seed | 1);
    let mut v = Vec::with_capacity(n);
    let mut x: i64 = 0;
    while v.len() < n {
        x += (r.below(7) as i64) - 3;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(n);
    v
}
