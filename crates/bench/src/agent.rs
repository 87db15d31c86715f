//! `pharos bench agent`: what `pharos agent` costs on a host. The agent collects this machine's
//! metrics every interval, scrapes one local exporter (node_exporter-like series served by this
//! process, so that the agent moves about 1,000 series in all) and pushes everything by remote
//! write to a Pharos server; Debian's
//! node_exporter runs beside it and is scraped at the same interval by this process, as a
//! Prometheus would. Over the window, the CPU time and resident memory of both processes are read
//! from /proc, so the agent's cost stands next to the exporter's it replaces.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::blocking::Client;
use serde::Serialize;

use crate::parse_duration;
use crate::report::{Machine, command_line, date, machine, section_head};
use crate::server::{clock_ticks, cpu_ticks, current_rss, free_port, peak_rss, spawn, wait_ready};

/// Section markers: one section for the host collector alone (the floor's configuration), one for
/// the agent with a scraped exporter besides.
fn markers(scrape_series: usize) -> (&'static str, &'static str) {
    if scrape_series == 0 {
        (
            "<!-- pharos bench agent: begin (generated; rerun the command to replace) -->",
            "<!-- pharos bench agent: end -->",
        )
    } else {
        (
            "<!-- pharos bench agent scrape: begin (generated; rerun the command to replace) -->",
            "<!-- pharos bench agent scrape: end -->",
        )
    }
}

#[derive(clap::Args)]
pub struct Args {
    /// Collection interval of the agent's host metrics and of node_exporter's scrapes.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    interval: Duration,
    /// Length of the measured window.
    #[arg(long, default_value = "600s", value_parser = parse_duration)]
    window: Duration,
    /// Series of a local exporter the agent also scrapes (served by the bench); 0 measures the host
    /// collector alone. With 0 the run checks the floor (0.5% of a core, 20 MB); otherwise the
    /// deployment limit of 0.2 vCPU and 256 MB.
    #[arg(long, default_value_t = 0)]
    scrape_series: usize,
    /// Time after the start before the window opens.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    warmup: Duration,
    /// Directory for agent-results.json, the configurations and the logs.
    #[arg(long, default_value = "bench-out")]
    out: PathBuf,
    #[command(flatten)]
    md: crate::report::MarkdownOut,
    #[arg(long, default_value = "/usr/bin/prometheus-node-exporter")]
    node_exporter_bin: PathBuf,
}

/// One process's cost over the window.
#[derive(Debug, Clone, Serialize)]
struct Cost {
    cpu_seconds: f64,
    /// CPU time over wall time, in percent of one core.
    cpu_percent_of_core: f64,
    rss_avg_bytes: u64,
    rss_peak_bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
struct Report {
    command: String,
    date: String,
    machine: Machine,
    node_exporter_version: String,
    interval_seconds: f64,
    window_seconds: f64,
    /// Series the agent pushed per collection: its host collector's and the local exporter's, with
    /// the scrape reports.
    agent_series: u64,
    host_series: u64,
    /// Series node_exporter exposed per scrape.
    node_exporter_series: u64,
    samples_sent: f64,
    agent: Cost,
    node_exporter: Cost,
    /// What the floors ask: at most 0.5 % of a core and 20 MB resident on average.
    checks: Vec<String>,
}

struct Sampler {
    pid: u32,
    ticks0: u64,
    rss_sum: u128,
    rss_n: u64,
}

impl Sampler {
    fn new(pid: u32) -> anyhow::Result<Sampler> {
        Ok(Sampler {
            pid,
            ticks0: cpu_ticks(pid)?,
            rss_sum: 0,
            rss_n: 0,
        })
    }

    fn sample(&mut self) -> anyhow::Result<()> {
        self.rss_sum += u128::from(current_rss(self.pid)?);
        self.rss_n += 1;
        Ok(())
    }

    fn finish(&self, wall: Duration, per_second: u64) -> anyhow::Result<Cost> {
        let cpu = (cpu_ticks(self.pid)? - self.ticks0) as f64 / per_second as f64;
        Ok(Cost {
            cpu_seconds: cpu,
            cpu_percent_of_core: 100.0 * cpu / wall.as_secs_f64(),
            rss_avg_bytes: (self.rss_sum / u128::from(self.rss_n.max(1))) as u64,
            rss_peak_bytes: peak_rss(self.pid)?,
        })
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if !args.node_exporter_bin.exists() {
        bail!(
            "{} not found: install prometheus-node-exporter (scripts/install-deps.sh does)",
            args.node_exporter_bin.display()
        );
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let out = args.out.canonicalize()?;
    let exe = std::env::current_exe().context("locating the pharos binary")?;
    let client = Client::builder().timeout(Duration::from_secs(30)).build()?;
    let interval = args.interval;

    let server_port = free_port()?;
    let server_dir = out.join("agent-receiver");
    let _ = std::fs::remove_dir_all(&server_dir);
    let mut server = spawn(
        "pharos server",
        &exe,
        &[
            "server".into(),
            "--no-host-metrics".into(),
            "--listen".into(),
            format!("127.0.0.1:{server_port}"),
            "--data-dir".into(),
            server_dir.display().to_string(),
        ],
        &out.join("agent-receiver.log"),
    )?;
    wait_ready(
        &mut server,
        &client,
        &format!("http://127.0.0.1:{server_port}/-/ready"),
    )?;

    let ne_port = free_port()?;
    let mut ne = spawn(
        "node_exporter",
        &args.node_exporter_bin,
        &[format!("--web.listen-address=127.0.0.1:{ne_port}")],
        &out.join("agent-node-exporter.log"),
    )?;
    let ne_url = format!("http://127.0.0.1:{ne_port}/metrics");
    wait_ready(&mut ne, &client, &ne_url)?;

    let secs = interval.as_millis() as f64 / 1000.0;
    let exporter = (args.scrape_series > 0)
        .then(|| crate::exporter::Exporter::start(1, args.scrape_series, 1, interval.as_secs_f64()))
        .transpose()?;
    let scrape = match &exporter {
        Some(e) => format!(
            "scrape_configs:\n  - job_name: app\n    scrape_interval: {secs}s\n    static_configs: [{{targets: ['{}']}}]\n",
            e.addresses()[0]
        ),
        None => String::new(),
    };
    let config = out.join("agent.yml");
    std::fs::write(
        &config,
        format!(
            "host_metrics:\n  scrape_interval: {secs}s\n{scrape}remote_write:\n  - url: http://127.0.0.1:{server_port}/api/v1/write\n"
        ),
    )?;
    let agent_port = free_port()?;
    let agent_dir = out.join("agent-data");
    let _ = std::fs::remove_dir_all(&agent_dir);
    let mut agent = spawn(
        "pharos agent",
        &exe,
        &[
            "agent".into(),
            "--listen".into(),
            format!("127.0.0.1:{agent_port}"),
            "--config".into(),
            config.display().to_string(),
            "--data-dir".into(),
            agent_dir.display().to_string(),
        ],
        &out.join("agent.log"),
    )?;
    wait_ready(
        &mut agent,
        &client,
        &format!("http://127.0.0.1:{agent_port}/-/ready"),
    )?;
    eprintln!(
        "agent: agent and node_exporter collecting every {secs}s; warming up for {:?}, then measuring for {:?}",
        args.warmup, args.window
    );

    // node_exporter is scraped on the same schedule, as a Prometheus beside it would.
    let scrape_ne = |client: &Client| -> anyhow::Result<u64> {
        let body = client.get(&ne_url).send()?.text()?;
        Ok(body
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .count() as u64)
    };
    let start = Instant::now();
    let mut next_scrape = start;
    let mut ne_series = 0;
    let mut window: Option<(Instant, Sampler, Sampler)> = None;
    let mut last_progress = start;
    loop {
        let now = Instant::now();
        if now >= next_scrape {
            ne_series = scrape_ne(&client)?;
            next_scrape += interval;
        }
        agent.check_alive()?;
        ne.check_alive()?;
        server.check_alive()?;
        if window.is_none() && now >= start + args.warmup {
            window = Some((now, Sampler::new(agent.pid())?, Sampler::new(ne.pid())?));
            crate::server::reset_peak_rss(agent.pid())?;
            crate::server::reset_peak_rss(ne.pid())?;
            eprintln!("agent: window open");
        }
        if let Some((opened, a, n)) = &mut window {
            a.sample()?;
            n.sample()?;
            if now.duration_since(last_progress) >= Duration::from_secs(30) {
                last_progress = now;
                eprintln!(
                    "agent: {:.0}/{:.0}s of the window",
                    now.duration_since(*opened).as_secs_f64(),
                    args.window.as_secs_f64()
                );
            }
            if now.duration_since(*opened) >= args.window {
                break;
            }
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    let Some((opened, a, n)) = window else {
        bail!("the window never opened")
    };
    let wall = opened.elapsed();
    let per_second = clock_ticks();
    let agent_cost = a.finish(wall, per_second)?;
    let ne_cost = n.finish(wall, per_second)?;

    let metrics = client
        .get(format!("http://127.0.0.1:{agent_port}/metrics"))
        .send()?
        .text()?;
    let samples_sent: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("pharos_agent_remote_samples_sent_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    let q: serde_json::Value = client
        .get(format!("http://127.0.0.1:{server_port}/api/v1/query"))
        .query(&[("query", "count(last_over_time({job=~\"node|app\"}[1m]))")])
        .send()?
        .json()?;
    let agent_series = q["data"]["result"][0]["value"][1]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let q: serde_json::Value = client
        .get(format!("http://127.0.0.1:{server_port}/api/v1/query"))
        .query(&[("query", "count(last_over_time({job=\"node\"}[1m]))")])
        .send()?
        .json()?;
    let host_series = q["data"]["result"][0]["value"][1]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut checks = Vec::new();
    let (max_cpu, max_rss) = limits(args.scrape_series);
    if agent_cost.cpu_percent_of_core > max_cpu {
        checks.push(format!(
            "agent CPU {:.3}% of a core is over {max_cpu}%",
            agent_cost.cpu_percent_of_core
        ));
    }
    if agent_cost.rss_avg_bytes > max_rss {
        checks.push(format!(
            "agent average RSS {} bytes is over {} MB",
            agent_cost.rss_avg_bytes,
            max_rss / 1_000_000
        ));
    }
    if samples_sent <= 0.0 {
        checks.push("the receiver acknowledged no samples".into());
    }
    let version = Command::new(&args.node_exporter_bin)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr))
        .and_then(|t| t.lines().next().map(str::to_string))
        .unwrap_or_default();
    let report = Report {
        command: command_line(),
        date: date(None),
        machine: machine(),
        node_exporter_version: version,
        interval_seconds: interval.as_secs_f64(),
        window_seconds: wall.as_secs_f64(),
        agent_series,
        host_series,
        node_exporter_series: ne_series,
        samples_sent,
        agent: agent_cost,
        node_exporter: ne_cost,
        checks,
    };
    std::fs::write(
        out.join("agent-results.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    let md = markdown(&report, args.scrape_series);
    println!("{md}");
    let (begin, end) = markers(args.scrape_series);
    args.md.write("agent", begin, end, &md)?;
    if !report.checks.is_empty() {
        bail!("{}", report.checks.join("; "));
    }
    Ok(())
}

/// Most CPU (percent of one core) and average RSS (bytes) a run may use: the floor for the host
/// collector alone, the deployment limit (0.2 vCPU, 256 MB) with a scraped exporter.
fn limits(scrape_series: usize) -> (f64, u64) {
    if scrape_series == 0 {
        (0.5, 20_000_000)
    } else {
        (20.0, 256_000_000)
    }
}

fn mb(b: u64) -> String {
    format!("{:.1} MB", b as f64 / 1e6)
}

fn markdown(r: &Report, scrape_series: usize) -> String {
    let (begin, end) = markers(scrape_series);
    let title = if scrape_series == 0 {
        "Agent cost beside node_exporter: host metrics"
    } else {
        "Agent cost beside node_exporter: host metrics and a scraped exporter"
    };
    let head = section_head(
        begin,
        title,
        &r.command,
        &r.date,
        &r.machine,
        &[
            format!("Pharos {}", env!("CARGO_PKG_VERSION")),
            r.node_exporter_version.clone(),
        ],
    );
    let row = |name: &str, c: &Cost| {
        format!(
            "| {name} | {:.2} | {:.3}% | {} | {} |\n",
            c.cpu_seconds,
            c.cpu_percent_of_core,
            mb(c.rss_avg_bytes),
            mb(c.rss_peak_bytes)
        )
    };
    let what = if scrape_series == 0 {
        format!(
            "collects this machine's metrics every {}s ({} series with its scrape report)",
            r.interval_seconds, r.host_series
        )
    } else {
        format!(
            "collects this machine's metrics ({} series) and scrapes a local exporter served by the bench, both \
             every {}s ({} series in all, with the scrape reports)",
            r.host_series, r.interval_seconds, r.agent_series
        )
    };
    let (max_cpu, max_rss) = limits(scrape_series);
    let limit = if scrape_series == 0 {
        format!(
            "Floor: at most {max_cpu}% of one core and {} MB resident on average.",
            max_rss / 1_000_000
        )
    } else {
        format!(
            "Limit for a deployed agent: 0.2 vCPU ({max_cpu}% of one core) and {} MB.",
            max_rss / 1_000_000
        )
    };
    let verdict = if r.checks.is_empty() {
        "Met.".to_string()
    } else {
        format!("Not met: {}.", r.checks.join("; "))
    };
    format!(
        "{head}\n`pharos agent` {what}, and pushes them by remote write 1.0 to a Pharos server on the same \
         machine, through its disk buffer (fsync every second). Debian's node_exporter runs beside it and is \
         scraped every {interval}s by the bench, as a Prometheus would ({ne_series} series). Both are measured \
         over the same {window:.0}s window: CPU is utime+stime from `/proc/PID/stat`, RSS is VmRSS sampled every \
         second (average) and VmHWM (peak). The agent's receiver acknowledged {sent:.0} samples in the run.\n\n\
         | process | CPU seconds | CPU, % of one core | RSS average | RSS peak |\n|---|---|---|---|---|\n{a}{n}\n\
         {limit} {verdict}\n{end}\n",
        interval = r.interval_seconds,
        ne_series = r.node_exporter_series,
        window = r.window_seconds,
        sent = r.samples_sent,
        a = row("pharos agent", &r.agent),
        n = row("node_exporter", &r.node_exporter),
    )
}
