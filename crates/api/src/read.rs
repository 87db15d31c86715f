//! Read endpoints in the shapes of the Prometheus HTTP API, and raw export as JSON lines.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use storage::{Matcher, Queryable};

use crate::{ApiState, selector, time};

/// A Prometheus API error: `{"status":"error","errorType":…,"error":…}`.
pub struct ApiError {
    status: StatusCode,
    kind: &'static str,
    msg: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, kind: &'static str, msg: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            msg: msg.into(),
        }
    }
    pub(crate) fn bad_data(msg: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            kind: "bad_data",
            msg: msg.into(),
        }
    }
    pub(crate) fn internal(msg: impl Into<String>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            kind: "internal",
            msg: msg.into(),
        }
    }
    fn execution(msg: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            kind: "execution",
            msg: msg.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"status": "error", "errorType": self.kind, "error": self.msg});
        (self.status, axum::Json(body)).into_response()
    }
}

pub(crate) fn success(data: Value, warnings: Vec<String>) -> Response {
    let mut body = json!({"status": "success", "data": data});
    if !warnings.is_empty() {
        body["warnings"] = json!(warnings);
    }
    axum::Json(body).into_response()
}

/// Appends `s` as a JSON string. Most label names and values need no escaping and are copied as
/// they are; the rest go through serde_json.
pub(crate) fn push_json_str(out: &mut String, s: &str) {
    if s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into()));
    } else {
        out.push('"');
        out.push_str(s);
        out.push('"');
    }
}

/// Appends `items` as a JSON array of strings.
fn push_json_strs(out: &mut String, items: &[String]) {
    out.push('[');
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_str(out, s);
    }
    out.push(']');
}

/// A success envelope whose data is a list of strings, written without building a JSON tree.
fn success_strings(data: &[String], warnings: &[String]) -> Response {
    let mut out = String::with_capacity(48 + data.iter().map(|s| s.len() + 3).sum::<usize>());
    out.push_str("{\"status\":\"success\",\"data\":");
    push_json_strs(&mut out, data);
    if !warnings.is_empty() {
        out.push_str(",\"warnings\":");
        push_json_strs(&mut out, warnings);
    }
    out.push('}');
    ([(header::CONTENT_TYPE, "application/json")], out).into_response()
}

/// Query parameters from the URL and, for form POSTs, the body. Repeated keys (`match[]`) keep all values.
pub struct Params(Vec<(String, String)>);

impl Params {
    pub(crate) async fn from_request(st: &ApiState, req: Request) -> Result<Params, ApiError> {
        let mut out: Vec<(String, String)> = req
            .uri()
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if is_form {
            let body = crate::ingest::read_body(st, req.into_body())
                .await
                .map_err(|(_, m)| ApiError::bad_data(m))?;
            out.extend(form_urlencoded::parse(&body).into_owned());
        }
        Ok(Params(out))
    }

    pub(crate) fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub(crate) fn one(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A timestamp parameter that must be present.
    pub(crate) fn required_time(&self, key: &str) -> Result<i64, ApiError> {
        match self.one(key).filter(|s| !s.is_empty()) {
            None => Err(ApiError::bad_data(format!(
                "invalid parameter \"{key}\": cannot parse \"\" to a valid timestamp"
            ))),
            Some(_) => self.time(key, 0),
        }
    }

    pub(crate) fn time(&self, key: &str, default: i64) -> Result<i64, ApiError> {
        match self.one(key).filter(|s| !s.is_empty()) {
            None => Ok(default),
            Some(s) => time::parse_time(s).ok_or_else(|| {
                ApiError::bad_data(format!(
                    "invalid parameter \"{key}\": cannot parse {s:?} to a valid timestamp"
                ))
            }),
        }
    }

    fn range(&self) -> Result<(i64, i64), ApiError> {
        let start = self.time("start", i64::MIN)?;
        let end = self.time("end", i64::MAX)?;
        if end < start {
            return Err(ApiError::bad_data(
                "invalid parameter \"end\": end timestamp must not be before start time",
            ));
        }
        Ok((start, end))
    }

    fn matchers(&self) -> Result<Vec<Vec<Matcher>>, ApiError> {
        self.all("match[]")
            .into_iter()
            .map(|s| selector::parse(s).map_err(ApiError::bad_data))
            .collect()
    }

    pub(crate) fn limit(&self) -> Result<usize, ApiError> {
        match self.one("limit").filter(|s| !s.is_empty()) {
            None => Ok(0),
            Some(s) => s.parse::<usize>().map_err(|_| {
                ApiError::bad_data(format!(
                    "invalid parameter \"limit\": cannot parse {s:?} to a non-negative integer"
                ))
            }),
        }
    }
}

fn truncate<T>(mut v: Vec<T>, limit: usize, warnings: &mut Vec<String>) -> Vec<T> {
    if limit > 0 && v.len() > limit {
        v.truncate(limit);
        warnings.push("results truncated due to limit".into());
    }
    v
}

fn storage_err(e: storage::Error) -> ApiError {
    match e {
        storage::Error::InvalidRegex { .. } => ApiError::bad_data(e.to_string()),
        storage::Error::LimitExceeded(m) => ApiError::execution(m),
        storage::Error::Backend(m) => ApiError::internal(m),
    }
}

fn labels_json(l: &model::Labels) -> Value {
    Value::Object(
        l.iter()
            .map(|(n, v)| (n.to_owned(), Value::String(v.to_owned())))
            .collect(),
    )
}

pub async fn series(State(st): State<Arc<ApiState>>, req: Request) -> Result<Response, ApiError> {
    let p = Params::from_request(&st, req).await?;
    let sets = p.matchers()?;
    if sets.is_empty() {
        return Err(ApiError::bad_data("no match[] parameter provided"));
    }
    let (start, end) = p.range()?;
    let mut all = std::collections::BTreeSet::new();
    for m in &sets {
        all.extend(st.db.series(start, end, m).map_err(storage_err)?);
    }
    let mut warnings = Vec::new();
    let out = truncate(all.into_iter().collect(), p.limit()?, &mut warnings);
    Ok(success(
        Value::Array(out.iter().map(labels_json).collect()),
        warnings,
    ))
}

pub async fn labels(State(st): State<Arc<ApiState>>, req: Request) -> Result<Response, ApiError> {
    let p = Params::from_request(&st, req).await?;
    let (start, end) = p.range()?;
    let sets = p.matchers()?;
    let mut names = std::collections::BTreeSet::new();
    if sets.is_empty() {
        names.extend(st.db.label_names(start, end, &[]).map_err(storage_err)?);
    }
    for m in &sets {
        names.extend(st.db.label_names(start, end, m).map_err(storage_err)?);
    }
    let mut warnings = Vec::new();
    let out = truncate(names.into_iter().collect::<Vec<_>>(), p.limit()?, &mut warnings);
    Ok(success_strings(&out, &warnings))
}

pub async fn label_values(
    State(st): State<Arc<ApiState>>,
    Path(name): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let p = Params::from_request(&st, req).await?;
    // Prometheus 3 accepts `U__` + escaped names for UTF-8 label names in the path.
    let name = unescape_label_name(&name);
    let (start, end) = p.range()?;
    let sets = p.matchers()?;
    // Each store answer is sorted and distinct; several `match[]` sets are merged the same way.
    let mut values = if sets.is_empty() {
        st.db.label_values(&name, start, end, &[]).map_err(storage_err)?
    } else {
        let mut all = Vec::new();
        for m in &sets {
            all.extend(st.db.label_values(&name, start, end, m).map_err(storage_err)?);
        }
        all
    };
    if sets.len() > 1 {
        values.sort_unstable();
        values.dedup();
    }
    let mut warnings = Vec::new();
    let out = truncate(values, p.limit()?, &mut warnings);
    Ok(success_strings(&out, &warnings))
}

/// Decodes Prometheus's `U__` escaping: `_` stays, `__` is `_`, `_HEX_` is a code point.
fn unescape_label_name(s: &str) -> String {
    let Some(rest) = s.strip_prefix("U__") else {
        return s.to_owned();
    };
    let mut out = String::new();
    // Simple decoder: segments alternate between literal text and hex code points between underscores.
    let mut literal = true;
    for part in rest.split('_') {
        if literal {
            out.push_str(part);
        } else if part.is_empty() {
            out.push('_');
        } else if let Some(c) = u32::from_str_radix(part, 16).ok().and_then(char::from_u32) {
            out.push(c);
        } else {
            return s.to_owned();
        }
        literal = !literal;
    }
    out
}

fn value_json(v: f64) -> Value {
    if v.is_finite() {
        serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
    } else if model::is_stale_nan(v) {
        Value::String("StaleNaN".into())
    } else if v.is_nan() {
        Value::String("NaN".into())
    } else if v > 0.0 {
        Value::String("+Inf".into())
    } else {
        Value::String("-Inf".into())
    }
}

pub async fn export(State(st): State<Arc<ApiState>>, req: Request) -> Result<Response, ApiError> {
    let p = Params::from_request(&st, req).await?;
    let sets = p.matchers()?;
    if sets.is_empty() {
        return Err(ApiError::bad_data("missing match[] parameter"));
    }
    let (start, end) = p.range()?;
    let db = st.db.clone();
    let max = st.limits.max_export_samples;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(16);
    // Select on a blocking thread and stream lines as they are serialized.
    let series = tokio::task::spawn_blocking(move || -> Result<Vec<storage::Series>, ApiError> {
        let mut by_labels = std::collections::BTreeMap::new();
        for m in &sets {
            for s in db.select(start, end, m).map_err(storage_err)? {
                by_labels.entry(s.labels.clone()).or_insert(s);
            }
        }
        let total: usize = by_labels.values().map(|s| s.samples.len()).sum();
        if total > max {
            return Err(ApiError::execution(format!(
                "export would return {total} samples, over the limit of {max}; narrow match[] or the time range"
            )));
        }
        Ok(by_labels.into_values().collect())
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    tokio::spawn(async move {
        let mut buf = String::new();
        for s in series {
            let line = json!({
                "metric": labels_json(&s.labels),
                "values": s.samples.iter().map(|x| value_json(x.v)).collect::<Vec<_>>(),
                "timestamps": s.samples.iter().map(|x| x.t).collect::<Vec<_>>(),
            });
            buf.push_str(&line.to_string());
            buf.push('\n');
            if buf.len() > 1 << 16 && tx.send(Ok(std::mem::take(&mut buf))).await.is_err() {
                return;
            }
        }
        if !buf.is_empty() {
            let _ = tx.send(Ok(buf)).await;
        }
    });
    let stream = tokio_stream_from(rx);
    let mut resp = Body::from_stream(stream).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/stream+json"),
    );
    Ok(resp)
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<String, std::io::Error>>,
) -> impl futures_core::Stream<Item = Result<String, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[cfg(test)]
mod tests {
    #[test]
    fn unescapes_utf8_label_names() {
        assert_eq!(super::unescape_label_name("job"), "job");
        assert_eq!(super::unescape_label_name("U__a_2e_b"), "a.b");
    }
}
