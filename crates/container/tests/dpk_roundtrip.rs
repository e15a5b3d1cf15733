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
    // The full product codec x filter x checksum, on plain bytes and on an int32 `.npy` array (where `das` is the
    // DAS codec; on plain bytes it falls back to zstd with the filters).
    let data = sample(20_001);
    let body: Vec<u8> = (0..100 * 50).flat_map(|i: i32| ((i * 7919) % 2001 - 1000).to_le_bytes()).collect();
    let array = npy("<i4", false, "(100, 50)", &body);
    for codec in ChunkCodec::ALL {
        for filters in ["none", "delta", "shuffle", "bitshuffle"] {
            for checksum in Checksum::ALL {
                let opts = EntryOptions {
                    codec,
                    level: codec.default_level(),
                    filters: Filters::from_names(filters).unwrap(),
                    typesize: Some(4),
                    chunk_size: 4096,
                    das_chunk_size: 4000,
                    checksum,
                    ..Default::default()
                };
                for (input, is_npy) in [(&data, false), (&array, true)] {
                    let what = format!("{codec:?} {filters} {checksum} npy={is_npy}");
                    let archive = write_one(input, &opts, is_npy);
                    assert_eq!(&read_back(&archive), input, "{what}");
                    let a = Archive::open(&archive[..]).unwrap();
                    let e = a.entry("x").unwrap();
                    assert_eq!(e.checksum, checksum, "{what}");
                    let expect_digest = checksum.digest(if is_npy { &body } else { &data[..] }).to_vec();
                    assert_eq!(e.digest, expect_digest, "{what}");
                    assert!(e.chunks.len() >= 5, "{what}: {} chunks", e.chunks.len());
                    if codec == ChunkCodec::Das && is_npy {
                        assert_eq!((e.codec, e.filters), (ChunkCodec::Das, Filters::NONE), "{what}");
                    } else if codec == ChunkCodec::Das {
                        assert_eq!(e.codec, ChunkCodec::Zstd, "{what}");
                    } else {
                        assert_eq!((e.codec, e.filters.names().as_str()), (codec, filters), "{what}");
                    }
                    // One thread (no pool) reads the same bytes as the parallel pipeline.
                    let mut one = Vec::new();
                    a.extract(e, &mut one, 1).unwrap();
                    assert_eq!(one.len() as u64, e.size, "{what}");
                }
            }
        }
    }
    // Filter combinations and element sizes.
    for codec in [ChunkCodec::Stored, ChunkCodec::Zstd, ChunkCodec::Lz4, ChunkCodec::Deflate] {
        for filters in ["delta,shuffle", "delta,bitshuffle"] {
            for typesize in [1u8, 2, 8] {
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
}

#[test]
fn archives_do_not_depend_on_the_thread_count_and_the_pipeline_keeps_order() {
    let data = sample(1_000_003);
    let opts = EntryOptions { chunk_size: 7_777, checksum: Checksum::Sha256, ..Default::default() };
    let write = |threads: usize| {
        let mut w = Writer::new(Cursor::new(Vec::new()), threads).unwrap();
        w.add_reader("x", &data[..], &opts).unwrap();
        w.add_reader("y", &data[..5000], &opts).unwrap();
        w.finish().unwrap().into_inner()
    };
    let one = write(1);
    for threads in [2, 3, 8] {
        assert!(write(threads) == one, "{threads} threads wrote a different archive");
    }
    let a = Archive::open(&one[..]).unwrap();
    let e = a.entry("x").unwrap();
    assert_eq!(e.chunks.len(), 129);
    let dir = tempfile::tempdir().unwrap();
    for threads in [1, 2, 3, 7, 0] {
        let mut out = Vec::new();
        a.extract(e, &mut out, threads).unwrap();
        assert!(out == data, "extract, {threads} threads");
        let path = dir.path().join(format!("o{threads}"));
        let f = std::fs::File::create(&path).unwrap();
        a.extract_to_file(e, &f, 3, threads).unwrap();
        drop(f);
        let back = std::fs::read(&path).unwrap();
        assert!(back[3..] == data[..], "extract_to_file, {threads} threads");
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
fn constant_arrays_in_the_largest_chunks_read_back() {
    // 32 MiB of zeros in one chunk: two tiles of 2^22 samples, a DAS stream of a few hundred bytes (an expansion
    // of about 95000, above the 65536 the reader once allowed: the writer made archives it then refused).
    let body = vec![0u8; 8192 * 1024 * 4];
    let file = npy("<i4", false, "(8192, 1024)", &body);
    let opts = EntryOptions { codec: ChunkCodec::Das, das_chunk_size: 1 << 30, ..Default::default() };
    let archive = write_one(&file, &opts, true);
    assert!(archive.len() < 2000, "{} bytes", archive.len());
    assert_eq!(read_back(&archive), file);
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
fn row_and_element_ranges_decode_only_the_chunks_that_hold_them() {
    let vals: Vec<i32> = (0..1000 * 5).map(|i| (i * 31 % 977) - 400).collect();
    let body: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
    let file = npy("<i4", false, "(1000, 5)", &body);
    // 100 rows of 20 bytes per chunk: 10 chunks.
    let opts = EntryOptions { codec: ChunkCodec::Das, das_chunk_size: 2000, ..Default::default() };
    let archive = write_one(&file, &opts, true);
    let a = Archive::open(&archive[..]).unwrap();
    let e = a.entry("x").unwrap().clone();
    assert_eq!(e.chunks.len(), 10);
    assert_eq!(a.chunks_for_range(&e, 250 * 20, 170 * 20), 2..5);
    // Damage every chunk but 2, 3 and 4: rows 250..420 and the elements inside them still read.
    let mut bad = archive.clone();
    for (i, c) in e.chunks.iter().enumerate() {
        if !(2..5).contains(&i) {
            bad[c.offset as usize + c.stored_len as usize / 2] ^= 0x20;
        }
    }
    let b = Archive::open(&bad[..]).unwrap();
    let be = b.entry("x").unwrap();
    assert_eq!(b.read_rows(be, 250, 420).unwrap(), &body[250 * 20..420 * 20]);
    assert_eq!(b.read_rows(be, 200, 500).unwrap(), &body[200 * 20..500 * 20]);
    assert_eq!(b.read_elements(be, 1001, 2499).unwrap(), &body[1001 * 4..2499 * 4]);
    assert_eq!(b.read_chunk(be, 3).unwrap(), &body[6000..8000]);
    // One row more on either side needs a damaged chunk, and the error names it.
    let msg = b.read_rows(be, 199, 420).unwrap_err().to_string();
    assert!(msg.contains("chunk 1") && msg.contains("CRC-32"), "{msg}");
    let msg = b.read_elements(be, 1000, 2501).unwrap_err().to_string();
    assert!(msg.contains("chunk 5"), "{msg}");
    assert!(b.verify_entry(be, 2).is_err());
    // Element ranges on the intact archive, at every chunk boundary.
    for (i0, i1) in [(0u64, 1u64), (499, 501), (0, 5000), (4999, 5000), (2500, 2500)] {
        assert_eq!(a.read_elements(&e, i0, i1).unwrap(), &body[i0 as usize * 4..i1 as usize * 4]);
    }
    assert!(a.read_elements(&e, 10, 5001).is_err());
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
