//! Errors, one enum per area, each message naming the field and the bad value.
//!
//! Every public entry point validates its whole job before any work starts, so a
//! caller gets the first problem with the input as a typed value, never a panic.

use std::path::PathBuf;

/// Bad input: a job, a market, a product or a portfolio that cannot be simulated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InputError {
    /// A number that is NaN, infinite, or outside the range its field allows.
    #[error("invalid {field} = {value}: {reason}")]
    Invalid {
        /// The field, e.g. `spot` or `assets[2].sigma`.
        field: String,
        /// The value as given.
        value: String,
        /// What the field allows.
        reason: String,
    },
    /// A name that is not one of the accepted choices.
    #[error("unknown {field} '{value}' (expected one of: {expected})")]
    Unknown {
        /// The field.
        field: String,
        /// The name as given.
        value: String,
        /// The accepted names.
        expected: String,
    },
    /// Sizes that must agree do not.
    #[error("dimension mismatch in {field}: expected {expected}, found {found}")]
    Dimension {
        /// The field.
        field: String,
        /// The size it must have.
        expected: usize,
        /// The size it has.
        found: usize,
    },
    /// The correlation matrix is not a valid correlation matrix.
    #[error("invalid correlation matrix: {0}")]
    Correlation(String),
    /// Inputs that are each in range but whose result overflows (or
    /// underflows to meaninglessness) in f64 arithmetic.
    #[error(
        "{quantity} = {value} is not a finite number: the inputs overflow f64 arithmetic ({inputs})"
    )]
    Overflow {
        /// What came out non-finite, e.g. `price`.
        quantity: String,
        /// Its value.
        value: String,
        /// The inputs that produced it.
        inputs: String,
    },
    /// The portfolio file could not be read.
    #[error("cannot read portfolio file {path}: {message}")]
    PortfolioRead {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The portfolio file is not the JSON the format asks for.
    #[error("malformed portfolio file {path}: {message}")]
    PortfolioFormat {
        /// The file.
        path: PathBuf,
        /// Where and why.
        message: String,
    },
    /// The assets file of a basket could not be read or is not the JSON
    /// the format asks for.
    #[error("bad assets file {path}: {message}")]
    AssetsFile {
        /// The file.
        path: PathBuf,
        /// Where and why.
        message: String,
    },
    /// The price file could not be read.
    #[error("cannot read price file {path}: {message}")]
    PricesRead {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The price file is not a usable price history.
    #[error("bad price file {path}: {message}")]
    PricesFormat {
        /// The file.
        path: PathBuf,
        /// The row and column, and why.
        message: String,
    },
}

impl InputError {
    /// A value outside its allowed range; `value` is shown with `Debug`, so NaN and
    /// infinities print as themselves.
    pub fn invalid(field: impl Into<String>, value: impl std::fmt::Debug, reason: &str) -> Self {
        InputError::Invalid {
            field: field.into(),
            value: format!("{value:?}"),
            reason: reason.to_string(),
        }
    }
}

/// A compute tier that cannot run this job here.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BackendError {
    /// The tier exists in the API but is not available in this build or release.
    #[error("backend '{backend}' is not available: {reason}")]
    Unavailable {
        /// The tier.
        backend: &'static str,
        /// Why.
        reason: String,
    },
    /// The tier was compiled out with a cargo feature.
    #[error("backend '{backend}' is not compiled in (rebuild with `--features {feature}`)")]
    NotCompiledWith {
        /// The tier.
        backend: &'static str,
        /// The cargo feature that builds it.
        feature: &'static str,
    },
    /// The tier started but failed while running the job.
    #[error("backend '{backend}' failed: {reason}")]
    Failed {
        /// The tier (or `memory` for the host's).
        backend: &'static str,
        /// What failed.
        reason: String,
    },
}

/// Any error the library returns.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// Bad input.
    #[error(transparent)]
    Input(#[from] InputError),
    /// A tier that cannot run.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The caller cancelled the run ([`crate::control::Control::cancel`]).
    #[error("the run was cancelled")]
    Cancelled,
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Checks that `value` is finite, naming `field` otherwise.
pub(crate) fn finite(field: &str, value: f64) -> Result<f64, InputError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(InputError::invalid(field, value, "must be a finite number"))
    }
}

/// Checks that `value` lies in `[low, high]`.
pub(crate) fn within(field: &str, value: f64, low: f64, high: f64) -> Result<f64, InputError> {
    finite(field, value)?;
    if (low..=high).contains(&value) {
        Ok(value)
    } else {
        let show = |x: f64| {
            if x == 0.0 || (1e-4..=1e6).contains(&x.abs()) {
                format!("{x}")
            } else {
                format!("{x:e}")
            }
        };
        Err(InputError::invalid(
            field,
            value,
            &format!("must lie between {} and {}", show(low), show(high)),
        ))
    }
}

/// Checks that `value` is finite and strictly positive.
pub(crate) fn positive(field: &str, value: f64) -> Result<f64, InputError> {
    finite(field, value)?;
    if value > 0.0 {
        Ok(value)
    } else {
        Err(InputError::invalid(field, value, "must be greater than 0"))
    }
}

/// Checks that a probability-like level lies strictly inside (0, 1).
pub(crate) fn open_unit(field: &str, value: f64) -> Result<f64, InputError> {
    finite(field, value)?;
    if value > 0.0 && value < 1.0 {
        Ok(value)
    } else {
        Err(InputError::invalid(
            field,
            value,
            "must lie strictly between 0 and 1",
        ))
    }
}

/// `NAMES`, `name()`, `FromStr` (an unknown name is an [`InputError::Unknown`]
/// naming the field) and `Display` for an enum of named choices.
macro_rules! named_choices {
    ($ty:ty, $field:literal, [$($variant:path => $name:literal),+ $(,)?]) => {
        impl $ty {
            /// The names the CLI and JSON accept, in order.
            pub const NAMES: &'static [&'static str] = &[$($name),+];

            /// The name the CLI and JSON use.
            pub fn name(self) -> &'static str {
                match self { $($variant => $name),+ }
            }
        }

        impl std::str::FromStr for $ty {
            type Err = $crate::error::InputError;
            fn from_str(text: &str) -> Result<Self, $crate::error::InputError> {
                match text {
                    $($name => Ok($variant),)+
                    other => Err($crate::error::InputError::Unknown {
                        field: $field.to_string(),
                        value: other.to_string(),
                        expected: Self::NAMES.join(", "),
                    }),
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}
pub(crate) use named_choices;
