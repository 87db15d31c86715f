//! The servers under test as child processes: starting each fresh in a directory of its own, sending
//! it the fleet, and reading its CPU time and memory from /proc. Shared by `compare`, `query` and
//! `scrape`.
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

use crate::fleet::Fleet;
use crate::load::{self, Protocol};
use crate::report::date;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Server {
    Pharos,
    Prometheus,
    Influxdb,
}

impl Server {
    pub(crate) fn title(self) -> &'static str {
        match self {
            Server::Pharos => "Pharos",
            Server::Prometheus => "Prometheus",
            Server::Influxdb => "InfluxDB",
        }
    }

    /// Lower case, for file names and progress lines.
    pub(crate) fn slug(self) -> &'static str {
        match self {
            Server::Pharos => "pharos",
            Server::Prometheus => "prometheus",
            Server::Influxdb => "influxdb",
        }
    }

    pub(crate) fn protocol(self) -> Protocol {
        match self {
            Server::Pharos | Server::Prometheus => Protocol::RemoteWrite,
            Server::Influxdb => Protocol::Influx,
        }
    }
}

/// A child process that is killed if still running when this is dropped.
pub(crate) struct Proc {
    child: Child,
    name: &'static str,
    log: PathBuf,
}

impl Proc {
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails with the end of the log if the process has exited.
    pub(crate) fn check_alive(&mut self) -> anyhow::Result<()> {
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
    pub(crate) fn terminate(&mut self, limit: Duration) -> anyhow::Result<Duration> {
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

pub(crate) fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr().context("finding a free port")?.port())
}

pub(crate) fn spawn(name: &'static str, program: &Path, args: &[String], log: &Path) -> anyhow::Result<Proc> {
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
pub(crate) fn wait_ready(proc: &mut Proc, client: &Client, url: &str) -> anyhow::Result<()> {
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
pub(crate) fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
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
pub(crate) fn peak_rss(pid: u32) -> anyhow::Result<u64> {
    status_bytes(pid, "VmHWM")
}

/// VmRSS of a process, in bytes.
pub(crate) fn current_rss(pid: u32) -> anyhow::Result<u64> {
    status_bytes(pid, "VmRSS")
}

/// Lowers a process's VmHWM to its current RSS (Linux's `clear_refs` 5), so that the next
/// [`peak_rss`] tells the peak reached from now on.
pub(crate) fn reset_peak_rss(pid: u32) -> anyhow::Result<()> {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5")
        .with_context(|| format!("resetting the peak RSS in /proc/{pid}/clear_refs"))
}

fn status_bytes(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .with_context(|| format!("no {field} in /proc/{pid}/status"))?;
    Ok(kb * 1024)
}

pub(crate) fn clock_ticks() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

pub(crate) fn first_line(program: &Path, args: &[&str]) -> String {
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

/// The third-party servers' executables.
pub(crate) struct Binaries<'a> {
    pub(crate) prometheus: &'a Path,
    pub(crate) influxd: &'a Path,
}

/// A started server and where it listens.
pub(crate) struct Started {
    pub(crate) proc: Proc,
    pub(crate) base: Url,
    pub(crate) version: String,
}

/// A temporary directory for one server's data, removed when dropped.
pub(crate) fn temp_dir(server: Server) -> anyhow::Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(&format!("pharos-bench-{}-", server.slug()))
        .tempdir()
        .context("creating a temporary directory")
}

/// How a server is configured beyond the flags every run uses.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Setup<'a> {
    /// The per-query sample limit of a query server (Pharos's `limits.max_query_samples`,
    /// Prometheus's `--query.max-samples`); `None` keeps its default.
    pub(crate) max_query_samples: Option<usize>,
    /// Prometheus's `global` and `scrape_configs` sections as YAML, given unchanged to both servers;
    /// `None` scrapes nothing.
    pub(crate) scrape: Option<&'a str>,
}

/// Starts `server` with its data in `dir` and its output in `log`, and waits until it is ready.
pub(crate) fn start(
    server: Server,
    bins: &Binaries<'_>,
    dir: &Path,
    log: &Path,
    client: &Client,
    setup: Setup<'_>,
) -> anyhow::Result<Started> {
    let max_query_samples = setup.max_query_samples;
    match server {
        Server::Pharos => {
            let exe = std::env::current_exe().context("locating the pharos binary")?;
            let data = dir.join("data");
            let mut a: Vec<String> = ["server", "--listen", "127.0.0.1:0", "--data-dir"]
                .iter()
                .map(|s| (*s).to_owned())
                .chain([data.display().to_string(), "--wal-fsync".into(), "always".into()])
                .collect();
            let mut config_text = String::new();
            if let Some(n) = max_query_samples {
                let _ = writeln!(config_text, "limits:\n  max_query_samples: {n}");
            }
            if let Some(scrape) = setup.scrape {
                config_text.push_str(scrape);
                // Prometheus scrapes only the given jobs: Pharos's built-in host collector (its
                // own node_exporter job) would add work and series that Prometheus does not have.
                config_text.push_str("host_metrics:\n  enabled: false\n");
            }
            if !config_text.is_empty() {
                let config = dir.join("pharos.yml");
                std::fs::write(&config, config_text).context("writing pharos.yml")?;
                a.extend(["--config".into(), config.display().to_string()]);
            }
            let mut proc = spawn("pharos", &exe, &a, log)?;
            let start = Instant::now();
            let addr = loop {
                proc.check_alive()?;
                let text = std::fs::read_to_string(log).unwrap_or_default();
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
                        log_tail(log)
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
            let scrape = setup
                .scrape
                .unwrap_or("global:\n  scrape_interval: 15s\nscrape_configs: []\n");
            std::fs::write(&config, scrape).context("writing prometheus.yml")?;
            let mut a = vec![
                format!("--config.file={}", config.display()),
                format!("--storage.tsdb.path={}", dir.join("data").display()),
                format!("--web.listen-address=127.0.0.1:{port}"),
                "--web.enable-remote-write-receiver".into(),
                "--web.enable-admin-api".into(),
            ];
            a.extend(max_query_samples.map(|n| format!("--query.max-samples={n}")));
            let mut proc = spawn("prometheus", bins.prometheus, &a, log)?;
            let base = Url::parse(&format!("http://127.0.0.1:{port}/")).context("prometheus address")?;
            wait_ready(&mut proc, client, base.join("/-/ready")?.as_str())?;
            Ok(Started {
                proc,
                base,
                version: first_line(bins.prometheus, &["--version"]),
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
            let mut proc = spawn("influxd", bins.influxd, &a, log)?;
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
                version: first_line(bins.influxd, &["version"]),
            })
        }
    }
}

/// Sends the whole fleet to a started server in its native protocol: remote write 1.0 to Pharos and
/// Prometheus, line protocol to InfluxDB's `bench` database.
pub(crate) fn send_fleet(
    server: Server,
    base: &Url,
    fleet: &Fleet,
    workload: &crate::Workload,
    progress_every: Duration,
) -> anyhow::Result<load::Stats> {
    let protocol = server.protocol();
    let url = match server {
        Server::Influxdb => load::endpoint(&format!("{base}write?db=bench&precision=ms"), protocol)?,
        _ => load::endpoint(base.as_str(), protocol)?,
    };
    let opts = load::Options {
        name: server.slug().to_owned(),
        url,
        protocol,
        concurrency: workload.concurrency,
        batch: workload.batch,
        progress_every,
    };
    load::run(fleet, &opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_stat_parsing() {
        let me = std::process::id();
        assert!(cpu_ticks(me).is_ok());
        assert!(peak_rss(me).unwrap() > 0);
    }
}
