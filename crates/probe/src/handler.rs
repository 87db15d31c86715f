//! blackbox_exporter's `/probe` endpoint without the HTTP server: query string and scrape
//! timeout header in, status, content type and body out. Also [`run_probe`], the same probe for
//! callers that already have a module and a target.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::config::{Module, Modules, ProberKind};
use crate::log::ProbeLog;
use crate::metrics::{Registry, names};

/// Seconds taken off Prometheus's scrape timeout so the answer arrives in time
/// (blackbox_exporter's `--timeout-offset` default).
pub const TIMEOUT_OFFSET_SECONDS: f64 = 0.5;

/// Longest a probe may run, whatever the scrape timeout header says.
const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// Content type of a metrics answer: Prometheus text format 0.0.4.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// Content type of errors and of the `debug=true` answer.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; charset=utf-8";

/// What to answer a `/probe` request with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeResponse {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl ProbeResponse {
    fn error(status: u16, msg: &str) -> Self {
        // Go's http.Error appends a newline.
        Self {
            status,
            content_type: TEXT_CONTENT_TYPE,
            body: format!("{msg}\n"),
        }
    }
}

/// The outcome of one probe.
#[derive(Debug)]
pub struct ProbeResult {
    pub success: bool,
    pub duration_seconds: f64,
    /// The registry with every gauge the probe registered, `probe_success` and
    /// `probe_duration_seconds` included.
    pub registry: Registry,
    /// The probe's log, logfmt, one line per event.
    pub logs: String,
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Go's `url.QueryUnescape`: `+` is a space, `%XX` a byte; a bad escape is an error.
fn query_unescape(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = hex_value(*bytes.get(i + 1)?)?;
                let lo = hex_value(*bytes.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Go's `url.Values.Get` over `url.ParseQuery`: the first value of `key`, pairs that do not
/// decode being skipped.
pub fn query_param(query: &str, key: &str) -> Option<String> {
    let query = query.strip_prefix('?').unwrap_or(query);
    query
        .split('&')
        .filter(|pair| !pair.is_empty() && !pair.contains(';'))
        .find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (query_unescape(k)? == key).then(|| query_unescape(v)).flatten()
        })
}

/// blackbox_exporter's `getTimeout`: the scrape timeout (120 s when absent or zero) minus the
/// offset, or the module's timeout when that is shorter (or the difference negative).
pub fn effective_timeout(
    scrape_timeout_header: Option<&str>,
    module: &Module,
    offset: f64,
) -> Result<f64, String> {
    let mut timeout = match scrape_timeout_header.filter(|v| !v.is_empty()) {
        Some(v) => v
            .trim()
            .parse::<f64>()
            .map_err(|_| format!("strconv.ParseFloat: parsing {v:?}: invalid syntax"))?,
        None => 0.0,
    };
    if timeout == 0.0 {
        timeout = 120.0;
    }
    let max = timeout - offset;
    let module_timeout = module.timeout_seconds();
    Ok(if (module_timeout < max && module_timeout > 0.0) || max < 0.0 {
        module_timeout
    } else {
        max
    })
}

/// Runs one probe with the given timeout. Never fails: a failed probe is
/// `success == false` with the reason in `logs`.
pub async fn run_probe(module_name: &str, module: &Module, target: &str, timeout: Duration) -> ProbeResult {
    let mut reg = Registry::new();
    let success_g = reg.gauge(names::SUCCESS);
    let duration_g = reg.gauge(names::DURATION);
    let mut log = ProbeLog::new(module_name, target);
    log.info(
        "Beginning probe",
        &[
            ("probe", &module.prober.as_str()),
            ("timeout_seconds", &timeout.as_secs_f64()),
        ],
    );
    let start = Instant::now();
    let now = tokio::time::Instant::now();
    let deadline = now.checked_add(timeout.min(MAX_TIMEOUT)).unwrap_or(now);
    let run = async {
        match module.prober {
            ProberKind::Http => crate::http::probe(target, module, deadline, &mut reg, &mut log).await,
            ProberKind::Tcp => crate::tcp::probe(target, module, deadline, &mut reg, &mut log).await,
            ProberKind::Dns => crate::dns::probe(target, module, deadline, &mut reg, &mut log).await,
            ProberKind::Icmp => crate::icmp::probe(target, module, deadline, &mut reg, &mut log).await,
            ProberKind::Grpc => {
                log.warn("Probe failed", &[("err", &"the grpc prober is not supported")]);
                false
            }
        }
    };
    // Every prober stops at the deadline by itself; this only guards against a step that
    // forgot to.
    let success = tokio::time::timeout_at(deadline + Duration::from_millis(100), run)
        .await
        .unwrap_or(false);
    let duration = start.elapsed().as_secs_f64();
    reg.set(duration_g, duration);
    if success {
        reg.set(success_g, 1.0);
        log.info("Probe succeeded", &[("duration_seconds", &duration)]);
    } else {
        log.error("Probe failed", &[("duration_seconds", &duration)]);
    }
    ProbeResult {
        success,
        duration_seconds: duration,
        registry: reg,
        logs: log.text().to_string(),
    }
}

/// Answers `/probe?target=…&module=…[&debug=true][&hostname=…]` like blackbox_exporter 0.23.
/// `query` is the raw query string (with or without the leading `?`);
/// `scrape_timeout_header` is the value of `X-Prometheus-Scrape-Timeout-Seconds`, if sent.
pub async fn handle_probe(
    query: &str,
    scrape_timeout_header: Option<&str>,
    modules: &Modules,
) -> ProbeResponse {
    let module_name = query_param(query, "module")
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "http_2xx".to_string());
    let Some(module) = modules.get(&module_name) else {
        return ProbeResponse::error(400, &format!("Unknown module {module_name:?}"));
    };
    let timeout = match effective_timeout(scrape_timeout_header, module, TIMEOUT_OFFSET_SECONDS) {
        Ok(t) => t,
        Err(e) => {
            return ProbeResponse::error(
                500,
                &format!("Failed to parse timeout from Prometheus header: {e}"),
            );
        }
    };
    let Some(target) = query_param(query, "target").filter(|t| !t.is_empty()) else {
        return ProbeResponse::error(400, "Target parameter is missing");
    };
    let hostname = query_param(query, "hostname").filter(|h| !h.is_empty());
    let module: std::borrow::Cow<'_, Module> = match (&hostname, module.prober) {
        (Some(h), ProberKind::Http) => {
            if let Some((_, v)) = module
                .http
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("host"))
                && v != h
            {
                return ProbeResponse::error(
                    400,
                    &format!(
                        "host header defined both in module configuration ({v}) and with URL-parameter 'hostname' ({h})"
                    ),
                );
            }
            let mut m = module.clone();
            m.http.headers.retain(|k, _| !k.eq_ignore_ascii_case("host"));
            m.http.headers.insert("Host".into(), h.clone());
            std::borrow::Cow::Owned(m)
        }
        (Some(h), ProberKind::Tcp) if module.tcp.tls_config.server_name.is_empty() => {
            let mut m = module.clone();
            m.tcp.tls_config.server_name = h.clone();
            std::borrow::Cow::Owned(m)
        }
        _ => std::borrow::Cow::Borrowed(module),
    };
    // A negative or NaN timeout (a header of "-5" or "NaN") leaves no time at all, as in Go.
    let timeout = if timeout.is_nan() {
        Duration::ZERO
    } else {
        Duration::try_from_secs_f64(timeout.min(MAX_TIMEOUT.as_secs_f64())).unwrap_or(Duration::ZERO)
    };
    let result = run_probe(&module_name, &module, &target, timeout).await;
    let metrics = result.registry.render();
    if query_param(query, "debug").as_deref() == Some("true") {
        let mut body = String::with_capacity(result.logs.len() + metrics.len() + 512);
        body.push_str("Logs for the probe:\n");
        body.push_str(&result.logs);
        body.push_str("\n\n\nMetrics that would have been returned:\n");
        body.push_str(&metrics);
        body.push_str("\n\n\nModule configuration:\n");
        match serde_yaml::to_string(&*module) {
            Ok(yaml) => body.push_str(&yaml),
            Err(e) => {
                let _ = writeln!(body, "Error marshalling config: {e}");
            }
        }
        return ProbeResponse {
            status: 200,
            content_type: TEXT_CONTENT_TYPE,
            body,
        };
    }
    ProbeResponse {
        status: 200,
        content_type: METRICS_CONTENT_TYPE,
        body: metrics,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn query_parsing_like_go() {
        let q = "target=http%3A%2F%2Fa.b%2F%3Fx%3D1&module=http_2xx&module=other&debug=true&sp=a+b";
        assert_eq!(query_param(q, "target").as_deref(), Some("http://a.b/?x=1"));
        assert_eq!(query_param(q, "module").as_deref(), Some("http_2xx"));
        assert_eq!(query_param(q, "sp").as_deref(), Some("a b"));
        assert_eq!(query_param(q, "missing"), None);
        assert_eq!(query_param("?target", "target").as_deref(), Some(""));
        assert_eq!(
            query_param("target=%zz&target=ok", "target").as_deref(),
            Some("ok")
        );
    }

    #[test]
    fn timeout_rules() {
        let modules =
            Modules::parse("modules:\n  a:\n    prober: tcp\n    timeout: 5s\n  b:\n    prober: tcp\n")
                .unwrap();
        let a = modules.get("a").unwrap();
        let b = modules.get("b").unwrap();
        assert_eq!(effective_timeout(None, b, 0.5).unwrap(), 119.5);
        assert_eq!(effective_timeout(Some("10"), b, 0.5).unwrap(), 9.5);
        assert_eq!(effective_timeout(Some("10"), a, 0.5).unwrap(), 5.0);
        assert_eq!(effective_timeout(Some("3"), a, 0.5).unwrap(), 2.5);
        assert_eq!(effective_timeout(Some("0.2"), a, 0.5).unwrap(), 5.0);
        assert!(effective_timeout(Some("abc"), a, 0.5).is_err());
    }

    #[tokio::test]
    async fn endpoint_errors() {
        let modules = Modules::builtin();
        let r = handle_probe("module=http_2xx", None, &modules).await;
        assert_eq!(
            (r.status, r.body.as_str()),
            (400, "Target parameter is missing\n")
        );
        let r = handle_probe("target=x&module=nope", None, &modules).await;
        assert_eq!((r.status, r.body.as_str()), (400, "Unknown module \"nope\"\n"));
        let r = handle_probe("target=x&module=tcp_connect", Some("soon"), &modules).await;
        assert_eq!(r.status, 500);
        assert!(
            r.body
                .starts_with("Failed to parse timeout from Prometheus header")
        );
        // Absurd timeouts neither panic nor hang.
        for header in ["1e300", "-5", "NaN", "inf"] {
            let r = handle_probe("target=127.0.0.1:1&module=tcp_connect", Some(header), &modules).await;
            assert_eq!(r.status, 200, "{header}");
            assert!(r.body.contains("probe_success 0"), "{header}");
        }
    }
}
