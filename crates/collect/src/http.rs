//! HTTP clients from Prometheus's client options, and the fetch of one scrape: `Accept` negotiating
//! OpenMetrics or the text format, gzip, the scrape timeout header, a body size limit.

use std::io::Read;
use std::time::Duration;

use base64::Engine as _;
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
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
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

/// A fetched body and its `Content-Type`.
pub struct Fetched {
    pub body: Vec<u8>,
    pub content_type: Option<String>,
    /// The server keeps the connection open for another request (HTTP/1.1 without
    /// `Connection: close`, or HTTP/2).
    pub keep_alive: bool,
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
    let keep_alive = resp.version() >= reqwest::Version::HTTP_11
        && !resp
            .headers()
            .get(header::CONNECTION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")));
    let mut body = Vec::with_capacity(resp.content_length().unwrap_or(0).min(1 << 20) as usize);
    while let Some(chunk) = resp.chunk().await.map_err(describe)? {
        body.extend_from_slice(&chunk);
        if limit > 0 && body.len() as u64 > limit {
            return Err(format!("body size limit exceeded ({limit} bytes)"));
        }
    }
    if gzipped {
        body = match inflate_single_member(&body, limit) {
            Some(out) => out,
            None => inflate(&body, limit)?,
        };
    }
    Ok(Fetched {
        body,
        content_type,
        keep_alive,
    })
}

/// Inflates a gzip body of any number of members, within `limit` (0: none).
fn inflate(gz: &[u8], limit: u64) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(inflated_size_hint(gz, limit));
    let cap = if limit > 0 { limit + 1 } else { u64::MAX };
    // The body is already in memory: read it in place rather than through another buffer.
    flate2::bufread::MultiGzDecoder::new(gz)
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| format!("decompressing the gzip body: {e}"))?;
    if limit > 0 && out.len() as u64 > limit {
        return Err(format!(
            "body size limit exceeded ({limit} bytes once decompressed)"
        ));
    }
    Ok(out)
}

/// Inflates the usual gzip body in one call into one buffer: a single member without optional
/// header fields (as the Go client library writes it), whose trailer states its length and
/// checksum, within `limit`. For anything else, or on any error, `None`: then [`inflate`] reads the
/// body, and gives the same bytes for every body this accepts. This only saves copying the whole
/// body through the streaming decoder's 32 KiB window, a sixth of the inflating time.
fn inflate_single_member(gz: &[u8], limit: u64) -> Option<Vec<u8>> {
    // ID1 ID2 CM FLG MTIME(4) XFL OS, the deflate stream, then CRC-32 and ISIZE.
    let (header, rest) = gz.split_at_checked(10)?;
    if header.get(..4)? != [0x1f, 0x8b, 8, 0] {
        return None;
    }
    let (deflated, trailer) = rest.split_at_checked(rest.len().checked_sub(8)?)?;
    let word = |b: &[u8]| -> Option<u32> { Some(u32::from_le_bytes(b.try_into().ok()?)) };
    let (crc, size) = (word(trailer.get(..4)?)?, word(trailer.get(4..)?)?);
    let size = usize::try_from(size).ok()?;
    // Deflate expands 1032 times at most: a larger claim is false, and it sizes an allocation.
    if (limit > 0 && size as u64 > limit) || size > deflated.len().saturating_mul(1032) {
        return None;
    }
    let mut out = Vec::with_capacity(size);
    let mut d = flate2::Decompress::new(false);
    let done = d.decompress_vec(deflated, &mut out, flate2::FlushDecompress::Finish);
    if !matches!(done, Ok(flate2::Status::StreamEnd))
        || d.total_in() != deflated.len() as u64
        || out.len() != size
    {
        return None;
    }
    let mut sum = flate2::Crc::new();
    sum.update(&out);
    (sum.sum() == crc).then_some(out)
}

/// Room to reserve for inflating the gzip stream `gz`, so that it inflates into one allocation
/// instead of growing (and copying) several times: the size its trailer states (the last member's
/// length modulo 2^32), at least four times the compressed size, but never more than the limit
/// allows nor 64 times the compressed size, since the trailer comes from the target.
fn inflated_size_hint(gz: &[u8], limit: u64) -> usize {
    let stated = gz
        .len()
        .checked_sub(4)
        .and_then(|i| gz.get(i..))
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, |b| u64::from(u32::from_le_bytes(b)));
    let packed = gz.len() as u64;
    let mut hint = stated.max(packed * 4).min(packed * 64);
    if limit > 0 {
        hint = hint.min(limit + 1);
    }
    usize::try_from(hint).unwrap_or(0)
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

    fn gzip(text: &[u8], name: Option<&str>) -> Vec<u8> {
        use std::io::Write;
        let mut b = flate2::GzBuilder::new();
        if let Some(n) = name {
            b = b.filename(n);
        }
        let mut e = b.write(Vec::new(), flate2::Compression::default());
        e.write_all(text).unwrap();
        e.finish().unwrap()
    }

    /// The one-call path takes the usual body and leaves everything else to the streaming decoder,
    /// so the two always agree.
    #[test]
    fn single_member_bodies_inflate_in_one_call() {
        let text: Vec<u8> = (0..5000u64)
            .flat_map(|i| format!("m{{i=\"{i}\"}} {}\n", i * 31 % 977).into_bytes())
            .collect();
        let gz = gzip(&text, None);
        assert_eq!(inflate_single_member(&gz, 0).as_deref(), Some(text.as_slice()));
        assert_eq!(inflate(&gz, 0).unwrap(), text);
        let exact = text.len() as u64;
        assert!(inflate_single_member(&gz, exact).is_some());
        assert!(inflate_single_member(&gz, exact - 1).is_none());
        assert!(
            inflate(&gz, exact - 1)
                .unwrap_err()
                .contains("body size limit exceeded")
        );
        let mut two = gz.clone();
        two.extend_from_slice(&gzip(b"more 1\n", None));
        assert!(inflate_single_member(&two, 0).is_none());
        let mut both = text.clone();
        both.extend_from_slice(b"more 1\n");
        assert_eq!(inflate(&two, 0).unwrap(), both);
        let named = gzip(&text, Some("metrics"));
        assert!(inflate_single_member(&named, 0).is_none());
        assert_eq!(inflate(&named, 0).unwrap(), text);
        let mut bad_crc = gz.clone();
        let n = bad_crc.len();
        bad_crc[n - 8] ^= 1;
        assert!(inflate_single_member(&bad_crc, 0).is_none());
        assert!(inflate(&bad_crc, 0).is_err());
        let mut bad_size = gz.clone();
        bad_size[n - 4] ^= 1;
        assert!(inflate_single_member(&bad_size, 0).is_none());
        let mut trailing = gz.clone();
        trailing.push(0);
        assert!(inflate_single_member(&trailing, 0).is_none());
        for cut in [0, 5, 10, 18, n / 2, n - 1] {
            assert!(inflate_single_member(&gz[..cut], 0).is_none(), "cut at {cut}");
        }
        let empty = gzip(b"", None);
        assert_eq!(inflate_single_member(&empty, 0), Some(Vec::new()));
    }

    #[test]
    fn inflated_size_comes_from_the_trailer_within_bounds() {
        use std::io::Write;
        let text: String = (0..1000u64)
            .map(|i| format!("metric_total{{label=\"{i}\"}} {}\n", i * 7919 % 10007))
            .collect();
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(text.as_bytes()).unwrap();
        let gz = e.finish().unwrap();
        assert!(text.len() < gz.len() * 64);
        assert_eq!(inflated_size_hint(&gz, 0), text.len());
        assert_eq!(inflated_size_hint(&gz, 100), 101);
        // A trailer claiming 4 GiB gets no more than 64 times the compressed size.
        let mut lying = gz.clone();
        let n = lying.len();
        lying[n - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(inflated_size_hint(&lying, 0), gz.len() * 64);
        assert_eq!(inflated_size_hint(&[1, 2], 0), 8);
    }
}
