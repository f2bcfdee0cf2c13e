//! Weighted instance fusion (DESIGN §3.2): the greedy grouping loop and its weighted merge.

use crate::core::error::{CoreError, Result};
use crate::core::overlap::{score_order, Overlap, Window};
use crate::core::segments::{Group, Segments};
use crate::core::template::Template;

/// Which column weighs a group's members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    /// Mean activation inside (the released code).
    Inner,
    /// The proposal score (the paper).
    Score,
}

impl Weight {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "inner" => Some(Weight::Inner),
            "score" => Some(Weight::Score),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FuseParams {
    /// Softmax temperature T > 0 of the member weights.
    pub temperature: f64,
    /// A candidate joins the pivot's group when its overlap is strictly above this.
    pub threshold: f64,
    pub overlap: Overlap,
    pub weight: Weight,
    pub template: Template,
}

pub fn validate_threshold(threshold: f64) -> Result<()> {
    if !(threshold.is_finite() && (0.0..=1.0).contains(&threshold)) {
        return Err(CoreError::invalid("threshold", format!("must be in [0, 1], got {threshold}")));
    }
    Ok(())
}

impl FuseParams {
    pub fn validate(&self) -> Result<()> {
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return Err(CoreError::invalid("temperature", format!("must be finite and > 0, got {}", self.temperature)));
        }
        validate_threshold(self.threshold)?;
        if let Template::StudentT { dof } = self.template {
            if !(dof.is_finite() && dof > 0.0) {
                return Err(CoreError::invalid("dof", format!("must be finite and > 0, got {dof}")));
            }
        }
        Ok(())
    }
}

/// The greedy grouping loop shared by fusion and NMS: for each pivot (score order, ties by
/// lowest index) still alive, `on_group(pivot, members)` with `members` = the pivot followed
/// by the alive rows whose overlap is above the threshold, in pivot order.
pub(crate) fn greedy_groups(g: &Group, overlap: Overlap, threshold: f64, mut on_group: impl FnMut(usize, &[usize])) {
    let order = score_order(&g.score);
    let mut rank = vec![0u32; g.len()];
    for (r, &i) in order.iter().enumerate() {
        rank[i as usize] = r as u32;
    }
    let mut alive = vec![true; g.len()];
    let mut window = Window::new(&g.start, &g.end);
    let mut members: Vec<usize> = Vec::new();
    for &p in &order {
        let p = p as usize;
        if !alive[p] {
            continue;
        }
        let (sp, ep) = (g.start[p], g.end[p]);
        members.clear();
        members.push(p);
        window.for_each_near(sp, ep, |j| {
            if j != p && overlap.of(sp, ep, g.start[j], g.end[j]) > threshold {
                members.push(j);
            }
        });
        members[1..].sort_unstable_by_key(|&j| rank[j]);
        for &j in &members {
            alive[j] = false;
            window.remove(j);
        }
        on_group(p, &members);
    }
}

/// Fuse one (video, label) group; rows appended to `out` by fused score descending (stable
/// in pivot order).
pub fn fuse_group(g: &Group, label: i64, params: &FuseParams, out: &mut Segments) {
    let weights = match params.weight {
        Weight::Inner => &g.inner,
        Weight::Score => &g.score,
    };
    let inv_t = 1.0 / params.temperature;
    let mut fused = Segments::default();
    let (mut w, mut xs, mut scratch) = (Vec::new(), Vec::new(), Vec::new());
    greedy_groups(g, params.overlap, params.threshold, |_, members| {
        if members.len() == 1 {
            let i = members[0];
            fused.push(label, g.start[i], g.end[i], g.score[i], g.inner[i]);
            return;
        }
        // Softmax with the maximum subtracted: exp never overflows, the largest term is 1.
        let wmax = members.iter().map(|&i| weights[i]).fold(f64::NEG_INFINITY, f64::max);
        w.clear();
        w.extend(members.iter().map(|&i| ((weights[i] - wmax) * inv_t).exp()));
        let total: f64 = w.iter().sum();
        for v in w.iter_mut() {
            *v /= total;
        }
        let mut locate = |col: &[f64]| {
            xs.clear();
            xs.extend(members.iter().map(|&i| col[i]));
            params.template.locate(&xs, &w, &mut scratch)
        };
        let (s, e, sc, inn) = (locate(&g.start), locate(&g.end), locate(&g.score), locate(&g.inner));
        fused.push(label, s, e, sc, inn);
    });
    append_by_score_desc(&fused, out);
}

fn append_by_score_desc(src: &Segments, out: &mut Segments) {
    let mut idx: Vec<usize> = (0..src.len()).collect();
    idx.sort_by(|&a, &b| src.score[b].total_cmp(&src.score[a]).then(a.cmp(&b)));
    for i in idx {
        out.push(src.label[i], src.start[i], src.end[i], src.score[i], src.inner[i]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn official(t: f64) -> FuseParams {
        FuseParams { temperature: t, threshold: 0.25, overlap: Overlap::Coverage, weight: Weight::Inner, template: Template::Gaussian }
    }

    #[test]
    fn two_overlapping_segments_fuse_to_weighted_mean() {
        // Equal inner weights: g = (1/2, 1/2).
        let g = Group::from_rows(&[(0.0, 10.0, 0.9, 0.5), (2.0, 12.0, 0.5, 0.5), (40.0, 50.0, 0.3, 0.2)]);
        let mut out = Segments::default();
        fuse_group(&g, 7, &official(0.2), &mut out);
        assert_eq!(out.start, vec![1.0, 40.0]);
        assert_eq!(out.end, vec![11.0, 50.0]);
        assert_eq!(out.score, vec![0.7, 0.3]);
        assert_eq!(out.label, vec![7, 7]);
    }

    #[test]
    fn tiny_temperature_does_not_overflow() {
        let g = Group::from_rows(&[(0.0, 10.0, 0.9, 5.0), (1.0, 11.0, 0.5, 4.0)]);
        let mut out = Segments::default();
        fuse_group(&g, 0, &official(0.0016), &mut out);
        assert!(out.start[0].is_finite() && (out.start[0] - 0.0).abs() < 1e-12);
    }
}
