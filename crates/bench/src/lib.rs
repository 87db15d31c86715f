//! `pharos bench`: a load generator that sends a node_exporter-like fleet to any server speaking
//! Prometheus remote write or InfluxDB line protocol, a side-by-side run that starts Pharos,
//! Prometheus and InfluxDB in turn, sends each the same data and compares CPU, memory and disk, and a
//! query run that times dashboard queries on Pharos and Prometheus holding the same data, and a
//! scrape run in which both scrape the same node_exporter-like targets, served from this process.
//!
//! A command-line tool, like xtask: errors are `anyhow`, and progress and results go to the terminal
//! (stderr and stdout), not to `tracing`. It never links the storage engine: servers are measured as
//! separate processes, Pharos included.

mod agent;
mod alerting;
mod compare;
mod exporter;
pub mod fleet;
pub mod load;
mod query;
mod report;
mod rules;
mod scrape;
mod server;

use std::time::Duration;

use anyhow::Context;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Send a generated node_exporter-like fleet (about 100 series per host) to one server as a backfill.
    Load(LoadArgs),
    /// Start Pharos, Prometheus and InfluxDB one after another, send each the same data, compare them.
    Compare(compare::Args),
    /// Start Pharos and Prometheus, send both the same data, time dashboard queries on each.
    Query(query::Args),
    /// Serve node_exporter-like targets, let Pharos and Prometheus scrape them side by side, and
    /// compare the CPU each spends per scraped sample.
    Scrape(scrape::Args),
    /// Run `pharos agent` collecting host metrics beside Debian's node_exporter and compare what
    /// each costs in CPU and memory.
    Agent(agent::Args),
    /// Stop a scraped target and time the webhook notification from Pharos and from Prometheus +
    /// Alertmanager side by side.
    Alerting(alerting::Args),
    /// Evaluate 10,000 alerting rules over 100k scraped series in Pharos and in Prometheus and
    /// compare what the rules cost.
    Rules(rules::Args),
}

/// What `load`, `compare` and `query` generate and how they send it.
#[derive(clap::Args)]
pub(crate) struct Workload {
    /// Scrape interval of the generated data.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub(crate) interval: Duration,
    /// How far back the data starts; it ends when the run starts.
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub(crate) span: Duration,
    /// Sender threads; each owns a fixed subset of hosts.
    #[arg(long, default_value_t = 4)]
    pub(crate) concurrency: usize,
    /// Samples per request.
    #[arg(long, default_value_t = 2000)]
    pub(crate) batch: usize,
    /// Seed of the generator; the same seed sends the same series and values.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
}

#[derive(clap::Args)]
struct LoadArgs {
    /// Server base URL (the protocol's default path is added) or full write endpoint.
    #[arg(long)]
    url: String,
    #[arg(long, value_enum)]
    protocol: load::Protocol,
    /// Hosts in the fleet; each exposes 100 series.
    #[arg(long)]
    hosts: usize,
    #[command(flatten)]
    workload: Workload,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Load(a) => run_load(a),
        Command::Compare(a) => compare::run(a),
        Command::Query(a) => query::run(a),
        Command::Scrape(a) => scrape::run(a),
        Command::Agent(a) => agent::run(a),
        Command::Alerting(a) => alerting::run(a),
        Command::Rules(a) => rules::run(a),
    }
}

fn run_load(a: LoadArgs) -> anyhow::Result<()> {
    let fleet = fleet::Fleet::new(
        a.hosts,
        millis(a.workload.interval),
        millis(a.workload.span),
        now_ms(),
        a.workload.seed,
    );
    let opts = load::Options {
        name: "load".into(),
        url: load::endpoint(&a.url, a.protocol)?,
        protocol: a.protocol,
        concurrency: a.workload.concurrency,
        batch: a.workload.batch,
        progress_every: Duration::from_secs(5),
    };
    eprintln!(
        "load: {} hosts, {} series, {} scrapes each from {} to {} ms, {} samples to {}",
        fleet.hosts,
        fleet.series(),
        fleet.steps,
        fleet.start_ms,
        fleet.end_ms(),
        fleet.samples(),
        opts.url
    );
    let stats = load::run(&fleet, &opts)?;
    println!(
        "{}",
        serde_json::to_string_pretty(&stats).context("serializing the summary")?
    );
    if stats.samples_acked < stats.samples_sent {
        anyhow::bail!(
            "{} of {} samples were not acknowledged",
            stats.samples_sent - stats.samples_acked,
            stats.samples_sent
        );
    }
    Ok(())
}

/// Creates the results directory and builds the fleet that ends now: the start of every side-by-side run.
fn prepare(
    out: &std::path::Path,
    hosts: usize,
    w: &Workload,
) -> anyhow::Result<(std::path::PathBuf, fleet::Fleet)> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let out = out
        .canonicalize()
        .with_context(|| format!("resolving {}", out.display()))?;
    let fleet = fleet::Fleet::new(hosts, millis(w.interval), millis(w.span), now_ms(), w.seed);
    Ok((out, fleet))
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, millis)
}

/// `10s`, `1h30m`, `500ms`, `2d`.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {s:?}: expected a number and a unit (ms, s, m, h, d), e.g. 1h30m");
    let mut total: u64 = 0;
    let mut rest = s;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let ms = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total = n
            .checked_mul(ms)
            .and_then(|x| total.checked_add(x))
            .ok_or_else(bad)?;
    }
    Ok(Duration::from_millis(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("1x").is_err());
    }
}
