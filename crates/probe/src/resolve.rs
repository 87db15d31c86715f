//! Target name resolution with blackbox_exporter's IP protocol preference: take the first
//! address of the preferred family, else (when fallback is allowed) one of the other family.
//! Registers `probe_dns_lookup_time_seconds`, `probe_ip_protocol` and `probe_ip_addr_hash`.

use std::net::IpAddr;
use std::time::Instant;

use crate::config::IpProtocol;
use crate::log::ProbeLog;
use crate::metrics::{Registry, names};

/// The chosen address and how long the lookup took (also on failure, as blackbox reports it).
pub struct Resolved {
    pub ip: Option<IpAddr>,
    pub lookup_seconds: f64,
}

/// The address family test Go uses (`To4() != nil`): IPv4-mapped IPv6 counts as IPv4.
pub fn is_ipv4(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(_) => true,
        IpAddr::V6(v6) => v6.to_ipv4_mapped().is_some(),
    }
}

/// FNV-1a (32 bit) of the address bytes: 4 for IPv4, 16 for IPv6.
pub fn ip_hash(ip: IpAddr) -> f64 {
    let mut h: u32 = 0x811c_9dc5;
    let mut feed = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u32::from(b);
            h = h.wrapping_mul(0x0100_0193);
        }
    };
    match ip {
        IpAddr::V4(v4) => feed(&v4.octets()),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => feed(&v4.octets()),
            None => feed(&v6.octets()),
        },
    }
    f64::from(h)
}

/// All addresses of a host name or literal, in resolver order. Runs the system resolver
/// (`getaddrinfo`) on tokio's blocking pool.
pub async fn lookup(host: &str) -> std::io::Result<Vec<IpAddr>> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![ip]);
    }
    let addrs = tokio::net::lookup_host((host, 0)).await?;
    let mut ips: Vec<IpAddr> = Vec::new();
    for a in addrs {
        if !ips.contains(&a.ip()) {
            ips.push(a.ip());
        }
    }
    Ok(ips)
}

/// Resolves `host` the way blackbox_exporter's `chooseProtocol` does and registers its three
/// gauges.
pub async fn choose_protocol(
    host: &str,
    preferred: IpProtocol,
    fallback: bool,
    reg: &mut Registry,
    log: &mut ProbeLog,
) -> Resolved {
    let lookup_gauge = reg.gauge(names::DNS_LOOKUP_TIME);
    let protocol_gauge = reg.gauge(names::IP_PROTOCOL);
    let hash_gauge = reg.gauge(names::IP_ADDR_HASH);
    let preferred_name = match preferred {
        IpProtocol::Ip4 => "ip4",
        IpProtocol::Ip6 => "ip6",
    };
    log.info(
        "Resolving target address",
        &[("target", &host), ("ip_protocol", &preferred_name)],
    );
    let start = Instant::now();
    let result = lookup(host).await;
    let lookup_seconds = start.elapsed().as_secs_f64();
    reg.add(lookup_gauge, lookup_seconds);
    let ips = match result {
        Ok(ips) => ips,
        Err(e) => {
            log.error(
                "Resolution with IP protocol failed",
                &[("target", &host), ("err", &e)],
            );
            return Resolved {
                ip: None,
                lookup_seconds,
            };
        }
    };
    let want_v4 = preferred == IpProtocol::Ip4;
    let chosen = ips.iter().copied().find(|&ip| is_ipv4(ip) == want_v4);
    let chosen = match chosen {
        Some(ip) => Some(ip),
        None if fallback => ips.last().copied(),
        None => None,
    };
    match chosen {
        Some(ip) => {
            log.info("Resolved target address", &[("target", &host), ("ip", &ip)]);
            reg.set(protocol_gauge, if is_ipv4(ip) { 4.0 } else { 6.0 });
            reg.set(hash_gauge, ip_hash(ip));
            Resolved {
                ip: Some(ip),
                lookup_seconds,
            }
        }
        None => {
            let msg = if fallback {
                "unable to find ip; no fallback".to_string()
            } else {
                format!("no {preferred_name} address for {host}")
            };
            log.error(
                "Resolution with IP protocol failed",
                &[("target", &host), ("err", &msg)],
            );
            Resolved {
                ip: None,
                lookup_seconds,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_matches_blackbox() {
        // Value blackbox_exporter 0.23 reports for 127.0.0.1.
        assert_eq!(
            ip_hash("127.0.0.1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))),
            3_668_918_509.0
        );
    }
}
