//! End-to-end: the real binary, written to over HTTP with each protocol, read back through the API.

#![allow(clippy::unwrap_used)] // tests unwrap freely: a failure is the assertion

mod common;

use common::*;
use serde_json::Value;

const STALE: u64 = 0x7ff0_0000_0000_0002;

#[test]
fn remote_write_v1_round_trip_and_special_values() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("d"), &[]);
    let c = client();
    let body = rw1(&[
        (
            vec![("__name__", "up"), ("job", "node"), ("instance", "a:9100")],
            vec![(1000, 1.0), (2000, 0.0)],
        ),
        (
            vec![("__name__", "special"), ("kind", "x")],
            vec![
                (1000, f64::NAN),
                (2000, f64::INFINITY),
                (3000, f64::NEG_INFINITY),
                (4000, f64::from_bits(STALE)),
                (5000, -2.5e-300),
            ],
        ),
    ]);
    let r = post_rw1(&c, &s.url("/api/v1/write"), body).unwrap();
    assert_eq!(r.status(), 204);
    let up = export(&c, &s, r#"up{job="node"}"#);
    assert_eq!(up.len(), 1);
    assert_eq!(up[0].metric["instance"], "a:9100");
    assert_eq!(up[0].timestamps, vec![1000, 2000]);
    assert_eq!(up[0].values, vec![Value::from(1.0), Value::from(0.0)]);
    let sp = export(&c, &s, "special");
    assert_eq!(
        sp[0].values,
        vec![
            Value::from("NaN"),
            Value::from("+Inf"),
            Value::from("-Inf"),
            Value::from("StaleNaN"),
            Value::from(-2.5e-300)
        ]
    );
    // Graceful stop exits 0 and everything is there after restart.
    let data = s.data.clone();
    assert!(s.terminate().success());
    let s = Server::start(&data, &[]);
    assert_eq!(export(&c, &s, "special")[0].values.len(), 5);
    assert!(s.log_text().contains("head checkpoint loaded"));
}

#[test]
fn remote_write_v1_refusals_match_prometheus() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("d"), &["--out-of-order-window", "0s"]);
    let c = client();
    let url = s.url("/api/v1/write");
    let ok = post_rw1(
        &c,
        &url,
        rw1(&[(vec![("__name__", "m"), ("i", "1")], vec![(10_000, 1.0)])]),
    )
    .unwrap();
    assert_eq!(ok.status(), 204);
    // Out of order: the whole request is refused, including the good series.
    let r = post_rw1(
        &c,
        &url,
        rw1(&[
            (vec![("__name__", "m"), ("i", "2")], vec![(20_000, 1.0)]),
            (vec![("__name__", "m"), ("i", "1")], vec![(5_000, 1.0)]),
        ]),
    )
    .unwrap();
    assert_eq!(r.status(), 400);
    let msg = r.text().unwrap();
    assert!(
        msg.starts_with(r#"out of order sample: series m{i="1"}, timestamp 5000"#),
        "{msg}"
    );
    assert!(
        export(&c, &s, r#"m{i="2"}"#).is_empty(),
        "a refused 1.0 request must store nothing"
    );
    // Same timestamp, same value: accepted. Different value: duplicate.
    let r = post_rw1(
        &c,
        &url,
        rw1(&[(vec![("__name__", "m"), ("i", "1")], vec![(10_000, 1.0)])]),
    )
    .unwrap();
    assert_eq!(r.status(), 204);
    let r = post_rw1(
        &c,
        &url,
        rw1(&[(vec![("__name__", "m"), ("i", "1")], vec![(10_000, 2.0)])]),
    )
    .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().starts_with("duplicate sample for timestamp"));
    // Media types and encodings.
    let r = c
        .post(&url)
        .header("Content-Type", "text/plain")
        .body("x")
        .send()
        .unwrap();
    assert_eq!(r.status(), 415);
    let r = c
        .post(&url)
        .header("Content-Encoding", "gzip")
        .body(rw1(&[]))
        .send()
        .unwrap();
    assert_eq!(r.status(), 415);
    // Malformed protobuf and malformed snappy.
    let r = post_rw1(&c, &url, remote::compress(&[0xff, 0xff, 0xff, 0xff])).unwrap();
    assert_eq!(r.status(), 400);
    let r = post_rw1(&c, &url, vec![0x05, 0x00]).unwrap();
    assert_eq!(r.status(), 400);
    // A snappy "bomb": a header claiming 1 GiB, refused before inflating.
    let mut bomb = Vec::new();
    let mut n: u64 = 1 << 30;
    while n >= 0x80 {
        bomb.push((n as u8) | 0x80);
        n >>= 7;
    }
    bomb.push(n as u8);
    bomb.extend_from_slice(&[0u8; 16]);
    let r = post_rw1(&c, &url, bomb).unwrap();
    assert_eq!(r.status(), 413);
    // Invalid labels are named.
    let r = post_rw1(
        &c,
        &url,
        rw1(&[(vec![("__name__", "m"), ("a", "1"), ("a", "2")], vec![(1, 1.0)])]),
    )
    .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("duplicate label name \"a\""));
    let r = post_rw1(&c, &url, rw1(&[(vec![("job", "x")], vec![(1, 1.0)])])).unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("missing metric name"));
    // Every refusal is counted by reason; what was stored is intact.
    let metrics = c.get(s.url("/metrics")).send().unwrap().text().unwrap();
    for reason in [
        "out_of_order",
        "duplicate",
        "unsupported_media_type",
        "malformed",
        "too_large",
        "invalid_labels",
    ] {
        assert!(
            metrics.contains(&format!(
                "pharos_ingest_rejected_writes_total{{protocol=\"remote_write\",reason=\"{reason}\"}}"
            )),
            "no counter for {reason}"
        );
    }
    assert_eq!(export(&c, &s, "m")[0].values, vec![Value::from(1.0)]);
}

#[test]
fn remote_write_v2_partial_writes_and_headers() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("d"), &["--out-of-order-window", "0s"]);
    let c = client();
    let url = s.url("/api/v1/write");
    let send = |series: &[remote::OwnedSeries]| {
        c.post(&url)
            .header(
                "Content-Type",
                "application/x-protobuf;proto=io.prometheus.write.v2.Request",
            )
            .header("Content-Encoding", "snappy")
            .header("X-Prometheus-Remote-Write-Version", "2.0.0")
            .body(remote::encode_v2(&remote::build_v2(series)))
            .send()
            .unwrap()
    };
    let l = |i: &str| {
        vec![
            ("__name__".to_string(), "v2m".to_string()),
            ("i".to_string(), i.to_string()),
        ]
    };
    let r = send(&[
        (l("1"), vec![(1000, 1.0), (2000, 2.0)]),
        (l("2"), vec![(1000, 5.0)]),
    ]);
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["X-Prometheus-Remote-Write-Samples-Written"], "3");
    // One sample out of order: the rest is stored, the answer says how much.
    let r = send(&[(l("1"), vec![(1500, 9.0)]), (l("2"), vec![(3000, 6.0)])]);
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["X-Prometheus-Remote-Write-Samples-Written"], "1");
    assert_eq!(export(&c, &s, r#"v2m{i="2"}"#)[0].timestamps, vec![1000, 3000]);
}

#[test]
fn line_protocol_v1_and_v2() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("d"), &[]);
    let c = client();
    let body = "# comment\n\
        cpu,host=a,region=us\\ west usage_user=1.5,usage_idle=98i,ok=true,note=\"ignored\" 1700000000000000000\n\
        cpu,host=b value=3u 1700000000000000000\r\n\
        \n\
        weather,city=Z\\,urich temp=-1e1 1700000010000000000\n";
    let r = c.post(s.url("/write?db=telegraf")).body(body).send().unwrap();
    assert_eq!(r.status(), 204, "{}", r.text().unwrap_or_default());
    let e = export(&c, &s, r#"cpu_usage_user{db="telegraf"}"#);
    assert_eq!(e[0].metric["region"], "us west");
    assert_eq!(e[0].timestamps, vec![1_700_000_000_000]);
    assert_eq!(
        export(&c, &s, "cpu_usage_idle")[0].values,
        vec![Value::from(98.0)]
    );
    assert_eq!(export(&c, &s, "cpu_ok")[0].values, vec![Value::from(1.0)]);
    assert_eq!(
        export(&c, &s, r#"cpu{host="b"}"#)[0].values,
        vec![Value::from(3.0)]
    );
    assert_eq!(export(&c, &s, "weather_temp")[0].metric["city"], "Z,urich");
    assert!(export(&c, &s, "cpu_note").is_empty());
    // Partial write: good lines stored, 400 names the first bad line.
    let r = c
        .post(s.url("/write?db=telegraf&precision=s"))
        .body("mem used=1 1700000000\nmem used= 1700000001\nmem,host=x free=2 1700000002\n")
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    let j: Value = r.json().unwrap();
    let msg = j["error"].as_str().unwrap();
    assert!(
        msg.starts_with("partial write: unable to parse line 2 'mem used= 1700000001'"),
        "{msg}"
    );
    assert_eq!(export(&c, &s, "mem_used")[0].timestamps, vec![1_700_000_000_000]);
    assert_eq!(export(&c, &s, "mem_free")[0].timestamps, vec![1_700_000_002_000]);
    // v1 needs a database; v2 needs a bucket and answers in its own error shape.
    assert_eq!(
        c.post(s.url("/write")).body("a v=1").send().unwrap().status(),
        400
    );
    let r = c.post(s.url("/api/v2/write?org=o")).body("a v=1").send().unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().unwrap()["code"], "invalid");
    let r = c
        .post(s.url("/api/v2/write?org=o&bucket=b1&precision=ms"))
        .body("disk,dev=sda used=5 1700000000123")
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    let e = export(&c, &s, r#"disk_used{db="b1"}"#);
    assert_eq!(e[0].timestamps, vec![1_700_000_000_123]);
    // gzip, as Telegraf's influxdb_v2 output sends by default; a gzip bomb is refused.
    let gz = |data: &[u8]| {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    };
    let r = c
        .post(s.url("/api/v2/write?org=o&bucket=b1&precision=s"))
        .header("Content-Encoding", "gzip")
        .body(gz(b"gz,host=a value=7 1700000000\n"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(export(&c, &s, "gz")[0].values, vec![Value::from(7.0)]);
    let r = c
        .post(s.url("/write?db=x"))
        .header("Content-Encoding", "gzip")
        .body(b"not gzip".to_vec())
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = c
        .post(s.url("/write?db=x"))
        .header("Content-Encoding", "br")
        .body("a v=1")
        .send()
        .unwrap();
    assert_eq!(r.status(), 415);
}

#[test]
fn text_import_and_read_api() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("d"), &[]);
    let c = client();
    let body = "# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\n\
        http_requests_total{method=\"get\",code=\"200\"} 1027 1700000000000\n\
        http_requests_total{method=\"post\",code=\"500\"} 3 1700000000000\n\
        node_load1 0.42 1700000060000\n";
    let r = c
        .post(s.url("/api/v1/import/prometheus"))
        .body(body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = c
        .post(s.url("/api/v1/import/prometheus"))
        .body("ok 1 1700000000000\nbad{ 1\n")
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().starts_with("line 2:"));

    let get = |path: &str, q: &[(&str, &str)]| -> Value {
        c.get(s.url(path)).query(q).send().unwrap().json().unwrap()
    };
    let v = get("/api/v1/series", &[("match[]", "http_requests_total")]);
    assert_eq!(v["status"], "success");
    assert_eq!(v["data"].as_array().unwrap().len(), 2);
    let v = get(
        "/api/v1/series",
        &[("match[]", r#"{__name__=~"http.*",code!="200"}"#)],
    );
    assert_eq!(
        v["data"],
        serde_json::json!([{"__name__": "http_requests_total", "code": "500", "method": "post"}])
    );
    let v = get("/api/v1/labels", &[]);
    assert_eq!(v["data"], serde_json::json!(["__name__", "code", "method"]));
    let v = get("/api/v1/label/__name__/values", &[]);
    assert_eq!(
        v["data"],
        serde_json::json!(["http_requests_total", "node_load1", "ok"])
    );
    let v = get(
        "/api/v1/label/__name__/values",
        &[
            ("match[]", "node_load1"),
            ("start", "1700000030"),
            ("end", "2023-11-14T22:15:00Z"),
        ],
    );
    assert_eq!(v["data"], serde_json::json!(["node_load1"]));
    let v = get("/api/v1/label/method/values", &[("limit", "1")]);
    assert_eq!(v["data"], serde_json::json!(["get"]));
    assert_eq!(
        v["warnings"],
        serde_json::json!(["results truncated due to limit"])
    );
    // Form POST.
    let v: Value = c
        .post(s.url("/api/v1/series"))
        .form(&[("match[]", "node_load1")])
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(v["data"].as_array().unwrap().len(), 1);
    // Errors in the Prometheus envelope.
    let r = c.get(s.url("/api/v1/series")).send().unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().unwrap();
    assert_eq!(
        (v["status"].as_str(), v["errorType"].as_str()),
        (Some("error"), Some("bad_data"))
    );
    let r = c
        .get(s.url("/api/v1/series"))
        .query(&[("match[]", "up{")])
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        r.json::<Value>().unwrap()["error"]
            .as_str()
            .unwrap()
            .contains("parse error")
    );
    let r = c
        .get(s.url("/api/v1/labels"))
        .query(&[("start", "yesterday")])
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[test]
fn limits_refuse_the_request_not_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("pharos.yml");
    std::fs::write(
        &cfg,
        "limits:\n  max_body_bytes: 4096\n  max_decoded_bytes: 1048576\n  max_label_value_length: 16\n",
    )
    .unwrap();
    let s = Server::start(
        &dir.path().join("d"),
        &["--config", cfg.to_str().unwrap(), "--max-series", "3"],
    );
    let c = client();
    let url = s.url("/api/v1/write");
    let series = |i: usize| {
        (
            vec![("__name__", "m"), ("i", ["0", "1", "2", "3", "4"][i])],
            vec![(1000, i as f64)],
        )
    };
    assert_eq!(
        post_rw1(&c, &url, rw1(&[series(0), series(1), series(2)]))
            .unwrap()
            .status(),
        204
    );
    // Past the series limit: new series refused with a message, existing ones keep ingesting.
    let r = post_rw1(
        &c,
        &url,
        rw1(&[
            series(3),
            (vec![("__name__", "m"), ("i", "0")], vec![(2000, 7.0)]),
        ]),
    )
    .unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        r.text()
            .unwrap()
            .starts_with(r#"series limit reached: series m{i="3"}"#)
    );
    assert_eq!(export(&c, &s, r#"m{i="0"}"#)[0].timestamps, vec![1000, 2000]);
    // Label value over the configured length, and a body over the size limit.
    let r = post_rw1(
        &c,
        &url,
        rw1(&[(
            vec![("__name__", "m"), ("i", "0123456789abcdefXYZ")],
            vec![(1, 1.0)],
        )]),
    )
    .unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        r.text()
            .unwrap()
            .contains("value of label \"i\" is 19 bytes long, over the limit of 16")
    );
    let r = c
        .post(s.url("/write?db=x"))
        .body("a v=1\n".repeat(2000))
        .send()
        .unwrap();
    assert_eq!(r.status(), 413);
    // A gzip "bomb": under the body limit as sent, over the decoded limit once inflated.
    let bomb = {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&vec![b'a'; 3 << 20]).unwrap();
        e.finish().unwrap()
    };
    assert!(bomb.len() < 4096, "bomb is {} bytes", bomb.len());
    let r = c
        .post(s.url("/write?db=x"))
        .header("Content-Encoding", "gzip")
        .body(bomb)
        .send()
        .unwrap();
    assert_eq!(r.status(), 413);
    assert!(
        r.text()
            .unwrap()
            .contains("inflates past the limit of 1048576 bytes")
    );
    // The server is still healthy.
    assert_eq!(c.get(s.url("/-/ready")).send().unwrap().status(), 200);
}
