//! The storage contract: label matchers, the read interface every store implements (head, blocks,
//! object storage, remote), and a small in-memory reference store used to check the real ones.
//! Knows nothing of files, WAL or chunk encodings.

mod error;
mod matcher;
mod mem;

pub use error::{Error, Result};
pub use matcher::{MatchOp, Matcher};
pub use mem::MemStorage;
use model::{Labels, Sample};

/// One series with its samples in `[start, end]`, sorted by time, one sample per timestamp.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub samples: Vec<Sample>,
}

/// Read access to a store. Time bounds are inclusive milliseconds. Results are sorted: series by label set,
/// names and values lexically.
pub trait Queryable: Send + Sync {
    /// Series matching all matchers, with their samples in `[start, end]`. Series with no sample in the
    /// range are left out.
    fn select(&self, start: i64, end: i64, matchers: &[Matcher]) -> Result<Vec<Series>>;

    /// Label sets of the series matching all matchers that have data overlapping `[start, end]`.
    fn series(&self, start: i64, end: i64, matchers: &[Matcher]) -> Result<Vec<Labels>>;

    /// Label names present on matching series (all series when `matchers` is empty).
    fn label_names(&self, start: i64, end: i64, matchers: &[Matcher]) -> Result<Vec<String>>;

    /// Values of label `name` on matching series (all series when `matchers` is empty).
    fn label_values(&self, name: &str, start: i64, end: i64, matchers: &[Matcher]) -> Result<Vec<String>>;
}

/// True if the series' labels satisfy every matcher (a missing label reads as the empty string).
pub fn matches_all(labels: &Labels, matchers: &[Matcher]) -> bool {
    matchers
        .iter()
        .all(|m| m.matches(labels.get(&m.name).unwrap_or("")))
}
