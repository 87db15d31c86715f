//! `pharos bench compare`: each server in turn, never two at once, fresh in its own temporary
//! directory: start it, send it the fleet, read its CPU time and peak memory from /proc, check one
//! series, make it persist, measure what it left on disk, stop it. Then one table, a JSON file, and
//! optionally a section of BENCHMARKS.md.
//!
//! A server process is owned by a guard that kills it when dropped, so an error anywhere leaves no
//! server running.

use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::Url;
use reqwest::blocking::Client;
use serde::Serialize;
use serde_json::Value;

use crate::fleet::{Fleet, instance};
use crate::load::{self, Protocol};
use crate::{millis, now_ms};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Server {
    Pharos,
    Prometheus,
    Influxdb,
}

impl Server {
    fn title(self) -> &'static str {
        match self {
            Server::Pharos => "Pharos",
            Server::Prometheus => "Prometheus",
            Server::Influxdb => "InfluxDB",
        }
    }

    fn protocol(self) -> Protocol {
        match self {
            Server::Pharos | Server::Prometheus => Protocol::RemoteWrite,
            Server::Influxdb => Protocol::Influx,
        }
    }
}

#[derive(clap::Args)]
pub struct Args {
    /// Hosts in the fleet; each exposes 100 series.
    #[arg(long, default_value_t = 1000)]
    hosts: usize,
    #[command(flatten)]
    workload: crate::Workload,
    /// Servers to run, in this order.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "pharos,prometheus,influxdb"
    )]
    servers: Vec<Server>,
    /// Directory for results.json and the servers' logs.
    #[arg(long, default_value = "bench-out")]
    out: PathBuf,
    /// Write (or replace) the comparison section of the Markdown file.
    #[arg(long)]
    write_md: bool,
    #[arg(long, default_value = "BENCHMARKS.md")]
    md_file: PathBuf,
    #[arg(long, default_value = "prometheus")]
    prometheus_bin: PathBuf,
    #[arg(long, default_value = "influxd")]
    influxd_bin: PathBuf,
}

/// A child process that is killed if still running when this is dropped.
struct Proc {
    child: Child,
    name: &'static str,
    log: PathBuf,
}

impl Proc {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails with the end of the log if the process has exited.
    fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait().context("waiting for the server")? {
            bail!(
                "{} exited early ({status}); end of {}:\n{}",
                self.name,
                self.log.display(),
                log_tail(&self.log)
            );
        }
        Ok(())
    }

    /// SIGTERM, then waits up to `limit` for the exit. Returns how long the shutdown took.
    fn terminate(&mut self, limit: Duration) -> anyhow::Result<Duration> {
        let start = Instant::now();
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .context("running kill -TERM")?;
        if !status.success() {
            bail!("kill -TERM {} failed", self.pid());
        }
        while start.elapsed() < limit {
            if let Some(status) = self.child.try_wait().context("waiting for the server")? {
                if !status.success() {
                    eprintln!("{}: exited with {status} after SIGTERM", self.name);
                }
                return Ok(start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!("{} did not exit within {limit:?} of SIGTERM", self.name)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr().context("finding a free port")?.port())
}

fn spawn(name: &'static str, program: &Path, args: &[String], log: &Path) -> anyhow::Result<Proc> {
    let out = File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let err = out.try_clone().context("duplicating the log file handle")?;
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .with_context(|| format!("starting {}", program.display()))?;
    Ok(Proc {
        child,
        name,
        log: log.to_owned(),
    })
}

/// Polls `url` until it answers 2xx.
fn wait_ready(proc: &mut Proc, client: &Client, url: &str) -> anyhow::Result<()> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(120) {
        proc.check_alive()?;
        if client.get(url).send().is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!(
        "{} not ready at {url} after 120s; end of {}:\n{}",
        proc.name,
        proc.log.display(),
        log_tail(&proc.log)
    )
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    // The command name may contain spaces; fields after it are space separated, state first.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("malformed /proc/PID/stat")?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| -> anyhow::Result<u64> {
        f.get(i)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("field {} of /proc/{pid}/stat", i + 3))
    };
    Ok(field(11)? + field(12)?)
}

/// VmHWM of a process, in bytes.
fn peak_rss(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .context("no VmHWM in /proc/PID/status")?;
    Ok(kb * 1024)
}

fn clock_ticks() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

/// Apparent size and allocated size (st_blocks × 512) of everything under `path`.
fn dir_size(path: &Path) -> anyhow::Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let mut total = (0, 0);
    let mut stack = vec![path.to_owned()];
    while let Some(p) = stack.pop() {
        let meta = std::fs::symlink_metadata(&p).with_context(|| format!("reading {}", p.display()))?;
        if meta.is_dir() {
            for e in std::fs::read_dir(&p).with_context(|| format!("listing {}", p.display()))? {
                stack.push(e.with_context(|| format!("listing {}", p.display()))?.path());
            }
        } else if meta.is_file() {
            total.0 += meta.len();
            total.1 += meta.blocks() * 512;
        }
    }
    Ok(total)
}

fn first_line(program: &Path, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|o| {
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
            text.lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or_default()
                .to_owned()
        })
        .unwrap_or_else(|| format!("{} not runnable", program.display()))
}

/// The version, when the binary was built, and the checkout it sits in at run time. Other work may be
/// committed between the build and the run, so the commit alone would not say what was measured.
fn pharos_version() -> String {
    let exe = std::env::current_exe().ok();
    let repo = exe
        .as_deref()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(&repo)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let mut v = format!("pharos {}", env!("CARGO_PKG_VERSION"));
    let built = exe
        .and_then(|p| p.metadata().ok())
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| date(Some(d.as_secs())));
    if let Some(built) = built {
        let _ = write!(v, ", binary built {built}");
    }
    if let Some(rev) = git(&["rev-parse", "--short", "HEAD"]) {
        let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
        let _ = write!(
            v,
            ", checkout at run time: git {rev}{}",
            if dirty { " with uncommitted changes" } else { "" }
        );
    }
    v
}

/// One series checked on every server after the load.
#[derive(Debug, Clone, Serialize)]
struct Verify {
    series: String,
    expected: u64,
    found: u64,
}

#[derive(Debug, Clone, Serialize)]
struct Outcome {
    server: Server,
    version: String,
    protocol: Protocol,
    load: load::Stats,
    active_series: u64,
    cpu_seconds: f64,
    peak_rss_bytes: u64,
    /// Everything in the data directory right after the load (WAL included), before persisting.
    disk_bytes_after_load: u64,
    disk_allocated_bytes_after_load: u64,
    persisted_bytes: u64,
    persisted_allocated_bytes: u64,
    /// What `persisted_bytes` measures.
    persisted_what: String,
    persist_seconds: f64,
    verify: Verify,
    samples_per_cpu_second: f64,
    rss_bytes_per_series: f64,
    bytes_per_sample: f64,
    bytes_per_sample_allocated: f64,
    samples_per_second: f64,
}

#[derive(Debug, Clone, Serialize)]
struct Machine {
    nproc: usize,
    cpu_model: String,
    mem_total_bytes: u64,
    kernel: String,
}

#[derive(Debug, Clone, Serialize)]
struct Workload {
    hosts: usize,
    series: u64,
    span_seconds: u64,
    interval_seconds: f64,
    samples_per_series: usize,
    samples: u64,
    start_ms: i64,
    end_ms: i64,
    batch: usize,
    concurrency: usize,
    seed: u64,
}

#[derive(Debug, Clone, Serialize)]
struct Report {
    command: String,
    date: String,
    machine: Machine,
    workload: Workload,
    results: Vec<Result<Outcome, (Server, String)>>,
}

fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kb: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    Machine {
        nproc: std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model,
        mem_total_bytes: mem_kb * 1024,
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_owned(),
    }
}

/// Now, or `epoch_secs`, in UTC.
fn date(epoch_secs: Option<u64>) -> String {
    let mut cmd = Command::new("date");
    cmd.arg("-u");
    if let Some(secs) = epoch_secs {
        cmd.arg("-d").arg(format!("@{secs}"));
    }
    cmd.arg("+%Y-%m-%d %H:%M:%S UTC")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| {
            format!(
                "{} s since the epoch",
                epoch_secs.unwrap_or(now_ms() as u64 / 1000)
            )
        })
}

fn command_line() -> String {
    std::env::args()
        .map(|a| {
            if a.is_empty() || a.contains(char::is_whitespace) {
                format!("'{a}'")
            } else {
                a
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn run(args: Args) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let out = args
        .out
        .canonicalize()
        .with_context(|| format!("resolving {}", args.out.display()))?;
    let fleet = Fleet::new(
        args.hosts,
        millis(args.workload.interval),
        millis(args.workload.span),
        now_ms(),
        args.workload.seed,
    );
    let workload = Workload {
        hosts: fleet.hosts,
        series: fleet.series(),
        span_seconds: args.workload.span.as_secs(),
        interval_seconds: args.workload.interval.as_secs_f64(),
        samples_per_series: fleet.steps,
        samples: fleet.samples(),
        start_ms: fleet.start_ms,
        end_ms: fleet.end_ms(),
        batch: args.workload.batch,
        concurrency: args.workload.concurrency,
        seed: args.workload.seed,
    };
    let mut report = Report {
        command: command_line(),
        date: date(None),
        machine: machine(),
        workload,
        results: Vec::new(),
    };
    eprintln!(
        "compare: {} hosts, {} series, {} samples per series, {} samples per server; servers: {:?}",
        fleet.hosts,
        fleet.series(),
        fleet.steps,
        fleet.samples(),
        args.servers
    );
    let ticks = clock_ticks();
    for &server in &args.servers {
        eprintln!("compare: === {} ===", server.title());
        let r = bench_one(server, &args, &fleet, &out, ticks);
        if let Err(e) = &r {
            eprintln!("compare: {} failed: {e:#}", server.title());
        }
        report.results.push(r.map_err(|e| (server, format!("{e:#}"))));
        // Written after every server, so a later failure keeps the earlier numbers.
        let json = serde_json::to_string_pretty(&report).context("serializing results")?;
        std::fs::write(out.join("results.json"), json).context("writing results.json")?;
    }
    let md = markdown(&report);
    println!("{md}");
    if args.write_md {
        write_section(&args.md_file, &md)?;
        eprintln!("compare: wrote the section in {}", args.md_file.display());
    }
    eprintln!("compare: raw results in {}", out.join("results.json").display());
    let failed: Vec<String> = report
        .results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .map(|(s, _)| s.title().to_owned())
        .collect();
    if !failed.is_empty() {
        bail!("failed: {}", failed.join(", "));
    }
    Ok(())
}

/// A started server and where it listens.
struct Started {
    proc: Proc,
    base: Url,
    version: String,
}

fn start(server: Server, args: &Args, dir: &Path, out: &Path, client: &Client) -> anyhow::Result<Started> {
    let log = out.join(format!("{}.log", format!("{server:?}").to_lowercase()));
    match server {
        Server::Pharos => {
            let exe = std::env::current_exe().context("locating the pharos binary")?;
            let data = dir.join("data");
            let a: Vec<String> = ["server", "--listen", "127.0.0.1:0", "--data-dir"]
                .iter()
                .map(|s| (*s).to_owned())
                .chain([data.display().to_string(), "--wal-fsync".into(), "always".into()])
                .collect();
            let mut proc = spawn("pharos", &exe, &a, &log)?;
            let start = Instant::now();
            let addr = loop {
                proc.check_alive()?;
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                if let Some(addr) = text
                    .lines()
                    .filter(|l| l.contains("listening"))
                    .find_map(|l| {
                        l.split_once("address=")
                            .map(|(_, a)| a.split_whitespace().next().unwrap_or(""))
                    })
                    .filter(|a| !a.is_empty())
                {
                    break addr.to_owned();
                }
                if start.elapsed() > Duration::from_secs(120) {
                    bail!(
                        "pharos did not log its address within 120s; end of {}:\n{}",
                        log.display(),
                        log_tail(&log)
                    );
                }
                std::thread::sleep(Duration::from_millis(50));
            };
            let base = Url::parse(&format!("http://{addr}/")).context("pharos address")?;
            wait_ready(&mut proc, client, base.join("/-/ready")?.as_str())?;
            Ok(Started {
                proc,
                base,
                version: pharos_version(),
            })
        }
        Server::Prometheus => {
            let port = free_port()?;
            let config = dir.join("prometheus.yml");
            std::fs::write(&config, "global:\n  scrape_interval: 15s\nscrape_configs: []\n")
                .context("writing prometheus.yml")?;
            let a = vec![
                format!("--config.file={}", config.display()),
                format!("--storage.tsdb.path={}", dir.join("data").display()),
                format!("--web.listen-address=127.0.0.1:{port}"),
                "--web.enable-remote-write-receiver".into(),
                "--web.enable-admin-api".into(),
            ];
            let mut proc = spawn("prometheus", &args.prometheus_bin, &a, &log)?;
            let base = Url::parse(&format!("http://127.0.0.1:{port}/")).context("prometheus address")?;
            wait_ready(&mut proc, client, base.join("/-/ready")?.as_str())?;
            Ok(Started {
                proc,
                base,
                version: first_line(&args.prometheus_bin, &["--version"]),
            })
        }
        Server::Influxdb => {
            let (http, rpc) = (free_port()?, free_port()?);
            let config = dir.join("influxdb.conf");
            let d = dir.display();
            let text = format!(
                "reporting-disabled = true\nbind-address = \"127.0.0.1:{rpc}\"\n\n[meta]\n  dir = \"{d}/meta\"\n\n\
                 [data]\n  dir = \"{d}/data\"\n  wal-dir = \"{d}/wal\"\n  query-log-enabled = false\n\n\
                 [monitor]\n  store-enabled = false\n\n[http]\n  enabled = true\n  bind-address = \"127.0.0.1:{http}\"\n  \
                 log-enabled = false\n\n[continuous_queries]\n  enabled = false\n"
            );
            std::fs::write(&config, text).context("writing influxdb.conf")?;
            let a = vec!["-config".to_owned(), config.display().to_string()];
            let mut proc = spawn("influxd", &args.influxd_bin, &a, &log)?;
            let base = Url::parse(&format!("http://127.0.0.1:{http}/")).context("influxdb address")?;
            wait_ready(&mut proc, client, base.join("/ping")?.as_str())?;
            let resp = client
                .post(base.join("/query")?)
                .form(&[("q", "CREATE DATABASE bench")])
                .send()
                .context("creating the influxdb database")?;
            if !resp.status().is_success() {
                bail!(
                    "CREATE DATABASE bench: HTTP {}: {}",
                    resp.status(),
                    resp.text().unwrap_or_default()
                );
            }
            Ok(Started {
                proc,
                base,
                version: first_line(&args.influxd_bin, &["version"]),
            })
        }
    }
}

/// The series every server is asked about: host 0, CPU 0, idle.
fn verify_matchers() -> [(&'static str, String); 3] {
    [
        ("instance", instance(0)),
        ("cpu", "0".into()),
        ("mode", "idle".into()),
    ]
}

fn verify(server: Server, client: &Client, base: &Url, fleet: &Fleet) -> anyhow::Result<Verify> {
    let m = verify_matchers();
    let selector = format!(
        "node_cpu_seconds_total{{{}}}",
        m.iter()
            .map(|(k, v)| format!("{k}=\"{v}\""))
            .collect::<Vec<_>>()
            .join(",")
    );
    let get_json = |url: Url, query: &[(&str, String)]| -> anyhow::Result<String> {
        let resp = client
            .get(url)
            .query(query)
            .send()
            .context("verification query")?;
        let status = resp.status();
        let text = resp.text().context("reading the verification answer")?;
        if !status.is_success() {
            bail!("verification query: HTTP {status}: {text}");
        }
        Ok(text)
    };
    let found = match server {
        Server::Pharos => {
            let text = get_json(base.join("/api/v1/export")?, &[("match[]", selector.clone())])?;
            let mut n = 0;
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let v: Value = serde_json::from_str(line).context("parsing export output")?;
                n += v["timestamps"].as_array().map_or(0, Vec::len) as u64;
            }
            n
        }
        Server::Prometheus => {
            let range = (fleet.end_ms() - fleet.start_ms) / 1000 + 300;
            let time = format!("{:.3}", fleet.end_ms() as f64 / 1000.0);
            let text = get_json(
                base.join("/api/v1/query")?,
                &[("query", format!("{selector}[{range}s]")), ("time", time)],
            )?;
            let v: Value = serde_json::from_str(&text).context("parsing the query answer")?;
            v["data"]["result"].as_array().map_or(0, |r| {
                r.iter()
                    .map(|s| s["values"].as_array().map_or(0, Vec::len) as u64)
                    .sum()
            })
        }
        Server::Influxdb => {
            let cond = m
                .iter()
                .map(|(k, v)| format!("\"{k}\"='{v}'"))
                .collect::<Vec<_>>()
                .join(" AND ");
            let q = format!("SELECT count(\"value\") FROM \"node_cpu_seconds_total\" WHERE {cond}");
            let text = get_json(base.join("/query")?, &[("db", "bench".into()), ("q", q)])?;
            let v: Value = serde_json::from_str(&text).context("parsing the query answer")?;
            v["results"][0]["series"][0]["values"][0][1].as_u64().unwrap_or(0)
        }
    };
    Ok(Verify {
        series: selector,
        expected: fleet.steps as u64,
        found,
    })
}

fn bench_one(server: Server, args: &Args, fleet: &Fleet, out: &Path, ticks: u64) -> anyhow::Result<Outcome> {
    // Declared before the server so that it is removed after the server is stopped.
    let dir = tempfile::Builder::new()
        .prefix(&format!("pharos-bench-{}-", format!("{server:?}").to_lowercase()))
        .tempdir()
        .context("creating a temporary directory")?;
    let client = Client::builder()
        .timeout(Duration::from_secs(600))
        .build()
        .context("building the HTTP client")?;
    let Started {
        mut proc,
        base,
        version,
    } = start(server, args, dir.path(), out, &client)?;
    let pid = proc.pid();
    eprintln!(
        "compare: {} ({version}) ready at {base}, pid {pid}, in {}",
        server.title(),
        dir.path().display()
    );

    let cpu_before = cpu_ticks(pid)?;
    let protocol = server.protocol();
    let url = match server {
        Server::Influxdb => load::endpoint(&format!("{base}write?db=bench&precision=ms"), protocol)?,
        _ => load::endpoint(base.as_str(), protocol)?,
    };
    let opts = load::Options {
        name: server.title().to_lowercase(),
        url,
        protocol,
        concurrency: args.workload.concurrency,
        batch: args.workload.batch,
        progress_every: Duration::from_secs(10),
    };
    let stats = load::run(fleet, &opts)?;
    proc.check_alive()?;
    let cpu_after = cpu_ticks(pid)?;
    let rss = peak_rss(pid)?;
    let cpu_seconds = (cpu_after - cpu_before) as f64 / ticks as f64;
    let data = dir.path().join("data");
    let disk_after_load = dir_size(dir.path())?;
    let verify = verify(server, &client, &base, fleet)?;
    eprintln!(
        "compare: {}: {} has {} samples, expected {}",
        server.title(),
        verify.series,
        verify.found,
        verify.expected
    );

    let (persisted, persist_seconds, what) = match server {
        Server::Pharos => {
            let took = proc.terminate(Duration::from_secs(600))?;
            (
                dir_size(&data)?,
                took,
                "data directory after SIGTERM (WAL checkpoint, blocks)".to_owned(),
            )
        }
        Server::Prometheus => {
            let start = Instant::now();
            let resp = client
                .post(base.join("/api/v1/admin/tsdb/snapshot")?)
                .query(&[("skip_head", "false")])
                .send()
                .context("requesting a snapshot")?;
            let status = resp.status();
            let text = resp.text().context("reading the snapshot answer")?;
            if !status.is_success() {
                bail!("snapshot: HTTP {status}: {text}");
            }
            let took = start.elapsed();
            let v: Value = serde_json::from_str(&text).context("parsing the snapshot answer")?;
            let name = v["data"]["name"]
                .as_str()
                .context("snapshot answer without data.name")?;
            let size = dir_size(&data.join("snapshots").join(name))?;
            proc.terminate(Duration::from_secs(600))?;
            (size, took, "snapshot (skip_head=false) directory".to_owned())
        }
        Server::Influxdb => {
            let took = proc.terminate(Duration::from_secs(600))?;
            let (d, w) = (dir_size(&data)?, dir_size(&dir.path().join("wal"))?);
            (
                (d.0 + w.0, d.1 + w.1),
                took,
                "data and wal directories after SIGTERM".to_owned(),
            )
        }
    };
    drop(proc);
    let acked = stats.samples_acked;
    let active_series = fleet.series();
    let outcome = Outcome {
        server,
        version,
        protocol,
        active_series,
        cpu_seconds,
        peak_rss_bytes: rss,
        disk_bytes_after_load: disk_after_load.0,
        disk_allocated_bytes_after_load: disk_after_load.1,
        persisted_bytes: persisted.0,
        persisted_allocated_bytes: persisted.1,
        persisted_what: what,
        persist_seconds: persist_seconds.as_secs_f64(),
        verify,
        samples_per_cpu_second: acked as f64 / cpu_seconds.max(1e-9),
        rss_bytes_per_series: rss as f64 / active_series.max(1) as f64,
        bytes_per_sample: persisted.0 as f64 / acked.max(1) as f64,
        bytes_per_sample_allocated: persisted.1 as f64 / acked.max(1) as f64,
        samples_per_second: acked as f64 / stats.wall_seconds.max(1e-9),
        load: stats,
    };
    eprintln!(
        "compare: {}: {:.2} CPU s, {:.0} samples/CPU-s, peak RSS {} bytes, {} bytes persisted ({:.4} bytes/sample)",
        server.title(),
        outcome.cpu_seconds,
        outcome.samples_per_cpu_second,
        outcome.peak_rss_bytes,
        outcome.persisted_bytes,
        outcome.bytes_per_sample
    );
    Ok(outcome)
}

const BEGIN: &str = "<!-- pharos bench compare: begin (generated; rerun the command to replace) -->";
const END: &str = "<!-- pharos bench compare: end -->";

fn gib(b: u64) -> String {
    format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64)
}

fn markdown(r: &Report) -> String {
    let w = &r.workload;
    let m = &r.machine;
    let mut s = String::new();
    let _ = writeln!(s, "{BEGIN}");
    let _ = writeln!(s, "## Side by side: Pharos, Prometheus, InfluxDB\n");
    let _ = writeln!(s, "Command: `{}`\n", r.command);
    let _ = writeln!(s, "- Date: {}", r.date);
    let _ = writeln!(
        s,
        "- Machine: {} CPUs (`nproc`), {}, {} memory ({} bytes), Linux {}",
        m.nproc,
        m.cpu_model,
        gib(m.mem_total_bytes),
        m.mem_total_bytes,
        m.kernel
    );
    let versions: Vec<String> = r
        .results
        .iter()
        .filter_map(|x| x.as_ref().ok())
        .map(|o| format!("{}: `{}`", o.server.title(), o.version))
        .collect();
    let _ = writeln!(s, "- Versions: {}", versions.join("; "));
    let _ = writeln!(
        s,
        "- Workload: {} hosts × 100 series = {} active series, {} s of data at a {} s interval = {} samples per series, \
         {} samples per server; batches of {} samples, {} sender threads, seed {}. Pharos and Prometheus receive \
         remote write 1.0, InfluxDB line protocol (one measurement per metric, field `value`, ms precision).\n",
        w.hosts,
        w.series,
        w.span_seconds,
        w.interval_seconds,
        w.samples_per_series,
        w.samples,
        w.batch,
        w.concurrency,
        w.seed
    );

    let ok: Vec<&Outcome> = r.results.iter().filter_map(|x| x.as_ref().ok()).collect();
    let _ = write!(s, "| |");
    for x in &r.results {
        let title = match x {
            Ok(o) => o.server.title(),
            Err((srv, _)) => srv.title(),
        };
        let _ = write!(s, " {title} |");
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "|---|{}", "---:|".repeat(r.results.len()));
    let row = |s: &mut String, label: &str, f: &dyn Fn(&Outcome) -> String| {
        let _ = write!(s, "| {label} |");
        for x in &r.results {
            let cell = match x {
                Ok(o) => f(o),
                Err(_) => "failed".into(),
            };
            let _ = write!(s, " {cell} |");
        }
        let _ = writeln!(s);
    };
    row(&mut s, "samples sent", &|o| o.load.samples_sent.to_string());
    row(&mut s, "samples acknowledged", &|o| {
        o.load.samples_acked.to_string()
    });
    row(&mut s, "requests refused (non-2xx) / lost", &|o| {
        format!("{} / {}", o.load.requests_refused, o.load.requests_lost)
    });
    row(&mut s, "load wall time (s)", &|o| {
        format!("{:.2}", o.load.wall_seconds)
    });
    row(&mut s, "wall throughput (samples/s)", &|o| {
        format!("{:.0}", o.samples_per_second)
    });
    row(&mut s, "server CPU during load (s)", &|o| {
        format!("{:.2}", o.cpu_seconds)
    });
    row(&mut s, "samples per server CPU-second", &|o| {
        format!("{:.0}", o.samples_per_cpu_second)
    });
    row(&mut s, "peak RSS (bytes)", &|o| o.peak_rss_bytes.to_string());
    row(&mut s, "peak RSS per active series (bytes)", &|o| {
        format!("{:.1}", o.rss_bytes_per_series)
    });
    row(
        &mut s,
        "disk right after load, WAL included: apparent / allocated (bytes)",
        &|o| {
            format!(
                "{} / {}",
                o.disk_bytes_after_load, o.disk_allocated_bytes_after_load
            )
        },
    );
    row(&mut s, "persisted, apparent size (bytes)", &|o| {
        o.persisted_bytes.to_string()
    });
    row(
        &mut s,
        "persisted, allocated blocks as `du` counts them (bytes)",
        &|o| o.persisted_allocated_bytes.to_string(),
    );
    row(&mut s, "bytes per sample on disk (apparent)", &|o| {
        format!("{:.4}", o.bytes_per_sample)
    });
    row(&mut s, "bytes per sample on disk (allocated)", &|o| {
        format!("{:.4}", o.bytes_per_sample_allocated)
    });
    row(&mut s, "persist time (s)", &|o| {
        format!("{:.2}", o.persist_seconds)
    });
    row(&mut s, "check: samples of one series found / expected", &|o| {
        format!("{} / {}", o.verify.found, o.verify.expected)
    });

    let pharos = ok.iter().find(|o| o.server == Server::Pharos);
    let others: Vec<&&Outcome> = ok.iter().filter(|o| o.server != Server::Pharos).collect();
    if let (Some(p), false) = (pharos, others.is_empty()) {
        let _ = write!(s, "\n| ratio |");
        for o in &others {
            let _ = write!(s, " Pharos / {} |", o.server.title());
        }
        let _ = writeln!(s, " better when |");
        let _ = writeln!(s, "|---|{}---|", "---:|".repeat(others.len()));
        type Metric = fn(&Outcome) -> f64;
        let ratios: [(&str, Metric, &str); 5] = [
            (
                "samples per server CPU-second",
                |o| o.samples_per_cpu_second,
                "> 1",
            ),
            ("peak RSS per active series", |o| o.rss_bytes_per_series, "< 1"),
            (
                "bytes per sample on disk (apparent)",
                |o| o.bytes_per_sample,
                "< 1",
            ),
            (
                "bytes per sample on disk (allocated)",
                |o| o.bytes_per_sample_allocated,
                "< 1",
            ),
            ("wall throughput", |o| o.samples_per_second, "> 1"),
        ];
        for (label, f, better) in ratios {
            let _ = write!(s, "| {label} |");
            for o in &others {
                let _ = write!(s, " {:.3} |", f(p) / f(o).max(1e-12));
            }
            let _ = writeln!(s, " {better} |");
        }
    }
    for x in &r.results {
        if let Err((srv, e)) = x {
            let _ = writeln!(
                s,
                "\n{} failed: `{}`",
                srv.title(),
                e.lines().next().unwrap_or_default()
            );
        }
    }
    let _ = writeln!(
        s,
        "\nServers run one after another, each fresh in its own temporary directory on 127.0.0.1, with the \
         load generator in the same process as this command (so it shares the CPUs with the server). \
         CPU is utime+stime of the server process from `/proc/PID/stat`, read after startup and again right \
         after the last acknowledgement; peak RSS is `VmHWM`. Persisted bytes: {}. Bytes per sample divide \
         that by the acknowledged samples. Apparent size is the sum of file lengths; allocated counts the \
         blocks actually used (`st_blocks` × 512), which differs for sparse preallocated files such as \
         InfluxDB's 4 MiB `_series` segments and for files smaller than a block.",
        ok.iter()
            .map(|o| format!("{}: {}", o.server.title(), o.persisted_what))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let _ = writeln!(s, "{END}");
    s
}

/// Replaces the generated section of `path`, or appends it; creates the file if needed.
fn write_section(path: &Path, section: &str) -> anyhow::Result<()> {
    let old = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "# Benchmarks\n".to_owned(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let new = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if e > b => {
            let tail = &old[e + END.len()..];
            format!("{}{}{}", &old[..b], section.trim_end(), tail)
        }
        _ => format!("{}\n{}", old.trim_end_matches('\n').to_owned() + "\n", section),
    };
    std::fs::write(path, new).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_is_replaced_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("B.md");
        std::fs::write(&p, "# Benchmarks\n\nintro\n").unwrap();
        write_section(&p, &format!("{BEGIN}\none\n{END}\n")).unwrap();
        std::fs::write(&p, std::fs::read_to_string(&p).unwrap() + "\n## After\n").unwrap();
        write_section(&p, &format!("{BEGIN}\ntwo\n{END}\n")).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(
            text,
            format!("# Benchmarks\n\nintro\n\n{BEGIN}\ntwo\n{END}\n\n## After\n")
        );
    }

    #[test]
    fn proc_stat_parsing() {
        let me = std::process::id();
        assert!(cpu_ticks(me).is_ok());
        assert!(peak_rss(me).unwrap() > 0);
    }
}
