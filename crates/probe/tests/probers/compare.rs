//! Runs Debian's blackbox_exporter 0.23 (`/usr/bin/prometheus-blackbox-exporter`) with the same
//! modules against the same local targets as this crate, and checks that both report the same
//! series (names and labels) with the same HELP and TYPE lines, and the same values where they
//! do not depend on timing. Skipped, with a notice, when the binary is not installed (a failure
//! with `PHAROS_REQUIRE_PEERS=1`). `PROBE_COMPARE_VERBOSE=1` prints both answers of every case.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::net::TcpStream as StdTcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::*;

const BLACKBOX: &str = "/usr/bin/prometheus-blackbox-exporter";

/// The exporter process; killed when the test ends.
struct Blackbox {
    child: Child,
    port: u16,
    _config: tempfile::NamedTempFile,
}

impl Drop for Blackbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_blackbox(config: &str) -> Option<Blackbox> {
    if !Path::new(BLACKBOX).exists() {
        return None;
    }
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(config.as_bytes()).unwrap();
    file.flush().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(BLACKBOX)
        .arg(format!("--config.file={}", file.path().display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let bb = Blackbox {
        child,
        port,
        _config: file,
    };
    let start = Instant::now();
    while StdTcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "blackbox_exporter did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(bb)
}

/// A GET over a fresh connection; returns status, content type and body.
async fn get(port: u16, path_and_query: &str, timeout_header: &str) -> (u16, String, String) {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let req = format!(
        "GET {path_and_query} HTTP/1.0\r\nHost: 127.0.0.1\r\nX-Prometheus-Scrape-Timeout-Seconds: {timeout_header}\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let raw = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let content_type = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default();
    (status, content_type, body.to_string())
}

/// HELP and TYPE lines as they are, samples without their values.
fn series_set(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            if l.starts_with('#') {
                l.to_string()
            } else {
                l.rsplit_once(' ').map_or(l, |(series, _)| series).to_string()
            }
        })
        .collect()
}

/// The value of an unlabelled sample.
fn sample_value(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (series, value) = l.rsplit_once(' ')?;
        (series == name).then(|| value.to_string())
    })
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn same_series_as_blackbox_exporter() {
    let cert = test_cert();
    let web = http_server(None).await;
    let tls_web = http_server(Some(tls_acceptor(&cert))).await;
    let chain_cert = ca_signed_cert();
    let chain_web = http_server(Some(tls_acceptor(&chain_cert))).await;
    let chain_ca = chain_cert.pem_file.path().display().to_string();
    let banner = banner_server(None).await;
    let tls_banner = banner_server(Some(tls_acceptor(&cert))).await;
    let one_line = one_line_server("hello\n").await;
    let dns = dns_server().await;
    let closed = closed_port().await;
    let ca = cert.pem_file.path().display().to_string();
    let config = format!(
        r#"modules:
  http_2xx:
    prober: http
  http_no_follow:
    prober: http
    http:
      follow_redirects: false
  http_body_regex:
    prober: http
    http:
      fail_if_body_matches_regexp: ["database"]
  http_header_regex:
    prober: http
    http:
      fail_if_header_matches:
        - header: X-Powered-By
          regexp: PHP
  http_gzip:
    prober: http
    http:
      compression: gzip
  http_post:
    prober: http
    http:
      method: POST
      body: "x=1"
  https_insecure:
    prober: http
    http:
      tls_config:
        insecure_skip_verify: true
  https_ca:
    prober: http
    http:
      tls_config:
        ca_file: {ca}
  https_untrusted:
    prober: http
  https_chain:
    prober: http
    http:
      tls_config:
        ca_file: {chain_ca}
  tcp_tls_chain:
    prober: tcp
    tcp:
      tls: true
      tls_config:
        ca_file: {chain_ca}
  tcp_connect:
    prober: tcp
  tcp_tls:
    prober: tcp
    tcp:
      tls: true
      tls_config:
        insecure_skip_verify: true
  tcp_tls_ca:
    prober: tcp
    tcp:
      tls: true
      tls_config:
        ca_file: {ca}
        server_name: localhost
  ssh_banner:
    prober: tcp
    tcp:
      query_response:
      - expect: "^SSH-2.0-"
      - send: "PING x"
      - expect: "^PONG x$"
  tcp_bad_expect:
    prober: tcp
    tcp:
      query_response:
      - expect: "^220"
  starttls:
    prober: tcp
    tcp:
      query_response:
      - expect: "^SSH"
      - send: "STARTTLS"
      - expect: "^220"
      - starttls: true
      - expect: "^secure hello$"
      tls_config:
        insecure_skip_verify: true
  dns_any:
    prober: dns
    dns:
      query_name: example.test
  dns_a:
    prober: dns
    dns:
      query_name: example.test
      query_type: A
      validate_answer_rrs:
        fail_if_not_matches_regexp: ["example.test.\t300\tIN\tA\t192.0.2.[12]"]
  dns_soa:
    prober: dns
    dns:
      query_name: example.test
      query_type: SOA
  dns_nx:
    prober: dns
    dns:
      query_name: missing.example.test
      query_type: A
  dns_tcp:
    prober: dns
    dns:
      query_name: example.test
      query_type: MX
      transport_protocol: tcp
  dns_big:
    prober: dns
    dns:
      query_name: big.example.test
      query_type: A
  dns_slow:
    prober: dns
    dns:
      query_name: slow.example.test
  icmp:
    prober: icmp
  icmp_ip4:
    prober: icmp
    icmp:
      preferred_ip_protocol: ip4
"#
    );
    let Some(bb) = start_blackbox(&config) else {
        let required = std::env::var("PHAROS_REQUIRE_PEERS").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "PHAROS_REQUIRE_PEERS=1 but {BLACKBOX} is not installed"
        );
        eprintln!("notice: {BLACKBOX} is not installed; comparison with blackbox_exporter skipped");
        return;
    };
    let modules = probe::Modules::parse(&config).unwrap();
    let http = format!("http://{}", web.addr);
    let https = format!("https://127.0.0.1:{}", tls_web.addr.port());
    let cases: Vec<(&str, String)> = vec![
        ("http_2xx", format!("{http}/")),
        ("http_2xx", format!("{http}/404")),
        ("http_2xx", format!("{http}/redirect")),
        ("http_2xx", format!("{http}/last-modified")),
        ("http_2xx", format!("{http}/chunked")),
        ("http_2xx", format!("{http}/slow")),
        ("http_2xx", web.addr.to_string()),
        ("http_2xx", format!("http://127.0.0.1:{closed}/")),
        ("http_2xx", "http://nonexistent.invalid/".to_string()),
        ("http_2xx", format!("{http}/redirect-loop")),
        ("http_2xx", format!("http://[::1]:{closed}/")),
        ("http_2xx", "http://[::1/".to_string()),
        ("tcp_connect", "nonexistent.invalid:80".to_string()),
        ("dns_any", "nonexistent.invalid".to_string()),
        ("icmp", "nonexistent.invalid".to_string()),
        ("http_no_follow", format!("{http}/redirect")),
        ("http_body_regex", format!("{http}/")),
        ("http_body_regex", format!("{http}/error-page")),
        ("http_header_regex", format!("{http}/headers")),
        ("http_gzip", format!("{http}/gzip")),
        ("http_post", format!("{http}/echo")),
        ("https_insecure", format!("{https}/")),
        ("https_ca", format!("{https}/")),
        ("https_untrusted", format!("{https}/")),
        (
            "https_chain",
            format!("https://127.0.0.1:{}/", chain_web.addr.port()),
        ),
        ("tcp_tls_chain", chain_web.addr.to_string()),
        ("tcp_connect", banner.addr.to_string()),
        ("tcp_connect", format!("127.0.0.1:{closed}")),
        ("tcp_connect", "127.0.0.1".to_string()),
        ("tcp_tls", tls_web.addr.to_string()),
        ("tcp_tls_ca", tls_web.addr.to_string()),
        ("ssh_banner", banner.addr.to_string()),
        ("tcp_bad_expect", banner.addr.to_string()),
        ("tcp_bad_expect", one_line.addr.to_string()),
        ("starttls", tls_banner.addr.to_string()),
        ("dns_any", dns.addr.to_string()),
        ("dns_a", dns.addr.to_string()),
        ("dns_soa", dns.addr.to_string()),
        ("dns_nx", dns.addr.to_string()),
        ("dns_tcp", dns.addr.to_string()),
        ("dns_big", dns.addr.to_string()),
        ("dns_slow", dns.addr.to_string()),
        ("dns_any", format!("127.0.0.1:{closed}")),
        ("icmp", "127.0.0.1".to_string()),
        ("icmp_ip4", "localhost".to_string()),
    ];
    // Scrape timeout 2 s: the slow targets time out after 1.5 s on both sides.
    let timeout = "2";
    let mut mismatches = Vec::new();
    for (module, target) in &cases {
        let query = format!("module={module}&target={}", percent_encode(target));
        let theirs = get(bb.port, &format!("/probe?{query}"), timeout).await;
        let ours = probe::handle_probe(&query, Some(timeout), &modules).await;
        assert_eq!(theirs.0, ours.status, "{module} {target}: status");
        assert_eq!(theirs.1, ours.content_type, "{module} {target}: content type");
        let (theirs_set, ours_set) = (series_set(&theirs.2), series_set(&ours.body));
        // Values that do not depend on timing must agree too.
        for name in [
            "probe_success",
            "probe_ssl_earliest_cert_expiry",
            "probe_ssl_last_chain_expiry_timestamp_seconds",
            "probe_http_status_code",
            "probe_http_redirects",
            "probe_http_content_length",
            "probe_http_uncompressed_body_length",
            "probe_dns_answer_rrs",
            "probe_dns_serial",
            "probe_failed_due_to_regex",
        ] {
            if module.starts_with("dns_big") && name == "probe_dns_answer_rrs" {
                continue; // We retry truncated answers over TCP, blackbox does not.
            }
            if target.ends_with("/echo") && name.contains("length") {
                continue; // The echoed request differs in its User-Agent.
            }
            assert_eq!(
                sample_value(&theirs.2, name),
                sample_value(&ours.body, name),
                "{module} {target}: value of {name}"
            );
        }
        if std::env::var_os("PROBE_COMPARE_VERBOSE").is_some() {
            eprintln!(
                "== {module} {target}\n--- blackbox:\n{}--- ours:\n{}",
                theirs.2, ours.body
            );
        }
        if theirs_set != ours_set {
            let only_theirs: Vec<_> = theirs_set.difference(&ours_set).collect();
            let only_ours: Vec<_> = ours_set.difference(&theirs_set).collect();
            mismatches.push(format!(
                "{module} {target}:\n  only blackbox: {only_theirs:#?}\n  only ours: {only_ours:#?}\n--- blackbox:\n{}\n--- ours:\n{}",
                theirs.2, ours.body
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n\n"));

    // The endpoint's error answers.
    for query in ["module=http_2xx", "module=nope&target=x", "target=x&module="] {
        let theirs = get(bb.port, &format!("/probe?{query}"), timeout).await;
        let ours = probe::handle_probe(query, Some(timeout), &modules).await;
        if query.ends_with("module=") {
            // Default module http_2xx against target "x": compare the series only.
            assert_eq!(series_set(&theirs.2), series_set(&ours.body), "{query}");
            continue;
        }
        assert_eq!(
            (theirs.0, theirs.2.as_str()),
            (ours.status, ours.body.as_str()),
            "{query}"
        );
        assert_eq!(theirs.1, ours.content_type, "{query}");
    }
}
