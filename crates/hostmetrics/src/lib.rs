//! A built-in host collector: reads `/proc` and `/sys` directly and returns node_exporter's
//! metric families, with Debian's prometheus-node-exporter 1.5.0 names, types, HELP texts,
//! labels and default filters, so dashboards and alerts written for node_exporter work unchanged.
//! Meant for `pharos server` (a built-in scrape target) and the lightweight `pharos agent`, so a
//! collection is cheap: buffers are reused, filters are plain code, no regex.
//!
//! Does IO (it is the part of Pharos that reads the host) but knows nothing of storage,
//! scraping or HTTP: it returns [`Family`] values and renders them as text.
//!
//! Covered node_exporter collectors (the `collector` label of `node_scrape_collector_*`):
//!
//! | collector    | families | source |
//! |--------------|----------|--------|
//! | `cpu`        | `node_cpu_seconds_total`, `node_cpu_guest_seconds_total`, `node_cpu_isolated`, `node_cpu_{core,package}_throttles_total` | `/proc/stat`, `/sys/devices/system/cpu` |
//! | `diskstats`  | `node_disk_*` (17 counters/gauges, `node_disk_info`, and the udev-derived `filesystem_info`, `device_mapper_info`, `ata_*`) | `/proc/diskstats`, `/run/udev/data` |
//! | `filefd`     | `node_filefd_allocated`, `node_filefd_maximum` | `/proc/sys/fs/file-nr` |
//! | `filesystem` | `node_filesystem_{size,free,avail}_bytes`, `_files`, `_files_free`, `_readonly`, `_device_error` | `/proc/1/mounts`, `statfs(2)` |
//! | `loadavg`    | `node_load1`, `node_load5`, `node_load15` | `/proc/loadavg` |
//! | `meminfo`    | `node_memory_<field>[_bytes]`, one per `/proc/meminfo` line | `/proc/meminfo` |
//! | `netdev`     | `node_network_{receive,transmit}_*_total` | `/proc/net/dev`, `/sys/class/net/*/statistics/rx_nohandler` |
//! | `netstat`    | `node_netstat_<Proto>_<Field>` for node_exporter's default field list | `/proc/net/{netstat,snmp,snmp6}` |
//! | `stat`       | `node_boot_time_seconds`, `node_context_switches_total`, `node_forks_total`, `node_intr_total`, `node_procs_{running,blocked}` | `/proc/stat` |
//! | `time`       | `node_time_seconds`, `node_time_zone_offset_seconds`, `node_time_clocksource_{available,current}_info` | clock, `localtime_r(3)`, `/sys/devices/system/clocksource` |
//! | `uname`      | `node_uname_info` | `uname(2)` |
//!
//! plus `node_scrape_collector_success` and `node_scrape_collector_duration_seconds` for each.
//! A collector that fails (a file is missing, say) reports success 0 and does not stop the others;
//! the reason is kept in [`Collector::last_errors`].
//!
//! Differences from node_exporter 1.5, all deliberate:
//!
//! - The filters are node_exporter's defaults, fixed (Debian's mount-point list, which adds
//!   `/run`, `/mnt` and `/media` to upstream's); there are no flags to change them.
//! - A malformed line in a kernel file is skipped; node_exporter fails the whole collector.
//! - `statfs` runs on a helper thread, and one collection waits for it at most
//!   [`Options::mount_timeout`] in all: the mount point that does not answer is reported as
//!   `node_filesystem_device_error 1` and skipped until its call returns, the ones after it get
//!   `device_error 1` for that collection only. node_exporter 1.5 blocks the scrape on a hung
//!   mount point and skips it afterwards.
//! - Receive/transmit counters come from `/proc/net/dev` (plus sysfs for `receive_nohandler`)
//!   instead of netlink; the kernel computes the `/proc/net/dev` columns exactly as
//!   node_exporter's netlink code folds the detailed counters, so the values are the same.
//!   `node_network_receive_nohandler_total` is left out for a device whose sysfs file is missing.
//! - `node_cpu_*` covers the CPUs present in `/proc/stat` now; node_exporter keeps exporting an
//!   unplugged CPU's last values. The CPU topology behind the throttle counters is read once (and
//!   again when the number of CPUs changes), not at every scrape.
//! - `/proc/stat` is read once per collection for `cpu` and `stat` together, so `stat`'s
//!   `node_scrape_collector_duration_seconds` leaves the read out.
//! - Samples keep the kernel's order within a family (node_exporter sorts by label values);
//!   families are sorted by name as node_exporter does.

mod cpu;
mod diskstats;
mod error;
mod filesystem;
mod meminfo;
mod netdev;
mod netstat;
mod read;
mod sys;
mod system;

use std::borrow::Cow;
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use error::{Error, Result};
pub use exposition::MetricType;

use crate::read::FileBuf;

/// Where the host's files are, as node_exporter's `--path.*` flags say.
#[derive(Debug, Clone)]
pub struct Options {
    /// procfs mount point (`--path.procfs`).
    pub proc_path: PathBuf,
    /// sysfs mount point (`--path.sysfs`).
    pub sys_path: PathBuf,
    /// The host's root as this process sees it (`--path.rootfs`): mount points are `statfs`'d
    /// under it and reported with it stripped, so a containerised agent can watch the host.
    pub root_path: PathBuf,
    /// udev's device database (`--path.udev.data`), for `node_disk_info`'s labels.
    pub udev_data_path: PathBuf,
    /// How long `statfs` may take before its mount point counts as stuck
    /// (`--collector.filesystem.mount-timeout`).
    pub mount_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            proc_path: PathBuf::from("/proc"),
            sys_path: PathBuf::from("/sys"),
            root_path: PathBuf::from("/"),
            udev_data_path: PathBuf::from("/run/udev/data"),
            mount_timeout: Duration::from_secs(5),
        }
    }
}

/// One metric family: a name, its HELP and TYPE, and its samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub name: Cow<'static, str>,
    pub help: Cow<'static, str>,
    pub kind: MetricType,
    pub samples: Vec<Sample>,
}

/// One sample. `labels` excludes `__name__` and is sorted by label name, the order node_exporter
/// writes them in.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Vec<(&'static str, String)>,
    pub value: f64,
}

impl Family {
    pub(crate) fn new(
        name: impl Into<Cow<'static, str>>,
        help: impl Into<Cow<'static, str>>,
        kind: MetricType,
    ) -> Self {
        Self {
            name: name.into(),
            help: help.into(),
            kind,
            samples: Vec::new(),
        }
    }

    /// A family with one unlabelled sample.
    pub(crate) fn single(
        name: impl Into<Cow<'static, str>>,
        help: impl Into<Cow<'static, str>>,
        kind: MetricType,
        value: f64,
    ) -> Self {
        let mut family = Self::new(name, help, kind);
        family.push(Vec::new(), value);
        family
    }

    pub(crate) fn push(&mut self, labels: Vec<(&'static str, String)>, value: f64) {
        self.samples.push(Sample { labels, value });
    }
}

/// The node_exporter collectors this crate implements, in the order they run.
pub const COLLECTORS: [&str; 11] = [
    "cpu",
    "diskstats",
    "filefd",
    "filesystem",
    "loadavg",
    "meminfo",
    "netdev",
    "netstat",
    "stat",
    "time",
    "uname",
];

type CollectFn = fn(&mut Collector, &mut Vec<Family>) -> Result<()>;

/// The collector behind each name of [`COLLECTORS`]. `cpu` runs before `stat`, which reuses the
/// `/proc/stat` bytes `cpu` read.
const RUN_ORDER: [(&str, CollectFn); 11] = [
    ("cpu", Collector::collect_cpu),
    ("diskstats", Collector::collect_diskstats),
    ("filefd", Collector::collect_filefd),
    ("filesystem", Collector::collect_filesystem),
    ("loadavg", Collector::collect_loadavg),
    ("meminfo", Collector::collect_meminfo),
    ("netdev", Collector::collect_netdev),
    ("netstat", Collector::collect_netstat),
    ("stat", Collector::collect_stat),
    ("time", Collector::collect_time),
    ("uname", Collector::collect_uname),
];

/// Paths that do not change between collections, joined once.
#[derive(Debug)]
struct Paths {
    proc_stat: PathBuf,
    meminfo: PathBuf,
    loadavg: PathBuf,
    file_nr: PathBuf,
    diskstats: PathBuf,
    net_dev: PathBuf,
    net_netstat: PathBuf,
    net_snmp: PathBuf,
    net_snmp6: PathBuf,
    init_mounts: PathBuf,
    mounts: PathBuf,
    sys_cpu: PathBuf,
    sys_net: PathBuf,
    sys_clocksource: PathBuf,
}

impl Paths {
    fn new(opts: &Options) -> Self {
        let proc = |p: &str| opts.proc_path.join(p);
        let sys = |p: &str| opts.sys_path.join(p);
        Self {
            proc_stat: proc("stat"),
            meminfo: proc("meminfo"),
            loadavg: proc("loadavg"),
            file_nr: proc("sys/fs/file-nr"),
            diskstats: proc("diskstats"),
            net_dev: proc("net/dev"),
            net_netstat: proc("net/netstat"),
            net_snmp: proc("net/snmp"),
            net_snmp6: proc("net/snmp6"),
            init_mounts: proc("1/mounts"),
            mounts: proc("mounts"),
            sys_cpu: sys("devices/system/cpu"),
            sys_net: sys("class/net"),
            sys_clocksource: sys("devices/system/clocksource"),
        }
    }
}

/// Collects host metrics. Holds the read buffers, the compiled-in filters and the little state
/// node_exporter keeps between scrapes (CPU counter clamping, stuck mount points), so keep one
/// and call [`Collector::collect`] at every interval.
#[derive(Debug)]
pub struct Collector {
    paths: Paths,
    /// Shared scratch buffer for files parsed while nothing else is borrowed from it.
    buf: FileBuf,
    /// `/proc/stat`, kept from `cpu` for `stat`; `stat_len` is `None` when `cpu` could not read it.
    stat_buf: FileBuf,
    stat_len: Option<usize>,
    cpu: cpu::CpuState,
    disk: diskstats::DiskState,
    fs: filesystem::FsState,
    net: netdev::NetDevState,
    time: system::TimeState,
    errors: Vec<(&'static str, Error)>,
    families_hint: usize,
}

impl Collector {
    /// Does no IO: files are opened at the first [`Collector::collect`].
    pub fn new(opts: Options) -> Self {
        Self {
            paths: Paths::new(&opts),
            buf: FileBuf::with_capacity(32 << 10),
            stat_buf: FileBuf::with_capacity(8 << 10),
            stat_len: None,
            cpu: cpu::CpuState::default(),
            disk: diskstats::DiskState::new(opts.udev_data_path.clone()),
            fs: filesystem::FsState::new(&opts.root_path, opts.mount_timeout),
            net: netdev::NetDevState::default(),
            time: system::TimeState::default(),
            errors: Vec::new(),
            families_hint: 64,
        }
    }

    /// Runs every collector once and returns the families sorted by name, including
    /// `node_scrape_collector_success` and `node_scrape_collector_duration_seconds`.
    /// Families without samples are left out.
    pub fn collect(&mut self) -> Vec<Family> {
        let mut out = Vec::with_capacity(self.families_hint);
        self.errors.clear();
        self.stat_len = None;
        let mut success = Family::new(
            "node_scrape_collector_success",
            "node_exporter: Whether a collector succeeded.",
            MetricType::Gauge,
        );
        let mut duration = Family::new(
            "node_scrape_collector_duration_seconds",
            "node_exporter: Duration of a collector scrape.",
            MetricType::Gauge,
        );
        for (name, run) in RUN_ORDER {
            let start = Instant::now();
            let result = run(self, &mut out);
            let elapsed = start.elapsed().as_secs_f64();
            let ok = match result {
                Ok(()) => 1.0,
                Err(e) => {
                    self.errors.push((name, e));
                    0.0
                }
            };
            duration.push(vec![("collector", name.to_owned())], elapsed);
            success.push(vec![("collector", name.to_owned())], ok);
        }
        out.push(duration);
        out.push(success);
        out.retain(|f| !f.samples.is_empty());
        // Stable, so when a name comes twice (a kernel file repeating a section) the first wins.
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out.dedup_by(|later, earlier| later.name == earlier.name);
        self.families_hint = out.len();
        out
    }

    /// Why collectors failed in the last [`Collector::collect`], by collector name.
    pub fn last_errors(&self) -> &[(&'static str, Error)] {
        &self.errors
    }

    fn collect_cpu(&mut self, out: &mut Vec<Family>) -> Result<()> {
        let len = self.stat_buf.read(&self.paths.proc_stat)?.len();
        self.stat_len = Some(len);
        let bytes = self.stat_buf.bytes(len);
        self.cpu.collect(bytes, &self.paths.sys_cpu, &mut self.buf, out);
        Ok(())
    }

    fn collect_stat(&mut self, out: &mut Vec<Family>) -> Result<()> {
        let len = match self.stat_len {
            Some(len) => len,
            None => self.stat_buf.read(&self.paths.proc_stat)?.len(),
        };
        cpu::collect_stat(self.stat_buf.bytes(len), out);
        Ok(())
    }

    fn collect_diskstats(&mut self, out: &mut Vec<Family>) -> Result<()> {
        let bytes = self.buf.read(&self.paths.diskstats)?;
        self.disk.collect(bytes, out);
        Ok(())
    }

    fn collect_filefd(&mut self, out: &mut Vec<Family>) -> Result<()> {
        let bytes = self.buf.read(&self.paths.file_nr)?;
        system::collect_filefd(bytes, &self.paths.file_nr, out)
    }

    fn collect_filesystem(&mut self, out: &mut Vec<Family>) -> Result<()> {
        let len = match self.buf.read(&self.paths.init_mounts) {
            Ok(bytes) => bytes.len(),
            Err(Error::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                self.buf.read(&self.paths.mounts)?.len()
            }
            Err(e) => return Err(e),
        };
        self.fs.collect(self.buf.bytes(len), out);
        Ok(())
    }

    fn collect_loadavg(&mut self, out: &mut Vec<Family>) -> Result<()> {
        let bytes = self.buf.read(&self.paths.loadavg)?;
        system::collect_loadavg(bytes, &self.paths.loadavg, out)
    }

    fn collect_meminfo(&mut self, out: &mut Vec<Family>) -> Result<()> {
        let bytes = self.buf.read(&self.paths.meminfo)?;
        meminfo::collect(bytes, out);
        Ok(())
    }

    fn collect_netdev(&mut self, out: &mut Vec<Family>) -> Result<()> {
        let bytes = self.buf.read(&self.paths.net_dev)?;
        self.net.collect(bytes, &self.paths.sys_net, out);
        Ok(())
    }

    fn collect_netstat(&mut self, out: &mut Vec<Family>) -> Result<()> {
        let mut key = String::new();
        let bytes = self.buf.read(&self.paths.net_netstat)?;
        netstat::collect_pairs(bytes, &mut key, out);
        let bytes = self.buf.read(&self.paths.net_snmp)?;
        netstat::collect_pairs(bytes, &mut key, out);
        // Without IPv6 the file does not exist, which node_exporter does not count as a failure.
        match self.buf.read(&self.paths.net_snmp6) {
            Ok(bytes) => netstat::collect_snmp6(bytes, &mut key, out),
            Err(Error::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(())
    }

    fn collect_time(&mut self, out: &mut Vec<Family>) -> Result<()> {
        self.time.collect(&self.paths.sys_clocksource, &mut self.buf, out)
    }

    fn collect_uname(&mut self, out: &mut Vec<Family>) -> Result<()> {
        system::collect_uname(out)
    }
}

/// Appends `families` in the Prometheus text format 0.0.4 (HELP, TYPE, then the samples, no
/// timestamps). Families without samples are skipped.
pub fn render_text(families: &[Family], out: &mut String) {
    let mut labels: Vec<(&str, &str)> = Vec::new();
    for family in families {
        if family.samples.is_empty() {
            continue;
        }
        exposition::write_help(out, &family.name, &family.help);
        exposition::write_type(out, &family.name, family.kind);
        for sample in &family.samples {
            labels.clear();
            labels.extend(sample.labels.iter().map(|(k, v)| (*k, v.as_str())));
            exposition::write_sample(out, &family.name, &labels, sample.value, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn collectors_are_listed_in_run_order() {
        let run: Vec<&str> = RUN_ORDER.iter().map(|(name, _)| *name).collect();
        assert_eq!(run, COLLECTORS);
    }

    #[test]
    fn collector_can_move_to_another_thread() {
        fn send<T: Send>() {}
        send::<Collector>();
    }

    #[test]
    fn collect_twice_on_this_host() {
        let mut collector = Collector::new(Options::default());
        for _ in 0..2 {
            let families = collector.collect();
            let success = families
                .iter()
                .find(|f| f.name == "node_scrape_collector_success")
                .expect("success family");
            assert_eq!(success.samples.len(), COLLECTORS.len());
            let names: Vec<&str> = families.iter().map(|f| f.name.as_ref()).collect();
            let mut sorted = names.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(names, sorted, "families sorted and unique");
            for family in &families {
                assert!(exposition::is_metric_name(&family.name), "{}", family.name);
                for sample in &family.samples {
                    let mut names: Vec<&str> = sample.labels.iter().map(|(k, _)| *k).collect();
                    let unsorted = names.clone();
                    names.sort_unstable();
                    assert_eq!(unsorted, names, "labels of {} sorted", family.name);
                }
            }
            let mut text = String::new();
            render_text(&families, &mut text);
            for (line, item) in exposition::parse_text(text.as_bytes()) {
                item.unwrap_or_else(|e| panic!("line {line}: {e}"));
            }
        }
    }

    /// Every parser over truncated and scrambled copies of this host's files, and random bytes:
    /// none may panic.
    #[test]
    fn parsers_survive_odd_input() {
        let mut inputs: Vec<Vec<u8>> = Vec::new();
        for file in [
            "stat",
            "meminfo",
            "loadavg",
            "sys/fs/file-nr",
            "diskstats",
            "net/dev",
            "net/netstat",
            "net/snmp",
            "net/snmp6",
            "1/mounts",
        ] {
            let Ok(bytes) = std::fs::read(Path::new("/proc").join(file)) else {
                continue;
            };
            for cut in (0..bytes.len()).step_by(bytes.len() / 97 + 1) {
                inputs.push(bytes[..cut].to_vec());
                let mut scrambled = bytes.clone();
                scrambled[cut] = [b' ', b'\n', b':', b'-', b'9', 0xff][cut % 6];
                inputs.push(scrambled);
            }
        }
        const ALPHABET: &[u8] = b"0123456789 :\n\tabcdefcpu()-_,\\\xff";
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..200 {
            let len = (seed % 300) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    ALPHABET[(seed % ALPHABET.len() as u64) as usize]
                })
                .collect();
            inputs.push(bytes);
        }
        let mut cpu = cpu::CpuState::default();
        let mut disk = diskstats::DiskState::new(PathBuf::from("/nonexistent"));
        let mut net = netdev::NetDevState::default();
        let mut buf = FileBuf::default();
        let none = Path::new("/nonexistent");
        for input in &inputs {
            let mut out = Vec::new();
            cpu.collect(input, none, &mut buf, &mut out);
            cpu::collect_stat(input, &mut out);
            meminfo::collect(input, &mut out);
            disk.collect(input, &mut out);
            net.collect(input, none, &mut out);
            let mut key = String::new();
            netstat::collect_pairs(input, &mut key, &mut out);
            netstat::collect_snmp6(input, &mut key, &mut out);
            let _ = system::collect_loadavg(input, none, &mut out);
            let _ = system::collect_filefd(input, none, &mut out);
            let _ = read::lines(input).filter_map(filesystem::parse_mount).count();
            let _ = read::text(input).map(cpu::parse_cpu_list);
            let _ = read::text(input).map(diskstats::parse_udev);
        }
    }

    #[test]
    fn failing_collectors_report_zero_and_do_not_stop_others() {
        let root = std::env::temp_dir().join(format!("hostmetrics-fake-{}", std::process::id()));
        let proc = root.join("proc");
        std::fs::create_dir_all(&proc).unwrap();
        std::fs::write(proc.join("loadavg"), "0.50 1.00 1.50 1/100 42\n").unwrap();
        std::fs::write(
            proc.join("meminfo"),
            "MemTotal: 1 kB\nbogus line\nActive(anon): 2 kB\n",
        )
        .unwrap();
        let mut collector = Collector::new(Options {
            proc_path: proc,
            sys_path: root.join("sys"),
            root_path: root.clone(),
            udev_data_path: root.join("udev"),
            mount_timeout: Duration::from_secs(1),
        });
        let families = collector.collect();
        let value = |name: &str, collector: Option<&str>| -> f64 {
            let family = families.iter().find(|f| f.name == name).expect(name);
            family
                .samples
                .iter()
                .find(|s| collector.is_none_or(|c| s.labels.first().is_some_and(|(_, v)| v == c)))
                .expect(name)
                .value
        };
        assert_eq!(value("node_load5", None), 1.0);
        assert_eq!(value("node_memory_MemTotal_bytes", None), 1024.0);
        assert_eq!(value("node_memory_Active_anon_bytes", None), 2048.0);
        assert_eq!(value("node_scrape_collector_success", Some("loadavg")), 1.0);
        assert_eq!(value("node_scrape_collector_success", Some("meminfo")), 1.0);
        // Like node_exporter's globs, a missing sysfs directory just means nothing to report.
        assert_eq!(value("node_scrape_collector_success", Some("time")), 1.0);
        assert_eq!(value("node_scrape_collector_success", Some("uname")), 1.0);
        for failed in [
            "cpu",
            "stat",
            "diskstats",
            "filefd",
            "filesystem",
            "netdev",
            "netstat",
        ] {
            assert_eq!(
                value("node_scrape_collector_success", Some(failed)),
                0.0,
                "{failed}"
            );
            assert!(
                collector.last_errors().iter().any(|(name, _)| *name == failed),
                "{failed}"
            );
        }
        std::fs::remove_dir_all(&root).unwrap();
    }
}
