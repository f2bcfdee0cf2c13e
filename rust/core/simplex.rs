//! A small dense bounded-variable primal simplex for the elastic LinPro component LP
//! (docs/linpro-native.md): `min ‖A x − b‖₁`, then `min Σx` at that residual, `0 ≤ x ≤ u`.
//!
//! Written for the components of a few rows and a few dozen classes that dominate real LinPro
//! problems, where a sparse solver's set-up costs more than the solve. The elastic form
//! `A x + r⁺ − r⁻ = b` has a feasible all-slack starting basis, so there is no separate
//! feasibility phase: phase 1 minimises `Σ(r⁺ + r⁻)`; then every non-basic variable with a
//! non-zero phase-1 reduced cost is fixed at its bound (exactly the set of phase-1 optima: see
//! [`solve_elastic`]) and phase 2 minimises `Σx` over what is left. Each phase ends with a
//! certificate computed from scratch (the basis refactorised with partial pivoting, primal
//! values and duals recomputed and checked); a failed check returns `None`, and the caller
//! hands the component to HiGHS instead.

/// Entries of the tableau below this (in absolute value) are round-off, not pivots.
const PIVOT_TOL: f64 = 1e-11;
/// A reduced cost below this (in absolute value) is zero while pricing.
const PRICE_TOL: f64 = 1e-11;
/// A phase-1 reduced cost above this fixes its variable for phase 2.
const FIX_TOL: f64 = 1e-9;
/// Tolerance of the certificate checks (primal: times `1 + ‖b‖∞ + max finite u`; dual: costs are
/// 0 and 1).
const CHECK_TOL: f64 = 1e-9;
/// Consecutive degenerate steps after which pricing switches to Bland's rule (which cannot
/// cycle) until a step makes progress.
const DEGENERATE_STREAK: usize = 8;

/// The optimum of an elastic problem.
#[derive(Debug, Clone, PartialEq)]
pub struct ElasticSolution {
    /// `x`, shape `(n,)`, within `[0, u]`.
    pub x: Vec<f64>,
    /// The minimum `‖A x − b‖₁` (phase 1's optimum, recomputed from the refactorised basis).
    pub residual_l1: f64,
    /// Simplex iterations over both phases (pivots and bound flips).
    pub iterations: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Basic,
    Lower,
    Upper,
}

/// Buffers of one worker, reused across components (a component is solved in microseconds;
/// allocating each buffer anew would cost as much).
#[derive(Default)]
struct Buffers {
    upper: Vec<f64>,
    t: Vec<f64>,
    beta: Vec<f64>,
    basis: Vec<usize>,
    state: Vec<State>,
    fixed: Vec<bool>,
    d: Vec<f64>,
    lu: Vec<f64>,
    perm: Vec<usize>,
    rhs: Vec<f64>,
    y: Vec<f64>,
}

thread_local! {
    static BUFFERS: std::cell::RefCell<Buffers> = std::cell::RefCell::new(Buffers::default());
}

/// Simplex state over `N = n + 2m` columns: `x` (`n`), `r⁺` (`m`), `r⁻` (`m`).
struct Tableau<'a> {
    m: usize,
    n: usize,
    a: &'a [f64],
    b: &'a [f64],
    /// Upper bounds of all `N` columns (`r±`: infinite).
    upper: Vec<f64>,
    /// `B⁻¹ A`, row-major `m × N`.
    t: Vec<f64>,
    /// Values of the basic variables, by row.
    beta: Vec<f64>,
    basis: Vec<usize>,
    state: Vec<State>,
    /// Columns held at their bound (phase 2).
    fixed: Vec<bool>,
    iterations: usize,
    /// Work space: reduced costs (`N`), the basis matrix and its LU (`m × m`), the row
    /// permutation, a right-hand side and the duals (`m`).
    d: Vec<f64>,
    lu: Vec<f64>,
    perm: Vec<usize>,
    rhs: Vec<f64>,
    y: Vec<f64>,
}

impl<'a> Tableau<'a> {
    fn width(&self) -> usize {
        self.n + 2 * self.m
    }

    /// The all-slack basis: `r⁺_i` for `b_i ≥ 0`, else `r⁻_i`, at `|b_i|`.
    fn new(m: usize, n: usize, a: &'a [f64], b: &'a [f64], u: &[f64], buf: &mut Buffers) -> Self {
        let w = n + 2 * m;
        let reuse = |v: &mut Vec<f64>, len: usize, x: f64| {
            let mut v = std::mem::take(v);
            v.clear();
            v.resize(len, x);
            v
        };
        let mut upper = reuse(&mut buf.upper, w, f64::INFINITY);
        upper[..n].copy_from_slice(u);
        let mut tab = Tableau {
            m,
            n,
            a,
            b,
            upper,
            t: reuse(&mut buf.t, m * w, 0.0),
            beta: reuse(&mut buf.beta, m, 0.0),
            basis: std::mem::take(&mut buf.basis),
            state: std::mem::take(&mut buf.state),
            fixed: std::mem::take(&mut buf.fixed),
            iterations: 0,
            d: std::mem::take(&mut buf.d),
            lu: std::mem::take(&mut buf.lu),
            perm: std::mem::take(&mut buf.perm),
            rhs: std::mem::take(&mut buf.rhs),
            y: std::mem::take(&mut buf.y),
        };
        tab.basis.clear();
        tab.state.clear();
        tab.state.resize(w, State::Lower);
        tab.fixed.clear();
        tab.fixed.resize(w, false);
        for (i, &bi) in b.iter().enumerate() {
            let sign = if bi >= 0.0 { 1.0 } else { -1.0 };
            let row = &mut tab.t[i * w..(i + 1) * w];
            row[..n].iter_mut().zip(&a[i * n..(i + 1) * n]).for_each(|(t, &x)| *t = sign * x);
            row[n + i] = sign;
            row[n + m + i] = -sign;
            tab.beta[i] = bi.abs();
            let slack = if bi >= 0.0 { n + i } else { n + m + i };
            tab.basis.push(slack);
            tab.state[slack] = State::Basic;
        }
        tab
    }

    /// Hands the buffers back for the next component.
    fn recycle(self, buf: &mut Buffers) {
        *buf = Buffers {
            upper: self.upper,
            t: self.t,
            beta: self.beta,
            basis: self.basis,
            state: self.state,
            fixed: self.fixed,
            d: self.d,
            lu: self.lu,
            perm: self.perm,
            rhs: self.rhs,
            y: self.y,
        };
    }

    fn value(&self, j: usize) -> f64 {
        match self.state[j] {
            State::Lower => 0.0,
            State::Upper => self.upper[j],
            State::Basic => self.beta[self.basis.iter().position(|&v| v == j).unwrap_or(0)],
        }
    }

    /// Reduced costs `c − c_B B⁻¹ A` from the tableau, into `self.d`.
    fn reduced_costs(&mut self, cost: impl Fn(usize) -> f64) {
        let w = self.width();
        self.d.clear();
        self.d.extend((0..w).map(&cost));
        for i in 0..self.m {
            let cb = cost(self.basis[i]);
            if cb != 0.0 {
                let row = &self.t[i * w..(i + 1) * w];
                self.d.iter_mut().zip(row).for_each(|(dj, &tij)| *dj -= cb * tij);
            }
        }
    }

    /// Runs the simplex for `cost` until optimal; `false` when the iteration cap is hit (or the
    /// problem looks unbounded, which it cannot be: costs are ≥ 0 on variables ≥ 0).
    fn optimise(&mut self, cost: impl Fn(usize) -> f64 + Copy) -> bool {
        let (m, w) = (self.m, self.width());
        let cap = self.iterations + 50 * (m + w) + 100;
        let mut streak = 0;
        loop {
            if self.iterations >= cap {
                return false;
            }
            self.reduced_costs(cost);
            let bland = streak >= DEGENERATE_STREAK;
            // Entering column: the largest improving reduced cost (Bland: the first).
            let mut enter = None;
            let mut best = PRICE_TOL;
            for (j, &dj) in self.d.iter().enumerate() {
                if self.fixed[j] {
                    continue;
                }
                let gain = match self.state[j] {
                    State::Lower => -dj,
                    State::Upper => dj,
                    State::Basic => continue,
                };
                if gain > best {
                    enter = Some(j);
                    if bland {
                        break;
                    }
                    best = gain;
                }
            }
            let Some(q) = enter else { return true };
            let dir = if self.state[q] == State::Lower { 1.0 } else { -1.0 };
            // Ratio test: the entering variable moves by θ ≥ 0 in `dir`; basic `i` changes by
            // `−θ·dir·t[i][q]`.
            let mut theta = self.upper[q];
            let mut leave: Option<(usize, f64)> = None; // (row, alpha)
            for i in 0..m {
                let alpha = dir * self.t[i * w + q];
                let limit = if alpha > PIVOT_TOL {
                    self.beta[i].max(0.0) / alpha
                } else if alpha < -PIVOT_TOL {
                    let ub = self.upper[self.basis[i]];
                    if ub.is_infinite() {
                        continue;
                    }
                    (ub - self.beta[i]).max(0.0) / -alpha
                } else {
                    continue;
                };
                let better = match leave {
                    None => limit < theta,
                    Some((r, ar)) => {
                        let tie = (limit - theta).abs() <= 1e-12 * (1.0 + theta.abs());
                        if tie {
                            // Ties: the larger pivot (stability); Bland: the smaller variable.
                            if bland {
                                self.basis[i] < self.basis[r]
                            } else {
                                alpha.abs() > ar.abs()
                            }
                        } else {
                            limit < theta
                        }
                    }
                };
                if better {
                    theta = limit.min(theta);
                    leave = Some((i, alpha));
                }
            }
            if theta.is_infinite() {
                return false;
            }
            self.iterations += 1;
            streak = if theta > 0.0 { 0 } else { streak + 1 };
            for i in 0..m {
                self.beta[i] -= theta * dir * self.t[i * w + q];
            }
            let entered_at = if dir > 0.0 { theta } else { self.upper[q] - theta };
            match leave {
                None => {
                    // Bound flip: `q` crosses to its other bound, the basis stays.
                    self.state[q] = if dir > 0.0 { State::Upper } else { State::Lower };
                }
                Some((r, alpha)) => {
                    let out = self.basis[r];
                    self.state[out] = if alpha > 0.0 { State::Lower } else { State::Upper };
                    self.state[q] = State::Basic;
                    self.basis[r] = q;
                    self.beta[r] = entered_at;
                    let p = self.t[r * w + q];
                    for j in 0..w {
                        self.t[r * w + j] /= p;
                    }
                    self.t[r * w + q] = 1.0;
                    for i in 0..m {
                        if i == r {
                            continue;
                        }
                        let f = self.t[i * w + q];
                        if f != 0.0 {
                            for j in 0..w {
                                self.t[i * w + j] -= f * self.t[r * w + j];
                            }
                            self.t[i * w + q] = 0.0;
                        }
                    }
                }
            }
        }
    }

    /// The certificate of the current basis under `cost`, recomputed from scratch: the basic
    /// values `B⁻¹ (b − N x_N)` (written back into `beta`) within their bounds, and no non-basic,
    /// non-fixed column with an improving reduced cost `c_j − yᵀ A_j`, `Bᵀ y = c_B`. The reduced
    /// costs are left in `self.d`. `false` when a check fails or the basis is singular.
    fn certify(&mut self, cost: impl Fn(usize) -> f64) -> bool {
        let (m, n, w) = (self.m, self.n, self.width());
        // The basis matrix, column k = column basis[k] of [A  I  −I].
        self.lu.clear();
        self.lu.resize(m * m, 0.0);
        for (k, &j) in self.basis.iter().enumerate() {
            if j < n {
                for i in 0..m {
                    self.lu[i * m + k] = self.a[i * n + j];
                }
            } else if j < n + m {
                self.lu[(j - n) * m + k] = 1.0;
            } else {
                self.lu[(j - n - m) * m + k] = -1.0;
            }
        }
        if !lu_factor(&mut self.lu, &mut self.perm, m) {
            return false;
        }
        // Non-basic columns at their upper bound (only structural ones have a finite one).
        self.rhs.clear();
        self.rhs.extend_from_slice(self.b);
        for j in 0..n {
            if self.state[j] == State::Upper {
                for i in 0..m {
                    self.rhs[i] -= self.a[i * n + j] * self.upper[j];
                }
            }
        }
        lu_solve(&self.lu, &self.perm, m, &mut self.rhs);
        let scale = 1.0
            + self.b.iter().fold(0.0f64, |s, v| s.max(v.abs()))
            + self.upper[..n].iter().fold(0.0f64, |s, &v| s.max(v));
        for (k, &j) in self.basis.iter().enumerate() {
            let x = self.rhs[k];
            if !(x >= -CHECK_TOL * scale && x <= self.upper[j] + CHECK_TOL * scale) {
                return false;
            }
        }
        self.y.clear();
        self.y.extend(self.basis.iter().map(|&j| cost(j)));
        lu_solve_transposed(&self.lu, &self.perm, m, &mut self.y);
        self.d.clear();
        self.d.resize(w, 0.0);
        for j in 0..w {
            let aty = if j < n {
                (0..m).map(|i| self.y[i] * self.a[i * n + j]).sum::<f64>()
            } else if j < n + m {
                self.y[j - n]
            } else {
                -self.y[j - n - m]
            };
            let dj = cost(j) - aty;
            let bad = match self.state[j] {
                _ if self.fixed[j] => false,
                State::Basic => false,
                State::Lower => dj < -CHECK_TOL,
                State::Upper => dj > CHECK_TOL,
            };
            if bad || !dj.is_finite() {
                return false;
            }
            self.d[j] = dj;
        }
        for (k, &j) in self.basis.iter().enumerate() {
            self.beta[k] = self.rhs[k].clamp(0.0, self.upper[j]);
        }
        true
    }
}

/// In-place LU with partial pivoting of the square `m × m` row-major `a` (`P a = L U`, unit `L`
/// below the diagonal); `false` when singular (not for a simplex basis, except by round-off).
fn lu_factor(a: &mut [f64], perm: &mut Vec<usize>, m: usize) -> bool {
    perm.clear();
    perm.extend(0..m);
    for k in 0..m {
        let mut p = k;
        for i in k + 1..m {
            if a[i * m + k].abs() > a[p * m + k].abs() {
                p = i;
            }
        }
        if a[p * m + k].abs() < 1e-12 {
            return false;
        }
        if p != k {
            for j in 0..m {
                a.swap(p * m + j, k * m + j);
            }
            perm.swap(p, k);
        }
        for i in k + 1..m {
            let f = a[i * m + k] / a[k * m + k];
            a[i * m + k] = f;
            for j in k + 1..m {
                a[i * m + j] -= f * a[k * m + j];
            }
        }
    }
    true
}

/// `x ← A⁻¹ x` with the factors of [`lu_factor`].
fn lu_solve(lu: &[f64], perm: &[usize], m: usize, x: &mut [f64]) {
    let permuted: Vec<f64> = perm.iter().map(|&p| x[p]).collect();
    x.copy_from_slice(&permuted);
    for i in 0..m {
        for k in 0..i {
            x[i] -= lu[i * m + k] * x[k];
        }
    }
    for i in (0..m).rev() {
        for k in i + 1..m {
            x[i] -= lu[i * m + k] * x[k];
        }
        x[i] /= lu[i * m + i];
    }
}

/// `y ← A⁻ᵀ y` with the factors of [`lu_factor`] (`Aᵀ = Uᵀ Lᵀ P`).
fn lu_solve_transposed(lu: &[f64], perm: &[usize], m: usize, y: &mut [f64]) {
    for i in 0..m {
        for k in 0..i {
            y[i] -= lu[k * m + i] * y[k];
        }
        y[i] /= lu[i * m + i];
    }
    for i in (0..m).rev() {
        for k in i + 1..m {
            y[i] -= lu[k * m + i] * y[k];
        }
    }
    let z: Vec<f64> = y.to_vec();
    for (i, &p) in perm.iter().enumerate() {
        y[p] = z[i];
    }
}

/// Solves `min ‖A x − b‖₁` and then `min Σx` at that residual, `0 ≤ x ≤ u`, for a dense
/// row-major `m × n` matrix `a` (`u` finite and ≥ 0, `b` finite).
///
/// Why the two phases give the lexicographic optimum exactly: at phase 1's optimal basis with
/// duals `y` and reduced costs `d = c₁ − Aᵀy` (over all columns, slacks included), every
/// point of the elastic polytope has `c₁ᵀz = yᵀb + Σ_j d_j z_j`; an optimal basis has
/// `d_j ≥ 0` at lower bounds and `≤ 0` at upper bounds, so a point is phase-1 optimal exactly
/// when every `z_j` with `d_j ≠ 0` sits at the bound where it is now. Fixing those columns
/// leaves precisely the phase-1 optimal face, on which phase 2 minimises `Σx` (starting from a
/// basis that is already feasible there).
///
/// Returns `None` when either phase's certificate fails (numerical trouble) or the iteration
/// cap is reached; never a non-finite value.
pub fn solve_elastic(m: usize, n: usize, a: &[f64], b: &[f64], u: &[f64]) -> Option<ElasticSolution> {
    debug_assert!(a.len() == m * n && b.len() == m && u.len() == n);
    BUFFERS.with_borrow_mut(|buf| {
        let mut tab = Tableau::new(m, n, a, b, u, buf);
        let out = solve_on(&mut tab);
        tab.recycle(buf);
        out
    })
}

fn solve_on(tab: &mut Tableau<'_>) -> Option<ElasticSolution> {
    let (m, n) = (tab.m, tab.n);
    let phase1 = |j: usize| f64::from(j >= n);
    if !tab.optimise(phase1) || !tab.certify(phase1) {
        return None;
    }
    for j in 0..tab.width() {
        if tab.state[j] != State::Basic && tab.d[j].abs() > FIX_TOL {
            tab.fixed[j] = true;
        }
    }
    let phase2 = |j: usize| f64::from(j < n);
    if !tab.optimise(phase2) || !tab.certify(phase2) {
        return None;
    }
    let x: Vec<f64> = (0..n).map(|j| tab.value(j).clamp(0.0, tab.upper[j])).collect();
    let (a, b) = (tab.a, tab.b);
    let residual_l1 = (0..m).map(|i| (b[i] - (0..n).map(|j| a[i * n + j] * x[j]).sum::<f64>()).abs()).sum();
    x.iter().all(|v| v.is_finite()).then_some(ElasticSolution { x, residual_l1, iterations: tab.iterations })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(x: &[f64]) -> f64 {
        x.iter().sum()
    }

    #[test]
    fn one_row_matches_the_closed_form() {
        // h+ - h- = q, sizes 4 and 2.
        let a = [1.0, -1.0];
        for (q, want, l1) in [(0.3, 0.3, 0.0), (-0.3, 0.3, 0.0), (5.0, 4.0, 1.0), (-3.0, 2.0, 1.0), (0.0, 0.0, 0.0)] {
            let s = solve_elastic(1, 2, &a, &[q], &[4.0, 2.0]).unwrap();
            assert!((sum(&s.x) - want).abs() < 1e-12 && (s.residual_l1 - l1).abs() < 1e-12, "{q}: {s:?}");
        }
    }

    #[test]
    fn contradicting_rows_get_the_least_residual_then_the_least_mass() {
        // x = 0.2 and x = 0.6: least |x - 0.2| + |x - 0.6| = 0.4 for any x in [0.2, 0.6];
        // least mass there: x = 0.2.
        let s = solve_elastic(2, 1, &[1.0, 1.0], &[0.2, 0.6], &[10.0]).unwrap();
        assert!((s.residual_l1 - 0.4).abs() < 1e-12 && (s.x[0] - 0.2).abs() < 1e-12, "{s:?}");
    }

    #[test]
    fn a_feasible_system_meets_every_row() {
        // Rows: x0 - x1 = 0.5, x1 + x2 = 1, x0 + x2 - x3 = 0.25; bounds 3 each.
        #[rustfmt::skip]
        let a = [1.0, -1.0, 0.0, 0.0,
                 0.0, 1.0, 1.0, 0.0,
                 1.0, 0.0, 1.0, -1.0];
        let b = [0.5, 1.0, 0.25];
        let s = solve_elastic(3, 4, &a, &b, &[3.0; 4]).unwrap();
        assert!(s.residual_l1 < 1e-12);
        for i in 0..3 {
            let r: f64 = (0..4).map(|j| a[i * 4 + j] * s.x[j]).sum();
            assert!((r - b[i]).abs() < 1e-12);
        }
        // By hand: x1 = t, x0 = 0.5 + t, x2 = 1 - t, x3 = x0 + x2 - 0.25 = 1.25, so the sum is
        // 2.75 + t, least at t = 0.
        assert!((sum(&s.x) - 2.75).abs() < 1e-12, "{s:?}");
    }

    #[test]
    fn degenerate_and_tied_systems_terminate() {
        // Many identical rows (degenerate bases), zero right-hand sides and ties in every ratio.
        let m = 6;
        let n = 4;
        let a: Vec<f64> = (0..m * n).map(|k| if (k % n + k / n) % 2 == 0 { 1.0 } else { -1.0 }).collect();
        for b in [vec![0.0; m], vec![1.0; m], (0..m).map(|i| (i % 2) as f64).collect()] {
            let s = solve_elastic(m, n, &a, &b, &[1.0; 4]).unwrap();
            assert!(s.x.iter().all(|v| (0.0..=1.0).contains(v)));
        }
    }

    #[test]
    fn the_certificate_rejects_a_basis_that_is_not_optimal() {
        // x0 + x1 = 1 (bounds 1): the all-slack start (r+ = 1) is feasible but not optimal for
        // phase 1, and the check must say so; after optimising it passes.
        let (a, b, u) = ([1.0, 1.0], [1.0], [1.0, 1.0]);
        let mut buf = Buffers::default();
        let mut tab = Tableau::new(1, 2, &a, &b, &u, &mut buf);
        let phase1 = |j: usize| f64::from(j >= 2);
        assert!(!tab.certify(phase1));
        assert!(tab.optimise(phase1) && tab.certify(phase1));
        // A basis value pushed outside its bounds fails the primal check.
        tab.state[0] = State::Upper;
        tab.state[1] = State::Upper;
        assert!(!tab.certify(phase1));
    }
}
