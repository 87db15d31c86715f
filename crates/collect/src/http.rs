//! HTTP clients from Prometheus's client options, and the fetch of one scrape: `Accept` negotiating
//! OpenMetrics or the text format, gzip, the scrape timeout header, a body size limit.

use std::io::Read;
use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderValue};
use scrape::HttpClientConfig;

/// `User-Agent` of every request Pharos makes to a target.
pub const USER_AGENT: &str = concat!("Pharos/", env!("CARGO_PKG_VERSION"));

fn read_file(what: &str, path: &str) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
        .map_err(|e| format!("reading {what} {path}: {e}"))
}

/// Builds a client for one job or discovery endpoint. Secrets given as files are read now; a reload
/// reads them again.
pub fn client(cfg: &HttpClientConfig) -> Result<reqwest::Client, String> {
    let mut headers = HeaderMap::new();
    if let Some(b) = &cfg.basic_auth {
        let user = match (&b.username, &b.username_file) {
            (_, Some(f)) => read_file("basic_auth username_file", f)?,
            (Some(u), None) => u.clone(),
            (None, None) => String::new(),
        };
        let pass = match (&b.password, &b.password_file) {
            (_, Some(f)) => read_file("basic_auth password_file", f)?,
            (Some(p), None) => p.clone(),
            (None, None) => String::new(),
        };
        let token = base64(format!("{user}:{pass}").as_bytes());
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {token}")).map_err(|e| format!("basic_auth: {e}"))?,
        );
    }
    if let Some(a) = &cfg.authorization {
        let creds = match (&a.credentials, &a.credentials_file) {
            (_, Some(f)) => read_file("authorization credentials_file", f)?,
            (Some(c), None) => c.clone(),
            (None, None) => String::new(),
        };
        let kind = a.kind.as_deref().unwrap_or("Bearer");
        let mut v =
            HeaderValue::from_str(&format!("{kind} {creds}")).map_err(|e| format!("authorization: {e}"))?;
        v.set_sensitive(true);
        headers.insert(header::AUTHORIZATION, v);
    }
    for (k, v) in &cfg.headers {
        let name = header::HeaderName::from_bytes(k.as_bytes()).map_err(|e| format!("header {k:?}: {e}"))?;
        let value = HeaderValue::from_str(v).map_err(|e| format!("header {k:?}: {e}"))?;
        headers.insert(name, value);
    }
    let mut b = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .default_headers(headers)
        .pool_max_idle_per_host(2)
        .tcp_nodelay(true)
        .redirect(if cfg.follow_redirects {
            reqwest::redirect::Policy::limited(10)
        } else {
            reqwest::redirect::Policy::none()
        });
    let tls = &cfg.tls;
    let ca = match (&tls.ca, &tls.ca_file) {
        (Some(pem), _) => Some(pem.clone().into_bytes()),
        (None, Some(f)) => {
            Some(std::fs::read(f).map_err(|e| format!("reading tls_config ca_file {f}: {e}"))?)
        }
        (None, None) => None,
    };
    if let Some(pem) = ca {
        for cert in reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| format!("tls_config ca: {e}"))? {
            b = b.add_root_certificate(cert);
        }
    }
    let cert = match (&tls.cert, &tls.cert_file) {
        (Some(pem), _) => Some(pem.clone().into_bytes()),
        (None, Some(f)) => {
            Some(std::fs::read(f).map_err(|e| format!("reading tls_config cert_file {f}: {e}"))?)
        }
        (None, None) => None,
    };
    let key = match (&tls.key, &tls.key_file) {
        (Some(pem), _) => Some(pem.clone().into_bytes()),
        (None, Some(f)) => {
            Some(std::fs::read(f).map_err(|e| format!("reading tls_config key_file {f}: {e}"))?)
        }
        (None, None) => None,
    };
    if let (Some(mut cert), Some(key)) = (cert, key) {
        cert.push(b'\n');
        cert.extend_from_slice(&key);
        let id =
            reqwest::Identity::from_pem(&cert).map_err(|e| format!("tls_config client certificate: {e}"))?;
        b = b.identity(id);
    }
    if tls.insecure_skip_verify {
        b = b.danger_accept_invalid_certs(true);
    }
    if let Some(p) = &cfg.proxy_url {
        b = b.proxy(reqwest::Proxy::all(p).map_err(|e| format!("proxy_url {p:?}: {e}"))?);
    } else {
        b = b.no_proxy();
    }
    b.build().map_err(|e| format!("building the HTTP client: {e}"))
}

fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let idx = ((n >> (18 - 6 * i)) & 63) as usize;
                out.push(char::from(ALPHABET.get(idx).copied().unwrap_or(b'=')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A fetched body and its `Content-Type`.
pub struct Fetched {
    pub body: Vec<u8>,
    pub content_type: Option<String>,
}

/// Fetches one scrape. `limit` bounds the body as received and once inflated (0: none).
pub async fn fetch(
    client: &reqwest::Client,
    url: &str,
    accept: &str,
    timeout: Duration,
    gzip: bool,
    limit: u64,
) -> Result<Fetched, String> {
    let mut req = client
        .get(url)
        .timeout(timeout)
        .header(header::ACCEPT, accept)
        .header(
            "X-Prometheus-Scrape-Timeout-Seconds",
            format!("{}", timeout.as_secs_f64()),
        );
    req = req.header(header::ACCEPT_ENCODING, if gzip { "gzip" } else { "identity" });
    let mut resp = req.send().await.map_err(describe)?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("server returned HTTP status {status}"));
    }
    let content_type = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let gzipped = resp
        .headers()
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    let mut body = Vec::with_capacity(resp.content_length().unwrap_or(0).min(1 << 20) as usize);
    while let Some(chunk) = resp.chunk().await.map_err(describe)? {
        body.extend_from_slice(&chunk);
        if limit > 0 && body.len() as u64 > limit {
            return Err(format!("body size limit exceeded ({limit} bytes)"));
        }
    }
    if gzipped {
        let mut out = Vec::with_capacity(body.len() * 4);
        let cap = if limit > 0 { limit + 1 } else { u64::MAX };
        flate2::read::MultiGzDecoder::new(body.as_slice())
            .take(cap)
            .read_to_end(&mut out)
            .map_err(|e| format!("decompressing the gzip body: {e}"))?;
        if limit > 0 && out.len() as u64 > limit {
            return Err(format!(
                "body size limit exceeded ({limit} bytes once decompressed)"
            ));
        }
        body = out;
    }
    Ok(Fetched { body, content_type })
}

/// Names what went wrong the way an operator reads it: timeouts, refused connections, TLS.
pub fn describe(e: reqwest::Error) -> String {
    if e.is_timeout() {
        return "context deadline exceeded: the scrape timed out".to_string();
    }
    let mut msg = e.to_string();
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(&e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(b"user:pa ss"), "dXNlcjpwYSBzcw==");
    }
}
