//! The Prometheus query API: `/api/v1/query`, `/api/v1/query_range`, `/api/v1/format_query`,
//! `/api/v1/parse_query`, and the status endpoints Grafana and promtool read. Evaluation runs on the
//! blocking pool so a long query never stalls the ingest endpoints.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use promql::{Engine, Options, QueryResult, Value};
use serde_json::json;

use crate::ApiState;
use crate::read::{ApiError, Params, push_json_str, success};

/// Largest `(end − start) / step` of a range query, as in Prometheus: at most 11,001 points per series.
const MAX_POINTS: i64 = 11_000;

fn query_error(e: promql::Error) -> ApiError {
    match e {
        promql::Error::BadData(m) => ApiError::new(StatusCode::BAD_REQUEST, "bad_data", m),
        promql::Error::Execution(m) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "execution", m),
        promql::Error::Timeout(m) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!("query timed out in {m}"),
        ),
        promql::Error::Canceled => ApiError::new(
            StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
            "canceled",
            "query was canceled",
        ),
        promql::Error::Storage(m) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", m),
    }
}

/// A duration parameter: float seconds or a Prometheus duration (`5m`).
fn parse_duration_param(s: &str) -> Option<i64> {
    if let Ok(f) = s.parse::<f64>() {
        return (f.is_finite() && f.abs() < 9.2e15).then(|| (f * 1000.0).round() as i64);
    }
    promql_syntax::parse_duration_ms(s)
}

fn engine(st: &ApiState, p: &Params) -> Result<Engine, ApiError> {
    let mut opts = Options {
        cancel: Some(Arc::new(AtomicBool::new(false))),
        timeout: st.limits.query_timeout,
        max_samples: st.limits.max_query_samples,
        ..Options::default()
    };
    if let Some(t) = p.one("timeout").filter(|s| !s.is_empty()) {
        let ms = parse_duration_param(t).filter(|ms| *ms > 0).ok_or_else(|| {
            ApiError::bad_data(format!(
                "invalid parameter \"timeout\": cannot parse {t:?} to a valid duration"
            ))
        })?;
        opts.timeout = opts.timeout.min(Duration::from_millis(ms as u64));
    }
    if let Some(l) = p.one("lookback_delta").filter(|s| !s.is_empty()) {
        opts.lookback_ms = parse_duration_param(l).filter(|ms| *ms > 0).ok_or_else(|| {
            ApiError::bad_data(format!(
                "invalid parameter \"lookback_delta\": cannot parse {l:?} to a valid duration"
            ))
        })?;
    }
    Ok(Engine::new(opts))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Raises the engine's cancel flag when dropped before `disarm`: axum drops a handler's future when the
/// client disconnects, and the query running on the blocking pool then stops at its next check.
struct CancelOnDrop(Option<Arc<AtomicBool>>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(flag) = self.0.take() {
            flag.store(true, Ordering::Relaxed);
        }
    }
}

/// Runs an evaluation on the blocking pool and maps its errors; parse errors name the parameter.
async fn evaluate(
    cancel: Arc<AtomicBool>,
    f: impl FnOnce() -> promql::Result<QueryResult> + Send + 'static,
) -> Result<QueryResult, ApiError> {
    let mut guard = CancelOnDrop(Some(cancel));
    let res = tokio::task::spawn_blocking(f).await;
    guard.0 = None;
    res.map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(|e| match e {
            promql::Error::BadData(m) => ApiError::bad_data(format!("invalid parameter \"query\": {m}")),
            other => query_error(other),
        })
}

pub async fn query(State(st): State<Arc<ApiState>>, req: Request) -> Result<Response, ApiError> {
    let p = Params::from_request(&st, req).await?;
    let q = p.one("query").unwrap_or("").to_owned();
    let t = p.time("time", now_ms())?;
    let limit = p.limit()?;
    let engine = engine(&st, &p)?;
    let db = st.db.clone();
    let cancel = engine.opts.cancel.clone().unwrap_or_default();
    let res = evaluate(cancel, move || engine.instant(db.as_ref(), &q, t)).await?;
    Ok(render(res, limit))
}

pub async fn query_range(State(st): State<Arc<ApiState>>, req: Request) -> Result<Response, ApiError> {
    let p = Params::from_request(&st, req).await?;
    let q = p.one("query").unwrap_or("").to_owned();
    let start = p.required_time("start")?;
    let end = p.required_time("end")?;
    if end < start {
        return Err(ApiError::bad_data(
            "invalid parameter \"end\": end timestamp must not be before start time",
        ));
    }
    let step_s = p.one("step").unwrap_or("");
    let step = parse_duration_param(step_s).ok_or_else(|| {
        ApiError::bad_data(format!(
            "invalid parameter \"step\": cannot parse {step_s:?} to a valid duration"
        ))
    })?;
    if step <= 0 {
        return Err(ApiError::bad_data(
            "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer",
        ));
    }
    if (end - start) / step > MAX_POINTS {
        return Err(ApiError::bad_data(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ));
    }
    let limit = p.limit()?;
    let engine = engine(&st, &p)?;
    let db = st.db.clone();
    let cancel = engine.opts.cancel.clone().unwrap_or_default();
    let res = evaluate(cancel, move || engine.range(db.as_ref(), &q, start, end, step)).await?;
    Ok(render(res, limit))
}

/// A timestamp as Prometheus writes it: seconds with up to three decimals, no float noise.
fn push_time(out: &mut String, t: i64) {
    let (secs, ms) = (t.div_euclid(1000), t.rem_euclid(1000));
    if t < 0 && ms != 0 {
        // -1500 ms is -1.5 s: print the magnitude with a sign.
        let a = -t;
        let _ = write!(out, "-{}", a / 1000);
        let frac = format!("{:03}", a % 1000);
        let _ = write!(out, ".{}", frac.trim_end_matches('0'));
        return;
    }
    let _ = write!(out, "{secs}");
    if ms != 0 {
        let frac = format!("{ms:03}");
        let _ = write!(out, ".{}", frac.trim_end_matches('0'));
    }
}

/// A sample value as Prometheus writes it: a JSON string, shortest form, `NaN`, `+Inf`, `-Inf`.
fn push_value(out: &mut String, v: f64) {
    out.push('"');
    if v.is_nan() {
        out.push_str("NaN");
    } else if v == f64::INFINITY {
        out.push_str("+Inf");
    } else if v == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else {
        // ryu is several times faster than `Display` and agrees with it (and with Go's shortest 'f'
        // format, which Prometheus uses) except for its exponent form and a trailing `.0`.
        let mut buf = ryu::Buffer::new();
        let s = buf.format_finite(v);
        if s.contains('e') {
            let _ = write!(out, "{v}");
        } else {
            out.push_str(s.strip_suffix(".0").unwrap_or(s));
        }
    }
    out.push('"');
}

/// A native histogram as Prometheus's API writes it: count and sum, and each non-empty bucket as
/// `[boundary rule, lower, upper, count]` (rule 0: open left, closed right; 1: closed left, open right;
/// 2: open both; 3: closed both), numbers as strings.
fn push_histogram(out: &mut String, h: &model::FloatHistogram) {
    out.push_str("{\"count\":");
    push_value(out, h.count);
    out.push_str(",\"sum\":");
    push_value(out, h.sum);
    let mut first = true;
    for b in h.iter_buckets().filter(|b| b.count != 0.0) {
        out.push_str(if first { ",\"buckets\":[" } else { "," });
        first = false;
        let _ = write!(out, "[{},", b.boundary_rule());
        push_value(out, b.lower);
        out.push(',');
        push_value(out, b.upper);
        out.push(',');
        push_value(out, b.count);
        out.push(']');
    }
    if !first {
        out.push(']');
    }
    out.push('}');
}

fn push_labels(out: &mut String, l: &model::Labels) {
    out.push('{');
    for (i, (n, v)) in l.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_str(out, n);
        out.push(':');
        push_json_str(out, v);
    }
    out.push('}');
}

/// Writes the envelope by hand: results can hold millions of points, and timestamps must print as
/// Prometheus prints them.
fn render(res: QueryResult, limit: usize) -> Response {
    let mut warnings = res.warnings;
    let mut out = String::with_capacity(1024);
    out.push_str("{\"status\":\"success\",\"data\":{\"resultType\":\"");
    out.push_str(res.value.type_name());
    out.push_str("\",\"result\":");
    match res.value {
        Value::Scalar { t, v } => {
            out.push('[');
            push_time(&mut out, t);
            out.push(',');
            push_value(&mut out, v);
            out.push(']');
        }
        Value::String { t, v } => {
            out.push('[');
            push_time(&mut out, t);
            out.push(',');
            push_json_str(&mut out, &v);
            out.push(']');
        }
        Value::Vector(mut els) => {
            if limit > 0 && els.len() > limit {
                els.truncate(limit);
                warnings.push("results truncated due to limit".into());
            }
            out.push('[');
            for (i, e) in els.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                push_labels(&mut out, &e.labels);
                match &e.h {
                    Some(h) => {
                        out.push_str(",\"histogram\":[");
                        push_time(&mut out, e.t);
                        out.push(',');
                        push_histogram(&mut out, h);
                    }
                    None => {
                        out.push_str(",\"value\":[");
                        push_time(&mut out, e.t);
                        out.push(',');
                        push_value(&mut out, e.v);
                    }
                }
                out.push_str("]}");
            }
            out.push(']');
        }
        Value::Matrix(mut series) => {
            if limit > 0 && series.len() > limit {
                series.truncate(limit);
                warnings.push("results truncated due to limit".into());
            }
            out.push('[');
            for (i, s) in series.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                push_labels(&mut out, &s.labels);
                // As Prometheus: each list only when the series has points of that kind.
                if !s.points.is_empty() || s.histograms.is_empty() {
                    out.push_str(",\"values\":[");
                    for (k, (t, v)) in s.points.iter().enumerate() {
                        if k > 0 {
                            out.push(',');
                        }
                        out.push('[');
                        push_time(&mut out, *t);
                        out.push(',');
                        push_value(&mut out, *v);
                        out.push(']');
                    }
                    out.push(']');
                }
                if !s.histograms.is_empty() {
                    out.push_str(",\"histograms\":[");
                    for (k, (t, h)) in s.histograms.iter().enumerate() {
                        if k > 0 {
                            out.push(',');
                        }
                        out.push('[');
                        push_time(&mut out, *t);
                        out.push(',');
                        push_histogram(&mut out, h);
                        out.push(']');
                    }
                    out.push(']');
                }
                out.push('}');
            }
            out.push(']');
        }
    }
    out.push('}');
    for (key, list) in [("warnings", &warnings), ("infos", &res.infos)] {
        if !list.is_empty() {
            let _ = write!(
                out,
                ",\"{key}\":{}",
                serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
            );
        }
    }
    out.push('}');
    ([(header::CONTENT_TYPE, "application/json")], out).into_response()
}

pub async fn format_query(State(st): State<Arc<ApiState>>, req: Request) -> Result<Response, ApiError> {
    let p = Params::from_request(&st, req).await?;
    let q = p.one("query").unwrap_or("");
    let expr = promql_syntax::parse(q)
        .map_err(|e| ApiError::bad_data(format!("invalid parameter \"query\": {e}")))?;
    Ok(success(json!(promql_syntax::pretty(&expr)), Vec::new()))
}

/// The parsed expression as Prometheus's UI tree (see [`crate::ast_json`]).
pub async fn parse_query(State(st): State<Arc<ApiState>>, req: Request) -> Result<Response, ApiError> {
    let p = Params::from_request(&st, req).await?;
    let q = p.one("query").unwrap_or("");
    let expr = promql_syntax::parse(q)
        .map_err(|e| ApiError::bad_data(format!("invalid parameter \"query\": {e}")))?;
    Ok(success(crate::ast_json::to_json(&expr), Vec::new()))
}

pub async fn buildinfo() -> Response {
    success(
        json!({
            "version": env!("CARGO_PKG_VERSION"),
            "revision": option_env!("PHAROS_GIT_REVISION").unwrap_or("unknown"),
            "branch": "",
            "buildUser": "",
            "buildDate": "",
            "goVersion": "",
        }),
        Vec::new(),
    )
}

pub async fn runtimeinfo(State(st): State<Arc<ApiState>>) -> Response {
    let start = std::time::SystemTime::now() - st.started.elapsed();
    let start_ms = start
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    success(
        json!({
            "startTime": crate::time::format_rfc3339(start_ms),
            "CWD": std::env::current_dir().map(|p| p.display().to_string()).unwrap_or_default(),
            "reloadConfigSuccess": true,
            "lastConfigTime": crate::time::format_rfc3339(start_ms),
            "corruptionCount": 0,
            "goroutineCount": 0,
            "GOMAXPROCS": std::thread::available_parallelism().map_or(1, |n| n.get()),
            "GOGC": "",
            "GODEBUG": "",
            "storageRetention": st.limits.retention_text.clone(),
        }),
        Vec::new(),
    )
}

pub async fn metadata() -> Response {
    success(json!({}), Vec::new())
}

pub async fn query_exemplars() -> Response {
    success(json!([]), Vec::new())
}

/// `/api/v1/status/tsdb`: the head's cardinality in Prometheus's shape (`limit`, default 10).
pub async fn status_tsdb(State(st): State<Arc<ApiState>>, req: Request) -> Result<Response, ApiError> {
    let p = Params::from_request(&st, req).await?;
    let limit = match p.limit()? {
        0 => 10,
        n => n,
    };
    let c = st.db.head().cardinality(limit);
    let list = |v: &[(String, u64)]| -> serde_json::Value {
        v.iter().map(|(n, c)| json!({"name": n, "value": c})).collect()
    };
    let head = st.db.head();
    let (min_t, max_t) = (head.min_time(), head.max_t());
    Ok(success(
        json!({
            "headStats": {
                "numSeries": c.num_series,
                "numLabelPairs": c.num_label_pairs,
                "chunkCount": head.num_chunks(),
                "minTime": min_t,
                "maxTime": max_t,
            },
            "seriesCountByMetricName": list(&c.series_by_metric_name),
            "labelValueCountByLabelName": list(&c.label_values_by_name),
            "memoryInBytesByLabelName": list(&c.memory_bytes_by_label_name),
            "seriesCountByLabelValuePair": list(&c.series_by_label_pair),
        }),
        Vec::new(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_print_as_prometheus_prints_them() {
        for (v, want) in [
            (1.0, "1"),
            (-0.0, "-0"),
            (0.1, "0.1"),
            (123456.789, "123456.789"),
            (1e21, "1000000000000000000000"),
            (1.5e-7, "0.00000015"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (28.365896551724987, "28.365896551724987"),
        ] {
            let mut out = String::new();
            push_value(&mut out, v);
            assert_eq!(out, format!("\"{want}\""), "{v}");
        }
    }

    #[test]
    fn timestamps_print_in_seconds_with_milliseconds() {
        for (t, want) in [
            (0, "0"),
            (1_500, "1.5"),
            (1_700_000_000_123, "1700000000.123"),
            (-1_500, "-1.5"),
            (-2_000, "-2"),
        ] {
            let mut out = String::new();
            push_time(&mut out, t);
            assert_eq!(out, want, "{t}");
        }
    }
}
