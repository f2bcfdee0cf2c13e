//! Pure post-processing core. Time is in snippets; segments are `[start, end)`.

pub mod error;
pub mod partition;
