//! The HTTP prober against a local HTTP/1.1 server, plain and over TLS.

use std::time::Duration;

use crate::common::*;

const MODULES: &str = r#"
modules:
  http_2xx:
    prober: http
  http_ip4:
    prober: http
    http:
      preferred_ip_protocol: ip4
  no_follow:
    prober: http
    http:
      follow_redirects: false
  body_regex:
    prober: http
    http:
      fail_if_body_matches_regexp: ["Could not connect to database"]
      fail_if_body_not_matches_regexp: ["hello|database"]
  header_regex:
    prober: http
    http:
      fail_if_header_matches:
        - header: X-Powered-By
          regexp: "PHP"
  header_missing:
    prober: http
    http:
      fail_if_header_not_matches:
        - header: X-Not-There
          regexp: ".*"
  gzip:
    prober: http
    http:
      compression: gzip
  limited:
    prober: http
    http:
      body_size_limit: 5
  post:
    prober: http
    http:
      method: POST
      body: '{"a":1}'
      headers:
        Content-Type: application/json
        Host: vhost.example
      basic_auth:
        username: user
        password: secret
  accept_404:
    prober: http
    http:
      valid_status_codes: [404]
  versions:
    prober: http
    http:
      valid_http_versions: ["HTTP/2.0"]
  must_ssl:
    prober: http
    http:
      fail_if_not_ssl: true
  https_insecure:
    prober: http
    http:
      tls_config:
        insecure_skip_verify: true
  https_unverified:
    prober: http
    timeout: 3s
  fail_ssl:
    prober: http
    http:
      fail_if_ssl: true
      tls_config:
        insecure_skip_verify: true
"#;

fn phases(r: &probe::ProbeResult) -> Vec<&'static str> {
    ["resolve", "connect", "tls", "processing", "transfer"]
        .into_iter()
        .filter(|p| value(r, "probe_http_duration_seconds", &[("phase", p)]).is_some())
        .collect()
}

#[tokio::test]
async fn success_and_basic_metrics() {
    let srv = http_server(None).await;
    let r = run(MODULES, "http_2xx", &format!("http://{}/", srv.addr)).await;
    assert!(r.success, "{}", r.logs);
    assert_eq!(value(&r, "probe_http_status_code", &[]), Some(200.0));
    assert_eq!(value(&r, "probe_http_content_length", &[]), Some(21.0));
    assert_eq!(value(&r, "probe_http_uncompressed_body_length", &[]), Some(21.0));
    assert_eq!(value(&r, "probe_http_version", &[]), Some(1.1));
    assert_eq!(value(&r, "probe_http_ssl", &[]), Some(0.0));
    assert_eq!(value(&r, "probe_http_redirects", &[]), Some(0.0));
    assert_eq!(value(&r, "probe_ip_protocol", &[]), Some(4.0));
    assert_eq!(value(&r, "probe_ip_addr_hash", &[]), Some(3_668_918_509.0));
    assert_eq!(phases(&r).len(), 5);
    assert!(value(&r, "probe_http_duration_seconds", &[("phase", "connect")]).unwrap() > 0.0);
    assert!(value(&r, "probe_http_duration_seconds", &[("phase", "processing")]).unwrap() > 0.0);
    assert_eq!(value(&r, "probe_http_last_modified_timestamp_seconds", &[]), None);
    // A target without scheme gets http://.
    let r = run(MODULES, "http_2xx", &srv.addr.to_string()).await;
    assert!(r.success, "{}", r.logs);
}

#[tokio::test]
async fn wrong_status_fails() {
    let srv = http_server(None).await;
    let r = run(MODULES, "http_2xx", &format!("http://{}/404", srv.addr)).await;
    assert!(!r.success);
    assert_eq!(value(&r, "probe_http_status_code", &[]), Some(404.0));
    let r = run(MODULES, "accept_404", &format!("http://{}/404", srv.addr)).await;
    assert!(r.success, "{}", r.logs);
}

#[tokio::test]
async fn redirects() {
    let srv = http_server(None).await;
    let r = run(MODULES, "http_2xx", &format!("http://{}/redirect", srv.addr)).await;
    assert!(r.success, "{}", r.logs);
    assert_eq!(value(&r, "probe_http_redirects", &[]), Some(1.0));
    assert_eq!(value(&r, "probe_http_status_code", &[]), Some(200.0));

    let r = run(MODULES, "no_follow", &format!("http://{}/redirect", srv.addr)).await;
    assert!(!r.success);
    assert_eq!(value(&r, "probe_http_redirects", &[]), Some(1.0));
    assert_eq!(value(&r, "probe_http_status_code", &[]), Some(302.0));
    assert_eq!(value(&r, "probe_http_uncompressed_body_length", &[]), Some(0.0));

    let r = run(MODULES, "http_2xx", &format!("http://{}/redirect-loop", srv.addr)).await;
    assert!(!r.success);
    assert_eq!(value(&r, "probe_http_redirects", &[]), Some(11.0));
}

#[tokio::test]
async fn body_and_header_regexes() {
    let srv = http_server(None).await;
    let r = run(MODULES, "body_regex", &format!("http://{}/", srv.addr)).await;
    assert!(r.success, "{}", r.logs);
    assert_eq!(value(&r, "probe_failed_due_to_regex", &[]), Some(0.0));
    let r = run(MODULES, "body_regex", &format!("http://{}/error-page", srv.addr)).await;
    assert!(!r.success);
    assert_eq!(value(&r, "probe_failed_due_to_regex", &[]), Some(1.0));
    assert!(r.logs.contains("Body matched regular expression"), "{}", r.logs);
    let r = run(MODULES, "header_regex", &format!("http://{}/headers", srv.addr)).await;
    assert!(!r.success);
    assert_eq!(value(&r, "probe_failed_due_to_regex", &[]), Some(1.0));
    let r = run(MODULES, "header_regex", &format!("http://{}/", srv.addr)).await;
    assert!(!r.success, "a missing header without allow_missing fails");
    let r = run(MODULES, "header_missing", &format!("http://{}/", srv.addr)).await;
    assert!(!r.success);
    assert!(r.logs.contains("Missing required header"), "{}", r.logs);
}

#[tokio::test]
async fn compression_limits_and_framing() {
    let srv = http_server(None).await;
    let r = run(MODULES, "gzip", &format!("http://{}/gzip", srv.addr)).await;
    assert!(r.success, "{}", r.logs);
    assert_eq!(value(&r, "probe_http_uncompressed_body_length", &[]), Some(850.0));
    assert!(value(&r, "probe_http_content_length", &[]).unwrap() < 850.0);
    let r = run(MODULES, "limited", &format!("http://{}/", srv.addr)).await;
    assert!(!r.success);
    assert_eq!(value(&r, "probe_http_uncompressed_body_length", &[]), Some(5.0));
    let r = run(MODULES, "http_2xx", &format!("http://{}/chunked", srv.addr)).await;
    assert!(r.success, "{}", r.logs);
    assert_eq!(value(&r, "probe_http_content_length", &[]), Some(-1.0));
    assert_eq!(value(&r, "probe_http_uncompressed_body_length", &[]), Some(11.0));
    let r = run(MODULES, "http_2xx", &format!("http://{}/last-modified", srv.addr)).await;
    assert_eq!(
        value(&r, "probe_http_last_modified_timestamp_seconds", &[]),
        Some(1_445_412_480.0)
    );
    let r = run(MODULES, "versions", &format!("http://{}/", srv.addr)).await;
    assert!(!r.success);
    assert!(r.logs.contains("Invalid HTTP version number"), "{}", r.logs);
    let r = run(MODULES, "must_ssl", &format!("http://{}/", srv.addr)).await;
    assert!(!r.success);
}

#[tokio::test]
async fn request_is_built_like_blackbox() {
    let srv = http_server(None).await;
    let modules = probe::Modules::parse(MODULES).unwrap();
    let answer = probe::handle_probe(
        &format!("module=post&target=http://{}/echo&debug=true", srv.addr),
        None,
        &modules,
    )
    .await;
    assert_eq!(answer.status, 200);
    let body = &answer.body;
    assert!(body.contains("Logs for the probe:"), "{body}");
    assert!(body.contains("Module configuration:"), "{body}");
    assert!(body.contains("password: <secret>"), "{body}");
    // The echo body itself is not in the answer; check the request through the length and a
    // second probe with a regex.
    let yaml = format!(
        "{MODULES}  echo_check:\n    prober: http\n    http:\n      method: POST\n      body: 'payload'\n      headers:\n        Host: vhost.example\n      basic_auth:\n        username: user\n        password: secret\n      fail_if_body_not_matches_regexp:\n        - '(?m)^POST /echo$'\n        - '(?m)^host: vhost.example$'\n        - '(?m)^authorization: Basic dXNlcjpzZWNyZXQ=$'\n        - '(?m)^user-agent: Pharos/'\n        - '(?m)^connection: close$'\n        - '(?m)^content-length: 7$'\n        - 'payload$'\n"
    );
    let r = run(&yaml, "echo_check", &format!("http://{}/echo", srv.addr)).await;
    assert!(r.success, "{}", r.logs);
}

#[tokio::test]
async fn connection_refused_and_bad_names() {
    let port = closed_port().await;
    let r = run(MODULES, "http_2xx", &format!("http://127.0.0.1:{port}/")).await;
    assert!(!r.success);
    assert_eq!(value(&r, "probe_http_status_code", &[]), Some(0.0));
    assert_eq!(phases(&r).len(), 5, "all phases exist after a failed connect");
    assert_eq!(
        value(&r, "probe_http_duration_seconds", &[("phase", "connect")]),
        Some(0.0)
    );
    let r = run(MODULES, "http_2xx", "http://nonexistent.invalid/").await;
    assert!(!r.success);
    assert_eq!(phases(&r), vec!["resolve"]);
    assert_eq!(value(&r, "probe_ip_protocol", &[]), Some(0.0));
}

#[tokio::test]
async fn timeout_stops_the_probe() {
    let srv = http_server(None).await;
    let modules = probe::Modules::parse(MODULES).unwrap();
    let start = std::time::Instant::now();
    let r = probe::run_probe(
        "http_2xx",
        modules.get("http_2xx").unwrap(),
        &format!("http://{}/slow", srv.addr),
        Duration::from_millis(300),
    )
    .await;
    assert!(!r.success);
    assert!(start.elapsed() < Duration::from_secs(2));
    assert!(r.logs.contains("context deadline exceeded"), "{}", r.logs);
    assert_eq!(value(&r, "probe_http_status_code", &[]), Some(0.0));
}

#[tokio::test]
async fn https_metrics() {
    let cert = test_cert();
    let srv = http_server(Some(tls_acceptor(&cert))).await;
    let target = format!("https://127.0.0.1:{}/", srv.addr.port());
    let r = run(MODULES, "https_insecure", &target).await;
    assert!(r.success, "{}", r.logs);
    assert_eq!(value(&r, "probe_http_ssl", &[]), Some(1.0));
    assert_eq!(
        value(&r, "probe_tls_version_info", &[("version", "TLS 1.3")]),
        Some(1.0)
    );
    assert!(value(&r, "probe_ssl_earliest_cert_expiry", &[]).unwrap() > 1.9e9);
    assert_eq!(
        value(&r, "probe_ssl_last_chain_expiry_timestamp_seconds", &[]),
        Some(-62_135_596_800.0),
        "no verified chain with insecure_skip_verify"
    );
    assert!(value(&r, "probe_http_duration_seconds", &[("phase", "tls")]).unwrap() > 0.0);
    let text = r.registry.render();
    assert!(
        text.contains("issuer=\"CN=localhost,O=Pharos Test\\\\, Inc.\""),
        "{text}"
    );
    assert!(text.contains("subjectalternative=\"localhost\""), "{text}");

    // Verified against the certificate as CA.
    let yaml = format!(
        "{MODULES}  https_ca:\n    prober: http\n    http:\n      tls_config:\n        ca_file: {}\n",
        cert.pem_file.path().display()
    );
    let r = run(&yaml, "https_ca", &target).await;
    assert!(r.success, "{}", r.logs);
    let expiry = value(&r, "probe_ssl_earliest_cert_expiry", &[]).unwrap();
    assert_eq!(
        value(&r, "probe_ssl_last_chain_expiry_timestamp_seconds", &[]),
        Some(expiry)
    );

    // Not trusted by the system roots.
    let r = run(MODULES, "https_unverified", &target).await;
    assert!(!r.success);
    assert!(r.logs.contains("tls handshake"), "{}", r.logs);
    assert_eq!(value(&r, "probe_http_ssl", &[]), Some(0.0));

    let r = run(MODULES, "fail_ssl", &target).await;
    assert!(!r.success);
    assert!(r.logs.contains("Final request was over SSL"), "{}", r.logs);
}

#[tokio::test]
async fn verified_chain_expiry_includes_the_root() {
    let cert = ca_signed_cert();
    let srv = http_server(Some(tls_acceptor(&cert))).await;
    let yaml = format!(
        "modules:\n  https_ca:\n    prober: http\n    http:\n      tls_config:\n        ca_file: {}\n",
        cert.pem_file.path().display()
    );
    let r = run(
        &yaml,
        "https_ca",
        &format!("https://localhost:{}/", srv.addr.port()),
    )
    .await;
    // localhost may resolve to ::1 first; the server listens on 127.0.0.1 only.
    let r = if r.success {
        r
    } else {
        run(
            &yaml,
            "https_ca",
            &format!("https://127.0.0.1:{}/", srv.addr.port()),
        )
        .await
    };
    assert!(r.success, "{}", r.logs);
    assert_eq!(
        value(&r, "probe_ssl_earliest_cert_expiry", &[]),
        Some(LEAF_NOT_AFTER)
    );
    assert_eq!(
        value(&r, "probe_ssl_last_chain_expiry_timestamp_seconds", &[]),
        Some(CA_NOT_AFTER)
    );
    let text = r.registry.render();
    assert!(text.contains("issuer=\"CN=Pharos Test CA\""), "{text}");
}
