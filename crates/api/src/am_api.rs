//! Alertmanager's API v2 (`/api/v2/...`) over the built-in alert manager, in the shapes of
//! Alertmanager's OpenAPI spec so `amtool`, Prometheus's notifier and Grafana's Alertmanager data
//! source work unchanged: status, receivers, alerts (list and post), alert groups, silences.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::ApiState;
use crate::read::Params;
use crate::time::{format_rfc3339, parse_time};

/// Go's zero `time.Time` in milliseconds (`0001-01-01T00:00:00Z`): "not set" in Alertmanager's API.
const ZERO_TIME_MS: i64 = -62_135_596_800_000;

/// A refused request: status and message (kept small; turned into a response at the end).
struct AmError(StatusCode, String);

impl IntoResponse for AmError {
    fn into_response(self) -> Response {
        error(self.0, self.1)
    }
}

fn am(st: &ApiState) -> Result<&Arc<::notify::Alertmanager>, AmError> {
    st.hooks.alertmanager.get().ok_or_else(|| {
        AmError(
            StatusCode::SERVICE_UNAVAILABLE,
            "the alert manager is not running".into(),
        )
    })
}

/// Alertmanager's error body: the message as a JSON string.
fn error(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, axum::Json(Value::String(msg.into()))).into_response()
}

fn ok(v: Value) -> Response {
    axum::Json(v).into_response()
}

fn time_json(ms: i64) -> Value {
    if ms <= ZERO_TIME_MS {
        json!("0001-01-01T00:00:00.000Z")
    } else {
        json!(format_rfc3339(ms))
    }
}

fn label_json(l: &BTreeMap<String, String>) -> Value {
    json!(l)
}

fn now(st: &ApiState) -> i64 {
    let _ = st;
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub async fn status(State(st): State<Arc<ApiState>>) -> Response {
    let am = match am(&st) {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let loaded = am.loaded();
    ok(json!({
        "cluster": {"name": "", "status": "disabled", "peers": []},
        "config": {"original": loaded.original},
        "uptime": format_rfc3339(am.started_ms),
        "versionInfo": {
            "branch": "",
            "buildDate": "",
            "buildUser": "",
            "goVersion": "",
            "revision": "",
            "version": env!("CARGO_PKG_VERSION"),
        },
    }))
}

pub async fn receivers(State(st): State<Arc<ApiState>>) -> Response {
    let am = match am(&st) {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let names: Vec<Value> = am
        .loaded()
        .config
        .receivers
        .iter()
        .map(|r| json!({"name": r.name}))
        .collect();
    ok(Value::Array(names))
}

/// `active`, `silenced`, `inhibited` (default true each), `filter` matchers and a `receiver` regex.
struct AlertFilter {
    active: bool,
    silenced: bool,
    inhibited: bool,
    matchers: Vec<::notify::Matcher>,
    receiver: Option<regex::Regex>,
}

fn bool_param(p: &Params, key: &str) -> Result<bool, AmError> {
    match p.one(key) {
        None | Some("") => Ok(true),
        Some(v) => v.parse::<bool>().map_err(|_| {
            AmError(
                StatusCode::BAD_REQUEST,
                format!("{key} in query must be of type boolean: {v:?}"),
            )
        }),
    }
}

fn alert_filter(p: &Params) -> Result<AlertFilter, AmError> {
    let mut matchers = Vec::new();
    for f in p.all("filter") {
        let ms = ::notify::parse_matchers(f).map_err(|e| AmError(StatusCode::BAD_REQUEST, e.to_string()))?;
        matchers.extend(ms);
    }
    let receiver = match p.one("receiver").filter(|s| !s.is_empty()) {
        None => None,
        Some(r) => Some(regex::Regex::new(&format!("^(?:{r})$")).map_err(|e| {
            AmError(
                StatusCode::BAD_REQUEST,
                format!("failed to parse receiver param: {e}"),
            )
        })?),
    };
    Ok(AlertFilter {
        active: bool_param(p, "active")?,
        silenced: bool_param(p, "silenced")?,
        inhibited: bool_param(p, "inhibited")?,
        matchers,
        receiver,
    })
}

impl AlertFilter {
    fn keeps(&self, v: &::notify::AlertView) -> bool {
        if !self.matchers.iter().all(|m| m.matches(&v.alert.labels)) {
            return false;
        }
        if let Some(re) = &self.receiver
            && !v.receivers.iter().any(|r| re.is_match(r))
        {
            return false;
        }
        let silenced = !v.silenced_by.is_empty();
        let inhibited = !v.inhibited_by.is_empty();
        if !self.silenced && silenced {
            return false;
        }
        if !self.inhibited && inhibited {
            return false;
        }
        if !self.active && !silenced && !inhibited {
            return false;
        }
        true
    }
}

fn alert_json(v: &::notify::AlertView) -> Value {
    let a = &v.alert;
    let suppressed = !v.silenced_by.is_empty() || !v.inhibited_by.is_empty();
    json!({
        "annotations": label_json(&a.annotations),
        "endsAt": time_json(a.ends_at),
        "fingerprint": format!("{:016x}", a.fingerprint()),
        "receivers": v.receivers.iter().map(|r| json!({"name": r})).collect::<Vec<_>>(),
        "startsAt": time_json(a.starts_at),
        "status": {
            "inhibitedBy": v.inhibited_by,
            "silencedBy": v.silenced_by,
            "state": if suppressed { "suppressed" } else { "active" },
        },
        "updatedAt": time_json(a.updated_at),
        "generatorURL": a.generator_url,
        "labels": label_json(&a.labels),
    })
}

pub async fn get_alerts(State(st): State<Arc<ApiState>>, req: Request) -> Response {
    let am = match am(&st) {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let p = match Params::from_request(&st, req).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let f = match alert_filter(&p) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let views = am.alert_views();
    ok(Value::Array(
        views.iter().filter(|v| f.keeps(v)).map(alert_json).collect(),
    ))
}

pub async fn get_groups(State(st): State<Arc<ApiState>>, req: Request) -> Response {
    let am = match am(&st) {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let p = match Params::from_request(&st, req).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let f = match alert_filter(&p) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let views: BTreeMap<u64, ::notify::AlertView> = am
        .alert_views()
        .into_iter()
        .map(|v| (v.alert.fingerprint(), v))
        .collect();
    let mut out = Vec::new();
    for g in am.group_views() {
        if let Some(re) = &f.receiver
            && !re.is_match(&g.receiver)
        {
            continue;
        }
        let alerts: Vec<Value> = g
            .alerts
            .iter()
            .filter_map(|a| views.get(&a.fingerprint()))
            .filter(|v| f.keeps(v))
            .map(alert_json)
            .collect();
        if alerts.is_empty() {
            continue;
        }
        out.push(json!({
            "labels": label_json(&g.labels),
            "receiver": {"name": g.receiver},
            "alerts": alerts,
        }));
    }
    ok(Value::Array(out))
}

#[derive(Deserialize)]
struct PostableAlert {
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default, rename = "startsAt")]
    starts_at: Option<String>,
    #[serde(default, rename = "endsAt")]
    ends_at: Option<String>,
    #[serde(default, rename = "generatorURL")]
    generator_url: String,
}

fn opt_time(s: &Option<String>, field: &str) -> Result<i64, String> {
    match s.as_deref() {
        None | Some("") => Ok(0),
        Some(t) => match parse_time(t) {
            Some(ms) if ms <= ZERO_TIME_MS => Ok(0),
            Some(ms) => Ok(ms),
            None => Err(format!("{field} in body must be of type date-time: {t:?}")),
        },
    }
}

/// Alertmanager's `PostAlerts`: defaults for missing times (start now; end after
/// `resolve_timeout`, marked as a timeout), label and time validation per alert; valid alerts are
/// kept even when others are refused (400 names each refused one).
pub async fn post_alerts(State(st): State<Arc<ApiState>>, body: Bytes) -> Response {
    let am = match am(&st) {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let posted: Vec<PostableAlert> = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("parsing alerts body: {e}")),
    };
    let now = now(&st);
    let resolve_timeout = am.loaded().config.global.resolve_timeout.0 as i64;
    let mut good = Vec::with_capacity(posted.len());
    let mut errs = Vec::new();
    for (i, p) in posted.into_iter().enumerate() {
        let (starts, ends) = match (opt_time(&p.starts_at, "startsAt"), opt_time(&p.ends_at, "endsAt")) {
            (Ok(s), Ok(e)) => (s, e),
            (Err(e), _) | (_, Err(e)) => {
                errs.push(format!("alert {i}: {e}"));
                continue;
            }
        };
        let mut a = ::notify::Alert {
            labels: p.labels.into_iter().filter(|(_, v)| !v.is_empty()).collect(),
            annotations: p.annotations,
            starts_at: starts,
            ends_at: ends,
            generator_url: p.generator_url,
            updated_at: now,
            timeout: false,
        };
        if a.starts_at == 0 {
            a.starts_at = if a.ends_at == 0 { now } else { a.ends_at };
        }
        if a.ends_at == 0 {
            a.timeout = true;
            a.ends_at = now + resolve_timeout;
        }
        if let Err(e) = validate(&a) {
            errs.push(format!("{}: {e}", ::notify::route::format_label_set(&a.labels)));
            continue;
        }
        good.push(a);
    }
    let stored = tokio::task::spawn_blocking(move || am.put_alerts(good)).await;
    match stored {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
    if !errs.is_empty() {
        return error(StatusCode::BAD_REQUEST, errs.join("; "));
    }
    StatusCode::OK.into_response()
}

/// Alertmanager's `Alert.Validate`.
fn validate(a: &::notify::Alert) -> Result<(), String> {
    if a.starts_at == 0 {
        return Err("start time missing".into());
    }
    if a.ends_at != 0 && a.ends_at < a.starts_at {
        return Err("start time must be before end time".into());
    }
    if a.labels.is_empty() {
        return Err("at least one label pair required".into());
    }
    for k in a.labels.keys().chain(a.annotations.keys()) {
        if !::notify::matchers::is_valid_label_name(k) {
            return Err(format!("invalid name {k:?}"));
        }
    }
    Ok(())
}

fn silence_json(s: &::notify::Silence, now: i64) -> Value {
    json!({
        "id": s.id,
        "status": {"state": s.state(now).as_str()},
        "updatedAt": time_json(s.updated_at),
        "comment": s.comment,
        "createdBy": s.created_by,
        "endsAt": time_json(s.ends_at),
        "matchers": s.matchers.iter().map(|m| {
            let (is_regex, is_equal) = match m.op {
                ::notify::MatchOp::Equal => (false, true),
                ::notify::MatchOp::NotEqual => (false, false),
                ::notify::MatchOp::Regex => (true, true),
                ::notify::MatchOp::NotRegex => (true, false),
            };
            json!({"name": m.name, "value": m.value, "isRegex": is_regex, "isEqual": is_equal})
        }).collect::<Vec<_>>(),
        "startsAt": time_json(s.starts_at),
    })
}

pub async fn get_silences(State(st): State<Arc<ApiState>>, req: Request) -> Response {
    let am = match am(&st) {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let p = match Params::from_request(&st, req).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let mut filter = Vec::new();
    for f in p.all("filter") {
        match ::notify::parse_matchers(f) {
            Ok(ms) => filter.extend(ms),
            Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
        }
    }
    let now = now(&st);
    let list: Vec<Value> = am
        .silences
        .query(&filter, now)
        .iter()
        .map(|s| silence_json(s, now))
        .collect();
    ok(Value::Array(list))
}

pub async fn get_silence(State(st): State<Arc<ApiState>>, Path(id): Path<String>) -> Response {
    let am = match am(&st) {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    match am.silences.get(&id) {
        Some(s) => ok(silence_json(&s, now(&st))),
        None => error(StatusCode::NOT_FOUND, format!("silence {id} not found")),
    }
}

#[derive(Deserialize)]
struct PostableMatcher {
    name: String,
    value: String,
    #[serde(rename = "isRegex")]
    is_regex: bool,
    #[serde(default = "yes", rename = "isEqual")]
    is_equal: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct PostableSilence {
    #[serde(default)]
    id: String,
    #[serde(default)]
    matchers: Vec<PostableMatcher>,
    #[serde(rename = "startsAt")]
    starts_at: String,
    #[serde(rename = "endsAt")]
    ends_at: String,
    #[serde(default, rename = "createdBy")]
    created_by: String,
    #[serde(default)]
    comment: String,
}

pub async fn post_silence(State(st): State<Arc<ApiState>>, body: Bytes) -> Response {
    let am = match am(&st) {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let p: PostableSilence = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("parsing silence body: {e}")),
    };
    let (Some(starts), Some(ends)) = (parse_time(&p.starts_at), parse_time(&p.ends_at)) else {
        return error(
            StatusCode::BAD_REQUEST,
            "startsAt and endsAt in body must be of type date-time",
        );
    };
    let mut matchers = Vec::with_capacity(p.matchers.len());
    for m in p.matchers {
        let op = match (m.is_regex, m.is_equal) {
            (false, true) => ::notify::MatchOp::Equal,
            (false, false) => ::notify::MatchOp::NotEqual,
            (true, true) => ::notify::MatchOp::Regex,
            (true, false) => ::notify::MatchOp::NotRegex,
        };
        match ::notify::Matcher::new(&m.name, op, &m.value) {
            Ok(m) => matchers.push(m),
            Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
        }
    }
    let s = ::notify::Silence {
        id: p.id,
        matchers,
        starts_at: starts,
        ends_at: ends,
        updated_at: 0,
        created_by: p.created_by,
        comment: p.comment,
    };
    let now = now(&st);
    let am2 = am.clone();
    match tokio::task::spawn_blocking(move || am2.silences.set(s, now)).await {
        Ok(Ok(id)) => ok(json!({"silenceID": id})),
        Ok(Err(e @ ::notify::Error::SilenceNotFound(_))) => error(StatusCode::NOT_FOUND, e.to_string()),
        Ok(Err(e @ ::notify::Error::Io { .. })) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Ok(Err(e)) => error(StatusCode::BAD_REQUEST, e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

pub async fn delete_silence(State(st): State<Arc<ApiState>>, Path(id): Path<String>) -> Response {
    let am = match am(&st) {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let now = now(&st);
    let am2 = am.clone();
    match tokio::task::spawn_blocking(move || am2.silences.expire(&id, now)).await {
        Ok(Ok(())) => StatusCode::OK.into_response(),
        Ok(Err(e @ ::notify::Error::SilenceNotFound(_))) => error(StatusCode::NOT_FOUND, e.to_string()),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}
