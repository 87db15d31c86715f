//! The blackbox-style `/probe` endpoint of `pharos server`, scraped by Pharos itself with the usual
//! `__param_target` relabeling: probe results of an HTTP target that answers and of a port that
//! refuses are stored as blackbox_exporter's series. (Series-for-series parity with Debian's
//! blackbox_exporter is checked in `crates/probe/tests`.)

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::{Server, client, free_port, get_json};

fn http_target() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut s) = conn else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
        }
    });
    port
}

#[test]
fn probes_are_served_and_scraped_like_blackbox_exporter() {
    let dir = tempfile::tempdir().unwrap();
    let up = http_target();
    let closed = free_port();
    let port = free_port();
    let modules = dir.path().join("blackbox.yml");
    std::fs::write(
        &modules,
        "modules:\n  web:\n    prober: http\n    timeout: 2s\n    http:\n      preferred_ip_protocol: ip4\n      fail_if_body_not_matches_regexp: [hello]\n",
    )
    .unwrap();
    let cfg = dir.path().join("pharos.yml");
    std::fs::write(
        &cfg,
        format!(
            "probe:\n  config_file: {}\nscrape_configs:\n  - job_name: blackbox\n    scrape_interval: 1s\n    scrape_timeout: 1s\n\
             \x20   metrics_path: /probe\n    params: {{module: [web]}}\n\
             \x20   static_configs: [{{targets: ['http://127.0.0.1:{up}/', 'http://127.0.0.1:{closed}/']}}]\n\
             \x20   relabel_configs:\n\
             \x20     - {{source_labels: [__address__], target_label: __param_target}}\n\
             \x20     - {{source_labels: [__param_target], target_label: instance}}\n\
             \x20     - {{target_label: __address__, replacement: '127.0.0.1:{port}'}}\n",
            modules.display()
        ),
    )
    .unwrap();
    let listen = format!("127.0.0.1:{port}");
    let s = Server::start(
        &dir.path().join("d"),
        &["--listen", &listen, "--config", cfg.to_str().unwrap()],
    );
    let c = client();

    // Straight requests answer as blackbox_exporter does.
    let r = c.get(s.url("/probe")).query(&[("module", "web")]).send().unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.text().unwrap(), "Target parameter is missing\n");
    let r = c
        .get(s.url("/probe"))
        .query(&[("target", "x"), ("module", "nope")])
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.text().unwrap(), "Unknown module \"nope\"\n");

    let query = |q: &str| -> Vec<(String, String)> {
        let (code, v) = get_json(&c, &s.url("/api/v1/query"), &[("query", q)]);
        assert_eq!(code, 200, "{v}");
        let mut out: Vec<(String, String)> = v["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["metric"]["instance"].as_str().unwrap_or_default().to_string(),
                    r["value"][1].as_str().unwrap().to_string(),
                )
            })
            .collect();
        out.sort();
        out
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while query("probe_success").len() < 2 {
        assert!(
            Instant::now() < deadline,
            "probes were not scraped: {:?}",
            query("up")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (good, bad) = (
        format!("http://127.0.0.1:{up}/"),
        format!("http://127.0.0.1:{closed}/"),
    );
    let mut want = vec![(good.clone(), "1".to_string()), (bad.clone(), "0".to_string())];
    want.sort();
    assert_eq!(query("probe_success"), want);
    assert_eq!(query("probe_http_status_code"), {
        let mut w = vec![(good.clone(), "200".to_string()), (bad.clone(), "0".to_string())];
        w.sort();
        w
    });
    assert_eq!(query("probe_failed_due_to_regex"), {
        let mut w = vec![(good.clone(), "0".to_string()), (bad.clone(), "0".to_string())];
        w.sort();
        w
    });
    assert_eq!(query("count(probe_http_duration_seconds) by (instance)").len(), 2);
    // The scrape itself succeeds even when the probe fails, as with blackbox_exporter.
    assert_eq!(
        query("up{job=\"blackbox\"}")
            .iter()
            .filter(|(_, v)| v == "1")
            .count(),
        2
    );
}
