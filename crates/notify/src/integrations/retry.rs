//! What the dispatcher needs to retry integrations: exponential backoff with jitter, and
//! Alertmanager's notification counters. No clock and no sleeping here; the caller waits.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::SendError;

/// Delays between attempts: `initial`, then multiplied by `multiplier` up to `max`, each spread
/// by ±`jitter` (a fraction) so integrations failing together do not retry together.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    multiplier: f64,
    jitter: f64,
    current: Duration,
    rng: u64,
}

impl Default for Backoff {
    /// 1s doubling to 1 minute, ±20 %.
    fn default() -> Self {
        Backoff::new(Duration::from_secs(1), Duration::from_secs(60))
    }
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Backoff {
        let seed = RandomState::new().hash_one(0x5eed_u64) | 1;
        Backoff {
            initial,
            max: max.max(initial),
            multiplier: 2.0,
            jitter: 0.2,
            current: initial,
            rng: seed,
        }
    }

    pub fn with_multiplier(mut self, multiplier: f64) -> Backoff {
        self.multiplier = multiplier.max(1.0);
        self
    }

    /// 0 makes the delays exact.
    pub fn with_jitter(mut self, jitter: f64) -> Backoff {
        self.jitter = jitter.clamp(0.0, 1.0);
        self
    }

    /// A fixed random sequence, for tests.
    pub fn with_seed(mut self, seed: u64) -> Backoff {
        self.rng = seed | 1;
        self
    }

    /// A uniform sample in [0, 1) (xorshift64*).
    fn uniform(&mut self) -> f64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The delay before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        let base = self.current;
        self.current = base.mul_f64(self.multiplier).min(self.max);
        let spread = 1.0 + self.jitter * (2.0 * self.uniform() - 1.0);
        base.mul_f64(spread)
    }

    /// Back to the initial delay, after a success.
    pub fn reset(&mut self) {
        self.current = self.initial;
    }
}

impl Iterator for Backoff {
    type Item = Duration;
    fn next(&mut self) -> Option<Duration> {
        Some(self.next_delay())
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IntegrationLabel {
    pub integration: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FailureLabels {
    pub integration: String,
    pub reason: String,
}

/// Alertmanager's notification metrics. Names carry no namespace: registered under a
/// `pharos` prefix they read `pharos_alertmanager_notifications_total` and so on.
#[derive(Debug, Clone)]
pub struct NotifyMetrics {
    /// Notifications attempted (one per notification, however many retries).
    pub notifications: Family<IntegrationLabel, Counter>,
    /// Notifications given up on, by reason.
    pub notifications_failed: Family<FailureLabels, Counter>,
    /// Requests (attempts) made.
    pub requests: Family<IntegrationLabel, Counter>,
    /// Requests that failed.
    pub requests_failed: Family<IntegrationLabel, Counter>,
    /// Duration of successful notifications, retries included.
    pub latency: Family<IntegrationLabel, Histogram>,
}

/// Alertmanager's latency buckets.
const LATENCY_BUCKETS: [f64; 4] = [1.0, 5.0, 10.0, 15.0];

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

impl Default for NotifyMetrics {
    fn default() -> Self {
        NotifyMetrics {
            notifications: Family::default(),
            notifications_failed: Family::default(),
            requests: Family::default(),
            requests_failed: Family::default(),
            latency: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
        }
    }
}

/// Alertmanager's `reason` label for a failed notification.
pub fn failure_reason(e: &SendError) -> &'static str {
    let msg = match e {
        SendError::Retry(m) | SendError::Permanent(m) => m,
    };
    match msg.find("unexpected status code ").map(|i| &msg[i + 23..]) {
        Some(code) if code.starts_with('4') => "clientError",
        Some(code) if code.starts_with('5') => "serverError",
        _ => "other",
    }
}

impl NotifyMetrics {
    pub fn new() -> NotifyMetrics {
        NotifyMetrics::default()
    }

    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "alertmanager_notifications",
            "The total number of attempted notifications.",
            self.notifications.clone(),
        );
        registry.register(
            "alertmanager_notifications_failed",
            "The total number of failed notifications.",
            self.notifications_failed.clone(),
        );
        registry.register(
            "alertmanager_notification_requests",
            "The total number of attempted notification requests.",
            self.requests.clone(),
        );
        registry.register(
            "alertmanager_notification_requests_failed",
            "The total number of failed notification requests.",
            self.requests_failed.clone(),
        );
        registry.register(
            "alertmanager_notification_latency_seconds",
            "The latency of notifications in seconds.",
            self.latency.clone(),
        );
    }

    /// Makes every series of `integration` exist at 0, as Alertmanager does at start-up.
    pub fn init_integration(&self, integration: &str) {
        let l = IntegrationLabel {
            integration: integration.to_string(),
        };
        let _ = self.notifications.get_or_create(&l);
        let _ = self.requests.get_or_create(&l);
        let _ = self.requests_failed.get_or_create(&l);
        for reason in ["clientError", "serverError", "other"] {
            let _ = self.notifications_failed.get_or_create(&FailureLabels {
                integration: integration.to_string(),
                reason: reason.to_string(),
            });
        }
    }

    /// One attempt's outcome.
    pub fn observe_request(&self, integration: &str, result: &Result<(), SendError>) {
        let l = IntegrationLabel {
            integration: integration.to_string(),
        };
        self.requests.get_or_create(&l).inc();
        if result.is_err() {
            self.requests_failed.get_or_create(&l).inc();
        }
    }

    /// A notification's final outcome, after its retries, and how long they took.
    pub fn observe_notification(&self, integration: &str, result: &Result<(), SendError>, took: Duration) {
        let l = IntegrationLabel {
            integration: integration.to_string(),
        };
        self.notifications.get_or_create(&l).inc();
        match result {
            Ok(()) => self.latency.get_or_create(&l).observe(took.as_secs_f64()),
            Err(e) => {
                self.notifications_failed
                    .get_or_create(&FailureLabels {
                        integration: integration.to_string(),
                        reason: failure_reason(e).to_string(),
                    })
                    .inc();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap_with_bounded_jitter() {
        let exact: Vec<u64> = Backoff::new(Duration::from_secs(1), Duration::from_secs(10))
            .with_jitter(0.0)
            .take(6)
            .map(|d| d.as_secs())
            .collect();
        assert_eq!(exact, [1, 2, 4, 8, 10, 10]);
        let mut b = Backoff::default().with_seed(42);
        for _ in 0..20 {
            let d = b.next_delay().as_secs_f64();
            assert!((0.8..=72.0).contains(&d), "{d}");
        }
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(4))
            .with_jitter(0.5)
            .with_seed(7);
        let spread: Vec<f64> = (0..50).map(|_| b.next_delay().as_secs_f64()).skip(3).collect();
        assert!(spread.iter().all(|d| (2.0..=6.0).contains(d)));
        assert!(spread.iter().any(|d| (d - 4.0).abs() > 0.1), "jitter is applied");
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(1500));
    }

    #[test]
    fn metrics_encode_with_alertmanager_names() {
        let m = NotifyMetrics::new();
        let mut reg = Registry::with_prefix("pharos");
        m.register(&mut reg);
        m.init_integration("webhook");
        m.observe_request(
            "webhook",
            &Err(SendError::Retry("unexpected status code 503".to_string())),
        );
        m.observe_notification(
            "webhook",
            &Err(SendError::Permanent(
                "unexpected status code 400: bad".to_string(),
            )),
            Duration::from_secs(1),
        );
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &reg).unwrap();
        for line in [
            "pharos_alertmanager_notifications_total{integration=\"webhook\"} 1",
            "pharos_alertmanager_notification_requests_total{integration=\"webhook\"} 1",
            "pharos_alertmanager_notification_requests_failed_total{integration=\"webhook\"} 1",
            "pharos_alertmanager_notifications_failed_total{integration=\"webhook\",reason=\"clientError\"} 1",
            "pharos_alertmanager_notifications_failed_total{integration=\"webhook\",reason=\"other\"} 0",
        ] {
            assert!(out.contains(line), "{line}\n{out}");
        }
    }
}
