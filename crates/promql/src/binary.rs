//! Binary operators: arithmetic, comparisons (filtering or `bool`), set operators, and vector matching
//! with `on`/`ignoring` and `group_left`/`group_right`, with Prometheus's rules for result labels and
//! its errors for ambiguous matches.

use std::collections::HashMap;
use std::sync::Arc;

use model::histogram::HistogramError;
use model::{FloatHistogram, Labels, METRIC_NAME};
use promql_syntax::{Binary, BinaryOp, Cardinality, VectorMatching};

use crate::engine::{Ctx, Hist, Row, Val};
use crate::error::{Result, exec};

/// `(value, keep)`: comparisons return the left value and whether the comparison held.
pub(crate) fn apply(op: BinaryOp, l: f64, r: f64) -> (f64, bool) {
    match op {
        BinaryOp::Add => (l + r, true),
        BinaryOp::Sub => (l - r, true),
        BinaryOp::Mul => (l * r, true),
        BinaryOp::Div => (l / r, true),
        BinaryOp::Mod => (l % r, true),
        BinaryOp::Pow => (l.powf(r), true),
        BinaryOp::Atan2 => (l.atan2(r), true),
        BinaryOp::Eql => (l, l == r),
        BinaryOp::Neq => (l, l != r),
        BinaryOp::Gtr => (l, l > r),
        BinaryOp::Lss => (l, l < r),
        BinaryOp::Gte => (l, l >= r),
        BinaryOp::Lte => (l, l <= r),
        BinaryOp::And | BinaryOp::Or | BinaryOp::Unless => (l, true),
    }
}

/// One operand of a vector element operation: a float or a native histogram.
#[derive(Clone)]
pub(crate) enum Elem {
    F(f64),
    H(Hist),
}

impl Elem {
    fn type_name(&self) -> &'static str {
        match self {
            Elem::F(_) => "float",
            Elem::H(_) => "histogram",
        }
    }
}

/// The element at step `i` of a row, if any.
pub(crate) fn elem(r: &Row, i: usize) -> Option<Elem> {
    match (r.vals[i], r.hist(i)) {
        (Some(v), _) => Some(Elem::F(v)),
        (None, Some(h)) => Some(Elem::H(h.clone())),
        (None, None) => None,
    }
}

/// Stores `e` at step `i` of a row.
pub(crate) fn set_elem(r: &mut Row, i: usize, e: Option<Elem>) {
    match e {
        Some(Elem::F(v)) => {
            r.vals[i] = Some(v);
            r.set_hist(i, None);
        }
        Some(Elem::H(h)) => {
            r.vals[i] = None;
            r.set_hist(i, Some(h));
        }
        None => r.clear(i),
    }
}

/// Annotations of a histogram addition or subtraction, and its failure as Prometheus reports it.
pub(crate) fn add_histograms(
    ctx: &Ctx<'_>,
    a: &FloatHistogram,
    b: &FloatHistogram,
    subtract: bool,
    op_name: &str,
    pos: promql_syntax::Pos,
) -> Option<FloatHistogram> {
    let mut res = a.clone();
    let outcome = if subtract { res.sub(b) } else { res.add(b) };
    let what = if subtract { "subtraction" } else { "addition" };
    match outcome {
        Ok(o) => {
            if o.counter_reset_collision {
                ctx.warn(format!("conflicting counter resets during histogram {what}"), pos);
            }
            if o.custom_buckets_reconciled {
                ctx.info(
                    format!("mismatched custom buckets were reconciled during {what}"),
                    pos,
                );
            }
            res.compact(0);
            Some(res)
        }
        Err(HistogramError::IncompatibleSchema) => {
            ctx.warn(
                "vector contains a mix of histograms with exponential and custom buckets schemas for metric name \"\"".into(),
                pos,
            );
            None
        }
        Err(_) => {
            ctx.warn(
                format!("incompatible bucket layout encountered for binary operator {op_name}"),
                pos,
            );
            None
        }
    }
}

/// One element operation with Prometheus's rules for histograms: `h + h`, `h - h`, `h * f`, `f * h`,
/// `h / f`, and `h == h` / `h != h` are defined; every other mix is dropped with an info annotation.
/// `None` when the element drops out; otherwise the value and whether a comparison held.
pub(crate) fn apply_elem(ctx: &Ctx<'_>, b: &Binary, l: &Elem, r: &Elem) -> Option<(Elem, bool)> {
    let scaled = |h: &Hist, f: f64, div: bool| {
        let mut h = (**h).clone();
        if div {
            h.div(f);
        } else {
            h.mul(f);
        }
        h.compact(0);
        Elem::H(Arc::new(h))
    };
    match (l, r, b.op) {
        (Elem::F(x), Elem::F(y), op) => {
            let (v, keep) = apply(op, *x, *y);
            Some((Elem::F(v), keep))
        }
        (Elem::F(f), Elem::H(h), BinaryOp::Mul) | (Elem::H(h), Elem::F(f), BinaryOp::Mul) => {
            Some((scaled(h, *f, false), true))
        }
        (Elem::H(h), Elem::F(f), BinaryOp::Div) => Some((scaled(h, *f, true), true)),
        (Elem::H(x), Elem::H(y), op @ (BinaryOp::Add | BinaryOp::Sub)) => {
            add_histograms(ctx, x, y, op == BinaryOp::Sub, op.as_str(), b.pos)
                .map(|h| (Elem::H(Arc::new(h)), true))
        }
        (Elem::H(x), Elem::H(y), BinaryOp::Eql) => Some((Elem::H(x.clone()), x.equals(y))),
        (Elem::H(x), Elem::H(y), BinaryOp::Neq) => Some((Elem::H(x.clone()), !x.equals(y))),
        (l, r, op) => {
            ctx.info(
                format!(
                    "incompatible sample types encountered for binary operator \"{0}\": {1} {0} {2}",
                    op.as_str(),
                    l.type_name(),
                    r.type_name()
                ),
                b.pos,
            );
            None
        }
    }
}

fn drops_name(op: BinaryOp) -> bool {
    !op.is_comparison() && !op.is_set()
}

pub(crate) fn eval(ctx: &Ctx<'_>, b: &Binary) -> Result<Val> {
    let lhs = ctx.eval(&b.lhs)?;
    let rhs = ctx.eval(&b.rhs)?;
    match (lhs, rhs) {
        (Val::Scalar(l), Val::Scalar(r)) => Ok(Val::Scalar(
            l.iter()
                .zip(&r)
                .map(|(l, r)| {
                    let (v, keep) = apply(b.op, *l, *r);
                    if b.op.is_comparison() {
                        f64::from(u8::from(keep))
                    } else {
                        v
                    }
                })
                .collect(),
        )),
        (Val::Vector(rows), Val::Scalar(s)) => Ok(Val::Vector(vector_scalar(ctx, b, rows, &s, false))),
        (Val::Scalar(s), Val::Vector(rows)) => Ok(Val::Vector(vector_scalar(ctx, b, rows, &s, true))),
        (Val::Vector(l), Val::Vector(r)) => {
            let default = VectorMatching::implied(b.op);
            let m = b.matching.as_ref().unwrap_or(&default);
            match b.op {
                BinaryOp::And | BinaryOp::Unless => {
                    Ok(Val::Vector(and_unless(ctx, l, &r, m, b.op == BinaryOp::And)))
                }
                BinaryOp::Or => Ok(Val::Vector(or(ctx, l, r, m))),
                _ => {
                    // Each output row comes from a row of one side, built while both are held.
                    ctx.reserve(l.len().max(r.len()).saturating_mul(ctx.n))?;
                    Ok(Val::Vector(vector_vector(ctx, b, l, r, m)?))
                }
            }
        }
        _ => Err(exec(
            "binary expression must contain only scalar and instant vector types",
        )),
    }
}

fn vector_scalar(ctx: &Ctx<'_>, b: &Binary, mut rows: Vec<Row>, s: &[f64], scalar_left: bool) -> Vec<Row> {
    for r in &mut rows {
        if r.has_hists() {
            for (i, sv) in s.iter().enumerate() {
                let Some(Elem::H(h)) = elem(r, i) else {
                    continue;
                };
                let (h, f) = (Elem::H(h), Elem::F(*sv));
                let (l, rr) = if scalar_left { (&f, &h) } else { (&h, &f) };
                let out = match apply_elem(ctx, b, l, rr) {
                    Some((_, keep)) if b.return_bool => Some(Elem::F(f64::from(u8::from(keep)))),
                    Some((out, true)) => Some(if b.op.is_comparison() { h.clone() } else { out }),
                    _ => None,
                };
                set_elem(r, i, out);
            }
        }
        for (slot, sv) in r.vals.iter_mut().zip(s) {
            let Some(v) = *slot else { continue };
            let (l, rr) = if scalar_left { (*sv, v) } else { (v, *sv) };
            let (mut out, keep) = apply(b.op, l, rr);
            if b.op.is_comparison() && scalar_left {
                out = v;
            }
            *slot = if b.return_bool {
                Some(f64::from(u8::from(keep)))
            } else if keep {
                Some(out)
            } else {
                None
            };
        }
        if drops_name(b.op) || b.return_bool {
            r.drop_name = true;
        }
    }
    rows.retain(Row::any);
    rows
}

/// The matching key of a series: the `on` labels, or every label but the `ignoring` ones and the name.
fn signature(l: &Labels, m: &VectorMatching) -> String {
    let mut key = String::new();
    for (n, v) in l.iter() {
        let include = if m.on {
            m.labels.iter().any(|x| x == n)
        } else {
            n != METRIC_NAME && !m.labels.iter().any(|x| x == n)
        };
        if include {
            key.push_str(n);
            key.push('\u{ff}');
            key.push_str(v);
            key.push('\u{ff}');
        }
    }
    key
}

fn and_unless(ctx: &Ctx<'_>, mut l: Vec<Row>, r: &[Row], m: &VectorMatching, and: bool) -> Vec<Row> {
    let rsig: Vec<String> = r.iter().map(|x| signature(&x.labels, m)).collect();
    let lsig: Vec<String> = l.iter().map(|x| signature(&x.labels, m)).collect();
    let mut present: HashMap<&str, ()> = HashMap::new();
    for i in 0..ctx.n {
        present.clear();
        for (row, sig) in r.iter().zip(&rsig) {
            if row.present(i) {
                present.insert(sig.as_str(), ());
            }
        }
        for (row, sig) in l.iter_mut().zip(&lsig) {
            if row.present(i) && present.contains_key(sig.as_str()) != and {
                row.clear(i);
            }
        }
    }
    l.retain(Row::any);
    l
}

fn or(ctx: &Ctx<'_>, l: Vec<Row>, mut r: Vec<Row>, m: &VectorMatching) -> Vec<Row> {
    let lsig: Vec<String> = l.iter().map(|x| signature(&x.labels, m)).collect();
    let rsig: Vec<String> = r.iter().map(|x| signature(&x.labels, m)).collect();
    let mut present: HashMap<&str, ()> = HashMap::new();
    for i in 0..ctx.n {
        present.clear();
        for (row, sig) in l.iter().zip(&lsig) {
            if row.present(i) {
                present.insert(sig.as_str(), ());
            }
        }
        for (row, sig) in r.iter_mut().zip(&rsig) {
            if row.present(i) && present.contains_key(sig.as_str()) {
                row.clear(i);
            }
        }
    }
    r.retain(Row::any);
    let mut out = l;
    out.extend(r);
    out
}

/// Labels as Prometheus prints them in errors: every pair in braces, the name included.
fn format_labels(l: &Labels) -> String {
    let pairs: Vec<String> = l.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
    format!("{{{}}}", pairs.join(", "))
}

fn group_string(l: &Labels, m: &VectorMatching) -> String {
    let pairs: Vec<(&str, &str)> = l
        .iter()
        .filter(|(n, _)| {
            if m.on {
                m.labels.iter().any(|x| x == n)
            } else {
                *n != METRIC_NAME && !m.labels.iter().any(|x| x == n)
            }
        })
        .collect();
    model::format_pairs(&pairs)
}

fn vector_vector(
    ctx: &Ctx<'_>,
    b: &Binary,
    l: Vec<Row>,
    r: Vec<Row>,
    m: &VectorMatching,
) -> Result<Vec<Row>> {
    // The "one" side is looked up by signature; with group_right the sides swap roles.
    let swapped = m.card == Cardinality::OneToMany;
    let (many, one) = if swapped { (r, l) } else { (l, r) };
    let many_sig: Vec<String> = many.iter().map(|x| signature(&x.labels, m)).collect();
    let one_sig: Vec<String> = one.iter().map(|x| signature(&x.labels, m)).collect();
    let mut out: Vec<Row> = Vec::new();
    let mut out_index: HashMap<(usize, usize), usize> = HashMap::new();
    let mut by_labels: HashMap<(Labels, bool), usize> = HashMap::new();
    let mut written_at: Vec<usize> = Vec::new();
    let mut lookup: HashMap<&str, usize> = HashMap::new();
    let mut matched: HashMap<&str, ()> = HashMap::new();
    for i in 0..ctx.n {
        lookup.clear();
        matched.clear();
        for (j, (row, sig)) in one.iter().zip(&one_sig).enumerate() {
            if !row.present(i) {
                continue;
            }
            if let Some(prev) = lookup.insert(sig.as_str(), j) {
                let side = if swapped { "left" } else { "right" };
                let (a, b2) = (&one[prev].labels, &row.labels);
                let (a, b2) = if a <= b2 { (a, b2) } else { (b2, a) };
                return Err(exec(format!(
                    "found duplicate series for the match group {} on the {side} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                    group_string(&row.labels, m),
                    format_labels(a),
                    format_labels(b2)
                )));
            }
        }
        for (k, (row, sig)) in many.iter().zip(&many_sig).enumerate() {
            let Some(mv) = elem(row, i) else { continue };
            let Some(&j) = lookup.get(sig.as_str()) else {
                continue;
            };
            let Some(ov) = elem(&one[j], i) else { continue };
            // Ambiguous one-to-one matches fail even when the comparison would filter them out.
            if m.card == Cardinality::OneToOne && matched.insert(sig.as_str(), ()).is_some() {
                return Err(exec(
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
                ));
            }
            let (lv, rv) = if swapped { (&ov, &mv) } else { (&mv, &ov) };
            let v = match (&lv, &rv) {
                (Elem::F(x), Elem::F(y)) => {
                    let (v, keep) = apply(b.op, *x, *y);
                    if b.return_bool {
                        Elem::F(f64::from(u8::from(keep)))
                    } else if keep {
                        Elem::F(v)
                    } else {
                        continue;
                    }
                }
                _ => match apply_elem(ctx, b, lv, rv) {
                    Some((_, keep)) if b.return_bool => Elem::F(f64::from(u8::from(keep))),
                    Some((v, true)) => v,
                    _ => continue,
                },
            };
            let idx = match out_index.get(&(k, j)) {
                Some(x) => *x,
                None => {
                    let (labels, drop) = result_labels(&row.labels, &one[j].labels, b, m);
                    let key = (labels.clone(), drop || row.drop_name);
                    let x = *by_labels.entry(key).or_insert_with(|| {
                        out.push(Row::new(labels, drop || row.drop_name, vec![None; ctx.n]));
                        written_at.push(usize::MAX);
                        out.len() - 1
                    });
                    out_index.insert((k, j), x);
                    x
                }
            };
            if written_at[idx] == i {
                return Err(exec(
                    "multiple matches for labels: grouping labels must ensure unique matches",
                ));
            }
            written_at[idx] = i;
            set_elem(&mut out[idx], i, Some(v));
        }
    }
    Ok(out)
}

/// Labels of a vector/vector result, and whether its name is to be dropped.
fn result_labels(many: &Labels, one: &Labels, b: &Binary, m: &VectorMatching) -> (Labels, bool) {
    let mut pairs: Vec<(String, String)> = many.iter().map(|(n, v)| (n.to_owned(), v.to_owned())).collect();
    let drop = drops_name(b.op) || b.return_bool;
    if m.card == Cardinality::OneToOne {
        if m.on {
            pairs.retain(|(n, _)| m.labels.iter().any(|x| x == n));
        } else {
            pairs.retain(|(n, _)| !m.labels.iter().any(|x| x == n));
        }
    }
    for name in &m.include {
        pairs.retain(|(n, _)| n != name);
        if let Some(v) = one.get(name)
            && !v.is_empty()
        {
            pairs.push((name.clone(), v.to_owned()));
        }
    }
    pairs.sort();
    (Labels::from_sorted_unchecked(pairs), drop)
}
