//! Parser, checker and printer tests. Expected messages, positions and printed forms are those of
//! Prometheus (its `parse_test.go`, `printer_test.go` and `prettier_test.go`).

use crate::ast::*;
use crate::printer::pretty_with_width;
use crate::{ParseOptions, parse, parse_with, pretty};

fn p(q: &str) -> Expr {
    parse(q).unwrap_or_else(|e| panic!("{q:?}: {e}"))
}

fn err(q: &str) -> String {
    match parse(q) {
        Ok(e) => panic!("{q:?} parsed as {e:?}"),
        Err(e) => e.to_string(),
    }
}

fn vs(e: &Expr) -> &VectorSelector {
    match e {
        Expr::VectorSelector(v) => v,
        Expr::MatrixSelector(m) => &m.selector,
        other => panic!("not a selector: {other:?}"),
    }
}

fn num(e: &Expr) -> f64 {
    match e {
        Expr::Number(n) => n.value,
        other => panic!("not a number: {other:?}"),
    }
}

fn eq(name: &str, value: &str) -> LabelMatcher {
    LabelMatcher {
        name: name.into(),
        op: MatchOp::Equal,
        value: value.into(),
    }
}

#[test]
fn error_messages_and_positions() {
    let long = "9".repeat(309);
    let cases: Vec<(String, String)> = vec![
        ("", "unknown position: parse error: no expression found in input"),
        ("# just a comment\n\n", "1:1: parse error: no expression found in input"),
        ("1+", "1:3: parse error: unexpected end of input"),
        (".", "1:1: parse error: unexpected character: '.'"),
        ("2.5.", r#"1:1: parse error: bad number or duration syntax: "2.5.""#),
        ("100..4", r#"1:1: parse error: bad number or duration syntax: "100..""#),
        ("0deadbeef", r#"1:1: parse error: bad number or duration syntax: "0de""#),
        ("1 /", "1:4: parse error: unexpected end of input"),
        ("*1", "1:1: parse error: unexpected <op:*>"),
        ("(1))", "1:5: parse error: unexpected right parenthesis ')'"),
        ("((1)", "1:5: parse error: unclosed left parenthesis"),
        ("(", "1:2: parse error: unclosed left parenthesis"),
        ("1 and 1", r#"1:1: parse error: set operator "and" not allowed in binary scalar expression"#),
        ("1 == 1", "1:3: parse error: comparisons between scalars must use BOOL modifier"),
        ("1 or 1", r#"1:1: parse error: set operator "or" not allowed in binary scalar expression"#),
        ("1 !~ 1", "1:3: parse error: unexpected character after '!': '~'"),
        ("1 =~ 1", "1:3: parse error: unexpected character after '=': '~'"),
        (
            r#"-"string""#,
            r#"1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "string""#,
        ),
        (
            "-test[5m]",
            r#"1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "range vector""#,
        ),
        ("@@", "1:1: parse error: unexpected <op:@>"),
        (
            "1 offset 1d",
            "1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector \
             or a subquery",
        ),
        ("foo offset 1s offset 2s", "1:1: parse error: offset may not be set multiple times"),
        ("a - on(b) ignoring(c) d", "1:11: parse error: unexpected <ignoring>"),
        ("foo and 1", r#"1:1: parse error: set operator "and" not allowed in binary scalar expression"#),
        ("1 or on(bar) foo", "1:1: parse error: vector matching only allowed between instant vectors"),
        ("foo == on(bar) 10", "1:1: parse error: vector matching only allowed between instant vectors"),
        ("foo + group_left(baz) bar", "1:7: parse error: unexpected <group_left>"),
        ("foo and on(bar) group_left(baz) bar", r#"1:1: parse error: no grouping allowed for "and" operation"#),
        ("foo unless on(bar) group_right(baz) bar", r#"1:1: parse error: no grouping allowed for "unless" operation"#),
        (
            r#"http_requests{group="production"} + on(instance) group_left(job,instance) cpu_count{type="smp"}"#,
            r#"1:35: parse error: label "instance" must not occur in ON and GROUP clause at once"#,
        ),
        ("foo + bool bar", "1:5: parse error: bool modifier can only be used on comparison operators"),
        ("foo and bool 10", "1:5: parse error: bool modifier can only be used on comparison operators"),
        ("foo @ +Inf", "1:1: parse error: timestamp out of bounds for @ modifier: +Inf"),
        ("foo @ -Inf", "1:1: parse error: timestamp out of bounds for @ modifier: -Inf"),
        ("foo @ NaN", "1:1: parse error: timestamp out of bounds for @ modifier: NaN"),
        (
            "foo @ 9223372036854775808.000000",
            "1:1: parse error: timestamp out of bounds for @ modifier: 9223372036854775808.000000",
        ),
        ("{", "1:2: parse error: unexpected end of input inside braces"),
        ("}", "1:1: parse error: unexpected character: '}'"),
        ("some{", "1:6: parse error: unexpected end of input inside braces"),
        ("some}", "1:5: parse error: unexpected character: '}'"),
        ("some_metric{a=b}", r#"1:15: parse error: unexpected identifier "b" in label matching, expected string"#),
        ("some_metric{a:b=\"b\"}", "1:14: parse error: unexpected character inside braces: ':'"),
        ("foo{a*\"b\"}", "1:6: parse error: unexpected character inside braces: '*'"),
        ("foo{a>=\"b\"}", "1:6: parse error: unexpected character inside braces: '>'"),
        (
            "foo{gibberish}",
            r#"1:14: parse error: unexpected "}" in label matching, expected label matching operator"#,
        ),
        ("foo{1}", "1:5: parse error: unexpected character inside braces: '1'"),
        ("{}", "1:1: parse error: vector selector must contain at least one non-empty matcher"),
        (r#"{x=""}"#, "1:1: parse error: vector selector must contain at least one non-empty matcher"),
        (r#"{x=~".*"}"#, "1:1: parse error: vector selector must contain at least one non-empty matcher"),
        (r#"{x!~".+"}"#, "1:1: parse error: vector selector must contain at least one non-empty matcher"),
        (r#"{x!="a"}"#, "1:1: parse error: vector selector must contain at least one non-empty matcher"),
        (r#"foo{__name__="bar"}"#, r#"1:1: parse error: metric name must not be set twice: "foo" or "bar""#),
        (r#"foo{"bar"}"#, r#"1:1: parse error: metric name must not be set twice: "foo" or "bar""#),
        ("foo{__name__= =}", r#"1:15: parse error: unexpected "=" in label matching, expected string"#),
        ("foo{,}", r#"1:5: parse error: unexpected "," in label matching, expected identifier or "}""#),
        (r#"foo{__name__ == "bar"}"#, r#"1:15: parse error: unexpected "=" in label matching, expected string"#),
        (
            r#"foo{__name__="bar" lol}"#,
            r#"1:20: parse error: unexpected identifier "lol" in label matching, expected "," or "}""#,
        ),
        (r#"foo{"a"=}"#, r#"1:9: parse error: unexpected "}" in label matching, expected string"#),
        (
            r#"foo{a=~"x("}"#,
            "1:5: parse error: error parsing regexp: unclosed group: `^(?s:x()$`",
        ),
        ("foo[5mm]", r#"1:5: parse error: bad number or duration syntax: "5mm""#),
        ("foo[5m1]", r#"1:5: parse error: bad number or duration syntax: "5m1""#),
        ("foo[5m:1m1]", r#"1:8: parse error: bad number or duration syntax: "1m1""#),
        ("foo[5y1hs]", r#"1:5: parse error: unknown unit "hs" in duration "5y1hs""#),
        ("foo[5m1h]", r#"1:5: parse error: not a valid duration string: "5m1h""#),
        ("foo[5m1m]", r#"1:5: parse error: not a valid duration string: "5m1m""#),
        ("foo[1.5h]", r#"1:5: parse error: unknown unit "." in duration "1.5h""#),
        ("foo[0m]", "1:5: parse error: duration must be greater than 0"),
        ("foo[\"5m\"]", "1:5: parse error: unexpected character in duration expression: '\"'"),
        (
            "foo[]",
            r#"1:5: parse error: unexpected "]" in subquery or range selector, expected number, duration, step(), or range()"#,
        ),
        ("foo[-1]", "1:5: parse error: duration must be greater than 0"),
        ("foo[5m 1m]", r#"1:8: parse error: unexpected duration "1m" in subquery or range, expected ":" or "]""#),
        ("some_metric[5m] OFFSET 1mm", r#"1:24: parse error: bad number or duration syntax: "1mm""#),
        (
            "some_metric[5m] OFFSET",
            "1:23: parse error: unexpected end of input in offset, expected number, duration, step(), or range()",
        ),
        ("some_metric OFFSET 1m[5m]", "1:22: parse error: no offset modifiers allowed before range"),
        ("some_metric[5m] @", "1:18: parse error: unexpected end of input in @, expected timestamp"),
        ("foo @ start", "1:12: parse error: unexpected end of input in @, expected timestamp"),
        ("some_metric @ 1234 [5m]", "1:20: parse error: no @ modifiers allowed before range"),
        ("some_metric @ start() [5m]", "1:23: parse error: no @ modifiers allowed before range"),
        ("some_metric @ end()[5m]", "1:20: parse error: no @ modifiers allowed before range"),
        ("foo @ 1 @ 2", "1:1: parse error: @ <timestamp> may not be set multiple times"),
        ("(foo + bar)[5m]", "1:12: parse error: ranges only allowed for vector selectors"),
        ("sum by (\"foo)(some_metric{})", "1:9: parse error: unterminated quoted string"),
        ("sum without(==)(some_metric)", "1:13: parse error: unexpected <op:==> in grouping opts, expected label"),
        ("sum without(,)(some_metric)", r#"1:13: parse error: unexpected "," in grouping opts, expected label"#),
        ("sum without(foo,,)(some_metric)", r#"1:17: parse error: unexpected "," in grouping opts, expected label"#),
        (
            "sum by (a b) (x)",
            r#"1:11: parse error: unexpected identifier "b" in grouping opts, expected "," or ")""#,
        ),
        ("sum by (\"\") (x)", r#"1:9: parse error: invalid label name for grouping: """#),
        ("sum some_metric by (test)", r#"1:5: parse error: unexpected identifier "some_metric""#),
        (
            "sum (some_metric) by test",
            r#"1:22: parse error: unexpected identifier "test" in grouping opts, expected "(""#,
        ),
        ("sum () by (test)", "1:1: parse error: no arguments for aggregate expression provided"),
        ("MIN keep_common (some_metric)", r#"1:5: parse error: unexpected identifier "keep_common""#),
        ("MIN (some_metric) keep_common", r#"1:19: parse error: unexpected identifier "keep_common""#),
        ("sum (some_metric) without (test) by (test)", "1:34: parse error: unexpected <by>"),
        ("sum(foo bar)", r#"1:9: parse error: unexpected identifier "bar" in aggregation"#),
        ("sum by (a) foo", r#"1:12: parse error: unexpected identifier "foo" in aggregation"#),
        (
            "topk(some_metric)",
            "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1",
        ),
        ("topk(some_metric,)", "1:17: parse error: trailing commas not allowed in function call args"),
        (
            "topk(some_metric, other_metric)",
            "1:6: parse error: expected type scalar in aggregation parameter, got instant vector",
        ),
        ("count_values(5, other_metric)", "1:14: parse error: expected type string in aggregation parameter, got scalar"),
        ("sum(foo[5m])", "1:5: parse error: expected type instant vector in aggregation expression, got range vector"),
        (
            "rate(some_metric[5m]) @ 1234",
            "1:1: parse error: @ modifier must be preceded by an instant vector selector or range vector selector or \
             a subquery",
        ),
        ("floor()", r#"1:1: parse error: expected 1 argument(s) in call to "floor", got 0"#),
        ("floor(some_metric, other_metric)", r#"1:1: parse error: expected 1 argument(s) in call to "floor", got 2"#),
        ("floor(1)", r#"1:7: parse error: expected type instant vector in call to function "floor", got scalar"#),
        (
            "hour(some_metric, some_metric, some_metric)",
            r#"1:1: parse error: expected at most 1 argument(s) in call to "hour", got 3"#,
        ),
        ("round()", r#"1:1: parse error: expected at least 1 argument(s) in call to "round", got 0"#),
        ("time(some_metric)", r#"1:1: parse error: expected 0 argument(s) in call to "time", got 1"#),
        (
            "non_existent_function_far_bar()",
            r#"1:1: parse error: unknown function with name "non_existent_function_far_bar""#,
        ),
        (
            "rate(some_metric)",
            r#"1:6: parse error: expected type range vector in call to function "rate", got instant vector"#,
        ),
        ("rate(foo[5m],)", "1:13: parse error: trailing commas not allowed in function call args"),
        (
            r#"label_join(x, "a", "b", 1)"#,
            r#"1:25: parse error: expected type string in call to function "label_join", got scalar"#,
        ),
        ("-=", r#"1:2: parse error: unexpected "=""#),
        ("++-++-+-+-<", "1:11: parse error: unexpected <op:<>"),
        ("e-+=/(0)", r#"1:4: parse error: unexpected "=""#),
        ("a>b()", r#"1:3: parse error: unknown function with name "b""#),
        ("rate(avg)", r#"1:6: parse error: expected type range vector in call to function "rate", got instant vector"#),
        ("foo bar", r#"1:5: parse error: unexpected identifier "bar""#),
        ("foo \"a long string value\"", r#"1:5: parse error: unexpected string "\"a long st"..."#),
        ("`\\``", "1:4: parse error: unterminated raw string"),
        ("\"\\", "1:1: parse error: escape sequence not terminated"),
        ("\"\\c\"", "1:1: parse error: unknown escape sequence U+0063 'c'"),
        ("\"\\x.\"", "1:1: parse error: illegal character U+002E '.' in escape sequence"),
        ("'\\\"'", "1:1: parse error: unknown escape sequence U+0022 '\"'"),
        ("\"a\nb\"", "1:1: parse error: unterminated quoted string"),
        (r#"count_values("a\xc5z", x)"#, "1:14: parse error: string literal is not valid UTF-8"),
        ("foo{bar=\"baz\"}[", "1:16: parse error: unexpected end of input in duration expression"),
        ("foo[5m", "1:7: parse error: unclosed left bracket"),
        ("foo[5m:1m:1m]", "1:10: parse error: unexpected colon ':'"),
        ("test[5d] OFFSET 10s [10m:5s]", "1:1: parse error: subquery is only allowed on instant vector, got matrix instead"),
        (
            r#"(foo + bar{nm="val"})[5m:][10m:5s]"#,
            "1:1: parse error: subquery is only allowed on instant vector, got matrix instead",
        ),
        ("rate(food[1m])[1h] offset 1h", "1:15: parse error: ranges only allowed for vector selectors"),
        ("rate(food[1m])[1h] @ 100", "1:15: parse error: ranges only allowed for vector selectors"),
        ("foo[5m:1m 1m]", r#"1:11: parse error: unexpected duration "1m" in subquery selector, expected "]""#),
        (
            r#"info(rate(http_request_counter_total{}[5m]), target_info{foo="bar"})"#,
            "1:46: parse error: expected label selectors only, got vector selector instead",
        ),
        (
            r#"info(http_request_counter_total{namespace="zzz"}, {foo="bar"} == 1)"#,
            "1:51: parse error: expected label selectors only",
        ),
        (
            "foo[step]",
            r#"1:9: parse error: unexpected "]" in subquery or range selector, expected number, duration, step(), or range()"#,
        ),
        ("foo[5s/0d]", "1:7: parse error: division by zero"),
        ("foo offset (4d/0)", "1:15: parse error: division by zero"),
        ("foo[5s%0d]", "1:7: parse error: modulo by zero"),
        ("foo offset 9.5e10", "1:12: parse error: duration out of range"),
        ("foo offset -9.5e10", "1:12: parse error: duration out of range"),
        ("foo[9.5e10]", "1:5: parse error: duration out of range"),
        ("foo[5m-10m]", "1:5: parse error: duration must be greater than 0"),
        ("sum(", "1:5: parse error: unclosed left parenthesis"),
        ("sum(rate(", "1:10: parse error: unclosed left parenthesis"),
        ("foo[5s x 5s]", "1:8: parse error: unexpected character: 'x', expected ':'"),
        ("foo[5s s 5s]", "1:8: parse error: unexpected character: 's', expected ':'"),
        ("1[5m] smoothed", "1:2: parse error: ranges only allowed for vector selectors"),
        ("foo[5m] anchored", "1:9: parse error: the anchored modifier is not supported"),
        ("foo[step()]", "1:5: parse error: step() in durations is not supported: only constant durations are"),
        ("foo offset range()", "1:12: parse error: range() in durations is not supported: only constant durations are"),
        ("a + fill(0) b", "1:5: parse error: binop fill modifiers are not supported"),
        ("a </ 2", "1:3: parse error: the histogram trim operators </ and >/ are not supported"),
        ("a[5m::1m]", r#"1:5: parse error: aligned subqueries ("::") are not supported"#),
        ("foo\n  + bar baz", "2:9: parse error: unexpected identifier \"baz\""),
        ("{\"é\"=\"x\"} + é", "1:14: parse error: unexpected character: 'é'"),
    ]
    .into_iter()
    .map(|(q, e)| (q.to_string(), e.to_string()))
    .chain([(
        long.clone(),
        format!(r#"1:1: parse error: error parsing number: strconv.ParseFloat: parsing "{long}": value out of range"#),
    )])
    .collect();
    for (query, want) in &cases {
        assert_eq!(&err(query), want, "query {query:?}");
    }
}

#[test]
fn error_positions_are_byte_ranges() {
    let e = parse("foo{a=\"b\"} + on(x) group_left(x) bar").unwrap_err();
    assert_eq!(e.pos, Pos::new(11, 32));
    assert_eq!(e.line_col(), (1, 12));
    let e = parse("sum(\nfoo[5m]\n)").unwrap_err();
    assert_eq!((e.pos, e.line_col()), (Pos::new(5, 12), (2, 1)));
    assert_eq!(e.query, "sum(\nfoo[5m]\n)");
}

#[test]
fn numbers() {
    for (q, v, pos) in [
        ("1", 1.0, (0, 1)),
        ("+Inf", f64::INFINITY, (0, 4)),
        ("-Inf", f64::NEG_INFINITY, (0, 4)),
        (".5", 0.5, (0, 2)),
        ("5.", 5.0, (0, 2)),
        ("123.4567", 123.4567, (0, 8)),
        ("5e-3", 0.005, (0, 4)),
        ("5e3", 5000.0, (0, 3)),
        ("0xc", 12.0, (0, 3)),
        ("0755", 493.0, (0, 4)),
        ("+5.5e-3", 0.0055, (0, 7)),
        ("-0755", -493.0, (0, 5)),
        ("1_000", 1000.0, (0, 5)),
        ("5m", 300.0, (0, 2)),
        ("- - 1", 1.0, (0, 5)),
    ] {
        let e = p(q);
        assert_eq!(num(&e), v, "{q}");
        assert_eq!(e.pos(), Pos::new(pos.0, pos.1), "{q}");
    }
    assert!(num(&p("NaN")).is_nan());
    assert!(num(&p("nan")).is_nan());
}

#[test]
fn unary_and_precedence() {
    // -1^2 is -(1^2); -1*2 is (-1)*2.
    match p("-1^2") {
        Expr::Unary(u) => {
            assert_eq!(u.op, UnaryOp::Neg);
            assert_eq!(u.pos, Pos::new(0, 4));
            assert!(matches!(&*u.expr, Expr::Binary(b) if b.op == BinaryOp::Pow));
        }
        other => panic!("{other:?}"),
    }
    match p("-1*2") {
        Expr::Binary(b) => {
            assert_eq!(b.op, BinaryOp::Mul);
            assert_eq!(num(&b.lhs), -1.0);
            assert_eq!(b.lhs.pos(), Pos::new(0, 2));
        }
        other => panic!("{other:?}"),
    }
    match p("-1^-2") {
        Expr::Unary(u) => match &*u.expr {
            Expr::Binary(b) => {
                assert_eq!(num(&b.rhs), -2.0);
                assert_eq!(b.rhs.pos(), Pos::new(3, 5));
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    // ^ is right-associative, the others left-associative.
    assert_eq!(p("2 ^ 3 ^ 2").to_string(), "2 ^ 3 ^ 2");
    match p("2 ^ 3 ^ 2") {
        Expr::Binary(b) => assert!(matches!(&*b.rhs, Expr::Binary(_))),
        other => panic!("{other:?}"),
    }
    match p("1 - 2 - 3") {
        Expr::Binary(b) => assert!(matches!(&*b.lhs, Expr::Binary(_))),
        other => panic!("{other:?}"),
    }
    // or < and/unless < comparisons < + - < * / % atan2 < ^
    let shape = |q: &str| format!("{:?}", tree_ops(&p(q)));
    assert_eq!(shape("a or b and c"), "(or a (and b c))");
    assert_eq!(shape("a unless b > c"), "(unless a (> b c))");
    assert_eq!(shape("a > b + c"), "(> a (+ b c))");
    assert_eq!(shape("a + b atan2 c"), "(+ a (atan2 b c))");
    assert_eq!(shape("a * b ^ c"), "(* a (^ b c))");
    assert_eq!(shape("a and b unless c"), "(unless (and a b) c)");
    assert_eq!(shape("-a * b"), "(* (- a) b)");
    assert_eq!(shape("-a ^ b"), "(- (^ a b))");
    assert_eq!(shape("a + b offset 5m"), "(+ a b)");
    assert_eq!(shape("1 < bool 2 - 1 * 2"), "(< 1 (- 2 (* 1 2)))");
}

/// The operator structure of an expression, in prefix form.
#[derive(PartialEq)]
enum Shape {
    Leaf(String),
    Node(String, Vec<Shape>),
}

impl std::fmt::Debug for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Shape::Leaf(s) => f.write_str(s),
            Shape::Node(op, kids) => {
                write!(f, "({op}")?;
                for k in kids {
                    write!(f, " {k:?}")?;
                }
                f.write_str(")")
            }
        }
    }
}

fn tree_ops(e: &Expr) -> Shape {
    match e {
        Expr::Binary(b) => Shape::Node(b.op.as_str().into(), vec![tree_ops(&b.lhs), tree_ops(&b.rhs)]),
        Expr::Unary(u) => Shape::Node(
            if u.op == UnaryOp::Neg { "-" } else { "+" }.into(),
            vec![tree_ops(&u.expr)],
        ),
        Expr::VectorSelector(v) => Shape::Leaf(v.name.clone().unwrap_or_default()),
        other => Shape::Leaf(other.to_string()),
    }
}

#[test]
fn selectors() {
    let e = p(r#"foo{a="b", foo!="bar", test=~"test", bar!~"baz"}"#);
    let v = vs(&e);
    assert_eq!(v.name.as_deref(), Some("foo"));
    assert_eq!(v.pos, Pos::new(0, 48));
    assert_eq!(v.matchers.len(), 5);
    assert_eq!(v.matchers.last(), Some(&eq("__name__", "foo")));
    assert!(v.matchers.contains(&LabelMatcher {
        name: "test".into(),
        op: MatchOp::Regex,
        value: "test".into()
    }));

    // A metric name inside the braces leaves `name` unset, as in Prometheus.
    let e = p(r#"{"foo", a="bc"}"#);
    assert_eq!(vs(&e).name, None);
    assert_eq!(vs(&e).matchers, vec![eq("__name__", "foo"), eq("a", "bc")]);
    let e = p(r#"{'foo\'bar', 'a\\dos\\path'='boo\\urns'}"#);
    // Matchers are kept in the order they print in: sorted, quoted names first.
    assert_eq!(
        vs(&e).matchers,
        vec![eq(r"a\dos\path", r"boo\urns"), eq("__name__", "foo'bar")]
    );
    let e = p(r#"{"my.metric", "label.name"="x"}"#);
    assert_eq!(
        vs(&e).matchers,
        vec![eq("label.name", "x"), eq("__name__", "my.metric")]
    );

    // Keywords are metric names where a metric name can stand, and label names inside braces.
    for name in [
        "min", "sum", "by", "without", "offset", "start", "end", "step", "range", "and", "anchored",
        "foo:bar",
    ] {
        assert_eq!(vs(&p(name)).name.as_deref(), Some(name), "{name}");
    }
    assert_eq!(
        vs(&p(r#"offset{step="1s"}[5m]"#)).matchers,
        vec![eq("step", "1s"), eq("__name__", "offset")]
    );
    assert_eq!(vs(&p(r#"foo{NaN='bc', sum="x"}"#)).matchers[0], eq("NaN", "bc"));
    assert_eq!(vs(&p(r#"foo{bar='}'}"#)).matchers[0], eq("bar", "}"));
    match p("sum(sum)") {
        Expr::Aggregate(a) => assert_eq!(vs(&a.expr).name.as_deref(), Some("sum")),
        other => panic!("{other:?}"),
    }

    // __name__ may repeat inside braces; regexes that cannot match "" make a selector non-empty.
    p(r#"{__name__=~"bar", __name__!~"baz"}"#);
    p(r#"{__name__="bar", __name__="baz"}"#);
    p(r#"{x=~".+"}"#);
    p(r#"{x!~""}"#);
    p(r#"{x!=""}"#);
    p(r#"{x=~"a|b"}"#);
    assert!(parse(r#"{x=~"a*|b"}"#).is_err());
}

#[test]
fn modifiers() {
    let v = |q: &str| vs(&p(q)).clone();
    assert_eq!(v("foo offset 5m").offset, 300_000);
    assert_eq!(v("foo offset 5m").pos, Pos::new(0, 13));
    assert_eq!(v("foo offset -7m").offset, -420_000);
    assert_eq!(v("foo OFFSET 1h30m").offset, 5_400_000);
    assert_eq!(v("foo OFFSET 1m30ms").offset, 60_030);
    assert_eq!(v("foo offset 3600").offset, 3_600_000);
    assert_eq!(v("foo @ 1603774568").at, Some(At::Timestamp(1_603_774_568_000)));
    assert_eq!(v("foo @ -100").at, Some(At::Timestamp(-100_000)));
    assert_eq!(v("foo @ .3").at, Some(At::Timestamp(300)));
    assert_eq!(v("foo @ 3.").at, Some(At::Timestamp(3000)));
    assert_eq!(v("foo @ 3.3333").at, Some(At::Timestamp(3333)));
    assert_eq!(v("foo @ 3.3335").at, Some(At::Timestamp(3334)));
    assert_eq!(v("foo @ 3e2").at, Some(At::Timestamp(300_000)));
    assert_eq!(v("foo @ 0xA").at, Some(At::Timestamp(10_000)));
    assert_eq!(v("foo @ -3.3e1").at, Some(At::Timestamp(-33_000)));
    assert_eq!(v("foo @ 1m").at, Some(At::Timestamp(60_000)));
    assert_eq!(v("foo @ start()").at, Some(At::Start));
    assert_eq!(v("foo @ END()").at, Some(At::End));
    assert_eq!(v("foo @ start()").pos, Pos::new(0, 13));
    // offset 0 counts as unset, as in Prometheus.
    assert_eq!(v("foo offset 0 offset 1m").offset, 60_000);
    // Both orders.
    assert_eq!(v("foo @ 123 offset 1m"), v("foo offset 1m @ 123"));

    let m = match p("foo[4.018] @ 2.345 offset 1m") {
        Expr::MatrixSelector(m) => m,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        (m.range, m.selector.at, m.selector.offset),
        (4018, Some(At::Timestamp(2345)), 60_000)
    );
    assert_eq!(m.pos, Pos::new(0, 28));
    assert_eq!(m.selector.pos, Pos::new(0, 3));

    let s = match p("some_metric[10m:5s] offset 1m @ 123") {
        Expr::Subquery(s) => s,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        (s.range, s.step, s.offset, s.at),
        (600_000, Some(5000), 60_000, Some(At::Timestamp(123_000)))
    );
    assert_eq!(s.pos, Pos::new(0, 35));
    let s = match p("some_metric @ 123 offset 1m [10m:5s]") {
        Expr::Subquery(s) => s,
        other => panic!("{other:?}"),
    };
    assert_eq!((s.offset, s.at), (0, None));
    assert_eq!(vs(&s.expr).offset, 60_000);
    assert_eq!(vs(&s.expr).pos, Pos::new(0, 27));
    match p("foo[10m:]") {
        Expr::Subquery(s) => assert_eq!((s.range, s.step, s.pos), (600_000, None, Pos::new(0, 9))),
        other => panic!("{other:?}"),
    }
}

#[test]
fn durations() {
    let range = |q: &str| match p(q) {
        Expr::MatrixSelector(m) => m.range,
        Expr::Subquery(s) => s.range,
        Expr::Call(c) => match &c.args[0] {
            Expr::MatrixSelector(m) => m.range,
            Expr::Subquery(s) => s.range,
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    for (q, ms) in [
        ("foo[1000ms]", 1000),
        ("foo[5m30s]", 330_000),
        ("foo[5d]", 5 * 86_400_000),
        ("foo[5w]", 35 * 86_400_000),
        ("foo[5y]", 5 * 365 * 86_400_000),
        ("foo[5]", 5000),
        ("foo[4.18]", 4180),
        ("foo[1800]", 1_800_000),
        ("foo[26m+4m]", 1_800_000),
        ("foo[60*30]", 1_800_000),
        ("foo[2m*(10+5)]", 1_800_000),
        ("foo[24m+((1.5*2m)+2m)]", 1_740_000),
        ("foo[-5m+35m]", 1_800_000),
        ("foo[1h/2]", 1_800_000),
        ("foo[1h30m % 1h]", 1_800_000),
        ("foo[30m1s-30m1s % 1m]", 1_800_000),
        ("foo[(9m30s+30s)*3]", 1_800_000),
        ("foo[11s+10s-5*2^2]", 1000),
        ("foo[-(10s-5s)+20s]", 15_000),
        ("foo[(5s)]", 5000),
        ("foo[min(5s, 1m)]", 5000),
        ("foo[max_of(5s, 1m)]", 60_000),
        ("rate(foo[2m+2m])", 240_000),
        (
            "sum_over_time(foo[29s+1s:((((8 - 2) / 3) * 7s) % 4) + 8000ms])",
            30_000,
        ),
    ] {
        assert_eq!(range(q), ms, "{q}");
    }
    let offset = |q: &str| match p(q) {
        Expr::VectorSelector(v) => v.offset,
        Expr::Subquery(s) => s.offset,
        other => panic!("{other:?}"),
    };
    for (q, ms) in [
        ("foo offset (100 + 2)", 102_000),
        ("foo offset (2 ^ 2)", 4000),
        ("foo offset (-2 * 2)", -4000),
        ("foo offset (-2 ^ 2)", -4000),
        ("foo offset -(1^2)", -1000),
        ("foo offset +(5)", 5000),
        ("foo offset -(5)", -5000),
        ("foo offset (5)", 5000),
        ("foo offset (1m) + 1m", 120_000),
        ("foo offset - -5m + 1m", 360_000),
        ("foo offset min(1m, 2m)", 60_000),
        ("foo offset -max_of(1m, 2m)", -120_000),
        ("foo[4s+4s:1s*2] offset (5s-8)", -3000),
        (
            "foo[29s+1s:20*500ms] offset -(20*(((((8 - 2) / 3) * 7s) % 4) + 8000ms))",
            -200_000,
        ),
    ] {
        assert_eq!(offset(q), ms, "{q}");
    }
    // After `offset`, a bare literal ends the duration: the rest is ordinary arithmetic.
    let shape = |q: &str| format!("{:?}", tree_ops(&p(q)));
    assert_eq!(shape("foo offset 100 + 2"), "(+ foo 2)");
    assert_eq!(shape("foo offset 5s-8"), "(- foo 8)");
    assert_eq!(shape("foo offset -2 ^ 2"), "(^ foo 2)");
    assert_eq!(shape("foo offset -2 * 2"), "(* foo 2)");
    assert_eq!(shape("foo offset min(1m, 2m) + 1"), "(+ foo 1)");
    match p("foo offset -1^1") {
        Expr::Binary(b) => assert_eq!((vs(&b.lhs).offset, vs(&b.lhs).pos), (-1000, Pos::new(0, 13))),
        other => panic!("{other:?}"),
    }
    // Scalars are durations in seconds wherever a duration is expected.
    assert_eq!(vs(&p("foo offset 1.5")).offset, 1500);
}

#[test]
fn aggregations_and_calls() {
    let a = match p("sum by (foo)(some_metric)") {
        Expr::Aggregate(a) => a,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        (a.op, a.grouping.clone(), a.without, a.pos),
        (AggregateOp::Sum, vec!["foo".into()], false, Pos::new(0, 25))
    );
    assert_eq!(a.expr.pos(), Pos::new(13, 24));
    let a = match p("sum (some_metric) without (foo)") {
        Expr::Aggregate(a) => a,
        other => panic!("{other:?}"),
    };
    assert_eq!((a.without, a.pos), (true, Pos::new(0, 31)));
    let a = match p("sum without(and, by, avg, count, alert, annotations, SUM, a:b)(some_metric)") {
        Expr::Aggregate(a) => a,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        a.grouping,
        ["and", "by", "avg", "count", "alert", "annotations", "SUM", "a:b"]
    );
    match p(r#"sum by ("foo bar", 'baz',)({"some.metric"})"#) {
        Expr::Aggregate(a) => assert_eq!(a.grouping, ["foo bar", "baz"]),
        other => panic!("{other:?}"),
    }
    match p("topk(5, some_metric)") {
        Expr::Aggregate(a) => {
            assert_eq!(num(a.param.as_deref().unwrap()), 5.0);
            assert_eq!(a.pos, Pos::new(0, 20));
        }
        other => panic!("{other:?}"),
    }
    match p(r#"count_values("value", some_metric)"#) {
        Expr::Aggregate(a) => {
            assert!(matches!(a.param.as_deref(), Some(Expr::String(s)) if s.value == "value"))
        }
        other => panic!("{other:?}"),
    }
    match p("(sum(foo) by (bar))") {
        Expr::Paren(par) => assert_eq!((par.pos, par.expr.pos()), (Pos::new(0, 19), Pos::new(1, 18))),
        other => panic!("{other:?}"),
    }
    for q in [
        "quantile(0.9, x)",
        "bottomk(1, x)",
        "limitk(1, x)",
        "limit_ratio(0.5, x)",
        "group(x)",
        "stddev(x)",
    ] {
        p(q);
    }

    let c = match p("round(some_metric, 5)") {
        Expr::Call(c) => c,
        other => panic!("{other:?}"),
    };
    assert_eq!((c.func.name, c.args.len(), c.pos), ("round", 2, Pos::new(0, 21)));
    p("time()");
    p("label_join(x, \"dst\", \",\", \"a\", \"b\", \"c\")");
    p(r#"label_replace(up{job="api-server",service="a:c"}, "foo", "$1", "service", "(.*):.*")"#);
    p("histogram_quantile(0.9, rate(foo[1m]))");
    p("min_over_time(rate(foo{bar=\"baz\"}[2s])[5m:] offset 4m)[4m:3s]");
    p(r#"info(http_request_counter_total{namespace="zzz"}, {foo="bar", bar="baz"})"#);
    p("info(rate(http_request_counter_total{}[5m]))");
    p("start() + end() - step() * range()");
    p("vector(1) and on() vector(2)");
}

#[test]
fn vector_matching() {
    let b = |q: &str| match p(q) {
        Expr::Binary(b) => b,
        other => panic!("{other:?}"),
    };
    let m = |card, labels: &[&str], on, include: &[&str]| VectorMatching {
        card,
        labels: labels.iter().map(|s| s.to_string()).collect(),
        on,
        include: include.iter().map(|s| s.to_string()).collect(),
    };
    assert_eq!(
        b("foo * bar").matching,
        Some(m(Cardinality::OneToOne, &[], false, &[]))
    );
    assert_eq!(
        b("foo and bar").matching,
        Some(m(Cardinality::ManyToMany, &[], false, &[]))
    );
    assert_eq!(b("foo == 1").matching, None);
    assert_eq!(b("2.5 / bar").matching, None);
    assert!(b("foo == bool 1").return_bool);
    assert_eq!(
        b("foo * on(test,blub) bar").matching,
        Some(m(Cardinality::OneToOne, &["test", "blub"], true, &[]))
    );
    assert_eq!(
        b("foo * on(test,blub) group_left bar").matching,
        Some(m(Cardinality::ManyToOne, &["test", "blub"], true, &[]))
    );
    assert_eq!(
        b("foo and on() bar").matching,
        Some(m(Cardinality::ManyToMany, &[], true, &[]))
    );
    assert_eq!(
        b("foo and ignoring() bar").matching,
        Some(m(Cardinality::ManyToMany, &[], false, &[]))
    );
    assert_eq!(
        b("foo / ignoring(test,blub) group_left(blub) bar").matching,
        Some(m(Cardinality::ManyToOne, &["test", "blub"], false, &["blub"]))
    );
    assert_eq!(
        b("foo - on(test,blub) group_right(bar,foo) bar").matching,
        Some(m(
            Cardinality::OneToMany,
            &["test", "blub"],
            true,
            &["bar", "foo"]
        ))
    );
    assert_eq!(
        b(r#"foo - on("a.b") group_right("c d") bar"#).matching,
        Some(m(Cardinality::OneToMany, &["a.b"], true, &["c d"]))
    );
    // `1 + on() foo` is allowed: empty matching labels are dropped with the matching.
    assert_eq!(b("1 + on() foo").matching, None);
    let outer = b("bar + on(foo) bla / on(baz, buz) group_right(test) blub");
    assert_eq!(outer.op, BinaryOp::Add);
    assert_eq!(
        outer.matching,
        Some(m(Cardinality::OneToOne, &["foo"], true, &[]))
    );
}

#[test]
fn strings() {
    let s = |q: &str| match p(q) {
        Expr::String(s) => s.value,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        s(r#""double-quoted string \" with escaped quote""#),
        "double-quoted string \" with escaped quote"
    );
    assert_eq!(
        s(r"'single-quoted string \' with escaped quote'"),
        "single-quoted string ' with escaped quote"
    );
    assert_eq!(s("`backtick-quoted string`"), "backtick-quoted string");
    assert_eq!(
        s(r#""\a\b\f\n\r\t\v\\\" - \u1234\U00010111\U0001011111☺\101\x41""#),
        "\u{7}\u{8}\u{c}\n\r\t\u{b}\\\" - \u{1234}\u{10111}\u{10111}11☺AA"
    );
    assert_eq!(s(r"`\a\b\f\n\r\t\v\\\`"), r"\a\b\f\n\r\t\v\\\");
    assert_eq!(p(r#""x""#).pos(), Pos::new(0, 3));
}

#[test]
fn printing() {
    for (input, output) in [
        (
            r#"sum by() (task:errors:rate10s{job="s"})"#,
            r#"sum(task:errors:rate10s{job="s"})"#,
        ),
        (
            r#"sum by(code) (task:errors:rate10s{job="s"})"#,
            r#"sum by (code) (task:errors:rate10s{job="s"})"#,
        ),
        (
            r#"sum without() (task:errors:rate10s{job="s"})"#,
            r#"sum without () (task:errors:rate10s{job="s"})"#,
        ),
        (
            r#"sum without(instance) (task:errors:rate10s{job="s"})"#,
            r#"sum without (instance) (task:errors:rate10s{job="s"})"#,
        ),
        (r#"sum(x) by (job)"#, r#"sum by (job) (x)"#),
        (r#"topk(5, task:errors:rate10s{job="s"})"#, ""),
        (r#"count_values("value", task:errors:rate10s{job="s"})"#, ""),
        ("a - on() c", "a - on () c"),
        ("a - on(b) c", "a - on (b) c"),
        ("a - on(b) group_left(x) c", "a - on (b) group_left (x) c"),
        ("a - on(b) group_left(x, y) c", "a - on (b) group_left (x, y) c"),
        ("a - on(b) group_left c", "a - on (b) group_left () c"),
        ("a - on(b) group_left() (c)", "a - on (b) group_left () (c)"),
        ("a - ignoring(b) c", "a - ignoring (b) c"),
        ("a - ignoring() c", "a - c"),
        ("up > bool 0", ""),
        ("a offset 1m", ""),
        ("a offset -7m", ""),
        (r#"a{c="d"}[5m] offset 1m"#, ""),
        ("a[5m] offset 1m", ""),
        ("a[12m] offset -3m", ""),
        ("a[1h:5m] offset 1m", ""),
        (r#"{__name__="a"}"#, ""),
        (r#"a{b!="c"}[1m]"#, ""),
        (r#"a{b=~"c"}[1m]"#, ""),
        (r#"a{b!~"c"}[1m]"#, ""),
        ("a @ 10", "a @ 10.000"),
        ("a[1m] @ 10", "a[1m] @ 10.000"),
        ("a @ start()", ""),
        ("a @ end()", ""),
        ("a[1m] @ start()", ""),
        ("a[1m] @ end()", ""),
        ("a offset 5m @ 1.5", "a @ 1.500 offset 5m"),
        ("a[90s]", "a[1m30s]"),
        ("a[7d]", "a[1w]"),
        ("a[90d]", "a[90d]"),
        ("a[3600000ms]", "a[1h]"),
        ("a[1h6ms]", ""),
        ("a[5m+5m]", "a[10m]"),
        ("a[300]", "a[5m]"),
        ("a[5m:]", ""),
        (r#"sum by (job) (rate(foo{a="b"}[5m] offset 1m))"#, ""),
        (
            r#"{b="2", a="1", __name__="x" }"#,
            r#"{__name__="x",a="1",b="2"}"#,
        ),
        (
            r#"{"my.metric", "label.name"="x", a=~"\n"}"#,
            r#"{"label.name"="x",__name__="my.metric",a=~"\n"}"#,
        ),
        (r#"sum by ("foo bar", baz) (x)"#, r#"sum by ("foo bar", baz) (x)"#),
        (
            r#"a + on ("x.y") group_left ("z") b"#,
            r#"a + on ("x.y") group_left (z) b"#,
        ),
        (r#"'it\'s' "#, r#""it's""#),
        (r#"`a\b"c`"#, r#""a\\b\"c""#),
        (r#""\x01\u00e9\u200b""#, r#""\x01é\u200b""#),
        ("1e21", "1000000000000000000000"),
        ("0.0000001", "0.0000001"),
        ("-0x10", "-16"),
        ("+Inf", "+Inf"),
        // `+Inf ^ x` would read back as `+(Inf ^ x)`.
        ("Inf ^ time()", "Inf ^ time()"),
        ("time() ^ Inf", "time() ^ +Inf"),
        ("-inf", "-Inf"),
        ("NaN", "NaN"),
        ("5m", "300"),
        ("-(1)", ""),
        ("- - foo", "--foo"),
        ("-1 ^ 2", ""),
        ("(1 + 2) * 3", ""),
        ("1 - -1", ""),
        ("SUM(foo)", "sum(foo)"),
        ("foo ATAN2 bar", "foo atan2 bar"),
        ("rate(x[5m])[1h:5m] @ end() offset -1d", ""),
        ("time()", ""),
        ("label_join(x, \"a\", \"b\")", ""),
    ] {
        let want = if output.is_empty() { input } else { output };
        assert_eq!(p(input).to_string(), want, "{input}");
    }
}

#[test]
fn pretty_splits_long_lines_like_prometheus() {
    // Prometheus's own prettier tests, which use a 10-character line limit.
    for (input, output) in [
        ("sum(foo)", "sum(foo)"),
        (
            r#"sum by() (task:errors:rate10s{job="s"})"#,
            "sum(\n  task:errors:rate10s{job=\"s\"}\n)",
        ),
        (
            r#"sum without(job,foo) (task:errors:rate10s{job="s"})"#,
            "sum without (job, foo) (\n  task:errors:rate10s{job=\"s\"}\n)",
        ),
        (
            r#"topk(10, ask:errors:rate10s{job="s"})"#,
            "topk(\n  10,\n  ask:errors:rate10s{job=\"s\"}\n)",
        ),
        (
            r#"sum by(job,foo) (sum by(job,foo) (task:errors:rate10s{job="s"}))"#,
            "sum by (job, foo) (\n  sum by (job, foo) (\n    task:errors:rate10s{job=\"s\"}\n  )\n)",
        ),
        ("a+b", "a + b"),
        ("a == bool 1", "  a\n== bool\n  1"),
        ("a + ignoring(job) b", "  a\n+ ignoring (job)\n  b"),
        ("foo_1 + foo_2", "  foo_1\n+\n  foo_2"),
        ("foo_1 + foo_2 + foo_3", "    foo_1\n  +\n    foo_2\n+\n  foo_3"),
        ("foo + baar + foo_3", "  foo + baar\n+\n  foo_3"),
        (
            "foo_1 + ignoring(foo) foo_2 + ignoring(job) group_left foo_3 + on(instance) group_right foo_4",
            "      foo_1\n    + ignoring (foo)\n      foo_2\n  + ignoring (job) group_left ()\n    foo_3\n+ on \
             (instance) group_right ()\n  foo_4",
        ),
        ("rate(foo[1m])", "rate(\n  foo[1m]\n)"),
        (
            "rate(long_vector_selector[10m:1m] @ start() offset 1m)",
            "rate(\n  long_vector_selector[10m:1m] @ start() offset 1m\n)",
        ),
        (
            "histogram_quantile(0.9, rate(foo[1m]))",
            "histogram_quantile(\n  0.9,\n  rate(\n    foo[1m]\n  )\n)",
        ),
        (
            "max_over_time(rate(demo_api_request_duration_seconds_count[1m])[1m:] @ start() offset 1m)",
            "max_over_time(\n  rate(\n    demo_api_request_duration_seconds_count[1m]\n  )[1m:] @ start() offset 1m\n)",
        ),
        ("(foo)", "(foo)"),
        ("(_foo_long_)", "(\n  _foo_long_\n)"),
        ("((foo_long))", "(\n  (foo_long)\n)"),
        ("((_foo_long_))", "(\n  (\n    _foo_long_\n  )\n)"),
        ("a @ 1", "a @ 1.000"),
        ("vector_selector @ start()", "vector_selector @ start()"),
        ("(1 + 2)", "(1 + 2)"),
        ("(foo + bar)", "(\n  foo + bar\n)"),
        ("(foo_long + bar_long)", "(\n    foo_long\n  +\n    bar_long\n)"),
        ("(1111 + 2222)", "(\n    1111\n  +\n    2222\n)"),
        ("-1", "-1"),
        ("-vector_selector", "-vector_selector"),
        ("(-vector_selector)", "(\n  -vector_selector\n)"),
        (
            "-histogram_quantile(0.9,rate(foo[1m]))",
            "-histogram_quantile(\n  0.9,\n  rate(\n    foo[1m]\n  )\n)",
        ),
        (
            "-histogram_quantile(0.99, sum by (le) (rate(foo[1m])))",
            "-histogram_quantile(\n  0.99,\n  sum by (le) (\n    rate(\n      foo[1m]\n    )\n  )\n)",
        ),
        (
            "(node_timex_offset_seconds > 0.05 and deriv(node_timex_offset_seconds[5m]) >= 0) or \
             (node_timex_offset_seconds < -0.05 and deriv(node_timex_offset_seconds[5m]) <= 0)",
            "  (\n        node_timex_offset_seconds\n      >\n        0.05\n    and\n        deriv(\n          \
             node_timex_offset_seconds[5m]\n        )\n      >=\n        0\n  )\nor\n  (\n        \
             node_timex_offset_seconds\n      <\n        -0.05\n    and\n        deriv(\n          \
             node_timex_offset_seconds[5m]\n        )\n      <=\n        0\n  )",
        ),
    ] {
        assert_eq!(pretty_with_width(&p(input), 10), output, "{input}");
    }
}

#[test]
fn pretty_keeps_short_queries_on_one_line() {
    let short = r#"sum by (job) (rate(http_requests_total{job="api"}[5m]))"#;
    assert_eq!(pretty(&p(short)), short);
    let long = r#"sum by (job) (rate(http_requests_total{job="api-server",handler="/api/v1/query"}[5m])) / sum by (job) (rate(http_requests_total[5m]))"#;
    assert_eq!(
        pretty(&p(long)),
        "  sum by (job) (rate(http_requests_total{handler=\"/api/v1/query\",job=\"api-server\"}[5m]))\n/\n  sum \
         by (job) (rate(http_requests_total[5m]))"
    );
}

#[test]
fn options() {
    let strict = ParseOptions::prometheus_defaults();
    let e = parse_with("sort_by_label(x, \"a\")", &strict).unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"1:1: parse error: function "sort_by_label" is not enabled"#
    );
    let e = parse_with("limitk(1, x)", &strict).unwrap_err();
    assert_eq!(
        e.to_string(),
        "1:1: parse error: limitk() is experimental and must be enabled with \
         --enable-feature=promql-experimental-functions"
    );
    let e = parse_with("x[5m+1m]", &strict).unwrap_err();
    assert_eq!(
        e.to_string(),
        "1:3: parse error: experimental duration expression is not enabled"
    );
    let e = parse_with("x offset (1m)", &strict).unwrap_err();
    assert_eq!(
        e.to_string(),
        "1:11: parse error: experimental duration expression is not enabled"
    );
    parse_with("rate(x[5m]) offset -1m", &strict).unwrap_err();
    parse_with("sum(rate(x[5m] offset -1m))", &strict).unwrap();
    parse_with("x[-5m]", &strict).unwrap_err();
    assert_eq!(
        ParseOptions::default(),
        ParseOptions {
            experimental_functions: true,
            duration_expressions: true
        }
    );
}

#[test]
fn deep_nesting_is_refused_not_fatal() {
    for q in [
        format!("{}1{}", "(".repeat(5000), ")".repeat(5000)),
        format!("{}1", "-".repeat(5000)),
        format!("a{}", "^a".repeat(5000)),
        format!("{}a{}", "sum(".repeat(5000), ")".repeat(5000)),
        format!("a{}", " + a".repeat(5000)),
        // Long chains are cut short while being built: dropping them must not overflow either.
        format!("a{} )", " + a".repeat(100_000)),
        format!("({}) + a", "a + ".repeat(100_000)),
        format!("a{}", "[1m:]".repeat(100_000)),
        format!("foo[{}1]", "-".repeat(5000)),
        format!("foo offset {}1", "(".repeat(5000)),
    ] {
        let e = parse(&q).unwrap_err();
        assert!(
            e.msg.contains("too deeply nested") || e.msg.contains("unclosed"),
            "{}",
            e.msg
        );
    }
    // Realistic depths are fine.
    p(&format!("{}1{}", "(".repeat(90), ")".repeat(90)));
    p(&format!("a{}", " or a".repeat(900)));
    p(&format!("{}a{}", "sum(".repeat(90), ")".repeat(90)));
}
