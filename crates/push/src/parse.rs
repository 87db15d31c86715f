//! Push bodies into metric families: the text format 0.0.4 (what curl, shell scripts and most
//! clients send) and length-delimited protobuf `MetricFamily` messages (what Go clients send).

use std::collections::BTreeMap;

use exposition::{MetricType, TextItem, is_label_name, is_metric_name};
use prost::Message;

use crate::proto;
use crate::{Family, Pushed};

/// The content type Go clients push with.
pub fn is_protobuf(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else { return false };
    let mut parts = ct.split(';').map(str::trim);
    if !parts
        .next()
        .is_some_and(|m| m.eq_ignore_ascii_case("application/vnd.google.protobuf"))
    {
        return false;
    }
    let (mut proto, mut delimited) = (false, false);
    for p in parts {
        match p
            .split_once('=')
            .map(|(k, v)| (k.trim(), v.trim().trim_matches('"')))
        {
            Some(("proto", "io.prometheus.client.MetricFamily")) => proto = true,
            Some(("encoding", "delimited")) => delimited = true,
            _ => {}
        }
    }
    proto && delimited
}

/// A parsed push. `timestamped` records whether any sample carried a timestamp, which a push
/// may not (the group is marked failed, as the Pushgateway does).
#[derive(Debug, Default)]
pub struct Parsed {
    pub families: BTreeMap<String, Family>,
    pub timestamped: bool,
}

/// Parses a text-format body. The error names the line.
pub fn parse_text(body: &[u8]) -> Result<Parsed, String> {
    let mut out = Parsed::default();
    // Families that already have samples: a TYPE line after them is an error, as in Go's parser.
    let mut sampled: std::collections::HashSet<String> = Default::default();
    let mut typed: std::collections::HashSet<String> = Default::default();
    let err = |line: usize, msg: String| format!("text format parsing error in line {line}: {msg}");
    for (line, item) in exposition::parse_text(body) {
        match item.map_err(|e| err(line, e.to_string()))? {
            TextItem::Type { name, kind } => {
                if sampled.contains(name.as_ref()) {
                    return Err(err(line, format!("TYPE line for {name} after its samples")));
                }
                if !typed.insert(name.to_string()) {
                    return Err(err(line, format!("second TYPE line for metric name {name}")));
                }
                out.families
                    .entry(name.to_string())
                    .or_insert_with(|| Family::new(kind))
                    .kind = kind;
            }
            TextItem::Help { name, text } => {
                let f = out
                    .families
                    .entry(name.to_string())
                    .or_insert_with(|| Family::new(MetricType::Untyped));
                if f.help.is_some() {
                    return Err(err(line, format!("second HELP line for metric name {name}")));
                }
                f.help = Some(text.into_owned());
            }
            TextItem::Sample(s) => {
                out.timestamped |= s.timestamp_ms.is_some();
                let family = family_of(&out.families, &s.name);
                let kind = out.families.get(&family).map_or(MetricType::Untyped, |f| f.kind);
                let mut labels: Vec<(String, String)> = s
                    .labels
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect();
                labels.sort();
                check_shape(kind, &family, &s.name, &labels).map_err(|m| err(line, m))?;
                sampled.insert(family.clone());
                out.families
                    .entry(family)
                    .or_insert_with(|| Family::new(MetricType::Untyped))
                    .samples
                    .push(Pushed {
                        name: s.name.into_owned(),
                        labels,
                        value: s.value,
                    });
            }
        }
    }
    Ok(out)
}

/// The family a sample line belongs to: its own name, or the histogram or summary its suffix
/// points at.
fn family_of(families: &BTreeMap<String, Family>, name: &str) -> String {
    if families.contains_key(name) {
        return name.to_string();
    }
    for (suffix, kinds) in [
        ("_bucket", &[MetricType::Histogram][..]),
        ("_sum", &[MetricType::Histogram, MetricType::Summary]),
        ("_count", &[MetricType::Histogram, MetricType::Summary]),
    ] {
        if let Some(base) = name.strip_suffix(suffix)
            && families.get(base).is_some_and(|f| kinds.contains(&f.kind))
        {
            return base.to_string();
        }
    }
    name.to_string()
}

/// The labels a histogram's or summary's lines need.
fn check_shape(
    kind: MetricType,
    family: &str,
    name: &str,
    labels: &[(String, String)],
) -> Result<(), String> {
    let has = |l: &str| labels.iter().any(|(n, _)| n == l);
    match kind {
        MetricType::Histogram if name == family => Err(format!(
            "histogram {family} has a sample without a _bucket, _sum or _count suffix"
        )),
        MetricType::Histogram if name.ends_with("_bucket") && !has("le") => {
            Err(format!("histogram bucket {name} has no le label"))
        }
        MetricType::Summary if name == family && !has("quantile") => {
            Err(format!("summary {family} has a sample without a quantile label"))
        }
        _ => Ok(()),
    }
}

fn float_label(v: f64) -> String {
    let mut s = String::new();
    exposition::write_value(&mut s, v);
    s
}

/// Parses length-delimited protobuf `MetricFamily` messages.
pub fn parse_protobuf(mut body: &[u8]) -> Result<Parsed, String> {
    let mut out = Parsed::default();
    let mut index = 0;
    while !body.is_empty() {
        index += 1;
        let err = |msg: String| format!("protobuf parsing error in metric family {index}: {msg}");
        let len = prost::encoding::decode_varint(&mut body).map_err(|e| err(e.to_string()))?;
        let len = usize::try_from(len)
            .ok()
            .filter(|l| *l <= body.len())
            .ok_or_else(|| err(format!("length {len} runs past the end of the body")))?;
        let (msg, rest) = body.split_at(len);
        body = rest;
        let mf = proto::MetricFamily::decode(msg).map_err(|e| err(e.to_string()))?;
        let (name, family) = convert(mf, &mut out.timestamped).map_err(err)?;
        if out.families.insert(name.clone(), family).is_some() {
            return Err(err(format!("metric family {name} appears twice")));
        }
    }
    Ok(out)
}

fn convert(mf: proto::MetricFamily, timestamped: &mut bool) -> Result<(String, Family), String> {
    let name = mf.name.unwrap_or_default();
    if !is_metric_name(&name) {
        return Err(format!("invalid metric name {name:?}"));
    }
    let kind = match mf.r#type.unwrap_or(0) {
        0 => MetricType::Counter,
        1 => MetricType::Gauge,
        2 => MetricType::Summary,
        3 => MetricType::Untyped,
        4 => MetricType::Histogram,
        5 => return Err(format!("{name}: gauge histograms are not supported")),
        t => return Err(format!("{name}: unknown metric type {t}")),
    };
    let mut family = Family::new(kind);
    family.help = mf.help.filter(|h| !h.is_empty());
    for (i, m) in mf.metric.into_iter().enumerate() {
        *timestamped |= m.timestamp_ms.is_some();
        let mut labels = Vec::with_capacity(m.label.len() + 1);
        for l in m.label {
            let (n, v) = (l.name.unwrap_or_default(), l.value.unwrap_or_default());
            if !is_label_name(&n) {
                return Err(format!("{name}: invalid label name {n:?}"));
            }
            labels.push((n, v));
        }
        labels.sort();
        if labels.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err(format!("{name}: a metric has a label twice"));
        }
        let missing = |what: &str| format!("{name}: metric {} has no {what} value", i + 1);
        let push = |family: &mut Family, sample: String, extra: Option<(&str, String)>, value: f64| {
            let mut labels = labels.clone();
            if let Some((n, v)) = extra {
                labels.retain(|(l, _)| l != n);
                labels.push((n.to_string(), v));
                labels.sort();
            }
            family.samples.push(Pushed {
                name: sample,
                labels,
                value,
            });
        };
        match kind {
            MetricType::Counter => {
                let v = m
                    .counter
                    .and_then(|c| c.value)
                    .ok_or_else(|| missing("counter"))?;
                push(&mut family, name.clone(), None, v);
            }
            MetricType::Gauge => {
                let v = m.gauge.and_then(|c| c.value).ok_or_else(|| missing("gauge"))?;
                push(&mut family, name.clone(), None, v);
            }
            MetricType::Untyped => {
                let v = m
                    .untyped
                    .and_then(|c| c.value)
                    .ok_or_else(|| missing("untyped"))?;
                push(&mut family, name.clone(), None, v);
            }
            MetricType::Summary => {
                let s = m.summary.ok_or_else(|| missing("summary"))?;
                for q in &s.quantile {
                    let label = float_label(q.quantile.unwrap_or(0.0));
                    push(
                        &mut family,
                        name.clone(),
                        Some(("quantile", label)),
                        q.value.unwrap_or(0.0),
                    );
                }
                push(
                    &mut family,
                    format!("{name}_sum"),
                    None,
                    s.sample_sum.unwrap_or(0.0),
                );
                push(
                    &mut family,
                    format!("{name}_count"),
                    None,
                    s.sample_count.unwrap_or(0) as f64,
                );
            }
            MetricType::Histogram => {
                let h = m.histogram.ok_or_else(|| missing("histogram"))?;
                if h.bucket.is_empty()
                    && (h.schema.is_some() || !h.positive_span.is_empty() || !h.negative_span.is_empty())
                {
                    return Err(format!(
                        "{name}: native histograms are not supported; push classic buckets"
                    ));
                }
                let count = h.sample_count_float.unwrap_or(h.sample_count.unwrap_or(0) as f64);
                let mut saw_inf = false;
                for b in &h.bucket {
                    let ub = b.upper_bound.unwrap_or(0.0);
                    saw_inf |= ub == f64::INFINITY;
                    let c = b
                        .cumulative_count_float
                        .unwrap_or(b.cumulative_count.unwrap_or(0) as f64);
                    push(
                        &mut family,
                        format!("{name}_bucket"),
                        Some(("le", float_label(ub))),
                        c,
                    );
                }
                if !saw_inf {
                    push(
                        &mut family,
                        format!("{name}_bucket"),
                        Some(("le", "+Inf".into())),
                        count,
                    );
                }
                push(
                    &mut family,
                    format!("{name}_sum"),
                    None,
                    h.sample_sum.unwrap_or(0.0),
                );
                push(&mut family, format!("{name}_count"), None, count);
            }
        }
    }
    Ok((name, family))
}
