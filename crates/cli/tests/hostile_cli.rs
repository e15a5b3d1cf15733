//! Hostile inputs to every subcommand that reads one: valid files written by the CLI itself (.dpk with DAS and
//! zstd entries, a multi-entry archive with an appended generation, a bare DAS stream, a .blp file, a sensor
//! stream, text series, .npy arrays) are truncated, bit-flipped and size-inflated (size fields rewritten with
//! their CRCs fixed up, or trailing bytes added), then fed to decompress, info, verify, list, unpack, append,
//! sensor decode/encode/stats, and compress/demo/bench/pack (hostile .npy). Every run must end with an exit code
//! (no signal), no panic, at most one line on stderr when it fails, no file left behind by a failed run, a peak
//! resident size below 256 MB (the child's own `ru_maxrss`, from `wait4`), and, when it succeeds, the same bytes
//! as the clean input gives. Truncated inputs must fail. The sample of cut points and flipped bits is fixed.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Peak resident size a run may reach.
const MAX_RSS_KB: i64 = 256 * 1024;
/// A run taking longer is killed (and fails the test).
const TIMEOUT: Duration = Duration::from_secs(60);

struct Run {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: String,
    max_rss_kb: i64,
}

/// Runs daspack with `args` (and `stdin`), reaping it with `wait4` to read its own peak resident size.
#[allow(clippy::zombie_processes)] // reaped by wait4, not Child::wait
fn daspack(args: &[OsString], stdin: Option<&[u8]>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_daspack"))
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run daspack");
    let pid = child.id() as libc::pid_t;
    let feeder = stdin.map(|data| {
        let mut pipe = child.stdin.take().unwrap();
        let data = data.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&data);
        })
    });
    let mut out_pipe = child.stdout.take().unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out_pipe.read_to_end(&mut v);
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err_pipe.read_to_end(&mut v);
        v
    });
    let done = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let done = done.clone();
        std::thread::spawn(move || {
            let start = Instant::now();
            while !done.load(Ordering::Relaxed) {
                if start.elapsed() > TIMEOUT {
                    // SAFETY: our own child, not yet reaped (`done` is set right after wait4 returns).
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let mut status = 0;
    // SAFETY: a zeroed rusage is valid; wait4 on our child's pid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = loop {
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == -1 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        break r;
    };
    done.store(true, Ordering::Relaxed);
    assert_eq!(r, pid, "wait4: {}", std::io::Error::last_os_error());
    watchdog.join().unwrap();
    if let Some(f) = feeder {
        f.join().unwrap();
    }
    let stdout = out_t.join().unwrap();
    let stderr = String::from_utf8_lossy(&err_t.join().unwrap()).into_owned();
    Run { status: ExitStatus::from_raw(status), stdout, stderr, max_rss_kb: usage.ru_maxrss }
}

fn os(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Vec<OsString> {
    args.iter().map(|a| a.as_ref().to_os_string()).collect()
}

/// Largest peak resident size seen so far (KiB).
static MAX_SEEN_KB: AtomicI64 = AtomicI64::new(0);

/// The checks every run passes; `true` when it succeeded.
fn check(r: &Run, what: &str) -> bool {
    MAX_SEEN_KB.fetch_max(r.max_rss_kb, Ordering::Relaxed);
    let code = r.status.code();
    assert!(code.is_some(), "{what}: killed by signal {:?}; stderr: {}", r.status.signal(), r.stderr);
    assert!(!r.stderr.contains("panicked") && !r.stderr.contains("RUST_BACKTRACE"), "{what}: panicked: {}", r.stderr);
    assert!(r.max_rss_kb < MAX_RSS_KB, "{what}: peak resident size {} MB", r.max_rss_kb / 1024);
    if code == Some(0) {
        return true;
    }
    let lines: Vec<&str> = r.stderr.trim_end().lines().collect();
    assert!(
        lines.len() == 1 && lines[0].starts_with("daspack: error: "),
        "{what}: exit {code:?}, expected one error line on stderr, got: {:?}",
        r.stderr
    );
    false
}

/// A fresh empty directory for one run's outputs.
fn fresh_dir(root: &Path) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = root.join(format!("run{}", N.fetch_add(1, Ordering::Relaxed)));
    std::fs::create_dir(&d).unwrap();
    d
}

fn is_empty_dir(d: &Path) -> bool {
    std::fs::read_dir(d).unwrap().next().is_none()
}

// ---- valid inputs, written once by the CLI ----

struct Fixtures {
    dir: tempfile::TempDir,
    das_dpk: Vec<u8>,
    zstd_dpk: Vec<u8>,
    multi_dpk: Vec<u8>,
    stream: Vec<u8>,
    blp: Vec<u8>,
    blp_nocheck: Vec<u8>,
    sensor: Vec<u8>,
    sensor_count: u64,
    npy: Vec<u8>,
    text: Vec<u8>,
    series: Vec<u8>,
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

fn ok_run(args: &[OsString]) -> Run {
    let r = daspack(args, None);
    assert!(r.status.success(), "{args:?}: {}", r.stderr);
    r
}

fn fixtures() -> &'static Fixtures {
    static F: OnceLock<Fixtures> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut v = 0i32;
        let body: Vec<u8> = (0..200 * 12)
            .flat_map(|i: i32| {
                v += (i * 7919) % 23 - 11;
                (v as i16).to_le_bytes()
            })
            .collect();
        let npy = npy_bytes("<i2", "(200, 12)", &body);
        std::fs::write(d.join("a.npy"), &npy).unwrap();
        let text: Vec<u8> = (0..9000).map(|i| b"the quick brown fox jumps over the lazy dog\n"[i % 44]).collect();
        std::fs::write(d.join("t.txt"), &text).unwrap();
        let raw: Vec<u8> = (0..3000u32).flat_map(|i| ((i * 37 % 501) as u16).to_le_bytes()).collect();
        std::fs::write(d.join("raw.bin"), &raw).unwrap();
        let p = |n: &str| d.join(n);
        ok_run(&os(&[&"compress", &p("a.npy"), &p("das.dpk"), &"--chunk-size", &"1200", &"-q"]));
        ok_run(&os(&[&"compress", &p("t.txt"), &p("zstd.dpk"), &"--codec", &"zstd", &"--chunk-size", &"2K", &"-q"]));
        std::fs::create_dir_all(p("tree/sub")).unwrap();
        std::fs::copy(p("a.npy"), p("tree/sub/a.npy")).unwrap();
        std::fs::write(p("tree/empty.txt"), b"").unwrap();
        std::fs::write(p("tree/t.txt"), &text[..3000]).unwrap();
        ok_run(&os(&[&"pack", &p("tree"), &p("multi.dpk"), &"--codec", &"lz4", &"--chunk-size", &"1K", &"-q"]));
        ok_run(&os(&[&"append", &p("multi.dpk"), &p("raw.bin"), &"--codec", &"deflate", &"-q"]));
        ok_run(&os(&[&"compress", &p("a.npy"), &p("a.das"), &"--format", &"stream", &"--block-height", &"64", &"-q"]));
        ok_run(&os(&[&"compress", &p("a.npy"), &p("a.blp"), &"--format", &"blp", &"--chunk-size", &"2K", &"-q"]));
        ok_run(&os(&[
            &"compress",
            &p("raw.bin"),
            &p("raw.blp"),
            &"--format",
            &"blp",
            &"--checksum",
            &"none",
            &"--chunk-size",
            &"2K",
            &"-q",
        ]));
        let series: String = (0..400)
            .map(|i| match i % 37 {
                5 => "NA\n".to_string(),
                11 => "USER_EVENT\n".to_string(),
                _ => format!("{}\n", (i * 13) % 300 - 150),
            })
            .collect();
        std::fs::write(p("series.txt"), &series).unwrap();
        let r = ok_run(&os(&[&"sensor", &"encode", &p("series.txt"), &p("series.bin")]));
        let out = String::from_utf8_lossy(&r.stdout);
        let count: u64 = out.split("--count ").nth(1).unwrap().trim().parse().unwrap();
        std::fs::write(p("extra.txt"), b"extra entry\n").unwrap();
        // The measurement sees a child's memory: a 1024 x 1024 int32 demo holds at least 3 copies of 4 MiB.
        let r = ok_run(&os(&[&"demo", &"--rows", &"1024", &"--cols", &"1024", &"--threads", &"1"]));
        assert!(r.max_rss_kb > 12 * 1024, "demo's peak resident size measured as {} KiB", r.max_rss_kb);
        let read = |n: &str| std::fs::read(p(n)).unwrap();
        Fixtures {
            das_dpk: read("das.dpk"),
            zstd_dpk: read("zstd.dpk"),
            multi_dpk: read("multi.dpk"),
            stream: read("a.das"),
            blp: read("a.blp"),
            blp_nocheck: read("raw.blp"),
            sensor: read("series.bin"),
            sensor_count: count,
            npy,
            text: text[..500].to_vec(),
            series: series.into_bytes(),
            dir,
        }
    })
}

// ---- hostile variants ----

#[derive(Clone, Copy, PartialEq, Debug)]
enum Damage {
    /// Cut short: the run must fail.
    Truncated,
    /// A size field rewritten (checksums fixed up) that the data cannot match: a command that decodes the data
    /// must fail; one that only reads the index or headers (info, list, append) may succeed.
    Inconsistent,
    /// A flipped bit or a rewritten field: the run may succeed only with the clean input's result.
    Corrupted,
    /// A flipped bit in the commit slot of an archive with two commits: a reader falls back to the older one, so a
    /// run may succeed with that generation's result.
    Rollback,
}

struct Variant {
    name: String,
    bytes: Vec<u8>,
    damage: Damage,
}

/// A small deterministic generator (SplitMix64).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Truncations at fixed points (format headers) and proportional ones, and bit flips: in `hot` (header and
/// index bytes) and at random positions. Plus trailing bytes.
fn variants(clean: &[u8], hot: &[usize], seed: u64, flips: usize) -> Vec<Variant> {
    let n = clean.len();
    let mut cuts: Vec<usize> = [0, 1, 7, 9, 13, 31, 52, 81, n / 3, n / 2, n.saturating_sub(41), n - 1]
        .into_iter()
        .filter(|&c| c < n)
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut out: Vec<Variant> = cuts
        .into_iter()
        .map(|c| Variant { name: format!("cut at {c}"), bytes: clean[..c].to_vec(), damage: Damage::Truncated })
        .collect();
    let mut rng = Rng(seed);
    let mut spots: Vec<usize> = hot.iter().copied().filter(|&h| h < n).collect();
    spots.extend((0..flips).map(|_| (rng.next() % n as u64) as usize));
    for at in spots {
        let bit = (rng.next() % 8) as u8;
        let mut b = clean.to_vec();
        b[at] ^= 1 << bit;
        out.push(Variant { name: format!("bit {bit} of byte {at} flipped"), bytes: b, damage: Damage::Corrupted });
    }
    let mut b = clean.to_vec();
    b.extend(std::iter::repeat_n(0xA5u8, 1 << 20));
    out.push(Variant { name: "1 MiB of trailing bytes".into(), bytes: b, damage: Damage::Corrupted });
    out
}

/// CRC-32 (IEEE), for fixing up the checksums of rewritten size fields.
fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 { (c >> 1) ^ 0xEDB8_8320 } else { c >> 1 };
        }
    }
    !c
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes(b[i..i + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(b[i..i + 8].try_into().unwrap())
}
fn put_u32(b: &mut [u8], i: usize, v: u32) {
    b[i..i + 4].copy_from_slice(&v.to_le_bytes());
}
fn put_u64(b: &mut [u8], i: usize, v: u64) {
    b[i..i + 8].copy_from_slice(&v.to_le_bytes());
}

/// Where the fields of a .dpk archive's entries are (docs/format.md, A.1-A.2), for the committed slot.
struct DpkEntry {
    /// Offset of the codec byte.
    codec: usize,
    size: usize,
    chunk_size: usize,
    nchunks: usize,
    /// Offset of the first chunk record.
    chunks: usize,
}

/// (slot offset, index offset, index length, entries) of an archive written by the CLI (header slots, no footer).
fn dpk_layout(a: &[u8]) -> (usize, usize, usize, Vec<DpkEntry>) {
    let slot = if u64_at(a, 16) >= u64_at(a, 48) { 16 } else { 48 };
    let (off, len) = (u64_at(a, slot + 8) as usize, u64_at(a, slot + 16) as usize);
    const DIGEST: [usize; 11] = [0, 4, 4, 16, 20, 28, 32, 48, 64, 8, 32];
    let n = u32_at(a, off + 4);
    let mut p = off + 8;
    let mut entries = Vec::new();
    for _ in 0..n {
        let name_len = u16::from_le_bytes([a[p], a[p + 1]]) as usize;
        p += 2 + name_len;
        let checksum = a[p + 4] as usize;
        let size = p + 8;
        let chunk_size = p + 16;
        let meta_len = u32_at(a, p + 20) as usize;
        p += 24 + meta_len + DIGEST[checksum];
        let nchunks = p;
        p += 8 + 20 * u64_at(a, nchunks) as usize;
        entries.push(DpkEntry { codec: size - 7, size, chunk_size, nchunks, chunks: nchunks + 8 });
    }
    assert_eq!(p, off + len, "index walk");
    (slot, off, len, entries)
}

/// Recomputes the index CRC and the slot CRC after an index field was rewritten.
fn fix_dpk(a: &mut [u8], slot: usize, off: usize, len: usize) {
    let crc = crc32(&a[off..off + len]);
    put_u32(a, slot + 24, crc);
    let crc = crc32(&a[slot..slot + 28]);
    put_u32(a, slot + 28, crc);
}

/// Size fields of the first non-empty entry inflated, CRCs made to agree.
fn inflate_dpk(clean: &[u8]) -> Vec<Variant> {
    let (slot, off, len, entries) = dpk_layout(clean);
    let e = entries.iter().find(|e| u64_at(clean, e.nchunks) > 0).expect("a non-empty entry");
    let mut out = Vec::new();
    let mut add = |name: &str, f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = clean.to_vec();
        f(&mut b);
        fix_dpk(&mut b, slot, off, len);
        out.push(Variant { name: name.into(), bytes: b, damage: Damage::Inconsistent });
    };
    // The first chunk claims 1 GiB (chunk_size raised to allow it; entry size kept consistent).
    add("first chunk claims 1 GiB", &|b| {
        let orig = u32_at(b, e.chunks + 12) as u64;
        put_u32(b, e.chunk_size, 1 << 30);
        put_u32(b, e.chunks + 12, 1 << 30);
        let size = u64_at(b, e.size);
        put_u64(b, e.size, size - orig + (1 << 30));
    });
    // The first chunk claims as much as its codec's expansion limit allows (chunk_size raised to allow it).
    add("first chunk at the expansion limit", &|b| {
        let stored = u32_at(b, e.chunks + 8) as u64;
        let orig = u32_at(b, e.chunks + 12) as u64;
        // docs/format.md, A.2: stored, das, zstd, lz4, deflate.
        let claim = match b[e.codec] {
            1 => stored * 65536,
            2 => stored * 32768,
            3 => stored * 256 + 64,
            4 => stored * 1032 + 1024,
            _ => stored,
        }
        .min(1 << 30);
        put_u32(b, e.chunk_size, 1 << 30);
        put_u32(b, e.chunks + 12, claim as u32);
        let size = u64_at(b, e.size);
        put_u64(b, e.size, size - orig + claim);
    });
    add("entry size 2^62", &|b| put_u64(b, e.size, 1 << 62));
    add("chunk count 2^40", &|b| put_u64(b, e.nchunks, 1 << 40));
    add("index length beyond the file", &|b| put_u64(b, slot + 16, 1 << 40));
    out
}

/// The bare DAS stream's rows, cols, block and tile count inflated (header CRC fixed up).
fn inflate_stream(clean: &[u8]) -> Vec<Variant> {
    let ntiles = u32_at(clean, 48) as usize;
    let index_end = 52 + 8 * ntiles;
    let mut out = Vec::new();
    let mut add = |name: &str, f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = clean.to_vec();
        f(&mut b);
        let crc = crc32(&b[..index_end]);
        put_u32(&mut b, index_end, crc);
        out.push(Variant { name: name.into(), bytes: b, damage: Damage::Inconsistent });
    };
    add("rows x 2^20", &|b| {
        let r = u64_at(b, 8);
        put_u64(b, 8, r << 20)
    });
    add("rows 2^40", &|b| put_u64(b, 8, 1 << 40));
    add("cols 2^63", &|b| put_u64(b, 16, 1 << 63));
    add("block height 2^31", &|b| put_u32(b, 24, 1 << 31));
    add("first tile 2^31 bytes", &|b| put_u32(b, 52, 1 << 31));
    out
}

/// The Bloscpack header's counts inflated, and (in the file without checksums) a chunk's nbytes.
fn inflate_blp(clean: &[u8], nocheck: &[u8]) -> Vec<Variant> {
    let mut out = Vec::new();
    let mut add = |name: &str, src: &[u8], f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = src.to_vec();
        f(&mut b);
        // The chunk fields of the file without checksums cannot match its data: those must fail.
        let damage = if name.contains("no checksums") { Damage::Inconsistent } else { Damage::Corrupted };
        out.push(Variant { name: name.into(), bytes: b, damage });
    };
    add("chunk size 2^31-1", clean, &|b| put_u32(b, 8, i32::MAX as u32));
    add("last chunk 2^31-1", clean, &|b| put_u32(b, 12, i32::MAX as u32));
    add("2^40 chunks", clean, &|b| put_u64(b, 16, 1 << 40));
    add("2^40 append slots", clean, &|b| put_u64(b, 24, 1 << 40));
    // raw.blp has no metadata: the offsets follow the 32-byte header; the first one locates chunk 0.
    let c0 = u64_at(nocheck, 32) as usize;
    add("chunk nbytes 2^31-1 (no checksums)", nocheck, &|b| put_u32(b, c0 + 4, i32::MAX as u32));
    add("chunk blocksize 2^31 (no checksums)", nocheck, &|b| put_u32(b, c0 + 8, 1 << 31));
    add("chunk cbytes 2^31 (no checksums)", nocheck, &|b| put_u32(b, c0 + 12, 1 << 31));
    add("chunk nbytes 2^20 (no checksums)", nocheck, &|b| put_u32(b, c0 + 4, 1 << 20));
    out
}

// ---- running commands on variants ----

/// What a command produces, to check "no partial output" and compare a success with the clean run.
#[derive(Clone, Copy)]
enum Out {
    /// Writes a file (the last argument, inside the run's directory).
    File,
    /// Writes a directory (the last argument, inside the run's directory).
    Dir,
    /// Writes stdout only.
    Stdout,
    /// Modifies the input in place (append): on failure it must be left as it was.
    InPlace,
}

struct Cmd {
    /// Arguments; "{in}" is the hostile input's path, "{out}" the output path, "{extra}" a small valid file.
    args: &'static [&'static str],
    /// File name the hostile input gets (its extension matters to some commands).
    name: &'static str,
    out: Out,
    /// A success must produce the same output as the clean input.
    same: bool,
    /// Decodes every chunk (so it must fail on `Damage::Inconsistent`).
    decodes: bool,
}

fn expand(c: &Cmd, input: &Path, output: &Path, extra: &Path) -> Vec<OsString> {
    c.args
        .iter()
        .map(|a| match *a {
            "{in}" => input.as_os_str().to_os_string(),
            "{out}" => output.as_os_str().to_os_string(),
            "{extra}" => extra.as_os_str().to_os_string(),
            s => OsString::from(s),
        })
        .collect()
}

/// Everything in a directory tree: (relative path, bytes or None for a directory), sorted.
fn tree(d: &Path) -> Vec<(String, Option<Vec<u8>>)> {
    let mut out = Vec::new();
    let mut stack = vec![d.to_path_buf()];
    while let Some(p) = stack.pop() {
        for e in std::fs::read_dir(&p).unwrap() {
            let e = e.unwrap();
            let rel = e.path().strip_prefix(d).unwrap().to_string_lossy().into_owned();
            if e.file_type().unwrap().is_dir() {
                out.push((rel, None));
                stack.push(e.path());
            } else {
                out.push((rel, Some(std::fs::read(e.path()).unwrap())));
            }
        }
    }
    out.sort();
    out
}

/// The result a run left: its output file, directory tree, stdout or modified input.
fn result_of(c: &Cmd, r: &Run, input: &Path, output: &Path) -> Vec<u8> {
    match c.out {
        Out::File => std::fs::read(output).unwrap(),
        Out::Dir => format!("{:?}", tree(output)).into_bytes(),
        Out::Stdout => r.stdout.clone(),
        Out::InPlace => std::fs::read(input).unwrap(),
    }
}

/// Runs `c` on the clean input, then on every variant, with all the checks. Returns how many runs were made.
fn hostile(label: &str, clean: &[u8], vars: &[Variant], cmds: &[Cmd]) -> usize {
    let f = fixtures();
    let root = f.dir.path();
    let extra = root.join("extra.txt");
    let mut runs = 0;
    for c in cmds {
        let mut run_on = |bytes: &[u8], stdin: bool| -> (Run, PathBuf, PathBuf, PathBuf) {
            let d = fresh_dir(root);
            let input = d.join(c.name);
            std::fs::write(&input, bytes).unwrap();
            let outd = d.join("out");
            std::fs::create_dir(&outd).unwrap();
            let output = outd.join(match c.out {
                Out::Dir => "x",
                _ => c.name.rsplit_once('.').map_or("x.out", |(stem, _)| stem),
            });
            let mut args = expand(c, &input, &output, &extra);
            if stdin {
                for a in &mut args {
                    if *a == input.as_os_str() {
                        *a = "-".into();
                    }
                }
            }
            runs += 1;
            let r = daspack(&args, stdin.then_some(bytes));
            (r, input, output, outd)
        };
        let (r, input, output, _) = run_on(clean, false);
        let cmd_text = c.args.join(" ");
        assert!(r.status.success(), "{label}: `{cmd_text}` on the clean input: {}", r.stderr);
        let want = result_of(c, &r, &input, &output);
        for (i, v) in vars.iter().enumerate() {
            // Every fourth variant also goes through stdin where the command reads `-`.
            let stdin = i % 4 == 3 && matches!(c.out, Out::File | Out::Stdout) && c.args.contains(&"{in}");
            let (r, input, output, outd) = run_on(&v.bytes, stdin);
            let what = format!("{label}: `{cmd_text}` on {}{}", v.name, if stdin { " (stdin)" } else { "" });
            let succeeded = check(&r, &what);
            if succeeded {
                assert!(v.damage != Damage::Truncated, "{what}: succeeded on a truncated input");
                assert!(!(c.decodes && v.damage == Damage::Inconsistent), "{what}: succeeded");
                if c.same && v.damage != Damage::Rollback {
                    let got = result_of(c, &r, &input, &output);
                    assert!(got == want, "{what}: succeeded with a different result");
                }
            } else {
                match c.out {
                    Out::File | Out::Dir => {
                        assert!(is_empty_dir(&outd), "{what}: left {:?}", tree(&outd))
                    }
                    Out::InPlace => {
                        assert!(std::fs::read(&input).unwrap() == v.bytes, "{what}: failed but changed the archive")
                    }
                    Out::Stdout => {}
                }
            }
        }
    }
    runs
}

/// The readers of a .dpk archive (single entry).
const DPK_CMDS: &[Cmd] = &[
    Cmd { args: &["decompress", "{in}", "{out}"], name: "in.dpk", out: Out::File, same: true, decodes: true },
    Cmd { args: &["info", "{in}"], name: "in.dpk", out: Out::Stdout, same: false, decodes: false },
    Cmd { args: &["verify", "{in}"], name: "in.dpk", out: Out::Stdout, same: false, decodes: true },
    Cmd { args: &["list", "{in}"], name: "in.dpk", out: Out::Stdout, same: false, decodes: false },
    Cmd { args: &["unpack", "{in}", "{out}"], name: "in.dpk", out: Out::Dir, same: true, decodes: true },
    Cmd { args: &["append", "{in}", "{extra}", "-q"], name: "in.dpk", out: Out::InPlace, same: false, decodes: false },
];

fn report(label: &str, runs: usize, t: Instant) {
    let peak = MAX_SEEN_KB.load(Ordering::Relaxed) as f64 / 1024.0;
    eprintln!("{label}: {runs} runs in {:.1} s (largest peak RSS so far {peak:.1} MB)", t.elapsed().as_secs_f64());
}

fn dpk_hot(a: &[u8]) -> Vec<usize> {
    let (slot, off, _, entries) = dpk_layout(a);
    let e = &entries[entries.len() - 1];
    vec![
        9,
        12,
        slot + 3,
        slot + 8,
        slot + 16,
        slot + 24,
        off,
        off + 4,
        e.size,
        e.chunk_size,
        e.chunks + 8,
        e.chunks + 12,
    ]
}

#[test]
fn hostile_dpk_das() {
    let t = Instant::now();
    let f = fixtures();
    let mut vars = variants(&f.das_dpk, &dpk_hot(&f.das_dpk), 1, 10);
    vars.extend(inflate_dpk(&f.das_dpk));
    let runs = hostile("das.dpk", &f.das_dpk, &vars, DPK_CMDS);
    report("das.dpk", runs, t);
}

#[test]
fn hostile_dpk_zstd() {
    let t = Instant::now();
    let f = fixtures();
    let mut vars = variants(&f.zstd_dpk, &dpk_hot(&f.zstd_dpk), 2, 10);
    vars.extend(inflate_dpk(&f.zstd_dpk));
    let runs = hostile("zstd.dpk", &f.zstd_dpk, &vars, DPK_CMDS);
    report("zstd.dpk", runs, t);
}

#[test]
fn hostile_dpk_multi_entry() {
    let t = Instant::now();
    let f = fixtures();
    let mut vars = variants(&f.multi_dpk, &dpk_hot(&f.multi_dpk), 3, 10);
    // Both slots hold a commit (the archive was appended to): damaging either one selects the other.
    for v in &mut vars {
        let flipped = v.name.strip_suffix(" flipped").and_then(|n| n.rsplit(' ').next()?.parse::<usize>().ok());
        if flipped.is_some_and(|at| (16..80).contains(&at)) {
            v.damage = Damage::Rollback;
        }
    }
    vars.extend(inflate_dpk(&f.multi_dpk));
    let cmds = &[
        Cmd {
            args: &["decompress", "{in}", "{out}", "--entry", "sub/a.npy"],
            name: "in.dpk",
            out: Out::File,
            same: true,
            decodes: true,
        },
        Cmd { args: &["info", "{in}", "-v"], name: "in.dpk", out: Out::Stdout, same: false, decodes: false },
        Cmd { args: &["verify", "{in}"], name: "in.dpk", out: Out::Stdout, same: false, decodes: true },
        Cmd { args: &["list", "{in}"], name: "in.dpk", out: Out::Stdout, same: false, decodes: false },
        Cmd { args: &["unpack", "{in}", "{out}"], name: "in.dpk", out: Out::Dir, same: true, decodes: true },
        Cmd {
            args: &["append", "{in}", "{extra}", "-q"],
            name: "in.dpk",
            out: Out::InPlace,
            same: false,
            decodes: false,
        },
    ];
    let runs = hostile("multi.dpk", &f.multi_dpk, &vars, cmds);
    report("multi.dpk", runs, t);
}

#[test]
fn hostile_bare_stream() {
    let t = Instant::now();
    let f = fixtures();
    let ntiles = u32_at(&f.stream, 48) as usize;
    let hot = [4, 5, 6, 8, 16, 24, 28, 32, 40, 48, 52, 56, 52 + 8 * ntiles];
    let mut vars = variants(&f.stream, &hot, 4, 10);
    vars.extend(inflate_stream(&f.stream));
    let cmds = &[
        Cmd { args: &["decompress", "{in}", "{out}"], name: "in.das", out: Out::File, same: true, decodes: true },
        Cmd { args: &["info", "{in}"], name: "in.das", out: Out::Stdout, same: false, decodes: false },
        Cmd { args: &["verify", "{in}"], name: "in.das", out: Out::Stdout, same: false, decodes: true },
    ];
    let runs = hostile("stream", &f.stream, &vars, cmds);
    report("stream", runs, t);
}

#[test]
fn hostile_blp() {
    let t = Instant::now();
    let f = fixtures();
    let hot = [4, 5, 6, 7, 8, 12, 16, 24, 32, 40, 48, 64];
    let mut vars = variants(&f.blp, &hot, 5, 10);
    vars.extend(inflate_blp(&f.blp, &f.blp_nocheck));
    let cmds = &[
        Cmd { args: &["decompress", "{in}", "{out}"], name: "in.blp", out: Out::File, same: true, decodes: true },
        Cmd { args: &["info", "{in}"], name: "in.blp", out: Out::Stdout, same: false, decodes: false },
        Cmd { args: &["verify", "{in}"], name: "in.blp", out: Out::Stdout, same: false, decodes: true },
        Cmd {
            args: &["append", "{in}", "{extra}", "-q"],
            name: "in.blp",
            out: Out::InPlace,
            same: false,
            decodes: false,
        },
    ];
    let runs = hostile("blp", &f.blp, &vars, cmds);
    report("blp", runs, t);
}

#[test]
fn hostile_sensor() {
    let t = Instant::now();
    let f = fixtures();
    let count = f.sensor_count.to_string();
    let vars = variants(&f.sensor, &[0, 1, 2], 6, 8);
    let count_leak: &'static str = Box::leak(count.into_boxed_str());
    let decode_args: &'static [&'static str] =
        Box::leak(vec!["sensor", "decode", "{in}", "{out}", "--count", count_leak].into_boxed_slice());
    // No checksums: a flipped bit may decode to other items.
    let cmds = [Cmd { args: decode_args, name: "in.bin", out: Out::File, same: false, decodes: true }];
    let mut runs = hostile("sensor", &f.sensor, &vars, &cmds);
    // Inflated counts.
    for count in ["4294967296", "18446744073709551615", "1000000"] {
        let d = fresh_dir(f.dir.path());
        std::fs::write(d.join("in.bin"), &f.sensor).unwrap();
        let out = d.join("out.txt");
        let r = daspack(&os(&[&"sensor", &"decode", &d.join("in.bin"), &out, &"--count", &count]), None);
        runs += 1;
        assert!(!check(&r, &format!("sensor decode --count {count}")), "decoded {count} items");
        assert!(!out.exists());
    }
    // Text series: flipped bits and cuts (a cut may still be a valid, shorter series).
    let text_vars: Vec<Variant> =
        variants(&f.series, &[0, 1, 4], 7, 8).into_iter().map(|v| Variant { damage: Damage::Corrupted, ..v }).collect();
    let cmds = [
        Cmd {
            args: &["sensor", "encode", "{in}", "{out}"],
            name: "in.txt",
            out: Out::File,
            same: false,
            decodes: false,
        },
        Cmd { args: &["sensor", "stats", "{in}"], name: "in.txt", out: Out::Stdout, same: false, decodes: false },
    ];
    runs += hostile("series", &f.series, &text_vars, &cmds);
    report("sensor", runs, t);
}

/// Hostile .npy files: absurd shapes, truncated data, bad dtypes, broken headers.
/// (name, bytes); the names of arrays that are valid after all (no elements) start with "valid".
fn hostile_npys(clean: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut v = vec![
        ("shape 2^40 x 2^40".to_string(), npy_bytes("<i2", "(1099511627776, 1099511627776)", &clean[128..512])),
        ("shape 2^31 x 2^31 x 4".into(), npy_bytes("<i4", "(2147483648, 2147483648, 4)", &[0; 64])),
        ("shape 2^62 x 2".into(), npy_bytes("<i2", "(4611686018427387904, 2)", &[0; 64])),
        ("valid: shape 0 x 2^60".into(), npy_bytes("<i2", "(0, 1152921504606846976)", &[])),
        ("valid: shape 2^60 x 0".into(), npy_bytes("<f8", "(1152921504606846976, 0)", &[])),
        ("shape 100000 x 1000, 4 KB of data".into(), npy_bytes("<i2", "(100000, 1000)", &[7; 4096])),
        ("shape -1 x 5".into(), npy_bytes("<i2", "(-1, 5)", &[0; 10])),
        ("shape (2,".into(), npy_bytes("<i2", "(2,", &[0; 4])),
        ("dtype complex".into(), npy_bytes("<c16", "(4, 4)", &[1; 256])),
        ("dtype object".into(), npy_bytes("|O", "(4,)", &[1; 32])),
        ("dtype unicode".into(), npy_bytes("<U5", "(3,)", &[65; 60])),
        ("dtype int64".into(), npy_bytes("<i8", "(8, 2)", &[3; 128])),
        ("dtype <i0".into(), npy_bytes("<i0", "(8, 2)", &[])),
        ("dtype <i99999999999".into(), npy_bytes("<i99999999999", "(8, 2)", &[3; 16])),
        ("big-endian, truncated".into(), npy_bytes(">i2", "(200, 12)", &clean[128..1000])),
    ];
    let mut b = clean.to_vec();
    b[8..10].copy_from_slice(&u16::MAX.to_le_bytes());
    v.push(("header length 65535".into(), b));
    let mut b = clean.to_vec();
    b[6] = 2;
    b[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
    v.push(("v2 header length 2^32-1".into(), b));
    let mut b = clean.to_vec();
    b[20] = 0xff;
    v.push(("header not UTF-8".into(), b));
    let f3 = npy_bytes("<i2", "(2, 100, 12)", &clean[clean.len() - 4800..]);
    let f3 = String::from_utf8_lossy(&f3[..128])
        .replace("False", "True ")
        .into_bytes()
        .into_iter()
        .chain(f3[128..].iter().copied());
    v.push(("Fortran order rank 3".into(), f3.collect()));
    for cut in [5, 11, 60, 127, 128, 129, clean.len() - 1] {
        v.push((format!("cut at {cut}"), clean[..cut].to_vec()));
    }
    v
}

#[test]
fn hostile_npy_inputs() {
    let t = Instant::now();
    let f = fixtures();
    let root = f.dir.path();
    let mut runs = 0;
    for (name, bytes) in hostile_npys(&f.npy) {
        let d = fresh_dir(root);
        let input = d.join("h.npy");
        std::fs::write(&input, &bytes).unwrap();
        let outd = d.join("out");
        std::fs::create_dir(&outd).unwrap();
        // Must refuse: the array codec needs a valid array.
        let refusing: Vec<Vec<OsString>> = vec![
            os(&[&"compress", &input, &outd.join("s.das"), &"--format", &"stream"]),
            os(&[&"demo", &input]),
            os(&[&"bench", &input, &"--repeats", &"1", &"--no-baseline"]),
        ];
        for args in refusing {
            let r = daspack(&args, None);
            runs += 1;
            let what = format!("{name}: {args:?}");
            if check(&r, &what) {
                // A valid array after all (a shape with zero elements): fine, if the stream decodes.
                assert!(name.starts_with("valid"), "{what}: accepted");
                let _ = std::fs::remove_file(outd.join("s.das"));
            }
        }
        assert!(is_empty_dir(&outd), "{name}: left {:?}", tree(&outd));
        // May succeed (any file can be stored): the archive must then give back the input's bytes.
        for (fmt, out) in [("dpk", "h.dpk"), ("blp", "h.blp")] {
            let o = outd.join(out);
            let r = daspack(&os(&[&"compress", &input, &o, &"--format", &fmt, &"-q"]), None);
            runs += 1;
            let what = format!("{name}: compress --format {fmt}");
            if check(&r, &what) {
                if fmt == "dpk" {
                    let back = outd.join("back.npy");
                    let r = daspack(&os(&[&"decompress", &o, &back]), None);
                    runs += 1;
                    assert!(check(&r, &format!("{what}, decompress")), "{what}: its archive does not decompress");
                    assert!(std::fs::read(&back).unwrap() == bytes, "{what}: round trip differs");
                    std::fs::remove_file(&back).unwrap();
                }
                std::fs::remove_file(&o).unwrap();
            }
            assert!(is_empty_dir(&outd), "{what}: left {:?}", tree(&outd));
        }
        // Appended to an archive, packed in a directory.
        let arch = d.join("a.dpk");
        std::fs::write(&arch, &f.das_dpk).unwrap();
        let r = daspack(&os(&[&"append", &arch, &input, &"-q"]), None);
        runs += 1;
        if !check(&r, &format!("{name}: append")) {
            assert!(std::fs::read(&arch).unwrap() == f.das_dpk, "{name}: append failed but changed the archive");
        }
        let tree_dir = d.join("tree");
        std::fs::create_dir(&tree_dir).unwrap();
        std::fs::copy(&input, tree_dir.join("h.npy")).unwrap();
        let r = daspack(&os(&[&"pack", &tree_dir, &outd.join("p.dpk"), &"-q"]), None);
        runs += 1;
        if !check(&r, &format!("{name}: pack")) {
            assert!(is_empty_dir(&outd), "{name}: pack left {:?}", tree(&outd));
        }
    }
    // Plain hostile files compress as bytes; the text is a control.
    let d = fresh_dir(root);
    std::fs::write(d.join("t.txt"), &f.text).unwrap();
    let r = daspack(&os(&[&"compress", &d.join("t.txt"), &d.join("t.dpk")]), None);
    assert!(check(&r, "text"));
    report("npy", runs + 1, t);
}
