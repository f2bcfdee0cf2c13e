//! The detection pipeline (docs/algorithms.md, "Detection pipeline") and the grouped entry points: per (video, class),
//! extract -> fuse | NMS | soft-NMS, run in parallel with rayon. Results are assembled in
//! task order, so they are identical for any number of threads.
//!
//! Exact mode (`ExtractParams::exact`) with fusion runs in two parallel passes with a step in
//! between: [`prepare_batch`] extracts, the caller exponentiates the released weights
//! ([`Prepared::exp_arguments`], e.g. with NumPy's `exp`), and [`Prepared::finish`] fuses.

use rayon::prelude::*;

use crate::core::error::{CoreError, Result};
use crate::core::extract::{
    extract_column, gather_column, validate_cas, ExtractParams, ExtractScratch, Fold, SortedThresholds,
};
use crate::core::fusion::{fuse_group, FuseParams, Weight, Workspace};
use crate::core::nms::{nms_group, soft_nms_group, NmsParams, SoftNmsParams};
use crate::core::overlap::Overlap;
use crate::core::released::fuse_group_released;
use crate::core::segments::{gather, Group, Segments, SegmentsRef};
use crate::core::template::Template;

/// What replaces the raw proposals of one class.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Method {
    Fusion(FuseParams),
    Nms(NmsParams),
    SoftNms(SoftNmsParams),
}

impl Method {
    pub fn validate(&self) -> Result<()> {
        match self {
            Method::Fusion(p) => p.validate(),
            Method::Nms(p) => p.validate(),
            Method::SoftNms(p) => p.validate(),
        }
    }

    /// Whether `m` identical rows may be replaced by one row of count `m`: true for fusion
    /// and NMS when a row always groups with its copies (overlap 1 > threshold; extraction
    /// never yields zero-length rows), false for soft-NMS (each copy is its own output).
    pub fn folds_duplicates(&self) -> bool {
        match self {
            Method::Fusion(p) => p.threshold < 1.0,
            Method::Nms(p) => p.threshold < 1.0,
            Method::SoftNms(_) => false,
        }
    }

    /// Apply to one group; rows appended to `out`.
    pub fn apply(&self, g: &Group<'_>, label: i64, out: &mut Segments, ws: &mut Workspace) {
        match self {
            Method::Fusion(p) => fuse_group(g, label, p, out, ws),
            Method::Nms(p) => nms_group(g, label, p, out, ws),
            Method::SoftNms(p) => soft_nms_group(g, label, p, out, ws),
        }
    }
}

/// Everything `detect` needs.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectConfig {
    pub extract: ExtractParams,
    /// Classes whose video-level score is at least this are processed.
    pub class_threshold: f64,
    pub method: Method,
}

impl DetectConfig {
    pub fn validate(&self) -> Result<()> {
        self.extract.validate()?;
        if !self.class_threshold.is_finite() {
            return Err(CoreError::invalid("class_threshold", format!("must be finite, got {}", self.class_threshold)));
        }
        self.method.validate()?;
        if self.extract.exact {
            self.validate_exact()?;
        }
        Ok(())
    }

    /// Exact mode reproduces the released code, which fuses (or suppresses) one way only.
    fn validate_exact(&self) -> Result<()> {
        let released = |arg: &str, what: &str| {
            CoreError::invalid(arg, format!("exact mode reproduces the released code, which {what}"))
        };
        match self.method {
            Method::Fusion(p) => {
                if p.overlap != Overlap::Coverage {
                    return Err(released("overlap", "groups by \"coverage\""));
                }
                if p.weight != Weight::Inner {
                    return Err(released("weight", "weighs members by \"inner\""));
                }
                if p.template != Template::Gaussian {
                    return Err(released("template", "fuses with the \"gaussian\" template (a weighted mean)"));
                }
            }
            Method::Nms(p) if p.overlap != Overlap::Coverage => {
                return Err(released("overlap", "suppresses by \"coverage\""))
            }
            Method::Nms(_) => {}
            Method::SoftNms(_) => return Err(released("method", "has \"fusion\" and \"nms\", no soft-NMS")),
        }
        Ok(())
    }

    fn exact_fusion(&self) -> Option<&FuseParams> {
        match &self.method {
            Method::Fusion(p) if self.extract.exact => Some(p),
            _ => None,
        }
    }
}

/// The values of a row-major `(l, k)` class activation sequence, in their dtype.
#[derive(Debug, Clone, Copy)]
pub enum CasValues<'a> {
    F64(&'a [f64]),
    /// Read as float64 by the fast path; exact mode computes its means in float32.
    F32(&'a [f32]),
}

/// A row-major `(l, k)` class activation sequence.
#[derive(Debug, Clone, Copy)]
pub struct Cas<'a> {
    pub data: CasValues<'a>,
    pub l: usize,
    pub k: usize,
}

impl<'a> Cas<'a> {
    pub fn f64(data: &'a [f64], l: usize, k: usize) -> Self {
        Cas { data: CasValues::F64(data), l, k }
    }

    pub fn f32(data: &'a [f32], l: usize, k: usize) -> Self {
        Cas { data: CasValues::F32(data), l, k }
    }
}

/// Output of the grouped entry points: rows plus their video ids (when the input had them).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grouped {
    pub segments: Segments,
    pub video: Option<Vec<i64>>,
}

/// Apply `method` independently to every (video, label) group of `input`. Groups come out in
/// ascending (video, label) order, each in the method's own order.
pub fn apply_grouped(input: &SegmentsRef<'_>, method: &Method) -> Result<Grouped> {
    input.validate()?;
    method.validate()?;
    let groups = input.groups();
    let parts: Vec<((i64, i64), Segments)> = groups
        .par_iter()
        .map_init(Workspace::default, |ws, (key, rows)| {
            let mut out = Segments::default();
            method.apply(&Group::of(&gather(input, rows)), key.1, &mut out, ws);
            (*key, out)
        })
        .collect();
    let mut result = Grouped { segments: Segments::default(), video: input.video.map(|_| Vec::new()) };
    for ((video, _), seg) in &parts {
        if let Some(v) = result.video.as_mut() {
            v.extend(std::iter::repeat_n(*video, seg.len()));
        }
        result.segments.extend(seg);
    }
    Ok(result)
}

fn validate_video(cas: &Cas<'_>, scores: &[f64], thresholds: usize) -> Result<()> {
    match cas.data {
        CasValues::F64(d) => validate_cas(d, cas.l, cas.k, thresholds)?,
        CasValues::F32(d) => validate_cas(d, cas.l, cas.k, thresholds)?,
    }
    if scores.len() != cas.k {
        return Err(CoreError::invalid(
            "video_scores",
            format!("has {} values but cas has {} class columns", scores.len(), cas.k),
        ));
    }
    if let Some(i) = scores.iter().position(|v| !v.is_finite()) {
        return Err(CoreError::invalid("video_scores", format!("non-finite value at index {i}")));
    }
    Ok(())
}

thread_local! {
    /// Each worker's buffers, kept across tasks and calls (rayon's `map_init` would make new
    /// ones for every stolen job, and regrow them).
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Per-worker buffers reused across tasks.
#[derive(Default)]
struct Scratch {
    extract: ExtractScratch,
    column: Vec<f64>,
    column32: Vec<f32>,
    raw: Segments,
    fold: Fold,
    kernel: Workspace,
}

/// One (video, class) task's rows after the first pass: the final detections, or (exact fusion)
/// the extracted rows waiting for their weights.
#[derive(Debug, Default)]
struct TaskRows {
    rows: Segments,
    /// Exact fusion: which row each proposal became (`None`: nothing folded).
    copy_of: Option<Vec<u32>>,
    /// Exact fusion: the first of this task's entries in [`Prepared::weights`].
    offset: usize,
}

/// Thresholds as each kind of column is compared with them.
struct Sorted {
    plain: SortedThresholds,
    /// Exact mode, float32 columns: rounded to float32.
    rounded32: SortedThresholds,
}

/// One (video, class) unit of work of the first pass.
fn detect_class(cas: &Cas<'_>, class: usize, cfg: &DetectConfig, sorted: &Sorted, scratch: &mut Scratch) -> TaskRows {
    let Scratch { extract, column, column32, raw, fold, kernel } = scratch;
    raw.clear();
    fold.clear();
    let dedup = cfg.method.folds_duplicates();
    let label = class as i64;
    let f = if dedup { Some(&mut *fold) } else { None };
    match cas.data {
        CasValues::F32(d) if cfg.extract.exact => {
            gather_column(d, cas.l, cas.k, class, column32);
            extract_column(column32, label, &cfg.extract, &sorted.rounded32, extract, raw, f);
        }
        CasValues::F32(d) => {
            column.clear();
            column.extend((0..cas.l).map(|i| d[i * cas.k + class] as f64));
            extract_column(column, label, &cfg.extract, &sorted.plain, extract, raw, f);
        }
        CasValues::F64(d) => {
            gather_column(d, cas.l, cas.k, class, column);
            extract_column(column, label, &cfg.extract, &sorted.plain, extract, raw, f);
        }
    }
    if cfg.exact_fusion().is_some() {
        let copy_of = dedup.then(|| fold.copy_of.clone());
        return TaskRows { rows: std::mem::take(raw), copy_of, offset: 0 };
    }
    let mut out = Segments::default();
    if !raw.is_empty() {
        let group = Group { count: dedup.then_some(&fold.counts[..]), ..Group::of(raw) };
        cfg.method.apply(&group, label, &mut out, kernel);
    }
    TaskRows { rows: out, copy_of: None, offset: 0 }
}

/// Detections of a batch, per video, and how many of each video's fused groups exact mode had
/// to compute with the shifted form.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    pub detections: Vec<Segments>,
    /// Per video; always 0 outside exact fusion.
    pub shifted_groups: Vec<usize>,
}

/// A batch after the first pass ([`prepare_batch`]).
pub struct Prepared {
    cfg: DetectConfig,
    num_videos: usize,
    tasks: Vec<(usize, usize)>,
    parts: Vec<TaskRows>,
    /// Exact fusion: `inner / T` of every extracted row, task after task; the caller replaces
    /// each by its `exp` before [`Prepared::finish`].
    weights: Vec<f64>,
}

impl Prepared {
    /// Exact fusion: the arguments `w / T` of the released weights `exp(w / T)`, to be
    /// exponentiated in place (`None` otherwise: nothing to do).
    pub fn exp_arguments(&mut self) -> Option<&mut [f64]> {
        self.cfg.exact_fusion().map(|_| &mut self.weights[..])
    }

    /// The second pass (exact fusion, in parallel on the current rayon pool) and the assembly of
    /// the per-video results in task order.
    pub fn finish(self) -> Batch {
        let Prepared { cfg, num_videos, tasks, mut parts, weights } = self;
        let mut shifted = vec![0usize; num_videos];
        if let Some(p) = cfg.exact_fusion() {
            let fused: Vec<(Segments, usize)> = parts
                .par_iter()
                .map(|part| {
                    let mut out = Segments::default();
                    if part.rows.is_empty() {
                        return (out, 0);
                    }
                    let k = &weights[part.offset..part.offset + part.rows.len()];
                    let label = part.rows.label[0];
                    let n = SCRATCH.with_borrow_mut(|s| {
                        fuse_group_released(
                            &Group::of(&part.rows),
                            part.copy_of.as_deref(),
                            k,
                            label,
                            p,
                            &mut out,
                            &mut s.kernel,
                        )
                    });
                    (out, n)
                })
                .collect();
            for ((part, (rows, n)), &(v, _)) in parts.iter_mut().zip(fused).zip(&tasks) {
                part.rows = rows;
                shifted[v] += n;
            }
        }
        let mut detections = vec![Segments::default(); num_videos];
        for (&(v, _), part) in tasks.iter().zip(&parts) {
            detections[v].extend(&part.rows);
        }
        Batch { detections, shifted_groups: shifted }
    }
}

/// The first pass of [`detect_batch`]: checks, then per (video, class) task, on the current
/// rayon pool, extraction and (except in exact fusion) the method.
pub fn prepare_batch(videos: &[Cas<'_>], video_scores: &[&[f64]], cfg: &DetectConfig) -> Result<Prepared> {
    cfg.validate()?;
    if videos.len() != video_scores.len() {
        return Err(CoreError::invalid(
            "video_scores",
            format!("has {} entries but there are {} cas arrays", video_scores.len(), videos.len()),
        ));
    }
    // Checked in parallel; the error of the lowest-numbered bad video is the one reported.
    let nt = cfg.extract.thresholds.len();
    let checks: Vec<Result<()>> = videos.par_iter().zip(video_scores).map(|(c, s)| validate_video(c, s, nt)).collect();
    if let Some((i, Err(e))) = checks.into_iter().enumerate().find(|(_, r)| r.is_err()) {
        return Err(if videos.len() > 1 { e.at(i) } else { e });
    }
    let tasks: Vec<(usize, usize)> = video_scores
        .iter()
        .enumerate()
        .flat_map(|(v, s)| s.iter().enumerate().filter(|(_, &x)| x >= cfg.class_threshold).map(move |(c, _)| (v, c)))
        .collect();
    let th = &cfg.extract.thresholds;
    let sorted = Sorted { plain: SortedThresholds::new(th), rounded32: SortedThresholds::rounded_to::<f32>(th) };
    let mut parts: Vec<TaskRows> = tasks
        .par_iter()
        .map(|&(v, c)| SCRATCH.with_borrow_mut(|scratch| detect_class(&videos[v], c, cfg, &sorted, scratch)))
        .collect();
    let mut weights = Vec::new();
    if let Some(p) = cfg.exact_fusion() {
        for part in parts.iter_mut() {
            part.offset = weights.len();
            weights.extend(part.rows.inner.iter().map(|w| w / p.temperature));
        }
    }
    Ok(Prepared { cfg: cfg.clone(), num_videos: videos.len(), tasks, parts, weights })
}

/// Detections of many videos: for each video, each class `c` with `video_scores[c] >=
/// class_threshold` in ascending order, extract then `cfg.method`. Work is spread over
/// (video, class) pairs on the current rayon pool. Exact fusion takes its weights from the C
/// library's `exp` here (the bindings use NumPy's: see [`prepare_batch`]).
pub fn detect_batch(videos: &[Cas<'_>], video_scores: &[&[f64]], cfg: &DetectConfig) -> Result<Batch> {
    let mut prepared = prepare_batch(videos, video_scores, cfg)?;
    if let Some(args) = prepared.exp_arguments() {
        args.iter_mut().for_each(|a| *a = a.exp());
    }
    Ok(prepared.finish())
}

/// [`detect_batch`] of one video.
pub fn detect(cas: Cas<'_>, video_scores: &[f64], cfg: &DetectConfig) -> Result<Segments> {
    Ok(detect_batch(&[cas], &[video_scores], cfg)?.detections.pop().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::extract::official_thresholds;
    use crate::core::nms::NmsParams;
    use crate::core::preset::Preset;
    use crate::core::threads::with_threads;

    fn official_cfg() -> DetectConfig {
        DetectConfig {
            extract: ExtractParams {
                thresholds: official_thresholds(),
                min_length: 2,
                preset: Preset::Official,
                exact: false,
            },
            class_threshold: 0.16,
            method: Method::Fusion(FuseParams {
                temperature: 0.2,
                threshold: 0.25,
                overlap: Overlap::Coverage,
                weight: Weight::Inner,
                template: Template::Gaussian,
            }),
        }
    }

    /// A deterministic pseudo-random TCAM (xorshift), bumps of activation on a low floor.
    fn tcam(l: usize, k: usize, seed: u64) -> Vec<f64> {
        let mut s = seed | 1;
        (0..l * k)
            .map(|i| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                let noise = (s % 1000) as f64 / 1000.0 * 0.02;
                let t = (i / k) as f64;
                noise + 0.05 * ((t / 7.0 + (i % k) as f64).sin()).max(0.0)
            })
            .collect()
    }

    #[test]
    fn batch_is_identical_for_any_thread_count() {
        let data: Vec<Vec<f64>> = (0..12).map(|v| tcam(50 + 37 * v, 4, v as u64 + 1)).collect();
        let videos: Vec<Cas> = data.iter().map(|d| Cas::f64(d, d.len() / 4, 4)).collect();
        let scores: Vec<Vec<f64>> = (0..12).map(|v| vec![0.9, 0.1, 0.5 * (v % 2) as f64, 0.2]).collect();
        let score_refs: Vec<&[f64]> = scores.iter().map(|s| s.as_slice()).collect();
        let cfg = official_cfg();
        let one = with_threads(Some(1), || detect_batch(&videos, &score_refs, &cfg)).unwrap().unwrap().detections;
        let three = with_threads(Some(3), || detect_batch(&videos, &score_refs, &cfg)).unwrap().unwrap().detections;
        assert_eq!(one, three);
        assert!(one.iter().any(|s| !s.is_empty()));
        // Only classes at or above the class threshold appear.
        assert!(one.iter().all(|s| s.label.iter().all(|&c| c == 0 || c == 2 || c == 3)));
    }

    fn exact(mut cfg: DetectConfig) -> DetectConfig {
        cfg.extract.exact = true;
        cfg
    }

    #[test]
    fn exact_mode_is_close_to_the_fast_path_and_thread_independent() {
        let data: Vec<Vec<f64>> = (0..8).map(|v| tcam(80 + 53 * v, 3, v as u64 + 7)).collect();
        let data32: Vec<Vec<f32>> = data.iter().map(|d| d.iter().map(|&x| x as f32).collect()).collect();
        let scores = vec![vec![0.9, 0.9, 0.9]; 8];
        let score_refs: Vec<&[f64]> = scores.iter().map(|s| s.as_slice()).collect();
        let v64: Vec<Cas> = data.iter().map(|d| Cas::f64(d, d.len() / 3, 3)).collect();
        let v32: Vec<Cas> = data32.iter().map(|d| Cas::f32(d, d.len() / 3, 3)).collect();
        let fast = detect_batch(&v64, &score_refs, &official_cfg()).unwrap();
        for videos in [&v64, &v32] {
            let one =
                with_threads(Some(1), || detect_batch(videos, &score_refs, &exact(official_cfg()))).unwrap().unwrap();
            let two =
                with_threads(Some(2), || detect_batch(videos, &score_refs, &exact(official_cfg()))).unwrap().unwrap();
            assert_eq!(one, two);
            assert!(one.shifted_groups.iter().all(|&n| n == 0));
            if matches!(videos[0].data, CasValues::F32(_)) {
                continue; // float32 means differ from float64 ones at 1e-7
            }
            for (a, b) in one.detections.iter().zip(&fast.detections) {
                assert_eq!(a.len(), b.len());
                for (x, y) in a.start.iter().chain(&a.score).zip(b.start.iter().chain(&b.score)) {
                    assert!((x - y).abs() <= 1e-12 * (1.0 + y.abs()), "{x} vs {y}");
                }
            }
        }
    }

    #[test]
    fn exact_mode_names_what_the_released_code_lacks() {
        let mut cfg = exact(official_cfg());
        cfg.extract.preset = Preset::Paper { alpha: 0.25 };
        assert_eq!(cfg.validate().unwrap_err().arg(), "exact");
        let base = exact(official_cfg());
        let Method::Fusion(p) = base.method else { unreachable!() };
        let with = |m: Method| DetectConfig { method: m, ..base.clone() };
        let iou = with(Method::Fusion(FuseParams { overlap: Overlap::Iou, ..p }));
        assert_eq!(iou.validate().unwrap_err().arg(), "overlap");
        let score = with(Method::Fusion(FuseParams { weight: Weight::Score, ..p }));
        assert_eq!(score.validate().unwrap_err().arg(), "weight");
        let laplace = with(Method::Fusion(FuseParams { template: Template::Laplace, ..p }));
        assert_eq!(laplace.validate().unwrap_err().arg(), "template");
        let soft = with(Method::SoftNms(SoftNmsParams {
            decay: crate::core::nms::Decay::Linear { threshold: 0.3 },
            min_score: 0.0,
            max_out: None,
        }));
        assert_eq!(soft.validate().unwrap_err().arg(), "method");
        assert!(with(Method::Nms(NmsParams { threshold: 0.25, overlap: Overlap::Coverage })).validate().is_ok());
    }

    #[test]
    fn exact_float32_compares_with_float32_thresholds() {
        // 0.001 rounds up in float32: an activation of float32(0.001) is above 0.001 in float64
        // (the fast path) but not above float32(0.001) (NumPy 1.22, exact mode).
        let x = 0.001f32;
        assert!(x as f64 > 0.001);
        let d = [0.0f32, x, x, x, 0.0];
        let mut cfg = official_cfg();
        cfg.extract.thresholds = vec![0.001];
        cfg.class_threshold = 0.0;
        let fast = detect(Cas::f32(&d, 5, 1), &[1.0], &cfg).unwrap();
        let exact = detect(Cas::f32(&d, 5, 1), &[1.0], &exact(cfg)).unwrap();
        assert_eq!((fast.len(), exact.len()), (1, 0));
    }

    #[test]
    fn mismatched_scores_name_the_argument() {
        let d = tcam(10, 2, 1);
        let err = detect(Cas::f64(&d, 10, 2), &[0.5], &official_cfg()).unwrap_err();
        assert!(err.to_string().contains("video_scores"), "{err}");
    }
}
