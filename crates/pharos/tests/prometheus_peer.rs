//! A real Prometheus (Debian's package) scrapes itself and Pharos and remote-writes everything to
//! Pharos. Every sample in Prometheus's own storage over a window must be in Pharos, bit for bit,
//! including when Pharos is killed with SIGKILL mid-stream and restarted.

#![allow(clippy::unwrap_used)] // tests unwrap freely: a failure is the assertion

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

type SeriesKey = BTreeMap<String, String>;

/// Starts Prometheus scraping itself and Pharos every second and remote-writing to Pharos.
fn start_prometheus(bin: &str, dir: &Path, pharos_addr: &str) -> Prom {
    // Prometheus scrapes itself, so its port goes into its config before it starts.
    let port = free_port();
    let config = format!(
        "global:\n  scrape_interval: 1s\n\
         scrape_configs:\n  - job_name: prometheus\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n\
         \x20 - job_name: pharos\n    static_configs: [{{targets: ['{pharos_addr}']}}]\n\
         remote_write:\n  - url: http://{pharos_addr}/api/v1/write\n    \
         queue_config: {{batch_send_deadline: 500ms, min_backoff: 100ms, max_backoff: 1s}}\n"
    );
    let prom = Prom::start(bin, dir, port, &config, &[]);
    wait_for_scrapes(&prom, 5.0);
    prom
}

/// Waits until Prometheus has scraped itself at least `n` times in the last minute.
fn wait_for_scrapes(prom: &Prom, n: f64) {
    let c = client();
    let started = Instant::now();
    loop {
        let r: Option<Value> = c
            .get(format!("{}/api/v1/query", prom.url))
            .query(&[("query", r#"count_over_time(up{job="prometheus"}[1m])"#)])
            .send()
            .ok()
            .and_then(|r| r.json().ok());
        let scrapes = r
            .as_ref()
            .and_then(|v| v["data"]["result"][0]["value"][1].as_str())
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(0.0);
        if scrapes >= n {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "Prometheus did not scrape: {r:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn now_s() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Compares every sample Prometheus stored in the range `window` ending 3 s ago with Pharos's export,
/// retrying until they agree or `wait` passes. Returns how many samples were compared.
fn compare(prom: &Prom, pharos: &Server, window: &str, wait: Duration) -> usize {
    let c = client();
    let at = now_s() - 3.0;
    let v: Value = c
        .get(format!("{}/api/v1/query", prom.url))
        .query(&[
            ("query", format!(r#"{{__name__=~".+"}}[{window}]"#)),
            ("time", format!("{at:.3}")),
        ])
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(v["status"], "success", "{v}");
    let mut prom_samples: BTreeMap<SeriesKey, Vec<(i64, f64)>> = BTreeMap::new();
    for s in v["data"]["result"].as_array().unwrap() {
        let key: SeriesKey = s["metric"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        let samples = s["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    (p[0].as_f64().unwrap() * 1000.0).round() as i64,
                    p[1].as_str().unwrap().parse::<f64>().unwrap(),
                )
            })
            .collect();
        prom_samples.insert(key, samples);
    }
    assert!(
        prom_samples.len() > 100,
        "Prometheus has too little: {} series",
        prom_samples.len()
    );
    let deadline = Instant::now() + wait;
    loop {
        let mut pharos_samples: BTreeMap<SeriesKey, BTreeMap<i64, Value>> = BTreeMap::new();
        for e in export(&c, pharos, r#"{__name__=~".+"}"#) {
            let key: SeriesKey = e
                .metric
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect();
            pharos_samples.insert(key, e.timestamps.into_iter().zip(e.values).collect());
        }
        let mut missing = Vec::new();
        let mut compared = 0;
        for (key, samples) in &prom_samples {
            for (t, v) in samples {
                let got = pharos_samples.get(key).and_then(|m| m.get(t));
                let same = match got {
                    Some(Value::Number(n)) => n.as_f64().unwrap().to_bits() == v.to_bits(),
                    Some(Value::String(s)) => {
                        (s == "NaN" && v.is_nan()) || (s == "+Inf" && *v == f64::INFINITY)
                    }
                    _ => false,
                };
                if same {
                    compared += 1;
                } else {
                    missing.push(format!("{key:?} t={t} v={v} pharos={got:?}"));
                }
            }
        }
        if missing.is_empty() {
            println!(
                "{compared} samples of {} series identical in Prometheus and Pharos",
                prom_samples.len()
            );
            return compared;
        }
        assert!(
            Instant::now() < deadline,
            "{} samples differ, first: {}",
            missing.len(),
            missing[..missing.len().min(5)].join("\n")
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn prometheus_remote_write_lands_bit_for_bit() {
    let Some(bin) = prometheus_binary() else { return };
    let dir = tempfile::tempdir().unwrap();
    let pharos = Server::start(&dir.path().join("pharos"), &[]);
    let prom = start_prometheus(bin, dir.path(), &pharos.addr);
    compare(&prom, &pharos, "5s", Duration::from_secs(20));
}

#[test]
fn prometheus_stream_survives_kill9_of_pharos() {
    let Some(bin) = prometheus_binary() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("pharos");
    let addr = format!("127.0.0.1:{}", free_port());
    let pharos = Server::start(&data, &["--listen", &addr]);
    let prom = start_prometheus(bin, dir.path(), &pharos.addr);
    // Mid-stream: Prometheus ships a batch every 500 ms.
    std::thread::sleep(Duration::from_millis(2300));
    pharos.kill9();
    // Down for a few seconds: Prometheus retries from its WAL position.
    std::thread::sleep(Duration::from_secs(3));
    let pharos = Server::start(&data, &["--listen", &addr]);
    wait_for_scrapes(&prom, 15.0);
    // Everything Prometheus scraped across the outage arrives; nothing differs.
    let n = compare(&prom, &pharos, "15s", Duration::from_secs(60));
    assert!(n > 1000, "too few samples compared: {n}");
}
