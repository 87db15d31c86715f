//! The TCP prober: connect, TLS, query_response conversations and STARTTLS.

use std::time::Duration;

use crate::common::*;

const MODULES: &str = r#"
modules:
  tcp_connect:
    prober: tcp
  ssh_banner:
    prober: tcp
    tcp:
      query_response:
      - expect: "^SSH-2.0-"
      - send: "PING one"
      - expect: "^PONG (.+)$"
        send: "PING again-${1}"
      - expect: "^PONG again-one$"
  wrong_banner:
    prober: tcp
    tcp:
      query_response:
      - expect: "^220 "
  tls_insecure:
    prober: tcp
    tcp:
      tls: true
      tls_config:
        insecure_skip_verify: true
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
"#;

#[tokio::test]
async fn connect_success_and_refused() {
    let srv = banner_server(None).await;
    let r = run(MODULES, "tcp_connect", &srv.addr.to_string()).await;
    assert!(r.success, "{}", r.logs);
    assert_eq!(value(&r, "probe_ip_protocol", &[]), Some(4.0));
    assert_eq!(value(&r, "probe_failed_due_to_regex", &[]), Some(0.0));
    let port = closed_port().await;
    let r = run(MODULES, "tcp_connect", &format!("127.0.0.1:{port}")).await;
    assert!(!r.success);
    assert!(
        r.logs.contains("connection refused") || r.logs.contains("Connection refused"),
        "{}",
        r.logs
    );
    let r = run(MODULES, "tcp_connect", "127.0.0.1").await;
    assert!(!r.success);
    assert!(r.logs.contains("missing port"), "{}", r.logs);
    assert_eq!(
        value(&r, "probe_ip_protocol", &[]),
        None,
        "no resolution without a port"
    );
}

#[tokio::test]
async fn query_response_conversation() {
    let srv = banner_server(None).await;
    let r = run(MODULES, "ssh_banner", &srv.addr.to_string()).await;
    assert!(r.success, "{}", r.logs);
    let modules = probe::Modules::parse(MODULES).unwrap();
    let r = probe::run_probe(
        "wrong_banner",
        modules.get("wrong_banner").unwrap(),
        &srv.addr.to_string(),
        Duration::from_millis(500),
    )
    .await;
    assert!(!r.success);
    // The server keeps the connection open: the read times out rather than hitting EOF.
    assert!(r.logs.contains("Error reading from connection"), "{}", r.logs);
}

#[tokio::test]
async fn expect_failing_at_eof_sets_regex_gauge() {
    let srv = one_line_server("hello\n").await;
    let r = run(MODULES, "wrong_banner", &srv.addr.to_string()).await;
    assert!(!r.success);
    assert_eq!(value(&r, "probe_failed_due_to_regex", &[]), Some(1.0));
    assert!(r.logs.contains("Regexp did not match"), "{}", r.logs);
}

#[tokio::test]
async fn tls_and_starttls() {
    let cert = test_cert();
    let https = http_server(Some(tls_acceptor(&cert))).await;
    let r = run(MODULES, "tls_insecure", &https.addr.to_string()).await;
    assert!(r.success, "{}", r.logs);
    assert_eq!(
        value(&r, "probe_tls_version_info", &[("version", "TLS 1.3")]),
        Some(1.0)
    );
    assert!(value(&r, "probe_ssl_earliest_cert_expiry", &[]).unwrap() > 1.9e9);
    let text = r.registry.render();
    assert!(text.contains("probe_ssl_last_chain_info{"), "{text}");

    let banner = banner_server(Some(tls_acceptor(&cert))).await;
    let r = run(MODULES, "starttls", &banner.addr.to_string()).await;
    assert!(r.success, "{}", r.logs);
    assert!(value(&r, "probe_ssl_earliest_cert_expiry", &[]).unwrap() > 1.9e9);
    assert_eq!(
        value(&r, "probe_tls_version_info", &[("version", "TLS 1.3")]),
        Some(1.0)
    );

    // Plain TLS against a plain-text server fails.
    let plain = banner_server(None).await;
    let r = run(MODULES, "tls_insecure", &plain.addr.to_string()).await;
    assert!(!r.success);
}
