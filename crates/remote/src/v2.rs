//! Remote-write 2.0 messages (`io.prometheus.write.v2.Request`), written by hand to match
//! Prometheus's `prompb/io/prometheus/write/v2/types.proto` field for field and tag for tag.
//!
//! Strings travel once, in `Request::symbols`; everything else refers to them by index. Resolving
//! and checking those indices is [`crate::Request::for_each_series`]'s job, not these types'.

/// The whole body of a 2.0 write. Tags 1 to 3 are reserved so that a 1.0 body decoded as 2.0 (or
/// the reverse) comes out empty instead of as garbage.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Request {
    /// Every string the request uses; by the spec the first is always `""`.
    #[prost(string, repeated, tag = "4")]
    pub symbols: Vec<String>,
    #[prost(message, repeated, tag = "5")]
    pub timeseries: Vec<TimeSeries>,
}

/// One series. A series may appear more than once in a request (for example to carry different
/// exemplars or metadata).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    /// Name/value pairs of indices into `Request::symbols`; always an even number of them.
    #[prost(uint32, repeated, tag = "1")]
    pub labels_refs: Vec<u32>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
    #[prost(message, repeated, tag = "3")]
    pub histograms: Vec<Histogram>,
    #[prost(message, repeated, tag = "4")]
    pub exemplars: Vec<Exemplar>,
    #[prost(message, optional, tag = "5")]
    pub metadata: Option<Metadata>,
    /// When the counter started counting, in milliseconds; zero means unset.
    #[prost(int64, tag = "6")]
    pub created_timestamp: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Exemplar {
    /// Name/value pairs of indices into `Request::symbols`.
    #[prost(uint32, repeated, tag = "1")]
    pub labels_refs: Vec<u32>,
    #[prost(double, tag = "2")]
    pub value: f64,
    /// Milliseconds; zero means unset.
    #[prost(int64, tag = "3")]
    pub timestamp: i64,
}

/// A float sample; `timestamp` is in milliseconds since the Unix epoch.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Sample {
    #[prost(double, tag = "1")]
    pub value: f64,
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// Metadata carried with each series. Tag 2 is unused in the upstream definition.
#[derive(Clone, Copy, PartialEq, Eq, Hash, prost::Message)]
pub struct Metadata {
    #[prost(enumeration = "metadata::MetricType", tag = "1")]
    pub r#type: i32,
    /// Index into `Request::symbols`; points at `""` when there is no help text.
    #[prost(uint32, tag = "3")]
    pub help_ref: u32,
    /// Index into `Request::symbols`; points at `""` when there is no unit.
    #[prost(uint32, tag = "4")]
    pub unit_ref: u32,
}

pub mod metadata {
    //! Nested types of [`Metadata`](super::Metadata).

    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum MetricType {
        Unspecified = 0,
        Counter = 1,
        Gauge = 2,
        Histogram = 3,
        Gaugehistogram = 4,
        Summary = 5,
        Info = 6,
        Stateset = 7,
    }
}

/// Native histograms and their bucket spans have the same wire layout in both versions (field 0 of
/// the reset hint is named `UNSPECIFIED` in 2.0's proto, `UNKNOWN` in 1.0's).
pub use crate::v1::{BucketSpan, Histogram, histogram};
