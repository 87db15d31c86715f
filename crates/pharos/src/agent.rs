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
/// the allocator's arena is otherwise backed by 2 MiB pages as soon as it is touched, and an agent
/// that needs a few megabytes holds 16 MB more. Two steps, before anything else runs: the process
/// opts out of huge pages (PR_SET_THP_DISABLE, inherited across exec), and, since the allocator has
/// committed its first arena before `main`, the agent executes itself again once with mimalloc's
/// eager arena commit off (an environment option read at start). The server keeps both.
pub fn small_pages() {
    // SAFETY: prctl with PR_SET_THP_DISABLE takes plain integers and only sets a flag of this
    // process's memory map; it reads and writes no memory of ours.
    let rc = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    if rc != 0 {
        return;
    }
    const OPTION: &str = "MIMALLOC_ARENA_EAGER_COMMIT";
    if std::env::var_os(OPTION).is_some() {
        return;
    }
    if let Ok(exe) = std::env::current_exe() {
        use std::os::unix::process::CommandExt;
        // Returns only if the exec failed; the agent then runs as it is.
        let _ = std::process::Command::new(exe)
            .args(std::env::args_os().skip(1))
            .env(OPTION, "0")
            .exec();
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
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
