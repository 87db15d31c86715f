//! Real local servers for the probers to talk to: an HTTP/1.1 server (plain and TLS, with a
//! self-signed certificate), a line-based TCP banner server and a DNS server (UDP and TCP)
//! answering from a fixed zone.

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use probe::dns::wire;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinHandle;

/// Aborts the server task when the test is done.
pub struct Server {
    pub addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// A self-signed certificate for `localhost` and `127.0.0.1`, and its PEM in a temp file.
pub struct TestCert {
    pub cert_der: CertificateDer<'static>,
    pub key_der: Vec<u8>,
    pub pem_file: tempfile::NamedTempFile,
}

pub fn test_cert() -> TestCert {
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, "localhost");
    dn.push(rcgen::DnType::OrganizationName, "Pharos Test, Inc.");
    params.distinguished_name = dn;
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let mut pem_file = tempfile::NamedTempFile::new().unwrap();
    pem_file.write_all(cert.pem().as_bytes()).unwrap();
    pem_file.flush().unwrap();
    TestCert {
        cert_der: cert.der().clone(),
        key_der: key.serialize_der(),
        pem_file,
    }
}

/// A leaf for `localhost`/`127.0.0.1` valid until 2040, signed by a CA valid until 2035; the
/// PEM file holds the CA (to use as `ca_file`).
pub fn ca_signed_cert() -> TestCert {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.not_after = rcgen::date_time_ymd(2035, 1, 1);
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, "Pharos Test CA");
    ca_params.distinguished_name = dn;
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    params.not_after = rcgen::date_time_ymd(2040, 1, 1);
    let key = rcgen::KeyPair::generate().unwrap();
    let leaf = params.signed_by(&key, &ca).unwrap();
    let mut pem_file = tempfile::NamedTempFile::new().unwrap();
    pem_file.write_all(ca.pem().as_bytes()).unwrap();
    pem_file.flush().unwrap();
    TestCert {
        cert_der: leaf.der().clone(),
        key_der: key.serialize_der(),
        pem_file,
    }
}

/// 2035-01-01 and 2040-01-01 in seconds since the epoch.
pub const CA_NOT_AFTER: f64 = 2_051_222_400.0;
pub const LEAF_NOT_AFTER: f64 = 2_208_988_800.0;

pub fn tls_acceptor(cert: &TestCert) -> tokio_rustls::TlsAcceptor {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.cert_der.clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.key_der.clone())),
        )
        .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

async fn read_request<S: AsyncRead + Unpin>(s: &mut S) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let path = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

fn response(status: &str, headers: &[(&str, String)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\n").into_bytes();
    for (k, v) in headers {
        out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(format!("Content-Length: {}\r\nConnection: close\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body);
    out
}

async fn answer<S: AsyncRead + AsyncWrite + Unpin>(mut s: S) {
    let Some(req) = read_request(&mut s).await else {
        return;
    };
    let path = req.path.split('?').next().unwrap_or("").to_string();
    let bytes = match path.as_str() {
        "/" => response("200 OK", &[("Content-Type", "text/plain".into())], b"hello world, all good"),
        "/404" => response("404 Not Found", &[], b"not here"),
        "/error-page" => response("200 OK", &[], b"Could not connect to database"),
        "/redirect" => response("302 Found", &[("Location", "/".into())], b""),
        "/redirect-loop" => response("302 Found", &[("Location", "/redirect-loop".into())], b""),
        "/gzip" => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(&b"compressed hello ".repeat(50)).unwrap();
            let body = enc.finish().unwrap();
            response("200 OK", &[("Content-Encoding", "gzip".into())], &body)
        }
        "/last-modified" => response(
            "200 OK",
            &[("Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT".into())],
            b"old",
        ),
        "/chunked" => b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n".to_vec(),
        "/headers" => response(
            "200 OK",
            &[("X-Powered-By", "PHP/5.0".into()), ("Set-Cookie", "session=abc".into())],
            b"ok",
        ),
        "/echo" => {
            let mut body = format!("{} {}\n", req.method, req.path);
            for (k, v) in &req.headers {
                body.push_str(&format!("{}: {v}\n", k.to_ascii_lowercase()));
            }
            body.push_str(&String::from_utf8_lossy(&req.body));
            response("200 OK", &[], body.as_bytes())
        }
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(10)).await;
            response("200 OK", &[], b"late")
        }
        _ => response("404 Not Found", &[], b""),
    };
    let _ = s.write_all(&bytes).await;
    let _ = s.shutdown().await;
}

/// The HTTP server, over TLS when given an acceptor.
pub async fn http_server(tls: Option<tokio_rustls::TlsAcceptor>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                continue;
            };
            let tls = tls.clone();
            tokio::spawn(async move {
                match tls {
                    Some(acceptor) => {
                        if let Ok(s) = acceptor.accept(sock).await {
                            answer(s).await;
                        }
                    }
                    None => answer(sock).await,
                }
            });
        }
    });
    Server {
        addr,
        tasks: vec![task],
    }
}

/// A TCP server that greets with a banner, then answers `PING` with `PONG` and `STARTTLS` with
/// a TLS upgrade (when it has an acceptor).
pub async fn banner_server(tls: Option<tokio_rustls::TlsAcceptor>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                continue;
            };
            let tls = tls.clone();
            tokio::spawn(async move {
                let _ = sock.write_all(b"SSH-2.0-OpenSSH_9.2 test\r\n").await;
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                loop {
                    let Ok(n) = sock.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    while let Some(p) = buf.iter().position(|&b| b == b'\n') {
                        let line: Vec<u8> = buf.drain(..=p).collect();
                        let line = String::from_utf8_lossy(&line).trim().to_string();
                        if let Some(arg) = line.strip_prefix("PING ") {
                            let _ = sock.write_all(format!("PONG {arg}\n").as_bytes()).await;
                        } else if line == "STARTTLS" {
                            let _ = sock.write_all(b"220 go ahead\n").await;
                            if let Some(acceptor) = &tls
                                && let Ok(mut s) = acceptor.accept(sock).await
                            {
                                let _ = s.write_all(b"secure hello\n").await;
                                let _ = s.flush().await;
                                tokio::time::sleep(Duration::from_millis(200)).await;
                            }
                            return;
                        }
                    }
                }
            });
        }
    });
    Server {
        addr,
        tasks: vec![task],
    }
}

/// A TCP server that sends one line and closes the connection.
pub async fn one_line_server(line: &'static str) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let _ = s.write_all(line.as_bytes()).await;
            let _ = s.shutdown().await;
        }
    });
    Server {
        addr,
        tasks: vec![task],
    }
}

pub const ZONE_SERIAL: u32 = 2_024_010_101;

fn push_rr(out: &mut Vec<u8>, name: &str, rtype: u16, ttl: u32, rdata: &[u8]) {
    wire::encode_name(name, out).unwrap();
    out.extend_from_slice(&rtype.to_be_bytes());
    out.extend_from_slice(&wire::CLASS_IN.to_be_bytes());
    out.extend_from_slice(&ttl.to_be_bytes());
    out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    out.extend_from_slice(rdata);
}

fn name_bytes(name: &str) -> Vec<u8> {
    let mut v = Vec::new();
    wire::encode_name(name, &mut v).unwrap();
    v
}

fn soa_rdata() -> Vec<u8> {
    let mut soa = name_bytes("ns1.example.test.");
    soa.extend(name_bytes("hostmaster.example.test."));
    for v in [ZONE_SERIAL, 7200, 3600, 1_209_600, 300] {
        soa.extend_from_slice(&v.to_be_bytes());
    }
    soa
}

/// The zone: records of `example.test.` (A, AAAA, MX, TXT, SOA, NS), `big.example.test.` (40
/// A records, too many for 512 bytes), `refused.example.test.` (REFUSED), `slow.example.test.`
/// (never answered); anything else is NXDOMAIN with the SOA in the authority section.
fn answer_query(query: &[u8], tcp: bool) -> Option<Vec<u8>> {
    let msg = wire::parse_message(query).ok()?;
    let q = msg.questions.first()?;
    let name = q.name.to_ascii_lowercase();
    if name == "slow.example.test." {
        return None;
    }
    let mut answers: Vec<(u16, Vec<u8>)> = Vec::new();
    let mut rcode = 0u16;
    let mut authority = false;
    match name.as_str() {
        "example.test." => {
            let all = [
                (wire::TYPE_A, vec![192, 0, 2, 1]),
                (wire::TYPE_A, vec![192, 0, 2, 2]),
                (
                    wire::TYPE_AAAA,
                    vec![0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                ),
                (wire::TYPE_MX, {
                    let mut v = vec![0, 10];
                    v.extend(name_bytes("mail.example.test."));
                    v
                }),
                (wire::TYPE_TXT, b"\x0bhello world".to_vec()),
                (wire::TYPE_SOA, soa_rdata()),
                (wire::TYPE_NS, name_bytes("ns1.example.test.")),
            ];
            answers = all
                .into_iter()
                .filter(|(t, _)| q.qtype == wire::TYPE_ANY || *t == q.qtype)
                .collect();
        }
        "big.example.test." => {
            answers = (0..40u8).map(|i| (wire::TYPE_A, vec![198, 51, 100, i])).collect();
        }
        "refused.example.test." => rcode = 5,
        _ => {
            rcode = 3;
            authority = true;
        }
    }
    let mut out = Vec::new();
    out.extend_from_slice(&msg.header.id.to_be_bytes());
    let rd = if msg.header.recursion_desired { 0x01 } else { 0 };
    out.push(0x84 | rd);
    out.push(rcode as u8);
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&(answers.len() as u16).to_be_bytes());
    out.extend_from_slice(&u16::from(authority).to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes());
    wire::encode_name(&q.name, &mut out).unwrap();
    out.extend_from_slice(&q.qtype.to_be_bytes());
    out.extend_from_slice(&q.qclass.to_be_bytes());
    let question_end = out.len();
    for (t, rdata) in &answers {
        push_rr(&mut out, &q.name, *t, 300, rdata);
    }
    if authority {
        push_rr(&mut out, "example.test.", wire::TYPE_SOA, 300, &soa_rdata());
    }
    if !tcp && out.len() > 512 {
        // Truncated: header and question only, TC set, no records.
        out.truncate(question_end);
        out[2] |= 0x02;
        out[6..12].fill(0);
    }
    Some(out)
}

async fn dns_tcp_conn(mut s: TcpStream) {
    loop {
        let mut len = [0u8; 2];
        if s.read_exact(&mut len).await.is_err() {
            return;
        }
        let mut q = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if s.read_exact(&mut q).await.is_err() {
            return;
        }
        let Some(resp) = answer_query(&q, true) else {
            continue;
        };
        let mut framed = (resp.len() as u16).to_be_bytes().to_vec();
        framed.extend(resp);
        if s.write_all(&framed).await.is_err() {
            return;
        }
    }
}

/// A DNS server on one port over both UDP and TCP.
pub async fn dns_server() -> Server {
    let (udp, tcp) = loop {
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let port = udp.local_addr().unwrap().port();
        if let Ok(tcp) = TcpListener::bind(("127.0.0.1", port)).await {
            break (udp, tcp);
        }
    };
    let addr = udp.local_addr().unwrap();
    let udp_task = tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let Ok((n, peer)) = udp.recv_from(&mut buf).await else {
                continue;
            };
            if let Some(resp) = answer_query(&buf[..n], false) {
                let _ = udp.send_to(&resp, peer).await;
            }
        }
    });
    let tcp_task = tokio::spawn(async move {
        loop {
            let Ok((s, _)) = tcp.accept().await else { continue };
            tokio::spawn(dns_tcp_conn(s));
        }
    });
    Server {
        addr,
        tasks: vec![udp_task, tcp_task],
    }
}

/// A port with nothing listening (bound, then closed).
pub async fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

/// Values of one series in a rendered registry.
pub fn value(result: &probe::ProbeResult, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    result.registry.value(name, labels)
}

pub async fn run(yaml: &str, module: &str, target: &str) -> probe::ProbeResult {
    let modules = probe::Modules::parse(yaml).unwrap();
    let m = modules.get(module).unwrap();
    probe::run_probe(module, m, target, Duration::from_secs(5)).await
}
