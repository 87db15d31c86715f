//! Black-box probes compatible with Prometheus's blackbox_exporter 0.23: its `blackbox.yml`
//! modules, its HTTP, TCP, DNS and ICMP probers, and its `/probe` endpoint semantics, producing
//! the same series (names, HELP texts, labels) in the Prometheus text format. This crate knows
//! nothing of the HTTP server that serves `/probe` nor of storage: [`handle_probe`] takes the
//! query string and the scrape-timeout header and returns status, content type and body.
//!
//! ```no_run
//! # async fn demo() -> Result<(), probe::Error> {
//! let modules = probe::Modules::parse(&std::fs::read_to_string("/etc/prometheus/blackbox.yml").unwrap_or_default())?;
//! let answer = probe::handle_probe("target=example.com:443&module=tcp_connect", Some("10"), &modules).await;
//! assert_eq!(answer.status, 200);
//! # Ok(()) }
//! ```
//!
//! # How the probers work
//!
//! - Name resolution follows blackbox's `chooseProtocol` (default preference `ip6`, falling back
//!   to the other family), using the system resolver on tokio's blocking pool.
//! - HTTP: each round trip is done by hand (TCP connect, rustls handshake, hyper's HTTP/1.1
//!   client on that connection), so the `resolve`, `connect`, `tls`, `processing` and
//!   `transfer` phases are measured where they happen, and the certificate chain and TLS
//!   version are available. Redirects (at most 10), the `Referer` header, a minimal cookie jar,
//!   `Connection: close`, gzip/deflate decompression and `body_size_limit` follow Go's client
//!   and blackbox.
//! - TCP: `query_response` reads lines like Go's `bufio.Scanner`, expands `${1}` references in
//!   `send`, and supports `starttls`.
//! - DNS: a hand-written encoder and parser ([`dns::wire`], fuzzed by `fuzz/fuzz_targets/dns.rs`);
//!   UDP, TCP or DNS over TLS. Records are matched in miekg/dns's text form.
//! - ICMP: an unprivileged ICMP datagram socket, else a raw socket; if neither opens, the probe
//!   fails and a `warn` log line says why.
//!
//! # Differences from blackbox_exporter 0.23
//!
//! `tests/probers/compare.rs` runs Debian's `prometheus-blackbox-exporter` 0.23 against the same
//! local targets and requires identical series sets (names, labels, HELP and TYPE lines) and
//! identical values for everything that does not depend on timing. It covers HTTP (200, 404,
//! redirect, redirect loop, no-follow, body and header regexes, gzip, chunked, `Last-Modified`,
//! POST, timeout, connection refused, unresolvable name, bad URL, IPv6 literal), HTTPS
//! (insecure, own CA, untrusted, CA-signed chain), TCP (plain, refused, no port, TLS,
//! `query_response` matching, failing at timeout and at EOF, STARTTLS), DNS (ANY, A with RR
//! regexes, SOA, NXDOMAIN, TCP, truncated, no answer, refused, unresolvable server) and ICMP.
//! No series difference remains. What still differs, and why:
//!
//! - The default `User-Agent` is `Pharos/<version> (blackbox_exporter compatible)` rather than
//!   `Blackbox Exporter/0.23.0` ([`USER_AGENT`]); a module's `headers` can set either.
//! - HTTP/2 is not negotiated (ALPN offers `http/1.1` only; the workspace has no HTTP/2 stack):
//!   against an HTTP/2-capable TLS server `probe_http_version` is `1.1` where blackbox says `2`.
//! - A truncated UDP DNS answer is retried over TCP, as resolvers do, where blackbox reports the
//!   empty truncated answer (`probe_dns_answer_rrs` differs; the TCP time is added to the
//!   `connect` and `request` phases).
//! - `probe_ssl_last_chain_expiry_timestamp_seconds` is computed along one chain (leaf, the
//!   presented intermediates that chain from it, the trusted root that issued the last one);
//!   Go takes the latest over every chain it can build, which only differs with cross-signed
//!   roots.
//! - DNS records print like miekg/dns for A, AAAA, NS, CNAME, PTR, DNAME, MX, SOA, TXT, SPF,
//!   HINFO, SRV and CAA; other types print in RFC 3597 form (`\# len hex`), so RR regular
//!   expressions written against miekg's form of, e.g., DNSKEY or NAPTR need adjusting. Query
//!   names are not IDNA-converted (ASCII names only).
//! - Rejected when the config is loaded (not implemented): `compression: br`, `oauth2`,
//!   `proxy_url`. `grpc` modules load, so blackbox's own example file does, but every probe of
//!   them fails with a log line. TLS 1.0 and 1.1 are not available (rustls); `min_version:
//!   TLS10`/`TLS11` are accepted and mean 1.2.
//! - `dont_fragment` is set with `IP_MTU_DISCOVER`, so it also works on unprivileged ICMP
//!   sockets (blackbox needs a raw socket for it); it is ignored for IPv6.
//! - Invalid `valid_rcodes` names and DNS RR regular expressions are load-time errors (blackbox
//!   fails each probe instead); a `dns:` section on a non-DNS module is not validated.
//! - The cookie jar keeps `name=value` per host, without paths, expiry or domain rules.
//! - The `debug=true` answer has the same three parts, but the log lines and the module YAML are
//!   this crate's own.

pub mod config;
mod date;
pub mod dns;
pub mod error;
mod handler;
mod http;
mod icmp;
mod log;
pub mod metrics;
mod net;
mod resolve;
mod tcp;
mod tls;
pub mod x509;

pub use config::{Module, Modules, ProberKind};
pub use error::{Error, Result};
pub use handler::{
    METRICS_CONTENT_TYPE, ProbeResponse, ProbeResult, TEXT_CONTENT_TYPE, TIMEOUT_OFFSET_SECONDS,
    effective_timeout, handle_probe, run_probe,
};
pub use http::USER_AGENT;
pub use metrics::Registry;
