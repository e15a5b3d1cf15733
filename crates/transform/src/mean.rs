//! Mean removal: subtracts the rounded mean of a block so that order-0 coding sees values centred on zero.

/// Rounded (half away from zero) mean of `x`; 0 for an empty slice.
pub fn mean(x: &[i64]) -> i64 {
    if x.is_empty() {
        return 0;
    }
    let sum: i128 = x.iter().map(|&v| v as i128).sum();
    let n = x.len() as i128;
    let m = if sum >= 0 { (sum + n / 2) / n } else { (sum - n / 2) / n };
    m as i64
}

/// Subtracts `m` from every element (wrapping: a decoder on hostile input must not panic).
pub fn subtract(x: &mut [i64], m: i64) {
    x.iter_mut().for_each(|v| *v = v.wrapping_sub(m));
}

/// Adds `m` back to every element.
pub fn add(x: &mut [i64], m: i64) {
    x.iter_mut().for_each(|v| *v = v.wrapping_add(m));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_rounds_and_round_trips() {
        assert_eq!(mean(&[]), 0);
        assert_eq!(mean(&[1, 2]), 2);
        assert_eq!(mean(&[-1, -2]), -2);
        let mut x = [5i64, -7, 100, i32::MIN as i64];
        let orig = x;
        let m = mean(&x);
        subtract(&mut x, m);
        add(&mut x, m);
        assert_eq!(x, orig);
    }
}
