//! Quick ratio/speed check on a set of .npy files (development aid; `daspack bench` is the user-facing benchmark).
use daspack::{compress, decompress, npy, Params};
use std::time::Instant;

fn main() {
    let mut geo = 0.0;
    let mut n = 0;
    for path in std::env::args().skip(1) {
        let a = npy::read(path.as_ref()).expect("read");
        if a.data.dtype().is_float() {
            continue;
        }
        let mut p = Params::default();
        if let Ok(v) = std::env::var("FIXED") {
            let v: Vec<u8> = v.split(',').map(|x| x.parse().unwrap()).collect();
            p.auto = false;
            p.lpc_order = v[0];
            p.lpc_space = v[1];
        }
        let t = Instant::now();
        let c = compress(a.data.as_ref(), a.rows, a.cols, &p).expect("compress");
        let ct = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let (_, d) = decompress(&c, 0).expect("decompress");
        let dt = t.elapsed().as_secs_f64();
        assert_eq!(d, a.data, "{path}");
        let raw = a.data.len() * a.data.dtype().size();
        let ratio = raw as f64 / c.len() as f64;
        geo += ratio.ln();
        n += 1;
        println!(
            "{:50} {:8.3} {:8.1} MB/s {:8.1} MB/s",
            path.rsplit('/').next().unwrap(),
            ratio,
            raw as f64 / ct / 1e6,
            raw as f64 / dt / 1e6
        );
    }
    println!("geomean ratio {:.4}", (geo / n as f64).exp());
}
