//! The one error type of the core: every variant names the offending argument.

use std::fmt;

/// Invalid input to a core function. The bindings turn it into a Python `ValueError`.
#[derive(Debug, Clone, PartialEq)]
pub enum CoreError {
    /// `arg` failed a check; `msg` says which and why.
    Invalid { arg: &'static str, msg: String },
}

impl CoreError {
    pub fn invalid(arg: &'static str, msg: impl Into<String>) -> Self {
        CoreError::Invalid { arg, msg: msg.into() }
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
