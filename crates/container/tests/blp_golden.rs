//! Every golden file written by the real Python bloscpack 0.16 decodes to exactly its input, and its parsed headers
//! equal those recorded in the golden manifest.

mod common;

use daspack_checksum::Checksum;
use daspack_container::blp::{self, AppendOptions, MetaCodec, NumpyMeta};
use serde_json::Value;

fn manifest(dir: &std::path::Path) -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
    match serde_json::from_str(&text).unwrap() {
        Value::Object(m) => m,
        _ => panic!("manifest is not an object"),
    }
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not an integer: {v}"))
}

#[test]
fn every_golden_file_decodes_exactly() {
    let Some(dir) = common::golden_dir() else { return };
    let m = manifest(&dir);
    let mut blps: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".blp"))
        .collect();
    blps.sort();
    assert_eq!(blps.len(), m.len(), "every .blp file has a manifest entry");
    for name in &blps {
        let bytes = common::read(&dir, name);
        let f = blp::read(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected = common::expected_input(&dir, name);
        assert!(f.data == expected, "{name}: decoded bytes differ ({} vs {} bytes)", f.data.len(), expected.len());
        if let Some(sha) = m[name].get("_sha256_of_decoded").and_then(Value::as_str) {
            assert_eq!(Checksum::Sha256.digest(&f.data).to_hex(), sha, "{name}");
        }
        // The streaming reader agrees.
        let mut out = Vec::new();
        let mut r = blp::Reader::new(&bytes[..]).unwrap();
        r.copy_to(&mut out).unwrap();
        assert!(out == expected, "{name}: streaming reader differs");
    }
}

#[test]
fn headers_match_the_manifest() {
    let Some(dir) = common::golden_dir() else { return };
    for (name, want) in manifest(&dir) {
        let bytes = common::read(&dir, &name);
        let info = blp::info(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let h = &info.header;
        assert_eq!(u64::from(h.format_version), u(&want["format_version"]), "{name}");
        assert_eq!(u64::from(h.options()), u(&want["options"]), "{name}");
        assert_eq!(h.offsets, want["offsets"].as_bool().unwrap(), "{name}");
        assert_eq!(h.metadata, want["metadata"].as_bool().unwrap(), "{name}");
        assert_eq!(h.checksum.name(), want["checksum"].as_str().unwrap(), "{name}");
        assert_eq!(u64::from(h.typesize), u(&want["typesize"]), "{name}");
        assert_eq!(h.chunk_size as u64, u(&want["chunk_size"]), "{name}");
        assert_eq!(h.last_chunk as u64, u(&want["last_chunk"]), "{name}");
        assert_eq!(h.nchunks as u64, u(&want["nchunks"]), "{name}");
        assert_eq!(h.max_app_chunks as u64, u(&want["max_app_chunks"]), "{name}");
        // Our encoder reproduces the header bytes.
        assert_eq!(&h.to_bytes()[..], &bytes[..32], "{name}");
        match (&info.meta_header, want.get("meta_header")) {
            (None, None) => {}
            (Some(mh), Some(w)) => {
                assert_eq!(mh.magic_str(), w["magic"].as_str().unwrap(), "{name}");
                assert_eq!(u64::from(mh.meta_options), u(&w["meta_options"]), "{name}");
                assert_eq!(mh.meta_checksum.name(), w["meta_checksum"].as_str().unwrap(), "{name}");
                assert_eq!(mh.meta_codec.name(), w["meta_codec"].as_str().unwrap(), "{name}");
                assert_eq!(u64::from(mh.meta_level), u(&w["meta_level"]), "{name}");
                assert_eq!(u64::from(mh.meta_size), u(&w["meta_size"]), "{name}");
                assert_eq!(u64::from(mh.max_meta_size), u(&w["max_meta_size"]), "{name}");
                assert_eq!(u64::from(mh.meta_comp_size), u(&w["meta_comp_size"]), "{name}");
                let hex: String = mh.user_codec.iter().map(|b| format!("{b:02x}")).collect();
                assert_eq!(hex, w["user_codec_hex"].as_str().unwrap(), "{name}");
                let at = info.metadata_pos.unwrap() as usize;
                assert_eq!(&mh.to_bytes()[..], &bytes[at..at + 32], "{name}");
                let json: Value = serde_json::from_str(want["metadata_json"].as_str().unwrap()).unwrap();
                assert_eq!(info.metadata.as_ref(), Some(&json), "{name}");
            }
            (a, b) => panic!("{name}: metadata header {a:?} vs manifest {b:?}"),
        }
        let n = h.nchunks as usize;
        if let Some(pos) = want.get("offsets_first_section_pos") {
            assert_eq!(info.offsets_pos, Some(u(pos)), "{name}");
            let used: Vec<u64> = want["offsets_used"].as_array().unwrap().iter().map(u).collect();
            let ours: Vec<u64> = info.offsets[..n].iter().map(|&o| o as u64).collect();
            assert_eq!(ours, used, "{name}");
            assert_eq!(
                info.offsets[n..].iter().all(|&o| o == -1),
                want["offsets_unused_all_minus1"].as_bool().unwrap(),
                "{name}"
            );
            assert!(info.offsets_consistent, "{name}");
        } else {
            assert_eq!(info.offsets_pos, None, "{name}");
        }
        let chunks = want["chunks"].as_array().unwrap();
        assert_eq!(info.chunks.len(), chunks.len(), "{name}");
        for (c, w) in info.chunks.iter().zip(chunks) {
            let ch = &c.header;
            assert!(c.checksum_ok, "{name} chunk {}", c.index);
            assert_eq!(u64::from(ch.version), u(&w["version"]), "{name}");
            assert_eq!(u64::from(ch.versionlz), u(&w["versionlz"]), "{name}");
            assert_eq!(u64::from(ch.flags), u(&w["flags"]), "{name}");
            assert_eq!(u64::from(ch.typesize), u(&w["typesize"]), "{name}");
            assert_eq!(u64::from(ch.nbytes), u(&w["nbytes"]), "{name}");
            assert_eq!(u64::from(ch.blocksize), u(&w["blocksize"]), "{name}");
            assert_eq!(u64::from(ch.cbytes), u(&w["cbytes"]), "{name}");
            assert_eq!(u64::from(ch.codec_code()), u(&w["codec"]), "{name}");
        }
        assert_eq!(info.trailing_bytes, u(&want["trailing_bytes_after_last_chunk"]), "{name}");
        assert_eq!(info.file_size, bytes.len() as u64);
    }
}

#[test]
fn metadata_codec_byte_wins_over_sizes() {
    let Some(dir) = common::golden_dir() else { return };
    // meta_comp_size == meta_size, yet the data is zlib.
    let f = blp::read(&common::read(&dir, "np_default_arange_i8_1MiB.blp")).unwrap();
    let mh = f.meta_header.unwrap();
    assert_eq!(mh.meta_codec, MetaCodec::Zlib);
    assert_eq!(mh.meta_size, mh.meta_comp_size);
    // Compression not worth it: codec None, level still 6.
    let f = blp::read(&common::read(&dir, "cli_chunk256K_crc32_meta_raw_arange_i8_160k.blp")).unwrap();
    let mh = f.meta_header.unwrap();
    assert_eq!((mh.meta_codec, mh.meta_level), (MetaCodec::None, 6));
    assert_eq!(f.metadata, Some(serde_json::json!({"a": 1})));
}

#[test]
fn numpy_metadata_rebuilds_the_npy_files() {
    let Some(dir) = common::golden_dir() else { return };
    for name in manifest(&dir).keys() {
        let Some(npy_name) = common::npy_source(name) else { continue };
        let f = blp::read(&common::read(&dir, name)).unwrap();
        let meta = NumpyMeta::from_metadata(f.metadata.as_ref().unwrap()).unwrap().unwrap();
        let mut npy = meta.npy_header();
        npy.extend_from_slice(&f.data);
        assert!(npy == common::read(&dir, npy_name), "{name}: rebuilt .npy differs from {npy_name}");
    }
    let f = blp::read(&common::read(&dir, "np_fortran_f4_3x4x5.blp")).unwrap();
    let meta = NumpyMeta::from_metadata(f.metadata.as_ref().unwrap()).unwrap().unwrap();
    assert!(meta.fortran_order);
    assert_eq!(meta.shape, [3, 4, 5]);
    assert_eq!(meta.simple_dtype(), Some("<f4"));
    let f = blp::read(&common::read(&dir, "np_struct_50.blp")).unwrap();
    let meta = NumpyMeta::from_metadata(f.metadata.as_ref().unwrap()).unwrap().unwrap();
    assert_eq!(meta.descr, "[('x', '<i4'), ('y', '<f8'), ('name', '|S3')]");
    assert_eq!(meta.simple_dtype(), None);
    // Files without numpy metadata.
    let f = blp::read(&common::read(&dir, "cli_default_tiny_100B.blp")).unwrap();
    assert!(f.metadata.is_none());
}

#[test]
fn golden_blosc_chunks_decode_standalone() {
    let Some(dir) = common::golden_dir() else { return };
    // Every chunk of every file decodes on its own through the chunk codec.
    for name in manifest(&dir).keys() {
        let bytes = common::read(&dir, name);
        let info = blp::info(&bytes).unwrap();
        for c in &info.chunks {
            let at = c.offset as usize;
            let chunk = &bytes[at..at + c.header.cbytes as usize];
            let out = blp::blosc::decompress(chunk).unwrap_or_else(|e| panic!("{name} chunk {}: {e}", c.index));
            assert_eq!(out.len(), c.header.nbytes as usize);
        }
    }
}

#[test]
fn our_append_matches_blpk_append() {
    let Some(dir) = common::golden_dir() else { return };
    let m = manifest(&dir);
    let cases = [
        (
            "cli_default_arange_i8_160k.blp",
            common::read(&dir, "append_tail_i8_100.bin"),
            "cli_appended_arange_i8_160k_plus_tail100.blp",
        ),
        (
            "cli_chunk256K_crc32_meta_raw_arange_i8_160k.blp",
            common::npy_data(&common::read(&dir, "arange_i8_1MiB.npy")).to_vec(),
            "cli_appended_chunk256K_crc32_meta_raw_160k_plus_1MiB.blp",
        ),
    ];
    for (orig, extra, golden) in cases {
        let out = blp::append_bytes(&common::read(&dir, orig), &extra, &AppendOptions::default()).unwrap();
        let f = blp::read(&out).unwrap();
        assert!(f.data == common::expected_input(&dir, golden), "{golden}");
        let want = &m[golden];
        assert_eq!(f.header.nchunks as u64, u(&want["nchunks"]));
        assert_eq!(f.header.max_app_chunks as u64, u(&want["max_app_chunks"]));
        assert_eq!(f.header.last_chunk as u64, u(&want["last_chunk"]));
        assert_eq!(f.metadata, blp::read(&common::read(&dir, orig)).unwrap().metadata);
        let info = blp::info(&out).unwrap();
        assert!(info.offsets_consistent && info.trailing_bytes == 0);
        assert_eq!(info.offsets[0] as u64, u(&want["offsets_used"][0]));
    }
}

#[test]
fn our_writer_reproduces_golden_layout() {
    let Some(dir) = common::golden_dir() else { return };
    // Same options as `blpk compress` used: every header, the metadata section and the offsets table (apart from
    // chunk sizes, which depend on the BloscLZ encoder) come out identical.
    let data = common::expected_input(&dir, "cli_chunk256K_sha512_meta_zlib_arange_i8_160k.blp");
    let meta: Value = serde_json::from_slice(&common::read(&dir, "meta_big.json")).unwrap();
    let opts = blp::BlpOptions {
        chunk_size: 256 * 1024,
        checksum: Checksum::Sha512,
        metadata: Some(meta),
        ..Default::default()
    };
    let mut ours = Vec::new();
    blp::write(&mut ours, &data, &opts).unwrap();
    let golden = common::read(&dir, "cli_chunk256K_sha512_meta_zlib_arange_i8_160k.blp");
    let (a, b) = (blp::info(&ours).unwrap(), blp::info(&golden).unwrap());
    assert_eq!(a.header, b.header);
    assert_eq!(
        a.meta_header.map(|m| (m.meta_size, m.max_meta_size, m.meta_codec)),
        b.meta_header.map(|m| (m.meta_size, m.max_meta_size, m.meta_codec))
    );
    assert_eq!(a.offsets_pos, b.offsets_pos);
    assert_eq!(a.offsets[0], b.offsets[0]);
    for (x, y) in a.chunks.iter().zip(&b.chunks) {
        assert_eq!(
            (x.header.flags, x.header.blocksize, x.header.nbytes),
            (y.header.flags, y.header.blocksize, y.header.nbytes)
        );
    }
    assert_eq!(blp::read(&ours).unwrap().data, data);
    // The empty and tiny files are memcpyed chunks: those come out byte-identical.
    for (name, input) in [("cli_default_empty.blp", "empty.bin"), ("cli_default_tiny_100B.blp", "tiny_100B.bin")] {
        let mut ours = Vec::new();
        blp::write(&mut ours, &common::read(&dir, input), &blp::BlpOptions::default()).unwrap();
        assert_eq!(ours, common::read(&dir, name), "{name}");
    }
    // clevel 0 (memcpyed chunks), md5, 10000-byte chunks.
    let mut ours = Vec::new();
    let opts = blp::BlpOptions {
        blosc: blp::CompressParams { clevel: 0, ..Default::default() },
        checksum: Checksum::Md5,
        chunk_size: 10000,
        ..Default::default()
    };
    blp::write(&mut ours, &common::expected_input(&dir, "cli_clevel0_md5_chunk10000_arange_i8_4096.blp"), &opts)
        .unwrap();
    assert_eq!(ours, common::read(&dir, "cli_clevel0_md5_chunk10000_arange_i8_4096.blp"));
    // numpy-convention metadata written from NumpyMeta matches what pack_ndarray stored (up to key order).
    let f = blp::read(&common::read(&dir, "np_fortran_f4_3x4x5.blp")).unwrap();
    let nm = NumpyMeta::from_metadata(f.metadata.as_ref().unwrap()).unwrap().unwrap();
    assert_eq!(Some(nm.to_metadata()), f.metadata);
}
