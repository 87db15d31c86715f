//! The storage contract: label matchers, the read interface every store implements (head, blocks,
//! object storage, remote), and a small in-memory reference store used to check the real ones.
//! Knows nothing of files, WAL or chunk encodings.

mod error;
mod matcher;
mod mem;

pub use error::{Error, Result};
pub use matcher::{MatchOp, Matcher};
pub use mem::MemStorage;
use std::sync::Arc;

use model::{FloatHistogram, Labels, Sample};

/// One native-histogram sample: milliseconds since the Unix epoch and the histogram. Shared, because
/// a query repeats one sample at every step its lookback covers.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSample {
    pub t: i64,
    pub h: Arc<FloatHistogram>,
}

/// One series with its samples in `[start, end]`, sorted by time: float samples and native-histogram
/// samples apart, at most one sample (of either kind) per timestamp. A series can change kind over
/// time, so both lists may hold samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub samples: Vec<Sample>,
    pub histograms: Vec<HistogramSample>,
}

impl Series {
    /// A series of float samples only.
    pub fn floats(labels: Labels, samples: Vec<Sample>) -> Self {
        Self {
            labels,
            samples,
            histograms: Vec::new(),
        }
    }

    /// Samples of both kinds.
    pub fn len(&self) -> usize {
        self.samples.len() + self.histograms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty() && self.histograms.is_empty()
    }

    /// What the series holds in memory, in float samples ([`SAMPLE_BYTES`] each): its sample arrays
    /// as allocated, and its labels as the samples of the same bytes. A histogram sample counts as
    /// one (its buckets are shared with the store). Sample budgets count this, so that a budget of
    /// N samples bounds the memory a query holds to about N × 16 bytes.
    pub fn held_samples(&self) -> usize {
        let bytes = allocated(self.samples.capacity() * SAMPLE_BYTES)
            + allocated(self.histograms.capacity() * SAMPLE_BYTES);
        bytes.div_ceil(SAMPLE_BYTES) + label_samples(&self.labels)
    }
}

/// Bytes of one float sample in memory: timestamp and value.
pub const SAMPLE_BYTES: usize = 16;

/// The bytes an allocation of `n` bytes occupies: whole words up to 64 bytes, then size classes of
/// four per power of two, as general-purpose allocators (mimalloc, which the server uses) place
/// blocks. Budgets count this so that rounding cannot carry memory past them.
pub fn allocated(n: usize) -> usize {
    if n <= 64 {
        return n.next_multiple_of(8);
    }
    // 2^b < n ≤ 2^(b+1); classes are 2^(b-2) apart.
    let b = usize::BITS - 1 - (n - 1).leading_zeros();
    n.next_multiple_of(1 << (b - 2))
}

/// A label set's heap allocations (the pair array, every name and value) as a number of samples of
/// the same bytes, rounded up.
pub fn label_samples(labels: &Labels) -> usize {
    let pairs = allocated(labels.len() * std::mem::size_of::<(String, String)>());
    let strings: usize = labels
        .iter()
        .map(|(n, v)| allocated(n.len()) + allocated(v.len()))
        .sum();
    (pairs + strings).div_ceil(SAMPLE_BYTES)
}

/// Read access to a store. Time bounds are inclusive milliseconds. Results are sorted: series by label set,
/// names and values lexically.
pub trait Queryable: Send + Sync {
    /// Series matching all matchers, with their samples in `[start, end]`. Series with no sample in the
    /// range are left out.
    fn select(&self, start: i64, end: i64, matchers: &[Matcher]) -> Result<Vec<Series>>;

    /// Like `select`, but fails with [`Error::LimitExceeded`] once the result would hold more than
    /// `max_samples` samples, as [`Series::held_samples`] counts them (labels included). Stores
    /// override it to stop reading at the limit, so that a query over its budget never holds more
    /// than the budget in memory; this default checks afterwards.
    fn select_limited(
        &self,
        start: i64,
        end: i64,
        matchers: &[Matcher],
        max_samples: usize,
    ) -> Result<Vec<Series>> {
        let out = self.select(start, end, matchers)?;
        let n: usize = out.iter().map(Series::held_samples).sum();
        if n > max_samples {
            return Err(Error::LimitExceeded(too_many_samples(max_samples)));
        }
        Ok(out)
    }

    /// Label sets of the series matching all matchers that have data overlapping `[start, end]`.
    fn series(&self, start: i64, end: i64, matchers: &[Matcher]) -> Result<Vec<Labels>>;

    /// Label names present on matching series (all series when `matchers` is empty).
    fn label_names(&self, start: i64, end: i64, matchers: &[Matcher]) -> Result<Vec<String>>;

    /// Values of label `name` on matching series (all series when `matchers` is empty).
    fn label_values(&self, name: &str, start: i64, end: i64, matchers: &[Matcher]) -> Result<Vec<String>>;
}

/// The message of a `select_limited` refusal.
pub fn too_many_samples(max: usize) -> String {
    format!("query processing would load too many samples into memory in query execution (limit {max})")
}

/// True if the series' labels satisfy every matcher (a missing label reads as the empty string).
pub fn matches_all(labels: &Labels, matchers: &[Matcher]) -> bool {
    matchers
        .iter()
        .all(|m| m.matches(labels.get(&m.name).unwrap_or("")))
}

#[cfg(test)]
mod budget_tests {
    use super::*;

    #[test]
    fn allocations_round_up_to_size_classes() {
        let cases = [
            (0, 0),
            (1, 8),
            (64, 64),
            (65, 80),
            (128, 128),
            (129, 160),
            (6_240, 7_168),
            (8_192, 8_192),
            (8_193, 10_240),
        ];
        for (n, want) in cases {
            assert_eq!(allocated(n), want, "{n}");
        }
        for n in 1..100_000 {
            let a = allocated(n);
            assert!(a >= n && a * 4 <= n * 5 + 28, "{n} → {a}");
        }
    }

    #[test]
    fn a_series_holds_its_arrays_as_allocated_and_its_labels() {
        let labels = Labels::from_pairs(&[("__name__", "up"), ("job", "node")]).unwrap();
        // Pairs: 2 × 48 bytes = 96; strings 8 + 8 + 8 + 8.
        assert_eq!(label_samples(&labels), (96 + 32_usize).div_ceil(SAMPLE_BYTES));
        let samples: Vec<Sample> = (0..390).map(|i| Sample::new(i, 1.0)).collect();
        let s = Series::floats(labels.clone(), samples);
        // 390 × 16 = 6,240 bytes sit in a 7,168-byte block.
        assert_eq!(s.held_samples(), 7_168 / SAMPLE_BYTES + label_samples(&labels));
    }
}
