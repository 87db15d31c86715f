//! blackbox_exporter's `/probe?target=…&module=…` on Pharos's own port, with the modules of the
//! configuration (`probe.config_file`, a blackbox.yml) or blackbox's example modules. Scrape it
//! with the usual `__param_target` relabeling, as one would scrape blackbox_exporter.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::ApiState;

/// Runs one probe as blackbox_exporter would answer it.
pub async fn probe(st: State<Arc<ApiState>>, query: RawQuery, headers: HeaderMap) -> Response {
    let modules = st.probe_modules();
    answer(&modules, query, &headers).await
}

/// The answer for any holder of modules (the server's state, the agent's).
pub async fn answer(modules: &::probe::Modules, RawQuery(query): RawQuery, headers: &HeaderMap) -> Response {
    let timeout = headers
        .get("X-Prometheus-Scrape-Timeout-Seconds")
        .and_then(|v| v.to_str().ok());
    let r = ::probe::handle_probe(query.as_deref().unwrap_or(""), timeout, modules).await;
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, r.content_type)], r.body).into_response()
}
