//! Columnar segment storage shared by every stage (the Rust side of `tadfuse.Proposals`).

use crate::core::error::{CoreError, Result};
use crate::core::extract::first_non_finite;

/// Most rows one kernel call may index: rows, snippets and proposals are numbered with `u32`
/// inside the kernels (half the memory of the sort keys), `u32::MAX` marks "none".
pub const MAX_ROWS: usize = u32::MAX as usize - 1;

/// Segments `[start, end)` in snippets, one row per index across the columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Segments {
    pub label: Vec<i64>,
    pub start: Vec<f64>,
    pub end: Vec<f64>,
    pub score: Vec<f64>,
    pub inner: Vec<f64>,
}

impl Segments {
    pub fn len(&self) -> usize {
        self.label.len()
    }

    pub fn is_empty(&self) -> bool {
        self.label.is_empty()
    }

    #[inline]
    pub fn push(&mut self, label: i64, start: f64, end: f64, score: f64, inner: f64) {
        self.label.push(label);
        self.start.push(start);
        self.end.push(end);
        self.score.push(score);
        self.inner.push(inner);
    }

    pub fn clear(&mut self) {
        self.label.clear();
        self.start.clear();
        self.end.clear();
        self.score.clear();
        self.inner.clear();
    }

    pub fn reserve(&mut self, n: usize) {
        self.label.reserve(n);
        self.start.reserve(n);
        self.end.reserve(n);
        self.score.reserve(n);
        self.inner.reserve(n);
    }

    /// Append every row of `other`.
    pub fn extend(&mut self, other: &Segments) {
        self.label.extend_from_slice(&other.label);
        self.start.extend_from_slice(&other.start);
        self.end.extend_from_slice(&other.end);
        self.score.extend_from_slice(&other.score);
        self.inner.extend_from_slice(&other.inner);
    }
}

/// Borrowed columns of one input set (what the Python side hands over).
#[derive(Debug, Clone, Copy)]
pub struct SegmentsRef<'a> {
    pub label: &'a [i64],
    pub start: &'a [f64],
    pub end: &'a [f64],
    pub score: &'a [f64],
    pub inner: &'a [f64],
    pub video: Option<&'a [i64]>,
}

impl<'a> SegmentsRef<'a> {
    pub fn len(&self) -> usize {
        self.label.len()
    }

    pub fn is_empty(&self) -> bool {
        self.label.is_empty()
    }

    /// At most [`MAX_ROWS`] rows, equal lengths, finite values, `end >= start`, non-negative
    /// labels and videos.
    pub fn validate(&self) -> Result<()> {
        let m = self.label.len();
        if m > MAX_ROWS {
            return Err(CoreError::invalid("label", format!("has {m} rows; at most {MAX_ROWS} are supported")));
        }
        let floats = [("start", self.start), ("end", self.end), ("score", self.score), ("inner", self.inner)];
        for (name, col) in floats {
            if col.len() != m {
                return Err(CoreError::invalid(name, format!("has length {}, expected {m}", col.len())));
            }
            if let Some(i) = first_non_finite(col) {
                return Err(CoreError::invalid(name, format!("non-finite value at index {i}")));
            }
        }
        if let Some(v) = self.video {
            if v.len() != m {
                return Err(CoreError::invalid("video", format!("has length {}, expected {m}", v.len())));
            }
            if let Some(i) = v.iter().position(|&x| x < 0) {
                return Err(CoreError::invalid("video", format!("negative value at index {i}")));
            }
        }
        if let Some(i) = self.label.iter().position(|&x| x < 0) {
            return Err(CoreError::invalid("label", format!("negative value at index {i}")));
        }
        if let Some(i) = (0..m).find(|&i| self.end[i] < self.start[i]) {
            return Err(CoreError::invalid(
                "end",
                format!("end < start at index {i} ({} < {})", self.end[i], self.start[i]),
            ));
        }
        Ok(())
    }

    /// Row indices grouped by (video, label), groups in ascending key order, rows within a
    /// group in input order.
    pub fn groups(&self) -> Vec<((i64, i64), Vec<usize>)> {
        let key = |i: usize| (self.video.map_or(0, |v| v[i]), self.label[i]);
        let mut idx: Vec<usize> = (0..self.len()).collect();
        idx.sort_by_key(|&i| (key(i), i));
        let mut out: Vec<((i64, i64), Vec<usize>)> = Vec::new();
        for i in idx {
            match out.last_mut() {
                Some((k, rows)) if *k == key(i) => rows.push(i),
                _ => out.push((key(i), vec![i])),
            }
        }
        out
    }
}

/// One group's columns, borrowed (the input of the per-class kernels).
#[derive(Debug, Clone, Copy)]
pub struct Group<'a> {
    pub start: &'a [f64],
    pub end: &'a [f64],
    pub score: &'a [f64],
    pub inner: &'a [f64],
    /// Multiplicity of each row (`None`: all 1): a row of count m stands for m identical rows.
    pub count: Option<&'a [f64]>,
}

impl<'a> Group<'a> {
    pub fn len(&self) -> usize {
        self.start.len()
    }

    pub fn is_empty(&self) -> bool {
        self.start.is_empty()
    }

    /// All rows of `s` (a detection stage's input: one label).
    pub fn of(s: &'a Segments) -> Self {
        Group { start: &s.start, end: &s.end, score: &s.score, inner: &s.inner, count: None }
    }
}

/// Copy `rows` of `src` into a contiguous [`Segments`] (labels included), for [`Group::of`].
pub fn gather(src: &SegmentsRef<'_>, rows: &[usize]) -> Segments {
    let pick = |col: &[f64]| rows.iter().map(|&i| col[i]).collect::<Vec<f64>>();
    Segments {
        label: rows.iter().map(|&i| src.label[i]).collect(),
        start: pick(src.start),
        end: pick(src.end),
        score: pick(src.score),
        inner: pick(src.inner),
    }
}

#[cfg(test)]
impl Segments {
    /// `(start, end, score, inner)` rows with label 0, for tests.
    pub(crate) fn from_rows(rows: &[(f64, f64, f64, f64)]) -> Self {
        let mut s = Segments::default();
        for r in rows {
            s.push(0, r.0, r.1, r.2, r.3);
        }
        s
    }
}
