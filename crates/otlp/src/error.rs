use thiserror::Error;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why an OTLP export cannot be accepted at all. Problems with single metrics or data points are
/// not errors: those points are dropped and counted (see [`crate::Translated`]). The HTTP layer
/// decides the status code: `UnsupportedContentType` is "unsupported media type", `TooLarge` and
/// `TooManyPoints` are "payload too large", the rest are "bad request".
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    #[error("unsupported content type {0:?}: expected application/x-protobuf or application/json")]
    UnsupportedContentType(String),
    #[error("invalid protobuf body: {0}")]
    Protobuf(String),
    #[error("invalid JSON body: {0}")]
    Json(String),
    #[error(
        "resource {resource} scope {scope} metric {metric} {name:?}: more than one of gauge, sum, \
         histogram, exponentialHistogram and summary is set"
    )]
    ConflictingData {
        resource: usize,
        scope: usize,
        metric: usize,
        name: String,
    },
    #[error("request translates to {bytes} bytes of series labels, over the limit of {limit}")]
    TooLarge { bytes: usize, limit: usize },
    #[error("request holds {points} data points, more than can be numbered")]
    TooManyPoints { points: u64 },
}
