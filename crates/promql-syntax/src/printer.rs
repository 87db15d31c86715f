//! Printing expressions back to PromQL: `Display` gives Prometheus's canonical single-line form
//! (`Expr.String()`), [`pretty`] its multi-line form (`Prettify`, used by `/api/v1/format_query`).
//! Both parse back to the same tree.

use std::fmt::{self, Write as _};

use crate::ast::*;
use crate::literals::{format_duration, format_float};
use crate::quote::{is_legacy_label_name, quote};

/// Lines longer than this are split by [`pretty`].
const MAX_LINE: usize = 100;

impl fmt::Display for Expr {
    /// Recursive, so each kind of node is written by its own function to keep stack frames small.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Number(n) => f.write_str(&format_float(n.value)),
            Expr::String(s) => f.write_str(&quote(&s.value)),
            Expr::VectorSelector(vs) => write_vector_selector(f, vs),
            Expr::MatrixSelector(m) => write_matrix_selector(f, m),
            Expr::Subquery(s) => {
                fmt::Display::fmt(&*s.expr, f)?;
                write_subquery_suffix(f, s)
            }
            Expr::Paren(p) => {
                f.write_char('(')?;
                fmt::Display::fmt(&*p.expr, f)?;
                f.write_char(')')
            }
            Expr::Unary(u) => {
                f.write_str(unary_str(u.op))?;
                fmt::Display::fmt(&*u.expr, f)
            }
            Expr::Binary(b) => {
                if is_signed_power_base(b) {
                    f.write_str("Inf")?;
                } else {
                    fmt::Display::fmt(&*b.lhs, f)?;
                }
                write_binary_operator(f, b)?;
                fmt::Display::fmt(&*b.rhs, f)
            }
            Expr::Aggregate(a) => write_aggregate(f, a),
            Expr::Call(c) => write_call(f, c),
        }
    }
}

/// Whether the left operand of `b` is `+Inf` under `^`. Prometheus prints `+Inf`, but `+Inf ^ x`
/// reads back as `+(Inf ^ x)`, so it is printed as `Inf` there to keep the tree.
fn is_signed_power_base(b: &Binary) -> bool {
    b.op == BinaryOp::Pow && matches!(&*b.lhs, Expr::Number(n) if n.value == f64::INFINITY)
}

#[inline(never)]
fn write_vector_selector(f: &mut fmt::Formatter<'_>, vs: &VectorSelector) -> fmt::Result {
    write_selector(f, vs)?;
    write_at_offset(f, vs.at, vs.offset)
}

#[inline(never)]
fn write_matrix_selector(f: &mut fmt::Formatter<'_>, m: &MatrixSelector) -> fmt::Result {
    write_selector(f, &m.selector)?;
    write!(f, "[{}]", format_duration(m.range.unsigned_abs()))?;
    write_at_offset(f, m.selector.at, m.selector.offset)
}

/// ` op bool on (…) group_left (…) `, with the surrounding spaces.
#[inline(never)]
fn write_binary_operator(f: &mut fmt::Formatter<'_>, b: &Binary) -> fmt::Result {
    f.write_char(' ')?;
    f.write_str(b.op.as_str())?;
    write_binary_modifiers(f, b)?;
    f.write_char(' ')
}

#[inline(never)]
fn write_aggregate(f: &mut fmt::Formatter<'_>, a: &Aggregate) -> fmt::Result {
    write_aggregate_op(f, a)?;
    f.write_char('(')?;
    if let Some(param) = a.param.as_ref().filter(|_| a.op.has_param()) {
        fmt::Display::fmt(&**param, f)?;
        f.write_str(", ")?;
    }
    fmt::Display::fmt(&*a.expr, f)?;
    f.write_char(')')
}

#[inline(never)]
fn write_call(f: &mut fmt::Formatter<'_>, c: &Call) -> fmt::Result {
    f.write_str(c.func.name)?;
    f.write_char('(')?;
    for (i, arg) in c.args.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        fmt::Display::fmt(arg, f)?;
    }
    f.write_char(')')
}

fn unary_str(op: UnaryOp) -> &'static str {
    match op {
        UnaryOp::Neg => "-",
        UnaryOp::Pos => "+",
    }
}

fn write_labels(f: &mut impl fmt::Write, labels: &[String]) -> fmt::Result {
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        if is_legacy_label_name(l) {
            f.write_str(l)?;
        } else {
            f.write_str(&quote(l))?;
        }
    }
    Ok(())
}

/// One matcher as Prometheus prints it: `name="value"`, the name quoted when it needs to be.
pub(crate) fn render_matcher(m: &LabelMatcher) -> String {
    let label = if is_legacy_label_name(&m.name) {
        m.name.clone()
    } else {
        quote(&m.name)
    };
    format!("{label}{}{}", m.op.as_str(), quote(&m.value))
}

/// The name and the matchers, sorted as Prometheus prints them, without the `__name__` matcher that
/// stands for the name written outside the braces.
fn write_selector(f: &mut fmt::Formatter<'_>, vs: &VectorSelector) -> fmt::Result {
    let name = vs.name.as_deref().unwrap_or("");
    let mut rendered: Vec<String> = vs
        .matchers
        .iter()
        .filter(|m| !(m.name == "__name__" && m.op == MatchOp::Equal && m.value == name && !name.is_empty()))
        .map(render_matcher)
        .collect();
    f.write_str(name)?;
    if !rendered.is_empty() {
        rendered.sort();
        write!(f, "{{{}}}", rendered.join(","))?;
    }
    Ok(())
}

fn write_at_offset(f: &mut fmt::Formatter<'_>, at: Option<At>, offset: i64) -> fmt::Result {
    match at {
        Some(At::Timestamp(ms)) => write!(f, " @ {:.3}", ms as f64 / 1000.0)?,
        Some(At::Start) => f.write_str(" @ start()")?,
        Some(At::End) => f.write_str(" @ end()")?,
        None => {}
    }
    match offset {
        0 => Ok(()),
        o if o > 0 => write!(f, " offset {}", format_duration(o.unsigned_abs())),
        o => write!(f, " offset -{}", format_duration(o.unsigned_abs())),
    }
}

fn write_subquery_suffix(f: &mut fmt::Formatter<'_>, s: &Subquery) -> fmt::Result {
    let step = s
        .step
        .map(|st| format_duration(st.unsigned_abs()))
        .unwrap_or_default();
    write!(f, "[{}:{step}]", format_duration(s.range.unsigned_abs()))?;
    write_at_offset(f, s.at, s.offset)
}

fn write_binary_modifiers(f: &mut impl fmt::Write, b: &Binary) -> fmt::Result {
    if b.return_bool {
        f.write_str(" bool")?;
    }
    let Some(m) = &b.matching else { return Ok(()) };
    let grouped = matches!(m.card, Cardinality::ManyToOne | Cardinality::OneToMany);
    if !m.labels.is_empty() || m.on || grouped {
        f.write_str(if m.on { " on (" } else { " ignoring (" })?;
        write_labels(f, &m.labels)?;
        f.write_char(')')?;
    }
    if grouped {
        f.write_str(if m.card == Cardinality::ManyToOne {
            " group_left ("
        } else {
            " group_right ("
        })?;
        write_labels(f, &m.include)?;
        f.write_char(')')?;
    }
    Ok(())
}

/// `sum`, `sum by (a) `, `sum without () `: the operator and its grouping, as printed before `(`.
fn write_aggregate_op(f: &mut impl fmt::Write, a: &Aggregate) -> fmt::Result {
    f.write_str(a.op.as_str())?;
    if a.without || !a.grouping.is_empty() {
        f.write_str(if a.without { " without (" } else { " by (" })?;
        write_labels(f, &a.grouping)?;
        f.write_str(") ")?;
    }
    Ok(())
}

/// Prometheus's `Prettify`: the expression on one line when it fits in 100 characters, otherwise
/// split into one operand or argument per line, indented by two spaces per level.
pub fn pretty(expr: &Expr) -> String {
    pretty_with_width(expr, MAX_LINE)
}

pub(crate) fn pretty_with_width(expr: &Expr, width: usize) -> String {
    let mut out = String::new();
    Pretty { width }.write(&mut out, expr, 0);
    out
}

struct Pretty {
    width: usize,
}

fn indent(out: &mut String, level: usize) {
    for _ in 0..level {
        out.push_str("  ");
    }
}

impl Pretty {
    fn write(&self, out: &mut String, e: &Expr, level: usize) {
        let flat = e.to_string();
        let split = flat.len() > self.width;
        match e {
            // Prometheus does not indent a subquery that fits on a line.
            Expr::Subquery(_) if !split => out.push_str(&flat),
            Expr::Subquery(s) => {
                self.write(out, &s.expr, level);
                let mut suffix = String::new();
                // Writing to a String cannot fail.
                let _ = write!(suffix, "{}", SubquerySuffix(s));
                out.push_str(&suffix);
            }
            Expr::Unary(u) => {
                indent(out, level);
                out.push_str(unary_str(u.op));
                let mut child = String::new();
                self.write(&mut child, &u.expr, level);
                out.push_str(child.trim());
            }
            _ if !split => {
                indent(out, level);
                out.push_str(&flat);
            }
            Expr::Aggregate(a) => {
                indent(out, level);
                let _ = write_aggregate_op(out, a);
                out.push_str("(\n");
                if let Some(param) = a.param.as_ref().filter(|_| a.op.has_param()) {
                    self.write(out, param, level + 1);
                    out.push_str(",\n");
                }
                self.write(out, &a.expr, level + 1);
                out.push('\n');
                indent(out, level);
                out.push(')');
            }
            Expr::Binary(b) => {
                if is_signed_power_base(b) {
                    indent(out, level + 1);
                    out.push_str("Inf");
                } else {
                    self.write(out, &b.lhs, level + 1);
                }
                out.push('\n');
                indent(out, level);
                out.push_str(b.op.as_str());
                let _ = write_binary_modifiers(out, b);
                out.push('\n');
                self.write(out, &b.rhs, level + 1);
            }
            Expr::Call(c) => {
                indent(out, level);
                out.push_str(c.func.name);
                out.push_str("(\n");
                for (i, arg) in c.args.iter().enumerate() {
                    if i > 0 {
                        out.push_str(",\n");
                    }
                    self.write(out, arg, level + 1);
                }
                out.push('\n');
                indent(out, level);
                out.push(')');
            }
            Expr::Paren(p) => {
                indent(out, level);
                out.push_str("(\n");
                self.write(out, &p.expr, level + 1);
                out.push('\n');
                indent(out, level);
                out.push(')');
            }
            Expr::Number(_) | Expr::String(_) | Expr::VectorSelector(_) | Expr::MatrixSelector(_) => {
                indent(out, level);
                out.push_str(&flat);
            }
        }
    }
}

struct SubquerySuffix<'a>(&'a Subquery);

impl fmt::Display for SubquerySuffix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_subquery_suffix(f, self.0)
    }
}
