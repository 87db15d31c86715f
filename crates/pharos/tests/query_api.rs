#![allow(clippy::unwrap_used)] // tests unwrap freely: a failure is the assertion

//! End-to-end: the Prometheus query API of the real binary, checked against the shapes, status codes,
//! error types and messages Prometheus answers with, and `pharos query` run against it.

mod common;

use std::process::Command;
use std::time::Instant;

use common::*;
use serde_json::{Value, json};

/// Samples every 15 s, 250 ms past the step, so timestamps print with decimals.
const STEP_MS: i64 = 15_000;
const SAMPLES: i64 = 40;

/// A server holding a small known data set.
struct Loaded {
    s: Server,
    /// Start of the data, a whole minute about half an hour ago.
    base: i64,
    _dir: tempfile::TempDir,
}

impl Loaded {
    fn start(extra: &[&str]) -> Loaded {
        Self::start_with_config(extra, None)
    }

    fn start_with_config(extra: &[&str], config: Option<&str>) -> Loaded {
        let dir = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        if let Some(cfg) = config {
            let path = dir.path().join("pharos.yml");
            std::fs::write(&path, cfg).unwrap();
            args.push("--config".into());
            args.push(path.display().to_string());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let s = Server::start(&dir.path().join("d"), &args);
        let base = (now_ms() / 60_000 - 30) * 60_000;
        let mut text = String::new();
        for i in 0..SAMPLES {
            let t = base + i * STEP_MS + 250;
            text.push_str(&format!(
                "http_requests_total{{job=\"api\",instance=\"a\",code=\"200\"}} {} {t}\n",
                10 * i
            ));
            text.push_str(&format!(
                "http_requests_total{{job=\"api\",instance=\"b\",code=\"500\"}} {i} {t}\n"
            ));
            text.push_str(&format!(
                "temperature_celsius{{room=\"lab\"}} {} {t}\n",
                20.0 + (i % 4) as f64 * 0.5
            ));
            text.push_str(&format!("special{{kind=\"nan\"}} NaN {t}\n"));
            text.push_str(&format!("special{{kind=\"inf\"}} +Inf {t}\n"));
            text.push_str(&format!("special{{kind=\"neg\"}} -Inf {t}\n"));
        }
        let r = client()
            .post(s.url("/api/v1/import/prometheus"))
            .body(text)
            .send()
            .unwrap();
        assert_eq!(r.status(), 204, "import failed: {}", r.text().unwrap());
        Loaded { s, base, _dir: dir }
    }

    /// Timestamp of sample `i` of every series.
    fn t(&self, i: i64) -> i64 {
        self.base + i * STEP_MS + 250
    }

    /// 5.25 s after the last sample: every series is still within the lookback window.
    fn eval_time(&self) -> i64 {
        self.t(SAMPLES - 1) + 5_250
    }

    fn url(&self, path: &str) -> String {
        self.s.url(path)
    }
}

/// GET with URL parameters, returning the raw body too (to check how numbers are printed).
fn get_text(url: &str, params: &[(&str, &str)]) -> (u16, String) {
    let r = client().get(url).query(params).send().unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

/// The JSON seconds value of a millisecond timestamp.
fn secs(ms: i64) -> Value {
    json!(ms as f64 / 1000.0)
}

/// The result list ordered by its label sets: Prometheus does not order instant vectors.
fn by_metric(mut v: Value) -> Value {
    if let Some(list) = v["data"]["result"].as_array_mut() {
        list.sort_by_key(|e| e["metric"].to_string());
    }
    v
}

fn assert_error(got: (u16, Value), status: u16, kind: &str, msg: &str) {
    let want = json!({"status": "error", "errorType": kind, "error": msg});
    assert_eq!((got.0, &got.1), (status, &want));
}

fn requests_metric(instance: &str) -> Value {
    let code = if instance == "a" { "200" } else { "500" };
    json!({"__name__": "http_requests_total", "code": code, "instance": instance, "job": "api"})
}

#[test]
fn instant_queries_answer_in_prometheus_shapes() {
    let l = Loaded::start(&[]);
    let c = client();
    let te = l.eval_time();
    let ts = api_secs(te);
    assert!(ts.ends_with(".5"), "{ts}");
    let q = |query: &str| get_json(&c, &l.url("/api/v1/query"), &[("query", query), ("time", &ts)]);

    // Vector: one element per series, value as a string, time as a number of seconds.
    let (code, text) = get_text(
        &l.url("/api/v1/query"),
        &[("query", "http_requests_total"), ("time", &ts)],
    );
    assert_eq!(code, 200);
    let want = json!({"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": requests_metric("a"), "value": [secs(te), "390"]},
        {"metric": requests_metric("b"), "value": [secs(te), "39"]},
    ]}});
    assert_eq!(by_metric(serde_json::from_str(&text).unwrap()), want);
    assert!(text.contains(&format!("\"value\":[{ts},\"390\"]")), "{text}");

    // Scalar and string results are [time, "value"] pairs.
    let want = json!({"status": "success", "data": {"resultType": "scalar", "result": [secs(te), "39"]}});
    assert_eq!(q(r#"scalar(http_requests_total{instance="b"})"#), (200, want));
    let want = json!({"status": "success", "data": {"resultType": "string", "result": [secs(te), "hello"]}});
    assert_eq!(q(r#""hello""#), (200, want));

    // Values JSON cannot hold are strings, from arithmetic and from storage alike.
    for (query, v) in [
        ("1/0", "+Inf"),
        ("-1/0", "-Inf"),
        ("0/0", "NaN"),
        ("2.5e-3", "0.0025"),
    ] {
        let want = json!({"status": "success", "data": {"resultType": "scalar", "result": [secs(te), v]}});
        assert_eq!(q(query), (200, want), "{query}");
    }
    let want = json!({"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"__name__": "special", "kind": "inf"}, "value": [secs(te), "+Inf"]},
        {"metric": {"__name__": "special", "kind": "nan"}, "value": [secs(te), "NaN"]},
        {"metric": {"__name__": "special", "kind": "neg"}, "value": [secs(te), "-Inf"]},
    ]}});
    let (code, got) = q("special");
    assert_eq!((code, by_metric(got)), (200, want));

    // A range selector gives the raw samples in (t - 1m, t], each at its own millisecond timestamp.
    let (code, text) = get_text(
        &l.url("/api/v1/query"),
        &[
            ("query", r#"http_requests_total{instance="a"}[1m]"#),
            ("time", &ts),
        ],
    );
    assert_eq!(code, 200);
    let values: Vec<Value> = (36..40)
        .map(|i| json!([secs(l.t(i)), (10 * i).to_string()]))
        .collect();
    let want = json!({"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": requests_metric("a"), "values": values},
    ]}});
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), want);
    assert!(
        text.contains(&format!("[{},\"360\"]", api_secs(l.t(36)))),
        "{text}"
    );
    assert!(api_secs(l.t(36)).ends_with(".25"));

    // Nothing matched: an empty vector, not null.
    let want = json!({"status": "success", "data": {"resultType": "vector", "result": []}});
    assert_eq!(q("no_such_metric"), (200, want));
    // Without `time`, the query runs at the server's now, where the data (over 15 minutes old) is
    // past the 5 minute lookback.
    let (code, v) = get_json(&c, &l.url("/api/v1/query"), &[("query", "time()")]);
    assert_eq!(code, 200);
    let at = v["data"]["result"][0].as_f64().unwrap();
    assert!((at * 1000.0 - now_ms() as f64).abs() < 60_000.0, "{v}");
    assert!(now_ms() - l.t(SAMPLES - 1) > 300_000);
    let want = json!({"status": "success", "data": {"resultType": "vector", "result": []}});
    assert_eq!(
        get_json(&c, &l.url("/api/v1/query"), &[("query", "http_requests_total")]),
        (200, want)
    );
}

#[test]
fn range_queries_accept_every_time_and_step_form() {
    let l = Loaded::start(&[]);
    let c = client();
    let (start, end) = (l.base + 60_500, l.base + 120_500);
    let q = r#"http_requests_total{instance="b"}"#;
    // At each step the newest sample is the one 0.25 s after the step's whole 15 s.
    let values: Vec<Value> = (0..5)
        .map(|k| json!([secs(start + k * STEP_MS), (4 + k).to_string()]))
        .collect();
    let want = json!({"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": requests_metric("b"), "values": values},
    ]}});
    let forms = [
        (api_secs(start), api_secs(end), "15"),
        (rfc3339(start), rfc3339(end), "15s"),
        (api_secs(start), rfc3339(end), "15.0"),
        (rfc3339(start), api_secs(end), "15000ms"),
    ];
    for (s, e, step) in &forms {
        let params = [("query", q), ("start", s), ("end", e), ("step", step)];
        let url = l.url("/api/v1/query_range");
        assert_eq!(get_json(&c, &url, &params), (200, want.clone()), "GET {params:?}");
        assert_eq!(
            post_form_json(&c, &url, &params),
            (200, want.clone()),
            "POST {params:?}"
        );
    }
    // The end is included only when a step lands on it.
    let (s, e) = (api_secs(start), api_secs(start + 40_000));
    let (code, v) = get_json(
        &c,
        &l.url("/api/v1/query_range"),
        &[("query", q), ("start", &s), ("end", &e), ("step", "15")],
    );
    assert_eq!(code, 200);
    assert_eq!(
        v["data"]["result"][0]["values"].as_array().unwrap().len(),
        3,
        "{v}"
    );

    // A scalar expression is a matrix with one label-less series.
    let (s, e) = (api_secs(start), api_secs(start + 30_000));
    let (code, v) = get_json(
        &c,
        &l.url("/api/v1/query_range"),
        &[("query", "time()"), ("start", &s), ("end", &e), ("step", "15s")],
    );
    let values: Vec<Value> = (0..3)
        .map(|k| json!([secs(start + k * STEP_MS), api_secs(start + k * STEP_MS)]))
        .collect();
    let want = json!({"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {}, "values": values},
    ]}});
    assert_eq!((code, v), (200, want));

    // Series with no point in the range are left out; an expression of no series gives [].
    let (s, e) = (api_secs(l.base - 3_600_000), api_secs(l.base - 1_800_000));
    let want = json!({"status": "success", "data": {"resultType": "matrix", "result": []}});
    assert_eq!(
        get_json(
            &c,
            &l.url("/api/v1/query_range"),
            &[
                ("query", "http_requests_total"),
                ("start", &s),
                ("end", &e),
                ("step", "60")
            ],
        ),
        (200, want)
    );
}

#[test]
fn bad_requests_get_prometheus_errors() {
    let l = Loaded::start(&[]);
    let c = client();
    let (query, range) = (l.url("/api/v1/query"), l.url("/api/v1/query_range"));
    let pe = |m: &str| format!("invalid parameter \"query\": {m}");
    for get in [true, false] {
        let call = |url: &str, p: &[(&str, &str)]| {
            if get {
                get_json(&c, url, p)
            } else {
                post_form_json(&c, url, p)
            }
        };
        assert_error(
            call(&query, &[("query", "foo{")]),
            400,
            "bad_data",
            &pe("1:5: parse error: unexpected end of input inside braces"),
        );
        assert_error(
            call(&query, &[("query", "sum(rate(x[5m])")]),
            400,
            "bad_data",
            &pe("1:16: parse error: unclosed left parenthesis"),
        );
        assert_error(
            call(&query, &[("query", "1 +\n  foo bar")]),
            400,
            "bad_data",
            &pe("2:7: parse error: unexpected identifier \"bar\""),
        );
        assert_error(
            call(
                &range,
                &[
                    ("query", "rate(x[5m])[1m]"),
                    ("start", "0"),
                    ("end", "1"),
                    ("step", "1"),
                ],
            ),
            400,
            "bad_data",
            &pe("1:12: parse error: ranges only allowed for vector selectors"),
        );
        let (code, v) = call(&query, &[]);
        assert_eq!((code, &v["errorType"]), (400, &json!("bad_data")), "{v}");
        assert!(
            v["error"]
                .as_str()
                .unwrap()
                .ends_with("parse error: no expression found in input"),
            "{v}"
        );
        assert_error(
            call(&query, &[("query", "1"), ("time", "yesterday")]),
            400,
            "bad_data",
            "invalid parameter \"time\": cannot parse \"yesterday\" to a valid timestamp",
        );
        for (p, v) in [("timeout", "soon"), ("lookback_delta", "5x")] {
            assert_error(
                call(&query, &[("query", "1"), (p, v)]),
                400,
                "bad_data",
                &format!("invalid parameter \"{p}\": cannot parse \"{v}\" to a valid duration"),
            );
        }
        assert_error(
            call(&query, &[("query", "1"), ("limit", "-1")]),
            400,
            "bad_data",
            "invalid parameter \"limit\": cannot parse \"-1\" to a non-negative integer",
        );
        // Range parameters: each missing or invalid one is named.
        assert_error(
            call(&range, &[("query", "1"), ("end", "10"), ("step", "1")]),
            400,
            "bad_data",
            "invalid parameter \"start\": cannot parse \"\" to a valid timestamp",
        );
        assert_error(
            call(&range, &[("query", "1"), ("start", "0"), ("step", "1")]),
            400,
            "bad_data",
            "invalid parameter \"end\": cannot parse \"\" to a valid timestamp",
        );
        assert_error(
            call(&range, &[("query", "1"), ("start", "0"), ("end", "10")]),
            400,
            "bad_data",
            "invalid parameter \"step\": cannot parse \"\" to a valid duration",
        );
        assert_error(
            call(
                &range,
                &[("query", "1"), ("start", "0"), ("end", "10"), ("step", "fast")],
            ),
            400,
            "bad_data",
            "invalid parameter \"step\": cannot parse \"fast\" to a valid duration",
        );
        for step in ["0", "-15", "0s"] {
            assert_error(
                call(
                    &range,
                    &[("query", "1"), ("start", "0"), ("end", "10"), ("step", step)],
                ),
                400,
                "bad_data",
                "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer",
            );
        }
        assert_error(
            call(
                &range,
                &[("query", "1"), ("start", "10"), ("end", "0"), ("step", "1")],
            ),
            400,
            "bad_data",
            "invalid parameter \"end\": end timestamp must not be before start time",
        );
        // Prometheus refuses (end - start) / step > 11,000, so 11,001 points per series still pass.
        assert_error(
            call(
                &range,
                &[("query", "1"), ("start", "0"), ("end", "11001"), ("step", "1")],
            ),
            400,
            "bad_data",
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        );
        let (code, v) = call(
            &range,
            &[("query", "1"), ("start", "0"), ("end", "11000"), ("step", "1")],
        );
        assert_eq!(code, 200, "{v}");
        assert_eq!(v["data"]["result"][0]["values"].as_array().unwrap().len(), 11_001);
        // A range vector cannot be a range query's result.
        assert_error(
            call(
                &range,
                &[("query", "x[5m]"), ("start", "0"), ("end", "10"), ("step", "1")],
            ),
            400,
            "bad_data",
            &pe("invalid expression type \"range vector\" for range query, must be Scalar or instant Vector"),
        );
        // Evaluation errors are `execution`, 422.
        let (code, v) = call(
            &query,
            &[
                ("query", "http_requests_total + on(job) http_requests_total"),
                ("time", &api_secs(l.eval_time())),
            ],
        );
        assert_eq!(
            (code, &v["status"], &v["errorType"]),
            (422, &json!("error"), &json!("execution")),
            "{v}"
        );
        assert!(
            v["error"]
                .as_str()
                .unwrap()
                .contains("many-to-many matching not allowed"),
            "{v}"
        );
    }
}

#[test]
fn sample_budget_and_timeouts() {
    let l = Loaded::start_with_config(&[], Some("limits:\n  max_query_samples: 50\n"));
    let c = client();
    let ts = api_secs(l.eval_time());
    // 80 samples is over the budget: the query fails alone, the server goes on.
    let (code, v) = get_json(
        &c,
        &l.url("/api/v1/query"),
        &[("query", "http_requests_total[10m]"), ("time", &ts)],
    );
    assert_eq!((code, &v["errorType"]), (422, &json!("execution")), "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .starts_with("query processing would load too many samples into memory in query execution"),
        "{v}"
    );
    let (code, v) = get_json(
        &c,
        &l.url("/api/v1/query"),
        &[
            ("query", r#"http_requests_total{instance="a"}[1m]"#),
            ("time", &ts),
        ],
    );
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["data"]["result"][0]["values"].as_array().unwrap().len(), 4);

    // The budget counts what evaluation holds, not only what it reads: a week of one-second subquery
    // steps holds 604,800 values, though it reads no sample at all.
    let expensive = "count_over_time(vector(1)[1w:1s])";
    let (code, v) = get_json(&c, &l.url("/api/v1/query"), &[("query", expensive)]);
    assert_eq!((code, &v["errorType"]), (422, &json!("execution")), "{v}");
    // So does the step count of a range query: 100 steps of a series that has 10 samples in range.
    let (code, v) = get_json(
        &c,
        &l.url("/api/v1/query_range"),
        &[
            ("query", r#"http_requests_total{instance="a"}"#),
            ("start", &api_secs(l.eval_time() - 99_000)),
            ("end", &ts),
            ("step", "1"),
        ],
    );
    assert_eq!((code, &v["errorType"]), (422, &json!("execution")), "{v}");

    // With the default budget, a week of one-second subquery steps takes far longer than a millisecond.
    let l = Loaded::start(&[]);
    let timeout = (
        503,
        json!({"status": "error", "errorType": "timeout", "error": "query timed out in expression evaluation"}),
    );
    let got = get_json(
        &c,
        &l.url("/api/v1/query"),
        &[("query", expensive), ("timeout", "1ms")],
    );
    assert_eq!(got, timeout);
    let got = post_form_json(
        &c,
        &l.url("/api/v1/query_range"),
        &[
            ("query", expensive),
            ("start", "0"),
            ("end", "60"),
            ("step", "30"),
            ("timeout", "0.001"),
        ],
    );
    assert_eq!(got, timeout);

    // The configured timeout applies without a request parameter; cheap queries still pass. Two weeks
    // of steps take hundreds of milliseconds even in an optimized build, far past 20 ms.
    let short = Loaded::start_with_config(&[], Some("limits:\n  query_timeout: 20ms\n"));
    let expensive = "count_over_time(vector(1)[2w:1s])";
    let started = Instant::now();
    let got = get_json(&c, &short.url("/api/v1/query"), &[("query", expensive)]);
    assert_eq!(got, timeout, "after {:?}", started.elapsed());
    let (code, v) = get_json(&c, &short.url("/api/v1/query"), &[("query", "1 + 1")]);
    assert_eq!((code, &v["data"]["result"][1]), (200, &json!("2")), "{v}");
    // A request cannot raise the configured timeout.
    let got = get_json(
        &c,
        &short.url("/api/v1/query"),
        &[("query", expensive), ("timeout", "5m")],
    );
    assert_eq!(got, timeout);
}

#[test]
fn config_keys_for_query_limits_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    for (cfg, want) in [
        (
            "limits:\n  max_query_sample: 10\n",
            "unknown field `max_query_sample`",
        ),
        ("limits:\n  query_timeout: soon\n", "invalid limits.query_timeout"),
        (
            "limits:\n  query_timeout: 0s\n",
            "invalid limits.query_timeout: must be positive",
        ),
    ] {
        let path = dir.path().join("bad.yml");
        std::fs::write(&path, cfg).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_pharos"))
            .args(["server", "--listen", "127.0.0.1:0", "--config"])
            .arg(&path)
            .arg("--data-dir")
            .arg(dir.path().join("d"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{cfg} was accepted");
        assert!(stderr.contains(want), "{cfg}: {stderr}");
    }
}

#[test]
fn annotations_and_limit() {
    let l = Loaded::start(&[]);
    let c = client();
    let ts = api_secs(l.eval_time());
    let (start, end) = (api_secs(l.base + 60_500), api_secs(l.base + 120_500));
    let instant = |q: &str, extra: &[(&str, &str)]| {
        let mut p = vec![("query", q), ("time", ts.as_str())];
        p.extend_from_slice(extra);
        get_json(&c, &l.url("/api/v1/query"), &p)
    };
    let range = |q: &str, extra: &[(&str, &str)]| {
        let mut p = vec![
            ("query", q),
            ("start", start.as_str()),
            ("end", end.as_str()),
            ("step", "15s"),
        ];
        p.extend_from_slice(extra);
        get_json(&c, &l.url("/api/v1/query_range"), &p)
    };

    // rate() of a name that does not look like a counter: an info, placed at the range vector.
    let (code, v) = instant("rate(temperature_celsius[5m])", &[]);
    assert_eq!(code, 200);
    assert_eq!(
        v["infos"],
        json!([
            "PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"temperature_celsius\" (1:6)"
        ])
    );
    assert!(v.get("warnings").is_none(), "{v}");
    assert_eq!(v["data"]["result"].as_array().unwrap().len(), 1);
    // A counter name: neither key is present.
    let (code, v) = instant("rate(http_requests_total[5m])", &[]);
    assert_eq!(code, 200);
    assert!(v.get("infos").is_none() && v.get("warnings").is_none(), "{v}");

    // sort() orders instant results but is pointless in a range query, which says so.
    let (code, v) = instant("sort_desc(http_requests_total)", &[]);
    assert_eq!(code, 200);
    assert_eq!(v["data"]["result"][0]["metric"], requests_metric("a"));
    assert_eq!(v["data"]["result"][1]["metric"], requests_metric("b"));
    assert!(v.get("warnings").is_none(), "{v}");
    let (code, v) = instant("sort(http_requests_total)", &[]);
    assert_eq!(code, 200);
    assert_eq!(v["data"]["result"][0]["metric"], requests_metric("b"));
    let (code, v) = range("sort(http_requests_total)", &[]);
    assert_eq!(code, 200);
    assert_eq!(
        v["warnings"],
        json!([
            "PromQL warning: sort is ineffective for range queries since results are always ordered by labels (1:1)"
        ])
    );
    assert_eq!(v["data"]["result"].as_array().unwrap().len(), 2);

    // limit truncates and warns; a limit at or above the result size changes nothing.
    let (code, v) = instant("special", &[("limit", "2")]);
    assert_eq!(code, 200);
    assert_eq!(v["data"]["result"].as_array().unwrap().len(), 2);
    assert_eq!(v["warnings"], json!(["results truncated due to limit"]));
    let (code, v) = range("http_requests_total", &[("limit", "1")]);
    assert_eq!(code, 200);
    assert_eq!(v["data"]["result"].as_array().unwrap().len(), 1);
    assert_eq!(v["data"]["result"][0]["values"].as_array().unwrap().len(), 5);
    assert_eq!(v["warnings"], json!(["results truncated due to limit"]));
    for n in ["3", "0"] {
        let (code, v) = instant("special", &[("limit", n)]);
        assert_eq!(code, 200);
        assert_eq!(v["data"]["result"].as_array().unwrap().len(), 3, "limit={n}");
        assert!(v.get("warnings").is_none(), "{v}");
    }
}

#[test]
fn format_and_parse_query_metadata_and_exemplars() {
    let l = Loaded::start(&[]);
    let c = client();
    let url = l.url("/api/v1/format_query");
    let cases = [
        (
            r#"sum(rate(x{a="b"}[90s])) by (c)"#,
            r#"sum by (c) (rate(x{a="b"}[1m30s]))"#,
        ),
        // Past 100 characters the printer breaks the expression over lines, as Prometheus's does.
        (
            r#"sum by (job) (rate(http_requests_total{job="api",instance=~"a|b",code!="500"}[5m])) / on (job) group_left sum by (job) (rate(http_requests_total{job="api"}[5m]))"#,
            "  sum by (job) (rate(http_requests_total{code!=\"500\",instance=~\"a|b\",job=\"api\"}[5m]))\n/ on (job) group_left ()\n  sum by (job) (rate(http_requests_total{job=\"api\"}[5m]))",
        ),
        (
            r#"histogram_quantile(0.9, sum by (le) (rate(request_duration_seconds_bucket{job="api", instance=~"i0|i1|i2"}[5m])))  > bool 0.5"#,
            "  histogram_quantile(\n    0.9,\n    sum by (le) (rate(request_duration_seconds_bucket{instance=~\"i0|i1|i2\",job=\"api\"}[5m]))\n  )\n> bool\n  0.5",
        ),
    ];
    for (q, want) in cases {
        let want = (200, json!({"status": "success", "data": want}));
        assert_eq!(get_json(&c, &url, &[("query", q)]), want, "{q}");
        assert_eq!(post_form_json(&c, &url, &[("query", q)]), want, "{q}");
    }
    assert_error(
        get_json(&c, &url, &[("query", "foo{")]),
        400,
        "bad_data",
        "invalid parameter \"query\": 1:5: parse error: unexpected end of input inside braces",
    );
    // The expression tree Prometheus's UI draws, by GET and by form POST.
    let url = l.url("/api/v1/parse_query");
    let q = r#"sum by (job) (rate(x{a="b"}[5m] offset 1m)) > bool 2"#;
    let tree = json!({
        "type": "binaryExpr", "op": ">", "bool": true, "matching": null,
        "lhs": {
            "type": "aggregation", "op": "sum", "grouping": ["job"], "without": false, "param": null,
            "expr": {
                "type": "call",
                "func": {"name": "rate", "argTypes": ["matrix"], "variadic": 0, "returnType": "vector"},
                "args": [{
                    "type": "matrixSelector", "name": "x", "range": 300_000, "offset": 60_000,
                    "matchers": [
                        {"name": "a", "value": "b", "type": "="},
                        {"name": "__name__", "value": "x", "type": "="},
                    ],
                    "timestamp": null, "startOrEnd": null, "anchored": false, "smoothed": false,
                }],
            },
        },
        "rhs": {"type": "numberLiteral", "val": "2"},
    });
    let want = (200, json!({"status": "success", "data": tree}));
    assert_eq!(get_json(&c, &url, &[("query", q)]), want);
    assert_eq!(post_form_json(&c, &url, &[("query", q)]), want);
    assert_error(
        get_json(&c, &url, &[("query", "sum(x")]),
        400,
        "bad_data",
        "invalid parameter \"query\": 1:6: parse error: unclosed left parenthesis",
    );

    assert_eq!(
        get_json(&c, &l.url("/api/v1/metadata"), &[]),
        (200, json!({"status": "success", "data": {}}))
    );
    assert_eq!(
        get_json(
            &c,
            &l.url("/api/v1/query_exemplars"),
            &[("query", "http_requests_total")]
        ),
        (200, json!({"status": "success", "data": []}))
    );
}

#[test]
fn status_endpoints() {
    let before = now_ms();
    let l = Loaded::start(&["--retention", "30d"]);
    let after = now_ms();
    let c = client();

    let (code, v) = get_json(&c, &l.url("/api/v1/status/buildinfo"), &[]);
    assert_eq!((code, &v["status"]), (200, &json!("success")));
    assert_eq!(v["data"]["version"], json!(env!("CARGO_PKG_VERSION")));
    assert!(v["data"].get("features").is_none(), "{v}");

    let (code, v) = get_json(&c, &l.url("/api/v1/status/runtimeinfo"), &[]);
    assert_eq!(code, 200);
    let start = v["data"]["startTime"].as_str().unwrap();
    // RFC 3339 with milliseconds in UTC sorts as text, so the bounds can be compared as strings.
    assert_eq!(start.len(), "2024-01-01T00:00:00.000Z".len(), "{v}");
    assert!(
        rfc3339(before - 1000).as_str() <= start && start <= rfc3339(after + 1000).as_str(),
        "{start} not in [{}, {}]",
        rfc3339(before),
        rfc3339(after)
    );
    assert_eq!(v["data"]["storageRetention"], json!("30d"), "{v}");

    let (code, v) = get_json(&c, &l.url("/api/v1/status/tsdb"), &[]);
    assert_eq!(code, 200);
    let d = &v["data"];
    assert_eq!(d["headStats"]["numSeries"], json!(6), "{v}");
    assert_eq!(d["headStats"]["minTime"], json!(l.t(0)), "{v}");
    assert_eq!(d["headStats"]["maxTime"], json!(l.t(SAMPLES - 1)), "{v}");
    assert_eq!(
        d["seriesCountByMetricName"],
        json!([
            {"name": "special", "value": 3},
            {"name": "http_requests_total", "value": 2},
            {"name": "temperature_celsius", "value": 1},
        ])
    );
    let find = |list: &str, name: &str| -> Value {
        d[list]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .map_or(Value::Null, |e| e["value"].clone())
    };
    assert_eq!(find("labelValueCountByLabelName", "__name__"), json!(3), "{v}");
    assert_eq!(find("labelValueCountByLabelName", "kind"), json!(3), "{v}");
    assert_eq!(find("labelValueCountByLabelName", "instance"), json!(2), "{v}");
    assert_eq!(find("seriesCountByLabelValuePair", "job=api"), json!(2), "{v}");
    assert_eq!(
        find("seriesCountByLabelValuePair", "__name__=special"),
        json!(3),
        "{v}"
    );
    let (code, v) = get_json(&c, &l.url("/api/v1/status/tsdb"), &[("limit", "1")]);
    assert_eq!(code, 200);
    assert_eq!(
        v["data"]["seriesCountByMetricName"],
        json!([{"name": "special", "value": 3}])
    );
}

/// Runs `pharos query …` against `server`; returns success, stdout and stderr.
fn cli(server: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pharos"))
        .arg("query")
        .args(args)
        .args(["--server", server])
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn sorted_lines(s: &str) -> Vec<&str> {
    let mut v: Vec<&str> = s.lines().collect();
    v.sort_unstable();
    v
}

#[test]
fn query_cli_prints_like_promtool() {
    let l = Loaded::start(&[]);
    let server = format!("http://{}", l.s.addr);
    let ts = api_secs(l.eval_time());

    let (ok, out, err) = cli(&server, &["instant", "http_requests_total", "--time", &ts]);
    assert!(ok, "{err}");
    assert_eq!(
        sorted_lines(&out),
        vec![
            format!("http_requests_total{{code=\"200\", instance=\"a\", job=\"api\"}} => 390 @[{ts}]"),
            format!("http_requests_total{{code=\"500\", instance=\"b\", job=\"api\"}} => 39 @[{ts}]"),
        ]
    );
    // Labels without a name print as `{…}`; scalars as promtool prints them.
    let (ok, out, _) = cli(
        &server,
        &["instant", "sum by (job) (http_requests_total)", "--time", &ts],
    );
    assert!(ok);
    assert_eq!(out, format!("{{job=\"api\"}} => 429 @[{ts}]\n"));
    let (ok, out, _) = cli(
        &server,
        &["instant", "scalar(special{kind=\"inf\"})", "--time", &ts],
    );
    assert!(ok);
    assert_eq!(out, format!("scalar: +Inf @[{ts}]\n"));
    // Infos go to stderr, the result to stdout.
    let (ok, out, err) = cli(
        &server,
        &["instant", "rate(temperature_celsius[5m])", "--time", &ts],
    );
    assert!(ok);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        err.contains("info: PromQL info: metric might not be a counter"),
        "{err}"
    );

    let (start, end) = (l.base + 60_500, l.base + 90_500);
    let (s, e) = (api_secs(start), rfc3339(end));
    let q = r#"http_requests_total{instance="b"}"#;
    let (ok, out, err) = cli(
        &server,
        &["range", q, "--start", &s, "--end", &e, "--step", "15s"],
    );
    assert!(ok, "{err}");
    let mut want = String::from("http_requests_total{code=\"500\", instance=\"b\", job=\"api\"} =>\n");
    for k in 0..3 {
        want.push_str(&format!("{} @[{}]\n", 4 + k, api_secs(start + k * STEP_MS)));
    }
    assert_eq!(out, want);

    // -o json prints the API's data object.
    let (ok, out, _) = cli(
        &server,
        &[
            "-o", "json", "range", q, "--start", &s, "--end", &e, "--step", "15",
        ],
    );
    assert!(ok);
    let (_, api) = get_json(
        &client(),
        &l.url("/api/v1/query_range"),
        &[("query", q), ("start", &s), ("end", &e), ("step", "15")],
    );
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), api["data"]);
    let (ok, out, _) = cli(&server, &["instant", "-o", "json", "special", "--time", &ts]);
    assert!(ok);
    let data: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(data["resultType"], json!("vector"));
    assert_eq!(data["result"].as_array().unwrap().len(), 3);

    // Without --step, about 250 points: 600 s / 250 rounds to a 2 s step, 301 points.
    let (start, end) = (api_secs(l.base), api_secs(l.base + 600_000));
    let (ok, out, _) = cli(&server, &["range", "vector(1)", "--start", &start, "--end", &end]);
    assert!(ok);
    assert_eq!(out.lines().count(), 1 + 301, "{out}");

    // Errors exit non-zero with the API's type and message.
    let (ok, out, err) = cli(&server, &["instant", "foo{"]);
    assert!(!ok);
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains(
            "query failed (HTTP 400 Bad Request, bad_data): invalid parameter \"query\": 1:5: parse error: unexpected end of input inside braces"
        ),
        "{err}"
    );
    let (ok, _, err) = cli("http://127.0.0.1:1", &["instant", "1"]);
    assert!(!ok);
    assert!(err.contains("querying http://127.0.0.1:1"), "{err}");
}
