//! The `daspack` binary as a user runs it: round trips, refusal to overwrite, clean one-line errors, no partial
//! output files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn daspack(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_daspack")).args(args).output().expect("run daspack")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn write_npy(path: &Path, descr: &str, shape: &str, body: &[u8]) {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(header.len() as u16).to_le_bytes());
    b.extend_from_slice(header.as_bytes());
    b.extend_from_slice(body);
    std::fs::write(path, b).unwrap();
}

fn sample(dir: &Path) -> PathBuf {
    let p = dir.join("in.npy");
    let body: Vec<u8> = (0..300 * 7).flat_map(|i: i32| ((i * 37) % 1001 - 500).to_le_bytes()).collect();
    write_npy(&p, "<i4", "(300, 7)", &body);
    p
}

fn input_of(dir: &Path) -> PathBuf {
    sample(dir)
}

fn assert_clean_error(out: &Output, needle: &str) {
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("daspack: error:"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    assert!(err.contains(needle), "{err} lacks {needle}");
    assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"), "{err}");
}

#[test]
fn compress_decompress_round_trip_restores_the_npy() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample(dir.path());
    let packed = dir.path().join("x.dpk");
    let back = dir.path().join("back.npy");
    let out = daspack(&["compress", s(&input), s(&packed)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = daspack(&["decompress", s(&packed), s(&back)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read(&input).unwrap(), std::fs::read(&back).unwrap());
    let out = daspack(&["info", s(&packed)]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("300 x 7 int32") && text.contains("lossless"), "{text}");
}

#[test]
fn existing_output_is_kept_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample(dir.path());
    let packed = dir.path().join("x.dpk");
    std::fs::write(&packed, b"precious").unwrap();
    assert_clean_error(&daspack(&["compress", s(&input), s(&packed)]), "already exists");
    assert_eq!(std::fs::read(&packed).unwrap(), b"precious");
    assert!(daspack(&["compress", s(&input), s(&packed), "--force"]).status.success());
    assert_ne!(std::fs::read(&packed).unwrap(), b"precious");
}

#[test]
fn bad_inputs_give_one_line_errors_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("out");
    assert_clean_error(&daspack(&["compress", "/nonexistent.npy", s(&out_path)]), "cannot read");
    // A bare DAS stream (--format stream) needs a .npy array of the codec's types.
    let junk = dir.path().join("junk.npy");
    std::fs::write(&junk, b"hello world, not numpy").unwrap();
    assert_clean_error(&daspack(&["compress", s(&junk), s(&out_path), "--format", "stream"]), "npy");
    let int8 = dir.path().join("i8.npy");
    write_npy(&int8, "|i1", "(4,)", &[1, 2, 3, 4]);
    assert_clean_error(&daspack(&["compress", s(&int8), s(&out_path), "--format", "stream"]), "not supported");
    assert_clean_error(
        &daspack(&["compress", s(&input_of(dir.path())), s(&out_path), "--lpc-order", "40"]),
        "lpc_order",
    );
    assert!(!out_path.exists());
    assert_clean_error(&daspack(&["decompress", s(&junk), s(&out_path)]), "not a daspack stream");
    // A corrupt stream: decompression fails and leaves nothing behind.
    let input = sample(dir.path());
    let packed = dir.path().join("x.das");
    assert!(daspack(&["compress", s(&input), s(&packed), "--format", "stream"]).status.success());
    let mut b = std::fs::read(&packed).unwrap();
    let last = b.len() - 3;
    b[last] ^= 0x40;
    std::fs::write(&packed, &b).unwrap();
    assert_clean_error(&daspack(&["decompress", s(&packed), s(&out_path)]), "checksum");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(
        !out_path.exists() && leftovers.iter().all(|n| !n.to_string_lossy().contains("daspack-tmp")),
        "{leftovers:?}"
    );
}

#[test]
fn fixed_accuracy_and_bench_and_demo_run() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample(dir.path());
    let packed = dir.path().join("x.dpk");
    assert!(daspack(&["compress", s(&input), s(&packed), "--abs-error", "3"]).status.success());
    let json = dir.path().join("b.json");
    let out = daspack(&["bench", "--repeats", "1", "--json", s(&json), s(&input)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert!(v[0]["ratio"].as_f64().unwrap() > 1.0 && v[0]["zstd3_shuffle"]["ratio"].as_f64().unwrap() > 1.0);
    // Two thread counts measured in turns: one row each, the speed-ups from the same runs.
    let out = daspack(&[
        "bench",
        "--threads",
        "2",
        "--compare-threads",
        "1",
        "--repeats",
        "2",
        "--json",
        s(&json),
        s(&input),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let (main, compared) = (&v[0], &v[0]["compared"]);
    assert_eq!((main["threads"].as_u64(), compared["threads"].as_u64()), (Some(2), Some(1)), "{v}");
    for key in ["compress", "decompress"] {
        let (fast, slow) =
            (main[format!("{key}_mb_s")].as_f64().unwrap(), compared[format!("{key}_mb_s")].as_f64().unwrap());
        let speedup = compared[format!("{key}_speedup")].as_f64().unwrap();
        assert!(fast > 0.0 && slow > 0.0 && speedup > 0.0, "{v}");
    }
    assert!(String::from_utf8_lossy(&out.stdout).contains("speed-up of 2 over it"));
    let out = daspack(&["demo", "--rows", "256", "--cols", "64"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("bit-exact") && text.contains("ratio"), "{text}");
}

#[test]
fn lossless_float_round_trip_and_info_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let f32 = dir.path().join("f.npy");
    let body: Vec<u8> = (0..400).flat_map(|i: i32| (((i * 7) % 91 - 45) as f32 * 0.25).to_le_bytes()).collect();
    write_npy(&f32, "<f4", "(100, 4)", &body);
    let packed = dir.path().join("f.dpk");
    let back = dir.path().join("back.npy");
    assert!(daspack(&["compress", s(&f32), s(&packed)]).status.success());
    let text = String::from_utf8_lossy(&daspack(&["info", s(&packed)]).stdout).into_owned();
    assert!(text.contains("lossless: scaled integers") && text.contains("0 exceptions"), "{text}");
    assert!(daspack(&["decompress", s(&packed), s(&back)]).status.success());
    assert_eq!(std::fs::read(&f32).unwrap(), std::fs::read(&back).unwrap());
}

#[test]
fn every_subcommand_has_help() {
    for sub in
        ["demo", "compress", "decompress", "info", "append", "verify", "pack", "unpack", "list", "bench", "sensor"]
    {
        let out = daspack(&[sub, "--help"]);
        assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Usage"), "{sub}");
    }
}

#[test]
fn sensor_encode_decode_round_trips_the_text_series() {
    let dir = tempfile::tempdir().unwrap();
    let txt = dir.path().join("t.txt");
    std::fs::write(&txt, "100\n101\n101\nNA\n101\n100\n-2048\n2047\n").unwrap();
    let bin = dir.path().join("t.bin");
    let back = dir.path().join("back.txt");
    let out = daspack(&["sensor", "encode", s(&txt), s(&bin)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = daspack(&["sensor", "decode", s(&bin), s(&back), "--count", "8"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(&txt).unwrap(), std::fs::read_to_string(&back).unwrap());
    std::fs::write(&txt, "1\n4096\n").unwrap();
    assert_clean_error(&daspack(&["sensor", "encode", s(&txt), s(&dir.path().join("x.bin"))]), "line 2");
}

#[test]
fn bloscpack_golden_files_decompress_like_blpk() {
    let golden = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/golden/bloscpack"));
    if !golden.exists() {
        eprintln!("skipped: golden files absent");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Raw payload, as `blpk d` writes it: the arange input's bytes (the .npy body).
    let out = dir.path().join("raw.bin");
    let r = daspack(&["decompress", s(&golden.join("cli_default_arange_i8_160k.blp")), s(&out)]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let npy = std::fs::read(golden.join("arange_i8_160k.npy")).unwrap();
    let raw = std::fs::read(&out).unwrap();
    assert_eq!(&npy[npy.len() - raw.len()..], &raw[..]);
    assert_eq!(raw.len(), 160_000 * 8);
    // A numpy-packed file to .npy reproduces numpy's own file byte for byte.
    for (blp, npy) in [
        ("np_default_arange_i8_1MiB.blp", "arange_i8_1MiB.npy"),
        ("np_fortran_f4_3x4x5.blp", "fortran_f4_3x4x5.npy"),
        ("np_struct_50.blp", "struct_50.npy"),
        ("np_zstd_bitshuffle_clevel5_u2_70000.blp", "u2_70000.npy"),
        ("np_default_linspace_f8_100k.blp", "linspace_f8_100k.npy"),
    ] {
        let out = dir.path().join(npy);
        let r = daspack(&["decompress", s(&golden.join(blp)), s(&out)]);
        assert!(r.status.success(), "{blp}: {}", String::from_utf8_lossy(&r.stderr));
        assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(golden.join(npy)).unwrap(), "{blp}");
    }
}
