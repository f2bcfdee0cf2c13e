//! The presets of the method, as the core uses them: how far a run's (or an instance's) outer
//! region reaches (docs/algorithms.md, "Proposal extraction" and "LinPro pseudo labels").

use crate::core::error::{CoreError, Result};

/// `official` (the authors' released code), `paper` (the paper's text) or `rskp` (LeonHLJ/RSKP's
/// released test path; extraction only).
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
    /// RSKP's released extraction (`evaluation/detectionMAP.py`, `getActLoc`): the official
    /// ranges, inner mean and stored end `e+1`, with the outer pad `0.25·n` ([`rskp_pad`]) in
    /// place of `0.0785·n^0.9`, truncated toward zero the same way. RSKP has no LinPro: W rows
    /// refuse it ([`Preset::validate_w_rule`]).
    Rskp,
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

    /// [`Preset::validate`], and the preset must define W rows (`rskp` does not).
    pub fn validate_w_rule(&self) -> Result<()> {
        self.validate()?;
        if *self == Preset::Rskp {
            return Err(CoreError::invalid(
                "preset",
                "\"rskp\" is an extraction preset (RSKP has no LinPro): W rows take \"official\" or \"paper\"",
            ));
        }
        Ok(())
    }

    /// The outer pad of a run of `n` snippets under the presets that pad (`official`, `rskp`);
    /// `None` for `paper`, whose outer width is `int(alpha·n)` with other ranges.
    #[inline]
    pub fn pad(&self, n: f64) -> Option<f64> {
        match self {
            Preset::Official => Some(official_pad(n)),
            Preset::Rskp => Some(rskp_pad(n)),
            Preset::Paper { .. } => None,
        }
    }
}

/// RSKP's outer pad of a run of `n` snippets: `0.25·n` (exact in f64 for any run length).
#[inline]
pub fn rskp_pad(n: f64) -> f64 {
    0.25 * n
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
        assert!(Preset::Rskp.validate().is_ok());
    }

    #[test]
    fn w_rows_refuse_rskp() {
        assert!(Preset::Official.validate_w_rule().is_ok());
        assert!(Preset::Paper { alpha: 0.25 }.validate_w_rule().is_ok());
        assert_eq!(Preset::Paper { alpha: -1.0 }.validate_w_rule().unwrap_err().arg(), "alpha");
        let err = Preset::Rskp.validate_w_rule().unwrap_err();
        assert_eq!(err.arg(), "preset");
        assert!(err.to_string().contains("rskp"));
    }

    #[test]
    fn pads_per_preset() {
        assert_eq!(Preset::Rskp.pad(8.0), Some(2.0));
        assert_eq!(Preset::Rskp.pad(7.0), Some(1.75));
        assert_eq!(Preset::Official.pad(20.0), Some(official_pad(20.0)));
        assert_eq!(Preset::Paper { alpha: 0.25 }.pad(8.0), None);
    }

    #[test]
    fn pad_is_the_released_formula() {
        // n = 20: 0.0785 * 20^0.9 = 1.16358...
        assert!((official_pad(20.0) - 1.163_58).abs() < 1e-5);
        assert_eq!(official_pad(0.0), 0.0);
    }
}
