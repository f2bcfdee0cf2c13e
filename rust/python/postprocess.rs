//! Bindings of extraction, fusion, NMS, soft-NMS and the batched detection pipeline.

use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use super::{slice, value_error};
use crate::core::batch::{self, apply_grouped, Cas, DetectConfig, Grouped, Method};
use crate::core::error::CoreError;
use crate::core::extract::{self, ExtractParams, ExtractPreset};
use crate::core::fusion::{FuseParams, Weight};
use crate::core::nms::{Decay, NmsParams, SoftNmsParams};
use crate::core::overlap::Overlap;
use crate::core::segments::{Segments, SegmentsRef};
use crate::core::template::Template;

type Arr<'py, T> = Bound<'py, PyArray1<T>>;
/// `(label, start, end, score, inner)` as numpy arrays.
type Columns<'py> = (Arr<'py, i64>, Arr<'py, f64>, Arr<'py, f64>, Arr<'py, f64>, Arr<'py, f64>);
/// [`Columns`] plus the `video` column (or `None`).
type VideoColumns<'py> =
    (Arr<'py, i64>, Arr<'py, f64>, Arr<'py, f64>, Arr<'py, f64>, Arr<'py, f64>, Option<Arr<'py, i64>>);

fn to_numpy<'py>(py: Python<'py>, s: Segments) -> Columns<'py> {
    (
        s.label.into_pyarray(py),
        s.start.into_pyarray(py),
        s.end.into_pyarray(py),
        s.score.into_pyarray(py),
        s.inner.into_pyarray(py),
    )
}

fn grouped_to_numpy<'py>(py: Python<'py>, g: Grouped) -> VideoColumns<'py> {
    let (a, b, c, d, e) = to_numpy(py, g.segments);
    (a, b, c, d, e, g.video.map(|v| v.into_pyarray(py)))
}

fn unknown(arg: &str, got: &str, choices: &str) -> PyErr {
    PyValueError::new_err(format!("`{arg}`: unknown value {got:?}; choose one of {choices}"))
}

fn overlap_of(name: &str) -> PyResult<Overlap> {
    Overlap::parse(name).ok_or_else(|| unknown("overlap", name, "'coverage', 'iou'"))
}

fn preset_of(name: &str, alpha: f64) -> PyResult<ExtractPreset> {
    match name {
        "official" => Ok(ExtractPreset::Official),
        "paper" => Ok(ExtractPreset::Paper { alpha }),
        _ => Err(unknown("preset", name, "'official', 'paper'")),
    }
}

fn fuse_params(
    temperature: f64,
    threshold: f64,
    overlap: &str,
    weight: &str,
    template: &str,
    dof: f64,
) -> PyResult<FuseParams> {
    Ok(FuseParams {
        temperature,
        threshold,
        overlap: overlap_of(overlap)?,
        weight: Weight::parse(weight).ok_or_else(|| unknown("weight", weight, "'inner', 'score'"))?,
        template: Template::parse(template, dof)
            .ok_or_else(|| unknown("template", template, "'gaussian', 'laplace', 'uniform', 'student_t'"))?,
    })
}

fn soft_params(
    sigma: f64,
    min_score: f64,
    method: &str,
    threshold: f64,
    max_out: Option<usize>,
) -> PyResult<SoftNmsParams> {
    let decay = match method {
        "gaussian" => Decay::Gaussian { sigma },
        "linear" => Decay::Linear { threshold },
        _ => return Err(unknown("method", method, "'gaussian', 'linear'")),
    };
    Ok(SoftNmsParams { decay, min_score, max_out })
}

/// Borrowed input columns of a `Proposals`: `(label, start, end, score, inner, video)`.
type Input<'py> = (
    PyReadonlyArray1<'py, i64>,
    PyReadonlyArray1<'py, f64>,
    PyReadonlyArray1<'py, f64>,
    PyReadonlyArray1<'py, f64>,
    PyReadonlyArray1<'py, f64>,
    Option<PyReadonlyArray1<'py, i64>>,
);

/// Apply `method` per (video, label) group of `columns`, with the thread detached.
fn run_grouped<'py>(py: Python<'py>, columns: &Input<'_>, method: Method) -> PyResult<VideoColumns<'py>> {
    let (label, start, end, score, inner, video) = columns;
    let view = SegmentsRef {
        label: slice("label", label)?,
        start: slice("start", start)?,
        end: slice("end", end)?,
        score: slice("score", score)?,
        inner: slice("inner", inner)?,
        video: video.as_ref().map(|v| slice("video", v)).transpose()?,
    };
    let out = py.detach(|| apply_grouped(&view, &method)).map_err(value_error)?;
    Ok(grouped_to_numpy(py, out))
}

fn cas_view<'a>(arg: &str, cas: &'a PyReadonlyArray2<'_, f64>) -> PyResult<Cas<'a>> {
    let shape = cas.shape();
    let data = cas.as_slice().map_err(|_| PyTypeError::new_err(format!("`{arg}` must be a C-contiguous 2-D array")))?;
    Ok(Cas { data, l: shape[0], k: shape[1] })
}

#[pyfunction]
#[pyo3(signature = (cas, thresholds, classes, min_length, preset, alpha))]
fn extract_proposals<'py>(
    py: Python<'py>,
    cas: PyReadonlyArray2<'py, f64>,
    thresholds: PyReadonlyArray1<'py, f64>,
    classes: Option<PyReadonlyArray1<'py, i64>>,
    min_length: usize,
    preset: &str,
    alpha: f64,
) -> PyResult<Columns<'py>> {
    let view = cas_view("cas", &cas)?;
    let params = ExtractParams {
        thresholds: slice("thresholds", &thresholds)?.to_vec(),
        min_length,
        preset: preset_of(preset, alpha)?,
    };
    let classes = classes.as_ref().map(|c| slice("classes", c)).transpose()?;
    let out = py.detach(|| extract::extract(view.data, view.l, view.k, classes, &params)).map_err(value_error)?;
    Ok(to_numpy(py, out))
}

#[pyfunction]
#[pyo3(signature = (columns, temperature, threshold, overlap, weight, template, dof))]
#[allow(clippy::too_many_arguments)]
fn fuse<'py>(
    py: Python<'py>,
    columns: Input<'py>,
    temperature: f64,
    threshold: f64,
    overlap: &str,
    weight: &str,
    template: &str,
    dof: f64,
) -> PyResult<VideoColumns<'py>> {
    let method = Method::Fusion(fuse_params(temperature, threshold, overlap, weight, template, dof)?);
    run_grouped(py, &columns, method)
}

#[pyfunction]
#[pyo3(signature = (columns, threshold, overlap))]
fn nms<'py>(py: Python<'py>, columns: Input<'py>, threshold: f64, overlap: &str) -> PyResult<VideoColumns<'py>> {
    let method = Method::Nms(NmsParams { threshold, overlap: overlap_of(overlap)? });
    run_grouped(py, &columns, method)
}

#[pyfunction]
#[pyo3(signature = (columns, sigma, min_score, method, threshold, max_out))]
fn soft_nms<'py>(
    py: Python<'py>,
    columns: Input<'py>,
    sigma: f64,
    min_score: f64,
    method: &str,
    threshold: f64,
    max_out: Option<usize>,
) -> PyResult<VideoColumns<'py>> {
    let method = Method::SoftNms(soft_params(sigma, min_score, method, threshold, max_out)?);
    run_grouped(py, &columns, method)
}

#[pyfunction]
#[pyo3(signature = (
    cas_list, score_list, *, thresholds, class_threshold, min_length, preset, alpha, method,
    temperature, threshold, overlap, weight, template, dof, sigma, min_score, soft_method,
    max_out, num_threads
))]
#[allow(clippy::too_many_arguments)]
fn detect_batch<'py>(
    py: Python<'py>,
    cas_list: Vec<PyReadonlyArray2<'py, f64>>,
    score_list: Vec<PyReadonlyArray1<'py, f64>>,
    thresholds: PyReadonlyArray1<'py, f64>,
    class_threshold: f64,
    min_length: usize,
    preset: &str,
    alpha: f64,
    method: &str,
    temperature: f64,
    threshold: f64,
    overlap: &str,
    weight: &str,
    template: &str,
    dof: f64,
    sigma: f64,
    min_score: f64,
    soft_method: &str,
    max_out: Option<usize>,
    num_threads: Option<usize>,
) -> PyResult<Vec<Columns<'py>>> {
    let method = match method {
        "fusion" => Method::Fusion(fuse_params(temperature, threshold, overlap, weight, template, dof)?),
        "nms" => Method::Nms(NmsParams { threshold, overlap: overlap_of(overlap)? }),
        "soft_nms" => Method::SoftNms(soft_params(sigma, min_score, soft_method, threshold, max_out)?),
        _ => return Err(unknown("method", method, "'fusion', 'nms', 'soft_nms'")),
    };
    let cfg = DetectConfig {
        extract: ExtractParams {
            thresholds: slice("thresholds", &thresholds)?.to_vec(),
            min_length,
            preset: preset_of(preset, alpha)?,
        },
        class_threshold,
        method,
    };
    let videos = cas_list.iter().map(|c| cas_view("cas", c)).collect::<PyResult<Vec<_>>>()?;
    let scores = score_list.iter().map(|s| slice("video_scores", s)).collect::<PyResult<Vec<_>>>()?;
    let out = py
        .detach(|| batch::with_threads(num_threads, || batch::detect_batch(&videos, &scores, &cfg)))
        .and_then(|r: Result<Vec<Segments>, CoreError>| r)
        .map_err(value_error)?;
    Ok(out.into_iter().map(|s| to_numpy(py, s)).collect())
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(extract_proposals, m)?)?;
    m.add_function(wrap_pyfunction!(fuse, m)?)?;
    m.add_function(wrap_pyfunction!(nms, m)?)?;
    m.add_function(wrap_pyfunction!(soft_nms, m)?)?;
    m.add_function(wrap_pyfunction!(detect_batch, m)?)?;
    Ok(())
}
