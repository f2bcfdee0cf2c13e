//! Location estimators that turn a weighted group of values into one fused value
//! (the paper's Table 3 templates). `g` are normalised weights (sum 1, all >= 0).

/// The distribution assumed around the true boundary; the fused value is its weighted
/// maximum-likelihood location.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Template {
    /// Weighted mean.
    Gaussian,
    /// Weighted lower median: the smallest value whose cumulative weight reaches 1/2.
    Laplace,
    /// Midrange `(min + max) / 2` (weights only select the group).
    Uniform,
    /// Joint weighted location/scale MLE of a Student-t with `dof` degrees of freedom, by EM
    /// from the weighted mean and variance.
    StudentT { dof: f64 },
}

impl Template {
    /// Fused value of `x` under weights `g` (same length, non-empty). `scratch` is reused.
    /// Always within `[min x, max x]`: rounding may not push a mean outside the group (so a
    /// group of equal values fuses to exactly that value).
    pub fn locate(self, x: &[f64], g: &[f64], scratch: &mut Vec<usize>) -> f64 {
        let clamp = |v: f64| {
            let (lo, hi) = x.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
            v.clamp(lo, hi)
        };
        match self {
            Template::Gaussian => clamp(weighted_mean(x, g)),
            Template::Laplace => weighted_lower_median(x, g, scratch),
            Template::Uniform => {
                let (lo, hi) = x.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
                0.5 * (lo + hi)
            }
            Template::StudentT { dof } => clamp(student_t_location(x, g, dof)),
        }
    }
}

#[inline]
pub fn weighted_mean(x: &[f64], g: &[f64]) -> f64 {
    x.iter().zip(g).map(|(v, w)| v * w).sum()
}

fn weighted_lower_median(x: &[f64], g: &[f64], idx: &mut Vec<usize>) -> f64 {
    idx.clear();
    idx.extend(0..x.len());
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]).then(a.cmp(&b)));
    let mut cum = 0.0;
    for &i in idx.iter() {
        cum += g[i];
        if cum >= 0.5 {
            return x[i];
        }
    }
    // Rounding left the total a hair under 1/2 of itself: the largest value.
    x[idx[idx.len() - 1]]
}

const T_MAX_ITER: usize = 500;

fn student_t_location(x: &[f64], g: &[f64], dof: f64) -> f64 {
    let mut mu = weighted_mean(x, g);
    let mut s2: f64 = x.iter().zip(g).map(|(v, w)| w * (v - mu) * (v - mu)).sum();
    if s2 <= 0.0 {
        return mu;
    }
    // EM: weights u_i from the current (mu, s2); then mu, and s2 about the new mu.
    let mut u = vec![0.0; x.len()];
    for _ in 0..T_MAX_ITER {
        let (mut num, mut den) = (0.0, 0.0);
        for ((v, w), ui) in x.iter().zip(g).zip(u.iter_mut()) {
            let r2 = (v - mu) * (v - mu) / s2;
            *ui = w * (dof + 1.0) / (dof + r2);
            num += *ui * v;
            den += *ui;
        }
        let new_mu = num / den;
        let done = (new_mu - mu).abs() <= 1e-12 * (1.0 + mu.abs());
        mu = new_mu;
        s2 = x.iter().zip(&u).map(|(v, ui)| ui * (v - mu) * (v - mu)).sum();
        if done || s2 <= 0.0 {
            break;
        }
    }
    mu
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_on_a_small_group() {
        let x = [1.0, 2.0, 10.0];
        let g = [0.25, 0.5, 0.25];
        let mut s = vec![];
        assert_eq!(Template::Gaussian.locate(&x, &g, &mut s), 3.75);
        assert_eq!(Template::Laplace.locate(&x, &g, &mut s), 2.0);
        assert_eq!(Template::Uniform.locate(&x, &g, &mut s), 5.5);
        let t = Template::StudentT { dof: 3.0 }.locate(&x, &g, &mut s);
        // Heavy tails pull the location toward the bulk, away from the outlier at 10.
        assert!(t > 1.0 && t < 3.75, "{t}");
    }

    #[test]
    fn equal_values_fuse_to_exactly_that_value() {
        let mut s = vec![];
        let x = [0.3; 3];
        let g = [0.2, 0.5, 0.3];
        assert_eq!(Template::Gaussian.locate(&x, &g, &mut s), 0.3);
    }

    #[test]
    fn student_t_of_identical_values_is_that_value() {
        let mut s = vec![];
        assert_eq!(Template::StudentT { dof: 3.0 }.locate(&[4.0, 4.0], &[0.5, 0.5], &mut s), 4.0);
    }
}
