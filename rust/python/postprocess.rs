//! Bindings of extraction, fusion, NMS, soft-NMS and the batched detection pipeline.

use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods,
};
use pyo3::prelude::*;

use super::convert::{invalid_type, value_error, Config, DecayName, PresetName, TemplateName, Wrap};
use super::slice;
use crate::core::batch::{self, apply_grouped, Cas, Grouped, Method};
use crate::core::extract::{self, ExtractParams};
use crate::core::fusion::{FuseParams, Weight};
use crate::core::nms::{NmsParams, SoftNmsParams};
use crate::core::overlap::Overlap;
use crate::core::segments::{Segments, SegmentsRef};
use crate::core::threads::with_threads;

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

/// Borrowed input columns of a `Proposals`: `(label, start, end, score, inner, video)`.
type Input<'py> = (
    PyReadonlyArray1<'py, i64>,
    PyReadonlyArray1<'py, f64>,
    PyReadonlyArray1<'py, f64>,
    PyReadonlyArray1<'py, f64>,
    PyReadonlyArray1<'py, f64>,
    Option<PyReadonlyArray1<'py, i64>>,
);

/// Apply `method` per (video, label) group of `columns` on `num_threads` workers, with the thread
/// detached.
fn run_grouped<'py>(
    py: Python<'py>,
    columns: &Input<'_>,
    method: Method,
    num_threads: Option<usize>,
) -> PyResult<VideoColumns<'py>> {
    let (label, start, end, score, inner, video) = columns;
    let view = SegmentsRef {
        label: slice("label", label)?,
        start: slice("start", start)?,
        end: slice("end", end)?,
        score: slice("score", score)?,
        inner: slice("inner", inner)?,
        video: video.as_ref().map(|v| slice("video", v)).transpose()?,
    };
    let out = py.detach(|| with_threads(num_threads, || apply_grouped(&view, &method))).and_then(|r| r);
    Ok(grouped_to_numpy(py, out.map_err(value_error)?))
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
        Err(invalid_type("`cas` must be a 2-D float32 or float64 numpy array".into()))
    }

    fn view(&self) -> PyResult<Cas<'_>> {
        let contiguous = || invalid_type("`cas` must be a C-contiguous 2-D float32 or float64 array".into());
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
    preset: Wrap<PresetName>,
    alpha: f64,
) -> PyResult<Columns<'py>> {
    let shape = cas.shape();
    let (l, k) = (shape[0], shape[1]);
    let data = cas.as_slice().map_err(|_| invalid_type("`cas` must be a C-contiguous 2-D array".into()))?;
    let params = ExtractParams {
        thresholds: slice("thresholds", &thresholds)?.to_vec(),
        min_length,
        preset: preset.0.with(alpha),
        exact: false,
    };
    let classes = classes.as_ref().map(|c| slice("classes", c)).transpose()?;
    let out = py.detach(|| extract::extract(data, l, k, classes, &params)).map_err(value_error)?;
    Ok(to_numpy(py, out))
}

#[pyfunction]
#[pyo3(signature = (columns, temperature, threshold, overlap, weight, template, dof, num_threads))]
#[allow(clippy::too_many_arguments)]
fn fuse<'py>(
    py: Python<'py>,
    columns: Input<'py>,
    temperature: f64,
    threshold: f64,
    overlap: Wrap<Overlap>,
    weight: Wrap<Weight>,
    template: Wrap<TemplateName>,
    dof: f64,
    num_threads: Option<usize>,
) -> PyResult<VideoColumns<'py>> {
    let params =
        FuseParams { temperature, threshold, overlap: overlap.0, weight: weight.0, template: template.0.with(dof) };
    run_grouped(py, &columns, Method::Fusion(params), num_threads)
}

#[pyfunction]
#[pyo3(signature = (columns, threshold, overlap, num_threads))]
fn nms<'py>(
    py: Python<'py>,
    columns: Input<'py>,
    threshold: f64,
    overlap: Wrap<Overlap>,
    num_threads: Option<usize>,
) -> PyResult<VideoColumns<'py>> {
    run_grouped(py, &columns, Method::Nms(NmsParams { threshold, overlap: overlap.0 }), num_threads)
}

#[pyfunction]
#[pyo3(signature = (columns, sigma, min_score, method, threshold, max_out, num_threads))]
#[allow(clippy::too_many_arguments)]
fn soft_nms<'py>(
    py: Python<'py>,
    columns: Input<'py>,
    sigma: f64,
    min_score: f64,
    method: Wrap<DecayName>,
    threshold: f64,
    max_out: Option<usize>,
    num_threads: Option<usize>,
) -> PyResult<VideoColumns<'py>> {
    let params = SoftNmsParams { decay: method.0.with(sigma, threshold), min_score, max_out };
    run_grouped(py, &columns, Method::SoftNms(params), num_threads)
}

/// Detections of a batch under a `PostprocessConfig`, and per video the groups exact mode fused
/// with the shifted form. Exact fusion exponentiates its weights with `numpy.exp` between its two
/// parallel passes (on this thread, with the GIL).
#[pyfunction]
#[pyo3(signature = (cas_list, score_list, config, num_threads))]
fn detect_batch<'py>(
    py: Python<'py>,
    cas_list: Vec<Bound<'py, PyAny>>,
    score_list: Vec<PyReadonlyArray1<'py, f64>>,
    config: Config,
    num_threads: Option<usize>,
) -> PyResult<(Vec<Columns<'py>>, Vec<usize>)> {
    let cfg = config.0;
    let arrays = cas_list.iter().map(CasArray::of).collect::<PyResult<Vec<_>>>()?;
    let videos = arrays.iter().map(CasArray::view).collect::<PyResult<Vec<_>>>()?;
    let scores = score_list.iter().map(|s| slice("video_scores", s)).collect::<PyResult<Vec<_>>>()?;
    let mut prepared = py
        .detach(|| with_threads(num_threads, || batch::prepare_batch(&videos, &scores, &cfg)))
        .and_then(|r| r)
        .map_err(value_error)?;
    if let Some(args) = prepared.exp_arguments() {
        numpy_exp_in_place(py, args)?;
    }
    let out = py.detach(|| with_threads(num_threads, || prepared.finish())).map_err(value_error)?;
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
