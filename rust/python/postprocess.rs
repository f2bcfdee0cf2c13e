//! Bindings of extraction, fusion, NMS, soft-NMS and the batched detection pipeline.

use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use super::{slice, value_error};
use crate::core::batch::{self, apply_grouped, Cas, DetectConfig, Grouped, Method};
use crate::core::extract::{self, ExtractParams};
use crate::core::fusion::{FuseParams, Weight};
use crate::core::nms::{Decay, NmsParams, SoftNmsParams};
use crate::core::overlap::Overlap;
use crate::core::preset::Preset;
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

fn preset_of(name: &str, alpha: f64) -> PyResult<Preset> {
    match name {
        "official" => Ok(Preset::Official),
        "paper" => Ok(Preset::Paper { alpha }),
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

/// A borrowed `(l, k)` float64 matrix: `(values, l, k)`.
fn matrix<'a>(arg: &str, cas: &'a PyReadonlyArray2<'_, f64>) -> PyResult<(&'a [f64], usize, usize)> {
    let shape = cas.shape();
    let data = cas.as_slice().map_err(|_| PyTypeError::new_err(format!("`{arg}` must be a C-contiguous 2-D array")))?;
    Ok((data, shape[0], shape[1]))
}

/// A TCAM as `detect_batch` takes it: float64, or float32 (kept as float32 for exact mode).
enum CasArray<'py> {
    F64(PyReadonlyArray2<'py, f64>),
    F32(PyReadonlyArray2<'py, f32>),
}

impl<'py> CasArray<'py> {
    /// By a cast on the dtype: failed extractions would build a Python exception per array.
    fn of(ob: &Bound<'py, PyAny>) -> PyResult<Self> {
        if let Ok(a) = ob.cast::<PyArray2<f64>>() {
            return Ok(CasArray::F64(a.try_readonly()?));
        }
        if let Ok(a) = ob.cast::<PyArray2<f32>>() {
            return Ok(CasArray::F32(a.try_readonly()?));
        }
        Err(PyTypeError::new_err("`cas` must be a 2-D float32 or float64 numpy array"))
    }

    fn view(&self) -> PyResult<Cas<'_>> {
        let contiguous = || PyTypeError::new_err("`cas` must be a C-contiguous 2-D float32 or float64 array");
        Ok(match self {
            CasArray::F64(a) => Cas::f64(a.as_slice().map_err(|_| contiguous())?, a.shape()[0], a.shape()[1]),
            CasArray::F32(a) => Cas::f32(a.as_slice().map_err(|_| contiguous())?, a.shape()[0], a.shape()[1]),
        })
    }
}

/// `np.exp(x, out=x)` on a copy of `x`, written back: exact mode takes the released weights from
/// the NumPy in use, whose `exp` is not the C library's on every CPU.
fn numpy_exp_in_place(py: Python<'_>, x: &mut [f64]) -> PyResult<()> {
    let arr = PyArray1::from_slice(py, x);
    py.import("numpy")?.getattr("exp")?.call1((&arr, &arr))?;
    x.copy_from_slice(arr.readonly().as_slice()?);
    Ok(())
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
    let (data, l, k) = matrix("cas", &cas)?;
    let params = ExtractParams {
        thresholds: slice("thresholds", &thresholds)?.to_vec(),
        min_length,
        preset: preset_of(preset, alpha)?,
        exact: false,
    };
    let classes = classes.as_ref().map(|c| slice("classes", c)).transpose()?;
    let out = py.detach(|| extract::extract(data, l, k, classes, &params)).map_err(value_error)?;
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
    max_out, exact, num_threads
))]
#[allow(clippy::too_many_arguments)]
fn detect_batch<'py>(
    py: Python<'py>,
    cas_list: Vec<Bound<'py, PyAny>>,
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
    exact: bool,
    num_threads: Option<usize>,
) -> PyResult<(Vec<Columns<'py>>, Vec<usize>)> {
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
            exact,
        },
        class_threshold,
        method,
    };
    let arrays = cas_list.iter().map(CasArray::of).collect::<PyResult<Vec<_>>>()?;
    let videos = arrays.iter().map(CasArray::view).collect::<PyResult<Vec<_>>>()?;
    let scores = score_list.iter().map(|s| slice("video_scores", s)).collect::<PyResult<Vec<_>>>()?;
    let mut prepared = py
        .detach(|| batch::with_threads(num_threads, || batch::prepare_batch(&videos, &scores, &cfg)))
        .and_then(|r| r)
        .map_err(value_error)?;
    if let Some(args) = prepared.exp_arguments() {
        numpy_exp_in_place(py, args)?;
    }
    let out = py.detach(|| batch::with_threads(num_threads, || prepared.finish())).map_err(value_error)?;
    Ok((out.detections.into_iter().map(|s| to_numpy(py, s)).collect(), out.shifted_groups))
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(extract_proposals, m)?)?;
    m.add_function(wrap_pyfunction!(fuse, m)?)?;
    m.add_function(wrap_pyfunction!(nms, m)?)?;
    m.add_function(wrap_pyfunction!(soft_nms, m)?)?;
    m.add_function(wrap_pyfunction!(detect_batch, m)?)?;
    Ok(())
}
