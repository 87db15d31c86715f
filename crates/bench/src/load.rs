//! Sends a generated fleet to one write endpoint as a backfill: every host's scrapes in time order,
//! hosts interleaved, each sender thread owning a fixed subset of hosts so that per-series order holds.
//! Threads stay within a few minutes of each other, so a server that judges lateness against its
//! newest sample (Prometheus's head, Pharos's out-of-order window) sees no late data.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::Url;
use reqwest::blocking::Client;
use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderMap, HeaderValue};
use serde::Serialize;

use crate::fleet::{Fleet, Host};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// Prometheus remote write 1.0 (protobuf + snappy).
    RemoteWrite,
    /// Prometheus remote write 2.0.
    RemoteWriteV2,
    /// InfluxDB 1.x line protocol, one measurement per metric name with the field `value`.
    Influx,
}

impl Protocol {
    /// The endpoint a bare base URL gets.
    fn default_path(self) -> &'static str {
        match self {
            Protocol::RemoteWrite | Protocol::RemoteWriteV2 => "/api/v1/write",
            Protocol::Influx => "/write",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    /// Shown in front of progress lines.
    pub name: String,
    pub url: Url,
    pub protocol: Protocol,
    pub concurrency: usize,
    pub batch: usize,
    pub progress_every: Duration,
}

/// Turns `--url` into the write endpoint: a bare `http://host:port` gets the protocol's path, and line
/// protocol always gets `precision=ms` (and `db=bench` when no database is named).
pub fn endpoint(url: &str, protocol: Protocol) -> anyhow::Result<Url> {
    let mut u = Url::parse(url).with_context(|| format!("invalid --url {url:?}"))?;
    if u.path() == "/" || u.path().is_empty() {
        u.set_path(protocol.default_path());
    }
    if protocol == Protocol::Influx {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .filter(|(k, _)| k != "precision")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let has_db = pairs.iter().any(|(k, _)| k == "db");
        let mut q = u.query_pairs_mut();
        q.clear();
        for (k, v) in &pairs {
            q.append_pair(k, v);
        }
        if !has_db {
            q.append_pair("db", "bench");
        }
        q.append_pair("precision", "ms");
        drop(q);
    }
    Ok(u)
}

/// What a load run did. Samples are counted per request: acknowledged (2xx), refused (any other
/// status) or lost (no answer after the retries).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub samples_sent: u64,
    pub samples_acked: u64,
    pub samples_refused: u64,
    pub samples_lost: u64,
    pub requests: u64,
    pub requests_refused: u64,
    pub requests_lost: u64,
    pub network_retries: u64,
    pub body_bytes: u64,
    pub wall_seconds: f64,
}

#[derive(Default)]
struct Counters {
    generated: AtomicU64,
    acked: AtomicU64,
    refused: AtomicU64,
    lost: AtomicU64,
    requests: AtomicU64,
    requests_refused: AtomicU64,
    requests_lost: AtomicU64,
    retries: AtomicU64,
    body_bytes: AtomicU64,
    printed: AtomicUsize,
    abort: AtomicBool,
}

/// Bodies of refused requests printed per run.
const PRINT_REFUSED: usize = 5;
/// Requests given up on before the whole run is abandoned: the server is gone.
const MAX_LOST_REQUESTS: u64 = 10;
const MAX_ATTEMPTS: u32 = 8;

/// Sends the whole fleet and returns the counts. Fails only when the server stops answering.
pub fn run(fleet: &Fleet, opts: &Options) -> anyhow::Result<Stats> {
    let threads = opts.concurrency.clamp(1, fleet.hosts.max(1));
    let batch = opts.batch.max(1);
    let client = Client::builder()
        .timeout(Duration::from_secs(300))
        .pool_max_idle_per_host(threads)
        .build()
        .context("building the HTTP client")?;
    let counters = Counters::default();
    let progress: Vec<AtomicUsize> = (0..threads).map(|_| AtomicUsize::new(0)).collect();
    let done = AtomicUsize::new(0);
    // Senders may run ahead of the slowest one by at most five minutes of data.
    let window = (300_000 / fleet.interval_ms).max(1) as usize;
    let total = fleet.samples();
    let start = Instant::now();

    let results: Vec<anyhow::Result<()>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                let (client, counters, progress, done) = (&client, &counters, &progress, &done);
                scope.spawn(move || {
                    let r = sender(fleet, opts, k, threads, batch, window, client, counters, progress);
                    if let Some(p) = progress.get(k) {
                        p.store(usize::MAX, Ordering::Release);
                    }
                    if r.is_err() {
                        counters.abort.store(true, Ordering::Release);
                    }
                    done.fetch_add(1, Ordering::AcqRel);
                    r
                })
            })
            .collect();
        let mut last_print = Instant::now();
        let mut last_acked = 0;
        while done.load(Ordering::Acquire) < threads {
            std::thread::sleep(Duration::from_millis(100));
            if last_print.elapsed() >= opts.progress_every {
                let acked = counters.acked.load(Ordering::Relaxed);
                let rate = (acked - last_acked) as f64 / last_print.elapsed().as_secs_f64();
                eprintln!(
                    "{}: {acked}/{total} samples acknowledged ({:.1}%), {rate:.0}/s now, {:.0}/s average, {} refused, {} lost",
                    opts.name,
                    acked as f64 * 100.0 / total.max(1) as f64,
                    acked as f64 / start.elapsed().as_secs_f64(),
                    counters.refused.load(Ordering::Relaxed),
                    counters.lost.load(Ordering::Relaxed),
                );
                last_print = Instant::now();
                last_acked = acked;
            }
        }
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a sender thread panicked")))
            })
            .collect()
    });
    let wall = start.elapsed().as_secs_f64();
    let c = &counters;
    let stats = Stats {
        samples_sent: c.generated.load(Ordering::Relaxed),
        samples_acked: c.acked.load(Ordering::Relaxed),
        samples_refused: c.refused.load(Ordering::Relaxed),
        samples_lost: c.lost.load(Ordering::Relaxed),
        requests: c.requests.load(Ordering::Relaxed),
        requests_refused: c.requests_refused.load(Ordering::Relaxed),
        requests_lost: c.requests_lost.load(Ordering::Relaxed),
        network_retries: c.retries.load(Ordering::Relaxed),
        body_bytes: c.body_bytes.load(Ordering::Relaxed),
        wall_seconds: wall,
    };
    eprintln!(
        "{}: done in {wall:.2}s: {} samples sent, {} acknowledged, {} refused, {} lost; {} requests ({} refused, {} lost, {} retries), {} body bytes; {:.0} samples/s",
        opts.name,
        stats.samples_sent,
        stats.samples_acked,
        stats.samples_refused,
        stats.samples_lost,
        stats.requests,
        stats.requests_refused,
        stats.requests_lost,
        stats.network_retries,
        stats.body_bytes,
        stats.samples_acked as f64 / wall.max(1e-9),
    );
    for r in results {
        r?;
    }
    Ok(stats)
}

/// One pending sample: which of this thread's hosts, which of its series, when, what.
struct Pending {
    host: u32,
    series: u32,
    t: i64,
    v: f64,
}

/// Per-series wire form, built once per thread.
enum Encoder {
    V1(Vec<Vec<Vec<remote::v1::Label>>>),
    V2(Vec<Vec<Vec<(String, String)>>>),
    /// `measurement,tag=value,… value=`
    Influx(Vec<Vec<String>>),
}

impl Encoder {
    fn new(protocol: Protocol, hosts: &[Host]) -> Self {
        let series = hosts.iter().map(Host::series);
        match protocol {
            Protocol::RemoteWrite => Encoder::V1(
                series
                    .map(|h| {
                        h.into_iter()
                            .map(|s| {
                                s.into_iter()
                                    .map(|(name, value)| remote::v1::Label { name, value })
                                    .collect()
                            })
                            .collect()
                    })
                    .collect(),
            ),
            Protocol::RemoteWriteV2 => Encoder::V2(series.collect()),
            Protocol::Influx => Encoder::Influx(
                series
                    .map(|h| h.iter().map(|s| line_prefix(s)).collect())
                    .collect(),
            ),
        }
    }

    fn headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        match self {
            Encoder::V1(_) | Encoder::V2(_) => {
                let v = if matches!(self, Encoder::V1(_)) {
                    remote::Version::V1
                } else {
                    remote::Version::V2
                };
                h.insert(CONTENT_TYPE, HeaderValue::from_static(v.content_type()));
                h.insert(
                    CONTENT_ENCODING,
                    HeaderValue::from_static(remote::CONTENT_ENCODING),
                );
                h.insert(
                    remote::VERSION_HEADER,
                    HeaderValue::from_static(v.version_header_value()),
                );
            }
            Encoder::Influx(_) => {
                h.insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                );
            }
        }
        h
    }

    fn encode(&self, batch: &[Pending]) -> Vec<u8> {
        match self {
            Encoder::V1(labels) => {
                let mut index: HashMap<(u32, u32), usize> = HashMap::new();
                let mut timeseries: Vec<remote::v1::TimeSeries> = Vec::new();
                for p in batch {
                    let i = *index.entry((p.host, p.series)).or_insert_with(|| {
                        let labels = labels
                            .get(p.host as usize)
                            .and_then(|h| h.get(p.series as usize))
                            .cloned()
                            .unwrap_or_default();
                        timeseries.push(remote::v1::TimeSeries {
                            labels,
                            ..Default::default()
                        });
                        timeseries.len() - 1
                    });
                    if let Some(ts) = timeseries.get_mut(i) {
                        ts.samples.push(remote::v1::Sample {
                            value: p.v,
                            timestamp: p.t,
                        });
                    }
                }
                remote::encode_v1(&remote::v1::WriteRequest {
                    timeseries,
                    metadata: Vec::new(),
                })
            }
            Encoder::V2(labels) => {
                let mut index: HashMap<(u32, u32), usize> = HashMap::new();
                let mut series: Vec<remote::OwnedSeries> = Vec::new();
                for p in batch {
                    let i = *index.entry((p.host, p.series)).or_insert_with(|| {
                        let l = labels
                            .get(p.host as usize)
                            .and_then(|h| h.get(p.series as usize))
                            .cloned()
                            .unwrap_or_default();
                        series.push((l, Vec::new()));
                        series.len() - 1
                    });
                    if let Some(s) = series.get_mut(i) {
                        s.1.push((p.t, p.v));
                    }
                }
                remote::encode_v2(&remote::build_v2(&series))
            }
            Encoder::Influx(prefixes) => {
                let mut body = String::with_capacity(batch.len() * 160);
                for p in batch {
                    let prefix = prefixes
                        .get(p.host as usize)
                        .and_then(|h| h.get(p.series as usize))
                        .map_or("", String::as_str);
                    body.push_str(prefix);
                    // `{}` on f64 never uses an exponent, and without an `i` suffix InfluxDB reads a float.
                    let _ = writeln!(body, "{} {}", p.v, p.t);
                }
                body.into_bytes()
            }
        }
    }
}

/// Escapes a line-protocol measurement (`esc_eq` false) or tag key/value (`esc_eq` true).
fn escape(out: &mut String, s: &str, esc_eq: bool) {
    for c in s.chars() {
        if c == ',' || c == ' ' || (esc_eq && c == '=') {
            out.push('\\');
        }
        out.push(c);
    }
}

/// `metric,tag=v,… value=` for one series; tags are the labels other than `__name__`, in order.
pub fn line_prefix(labels: &[(String, String)]) -> String {
    let mut out = String::new();
    let name = labels
        .iter()
        .find(|(n, _)| n == "__name__")
        .map_or("", |(_, v)| v.as_str());
    escape(&mut out, name, false);
    for (n, v) in labels.iter().filter(|(n, _)| n != "__name__") {
        out.push(',');
        escape(&mut out, n, true);
        out.push('=');
        escape(&mut out, v, true);
    }
    out.push_str(" value=");
    out
}

#[allow(clippy::too_many_arguments)]
fn sender(
    fleet: &Fleet,
    opts: &Options,
    k: usize,
    threads: usize,
    batch_size: usize,
    window: usize,
    client: &Client,
    counters: &Counters,
    progress: &[AtomicUsize],
) -> anyhow::Result<()> {
    let mut hosts: Vec<Host> = (k..fleet.hosts).step_by(threads).map(|i| fleet.host(i)).collect();
    // Within a scrape slot, hosts go in the order they are scraped, so this thread's timestamps never
    // go backwards.
    hosts.sort_by_key(|h| (h.offset_ms, h.index));
    let encoder = Encoder::new(opts.protocol, &hosts);
    let headers = encoder.headers();
    let mut batch: Vec<Pending> = Vec::with_capacity(batch_size);
    let mut values = Vec::new();
    let me = progress.get(k).context("sender index out of range")?;
    for step in 0..fleet.steps {
        loop {
            if counters.abort.load(Ordering::Acquire) {
                return Ok(());
            }
            let slowest = progress
                .iter()
                .map(|p| p.load(Ordering::Acquire))
                .min()
                .unwrap_or(step);
            if step <= slowest.saturating_add(window) {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        for (hi, host) in hosts.iter_mut().enumerate() {
            let t = host.timestamp(step);
            host.values(t, &mut values);
            for (si, v) in values.iter().enumerate() {
                batch.push(Pending {
                    host: hi as u32,
                    series: si as u32,
                    t,
                    v: *v,
                });
                if batch.len() >= batch_size {
                    flush(opts, client, &encoder, &headers, &mut batch, counters)?;
                }
            }
            host.advance();
        }
        me.store(step + 1, Ordering::Release);
    }
    if !batch.is_empty() {
        flush(opts, client, &encoder, &headers, &mut batch, counters)?;
    }
    Ok(())
}

fn flush(
    opts: &Options,
    client: &Client,
    encoder: &Encoder,
    headers: &HeaderMap,
    batch: &mut Vec<Pending>,
    c: &Counters,
) -> anyhow::Result<()> {
    let n = batch.len() as u64;
    let body = encoder.encode(batch);
    batch.clear();
    c.generated.fetch_add(n, Ordering::Relaxed);
    c.requests.fetch_add(1, Ordering::Relaxed);
    c.body_bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
    let request = client
        .post(opts.url.clone())
        .headers(headers.clone())
        .body(body)
        .build()
        .context("building a request")?;
    let mut backoff = Duration::from_millis(100);
    for attempt in 1..=MAX_ATTEMPTS {
        let Some(req) = request.try_clone() else {
            bail!("request body cannot be retried")
        };
        match client.execute(req) {
            Ok(resp) if resp.status().is_success() => {
                c.acked.fetch_add(n, Ordering::Relaxed);
                return Ok(());
            }
            Ok(resp) => {
                let status = resp.status();
                c.refused.fetch_add(n, Ordering::Relaxed);
                c.requests_refused.fetch_add(1, Ordering::Relaxed);
                if c.printed.fetch_add(1, Ordering::Relaxed) < PRINT_REFUSED {
                    let text = resp.text().unwrap_or_default();
                    let text: String = text.trim().chars().take(500).collect();
                    eprintln!("{}: HTTP {status} for a batch of {n} samples: {text}", opts.name);
                }
                return Ok(());
            }
            Err(e) if attempt < MAX_ATTEMPTS => {
                c.retries.fetch_add(1, Ordering::Relaxed);
                if attempt == 1 {
                    eprintln!("{}: request failed, retrying: {e}", opts.name);
                }
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
            Err(e) => {
                c.lost.fetch_add(n, Ordering::Relaxed);
                let lost = c.requests_lost.fetch_add(1, Ordering::Relaxed) + 1;
                eprintln!(
                    "{}: giving up on a batch of {n} samples after {MAX_ATTEMPTS} attempts: {e}",
                    opts.name
                );
                if lost >= MAX_LOST_REQUESTS {
                    bail!(
                        "{}: {lost} requests got no answer; is the server at {} still running?",
                        opts.name,
                        opts.url
                    );
                }
                return Ok(());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let u = |s, p| {
            endpoint(s, p)
                .map(|u| u.to_string())
                .unwrap_or_else(|e| e.to_string())
        };
        assert_eq!(
            u("http://127.0.0.1:9190", Protocol::RemoteWrite),
            "http://127.0.0.1:9190/api/v1/write"
        );
        assert_eq!(
            u("http://h:1/custom", Protocol::RemoteWriteV2),
            "http://h:1/custom"
        );
        assert_eq!(
            u("http://h:1", Protocol::Influx),
            "http://h:1/write?db=bench&precision=ms"
        );
        assert_eq!(
            u("http://h:1/write?db=x&precision=s", Protocol::Influx),
            "http://h:1/write?db=x&precision=ms"
        );
    }

    #[test]
    fn line_protocol_escaping() {
        let labels: Vec<(String, String)> = [
            ("__name__", "node_uname_info"),
            ("job", "node"),
            ("version", "#1 SMP a=b,c"),
        ]
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
        assert_eq!(
            line_prefix(&labels),
            r"node_uname_info,job=node,version=#1\ SMP\ a\=b\,c value="
        );
    }

    #[test]
    fn remote_write_batches_group_samples_by_series() {
        let fleet = Fleet::new(2, 10_000, 60_000, 1_700_000_000_000, 1);
        let hosts = [fleet.host(0), fleet.host(1)];
        let enc = Encoder::new(Protocol::RemoteWrite, &hosts);
        let batch = [
            Pending {
                host: 0,
                series: 3,
                t: 1,
                v: 1.0,
            },
            Pending {
                host: 1,
                series: 3,
                t: 2,
                v: 2.0,
            },
            Pending {
                host: 0,
                series: 3,
                t: 11,
                v: 3.0,
            },
        ];
        let raw = remote::decompress(&enc.encode(&batch), 1 << 20).unwrap();
        let req = remote::Request::decode(remote::Version::V1, &raw).unwrap();
        assert_eq!(req.counts().series, 2);
        assert_eq!(req.counts().samples, 3);
        let enc = Encoder::new(Protocol::Influx, &hosts);
        let body = String::from_utf8(enc.encode(&batch)).unwrap();
        assert_eq!(body.lines().count(), 3);
        assert!(
            body.lines().all(|l| l.starts_with("node_cpu_seconds_total,")),
            "{body}"
        );
        assert!(body.ends_with(" value=3 11\n"), "{body}");
    }
}
