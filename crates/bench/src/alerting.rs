//! `pharos bench alerting`: how long from a scraped target going down to the notification arriving
//! at a webhook, for Pharos and for Prometheus + Alertmanager with the same settings, side by side.
//! One node_exporter is the target of both; each trial stops it with SIGTERM at a random phase of
//! the scrape interval, waits for both webhooks, then starts it again and waits until both resolve.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use reqwest::blocking::Client;
use serde::Serialize;

use crate::parse_duration;
use crate::report::{Machine, command_line, date, machine, publish, section_head};
use crate::server::{Proc, free_port, spawn, wait_ready};

const BEGIN: &str = "<!-- pharos bench alerting: begin (generated; rerun the command to replace) -->";
const END: &str = "<!-- pharos bench alerting: end -->";

#[derive(clap::Args)]
pub struct Args {
    /// Trials (target stopped, notification awaited, target restarted).
    #[arg(long, default_value_t = 20)]
    trials: usize,
    /// Scrape interval and rule evaluation interval of both systems.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    interval: Duration,
    /// Directory for alerting-results.json, the configurations and the logs.
    #[arg(long, default_value = "bench-out")]
    out: PathBuf,
    #[command(flatten)]
    md: crate::report::MarkdownOut,
    #[arg(long, default_value = "/usr/bin/prometheus-node-exporter")]
    node_exporter_bin: PathBuf,
    #[arg(long, default_value = "/usr/bin/prometheus")]
    prometheus_bin: PathBuf,
    #[arg(long, default_value = "/usr/bin/prometheus-alertmanager")]
    alertmanager_bin: PathBuf,
}

/// Webhook deliveries seen, by path: (arrival time, status of the notification).
#[derive(Default)]
struct Seen(Mutex<Vec<(String, Instant, String)>>);

impl Seen {
    fn first_since(&self, path: &str, status: &str, since: Instant) -> Option<Instant> {
        self.0
            .lock()
            .ok()?
            .iter()
            .find(|(p, t, s)| p == path && s == status && *t >= since)
            .map(|(_, t, _)| *t)
    }
}

/// A minimal HTTP server recording each POST's path, arrival and `status` field.
fn receiver(seen: Arc<Seen>) -> anyhow::Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("binding the webhook receiver")?;
    let port = l.local_addr()?.port();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut s) = conn else { continue };
            let seen = seen.clone();
            std::thread::spawn(move || {
                let arrived = Instant::now();
                let Ok(clone) = s.try_clone() else { return };
                let mut r = BufReader::new(clone);
                let mut line = String::new();
                if r.read_line(&mut line).is_err() {
                    return;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let mut len = 0usize;
                loop {
                    let mut h = String::new();
                    if r.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                        break;
                    }
                    if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; len.min(1 << 20)];
                let _ = r.read_exact(&mut body);
                let status = serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v["status"].as_str().map(str::to_string))
                    .unwrap_or_default();
                if let Ok(mut v) = seen.0.lock() {
                    v.push((path, arrived, status));
                }
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            });
        }
    });
    Ok(port)
}

#[derive(Debug, Clone, Serialize)]
struct Stats {
    median_seconds: f64,
    max_seconds: f64,
    min_seconds: f64,
    trials_seconds: Vec<f64>,
}

fn stats(mut v: Vec<f64>) -> Stats {
    let trials = v.clone();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Stats {
        median_seconds: median,
        max_seconds: v.last().copied().unwrap_or(f64::NAN),
        min_seconds: v.first().copied().unwrap_or(f64::NAN),
        trials_seconds: trials,
    }
}

#[derive(Debug, Clone, Serialize)]
struct Report {
    command: String,
    date: String,
    machine: Machine,
    versions: Vec<String>,
    interval_seconds: f64,
    trials: usize,
    pharos: Stats,
    /// The same Pharos job with `watch_connection: false`: found down by its scheduled scrape.
    pharos_unwatched: Stats,
    prometheus_alertmanager: Stats,
    median_ratio: f64,
    max_ratio: f64,
    checks: Vec<String>,
}

fn version(bin: &Path) -> String {
    crate::server::first_line(bin, &["--version"])
}

fn rand_below(n: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mut x = u64::from(nanos) ^ 0x9e37_79b9_7f4a_7c15;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x % n.max(1)
}

/// Whether the instant query `q` returns exactly one sample with value `want` at `base`.
fn query_is(client: &Client, base: &str, q: &str, want: &str) -> bool {
    let Ok(r) = client
        .get(format!("{base}/api/v1/query"))
        .query(&[("query", q)])
        .send()
    else {
        return false;
    };
    let Ok(v) = r.json::<serde_json::Value>() else {
        return false;
    };
    let res = &v["data"]["result"];
    res.as_array().is_some_and(|a| a.len() == 1) && res[0]["value"][1] == want
}

fn wait(what: &str, limit: Duration, mut f: impl FnMut() -> bool) -> anyhow::Result<()> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!("timed out after {limit:?} waiting for {what}")
}

pub fn run(args: Args) -> anyhow::Result<()> {
    for (bin, pkg) in [
        (&args.node_exporter_bin, "prometheus-node-exporter"),
        (&args.prometheus_bin, "prometheus"),
        (&args.alertmanager_bin, "prometheus-alertmanager"),
    ] {
        if !bin.exists() {
            bail!(
                "{} not found: install {pkg} (scripts/install-deps.sh does)",
                bin.display()
            );
        }
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let out = args.out.canonicalize()?;
    let exe = std::env::current_exe().context("locating the pharos binary")?;
    let client = Client::builder().timeout(Duration::from_secs(10)).build()?;
    let secs = args.interval.as_secs_f64();
    let seen = Arc::new(Seen::default());
    let hook = receiver(seen.clone())?;

    // Each trial scrapes a node_exporter on a new port: Prometheus places a target's scrapes at a
    // phase hashed from its labels, so a new address gives a new distance between its scrapes and
    // its rule evaluations, which decides most of its latency. Trials sample that distance.
    let start_target = |port: u16| -> anyhow::Result<Proc> {
        let mut p = spawn(
            "node_exporter",
            &args.node_exporter_bin,
            &[
                format!("--web.listen-address=127.0.0.1:{port}"),
                "--collector.disable-defaults".to_string(),
                "--collector.loadavg".to_string(),
            ],
            &out.join("alerting-target.log"),
        )?;
        wait_ready(&mut p, &client, &format!("http://127.0.0.1:{port}/metrics"))?;
        Ok(p)
    };
    let mut ne_port = free_port()?;
    let mut target = start_target(ne_port)?;

    let rules = out.join("alerting-rules.yml");
    std::fs::write(
        &rules,
        "groups:\n  - name: latency\n    rules:\n      - alert: TargetDown\n        expr: up{job=\"target\"} == 0\n        for: 0s\n        labels: {severity: P1}\n",
    )?;
    let am_route = |path: &str| {
        format!(
            "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: hook\n    webhook_configs:\n      - url: http://127.0.0.1:{hook}{path}\n        send_resolved: true\n"
        )
    };
    // Pharos also scrapes the target in a second job that does not watch the connection, alerting
    // through its own route, to show what the scheduled scrape alone gives.
    let p_rules = out.join("alerting-rules-pharos.yml");
    std::fs::write(
        &p_rules,
        "groups:\n  - name: latency\n    rules:\n      - alert: TargetDown\n        expr: up{job=\"target\"} == 0\n        for: 0s\n        labels: {severity: P1}\n      - alert: TargetDownUnwatched\n        expr: up{job=\"target_unwatched\"} == 0\n        for: 0s\n        labels: {severity: P1}\n",
    )?;
    let scrape = |port: u16| {
        format!(
            "scrape_configs:\n  - job_name: target\n    scrape_interval: {secs}s\n    scrape_timeout: {}s\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n",
            (secs - 1.0).max(1.0)
        )
    };

    // Pharos: scrape, rules and alert manager in one process.
    let p_port = free_port()?;
    let p_dir = out.join("alerting-pharos");
    let _ = std::fs::remove_dir_all(&p_dir);
    std::fs::create_dir_all(&p_dir)?;
    let receiver_yaml = |name: &str, path: &str| {
        format!(
            "  - name: {name}\n    webhook_configs:\n      - url: http://127.0.0.1:{hook}{path}\n        send_resolved: true\n"
        )
    };
    std::fs::write(
        p_dir.join("am.yml"),
        format!(
            "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 0s\n  group_interval: 1s\n  \
             repeat_interval: 1h\n  routes:\n    - {{matchers: ['alertname=\"TargetDownUnwatched\"'], receiver: unwatched}}\n\
             receivers:\n{}{}",
            receiver_yaml("hook", "/pharos"),
            receiver_yaml("unwatched", "/pharos-unwatched"),
        ),
    )?;
    let pharos_config = |port: u16| {
        format!(
            "global:\n  evaluation_interval: {secs}s\nrule_files: ['{}']\nalertmanager:\n  config_file: am.yml\n{}  \
             - job_name: target_unwatched\n    watch_connection: false\n    scrape_interval: {secs}s\n    \
             scrape_timeout: {}s\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n",
            p_rules.display(),
            scrape(port),
            (secs - 1.0).max(1.0)
        )
    };
    std::fs::write(p_dir.join("pharos.yml"), pharos_config(ne_port))?;
    let mut pharos = spawn(
        "pharos server",
        &exe,
        &[
            "server".into(),
            "--no-host-metrics".into(),
            "--no-push".into(),
            "--no-self-metrics".into(),
            "--no-builtin-rules".into(),
            "--config".into(),
            p_dir.join("pharos.yml").display().to_string(),
            "--listen".into(),
            format!("127.0.0.1:{p_port}"),
            "--data-dir".into(),
            p_dir.join("data").display().to_string(),
        ],
        &out.join("alerting-pharos.log"),
    )?;
    let p_url = format!("http://127.0.0.1:{p_port}");
    wait_ready(&mut pharos, &client, &format!("{p_url}/-/ready"))?;

    // Prometheus + Alertmanager, with the settings the comparison asks for.
    let am_port = free_port()?;
    let am_dir = out.join("alerting-alertmanager");
    let _ = std::fs::remove_dir_all(&am_dir);
    std::fs::create_dir_all(&am_dir)?;
    std::fs::write(am_dir.join("alertmanager.yml"), am_route("/alertmanager"))?;
    let mut am = spawn(
        "alertmanager",
        &args.alertmanager_bin,
        &[
            format!("--config.file={}", am_dir.join("alertmanager.yml").display()),
            format!("--storage.path={}", am_dir.join("data").display()),
            format!("--web.listen-address=127.0.0.1:{am_port}"),
            "--cluster.listen-address=".into(),
        ],
        &out.join("alerting-alertmanager.log"),
    )?;
    wait_ready(&mut am, &client, &format!("http://127.0.0.1:{am_port}/-/ready"))?;
    let prom_port = free_port()?;
    let prom_dir = out.join("alerting-prometheus");
    let _ = std::fs::remove_dir_all(&prom_dir);
    std::fs::create_dir_all(&prom_dir)?;
    let prom_config = |port: u16| {
        format!(
            "global:\n  evaluation_interval: {secs}s\nrule_files: ['{}']\nalerting:\n  alertmanagers:\n    - static_configs: [{{targets: ['127.0.0.1:{am_port}']}}]\n{}",
            rules.display(),
            scrape(port)
        )
    };
    std::fs::write(prom_dir.join("prometheus.yml"), prom_config(ne_port))?;
    let mut prom = spawn(
        "prometheus",
        &args.prometheus_bin,
        &[
            format!("--config.file={}", prom_dir.join("prometheus.yml").display()),
            format!("--storage.tsdb.path={}", prom_dir.join("data").display()),
            format!("--web.listen-address=127.0.0.1:{prom_port}"),
            "--rules.alert.resend-delay=2s".into(),
            "--web.enable-lifecycle".into(),
        ],
        &out.join("alerting-prometheus.log"),
    )?;
    let prom_url = format!("http://127.0.0.1:{prom_port}");
    wait_ready(&mut prom, &client, &format!("{prom_url}/-/ready"))?;

    let mut p_lat = Vec::new();
    let mut pu_lat = Vec::new();
    let mut pa_lat = Vec::new();
    for trial in 1..=args.trials {
        // Both see the target up and have resolved any earlier alert.
        let up = format!(r#"up{{job="target",instance="127.0.0.1:{ne_port}"}}"#);
        let up_unwatched = format!(r#"up{{job="target_unwatched",instance="127.0.0.1:{ne_port}"}}"#);
        wait("both to scrape the target", Duration::from_secs(60), || {
            query_is(&client, &p_url, &up, "1")
                && query_is(&client, &p_url, &up_unwatched, "1")
                && query_is(&client, &prom_url, &up, "1")
        })?;
        std::thread::sleep(Duration::from_millis(
            rand_below(args.interval.as_millis() as u64) + 500,
        ));
        let t0 = Instant::now();
        target.terminate(Duration::from_secs(10))?;
        let paths = ["/pharos", "/pharos-unwatched", "/alertmanager"];
        wait("the notifications", Duration::from_secs(120), || {
            paths.iter().all(|p| seen.first_since(p, "firing", t0).is_some())
        })?;
        let [p, pu, pa] = paths.map(|path| {
            seen.first_since(path, "firing", t0)
                .map(|t| (t - t0).as_secs_f64())
                .unwrap_or(f64::NAN)
        });
        eprintln!(
            "alerting: trial {trial}/{}: Pharos {p:.3}s (without the connection watch {pu:.2}s), \
             Prometheus + Alertmanager {pa:.2}s",
            args.trials
        );
        p_lat.push(p);
        pu_lat.push(pu);
        pa_lat.push(pa);
        // The next target, on a new port; the old one's alert resolves as its series go stale.
        let t1 = Instant::now();
        ne_port = free_port()?;
        target = start_target(ne_port)?;
        std::fs::write(p_dir.join("pharos.yml"), pharos_config(ne_port))?;
        std::fs::write(prom_dir.join("prometheus.yml"), prom_config(ne_port))?;
        for url in [&p_url, &prom_url] {
            let r = client
                .post(format!("{url}/-/reload"))
                .send()
                .context("reloading")?;
            if !r.status().is_success() {
                bail!("reload of {url} failed: {}", r.text().unwrap_or_default());
            }
        }
        wait("the alerts to resolve", Duration::from_secs(120), || {
            paths
                .iter()
                .all(|p| seen.first_since(p, "resolved", t1).is_some())
        })?;
        pharos.check_alive()?;
        prom.check_alive()?;
        am.check_alive()?;
    }
    let p = stats(p_lat);
    let pa = stats(pa_lat);
    let median_ratio = p.median_seconds / pa.median_seconds;
    let max_ratio = p.max_seconds / pa.max_seconds;
    let mut checks = Vec::new();
    if median_ratio > 0.7 {
        checks.push(format!("median ratio {median_ratio:.3} is over the 0.7 floor"));
    }
    if max_ratio > 0.8 {
        checks.push(format!("maximum ratio {max_ratio:.3} is over the 0.8 floor"));
    }
    let report = Report {
        command: command_line(),
        date: date(None),
        machine: machine(),
        versions: vec![
            format!("Pharos {}", env!("CARGO_PKG_VERSION")),
            version(&args.prometheus_bin),
            version(&args.alertmanager_bin),
            version(&args.node_exporter_bin),
        ],
        interval_seconds: secs,
        trials: args.trials,
        pharos: p,
        pharos_unwatched: stats(pu_lat),
        prometheus_alertmanager: pa,
        median_ratio,
        max_ratio,
        checks,
    };
    let md = markdown(&report);
    publish(
        "alerting",
        &out.join("alerting-results.json"),
        &report,
        &md,
        &args.md,
        (BEGIN, END),
        &report.checks,
    )
}

fn markdown(r: &Report) -> String {
    let head = section_head(
        BEGIN,
        "Alert latency: target down to webhook, beside Prometheus + Alertmanager",
        &r.command,
        &r.date,
        &r.machine,
        &r.versions,
    );
    let row = |name: &str, s: &Stats| {
        format!(
            "| {name} | {:.3} s | {:.3} s | {:.3} s |\n",
            s.median_seconds, s.max_seconds, s.min_seconds
        )
    };
    format!(
        "{head}\nOne node_exporter is scraped by both systems every {i}s; the rule `up{{job=\"target\"}} == 0` \
         (`for: 0s`) is evaluated every {i}s; alerts are routed with `group_wait: 0s`, `group_interval: 1s` \
         to a webhook served by the bench. Prometheus runs with `--rules.alert.resend-delay=2s` and sends \
         to Alertmanager. Each of {n} trials stops node_exporter with SIGTERM at a random phase of the \
         interval and measures until each webhook receives its firing notification; the next trial's \
         node_exporter listens on a new port, loaded into both by a config reload, and the trial waits until \
         both have resolved the old alert. Prometheus places a target's scrapes at a phase hashed from its \
         labels, so each new address also gives a new distance between its scrapes and its rule evaluations, \
         which decides most of its latency. Pharos holds an idle connection to the target between scrapes \
         and scrapes as soon as the exiting process closes it (`watch_connection`, on by default), and \
         evaluates the rules as soon as a scrape finds the target down. The same Pharos also scrapes the \
         target in a second job with `watch_connection: false`, alerting to its own webhook: that row is \
         what the scheduled scrape alone gives.\n\n\
         | | median | maximum | minimum |\n|---|---|---|---|\n{}{}{}\n\
         Ratios Pharos / Prometheus + Alertmanager: median {:.3} (floor 0.7), maximum {:.3} (floor 0.8). \
         Without the connection watch: median {:.3}, maximum {:.3}.\n\n{END}\n",
        row("Pharos", &r.pharos),
        row("Pharos, `watch_connection: false`", &r.pharos_unwatched),
        row("Prometheus + Alertmanager", &r.prometheus_alertmanager),
        r.median_ratio,
        r.max_ratio,
        r.pharos_unwatched.median_seconds / r.prometheus_alertmanager.median_seconds,
        r.pharos_unwatched.max_seconds / r.prometheus_alertmanager.max_seconds,
        i = r.interval_seconds,
        n = r.trials,
    )
}
