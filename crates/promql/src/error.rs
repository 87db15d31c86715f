use std::fmt;

/// Why a query failed. The HTTP layer maps each kind to Prometheus's `errorType` and status.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// The query text or a parameter is invalid (`bad_data`, 400).
    BadData(String),
    /// Evaluation failed (`execution`, 422): duplicate series, too many samples, bad parameter values.
    Execution(String),
    /// The query ran past its timeout (`timeout`, 503).
    Timeout(String),
    /// The query was cancelled by its caller (`canceled`, 499).
    Canceled,
    /// The store failed (`internal`, 500).
    Storage(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadData(m) | Error::Execution(m) | Error::Storage(m) => f.write_str(m),
            Error::Timeout(m) => write!(f, "query timed out in {m}"),
            Error::Canceled => f.write_str("query was canceled"),
        }
    }
}

impl std::error::Error for Error {}

impl From<storage::Error> for Error {
    fn from(e: storage::Error) -> Self {
        Error::Storage(e.to_string())
    }
}

pub(crate) fn exec(msg: impl Into<String>) -> Error {
    Error::Execution(msg.into())
}
