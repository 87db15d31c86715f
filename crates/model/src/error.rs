use thiserror::Error;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a label set is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    #[error("missing metric name")]
    MissingMetricName,
    #[error("empty label name")]
    EmptyLabelName,
    #[error("duplicate label name {0:?}")]
    DuplicateLabel(String),
    #[error("label name {name:?} is {len} bytes long, over the limit of {limit}")]
    NameTooLong { name: String, len: usize, limit: usize },
    #[error("value of label {name:?} is {len} bytes long, over the limit of {limit}")]
    ValueTooLong { name: String, len: usize, limit: usize },
    #[error("series {series} has {count} labels, over the limit of {limit}")]
    TooManyLabels {
        series: String,
        count: usize,
        limit: usize,
    },
}
