use std::path::PathBuf;

use thiserror::Error;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Error)]
pub enum Error {
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("corrupt data: {0}")]
    Corrupt(String),
    #[error("write-ahead log is closed")]
    WalClosed,
    #[error("write-ahead log: {0}")]
    Wal(String),
    #[error("{0}")]
    Invalid(String),
    /// A read would return more samples than its caller allowed.
    #[error("sample limit exceeded")]
    LimitExceeded,
}

impl Error {
    pub fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { op, path, source }
    }
}

/// Why one sample was not stored. Named as Prometheus names them, since clients match on the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    OutOfOrder,
    TooOld,
    Duplicate,
    SeriesLimit,
}

impl Rejection {
    pub fn message(self) -> &'static str {
        match self {
            Rejection::OutOfOrder => "out of order sample",
            Rejection::TooOld => "too old sample",
            Rejection::Duplicate => "duplicate sample for timestamp",
            Rejection::SeriesLimit => "series limit reached",
        }
    }

    /// Label value for the rejected-samples counter.
    pub fn reason(self) -> &'static str {
        match self {
            Rejection::OutOfOrder => "out_of_order",
            Rejection::TooOld => "too_old",
            Rejection::Duplicate => "duplicate",
            Rejection::SeriesLimit => "series_limit",
        }
    }
}
