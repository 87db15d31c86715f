//! The forwarder's own metrics, `pharos_agent_*`: plain atomics updated on the hot path and
//! encoded when scraped, so the lag gauges are computed against the clock at scrape time.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

/// A timestamp gauge with nothing to report yet.
pub(crate) const NO_TIMESTAMP: i64 = i64::MIN;

#[derive(Debug, Default)]
pub struct BufferMetrics {
    pub(crate) samples_appended: AtomicU64,
    pub(crate) append_failures: AtomicU64,
    pub(crate) bytes: AtomicU64,
    pub(crate) segments: AtomicU64,
    pub(crate) dropped_samples: AtomicU64,
    pub(crate) corrupt_records: AtomicU64,
    pub(crate) highest_timestamp_ms: AtomicI64,
}

/// One receiver's counters and gauges.
#[derive(Debug)]
pub struct ReceiverMetrics {
    pub(crate) remote_name: String,
    pub(crate) url: String,
    pub(crate) samples_sent: AtomicU64,
    pub(crate) bytes_sent: AtomicU64,
    pub(crate) requests: AtomicU64,
    /// Samples of batches the receiver refused for good (4xx other than a retried 429).
    pub(crate) samples_failed: AtomicU64,
    /// Samples of batches sent again after a retryable failure, once per retry.
    pub(crate) samples_retried: AtomicU64,
    /// Samples removed from the buffer before this receiver had them.
    pub(crate) dropped_buffer_full: AtomicU64,
    /// Samples older than `sample_age_limit` when their batch was built.
    pub(crate) dropped_too_old: AtomicU64,
    pub(crate) highest_sent_ms: AtomicI64,
    /// Timestamp of the first sample not yet acknowledged, or [`NO_TIMESTAMP`] when caught up.
    pub(crate) oldest_unsent_ms: AtomicI64,
    /// 2.0 was configured and the receiver refused it with 415.
    pub(crate) fell_back: AtomicBool,
}

impl ReceiverMetrics {
    pub(crate) fn new(remote_name: &str, url: &str) -> Self {
        Self {
            remote_name: remote_name.to_owned(),
            url: url.to_owned(),
            samples_sent: AtomicU64::new(0),
            bytes_sent: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            samples_failed: AtomicU64::new(0),
            samples_retried: AtomicU64::new(0),
            dropped_buffer_full: AtomicU64::new(0),
            dropped_too_old: AtomicU64::new(0),
            highest_sent_ms: AtomicI64::new(NO_TIMESTAMP),
            oldest_unsent_ms: AtomicI64::new(NO_TIMESTAMP),
            fell_back: AtomicBool::new(false),
        }
    }
}

/// Everything the forwarder reports.
#[derive(Debug)]
pub struct Metrics {
    pub(crate) buffer: BufferMetrics,
    pub(crate) receivers: Vec<Arc<ReceiverMetrics>>,
}

impl Metrics {
    pub(crate) fn new(receivers: Vec<Arc<ReceiverMetrics>>) -> Self {
        let buffer = BufferMetrics::default();
        buffer.highest_timestamp_ms.store(NO_TIMESTAMP, Ordering::Relaxed);
        Self { buffer, receivers }
    }

    /// Registers the metrics under `agent_` in `registry` (so `pharos_agent_*` in a registry
    /// prefixed `pharos`).
    pub fn register(self: &Arc<Self>, registry: &mut Registry) {
        registry
            .sub_registry_with_prefix("agent")
            .register_collector(Box::new(MetricsCollector(self.clone())));
    }

    /// Appends the metrics in the Prometheus text format, names prefixed `pharos_agent_`.
    pub fn render(self: &Arc<Self>, out: &mut String) {
        let mut registry = Registry::with_prefix("pharos");
        self.register(&mut registry);
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &registry).is_err() {
            return;
        }
        // The encoder ends with the OpenMetrics "# EOF" line; the 0.0.4 text format has none.
        out.push_str(text.strip_suffix("# EOF\n").unwrap_or(&text));
    }
}

#[derive(Debug)]
struct MetricsCollector(Arc<Metrics>);

fn seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Collector for MetricsCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let m = &self.0;
        let b = &m.buffer;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let counter = |enc: &mut DescriptorEncoder, name: &str, help: &str, v: u64| {
            let e = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
            ConstCounter::new(v).encode(e)
        };
        let gauge = |enc: &mut DescriptorEncoder, name: &str, help: &str, v: f64| {
            let e = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
            ConstGauge::new(v).encode(e)
        };
        counter(
            &mut enc,
            "samples_appended",
            "Samples written to the buffer",
            load(&b.samples_appended),
        )?;
        counter(
            &mut enc,
            "buffer_append_failures",
            "Appends that could not be written to the buffer",
            load(&b.append_failures),
        )?;
        counter(
            &mut enc,
            "buffer_dropped_samples",
            "Samples removed from the full buffer before every receiver had them",
            load(&b.dropped_samples),
        )?;
        counter(
            &mut enc,
            "buffer_corrupt_records",
            "Torn or corrupt buffer records skipped or truncated",
            load(&b.corrupt_records),
        )?;
        gauge(
            &mut enc,
            "buffer_bytes",
            "Bytes the buffer's segments take on disk",
            load(&b.bytes) as f64,
        )?;
        gauge(
            &mut enc,
            "buffer_segments",
            "Segment files in the buffer",
            load(&b.segments) as f64,
        )?;
        let highest = b.highest_timestamp_ms.load(Ordering::Relaxed);
        gauge(
            &mut enc,
            "buffer_highest_timestamp_seconds",
            "Highest timestamp appended to the buffer since start, in seconds since the epoch",
            if highest == NO_TIMESTAMP {
                0.0
            } else {
                seconds(highest)
            },
        )?;

        type Get = fn(&ReceiverMetrics) -> f64;
        let per_receiver: [(&str, &str, MetricType, Get); 11] = [
            (
                "remote_samples_sent",
                "Samples acknowledged by the receiver",
                MetricType::Counter,
                |r| r.samples_sent.load(Ordering::Relaxed) as f64,
            ),
            (
                "remote_sent_bytes",
                "Compressed request bytes acknowledged by the receiver",
                MetricType::Counter,
                |r| r.bytes_sent.load(Ordering::Relaxed) as f64,
            ),
            (
                "remote_requests",
                "Write requests sent, retries included",
                MetricType::Counter,
                |r| r.requests.load(Ordering::Relaxed) as f64,
            ),
            (
                "remote_samples_failed",
                "Samples of batches the receiver refused with a non-retryable status",
                MetricType::Counter,
                |r| r.samples_failed.load(Ordering::Relaxed) as f64,
            ),
            (
                "remote_samples_retried",
                "Samples of batches sent again after a retryable failure",
                MetricType::Counter,
                |r| r.samples_retried.load(Ordering::Relaxed) as f64,
            ),
            (
                "remote_samples_dropped_buffer_full",
                "Samples dropped from the full buffer before this receiver had them",
                MetricType::Counter,
                |r| r.dropped_buffer_full.load(Ordering::Relaxed) as f64,
            ),
            (
                "remote_samples_dropped_too_old",
                "Samples older than sample_age_limit when their batch was built",
                MetricType::Counter,
                |r| r.dropped_too_old.load(Ordering::Relaxed) as f64,
            ),
            (
                "remote_highest_sent_timestamp_seconds",
                "Highest timestamp acknowledged by the receiver since start",
                MetricType::Gauge,
                |r| match r.highest_sent_ms.load(Ordering::Relaxed) {
                    NO_TIMESTAMP => 0.0,
                    t => seconds(t),
                },
            ),
            (
                "remote_oldest_unsent_timestamp_seconds",
                "Timestamp of the first buffered sample the receiver has not acknowledged; 0 when caught up",
                MetricType::Gauge,
                |r| match r.oldest_unsent_ms.load(Ordering::Relaxed) {
                    NO_TIMESTAMP => 0.0,
                    t => seconds(t),
                },
            ),
            (
                "remote_lag_seconds",
                "Age of the first buffered sample the receiver has not acknowledged; 0 when caught up",
                MetricType::Gauge,
                |r| match r.oldest_unsent_ms.load(Ordering::Relaxed) {
                    NO_TIMESTAMP => 0.0,
                    t => seconds(now_ms().saturating_sub(t).max(0)),
                },
            ),
            (
                "remote_protocol_fallback",
                "1 when 2.0 was configured and the receiver refused it, so 1.0 is sent",
                MetricType::Gauge,
                |r| f64::from(u8::from(r.fell_back.load(Ordering::Relaxed))),
            ),
        ];
        for (name, help, kind, get) in per_receiver {
            let mut e = enc.encode_descriptor(name, help, None, kind)?;
            for r in &m.receivers {
                let labels = [("remote_name", r.remote_name.as_str()), ("url", r.url.as_str())];
                let fam = e.encode_family(&labels)?;
                match kind {
                    MetricType::Counter => ConstCounter::new(get(r)).encode(fam)?,
                    _ => ConstGauge::new(get(r)).encode(fam)?,
                }
            }
        }
        Ok(())
    }
}
