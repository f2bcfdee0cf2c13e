//! Pure post-processing core. Time is in snippets; segments are `[start, end)`.

pub mod batch;
pub mod error;
pub mod extract;
pub mod fusion;
pub mod json;
pub mod nms;
pub mod overlap;
pub mod pairwise;
pub mod partition;
pub mod preset;
pub mod released;
pub mod segments;
pub mod simplex;
pub mod template;
pub mod threads;
