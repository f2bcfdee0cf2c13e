//! Bindings of the LinPro partition core (`core::partition`): validate, run the core with the
//! thread detached, return fresh numpy arrays. Index arrays come back as int64 with -1 for "none".

use numpy::{PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::{slice as contiguous, value_error};
use crate::core::partition::{self as core, NONE};
use crate::core::preset::Preset;

/// int64 -> usize, rejecting negatives (naming the argument).
fn indices(name: &str, a: &PyReadonlyArray1<'_, i64>) -> PyResult<Vec<usize>> {
    contiguous(name, a)?
        .iter()
        .enumerate()
        .map(|(k, &x)| {
            usize::try_from(x)
                .map_err(|_| PyValueError::new_err(format!("`{name}`: must be >= 0, got {x} at index {k}")))
        })
        .collect()
}

/// int64 -> usize where -1 means NONE.
fn optional_indices(name: &str, a: &PyReadonlyArray1<'_, i64>) -> PyResult<Vec<usize>> {
    contiguous(name, a)?
        .iter()
        .enumerate()
        .map(|(k, &x)| match x {
            -1 => Ok(NONE),
            _ => usize::try_from(x)
                .map_err(|_| PyValueError::new_err(format!("`{name}`: must be >= -1, got {x} at index {k}"))),
        })
        .collect()
}

fn nonneg(name: &str, x: i64) -> PyResult<usize> {
    usize::try_from(x).map_err(|_| PyValueError::new_err(format!("`{name}`: must be >= 0, got {x}")))
}

fn to_i64(v: &[usize]) -> Vec<i64> {
    // Core indices are bounded by array lengths (< i64::MAX); NONE maps to -1.
    v.iter().map(|&x| if x == NONE { -1 } else { x as i64 }).collect()
}

fn ints<'py>(py: Python<'py>, v: &[usize]) -> Bound<'py, PyArray1<i64>> {
    PyArray1::from_vec(py, to_i64(v))
}

/// The W rows as an `(n, 6)` int64 array `[left_lo, left_hi, inner_lo, inner_hi, right_lo, right_hi]`.
#[pyfunction]
#[pyo3(signature = (start, end, length, preset = "official", alpha = 0.25))]
fn linpro_w_rows<'py>(
    py: Python<'py>,
    start: PyReadonlyArray1<'py, f64>,
    end: PyReadonlyArray1<'py, f64>,
    length: i64,
    preset: &str,
    alpha: f64,
) -> PyResult<Bound<'py, PyArray2<i64>>> {
    let rule = Preset::parse(preset, alpha).map_err(value_error)?;
    let length = nonneg("length", length)?;
    let (s, e) = (contiguous("start", &start)?, contiguous("end", &end)?);
    let rows = py.detach(|| core::w_rows(s, e, length, rule)).map_err(value_error)?;
    let flat: Vec<i64> = rows
        .iter()
        .flat_map(|r| [r.left.0, r.left.1, r.inner.0, r.inner.1, r.right.0, r.right.1])
        .map(|x| x as i64)
        .collect();
    PyArray1::from_vec(py, flat).reshape([rows.len(), 6])
}

/// The equivalence-class partition of one class's instances on a video of `length` snippets.
#[pyfunction]
#[pyo3(signature = (start, end, length, preset = "official", alpha = 0.25))]
fn linpro_partition<'py>(
    py: Python<'py>,
    start: PyReadonlyArray1<'py, f64>,
    end: PyReadonlyArray1<'py, f64>,
    length: i64,
    preset: &str,
    alpha: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let rule = Preset::parse(preset, alpha).map_err(value_error)?;
    let length = nonneg("length", length)?;
    let (s, e) = (contiguous("start", &start)?, contiguous("end", &end)?);
    let p = py.detach(|| core::partition_instances(s, e, length, rule)).map_err(value_error)?;
    let d = PyDict::new(py);
    d.set_item("seg_start", ints(py, &p.seg_start))?;
    d.set_item("seg_end", ints(py, &p.seg_end))?;
    d.set_item("seg_class", ints(py, &p.seg_class))?;
    d.set_item("class_size", ints(py, &p.class_size))?;
    d.set_item("class_ptr", ints(py, &p.class_ptr))?;
    d.set_item("entry_row", ints(py, &p.entry_row))?;
    d.set_item("entry_sign", PyArray1::from_vec(py, p.entry_sign.clone()))?;
    d.set_item("class_component", ints(py, &p.class_component))?;
    d.set_item("row_component", ints(py, &p.row_component))?;
    d.set_item("num_components", p.num_components)?;
    Ok(d)
}

/// The plan of a batch: problems, variables, segments, closed forms and the stacked reduced LP.
#[pyfunction]
#[pyo3(signature = (video, label, start, end, score, lengths, num_classes, preset = "official", alpha = 0.25))]
#[allow(clippy::too_many_arguments)]
fn linpro_plan<'py>(
    py: Python<'py>,
    video: PyReadonlyArray1<'py, i64>,
    label: PyReadonlyArray1<'py, i64>,
    start: PyReadonlyArray1<'py, f64>,
    end: PyReadonlyArray1<'py, f64>,
    score: PyReadonlyArray1<'py, f64>,
    lengths: PyReadonlyArray1<'py, i64>,
    num_classes: i64,
    preset: &str,
    alpha: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let rule = Preset::parse(preset, alpha).map_err(value_error)?;
    let num_classes = nonneg("num_classes", num_classes)?;
    let video = indices("video", &video)?;
    let label = indices("label", &label)?;
    let lengths = indices("lengths", &lengths)?;
    let (s, e, q) = (contiguous("start", &start)?, contiguous("end", &end)?, contiguous("score", &score)?);
    let p =
        py.detach(|| core::linpro_plan(&video, &label, s, e, q, &lengths, num_classes, rule)).map_err(value_error)?;
    let d = PyDict::new(py);
    d.set_item("problem_video", ints(py, &p.problem_video))?;
    d.set_item("problem_label", ints(py, &p.problem_label))?;
    d.set_item("problem_components", ints(py, &p.problem_components))?;
    d.set_item("problem_closed_form", ints(py, &p.problem_closed_form))?;
    d.set_item("problem_closed_infeasible", ints(py, &p.problem_closed_infeasible))?;
    d.set_item("var_size", PyArray1::from_vec(py, p.var_size))?;
    d.set_item("var_value", PyArray1::from_vec(py, p.var_value))?;
    d.set_item("var_lp", ints(py, &p.var_lp))?;
    d.set_item("seg_video", ints(py, &p.seg_video))?;
    d.set_item("seg_label", ints(py, &p.seg_label))?;
    d.set_item("seg_start", ints(py, &p.seg_start))?;
    d.set_item("seg_end", ints(py, &p.seg_end))?;
    d.set_item("seg_var", ints(py, &p.seg_var))?;
    d.set_item("inst_lp_row", ints(py, &p.inst_lp_row))?;
    d.set_item("inst_residual", PyArray1::from_vec(py, p.inst_residual))?;
    d.set_item("lp_col_var", ints(py, &p.lp_col_var))?;
    d.set_item("lp_indptr", ints(py, &p.lp_indptr))?;
    d.set_item("lp_indices", ints(py, &p.lp_indices))?;
    d.set_item("lp_data", PyArray1::from_vec(py, p.lp_data))?;
    d.set_item("lp_b", PyArray1::from_vec(py, p.lp_b))?;
    d.set_item("lp_row_block", ints(py, &p.lp_row_block))?;
    d.set_item("lp_row_instance", ints(py, &p.lp_row_instance))?;
    d.set_item("lp_block_problem", ints(py, &p.lp_block_problem))?;
    Ok(d)
}

/// Class sums -> snippet labels, as one `(sum(lengths), num_classes)` float64 array.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn linpro_expand<'py>(
    py: Python<'py>,
    lengths: PyReadonlyArray1<'py, i64>,
    num_classes: i64,
    seg_video: PyReadonlyArray1<'py, i64>,
    seg_label: PyReadonlyArray1<'py, i64>,
    seg_start: PyReadonlyArray1<'py, i64>,
    seg_end: PyReadonlyArray1<'py, i64>,
    seg_var: PyReadonlyArray1<'py, i64>,
    var_value: PyReadonlyArray1<'py, f64>,
    var_size: PyReadonlyArray1<'py, f64>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let num_classes = nonneg("num_classes", num_classes)?;
    let lengths = indices("lengths", &lengths)?;
    let seg_video = indices("seg_video", &seg_video)?;
    let seg_label = indices("seg_label", &seg_label)?;
    let seg_start = indices("seg_start", &seg_start)?;
    let seg_end = indices("seg_end", &seg_end)?;
    let seg_var = optional_indices("seg_var", &seg_var)?;
    let (vv, vs) = (contiguous("var_value", &var_value)?, contiguous("var_size", &var_size)?);
    let total: usize = lengths.iter().fold(0usize, |a, &l| a.saturating_add(l));
    let flat = py
        .detach(|| {
            core::linpro_expand(&lengths, num_classes, &seg_video, &seg_label, &seg_start, &seg_end, &seg_var, vv, vs)
        })
        .map_err(value_error)?;
    PyArray1::from_vec(py, flat).reshape([total, num_classes])
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(linpro_w_rows, m)?)?;
    m.add_function(wrap_pyfunction!(linpro_partition, m)?)?;
    m.add_function(wrap_pyfunction!(linpro_plan, m)?)?;
    m.add_function(wrap_pyfunction!(linpro_expand, m)?)?;
    Ok(())
}
