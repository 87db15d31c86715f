//! The Pushgateway-compatible endpoint against Debian's real `prometheus-pushgateway`: the same
//! pushes (text and Go clients' delimited protobuf, good and bad) get the same status codes, and
//! the series Pharos stores from its in-process push job equal what Prometheus would scrape from
//! the Pushgateway (`honor_labels: true`, empty labels dropped). An acknowledged push survives
//! `kill -9`.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Proc, Server, client, free_port, get_json, peers_required, wait_http};
use prost::Message;
use push::proto;

const PG_BIN: &str = "/usr/bin/prometheus-pushgateway";
const TEXT: &str = "text/plain; version=0.0.4";
const PROTO: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

/// Series as Prometheus stores them: name and non-empty labels, with the value.
type SeriesSet = BTreeMap<Vec<(String, String)>, f64>;

fn delimited(families: &[proto::MetricFamily]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in families {
        f.encode_length_delimited(&mut out).unwrap();
    }
    out
}

fn labels(pairs: &[(&str, &str)]) -> Vec<proto::LabelPair> {
    pairs
        .iter()
        .map(|(n, v)| proto::LabelPair {
            name: Some(n.to_string()),
            value: Some(v.to_string()),
        })
        .collect()
}

/// What a Go client pushes: a counter, a gauge with help, a histogram without its +Inf bucket and
/// a summary.
fn go_client_body() -> Vec<u8> {
    let metric = |l: &[(&str, &str)]| proto::Metric {
        label: labels(l),
        ..Default::default()
    };
    delimited(&[
        proto::MetricFamily {
            name: Some("jobs_done_total".into()),
            help: Some("Jobs done.".into()),
            r#type: Some(0),
            metric: vec![
                proto::Metric {
                    counter: Some(proto::Counter { value: Some(7.0) }),
                    ..metric(&[("kind", "a")])
                },
                proto::Metric {
                    counter: Some(proto::Counter { value: Some(2.5) }),
                    ..metric(&[("kind", "b")])
                },
            ],
        },
        proto::MetricFamily {
            name: Some("last_run_seconds".into()),
            help: Some("When the job last ran.".into()),
            r#type: Some(1),
            metric: vec![proto::Metric {
                gauge: Some(proto::Gauge { value: Some(1.7e9) }),
                ..metric(&[])
            }],
        },
        proto::MetricFamily {
            name: Some("run_duration_seconds".into()),
            help: None,
            r#type: Some(4),
            metric: vec![proto::Metric {
                histogram: Some(proto::Histogram {
                    sample_count: Some(4),
                    sample_sum: Some(3.25),
                    bucket: [(0.5, 1), (1.0, 3), (2.5, 3)]
                        .iter()
                        .map(|(ub, c)| proto::Bucket {
                            upper_bound: Some(*ub),
                            cumulative_count: Some(*c),
                            cumulative_count_float: None,
                        })
                        .collect(),
                    ..Default::default()
                }),
                ..metric(&[])
            }],
        },
        proto::MetricFamily {
            name: Some("batch_size".into()),
            help: Some("Items per batch.".into()),
            r#type: Some(2),
            metric: vec![proto::Metric {
                summary: Some(proto::Summary {
                    sample_count: Some(10),
                    sample_sum: Some(55.0),
                    quantile: vec![
                        proto::Quantile {
                            quantile: Some(0.5),
                            value: Some(5.0),
                        },
                        proto::Quantile {
                            quantile: Some(0.99),
                            value: Some(10.0),
                        },
                    ],
                }),
                ..metric(&[("queue", "q1")])
            }],
        },
    ])
}

/// (method, path after /metrics/, content type, body)
fn pushes() -> Vec<(&'static str, &'static str, &'static str, Vec<u8>)> {
    let t = |s: &str| s.as_bytes().to_vec();
    vec![
        ("POST", "job/j1/instance/i1", TEXT, t("a_total{x=\"1\"} 3\n")),
        // The grouping key wins over a pushed job label; a pushed instance stays.
        (
            "POST",
            "job/j1/g/v",
            TEXT,
            t("# TYPE b gauge\n# HELP b help b\nb{job=\"other\",instance=\"z\"} 5\n"),
        ),
        ("POST", "job/j2", TEXT, t("c 1 1234\n")),
        ("POST", "job/j2", TEXT, t("c{job=\"j2\"} 1\n")),
        ("POST", "job/j3", TEXT, t("push_time_seconds 1\nkept 2\n")),
        ("POST", "job/j4", TEXT, t("d{x=\"1\"} 1\n")),
        ("POST", "job/j5", TEXT, t("# TYPE d counter\nd{x=\"2\"} 1\n")),
        ("POST", "job/j6", TEXT, t("bad line here\n")),
        ("POST", "job/j7/odd", TEXT, t("e 1\n")),
        (
            "POST",
            "job@base64/ajg/path@base64/L3Zhci90bXA=",
            TEXT,
            t("e 1\n"),
        ),
        ("POST", "job/j9/__x/1", TEXT, t("e 1\n")),
        ("PUT", "job/j10", TEXT, Vec::new()),
        ("POST", "job/j12", TEXT, t("f 1\nf 2\n")),
        ("POST", "job/j13", TEXT, t("g 1\nh 1\n")),
        ("POST", "job/j13", TEXT, t("g 2\n")),
        ("PUT", "job/j14", TEXT, t("h 5\n")),
        ("PUT", "job/j14", TEXT, t("i 5\n")),
        (
            "POST",
            "job/j15",
            TEXT,
            t(
                "# TYPE hh histogram\nhh_bucket{le=\"1\"} 1\nhh_bucket{le=\"+Inf\"} 2\nhh_sum 3\nhh_count 2\n\
               # TYPE ss summary\nss{quantile=\"0.5\"} 1\nss_sum 2\nss_count 3\n",
            ),
        ),
        ("PUT", "job/j16/instance/batch-1", PROTO, go_client_body()),
        ("DELETE", "job/j4", TEXT, Vec::new()),
        ("DELETE", "job/nonexistent", TEXT, Vec::new()),
        // The same series from two groups of one job.
        ("POST", "job/j19/instance/a", TEXT, t("y 1\n")),
        ("POST", "job/j19", TEXT, t("y{instance=\"a\"} 2\n")),
    ]
}

fn send(
    c: &reqwest::blocking::Client,
    base: &str,
    (method, path, ct, body): &(&str, &str, &str, Vec<u8>),
) -> (u16, String) {
    let url = format!("{base}/metrics/{path}");
    let req = match *method {
        "PUT" => c.put(&url),
        "POST" => c.post(&url),
        _ => c.delete(&url),
    };
    let resp = req.header("Content-Type", *ct).body(body.clone()).send().unwrap();
    (resp.status().as_u16(), resp.text().unwrap())
}

/// The Pushgateway's exposition as Prometheus would store it with `honor_labels: true`: its own
/// metrics left out, empty labels dropped. `push_*` series are returned apart.
fn gateway_series(text: &str) -> (SeriesSet, SeriesSet) {
    let (mut pushed, mut times) = (SeriesSet::new(), SeriesSet::new());
    for (_, item) in exposition::parse_text(text.as_bytes()) {
        let Ok(exposition::TextItem::Sample(s)) = item else {
            continue;
        };
        let name = s.name.as_ref();
        if ["go_", "process_", "pushgateway_", "promhttp_"]
            .iter()
            .any(|p| name.starts_with(p))
        {
            continue;
        }
        let mut key: Vec<(String, String)> = s
            .labels
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        key.push(("__name__".into(), name.to_string()));
        key.sort();
        if name.starts_with("push_") {
            times.insert(key, s.value);
        } else {
            pushed.insert(key, s.value);
        }
    }
    (pushed, times)
}

/// Pharos's stored series at the newest sample, from an instant query.
fn pharos_series(c: &reqwest::blocking::Client, s: &Server) -> (SeriesSet, SeriesSet) {
    let (code, v) = get_json(
        c,
        &s.url("/api/v1/query"),
        &[("query", "{__name__=~\".+\", job!=\"pushgateway\"}")],
    );
    assert_eq!(code, 200, "{v}");
    let (mut pushed, mut times) = (SeriesSet::new(), SeriesSet::new());
    for r in v["data"]["result"].as_array().unwrap() {
        let mut key: Vec<(String, String)> = r["metric"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(n, v)| (n.clone(), v.as_str().unwrap().to_string()))
            .collect();
        key.sort();
        let value: f64 = r["value"][1].as_str().unwrap().parse().unwrap();
        if r["metric"]["__name__"].as_str().unwrap().starts_with("push_") {
            times.insert(key, value);
        } else {
            pushed.insert(key, value);
        }
    }
    (pushed, times)
}

fn start_pharos(data: &Path, config: &Path) -> Server {
    // The push job on (unlike `Server::start`), nothing else that writes series.
    Server::start_default(
        data,
        &[
            "--no-host-metrics",
            "--no-self-metrics",
            "--no-builtin-rules",
            "--config",
            config.to_str().unwrap(),
        ],
    )
}

/// Polls until Pharos's stored push series equal `want` (the push job scrapes every second).
fn wait_for_series(c: &reqwest::blocking::Client, s: &Server, want: &SeriesSet) -> (SeriesSet, SeriesSet) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = pharos_series(c, s);
        if &got.0 == want || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Fails listing only the differences.
fn assert_same(got: &SeriesSet, want: &SeriesSet, what: &str) {
    let only_ours: Vec<_> = got.iter().filter(|(k, v)| want.get(*k) != Some(v)).collect();
    let only_theirs: Vec<_> = want.iter().filter(|(k, v)| got.get(*k) != Some(v)).collect();
    assert!(
        only_ours.is_empty() && only_theirs.is_empty(),
        "{what}:\n  Pharos only: {only_ours:?}\n  Pushgateway only: {only_theirs:?}"
    );
}

#[test]
fn pushes_behave_as_on_the_pushgateway_and_survive_kill_9() {
    if !Path::new(PG_BIN).exists() {
        assert!(
            !peers_required(),
            "PHAROS_REQUIRE_PEERS=1 but {PG_BIN} is not installed"
        );
        eprintln!(
            "NOTICE: {PG_BIN} not installed; skipping the Pushgateway comparison (the test command installs it)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _gateway = Proc(
        Command::new(PG_BIN)
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            // Debian's default keeps groups in /var/lib across runs.
            .arg(format!(
                "--persistence.file={}",
                dir.path().join("pg.data").display()
            ))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("pg.log")).unwrap())
            .spawn()
            .unwrap(),
    );
    let gw = format!("http://127.0.0.1:{port}");
    wait_http(&format!("{gw}/-/ready"));
    let config = dir.path().join("pharos.yml");
    std::fs::write(&config, "push:\n  scrape_interval: 1s\n").unwrap();
    let data = dir.path().join("data");
    let pharos = start_pharos(&data, &config);
    let c = client();

    for p in pushes() {
        let (want, gw_body) = send(&c, &gw, &p);
        let (got, body) = send(&c, &pharos.url(""), &p);
        assert_eq!(
            got, want,
            "{} /metrics/{}: Pushgateway said {want} {gw_body:?}, Pharos {got} {body:?}",
            p.0, p.1
        );
        if got >= 400 {
            assert!(
                !body.trim().is_empty(),
                "{} /metrics/{}: an error names its cause",
                p.0,
                p.1
            );
        }
    }

    let exposition = c.get(format!("{gw}/metrics")).send().unwrap().text().unwrap();
    let (want, want_times) = gateway_series(&exposition);
    assert!(want.len() > 20, "the comparison covers the pushes: {want:?}");
    let (got, got_times) = wait_for_series(&c, &pharos, &want);
    assert_same(&got, &want, "stored series differ from the Pushgateway's");
    // Push times differ by the moment each got the request: compare which groups have which time set.
    let set = |m: &SeriesSet| -> BTreeMap<Vec<(String, String)>, bool> {
        m.iter().map(|(k, v)| (k.clone(), *v > 0.0)).collect()
    };
    assert_eq!(
        set(&got_times),
        set(&want_times),
        "push_time_seconds / push_failure_time_seconds differ"
    );

    // An acknowledged push survives kill -9, and the next start exposes it again.
    let last = (
        "PUT",
        "job/durable/instance/x",
        TEXT,
        b"durable_metric 42\n".to_vec(),
    );
    assert_eq!(send(&c, &pharos.url(""), &last).0, 200);
    pharos.kill9();
    let pharos = start_pharos(&data, &config);
    let mut want = want;
    want.insert(
        vec![
            ("__name__".into(), "durable_metric".into()),
            ("instance".into(), "x".into()),
            ("job".into(), "durable".into()),
        ],
        42.0,
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (code, v) = get_json(
            &c,
            &pharos.url("/api/v1/query"),
            &[("query", "durable_metric{job=\"durable\"}")],
        );
        assert_eq!(code, 200);
        if v["data"]["result"].as_array().is_some_and(|r| r.len() == 1) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the push acknowledged before kill -9 is not exposed after the restart"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (got, _) = wait_for_series(&c, &pharos, &want);
    assert_same(&got, &want, "after the restart");
}
