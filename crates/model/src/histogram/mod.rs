//! Native histograms as the query engine sees them: sparse exponential buckets (schema −4..=8) or
//! custom bucket bounds (schema −53), counts as floats. Semantics follow Prometheus's
//! `model/histogram.FloatHistogram`, so PromQL answers agree bucket for bucket.

mod bounds;
mod error;
mod format;
mod iter;
mod notation;
mod ops;

pub use bounds::{EXPONENTIAL_SCHEMA_MAX, EXPONENTIAL_SCHEMA_MIN, frexp, is_exponential_schema, ldexp};
pub use error::{HistogramError, Part};
pub use iter::{Bucket, target_index};
pub use notation::{
    TEST_EPSILON, TestHistogram, almost_equal, parse_test_notation, parse_test_notation_full,
};
pub use ops::{AddOutcome, intersect_custom_bounds};

/// What the producer said about a counter reset between this histogram and the previous one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CounterResetHint {
    /// Nothing known: a reset is detected by comparing with the previous histogram.
    #[default]
    Unknown,
    /// This histogram follows a counter reset.
    CounterReset,
    /// This histogram certainly follows the previous one without a reset.
    NotCounterReset,
    /// A gauge histogram: counts go up and down, resets do not apply.
    Gauge,
}

/// A run of consecutive buckets: `offset` buckets after the end of the previous span (after index 0
/// for the first span), `length` buckets long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub offset: i32,
    pub length: u32,
}

/// The schema number of histograms with custom bucket bounds (`custom_values`).
pub const CUSTOM_BUCKETS_SCHEMA: i32 = -53;

/// A histogram with float counts. For exponential schemas, bucket `i` of the positive side covers
/// `(2^((i-1)/2^schema), 2^(i/2^schema)]`, the negative side mirrors it, and the zero bucket holds
/// observations within `[-zero_threshold, zero_threshold]`. For the custom schema, positive bucket
/// `i` covers `(custom_values[i-1], custom_values[i]]` (the first from −Inf, the one past the end up
/// to +Inf) and there are no negative or zero buckets.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FloatHistogram {
    pub counter_reset_hint: CounterResetHint,
    pub schema: i32,
    pub zero_threshold: f64,
    pub zero_count: f64,
    pub count: f64,
    pub sum: f64,
    pub positive_spans: Vec<Span>,
    pub negative_spans: Vec<Span>,
    /// Absolute counts, one per bucket covered by `positive_spans`, in order.
    pub positive_buckets: Vec<f64>,
    pub negative_buckets: Vec<f64>,
    /// Upper bounds of the custom buckets, ascending, without +Inf. Empty unless `schema` is
    /// [`CUSTOM_BUCKETS_SCHEMA`].
    pub custom_values: Vec<f64>,
}

impl FloatHistogram {
    pub fn uses_custom_buckets(&self) -> bool {
        self.schema == CUSTOM_BUCKETS_SCHEMA
    }
}
