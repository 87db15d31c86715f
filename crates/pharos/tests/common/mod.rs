//! Starts the real `pharos` binary on 127.0.0.1:0 and talks to it over HTTP.

#![allow(dead_code, clippy::unwrap_used, clippy::zombie_processes)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Server {
    pub child: Child,
    pub addr: String,
    pub data: PathBuf,
    pub log: PathBuf,
}

impl Server {
    /// Starts `pharos server` on `data`, with extra flags and without the host collector, the push
    /// and self-metrics jobs (whose samples at the current time would push the fixed-time samples of
    /// most tests out of retention) and the built-in rules, and waits until it listens.
    pub fn start(data: &Path, extra: &[&str]) -> Server {
        let mut args = vec![
            "--no-host-metrics",
            "--no-push",
            "--no-self-metrics",
            "--no-builtin-rules",
        ];
        args.extend_from_slice(extra);
        Self::start_default(data, &args)
    }

    /// Starts `pharos server` with only the given flags.
    pub fn start_default(data: &Path, extra: &[&str]) -> Server {
        let log = data.with_extension(format!("log.{}", std::process::id()));
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let start_len = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pharos"));
        cmd.arg("server");
        if !extra.contains(&"--listen") {
            cmd.args(["--listen", "127.0.0.1:0"]);
        }
        let child = cmd
            .arg("--data-dir")
            .arg(data)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .expect("start pharos");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let text = &text[start_len as usize..];
            if let Some(line) = text.lines().find(|l| l.contains("listening address=")) {
                let addr = line
                    .split("listening address=")
                    .nth(1)
                    .unwrap()
                    .split_whitespace()
                    .next()
                    .unwrap();
                return Server {
                    child,
                    addr: addr.to_owned(),
                    data: data.to_owned(),
                    log,
                };
            }
            assert!(Instant::now() < deadline, "pharos did not start; log:\n{text}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Sends SIGTERM and returns the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        self.child.wait().unwrap()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// A series to send: label pairs and (timestamp ms, value) samples.
pub type TestSeries<'a> = (Vec<(&'a str, &'a str)>, Vec<(i64, f64)>);

/// Remote write 1.0 body for the given series.
pub fn rw1(series: &[TestSeries<'_>]) -> Vec<u8> {
    let req = remote::v1::WriteRequest {
        timeseries: series
            .iter()
            .map(|(labels, samples)| remote::v1::TimeSeries {
                labels: labels
                    .iter()
                    .map(|(n, v)| remote::v1::Label {
                        name: n.to_string(),
                        value: v.to_string(),
                    })
                    .collect(),
                samples: samples
                    .iter()
                    .map(|(t, v)| remote::v1::Sample {
                        value: *v,
                        timestamp: *t,
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    remote::encode_v1(&req)
}

pub fn post_rw1(
    c: &reqwest::blocking::Client,
    url: &str,
    body: Vec<u8>,
) -> reqwest::Result<reqwest::blocking::Response> {
    c.post(url)
        .header("Content-Type", "application/x-protobuf")
        .header("Content-Encoding", "snappy")
        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
        .body(body)
        .send()
}

/// One exported series: labels, timestamps, values as JSON.
#[derive(Debug)]
pub struct Exported {
    pub metric: serde_json::Map<String, serde_json::Value>,
    pub timestamps: Vec<i64>,
    pub values: Vec<serde_json::Value>,
}

pub fn export(c: &reqwest::blocking::Client, s: &Server, selector: &str) -> Vec<Exported> {
    let resp = c
        .get(s.url("/api/v1/export"))
        .query(&[("match[]", selector)])
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200, "export failed");
    let text = resp.text().unwrap();
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            Exported {
                metric: v["metric"].as_object().unwrap().clone(),
                timestamps: v["timestamps"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t.as_i64().unwrap())
                    .collect(),
                values: v["values"].as_array().unwrap().clone(),
            }
        })
        .collect()
}

/// Whether end-to-end peers (Debian's prometheus, influxd) must be present: the test command sets this,
/// so a missing peer fails the run instead of silently skipping.
pub fn peers_required() -> bool {
    std::env::var("PHAROS_REQUIRE_PEERS").is_ok_and(|v| v == "1")
}

/// Sends a request and returns its status and JSON body; a body that is not JSON fails the test.
fn status_json(req: reqwest::blocking::RequestBuilder) -> (u16, Value) {
    let resp = req.send().unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().unwrap();
    let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, v)
}

/// GET with URL parameters.
pub fn get_json(c: &reqwest::blocking::Client, url: &str, params: &[(&str, &str)]) -> (u16, Value) {
    status_json(c.get(url).query(params))
}

/// POST with the parameters as an `application/x-www-form-urlencoded` body.
pub fn post_form_json(c: &reqwest::blocking::Client, url: &str, params: &[(&str, &str)]) -> (u16, Value) {
    status_json(c.post(url).form(params))
}

/// A port that was free a moment ago, for peers that cannot report the port they bound.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Debian's `prometheus`, or `None` after printing why the test is skipped; with PHAROS_REQUIRE_PEERS=1
/// a missing binary fails the test instead.
pub fn prometheus_binary() -> Option<&'static str> {
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
        "NOTICE: prometheus not installed; skipping the real-Prometheus tests (the test command installs it)"
    );
    None
}

/// A running Prometheus, killed when dropped.
pub struct Prom {
    pub child: Child,
    pub url: String,
    pub log: PathBuf,
}

impl Prom {
    /// Starts `bin` on `port` with `config` (YAML) and its own storage under `dir`, plus `extra` flags,
    /// and waits until it reports ready.
    pub fn start(bin: &str, dir: &Path, port: u16, config: &str, extra: &[&str]) -> Prom {
        let cfg = dir.join("prometheus.yml");
        std::fs::write(&cfg, config).unwrap();
        let log = dir.join("prometheus.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(bin)
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("prom-data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .args(extra)
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .unwrap();
        let prom = Prom {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
        };
        let c = client();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = c
                .get(format!("{}/-/ready", prom.url))
                .send()
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return prom;
            }
            assert!(
                Instant::now() < deadline,
                "prometheus did not become ready; log:\n{}",
                std::fs::read_to_string(&prom.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Prom {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Milliseconds as the Prometheus API prints a timestamp: seconds, up to three decimals, no trailing
/// zeros (`1700000000.25`). Written independently of Pharos's formatter so it can check it.
pub fn api_secs(ms: i64) -> String {
    assert!(ms >= 0, "only non-negative times are used in tests");
    let frac = format!("{:03}", ms % 1000);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{}", ms / 1000)
    } else {
        format!("{}.{frac}", ms / 1000)
    }
}

/// Milliseconds since the epoch as RFC 3339 in UTC with milliseconds.
pub fn rfc3339(ms: i64) -> String {
    let (secs, milli) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    let (mut days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Walks years and months from 1970: slow but obviously right for the dates tests use.
    let mut year = 1970;
    let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    while days >= if leap(year) { 366 } else { 365 } {
        days -= if leap(year) { 366 } else { 365 };
        year += 1;
    }
    let month_days = [
        31,
        if leap(year) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let mut month = 0;
    while days >= month_days[month] {
        days -= month_days[month];
        month += 1;
    }
    format!(
        "{year:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{milli:03}Z",
        month + 1,
        days + 1,
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A peer process, killed when dropped.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits up to 30 s for `url` to answer 2xx.
pub fn wait_http(url: &str) {
    let c = client();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !c.get(url).send().is_ok_and(|r| r.status().is_success()) {
        assert!(Instant::now() < deadline, "{url} did not answer");
        std::thread::sleep(Duration::from_millis(100));
    }
}
