//! The two presets of the method, as the core uses them: how far a run's (or an instance's)
//! outer region reaches (docs/algorithms.md, "Proposal extraction" and "LinPro pseudo labels").

use crate::core::error::{CoreError, Result};

/// `official` (the authors' released code) or `paper` (the paper's text).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Preset {
    /// The released code: outer pad `0.0785·n^0.9` ([`official_pad`]), truncated toward zero.
    ///
    /// * Extraction of a run `[s, e)`: inner mean over `x[s..=e]` (one snippet past the run),
    ///   outer `[max(0, int(s - pad)), s)` and `[e+1, min(l-1, int(e + pad + 1)))`, stored end
    ///   `e+1`.
    /// * W row of an instance, with `s = int(start)`, `e = int(end)`: outer ranges
    ///   `[max(0, int(s - pad)), s)` and `[e, min(l - 1, int(e + pad + 1)))` (the last snippet
    ///   is never an outer snippet: a quirk kept on purpose).
    Official,
    /// The paper's text: outer width `w = int(alpha·n)` on each side.
    ///
    /// * Extraction: inner mean over the run, outer `[s - w, s)` and `[e, e + w)` clipped to the
    ///   video, stored end `e`.
    /// * W rows: `[max(0, s - w), s)` and `[e, min(l, e + w))`.
    Paper { alpha: f64 },
}

impl Preset {
    pub fn validate(&self) -> Result<()> {
        if let Preset::Paper { alpha } = *self {
            if !(alpha.is_finite() && alpha >= 0.0) {
                return Err(CoreError::invalid("alpha", format!("must be finite and >= 0, got {alpha}")));
            }
        }
        Ok(())
    }
}

/// The released code's outer pad of a run or instance of `n` snippets: `0.0785·n^0.9`.
#[inline]
pub fn official_pad(n: f64) -> f64 {
    0.0785 * n.powf(0.9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_names_alpha() {
        assert!(Preset::Official.validate().is_ok());
        assert!(Preset::Paper { alpha: 0.5 }.validate().is_ok());
        assert_eq!(Preset::Paper { alpha: -1.0 }.validate().unwrap_err().arg(), "alpha");
        assert_eq!(Preset::Paper { alpha: f64::NAN }.validate().unwrap_err().arg(), "alpha");
    }

    #[test]
    fn pad_is_the_released_formula() {
        // n = 20: 0.0785 * 20^0.9 = 1.16358...
        assert!((official_pad(20.0) - 1.163_58).abs() < 1e-5);
        assert_eq!(official_pad(0.0), 0.0);
    }
}
