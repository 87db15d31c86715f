//! Write endpoints. Each answers like the system it imitates: remote write like Prometheus 3, line
//! protocol like InfluxDB (valid lines stored, 400 naming the first bad line), text import like
//! VictoriaMetrics' import endpoint. A 2xx answer is sent only once the stored samples are durable.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use exposition::{FieldValue, Precision, TextItem};
use model::{Labels, Sample};
use serde::Deserialize;
use tracing::warn;
use tsdb::{Rejected, Rejection, WriteOutcome};

use crate::ApiState;

type Batch = Vec<(Labels, Vec<Sample>)>;

fn text(status: StatusCode, msg: impl Into<String>) -> Response {
    let mut m = msg.into();
    m.push('\n');
    (status, m).into_response()
}

pub(crate) async fn read_body(st: &ApiState, body: Body) -> Result<Bytes, (StatusCode, String)> {
    axum::body::to_bytes(body, st.limits.max_body_bytes)
        .await
        .map_err(|_| {
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "request body exceeds the limit of {} bytes",
                    st.limits.max_body_bytes
                ),
            )
        })
}

/// Inflates a gzip body, refusing it once the output passes `limit` bytes.
pub(crate) fn gunzip(body: &[u8], limit: usize) -> Result<Vec<u8>, (StatusCode, String)> {
    use std::io::Read;
    let mut out = Vec::new();
    let mut dec = flate2::read::MultiGzDecoder::new(body).take(limit as u64 + 1);
    dec.read_to_end(&mut out)
        .map_err(|e| (StatusCode::BAD_REQUEST, format!("invalid gzip body: {e}")))?;
    if out.len() > limit {
        return Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("gzip body inflates past the limit of {limit} bytes"),
        ));
    }
    Ok(out)
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Describes the first refused sample and how many more there were.
fn describe(batch: &Batch, rejected: &[Rejected]) -> String {
    describe_with(rejected, |i| {
        batch.get(i).map_or_else(String::new, |(l, _)| l.to_string())
    })
}

fn describe_with(rejected: &[Rejected], series_of: impl Fn(usize) -> String) -> String {
    let Some(first) = rejected.first() else {
        return String::new();
    };
    let series = series_of(first.series);
    let more = if rejected.len() > 1 {
        format!(" ({} more samples refused)", rejected.len() - 1)
    } else {
        String::new()
    };
    let mut msg = format!(
        "{}: series {series}, timestamp {}{more}",
        first.reason.message(),
        first.t
    );
    if first.reason == Rejection::SeriesLimit {
        msg.push_str("; existing series keep ingesting, new series are refused until series are removed");
    }
    msg
}

async fn durable(st: &ApiState, out: &mut WriteOutcome, protocol: &str) -> Result<(), Response> {
    if let Err(e) = out.durable().await {
        warn!(error = %e, protocol, "write not made durable");
        st.metrics.reject(protocol, "storage");
        return Err(text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("storing samples failed: {e}"),
        ));
    }
    st.metrics.accepted(protocol, out.written + out.duplicates);
    Ok(())
}

fn rejection_reason(r: &[Rejected]) -> &'static str {
    r.first().map_or("unknown", |r| r.reason.reason())
}

pub async fn remote_write(State(st): State<Arc<ApiState>>, headers: HeaderMap, body: Body) -> Response {
    const P: &str = "remote_write";
    let get = |h: header::HeaderName| headers.get(h).and_then(|v| v.to_str().ok());
    let version = match remote::version_from_content_type(get(header::CONTENT_TYPE)) {
        Ok(v) => v,
        Err(e) => {
            st.metrics.reject(P, "unsupported_media_type");
            return text(StatusCode::UNSUPPORTED_MEDIA_TYPE, e.to_string());
        }
    };
    if let Err(e) = remote::check_content_encoding(get(header::CONTENT_ENCODING)) {
        st.metrics.reject(P, "unsupported_media_type");
        return text(StatusCode::UNSUPPORTED_MEDIA_TYPE, e.to_string());
    }
    let body = match read_body(&st, body).await {
        Ok(b) => b,
        Err((code, msg)) => {
            st.metrics.reject(P, "too_large");
            return text(code, msg);
        }
    };
    let raw = match remote::decompress(&body, st.limits.max_decoded_bytes) {
        Ok(r) => r,
        Err(e @ remote::Error::TooLarge { .. }) => {
            st.metrics.reject(P, "too_large");
            return text(StatusCode::PAYLOAD_TOO_LARGE, e.to_string());
        }
        Err(e) => {
            st.metrics.reject(P, "malformed");
            return text(StatusCode::BAD_REQUEST, e.to_string());
        }
    };
    // Zero-copy decode: label strings borrow from `raw`; all pairs and samples of the request live in
    // two flat vectors.
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    let mut samples: Vec<Sample> = Vec::new();
    let mut spans: Vec<(usize, usize, usize, usize)> = Vec::new();
    let mut scratch: Vec<(&str, &str)> = Vec::new();
    let mut invalid: Option<String> = None;
    let walked = remote::walk(version, &raw, |i, wire_labels, wire_samples| {
        scratch.clear();
        scratch.extend_from_slice(wire_labels);
        if let Err(e) = model::normalize_pairs(&mut scratch, &st.limits.labels) {
            let shown: Vec<String> = wire_labels.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
            invalid = Some(format!(
                "invalid labels for series {i} {{{}}}: {e}",
                shown.join(", ")
            ));
            return Err(remote::Error::Decode("invalid labels".into()));
        }
        let (l0, s0) = (pairs.len(), samples.len());
        pairs.extend_from_slice(&scratch);
        samples.extend(wire_samples.iter().map(|(t, v)| Sample::new(*t, *v)));
        spans.push((l0, pairs.len(), s0, samples.len()));
        Ok(())
    });
    if let Some(msg) = invalid {
        st.metrics.reject(P, "invalid_labels");
        return text(StatusCode::BAD_REQUEST, msg);
    }
    let counts = match walked {
        Ok(c) => c,
        Err(e) => {
            st.metrics.reject(P, "malformed");
            return text(StatusCode::BAD_REQUEST, e.to_string());
        }
    };
    let inputs: Vec<tsdb::Input<'_>> = spans
        .iter()
        .map(|&(a, b, c, d)| tsdb::Input {
            labels: &pairs[a..b],
            samples: &samples[c..d],
        })
        .collect();
    st.metrics.ignore(P, "native_histogram", counts.histograms as u64);
    st.metrics.ignore(P, "exemplar", counts.exemplars as u64);
    let v2 = matches!(version, remote::Version::V2);
    // 1.0: a batch with an out-of-order, duplicate or too-old sample is refused whole, as Prometheus does.
    // 2.0: the rest is stored and the response headers say how much.
    let mut out = match st.db.append_inputs(&inputs, !v2) {
        Ok(o) => o,
        Err(e) => {
            st.metrics.reject(P, "storage");
            return text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
        }
    };
    if let Err(resp) = durable(&st, &mut out, P).await {
        return resp;
    }
    let mut resp = if out.rejected.is_empty() {
        StatusCode::NO_CONTENT.into_response()
    } else {
        st.metrics.reject(P, rejection_reason(&out.rejected));
        text(
            StatusCode::BAD_REQUEST,
            describe_with(&out.rejected, |i| model::format_pairs(inputs[i].labels)),
        )
    };
    if v2 {
        let h = resp.headers_mut();
        let n = |x: u64| HeaderValue::from_str(&x.to_string()).unwrap_or(HeaderValue::from_static("0"));
        h.insert(remote::WRITTEN_SAMPLES_HEADER, n(out.written + out.duplicates));
        h.insert(remote::WRITTEN_HISTOGRAMS_HEADER, n(0));
        h.insert(remote::WRITTEN_EXEMPLARS_HEADER, n(0));
    }
    resp
}

#[derive(Deserialize, Default)]
pub struct InfluxParams {
    db: Option<String>,
    bucket: Option<String>,
    precision: Option<String>,
}

fn influx_error(v2: bool, status: StatusCode, msg: String) -> Response {
    let body = if v2 {
        serde_json::json!({ "code": if status == StatusCode::PAYLOAD_TOO_LARGE { "request too large" } else { "invalid" }, "message": msg })
    } else {
        serde_json::json!({ "error": msg })
    };
    (status, axum::Json(body)).into_response()
}

pub async fn influx_v1(
    State(st): State<Arc<ApiState>>,
    Query(q): Query<InfluxParams>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(db) = q.db.clone().filter(|d| !d.is_empty()) else {
        st.metrics.reject("influx", "invalid_request");
        return influx_error(false, StatusCode::BAD_REQUEST, "database is required".into());
    };
    let Some(precision) = Precision::parse_v1(q.precision.as_deref().unwrap_or("")) else {
        st.metrics.reject("influx", "invalid_request");
        return influx_error(
            false,
            StatusCode::BAD_REQUEST,
            format!("invalid precision {:?}", q.precision.unwrap_or_default()),
        );
    };
    influx(st, false, db, precision, headers, body).await
}

pub async fn influx_v2(
    State(st): State<Arc<ApiState>>,
    Query(q): Query<InfluxParams>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(bucket) = q.bucket.clone().filter(|d| !d.is_empty()) else {
        st.metrics.reject("influx", "invalid_request");
        return influx_error(true, StatusCode::BAD_REQUEST, "bucket is required".into());
    };
    let Some(precision) = Precision::parse_v2(q.precision.as_deref().unwrap_or("ns")) else {
        st.metrics.reject("influx", "invalid_request");
        return influx_error(
            true,
            StatusCode::BAD_REQUEST,
            format!("invalid precision {:?}", q.precision.unwrap_or_default()),
        );
    };
    influx(st, true, bucket, precision, headers, body).await
}

fn line_text(body: &[u8], line: usize) -> String {
    let raw = body
        .split(|b| *b == b'\n')
        .nth(line.saturating_sub(1))
        .unwrap_or_default();
    let s = String::from_utf8_lossy(raw);
    let s = s.trim_end_matches('\r');
    if s.len() > 200 {
        format!("{}…", &s[..s.floor_char_boundary(200)])
    } else {
        s.to_owned()
    }
}

async fn influx(
    st: Arc<ApiState>,
    v2: bool,
    db: String,
    precision: Precision,
    headers: HeaderMap,
    body: Body,
) -> Response {
    const P: &str = "influx";
    let gzip = match headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
    {
        None | Some("") => false,
        Some(e) if e.eq_ignore_ascii_case("identity") => false,
        Some(e) if e.eq_ignore_ascii_case("gzip") => true,
        Some(enc) => {
            st.metrics.reject(P, "unsupported_media_type");
            return influx_error(
                v2,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("unsupported Content-Encoding {enc:?}: expected gzip or identity"),
            );
        }
    };
    let body = match read_body(&st, body).await {
        Ok(b) => b,
        Err((code, msg)) => {
            st.metrics.reject(P, "too_large");
            return influx_error(v2, code, msg);
        }
    };
    // Telegraf's influxdb_v2 output gzips by default. Inflate with the decoded-size limit, so a small
    // body cannot expand without bound.
    let body = if gzip {
        match gunzip(&body, st.limits.max_decoded_bytes) {
            Ok(b) => Bytes::from(b),
            Err((code, msg)) => {
                st.metrics.reject(
                    P,
                    if code == StatusCode::PAYLOAD_TOO_LARGE {
                        "too_large"
                    } else {
                        "malformed"
                    },
                );
                return influx_error(v2, code, msg);
            }
        }
    } else {
        body
    };
    let now = now_ms();
    let mut batch: Batch = Vec::new();
    let mut line_of: Vec<usize> = Vec::new();
    let mut first_bad: Option<String> = None;
    let mut bad_lines = 0usize;
    let mut strings = 0u64;
    for (n, parsed) in exposition::parse_lines(&body) {
        let mut fail = |why: String| {
            bad_lines += 1;
            if first_bad.is_none() {
                first_bad = Some(format!(
                    "unable to parse line {n} '{}': {why}",
                    line_text(&body, n)
                ));
            }
        };
        let line = match parsed {
            Ok(l) => l,
            Err(e) => {
                fail(e.to_string());
                continue;
            }
        };
        let t = match line.timestamp {
            None => now,
            Some(ts) => match precision.to_millis(ts) {
                Some(t) => t,
                None => {
                    fail(format!("timestamp {ts} out of range"));
                    continue;
                }
            },
        };
        let mut base: Vec<(&str, &str)> = line.tags.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect();
        base.push(("db", &db));
        let mut line_ok = true;
        let mut series = Vec::new();
        for (key, value) in &line.fields {
            let v = match value {
                FieldValue::Float(f) => *f,
                FieldValue::Integer(i) => *i as f64,
                FieldValue::UInteger(u) => *u as f64,
                FieldValue::Boolean(b) => f64::from(u8::from(*b)),
                FieldValue::String(_) => {
                    strings += 1;
                    continue;
                }
            };
            let name = if key == "value" {
                line.measurement.to_string()
            } else {
                format!("{}_{}", line.measurement, key)
            };
            let mut pairs = base.clone();
            pairs.push((model::METRIC_NAME, &name));
            match Labels::from_pairs(&pairs).and_then(|l| l.validate(&st.limits.labels).map(|_| l)) {
                Ok(labels) => series.push((labels, vec![Sample::new(t, v)])),
                Err(e) => {
                    fail(format!("invalid labels: {e}"));
                    line_ok = false;
                    break;
                }
            }
        }
        if line_ok {
            line_of.extend(std::iter::repeat_n(n, series.len()));
            batch.extend(series);
        }
    }
    st.metrics.ignore(P, "string_field", strings);
    let mut out = match st.db.append(&batch, false) {
        Ok(o) => o,
        Err(e) => {
            st.metrics.reject(P, "storage");
            return influx_error(v2, StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
        }
    };
    if let Err(resp) = durable(&st, &mut out, P).await {
        return resp;
    }
    if first_bad.is_none()
        && let Some(r) = out.rejected.first()
    {
        let n = line_of.get(r.series).copied().unwrap_or(0);
        first_bad = Some(format!(
            "line {n} '{}': {}",
            line_text(&body, n),
            describe(&batch, &out.rejected)
        ));
    }
    match first_bad {
        None => StatusCode::NO_CONTENT.into_response(),
        Some(msg) => {
            st.metrics.reject(
                P,
                if bad_lines > 0 {
                    "malformed"
                } else {
                    rejection_reason(&out.rejected)
                },
            );
            let stored = out.written + out.duplicates;
            influx_error(
                v2,
                StatusCode::BAD_REQUEST,
                format!("partial write: {msg} ({stored} values stored, {bad_lines} lines rejected)"),
            )
        }
    }
}

pub async fn prometheus_text(State(st): State<Arc<ApiState>>, body: Body) -> Response {
    const P: &str = "prometheus_text";
    let body = match read_body(&st, body).await {
        Ok(b) => b,
        Err((code, msg)) => {
            st.metrics.reject(P, "too_large");
            return text(code, msg);
        }
    };
    let now = now_ms();
    let mut batch: Batch = Vec::new();
    let mut line_of = Vec::new();
    let mut first_bad: Option<String> = None;
    for (n, item) in exposition::parse_text(&body) {
        let s = match item {
            Ok(TextItem::Sample(s)) => s,
            Ok(_) => continue,
            Err(e) => {
                first_bad.get_or_insert(format!("line {n}: {e}"));
                continue;
            }
        };
        let mut pairs: Vec<(&str, &str)> = s.labels.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect();
        pairs.push((model::METRIC_NAME, s.name.as_ref()));
        match Labels::from_pairs(&pairs).and_then(|l| l.validate(&st.limits.labels).map(|_| l)) {
            Ok(labels) => {
                batch.push((labels, vec![Sample::new(s.timestamp_ms.unwrap_or(now), s.value)]));
                line_of.push(n);
            }
            Err(e) => {
                first_bad.get_or_insert(format!("line {n}: invalid labels: {e}"));
            }
        }
    }
    let mut out = match st.db.append(&batch, false) {
        Ok(o) => o,
        Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    if let Err(resp) = durable(&st, &mut out, P).await {
        return resp;
    }
    if first_bad.is_none()
        && let Some(r) = out.rejected.first()
    {
        first_bad = Some(format!(
            "line {}: {}",
            line_of.get(r.series).copied().unwrap_or(0),
            describe(&batch, &out.rejected)
        ));
    }
    match first_bad {
        None => StatusCode::NO_CONTENT.into_response(),
        Some(msg) => {
            st.metrics.reject(P, "malformed");
            text(
                StatusCode::BAD_REQUEST,
                format!("{msg} ({} samples stored)", out.written + out.duplicates),
            )
        }
    }
}
