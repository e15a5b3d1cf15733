//! Hostile input: truncations, byte flips and absurd sizes give errors, never panics or huge allocations.

mod common;

use daspack_checksum::Checksum;
use daspack_container::blp::{self, blosc, BlpOptions, Codec, CompressParams, Error, Shuffle};
use proptest::prelude::*;
use serde_json::json;

fn write(data: &[u8], opts: &BlpOptions) -> Vec<u8> {
    let mut out = Vec::new();
    blp::write(&mut out, data, opts).unwrap();
    out
}

/// Small files covering every section: metadata (zlib and raw), offsets, several chunks, each codec.
fn corpus() -> Vec<(String, Vec<u8>)> {
    let mut v = Vec::new();
    if let Some(dir) = common::golden_dir() {
        for name in [
            "cli_default_tiny_100B.blp",
            "cli_default_empty.blp",
            "np_fortran_f4_3x4x5.blp",
            "np_struct_50.blp",
            "np_zstd_bitshuffle_clevel5_u2_70000.blp",
            "cli_codec_zstd_arange_i8_160k.blp",
        ] {
            v.push((name.to_string(), common::read(&dir, name)));
        }
    }
    let data = common::sample(3000, 4);
    for codec in Codec::WRITABLE {
        for checksum in [Checksum::None, Checksum::Crc32] {
            let opts = BlpOptions {
                blosc: CompressParams { codec, clevel: 5, typesize: 4, shuffle: Shuffle::Byte, blocksize: Some(512) },
                chunk_size: 1000,
                checksum,
                metadata: Some(json!({"codec": codec.name()})),
                ..Default::default()
            };
            v.push((format!("ours-{codec}-{checksum}"), write(&data, &opts)));
        }
    }
    v
}

#[test]
fn every_truncation_is_an_error() {
    for (name, bytes) in corpus() {
        assert!(blp::read(&bytes).is_ok(), "{name}");
        let step = if bytes.len() > 4000 { 7 } else { 1 };
        for cut in (0..bytes.len()).step_by(step) {
            let part = &bytes[..cut];
            assert!(blp::read(part).is_err(), "{name} cut at {cut} decoded");
            assert!(blp::info(part).is_err(), "{name} cut at {cut}: info ok");
        }
    }
}

#[test]
fn random_byte_flips_never_panic() {
    let mut rng = common::Rng(0x1234_5678_9abc_def1);
    let mut errors = 0usize;
    let mut total = 0usize;
    for (_name, bytes) in corpus() {
        for _ in 0..1500 {
            let mut b = bytes.clone();
            let flips = 1 + rng.below(4);
            for _ in 0..flips {
                let i = rng.below(b.len() as u64) as usize;
                b[i] ^= 1 << rng.below(8);
            }
            total += 1;
            match blp::read(&b) {
                Ok(f) => {
                    // Only possible when the flip hit something unchecked (padding, unused offsets, a digest-free
                    // chunk whose data still decodes); the size promised by the header still holds.
                    assert_eq!(f.data.len() as u64, f.header.data_size().unwrap());
                }
                Err(_) => errors += 1,
            }
            let _ = blp::info(&b);
        }
    }
    assert!(errors > total / 2, "{errors} errors of {total}");
}

#[test]
fn chunk_byte_flips_never_panic() {
    // Straight at the chunk decoder, without checksums in the way.
    let mut rng = common::Rng(42);
    let data = common::sample(20_000, 8);
    for codec in Codec::WRITABLE {
        for shuffle in [Shuffle::None, Shuffle::Byte, Shuffle::Bit] {
            let p = CompressParams { codec, clevel: 6, typesize: 8, shuffle, blocksize: Some(4096) };
            let chunk = blosc::compress(&data, &p).unwrap();
            for _ in 0..1000 {
                let mut b = chunk.clone();
                for _ in 0..1 + rng.below(3) {
                    let i = rng.below(b.len() as u64) as usize;
                    b[i] = rng.next() as u8;
                }
                if let Ok(out) = blosc::decompress(&b) {
                    let h = blosc::ChunkHeader::parse(&b).unwrap();
                    assert_eq!(out.len(), h.nbytes as usize);
                }
            }
        }
    }
}

fn patch(bytes: &[u8], at: usize, with: &[u8]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[at..at + with.len()].copy_from_slice(with);
    b
}

#[test]
fn absurd_sizes_are_errors() {
    let data = common::sample(10_000, 2);
    let file = write(&data, &BlpOptions { metadata: Some(json!({"a": [1, 2, 3]})), ..Default::default() });
    let info = blp::info(&file).unwrap();
    let meta_at = info.metadata_pos.unwrap() as usize;
    // Chunk fields are patched in a file without checksums, so that the Blosc header checks are reached.
    let plain = write(&data, &BlpOptions { checksum: Checksum::None, ..Default::default() });
    let chunk_at = blp::info(&plain).unwrap().chunks[0].offset as usize;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("magic", patch(&file, 0, b"BLPK")),
        ("version", patch(&file, 4, &[2])),
        ("options", patch(&file, 5, &[0x87])),
        ("checksum id", patch(&file, 6, &[9])),
        ("chunk_size < 0", patch(&file, 8, &(-1i32).to_le_bytes())),
        ("last_chunk > chunk_size", patch(&file, 12, &i32::MAX.to_le_bytes())),
        ("nchunks huge", patch(&file, 16, &(i64::MAX / 2).to_le_bytes())),
        ("nchunks < 0", patch(&file, 16, &(-1i64).to_le_bytes())),
        ("max_app huge", patch(&file, 24, &(i64::MAX / 2).to_le_bytes())),
        ("max_app overflow", patch(&file, 24, &i64::MAX.to_le_bytes())),
        ("meta magic", patch(&file, meta_at, b"YAML")),
        ("meta codec", patch(&file, meta_at + 10, &[7])),
        ("meta checksum id", patch(&file, meta_at + 9, &[200])),
        ("meta_size huge", patch(&file, meta_at + 12, &u32::MAX.to_le_bytes())),
        ("max_meta_size huge", patch(&file, meta_at + 16, &u32::MAX.to_le_bytes())),
        ("meta_comp_size huge", patch(&file, meta_at + 20, &u32::MAX.to_le_bytes())),
        ("chunk cbytes huge", patch(&plain, chunk_at + 12, &u32::MAX.to_le_bytes())),
        ("chunk cbytes tiny", patch(&plain, chunk_at + 12, &3u32.to_le_bytes())),
        ("chunk nbytes huge", patch(&plain, chunk_at + 4, &(i32::MAX as u32).to_le_bytes())),
        ("chunk blocksize 0", patch(&plain, chunk_at + 8, &0u32.to_le_bytes())),
        ("chunk version", patch(&plain, chunk_at, &[9])),
        ("chunk codec", patch(&plain, chunk_at + 2, &[0xe1])),
        ("chunk versionlz", patch(&plain, chunk_at + 1, &[3])),
        ("chunk typesize 0", patch(&plain, chunk_at + 3, &[0])),
        ("chunk first bstart", patch(&plain, chunk_at + 16, &(-7i32).to_le_bytes())),
    ];
    for (what, b) in cases {
        let r = blp::read(&b);
        assert!(r.is_err(), "{what}: decoded");
        eprintln!("{what}: {}", r.unwrap_err());
    }
    // A chunk claiming 2 GiB from 40 bytes is refused before allocating.
    let mut chunk = blosc::compress(&[0u8; 4096], &CompressParams::default()).unwrap();
    chunk[4..8].copy_from_slice(&(i32::MAX as u32 - 16).to_le_bytes());
    chunk[8..12].copy_from_slice(&(i32::MAX as u32 - 16).to_le_bytes());
    assert!(matches!(blosc::decompress(&chunk), Err(blosc::BloscError::ImplausibleRatio { .. })));
    // A memcpyed chunk must hold its bytes.
    let mut m = blosc::compress(&[5u8; 50], &CompressParams::default()).unwrap();
    m[4..8].copy_from_slice(&1000u32.to_le_bytes());
    assert!(blosc::decompress(&m).is_err());
    // Checksum mismatches name the chunk and offset.
    let chunk_at = info.chunks[0].offset as usize;
    let mut b = file.clone();
    b[chunk_at + 20] ^= 1;
    match blp::read(&b) {
        Err(Error::ChecksumMismatch { what, offset, .. }) => {
            assert_eq!(what, "chunk 0");
            assert_eq!(offset, chunk_at as u64 + u64::from(info.chunks[0].header.cbytes));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn non_increasing_block_starts_decode() {
    // c-blosc with several threads writes blocks in completion order: swap two blocks and their bstarts.
    let data = common::sample(40_000, 6);
    let p = CompressParams { blocksize: Some(8192), ..Default::default() };
    let chunk = blosc::compress(&data, &p).unwrap();
    let h = blosc::ChunkHeader::parse(&chunk).unwrap();
    let nb = h.nblocks() as usize;
    let starts: Vec<usize> =
        (0..nb).map(|j| u32::from_le_bytes(chunk[16 + 4 * j..20 + 4 * j].try_into().unwrap()) as usize).collect();
    let mut ends = starts[1..].to_vec();
    ends.push(chunk.len());
    // Rebuild with the blocks in reverse order.
    let mut out = chunk[..16 + 4 * nb].to_vec();
    for j in (0..nb).rev() {
        let pos = out.len() as u32;
        out[16 + 4 * j..20 + 4 * j].copy_from_slice(&pos.to_le_bytes());
        out.extend_from_slice(&chunk[starts[j]..ends[j]]);
    }
    assert_eq!(blosc::decompress(&out).unwrap(), data);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = blp::read(&bytes);
        let _ = blp::info(&bytes);
        let _ = blosc::decompress(&bytes);
        let mut out = vec![0u8; 256];
        let _ = blp::blosclz::decompress(&bytes, &mut out);
    }

    #[test]
    fn arbitrary_bytes_after_a_valid_header_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut b = b"blpk\x03\x01\x00\x08".to_vec();
        b.extend_from_slice(&100i32.to_le_bytes());
        b.extend_from_slice(&100i32.to_le_bytes());
        b.extend_from_slice(&1i64.to_le_bytes());
        b.extend_from_slice(&2i64.to_le_bytes());
        b.extend_from_slice(&tail);
        prop_assert!(blp::read(&b).is_err() || tail.len() >= 24 + 16);
    }

    #[test]
    fn round_trip_arbitrary(
        data in proptest::collection::vec(any::<u8>(), 0..5000),
        chunk_size in 1usize..3000,
        codec in prop::sample::select(Codec::WRITABLE.to_vec()),
        shuffle in prop::sample::select(vec![Shuffle::None, Shuffle::Byte, Shuffle::Bit]),
        typesize in 1u8..20,
        clevel in 0u8..10,
        checksum in prop::sample::select(Checksum::BLOSCPACK.to_vec()),
        offsets in any::<bool>(),
    ) {
        let opts = BlpOptions {
            blosc: CompressParams { codec, clevel, typesize, shuffle, blocksize: None },
            chunk_size, checksum, offsets, ..Default::default()
        };
        let f = blp::read(&write(&data, &opts)).unwrap();
        prop_assert_eq!(f.data, data);
    }

    #[test]
    fn blosclz_round_trip(data in proptest::collection::vec(0u8..4, 0..20_000), clevel in 1u8..10) {
        let mut enc = blp::blosclz::Encoder::new();
        let mut out = Vec::new();
        if enc.compress(&data, clevel, usize::MAX, &mut out).is_some() {
            let mut back = vec![0u8; data.len()];
            blp::blosclz::decompress(&out, &mut back).unwrap();
            prop_assert_eq!(back, data);
        }
    }
}
