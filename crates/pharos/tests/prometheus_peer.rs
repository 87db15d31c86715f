//! A real Prometheus (Debian's package) scrapes itself and Pharos and remote-writes everything to
//! Pharos. Every sample in Prometheus's own storage over a window must be in Pharos, bit for bit.

#![allow(clippy::unwrap_used)] // tests unwrap freely: a failure is the assertion

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn prometheus_binary() -> Option<&'static str> {
    let ok = Command::new("prometheus")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if ok.is_ok_and(|s| s.success()) {
        return Some("prometheus");
    }
    assert!(
        !peers_required(),
        "PHAROS_REQUIRE_PEERS=1 but Debian's prometheus is not installed"
    );
    eprintln!(
        "NOTICE: prometheus not installed; skipping the real-Prometheus remote-write test (the test command installs it)"
    );
    None
}

type SeriesKey = BTreeMap<String, String>;

#[test]
fn prometheus_remote_write_lands_bit_for_bit() {
    let Some(bin) = prometheus_binary() else { return };
    let dir = tempfile::tempdir().unwrap();
    let pharos = Server::start(&dir.path().join("pharos"), &[]);
    let port = free_port();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: prometheus\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n  - job_name: pharos\n    static_configs: [{{targets: ['{}']}}]\nremote_write:\n  - url: {}\n    queue_config: {{batch_send_deadline: 500ms, min_backoff: 100ms}}\n",
            pharos.addr,
            pharos.url("/api/v1/write")
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
    let mut prom = Command::new(bin)
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("prom-data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let c = client();
    let purl = format!("http://127.0.0.1:{port}");
    // Let Prometheus scrape a few times.
    let started = Instant::now();
    loop {
        let r: Option<Value> = c
            .get(format!("{purl}/api/v1/query"))
            .query(&[("query", "count_over_time(up[1m])")])
            .send()
            .ok()
            .and_then(|r| r.json().ok());
        let scrapes = r
            .as_ref()
            .and_then(|v| v["data"]["result"][0]["value"][1].as_str())
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(0.0);
        if scrapes >= 5.0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "Prometheus did not scrape: {r:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        - 3.0;
    // Wait until Pharos has the newest sample Prometheus had at `at`.
    let query = |q: &str| -> Value {
        c.get(format!("{purl}/api/v1/query"))
            .query(&[("query", q), ("time", &format!("{at:.3}"))])
            .send()
            .unwrap()
            .json()
            .unwrap()
    };
    let window = r#"{__name__=~".+"}[5s]"#;
    let mut prom_samples: BTreeMap<SeriesKey, Vec<(i64, f64)>> = BTreeMap::new();
    let v = query(window);
    assert_eq!(v["status"], "success", "{v}");
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
    if prom_samples.len() < 100 {
        let _ = prom.kill();
        let log = std::fs::read_to_string(dir.path().join("prometheus.log")).unwrap_or_default();
        panic!(
            "Prometheus scraped too little: {} series; answer {v}; its log:\n{log}",
            prom_samples.len()
        );
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = export(&c, &pharos, r#"{__name__=~".+"}"#);
        let mut pharos_samples: BTreeMap<SeriesKey, BTreeMap<i64, Value>> = BTreeMap::new();
        for e in got {
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
            break;
        }
        if Instant::now() > deadline {
            let _ = prom.kill();
            panic!(
                "{} samples differ, first: {}",
                missing.len(),
                missing[..missing.len().min(5)].join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let _ = prom.kill();
    let _ = prom.wait();
}
