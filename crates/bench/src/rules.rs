//! `pharos bench rules`: what evaluating many alerting rules costs. Targets served by this process
//! (`--targets` × `--series`, 100k series by default) are scraped every interval by Pharos and then
//! by Prometheus; each runs first without rules, then with `--rules` alerting rules (ten per
//! target, each over one of its series, one in a hundred firing) evaluated every interval, loaded
//! by a config reload. The CPU a server spends in the second window beyond the first is what its
//! rules cost; missed group iterations and the slowest group's evaluation time say whether it kept
//! up.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::blocking::Client;
use serde::Serialize;

use crate::exporter::Exporter;
use crate::parse_duration;
use crate::report::{Machine, command_line, date, machine, publish, section_head};
use crate::server::{clock_ticks, cpu_ticks, current_rss, free_port, spawn, wait_ready};

const BEGIN: &str = "<!-- pharos bench rules: begin (generated; rerun the command to replace) -->";
const END: &str = "<!-- pharos bench rules: end -->";

#[derive(clap::Args)]
pub struct Args {
    /// Scrape targets served by the bench.
    #[arg(long, default_value_t = 1000)]
    targets: usize,
    /// Series per target.
    #[arg(long, default_value_t = 100)]
    series: usize,
    /// Alerting rules in all (spread over the targets, ten per target at most per metric pick).
    #[arg(long, default_value_t = 10_000)]
    rules: usize,
    /// Rules per group.
    #[arg(long, default_value_t = 100)]
    group_size: usize,
    /// Scrape and evaluation interval.
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    interval: Duration,
    /// Length of each measured window (without rules, then with them).
    #[arg(long, default_value = "120s", value_parser = parse_duration)]
    window: Duration,
    /// Directory for rules-results.json, the configurations and the logs.
    #[arg(long, default_value = "bench-out")]
    out: PathBuf,
    #[command(flatten)]
    md: crate::report::MarkdownOut,
    #[arg(long, default_value = "/usr/bin/prometheus")]
    prometheus_bin: PathBuf,
}

#[derive(Debug, Clone, Serialize)]
struct Side {
    /// CPU over the window without rules and with them, in cores (CPU seconds per second).
    cores_without_rules: f64,
    cores_with_rules: f64,
    /// The difference: what the rules cost, in percent of one core.
    rules_percent_of_core: f64,
    rss_without_rules_bytes: u64,
    rss_with_rules_bytes: u64,
    /// Group evaluations completed in the window with rules, and how many were expected.
    iterations: f64,
    iterations_expected: f64,
    missed_iterations: f64,
    /// The slowest group's last evaluation.
    max_group_seconds: f64,
    /// Rules in the loaded groups and alerts firing at the end.
    rules_loaded: f64,
}

#[derive(Debug, Clone, Serialize)]
struct Report {
    command: String,
    date: String,
    machine: Machine,
    prometheus_version: String,
    targets: usize,
    series: usize,
    rules: usize,
    groups: usize,
    interval_seconds: f64,
    window_seconds: f64,
    pharos: Side,
    prometheus: Side,
    checks: Vec<String>,
}

/// Sums the samples of `metric` (any labels) in a text exposition.
fn sum_metric(text: &str, metric: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(metric) && matches!(l.as_bytes().get(metric.len()), Some(b'{' | b' ')))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn max_metric(text: &str, metric: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(metric) && matches!(l.as_bytes().get(metric.len()), Some(b'{' | b' ')))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .fold(0.0, f64::max)
}

/// The rule files: `rules` alerting rules over the targets' series, `group_size` per group.
fn write_rules(path: &Path, exporter: &Exporter, rules: usize, group_size: usize) -> anyhow::Result<usize> {
    let names = exporter.template().metric_names();
    if names.is_empty() {
        bail!("the targets expose no metrics");
    }
    let addrs = exporter.addresses();
    let mut text = String::from("groups:\n");
    let mut groups = 0;
    for i in 0..rules {
        if i % group_size == 0 {
            text.push_str(&format!("  - name: bench-{groups:04}\n    rules:\n"));
            groups += 1;
        }
        let target = &addrs[i % addrs.len()];
        let name = &names[(i / addrs.len()) % names.len()];
        let sel = format!("{name}{{instance=\"{target}\"}}");
        let expr = if name.ends_with("_total") {
            format!("rate({sel}[1m])")
        } else {
            sel
        };
        // One rule in a hundred fires (everything is at least 0), the rest never do.
        let threshold = if i % 100 == 0 { "-1" } else { "1e18" };
        text.push_str(&format!(
            "      - alert: Bench{i:05}\n        expr: '{expr} > {threshold}'\n        labels: {{severity: P3}}\n        annotations: {{summary: 'value {{{{ $value }}}}'}}\n"
        ));
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(groups)
}

struct Server {
    name: &'static str,
    proc: crate::server::Proc,
    base: String,
    config: PathBuf,
    /// Prefix of its rule metrics (`pharos` or `prometheus`).
    prefix: &'static str,
}

fn cores_over(pid: u32, window: Duration) -> anyhow::Result<(f64, u64)> {
    let ticks = clock_ticks() as f64;
    let c0 = cpu_ticks(pid)?;
    let t0 = Instant::now();
    let mut rss = Vec::new();
    while t0.elapsed() < window {
        std::thread::sleep(Duration::from_secs(5));
        rss.push(current_rss(pid)?);
    }
    let c1 = cpu_ticks(pid)?;
    let cores = (c1 - c0) as f64 / ticks / t0.elapsed().as_secs_f64();
    let avg = if rss.is_empty() {
        0
    } else {
        rss.iter().sum::<u64>() / rss.len() as u64
    };
    Ok((cores, avg))
}

fn measure(
    s: &mut Server,
    client: &Client,
    scrape_only: &str,
    with_rules: &str,
    args: &Args,
    groups: usize,
) -> anyhow::Result<Side> {
    let pid = s.proc.pid();
    std::fs::write(&s.config, scrape_only)?;
    eprintln!("rules: {}: warming up on scrapes alone", s.name);
    std::thread::sleep(args.interval * 4);
    s.proc.check_alive()?;
    let (base_cores, base_rss) = cores_over(pid, args.window)?;
    eprintln!(
        "rules: {}: {:.3} cores without rules; loading the rules",
        s.name, base_cores
    );
    std::fs::write(&s.config, with_rules)?;
    let r = client
        .post(format!("{}/-/reload", s.base))
        .send()
        .context("reloading")?;
    if !r.status().is_success() {
        bail!("{}: reload failed: {}", s.name, r.text().unwrap_or_default());
    }
    std::thread::sleep(args.interval * 3);
    s.proc.check_alive()?;
    let metrics = |client: &Client| -> anyhow::Result<String> {
        Ok(client.get(format!("{}/metrics", s.base)).send()?.text()?)
    };
    let m0 = metrics(client)?;
    let (rule_cores, rule_rss) = cores_over(pid, args.window)?;
    let m1 = metrics(client)?;
    let p = s.prefix;
    let iterations = sum_metric(&m1, &format!("{p}_rule_group_iterations_total"))
        - sum_metric(&m0, &format!("{p}_rule_group_iterations_total"));
    let missed = sum_metric(&m1, &format!("{p}_rule_group_iterations_missed_total"))
        - sum_metric(&m0, &format!("{p}_rule_group_iterations_missed_total"));
    let side = Side {
        cores_without_rules: base_cores,
        cores_with_rules: rule_cores,
        rules_percent_of_core: (rule_cores - base_cores) * 100.0,
        rss_without_rules_bytes: base_rss,
        rss_with_rules_bytes: rule_rss,
        iterations,
        iterations_expected: groups as f64 * args.window.as_secs_f64() / args.interval.as_secs_f64(),
        missed_iterations: missed,
        max_group_seconds: max_metric(&m1, &format!("{p}_rule_group_last_duration_seconds")),
        rules_loaded: sum_metric(&m1, &format!("{p}_rule_group_rules")),
    };
    eprintln!("rules: {}: {side:?}", s.name);
    Ok(side)
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if !args.prometheus_bin.exists() {
        bail!(
            "{} not found: install prometheus (scripts/install-deps.sh does)",
            args.prometheus_bin.display()
        );
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let out = args.out.canonicalize()?;
    let exe = std::env::current_exe().context("locating the pharos binary")?;
    let client = Client::builder().timeout(Duration::from_secs(60)).build()?;
    let secs = args.interval.as_secs_f64();
    let exporter = Exporter::start(args.targets, args.series, 1, secs)?;
    let rules_file = out.join("rules-bench.yml");
    let groups = write_rules(&rules_file, &exporter, args.rules, args.group_size.max(1))?;
    let targets: Vec<String> = exporter.addresses().iter().map(|a| format!("'{a}'")).collect();
    let scrape = format!(
        "scrape_configs:\n  - job_name: node\n    scrape_interval: {secs}s\n    scrape_timeout: {timeout}s\n    static_configs: [{{targets: [{}]}}]\n",
        targets.join(", "),
        timeout = ((secs * 2.0 / 3.0).floor() as u64).max(1)
    );
    let global = format!("global:\n  scrape_interval: {secs}s\n  evaluation_interval: {secs}s\n");
    let with_rules = format!("{global}rule_files: ['{}']\n{scrape}", rules_file.display());
    let scrape_only = format!("{global}{scrape}");
    eprintln!(
        "rules: {} targets × {} series, {} rules in {groups} groups, every {secs}s",
        args.targets,
        exporter.template().series(),
        args.rules
    );

    // Pharos first, alone on the machine.
    let p_dir = out.join("rules-pharos");
    let _ = std::fs::remove_dir_all(&p_dir);
    std::fs::create_dir_all(&p_dir)?;
    let p_cfg = p_dir.join("pharos.yml");
    std::fs::write(&p_cfg, &scrape_only)?;
    let p_port = free_port()?;
    let proc = spawn(
        "pharos server",
        &exe,
        &[
            "server".into(),
            "--no-host-metrics".into(),
            "--no-push".into(),
            "--no-self-metrics".into(),
            "--no-builtin-rules".into(),
            "--wal-fsync".into(),
            "1s".into(),
            "--config".into(),
            p_cfg.display().to_string(),
            "--listen".into(),
            format!("127.0.0.1:{p_port}"),
            "--data-dir".into(),
            p_dir.join("data").display().to_string(),
        ],
        &out.join("rules-pharos.log"),
    )?;
    let mut pharos = Server {
        name: "Pharos",
        proc,
        base: format!("http://127.0.0.1:{p_port}"),
        config: p_cfg,
        prefix: "pharos",
    };
    wait_ready(&mut pharos.proc, &client, &format!("{}/-/ready", pharos.base))?;
    let p_side = measure(&mut pharos, &client, &scrape_only, &with_rules, &args, groups)?;
    drop(pharos);
    exporter.restart_sequences();

    let prom_dir = out.join("rules-prometheus");
    let _ = std::fs::remove_dir_all(&prom_dir);
    std::fs::create_dir_all(&prom_dir)?;
    let prom_cfg = prom_dir.join("prometheus.yml");
    std::fs::write(&prom_cfg, &scrape_only)?;
    let prom_port = free_port()?;
    let proc = spawn(
        "prometheus",
        &args.prometheus_bin,
        &[
            format!("--config.file={}", prom_cfg.display()),
            format!("--storage.tsdb.path={}", prom_dir.join("data").display()),
            format!("--web.listen-address=127.0.0.1:{prom_port}"),
            "--web.enable-lifecycle".into(),
        ],
        &out.join("rules-prometheus.log"),
    )?;
    let mut prom = Server {
        name: "Prometheus",
        proc,
        base: format!("http://127.0.0.1:{prom_port}"),
        config: prom_cfg,
        prefix: "prometheus",
    };
    wait_ready(&mut prom.proc, &client, &format!("{}/-/ready", prom.base))?;
    let pr_side = measure(&mut prom, &client, &scrape_only, &with_rules, &args, groups)?;
    drop(prom);

    let version = crate::server::first_line(&args.prometheus_bin, &["--version"]);
    let mut checks = Vec::new();
    if p_side.missed_iterations > 0.0 {
        checks.push(format!(
            "Pharos missed {} group iterations",
            p_side.missed_iterations
        ));
    }
    if p_side.iterations < p_side.iterations_expected * 0.9 {
        checks.push(format!(
            "Pharos ran {} group evaluations of the {} expected",
            p_side.iterations, p_side.iterations_expected
        ));
    }
    if (p_side.rules_loaded - args.rules as f64).abs() > 0.5 {
        checks.push(format!(
            "Pharos loaded {} rules of {}",
            p_side.rules_loaded, args.rules
        ));
    }
    let report = Report {
        command: command_line(),
        date: date(None),
        machine: machine(),
        prometheus_version: version,
        targets: args.targets,
        series: args.targets * exporter.template().series(),
        rules: args.rules,
        groups,
        interval_seconds: secs,
        window_seconds: args.window.as_secs_f64(),
        pharos: p_side,
        prometheus: pr_side,
        checks,
    };
    let md = markdown(&report);
    publish(
        "rules",
        &out.join("rules-results.json"),
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
        "Rule evaluation: 10,000 alerting rules over 100k series, beside Prometheus",
        &r.command,
        &r.date,
        &r.machine,
        &[
            format!("Pharos {}", env!("CARGO_PKG_VERSION")),
            r.prometheus_version.clone(),
        ],
    );
    let row = |name: &str, s: &Side| {
        format!(
            "| {name} | {:.1}% | {:.3} → {:.3} | {:.0} of {:.0} | {:.0} | {:.3} s | {:.0} → {:.0} MB |\n",
            s.rules_percent_of_core,
            s.cores_without_rules,
            s.cores_with_rules,
            s.iterations,
            s.iterations_expected,
            s.missed_iterations,
            s.max_group_seconds,
            s.rss_without_rules_bytes as f64 / 1e6,
            s.rss_with_rules_bytes as f64 / 1e6,
        )
    };
    let ratio = r.pharos.rules_percent_of_core / r.prometheus.rules_percent_of_core;
    format!(
        "{head}\n{t} targets served by the bench ({s} series in all) are scraped every {i}s; {n} alerting rules in \
         {g} groups of {gs} (each over one target's series, one in a hundred firing) are evaluated every {i}s. Each \
         server runs {w}s on scrapes alone, then reloads its config with the rules and runs {w}s more, one server \
         after the other. The rules' cost is the CPU of the second window beyond the first.\n\n\
         | | rules' CPU (of one core) | cores without → with rules | group evaluations | missed | slowest group | RSS |\n\
         |---|---|---|---|---|---|---|\n{}{}\n\
         Ratio of the rules' CPU, Pharos / Prometheus: {ratio:.3}.\n\n{END}\n",
        row("Pharos", &r.pharos),
        row("Prometheus", &r.prometheus),
        t = r.targets,
        s = r.series,
        i = r.interval_seconds,
        n = r.rules,
        g = r.groups,
        gs = r.rules / r.groups.max(1),
        w = r.window_seconds,
    )
}
