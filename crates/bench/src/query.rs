//! `pharos bench query`: Pharos and Prometheus side by side on the same data, answering the queries a
//! node_exporter dashboard sends. Both servers run at the same time, each fresh in its own temporary
//! directory; the fleet is sent to one and then the other, and no query is timed until both loads are
//! over and both servers have gone idle. Every query gets one warm-up run per server, whose answers
//! are compared, then timed runs that alternate between the servers, so that whatever else the
//! machine is doing slows both alike. Then one table, a JSON file, and optionally a section of
//! BENCHMARKS.md.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::Url;
use reqwest::blocking::{Client, Request};
use serde::Serialize;
use serde_json::Value;

use crate::fleet::{Fleet, instance};
use crate::report::{Machine, WorkloadFacts, command_line, date, machine, section_head};
use crate::server::{
    self, Binaries, Proc, Server, Started, clock_ticks, cpu_ticks, current_rss, peak_rss, reset_peak_rss,
};
use crate::{millis, parse_duration};

#[derive(clap::Args)]
// The longest lookback of the query set is 10 minutes before the start of a 1 h range: the default
// span covers both with 5 minutes to spare.
#[command(mut_arg("span", |a| a.default_value("1h15m")))]
pub struct Args {
    /// Hosts in the fleet; each exposes 100 series.
    #[arg(long, default_value_t = 1000)]
    hosts: usize,
    #[command(flatten)]
    workload: crate::Workload,
    /// Timed runs of each query on each server, after one warm-up run.
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,
    /// Time range of the range queries; it ends where the data ends.
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    range: Duration,
    /// Resolution step of the range queries.
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    step: Duration,
    /// Directory for query-results.json and the servers' logs.
    #[arg(long, default_value = "bench-out")]
    out: PathBuf,
    #[command(flatten)]
    md: crate::report::MarkdownOut,
    #[arg(long, default_value = "prometheus")]
    prometheus_bin: PathBuf,
    /// Per-query sample limit given to both servers (Pharos `limits.max_query_samples`, Prometheus
    /// `--query.max-samples`). Every dashboard query fits in the default; the budget probes after
    /// them ask for all the data, several times more.
    #[arg(long, default_value_t = 20_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    max_query_samples: u64,
}

/// The servers compared, in the order they are loaded.
const SERVERS: [Server; 2] = [Server::Pharos, Server::Prometheus];

/// The longest range selector in the query set; the data should start this long before the range.
const LONGEST_LOOKBACK_MS: i64 = 600_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Kind {
    /// GET /api/v1/query_range with the expression.
    Range,
    /// GET /api/v1/label/<name>/values over the same time range.
    LabelValues,
}

#[derive(Debug, Clone, Serialize)]
struct Query {
    name: &'static str,
    kind: Kind,
    /// The PromQL expression, or the label name of a label lookup.
    text: String,
}

impl Query {
    fn range(name: &'static str, text: impl Into<String>) -> Self {
        Self {
            name,
            kind: Kind::Range,
            text: text.into(),
        }
    }

    /// How the Markdown table names it.
    fn shown(&self) -> String {
        match self.kind {
            Kind::Range => format!("`{}`", self.text),
            Kind::LabelValues => format!("label values: `/api/v1/label/{}/values`", self.text),
        }
    }
}

/// What a node_exporter dashboard asks for. The fleet has no `up` series (it is written by the
/// scraper, and the load generator is no scraper), so `up == 0` is stood in for by the same shape of
/// query on `node_uname_info`: one series per host, always 1, compared with 0, so the answer is empty
/// after the whole selector has been read.
fn queries(fleet: &Fleet) -> Vec<Query> {
    let host = instance(42.min(fleet.hosts.saturating_sub(1)));
    vec![
        Query::range(
            "cpu-by-region",
            r#"sum by (region) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))"#,
        ),
        Query::range(
            "topk-network",
            "topk(10, rate(node_network_receive_bytes_total[5m]))",
        ),
        Query::range(
            "p99-latency",
            "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
        ),
        Query::range("load-10m", "avg_over_time(node_load1[10m])"),
        Query::range("down-hosts", "node_uname_info == 0"),
        Query {
            name: "instances",
            kind: Kind::LabelValues,
            text: "instance".into(),
        },
        Query::range(
            "one-host-cpu",
            format!(r#"rate(node_cpu_seconds_total{{instance="{host}"}}[5m])"#),
        ),
        Query::range(
            "memory-available",
            "sum(node_memory_MemAvailable_bytes) / sum(node_memory_MemTotal_bytes)",
        ),
        Query::range(
            "disk-used",
            r#"max by (instance) (1 - node_filesystem_avail_bytes{fstype!="vfat"} / node_filesystem_size_bytes{fstype!="vfat"})"#,
        ),
    ]
}

/// The time range every query asks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
struct Window {
    start_ms: i64,
    end_ms: i64,
    step_ms: i64,
}

/// Ends at the end of the data, rounded down to the step as Grafana aligns its ranges.
fn window(data_end_ms: i64, range: Duration, step: Duration) -> Window {
    let step_ms = millis(step).max(1);
    let end_ms = data_end_ms.div_euclid(step_ms) * step_ms;
    Window {
        start_ms: end_ms - millis(range),
        end_ms,
        step_ms,
    }
}

/// A timestamp or duration as the query API takes it: seconds with milliseconds.
fn secs(ms: i64) -> String {
    format!("{:.3}", ms as f64 / 1000.0)
}

/// Seconds for people: no decimals when whole.
fn short_secs(ms: i64) -> String {
    if ms.rem_euclid(1000) == 0 {
        ms.div_euclid(1000).to_string()
    } else {
        secs(ms)
    }
}

/// Head checkpoints Pharos has logged so far; one written while queries are timed competes with them.
fn checkpoints_logged(log: &Path) -> usize {
    std::fs::read_to_string(log).map_or(0, |t| {
        t.lines().filter(|l| l.contains("checkpoint written")).count()
    })
}

fn request(client: &Client, base: &Url, q: &Query, w: Window) -> anyhow::Result<Request> {
    let (start, end) = (secs(w.start_ms), secs(w.end_ms));
    let b = match q.kind {
        Kind::Range => client.get(base.join("/api/v1/query_range")?).query(&[
            ("query", q.text.as_str()),
            ("start", &start),
            ("end", &end),
            ("step", &secs(w.step_ms)),
        ]),
        Kind::LabelValues => client
            .get(base.join(&format!("/api/v1/label/{}/values", q.text))?)
            .query(&[("start", &start), ("end", &end)]),
    };
    b.build().context("building the request")
}

/// A label set, sorted by name.
type Labels = Vec<(String, String)>;

/// A query answer reduced to what the two servers must agree on.
#[derive(Debug, Clone, PartialEq)]
enum Answer {
    /// Series by label set, each with its points in time order.
    Matrix(BTreeMap<Labels, Vec<(i64, f64)>>),
    /// A label lookup's values.
    Strings(BTreeSet<String>),
}

impl Answer {
    fn series(&self) -> usize {
        match self {
            Answer::Matrix(m) => m.len(),
            Answer::Strings(s) => s.len(),
        }
    }

    fn points(&self) -> usize {
        match self {
            Answer::Matrix(m) => m.values().map(Vec::len).sum(),
            Answer::Strings(s) => s.len(),
        }
    }
}

fn parse_answer(text: &str) -> anyhow::Result<Answer> {
    let v: Value = serde_json::from_str(text).context("the answer is not JSON")?;
    if v["status"] != "success" {
        bail!("status {}: {} {}", v["status"], v["errorType"], v["error"]);
    }
    let data = &v["data"];
    if let Some(values) = data.as_array() {
        return Ok(Answer::Strings(
            values
                .iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect(),
        ));
    }
    if data["resultType"] != "matrix" {
        bail!("expected a matrix, got {}", data["resultType"]);
    }
    let mut out = BTreeMap::new();
    for s in data["result"].as_array().context("no data.result")? {
        let labels: Labels = s["metric"]
            .as_object()
            .context("a series without metric")?
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
            .collect::<BTreeMap<_, _>>()
            .into_iter()
            .collect();
        let mut points = Vec::new();
        for p in s["values"].as_array().context("a series without values")? {
            let t = p[0].as_f64().context("a point without a timestamp")?;
            let v: f64 = p[1]
                .as_str()
                .and_then(|x| x.parse().ok())
                .context("a point without a value")?;
            points.push(((t * 1000.0).round() as i64, v));
        }
        if out.insert(labels, points).is_some() {
            bail!("the same label set twice in one answer");
        }
    }
    Ok(Answer::Matrix(out))
}

/// Whether two answers hold the same series and values; floats may differ in the last digits, since
/// sums taken in another order round differently.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct Agreement {
    /// Series (or label values) found by one server only.
    series_only_in_one: usize,
    /// Points of series found by both that are missing on one side or differ by more than rounding.
    points_differing: usize,
    /// The first difference, for the report.
    example: Option<String>,
}

impl Agreement {
    fn agrees(&self) -> bool {
        self.series_only_in_one == 0 && self.points_differing == 0
    }
}

fn close(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

fn show_labels(l: &[(String, String)]) -> String {
    let inner: Vec<String> = l.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}

/// Compares `a` (Pharos's answer) with `b` (Prometheus's).
fn agreement(a: &Answer, b: &Answer) -> Agreement {
    let mut r = Agreement {
        series_only_in_one: 0,
        points_differing: 0,
        example: None,
    };
    let note = |r: &mut Agreement, what: String| {
        if r.example.is_none() {
            r.example = Some(what);
        }
    };
    match (a, b) {
        (Answer::Strings(x), Answer::Strings(y)) => {
            for v in x.symmetric_difference(y) {
                r.series_only_in_one += 1;
                let side = if x.contains(v) { "Pharos" } else { "Prometheus" };
                note(&mut r, format!("{v:?} only from {side}"));
            }
        }
        (Answer::Matrix(x), Answer::Matrix(y)) => {
            let keys: BTreeSet<&Labels> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let (Some(px), Some(py)) = (x.get(k), y.get(k)) else {
                    r.series_only_in_one += 1;
                    let side = if x.contains_key(k) { "Pharos" } else { "Prometheus" };
                    note(&mut r, format!("series {} only from {side}", show_labels(k)));
                    continue;
                };
                let mx: BTreeMap<i64, f64> = px.iter().copied().collect();
                let my: BTreeMap<i64, f64> = py.iter().copied().collect();
                let times: BTreeSet<i64> = mx.keys().chain(my.keys()).copied().collect();
                for t in times {
                    let (vx, vy) = (mx.get(&t), my.get(&t));
                    if let (Some(vx), Some(vy)) = (vx, vy)
                        && close(*vx, *vy)
                    {
                        continue;
                    }
                    r.points_differing += 1;
                    let show = |v: Option<&f64>| v.map_or("nothing".to_owned(), |v| v.to_string());
                    note(
                        &mut r,
                        format!(
                            "{} at {} s: Pharos {}, Prometheus {}",
                            show_labels(k),
                            secs(t),
                            show(vx),
                            show(vy)
                        ),
                    );
                }
            }
        }
        _ => {
            r.series_only_in_one = a.series().max(b.series());
            note(
                &mut r,
                "one answer is a matrix, the other a list of strings".into(),
            );
        }
    }
    r
}

/// The value below which a fraction `q` of the `sorted` values lie, interpolating linearly between
/// neighbouring ranks (numpy's default). NaN when empty.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n => {
            let rank = q.clamp(0.0, 1.0) * (n - 1) as f64;
            let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
            sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
        }
    }
}

/// A running server as the measurement loop sees it.
struct Target {
    server: Server,
    pid: u32,
    base: Url,
}

/// One request's latency and the CPU both servers used meanwhile.
struct Shot {
    seconds: f64,
    own_ticks: u64,
    other_ticks: u64,
    text: String,
}

fn shoot(client: &Client, req: &Request, own: u32, other: u32) -> anyhow::Result<Shot> {
    let req = req.try_clone().context("the request cannot be repeated")?;
    let (own0, other0) = (cpu_ticks(own)?, cpu_ticks(other)?);
    let start = Instant::now();
    let resp = client.execute(req).context("sending the query")?;
    let status = resp.status();
    let text = resp.text().context("reading the answer")?;
    let seconds = start.elapsed().as_secs_f64();
    let (own1, other1) = (cpu_ticks(own)?, cpu_ticks(other)?);
    if !status.is_success() {
        bail!("HTTP {status}: {}", text.chars().take(500).collect::<String>());
    }
    Ok(Shot {
        seconds,
        own_ticks: own1.saturating_sub(own0),
        other_ticks: other1.saturating_sub(other0),
        text,
    })
}

/// One server's numbers for one query.
#[derive(Debug, Clone, Serialize)]
struct Side {
    series: usize,
    points: usize,
    answer_bytes: usize,
    warmup_ms: f64,
    /// Latencies of the timed runs, in the order they ran.
    runs_ms: Vec<f64>,
    median_ms: f64,
    p90_ms: f64,
    /// Server CPU (utime+stime) per timed run.
    cpu_ms_per_run: f64,
    /// CPU the other server used while this one was timed: background work that competed for the cores.
    other_cpu_ms_per_run: f64,
}

#[derive(Debug, Clone, Serialize)]
struct QueryOutcome {
    query: Query,
    pharos: Result<Side, String>,
    prometheus: Result<Side, String>,
    agreement: Option<Agreement>,
}

impl QueryOutcome {
    fn sides(&self) -> [&Result<Side, String>; 2] {
        [&self.pharos, &self.prometheus]
    }

    fn ratio(&self, f: impl Fn(&Side) -> f64) -> Option<f64> {
        match (&self.pharos, &self.prometheus) {
            (Ok(p), Ok(q)) if f(q) > 0.0 => Some(f(p) / f(q)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
struct ServerFacts {
    server: Server,
    version: String,
    load: crate::load::Stats,
    peak_rss_bytes_after_load: u64,
    peak_rss_bytes_after_queries: u64,
}

#[derive(Debug, Clone, Serialize)]
struct Report {
    command: String,
    date: String,
    machine: Machine,
    workload: WorkloadFacts,
    window: Window,
    runs: u32,
    servers: Vec<ServerFacts>,
    /// Scheduled head checkpoints Pharos wrote between the first warm-up and the last timed run.
    pharos_checkpoints_while_timing: usize,
    results: Vec<QueryOutcome>,
    /// The per-query sample limit both servers ran with.
    max_query_samples: u64,
    probes: Vec<BudgetProbe>,
}

/// Bytes of one float sample held in memory (timestamp and value), by which a sample budget is
/// turned into a memory budget.
const SAMPLE_BYTES: u64 = 16;

/// How a budget probe asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum ProbeKind {
    /// GET /api/v1/query at the end of the window.
    Instant,
    /// GET /api/v1/query_range over the window.
    Range,
}

/// Queries that need every series of the data, far more samples than the budget: the raw samples
/// of the last two hours (the whole data set held at once), and a per-series rate of everything
/// over the query window.
fn budget_queries() -> [(&'static str, ProbeKind); 2] {
    [
        (r#"{__name__=~".+"}[2h]"#, ProbeKind::Instant),
        (r#"sum(rate({__name__=~".+"}[5m]))"#, ProbeKind::Range),
    ]
}

/// What one server did with a query over its sample budget, and how its memory moved.
#[derive(Debug, Clone, Serialize)]
struct BudgetProbe {
    server: Server,
    query: String,
    kind: ProbeKind,
    status: u16,
    error_type: String,
    /// The start of the error message.
    error: String,
    ms: f64,
    /// RSS just before the query, after the peak was reset to it.
    rss_before_bytes: u64,
    /// The highest RSS between the reset and the answer.
    peak_rss_bytes: u64,
    /// HTTP status of the first dashboard query asked right after: the server goes on answering.
    next_status: u16,
}

/// Resets the server's peak RSS, asks a query over the budget, reads the peak, then asks a dashboard
/// query to show that only the one query failed.
fn probe_budget(
    client: &Client,
    t: &Target,
    text: &str,
    kind: ProbeKind,
    w: Window,
    next: &Query,
) -> anyhow::Result<BudgetProbe> {
    let req = match kind {
        ProbeKind::Instant => client
            .get(t.base.join("/api/v1/query")?)
            .query(&[("query", text), ("time", &secs(w.end_ms))]),
        ProbeKind::Range => client.get(t.base.join("/api/v1/query_range")?).query(&[
            ("query", text),
            ("start", &secs(w.start_ms)),
            ("end", &secs(w.end_ms)),
            ("step", &secs(w.step_ms)),
        ]),
    }
    .build()
    .context("building the request")?;
    // Let memory freed by the previous query settle, then take the baseline.
    std::thread::sleep(Duration::from_secs(1));
    reset_peak_rss(t.pid)?;
    let rss_before = current_rss(t.pid)?;
    let start = Instant::now();
    let resp = client.execute(req).context("sending the budget probe")?;
    let status = resp.status().as_u16();
    let body = resp.text().context("reading the budget probe's answer")?;
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    let peak = peak_rss(t.pid)?;
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let next_req = request(client, &t.base, next, w)?;
    let next_status = client
        .execute(next_req)
        .context("sending the query after the probe")?
        .status()
        .as_u16();
    Ok(BudgetProbe {
        server: t.server,
        query: text.to_owned(),
        kind,
        status,
        error_type: v["errorType"].as_str().unwrap_or_default().to_owned(),
        error: v["error"]
            .as_str()
            .unwrap_or(if status == 200 { "" } else { body.as_str() })
            .chars()
            .take(200)
            .collect(),
        ms,
        rss_before_bytes: rss_before,
        peak_rss_bytes: peak.max(rss_before),
        next_status,
    })
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let (out, fleet) = crate::prepare(&args.out, args.hosts, &args.workload)?;
    let w = window(fleet.end_ms(), args.range, args.step);
    if w.start_ms - LONGEST_LOOKBACK_MS < fleet.start_ms {
        eprintln!(
            "query: warning: the data starts {} s after the longest lookback opens ({} s of range + 600 s); \
             the first steps see partial windows (raise --span)",
            (fleet.start_ms - (w.start_ms - LONGEST_LOOKBACK_MS)) / 1000,
            millis(args.range) / 1000
        );
    }
    let qs = queries(&fleet);
    eprintln!(
        "query: {} hosts, {} series, {} samples per series, {} samples per server; {} queries over {} s to {} s, \
         step {} s; 1 warm-up and {} timed runs each",
        fleet.hosts,
        fleet.series(),
        fleet.steps,
        fleet.samples(),
        qs.len(),
        short_secs(w.start_ms),
        short_secs(w.end_ms),
        short_secs(w.step_ms),
        args.runs
    );

    let client = Client::builder()
        .timeout(Duration::from_secs(600))
        .build()
        .context("building the HTTP client")?;
    let bins = Binaries {
        prometheus: &args.prometheus_bin,
        influxd: Path::new("influxd"),
    };
    // Declared before the servers so that they are removed after the servers are stopped.
    let mut dirs = Vec::new();
    let mut running: Vec<(Proc, Target)> = Vec::new();
    let mut facts = Vec::new();
    for server in SERVERS {
        eprintln!("query: === {}: start and load ===", server.title());
        let dir = server::temp_dir(server)?;
        let log = out.join(format!("query-{}.log", server.slug()));
        let Started {
            mut proc,
            base,
            version,
        } = server::start(
            server,
            &bins,
            dir.path(),
            &log,
            &client,
            server::Setup {
                max_query_samples: Some(args.max_query_samples as usize),
                scrape: None,
            },
        )?;
        eprintln!(
            "query: {} ({version}) ready at {base}, pid {}, in {}",
            server.title(),
            proc.pid(),
            dir.path().display()
        );
        dirs.push(dir);
        let stats = server::send_fleet(server, &base, &fleet, &args.workload, Duration::from_secs(10))?;
        proc.check_alive()?;
        if stats.samples_acked != stats.samples_sent || stats.samples_sent != fleet.samples() {
            bail!(
                "{} acknowledged {} of {} samples ({} generated): the servers would not hold the same data",
                server.title(),
                stats.samples_acked,
                stats.samples_sent,
                fleet.samples()
            );
        }
        let pid = proc.pid();
        facts.push(ServerFacts {
            server,
            version,
            load: stats,
            peak_rss_bytes_after_load: peak_rss(pid)?,
            peak_rss_bytes_after_queries: 0,
        });
        running.push((proc, Target { server, pid, base }));
    }
    let ticks = clock_ticks();
    wait_quiet(&mut running, ticks)?;

    let targets: Vec<&Target> = running.iter().map(|(_, t)| t).collect();
    let [pharos, prometheus] = targets.as_slice() else {
        bail!("expected two servers, have {}", targets.len());
    };
    let pharos_log = out.join(format!("query-{}.log", Server::Pharos.slug()));
    let checkpoints_before = checkpoints_logged(&pharos_log);
    let mut results = Vec::new();
    for (i, q) in qs.iter().enumerate() {
        let tag = format!("[{}/{}] {}", i + 1, qs.len(), q.name);
        let r = bench_query(&client, q, &tag, [pharos, prometheus], w, args.runs, ticks);
        results.push(r);
    }
    let checkpoints = checkpoints_logged(&pharos_log).saturating_sub(checkpoints_before);
    for ((proc, t), f) in running.iter_mut().zip(&mut facts) {
        proc.check_alive()?;
        f.peak_rss_bytes_after_queries = peak_rss(t.pid)?;
    }
    let mut probes = Vec::new();
    for (text, kind) in budget_queries() {
        for (proc, t) in &mut running {
            let p = probe_budget(&client, t, text, kind, w, &qs[0])?;
            proc.check_alive()?;
            eprintln!(
                "query: budget probe on {}: HTTP {} in {:.0} ms, RSS +{} bytes (peak {} over {} before); \
                 then {} answered HTTP {}",
                t.server.title(),
                p.status,
                p.ms,
                p.peak_rss_bytes.saturating_sub(p.rss_before_bytes),
                p.peak_rss_bytes,
                p.rss_before_bytes,
                qs[0].name,
                p.next_status
            );
            probes.push(p);
        }
    }
    for (proc, _) in &mut running {
        proc.terminate(Duration::from_secs(600))?;
    }
    drop(running);
    drop(dirs);

    let report = Report {
        command: command_line(),
        date: date(None),
        machine: machine(),
        workload: WorkloadFacts::new(&fleet, &args.workload),
        window: w,
        runs: args.runs,
        servers: facts,
        pharos_checkpoints_while_timing: checkpoints,
        results,
        max_query_samples: args.max_query_samples,
        probes,
    };
    let path = out.join("query-results.json");
    let json = serde_json::to_string_pretty(&report).context("serializing results")?;
    std::fs::write(&path, json).with_context(|| format!("writing {}", path.display()))?;
    let md = markdown(&report);
    println!("{md}");
    args.md.write("query", BEGIN, END, &md)?;
    eprintln!("query: raw results in {}", path.display());
    let failed: Vec<String> = report
        .results
        .iter()
        .filter(|r| r.sides().iter().any(|s| s.is_err()))
        .map(|r| r.query.name.to_owned())
        .collect();
    if !failed.is_empty() {
        bail!("queries that failed on a server: {}", failed.join(", "));
    }
    Ok(())
}

/// Waits until neither server has used more than 5% of a core for 2 s, at most 5 minutes: a
/// checkpoint or compaction started by the load would otherwise be timed as query latency.
fn wait_quiet(running: &mut [(Proc, Target)], ticks_per_second: u64) -> anyhow::Result<()> {
    const PERIOD: Duration = Duration::from_secs(2);
    let limit = 0.05 * PERIOD.as_secs_f64() * ticks_per_second as f64;
    let start = Instant::now();
    let mut last_print = Instant::now();
    loop {
        let before: Vec<u64> = running
            .iter()
            .map(|(_, t)| cpu_ticks(t.pid))
            .collect::<anyhow::Result<_>>()?;
        std::thread::sleep(PERIOD);
        let mut busy = Vec::new();
        for ((proc, t), b) in running.iter_mut().zip(before) {
            proc.check_alive()?;
            let used = cpu_ticks(t.pid)?.saturating_sub(b);
            if used as f64 > limit {
                let share = used as f64 / ticks_per_second as f64 / PERIOD.as_secs_f64();
                busy.push(format!("{} {:.0}% of a core", t.server.title(), share * 100.0));
            }
        }
        if busy.is_empty() {
            eprintln!(
                "query: both servers idle after {:.0} s",
                start.elapsed().as_secs_f64()
            );
            return Ok(());
        }
        if start.elapsed() > Duration::from_secs(300) {
            eprintln!(
                "query: warning: still busy after 300 s ({}); measuring anyway",
                busy.join(", ")
            );
            return Ok(());
        }
        if last_print.elapsed() >= Duration::from_secs(10) {
            eprintln!("query: waiting for the servers to go idle: {}", busy.join(", "));
            last_print = Instant::now();
        }
    }
}

/// Warm-up on both servers, then `runs` timed runs alternating between them. An error on one server
/// ends that server's runs of this query; the other is still timed.
fn bench_query(
    client: &Client,
    q: &Query,
    tag: &str,
    targets: [&Target; 2],
    w: Window,
    runs: u32,
    ticks_per_second: u64,
) -> QueryOutcome {
    let ms_per_tick = 1000.0 / ticks_per_second.max(1) as f64;
    let mut answers: [Option<Answer>; 2] = [None, None];
    let mut sides: [Result<Side, String>; 2] = [Err(String::new()), Err(String::new())];
    let mut reqs: [Option<Request>; 2] = [None, None];
    for k in 0..2 {
        let (me, other) = (targets[k], targets[1 - k]);
        let warm = request(client, &me.base, q, w).and_then(|req| {
            let shot = shoot(client, &req, me.pid, other.pid)?;
            let answer = parse_answer(&shot.text)?;
            Ok((req, shot, answer))
        });
        match warm {
            Ok((req, shot, answer)) => {
                sides[k] = Ok(Side {
                    series: answer.series(),
                    points: answer.points(),
                    answer_bytes: shot.text.len(),
                    warmup_ms: shot.seconds * 1000.0,
                    runs_ms: Vec::new(),
                    median_ms: f64::NAN,
                    p90_ms: f64::NAN,
                    cpu_ms_per_run: f64::NAN,
                    other_cpu_ms_per_run: f64::NAN,
                });
                answers[k] = Some(answer);
                reqs[k] = Some(req);
            }
            Err(e) => {
                eprintln!("query: {tag}: {} failed: {e:#}", me.server.title());
                sides[k] = Err(format!("{e:#}"));
            }
        }
    }
    let agreement = match &answers {
        [Some(a), Some(b)] => Some(agreement(a, b)),
        _ => None,
    };
    let warm: Vec<String> = (0..2)
        .map(|k| match &sides[k] {
            Ok(s) => format!(
                "{} {:.1} ms ({} series, {} points, {} bytes)",
                targets[k].server.title(),
                s.warmup_ms,
                s.series,
                s.points,
                s.answer_bytes
            ),
            Err(_) => format!("{} failed", targets[k].server.title()),
        })
        .collect();
    eprintln!("query: {tag}: warm-up: {}", warm.join("; "));
    if let Some(a) = agreement.as_ref().filter(|a| !a.agrees()) {
        eprintln!(
            "query: {tag}: warning: answers differ: {} series from one server only, {} points differ; e.g. {}",
            a.series_only_in_one,
            a.points_differing,
            a.example.as_deref().unwrap_or("")
        );
    }

    let mut shots: [Vec<(f64, u64, u64)>; 2] = [Vec::new(), Vec::new()];
    let start = Instant::now();
    let mut last_print = Instant::now();
    for run in 0..runs {
        // Alternating who goes first keeps either from always running right after the other.
        let order = if run % 2 == 0 { [0, 1] } else { [1, 0] };
        for k in order {
            let Some(req) = &reqs[k] else { continue };
            let (me, other) = (targets[k], targets[1 - k]);
            match shoot(client, req, me.pid, other.pid) {
                Ok(s) => shots[k].push((s.seconds * 1000.0, s.own_ticks, s.other_ticks)),
                Err(e) => {
                    eprintln!(
                        "query: {tag}: {} failed in run {}: {e:#}",
                        me.server.title(),
                        run + 1
                    );
                    sides[k] = Err(format!("run {}: {e:#}", run + 1));
                    reqs[k] = None;
                }
            }
        }
        if last_print.elapsed() >= Duration::from_secs(10) {
            eprintln!(
                "query: {tag}: {}/{runs} runs in {:.0} s",
                run + 1,
                start.elapsed().as_secs_f64()
            );
            last_print = Instant::now();
        }
    }
    for (side, shots) in sides.iter_mut().zip(&shots) {
        let Ok(s) = side else { continue };
        let n = shots.len().max(1) as f64;
        s.runs_ms = shots.iter().map(|x| x.0).collect();
        let mut sorted = s.runs_ms.clone();
        sorted.sort_by(f64::total_cmp);
        s.median_ms = percentile(&sorted, 0.5);
        s.p90_ms = percentile(&sorted, 0.9);
        s.cpu_ms_per_run = shots.iter().map(|x| x.1).sum::<u64>() as f64 * ms_per_tick / n;
        s.other_cpu_ms_per_run = shots.iter().map(|x| x.2).sum::<u64>() as f64 * ms_per_tick / n;
    }
    let [pharos, prometheus] = sides;
    let outcome = QueryOutcome {
        query: q.clone(),
        pharos,
        prometheus,
        agreement,
    };
    let summary: Vec<String> = outcome
        .sides()
        .iter()
        .zip(targets)
        .map(|(s, t)| match s {
            Ok(s) => format!(
                "{} median {:.1} ms, p90 {:.1} ms",
                t.server.title(),
                s.median_ms,
                s.p90_ms
            ),
            Err(_) => format!("{} failed", t.server.title()),
        })
        .collect();
    let ratio = outcome
        .ratio(|s| s.median_ms)
        .map_or(String::new(), |r| format!("; Pharos / Prometheus {r:.2}"));
    eprintln!("query: {tag}: {}{ratio}", summary.join(", "));
    outcome
}

const BEGIN: &str = "<!-- pharos bench query: begin (generated; rerun the command to replace) -->";
const END: &str = "<!-- pharos bench query: end -->";

fn ms(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.1}")
    } else {
        "–".into()
    }
}

fn markdown(r: &Report) -> String {
    let versions: Vec<String> = r
        .servers
        .iter()
        .map(|f| format!("{}: `{}`", f.server.title(), f.version))
        .collect();
    let mut s = section_head(
        BEGIN,
        "Query latency: Pharos and Prometheus",
        &r.command,
        &r.date,
        &r.machine,
        &versions,
    );
    let _ = writeln!(
        s,
        "- Data: {}; the same samples sent to both servers by remote write 1.0, every one acknowledged.",
        r.workload.sentence()
    );
    let w = &r.window;
    let _ = writeln!(
        s,
        "- Queries: GET `/api/v1/query_range` from {} to {} ({} to {}: the last {} s of the data, end \
         rounded down to the step), step {} s; the label lookup is GET `/api/v1/label/instance/values` \
         with the same start and end. One warm-up run, then {} timed runs per query and server.",
        short_secs(w.start_ms),
        short_secs(w.end_ms),
        date(Some(w.start_ms.div_euclid(1000) as u64)),
        date(Some(w.end_ms.div_euclid(1000) as u64)),
        short_secs(w.end_ms - w.start_ms),
        short_secs(w.step_ms),
        r.runs
    );
    let rss: Vec<String> = r
        .servers
        .iter()
        .map(|f| {
            format!(
                "{} {} after the load, {} after the queries",
                f.server.title(),
                f.peak_rss_bytes_after_load,
                f.peak_rss_bytes_after_queries
            )
        })
        .collect();
    let _ = writeln!(s, "- Peak RSS (bytes): {}\n", rss.join("; "));

    let _ = writeln!(
        s,
        "| query | series | Pharos median (ms) | Pharos p90 (ms) | Prometheus median (ms) | Prometheus p90 (ms) \
         | median Pharos / Prometheus | p90 Pharos / Prometheus | server CPU per run, Pharos / Prometheus (ms) |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut warnings = Vec::new();
    for o in &r.results {
        let cell = |side: &Result<Side, String>, f: fn(&Side) -> f64| match side {
            Ok(x) => ms(f(x)),
            Err(_) => "error".into(),
        };
        let series = match (&o.pharos, &o.prometheus) {
            (Ok(p), Ok(q)) if p.series == q.series => p.series.to_string(),
            (Ok(p), Ok(q)) => format!("⚠ {} / {}", p.series, q.series),
            (Ok(p), Err(_)) => p.series.to_string(),
            (Err(_), Ok(q)) => q.series.to_string(),
            (Err(_), Err(_)) => "–".into(),
        };
        let ratio = |f: fn(&Side) -> f64| o.ratio(f).map_or("–".into(), |x| format!("{x:.2}"));
        let _ = writeln!(
            s,
            "| {} | {series} | {} | {} | {} | {} | {} | {} | {} / {} |",
            o.query.shown(),
            cell(&o.pharos, |x| x.median_ms),
            cell(&o.pharos, |x| x.p90_ms),
            cell(&o.prometheus, |x| x.median_ms),
            cell(&o.prometheus, |x| x.p90_ms),
            ratio(|x| x.median_ms),
            ratio(|x| x.p90_ms),
            cell(&o.pharos, |x| x.cpu_ms_per_run),
            cell(&o.prometheus, |x| x.cpu_ms_per_run),
        );
        if let (Ok(p), Ok(q)) = (&o.pharos, &o.prometheus)
            && p.series != q.series
        {
            let _ = writeln!(
                s,
                "| ⚠ not the same work: Pharos returned {} series, Prometheus {} | | | | | | | | |",
                p.series, q.series
            );
        }
        if let Some(a) = o.agreement.as_ref().filter(|a| !a.agrees()) {
            warnings.push(format!(
                "{}: {} series from one server only, {} points differ beyond rounding; first: {}",
                o.query.shown(),
                a.series_only_in_one,
                a.points_differing,
                a.example.as_deref().unwrap_or("")
            ));
        }
        for (side, name) in [(&o.pharos, "Pharos"), (&o.prometheus, "Prometheus")] {
            if let Err(e) = side {
                warnings.push(format!(
                    "{}: {name} failed: `{}`",
                    o.query.shown(),
                    e.lines().next().unwrap_or_default()
                ));
            }
        }
    }
    let ratios: Vec<f64> = r
        .results
        .iter()
        .filter_map(|o| o.ratio(|x| x.median_ms))
        .collect();
    if !ratios.is_empty() {
        let gm = (ratios.iter().map(|x| x.ln()).sum::<f64>() / ratios.len() as f64).exp();
        let _ = writeln!(
            s,
            "| geometric mean of the median ratios | | | | | | {gm:.2} | | |"
        );
    }
    if warnings.is_empty() {
        let _ = writeln!(
            s,
            "\nBoth servers returned the same series with the same values (to 1e-9 relative) for every query."
        );
    } else {
        let _ = writeln!(s, "\nWhere the answers differ or a server failed:\n");
        for w in &warnings {
            let _ = writeln!(s, "- ⚠ {w}");
        }
    }
    // Background work of the idle server shares the two cores with the one being timed.
    let mut busy: Vec<String> = r
        .results
        .iter()
        .flat_map(|o| {
            [(&o.pharos, "Prometheus"), (&o.prometheus, "Pharos")]
                .into_iter()
                .filter_map(move |(side, other)| match side {
                    Ok(x) if x.other_cpu_ms_per_run > 0.1 * x.median_ms.max(10.0) => Some(format!(
                        "{} used {:.0} ms of CPU per run of {} while idle",
                        other, x.other_cpu_ms_per_run, o.query.name
                    )),
                    _ => None,
                })
        })
        .collect();
    if r.pharos_checkpoints_while_timing > 0 {
        busy.push(format!(
            "Pharos wrote {} scheduled head checkpoint(s) while queries were timed",
            r.pharos_checkpoints_while_timing
        ));
    }
    if !busy.is_empty() {
        let _ = writeln!(s, "\nBackground work during the timed runs: {}.", busy.join("; "));
    }
    budget_markdown(&mut s, r);
    let _ = writeln!(
        s,
        "\nBoth servers run at the same time on 127.0.0.1, each fresh in its own temporary directory, loaded \
         one after the other (Pharos first) and timed only once neither has used more than 5% of a core for \
         2 s. Pharos: `server --wal-fsync always` as in `pharos bench compare`, with the sample limit; \
         Prometheus: defaults plus the remote-write receiver and the sample limit. Latency is wall time at the client (this process, on the same cores) from \
         sending the request to the last byte of the uncompressed JSON answer, on a kept-alive connection. \
         Timed runs alternate between the servers, who goes first switching every run, so a slow moment \
         on the machine hits both. The warm-up answers are compared series by series and point by point. \
         Server CPU is utime+stime of the server process across each request, in clock ticks of {} ms, \
         averaged over the runs. Ratios below 1 mean Pharos answered faster.",
        1000 / clock_ticks().max(1)
    );
    let _ = writeln!(s, "{END}");
    s
}

/// The sample-budget probes: what each server answered and how far its RSS rose.
fn budget_markdown(s: &mut String, r: &Report) {
    if r.probes.is_empty() {
        return;
    }
    let budget_bytes = r.max_query_samples * SAMPLE_BYTES;
    let _ = writeln!(
        s,
        "\nOver the sample budget: both servers ran with a limit of {} samples per query ({} bytes at {} \
         bytes per sample). After the timed runs, each server is asked queries that need every series; \
         its peak RSS is reset to its current RSS (`clear_refs` 5) just before, and read (`VmHWM`) \
         just after. The first dashboard query is then asked again.\n",
        r.max_query_samples, budget_bytes, SAMPLE_BYTES
    );
    let _ = writeln!(
        s,
        "| query | server | answer | time (ms) | RSS before (bytes) | RSS rise (bytes) | rise / budget bytes \
         | next query |"
    );
    let _ = writeln!(s, "|---|---|---|---:|---:|---:|---:|---|");
    for p in &r.probes {
        let rise = p.peak_rss_bytes.saturating_sub(p.rss_before_bytes);
        let answer = if p.status == 200 {
            "200, answered".to_owned()
        } else {
            format!("{} `{}`: {}", p.status, p.error_type, p.error.replace('|', "\\|"))
        };
        let kind = match p.kind {
            ProbeKind::Instant => "instant",
            ProbeKind::Range => "range",
        };
        let _ = writeln!(
            s,
            "| `{}` ({kind}) | {} | {answer} | {:.0} | {} | {rise} | {:.3} | {} |",
            p.query,
            p.server.title(),
            p.ms,
            p.rss_before_bytes,
            rise as f64 / budget_bytes as f64,
            p.next_status
        );
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn percentiles_interpolate_between_ranks() {
        assert!(percentile(&[], 0.5).is_nan());
        assert_eq!(percentile(&[3.0], 0.9), 3.0);
        assert_eq!(percentile(&[1.0, 2.0, 3.0], 0.5), 2.0);
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 0.5), 2.5);
        let xs: Vec<f64> = (1..=15).map(f64::from).collect();
        assert_eq!(percentile(&xs, 0.5), 8.0);
        // Rank 0.9 × 14 = 12.6: between the 13th and 14th values.
        assert!((percentile(&xs, 0.9) - 13.6).abs() < 1e-12);
        assert_eq!(percentile(&xs, 0.0), 1.0);
        assert_eq!(percentile(&xs, 1.0), 15.0);
    }

    #[test]
    fn window_ends_on_a_step_within_the_data() {
        let w = window(
            1_700_000_007_000,
            Duration::from_secs(3600),
            Duration::from_secs(15),
        );
        assert_eq!(w.end_ms, 1_699_999_995_000);
        assert_eq!(w.end_ms % 15_000, 0);
        assert_eq!(w.end_ms - w.start_ms, 3_600_000);
        assert_eq!(w.step_ms, 15_000);
        assert_eq!(secs(w.end_ms), "1699999995.000");
        assert_eq!(secs(1_500), "1.500");
        assert_eq!(short_secs(15_000), "15");
        assert_eq!(short_secs(-1_500), "-1.500");
    }

    fn matrix(series: &[(&str, &[(i64, f64)])]) -> Answer {
        Answer::Matrix(
            series
                .iter()
                .map(|(inst, pts)| (vec![("instance".to_owned(), (*inst).to_owned())], pts.to_vec()))
                .collect(),
        )
    }

    #[test]
    fn answers_are_parsed_and_compared() {
        let text = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"instance":"a"},"values":[[1700000000,"1.5"],[1700000015.5,"NaN"]]},
            {"metric":{"instance":"b"},"values":[[1700000000,"+Inf"]]}]}}"#;
        let a = parse_answer(text).unwrap();
        assert_eq!((a.series(), a.points()), (2, 3));
        let same = matrix(&[
            (
                "a",
                &[(1_700_000_000_000, 1.5 + 1e-15), (1_700_000_015_500, f64::NAN)],
            ),
            ("b", &[(1_700_000_000_000, f64::INFINITY)]),
        ]);
        assert!(agreement(&a, &same).agrees());

        let other = matrix(&[
            ("a", &[(1_700_000_000_000, 1.6), (1_700_000_015_500, f64::NAN)]),
            ("c", &[(1_700_000_000_000, 1.0)]),
        ]);
        let d = agreement(&a, &other);
        assert_eq!((d.series_only_in_one, d.points_differing), (2, 1));
        assert!(d.example.unwrap().contains("Pharos 1.5, Prometheus 1.6"));

        let labels = parse_answer(r#"{"status":"success","data":["x","y"]}"#).unwrap();
        assert_eq!(labels.series(), 2);
        let fewer = Answer::Strings(["x".to_owned()].into());
        assert_eq!(agreement(&labels, &fewer).series_only_in_one, 1);
        assert!(parse_answer(r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#).is_err());
    }

    #[test]
    fn span_defaults_to_cover_the_lookback() {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            args: Args,
        }
        let cli = Cli::try_parse_from(["q"]).unwrap();
        assert_eq!(cli.args.workload.span, Duration::from_secs(75 * 60));
        assert_eq!(cli.args.runs, 15);
        let w = window(1_700_000_000_000, cli.args.range, cli.args.step);
        assert!(w.end_ms - millis(cli.args.workload.span) <= w.start_ms - LONGEST_LOOKBACK_MS);
        assert!(Cli::try_parse_from(["q", "--runs", "0"]).is_err());
    }
}
