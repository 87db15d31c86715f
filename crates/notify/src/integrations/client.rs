//! What the HTTP integrations share: a client built from `http_config`, its credentials read
//! per request (so rotated files take effect), Alertmanager's status-code retry rule, JSON
//! encoded as Go's `json.Encoder` writes it, and SHA-256 for PagerDuty's dedup key.

use std::io;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, USER_AGENT};
use serde::Serialize;

use super::SendError;
use crate::http::{Authorization, BasicAuth, HttpConfig, TlsConfig};

/// A client plus the credentials of its `http_config`.
pub(crate) struct Http {
    client: reqwest::Client,
    basic: Option<BasicAuth>,
    authorization: Option<Authorization>,
}

/// A file's content with surrounding whitespace removed, as prometheus/common reads secrets.
pub(crate) fn read_secret_file(path: &str) -> Result<String, SendError> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| SendError::Retry(format!("read {path}: {e}")))
}

fn read_pem(inline: &str, file: &str, what: &str) -> Result<Option<Vec<u8>>, String> {
    if !inline.is_empty() {
        return Ok(Some(inline.as_bytes().to_vec()));
    }
    if file.is_empty() {
        return Ok(None);
    }
    std::fs::read(file)
        .map(Some)
        .map_err(|e| format!("unable to read {what} {file}: {e}"))
}

/// The PEM CA certificate a `tls_config` names, if any.
pub(crate) fn ca_pem(tls: &TlsConfig) -> Result<Option<Vec<u8>>, String> {
    read_pem(&tls.ca, &tls.ca_file, "CA cert")
}

impl Http {
    /// A client for `cfg`. Settings reqwest cannot express are refused rather than ignored.
    pub fn new(cfg: &HttpConfig) -> Result<Http, String> {
        if cfg.oauth2.is_some() {
            return Err("http_config.oauth2 is not supported".to_string());
        }
        if !cfg.proxy_connect_header.is_empty() {
            return Err("http_config.proxy_connect_header is not supported".to_string());
        }
        let tls = &cfg.tls_config;
        if !tls.server_name.is_empty() {
            return Err("http_config.tls_config.server_name is not supported".to_string());
        }
        let mut b = reqwest::Client::builder()
            .user_agent(super::USER_AGENT)
            .redirect(if cfg.follow_redirects {
                reqwest::redirect::Policy::limited(10)
            } else {
                reqwest::redirect::Policy::none()
            })
            .danger_accept_invalid_certs(tls.insecure_skip_verify);
        if let Some(pem) = ca_pem(tls)? {
            for cert in reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| format!("CA cert: {e}"))? {
                b = b.add_root_certificate(cert);
            }
        }
        let cert = read_pem(&tls.cert, &tls.cert_file, "client cert")?;
        let key = match &tls.key {
            Some(k) if !k.is_empty() => Some(k.expose().as_bytes().to_vec()),
            _ => read_pem("", &tls.key_file, "client key")?,
        };
        if let (Some(mut cert), Some(key)) = (cert, key) {
            cert.push(b'\n');
            cert.extend_from_slice(&key);
            let id = reqwest::Identity::from_pem(&cert).map_err(|e| format!("client cert: {e}"))?;
            b = b.identity(id);
        }
        if let Some(v) = tls_version(&tls.min_version) {
            b = b.min_tls_version(v);
        }
        if let Some(v) = tls_version(&tls.max_version) {
            b = b.max_tls_version(v);
        }
        match cfg.proxy_url.as_deref().filter(|p| !p.is_empty()) {
            Some(p) => {
                let mut proxy = reqwest::Proxy::all(p).map_err(|e| format!("proxy_url: {e}"))?;
                if !cfg.no_proxy.is_empty() {
                    proxy = proxy.no_proxy(reqwest::NoProxy::from_string(&cfg.no_proxy));
                }
                b = b.proxy(proxy);
            }
            None if !cfg.proxy_from_environment => b = b.no_proxy(),
            None => {}
        }
        let client = b.build().map_err(|e| format!("http client: {e}"))?;
        Ok(Http {
            client,
            basic: cfg.basic_auth.clone(),
            authorization: cfg.authorization.clone(),
        })
    }

    /// A POST with the `http_config` credentials, unless `basic` overrides them.
    pub async fn post(
        &self,
        url: &str,
        content_type: &str,
        body: Vec<u8>,
        basic: Option<(&str, &str)>,
    ) -> Result<Response, SendError> {
        let mut req = self
            .client
            .post(url)
            .header(USER_AGENT, super::USER_AGENT)
            .header(CONTENT_TYPE, content_type)
            .body(body);
        if let Some((u, p)) = basic {
            req = req.basic_auth(u, Some(p));
        } else if let Some(b) = &self.basic {
            let user = if b.username_file.is_empty() {
                b.username.clone()
            } else {
                read_secret_file(&b.username_file)?
            };
            let pass = match (&b.password, b.password_file.as_str()) {
                (_, f) if !f.is_empty() => Some(read_secret_file(f)?),
                (Some(p), _) => Some(p.expose().to_string()),
                (None, _) => None,
            };
            req = req.basic_auth(user, pass);
        } else if let Some(a) = &self.authorization {
            let cred = match (&a.credentials, a.credentials_file.as_str()) {
                (_, f) if !f.is_empty() => read_secret_file(f)?,
                (Some(c), _) => c.expose().to_string(),
                (None, _) => String::new(),
            };
            let v = HeaderValue::from_str(&format!("{} {cred}", a.kind)).map_err(|_| {
                SendError::Permanent("authorization credentials are not a valid header value".to_string())
            })?;
            req = req.header(AUTHORIZATION, v);
        }
        let resp = req.send().await.map_err(request_error)?;
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        // The body only feeds error messages; a failure to read it is not the request's.
        let body = resp.text().await.unwrap_or_default();
        Ok(Response {
            status,
            content_type,
            body,
        })
    }
}

fn tls_version(v: &str) -> Option<reqwest::tls::Version> {
    match v {
        "TLS10" => Some(reqwest::tls::Version::TLS_1_0),
        "TLS11" => Some(reqwest::tls::Version::TLS_1_1),
        "TLS12" => Some(reqwest::tls::Version::TLS_1_2),
        "TLS13" => Some(reqwest::tls::Version::TLS_1_3),
        _ => None,
    }
}

/// Network, TLS and timeout failures may pass; a URL reqwest cannot use never will. The URL is
/// left out of the message, since for Slack and webhooks it is a secret.
fn request_error(e: reqwest::Error) -> SendError {
    let builder = e.is_builder();
    let e = e.without_url();
    let msg = e.to_string();
    let mut source = std::error::Error::source(&e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = format!(": {s}");
        source = s.source();
    }
    if builder {
        SendError::Permanent(format!("invalid request: {msg}{detail}"))
    } else {
        SendError::Retry(format!("{msg}{detail}"))
    }
}

/// What came back.
pub(crate) struct Response {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl Response {
    /// Alertmanager's `Retrier.Check`: 2xx succeeds; 5xx and 429 may pass on a later attempt;
    /// any other status is refused for good. `details` turns the body into the message's tail.
    pub fn check(&self, details: impl Fn(&Response) -> String) -> Result<(), SendError> {
        if (200..300).contains(&self.status) {
            return Ok(());
        }
        let mut msg = format!("unexpected status code {}", self.status);
        let d = details(self);
        if !d.is_empty() {
            msg.push_str(": ");
            msg.push_str(&d);
        }
        if self.status >= 500 || self.status == 429 {
            Err(SendError::Retry(msg))
        } else {
            Err(SendError::Permanent(msg))
        }
    }
}

/// The response body, cut to a size fit for a log line.
pub(crate) fn body_details(r: &Response) -> String {
    super::truncate_runes(r.body.trim(), 512).0
}

/// serde_json formatting with Go's `encoding/json` string escaping: `<`, `>`, `&`, U+2028 and
/// U+2029 as `\u` escapes, so bodies match Alertmanager's byte for byte.
struct GoFormatter;

impl serde_json::ser::Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(&mut self, w: &mut W, fragment: &str) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let esc = match c {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            w.write_all(&fragment.as_bytes()[start..i])?;
            w.write_all(esc.as_bytes())?;
            start = i + c.len_utf8();
        }
        w.write_all(&fragment.as_bytes()[start..])
    }
}

/// `json.NewEncoder(w).Encode(v)`: compact, Go's escaping, a trailing newline.
pub(crate) fn go_json<T: Serialize>(v: &T) -> Result<Vec<u8>, SendError> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, GoFormatter);
    v.serialize(&mut ser)
        .map_err(|e| SendError::Permanent(format!("encode JSON: {e}")))?;
    out.push(b'\n');
    Ok(out)
}

/// SHA-256 of `data` in lower-case hex, as Alertmanager hashes group keys (`Key.Hash`).
pub fn sha256_hex(data: &[u8]) -> String {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_known_vectors() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let long = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        assert_eq!(
            sha256_hex(long),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
    }

    #[test]
    fn json_escapes_like_go() {
        let v = serde_json::json!({"a": "<b> & \u{2028}\"x\"\n"});
        assert_eq!(
            String::from_utf8(go_json(&v).unwrap()).unwrap(),
            "{\"a\":\"\\u003cb\\u003e \\u0026 \\u2028\\\"x\\\"\\n\"}\n"
        );
    }

    #[test]
    fn status_classes() {
        let r = |status| Response {
            status,
            content_type: String::new(),
            body: "nope".to_string(),
        };
        assert!(r(204).check(body_details).is_ok());
        assert_eq!(
            r(503).check(body_details),
            Err(SendError::Retry("unexpected status code 503: nope".to_string()))
        );
        assert!(r(429).check(body_details).unwrap_err().is_retryable());
        assert!(!r(404).check(body_details).unwrap_err().is_retryable());
    }
}
