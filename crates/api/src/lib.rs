//! Pharos's HTTP API: ingest endpoints (Prometheus remote write 1.0/2.0, InfluxDB line protocol,
//! Prometheus text import), the Prometheus read API for series and labels, raw export, health and
//! self-metrics. This is the only layer that maps errors to HTTP status codes and Prometheus error types.

mod am_api;
mod ast_json;
pub mod dashboards;
mod ingest;
mod metrics;
mod otlp;
pub mod probe;
mod push;
mod query;
mod read;
mod rule_api;
pub mod selector;
mod targets;
pub mod time;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use model::LabelLimits;
use prometheus_client::registry::Registry;
use tsdb::Db;

pub use metrics::ApiMetrics;
pub use targets::{ReloadHook, TargetsHook, targets_data};

/// Limits applied per request. Exceeding one refuses that request only.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body accepted, as sent (compressed for remote write).
    pub max_body_bytes: usize,
    /// Largest decompressed remote-write body.
    pub max_decoded_bytes: usize,
    pub labels: LabelLimits,
    /// Most samples one export request may return.
    pub max_export_samples: usize,
    /// Longest a query may run (a request's `timeout` can only lower it).
    pub query_timeout: std::time::Duration,
    /// Most samples one query may hold in memory.
    pub max_query_samples: usize,
    /// The retention as configured, for `/api/v1/status/runtimeinfo`.
    pub retention_text: String,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 32 << 20,
            max_decoded_bytes: 128 << 20,
            labels: LabelLimits::default(),
            max_export_samples: 100_000_000,
            query_timeout: std::time::Duration::from_secs(120),
            max_query_samples: 50_000_000,
            retention_text: "7d".into(),
        }
    }
}

/// Parts of the server the API reaches through callbacks, set once at start.
#[derive(Default)]
pub struct Hooks {
    pub targets: std::sync::OnceLock<TargetsHook>,
    pub reload: std::sync::OnceLock<ReloadHook>,
    /// The Pushgateway-compatible store; the push endpoint answers 404 without one.
    pub push: std::sync::OnceLock<Arc<::push::Store>>,
    /// The rule manager; `/api/v1/rules` and `/api/v1/alerts` list nothing without one.
    pub rules: std::sync::OnceLock<Arc<::rules::Manager>>,
    /// The built-in alert manager behind `/api/v2/*`; those answer 503 without one.
    pub alertmanager: std::sync::OnceLock<Arc<::notify::Alertmanager>>,
    /// The web UI's dashboards behind `/api/pharos/v1/dashboards`; 503 without them.
    pub dashboards: std::sync::OnceLock<Arc<dashboards::Store>>,
}

pub struct ApiState {
    pub db: Arc<Db>,
    pub hooks: Hooks,
    pub registry: Registry,
    pub metrics: ApiMetrics,
    pub limits: Limits,
    pub ready: AtomicBool,
    pub started: Instant,
    /// Running totals of OTLP delta streams, which are stored as cumulative series.
    pub otlp_delta: std::sync::Mutex<::otlp::DeltaState>,
    /// The modules `/probe` runs; replaced on reload.
    pub probe_modules: std::sync::RwLock<Arc<::probe::Modules>>,
    /// The rule engine's metrics, registered with the others; the rule manager counts into them.
    pub rule_metrics: Arc<::rules::RuleMetrics>,
    /// The alert manager's notification metrics, registered with the others.
    pub notify_metrics: Arc<::notify::integrations::NotifyMetrics>,
}

impl ApiState {
    /// Builds the state; the tsdb's and the API's metrics are registered under `pharos_`.
    pub fn new(db: Arc<Db>, limits: Limits) -> Self {
        let mut registry = Registry::with_prefix("pharos");
        db.metrics.register(&mut registry);
        let metrics = ApiMetrics::new(&mut registry);
        let rule_metrics = Arc::new(::rules::RuleMetrics::default());
        rule_metrics.register(&mut registry);
        let notify_metrics = Arc::new(::notify::integrations::NotifyMetrics::new());
        notify_metrics.register(&mut registry);
        Self {
            rule_metrics,
            notify_metrics,
            db,
            registry,
            metrics,
            limits,
            hooks: Hooks::default(),
            ready: AtomicBool::new(false),
            started: Instant::now(),
            otlp_delta: Default::default(),
            probe_modules: std::sync::RwLock::new(Arc::new(::probe::Modules::builtin())),
        }
    }

    /// The probe modules in force.
    pub fn probe_modules(&self) -> Arc<::probe::Modules> {
        self.probe_modules
            .read()
            .map(|m| m.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// Replaces the probe modules (at start and on reload).
    pub fn set_probe_modules(&self, m: ::probe::Modules) {
        let mut w = self.probe_modules.write().unwrap_or_else(|e| e.into_inner());
        *w = Arc::new(m);
    }
}

pub fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/-/healthy", get(healthy).head(healthy))
        .route("/-/ready", get(ready).head(ready))
        .route("/metrics", get(self_metrics))
        .route(
            "/metrics/{*grouping}",
            axum::routing::put(push::put)
                .post(push::post)
                .delete(push::delete),
        )
        .route("/api/v1/write", post(ingest::remote_write))
        .route("/api/v1/otlp/v1/metrics", post(otlp::write))
        .route("/write", post(ingest::influx_v1))
        .route("/api/v2/write", post(ingest::influx_v2))
        .route("/api/v1/import/prometheus", post(ingest::prometheus_text))
        .route("/api/v1/series", get(read::series).post(read::series))
        .route("/api/v1/labels", get(read::labels).post(read::labels))
        .route("/api/v1/label/{name}/values", get(read::label_values))
        .route("/api/v1/export", get(read::export).post(read::export))
        .route("/api/v1/query", get(query::query).post(query::query))
        .route(
            "/api/v1/query_range",
            get(query::query_range).post(query::query_range),
        )
        .route(
            "/api/v1/format_query",
            get(query::format_query).post(query::format_query),
        )
        .route(
            "/api/v1/parse_query",
            get(query::parse_query).post(query::parse_query),
        )
        .route("/api/v1/metadata", get(query::metadata))
        .route(
            "/api/v1/query_exemplars",
            get(query::query_exemplars).post(query::query_exemplars),
        )
        .route("/api/v1/status/buildinfo", get(query::buildinfo))
        .route("/api/v1/status/runtimeinfo", get(query::runtimeinfo))
        .route("/api/v1/status/tsdb", get(query::status_tsdb))
        .route("/api/v1/targets", get(targets::targets))
        .route("/api/v1/rules", get(rule_api::rules).post(rule_api::rules))
        .route("/api/v1/alerts", get(rule_api::alerts))
        .route("/api/v2/status", get(am_api::status))
        .route("/api/v2/receivers", get(am_api::receivers))
        .route(
            "/api/v2/alerts",
            get(am_api::get_alerts).post(am_api::post_alerts),
        )
        .route("/api/v2/alerts/groups", get(am_api::get_groups))
        .route(
            "/api/v2/silences",
            get(am_api::get_silences).post(am_api::post_silence),
        )
        .route(
            "/api/v2/silence/{id}",
            get(am_api::get_silence).delete(am_api::delete_silence),
        )
        .route("/api/pharos/v1/dashboards", get(dashboards::list))
        .route(
            "/api/pharos/v1/dashboards/{uid}",
            get(dashboards::get)
                .put(dashboards::put)
                .delete(dashboards::delete)
                .layer(axum::extract::DefaultBodyLimit::max(
                    dashboards::MAX_DASHBOARD_BYTES + 1,
                )),
        )
        .route("/probe", get(probe::probe))
        .route("/-/reload", post(targets::reload).put(targets::reload))
        .route_layer(middleware::from_fn_with_state(state.clone(), track))
        .fallback(not_found)
        .with_state(state)
}

/// The web UI for the paths no API route takes: its pages get the UI's `index.html` (the UI routes
/// itself), its files get their bytes with an ETag; anything else is a 404.
async fn not_found(
    State(st): State<Arc<ApiState>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> Response {
    use axum::http::{Method, header};
    if method != Method::GET && method != Method::HEAD {
        return (StatusCode::NOT_FOUND, "404 page not found\n").into_response();
    }
    let path = uri.path();
    if let Some(page) = dashboard_page(&st, path, uri.query()).await {
        return page;
    }
    let asset = if ::ui::is_page(path) {
        ::ui::index()
    } else if let Some(a) = ::ui::file(path).filter(|a| a.path != "/index.html") {
        a
    } else {
        return (StatusCode::NOT_FOUND, "404 page not found\n").into_response();
    };
    let cached = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == asset.etag));
    let common = [
        (header::ETAG, asset.etag),
        // Revalidated on every load (a 304 when unchanged): an upgraded binary serves its own UI.
        (header::CACHE_CONTROL, "no-cache"),
    ];
    if cached {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (
        StatusCode::OK,
        common,
        [(header::CONTENT_TYPE, asset.content_type)],
        asset.body,
    )
        .into_response()
}

/// `/dashboards/{uid}` of a dashboard that exists: the UI's page with the dashboard and the
/// answers to its variables' `label_values` lookups inlined, so that the browser's first requests
/// after the page and its script are the panels' queries, all at once.
async fn dashboard_page(st: &Arc<ApiState>, path: &str, query: Option<&str>) -> Option<Response> {
    use axum::http::header;
    let uid = path.strip_prefix("/dashboards/")?.to_string();
    let store = st.hooks.dashboards.get()?.clone();
    let mut chosen: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if let Some(name) = k.strip_prefix("var-") {
            chosen.entry(name.to_string()).or_default().push(v.into_owned());
        }
    }
    let db = st.db.clone();
    let (d, options) = tokio::task::spawn_blocking(move || {
        let d = store.get(&uid)?;
        let options = dashboards::variable_options(&d, &chosen, |label, selector| {
            let matchers = match selector {
                Some(s) => selector::parse(s).ok()?,
                None => Vec::new(),
            };
            storage::Queryable::label_values(&*db, label, i64::MIN, i64::MAX, &matchers).ok()
        });
        Some((d, options))
    })
    .await
    .ok()??;
    let boot = dashboards::boot_json(&d, &options);
    let html = std::str::from_utf8(::ui::index().body).ok()?;
    let script = format!("<script id=\"pharos-boot\" type=\"application/json\">{boot}</script>\n</head>");
    let page = html.replacen("</head>", &script, 1);
    Some(
        (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            page,
        )
            .into_response(),
    )
}

/// Counts requests and their latency by route and status.
async fn track(State(st): State<Arc<ApiState>>, req: Request, next: Next) -> Response {
    let handler = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("other".to_owned(), |p| p.as_str().to_owned());
    let start = Instant::now();
    let resp = next.run(req).await;
    st.metrics
        .requests
        .get_or_create(&vec![
            ("handler".into(), handler.clone()),
            ("code".into(), resp.status().as_u16().to_string()),
        ])
        .inc();
    st.metrics
        .durations
        .get_or_create(&vec![("handler".into(), handler)])
        .observe(start.elapsed().as_secs_f64());
    resp
}

async fn healthy() -> &'static str {
    "Pharos is Healthy.\n"
}

async fn ready(State(st): State<Arc<ApiState>>) -> Response {
    if st.ready.load(Ordering::Acquire) {
        (StatusCode::OK, "Pharos is Ready.\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable\n").into_response()
    }
}

/// Pharos's own metrics in the text format 0.0.4 (what `/metrics` serves).
pub fn encode_metrics(st: &ApiState) -> String {
    let mut out = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &st.registry) {
        tracing::error!(error = %e, "encoding metrics failed");
        return String::new();
    }
    // The encoder ends with the OpenMetrics "# EOF" line; the 0.0.4 text format has none.
    if let Some(stripped) = out.strip_suffix("# EOF\n") {
        out.truncate(stripped.len());
    }
    out
}

async fn self_metrics(State(st): State<Arc<ApiState>>) -> Response {
    let out = encode_metrics(&st);
    let mut resp = out.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}
