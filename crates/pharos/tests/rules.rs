//! Rules in the real server: rule files from the config, evaluation on schedule, recorded series and
//! `ALERTS` in storage, `/api/v1/rules` and `/api/v1/alerts` in Prometheus's shape, reload, and the
//! `for` state of a pending alert restored after `kill -9` as Prometheus restores it.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Server, client, free_port, get_json};
use serde_json::Value;

const RULES_V1: &str = r#"
groups:
  - name: main
    interval: 1s
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
      - alert: AlwaysFiring
        expr: vector(1) * 7
        labels:
          severity: P3
        annotations:
          summary: 'value {{ $value }} at {{ $externalURL }}'
      - alert: PendingLong
        expr: 'up{job="self"} == 1'
        for: 20m
        labels:
          severity: '{{ if eq $labels.job "self" }}P2{{ else }}P3{{ end }}'
"#;

const RULES_V2: &str = r#"
groups:
  - name: main
    interval: 1s
    rules:
      - record: job:up:count
        expr: count by (job) (up)
      - alert: PendingLong
        expr: 'up{job="self"} == 1'
        for: 20m
        labels:
          severity: '{{ if eq $labels.job "self" }}P2{{ else }}P3{{ end }}'
"#;

fn config(port: u16) -> String {
    format!(
        r#"
global:
  scrape_interval: 1s
  evaluation_interval: 1s
  external_labels:
    region: test-1
rule_files:
  - rules/*.yml
scrape_configs:
  - job_name: self
    static_configs:
      - targets: ['127.0.0.1:{port}']
"#
    )
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<Value>) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn query(c: &reqwest::blocking::Client, s: &Server, q: &str) -> Vec<Value> {
    let (status, v) = get_json(c, &s.url("/api/v1/query"), &[("query", q)]);
    assert_eq!(status, 200, "{v}");
    v["data"]["result"].as_array().cloned().unwrap_or_default()
}

fn alert<'a>(alerts: &'a [Value], name: &str) -> Option<&'a Value> {
    alerts.iter().find(|a| a["labels"]["alertname"] == name)
}

#[test]
fn rules_evaluate_record_alert_reload_and_restore() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    std::fs::create_dir(dir.path().join("rules")).unwrap();
    std::fs::write(dir.path().join("rules/main.yml"), RULES_V1).unwrap();
    let cfg = dir.path().join("pharos.yml");
    std::fs::write(&cfg, config(port)).unwrap();
    let data = dir.path().join("data");
    let listen = format!("127.0.0.1:{port}");
    let args = [
        "--config",
        cfg.to_str().unwrap(),
        "--listen",
        listen.as_str(),
        "--wal-fsync",
        "always",
    ];
    let s = Server::start(&data, &args);
    let c = client();

    // The recording rule writes job:up:sum once the self-scrape has run.
    wait_for("job:up:sum", Duration::from_secs(20), || {
        let r = query(&c, &s, "job:up:sum");
        (r.len() == 1 && r[0]["value"][1] == "1").then(|| r[0].clone())
    });

    // /api/v1/rules in Prometheus's shape.
    let groups = wait_for("rules with two evaluations", Duration::from_secs(20), || {
        let (_, v) = get_json(&c, &s.url("/api/v1/rules"), &[]);
        let g = v["data"]["groups"].as_array()?.first()?.clone();
        let ok = g["rules"].as_array()?.iter().all(|r| r["health"] == "ok");
        ok.then_some(v)
    });
    let g = &groups["data"]["groups"][0];
    assert_eq!(g["name"], "main");
    assert!(g["file"].as_str().unwrap().ends_with("rules/main.yml"), "{g}");
    assert_eq!(g["interval"], 1.0);
    let rules = g["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 3);
    assert_eq!(rules[0]["type"], "recording");
    assert_eq!(rules[0]["name"], "job:up:sum");
    assert_eq!(rules[0]["query"], "sum by (job) (up)");
    assert_eq!(rules[1]["type"], "alerting");
    assert_eq!(rules[1]["state"], "firing");
    assert_eq!(rules[1]["duration"], 0.0);
    assert_eq!(rules[1]["labels"]["severity"], "P3");
    assert_eq!(rules[2]["state"], "pending");
    assert_eq!(rules[2]["duration"], 1200.0);
    assert_ne!(rules[0]["lastEvaluation"], "0001-01-01T00:00:00Z");
    let firing = &rules[1]["alerts"][0];
    assert_eq!(firing["value"], "7e+00");
    assert_eq!(
        firing["annotations"]["summary"],
        format!("value 7 at http://127.0.0.1:{port}")
    );
    // Filters.
    let (_, only_rec) = get_json(&c, &s.url("/api/v1/rules"), &[("type", "record")]);
    assert_eq!(
        only_rec["data"]["groups"][0]["rules"].as_array().unwrap().len(),
        1
    );
    let (status, bad) = get_json(&c, &s.url("/api/v1/rules"), &[("type", "nope")]);
    assert_eq!(status, 400, "{bad}");

    // /api/v1/alerts: the firing and the pending alert, with templated labels.
    let (_, v) = get_json(&c, &s.url("/api/v1/alerts"), &[]);
    let alerts = v["data"]["alerts"].as_array().unwrap().clone();
    assert_eq!(alert(&alerts, "AlwaysFiring").unwrap()["state"], "firing");
    let pending = alert(&alerts, "PendingLong").unwrap().clone();
    assert_eq!(pending["state"], "pending");
    assert_eq!(pending["labels"]["severity"], "P2");
    assert_eq!(pending["labels"]["instance"], format!("127.0.0.1:{port}"));

    // ALERTS and ALERTS_FOR_STATE are stored.
    wait_for("ALERTS", Duration::from_secs(10), || {
        let r = query(
            &c,
            &s,
            r#"ALERTS{alertname="AlwaysFiring",alertstate="firing",severity="P3"}"#,
        );
        (r.len() == 1).then_some(Value::Null)
    });
    let fs = wait_for("ALERTS_FOR_STATE", Duration::from_secs(10), || {
        let r = query(&c, &s, r#"ALERTS_FOR_STATE{alertname="PendingLong"}"#);
        (r.len() == 1).then(|| r[0].clone())
    });
    let active_at: f64 = fs["value"][1].as_str().unwrap().parse().unwrap();
    assert!(active_at > 1.6e9, "{fs}");

    // Reload: AlwaysFiring and job:up:sum go away (the recorded series gets a staleness marker),
    // job:up:count appears, PendingLong keeps its state.
    std::fs::write(dir.path().join("rules/main.yml"), RULES_V2).unwrap();
    let r = c.post(s.url("/-/reload")).send().unwrap();
    assert!(r.status().is_success(), "{}", r.text().unwrap());
    wait_for("job:up:count", Duration::from_secs(20), || {
        let r = query(&c, &s, "job:up:count");
        (r.len() == 1).then_some(Value::Null)
    });
    wait_for("job:up:sum to go stale", Duration::from_secs(20), || {
        query(&c, &s, "job:up:sum").is_empty().then_some(Value::Null)
    });
    let (_, v) = get_json(&c, &s.url("/api/v1/alerts"), &[]);
    let alerts = v["data"]["alerts"].as_array().unwrap().clone();
    assert!(alert(&alerts, "AlwaysFiring").is_none(), "{v}");
    assert_eq!(
        alert(&alerts, "PendingLong").unwrap()["activeAt"],
        pending["activeAt"]
    );

    // An invalid rule file is refused by reload; the running rules stay.
    std::fs::write(
        dir.path().join("rules/main.yml"),
        "groups:\n  - name: x\n    rules:\n      - record: y\n        expr: sum(\n",
    )
    .unwrap();
    let r = c.post(s.url("/-/reload")).send().unwrap();
    assert!(!r.status().is_success());
    let body = r.text().unwrap();
    assert!(body.contains("could not parse expression"), "{body}");
    std::fs::write(dir.path().join("rules/main.yml"), RULES_V2).unwrap();

    // Crash while PendingLong is pending: after restart its time spent pending still counts. As in
    // Prometheus, the active time moves forward by the time the server was down.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        query(&c, &s, r#"ALERTS_FOR_STATE{alertname="PendingLong"}"#).len(),
        1
    );
    s.kill9();
    let down = Instant::now();
    std::thread::sleep(Duration::from_secs(4));
    let restarted = common::now_ms() as f64 / 1000.0;
    let s = Server::start(&data, &args);
    let restored = wait_for("restored PendingLong", Duration::from_secs(20), || {
        let (_, v) = get_json(&c, &s.url("/api/v1/alerts"), &[]);
        let alerts = v["data"]["alerts"].as_array()?.clone();
        let a = alert(&alerts, "PendingLong")?.clone();
        // Restored once ALERTS_FOR_STATE is written again after the restart.
        let r = query(&c, &s, r#"timestamp(ALERTS_FOR_STATE{alertname="PendingLong"})"#);
        let written: f64 = r.first()?["value"][1].as_str()?.parse().ok()?;
        let fresh = written > restarted;
        fresh.then_some(a)
    });
    let downtime = down.elapsed().as_secs_f64();
    let new_active: f64 = query(&c, &s, r#"ALERTS_FOR_STATE{alertname="PendingLong"}"#)[0]["value"][1]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let shift = new_active - active_at;
    assert!(
        shift >= 3.0 && shift <= downtime + 3.0,
        "active time moved by {shift}s for a downtime of about {downtime}s: {restored}"
    );
    assert_eq!(restored["state"], "pending");
    s.terminate();
}

/// A target found down is evaluated at once: with a one-hour evaluation interval the alert still
/// shows within seconds of the failed scrape.
#[test]
fn a_failed_scrape_triggers_evaluation() {
    let dir = tempfile::tempdir().unwrap();
    let dead = free_port();
    std::fs::write(
        dir.path().join("rules.yml"),
        "groups:\n  - name: down\n    rules:\n      - alert: TargetDown\n        expr: up == 0\n",
    )
    .unwrap();
    let cfg = dir.path().join("pharos.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1h\nrule_files: [rules.yml]\nscrape_configs:\n  - job_name: dead\n    static_configs:\n      - targets: ['127.0.0.1:{dead}']\n"
        ),
    )
    .unwrap();
    let s = Server::start(&dir.path().join("data"), &["--config", cfg.to_str().unwrap()]);
    let c = client();
    let started = Instant::now();
    wait_for("the alert", Duration::from_secs(20), || {
        let (_, v) = get_json(&c, &s.url("/api/v1/alerts"), &[]);
        let alerts = v["data"]["alerts"].as_array()?.clone();
        alert(&alerts, "TargetDown").cloned()
    });
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}; the scheduled evaluation is up to an hour away",
        started.elapsed()
    );
    s.terminate();
}
