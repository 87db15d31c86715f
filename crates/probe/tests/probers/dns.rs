//! The DNS prober against the local zone server: answers, RR validation, rcodes, truncation, timeouts.

use std::time::Duration;

use crate::common::*;

const MODULES: &str = r#"
modules:
  dns_any:
    prober: dns
    dns:
      query_name: example.test
      preferred_ip_protocol: ip4
  dns_a:
    prober: dns
    dns:
      query_name: example.test
      query_type: A
      validate_answer_rrs:
        fail_if_not_matches_regexp:
          - "example.test.\t300\tIN\tA\t192.0.2.[12]"
        fail_if_none_matches_regexp:
          - "192.0.2.2$"
  dns_a_bad_regex:
    prober: dns
    dns:
      query_name: example.test
      query_type: A
      validate_answer_rrs:
        fail_if_matches_regexp: ["192.0.2.2"]
  dns_all_match:
    prober: dns
    dns:
      query_name: example.test
      query_type: A
      validate_answer_rrs:
        fail_if_all_match_regexp: ["192.0.2"]
  dns_soa:
    prober: dns
    dns:
      query_name: example.test
      query_type: SOA
  dns_mx_tcp:
    prober: dns
    dns:
      query_name: example.test
      query_type: MX
      transport_protocol: tcp
      validate_answer_rrs:
        fail_if_not_matches_regexp: ["\tMX\t10 mail.example.test.$"]
  dns_nx:
    prober: dns
    dns:
      query_name: missing.example.test
      query_type: A
      validate_authority_rrs:
        fail_if_none_matches_regexp: ["SOA"]
  dns_nx_ok:
    prober: dns
    dns:
      query_name: missing.example.test
      query_type: A
      valid_rcodes: [NXDOMAIN]
  dns_refused:
    prober: dns
    dns:
      query_name: refused.example.test
      query_type: A
  dns_big:
    prober: dns
    dns:
      query_name: big.example.test
      query_type: A
  dns_slow:
    prober: dns
    dns:
      query_name: slow.example.test
"#;

#[tokio::test]
async fn answers_and_validation() {
    let srv = dns_server().await;
    let target = srv.addr.to_string();
    let r = run(MODULES, "dns_any", &target).await;
    assert!(r.success, "{}", r.logs);
    assert_eq!(value(&r, "probe_dns_answer_rrs", &[]), Some(7.0));
    assert_eq!(value(&r, "probe_dns_query_succeeded", &[]), Some(1.0));
    assert_eq!(
        value(&r, "probe_dns_serial", &[]),
        None,
        "only SOA queries report a serial"
    );
    for phase in ["resolve", "connect", "request"] {
        assert!(value(&r, "probe_dns_duration_seconds", &[("phase", phase)]).is_some());
    }
    assert!(value(&r, "probe_dns_duration_seconds", &[("phase", "request")]).unwrap() > 0.0);

    let r = run(MODULES, "dns_a", &target).await;
    assert!(r.success, "{}", r.logs);
    assert_eq!(value(&r, "probe_dns_answer_rrs", &[]), Some(2.0));
    let r = run(MODULES, "dns_a_bad_regex", &target).await;
    assert!(!r.success);
    assert!(r.logs.contains("At least one RR matched regexp"), "{}", r.logs);
    let r = run(MODULES, "dns_all_match", &target).await;
    assert!(!r.success);
    assert!(r.logs.contains("Not all RRs matched regexp"), "{}", r.logs);

    let r = run(MODULES, "dns_soa", &target).await;
    assert!(r.success, "{}", r.logs);
    assert_eq!(value(&r, "probe_dns_serial", &[]), Some(f64::from(ZONE_SERIAL)));

    let r = run(MODULES, "dns_mx_tcp", &target).await;
    assert!(r.success, "{}", r.logs);
    assert!(r.logs.contains("dial_protocol=tcp4"), "{}", r.logs);
}

#[tokio::test]
async fn rcodes() {
    let srv = dns_server().await;
    let target = srv.addr.to_string();
    let r = run(MODULES, "dns_nx", &target).await;
    assert!(!r.success);
    assert!(r.logs.contains("string_rcode=NXDOMAIN"), "{}", r.logs);
    assert_eq!(value(&r, "probe_dns_authority_rrs", &[]), Some(1.0));
    assert_eq!(value(&r, "probe_dns_query_succeeded", &[]), Some(1.0));
    let r = run(MODULES, "dns_nx_ok", &target).await;
    assert!(r.success, "{}", r.logs);
    let r = run(MODULES, "dns_refused", &target).await;
    assert!(!r.success);
    assert!(r.logs.contains("string_rcode=REFUSED"), "{}", r.logs);
}

#[tokio::test]
async fn truncated_udp_answer_is_retried_over_tcp() {
    let srv = dns_server().await;
    let r = run(MODULES, "dns_big", &srv.addr.to_string()).await;
    assert!(r.success, "{}", r.logs);
    assert!(r.logs.contains("retrying over TCP"), "{}", r.logs);
    assert_eq!(value(&r, "probe_dns_answer_rrs", &[]), Some(40.0));
}

#[tokio::test]
async fn no_answer_and_no_server() {
    let srv = dns_server().await;
    let modules = probe::Modules::parse(MODULES).unwrap();
    let r = probe::run_probe(
        "dns_slow",
        modules.get("dns_slow").unwrap(),
        &srv.addr.to_string(),
        Duration::from_millis(300),
    )
    .await;
    assert!(!r.success);
    assert_eq!(value(&r, "probe_dns_query_succeeded", &[]), Some(0.0));
    assert!(r.logs.contains("i/o timeout"), "{}", r.logs);

    // UDP to a closed port: the ICMP port unreachable comes back as "connection refused".
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    drop(socket);
    let r = run(MODULES, "dns_any", &format!("127.0.0.1:{port}")).await;
    assert!(!r.success);
    assert_eq!(value(&r, "probe_dns_query_succeeded", &[]), Some(0.0));
    assert_eq!(value(&r, "probe_dns_answer_rrs", &[]), Some(0.0));
}
