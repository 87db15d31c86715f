//! The probers against real local servers (HTTP, HTTPS, TCP, DNS, ICMP to 127.0.0.1), the
//! `/probe` endpoint logic, and a comparison with the real blackbox_exporter. One test binary,
//! so the servers' code is compiled once.
#![allow(clippy::unwrap_used)]

mod common;
mod compare;
mod dns;
mod endpoint;
mod http;
mod icmp;
mod tcp;
