//! The per-probe registry: gauges a prober registers as it goes, written out like Go's
//! client_golang does (families sorted by name, samples by label values, a family without
//! samples left out). A family appears only once registered, which is how blackbox_exporter
//! decides which series a failed probe still reports; the probers mirror its registration order.

use exposition::{MetricType, write_help, write_sample, write_type};

/// Names and HELP texts, exactly as blackbox_exporter 0.23 writes them.
pub mod names {
    pub const SUCCESS: (&str, &str) = ("probe_success", "Displays whether or not the probe was a success");
    pub const DURATION: (&str, &str) = (
        "probe_duration_seconds",
        "Returns how long the probe took to complete in seconds",
    );
    pub const DNS_LOOKUP_TIME: (&str, &str) = (
        "probe_dns_lookup_time_seconds",
        "Returns the time taken for probe dns lookup in seconds",
    );
    pub const IP_PROTOCOL: (&str, &str) = (
        "probe_ip_protocol",
        "Specifies whether probe ip protocol is IP4 or IP6",
    );
    pub const IP_ADDR_HASH: (&str, &str) = (
        "probe_ip_addr_hash",
        "Specifies the hash of IP address. It's useful to detect if the IP address changes.",
    );
    pub const FAILED_DUE_TO_REGEX: (&str, &str) = (
        "probe_failed_due_to_regex",
        "Indicates if probe failed due to regex",
    );

    pub const HTTP_DURATION: (&str, &str) = (
        "probe_http_duration_seconds",
        "Duration of http request by phase, summed over all redirects",
    );
    pub const HTTP_CONTENT_LENGTH: (&str, &str) =
        ("probe_http_content_length", "Length of http content response");
    pub const HTTP_UNCOMPRESSED_BODY_LENGTH: (&str, &str) = (
        "probe_http_uncompressed_body_length",
        "Length of uncompressed response body",
    );
    pub const HTTP_REDIRECTS: (&str, &str) = ("probe_http_redirects", "The number of redirects");
    pub const HTTP_SSL: (&str, &str) = (
        "probe_http_ssl",
        "Indicates if SSL was used for the final redirect",
    );
    pub const HTTP_STATUS_CODE: (&str, &str) = ("probe_http_status_code", "Response HTTP status code");
    pub const HTTP_VERSION: (&str, &str) = (
        "probe_http_version",
        "Returns the version of HTTP of the probe response",
    );
    pub const HTTP_LAST_MODIFIED: (&str, &str) = (
        "probe_http_last_modified_timestamp_seconds",
        "Returns the Last-Modified HTTP response header in unixtime",
    );

    // blackbox_exporter 0.23 shares these options between the HTTP and TCP probers, with these
    // (sic) texts.
    pub const SSL_EARLIEST_CERT_EXPIRY: (&str, &str) = (
        "probe_ssl_earliest_cert_expiry",
        "Returns last SSL chain expiry in unixtime",
    );
    pub const SSL_LAST_CHAIN_EXPIRY: (&str, &str) = (
        "probe_ssl_last_chain_expiry_timestamp_seconds",
        "Returns last SSL chain expiry in timestamp",
    );
    pub const SSL_LAST_CHAIN_INFO: (&str, &str) = (
        "probe_ssl_last_chain_info",
        "Contains SSL leaf certificate information",
    );
    pub const TLS_VERSION_INFO: (&str, &str) = (
        "probe_tls_version_info",
        "Returns the TLS version used or NaN when unknown",
    );

    pub const DNS_DURATION: (&str, &str) = ("probe_dns_duration_seconds", "Duration of DNS request by phase");
    pub const DNS_ANSWER_RRS: (&str, &str) = (
        "probe_dns_answer_rrs",
        "Returns number of entries in the answer resource record list",
    );
    pub const DNS_AUTHORITY_RRS: (&str, &str) = (
        "probe_dns_authority_rrs",
        "Returns number of entries in the authority resource record list",
    );
    pub const DNS_ADDITIONAL_RRS: (&str, &str) = (
        "probe_dns_additional_rrs",
        "Returns number of entries in the additional resource record list",
    );
    pub const DNS_QUERY_SUCCEEDED: (&str, &str) = (
        "probe_dns_query_succeeded",
        "Displays whether or not the query was executed successfully",
    );
    pub const DNS_SERIAL: (&str, &str) = ("probe_dns_serial", "Returns the serial number of the zone");

    pub const ICMP_DURATION: (&str, &str) =
        ("probe_icmp_duration_seconds", "Duration of icmp request by phase");
    pub const ICMP_REPLY_HOP_LIMIT: (&str, &str) = (
        "probe_icmp_reply_hop_limit",
        "Replied packet hop limit (TTL for ipv4)",
    );
}

/// A registered gauge without labels.
#[derive(Clone, Copy, Debug)]
pub struct Gauge(usize);

/// A registered gauge family with labels; children appear when first set.
#[derive(Clone, Copy, Debug)]
pub struct GaugeVec(usize);

#[derive(Debug)]
struct Family {
    name: &'static str,
    help: &'static str,
    label_names: &'static [&'static str],
    samples: Vec<(Vec<String>, f64)>,
}

/// The gauges of one probe.
#[derive(Debug, Default)]
pub struct Registry {
    families: Vec<Family>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a gauge without labels, at 0.
    pub fn gauge(&mut self, (name, help): (&'static str, &'static str)) -> Gauge {
        self.families.push(Family {
            name,
            help,
            label_names: &[],
            samples: vec![(Vec::new(), 0.0)],
        });
        Gauge(self.families.len() - 1)
    }

    /// Registers a gauge family with the given label names and no children.
    pub fn gauge_vec(
        &mut self,
        (name, help): (&'static str, &'static str),
        label_names: &'static [&'static str],
    ) -> GaugeVec {
        self.families.push(Family {
            name,
            help,
            label_names,
            samples: Vec::new(),
        });
        GaugeVec(self.families.len() - 1)
    }

    pub fn set(&mut self, g: Gauge, v: f64) {
        if let Some((_, value)) = self.families.get_mut(g.0).and_then(|f| f.samples.first_mut()) {
            *value = v;
        }
    }

    pub fn add(&mut self, g: Gauge, v: f64) {
        if let Some((_, value)) = self.families.get_mut(g.0).and_then(|f| f.samples.first_mut()) {
            *value += v;
        }
    }

    fn child(&mut self, g: GaugeVec, label_values: &[&str]) -> Option<&mut f64> {
        let family = self.families.get_mut(g.0)?;
        let pos = family
            .samples
            .iter()
            .position(|(values, _)| values.iter().map(String::as_str).eq(label_values.iter().copied()));
        let pos = match pos {
            Some(p) => p,
            None => {
                family
                    .samples
                    .push((label_values.iter().map(|s| s.to_string()).collect(), 0.0));
                family.samples.len() - 1
            }
        };
        family.samples.get_mut(pos).map(|(_, v)| v)
    }

    /// Creates the child at 0 if it does not exist (Go's `WithLabelValues`).
    pub fn touch(&mut self, g: GaugeVec, label_values: &[&str]) {
        let _ = self.child(g, label_values);
    }

    pub fn set_vec(&mut self, g: GaugeVec, label_values: &[&str], v: f64) {
        if let Some(value) = self.child(g, label_values) {
            *value = v;
        }
    }

    pub fn add_vec(&mut self, g: GaugeVec, label_values: &[&str], v: f64) {
        if let Some(value) = self.child(g, label_values) {
            *value += v;
        }
    }

    /// The current value of a sample, for tests and logs.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let family = self.families.iter().find(|f| f.name == name)?;
        family.samples.iter().find_map(|(values, v)| {
            let same = values.len() == labels.len()
                && family
                    .label_names
                    .iter()
                    .zip(values)
                    .all(|(n, val)| labels.iter().any(|(ln, lv)| ln == n && lv == val));
            same.then_some(*v)
        })
    }

    /// Prometheus text format 0.0.4.
    pub fn render(&self) -> String {
        let mut families: Vec<&Family> = self.families.iter().filter(|f| !f.samples.is_empty()).collect();
        families.sort_by(|a, b| a.name.cmp(b.name));
        let mut out = String::with_capacity(families.len() * 160);
        for family in families {
            write_help(&mut out, family.name, family.help);
            write_type(&mut out, family.name, MetricType::Gauge);
            // client_golang sorts label pairs by name, then children by their values in that
            // order.
            let mut order: Vec<usize> = (0..family.label_names.len()).collect();
            order.sort_by_key(|&i| family.label_names[i]);
            let mut samples: Vec<&(Vec<String>, f64)> = family.samples.iter().collect();
            samples.sort_by(|a, b| {
                let ka = order.iter().map(|&i| a.0.get(i));
                let kb = order.iter().map(|&i| b.0.get(i));
                ka.cmp(kb)
            });
            for (values, v) in samples {
                let labels: Vec<(&str, &str)> = order
                    .iter()
                    .filter_map(|&i| Some((family.label_names[i], values.get(i)?.as_str())))
                    .collect();
                write_sample(&mut out, family.name, &labels, *v, None);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn renders_sorted_like_client_golang() {
        let mut r = Registry::new();
        let s = r.gauge(names::SUCCESS);
        let d = r.gauge_vec(names::HTTP_DURATION, &["phase"]);
        let empty = r.gauge_vec(names::TLS_VERSION_INFO, &["version"]);
        let _ = empty;
        r.touch(d, &["resolve"]);
        r.add_vec(d, &["connect"], 0.5);
        r.set(s, 1.0);
        let text = r.render();
        let expected = "# HELP probe_http_duration_seconds Duration of http request by phase, summed over all redirects\n\
# TYPE probe_http_duration_seconds gauge\n\
probe_http_duration_seconds{phase=\"connect\"} 0.5\n\
probe_http_duration_seconds{phase=\"resolve\"} 0\n\
# HELP probe_success Displays whether or not the probe was a success\n\
# TYPE probe_success gauge\n\
probe_success 1\n";
        assert_eq!(text, expected);
        assert_eq!(
            r.value("probe_http_duration_seconds", &[("phase", "connect")]),
            Some(0.5)
        );
    }
}
