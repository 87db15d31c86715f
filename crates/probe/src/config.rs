//! blackbox_exporter's `blackbox.yml`: a `modules:` map from name to prober settings, with the
//! same field names and defaults as blackbox_exporter 0.23. Every regular expression is compiled
//! and every enumerated value checked here, so a module that loads cannot fail for its config at
//! probe time. Pure data: no IO besides what the caller hands in.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::de::{self, DeserializeOwned};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::dns::wire::{class_from_name, rcode_from_name, type_from_name};
use crate::error::{Error, Result};

/// blackbox_exporter's example modules (its `blackbox.yml`), minus the `grpc` ones, which this
/// crate does not implement.
pub const DEFAULT_CONFIG: &str = r#"modules:
  http_2xx:
    prober: http
  http_post_2xx:
    prober: http
    http:
      method: POST
  tcp_connect:
    prober: tcp
  pop3s_banner:
    prober: tcp
    tcp:
      query_response:
      - expect: "^+OK"
      tls: true
      tls_config:
        insecure_skip_verify: false
  ssh_banner:
    prober: tcp
    tcp:
      query_response:
      - expect: "^SSH-2.0-"
      - send: "SSH-2.0-blackbox-ssh-check"
  irc_banner:
    prober: tcp
    tcp:
      query_response:
      - send: "NICK prober"
      - send: "USER prober prober prober :prober"
      - expect: "PING :([^ ]+)"
        send: "PONG ${1}"
      - expect: "^:[^ ]+ 001"
  icmp:
    prober: icmp
  icmp_ttl5:
    prober: icmp
    timeout: 5s
    icmp:
      ttl: 5
"#;

/// All modules of one config file, by name.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Modules {
    pub modules: BTreeMap<String, Module>,
}

impl Modules {
    /// Parses a `blackbox.yml` document. Unknown fields, unknown probers, invalid regular
    /// expressions and out-of-range values are errors naming the module and the field.
    pub fn parse(yaml: &str) -> Result<Self> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Top {
            #[serde(default)]
            modules: Option<BTreeMap<String, serde_yaml::Value>>,
        }
        let top: Top = serde_yaml::from_str(yaml).map_err(|e| Error::Yaml(e.to_string()))?;
        let mut modules = BTreeMap::new();
        for (name, value) in top.modules.unwrap_or_default() {
            let module = Module::from_value(&name, value)?;
            modules.insert(name, module);
        }
        Ok(Self { modules })
    }

    /// The built-in modules ([`DEFAULT_CONFIG`]).
    pub fn builtin() -> Self {
        // The built-in text is a constant checked by a unit test; an empty set is the only
        // possible outcome of a mistake there, never a panic.
        Self::parse(DEFAULT_CONFIG).unwrap_or_default()
    }

    pub fn get(&self, name: &str) -> Option<&Module> {
        self.modules.get(name)
    }
}

/// Which prober a module runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProberKind {
    Http,
    Tcp,
    Dns,
    Icmp,
    /// Accepted so blackbox_exporter's own example file loads; every probe fails with a log
    /// line saying gRPC is not supported.
    Grpc,
}

impl ProberKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Tcp => "tcp",
            Self::Dns => "dns",
            Self::Icmp => "icmp",
            Self::Grpc => "grpc",
        }
    }
}

/// One module: a prober, its timeout and the settings of every prober (only the one named by
/// `prober` is used, as in blackbox_exporter).
#[derive(Clone, Debug, Serialize)]
pub struct Module {
    pub prober: ProberKind,
    /// `None` (or zero) means "the scrape timeout minus the offset".
    #[serde(serialize_with = "ser_opt_duration", skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    pub http: HttpProbe,
    pub tcp: TcpProbe,
    pub icmp: IcmpProbe,
    pub dns: DnsProbe,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grpc: Option<GrpcProbe>,
}

impl Module {
    fn from_value(name: &str, value: serde_yaml::Value) -> Result<Self> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            #[serde(default)]
            prober: Option<String>,
            #[serde(default)]
            timeout: Option<String>,
            #[serde(default)]
            http: Option<serde_yaml::Value>,
            #[serde(default)]
            tcp: Option<serde_yaml::Value>,
            #[serde(default)]
            icmp: Option<serde_yaml::Value>,
            #[serde(default)]
            dns: Option<serde_yaml::Value>,
            #[serde(default)]
            grpc: Option<serde_yaml::Value>,
        }
        let value = match value {
            serde_yaml::Value::Null => serde_yaml::Value::Mapping(Default::default()),
            v => v,
        };
        let raw: Raw =
            serde_yaml::from_value(value).map_err(|e| Error::field(name, "module", e.to_string()))?;
        let prober_name = raw.prober.unwrap_or_default();
        let prober = match prober_name.as_str() {
            "http" => ProberKind::Http,
            "tcp" => ProberKind::Tcp,
            "dns" => ProberKind::Dns,
            "icmp" => ProberKind::Icmp,
            "grpc" => ProberKind::Grpc,
            _ => {
                return Err(Error::UnknownProber {
                    module: name.to_string(),
                    prober: prober_name,
                });
            }
        };
        let timeout = match raw.timeout {
            Some(s) => {
                let d = parse_duration(&s).map_err(|r| Error::field(name, "timeout", r))?;
                (!d.is_zero()).then_some(d)
            }
            None => None,
        };
        let http: HttpProbe = section(name, "http", raw.http)?;
        let tcp: TcpProbe = section(name, "tcp", raw.tcp)?;
        let icmp: IcmpProbe = section(name, "icmp", raw.icmp)?;
        let dns: DnsProbe = match raw.dns {
            Some(v) => section(name, "dns", Some(v))?,
            None => DnsProbe::default(),
        };
        let grpc = match raw.grpc {
            Some(v) => Some(section::<GrpcProbe>(name, "grpc", Some(v))?),
            None => None,
        };
        let module = Self {
            prober,
            timeout,
            http,
            tcp,
            icmp,
            dns,
            grpc,
        };
        module.validate(name)?;
        if prober == ProberKind::Grpc {
            tracing::warn!(
                module = name,
                "grpc prober is not supported: every probe of this module fails"
            );
        }
        Ok(module)
    }

    fn validate(&self, name: &str) -> Result<()> {
        let http = &self.http;
        match http.compression.to_ascii_lowercase().as_str() {
            "" | "identity" | "gzip" | "deflate" => {}
            "br" => {
                return Err(Error::field(
                    name,
                    "http.compression",
                    "br (brotli) is not supported; use gzip, deflate or identity",
                ));
            }
            other => {
                return Err(Error::field(
                    name,
                    "http.compression",
                    format!("unsupported compression algorithm {other:?}"),
                ));
            }
        }
        if http.oauth2.is_some() {
            return Err(Error::field(name, "http.oauth2", "oauth2 is not supported"));
        }
        if http.proxy_url.as_deref().is_some_and(|u| !u.is_empty()) {
            return Err(Error::field(
                name,
                "http.proxy_url",
                "HTTP proxies are not supported",
            ));
        }
        if http.bearer_token.is_some() && http.bearer_token_file.is_some() {
            return Err(Error::field(
                name,
                "http.bearer_token",
                "at most one of bearer_token and bearer_token_file must be configured",
            ));
        }
        let auth_count = usize::from(http.basic_auth.is_some())
            + usize::from(http.authorization.is_some())
            + usize::from(http.bearer_token.is_some() || http.bearer_token_file.is_some());
        if auth_count > 1 {
            return Err(Error::field(
                name,
                "http",
                "at most one of basic_auth, authorization and bearer_token(_file) must be configured",
            ));
        }
        for (field, tls) in [
            ("http.tls_config", &http.tls_config),
            ("tcp.tls_config", &self.tcp.tls_config),
            ("dns.tls_config", &self.dns.tls_config),
        ] {
            tls.validate().map_err(|r| Error::field(name, field, r))?;
        }
        for (key, value) in &http.headers {
            if key.eq_ignore_ascii_case("accept-encoding") && !compression_accepted(&http.compression, value)
            {
                return Err(Error::field(
                    name,
                    "http.headers",
                    format!(
                        "invalid configuration \"{key}: {value}\", \"compression: {}\"",
                        http.compression
                    ),
                ));
            }
            if http::HeaderName::from_bytes(key.as_bytes()).is_err()
                || http::HeaderValue::from_str(value).is_err()
            {
                return Err(Error::field(
                    name,
                    "http.headers",
                    format!("invalid header {key:?}"),
                ));
            }
        }
        if http::Method::from_bytes(http.method.as_bytes()).is_err() {
            return Err(Error::field(
                name,
                "http.method",
                format!("invalid method {:?}", http.method),
            ));
        }
        if self.prober == ProberKind::Dns {
            let dns = &self.dns;
            if dns.query_name.is_empty() {
                return Err(Error::field(
                    name,
                    "dns.query_name",
                    "query name must be set for DNS module",
                ));
            }
            if crate::dns::wire::encode_name(&dns.query_name, &mut Vec::new()).is_err() {
                return Err(Error::field(
                    name,
                    "dns.query_name",
                    format!("{:?} is not a valid domain name", dns.query_name),
                ));
            }
            if !matches!(dns.transport_protocol.as_str(), "udp" | "tcp") {
                return Err(Error::field(
                    name,
                    "dns.transport_protocol",
                    format!("expected udp or tcp, got {:?}", dns.transport_protocol),
                ));
            }
            if dns.dns_over_tls && dns.transport_protocol != "tcp" {
                return Err(Error::field(
                    name,
                    "dns.dns_over_tls",
                    "DNS over TLS needs transport_protocol: tcp",
                ));
            }
        }
        for (field, ip) in [
            ("tcp.source_ip_address", &self.tcp.source_ip_address),
            ("dns.source_ip_address", &self.dns.source_ip_address),
            ("icmp.source_ip_address", &self.icmp.source_ip_address),
        ] {
            if !ip.is_empty() && ip.parse::<std::net::IpAddr>().is_err() {
                return Err(Error::field(name, field, format!("{ip:?} is not an IP address")));
            }
        }
        Ok(())
    }

    /// The module's timeout in seconds, 0 when unset.
    pub fn timeout_seconds(&self) -> f64 {
        self.timeout.map_or(0.0, |d| d.as_secs_f64())
    }
}

/// Whether an `Accept-Encoding` header value admits the configured compression (blackbox
/// rejects `compression: gzip` with `Accept-Encoding: br`).
fn compression_accepted(compression: &str, accept: &str) -> bool {
    if compression.is_empty() {
        return true;
    }
    accept.split(',').any(|part| {
        let mut it = part.split(';');
        let coding = it.next().unwrap_or("").trim();
        let q_zero = it.any(|p| {
            let p = p.trim();
            p.strip_prefix("q=")
                .is_some_and(|q| q.trim().parse::<f64>() == Ok(0.0))
        });
        !q_zero && (coding == "*" || coding.eq_ignore_ascii_case(compression))
    })
}

fn section<T: DeserializeOwned + Default>(
    module: &str,
    field: &str,
    v: Option<serde_yaml::Value>,
) -> Result<T> {
    match v {
        None | Some(serde_yaml::Value::Null) => Ok(T::default()),
        Some(v) => serde_yaml::from_value(v).map_err(|e| Error::field(module, field, e.to_string())),
    }
}

/// `ip4` or `ip6`; blackbox_exporter's default is `ip6`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IpProtocol {
    Ip4,
    #[default]
    Ip6,
}

impl<'de> Deserialize<'de> for IpProtocol {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.as_str() {
            "ip6" | "" => Ok(Self::Ip6),
            "ip4" => Ok(Self::Ip4),
            other => Err(de::Error::custom(format!(
                "preferred_ip_protocol must be ip4 or ip6, got {other:?}"
            ))),
        }
    }
}

impl Serialize for IpProtocol {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match self {
            Self::Ip4 => "ip4",
            Self::Ip6 => "ip6",
        })
    }
}

/// A compiled regular expression that remembers its source (for logs and the debug output).
/// Unanchored, like Go's `regexp.Match`.
#[derive(Clone)]
pub struct Pattern {
    source: String,
    re: regex::bytes::Regex,
}

impl Pattern {
    pub fn new(source: &str) -> Result<Self, regex::Error> {
        Ok(Self {
            source: source.to_string(),
            re: regex::bytes::Regex::new(source)?,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn regex(&self) -> &regex::bytes::Regex {
        &self.re
    }

    pub fn is_match(&self, haystack: &[u8]) -> bool {
        self.re.is_match(haystack)
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.source)
    }
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Pattern::new(&s)
            .map_err(|e| de::Error::custom(format!("could not compile regular expression {s:?}: {e}")))
    }
}

impl Serialize for Pattern {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

/// A password or token: kept as given, printed as `<secret>` like Prometheus does.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<secret>")
    }
}

/// Prometheus's `tls_config`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ca_file: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ca: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cert_file: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cert: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub key_file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<Secret>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub server_name: String,
    pub insecure_skip_verify: bool,
    /// `TLS10` … `TLS13`; TLS 1.0 and 1.1 are accepted but rustls speaks 1.2 and 1.3 only.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub min_version: String,
}

impl TlsConfig {
    fn validate(&self) -> Result<(), String> {
        if !matches!(
            self.min_version.as_str(),
            "" | "TLS10" | "TLS11" | "TLS12" | "TLS13"
        ) {
            return Err(format!("unknown TLS version {:?}", self.min_version));
        }
        if !self.ca.is_empty() && !self.ca_file.is_empty() {
            return Err("at most one of ca and ca_file must be configured".into());
        }
        if !self.cert.is_empty() && !self.cert_file.is_empty() {
            return Err("at most one of cert and cert_file must be configured".into());
        }
        if self.key.is_some() && !self.key_file.is_empty() {
            return Err("at most one of key and key_file must be configured".into());
        }
        let has_cert = !self.cert.is_empty() || !self.cert_file.is_empty();
        let has_key = self.key.is_some() || !self.key_file.is_empty();
        if has_cert != has_key {
            return Err("client certificate and key must be configured together".into());
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    #[serde(default)]
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub password_file: String,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<Secret>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub credentials_file: String,
}

/// `fail_if_header_matches` / `fail_if_header_not_matches` entry.
#[derive(Clone, Debug, Serialize)]
pub struct HeaderMatch {
    pub header: String,
    pub regexp: Pattern,
    pub allow_missing: bool,
}

impl<'de> Deserialize<'de> for HeaderMatch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            #[serde(default)]
            header: String,
            #[serde(default)]
            regexp: Option<Pattern>,
            #[serde(default)]
            allow_missing: bool,
        }
        let raw = Raw::deserialize(d)?;
        if raw.header.is_empty() {
            return Err(de::Error::custom(
                "header name must be set for HTTP header matchers",
            ));
        }
        let Some(regexp) = raw.regexp.filter(|r| !r.as_str().is_empty()) else {
            return Err(de::Error::custom("regexp must be set for HTTP header matchers"));
        };
        Ok(Self {
            header: raw.header,
            regexp,
            allow_missing: raw.allow_missing,
        })
    }
}

/// The `http:` section (blackbox's `http_probe` plus Prometheus's inlined `http_client_config`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpProbe {
    /// Empty means 2xx.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub valid_status_codes: Vec<u16>,
    /// `HTTP/1.1` style strings; empty means any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub valid_http_versions: Vec<String>,
    pub preferred_ip_protocol: IpProtocol,
    pub ip_protocol_fallback: bool,
    pub skip_resolve_phase_with_proxy: bool,
    /// Deprecated spelling of `follow_redirects: false`; folded into `follow_redirects`.
    #[serde(skip_serializing)]
    pub no_follow_redirects: Option<bool>,
    pub follow_redirects: bool,
    pub enable_http2: bool,
    pub fail_if_ssl: bool,
    pub fail_if_not_ssl: bool,
    pub method: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fail_if_body_matches_regexp: Vec<Pattern>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fail_if_body_not_matches_regexp: Vec<Pattern>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fail_if_header_matches: Vec<HeaderMatch>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fail_if_header_not_matches: Vec<HeaderMatch>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub body: String,
    /// `gzip`, `deflate`, `identity` or empty.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub compression: String,
    /// Bytes; 0 means no limit.
    #[serde(deserialize_with = "de_size", skip_serializing_if = "is_zero")]
    pub body_size_limit: u64,
    pub tls_config: TlsConfig,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuth>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization: Option<Authorization>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bearer_token: Option<Secret>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bearer_token_file: Option<String>,
    /// Rejected at load time (not supported); kept so the error can name it.
    #[serde(skip_serializing)]
    pub oauth2: Option<serde_yaml::Value>,
    #[serde(skip_serializing)]
    pub proxy_url: Option<String>,
}

impl Default for HttpProbe {
    fn default() -> Self {
        Self {
            valid_status_codes: Vec::new(),
            valid_http_versions: Vec::new(),
            preferred_ip_protocol: IpProtocol::Ip6,
            ip_protocol_fallback: true,
            skip_resolve_phase_with_proxy: false,
            no_follow_redirects: None,
            follow_redirects: true,
            enable_http2: true,
            fail_if_ssl: false,
            fail_if_not_ssl: false,
            method: "GET".into(),
            headers: BTreeMap::new(),
            fail_if_body_matches_regexp: Vec::new(),
            fail_if_body_not_matches_regexp: Vec::new(),
            fail_if_header_matches: Vec::new(),
            fail_if_header_not_matches: Vec::new(),
            body: String::new(),
            compression: String::new(),
            body_size_limit: 0,
            tls_config: TlsConfig::default(),
            basic_auth: None,
            authorization: None,
            bearer_token: None,
            bearer_token_file: None,
            oauth2: None,
            proxy_url: None,
        }
    }
}

impl HttpProbe {
    /// `follow_redirects`, with the deprecated `no_follow_redirects` taking precedence when set.
    pub fn follows_redirects(&self) -> bool {
        match self.no_follow_redirects {
            Some(no) => !no,
            None => self.follow_redirects,
        }
    }
}

/// One step of a TCP conversation.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueryResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect: Option<Pattern>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub send: String,
    pub starttls: bool,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TcpProbe {
    pub preferred_ip_protocol: IpProtocol,
    pub ip_protocol_fallback: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub source_ip_address: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub query_response: Vec<QueryResponse>,
    pub tls: bool,
    pub tls_config: TlsConfig,
}

impl Default for TcpProbe {
    fn default() -> Self {
        Self {
            preferred_ip_protocol: IpProtocol::Ip6,
            ip_protocol_fallback: true,
            source_ip_address: String::new(),
            query_response: Vec::new(),
            tls: false,
            tls_config: TlsConfig::default(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct IcmpProbe {
    pub preferred_ip_protocol: IpProtocol,
    pub ip_protocol_fallback: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub source_ip_address: String,
    /// Bytes of payload; 0 means blackbox's default payload (28 bytes of text).
    #[serde(skip_serializing_if = "is_zero_usize")]
    pub payload_size: usize,
    /// Sets the IPv4 don't-fragment bit (through `IP_MTU_DISCOVER`, so it works on unprivileged
    /// sockets too); ignored for IPv6, which never fragments in transit.
    pub dont_fragment: bool,
    /// Outgoing TTL / hop limit.
    #[serde(deserialize_with = "de_ttl")]
    pub ttl: u8,
}

impl Default for IcmpProbe {
    fn default() -> Self {
        Self {
            preferred_ip_protocol: IpProtocol::Ip6,
            ip_protocol_fallback: true,
            source_ip_address: String::new(),
            payload_size: 0,
            dont_fragment: false,
            ttl: 64,
        }
    }
}

/// Regular expressions every RR of one section is checked against (its text form, as `dig`
/// and miekg/dns print it: `name.\tttl\tclass\ttype\trdata`).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RrValidator {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fail_if_matches_regexp: Vec<Pattern>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fail_if_all_match_regexp: Vec<Pattern>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fail_if_not_matches_regexp: Vec<Pattern>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fail_if_none_matches_regexp: Vec<Pattern>,
}

#[derive(Clone, Debug, Serialize)]
pub struct DnsProbe {
    pub preferred_ip_protocol: IpProtocol,
    pub ip_protocol_fallback: bool,
    pub dns_over_tls: bool,
    pub tls_config: TlsConfig,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub source_ip_address: String,
    /// `udp` or `tcp`.
    pub transport_protocol: String,
    pub query_name: String,
    /// Numeric, from `query_type` (default `ANY`, as in blackbox_exporter).
    #[serde(serialize_with = "ser_qtype")]
    pub query_type: u16,
    #[serde(serialize_with = "ser_qclass")]
    pub query_class: u16,
    pub recursion_desired: bool,
    /// Numeric, from the names in `valid_rcodes` (default `NOERROR`).
    #[serde(serialize_with = "ser_rcodes")]
    pub valid_rcodes: Vec<u16>,
    pub validate_answer_rrs: RrValidator,
    pub validate_authority_rrs: RrValidator,
    pub validate_additional_rrs: RrValidator,
}

impl Default for DnsProbe {
    fn default() -> Self {
        Self {
            preferred_ip_protocol: IpProtocol::Ip6,
            ip_protocol_fallback: true,
            dns_over_tls: false,
            tls_config: TlsConfig::default(),
            source_ip_address: String::new(),
            transport_protocol: "udp".into(),
            query_name: String::new(),
            query_type: crate::dns::wire::TYPE_ANY,
            query_class: crate::dns::wire::CLASS_IN,
            recursion_desired: true,
            valid_rcodes: vec![0],
            validate_answer_rrs: RrValidator::default(),
            validate_authority_rrs: RrValidator::default(),
            validate_additional_rrs: RrValidator::default(),
        }
    }
}

impl<'de> Deserialize<'de> for DnsProbe {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(default, deny_unknown_fields)]
        struct Raw {
            preferred_ip_protocol: IpProtocol,
            ip_protocol_fallback: bool,
            dns_over_tls: bool,
            tls_config: TlsConfig,
            source_ip_address: String,
            transport_protocol: String,
            query_name: String,
            query_type: String,
            query_class: String,
            recursion_desired: bool,
            valid_rcodes: Option<Vec<String>>,
            validate_answer_rrs: RrValidator,
            validate_authority_rrs: RrValidator,
            validate_additional_rrs: RrValidator,
        }
        impl Default for Raw {
            fn default() -> Self {
                Self {
                    preferred_ip_protocol: IpProtocol::Ip6,
                    ip_protocol_fallback: true,
                    dns_over_tls: false,
                    tls_config: TlsConfig::default(),
                    source_ip_address: String::new(),
                    transport_protocol: String::new(),
                    query_name: String::new(),
                    query_type: String::new(),
                    query_class: String::new(),
                    recursion_desired: true,
                    valid_rcodes: None,
                    validate_answer_rrs: RrValidator::default(),
                    validate_authority_rrs: RrValidator::default(),
                    validate_additional_rrs: RrValidator::default(),
                }
            }
        }
        let raw = Raw::deserialize(d)?;
        let query_type = if raw.query_type.is_empty() {
            crate::dns::wire::TYPE_ANY
        } else {
            type_from_name(&raw.query_type)
                .ok_or_else(|| de::Error::custom(format!("query type '{}' is not valid", raw.query_type)))?
        };
        let query_class = if raw.query_class.is_empty() {
            crate::dns::wire::CLASS_IN
        } else {
            class_from_name(&raw.query_class)
                .ok_or_else(|| de::Error::custom(format!("query class '{}' is not valid", raw.query_class)))?
        };
        let valid_rcodes = match raw.valid_rcodes {
            None => vec![0],
            Some(names) => names
                .iter()
                .map(|n| rcode_from_name(n).ok_or_else(|| de::Error::custom(format!("invalid rcode {n:?}"))))
                .collect::<Result<Vec<_>, _>>()?,
        };
        Ok(Self {
            preferred_ip_protocol: raw.preferred_ip_protocol,
            ip_protocol_fallback: raw.ip_protocol_fallback,
            dns_over_tls: raw.dns_over_tls,
            tls_config: raw.tls_config,
            source_ip_address: raw.source_ip_address,
            transport_protocol: if raw.transport_protocol.is_empty() {
                "udp".into()
            } else {
                raw.transport_protocol
            },
            query_name: raw.query_name,
            query_type,
            query_class,
            recursion_desired: raw.recursion_desired,
            valid_rcodes,
            validate_answer_rrs: raw.validate_answer_rrs,
            validate_authority_rrs: raw.validate_authority_rrs,
            validate_additional_rrs: raw.validate_additional_rrs,
        })
    }
}

/// The `grpc:` section, parsed only so such modules load.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct GrpcProbe {
    pub service: String,
    pub tls: bool,
    pub tls_config: TlsConfig,
    pub ip_protocol_fallback: bool,
    pub preferred_ip_protocol: Option<IpProtocol>,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

fn is_zero_usize(v: &usize) -> bool {
    *v == 0
}

fn ser_opt_duration<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&format_duration(*d)),
        None => s.serialize_none(),
    }
}

fn ser_qtype<S: Serializer>(t: &u16, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::dns::wire::type_name(*t))
}

fn ser_qclass<S: Serializer>(c: &u16, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::dns::wire::class_name(*c))
}

fn ser_rcodes<S: Serializer>(codes: &[u16], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(codes.iter().map(|&c| crate::dns::wire::rcode_name(c)))
}

fn de_ttl<'de, D: Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
    let v = i64::deserialize(d)?;
    if v < 0 {
        return Err(de::Error::custom("\"ttl\" cannot be negative"));
    }
    if v > 255 {
        return Err(de::Error::custom("\"ttl\" cannot exceed 255"));
    }
    // 0..=255 checked above.
    Ok(u8::try_from(v).unwrap_or(u8::MAX))
}

/// Accepts an integer number of bytes or a base-2 size like `10MB`, `512KiB` (Go's
/// `units.Base2Bytes`).
fn de_size<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Int(i64),
        Str(String),
    }
    match Raw::deserialize(d)? {
        // Negative means "no limit" in blackbox.
        Raw::Int(n) => Ok(u64::try_from(n).unwrap_or(0)),
        Raw::Str(s) => parse_size(&s).map_err(de::Error::custom),
    }
}

pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("invalid size {s:?}"))?;
    let shift = match unit.trim() {
        "" | "B" => 0,
        "KB" | "KiB" | "K" => 10,
        "MB" | "MiB" | "M" => 20,
        "GB" | "GiB" | "G" => 30,
        "TB" | "TiB" | "T" => 40,
        "PB" | "PiB" | "P" => 50,
        "EB" | "EiB" | "E" => 60,
        other => return Err(format!("invalid size unit {other:?} in {s:?}")),
    };
    n.checked_mul(1u64 << shift)
        .ok_or_else(|| format!("size {s:?} is too large"))
}

/// Prometheus's duration syntax: `1y2w3d4h5m6s7ms` (each part optional, in that order), or `0`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    promql_syntax::parse_duration_checked(s).map(Duration::from_millis)
}

/// The inverse of [`parse_duration`], in Prometheus's canonical form (`1m30s`, `500ms`).
pub fn format_duration(d: Duration) -> String {
    promql_syntax::format_duration_ms(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn builtin_config_loads() {
        let m = Modules::parse(DEFAULT_CONFIG).unwrap();
        for name in [
            "http_2xx",
            "http_post_2xx",
            "tcp_connect",
            "icmp",
            "icmp_ttl5",
            "irc_banner",
        ] {
            assert!(m.get(name).is_some(), "{name}");
        }
        assert_eq!(m.get("icmp_ttl5").unwrap().icmp.ttl, 5);
        assert_eq!(m.get("http_post_2xx").unwrap().http.method, "POST");
        assert_eq!(Modules::builtin().modules.len(), m.modules.len());
    }

    #[test]
    fn defaults_match_blackbox() {
        let m = Modules::parse("modules:\n  d:\n    prober: dns\n    dns:\n      query_name: x\n").unwrap();
        let d = m.get("d").unwrap();
        assert_eq!(d.dns.query_type, crate::dns::wire::TYPE_ANY);
        assert_eq!(d.dns.valid_rcodes, vec![0]);
        assert!(d.dns.recursion_desired);
        assert_eq!(d.dns.preferred_ip_protocol, IpProtocol::Ip6);
        assert!(d.dns.ip_protocol_fallback);
        assert!(d.http.follows_redirects());
        assert_eq!(d.timeout, None);
    }

    #[test]
    fn unknown_field_names_module_and_field() {
        let e = Modules::parse("modules:\n  m1:\n    prober: http\n    http:\n      bogus: 1\n").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("m1") && msg.contains("bogus") && msg.contains("http"),
            "{msg}"
        );
        let e = Modules::parse("modules:\n  m2:\n    prober: ftp\n").unwrap_err();
        assert!(
            e.to_string().contains("m2") && e.to_string().contains("ftp"),
            "{e}"
        );
        let e = Modules::parse("modules:\n  m3:\n    prober: http\n    timout: 5s\n").unwrap_err();
        assert!(
            e.to_string().contains("m3") && e.to_string().contains("timout"),
            "{e}"
        );
        let e = Modules::parse(
            "modules:\n  m4:\n    prober: dns\n    dns:\n      query_name: x\n      query_type: BOGUS\n",
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("m4") && e.to_string().contains("BOGUS"),
            "{e}"
        );
        let e = Modules::parse(
            "modules:\n  m5:\n    prober: http\n    http:\n      fail_if_body_matches_regexp: ['(']\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("m5"), "{e}");
        let e = Modules::parse("modules:\n  m6:\n    prober: dns\n").unwrap_err();
        assert!(e.to_string().contains("query name"), "{e}");
    }

    #[test]
    fn no_follow_redirects_overrides() {
        let m =
            Modules::parse("modules:\n  a:\n    prober: http\n    http:\n      no_follow_redirects: true\n")
                .unwrap();
        assert!(!m.get("a").unwrap().http.follows_redirects());
    }

    #[test]
    fn durations_and_sizes() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("1s1m").is_err());
        assert!(parse_duration("").is_err());
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(parse_size("10MB").unwrap(), 10 << 20);
        assert_eq!(parse_size("512").unwrap(), 512);
        assert!(parse_size("1XB").is_err());
    }

    #[test]
    fn compression_accept_encoding_check() {
        assert!(compression_accepted("gzip", "br, gzip"));
        assert!(compression_accepted("gzip", "br;q=1.0, gzip;q=0.9"));
        assert!(!compression_accepted("gzip", "br, identity"));
        assert!(!compression_accepted("gzip", "gzip;q=0"));
        assert!(compression_accepted("", "anything"));
    }
}
