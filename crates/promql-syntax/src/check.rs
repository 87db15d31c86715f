//! Type checks run once the whole query has parsed, as Prometheus's `checkAST` does: operand types
//! of operators, functions and aggregations, the rules of vector matching, and selectors that would
//! select everything. The walk visits nodes in Prometheus's order so the first error reported is
//! the same one. It also settles `Binary::matching`: kept only between two instant vectors, and
//! many-to-many for set operators.

use std::collections::HashMap;

use crate::ast::*;
use std::cell::RefCell;

use crate::error::{ParseError, Result};
use crate::quote::quote;

pub(crate) fn check(expr: &mut Expr, query: &str, regex_matches_empty: &HashMap<String, bool>) -> Result<()> {
    let checker = Checker {
        query,
        regex_matches_empty,
        error: RefCell::new(None),
    };
    match checker.check(expr) {
        Ok(_) => Ok(()),
        Err(Stop) => Err(checker.error.take().unwrap_or_else(|| ParseError {
            pos: Pos::default(),
            msg: "type check failed".to_string(),
            query: query.to_string(),
        })),
    }
}

/// The checker's error type: the error itself is parked in [`Checker::error`] so that the
/// recursive functions return a one-byte result, which keeps their stack frames small.
#[derive(Debug)]
struct Stop;

type Checked<T> = std::result::Result<T, Stop>;

/// The type names Prometheus uses in messages.
fn documented(t: ValueType) -> &'static str {
    match t {
        ValueType::Vector => "instant vector",
        ValueType::Matrix => "range vector",
        ValueType::Scalar => "scalar",
        ValueType::String => "string",
    }
}

struct Checker<'a> {
    query: &'a str,
    regex_matches_empty: &'a HashMap<String, bool>,
    error: RefCell<Option<ParseError>>,
}

impl Checker<'_> {
    #[cold]
    fn error(&self, pos: Pos, msg: impl Into<String>) -> Stop {
        *self.error.borrow_mut() = Some(ParseError {
            pos,
            msg: msg.into(),
            query: self.query.to_string(),
        });
        Stop
    }

    /// Recursive, so kept lean: the checks themselves live in separate functions, which keeps each
    /// level's stack frame small for deeply nested queries.
    fn check(&self, e: &mut Expr) -> Checked<ValueType> {
        let typ = e.value_type();
        match e {
            Expr::Number(_) | Expr::String(_) => {}
            Expr::VectorSelector(vs) => self.check_selector(vs, false)?,
            Expr::MatrixSelector(m) => self.check_selector(&m.selector, false)?,
            Expr::Paren(p) => {
                self.check(&mut p.expr)?;
            }
            Expr::Subquery(s) => {
                let t = self.check(&mut s.expr)?;
                self.check_subquery(s.pos, t)?;
            }
            Expr::Unary(u) => {
                let t = self.check(&mut u.expr)?;
                self.check_unary(u.pos, t)?;
            }
            Expr::Aggregate(a) => self.check_aggregate(a)?,
            Expr::Call(c) => self.check_call(c)?,
            Expr::Binary(b) => {
                let lt = self.check(&mut b.lhs)?;
                let rt = self.check(&mut b.rhs)?;
                self.check_binary(b, lt, rt)?;
            }
        }
        Ok(typ)
    }

    #[inline(never)]
    fn check_subquery(&self, pos: Pos, t: ValueType) -> Checked<()> {
        if t != ValueType::Vector {
            return Err(self.error(
                pos,
                format!("subquery is only allowed on instant vector, got {t} instead"),
            ));
        }
        Ok(())
    }

    #[inline(never)]
    fn check_unary(&self, pos: Pos, t: ValueType) -> Checked<()> {
        if t != ValueType::Scalar && t != ValueType::Vector {
            return Err(self.error(
                pos,
                format!(
                    "unary expression only allowed on expressions of type scalar or instant vector, got {}",
                    quote(documented(t))
                ),
            ));
        }
        Ok(())
    }

    fn expect_type(&self, e: &mut Expr, want: ValueType, context: &str) -> Checked<()> {
        let t = self.check(e)?;
        if t != want {
            return Err(self.error(
                e.pos(),
                format!(
                    "expected type {} in {context}, got {}",
                    documented(want),
                    documented(t)
                ),
            ));
        }
        Ok(())
    }

    #[inline(never)]
    fn check_aggregate(&self, a: &mut Aggregate) -> Checked<()> {
        self.expect_type(&mut a.expr, ValueType::Vector, "aggregation expression")?;
        let want = match a.op {
            AggregateOp::Topk
            | AggregateOp::Bottomk
            | AggregateOp::Quantile
            | AggregateOp::Limitk
            | AggregateOp::LimitRatio => ValueType::Scalar,
            AggregateOp::CountValues => ValueType::String,
            _ => return Ok(()),
        };
        match &mut a.param {
            Some(param) => self.expect_type(param, want, "aggregation parameter"),
            None => Err(self.error(a.pos, "no arguments for aggregate expression provided")),
        }
    }

    #[inline(never)]
    fn check_call(&self, c: &mut Call) -> Checked<()> {
        let f = c.func;
        let nargs = f.arg_types.len();
        let got = c.args.len();
        if f.variadic == 0 {
            if nargs != got {
                return Err(self.error(
                    c.pos,
                    format!(
                        "expected {nargs} argument(s) in call to {}, got {got}",
                        quote(f.name)
                    ),
                ));
            }
        } else {
            let min = nargs.saturating_sub(1);
            if min > got {
                return Err(self.error(
                    c.pos,
                    format!(
                        "expected at least {min} argument(s) in call to {}, got {got}",
                        quote(f.name)
                    ),
                ));
            }
            if let Ok(extra) = usize::try_from(f.variadic)
                && min + extra < got
            {
                return Err(self.error(
                    c.pos,
                    format!(
                        "expected at most {} argument(s) in call to {}, got {got}",
                        min + extra,
                        quote(f.name)
                    ),
                ));
            }
        }
        // The second argument of info() is a bare label selector, exempt from the check that a
        // selector must not match every series.
        let mut labels_only_arg = false;
        if f.name == "info" && got > 1 {
            let arg = &c.args[1];
            let t = arg.value_type();
            if t != ValueType::Vector {
                return Err(self.error(
                    c.pos,
                    format!(
                        "expected type {} in call to function {}, got {}",
                        documented(ValueType::Vector),
                        quote(f.name),
                        documented(t)
                    ),
                ));
            }
            match arg {
                Expr::VectorSelector(vs) if vs.name.is_some() => {
                    return Err(self.error(
                        arg.pos(),
                        "expected label selectors only, got vector selector instead",
                    ));
                }
                Expr::VectorSelector(_) => labels_only_arg = true,
                _ => return Err(self.error(arg.pos(), "expected label selectors only")),
            }
        }
        for (i, arg) in c.args.iter_mut().enumerate() {
            let idx = if i >= nargs {
                if f.variadic == 0 || nargs == 0 {
                    break;
                }
                nargs - 1
            } else {
                i
            };
            let t = match arg {
                Expr::VectorSelector(vs) if labels_only_arg && i == 1 => {
                    self.check_selector(vs, true)?;
                    ValueType::Vector
                }
                _ => self.check(arg)?,
            };
            if t != f.arg_types[idx] {
                return Err(self.error(
                    arg.pos(),
                    format!(
                        "expected type {} in call to function {}, got {}",
                        documented(f.arg_types[idx]),
                        quote(f.name),
                        documented(t)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Where the operator of `b` is written: from the end of the left operand to the start of the
    /// right one, without surrounding whitespace.
    fn operator_pos(&self, b: &Binary) -> Pos {
        let bytes = self.query.as_bytes();
        let is_space = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r');
        let mut start = b.lhs.pos().end;
        while start < bytes.len() && is_space(bytes[start]) {
            start += 1;
        }
        let mut end = b.rhs.pos().start.min(bytes.len());
        while end > start && is_space(bytes[end - 1]) {
            end -= 1;
        }
        Pos::new(start, end.max(start))
    }

    #[inline(never)]
    fn check_binary(&self, b: &mut Binary, lt: ValueType, rt: ValueType) -> Checked<()> {
        if b.return_bool && !b.op.is_comparison() {
            return Err(self.error(
                self.operator_pos(b),
                "bool modifier can only be used on comparison operators",
            ));
        }
        if b.op.is_comparison() && !b.return_bool && lt == ValueType::Scalar && rt == ValueType::Scalar {
            return Err(self.error(
                self.operator_pos(b),
                "comparisons between scalars must use BOOL modifier",
            ));
        }
        let mut matching = b.matching.take().unwrap_or(VectorMatching {
            card: Cardinality::OneToOne,
            labels: vec![],
            on: false,
            include: vec![],
        });
        if b.op.is_set() && matching.card == Cardinality::OneToOne {
            matching.card = Cardinality::ManyToMany;
        }
        if matching.on
            && let Some(l) = matching.labels.iter().find(|l| matching.include.contains(l))
        {
            return Err(self.error(
                self.operator_pos(b),
                format!("label {} must not occur in ON and GROUP clause at once", quote(l)),
            ));
        }
        let operand_error = "binary expression must contain only scalar and instant vector types";
        if lt != ValueType::Scalar && lt != ValueType::Vector {
            return Err(self.error(b.lhs.pos(), operand_error));
        }
        if rt != ValueType::Scalar && rt != ValueType::Vector {
            return Err(self.error(b.rhs.pos(), operand_error));
        }
        if lt != ValueType::Vector || rt != ValueType::Vector {
            if !matching.labels.is_empty() {
                return Err(self.error(b.pos, "vector matching only allowed between instant vectors"));
            }
        } else {
            if b.op.is_set() && matches!(matching.card, Cardinality::OneToMany | Cardinality::ManyToOne) {
                return Err(self.error(
                    b.pos,
                    format!("no grouping allowed for {} operation", quote(b.op.as_str())),
                ));
            }
            b.matching = Some(matching);
        }
        if (lt == ValueType::Scalar || rt == ValueType::Scalar) && b.op.is_set() {
            return Err(self.error(
                b.pos,
                format!(
                    "set operator {} not allowed in binary scalar expression",
                    quote(b.op.as_str())
                ),
            ));
        }
        Ok(())
    }

    #[inline(never)]
    fn check_selector(&self, vs: &VectorSelector, labels_only: bool) -> Checked<()> {
        if let Some(name) = &vs.name {
            // The last matcher is the one for the name written outside the braces.
            let inside = &vs.matchers[..vs.matchers.len().saturating_sub(1)];
            if let Some(m) = inside.iter().find(|m| m.name == "__name__") {
                return Err(self.error(
                    vs.pos,
                    format!(
                        "metric name must not be set twice: {} or {}",
                        quote(name),
                        quote(&m.value)
                    ),
                ));
            }
            return Ok(());
        }
        if labels_only {
            return Ok(());
        }
        if !vs.matchers.iter().any(|m| !self.matches_empty(m)) {
            return Err(self.error(
                vs.pos,
                "vector selector must contain at least one non-empty matcher",
            ));
        }
        Ok(())
    }

    fn matches_empty(&self, m: &LabelMatcher) -> bool {
        let regex_empty = || self.regex_matches_empty.get(&m.value).copied().unwrap_or(true);
        match m.op {
            MatchOp::Equal => m.value.is_empty(),
            MatchOp::NotEqual => !m.value.is_empty(),
            MatchOp::Regex => regex_empty(),
            MatchOp::NotRegex => !regex_empty(),
        }
    }
}
