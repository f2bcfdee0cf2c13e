//! NumPy's summation, restated: `np.add.reduce` / `np.mean` of a 1-D float32 or float64 array,
//! bit for bit, for the exact mode of the official preset (docs/algorithms.md, "Exact mode of
//! the official preset").
//!
//! What NumPy does (checked against NumPy 2.4 for lengths 0–300 and up to 40,000, strided and
//! contiguous, float32 and float64; the algorithm has been the same since NumPy 1.9):
//!
//! * the reduction starts from the identity `0.0` and adds the *pairwise sum* of all elements,
//!   in the array's own dtype (float32 arrays accumulate in float32);
//! * pairwise sum of `n` elements: below 8 a plain left-to-right loop starting at `-0.0`; from 8
//!   to 128 eight accumulators (element `i` into accumulator `i mod 8`, over the largest multiple
//!   of 8), combined `((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7))`, then the remaining `n mod 8`
//!   elements added in order; above 128 the sums of the first `m` and the last `n - m` elements,
//!   `m = n/2` rounded down to a multiple of 8;
//! * the inner loop gets the whole 1-D array at once (no 8192-element buffer chunks), so a
//!   strided view sums exactly like its contiguous copy;
//! * `np.mean` divides the sum by the count in float64 (`sum / np.intp(n)`) and casts back to
//!   the dtype. For float32 that equals the correctly rounded float32 quotient (float64 has more
//!   than 2·24 + 2 bits, so the double rounding is harmless).

use std::ops::{Add, Sub};

/// The two dtypes NumPy sums this way (and the TCAM dtypes exact mode reproduces).
pub trait NumpyFloat: Copy + PartialOrd + Add<Output = Self> + Sub<Output = Self> + Send + Sync + 'static {
    const ZERO: Self;
    const NEG_ZERO: Self;
    fn to_f64(self) -> f64;
    /// Round to this dtype (the identity for f64).
    fn from_f64(x: f64) -> Self;
    fn is_nan(self) -> bool;
    fn is_finite(self) -> bool;
}

impl NumpyFloat for f64 {
    const ZERO: Self = 0.0;
    const NEG_ZERO: Self = -0.0;
    #[inline]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline]
    fn from_f64(x: f64) -> Self {
        x
    }
    #[inline]
    fn is_nan(self) -> bool {
        f64::is_nan(self)
    }
    #[inline]
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }
}

impl NumpyFloat for f32 {
    const ZERO: Self = 0.0;
    const NEG_ZERO: Self = -0.0;
    #[inline]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline]
    fn from_f64(x: f64) -> Self {
        x as f32 // round to nearest, ties to even
    }
    #[inline]
    fn is_nan(self) -> bool {
        f32::is_nan(self)
    }
    #[inline]
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }
}

/// Largest block summed with the eight accumulators.
const BLOCK: usize = 128;

/// NumPy's pairwise sum of `x` (without the reduction's starting `0.0`).
pub fn pairwise_sum<T: NumpyFloat>(x: &[T]) -> T {
    let n = x.len();
    if n < 8 {
        return x.iter().fold(T::NEG_ZERO, |acc, &v| acc + v);
    }
    if n <= BLOCK {
        let mut r = [T::ZERO; 8];
        r.copy_from_slice(&x[..8]);
        let whole = n - n % 8;
        for chunk in x[8..whole].chunks_exact(8) {
            for (acc, &v) in r.iter_mut().zip(chunk) {
                *acc = *acc + v;
            }
        }
        let combined = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        return x[whole..].iter().fold(combined, |acc, &v| acc + v);
    }
    let half = n / 2;
    let m = half - half % 8;
    pairwise_sum(&x[..m]) + pairwise_sum(&x[m..])
}

/// `np.add.reduce(x)`: `0.0 + pairwise_sum(x)` (so an empty or all-`-0.0` array sums to `+0.0`).
#[inline]
pub fn numpy_sum<T: NumpyFloat>(x: &[T]) -> T {
    T::ZERO + pairwise_sum(x)
}

/// `np.mean(x)` of a non-empty array, in its dtype.
#[inline]
pub fn numpy_mean<T: NumpyFloat>(x: &[T]) -> T {
    debug_assert!(!x.is_empty());
    T::from_f64(numpy_sum(x).to_f64() / x.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_arrays_add_left_to_right() {
        let x = [0.1f64, 0.2, 0.3];
        assert_eq!(numpy_sum(&x), 0.0 + ((-0.0 + 0.1) + 0.2) + 0.3);
        assert_eq!(numpy_sum::<f64>(&[]).to_bits(), 0.0f64.to_bits());
        assert_eq!(numpy_sum(&[-0.0f64]).to_bits(), 0.0f64.to_bits());
        assert_eq!(pairwise_sum(&[-0.0f64]).to_bits(), (-0.0f64).to_bits());
    }

    #[test]
    fn blocks_use_eight_interleaved_accumulators() {
        // 11 values: accumulators 0..8 get x0..x7 then x8 is in the tail (11 - 11 % 8 = 8).
        let x: Vec<f64> = (0..11).map(|i| 1.0 + (i as f64) * 1e-16 * 3.0).collect();
        let r: Vec<f64> = x[..8].to_vec();
        let combined = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        assert_eq!(pairwise_sum(&x), ((combined + x[8]) + x[9]) + x[10]);
        // 17 values: two rounds of eight, then one tail value.
        let y: Vec<f64> = (0..17).map(|i| 0.1 * i as f64 + 1e-3).collect();
        let r: Vec<f64> = (0..8).map(|k| y[k] + y[k + 8]).collect();
        let combined = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        assert_eq!(pairwise_sum(&y), combined + y[16]);
    }

    #[test]
    fn long_arrays_split_at_a_multiple_of_eight() {
        let x: Vec<f32> = (0..300).map(|i| ((i * 37 % 101) as f32) * 1e-3 + 0.01).collect();
        // 300 -> 144 + 156 (150 rounded down to a multiple of 8); 156 -> 72 + 84.
        let right = pairwise_sum(&x[144..216]) + pairwise_sum(&x[216..]);
        assert_eq!(pairwise_sum(&x), pairwise_sum(&x[..144]) + right);
    }

    #[test]
    fn float32_mean_is_the_rounded_quotient() {
        let x = [0.1f32, 0.2, 0.7];
        let s = numpy_sum(&x);
        assert_eq!(numpy_mean(&x), s / 3.0);
        // The sum stays in float32 (not accumulated in float64).
        let y: Vec<f32> = vec![1.0e-3; 1000];
        let f32_sum = numpy_sum(&y);
        assert_ne!(f32_sum as f64, y.iter().map(|&v| v as f64).sum::<f64>());
    }
}
