//! One receiver's sender: a tokio task that fills a batch from the buffer (up to
//! `max_samples_per_send`, or whatever arrived within `batch_send_deadline` of its first sample),
//! encodes it as remote write 1.0 or 2.0, POSTs it, and moves the receiver's cursor once the
//! receiver answers 2xx. Retryable failures send the same batch again after a backoff; nothing is
//! skipped except what the receiver refuses for good (4xx) and what a full buffer dropped.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use remote::{Version, v1};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{debug, error, info, warn};

use crate::buffer::Buffer;
use crate::config::RemoteWrite;
use crate::format::Pos;
use crate::metrics::{Metrics, NO_TIMESTAMP, ReceiverMetrics};
use crate::reader::{Batch, Fill, Reader};

/// What the senders are asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Run,
    /// Send what is buffered without waiting for fuller batches, then stop.
    Drain,
    /// Stop now, abandoning a request in flight.
    Abort,
}

/// A Retry-After longer than this is taken as this: a receiver's clock or configuration error
/// should not park the sender for hours.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);
/// Consecutive failure warnings are logged at most this often; the rest go to debug.
const WARN_EVERY: Duration = Duration::from_secs(30);
/// Most bytes of an error response kept for the log.
const MAX_ERROR_BODY: usize = 1024;

pub(crate) struct Sender {
    pub receiver: usize,
    pub cfg: RemoteWrite,
    pub client: reqwest::Client,
    pub buffer: Arc<Buffer>,
    pub metrics: Arc<Metrics>,
    pub mode: watch::Receiver<Mode>,
}

enum Outcome {
    Sent,
    Unsupported(String),
    Retry { why: String, after: Option<Duration> },
    Refused(String),
}

enum Delivery {
    Done,
    Aborted,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Sender {
    fn rm(&self) -> &ReceiverMetrics {
        &self.metrics.receivers[self.receiver]
    }

    fn mode(&self) -> Mode {
        *self.mode.borrow()
    }

    /// Waits until the mode is `Abort`.
    async fn aborted(mode: &mut watch::Receiver<Mode>) {
        let _ = mode.wait_for(|m| *m == Mode::Abort).await;
    }

    /// Sleeps for `d`; false if told to abort meanwhile.
    async fn pause(&mut self, d: Duration) -> bool {
        let mut mode = self.mode.clone();
        tokio::select! {
            _ = tokio::time::sleep(d) => true,
            _ = Self::aborted(&mut mode) => false,
        }
    }

    pub(crate) async fn run(mut self, reader: Reader) {
        let mut reader = Some(reader);
        let mut batch = Some(Batch::default());
        let mut head_rx = self.buffer.subscribe();
        let mut mode_rx = self.mode.clone();
        let mut version = self.cfg.protocol;
        let mut io_backoff = self.cfg.queue.min_backoff;
        let max = self.cfg.queue.max_samples_per_send;
        loop {
            let (Some(mut r), Some(mut b)) = (reader.take(), batch.take()) else {
                return;
            };
            b.clear();
            let start = r.pos();
            let mut deadline: Option<Instant> = None;
            // Fill the batch: read what is there, then wait for more until it is full or its
            // deadline passes.
            let caught_up = loop {
                if self.mode() == Mode::Abort {
                    self.finish(r.pos());
                    return;
                }
                let head = *head_rx.borrow_and_update();
                let floor = self.buffer.floor();
                let min_t = self
                    .cfg
                    .queue
                    .sample_age_limit
                    .map(|d| now_ms().saturating_sub(d.as_millis() as i64));
                let joined = tokio::task::spawn_blocking(move || {
                    let res = r.fill(&mut b, max, head, floor, min_t);
                    (r, b, res)
                })
                .await;
                let res;
                (r, b, res) = match joined {
                    Ok(x) => x,
                    Err(e) => {
                        error!(receiver = %self.cfg.remote_name, error = %e, "buffer reader failed");
                        return;
                    }
                };
                match res {
                    Err(e) => {
                        warn!(receiver = %self.cfg.remote_name, error = %e, "reading the remote-write buffer failed; retrying");
                        if !self.pause(io_backoff).await {
                            self.finish(r.pos());
                            return;
                        }
                        io_backoff = (io_backoff * 2).min(self.cfg.queue.max_backoff);
                        continue;
                    }
                    Ok(fill) => {
                        io_backoff = self.cfg.queue.min_backoff;
                        match b.first_t {
                            Some(t) if deadline.is_none() => {
                                deadline = Some(Instant::now() + self.cfg.queue.batch_send_deadline);
                                self.rm().oldest_unsent_ms.store(t, Ordering::Relaxed);
                            }
                            Some(_) => {}
                            // Everything before the reader was acknowledged by now.
                            None if fill == Fill::CaughtUp => {
                                self.rm().oldest_unsent_ms.store(NO_TIMESTAMP, Ordering::Relaxed);
                            }
                            None => {}
                        }
                        if fill == Fill::Full {
                            break false;
                        }
                    }
                }
                if self.mode() != Mode::Run {
                    // Appends stop before the drain starts, so a head newer than the one just
                    // read is the last one: read up to it before concluding there is nothing left.
                    if b.is_empty() && r.pos() == start && head_rx.has_changed().unwrap_or(false) {
                        continue;
                    }
                    break true;
                }
                if b.is_empty() && r.pos() != start {
                    break true;
                }
                tokio::select! {
                    changed = head_rx.changed() => {
                        if changed.is_err() {
                            return;
                        }
                    }
                    _ = sleep_until(deadline) => break true,
                    changed = mode_rx.changed() => {
                        if changed.is_err() {
                            return;
                        }
                    }
                }
            };
            let end = r.pos();
            if end == start {
                // Nothing left: only a draining sender gets here.
                self.rm().oldest_unsent_ms.store(NO_TIMESTAMP, Ordering::Relaxed);
                self.finish(end);
                return;
            }
            if !self.buffer.take(self.receiver, start, end) {
                // The buffer dropped the segment this batch starts in, and counted its samples.
                r.seek(Pos::start_of(self.buffer.floor()));
                reader = Some(r);
                batch = Some(b);
                continue;
            }
            if !b.is_empty() {
                match self.deliver(&b, &mut version).await {
                    Delivery::Done => {}
                    Delivery::Aborted => {
                        self.finish(start);
                        return;
                    }
                }
            }
            let crossed = self.buffer.ack(self.receiver, end);
            if caught_up {
                self.rm().oldest_unsent_ms.store(NO_TIMESTAMP, Ordering::Relaxed);
            }
            if crossed {
                self.release().await;
            }
            reader = Some(r);
            batch = Some(b);
        }
    }

    /// The cursor entered a new segment: deletes the segments every receiver has passed and
    /// writes the cursor now, so that a restart does not look for them. (Otherwise the forwarder
    /// writes cursors every second.)
    async fn release(&self) {
        let buffer = self.buffer.clone();
        let receiver = self.receiver;
        let done = tokio::task::spawn_blocking(move || {
            buffer.release();
            buffer.persist(receiver)
        })
        .await;
        if let Ok(Err(e)) = done {
            warn!(receiver = %self.cfg.remote_name, error = %e, "writing the receiver's cursor failed");
        }
    }

    /// Logs where the sender stopped; the cursor itself is written by whoever stops the
    /// forwarder.
    fn finish(&self, at: Pos) {
        debug!(receiver = %self.cfg.remote_name, segment = at.seg, offset = at.off, "remote-write sender stopped");
    }

    /// Sends one batch until the receiver takes it or refuses it for good.
    async fn deliver(&mut self, batch: &Batch, version: &mut Version) -> Delivery {
        let mut backoff = self.cfg.queue.min_backoff;
        let mut body = encode(batch, *version);
        let mut last_warn: Option<Instant> = None;
        let mut failures = 0u64;
        loop {
            if self.mode() == Mode::Abort {
                return Delivery::Aborted;
            }
            self.rm().requests.fetch_add(1, Ordering::Relaxed);
            let mut mode = self.mode.clone();
            let outcome = tokio::select! {
                o = self.post(body.clone(), *version) => o,
                _ = Self::aborted(&mut mode) => return Delivery::Aborted,
            };
            let samples = batch.samples as u64;
            match outcome {
                Outcome::Sent => {
                    let rm = self.rm();
                    rm.samples_sent.fetch_add(samples, Ordering::Relaxed);
                    rm.bytes_sent.fetch_add(body.len() as u64, Ordering::Relaxed);
                    rm.highest_sent_ms.fetch_max(batch.max_t, Ordering::Relaxed);
                    if failures > 0 {
                        info!(receiver = %self.cfg.remote_name, url = %self.cfg.url, attempts = failures + 1,
                            "remote write recovered");
                    }
                    return Delivery::Done;
                }
                Outcome::Unsupported(msg) if *version == Version::V2 => {
                    warn!(receiver = %self.cfg.remote_name, url = %self.cfg.url, response = %msg,
                        "receiver refused remote write 2.0 (415 Unsupported Media Type); sending it 1.0 from now on");
                    self.rm().fell_back.store(true, Ordering::Relaxed);
                    *version = Version::V1;
                    body = encode(batch, *version);
                }
                Outcome::Unsupported(msg) | Outcome::Refused(msg) => {
                    error!(receiver = %self.cfg.remote_name, url = %self.cfg.url, samples, response = %msg,
                        "receiver refused a batch; dropping it (not retryable)");
                    self.rm().samples_failed.fetch_add(samples, Ordering::Relaxed);
                    return Delivery::Done;
                }
                Outcome::Retry { why, after } => {
                    failures += 1;
                    self.rm().samples_retried.fetch_add(samples, Ordering::Relaxed);
                    let wait = after.map_or(backoff, |a| a.min(MAX_RETRY_AFTER));
                    if last_warn.is_none_or(|t| t.elapsed() >= WARN_EVERY) {
                        last_warn = Some(Instant::now());
                        warn!(receiver = %self.cfg.remote_name, url = %self.cfg.url, error = %why, attempts = failures,
                            retry_in = ?wait, "remote write failed; retrying the same batch");
                    } else {
                        debug!(receiver = %self.cfg.remote_name, error = %why, attempts = failures, retry_in = ?wait,
                            "remote write failed; retrying");
                    }
                    if !self.pause(wait).await {
                        return Delivery::Aborted;
                    }
                    backoff = (wait.max(backoff) * 2).min(self.cfg.queue.max_backoff);
                }
            }
        }
    }

    async fn post(&self, body: Bytes, version: Version) -> Outcome {
        let resp = self
            .client
            .post(&self.cfg.url)
            .timeout(self.cfg.timeout)
            .header(CONTENT_ENCODING, remote::CONTENT_ENCODING)
            .header(CONTENT_TYPE, version.content_type())
            .header(remote::VERSION_HEADER, version.version_header_value())
            .body(body)
            .send()
            .await;
        let mut resp = match resp {
            Ok(r) => r,
            Err(e) => {
                return Outcome::Retry {
                    why: describe(&e),
                    after: None,
                };
            }
        };
        let status = resp.status();
        let after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(retry_after);
        // Read (a bounded part of) the body either way, so the connection can be reused and the
        // log says what the receiver said.
        let mut text = Vec::new();
        while let Ok(Some(chunk)) = resp.chunk().await {
            if text.len() < MAX_ERROR_BODY {
                let room = MAX_ERROR_BODY - text.len();
                text.extend_from_slice(&chunk[..chunk.len().min(room)]);
            } else if !status.is_success() {
                break;
            }
        }
        if status.is_success() {
            return Outcome::Sent;
        }
        let msg = format!(
            "server returned HTTP status {status}: {}",
            String::from_utf8_lossy(&text).lines().next().unwrap_or("").trim()
        );
        if status.is_server_error()
            || (status == StatusCode::TOO_MANY_REQUESTS && self.cfg.queue.retry_on_http_429)
        {
            Outcome::Retry { why: msg, after }
        } else if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
            Outcome::Unsupported(msg)
        } else {
            Outcome::Refused(msg)
        }
    }
}

/// Sleeps until `at`, or forever when there is nothing to wait for.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "request timed out (remote_timeout)".to_owned();
    }
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

/// Encodes a batch as a snappy-compressed request body.
pub(crate) fn encode(batch: &Batch, version: Version) -> Bytes {
    let raw = match version {
        Version::V1 => remote::encode_v1(&v1::WriteRequest {
            timeseries: batch
                .groups
                .iter()
                .map(|(s, samples)| v1::TimeSeries {
                    labels: s
                        .labels
                        .iter()
                        .map(|(n, v)| v1::Label {
                            name: n.clone(),
                            value: v.clone(),
                        })
                        .collect(),
                    samples: samples
                        .iter()
                        .map(|&(timestamp, value)| v1::Sample { value, timestamp })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
            metadata: Vec::new(),
        }),
        Version::V2 => remote::encode_v2(&remote::build_v2_from(
            batch
                .groups
                .iter()
                .map(|(s, samples)| (s.labels.as_slice(), samples.as_slice())),
        )),
    };
    Bytes::from(raw)
}

/// A Retry-After value: delay seconds, or an HTTP date (IMF-fixdate) in the future.
pub(crate) fn retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return (secs > 0).then(|| Duration::from_secs(secs));
    }
    let at = parse_http_date(v)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs() as i64;
    (at > now).then(|| Duration::from_secs((at - now) as u64))
}

/// Seconds since the epoch of an IMF-fixdate such as `Sun, 06 Nov 1994 08:49:37 GMT`.
fn parse_http_date(s: &str) -> Option<i64> {
    let rest = s.split_once(", ")?.1;
    let mut parts = rest.split(' ');
    let day: i64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':');
    let h: i64 = hms.next()?.parse().ok()?;
    let m: i64 = hms.next()?.parse().ok()?;
    let sec: i64 = hms.next()?.parse().ok()?;
    if parts.next()? != "GMT" || !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + m * 60 + sec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        assert_eq!(retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(retry_after("0"), None);
        assert_eq!(retry_after("soon"), None);
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_http_date("Tue, 29 Feb 2000 12:00:00 GMT"),
            Some(951_825_600)
        );
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 UTC"), None);
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            None,
            "a date in the past"
        );
        assert!(retry_after("Fri, 01 Jan 2100 00:00:00 GMT").is_some());
    }
}
