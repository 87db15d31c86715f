//! `pharos agent`.

use std::path::PathBuf;

use anyhow::Context;

#[derive(clap::Args)]
pub struct Args {
    /// Address for the agent's own /metrics, health and /api/v1/targets.
    #[arg(long, default_value = "127.0.0.1:9191")]
    listen: String,
    /// Directory for the remote-write buffer (unless the config's `buffer.path` says otherwise).
    #[arg(long, default_value = "./agent-data")]
    data_dir: PathBuf,
    /// YAML configuration file: `global`, `scrape_configs`, `remote_write`, `host_metrics`,
    /// `buffer`, `sharding`.
    #[arg(long)]
    config: PathBuf,
    /// Do not collect this machine's metrics (the built-in host collector, job "node").
    #[arg(long)]
    no_host_metrics: bool,
}

/// Keeps the agent's heap in 4 KiB pages. Where transparent huge pages are on for every mapping,
/// the allocator's first arena is otherwise backed by 2 MiB pages as soon as it is touched, and a
/// process that needs a few megabytes holds 16 MB more. The server keeps huge pages.
fn small_pages() {
    // SAFETY: prctl with PR_SET_THP_DISABLE takes plain integers and only sets a flag of this
    // process's memory map; it reads and writes no memory of ours.
    let rc = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    if rc != 0 {
        tracing::debug!(error = %std::io::Error::last_os_error(), "transparent huge pages stay as configured");
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    small_pages();
    let opts = app::AgentOptions {
        listen: args.listen,
        data_dir: args.data_dir,
        config_path: args.config,
        host_metrics_off: args.no_host_metrics,
    };
    // Two worker threads are plenty for an agent, and keep its footprint small.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(app::run_agent(opts, crate::server::shutdown_signal(), |_| {}))?;
    Ok(())
}
