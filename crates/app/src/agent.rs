//! `pharos agent`: the lightweight collector for every monitored host. It scrapes (its built-in
//! host collector and whatever `scrape_configs` lists) and pushes everything by remote write to one
//! or more receivers through an on-disk buffer, so a receiver outage within the buffer's capacity
//! loses nothing. It stores nothing itself and serves only its own metrics, health and targets.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use tracing::info;

use crate::config::{Config, HostMetricsConfig, ProbeConfig, PushConfig, ShardingConfig};
use crate::error::{Error, Result};
use crate::server::{host_source, reload_on_hangup};

/// The agent's configuration file: a prometheus.yml's `global`, `scrape_configs` and
/// `remote_write`, plus Pharos's `host_metrics`, `buffer` and `sharding` sections.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    #[serde(default)]
    pub global: scrape::GlobalConfig,
    #[serde(default)]
    pub scrape_configs: Vec<scrape::ScrapeConfigYaml>,
    #[serde(default)]
    pub host_metrics: HostMetricsConfig,
    #[serde(default)]
    pub remote_write: Vec<forward::RemoteWriteYaml>,
    /// Where samples wait for the receivers; `<data-dir>/buffer` unless set.
    #[serde(default)]
    pub buffer: forward::BufferYaml,
    pub sharding: Option<ShardingConfig>,
    /// The modules of the agent's blackbox-style `/probe` endpoint.
    #[serde(default)]
    pub probe: ProbeConfig,
}

impl AgentConfig {
    pub fn load(path: &Path) -> Result<AgentConfig> {
        let err = |msg: String| Error::Config {
            path: path.display().to_string(),
            msg,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let cfg: AgentConfig = if text.trim().is_empty() {
            AgentConfig::default()
        } else {
            serde_yaml::from_str(&text).map_err(|e| err(e.to_string()))?
        };
        Ok(cfg)
    }

    /// The collection side as the server's config type (no storage, no push endpoint), and the
    /// forwarding side.
    fn split(self) -> (Config, Vec<forward::RemoteWriteYaml>, forward::BufferYaml) {
        let collection = Config {
            global: self.global,
            scrape_configs: self.scrape_configs,
            host_metrics: self.host_metrics,
            push: PushConfig {
                enabled: Some(false),
                ..PushConfig::default()
            },
            sharding: self.sharding,
            probe: self.probe,
            ..Config::default()
        };
        (collection, self.remote_write, self.buffer)
    }
}

/// Everything `pharos agent` needs.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    pub listen: String,
    pub data_dir: PathBuf,
    pub config_path: PathBuf,
    /// Set by `--no-host-metrics`.
    pub host_metrics_off: bool,
}

struct AgentState {
    manager: Arc<collect::Manager<forward::Forwarder>>,
    probe_modules: Arc<std::sync::RwLock<Arc<probe::Modules>>>,
    forwarder: Arc<forward::Forwarder>,
    reload: api::ReloadHook,
}

/// The jobs of a configuration, with the host collector's job removed when it is turned off.
fn jobs_of(cfg: &Config, host_off: bool) -> Result<Vec<scrape::Job>> {
    let mut jobs = cfg.scrape_jobs().map_err(|msg| Error::Invalid {
        field: "scrape_configs",
        msg,
    })?;
    if host_off && let Some(host) = cfg.host_job_name() {
        jobs.retain(|j| j.name != host);
    }
    Ok(jobs)
}

/// Runs the agent until `shutdown` completes.
pub async fn run_agent(
    opts: AgentOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_listen: impl FnOnce(SocketAddr),
) -> Result<()> {
    let (cfg, remote_write, buffer) = AgentConfig::load(&opts.config_path)?.split();
    let jobs = jobs_of(&cfg, opts.host_metrics_off)?;
    let sharding = cfg.sharding().map_err(|msg| Error::Invalid {
        field: "sharding",
        msg,
    })?;
    let modules = cfg
        .probe
        .modules()
        .map_err(|msg| Error::Invalid { field: "probe", msg })?;
    let receivers = forward::resolve(&remote_write).map_err(|e| Error::Invalid {
        field: "remote_write",
        msg: e.to_string(),
    })?;
    if receivers.is_empty() {
        return Err(Error::Invalid {
            field: "remote_write",
            msg: "the agent needs at least one receiver to send to".into(),
        });
    }
    let buffer = buffer
        .resolve(&opts.data_dir.join("buffer"))
        .map_err(|e| Error::Invalid {
            field: "buffer",
            msg: e.to_string(),
        })?;
    let external_labels = cfg
        .global
        .external_labels
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let listener = tokio::net::TcpListener::bind(&opts.listen)
        .await
        .map_err(|source| Error::Listen {
            addr: opts.listen.clone(),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| Error::Listen {
        addr: opts.listen.clone(),
        source,
    })?;
    info!(buffer = %buffer.path.display(), max_bytes = buffer.max_bytes, receivers = receivers.len(), "opening the remote-write buffer");
    let forwarder = forward::Forwarder::open(forward::Options {
        buffer,
        receivers,
        external_labels,
    })
    .map_err(|e| Error::Runtime(e.to_string()))?;

    let manager = collect::Manager::new(forwarder.clone());
    let host = Arc::new(parking_lot::Mutex::new(hostmetrics::Collector::new(
        cfg.host_options(),
    )));
    if !opts.host_metrics_off
        && let Some(job) = cfg.host_job_name()
    {
        manager.set_local(&job, host_source(host.clone()));
        info!(job = %job, "host metrics collected in process");
    }
    let members = sharding.map(|(me, source)| {
        let m = manager.clone();
        collect::members::Members::start(me, source, move |ms| m.set_membership(Some(ms)))
    });
    let n = jobs.len();
    manager
        .apply(jobs)
        .map_err(|e| Error::Runtime(format!("starting scrape jobs: {e}")))?;
    info!(jobs = n, "scraping");

    let probe_modules = Arc::new(std::sync::RwLock::new(Arc::new(modules)));
    let reload = {
        let slot = probe_modules.clone();
        let (path, manager, host_off) = (opts.config_path.clone(), manager.clone(), opts.host_metrics_off);
        let handle = tokio::runtime::Handle::current();
        Arc::new(move || -> std::result::Result<(), String> {
            let (cfg, _, _) = AgentConfig::load(&path).map_err(|e| e.to_string())?.split();
            let jobs = jobs_of(&cfg, host_off).map_err(|e| e.to_string())?;
            let modules = cfg.probe.modules()?;
            if !host_off && let Some(job) = cfg.host_job_name() {
                manager.set_local(&job, host_source(host.clone()));
            }
            let n = jobs.len();
            let _entered = handle.enter();
            manager.apply(jobs)?;
            *slot.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(modules);
            info!(file = %path.display(), jobs = n, "configuration reloaded (remote_write, buffer and sharding changes take effect at restart)");
            Ok(())
        })
    };
    let state = Arc::new(AgentState {
        manager: manager.clone(),
        probe_modules,
        forwarder: forwarder.clone(),
        reload: reload.clone(),
    });
    let app = Router::new()
        .route("/metrics", get(self_metrics))
        .route("/-/healthy", get(|| async { "Pharos agent is Healthy.\n" }))
        .route("/-/ready", get(|| async { "Pharos agent is Ready.\n" }))
        .route("/api/v1/targets", get(targets))
        .route("/probe", get(probe))
        .route(
            "/-/reload",
            axum::routing::post(reload_handler).put(reload_handler),
        )
        .with_state(state);
    let hangup = reload_on_hangup(reload);

    info!(address = %addr, "listening");
    on_listen(addr);
    let served = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    info!("shutting down: sending what is buffered");
    hangup.abort();
    if let Some(m) = members {
        m.stop().await;
    }
    manager.shutdown();
    // Loops stop at their next await; appends after this fail and are counted by the scrape report.
    tokio::time::sleep(Duration::from_millis(50)).await;
    forwarder.shutdown(Duration::from_secs(5)).await;
    served.map_err(|e| Error::Runtime(format!("http server: {e}")))?;
    Ok(())
}

async fn probe(
    State(st): State<Arc<AgentState>>,
    query: axum::extract::RawQuery,
    headers: axum::http::HeaderMap,
) -> Response {
    let modules = st
        .probe_modules
        .read()
        .map(|m| m.clone())
        .unwrap_or_else(|e| e.into_inner().clone());
    api::probe::answer(&modules, query, &headers).await
}

async fn self_metrics(State(st): State<Arc<AgentState>>) -> Response {
    let mut out = String::new();
    st.forwarder.metrics().render(&mut out);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        out,
    )
        .into_response()
}

#[derive(Deserialize)]
struct TargetsParams {
    state: Option<String>,
    #[serde(rename = "scrapePool")]
    scrape_pool: Option<String>,
}

async fn targets(State(st): State<Arc<AgentState>>, Query(p): Query<TargetsParams>) -> Response {
    let pools = st.manager.status();
    match api::targets_data(&pools, p.state.as_deref(), p.scrape_pool.as_deref()) {
        Ok(data) => axum::Json(serde_json::json!({ "status": "success", "data": data })).into_response(),
        Err(msg) => (
            StatusCode::BAD_REQUEST,
            axum::Json(serde_json::json!({ "status": "error", "errorType": "bad_data", "error": msg })),
        )
            .into_response(),
    }
}

async fn reload_handler(State(st): State<Arc<AgentState>>) -> Response {
    let r = st.reload.clone();
    match tokio::task::spawn_blocking(move || r()).await {
        Ok(Ok(())) => StatusCode::OK.into_response(),
        Ok(Err(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("failed to reload config: {e}\n"),
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("reload panicked: {e}\n"),
        )
            .into_response(),
    }
}
