//! `pharos agent` end to end: it scrapes a local target and its host collector and pushes by
//! remote write to a real `pharos server`. The server is stopped for a while (`kill -9`) and started
//! again: every sample the agent produced, buffered on disk meanwhile, arrives exactly once.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use common::{Server, client, export, free_port, get_json};

const SERIES: u64 = 20;

/// A target whose counters count its scrapes: scrape n exposes value n on every series. Once
/// `closed` is set it answers 503, so the count stops.
fn counting_target() -> (u16, Arc<AtomicU64>, Arc<AtomicBool>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let served = Arc::new(AtomicU64::new(0));
    let closed = Arc::new(AtomicBool::new(false));
    let (count, shut) = (served.clone(), closed.clone());
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut s) = conn else { continue };
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            if shut.load(Ordering::SeqCst) {
                let _ = s.write_all(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                continue;
            }
            let n = count.fetch_add(1, Ordering::SeqCst) + 1;
            let mut body = String::from("# TYPE work_done_total counter\n");
            for i in 0..SERIES {
                body.push_str(&format!("work_done_total{{worker=\"{i}\"}} {n}\n"));
            }
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(body.as_bytes());
        }
    });
    (port, served, closed)
}

struct Agent {
    child: Child,
    url: String,
    log: std::path::PathBuf,
}

impl Agent {
    fn start(dir: &Path, config: &Path) -> Agent {
        let port = free_port();
        let log = dir.join("agent.log");
        let child = Command::new(env!("CARGO_BIN_EXE_pharos"))
            .args(["agent", "--listen", &format!("127.0.0.1:{port}"), "--config"])
            .arg(config)
            .arg("--data-dir")
            .arg(dir.join("agent"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        common::wait_http(&format!("{url}/-/ready"));
        Agent { child, url, log }
    }

    fn metric(&self, name: &str) -> f64 {
        let text = client()
            .get(format!("{}/metrics", self.url))
            .send()
            .unwrap()
            .text()
            .unwrap();
        text.lines()
            .filter(|l| l.starts_with(name))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    fn terminate(mut self) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let status = self.child.wait().unwrap();
        assert!(
            status.success(),
            "agent exit: {status}; log:\n{}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How long the server is down: `PHAROS_AGENT_OUTAGE_SECONDS`, 30 s unless set.
fn outage() -> Duration {
    Duration::from_secs(
        std::env::var("PHAROS_AGENT_OUTAGE_SECONDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(30),
    )
}

#[test]
fn every_sample_arrives_exactly_once_across_a_server_outage() {
    let dir = tempfile::tempdir().unwrap();
    let (target, served, closed) = counting_target();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let data = dir.path().join("server");
    let server = Server::start(&data, &["--listen", &listen]);
    let config = dir.path().join("agent.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  external_labels: {{site: test}}\n\
             host_metrics:\n  scrape_interval: 2s\n\
             scrape_configs:\n  - job_name: work\n    static_configs:\n      - targets: ['127.0.0.1:{target}']\n\
             remote_write:\n  - url: http://{listen}/api/v1/write\n    queue_config: {{batch_send_deadline: 500ms, min_backoff: 100ms, max_backoff: 1s}}\n"
        ),
    )
    .unwrap();
    let agent = Agent::start(dir.path(), &config);
    std::thread::sleep(Duration::from_secs(4));

    // The receiver disappears without a word, for a while.
    server.kill9();
    let down = outage();
    eprintln!("server down for {}s", down.as_secs());
    std::thread::sleep(down);
    assert!(
        agent.metric("pharos_agent_remote_samples_retried_total") > 0.0,
        "the agent retried through the outage"
    );
    let server = Server::start(&data, &["--listen", &listen]);
    std::thread::sleep(Duration::from_secs(3));
    // Freeze the count (scrapes fail from now on), let a scrape in flight finish, then stop the
    // agent, which sends what it still holds.
    closed.store(true, Ordering::SeqCst);
    std::thread::sleep(Duration::from_secs(2));
    agent.terminate();
    let scrapes = served.load(Ordering::SeqCst);
    assert!(
        scrapes as f64 >= down.as_secs_f64(),
        "the target was scraped through the outage ({scrapes} scrapes)"
    );

    // Every scrape's samples are there, once: values 1..=n in time order, for every series.
    let c = client();
    let work = export(&c, &server, "work_done_total");
    assert_eq!(
        work.len() as u64,
        SERIES,
        "{:?}",
        work.iter().map(|e| &e.metric).collect::<Vec<_>>()
    );
    for e in &work {
        assert_eq!(e.metric["site"], "test", "external labels are added");
        // The failed scrapes at the end mark the series stale (NaN); the rest counts 1, 2, 3, ...
        let values: Vec<u64> = e
            .values
            .iter()
            .filter_map(|v| v.as_f64())
            .map(|v| v as u64)
            .collect();
        let stale = e.values.len() - values.len();
        assert!(
            stale <= 1,
            "{:?}: {stale} staleness markers: {:?}",
            e.metric,
            e.values
        );
        let want: Vec<u64> = (1..=scrapes).collect();
        assert_eq!(values, want, "{:?}: samples missing or repeated", e.metric);
        assert!(e.timestamps.windows(2).all(|w| w[0] < w[1]));
    }
    let up = export(&c, &server, "up{job=\"work\"}");
    let ups = up[0].values.iter().filter(|v| v.as_f64() == Some(1.0)).count() as u64;
    assert_eq!(ups, scrapes, "one up=1 sample per successful scrape");
    // The host collector's series came through the outage too.
    let (code, v) = get_json(
        &c,
        &server.url("/api/v1/query"),
        &[("query", "count(count_over_time(node_load1[10m]))")],
    );
    assert_eq!(code, 200);
    assert_eq!(v["data"]["result"][0]["value"][1], "1", "{v}");
    let load = export(&c, &server, "node_load1");
    let span = (load[0].timestamps.last().unwrap() - load[0].timestamps[0]) as f64 / 1000.0;
    let expected = span / 2.0 + 1.0;
    assert!(
        (load[0].timestamps.len() as f64) >= expected - 1.0,
        "host samples every 2 s over {span} s: {} samples",
        load[0].timestamps.len()
    );
}
