//! Prometheus remote-write 1.0 and 2.0 bodies: header negotiation, snappy block framing, the
//! protobuf messages, and a flat per-series view of a decoded request for the store.
//! No IO and no HTTP types: callers pass header values in as strings and get bytes and errors back.

mod codec;
mod error;
pub mod v1;
pub mod v2;
mod view;

pub use codec::{
    Counts, OwnedSeries, Request, Version, build_v2, build_v2_from, check_content_encoding, compress,
    decode_body, decompress, encode_v1, encode_v2, version_from_content_type,
};
pub use error::{Error, Result};
pub use view::walk;

/// The media type of both protocol versions; the `proto` parameter tells them apart.
pub const MEDIA_TYPE: &str = "application/x-protobuf";
/// Value of the `proto` content-type parameter for 1.0.
pub const PROTO_V1: &str = "prometheus.WriteRequest";
/// Value of the `proto` content-type parameter for 2.0.
pub const PROTO_V2: &str = "io.prometheus.write.v2.Request";
/// What a 1.0 sender puts in Content-Type. The bare media type, as Prometheus sends it, because
/// 1.0 receivers that predate the `proto` parameter may reject it.
pub const CONTENT_TYPE_V1: &str = "application/x-protobuf";
/// What a 2.0 sender puts in Content-Type.
pub const CONTENT_TYPE_V2: &str = "application/x-protobuf;proto=io.prometheus.write.v2.Request";
/// The only Content-Encoding either version allows (snappy *block* format, not framed).
pub const CONTENT_ENCODING: &str = "snappy";

/// Request header a sender sets to the protocol version it speaks.
pub const VERSION_HEADER: &str = "X-Prometheus-Remote-Write-Version";
/// [`VERSION_HEADER`] value for 1.0.
pub const VERSION_V1: &str = "0.1.0";
/// [`VERSION_HEADER`] value for 2.0.
pub const VERSION_V2: &str = "2.0.0";

/// 2.0 response header: float samples written. A 2.0 receiver sends all three, zeros included.
pub const WRITTEN_SAMPLES_HEADER: &str = "X-Prometheus-Remote-Write-Samples-Written";
/// 2.0 response header: native histogram samples written.
pub const WRITTEN_HISTOGRAMS_HEADER: &str = "X-Prometheus-Remote-Write-Histograms-Written";
/// 2.0 response header: exemplars written.
pub const WRITTEN_EXEMPLARS_HEADER: &str = "X-Prometheus-Remote-Write-Exemplars-Written";
