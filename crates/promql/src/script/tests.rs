//! Unit tests of the script parser: one small script per feature, and the whole Prometheus suite.

use std::path::PathBuf;
use std::sync::Arc;

use model::{Labels, STALE_NAN_BITS};

use super::values::{GO_NAN_BITS, Quoting, parse_duration, parse_go_number, unquote};
use super::*;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs).unwrap()
}

fn floats(vs: &[f64]) -> Vec<Point> {
    vs.iter().map(|v| Point::Float(*v)).collect()
}

fn stale() -> Point {
    Point::Float(f64::from_bits(STALE_NAN_BITS))
}

fn series(line: usize, l: &[(&str, &str)], points: Vec<Point>) -> SeriesSpec {
    SeriesSpec {
        line,
        labels: labels(l),
        points,
        start_offsets_ms: Vec::new(),
    }
}

fn only_load(text: &str) -> Load {
    let script = parse(text).unwrap();
    match script.commands.as_slice() {
        [Command::Load(l)] => l.clone(),
        other => panic!("expected one load, got {other:?}"),
    }
}

fn only_eval(text: &str) -> Eval {
    let script = parse(text).unwrap();
    match script.commands.as_slice() {
        [Command::Eval(e)] => e.clone(),
        other => panic!("expected one eval, got {other:?}"),
    }
}

fn points_of(values: &str) -> Vec<Point> {
    let load = only_load(&format!("load 1m\n  m {values}\n"));
    load.series[0].points.clone()
}

fn error_of(text: &str) -> ScriptError {
    match parse(text) {
        Ok(s) => panic!("expected an error, parsed {s:?}"),
        Err(e) => e,
    }
}

#[test]
fn durations() {
    assert_eq!(parse_duration("0"), Ok(0));
    assert_eq!(parse_duration("1m"), Ok(60_000));
    assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
    assert_eq!(parse_duration("10s53ms"), Ok(10_053));
    assert_eq!(parse_duration("100ms"), Ok(100));
    assert_eq!(parse_duration("1d"), Ok(86_400_000));
    assert_eq!(parse_duration("2w"), Ok(14 * 86_400_000));
    assert_eq!(parse_duration("1y"), Ok(365 * 86_400_000));
    assert_eq!(parse_duration("0s"), Ok(0));
    for bad in ["", "5", "1m1h", "1m1m", "1.5h", "-1m", "1x", "m", "1 m", "300y"] {
        assert!(parse_duration(bad).is_err(), "{bad:?} parsed");
    }
}

#[test]
fn go_numbers() {
    assert_eq!(parse_go_number("1"), Some(1.0));
    assert_eq!(parse_go_number("-2.5"), Some(-2.5));
    assert_eq!(parse_go_number("1e3"), Some(1000.0));
    assert_eq!(parse_go_number("1.5E-3"), Some(0.0015));
    assert_eq!(parse_go_number(".5"), Some(0.5));
    assert_eq!(
        parse_go_number("010"),
        Some(8.0),
        "leading zero is octal in Go's ParseInt"
    );
    assert_eq!(parse_go_number("08"), Some(8.0), "not octal, so ParseFloat");
    assert_eq!(parse_go_number("0x1f"), Some(31.0));
    assert_eq!(parse_go_number("0b101"), Some(5.0));
    assert_eq!(parse_go_number("1_000"), Some(1000.0));
    assert_eq!(parse_go_number("+Inf"), Some(f64::INFINITY));
    assert_eq!(parse_go_number("-inf"), Some(f64::NEG_INFINITY));
    assert_eq!(parse_go_number("Infinity"), Some(f64::INFINITY));
    assert_eq!(parse_go_number("NaN").map(f64::to_bits), Some(GO_NAN_BITS));
    assert_eq!(parse_go_number("99999999999999999999"), Some(1e20));
    for bad in [
        "", "-", "abc", "1_", "_1", "1__0", "-nan", "1e", "1.2.3", "{} 1", "1 2", "0x",
    ] {
        assert_eq!(parse_go_number(bad), None, "{bad:?} parsed");
    }
}

#[test]
fn string_literals() {
    assert_eq!(unquote(r#""a\"b\n""#, Quoting::PromQl).unwrap(), "a\"b\n");
    assert_eq!(unquote(r"'it''", Quoting::PromQl).ok(), None);
    assert_eq!(unquote(r"'it\'s'", Quoting::PromQl).unwrap(), "it's");
    assert_eq!(unquote(r"`raw\n`", Quoting::PromQl).unwrap(), r"raw\n");
    assert_eq!(
        unquote(r#""\x41\101\u00e9\U0001F600""#, Quoting::PromQl).unwrap(),
        "AAé😀"
    );
    assert_eq!(unquote(r#""\xc3\xa9""#, Quoting::PromQl).unwrap(), "é");
    assert!(unquote(r#""\xc5""#, Quoting::PromQl).is_err(), "invalid UTF-8");
    assert!(
        unquote(r#""\'""#, Quoting::PromQl).is_err(),
        "\\' only in single quotes"
    );
    assert!(unquote(r#""\q""#, Quoting::PromQl).is_err());
    assert_eq!(unquote("'ab'", Quoting::PromQl).unwrap(), "ab");
    assert!(
        unquote("'ab'", Quoting::Go).is_err(),
        "Go's single quotes hold one character"
    );
    assert_eq!(unquote("'a'", Quoting::Go).unwrap(), "a");
}

#[test]
fn comments_blank_lines_and_clear() {
    let script = parse("# header\n\n  # indented comment\nclear\n\n\tCLEAR\n").unwrap();
    assert_eq!(
        script.commands,
        vec![Command::Clear { line: 4 }, Command::Clear { line: 6 }]
    );
    assert_eq!(parse("").unwrap(), Script::default());
    assert_eq!(parse("\r\n# only a comment\r\n").unwrap(), Script::default());
}

#[test]
fn load_readme_example() {
    let load = only_load(
        "load 1m\n    my_metric{env=\"prod\"} 5 2+3x2 _ stale {{schema:1 sum:3 count:22 buckets:[5 10 7]}}\n",
    );
    let spec = Arc::new(HistogramSpec {
        base: "{{schema:1 sum:3 count:22 buckets:[5 10 7]}}".to_owned(),
        step: None,
    });
    assert_eq!(
        load,
        Load {
            line: 1,
            interval_ms: 60_000,
            with_nhcb: false,
            series: vec![series(
                2,
                &[("__name__", "my_metric"), ("env", "prod")],
                vec![
                    Point::Float(5.0),
                    Point::Float(2.0),
                    Point::Float(5.0),
                    Point::Float(8.0),
                    Point::Missing,
                    stale(),
                    Point::Histogram { spec, index: 0 },
                ],
            )],
        }
    );
    assert!(load.series[0].has_histograms());
}

#[test]
fn load_with_nhcb_and_several_series() {
    let load = only_load("load_with_nhcb 10s53ms\n  a_bucket{le=\"1\"} 1 2\n\tb 3\n");
    assert!(load.with_nhcb);
    assert_eq!(load.interval_ms, 10_053);
    assert_eq!(
        load.series,
        vec![
            series(2, &[("__name__", "a_bucket"), ("le", "1")], floats(&[1.0, 2.0])),
            series(3, &[("__name__", "b")], floats(&[3.0])),
        ]
    );
}

#[test]
fn expansions() {
    assert_eq!(points_of("0+10x3"), floats(&[0.0, 10.0, 20.0, 30.0]));
    assert_eq!(points_of("1-2x3"), floats(&[1.0, -1.0, -3.0, -5.0]));
    assert_eq!(points_of("-1+1x2"), floats(&[-1.0, 0.0, 1.0]));
    assert_eq!(points_of("-1-1x1"), floats(&[-1.0, -2.0]));
    assert_eq!(points_of("1+0.5x2"), floats(&[1.0, 1.5, 2.0]));
    assert_eq!(points_of("1.5x2"), floats(&[1.5, 1.5, 1.5]));
    assert_eq!(points_of("7x0"), floats(&[7.0]));
    assert_eq!(points_of("_x3"), vec![Point::Missing; 3]);
    assert_eq!(points_of("_x0 1"), floats(&[1.0]));
    assert_eq!(points_of("_ _"), vec![Point::Missing; 2]);
    // No hexadecimal in series values: `0x3` is 0 repeated.
    assert_eq!(points_of("0x3"), floats(&[0.0; 4]));
    assert_eq!(points_of("1e3x1"), floats(&[1000.0, 1000.0]));
    assert_eq!(points_of("1+1e3x1"), floats(&[1.0, 1001.0]));
    assert_eq!(points_of("  1   2\t3  "), floats(&[1.0, 2.0, 3.0]));
    assert_eq!(points_of(""), Vec::<Point>::new());
    // Accumulated like Prometheus: 0.1 added ten times is not 1.0.
    let acc = points_of("0+0.1x10");
    let mut v = 0.0_f64;
    for _ in 0..10 {
        v += 0.1;
    }
    assert_eq!(acc[10], Point::Float(v));
}

#[test]
fn special_values() {
    let pts = points_of("Inf -Inf +Inf inf NaN nan -NaN stale 1e3 1.5E+2 -2.5e-1 .5 -1 +2 010 08 1.");
    let expected = [
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::INFINITY,
        f64::from_bits(GO_NAN_BITS),
        f64::from_bits(GO_NAN_BITS),
        -f64::from_bits(GO_NAN_BITS),
        f64::from_bits(STALE_NAN_BITS),
        1000.0,
        150.0,
        -0.25,
        0.5,
        -1.0,
        2.0,
        8.0,
        8.0,
        1.0,
    ];
    assert_eq!(pts, floats(&expected));
}

#[test]
fn histogram_items() {
    let pts = points_of("{{sum:1 count:1}}x1 {{schema:0 sum:5}}+{{sum:2 count:1}}x2 {{}}-{{count:1}}x0 _");
    let a = Arc::new(HistogramSpec {
        base: "{{sum:1 count:1}}".to_owned(),
        step: None,
    });
    let b = Arc::new(HistogramSpec {
        base: "{{schema:0 sum:5}}".to_owned(),
        step: Some(HistogramStep {
            negative: false,
            literal: "{{sum:2 count:1}}".to_owned(),
        }),
    });
    let c = Arc::new(HistogramSpec {
        base: "{{}}".to_owned(),
        step: Some(HistogramStep {
            negative: true,
            literal: "{{count:1}}".to_owned(),
        }),
    });
    let h = |spec: &Arc<HistogramSpec>, index| Point::Histogram {
        spec: Arc::clone(spec),
        index,
    };
    assert_eq!(
        pts,
        vec![
            h(&a, 0),
            h(&a, 1),
            h(&b, 0),
            h(&b, 1),
            h(&b, 2),
            h(&c, 0),
            Point::Missing
        ]
    );
    assert_eq!(pts[4].to_string(), "{{schema:0 sum:5}}+2*{{sum:2 count:1}}");
    assert_eq!(pts[0].to_string(), "{{sum:1 count:1}}");
}

#[test]
fn label_syntax() {
    let load = only_load(concat!(
        "load 5m\n",
        "  {__name__=\"m\", a='single', b=`raw\\n`,}  1\n",
        "  {\"quoted.name\", \"label.x\"=\"v\"} 2\n",
        "  m2{ a = \"x\\\"y\" , empty=\"\" } 3\n",
        "  {} 4\n",
        "  ns:rule_name:rate5m{job=\"j\"}@st 0\n",
        "  ns:rule_name:rate5m{job=\"j\"} 5\n",
    ));
    let got: Vec<Labels> = load.series.iter().map(|s| s.labels.clone()).collect();
    assert_eq!(
        got,
        vec![
            labels(&[("__name__", "m"), ("a", "single"), ("b", "raw\\n")]),
            labels(&[("__name__", "quoted.name"), ("label.x", "v")]),
            labels(&[("__name__", "m2"), ("a", "x\"y")]),
            Labels::default(),
            labels(&[("__name__", "ns:rule_name:rate5m"), ("job", "j")]),
        ]
    );
}

#[test]
fn series_errors() {
    let cases = [
        ("load 1m\n  m{a=\"1\", a=\"2\"} 1\n", 2),
        ("load 1m\n  m{__name__=\"x\"} 1\n", 2),
        ("load 1m\n  m stalex3\n", 2),
        ("load 1m\n  m Infx2\n", 2),
        ("load 1m\n  m 1+2\n", 2),
        ("load 1m\n  m 1 +\n", 2),
        ("load 1m\n  m abc\n", 2),
        ("load 1m\n  m 1s\n", 2),
        ("load 1m\n  m 1x\n", 2),
        ("load 1m\n  m 1x2.5\n", 2),
        ("load 1m\n  m --1\n", 2),
        ("load 1m\n  m -stale\n", 2),
        ("load 1m\n  m {{schema:0\n", 2),
        ("load 1m\n  m {{a}}+{{b}}\n", 2),
        ("load 1m\n  m{a=\"x} 1\n", 2),
        ("load 1m\n  m{a} 1\n", 2),
        ("load 1m\n  m{a=b} 1\n", 2),
        ("load 1m\n  m{,} 1\n", 2),
        ("load 1m\n  m{a=\"1\"}x 1\n", 2),
        ("load 1m\n  m.x 1\n", 2),
        ("load 1m\n  1m 1\n", 2),
        ("load 1m\n  m 0+1x100000000000\n", 2),
        ("load 1m\n  m 1\n  m{a=\"\\xc5\"} 1\n", 3),
    ];
    for (text, line) in cases {
        let e = error_of(text);
        assert_eq!(e.line(), line, "{text:?}: {e}");
        assert!(
            matches!(
                e,
                ScriptError::InvalidSeries { .. } | ScriptError::InvalidLabels { .. }
            ),
            "{text:?}: {e:?}"
        );
    }
    let e = error_of("load 1m\n  m stalex3\n");
    assert_eq!(
        e.to_string(),
        "line 2: invalid series: in \"stalex3\": expected a number or \"stale\", found \"stalex3\""
    );
}

#[test]
fn duplicate_series_replace_earlier_ones() {
    let load = only_load("load 1m\n  m{a=\"1\"} 1\n  n 2\n  m{a=\"1\"} 3 4\n");
    assert_eq!(
        load.series,
        vec![
            series(4, &[("__name__", "m"), ("a", "1")], floats(&[3.0, 4.0])),
            series(3, &[("__name__", "n")], floats(&[2.0])),
        ]
    );
}

#[test]
fn command_errors() {
    type Check = fn(&ScriptError) -> bool;
    let cases: [(&str, usize, Check); 14] = [
        ("foo 1m\n", 1, |e| matches!(e, ScriptError::UnknownCommand { .. })),
        ("\n\nloadx 1m\n", 3, |e| {
            matches!(e, ScriptError::UnknownCommand { .. })
        }),
        ("eval_foo instant at 0 1\n", 1, |e| {
            matches!(e, ScriptError::UnknownCommand { .. })
        }),
        ("load\n", 1, |e| matches!(e, ScriptError::InvalidCommand { .. })),
        ("load 1m 2m\n", 1, |e| {
            matches!(e, ScriptError::InvalidCommand { .. })
        }),
        ("load 1x\n", 1, |e| {
            matches!(e, ScriptError::InvalidDuration { .. })
        }),
        ("clear now\n", 1, |e| {
            matches!(e, ScriptError::InvalidCommand { .. })
        }),
        ("eval instant 5m foo\n", 1, |e| {
            matches!(e, ScriptError::InvalidCommand { .. })
        }),
        ("eval instant at 5m\n", 1, |e| {
            matches!(e, ScriptError::InvalidCommand { .. })
        }),
        ("eval instant at -5m foo\n", 1, |e| {
            matches!(e, ScriptError::InvalidDuration { .. })
        }),
        ("eval range from 0 to 1m foo\n", 1, |e| {
            matches!(e, ScriptError::InvalidCommand { .. })
        }),
        ("eval range from 2m to 1m step 1m foo\n", 1, |e| {
            matches!(e, ScriptError::InvalidDuration { .. })
        }),
        ("eval_ordered range from 0 to 1m step 1m foo\n", 1, |e| {
            matches!(e, ScriptError::InvalidCommand { .. })
        }),
        // A comment ends a block, so the next series line is read as a command (as in Prometheus).
        ("load 1m\n  a 1\n  # note\n  b 2\n", 4, |e| {
            matches!(e, ScriptError::UnknownCommand { .. })
        }),
    ];
    for (text, line, kind) in cases {
        let e = error_of(text);
        assert_eq!(e.line(), line, "{text:?}: {e}");
        assert!(kind(&e), "{text:?}: {e:?}");
    }
    assert_eq!(
        error_of("foo 1m\n").to_string(),
        "line 1: unknown command \"foo 1m\""
    );
}

#[test]
fn eval_instant_with_series() {
    let eval = only_eval(
        "eval instant at 1h30m sum by (env) (my_metric)\n  {env=\"prod\"} 5\n  {env=\"test\"} -Inf\n",
    );
    assert_eq!(
        eval,
        Eval {
            line: 1,
            query: "sum by (env) (my_metric)".to_owned(),
            kind: EvalKind::Instant { at_ms: 5_400_000 },
            expects: vec![],
            expected: Expected::Series(vec![
                series(2, &[("env", "prod")], floats(&[5.0])),
                series(3, &[("env", "test")], floats(&[f64::NEG_INFINITY])),
            ]),
        }
    );
    assert_eq!(eval.instant_time_ms(), Some(5_400_000));
    assert!(!eval.is_ordered());
    assert_eq!(eval.expected_failure(), None);
    assert!(!eval.has_histograms());
}

#[test]
fn eval_instant_needs_one_value_per_series() {
    let e = error_of("eval instant at 0 m\n  m 1 2\n");
    assert!(matches!(e, ScriptError::InvalidResult { line: 2, .. }), "{e:?}");
    let e = error_of("eval instant at 0 m\n  m\n");
    assert!(matches!(e, ScriptError::InvalidResult { line: 2, .. }), "{e:?}");
}

#[test]
fn eval_range() {
    let eval = only_eval(
        "eval range from 0 to 3m step 1m sum by (env) (my_metric)
    expect warn msg: something went wrong
    expect info regex: something went (wrong|boom)
    {env=\"prod\"} 2 5 _ 20
    {env=\"test\"} 10+10x3
",
    );
    assert_eq!(
        eval,
        Eval {
            line: 1,
            query: "sum by (env) (my_metric)".to_owned(),
            kind: EvalKind::Range(StepRange {
                start_ms: 0,
                end_ms: 180_000,
                step_ms: 60_000,
            }),
            expects: vec![
                Expect::Warn(Some(MessageMatch::Exact("something went wrong".to_owned()))),
                Expect::Info(Some(MessageMatch::Regex(
                    "something went (wrong|boom)".to_owned()
                ))),
            ],
            expected: Expected::Series(vec![
                series(
                    4,
                    &[("env", "prod")],
                    vec![
                        Point::Float(2.0),
                        Point::Float(5.0),
                        Point::Missing,
                        Point::Float(20.0)
                    ],
                ),
                series(5, &[("env", "test")], floats(&[10.0, 20.0, 30.0, 40.0])),
            ]),
        }
    );
    assert_eq!(eval.instant_time_ms(), None);
}

#[test]
fn expect_forms() {
    let eval = only_eval(concat!(
        "eval instant at 1m ceil(x)\n",
        "expect fail\n",
        "  expect warn\n",
        "\texpect info\n",
        "  expect ordered\n",
        "  expect warn msg: PromQL warning: a \"quoted\" name (1:7)\n",
        "  expect warn regex: got NaN \\([0-9]+:[0-9]+\\)\n",
        "  expect info msg:no space after colon\n",
    ));
    assert_eq!(
        eval.expects,
        vec![
            Expect::Fail(None),
            Expect::Warn(None),
            Expect::Info(None),
            Expect::Ordered,
            Expect::Warn(Some(MessageMatch::Exact(
                "PromQL warning: a \"quoted\" name (1:7)".to_owned()
            ))),
            Expect::Warn(Some(MessageMatch::Regex(r"got NaN \([0-9]+:[0-9]+\)".to_owned()))),
            Expect::Info(Some(MessageMatch::Exact("no space after colon".to_owned()))),
        ]
    );
    assert_eq!(eval.expected, Expected::Series(vec![]));
    assert_eq!(eval.expected_failure(), Some(None));
    assert!(eval.is_ordered());

    let eval =
        only_eval("eval instant at 0 x\n  expect no_warn\n  expect no_info\n  expect fail msg: \"quoted\"\n");
    assert_eq!(
        eval.expects,
        vec![
            Expect::NoWarn,
            Expect::NoInfo,
            Expect::Fail(Some(MessageMatch::Exact("\"quoted\"".to_owned()))),
        ]
    );
    assert_eq!(
        eval.expected_failure(),
        Some(Some(&MessageMatch::Exact("\"quoted\"".to_owned())))
    );

    let eval = only_eval("eval instant at 0 x\n  expect fail regex: conflicting label\n");
    assert_eq!(
        eval.expects,
        vec![Expect::Fail(Some(MessageMatch::Regex(
            "conflicting label".to_owned()
        )))]
    );
}

#[test]
fn expect_errors() {
    for (text, line) in [
        ("eval instant at 0 x\n  expect warn\n  expect no_warn\n", 3),
        ("eval instant at 0 x\n  expect no_info\n  expect info msg: a\n", 3),
        ("eval instant at 0 x\n  expect fail\n  expect fail msg: a\n", 3),
        ("eval_fail instant at 0 x\n  expect fail\n", 2),
        ("eval instant at 0 x\n  expect no_warn msg: a\n", 2),
        ("eval instant at 0 x\n  expect sometimes\n", 2),
        ("eval instant at 0 x\n  expect\n", 2),
        ("eval instant at 0 x\n  expect warn message: a\n", 2),
        ("eval instant at 0 x\n  expect warn msg:\n", 2),
        ("eval instant at 0 x\n  expect string\n", 2),
        ("eval instant at 0 x\n  expect string \"unterminated\n", 2),
        ("eval instant at 0 x\n  expect string 'two'\n", 2),
        (
            "eval instant at 0 x\n  expect string \"a\"\n  expect string \"b\"\n",
            3,
        ),
        (
            "eval instant at 0 x[1m]\n  expect range vector from 1m to 2m\n",
            2,
        ),
        (
            "eval range from 0 to 1m step 1m x\n  expect range vector from 1m to 2m step 1m\n",
            2,
        ),
        ("eval instant at 0 x\n  expected_fail_message boom\n", 2),
    ] {
        let e = error_of(text);
        assert!(matches!(e, ScriptError::InvalidExpect { .. }), "{text:?}: {e:?}");
        assert_eq!(e.line(), line, "{text:?}: {e}");
    }
    let e = error_of("eval instant at 0 x\n  expect warn\n  expect no_warn\n");
    assert_eq!(
        e.to_string(),
        "line 3: invalid expect line: warn and no_warn together"
    );
}

#[test]
fn scalar_result() {
    let eval = only_eval("eval instant at 50m 1 + 2\n  3\n");
    assert_eq!(eval.expected, Expected::Scalar(3.0));
    let eval = only_eval("eval instant at 50m -1\n\t-0x10\n");
    assert_eq!(eval.expected, Expected::Scalar(-16.0));
    let eval = only_eval("eval range from 0 to 1m step 1m 0/0\n  NaN\n");
    assert!(matches!(eval.expected, Expected::Scalar(v) if v.is_nan()));
    // A scalar ends the block, as in Prometheus: what follows is read as commands.
    let e = error_of("eval instant at 0 1\n  1\n  2\n");
    assert!(matches!(e, ScriptError::UnknownCommand { line: 3, .. }), "{e:?}");
    let e = error_of("eval instant at 0 1\n  {} 1\n  2\n");
    assert!(matches!(e, ScriptError::InvalidResult { line: 3, .. }), "{e:?}");
}

#[test]
fn string_result() {
    let cases = [
        ("\"Foo\"", "Foo"),
        ("`Foo`", "Foo"),
        ("\" Foo \"", " Foo "),
        ("\"\"", ""),
        ("\"a\\tb\\\"c\"", "a\tb\"c"),
        ("'x'", "x"),
    ];
    for (lit, want) in cases {
        let eval = only_eval(&format!("eval instant at 50m \"q\"\n   \texpect string {lit}\n"));
        assert_eq!(eval.expected, Expected::String(want.to_owned()), "{lit}");
    }
    let e = error_of("eval instant at 0 \"a\"\n  expect string \"a\"\n  {} 1\n");
    assert!(matches!(e, ScriptError::InvalidResult { line: 1, .. }), "{e:?}");
}

#[test]
fn range_vector_result() {
    let eval = only_eval(concat!(
        "eval instant at 2m some_metric[2m]\n",
        "  expect range vector from 1m to 2m step 60s\n",
        "    some_metric{env=\"1\"} 1 _\n",
        "    some_metric{env=\"3\"} {{count:1}} {{count:2}}\n",
    ));
    let h = |text: &str| Point::Histogram {
        spec: Arc::new(HistogramSpec {
            base: text.to_owned(),
            step: None,
        }),
        index: 0,
    };
    assert_eq!(
        eval.expected,
        Expected::RangeVector {
            range: StepRange {
                start_ms: 60_000,
                end_ms: 120_000,
                step_ms: 60_000,
            },
            series: vec![
                series(
                    3,
                    &[("__name__", "some_metric"), ("env", "1")],
                    vec![Point::Float(1.0), Point::Missing],
                ),
                series(
                    4,
                    &[("__name__", "some_metric"), ("env", "3")],
                    vec![h("{{count:1}}"), h("{{count:2}}")],
                ),
            ],
        }
    );
    assert!(eval.has_histograms());
    // Prometheus evaluates at the end of the expected range, not at the `at` time.
    let eval = only_eval("eval instant at 1m m[1m]\n  expect range vector from 9m10s to 10m step 1m\n");
    assert_eq!(eval.instant_time_ms(), Some(600_000));
    assert!(matches!(&eval.expected, Expected::RangeVector { series, .. } if series.is_empty()));
}

#[test]
fn deprecated_eval_variants() {
    let script = parse(concat!(
        "eval_fail instant at 0 -{job=\"api\"}\n",
        "\n",
        "eval_fail instant at 0 x\n",
        "  expected_fail_message vector cannot contain metrics with the same labelset\n",
        "\n",
        "eval_fail range from 0 to 1m step 1m x\n",
        "  expected_fail_regexp conflicting.*\n",
        "\n",
        "eval_warn instant at 0 x\n",
        "\n",
        "eval_info range from 0 to 1m step 1m x\n",
        "\n",
        "eval_ordered instant at 0 sort(x)\n",
        "  x{a=\"2\"} 1\n",
        "  x{a=\"1\"} 2\n",
    ))
    .unwrap();
    let expects: Vec<(usize, Vec<Expect>)> = script
        .commands
        .iter()
        .map(|c| match c {
            Command::Eval(e) => (e.line, e.expects.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        expects,
        vec![
            (1, vec![Expect::Fail(None)]),
            (
                3,
                vec![Expect::Fail(Some(MessageMatch::Exact(
                    "vector cannot contain metrics with the same labelset".to_owned()
                )))]
            ),
            (
                6,
                vec![Expect::Fail(Some(MessageMatch::Regex(
                    "conflicting.*".to_owned()
                )))]
            ),
            (9, vec![Expect::Warn(None)]),
            (11, vec![Expect::Info(None)]),
            (13, vec![Expect::Ordered]),
        ]
    );
    let Command::Eval(ordered) = &script.commands[5] else {
        panic!("not an eval");
    };
    // Order of expected series is kept as written, for `ordered`.
    let names: Vec<&str> = match &ordered.expected {
        Expected::Series(s) => s.iter().map(|s| s.labels.get("a").unwrap()).collect(),
        other => panic!("{other:?}"),
    };
    assert_eq!(names, ["2", "1"]);
}

#[test]
fn start_timestamps() {
    let load = only_load(concat!(
        "load 1m\n",
        "  c{t=\"a\"}@st _ _ -30s-1mx2 +1m *x1 0\n",
        "  c{t=\"a\"}    _ _ 0+60x2 1 2 3 4\n",
        "  @st -1ms _\n",
        "  d 1 2 3\n",
        "  e@st -1m\n",
        "  e 5\n",
    ));
    assert_eq!(
        load.series[0].start_offsets_ms,
        vec![
            None,
            None,
            Some(-30_000),
            Some(-90_000),
            Some(-150_000),
            Some(60_000),
            Some(60_000),
            Some(60_000),
            Some(0)
        ]
    );
    assert_eq!(load.series[0].points.len(), 9);
    assert_eq!(load.series[0].line, 3);
    // The default sequence cycles over the points of series without their own @st line.
    assert_eq!(load.series[1].start_offsets_ms, vec![Some(-1), None, Some(-1)]);
    assert_eq!(load.series[2].start_offsets_ms, vec![Some(-60_000)]);

    for (text, line) in [
        ("load 1m\n  c@st 0 0\n  c 1\n", 2),
        ("load 1m\n  c@st 0\n  d 1\n", 2),
        ("load 1m\n  c@st 0\n", 2),
        ("load 1m\n  c@st 0\n  c@st 0\n  c 1\n", 2),
        ("load 1m\n  c@st 5\n  c 1\n", 2),
        ("load 1m\n  c@st _x0\n  c\n", 2),
        ("load 1m\n  c@st 1m+1m\n  c 1\n", 2),
        ("load 1m\n  c@stx 1\n", 2),
        ("eval instant at 0 c\n  c@st 1\n", 2),
    ] {
        let e = error_of(text);
        assert_eq!(e.line(), line, "{text:?}: {e}");
    }
}

/// Per-file counts of the commands of one script.
#[derive(Debug, Default)]
struct Counts {
    loads: usize,
    clears: usize,
    evals: usize,
    histogram_evals: usize,
    histogram_loads: usize,
}

impl Counts {
    fn line(&self) -> String {
        format!(
            "load {:3}  clear {:3}  eval {:4}  evals with histogram points {:3}  loads with histograms {:3}",
            self.loads, self.clears, self.evals, self.histogram_evals, self.histogram_loads
        )
    }
}

fn count(script: &Script) -> Counts {
    let mut c = Counts::default();
    for cmd in &script.commands {
        match cmd {
            Command::Load(l) => {
                c.loads += 1;
                c.histogram_loads += usize::from(l.series.iter().any(SeriesSpec::has_histograms));
            }
            Command::Clear { .. } => c.clears += 1,
            Command::Eval(e) => {
                c.evals += 1;
                c.histogram_evals += usize::from(e.has_histograms());
            }
        }
    }
    c
}

/// Parses every `.test` file of the Prometheus suite (`PHAROS_PROMQL_TESTDATA`, or the shared
/// conformance directory next to the workspace).
#[test]
fn parses_the_prometheus_suite() {
    let dir = std::env::var_os("PHAROS_PROMQL_TESTDATA").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/conformance/promql"
            ))
        },
        PathBuf::from,
    );
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!(
            "NOTICE: PromQL test scripts not found at {}; set PHAROS_PROMQL_TESTDATA. Skipping.",
            dir.display()
        );
        return;
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .test files in {}", dir.display());
    let mut failures = Vec::new();
    let mut total = Counts::default();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).unwrap();
        match parse(&text) {
            Ok(script) => {
                let c = count(&script);
                println!("{name:28} {}", c.line());
                total.loads += c.loads;
                total.clears += c.clears;
                total.evals += c.evals;
                total.histogram_evals += c.histogram_evals;
                total.histogram_loads += c.histogram_loads;
            }
            Err(e) => failures.push(format!("{name}:{}: {e}", e.line())),
        }
    }
    println!("{:28} {}", "total", total.line());
    assert!(
        failures.is_empty(),
        "scripts that do not parse:\n{}",
        failures.join("\n")
    );
}
