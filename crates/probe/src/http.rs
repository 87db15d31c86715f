//! The HTTP prober. Each round trip is done by hand — resolve, TCP connect, TLS handshake, then
//! hyper's HTTP/1.1 client on that connection — so every phase blackbox_exporter reports
//! (`resolve`, `connect`, `tls`, `processing`, `transfer`) is measured where it happens and the
//! peer's certificate chain and TLS version are at hand. Redirects, cookies and `Referer` follow
//! Go's `net/http` client.

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use tokio::time::{Instant as TokioInstant, timeout_at};
use url::Url;

use crate::config::{HeaderMatch, HttpProbe, Module};
use crate::log::ProbeLog;
use crate::metrics::{Registry, names};
use crate::net::{Stream, connect_tcp};
use crate::resolve::{choose_protocol, lookup};
use crate::tls::{TlsSetup, TlsState};

/// Sent when the module sets no `User-Agent`.
pub const USER_AGENT: &str = concat!(
    "Pharos/",
    env!("CARGO_PKG_VERSION"),
    " (blackbox_exporter compatible)"
);

/// Go's client gives up after this many redirects.
const MAX_REDIRECTS: usize = 10;

/// Timings of one round trip, as Go's `httptrace` hooks record them.
#[derive(Default)]
struct Trace {
    tls: bool,
    start: Option<Instant>,
    dns_done: Option<Instant>,
    connect_done: Option<Instant>,
    tls_start: Option<Instant>,
    tls_done: Option<Instant>,
    got_conn: Option<Instant>,
    response_start: Option<Instant>,
    end: Option<Instant>,
}

fn secs(later: Option<Instant>, earlier: Option<Instant>) -> f64 {
    match (later, earlier) {
        (Some(l), Some(e)) => l.saturating_duration_since(e).as_secs_f64(),
        _ => 0.0,
    }
}

/// Aborts the connection task when the probe is done or dropped.
struct ConnTask(tokio::task::JoinHandle<()>);

impl Drop for ConnTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A response whose body has not been read yet.
struct Exchange {
    response: hyper::Response<Incoming>,
    tls: Option<TlsState>,
    _conn: ConnTask,
}

fn deadline_error() -> String {
    "context deadline exceeded".to_string()
}

/// Host header value of a URL: the host, plus the port when written.
fn authority(url: &Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

fn request_target(url: &Url) -> String {
    let mut s = url.path().to_string();
    if s.is_empty() {
        s.push('/');
    }
    if let Some(q) = url.query() {
        s.push('?');
        s.push_str(q);
    }
    s
}

fn bare_host(url: &Url) -> String {
    url.host_str()
        .unwrap_or("")
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string()
}

/// The per-probe request settings that do not change across redirects.
struct RequestSettings {
    headers: Vec<(String, String)>,
    authorization: Option<String>,
    has_user_agent: bool,
}

async fn read_secret_file(path: &str) -> Result<String, String> {
    tokio::fs::read_to_string(path)
        .await
        .map(|s| s.trim().to_string())
        .map_err(|e| format!("unable to read {path}: {e}"))
}

async fn authorization(cfg: &HttpProbe) -> Result<Option<String>, String> {
    if let Some(basic) = &cfg.basic_auth {
        let password = match &basic.password {
            Some(p) => p.0.clone(),
            None if !basic.password_file.is_empty() => read_secret_file(&basic.password_file).await?,
            None => String::new(),
        };
        let token =
            base64::engine::general_purpose::STANDARD.encode(format!("{}:{password}", basic.username));
        return Ok(Some(format!("Basic {token}")));
    }
    if let Some(auth) = &cfg.authorization {
        let kind = if auth.kind.is_empty() {
            "Bearer"
        } else {
            auth.kind.as_str()
        };
        let credentials = match &auth.credentials {
            Some(c) => c.0.clone(),
            None if !auth.credentials_file.is_empty() => read_secret_file(&auth.credentials_file).await?,
            None => String::new(),
        };
        return Ok(Some(format!("{kind} {credentials}")));
    }
    if let Some(token) = &cfg.bearer_token {
        return Ok(Some(format!("Bearer {}", token.0)));
    }
    if let Some(file) = &cfg.bearer_token_file {
        return Ok(Some(format!("Bearer {}", read_secret_file(file).await?)));
    }
    Ok(None)
}

/// One request of the chain: where to connect and what to send.
struct Hop {
    /// The URL as Go's request carries it (the first one with the resolved IP as host).
    url: Url,
    /// Where to connect; empty means "resolve the URL's host".
    addrs: Vec<IpAddr>,
    host_header: String,
    method: http::Method,
    body: Bytes,
    referer: Option<String>,
}

/// Connects (trying each address in turn), does TLS when the scheme says so, sends the request
/// and waits for the response head.
async fn round_trip(
    hop: &Hop,
    settings: &RequestSettings,
    cookies: &[(String, String, String)],
    tls: Option<&TlsSetup>,
    trace: &mut Trace,
    deadline: TokioInstant,
    log: &mut ProbeLog,
) -> Result<Exchange, String> {
    let port = hop.url.port_or_known_default().unwrap_or(80);
    let mut stream = None;
    let mut last_err = String::from("no addresses to connect to");
    for &ip in &hop.addrs {
        match timeout_at(deadline, connect_tcp(SocketAddr::new(ip, port), None)).await {
            Ok(Ok(s)) => {
                stream = Some(s);
                break;
            }
            Ok(Err(e)) => last_err = format!("dial tcp {}: {e}", SocketAddr::new(ip, port)),
            Err(_) => {
                last_err = deadline_error();
                break;
            }
        }
    }
    trace.connect_done = Some(Instant::now());
    let tcp = stream.ok_or(last_err)?;
    let _ = tcp.set_nodelay(true);
    let (stream, tls_state) = match tls {
        Some(setup) => {
            trace.tls_start = Some(Instant::now());
            let result = timeout_at(deadline, setup.handshake(Stream::Plain(tcp))).await;
            trace.tls_done = Some(Instant::now());
            let tls_stream = result
                .map_err(|_| deadline_error())?
                .map_err(|e| format!("tls handshake: {e}"))?;
            let state = setup.state(tls_stream.get_ref().1);
            (Stream::Tls(Box::new(tls_stream)), Some(state))
        }
        None => (Stream::Plain(tcp), None),
    };
    trace.got_conn = Some(Instant::now());

    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut sender, conn) = timeout_at(
        deadline,
        hyper::client::conn::http1::Builder::new()
            .title_case_headers(true)
            .handshake::<_, Full<Bytes>>(io),
    )
    .await
    .map_err(|_| deadline_error())?
    .map_err(|e| e.to_string())?;
    let conn = ConnTask(tokio::spawn(async move {
        let _ = conn.await;
    }));

    let mut req = http::Request::builder()
        .method(hop.method.clone())
        .uri(request_target(&hop.url))
        .header(http::header::HOST, &hop.host_header);
    for (k, v) in &settings.headers {
        req = req.header(k.as_str(), v.as_str());
    }
    if !settings.has_user_agent {
        req = req.header(http::header::USER_AGENT, USER_AGENT);
    }
    if let Some(auth) = &settings.authorization {
        req = req.header(http::header::AUTHORIZATION, auth.as_str());
    }
    if let Some(referer) = &hop.referer {
        req = req.header(http::header::REFERER, referer.as_str());
    }
    let host = bare_host(&hop.url);
    let jar: Vec<String> = cookies
        .iter()
        .filter(|(h, _, _)| *h == host)
        .map(|(_, n, v)| format!("{n}={v}"))
        .collect();
    if !jar.is_empty() {
        req = req.header(http::header::COOKIE, jar.join("; "));
    }
    // Keep-alives are off in blackbox_exporter: one connection per request.
    req = req.header(http::header::CONNECTION, "close");
    let req = req
        .body(Full::new(hop.body.clone()))
        .map_err(|e| format!("error creating request: {e}"))?;
    log.info(
        "Making HTTP request",
        &[("url", &hop.url.as_str()), ("host", &hop.host_header.as_str())],
    );
    let response = timeout_at(deadline, sender.send_request(req))
        .await
        .map_err(|_| deadline_error())?
        .map_err(|e| e.to_string())?;
    trace.response_start = Some(Instant::now());
    Ok(Exchange {
        response,
        tls: tls_state,
        _conn: conn,
    })
}

/// Decompresses (when configured), counts and optionally keeps the response body.
struct BodyReader {
    decoder: Decoder,
    limit: u64,
    count: u64,
    keep: Option<Vec<u8>>,
}

enum Decoder {
    Identity,
    Gzip(Box<flate2::write::GzDecoder<Vec<u8>>>),
    Deflate(Box<flate2::write::DeflateDecoder<Vec<u8>>>),
}

impl BodyReader {
    fn new(compression: &str, limit: u64) -> Self {
        let decoder = match compression.to_ascii_lowercase().as_str() {
            "gzip" => Decoder::Gzip(Box::new(flate2::write::GzDecoder::new(Vec::new()))),
            "deflate" => Decoder::Deflate(Box::new(flate2::write::DeflateDecoder::new(Vec::new()))),
            _ => Decoder::Identity,
        };
        Self {
            decoder,
            limit,
            count: 0,
            keep: None,
        }
    }

    fn emit(&mut self, out: &[u8]) -> Result<(), String> {
        let mut out = out;
        if self.limit > 0 && self.count + out.len() as u64 > self.limit {
            let room = usize::try_from(self.limit - self.count).unwrap_or(0);
            out = &out[..room.min(out.len())];
            self.count += out.len() as u64;
            if let Some(k) = &mut self.keep {
                k.extend_from_slice(out);
            }
            return Err("http: request body too large".into());
        }
        self.count += out.len() as u64;
        if let Some(k) = &mut self.keep {
            k.extend_from_slice(out);
        }
        Ok(())
    }

    fn feed(&mut self, chunk: &[u8]) -> Result<(), String> {
        let produced = match &mut self.decoder {
            Decoder::Identity => return self.emit(chunk),
            Decoder::Gzip(d) => {
                d.write_all(chunk).map_err(|e| format!("gzip: {e}"))?;
                std::mem::take(d.get_mut())
            }
            Decoder::Deflate(d) => {
                d.write_all(chunk).map_err(|e| format!("flate: {e}"))?;
                std::mem::take(d.get_mut())
            }
        };
        self.emit(&produced)
    }

    fn finish(&mut self) -> Result<(), String> {
        let produced = match &mut self.decoder {
            Decoder::Identity => return Ok(()),
            Decoder::Gzip(d) => {
                d.try_finish().map_err(|e| format!("gzip: {e}"))?;
                std::mem::take(d.get_mut())
            }
            Decoder::Deflate(d) => {
                d.try_finish().map_err(|e| format!("flate: {e}"))?;
                std::mem::take(d.get_mut())
            }
        };
        self.emit(&produced)
    }

    async fn read_all(&mut self, body: &mut Incoming, deadline: TokioInstant) -> Result<(), String> {
        loop {
            let frame = timeout_at(deadline, body.frame())
                .await
                .map_err(|_| deadline_error())?;
            match frame {
                None => return self.finish(),
                Some(Err(e)) => return Err(e.to_string()),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.feed(&data)?;
                    }
                }
            }
        }
    }
}

fn header_values<'a>(headers: &'a http::HeaderMap, name: &str) -> Vec<&'a [u8]> {
    headers.get_all(name).iter().map(|v| v.as_bytes()).collect()
}

fn match_headers(headers: &http::HeaderMap, cfg: &HttpProbe, log: &mut ProbeLog) -> bool {
    let check = |spec: &HeaderMatch, log: &mut ProbeLog| -> Option<Vec<&[u8]>> {
        let values = header_values(headers, &spec.header);
        if values.is_empty() {
            if !spec.allow_missing {
                log.error("Missing required header", &[("header", &spec.header)]);
            }
            return None;
        }
        Some(values)
    };
    for spec in &cfg.fail_if_header_matches {
        let Some(values) = check(spec, log) else {
            if spec.allow_missing {
                continue;
            }
            return false;
        };
        if values.iter().any(|v| spec.regexp.is_match(v)) {
            log.error(
                "Header matched regular expression",
                &[
                    ("header", &spec.header),
                    ("regexp", &spec.regexp.as_str()),
                    ("value_count", &values.len()),
                ],
            );
            return false;
        }
    }
    for spec in &cfg.fail_if_header_not_matches {
        let Some(values) = check(spec, log) else {
            if spec.allow_missing {
                continue;
            }
            return false;
        };
        if !values.iter().any(|v| spec.regexp.is_match(v)) {
            log.error(
                "Header did not match regular expression",
                &[
                    ("header", &spec.header),
                    ("regexp", &spec.regexp.as_str()),
                    ("value_count", &values.len()),
                ],
            );
            return false;
        }
    }
    true
}

fn match_body(body: &[u8], cfg: &HttpProbe, log: &mut ProbeLog) -> bool {
    for re in &cfg.fail_if_body_matches_regexp {
        if re.is_match(body) {
            log.error("Body matched regular expression", &[("regexp", &re.as_str())]);
            return false;
        }
    }
    for re in &cfg.fail_if_body_not_matches_regexp {
        if !re.is_match(body) {
            log.error(
                "Body did not match regular expression",
                &[("regexp", &re.as_str())],
            );
            return false;
        }
    }
    true
}

/// Go's `resp.ContentLength`: the header when the body is delimited by it, -1 when unknown.
fn content_length(resp: &hyper::Response<Incoming>, method: &http::Method) -> f64 {
    let status = resp.status().as_u16();
    let headers = resp.headers();
    let chunked = headers.get_all(http::header::TRANSFER_ENCODING).iter().any(|v| {
        v.to_str()
            .is_ok_and(|s| s.to_ascii_lowercase().contains("chunked"))
    });
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<i64>().ok());
    if *method == http::Method::HEAD {
        return declared.map_or(-1.0, |n| n as f64);
    }
    if status / 100 == 1 || status == 204 || status == 304 {
        return 0.0;
    }
    if chunked {
        return -1.0;
    }
    declared.map_or(-1.0, |n| n as f64)
}

fn version_string(v: http::Version) -> (&'static str, f64) {
    match v {
        http::Version::HTTP_09 => ("HTTP/0.9", 0.9),
        http::Version::HTTP_10 => ("HTTP/1.0", 1.0),
        http::Version::HTTP_11 => ("HTTP/1.1", 1.1),
        http::Version::HTTP_2 => ("HTTP/2.0", 2.0),
        http::Version::HTTP_3 => ("HTTP/3.0", 3.0),
        _ => ("", 0.0),
    }
}

fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// Keeps `name=value` of each `Set-Cookie`, per host (a much reduced cookie jar: enough for
/// login redirects, which is what blackbox's jar is there for).
fn store_cookies(headers: &http::HeaderMap, host: &str, jar: &mut Vec<(String, String, String)>) {
    for v in headers.get_all(http::header::SET_COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        let first = s.split(';').next().unwrap_or("");
        let Some((name, value)) = first.split_once('=') else {
            continue;
        };
        let name = name.trim().to_string();
        jar.retain(|(h, n, _)| !(h == host && *n == name));
        jar.push((host.to_string(), name, value.trim().to_string()));
    }
}

/// Runs the HTTP prober; returns whether the probe succeeded.
pub async fn probe(
    target: &str,
    module: &Module,
    deadline: TokioInstant,
    reg: &mut Registry,
    log: &mut ProbeLog,
) -> bool {
    let cfg = &module.http;
    let durations = reg.gauge_vec(names::HTTP_DURATION, &["phase"]);
    let content_length_g = reg.gauge(names::HTTP_CONTENT_LENGTH);
    let body_length_g = reg.gauge(names::HTTP_UNCOMPRESSED_BODY_LENGTH);
    let redirects_g = reg.gauge(names::HTTP_REDIRECTS);
    let ssl_g = reg.gauge(names::HTTP_SSL);
    let status_g = reg.gauge(names::HTTP_STATUS_CODE);
    let version_g = reg.gauge(names::HTTP_VERSION);
    let regex_g = reg.gauge(names::FAILED_DUE_TO_REGEX);

    let target = if target.starts_with("http://") || target.starts_with("https://") {
        target.to_string()
    } else {
        format!("http://{target}")
    };
    let url = match Url::parse(&target) {
        Ok(u) if u.host_str().is_some_and(|h| !h.is_empty()) => u,
        Ok(_) => {
            log.error("Could not parse target URL", &[("err", &"missing host")]);
            return false;
        }
        Err(e) => {
            log.error("Could not parse target URL", &[("err", &e)]);
            return false;
        }
    };
    let target_host = bare_host(&url);
    let resolved = choose_protocol(
        &target_host,
        cfg.preferred_ip_protocol,
        cfg.ip_protocol_fallback,
        reg,
        log,
    )
    .await;
    reg.add_vec(durations, &["resolve"], resolved.lookup_seconds);
    let Some(ip) = resolved.ip else {
        log.error("Error resolving address", &[("err", &"resolution failed")]);
        return false;
    };

    let configured_host = cfg
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.clone());
    let tls_server_name = configured_host.clone().unwrap_or_else(|| target_host.clone());
    let settings = match authorization(cfg).await {
        Ok(authorization) => RequestSettings {
            // Go's client sends the URL's user info as basic auth when nothing else is set.
            authorization: authorization.or_else(|| {
                (!url.username().is_empty()).then(|| {
                    let user = format!("{}:{}", url.username(), url.password().unwrap_or(""));
                    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(user))
                })
            }),
            headers: cfg
                .headers
                .iter()
                .filter(|(k, _)| !k.eq_ignore_ascii_case("host"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            has_user_agent: cfg.headers.keys().any(|k| k.eq_ignore_ascii_case("user-agent")),
        },
        Err(e) => {
            log.error("Error generating HTTP client", &[("err", &e)]);
            return false;
        }
    };
    let method = match http::Method::from_bytes(cfg.method.as_bytes()) {
        Ok(m) => m,
        Err(e) => {
            log.error("Error creating request", &[("err", &e)]);
            return false;
        }
    };

    let mut first_url = url.clone();
    let ip_host = match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    };
    if first_url.set_host(Some(&ip_host)).is_err() {
        log.error(
            "Could not parse target URL",
            &[("err", &"cannot set resolved address")],
        );
        return false;
    }
    let first_host = authority(&first_url);
    let mut hop = Hop {
        url: first_url,
        addrs: vec![ip],
        host_header: configured_host.clone().unwrap_or_else(|| authority(&url)),
        method,
        body: Bytes::from(cfg.body.clone().into_bytes()),
        referer: None,
    };

    for phase in ["connect", "tls", "processing", "transfer"] {
        reg.touch(durations, &[phase]);
    }

    let mut traces: Vec<Trace> = Vec::new();
    let mut tls_base: Option<TlsSetup> = None;
    let mut cookies: Vec<(String, String, String)> = Vec::new();
    let mut redirects = 0usize;
    // The final response, and whether the chain stopped with an error (a redirect not followed).
    let mut last: Option<(Exchange, bool)> = None;
    loop {
        let mut trace = Trace {
            tls: hop.url.scheme() == "https",
            start: Some(Instant::now()),
            ..Trace::default()
        };
        if hop.addrs.is_empty() {
            let host = bare_host(&hop.url);
            match timeout_at(deadline, lookup(&host)).await {
                Ok(Ok(addrs)) => hop.addrs = addrs,
                Ok(Err(e)) => {
                    log.error(
                        "Error for HTTP request",
                        &[("err", &format!("lookup {host}: {e}"))],
                    );
                    traces.push(trace);
                    break;
                }
                Err(_) => {
                    log.error("Error for HTTP request", &[("err", &deadline_error())]);
                    traces.push(trace);
                    break;
                }
            }
        }
        trace.dns_done = Some(Instant::now());
        let tls_setup = if trace.tls {
            if tls_base.is_none() {
                match crate::tls::setup(&cfg.tls_config, &tls_server_name, &[b"http/1.1"]).await {
                    Ok(s) => tls_base = Some(s),
                    Err(e) => {
                        log.error("Error generating HTTP client", &[("err", &e)]);
                        traces.push(trace);
                        break;
                    }
                }
            }
            let base = tls_base.as_ref();
            if authority(&hop.url) == first_host {
                base.cloned()
            } else {
                log.info(
                    "Address does not match first address, not sending TLS ServerName",
                    &[("first", &first_host), ("address", &authority(&hop.url))],
                );
                base.map(|b| b.with_server_name(&bare_host(&hop.url)))
            }
        } else {
            None
        };
        let result = round_trip(
            &hop,
            &settings,
            &cookies,
            tls_setup.as_ref(),
            &mut trace,
            deadline,
            log,
        )
        .await;
        traces.push(trace);
        let exchange = match result {
            Ok(x) => x,
            Err(e) => {
                log.error("Error for HTTP request", &[("err", &e)]);
                break;
            }
        };
        let status = exchange.response.status().as_u16();
        store_cookies(exchange.response.headers(), &bare_host(&hop.url), &mut cookies);
        let location = exchange
            .response
            .headers()
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let Some(location) = location.filter(|_| is_redirect(status)) else {
            last = Some((exchange, false));
            break;
        };
        log.info("Received redirect", &[("location", &location)]);
        redirects = traces.len();
        if redirects > MAX_REDIRECTS || !cfg.follows_redirects() {
            log.info("Not following redirect", &[]);
            last = Some((exchange, true));
            break;
        }
        let next_url = match hop.url.join(&location) {
            Ok(u) => u,
            Err(e) => {
                log.error(
                    "Error for HTTP request",
                    &[(
                        "err",
                        &format!("failed to parse Location header {location:?}: {e}"),
                    )],
                );
                break;
            }
        };
        let relative = Url::parse(&location).is_err();
        let host_header = if relative && hop.host_header != authority(&hop.url) {
            hop.host_header.clone()
        } else {
            authority(&next_url)
        };
        let referer = if hop.url.scheme() == "https" && next_url.scheme() == "http" {
            None
        } else {
            let mut r = hop.url.clone();
            let _ = r.set_username("");
            let _ = r.set_password(None);
            Some(r.to_string())
        };
        let (method, body) = match status {
            307 | 308 => (hop.method.clone(), hop.body.clone()),
            303 if hop.method != http::Method::HEAD => (http::Method::GET, Bytes::new()),
            301 | 302 if hop.method != http::Method::GET && hop.method != http::Method::HEAD => {
                (http::Method::GET, Bytes::new())
            }
            _ => (hop.method.clone(), Bytes::new()),
        };
        let addrs = match next_url.host() {
            Some(url::Host::Ipv4(v4)) => vec![IpAddr::V4(v4)],
            Some(url::Host::Ipv6(v6)) => vec![IpAddr::V6(v6)],
            _ => Vec::new(),
        };
        drop(exchange);
        hop = Hop {
            url: next_url,
            addrs,
            host_header,
            method,
            body,
            referer,
        };
    }

    let mut success = false;
    let mut body_bytes = 0u64;
    let mut status = 0u16;
    let mut content_len = 0.0;
    let mut final_tls: Option<TlsState> = None;
    if let Some((mut exchange, request_errored)) = last {
        status = exchange.response.status().as_u16();
        log.info("Received HTTP response", &[("status_code", &status)]);
        if cfg.valid_status_codes.is_empty() {
            success = (200..300).contains(&status);
            if !success {
                log.info(
                    "Invalid HTTP response status code, wanted 2xx",
                    &[("status_code", &status)],
                );
            }
        } else {
            success = cfg.valid_status_codes.contains(&status);
            if !success {
                log.info(
                    "Invalid HTTP response status code",
                    &[
                        ("status_code", &status),
                        ("valid_status_codes", &format!("{:?}", cfg.valid_status_codes)),
                    ],
                );
            }
        }
        if success && (!cfg.fail_if_header_matches.is_empty() || !cfg.fail_if_header_not_matches.is_empty()) {
            success = match_headers(exchange.response.headers(), cfg, log);
            reg.set(regex_g, if success { 0.0 } else { 1.0 });
        }
        let mut reader = BodyReader::new(&cfg.compression, cfg.body_size_limit);
        let wants_body_regex =
            !cfg.fail_if_body_matches_regexp.is_empty() || !cfg.fail_if_body_not_matches_regexp.is_empty();
        let mut body_read: Option<Result<(), String>> = None;
        if success && wants_body_regex {
            reader.keep = Some(Vec::new());
            let read = if request_errored {
                Err("http: read on closed response body".to_string())
            } else {
                reader.read_all(exchange.response.body_mut(), deadline).await
            };
            success = match &read {
                Ok(()) => match_body(reader.keep.as_deref().unwrap_or(&[]), cfg, log),
                Err(e) => {
                    log.error("Error reading HTTP body", &[("err", e)]);
                    false
                }
            };
            reg.set(regex_g, if success { 0.0 } else { 1.0 });
            reader.keep = None;
            body_read = Some(read);
        }
        if !request_errored {
            let read = match body_read {
                // Already read to the end (or failed) for the regular expressions.
                Some(r) => r,
                None => reader.read_all(exchange.response.body_mut(), deadline).await,
            };
            if let Err(e) = read {
                log.info("Failed to read HTTP response body", &[("err", &e)]);
                success = false;
            }
            body_bytes = reader.count;
        }
        if let Some(trace) = traces.last_mut() {
            trace.end = Some(Instant::now());
        }
        if let Some(t) = exchange
            .response
            .headers()
            .get(http::header::LAST_MODIFIED)
            .and_then(|v| v.to_str().ok())
            .and_then(crate::date::parse_http_date)
        {
            let g = reg.gauge(names::HTTP_LAST_MODIFIED);
            reg.set(g, t as f64);
        }
        let (proto, version) = version_string(exchange.response.version());
        reg.set(version_g, version);
        if !cfg.valid_http_versions.is_empty() && !cfg.valid_http_versions.iter().any(|v| v == proto) {
            log.error("Invalid HTTP version number", &[("version", &proto)]);
            success = false;
        }
        content_len = content_length(&exchange.response, &hop.method);
        final_tls = exchange.tls.take();
    }

    for (i, trace) in traces.iter().enumerate() {
        let mut timings = String::new();
        let _ = write!(
            timings,
            "connect={:.6}s tls={:.6}s processing={:.6}s transfer={:.6}s",
            secs(trace.connect_done, trace.dns_done),
            secs(trace.tls_done, trace.tls_start),
            secs(trace.response_start, trace.got_conn),
            secs(trace.end, trace.response_start)
        );
        log.info(
            "Response timings for roundtrip",
            &[("roundtrip", &i), ("timings", &timings)],
        );
        if i != 0 {
            reg.add_vec(durations, &["resolve"], secs(trace.dns_done, trace.start));
        }
        if trace.got_conn.is_none() {
            continue;
        }
        if trace.tls {
            reg.add_vec(durations, &["connect"], secs(trace.connect_done, trace.dns_done));
            reg.add_vec(durations, &["tls"], secs(trace.tls_done, trace.tls_start));
        } else {
            reg.add_vec(durations, &["connect"], secs(trace.got_conn, trace.dns_done));
        }
        if trace.response_start.is_none() {
            continue;
        }
        reg.add_vec(
            durations,
            &["processing"],
            secs(trace.response_start, trace.got_conn),
        );
        if trace.end.is_none() {
            continue;
        }
        reg.add_vec(durations, &["transfer"], secs(trace.end, trace.response_start));
    }

    if let Some(state) = &final_tls {
        reg.set(ssl_g, 1.0);
        state.register(reg);
        if cfg.fail_if_ssl {
            log.error("Final request was over SSL", &[]);
            success = false;
        }
    } else if cfg.fail_if_not_ssl {
        log.error("Final request was not over SSL", &[]);
        success = false;
    }
    reg.set(status_g, f64::from(status));
    reg.set(content_length_g, content_len);
    reg.set(body_length_g, body_bytes as f64);
    reg.set(redirects_g, redirects as f64);
    success
}
