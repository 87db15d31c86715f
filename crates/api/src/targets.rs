//! `/api/v1/targets` in Prometheus's shape, and configuration reload by `POST /-/reload`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::ApiState;
use crate::read::{ApiError, success};

/// Lists the scrape pools' targets.
pub type TargetsHook = Arc<dyn Fn() -> Vec<collect::PoolStatus> + Send + Sync>;
/// Reloads the configuration file; the error says why the old one stays.
pub type ReloadHook = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

#[derive(Deserialize)]
pub struct TargetsParams {
    state: Option<String>,
    #[serde(rename = "scrapePool")]
    scrape_pool: Option<String>,
}

fn label_map(l: &[(String, String)]) -> Value {
    let m: BTreeMap<&str, &str> = l.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    json!(m)
}

fn rfc3339(t: Option<std::time::SystemTime>) -> String {
    match t.and_then(|t| t.duration_since(UNIX_EPOCH).ok()) {
        Some(d) => crate::time::format_rfc3339(d.as_millis() as i64),
        None => "0001-01-01T00:00:00Z".to_string(),
    }
}

pub async fn targets(State(st): State<Arc<ApiState>>, Query(p): Query<TargetsParams>) -> Response {
    let pools = st.hooks.targets.get().map(|f| f()).unwrap_or_default();
    match targets_data(&pools, p.state.as_deref(), p.scrape_pool.as_deref()) {
        Ok(data) => success(data, Vec::new()),
        Err(msg) => ApiError::bad_data(msg).into_response(),
    }
}

/// The `data` of `/api/v1/targets` for these pools: `state` is `active`, `dropped` or `any` (the
/// default), `scrape_pool` keeps one job. Also serves `pharos agent`'s endpoint.
pub fn targets_data(
    pools: &[collect::PoolStatus],
    state: Option<&str>,
    scrape_pool: Option<&str>,
) -> Result<Value, String> {
    let state = state.unwrap_or("any").to_ascii_lowercase();
    if !matches!(state.as_str(), "any" | "active" | "dropped") {
        return Err(format!("invalid state {state:?}: use active, dropped or any"));
    }
    let wanted = |job: &str| scrape_pool.is_none_or(|w| w == job);
    let mut active = Vec::new();
    let mut dropped = Vec::new();
    let mut dropped_counts = serde_json::Map::new();
    for pool in pools {
        if !wanted(&pool.job) {
            continue;
        }
        dropped_counts.insert(pool.job.clone(), json!(pool.dropped_count));
        if state != "dropped" {
            for t in &pool.active {
                active.push(json!({
                    "discoveredLabels": label_map(&t.target.discovered),
                    "labels": label_map(&t.target.visible),
                    "scrapePool": t.job,
                    "scrapeUrl": t.target.url,
                    "globalUrl": t.target.url,
                    "lastError": t.last_error,
                    "lastScrape": rfc3339(t.last_scrape),
                    "lastScrapeDuration": t.last_duration.as_secs_f64(),
                    "health": t.health.as_str(),
                    "scrapeInterval": promql_syntax::format_duration_ms(t.target.interval_ms),
                    "scrapeTimeout": promql_syntax::format_duration_ms(t.target.timeout_ms),
                }));
            }
        }
        if state != "active" {
            for l in pool.dropped.iter().chain(pool.invalid.iter().map(|(l, _)| l)) {
                dropped.push(json!({
                    "discoveredLabels": label_map(l),
                    "scrapePool": pool.job,
                }));
            }
        }
    }
    let mut data = serde_json::Map::new();
    if state != "dropped" {
        data.insert("activeTargets".into(), json!(active));
    }
    if state != "active" {
        data.insert("droppedTargets".into(), json!(dropped));
        data.insert("droppedTargetCounts".into(), Value::Object(dropped_counts));
    }
    Ok(Value::Object(data))
}

pub async fn reload(State(st): State<Arc<ApiState>>) -> Response {
    let Some(hook) = st.hooks.reload.get().cloned() else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "no configuration to reload\n").into_response();
    };
    match tokio::task::spawn_blocking(move || hook()).await {
        Ok(Ok(())) => (StatusCode::OK, "").into_response(),
        Ok(Err(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("failed to reload config: {e}\n"),
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("failed to reload config: {e}\n"),
        )
            .into_response(),
    }
}
