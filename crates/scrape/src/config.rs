//! `global` and `scrape_configs` as a prometheus.yml writes them, checked and resolved into [`Job`]s
//! with Prometheus's defaults: a 1m interval and 10s timeout unless `global` says otherwise, the
//! timeout capped at the interval, `/metrics` over `http`, timestamps honored, labels not.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::relabel::{self, RelabelConfig, Rule};
use crate::target::TargetGroup;

/// The `global` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalConfig {
    pub scrape_interval: Option<String>,
    pub scrape_timeout: Option<String>,
    pub evaluation_interval: Option<String>,
    pub rule_query_offset: Option<String>,
    pub external_labels: Option<BTreeMap<String, String>>,
    pub scrape_protocols: Option<Vec<String>>,
    pub body_size_limit: Option<String>,
    pub sample_limit: Option<u64>,
    pub target_limit: Option<u64>,
    pub label_limit: Option<u64>,
    pub label_name_length_limit: Option<u64>,
    pub label_value_length_limit: Option<u64>,
    pub keep_dropped_targets: Option<u64>,
}

/// `basic_auth`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    pub username: Option<String>,
    pub username_file: Option<String>,
    pub password: Option<String>,
    pub password_file: Option<String>,
}

/// `authorization`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub credentials: Option<String>,
    pub credentials_file: Option<String>,
}

/// `tls_config`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub ca: Option<String>,
    pub ca_file: Option<String>,
    pub cert: Option<String>,
    pub cert_file: Option<String>,
    pub key: Option<String>,
    pub key_file: Option<String>,
    pub server_name: Option<String>,
    #[serde(default)]
    pub insecure_skip_verify: bool,
    pub min_version: Option<String>,
    pub max_version: Option<String>,
}

/// How to reach a scrape target or an HTTP service-discovery endpoint: Prometheus's HTTP client
/// options, resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpClientConfig {
    pub basic_auth: Option<BasicAuth>,
    pub authorization: Option<Authorization>,
    pub tls: TlsConfig,
    pub proxy_url: Option<String>,
    pub follow_redirects: bool,
    pub enable_http2: bool,
    pub headers: BTreeMap<String, String>,
}

/// `static_configs` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticConfig {
    #[serde(default)]
    pub targets: Vec<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// `file_sd_configs` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSdConfig {
    pub files: Vec<String>,
    pub refresh_interval: Option<String>,
}

/// `http_sd_configs` entry as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSdYaml {
    pub url: String,
    pub refresh_interval: Option<String>,
    pub basic_auth: Option<BasicAuth>,
    pub authorization: Option<Authorization>,
    pub bearer_token: Option<String>,
    pub bearer_token_file: Option<String>,
    pub tls_config: Option<TlsConfig>,
    pub proxy_url: Option<String>,
    pub follow_redirects: Option<bool>,
    pub enable_http2: Option<bool>,
}

/// One `scrape_configs` entry as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScrapeConfigYaml {
    pub job_name: String,
    pub honor_labels: Option<bool>,
    pub honor_timestamps: Option<bool>,
    pub track_timestamps_staleness: Option<bool>,
    pub scrape_interval: Option<String>,
    pub scrape_timeout: Option<String>,
    pub scrape_protocols: Option<Vec<String>>,
    pub scrape_classic_histograms: Option<bool>,
    pub metrics_path: Option<String>,
    pub scheme: Option<String>,
    pub params: Option<BTreeMap<String, Vec<String>>>,
    pub enable_compression: Option<bool>,
    pub body_size_limit: Option<String>,
    pub sample_limit: Option<u64>,
    pub target_limit: Option<u64>,
    pub label_limit: Option<u64>,
    pub label_name_length_limit: Option<u64>,
    pub label_value_length_limit: Option<u64>,
    pub keep_dropped_targets: Option<u64>,
    pub basic_auth: Option<BasicAuth>,
    pub authorization: Option<Authorization>,
    pub bearer_token: Option<String>,
    pub bearer_token_file: Option<String>,
    pub tls_config: Option<TlsConfig>,
    pub proxy_url: Option<String>,
    pub follow_redirects: Option<bool>,
    pub enable_http2: Option<bool>,
    pub oauth2: Option<serde_yaml::Value>,
    /// Pharos: hold an idle connection to each target between scrapes and scrape at once when the
    /// target's process closes it (default true; never through a proxy).
    pub watch_connection: Option<bool>,
    #[serde(default)]
    pub static_configs: Vec<StaticConfig>,
    #[serde(default)]
    pub file_sd_configs: Vec<FileSdConfig>,
    #[serde(default)]
    pub http_sd_configs: Vec<HttpSdYaml>,
    #[serde(default)]
    pub relabel_configs: Vec<RelabelConfig>,
    #[serde(default)]
    pub metric_relabel_configs: Vec<RelabelConfig>,
    // Discovery mechanisms Pharos does not have yet: named so the error says so plainly.
    pub kubernetes_sd_configs: Option<serde_yaml::Value>,
    pub consul_sd_configs: Option<serde_yaml::Value>,
    pub dns_sd_configs: Option<serde_yaml::Value>,
    pub ec2_sd_configs: Option<serde_yaml::Value>,
    pub azure_sd_configs: Option<serde_yaml::Value>,
    pub gce_sd_configs: Option<serde_yaml::Value>,
    pub docker_sd_configs: Option<serde_yaml::Value>,
    pub dockerswarm_sd_configs: Option<serde_yaml::Value>,
    pub openstack_sd_configs: Option<serde_yaml::Value>,
    pub nomad_sd_configs: Option<serde_yaml::Value>,
    pub eureka_sd_configs: Option<serde_yaml::Value>,
    pub digitalocean_sd_configs: Option<serde_yaml::Value>,
    pub hetzner_sd_configs: Option<serde_yaml::Value>,
    pub linode_sd_configs: Option<serde_yaml::Value>,
    pub marathon_sd_configs: Option<serde_yaml::Value>,
    pub serverset_sd_configs: Option<serde_yaml::Value>,
    pub triton_sd_configs: Option<serde_yaml::Value>,
    pub lightsail_sd_configs: Option<serde_yaml::Value>,
    pub scaleway_sd_configs: Option<serde_yaml::Value>,
    pub puppetdb_sd_configs: Option<serde_yaml::Value>,
    pub uyuni_sd_configs: Option<serde_yaml::Value>,
    pub vultr_sd_configs: Option<serde_yaml::Value>,
    pub ionos_sd_configs: Option<serde_yaml::Value>,
    pub kuma_sd_configs: Option<serde_yaml::Value>,
    pub openstack_swift_sd_configs: Option<serde_yaml::Value>,
}

/// What a scrape asks for in its `Accept` header, in order of preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    OpenMetricsText1_0_0,
    OpenMetricsText0_0_1,
    PrometheusText0_0_4,
}

impl Protocol {
    fn parse(s: &str) -> Option<Protocol> {
        match s {
            "OpenMetricsText1.0.0" => Some(Self::OpenMetricsText1_0_0),
            "OpenMetricsText0.0.1" => Some(Self::OpenMetricsText0_0_1),
            "PrometheusText0.0.4" => Some(Self::PrometheusText0_0_4),
            _ => None,
        }
    }

    fn media_type(self) -> &'static str {
        match self {
            Self::OpenMetricsText1_0_0 => "application/openmetrics-text;version=1.0.0",
            Self::OpenMetricsText0_0_1 => "application/openmetrics-text;version=0.0.1",
            Self::PrometheusText0_0_4 => "text/plain;version=0.0.4",
        }
    }
}

/// Prometheus's default order (without protobuf, which Pharos does not ask for).
pub const DEFAULT_PROTOCOLS: [Protocol; 3] = [
    Protocol::OpenMetricsText1_0_0,
    Protocol::OpenMetricsText0_0_1,
    Protocol::PrometheusText0_0_4,
];

/// The `Accept` header for these protocols: descending q-values, then anything at q=0.1 as a
/// fallback, as Prometheus writes it.
pub fn accept_header(protocols: &[Protocol]) -> String {
    let mut out = String::new();
    let mut weight = 10u32;
    for p in protocols {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(p.media_type());
        if weight < 10 {
            out.push_str(&format!(";q=0.{weight}"));
        }
        weight = weight.saturating_sub(1).max(2);
    }
    out.push_str(",*/*;q=0.1");
    out
}

/// Per-scrape limits; 0 means none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    pub body_size: u64,
    pub samples: u64,
    pub targets: u64,
    pub labels: u64,
    pub label_name_length: u64,
    pub label_value_length: u64,
}

/// HTTP service discovery, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSd {
    pub url: String,
    pub refresh_ms: u64,
    pub http: HttpClientConfig,
}

/// File service discovery, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSd {
    pub files: Vec<String>,
    pub refresh_ms: u64,
}

/// One scrape job with every default applied.
#[derive(Debug, Clone)]
pub struct Job {
    pub name: String,
    pub interval_ms: u64,
    pub timeout_ms: u64,
    pub honor_labels: bool,
    pub honor_timestamps: bool,
    pub track_timestamps_staleness: bool,
    pub metrics_path: String,
    pub scheme: String,
    pub params: BTreeMap<String, Vec<String>>,
    pub protocols: Vec<Protocol>,
    pub enable_compression: bool,
    pub limits: Limits,
    pub keep_dropped_targets: u64,
    pub http: HttpClientConfig,
    pub static_groups: Vec<TargetGroup>,
    pub file_sd: Vec<FileSd>,
    pub http_sd: Vec<HttpSd>,
    pub relabel: Vec<Rule>,
    pub metric_relabel: Vec<Rule>,
    /// Watch an idle connection to each target between scrapes (see `watch_connection`).
    pub watch_connection: bool,
}

impl Job {
    /// Whether the two jobs scrape the same way, so that a reload can keep its loops running.
    pub fn same_scrape(&self, other: &Job) -> bool {
        self.name == other.name
            && self.interval_ms == other.interval_ms
            && self.timeout_ms == other.timeout_ms
            && self.honor_labels == other.honor_labels
            && self.honor_timestamps == other.honor_timestamps
            && self.track_timestamps_staleness == other.track_timestamps_staleness
            && self.metrics_path == other.metrics_path
            && self.scheme == other.scheme
            && self.params == other.params
            && self.protocols == other.protocols
            && self.enable_compression == other.enable_compression
            && self.limits == other.limits
            && self.http == other.http
            && self.watch_connection == other.watch_connection
            && rules_text(&self.metric_relabel) == rules_text(&other.metric_relabel)
    }
}

fn rules_text(rules: &[Rule]) -> Vec<String> {
    rules.iter().map(|r| format!("{r:?}")).collect()
}

/// Why a scrape configuration was refused. Every message names the job and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Scrape interval and timeout when neither `global` nor the job sets them.
pub const DEFAULT_INTERVAL_MS: u64 = 60_000;
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;

fn duration(what: &str, s: &str) -> Result<u64, ConfigError> {
    promql_syntax::parse_duration_checked(s).map_err(|e| ConfigError(format!("{what}: {e}")))
}

/// Parses sizes as Prometheus's `body_size_limit` does: a number and a binary unit, `B`, `KB`/`KiB`,
/// `MB`/`MiB`, `GB`/`GiB`, `TB`/`TiB`; `0` means no limit.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    if s == "0" {
        return Ok(0);
    }
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let (num, unit) = s.split_at(digits);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid size {s:?}: expected a number and a unit such as 10MB"))?;
    let mult: u64 = match unit {
        "B" => 1,
        "KB" | "KiB" => 1 << 10,
        "MB" | "MiB" => 1 << 20,
        "GB" | "GiB" => 1 << 30,
        "TB" | "TiB" => 1 << 40,
        _ => {
            return Err(format!(
                "invalid size {s:?}: unknown unit {unit:?} (use B, KB, MB, GB or TB)"
            ));
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("invalid size {s:?}: too large"))
}

/// Resolves the scrape jobs of a configuration. Job names must be unique.
pub fn resolve(global: &GlobalConfig, configs: &[ScrapeConfigYaml]) -> Result<Vec<Job>, ConfigError> {
    let g_interval = match &global.scrape_interval {
        Some(s) => duration("global.scrape_interval", s)?,
        None => DEFAULT_INTERVAL_MS,
    };
    let g_timeout = match &global.scrape_timeout {
        Some(s) => duration("global.scrape_timeout", s)?,
        None => DEFAULT_TIMEOUT_MS.min(g_interval),
    };
    if g_interval == 0 {
        return Err(ConfigError("global.scrape_interval must be positive".into()));
    }
    if g_timeout > g_interval {
        return Err(ConfigError(
            "global scrape timeout greater than scrape interval".into(),
        ));
    }
    let g_protocols = match &global.scrape_protocols {
        Some(p) => protocols("global.scrape_protocols", p)?,
        None => DEFAULT_PROTOCOLS.to_vec(),
    };
    let g_body = match &global.body_size_limit {
        Some(s) => parse_size(s).map_err(|e| ConfigError(format!("global.body_size_limit: {e}")))?,
        None => 0,
    };
    let mut names = std::collections::HashSet::new();
    let mut jobs = Vec::with_capacity(configs.len());
    for c in configs {
        if c.job_name.is_empty() {
            return Err(ConfigError("job_name is empty".into()));
        }
        if !names.insert(c.job_name.clone()) {
            return Err(ConfigError(format!(
                "found multiple scrape configs with job name {:?}",
                c.job_name
            )));
        }
        jobs.push(resolve_job(
            c,
            global,
            g_interval,
            g_timeout,
            &g_protocols,
            g_body,
        )?);
    }
    Ok(jobs)
}

fn protocols(field: &str, names: &[String]) -> Result<Vec<Protocol>, ConfigError> {
    if names.is_empty() {
        return Err(ConfigError(format!("{field} must not be empty")));
    }
    let mut out = Vec::new();
    for n in names {
        let p = Protocol::parse(n).ok_or_else(|| {
            ConfigError(format!(
                "{field}: unknown or unsupported scrape protocol {n:?} (supported: OpenMetricsText1.0.0, \
                 OpenMetricsText0.0.1, PrometheusText0.0.4)"
            ))
        })?;
        if out.contains(&p) {
            return Err(ConfigError(format!("{field}: duplicated protocol {n:?}")));
        }
        out.push(p);
    }
    Ok(out)
}

/// The HTTP client options of a scrape job, an HTTP SD config or a remote-write receiver, with
/// the checks Prometheus applies to them (bearer token, authorization and basic auth exclusive;
/// each secret given once; a client certificate with its key).
#[allow(clippy::too_many_arguments)]
pub fn http_client(
    basic_auth: &Option<BasicAuth>,
    authorization: &Option<Authorization>,
    bearer_token: &Option<String>,
    bearer_token_file: &Option<String>,
    tls: &Option<TlsConfig>,
    proxy_url: &Option<String>,
    follow_redirects: Option<bool>,
    enable_http2: Option<bool>,
) -> Result<HttpClientConfig, String> {
    let err = |m: &str| m.to_string();
    let mut authz = authorization.clone();
    if bearer_token.is_some() || bearer_token_file.is_some() {
        if authz.is_some() {
            return Err(err(
                "at most one of bearer_token, bearer_token_file and authorization may be set",
            ));
        }
        if bearer_token.is_some() && bearer_token_file.is_some() {
            return Err(err(
                "at most one of bearer_token and bearer_token_file may be set",
            ));
        }
        authz = Some(Authorization {
            kind: Some("Bearer".into()),
            credentials: bearer_token.clone(),
            credentials_file: bearer_token_file.clone(),
        });
    }
    if let Some(a) = &mut authz {
        if a.credentials.is_some() && a.credentials_file.is_some() {
            return Err(err(
                "authorization: at most one of credentials and credentials_file may be set",
            ));
        }
        let kind = a.kind.get_or_insert_with(|| "Bearer".into());
        if kind.eq_ignore_ascii_case("basic") {
            return Err(err(
                "authorization type cannot be set to \"basic\", use \"basic_auth\" instead",
            ));
        }
    }
    if basic_auth.is_some() && authz.is_some() {
        return Err(err("at most one of basic_auth and authorization may be set"));
    }
    if let Some(b) = basic_auth {
        if b.password.is_some() && b.password_file.is_some() {
            return Err(err(
                "basic_auth: at most one of password and password_file may be set",
            ));
        }
        if b.username.is_some() && b.username_file.is_some() {
            return Err(err(
                "basic_auth: at most one of username and username_file may be set",
            ));
        }
    }
    let tls = tls.clone().unwrap_or_default();
    if tls.ca.is_some() && tls.ca_file.is_some() {
        return Err(err("tls_config: at most one of ca and ca_file may be set"));
    }
    if tls.cert.is_some() && tls.cert_file.is_some() {
        return Err(err("tls_config: at most one of cert and cert_file may be set"));
    }
    if tls.key.is_some() && tls.key_file.is_some() {
        return Err(err("tls_config: at most one of key and key_file may be set"));
    }
    let has_cert = tls.cert.is_some() || tls.cert_file.is_some();
    let has_key = tls.key.is_some() || tls.key_file.is_some();
    if has_cert != has_key {
        return Err(err(
            "tls_config: a client certificate needs its key and a key its certificate",
        ));
    }
    Ok(HttpClientConfig {
        basic_auth: basic_auth.clone(),
        authorization: authz,
        tls,
        proxy_url: proxy_url.clone(),
        follow_redirects: follow_redirects.unwrap_or(true),
        enable_http2: enable_http2.unwrap_or(true),
        headers: BTreeMap::new(),
    })
}

fn unsupported_sd(c: &ScrapeConfigYaml) -> Option<&'static str> {
    let named: [(&'static str, bool); 25] = [
        ("kubernetes_sd_configs", c.kubernetes_sd_configs.is_some()),
        ("consul_sd_configs", c.consul_sd_configs.is_some()),
        ("dns_sd_configs", c.dns_sd_configs.is_some()),
        ("ec2_sd_configs", c.ec2_sd_configs.is_some()),
        ("azure_sd_configs", c.azure_sd_configs.is_some()),
        ("gce_sd_configs", c.gce_sd_configs.is_some()),
        ("docker_sd_configs", c.docker_sd_configs.is_some()),
        ("dockerswarm_sd_configs", c.dockerswarm_sd_configs.is_some()),
        ("openstack_sd_configs", c.openstack_sd_configs.is_some()),
        ("nomad_sd_configs", c.nomad_sd_configs.is_some()),
        ("eureka_sd_configs", c.eureka_sd_configs.is_some()),
        ("digitalocean_sd_configs", c.digitalocean_sd_configs.is_some()),
        ("hetzner_sd_configs", c.hetzner_sd_configs.is_some()),
        ("linode_sd_configs", c.linode_sd_configs.is_some()),
        ("marathon_sd_configs", c.marathon_sd_configs.is_some()),
        ("serverset_sd_configs", c.serverset_sd_configs.is_some()),
        ("triton_sd_configs", c.triton_sd_configs.is_some()),
        ("lightsail_sd_configs", c.lightsail_sd_configs.is_some()),
        ("scaleway_sd_configs", c.scaleway_sd_configs.is_some()),
        ("puppetdb_sd_configs", c.puppetdb_sd_configs.is_some()),
        ("uyuni_sd_configs", c.uyuni_sd_configs.is_some()),
        ("vultr_sd_configs", c.vultr_sd_configs.is_some()),
        ("ionos_sd_configs", c.ionos_sd_configs.is_some()),
        ("kuma_sd_configs", c.kuma_sd_configs.is_some()),
        (
            "openstack_swift_sd_configs",
            c.openstack_swift_sd_configs.is_some(),
        ),
    ];
    named.into_iter().find(|(_, set)| *set).map(|(n, _)| n)
}

fn resolve_job(
    c: &ScrapeConfigYaml,
    global: &GlobalConfig,
    g_interval: u64,
    g_timeout: u64,
    g_protocols: &[Protocol],
    g_body: u64,
) -> Result<Job, ConfigError> {
    let job = c.job_name.as_str();
    let err = |m: String| ConfigError(format!("job {job:?}: {m}"));
    if let Some(sd) = unsupported_sd(c) {
        return Err(err(format!(
            "{sd} is not supported by Pharos; use static_configs, file_sd_configs or http_sd_configs"
        )));
    }
    if c.oauth2.is_some() {
        return Err(err(
            "oauth2 is not supported by Pharos; use authorization or basic_auth".into(),
        ));
    }
    let interval = match &c.scrape_interval {
        Some(s) => duration(&format!("job {job:?}: scrape_interval"), s)?,
        None => g_interval,
    };
    if interval == 0 {
        return Err(err("scrape_interval must be positive".into()));
    }
    let timeout = match &c.scrape_timeout {
        Some(s) => duration(&format!("job {job:?}: scrape_timeout"), s)?,
        None => g_timeout.min(interval),
    };
    if timeout == 0 {
        return Err(err("scrape_timeout must be positive".into()));
    }
    if timeout > interval {
        return Err(ConfigError(format!(
            "scrape timeout greater than scrape interval for scrape config with job name {job:?}"
        )));
    }
    let scheme = c.scheme.clone().unwrap_or_else(|| "http".into());
    if scheme != "http" && scheme != "https" {
        return Err(err(format!("invalid scheme {scheme:?}: use http or https")));
    }
    let metrics_path = c.metrics_path.clone().unwrap_or_else(|| "/metrics".into());
    let protocols = match &c.scrape_protocols {
        Some(p) => protocols(&format!("job {job:?}: scrape_protocols"), p)?,
        None => g_protocols.to_vec(),
    };
    let body_size = match &c.body_size_limit {
        Some(s) => parse_size(s).map_err(|e| err(format!("body_size_limit: {e}")))?,
        None => g_body,
    };
    let pick = |own: Option<u64>, g: Option<u64>| own.or(g).unwrap_or(0);
    let limits = Limits {
        body_size,
        samples: pick(c.sample_limit, global.sample_limit),
        targets: pick(c.target_limit, global.target_limit),
        labels: pick(c.label_limit, global.label_limit),
        label_name_length: pick(c.label_name_length_limit, global.label_name_length_limit),
        label_value_length: pick(c.label_value_length_limit, global.label_value_length_limit),
    };
    let http = http_client(
        &c.basic_auth,
        &c.authorization,
        &c.bearer_token,
        &c.bearer_token_file,
        &c.tls_config,
        &c.proxy_url,
        c.follow_redirects,
        c.enable_http2,
    )
    .map_err(|m| ConfigError(format!("job {job:?}: {m}")))?;
    let compile = |rules: &[RelabelConfig], field: &str| -> Result<Vec<Rule>, ConfigError> {
        rules
            .iter()
            .enumerate()
            .map(|(i, r)| {
                r.compile()
                    .map_err(|e: relabel::Error| err(format!("{field}[{i}]: {e}")))
            })
            .collect()
    };
    let relabel = compile(&c.relabel_configs, "relabel_configs")?;
    let metric_relabel = compile(&c.metric_relabel_configs, "metric_relabel_configs")?;
    let mut static_groups = Vec::new();
    for (i, s) in c.static_configs.iter().enumerate() {
        let source = format!("{i}");
        static_groups.push(
            TargetGroup::from_static(&source, &s.targets, &s.labels)
                .map_err(|e| err(format!("static_configs[{i}]: {e}")))?,
        );
    }
    let mut file_sd = Vec::new();
    for (i, f) in c.file_sd_configs.iter().enumerate() {
        if f.files.is_empty() {
            return Err(err(format!("file_sd_configs[{i}]: files must not be empty")));
        }
        for path in &f.files {
            let base = path.rsplit('/').next().unwrap_or(path);
            let ok = [".json", ".yml", ".yaml"].iter().any(|ext| base.ends_with(ext));
            if !ok {
                return Err(err(format!(
                    "file_sd_configs[{i}]: path {path:?} is not a valid file path: it must end in .json, .yml or .yaml"
                )));
            }
        }
        let refresh_ms = match &f.refresh_interval {
            Some(s) => duration(&format!("job {job:?}: file_sd_configs[{i}].refresh_interval"), s)?,
            None => 300_000,
        };
        file_sd.push(FileSd {
            files: f.files.clone(),
            refresh_ms: refresh_ms.max(1000),
        });
    }
    let mut http_sd = Vec::new();
    for (i, h) in c.http_sd_configs.iter().enumerate() {
        if !(h.url.starts_with("http://") || h.url.starts_with("https://")) {
            return Err(err(format!(
                "http_sd_configs[{i}]: URL scheme must be 'http' or 'https', got {:?}",
                h.url
            )));
        }
        let refresh_ms = match &h.refresh_interval {
            Some(s) => duration(&format!("job {job:?}: http_sd_configs[{i}].refresh_interval"), s)?,
            None => 60_000,
        };
        let http = http_client(
            &h.basic_auth,
            &h.authorization,
            &h.bearer_token,
            &h.bearer_token_file,
            &h.tls_config,
            &h.proxy_url,
            h.follow_redirects,
            h.enable_http2,
        )
        .map_err(|m| ConfigError(format!("job {job:?}: {m}")))?;
        http_sd.push(HttpSd {
            url: h.url.clone(),
            refresh_ms: refresh_ms.max(1000),
            http,
        });
    }
    Ok(Job {
        name: c.job_name.clone(),
        interval_ms: interval,
        timeout_ms: timeout,
        honor_labels: c.honor_labels.unwrap_or(false),
        honor_timestamps: c.honor_timestamps.unwrap_or(true),
        track_timestamps_staleness: c.track_timestamps_staleness.unwrap_or(false),
        metrics_path,
        scheme,
        params: c.params.clone().unwrap_or_default(),
        protocols,
        enable_compression: c.enable_compression.unwrap_or(true),
        limits,
        keep_dropped_targets: pick(c.keep_dropped_targets, global.keep_dropped_targets),
        http,
        static_groups,
        file_sd,
        http_sd,
        relabel,
        metric_relabel,
        watch_connection: c.watch_connection.unwrap_or(true) && c.proxy_url.is_none(),
    })
}
