//! `remote_write` entries as a prometheus.yml writes them, with Prometheus 2.x's defaults and
//! load-time checks, and Pharos's `buffer` section; both resolved into the types the forwarder runs
//! on. Unknown fields are errors naming the field; fields Pharos has no use for are accepted where
//! ignoring them changes nothing that is sent, and refused by name where it would.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use remote::Version;
use scrape::HttpClientConfig;
use scrape::config::{Authorization, BasicAuth, TlsConfig};
use scrape::relabel::{RelabelConfig, Rule};
use serde::Deserialize;

use crate::error::{Error, Result};

/// One `remote_write` entry as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteWriteYaml {
    pub url: String,
    pub name: Option<String>,
    pub remote_timeout: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub write_relabel_configs: Vec<RelabelConfig>,
    /// `prometheus.WriteRequest` (1.0, the default) or `io.prometheus.write.v2.Request` (2.0).
    pub protobuf_message: Option<String>,
    /// Accepted; scraped series carry no exemplars or native histograms in Pharos, so there is
    /// nothing to send either way.
    pub send_exemplars: Option<bool>,
    pub send_native_histograms: Option<bool>,
    /// Accepted and ignored: connections go to the address the resolver gives first.
    pub round_robin_dns: Option<bool>,
    pub basic_auth: Option<BasicAuth>,
    pub authorization: Option<Authorization>,
    pub bearer_token: Option<String>,
    pub bearer_token_file: Option<String>,
    pub tls_config: Option<TlsConfig>,
    pub proxy_url: Option<String>,
    pub follow_redirects: Option<bool>,
    pub enable_http2: Option<bool>,
    pub queue_config: Option<QueueConfigYaml>,
    /// Accepted and ignored: metadata is not sent (the scrape path keeps none).
    pub metadata_config: Option<MetadataConfigYaml>,
    // Options Pharos does not implement: named so the error says so plainly.
    pub oauth2: Option<serde_yaml::Value>,
    pub sigv4: Option<serde_yaml::Value>,
    pub azuread: Option<serde_yaml::Value>,
    pub google_iam: Option<serde_yaml::Value>,
    pub no_proxy: Option<serde_yaml::Value>,
    pub proxy_from_environment: Option<serde_yaml::Value>,
    pub proxy_connect_header: Option<serde_yaml::Value>,
    pub http_headers: Option<serde_yaml::Value>,
}

/// `queue_config` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfigYaml {
    pub capacity: Option<u64>,
    pub max_shards: Option<u64>,
    pub min_shards: Option<u64>,
    pub max_samples_per_send: Option<u64>,
    pub batch_send_deadline: Option<String>,
    pub min_backoff: Option<String>,
    pub max_backoff: Option<String>,
    pub retry_on_http_429: Option<bool>,
    pub sample_age_limit: Option<String>,
}

/// `metadata_config` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataConfigYaml {
    pub send: Option<bool>,
    pub send_interval: Option<String>,
    pub max_samples_per_send: Option<u64>,
}

/// Pharos's `buffer` section as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BufferYaml {
    /// The buffer directory; the caller's default (under the data directory) when unset.
    pub path: Option<String>,
    /// A byte count or a size such as `256MiB` or `2GB` (binary units either way).
    pub max_bytes: Option<serde_yaml::Value>,
    /// `always`, or a duration such as `1s` (the default).
    pub fsync: Option<String>,
}

/// When appended samples are made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fsync {
    /// `append` returns after the samples' bytes were fsynced: an acknowledged append survives a
    /// power loss.
    Always,
    /// `append` returns after the bytes reached the kernel (`write(2)`), and a background task
    /// fsyncs at this interval: an acknowledged append survives a crash of the process, and a power
    /// loss loses at most the last interval's appends.
    Interval(Duration),
}

/// The buffer, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BufferConfig {
    pub path: PathBuf,
    /// Most bytes the segments may take together; past it the oldest segment is dropped.
    pub max_bytes: u64,
    /// A segment is closed and a new one started once it is this large. Dropping works a segment
    /// at a time, so this is the granularity of loss when the buffer is full.
    pub segment_bytes: u64,
    pub fsync: Fsync,
}

pub const DEFAULT_MAX_BYTES: u64 = 256 << 20;
pub const DEFAULT_FSYNC_INTERVAL: Duration = Duration::from_secs(1);
/// Smallest `max_bytes` accepted: room for a few of the smallest segments.
pub const MIN_MAX_BYTES: u64 = 64 << 10;

impl BufferConfig {
    /// Defaults: 256 MiB, fsync every second.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self::with_max_bytes(path, DEFAULT_MAX_BYTES)
    }

    /// `segment_bytes` is an eighth of `max_bytes`, between 16 KiB and 64 MiB: dropping a full
    /// buffer's oldest segment loses an eighth of it at most, and a segment is never so small that
    /// its per-segment series records dominate.
    pub fn with_max_bytes(path: impl Into<PathBuf>, max_bytes: u64) -> Self {
        Self {
            path: path.into(),
            max_bytes,
            segment_bytes: (max_bytes / 8).clamp(16 << 10, 64 << 20),
            fsync: Fsync::Interval(DEFAULT_FSYNC_INTERVAL),
        }
    }
}

impl BufferYaml {
    /// Resolves the section; `default_path` is used when `path` is unset.
    pub fn resolve(&self, default_path: &Path) -> Result<BufferConfig> {
        let err = |m: String| Error::Config(format!("buffer: {m}"));
        let path = match &self.path {
            Some(p) if p.is_empty() => return Err(err("path must not be empty".into())),
            Some(p) => PathBuf::from(p),
            None => default_path.to_owned(),
        };
        let max_bytes = match &self.max_bytes {
            None => DEFAULT_MAX_BYTES,
            Some(serde_yaml::Value::Number(n)) => n
                .as_u64()
                .ok_or_else(|| err(format!("max_bytes: {n} is not a byte count")))?,
            Some(serde_yaml::Value::String(s)) => {
                scrape::config::parse_size(s).map_err(|e| err(format!("max_bytes: {e}")))?
            }
            Some(_) => {
                return Err(err(
                    "max_bytes: expected a byte count or a size such as 256MiB".into()
                ));
            }
        };
        if max_bytes < MIN_MAX_BYTES {
            return Err(err(format!(
                "max_bytes: {max_bytes} is below the minimum of {MIN_MAX_BYTES} bytes"
            )));
        }
        let mut cfg = BufferConfig::with_max_bytes(path, max_bytes);
        if let Some(f) = &self.fsync {
            cfg.fsync = parse_fsync(f).map_err(|e| err(format!("fsync: {e}")))?;
        }
        Ok(cfg)
    }
}

/// `always`, or a duration (`0s` meaning always).
pub fn parse_fsync(v: &str) -> std::result::Result<Fsync, String> {
    if v == "always" {
        return Ok(Fsync::Always);
    }
    let ms = promql_syntax::parse_duration_checked(v)
        .map_err(|e| format!("{e}: expected \"always\" or a duration such as 1s"))?;
    Ok(if ms == 0 {
        Fsync::Always
    } else {
        Fsync::Interval(Duration::from_millis(ms))
    })
}

/// `queue_config`, resolved. `capacity`, `min_shards` and `max_shards` are kept for display only:
/// each receiver has one batch in flight (see the crate documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueConfig {
    pub capacity: u64,
    pub max_shards: u64,
    pub min_shards: u64,
    pub max_samples_per_send: usize,
    pub batch_send_deadline: Duration,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    pub retry_on_http_429: bool,
    /// Samples older than this when a batch is built are dropped; `None` keeps every sample.
    pub sample_age_limit: Option<Duration>,
}

impl Default for QueueConfig {
    /// Prometheus 2.x's defaults.
    fn default() -> Self {
        Self {
            capacity: 10_000,
            max_shards: 50,
            min_shards: 1,
            max_samples_per_send: 2000,
            batch_send_deadline: Duration::from_secs(5),
            min_backoff: Duration::from_millis(30),
            max_backoff: Duration::from_secs(5),
            retry_on_http_429: true,
            sample_age_limit: None,
        }
    }
}

/// One receiver, resolved.
#[derive(Debug, Clone)]
pub struct RemoteWrite {
    pub url: String,
    /// `name` as configured, or a short hash of the URL: the `remote_name` label of its metrics.
    pub remote_name: String,
    /// What the receiver's cursor is stored under: its `name`, or its URL when unnamed. Renaming a
    /// receiver makes it a new one, which starts at the end of the buffer.
    pub key: String,
    pub timeout: Duration,
    /// Authentication, TLS, proxy and the extra `headers`.
    pub http: HttpClientConfig,
    pub relabel: Vec<Rule>,
    /// The protocol asked for; a receiver answering 415 to 2.0 is sent 1.0 from then on.
    pub protocol: Version,
    pub queue: QueueConfig,
}

impl RemoteWrite {
    /// A receiver at `url` with every default, for tests and callers that build configuration in
    /// code.
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            remote_name: short_hash(url),
            key: url.to_owned(),
            timeout: Duration::from_secs(30),
            http: HttpClientConfig {
                follow_redirects: true,
                enable_http2: true,
                ..Default::default()
            },
            relabel: Vec::new(),
            protocol: Version::V1,
            queue: QueueConfig::default(),
        }
    }
}

/// Headers a `headers` entry may not set: Prometheus's list (the request's own framing and
/// protocol headers).
const RESERVED_HEADERS: [&str; 16] = [
    "host",
    "content-encoding",
    "content-length",
    "content-type",
    "user-agent",
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "www-authenticate",
    "accept-encoding",
    "x-prometheus-remote-write-version",
    "x-prometheus-remote-read-version",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
];

/// FNV-1a, 64 bits: stable across builds and platforms, unlike the standard library's hasher.
pub(crate) fn fnv64(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn short_hash(s: &str) -> String {
    format!("{:06x}", fnv64(s) >> 40)
}

fn duration(what: &str, s: &str) -> Result<Duration> {
    promql_syntax::parse_duration_checked(s)
        .map(Duration::from_millis)
        .map_err(|e| Error::Config(format!("{what}: {e}")))
}

/// Resolves a `remote_write` list. Names must be unique, and so must the URLs of unnamed entries.
pub fn resolve(configs: &[RemoteWriteYaml]) -> Result<Vec<RemoteWrite>> {
    let mut names = std::collections::HashSet::new();
    let mut keys = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(configs.len());
    for (i, c) in configs.iter().enumerate() {
        let rw = resolve_one(i, c)?;
        if let Some(n) = &c.name
            && !names.insert(n.clone())
        {
            return Err(Error::Config(format!(
                "found multiple remote write configs with name {n:?}"
            )));
        }
        if !keys.insert(rw.key.clone()) {
            return Err(Error::Config(format!(
                "remote_write[{i}]: duplicate remote write configs are not allowed, found duplicate for URL {:?} \
                 (give each a distinct name)",
                rw.url
            )));
        }
        out.push(rw);
    }
    Ok(out)
}

fn unsupported(c: &RemoteWriteYaml) -> Option<&'static str> {
    [
        ("oauth2", c.oauth2.is_some()),
        ("sigv4", c.sigv4.is_some()),
        ("azuread", c.azuread.is_some()),
        ("google_iam", c.google_iam.is_some()),
        ("no_proxy", c.no_proxy.is_some()),
        ("proxy_from_environment", c.proxy_from_environment.is_some()),
        ("proxy_connect_header", c.proxy_connect_header.is_some()),
        ("http_headers", c.http_headers.is_some()),
    ]
    .into_iter()
    .find(|(_, set)| *set)
    .map(|(n, _)| n)
}

fn resolve_one(i: usize, c: &RemoteWriteYaml) -> Result<RemoteWrite> {
    let label = match &c.name {
        Some(n) => format!("remote_write[{i}] ({n:?})"),
        None => format!("remote_write[{i}]"),
    };
    let err = |m: String| Error::Config(format!("{label}: {m}"));
    if let Some(field) = unsupported(c) {
        return Err(err(format!(
            "{field} is not supported by Pharos; use basic_auth, authorization or headers"
        )));
    }
    if c.url.is_empty() {
        return Err(err("url for remote_write is empty".into()));
    }
    let rest = c
        .url
        .strip_prefix("http://")
        .or_else(|| c.url.strip_prefix("https://"))
        .ok_or_else(|| err(format!("url {:?}: scheme must be http or https", c.url)))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(err(format!("url {:?} has no host", c.url)));
    }
    if let Some(n) = &c.name
        && n.is_empty()
    {
        return Err(err("name must not be empty when set".into()));
    }
    for h in c.headers.keys() {
        let lower = h.to_ascii_lowercase();
        if lower == "authorization" {
            return Err(err(
                "authorization header must be changed via the basic_auth or authorization parameter".into(),
            ));
        }
        if RESERVED_HEADERS.contains(&lower.as_str()) {
            return Err(err(format!("{h} is a reserved header. It must not be changed")));
        }
    }
    let protocol = match c.protobuf_message.as_deref() {
        None | Some(remote::PROTO_V1) => Version::V1,
        Some(remote::PROTO_V2) => Version::V2,
        Some(other) => {
            return Err(err(format!(
                "invalid protobuf_message value {other:?}: expected {:?} or {:?}",
                remote::PROTO_V1,
                remote::PROTO_V2
            )));
        }
    };
    let timeout = match &c.remote_timeout {
        Some(s) => duration(&format!("{label}: remote_timeout"), s)?,
        None => Duration::from_secs(30),
    };
    if timeout.is_zero() {
        return Err(err("remote_timeout must be positive".into()));
    }
    let mut http = http_client(c).map_err(err)?;
    http.headers = c.headers.clone();
    let relabel = c
        .write_relabel_configs
        .iter()
        .enumerate()
        .map(|(j, r)| {
            r.compile()
                .map_err(|e| err(format!("write_relabel_configs[{j}]: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let queue = queue_config(&label, c.queue_config.as_ref())?;
    let (remote_name, key) = match &c.name {
        Some(n) => (n.clone(), n.clone()),
        None => (short_hash(&c.url), c.url.clone()),
    };
    Ok(RemoteWrite {
        url: c.url.clone(),
        remote_name,
        key,
        timeout,
        http,
        relabel,
        protocol,
        queue,
    })
}

fn queue_config(label: &str, q: Option<&QueueConfigYaml>) -> Result<QueueConfig> {
    let mut out = QueueConfig::default();
    let Some(q) = q else {
        return Ok(out);
    };
    let err = |m: &str| Error::Config(format!("{label}: queue_config: {m}"));
    let field = |f: &str| format!("{label}: queue_config: {f}");
    if let Some(v) = q.capacity {
        out.capacity = v;
    }
    if let Some(v) = q.max_shards {
        out.max_shards = v;
    }
    if let Some(v) = q.min_shards {
        out.min_shards = v;
    }
    if let Some(v) = q.max_samples_per_send {
        if v == 0 {
            return Err(err("max_samples_per_send must be positive"));
        }
        out.max_samples_per_send =
            usize::try_from(v).map_err(|_| err("max_samples_per_send is too large"))?;
    }
    if let Some(s) = &q.batch_send_deadline {
        out.batch_send_deadline = duration(&field("batch_send_deadline"), s)?;
    }
    if let Some(s) = &q.min_backoff {
        out.min_backoff = duration(&field("min_backoff"), s)?;
    }
    if let Some(s) = &q.max_backoff {
        out.max_backoff = duration(&field("max_backoff"), s)?;
    }
    if out.max_backoff < out.min_backoff {
        return Err(err("max_backoff must not be less than min_backoff"));
    }
    if let Some(v) = q.retry_on_http_429 {
        out.retry_on_http_429 = v;
    }
    if let Some(s) = &q.sample_age_limit {
        let d = duration(&field("sample_age_limit"), s)?;
        out.sample_age_limit = (!d.is_zero()).then_some(d);
    }
    Ok(out)
}

/// The HTTP client options of an entry, with the checks Prometheus applies to them.
fn http_client(c: &RemoteWriteYaml) -> std::result::Result<HttpClientConfig, String> {
    scrape::config::http_client(
        &c.basic_auth,
        &c.authorization,
        &c.bearer_token,
        &c.bearer_token_file,
        &c.tls_config,
        &c.proxy_url,
        c.follow_redirects,
        c.enable_http2,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<Vec<RemoteWrite>> {
        let list: Vec<RemoteWriteYaml> =
            serde_yaml::from_str(yaml).map_err(|e| Error::Config(e.to_string()))?;
        resolve(&list)
    }

    fn err(yaml: &str) -> String {
        parse(yaml).unwrap_err().to_string()
    }

    #[test]
    fn defaults_are_prometheus_2() {
        let rw = parse("- url: http://db:9090/api/v1/write\n").unwrap();
        let r = &rw[0];
        assert_eq!(r.timeout, Duration::from_secs(30));
        assert_eq!(r.protocol, Version::V1);
        assert_eq!(r.queue, QueueConfig::default());
        assert_eq!(r.queue.max_samples_per_send, 2000);
        assert_eq!(r.queue.batch_send_deadline, Duration::from_secs(5));
        assert_eq!(r.queue.min_backoff, Duration::from_millis(30));
        assert_eq!(r.queue.max_backoff, Duration::from_secs(5));
        assert!(r.queue.retry_on_http_429);
        assert_eq!(r.key, "http://db:9090/api/v1/write");
        assert_eq!(r.remote_name.len(), 6);
        assert!(r.http.follow_redirects);
    }

    #[test]
    fn every_field_is_read() {
        let rw = parse(
            r#"
- url: https://db.example/api/v1/write
  name: primary
  remote_timeout: 10s
  headers: {X-Scope-OrgID: tenant-1}
  protobuf_message: io.prometheus.write.v2.Request
  send_exemplars: true
  bearer_token: secret
  tls_config: {insecure_skip_verify: true}
  follow_redirects: false
  write_relabel_configs:
    - source_labels: [__name__]
      regex: go_.*
      action: drop
  queue_config:
    capacity: 500
    max_shards: 5
    min_shards: 1
    max_samples_per_send: 100
    batch_send_deadline: 1s
    min_backoff: 10ms
    max_backoff: 1s
    retry_on_http_429: false
    sample_age_limit: 1h
  metadata_config: {send: false}
"#,
        )
        .unwrap();
        let r = &rw[0];
        assert_eq!((r.key.as_str(), r.remote_name.as_str()), ("primary", "primary"));
        assert_eq!(r.timeout, Duration::from_secs(10));
        assert_eq!(r.protocol, Version::V2);
        assert_eq!(r.http.headers["X-Scope-OrgID"], "tenant-1");
        let a = r.http.authorization.as_ref().unwrap();
        assert_eq!(
            (a.kind.as_deref(), a.credentials.as_deref()),
            (Some("Bearer"), Some("secret"))
        );
        assert!(r.http.tls.insecure_skip_verify && !r.http.follow_redirects);
        assert_eq!(r.relabel.len(), 1);
        let q = &r.queue;
        assert_eq!((q.capacity, q.max_shards, q.max_samples_per_send), (500, 5, 100));
        assert_eq!(
            (q.batch_send_deadline, q.min_backoff, q.max_backoff),
            (
                Duration::from_secs(1),
                Duration::from_millis(10),
                Duration::from_secs(1)
            )
        );
        assert!(!q.retry_on_http_429);
        assert_eq!(q.sample_age_limit, Some(Duration::from_secs(3600)));
    }

    #[test]
    fn refusals_name_the_field() {
        assert!(err("- url: http://a/w\n  remote_timout: 1s\n").contains("unknown field `remote_timout`"));
        assert!(
            err("- url: http://a/w\n  queue_config: {max_retries: 3}\n")
                .contains("unknown field `max_retries`")
        );
        assert!(err("- name: x\n").contains("missing field `url`"));
        assert!(err("- url: ftp://a/w\n").contains("scheme must be http or https"));
        assert!(err("- url: http://a/w\n  headers: {Content-Type: x}\n").contains("reserved header"));
        assert!(err("- url: http://a/w\n  headers: {authorization: x}\n").contains("basic_auth"));
        assert!(err("- url: http://a/w\n  protobuf_message: v3\n").contains("invalid protobuf_message"));
        assert!(err("- url: http://a/w\n  oauth2: {client_id: x}\n").contains("oauth2 is not supported"));
        assert!(
            err("- url: http://a/w\n  bearer_token: a\n  basic_auth: {username: u}\n")
                .contains("at most one of basic_auth and authorization")
        );
        assert!(
            err("- url: http://a/w\n  queue_config: {max_samples_per_send: 0}\n")
                .contains("queue_config: max_samples_per_send must be positive")
        );
        assert!(err("- url: http://a/w\n  remote_timeout: soon\n").contains("remote_timeout"));
        assert!(
            err("- url: http://a/w\n  name: x\n- url: http://b/w\n  name: x\n")
                .contains("multiple remote write configs with name \"x\"")
        );
        assert!(err("- url: http://a/w\n- url: http://a/w\n").contains("duplicate"));
        // The same URL twice is fine when the entries are told apart by name.
        assert_eq!(
            parse("- url: http://a/w\n  name: x\n- url: http://a/w\n  name: y\n")
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn buffer_section() {
        let def = Path::new("/var/lib/pharos/buffer");
        let b: BufferYaml = serde_yaml::from_str("{}").unwrap();
        let c = b.resolve(def).unwrap();
        assert_eq!(c.path, def);
        assert_eq!(c.max_bytes, 256 << 20);
        assert_eq!(c.segment_bytes, 32 << 20);
        assert_eq!(c.fsync, Fsync::Interval(Duration::from_secs(1)));
        let b: BufferYaml = serde_yaml::from_str("{path: /b, max_bytes: 1GiB, fsync: always}").unwrap();
        let c = b.resolve(def).unwrap();
        assert_eq!(
            (c.path.as_path(), c.max_bytes, c.fsync),
            (Path::new("/b"), 1 << 30, Fsync::Always)
        );
        let b: BufferYaml = serde_yaml::from_str("{max_bytes: 1048576, fsync: 250ms}").unwrap();
        let c = b.resolve(def).unwrap();
        assert_eq!(
            (c.max_bytes, c.segment_bytes, c.fsync),
            (1 << 20, 128 << 10, Fsync::Interval(Duration::from_millis(250)))
        );
        let bad = |y: &str| {
            serde_yaml::from_str::<BufferYaml>(y)
                .map_err(|e| e.to_string())
                .and_then(|b| b.resolve(def).map_err(|e| e.to_string()))
                .unwrap_err()
        };
        assert!(bad("{max_byte: 1}").contains("unknown field `max_byte`"));
        assert!(bad("{max_bytes: 1KB}").contains("below the minimum"));
        assert!(bad("{max_bytes: lots}").contains("buffer: max_bytes"));
        assert!(bad("{fsync: sometimes}").contains("buffer: fsync"));
    }
}
