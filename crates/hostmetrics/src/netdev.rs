//! The `netdev` collector: per-interface counters from `/proc/net/dev`, plus
//! `receive_nohandler` from sysfs, for every interface but `lo` (node_exporter's default
//! `--collector.netdev.device-exclude=^lo$`).
//!
//! node_exporter 1.5 reads these over netlink and folds the detailed error counters into the
//! `/proc/net/dev` columns the same way the kernel does when it writes that file, so the values
//! agree; `rx_nohandler` is the one netlink counter `/proc/net/dev` does not show.

use std::path::{Path, PathBuf};

use exposition::MetricType;

use crate::Family;
use crate::read::{FileBuf, lines, parse_u64};

/// `/proc/net/dev`'s sixteen columns in order, as node_exporter names the families
/// (`node_network_<column>_total`, HELP `Network device statistic <column>.`).
const COLUMNS: [(&str, &str); 16] = [
    (
        "node_network_receive_bytes_total",
        "Network device statistic receive_bytes.",
    ),
    (
        "node_network_receive_packets_total",
        "Network device statistic receive_packets.",
    ),
    (
        "node_network_receive_errs_total",
        "Network device statistic receive_errs.",
    ),
    (
        "node_network_receive_drop_total",
        "Network device statistic receive_drop.",
    ),
    (
        "node_network_receive_fifo_total",
        "Network device statistic receive_fifo.",
    ),
    (
        "node_network_receive_frame_total",
        "Network device statistic receive_frame.",
    ),
    (
        "node_network_receive_compressed_total",
        "Network device statistic receive_compressed.",
    ),
    (
        "node_network_receive_multicast_total",
        "Network device statistic receive_multicast.",
    ),
    (
        "node_network_transmit_bytes_total",
        "Network device statistic transmit_bytes.",
    ),
    (
        "node_network_transmit_packets_total",
        "Network device statistic transmit_packets.",
    ),
    (
        "node_network_transmit_errs_total",
        "Network device statistic transmit_errs.",
    ),
    (
        "node_network_transmit_drop_total",
        "Network device statistic transmit_drop.",
    ),
    (
        "node_network_transmit_fifo_total",
        "Network device statistic transmit_fifo.",
    ),
    (
        "node_network_transmit_colls_total",
        "Network device statistic transmit_colls.",
    ),
    (
        "node_network_transmit_carrier_total",
        "Network device statistic transmit_carrier.",
    ),
    (
        "node_network_transmit_compressed_total",
        "Network device statistic transmit_compressed.",
    ),
];

/// node_exporter's default device filter, `^lo$`.
pub(crate) fn device_excluded(name: &str) -> bool {
    name == "lo"
}

/// One interface line: `  eth0: 1 2 3 … 16`. The name ends at the last `:`, as in procfs.
pub(crate) fn parse_line(line: &str) -> Option<(&str, [u64; 16])> {
    let (name, rest) = line.rsplit_once(':')?;
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    let mut values = [0; 16];
    let mut fields = rest.split_ascii_whitespace();
    for slot in &mut values {
        *slot = parse_u64(fields.next()?)?;
    }
    Some((name, values))
}

#[derive(Debug, Default)]
pub(crate) struct NetDevState {
    buf: FileBuf,
    path: PathBuf,
}

impl NetDevState {
    pub(crate) fn collect(&mut self, bytes: &[u8], sys_net: &Path, out: &mut Vec<Family>) {
        let mut families: Vec<Family> = COLUMNS
            .iter()
            .map(|&(name, help)| Family::new(name, help, MetricType::Counter))
            .collect();
        let mut nohandler = Family::new(
            "node_network_receive_nohandler_total",
            "Network device statistic receive_nohandler.",
            MetricType::Counter,
        );
        // The two header lines have no numbers after their last `|`/`:` and fail to parse.
        for (device, values) in lines(bytes).filter_map(parse_line) {
            if device_excluded(device) {
                continue;
            }
            for (family, value) in families.iter_mut().zip(values) {
                family.push(vec![("device", device.to_owned())], value as f64);
            }
            self.path.clear();
            self.path.push(sys_net);
            self.path.push(device);
            self.path.push("statistics/rx_nohandler");
            let count = self
                .buf
                .read(&self.path)
                .ok()
                .and_then(crate::read::text)
                .and_then(|s| parse_u64(s.trim()));
            if let Some(count) = count {
                nohandler.push(vec![("device", device.to_owned())], count as f64);
            }
        }
        out.extend(families);
        out.push(nohandler);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NET_DEV: &str = "\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 68832964112 4171834    0    0    0     0          0         0 68832964112 4171834    0    0    0     0       0          0
  eth0: 294827376   14026    1    2    3     4          5         6   965325   10935    7    8    9    10       11          12
  bad0: 1 2 3
";

    #[test]
    fn lines() {
        let parsed: Vec<_> = super::lines(NET_DEV.as_bytes()).filter_map(parse_line).collect();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].0, "lo");
        assert_eq!(
            parsed[1],
            (
                "eth0",
                [
                    294827376, 14026, 1, 2, 3, 4, 5, 6, 965325, 10935, 7, 8, 9, 10, 11, 12
                ]
            )
        );
    }

    #[test]
    fn families_skip_lo() {
        let mut state = NetDevState::default();
        let mut out = Vec::new();
        state.collect(NET_DEV.as_bytes(), Path::new("/nonexistent"), &mut out);
        assert_eq!(out.len(), 17);
        for family in &out[..16] {
            assert_eq!(family.samples.len(), 1, "{}", family.name);
            assert_eq!(family.samples[0].labels, [("device", "eth0".to_owned())]);
        }
        assert_eq!(out[13].name, "node_network_transmit_colls_total");
        assert_eq!(out[13].samples[0].value, 10.0);
        // No sysfs here: no made-up zero.
        assert!(out[16].samples.is_empty());
    }
}
