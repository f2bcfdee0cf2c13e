//! Thin PyO3 bindings: borrow numpy arrays, release the GIL around the core, hand back fresh
//! numpy arrays. All argument checking lives in the core or the Python wrappers; conversions
//! (choice strings, the config object, errors) live in [`convert`].

use pyo3::prelude::*;

use crate::core::threads::MAX_THREADS;

mod convert;
mod json;
mod partition;
mod postprocess;

/// Borrowed slice of a numpy array, or an `InvalidTypeError` naming the argument.
pub(crate) fn slice<'a, T: numpy::Element>(arg: &str, a: &'a numpy::PyReadonlyArray1<'_, T>) -> PyResult<&'a [T]> {
    a.as_slice().map_err(|_| convert::invalid_type(format!("`{arg}` must be a C-contiguous 1-D array")))
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // The one bound on `num_threads` (the Python wrappers check against it too).
    m.add("MAX_THREADS", MAX_THREADS)?;
    postprocess::register(m)?;
    json::register(m)?;
    partition::register(m)
}
