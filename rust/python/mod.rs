//! Thin PyO3 bindings: borrow numpy arrays, release the GIL around the core, hand back fresh
//! numpy arrays. All argument checking lives in the core or the Python wrappers.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::core::error::CoreError;

mod partition;
mod postprocess;

/// Core errors become `ValueError`s whose message starts with the argument's name.
pub(crate) fn value_error(e: CoreError) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// Borrowed slice of a numpy array, or a `TypeError` naming the argument.
pub(crate) fn slice<'a, T: numpy::Element>(arg: &str, a: &'a numpy::PyReadonlyArray1<'_, T>) -> PyResult<&'a [T]> {
    a.as_slice().map_err(|_| PyTypeError::new_err(format!("`{arg}` must be a C-contiguous 1-D array")))
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    postprocess::register(m)?;
    partition::register(m)
}
