//! Binding of the detections JSON text (`core::json`): borrow the columns, format with the
//! thread detached.

use numpy::PyReadonlyArray1;
use pyo3::prelude::*;

use super::convert::{invalid_argument, value_error};
use super::slice;
use crate::core::json::{self as core, Rows};

/// The JSON text of each video's detections; video `v` has rows `offsets[v]:offsets[v + 1]`.
#[pyfunction]
#[pyo3(signature = (label_json, offsets, label, score, seg_start, seg_end, start, end, num_threads))]
#[allow(clippy::too_many_arguments)]
fn detections_json_batch<'py>(
    py: Python<'py>,
    label_json: Vec<String>,
    offsets: PyReadonlyArray1<'py, i64>,
    label: PyReadonlyArray1<'py, i64>,
    score: PyReadonlyArray1<'py, f64>,
    seg_start: PyReadonlyArray1<'py, f64>,
    seg_end: PyReadonlyArray1<'py, f64>,
    start: PyReadonlyArray1<'py, f64>,
    end: PyReadonlyArray1<'py, f64>,
    num_threads: Option<usize>,
) -> PyResult<Vec<String>> {
    let offsets = slice("offsets", &offsets)?
        .iter()
        .map(|&x| usize::try_from(x).map_err(|_| invalid_argument(format!("`offsets`: must be >= 0, got {x}"))))
        .collect::<PyResult<Vec<usize>>>()?;
    let rows = Rows {
        label: slice("label", &label)?,
        score: slice("score", &score)?,
        seg_start: slice("seg_start", &seg_start)?,
        seg_end: slice("seg_end", &seg_end)?,
        start: slice("start", &start)?,
        end: slice("end", &end)?,
    };
    py.detach(|| core::detections_json_batch(&label_json, &offsets, &rows, num_threads)).map_err(value_error)
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(detections_json_batch, m)?)
}
