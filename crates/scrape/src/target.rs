//! From discovered target groups to scrape targets, as Prometheus builds them: a group's labels
//! under each target's own, the job's defaults (`job`, `__scheme__`, `__metrics_path__`,
//! `__scrape_interval__`, `__scrape_timeout__`, `__param_<name>`) where not set, `relabel_configs`,
//! then `__meta_` labels removed and `instance` defaulted to `__address__`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::config::Job;
use crate::relabel::{self, LabelPairs};

pub const ADDRESS: &str = "__address__";
pub const SCHEME: &str = "__scheme__";
pub const METRICS_PATH: &str = "__metrics_path__";
pub const SCRAPE_INTERVAL: &str = "__scrape_interval__";
pub const SCRAPE_TIMEOUT: &str = "__scrape_timeout__";
pub const PARAM_PREFIX: &str = "__param_";
pub const META_PREFIX: &str = "__meta_";

/// Targets found together by one discovery source, with labels common to all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetGroup {
    /// Identifies the group within its discovery mechanism (file name and index, URL, …).
    pub source: String,
    /// Each target's own labels; at least `__address__`.
    pub targets: Vec<LabelPairs>,
    pub labels: LabelPairs,
}

/// A group as file and HTTP discovery write it: `[{"targets": [...], "labels": {...}}]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupDoc {
    #[serde(default)]
    targets: Vec<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

fn sorted(mut v: LabelPairs) -> LabelPairs {
    v.retain(|(_, val)| !val.is_empty());
    v.sort();
    v.dedup_by(|a, b| a.0 == b.0);
    v
}

fn check_label_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.contains(char::is_control) {
        return Err(format!("{name:?} is not a valid label name"));
    }
    Ok(())
}

impl TargetGroup {
    /// A group from `targets` and `labels` as written in a static config or an SD document.
    pub fn from_static(
        source: &str,
        targets: &[String],
        labels: &BTreeMap<String, String>,
    ) -> Result<TargetGroup, String> {
        for name in labels.keys() {
            check_label_name(name)?;
        }
        let mut out = Vec::with_capacity(targets.len());
        for t in targets {
            if t.is_empty() {
                return Err("a target address is empty".into());
            }
            out.push(vec![(ADDRESS.to_string(), t.clone())]);
        }
        Ok(TargetGroup {
            source: source.to_string(),
            targets: out,
            labels: sorted(labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        })
    }
}

/// Parses a file SD document: JSON if `path` ends in `.json`, YAML otherwise. Groups are named
/// `path:index`; `__meta_filepath` is added to each.
pub fn parse_file_sd(path: &str, text: &str) -> Result<Vec<TargetGroup>, String> {
    let docs: Vec<GroupDoc> = if path.ends_with(".json") {
        serde_json::from_str(text).map_err(|e| format!("{path}: {e}"))?
    } else if text.trim().is_empty() {
        Vec::new()
    } else {
        serde_yaml::from_str(text).map_err(|e| format!("{path}: {e}"))?
    };
    let mut out = Vec::with_capacity(docs.len());
    for (i, d) in docs.iter().enumerate() {
        let mut g = TargetGroup::from_static(&format!("{path}:{i}"), &d.targets, &d.labels)
            .map_err(|e| format!("{path}: group {i}: {e}"))?;
        g.labels.push(("__meta_filepath".into(), path.to_string()));
        g.labels = sorted(std::mem::take(&mut g.labels));
        out.push(g);
    }
    Ok(out)
}

/// Parses an HTTP SD answer (always JSON). Groups are named `url:index`; `__meta_url` is added.
pub fn parse_http_sd(url: &str, body: &[u8]) -> Result<Vec<TargetGroup>, String> {
    let docs: Vec<GroupDoc> =
        serde_json::from_slice(body).map_err(|e| format!("invalid HTTP SD answer from {url}: {e}"))?;
    let mut out = Vec::with_capacity(docs.len());
    for (i, d) in docs.iter().enumerate() {
        let mut g = TargetGroup::from_static(&format!("{url}:{i}"), &d.targets, &d.labels)
            .map_err(|e| format!("HTTP SD answer from {url}: group {i}: {e}"))?;
        g.labels.push(("__meta_url".into(), url.to_string()));
        g.labels = sorted(std::mem::take(&mut g.labels));
        out.push(g);
    }
    Ok(out)
}

/// A target ready to scrape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Labels after relabeling, internal `__` labels included (but not `__meta_`).
    pub labels: LabelPairs,
    /// The labels every scraped series carries: those not starting with `__`.
    pub visible: LabelPairs,
    /// Labels as discovered, before relabeling.
    pub discovered: LabelPairs,
    pub url: String,
    pub interval_ms: u64,
    pub timeout_ms: u64,
    /// Identifies the target within its job: labels and URL.
    pub hash: u64,
}

/// What became of one discovered target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Populated {
    Active(Target),
    /// Dropped by relabeling; the labels as discovered.
    Dropped(LabelPairs),
    /// Unusable, with why; the labels as discovered.
    Invalid(LabelPairs, String),
}

pub(crate) fn get<'a>(l: &'a [(String, String)], name: &str) -> Option<&'a str> {
    l.binary_search_by(|(n, _)| n.as_str().cmp(name))
        .ok()
        .and_then(|i| l.get(i))
        .map(|(_, v)| v.as_str())
}

/// Sets a label in a sorted set; an empty value removes it.
pub(crate) fn set(l: &mut LabelPairs, name: &str, value: String) {
    match l.binary_search_by(|(n, _)| n.as_str().cmp(name)) {
        Ok(i) => {
            if value.is_empty() {
                l.remove(i);
            } else if let Some(slot) = l.get_mut(i) {
                slot.1 = value;
            }
        }
        Err(i) if !value.is_empty() => l.insert(i, (name.to_string(), value)),
        Err(_) => {}
    }
}

/// Builds the target for one discovered target of `group`.
pub fn populate(job: &Job, group: &TargetGroup, target: &LabelPairs) -> Populated {
    let mut l = group.labels.clone();
    for (n, v) in target {
        set(&mut l, n, v.clone());
    }
    let defaults = [
        ("job", job.name.clone()),
        (
            SCRAPE_INTERVAL,
            promql_syntax::format_duration_ms(job.interval_ms),
        ),
        (SCRAPE_TIMEOUT, promql_syntax::format_duration_ms(job.timeout_ms)),
        (METRICS_PATH, job.metrics_path.clone()),
        (SCHEME, job.scheme.clone()),
    ];
    for (n, v) in defaults {
        if get(&l, n).is_none() {
            set(&mut l, n, v);
        }
    }
    for (k, vals) in &job.params {
        let name = format!("{PARAM_PREFIX}{k}");
        if let Some(first) = vals.first()
            && get(&l, &name).is_none()
        {
            set(&mut l, &name, first.clone());
        }
    }
    let discovered = l.clone();
    if !relabel::process(&mut l, &job.relabel) {
        return Populated::Dropped(discovered);
    }
    let invalid = |msg: String| Populated::Invalid(discovered.clone(), msg);
    let Some(addr) = get(&l, ADDRESS).map(str::to_string) else {
        return invalid("no address".into());
    };
    if addr.contains('/') {
        return invalid(format!("{addr:?} is not a valid hostname"));
    }
    let parse = |name: &str| -> Result<u64, String> {
        let v = get(&l, name).unwrap_or_default();
        promql_syntax::parse_duration_checked(v).map_err(|e| format!("error parsing {name}: {e}"))
    };
    let interval_ms = match parse(SCRAPE_INTERVAL) {
        Ok(0) => return invalid("scrape interval cannot be 0".into()),
        Ok(v) => v,
        Err(e) => return invalid(e),
    };
    let timeout_ms = match parse(SCRAPE_TIMEOUT) {
        Ok(0) => return invalid("scrape timeout cannot be 0".into()),
        Ok(v) => v,
        Err(e) => return invalid(e),
    };
    if timeout_ms > interval_ms {
        return invalid(format!(
            "scrape timeout cannot be greater than scrape interval ({:?} > {:?})",
            get(&l, SCRAPE_TIMEOUT).unwrap_or_default(),
            get(&l, SCRAPE_INTERVAL).unwrap_or_default()
        ));
    }
    l.retain(|(n, _)| !n.starts_with(META_PREFIX));
    if get(&l, "instance").is_none() {
        set(&mut l, "instance", addr.clone());
    }
    let scheme = get(&l, SCHEME).unwrap_or("http");
    if scheme != "http" && scheme != "https" {
        return invalid(format!("invalid scheme {scheme:?}"));
    }
    let url = scrape_url(job, &l, scheme, &addr);
    let visible: LabelPairs = l.iter().filter(|(n, _)| !n.starts_with("__")).cloned().collect();
    let mut h = Fnv(hash_labels(&visible));
    h.write(url.as_bytes());
    Populated::Active(Target {
        visible,
        discovered,
        url,
        interval_ms,
        timeout_ms,
        hash: h.0,
        labels: l,
    })
}

fn scrape_url(job: &Job, l: &LabelPairs, scheme: &str, addr: &str) -> String {
    let mut params = job.params.clone();
    for (n, v) in l {
        if let Some(k) = n.strip_prefix(PARAM_PREFIX) {
            match params.get_mut(k).and_then(|vals| vals.first_mut()) {
                Some(first) => *first = v.clone(),
                None => {
                    params.insert(k.to_string(), vec![v.clone()]);
                }
            }
        }
    }
    let path = get(l, METRICS_PATH).unwrap_or("/metrics");
    let mut url = format!("{scheme}://{addr}{path}");
    let mut first = !path.contains('?');
    for (k, vals) in &params {
        for v in vals {
            url.push(if first { '?' } else { '&' });
            first = false;
            query_escape(&mut url, k);
            url.push('=');
            query_escape(&mut url, v);
        }
    }
    url
}

/// Percent-encodes as Go's `url.QueryEscape`: unreserved bytes stay, space becomes `+`.
fn query_escape(out: &mut String, s: &str) {
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
}

/// FNV-1a of a label set, names and values separated by 0xff: identifies a series or target.
pub(crate) fn hash_labels(l: &[(String, String)]) -> u64 {
    let mut h = Fnv::default();
    for (n, v) in l {
        h.write(n.as_bytes());
        h.write(&[0xff]);
        h.write(v.as_bytes());
        h.write(&[0xff]);
    }
    h.0
}

/// 64-bit FNV-1a, stable across runs and builds.
pub struct Fnv(pub u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}
