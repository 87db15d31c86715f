//! Noticing a target's process going away between scrapes. After a successful scrape of a target
//! that keeps connections alive, its loop holds one idle TCP connection to it and sends nothing.
//! When the process exits, its kernel closes that connection at once; the loop then scrapes right
//! away instead of at its next slot, so a target that dies is seen as down in milliseconds rather
//! than up to an interval later. A server that merely closes idle connections is told apart by
//! connecting again: it accepts, a dead one refuses. Each watch makes at most [`CONNECTS`]
//! connections, and a watch starts only after a successful scheduled scrape, so a target sees at
//! most that many extra connections per interval and at most one extra scrape.

use std::time::{Duration, Instant};

use tokio::net::TcpStream;

/// Connections one watch may open before it gives up until the next scrape.
pub(crate) const CONNECTS: usize = 3;

/// How a watch ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The target closed the watched connection and then refused (or did not answer) a new one:
    /// scrape now. The text says why, for the log.
    Gone(String),
    /// Nothing to conclude: the server keeps closing idle connections while accepting new ones,
    /// or talks first (not an HTTP server). Watching stops until the next scrape.
    Quiet(&'static str),
}

/// The host and port a scrape URL connects to: `None` for what is not `http` or `https`.
pub(crate) fn endpoint(url: &str) -> Option<(String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let default_port = match scheme {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = host_port.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None if after.is_empty() => default_port,
            None => return None,
        };
        return Some((host.to_string(), port));
    }
    match host_port.rsplit_once(':') {
        Some((host, port)) => Some((host.to_string(), port.parse().ok()?)),
        None if !host_port.is_empty() => Some((host_port.to_string(), default_port)),
        None => None,
    }
}

/// Watches `host:port` until it looks gone or the watch gives up. Cancel it by dropping it, which
/// closes the connection (the loop does so before each scrape, so that a server handling one
/// connection at a time is never kept from serving the scrape by the watch).
pub(crate) async fn watch(host: String, port: u16, connect_timeout: Duration) -> Verdict {
    for _ in 0..CONNECTS {
        let connect = TcpStream::connect((host.as_str(), port));
        let conn = match tokio::time::timeout(connect_timeout, connect).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return Verdict::Gone(format!("connecting again: {e}")),
            Err(_) => return Verdict::Gone("connecting again timed out".to_string()),
        };
        let opened = Instant::now();
        if talks_first(&conn).await {
            return Verdict::Quiet("the target sent data unasked");
        }
        // Closed (or reset) by the other side: connect again to tell a dying process from a
        // server closing idle connections.
        tracing::trace!(
            host = %host,
            port,
            held_ms = opened.elapsed().as_millis() as u64,
            "watched connection closed by the target"
        );
    }
    Verdict::Quiet("the target keeps closing idle connections")
}

/// Waits until the connection is closed (false) or the other side sends something (true).
async fn talks_first(conn: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    loop {
        if conn.readable().await.is_err() {
            return false;
        }
        match conn.try_read(&mut byte) {
            Ok(0) => return false,
            Ok(_) => return true,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_of_scrape_urls() {
        let e = |u: &str| endpoint(u);
        assert_eq!(e("http://10.0.0.1:9100/metrics"), Some(("10.0.0.1".into(), 9100)));
        assert_eq!(
            e("https://host.example/metrics?x=1"),
            Some(("host.example".into(), 443))
        );
        assert_eq!(e("http://host.example"), Some(("host.example".into(), 80)));
        assert_eq!(e("http://u:p@h:81/m"), Some(("h".into(), 81)));
        assert_eq!(e("http://[::1]:9100/metrics"), Some(("::1".into(), 9100)));
        assert_eq!(e("http://[::1]/metrics"), Some(("::1".into(), 80)));
        assert_eq!(e("http://[::1]x/metrics"), None);
        assert_eq!(e("http://h:notaport/"), None);
        assert_eq!(e("ftp://h:21/"), None);
        assert_eq!(e("http:///m"), None);
    }

    #[tokio::test]
    async fn a_server_that_exits_is_gone() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let w = tokio::spawn(watch("127.0.0.1".into(), port, Duration::from_secs(2)));
        let (conn, _) = l.accept().await.unwrap();
        // The process "exits": its connection and its listener close.
        drop(l);
        drop(conn);
        let v = tokio::time::timeout(Duration::from_secs(5), w)
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(v, Verdict::Gone(_)), "{v:?}");
    }

    #[tokio::test]
    async fn a_server_closing_idle_connections_is_not_gone() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let w = tokio::spawn(watch("127.0.0.1".into(), port, Duration::from_secs(2)));
        for _ in 0..CONNECTS {
            let (conn, _) = l.accept().await.unwrap();
            drop(conn);
        }
        let v = tokio::time::timeout(Duration::from_secs(5), w)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(v, Verdict::Quiet("the target keeps closing idle connections"));
        // And it stopped connecting.
        let more = tokio::time::timeout(Duration::from_millis(200), l.accept()).await;
        assert!(more.is_err(), "a fourth connection");
    }

    #[tokio::test]
    async fn a_server_that_talks_first_is_left_alone() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let w = tokio::spawn(watch("127.0.0.1".into(), port, Duration::from_secs(2)));
        let (mut conn, _) = l.accept().await.unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut conn, b"220 hello\r\n")
            .await
            .unwrap();
        let v = tokio::time::timeout(Duration::from_secs(5), w)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(v, Verdict::Quiet("the target sent data unasked"));
    }

    #[tokio::test]
    async fn an_idle_connection_is_held_while_the_server_lives() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let w = tokio::spawn(watch("127.0.0.1".into(), port, Duration::from_secs(2)));
        let (_conn, _) = l.accept().await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!w.is_finished());
        w.abort();
    }
}
