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
}

/// Read access to a store. Time bounds are inclusive milliseconds. Results are sorted: series by label set,
/// names and values lexically.
pub trait Queryable: Send + Sync {
    /// Series matching all matchers, with their samples in `[start, end]`. Series with no sample in the
    /// range are left out.
    fn select(&self, start: i64, end: i64, matchers: &[Matcher]) -> Result<Vec<Series>>;

    /// Like `select`, but fails with [`Error::LimitExceeded`] once more than `max_samples` samples would
    /// be returned. Stores override it to stop reading at the limit, so that a query over its budget
    /// never holds more than the budget in memory; this default checks afterwards.
    fn select_limited(
        &self,
        start: i64,
        end: i64,
        matchers: &[Matcher],
        max_samples: usize,
    ) -> Result<Vec<Series>> {
        let out = self.select(start, end, matchers)?;
        let n: usize = out.iter().map(Series::len).sum();
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
