//! The storage engine's own metrics, registered under `pharos_tsdb_*`.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

pub struct TsdbMetrics {
    pub samples_appended: Counter,
    pub samples_rejected: Family<Vec<(String, String)>, Counter>,
    pub series_created: Counter,
    pub series_removed: Counter,
    pub head_series: Gauge,
    pub wal_bytes: Counter,
    pub wal_fsyncs: Counter,
    pub wal_fsync_seconds: Histogram,
    pub wal_failures: Counter,
    pub wal_segment: Gauge,
    pub wal_corrupt_records: Counter,
    pub wal_truncated_bytes: Counter,
    pub checkpoints: Counter,
    pub checkpoint_failures: Counter,
    pub checkpoint_seconds: Histogram,
    pub blocks: Gauge,
    pub blocks_bytes: Gauge,
    pub block_writes: Counter,
    pub compactions: Counter,
    pub compaction_failures: Counter,
    pub retention_deleted_blocks: Counter,
}

impl Default for TsdbMetrics {
    fn default() -> Self {
        Self {
            samples_appended: Counter::default(),
            samples_rejected: Family::default(),
            series_created: Counter::default(),
            series_removed: Counter::default(),
            head_series: Gauge::default(),
            wal_bytes: Counter::default(),
            wal_fsyncs: Counter::default(),
            wal_fsync_seconds: Histogram::new(exponential_buckets(0.0001, 2.0, 16)),
            wal_failures: Counter::default(),
            wal_segment: Gauge::default(),
            wal_corrupt_records: Counter::default(),
            wal_truncated_bytes: Counter::default(),
            checkpoints: Counter::default(),
            checkpoint_failures: Counter::default(),
            checkpoint_seconds: Histogram::new(exponential_buckets(0.01, 2.0, 14)),
            blocks: Gauge::default(),
            blocks_bytes: Gauge::default(),
            block_writes: Counter::default(),
            compactions: Counter::default(),
            compaction_failures: Counter::default(),
            retention_deleted_blocks: Counter::default(),
        }
    }
}

impl TsdbMetrics {
    pub fn reject(&self, reason: &str, n: u64) {
        self.samples_rejected
            .get_or_create(&vec![("reason".to_owned(), reason.to_owned())])
            .inc_by(n);
    }

    pub fn register(&self, r: &mut Registry) {
        let r = r.sub_registry_with_prefix("tsdb");
        r.register(
            "samples_appended",
            "Samples stored in the head",
            self.samples_appended.clone(),
        );
        r.register(
            "samples_rejected",
            "Samples refused, by reason",
            self.samples_rejected.clone(),
        );
        r.register(
            "series_created",
            "Series created in the head",
            self.series_created.clone(),
        );
        r.register(
            "series_removed",
            "Series dropped from the head once empty",
            self.series_removed.clone(),
        );
        r.register("head_series", "Series in the head", self.head_series.clone());
        r.register(
            "wal_written_bytes",
            "Bytes written to the write-ahead log",
            self.wal_bytes.clone(),
        );
        r.register(
            "wal_fsyncs",
            "fsync calls on the write-ahead log",
            self.wal_fsyncs.clone(),
        );
        r.register(
            "wal_fsync_duration_seconds",
            "Duration of WAL fsyncs",
            self.wal_fsync_seconds.clone(),
        );
        r.register(
            "wal_failures",
            "WAL write or fsync failures",
            self.wal_failures.clone(),
        );
        r.register(
            "wal_segment_current",
            "Number of the WAL segment being written",
            self.wal_segment.clone(),
        );
        r.register(
            "wal_corrupt_records",
            "Corrupt or torn WAL records found at replay",
            self.wal_corrupt_records.clone(),
        );
        r.register(
            "wal_truncated_bytes",
            "Bytes dropped from WAL segments at replay after a corrupt record",
            self.wal_truncated_bytes.clone(),
        );
        r.register(
            "checkpoints",
            "Head checkpoints written",
            self.checkpoints.clone(),
        );
        r.register(
            "checkpoint_failures",
            "Head checkpoints that failed",
            self.checkpoint_failures.clone(),
        );
        r.register(
            "checkpoint_duration_seconds",
            "Duration of head checkpoints",
            self.checkpoint_seconds.clone(),
        );
        r.register("blocks_loaded", "Persisted blocks", self.blocks.clone());
        r.register(
            "blocks_size_bytes",
            "Bytes of persisted blocks on disk",
            self.blocks_bytes.clone(),
        );
        r.register(
            "block_writes",
            "Blocks written from the head",
            self.block_writes.clone(),
        );
        r.register("compactions", "Block compactions", self.compactions.clone());
        r.register(
            "compaction_failures",
            "Block compactions that failed",
            self.compaction_failures.clone(),
        );
        r.register(
            "retention_deleted_blocks",
            "Blocks deleted because they fell out of retention",
            self.retention_deleted_blocks.clone(),
        );
    }
}
