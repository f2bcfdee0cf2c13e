//! Thin PyO3 bindings: borrow numpy arrays, release the GIL around the core, hand back fresh
//! numpy arrays. All argument checking lives in the core or the Python wrappers.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyType;

use crate::core::error::CoreError;

mod partition;
mod postprocess;

/// Core errors become `tadfuse.errors.InvalidArgumentError` (a `ValueError`; plain `ValueError`
/// if that module cannot be imported), the message starting with the argument's name. The class
/// is looked up when an error happens, so the extension does not depend on import order.
pub(crate) fn value_error(e: CoreError) -> PyErr {
    let msg = e.to_string();
    Python::attach(|py| {
        let class = py
            .import("tadfuse.errors")
            .and_then(|m| m.getattr("InvalidArgumentError"))
            .ok()
            .and_then(|c| c.cast_into::<PyType>().ok());
        match class {
            Some(class) => PyErr::from_type(class, msg),
            None => PyValueError::new_err(msg),
        }
    })
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
