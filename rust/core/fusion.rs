//! Weighted instance fusion (docs/algorithms.md, "Weighted instance fusion"): the greedy grouping loop and its weighted merge.

use crate::core::error::{CoreError, Result};
use crate::core::overlap::{score_order_into, Overlap, Window};
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

/// Reusable buffers of the per-group kernels: one per worker thread, so a batch allocates
/// a handful of times instead of per (video, class).
#[derive(Debug, Default)]
pub struct Workspace {
    pub(crate) greedy: Greedy,
    pub(crate) weights: Vec<f64>,
    pub(crate) values: Vec<f64>,
    pub(crate) index: Vec<usize>,
    pub(crate) rows: Segments,
    pub(crate) keyed: Vec<(u64, u32)>,
    pub(crate) order: Vec<u32>,
    pub(crate) released: crate::core::released::Buffers,
}

/// Buffers of [`greedy_groups`].
#[derive(Debug, Default)]
pub(crate) struct Greedy {
    pub(crate) window: Window,
    keyed: Vec<(u64, u32)>,
    order: Vec<u32>,
    alive: Vec<bool>,
    members: Vec<usize>,
}

/// The greedy grouping loop shared by fusion and NMS: for each pivot (score order, ties by
/// lowest index) still alive, `on_group(pivot, members)` with `members` = the pivot followed
/// by the alive rows whose overlap is above the threshold, in start order (a fixed order, so
/// sums are reproducible; the members' weights do not depend on it).
pub(crate) fn greedy_groups(
    g: &Group<'_>,
    overlap: Overlap,
    threshold: f64,
    bufs: &mut Greedy,
    mut on_group: impl FnMut(usize, &[usize]),
) {
    let Greedy { window, keyed, order, alive, members } = bufs;
    score_order_into(g.score, keyed, order);
    alive.clear();
    alive.resize(g.len(), true);
    window.reset(g.start, g.end);
    for &p in order.iter() {
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
        for &j in members.iter() {
            alive[j] = false;
            window.remove(j);
        }
        on_group(p, members);
    }
}

/// Fuse one (video, label) group; rows appended to `out` by fused score descending (stable
/// in pivot order).
pub fn fuse_group(g: &Group<'_>, label: i64, params: &FuseParams, out: &mut Segments, ws: &mut Workspace) {
    let Workspace { greedy, weights: w, values: xs, index, rows: fused, keyed, order, .. } = ws;
    fused.clear();
    greedy_groups(g, params.overlap, params.threshold, greedy, |_, members| {
        let (s, e, sc, inn) = softmax_fuse(g, members, params, w, xs, index);
        fused.push(label, s, e, sc, inn);
    });
    push_by_score(fused, keyed, order, out);
}

/// Append `fused` to `out` by score descending; ties keep their order.
pub(crate) fn push_by_score(fused: &Segments, keyed: &mut Vec<(u64, u32)>, order: &mut Vec<u32>, out: &mut Segments) {
    score_order_into(&fused.score, keyed, order);
    out.reserve(order.len());
    for &i in order.iter() {
        let i = i as usize;
        out.push(fused.label[i], fused.start[i], fused.end[i], fused.score[i], fused.inner[i]);
    }
}

/// The fused `(start, end, score, inner)` of `members` (rows of `g`, pivot first): each column
/// located by `params.template` under the weights `softmax(weight / T)`, a row of count `m`
/// weighing as `m` rows. `w`, `xs`, `index` are scratch.
pub(crate) fn softmax_fuse(
    g: &Group<'_>,
    members: &[usize],
    params: &FuseParams,
    w: &mut Vec<f64>,
    xs: &mut Vec<f64>,
    index: &mut Vec<usize>,
) -> (f64, f64, f64, f64) {
    if members.len() == 1 {
        // Also exact for a row of count m: m identical rows fuse to themselves.
        let i = members[0];
        return (g.start[i], g.end[i], g.score[i], g.inner[i]);
    }
    let weights = match params.weight {
        Weight::Inner => g.inner,
        Weight::Score => g.score,
    };
    let t = params.temperature;
    // Softmax with the maximum subtracted: exp never overflows, the largest term is 1
    // (dividing by T rather than multiplying by 1/T keeps a subnormal T finite).
    let wmax = members.iter().map(|&i| weights[i]).fold(f64::NEG_INFINITY, f64::max);
    w.clear();
    match g.count {
        None => w.extend(members.iter().map(|&i| ((weights[i] - wmax) / t).exp())),
        Some(c) => w.extend(members.iter().map(|&i| c[i] * ((weights[i] - wmax) / t).exp())),
    }
    let total: f64 = w.iter().sum();
    for v in w.iter_mut() {
        *v /= total;
    }
    let mut locate = |col: &[f64]| {
        xs.clear();
        xs.extend(members.iter().map(|&i| col[i]));
        params.template.locate(xs, w, index)
    };
    (locate(g.start), locate(g.end), locate(g.score), locate(g.inner))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn official(t: f64) -> FuseParams {
        FuseParams {
            temperature: t,
            threshold: 0.25,
            overlap: Overlap::Coverage,
            weight: Weight::Inner,
            template: Template::Gaussian,
        }
    }

    #[test]
    fn two_overlapping_segments_fuse_to_weighted_mean() {
        // Equal inner weights: g = (1/2, 1/2).
        let rows = Segments::from_rows(&[(0.0, 10.0, 0.9, 0.5), (2.0, 12.0, 0.5, 0.5), (40.0, 50.0, 0.3, 0.2)]);
        let g = Group::of(&rows);
        let mut out = Segments::default();
        fuse_group(&g, 7, &official(0.2), &mut out, &mut Workspace::default());
        assert_eq!(out.start, vec![1.0, 40.0]);
        assert_eq!(out.end, vec![11.0, 50.0]);
        assert_eq!(out.score, vec![0.7, 0.3]);
        assert_eq!(out.label, vec![7, 7]);
    }

    #[test]
    fn tiny_temperature_does_not_overflow() {
        let rows = Segments::from_rows(&[(0.0, 10.0, 0.9, 5.0), (1.0, 11.0, 0.5, 4.0)]);
        let g = Group::of(&rows);
        let mut out = Segments::default();
        fuse_group(&g, 0, &official(0.0016), &mut out, &mut Workspace::default());
        assert!(out.start[0].is_finite() && (out.start[0] - 0.0).abs() < 1e-12);
    }
}
