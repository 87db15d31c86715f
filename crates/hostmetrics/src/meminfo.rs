//! The `meminfo` collector: one gauge per `/proc/meminfo` line, named as node_exporter names it
//! (`Active(anon):  12 kB` becomes `node_memory_Active_anon_bytes 12288`).

use exposition::MetricType;

use crate::Family;
use crate::read::{lines, parse_f64};

/// One parsed line: node_exporter's key (with `_bytes` when the line has a unit) and the value
/// (times 1024 when it has one: the kernel only writes `kB`).
pub(crate) fn parse_line(line: &str) -> Option<(String, f64)> {
    let mut fields = line.split_ascii_whitespace();
    let raw_key = fields.next()?.strip_suffix(':')?;
    let value = parse_f64(fields.next()?)?;
    let unit = fields.next();
    if fields.next().is_some() {
        return None;
    }
    let mut key = String::with_capacity(raw_key.len() + 6);
    // node_exporter rewrites `(…)` to `_…` with the greedy regex `\((.*)\)`.
    match (raw_key.find('('), raw_key.rfind(')')) {
        (Some(open), Some(close)) if open < close => {
            key.push_str(raw_key.get(..open)?);
            key.push('_');
            key.push_str(raw_key.get(open + 1..close)?);
            key.push_str(raw_key.get(close + 1..)?);
        }
        _ => key.push_str(raw_key),
    }
    let value = match unit {
        Some(_) => {
            key.push_str("_bytes");
            value * 1024.0
        }
        None => value,
    };
    Some((key, value))
}

pub(crate) fn collect(bytes: &[u8], out: &mut Vec<Family>) {
    for (key, value) in lines(bytes).filter_map(parse_line) {
        let name = format!("node_memory_{key}");
        if !exposition::is_metric_name(&name) {
            continue;
        }
        // node_exporter's rule, case-sensitive: `HugePages_Total` stays a gauge.
        let kind = if key.ends_with("_total") {
            MetricType::Counter
        } else {
            MetricType::Gauge
        };
        let help = format!("Memory information field {key}.");
        out.push(Family::single(name, help, kind, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_named_like_node_exporter() {
        let cases = [
            (
                "MemTotal:       24684096 kB",
                Some(("MemTotal_bytes", 25276514304.0)),
            ),
            (
                "Active(anon):       1544 kB",
                Some(("Active_anon_bytes", 1581056.0)),
            ),
            ("HugePages_Total:       0", Some(("HugePages_Total", 0.0))),
            ("Odd(a)(b):       1", Some(("Odd_a)(b", 1.0))),
            ("", None),
            ("NoColon 1 kB", None),
            ("Bad:  x kB", None),
            ("Long: 1 kB extra", None),
            ("Missing:", None),
        ];
        for (line, want) in cases {
            let got = parse_line(line);
            assert_eq!(got.as_ref().map(|(k, v)| (k.as_str(), *v)), want, "{line:?}");
        }
    }

    #[test]
    fn families() {
        let mut out = Vec::new();
        collect(b"MemFree: 2 kB\nFoo_total: 3\nweird\n", &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].name, "node_memory_MemFree_bytes");
        assert_eq!(out[0].help, "Memory information field MemFree_bytes.");
        assert_eq!(out[0].kind, MetricType::Gauge);
        assert_eq!(out[0].samples[0].value, 2048.0);
        assert_eq!(out[1].name, "node_memory_Foo_total");
        assert_eq!(out[1].kind, MetricType::Counter);
    }
}
