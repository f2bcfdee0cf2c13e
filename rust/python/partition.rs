//! Bindings of the LinPro partition core (`core::partition`): validate, run the core with the
//! thread detached, return fresh numpy arrays, grouped in typed objects ([`Partition`],
//! [`LinproPlan`]). Index arrays come back as int64 with -1 for "none".

use numpy::{PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1};
use pyo3::prelude::*;

use super::convert::{invalid_argument, value_error, PresetName, Wrap};
use super::slice as contiguous;
use crate::core::partition::{self as core, NativeLimits, FEASIBILITY_TOL, NONE};

/// int64 -> usize, rejecting negatives (naming the argument).
fn indices(name: &str, a: &PyReadonlyArray1<'_, i64>) -> PyResult<Vec<usize>> {
    contiguous(name, a)?
        .iter()
        .enumerate()
        .map(|(k, &x)| {
            usize::try_from(x).map_err(|_| invalid_argument(format!("`{name}`: must be >= 0, got {x} at index {k}")))
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
                .map_err(|_| invalid_argument(format!("`{name}`: must be >= -1, got {x} at index {k}"))),
        })
        .collect()
}

fn nonneg(name: &str, x: i64) -> PyResult<usize> {
    usize::try_from(x).map_err(|_| invalid_argument(format!("`{name}`: must be >= 0, got {x}")))
}

fn to_i64(v: &[usize]) -> Vec<i64> {
    // Core indices are bounded by array lengths (< i64::MAX); NONE maps to -1.
    v.iter().map(|&x| if x == NONE { -1 } else { x as i64 }).collect()
}

fn ints(py: Python<'_>, v: &[usize]) -> Py<PyArray1<i64>> {
    PyArray1::from_vec(py, to_i64(v)).unbind()
}

fn floats(py: Python<'_>, v: Vec<f64>) -> Py<PyArray1<f64>> {
    PyArray1::from_vec(py, v).unbind()
}

/// The W rows as an `(n, 6)` int64 array `[left_lo, left_hi, inner_lo, inner_hi, right_lo, right_hi]`.
#[pyfunction]
#[pyo3(signature = (start, end, length, preset, alpha))]
fn linpro_w_rows<'py>(
    py: Python<'py>,
    start: PyReadonlyArray1<'py, f64>,
    end: PyReadonlyArray1<'py, f64>,
    length: i64,
    preset: Wrap<PresetName>,
    alpha: f64,
) -> PyResult<Bound<'py, PyArray2<i64>>> {
    let rule = preset.0.with(alpha);
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

/// The equivalence-class partition of one class's W (`tadfuse.linpro.partition` reads it).
/// Classes are numbered by their first snippet, components by their smallest row.
#[pyclass(frozen, module = "tadfuse._core")]
struct Partition {
    /// Segments (maximal runs of one class): `[seg_start, seg_end)` of class `seg_class`, (S,).
    #[pyo3(get)]
    seg_start: Py<PyArray1<i64>>,
    #[pyo3(get)]
    seg_end: Py<PyArray1<i64>>,
    #[pyo3(get)]
    seg_class: Py<PyArray1<i64>>,
    /// Snippets per class, (C,).
    #[pyo3(get)]
    class_size: Py<PyArray1<i64>>,
    /// CSR of the column patterns: class `c`'s non-zeros are rows
    /// `entry_row[class_ptr[c]:class_ptr[c+1]]` with signs `entry_sign[...]` (int8, ±1).
    #[pyo3(get)]
    class_ptr: Py<PyArray1<i64>>,
    #[pyo3(get)]
    entry_row: Py<PyArray1<i64>>,
    #[pyo3(get)]
    entry_sign: Py<PyArray1<i8>>,
    /// Component of each class (-1: the all-zero class), (C,); of each row, (n,).
    #[pyo3(get)]
    class_component: Py<PyArray1<i64>>,
    #[pyo3(get)]
    row_component: Py<PyArray1<i64>>,
    #[pyo3(get)]
    num_components: usize,
}

/// The partition of one class's instances on a video of `length` snippets.
#[pyfunction]
#[pyo3(signature = (start, end, length, preset, alpha))]
fn linpro_partition<'py>(
    py: Python<'py>,
    start: PyReadonlyArray1<'py, f64>,
    end: PyReadonlyArray1<'py, f64>,
    length: i64,
    preset: Wrap<PresetName>,
    alpha: f64,
) -> PyResult<Partition> {
    let rule = preset.0.with(alpha);
    let length = nonneg("length", length)?;
    let (s, e) = (contiguous("start", &start)?, contiguous("end", &end)?);
    let p = py.detach(|| core::partition_instances(s, e, length, rule)).map_err(value_error)?;
    Ok(Partition {
        seg_start: ints(py, &p.seg_start),
        seg_end: ints(py, &p.seg_end),
        seg_class: ints(py, &p.seg_class),
        class_size: ints(py, &p.class_size),
        class_ptr: ints(py, &p.class_ptr),
        entry_row: ints(py, &p.entry_row),
        entry_sign: PyArray1::from_vec(py, p.entry_sign).unbind(),
        class_component: ints(py, &p.class_component),
        row_component: ints(py, &p.row_component),
        num_components: p.num_components,
    })
}

/// The plan of a LinPro batch (`core::partition::LinproPlan`; `tadfuse.linpro` solves and
/// expands it). Index arrays int64 (-1: none), the others float64. Instance arrays are in input
/// order; everything else is grouped by problem, problems sorted by (video, label).
#[pyclass(frozen, module = "tadfuse._core")]
struct LinproPlan {
    /// Problems (the (video, label) pairs with instances), (P,): their video and label, number
    /// of components, of closed-form components and of infeasible closed-form components.
    #[pyo3(get)]
    problem_video: Py<PyArray1<i64>>,
    #[pyo3(get)]
    problem_label: Py<PyArray1<i64>>,
    #[pyo3(get)]
    problem_components: Py<PyArray1<i64>>,
    #[pyo3(get)]
    problem_closed_form: Py<PyArray1<i64>>,
    #[pyo3(get)]
    problem_closed_infeasible: Py<PyArray1<i64>>,
    /// Per problem: components solved by the native simplex, the infeasible ones among them, and
    /// those it gave back to the stacked LP (its certificate failed).
    #[pyo3(get)]
    problem_native: Py<PyArray1<i64>>,
    #[pyo3(get)]
    problem_native_infeasible: Py<PyArray1<i64>>,
    #[pyo3(get)]
    problem_native_fallback: Py<PyArray1<i64>>,
    /// Variables (classes with a non-zero pattern), (V_,): size (the upper bound of `h_c`),
    /// value (closed form; 0 for LP variables until solved, written in place by the caller) and
    /// LP column (-1: closed form).
    #[pyo3(get)]
    var_size: Py<PyArray1<f64>>,
    #[pyo3(get)]
    var_value: Py<PyArray1<f64>>,
    #[pyo3(get)]
    var_lp: Py<PyArray1<i64>>,
    /// Segments (runs of one class in one problem), (S,): video, label, snippet range and
    /// variable (-1: the all-zero class, labels 0).
    #[pyo3(get)]
    seg_video: Py<PyArray1<i64>>,
    #[pyo3(get)]
    seg_label: Py<PyArray1<i64>>,
    #[pyo3(get)]
    seg_start: Py<PyArray1<i64>>,
    #[pyo3(get)]
    seg_end: Py<PyArray1<i64>>,
    #[pyo3(get)]
    seg_var: Py<PyArray1<i64>>,
    /// Per instance, (n,): its LP row (-1: closed form) and closed-form residual `q - W g`.
    #[pyo3(get)]
    inst_lp_row: Py<PyArray1<i64>>,
    #[pyo3(get)]
    inst_residual: Py<PyArray1<f64>>,
    /// The stacked block-diagonal reduced LP `min Σ h s.t. A h = b, 0 <= h <= var_size[lp_col_var]`:
    /// column variables (N,), `A` in CSC form (`lp_indptr` (N+1,), `lp_indices`, `lp_data` (nnz,)),
    /// `lp_b` (M,), block and instance of each row (M,), problem of each block (B,).
    #[pyo3(get)]
    lp_col_var: Py<PyArray1<i64>>,
    #[pyo3(get)]
    lp_indptr: Py<PyArray1<i64>>,
    #[pyo3(get)]
    lp_indices: Py<PyArray1<i64>>,
    #[pyo3(get)]
    lp_data: Py<PyArray1<f64>>,
    #[pyo3(get)]
    lp_b: Py<PyArray1<f64>>,
    #[pyo3(get)]
    lp_row_block: Py<PyArray1<i64>>,
    #[pyo3(get)]
    lp_row_instance: Py<PyArray1<i64>>,
    #[pyo3(get)]
    lp_block_problem: Py<PyArray1<i64>>,
}

/// The plan of a batch: problems, variables, segments, closed forms, native solutions (components
/// of at most `native_limits = (rows, classes)`; `(0, 0)`: none) and the stacked reduced LP,
/// problems planned in parallel on `num_threads` workers (None: all cores).
#[pyfunction]
#[pyo3(signature = (video, label, start, end, score, lengths, num_classes, preset, alpha, num_threads, native_limits))]
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
    preset: Wrap<PresetName>,
    alpha: f64,
    num_threads: Option<usize>,
    native_limits: (i64, i64),
) -> PyResult<LinproPlan> {
    let (rows, classes) = (nonneg("native_limits", native_limits.0)?, nonneg("native_limits", native_limits.1)?);
    let limits = NativeLimits::new(rows, classes).map_err(value_error)?;
    let rule = preset.0.with(alpha);
    let num_classes = nonneg("num_classes", num_classes)?;
    let video = indices("video", &video)?;
    let label = indices("label", &label)?;
    let lengths = indices("lengths", &lengths)?;
    let (s, e, q) = (contiguous("start", &start)?, contiguous("end", &end)?, contiguous("score", &score)?);
    let p = py
        .detach(|| core::linpro_plan(&video, &label, s, e, q, &lengths, num_classes, rule, limits, num_threads))
        .map_err(value_error)?;
    Ok(LinproPlan {
        problem_video: ints(py, &p.problem_video),
        problem_label: ints(py, &p.problem_label),
        problem_components: ints(py, &p.problem_components),
        problem_closed_form: ints(py, &p.problem_closed_form),
        problem_closed_infeasible: ints(py, &p.problem_closed_infeasible),
        problem_native: ints(py, &p.problem_native),
        problem_native_infeasible: ints(py, &p.problem_native_infeasible),
        problem_native_fallback: ints(py, &p.problem_native_fallback),
        var_size: floats(py, p.var_size),
        var_value: floats(py, p.var_value),
        var_lp: ints(py, &p.var_lp),
        seg_video: ints(py, &p.seg_video),
        seg_label: ints(py, &p.seg_label),
        seg_start: ints(py, &p.seg_start),
        seg_end: ints(py, &p.seg_end),
        seg_var: ints(py, &p.seg_var),
        inst_lp_row: ints(py, &p.inst_lp_row),
        inst_residual: floats(py, p.inst_residual),
        lp_col_var: ints(py, &p.lp_col_var),
        lp_indptr: ints(py, &p.lp_indptr),
        lp_indices: ints(py, &p.lp_indices),
        lp_data: floats(py, p.lp_data),
        lp_b: floats(py, p.lp_b),
        lp_row_block: ints(py, &p.lp_row_block),
        lp_row_instance: ints(py, &p.lp_row_instance),
        lp_block_problem: ints(py, &p.lp_block_problem),
    })
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
    m.add("LINPRO_FEASIBILITY_TOL", FEASIBILITY_TOL)?;
    m.add("LINPRO_NATIVE_MAX_ROWS", NativeLimits::DEFAULT.max_rows)?;
    m.add("LINPRO_NATIVE_MAX_CLASSES", NativeLimits::DEFAULT.max_classes)?;
    m.add_class::<Partition>()?;
    m.add_class::<LinproPlan>()?;
    m.add_function(wrap_pyfunction!(linpro_w_rows, m)?)?;
    m.add_function(wrap_pyfunction!(linpro_partition, m)?)?;
    m.add_function(wrap_pyfunction!(linpro_plan, m)?)?;
    m.add_function(wrap_pyfunction!(linpro_expand, m)?)?;
    Ok(())
}
