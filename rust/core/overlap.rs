//! Overlap measures and the start-sorted candidate window used by fusion, NMS and soft-NMS.
//!
//! Any overlap above a non-negative threshold needs the two segments to intersect (with the
//! `+1` of `coverage`, to come within one snippet), so a pivot's candidates have starts in
//! `[s_p - maxlen - 1, e_p + 1]`: a binary search plus a scan over the rows still alive,
//! instead of a pass over every remaining row per pivot.

/// How much a candidate `j` overlaps a pivot `p`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlap {
    /// The released code's measure: `max(0, min(e_p,e_j) - max(s_p,s_j) + 1) / (e_j - s_j + 1)`,
    /// the fraction of the candidate covered, with inclusive `+1` lengths. Not symmetric.
    Coverage,
    /// Continuous temporal IoU; 0 when both segments have zero length.
    Iou,
}

impl Overlap {
    /// Overlap of candidate `(sj, ej)` with pivot `(sp, ep)`.
    #[inline]
    pub fn of(self, sp: f64, ep: f64, sj: f64, ej: f64) -> f64 {
        match self {
            Overlap::Coverage => (ep.min(ej) - sp.max(sj) + 1.0).max(0.0) / (ej - sj + 1.0),
            Overlap::Iou => iou(sp, ep, sj, ej),
        }
    }
}

/// Continuous temporal IoU of `[sa, ea)` and `[sb, eb)`; 0 when the union is empty.
#[inline]
pub fn iou(sa: f64, ea: f64, sb: f64, eb: f64) -> f64 {
    let inter = (ea.min(eb) - sa.max(sb)).max(0.0);
    let union = (ea - sa) + (eb - sb) - inter;
    if union > 0.0 {
        inter / union
    } else {
        0.0
    }
}

/// Rows sorted by start, with "next alive" links so removed rows cost nothing to skip.
/// Buffers are kept between uses ([`Window::reset`]).
#[derive(Debug, Default)]
pub struct Window {
    /// Row index at each sorted position.
    rows: Vec<u32>,
    starts: Vec<f64>,
    /// Sorted position of each row.
    pos: Vec<u32>,
    /// `next[q]`: a position `>= q` that may be alive (path-compressed; `len` = none).
    next: Vec<u32>,
    maxlen: f64,
    keyed: Vec<(u64, u32)>,
}

impl Window {
    pub fn new(start: &[f64], end: &[f64]) -> Self {
        let mut w = Window::default();
        w.reset(start, end);
        w
    }

    /// Index the rows `start`/`end`, all alive.
    pub fn reset(&mut self, start: &[f64], end: &[f64]) {
        let n = start.len();
        self.keyed.clear();
        self.keyed.extend(start.iter().enumerate().map(|(i, &s)| (order_key(s), i as u32)));
        // Stable merge sort on plain keys: extraction output is a few sorted runs (one per
        // threshold), which it merges in near-linear time.
        self.keyed.sort();
        self.rows.clear();
        self.rows.extend(self.keyed.iter().map(|&(_, i)| i));
        self.pos.clear();
        self.pos.resize(n, 0);
        for (q, &r) in self.rows.iter().enumerate() {
            self.pos[r as usize] = q as u32;
        }
        self.starts.clear();
        self.starts.extend(self.rows.iter().map(|&r| start[r as usize]));
        self.next.clear();
        self.next.extend(0..=n as u32);
        self.maxlen = start.iter().zip(end).map(|(s, e)| e - s).fold(0.0, f64::max);
    }

    /// Remove `row` from every later scan.
    #[inline]
    pub fn remove(&mut self, row: usize) {
        let q = self.pos[row] as usize;
        self.next[q] = q as u32 + 1;
    }

    #[inline]
    fn find(&mut self, mut q: usize) -> usize {
        let mut root = q;
        while self.next[root] as usize != root {
            root = self.next[root] as usize;
        }
        while self.next[q] as usize != root {
            let nq = self.next[q] as usize;
            self.next[q] = root as u32;
            q = nq;
        }
        root
    }

    /// Call `f(row)` for every alive row that could overlap `[sp, ep)` (a superset of the rows
    /// with `min(e)-max(s)+1 > 0`), in start order.
    pub fn for_each_near(&mut self, sp: f64, ep: f64, mut f: impl FnMut(usize)) {
        // Slack of two snippets plus a relative term absorbs rounding in the bounds; the
        // caller applies the exact test.
        let slack = 2.0 + 1e-12 * (sp.abs() + ep.abs() + self.maxlen);
        let lo = sp - self.maxlen - slack;
        let hi = ep + slack;
        let mut q = self.starts.partition_point(|&s| s < lo);
        loop {
            q = self.find(q);
            if q >= self.starts.len() || self.starts[q] > hi {
                break;
            }
            f(self.rows[q] as usize);
            q += 1;
        }
    }
}

/// An unsigned key that orders finite floats numerically, with `-0.0` and `0.0` equal (so they
/// tie and the lower index wins). Sorting `(key, index)` pairs directly is several times
/// faster than an index sort through a comparison closure.
#[inline]
pub fn order_key(x: f64) -> u64 {
    let b = (x + 0.0).to_bits(); // -0.0 + 0.0 == +0.0
    if b >> 63 == 1 {
        !b
    } else {
        b | (1 << 63)
    }
}

/// Rows ordered by score descending, ties by lowest index (the pivot order everywhere).
pub fn score_order(score: &[f64]) -> Vec<u32> {
    let mut order = Vec::new();
    score_order_into(score, &mut Vec::new(), &mut order);
    order
}

/// [`score_order`] into `order`, with `keyed` as scratch.
pub fn score_order_into(score: &[f64], keyed: &mut Vec<(u64, u32)>, order: &mut Vec<u32>) {
    keyed.clear();
    keyed.extend(score.iter().enumerate().map(|(i, &s)| (!order_key(s), i as u32)));
    keyed.sort_unstable();
    order.clear();
    order.extend(keyed.iter().map(|&(_, i)| i));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_is_fraction_of_candidate_with_inclusive_lengths() {
        // pivot [0, 10], candidate [8, 11]: min(e)=10, max(s)=8 -> 3 / (11-8+1) = 0.75
        assert_eq!(Overlap::Coverage.of(0.0, 10.0, 8.0, 11.0), 0.75);
        // disjoint by more than one snippet -> 0
        assert_eq!(Overlap::Coverage.of(0.0, 2.0, 5.0, 6.0), 0.0);
    }

    #[test]
    fn order_key_orders_numerically_with_signed_zeros_equal() {
        let xs = [-1.5, -0.0, 0.0, 1e-300, 2.0, -1e300, 7.0, f64::MIN_POSITIVE];
        for a in xs {
            for b in xs {
                assert_eq!(order_key(a).cmp(&order_key(b)), a.partial_cmp(&b).unwrap(), "{a} {b}");
            }
        }
        assert_eq!(score_order(&[0.5, 0.9, 0.5, -1.0]), vec![1, 0, 2, 3]);
        assert_eq!(score_order(&[-0.0, 0.0]), vec![0, 1]);
    }

    #[test]
    fn iou_handles_zero_length() {
        assert_eq!(iou(1.0, 1.0, 1.0, 1.0), 0.0);
        assert_eq!(iou(0.0, 4.0, 2.0, 6.0), 2.0 / 6.0);
    }

    #[test]
    fn window_skips_removed_rows() {
        let s = [0.0, 5.0, 1.0, 50.0];
        let e = [2.0, 6.0, 3.0, 51.0];
        let mut w = Window::new(&s, &e);
        let mut seen = vec![];
        w.for_each_near(0.0, 2.0, |r| seen.push(r));
        assert_eq!(seen, vec![0, 2]);
        w.remove(2);
        seen.clear();
        w.for_each_near(0.0, 2.0, |r| seen.push(r));
        assert_eq!(seen, vec![0]);
    }
}
