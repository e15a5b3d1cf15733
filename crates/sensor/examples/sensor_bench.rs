//! Throughput of the sensor codec on a slowly varying temperature-like series.
//!
//! `cargo run --release -p daspack-sensor --example sensor_bench [-- SAMPLES]`
//!
//! The series: one reading per second of a 12-bit temperature sensor with 0.0625 °C per count
//! (a diurnal sinusoid of ±5 °C around 19 °C, a 90-minute heating cycle of ±0.6 °C, a slow random
//! drift and 0.01 °C of Gaussian noise), with the odd no-measurement gap. It is encoded and
//! decoded 5 times on one thread; the medians are reported with the size.

use std::hint::black_box;
use std::time::Instant;

use daspack_sensor::{max_encoded_len, Decoder, Encoder, SLOT_NO_MEASUREMENT};

/// xorshift64*: a small deterministic generator, enough for test data.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Standard normal (Box-Muller).
    fn gauss(&mut self) -> f64 {
        let u = self.uniform().max(1e-300);
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

fn temperature_series(n: usize, seed: u64) -> Vec<i16> {
    let mut rng = Rng(seed);
    let mut drift = 0.0f64;
    let tau = 2.0 * std::f64::consts::PI;
    (0..n)
        .map(|i| {
            let t = i as f64; // seconds
            drift += 0.0005 * rng.gauss();
            let celsius = 19.0
                + 5.0 * (tau * t / 86_400.0).sin()
                + 0.6 * (tau * t / 5_400.0 + 1.0).sin()
                + drift
                + 0.01 * rng.gauss();
            if rng.uniform() < 2e-5 {
                SLOT_NO_MEASUREMENT
            } else {
                ((celsius / 0.0625).round() as i32).clamp(-2048, 2047) as i16
            }
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10_000_000);
    let series = temperature_series(n, 0x5eed_1234_abcd_0001);
    let gaps = series.iter().filter(|&&v| v == SLOT_NO_MEASUREMENT).count();
    let mut buf = vec![0u8; max_encoded_len(n)];
    let mut out = vec![0i16; n];
    let (mut enc_t, mut dec_t) = (Vec::new(), Vec::new());
    let (mut bytes, mut bits) = (0, 0);

    for _ in 0..5 {
        let t = Instant::now();
        let mut enc = Encoder::new(&mut buf);
        enc.push_slots(black_box(&series)).expect("encode");
        bytes = enc.finish().expect("finish");
        bits = enc.bit_len();
        let items = enc.items();
        enc_t.push(t.elapsed().as_secs_f64());

        let t = Instant::now();
        let mut dec = Decoder::new(black_box(&buf[..bytes]), items);
        let got = dec.decode_into(&mut out).expect("decode");
        dec_t.push(t.elapsed().as_secs_f64());
        assert_eq!(got, n);
        dec.check_end().expect("clean end");
        assert!(out == series, "round trip mismatch");
    }

    let enc_s = median(enc_t);
    let dec_s = median(dec_t);
    let bps = bits as f64 / n as f64;
    println!("series: {n} samples ({gaps} no-measurement gaps), temperature-like, 1 Hz");
    println!("encoded: {bytes} bytes, {bits} bits, {bps:.3} bits/sample");
    println!("reduction vs 16-bit storage: {:.2} %", 100.0 * (1.0 - bytes as f64 / (2.0 * n as f64)));
    println!("encode: {:.1} M samples/s (median of 5, {:.1} ms)", n as f64 / enc_s / 1e6, enc_s * 1e3);
    println!("decode: {:.1} M samples/s (median of 5, {:.1} ms)", n as f64 / dec_s / 1e6, dec_s * 1e3);
}
