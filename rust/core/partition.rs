//! LinPro pseudo labels, the combinatorial half (docs/algorithms.md, "LinPro pseudo labels"): W rows, the equivalence-class
//! partition of a video's snippets, the independent components, closed forms for the
//! single-constraint components, and the stacked reduced LP that the Python side hands to HiGHS.
//!
//! Notation, for one (video, class) *problem*: `n` fused instances `(start, end, score)` on a video
//! of `l` snippets. Row `k` of the `n × l` matrix `W` is `+1` on the instance's inner range and
//! `-1` on its two outer ranges (sums, not means). LinPro solves
//! `min Σ g  s.t.  W g = q,  0 ≤ g ≤ 1` with `q` the fused scores.
//!
//! The *column pattern* of snippet `i` is column `i` of `W`. Snippets with identical patterns form
//! an *equivalence class* `c` (possibly non-contiguous; the all-zero pattern is a class too). Only
//! the class sums `h_c = Σ_{i∈c} g_i ∈ [0, |c|]` enter `W g`, so the reduced LP
//! `min Σ h  s.t.  Σ_c W_c h_c = q,  0 ≤ h ≤ |c|` has the same optimum, and `g_i = h_c / |c|` is an
//! optimal solution of the full LP that is uniform within classes. The all-zero class gets
//! `h = 0` (it costs and constrains nothing). Rows linked through a shared class form a
//! *component*; components are independent LPs. A component of one row has at most two classes
//! (its `+` and its `-` snippets) and a closed form; a row whose clipped ranges are all empty is
//! a component without variables (residual `q`).
//!
//! The partition is a sweep over the sorted range endpoints: `O(n log n + l + P)` where `P` is the
//! total size of the distinct column patterns (the non-zeros of the reduced matrix, which the LP
//! needs anyway). Patterns are grouped with a 128-bit multiset hash and then compared exactly, so
//! the result never depends on the hash being collision free.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use rayon::prelude::*;

use crate::core::error::{CoreError, Result};
use crate::core::preset::{official_pad, rskp_pad, Preset};
use crate::core::simplex::solve_elastic;
use crate::core::threads::{check_threads, with_threads};

/// Marker for "none" in index arrays (the all-zero class has no component; a closed-form class
/// has no LP column).
pub const NONE: usize = usize::MAX;

/// One row of W as three half-open snippet ranges `(lo, hi)`, already clipped to `[0, l]` the
/// way numpy clips slice bounds; a range with `lo >= hi` is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WRow {
    /// Left outer range (`-1`).
    pub left: (usize, usize),
    /// Inner range (`+1`).
    pub inner: (usize, usize),
    /// Right outer range (`-1`).
    pub right: (usize, usize),
}

impl WRow {
    /// The three ranges with their W entries, in time order.
    pub fn ranges(&self) -> [((usize, usize), i8); 3] {
        [(self.left, -1), (self.inner, 1), (self.right, -1)]
    }

    /// The W entry of snippet `i` (0 outside the row's ranges).
    pub fn entry(&self, i: usize) -> i8 {
        for ((lo, hi), sign) in self.ranges() {
            if lo <= i && i < hi {
                return sign;
            }
        }
        0
    }
}

/// Validates one instance: finite `start`, `end`, `score` with `0 <= start <= end`.
fn check_instance(k: usize, start: f64, end: f64, score: f64) -> Result<()> {
    if !start.is_finite() || start < 0.0 {
        return Err(CoreError::invalid("start", format!("must be finite and >= 0, got {start} at index {k}")));
    }
    if !end.is_finite() || end < start {
        return Err(CoreError::invalid(
            "end",
            format!("must be finite and >= start, got {end} < {start} at index {k}"),
        ));
    }
    if !score.is_finite() {
        return Err(CoreError::invalid("score", format!("must be finite, got {score} at index {k}")));
    }
    Ok(())
}

/// The W row of an instance `[start, end)` on a video of `length` snippets.
///
/// `start` and `end` must be finite with `0 <= start <= end` (the callers validate).
pub fn w_row(start: f64, end: f64, length: usize, rule: Preset) -> WRow {
    let l = length as f64;
    // numpy slice-bound clipping for bounds that may exceed the video (and, for `l - 1` with
    // l = 0, be negative).
    let clip = |x: f64| -> usize {
        if x <= 0.0 {
            0
        } else if x >= l {
            length
        } else {
            x as usize
        }
    };
    let s = start.trunc();
    let e = end.trunc();
    let n = e - s;
    let (outer_lo, outer_hi) = match rule {
        Preset::Official => {
            let pad = official_pad(n);
            ((s - pad).trunc().max(0.0), (e + pad + 1.0).trunc().min(l - 1.0))
        }
        // Refused by the validated entry points (`validate_w_rule`: RSKP has no LinPro); here
        // it gets the official form with its own pad rather than a panic.
        Preset::Rskp => {
            let pad = rskp_pad(n);
            ((s - pad).trunc().max(0.0), (e + pad + 1.0).trunc().min(l - 1.0))
        }
        Preset::Paper { alpha } => {
            let w = (alpha * n).trunc();
            ((s - w).max(0.0), (e + w).min(l))
        }
    };
    WRow { left: (clip(outer_lo), clip(s)), inner: (clip(s), clip(e)), right: (clip(e), clip(outer_hi)) }
}

/// The equivalence-class partition of one problem (see the module docs).
///
/// Classes are numbered by their first snippet in time; components by their smallest row.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Partition {
    /// Video length `l` in snippets.
    pub length: usize,
    /// Maximal runs of snippets sharing one class, in time order, covering `[0, l)`:
    /// `[seg_start[j], seg_end[j])` belongs to class `seg_class[j]`.
    pub seg_start: Vec<usize>,
    pub seg_end: Vec<usize>,
    pub seg_class: Vec<usize>,
    /// Number of snippets of each class.
    pub class_size: Vec<usize>,
    /// CSR pointers into `entry_row` / `entry_sign`: the non-zeros of each class's column
    /// pattern, sorted by row. Empty for the all-zero class.
    pub class_ptr: Vec<usize>,
    pub entry_row: Vec<usize>,
    pub entry_sign: Vec<i8>,
    /// Component of each class ([`NONE`] for the all-zero class).
    pub class_component: Vec<usize>,
    /// Component of each row. Every row has one, also a row without non-zeros.
    pub row_component: Vec<usize>,
    pub num_components: usize,
}

impl Partition {
    pub fn num_classes(&self) -> usize {
        self.class_size.len()
    }

    /// The `(row, sign)` non-zeros of class `c`'s column pattern.
    pub fn pattern(&self, c: usize) -> impl Iterator<Item = (usize, i8)> + '_ {
        let r = self.class_ptr[c]..self.class_ptr[c + 1];
        self.entry_row[r.clone()].iter().copied().zip(self.entry_sign[r].iter().copied())
    }

    /// Class of every snippet, shape `(l,)`.
    pub fn snippet_class(&self) -> Vec<usize> {
        let mut out = vec![0; self.length];
        for j in 0..self.seg_start.len() {
            out[self.seg_start[j]..self.seg_end[j]].fill(self.seg_class[j]);
        }
        out
    }
}

/// SplitMix64 finaliser: the per-(row, sign) keys of the pattern hash.
fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn pattern_key(row: usize, sign: i8) -> (u64, u64) {
    let id = ((row as u64) << 1) | u64::from(sign > 0);
    (mix64(id), mix64(id ^ 0xD6E8_FEB8_6659_FD93))
}

/// Hasher for keys that are already uniformly mixed 64-bit words (the pattern hashes): combines
/// them without hashing again (SipHash would cost more than the sweep itself).
#[derive(Default)]
struct PreMixed(u64);

impl Hasher for PreMixed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = self.0.rotate_left(29) ^ x;
    }
}

/// Union-find with path halving and union by size.
struct Dsu {
    parent: Vec<usize>,
    size: Vec<usize>,
}

impl Dsu {
    fn new(n: usize) -> Self {
        Dsu { parent: (0..n).collect(), size: vec![1; n] }
    }
    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }
    fn union(&mut self, a: usize, b: usize) {
        let (mut a, mut b) = (self.find(a), self.find(b));
        if a == b {
            return;
        }
        if self.size[a] < self.size[b] {
            std::mem::swap(&mut a, &mut b);
        }
        self.parent[b] = a;
        self.size[a] += self.size[b];
    }
}

/// The partition of `[0, length)` induced by `rows` (one class's W rows), by a sweep over the
/// sorted range endpoints. Ranges must lie in `[0, length]` ([`w_row`] guarantees it).
pub fn partition(rows: &[WRow], length: usize) -> Partition {
    // Events, sorted by (position, is_start, row): at one position ends come before starts, so a
    // row whose left range ends where its inner range starts switches sign cleanly. Packed into
    // one u128 each, `position | is_start | row | sign>0` from the top bit down, so the sort
    // compares integers (the sign never decides: a row's ranges are disjoint, so at one position
    // it starts at most one range and ends at most one).
    let pack = |pos: usize, is_start: bool, k: usize, sign: i8| {
        ((pos as u128) << 66) | (u128::from(is_start) << 65) | ((k as u128) << 1) | u128::from(sign > 0)
    };
    let mut events: Vec<u128> = Vec::with_capacity(rows.len() * 6);
    for (k, row) in rows.iter().enumerate() {
        for ((lo, hi), sign) in row.ranges() {
            let (lo, hi) = (lo.min(length), hi.min(length));
            if lo < hi {
                events.push(pack(lo, true, k, sign));
                events.push(pack(hi, false, k, sign));
            }
        }
    }
    events.sort_unstable();
    let unpack = |e: u128| {
        let sign = if e & 1 == 1 { 1i8 } else { -1 };
        ((e >> 66) as usize, (e >> 65) & 1 == 1, ((e >> 1) as u64) as usize, sign)
    };

    let n = rows.len();
    let mut state = vec![0i8; n]; // current W entry of each row
    let mut active: Vec<usize> = Vec::new(); // rows with a non-zero entry
    let mut slot = vec![NONE; n]; // position of a row in `active`
    let mut hash = (0u64, 0u64);

    let mut part = Partition { length, class_ptr: vec![0], ..Partition::default() };
    // First class of each pattern hash; further classes with the same hash are chained through
    // `same_hash` (collisions: practically never, but handled).
    let mut by_hash: HashMap<(u64, u64), usize, BuildHasherDefault<PreMixed>> =
        HashMap::with_capacity_and_hasher(2 * n + 1, Default::default());
    let mut same_hash: Vec<usize> = Vec::new();
    let mut zero_class = NONE;
    let mut scratch: Vec<(usize, i8)> = Vec::new();

    let mut ev = 0;
    let mut pos = 0;
    while pos < length {
        while ev < events.len() && unpack(events[ev]).0 == pos {
            let (_, is_start, k, sign) = unpack(events[ev]);
            let key = pattern_key(k, sign);
            if is_start {
                state[k] = sign;
                slot[k] = active.len();
                active.push(k);
                hash = (hash.0.wrapping_add(key.0), hash.1.wrapping_add(key.1));
            } else {
                state[k] = 0;
                let at = slot[k];
                active.swap_remove(at);
                if at < active.len() {
                    slot[active[at]] = at;
                }
                slot[k] = NONE;
                hash = (hash.0.wrapping_sub(key.0), hash.1.wrapping_sub(key.1));
            }
            ev += 1;
        }
        let next = if ev < events.len() { unpack(events[ev]).0.min(length) } else { length };

        // The class of the current (constant) pattern.
        let class = if active.is_empty() {
            if zero_class == NONE {
                zero_class = part.class_size.len();
                part.class_size.push(0);
                part.class_ptr.push(part.entry_row.len());
                same_hash.push(NONE);
            }
            zero_class
        } else {
            let matches = |c: usize| {
                let r = part.class_ptr[c]..part.class_ptr[c + 1];
                r.len() == active.len()
                    && part.entry_row[r.clone()].iter().zip(&part.entry_sign[r]).all(|(&row, &sign)| state[row] == sign)
            };
            let head = by_hash.get(&hash).copied();
            let mut found = None;
            let mut last = NONE;
            let mut c = head.unwrap_or(NONE);
            while c != NONE {
                if matches(c) {
                    found = Some(c);
                    break;
                }
                last = c;
                c = same_hash[c];
            }
            match found {
                Some(c) => c,
                None => {
                    let c = part.class_size.len();
                    scratch.clear();
                    scratch.extend(active.iter().map(|&k| (k, state[k])));
                    scratch.sort_unstable();
                    for &(k, sign) in &scratch {
                        part.entry_row.push(k);
                        part.entry_sign.push(sign);
                    }
                    part.class_ptr.push(part.entry_row.len());
                    part.class_size.push(0);
                    same_hash.push(NONE);
                    if last == NONE {
                        by_hash.insert(hash, c);
                    } else {
                        same_hash[last] = c;
                    }
                    c
                }
            }
        };
        part.class_size[class] += next - pos;
        if part.seg_class.last() == Some(&class) {
            // Only a row with an empty inner range switches `-1 -> -1` at one position.
            if let Some(last) = part.seg_end.last_mut() {
                *last = next;
            }
        } else {
            part.seg_start.push(pos);
            part.seg_end.push(next);
            part.seg_class.push(class);
        }
        pos = next;
    }

    // Components: rows linked through a shared class, numbered by their smallest row.
    let mut dsu = Dsu::new(n);
    for c in 0..part.class_size.len() {
        let r = part.class_ptr[c]..part.class_ptr[c + 1];
        if let Some(&first) = part.entry_row[r.clone()].first() {
            for &k in &part.entry_row[r] {
                dsu.union(first, k);
            }
        }
    }
    let mut root_id = vec![NONE; n];
    part.row_component = vec![NONE; n];
    for k in 0..n {
        let root = dsu.find(k);
        if root_id[root] == NONE {
            root_id[root] = part.num_components;
            part.num_components += 1;
        }
        part.row_component[k] = root_id[root];
    }
    part.class_component = (0..part.class_size.len())
        .map(|c| {
            let r = part.class_ptr[c];
            if r < part.class_ptr[c + 1] {
                part.row_component[part.entry_row[r]]
            } else {
                NONE
            }
        })
        .collect();
    part
}

/// The partition for instances given by their bounds (validated here).
pub fn partition_instances(start: &[f64], end: &[f64], length: usize, rule: Preset) -> Result<Partition> {
    rule.validate_w_rule()?;
    if start.len() != end.len() {
        return Err(CoreError::invalid(
            "end",
            format!("has length {}, expected {} (the length of `start`)", end.len(), start.len()),
        ));
    }
    let mut rows = Vec::with_capacity(start.len());
    for (k, (&s, &e)) in start.iter().zip(end).enumerate() {
        check_instance(k, s, e, 0.0)?;
        rows.push(w_row(s, e, length, rule));
    }
    Ok(partition(&rows, length))
}

/// The W rows of instances given by their bounds (validated here).
pub fn w_rows(start: &[f64], end: &[f64], length: usize, rule: Preset) -> Result<Vec<WRow>> {
    rule.validate_w_rule()?;
    if start.len() != end.len() {
        return Err(CoreError::invalid(
            "end",
            format!("has length {}, expected {} (the length of `start`)", end.len(), start.len()),
        ));
    }
    start
        .iter()
        .zip(end)
        .enumerate()
        .map(|(k, (&s, &e))| {
            check_instance(k, s, e, 0.0)?;
            Ok(w_row(s, e, length, rule))
        })
        .collect()
}

/// Closed form of a one-row component `h+ - h- = q`, `0 ≤ h± ≤ |c±|`, minimising first
/// `|q - (h+ - h-)|` and then `h+ + h-`: returns `(h+, h-, residual)` with
/// `residual = q - (h+ - h-)`. A missing class has size 0.
pub fn closed_form_row(q: f64, plus_size: f64, minus_size: f64) -> (f64, f64, f64) {
    if q > 0.0 {
        let h = q.min(plus_size);
        (h, 0.0, q - h)
    } else if q < 0.0 {
        let h = (-q).min(minus_size);
        (0.0, h, q + h)
    } else {
        (0.0, 0.0, 0.0)
    }
}

/// A multi-row component in closed form: when every class is either `+` in exactly one row
/// (and nothing else) or `-` only, and every `q_k >= 0`, then `Σh >= Σ_k h_{P_k} = Σ_k (q_k +
/// Σ_{-} h) >= Σ_k q_k`, so the unique optimum is `h_{P_k} = q_k` and every `-` class at 0; a
/// row with `q_k > |P_k|` cannot be met and its least residual is `q_k - |P_k|` (every other
/// choice only lowers the row), reached by the same assignment with `h_{P_k} = |P_k|`. Returns
/// the `+` class of each row of `rows` (in order), or `None` when the shape does not hold.
fn disjoint_plus_classes(part: &Partition, rows: &[usize], classes: &[usize], q: &[f64]) -> Option<Vec<usize>> {
    if rows.iter().any(|&k| q[k] < 0.0) {
        return None;
    }
    let mut plus = vec![NONE; rows.len()];
    for &c in classes {
        let mut entries = part.pattern(c);
        let Some((k, sign)) = entries.next() else { continue };
        if sign > 0 {
            if entries.next().is_some() {
                return None; // `+` in one row and something else in another
            }
            let i = rows.iter().position(|&r| r == k)?;
            if plus[i] != NONE {
                return None;
            }
            plus[i] = c;
        } else if entries.any(|(_, s)| s > 0) {
            return None;
        }
    }
    if plus.contains(&NONE) {
        return None; // a row without inner snippets: leave it to the LP
    }
    Some(plus)
}

/// Batches with fewer instances are planned without the thread pool.
pub const PARALLEL_MIN_INSTANCES: usize = 256;

/// A component whose minimum L1 residual (score units) exceeds this is infeasible.
pub const FEASIBILITY_TOL: f64 = 1e-9;

/// Which multi-row components the native simplex solves ([`crate::core::simplex`]): those of at
/// most `max_rows` rows and `max_classes` classes; larger ones go to the stacked LP (HiGHS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NativeLimits {
    pub max_rows: usize,
    pub max_classes: usize,
}

impl NativeLimits {
    /// The default (docs/linpro-native.md, "Where each component is solved"): every LP
    /// component of the THUMOS14-like workloads in benches/ is below it.
    pub const DEFAULT: NativeLimits = NativeLimits { max_rows: 48, max_classes: 160 };
    /// Nothing native: every multi-row component that has no closed form goes to HiGHS.
    pub const OFF: NativeLimits = NativeLimits { max_rows: 0, max_classes: 0 };
    /// Largest limits accepted: the dense tableau of a component is `rows × (classes + 2 rows)`.
    pub const MAX: NativeLimits = NativeLimits { max_rows: 512, max_classes: 2048 };

    /// Checked limits (at most [`NativeLimits::MAX`]).
    pub fn new(max_rows: usize, max_classes: usize) -> Result<NativeLimits> {
        let max = NativeLimits::MAX;
        if max_rows > max.max_rows || max_classes > max.max_classes {
            return Err(CoreError::invalid(
                "native_limits",
                format!(
                    "(rows, classes) must be at most ({}, {}), got ({max_rows}, {max_classes})",
                    max.max_rows, max.max_classes
                ),
            ));
        }
        Ok(NativeLimits { max_rows, max_classes })
    }

    fn admits(&self, rows: usize, classes: usize) -> bool {
        rows <= self.max_rows && classes <= self.max_classes
    }
}

/// One problem's share of the plan, before stacking.
struct ProblemPlan {
    part: Partition,
    /// Closed-form and native class sums (0 for LP classes and the all-zero class).
    value: Vec<f64>,
    /// Local LP blocks: (rows, classes) of each multi-row component, in component order.
    blocks: Vec<(Vec<usize>, Vec<usize>)>,
    /// Closed-form and native residual `q - W g` per local row (0 for LP rows).
    residual: Vec<f64>,
    closed_form: usize,
    closed_infeasible: usize,
    native: usize,
    native_infeasible: usize,
    /// Components the native simplex gave back (its certificate failed): solved by HiGHS.
    native_fallback: usize,
}

/// Indices `0..keys.len()` grouped by their key (`< num_keys`; NONE: left out), in index order
/// within a group, as CSR: group `g` is `items[ptr[g]..ptr[g + 1]]`.
fn group_by(keys: &[usize], num_keys: usize) -> (Vec<usize>, Vec<usize>) {
    let mut ptr = vec![0usize; num_keys + 1];
    for &k in keys.iter().filter(|&&k| k != NONE) {
        ptr[k + 1] += 1;
    }
    for g in 0..num_keys {
        ptr[g + 1] += ptr[g];
    }
    let mut fill = ptr.clone();
    let mut items = vec![0usize; ptr[num_keys]];
    for (i, &k) in keys.iter().enumerate().filter(|(_, &k)| k != NONE) {
        items[fill[k]] = i;
        fill[k] += 1;
    }
    (ptr, items)
}

/// Dense copies of one component for the native simplex, reused across components.
#[derive(Default)]
struct NativeScratch {
    a: Vec<f64>,
    b: Vec<f64>,
    u: Vec<f64>,
}

thread_local! {
    static NATIVE: std::cell::RefCell<NativeScratch> = std::cell::RefCell::new(NativeScratch::default());
}

/// Solves one component natively: its dense reduced matrix (rows × classes, entries ±1), then
/// [`solve_elastic`]; writes the class sums into `value` and the rows' residuals into
/// `residual`. Returns whether it is infeasible, or `None` when the simplex gave it back.
fn solve_native(
    part: &Partition,
    rows: &[usize],
    classes: &[usize],
    q: &[f64],
    local: &mut [usize],
    value: &mut [f64],
    residual: &mut [f64],
) -> Option<bool> {
    let (m, n) = (rows.len(), classes.len());
    for (i, &k) in rows.iter().enumerate() {
        local[k] = i;
    }
    NATIVE.with_borrow_mut(|NativeScratch { a, b, u }| {
        a.clear();
        a.resize(m * n, 0.0);
        for (j, &c) in classes.iter().enumerate() {
            for (k, sign) in part.pattern(c) {
                a[local[k] * n + j] = f64::from(sign);
            }
        }
        b.clear();
        b.extend(rows.iter().map(|&k| q[k]));
        u.clear();
        u.extend(classes.iter().map(|&c| part.class_size[c] as f64));
        let sol = solve_elastic(m, n, a, b, u)?;
        for (&c, &x) in classes.iter().zip(&sol.x) {
            value[c] = x;
        }
        for (i, &k) in rows.iter().enumerate() {
            residual[k] = b[i] - (0..n).map(|j| a[i * n + j] * sol.x[j]).sum::<f64>();
        }
        Some(sol.residual_l1 > FEASIBILITY_TOL)
    })
}

fn plan_problem(rows: &[WRow], q: &[f64], length: usize, native: NativeLimits) -> ProblemPlan {
    let part = partition(rows, length);
    let nc = part.num_components;
    let (row_ptr, comp_rows) = group_by(&part.row_component, nc);
    let (class_ptr, comp_classes) = group_by(&part.class_component, nc);
    let mut value = vec![0.0; part.num_classes()];
    let mut residual = vec![0.0; rows.len()];
    let mut blocks = Vec::new();
    let (mut closed_form, mut closed_infeasible) = (0, 0);
    let (mut native_solved, mut native_infeasible, mut native_fallback) = (0, 0, 0);
    let mut local = vec![NONE; rows.len()];
    for comp in 0..nc {
        let crow = &comp_rows[row_ptr[comp]..row_ptr[comp + 1]];
        let ccls = &comp_classes[class_ptr[comp]..class_ptr[comp + 1]];
        if crow.len() == 1 {
            let k = crow[0];
            let (mut plus, mut minus) = (NONE, NONE);
            for &c in ccls {
                // A one-row component's class patterns are exactly {(k, +1)} or {(k, -1)}.
                match part.pattern(c).next() {
                    Some((_, s)) if s > 0 => plus = c,
                    _ => minus = c,
                }
            }
            let size = |c: usize| {
                if c == NONE {
                    0.0
                } else {
                    part.class_size[c] as f64
                }
            };
            let (hp, hm, r) = closed_form_row(q[k], size(plus), size(minus));
            if plus != NONE {
                value[plus] = hp;
            }
            if minus != NONE {
                value[minus] = hm;
            }
            residual[k] = r;
            closed_form += 1;
            // Infeasible as everywhere else: a least L1 residual above the tolerance.
            if r.abs() > FEASIBILITY_TOL {
                closed_infeasible += 1;
            }
        } else if let Some(plus) = disjoint_plus_classes(&part, crow, ccls, q) {
            // Every row has its own `+` class and q >= 0: see `disjoint_plus_classes`.
            let mut l1 = 0.0;
            for (&k, &c) in crow.iter().zip(&plus) {
                let (hp, _, r) = closed_form_row(q[k], part.class_size[c] as f64, 0.0);
                value[c] = hp;
                residual[k] = r;
                l1 += r.abs();
            }
            closed_form += 1;
            closed_infeasible += (l1 > FEASIBILITY_TOL) as usize;
        } else if native.admits(crow.len(), ccls.len()) {
            match solve_native(&part, crow, ccls, q, &mut local, &mut value, &mut residual) {
                Some(infeasible) => {
                    native_solved += 1;
                    native_infeasible += infeasible as usize;
                }
                None => {
                    native_fallback += 1;
                    blocks.push((crow.to_vec(), ccls.to_vec()));
                }
            }
        } else {
            blocks.push((crow.to_vec(), ccls.to_vec()));
        }
    }
    ProblemPlan {
        part,
        value,
        blocks,
        residual,
        closed_form,
        closed_infeasible,
        native: native_solved,
        native_infeasible,
        native_fallback,
    }
}

/// Everything the Python side needs to solve the stacked reduced LP and expand the labels of a
/// batch of videos. Instance arrays are in input order; all other arrays are grouped by problem
/// (problems sorted by `(video, label)`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LinproPlan {
    /// Problems: the `(video, label)` pairs with at least one instance.
    pub problem_video: Vec<usize>,
    pub problem_label: Vec<usize>,
    pub problem_components: Vec<usize>,
    /// Components solved in closed form (one row), and those of them that are infeasible.
    pub problem_closed_form: Vec<usize>,
    pub problem_closed_infeasible: Vec<usize>,
    /// Components solved by the native simplex, those of them that are infeasible (minimum L1
    /// residual above [`FEASIBILITY_TOL`]), and those it gave back to the stacked LP.
    pub problem_native: Vec<usize>,
    pub problem_native_infeasible: Vec<usize>,
    pub problem_native_fallback: Vec<usize>,
    /// Variables (classes with a non-zero pattern): size `|c|` (the upper bound of `h_c`), the
    /// closed-form or native value of `h_c` (0 for LP variables until solved), and the LP column or
    /// NONE.
    pub var_size: Vec<f64>,
    pub var_value: Vec<f64>,
    pub var_lp: Vec<usize>,
    /// Segments (runs of one class within one problem): video, label (output column), snippet
    /// range, and variable (NONE for the all-zero class, whose labels are 0).
    pub seg_video: Vec<usize>,
    pub seg_label: Vec<usize>,
    pub seg_start: Vec<usize>,
    pub seg_end: Vec<usize>,
    pub seg_var: Vec<usize>,
    /// Per input instance: its LP row (NONE when its component was closed form or native) and the
    /// closed-form or native residual `q - W g` (0 for LP rows).
    pub inst_lp_row: Vec<usize>,
    pub inst_residual: Vec<f64>,
    /// The stacked block-diagonal reduced LP, `min Σ h  s.t.  A h = b, 0 ≤ h ≤ var_size[lp_col_var]`,
    /// `A` in CSC form with entries ±1.
    pub lp_col_var: Vec<usize>,
    pub lp_indptr: Vec<usize>,
    pub lp_indices: Vec<usize>,
    pub lp_data: Vec<f64>,
    pub lp_b: Vec<f64>,
    pub lp_row_block: Vec<usize>,
    pub lp_row_instance: Vec<usize>,
    pub lp_block_problem: Vec<usize>,
}

/// Builds the plan for a batch of videos.
///
/// `video[k]`, `label[k]`, `start[k]`, `end[k]`, `score[k]` describe fused instance `k`
/// (`video[k] < lengths.len()`, `label[k] < num_classes`, `0 <= start <= end`, all finite);
/// `lengths[v]` is video `v`'s length in snippets. Multi-row components without a closed form
/// within `native` are solved by the native simplex, the others are stacked. Problems are planned
/// in parallel on a pool of `threads` workers ([`with_threads`]; a batch of fewer than
/// [`PARALLEL_MIN_INSTANCES`] instances on the calling thread); the result does not depend on
/// the thread count.
#[allow(clippy::too_many_arguments)]
pub fn linpro_plan(
    video: &[usize],
    label: &[usize],
    start: &[f64],
    end: &[f64],
    score: &[f64],
    lengths: &[usize],
    num_classes: usize,
    rule: Preset,
    native: NativeLimits,
    threads: Option<usize>,
) -> Result<LinproPlan> {
    rule.validate_w_rule()?;
    let n = label.len();
    for (name, len) in [("video", video.len()), ("start", start.len()), ("end", end.len()), ("score", score.len())] {
        if len != n {
            return Err(CoreError::invalid(name, format!("has length {len}, expected {n} (the length of `label`)")));
        }
    }
    for k in 0..n {
        if video[k] >= lengths.len() {
            return Err(CoreError::invalid(
                "video",
                format!("index {} at position {k} is out of range for {} videos", video[k], lengths.len()),
            ));
        }
        if label[k] >= num_classes {
            return Err(CoreError::invalid(
                "label",
                format!("{} at position {k} is out of range for num_classes = {num_classes}", label[k]),
            ));
        }
        check_instance(k, start[k], end[k], score[k])?;
    }

    // Group instances by (video, label), keeping input order inside a problem.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_unstable_by_key(|&k| (video[k], label[k], k));
    let mut bounds = Vec::new();
    let mut a = 0;
    while a < n {
        let key = (video[order[a]], label[order[a]]);
        let mut b = a + 1;
        while b < n && (video[order[b]], label[order[b]]) == key {
            b += 1;
        }
        bounds.push((a, b));
        a = b;
    }

    let plan_one = |&(a, b): &(usize, usize)| {
        let idx = &order[a..b];
        let length = lengths[video[idx[0]]];
        let rows: Vec<WRow> = idx.iter().map(|&k| w_row(start[k], end[k], length, rule)).collect();
        let q: Vec<f64> = idx.iter().map(|&k| score[k]).collect();
        plan_problem(&rows, &q, length, native)
    };
    // A small batch (one video's problems) is planned on the calling thread: handing it to the
    // pool would cost more than the work.
    let plans: Vec<ProblemPlan> = if n >= PARALLEL_MIN_INSTANCES && bounds.len() > 1 {
        with_threads(threads, || bounds.par_iter().map(plan_one).collect())?
    } else {
        check_threads(threads)?;
        bounds.iter().map(plan_one).collect()
    };

    let problems = plans.len();
    let vars: usize = plans.iter().map(|p| p.part.class_component.iter().filter(|&&c| c != NONE).count()).sum();
    let segs: usize = plans.iter().map(|p| p.part.seg_start.len()).sum();
    let mut out = LinproPlan {
        problem_video: Vec::with_capacity(problems),
        problem_label: Vec::with_capacity(problems),
        problem_components: Vec::with_capacity(problems),
        problem_closed_form: Vec::with_capacity(problems),
        problem_closed_infeasible: Vec::with_capacity(problems),
        problem_native: Vec::with_capacity(problems),
        problem_native_infeasible: Vec::with_capacity(problems),
        problem_native_fallback: Vec::with_capacity(problems),
        var_size: Vec::with_capacity(vars),
        var_value: Vec::with_capacity(vars),
        var_lp: Vec::with_capacity(vars),
        seg_video: Vec::with_capacity(segs),
        seg_label: Vec::with_capacity(segs),
        seg_start: Vec::with_capacity(segs),
        seg_end: Vec::with_capacity(segs),
        seg_var: Vec::with_capacity(segs),
        inst_lp_row: vec![NONE; n],
        inst_residual: vec![0.0; n],
        lp_indptr: vec![0],
        ..LinproPlan::default()
    };
    for (p, (plan, &(a, _))) in plans.into_iter().zip(&bounds).enumerate() {
        let idx = &order[a..a + plan.residual.len()];
        let (v, lab) = (video[idx[0]], label[idx[0]]);
        out.problem_video.push(v);
        out.problem_label.push(lab);
        out.problem_components.push(plan.part.num_components);
        out.problem_closed_form.push(plan.closed_form);
        out.problem_closed_infeasible.push(plan.closed_infeasible);
        out.problem_native.push(plan.native);
        out.problem_native_infeasible.push(plan.native_infeasible);
        out.problem_native_fallback.push(plan.native_fallback);

        let part = &plan.part;
        // Variables for every class with a non-zero pattern.
        let mut var_of = vec![NONE; part.num_classes()];
        for (c, var) in var_of.iter_mut().enumerate() {
            if part.class_component[c] != NONE {
                *var = out.var_size.len();
                out.var_size.push(part.class_size[c] as f64);
                out.var_value.push(plan.value[c]);
                out.var_lp.push(NONE);
            }
        }
        for j in 0..part.seg_start.len() {
            out.seg_video.push(v);
            out.seg_label.push(lab);
            out.seg_start.push(part.seg_start[j]);
            out.seg_end.push(part.seg_end[j]);
            out.seg_var.push(var_of[part.seg_class[j]]);
        }
        for (local, &k) in idx.iter().enumerate() {
            out.inst_residual[k] = plan.residual[local];
        }
        // LP blocks: rows then columns (CSC).
        let mut lp_row_of = vec![NONE; idx.len()];
        for (rows, classes) in &plan.blocks {
            let block = out.lp_block_problem.len();
            out.lp_block_problem.push(p);
            for &local in rows {
                let row = out.lp_b.len();
                lp_row_of[local] = row;
                out.lp_b.push(score[idx[local]]);
                out.lp_row_block.push(block);
                out.lp_row_instance.push(idx[local]);
                out.inst_lp_row[idx[local]] = row;
            }
            for &c in classes {
                let var = var_of[c];
                out.var_lp[var] = out.lp_col_var.len();
                out.lp_col_var.push(var);
                for (local, sign) in part.pattern(c) {
                    // Every row of a class's pattern is in the class's component, hence an LP row.
                    out.lp_indices.push(lp_row_of[local]);
                    out.lp_data.push(f64::from(sign));
                }
                out.lp_indptr.push(out.lp_indices.len());
            }
        }
    }
    Ok(out)
}

/// Expands class sums into snippet labels: returns the row-major `(Σ lengths, num_classes)` matrix
/// whose rows `offset[v] .. offset[v] + lengths[v]` are video `v`'s labels, with
/// `g = clamp(var_value / var_size, 0, 1)` on each segment and 0 elsewhere.
#[allow(clippy::too_many_arguments)]
pub fn linpro_expand(
    lengths: &[usize],
    num_classes: usize,
    seg_video: &[usize],
    seg_label: &[usize],
    seg_start: &[usize],
    seg_end: &[usize],
    seg_var: &[usize],
    var_value: &[f64],
    var_size: &[f64],
) -> Result<Vec<f64>> {
    let s = seg_video.len();
    for (name, len) in [
        ("seg_label", seg_label.len()),
        ("seg_start", seg_start.len()),
        ("seg_end", seg_end.len()),
        ("seg_var", seg_var.len()),
    ] {
        if len != s {
            return Err(CoreError::invalid(
                name,
                format!("has length {len}, expected {s} (the length of `seg_video`)"),
            ));
        }
    }
    if var_size.len() != var_value.len() {
        return Err(CoreError::invalid(
            "var_size",
            format!("has length {}, expected {} (the length of `var_value`)", var_size.len(), var_value.len()),
        ));
    }
    if let Some(k) = var_value.iter().position(|x| !x.is_finite()) {
        return Err(CoreError::invalid("var_value", format!("non-finite value at index {k}")));
    }
    if let Some(k) = var_size.iter().position(|x| !(x.is_finite() && *x > 0.0)) {
        return Err(CoreError::invalid(
            "var_size",
            format!("must be finite and > 0, got {} at index {k}", var_size[k]),
        ));
    }
    let mut offset = Vec::with_capacity(lengths.len());
    let mut total: usize = 0;
    for &l in lengths {
        offset.push(total);
        total = total.checked_add(l).ok_or_else(|| CoreError::invalid("lengths", "sum overflows"))?;
    }
    let cells = total
        .checked_mul(num_classes)
        .filter(|&c| c <= isize::MAX as usize / 8)
        .ok_or_else(|| CoreError::invalid("lengths", "output too large"))?;
    let mut out: Vec<f64> = Vec::new();
    out.try_reserve_exact(cells)
        .map_err(|_| CoreError::invalid("lengths", format!("cannot allocate {cells} output cells")))?;
    out.resize(cells, 0.0);
    for j in 0..s {
        let (v, lab, a, b, var) = (seg_video[j], seg_label[j], seg_start[j], seg_end[j], seg_var[j]);
        if v >= lengths.len() {
            return Err(CoreError::invalid("seg_video", format!("index {v} at position {j} is out of range")));
        }
        if lab >= num_classes {
            return Err(CoreError::invalid("seg_label", format!("{lab} at position {j} is out of range")));
        }
        if !(a <= b && b <= lengths[v]) {
            return Err(CoreError::invalid(
                "seg_end",
                format!("segment [{a}, {b}) at position {j} is not inside [0, {})", lengths[v]),
            ));
        }
        if var == NONE {
            continue;
        }
        if var >= var_value.len() {
            return Err(CoreError::invalid("seg_var", format!("index {var} at position {j} is out of range")));
        }
        let g = (var_value[var] / var_size[var]).clamp(0.0, 1.0);
        for i in a..b {
            out[(offset[v] + i) * num_classes + lab] = g;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic xorshift for the randomised tests (no `rand` dependency).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    fn random_instances(rng: &mut Rng, length: usize) -> (Vec<f64>, Vec<f64>) {
        let n = 1 + rng.below(8) as usize;
        let (mut s, mut e) = (Vec::new(), Vec::new());
        for _ in 0..n {
            let a = rng.unit() * (length as f64 + 3.0);
            let w = rng.unit() * 0.5 * length as f64;
            s.push(a);
            e.push(a + w);
        }
        (s, e)
    }

    #[test]
    fn official_row_matches_hand_computation() {
        // s = 10, e = 30, n = 20, pad = 0.0785 * 20^0.9 = 1.1636...
        let r = w_row(10.7, 30.2, 100, Preset::Official);
        assert_eq!(r.inner, (10, 30));
        assert_eq!(r.left, (8, 10)); // int(10 - 1.19) = 8
        assert_eq!(r.right, (30, 32)); // int(30 + 1.19 + 1) = 32
                                       // Right outer capped at l - 1 (quirk): the last snippet is never outer.
        let r = w_row(90.0, 98.0, 100, Preset::Official);
        assert_eq!(r.right, (98, 99));
        // An instance past the end: inner clipped like a numpy slice.
        let r = w_row(95.0, 120.0, 100, Preset::Official);
        assert_eq!(r.inner, (95, 100));
        assert!(r.right.0 >= r.right.1);
        // n = 0: pad = 0, the right outer is [e, e + 1).
        let r = w_row(5.0, 5.5, 100, Preset::Official);
        assert_eq!((r.left, r.inner, r.right), ((5, 5), (5, 5), (5, 6)));
        // Left outer clipped at 0.
        let r = w_row(0.5, 40.0, 100, Preset::Official);
        assert_eq!(r.left, (0, 0));
    }

    #[test]
    fn paper_row_matches_hand_computation() {
        let rule = Preset::Paper { alpha: 0.25 };
        let r = w_row(10.0, 30.0, 100, rule); // w = 5
        assert_eq!((r.left, r.inner, r.right), ((5, 10), (10, 30), (30, 35)));
        let r = w_row(2.0, 5.0, 6, rule); // n = 3, w = int(0.75) = 0
        assert_eq!((r.left, r.inner, r.right), ((2, 2), (2, 5), (5, 5)));
        let r = w_row(1.0, 21.0, 23, rule); // w = 5, both sides clipped
        assert_eq!((r.left, r.inner, r.right), ((0, 1), (1, 21), (21, 23)));
    }

    /// Dense reference: classes by first occurrence of identical columns.
    fn dense_reference(rows: &[WRow], length: usize) -> (Vec<usize>, Vec<Vec<(usize, i8)>>) {
        let mut patterns: Vec<Vec<(usize, i8)>> = Vec::new();
        let mut cls = Vec::with_capacity(length);
        for i in 0..length {
            let col: Vec<(usize, i8)> =
                rows.iter().enumerate().filter_map(|(k, r)| Some((k, r.entry(i))).filter(|x| x.1 != 0)).collect();
            let c = match patterns.iter().position(|p| *p == col) {
                Some(c) => c,
                None => {
                    patterns.push(col);
                    patterns.len() - 1
                }
            };
            cls.push(c);
        }
        (cls, patterns)
    }

    #[test]
    fn partition_matches_dense_reference() {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        for trial in 0..2000 {
            let length = 1 + rng.below(60) as usize;
            let (s, e) = random_instances(&mut rng, length);
            let rule = if trial % 2 == 0 { Preset::Official } else { Preset::Paper { alpha: 0.25 } };
            let rows: Vec<WRow> = s.iter().zip(&e).map(|(&a, &b)| w_row(a, b, length, rule)).collect();
            let part = partition(&rows, length);
            let (cls, patterns) = dense_reference(&rows, length);
            assert_eq!(part.snippet_class(), cls, "trial {trial}");
            assert_eq!(part.num_classes(), patterns.len());
            for (c, p) in patterns.iter().enumerate() {
                assert_eq!(part.pattern(c).collect::<Vec<_>>(), *p);
                assert_eq!(part.class_size[c], cls.iter().filter(|&&x| x == c).count());
            }
            // Segments are maximal runs.
            for j in 1..part.seg_class.len() {
                assert_ne!(part.seg_class[j], part.seg_class[j - 1]);
                assert_eq!(part.seg_start[j], part.seg_end[j - 1]);
            }
            // Components: two rows sharing a class are in one component; components are numbered
            // by smallest row.
            for c in 0..part.num_classes() {
                let rows_c: Vec<usize> = part.pattern(c).map(|x| x.0).collect();
                for &k in &rows_c {
                    assert_eq!(part.row_component[k], part.class_component[c]);
                }
                assert_eq!(rows_c.is_empty(), part.class_component[c] == NONE);
            }
            let mut seen = 0;
            for &comp in &part.row_component {
                assert!(comp <= seen);
                if comp == seen {
                    seen += 1;
                }
            }
            assert_eq!(seen, part.num_components);
        }
    }

    #[test]
    fn non_contiguous_class_is_one_class() {
        // Row 0 inner [0, 20); row 1 (inner [8, 12)) splits it into two runs of pattern {0:+}.
        let rows = [
            WRow { left: (0, 0), inner: (0, 20), right: (20, 20) },
            WRow { left: (8, 8), inner: (8, 12), right: (12, 12) },
        ];
        let part = partition(&rows, 25);
        let cls = part.snippet_class();
        assert_eq!(cls[0], cls[15]);
        assert_ne!(cls[0], cls[9]);
        assert_eq!(part.class_size[cls[0]], 16);
        assert_eq!(part.num_components, 1);
    }

    #[test]
    fn closed_form_row_cases() {
        assert_eq!(closed_form_row(0.3, 4.0, 2.0), (0.3, 0.0, 0.0));
        assert_eq!(closed_form_row(-0.3, 4.0, 2.0), (0.0, 0.3, 0.0));
        assert_eq!(closed_form_row(5.0, 4.0, 2.0), (4.0, 0.0, 1.0));
        assert_eq!(closed_form_row(-0.5, 4.0, 0.0), (0.0, 0.0, -0.5));
        assert_eq!(closed_form_row(0.0, 4.0, 2.0), (0.0, 0.0, 0.0));
    }

    #[test]
    fn plan_is_consistent() {
        let mut rng = Rng(42);
        let lengths = [50usize, 7, 0, 120];
        let (mut video, mut label, mut start, mut end, mut score) = (vec![], vec![], vec![], vec![], vec![]);
        for (v, &l) in lengths.iter().enumerate() {
            for lab in 0..3 {
                let (s, e) = random_instances(&mut rng, l.max(1));
                for (a, b) in s.into_iter().zip(e) {
                    video.push(v);
                    label.push(lab);
                    start.push(a);
                    end.push(b);
                    score.push(rng.unit() * 2.0 - 0.5);
                }
            }
        }
        let plan = linpro_plan(
            &video,
            &label,
            &start,
            &end,
            &score,
            &lengths,
            3,
            Preset::Official,
            NativeLimits::DEFAULT,
            None,
        )
        .unwrap();
        // Segments of each problem tile its video.
        let mut covered = vec![vec![0usize; 3]; lengths.len()];
        for j in 0..plan.seg_video.len() {
            covered[plan.seg_video[j]][plan.seg_label[j]] += plan.seg_end[j] - plan.seg_start[j];
        }
        for (cov, &l) in covered.iter().zip(&lengths) {
            assert_eq!(*cov, vec![l; 3]);
        }
        // LP columns point back to their variables; CSC is well formed; every instance is either an
        // LP row or closed form.
        for (col, &var) in plan.lp_col_var.iter().enumerate() {
            assert_eq!(plan.var_lp[var], col);
            assert!(plan.lp_indptr[col] < plan.lp_indptr[col + 1]);
        }
        assert_eq!(*plan.lp_indptr.last().unwrap(), plan.lp_indices.len());
        for (k, &row) in plan.inst_lp_row.iter().enumerate() {
            if row != NONE {
                assert_eq!(plan.lp_row_instance[row], k);
                assert_eq!(plan.inst_residual[k], 0.0);
            }
        }
        // Closed-form values respect bounds.
        for (v, s) in plan.var_value.iter().zip(&plan.var_size) {
            assert!(*v >= 0.0 && v <= s);
        }
        let flat = linpro_expand(
            &lengths,
            3,
            &plan.seg_video,
            &plan.seg_label,
            &plan.seg_start,
            &plan.seg_end,
            &plan.seg_var,
            &plan.var_value,
            &plan.var_size,
        )
        .unwrap();
        assert_eq!(flat.len(), lengths.iter().sum::<usize>() * 3);
        assert!(flat.iter().all(|g| (0.0..=1.0).contains(g)));
    }

    #[test]
    fn native_components_meet_their_rows_and_limits() {
        let mut rng = Rng(77);
        let (mut native, mut off_blocks, mut infeasible) = (0, 0, 0);
        for trial in 0..400 {
            let length = 10 + rng.below(80) as usize;
            let (s, e) = random_instances(&mut rng, length);
            let rule = if trial % 2 == 0 { Preset::Official } else { Preset::Paper { alpha: 0.25 } };
            let rows: Vec<WRow> = s.iter().zip(&e).map(|(&a, &b)| w_row(a, b, length, rule)).collect();
            let q: Vec<f64> = (0..rows.len()).map(|_| rng.unit() * 3.0 - 0.8).collect();
            let plan = plan_problem(&rows, &q, length, NativeLimits::DEFAULT);
            assert!(plan.blocks.is_empty() && plan.native_fallback == 0);
            // Every row's residual is q − W h over the classes of its pattern; h within its box.
            let mut wh = vec![0.0; rows.len()];
            for c in 0..plan.part.num_classes() {
                let h = plan.value[c];
                assert!(h >= 0.0 && h <= plan.part.class_size[c] as f64);
                for (k, sign) in plan.part.pattern(c) {
                    wh[k] += f64::from(sign) * h;
                }
            }
            for k in 0..rows.len() {
                assert!((plan.residual[k] - (q[k] - wh[k])).abs() < 1e-12, "trial {trial} row {k}");
            }
            native += plan.native;
            infeasible += plan.native_infeasible;
            // Without the native solver the same components are stacked for HiGHS instead.
            let off = plan_problem(&rows, &q, length, NativeLimits::OFF);
            assert_eq!((off.native, off.blocks.len()), (0, plan.native));
            off_blocks += off.blocks.len();
        }
        assert!(native > 50 && infeasible > 5 && infeasible < native && off_blocks == native);
        assert_eq!(NativeLimits::new(513, 0).unwrap_err().arg(), "native_limits");
        assert_eq!(NativeLimits::new(3, 2049).unwrap_err().arg(), "native_limits");
        assert_eq!(NativeLimits::new(3, 7).unwrap(), NativeLimits { max_rows: 3, max_classes: 7 });
    }

    #[test]
    fn plan_rejects_bad_input() {
        let l = [10usize];
        // The argument named by the error of one instance (video, label, start, end, score).
        let err = |v: &[usize], lab: &[usize], s: f64, e: f64, q: f64, rule: Preset| match linpro_plan(
            v,
            lab,
            &[s],
            &[e],
            &[q],
            &l,
            1,
            rule,
            NativeLimits::DEFAULT,
            None,
        ) {
            Err(e) => e.arg().to_string(),
            Ok(_) => "ok".to_string(),
        };
        let off = Preset::Official;
        assert_eq!(err(&[0], &[0], 1.0, 2.0, 0.5, off), "ok");
        assert_eq!(err(&[1], &[0], 1.0, 2.0, 0.5, off), "video");
        assert_eq!(err(&[0], &[1], 1.0, 2.0, 0.5, off), "label");
        assert_eq!(err(&[0], &[0], -1.0, 2.0, 0.5, off), "start");
        assert_eq!(err(&[0], &[0], f64::NAN, 2.0, 0.5, off), "start");
        assert_eq!(err(&[0], &[0], 3.0, 2.0, 0.5, off), "end");
        assert_eq!(err(&[0], &[0], 1.0, 2.0, f64::INFINITY, off), "score");
        assert_eq!(err(&[0, 0], &[0], 1.0, 2.0, 0.5, off), "video");
        assert_eq!(err(&[0], &[0], 1.0, 2.0, 0.5, Preset::Paper { alpha: -1.0 }), "alpha");
        // Huge but finite bounds are clipped, not overflowed.
        assert_eq!(err(&[0], &[0], 1e300, 1e301, 0.5, off), "ok");
        // The thread count is checked also when the batch is too small for the pool.
        let r = linpro_plan(&[0], &[0], &[1.0], &[2.0], &[0.5], &l, 1, off, NativeLimits::DEFAULT, Some(0));
        assert_eq!(r.unwrap_err().arg(), "num_threads");
    }

    #[test]
    fn expand_rejects_bad_input() {
        let r = linpro_expand(&[5], 1, &[0], &[0], &[0], &[6], &[NONE], &[], &[]);
        assert_eq!(r.unwrap_err().arg(), "seg_end");
        let r = linpro_expand(&[5], 1, &[0], &[0], &[0], &[5], &[3], &[1.0], &[5.0]);
        assert_eq!(r.unwrap_err().arg(), "seg_var");
        let r = linpro_expand(&[5], 1, &[0], &[0], &[0], &[5], &[0], &[f64::NAN], &[5.0]);
        assert_eq!(r.unwrap_err().arg(), "var_value");
        let r = linpro_expand(&[usize::MAX, 2], 1, &[], &[], &[], &[], &[], &[], &[]);
        assert_eq!(r.unwrap_err().arg(), "lengths");
    }
}
