//! The released fusion arithmetic, for the exact mode of the official preset (docs/algorithms.md,
//! "Exact mode of the official preset").
//!
//! The released `NonMaximumSuppression` keeps the proposals of one (video, class) in an index
//! array sorted by score ascending and repeatedly takes its last entry as the pivot; the group is
//! the pivot followed by every remaining proposal whose coverage is above the threshold, in the
//! array's order. With `k = exp(w / T)` of each member's inner mean `w` (unshifted), it adds up,
//! in that order, `Σ s·k`, `Σ e·k`, `Σ score·k` and `Σ sign(w)·k` from `0.0`, and divides the
//! first three by the last. Its `np.argsort` (quicksort) leaves the order of equal scores to the
//! NumPy version and the CPU; here it is pinned: equal scores are ordered by descending index,
//! so the pivot among equals is the lowest index, as in the fast path.
//!
//! Grouping is [`greedy_groups`] on the folded rows (a run found at several thresholds is one row
//! of count m, [`crate::core::extract::Fold`]): the pivots and members are the same as on the
//! unfolded list, because copies have equal scores and always join their own row's group. The
//! sums, however, visit every copy separately, at its place in the pinned order, as the released
//! loop does. `k` per row comes from the caller (the bindings use NumPy's `exp`, which differs
//! from the C library's by one ulp on some CPUs).
//!
//! Where the released sums are not finite or the denominator is 0 (`exp(w/T)` overflows for
//! `w/T > 709.78`, or underflows for every member), the released code would produce inf/NaN; the
//! group is then fused with the fast path's max-shifted softmax mean instead, and counted.

use crate::core::fusion::{greedy_groups, push_by_score, softmax_fuse, FuseParams, Workspace};
use crate::core::overlap::order_key;
use crate::core::segments::{Group, Segments};

/// Buffers of [`fuse_group_released`], kept in the per-thread [`Workspace`].
#[derive(Debug, Default)]
pub struct Buffers {
    /// `ptr[r]..ptr[r+1]` indexes `orig` with the proposals that row `r` stands for.
    ptr: Vec<u32>,
    orig: Vec<u32>,
    /// One group's proposals as `(score key, !proposal, row)`.
    entries: Vec<(u64, u32, u32)>,
}

impl Buffers {
    /// Index the proposals of each row from `copy_of` (`None`: row `r` is proposal `r` alone).
    fn index_copies(&mut self, rows: usize, copy_of: Option<&[u32]>) {
        self.ptr.clear();
        self.orig.clear();
        match copy_of {
            None => {
                self.ptr.extend(0..=rows as u32);
                self.orig.extend(0..rows as u32);
            }
            Some(copy_of) => {
                self.ptr.resize(rows + 1, 0);
                for &r in copy_of {
                    self.ptr[r as usize + 1] += 1;
                }
                for r in 0..rows {
                    self.ptr[r + 1] += self.ptr[r];
                }
                self.orig.resize(copy_of.len(), 0);
                let mut fill: Vec<u32> = self.ptr[..rows].to_vec();
                for (o, &r) in copy_of.iter().enumerate() {
                    self.orig[fill[r as usize] as usize] = o as u32;
                    fill[r as usize] += 1;
                }
            }
        }
    }
}

/// `np.sign`.
#[inline]
fn sign(w: f64) -> f64 {
    if w > 0.0 {
        1.0
    } else if w < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// Fuse one (video, label) group with the released arithmetic; rows appended to `out` by fused
/// score descending (stable in pivot order), like [`crate::core::fusion::fuse_group`].
///
/// `g` holds the (possibly folded) rows, `copy_of` which row each proposal of the released list
/// became (`None`: nothing folded), `k[r]` = `exp(inner[r] / T)` of row `r`. `params` must be the
/// released ones (coverage overlap, inner weights, Gaussian template); only `threshold` and, for
/// the fallback, `temperature` are read. Returns how many groups fell back to the shifted form.
pub fn fuse_group_released(
    g: &Group<'_>,
    copy_of: Option<&[u32]>,
    k: &[f64],
    label: i64,
    params: &FuseParams,
    out: &mut Segments,
    ws: &mut Workspace,
) -> usize {
    let Workspace { greedy, weights: w, values: xs, index, rows: fused, keyed, order, released } = ws;
    released.index_copies(g.len(), copy_of);
    let Buffers { ptr, orig, entries } = released;
    fused.clear();
    let mut shifted = 0usize;
    greedy_groups(g, params.overlap, params.threshold, greedy, |_, members| {
        entries.clear();
        for &r in members {
            let key = order_key(g.score[r]);
            for &o in &orig[ptr[r] as usize..ptr[r + 1] as usize] {
                entries.push((key, !o, r as u32));
            }
        }
        entries.sort_unstable();
        // The pivot (highest score, lowest proposal index) first, then the rest ascending.
        let (&pivot, rest) = entries.split_last().expect("a group has its pivot");
        let (mut ss, mut se, mut sq, mut si, mut den) = (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for &(_, _, r) in std::iter::once(&pivot).chain(rest) {
            let r = r as usize;
            let kr = k[r];
            ss += g.start[r] * kr;
            se += g.end[r] * kr;
            sq += g.score[r] * kr;
            si += g.inner[r] * kr;
            den += sign(g.inner[r]) * kr;
        }
        if [ss, se, sq, si, den].iter().all(|v| v.is_finite()) && den != 0.0 {
            fused.push(label, ss / den, se / den, sq / den, si / den);
        } else {
            shifted += 1;
            let (s, e, sc, inn) = softmax_fuse(g, members, params, w, xs, index);
            fused.push(label, s, e, sc, inn);
        }
    });
    push_by_score(fused, keyed, order, out);
    shifted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::fusion::Weight;
    use crate::core::overlap::Overlap;
    use crate::core::template::Template;

    const T: f64 = 0.2;

    fn params() -> FuseParams {
        FuseParams {
            temperature: T,
            threshold: 0.25,
            overlap: Overlap::Coverage,
            weight: Weight::Inner,
            template: Template::Gaussian,
        }
    }

    fn ks(g: &Group<'_>) -> Vec<f64> {
        g.inner.iter().map(|w| (w / T).exp()).collect()
    }

    #[test]
    fn sums_follow_the_released_order() {
        // Rows 0..3 overlap; scores ascending order = 2, 1, 0 -> pivot 0, then 2, then 1.
        let rows = Segments::from_rows(&[(10.0, 20.0, 0.9, 0.3), (11.0, 21.0, 0.5, 0.2), (12.0, 22.0, 0.1, 0.4)]);
        let g = Group::of(&rows);
        let k = ks(&g);
        let mut out = Segments::default();
        assert_eq!(fuse_group_released(&g, None, &k, 0, &params(), &mut out, &mut Workspace::default()), 0);
        let den = ((0.0 + k[0]) + k[2]) + k[1];
        let s = ((0.0 + 10.0 * k[0]) + 12.0 * k[2]) + 11.0 * k[1];
        let q = ((0.0 + 0.9 * k[0]) + 0.1 * k[2]) + 0.5 * k[1];
        assert_eq!(out.start, vec![s / den]);
        assert_eq!(out.score, vec![q / den]);
    }

    #[test]
    fn folded_copies_are_added_one_by_one() {
        // Row 0 stands for proposals 0 and 2, row 1 for proposal 1 (same score as row 0):
        // order by (score, -proposal): 2 (row 0), 1 (row 1), 0 (row 0) -> pivot 0, then 2, 1.
        let rows = Segments::from_rows(&[(10.0, 20.0, 0.5, 0.3), (11.0, 21.0, 0.5, 0.2)]);
        let g = Group::of(&rows);
        let k = ks(&g);
        let mut out = Segments::default();
        fuse_group_released(&g, Some(&[0, 1, 0]), &k, 0, &params(), &mut out, &mut Workspace::default());
        let den = ((0.0 + k[0]) + k[0]) + k[1];
        let e = ((0.0 + 20.0 * k[0]) + 20.0 * k[0]) + 21.0 * k[1];
        assert_eq!(out.end, vec![e / den]);
    }

    #[test]
    fn singletons_are_divided_too_and_signs_enter_the_denominator() {
        let rows = Segments::from_rows(&[(3.0, 9.0, 0.4, -0.1), (40.0, 50.0, 0.2, 0.3)]);
        let g = Group::of(&rows);
        let k = ks(&g);
        let mut out = Segments::default();
        fuse_group_released(&g, None, &k, 0, &params(), &mut out, &mut Workspace::default());
        // A negative weight flips the sign of the quotient, as in the released code (its
        // fused score -0.4 now sorts last).
        assert_eq!(out.start, vec![(40.0 * k[1]) / k[1], (3.0 * k[0]) / -k[0]]);
        assert_eq!(out.score[1], (0.4 * k[0]) / -k[0]);
    }

    #[test]
    fn overflow_falls_back_to_the_shifted_form() {
        let rows = Segments::from_rows(&[(0.0, 10.0, 0.9, 200.0), (1.0, 11.0, 0.5, 199.0)]);
        let g = Group::of(&rows);
        let k = ks(&g);
        assert!(k[0].is_infinite());
        let mut out = Segments::default();
        let mut ws = Workspace::default();
        assert_eq!(fuse_group_released(&g, None, &k, 0, &params(), &mut out, &mut ws), 1);
        let mut fast = Segments::default();
        crate::core::fusion::fuse_group(&g, 0, &params(), &mut fast, &mut ws);
        assert_eq!(out, fast);
    }
}
