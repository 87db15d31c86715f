//! The ICMP prober: one echo request, waiting for its reply. Uses an unprivileged ICMP datagram
//! socket (`socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)`, allowed when the process's group is in
//! `net.ipv4.ping_group_range`) and falls back to a raw socket (root or `CAP_NET_RAW`). The
//! socket is non-blocking and driven by tokio's reactor; replies are matched by sequence number,
//! payload and (on raw sockets, where the kernel does not filter) identifier.

use std::io;
use std::mem;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Instant;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::time::{Instant as TokioInstant, timeout_at};

use crate::config::Module;
use crate::log::ProbeLog;
use crate::metrics::{Registry, names};
use crate::resolve::{choose_protocol, is_ipv4};

const PAYLOAD: &[u8] = b"Prometheus Blackbox Exporter";

/// The echo identifier: the pid, or a random value when running as pid 1 in a container (as
/// blackbox_exporter does).
fn icmp_id() -> u16 {
    static ID: OnceLock<u16> = OnceLock::new();
    *ID.get_or_init(|| {
        let pid = std::process::id();
        if pid == 1 {
            crate::net::random_u16()
        } else {
            (pid & 0xffff) as u16
        }
    })
}

fn next_sequence() -> u16 {
    static SEQ: OnceLock<AtomicU16> = OnceLock::new();
    SEQ.get_or_init(|| AtomicU16::new(crate::net::random_u16()))
        .fetch_add(1, Ordering::Relaxed)
        .wrapping_add(1)
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for chunk in data.chunks(2) {
        let word = match chunk {
            [a, b] => u16::from_be_bytes([*a, *b]),
            [a] => u16::from_be_bytes([*a, 0]),
            _ => 0,
        };
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn echo_request(v6: bool, id: u16, seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut pkt = Vec::with_capacity(8 + payload.len());
    pkt.push(if v6 { 128 } else { 8 });
    pkt.push(0);
    pkt.extend_from_slice(&[0, 0]);
    pkt.extend_from_slice(&id.to_be_bytes());
    pkt.extend_from_slice(&seq.to_be_bytes());
    pkt.extend_from_slice(payload);
    // The kernel computes ICMPv6 checksums itself (it needs the pseudo-header).
    if !v6 {
        let sum = checksum(&pkt);
        pkt[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    pkt
}

struct IcmpSocket {
    fd: AsyncFd<OwnedFd>,
    privileged: bool,
    v6: bool,
}

fn setsockopt_int(fd: &OwnedFd, level: libc::c_int, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: `fd` is an open socket; the option value is a c_int that lives for the call.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn to_sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero bytes are a valid `sockaddr_storage`.
    let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin) };
            mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin6) };
            mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

fn from_sockaddr(storage: &libc::sockaddr_storage) -> Option<IpAddr> {
    match i32::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in.
            let sin: libc::sockaddr_in =
                unsafe { std::ptr::read((storage as *const libc::sockaddr_storage).cast()) };
            Some(IpAddr::V4(Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes())))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let sin6: libc::sockaddr_in6 =
                unsafe { std::ptr::read((storage as *const libc::sockaddr_storage).cast()) };
            Some(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)))
        }
        _ => None,
    }
}

fn open_socket(domain: libc::c_int, kind: libc::c_int, proto: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2) call; the returned descriptor is checked and then owned.
    let fd = unsafe { libc::socket(domain, kind | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, proto) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a freshly opened descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

impl IcmpSocket {
    /// Opens an unprivileged socket, else a raw one; the error names both failures.
    fn open(v6: bool) -> Result<Self, String> {
        let (domain, proto) = if v6 {
            (libc::AF_INET6, libc::IPPROTO_ICMPV6)
        } else {
            (libc::AF_INET, libc::IPPROTO_ICMP)
        };
        let (fd, privileged) = match open_socket(domain, libc::SOCK_DGRAM, proto) {
            Ok(fd) => (fd, false),
            Err(dgram_err) => match open_socket(domain, libc::SOCK_RAW, proto) {
                Ok(fd) => (fd, true),
                Err(raw_err) => {
                    return Err(format!(
                        "cannot open an ICMP socket: unprivileged datagram socket: {dgram_err} (allow the \
                         process's group in net.ipv4.ping_group_range); raw socket: {raw_err} (needs root \
                         or CAP_NET_RAW)"
                    ));
                }
            },
        };
        // SAFETY: `fd` is an open socket owned by the AsyncFd for its whole life; OwnedFd
        // always returns that same descriptor.
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE | Interest::WRITABLE) }
            .map_err(|e| format!("register ICMP socket: {e}"))?;
        Ok(Self { fd, privileged, v6 })
    }

    fn raw(&self) -> &OwnedFd {
        self.fd.get_ref()
    }

    fn bind(&self, ip: IpAddr) -> io::Result<()> {
        let (addr, len) = to_sockaddr(SocketAddr::new(ip, 0));
        // SAFETY: `addr` is a valid sockaddr of `len` bytes for the call's duration.
        let rc = unsafe {
            libc::bind(
                self.raw().as_raw_fd(),
                (&addr as *const libc::sockaddr_storage).cast(),
                len,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    async fn send_to(&self, pkt: &[u8], dst: IpAddr) -> io::Result<()> {
        let (addr, len) = to_sockaddr(SocketAddr::new(dst, 0));
        self.fd
            .async_io(Interest::WRITABLE, |fd| {
                // SAFETY: `pkt` and `addr` are valid for the call's duration.
                let n = unsafe {
                    libc::sendto(
                        fd.as_raw_fd(),
                        pkt.as_ptr().cast(),
                        pkt.len(),
                        0,
                        (&addr as *const libc::sockaddr_storage).cast(),
                        len,
                    )
                };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(())
                }
            })
            .await
    }

    /// Receives one packet: (bytes, source, hop limit from the control message).
    async fn recv(&self, buf: &mut [u8]) -> io::Result<(usize, Option<IpAddr>, Option<u8>)> {
        self.fd
            .async_io(Interest::READABLE, |fd| {
                // SAFETY: every buffer handed to recvmsg lives on this stack frame or is `buf`,
                // and its lengths are the buffers' own; the control messages are read with the
                // libc CMSG_* helpers within `msg_controllen`.
                unsafe {
                    let mut name: libc::sockaddr_storage = mem::zeroed();
                    let mut control = [0u64; 16];
                    let mut iov = libc::iovec {
                        iov_base: buf.as_mut_ptr().cast(),
                        iov_len: buf.len(),
                    };
                    let mut msg: libc::msghdr = mem::zeroed();
                    msg.msg_name = (&mut name as *mut libc::sockaddr_storage).cast();
                    msg.msg_namelen = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
                    msg.msg_iov = &mut iov;
                    msg.msg_iovlen = 1;
                    msg.msg_control = control.as_mut_ptr().cast();
                    msg.msg_controllen = mem::size_of_val(&control) as _;
                    let n = libc::recvmsg(fd.as_raw_fd(), &mut msg, 0);
                    if n < 0 {
                        return Err(io::Error::last_os_error());
                    }
                    let mut hop = None;
                    let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
                    while !cmsg.is_null() {
                        let c = &*cmsg;
                        let is_ttl = (c.cmsg_level == libc::IPPROTO_IP && c.cmsg_type == libc::IP_TTL)
                            || (c.cmsg_level == libc::IPPROTO_IPV6 && c.cmsg_type == libc::IPV6_HOPLIMIT);
                        if is_ttl {
                            let value: libc::c_int = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                            hop = u8::try_from(value).ok();
                        }
                        cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
                    }
                    Ok((n as usize, from_sockaddr(&name), hop))
                }
            })
            .await
    }
}

pub async fn probe(
    target: &str,
    module: &Module,
    deadline: TokioInstant,
    reg: &mut Registry,
    log: &mut ProbeLog,
) -> bool {
    let cfg = &module.icmp;
    let durations = reg.gauge_vec(names::ICMP_DURATION, &["phase"]);
    for phase in ["resolve", "setup", "rtt"] {
        reg.touch(durations, &[phase]);
    }
    let resolved = choose_protocol(
        target,
        cfg.preferred_ip_protocol,
        cfg.ip_protocol_fallback,
        reg,
        log,
    )
    .await;
    let Some(dst) = resolved.ip else {
        log.error("Error resolving address", &[("err", &"resolution failed")]);
        return false;
    };
    reg.add_vec(durations, &["resolve"], resolved.lookup_seconds);
    let dst = match dst {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(dst, IpAddr::V4),
        v4 => v4,
    };
    let v6 = !is_ipv4(dst);
    let source: Option<IpAddr> = cfg.source_ip_address.parse().ok();
    if let Some(src) = source {
        log.info("Using source address", &[("srcIP", &src)]);
    }

    let setup_start = Instant::now();
    log.info("Creating socket", &[]);
    let socket = match IcmpSocket::open(v6) {
        Ok(s) => s,
        Err(reason) => {
            log.warn("Error listening to socket", &[("err", &reason)]);
            return false;
        }
    };
    let kind = if socket.privileged {
        "raw"
    } else {
        "unprivileged datagram"
    };
    log.info("Created ICMP socket", &[("kind", &kind)]);
    if let Some(src) = source
        && let Err(e) = socket.bind(src)
    {
        log.error(
            "Error listening to socket",
            &[("err", &format!("bind {src}: {e}"))],
        );
        return false;
    }
    let (level, ttl_opt, recv_opt) = if v6 {
        (
            libc::IPPROTO_IPV6,
            libc::IPV6_UNICAST_HOPS,
            libc::IPV6_RECVHOPLIMIT,
        )
    } else {
        (libc::IPPROTO_IP, libc::IP_TTL, libc::IP_RECVTTL)
    };
    if cfg.ttl > 0
        && let Err(e) = setsockopt_int(socket.raw(), level, ttl_opt, libc::c_int::from(cfg.ttl))
    {
        log.error("Error setting TTL", &[("err", &e)]);
        return false;
    }
    let hop_limit_available = match setsockopt_int(socket.raw(), level, recv_opt, 1) {
        Ok(()) => true,
        Err(e) => {
            log.debug("Failed to set Control Message for retrieving TTL", &[("err", &e)]);
            false
        }
    };
    if cfg.dont_fragment
        && !v6
        && let Err(e) = setsockopt_int(
            socket.raw(),
            libc::IPPROTO_IP,
            libc::IP_MTU_DISCOVER,
            libc::IP_PMTUDISC_DO,
        )
    {
        log.error("Error setting the don't fragment bit", &[("err", &e)]);
        return false;
    }

    let payload: Vec<u8> = if cfg.payload_size > 0 {
        let mut p = vec![0u8; cfg.payload_size];
        let n = PAYLOAD.len().min(p.len());
        p[..n].copy_from_slice(&PAYLOAD[..n]);
        p
    } else {
        PAYLOAD.to_vec()
    };
    let id = icmp_id();
    let seq = next_sequence();
    log.info("Creating ICMP packet", &[("seq", &seq), ("id", &id)]);
    let request = echo_request(v6, id, seq, &payload);
    reg.add_vec(durations, &["setup"], setup_start.elapsed().as_secs_f64());

    log.info("Writing out packet", &[]);
    let rtt_start = Instant::now();
    match timeout_at(deadline, socket.send_to(&request, dst)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            log.warn("Error writing to socket", &[("err", &e)]);
            return false;
        }
        Err(_) => {
            log.warn("Timeout writing to socket", &[]);
            return false;
        }
    }

    log.info("Waiting for reply packets", &[]);
    let reply_type = if v6 { 129 } else { 0 };
    let mut buf = vec![0u8; 65_536];
    let mut read_errors = 0;
    loop {
        let (n, peer, cmsg_hop) = match timeout_at(deadline, socket.recv(&mut buf)).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                log.error("Error reading from socket", &[("err", &e)]);
                // Errors queued on the socket (an ICMP error for an earlier packet) are
                // reported once each; a socket that keeps failing is given up on.
                read_errors += 1;
                if read_errors > 16 {
                    return false;
                }
                continue;
            }
            Err(_) => {
                log.error("Timeout reading from socket", &[("err", &"i/o timeout")]);
                return false;
            }
        };
        let mut packet = buf.get(..n).unwrap_or(&[]);
        let mut hop = cmsg_hop;
        // Raw IPv4 sockets hand over the IP header too.
        if socket.privileged && !socket.v6 {
            let Some(&first) = packet.first() else { continue };
            let header_len = usize::from(first & 0x0f) * 4;
            if header_len < 20 || packet.len() < header_len {
                continue;
            }
            if hop.is_none() {
                hop = packet.get(8).copied();
            }
            packet = &packet[header_len..];
        }
        if peer != Some(dst) || packet.len() < 8 {
            continue;
        }
        let (kind, code) = (packet[0], packet[1]);
        let reply_id = u16::from_be_bytes([packet[4], packet[5]]);
        let reply_seq = u16::from_be_bytes([packet[6], packet[7]]);
        // Unprivileged sockets get replies demultiplexed by the kernel, which also rewrites the
        // identifier: only raw sockets need to check it.
        let id_ok = !socket.privileged || reply_id == id;
        if kind != reply_type || code != 0 || reply_seq != seq || !id_ok || packet[8..] != payload[..] {
            continue;
        }
        reg.add_vec(durations, &["rtt"], rtt_start.elapsed().as_secs_f64());
        // The hop limit comes from the control message (when it could be enabled) or, on raw
        // IPv4 sockets, from the IP header.
        if let Some(h) = hop.filter(|_| hop_limit_available || socket.privileged) {
            let g = reg.gauge(names::ICMP_REPLY_HOP_LIMIT);
            reg.set(g, f64::from(h));
        }
        log.info("Found matching reply packet", &[]);
        return true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_of_echo_request_verifies() {
        let pkt = echo_request(false, 0x1234, 7, PAYLOAD);
        // A packet including its checksum sums to zero.
        assert_eq!(checksum(&pkt), 0);
        assert_eq!(pkt[0], 8);
        assert_eq!(&pkt[8..], PAYLOAD);
    }

    #[test]
    fn sockaddr_round_trip() {
        for ip in [IpAddr::from([127, 0, 0, 1]), IpAddr::V6(Ipv6Addr::LOCALHOST)] {
            let (storage, _) = to_sockaddr(SocketAddr::new(ip, 0));
            assert_eq!(from_sockaddr(&storage), Some(ip));
        }
    }
}
