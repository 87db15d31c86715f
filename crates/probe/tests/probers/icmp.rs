//! The ICMP prober pinging the loopback addresses.

use crate::common::*;

const MODULES: &str = r#"
modules:
  icmp:
    prober: icmp
  icmp_big:
    prober: icmp
    icmp:
      preferred_ip_protocol: ip4
      payload_size: 1000
      dont_fragment: true
      ttl: 5
"#;

/// Pinging needs an ICMP socket: an unprivileged one (group in `net.ipv4.ping_group_range`) or
/// a raw one (root, `CAP_NET_RAW`). Without either, the probe must fail saying so.
fn assert_ping(r: &probe::ProbeResult) {
    if !r.success {
        assert!(r.logs.contains("cannot open an ICMP socket"), "{}", r.logs);
        eprintln!("notice: no ICMP socket available here; checked the failure path only");
        return;
    }
    for phase in ["resolve", "setup", "rtt"] {
        assert!(value(r, "probe_icmp_duration_seconds", &[("phase", phase)]).is_some());
    }
    assert!(value(r, "probe_icmp_duration_seconds", &[("phase", "rtt")]).unwrap() > 0.0);
    assert_eq!(value(r, "probe_icmp_reply_hop_limit", &[]), Some(64.0));
}

#[tokio::test]
async fn ping_localhost() {
    let r = run(MODULES, "icmp", "127.0.0.1").await;
    assert_ping(&r);
    let r = run(MODULES, "icmp_big", "127.0.0.1").await;
    assert_ping(&r);
}

#[tokio::test]
async fn ping_ipv6_localhost() {
    if std::net::UdpSocket::bind("[::1]:0").is_err() {
        eprintln!("notice: no IPv6 loopback here; skipped");
        return;
    }
    let r = run(MODULES, "icmp", "::1").await;
    assert_ping(&r);
    if r.success {
        assert_eq!(value(&r, "probe_ip_protocol", &[]), Some(6.0));
    }
}

#[tokio::test]
async fn unresolvable_target() {
    let r = run(MODULES, "icmp", "nonexistent.invalid").await;
    assert!(!r.success);
    assert_eq!(
        value(&r, "probe_icmp_duration_seconds", &[("phase", "resolve")]),
        Some(0.0)
    );
    assert_eq!(value(&r, "probe_icmp_reply_hop_limit", &[]), None);
}
