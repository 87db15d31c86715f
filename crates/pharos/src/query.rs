//! `pharos query`: instant and range queries against a server's HTTP API, printed like
//! `promtool query` (one line per series) or as the API's JSON.

use anyhow::{Context, bail};
use serde_json::Value;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    kind: Kind,
    /// Base URL of the server.
    #[arg(long, global = true, default_value = "http://127.0.0.1:9190")]
    server: String,
    /// Output format.
    #[arg(long, short = 'o', global = true, value_enum, default_value = "promql")]
    format: Format,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    /// `metric{labels} => value @[time]`, as promtool prints.
    Promql,
    /// The `data` object of the API's answer.
    Json,
}

#[derive(clap::Subcommand)]
enum Kind {
    /// Evaluate an expression at one time.
    Instant {
        expr: String,
        /// Evaluation time, RFC 3339 or Unix seconds (default: now).
        #[arg(long)]
        time: Option<String>,
    },
    /// Evaluate an expression over a time range.
    Range {
        expr: String,
        /// Start, RFC 3339 or Unix seconds (default: an hour before the end).
        #[arg(long)]
        start: Option<String>,
        /// End, RFC 3339 or Unix seconds (default: now).
        #[arg(long)]
        end: Option<String>,
        /// Resolution: seconds or a duration such as 15s (default: about 250 points).
        #[arg(long)]
        step: Option<String>,
    },
}

fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let base = args.server.trim_end_matches('/');
    let (path, params): (&str, Vec<(&str, String)>) = match &args.kind {
        Kind::Instant { expr, time } => {
            let mut p = vec![("query", expr.clone())];
            if let Some(t) = time {
                p.push(("time", t.clone()));
            }
            ("/api/v1/query", p)
        }
        Kind::Range {
            expr,
            start,
            end,
            step,
        } => {
            let end_v = end.clone().unwrap_or_else(|| format!("{:.3}", now_secs()));
            let start_v = match start {
                Some(s) => s.clone(),
                None => match end_v.parse::<f64>() {
                    Ok(e) => format!("{:.3}", e - 3600.0),
                    Err(_) => bail!("--start is needed when --end is not in Unix seconds"),
                },
            };
            let step_v = match step {
                Some(s) => s.clone(),
                None => match (start_v.parse::<f64>(), end_v.parse::<f64>()) {
                    (Ok(s), Ok(e)) => format!("{}", ((e - s) / 250.0).max(1.0).round()),
                    _ => bail!("--step is needed when --start or --end are not in Unix seconds"),
                },
            };
            (
                "/api/v1/query_range",
                vec![
                    ("query", expr.clone()),
                    ("start", start_v),
                    ("end", end_v),
                    ("step", step_v),
                ],
            )
        }
    };
    let client = reqwest::blocking::Client::new();
    let resp = client
        .post(format!("{base}{path}"))
        .form(&params)
        .send()
        .with_context(|| format!("querying {base}"))?;
    let status = resp.status();
    let body: Value = resp
        .json()
        .with_context(|| format!("reading the answer of {base}"))?;
    if body["status"] != "success" {
        bail!(
            "query failed (HTTP {status}, {}): {}",
            body["errorType"].as_str().unwrap_or("unknown"),
            body["error"].as_str().unwrap_or("no message")
        );
    }
    for w in body["warnings"].as_array().into_iter().flatten() {
        eprintln!("warning: {}", w.as_str().unwrap_or_default());
    }
    for i in body["infos"].as_array().into_iter().flatten() {
        eprintln!("info: {}", i.as_str().unwrap_or_default());
    }
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&body["data"])?),
        Format::Promql => print_promql(&body["data"]),
    }
    Ok(())
}

fn metric(m: &Value) -> String {
    let obj = m.as_object();
    let name = obj
        .and_then(|o| o.get("__name__"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let labels: Vec<String> = obj
        .into_iter()
        .flatten()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| format!("{k}={}", serde_json::to_string(v).unwrap_or_default()))
        .collect();
    format!("{name}{{{}}}", labels.join(", "))
}

fn point(p: &Value) -> String {
    format!("{} @[{}]", p[1].as_str().unwrap_or(""), p[0])
}

fn print_promql(data: &Value) {
    let result = &data["result"];
    match data["resultType"].as_str() {
        Some("scalar") => println!("scalar: {}", point(result)),
        Some("string") => println!("{}", point(result)),
        Some("vector") => {
            for e in result.as_array().into_iter().flatten() {
                println!("{} => {}", metric(&e["metric"]), point(&e["value"]));
            }
        }
        _ => {
            for s in result.as_array().into_iter().flatten() {
                let points: Vec<String> = s["values"].as_array().into_iter().flatten().map(point).collect();
                println!("{} =>\n{}", metric(&s["metric"]), points.join("\n"));
            }
        }
    }
}
