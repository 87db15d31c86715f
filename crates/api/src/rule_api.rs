//! `/api/v1/rules` and `/api/v1/alerts` in Prometheus's shape, read from the rule manager's state.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::ApiState;
use crate::read::{ApiError, Params, success};
use crate::time::format_rfc3339;

fn labels_json<'a>(it: impl Iterator<Item = (&'a str, &'a str)>) -> Value {
    let m: Map<String, Value> = it
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect();
    Value::Object(m)
}

fn last_eval(ms: Option<i64>) -> String {
    match ms {
        Some(ms) => format_rfc3339(ms),
        None => "0001-01-01T00:00:00Z".to_string(),
    }
}

/// An alert as both endpoints list it; `value` as Go's `%e`-style shortest (`1e+00`).
fn alert_json(a: &rules::Alert) -> Value {
    let mut v = json!({
        "labels": labels_json(a.labels.iter()),
        "annotations": labels_json(a.annotations.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        "state": a.state.as_str(),
        "activeAt": format_rfc3339(a.active_at),
        "value": go_exp(a.value),
    });
    if let Some(since) = a.keep_firing_since {
        v["keepFiringSince"] = json!(format_rfc3339(since));
    }
    v
}

/// Go's `strconv.FormatFloat(v, 'e', -1, 64)`: shortest digits, exponent with sign and at least two
/// digits (`1e+00`, `2.5e-07`, `NaN`, `+Inf`).
pub fn go_exp(v: f64) -> String {
    template::format_float(v, 'e', -1)
}

fn rule_manager(st: &ApiState) -> Option<&Arc<rules::Manager>> {
    st.hooks.rules.get()
}

pub async fn rules(State(st): State<Arc<ApiState>>, req: Request) -> Result<Response, ApiError> {
    let p = Params::from_request(&st, req).await?;
    let kind = p.one("type").unwrap_or("").to_ascii_lowercase();
    if !matches!(kind.as_str(), "" | "alert" | "record") {
        return Err(ApiError::bad_data(format!("unsupported type {kind:?}")));
    }
    let exclude_alerts = match p.one("exclude_alerts") {
        None | Some("") => false,
        Some(s) => s.parse::<bool>().map_err(|_| {
            ApiError::bad_data(format!("parameter \"exclude_alerts\": invalid boolean {s:?}"))
        })?,
    };
    let names = p.all("rule_name[]");
    let groups_wanted = p.all("rule_group[]");
    let files = p.all("file[]");
    let mut out = Vec::new();
    for g in rule_manager(&st).map(|m| m.groups()).unwrap_or_default() {
        if !groups_wanted.is_empty() && !groups_wanted.contains(&g.name.as_str()) {
            continue;
        }
        if !files.is_empty() && !files.contains(&g.file.as_str()) {
            continue;
        }
        let mut rules_json = Vec::new();
        for r in &g.rules {
            if !names.is_empty() && !names.contains(&r.name()) {
                continue;
            }
            let st = r.status.lock().clone();
            let labels = labels_json(r.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            let mut j = if r.is_alerting() {
                if kind == "record" {
                    continue;
                }
                let alerts: Vec<Value> = if exclude_alerts {
                    Vec::new()
                } else {
                    r.alerts
                        .lock()
                        .values()
                        .filter(|a| a.state != rules::AlertState::Inactive)
                        .map(alert_json)
                        .collect()
                };
                json!({
                    "state": r.state().as_str(),
                    "name": r.name(),
                    "query": r.query,
                    "duration": r.spec.for_ms as f64 / 1000.0,
                    "keepFiringFor": r.spec.keep_firing_for_ms as f64 / 1000.0,
                    "labels": labels,
                    "annotations": labels_json(r.spec.annotations.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
                    "alerts": alerts,
                    "type": "alerting",
                })
            } else {
                if kind == "alert" {
                    continue;
                }
                json!({
                    "name": r.name(),
                    "query": r.query,
                    "labels": labels,
                    "type": "recording",
                })
            };
            j["health"] = json!(st.health.as_str());
            if let Some(e) = &st.last_error {
                j["lastError"] = json!(e);
            }
            j["evaluationTime"] = json!(st.evaluation_seconds);
            j["lastEvaluation"] = json!(last_eval(st.last_evaluation_ms));
            rules_json.push(j);
        }
        if (!names.is_empty() || !kind.is_empty()) && rules_json.is_empty() {
            continue;
        }
        let gs = g.status.lock().clone();
        out.push(json!({
            "name": g.name,
            "file": g.file,
            "rules": rules_json,
            "interval": g.interval_ms as f64 / 1000.0,
            "limit": g.limit,
            "evaluationTime": gs.evaluation_seconds,
            "lastEvaluation": last_eval(gs.last_evaluation_ms),
        }));
    }
    Ok(success(json!({"groups": out}), Vec::new()))
}

pub async fn alerts(State(st): State<Arc<ApiState>>) -> Response {
    let mut out = Vec::new();
    for g in rule_manager(&st).map(|m| m.groups()).unwrap_or_default() {
        for r in &g.rules {
            if !r.is_alerting() {
                continue;
            }
            for a in r.alerts.lock().values() {
                if a.state != rules::AlertState::Inactive {
                    out.push(alert_json(a));
                }
            }
        }
    }
    success(json!({"alerts": out}), Vec::new())
}

#[cfg(test)]
mod tests {
    use super::go_exp;

    #[test]
    fn go_exp_matches_strconv() {
        assert_eq!(go_exp(1.0), "1e+00");
        assert_eq!(go_exp(0.0), "0e+00");
        assert_eq!(go_exp(123.456), "1.23456e+02");
        assert_eq!(go_exp(2.5e-7), "2.5e-07");
        assert_eq!(go_exp(1e300), "1e+300");
        assert_eq!(go_exp(-4.0), "-4e+00");
        assert_eq!(go_exp(f64::NAN), "NaN");
        assert_eq!(go_exp(f64::INFINITY), "+Inf");
    }
}
