//! Pharos and Debian's Prometheus scrape the same real targets with the same `scrape_configs`:
//! node_exporter (with metric relabeling), pushgateway (honor_labels, pushed groups),
//! blackbox_exporter probing an HTTP server (the usual relabeling to `__param_target`), and a server
//! answering in OpenMetrics (gzip, exemplars, `_created`, info and stateset) found through
//! `file_sd_configs`. The series each produces must be the same set, the scrape report series must
//! agree, and when node_exporter stops `up` goes to 0 and its series go stale in both.

#![allow(clippy::unwrap_used, clippy::zombie_processes)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

type SeriesKey = BTreeMap<String, String>;

/// A child process killed when dropped.
fn peer(bin: &str) -> bool {
    if Path::new(bin).exists() {
        return true;
    }
    assert!(
        !peers_required(),
        "PHAROS_REQUIRE_PEERS=1 but {bin} is not installed"
    );
    eprintln!("NOTICE: {bin} not installed; skipping the scrape comparison (the test command installs it)");
    false
}

fn spawn(bin: &str, args: &[String], log: &Path) -> Proc {
    let out = std::fs::File::create(log).unwrap();
    Proc(
        Command::new(bin)
            .args(args)
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .unwrap(),
    )
}

const OM_BODY: &str = "# TYPE om_requests counter\n# HELP om_requests Requests served.\n\
om_requests_total{path=\"/a\"} 10 # {trace_id=\"abc\"} 1 1700000000.123\n\
om_requests_created{path=\"/a\"} 1700000000\n\
# TYPE om_build info\nom_build_info{version=\"1.2\"} 1\n\
# TYPE om_state stateset\nom_state{om_state=\"a\"} 1\nom_state{om_state=\"b\"} 0\n\
# TYPE om_latency_seconds histogram\n# UNIT om_latency_seconds seconds\n\
om_latency_seconds_bucket{le=\"0.1\"} 1\nom_latency_seconds_bucket{le=\"+Inf\"} 2\n\
om_latency_seconds_sum 0.3\nom_latency_seconds_count 2\nom_latency_seconds_created 1700000000\n\
# TYPE om_temperature gauge\nom_temperature{room=\"a b\",job=\"thermo\"} 21.5\n# EOF\n";

const TEXT_BODY: &str = "# TYPE om_requests_total counter\nom_requests_total{path=\"/a\"} 10\n\
# TYPE om_temperature gauge\nom_temperature{room=\"a b\",job=\"thermo\"} 21.5\n";

/// Serves OpenMetrics (gzip when asked) to clients that accept it and the text format otherwise, at
/// `/metrics`; `/healthy` answers 200 for the blackbox probe.
fn serve_openmetrics() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut s) = conn else { continue };
            std::thread::spawn(move || {
                let mut req = Vec::new();
                let mut buf = [0u8; 4096];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let req = String::from_utf8_lossy(&req).to_ascii_lowercase();
                let (ct, body) = if req.starts_with("get /healthy") {
                    ("text/plain", b"ok\n".to_vec())
                } else if req.contains("accept: application/openmetrics-text") {
                    (
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        OM_BODY.as_bytes().to_vec(),
                    )
                } else {
                    (
                        "text/plain; version=0.0.4; charset=utf-8",
                        TEXT_BODY.as_bytes().to_vec(),
                    )
                };
                let gzip = req.contains("accept-encoding: gzip");
                let body = if gzip {
                    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                    e.write_all(&body).unwrap();
                    e.finish().unwrap()
                } else {
                    body
                };
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n{}Connection: close\r\n\r\n",
                    body.len(),
                    if gzip { "Content-Encoding: gzip\r\n" } else { "" }
                );
                let _ = s.write_all(head.as_bytes());
                let _ = s.write_all(&body);
            });
        }
    });
    port
}

fn scrape_config(ne: u16, pg: u16, bb: u16, om: u16, sd_dir: &Path) -> String {
    let sd = sd_dir.display();
    [
        "global:",
        "  scrape_interval: 1s",
        "  scrape_timeout: 1s",
        "scrape_configs:",
        "  - job_name: node",
        &format!("    static_configs: [{{targets: ['127.0.0.1:{ne}'], labels: {{env: test}}}}]"),
        "    metric_relabel_configs:",
        "      - {source_labels: [__name__], regex: 'go_.*', action: drop}",
        "      - {source_labels: [__name__, mode], regex: 'node_cpu_seconds_total;(idle|user)', target_label: busy, replacement: '$1'}",
        "  - job_name: pushgateway",
        "    honor_labels: true",
        &format!("    static_configs: [{{targets: ['127.0.0.1:{pg}']}}]"),
        "  - job_name: blackbox",
        "    metrics_path: /probe",
        "    params: {module: [http_2xx]}",
        &format!("    static_configs: [{{targets: ['http://127.0.0.1:{om}/healthy']}}]"),
        "    relabel_configs:",
        "      - {source_labels: [__address__], target_label: __param_target}",
        "      - {source_labels: [__param_target], target_label: instance}",
        &format!("      - {{target_label: __address__, replacement: '127.0.0.1:{bb}'}}"),
        "  - job_name: openmetrics",
        &format!("    file_sd_configs: [{{files: ['{sd}/*.json']}}]"),
        "    relabel_configs:",
        "      - {source_labels: [__address__], regex: '.*:(.*)', target_label: port}",
        "      - {regex: '__meta_(filepath)', action: labelmap, replacement: 'sd_$1'}",
        "",
    ]
    .join("\n")
}

fn series(url: &str, start: f64, end: f64) -> BTreeSet<SeriesKey> {
    let (status, v) = get_json(
        &client(),
        &format!("{url}/api/v1/series"),
        &[
            ("match[]", r#"{job=~".+"}"#),
            ("start", &format!("{start:.3}")),
            ("end", &format!("{end:.3}")),
        ],
    );
    assert_eq!(status, 200, "{v}");
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            s.as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect()
        })
        .collect()
}

/// Instant query; `name{labels} => value` lines, sorted.
fn query(url: &str, q: &str) -> Vec<String> {
    let (status, v) = get_json(&client(), &format!("{url}/api/v1/query"), &[("query", q)]);
    assert_eq!(status, 200, "{v}");
    let mut out: Vec<String> = v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("{} => {}", r["metric"], r["value"][1].as_str().unwrap()))
        .collect();
    out.sort();
    out
}

fn wait_until(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn now_s() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn same_series_as_prometheus_from_real_targets() {
    let Some(prom_bin) = prometheus_binary() else {
        return;
    };
    let ne_bin = "/usr/bin/prometheus-node-exporter";
    let pg_bin = "/usr/bin/prometheus-pushgateway";
    let bb_bin = "/usr/bin/prometheus-blackbox-exporter";
    if !(peer(ne_bin) && peer(pg_bin) && peer(bb_bin)) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (ne, pg, bb) = (free_port(), free_port(), free_port());
    let mut node = spawn(
        ne_bin,
        &[format!("--web.listen-address=127.0.0.1:{ne}")],
        &d.join("ne.log"),
    );
    let _pgw = spawn(
        pg_bin,
        &[
            format!("--web.listen-address=127.0.0.1:{pg}"),
            // Debian's default keeps groups in /var/lib across runs.
            format!("--persistence.file={}", d.join("pg.data").display()),
        ],
        &d.join("pg.log"),
    );
    std::fs::write(
        d.join("blackbox.yml"),
        "modules:\n  http_2xx:\n    prober: http\n    timeout: 1s\n    http: {preferred_ip_protocol: ip4}\n",
    )
    .unwrap();
    let _bbx = spawn(
        bb_bin,
        &[
            format!("--web.listen-address=127.0.0.1:{bb}"),
            format!("--config.file={}", d.join("blackbox.yml").display()),
        ],
        &d.join("bb.log"),
    );
    let om = serve_openmetrics();
    for url in [
        format!("http://127.0.0.1:{ne}/metrics"),
        format!("http://127.0.0.1:{pg}/metrics"),
        format!("http://127.0.0.1:{bb}/metrics"),
    ] {
        wait_http(&url);
    }
    // Two pushed groups, one with an instance in its grouping key.
    let c = client();
    for (path, body) in [
        ("/metrics/job/batch", "batch_last_success_seconds 1700000000\n"),
        (
            "/metrics/job/backup/instance/db1",
            "# TYPE backup_bytes gauge\nbackup_bytes{kind=\"full\"} 12345\n",
        ),
    ] {
        let r = c
            .put(format!("http://127.0.0.1:{pg}{path}"))
            .body(body)
            .send()
            .unwrap();
        assert!(r.status().is_success(), "push to {path}: {}", r.status());
    }
    let sd = d.join("sd");
    std::fs::create_dir_all(&sd).unwrap();
    std::fs::write(
        sd.join("om.json"),
        format!(r#"[{{"targets": ["127.0.0.1:{om}"], "labels": {{"team": "obs"}}}}]"#),
    )
    .unwrap();
    let config = scrape_config(ne, pg, bb, om, &sd);

    let pharos_cfg = d.join("pharos.yml");
    std::fs::write(&pharos_cfg, &config).unwrap();
    let pharos = Server::start(&d.join("pharos"), &["--config", pharos_cfg.to_str().unwrap()]);
    let prom_dir = d.join("prom");
    std::fs::create_dir_all(&prom_dir).unwrap();
    let prom = Prom::start(prom_bin, &prom_dir, free_port(), &config, &[]);
    let started = now_s();
    let purl = format!("http://{}", pharos.addr);

    // Three scrapes of every job in both.
    for url in [&purl, &prom.url] {
        let mut last = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        while last.len() != 4 {
            assert!(
                Instant::now() < deadline,
                "{url}: timed out waiting for three scrapes of every job; count_over_time(up[1m]): {:?}",
                query(url, "count_over_time(up[1m])")
            );
            std::thread::sleep(Duration::from_millis(250));
            last = query(url, "count_over_time(up[1m]) >= 3");
        }
    }
    let end = now_s();
    let ours = series(&purl, started - 5.0, end);
    let theirs = series(&prom.url, started - 5.0, end);
    let only_ours: Vec<_> = ours.difference(&theirs).collect();
    let only_theirs: Vec<_> = theirs.difference(&ours).collect();
    assert!(
        only_ours.is_empty() && only_theirs.is_empty(),
        "series sets differ:\nonly in Pharos ({}): {:#?}\nonly in Prometheus ({}): {:#?}",
        only_ours.len(),
        &only_ours[..only_ours.len().min(20)],
        only_theirs.len(),
        &only_theirs[..only_theirs.len().min(20)]
    );
    let per_job = |set: &BTreeSet<SeriesKey>, job: &str| set.iter().filter(|s| s["job"] == job).count();
    let has = |s: &SeriesKey, k: &str, pred: &dyn Fn(&str) -> bool| s.get(k).is_some_and(|v| pred(v));
    println!(
        "identical series sets: {} series (node {}, pushgateway-scraped {}, blackbox {}, openmetrics {})",
        ours.len(),
        per_job(&ours, "node"),
        ours.iter()
            .filter(|s| !["node", "blackbox", "openmetrics"].contains(&s["job"].as_str()))
            .count(),
        per_job(&ours, "blackbox"),
        per_job(&ours, "openmetrics"),
    );
    assert!(per_job(&ours, "node") > 200, "node_exporter gave too few series");
    assert!(
        ours.iter().any(|s| s.get("busy").is_some_and(|b| b == "idle")),
        "metric relabeling ran"
    );
    assert!(ours.iter().any(|s| s["__name__"] == "backup_bytes"
        && s["job"] == "backup"
        && has(s, "instance", &|v| v == "db1")));
    assert!(ours.iter().any(
        |s| s["__name__"] == "om_requests_created" && has(s, "sd_filepath", &|v| v.ends_with("om.json"))
    ));
    assert!(
        ours.iter()
            .any(|s| s["__name__"] == "om_temperature" && has(s, "exported_job", &|v| v == "thermo"))
    );

    // The scrape report agrees where the targets answer the same thing each time.
    for q in [
        r#"scrape_samples_scraped{job!="node"}"#,
        r#"scrape_samples_post_metric_relabeling{job!="node"}"#,
        r#"probe_success"#,
        r#"om_state"#,
    ] {
        assert_eq!(query(&purl, q), query(&prom.url, q), "{q}");
    }
    let count = |url: &str, q: &str| query(url, q).len();
    assert!(count(&purl, r#"up{job="node"} == 1"#) == 1);

    // node_exporter stops: `up` goes to 0 in both and its series go stale.
    let _ = node.0.kill();
    let _ = node.0.wait();
    for url in [&purl, &prom.url] {
        wait_until(
            "up == 0 after the target stopped",
            Duration::from_secs(15),
            || count(url, r#"up{job="node"} == 0"#) == 1 && count(url, "node_load1") == 0,
        );
    }
    let targets = get_json(
        &client(),
        &format!("{purl}/api/v1/targets"),
        &[("state", "active")],
    )
    .1;
    let node_t = targets["data"]["activeTargets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["scrapePool"] == "node")
        .cloned()
        .unwrap();
    assert_eq!(node_t["health"], "down", "{node_t}");
    assert!(!node_t["lastError"].as_str().unwrap().is_empty(), "{node_t}");
    println!(
        "up went to 0 and node_load1 went stale in both; Pharos says: {}",
        node_t["lastError"]
    );
}

#[test]
fn targets_api_reload_and_file_sd() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let om = serve_openmetrics();
    let sd = d.join("sd");
    std::fs::create_dir_all(&sd).unwrap();
    let cfg = d.join("pharos.yml");
    let write_cfg = |extra: &str| {
        std::fs::write(
            &cfg,
            format!(
                "global: {{scrape_interval: 1s}}\nscrape_configs:\n  - job_name: files\n    \
                 file_sd_configs: [{{files: ['{}/*.yml']}}]\n    relabel_configs:\n      \
                 - {{source_labels: [tier], regex: drop-me, action: drop}}\n{extra}",
                sd.display()
            ),
        )
        .unwrap()
    };
    write_cfg("");
    let pharos = Server::start_default(&d.join("data"), &["--config", cfg.to_str().unwrap()]);
    let purl = format!("http://{}", pharos.addr);
    let targets = |state: &str| get_json(&client(), &format!("{purl}/api/v1/targets"), &[("state", state)]).1;

    // A file appears: its targets are picked up without a reload.
    std::fs::write(
        sd.join("a.yml"),
        format!("- targets: ['127.0.0.1:{om}']\n  labels: {{tier: web}}\n- targets: ['127.0.0.1:1']\n  labels: {{tier: drop-me}}\n"),
    )
    .unwrap();
    wait_until("the file's target to be scraped", Duration::from_secs(20), || {
        // The file's target, not merely the first one: before the file is read, the first
        // active target is the host collector's, which is up from the start.
        let t = targets("any");
        t["data"]["activeTargets"].as_array().is_some_and(|a| {
            a.iter()
                .any(|x| x["scrapePool"] == "files" && x["health"] == "up")
        })
    });
    let t = targets("any");
    let active = t["data"]["activeTargets"].as_array().unwrap();
    // The file's one target, then the built-in host collector's, the self-metrics job's and the
    // push job's.
    assert_eq!(active.len(), 4, "{t}");
    assert_eq!(active[1]["scrapePool"], "node");
    assert_eq!(active[2]["scrapePool"], "pharos");
    assert_eq!(active[3]["scrapePool"], "pushgateway");
    let a = &active[0];
    assert_eq!(a["labels"]["tier"], "web");
    assert_eq!(a["labels"]["job"], "files");
    assert_eq!(a["scrapeInterval"], "1s");
    assert!(
        a["discoveredLabels"]["__meta_filepath"]
            .as_str()
            .unwrap()
            .ends_with("a.yml")
    );
    assert_eq!(
        t["data"]["droppedTargets"][0]["discoveredLabels"]["tier"],
        "drop-me"
    );
    assert_eq!(t["data"]["droppedTargetCounts"]["files"], 1);
    assert!(targets("active")["data"].get("droppedTargets").is_none());
    assert_eq!(
        get_json(
            &client(),
            &format!("{purl}/api/v1/targets"),
            &[("state", "bogus")]
        )
        .0,
        400
    );

    // An invalid configuration is refused by reload and the running one stays.
    std::fs::write(
        &cfg,
        "scrape_configs:\n  - job_name: x\n    scrape_interval: 5s\n    scrape_timeout: 9s\n",
    )
    .unwrap();
    let r = client().post(format!("{purl}/-/reload")).send().unwrap();
    assert_eq!(r.status().as_u16(), 500);
    let msg = r.text().unwrap();
    assert!(
        msg.contains("scrape timeout greater than scrape interval"),
        "{msg}"
    );
    assert_eq!(targets("active")["data"]["activeTargets"][0]["health"], "up");

    // A valid one adds a job; SIGHUP reloads too.
    write_cfg(&format!(
        "  - job_name: static\n    static_configs: [{{targets: ['127.0.0.1:{om}']}}]\n"
    ));
    let status = Command::new("kill")
        .args(["-HUP", &pharos.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_until("the new job after SIGHUP", Duration::from_secs(20), || {
        let t = targets("active");
        t["data"]["activeTargets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["scrapePool"] == "static" && t["health"] == "up")
    });
    // The target of the unchanged job kept its loop: no gap in its scrapes.
    let r = client().post(format!("{purl}/-/reload")).send().unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let q = query(&purl, r#"up{job="files"}"#);
    assert_eq!(q.len(), 1, "{q:?}");
    // The host collector runs by default, in process, as job "node".
    wait_until("host metrics", Duration::from_secs(20), || {
        query(&purl, r#"node_load1{job="node"}"#).len() == 1
    });
    let host = query(
        &purl,
        r#"count by (job) ({job="node", __name__=~"node_(cpu_seconds_total|memory_MemTotal_bytes|filesystem_size_bytes)"})"#,
    );
    assert_eq!(host.len(), 1, "{host:?}");
    let log = pharos.log_text();
    assert!(log.contains("configuration reloaded"), "{log}");
}

/// Samples of a range query over `[5m]` at now: `(timestamp ms, value)` for each series' `job`.
fn up_samples(url: &str) -> BTreeMap<String, Vec<(i64, f64)>> {
    let (status, v) = get_json(&client(), &format!("{url}/api/v1/query"), &[("query", "up[5m]")]);
    assert_eq!(status, 200, "{v}");
    v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let points = r["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    let t = (p[0].as_f64().unwrap() * 1000.0).round() as i64;
                    (t, p[1].as_str().unwrap().parse().unwrap())
                })
                .collect();
            (r["metric"]["job"].as_str().unwrap().to_string(), points)
        })
        .collect()
}

/// A target whose process exits is seen down at once, not at its next scrape: between scrapes
/// Pharos holds an idle connection to it, and scrapes as soon as the exiting process closes it.
/// The same target in a job with `watch_connection: false` keeps its schedule.
#[test]
fn a_stopped_target_is_seen_down_before_its_next_scrape() {
    let ne_bin = "/usr/bin/prometheus-node-exporter";
    if !peer(ne_bin) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ne = free_port();
    let mut node = spawn(
        ne_bin,
        &[
            format!("--web.listen-address=127.0.0.1:{ne}"),
            "--collector.disable-defaults".into(),
            "--collector.loadavg".into(),
        ],
        &d.join("ne.log"),
    );
    wait_http(&format!("http://127.0.0.1:{ne}/metrics"));
    let interval_ms = 15_000;
    let cfg = d.join("pharos.yml");
    std::fs::write(
        &cfg,
        format!(
            "global: {{scrape_interval: 15s}}\nscrape_configs:\n  \
             - job_name: watched\n    static_configs: [{{targets: ['127.0.0.1:{ne}']}}]\n  \
             - job_name: unwatched\n    watch_connection: false\n    \
               static_configs: [{{targets: ['127.0.0.1:{ne}']}}]\n"
        ),
    )
    .unwrap();
    let pharos = Server::start(&d.join("data"), &["--config", cfg.to_str().unwrap()]);
    let purl = format!("http://{}", pharos.addr);
    wait_until("both jobs' first scrape", Duration::from_secs(40), || {
        query(&purl, "up == 1").len() == 2
    });
    // Stop the target where its next scheduled scrape is at least 6 s away, so that only the watch
    // can see it down in the next 5 s.
    let last_scrape_ms = || -> i64 {
        let v = query(&purl, r#"timestamp(up{job="watched"})"#);
        let secs: f64 = v[0].rsplit(" => ").next().unwrap().parse().unwrap();
        (secs * 1000.0).round() as i64
    };
    let next_slot = loop {
        let next = last_scrape_ms() + interval_ms;
        let left = next - now_ms();
        if left > 6_000 && left < interval_ms - 300 {
            break next;
        }
        std::thread::sleep(Duration::from_millis(u64::try_from(left.max(0)).unwrap() + 500));
    };
    let status = Command::new("kill")
        .args(["-TERM", &node.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let stopped = Instant::now();
    let _ = node.0.wait();
    wait_until("the watched job's up to be 0", Duration::from_secs(5), || {
        query(&purl, r#"up{job="watched"} == 0"#).len() == 1
    });
    let seen = stopped.elapsed();
    println!("the watched target was seen down {seen:?} after SIGTERM (scrape interval 15s)");

    let samples = up_samples(&purl);
    let watched = &samples["watched"];
    let (t_down, v) = *watched.last().unwrap();
    assert_eq!(v, 0.0, "{watched:?}");
    assert!(
        t_down < next_slot - 1_000,
        "the down sample is before the next slot: {watched:?}"
    );
    assert!(
        watched[..watched.len() - 1].iter().all(|&(_, v)| v == 1.0),
        "{watched:?}"
    );
    // The unwatched job keeps its schedule: its samples stay an interval apart.
    let unwatched = &samples["unwatched"];
    for w in unwatched.windows(2) {
        let gap = w[1].0 - w[0].0;
        let off = (gap % interval_ms).min(interval_ms - gap % interval_ms);
        assert!(off < 200, "{unwatched:?}");
    }
    // The target is down in the targets API with the scrape's error.
    let targets = get_json(&client(), &format!("{purl}/api/v1/targets"), &[]).1;
    let w = targets["data"]["activeTargets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["scrapePool"] == "watched")
        .cloned()
        .unwrap();
    assert_eq!(w["health"], "down", "{w}");
    assert!(w["lastError"].as_str().unwrap().contains("refused"), "{w}");
}

/// A server started with a low soft limit on open files raises it to the hard limit, as Prometheus
/// does, so that two connections per target fit for thousands of targets.
#[test]
fn the_open_files_limit_is_raised_to_the_hard_limit() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("pharos.log");
    let mut child = Proc(
        Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ulimit -Sn 256 && exec '{}' server --listen 127.0.0.1:0 --data-dir '{}' \
                 --no-host-metrics --no-push --no-self-metrics --no-builtin-rules 2>'{}'",
                env!("CARGO_BIN_EXE_pharos"),
                dir.path().join("data").display(),
                log.display()
            ))
            .spawn()
            .unwrap(),
    );
    wait_until("the server to listen", Duration::from_secs(60), || {
        std::fs::read_to_string(&log).is_ok_and(|t| t.contains("listening address="))
    });
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.0.id())).unwrap();
    let line = limits.lines().find(|l| l.starts_with("Max open files")).unwrap();
    let v: Vec<&str> = line.split_whitespace().collect();
    let (soft, hard) = (v[3], v[4]);
    assert_eq!(soft, hard, "{line}");
    assert_ne!(soft, "256", "{line}");
    let _ = child.0.kill();
}
