//! Property tests: writer → parser round trips for both formats, and arbitrary bytes never panic.

#![allow(clippy::unwrap_used)] // tests unwrap freely: a failure is the assertion

use std::collections::BTreeMap;

use exposition::{FieldValue, Line, TextItem, TextSample, parse_lines, parse_text, write_sample};
use proptest::prelude::*;

/// Characters that exercise every escaping rule, plus multi-byte ones.
const TRICKY: &[char] = &[
    'a', 'b', 'Z', '0', '9', '_', '.', '-', ' ', ',', '=', '"', '\'', '\\', '\t', '#', '{', '}', 'é', '🍭',
    '日',
];

fn tricky_string(len: std::ops::Range<usize>) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TRICKY), len).prop_map(|chars| chars.into_iter().collect())
}

/// A measurement, tag or field name line protocol can carry: non-empty, without newlines, not
/// ending in a backslash (which the format cannot express).
fn lp_name() -> impl Strategy<Value = String> {
    tricky_string(1..10).prop_map(|mut s| {
        if s.ends_with('\\') {
            s.push('x');
        }
        s
    })
}

/// A measurement must also not start like a comment or with a blank the parser would skip.
fn lp_measurement() -> impl Strategy<Value = String> {
    lp_name().prop_map(|s| {
        if s.starts_with(['#', '\t']) {
            format!("m{s}")
        } else {
            s
        }
    })
}

/// A field key cannot start with a tab: blanks before the field set are skipped (as InfluxDB does).
fn lp_field_key() -> impl Strategy<Value = String> {
    lp_name().prop_map(|s| if s.starts_with('\t') { format!("f{s}") } else { s })
}

#[derive(Debug, Clone)]
enum Value {
    Float(f64),
    Integer(i64),
    UInteger(u64),
    String(String),
    /// The value and which of the five spellings to write.
    Boolean(bool, usize),
}

fn lp_value() -> impl Strategy<Value = Value> {
    let string_chars: Vec<char> = TRICKY.iter().copied().chain(['\n', '\r']).collect();
    prop_oneof![
        any::<f64>()
            .prop_filter("line protocol has no NaN or Inf", |v| v.is_finite())
            .prop_map(Value::Float),
        any::<i64>().prop_map(Value::Integer),
        any::<u64>().prop_map(Value::UInteger),
        prop::collection::vec(prop::sample::select(string_chars), 0..12)
            .prop_map(|chars| Value::String(chars.into_iter().collect())),
        (any::<bool>(), 0..5usize).prop_map(|(b, spelling)| Value::Boolean(b, spelling)),
    ]
}

#[derive(Debug, Clone)]
struct Point {
    measurement: String,
    tags: Vec<(String, String)>,
    fields: Vec<(String, Value)>,
    timestamp: Option<i64>,
}

fn lp_point() -> impl Strategy<Value = Point> {
    (
        lp_measurement(),
        prop::collection::vec((lp_name(), lp_name()), 0..4),
        prop::collection::vec((lp_field_key(), lp_value()), 1..5),
        prop::option::of(any::<i64>()),
    )
        .prop_map(|(measurement, tags, fields, timestamp)| Point {
            measurement,
            tags,
            fields,
            timestamp,
        })
}

fn escape(out: &mut String, s: &str, special: &[char]) {
    for c in s.chars() {
        if special.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
}

/// A test-only line protocol writer, separate from the parser's code.
fn write_point(out: &mut String, p: &Point) {
    escape(out, &p.measurement, &[',', ' ']);
    for (k, v) in &p.tags {
        out.push(',');
        escape(out, k, &[',', '=', ' ']);
        out.push('=');
        escape(out, v, &[',', '=', ' ']);
    }
    out.push(' ');
    for (i, (k, v)) in p.fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        escape(out, k, &[',', '=', ' ']);
        out.push('=');
        match v {
            // `{:?}` is the shortest round-trip form, with an exponent for extreme magnitudes.
            Value::Float(f) => out.push_str(&format!("{f:?}")),
            Value::Integer(n) => out.push_str(&format!("{n}i")),
            Value::UInteger(n) => out.push_str(&format!("{n}u")),
            Value::String(s) => {
                out.push('"');
                escape(out, s, &['"', '\\']);
                out.push('"');
            }
            Value::Boolean(b, spelling) => {
                let spellings = if *b {
                    ["t", "T", "true", "True", "TRUE"]
                } else {
                    ["f", "F", "false", "False", "FALSE"]
                };
                out.push_str(spellings[spelling % 5]);
            }
        }
    }
    if let Some(ts) = p.timestamp {
        out.push_str(&format!(" {ts}"));
    }
}

/// Debug output compares floats bit-exactly (it tells `-0.0` from `0.0`) and Cow by content.
fn expected(p: &Point) -> String {
    let line = Line {
        measurement: p.measurement.as_str().into(),
        tags: p
            .tags
            .iter()
            .map(|(k, v)| (k.as_str().into(), v.as_str().into()))
            .collect(),
        fields: p
            .fields
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::Float(f) => FieldValue::Float(*f),
                    Value::Integer(n) => FieldValue::Integer(*n),
                    Value::UInteger(n) => FieldValue::UInteger(*n),
                    Value::String(s) => FieldValue::String(s.as_str().into()),
                    Value::Boolean(b, _) => FieldValue::Boolean(*b),
                };
                (k.as_str().into(), v)
            })
            .collect(),
        timestamp: p.timestamp,
    };
    format!("{line:?}")
}

/// The inverse of [`expected`]: what the test writer needs to write a parsed line back.
fn point_of(line: &Line<'_>) -> Point {
    Point {
        measurement: line.measurement.to_string(),
        tags: line
            .tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        fields: line
            .fields
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    FieldValue::Float(f) => Value::Float(*f),
                    FieldValue::Integer(n) => Value::Integer(*n),
                    FieldValue::UInteger(n) => Value::UInteger(*n),
                    FieldValue::String(s) => Value::String(s.to_string()),
                    FieldValue::Boolean(b) => Value::Boolean(*b, 0),
                };
                (k.to_string(), v)
            })
            .collect(),
        timestamp: line.timestamp,
    }
}

/// Line protocol lines assembled from mostly valid pieces: escapes, odd values, blanks.
fn lp_lines() -> impl Strategy<Value = String> {
    let ident_piece = prop::sample::select(
        &[
            "m", "a", "b", "c", "\\ ", "\\,", "\\=", "\\", "\\\\", "é", "#", "\t", "\"", "=", "\r",
        ][..],
    );
    let ident = || prop::collection::vec(ident_piece.clone(), 1..4).prop_map(|p| p.concat());
    let tag = (ident(), ident()).prop_map(|(k, v)| format!(",{k}={v}"));
    let tags = prop::collection::vec(tag, 0..3).prop_map(|t| t.concat());
    let value = prop::sample::select(
        &[
            "1",
            "-1.5e3",
            "1i",
            "-7i",
            "1u",
            "-1u",
            "t",
            "FALSE",
            "\"s\"",
            "\"a\\\"b\\\\c\\d\"",
            "\"multi\nline\"",
            "\"\"",
            "nan",
            ".5",
            "1e400",
            "\"open",
        ][..],
    );
    let field = (ident(), value).prop_map(|(k, v)| format!("{k}={v}"));
    let fields = prop::collection::vec(field, 1..4).prop_map(|f| f.join(","));
    let blank = prop::sample::select(&[" ", "  ", " \t"][..]);
    let timestamp = prop::option::of(prop::sample::select(&["5", "-5", "x", "1.5"][..]));
    (ident(), tags, blank, fields, timestamp).prop_map(|(m, tags, blank, fields, ts)| match ts {
        Some(ts) => format!("{m}{tags}{blank}{fields} {ts}"),
        None => format!("{m}{tags}{blank}{fields}"),
    })
}

fn lp_body() -> impl Strategy<Value = Vec<u8>> {
    (prop::collection::vec(lp_lines(), 0..5), any::<bool>())
        .prop_map(|(lines, crlf)| lines.join(if crlf { "\r\n" } else { "\n" }).into_bytes())
}

fn label_name() -> impl Strategy<Value = String> {
    let legacy = (
        prop::sample::select(&['a', 'Z', '_'][..]),
        prop::collection::vec(prop::sample::select(&['a', 'z', 'A', '0', '9', '_'][..]), 0..8),
    )
        .prop_map(|(first, rest)| std::iter::once(first).chain(rest).collect::<String>());
    let utf8 = tricky_string(1..8);
    prop_oneof![legacy, utf8].prop_filter("__name__ is the metric name", |s| s != "__name__")
}

fn metric_name() -> impl Strategy<Value = String> {
    let legacy = (
        prop::sample::select(&['a', 'Z', '_', ':'][..]),
        prop::collection::vec(
            prop::sample::select(&['a', 'z', 'A', '0', '9', '_', ':'][..]),
            0..8,
        ),
    )
        .prop_map(|(first, rest)| std::iter::once(first).chain(rest).collect::<String>());
    prop_oneof![legacy, tricky_string(1..8)]
}

fn label_value() -> impl Strategy<Value = String> {
    let chars: Vec<char> = TRICKY.iter().copied().chain(['\n', '\r']).collect();
    prop::collection::vec(prop::sample::select(chars), 0..10).prop_map(|chars| chars.into_iter().collect())
}

fn sample_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-0.0),
        (-1_000_000i64..1_000_000).prop_map(|n| n as f64),
    ]
}

/// Bytes weighted towards the syntax of both formats, to reach deep parser states.
fn syntax_bytes() -> impl Strategy<Value = Vec<u8>> {
    let alphabet: &[u8] = b"m,=\" \\\n\r\t#{}1-.eEiutfTFNnIa_:+HELPTYPE\xc3\xa9\xff";
    prop::collection::vec(prop::sample::select(alphabet), 0..256)
}

/// Sample lines assembled from mostly valid pieces (names, quoted names, escapes, blanks, odd
/// values), so that many parse and exercise the writer on what the parser accepts.
fn text_lines() -> impl Strategy<Value = String> {
    let name = prop::sample::select(&["m", "a_b:c", "", "1x", "my.metric"][..]);
    let label_name = prop::sample::select(&["a", "b", "__name__", "\"a.b\"", "\"é x\"", "\"\"", "1"][..]);
    let value_piece =
        prop::sample::select(&["x", "\\\\", "\\n", "\\\"", "\\x", "é", " ", "\r", "}", ","][..]);
    let label_value = prop::collection::vec(value_piece, 0..4).prop_map(|pieces| pieces.concat());
    let equals = prop::sample::select(&["=", " = ", "\t="][..]);
    let pair = (label_name, equals, label_value).prop_map(|(k, eq, v)| format!("{k}{eq}\"{v}\""));
    let bare_name =
        prop::sample::select(&["\"my.metric\"", "\"m\\\"q\"", "\"a\\nb\""][..]).prop_map(str::to_owned);
    let item = prop_oneof![4 => pair, 1 => bare_name];
    let comma = prop::sample::select(&[",", ", ", ",\t"][..]);
    let labels =
        prop::option::of((prop::collection::vec((item, comma), 0..4), any::<bool>())).prop_map(|labels| {
            let Some((items, trailing_comma)) = labels else {
                return String::new();
            };
            let mut out = String::from("{");
            for (i, (item, comma)) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(comma);
                }
                out.push_str(item);
            }
            if trailing_comma && !items.is_empty() {
                out.push(',');
            }
            out.push('}');
            out
        });
    let blank = prop::sample::select(&[" ", "\t", "  ", ""][..]);
    let value = prop::sample::select(
        &[
            "1", "-0", "NaN", "+Inf", "-Inf", "inf", "1e3", ".5", "5.", "abc", "1e400", "4.9e-324",
            "1.5e+300",
        ][..],
    );
    let timestamp = prop::option::of(prop::sample::select(
        &["5", "-9", "1.5", "9223372036854775807"][..],
    ));
    (name, labels, blank, value, timestamp).prop_map(|(name, labels, blank, value, timestamp)| {
        let mut line = format!("{name}{labels}{blank}{value}");
        if let Some(ts) = timestamp {
            line.push(' ');
            line.push_str(ts);
        }
        line
    })
}

fn text_body() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(text_lines(), 0..6).prop_map(|lines| lines.join("\n").into_bytes())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn line_protocol_round_trip(
        points in prop::collection::vec(lp_point(), 1..5),
        separators in prop::collection::vec(0..4usize, 5),
    ) {
        // Lines are separated by `\n` or `\r\n`, sometimes with a comment or blank line between.
        let mut body = String::new();
        let mut want = Vec::new();
        for (i, p) in points.iter().enumerate() {
            match separators[i] {
                2 => body.push_str("# a comment, with \"quotes\n"),
                3 => body.push_str("  \r\n"),
                _ => {}
            }
            let line_no = 1 + body.matches('\n').count();
            write_point(&mut body, p);
            body.push_str(if separators[i] == 1 { "\r\n" } else { "\n" });
            want.push((line_no, expected(p)));
        }
        let got: Vec<(usize, String)> = parse_lines(body.as_bytes())
            .map(|(n, r)| (n, match r { Ok(line) => format!("{line:?}"), Err(e) => format!("error: {e}") }))
            .collect();
        prop_assert_eq!(got, want, "body: {:?}", body);
    }

    #[test]
    fn text_round_trip(
        name in metric_name(),
        labels in prop::collection::btree_map(label_name(), label_value(), 0..5),
        value in sample_value(),
        timestamp_ms in prop::option::of(any::<i64>()),
    ) {
        let pairs: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut body = String::new();
        write_sample(&mut body, &name, &pairs, value, timestamp_ms);
        let mut items: Vec<_> = parse_text(body.as_bytes()).collect();
        prop_assert_eq!(items.len(), 1, "body: {:?}", body);
        let (line, item) = items.remove(0);
        prop_assert_eq!(line, 1);
        let sample = match item {
            Ok(TextItem::Sample(sample)) => sample,
            other => return Err(TestCaseError::fail(format!("{body:?} parsed as {other:?}"))),
        };
        let TextSample { name: got_name, labels: got_labels, value: got_value, timestamp_ms: got_ts } = sample;
        prop_assert_eq!(got_name.as_ref(), name.as_str());
        let got_labels: BTreeMap<String, String> =
            got_labels.into_iter().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        prop_assert_eq!(&got_labels, &labels);
        if value.is_nan() {
            prop_assert!(got_value.is_nan(), "{} parsed as {}", value, got_value);
        } else {
            prop_assert_eq!(got_value.to_bits(), value.to_bits(), "body: {:?}", body);
        }
        prop_assert_eq!(got_ts, timestamp_ms);
    }

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        for (line, _) in parse_lines(&body) {
            prop_assert!(line >= 1);
        }
        for (line, _) in parse_text(&body) {
            prop_assert!(line >= 1);
        }
    }

    #[test]
    fn syntax_heavy_bytes_never_panic(body in syntax_bytes()) {
        let mut last = 0;
        for (line, _) in parse_lines(&body) {
            prop_assert!(line > last, "line numbers increase");
            last = line;
        }
        let mut last = 0;
        for (line, _) in parse_text(&body) {
            prop_assert!(line > last, "line numbers increase");
            last = line;
        }
    }

    /// What the parser accepts, the writer reproduces (the text fuzz target's invariant).
    #[test]
    fn accepted_text_samples_rewrite_identically(body in text_body()) {
        for (_, item) in parse_text(&body) {
            let Ok(TextItem::Sample(sample)) = item else { continue };
            let labels: Vec<(&str, &str)> = sample.labels.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect();
            let mut out = String::new();
            write_sample(&mut out, &sample.name, &labels, sample.value, sample.timestamp_ms);
            let back: Vec<_> = parse_text(out.as_bytes()).collect();
            prop_assert_eq!(back.len(), 1, "{:?}", out);
            let Some((1, Ok(TextItem::Sample(back)))) = back.into_iter().next() else {
                return Err(TestCaseError::fail(format!("{out:?} does not parse back")));
            };
            prop_assert_eq!(&back.name, &sample.name);
            prop_assert_eq!(&back.labels, &sample.labels);
            prop_assert_eq!(back.timestamp_ms, sample.timestamp_ms);
            prop_assert!(
                back.value.to_bits() == sample.value.to_bits() || (back.value.is_nan() && sample.value.is_nan())
            );
        }
    }

    /// What the line protocol parser accepts, a plain writer reproduces.
    #[test]
    fn accepted_lines_rewrite_identically(body in lp_body()) {
        for (_, result) in parse_lines(&body) {
            let Ok(line) = result else { continue };
            let want = format!("{line:?}");
            let mut out = String::new();
            write_point(&mut out, &point_of(&line));
            let back: Vec<String> = parse_lines(out.as_bytes())
                .map(|(_, r)| match r { Ok(line) => format!("{line:?}"), Err(e) => format!("error: {e}") })
                .collect();
            prop_assert_eq!(back, vec![want], "rewritten as {:?}", out);
        }
    }
}
