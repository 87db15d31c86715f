//! Binary operators: arithmetic, comparisons (filtering or `bool`), set operators, and vector matching
//! with `on`/`ignoring` and `group_left`/`group_right`, with Prometheus's rules for result labels and
//! its errors for ambiguous matches.

use std::collections::HashMap;

use model::{Labels, METRIC_NAME};
use promql_syntax::{Binary, BinaryOp, Cardinality, VectorMatching};

use crate::engine::{Ctx, Row, Val};
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
        (Val::Vector(rows), Val::Scalar(s)) => Ok(Val::Vector(vector_scalar(b, rows, &s, false))),
        (Val::Scalar(s), Val::Vector(rows)) => Ok(Val::Vector(vector_scalar(b, rows, &s, true))),
        (Val::Vector(l), Val::Vector(r)) => {
            let default = VectorMatching {
                card: if b.op.is_set() {
                    Cardinality::ManyToMany
                } else {
                    Cardinality::OneToOne
                },
                labels: Vec::new(),
                on: false,
                include: Vec::new(),
            };
            let m = b.matching.as_ref().unwrap_or(&default);
            match b.op {
                BinaryOp::And | BinaryOp::Unless => {
                    Ok(Val::Vector(and_unless(ctx, l, &r, m, b.op == BinaryOp::And)))
                }
                BinaryOp::Or => Ok(Val::Vector(or(ctx, l, r, m))),
                _ => Ok(Val::Vector(vector_vector(ctx, b, l, r, m)?)),
            }
        }
        _ => Err(exec(
            "binary expression must contain only scalar and instant vector types",
        )),
    }
}

fn vector_scalar(b: &Binary, mut rows: Vec<Row>, s: &[f64], scalar_left: bool) -> Vec<Row> {
    for r in &mut rows {
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
    rows.retain(|r| r.vals.iter().any(Option::is_some));
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
            if row.vals[i].is_some() {
                present.insert(sig.as_str(), ());
            }
        }
        for (row, sig) in l.iter_mut().zip(&lsig) {
            if row.vals[i].is_some() && present.contains_key(sig.as_str()) != and {
                row.vals[i] = None;
            }
        }
    }
    l.retain(|r| r.vals.iter().any(Option::is_some));
    l
}

fn or(ctx: &Ctx<'_>, l: Vec<Row>, mut r: Vec<Row>, m: &VectorMatching) -> Vec<Row> {
    let lsig: Vec<String> = l.iter().map(|x| signature(&x.labels, m)).collect();
    let rsig: Vec<String> = r.iter().map(|x| signature(&x.labels, m)).collect();
    let mut present: HashMap<&str, ()> = HashMap::new();
    for i in 0..ctx.n {
        present.clear();
        for (row, sig) in l.iter().zip(&lsig) {
            if row.vals[i].is_some() {
                present.insert(sig.as_str(), ());
            }
        }
        for (row, sig) in r.iter_mut().zip(&rsig) {
            if row.vals[i].is_some() && present.contains_key(sig.as_str()) {
                row.vals[i] = None;
            }
        }
    }
    r.retain(|r| r.vals.iter().any(Option::is_some));
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
            if row.vals[i].is_none() {
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
            let Some(mv) = row.vals[i] else { continue };
            let Some(&j) = lookup.get(sig.as_str()) else {
                continue;
            };
            let Some(ov) = one[j].vals[i] else { continue };
            // Ambiguous one-to-one matches fail even when the comparison would filter them out.
            if m.card == Cardinality::OneToOne && matched.insert(sig.as_str(), ()).is_some() {
                return Err(exec(
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
                ));
            }
            let (lv, rv) = if swapped { (ov, mv) } else { (mv, ov) };
            let (v, keep) = apply(b.op, lv, rv);
            let v = if b.return_bool {
                f64::from(u8::from(keep))
            } else if keep {
                v
            } else {
                continue;
            };
            let idx = match out_index.get(&(k, j)) {
                Some(x) => *x,
                None => {
                    let (labels, drop) = result_labels(&row.labels, &one[j].labels, b, m);
                    let key = (labels.clone(), drop || row.drop_name);
                    let x = *by_labels.entry(key).or_insert_with(|| {
                        out.push(Row {
                            labels,
                            drop_name: drop || row.drop_name,
                            vals: vec![None; ctx.n],
                        });
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
            out[idx].vals[i] = Some(v);
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
