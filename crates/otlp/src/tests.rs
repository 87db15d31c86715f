//! Translation rules, one case each, and the two decoders agreeing.

use std::collections::BTreeMap;
use std::time::Duration;

use model::{LabelLimits, STALE_NAN_BITS};
use prost::Message;

use crate::proto::*;
use crate::*;

const T0: u64 = 1_700_000_000_123_456_789;
const T0_MS: i64 = 1_700_000_000_123;

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
    }
}

fn kv_int(k: &str, v: i64) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(v)),
        }),
    }
}

fn service() -> Vec<KeyValue> {
    vec![
        kv("service.name", "checkout"),
        kv("service.namespace", "shop"),
        kv("service.instance.id", "i-1"),
    ]
}

fn request(resource: Vec<KeyValue>, metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: resource,
                dropped_attributes_count: 0,
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "lib".into(),
                    version: "1.0".into(),
                    ..Default::default()
                }),
                metrics,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

fn metric(name: &str, unit: &str, data: metric::Data) -> Metric {
    Metric {
        name: name.into(),
        unit: unit.into(),
        data: Some(data),
        ..Default::default()
    }
}

fn point(attrs: Vec<KeyValue>, t: u64, v: f64) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attrs,
        time_unix_nano: t,
        value: Some(number_data_point::Value::AsDouble(v)),
        ..Default::default()
    }
}

fn gauge(points: Vec<NumberDataPoint>) -> metric::Data {
    metric::Data::Gauge(Gauge { data_points: points })
}

fn sum(points: Vec<NumberDataPoint>, temporality: AggregationTemporality, monotonic: bool) -> metric::Data {
    metric::Data::Sum(Sum {
        data_points: points,
        aggregation_temporality: temporality as i32,
        is_monotonic: monotonic,
    })
}

fn histogram_point(
    t: u64,
    count: u64,
    sum: Option<f64>,
    buckets: &[u64],
    bounds: &[f64],
) -> HistogramDataPoint {
    HistogramDataPoint {
        time_unix_nano: t,
        count,
        sum,
        bucket_counts: buckets.to_vec(),
        explicit_bounds: bounds.to_vec(),
        ..Default::default()
    }
}

fn histogram(points: Vec<HistogramDataPoint>, temporality: AggregationTemporality) -> metric::Data {
    metric::Data::Histogram(Histogram {
        data_points: points,
        aggregation_temporality: temporality as i32,
    })
}

/// Series as `name{labels}` text → (t, value bits) pairs; the value bits keep NaN payloads.
fn series(tr: &Translated) -> BTreeMap<String, Vec<(i64, f64)>> {
    assert_eq!(tr.series.len(), tr.points.len());
    tr.series
        .iter()
        .zip(&tr.points)
        .map(|((l, s), p)| {
            assert_eq!(s.len(), p.len());
            (l.to_string(), s.iter().map(|s| (s.t, s.v)).collect())
        })
        .collect()
}

fn run(req: &ExportMetricsServiceRequest) -> Translated {
    translate(req, &mut DeltaState::default(), &Options::default(), 0).unwrap()
}

/// The series without target_info.
fn data_series(tr: &Translated) -> BTreeMap<String, Vec<(i64, f64)>> {
    let mut s = series(tr);
    s.retain(|k, _| !k.starts_with("target_info{"));
    s
}

#[test]
fn gauge_gets_job_instance_and_escaped_attribute_labels() {
    let req = request(
        service(),
        vec![metric(
            "system.memory.usage",
            "By",
            gauge(vec![point(
                vec![
                    kv("state", "used"),
                    kv("host.name", "a"),
                    // Escapes to the same name as host.name: values are joined in key order.
                    kv("host_name", "b"),
                    kv_int("2xx", 5),
                    kv("_private", "p"),
                    kv("job", "overridden by service.name"),
                ],
                T0,
                1024.0,
            )]),
        )],
    );
    let tr = run(&req);
    let s = data_series(&tr);
    assert_eq!(
        s.keys().collect::<Vec<_>>(),
        vec![
            r#"system_memory_usage_bytes{host_name="a;b", instance="i-1", job="shop/checkout", key_2xx="5", key_private="p", state="used"}"#
        ]
    );
    assert_eq!(s.values().next().unwrap(), &vec![(T0_MS, 1024.0)]);
    assert_eq!(tr.dropped_total(), 0);
    assert_eq!(tr.data_points, 1);
    assert_eq!(tr.points[0], vec![0]);
}

#[test]
fn service_name_without_namespace_is_the_job() {
    let req = request(
        vec![kv("service.name", "api")],
        vec![metric("up", "", gauge(vec![point(vec![], T0, 1.0)]))],
    );
    let s = series(&run(&req));
    // Only identifying attributes: no target_info.
    assert_eq!(s.keys().collect::<Vec<_>>(), vec![r#"up{job="api"}"#]);
}

#[test]
fn monotonic_sum_is_a_total_counter_and_non_monotonic_a_gauge() {
    let req = request(
        service(),
        vec![
            metric(
                "http.requests",
                "{request}",
                sum(
                    vec![point(vec![], T0, 7.0)],
                    AggregationTemporality::Cumulative,
                    true,
                ),
            ),
            metric(
                "queue.depth",
                "1",
                sum(
                    vec![point(vec![], T0, 3.0)],
                    AggregationTemporality::Cumulative,
                    false,
                ),
            ),
            metric("cpu.utilization", "1", gauge(vec![point(vec![], T0, 0.5)])),
        ],
    );
    let s = data_series(&run(&req));
    let names: Vec<&String> = s.keys().collect();
    assert_eq!(
        names,
        vec![
            r#"cpu_utilization_ratio{instance="i-1", job="shop/checkout"}"#,
            r#"http_requests_total{instance="i-1", job="shop/checkout"}"#,
            r#"queue_depth{instance="i-1", job="shop/checkout"}"#,
        ]
    );
}

#[test]
fn int_values_and_missing_values() {
    let mut p = point(vec![], T0, 0.0);
    p.value = Some(number_data_point::Value::AsInt(-42));
    let mut empty = point(vec![kv("k", "v")], T0, 0.0);
    empty.value = None;
    let req = request(vec![], vec![metric("m", "", gauge(vec![p, empty]))]);
    let s = series(&run(&req));
    assert_eq!(s["m{}"], vec![(T0_MS, -42.0)]);
    assert_eq!(s[r#"m{k="v"}"#], vec![(T0_MS, 0.0)]);
}

#[test]
fn explicit_histogram_becomes_classic_series() {
    let req = request(
        service(),
        vec![metric(
            "http.server.request.duration",
            "s",
            histogram(
                vec![histogram_point(
                    T0,
                    3,
                    Some(2.35),
                    &[1, 1, 0, 1],
                    &[0.1, 0.5, 1.0],
                )],
                AggregationTemporality::Cumulative,
            ),
        )],
    );
    let s = data_series(&run(&req));
    let job = r#"instance="i-1", job="shop/checkout""#;
    let expect: BTreeMap<String, Vec<(i64, f64)>> = [
        (
            format!(r#"http_server_request_duration_seconds_bucket{{{job}, le="0.1"}}"#),
            1.0,
        ),
        (
            format!(r#"http_server_request_duration_seconds_bucket{{{job}, le="0.5"}}"#),
            2.0,
        ),
        (
            format!(r#"http_server_request_duration_seconds_bucket{{{job}, le="1"}}"#),
            2.0,
        ),
        (
            format!(r#"http_server_request_duration_seconds_bucket{{{job}, le="+Inf"}}"#),
            3.0,
        ),
        (
            format!(r#"http_server_request_duration_seconds_count{{{job}}}"#),
            3.0,
        ),
        (
            format!(r#"http_server_request_duration_seconds_sum{{{job}}}"#),
            2.35,
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k, vec![(T0_MS, v)]))
    .collect();
    assert_eq!(s, expect);
}

#[test]
fn histogram_without_sum_or_with_short_buckets() {
    // No sum: no _sum series. Fewer counts than bounds: buckets as far as both go, +Inf = count.
    let req = request(
        vec![],
        vec![metric(
            "h",
            "",
            histogram(
                vec![histogram_point(T0, 9, None, &[4], &[1.0, 2.0])],
                AggregationTemporality::Cumulative,
            ),
        )],
    );
    let s = series(&run(&req));
    assert_eq!(
        s.keys().collect::<Vec<_>>(),
        vec![r#"h_bucket{le="+Inf"}"#, r#"h_bucket{le="1"}"#, "h_count{}"]
    );
    assert_eq!(s[r#"h_bucket{le="1"}"#], vec![(T0_MS, 4.0)]);
    assert_eq!(s[r#"h_bucket{le="+Inf"}"#], vec![(T0_MS, 9.0)]);
}

#[test]
fn summary_becomes_quantiles_sum_and_count() {
    let req = request(
        vec![],
        vec![metric(
            "rpc.latency",
            "ms",
            metric::Data::Summary(Summary {
                data_points: vec![SummaryDataPoint {
                    time_unix_nano: T0,
                    count: 10,
                    sum: 123.5,
                    quantile_values: vec![
                        ValueAtQuantile {
                            quantile: 0.5,
                            value: 11.0,
                        },
                        ValueAtQuantile {
                            quantile: 0.99,
                            value: 40.0,
                        },
                    ],
                    ..Default::default()
                }],
            }),
        )],
    );
    let s = series(&run(&req));
    assert_eq!(
        s[r#"rpc_latency_milliseconds{quantile="0.5"}"#],
        vec![(T0_MS, 11.0)]
    );
    assert_eq!(
        s[r#"rpc_latency_milliseconds{quantile="0.99"}"#],
        vec![(T0_MS, 40.0)]
    );
    assert_eq!(s["rpc_latency_milliseconds_sum{}"], vec![(T0_MS, 123.5)]);
    assert_eq!(s["rpc_latency_milliseconds_count{}"], vec![(T0_MS, 10.0)]);
    assert_eq!(s.len(), 4);
}

#[test]
fn exponential_histograms_are_counted_and_dropped() {
    let req = request(
        vec![],
        vec![metric(
            "latency",
            "s",
            metric::Data::ExponentialHistogram(ExponentialHistogram {
                data_points: vec![ExponentialHistogramDataPoint::default(); 3],
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
            }),
        )],
    );
    let tr = run(&req);
    assert!(tr.series.is_empty());
    assert_eq!(tr.dropped(DropReason::ExponentialHistogram), 3);
    assert_eq!(tr.data_points, 3);
    assert!(tr.problems[0].starts_with(r#"resource 0 scope 0 metric 0 "latency": exponential histograms"#));
}

#[test]
fn unspecified_temporality_is_refused_and_named() {
    let req = request(
        vec![],
        vec![
            metric("ok", "", gauge(vec![point(vec![], T0, 1.0)])),
            metric(
                "bad",
                "",
                sum(
                    vec![point(vec![], T0, 1.0)],
                    AggregationTemporality::Unspecified,
                    true,
                ),
            ),
        ],
    );
    let tr = run(&req);
    assert_eq!(series(&tr).keys().collect::<Vec<_>>(), vec!["ok{}"]);
    assert_eq!(tr.dropped(DropReason::InvalidTemporality), 1);
    assert_eq!(
        tr.problems,
        vec![
            r#"resource 0 scope 0 metric 1 "bad": invalid temporality and type combination (aggregation temporality 0)"#
        ]
    );
}

#[test]
fn bad_names_drop_their_points_with_a_reason() {
    let req = request(
        vec![],
        vec![
            metric("...", "", gauge(vec![point(vec![], T0, 1.0)])),
            metric(
                "m",
                "",
                gauge(vec![point(vec![], T0, 1.0), point(vec![kv("", "x")], T0, 2.0)]),
            ),
        ],
    );
    let tr = run(&req);
    assert_eq!(tr.dropped(DropReason::InvalidMetricName), 1);
    assert_eq!(tr.dropped(DropReason::InvalidLabelName), 1);
    assert_eq!(series(&tr)["m{}"], vec![(T0_MS, 1.0)]);
    assert_eq!(
        tr.problems[1],
        r#"resource 0 scope 0 metric 1 "m" data point 1: normalization for label name "" resulted in empty name"#
    );
    // The surviving point keeps its number in the request.
    assert_eq!(tr.points[0], vec![1]);
}

#[test]
fn label_limits_drop_points() {
    let opts = Options {
        limits: LabelLimits {
            max_value_len: 8,
            ..LabelLimits::default()
        },
        ..Options::default()
    };
    let req = request(
        vec![],
        vec![metric(
            "m",
            "",
            gauge(vec![
                point(vec![kv("k", "short")], T0, 1.0),
                point(vec![kv("k", "much too long")], T0, 1.0),
            ]),
        )],
    );
    let tr = translate(&req, &mut DeltaState::default(), &opts, 0).unwrap();
    assert_eq!(tr.series.len(), 1);
    assert_eq!(tr.dropped(DropReason::InvalidLabels), 1);
    assert!(
        tr.problems[0].contains("over the limit of 8"),
        "{:?}",
        tr.problems
    );
}

#[test]
fn no_recorded_value_is_a_staleness_marker() {
    let mut p = point(vec![], T0, 5.0);
    p.flags = FLAG_NO_RECORDED_VALUE;
    let mut h = histogram_point(T0, 1, Some(1.0), &[1, 0], &[1.0]);
    h.flags = FLAG_NO_RECORDED_VALUE;
    let req = request(
        vec![],
        vec![
            metric("g", "", gauge(vec![p])),
            metric("h", "", histogram(vec![h], AggregationTemporality::Cumulative)),
        ],
    );
    let tr = run(&req);
    assert_eq!(tr.series.len(), 5);
    for (_, samples) in &tr.series {
        assert_eq!(samples[0].v.to_bits(), STALE_NAN_BITS);
    }
}

#[test]
fn delta_sums_become_running_totals_across_requests() {
    let mut delta = DeltaState::default();
    let opts = Options::default();
    let req = |start: u64, t: u64, v: f64| {
        let mut p = point(vec![kv("queue", "a")], t, v);
        p.start_time_unix_nano = start;
        request(
            service(),
            vec![metric(
                "jobs.processed",
                "1",
                sum(vec![p], AggregationTemporality::Delta, true),
            )],
        )
    };
    let name = r#"jobs_processed_total{instance="i-1", job="shop/checkout", queue="a"}"#;
    let s = |tr: &Translated| data_series(tr)[name].clone();
    let tr = translate(&req(T0 - 1000, T0, 5.0), &mut delta, &opts, 0).unwrap();
    assert_eq!(s(&tr), vec![(T0_MS, 5.0)]);
    let tr = translate(&req(T0, T0 + 10_000_000_000, 3.0), &mut delta, &opts, 0).unwrap();
    assert_eq!(s(&tr), vec![(T0_MS + 10_000, 8.0)]);
    // A resend is refused rather than counted twice.
    let tr = translate(&req(T0, T0 + 10_000_000_000, 3.0), &mut delta, &opts, 0).unwrap();
    assert!(data_series(&tr).is_empty());
    assert_eq!(tr.dropped(DropReason::DeltaOutOfOrder), 1);
    assert!(
        tr.problems[0].contains("does not follow the last one"),
        "{:?}",
        tr.problems
    );
    assert_eq!(delta.streams(), 1);
}

#[test]
fn delta_stream_limit_and_expiry() {
    let mut delta = DeltaState::new(1, Duration::from_secs(60));
    let opts = Options::default();
    let req = |k: &str| {
        request(
            vec![],
            vec![metric(
                "c",
                "",
                sum(
                    vec![point(vec![kv("k", k)], T0, 1.0)],
                    AggregationTemporality::Delta,
                    true,
                ),
            )],
        )
    };
    assert_eq!(
        translate(&req("a"), &mut delta, &opts, 0).unwrap().series.len(),
        1
    );
    let tr = translate(&req("b"), &mut delta, &opts, 1000).unwrap();
    assert_eq!(tr.dropped(DropReason::DeltaStreamLimit), 1);
    // A minute later "a" is forgotten and "b" can start.
    let tr = translate(&req("b"), &mut delta, &opts, 61_000).unwrap();
    assert_eq!(tr.series.len(), 1);
}

#[test]
fn delta_histograms_accumulate() {
    let mut delta = DeltaState::default();
    let opts = Options::default();
    let req = |t: u64, count: u64, s: f64, buckets: &[u64]| {
        request(
            vec![],
            vec![metric(
                "d",
                "s",
                histogram(
                    vec![histogram_point(t, count, Some(s), buckets, &[1.0])],
                    AggregationTemporality::Delta,
                ),
            )],
        )
    };
    translate(&req(T0, 2, 1.5, &[1, 1]), &mut delta, &opts, 0).unwrap();
    let tr = translate(&req(T0 + 1_000_000, 3, 0.5, &[3, 0]), &mut delta, &opts, 0).unwrap();
    let s = series(&tr);
    let at = T0_MS + 1;
    assert_eq!(s[r#"d_seconds_bucket{le="1"}"#], vec![(at, 4.0)]);
    assert_eq!(s[r#"d_seconds_bucket{le="+Inf"}"#], vec![(at, 5.0)]);
    assert_eq!(s["d_seconds_count{}"], vec![(at, 5.0)]);
    assert_eq!(s["d_seconds_sum{}"], vec![(at, 2.0)]);
}

#[test]
fn target_info_carries_the_other_resource_attributes() {
    let mut attrs = service();
    attrs.push(kv("deployment.environment", "prod"));
    attrs.push(kv("host.name", "web-1"));
    // Points 6 minutes apart: target_info at the first, 2.5 min later, 5 min later, and the last.
    let t1 = T0 + 360_000_000_000;
    let req = request(
        attrs,
        vec![metric(
            "m",
            "",
            gauge(vec![point(vec![], T0, 1.0), point(vec![], t1, 2.0)]),
        )],
    );
    let tr = run(&req);
    let s = series(&tr);
    let ti = &s[r#"target_info{deployment_environment="prod", host_name="web-1", instance="i-1", job="shop/checkout"}"#];
    assert_eq!(
        ti,
        &vec![
            (T0_MS, 1.0),
            (T0_MS + 150_000, 1.0),
            (T0_MS + 300_000, 1.0),
            (T0_MS + 360_000, 1.0)
        ]
    );
    let i = tr
        .series
        .iter()
        .position(|(l, _)| l.metric_name() == Some("target_info"))
        .unwrap();
    assert!(tr.points[i].iter().all(|p| *p == TARGET_INFO_POINT));
}

#[test]
fn target_info_needs_job_or_instance_and_a_point() {
    let req = request(
        vec![kv("host.name", "x")],
        vec![metric("m", "", gauge(vec![point(vec![], T0, 1.0)]))],
    );
    assert_eq!(series(&run(&req)).len(), 1);
    let req = request(service(), vec![]);
    assert!(run(&req).series.is_empty());
}

#[test]
fn target_info_of_a_long_span_is_bounded() {
    let mut attrs = service();
    attrs.push(kv("a", "b"));
    let req = request(
        attrs,
        vec![metric(
            "m",
            "",
            gauge(vec![point(vec![], 0, 1.0), point(vec![], u64::MAX / 2, 1.0)]),
        )],
    );
    let tr = run(&req);
    let ti = tr
        .series
        .iter()
        .find(|(l, _)| l.metric_name() == Some("target_info"))
        .unwrap();
    assert!(ti.1.len() <= 1001, "{}", ti.1.len());
    assert_eq!(ti.1.last().unwrap().t, (u64::MAX / 2) as i64 / 1_000_000);
}

#[test]
fn same_series_from_two_points_is_merged() {
    let req = request(
        vec![],
        vec![metric(
            "m",
            "",
            gauge(vec![point(vec![], T0, 1.0), point(vec![], T0 + 1_000_000, 2.0)]),
        )],
    );
    let tr = run(&req);
    assert_eq!(tr.series.len(), 1);
    assert_eq!(tr.series[0].1.len(), 2);
    assert_eq!(tr.points[0], vec![0, 1]);
}

#[test]
fn output_label_bytes_are_bounded() {
    let opts = Options {
        max_label_bytes: 100,
        ..Options::default()
    };
    let bounds: Vec<f64> = (0..50).map(f64::from).collect();
    let req = request(
        vec![],
        vec![metric(
            "h",
            "",
            histogram(
                vec![histogram_point(T0, 1, None, &[0; 51], &bounds)],
                AggregationTemporality::Cumulative,
            ),
        )],
    );
    let e = translate(&req, &mut DeltaState::default(), &opts, 0).unwrap_err();
    assert!(matches!(e, Error::TooLarge { limit: 100, .. }), "{e}");
}

/// One request with every kind of field, in both encodings.
const JSON: &str = r#"{
  "resourceMetrics": [{
    "resource": {"attributes": [
      {"key": "service.name", "value": {"stringValue": "checkout"}},
      {"key": "service.instance.id", "value": {"stringValue": "i-1"}},
      {"key": "build", "value": {"kvlistValue": {"values": [{"key": "n", "value": {"intValue": "3"}}]}}},
      {"key": "tags", "value": {"arrayValue": {"values": [{"stringValue": "a"}, {"boolValue": true}]}}},
      {"key": "raw", "value": {"bytesValue": "3q2+7w=="}},
      {"key": "ratio", "value": {"doubleValue": 0.25}}
    ]},
    "scopeMetrics": [{
      "scope": {"name": "lib", "version": "1.0"},
      "metrics": [
        {"name": "requests", "unit": "1", "sum": {"aggregationTemporality": 2, "isMonotonic": true,
          "dataPoints": [{"attributes": [{"key": "code", "value": {"intValue": 200}}],
            "startTimeUnixNano": "1700000000000000000", "timeUnixNano": "1700000000123456789",
            "asInt": "12",
            "exemplars": [{"timeUnixNano": "1700000000100000000", "asDouble": 1.0,
              "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174"}]}]}},
        {"name": "temp", "unit": "Cel", "gauge": {"dataPoints": [
          {"timeUnixNano": 1700000000123456789, "asDouble": "NaN"},
          {"timeUnixNano": "1700000001123456789", "asDouble": 21.5, "flags": 1}]}},
        {"name": "latency", "unit": "s", "histogram": {"aggregationTemporality": 2, "dataPoints": [
          {"timeUnixNano": "1700000000123456789", "count": "3", "sum": 2.5,
           "bucketCounts": ["1", 2, "0"], "explicitBounds": [0.5, 1], "min": 0.1, "max": 1}]}},
        {"name": "rpc", "summary": {"dataPoints": [{"timeUnixNano": "1700000000123456789",
          "count": "4", "sum": 8, "quantileValues": [{"quantile": 0.5, "value": 2}]}]}},
        {"name": "exp", "exponentialHistogram": {"aggregationTemporality": 2, "dataPoints": [
          {"timeUnixNano": "1700000000123456789", "count": "1", "scale": -2, "zeroCount": "0",
           "positive": {"offset": -1, "bucketCounts": ["1"]}}]}}
      ]
    }]
  }]
}"#;

fn json_equivalent() -> ExportMetricsServiceRequest {
    use any_value::Value as V;
    let any = |v: V| Some(AnyValue { value: Some(v) });
    let t = 1_700_000_000_123_456_789u64;
    let resource = vec![
        kv("service.name", "checkout"),
        kv("service.instance.id", "i-1"),
        KeyValue {
            key: "build".into(),
            value: any(V::KvlistValue(KeyValueList {
                values: vec![kv_int("n", 3)],
            })),
        },
        KeyValue {
            key: "tags".into(),
            value: any(V::ArrayValue(ArrayValue {
                values: vec![
                    AnyValue {
                        value: Some(V::StringValue("a".into())),
                    },
                    AnyValue {
                        value: Some(V::BoolValue(true)),
                    },
                ],
            })),
        },
        KeyValue {
            key: "raw".into(),
            value: any(V::BytesValue(vec![0xde, 0xad, 0xbe, 0xef])),
        },
        KeyValue {
            key: "ratio".into(),
            value: any(V::DoubleValue(0.25)),
        },
    ];
    let mut requests = point(vec![kv_int("code", 200)], t, 0.0);
    requests.start_time_unix_nano = 1_700_000_000_000_000_000;
    requests.value = Some(number_data_point::Value::AsInt(12));
    requests.exemplars = vec![Exemplar {
        time_unix_nano: 1_700_000_000_100_000_000,
        value: Some(exemplar::Value::AsDouble(1.0)),
        trace_id: vec![
            0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c,
        ],
        span_id: vec![0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74],
        ..Default::default()
    }];
    let mut stale = point(vec![], t + 1_000_000_000, 21.5);
    stale.flags = FLAG_NO_RECORDED_VALUE;
    let mut h = histogram_point(t, 3, Some(2.5), &[1, 2, 0], &[0.5, 1.0]);
    h.min = Some(0.1);
    h.max = Some(1.0);
    let mut r = request(
        resource,
        vec![
            metric(
                "requests",
                "1",
                sum(vec![requests], AggregationTemporality::Cumulative, true),
            ),
            metric("temp", "Cel", gauge(vec![point(vec![], t, f64::NAN), stale])),
            metric(
                "latency",
                "s",
                histogram(vec![h], AggregationTemporality::Cumulative),
            ),
            metric(
                "rpc",
                "",
                metric::Data::Summary(Summary {
                    data_points: vec![SummaryDataPoint {
                        time_unix_nano: t,
                        count: 4,
                        sum: 8.0,
                        quantile_values: vec![ValueAtQuantile {
                            quantile: 0.5,
                            value: 2.0,
                        }],
                        ..Default::default()
                    }],
                }),
            ),
            metric(
                "exp",
                "",
                metric::Data::ExponentialHistogram(ExponentialHistogram {
                    data_points: vec![ExponentialHistogramDataPoint {
                        time_unix_nano: t,
                        count: 1,
                        scale: -2,
                        positive: Some(Buckets {
                            offset: -1,
                            bucket_counts: vec![1],
                        }),
                        ..Default::default()
                    }],
                    aggregation_temporality: AggregationTemporality::Cumulative as i32,
                }),
            ),
        ],
    );
    r.resource_metrics[0].scope_metrics[0].scope = Some(InstrumentationScope {
        name: "lib".into(),
        version: "1.0".into(),
        ..Default::default()
    });
    r
}

/// NaN != NaN, so requests are compared through their protobuf encoding.
fn same_request(a: &ExportMetricsServiceRequest, b: &ExportMetricsServiceRequest) -> bool {
    a.encode_to_vec() == b.encode_to_vec()
}

#[test]
fn json_and_protobuf_give_the_same_request_and_series() {
    let from_json = decode(Encoding::Json, JSON.as_bytes()).unwrap();
    let expected = json_equivalent();
    assert!(same_request(&from_json, &expected), "{from_json:#?}");
    let from_proto = decode(Encoding::Protobuf, &expected.encode_to_vec()).unwrap();
    assert!(same_request(&from_proto, &expected));
    let (a, b) = (run(&from_json), run(&from_proto));
    let bits = |tr: &Translated| -> Vec<(String, Vec<(i64, u64)>)> {
        tr.series
            .iter()
            .map(|(l, s)| (l.to_string(), s.iter().map(|s| (s.t, s.v.to_bits())).collect()))
            .collect()
    };
    assert_eq!(bits(&a), bits(&b));
    assert_eq!(a.exemplars, 1);
    assert_eq!(a.data_points, 6);
    assert_eq!(a.dropped(DropReason::ExponentialHistogram), 1);
    let s = series(&a);
    assert_eq!(
        s.keys().map(String::as_str).collect::<Vec<_>>(),
        vec![
            r#"latency_seconds_bucket{instance="i-1", job="checkout", le="+Inf"}"#,
            r#"latency_seconds_bucket{instance="i-1", job="checkout", le="0.5"}"#,
            r#"latency_seconds_bucket{instance="i-1", job="checkout", le="1"}"#,
            r#"latency_seconds_count{instance="i-1", job="checkout"}"#,
            r#"latency_seconds_sum{instance="i-1", job="checkout"}"#,
            r#"requests_total{code="200", instance="i-1", job="checkout"}"#,
            r#"rpc_count{instance="i-1", job="checkout"}"#,
            r#"rpc_sum{instance="i-1", job="checkout"}"#,
            r#"rpc{instance="i-1", job="checkout", quantile="0.5"}"#,
            r#"target_info{build="{\"n\":3}", instance="i-1", job="checkout", ratio="0.25", raw="3q2+7w==", tags="[\"a\",true]"}"#,
            r#"temp_celsius{instance="i-1", job="checkout"}"#,
        ]
    );
    let temp = &a.series[a
        .series
        .iter()
        .position(|(l, _)| l.metric_name() == Some("temp_celsius"))
        .unwrap()]
    .1;
    assert!(temp[0].v.is_nan() && temp[0].v.to_bits() != STALE_NAN_BITS);
    assert_eq!(temp[1].v.to_bits(), STALE_NAN_BITS);
    assert_eq!(
        s[r#"latency_seconds_bucket{instance="i-1", job="checkout", le="1"}"#][0].1,
        3.0
    );
}

#[test]
fn content_types() {
    let e = |ct: Option<&str>| Encoding::from_content_type(ct);
    assert_eq!(e(Some("application/x-protobuf")), Ok(Encoding::Protobuf));
    assert_eq!(e(Some("Application/JSON; charset=utf-8")), Ok(Encoding::Json));
    assert_eq!(
        e(Some("text/plain")).unwrap_err().to_string(),
        "unsupported content type \"text/plain\": expected application/x-protobuf or application/json"
    );
    assert!(e(None).is_err());
}

#[test]
fn responses_in_both_encodings() {
    let pb = encode_response(Encoding::Protobuf, 2, "two refused");
    let r = ExportMetricsServiceResponse::decode(pb.as_slice()).unwrap();
    let p = r.partial_success.unwrap();
    assert_eq!(
        (p.rejected_data_points, p.error_message.as_str()),
        (2, "two refused")
    );
    assert!(encode_response(Encoding::Protobuf, 0, "").is_empty());
    assert_eq!(encode_response(Encoding::Json, 0, ""), b"{}");
    let st =
        Status::decode(encode_status(Encoding::Protobuf, code::INVALID_ARGUMENT, "bad").as_slice()).unwrap();
    assert_eq!((st.code, st.message.as_str()), (3, "bad"));
    assert_eq!(
        encode_status(Encoding::Json, code::INVALID_ARGUMENT, "bad"),
        br#"{"code":3,"message":"bad"}"#
    );
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    assert!(decode_protobuf(&[0xff, 0xff, 0xff]).is_err());
    assert!(
        decode_protobuf(b"\x0a\x05hello")
            .unwrap_err()
            .to_string()
            .starts_with("invalid protobuf body: ")
    );
    assert!(decode_json(b"\xff").is_err());
    assert!(decode_json(br#"{"resourceMetrics": [{"scopeMetrics": 5}]}"#).is_err());
}
