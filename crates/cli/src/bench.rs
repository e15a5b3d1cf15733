//! `daspack bench`: ratio and in-memory speed of the codec on .npy files, beside zstd level 3 on byte-shuffled
//! data measured in the same run. MB = 1e6 bytes of original data; times are medians of `--repeats` runs.

use crate::{as_f64, read_npy, CodecArgs};
use anyhow::{Context, Result};
use clap::Args;
use daspack::ArrayRef;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// .npy files to measure.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    #[command(flatten)]
    codec: CodecArgs,
    /// Runs per measurement (the median is reported).
    #[arg(long, default_value_t = 5)]
    repeats: usize,
    /// Also write the results as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Error bound relative to each file's standard deviation (E = R * std); overrides --abs-error.
    #[arg(long)]
    rel_error: Option<f64>,
    /// Repeat each array this many times along time before measuring (for speed tests on small files).
    #[arg(long, default_value_t = 1)]
    repeat_time: usize,
    /// Skip the zstd baseline.
    #[arg(long)]
    no_baseline: bool,
    /// Also measure this many threads, alternating with --threads run by run, and print the speed-up of --threads
    /// over it: the median of the run-by-run ratios (this machine's speed drifts from one minute to the next, so
    /// separate measurements of the two do not compare). Checks that both give the same stream.
    #[arg(long)]
    compare_threads: Option<usize>,
}

/// Largest |a - b| over all elements (NaNs at the same place count as equal).
pub fn max_abs_error(a: ArrayRef<'_>, b: ArrayRef<'_>) -> f64 {
    as_f64(a)
        .iter()
        .zip(as_f64(b))
        .map(|(&x, y)| if x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()) { 0.0 } else { (x - y).abs() })
        .fold(0.0, f64::max)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn timed<T>(repeats: usize, mut f: impl FnMut() -> Result<T>) -> Result<(T, f64)> {
    let mut times = Vec::with_capacity(repeats);
    let mut last = None;
    for _ in 0..repeats.max(1) {
        let t = Instant::now();
        last = Some(f()?);
        times.push(t.elapsed().as_secs_f64());
    }
    Ok((last.expect("at least one run"), median(times)))
}

/// Times of `repeats` runs of `f` with each of `threads`, the thread counts taking turns run by run: the last
/// result and the list of times of each thread count.
fn alternating<T>(
    repeats: usize,
    threads: [usize; 2],
    mut f: impl FnMut(usize) -> Result<T>,
) -> Result<([T; 2], [Vec<f64>; 2])> {
    let mut times = [Vec::with_capacity(repeats), Vec::with_capacity(repeats)];
    let mut last = [None, None];
    for _ in 0..repeats.max(1) {
        for (i, &n) in threads.iter().enumerate() {
            let t = Instant::now();
            last[i] = Some(f(n)?);
            times[i].push(t.elapsed().as_secs_f64());
        }
    }
    let [a, b] = last;
    Ok(([a.expect("at least one run"), b.expect("at least one run")], times))
}

/// The second thread count of `--compare-threads`: its median times and the speed-ups over it.
struct Compared {
    threads: usize,
    compress_s: f64,
    decompress_s: f64,
    compress_speedup: f64,
    decompress_speedup: f64,
}

/// Speed-up of the first thread count over the second: the median of the run-by-run ratios of `times`.
fn speedup(times: &[Vec<f64>; 2]) -> f64 {
    median(times[1].iter().zip(&times[0]).map(|(slow, fast)| slow / fast).collect())
}

/// Byte shuffle (Blosc's): byte j of every element, then byte j+1, ...
fn shuffle(bytes: &[u8], size: usize) -> Vec<u8> {
    let n = bytes.len() / size;
    let mut out = vec![0u8; bytes.len()];
    for j in 0..size {
        for i in 0..n {
            out[j * n + i] = bytes[i * size + j];
        }
    }
    out
}

fn unshuffle(bytes: &[u8], size: usize) -> Vec<u8> {
    let n = bytes.len() / size;
    let mut out = vec![0u8; bytes.len()];
    for j in 0..size {
        for i in 0..n {
            out[i * size + j] = bytes[j * n + i];
        }
    }
    out
}

pub fn run(a: BenchArgs) -> Result<()> {
    let mut params = a.codec.params();
    let mut rows_json = Vec::new();
    println!(
        "{:<44} {:>8} {:>9} {:>9} {:>10} | {:>8} {:>9} {:>9}",
        "file", "ratio", "comp MB/s", "dec MB/s", "max err", "zstd3+sh", "comp MB/s", "dec MB/s"
    );
    for path in &a.files {
        let mut arr = read_npy(path)?;
        if a.repeat_time > 1 {
            arr = repeat_time(&arr, a.repeat_time);
        }
        if let Some(rel) = a.rel_error {
            params.abs_error = rel * std_dev(&as_f64(arr.data.as_ref()));
        }
        let raw = arr.data.len() * arr.data.dtype().size();
        let mb = raw as f64 / 1e6;
        let (packed, ct, dt, back, compared);
        if let Some(other) = a.compare_threads {
            let threads = [params.threads, other];
            let (streams, ctimes) = alternating(a.repeats, threads, |n| {
                let p = daspack::Params { threads: n, ..params.clone() };
                daspack::compress(arr.data.as_ref(), arr.rows, arr.cols, &p)
                    .with_context(|| format!("cannot compress {}", path.display()))
            })?;
            anyhow::ensure!(streams[0] == streams[1], "{}: the stream depends on the thread count", path.display());
            let [s, _] = streams;
            packed = s;
            let (arrays, dtimes) = alternating(a.repeats, threads, |n| Ok(daspack::decompress(&packed, n)?.1))?;
            let [b, _] = arrays;
            back = b;
            (ct, dt) = (median(ctimes[0].clone()), median(dtimes[0].clone()));
            compared = Some(Compared {
                threads: other,
                compress_s: median(ctimes[1].clone()),
                decompress_s: median(dtimes[1].clone()),
                compress_speedup: speedup(&ctimes),
                decompress_speedup: speedup(&dtimes),
            });
        } else {
            (packed, ct) = timed(a.repeats, || {
                daspack::compress(arr.data.as_ref(), arr.rows, arr.cols, &params)
                    .with_context(|| format!("cannot compress {}", path.display()))
            })?;
            (back, dt) = timed(a.repeats, || Ok(daspack::decompress(&packed, params.threads)?.1))?;
            compared = None;
        }
        let err = max_abs_error(arr.data.as_ref(), back.as_ref());
        let exact = arr.data.to_le_bytes() == back.to_le_bytes();
        anyhow::ensure!(exact || err <= params.abs_error, "{}: error bound violated ({err})", path.display());
        let ratio = raw as f64 / packed.len() as f64;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let mut row = serde_json::json!({
            "file": name, "dtype": arr.data.dtype().name(), "rows": arr.rows, "cols": arr.cols,
            "bytes": raw, "compressed": packed.len(), "ratio": ratio,
            "compress_mb_s": mb / ct, "decompress_mb_s": mb / dt, "max_abs_error": err,
            "abs_error": params.abs_error, "threads": params.threads, "repeats": a.repeats,
        });
        if let Some(c) = &compared {
            row["compared"] = serde_json::json!({
                "threads": c.threads, "compress_mb_s": mb / c.compress_s, "decompress_mb_s": mb / c.decompress_s,
                "compress_speedup": c.compress_speedup, "decompress_speedup": c.decompress_speedup,
            });
        }
        let mut baseline = String::new();
        if !a.no_baseline {
            let bytes = arr.data.to_le_bytes();
            let size = arr.data.dtype().size();
            let (z, zc) = timed(a.repeats, || Ok(zstd::bulk::compress(&shuffle(&bytes, size), 3)?))?;
            let (zb, zd) = timed(a.repeats, || Ok(unshuffle(&zstd::bulk::decompress(&z, bytes.len())?, size)))?;
            anyhow::ensure!(zb == bytes, "zstd baseline round trip failed");
            let zr = raw as f64 / z.len() as f64;
            baseline = format!("{:>8.3} {:>9.1} {:>9.1}", zr, mb / zc, mb / zd);
            row["zstd3_shuffle"] =
                serde_json::json!({"ratio": zr, "compress_mb_s": mb / zc, "decompress_mb_s": mb / zd});
        }
        let name =
            if a.repeat_time > 1 { format!("{name} x{} ({}x{})", a.repeat_time, arr.rows, arr.cols) } else { name };
        println!("{:<44} {:>8.3} {:>9.1} {:>9.1} {:>10.3e} | {}", name, ratio, mb / ct, mb / dt, err, baseline);
        if let Some(c) = &compared {
            let label = format!("  ({} threads; speed-up of {} over it)", c.threads, params.threads);
            let (sc, sd) = (c.compress_speedup, c.decompress_speedup);
            let speeds = format!("{:>9.1} {:>9.1}", mb / c.compress_s, mb / c.decompress_s);
            println!("{label:<44} {:>8} {speeds} {:>10} | {sc:.2}x compress, {sd:.2}x decompress", "", "");
        }
        rows_json.push(row);
    }
    if let Some(p) = &a.json {
        let text = serde_json::to_string_pretty(&rows_json)?;
        crate::output::write_bytes(p, true, text.as_bytes())?;
    }
    Ok(())
}

fn std_dev(v: &[f64]) -> f64 {
    let n = v.len().max(1) as f64;
    let m = v.iter().sum::<f64>() / n;
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n).sqrt()
}

/// The array repeated `n` times along time (rows).
fn repeat_time(a: &daspack::npy::Npy, n: usize) -> daspack::npy::Npy {
    fn rep<T: Clone>(v: &[T], n: usize) -> Vec<T> {
        let mut out = Vec::with_capacity(v.len() * n);
        (0..n).for_each(|_| out.extend_from_slice(v));
        out
    }
    use daspack::ArrayBuf as B;
    let data = match &a.data {
        B::I16(v) => B::I16(rep(v, n)),
        B::U16(v) => B::U16(rep(v, n)),
        B::I32(v) => B::I32(rep(v, n)),
        B::F32(v) => B::F32(rep(v, n)),
        B::F64(v) => B::F64(rep(v, n)),
    };
    daspack::npy::Npy { shape: vec![a.rows * n, a.cols], rows: a.rows * n, cols: a.cols, data }
}
