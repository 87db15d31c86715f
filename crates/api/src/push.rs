//! The Pushgateway-compatible endpoint: `PUT`, `POST` and `DELETE` on
//! `/metrics/job/<job>{/<label>/<value>}`. Pushed groups are kept by a [`push::Store`] and scraped
//! in process like any target; see that crate for the semantics.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use model::Labels;

use crate::ApiState;
use crate::ingest::{gunzip, read_body};

const P: &str = "pushgateway";

fn text(status: StatusCode, msg: impl Into<String>) -> Response {
    let mut m = msg.into();
    m.push('\n');
    (status, m).into_response()
}

pub async fn put(st: State<Arc<ApiState>>, path: Path<String>, headers: HeaderMap, body: Body) -> Response {
    write(st, path, headers, body, Some(push::Method::Put)).await
}

pub async fn post(st: State<Arc<ApiState>>, path: Path<String>, headers: HeaderMap, body: Body) -> Response {
    write(st, path, headers, body, Some(push::Method::Post)).await
}

pub async fn delete(st: State<Arc<ApiState>>, path: Path<String>, headers: HeaderMap) -> Response {
    write(st, path, headers, Body::empty(), None).await
}

async fn write(
    State(st): State<Arc<ApiState>>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Body,
    method: Option<push::Method>,
) -> Response {
    let Some(store) = st.hooks.push.get().cloned() else {
        return text(
            StatusCode::NOT_FOUND,
            "the push endpoint is turned off (push.enabled: false)",
        );
    };
    let key = match push::parse_grouping_path(&path) {
        Ok(k) => k,
        Err(msg) => {
            st.metrics.reject(P, "malformed");
            return text(StatusCode::BAD_REQUEST, msg);
        }
    };
    let Some(method) = method else {
        return match tokio::task::spawn_blocking(move || store.delete(&key)).await {
            Ok(Ok(())) => StatusCode::ACCEPTED.into_response(),
            Ok(Err(e)) => text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
            Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        };
    };
    let raw = match read_body(&st, body).await {
        Ok(b) => b,
        Err((code, msg)) => {
            st.metrics.reject(P, "too_large");
            return text(code, msg);
        }
    };
    let gzip = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    let inflated;
    let body: &[u8] = if gzip {
        match gunzip(&raw, st.limits.max_decoded_bytes) {
            Ok(b) => {
                inflated = b;
                &inflated
            }
            Err((code, msg)) => {
                st.metrics.reject(P, "malformed");
                return text(code, msg);
            }
        }
    } else {
        &raw
    };
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let parsed = if push::is_protobuf(content_type) {
        push::parse_protobuf(body)
    } else {
        push::parse_text(body)
    };
    let parsed = match parsed.and_then(|p| check_limits(&st, &key, &p).map(|()| p)) {
        Ok(p) => p,
        Err(msg) => {
            st.metrics.reject(P, "malformed");
            return text(StatusCode::BAD_REQUEST, msg);
        }
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    match tokio::task::spawn_blocking(move || store.push(key, parsed, method, now)).await {
        Ok(Ok(())) => StatusCode::OK.into_response(),
        Ok(Err(e @ push::Error::Inconsistent(_))) => {
            st.metrics.reject(P, "inconsistent");
            text(StatusCode::BAD_REQUEST, e.to_string())
        }
        Ok(Err(e)) => text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// Every series as it will be exposed must pass the server's label limits.
fn check_limits(st: &ApiState, key: &push::GroupKey, parsed: &push::Parsed) -> Result<(), String> {
    for f in parsed.families.values() {
        for s in &f.samples {
            let mut pairs: Vec<(&str, &str)> = s
                .labels
                .iter()
                .filter(|(n, _)| !key.iter().any(|(k, _)| k == n))
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            pairs.extend(key.iter().map(|(n, v)| (n.as_str(), v.as_str())));
            pairs.push((model::METRIC_NAME, s.name.as_str()));
            Labels::from_pairs(&pairs)
                .and_then(|l| l.validate(&st.limits.labels))
                .map_err(|e| format!("series {}: {e}", s.name))?;
        }
    }
    Ok(())
}
