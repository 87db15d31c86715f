//! The `cpu` and `stat` collectors: per-CPU times and the kernel counters of `/proc/stat`,
//! isolated CPUs and thermal throttle counts from `/sys/devices/system/cpu`.

use std::path::{Path, PathBuf};

use exposition::MetricType;

use crate::Family;
use crate::read::{FileBuf, lines, parse_u64};

/// `/proc/stat` counts CPU time in USER_HZ ticks, 100 per second on every Linux ABI that
/// node_exporter's procfs library supports (it hard-codes the same value).
const USER_HZ: f64 = 100.0;

/// CPU ids past this are not believed (and would size the clamp cache).
const MAX_CPUS: usize = 1 << 16;

/// node_exporter resets its clamp cache for a CPU whose idle time goes back this many seconds,
/// taking it for a hotplugged CPU.
const JUMP_BACK_SECONDS: f64 = 3.0;

const MODES: [&str; 8] = [
    "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
];
const IDLE: usize = 3;
const GUEST: usize = 8;
const GUEST_NICE: usize = 9;

/// One `cpuN` line in seconds: user nice system idle iowait irq softirq steal guest guest_nice.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct CpuTimes(pub [f64; 10]);

/// Parses a per-CPU line (`cpu3 1 2 3 …`); `None` for the `cpu` total line and anything else.
/// Missing trailing columns (older kernels) are 0.
pub(crate) fn parse_cpu_line(line: &str) -> Option<(usize, CpuTimes)> {
    let mut fields = line.split_ascii_whitespace();
    let id = fields.next()?.strip_prefix("cpu")?;
    let id = usize::try_from(parse_u64(id)?).ok().filter(|&id| id < MAX_CPUS)?;
    let mut times = CpuTimes::default();
    for (slot, field) in times.0.iter_mut().zip(fields) {
        *slot = parse_u64(field)? as f64 / USER_HZ;
    }
    Some((id, times))
}

/// The non-CPU lines of `/proc/stat` node_exporter's `stat` collector reports; 0 when absent,
/// as in node_exporter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct StatCounters {
    pub boot_time: u64,
    pub context_switches: u64,
    pub forks: u64,
    pub interrupts: u64,
    pub procs_running: u64,
    pub procs_blocked: u64,
}

pub(crate) fn parse_stat_counters(bytes: &[u8]) -> StatCounters {
    let mut c = StatCounters::default();
    for line in lines(bytes) {
        // Only the first number of each line is needed (`intr` is followed by one count per
        // interrupt, thousands on big machines).
        let mut fields = line.split_ascii_whitespace();
        let (Some(key), Some(value)) = (fields.next(), fields.next()) else {
            continue;
        };
        let slot = match key {
            "btime" => &mut c.boot_time,
            "ctxt" => &mut c.context_switches,
            "processes" => &mut c.forks,
            "intr" => &mut c.interrupts,
            "procs_running" => &mut c.procs_running,
            "procs_blocked" => &mut c.procs_blocked,
            _ => continue,
        };
        if let Some(v) = parse_u64(value) {
            *slot = v;
        }
    }
    c
}

/// The `stat` collector over `/proc/stat`'s bytes.
pub(crate) fn collect_stat(bytes: &[u8], out: &mut Vec<Family>) {
    let c = parse_stat_counters(bytes);
    use MetricType::{Counter, Gauge};
    out.push(Family::single(
        "node_boot_time_seconds",
        "Node boot time, in unixtime.",
        Gauge,
        c.boot_time as f64,
    ));
    out.push(Family::single(
        "node_context_switches_total",
        "Total number of context switches.",
        Counter,
        c.context_switches as f64,
    ));
    out.push(Family::single(
        "node_forks_total",
        "Total number of forks.",
        Counter,
        c.forks as f64,
    ));
    out.push(Family::single(
        "node_intr_total",
        "Total number of interrupts serviced.",
        Counter,
        c.interrupts as f64,
    ));
    out.push(Family::single(
        "node_procs_blocked",
        "Number of processes blocked waiting for I/O to complete.",
        Gauge,
        c.procs_blocked as f64,
    ));
    out.push(Family::single(
        "node_procs_running",
        "Number of processes in runnable state.",
        Gauge,
        c.procs_running as f64,
    ));
}

/// Parses a sysfs CPU list (`0-3,8,10-11`). Malformed or absurd ranges are skipped.
pub(crate) fn parse_cpu_list(s: &str) -> Vec<usize> {
    let mut cpus = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        let (lo, hi) = part.split_once('-').unwrap_or((part, part));
        let (Some(lo), Some(hi)) = (parse_u64(lo.trim()), parse_u64(hi.trim())) else {
            continue;
        };
        let (Ok(lo), Ok(hi)) = (usize::try_from(lo), usize::try_from(hi)) else {
            continue;
        };
        if lo <= hi && hi < MAX_CPUS {
            cpus.extend(lo..=hi);
        }
    }
    cpus
}

/// Which sysfs files hold the thermal throttle counters, found once per CPU count.
#[derive(Debug, Default)]
struct Throttle {
    /// For `/proc/stat`'s CPU count at the scan.
    cpus: usize,
    /// (package, core, `core_throttle_count` file), one per core.
    cores: Vec<(u64, u64, PathBuf)>,
    /// (package, `package_throttle_count` file), one per package.
    packages: Vec<(u64, PathBuf)>,
}

/// State the `cpu` collector keeps between collections.
#[derive(Debug, Default)]
pub(crate) struct CpuState {
    /// The last value reported per CPU id and mode, so counters never go backwards (the kernel's
    /// idle and iowait times can, a little).
    reported: Vec<Option<CpuTimes>>,
    lines: Vec<(usize, CpuTimes)>,
    /// Read at the first collection, like node_exporter reads it at start-up.
    isolated: Option<Vec<usize>>,
    throttle: Option<Throttle>,
}

impl CpuState {
    pub(crate) fn collect(
        &mut self,
        proc_stat: &[u8],
        sys_cpu: &Path,
        buf: &mut FileBuf,
        out: &mut Vec<Family>,
    ) {
        self.lines.clear();
        self.lines.extend(lines(proc_stat).filter_map(parse_cpu_line));

        let mut seconds = Family::new(
            "node_cpu_seconds_total",
            "Seconds the CPUs spent in each mode.",
            MetricType::Counter,
        );
        let mut guest = Family::new(
            "node_cpu_guest_seconds_total",
            "Seconds the CPUs spent in guests (VMs) for each mode.",
            MetricType::Counter,
        );
        seconds.samples.reserve(self.lines.len() * MODES.len());
        guest.samples.reserve(self.lines.len() * 2);
        for &(id, now) in &self.lines {
            if self.reported.len() <= id {
                self.reported.resize(id + 1, None);
            }
            let Some(slot) = self.reported.get_mut(id) else {
                continue;
            };
            let times = slot.get_or_insert_with(CpuTimes::default);
            clamp(times, &now);
            let cpu = id.to_string();
            for (mode, value) in MODES.iter().zip(times.0) {
                seconds.push(vec![("cpu", cpu.clone()), ("mode", (*mode).to_owned())], value);
            }
            guest.push(
                vec![("cpu", cpu.clone()), ("mode", "user".to_owned())],
                times.0[GUEST],
            );
            guest.push(
                vec![("cpu", cpu), ("mode", "nice".to_owned())],
                times.0[GUEST_NICE],
            );
        }
        out.push(seconds);
        out.push(guest);

        let isolated = self
            .isolated
            .get_or_insert_with(|| match buf.read(&sys_cpu.join("isolated")) {
                Ok(bytes) => crate::read::text(bytes).map(parse_cpu_list).unwrap_or_default(),
                Err(_) => Vec::new(),
            });
        let mut family = Family::new(
            "node_cpu_isolated",
            "Whether each core is isolated, information from /sys/devices/system/cpu/isolated.",
            MetricType::Gauge,
        );
        for cpu in isolated.iter() {
            family.push(vec![("cpu", cpu.to_string())], 1.0);
        }
        out.push(family);

        let cpus = self.lines.len();
        if self.throttle.as_ref().is_none_or(|t| t.cpus != cpus) {
            self.throttle = Some(scan_throttle(sys_cpu, cpus, buf));
        }
        if let Some(throttle) = &self.throttle {
            collect_throttle(throttle, buf, out);
        }
    }
}

/// node_exporter's rule: a counter that went down keeps its last value, unless idle went back
/// by several seconds, which means the CPU was replaced and everything starts over.
fn clamp(reported: &mut CpuTimes, now: &CpuTimes) {
    if reported.0[IDLE] - now.0[IDLE] >= JUMP_BACK_SECONDS {
        *reported = CpuTimes::default();
    }
    for (old, new) in reported.0.iter_mut().zip(now.0) {
        if new >= *old {
            *old = new;
        }
    }
}

fn read_u64(buf: &mut FileBuf, path: &Path) -> Option<u64> {
    let bytes = buf.read(path).ok()?;
    parse_u64(crate::read::text(bytes)?.trim())
}

fn scan_throttle(sys_cpu: &Path, cpus: usize, buf: &mut FileBuf) -> Throttle {
    let mut throttle = Throttle {
        cpus,
        ..Throttle::default()
    };
    let Ok(entries) = std::fs::read_dir(sys_cpu) else {
        return throttle;
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_prefix("cpu"))
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        })
        .map(|e| e.path())
        .collect();
    dirs.sort();
    for dir in dirs {
        let throttle_dir = dir.join("thermal_throttle");
        if !throttle_dir.is_dir() {
            continue;
        }
        let Some(package) = read_u64(buf, &dir.join("topology/physical_package_id")) else {
            continue;
        };
        let Some(core) = read_u64(buf, &dir.join("topology/core_id")) else {
            continue;
        };
        let core_file = throttle_dir.join("core_throttle_count");
        if core_file.is_file() && !throttle.cores.iter().any(|&(p, c, _)| p == package && c == core) {
            throttle.cores.push((package, core, core_file));
        }
        let package_file = throttle_dir.join("package_throttle_count");
        if package_file.is_file() && !throttle.packages.iter().any(|&(p, _)| p == package) {
            throttle.packages.push((package, package_file));
        }
    }
    throttle
}

fn collect_throttle(throttle: &Throttle, buf: &mut FileBuf, out: &mut Vec<Family>) {
    let mut cores = Family::new(
        "node_cpu_core_throttles_total",
        "Number of times this CPU core has been throttled.",
        MetricType::Counter,
    );
    for (package, core, path) in &throttle.cores {
        if let Some(count) = read_u64(buf, path) {
            cores.push(
                vec![("core", core.to_string()), ("package", package.to_string())],
                count as f64,
            );
        }
    }
    out.push(cores);
    let mut packages = Family::new(
        "node_cpu_package_throttles_total",
        "Number of times this CPU package has been throttled.",
        MetricType::Counter,
    );
    for (package, path) in &throttle.packages {
        if let Some(count) = read_u64(buf, path) {
            packages.push(vec![("package", package.to_string())], count as f64);
        }
    }
    out.push(packages);
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROC_STAT: &str = "\
cpu  3091824 0 251369 1085278 30651 0 10547 1616 0 0
cpu0 1468562 0 117571 635990 7436 0 4756 748 12 3
cpu1 1623262 5 133798 449288 23215 1 5791 868
intr 27568953 0 9 0 0 0
ctxt 46422263
btime 1795277226
processes 484759
procs_running 3
procs_blocked 1
softirq 123 4 5
";

    #[test]
    fn cpu_lines() {
        let parsed: Vec<_> = lines(PROC_STAT.as_bytes()).filter_map(parse_cpu_line).collect();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].0, 0);
        assert_eq!(parsed[0].1.0[0], 14685.62);
        assert_eq!(parsed[0].1.0[IDLE], 6359.9);
        assert_eq!(parsed[0].1.0[GUEST], 0.12);
        assert_eq!(parsed[0].1.0[GUEST_NICE], 0.03);
        // A short line from an old kernel: the missing columns are 0.
        assert_eq!(parsed[1].0, 1);
        assert_eq!(parsed[1].1.0[1], 0.05);
        assert_eq!(parsed[1].1.0[GUEST], 0.0);
    }

    #[test]
    fn odd_cpu_lines_are_skipped() {
        for line in ["cpu", "cpux 1 2", "cpu1 1 x 3", "cpu99999999 1", "cpu-1 1", ""] {
            assert_eq!(parse_cpu_line(line), None, "{line:?}");
        }
    }

    #[test]
    fn stat_counters() {
        let c = parse_stat_counters(PROC_STAT.as_bytes());
        assert_eq!(
            c,
            StatCounters {
                boot_time: 1795277226,
                context_switches: 46422263,
                forks: 484759,
                interrupts: 27568953,
                procs_running: 3,
                procs_blocked: 1,
            }
        );
        assert_eq!(parse_stat_counters(b"btime x\nctxt\n"), StatCounters::default());
    }

    #[test]
    fn clamping_follows_node_exporter() {
        let mut reported = CpuTimes::default();
        let mut now = CpuTimes::default();
        now.0[IDLE] = 100.0;
        now.0[0] = 10.0;
        clamp(&mut reported, &now);
        assert_eq!(reported, now);
        // A small step back is hidden.
        now.0[IDLE] = 99.0;
        now.0[0] = 11.0;
        clamp(&mut reported, &now);
        assert_eq!(reported.0[IDLE], 100.0);
        assert_eq!(reported.0[0], 11.0);
        // A big one means a new CPU: start over.
        now.0[IDLE] = 5.0;
        now.0[0] = 1.0;
        clamp(&mut reported, &now);
        assert_eq!(reported, now);
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-2,5,7-8\n"), [0, 1, 2, 5, 7, 8]);
        assert_eq!(parse_cpu_list("\n"), Vec::<usize>::new());
        assert_eq!(parse_cpu_list("3-1,x,0-4294967295,4"), [4]);
    }

    #[test]
    fn collect_from_fixture() {
        let mut state = CpuState::default();
        let mut out = Vec::new();
        let mut buf = FileBuf::default();
        state.collect(
            PROC_STAT.as_bytes(),
            Path::new("/nonexistent"),
            &mut buf,
            &mut out,
        );
        let seconds = &out[0];
        assert_eq!(seconds.name, "node_cpu_seconds_total");
        assert_eq!(seconds.samples.len(), 16);
        assert_eq!(
            seconds.samples[3].labels,
            [("cpu", "0".to_owned()), ("mode", "idle".to_owned())]
        );
        assert_eq!(seconds.samples[3].value, 6359.9);
        assert_eq!(out[1].samples.len(), 4);
        assert!(out[2..].iter().all(|f| f.samples.is_empty()));
    }
}
