//! Times the array codec alone on a .npy file, for profiling: `codec_speed FILE.npy c|d REPEATS [THREADS]` runs
//! compression (c) or decompression (d) REPEATS times in memory and prints the median MB/s of original bytes.
//! Run it under `/usr/bin/time` or `perf` to see CPU time; `daspack bench` is the benchmark of record.
use daspack::{compress, decompress, npy, Params};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (path, what, reps) = (&args[1], args[2].as_str(), args[3].parse::<usize>().unwrap());
    let threads = args.get(4).map_or(1, |t| t.parse().unwrap());
    let a = npy::read(std::path::Path::new(path)).unwrap();
    let (rows, cols) = npy::view_2d(&a.shape).unwrap();
    let p = Params { threads, ..Params::default() };
    let packed = compress(a.data.as_ref(), rows, cols, &p).unwrap();
    let bytes = a.data.len() * a.data.dtype().size();
    let mut times = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        if what == "c" {
            std::hint::black_box(compress(a.data.as_ref(), rows, cols, &p).unwrap());
        } else {
            std::hint::black_box(decompress(&packed, threads).unwrap());
        }
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let med = times[times.len() / 2];
    println!("{what}: ratio {:.4} median {:.1} MB/s", bytes as f64 / packed.len() as f64, bytes as f64 / med / 1e6);
}
