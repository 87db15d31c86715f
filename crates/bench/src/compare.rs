//! `pharos bench compare`: each server in turn, never two at once, fresh in its own temporary
//! directory: start it, send it the fleet, read its CPU time and peak memory from /proc, check one
//! series, make it persist, measure what it left on disk, stop it. Then one table, a JSON file, and
//! optionally a section of BENCHMARKS.md.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::Url;
use reqwest::blocking::Client;
use serde::Serialize;
use serde_json::Value;

use crate::fleet::{Fleet, instance};
use crate::load::{self, Protocol};
use crate::report::{Machine, WorkloadFacts, command_line, date, machine, section_head};
use crate::server::{self, Binaries, Server, Started, clock_ticks, cpu_ticks, peak_rss};

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
    #[command(flatten)]
    md: crate::report::MarkdownOut,
    #[arg(long, default_value = "prometheus")]
    prometheus_bin: PathBuf,
    #[arg(long, default_value = "influxd")]
    influxd_bin: PathBuf,
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
struct Report {
    command: String,
    date: String,
    machine: Machine,
    workload: WorkloadFacts,
    results: Vec<Result<Outcome, (Server, String)>>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let (out, fleet) = crate::prepare(&args.out, args.hosts, &args.workload)?;
    let workload = WorkloadFacts::new(&fleet, &args.workload);
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
    args.md.write("compare", BEGIN, END, &md)?;
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
    let dir = server::temp_dir(server)?;
    let client = Client::builder()
        .timeout(Duration::from_secs(600))
        .build()
        .context("building the HTTP client")?;
    let Started {
        mut proc,
        base,
        version,
    } = server::start(
        server,
        &Binaries {
            prometheus: &args.prometheus_bin,
            influxd: &args.influxd_bin,
        },
        dir.path(),
        &out.join(format!("{}.log", server.slug())),
        &client,
        server::Setup::default(),
    )?;
    let pid = proc.pid();
    eprintln!(
        "compare: {} ({version}) ready at {base}, pid {pid}, in {}",
        server.title(),
        dir.path().display()
    );

    let cpu_before = cpu_ticks(pid)?;
    let stats = server::send_fleet(server, &base, fleet, &args.workload, Duration::from_secs(10))?;
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
        protocol: server.protocol(),
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

fn markdown(r: &Report) -> String {
    let versions: Vec<String> = r
        .results
        .iter()
        .filter_map(|x| x.as_ref().ok())
        .map(|o| format!("{}: `{}`", o.server.title(), o.version))
        .collect();
    let mut s = section_head(
        BEGIN,
        "Side by side: Pharos, Prometheus, InfluxDB",
        &r.command,
        &r.date,
        &r.machine,
        &versions,
    );
    let _ = writeln!(
        s,
        "- Workload: {}. Pharos and Prometheus receive remote write 1.0, InfluxDB line protocol (one \
         measurement per metric, field `value`, ms precision).\n",
        r.workload.sentence()
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
