//! Facts that go with every published number (command line, date, machine, data size) and the
//! generated sections of BENCHMARKS.md. Shared by `compare` and `query`.

use std::path::Path;
use std::process::Command;

use anyhow::Context;
use serde::Serialize;

use crate::fleet::Fleet;
use crate::now_ms;

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Machine {
    pub(crate) nproc: usize,
    pub(crate) cpu_model: String,
    pub(crate) mem_total_bytes: u64,
    pub(crate) kernel: String,
}

impl Machine {
    /// The Markdown list item.
    pub(crate) fn line(&self) -> String {
        format!(
            "- Machine: {} CPUs (`nproc`), {}, {} memory ({} bytes), Linux {}",
            self.nproc,
            self.cpu_model,
            gib(self.mem_total_bytes),
            self.mem_total_bytes,
            self.kernel
        )
    }
}

/// The opening of a generated section: the begin marker, the title, and the facts every run lists.
pub(crate) fn section_head(
    begin: &str,
    title: &str,
    command: &str,
    date: &str,
    machine: &Machine,
    versions: &[String],
) -> String {
    format!(
        "{begin}\n## {title}\n\nCommand: `{command}`\n\n- Date: {date}\n{}\n- Versions: {}\n",
        machine.line(),
        versions.join("; ")
    )
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct WorkloadFacts {
    pub(crate) hosts: usize,
    pub(crate) series: u64,
    pub(crate) span_seconds: u64,
    pub(crate) interval_seconds: f64,
    pub(crate) samples_per_series: usize,
    pub(crate) samples: u64,
    pub(crate) start_ms: i64,
    pub(crate) end_ms: i64,
    pub(crate) batch: usize,
    pub(crate) concurrency: usize,
    pub(crate) seed: u64,
}

impl WorkloadFacts {
    pub(crate) fn new(fleet: &Fleet, w: &crate::Workload) -> Self {
        Self {
            hosts: fleet.hosts,
            series: fleet.series(),
            span_seconds: w.span.as_secs(),
            interval_seconds: w.interval.as_secs_f64(),
            samples_per_series: fleet.steps,
            samples: fleet.samples(),
            start_ms: fleet.start_ms,
            end_ms: fleet.end_ms(),
            batch: w.batch,
            concurrency: w.concurrency,
            seed: w.seed,
        }
    }

    /// One sentence for the Markdown, without the final period.
    pub(crate) fn sentence(&self) -> String {
        format!(
            "{} hosts × 100 series = {} active series, {} s of data at a {} s interval = {} samples per \
             series, {} samples per server; batches of {} samples, {} sender threads, seed {}",
            self.hosts,
            self.series,
            self.span_seconds,
            self.interval_seconds,
            self.samples_per_series,
            self.samples,
            self.batch,
            self.concurrency,
            self.seed
        )
    }
}

pub(crate) fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kb: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    Machine {
        nproc: std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model,
        mem_total_bytes: mem_kb * 1024,
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_owned(),
    }
}

/// Now, or `epoch_secs`, in UTC.
pub(crate) fn date(epoch_secs: Option<u64>) -> String {
    let mut cmd = Command::new("date");
    cmd.arg("-u");
    if let Some(secs) = epoch_secs {
        cmd.arg("-d").arg(format!("@{secs}"));
    }
    cmd.arg("+%Y-%m-%d %H:%M:%S UTC")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| {
            format!(
                "{} s since the epoch",
                epoch_secs.unwrap_or(now_ms() as u64 / 1000)
            )
        })
}

pub(crate) fn command_line() -> String {
    std::env::args()
        .map(|a| {
            if a.is_empty() || a.contains(char::is_whitespace) {
                format!("'{a}'")
            } else {
                a
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn gib(b: u64) -> String {
    format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64)
}

/// Replaces the part of `path` from `begin` to `end` (markers included) by `section`, which should
/// start and end with the same markers; appends it when the markers are missing; creates the file if
/// needed. Several generated sections, each with its own markers, can share one file.
pub(crate) fn write_section(path: &Path, begin: &str, end: &str, section: &str) -> anyhow::Result<()> {
    let old = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "# Benchmarks\n".to_owned(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let new = match (old.find(begin), old.find(end)) {
        (Some(b), Some(e)) if e > b => {
            let tail = &old[e + end.len()..];
            format!("{}{}{}", &old[..b], section.trim_end(), tail)
        }
        _ => format!("{}\n{}", old.trim_end_matches('\n').to_owned() + "\n", section),
    };
    std::fs::write(path, new).with_context(|| format!("writing {}", path.display()))
}

/// `--write-md` and `--md-file`, the same for every bench.
#[derive(clap::Args)]
pub struct MarkdownOut {
    /// Write (or replace) this bench's section of the Markdown file.
    #[arg(long)]
    write_md: bool,
    #[arg(long, default_value = "BENCHMARKS.md")]
    md_file: std::path::PathBuf,
}

impl MarkdownOut {
    /// With `--write-md`, writes `section` into the file between its markers.
    pub(crate) fn write(&self, name: &str, begin: &str, end: &str, section: &str) -> anyhow::Result<()> {
        if self.write_md {
            write_section(&self.md_file, begin, end, section)?;
            eprintln!("{name}: wrote the section in {}", self.md_file.display());
        }
        Ok(())
    }
}

/// The end of every side-by-side run: the results as JSON in `out`, the Markdown section printed
/// and, with `--write-md`, written into the Markdown file between its markers; fails if a check
/// failed.
pub(crate) fn publish(
    name: &str,
    out: &Path,
    results: &impl Serialize,
    md: &str,
    md_out: &MarkdownOut,
    (begin, end): (&str, &str),
    checks: &[String],
) -> anyhow::Result<()> {
    std::fs::write(out, serde_json::to_string_pretty(results)?)
        .with_context(|| format!("writing {}", out.display()))?;
    println!("{md}");
    md_out.write(name, begin, end, md)?;
    if !checks.is_empty() {
        anyhow::bail!("{}", checks.join("; "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEGIN: &str = "<!-- one: begin -->";
    const END: &str = "<!-- one: end -->";

    #[test]
    fn section_is_replaced_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("B.md");
        std::fs::write(&p, "# Benchmarks\n\nintro\n").unwrap();
        write_section(&p, BEGIN, END, &format!("{BEGIN}\none\n{END}\n")).unwrap();
        std::fs::write(&p, std::fs::read_to_string(&p).unwrap() + "\n## After\n").unwrap();
        write_section(&p, BEGIN, END, &format!("{BEGIN}\ntwo\n{END}\n")).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(
            text,
            format!("# Benchmarks\n\nintro\n\n{BEGIN}\ntwo\n{END}\n\n## After\n")
        );
    }

    #[test]
    fn sections_with_other_markers_are_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("B.md");
        let (b2, e2) = ("<!-- two: begin -->", "<!-- two: end -->");
        std::fs::write(
            &p,
            format!("# B\n\n{BEGIN}\none\n{END}\n\n{b2}\nold\n{e2}\n\ntail\n"),
        )
        .unwrap();
        write_section(&p, b2, e2, &format!("{b2}\nnew\n{e2}\n")).unwrap();
        write_section(&p, BEGIN, END, &format!("{BEGIN}\nuno\n{END}\n")).unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            format!("# B\n\n{BEGIN}\nuno\n{END}\n\n{b2}\nnew\n{e2}\n\ntail\n")
        );
    }
}
