//! The `diskstats` collector: `/proc/diskstats` counters per block device, and the udev
//! properties node_exporter 1.5 turns into `node_disk_info`, `node_disk_filesystem_info`,
//! `node_disk_device_mapper_info` and `node_disk_ata_*`. Partitions, RAM disks, loop and floppy
//! devices are skipped by node_exporter's default
//! `--collector.diskstats.device-exclude=^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$`.

use std::fmt::Write as _;
use std::path::PathBuf;

use exposition::MetricType;

use crate::Family;
use crate::read::{FileBuf, lines, parse_f64, parse_u64};

/// "Standard UNIX 512-byte sectors", whatever the device's own sector size.
const SECTOR_BYTES: f64 = 512.0;
/// The kernel counts I/O time in milliseconds; node_exporter multiplies by this constant.
const SECONDS_PER_TICK: f64 = 1.0 / 1000.0;

/// How node_exporter reports each column after major, minor and name: family, HELP, type and
/// the factor applied.
const COLUMNS: [(&str, &str, MetricType, f64); 17] = {
    use MetricType::{Counter, Gauge};
    [
        (
            "node_disk_reads_completed_total",
            "The total number of reads completed successfully.",
            Counter,
            1.0,
        ),
        (
            "node_disk_reads_merged_total",
            "The total number of reads merged.",
            Counter,
            1.0,
        ),
        (
            "node_disk_read_bytes_total",
            "The total number of bytes read successfully.",
            Counter,
            SECTOR_BYTES,
        ),
        (
            "node_disk_read_time_seconds_total",
            "The total number of seconds spent by all reads.",
            Counter,
            SECONDS_PER_TICK,
        ),
        (
            "node_disk_writes_completed_total",
            "The total number of writes completed successfully.",
            Counter,
            1.0,
        ),
        (
            "node_disk_writes_merged_total",
            "The number of writes merged.",
            Counter,
            1.0,
        ),
        (
            "node_disk_written_bytes_total",
            "The total number of bytes written successfully.",
            Counter,
            SECTOR_BYTES,
        ),
        (
            "node_disk_write_time_seconds_total",
            "This is the total number of seconds spent by all writes.",
            Counter,
            SECONDS_PER_TICK,
        ),
        (
            "node_disk_io_now",
            "The number of I/Os currently in progress.",
            Gauge,
            1.0,
        ),
        (
            "node_disk_io_time_seconds_total",
            "Total seconds spent doing I/Os.",
            Counter,
            SECONDS_PER_TICK,
        ),
        (
            "node_disk_io_time_weighted_seconds_total",
            "The weighted # of seconds spent doing I/Os.",
            Counter,
            SECONDS_PER_TICK,
        ),
        (
            "node_disk_discards_completed_total",
            "The total number of discards completed successfully.",
            Counter,
            1.0,
        ),
        (
            "node_disk_discards_merged_total",
            "The total number of discards merged.",
            Counter,
            1.0,
        ),
        (
            "node_disk_discarded_sectors_total",
            "The total number of sectors discarded successfully.",
            Counter,
            1.0,
        ),
        (
            "node_disk_discard_time_seconds_total",
            "This is the total number of seconds spent by all discards.",
            Counter,
            SECONDS_PER_TICK,
        ),
        (
            "node_disk_flush_requests_total",
            "The total number of flush requests completed successfully",
            Counter,
            1.0,
        ),
        (
            "node_disk_flush_requests_time_seconds_total",
            "This is the total number of seconds spent by all flush requests.",
            Counter,
            SECONDS_PER_TICK,
        ),
    ]
};

/// node_exporter's default exclusion, matched by hand.
pub(crate) fn device_excluded(name: &str) -> bool {
    // Every alternative ends in `\d+$`: split the trailing digits off first.
    let stem = name.trim_end_matches(|c: char| c.is_ascii_digit());
    if stem.len() == name.len() {
        return false;
    }
    match stem {
        "ram" | "loop" | "fd" => true,
        _ => {
            let b = stem.as_bytes();
            // (h|s|v|xv)d[a-z]
            let disk = match b {
                [p, b'd', l] => matches!(p, b'h' | b's' | b'v') && l.is_ascii_lowercase(),
                [b'x', b'v', b'd', l] => l.is_ascii_lowercase(),
                _ => false,
            };
            // nvme\d+n\d+p
            disk || stem
                .strip_prefix("nvme")
                .and_then(|rest| rest.strip_suffix('p'))
                .and_then(|rest| rest.split_once('n'))
                .is_some_and(|(ctrl, ns)| {
                    !ctrl.is_empty()
                        && !ns.is_empty()
                        && ctrl.bytes().all(|c| c.is_ascii_digit())
                        && ns.bytes().all(|c| c.is_ascii_digit())
                })
        }
    }
}

/// One `/proc/diskstats` line: major, minor, name and up to 17 counters (11 before Linux 4.18,
/// 15 before 5.5). `count` says how many the kernel wrote. Lines with fewer than 11 (partitions
/// on 2.6 kernels) are dropped, as node_exporter's procfs library drops them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DiskLine<'a> {
    pub major: u32,
    pub minor: u32,
    pub name: &'a str,
    pub stats: [u64; 17],
    pub count: usize,
}

pub(crate) fn parse_line(line: &str) -> Option<DiskLine<'_>> {
    let mut fields = line.split_ascii_whitespace();
    let major = u32::try_from(parse_u64(fields.next()?)?).ok()?;
    let minor = u32::try_from(parse_u64(fields.next()?)?).ok()?;
    let name = fields.next()?;
    let mut stats = [0; 17];
    let mut count = 0;
    for (slot, field) in stats.iter_mut().zip(fields) {
        *slot = parse_u64(field)?;
        count += 1;
    }
    (count >= 11).then_some(DiskLine {
        major,
        minor,
        name,
        stats,
        count,
    })
}

/// The udev properties (`E:KEY=value` lines of `/run/udev/data/b<major>:<minor>`) node_exporter
/// reports; empty when absent.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Udev<'a> {
    pub path: &'a str,
    pub wwn: &'a str,
    pub model: &'a str,
    /// node_exporter 1.5's `serial` label (later versions prefer `SCSI_IDENT_SERIAL`).
    pub serial: &'a str,
    pub revision: &'a str,
    pub fs_type: &'a str,
    pub fs_usage: &'a str,
    pub fs_uuid: &'a str,
    pub fs_version: &'a str,
    pub dm_name: &'a str,
    pub dm_uuid: &'a str,
    pub dm_vg_name: &'a str,
    pub dm_lv_name: &'a str,
    pub dm_lv_layer: &'a str,
    pub ata: &'a str,
    /// Present ATA attributes, raw: write cache, write cache enabled, rotation rate.
    pub ata_attrs: [Option<&'a str>; 3],
}

const ATA_FAMILIES: [(&str, &str); 3] = [
    ("node_disk_ata_write_cache", "ATA disk has a write cache."),
    (
        "node_disk_ata_write_cache_enabled",
        "ATA disk has its write cache enabled.",
    ),
    (
        "node_disk_ata_rotation_rate_rpm",
        "ATA disk rotation rate in RPMs (0 for SSDs).",
    ),
];

pub(crate) fn parse_udev(text: &str) -> Udev<'_> {
    let mut u = Udev::default();
    for line in text.lines() {
        let Some((key, value)) = line.strip_prefix("E:").and_then(|p| p.split_once('=')) else {
            continue;
        };
        let slot = match key {
            "ID_PATH" => &mut u.path,
            "ID_WWN" => &mut u.wwn,
            "ID_MODEL" => &mut u.model,
            "ID_SERIAL_SHORT" => &mut u.serial,
            "ID_REVISION" => &mut u.revision,
            "ID_FS_TYPE" => &mut u.fs_type,
            "ID_FS_USAGE" => &mut u.fs_usage,
            "ID_FS_UUID" => &mut u.fs_uuid,
            "ID_FS_VERSION" => &mut u.fs_version,
            "DM_NAME" => &mut u.dm_name,
            "DM_UUID" => &mut u.dm_uuid,
            "DM_VG_NAME" => &mut u.dm_vg_name,
            "DM_LV_NAME" => &mut u.dm_lv_name,
            "DM_LV_LAYER" => &mut u.dm_lv_layer,
            "ID_ATA" => &mut u.ata,
            "ID_ATA_WRITE_CACHE" => {
                u.ata_attrs[0] = Some(value);
                continue;
            }
            "ID_ATA_WRITE_CACHE_ENABLED" => {
                u.ata_attrs[1] = Some(value);
                continue;
            }
            "ID_ATA_ROTATION_RATE_RPM" => {
                u.ata_attrs[2] = Some(value);
                continue;
            }
            _ => continue,
        };
        *slot = value;
    }
    u
}

#[derive(Debug)]
pub(crate) struct DiskState {
    udev_dir: PathBuf,
    udev_buf: FileBuf,
    name: String,
}

impl DiskState {
    pub(crate) fn new(udev_dir: PathBuf) -> Self {
        Self {
            udev_dir,
            udev_buf: FileBuf::default(),
            name: String::new(),
        }
    }

    pub(crate) fn collect(&mut self, bytes: &[u8], out: &mut Vec<Family>) {
        let mut stats: Vec<Family> = COLUMNS
            .iter()
            .map(|&(name, help, kind, _)| Family::new(name, help, kind))
            .collect();
        let mut info = Family::new(
            "node_disk_info",
            "Info of /sys/block/<block_device>.",
            MetricType::Gauge,
        );
        let mut fs_info = Family::new(
            "node_disk_filesystem_info",
            "Info about disk filesystem.",
            MetricType::Gauge,
        );
        let mut dm_info = Family::new(
            "node_disk_device_mapper_info",
            "Info about disk device mapper.",
            MetricType::Gauge,
        );
        let mut ata: Vec<Family> = ATA_FAMILIES
            .iter()
            .map(|&(name, help)| Family::new(name, help, MetricType::Gauge))
            .collect();

        for disk in lines(bytes).filter_map(parse_line) {
            if device_excluded(disk.name) {
                continue;
            }
            let device = || ("device", disk.name.to_owned());

            self.name.clear();
            let _ = write!(self.name, "b{}:{}", disk.major, disk.minor);
            // No udev database (containers, minimal systems) means empty labels, as in
            // node_exporter.
            let udev_text = match self.udev_buf.read(&self.udev_dir.join(&self.name)) {
                Ok(bytes) => crate::read::text(bytes).unwrap_or_default(),
                Err(_) => "",
            };
            let udev = parse_udev(udev_text);

            info.push(
                vec![
                    device(),
                    ("major", disk.major.to_string()),
                    ("minor", disk.minor.to_string()),
                    ("model", udev.model.to_owned()),
                    ("path", udev.path.to_owned()),
                    ("revision", udev.revision.to_owned()),
                    ("serial", udev.serial.to_owned()),
                    ("wwn", udev.wwn.to_owned()),
                ],
                1.0,
            );
            for ((family, column), &raw) in stats.iter_mut().zip(&COLUMNS).zip(&disk.stats).take(disk.count) {
                family.push(vec![device()], raw as f64 * column.3);
            }
            if !udev.fs_type.is_empty() {
                fs_info.push(
                    vec![
                        device(),
                        ("type", udev.fs_type.to_owned()),
                        ("usage", udev.fs_usage.to_owned()),
                        ("uuid", udev.fs_uuid.to_owned()),
                        ("version", udev.fs_version.to_owned()),
                    ],
                    1.0,
                );
            }
            if !udev.dm_name.is_empty() {
                dm_info.push(
                    vec![
                        device(),
                        ("lv_layer", udev.dm_lv_layer.to_owned()),
                        ("lv_name", udev.dm_lv_name.to_owned()),
                        ("name", udev.dm_name.to_owned()),
                        ("uuid", udev.dm_uuid.to_owned()),
                        ("vg_name", udev.dm_vg_name.to_owned()),
                    ],
                    1.0,
                );
            }
            if !udev.ata.is_empty() {
                for (family, raw) in ata.iter_mut().zip(udev.ata_attrs) {
                    if let Some(value) = raw.and_then(parse_f64) {
                        family.push(vec![device()], value);
                    }
                }
            }
        }
        out.extend(stats);
        out.push(info);
        out.push(fs_info);
        out.push(dm_info);
        out.extend(ata);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DISKSTATS: &str = "\
   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
 254       0 vda 2406079 84679 90500354 6212632 3674994 983771 295577496 1446941 0 564868 7918158 514852 23 238571072 217577 1112862 41006
 254       1 vda1 10 0 80 1 0 0 0 0 0 1 1 0 0 0 0 0 0
 253       0 zram0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
   8       0 sdb 1 2 3 4 5 6 7 8 9 10 11
   8       1 sdx 1 2 x
   9       0 md0 1 2 3 4
";

    #[test]
    fn lines_of_every_kernel_vintage() {
        let parsed: Vec<_> = lines(DISKSTATS.as_bytes()).filter_map(parse_line).collect();
        let names: Vec<(&str, usize)> = parsed.iter().map(|d| (d.name, d.count)).collect();
        assert_eq!(
            names,
            [
                ("loop0", 17),
                ("vda", 17),
                ("vda1", 17),
                ("zram0", 17),
                ("sdb", 11)
            ]
        );
        assert_eq!(parsed[1].major, 254);
        assert_eq!(parsed[1].stats[16], 41006);
    }

    #[test]
    fn exclusion_matches_the_regex() {
        for name in [
            "ram0",
            "loop12",
            "fd0",
            "sda1",
            "hdb2",
            "vda10",
            "xvda1",
            "nvme0n1p1",
            "nvme10n2p33",
        ] {
            assert!(device_excluded(name), "{name}");
        }
        for name in [
            "vda",
            "sda",
            "zram0",
            "nvme0n1",
            "md0",
            "dm-0",
            "sdaa1",
            "xvd1",
            "nvmen1p1",
            "nvme0np1",
            "loop",
            "mmcblk0p1",
            "sr0",
        ] {
            assert!(!device_excluded(name), "{name}");
        }
    }

    #[test]
    fn udev_properties() {
        let text = "S:disk/by-id/x\nE:ID_MODEL=Samsung_SSD\nE:ID_SERIAL_SHORT=S3Z\nE:ID_PATH=pci-0000:00:1f.2-ata-1\n\
                    E:ID_FS_TYPE=ext4\nE:ID_ATA=1\nE:ID_ATA_ROTATION_RATE_RPM=0\nE:ID_ATA_WRITE_CACHE=x\nE:broken\nG:systemd\n";
        let u = parse_udev(text);
        assert_eq!(u.model, "Samsung_SSD");
        assert_eq!(u.serial, "S3Z");
        assert_eq!(u.path, "pci-0000:00:1f.2-ata-1");
        assert_eq!(u.fs_type, "ext4");
        assert_eq!(u.ata_attrs, [Some("x"), None, Some("0")]);
        let u = parse_udev("E:SCSI_IDENT_SERIAL=ABC\nE:ID_SERIAL_SHORT=S3Z\n");
        assert_eq!(u.serial, "S3Z");
    }

    #[test]
    fn families() {
        let dir = std::env::temp_dir().join(format!("hostmetrics-udev-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("b8:0"),
            "E:ID_MODEL=M\nE:ID_ATA=1\nE:ID_ATA_ROTATION_RATE_RPM=7200\nE:ID_ATA_WRITE_CACHE=x\nE:DM_NAME=root\n",
        )
        .unwrap();
        let mut state = DiskState::new(dir.clone());
        let mut out = Vec::new();
        state.collect(DISKSTATS.as_bytes(), &mut out);
        let family = |name: &str| out.iter().find(|f| f.name == name).unwrap();
        let devices: Vec<&str> = family("node_disk_info")
            .samples
            .iter()
            .map(|s| s.labels[0].1.as_str())
            .collect();
        assert_eq!(devices, ["vda", "zram0", "sdb"]);
        assert_eq!(
            family("node_disk_read_bytes_total").samples[0].value,
            90500354.0 * 512.0
        );
        assert_eq!(
            family("node_disk_read_time_seconds_total").samples[0].value,
            6212632.0 * 0.001
        );
        assert_eq!(
            family("node_disk_discarded_sectors_total").samples[0].value,
            238571072.0
        );
        // sdb's kernel wrote 11 columns: no discard or flush samples for it.
        assert_eq!(
            family("node_disk_io_time_weighted_seconds_total").samples.len(),
            3
        );
        assert_eq!(family("node_disk_discards_completed_total").samples.len(), 2);
        let sdb = &family("node_disk_info").samples[2];
        assert_eq!(sdb.labels[3], ("model", "M".to_owned()));
        assert_eq!(family("node_disk_ata_rotation_rate_rpm").samples[0].value, 7200.0);
        assert!(family("node_disk_ata_write_cache").samples.is_empty());
        assert_eq!(
            family("node_disk_device_mapper_info").samples[0].labels[3],
            ("name", "root".to_owned())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
