//! `/api/v1/parse_query`: a parsed expression as the JSON tree Prometheus's UI draws (its tree view and
//! "explain" panes read it). Field names, value spellings and defaults follow Prometheus's API: numbers
//! are strings in Go's shortest decimal form, durations and `@` times are milliseconds, and a binary
//! expression between two instant vectors always carries its matching (one-to-one, or many-to-many
//! for set operators) even when none was written.

use promql_syntax::{
    Aggregate, At, Binary, Call, Cardinality, Expr, LabelMatcher, MatrixSelector, Subquery, UnaryOp,
    ValueType, VectorMatching, VectorSelector,
};
use serde_json::{Value, json};

/// The JSON tree of `e`.
pub fn to_json(e: &Expr) -> Value {
    match e {
        Expr::Number(n) => json!({"type": "numberLiteral", "val": go_float(n.value)}),
        Expr::String(s) => json!({"type": "stringLiteral", "val": s.value}),
        Expr::VectorSelector(vs) => vector_selector(vs),
        Expr::MatrixSelector(ms) => matrix_selector(ms),
        Expr::Subquery(sq) => subquery(sq),
        Expr::Paren(p) => json!({"type": "parenExpr", "expr": to_json(&p.expr)}),
        Expr::Unary(u) => json!({
            "type": "unaryExpr",
            "op": match u.op {
                UnaryOp::Neg => "-",
                UnaryOp::Pos => "+",
            },
            "expr": to_json(&u.expr),
        }),
        Expr::Binary(b) => binary(b),
        Expr::Aggregate(a) => aggregate(a),
        Expr::Call(c) => call(c),
    }
}

/// Go's `strconv.FormatFloat(v, 'f', -1, 64)`: the shortest digits that read back as `v`, never in
/// exponent form. Rust's `Display` for `f64` is the same but for the infinities.
fn go_float(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    v.to_string()
}

fn matchers(ms: &[LabelMatcher]) -> Value {
    ms.iter()
        .map(|m| json!({"name": m.name, "value": m.value, "type": m.op.as_str()}))
        .collect()
}

/// `(timestamp, startOrEnd)` of an `@` modifier.
fn at(a: Option<At>) -> (Value, Value) {
    match a {
        None => (Value::Null, Value::Null),
        Some(At::Timestamp(t)) => (json!(t), Value::Null),
        Some(At::Start) => (Value::Null, json!("start")),
        Some(At::End) => (Value::Null, json!("end")),
    }
}

fn vector_selector(vs: &VectorSelector) -> Value {
    let (timestamp, start_or_end) = at(vs.at);
    json!({
        "type": "vectorSelector",
        "name": vs.name.as_deref().unwrap_or(""),
        "offset": vs.offset,
        "matchers": matchers(&vs.matchers),
        "timestamp": timestamp,
        "startOrEnd": start_or_end,
        "anchored": false,
        "smoothed": false,
    })
}

/// A range selector is drawn as its selector with a range.
fn matrix_selector(ms: &MatrixSelector) -> Value {
    let mut v = vector_selector(&ms.selector);
    v["type"] = json!("matrixSelector");
    v["range"] = json!(ms.range);
    v
}

fn subquery(sq: &Subquery) -> Value {
    let (timestamp, start_or_end) = at(sq.at);
    json!({
        "type": "subquery",
        "expr": to_json(&sq.expr),
        "range": sq.range,
        "offset": sq.offset,
        // A subquery without a step runs at the global evaluation interval, which the tree leaves to
        // the evaluator: 0 here, as in Prometheus.
        "step": sq.step.unwrap_or(0),
        "timestamp": timestamp,
        "startOrEnd": start_or_end,
        "alignEvalTime": false,
    })
}

fn binary(b: &Binary) -> Value {
    let both_vectors = b.lhs.value_type() == ValueType::Vector && b.rhs.value_type() == ValueType::Vector;
    let matching = if both_vectors {
        let default = VectorMatching::implied(b.op);
        let m = b.matching.as_ref().unwrap_or(&default);
        json!({
            "card": match m.card {
                Cardinality::OneToOne => "one-to-one",
                Cardinality::ManyToOne => "many-to-one",
                Cardinality::OneToMany => "one-to-many",
                Cardinality::ManyToMany => "many-to-many",
            },
            "labels": m.labels,
            "on": m.on,
            "include": m.include,
            "fillValues": {"lhs": null, "rhs": null},
        })
    } else {
        Value::Null
    };
    json!({
        "type": "binaryExpr",
        "op": b.op.as_str(),
        "lhs": to_json(&b.lhs),
        "rhs": to_json(&b.rhs),
        "matching": matching,
        "bool": b.return_bool,
    })
}

fn aggregate(a: &Aggregate) -> Value {
    json!({
        "type": "aggregation",
        "op": a.op.as_str(),
        "expr": to_json(&a.expr),
        "param": a.param.as_deref().map_or(Value::Null, to_json),
        "grouping": a.grouping,
        "without": a.without,
    })
}

fn call(c: &Call) -> Value {
    let f = c.func;
    json!({
        "type": "call",
        "func": {
            "name": f.name,
            "argTypes": f.arg_types.iter().map(|t| t.name()).collect::<Vec<_>>(),
            "variadic": f.variadic,
            "returnType": f.return_type.name(),
        },
        "args": c.args.iter().map(to_json).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(q: &str) -> Value {
        to_json(&promql_syntax::parse(q).unwrap())
    }

    #[test]
    fn selectors_carry_name_matchers_offset_and_at() {
        assert_eq!(
            tree(r#"up{job=~"a.*"} offset -5m @ 100.5"#),
            json!({
                "type": "vectorSelector", "name": "up", "offset": -300_000,
                "matchers": [
                    {"name": "job", "value": "a.*", "type": "=~"},
                    {"name": "__name__", "value": "up", "type": "="},
                ],
                "timestamp": 100_500, "startOrEnd": null, "anchored": false, "smoothed": false,
            })
        );
        let m = tree(r#"{__name__="x"}[5m] @ end()"#);
        assert_eq!(
            (
                &m["type"],
                &m["name"],
                &m["range"],
                &m["timestamp"],
                &m["startOrEnd"]
            ),
            (
                &json!("matrixSelector"),
                &json!(""),
                &json!(300_000),
                &Value::Null,
                &json!("end")
            )
        );
    }

    #[test]
    fn binary_matching_is_filled_in_between_vectors_only() {
        let b = tree("a + b");
        assert_eq!(b["matching"]["card"], "one-to-one");
        assert_eq!(b["matching"]["labels"], json!([]));
        assert_eq!(tree("a and b")["matching"]["card"], "many-to-many");
        assert_eq!(tree("a > bool 1")["matching"], Value::Null);
        assert_eq!(tree("a > bool 1")["bool"], true);
        let g = tree("a * on (x) group_left (y) b");
        assert_eq!(
            g["matching"],
            json!({"card": "many-to-one", "labels": ["x"], "on": true, "include": ["y"],
                   "fillValues": {"lhs": null, "rhs": null}})
        );
    }

    #[test]
    fn numbers_read_as_go_prints_them() {
        assert_eq!(tree("1e30")["val"], "1000000000000000000000000000000");
        assert_eq!(tree("0.1")["val"], "0.1");
        assert_eq!(tree("Inf")["val"], "+Inf");
        // A minus before a number folds into the literal, as in Prometheus's parser.
        assert_eq!(tree("-Inf"), json!({"type": "numberLiteral", "val": "-Inf"}));
        assert_eq!(tree("NaN")["val"], "NaN");
    }

    #[test]
    fn calls_aggregations_and_subqueries() {
        let c = tree(r#"topk by (job) (3, max_over_time(rate(x[1m])[10m:]))"#);
        assert_eq!(
            (
                &c["type"],
                &c["op"],
                &c["grouping"],
                &c["without"],
                &c["param"]["val"]
            ),
            (
                &json!("aggregation"),
                &json!("topk"),
                &json!(["job"]),
                &json!(false),
                &json!("3")
            )
        );
        let sq = &c["expr"]["args"][0];
        assert_eq!(
            (&sq["type"], &sq["range"], &sq["step"]),
            (&json!("subquery"), &json!(600_000), &json!(0))
        );
        let f = &sq["expr"]["func"];
        assert_eq!(
            f,
            &json!({"name": "rate", "argTypes": ["matrix"], "variadic": 0, "returnType": "vector"})
        );
        let lj = tree(r#"label_join(x, "d", ",", "a", "b")"#);
        assert_eq!(lj["func"]["variadic"], -1);
        assert_eq!(lj["args"].as_array().unwrap().len(), 5);
    }
}
