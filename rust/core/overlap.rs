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
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "coverage" => Some(Overlap::Coverage),
            "iou" => Some(Overlap::Iou),
            _ => None,
        }
    }

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
pub struct Window {
    /// Row index at each sorted position.
    rows: Vec<u32>,
    starts: Vec<f64>,
    /// Sorted position of each row.
    pos: Vec<u32>,
    /// `next[q]`: a position `>= q` that may be alive (path-compressed; `len` = none).
    next: Vec<u32>,
    maxlen: f64,
}

impl Window {
    pub fn new(start: &[f64], end: &[f64]) -> Self {
        let n = start.len();
        let mut rows: Vec<u32> = (0..n as u32).collect();
        rows.sort_by(|&a, &b| start[a as usize].total_cmp(&start[b as usize]).then(a.cmp(&b)));
        let mut pos = vec![0u32; n];
        for (q, &r) in rows.iter().enumerate() {
            pos[r as usize] = q as u32;
        }
        let starts = rows.iter().map(|&r| start[r as usize]).collect();
        let maxlen = start.iter().zip(end).map(|(s, e)| e - s).fold(0.0, f64::max);
        Window { rows, starts, pos, next: (0..=n as u32).collect(), maxlen }
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

/// Rows ordered by score descending, ties by lowest index (the pivot order everywhere).
pub fn score_order(score: &[f64]) -> Vec<u32> {
    let mut order: Vec<u32> = (0..score.len() as u32).collect();
    order.sort_by(|&a, &b| score[b as usize].total_cmp(&score[a as usize]).then(a.cmp(&b)));
    order
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
