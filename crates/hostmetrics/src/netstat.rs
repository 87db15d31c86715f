//! The `netstat` collector: protocol counters from `/proc/net/netstat`, `/proc/net/snmp` and
//! `/proc/net/snmp6`, as untyped `node_netstat_<Proto>_<Field>`, limited to node_exporter's
//! default `--collector.netstat.fields`.

use exposition::MetricType;

use crate::Family;
use crate::read::{lines, parse_f64};

/// node_exporter's default field filter, matched by hand instead of with a regex:
///
/// ```text
/// ^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|OutMsgs)|
///   TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts)|
///   Tcp_(ActiveOpens|InSegs|OutSegs|OutRsts|PassiveOpens|RetransSegs|CurrEstab)|
///   Udp6?_(InDatagrams|OutDatagrams|NoPorts|RcvbufErrors|SndbufErrors))$
/// ```
pub(crate) fn field_included(key: &str) -> bool {
    if key.ends_with("_InErrors") || key.ends_with("_InErrs") {
        return true;
    }
    let Some((proto, field)) = key.split_once('_') else {
        return false;
    };
    match proto {
        "Ip" => field == "Forwarding",
        "Ip6" | "IpExt" => matches!(field, "InOctets" | "OutOctets"),
        "Icmp" | "Icmp6" => matches!(field, "InMsgs" | "OutMsgs"),
        "TcpExt" => {
            field.starts_with("Listen")
                || field.starts_with("Syncookies")
                || matches!(field, "TCPSynRetrans" | "TCPTimeouts")
        }
        "Tcp" => matches!(
            field,
            "ActiveOpens" | "InSegs" | "OutSegs" | "OutRsts" | "PassiveOpens" | "RetransSegs" | "CurrEstab"
        ),
        "Udp" | "Udp6" => matches!(
            field,
            "InDatagrams" | "OutDatagrams" | "NoPorts" | "RcvbufErrors" | "SndbufErrors"
        ),
        _ => false,
    }
}

/// Emits one family if `proto_field` (built in `key`) passes the filter and `value` parses.
fn emit(key: &mut String, proto: &str, field: &str, value: &str, out: &mut Vec<Family>) {
    key.clear();
    key.push_str(proto);
    key.push('_');
    key.push_str(field);
    if !field_included(key) {
        return;
    }
    let Some(value) = parse_f64(value) else {
        return;
    };
    let name = format!("node_netstat_{key}");
    if !exposition::is_metric_name(&name) {
        return;
    }
    let help = format!("Statistic {proto}{field}.");
    out.push(Family::single(name, help, MetricType::Untyped, value));
}

/// `/proc/net/netstat` and `/proc/net/snmp`: pairs of lines, `Proto: Name1 Name2 …` then
/// `Proto: v1 v2 …`. A pair whose protocols or counts disagree is skipped.
pub(crate) fn collect_pairs(bytes: &[u8], key: &mut String, out: &mut Vec<Family>) {
    let mut lines = lines(bytes).filter(|l| !l.is_empty());
    while let (Some(names), Some(values)) = (lines.next(), lines.next()) {
        let mut names = names.split(' ');
        let mut values = values.split(' ');
        let (Some(proto), Some(proto_again)) = (names.next(), values.next()) else {
            continue;
        };
        let Some(proto) = proto.strip_suffix(':') else {
            continue;
        };
        if proto_again.strip_suffix(':') != Some(proto) || names.clone().count() != values.clone().count() {
            continue;
        }
        for (field, value) in names.zip(values) {
            emit(key, proto, field, value, out);
        }
    }
}

/// `/proc/net/snmp6`: `Ip6InReceives  5` lines; the protocol is the name up to its first `6`.
pub(crate) fn collect_snmp6(bytes: &[u8], key: &mut String, out: &mut Vec<Family>) {
    for line in lines(bytes) {
        let mut fields = line.split_ascii_whitespace();
        let (Some(stat), Some(value)) = (fields.next(), fields.next()) else {
            continue;
        };
        let Some(six) = stat.find('6') else {
            continue;
        };
        let (proto, field) = stat.split_at(six + 1);
        emit(key, proto, field, value, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NETSTAT: &str = "\
TcpExt: SyncookiesSent SyncookiesRecv ListenOverflows TCPTimeouts DelayedACKs
TcpExt: 1 2 3 4 5
IpExt: InNoRoutes InOctets OutOctets
IpExt: 0 69127554498 68832797349
MPTcpExt: MPCapableSYNRX
MPTcpExt: 0
";

    const SNMP: &str = "\
Ip: Forwarding DefaultTTL InReceives
Ip: 2 64 4185788
Tcp: RtoAlgorithm MaxConn ActiveOpens CurrEstab InErrs
Tcp: 1 -1 5469 4 0
Udp: InDatagrams NoPorts InErrors
Udp: 156 0 0
UdpLite: InDatagrams InErrors
UdpLite: 0 7
Broken: A B
Broken: 1
";

    const SNMP6: &str = "\
Ip6InReceives                   \t5
Ip6InOctets                     \t640
Icmp6InMsgs                     \t5
Icmp6InErrors                   \t1
Udp6InDatagrams                 \t0
UdpLite6InErrors                \t0
nonsense
";

    fn collected(f: impl FnOnce(&mut String, &mut Vec<Family>)) -> Vec<(String, String, f64)> {
        let mut out = Vec::new();
        f(&mut String::new(), &mut out);
        out.into_iter()
            .map(|fam| {
                assert_eq!(fam.kind, MetricType::Untyped);
                (fam.name.into_owned(), fam.help.into_owned(), fam.samples[0].value)
            })
            .collect()
    }

    #[test]
    fn netstat_pairs() {
        let got = collected(|k, o| collect_pairs(NETSTAT.as_bytes(), k, o));
        let names: Vec<&str> = got.iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "node_netstat_TcpExt_SyncookiesSent",
                "node_netstat_TcpExt_SyncookiesRecv",
                "node_netstat_TcpExt_ListenOverflows",
                "node_netstat_TcpExt_TCPTimeouts",
                "node_netstat_IpExt_InOctets",
                "node_netstat_IpExt_OutOctets",
            ]
        );
        assert_eq!(got[0].1, "Statistic TcpExtSyncookiesSent.");
        assert_eq!(got[4].2, 69127554498.0);
    }

    #[test]
    fn snmp_pairs() {
        let got = collected(|k, o| collect_pairs(SNMP.as_bytes(), k, o));
        let names: Vec<(&str, f64)> = got.iter().map(|(n, _, v)| (n.as_str(), *v)).collect();
        assert_eq!(
            names,
            [
                ("node_netstat_Ip_Forwarding", 2.0),
                ("node_netstat_Tcp_ActiveOpens", 5469.0),
                ("node_netstat_Tcp_CurrEstab", 4.0),
                ("node_netstat_Tcp_InErrs", 0.0),
                ("node_netstat_Udp_InDatagrams", 156.0),
                ("node_netstat_Udp_NoPorts", 0.0),
                ("node_netstat_Udp_InErrors", 0.0),
                ("node_netstat_UdpLite_InErrors", 7.0),
            ]
        );
    }

    #[test]
    fn snmp6_lines() {
        let got = collected(|k, o| collect_snmp6(SNMP6.as_bytes(), k, o));
        let names: Vec<(&str, &str)> = got.iter().map(|(n, h, _)| (n.as_str(), h.as_str())).collect();
        assert_eq!(
            names,
            [
                ("node_netstat_Ip6_InOctets", "Statistic Ip6InOctets."),
                ("node_netstat_Icmp6_InMsgs", "Statistic Icmp6InMsgs."),
                ("node_netstat_Icmp6_InErrors", "Statistic Icmp6InErrors."),
                ("node_netstat_Udp6_InDatagrams", "Statistic Udp6InDatagrams."),
                ("node_netstat_UdpLite6_InErrors", "Statistic UdpLite6InErrors."),
            ]
        );
    }

    #[test]
    fn filter_matches_the_regex() {
        for key in [
            "Foo_InErrors",
            "Tcp_InErrs",
            "Ip_Forwarding",
            "Ip6_OutOctets",
            "IpExt_InOctets",
            "Icmp_OutMsgs",
            "TcpExt_ListenDrops",
            "TcpExt_Syncookies",
            "TcpExt_TCPSynRetrans",
            "Tcp_RetransSegs",
            "Udp6_SndbufErrors",
        ] {
            assert!(field_included(key), "{key}");
        }
        for key in [
            "Ip_DefaultTTL",
            "Ip6_InReceives",
            "IpExt_InNoRoutes",
            "Icmp6_InDestUnreachs",
            "TcpExt_TCPSynRetransX",
            "Tcp_MaxConn",
            "UdpLite_InDatagrams",
            "InErrors",
            "Forwarding",
        ] {
            assert!(!field_included(key), "{key}");
        }
    }
}
