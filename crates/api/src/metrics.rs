//! The HTTP layer's own metrics: `pharos_http_*` and `pharos_ingest_*`.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;

pub struct ApiMetrics {
    pub requests: Family<Labels, Counter>,
    pub durations: Family<Labels, Histogram>,
    pub samples: Family<Labels, Counter>,
    pub rejected_writes: Family<Labels, Counter>,
    pub ignored: Family<Labels, Counter>,
}

impl ApiMetrics {
    pub fn new(r: &mut Registry) -> Self {
        let m = Self {
            requests: Family::default(),
            durations: Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.0001, 2.5, 14))),
            samples: Family::default(),
            rejected_writes: Family::default(),
            ignored: Family::default(),
        };
        r.register(
            "http_requests",
            "HTTP requests by handler and status code",
            m.requests.clone(),
        );
        r.register(
            "http_request_duration_seconds",
            "HTTP request latency by handler",
            m.durations.clone(),
        );
        r.register(
            "ingest_samples",
            "Samples accepted by ingest protocol",
            m.samples.clone(),
        );
        r.register(
            "ingest_rejected_writes",
            "Write requests refused in whole or in part, by protocol and reason",
            m.rejected_writes.clone(),
        );
        r.register(
            "ingest_ignored_values",
            "Values that cannot be stored as floats (string fields, native histograms), by protocol and kind",
            m.ignored.clone(),
        );
        m
    }

    pub fn reject(&self, protocol: &str, reason: &str) {
        self.rejected_writes
            .get_or_create(&vec![
                ("protocol".into(), protocol.into()),
                ("reason".into(), reason.into()),
            ])
            .inc();
    }

    pub fn accepted(&self, protocol: &str, n: u64) {
        self.samples
            .get_or_create(&vec![("protocol".into(), protocol.into())])
            .inc_by(n);
    }

    pub fn ignore(&self, protocol: &str, kind: &str, n: u64) {
        if n > 0 {
            self.ignored
                .get_or_create(&vec![
                    ("protocol".into(), protocol.into()),
                    ("kind".into(), kind.into()),
                ])
                .inc_by(n);
        }
    }
}
