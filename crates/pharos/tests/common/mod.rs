//! Starts the real `pharos` binary on 127.0.0.1:0 and talks to it over HTTP.

#![allow(dead_code, clippy::unwrap_used, clippy::zombie_processes)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    pub child: Child,
    pub addr: String,
    pub data: PathBuf,
    pub log: PathBuf,
}

impl Server {
    /// Starts `pharos server` on `data`, with extra flags, and waits until it listens.
    pub fn start(data: &Path, extra: &[&str]) -> Server {
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
