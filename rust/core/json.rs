//! The JSON text of detections in the ActivityNet result layout, built outside the GIL.
//!
//! One video's rows become `[{"label": L, "score": s, "segment": [a, b], "snippets": [start,
//! end]}, ...]` (`", "` between rows, `"[]"` when empty): the layout of
//! `tadfuse.engine.stream.detections_json`, the same values as `activitynet_results` once parsed.
//! Labels come pre-encoded (Python's `json.dumps` of the class name), so escaping is Python's.
//! Floats are printed with `{:?}`: the shortest decimal that parses back to the same `f64`,
//! always with a `.` or an exponent (`1.0`, `-0.0`, `5e-324`, `1e300`), so `json.loads` gives a
//! float equal bit for bit. Non-finite values have no JSON spelling and are refused.

use std::fmt::Write;

use rayon::prelude::*;

use super::error::{CoreError, Result};
use super::threads::with_threads;

/// The rows of one or many videos, as parallel columns (all the same length).
#[derive(Clone, Copy, Debug)]
pub struct Rows<'a> {
    /// Index into the pre-encoded labels.
    pub label: &'a [i64],
    pub score: &'a [f64],
    /// The segment in seconds (already converted and clipped by the caller).
    pub seg_start: &'a [f64],
    pub seg_end: &'a [f64],
    /// The segment in snippets.
    pub start: &'a [f64],
    pub end: &'a [f64],
}

impl<'a> Rows<'a> {
    pub fn len(&self) -> usize {
        self.label.len()
    }

    pub fn is_empty(&self) -> bool {
        self.label.is_empty()
    }

    /// Rows `lo..hi`.
    fn range(&self, lo: usize, hi: usize) -> Rows<'a> {
        Rows {
            label: &self.label[lo..hi],
            score: &self.score[lo..hi],
            seg_start: &self.seg_start[lo..hi],
            seg_end: &self.seg_end[lo..hi],
            start: &self.start[lo..hi],
            end: &self.end[lo..hi],
        }
    }

    /// Equal lengths, labels in `0..num_labels`, finite floats; errors name the column and row.
    fn check(&self, num_labels: usize) -> Result<()> {
        let n = self.len();
        let floats = [
            ("score", self.score),
            ("seg_start", self.seg_start),
            ("seg_end", self.seg_end),
            ("start", self.start),
            ("end", self.end),
        ];
        for (name, col) in floats {
            if col.len() != n {
                return Err(CoreError::invalid(name, format!("has {} rows, `label` has {n}", col.len())));
            }
            if let Some(k) = col.iter().position(|x| !x.is_finite()) {
                return Err(CoreError::invalid(name, format!("must be finite, got {} at row {k}", col[k])));
            }
        }
        if let Some(k) = self.label.iter().position(|&l| l < 0 || l as u64 >= num_labels as u64) {
            let msg = format!("must be in 0..{num_labels} (the labels given), got {} at row {k}", self.label[k]);
            return Err(CoreError::invalid("label", msg));
        }
        Ok(())
    }
}

/// Append `x` as `{:?}` spells it. Integer-valued floats (~70 % of the snippet boundaries) take
/// the integer printer, which is faster and spells them the same (`62.0`; `{:?}` only switches
/// to an exponent from 1e16 on, and zero keeps `{:?}` for its sign).
fn push_f64(out: &mut String, x: f64) {
    if x != 0.0 && x.fract() == 0.0 && x.abs() < 1e15 {
        let _ = write!(out, "{}.0", x as i64);
    } else {
        let _ = write!(out, "{x:?}");
    }
}

/// Append one video's JSON list to `out` (rows already checked).
fn write_video(labels: &[String], rows: &Rows<'_>, out: &mut String) {
    out.push('[');
    for k in 0..rows.len() {
        if k > 0 {
            out.push_str(", ");
        }
        // Writing to a String cannot fail.
        out.push_str("{\"label\": ");
        out.push_str(&labels[rows.label[k] as usize]);
        out.push_str(", \"score\": ");
        push_f64(out, rows.score[k]);
        out.push_str(", \"segment\": [");
        push_f64(out, rows.seg_start[k]);
        out.push_str(", ");
        push_f64(out, rows.seg_end[k]);
        out.push_str("], \"snippets\": [");
        push_f64(out, rows.start[k]);
        out.push_str(", ");
        push_f64(out, rows.end[k]);
        out.push_str("]}");
    }
    out.push(']');
}

/// One video's detections as the JSON text of its result list (`"[]"` when empty).
/// `labels[i]` is the JSON text of class `i`.
pub fn detections_json(labels: &[String], rows: &Rows<'_>) -> Result<String> {
    rows.check(labels.len())?;
    let mut out = String::with_capacity(2 + rows.len() * 160);
    write_video(labels, rows, &mut out);
    Ok(out)
}

/// Many videos' texts: video `v` has rows `offsets[v]..offsets[v + 1]` (non-decreasing, from 0
/// to the number of rows), formatted in parallel on `threads` workers (None: all cores). The
/// texts equal [`detections_json`] of each video whatever the thread count.
pub fn detections_json_batch(
    labels: &[String],
    offsets: &[usize],
    rows: &Rows<'_>,
    threads: Option<usize>,
) -> Result<Vec<String>> {
    rows.check(labels.len())?;
    match (offsets.first(), offsets.last()) {
        (Some(0), Some(&last)) if last == rows.len() => {}
        _ => {
            let msg = format!("must start at 0 and end at the number of rows ({})", rows.len());
            return Err(CoreError::invalid("offsets", msg));
        }
    }
    if let Some(k) = offsets.windows(2).position(|w| w[0] > w[1]) {
        let msg = format!("must be non-decreasing, got {} then {} at index {k}", offsets[k], offsets[k + 1]);
        return Err(CoreError::invalid("offsets", msg));
    }
    let one = |w: &[usize]| {
        let r = rows.range(w[0], w[1]);
        let mut out = String::with_capacity(2 + r.len() * 160);
        write_video(labels, &r, &mut out);
        out
    };
    with_threads(threads, || offsets.par_windows(2).map(one).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        vec!["\"A\"".to_string(), "\"B \\\"q\\\"\"".to_string()]
    }

    fn cols(n: usize) -> (Vec<i64>, Vec<f64>) {
        ((0..n as i64).map(|k| k % 2).collect(), (0..n).map(|k| k as f64 * 0.1).collect())
    }

    #[test]
    fn the_layout_and_float_spelling() {
        let (label, score) = (vec![1, 0], vec![-0.0, 5e-324]);
        let (a, b, s, e) = (vec![0.0, 1e300], vec![1.5, 1e16], vec![62.0, 0.1], vec![1.0 / 3.0, 2.0]);
        let rows = Rows { label: &label, score: &score, seg_start: &a, seg_end: &b, start: &s, end: &e };
        let text = detections_json(&labels(), &rows).unwrap();
        assert_eq!(
            text,
            "[{\"label\": \"B \\\"q\\\"\", \"score\": -0.0, \"segment\": [0.0, 1.5], \"snippets\": [62.0, \
             0.3333333333333333]}, {\"label\": \"A\", \"score\": 5e-324, \"segment\": [1e300, 1e16], \"snippets\": \
             [0.1, 2.0]}]"
        );
    }

    #[test]
    fn floats_round_trip_bit_for_bit() {
        let xs = [f64::MIN_POSITIVE, f64::MAX, -f64::MAX, 1e-310, 0.1 + 0.2, 123456789.123456789, 1e21, 1e-7];
        for x in xs {
            assert_eq!(format!("{x:?}").parse::<f64>().unwrap().to_bits(), x.to_bits());
        }
    }

    #[test]
    fn the_integer_path_spells_floats_as_debug_does() {
        let mut xs = vec![1.0, -1.0, 62.0, 1e15 - 1.0, -(1e15 - 1.0), 1e15, 1e16, 9007199254740993.0, 0.0, -0.0, 0.5];
        let mut r: u64 = 0x9E3779B97F4A7C15;
        for _ in 0..20000 {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            let m = (r % 1_000_000_000_000_000) as f64; // integers up to 1e15, all magnitudes
            xs.push(if r & 1 == 0 { m } else { -m } / 10f64.powi((r >> 60) as i32 % 16));
            xs.push(f64::from_bits(r)); // any bit pattern (non-finite ones skipped)
        }
        for x in xs.into_iter().filter(|x| x.is_finite()) {
            let mut got = String::new();
            push_f64(&mut got, x);
            assert_eq!(got, format!("{x:?}"), "{x:e}");
        }
    }

    #[test]
    fn empty_video_and_batch() {
        let rows = Rows { label: &[], score: &[], seg_start: &[], seg_end: &[], start: &[], end: &[] };
        assert_eq!(detections_json(&labels(), &rows).unwrap(), "[]");
        assert_eq!(detections_json_batch(&labels(), &[0, 0, 0], &rows, Some(2)).unwrap(), vec!["[]", "[]"]);
        assert!(detections_json_batch(&labels(), &[0], &rows, None).unwrap().is_empty());
    }

    #[test]
    fn the_batch_equals_each_video_for_any_thread_count() {
        let (label, x) = cols(50);
        let rows = Rows { label: &label, score: &x, seg_start: &x, seg_end: &x, start: &x, end: &x };
        let offsets = [0, 3, 3, 20, 49, 50];
        let want: Vec<String> =
            offsets.windows(2).map(|w| detections_json(&labels(), &rows.range(w[0], w[1])).unwrap()).collect();
        for t in [Some(1), Some(3), None] {
            assert_eq!(detections_json_batch(&labels(), &offsets, &rows, t).unwrap(), want);
        }
    }

    #[test]
    fn bad_input_names_the_argument() {
        let (label, x) = cols(4);
        let mut bad = x.clone();
        bad[2] = f64::NAN;
        let rows = Rows { label: &label, score: &x, seg_start: &bad, seg_end: &x, start: &x, end: &x };
        assert_eq!(detections_json(&labels(), &rows).unwrap_err().arg(), "seg_start");
        let short = &x[..3];
        let rows = Rows { label: &label, score: &x, seg_start: &x, seg_end: &x, start: &x, end: short };
        assert_eq!(detections_json(&labels(), &rows).unwrap_err().arg(), "end");
        let rows = Rows { label: &label, score: &x, seg_start: &x, seg_end: &x, start: &x, end: &x };
        assert_eq!(detections_json(&labels()[..1], &rows).unwrap_err().arg(), "label");
        let neg = [0, -1, 0, 0];
        let r2 = Rows { label: &neg, ..rows };
        assert_eq!(detections_json(&labels(), &r2).unwrap_err().arg(), "label");
        for off in [&[0, 3][..], &[1, 4], &[0, 3, 2, 4], &[]] {
            assert_eq!(detections_json_batch(&labels(), off, &rows, None).unwrap_err().arg(), "offsets");
        }
        assert_eq!(detections_json_batch(&labels(), &[0, 4], &rows, Some(0)).unwrap_err().arg(), "num_threads");
    }
}
