//! The small value types Alertmanager's config shares with the rest of the Prometheus ecosystem:
//! secrets that print as `<secret>`, validated URLs, `host:port`, Go-style durations, YAML 1.1
//! booleans and `http_config` (prometheus/common's HTTP client options) with its validation.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// What a secret prints as, and what a secret read back from a printed config holds.
pub const SECRET_TOKEN: &str = "<secret>";

/// A password, token or key: kept as given, printed as `<secret>`.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself, for the notifier that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(SECRET_TOKEN)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(SECRET_TOKEN)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(SECRET_TOKEN)
    }
}

/// For `skip_serializing_if`: Alertmanager omits empty secrets.
pub(crate) fn no_secret(s: &Option<Secret>) -> bool {
    s.as_ref().is_none_or(Secret::is_empty)
}

/// An `http` or `https` URL with a host, checked as Alertmanager's `parseURL` does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Url(String);

impl Url {
    pub fn parse(s: &str) -> Result<Url, String> {
        check_url(s)?;
        Ok(Url(s.to_string()))
    }

    /// A URL this crate writes as a default; known to be valid.
    pub(crate) fn trusted(s: &str) -> Url {
        Url(s.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Url {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Url::parse(&s).map_err(de::Error::custom)
    }
}

/// A URL that is itself a credential (Slack webhooks): printed as `<secret>`, and `<secret>` is
/// accepted on reading so a printed config loads again.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(String);

impl SecretUrl {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(SECRET_TOKEN)
    }
}

impl Serialize for SecretUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(SECRET_TOKEN)
    }
}

impl<'de> Deserialize<'de> for SecretUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s != SECRET_TOKEN {
            check_url(&s).map_err(de::Error::custom)?;
        }
        Ok(SecretUrl(s))
    }
}

/// Go's `url.Parse` plus Alertmanager's scheme and host checks, for the URLs people write.
fn check_url(s: &str) -> Result<(), String> {
    if s.chars().any(|c| c.is_control()) {
        return Err(format!("parse {s:?}: net/url: invalid control character in URL"));
    }
    let scheme = match s.find(':') {
        Some(i)
            if s[..i].starts_with(|c: char| c.is_ascii_alphabetic())
                && s[..i]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
        {
            &s[..i]
        }
        Some(0) => return Err(format!("parse {s:?}: missing protocol scheme")),
        _ => "",
    };
    let lower = scheme.to_ascii_lowercase();
    if lower != "http" && lower != "https" {
        return Err(format!("unsupported scheme {scheme:?} for URL"));
    }
    let rest = &s[scheme.len() + 1..];
    let Some(after) = rest.strip_prefix("//") else {
        return Err("missing host for URL".to_string());
    };
    let authority = &after[..after.find(['/', '?', '#']).unwrap_or(after.len())];
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        let Some(end) = host_port.find(']') else {
            return Err(format!("parse {s:?}: missing ']' in host"));
        };
        let port = &host_port[end + 1..];
        if !port.is_empty()
            && !port
                .strip_prefix(':')
                .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(format!("parse {s:?}: invalid port {port:?} after host"));
        }
        &host_port[..=end]
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) => {
                if !p.chars().all(|c| c.is_ascii_digit()) {
                    return Err(format!("parse {s:?}: invalid port \":{p}\" after host"));
                }
                h
            }
            None => host_port,
        }
    };
    if host.chars().any(|c| c == ' ' || "<>\"{}|\\^`".contains(c)) {
        return Err(format!("parse {s:?}: invalid character in host name"));
    }
    if host_port.is_empty() {
        return Err("missing host for URL".to_string());
    }
    Ok(())
}

/// `host:port`, as `smtp_smarthost` and `smarthost` are written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostPort {
    pub host: String,
    pub port: String,
}

impl HostPort {
    /// Go's `net.SplitHostPort` with Alertmanager's extra rule that the port is not empty.
    pub fn parse(s: &str) -> Result<HostPort, String> {
        if s.is_empty() {
            return Ok(HostPort::default());
        }
        let missing = || format!("address {s}: missing port in address");
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let Some((h, after)) = rest.split_once(']') else {
                return Err(format!("address {s}: missing ']' in address"));
            };
            let Some(p) = after.strip_prefix(':') else {
                return Err(if after.is_empty() {
                    missing()
                } else {
                    format!("address {s}: unexpected ']' in address")
                });
            };
            (h, p)
        } else {
            let Some((h, p)) = s.rsplit_once(':') else {
                return Err(missing());
            };
            if h.contains(':') {
                return Err(format!("address {s}: too many colons in address"));
            }
            (h, p)
        };
        if host.contains(['[', ']']) || port.contains(['[', ']']) {
            return Err(format!("address {s}: unexpected '[' in address"));
        }
        if port.is_empty() {
            return Err(format!("address {s:?}: port cannot be empty"));
        }
        Ok(HostPort {
            host: host.to_string(),
            port: port.to_string(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.host.is_empty() && self.port.is_empty()
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return Ok(());
        }
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl<'de> Deserialize<'de> for HostPort {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = crate::timeinterval::scalar_text(d)?;
        HostPort::parse(&s).map_err(de::Error::custom)
    }
}

impl Serialize for HostPort {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

/// A Prometheus duration (`30s`, `1h30m`, `2w`) in milliseconds, printed the same way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(pub u64);

impl Duration {
    pub fn from_secs(s: u64) -> Duration {
        Duration(s * 1000)
    }

    pub fn as_millis(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&promql_syntax::format_duration_ms(self.0))
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = crate::timeinterval::scalar_text(d)?;
        promql_syntax::parse_duration_checked(&s)
            .map(Duration)
            .map_err(de::Error::custom)
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

/// Booleans as Alertmanager's YAML 1.1 decoder reads them: `true`, `yes`, `on`, `y` and their
/// capitalised forms.
pub(crate) fn yaml11_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a boolean")
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
            Ok(v)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
            match v {
                "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "True" | "TRUE" => Ok(true),
                "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "False" | "FALSE" => Ok(false),
                _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
            }
        }
    }
    d.deserialize_any(V)
}

pub(crate) fn yaml11_opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    yaml11_bool(d).map(Some)
}

pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

fn default_true() -> bool {
    true
}

/// `tls_config`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ca: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cert: String,
    #[serde(skip_serializing_if = "no_secret")]
    pub key: Option<Secret>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ca_file: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cert_file: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub key_file: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub server_name: String,
    #[serde(deserialize_with = "yaml11_bool")]
    pub insecure_skip_verify: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub min_version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub max_version: String,
}

impl TlsConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        if !self.ca.is_empty() && !self.ca_file.is_empty() {
            return Err("at most one of ca and ca_file must be configured".to_string());
        }
        if !self.cert.is_empty() && !self.cert_file.is_empty() {
            return Err("at most one of cert and cert_file must be configured".to_string());
        }
        let has_key = !no_secret(&self.key);
        if has_key && !self.key_file.is_empty() {
            return Err("at most one of key and key_file must be configured".to_string());
        }
        let has_cert = !self.cert.is_empty() || !self.cert_file.is_empty();
        let has_any_key = has_key || !self.key_file.is_empty();
        if has_cert && !has_any_key {
            return Err(
                "exactly one of key or key_file must be configured when a client certificate is configured"
                    .to_string(),
            );
        }
        if has_any_key && !has_cert {
            return Err(
                "exactly one of cert or cert_file must be configured when a client key is configured"
                    .to_string(),
            );
        }
        for v in [&self.min_version, &self.max_version] {
            if !v.is_empty() && !["TLS10", "TLS11", "TLS12", "TLS13"].contains(&v.as_str()) {
                return Err(format!("unknown TLS version: {v}"));
            }
        }
        Ok(())
    }

    fn is_default(&self) -> bool {
        *self == TlsConfig::default()
    }
}

/// `basic_auth`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct BasicAuth {
    pub username: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub username_file: String,
    #[serde(skip_serializing_if = "no_secret")]
    pub password: Option<Secret>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub password_file: String,
}

/// `authorization`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Authorization {
    #[serde(rename = "type", skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(skip_serializing_if = "no_secret")]
    pub credentials: Option<Secret>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub credentials_file: String,
}

/// `oauth2`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct OAuth2 {
    pub client_id: String,
    #[serde(skip_serializing_if = "no_secret")]
    pub client_secret: Option<Secret>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_secret_file: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    pub token_url: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub endpoint_params: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "TlsConfig::is_default")]
    pub tls_config: TlsConfig,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_url: Option<String>,
}

/// `http_config`: how a notifier reaches its service. Defaults as prometheus/common's: redirects
/// followed, HTTP/2 on.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuth>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization: Option<Authorization>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<OAuth2>,
    #[serde(skip_serializing_if = "no_secret")]
    pub bearer_token: Option<Secret>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub bearer_token_file: String,
    #[serde(skip_serializing_if = "TlsConfig::is_default")]
    pub tls_config: TlsConfig,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_url: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub no_proxy: String,
    #[serde(skip_serializing_if = "is_false", deserialize_with = "yaml11_bool")]
    pub proxy_from_environment: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub proxy_connect_header: BTreeMap<String, Vec<Secret>>,
    #[serde(default = "default_true", deserialize_with = "yaml11_bool")]
    pub follow_redirects: bool,
    #[serde(default = "default_true", deserialize_with = "yaml11_bool")]
    pub enable_http2: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            basic_auth: None,
            authorization: None,
            oauth2: None,
            bearer_token: None,
            bearer_token_file: String::new(),
            tls_config: TlsConfig::default(),
            proxy_url: None,
            no_proxy: String::new(),
            proxy_from_environment: false,
            proxy_connect_header: BTreeMap::new(),
            follow_redirects: true,
            enable_http2: true,
        }
    }
}

impl HttpConfig {
    /// prometheus/common's `HTTPClientConfig.Validate`, including its rewrite of `bearer_token`
    /// into `authorization`.
    pub(crate) fn validate(&mut self) -> Result<(), String> {
        let has_bearer = !no_secret(&self.bearer_token);
        let has_bearer_file = !self.bearer_token_file.is_empty();
        if (has_bearer || has_bearer_file) && (self.basic_auth.is_some() || self.oauth2.is_some()) {
            return Err(
                "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured"
                    .to_string(),
            );
        }
        if has_bearer && has_bearer_file {
            return Err("at most one of bearer_token & bearer_token_file must be configured".to_string());
        }
        if self.basic_auth.is_some() && self.oauth2.is_some() {
            return Err("at most one of basic_auth, oauth2 & authorization must be configured".to_string());
        }
        if let Some(b) = &self.basic_auth {
            if !b.username.is_empty() && !b.username_file.is_empty() {
                return Err(
                    "at most one of basic_auth username & username_file must be configured".to_string(),
                );
            }
            if !no_secret(&b.password) && !b.password_file.is_empty() {
                return Err(
                    "at most one of basic_auth password & password_file must be configured".to_string(),
                );
            }
        }
        if let Some(a) = &mut self.authorization {
            if has_bearer || has_bearer_file {
                return Err(
                    "authorization is not compatible with bearer_token & bearer_token_file".to_string(),
                );
            }
            if !no_secret(&a.credentials) && !a.credentials_file.is_empty() {
                return Err(
                    "at most one of authorization credentials & credentials_file must be configured"
                        .to_string(),
                );
            }
            a.kind = a.kind.trim().to_string();
            if a.kind.is_empty() {
                a.kind = "Bearer".to_string();
            }
            if a.kind.eq_ignore_ascii_case("basic") {
                return Err(
                    "authorization type cannot be set to \"basic\", use \"basic_auth\" instead".to_string(),
                );
            }
            if self.basic_auth.is_some() || self.oauth2.is_some() {
                return Err(
                    "at most one of basic_auth, oauth2 & authorization must be configured".to_string(),
                );
            }
        } else if has_bearer || has_bearer_file {
            self.authorization = Some(Authorization {
                kind: "Bearer".to_string(),
                credentials: self.bearer_token.take().filter(|s| !s.is_empty()),
                credentials_file: std::mem::take(&mut self.bearer_token_file),
            });
        }
        if let Some(o) = &self.oauth2 {
            if o.client_id.is_empty() {
                return Err("oauth2 client_id must be configured".to_string());
            }
            let has_secret = !no_secret(&o.client_secret);
            if !has_secret && o.client_secret_file.is_empty() {
                return Err(
                    "either oauth2 client_secret or client_secret_file must be configured".to_string(),
                );
            }
            if o.token_url.is_empty() {
                return Err("oauth2 token_url must be configured".to_string());
            }
            if has_secret && !o.client_secret_file.is_empty() {
                return Err(
                    "at most one of oauth2 client_secret & client_secret_file must be configured".to_string(),
                );
            }
            o.tls_config.validate()?;
        }
        let has_proxy = self.proxy_url.as_deref().is_some_and(|p| !p.is_empty());
        if self.proxy_from_environment && has_proxy {
            return Err(
                "if proxy_from_environment is configured, proxy_url must not be configured".to_string(),
            );
        }
        if self.proxy_from_environment && !self.no_proxy.is_empty() {
            return Err(
                "if proxy_from_environment is configured, no_proxy must not be configured".to_string(),
            );
        }
        if !has_proxy && !self.no_proxy.is_empty() {
            return Err("if no_proxy is configured, proxy_url must also be configured".to_string());
        }
        if !has_proxy && !self.proxy_connect_header.is_empty() {
            return Err(
                "if proxy_connect_header is configured proxy_url must also be configured".to_string(),
            );
        }
        self.tls_config.validate()
    }

    /// Whether this is untouched prometheus/common defaults.
    pub fn is_default(&self) -> bool {
        *self == HttpConfig::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        for ok in [
            "http://a/b",
            "https://hooks.slack.com/x?y=1",
            "http://[::1]:80/",
            "http://u:p@h:9/",
            "HTTP://x",
        ] {
            assert!(Url::parse(ok).is_ok(), "{ok}");
        }
        for (bad, msg) in [
            ("x", "unsupported scheme \"\" for URL"),
            ("ftp://x/y", "unsupported scheme \"ftp\" for URL"),
            ("http:///y", "missing host for URL"),
            ("http:y", "missing host for URL"),
            ("http://a:b/", "invalid port"),
        ] {
            let e = Url::parse(bad).unwrap_err();
            assert!(e.contains(msg), "{bad}: {e}");
        }
    }

    #[test]
    fn host_ports() {
        assert_eq!(HostPort::parse("h:25").unwrap().to_string(), "h:25");
        assert_eq!(HostPort::parse("[::1]:25").unwrap().to_string(), "[::1]:25");
        assert!(HostPort::parse("").unwrap().is_empty());
        assert_eq!(
            HostPort::parse("h").unwrap_err(),
            "address h: missing port in address"
        );
        assert_eq!(
            HostPort::parse("h:").unwrap_err(),
            "address \"h:\": port cannot be empty"
        );
        assert_eq!(
            HostPort::parse("a:b:c").unwrap_err(),
            "address a:b:c: too many colons in address"
        );
    }

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "<secret> <secret>");
        assert_eq!(serde_yaml::to_string(&s).unwrap().trim(), "<secret>");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn http_config_rules() {
        let mut h: HttpConfig = serde_yaml::from_str("bearer_token: x").unwrap();
        h.validate().unwrap();
        let a = h.authorization.as_ref().unwrap();
        assert_eq!(
            (a.kind.as_str(), a.credentials.as_ref().unwrap().expose()),
            ("Bearer", "x")
        );
        assert!(h.bearer_token.is_none());
        for (yaml, msg) in [
            (
                "{bearer_token: x, basic_auth: {username: a}}",
                "at most one of basic_auth, oauth2, bearer_token & bearer_token_file",
            ),
            ("{authorization: {type: basic}}", "use \"basic_auth\" instead"),
            (
                "{oauth2: {client_secret: b, token_url: x}}",
                "oauth2 client_id must be configured",
            ),
            (
                "{proxy_connect_header: {a: [b]}}",
                "proxy_url must also be configured",
            ),
            ("{tls_config: {cert_file: x}}", "exactly one of key or key_file"),
            ("{tls_config: {min_version: TLS9}}", "unknown TLS version: TLS9"),
        ] {
            let mut h: HttpConfig = serde_yaml::from_str(yaml).unwrap();
            let e = h.validate().unwrap_err();
            assert!(e.contains(msg), "{yaml}: {e}");
        }
        assert!(serde_yaml::from_str::<HttpConfig>("{foo: 1}").is_err());
        let d: HttpConfig = serde_yaml::from_str("{follow_redirects: no}").unwrap();
        assert!(!d.follow_redirects && d.enable_http2);
    }

    #[test]
    fn durations() {
        let d: Duration = serde_yaml::from_str("1h30m").unwrap();
        assert_eq!(d, Duration(5_400_000));
        assert_eq!(d.to_string(), "1h30m");
        assert!(serde_yaml::from_str::<Duration>("1.5h").is_err());
        assert!(serde_yaml::from_str::<Duration>("30").is_err());
        assert!(serde_yaml::from_str::<Duration>("-1s").is_err());
    }
}
