//! Scraped samples into the local store: series resolved once per scrape cache entry, samples
//! appended by reference and logged to the WAL without waiting for its fsync (nobody waits for a
//! scrape's answer; the fsync policy still bounds what a crash can lose).

use std::sync::Arc;

use model::Sample;
use tsdb::{Db, SeriesRef};

pub struct TsdbAppender(pub Arc<Db>);

impl collect::Appender for TsdbAppender {
    type Ref = SeriesRef;

    fn resolve(&self, labels: &[(String, String)]) -> Option<SeriesRef> {
        let pairs: Vec<(&str, &str)> = labels.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        self.0.resolve(&pairs)
    }

    fn append(&self, samples: &mut [(SeriesRef, Sample)]) -> Result<u64, String> {
        let out = self.0.append_resolved(samples).map_err(|e| e.to_string())?;
        Ok(out.rejected.len() as u64)
    }
}
