//! `pharos server`.

use std::path::PathBuf;

use anyhow::Context;
use app::{Config, ServerOptions, parse_duration};

#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9190")]
    listen: String,
    /// Directory for the WAL, checkpoints and blocks.
    #[arg(long, default_value = "./data")]
    data_dir: PathBuf,
    /// YAML configuration file.
    #[arg(long)]
    config: Option<PathBuf>,
    /// How long raw samples are kept (e.g. 7d, 30d).
    #[arg(long)]
    retention: Option<String>,
    /// How far behind the newest sample late samples are accepted (e.g. 1h; 0s disables).
    #[arg(long)]
    out_of_order_window: Option<String>,
    /// WAL durability: "always" (acknowledge after fsync) or an interval such as 100ms.
    #[arg(long)]
    wal_fsync: Option<String>,
    /// Most active series; new series past it are refused.
    #[arg(long)]
    max_series: Option<usize>,
    /// Do not collect this machine's metrics (the built-in host collector, job "node").
    #[arg(long)]
    no_host_metrics: bool,
    /// Turn off the Pushgateway-compatible endpoint (/metrics/job/...) and the job exposing it.
    #[arg(long)]
    no_push: bool,
    /// Do not scrape Pharos's own metrics (the in-process job "pharos").
    #[arg(long)]
    no_self_metrics: bool,
    /// Do not evaluate the rules Pharos ships (host and self alerts).
    #[arg(long)]
    no_builtin_rules: bool,
    /// The URL users reach this server at (links in alerts, `$externalURL` in templates); default
    /// http://<listen address>.
    #[arg(long)]
    external_url: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let cfg = match &args.config {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    let mut opts = ServerOptions::from_config(&cfg)?;
    let base = args
        .config
        .as_deref()
        .and_then(|p| p.parent())
        .map(|p| p.to_path_buf())
        .unwrap_or_else(|| PathBuf::from("."));
    opts.load_rules(&cfg, &base)?;
    opts.config_path = args.config.clone();
    if let Some(u) = &args.external_url {
        opts.external_url = u.trim_end_matches('/').to_string();
    }
    if args.no_host_metrics {
        opts.disable_host_metrics();
    }
    if args.no_push {
        opts.disable_push();
    }
    if args.no_self_metrics {
        opts.disable_self_metrics();
    }
    if args.no_builtin_rules {
        opts.disable_builtin_rules();
    }
    opts.listen = args.listen;
    opts.data_dir = args.data_dir;
    if let Some(v) = &args.retention {
        opts.tsdb.retention_ms = parse_duration(v)
            .map_err(anyhow::Error::msg)
            .context("--retention")?
            .as_millis() as i64;
        opts.limits.retention_text = v.clone();
    }
    if let Some(v) = &args.out_of_order_window {
        opts.tsdb.head.ooo_window_ms = parse_duration(v)
            .map_err(anyhow::Error::msg)
            .context("--out-of-order-window")?
            .as_millis() as i64;
    }
    if let Some(v) = &args.wal_fsync {
        opts.tsdb.fsync = app::parse_fsync(v).context("--wal-fsync")?;
    }
    if let Some(v) = args.max_series {
        opts.tsdb.head.max_series = v;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(app::run_server(opts, shutdown_signal(), |_| {}))?;
    Ok(())
}

pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
    else {
        // Without signal handlers the server can still be stopped by SIGKILL; data stays safe.
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!(signal = "SIGTERM", "shutdown requested"),
        _ = int.recv() => tracing::info!(signal = "SIGINT", "shutdown requested"),
    }
}
