//! Property tests: no input makes the parser panic, and whatever it accepts prints to text that
//! parses back to the same tree.

#![allow(clippy::unwrap_used)] // tests unwrap freely: a failure is the assertion

mod common;

use common::assert_round_trip;
use proptest::prelude::*;
use proptest::strategy::ValueTree;

/// Tokens and fragments of PromQL, valid and not, to build random token sequences from.
const TOKENS: &[&str] = &[
    "foo",
    "bar",
    "sum",
    "rate",
    "topk",
    "count_values",
    "quantile",
    "label_replace",
    "abs",
    "time",
    "info",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
    "and",
    "or",
    "unless",
    "atan2",
    "start",
    "end",
    "step",
    "range",
    "min",
    "max_of",
    "inf",
    "NaN",
    "fill",
    "anchored",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "::",
    "=",
    "!=",
    "=~",
    "!~",
    "==",
    "<",
    "<=",
    ">",
    ">=",
    "</",
    "+",
    "-",
    "*",
    "/",
    "%",
    "^",
    "@",
    "1",
    "0.5",
    "-2",
    "0x1f",
    "1e3",
    "5m",
    "1h30m",
    "0s",
    "300",
    "\"a\"",
    "'b'",
    "`c`",
    "\"x.y\"",
    "\"\\n\"",
    "\".*\"",
    "\"(\"",
    "a:b",
    "__name__",
    "#c\n",
    "\n",
    "\t",
    "é",
    "\"\\xff\"",
];

fn token_sequence() -> impl Strategy<Value = String> {
    prop::collection::vec((prop::sample::select(TOKENS), prop::bool::ANY), 0..24).prop_map(|toks| {
        let mut s = String::new();
        for (t, space) in toks {
            s.push_str(t);
            if space {
                s.push(' ');
            }
        }
        s
    })
}

/// Characters PromQL gives meaning to, plus a few it does not.
const CHARS: &[char] = &[
    'a', 'b', 'x', 'e', 'm', 's', 'h', 'd', 'w', 'y', '_', ':', '0', '1', '9', '.', ' ', '\n', '(', ')', '{',
    '}', '[', ']', ',', '=', '!', '~', '<', '>', '+', '-', '*', '/', '%', '^', '@', '"', '\'', '`', '\\',
    '#', 'é', '🍭',
];

fn promql_ish_string() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(CHARS), 0..40).prop_map(|c| c.into_iter().collect())
}

fn selector() -> impl Strategy<Value = String> {
    let name = prop::sample::select(vec!["foo", "bar_total", "a:b", "sum", "offset", ""]);
    let matcher = (
        prop::sample::select(vec!["job", "\"x.y\"", "le", "__name__"]),
        prop::sample::select(vec!["=", "!=", "=~", "!~"]),
        prop::sample::select(vec!["\"a\"", "\"\"", "\".+\"", "'b\\n'", "`c|d`"]),
    )
        .prop_map(|(l, op, v)| format!("{l}{op}{v}"));
    (name, prop::collection::vec(matcher, 0..3)).prop_map(|(name, ms)| {
        if ms.is_empty() {
            if name.is_empty() {
                "x".to_string()
            } else {
                name.to_string()
            }
        } else {
            format!("{name}{{{}}}", ms.join(","))
        }
    })
}

/// Mostly well-formed queries, so that the round trip is exercised on many shapes.
fn query() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        selector(),
        selector().prop_map(|s| format!("{s}[5m]")),
        selector().prop_map(|s| format!("{s} offset -1h30m")),
        selector().prop_map(|s| format!("{s}[1m] @ 1700000000.5 offset 10s")),
        prop::sample::select(vec!["1", "-2.5", "0x10", "Inf", "-Inf", "NaN", "1e-9", "5m"])
            .prop_map(String::from),
        Just("\"str\"".to_string()),
        Just("time()".to_string()),
    ];
    leaf.prop_recursive(4, 24, 3, |inner| {
        let op = prop::sample::select(vec![
            "+",
            "-",
            "*",
            "/",
            "%",
            "^",
            "atan2",
            "==",
            "!= bool",
            ">",
            "<=",
            "and",
            "or",
            "unless",
            "* on(job) group_left(le)",
            "/ ignoring(x)",
            "+ on()",
        ]);
        prop_oneof![
            (inner.clone(), op, inner.clone()).prop_map(|(a, op, b)| format!("{a} {op} {b}")),
            inner.clone().prop_map(|a| format!("({a})")),
            inner.clone().prop_map(|a| format!("-{a}")),
            inner.clone().prop_map(|a| format!("sum by (job) ({a})")),
            inner.clone().prop_map(|a| format!("topk(3, {a})")),
            inner.clone().prop_map(|a| format!("count_values(\"v\", {a})")),
            inner.clone().prop_map(|a| format!("rate({a})")),
            inner.clone().prop_map(|a| format!("abs({a})")),
            inner.clone().prop_map(|a| format!("({a})[30m:1m]")),
            inner.prop_map(|a| format!("max_over_time(({a})[1h:] offset 5m)")),
        ]
    })
}

fn check(input: &str) {
    if let Ok(expr) = promql_syntax::parse(input) {
        assert_round_trip(input, &expr);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(s in any::<String>()) {
        check(&s);
    }

    #[test]
    fn promql_characters_never_panic(s in promql_ish_string()) {
        check(&s);
    }

    #[test]
    fn token_sequences_never_panic(s in token_sequence()) {
        check(&s);
    }

    #[test]
    fn generated_queries_round_trip(q in query()) {
        check(&q);
    }
}

#[test]
fn generated_queries_often_parse() {
    // Guards the round-trip property against a generator whose output never parses.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = query();
    let mut ok = 0;
    for _ in 0..200 {
        let q = strategy.new_tree(&mut runner).unwrap().current();
        if promql_syntax::parse(&q).is_ok() {
            ok += 1;
        }
    }
    assert!(ok > 40, "only {ok} of 200 generated queries parse");
}
