//! Round trips through our writer and reader for every codec x checksum x shuffle x offsets, plus appends.

mod common;

use daspack_checksum::Checksum;
use daspack_container::blp::{
    self, AppendOptions, BlpOptions, Codec, CompressParams, Error, MetaCodec, MetaOptions, Shuffle,
};
use serde_json::json;
use std::io::Cursor;

fn write(data: &[u8], opts: &BlpOptions) -> Vec<u8> {
    let mut out = Vec::new();
    blp::write(&mut out, data, opts).unwrap();
    out
}

#[test]
fn every_codec_checksum_shuffle_offsets() {
    let data = common::sample(150_003, 7);
    let mut combos = 0;
    for codec in Codec::WRITABLE {
        for checksum in Checksum::BLOSCPACK {
            for shuffle in [Shuffle::None, Shuffle::Byte, Shuffle::Bit] {
                for offsets in [false, true] {
                    let opts = BlpOptions {
                        blosc: CompressParams { codec, clevel: 5, typesize: 8, shuffle, blocksize: None },
                        chunk_size: 40_000,
                        checksum,
                        offsets,
                        metadata: offsets.then(|| json!({"codec": codec.name(), "n": 1})),
                        ..Default::default()
                    };
                    let bytes = write(&data, &opts);
                    let f = blp::read(&bytes).unwrap_or_else(|e| panic!("{opts:?}: {e}"));
                    assert!(f.data == data, "{opts:?}");
                    assert_eq!(f.header.checksum, checksum);
                    assert_eq!(f.header.nchunks, 4);
                    assert_eq!(f.header.max_app_chunks, if offsets { 40 } else { 0 });
                    assert_eq!(f.metadata, opts.metadata);
                    let info = blp::info(&bytes).unwrap();
                    assert!(info.offsets_consistent && info.trailing_bytes == 0);
                    assert!(info.chunks.iter().all(|c| c.header.codec_code() == codec.format_code()));
                    // The streaming writer produces the same bytes.
                    let mut cur = Cursor::new(Vec::new());
                    let n = blp::write_stream(&data[..], data.len() as u64, &mut cur, &opts).unwrap();
                    assert_eq!(n as usize, bytes.len());
                    assert!(cur.into_inner() == bytes, "{opts:?}");
                    combos += 1;
                }
            }
        }
    }
    assert_eq!(combos, 5 * 9 * 3 * 2);
}

#[test]
fn chunk_sizes_typesizes_and_levels() {
    for (n, chunk_size) in [(0usize, 1000usize), (1, 1), (127, 1000), (128, 128), (1000, 999), (100_000, 7_777)] {
        let data = common::sample(n, n as u64 + 3);
        for typesize in [1u8, 2, 3, 4, 8, 16, 17, 255] {
            for clevel in [0u8, 1, 9] {
                let opts = BlpOptions {
                    blosc: CompressParams { clevel, typesize, ..Default::default() },
                    chunk_size,
                    ..Default::default()
                };
                let f = blp::read(&write(&data, &opts)).unwrap();
                assert!(f.data == data, "n {n} cs {chunk_size} ts {typesize} clevel {clevel}");
                assert_eq!(f.header.typesize, typesize);
            }
        }
    }
}

#[test]
fn metadata_options() {
    let data = common::sample(5000, 1);
    let big = json!({"values": (0..300).collect::<Vec<_>>(), "name": "x"});
    for (meta, codec, checksum, max) in [
        (json!({"a": 1}), MetaCodec::Zlib, Checksum::Adler32, None),
        (big.clone(), MetaCodec::Zlib, Checksum::Sha256, None),
        (big.clone(), MetaCodec::None, Checksum::None, Some(5000)),
        (json!([1, 2, "é"]), MetaCodec::None, Checksum::Crc32, None),
    ] {
        let opts = BlpOptions {
            metadata: Some(meta.clone()),
            meta: MetaOptions { codec, level: 6, checksum, max_meta_size: max },
            ..Default::default()
        };
        let f = blp::read(&write(&data, &opts)).unwrap();
        assert_eq!(f.metadata.as_ref(), Some(&meta));
        let mh = f.meta_header.unwrap();
        assert_eq!(mh.meta_checksum, checksum);
        assert_eq!(mh.max_meta_size, max.unwrap_or(mh.meta_size * 10));
        if meta == json!({"a": 1}) {
            // zlib is not worth it for 7 bytes: stored raw, level kept.
            assert_eq!((mh.meta_codec, mh.meta_level), (MetaCodec::None, 6));
        } else {
            assert_eq!(mh.meta_codec, codec);
        }
    }
    let too_small = BlpOptions {
        metadata: Some(big),
        meta: MetaOptions { max_meta_size: Some(10), ..Default::default() },
        ..Default::default()
    };
    assert!(matches!(blp::write(Vec::new(), &data, &too_small), Err(Error::InvalidOptions(_))));
}

#[test]
fn invalid_writer_options() {
    let data = [0u8; 10];
    for opts in [
        BlpOptions { checksum: Checksum::Blake3, ..Default::default() },
        BlpOptions { chunk_size: 0, ..Default::default() },
        BlpOptions { blosc: CompressParams { typesize: 0, ..Default::default() }, ..Default::default() },
        BlpOptions { blosc: CompressParams { clevel: 10, ..Default::default() }, ..Default::default() },
        BlpOptions { blosc: CompressParams { codec: Codec::Snappy, ..Default::default() }, ..Default::default() },
    ] {
        assert!(blp::write(Vec::new(), &data, &opts).is_err(), "{opts:?}");
    }
}

#[test]
fn appends() {
    let base = common::sample(100_000, 11);
    let opts = BlpOptions { chunk_size: 30_000, checksum: Checksum::Crc32, ..Default::default() };
    let file = write(&base, &opts);
    // 4 chunks, last holds 10_000; max_app 40.
    let mut expected = base.clone();
    // Squeeze into the last chunk.
    let extra1 = common::sample(5_000, 12);
    let f1 = blp::append_bytes(&file, &extra1, &AppendOptions::default()).unwrap();
    expected.extend_from_slice(&extra1);
    let r1 = blp::read(&f1).unwrap();
    assert!(r1.data == expected);
    assert_eq!((r1.header.nchunks, r1.header.max_app_chunks, r1.header.last_chunk), (4, 40, 15_000));
    // Refill plus new chunks, with other codecs.
    let extra2 = common::sample(200_001, 13);
    let ao = AppendOptions { codec: Codec::Zstd, clevel: 3, shuffle: Shuffle::Bit, ..Default::default() };
    let f2 = blp::append_bytes(&f1, &extra2, &ao).unwrap();
    expected.extend_from_slice(&extra2);
    let r2 = blp::read(&f2).unwrap();
    assert!(r2.data == expected);
    // 305_001 bytes in 30_000-byte chunks: 11 chunks, last 5_001.
    assert_eq!((r2.header.nchunks, r2.header.max_app_chunks, r2.header.last_chunk), (11, 33, 5_001));
    assert!(blp::info(&f2).unwrap().offsets_consistent);
    // Exactly filling the last chunk.
    let extra3 = common::sample(24_999, 14);
    let f3 = blp::append_bytes(&f2, &extra3, &AppendOptions::default()).unwrap();
    expected.extend_from_slice(&extra3);
    let r3 = blp::read(&f3).unwrap();
    assert!(r3.data == expected);
    assert_eq!((r3.header.nchunks, r3.header.last_chunk), (11, 30_000));
    // Empty append is a no-op.
    let f4 = blp::append_bytes(&f3, &[], &AppendOptions::default()).unwrap();
    assert_eq!(f4, f3);
    // Not enough preallocated space.
    let small = write(&base, &BlpOptions { chunk_size: 30_000, max_app_chunks: Some(1), ..Default::default() });
    let err = blp::append_bytes(&small, &common::sample(100_000, 1), &AppendOptions::default()).unwrap_err();
    assert!(matches!(err, Error::NotEnoughSpace { needed: 3, available: 1 }), "{err}");
    // No offsets section.
    let no_off = write(&base, &BlpOptions { offsets: false, ..Default::default() });
    assert!(matches!(blp::append_bytes(&no_off, b"x", &AppendOptions::default()), Err(Error::Append(_))));
    // Metadata survives.
    let with_meta = write(&base, &BlpOptions { metadata: Some(json!({"k": "v"})), ..Default::default() });
    let f5 = blp::append_bytes(&with_meta, b"tail", &AppendOptions::default()).unwrap();
    let r5 = blp::read(&f5).unwrap();
    assert_eq!(r5.metadata, Some(json!({"k": "v"})));
    assert_eq!(&r5.data[base.len()..], b"tail");
}

#[test]
fn append_to_empty_and_tiny_files() {
    let empty = write(&[], &BlpOptions::default());
    let data = common::sample(2_500_000, 5);
    let f = blp::append_bytes(&empty, &data, &AppendOptions::default()).unwrap();
    let r = blp::read(&f).unwrap();
    assert!(r.data == data);
    assert_eq!((r.header.nchunks, r.header.chunk_size, r.header.max_app_chunks), (3, 1 << 20, 8));
    // A tiny file has chunk_size = its size; appending makes chunks of that size (as bloscpack).
    let tiny = write(&[1, 2, 3], &BlpOptions::default());
    let f = blp::append_bytes(&tiny, &[4, 5, 6, 7, 8, 9, 10], &AppendOptions::default()).unwrap();
    let r = blp::read(&f).unwrap();
    assert_eq!(r.data, (1..=10).collect::<Vec<u8>>());
    assert_eq!((r.header.nchunks, r.header.chunk_size, r.header.last_chunk), (4, 3, 1));
}

#[test]
fn append_file_truncates() {
    let path = std::env::temp_dir().join(format!("daspack-blp-append-{}.blp", std::process::id()));
    // The last chunk (120 zero bytes) is memcpyed; refilled to 128 bytes it compresses, so the file shrinks.
    let mut base = common::sample(1000, 3);
    base.extend_from_slice(&[0u8; 120]);
    let before = write(&base, &BlpOptions { chunk_size: 1000, ..Default::default() });
    std::fs::write(&path, &before).unwrap();
    let mut f = std::fs::OpenOptions::new().read(true).write(true).open(&path).unwrap();
    let extra = vec![0u8; 8];
    let rep = blp::append_file(&mut f, &extra, &AppendOptions::default()).unwrap();
    drop(f);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).ok();
    assert_eq!(bytes.len() as u64, rep.file_len);
    assert!(bytes.len() < before.len(), "{} vs {}", bytes.len(), before.len());
    let r = blp::read(&bytes).unwrap();
    base.extend_from_slice(&extra);
    assert!(r.data == base);
    assert_eq!(blp::info(&bytes).unwrap().trailing_bytes, 0);
}

#[test]
fn streaming_reader_and_writer() {
    let data = common::sample(3_000_000, 9);
    let opts = BlpOptions { blosc: CompressParams { codec: Codec::Lz4, ..Default::default() }, ..Default::default() };
    let mut cur = Cursor::new(Vec::new());
    blp::write_stream(&data[..], data.len() as u64, &mut cur, &opts).unwrap();
    let bytes = cur.into_inner();
    let mut r = blp::Reader::new(&bytes[..]).unwrap();
    let mut out = Vec::new();
    let mut n = 0;
    while let Some(c) = r.next_chunk(&mut out).unwrap() {
        assert_eq!(c.index, n);
        n += 1;
    }
    assert_eq!(n, 3);
    assert!(out == data);
    // Input shorter than announced.
    let err = blp::write_stream(&data[..10], 20, Cursor::new(Vec::new()), &opts).unwrap_err();
    assert!(matches!(err, Error::Truncated { .. }));
}

/// The pool codes chunks out of order; the file and the decoded bytes must not show it.
#[test]
fn output_and_errors_do_not_depend_on_threads() {
    let data = common::sample(2_500_123, 11);
    let base = BlpOptions {
        blosc: CompressParams { codec: Codec::Zstd, clevel: 3, typesize: 4, ..Default::default() },
        chunk_size: 64 << 10,
        checksum: Checksum::Crc32,
        threads: 1,
        ..Default::default()
    };
    let one = write(&data, &base);
    let nchunks = blp::info(&one).unwrap().chunks.len();
    assert_eq!(nchunks, 39);
    for threads in [0, 2, 3, 8] {
        let opts = BlpOptions { threads, ..base.clone() };
        assert!(write(&data, &opts) == one, "write, {threads} threads");
        let mut cur = Cursor::new(Vec::new());
        blp::write_stream(&data[..], data.len() as u64, &mut cur, &opts).unwrap();
        assert!(cur.into_inner() == one, "write_stream, {threads} threads");
        let mut back = Vec::new();
        blp::Reader::new(&one[..]).unwrap().threads(threads).read_to_end(&mut back).unwrap();
        assert!(back == data, "read_to_end, {threads} threads");
        let mut sink = Vec::new();
        let n = blp::Reader::new(&one[..]).unwrap().threads(threads).copy_to(&mut sink).unwrap();
        assert!(n == data.len() as u64 && sink == data, "copy_to, {threads} threads");
    }
    // A corrupt chunk in the middle: every thread count names the same chunk, and copy_to has written exactly the
    // chunks before it.
    let info = blp::info(&one).unwrap();
    let bad = &info.chunks[17];
    let mut broken = one.clone();
    broken[bad.offset as usize + 40] ^= 0x10;
    for threads in [1, 2, 4] {
        let mut sink = Vec::new();
        let err = blp::Reader::new(&broken[..]).unwrap().threads(threads).copy_to(&mut sink).unwrap_err();
        assert!(err.to_string().starts_with("chunk 17 checksum (crc32) mismatch"), "{threads} threads: {err}");
        assert!(sink[..] == data[..17 * (64 << 10)], "{threads} threads: {} bytes written", sink.len());
        // Cut inside chunk 20 as well: the reader meets the cut before the pool reports chunk 17, and must still
        // report chunk 17, as a serial reader does.
        let cut = &broken[..info.chunks[20].offset as usize + 100];
        let err = blp::Reader::new(cut).unwrap().threads(threads).copy_to(std::io::sink()).unwrap_err();
        assert!(err.to_string().starts_with("chunk 17 checksum (crc32) mismatch"), "{threads} threads: {err}");
        let cut = &one[..info.chunks[20].offset as usize + 100];
        let serial = blp::Reader::new(cut).unwrap().threads(1).copy_to(std::io::sink()).unwrap_err();
        let err = blp::Reader::new(cut).unwrap().threads(threads).copy_to(std::io::sink()).unwrap_err();
        assert_eq!(err.to_string(), serial.to_string(), "{threads} threads");
        assert!(matches!(err, Error::Truncated { .. }), "{err}");
    }
}
