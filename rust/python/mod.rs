//! Thin PyO3 bindings: validate, release the GIL around the core, return fresh numpy arrays.

use pyo3::prelude::*;

mod partition;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    partition::register(m)?;
    Ok(())
}
