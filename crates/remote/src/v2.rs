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

/// A native histogram sample, integer or float; same wire layout as [`crate::v1::Histogram`].
#[derive(Clone, PartialEq, prost::Message)]
pub struct Histogram {
    #[prost(oneof = "histogram::Count", tags = "1, 2")]
    pub count: Option<histogram::Count>,
    #[prost(double, tag = "3")]
    pub sum: f64,
    /// -4..=8 for exponential buckets, -53 for custom bucket bounds (see `custom_values`).
    #[prost(sint32, tag = "4")]
    pub schema: i32,
    #[prost(double, tag = "5")]
    pub zero_threshold: f64,
    #[prost(oneof = "histogram::ZeroCount", tags = "6, 7")]
    pub zero_count: Option<histogram::ZeroCount>,
    #[prost(message, repeated, tag = "8")]
    pub negative_spans: Vec<BucketSpan>,
    /// Each bucket's count as a delta to the previous bucket (the first to zero).
    #[prost(sint64, repeated, tag = "9")]
    pub negative_deltas: Vec<i64>,
    /// Absolute bucket counts, for float histograms.
    #[prost(double, repeated, tag = "10")]
    pub negative_counts: Vec<f64>,
    #[prost(message, repeated, tag = "11")]
    pub positive_spans: Vec<BucketSpan>,
    #[prost(sint64, repeated, tag = "12")]
    pub positive_deltas: Vec<i64>,
    #[prost(double, repeated, tag = "13")]
    pub positive_counts: Vec<f64>,
    #[prost(enumeration = "histogram::ResetHint", tag = "14")]
    pub reset_hint: i32,
    /// Milliseconds since the Unix epoch.
    #[prost(int64, tag = "15")]
    pub timestamp: i64,
    /// Upper bounds of custom buckets when `schema` is -53.
    #[prost(double, repeated, tag = "16")]
    pub custom_values: Vec<f64>,
}

pub mod histogram {
    //! Nested types of [`Histogram`](super::Histogram).

    #[derive(Clone, Copy, PartialEq, prost::Oneof)]
    pub enum Count {
        #[prost(uint64, tag = "1")]
        CountInt(u64),
        #[prost(double, tag = "2")]
        CountFloat(f64),
    }

    #[derive(Clone, Copy, PartialEq, prost::Oneof)]
    pub enum ZeroCount {
        #[prost(uint64, tag = "6")]
        ZeroCountInt(u64),
        #[prost(double, tag = "7")]
        ZeroCountFloat(f64),
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum ResetHint {
        /// A counter reset has to be detected by comparing with the previous histogram.
        Unspecified = 0,
        Yes = 1,
        No = 2,
        /// A gauge histogram, where counter resets do not apply.
        Gauge = 3,
    }
}

/// A run of `length` consecutive buckets starting `offset` buckets after the previous run (or
/// at index `offset` for the first run).
#[derive(Clone, Copy, PartialEq, Eq, Hash, prost::Message)]
pub struct BucketSpan {
    #[prost(sint32, tag = "1")]
    pub offset: i32,
    #[prost(uint32, tag = "2")]
    pub length: u32,
}
