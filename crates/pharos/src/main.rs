//! The `pharos` binary: command-line parsing, logging setup and exit codes. Each subcommand lives in
//! its own module and delegates to the `app` crate.

mod agent;
mod check;
mod query;
mod server;
mod test;

use clap::{Parser, Subcommand};

// glibc's allocator spent most of the ingest CPU in malloc_consolidate under the request pattern of
// many small label strings next to large body buffers; mimalloc does not.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "pharos",
    version,
    about = "Self-hosted metrics monitoring and alerting"
)]
struct Cli {
    /// Log level filter (e.g. info, debug, pharos=debug); RUST_LOG overrides it.
    #[arg(long, global = true, default_value = "info")]
    log_level: String,
    /// Log format.
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the all-in-one server: ingest endpoints, storage and the HTTP API.
    Server(server::Args),
    /// Run the lightweight collector: host metrics and scrapes, pushed by remote write through a
    /// disk buffer.
    Agent(agent::Args),
    /// Generate load, and compare Pharos with Prometheus and InfluxDB side by side.
    Bench(bench::Args),
    /// Run a PromQL query against a server, like `promtool query`.
    Query(query::Args),
    /// Check rule files, like `promtool check`.
    Check(check::Args),
    /// Run rule unit tests, like `promtool test`.
    Test(test::Args),
}

fn init_logging(level: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(false).init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Raises the soft limit on open files to the hard one, as Go programs (Prometheus) do at start:
/// a server scraping a thousand targets holds two connections to each (the scrape's, kept alive,
/// and the idle one watching for the target's exit), beyond the 1024 many systems set by default.
/// The bench raises it too: its exporter serves those connections, its servers inherit the limit.
fn raise_open_files_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the struct we own and pass by pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 || lim.rlim_cur >= lim.rlim_max {
        return;
    }
    let before = lim.rlim_cur;
    lim.rlim_cur = lim.rlim_max;
    // SAFETY: setrlimit reads one rlimit from the struct we own and pass by pointer.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } == 0 {
        tracing::debug!(from = before, to = lim.rlim_max, "raised the open files limit");
    } else {
        tracing::warn!(
            limit = before,
            hard = lim.rlim_max,
            "could not raise the open files limit: scraping many targets may run out of descriptors"
        );
    }
}

fn main() -> std::process::ExitCode {
    // Before anything else touches the heap: every page touched before this is a huge page.
    if std::env::args_os().nth(1).is_some_and(|a| a == "agent") {
        agent::small_pages();
    }
    let cli = Cli::parse();
    init_logging(&cli.log_level, cli.log_format);
    if matches!(
        cli.command,
        Command::Server(_) | Command::Agent(_) | Command::Bench(_)
    ) {
        raise_open_files_limit();
    }
    let result = match cli.command {
        Command::Check(args) => return check::run(args),
        Command::Test(args) => return test::run(args),
        Command::Server(args) => server::run(args),
        Command::Agent(args) => agent::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Query(args) => query::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "exiting");
            eprintln!("pharos: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
