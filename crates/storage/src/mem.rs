//! A deliberately simple store: a sorted map of series to a sorted map of samples. It is the reference
//! the real engine is checked against, so it favours obviousness over speed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::RwLock;

use std::sync::Arc;

use model::{FloatHistogram, Labels, Sample};

use crate::{HistogramSample, Matcher, Queryable, Result, Series, matches_all};

/// A stored value: a float's bits (so NaN payloads survive) or a histogram.
#[derive(Debug, Clone)]
enum Stored {
    Float(u64),
    Histogram(Arc<FloatHistogram>),
}

type Data = BTreeMap<Labels, BTreeMap<i64, Stored>>;

#[derive(Default)]
pub struct MemStorage {
    data: RwLock<Data>,
}

impl MemStorage {
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores a sample; a second sample at the same timestamp replaces the first.
    pub fn insert(&self, labels: &Labels, s: Sample) {
        let mut d = self.data.write().unwrap_or_else(|e| e.into_inner());
        d.entry(labels.clone())
            .or_default()
            .insert(s.t, Stored::Float(s.v.to_bits()));
    }

    /// Stores a native-histogram sample; like [`MemStorage::insert`], it replaces any sample at `t`.
    pub fn insert_histogram(&self, labels: &Labels, t: i64, h: FloatHistogram) {
        let mut d = self.data.write().unwrap_or_else(|e| e.into_inner());
        d.entry(labels.clone())
            .or_default()
            .insert(t, Stored::Histogram(Arc::new(h)));
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Data> {
        self.data.read().unwrap_or_else(|e| e.into_inner())
    }
}

impl Queryable for MemStorage {
    fn select(&self, start: i64, end: i64, matchers: &[Matcher]) -> Result<Vec<Series>> {
        Ok(self
            .read()
            .iter()
            .filter(|(l, _)| matches_all(l, matchers))
            .filter_map(|(l, s)| {
                let mut out = Series::floats(l.clone(), Vec::new());
                for (t, v) in s.range(start..=end) {
                    match v {
                        Stored::Float(bits) => out.samples.push(Sample::new(*t, f64::from_bits(*bits))),
                        Stored::Histogram(h) => out.histograms.push(HistogramSample { t: *t, h: h.clone() }),
                    }
                }
                (!out.is_empty()).then_some(out)
            })
            .collect())
    }

    fn series(&self, start: i64, end: i64, matchers: &[Matcher]) -> Result<Vec<Labels>> {
        Ok(self
            .select(start, end, matchers)?
            .into_iter()
            .map(|s| s.labels)
            .collect())
    }

    fn label_names(&self, start: i64, end: i64, matchers: &[Matcher]) -> Result<Vec<String>> {
        let mut out = BTreeSet::new();
        for l in self.series(start, end, matchers)? {
            out.extend(l.iter().map(|(n, _)| n.to_owned()));
        }
        Ok(out.into_iter().collect())
    }

    fn label_values(&self, name: &str, start: i64, end: i64, matchers: &[Matcher]) -> Result<Vec<String>> {
        let mut out = BTreeSet::new();
        for l in self.series(start, end, matchers)? {
            out.extend(l.get(name).map(str::to_owned));
        }
        Ok(out.into_iter().collect())
    }
}
