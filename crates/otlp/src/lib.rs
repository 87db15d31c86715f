//! OTLP/HTTP metrics ingestion without the HTTP: decoding `ExportMetricsServiceRequest` bodies in
//! protobuf or OTLP/JSON, translating them to Prometheus series the way Prometheus 3's
//! `/api/v1/otlp/v1/metrics` does by default (plus delta-to-cumulative conversion, with the running
//! totals in a [`DeltaState`] the caller owns), and encoding the response and error bodies.
//! No IO, no HTTP types and no knowledge of storage: callers pass header values in as strings and
//! get series, counts and bytes back.

mod delta;
mod error;
mod json;
pub mod naming;
pub mod proto;
mod translate;

use prost::Message;

pub use delta::DeltaState;
pub use error::{Error, Result};
pub use translate::{DropReason, Options, TARGET_INFO_POINT, Translated, translate};

/// The two OTLP/HTTP body encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    Protobuf,
    Json,
}

pub const CONTENT_TYPE_PROTOBUF: &str = "application/x-protobuf";
pub const CONTENT_TYPE_JSON: &str = "application/json";

impl Encoding {
    /// The encoding named by a Content-Type header. Parameters (`; charset=utf-8`) are ignored
    /// and the media type is compared without regard to case.
    pub fn from_content_type(ct: Option<&str>) -> Result<Self> {
        let header = ct.unwrap_or("");
        let media = header.split(';').next().unwrap_or("").trim();
        if media.eq_ignore_ascii_case(CONTENT_TYPE_PROTOBUF) {
            Ok(Encoding::Protobuf)
        } else if media.eq_ignore_ascii_case(CONTENT_TYPE_JSON) {
            Ok(Encoding::Json)
        } else {
            Err(Error::UnsupportedContentType(header.to_owned()))
        }
    }

    /// The Content-Type of a body in this encoding (responses answer in the request's).
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => CONTENT_TYPE_PROTOBUF,
            Encoding::Json => CONTENT_TYPE_JSON,
        }
    }
}

/// Decodes a request body (already decompressed).
pub fn decode(encoding: Encoding, body: &[u8]) -> Result<proto::ExportMetricsServiceRequest> {
    match encoding {
        Encoding::Protobuf => decode_protobuf(body),
        Encoding::Json => decode_json(body),
    }
}

pub fn decode_protobuf(body: &[u8]) -> Result<proto::ExportMetricsServiceRequest> {
    proto::ExportMetricsServiceRequest::decode(body).map_err(|e| Error::Protobuf(e.to_string()))
}

pub fn decode_json(body: &[u8]) -> Result<proto::ExportMetricsServiceRequest> {
    json::decode(body)
}

/// The success answer: `rejected` data points refused, with `message` saying why. Without
/// rejections and message the response is empty (full success).
pub fn encode_response(encoding: Encoding, rejected: u64, message: &str) -> Vec<u8> {
    let resp = proto::ExportMetricsServiceResponse {
        partial_success: (rejected > 0 || !message.is_empty()).then(|| proto::ExportMetricsPartialSuccess {
            rejected_data_points: i64::try_from(rejected).unwrap_or(i64::MAX),
            error_message: message.to_owned(),
        }),
    };
    match encoding {
        Encoding::Protobuf => resp.encode_to_vec(),
        Encoding::Json => json::encode_response(&resp),
    }
}

/// `google.rpc.Code` values used in error bodies.
pub mod code {
    pub const INVALID_ARGUMENT: i32 = 3;
    pub const RESOURCE_EXHAUSTED: i32 = 8;
    pub const INTERNAL: i32 = 13;
    pub const UNAVAILABLE: i32 = 14;
}

/// An error answer body: a `google.rpc.Status` with a [`code`] and a message.
pub fn encode_status(encoding: Encoding, code: i32, message: &str) -> Vec<u8> {
    let status = proto::Status {
        code,
        message: message.to_owned(),
    };
    match encoding {
        Encoding::Protobuf => status.encode_to_vec(),
        Encoding::Json => json::encode_status(&status),
    }
}

#[cfg(test)]
mod tests;
