//! Synthetic DAS recordings: a deterministic stand-in for real data when none is at hand (demo, tests, benches).
//!
//! A block of `rows` time samples x `cols` channels of int32 counts is the sum of
//! - coherent wavefronts: a few Ricker-like wavelets and a surface-wave train crossing the fibre with apparent
//!   velocities of a few channels per sample (so neighbouring channels see the same signal, slightly delayed);
//! - a common-mode term shared by all channels (laser phase noise: a slow random walk plus a hum line);
//! - instrument noise: Gaussian, independent per sample, with a per-channel gain (fibre coupling varies).

/// A small, fast, deterministic generator (SplitMix64).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u = self.uniform().max(1e-300);
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// A synthetic DAS block of int32 counts, row-major `rows x cols`.
pub fn das_block(rows: usize, cols: usize, seed: u64) -> Vec<i32> {
    let mut rng = Rng::new(seed);
    let mut out = vec![0f64; rows * cols];
    // Coherent events: (start time, origin channel, velocity in channels/sample, dominant period, amplitude).
    let nevents = 3 + (rows * cols / 200_000).min(20);
    for _ in 0..nevents {
        let t0 = rng.uniform() * rows as f64;
        let c0 = rng.uniform() * cols as f64;
        let vel = (0.5 + rng.uniform() * 4.0) * if rng.uniform() < 0.5 { -1.0 } else { 1.0 };
        let period = 8.0 + rng.uniform() * 40.0;
        let amp = 200.0 + rng.uniform() * 1500.0;
        for c in 0..cols {
            let arrival = t0 + (c as f64 - c0).abs() / vel.abs();
            let lo = (arrival - 3.0 * period).max(0.0) as usize;
            let hi = ((arrival + 3.0 * period).max(0.0) as usize).min(rows);
            let atten = amp / (1.0 + (c as f64 - c0).abs() / 500.0);
            for t in lo..hi {
                let x = (t as f64 - arrival) / period * std::f64::consts::PI;
                out[t * cols + c] += atten * (1.0 - 2.0 * x * x) * (-x * x).exp();
            }
        }
    }
    // A surface-wave train: a slow dispersive sinusoid sweeping across the fibre.
    let sw_amp = 80.0 + rng.uniform() * 120.0;
    let sw_vel = 1.0 + rng.uniform() * 2.0;
    for t in 0..rows {
        for c in 0..cols {
            out[t * cols + c] += sw_amp * ((t as f64 - c as f64 / sw_vel) * 0.02).sin();
        }
    }
    // Common mode and noise.
    let gains: Vec<f64> = (0..cols).map(|_| 8.0 + rng.uniform() * 10.0).collect();
    let mut walk = 0.0;
    for t in 0..rows {
        walk += rng.normal() * 3.0;
        let common = walk + 25.0 * (t as f64 * std::f64::consts::TAU * 50.0 / 1000.0).sin();
        for c in 0..cols {
            let v = out[t * cols + c] + common + gains[c] * rng.normal();
            out[t * cols + c] = v;
        }
    }
    out.into_iter().map(|v| v.round().clamp(i32::MIN as f64, i32::MAX as f64) as i32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_is_deterministic_and_coherent() {
        let a = das_block(500, 64, 7);
        assert_eq!(a, das_block(500, 64, 7));
        assert_ne!(a, das_block(500, 64, 8));
        // Neighbouring channels are correlated: their difference varies less than the signal.
        let var = |v: &[f64]| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64
        };
        let sig: Vec<f64> = (0..500).map(|t| a[t * 64 + 10] as f64).collect();
        let diff: Vec<f64> = (0..500).map(|t| (a[t * 64 + 10] - a[t * 64 + 11]) as f64).collect();
        assert!(var(&diff) < var(&sig), "{} vs {}", var(&diff), var(&sig));
    }
}
