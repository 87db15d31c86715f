//! The synthetic fleet: hosts that look like node_exporter targets, with the value shapes real exporters
//! report (centisecond CPU counters, memory in whole kilobytes, filesystems shrinking in 4096-byte blocks,
//! cumulative histogram buckets). Pure and deterministic: a seed and a host index always give the same
//! series and the same values, whichever thread generates them, so every server under test receives
//! byte-identical data. No IO, no clock: the caller supplies the time range.

/// Series every host exposes; fixed so that `hosts × SERIES_PER_HOST` is the active series count.
pub const SERIES_PER_HOST: usize = 100;

/// splitmix64: tiny, fast, and good enough for synthetic values. Not for anything secret.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `[0, n)`; 0 when `n` is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `[lo, hi)`.
    pub fn between(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Log-uniform in `[lo, hi)`: rates and sizes spread over orders of magnitude.
    pub fn log_between(&mut self, lo: f64, hi: f64) -> f64 {
        (lo.ln() + (hi.ln() - lo.ln()) * self.unit()).exp()
    }
}

const REGIONS: [&str; 4] = ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-1"];
const AZ_SUFFIX: [&str; 3] = ["a", "b", "c"];

const NCPU: usize = 2;
const CPU_IDS: [&str; NCPU] = ["0", "1"];
/// node_exporter's modes, in its order. Index 0 is idle; the rest share the busy time by `BUSY_SHARE`.
const CPU_MODES: [&str; 8] = [
    "idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user",
];
const BUSY_SHARE: [f64; 8] = [0.0, 0.04, 0.01, 0.01, 0.03, 0.01, 0.25, 0.65];

/// (device, mountpoint, fstype, reserved fraction for root, blocks written per scrape at most)
const FILESYSTEMS: [(&str, &str, &str, f64, u64); 3] = [
    ("/dev/vda1", "/", "ext4", 0.05, 4),
    ("/dev/vda15", "/boot/efi", "vfat", 0.0, 0),
    ("/dev/vdb", "/var/lib/data", "xfs", 0.0, 24),
];
const NET_DEVICES: [&str; 2] = ["eth0", "lo"];
const DISK_DEVICES: [&str; 2] = ["vda", "vdb"];

const HANDLERS: [&str; 2] = ["/api/v1/query", "/api/v1/write"];
const LE: [&str; 12] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
];
const BOUNDS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// 4 KiB pages, counted in kilobytes as /proc/meminfo does.
const PAGE_KB: u64 = 4;
const BLOCK: u64 = 4096;

/// Receives one host's series in a fixed order. Used both to list label sets and to collect values, so
/// the two can never disagree.
trait Sink {
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64);
}

/// The whole workload: which hosts, and the scrape times.
#[derive(Debug, Clone)]
pub struct Fleet {
    pub hosts: usize,
    pub interval_ms: i64,
    /// First scrape slot; hosts scrape at a fixed offset within each slot.
    pub start_ms: i64,
    pub steps: usize,
    pub seed: u64,
}

impl Fleet {
    /// `steps = span / interval` scrapes per host, all strictly before `end_ms` (normally now).
    pub fn new(hosts: usize, interval_ms: i64, span_ms: i64, end_ms: i64, seed: u64) -> Self {
        let interval_ms = interval_ms.max(1);
        let steps = (span_ms / interval_ms).max(1) as usize;
        let start_ms = (end_ms - steps as i64 * interval_ms).div_euclid(interval_ms) * interval_ms;
        Self {
            hosts,
            interval_ms,
            start_ms,
            steps,
            seed,
        }
    }

    /// Host `index` in its state before the first scrape.
    pub fn host(&self, index: usize) -> Host {
        Host::new(self, index)
    }

    pub fn series(&self) -> u64 {
        (self.hosts * SERIES_PER_HOST) as u64
    }

    pub fn samples(&self) -> u64 {
        self.series() * self.steps as u64
    }

    /// Exclusive upper bound of every timestamp.
    pub fn end_ms(&self) -> i64 {
        self.start_ms + self.steps as i64 * self.interval_ms
    }
}

/// The instance label of host `index`.
pub fn instance(index: usize) -> String {
    format!("host-{index:05}:9100")
}

#[derive(Debug, Clone)]
struct Mem {
    total: u64,
    used: u64,
    cached: u64,
    buffers: u64,
    slab: u64,
    shmem: u64,
    dirty: u64,
    swap_total: u64,
    swap_free: u64,
}

#[derive(Debug, Clone)]
struct Fs {
    size: u64,
    avail: u64,
    reserved: u64,
    files: u64,
    files_free: u64,
}

#[derive(Debug, Clone)]
struct Net {
    rate: f64,
    packet: f64,
    /// receive bytes, receive packets, transmit bytes, transmit packets
    counters: [u64; 4],
}

#[derive(Debug, Clone)]
struct Disk {
    read_rate: f64,
    write_rate: f64,
    read: u64,
    written: u64,
    io_ms: u64,
}

#[derive(Debug, Clone)]
struct Hist {
    rate: f64,
    /// Per bucket, not cumulative; the last one counts observations above the largest bound.
    buckets: [u64; 12],
    sum: f64,
    count: u64,
}

/// One host's identity and counters. `values` reads the state, `advance` moves it one scrape on.
#[derive(Debug, Clone)]
pub struct Host {
    pub index: usize,
    instance: String,
    region: &'static str,
    az: String,
    nodename: String,
    /// Where in each interval this host is scraped; real scrapes are spread, not aligned.
    pub offset_ms: i64,
    start_ms: i64,
    interval_ms: i64,
    rng: Rng,
    util: f64,
    cpu: [[u64; 8]; NCPU],
    mem: Mem,
    load: [f64; 3],
    fs: [Fs; 3],
    net: [Net; 2],
    disk: [Disk; 2],
    boot_time: u64,
    ctxt: u64,
    ctxt_rate: f64,
    intr: u64,
    intr_rate: f64,
    forks: u64,
    forks_rate: f64,
    pgfault: u64,
    pgfault_rate: f64,
    pgmajfault: u64,
    procs_running: u64,
    procs_blocked: u64,
    tcp_inuse: u64,
    tcp_estab: u64,
    hist: [Hist; 2],
}

fn pages(kb: f64) -> u64 {
    (kb / PAGE_KB as f64) as u64 * PAGE_KB
}

/// A bounded random walk in whole pages.
fn walk(rng: &mut Rng, x: u64, max_pages: u64, lo: u64, hi: u64) -> u64 {
    let step = rng.below(max_pages + 1) * PAGE_KB;
    let next = if rng.below(2) == 0 {
        x.saturating_add(step)
    } else {
        x.saturating_sub(step)
    };
    next.clamp(lo, hi.max(lo))
}

impl Host {
    fn new(fleet: &Fleet, index: usize) -> Self {
        let mut rng = Rng::new(fleet.seed ^ (index as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93));
        let region = REGIONS[rng.below(REGIONS.len() as u64) as usize];
        let az = format!(
            "{region}{}",
            AZ_SUFFIX[rng.below(AZ_SUFFIX.len() as u64) as usize]
        );
        let offset_ms = rng.below(fleet.interval_ms as u64) as i64;
        let start_s = (fleet.start_ms / 1000) as u64;
        let uptime = 3600 + rng.below(60 * 86_400);
        let util = rng.between(0.03, 0.6);

        let mut cpu = [[0u64; 8]; NCPU];
        for c in &mut cpu {
            let total = uptime as f64 * 100.0;
            let mut busy = 0;
            for (m, share) in BUSY_SHARE.iter().enumerate().skip(1) {
                let cs = (total * util * share * rng.between(0.8, 1.2)) as u64;
                c[m] = cs;
                busy += cs;
            }
            c[0] = (total as u64).saturating_sub(busy);
        }

        let gib = [4u64, 8, 16, 32][rng.below(4) as usize];
        let total = pages((gib * 1024 * 1024) as f64 * rng.between(0.95, 0.98));
        let swap_total = if rng.unit() < 0.3 { 2 * 1024 * 1024 } else { 0 };
        let mem = Mem {
            total,
            used: pages(total as f64 * rng.between(0.15, 0.5)),
            cached: pages(total as f64 * rng.between(0.1, 0.25)),
            buffers: pages(total as f64 * rng.between(0.005, 0.03)),
            slab: pages(total as f64 * rng.between(0.02, 0.05)),
            shmem: pages(total as f64 * rng.between(0.001, 0.01)),
            dirty: pages(rng.between(0.0, 40_000.0)),
            swap_total,
            swap_free: pages(swap_total as f64 * rng.between(0.7, 1.0)),
        };
        let l = util * NCPU as f64;
        let load = [l, l, l];

        let fs = FILESYSTEMS.map(|(_, mount, _, reserved, _)| {
            let size = match mount {
                "/" => (20 + rng.below(80)) << 30,
                "/boot/efi" => 126 << 20,
                _ => (100 + rng.below(900)) << 30,
            } / BLOCK
                * BLOCK;
            let reserved = (size as f64 * reserved) as u64 / BLOCK * BLOCK;
            let used = (size as f64 * rng.between(0.05, 0.8)) as u64 / BLOCK * BLOCK;
            let files = if mount == "/boot/efi" { 0 } else { size / 16_384 };
            Fs {
                size,
                avail: size - reserved - used,
                reserved,
                files,
                files_free: files - files / 50 - rng.below(files / 10 + 1),
            }
        });

        let eth = rng.log_between(20e3, 2e6);
        let lo = rng.log_between(1e3, 50e3);
        let mut net =
            [(eth, rng.between(400.0, 1400.0)), (lo, rng.between(200.0, 600.0))].map(|(rate, packet)| Net {
                rate,
                packet,
                counters: [0; 4],
            });
        for n in &mut net {
            let rx = (n.rate * uptime as f64) as u64;
            let tx = (rx as f64 * rng.between(0.3, 1.5)) as u64;
            n.counters = [
                rx,
                (rx as f64 / n.packet) as u64,
                tx,
                (tx as f64 / n.packet) as u64,
            ];
        }
        let disk = [0, 1].map(|_| {
            let read_rate = rng.log_between(1e3, 200e3);
            let write_rate = rng.log_between(10e3, 1e6);
            Disk {
                read_rate,
                write_rate,
                read: (read_rate * uptime as f64) as u64 / 512 * 512,
                written: (write_rate * uptime as f64) as u64 / 512 * 512,
                io_ms: (uptime as f64 * 1000.0 * util * 0.1) as u64,
            }
        });
        let ctxt_rate = rng.log_between(500.0, 20_000.0);
        let intr_rate = rng.log_between(300.0, 10_000.0);
        let forks_rate = rng.log_between(0.1, 5.0);
        let pgfault_rate = rng.log_between(100.0, 10_000.0);
        let hist = [0, 1].map(|_| Hist {
            rate: rng.log_between(0.2, 30.0),
            buckets: [0; 12],
            sum: 0.0,
            count: 0,
        });
        let tcp_inuse = 5 + rng.below(300);
        Self {
            index,
            instance: instance(index),
            region,
            az,
            nodename: format!("host-{index:05}"),
            offset_ms,
            start_ms: fleet.start_ms,
            interval_ms: fleet.interval_ms,
            util,
            cpu,
            mem,
            load,
            fs,
            net,
            disk,
            boot_time: start_s.saturating_sub(uptime),
            ctxt: (ctxt_rate * uptime as f64) as u64,
            ctxt_rate,
            intr: (intr_rate * uptime as f64) as u64,
            intr_rate,
            forks: (forks_rate * uptime as f64) as u64,
            forks_rate,
            pgfault: (pgfault_rate * uptime as f64) as u64,
            pgfault_rate,
            pgmajfault: uptime / 100 + rng.below(1000),
            procs_running: 1,
            procs_blocked: 0,
            tcp_inuse,
            tcp_estab: tcp_inuse / 2,
            hist,
            rng,
        }
    }

    /// Timestamp of scrape `step`.
    pub fn timestamp(&self, step: usize) -> i64 {
        self.start_ms + step as i64 * self.interval_ms + self.offset_ms
    }

    /// Label sets of this host's series, sorted by name, `__name__` included, in the order `values`
    /// reports them.
    pub fn series(&self) -> Vec<Vec<(String, String)>> {
        let mut sink = LabelSink {
            host: self,
            out: Vec::with_capacity(SERIES_PER_HOST),
        };
        self.emit(self.timestamp(0), &mut sink);
        sink.out
    }

    /// The values of one scrape at `t_ms`, in the order of `series`.
    pub fn values(&self, t_ms: i64, out: &mut Vec<f64>) {
        out.clear();
        self.emit(t_ms, &mut ValueSink(out));
    }

    /// Moves every counter and gauge on by one scrape interval.
    pub fn advance(&mut self) {
        let secs = self.interval_ms as f64 / 1000.0;
        let rng = &mut self.rng;
        self.util = (self.util + rng.between(-0.02, 0.02)).clamp(0.02, 0.95);

        let total_cs = (secs * 100.0).round() as u64;
        for c in &mut self.cpu {
            let busy = (self.util * rng.between(0.5, 1.5)).min(0.98);
            let mut used = 0;
            for (m, share) in BUSY_SHARE.iter().enumerate().skip(1) {
                let cs = (total_cs as f64 * busy * share * rng.between(0.5, 1.5)).round() as u64;
                c[m] += cs;
                used += cs;
            }
            c[0] += total_cs.saturating_sub(used);
        }

        let m = &mut self.mem;
        let step = m.total / PAGE_KB / 2000;
        m.used = walk(rng, m.used, step, m.total / 10, m.total / 10 * 6);
        m.cached = walk(rng, m.cached, step / 2, m.total / 20, m.total / 4);
        m.buffers = walk(rng, m.buffers, step / 20, 4096, m.total / 20);
        m.slab = walk(rng, m.slab, step / 20, m.total / 100, m.total / 100 * 8);
        m.shmem = walk(rng, m.shmem, step / 50, 1024, m.total / 50);
        m.dirty = walk(rng, m.dirty, 2000, 0, 200_000);
        if m.swap_total > 0 {
            m.swap_free = walk(rng, m.swap_free, 16, m.swap_total / 2, m.swap_total);
        }

        let target = self.util * NCPU as f64 * rng.between(0.6, 1.4) + rng.between(0.0, 0.3);
        for (l, window) in self.load.iter_mut().zip([60.0, 300.0, 900.0]) {
            let decay = (-secs / window).exp();
            *l = *l * decay + target * (1.0 - decay);
        }

        for (fs, (.., blocks)) in self.fs.iter_mut().zip(FILESYSTEMS) {
            let written = rng.below(blocks + 1) * BLOCK;
            fs.avail = fs.avail.saturating_sub(written);
            if fs.files_free > 0 && rng.unit() < 0.2 {
                fs.files_free -= 1;
            }
        }

        for n in &mut self.net {
            let rx = (n.rate * secs * rng.between(0.5, 1.5)) as u64;
            let tx = (n.rate * secs * rng.between(0.2, 1.2)) as u64;
            n.counters[0] += rx;
            n.counters[1] += (rx as f64 / n.packet) as u64 + rng.below(3);
            n.counters[2] += tx;
            n.counters[3] += (tx as f64 / n.packet) as u64 + rng.below(3);
        }
        let interval_ms = self.interval_ms as u64;
        for d in &mut self.disk {
            d.read += (d.read_rate * secs * rng.between(0.0, 2.0)) as u64 / 512 * 512;
            d.written += (d.write_rate * secs * rng.between(0.0, 2.0)) as u64 / 512 * 512;
            d.io_ms += ((interval_ms as f64 * self.util * rng.between(0.0, 0.3)) as u64).min(interval_ms);
        }

        self.ctxt += (self.ctxt_rate * secs * rng.between(0.7, 1.3)) as u64;
        self.intr += (self.intr_rate * secs * rng.between(0.7, 1.3)) as u64;
        self.forks += (self.forks_rate * secs * rng.between(0.0, 2.0)).round() as u64;
        self.pgfault += (self.pgfault_rate * secs * rng.between(0.5, 1.5)) as u64;
        if rng.unit() < 0.1 {
            self.pgmajfault += 1 + rng.below(5);
        }
        self.procs_running = 1 + rng.below((self.util * NCPU as f64 * 2.0) as u64 + 1);
        self.procs_blocked = u64::from(rng.unit() < 0.05);
        self.tcp_inuse = (self.tcp_inuse + rng.below(7)).saturating_sub(3).max(2);
        self.tcp_estab = self.tcp_inuse.saturating_sub(rng.below(6)) / 2 + 1;

        for h in &mut self.hist {
            let n = ((h.rate * secs * rng.between(0.5, 1.5)).round() as u64).min(500);
            for _ in 0..n {
                // Skewed towards fast requests, with a long tail past the largest bucket.
                let u = rng.unit();
                let latency = 0.002 * (u * u * 9.0).exp();
                let b = BOUNDS
                    .iter()
                    .position(|&le| latency <= le)
                    .unwrap_or(BOUNDS.len());
                h.buckets[b] += 1;
                h.sum += latency;
                h.count += 1;
            }
        }
    }

    fn emit(&self, t_ms: i64, out: &mut impl Sink) {
        for (c, counters) in CPU_IDS.iter().zip(&self.cpu) {
            for (mode, cs) in CPU_MODES.iter().zip(counters) {
                out.sample(
                    "node_cpu_seconds_total",
                    &[("cpu", c), ("mode", mode)],
                    *cs as f64 / 100.0,
                );
            }
        }

        let m = &self.mem;
        let free = m.total.saturating_sub(m.used + m.cached + m.buffers + m.slab);
        let available = free + pages(m.cached as f64 * 0.8) + m.buffers;
        let active = pages(m.used as f64 * 0.7 + m.cached as f64 * 0.4);
        let inactive = (m.used + m.cached + m.buffers).saturating_sub(active);
        for (name, kb) in [
            ("node_memory_MemTotal_bytes", m.total),
            ("node_memory_MemFree_bytes", free),
            ("node_memory_MemAvailable_bytes", available),
            ("node_memory_Buffers_bytes", m.buffers),
            ("node_memory_Cached_bytes", m.cached),
            ("node_memory_Active_bytes", active),
            ("node_memory_Inactive_bytes", inactive),
            ("node_memory_Dirty_bytes", m.dirty),
            ("node_memory_Shmem_bytes", m.shmem),
            ("node_memory_Slab_bytes", m.slab),
            ("node_memory_SwapTotal_bytes", m.swap_total),
            ("node_memory_SwapFree_bytes", m.swap_free),
        ] {
            out.sample(name, &[], (kb * 1024) as f64);
        }

        for (name, l) in ["node_load1", "node_load5", "node_load15"].iter().zip(self.load) {
            out.sample(name, &[], (l * 100.0).round() / 100.0);
        }

        for (fs, (device, mountpoint, fstype, ..)) in self.fs.iter().zip(FILESYSTEMS) {
            let labels = [("device", device), ("fstype", fstype), ("mountpoint", mountpoint)];
            out.sample("node_filesystem_size_bytes", &labels, fs.size as f64);
            out.sample("node_filesystem_avail_bytes", &labels, fs.avail as f64);
            out.sample(
                "node_filesystem_free_bytes",
                &labels,
                (fs.avail + fs.reserved) as f64,
            );
            out.sample("node_filesystem_files", &labels, fs.files as f64);
            out.sample("node_filesystem_files_free", &labels, fs.files_free as f64);
        }

        for (n, device) in self.net.iter().zip(NET_DEVICES) {
            let labels = [("device", device)];
            out.sample("node_network_receive_bytes_total", &labels, n.counters[0] as f64);
            out.sample(
                "node_network_receive_packets_total",
                &labels,
                n.counters[1] as f64,
            );
            out.sample("node_network_transmit_bytes_total", &labels, n.counters[2] as f64);
            out.sample(
                "node_network_transmit_packets_total",
                &labels,
                n.counters[3] as f64,
            );
        }

        for (d, device) in self.disk.iter().zip(DISK_DEVICES) {
            let labels = [("device", device)];
            out.sample("node_disk_read_bytes_total", &labels, d.read as f64);
            out.sample("node_disk_written_bytes_total", &labels, d.written as f64);
            out.sample(
                "node_disk_io_time_seconds_total",
                &labels,
                d.io_ms as f64 / 1000.0,
            );
        }

        out.sample("node_boot_time_seconds", &[], self.boot_time as f64);
        out.sample(
            "node_uname_info",
            &[
                ("domainname", "(none)"),
                ("machine", "x86_64"),
                ("nodename", &self.nodename),
                ("release", "6.1.0-18-cloud-amd64"),
                ("sysname", "Linux"),
                ("version", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)"),
            ],
            1.0,
        );
        out.sample("node_time_seconds", &[], t_ms as f64 / 1000.0);
        out.sample("node_context_switches_total", &[], self.ctxt as f64);
        out.sample("node_intr_total", &[], self.intr as f64);
        out.sample("node_forks_total", &[], self.forks as f64);
        out.sample("node_procs_running", &[], self.procs_running as f64);
        out.sample("node_procs_blocked", &[], self.procs_blocked as f64);
        out.sample("node_vmstat_pgfault", &[], self.pgfault as f64);
        out.sample("node_vmstat_pgmajfault", &[], self.pgmajfault as f64);
        out.sample("node_sockstat_TCP_inuse", &[], self.tcp_inuse as f64);
        out.sample("node_netstat_Tcp_CurrEstab", &[], self.tcp_estab as f64);

        for (h, handler) in self.hist.iter().zip(HANDLERS) {
            let mut cumulative = 0;
            for (le, n) in LE.iter().zip(h.buckets) {
                cumulative += n;
                out.sample(
                    "http_request_duration_seconds_bucket",
                    &[("handler", handler), ("le", le)],
                    cumulative as f64,
                );
            }
            out.sample(
                "http_request_duration_seconds_sum",
                &[("handler", handler)],
                h.sum,
            );
            out.sample(
                "http_request_duration_seconds_count",
                &[("handler", handler)],
                h.count as f64,
            );
        }
    }
}

struct ValueSink<'a>(&'a mut Vec<f64>);

impl Sink for ValueSink<'_> {
    fn sample(&mut self, _: &str, _: &[(&str, &str)], value: f64) {
        self.0.push(value);
    }
}

struct LabelSink<'a> {
    host: &'a Host,
    out: Vec<Vec<(String, String)>>,
}

impl Sink for LabelSink<'_> {
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], _: f64) {
        let h = self.host;
        let mut set: Vec<(String, String)> = [
            ("__name__", name),
            ("job", "node"),
            ("instance", h.instance.as_str()),
            ("region", h.region),
            ("az", h.az.as_str()),
        ]
        .iter()
        .chain(labels)
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
        set.sort();
        self.out.push(set);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    fn fleet() -> Fleet {
        Fleet::new(20, 10_000, 3_600_000, 1_700_000_000_123, 42)
    }

    fn get<'a>(set: &'a [(String, String)], name: &str) -> Option<&'a str> {
        set.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// All values of one host over every step, series-major.
    fn run(host: &mut Host, steps: usize) -> Vec<Vec<f64>> {
        let mut rows = Vec::new();
        let mut v = Vec::new();
        for step in 0..steps {
            host.values(host.timestamp(step), &mut v);
            rows.push(v.clone());
            host.advance();
        }
        (0..rows[0].len())
            .map(|s| rows.iter().map(|r| r[s]).collect())
            .collect()
    }

    #[test]
    fn deterministic() {
        let f = fleet();
        for i in [0, 7, 19] {
            let (mut a, mut b) = (f.host(i), f.host(i));
            assert_eq!(a.series(), b.series());
            let (va, vb) = (run(&mut a, 50), run(&mut b, 50));
            let bits = |v: &Vec<Vec<f64>>| v.iter().flatten().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&va), bits(&vb));
        }
        // Different hosts differ.
        assert_ne!(run(&mut f.host(1), 5), run(&mut f.host(2), 5));
    }

    #[test]
    fn every_series_present_once_per_host() {
        let f = fleet();
        let mut all = BTreeSet::new();
        for i in 0..f.hosts {
            let h = f.host(i);
            let series = h.series();
            assert_eq!(series.len(), SERIES_PER_HOST);
            let mut v = Vec::new();
            h.values(h.timestamp(0), &mut v);
            assert_eq!(v.len(), SERIES_PER_HOST);
            for s in &series {
                assert!(
                    s.windows(2).all(|w| w[0].0 < w[1].0),
                    "labels sorted and unique: {s:?}"
                );
                assert_eq!(get(s, "instance"), Some(instance(i).as_str()));
                assert_eq!(get(s, "job"), Some("node"));
                assert!(get(s, "region").is_some() && get(s, "az").is_some());
                assert!(s.iter().all(|(_, v)| !v.is_empty()));
                assert!(all.insert(s.clone()), "duplicate series {s:?}");
            }
            let names: BTreeSet<_> = series.iter().filter_map(|s| get(s, "__name__")).collect();
            for want in [
                "node_cpu_seconds_total",
                "node_memory_MemTotal_bytes",
                "node_load15",
                "node_filesystem_avail_bytes",
                "node_network_transmit_packets_total",
                "node_disk_io_time_seconds_total",
                "node_boot_time_seconds",
                "node_uname_info",
                "node_time_seconds",
                "http_request_duration_seconds_bucket",
                "http_request_duration_seconds_sum",
                "http_request_duration_seconds_count",
            ] {
                assert!(names.contains(want), "{want} missing");
            }
        }
        assert_eq!(all.len() as u64, f.series());
    }

    #[test]
    fn value_shapes() {
        let f = fleet();
        for i in 0..5 {
            let mut h = f.host(i);
            let series = h.series();
            let times: Vec<i64> = (0..120).map(|s| h.timestamp(s)).collect();
            let values = run(&mut h, 120);
            for (s, vs) in series.iter().zip(&values) {
                let name = get(s, "__name__").unwrap_or_default();
                assert!(vs.iter().all(|v| v.is_finite() && *v >= 0.0), "{s:?}");
                let monotone = vs.windows(2).all(|w| w[0] <= w[1]);
                let constant = vs.windows(2).all(|w| w[0] == w[1]);
                if name.ends_with("_total")
                    || name.ends_with("_bucket")
                    || name.ends_with("_sum")
                    || name.ends_with("_count")
                    || name.starts_with("node_vmstat_")
                {
                    assert!(monotone, "counter {s:?} decreased");
                }
                if name == "node_cpu_seconds_total" {
                    assert!(
                        vs.iter().all(|v| (v * 100.0 - (v * 100.0).round()).abs() < 1e-6),
                        "centiseconds"
                    );
                }
                if name == "node_cpu_seconds_total" && get(s, "mode") == Some("idle") {
                    let grew = vs[119] - vs[0];
                    assert!(
                        grew > 119.0 * 10.0 * 0.02 && grew <= 119.0 * 10.0 + 1e-6,
                        "idle grew {grew}"
                    );
                }
                if name.starts_with("node_memory_") {
                    assert!(
                        vs.iter()
                            .all(|v| v.fract() == 0.0 && (*v as u64).is_multiple_of(1024)),
                        "{s:?}"
                    );
                }
                if matches!(
                    name,
                    "node_memory_MemTotal_bytes" | "node_boot_time_seconds" | "node_uname_info"
                ) || name == "node_filesystem_size_bytes"
                {
                    assert!(constant, "{s:?} should be constant");
                }
                if name == "node_filesystem_avail_bytes" {
                    assert!(
                        vs.windows(2)
                            .all(|w| w[1] <= w[0] && ((w[0] - w[1]) as u64).is_multiple_of(4096))
                    );
                }
                if name.starts_with("node_load") {
                    assert!(vs.iter().all(|v| ((v * 100.0).round() / 100.0 - v).abs() < 1e-12));
                }
                if name == "node_disk_io_time_seconds_total" {
                    assert!(
                        vs.iter()
                            .all(|v| (v * 1000.0 - (v * 1000.0).round()).abs() < 1e-6)
                    );
                }
                if name.starts_with("node_network_")
                    || (name.starts_with("node_disk_") && name.ends_with("bytes_total"))
                {
                    assert!(vs.iter().all(|v| v.fract() == 0.0));
                }
                if name == "node_time_seconds" {
                    let want: Vec<f64> = times.iter().map(|t| *t as f64 / 1000.0).collect();
                    assert_eq!(vs, &want);
                }
            }
        }
    }

    #[test]
    fn histogram_buckets_monotone_in_le() {
        let f = fleet();
        let mut h = f.host(3);
        let series = h.series();
        let values = run(&mut h, 200);
        for handler in HANDLERS {
            let mut by_le: BTreeMap<usize, &Vec<f64>> = BTreeMap::new();
            let mut count = None;
            for (s, vs) in series.iter().zip(&values) {
                if get(s, "handler") != Some(handler) {
                    continue;
                }
                match get(s, "__name__") {
                    Some("http_request_duration_seconds_bucket") => {
                        let le = get(s, "le").unwrap_or_default();
                        let pos = LE.iter().position(|x| *x == le).unwrap_or(usize::MAX);
                        by_le.insert(pos, vs);
                    }
                    Some("http_request_duration_seconds_count") => count = Some(vs),
                    _ => {}
                }
            }
            assert_eq!(by_le.len(), LE.len());
            let buckets: Vec<_> = by_le.values().collect();
            for step in 0..200 {
                assert!(
                    buckets.windows(2).all(|w| w[0][step] <= w[1][step]),
                    "step {step}"
                );
                assert_eq!(
                    Some(buckets[LE.len() - 1][step]),
                    count.map(|c| c[step]),
                    "+Inf equals _count"
                );
            }
            assert!(buckets[LE.len() - 1][199] > 0.0, "some requests observed");
        }
    }

    #[test]
    fn timestamps_in_range_and_increasing() {
        let end = 1_700_000_000_123;
        let f = Fleet::new(50, 10_000, 600_000, end, 1);
        assert_eq!(f.steps, 60);
        assert!(f.end_ms() <= end);
        for i in 0..f.hosts {
            let h = f.host(i);
            assert!(h.timestamp(0) >= f.start_ms);
            assert!(h.timestamp(f.steps - 1) < f.end_ms());
            assert_eq!(h.timestamp(1) - h.timestamp(0), 10_000);
        }
    }

    #[test]
    fn rng_ranges() {
        let mut r = Rng::new(7);
        for _ in 0..10_000 {
            assert!(r.below(10) < 10);
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
        }
        assert_eq!(r.below(0), 0);
    }
}
