//! Delta temporality to cumulative, as OpenTelemetry's `deltatocumulative` processor does it: a
//! running total per stream, kept in memory by the caller between requests. Prometheus 3 refuses
//! delta sums and histograms by default; Pharos stores their running totals instead, so `rate()`
//! and `increase()` work on them like on any counter.
//!
//! A stream is one output series (for histograms, the family with its labels). A point whose end
//! time is not after the last one seen, or whose interval starts before it, is refused (a resend or
//! an overlapping interval would count twice). Streams idle longer than the idle limit are
//! forgotten, and a stream that comes back starts from zero again, which queries see as a counter
//! reset. The number of streams is bounded; past the bound new streams are refused.

use std::collections::HashMap;
use std::time::Duration;

use model::Labels;

/// Running totals of delta streams, owned by the caller (one per server) and passed to every
/// [`crate::translate`] call.
#[derive(Debug)]
pub struct DeltaState {
    sums: HashMap<Labels, SumStream>,
    histograms: HashMap<Labels, HistogramStream>,
    max_streams: usize,
    max_idle_ms: i64,
    last_sweep_ms: i64,
}

#[derive(Debug)]
struct SumStream {
    total: f64,
    last_ns: u64,
    seen_ms: i64,
}

#[derive(Debug)]
struct HistogramStream {
    count: u64,
    sum: f64,
    bounds: Vec<f64>,
    buckets: Vec<u64>,
    last_ns: u64,
    seen_ms: i64,
}

/// Why a delta point was not added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    OutOfOrder,
    StreamLimit,
}

/// A delta histogram point's contribution.
pub(crate) struct HistogramDelta<'a> {
    pub count: u64,
    pub sum: Option<f64>,
    pub bounds: &'a [f64],
    pub buckets: &'a [u64],
}

/// The running totals after a histogram point was added; `buckets` are per bucket, not cumulative.
pub(crate) struct HistogramTotals {
    pub count: u64,
    pub sum: f64,
    pub buckets: Vec<u64>,
}

impl Default for DeltaState {
    /// 100 000 streams, forgotten after 5 minutes without a point (the processor's `max_stale`).
    fn default() -> Self {
        Self::new(100_000, Duration::from_secs(300))
    }
}

impl DeltaState {
    pub fn new(max_streams: usize, max_idle: Duration) -> Self {
        Self {
            sums: HashMap::new(),
            histograms: HashMap::new(),
            max_streams,
            max_idle_ms: i64::try_from(max_idle.as_millis()).unwrap_or(i64::MAX),
            last_sweep_ms: i64::MIN,
        }
    }

    /// Streams currently tracked.
    pub fn streams(&self) -> usize {
        self.sums.len() + self.histograms.len()
    }

    /// Forgets streams that saw no point for longer than the idle limit before `now_ms`.
    pub fn expire(&mut self, now_ms: i64) {
        let cutoff = now_ms.saturating_sub(self.max_idle_ms);
        self.sums.retain(|_, s| s.seen_ms >= cutoff);
        self.histograms.retain(|_, s| s.seen_ms >= cutoff);
        self.last_sweep_ms = now_ms;
    }

    /// Expires idle streams at most a few times per idle period, so requests stay O(their size).
    pub(crate) fn sweep(&mut self, now_ms: i64) {
        let every = (self.max_idle_ms / 4).max(1000);
        if now_ms.saturating_sub(self.last_sweep_ms) >= every {
            self.expire(now_ms);
        }
    }

    fn full(&self) -> bool {
        self.streams() >= self.max_streams
    }

    /// Adds a delta sum point; returns the running total.
    pub(crate) fn add_sum(
        &mut self,
        key: &Labels,
        start_ns: u64,
        time_ns: u64,
        value: f64,
        now_ms: i64,
    ) -> Result<f64, Refused> {
        let full = self.full();
        match self.sums.get_mut(key) {
            Some(s) => {
                if time_ns <= s.last_ns || (start_ns != 0 && start_ns < s.last_ns) {
                    return Err(Refused::OutOfOrder);
                }
                s.total += value;
                s.last_ns = time_ns;
                s.seen_ms = now_ms;
                Ok(s.total)
            }
            None if full => Err(Refused::StreamLimit),
            None => {
                self.sums.insert(
                    key.clone(),
                    SumStream {
                        total: value,
                        last_ns: time_ns,
                        seen_ms: now_ms,
                    },
                );
                Ok(value)
            }
        }
    }

    /// Adds a delta histogram point; returns the running totals. A point with other bucket bounds
    /// than the stream's starts the stream again.
    pub(crate) fn add_histogram(
        &mut self,
        key: &Labels,
        start_ns: u64,
        time_ns: u64,
        delta: HistogramDelta<'_>,
        now_ms: i64,
    ) -> Result<HistogramTotals, Refused> {
        let full = self.full();
        let fresh = || HistogramStream {
            count: delta.count,
            sum: delta.sum.unwrap_or(0.0),
            bounds: delta.bounds.to_vec(),
            buckets: delta.buckets.to_vec(),
            last_ns: time_ns,
            seen_ms: now_ms,
        };
        let totals = |s: &HistogramStream| HistogramTotals {
            count: s.count,
            sum: s.sum,
            buckets: s.buckets.clone(),
        };
        match self.histograms.get_mut(key) {
            Some(s) => {
                if time_ns <= s.last_ns || (start_ns != 0 && start_ns < s.last_ns) {
                    return Err(Refused::OutOfOrder);
                }
                let same_layout = s.buckets.len() == delta.buckets.len()
                    && s.bounds.len() == delta.bounds.len()
                    && s.bounds
                        .iter()
                        .zip(delta.bounds)
                        .all(|(a, b)| a.to_bits() == b.to_bits());
                if same_layout {
                    s.count = s.count.wrapping_add(delta.count);
                    s.sum += delta.sum.unwrap_or(0.0);
                    for (acc, d) in s.buckets.iter_mut().zip(delta.buckets) {
                        *acc = acc.wrapping_add(*d);
                    }
                    s.last_ns = time_ns;
                    s.seen_ms = now_ms;
                } else {
                    *s = fresh();
                }
                Ok(totals(s))
            }
            None if full => Err(Refused::StreamLimit),
            None => {
                let s = fresh();
                let t = totals(&s);
                self.histograms.insert(key.clone(), s);
                Ok(t)
            }
        }
    }

    /// Forgets a stream whose source marked it ended (a point without a recorded value).
    pub(crate) fn end_sum(&mut self, key: &Labels) {
        self.sums.remove(key);
    }

    pub(crate) fn end_histogram(&mut self, key: &Labels) {
        self.histograms.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(v: &str) -> Labels {
        Labels::from_pairs(&[("__name__", "m"), ("k", v)]).unwrap()
    }

    #[test]
    fn sums_accumulate_and_refuse_overlaps() {
        let mut d = DeltaState::default();
        assert_eq!(d.add_sum(&key("a"), 0, 10, 5.0, 0), Ok(5.0));
        assert_eq!(d.add_sum(&key("a"), 10, 20, 3.0, 0), Ok(8.0));
        // A resend of the same interval, an earlier end, an overlapping start.
        assert_eq!(d.add_sum(&key("a"), 10, 20, 3.0, 0), Err(Refused::OutOfOrder));
        assert_eq!(d.add_sum(&key("a"), 0, 15, 1.0, 0), Err(Refused::OutOfOrder));
        assert_eq!(d.add_sum(&key("a"), 15, 30, 1.0, 0), Err(Refused::OutOfOrder));
        // A gap is fine: the total keeps counting.
        assert_eq!(d.add_sum(&key("a"), 40, 50, 1.0, 0), Ok(9.0));
        assert_eq!(d.add_sum(&key("b"), 0, 10, 1.0, 0), Ok(1.0));
        d.end_sum(&key("a"));
        assert_eq!(d.add_sum(&key("a"), 50, 60, 2.0, 0), Ok(2.0));
    }

    #[test]
    fn streams_are_bounded_and_expire() {
        let mut d = DeltaState::new(2, Duration::from_secs(60));
        assert!(d.add_sum(&key("a"), 0, 1, 1.0, 0).is_ok());
        assert!(d.add_sum(&key("b"), 0, 1, 1.0, 30_000).is_ok());
        assert_eq!(d.add_sum(&key("c"), 0, 1, 1.0, 30_000), Err(Refused::StreamLimit));
        // Existing streams keep going at the limit.
        assert_eq!(d.add_sum(&key("a"), 1, 2, 1.0, 30_000), Ok(2.0));
        d.expire(95_000);
        assert_eq!(d.streams(), 0);
        assert_eq!(d.add_sum(&key("c"), 0, 1, 1.0, 95_000), Ok(1.0));
    }

    #[test]
    fn histograms_accumulate_per_bucket_and_restart_on_new_bounds() {
        let mut d = DeltaState::default();
        let h = |count, buckets: &'static [u64], bounds: &'static [f64]| HistogramDelta {
            count,
            sum: Some(count as f64),
            bounds,
            buckets,
        };
        let t = d
            .add_histogram(&key("h"), 0, 1, h(3, &[1, 2, 0], &[1.0, 2.0]), 0)
            .unwrap();
        assert_eq!((t.count, t.sum, t.buckets), (3, 3.0, vec![1, 2, 0]));
        let t = d
            .add_histogram(&key("h"), 1, 2, h(2, &[0, 1, 1], &[1.0, 2.0]), 0)
            .unwrap();
        assert_eq!((t.count, t.sum, t.buckets), (5, 5.0, vec![1, 3, 1]));
        let t = d
            .add_histogram(&key("h"), 2, 3, h(1, &[1, 0], &[5.0]), 0)
            .unwrap();
        assert_eq!((t.count, t.buckets), (1, vec![1, 0]));
        assert!(
            d.add_histogram(&key("h"), 2, 3, h(1, &[1, 0], &[5.0]), 0)
                .is_err()
        );
    }
}
