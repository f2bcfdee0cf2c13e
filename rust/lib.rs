//! tadfuse: the Rust core of the `tadfuse` Python package.
//!
//! [`core`] is pure Rust over slices (no pyo3 in scope: the bindings are an optional feature),
//! so `cargo test` builds and tests it on its own. [`python`] holds the thin PyO3 bindings.

pub mod core;

#[cfg(feature = "python")]
mod python;
