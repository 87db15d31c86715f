//! hostmetrics against the real thing: starts Debian's prometheus-node-exporter 1.5.0 with
//! exactly the collectors this crate implements, scrapes it, collects ours, scrapes it again,
//! and checks that both expose the same families (HELP, TYPE), the same series, and values that
//! agree within what can change between two reads of the same kernel file.
//!
//! Skipped with a notice when the binary is absent, unless `PHAROS_REQUIRE_PEERS=1`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use exposition::{MetricType, TextItem};
use hostmetrics::{COLLECTORS, Collector, Options};

const BINARY: &str = "/usr/bin/prometheus-node-exporter";

/// Families node_exporter exposes and we do not, and why.
const ONLY_IN_NODE_EXPORTER: &[(&str, &str)] = &[
    (
        "node_exporter_build_info",
        "describes the exporter binary (version, Go version), not the host",
    ),
    (
        "promhttp_metric_handler_errors_total",
        "counts node_exporter's own HTTP handler errors; kept by --web.disable-exporter-metrics",
    ),
];

/// Families whose values are not compared, and why.
const VALUES_NOT_COMPARED: &[(&str, &str)] = &[(
    "node_scrape_collector_duration_seconds",
    "how long each implementation took, different by design",
)];

/// Kills node_exporter however the test ends.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

type Labels = Vec<(String, String)>;

#[derive(Debug, Default)]
struct Fam {
    help: Option<String>,
    kind: Option<MetricType>,
    series: BTreeMap<Labels, f64>,
}

fn parse(body: &str, source: &str) -> BTreeMap<String, Fam> {
    let mut families: BTreeMap<String, Fam> = BTreeMap::new();
    for (line, item) in exposition::parse_text(body.as_bytes()) {
        let item = item.unwrap_or_else(|e| panic!("{source} line {line}: {e}"));
        match item {
            TextItem::Help { name, text } => {
                families.entry(name.into_owned()).or_default().help = Some(text.into_owned())
            }
            TextItem::Type { name, kind } => families.entry(name.into_owned()).or_default().kind = Some(kind),
            TextItem::Sample(sample) => {
                let mut labels: Labels = sample
                    .labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                labels.sort();
                let previous = families
                    .entry(sample.name.into_owned())
                    .or_default()
                    .series
                    .insert(labels.clone(), sample.value);
                assert!(previous.is_none(), "{source}: duplicate series {labels:?}");
            }
        }
    }
    families
}

fn http_get(port: u16, path: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n")?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let response = String::from_utf8(response).map_err(std::io::Error::other)?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no end of headers"))?;
    if head.split_whitespace().nth(1) != Some("200") {
        return Err(std::io::Error::other(format!("unexpected response: {head}")));
    }
    Ok(body.to_owned())
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// How far our value may lie outside the two node_exporter readings around it.
fn tolerance(name: &str, value: f64) -> f64 {
    const MIB: f64 = 1024.0 * 1024.0;
    let rel = |r: f64| r * value.abs();
    match name {
        // Memory moves while we read: page cache, slab, dirty pages.
        n if n.starts_with("node_memory_") => (64.0 * MIB).max(rel(0.05)),
        "node_filesystem_free_bytes" | "node_filesystem_avail_bytes" | "node_filesystem_files_free" => {
            rel(0.01)
        }
        "node_load1" | "node_load5" | "node_load15" => 0.5,
        "node_procs_running" | "node_procs_blocked" | "node_disk_io_now" | "node_netstat_Tcp_CurrEstab" => {
            64.0
        }
        "node_filefd_allocated" => 512.0_f64.max(rel(0.1)),
        // btime is recomputed from the boot clock at each read and can move by a second.
        "node_boot_time_seconds" | "node_time_seconds" => 1.0,
        // The kernel's idle and iowait times can step back a little between reads; node_exporter
        // hides that only from its own earlier readings.
        "node_cpu_seconds_total" | "node_cpu_guest_seconds_total" => 1.0,
        // Counters lie between the two readings; everything else is read from the same kernel
        // value and must be equal.
        _ => 1e-9 * value.abs(),
    }
}

/// Whether the peer is installed; panics instead of skipping when `PHAROS_REQUIRE_PEERS=1`.
fn peer_available() -> bool {
    if Path::new(BINARY).exists() {
        return true;
    }
    if std::env::var("PHAROS_REQUIRE_PEERS").as_deref() == Ok("1") {
        panic!("{BINARY} not found and PHAROS_REQUIRE_PEERS=1 (install prometheus-node-exporter)");
    }
    eprintln!(
        "NOTICE: {BINARY} not found, skipping the node_exporter comparison \
         (set PHAROS_REQUIRE_PEERS=1 to fail instead)"
    );
    false
}

/// node_exporter with exactly our collectors and the given extra flags.
fn start_node_exporter(extra: &[String]) -> (ChildGuard, u16) {
    let port = free_port();
    let mut command = Command::new(BINARY);
    command
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--collector.disable-defaults")
        .arg("--web.disable-exporter-metrics")
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for collector in COLLECTORS {
        command.arg(format!("--collector.{collector}"));
    }
    let mut child = ChildGuard(command.spawn().expect("start node_exporter"));
    let deadline = Instant::now() + Duration::from_secs(20);
    // The first scrape also warms node_exporter up, so the compared ones are close together.
    while let Err(e) = http_get(port, "/metrics") {
        if let Ok(Some(status)) = child.0.try_wait() {
            panic!("node_exporter exited with {status} before answering");
        }
        assert!(
            Instant::now() < deadline,
            "node_exporter did not answer on port {port}: {e}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, port)
}

/// Scrapes node_exporter, collects ours, scrapes node_exporter again, and lists every
/// difference: families, HELP, TYPE, series, and values outside the two readings (± tolerance).
fn compare(
    opts: Options,
    extra_flags: &[String],
    only_in_node_exporter: &[(&str, &str)],
    only_in_hostmetrics: &[(&str, &str)],
) -> Vec<String> {
    let (child, port) = start_node_exporter(extra_flags);
    let before = http_get(port, "/metrics").expect("scrape node_exporter");
    let mut collector = Collector::new(opts);
    let families = collector.collect();
    let after = http_get(port, "/metrics").expect("scrape node_exporter again");
    drop(child);

    for (name, error) in collector.last_errors() {
        eprintln!("hostmetrics collector {name} failed: {error}");
    }
    let mut text = String::new();
    hostmetrics::render_text(&families, &mut text);
    let ours = parse(&text, "hostmetrics");
    let before = parse(&before, "node_exporter");
    let after = parse(&after, "node_exporter");

    let mut problems: Vec<String> = Vec::new();
    let theirs_names: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let ours_names: BTreeSet<&String> = ours.keys().collect();
    for name in theirs_names.difference(&ours_names) {
        if !only_in_node_exporter.iter().any(|(n, _)| n == name) {
            problems.push(format!("{name}: only in node_exporter"));
        }
    }
    for name in ours_names.difference(&theirs_names) {
        if !only_in_hostmetrics.iter().any(|(n, _)| n == name) {
            problems.push(format!("{name}: only in hostmetrics"));
        }
    }
    for (name, _) in only_in_node_exporter {
        if ours.contains_key(*name) {
            problems.push(format!("{name}: listed as only in node_exporter but we have it"));
        }
    }
    for (name, _) in only_in_hostmetrics {
        if !ours.contains_key(*name) || theirs_names.contains(&name.to_string()) {
            problems.push(format!("{name}: listed as only in hostmetrics but it is not"));
        }
    }

    let mut compared = 0;
    for (name, our) in &ours {
        let (Some(b), Some(a)) = (before.get(name), after.get(name)) else {
            continue;
        };
        if our.help != b.help {
            problems.push(format!("{name}: HELP {:?}, node_exporter {:?}", our.help, b.help));
        }
        if our.kind != b.kind {
            problems.push(format!("{name}: TYPE {:?}, node_exporter {:?}", our.kind, b.kind));
        }
        // A series present in both node_exporter readings must be ours; ours must be in one.
        for labels in b.series.keys().filter(|l| a.series.contains_key(*l)) {
            if !our.series.contains_key(labels) {
                problems.push(format!("{name}{labels:?}: only in node_exporter"));
            }
        }
        let compare_values = !VALUES_NOT_COMPARED.iter().any(|(n, _)| n == name);
        for (labels, &value) in &our.series {
            let readings: Vec<f64> = [b.series.get(labels), a.series.get(labels)]
                .into_iter()
                .flatten()
                .copied()
                .collect();
            if readings.is_empty() {
                problems.push(format!("{name}{labels:?}: only in hostmetrics"));
                continue;
            }
            if !compare_values {
                continue;
            }
            let lo = readings.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = readings.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let tol = tolerance(name, value);
            compared += 1;
            if value < lo - tol || value > hi + tol {
                problems.push(format!(
                    "{name}{labels:?}: {value} not within [{lo}, {hi}] ± {tol}"
                ));
            }
        }
    }
    if compared < 50 {
        problems.push(format!("only {compared} values compared"));
    }
    eprintln!("compared {} families and {compared} values", ours.len());
    problems
}

#[test]
fn matches_node_exporter_on_this_host() {
    if !peer_available() {
        return;
    }
    let problems = compare(Options::default(), &[], ONLY_IN_NODE_EXPORTER, &[]);
    assert!(
        problems.is_empty(),
        "{} differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// A made-up host exercising what this machine lacks: udev properties (ATA, device mapper,
/// file systems, a serial in two places), thermal throttle counters, isolated CPUs, diskstats
/// lines of older kernels (15, 11 and 4 columns), interface error counters, a duplicate mount,
/// an escaped and failing mount point.
const FIXTURE: &[(&str, &str)] = &[
    (
        "proc/stat",
        "cpu  3091824 12 251369 1085278 30651 7 10547 1616 40 2
cpu0 1468562 5 117571 635990 7436 3 4756 748 30 1
cpu1 1623262 7 133798 449288 23215 4 5791 868 10 1
intr 27568953 0 9 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 1 16
ctxt 46422263
btime 1795277226
processes 484759
procs_running 3
procs_blocked 1
softirq 15245361 0 1706932 4 4021989 4436152 0 441 2380526 16373 2682944
",
    ),
    (
        "proc/meminfo",
        "MemTotal:       24684096 kB
MemFree:        20959532 kB
MemAvailable:   23729140 kB
Buffers:           20488 kB
Cached:          2670644 kB
Active(anon):       1544 kB
Inactive(file):  1112460 kB
HugePages_Total:       0
HugePages_Free:        0
Hugepagesize:       2048 kB
DirectMap1G:    25165824 kB
",
    ),
    ("proc/loadavg", "0.14 0.95 1.46 1/89 31071\n"),
    ("proc/sys/fs/file-nr", "386\t0\t2466180\n"),
    (
        "proc/diskstats",
        "   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
 254       0 vda 2406079 84679 90500354 6212632 3674994 983771 295577496 1446941 0 564868 7918158 514852 23 238571072 217577 1112862 41006
 254       1 vda1 2400000 80000 90000000 6200000 3600000 980000 290000000 1440000 0 560000 7900000 510000 20 230000000 210000 0 0
   8       0 sda 1000 20 300000 4000 5000 60 70000 8000 2 9000 10000 11 12 13000 14
   8       1 sda1 1 2 3 4
 253       0 dm-0 900 10 200000 3000 4000 50 60000 7000 1 8000 9000 0 0 0 0 0 0
 259       0 nvme0n1 5 6 7 8 9 10 11 12 0 13 14 15 16 17 18 19 20
 259       1 nvme0n1p1 1 1 1 1 1 1 1 1 0 1 1 1 1 1 1 1 1
   9       0 md0 1 2 3 4
   9       1 md1 1 2 3 4 5 6 7 8 9 10 11
",
    ),
    (
        "udev/b8:0",
        "S:disk/by-id/ata-Samsung_SSD_860
E:ID_ATA=1
E:ID_ATA_WRITE_CACHE=1
E:ID_ATA_WRITE_CACHE_ENABLED=0
E:ID_ATA_ROTATION_RATE_RPM=0
E:ID_MODEL=Samsung_SSD_860_EVO_500GB
E:ID_SERIAL_SHORT=S3Z1NB0K123456
E:ID_REVISION=RVT02B6Q
E:ID_WWN=0x5002538e40000000
E:ID_PATH=pci-0000:00:1f.2-ata-1
E:ID_PART_TABLE_TYPE=gpt
G:systemd
",
    ),
    (
        "udev/b253:0",
        "E:DM_NAME=vg0-root
E:DM_UUID=LVM-abc
E:DM_VG_NAME=vg0
E:DM_LV_NAME=root
E:ID_FS_TYPE=ext4
E:ID_FS_USAGE=filesystem
E:ID_FS_UUID=0b5f3c1e-1111-2222-3333-444455556666
E:ID_FS_VERSION=1.0
",
    ),
    (
        "udev/b259:0",
        "E:SCSI_IDENT_SERIAL=SCSI123
E:ID_SERIAL_SHORT=SHORT123
E:ID_MODEL=NVMe disk
",
    ),
    (
        "proc/net/dev",
        "Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 68832964112 4171834    0    0    0     0          0         0 68832964112 4171834    0    0    0     0       0          0
  eth0: 294827376   14026    1    2    3     4          5         6   965325   10935    7    8    9    10       11          12
docker0: 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
",
    ),
    (
        "proc/net/netstat",
        "TcpExt: SyncookiesSent SyncookiesRecv SyncookiesFailed DelayedACKs ListenOverflows ListenDrops TCPTimeouts TCPSynRetrans
TcpExt: 1 2 3 53581 4 5 6 7
IpExt: InNoRoutes InOctets OutOctets InCsumErrors
IpExt: 0 69137059670 68833479654 0
MPTcpExt: MPCapableSYNRX MPTCPRetrans
MPTcpExt: 0 0
",
    ),
    (
        "proc/net/snmp",
        "Ip: Forwarding DefaultTTL InReceives InHdrErrors
Ip: 2 64 4187027 0
Icmp: InMsgs InErrors InCsumErrors OutMsgs
Icmp: 5 0 0 3
IcmpMsg: InType3
IcmpMsg: 5
Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors
Tcp: 1 200 120000 -1 5504 4735 687 1647 1 4186858 4169343 15617 0 1539 0
Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
Udp: 164 0 0 169 0 0 0 0 0
UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
UdpLite: 0 0 0 0 0 0 0 0 0
",
    ),
    (
        "proc/net/snmp6",
        "Ip6InReceives                   \t5
Ip6InOctets                     \t640
Ip6OutOctets                    \t2000
Icmp6InMsgs                     \t5
Icmp6InErrors                   \t1
Icmp6OutMsgs                    \t17
Icmp6InDestUnreachs             \t5
Udp6InDatagrams                 \t3
Udp6NoPorts                     \t0
Udp6InErrors                    \t0
UdpLite6InErrors                \t0
",
    ),
    (
        "proc/1/mounts",
        "proc /proc proc rw,relatime 0 0
sysfs /sys sysfs rw,relatime 0 0
devtmpfs /dev devtmpfs rw,relatime,size=12334524k 0 0
/dev/vda / ext4 rw,relatime,discard 0 0
/dev/vda / ext4 rw,relatime,discard 0 0
tmpfs /run tmpfs rw,nosuid 0 0
/dev/sdz1 /srv/hostmetrics\\040missing xfs ro,noatime 0 0
cgroup2 /sys/fs/cgroup cgroup2 rw 0 0
overlay /var/lib/docker/overlay2/abc/merged overlay rw 0 0
",
    ),
    ("sys/devices/system/cpu/isolated", "1\n"),
    ("sys/devices/system/cpu/cpu0/topology/physical_package_id", "0\n"),
    ("sys/devices/system/cpu/cpu0/topology/core_id", "0\n"),
    ("sys/devices/system/cpu/cpu0/thermal_throttle/core_throttle_count", "5\n"),
    ("sys/devices/system/cpu/cpu0/thermal_throttle/package_throttle_count", "7\n"),
    ("sys/devices/system/cpu/cpu1/topology/physical_package_id", "0\n"),
    ("sys/devices/system/cpu/cpu1/topology/core_id", "1\n"),
    ("sys/devices/system/cpu/cpu1/thermal_throttle/core_throttle_count", "3\n"),
    ("sys/devices/system/cpu/cpu1/thermal_throttle/package_throttle_count", "7\n"),
    ("sys/devices/system/clocksource/clocksource0/available_clocksource", "tsc hpet acpi_pm \n"),
    ("sys/devices/system/clocksource/clocksource0/current_clocksource", "tsc\n"),
    ("sys/class/net/eth0/statistics/rx_nohandler", "42\n"),
];

/// Families only we expose on the fixture tree, and why.
const ONLY_IN_HOSTMETRICS_ON_FIXTURES: &[(&str, &str)] = &[(
    "node_network_receive_nohandler_total",
    "node_exporter reads it over netlink only, which the fixture test turns off; \
     matches_node_exporter_on_this_host compares it",
)];

#[test]
fn matches_node_exporter_on_fixtures() {
    if !peer_available() {
        return;
    }
    let root = std::env::temp_dir().join(format!("hostmetrics-fixture-{}", std::process::id()));
    for (path, content) in FIXTURE {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().expect("fixture paths have a parent"))
            .expect("create fixture dir");
        std::fs::write(&path, content).expect("write fixture");
    }
    let opts = Options {
        proc_path: root.join("proc"),
        sys_path: root.join("sys"),
        udev_data_path: root.join("udev"),
        ..Options::default()
    };
    let flags = [
        format!("--path.procfs={}", opts.proc_path.display()),
        format!("--path.sysfs={}", opts.sys_path.display()),
        format!("--path.udev.data={}", opts.udev_data_path.display()),
        // Netlink would read this machine's interfaces, not the fixture's /proc/net/dev.
        "--no-collector.netdev.netlink".to_owned(),
    ];
    let problems = compare(
        opts,
        &flags,
        ONLY_IN_NODE_EXPORTER,
        ONLY_IN_HOSTMETRICS_ON_FIXTURES,
    );
    std::fs::remove_dir_all(&root).expect("remove fixture");
    assert!(
        problems.is_empty(),
        "{} differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
