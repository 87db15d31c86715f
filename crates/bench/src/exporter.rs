//! The targets of `pharos bench scrape`: an exporter inside the bench process that serves
//! node_exporter-like bodies on many ports, one target per port, so that the servers under test
//! scrape real HTTP targets while the cost of producing the bodies stays out of their processes.
//!
//! Every target exposes the same series (node_exporter's families, sorted by name, with its HELP and
//! TYPE lines and Go's float formatting), with values of its own: counters grow and gauges move at
//! every scrape. Each scraper (told apart by its `User-Agent`) gets the target's bodies in sequence:
//! its n-th scrape of a target returns the target's n-th body, the same bytes whichever server asks,
//! so both servers ingest the same data and each body is rendered once. Bodies are gzip-compressed
//! when the request accepts it, as the Go client library does.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use anyhow::Context;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Serialize;

use crate::fleet::Rng;

/// How a series' value moves from one scrape to the next. Levels and rates are drawn per series
/// (log-uniform between `lo` and `hi`); values are multiples of `step`.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// Grows by `rate × interval` per scrape on average (between 0 and twice that), `rate` per second.
    Counter { step: f64, lo: f64, hi: f64 },
    /// Moves within 5 % of a level of its own at every scrape.
    Gauge { step: f64, lo: f64, hi: f64 },
    /// A level that never changes: sizes, limits, the boot time.
    Const { step: f64, lo: f64, hi: f64 },
}

use Shape::{Const, Counter, Gauge};

const fn counter(step: f64, lo: f64, hi: f64) -> Shape {
    Counter { step, lo, hi }
}

const fn gauge(step: f64, lo: f64, hi: f64) -> Shape {
    Gauge { step, lo, hi }
}

const fn constant(step: f64, lo: f64, hi: f64) -> Shape {
    Const { step, lo, hi }
}

/// Always 1: info metrics and success flags.
const ONE: Shape = constant(1.0, 1.0, 1.0);
/// Always 0: error flags, read-only flags, unused huge pages.
const ZERO: Shape = constant(1.0, 0.0, 0.0);
/// Error, drop and discard counters of a busy host: a few events per second, so that they too
/// change at almost every scrape (on a quiet host most of them stay 0).
const EVENTS: Shape = counter(1.0, 0.5, 5.0);
/// Kernel memory figures: whole kilobytes, as /proc/meminfo reports them.
const KB: f64 = 1024.0;
/// Durations measured in nanoseconds and reported in seconds.
const NS: f64 = 1e-9;
/// Filesystem blocks.
const BLOCK: f64 = 4096.0;

struct Family {
    name: String,
    help: &'static str,
    kind: &'static str,
    shape: Shape,
    /// Each series' labels as written, `{a="x",b="y"}`, or empty.
    series: Vec<String>,
}

fn family(name: impl Into<String>, help: &'static str, kind: &'static str, shape: Shape) -> Family {
    Family {
        name: name.into(),
        help,
        kind,
        shape,
        series: vec![String::new()],
    }
}

fn labeled(
    name: impl Into<String>,
    help: &'static str,
    kind: &'static str,
    shape: Shape,
    series: Vec<String>,
) -> Family {
    Family {
        series,
        ..family(name, help, kind, shape)
    }
}

/// `{a="x",b="y"}` from pairs whose values need no escaping.
fn labels(pairs: &[(&str, &str)]) -> String {
    let inner: Vec<String> = pairs.iter().map(|(n, v)| format!("{n}=\"{v}\"")).collect();
    format!("{{{}}}", inner.join(","))
}

const COLLECTORS: [&str; 45] = [
    "arp",
    "bcache",
    "bonding",
    "btrfs",
    "conntrack",
    "cpu",
    "cpufreq",
    "diskstats",
    "dmi",
    "edac",
    "entropy",
    "fibrechannel",
    "filefd",
    "filesystem",
    "hwmon",
    "infiniband",
    "ipvs",
    "loadavg",
    "mdadm",
    "meminfo",
    "netclass",
    "netdev",
    "netstat",
    "nfs",
    "nfsd",
    "nvme",
    "os",
    "powersupplyclass",
    "pressure",
    "rapl",
    "schedstat",
    "selinux",
    "sockstat",
    "softnet",
    "stat",
    "tapestats",
    "textfile",
    "thermal_zone",
    "time",
    "timex",
    "udp_queues",
    "uname",
    "vmstat",
    "xfs",
    "zfs",
];

/// node_exporter's meminfo gauges (without `node_memory_`), and whether each is fixed for a host.
const MEMINFO: [(&str, bool); 51] = [
    ("Active_anon_bytes", false),
    ("Active_bytes", false),
    ("Active_file_bytes", false),
    ("AnonHugePages_bytes", false),
    ("AnonPages_bytes", false),
    ("Bounce_bytes", true),
    ("Buffers_bytes", false),
    ("Cached_bytes", false),
    ("CommitLimit_bytes", true),
    ("Committed_AS_bytes", false),
    ("DirectMap1G_bytes", true),
    ("DirectMap2M_bytes", true),
    ("DirectMap4k_bytes", true),
    ("Dirty_bytes", false),
    ("FileHugePages_bytes", true),
    ("FilePmdMapped_bytes", true),
    ("HardwareCorrupted_bytes", true),
    ("HugePages_Free", true),
    ("HugePages_Rsvd", true),
    ("HugePages_Surp", true),
    ("HugePages_Total", true),
    ("Hugepagesize_bytes", true),
    ("Hugetlb_bytes", true),
    ("Inactive_anon_bytes", false),
    ("Inactive_bytes", false),
    ("Inactive_file_bytes", false),
    ("KReclaimable_bytes", false),
    ("KernelStack_bytes", false),
    ("Mapped_bytes", false),
    ("MemAvailable_bytes", false),
    ("MemFree_bytes", false),
    ("MemTotal_bytes", true),
    ("Mlocked_bytes", true),
    ("NFS_Unstable_bytes", true),
    ("PageTables_bytes", false),
    ("Percpu_bytes", true),
    ("SReclaimable_bytes", false),
    ("SUnreclaim_bytes", false),
    ("ShmemHugePages_bytes", true),
    ("ShmemPmdMapped_bytes", true),
    ("Shmem_bytes", false),
    ("Slab_bytes", false),
    ("SwapCached_bytes", false),
    ("SwapFree_bytes", false),
    ("SwapTotal_bytes", true),
    ("Unevictable_bytes", true),
    ("VmallocChunk_bytes", true),
    ("VmallocTotal_bytes", true),
    ("VmallocUsed_bytes", false),
    ("WritebackTmp_bytes", true),
    ("Writeback_bytes", false),
];

const NETSTAT: [&str; 30] = [
    "Icmp6_InErrors",
    "Icmp6_InMsgs",
    "Icmp6_OutMsgs",
    "Icmp_InErrors",
    "Icmp_InMsgs",
    "Icmp_OutMsgs",
    "Ip6_InOctets",
    "Ip6_OutOctets",
    "IpExt_InOctets",
    "IpExt_OutOctets",
    "Ip_Forwarding",
    "TcpExt_ListenDrops",
    "TcpExt_ListenOverflows",
    "TcpExt_SyncookiesFailed",
    "TcpExt_SyncookiesRecv",
    "TcpExt_SyncookiesSent",
    "TcpExt_TCPSynRetrans",
    "TcpExt_TCPTimeouts",
    "Tcp_ActiveOpens",
    "Tcp_CurrEstab",
    "Tcp_InErrs",
    "Tcp_InSegs",
    "Tcp_OutRsts",
    "Tcp_OutSegs",
    "Tcp_PassiveOpens",
    "Tcp_RetransSegs",
    "Udp6_InDatagrams",
    "Udp6_OutDatagrams",
    "Udp_InDatagrams",
    "Udp_OutDatagrams",
];

const SOCKSTAT: [&str; 12] = [
    "FRAG6_inuse",
    "FRAG_inuse",
    "RAW6_inuse",
    "RAW_inuse",
    "TCP6_inuse",
    "TCP_alloc",
    "TCP_inuse",
    "TCP_mem_bytes",
    "TCP_orphan",
    "TCP_tw",
    "UDP_inuse",
    "sockets_used",
];

/// Families every host has, whatever its size: 243 series.
fn fixed_families() -> Vec<Family> {
    let mut f = Vec::new();
    let quantiles = ["0", "0.25", "0.5", "0.75", "1"];
    f.push(labeled(
        "go_gc_duration_seconds",
        "A summary of the pause duration of garbage collection cycles.",
        "summary",
        gauge(NS, 2e-5, 3e-3),
        quantiles.iter().map(|q| labels(&[("quantile", q)])).collect(),
    ));
    // A summary's `_sum` and `_count` follow its quantiles under the same TYPE line; they are kept
    // as families of their own here, with no HELP or TYPE (see `Template::new`).
    f.push(family(
        "go_gc_duration_seconds_sum",
        "",
        "",
        counter(NS, 1e-4, 1e-3),
    ));
    f.push(family(
        "go_gc_duration_seconds_count",
        "",
        "",
        counter(1.0, 0.05, 0.5),
    ));
    f.push(family(
        "go_goroutines",
        "Number of goroutines that currently exist.",
        "gauge",
        gauge(1.0, 7.0, 12.0),
    ));
    f.push(labeled(
        "go_info",
        "Information about the Go environment.",
        "gauge",
        ONE,
        vec![labels(&[("version", "go1.21.4")])],
    ));
    let memstats: [(&str, Shape); 23] = [
        ("alloc_bytes", gauge(1.0, 2e6, 6e6)),
        ("alloc_bytes_total", counter(1.0, 5e5, 3e6)),
        ("buck_hash_sys_bytes", constant(1.0, 1.4e6, 1.6e6)),
        ("frees_total", counter(1.0, 3e3, 3e4)),
        ("gc_sys_bytes", gauge(1.0, 4e6, 6e6)),
        ("heap_alloc_bytes", gauge(1.0, 2e6, 6e6)),
        ("heap_idle_bytes", gauge(8192.0, 2e6, 8e6)),
        ("heap_inuse_bytes", gauge(8192.0, 4e6, 8e6)),
        ("heap_objects", gauge(1.0, 1e4, 4e4)),
        ("heap_released_bytes", gauge(8192.0, 1e6, 4e6)),
        ("heap_sys_bytes", gauge(8192.0, 1.1e7, 1.3e7)),
        ("last_gc_time_seconds", counter(0.0, 0.5, 1.0)),
        ("lookups_total", ZERO),
        ("mallocs_total", counter(1.0, 3e3, 3e4)),
        ("mcache_inuse_bytes", constant(1.0, 4800.0, 9600.0)),
        ("mcache_sys_bytes", constant(1.0, 15600.0, 15600.0)),
        ("mspan_inuse_bytes", gauge(1.0, 1e5, 2e5)),
        ("mspan_sys_bytes", gauge(1.0, 1.5e5, 2.5e5)),
        ("next_gc_bytes", gauge(1.0, 4e6, 8e6)),
        ("other_sys_bytes", gauge(1.0, 5e5, 1.5e6)),
        ("stack_inuse_bytes", gauge(8192.0, 5e5, 9e5)),
        ("stack_sys_bytes", gauge(8192.0, 5e5, 9e5)),
        ("sys_bytes", gauge(1.0, 1.8e7, 2.4e7)),
    ];
    for (name, shape) in memstats {
        let kind = if name.ends_with("_total") {
            "counter"
        } else {
            "gauge"
        };
        f.push(family(
            format!("go_memstats_{name}"),
            "Go runtime memory statistics, from runtime.ReadMemStats.",
            kind,
            shape,
        ));
    }
    f.push(family(
        "go_threads",
        "Number of OS threads created.",
        "gauge",
        constant(1.0, 6.0, 14.0),
    ));
    let stat: [(&str, &'static str, &'static str, Shape); 6] = [
        (
            "node_boot_time_seconds",
            "Node boot time, in unixtime.",
            "gauge",
            constant(1.0, 1.69e9, 1.7e9),
        ),
        (
            "node_context_switches_total",
            "Total number of context switches.",
            "counter",
            counter(1.0, 1e3, 1e5),
        ),
        (
            "node_forks_total",
            "Total number of forks.",
            "counter",
            counter(1.0, 1.0, 50.0),
        ),
        (
            "node_intr_total",
            "Total number of interrupts serviced.",
            "counter",
            counter(1.0, 1e3, 5e4),
        ),
        (
            "node_procs_blocked",
            "Number of processes blocked waiting for I/O to complete.",
            "gauge",
            gauge(1.0, 0.5, 3.0),
        ),
        (
            "node_procs_running",
            "Number of processes in runnable state.",
            "gauge",
            gauge(1.0, 1.0, 8.0),
        ),
    ];
    for (name, help, kind, shape) in stat {
        f.push(family(name, help, kind, shape));
    }
    f.push(family(
        "node_entropy_available_bits",
        "Bits of available entropy.",
        "gauge",
        constant(1.0, 256.0, 256.0),
    ));
    f.push(family(
        "node_filefd_allocated",
        "File descriptor statistics: allocated.",
        "gauge",
        gauge(1.0, 1e3, 2e4),
    ));
    f.push(family(
        "node_filefd_maximum",
        "File descriptor statistics: maximum.",
        "gauge",
        constant(1.0, 9.223372036854776e18, 9.223372036854776e18),
    ));
    for (name, lo, hi) in [("1", 0.1, 4.0), ("15", 0.1, 3.0), ("5", 0.1, 3.5)] {
        f.push(family(
            format!("node_load{name}"),
            "Load average.",
            "gauge",
            gauge(0.01, lo, hi),
        ));
    }
    for (name, fixed) in MEMINFO {
        let shape = match (fixed, name.starts_with("HugePages") || name.contains("Hardware")) {
            (_, true) => ZERO,
            (true, false) => constant(KB, 1e6, 3e10),
            (false, false) => gauge(KB, 1e6, 1e10),
        };
        f.push(family(
            format!("node_memory_{name}"),
            "Memory information field from /proc/meminfo.",
            "gauge",
            shape,
        ));
    }
    for name in NETSTAT {
        let shape = if name.contains("Octets") {
            counter(1.0, 1e4, 1e7)
        } else if name == "Tcp_CurrEstab" || name == "Ip_Forwarding" {
            gauge(1.0, 1.0, 200.0)
        } else {
            counter(1.0, 0.1, 1e3)
        };
        f.push(family(
            format!("node_netstat_{name}"),
            "Statistic from /proc/net/netstat or /proc/net/snmp.",
            "untyped",
            shape,
        ));
    }
    f.push(labeled(
        "node_scrape_collector_duration_seconds",
        "node_exporter: Duration of a collector scrape.",
        "gauge",
        gauge(NS, 1e-5, 5e-2),
        COLLECTORS.iter().map(|c| labels(&[("collector", c)])).collect(),
    ));
    f.push(labeled(
        "node_scrape_collector_success",
        "node_exporter: Whether a collector succeeded.",
        "gauge",
        ONE,
        COLLECTORS.iter().map(|c| labels(&[("collector", c)])).collect(),
    ));
    for name in SOCKSTAT {
        f.push(family(
            format!("node_sockstat_{name}"),
            "Number of sockets in the state, from /proc/net/sockstat.",
            "gauge",
            gauge(1.0, 1.0, 500.0),
        ));
    }
    f.push(family(
        "node_time_seconds",
        "System time in seconds since epoch (1970).",
        "gauge",
        counter(0.0, 1.0, 1.0),
    ));
    f.push(labeled(
        "node_uname_info",
        "Labeled system information as provided by the uname system call.",
        "gauge",
        ONE,
        vec![labels(&[
            ("domainname", "(none)"),
            ("machine", "x86_64"),
            ("nodename", "bench-host"),
            ("release", "6.1.0-18-amd64"),
            ("sysname", "Linux"),
            ("version", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)"),
        ])],
    ));
    for (name, kind, shape) in [
        ("cpu_seconds_total", "counter", counter(0.01, 0.001, 0.02)),
        ("max_fds", "gauge", constant(1.0, 1048576.0, 1048576.0)),
        ("open_fds", "gauge", gauge(1.0, 8.0, 12.0)),
        ("resident_memory_bytes", "gauge", gauge(4096.0, 1.5e7, 3e7)),
        ("start_time_seconds", "gauge", constant(0.01, 1.69e9, 1.7e9)),
        ("virtual_memory_bytes", "gauge", gauge(4096.0, 7e8, 1.4e9)),
        (
            "virtual_memory_max_bytes",
            "gauge",
            constant(1.0, 1.8446744073709552e19, 1.8446744073709552e19),
        ),
    ] {
        f.push(family(
            format!("process_{name}"),
            "Process statistics of the exporter.",
            kind,
            shape,
        ));
    }
    f.push(labeled(
        "promhttp_metric_handler_errors_total",
        "Total number of internal errors encountered by the promhttp metric handler.",
        "counter",
        ZERO,
        ["encoding", "gathering"]
            .iter()
            .map(|c| labels(&[("cause", c)]))
            .collect(),
    ));
    f.push(family(
        "promhttp_metric_handler_requests_in_flight",
        "Current number of scrapes being served.",
        "gauge",
        ONE,
    ));
    f.push(labeled(
        "promhttp_metric_handler_requests_total",
        "Total number of scrapes by HTTP status code.",
        "counter",
        counter(1.0, 0.2, 0.2),
        ["200", "500", "503"]
            .iter()
            .map(|c| labels(&[("code", c)]))
            .collect(),
    ));
    f
}

const CPU_MODES: [&str; 8] = [
    "idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user",
];

/// Families that grow with the host: per CPU (14 series each), network device (18), disk (17) and
/// filesystem (7), then hardware sensors (1) to reach `remaining` exactly.
fn sized_families(remaining: usize, rng: &mut Rng) -> Vec<Family> {
    let share = |fraction: f64, per: usize| ((remaining as f64 * fraction) as usize / per).max(1);
    let (ncpu, nnet, ndisk, nfs) = (share(0.45, 14), share(0.25, 18), share(0.2, 17), share(0.1, 7));
    let mut f = Vec::new();
    let cpus: Vec<String> = (0..ncpu).map(|c| c.to_string()).collect();
    let mut by_cpu = Vec::new();
    for c in &cpus {
        for m in CPU_MODES {
            by_cpu.push(labels(&[("cpu", c), ("mode", m)]));
        }
    }
    f.push(labeled(
        "node_cpu_seconds_total",
        "Seconds the CPUs spent in each mode.",
        "counter",
        counter(0.01, 0.001, 0.8),
        by_cpu,
    ));
    f.push(labeled(
        "node_cpu_guest_seconds_total",
        "Seconds the CPUs spent in guests (VMs) for each mode.",
        "counter",
        counter(0.01, 0.005, 0.1),
        cpus.iter()
            .flat_map(|c| ["nice", "user"].map(|m| labels(&[("cpu", c), ("mode", m)])))
            .collect(),
    ));
    f.push(labeled(
        "node_cpu_scaling_frequency_hertz",
        "Current scaled CPU thread frequency in hertz.",
        "gauge",
        gauge(1000.0, 1.2e9, 3.5e9),
        cpus.iter().map(|c| labels(&[("cpu", c)])).collect(),
    ));
    for (name, help, lo, hi) in [
        ("dropped", "Number of dropped packets", 0.5, 5.0),
        ("processed", "Number of processed packets", 10.0, 5e3),
        (
            "times_squeezed",
            "Number of times processing packets ran out of quota",
            0.5,
            5.0,
        ),
    ] {
        f.push(labeled(
            format!("node_softnet_{name}_total"),
            help,
            "counter",
            counter(1.0, lo, hi),
            cpus.iter().map(|c| labels(&[("cpu", c)])).collect(),
        ));
    }

    let mut devices = vec!["eth0".to_owned(), "lo".to_owned()];
    while devices.len() < nnet {
        devices.push(format!("veth{:07x}", rng.below(1 << 28)));
    }
    devices.truncate(nnet);
    let by_dev: Vec<String> = devices.iter().map(|d| labels(&[("device", d)])).collect();
    let net: [(&str, &str, Shape); 18] = [
        ("mtu_bytes", "gauge", constant(1.0, 1500.0, 1500.0)),
        ("receive_bytes_total", "counter", counter(1.0, 1e2, 1e7)),
        ("receive_compressed_total", "counter", EVENTS),
        ("receive_drop_total", "counter", counter(1.0, 0.001, 0.1)),
        ("receive_errs_total", "counter", EVENTS),
        ("receive_fifo_total", "counter", EVENTS),
        ("receive_frame_total", "counter", EVENTS),
        ("receive_multicast_total", "counter", counter(1.0, 0.01, 1.0)),
        ("receive_packets_total", "counter", counter(1.0, 1.0, 1e4)),
        ("transmit_bytes_total", "counter", counter(1.0, 1e2, 1e7)),
        ("transmit_carrier_total", "counter", EVENTS),
        ("transmit_colls_total", "counter", EVENTS),
        ("transmit_compressed_total", "counter", EVENTS),
        ("transmit_drop_total", "counter", EVENTS),
        ("transmit_errs_total", "counter", EVENTS),
        ("transmit_fifo_total", "counter", EVENTS),
        ("transmit_packets_total", "counter", counter(1.0, 1.0, 1e4)),
        ("up", "gauge", ONE),
    ];
    for (name, kind, shape) in net {
        f.push(labeled(
            format!("node_network_{name}"),
            "Network device statistic from /proc/net/dev or /sys/class/net.",
            kind,
            shape,
            by_dev.clone(),
        ));
    }

    let disks: Vec<String> = (0..ndisk).map(|d| format!("nvme{d}n1")).collect();
    let by_disk: Vec<String> = disks.iter().map(|d| labels(&[("device", d)])).collect();
    let ops = counter(1.0, 0.1, 500.0);
    let secs = counter(0.001, 0.0001, 0.5);
    let disk: [(&str, &str, Shape); 17] = [
        ("discard_time_seconds_total", "counter", secs),
        ("discarded_sectors_total", "counter", EVENTS),
        ("discards_completed_total", "counter", EVENTS),
        ("discards_merged_total", "counter", EVENTS),
        ("flush_requests_time_seconds_total", "counter", secs),
        ("flush_requests_total", "counter", ops),
        ("io_now", "gauge", gauge(1.0, 0.5, 4.0)),
        ("io_time_seconds_total", "counter", secs),
        ("io_time_weighted_seconds_total", "counter", secs),
        ("read_bytes_total", "counter", counter(512.0, 1e3, 5e7)),
        ("read_time_seconds_total", "counter", secs),
        ("reads_completed_total", "counter", ops),
        ("reads_merged_total", "counter", ops),
        ("write_time_seconds_total", "counter", secs),
        ("writes_completed_total", "counter", ops),
        ("writes_merged_total", "counter", ops),
        ("written_bytes_total", "counter", counter(512.0, 1e3, 5e7)),
    ];
    for (name, kind, shape) in disk {
        f.push(labeled(
            format!("node_disk_{name}"),
            "Disk statistic from /proc/diskstats.",
            kind,
            shape,
            by_disk.clone(),
        ));
    }

    let mut mounts: Vec<(String, String, String)> = vec![
        ("/dev/nvme0n1p1".into(), "ext4".into(), "/".into()),
        ("/dev/nvme0n1p15".into(), "vfat".into(), "/boot/efi".into()),
        ("tmpfs".into(), "tmpfs".into(), "/run".into()),
        ("tmpfs".into(), "tmpfs".into(), "/run/lock".into()),
    ];
    while mounts.len() < nfs {
        let id = format!("{:016x}", rng.next_u64());
        mounts.push((
            "overlay".into(),
            "overlay".into(),
            format!("/var/lib/docker/overlay2/{id}/merged"),
        ));
    }
    mounts.truncate(nfs);
    let by_mount: Vec<String> = mounts
        .iter()
        .map(|(d, t, m)| labels(&[("device", d), ("fstype", t), ("mountpoint", m)]))
        .collect();
    let fs: [(&str, Shape); 7] = [
        ("avail_bytes", gauge(BLOCK, 1e8, 5e11)),
        ("device_error", ZERO),
        ("files", constant(1.0, 1e5, 3e7)),
        ("files_free", gauge(1.0, 1e5, 3e7)),
        ("free_bytes", gauge(BLOCK, 1e8, 5e11)),
        ("readonly", ZERO),
        ("size_bytes", constant(BLOCK, 1e9, 1e12)),
    ];
    for (name, shape) in fs {
        f.push(labeled(
            format!("node_filesystem_{name}"),
            "Filesystem statistic from statfs.",
            "gauge",
            shape,
            by_mount.clone(),
        ));
    }

    let sized: usize = f.iter().map(|x| x.series.len()).sum();
    let sensors = remaining.saturating_sub(sized);
    if sensors > 0 {
        f.push(labeled(
            "node_hwmon_temp_celsius",
            "Hardware monitor for temperature (input).",
            "gauge",
            gauge(0.001, 30.0, 80.0),
            (0..sensors)
                .map(|i| {
                    let chip = format!("platform_coretemp_{}", i / 32);
                    let sensor = format!("temp{}", i % 32 + 1);
                    labels(&[("chip", &chip), ("sensor", &sensor)])
                })
                .collect(),
        ));
    }
    f
}

/// One line of a body: what precedes the value, and how the value moves.
struct Line {
    prefix: String,
    shape: Shape,
}

/// The series every target exposes, in body order.
pub(crate) struct Template {
    lines: Vec<Line>,
    /// Families with at least one series in the body.
    pub(crate) families: usize,
}

impl Template {
    /// `series` series of node_exporter's families in its output order: families sorted by name,
    /// a family's series by their labels.
    pub(crate) fn new(series: usize, seed: u64) -> Self {
        let mut fams = fixed_families();
        let fixed: usize = fams.iter().map(|f| f.series.len()).sum();
        let mut rng = Rng::new(seed ^ 0x5EED_5CA1_AB1E);
        if series > fixed {
            fams.extend(sized_families(series - fixed, &mut rng));
        }
        fams.sort_by(|a, b| a.name.cmp(&b.name));
        let mut lines = Vec::with_capacity(series);
        let mut families = 0;
        for mut fam in fams {
            if lines.len() >= series {
                break;
            }
            fam.series.sort();
            families += 1;
            for (i, l) in fam.series.iter().enumerate() {
                if lines.len() >= series {
                    break;
                }
                let mut prefix = String::new();
                if i == 0 && !fam.kind.is_empty() {
                    let _ = writeln!(prefix, "# HELP {} {}", fam.name, fam.help);
                    let _ = writeln!(prefix, "# TYPE {} {}", fam.name, fam.kind);
                }
                let _ = write!(prefix, "{}{l} ", fam.name);
                lines.push(Line {
                    prefix,
                    shape: fam.shape,
                });
            }
        }
        Self { lines, families }
    }

    pub(crate) fn series(&self) -> usize {
        self.lines.len()
    }

    /// The distinct metric names of the body, in body order.
    pub(crate) fn metric_names(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for l in &self.lines {
            let last = l.prefix.lines().last().unwrap_or("");
            let name: String = last
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            if !name.is_empty() && out.last() != Some(&name) && !out.contains(&name) {
                out.push(name);
            }
        }
        out
    }

    /// The `n`-th body (from 0) of target `target`.
    fn render(&self, seed: u64, target: usize, n: u64, interval_s: f64) -> String {
        let mut out = String::with_capacity(self.lines.iter().map(|l| l.prefix.len() + 12).sum());
        let target_key = Rng::new(seed ^ ((target as u64) << 32)).next_u64();
        for (i, l) in self.lines.iter().enumerate() {
            out.push_str(&l.prefix);
            let v = value(l.shape, target_key ^ i as u64, n, interval_s);
            exposition::write_value(&mut out, v);
            out.push('\n');
        }
        out
    }
}

/// `x` rounded down to a multiple of `step` (0: not rounded). Steps below 1 go by their inverse, so
/// that centiseconds come out as the nearest double of `k / 100`, which prints as `k / 100` does.
fn quantize(x: f64, step: f64) -> f64 {
    if step <= 0.0 {
        x
    } else if step >= 1.0 {
        (x / step).floor() * step
    } else {
        let per = (1.0 / step).round();
        (x * per).floor() / per
    }
}

/// Log-uniform in `[lo, hi)`, or `lo` when the range is empty or not positive.
fn level(r: &mut Rng, lo: f64, hi: f64) -> f64 {
    if lo <= 0.0 || hi <= lo {
        lo
    } else {
        r.log_between(lo, hi)
    }
}

/// The value of series `key` at its `n`-th scrape. Everything about a series comes from its key, and
/// the scrape's jitter from the key and `n`, so no state is kept between scrapes.
fn value(shape: Shape, key: u64, n: u64, interval_s: f64) -> f64 {
    let mut r = Rng::new(key);
    let jitter = Rng::new(key ^ n.wrapping_mul(0xD1B5_4A32_D192_ED03)).unit();
    match shape {
        Counter { step, lo, hi } => {
            let per_scrape = level(&mut r, lo, hi) * interval_s;
            // Counters have been running for a while: 10 minutes to a week of scrapes.
            let start = per_scrape * r.between(120.0, 120_000.0);
            quantize(start + per_scrape * (n as f64 + jitter), step)
        }
        Gauge { step, lo, hi } => {
            let l = level(&mut r, lo, hi);
            quantize(l * (0.95 + 0.1 * jitter), step)
        }
        Const { step, lo, hi } => quantize(level(&mut r, lo, hi), step),
    }
}

/// Who is scraping, from the `User-Agent`; each has its own sequence of bodies per target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scraper {
    Pharos = 0,
    Prometheus = 1,
    Other = 2,
}

impl Scraper {
    fn from_agent(agent: Option<&str>) -> Scraper {
        match agent {
            Some(a) if a.starts_with("Pharos/") => Scraper::Pharos,
            Some(a) if a.starts_with("Prometheus/") => Scraper::Prometheus,
            _ => Scraper::Other,
        }
    }
}

/// A rendered body and, once asked for, its gzip-compressed form.
struct Rendered {
    plain: Bytes,
    gzip: OnceLock<Bytes>,
}

/// Bodies kept per target: one scraper may run a few scrapes ahead of the other.
const KEEP: usize = 6;

struct TargetState {
    index: usize,
    shared: Arc<Shared>,
    served: [AtomicU64; 3],
    gzipped: [AtomicU64; 3],
    /// Recent bodies by sequence number.
    recent: Mutex<Vec<(u64, Arc<Rendered>)>>,
}

struct Shared {
    template: Template,
    seed: u64,
    interval_s: f64,
    /// Bodies rendered (each at most once per target and sequence number).
    rendered: AtomicU64,
}

impl TargetState {
    fn body(&self, n: u64) -> Arc<Rendered> {
        let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, r)) = recent.iter().find(|(k, _)| *k == n) {
            return r.clone();
        }
        let s = &self.shared;
        let r = Arc::new(Rendered {
            plain: Bytes::from(s.template.render(s.seed, self.index, n, s.interval_s)),
            gzip: OnceLock::new(),
        });
        s.rendered.fetch_add(1, Ordering::Relaxed);
        recent.push((n, r.clone()));
        if recent.len() > KEEP {
            recent.sort_by_key(|(k, _)| *k);
            recent.remove(0);
        }
        r
    }
}

fn gzip(plain: &[u8]) -> Bytes {
    // The fast level keeps the bench process light; a decoder's work hardly depends on the level.
    let mut e =
        flate2::write::GzEncoder::new(Vec::with_capacity(plain.len() / 4), flate2::Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = e.write_all(plain);
    Bytes::from(e.finish().unwrap_or_default())
}

async fn metrics(State(t): State<Arc<TargetState>>, headers: HeaderMap) -> Response {
    let who = Scraper::from_agent(headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()));
    let n = t.served[who as usize].fetch_add(1, Ordering::Relaxed);
    let body = t.body(n);
    let wants_gzip = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let mut resp = Response::builder().status(StatusCode::OK).header(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    let bytes = if wants_gzip {
        t.gzipped[who as usize].fetch_add(1, Ordering::Relaxed);
        resp = resp.header(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        body.gzip.get_or_init(|| gzip(&body.plain)).clone()
    } else {
        body.plain.clone()
    };
    resp.body(Body::from(bytes)).unwrap_or_else(|_| {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        r
    })
}

/// Bodies served so far, per scraper.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct Served {
    pub(crate) pharos: u64,
    pub(crate) prometheus: u64,
    pub(crate) other: u64,
    /// Of those, sent gzip-compressed.
    pub(crate) pharos_gzip: u64,
    pub(crate) prometheus_gzip: u64,
}

impl Served {
    pub(crate) fn get(&self, who: Scraper) -> u64 {
        match who {
            Scraper::Pharos => self.pharos,
            Scraper::Prometheus => self.prometheus,
            Scraper::Other => self.other,
        }
    }

    pub(crate) fn since(&self, earlier: &Served) -> Served {
        Served {
            pharos: self.pharos - earlier.pharos,
            prometheus: self.prometheus - earlier.prometheus,
            other: self.other - earlier.other,
            pharos_gzip: self.pharos_gzip - earlier.pharos_gzip,
            prometheus_gzip: self.prometheus_gzip - earlier.prometheus_gzip,
        }
    }
}

/// The running exporter; its targets stop when it is dropped.
pub(crate) struct Exporter {
    targets: Vec<Arc<TargetState>>,
    shared: Arc<Shared>,
    addresses: Vec<String>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Exporter {
    /// Serves `targets` targets of `series` series each, one per port on 127.0.0.1, with values
    /// moving as if scraped every `interval_s` seconds.
    pub(crate) fn start(targets: usize, series: usize, seed: u64, interval_s: f64) -> anyhow::Result<Self> {
        let shared = Arc::new(Shared {
            template: Template::new(series, seed),
            seed,
            interval_s,
            rendered: AtomicU64::new(0),
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("exporter")
            .enable_all()
            .build()
            .context("starting the exporter's runtime")?;
        let states: Vec<Arc<TargetState>> = (0..targets)
            .map(|index| {
                Arc::new(TargetState {
                    index,
                    shared: shared.clone(),
                    served: Default::default(),
                    gzipped: Default::default(),
                    recent: Mutex::new(Vec::new()),
                })
            })
            .collect();
        let addresses = runtime.block_on(async {
            let mut addresses = Vec::with_capacity(targets);
            for t in &states {
                let l = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .context("binding a target's port")?;
                let addr = l.local_addr().context("reading a target's port")?;
                let app = axum::Router::new()
                    .route("/metrics", axum::routing::get(metrics))
                    .with_state(t.clone());
                tokio::spawn(async move {
                    if let Err(e) = axum::serve(l, app).await {
                        eprintln!("scrape: exporter on {addr} stopped: {e}");
                    }
                });
                addresses.push(addr.to_string());
            }
            anyhow::Ok(addresses)
        })?;
        Ok(Self {
            targets: states,
            shared,
            addresses,
            runtime: Some(runtime),
        })
    }

    /// `host:port` of every target.
    pub(crate) fn addresses(&self) -> &[String] {
        &self.addresses
    }

    pub(crate) fn template(&self) -> &Template {
        &self.shared.template
    }

    pub(crate) fn served(&self) -> Served {
        let sum = |a: fn(&TargetState) -> &AtomicU64| -> u64 {
            self.targets.iter().map(|t| a(t).load(Ordering::Relaxed)).sum()
        };
        Served {
            pharos: sum(|t| &t.served[Scraper::Pharos as usize]),
            prometheus: sum(|t| &t.served[Scraper::Prometheus as usize]),
            other: sum(|t| &t.served[Scraper::Other as usize]),
            pharos_gzip: sum(|t| &t.gzipped[Scraper::Pharos as usize]),
            prometheus_gzip: sum(|t| &t.gzipped[Scraper::Prometheus as usize]),
        }
    }

    /// Bodies rendered so far.
    pub(crate) fn rendered(&self) -> u64 {
        self.shared.rendered.load(Ordering::Relaxed)
    }

    /// Sizes of the first body of target 0: plain and gzip-compressed.
    pub(crate) fn body_sizes(&self) -> (usize, usize) {
        let s = &self.shared;
        let plain = s.template.render(s.seed, 0, 0, s.interval_s);
        let packed = gzip(plain.as_bytes()).len();
        (plain.len(), packed)
    }

    /// Forgets what each scraper was served, so that a fresh pair of servers starts both
    /// sequences from the first body again.
    pub(crate) fn restart_sequences(&self) {
        for t in &self.targets {
            for c in t.served.iter().chain(&t.gzipped) {
                c.store(0, Ordering::Relaxed);
            }
            t.recent.lock().unwrap_or_else(PoisonError::into_inner).clear();
        }
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn go(v: f64) -> String {
        let mut s = String::new();
        exposition::write_value(&mut s, v);
        s
    }

    #[test]
    fn floats_print_as_go_does() {
        assert_eq!(go(0.0), "0");
        assert_eq!(go(1.0), "1");
        assert_eq!(go(123456.0), "123456");
        assert_eq!(go(1234567.0), "1.234567e+06");
        assert_eq!(go(8253464576.0), "8.253464576e+09");
        assert_eq!(go(0.0001), "0.0001");
        assert_eq!(go(0.00005), "5e-05");
        assert_eq!(go(12345.67), "12345.67");
        assert_eq!(go(1e21), "1e+21");
        assert_eq!(go(9.223372036854776e18), "9.223372036854776e+18");
    }

    #[test]
    fn template_has_the_asked_series_grouped_by_family() {
        let fixed: usize = fixed_families().iter().map(|f| f.series.len()).sum();
        assert_eq!(fixed, 243);
        for n in [10, 250, 1000, 5000] {
            let t = Template::new(n, 1);
            assert_eq!(t.series(), n);
            let body = t.render(1, 3, 7, 5.0);
            let samples: Vec<&str> = body.lines().filter(|l| !l.starts_with('#')).collect();
            assert_eq!(samples.len(), n);
            let series: std::collections::HashSet<&str> =
                samples.iter().map(|l| l.rsplit_once(' ').unwrap().0).collect();
            assert_eq!(series.len(), n, "series are distinct");
            let mut seen = std::collections::HashSet::new();
            let mut last = "";
            for l in body.lines().filter(|l| l.starts_with("# TYPE ")) {
                let name = l.split(' ').nth(2).unwrap();
                assert!(seen.insert(name), "{name} has one TYPE line");
                assert!(name > last, "families are sorted");
                last = name;
            }
        }
    }

    #[test]
    fn counters_grow_and_gauges_move() {
        let t = Template::new(1000, 1);
        let values = |n: u64| -> Vec<(String, f64)> {
            t.render(1, 0, n, 5.0)
                .lines()
                .filter(|l| !l.starts_with('#'))
                .map(|l| {
                    let (s, v) = l.rsplit_once(' ').unwrap();
                    (s.to_owned(), v.parse().unwrap())
                })
                .collect()
        };
        let (a, b) = (values(10), values(11));
        let mut changed = 0;
        for ((s, x), (_, y)) in a.iter().zip(&b) {
            if s.starts_with("node_cpu_seconds_total") || s.starts_with("node_network_receive_bytes") {
                assert!(y >= x, "{s}: {x} then {y}");
            }
            changed += usize::from(x != y);
        }
        assert!(changed > 800, "only {changed} of 1000 values changed");
        assert_eq!(t.render(1, 0, 10, 5.0), t.render(1, 0, 10, 5.0));
        assert_ne!(t.render(1, 0, 10, 5.0), t.render(1, 1, 10, 5.0));
    }

    #[test]
    fn quantized_values_print_short() {
        assert_eq!(go(quantize(12_345.678_9, 0.01)), "12345.67");
        assert_eq!(go(quantize(5000.7, KB)), "4096");
    }
}
