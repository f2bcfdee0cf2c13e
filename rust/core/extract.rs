//! Multi-threshold proposal extraction with outer-inner contrast scores (docs/algorithms.md, "Proposal extraction").
//!
//! All thresholds are handled in one left-to-right sweep: with the thresholds sorted, the set
//! of thresholds a snippet exceeds is a prefix, so a run of `x > θ_k` starts where a snippet's
//! rank (how many thresholds it exceeds) first rises above `k` and ends where it drops back.
//! Work is O(l·log T + runs) per column instead of O(l·T), and the output is regrouped into
//! the per-threshold order of the definition. Means use compensated prefix sums, so a segment
//! mean is accurate to a few ulps of the segment's own sum even deep into a long video.
//!
//! The `rskp` preset is the official extraction with the outer pad `0.25·n` in place of
//! `0.0785·n^0.9`: the same ranges ([`official_ranges`]) and stored end.
//!
//! Exact mode (`ExtractParams::exact`, official preset only) computes each distinct run's means
//! the way the released code does instead: `np.mean` of the slices, NumPy's pairwise sum in the
//! TCAM's own dtype ([`crate::core::pairwise`]), the score `inner - outer` rounded to that dtype.
//! For float32 TCAMs the caller passes thresholds rounded to float32 (NumPy 1.22 compared a
//! float32 array with a float64 scalar in float32); see [`SortedThresholds::rounded_to`].

use crate::core::error::{CoreError, Result};
use crate::core::pairwise::{numpy_mean, NumpyFloat};
use crate::core::preset::{official_pad, rskp_pad, Preset};
use crate::core::segments::{Segments, MAX_ROWS};

/// Parameters of [`extract_column`] and [`extract`].
#[derive(Debug, Clone, PartialEq)]
pub struct ExtractParams {
    /// Activation thresholds θ: runs of `x > θ`. Output follows this order.
    pub thresholds: Vec<f64>,
    /// Minimum run length `e - s` in snippets.
    pub min_length: usize,
    pub preset: Preset,
    /// Reproduce the released code's arithmetic for the means (official preset only).
    pub exact: bool,
}

/// The official thresholds `np.arange(0.001, 0.04, 0.002)`: `0.001 + 0.002·i`, i = 0..20.
/// (The Python layer owns the presets; this copy serves the core's own tests.)
#[cfg(test)]
pub(crate) fn official_thresholds() -> Vec<f64> {
    // numpy's arange computes start + i*step in float64; do the same for identical values.
    (0..20).map(|i| 0.001 + (i as f64) * 0.002).collect()
}

impl ExtractParams {
    pub fn validate(&self) -> Result<()> {
        if let Some(i) = self.thresholds.iter().position(|t| !t.is_finite()) {
            return Err(CoreError::invalid("thresholds", format!("non-finite value at index {i}")));
        }
        self.preset.validate()?;
        if let Preset::Paper { .. } | Preset::Rskp = self.preset {
            if self.exact {
                return Err(CoreError::invalid("exact", "reproduces the released code: preset must be \"official\""));
            }
        }
        Ok(())
    }
}

/// Prefix sums with Neumaier compensation: `hi[i] + lo[i]` ≈ Σ x[..i] to about 2 ulps.
struct PrefixSums {
    hi: Vec<f64>,
    lo: Vec<f64>,
}

impl PrefixSums {
    fn new<T: NumpyFloat>(x: &[T]) -> Self {
        let mut hi = Vec::with_capacity(x.len() + 1);
        let mut lo = Vec::with_capacity(x.len() + 1);
        let (mut s, mut c) = (0.0f64, 0.0f64);
        hi.push(0.0);
        lo.push(0.0);
        for v in x.iter().map(|v| v.to_f64()) {
            let t = s + v;
            c += if s.abs() >= v.abs() { (s - t) + v } else { (v - t) + s };
            s = t;
            hi.push(s);
            lo.push(c);
        }
        PrefixSums { hi, lo }
    }

    /// Σ x[a..b] (0 when a >= b).
    #[inline]
    fn sum(&self, a: usize, b: usize) -> f64 {
        if a >= b {
            return 0.0;
        }
        (self.hi[b] - self.hi[a]) + (self.lo[b] - self.lo[a])
    }
}

/// Reusable buffers for [`extract_column`], so a batch allocates once per worker.
#[derive(Default)]
pub struct ExtractScratch {
    column: Vec<f64>,
    /// Exact mode: the outer snippets of one run, gathered (the released code's fancy index).
    outer64: Vec<f64>,
    outer32: Vec<f32>,
    /// Per sorted threshold, the runs `(s, e, interval id)` found so far.
    runs: Vec<Vec<(u32, u32, u32)>>,
    open: Vec<u32>,
    first: Vec<u32>,
    /// `pad[n]` = `0.0785·n^0.9` (NaN: not computed yet); `powf` is the costliest step otherwise.
    pad: Vec<f64>,
}

impl ExtractScratch {
    #[inline]
    fn official_pad(&mut self, n: usize) -> f64 {
        if n >= self.pad.len() {
            self.pad.resize(n + 1, f64::NAN);
        }
        if self.pad[n].is_nan() {
            self.pad[n] = official_pad(n as f64);
        }
        self.pad[n]
    }
}

/// Thresholds sorted ascending, with the position each had in the caller's order.
pub struct SortedThresholds {
    values: Vec<f64>,
    /// `order[k]` = sorted slot of the caller's threshold `k`.
    order: Vec<usize>,
}

impl SortedThresholds {
    /// Exact mode for a `T` TCAM: the thresholds as `x > θ` compares them when `x` is a `T`
    /// array and `θ` a float64 scalar under NumPy 1.22's value-based casting, i.e. rounded to
    /// `T` (identity for f64).
    pub fn rounded_to<T: NumpyFloat>(thresholds: &[f64]) -> Self {
        let rounded: Vec<f64> = thresholds.iter().map(|&t| T::from_f64(t).to_f64()).collect();
        Self::new(&rounded)
    }

    pub fn new(thresholds: &[f64]) -> Self {
        let mut idx: Vec<usize> = (0..thresholds.len()).collect();
        idx.sort_by(|&a, &b| thresholds[a].total_cmp(&thresholds[b]).then(a.cmp(&b)));
        let mut order = vec![0; thresholds.len()];
        for (slot, &k) in idx.iter().enumerate() {
            order[k] = slot;
        }
        SortedThresholds { values: idx.iter().map(|&k| thresholds[k]).collect(), order }
    }

    /// How many thresholds `v` strictly exceeds, walking from `from` (the previous snippet's
    /// rank): neighbouring snippets differ by a few ranks at most, so this beats a search.
    #[inline]
    fn rank_from(&self, v: f64, mut from: usize) -> usize {
        let t = &self.values;
        while from < t.len() && t[from] < v {
            from += 1;
        }
        while from > 0 && t[from - 1] >= v {
            from -= 1;
        }
        from
    }
}

/// What [`extract_column`] records about runs found at several thresholds.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Fold {
    /// Multiplicity of each row appended.
    pub counts: Vec<f64>,
    /// For every proposal of the definition's list (folded or not), in its order, the row it
    /// became (relative to the first row of that call): `copy_of[o]` is the row of proposal `o`.
    pub copy_of: Vec<u32>,
}

impl Fold {
    pub fn clear(&mut self) {
        self.counts.clear();
        self.copy_of.clear();
    }
}

/// Extract the proposals of one class column `x` (length l) and append them to `out` with label
/// `label`, in the definition's order: thresholds as given, runs left to right.
///
/// With `fold`, a run found at several thresholds (the same `[s, e)`, hence the same score)
/// is appended once, at its first position, and `fold` gets its multiplicity and which row each
/// proposal became: fusion and NMS treat `m` identical rows exactly as one row of weight `m`,
/// at a fraction of the cost.
pub fn extract_column<T: Gather>(
    x: &[T],
    label: i64,
    params: &ExtractParams,
    sorted: &SortedThresholds,
    scratch: &mut ExtractScratch,
    out: &mut Segments,
    mut fold: Option<&mut Fold>,
) {
    let l = x.len();
    let nt = sorted.values.len();
    if l == 0 || nt == 0 {
        return;
    }
    scratch.runs.resize_with(nt, Vec::new);
    for r in scratch.runs.iter_mut() {
        r.clear();
    }
    scratch.open.clear();
    scratch.open.resize(nt, 0);

    // Sweep: a rise of the rank from r0 to r1 at i opens runs of thresholds r0..r1 at i;
    // a fall closes runs of r1..r0 at i (exclusive end). Runs closing together with the same
    // start are the same interval: they share an id (opens are monotone in the threshold, so
    // equal ones are adjacent).
    let mut ids = 0u32;
    let mut close = |runs: &mut [Vec<(u32, u32, u32)>], open: &[u32], ks: std::ops::Range<usize>, end: u32| {
        let mut last = u32::MAX;
        for k in ks {
            if open[k] != last {
                last = open[k];
                ids += 1;
            }
            runs[k].push((open[k], end, ids - 1));
        }
    };
    let mut prev = 0usize;
    for (i, v) in x.iter().map(|v| v.to_f64()).enumerate() {
        let r = sorted.rank_from(v, prev);
        if r > prev {
            for k in prev..r {
                scratch.open[k] = i as u32;
            }
        } else if r < prev {
            close(&mut scratch.runs, &scratch.open, r..prev, i as u32);
        }
        prev = r;
    }
    close(&mut scratch.runs, &scratch.open, 0..prev, l as u32);

    let sums = if params.exact { None } else { Some(PrefixSums::new(x)) };
    let runs = std::mem::take(&mut scratch.runs);
    // Output row of each interval id already emitted (dedup mode).
    let mut first = std::mem::take(&mut scratch.first);
    first.clear();
    first.resize(ids as usize, u32::MAX);
    let base = fold.as_ref().map_or(0, |f| f.counts.len());
    for &slot in &sorted.order {
        for &(s, e, id) in &runs[slot] {
            let (s, e) = (s as usize, e as usize);
            let n = e - s;
            if n < params.min_length {
                continue;
            }
            if let Some(f) = fold.as_deref_mut() {
                let row = first[id as usize];
                if row != u32::MAX {
                    f.counts[base + row as usize] += 1.0;
                    f.copy_of.push(row);
                    continue;
                }
                let row = (f.counts.len() - base) as u32;
                first[id as usize] = row;
                f.counts.push(1.0);
                f.copy_of.push(row);
            }
            let pad = match params.preset {
                Preset::Official => scratch.official_pad(n),
                Preset::Rskp => rskp_pad(n as f64),
                Preset::Paper { .. } => 0.0,
            };
            let (inner, score, end) = match (&sums, params.preset) {
                (None, _) => T::released_contrast(x, s, e, pad, scratch),
                // RSKP's extraction is the official one with its own pad.
                (Some(sums), Preset::Official | Preset::Rskp) => official_contrast(sums, l, s, e, pad),
                (Some(sums), Preset::Paper { alpha }) => paper_contrast(sums, l, s, e, alpha),
            };
            out.push(label, s as f64, end, score, inner);
        }
    }
    scratch.runs = runs;
    scratch.first = first;
}

/// The official inner range `[s, min(e+1, l))` and outer ranges `[outer_s, s)`,
/// `[e+1, outer_e)` of the run `[s, e)` (`pad` = `0.0785·n^0.9`; `0.25·n` for rskp), with the
/// same float operations, in the same order, as the released code (`int` truncates toward zero, like `as`). An empty
/// right range is `(e+1, e+1)`, which may lie past the end of the video.
#[inline]
fn official_ranges(l: usize, s: usize, e: usize, pad: f64) -> (usize, (usize, usize), (usize, usize)) {
    let inner_end = (e + 1).min(l);
    let outer_s = ((s as f64 - pad) as i64).max(0) as usize;
    let outer_e = (((e as f64 + pad) + 1.0) as i64).min(l as i64 - 1).max(0) as usize;
    let right_from = e + 1;
    (inner_end, (outer_s.min(s), s), (right_from, outer_e.max(right_from)))
}

/// Official inner mean, score and stored end for the run `[s, e)`.
fn official_contrast(sums: &PrefixSums, l: usize, s: usize, e: usize, pad: f64) -> (f64, f64, f64) {
    let (inner_end, left, right) = official_ranges(l, s, e, pad);
    let inner = sums.sum(s, inner_end) / (inner_end - s) as f64;
    let count = (left.1 - left.0) + (right.1 - right.0);
    let outer = if count == 0 { 0.0 } else { (sums.sum(left.0, left.1) + sums.sum(right.0, right.1)) / count as f64 };
    (inner, inner - outer, (e + 1) as f64)
}

/// Column types [`extract_column`] reads: the sweep and the fast means use their float64
/// values; exact mode computes the means in the type itself.
pub trait Gather: NumpyFloat {
    /// The released code's inner mean, score and stored end for the run `[s, e)` of `x`:
    /// `np.mean(x[s:e+1])` and `np.mean` of the outer snippets gathered into one array (or 0
    /// when there are none), `score = inner - outer` in this type.
    fn released_contrast(x: &[Self], s: usize, e: usize, pad: f64, scratch: &mut ExtractScratch) -> (f64, f64, f64);
}

fn released_contrast_in<T: NumpyFloat>(x: &[T], s: usize, e: usize, pad: f64, outer: &mut Vec<T>) -> (f64, f64, f64) {
    let (inner_end, left, right) = official_ranges(x.len(), s, e, pad);
    let inner = numpy_mean(&x[s..inner_end]);
    outer.clear();
    outer.extend_from_slice(&x[left.0..left.1]);
    if right.1 > right.0 {
        outer.extend_from_slice(&x[right.0..right.1]);
    }
    // `inner - 0` (an int) is exact, whatever the dtype rules.
    let score = if outer.is_empty() { inner } else { inner - numpy_mean(outer) };
    (inner.to_f64(), score.to_f64(), (e + 1) as f64)
}

impl Gather for f64 {
    fn released_contrast(x: &[f64], s: usize, e: usize, pad: f64, scratch: &mut ExtractScratch) -> (f64, f64, f64) {
        released_contrast_in(x, s, e, pad, &mut scratch.outer64)
    }
}

impl Gather for f32 {
    fn released_contrast(x: &[f32], s: usize, e: usize, pad: f64, scratch: &mut ExtractScratch) -> (f64, f64, f64) {
        released_contrast_in(x, s, e, pad, &mut scratch.outer32)
    }
}

/// Paper inner mean, score and stored end for the run `[s, e)`.
fn paper_contrast(sums: &PrefixSums, l: usize, s: usize, e: usize, alpha: f64) -> (f64, f64, f64) {
    let n = e - s;
    let inner = sums.sum(s, e) / n as f64;
    let w = (alpha * n as f64) as usize; // truncation; saturates for huge alpha
    let left_from = s.saturating_sub(w);
    let right_to = e.saturating_add(w).min(l);
    let count = (s - left_from) + (right_to - e);
    let outer = if count == 0 { 0.0 } else { (sums.sum(left_from, s) + sums.sum(e, right_to)) / count as f64 };
    (inner, inner - outer, e as f64)
}

/// Check a row-major `(l, k)` class activation sequence: right size, every value finite, and
/// small enough for 32-bit snippet and proposal indices ([`MAX_ROWS`]) under `thresholds`
/// thresholds (a column yields at most `thresholds · ⌈l/2⌉` runs).
pub fn validate_cas<T: NumpyFloat + std::fmt::Display>(cas: &[T], l: usize, k: usize, thresholds: usize) -> Result<()> {
    if l.checked_mul(k) != Some(cas.len()) {
        return Err(CoreError::invalid("cas", format!("has {} values, expected {l}×{k}", cas.len())));
    }
    if l > MAX_ROWS || thresholds.saturating_mul(l.div_ceil(2)) > MAX_ROWS {
        return Err(CoreError::invalid(
            "cas",
            format!("{l} snippets under {thresholds} thresholds are too many (at most {MAX_ROWS} proposals per class)"),
        ));
    }
    if let Some(i) = first_non_finite(cas) {
        return Err(CoreError::invalid(
            "cas",
            format!("non-finite value {} at snippet {}, class {}", cas[i], i / k.max(1), i % k.max(1)),
        ));
    }
    Ok(())
}

/// Index of the first NaN/inf in `x`. `v - v` is 0 for a finite value and NaN otherwise;
/// summing it in eight independent lanes vectorises, so the common all-finite case costs a
/// fraction of an instruction per value. Only a chunk that turns NaN is searched.
#[allow(clippy::eq_op)] // `v - v` is the test itself
pub fn first_non_finite<T: NumpyFloat>(x: &[T]) -> Option<usize> {
    const CHUNK: usize = 256;
    for (c, chunk) in x.chunks(CHUNK).enumerate() {
        let mut lanes = [T::ZERO; 8];
        let mut tail = T::ZERO;
        let exact = chunk.chunks_exact(8);
        for &v in exact.remainder() {
            tail = tail + (v - v);
        }
        for group in exact {
            for (acc, &v) in lanes.iter_mut().zip(group) {
                *acc = *acc + (v - v);
            }
        }
        if lanes.iter().any(|a| a.is_nan()) || tail.is_nan() {
            return chunk.iter().position(|v| !v.is_finite()).map(|i| c * CHUNK + i);
        }
    }
    None
}

/// Extract the proposals of the given class columns of a row-major `(l, k)` CAS, classes in
/// ascending order. `classes` must be valid column indices.
pub fn extract_classes(
    cas: &[f64],
    l: usize,
    k: usize,
    classes: &[usize],
    params: &ExtractParams,
    scratch: &mut ExtractScratch,
    out: &mut Segments,
) {
    let sorted = SortedThresholds::new(&params.thresholds);
    for &c in classes {
        gather_column(cas, l, k, c, &mut scratch.column);
        let column = std::mem::take(&mut scratch.column);
        extract_column(&column, c as i64, params, &sorted, scratch, out, None);
        scratch.column = column;
    }
}

/// Copy column `c` of a row-major `(l, k)` matrix into `buf`.
pub fn gather_column<T: Copy>(cas: &[T], l: usize, k: usize, c: usize, buf: &mut Vec<T>) {
    buf.clear();
    buf.extend((0..l).map(|i| cas[i * k + c]));
}

/// Validated entry point: proposals of `classes` (sorted, deduplicated; `None` = all columns).
pub fn extract(cas: &[f64], l: usize, k: usize, classes: Option<&[i64]>, params: &ExtractParams) -> Result<Segments> {
    validate_cas(cas, l, k, params.thresholds.len())?;
    params.validate()?;
    let mut cls: Vec<usize> = match classes {
        None => (0..k).collect(),
        Some(cs) => {
            let mut v = Vec::with_capacity(cs.len());
            for &c in cs {
                if c < 0 || c as usize >= k {
                    return Err(CoreError::invalid(
                        "classes",
                        format!("class index {c} is not a column of cas (valid: 0 to {})", k as i64 - 1),
                    ));
                }
                v.push(c as usize);
            }
            v
        }
    };
    cls.sort_unstable();
    cls.dedup();
    let mut out = Segments::default();
    extract_classes(cas, l, k, &cls, params, &mut ExtractScratch::default(), &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Per-threshold definition, written plainly.
    fn naive_runs(x: &[f64], t: f64) -> Vec<(usize, usize)> {
        let mut runs = vec![];
        let mut i = 0;
        while i < x.len() {
            if x[i] > t {
                let s = i;
                while i < x.len() && x[i] > t {
                    i += 1;
                }
                runs.push((s, i));
            } else {
                i += 1;
            }
        }
        runs
    }

    #[test]
    fn sweep_matches_per_threshold_runs() {
        let x = [0.0, 0.5, 0.5, 0.1, 0.7, 0.7, 0.7, 0.0, 0.3, 0.3];
        let th = vec![0.2, 0.05, 0.6, 0.6];
        let p =
            ExtractParams { thresholds: th.clone(), min_length: 1, preset: Preset::Paper { alpha: 0.0 }, exact: false };
        let mut out = Segments::default();
        extract_column(&x, 0, &p, &SortedThresholds::new(&th), &mut ExtractScratch::default(), &mut out, None);
        let expected: Vec<(f64, f64)> =
            th.iter().flat_map(|&t| naive_runs(&x, t)).map(|(s, e)| (s as f64, e as f64)).collect();
        let got: Vec<(f64, f64)> = out.start.iter().cloned().zip(out.end.iter().cloned()).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn dedup_folds_identical_runs_into_counts() {
        // A steep bump: the same run [1, 4) above 0.1, 0.2 and 0.3; [2, 3) above 0.6.
        let x = [0.0, 0.5, 0.7, 0.5, 0.0];
        let th = vec![0.1, 0.2, 0.6, 0.3];
        let p = ExtractParams { thresholds: th.clone(), min_length: 1, preset: Preset::Official, exact: false };
        let sorted = SortedThresholds::new(&th);
        let (mut all, mut once, mut fold) = (Segments::default(), Segments::default(), Fold::default());
        extract_column(&x, 0, &p, &sorted, &mut ExtractScratch::default(), &mut all, None);
        extract_column(&x, 0, &p, &sorted, &mut ExtractScratch::default(), &mut once, Some(&mut fold));
        assert_eq!(all.start, vec![1.0, 1.0, 2.0, 1.0]);
        assert_eq!(once.start, vec![1.0, 2.0]);
        assert_eq!(fold.counts, vec![3.0, 1.0]);
        // proposals in definition order: [1,4) at 0.1, at 0.2, [2,3) at 0.6, [1,4) at 0.3
        assert_eq!(fold.copy_of, vec![0, 0, 1, 0]);
        assert_eq!(once.score, vec![all.score[0], all.score[2]]);
    }

    #[test]
    fn official_quirks_hand_computed() {
        // l = 6, one run [1, 4) above 0.001: n = 3, pad = 0.0785·3^0.9 ≈ 0.21.
        let x = [0.2, 0.5, 0.6, 0.7, 0.0, 0.3];
        let p = ExtractParams { thresholds: vec![0.001], min_length: 2, preset: Preset::Official, exact: false };
        let mut out = Segments::default();
        extract_column(
            &x,
            3,
            &p,
            &SortedThresholds::new(&p.thresholds),
            &mut ExtractScratch::default(),
            &mut out,
            None,
        );
        // Runs above 0.001: [0,4) and [5,6) (too short). For [0,4): inner = mean(x[0..5]),
        // outer_s = 0, outer_e = min(5, int(4.21+1)=5) -> right part [5,5) empty: outer = 0.
        assert_eq!(out.len(), 1);
        assert_eq!((out.start[0], out.end[0]), (0.0, 5.0));
        let inner = (0.2 + 0.5 + 0.6 + 0.7 + 0.0) / 5.0;
        assert!((out.inner[0] - inner).abs() < 1e-15);
        assert!((out.score[0] - inner).abs() < 1e-15);
        assert_eq!(out.label[0], 3);
    }

    #[test]
    fn rskp_pad_hand_computed() {
        // l = 10, one run [2, 6) above 0.5: n = 4, rskp pad = 1 (official: 0.0785·4^0.9 ≈ 0.27).
        let x = [0.1, 0.2, 0.9, 0.8, 0.9, 0.7, 0.3, 0.4, 0.05, 0.6];
        let run = |preset| {
            let p = ExtractParams { thresholds: vec![0.5], min_length: 2, preset, exact: false };
            let mut out = Segments::default();
            let sorted = SortedThresholds::new(&p.thresholds);
            extract_column(&x, 0, &p, &sorted, &mut ExtractScratch::default(), &mut out, None);
            out
        };
        let (rskp, official) = (run(Preset::Rskp), run(Preset::Official));
        // Both: inner = mean(x[2..7]) (one snippet past the run), stored end e+1 = 7.
        let inner = (0.9 + 0.8 + 0.9 + 0.7 + 0.3) / 5.0;
        for out in [&rskp, &official] {
            assert_eq!((out.len(), out.start[0], out.end[0]), (1, 2.0, 7.0));
            assert!((out.inner[0] - inner).abs() < 1e-15);
        }
        // rskp: outer_s = int(2 - 1) = 1, outer_e = min(9, int(6 + 1 + 1)) = 8: snippets 1 and 7
        // (6 = e is skipped). official: outer_e = int(7.27) = 7, so snippet 1 alone.
        assert!((rskp.score[0] - (inner - (0.2 + 0.4) / 2.0)).abs() < 1e-15);
        assert!((official.score[0] - (inner - 0.2)).abs() < 1e-15);
    }

    #[test]
    fn rskp_refuses_exact_mode() {
        let p = ExtractParams { thresholds: vec![0.5], min_length: 2, preset: Preset::Rskp, exact: true };
        assert_eq!(p.validate().unwrap_err().arg(), "exact");
    }

    #[test]
    fn nonfinite_cas_is_an_error() {
        let err = extract(
            &[0.1, f64::NAN],
            2,
            1,
            None,
            &ExtractParams { thresholds: official_thresholds(), min_length: 2, preset: Preset::Official, exact: false },
        )
        .unwrap_err();
        assert!(err.to_string().contains("cas"));
    }

    #[test]
    fn sizes_beyond_32_bit_indices_are_refused() {
        // Checked from the shape alone (no data of that size is needed to be refused).
        let err = validate_cas::<f64>(&[], MAX_ROWS + 1, 0, 1).unwrap_err();
        assert_eq!(err.arg(), "cas");
        assert!(validate_cas::<f64>(&[], 1 << 30, 0, 8).unwrap_err().to_string().contains("thresholds"));
        assert!(validate_cas::<f64>(&[], 1 << 30, 0, 3).is_ok());
        assert_eq!(validate_cas::<f64>(&[0.0; 3], usize::MAX, 2, 1).unwrap_err().arg(), "cas");
    }

    #[test]
    fn first_non_finite_finds_the_first_bad_value() {
        let mut x = vec![0.5; 1000];
        assert_eq!(first_non_finite(&x), None);
        x[777] = f64::INFINITY;
        x[900] = f64::NAN;
        assert_eq!(first_non_finite(&x), Some(777));
        x[3] = f64::NEG_INFINITY;
        assert_eq!(first_non_finite(&x), Some(3));
        assert_eq!(first_non_finite(&x[995..]), None);
        assert_eq!(first_non_finite(&[f64::NAN]), Some(0));
    }

    #[test]
    fn official_thresholds_match_numpy_arange() {
        let t = official_thresholds();
        assert_eq!(t.len(), 20);
        assert_eq!(t[0], 0.001);
        assert!((t[19] - 0.039).abs() < 1e-15);
    }
}
