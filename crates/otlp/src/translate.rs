//! OTLP metrics to Prometheus series, as Prometheus 3 translates them with its default `otlp`
//! settings, plus delta-to-cumulative conversion (which Prometheus refuses by default).
//!
//! Per data point: the point's attributes, sorted by key, become labels (escaped; keys that escape
//! to the same name have their values joined with `;`); `service.name` (prefixed with
//! `service.namespace/` when set) becomes `job` and `service.instance.id` becomes `instance`; the
//! metric name gets its unit and type suffixes. Gauges and non-monotonic sums become one series,
//! monotonic sums a `_total` counter, explicit-bucket histograms classic `_bucket{le}`/`_sum`/
//! `_count` series, summaries `{quantile}`/`_sum`/`_count` series. Each resource with at least one
//! data point and attributes besides the three identifying ones gets a `target_info` series
//! carrying those attributes, with a sample every 2.5 minutes (half the default lookback) across
//! the time the request covers. Scope name, version and attributes are not labels (Prometheus's
//! `promote_scope_metadata` is off by default). A point flagged "no recorded value" becomes a
//! staleness marker. Timestamps are truncated from nanoseconds to milliseconds.
//!
//! Points that cannot be stored are dropped and counted by [`DropReason`]; only a body too big to
//! translate is an error.

use std::collections::{BTreeMap, HashMap};

use model::{LabelLimits, Labels, METRIC_NAME, STALE_NAN_BITS, Sample};

use crate::delta::{DeltaState, HistogramDelta, Refused};
use crate::error::{Error, Result};
use crate::naming::{MetricKind, format_bound, label_name, metric_name, value_string};
use crate::proto::{
    AggregationTemporality, ExportMetricsServiceRequest, FLAG_NO_RECORDED_VALUE, HistogramDataPoint,
    KeyValue, Metric, NumberDataPoint, SummaryDataPoint, metric::Data, number_data_point,
};

/// The point id of `target_info` samples, which come from a resource rather than a data point.
pub const TARGET_INFO_POINT: u32 = u32::MAX;

/// At most this many problems are described in [`Translated::problems`]; all are counted.
const MAX_PROBLEMS: usize = 10;

/// Resource attributes that identify the target: they become `job` and `instance`, not
/// `target_info` labels.
const SERVICE_NAME: &str = "service.name";
const SERVICE_NAMESPACE: &str = "service.namespace";
const SERVICE_INSTANCE_ID: &str = "service.instance.id";

/// Most `target_info` samples written for one resource in one request; a request spanning more
/// time gets the most recent ones (a sender would need to batch days of points to reach it).
const MAX_TARGET_INFO_SAMPLES: i128 = 1000;

#[derive(Debug, Clone)]
pub struct Options {
    /// Limits every written series must meet; a point whose series break them is dropped.
    pub limits: LabelLimits,
    /// Spacing of `target_info` samples: half of Prometheus's default 5 minute lookback.
    pub target_info_interval_ms: i64,
    /// Most bytes of label names and values the distinct output series may hold. A request
    /// translating to more is refused whole: histograms with many buckets and long attributes
    /// multiply the input size.
    pub max_label_bytes: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            limits: LabelLimits::default(),
            target_info_interval_ms: 150_000,
            max_label_bytes: 256 << 20,
        }
    }
}

/// Why data points were not turned into samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// Pharos stores no native histograms yet, so exponential histograms have nowhere to go.
    ExponentialHistogram,
    /// A sum or histogram whose temporality is neither cumulative nor delta.
    InvalidTemporality,
    /// The metric name escapes to nothing.
    InvalidMetricName,
    /// An attribute key escapes to nothing.
    InvalidLabelName,
    /// A series breaks the label limits.
    InvalidLabels,
    /// A delta point not after the last one of its stream, or overlapping it.
    DeltaOutOfOrder,
    /// A new delta stream past the number of streams kept.
    DeltaStreamLimit,
}

impl DropReason {
    pub const ALL: [DropReason; 7] = [
        DropReason::ExponentialHistogram,
        DropReason::InvalidTemporality,
        DropReason::InvalidMetricName,
        DropReason::InvalidLabelName,
        DropReason::InvalidLabels,
        DropReason::DeltaOutOfOrder,
        DropReason::DeltaStreamLimit,
    ];

    /// A metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::ExponentialHistogram => "exponential_histogram",
            DropReason::InvalidTemporality => "invalid_temporality",
            DropReason::InvalidMetricName => "invalid_metric_name",
            DropReason::InvalidLabelName => "invalid_label_name",
            DropReason::InvalidLabels => "invalid_labels",
            DropReason::DeltaOutOfOrder => "delta_out_of_order",
            DropReason::DeltaStreamLimit => "delta_stream_limit",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The series of one request and what was left out.
#[derive(Debug, Default)]
pub struct Translated {
    /// Each distinct series once, its samples in request order.
    pub series: Vec<(Labels, Vec<Sample>)>,
    /// Parallel to `series`: for each sample, the number of the data point it came from (data
    /// points numbered in request order from 0), or [`TARGET_INFO_POINT`].
    pub points: Vec<Vec<u32>>,
    /// Data points in the request.
    pub data_points: u64,
    /// Exemplars of stored points; Pharos has no exemplar storage.
    pub exemplars: u64,
    dropped: [u64; DropReason::ALL.len()],
    /// The first problems found, each naming where (resource, scope and metric index, metric
    /// name, data point) and what.
    pub problems: Vec<String>,
    /// All problems, including those past the ones described.
    pub problem_count: usize,
}

impl Translated {
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.dropped[reason.index()]
    }

    pub fn dropped_total(&self) -> u64 {
        self.dropped.iter().sum()
    }

    /// The reasons that dropped anything, with counts.
    pub fn dropped_by_reason(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL
            .into_iter()
            .map(|r| (r, self.dropped(r)))
            .filter(|(_, n)| *n > 0)
    }

    /// The problems in one line: the first few and how many more.
    pub fn problems_text(&self) -> String {
        let mut s = self.problems.join("; ");
        if self.problem_count > self.problems.len() {
            s.push_str(&format!(
                " (and {} more)",
                self.problem_count - self.problems.len()
            ));
        }
        s
    }
}

/// Translates a decoded request. `delta` carries the running totals of delta streams from request
/// to request; `now_ms` (wall clock) dates their last use, to forget idle ones.
pub fn translate(
    req: &ExportMetricsServiceRequest,
    delta: &mut DeltaState,
    opts: &Options,
    now_ms: i64,
) -> Result<Translated> {
    let total: u64 = req
        .resource_metrics
        .iter()
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
        .map(|m| point_count(m) as u64)
        .sum();
    if total >= u64::from(TARGET_INFO_POINT) {
        return Err(Error::TooManyPoints { points: total });
    }
    delta.sweep(now_ms);
    let mut b = Builder {
        opts,
        out: Translated {
            data_points: total,
            ..Translated::default()
        },
        index: HashMap::new(),
        label_bytes: 0,
        next_point: 0,
    };
    for (ri, rm) in req.resource_metrics.iter().enumerate() {
        let attrs: &[KeyValue] = rm.resource.as_ref().map_or(&[], |r| &r.attributes);
        let res = ResourceLabels::new(attrs);
        let mut span: Option<(u64, u64)> = None;
        for (si, sm) in rm.scope_metrics.iter().enumerate() {
            for (mi, m) in sm.metrics.iter().enumerate() {
                for t in point_times(m) {
                    span = Some(span.map_or((t, t), |(lo, hi)| (lo.min(t), hi.max(t))));
                }
                let at = At {
                    resource: ri,
                    scope: si,
                    metric: mi,
                    name: &m.name,
                };
                b.metric(&at, m, &res, delta, now_ms)?;
            }
        }
        if let Some((lo, hi)) = span {
            b.target_info(ri, attrs, &res, lo, hi)?;
        }
    }
    Ok(b.out)
}

fn point_count(m: &Metric) -> usize {
    match &m.data {
        None => 0,
        Some(Data::Gauge(g)) => g.data_points.len(),
        Some(Data::Sum(s)) => s.data_points.len(),
        Some(Data::Histogram(h)) => h.data_points.len(),
        Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
        Some(Data::Summary(s)) => s.data_points.len(),
    }
}

fn point_times(m: &Metric) -> Vec<u64> {
    match &m.data {
        None => Vec::new(),
        Some(Data::Gauge(g)) => g.data_points.iter().map(|p| p.time_unix_nano).collect(),
        Some(Data::Sum(s)) => s.data_points.iter().map(|p| p.time_unix_nano).collect(),
        Some(Data::Histogram(h)) => h.data_points.iter().map(|p| p.time_unix_nano).collect(),
        Some(Data::ExponentialHistogram(h)) => h.data_points.iter().map(|p| p.time_unix_nano).collect(),
        Some(Data::Summary(s)) => s.data_points.iter().map(|p| p.time_unix_nano).collect(),
    }
}

/// Nanoseconds to milliseconds the way Prometheus does it: as a signed number, truncated.
fn ms(ns: u64) -> i64 {
    (ns as i64) / 1_000_000
}

fn stale() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

/// Where a problem is, for messages.
struct At<'a> {
    resource: usize,
    scope: usize,
    metric: usize,
    name: &'a str,
}

impl std::fmt::Display for At<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "resource {} scope {} metric {} {:?}",
            self.resource, self.scope, self.metric, self.name
        )
    }
}

/// The labels a resource contributes to every series: `job` and `instance`.
struct ResourceLabels {
    job: Option<String>,
    instance: Option<String>,
}

fn find<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a KeyValue> {
    attrs.iter().find(|kv| kv.key == key)
}

impl ResourceLabels {
    fn new(attrs: &[KeyValue]) -> Self {
        let job = find(attrs, SERVICE_NAME).map(|name| {
            let name = value_string(name.value.as_ref());
            match find(attrs, SERVICE_NAMESPACE) {
                Some(ns) => format!("{}/{name}", value_string(ns.value.as_ref())),
                None => name,
            }
        });
        let instance = find(attrs, SERVICE_INSTANCE_ID).map(|i| value_string(i.value.as_ref()));
        Self { job, instance }
    }
}

/// Attributes as labels (sorted by key, escaped, colliding names joined with `;`), then `job` and
/// `instance` from the resource over them. `ignore` lists attribute keys left out.
fn base_labels(
    res: &ResourceLabels,
    attrs: &[KeyValue],
    ignore: &[&str],
) -> Result<BTreeMap<String, String>, String> {
    let mut sorted: Vec<&KeyValue> = attrs
        .iter()
        .filter(|kv| !ignore.contains(&kv.key.as_str()))
        .collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    let mut l: BTreeMap<String, String> = BTreeMap::new();
    for kv in sorted {
        let name = label_name(&kv.key)?;
        let value = value_string(kv.value.as_ref());
        match l.get_mut(&name) {
            Some(existing) => {
                existing.push(';');
                existing.push_str(&value);
            }
            None => {
                l.insert(name, value);
            }
        }
    }
    if let Some(job) = &res.job {
        l.insert("job".into(), job.clone());
    }
    if let Some(instance) = &res.instance {
        l.insert("instance".into(), instance.clone());
    }
    Ok(l)
}

/// The series labels: the base labels, `__name__` and any extra (`le`, `quantile`) over them.
fn series_labels(base: &BTreeMap<String, String>, name: &str, extra: Option<(&str, String)>) -> Labels {
    let mut l = base.clone();
    l.insert(METRIC_NAME.into(), name.into());
    if let Some((k, v)) = extra {
        l.insert(k.into(), v);
    }
    // Sorted and unique already; from_vec drops the empty values.
    Labels::from_vec(l.into_iter().collect()).unwrap_or_default()
}

struct Builder<'a> {
    opts: &'a Options,
    out: Translated,
    index: HashMap<Labels, usize>,
    label_bytes: usize,
    next_point: u32,
}

impl Builder<'_> {
    fn problem(&mut self, msg: impl FnOnce() -> String) {
        if self.out.problems.len() < MAX_PROBLEMS {
            self.out.problems.push(msg());
        }
        self.out.problem_count += 1;
    }

    fn drop_points(&mut self, reason: DropReason, n: usize) {
        self.out.dropped[reason.index()] += n as u64;
    }

    /// Checks every series of one data point against the limits; on failure the point is dropped.
    fn valid(&mut self, series: &[Labels], at: &At<'_>, pi: usize) -> bool {
        for labels in series {
            if let Err(e) = labels.validate(&self.opts.limits) {
                self.drop_points(DropReason::InvalidLabels, 1);
                self.problem(|| format!("{at} data point {pi}: series {labels}: {e}"));
                return false;
            }
        }
        true
    }

    fn push(&mut self, labels: Labels, sample: Sample, point: u32) -> Result<()> {
        if let Some(&i) = self.index.get(&labels) {
            self.out.series[i].1.push(sample);
            self.out.points[i].push(point);
            return Ok(());
        }
        self.label_bytes += labels.iter().map(|(n, v)| n.len() + v.len()).sum::<usize>();
        if self.label_bytes > self.opts.max_label_bytes {
            return Err(Error::TooLarge {
                bytes: self.label_bytes,
                limit: self.opts.max_label_bytes,
            });
        }
        self.index.insert(labels.clone(), self.out.series.len());
        self.out.series.push((labels, vec![sample]));
        self.out.points.push(vec![point]);
        Ok(())
    }

    /// Pushes one sample per series, all from data point `point`.
    fn push_all(&mut self, labels: Vec<Labels>, t: i64, values: &[f64], point: u32) -> Result<()> {
        for (l, v) in labels.into_iter().zip(values) {
            self.push(l, Sample::new(t, *v), point)?;
        }
        Ok(())
    }

    /// The base labels of a data point, or `None` after dropping it for a bad attribute key.
    fn point_base(
        &mut self,
        res: &ResourceLabels,
        attrs: &[KeyValue],
        at: &At<'_>,
        pi: usize,
    ) -> Option<BTreeMap<String, String>> {
        match base_labels(res, attrs, &[]) {
            Ok(l) => Some(l),
            Err(e) => {
                self.drop_points(DropReason::InvalidLabelName, 1);
                self.problem(|| format!("{at} data point {pi}: {e}"));
                None
            }
        }
    }

    fn metric(
        &mut self,
        at: &At<'_>,
        m: &Metric,
        res: &ResourceLabels,
        delta: &mut DeltaState,
        now_ms: i64,
    ) -> Result<()> {
        let n = point_count(m);
        let first_point = self.next_point;
        // Every point gets its number up front, so numbering does not depend on what is dropped.
        self.next_point = self.next_point.saturating_add(n as u32);
        let Some(data) = &m.data else {
            self.problem(|| format!("{at}: no data (unsupported metric type)"));
            return Ok(());
        };
        let temporality = match data {
            Data::Sum(s) => Some(s.aggregation_temporality),
            Data::Histogram(h) => Some(h.aggregation_temporality),
            Data::ExponentialHistogram(h) => Some(h.aggregation_temporality),
            Data::Gauge(_) | Data::Summary(_) => None,
        };
        let is_delta = temporality == Some(AggregationTemporality::Delta as i32);
        if let Some(t) = temporality
            && !is_delta
            && t != AggregationTemporality::Cumulative as i32
        {
            self.drop_points(DropReason::InvalidTemporality, n);
            self.problem(|| {
                format!("{at}: invalid temporality and type combination (aggregation temporality {t})")
            });
            return Ok(());
        }
        let kind = match data {
            Data::Gauge(_) => MetricKind::Gauge,
            Data::Sum(s) if s.is_monotonic => MetricKind::Counter,
            Data::Sum(_) => MetricKind::UpDownCounter,
            Data::Histogram(_) => MetricKind::Histogram,
            Data::ExponentialHistogram(_) => MetricKind::ExponentialHistogram,
            Data::Summary(_) => MetricKind::Summary,
        };
        let name = match metric_name(&m.name, &m.unit, kind) {
            Ok(name) => name,
            Err(e) => {
                self.drop_points(DropReason::InvalidMetricName, n);
                self.problem(|| format!("{at}: {e}"));
                return Ok(());
            }
        };
        if n == 0 {
            self.problem(|| format!("{at}: empty data points, metric dropped"));
            return Ok(());
        }
        let mut cx = PointCx {
            at,
            res,
            name: &name,
            is_delta,
            delta,
            now_ms,
        };
        match data {
            Data::Gauge(g) => {
                for (pi, p) in g.data_points.iter().enumerate() {
                    self.number_point(&mut cx, pi, p, first_point + pi as u32, false)?;
                }
            }
            Data::Sum(s) => {
                for (pi, p) in s.data_points.iter().enumerate() {
                    self.number_point(&mut cx, pi, p, first_point + pi as u32, is_delta)?;
                }
            }
            Data::Histogram(h) => {
                for (pi, p) in h.data_points.iter().enumerate() {
                    self.histogram_point(&mut cx, pi, p, first_point + pi as u32)?;
                }
            }
            Data::ExponentialHistogram(_) => {
                self.drop_points(DropReason::ExponentialHistogram, n);
                self.problem(|| {
                    format!(
                        "{at}: exponential histograms are not stored (no native histogram storage yet), \
                         {n} data points dropped"
                    )
                });
            }
            Data::Summary(s) => {
                for (pi, p) in s.data_points.iter().enumerate() {
                    self.summary_point(&mut cx, pi, p, first_point + pi as u32)?;
                }
            }
        }
        Ok(())
    }

    fn number_point(
        &mut self,
        cx: &mut PointCx<'_, '_>,
        pi: usize,
        p: &NumberDataPoint,
        id: u32,
        delta: bool,
    ) -> Result<()> {
        let Some(base) = self.point_base(cx.res, &p.attributes, cx.at, pi) else {
            return Ok(());
        };
        let labels = series_labels(&base, cx.name, None);
        if !self.valid(std::slice::from_ref(&labels), cx.at, pi) {
            return Ok(());
        }
        let mut v = match p.value {
            Some(number_data_point::Value::AsDouble(d)) => d,
            Some(number_data_point::Value::AsInt(i)) => i as f64,
            // Prometheus writes 0 for a point without a value.
            None => 0.0,
        };
        if p.flags & FLAG_NO_RECORDED_VALUE != 0 {
            if delta {
                cx.delta.end_sum(&labels);
            }
            v = stale();
        } else if delta {
            match cx
                .delta
                .add_sum(&labels, p.start_time_unix_nano, p.time_unix_nano, v, cx.now_ms)
            {
                Ok(total) => v = total,
                Err(r) => {
                    self.refused(r, cx.at, pi, &labels);
                    return Ok(());
                }
            }
        }
        self.out.exemplars += p.exemplars.len() as u64;
        self.push(labels, Sample::new(ms(p.time_unix_nano), v), id)
    }

    fn refused(&mut self, r: Refused, at: &At<'_>, pi: usize, labels: &Labels) {
        match r {
            Refused::OutOfOrder => {
                self.drop_points(DropReason::DeltaOutOfOrder, 1);
                self.problem(|| {
                    format!(
                        "{at} data point {pi}: delta point for {labels} does not follow the last one \
                         of its stream (resent or overlapping interval)"
                    )
                });
            }
            Refused::StreamLimit => {
                self.drop_points(DropReason::DeltaStreamLimit, 1);
                self.problem(|| {
                    format!("{at} data point {pi}: too many delta streams tracked, {labels} not started")
                });
            }
        }
    }

    fn histogram_point(
        &mut self,
        cx: &mut PointCx<'_, '_>,
        pi: usize,
        p: &HistogramDataPoint,
        id: u32,
    ) -> Result<()> {
        let Some(base) = self.point_base(cx.res, &p.attributes, cx.at, pi) else {
            return Ok(());
        };
        // Buckets pair up with bounds as far as both go; the +Inf bucket is the count.
        let paired = p.explicit_bounds.len().min(p.bucket_counts.len());
        let mut labels = Vec::with_capacity(paired + 3);
        if p.sum.is_some() {
            labels.push(series_labels(&base, &format!("{}_sum", cx.name), None));
        }
        labels.push(series_labels(&base, &format!("{}_count", cx.name), None));
        let bucket_name = format!("{}_bucket", cx.name);
        for bound in &p.explicit_bounds[..paired] {
            labels.push(series_labels(
                &base,
                &bucket_name,
                Some(("le", format_bound(*bound))),
            ));
        }
        labels.push(series_labels(&base, &bucket_name, Some(("le", "+Inf".into()))));
        if !self.valid(&labels, cx.at, pi) {
            return Ok(());
        }
        let no_value = p.flags & FLAG_NO_RECORDED_VALUE != 0;
        let (mut count, mut sum, mut buckets) = (p.count, p.sum, p.bucket_counts.clone());
        if cx.is_delta {
            let key = series_labels(&base, cx.name, None);
            if no_value {
                cx.delta.end_histogram(&key);
            } else {
                let d = HistogramDelta {
                    count: p.count,
                    sum: p.sum,
                    bounds: &p.explicit_bounds,
                    buckets: &p.bucket_counts,
                };
                match cx
                    .delta
                    .add_histogram(&key, p.start_time_unix_nano, p.time_unix_nano, d, cx.now_ms)
                {
                    Ok(totals) => {
                        count = totals.count;
                        sum = p.sum.map(|_| totals.sum);
                        buckets = totals.buckets;
                    }
                    Err(r) => {
                        self.refused(r, cx.at, pi, &key);
                        return Ok(());
                    }
                }
            }
        }
        let mut values = Vec::with_capacity(labels.len());
        values.extend(sum);
        values.push(count as f64);
        let mut cumulative: u64 = 0;
        for n in &buckets[..paired] {
            cumulative = cumulative.wrapping_add(*n);
            values.push(cumulative as f64);
        }
        values.push(count as f64);
        if no_value {
            values.fill(stale());
        }
        self.out.exemplars += p.exemplars.len() as u64;
        self.push_all(labels, ms(p.time_unix_nano), &values, id)
    }

    fn summary_point(
        &mut self,
        cx: &mut PointCx<'_, '_>,
        pi: usize,
        p: &SummaryDataPoint,
        id: u32,
    ) -> Result<()> {
        let Some(base) = self.point_base(cx.res, &p.attributes, cx.at, pi) else {
            return Ok(());
        };
        let mut labels = Vec::with_capacity(p.quantile_values.len() + 2);
        let mut values = Vec::with_capacity(p.quantile_values.len() + 2);
        labels.push(series_labels(&base, &format!("{}_sum", cx.name), None));
        values.push(p.sum);
        labels.push(series_labels(&base, &format!("{}_count", cx.name), None));
        values.push(p.count as f64);
        for q in &p.quantile_values {
            labels.push(series_labels(
                &base,
                cx.name,
                Some(("quantile", format_bound(q.quantile))),
            ));
            values.push(q.value);
        }
        if !self.valid(&labels, cx.at, pi) {
            return Ok(());
        }
        if p.flags & FLAG_NO_RECORDED_VALUE != 0 {
            values.fill(stale());
        }
        self.push_all(labels, ms(p.time_unix_nano), &values, id)
    }

    /// The `target_info` series of one resource whose points span `[lo, hi]` nanoseconds.
    fn target_info(
        &mut self,
        ri: usize,
        attrs: &[KeyValue],
        res: &ResourceLabels,
        lo: u64,
        hi: u64,
    ) -> Result<()> {
        let identifying = [SERVICE_NAMESPACE, SERVICE_NAME, SERVICE_INSTANCE_ID];
        let present = identifying.iter().filter(|k| find(attrs, k).is_some()).count();
        if attrs.len() <= present {
            // Only job and instance: target_info would say nothing.
            return Ok(());
        }
        let base = match base_labels(res, attrs, &identifying) {
            Ok(l) => l,
            Err(e) => {
                self.problem(|| format!("resource {ri}: target_info not written: {e}"));
                return Ok(());
            }
        };
        if !base.contains_key("job") && !base.contains_key("instance") {
            return Ok(());
        }
        let labels = series_labels(&base, "target_info", None);
        if let Err(e) = labels.validate(&self.opts.limits) {
            self.problem(|| format!("resource {ri}: target_info not written: series {labels}: {e}"));
            return Ok(());
        }
        // On a grid from the earliest point every interval, then the latest point; in time.Time
        // arithmetic (signed nanoseconds, milliseconds rounded down).
        let (lo, hi) = (i128::from(lo as i64), i128::from(hi as i64));
        let step = i128::from(self.opts.target_info_interval_ms.max(1)) * 1_000_000;
        let steps = (hi - lo + step - 1) / step;
        let mut t = lo + (steps - MAX_TARGET_INFO_SAMPLES).max(0) * step;
        let to_ms = |ns: i128| ns.div_euclid(1_000_000) as i64;
        let mut last = None;
        while t < hi {
            self.push(labels.clone(), Sample::new(to_ms(t), 1.0), TARGET_INFO_POINT)?;
            last = Some(to_ms(t));
            t += step;
        }
        if last.is_none_or(|l| l < to_ms(hi)) {
            self.push(labels, Sample::new(to_ms(hi), 1.0), TARGET_INFO_POINT)?;
        }
        Ok(())
    }
}

/// What the points of one metric share.
struct PointCx<'a, 'd> {
    at: &'a At<'a>,
    res: &'a ResourceLabels,
    name: &'a str,
    is_delta: bool,
    delta: &'d mut DeltaState,
    now_ms: i64,
}
