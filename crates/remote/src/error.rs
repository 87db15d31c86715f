use thiserror::Error;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a remote-write request cannot be accepted. The HTTP layer decides the status code: the
/// first two are "unsupported media type", `TooLarge` is "payload too large", the rest are
/// "bad request".
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    #[error(
        "unsupported content type {0:?}: expected application/x-protobuf, optionally with \
         proto=prometheus.WriteRequest or proto=io.prometheus.write.v2.Request"
    )]
    UnsupportedContentType(String),
    #[error("unsupported content encoding {0:?}: only snappy is accepted")]
    UnsupportedEncoding(String),
    #[error("snappy body declares {decoded} decoded bytes, over the limit of {limit}")]
    TooLarge { decoded: u64, limit: u64 },
    #[error("invalid snappy body: {0}")]
    Snappy(String),
    #[error("invalid protobuf body: {0}")]
    Decode(String),
    #[error("series {series} has an odd number of label refs ({len})")]
    OddLabelRefs { series: usize, len: usize },
    #[error("series {series} has label ref {reference}, out of range for {symbols} symbols")]
    SymbolOutOfRange {
        series: usize,
        reference: u32,
        symbols: usize,
    },
}
