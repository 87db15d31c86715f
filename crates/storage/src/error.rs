use thiserror::Error;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Error)]
pub enum Error {
    #[error("invalid regular expression {expr:?} in matcher for label {label:?}: {reason}")]
    InvalidRegex {
        label: String,
        expr: String,
        reason: String,
    },
    #[error("{0}")]
    LimitExceeded(String),
    #[error("storage: {0}")]
    Backend(String),
}
