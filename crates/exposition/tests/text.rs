//! Prometheus text format: parser rules, error messages and the writer's float format.

#![allow(clippy::unwrap_used)] // tests unwrap freely: a failure is the assertion

use std::borrow::Cow;

use exposition::{
    MetricType, TextError, TextItem, TextSample, parse_text, write_help, write_sample, write_type,
};

fn items(body: &str) -> Vec<(usize, Result<TextItem<'_>, TextError>)> {
    parse_text(body.as_bytes()).collect()
}

fn sample(body: &str) -> TextSample<'_> {
    let mut all = items(body);
    assert_eq!(all.len(), 1, "{body:?} gave {all:?}");
    match all.remove(0).1 {
        Ok(TextItem::Sample(s)) => s,
        other => panic!("{body:?}: {other:?}"),
    }
}

fn error(body: &str) -> String {
    let all = items(body);
    assert_eq!(all.len(), 1, "{body:?} gave {all:?}");
    match &all[0].1 {
        Ok(item) => panic!("{body:?} parsed as {item:?}"),
        Err(e) => e.to_string(),
    }
}

fn labels<'a>(pairs: &[(&'a str, &'a str)]) -> Vec<(Cow<'a, str>, Cow<'a, str>)> {
    pairs.iter().map(|&(k, v)| (Cow::from(k), Cow::from(v))).collect()
}

#[test]
fn node_exporter_style_body() {
    let body = "\
# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 12345.67
node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} 1.2e+06

# A plain comment
# TYPE go_memstats_alloc_bytes gauge
go_memstats_alloc_bytes 2.826136e+06 1700000000000
";
    let got = items(body);
    assert_eq!(got.len(), 6);
    assert_eq!(
        got[0],
        (
            1,
            Ok(TextItem::Help {
                name: "node_cpu_seconds_total".into(),
                text: "Seconds the CPUs spent in each mode.".into()
            })
        )
    );
    assert_eq!(
        got[1],
        (
            2,
            Ok(TextItem::Type {
                name: "node_cpu_seconds_total".into(),
                kind: MetricType::Counter
            })
        )
    );
    assert_eq!(
        got[2],
        (
            3,
            Ok(TextItem::Sample(TextSample {
                name: "node_cpu_seconds_total".into(),
                labels: labels(&[("cpu", "0"), ("mode", "idle")]),
                value: 12345.67,
                timestamp_ms: None,
            }))
        )
    );
    assert!(matches!(&got[3].1, Ok(TextItem::Sample(s)) if s.value == 1.2e6));
    assert_eq!(
        got[4],
        (
            7,
            Ok(TextItem::Type {
                name: "go_memstats_alloc_bytes".into(),
                kind: MetricType::Gauge
            })
        )
    );
    assert_eq!(
        got[5],
        (
            8,
            Ok(TextItem::Sample(TextSample {
                name: "go_memstats_alloc_bytes".into(),
                labels: vec![],
                value: 2826136.0,
                timestamp_ms: Some(1_700_000_000_000),
            }))
        )
    );
}

#[test]
fn all_metric_types() {
    for (text, kind) in [
        ("counter", MetricType::Counter),
        ("gauge", MetricType::Gauge),
        ("histogram", MetricType::Histogram),
        ("summary", MetricType::Summary),
        ("untyped", MetricType::Untyped),
        ("GAUGE", MetricType::Gauge),
    ] {
        let body = format!("# TYPE m {text}");
        assert_eq!(
            items(&body)[0].1,
            Ok(TextItem::Type {
                name: "m".into(),
                kind
            }),
            "{text}"
        );
    }
}

#[test]
fn help_escapes_and_empty_help() {
    let got = items("# HELP m a \\\\ b\\nc \\x \"q\"\n# HELP m\n#HELP  m   spaced  ");
    assert_eq!(
        got[0].1,
        Ok(TextItem::Help {
            name: "m".into(),
            text: "a \\ b\nc \\x \"q\"".into()
        })
    );
    assert_eq!(
        got[1].1,
        Ok(TextItem::Help {
            name: "m".into(),
            text: "".into()
        })
    );
    assert_eq!(
        got[2].1,
        Ok(TextItem::Help {
            name: "m".into(),
            text: "spaced  ".into()
        })
    );
}

#[test]
fn label_value_escapes() {
    let s = sample(r#"m{a="x\\y",b="say \"hi\"",c="1\n2",d="C:\temp",e=""} 1"#);
    assert_eq!(
        s.labels,
        labels(&[
            ("a", r"x\y"),
            ("b", r#"say "hi""#),
            ("c", "1\n2"),
            ("d", r"C:\temp"),
            ("e", "")
        ])
    );
    assert!(matches!(s.labels[4].1, Cow::Borrowed(_)));
    assert!(matches!(s.labels[0].1, Cow::Owned(_)));
    assert_eq!(sample("m{a=\"日本\"} 1").labels, labels(&[("a", "日本")]));
}

#[test]
fn blanks_trailing_comma_and_empty_braces() {
    let s = sample("  m \t{ a = \"1\" ,\tb=\"2\", }\t 3 \t 4 ");
    assert_eq!(s.name, "m");
    assert_eq!(s.labels, labels(&[("a", "1"), ("b", "2")]));
    assert_eq!((s.value, s.timestamp_ms), (3.0, Some(4)));
    let s = sample("m{} 1");
    assert!(s.labels.is_empty());
    let s = sample("m{a=\"1\"}2");
    assert_eq!(s.value, 2.0);
    assert_eq!(sample("a:b_c:9 1").name, "a:b_c:9");
}

#[test]
fn values() {
    for (text, want) in [
        ("1", 1.0),
        ("-1.5", -1.5),
        ("1e3", 1e3),
        ("1.5E-3", 1.5e-3),
        ("+2", 2.0),
        (".5", 0.5),
        ("5.", 5.0),
        ("+Inf", f64::INFINITY),
        ("-Inf", f64::NEG_INFINITY),
        ("Inf", f64::INFINITY),
        ("inf", f64::INFINITY),
        ("-infinity", f64::NEG_INFINITY),
        ("1.7976931348623157e+308", f64::MAX),
        ("4.9e-324", 4.9e-324),
    ] {
        let body = format!("m {text}");
        assert_eq!(sample(&body).value, want, "{text}");
    }
    assert!(sample("m NaN").value.is_nan());
    assert!(sample("m nan").value.is_nan());
    assert_eq!(sample("m -0").value.to_bits(), (-0.0f64).to_bits());
}

#[test]
fn timestamps() {
    assert_eq!(sample("m 1 -5").timestamp_ms, Some(-5));
    assert_eq!(sample("m 1 0").timestamp_ms, Some(0));
    assert_eq!(sample("m 1 9223372036854775807").timestamp_ms, Some(i64::MAX));
}

#[test]
fn utf8_quoted_names() {
    let s = sample(r#"{"my.metric", "other.label"="v", job="x"} 1"#);
    assert_eq!(s.name, "my.metric");
    assert_eq!(s.labels, labels(&[("other.label", "v"), ("job", "x")]));
    let s = sample(r#"{job="x", "my.metric"} 1"#);
    assert_eq!(s.name, "my.metric");
    let s = sample(r#"{"we\"ird\\name\n"} 1"#);
    assert_eq!(s.name, "we\"ird\\name\n");
    let s = sample(r#"m{"a b"="c"} 1"#);
    assert_eq!(s.labels, labels(&[("a b", "c")]));
    let s = sample(r#"{__name__="x",a="b"} 1"#);
    assert_eq!((s.name.as_ref(), s.labels.len()), ("x", 1));

    let got = items("# TYPE \"my.metric\" gauge\n# HELP \"my.metric\" text here");
    assert_eq!(
        got[0].1,
        Ok(TextItem::Type {
            name: "my.metric".into(),
            kind: MetricType::Gauge
        })
    );
    assert_eq!(
        got[1].1,
        Ok(TextItem::Help {
            name: "my.metric".into(),
            text: "text here".into()
        })
    );
}

#[test]
fn comments_blank_lines_crlf_and_line_numbers() {
    let body = "# just a comment\r\n\r\n  \t\n#\n# EOF\r\nm 1\r\n\nm{a=\"b\"} 2 3\r\n";
    let got: Vec<_> = items(body).into_iter().map(|(n, r)| (n, r.map(|_| ()))).collect();
    assert_eq!(got, vec![(6, Ok(())), (8, Ok(()))]);
    assert!(items("").is_empty());
    assert!(items("\n\n").is_empty());
}

#[test]
fn bad_lines_do_not_stop_the_rest() {
    let got: Vec<_> = items("m 1\nm abc\n\nm 2\n")
        .into_iter()
        .map(|(n, r)| (n, r.is_ok()))
        .collect();
    assert_eq!(got, vec![(1, true), (2, false), (4, true)]);
}

#[test]
fn error_messages() {
    let cases = [
        ("1abc 1", "invalid metric name \"1abc\""),
        ("my.metric 1", "invalid metric name \"my.metric\""),
        ("m} 1", "invalid metric name \"m}\""),
        ("{a=\"b\"} 1", "missing metric name"),
        ("m{job 1", "expected '=' after label name \"job\""),
        ("m{job} 1", "expected '=' after label name \"job\""),
        ("m{job=x} 1", "expected '\"' to start the value of label \"job\""),
        ("m{job=\"x} 1", "unterminated value of label \"job\""),
        ("m{job=\"x\\\"} 1", "unterminated value of label \"job\""),
        (
            "m{job=\"x\" a=\"b\"} 1",
            "expected ',' or '}' after the value of label \"job\"",
        ),
        (
            "m{job=\"x\"",
            "expected ',' or '}' after the value of label \"job\"",
        ),
        ("m{job=\"x\",", "unterminated label set"),
        ("m{", "unterminated label set"),
        ("m{,} 1", "expected label name, found \",\""),
        ("m{=\"x\"} 1", "expected label name, found \"=\""),
        ("m{1a=\"x\"} 1", "invalid label name \"1a\""),
        ("m{a:b=\"x\"} 1", "invalid label name \"a:b\""),
        ("m{a.b=\"x\"} 1", "invalid label name \"a.b\""),
        ("m{\"\"=\"x\"} 1", "invalid label name \"\""),
        ("m{job=\"a\",job=\"b\"} 1", "duplicate label \"job\""),
        ("m{__name__=\"n\"} 1", "duplicate label \"__name__\""),
        ("{\"a\",\"b\"} 1", "metric name given twice: \"a\" and \"b\""),
        ("m{\"a\"} 1", "metric name given twice: \"m\" and \"a\""),
        ("{\"\"} 1", "invalid metric name \"\""),
        ("{__name__=\"\"} 1", "invalid metric name \"\""),
        ("{\"a\" x=\"1\"} 1", "expected ',' or '}' after metric name \"a\""),
        ("{\"a} 1", "unterminated quoted name"),
        ("m", "missing value for metric \"m\""),
        ("m{a=\"b\"}", "missing value for metric \"m\""),
        ("m abc", "invalid value \"abc\""),
        ("m 1,5", "invalid value \"1,5\""),
        ("m +NaN", "invalid value \"+NaN\""),
        ("m 0x1p-2", "invalid value \"0x1p-2\""),
        ("m 1_000", "invalid value \"1_000\""),
        ("m 1e400", "invalid value \"1e400\""),
        ("m 1 1.5", "invalid timestamp \"1.5\""),
        ("m 1 abc", "invalid timestamp \"abc\""),
        (
            "m 1 9223372036854775808",
            "invalid timestamp \"9223372036854775808\"",
        ),
        ("m 1 2 3", "unexpected trailing content \"3\""),
        ("# HELP", "missing metric name"),
        ("# TYPE   ", "missing metric name"),
        ("# HELP 1m x", "invalid metric name \"1m\""),
        ("# TYPE m", "missing metric type for \"m\""),
        ("# TYPE m gauges", "invalid metric type \"gauges\""),
        ("# TYPE m gauge extra", "unexpected trailing content \"extra\""),
        ("# TYPE \"m\"gauge", "unexpected trailing content \"gauge\""),
    ];
    for (body, want) in cases {
        assert_eq!(error(body), want, "{body:?}");
    }
    assert_eq!(
        parse_text(b"m{a=\"\xff\"} 1")
            .next()
            .map(|(n, r)| (n, r.is_err())),
        Some((1, true))
    );
    assert_eq!(error_of(b"m 1\n\xc3\n"), (2, "invalid utf-8".to_owned()));
}

fn error_of(body: &[u8]) -> (usize, String) {
    parse_text(body)
        .find_map(|(n, r)| r.err().map(|e| (n, e.to_string())))
        .unwrap_or_default()
}

fn written(name: &str, labels: &[(&str, &str)], value: f64, ts: Option<i64>) -> String {
    let mut out = String::new();
    write_sample(&mut out, name, labels, value, ts);
    out
}

#[test]
fn writer_formats_like_prometheus() {
    assert_eq!(written("up", &[], 1.0, None), "up 1\n");
    assert_eq!(
        written("up", &[("job", "a")], 0.0, Some(5)),
        "up{job=\"a\"} 0 5\n"
    );
    assert_eq!(
        written("m", &[("a", "x\\y\"z\nw"), ("b", "")], 1.0, Some(-7)),
        "m{a=\"x\\\\y\\\"z\\nw\",b=\"\"} 1 -7\n"
    );
    assert_eq!(written("my.metric", &[], 1.0, None), "{\"my.metric\"} 1\n");
    assert_eq!(
        written("my.metric", &[("a.b", "c"), ("d", "e")], 1.0, None),
        "{\"my.metric\",\"a.b\"=\"c\",d=\"e\"} 1\n"
    );
    assert_eq!(written("m", &[("a.b", "c")], 1.0, None), "m{\"a.b\"=\"c\"} 1\n");
}

#[test]
fn writer_float_format_matches_go() {
    let cases = [
        (f64::NAN, "NaN"),
        (f64::INFINITY, "+Inf"),
        (f64::NEG_INFINITY, "-Inf"),
        (0.0, "0"),
        (-0.0, "-0"),
        (1.0, "1"),
        (-1.0, "-1"),
        (0.1, "0.1"),
        (123.456, "123.456"),
        (100000.0, "100000"),
        (123456.0, "123456"),
        (1e6, "1e+06"),
        (1234567.0, "1.234567e+06"),
        (2826136.0, "2.826136e+06"),
        (1.7e9, "1.7e+09"),
        (0.0001, "0.0001"),
        (0.00012, "0.00012"),
        (1e-5, "1e-05"),
        (1.5e-7, "1.5e-07"),
        (1e21, "1e+21"),
        (1e100, "1e+100"),
        (f64::MAX, "1.7976931348623157e+308"),
        (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
        (5e-324, "5e-324"),
        (-2.5e-300, "-2.5e-300"),
    ];
    for (value, want) in cases {
        assert_eq!(written("m", &[], value, None), format!("m {want}\n"), "{value:e}");
    }
}

#[test]
fn writer_help_and_type() {
    let mut out = String::new();
    write_help(&mut out, "m", "a\\b\nc");
    write_type(&mut out, "m", MetricType::Histogram);
    write_help(&mut out, "my.metric", "x");
    write_type(&mut out, "my.metric", MetricType::Counter);
    assert_eq!(
        out,
        "# HELP m a\\\\b\\nc\n# TYPE m histogram\n# HELP \"my.metric\" x\n# TYPE \"my.metric\" counter\n"
    );
    let got: Vec<_> = items(&out).into_iter().map(|(_, r)| r.unwrap()).collect();
    assert_eq!(
        got,
        vec![
            TextItem::Help {
                name: "m".into(),
                text: "a\\b\nc".into()
            },
            TextItem::Type {
                name: "m".into(),
                kind: MetricType::Histogram
            },
            TextItem::Help {
                name: "my.metric".into(),
                text: "x".into()
            },
            TextItem::Type {
                name: "my.metric".into(),
                kind: MetricType::Counter
            },
        ]
    );
}
