//! Scraped samples into the local store: series resolved once per scrape cache entry, samples
//! appended by reference and logged to the WAL without waiting for its fsync (nobody waits for a
//! scrape's answer; the fsync policy still bounds what a crash can lose).

use std::sync::Arc;

use model::Sample;
use tsdb::{Db, SeriesRef};

pub struct TsdbAppender {
    pub db: Arc<Db>,
    /// Told when a target's `up` changes (the rule manager evaluates at once).
    pub on_health_change: std::sync::OnceLock<Box<dyn Fn() + Send + Sync>>,
}

impl TsdbAppender {
    pub fn new(db: Arc<Db>) -> Self {
        Self {
            db,
            on_health_change: std::sync::OnceLock::new(),
        }
    }
}

impl collect::Appender for TsdbAppender {
    type Ref = SeriesRef;

    fn resolve(&self, labels: &[(String, String)]) -> Option<SeriesRef> {
        let pairs: Vec<(&str, &str)> = labels.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        self.db.resolve(&pairs)
    }

    fn append(&self, samples: &mut [(SeriesRef, Sample)]) -> Result<u64, String> {
        let out = self.db.append_resolved(samples).map_err(|e| e.to_string())?;
        Ok(out.rejected.len() as u64)
    }

    fn health_changed(&self, _job: &str, _up: bool) {
        if let Some(f) = self.on_health_change.get() {
            f();
        }
    }
}

/// Rule output into the local store. Native histograms produced by recording rules are not stored
/// (the tsdb keeps floats only); they are counted in the error so the rule shows it.
pub struct TsdbRuleSink(pub Arc<Db>);

impl rules::Appendable for TsdbRuleSink {
    fn append(&self, t: i64, samples: &[(model::Labels, rules::Out)]) -> Result<(), String> {
        let mut batch = Vec::with_capacity(samples.len());
        let mut histograms = 0;
        for (l, v) in samples {
            match v {
                rules::Out::Float(f) => batch.push((l.clone(), vec![Sample::new(t, *f)])),
                rules::Out::Histogram(_) => histograms += 1,
            }
        }
        if !batch.is_empty() {
            self.0.append(&batch, false).map_err(|e| e.to_string())?;
        }
        if histograms > 0 {
            return Err(format!(
                "{histograms} native histogram samples not stored: the store keeps float samples only"
            ));
        }
        Ok(())
    }
}
