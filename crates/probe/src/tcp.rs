//! The TCP prober: connect (optionally over TLS), then the `query_response` conversation — read
//! lines until one matches `expect`, send `send` (with `${1}` style references to the match),
//! upgrade with `starttls`.

use std::net::{IpAddr, SocketAddr};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{Instant, timeout_at};

use crate::config::Module;
use crate::log::ProbeLog;
use crate::metrics::{Registry, names};
use crate::net::{Stream, connect_tcp, parse_port, split_host_port};
use crate::resolve::choose_protocol;

/// Go's `bufio.Scanner` default limit on a line.
const MAX_LINE: usize = 64 * 1024;

/// Line reader over a stream, like `bufio.Scanner` with `ScanLines`.
struct Lines {
    stream: Stream,
    buf: Vec<u8>,
    eof: bool,
}

enum Line {
    Line(Vec<u8>),
    Eof,
}

impl Lines {
    async fn next(&mut self, deadline: Instant) -> Result<Line, String> {
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(Line::Line(line));
            }
            if self.eof {
                if self.buf.is_empty() {
                    return Ok(Line::Eof);
                }
                let mut line = std::mem::take(&mut self.buf);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(Line::Line(line));
            }
            if self.buf.len() >= MAX_LINE {
                return Err("bufio.Scanner: token too long".into());
            }
            let mut chunk = [0u8; 4096];
            let n = timeout_at(deadline, self.stream.read(&mut chunk))
                .await
                .map_err(|_| "i/o timeout".to_string())?
                .map_err(|e| e.to_string())?;
            if n == 0 {
                self.eof = true;
            } else {
                self.buf.extend_from_slice(&chunk[..n]);
            }
        }
    }
}

pub async fn probe(
    target: &str,
    module: &Module,
    deadline: Instant,
    reg: &mut Registry,
    log: &mut ProbeLog,
) -> bool {
    let cfg = &module.tcp;
    let regex_g = reg.gauge(names::FAILED_DUE_TO_REGEX);
    let Some((host, port)) = split_host_port(target) else {
        log.error(
            "Error splitting target address and port",
            &[("err", &format!("address {target}: missing port in address"))],
        );
        return false;
    };
    let Some(port) = parse_port(port) else {
        log.error(
            "Error dialing TCP",
            &[("err", &format!("dial tcp: address {target}: invalid port"))],
        );
        return false;
    };
    let resolved = choose_protocol(
        host,
        cfg.preferred_ip_protocol,
        cfg.ip_protocol_fallback,
        reg,
        log,
    )
    .await;
    let Some(ip) = resolved.ip else {
        log.error("Error resolving address", &[("err", &"resolution failed")]);
        return false;
    };
    let source: Option<IpAddr> = cfg.source_ip_address.parse().ok();
    if let Some(src) = source {
        log.info("Using local address", &[("srcIP", &src)]);
    }
    let addr = SocketAddr::new(ip, port);
    let tcp = match timeout_at(deadline, connect_tcp(addr, source)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            log.error("Error dialing TCP", &[("err", &format!("dial tcp {addr}: {e}"))]);
            return false;
        }
        Err(_) => {
            log.error(
                "Error dialing TCP",
                &[("err", &format!("dial tcp {addr}: i/o timeout"))],
            );
            return false;
        }
    };
    let mut stream = Stream::Plain(tcp);
    let mut tls_registered = false;
    if cfg.tls {
        log.info("Dialing TCP with TLS", &[]);
        let setup = match crate::tls::setup(&cfg.tls_config, host, &[]).await {
            Ok(s) => s,
            Err(e) => {
                log.error("Error creating TLS configuration", &[("err", &e)]);
                return false;
            }
        };
        let tls = match timeout_at(deadline, setup.handshake(stream)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                log.error("Error dialing TCP", &[("err", &e)]);
                return false;
            }
            Err(_) => {
                log.error("Error dialing TCP", &[("err", &"i/o timeout")]);
                return false;
            }
        };
        setup.state(tls.get_ref().1).register(reg);
        tls_registered = true;
        stream = Stream::Tls(Box::new(tls));
    } else {
        log.info("Dialing TCP without TLS", &[]);
    }
    log.info("Successfully dialed", &[]);

    let mut lines = Lines {
        stream,
        buf: Vec::new(),
        eof: false,
    };
    for (i, qr) in cfg.query_response.iter().enumerate() {
        log.info("Processing query response entry", &[("entry_number", &i)]);
        let mut send = qr.send.clone().into_bytes();
        if let Some(expect) = &qr.expect {
            let mut matched: Option<Vec<u8>> = None;
            let mut last_line = Vec::new();
            loop {
                match lines.next(deadline).await {
                    Ok(Line::Line(line)) => {
                        log.debug("Read line", &[("line", &String::from_utf8_lossy(&line))]);
                        if expect.is_match(&line) {
                            log.info(
                                "Regexp matched",
                                &[
                                    ("regexp", &expect.as_str()),
                                    ("line", &String::from_utf8_lossy(&line)),
                                ],
                            );
                            matched = Some(line);
                            break;
                        }
                        last_line = line;
                    }
                    Ok(Line::Eof) => break,
                    Err(e) => {
                        log.error("Error reading from connection", &[("err", &e)]);
                        return false;
                    }
                }
            }
            let Some(line) = matched else {
                reg.set(regex_g, 1.0);
                log.error(
                    "Regexp did not match",
                    &[
                        ("regexp", &expect.as_str()),
                        ("line", &String::from_utf8_lossy(&last_line)),
                    ],
                );
                return false;
            };
            reg.set(regex_g, 0.0);
            if let Some(caps) = expect.regex().captures(&line) {
                let mut expanded = Vec::new();
                caps.expand(qr.send.as_bytes(), &mut expanded);
                send = expanded;
            }
        }
        if !send.is_empty() {
            log.debug("Sending line", &[("line", &String::from_utf8_lossy(&send))]);
            send.push(b'\n');
            match timeout_at(deadline, lines.stream.write_all(&send)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    log.error("Failed to send", &[("err", &e)]);
                    return false;
                }
                Err(_) => {
                    log.error("Failed to send", &[("err", &"i/o timeout")]);
                    return false;
                }
            }
        }
        if qr.starttls {
            let setup = match crate::tls::setup(&cfg.tls_config, host, &[]).await {
                Ok(s) => s,
                Err(e) => {
                    log.error("Failed to create TLS configuration", &[("err", &e)]);
                    return false;
                }
            };
            // Bytes already buffered belong to the plain-text conversation; Go drops them too.
            let inner = lines.stream;
            let tls = match timeout_at(deadline, setup.handshake(inner)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    log.error("TLS Handshake (client) failed", &[("err", &e)]);
                    return false;
                }
                Err(_) => {
                    log.error("TLS Handshake (client) failed", &[("err", &"i/o timeout")]);
                    return false;
                }
            };
            log.info("TLS Handshake (client) succeeded.", &[]);
            let state = setup.state(tls.get_ref().1);
            lines = Lines {
                stream: Stream::Tls(Box::new(tls)),
                buf: Vec::new(),
                eof: false,
            };
            // The TLS families are registered once (blackbox_exporter would panic registering
            // them twice, with `tls: true` plus `starttls` or two `starttls` steps).
            if !tls_registered {
                state.register(reg);
                tls_registered = true;
            }
        }
    }
    true
}
