//! End-to-end: OTLP/HTTP metrics into the real binary, from the real OpenTelemetry Python SDK
//! (protobuf, gzip) and from JSON bodies the test writes, read back through the query, series and
//! export APIs with the names and labels Prometheus 3 gives them.

#![allow(clippy::unwrap_used)] // tests unwrap freely: a failure is the assertion

mod common;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::Command;

use common::*;
use prost::Message as _;
use serde_json::Value;

/// Sends metrics the way an instrumented service does: a delta counter, a cumulative observable
/// counter, a delta histogram with explicit buckets, a gauge and an up-down counter, exported twice
/// (protobuf, gzip). Prints the SDK version it ran with.
const SDK_SCRIPT: &str = r#"
import json, sys, time
from opentelemetry.metrics import Observation
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality, MetricExportResult, PeriodicExportingMetricReader)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.version import __version__
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

results = []

class Checked(OTLPMetricExporter):
    def export(self, metrics_data, timeout_millis=10_000, **kwargs):
        r = super().export(metrics_data, timeout_millis=timeout_millis, **kwargs)
        results.append(r)
        return r

exporter = Checked(
    endpoint=sys.argv[1],
    compression=Compression.Gzip,
    preferred_temporality={Counter: AggregationTemporality.DELTA,
                           Histogram: AggregationTemporality.DELTA},
)
reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
resource = Resource.create({
    "service.name": "checkout",
    "service.namespace": "shop",
    "service.instance.id": "i-1",
    "deployment.environment": "test",
})
provider = MeterProvider(metric_readers=[reader], resource=resource, shutdown_on_exit=False)
meter = provider.get_meter("e2e", "1.0")

requests = {"n": 2}
def observe(_options):
    yield Observation(requests["n"], {"http.method": "GET"})

jobs = meter.create_counter("jobs.processed", unit="1")
meter.create_observable_counter("shop.requests", callbacks=[observe], unit="{request}")
latency = meter.create_histogram(
    "http.server.request.duration", unit="s", explicit_bucket_boundaries_advisory=[0.1, 0.5, 1.0])
temperature = meter.create_gauge("shop.temperature", unit="Cel")
depth = meter.create_up_down_counter("shop.queue.depth", unit="1")

jobs.add(5, {"queue": "a"})
for v in (0.0625, 0.25, 2.0):
    latency.record(v)
temperature.set(21.5)
depth.add(3)
reader.force_flush()
time.sleep(0.05)
requests["n"] = 5
jobs.add(3, {"queue": "a"})
latency.record(0.75)
depth.add(-1)
reader.force_flush()

ok = len(results) == 2 and all(r == MetricExportResult.SUCCESS for r in results)
print(json.dumps({"sdk_version": __version__, "exports": [str(r) for r in results]}))
sys.exit(0 if ok else 1)
"#;

/// `python3` with the OpenTelemetry SDK and OTLP/HTTP exporter, or `None` after saying why the
/// SDK part is skipped; with PHAROS_REQUIRE_PEERS=1 a missing SDK fails the test instead.
fn python_with_sdk() -> Option<&'static str> {
    let ok = Command::new("python3")
        .args([
            "-c",
            "import opentelemetry.sdk.metrics, opentelemetry.exporter.otlp.proto.http.metric_exporter",
        ])
        .output();
    if ok.as_ref().is_ok_and(|o| o.status.success()) {
        return Some("python3");
    }
    let why = match ok {
        Err(e) => format!("python3 not runnable: {e}"),
        // The last line of Python's traceback: "ModuleNotFoundError: No module named ...".
        Ok(o) => String::from_utf8_lossy(&o.stderr)
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or("import failed")
            .trim()
            .to_owned(),
    };
    assert!(
        !peers_required(),
        "PHAROS_REQUIRE_PEERS=1 but the OpenTelemetry Python SDK is missing ({why}); \
         scripts/install-deps.sh installs it"
    );
    eprintln!(
        "NOTICE: OpenTelemetry Python SDK not available ({why}); skipping the SDK part of the OTLP \
         test (pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-http)"
    );
    None
}

/// The one value of an instant query returning one series.
fn query_value(c: &reqwest::blocking::Client, s: &Server, q: &str) -> f64 {
    let (code, v) = get_json(c, &s.url("/api/v1/query"), &[("query", q)]);
    assert_eq!(code, 200, "{v}");
    let result = v["data"]["result"].as_array().unwrap();
    assert_eq!(result.len(), 1, "{q}: {v}");
    result[0]["value"][1].as_str().unwrap().parse().unwrap()
}

/// Label sets of the series matching `selector`.
fn series(c: &reqwest::blocking::Client, s: &Server, selector: &str) -> Vec<BTreeMap<String, String>> {
    let (code, v) = get_json(c, &s.url("/api/v1/series"), &[("match[]", selector)]);
    assert_eq!(code, 200, "{v}");
    let mut out: Vec<BTreeMap<String, String>> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            m.as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect()
        })
        .collect();
    out.sort();
    out
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn opentelemetry_python_sdk_metrics_land_with_prometheus_names() {
    let Some(python) = python_with_sdk() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("d"), &[]);
    let c = client();
    let script = dir.path().join("send.py");
    std::fs::write(&script, SDK_SCRIPT).unwrap();
    let out = Command::new(python)
        .arg(&script)
        .arg(s.url("/api/v1/otlp/v1/metrics"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "SDK script failed: {stdout}\n{}\npharos log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        s.log_text()
    );
    let report: Value = serde_json::from_str(stdout.trim()).unwrap();
    let sdk_version = report["sdk_version"].as_str().unwrap();

    let id = [("instance", "i-1"), ("job", "shop/checkout")];
    let with_id = |name: &str, extra: &[(&str, &str)]| {
        let mut l = labels(&id);
        l.insert("__name__".into(), name.into());
        l.extend(labels(extra));
        l
    };
    let h = "http_server_request_duration_seconds";
    let mut expected = vec![
        with_id("jobs_processed_total", &[("queue", "a")]),
        with_id("shop_requests_total", &[("http_method", "GET")]),
        with_id(&format!("{h}_bucket"), &[("le", "0.1")]),
        with_id(&format!("{h}_bucket"), &[("le", "0.5")]),
        with_id(&format!("{h}_bucket"), &[("le", "1")]),
        with_id(&format!("{h}_bucket"), &[("le", "+Inf")]),
        with_id(&format!("{h}_sum"), &[]),
        with_id(&format!("{h}_count"), &[]),
        with_id("shop_temperature_celsius", &[]),
        with_id("shop_queue_depth", &[]),
        with_id(
            "target_info",
            &[
                ("deployment_environment", "test"),
                ("telemetry_sdk_language", "python"),
                ("telemetry_sdk_name", "opentelemetry"),
                ("telemetry_sdk_version", sdk_version),
            ],
        ),
    ];
    expected.sort();
    assert_eq!(series(&c, &s, r#"{job="shop/checkout"}"#), expected);

    // The delta counter (5, then 3 more) is stored as its running total.
    assert_eq!(query_value(&c, &s, "jobs_processed_total"), 8.0);
    let history = export(&c, &s, "jobs_processed_total");
    assert_eq!(history[0].values, vec![Value::from(5.0), Value::from(8.0)]);
    assert_eq!(query_value(&c, &s, "shop_requests_total"), 5.0);
    // Delta histogram: 0.0625, 0.25, 2 in the first export, 0.75 in the second.
    for (le, n) in [("0.1", 1.0), ("0.5", 2.0), ("1", 3.0), ("+Inf", 4.0)] {
        assert_eq!(
            query_value(&c, &s, &format!(r#"{h}_bucket{{le="{le}"}}"#)),
            n,
            "le={le}"
        );
    }
    assert_eq!(query_value(&c, &s, &format!("{h}_count")), 4.0);
    assert_eq!(query_value(&c, &s, &format!("{h}_sum")), 3.0625);
    assert_eq!(query_value(&c, &s, "shop_temperature_celsius"), 21.5);
    assert_eq!(query_value(&c, &s, "shop_queue_depth"), 2.0);
    assert_eq!(query_value(&c, &s, "target_info"), 1.0);
    // The usual join of target_info onto a series works with the labels as translated.
    assert_eq!(
        query_value(
            &c,
            &s,
            "shop_queue_depth * on (job, instance) group_left (deployment_environment) target_info"
        ),
        2.0
    );
}

struct Answer {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
}

fn post(c: &reqwest::blocking::Client, s: &Server, content_type: &str, gzip: bool, body: Vec<u8>) -> Answer {
    let mut req = c
        .post(s.url("/api/v1/otlp/v1/metrics"))
        .header("Content-Type", content_type);
    let body = if gzip {
        req = req.header("Content-Encoding", "gzip");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&body).unwrap();
        enc.finish().unwrap()
    } else {
        body
    };
    let r = req.body(body).send().unwrap();
    Answer {
        status: r.status().as_u16(),
        content_type: r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default(),
        body: r.bytes().unwrap().to_vec(),
    }
}

/// A request with one resource (`service.name` only, plus `region`) and the given metrics (JSON).
fn json_request(metrics: &str) -> Vec<u8> {
    format!(
        r#"{{"resourceMetrics":[{{"resource":{{"attributes":[
            {{"key":"service.name","value":{{"stringValue":"json-svc"}}}},
            {{"key":"region","value":{{"stringValue":"eu"}}}}]}},
          "scopeMetrics":[{{"scope":{{"name":"handmade"}},"metrics":[{metrics}]}}]}}]}}"#
    )
    .into_bytes()
}

#[test]
fn json_bodies_partial_success_and_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("pharos.yml");
    std::fs::write(&cfg, "limits:\n  max_body_bytes: 65536\n").unwrap();
    let s = Server::start(&dir.path().join("d"), &["--config", cfg.to_str().unwrap()]);
    let c = client();
    let now = now_ms() - 60_000;
    let ns = |ms: i64| format!("\"{}\"", ms * 1_000_000);
    let t = ns(now);
    let metrics = format!(
        r#"{{"name":"disk.io","unit":"By","sum":{{"aggregationTemporality":2,"isMonotonic":true,
             "dataPoints":[{{"attributes":[{{"key":"direction","value":{{"stringValue":"read"}}}}],
               "startTimeUnixNano":{start},"timeUnixNano":{t},"asInt":"1024"}}]}}}},
           {{"name":"rpc.duration","unit":"ms","summary":{{"dataPoints":[{{"timeUnixNano":{t},
               "count":"3","sum":12.5,"quantileValues":[{{"quantile":0.99,"value":7.5}}]}}]}}}},
           {{"name":"payload.size","unit":"By","histogram":{{"aggregationTemporality":2,
             "dataPoints":[{{"timeUnixNano":{t},"count":"6","sum":4000,
               "bucketCounts":["1","2","3"],"explicitBounds":[100,1000]}}]}}}},
           {{"name":"json.up","gauge":{{"dataPoints":[{{"timeUnixNano":{t},"asDouble":1}},
               {{"timeUnixNano":{t1},"asDouble":1,"flags":1}}]}}}}"#,
        start = ns(now - 10_000),
        t1 = ns(now + 1000),
    );
    let a = post(&c, &s, "application/json", true, json_request(&metrics));
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.content_type, "application/json");
    assert_eq!(a.json(), serde_json::json!({}));

    let job = [("job", "json-svc")];
    let with_job = |name: &str, extra: &[(&str, &str)]| {
        let mut l = labels(&job);
        l.insert("__name__".into(), name.into());
        l.extend(labels(extra));
        l
    };
    let mut expected = vec![
        with_job("disk_io_bytes_total", &[("direction", "read")]),
        with_job("rpc_duration_milliseconds", &[("quantile", "0.99")]),
        with_job("rpc_duration_milliseconds_sum", &[]),
        with_job("rpc_duration_milliseconds_count", &[]),
        with_job("payload_size_bytes_bucket", &[("le", "100")]),
        with_job("payload_size_bytes_bucket", &[("le", "1000")]),
        with_job("payload_size_bytes_bucket", &[("le", "+Inf")]),
        with_job("payload_size_bytes_sum", &[]),
        with_job("payload_size_bytes_count", &[]),
        with_job("json_up", &[]),
        with_job("target_info", &[("region", "eu")]),
    ];
    expected.sort();
    assert_eq!(series(&c, &s, r#"{job="json-svc"}"#), expected);
    assert_eq!(query_value(&c, &s, "disk_io_bytes_total"), 1024.0);
    assert_eq!(query_value(&c, &s, "rpc_duration_milliseconds"), 7.5);
    assert_eq!(query_value(&c, &s, "rpc_duration_milliseconds_count"), 3.0);
    assert_eq!(
        query_value(&c, &s, r#"payload_size_bytes_bucket{le="1000"}"#),
        3.0
    );
    assert_eq!(
        query_value(&c, &s, r#"payload_size_bytes_bucket{le="+Inf"}"#),
        6.0
    );
    // The "no recorded value" point ended the series with a staleness marker.
    let up = export(&c, &s, "json_up");
    assert_eq!(up[0].timestamps, vec![now, now + 1000]);
    assert_eq!(up[0].values, vec![Value::from(1.0), Value::from("StaleNaN")]);
    let (_, v) = get_json(&c, &s.url("/api/v1/query"), &[("query", "json_up")]);
    assert_eq!(v["data"]["result"], serde_json::json!([]));

    // Delta sums over three requests, the third a resend: stored as 4, 10; the resend refused.
    let delta = |t_ms: i64, value: u32| {
        json_request(&format!(
            r#"{{"name":"json.events","sum":{{"aggregationTemporality":1,"isMonotonic":true,
                 "dataPoints":[{{"startTimeUnixNano":{},"timeUnixNano":{},"asInt":{value}}}]}}}}"#,
            ns(t_ms - 1000),
            ns(t_ms)
        ))
    };
    assert_eq!(
        post(&c, &s, "application/json", false, delta(now, 4)).json(),
        serde_json::json!({})
    );
    assert_eq!(
        post(&c, &s, "application/json", false, delta(now + 1000, 6)).json(),
        serde_json::json!({})
    );
    let a = post(&c, &s, "application/json", false, delta(now + 1000, 6));
    assert_eq!(a.status, 200);
    let partial = &a.json()["partialSuccess"];
    assert_eq!(partial["rejectedDataPoints"], "1");
    let msg = partial["errorMessage"].as_str().unwrap();
    assert!(
        msg.starts_with(r#"1 of 1 data points refused: resource 0 scope 0 metric 0 "json.events" data point 0: delta point"#),
        "{msg}"
    );
    let events = export(&c, &s, "json_events_total");
    assert_eq!(events[0].values, vec![Value::from(4.0), Value::from(10.0)]);

    // Exponential histograms are refused by name, the rest of the request stored; protobuf in,
    // protobuf out.
    let mut req = otlp::decode_json(&json_request(&format!(
        r#"{{"name":"exp","exponentialHistogram":{{"aggregationTemporality":2,
             "dataPoints":[{{"timeUnixNano":{t},"count":"1","scale":0,"positive":{{"bucketCounts":["1"]}}}}]}}}},
           {{"name":"pb.gauge","gauge":{{"dataPoints":[{{"timeUnixNano":{t},"asDouble":3}}]}}}}"#
    )))
    .unwrap();
    req.resource_metrics[0].schema_url = "https://opentelemetry.io/schemas/1.21.0".into();
    let a = post(&c, &s, "application/x-protobuf", false, req.encode_to_vec());
    assert_eq!(
        (a.status, a.content_type.as_str()),
        (200, "application/x-protobuf")
    );
    let resp = otlp::proto::ExportMetricsServiceResponse::decode(a.body.as_slice()).unwrap();
    let partial = resp.partial_success.unwrap();
    assert_eq!(partial.rejected_data_points, 1);
    assert!(
        partial
            .error_message
            .contains("exponential histograms are not stored"),
        "{}",
        partial.error_message
    );
    assert_eq!(query_value(&c, &s, "pb_gauge"), 3.0);

    // Refusals: undecodable bodies 400, other media types 415, past the body limit 413, each with
    // a google.rpc.Status body.
    let a = post(
        &c,
        &s,
        "application/json",
        false,
        b"{\"resourceMetrics\": 5}".to_vec(),
    );
    assert_eq!((a.status, a.content_type.as_str()), (400, "application/json"));
    assert_eq!(a.json()["code"], 3);
    assert!(
        a.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid JSON body: ")
    );
    let a = post(&c, &s, "application/x-protobuf", false, vec![0x0a, 0xff, 0xff]);
    assert_eq!(a.status, 400);
    let st = otlp::proto::Status::decode(a.body.as_slice()).unwrap();
    assert!(
        st.message.starts_with("invalid protobuf body: "),
        "{}",
        st.message
    );
    let a = post(&c, &s, "text/plain", false, b"x".to_vec());
    assert_eq!(a.status, 415);
    let st = otlp::proto::Status::decode(a.body.as_slice()).unwrap();
    assert!(st.message.contains("unsupported content type"), "{}", st.message);
    let a = post(&c, &s, "application/json", false, vec![b' '; 70_000]);
    assert_eq!(a.status, 413);
    let a = post(&c, &s, "application/json", true, b"not gzip".to_vec());
    assert_eq!(a.status, 400);

    // The endpoint's own counters.
    let m = c.get(s.url("/metrics")).send().unwrap().text().unwrap();
    assert!(
        m.lines().any(|l| l.starts_with(
            r#"pharos_ingest_ignored_values_total{protocol="otlp",kind="exponential_histogram"} 1"#
        )),
        "{m}"
    );
    assert!(
        m.contains(r#"pharos_ingest_rejected_writes_total{protocol="otlp",reason="delta_out_of_order"} 1"#)
    );
}
