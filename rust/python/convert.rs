//! Python → core conversions at the binding boundary: choice strings parsed once into core enums
//! ([`Wrap`]), the `PostprocessConfig` dataclass read by attribute into a [`DetectConfig`], and
//! the errors of both as tadfuse's own exception classes.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyString, PyType};

use crate::core::batch::{DetectConfig, Method};
use crate::core::error::CoreError;
use crate::core::extract::ExtractParams;
use crate::core::fusion::{FuseParams, Weight};
use crate::core::nms::{Decay, NmsParams, SoftNmsParams};
use crate::core::overlap::Overlap;
use crate::core::preset::Preset;
use crate::core::template::Template;

/// An exception of class `name` of `tadfuse.errors`, looked up when it is raised (so the
/// extension does not depend on import order), or `fallback` when that module is missing.
fn tadfuse_error(py: Python<'_>, name: &str, msg: String, fallback: fn(String) -> PyErr) -> PyErr {
    let class =
        py.import("tadfuse.errors").and_then(|m| m.getattr(name)).ok().and_then(|c| c.cast_into::<PyType>().ok());
    match class {
        Some(class) => PyErr::from_type(class, msg),
        None => fallback(msg),
    }
}

/// `tadfuse.errors.InvalidArgumentError` (a `ValueError`).
pub(crate) fn invalid_argument(msg: String) -> PyErr {
    Python::attach(|py| tadfuse_error(py, "InvalidArgumentError", msg, PyValueError::new_err))
}

/// `tadfuse.errors.InvalidTypeError` (a `TypeError`).
pub(crate) fn invalid_type(msg: String) -> PyErr {
    Python::attach(|py| tadfuse_error(py, "InvalidTypeError", msg, PyTypeError::new_err))
}

/// Core errors become `InvalidArgumentError`s whose message starts with the argument's name.
pub(crate) fn value_error(e: CoreError) -> PyErr {
    invalid_argument(e.to_string())
}

/// A core value parsed from Python at the binding boundary.
pub(crate) struct Wrap<T>(pub T);

/// A closed set of names, each standing for one value.
pub(crate) trait Choice: Sized + Copy + 'static {
    /// The argument (or config field) this is the value of, for messages.
    const ARG: &'static str;
    const CHOICES: &'static [(&'static str, Self)];
}

impl<'a, 'py, T: Choice> FromPyObject<'a, 'py> for Wrap<T> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let names = || T::CHOICES.iter().map(|(n, _)| format!("{n:?}")).collect::<Vec<_>>().join(", ");
        let Ok(s) = obj.cast::<PyString>() else {
            return Err(invalid_type(format!("`{}` must be a str, one of {}", T::ARG, names())));
        };
        let name = s.to_str()?;
        match T::CHOICES.iter().find(|(n, _)| *n == name) {
            Some(&(_, v)) => Ok(Wrap(v)),
            None => Err(invalid_argument(format!("`{}`: unknown value {name:?}; choose one of {}", T::ARG, names()))),
        }
    }
}

impl Choice for Overlap {
    const ARG: &'static str = "overlap";
    const CHOICES: &'static [(&'static str, Self)] = &[("coverage", Overlap::Coverage), ("iou", Overlap::Iou)];
}

impl Choice for Weight {
    const ARG: &'static str = "weight";
    const CHOICES: &'static [(&'static str, Self)] = &[("inner", Weight::Inner), ("score", Weight::Score)];
}

/// `preset`: "official", "paper" or "rskp" (the paper's `alpha` is a separate argument). W rows
/// refuse "rskp" in the core (`Preset::validate_w_rule`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum PresetName {
    Official,
    Paper,
    Rskp,
}

impl Choice for PresetName {
    const ARG: &'static str = "preset";
    const CHOICES: &'static [(&'static str, Self)] =
        &[("official", PresetName::Official), ("paper", PresetName::Paper), ("rskp", PresetName::Rskp)];
}

impl PresetName {
    pub(crate) fn with(self, alpha: f64) -> Preset {
        match self {
            PresetName::Official => Preset::Official,
            PresetName::Paper => Preset::Paper { alpha },
            PresetName::Rskp => Preset::Rskp,
        }
    }
}

/// `template`: the Student-t's `dof` is a separate argument.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum TemplateName {
    Gaussian,
    Laplace,
    Uniform,
    StudentT,
}

impl Choice for TemplateName {
    const ARG: &'static str = "template";
    const CHOICES: &'static [(&'static str, Self)] = &[
        ("gaussian", TemplateName::Gaussian),
        ("laplace", TemplateName::Laplace),
        ("uniform", TemplateName::Uniform),
        ("student_t", TemplateName::StudentT),
    ];
}

impl TemplateName {
    pub(crate) fn with(self, dof: f64) -> Template {
        match self {
            TemplateName::Gaussian => Template::Gaussian,
            TemplateName::Laplace => Template::Laplace,
            TemplateName::Uniform => Template::Uniform,
            TemplateName::StudentT => Template::StudentT { dof },
        }
    }
}

/// Soft-NMS `method` (`soft_method` of a config): its parameter is `sigma` or `threshold`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum DecayName {
    Gaussian,
    Linear,
}

impl Choice for DecayName {
    const ARG: &'static str = "method";
    const CHOICES: &'static [(&'static str, Self)] =
        &[("gaussian", DecayName::Gaussian), ("linear", DecayName::Linear)];
}

impl DecayName {
    pub(crate) fn with(self, sigma: f64, threshold: f64) -> Decay {
        match self {
            DecayName::Gaussian => Decay::Gaussian { sigma },
            DecayName::Linear => Decay::Linear { threshold },
        }
    }
}

/// A config's `method`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum MethodName {
    Fusion,
    Nms,
    SoftNms,
}

impl Choice for MethodName {
    const ARG: &'static str = "method";
    const CHOICES: &'static [(&'static str, Self)] =
        &[("fusion", MethodName::Fusion), ("nms", MethodName::Nms), ("soft_nms", MethodName::SoftNms)];
}

/// A `tadfuse.PostprocessConfig` (or anything with its attributes) as the core's [`DetectConfig`],
/// read by attribute: the one place its fields are listed on the Rust side.
pub(crate) struct Config(pub DetectConfig);

/// Attribute `name` of `obj` as a `T`; errors name `config.<name>`.
fn field<'py, T>(obj: &Bound<'py, PyAny>, name: &str) -> PyResult<T>
where
    T: for<'a> FromPyObject<'a, 'py>,
    for<'a> <T as FromPyObject<'a, 'py>>::Error: Into<PyErr>,
{
    let py = obj.py();
    let value = obj.getattr(name).map_err(|_| invalid_type(format!("`config` has no field `{name}`")))?;
    value.extract::<T>().map_err(|e| {
        let e: PyErr = e.into();
        let msg = format!("`config.{name}`: {}", e.value(py));
        if e.is_instance_of::<PyValueError>(py) {
            invalid_argument(msg)
        } else {
            invalid_type(msg)
        }
    })
}

impl<'a, 'py> FromPyObject<'a, 'py> for Config {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let obj = obj.to_owned();
        let f64_of = |name: &str| field::<f64>(&obj, name);
        let threshold = f64_of("threshold")?;
        let method = match field::<Wrap<MethodName>>(&obj, "method")?.0 {
            MethodName::Fusion => Method::Fusion(FuseParams {
                temperature: f64_of("temperature")?,
                threshold,
                overlap: field::<Wrap<Overlap>>(&obj, "overlap")?.0,
                weight: field::<Wrap<Weight>>(&obj, "weight")?.0,
                template: field::<Wrap<TemplateName>>(&obj, "template")?.0.with(f64_of("dof")?),
            }),
            MethodName::Nms => {
                Method::Nms(NmsParams { threshold, overlap: field::<Wrap<Overlap>>(&obj, "overlap")?.0 })
            }
            MethodName::SoftNms => Method::SoftNms(SoftNmsParams {
                decay: field::<Wrap<DecayName>>(&obj, "soft_method")?.0.with(f64_of("sigma")?, threshold),
                min_score: f64_of("min_score")?,
                max_out: field::<Option<usize>>(&obj, "max_out")?,
            }),
        };
        Ok(Config(DetectConfig {
            extract: ExtractParams {
                thresholds: field::<Vec<f64>>(&obj, "thresholds")?,
                min_length: field::<usize>(&obj, "min_length")?,
                preset: field::<Wrap<PresetName>>(&obj, "preset")?.0.with(f64_of("alpha")?),
                exact: field::<bool>(&obj, "exact")?,
            },
            class_threshold: f64_of("class_threshold")?,
            method,
        }))
    }
}
