//! Baselines for benchmarking fusion (docs/algorithms.md, "NMS and soft-NMS"): hard NMS (the fusion loop keeping only
//! the pivot) and soft-NMS (Gaussian and linear decay).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::core::error::{CoreError, Result};
use crate::core::fusion::{greedy_groups, validate_threshold, Workspace};
use crate::core::overlap::{iou, order_key, Overlap};
use crate::core::segments::{Group, Segments};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NmsParams {
    /// A candidate is suppressed when its overlap with the pivot is strictly above this.
    pub threshold: f64,
    pub overlap: Overlap,
}

impl NmsParams {
    pub fn validate(&self) -> Result<()> {
        validate_threshold(self.threshold)
    }
}

/// Hard NMS of one group: the pivots, unchanged, in pick order (score descending).
pub fn nms_group(g: &Group<'_>, label: i64, params: &NmsParams, out: &mut Segments, ws: &mut Workspace) {
    greedy_groups(g, params.overlap, params.threshold, &mut ws.greedy, |p, _| {
        out.push(label, g.start[p], g.end[p], g.score[p], g.inner[p]);
    });
}

/// How soft-NMS decays the scores of rows overlapping a pick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decay {
    /// `score *= exp(-iou² / sigma)` (as ActionFormer).
    Gaussian { sigma: f64 },
    /// `score *= 1 - iou` when `iou > threshold`.
    Linear { threshold: f64 },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SoftNmsParams {
    pub decay: Decay,
    /// Rows whose (decayed) score falls below this are dropped.
    pub min_score: f64,
    /// At most this many picks per group.
    pub max_out: Option<usize>,
}

impl SoftNmsParams {
    pub fn validate(&self) -> Result<()> {
        match self.decay {
            Decay::Gaussian { sigma } if !(sigma.is_finite() && sigma > 0.0) => {
                return Err(CoreError::invalid("sigma", format!("must be finite and > 0, got {sigma}")));
            }
            Decay::Linear { threshold } => validate_threshold(threshold)?,
            _ => {}
        }
        if !self.min_score.is_finite() {
            return Err(CoreError::invalid("min_score", format!("must be finite, got {}", self.min_score)));
        }
        Ok(())
    }

    #[inline]
    fn factor(&self, iou: f64) -> f64 {
        match self.decay {
            Decay::Gaussian { sigma } => (-(iou * iou) / sigma).exp(),
            Decay::Linear { threshold } => {
                if iou > threshold {
                    1.0 - iou
                } else {
                    1.0
                }
            }
        }
    }
}

/// A heap entry: the current score of `row` when pushed (as an [`order_key`]). Max-heap on
/// score, ties to the lowest row; entries left behind by a later decay are recognised by
/// `version`.
struct Entry {
    key: u64,
    row: u32,
    version: u32,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key).then(other.row.cmp(&self.row)).then(self.version.cmp(&other.version))
    }
}

/// Soft-NMS of one group: repeatedly pick the highest current score (ties: lowest index),
/// output it with that score, decay every remaining row by its IoU with the pick and drop
/// rows under `min_score`. Picks are appended to `out` in pick order.
pub fn soft_nms_group(g: &Group<'_>, label: i64, params: &SoftNmsParams, out: &mut Segments, ws: &mut Workspace) {
    let n = g.len();
    let mut score = g.score.to_vec();
    let mut version = vec![0u32; n];
    let mut alive = vec![false; n];
    let window = &mut ws.greedy.window;
    window.reset(g.start, g.end);
    let mut heap = BinaryHeap::with_capacity(n);
    for i in 0..n {
        if score[i] >= params.min_score {
            alive[i] = true;
            heap.push(Entry { key: order_key(score[i]), row: i as u32, version: 0 });
        } else {
            window.remove(i);
        }
    }
    let limit = params.max_out.unwrap_or(usize::MAX);
    let mut picked = 0usize;
    let mut near = Vec::new();
    while picked < limit {
        let Some(top) = heap.pop() else { break };
        let p = top.row as usize;
        if !alive[p] || top.version != version[p] {
            continue;
        }
        alive[p] = false;
        window.remove(p);
        out.push(label, g.start[p], g.end[p], score[p], g.inner[p]);
        picked += 1;
        let (sp, ep) = (g.start[p], g.end[p]);
        near.clear();
        window.for_each_near(sp, ep, |j| near.push(j));
        for &j in &near {
            let f = params.factor(iou(sp, ep, g.start[j], g.end[j]));
            if f == 1.0 {
                continue;
            }
            score[j] *= f;
            if score[j] < params.min_score {
                alive[j] = false;
                window.remove(j);
            } else {
                version[j] += 1;
                heap.push(Entry { key: order_key(score[j]), row: j as u32, version: version[j] });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NMS: NmsParams = NmsParams { threshold: 0.25, overlap: Overlap::Coverage };

    #[test]
    fn coverage_exactly_at_threshold_does_not_suppress() {
        // candidate [3, 6]: inclusive length 4; pivot [0, 3] covers 1 snippet -> 1/4 = 0.25.
        let rows = Segments::from_rows(&[(0.0, 3.0, 0.9, 0.5), (3.0, 6.0, 0.5, 0.5)]);
        let g = Group::of(&rows);
        let mut out = Segments::default();
        nms_group(&g, 0, &NMS, &mut out, &mut Workspace::default());
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn score_ties_pick_lowest_index() {
        let rows = Segments::from_rows(&[(0.0, 4.0, 0.5, 0.1), (1.0, 5.0, 0.5, 0.2)]);
        let g = Group::of(&rows);
        let mut out = Segments::default();
        nms_group(&g, 0, &NMS, &mut out, &mut Workspace::default());
        assert_eq!(out.start, vec![0.0]);
    }

    #[test]
    fn gaussian_soft_nms_decays_by_iou() {
        // IoU([0,4), [2,6)) = 2/6.
        let rows = Segments::from_rows(&[(0.0, 4.0, 0.9, 0.0), (2.0, 6.0, 0.8, 0.0), (10.0, 12.0, 0.1, 0.0)]);
        let g = Group::of(&rows);
        let p = SoftNmsParams { decay: Decay::Gaussian { sigma: 0.5 }, min_score: 0.001, max_out: None };
        let mut out = Segments::default();
        soft_nms_group(&g, 0, &p, &mut out, &mut Workspace::default());
        let decayed = 0.8 * (-(1.0f64 / 9.0) / 0.5).exp();
        assert_eq!(out.score, vec![0.9, decayed, 0.1]);
        assert_eq!(out.start, vec![0.0, 2.0, 10.0]);
    }

    #[test]
    fn linear_soft_nms_drops_under_min_score_and_respects_max_out() {
        let rows = Segments::from_rows(&[
            (0.0, 4.0, 0.9, 0.0),
            (0.0, 4.0, 0.8, 0.0),
            (10.0, 12.0, 0.5, 0.0),
            (20.0, 22.0, 0.4, 0.0),
        ]);
        let g = Group::of(&rows);
        let p = SoftNmsParams { decay: Decay::Linear { threshold: 0.3 }, min_score: 0.001, max_out: Some(2) };
        let mut out = Segments::default();
        soft_nms_group(&g, 0, &p, &mut out, &mut Workspace::default());
        // The duplicate decays to 0 and is dropped; max_out keeps two picks.
        assert_eq!(out.start, vec![0.0, 10.0]);
    }
}
