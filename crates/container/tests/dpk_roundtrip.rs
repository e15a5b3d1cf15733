//! `.dpk` round trips: every codec, filter and checksum; arrays of every dtype (empty, 1-D, 0-d, Fortran order);
//! streamed archives; random access; positional extraction; several entries.

use daspack_checksum::Checksum;
use daspack_container::dpk::{Archive, ChunkCodec, EntryKind, EntryOptions, Filters, Writer};
use std::io::Cursor;

fn sample(len: usize) -> Vec<u8> {
    // A slow walk of u32 plus noise: compressible, and different under every filter.
    let mut v = 0u32;
    (0..len.div_ceil(4))
        .flat_map(|i| {
            v = v.wrapping_add((i as u32).wrapping_mul(2654435761) >> 29);
            v.to_le_bytes()
        })
        .take(len)
        .collect()
}

fn npy(descr: &str, fortran: bool, shape: &str, body: &[u8]) -> Vec<u8> {
    let order = if fortran { "True" } else { "False" };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(header.len() as u16).to_le_bytes());
    b.extend_from_slice(header.as_bytes());
    b.extend_from_slice(body);
    b
}

fn write_one(data: &[u8], opts: &EntryOptions, npy_input: bool) -> Vec<u8> {
    let mut w = Writer::new(Cursor::new(Vec::new()), 2).unwrap();
    if npy_input {
        w.add_npy("x", data, data.len() as u64, opts).unwrap();
    } else {
        w.add_reader("x", data, opts).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// The whole original file of entry `x`: the `.npy` preamble for arrays, then the bytes.
fn read_back(archive: &[u8]) -> Vec<u8> {
    let a = Archive::open(archive).unwrap();
    let e = a.entry("x").unwrap();
    a.verify_entry(e, 2).unwrap();
    let mut out = if e.kind == EntryKind::Array { a.npy_info(e).unwrap().preamble() } else { Vec::new() };
    a.extract(e, &mut out, 3).unwrap();
    out
}

#[test]
fn every_codec_filter_and_checksum_round_trips_byte_exact() {
    let data = sample(70_001);
    for codec in [ChunkCodec::Stored, ChunkCodec::Zstd, ChunkCodec::Lz4, ChunkCodec::Deflate, ChunkCodec::Das] {
        for filters in ["none", "shuffle", "bitshuffle", "delta", "delta,shuffle", "delta,bitshuffle"] {
            for typesize in [1u8, 4] {
                let opts = EntryOptions {
                    codec,
                    level: codec.default_level(),
                    filters: Filters::from_names(filters).unwrap(),
                    typesize: Some(typesize),
                    chunk_size: 16_384,
                    ..Default::default()
                };
                let archive = write_one(&data, &opts, false);
                assert_eq!(read_back(&archive), data, "{codec:?} {filters} ts {typesize}");
            }
        }
    }
    for checksum in Checksum::ALL {
        let opts = EntryOptions { checksum, chunk_size: 10_000, ..Default::default() };
        let archive = write_one(&data, &opts, false);
        assert_eq!(read_back(&archive), data, "{checksum}");
        let a = Archive::open(&archive[..]).unwrap();
        assert_eq!(a.entry("x").unwrap().digest, checksum.digest(&data).to_vec());
    }
}

#[test]
fn arrays_of_every_dtype_shape_and_order_restore_the_identical_npy() {
    let cases: Vec<(&str, usize, bool, &str)> = vec![
        ("<i2", 2, false, "(300, 7)"),
        ("<u2", 2, false, "(300, 7)"),
        ("<i4", 4, false, "(300, 7)"),
        ("<f4", 4, false, "(300, 7)"),
        ("<f8", 8, false, "(300, 7)"),
        ("<i4", 4, true, "(300, 7)"),
        ("<f8", 8, true, "(12, 5, 3)"),
        ("<i2", 2, false, "(2100,)"),
        ("<i4", 4, false, "(0, 4)"),
        ("<f4", 4, false, "(5, 0)"),
        ("<f8", 8, false, "()"),
        ("|u1", 1, false, "(300, 7)"),
        ("<i8", 8, false, "(300, 7)"),
        ("<c16", 16, false, "(10, 7)"),
        ("<U3", 12, false, "(4, 7)"),
        (">i4", 4, false, "(300, 7)"),
        ("|b1", 1, false, "(30,)"),
    ];
    for (descr, size, fortran, shape) in cases {
        let n: usize = shape
            .trim_matches(['(', ')'])
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().parse::<usize>().unwrap())
            .product();
        let mut body = sample(n * size);
        if descr.contains('f') {
            // Finite floats: small integers scaled, as DAS data often are.
            body = (0..n)
                .flat_map(|i| {
                    let x = ((i * 37) % 101) as f64 * 0.25 - 12.0;
                    if size == 4 {
                        (x as f32).to_le_bytes().to_vec()
                    } else {
                        x.to_le_bytes().to_vec()
                    }
                })
                .collect();
        }
        let file = npy(descr, fortran, shape, &body);
        for codec in [ChunkCodec::Das, ChunkCodec::Zstd] {
            let opts = EntryOptions { codec, chunk_size: 1000, das_chunk_size: 1000, ..Default::default() };
            let archive = write_one(&file, &opts, true);
            assert_eq!(read_back(&archive), file, "{descr} {shape} fortran={fortran} {codec:?}");
            let a = Archive::open(&archive[..]).unwrap();
            let e = a.entry("x").unwrap();
            assert_eq!(e.kind, EntryKind::Array);
            let das_type = matches!(descr, "<i2" | "<u2" | "<i4" | "<f4" | "<f8");
            let expect = if codec == ChunkCodec::Das && das_type && n > 0 { ChunkCodec::Das } else { e.codec };
            assert_eq!(e.codec, expect, "{descr}");
        }
    }
}

#[test]
fn fixed_accuracy_arrays_verify_and_stay_within_the_bound() {
    let vals: Vec<i32> = (0..4000).map(|i| (i * 7919 % 2000) - 1000).collect();
    let body: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
    let file = npy("<i4", false, "(500, 8)", &body);
    let mut opts = EntryOptions { codec: ChunkCodec::Das, das_chunk_size: 4096, ..Default::default() };
    opts.das.abs_error = 3.0;
    let archive = write_one(&file, &opts, true);
    let back = read_back(&archive);
    let back = &back[back.len() - body.len()..];
    for (x, y) in vals.iter().zip(back.chunks_exact(4)) {
        let y = i32::from_le_bytes(y.try_into().unwrap());
        assert!((x - y).abs() <= 3, "{x} vs {y}");
    }
}

#[test]
fn streamed_archives_read_through_the_footer() {
    let data = sample(50_000);
    let mut w = Writer::new(Vec::new(), 1).unwrap();
    w.add_reader("x", &data[..], &EntryOptions { chunk_size: 7000, ..Default::default() }).unwrap();
    let archive = w.finish_stream().unwrap();
    let a = Archive::open(&archive[..]).unwrap();
    assert_eq!(a.commit().1, None);
    assert_eq!(read_back(&archive), data);
}

#[test]
fn random_access_reads_chunks_byte_ranges_and_rows() {
    let vals: Vec<i16> = (0..1000 * 6).map(|i| (i % 313) as i16 - 150).collect();
    let body: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
    let file = npy("<i2", false, "(1000, 6)", &body);
    let opts = EntryOptions { codec: ChunkCodec::Das, das_chunk_size: 1200, ..Default::default() };
    let archive = write_one(&file, &opts, true);
    let a = Archive::open(&archive[..]).unwrap();
    let e = a.entry("x").unwrap();
    assert_eq!(e.chunks.len(), 10); // 100 rows of 12 bytes per chunk
    assert_eq!(a.read_chunk(e, 3).unwrap(), &body[3600..4800]);
    for (start, len) in [(0u64, 1u64), (1199, 2), (5000, 4000), (0, 12000), (11999, 1), (7, 0)] {
        assert_eq!(a.read_range(e, start, len).unwrap(), &body[start as usize..(start + len) as usize]);
    }
    assert_eq!(a.read_rows(e, 250, 420).unwrap(), &body[250 * 12..420 * 12]);
    assert!(a.read_range(e, 11999, 2).is_err());
    assert!(a.read_rows(e, 10, 1001).is_err());
    assert!(a.read_chunk(e, 10).is_err());
}

#[test]
fn parallel_positional_extraction_matches_the_input() {
    let data = sample(300_000);
    let archive = write_one(&data, &EntryOptions { chunk_size: 9999, ..Default::default() }, false);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.bin");
    let f = std::fs::File::create(&path).unwrap();
    let a = Archive::open(&archive[..]).unwrap();
    a.extract_to_file(a.entry("x").unwrap(), &f, 0, 4).unwrap();
    drop(f);
    assert_eq!(std::fs::read(&path).unwrap(), data);
    // The same archive read from a file.
    let apath = dir.path().join("a.dpk");
    std::fs::write(&apath, &archive).unwrap();
    let a = Archive::open(std::fs::File::open(&apath).unwrap()).unwrap();
    let mut out = Vec::new();
    a.extract(a.entry("x").unwrap(), &mut out, 2).unwrap();
    assert_eq!(out, data);
}

#[test]
fn several_entries_each_extract_and_verify_alone() {
    let mut w = Writer::new(Cursor::new(Vec::new()), 2).unwrap();
    let files: Vec<(String, Vec<u8>)> =
        (0..6).map(|i| (format!("dir{}/f{i}.bin", i % 2), sample(i * 5000 + (i % 3)))).collect();
    for (name, data) in &files {
        w.add_reader(name, &data[..], &EntryOptions { chunk_size: 4096, ..Default::default() }).unwrap();
    }
    w.add_dir("empty/inner").unwrap();
    assert!(w.add_reader("dir0/f0.bin", &b""[..], &EntryOptions::default()).is_err(), "duplicate name");
    assert!(w.add_reader("../evil", &b""[..], &EntryOptions::default()).is_err(), "escaping name");
    let archive = w.finish().unwrap().into_inner();
    let a = Archive::open(&archive[..]).unwrap();
    assert_eq!(a.index().entries.len(), 7);
    for (name, data) in files.iter().rev() {
        let e = a.entry(name).unwrap();
        a.verify_entry(e, 1).unwrap();
        let mut out = Vec::new();
        a.extract(e, &mut out, 2).unwrap();
        assert_eq!(&out, data, "{name}");
    }
    assert_eq!(a.entry("empty/inner").unwrap().kind, EntryKind::Dir);
    assert!(a.entry("nope").is_err());
}
