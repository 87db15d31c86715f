//! `pharos check rules FILE…`: checks rule files as `promtool check rules` does (same acceptance,
//! same report: `SUCCESS: N rules found`, or `FAILED:` and one line per problem; exit status 1 when
//! any file fails). `pharos check alertmanager FILE…` checks alert manager configs as
//! `amtool check-config` does, Pharos's receivers (`twilio_configs`) included.

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand)]
enum What {
    /// Check alert manager configuration files (Alertmanager's format).
    Alertmanager {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Check Prometheus rule files.
    Rules {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Lint checks: duplicate-rules (default), all, or none.
        #[arg(long, default_value = "duplicate-rules")]
        lint: String,
        /// Exit with status 3 when a lint check finds something.
        #[arg(long)]
        lint_fatal: bool,
    },
}

pub fn run(args: Args) -> ExitCode {
    match args.what {
        What::Alertmanager { files } => check_alertmanager(&files),
        What::Rules {
            files,
            lint,
            lint_fatal,
        } => check_rules(&files, lint != "none", lint_fatal),
    }
}

fn check_rules(files: &[PathBuf], lint: bool, lint_fatal: bool) -> ExitCode {
    let mut failed = false;
    let mut lint_failed = false;
    for f in files {
        println!("Checking {}", f.display());
        match rules::file::load(f) {
            Ok(file) => {
                let n: usize = file.groups.iter().map(|g| g.rules.len()).sum();
                let dups = if lint { duplicates(&file) } else { Vec::new() };
                if dups.is_empty() {
                    println!("  SUCCESS: {n} rules found");
                } else {
                    // As promtool: reported as a failure, fatal only with --lint-fatal.
                    lint_failed = true;
                    eprintln!("  FAILED:");
                    eprintln!("{}", dups.join("\n"));
                }
            }
            Err(errs) => {
                failed = true;
                eprintln!("  FAILED:");
                for e in errs {
                    eprintln!("{e}");
                }
            }
        }
        println!();
    }
    if failed {
        ExitCode::FAILURE
    } else if lint_failed && lint_fatal {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    }
}

/// Recording rules defined twice with the same name and labels: both write the same series.
fn duplicates(file: &rules::RuleFile) -> Vec<String> {
    let mut seen = std::collections::BTreeMap::new();
    for g in &file.groups {
        for r in &g.rules {
            if let rules::RuleKind::Record(name) = &r.kind {
                *seen.entry((name.clone(), r.labels.clone())).or_insert(0usize) += 1;
            }
        }
    }
    let dups: Vec<_> = seen.into_iter().filter(|(_, n)| *n > 1).collect();
    if dups.is_empty() {
        return Vec::new();
    }
    let mut out = vec![format!("lint error {} duplicate rule(s) found.", dups.len())];
    for ((name, labels), _) in dups {
        out.push(format!("Metric: {name}\nLabel(s):"));
        for (k, v) in labels {
            out.push(format!("\t{k}: {v}"));
        }
    }
    out.push("Might cause inconsistency while recording expressions".into());
    out
}

fn check_alertmanager(files: &[PathBuf]) -> ExitCode {
    let mut failed = false;
    for f in files {
        println!("Checking '{}'", f.display());
        let loaded = std::fs::read_to_string(f)
            .map_err(|e| e.to_string())
            .and_then(|text| notify::Config::load(&text).map_err(|e| e.to_string()))
            .and_then(|mut cfg| {
                if let Some(dir) = f.parent() {
                    cfg.resolve_paths(dir);
                }
                notify::dispatch::Loaded::new(cfg, "http://localhost").map_err(|e| e.to_string())
            });
        match loaded {
            Ok(l) => {
                let c = &l.config;
                println!("  SUCCESS");
                println!("Found:");
                println!(" - global config");
                println!(" - route");
                println!(" - {} inhibit rules", c.inhibit_rules.len());
                println!(" - {} receivers", c.receivers.len());
                println!(" - {} templates", c.templates.len());
                for (receiver, kind, n) in c.unsupported_notifiers() {
                    println!("  NOTE: receiver {receiver:?}: {n} {kind} notifier(s) load but do not send");
                }
            }
            Err(e) => {
                failed = true;
                eprintln!("  FAILED: {e}");
            }
        }
        println!();
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
