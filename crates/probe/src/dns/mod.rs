//! The DNS prober: one query over UDP (retried over TCP when the answer comes back truncated),
//! TCP or DNS over TLS, then the rcode and the records of each section checked against the
//! module's regular expressions.

pub mod wire;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::UdpSocket;
use tokio::time::{Instant as TokioInstant, timeout_at};

use crate::config::{DnsProbe, Module, RrValidator};
use crate::log::ProbeLog;
use crate::metrics::{Registry, names};
use crate::net::{Stream, connect_tcp, parse_port, split_host_port};
use crate::resolve::choose_protocol;
use wire::{Message, Record};

/// Why an exchange failed, with the time spent in the request part so far.
struct ExchangeError {
    msg: String,
    rtt: Duration,
}

fn err(msg: impl Into<String>, rtt: Duration) -> ExchangeError {
    ExchangeError { msg: msg.into(), rtt }
}

async fn exchange_udp(
    addr: SocketAddr,
    source: Option<IpAddr>,
    query: &[u8],
    id: u16,
    deadline: TokioInstant,
) -> Result<(Message, Duration), ExchangeError> {
    let local = match (source, addr) {
        (Some(ip), _) => SocketAddr::new(ip, 0),
        (None, SocketAddr::V4(_)) => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        (None, SocketAddr::V6(_)) => SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
    };
    let zero = Duration::ZERO;
    let socket = UdpSocket::bind(local)
        .await
        .map_err(|e| err(format!("bind {local}: {e}"), zero))?;
    socket
        .connect(addr)
        .await
        .map_err(|e| err(format!("dial udp {addr}: {e}"), zero))?;
    let start = Instant::now();
    match timeout_at(deadline, socket.send(query)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Err(err(format!("write udp {addr}: {e}"), start.elapsed())),
        Err(_) => return Err(err("i/o timeout", start.elapsed())),
    }
    let mut buf = vec![0u8; 65_535];
    loop {
        let n = match timeout_at(deadline, socket.recv(&mut buf)).await {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => return Err(err(format!("read udp {addr}: {e}"), start.elapsed())),
            Err(_) => return Err(err(format!("read udp {addr}: i/o timeout"), start.elapsed())),
        };
        let packet = &buf[..n];
        // Datagrams with another id are not answers to this query (late or spoofed): wait on.
        if packet.len() < 2 || u16::from_be_bytes([packet[0], packet[1]]) != id {
            continue;
        }
        let msg = wire::parse_message(packet).map_err(|e| err(e.to_string(), start.elapsed()))?;
        return Ok((msg, start.elapsed()));
    }
}

async fn read_framed<S: AsyncRead + Unpin>(stream: &mut S) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).await?;
    let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut msg).await?;
    Ok(msg)
}

/// Returns the answer and the request time (write to read); connecting (and the TLS handshake)
/// is not part of it.
async fn exchange_tcp(
    addr: SocketAddr,
    cfg: &DnsProbe,
    host: &str,
    query: &[u8],
    id: u16,
    deadline: TokioInstant,
) -> Result<(Message, Duration), ExchangeError> {
    let zero = Duration::ZERO;
    let source = cfg.source_ip_address.parse().ok();
    let tcp = match timeout_at(deadline, connect_tcp(addr, source)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(err(format!("dial tcp {addr}: {e}"), zero)),
        Err(_) => return Err(err(format!("dial tcp {addr}: i/o timeout"), zero)),
    };
    let mut stream = Stream::Plain(tcp);
    if cfg.dns_over_tls {
        let setup = crate::tls::setup(&cfg.tls_config, host, &[])
            .await
            .map_err(|e| err(format!("failed to create TLS configuration: {e}"), zero))?;
        let tls = match timeout_at(deadline, setup.handshake(stream)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(err(format!("tls handshake: {e}"), zero)),
            Err(_) => return Err(err("tls handshake: i/o timeout", zero)),
        };
        stream = Stream::Tls(Box::new(tls));
    }
    let start = Instant::now();
    let len = u16::try_from(query.len()).map_err(|_| err("query too long", zero))?;
    let mut framed = Vec::with_capacity(query.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(query);
    let io = async {
        stream.write_all(&framed).await?;
        read_framed(&mut stream).await
    };
    let packet = match timeout_at(deadline, io).await {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => return Err(err(format!("read tcp {addr}: {e}"), start.elapsed())),
        Err(_) => return Err(err(format!("read tcp {addr}: i/o timeout"), start.elapsed())),
    };
    let msg = wire::parse_message(&packet).map_err(|e| err(e.to_string(), start.elapsed()))?;
    if msg.header.id != id {
        return Err(err("id mismatch", start.elapsed()));
    }
    Ok((msg, start.elapsed()))
}

/// blackbox_exporter's `validRRs`.
fn valid_rrs(rrs: &[Record], v: &RrValidator, log: &mut ProbeLog) -> bool {
    if rrs.is_empty() && !v.fail_if_not_matches_regexp.is_empty() {
        log.error("fail_if_not_matches_regexp specified but no RRs returned", &[]);
        return false;
    }
    if rrs.is_empty() && !v.fail_if_none_matches_regexp.is_empty() {
        log.error("fail_if_none_matches_regexp specified but no RRs returned", &[]);
        return false;
    }
    let mut any_match = false;
    let mut all_match = true;
    for rr in rrs {
        let text = rr.to_string();
        log.info("Validating RR", &[("rr", &text)]);
        for re in &v.fail_if_matches_regexp {
            if re.is_match(text.as_bytes()) {
                log.error(
                    "At least one RR matched regexp",
                    &[("regexp", &re.as_str()), ("rr", &text)],
                );
                return false;
            }
        }
        for re in &v.fail_if_all_match_regexp {
            if !re.is_match(text.as_bytes()) {
                all_match = false;
            }
        }
        for re in &v.fail_if_not_matches_regexp {
            if !re.is_match(text.as_bytes()) {
                log.error(
                    "At least one RR did not match regexp",
                    &[("regexp", &re.as_str()), ("rr", &text)],
                );
                return false;
            }
        }
        for re in &v.fail_if_none_matches_regexp {
            if re.is_match(text.as_bytes()) {
                any_match = true;
            }
        }
    }
    if !v.fail_if_all_match_regexp.is_empty() && all_match {
        log.error("Not all RRs matched regexp", &[]);
        return false;
    }
    if !v.fail_if_none_matches_regexp.is_empty() && !any_match {
        log.error("None of the RRs did matched any regexp", &[]);
        return false;
    }
    true
}

pub async fn probe(
    target: &str,
    module: &Module,
    deadline: TokioInstant,
    reg: &mut Registry,
    log: &mut ProbeLog,
) -> bool {
    let cfg = &module.dns;
    let durations = reg.gauge_vec(names::DNS_DURATION, &["phase"]);
    let answer_g = reg.gauge(names::DNS_ANSWER_RRS);
    let authority_g = reg.gauge(names::DNS_AUTHORITY_RRS);
    let additional_g = reg.gauge(names::DNS_ADDITIONAL_RRS);
    let succeeded_g = reg.gauge(names::DNS_QUERY_SUCCEEDED);
    for phase in ["resolve", "connect", "request"] {
        reg.touch(durations, &[phase]);
    }

    let (host, port) = match split_host_port(target) {
        Some((h, p)) => (h, p),
        None => (target, if cfg.dns_over_tls { "853" } else { "53" }),
    };
    let resolved = choose_protocol(
        host,
        cfg.preferred_ip_protocol,
        cfg.ip_protocol_fallback,
        reg,
        log,
    )
    .await;
    reg.add_vec(durations, &["resolve"], resolved.lookup_seconds);
    let Some(ip) = resolved.ip else {
        log.error("Error resolving address", &[("err", &"resolution failed")]);
        return false;
    };
    let Some(port) = parse_port(port) else {
        log.error(
            "Error while sending a DNS query",
            &[("err", &format!("invalid port {port:?}"))],
        );
        return false;
    };
    let addr = SocketAddr::new(ip, port);
    let id = crate::net::random_u16();
    let query = match wire::encode_query(
        id,
        &cfg.query_name,
        cfg.query_type,
        cfg.query_class,
        cfg.recursion_desired,
    ) {
        Ok(q) => q,
        Err(e) => {
            log.error("Error while sending a DNS query", &[("err", &e)]);
            return false;
        }
    };
    let family = if crate::resolve::is_ipv4(ip) { "4" } else { "6" };
    let dial_protocol = format!(
        "{}{family}{}",
        cfg.transport_protocol,
        if cfg.dns_over_tls { "-tls" } else { "" }
    );
    log.info(
        "Making DNS query",
        &[
            ("target", &addr),
            ("dial_protocol", &dial_protocol),
            ("query", &cfg.query_name),
            ("type", &cfg.query_type),
            ("class", &cfg.query_class),
        ],
    );
    let source: Option<IpAddr> = cfg.source_ip_address.parse().ok();
    let request_start = Instant::now();
    let mut result = if cfg.transport_protocol == "tcp" {
        exchange_tcp(addr, cfg, host, &query, id, deadline).await
    } else {
        exchange_udp(addr, source, &query, id, deadline).await
    };
    // A truncated UDP answer is retried over TCP, as resolvers do.
    if let Ok((msg, udp_rtt)) = &result
        && msg.header.truncated
        && cfg.transport_protocol == "udp"
    {
        log.info("Response truncated, retrying over TCP", &[]);
        let udp_rtt = *udp_rtt;
        result = match exchange_tcp(addr, cfg, host, &query, id, deadline).await {
            Ok((msg, rtt)) => Ok((msg, udp_rtt + rtt)),
            Err(e) => Err(err(e.msg, udp_rtt + e.rtt)),
        };
    }
    let rtt = match &result {
        Ok((_, rtt)) => *rtt,
        Err(e) => e.rtt,
    };
    let total = request_start.elapsed();
    reg.set_vec(durations, &["connect"], total.saturating_sub(rtt).as_secs_f64());
    reg.set_vec(durations, &["request"], rtt.as_secs_f64());
    let msg = match result {
        Ok((msg, _)) => msg,
        Err(e) => {
            log.error("Error while sending a DNS query", &[("err", &e.msg)]);
            return false;
        }
    };
    log.info(
        "Got response",
        &[
            ("rcode", &wire::rcode_name(msg.header.rcode)),
            ("answers", &msg.answers.len()),
            ("authority", &msg.authority.len()),
            ("additional", &msg.additional.len()),
        ],
    );
    reg.set(answer_g, msg.answers.len() as f64);
    reg.set(authority_g, msg.authority.len() as f64);
    reg.set(additional_g, msg.additional.len() as f64);
    reg.set(succeeded_g, 1.0);
    if cfg.query_type == wire::TYPE_SOA {
        let serial_g = reg.gauge(names::DNS_SERIAL);
        for rr in &msg.answers {
            if let wire::RData::Soa { serial, .. } = rr.data {
                reg.set(serial_g, f64::from(serial));
            }
        }
    }
    let rcode = msg.header.rcode;
    if cfg.valid_rcodes.contains(&rcode) {
        log.info(
            "Rcode is valid",
            &[("rcode", &rcode), ("string_rcode", &wire::rcode_name(rcode))],
        );
    } else {
        let valid: Vec<String> = cfg.valid_rcodes.iter().map(|&r| wire::rcode_name(r)).collect();
        log.error(
            "Rcode is not one of the valid rcodes",
            &[
                ("rcode", &rcode),
                ("string_rcode", &wire::rcode_name(rcode)),
                ("valid_rcodes", &valid.join(",")),
            ],
        );
        return false;
    }
    for (section, rrs, validator) in [
        ("Answer", &msg.answers, &cfg.validate_answer_rrs),
        ("Authority", &msg.authority, &cfg.validate_authority_rrs),
        ("Additional", &msg.additional, &cfg.validate_additional_rrs),
    ] {
        log.info(&format!("Validating {section} RRs"), &[]);
        if !valid_rrs(rrs, validator, log) {
            log.error(&format!("{section} RRs validation failed"), &[]);
            return false;
        }
    }
    true
}
