//! The one error type of the core: every variant names the offending argument.

use std::fmt;

/// Invalid input to a core function. The bindings turn it into a Python `ValueError`.
#[derive(Debug, Clone, PartialEq)]
pub enum CoreError {
    /// `arg` failed a check; `msg` says which and why.
    Invalid { arg: String, msg: String },
}

impl CoreError {
    pub fn invalid(arg: impl Into<String>, msg: impl Into<String>) -> Self {
        CoreError::Invalid { arg: arg.into(), msg: msg.into() }
    }

    /// The name of the offending argument.
    pub fn arg(&self) -> &str {
        match self {
            CoreError::Invalid { arg, .. } => arg,
        }
    }

    /// The same error for element `index` of a batch argument (`cas` -> `cas[3]`).
    pub fn at(self, index: usize) -> Self {
        match self {
            CoreError::Invalid { arg, msg } => CoreError::Invalid { arg: format!("{arg}[{index}]"), msg },
        }
    }
}

impl fmt::Display for CoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CoreError::Invalid { arg, msg } => write!(f, "`{arg}`: {msg}"),
        }
    }
}

impl std::error::Error for CoreError {}

pub type Result<T> = std::result::Result<T, CoreError>;
