//! The least-squares fit's dot product, dispatched at run time to an AVX2 build of the same loop on x86-64 CPUs
//! that have it. The loop is plain Rust with sixteen independent partial sums (four AVX2 registers, enough to hide
//! the addition latency); both builds add in exactly the same order and neither fuses multiply-add, so the result
//! is bit-identical on every CPU.
#![allow(unsafe_code)]

/// `sum a[i] * b[i]` over the common length.
#[inline(always)]
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above), the only requirement of `dot_avx2`.
            return unsafe { dot_avx2(a, b) };
        }
    }
    dot_lanes(a, b)
}

/// [`dot_lanes`] in 256-bit registers, to the bit: register `j` holds lanes `4j..4j + 4`, each multiplied then
/// added (never fused, as in `dot_lanes`), and the lanes are summed in `dot_lanes`' pairwise order. (Compiled from
/// `dot_lanes` itself, the 16 lanes went into eight 128-bit registers: 2.0 instructions per element, 0.75 here.)
#[cfg(all(target_arch = "x86_64", feature = "std"))]
#[target_feature(enable = "avx2")]
unsafe fn dot_avx2(a: &[f64], b: &[f64]) -> f64 {
    use core::arch::x86_64::*;
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    let mut s = [_mm256_setzero_pd(); 4];
    for (p, q) in ca.zip(cb) {
        for (j, acc) in s.iter_mut().enumerate() {
            // SAFETY: `p` and `q` hold 16 elements, so elements 4j..4j + 4 (j < 4) are in bounds; loadu needs no
            // alignment.
            let (x, y) = unsafe { (_mm256_loadu_pd(p.as_ptr().add(4 * j)), _mm256_loadu_pd(q.as_ptr().add(4 * j))) };
            *acc = _mm256_add_pd(*acc, _mm256_mul_pd(x, y));
        }
    }
    let mut tail = 0f64;
    for (p, q) in ra.iter().zip(rb) {
        tail += p * q;
    }
    // Lanes l += l + 8, then l += l + 4, then l += l + 2, then lane 0 += lane 1.
    let s8 = [_mm256_add_pd(s[0], s[2]), _mm256_add_pd(s[1], s[3])];
    let s4 = _mm256_add_pd(s8[0], s8[1]);
    let s2 = _mm_add_pd(_mm256_castpd256_pd128(s4), _mm256_extractf128_pd::<1>(s4));
    let s1 = _mm_add_sd(s2, _mm_unpackhi_pd(s2, s2));
    _mm_cvtsd_f64(s1) + tail
}

#[inline(always)]
fn dot_lanes(a: &[f64], b: &[f64]) -> f64 {
    const LANES: usize = 16;
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut s = [0f64; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (p, q) in ca.zip(cb) {
        for l in 0..LANES {
            s[l] += p[l] * q[l];
        }
    }
    let mut tail = 0f64;
    for (p, q) in ra.iter().zip(rb) {
        tail += p * q;
    }
    // Pairwise, in a fixed order.
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for l in 0..width {
            s[l] += s[l + width];
        }
    }
    s[0] + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// The AVX2 form must give `dot_lanes`' result to the bit (the Gram sums, hence the coded coefficients, must not
    /// depend on the CPU), on every length around the 16-lane blocks.
    #[test]
    fn dot_is_dot_lanes_to_the_bit() {
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            // Values of very different magnitudes, so that a different order of additions would round differently.
            ((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 10f64.powi((s >> 60) as i32 * 2 - 8)
        };
        let mut differs = 0;
        for n in (0..70).chain([127, 128, 129, 1000, 1023]) {
            let a: Vec<f64> = (0..n).map(|_| next()).collect();
            let b: Vec<f64> = (0..n + 3).map(|_| next()).collect();
            let want = dot_lanes(&a, &b);
            assert_eq!(dot(&a, &b).to_bits(), want.to_bits(), "length {n}");
            assert_eq!(dot(&b, &a).to_bits(), want.to_bits(), "length {n}, swapped");
            // The test's data can tell summation orders apart.
            let sequential: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            differs += (sequential.to_bits() != want.to_bits()) as usize;
        }
        assert!(differs > 10, "only {differs} lengths sum differently in sequence");
    }
}
