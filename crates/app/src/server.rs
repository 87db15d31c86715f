//! `pharos server`: opens storage, serves the HTTP API, runs periodic storage maintenance, and on
//! shutdown stops accepting requests, finishes those in flight, checkpoints and closes the WAL.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tracing::{error, info};
use tsdb::{Db, FsyncPolicy, TsdbMetrics};

use crate::collector::TsdbAppender;
use crate::config::{Config, parse_duration};
use crate::error::{Error, Result};

/// Everything `pharos server` needs, after flags and the config file are merged.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub listen: String,
    pub data_dir: PathBuf,
    pub tsdb: tsdb::Options,
    pub limits: api::Limits,
    pub maintenance_interval: Duration,
    /// The configuration file, read again on reload (SIGHUP or `POST /-/reload`).
    pub config_path: Option<PathBuf>,
    pub scrape_jobs: Vec<scrape::Job>,
    /// The built-in host collector's job name, if it runs, and where it reads from.
    pub host: Option<(String, hostmetrics::Options)>,
    /// Set by `--no-host-metrics`: the host collector stays off whatever the file says, reloads too.
    pub host_metrics_off: bool,
    /// Whether the Pushgateway-compatible endpoint answers, and the job exposing what was pushed.
    pub push_enabled: bool,
    pub push_job: Option<String>,
    /// The job scraping Pharos's own metrics in process, if it runs.
    pub self_job: Option<String>,
    /// This member's name and the member list's source, when several collectors share the targets.
    pub sharding: Option<(String, collect::members::Source)>,
    /// What `/probe` runs.
    pub probe_modules: probe::Modules,
    /// Loaded rule files (see [`ServerOptions::load_rules`]) and the rule manager's settings.
    pub rule_files: Vec<rules::RuleFile>,
    pub rule_options: rules::ManagerOptions,
    /// `global.external_labels`: added to alerts sent and shown to templates as `$externalLabels`.
    pub external_labels: std::collections::BTreeMap<String, String>,
    /// The URL users reach Pharos at (alert generator links, `$externalURL`); empty means
    /// `http://<listen address>`.
    pub external_url: String,
    /// The built-in alert manager's configuration (see [`ServerOptions::load_rules`]); `None`
    /// turns it off.
    pub alertmanager: Option<notify::Config>,
    /// The web UI's built-in dashboards (file name, JSON) and the folder of provisioned ones.
    pub builtin_dashboards: &'static [(&'static str, &'static str)],
    pub dashboards_dir: Option<PathBuf>,
}

impl ServerOptions {
    /// Turns the built-in host collector off, now and across reloads.
    pub fn disable_host_metrics(&mut self) {
        if let Some((job, _)) = self.host.take() {
            self.scrape_jobs.retain(|j| j.name != job);
        }
        self.host_metrics_off = true;
    }

    /// Turns the job scraping Pharos's own metrics off.
    pub fn disable_self_metrics(&mut self) {
        if let Some(job) = self.self_job.take() {
            self.scrape_jobs.retain(|j| j.name != job);
        }
    }

    /// Turns the built-in rules off.
    pub fn disable_builtin_rules(&mut self) {
        self.rule_files.retain(|f| !f.path.starts_with("builtin/"));
    }

    /// Turns the Pushgateway-compatible endpoint and its job off, now and across reloads.
    pub fn disable_push(&mut self) {
        if let Some(job) = self.push_job.take() {
            self.scrape_jobs.retain(|j| j.name != job);
        }
        self.push_enabled = false;
    }

    /// Loads the rule files and the alert manager's configuration the config names, relative to
    /// `base` (the config file's directory).
    pub fn load_rules(&mut self, cfg: &Config, base: &std::path::Path) -> Result<()> {
        self.rule_files = cfg.all_rule_files(base).map_err(|msg| Error::Invalid {
            field: "rule_files",
            msg,
        })?;
        self.alertmanager = cfg.alertmanager_config(base).map_err(|msg| Error::Invalid {
            field: "alertmanager",
            msg,
        })?;
        self.dashboards_dir = cfg.dashboards_dir(base);
        Ok(())
    }

    /// Defaults overridden by the config file.
    pub fn from_config(cfg: &Config) -> Result<Self> {
        let mut o = ServerOptions {
            listen: "127.0.0.1:9190".into(),
            data_dir: PathBuf::from("./data"),
            tsdb: tsdb::Options::default(),
            limits: api::Limits::default(),
            maintenance_interval: Duration::from_secs(30),
            config_path: None,
            scrape_jobs: cfg.scrape_jobs().map_err(|msg| Error::Invalid {
                field: "scrape_configs",
                msg,
            })?,
            host: cfg.host_job_name().map(|n| (n, cfg.host_options())),
            host_metrics_off: false,
            push_enabled: cfg.push_enabled(),
            push_job: cfg.push_job_name(),
            self_job: cfg.self_job_name(),
            sharding: cfg.sharding().map_err(|msg| Error::Invalid {
                field: "sharding",
                msg,
            })?,
            probe_modules: cfg
                .probe
                .modules()
                .map_err(|msg| Error::Invalid { field: "probe", msg })?,
            rule_files: Vec::new(),
            rule_options: cfg
                .rule_options()
                .map_err(|msg| Error::Invalid { field: "global", msg })?,
            external_labels: cfg.global.external_labels.clone().unwrap_or_default(),
            external_url: String::new(),
            alertmanager: None,
            builtin_dashboards: cfg.builtin_dashboards(),
            dashboards_dir: None,
        };
        let s = &cfg.storage;
        let dur =
            |field: &'static str, v: &str| parse_duration(v).map_err(|msg| Error::Invalid { field, msg });
        if let Some(v) = &s.retention {
            o.tsdb.retention_ms = dur("storage.retention", v)?.as_millis() as i64;
            o.limits.retention_text = v.clone();
        }
        if let Some(v) = &s.out_of_order_window {
            o.tsdb.head.ooo_window_ms = dur("storage.out_of_order_window", v)?.as_millis() as i64;
        }
        if let Some(v) = &s.wal_fsync {
            o.tsdb.fsync = parse_fsync(v)?;
        }
        if let Some(v) = &s.block_range {
            let ms = dur("storage.block_range", v)?.as_millis() as i64;
            if ms < 60_000 {
                return Err(Error::Invalid {
                    field: "storage.block_range",
                    msg: "must be at least 1m".into(),
                });
            }
            o.tsdb.head.chunk_range_ms = ms;
        }
        if let Some(v) = &s.checkpoint_interval {
            o.tsdb.checkpoint_interval = dur("storage.checkpoint_interval", v)?;
            o.maintenance_interval = o
                .maintenance_interval
                .min(o.tsdb.checkpoint_interval)
                .max(Duration::from_millis(100));
        }
        if let Some(v) = s.max_series {
            o.tsdb.head.max_series = v;
        }
        let l = &cfg.limits;
        if let Some(v) = l.max_body_bytes {
            o.limits.max_body_bytes = v;
        }
        if let Some(v) = l.max_decoded_bytes {
            o.limits.max_decoded_bytes = v;
        }
        if let Some(v) = l.max_label_name_length {
            o.limits.labels.max_name_len = v;
        }
        if let Some(v) = l.max_label_value_length {
            o.limits.labels.max_value_len = v;
        }
        if let Some(v) = l.max_labels_per_series {
            o.limits.labels.max_labels = v;
        }
        if let Some(v) = l.max_export_samples {
            o.limits.max_export_samples = v;
        }
        if let Some(v) = l.max_query_samples {
            o.limits.max_query_samples = v;
        }
        if let Some(v) = &l.query_timeout {
            let d = dur("limits.query_timeout", v)?;
            if d.is_zero() {
                return Err(Error::Invalid {
                    field: "limits.query_timeout",
                    msg: "must be positive".into(),
                });
            }
            o.limits.query_timeout = d;
        }
        Ok(o)
    }
}

/// `always` or a duration.
pub fn parse_fsync(v: &str) -> Result<FsyncPolicy> {
    if v == "always" {
        return Ok(FsyncPolicy::Always);
    }
    let d = parse_duration(v).map_err(|msg| Error::Invalid {
        field: "wal fsync policy",
        msg: format!("{msg}, or \"always\""),
    })?;
    if d.is_zero() {
        return Ok(FsyncPolicy::Always);
    }
    Ok(FsyncPolicy::Interval(d))
}

/// What a reload updates besides the scrape jobs, and the command-line choices it keeps.
struct ReloadParts {
    rule_manager: Arc<rules::Manager>,
    alertmanager: Option<Arc<notify::Alertmanager>>,
    /// `--no-self-metrics`: the self job stays off.
    self_off: bool,
    /// `--no-builtin-rules`: the built-in rules stay off.
    builtin_rules_off: bool,
}

/// Reads the configuration file again and applies its scrape jobs; an invalid file changes nothing.
fn reload_hook(
    path: Option<PathBuf>,
    manager: Arc<collect::Manager<TsdbAppender>>,
    host: Option<Arc<parking_lot::Mutex<hostmetrics::Collector>>>,
    pushed: Option<Arc<push::Store>>,
    state: Arc<api::ApiState>,
    parts: ReloadParts,
) -> api::ReloadHook {
    let ReloadParts {
        rule_manager,
        alertmanager,
        self_off,
        builtin_rules_off,
    } = parts;
    let handle = tokio::runtime::Handle::current();
    Arc::new(move || {
        let Some(path) = &path else {
            info!("reload requested, but the server was started without --config: nothing to reload");
            return Ok(());
        };
        let cfg = Config::load(path).map_err(|e| e.to_string())?;
        let modules = cfg.probe.modules()?;
        let base = path.parent().unwrap_or(std::path::Path::new("."));
        let rule_files = cfg.all_rule_files(base)?;
        let rule_options = cfg.rule_options()?;
        let am_config = cfg.alertmanager_config(base)?;
        let mut jobs = cfg.scrape_jobs()?;
        if let Some(job) = cfg.host_job_name() {
            match &host {
                Some(h) => manager.set_local(&job, host_source(h.clone())),
                None => jobs.retain(|j| j.name != job),
            }
        }
        if let Some(job) = cfg.push_job_name() {
            match &pushed {
                Some(p) => manager.set_local(&job, push_source(p.clone())),
                None => jobs.retain(|j| j.name != job),
            }
        }
        if let Some(job) = cfg.self_job_name() {
            if self_off {
                jobs.retain(|j| j.name != job);
            } else {
                manager.set_local(&job, self_source(state.clone()));
            }
        }
        let mut rule_files = rule_files;
        if builtin_rules_off {
            rule_files.retain(|f| !f.path.starts_with("builtin/"));
        }
        let n = jobs.len();
        let _entered = handle.enter();
        manager.apply(jobs)?;
        let groups: usize = rule_files.iter().map(|f| f.groups.len()).sum();
        if let (Some(am), Some(c)) = (&alertmanager, am_config) {
            am.reload(c).map_err(|e| format!("alertmanager: {e}"))?;
        }
        rule_manager.update(&rule_files, rule_options)?;
        state.set_probe_modules(modules);
        if let Some(d) = state.hooks.dashboards.get() {
            d.set_provision_dir(cfg.dashboards_dir(base));
        }
        info!(file = %path.display(), jobs = n, rule_groups = groups, "configuration reloaded");
        Ok(())
    })
}

/// The host collector as a scrape target: each scrape collects and renders the text format.
pub(crate) fn host_source(c: Arc<parking_lot::Mutex<hostmetrics::Collector>>) -> collect::LocalSource {
    Arc::new(move || {
        let families = c.lock().collect();
        let mut text = String::with_capacity(64 << 10);
        hostmetrics::render_text(&families, &mut text);
        Ok(collect::http::Fetched {
            body: text.into_bytes(),
            content_type: Some("text/plain; version=0.0.4".into()),
            keep_alive: false,
        })
    })
}

/// Reloads on every SIGHUP; a failed reload is logged and the running configuration stays.
pub(crate) fn reload_on_hangup(reload: api::ReloadHook) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            return;
        };
        while hup.recv().await.is_some() {
            info!(signal = "SIGHUP", "reloading the configuration");
            let r = reload.clone();
            match tokio::task::spawn_blocking(move || r()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    error!(error = %e, "configuration reload failed: keeping the running configuration")
                }
                Err(e) => error!(error = %e, "configuration reload panicked"),
            }
        }
    })
}

/// Pharos's own metrics as a scrape target, rendered in process.
fn self_source(state: Arc<api::ApiState>) -> collect::LocalSource {
    Arc::new(move || {
        Ok(collect::http::Fetched {
            body: api::encode_metrics(&state).into_bytes(),
            content_type: Some("text/plain; version=0.0.4".into()),
            keep_alive: false,
        })
    })
}

/// The pushed groups as a scrape target.
fn push_source(store: Arc<push::Store>) -> collect::LocalSource {
    Arc::new(move || {
        let mut text = String::new();
        store.render(&mut text);
        Ok(collect::http::Fetched {
            body: text.into_bytes(),
            content_type: Some("text/plain; version=0.0.4".into()),
            keep_alive: false,
        })
    })
}

/// Starts the rule manager on the loaded rule files: queries read the store, outputs are appended to
/// it.
fn start_rules(
    opts: &ServerOptions,
    state: &Arc<api::ApiState>,
    db: Arc<Db>,
    external_url: &str,
    alertmanager: Option<Arc<notify::Alertmanager>>,
) -> Result<Arc<rules::Manager>> {
    let metrics = state.rule_metrics.clone();
    let engine = promql::Engine::new(promql::Options {
        timeout: opts.limits.query_timeout,
        max_samples: opts.limits.max_query_samples,
        default_subquery_step_ms: opts.rule_options.default_interval_ms,
        ..promql::Options::default()
    });
    let env = rules::Env {
        engine,
        store: db.clone() as Arc<dyn storage::Queryable>,
        sink: Arc::new(crate::collector::TsdbRuleSink(db)),
        notifier: alertmanager.map(|am| Arc::new(AlertSink(am)) as Arc<dyn rules::Notifier>),
        external_labels: opts.external_labels.clone(),
        external_url: external_url.to_string(),
        resend_delay_ms: 60_000,
        metrics,
        now_ms: wall_ms,
    };
    let manager = rules::Manager::new(env, opts.rule_options.clone());
    manager
        .update(&opts.rule_files, opts.rule_options.clone())
        .map_err(|e| Error::Runtime(format!("loading rules: {e}")))?;
    let _ = state.hooks.rules.set(manager.clone());
    let groups: usize = opts.rule_files.iter().map(|f| f.groups.len()).sum();
    if groups > 0 {
        info!(files = opts.rule_files.len(), groups, "evaluating rules");
    }
    Ok(manager)
}

/// Alerts from the rule engine into the built-in alert manager, stored before `send` returns.
struct AlertSink(Arc<notify::Alertmanager>);

impl rules::Notifier for AlertSink {
    fn send(&self, alerts: Vec<rules::OutAlert>) {
        let now = wall_ms();
        let alerts: Vec<notify::Alert> = alerts
            .into_iter()
            .map(|a| notify::Alert {
                labels: a
                    .labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                annotations: a.annotations,
                starts_at: a.starts_at,
                ends_at: a.ends_at,
                generator_url: a.generator_url,
                updated_at: now,
                timeout: false,
            })
            .collect();
        if let Err(e) = self.0.put_alerts(alerts) {
            error!(error = %e, "storing alerts in the alert manager failed");
        }
    }
}

/// The wall clock in Unix milliseconds.
fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Runs the server until `shutdown` completes. `on_listen` receives the bound address (useful with port 0).
pub async fn run_server(
    opts: ServerOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_listen: impl FnOnce(SocketAddr),
) -> Result<()> {
    std::fs::create_dir_all(&opts.data_dir)
        .map_err(|e| Error::Runtime(format!("create data directory {}: {e}", opts.data_dir.display())))?;
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
    info!(data_dir = %opts.data_dir.display(), fsync = ?opts.tsdb.fsync, retention_ms = opts.tsdb.retention_ms,
        ooo_window_ms = opts.tsdb.head.ooo_window_ms, "opening storage");
    let metrics = Arc::new(TsdbMetrics::default());
    let (dir, topts) = (opts.data_dir.clone(), opts.tsdb.clone());
    let db = tokio::task::spawn_blocking(move || Db::open(&dir, topts, metrics))
        .await
        .map_err(|e| Error::Runtime(e.to_string()))??;
    let db = Arc::new(db);
    let state = Arc::new(api::ApiState::new(db.clone(), opts.limits.clone()));
    state.set_probe_modules(opts.probe_modules.clone());
    let dashboards = api::dashboards::Store::new(opts.builtin_dashboards, opts.data_dir.join("dashboards"))
        .map_err(|e| Error::Runtime(e.to_string()))?;
    dashboards.set_provision_dir(opts.dashboards_dir.clone());
    let _ = state.hooks.dashboards.set(Arc::new(dashboards));
    let app = api::router(state.clone());

    let appender = Arc::new(TsdbAppender::new(db.clone()));
    let manager = collect::Manager::new(appender.clone());
    let host_collector = Arc::new(parking_lot::Mutex::new(hostmetrics::Collector::new(
        opts.host.as_ref().map(|(_, o)| o.clone()).unwrap_or_default(),
    )));
    if let Some((job, _)) = &opts.host {
        manager.set_local(job, host_source(host_collector.clone()));
        info!(job = %job, "host metrics collected in process");
    }
    let pushed = if opts.push_enabled {
        let path = opts.data_dir.join("pushgateway.json");
        let store = match push::Store::open(&path) {
            Ok(s) => s,
            Err(e) => {
                // An unreadable file must not keep the server down; it is kept aside for inspection.
                let aside = path.with_extension("json.unreadable");
                error!(error = %e, moved_to = %aside.display(), "pushed groups could not be loaded; starting without them");
                std::fs::rename(&path, &aside)
                    .map_err(|e| Error::Runtime(format!("moving {} aside: {e}", path.display())))?;
                push::Store::open(&path).map_err(|e| Error::Runtime(e.to_string()))?
            }
        };
        let store = Arc::new(store);
        info!(groups = store.groups().len(), file = %path.display(), "push endpoint at /metrics/job/<job>");
        let _ = state.hooks.push.set(store.clone());
        Some(store)
    } else {
        None
    };
    // Before the jobs start, so a member never starts scraping targets that are not its own.
    let members = opts.sharding.clone().map(|(me, source)| {
        let m = manager.clone();
        collect::members::Members::start(me, source, move |ms| m.set_membership(Some(ms)))
    });
    let mut jobs = opts.scrape_jobs.clone();
    if let Some(job) = &opts.self_job {
        manager.set_local(job, self_source(state.clone()));
    }
    if let Some(job) = &opts.push_job {
        match &pushed {
            Some(p) => manager.set_local(job, push_source(p.clone())),
            None => jobs.retain(|j| &j.name != job),
        }
    }
    manager
        .apply(jobs)
        .map_err(|e| Error::Runtime(format!("starting scrape jobs: {e}")))?;
    if !opts.scrape_jobs.is_empty() {
        info!(jobs = opts.scrape_jobs.len(), "scraping");
    }
    let external_url = if opts.external_url.is_empty() {
        format!("http://{addr}")
    } else {
        opts.external_url.clone()
    };
    let alertmanager = match &opts.alertmanager {
        Some(c) => {
            let mut am_opts = notify::Options::new(opts.data_dir.join("alertmanager"), &external_url);
            am_opts.now_ms = wall_ms;
            let (c, metrics) = (c.clone(), state.notify_metrics.clone());
            let am = tokio::task::spawn_blocking(move || notify::Alertmanager::open(am_opts, c, metrics))
                .await
                .map_err(|e| Error::Runtime(e.to_string()))?
                .map_err(|e| Error::Runtime(format!("starting the alert manager: {e}")))?;
            let _ = state.hooks.alertmanager.set(am.clone());
            info!(
                pending = am.pending(),
                alerts = am.alerts.len(),
                silences = am.silences.len(),
                "alert manager running"
            );
            Some(am)
        }
        None => None,
    };
    let am_task = alertmanager.clone().map(|am| tokio::spawn(am.run()));
    let rule_manager = start_rules(&opts, &state, db.clone(), &external_url, alertmanager.clone())?;
    // A target going down (or coming back) is evaluated at once rather than at the next tick.
    let rm = rule_manager.clone();
    let _ = appender.on_health_change.set(Box::new(move || rm.trigger()));
    let targets_mgr = manager.clone();
    let _ = state.hooks.targets.set(Arc::new(move || targets_mgr.status()));
    let reload = reload_hook(
        opts.config_path.clone(),
        manager.clone(),
        (!opts.host_metrics_off).then_some(host_collector),
        pushed,
        state.clone(),
        ReloadParts {
            rule_manager: rule_manager.clone(),
            alertmanager: alertmanager.clone(),
            self_off: opts.self_job.is_none(),
            builtin_rules_off: !opts.rule_files.iter().any(|f| f.path.starts_with("builtin/")),
        },
    );
    let _ = state.hooks.reload.set(reload.clone());
    let hangup = reload_on_hangup(reload);

    let maint_db = db.clone();
    let interval = opts.maintenance_interval;
    let maintenance = tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.tick().await;
        loop {
            tick.tick().await;
            let d = maint_db.clone();
            match tokio::task::spawn_blocking(move || d.maintain()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => error!(error = %e, "storage maintenance failed"),
                Err(e) => error!(error = %e, "storage maintenance panicked"),
            }
        }
    });

    state.ready.store(true, Ordering::Release);
    info!(address = %addr, "listening");
    on_listen(addr);
    let served = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    info!("shutting down: closing storage");
    state.ready.store(false, Ordering::Release);
    hangup.abort();
    if let Some(m) = members {
        m.stop().await;
    }
    manager.shutdown();
    rule_manager.stop().await;
    if let Some(t) = am_task {
        t.abort();
    }
    maintenance.abort();
    let closing = db.clone();
    let closed = tokio::task::spawn_blocking(move || closing.close())
        .await
        .map_err(|e| Error::Runtime(e.to_string()))?;
    served.map_err(|e| Error::Runtime(format!("http server: {e}")))?;
    closed?;
    info!("storage closed");
    Ok(())
}
