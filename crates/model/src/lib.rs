//! Pure data types shared by every layer: label sets, samples, special float values and label validation.
//! No IO and no knowledge of how data is stored or transported.

pub mod civil;
mod error;
pub mod histogram;
mod labels;

pub use error::{Error, Result};
pub use histogram::FloatHistogram;
pub use labels::{LabelLimits, Labels, METRIC_NAME, format_pairs, normalize_pairs};

/// The bit pattern Prometheus writes as a staleness marker. Stored and returned bit-exact.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// True if `v` is the staleness marker (not merely any NaN).
pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// One value at one time: milliseconds since the Unix epoch and a float.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub t: i64,
    pub v: f64,
}

impl Sample {
    pub fn new(t: i64, v: f64) -> Self {
        Self { t, v }
    }
}

/// Samples compare equal when their timestamps are equal and values are bit-identical, so NaN payloads
/// (staleness markers) round-trip through equality checks in tests and dedup.
impl PartialEq for Sample {
    fn eq(&self, other: &Self) -> bool {
        self.t == other.t && self.v.to_bits() == other.v.to_bits()
    }
}
impl Eq for Sample {}
