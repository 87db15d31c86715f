//! The small collectors: `loadavg`, `filefd`, `time` and `uname`.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use exposition::MetricType;

use crate::error::{Error, Result};
use crate::read::{FileBuf, parse_f64, text};
use crate::{Family, sys};

/// The three load averages of `/proc/loadavg`.
pub(crate) fn parse_loadavg(s: &str) -> Option<[f64; 3]> {
    let mut fields = s.split_ascii_whitespace();
    let mut loads = [0.0; 3];
    for slot in &mut loads {
        *slot = parse_f64(fields.next()?)?;
    }
    Some(loads)
}

pub(crate) fn collect_loadavg(bytes: &[u8], path: &Path, out: &mut Vec<Family>) -> Result<()> {
    let [one, five, fifteen] = text(bytes)
        .and_then(parse_loadavg)
        .ok_or_else(|| Error::parse(path, "expected three load averages"))?;
    out.push(Family::single(
        "node_load1",
        "1m load average.",
        MetricType::Gauge,
        one,
    ));
    out.push(Family::single(
        "node_load5",
        "5m load average.",
        MetricType::Gauge,
        five,
    ));
    out.push(Family::single(
        "node_load15",
        "15m load average.",
        MetricType::Gauge,
        fifteen,
    ));
    Ok(())
}

/// Allocated and maximum file handles from `/proc/sys/fs/file-nr` (`allocated unused max`).
pub(crate) fn parse_file_nr(s: &str) -> Option<(f64, f64)> {
    let mut fields = s.split_ascii_whitespace();
    let allocated = parse_f64(fields.next()?)?;
    let _unused = fields.next()?;
    let maximum = parse_f64(fields.next()?)?;
    Some((allocated, maximum))
}

pub(crate) fn collect_filefd(bytes: &[u8], path: &Path, out: &mut Vec<Family>) -> Result<()> {
    let (allocated, maximum) = text(bytes)
        .and_then(parse_file_nr)
        .ok_or_else(|| Error::parse(path, "expected three numbers"))?;
    out.push(Family::single(
        "node_filefd_allocated",
        "File descriptor statistics: allocated.",
        MetricType::Gauge,
        allocated,
    ));
    out.push(Family::single(
        "node_filefd_maximum",
        "File descriptor statistics: maximum.",
        MetricType::Gauge,
        maximum,
    ));
    Ok(())
}

pub(crate) fn collect_uname(out: &mut Vec<Family>) -> Result<()> {
    let u = sys::uname().map_err(|source| Error::Syscall {
        call: "uname",
        source,
    })?;
    let mut family = Family::new(
        "node_uname_info",
        "Labeled system information as provided by the uname system call.",
        MetricType::Gauge,
    );
    family.push(
        vec![
            ("domainname", u.domainname),
            ("machine", u.machine),
            ("nodename", u.nodename),
            ("release", u.release),
            ("sysname", u.sysname),
            ("version", u.version),
        ],
        1.0,
    );
    out.push(family);
    Ok(())
}

/// The `time` collector's memory: the clocksource directories, listed once (they only change
/// when a clocksource driver is loaded).
#[derive(Debug, Default)]
pub(crate) struct TimeState {
    /// (device number, directory) per `clocksource<N>`.
    clocksources: Option<Vec<(String, PathBuf)>>,
}

fn list_clocksources(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        // Like node_exporter's glob: no directory, no clocksources.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(Error::Read {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut found: Vec<(String, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let device = name.strip_prefix("clocksource")?;
            device
                .starts_with(|c: char| c.is_ascii_digit())
                .then(|| (device.to_owned(), e.path()))
        })
        .collect();
    found.sort();
    Ok(found)
}

impl TimeState {
    pub(crate) fn collect(
        &mut self,
        sys_clocksource: &Path,
        buf: &mut FileBuf,
        out: &mut Vec<Family>,
    ) -> Result<()> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as f64 / 1e9)
            .unwrap_or(0.0);
        out.push(Family::single(
            "node_time_seconds",
            "System time in seconds since epoch (1970).",
            MetricType::Gauge,
            now,
        ));
        if let Some((zone, offset)) = sys::local_zone(now as i64) {
            let mut family = Family::new(
                "node_time_zone_offset_seconds",
                "System time zone offset in seconds.",
                MetricType::Gauge,
            );
            family.push(vec![("time_zone", zone)], offset as f64);
            out.push(family);
        }

        let sources = match &self.clocksources {
            Some(sources) => sources,
            None => self.clocksources.insert(list_clocksources(sys_clocksource)?),
        };
        let mut available = Family::new(
            "node_time_clocksource_available_info",
            "Available clocksources read from '/sys/devices/system/clocksource'.",
            MetricType::Gauge,
        );
        let mut current = Family::new(
            "node_time_clocksource_current_info",
            "Current clocksource read from '/sys/devices/system/clocksource'.",
            MetricType::Gauge,
        );
        let mut result = Ok(());
        for (device, dir) in sources {
            let path = dir.join("available_clocksource");
            match buf.read(&path) {
                Ok(bytes) => {
                    for source in text(bytes).unwrap_or_default().split_ascii_whitespace() {
                        available.push(
                            vec![("clocksource", source.to_owned()), ("device", device.clone())],
                            1.0,
                        );
                    }
                }
                Err(e) => result = Err(e),
            }
            let path = dir.join("current_clocksource");
            match buf.read(&path) {
                Ok(bytes) => {
                    let source = text(bytes).unwrap_or_default().trim();
                    current.push(
                        vec![("clocksource", source.to_owned()), ("device", device.clone())],
                        1.0,
                    );
                }
                Err(e) => result = Err(e),
            }
        }
        out.push(available);
        out.push(current);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loadavg() {
        assert_eq!(
            parse_loadavg("0.14 0.95 1.46 1/89 31071\n"),
            Some([0.14, 0.95, 1.46])
        );
        assert_eq!(parse_loadavg("0.14 0.95"), None);
        assert_eq!(parse_loadavg("a b c"), None);
        let mut out = Vec::new();
        let err = collect_loadavg(b"", Path::new("/proc/loadavg"), &mut out).unwrap_err();
        assert_eq!(
            err.to_string(),
            "parse /proc/loadavg: expected three load averages"
        );
    }

    #[test]
    fn file_nr() {
        assert_eq!(parse_file_nr("386\t0\t2466180\n"), Some((386.0, 2466180.0)));
        assert_eq!(parse_file_nr("386\t0"), None);
    }

    #[test]
    fn clocksources_from_a_fake_sysfs() {
        let dir = std::env::temp_dir().join(format!("hostmetrics-cs-{}", std::process::id()));
        let cs = dir.join("clocksource0");
        std::fs::create_dir_all(&cs).unwrap();
        std::fs::create_dir_all(dir.join("power")).unwrap();
        std::fs::write(cs.join("available_clocksource"), "tsc kvm-clock \n").unwrap();
        std::fs::write(cs.join("current_clocksource"), "tsc\n").unwrap();
        let mut state = TimeState::default();
        let mut out = Vec::new();
        state.collect(&dir, &mut FileBuf::default(), &mut out).unwrap();
        let family = |name: &str| out.iter().find(|f| f.name == name).unwrap();
        let available: Vec<&str> = family("node_time_clocksource_available_info")
            .samples
            .iter()
            .map(|s| s.labels[0].1.as_str())
            .collect();
        assert_eq!(available, ["tsc", "kvm-clock"]);
        let current = &family("node_time_clocksource_current_info").samples[0];
        assert_eq!(
            current.labels,
            [("clocksource", "tsc".to_owned()), ("device", "0".to_owned())]
        );
        assert!(family("node_time_seconds").samples[0].value > 1.5e9);
        std::fs::remove_dir_all(&dir).unwrap();
        // Files gone: the collector fails, but what it has still counts.
        out.clear();
        assert!(state.collect(&dir, &mut FileBuf::default(), &mut out).is_err());
        assert!(!family_names(&out).is_empty());
    }

    fn family_names(out: &[Family]) -> Vec<&str> {
        out.iter()
            .filter(|f| !f.samples.is_empty())
            .map(|f| f.name.as_ref())
            .collect()
    }
}
