//! The email notifier: renders the message as Alertmanager writes it (templated, Q-encoded
//! headers; a multipart/alternative body with quoted-printable text and HTML parts) and hands
//! it to the smarthost over SMTP with lettre: implicit TLS on port 465, STARTTLS when
//! `require_tls`, AUTH PLAIN or LOGIN when the server offers AUTH and a username is set.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::str::FromStr;

use base64::Engine;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, Identity, TlsParameters};
use lettre::transport::smtp::extension::{ClientId, Extension};

use super::client::read_secret_file;
use super::{Ctx, Notification, SendError};
use crate::receiver::EmailConfig;

pub(crate) struct Email {
    conf: EmailConfig,
}

/// Go's `mime.QEncoding.Encode("utf-8", s)`: unchanged when printable ASCII, else encoded words
/// of at most 75 bytes, never splitting a character.
pub(crate) fn q_encode(s: &str) -> String {
    if s.bytes().all(|b| (b' '..=b'~').contains(&b) || b == b'\t') {
        return s.to_string();
    }
    const MAX_CONTENT: usize = 75 - "=?utf-8?q?".len() - "?=".len();
    let mut out = String::from("=?utf-8?q?");
    let mut len = 0;
    for c in s.chars() {
        let plain = c.is_ascii() && (' '..='~').contains(&c) && !"=?_".contains(c);
        let enc_len = if plain { 1 } else { 3 * c.len_utf8() };
        if len + enc_len > MAX_CONTENT {
            out.push_str("?= =?utf-8?q?");
            len = 0;
        }
        if c == ' ' {
            out.push('_');
        } else if plain {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("={b:02X}"));
            }
        }
        len += enc_len;
    }
    out.push_str("?=");
    out
}

/// Go's `mime/quotedprintable.Writer`: lines of at most 76 bytes with `=` soft breaks, `\n` and
/// `\r\n` written as CRLF, whitespace before a line break encoded.
pub(crate) fn quoted_printable(input: &str) -> String {
    const MAX_LINE: usize = 76;
    let mut out = String::with_capacity(input.len() + input.len() / 8);
    let mut line: Vec<u8> = Vec::with_capacity(MAX_LINE + 2);
    let mut cr = false;
    fn flush(out: &mut String, line: &mut Vec<u8>) {
        out.push_str(&String::from_utf8_lossy(line));
        line.clear();
    }
    fn encode(out: &mut String, line: &mut Vec<u8>, b: u8) {
        if MAX_LINE - 1 - line.len() < 3 {
            line.extend_from_slice(b"=\r\n");
            flush(out, line);
        }
        line.extend_from_slice(format!("={b:02X}").as_bytes());
    }
    for &b in input.as_bytes() {
        let literal = (b'!'..=b'~').contains(&b) && b != b'=';
        let passes = literal || b == b' ' || b == b'\t' || b == b'\n' || b == b'\r';
        if !passes {
            encode(&mut out, &mut line, b);
            cr = false;
            continue;
        }
        if b == b'\n' || b == b'\r' {
            if cr && b == b'\n' {
                cr = false;
                continue;
            }
            cr = b == b'\r';
            // Trailing whitespace would be lost in transit: encode it.
            if let Some(&last) = line.last()
                && (last == b' ' || last == b'\t')
            {
                line.pop();
                encode(&mut out, &mut line, last);
            }
            line.extend_from_slice(b"\r\n");
            flush(&mut out, &mut line);
            continue;
        }
        if line.len() == MAX_LINE - 1 {
            line.extend_from_slice(b"=\r\n");
            flush(&mut out, &mut line);
        }
        line.push(b);
        cr = false;
    }
    if let Some(&last) = line.last()
        && (last == b' ' || last == b'\t')
    {
        line.pop();
        encode(&mut out, &mut line, last);
    }
    flush(&mut out, &mut line);
    out
}

/// Lower-case hex of `n` random bytes (a MIME boundary, as Go's `multipart` makes one).
fn random_hex(n: usize) -> String {
    let state = RandomState::new();
    let mut out = String::with_capacity(n * 2);
    let mut i = 0u64;
    while out.len() < n * 2 {
        out.push_str(&format!("{:016x}", state.hash_one(i)));
        i += 1;
    }
    out.truncate(n * 2);
    out
}

/// The addr-specs of an RFC 5322 address list (`A <a@x>, "B, C" <b@x>, c@x`), as Go's
/// `mail.ParseAddressList` yields them.
pub(crate) fn parse_address_list(s: &str) -> Result<Vec<String>, String> {
    let mut items = Vec::new();
    let mut cur = String::new();
    let (mut quoted, mut angle, mut comment) = (false, false, 0usize);
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if quoted => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                continue;
            }
            '"' if comment == 0 => quoted = !quoted,
            '(' if !quoted => comment += 1,
            ')' if !quoted && comment > 0 => comment -= 1,
            '<' if !quoted && comment == 0 => angle = true,
            '>' if !quoted && comment == 0 => angle = false,
            ',' if !quoted && !angle && comment == 0 => {
                items.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if quoted || angle || comment > 0 {
        return Err(format!("mail: unclosed quote, comment or angle-addr in {s:?}"));
    }
    items.push(cur);
    let mut out = Vec::new();
    for item in items {
        let item = item.trim();
        if item.is_empty() {
            return Err("mail: no address".to_string());
        }
        let addr = match (item.rfind('<'), item.rfind('>')) {
            (Some(l), Some(r)) if l < r => item[l + 1..r].trim(),
            _ => item,
        };
        if !addr.contains('@') || addr.contains(char::is_whitespace) {
            return Err(format!("mail: missing @ in addr-spec {addr:?}"));
        }
        out.push(addr.to_string());
    }
    Ok(out)
}

fn addr(s: &str) -> Result<lettre::Address, SendError> {
    lettre::Address::from_str(s).map_err(|e| SendError::Permanent(format!("invalid address {s:?}: {e}")))
}

fn retry(what: &str) -> impl Fn(lettre::transport::smtp::Error) -> SendError + '_ {
    move |e| SendError::Retry(format!("{what}: {e}"))
}

/// `AUTH PLAIN` with an authorization identity, which lettre's PLAIN leaves empty.
struct AuthPlain(String);

impl fmt::Display for AuthPlain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AUTH PLAIN {}\r\n", self.0)
    }
}

fn is_localhost(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "::1")
}

impl Email {
    pub fn new(c: &EmailConfig) -> Result<Email, String> {
        if c.smarthost.is_empty() {
            return Err("no smarthost set".to_string());
        }
        if c.smarthost.port.parse::<u16>().is_err() {
            return Err(format!("invalid smarthost port {:?}", c.smarthost.port));
        }
        let mut conf = c.clone();
        // A config not loaded through `Config::load` has no headers filled in yet.
        for (k, v) in [
            ("Subject", crate::receiver::DEFAULT_EMAIL_SUBJECT),
            ("To", c.to.as_str()),
            ("From", c.from.as_str()),
        ] {
            conf.headers.entry(k.to_string()).or_insert_with(|| v.to_string());
        }
        Ok(Email { conf })
    }

    /// The message as sent after `DATA`: headers, then the multipart body.
    pub(crate) fn render(
        &self,
        ctx: &Ctx<'_>,
        n: &Notification,
        data: &template::Value,
    ) -> Result<String, SendError> {
        let c = &self.conf;
        let mut msg = String::new();
        for (name, text) in &c.headers {
            let value = ctx
                .text(text, data)
                .map_err(|e| SendError::Permanent(format!("executing {name:?} header template: {e}")))?;
            msg.push_str(&format!("{name}: {}\r\n", q_encode(&value)));
        }
        let boundary = random_hex(30);
        let date = crate::tmpl::go_time(n.now).format("Mon, 02 Jan 2006 15:04:05 -0700");
        msg.push_str(&format!("Date: {date}\r\n"));
        msg.push_str(&format!(
            "Content-Type: multipart/alternative;  boundary={boundary}\r\n"
        ));
        msg.push_str("MIME-Version: 1.0\r\n\r\n");
        let mut first = true;
        let mut part = |msg: &mut String, content_type: &str, body: &str| {
            msg.push_str(if first { "--" } else { "\r\n--" });
            first = false;
            msg.push_str(&boundary);
            msg.push_str("\r\nContent-Transfer-Encoding: quoted-printable\r\n");
            msg.push_str(&format!("Content-Type: {content_type}\r\n\r\n"));
            msg.push_str(&quoted_printable(body));
        };
        if !c.text.is_empty() {
            let body = ctx
                .text(&c.text, data)
                .map_err(|e| SendError::Permanent(format!("executing email text template: {e}")))?;
            part(&mut msg, "text/plain; charset=UTF-8", &body);
        }
        if !c.html.is_empty() {
            let body = ctx
                .html(&c.html, data)
                .map_err(|e| SendError::Permanent(format!("executing email html template: {e}")))?;
            part(&mut msg, "text/html; charset=UTF-8", &body);
        }
        msg.push_str(&format!("\r\n--{boundary}--\r\n"));
        Ok(msg)
    }

    fn tls(&self, host: &str) -> Result<TlsParameters, SendError> {
        let tls = self.conf.tls_config.clone().unwrap_or_default();
        let name = if tls.server_name.is_empty() {
            host.to_string()
        } else {
            tls.server_name.clone()
        };
        let bad = |e: String| SendError::Permanent(format!("tls_config: {e}"));
        let mut b = TlsParameters::builder(name).dangerous_accept_invalid_certs(tls.insecure_skip_verify);
        if let Some(pem) = super::client::ca_pem(&tls).map_err(bad)? {
            let cert = Certificate::from_pem(&pem).map_err(|e| bad(format!("CA cert: {e}")))?;
            b = b.add_root_certificate(cert);
        }
        let read = |inline: &str, file: &str| -> Result<Option<Vec<u8>>, SendError> {
            if !inline.is_empty() {
                Ok(Some(inline.as_bytes().to_vec()))
            } else if file.is_empty() {
                Ok(None)
            } else {
                std::fs::read(file)
                    .map(Some)
                    .map_err(|e| bad(format!("read {file}: {e}")))
            }
        };
        let key_inline = tls
            .key
            .as_ref()
            .map(|k| k.expose().to_string())
            .unwrap_or_default();
        if let (Some(cert), Some(key)) = (
            read(&tls.cert, &tls.cert_file)?,
            read(&key_inline, &tls.key_file)?,
        ) {
            let id = Identity::from_pem(&cert, &key).map_err(|e| bad(format!("client cert: {e}")))?;
            b = b.identify_with(id);
        }
        b.build_rustls().map_err(|e| bad(e.to_string()))
    }

    pub async fn notify(&self, ctx: &Ctx<'_>, n: &Notification) -> Result<(), SendError> {
        let c = &self.conf;
        let data = n.data(ctx.external_url);
        let from = ctx
            .text(&c.from, &data)
            .map_err(|e| SendError::Permanent(format!("failed to template 'from' or 'to': {e}")))?;
        let to = ctx
            .text(&c.to, &data)
            .map_err(|e| SendError::Permanent(format!("failed to template 'from' or 'to': {e}")))?;
        let from = parse_address_list(&from)
            .map_err(|e| SendError::Permanent(format!("parsing from addresses: {e}")))?;
        if from.len() != 1 {
            return Err(SendError::Permanent(
                "must be exactly one from address".to_string(),
            ));
        }
        let to = parse_address_list(&to)
            .map_err(|e| SendError::Permanent(format!("parsing to addresses: {e}")))?;
        let to = to.iter().map(|a| addr(a)).collect::<Result<Vec<_>, _>>()?;
        let envelope = Envelope::new(Some(addr(&from[0])?), to)
            .map_err(|e| SendError::Permanent(format!("envelope: {e}")))?;
        let message = self.render(ctx, n, &data)?;

        let host = c.smarthost.host.as_str();
        let port: u16 =
            c.smarthost.port.parse().map_err(|_| {
                SendError::Permanent(format!("invalid smarthost port {:?}", c.smarthost.port))
            })?;
        let hello = ClientId::Domain(if c.hello.is_empty() {
            "localhost".to_string()
        } else {
            c.hello.clone()
        });
        let implicit_tls = if port == 465 { Some(self.tls(host)?) } else { None };
        let mut conn = AsyncSmtpConnection::connect_tokio1((host, port), None, &hello, implicit_tls, None)
            .await
            .map_err(retry("connect"))?;
        let mut usable = true;
        let result = self
            .session(&mut conn, &hello, &envelope, message.as_bytes(), &mut usable)
            .await;
        match (&result, usable) {
            (Ok(()), _) => {
                if let Err(e) = conn.quit().await {
                    tracing::debug!(error = %e, "failed to close SMTP connection");
                }
            }
            (Err(_), true) => conn.abort().await,
            // A failed TLS upgrade leaves lettre's connection without a stream: just drop it.
            (Err(_), false) => {}
        }
        result
    }

    async fn session(
        &self,
        conn: &mut AsyncSmtpConnection,
        hello: &ClientId,
        envelope: &Envelope,
        message: &[u8],
        usable: &mut bool,
    ) -> Result<(), SendError> {
        let c = &self.conf;
        let host = c.smarthost.host.as_str();
        if c.require_tls.unwrap_or(true) && !conn.is_encrypted() {
            if !conn.server_info().supports_feature(Extension::StartTls) {
                return Err(SendError::Retry(format!(
                    "require_tls: true (default), but {:?} does not advertise the STARTTLS extension",
                    c.smarthost.to_string()
                )));
            }
            let params = self.tls(host)?;
            if let Err(e) = conn.starttls(params, hello).await {
                *usable = false;
                return Err(SendError::Retry(format!("starttls failed: {e}")));
            }
        }
        let info = conn.server_info();
        let offers_auth = [Mechanism::Plain, Mechanism::Login, Mechanism::Xoauth2]
            .into_iter()
            .any(|m| info.supports_auth_mechanism(m));
        if offers_auth && !c.auth_username.is_empty() {
            let password = match (&c.auth_password, c.auth_password_file.as_str()) {
                (_, f) if !f.is_empty() => read_secret_file(f)?,
                (Some(p), _) => p.expose().to_string(),
                (None, _) => String::new(),
            };
            if info.supports_auth_mechanism(Mechanism::Plain) {
                if password.is_empty() {
                    return Err(SendError::Retry(
                        "missing password for PLAIN auth mechanism".to_string(),
                    ));
                }
                // Go's PlainAuth refuses to send a password in the clear except to localhost.
                if !conn.is_encrypted() && !is_localhost(host) {
                    return Err(SendError::Retry(
                        "PLAIN auth failed: unencrypted connection".to_string(),
                    ));
                }
                let response = if c.auth_identity.is_empty() {
                    let creds = Credentials::new(c.auth_username.clone(), password);
                    conn.auth(&[Mechanism::Plain], &creds).await
                } else {
                    let raw = format!("{}\0{}\0{password}", c.auth_identity, c.auth_username);
                    let b64 = base64::engine::general_purpose::STANDARD.encode(raw);
                    conn.command(AuthPlain(b64)).await
                };
                response.map_err(retry("PLAIN auth failed"))?;
            } else if info.supports_auth_mechanism(Mechanism::Login) {
                if password.is_empty() {
                    return Err(SendError::Retry(
                        "missing password for LOGIN auth mechanism".to_string(),
                    ));
                }
                let creds = Credentials::new(c.auth_username.clone(), password);
                conn.auth(&[Mechanism::Login], &creds)
                    .await
                    .map_err(retry("LOGIN auth failed"))?;
            } else {
                return Err(SendError::Retry(
                    "the server offers no AUTH mechanism Pharos supports (PLAIN, LOGIN)".to_string(),
                ));
            }
        }
        conn.send(envelope, message).await.map_err(retry("send"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q_encoding_matches_go() {
        assert_eq!(q_encode("[FIRING:1] A"), "[FIRING:1] A");
        assert_eq!(
            q_encode("Grüße aus Köln"),
            "=?utf-8?q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?="
        );
        let long = "ä".repeat(30);
        let enc = q_encode(&long);
        assert!(enc.split(' ').all(|w| w.len() <= 75), "{enc}");
        assert_eq!(enc.matches("=C3=A4").count(), 30);
    }

    #[test]
    fn quoted_printable_matches_go() {
        assert_eq!(quoted_printable("a=b \nc\t\r\nd"), "a=3Db=20\r\nc=09\r\nd");
        let long = "x".repeat(80);
        assert_eq!(
            quoted_printable(&long),
            format!("{}=\r\n{}", "x".repeat(75), "x".repeat(5))
        );
        assert_eq!(quoted_printable("ü"), "=C3=BC");
        assert_eq!(quoted_printable("end "), "end=20");
    }

    #[test]
    fn address_lists() {
        assert_eq!(
            parse_address_list(r#"Ops <ops@x.org>, "Doe, J" <j@x.org>,plain@x.org"#).unwrap(),
            ["ops@x.org", "j@x.org", "plain@x.org"]
        );
        assert!(parse_address_list("nobody").is_err());
        assert!(parse_address_list("a@b,").is_err());
    }
}
