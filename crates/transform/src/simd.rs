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

#[cfg(all(target_arch = "x86_64", feature = "std"))]
#[target_feature(enable = "avx2")]
unsafe fn dot_avx2(a: &[f64], b: &[f64]) -> f64 {
    dot_lanes(a, b)
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
