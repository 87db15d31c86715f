//! `pharos bench scrape`: Pharos and Prometheus scrape the same targets at the same time, from the
//! same `global` and `scrape_configs`, and the CPU each spends per scraped sample is compared.
//!
//! The targets are served by [`crate::exporter`] inside this process, which is not measured. Both
//! servers start fresh in their own temporary directories; once every target is up on both and a few
//! more rounds have passed, each server's CPU time is read at the start and the end of a window, and
//! each server is asked how many samples it scraped in that window (its own
//! `scrape_samples_scraped`), so the CPU is divided by what that server actually ingested. Then the
//! two must hold the same series, with every target up. One table per configuration, a JSON file,
//! and optionally a section of BENCHMARKS.md.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::Url;
use reqwest::blocking::Client;
use serde::Serialize;
use serde_json::Value;

use crate::exporter::{Exporter, Scraper};
use crate::report::{Machine, command_line, date, machine, section_head};
use crate::server::{
    self, Binaries, Proc, Server, Setup, Started, clock_ticks, cpu_ticks, current_rss, peak_rss,
};
use crate::{now_ms, parse_duration};

#[derive(clap::Args)]
pub struct Args {
    /// Targets, each on a port of its own.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    targets: u64,
    /// Series each target exposes.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    series: u64,
    /// `scrape_interval` of the job, for both servers.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    interval: Duration,
    /// Length of the measured window.
    #[arg(long, default_value = "120s", value_parser = parse_duration)]
    window: Duration,
    /// Scrape rounds between every target being up on both servers and the start of the window.
    #[arg(long, default_value_t = 3)]
    warmup_rounds: u32,
    /// Configurations to measure, each with fresh servers: `plain` (no relabeling) and `relabel`
    /// (`metric_relabel_configs` with a drop rule and a labeldrop).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "plain,relabel")]
    variants: Vec<Variant>,
    /// Seed of the targets' values.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Directory for scrape-results.json, the scrape configurations and the servers' logs.
    #[arg(long, default_value = "bench-out")]
    out: PathBuf,
    #[command(flatten)]
    md: crate::report::MarkdownOut,
    #[arg(long, default_value = "prometheus")]
    prometheus_bin: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Variant {
    Plain,
    Relabel,
}

impl Variant {
    fn title(self) -> &'static str {
        match self {
            Variant::Plain => "No relabeling",
            Variant::Relabel => "With metric relabeling",
        }
    }

    fn slug(self) -> &'static str {
        match self {
            Variant::Plain => "plain",
            Variant::Relabel => "relabel",
        }
    }

    /// The job's `metric_relabel_configs`, indented as a key of the job. Dropping the exporter's
    /// own families and a label nobody queries by is the usual way to trim node_exporter.
    fn relabel_yaml(self) -> &'static str {
        match self {
            Variant::Plain => "",
            Variant::Relabel => {
                "    metric_relabel_configs:\n      - source_labels: [__name__]\n        \
                 regex: 'go_.*|node_scrape_collector_.*'\n        action: drop\n      \
                 - regex: fstype\n        action: labeldrop\n"
            }
        }
    }
}

/// The servers compared, in the order they start.
const SERVERS: [Server; 2] = [Server::Pharos, Server::Prometheus];

const JOB: &str = "bench";

/// How often the window reports progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// A duration as Prometheus's configuration writes it.
fn prom_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// The `global` and `scrape_configs` sections both servers get.
fn scrape_yaml(variant: Variant, addresses: &[String], interval: Duration) -> String {
    let timeout = interval.min(Duration::from_secs(10));
    let mut s = format!(
        "global:\n  scrape_interval: {}\n  scrape_timeout: {}\nscrape_configs:\n  - job_name: {JOB}\n    \
         static_configs:\n      - targets:\n",
        prom_duration(interval),
        prom_duration(timeout)
    );
    for a in addresses {
        let _ = writeln!(s, "          - '{a}'");
    }
    s.push_str(variant.relabel_yaml());
    s
}

/// An instant query's answer: each series' labels and value.
type Vector = Vec<(BTreeMap<String, String>, f64)>;

fn instant(client: &Client, base: &Url, query: &str, time_ms: i64) -> anyhow::Result<Vector> {
    let time = format!("{:.3}", time_ms as f64 / 1000.0);
    let resp = client
        .get(base.join("/api/v1/query")?)
        .query(&[("query", query), ("time", &time)])
        .send()
        .with_context(|| format!("query {query}"))?;
    let status = resp.status();
    let text = resp
        .text()
        .with_context(|| format!("reading the answer to {query}"))?;
    if !status.is_success() {
        bail!(
            "query {query}: HTTP {status}: {}",
            text.chars().take(300).collect::<String>()
        );
    }
    let v: Value = serde_json::from_str(&text).with_context(|| format!("query {query}: not JSON"))?;
    let result = v["data"]["result"]
        .as_array()
        .with_context(|| format!("query {query}: no data.result in {text:.300}"))?;
    let mut out = Vec::with_capacity(result.len());
    for s in result {
        let labels = s["metric"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let value: f64 = s["value"][1]
            .as_str()
            .and_then(|x| x.parse().ok())
            .with_context(|| format!("query {query}: a sample without a value"))?;
        out.push((labels, value));
    }
    Ok(out)
}

/// The value of a query that answers one series (an aggregation), 0 when it answers none.
fn scalar(client: &Client, base: &Url, query: &str, time_ms: i64) -> anyhow::Result<f64> {
    let v = instant(client, base, query, time_ms)?;
    if v.len() > 1 {
        bail!("query {query}: expected one series, got {}", v.len());
    }
    Ok(v.first().map_or(0.0, |(_, x)| *x))
}

/// A server scraping the targets.
struct Running {
    server: Server,
    proc: Proc,
    base: Url,
    version: String,
}

impl Running {
    fn scraper(&self) -> Scraper {
        match self.server {
            Server::Pharos => Scraper::Pharos,
            _ => Scraper::Prometheus,
        }
    }
}

/// One server's numbers for one configuration.
#[derive(Debug, Clone, Serialize)]
struct Side {
    server: Server,
    version: String,
    /// utime + stime over the window.
    cpu_seconds: f64,
    /// Scrapes in the window, by the server's own `up` series.
    scrapes: u64,
    /// Of those, scrapes with `up` 0.
    failed_scrapes: u64,
    /// `scrape_samples_scraped` summed over the window.
    samples_scraped: u64,
    /// `scrape_samples_post_metric_relabeling` summed over the window.
    samples_post_relabel: u64,
    /// Bodies the exporter sent this server in the window, and how many of them compressed.
    bodies_served: u64,
    bodies_gzip: u64,
    cpu_seconds_per_million_samples: f64,
    /// VmHWM at the end of the window: the highest RSS since the start, first scrapes included.
    peak_rss_bytes: u64,
    /// VmRSS at the end of the window.
    final_rss_bytes: u64,
    /// `count({job="bench"})` after the window.
    series_for_job: u64,
    /// `count(up{job="bench"} == 1)` and `count(up{job="bench"})` after the window.
    targets_up: u64,
    targets_reporting: u64,
}

#[derive(Debug, Clone, Serialize)]
struct VariantOutcome {
    variant: Variant,
    scrape_config: String,
    window_start_ms: i64,
    window_end_ms: i64,
    window_seconds: f64,
    sides: Vec<Side>,
    /// Pharos / Prometheus.
    cpu_per_sample_ratio: f64,
    peak_rss_ratio: f64,
    final_rss_ratio: f64,
    /// Series per metric name that differ between the servers; empty when they agree.
    series_differences: Vec<String>,
    /// Checks that failed: a target down, different series counts.
    failed_checks: Vec<String>,
    /// CPU of this process (the exporter) over the window.
    exporter_cpu_seconds: f64,
    bodies_rendered: u64,
}

#[derive(Debug, Clone, Serialize)]
struct Report {
    command: String,
    date: String,
    machine: Machine,
    targets: u64,
    series_per_target: usize,
    families: usize,
    body_bytes: usize,
    body_gzip_bytes: usize,
    interval_seconds: f64,
    window_seconds: f64,
    warmup_rounds: u32,
    seed: u64,
    results: Vec<Result<VariantOutcome, (Variant, String)>>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let out = args
        .out
        .canonicalize()
        .with_context(|| format!("resolving {}", args.out.display()))?;
    let exporter = Exporter::start(
        args.targets as usize,
        args.series as usize,
        args.seed,
        args.interval.as_secs_f64(),
    )?;
    let (body_bytes, body_gzip_bytes) = exporter.body_sizes();
    let template = exporter.template();
    eprintln!(
        "scrape: {} targets on 127.0.0.1 ports {}..{}, {} series each in {} families ({} bytes a body, {} gzipped), interval {}",
        args.targets,
        exporter.addresses().first().map_or("", String::as_str),
        exporter.addresses().last().map_or("", String::as_str),
        template.series(),
        template.families,
        body_bytes,
        body_gzip_bytes,
        prom_duration(args.interval)
    );
    let mut report = Report {
        command: command_line(),
        date: date(None),
        machine: machine(),
        targets: args.targets,
        series_per_target: template.series(),
        families: template.families,
        body_bytes,
        body_gzip_bytes,
        interval_seconds: args.interval.as_secs_f64(),
        window_seconds: args.window.as_secs_f64(),
        warmup_rounds: args.warmup_rounds,
        seed: args.seed,
        results: Vec::new(),
    };
    let client = Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .context("building the HTTP client")?;
    let ticks = clock_ticks();
    for &variant in &args.variants {
        eprintln!("scrape: === {} ===", variant.title());
        let r = run_variant(variant, &args, &exporter, &out, &client, ticks);
        if let Err(e) = &r {
            eprintln!("scrape: {} failed: {e:#}", variant.slug());
        }
        report.results.push(r.map_err(|e| (variant, format!("{e:#}"))));
        let json = serde_json::to_string_pretty(&report).context("serializing results")?;
        std::fs::write(out.join("scrape-results.json"), json).context("writing scrape-results.json")?;
    }
    let md = markdown(&report);
    println!("{md}");
    args.md.write("scrape", BEGIN, END, &md)?;
    eprintln!(
        "scrape: raw results in {}",
        out.join("scrape-results.json").display()
    );
    let mut failed = Vec::new();
    for r in &report.results {
        match r {
            Err((v, _)) => failed.push(format!("{} failed to run", v.slug())),
            Ok(o) if !o.failed_checks.is_empty() => {
                failed.push(format!("{}: {}", o.variant.slug(), o.failed_checks.join("; ")))
            }
            Ok(_) => {}
        }
    }
    if !failed.is_empty() {
        bail!("{}", failed.join("; "));
    }
    Ok(())
}

fn mib(b: u64) -> String {
    format!("{:.0}", b as f64 / (1u64 << 20) as f64)
}

fn cpu_seconds(ticks: u64, per_second: u64) -> f64 {
    ticks as f64 / per_second.max(1) as f64
}

/// Polls until every target is up on every server.
fn wait_all_up(
    tag: &str,
    running: &mut [Running],
    client: &Client,
    targets: u64,
    limit: Duration,
) -> anyhow::Result<()> {
    let start = Instant::now();
    let query = format!("count(up{{job=\"{JOB}\"}} == 1)");
    let mut last_report = Instant::now();
    loop {
        let mut counts = Vec::new();
        for r in running.iter_mut() {
            r.proc.check_alive()?;
            let n = scalar(client, &r.base, &query, now_ms()).unwrap_or(0.0) as u64;
            counts.push((r.server, n));
        }
        if counts.iter().all(|(_, n)| *n == targets) {
            eprintln!(
                "scrape: {tag} phase=up elapsed_s={:.0} every target up on both servers",
                start.elapsed().as_secs_f64()
            );
            return Ok(());
        }
        if start.elapsed() > limit {
            let shown: Vec<String> = counts.iter().map(|(s, n)| format!("{}: {n}", s.slug())).collect();
            bail!(
                "not every target was up within {limit:?} (targets up: {}); see the servers' logs",
                shown.join(", ")
            );
        }
        if last_report.elapsed() >= PROGRESS_EVERY {
            let shown: Vec<String> = counts
                .iter()
                .map(|(s, n)| format!("{}_targets_up={n}", s.slug()))
                .collect();
            eprintln!(
                "scrape: {tag} phase=up elapsed_s={:.0} {}",
                start.elapsed().as_secs_f64(),
                shown.join(" ")
            );
            last_report = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Sleeps for `d`, checking the servers every second and printing a progress line every
/// [`PROGRESS_EVERY`]; `line` gives the line's fields after the elapsed time.
fn wait_with_progress(
    tag: &str,
    phase: &str,
    d: Duration,
    running: &mut [Running],
    mut line: impl FnMut(&[Running]) -> String,
) -> anyhow::Result<()> {
    let start = Instant::now();
    let mut next = PROGRESS_EVERY;
    while start.elapsed() < d {
        let left = d.saturating_sub(start.elapsed());
        std::thread::sleep(left.min(Duration::from_secs(1)));
        for r in running.iter_mut() {
            r.proc.check_alive()?;
        }
        let elapsed = start.elapsed();
        if elapsed >= next && elapsed < d {
            eprintln!(
                "scrape: {tag} phase={phase} elapsed_s={:.0} {}",
                elapsed.as_secs_f64(),
                line(running)
            );
            next += PROGRESS_EVERY;
        }
    }
    Ok(())
}

fn run_variant(
    variant: Variant,
    args: &Args,
    exporter: &Exporter,
    out: &Path,
    client: &Client,
    ticks: u64,
) -> anyhow::Result<VariantOutcome> {
    let tag = format!("variant={}", variant.slug());
    exporter.restart_sequences();
    let yaml = scrape_yaml(variant, exporter.addresses(), args.interval);
    let config_path = out.join(format!("scrape-{}.yml", variant.slug()));
    std::fs::write(&config_path, &yaml).with_context(|| format!("writing {}", config_path.display()))?;
    // Declared before the servers so that they are removed after the servers are stopped.
    let dirs = [server::temp_dir(SERVERS[0])?, server::temp_dir(SERVERS[1])?];
    let bins = Binaries {
        prometheus: &args.prometheus_bin,
        influxd: Path::new("influxd"),
    };
    let mut running = Vec::new();
    for (server, dir) in SERVERS.into_iter().zip(&dirs) {
        let log = out.join(format!("{}-scrape-{}.log", server.slug(), variant.slug()));
        let Started { proc, base, version } = server::start(
            server,
            &bins,
            dir.path(),
            &log,
            client,
            Setup {
                max_query_samples: None,
                scrape: Some(&yaml),
            },
        )?;
        eprintln!(
            "scrape: {tag} {} ({version}) ready at {base}, pid {}, in {}",
            server.title(),
            proc.pid(),
            dir.path().display()
        );
        running.push(Running {
            server,
            proc,
            base,
            version,
        });
    }

    let interval = args.interval;
    wait_all_up(
        &tag,
        &mut running,
        client,
        args.targets,
        Duration::from_secs(60) + interval * 3,
    )?;
    let self_pid = std::process::id();
    let cpu_now =
        |rs: &[Running]| -> anyhow::Result<Vec<u64>> { rs.iter().map(|r| cpu_ticks(r.proc.pid())).collect() };
    let warm_cpu = cpu_now(&running)?;
    wait_with_progress(
        &tag,
        "warmup",
        interval * args.warmup_rounds,
        &mut running,
        |rs| {
            rs.iter()
                .zip(&warm_cpu)
                .map(|(r, c0)| {
                    let c = cpu_ticks(r.proc.pid()).unwrap_or(*c0);
                    format!(
                        "{}_cpu_s={:.2}",
                        r.server.slug(),
                        cpu_seconds(c.saturating_sub(*c0), ticks)
                    )
                })
                .collect::<Vec<_>>()
                .join(" ")
        },
    )?;

    let served0 = exporter.served();
    let exporter0 = cpu_ticks(self_pid)?;
    let cpu0 = cpu_now(&running)?;
    let t0 = now_ms();
    let started = Instant::now();
    eprintln!("scrape: {tag} phase=window elapsed_s=0 window_start_ms={t0}");
    wait_with_progress(&tag, "window", args.window, &mut running, |rs| {
        let served = exporter.served().since(&served0);
        let mut fields = Vec::new();
        for (r, c0) in rs.iter().zip(&cpu0) {
            let pid = r.proc.pid();
            let c = cpu_ticks(pid).unwrap_or(*c0);
            fields.push(format!(
                "{s}_cpu_s={:.2} {s}_rss_mib={} {s}_bodies={}",
                cpu_seconds(c.saturating_sub(*c0), ticks),
                current_rss(pid).map_or("?".into(), mib),
                served.get(r.scraper()),
                s = r.server.slug()
            ));
        }
        let own = cpu_ticks(self_pid).unwrap_or(exporter0);
        fields.push(format!(
            "exporter_cpu_s={:.2}",
            cpu_seconds(own.saturating_sub(exporter0), ticks)
        ));
        fields.join(" ")
    })?;
    let cpu1 = cpu_now(&running)?;
    let t1 = now_ms();
    let window_seconds = started.elapsed().as_secs_f64();
    let exporter1 = cpu_ticks(self_pid)?;
    let served = exporter.served().since(&served0);
    let rss: Vec<(u64, u64)> = running
        .iter()
        .map(|r| anyhow::Ok((peak_rss(r.proc.pid())?, current_rss(r.proc.pid())?)))
        .collect::<anyhow::Result<_>>()?;
    eprintln!(
        "scrape: {tag} phase=window elapsed_s={window_seconds:.0} window_end_ms={t1}; counting what each server scraped"
    );

    // Scrapes stamped just before the end may still be on their way into storage.
    std::thread::sleep(Duration::from_secs(2));
    let range = format!("{}ms", t1 - t0);
    let over = |r: &Running, f: &str, metric: &str| -> anyhow::Result<u64> {
        let q = format!("sum({f}({metric}{{job=\"{JOB}\"}}[{range}]))");
        Ok(scalar(client, &r.base, &q, t1)?.round() as u64)
    };
    let check_t = now_ms();
    let mut sides = Vec::new();
    let mut by_name: Vec<BTreeMap<String, u64>> = Vec::new();
    for ((r, (c0, c1)), (peak, fin)) in running.iter().zip(cpu0.iter().zip(&cpu1)).zip(&rss) {
        let scraped = over(r, "sum_over_time", "scrape_samples_scraped")?;
        let post = over(r, "sum_over_time", "scrape_samples_post_metric_relabeling")?;
        let scrapes = over(r, "count_over_time", "up")?;
        let up = over(r, "sum_over_time", "up")?;
        let count = |q: String| -> anyhow::Result<u64> { Ok(scalar(client, &r.base, &q, check_t)? as u64) };
        let series_for_job = count(format!("count({{job=\"{JOB}\"}})"))?;
        let targets_up = count(format!("count(up{{job=\"{JOB}\"}} == 1)"))?;
        let targets_reporting = count(format!("count(up{{job=\"{JOB}\"}})"))?;
        let names = instant(
            client,
            &r.base,
            &format!("count by (__name__) ({{job=\"{JOB}\"}})"),
            check_t,
        )?;
        by_name.push(
            names
                .into_iter()
                .map(|(l, v)| (l.get("__name__").cloned().unwrap_or_default(), v as u64))
                .collect(),
        );
        let cpu = cpu_seconds(c1.saturating_sub(*c0), ticks);
        let who = r.scraper();
        sides.push(Side {
            server: r.server,
            version: r.version.clone(),
            cpu_seconds: cpu,
            scrapes,
            failed_scrapes: scrapes.saturating_sub(up),
            samples_scraped: scraped,
            samples_post_relabel: post,
            bodies_served: served.get(who),
            bodies_gzip: match who {
                Scraper::Pharos => served.pharos_gzip,
                _ => served.prometheus_gzip,
            },
            cpu_seconds_per_million_samples: cpu / scraped.max(1) as f64 * 1e6,
            peak_rss_bytes: *peak,
            final_rss_bytes: *fin,
            series_for_job,
            targets_up,
            targets_reporting,
        });
    }
    for r in &mut running {
        if let Err(e) = r.proc.terminate(Duration::from_secs(300)) {
            eprintln!("scrape: {tag} stopping {}: {e:#}", r.server.title());
        }
    }
    drop(running);

    let mut series_differences = Vec::new();
    if let [a, b] = by_name.as_slice() {
        for name in a
            .keys()
            .chain(b.keys())
            .collect::<std::collections::BTreeSet<_>>()
        {
            let (x, y) = (
                a.get(name).copied().unwrap_or(0),
                b.get(name).copied().unwrap_or(0),
            );
            if x != y {
                series_differences.push(format!("{name}: Pharos {x}, Prometheus {y}"));
            }
        }
    }
    let mut failed_checks = Vec::new();
    for s in &sides {
        if s.targets_up != args.targets || s.targets_reporting != args.targets {
            failed_checks.push(format!(
                "{}: {} of {} targets up ({} reporting)",
                s.server.title(),
                s.targets_up,
                args.targets,
                s.targets_reporting
            ));
        }
        if s.failed_scrapes > 0 {
            failed_checks.push(format!(
                "{}: {} failed scrapes in the window",
                s.server.title(),
                s.failed_scrapes
            ));
        }
        if s.samples_scraped == 0 {
            failed_checks.push(format!("{}: no samples scraped in the window", s.server.title()));
        }
    }
    if let [p, q] = sides.as_slice() {
        if p.series_for_job != q.series_for_job {
            failed_checks.push(format!(
                "series of the job: Pharos {}, Prometheus {}",
                p.series_for_job, q.series_for_job
            ));
        }
        if !series_differences.is_empty() {
            failed_checks.push(format!(
                "{} metric names with different series counts, first {}",
                series_differences.len(),
                series_differences[0]
            ));
        }
    }
    let ratio = |f: fn(&Side) -> f64| match sides.as_slice() {
        [p, q] if f(q) > 0.0 => f(p) / f(q),
        _ => f64::NAN,
    };
    let outcome = VariantOutcome {
        variant,
        scrape_config: yaml,
        window_start_ms: t0,
        window_end_ms: t1,
        window_seconds,
        cpu_per_sample_ratio: ratio(|s| s.cpu_seconds_per_million_samples),
        peak_rss_ratio: ratio(|s| s.peak_rss_bytes as f64),
        final_rss_ratio: ratio(|s| s.final_rss_bytes as f64),
        sides,
        series_differences,
        failed_checks,
        exporter_cpu_seconds: cpu_seconds(exporter1.saturating_sub(exporter0), ticks),
        bodies_rendered: exporter.rendered(),
    };
    for s in &outcome.sides {
        eprintln!(
            "scrape: {tag} {}: {:.2} CPU s for {} samples in {} scrapes = {:.3} CPU s per million samples; peak RSS {} MiB, final {} MiB; {} series, {} targets up",
            s.server.title(),
            s.cpu_seconds,
            s.samples_scraped,
            s.scrapes,
            s.cpu_seconds_per_million_samples,
            mib(s.peak_rss_bytes),
            mib(s.final_rss_bytes),
            s.series_for_job,
            s.targets_up
        );
    }
    eprintln!(
        "scrape: {tag} CPU per sample Pharos / Prometheus = {:.3}; exporter used {:.2} CPU s",
        outcome.cpu_per_sample_ratio, outcome.exporter_cpu_seconds
    );
    for c in &outcome.failed_checks {
        eprintln!("scrape: {tag} check failed: {c}");
    }
    Ok(outcome)
}

const BEGIN: &str = "<!-- pharos bench scrape: begin (generated; rerun the command to replace) -->";
const END: &str = "<!-- pharos bench scrape: end -->";

/// The floor this benchmark checks: Pharos's scrape CPU per sample at most this share of Prometheus's.
const FLOOR: f64 = 0.5;

fn markdown(r: &Report) -> String {
    let ok: Vec<&VariantOutcome> = r.results.iter().filter_map(|x| x.as_ref().ok()).collect();
    let versions: Vec<String> = ok
        .first()
        .map(|o| {
            o.sides
                .iter()
                .map(|s| format!("{}: `{}`", s.server.title(), s.version))
                .collect()
        })
        .unwrap_or_default();
    let mut s = section_head(
        BEGIN,
        "Scrape path: Pharos and Prometheus",
        &r.command,
        &r.date,
        &r.machine,
        &versions,
    );
    let _ = writeln!(
        s,
        "- Targets: {} targets, each on its own port of an exporter inside this command (not measured), \
         each exposing {} node_exporter-like series in {} families (text format 0.0.4 as the Go client \
         library writes it; a body is {} bytes, {} gzip-compressed, and both servers asked for gzip). \
         Counters grow and gauges move at every scrape; the n-th scrape of a target returns the same \
         body to either server.",
        r.targets, r.series_per_target, r.families, r.body_bytes, r.body_gzip_bytes
    );
    let _ = writeln!(
        s,
        "- Job: one job `{JOB}` with the targets in `static_configs`, `scrape_interval: {}`, the same \
         `global` and `scrape_configs` given to both servers. Measured over a window of {} s that starts \
         once every target is up on both servers and {} more rounds have passed.",
        prom_duration(Duration::from_secs_f64(r.interval_seconds)),
        r.window_seconds,
        r.warmup_rounds
    );
    for x in &r.results {
        let o = match x {
            Ok(o) => o,
            Err((v, e)) => {
                let _ = writeln!(
                    s,
                    "\n### {}\n\nFailed: `{}`",
                    v.title(),
                    e.lines().next().unwrap_or_default()
                );
                continue;
            }
        };
        let _ = writeln!(s, "\n### {}\n", o.variant.title());
        if o.variant == Variant::Relabel {
            let _ = writeln!(
                s,
                "`metric_relabel_configs`: drop `__name__=~\"go_.*|node_scrape_collector_.*\"`, labeldrop \
                 `fstype`.\n"
            );
        }
        let _ = write!(s, "| |");
        for side in &o.sides {
            let _ = write!(s, " {} |", side.server.title());
        }
        let _ = writeln!(s, " Pharos / Prometheus |");
        let _ = writeln!(s, "|---|{}---:|", "---:|".repeat(o.sides.len()));
        let row = |s: &mut String, label: &str, f: &dyn Fn(&Side) -> String, ratio: Option<f64>| {
            let _ = write!(s, "| {label} |");
            for side in &o.sides {
                let _ = write!(s, " {} |", f(side));
            }
            let _ = writeln!(s, " {} |", ratio.map_or(String::new(), |x| format!("{x:.3}")));
        };
        row(
            &mut s,
            "scrapes in the window (`count_over_time(up[…])`), failed",
            &|x| format!("{}, {}", x.scrapes, x.failed_scrapes),
            None,
        );
        row(
            &mut s,
            "bodies the exporter sent it in the window (gzip)",
            &|x| format!("{} ({})", x.bodies_served, x.bodies_gzip),
            None,
        );
        row(
            &mut s,
            "samples scraped in the window (`scrape_samples_scraped`)",
            &|x| x.samples_scraped.to_string(),
            None,
        );
        row(
            &mut s,
            "samples kept after metric relabeling",
            &|x| x.samples_post_relabel.to_string(),
            None,
        );
        row(
            &mut s,
            "CPU in the window (s)",
            &|x| format!("{:.2}", x.cpu_seconds),
            None,
        );
        row(
            &mut s,
            "**CPU-seconds per million scraped samples**",
            &|x| format!("**{:.3}**", x.cpu_seconds_per_million_samples),
            Some(o.cpu_per_sample_ratio),
        );
        row(
            &mut s,
            "peak RSS (bytes)",
            &|x| x.peak_rss_bytes.to_string(),
            Some(o.peak_rss_ratio),
        );
        row(
            &mut s,
            "RSS at the end of the window (bytes)",
            &|x| x.final_rss_bytes.to_string(),
            Some(o.final_rss_ratio),
        );
        row(
            &mut s,
            "series of the job after the window (`count({job=\"bench\"})`)",
            &|x| x.series_for_job.to_string(),
            None,
        );
        row(
            &mut s,
            "targets with `up` 1 after the window",
            &|x| format!("{} of {}", x.targets_up, r.targets),
            None,
        );
        let met = if o.cpu_per_sample_ratio <= FLOOR {
            "met"
        } else {
            "not met"
        };
        let _ = writeln!(
            s,
            "\nFloor, scrape CPU per sample ≤ {FLOOR}× Prometheus's: {met} ({:.3}×). Window {:.1} s; this \
             command (the exporter) used {:.2} CPU s in it.",
            o.cpu_per_sample_ratio, o.window_seconds, o.exporter_cpu_seconds
        );
        if o.failed_checks.is_empty() {
            let _ = writeln!(
                s,
                "Checks: every target up on both servers, no failed scrape, and the same number of series \
                 for every metric name of the job."
            );
        } else {
            let _ = writeln!(s, "Checks failed: {}.", o.failed_checks.join("; "));
        }
    }
    let _ = writeln!(
        s,
        "\nBoth servers run at the same time on 127.0.0.1, each fresh in its own temporary directory: \
         Pharos `server --wal-fsync always` (its default) with the scrape sections as `--config` and its \
         built-in host collector off (`host_metrics: {{enabled: false}}`, since Prometheus scrapes no \
         node_exporter), Prometheus with them as `--config.file` and defaults otherwise. The exporter \
         compresses at gzip level 1 (inflating costs about the same at any level). CPU is utime+stime of each \
         server process from `/proc/PID/stat`, read at the start and the end of the window; samples are \
         each server's own `sum(sum_over_time(scrape_samples_scraped{{job=\"{JOB}\"}}[window]))` at the \
         end of the window, so a server that scraped less is not credited for it. Peak RSS is `VmHWM` \
         (since start, first scrapes included), the other RSS `VmRSS` at the end of the window. Each \
         server's `up`, `scrape_duration_seconds`, `scrape_samples_scraped`, \
         `scrape_samples_post_metric_relabeling` and `scrape_series_added` are stored too and not counted \
         as samples. The exporter shares the two cores with both servers."
    );
    let _ = writeln!(s, "{END}");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrape_config_lists_every_target() {
        let addrs = vec!["127.0.0.1:1".to_owned(), "127.0.0.1:2".to_owned()];
        let y = scrape_yaml(Variant::Relabel, &addrs, Duration::from_secs(5));
        assert!(y.starts_with("global:\n  scrape_interval: 5s\n  scrape_timeout: 5s\n"));
        assert!(y.contains("          - '127.0.0.1:1'\n          - '127.0.0.1:2'\n"));
        assert!(y.contains("action: labeldrop"));
        let y = scrape_yaml(Variant::Plain, &addrs, Duration::from_millis(15_500));
        assert!(y.contains("scrape_interval: 15500ms\n  scrape_timeout: 10s\n"));
        assert!(!y.contains("relabel"));
    }
}
