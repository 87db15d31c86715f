//! Why a histogram operation was refused. The texts follow Prometheus's `model/histogram` errors word
//! for word (including their `side: detail: cause` nesting), so messages surfaced through the API read
//! the same as Prometheus's.

use std::fmt;

use thiserror::Error;

use super::format::{go_f, go_g};

/// Which part of a histogram an error is about; rendered as the prefix Prometheus puts before the
/// cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Positive,
    Negative,
    CustomBuckets,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Part::Positive => "positive side",
            Part::Negative => "negative side",
            Part::CustomBuckets => "custom buckets",
        })
    }
}

/// A histogram that is malformed for the requested operation, or two histograms that cannot be
/// combined.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum HistogramError {
    /// One histogram uses exponential buckets, the other custom buckets.
    #[error("cannot apply this operation on histograms with a mix of exponential and custom bucket schemas")]
    IncompatibleSchema,
    #[error(
        "histogram has an invalid schema, which must be between -4 and 8 for exponential buckets, or -53 for custom buckets, got schema {0}"
    )]
    InvalidSchema(i32),
    /// An error about one side (or the custom buckets) of a histogram.
    #[error("{0}: {1}")]
    In(Part, Box<HistogramError>),
    /// `span` counts from 1, as in Prometheus's message.
    #[error("span number {span} with offset {offset}: histogram has a span whose offset is negative")]
    SpanNegativeOffset { span: usize, offset: i32 },
    #[error(
        "spans need {need} buckets, have {have} buckets: histogram spans specify different number of buckets than provided"
    )]
    SpansBucketsMismatch { need: usize, have: usize },
    #[error(
        "have {have} buckets but spans need more: histogram spans specify different number of buckets than provided"
    )]
    TooFewBuckets { have: usize },
    /// `bucket` counts from 1.
    #[error(
        "bucket number {bucket} has observation count of {}: histogram has a bucket whose observation count is negative",
        go_g(*.count)
    )]
    NegativeBucketCount { bucket: usize, count: f64 },
    #[error(
        "zero bucket has observation count of {}: histogram has a bucket whose observation count is negative",
        go_g(*.0)
    )]
    NegativeZeroCount(f64),
    // The double space is Prometheus's.
    #[error("observation count is  {}: histogram's observation count is negative", go_g(*.0))]
    NegativeCount(f64),
    #[error("histogram custom bounds must not be NaN")]
    CustomBoundNaN,
    #[error(
        "previous bound is {} and current is {}: histogram custom bounds must be in strictly increasing order",
        go_f(*.previous),
        go_f(*.current)
    )]
    CustomBoundsNotIncreasing { previous: f64, current: f64 },
    #[error("last +Inf bound must not be explicitly defined: histogram custom bounds must be finite")]
    CustomBoundInfinite,
    #[error(
        "only {bounds} custom bounds defined which is insufficient to cover total span length of {span_length}: histogram custom bounds are too few"
    )]
    TooFewCustomBounds { bounds: usize, span_length: usize },
    #[error("custom buckets: must have zero count of 0")]
    CustomBucketsZeroCount,
    #[error("custom buckets: must have zero threshold of 0")]
    CustomBucketsZeroThreshold,
    #[error("custom buckets: must not have negative spans")]
    CustomBucketsNegativeSpans,
    #[error("custom buckets: must not have negative buckets")]
    CustomBucketsNegativeBuckets,
    #[error("histogram with exponential schema must not have custom bounds")]
    ExponentialWithCustomBounds,
    #[error("cannot reduce resolution when there are custom buckets")]
    ReduceCustomBuckets,
    #[error("cannot reduce resolution to custom buckets schema")]
    ReduceToCustomBuckets,
    #[error("cannot reduce resolution from schema {from} to {to}")]
    ReduceToHigherSchema { from: i32, to: i32 },
}

impl HistogramError {
    pub(crate) fn within(self, part: Part) -> Self {
        HistogramError::In(part, Box::new(self))
    }
}
