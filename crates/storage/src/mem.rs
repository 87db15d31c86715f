//! A deliberately simple store: a sorted map of series to a sorted map of samples. It is the reference
//! the real engine is checked against, so it favours obviousness over speed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::RwLock;

use model::{Labels, Sample};

use crate::{Matcher, Queryable, Result, Series, matches_all};

#[derive(Default)]
pub struct MemStorage {
    data: RwLock<BTreeMap<Labels, BTreeMap<i64, u64>>>,
}

impl MemStorage {
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores a sample; a second sample at the same timestamp replaces the first.
    pub fn insert(&self, labels: &Labels, s: Sample) {
        let mut d = self.data.write().unwrap_or_else(|e| e.into_inner());
        d.entry(labels.clone()).or_default().insert(s.t, s.v.to_bits());
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<Labels, BTreeMap<i64, u64>>> {
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
                let samples: Vec<Sample> = s
                    .range(start..=end)
                    .map(|(t, v)| Sample::new(*t, f64::from_bits(*v)))
                    .collect();
                (!samples.is_empty()).then(|| Series {
                    labels: l.clone(),
                    samples,
                })
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
