//! The archive subcommands as a user runs them: .dpk and .blp round trips, stdin/stdout streaming, verify,
//! append, pack/unpack of directory trees, refusal to overwrite and no partial files.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn daspack(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_daspack")).args(args).output().expect("run daspack")
}

fn daspack_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_daspack"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run daspack");
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    let feeder = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    out
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn npy_bytes(descr: &str, shape: &str, body: &[u8]) -> Vec<u8> {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
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

fn sample_npy(dir: &Path) -> PathBuf {
    let p = dir.join("in.npy");
    let body: Vec<u8> = (0..400 * 9).flat_map(|i: i32| ((i * 37) % 1001 - 500).to_le_bytes()).collect();
    std::fs::write(&p, npy_bytes("<i4", "(400, 9)", &body)).unwrap();
    p
}

fn text(n: usize) -> Vec<u8> {
    (0..n).map(|i| b"the quick brown fox jumps over the lazy dog\n"[i % 44]).collect()
}

fn no_temp_files(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let n = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!n.contains("daspack-tmp"), "left-over {n}");
    }
}

#[test]
fn dpk_round_trips_arrays_and_files_with_every_codec() {
    let dir = tempfile::tempdir().unwrap();
    let npy = sample_npy(dir.path());
    let raw = dir.path().join("notes.txt");
    std::fs::write(&raw, text(300_000)).unwrap();
    for codec in ["das", "zstd", "lz4", "deflate", "stored"] {
        for input in [&npy, &raw] {
            let packed = dir.path().join(format!("x-{codec}.dpk"));
            let back = dir.path().join("back");
            ok(&daspack(&["compress", s(input), s(&packed), "--codec", codec, "--chunk-size", "64K", "-q"]));
            ok(&daspack(&["verify", s(&packed)]));
            ok(&daspack(&["decompress", s(&packed), s(&back)]));
            assert_eq!(std::fs::read(input).unwrap(), std::fs::read(&back).unwrap(), "{codec} {input:?}");
            std::fs::remove_file(&back).unwrap();
            std::fs::remove_file(&packed).unwrap();
        }
    }
    // Default output name and format; info shows the array and the DAS accuracy.
    ok(&daspack(&["compress", s(&npy)]));
    let packed = dir.path().join("in.npy.dpk");
    let info = ok(&daspack(&["info", s(&packed)]));
    assert!(info.contains("daspack archive (.dpk) v1") && info.contains("400 x 9 int32"), "{info}");
    assert!(info.contains("coding    das") && info.contains("lossless"), "{info}");
    let list = ok(&daspack(&["list", s(&packed)]));
    assert!(list.contains("array") && list.contains("in.npy"), "{list}");
}

#[test]
fn flags_level_checksum_metadata_filters_and_verbose() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("data.bin");
    let body: Vec<u8> = (0..200_000u32).flat_map(|i| (i / 3).to_le_bytes()).collect();
    std::fs::write(&raw, &body).unwrap();
    let meta = dir.path().join("m.json");
    std::fs::write(&meta, r#"{"sampling_rate_hz": 1000, "channel_spacing_m": 1.02}"#).unwrap();
    let packed = dir.path().join("d.dpk");
    let out = daspack(&[
        "compress",
        s(&raw),
        s(&packed),
        "--codec",
        "zstd",
        "--level",
        "9",
        "--checksum",
        "sha256",
        "--metadata",
        s(&meta),
        "--filter",
        "delta,shuffle",
        "--typesize",
        "4",
        "-v",
        "--threads",
        "2",
        "--chunk-size",
        "256K",
    ]);
    ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("chunk 0:") && err.contains("ms"), "{err}");
    let info = ok(&daspack(&["info", s(&packed)]));
    assert!(info.contains("sha256") && info.contains("sampling_rate_hz") && info.contains("delta,shuffle"), "{info}");
    assert!(info.contains("zstd level 9"), "{info}");
    let packed2 = dir.path().join("t.dpk");
    ok(&daspack(&["compress", s(&raw), s(&packed2), "--level", "throughput", "--chunk-size", "max", "-q"]));
    let back = dir.path().join("back.bin");
    ok(&daspack(&["decompress", s(&packed2), s(&back)]));
    assert_eq!(std::fs::read(&back).unwrap(), body);
    let bad = daspack(&["compress", s(&raw), s(&dir.path().join("z.dpk")), "--checksum", "sha3"]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("unknown checksum"));
    no_temp_files(dir.path());
}

#[test]
fn blp_format_and_legacy_streams_keep_working() {
    let dir = tempfile::tempdir().unwrap();
    let npy = sample_npy(dir.path());
    let blp = dir.path().join("x.blp");
    ok(&daspack(&["compress", s(&npy), s(&blp), "--codec", "zstd", "--checksum", "crc32"]));
    let info = ok(&daspack(&["info", s(&blp)]));
    assert!(info.contains("Bloscpack v3") && info.contains("crc32"), "{info}");
    ok(&daspack(&["verify", s(&blp)]));
    let back = dir.path().join("back.npy");
    ok(&daspack(&["decompress", s(&blp), s(&back)]));
    assert_eq!(std::fs::read(&npy).unwrap(), std::fs::read(&back).unwrap());
    // Appending to a .blp extends its payload.
    let extra = dir.path().join("extra.bin");
    std::fs::write(&extra, text(5000)).unwrap();
    ok(&daspack(&["append", s(&blp), s(&extra)]));
    let raw = dir.path().join("raw.bin");
    ok(&daspack(&["decompress", s(&blp), s(&raw)]));
    let n = std::fs::read(&npy).unwrap();
    assert_eq!(std::fs::read(&raw).unwrap(), [&n[128..], &text(5000)[..]].concat());
    // A bare DAS stream: written with --format stream, read by decompress and info as before.
    let das = dir.path().join("x.das");
    ok(&daspack(&["compress", s(&npy), s(&das), "--format", "stream"]));
    let stream = std::fs::read(&das).unwrap();
    assert_eq!(&stream[..4], b"DASP");
    assert!(ok(&daspack(&["info", s(&das)])).contains(&format!("daspack stream v{}", stream[4])));
    let back2 = dir.path().join("back2.npy");
    ok(&daspack(&["decompress", s(&das), s(&back2)]));
    assert_eq!(std::fs::read(&npy).unwrap(), std::fs::read(&back2).unwrap());
}

#[test]
fn stdin_stdout_round_trip() {
    let data = text(1_000_000);
    let packed = ok_bytes(&daspack_stdin(&["compress", "-", "-", "--codec", "lz4"], &data));
    assert_eq!(&packed[..4], b"\x89DPK");
    let back = ok_bytes(&daspack_stdin(&["decompress", "-", "-"], &packed));
    assert_eq!(back, data);
    // A .npy array through stdin is stored as bytes and comes back identical; verify and info read stdin too.
    let dir = tempfile::tempdir().unwrap();
    let npy = std::fs::read(sample_npy(dir.path())).unwrap();
    let packed = ok_bytes(&daspack_stdin(&["compress", "-"], &npy));
    assert!(daspack_stdin(&["verify", "-"], &packed).status.success());
    assert!(String::from_utf8_lossy(&daspack_stdin(&["info", "-"], &packed).stdout).contains("footer"));
    assert_eq!(ok_bytes(&daspack_stdin(&["decompress", "-"], &packed)), npy);
}

fn ok_bytes(out: &Output) -> Vec<u8> {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out.stdout.clone()
}

#[test]
fn flipped_chunk_byte_is_reported_by_verify_and_decompress() {
    let dir = tempfile::tempdir().unwrap();
    let npy = sample_npy(dir.path());
    let packed = dir.path().join("x.dpk");
    ok(&daspack(&["compress", s(&npy), s(&packed), "--chunk-size", "4K"]));
    let good = std::fs::read(&packed).unwrap();
    // Chunk 2 of the entry starts after the 80-byte header and chunks 0 and 1: find it from `info -v`.
    let info = ok(&daspack(&["info", "-v", s(&packed)]));
    let line = info.lines().find(|l| l.trim_start().starts_with("chunk     2")).unwrap().to_string();
    let offset: usize = line.split_whitespace().nth(3).unwrap().parse().unwrap();
    for delta in [0usize, 7, 30] {
        let mut bad = good.clone();
        bad[offset + delta] ^= 0x04;
        std::fs::write(&packed, &bad).unwrap();
        let v = daspack(&["verify", s(&packed)]);
        assert!(!v.status.success());
        let report = String::from_utf8_lossy(&v.stdout);
        assert!(report.contains("chunk 2") && report.contains("in.npy"), "{report}");
        let out = dir.path().join("back.npy");
        let d = daspack(&["decompress", s(&packed), s(&out)]);
        assert!(!d.status.success());
        let err = String::from_utf8_lossy(&d.stderr);
        assert!(err.contains("chunk 2") && err.contains("in.npy") && err.lines().count() == 1, "{err}");
        assert!(!out.exists());
        no_temp_files(dir.path());
    }
    // Truncated: a clear error.
    std::fs::write(&packed, &good[..good.len() - 20]).unwrap();
    let d = daspack(&["decompress", s(&packed), s(&dir.path().join("t.npy"))]);
    assert!(String::from_utf8_lossy(&d.stderr).contains("truncated archive"), "{d:?}");
    assert!(!daspack(&["verify", s(&packed)]).status.success());
}

#[test]
fn refuses_to_overwrite_and_leaves_no_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let npy = sample_npy(dir.path());
    let packed = dir.path().join("x.dpk");
    std::fs::write(&packed, b"precious").unwrap();
    let out = daspack(&["compress", s(&npy), s(&packed)]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("already exists"));
    assert_eq!(std::fs::read(&packed).unwrap(), b"precious");
    // A failing compression (bad codec parameter) with --force keeps the old file and leaves no temp file.
    let out = daspack(&["compress", s(&npy), s(&packed), "--force", "--lpc-order", "40"]);
    assert!(!out.status.success());
    assert_eq!(std::fs::read(&packed).unwrap(), b"precious");
    no_temp_files(dir.path());
    ok(&daspack(&["compress", s(&npy), s(&packed), "--force"]));
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    let out = daspack(&["pack", s(&tree), s(&packed)]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("already exists"));
    let out = daspack(&["unpack", s(&packed), s(&tree)]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("already exists"));
    let back = dir.path().join("in.npy");
    let out = daspack(&["decompress", s(&packed), s(&back)]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("already exists"));
}

/// Every path under `root` with its contents (`None` for directories).
fn tree(root: &Path) -> BTreeMap<String, Option<Vec<u8>>> {
    let mut m = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                m.insert(rel, None);
                stack.push(p);
            } else {
                m.insert(rel, Some(std::fs::read(&p).unwrap()));
            }
        }
    }
    m
}

#[test]
fn pack_unpack_reproduces_a_directory_tree() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("survey");
    std::fs::create_dir_all(src.join("day1/fibre a")).unwrap();
    std::fs::create_dir_all(src.join("empty/deeper")).unwrap();
    std::fs::write(src.join("README"), b"survey notes\n").unwrap();
    std::fs::write(src.join("empty.txt"), b"").unwrap();
    std::fs::write(src.join("day1/fibre a/rec.npy"), std::fs::read(sample_npy(dir.path())).unwrap()).unwrap();
    std::fs::write(src.join("day1/log.txt"), text(70_000)).unwrap();
    std::fs::write(src.join("day1/fibre a/bin.dat"), (0..=255u8).cycle().take(100_001).collect::<Vec<_>>()).unwrap();
    let packed = dir.path().join("survey.dpk");
    ok(&daspack(&["pack", s(&src), s(&packed), "--chunk-size", "16K", "-q"]));
    let list = ok(&daspack(&["list", s(&packed)]));
    assert!(list.contains("day1/fibre a/rec.npy") && list.contains("dir") && list.contains("empty/deeper"), "{list}");
    ok(&daspack(&["verify", s(&packed)]));
    let out = dir.path().join("restored");
    ok(&daspack(&["unpack", s(&packed), s(&out)]));
    assert_eq!(tree(&src), tree(&out));
    // One entry alone.
    let one = dir.path().join("log.txt");
    ok(&daspack(&["decompress", s(&packed), s(&one), "--entry", "day1/log.txt"]));
    assert_eq!(std::fs::read(&one).unwrap(), text(70_000));
    // Without --entry, a multi-entry archive asks for one.
    let d = daspack(&["decompress", s(&packed), s(&dir.path().join("x"))]);
    assert!(String::from_utf8_lossy(&d.stderr).contains("--entry"));
    // Through stdout and stdin.
    let streamed = ok_bytes(&daspack(&["pack", s(&src), "-", "-q"]));
    let out2 = dir.path().join("restored2");
    assert!(daspack_stdin(&["unpack", "-", s(&out2)], &streamed).status.success());
    assert_eq!(tree(&src), tree(&out2));
}

#[test]
fn append_adds_entries_that_verify() {
    let dir = tempfile::tempdir().unwrap();
    let npy = sample_npy(dir.path());
    let packed = dir.path().join("a.dpk");
    ok(&daspack(&["compress", s(&npy), s(&packed)]));
    let extra = dir.path().join("later.txt");
    std::fs::write(&extra, text(12_345)).unwrap();
    ok(&daspack(&["append", s(&packed), s(&extra), "--codec", "deflate"]));
    let out = daspack(&["append", s(&packed), s(&extra)]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("already has an entry"));
    ok(&daspack(&["verify", s(&packed)]));
    let info = ok(&daspack(&["info", s(&packed)]));
    assert!(info.contains("generation 2") && info.contains("later.txt"), "{info}");
    let back = dir.path().join("back.txt");
    ok(&daspack(&["decompress", s(&packed), s(&back), "--entry", "later.txt"]));
    assert_eq!(std::fs::read(&back).unwrap(), text(12_345));
}

const CHECKSUMS: [&str; 11] =
    ["none", "adler32", "crc32", "md5", "sha1", "sha224", "sha256", "sha384", "sha512", "xxh64", "blake3"];

#[test]
fn every_codec_and_filter_with_every_checksum_round_trips_through_the_cli() {
    // 5 codecs x 4 filters, the checksums in turn (all 11 appear); an array and plain bytes each time.
    let dir = tempfile::tempdir().unwrap();
    let npy = sample_npy(dir.path());
    let raw = dir.path().join("raw.bin");
    std::fs::write(&raw, (0..90_000u32).flat_map(|i| ((i / 5) ^ (i % 3)).to_le_bytes()).collect::<Vec<_>>()).unwrap();
    let mut k = 0;
    for codec in ["das", "zstd", "lz4", "deflate", "stored"] {
        for filter in ["none", "delta", "shuffle", "bitshuffle"] {
            let checksum = CHECKSUMS[k % CHECKSUMS.len()];
            k += 1;
            for input in [&npy, &raw] {
                let what = format!("{codec} {filter} {checksum} {}", input.display());
                let packed = dir.path().join("p.dpk");
                let back = dir.path().join("back");
                let args = ["--codec", codec, "--filter", filter, "--checksum", checksum, "--typesize", "4"];
                ok(&daspack(&[&["compress", s(input), s(&packed), "--chunk-size", "16K", "-q"], &args[..]].concat()));
                let info = ok(&daspack(&["info", s(&packed)]));
                assert!(info.contains(&format!("digest    {checksum}")), "{what}: {info}");
                ok(&daspack(&["verify", s(&packed), "--threads", "2"]));
                ok(&daspack(&["decompress", s(&packed), s(&back), "--threads", "3"]));
                assert!(std::fs::read(input).unwrap() == std::fs::read(&back).unwrap(), "{what}");
                std::fs::remove_file(&back).unwrap();
                std::fs::remove_file(&packed).unwrap();
            }
        }
    }
    assert!(k >= CHECKSUMS.len());
}

/// (entry name, [(chunk offset, stored length)]) for every file entry, from `info -v`.
fn chunk_table(packed: &Path) -> Vec<(String, Vec<(usize, usize)>)> {
    let info = ok(&daspack(&["info", "-v", s(packed)]));
    let mut out: Vec<(String, Vec<(usize, usize)>)> = Vec::new();
    for line in info.lines() {
        if let Some(rest) = line.strip_prefix("entry       \"") {
            out.push((rest[..rest.rfind('"').unwrap()].to_string(), Vec::new()));
        } else if line.trim_start().starts_with("chunk ") && line.contains("crc32") {
            // "    chunk     i  offset  O  orig -> stored bytes  crc32 X"
            let w: Vec<&str> = line.split_whitespace().collect();
            out.last_mut().unwrap().1.push((w[3].parse().unwrap(), w[6].parse().unwrap()));
        }
    }
    out.retain(|(_, c)| !c.is_empty());
    out
}

#[test]
fn a_flipped_byte_in_any_chunk_of_any_entry_is_named_by_verify_and_decompress() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::copy(sample_npy(dir.path()), src.join("a.npy")).unwrap();
    std::fs::write(src.join("b.txt"), text(40_000)).unwrap();
    let packed = dir.path().join("x.dpk");
    ok(&daspack(&["pack", s(&src), s(&packed), "--chunk-size", "8K", "-q"]));
    let good = std::fs::read(&packed).unwrap();
    let table = chunk_table(&packed);
    assert_eq!(table.len(), 2);
    for (name, chunks) in &table {
        assert!(chunks.len() >= 2, "{name}: {chunks:?}");
        let other = &table.iter().find(|(n, _)| n != name).unwrap().0;
        for (i, &(off, len)) in chunks.iter().enumerate() {
            for pos in [off, off + len / 2, off + len - 1] {
                let mut bad = good.clone();
                bad[pos] ^= 0x81;
                std::fs::write(&packed, &bad).unwrap();
                let v = daspack(&["verify", s(&packed)]);
                assert!(!v.status.success());
                let report = String::from_utf8_lossy(&v.stdout);
                let line = report.lines().find(|l| l.starts_with("FAILED")).unwrap();
                assert!(line.contains(&format!("chunk {i} ")) && line.contains(name.as_str()), "{report}");
                // The other entry verifies alone; this one does not.
                ok(&daspack(&["verify", s(&packed), "--entry", other]));
                assert!(!daspack(&["verify", s(&packed), "--entry", name]).status.success());
                let out = dir.path().join("out.bin");
                for threads in ["1", "2"] {
                    let d = daspack(&["decompress", s(&packed), s(&out), "--entry", name, "--threads", threads]);
                    assert!(!d.status.success());
                    let err = String::from_utf8_lossy(&d.stderr);
                    assert_eq!(err.lines().count(), 1, "{err}");
                    assert!(err.contains(&format!("chunk {i} ")) && err.contains(name.as_str()), "{err}");
                    assert!(!out.exists(), "partial output left");
                }
                no_temp_files(dir.path());
            }
        }
    }
    // Truncated anywhere: a one-line error that says so, and no output file.
    for cut in [8, 40, 79, 80, 200, good.len() / 2, good.len() - 41, good.len() - 1] {
        std::fs::write(&packed, &good[..cut]).unwrap();
        let out = dir.path().join("t.npy");
        let d = daspack(&["decompress", s(&packed), s(&out), "--entry", "a.npy"]);
        let err = String::from_utf8_lossy(&d.stderr);
        assert!(!d.status.success() && err.contains("truncated archive") && err.lines().count() == 1, "{cut}: {err}");
        assert!(!out.exists());
        let v = daspack(&["verify", s(&packed)]);
        assert!(!v.status.success() && String::from_utf8_lossy(&v.stdout).contains("truncated"), "{cut}");
        no_temp_files(dir.path());
    }
}

#[test]
fn an_append_killed_half_way_leaves_the_previous_archive_verifying() {
    let dir = tempfile::tempdir().unwrap();
    let npy = sample_npy(dir.path());
    let packed = dir.path().join("a.dpk");
    ok(&daspack(&["compress", s(&npy), s(&packed), "-q"]));
    let second = dir.path().join("second.txt");
    std::fs::write(&second, text(20_000)).unwrap();
    ok(&daspack(&["append", s(&packed), s(&second), "-q"]));
    let before = std::fs::read(&packed).unwrap();
    let third = dir.path().join("third.bin");
    std::fs::write(&third, (0..150_000u32).map(|i| (i.wrapping_mul(i) >> 7) as u8).collect::<Vec<_>>()).unwrap();
    ok(&daspack(&["append", s(&packed), s(&third), "--chunk-size", "16K", "-q"]));
    let grown = std::fs::read(&packed).unwrap();
    assert!(grown.len() > before.len() + 1000);
    // Killed after writing part of the new chunks or of the new index: the header is still the old one.
    let step = (grown.len() - before.len()) / 9;
    for cut in (before.len()..grown.len()).step_by(step).chain([grown.len() - 1]) {
        let killed = [&before[..80], &grown[80..cut]].concat();
        std::fs::write(&packed, &killed).unwrap();
        ok(&daspack(&["verify", s(&packed)]));
        let list = ok(&daspack(&["list", s(&packed)]));
        assert!(list.contains("in.npy") && list.contains("second.txt") && !list.contains("third.bin"), "{list}");
        let back = dir.path().join("back.txt");
        ok(&daspack(&["decompress", s(&packed), s(&back), "--entry", "second.txt"]));
        assert_eq!(std::fs::read(&back).unwrap(), text(20_000));
        std::fs::remove_file(&back).unwrap();
        ok(&daspack(&["verify", s(&packed), "--entry", "in.npy"]));
    }
    // Appending again after the interruption works and keeps everything.
    ok(&daspack(&["append", s(&packed), s(&third), "-q"]));
    ok(&daspack(&["verify", s(&packed)]));
    let back = dir.path().join("back.bin");
    ok(&daspack(&["decompress", s(&packed), s(&back), "--entry", "third.bin"]));
    assert_eq!(std::fs::read(&back).unwrap(), std::fs::read(&third).unwrap());
}

#[test]
fn every_packed_entry_extracts_and_verifies_alone() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("tree");
    std::fs::create_dir_all(src.join("a/b/c")).unwrap();
    std::fs::create_dir_all(src.join("a/empty dir")).unwrap();
    std::fs::create_dir_all(src.join("z/only-empty/deeper")).unwrap();
    std::fs::write(src.join("a/b/c/empty"), b"").unwrap();
    std::fs::write(src.join("a/b/all-bytes.bin"), (0..=255u8).rev().cycle().take(70_001).collect::<Vec<_>>()).unwrap();
    std::fs::write(src.join("a/ünïcode name.txt"), text(1234)).unwrap();
    std::fs::write(src.join("top.npy"), std::fs::read(sample_npy(dir.path())).unwrap()).unwrap();
    std::fs::write(src.join("fake.npy"), b"\x93NUMPY not really").unwrap();
    let packed = dir.path().join("t.dpk");
    ok(&daspack(&["pack", s(&src), s(&packed), "--chunk-size", "8K", "--checksum", "sha1", "-q"]));
    let list = ok(&daspack(&["list", s(&packed)]));
    let files: Vec<String> = list
        .lines()
        .filter(|l| !l.starts_with("dir"))
        .map(|l| l.split_whitespace().skip(5).collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(files.len(), 5, "{list}");
    for dir_name in ["a/empty dir", "z/only-empty/deeper", "a/b/c"] {
        assert!(list.lines().any(|l| l.starts_with("dir") && l.ends_with(dir_name)), "{dir_name}: {list}");
    }
    for name in &files {
        let back = dir.path().join("one");
        ok(&daspack(&["decompress", s(&packed), s(&back), "--entry", name, "-q"]));
        assert!(std::fs::read(&back).unwrap() == std::fs::read(src.join(name)).unwrap(), "{name}");
        std::fs::remove_file(&back).unwrap();
        let v = ok(&daspack(&["verify", s(&packed), "--entry", name]));
        assert_eq!(v.lines().filter(|l| l.starts_with("ok ")).count(), 2, "{v}");
        // the entry, then the file
    }
    let out = dir.path().join("restored");
    ok(&daspack(&["unpack", s(&packed), s(&out), "--threads", "2"]));
    assert_eq!(tree(&src), tree(&out));
    // --force: into the existing directory, replacing changed files.
    std::fs::write(out.join("a/b/c/empty"), b"changed").unwrap();
    ok(&daspack(&["unpack", s(&packed), s(&out), "--force"]));
    assert_eq!(tree(&src), tree(&out));
    assert!(!daspack(&["verify", s(&packed), "--entry", "nope"]).status.success());
}

#[test]
fn quiet_force_throughput_verbose_and_stdio() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("r.bin");
    let body: Vec<u8> = (0..200_000u32).flat_map(|i| (i / 9).to_le_bytes()).collect();
    std::fs::write(&raw, &body).unwrap();
    let packed = dir.path().join("r.dpk");
    // -q: nothing on stdout or stderr from any subcommand that succeeds.
    for args in [
        vec!["compress", s(&raw), s(&packed), "-q"],
        vec!["verify", s(&packed), "-q"],
        vec!["append", s(&packed), s(&raw), "-q"],
    ] {
        let out = daspack(&args);
        if args[0] == "append" {
            // Same entry name twice: refused, the one error line is still printed under -q.
            assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).lines().count() == 1);
            continue;
        }
        assert!(out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(), "{args:?}: {out:?}");
    }
    let back = dir.path().join("back.bin");
    let out = daspack(&["decompress", s(&packed), s(&back), "-q"]);
    assert!(out.status.success() && out.stdout.is_empty() && out.stderr.is_empty());
    // Without -q, compress reports sizes; --force is needed to replace an output, and replaces it.
    std::fs::write(&back, b"old").unwrap();
    let out = daspack(&["decompress", s(&packed), s(&back)]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("--force"));
    assert_eq!(std::fs::read(&back).unwrap(), b"old");
    ok(&daspack(&["decompress", s(&packed), s(&back), "--force", "--sync"]));
    assert_eq!(std::fs::read(&back).unwrap(), body);
    let out = daspack(&["compress", s(&raw), s(&packed), "--force", "--codec", "lz4"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("800000 ->"), "{out:?}");
    assert!(ok(&daspack(&["info", s(&packed)])).contains("coding    lz4"));
    // --level throughput: zstd level 1, chunks of at least 256 KiB sized from the input.
    ok(&daspack(&["compress", s(&raw), s(&packed), "--force", "--codec", "zstd", "--level", "throughput", "-q"]));
    let info = ok(&daspack(&["info", s(&packed)]));
    assert!(info.contains("zstd level 1") && info.contains("chunks of up to 262144 bytes"), "{info}");
    // -v: one line per chunk with sizes and milliseconds.
    let out = daspack(&["compress", s(&raw), s(&packed), "--force", "--chunk-size", "64K", "-v"]);
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| l.contains(" chunk ") && l.ends_with(" ms")).collect();
    assert_eq!(lines.len(), 13, "{err}"); // 800000 / 65536, rounded up
    assert!(lines[12].starts_with("r.bin chunk 12: 13568 -> "), "{err}");
    // `-` as input and output, and as the archive of decompress, verify, list.
    let packed_bytes = ok_bytes(&daspack_stdin(&["compress", "-", "-", "--codec", "deflate", "-q"], &body));
    assert!(String::from_utf8_lossy(&ok_bytes(&daspack_stdin(&["list", "-"], &packed_bytes))).contains("stdin"));
    assert_eq!(ok_bytes(&daspack_stdin(&["decompress", "-", "-", "--entry", "stdin"], &packed_bytes)), body);
    ok(&daspack_stdin(&["verify", "-", "--entry", "stdin"], &packed_bytes));
    no_temp_files(dir.path());
}

#[test]
fn options_the_writer_cannot_follow_are_warned_about_once() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("t");
    std::fs::create_dir(&tree).unwrap();
    for name in ["a.txt", "b.txt"] {
        std::fs::write(tree.join(name), text(500)).unwrap();
    }
    let npy = sample_npy(&tree);
    let warnings = |out: &Output| -> Vec<String> {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stderr).lines().filter(|l| l.contains("warning")).map(str::to_string).collect()
    };
    // --codec das on text files: one warning for both, naming the codec used instead.
    let w = warnings(&daspack(&["pack", "--codec", "das", s(&tree), s(&dir.path().join("p.dpk"))]));
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("--codec das: 2 entries (\"a.txt\", ...) are not what the DAS codec takes")
            && w[0].contains("zstd"),
        "{w:?}"
    );
    // --filter on an array coded with the DAS codec.
    let w = warnings(&daspack(&["compress", "--filter", "delta", s(&npy), s(&dir.path().join("x.dpk"))]));
    assert!(w.len() == 1 && w[0].contains("--filter: \"in.npy\" is coded with the DAS codec"), "{w:?}");
    // Options that apply, --filter none, and --quiet: no warning.
    for args in [
        vec!["compress", "--codec", "das", s(&npy)],
        vec!["compress", "--filter", "none", s(&npy)],
        vec!["compress", "--filter", "delta", s(&tree.join("a.txt"))],
        vec!["compress", "-q", "--codec", "das", s(&tree.join("a.txt"))],
    ] {
        let out_path = dir.path().join("y.dpk");
        let w = warnings(&daspack(&[args.as_slice(), &[s(&out_path), "--force"]].concat()));
        assert!(w.is_empty(), "{args:?}: {w:?}");
    }
    // --typesize 0 means nothing: refused.
    let out = daspack(&["compress", "--typesize", "0", s(&tree.join("a.txt")), s(&dir.path().join("z.dpk"))]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("1..=255"));
    assert!(!dir.path().join("z.dpk").exists());
}
