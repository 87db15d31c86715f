//! Aggregation operators: groups are formed once from the label sets, then each step aggregates the
//! members present at it.

use std::collections::HashMap;
use std::sync::Arc;

use model::{FloatHistogram, Labels, METRIC_NAME};
use promql_syntax::{Aggregate, AggregateOp};

use crate::engine::{Ctx, Hist, Row, Val};
use crate::error::{Result, exec};
use crate::kernels;

fn group_labels(l: &Labels, a: &Aggregate) -> Labels {
    let pairs: Vec<(String, String)> = l
        .iter()
        .filter(|(n, _)| {
            if a.without {
                *n != METRIC_NAME && !a.grouping.iter().any(|g| g == n)
            } else {
                a.grouping.iter().any(|g| g == n)
            }
        })
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    Labels::from_sorted_unchecked(pairs)
}

/// A float as Prometheus formats it in labels (`count_values`): shortest round-trip form.
pub(crate) fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

pub(crate) fn eval(ctx: &Ctx<'_>, a: &Aggregate) -> Result<Val> {
    let param = match &a.param {
        Some(p) => Some(ctx.eval(p)?),
        None => None,
    };
    let rows = match ctx.eval(&a.expr)? {
        Val::Vector(rows) => rows,
        _ => return Err(exec("aggregation over a non-vector")),
    };
    // Members of each group, in order of first appearance.
    let mut groups: Vec<(Labels, Vec<usize>)> = Vec::new();
    let mut index: HashMap<Labels, usize> = HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        let g = group_labels(&r.labels, a);
        let gi = *index.entry(g.clone()).or_insert_with(|| {
            groups.push((g, Vec::new()));
            groups.len() - 1
        });
        groups[gi].1.push(i);
    }
    let scalar_param = |i: usize| -> f64 {
        match &param {
            Some(Val::Scalar(s)) => s[i],
            _ => f64::NAN,
        }
    };
    match a.op {
        AggregateOp::Topk | AggregateOp::Bottomk | AggregateOp::Limitk => {
            let mut keep = vec![vec![false; ctx.n]; rows.len()];
            let mut present: Vec<usize> = Vec::new();
            // The step indexes the parameter and every member's values, not just `keep`.
            #[allow(clippy::needless_range_loop)]
            for i in 0..ctx.n {
                let k = scalar_param(i);
                if k.is_nan() {
                    return Err(exec("Parameter value is NaN"));
                }
                let k = if k >= i64::MAX as f64 { i64::MAX } else { k as i64 };
                if k < 1 {
                    continue;
                }
                for (_, members) in &groups {
                    present.clear();
                    if a.op == AggregateOp::Limitk {
                        present.extend(members.iter().copied().filter(|m| rows[*m].present(i)));
                    } else {
                        if members.iter().any(|m| rows[*m].hist(i).is_some()) {
                            ctx.info(
                                format!("ignored histogram in {} aggregation", a.op.as_str()),
                                a.pos,
                            );
                        }
                        present.extend(members.iter().copied().filter(|m| rows[*m].vals[i].is_some()));
                    }
                    let k = (k as usize).min(present.len());
                    if a.op != AggregateOp::Limitk && k < present.len() {
                        // Only which k are on top matters here: partition instead of sorting them all.
                        let top = a.op == AggregateOp::Topk;
                        present.select_nth_unstable_by(k - 1, |x, y| {
                            let (vx, vy) = (
                                rows[*x].vals[i].unwrap_or(f64::NAN),
                                rows[*y].vals[i].unwrap_or(f64::NAN),
                            );
                            order(vx, vy, top)
                        });
                    }
                    for m in present.iter().copied().take(k) {
                        keep[m][i] = true;
                    }
                }
            }
            let mut out = Vec::new();
            for (mut r, keep) in rows.into_iter().zip(keep) {
                for (i, k) in keep.iter().enumerate() {
                    if !k {
                        r.clear(i);
                    }
                }
                if r.any() {
                    out.push(r);
                }
            }
            if ctx.n == 1 && a.op != AggregateOp::Limitk {
                let top = a.op == AggregateOp::Topk;
                out.sort_by(|x, y| order(x.vals[0].unwrap_or(f64::NAN), y.vals[0].unwrap_or(f64::NAN), top));
            }
            Ok(Val::Vector(out))
        }
        AggregateOp::LimitRatio => {
            if (0..ctx.n).any(|i| scalar_param(i).is_nan()) {
                return Err(exec("Ratio value is NaN"));
            }
            let mut out = Vec::new();
            for mut r in rows {
                let h = ratio_hash(&r.labels);
                for i in 0..ctx.n {
                    let ratio = scalar_param(i);
                    if ratio.is_nan() {
                        return Err(exec("Ratio value is NaN"));
                    }
                    let ratio = ratio.clamp(-1.0, 1.0);
                    let keep = if ratio >= 0.0 { h < ratio } else { h >= 1.0 + ratio };
                    if !keep {
                        r.clear(i);
                    }
                }
                if r.any() {
                    out.push(r);
                }
            }
            Ok(Val::Vector(out))
        }
        AggregateOp::CountValues => {
            let label = match &param {
                Some(Val::Str(s)) => s.clone(),
                _ => return Err(exec("count_values needs a string parameter")),
            };
            if label.is_empty() {
                return Err(exec(format!("invalid label name {label:?}")));
            }
            let mut out: Vec<Row> = Vec::new();
            let mut idx: HashMap<Labels, usize> = HashMap::new();
            for (g, members) in &groups {
                for i in 0..ctx.n {
                    for m in members {
                        let v = match (rows[*m].vals[i], rows[*m].hist(i)) {
                            (Some(v), _) => format_value(v),
                            (None, Some(h)) => h.to_string(),
                            (None, None) => continue,
                        };
                        let mut pairs: Vec<(String, String)> = g
                            .iter()
                            .filter(|(n, _)| *n != label)
                            .map(|(n, v)| (n.to_owned(), v.to_owned()))
                            .collect();
                        pairs.push((label.clone(), v));
                        pairs.sort();
                        let l = Labels::from_sorted_unchecked(pairs);
                        let o = *idx.entry(l.clone()).or_insert_with(|| {
                            out.push(Row::new(l, false, vec![None; ctx.n]));
                            out.len() - 1
                        });
                        *out[o].vals[i].get_or_insert(0.0) += 1.0;
                    }
                }
            }
            Ok(Val::Vector(out))
        }
        _ if rows.iter().any(Row::has_hists) => {
            Ok(Val::Vector(with_histograms(ctx, a, &rows, groups, scalar_param)))
        }
        _ => {
            let mut out = Vec::with_capacity(groups.len());
            let mut buf = Vec::new();
            for (g, members) in groups {
                let mut vals = vec![None; ctx.n];
                for (i, slot) in vals.iter_mut().enumerate() {
                    buf.clear();
                    buf.extend(members.iter().filter_map(|m| rows[*m].vals[i]));
                    if buf.is_empty() {
                        continue;
                    }
                    let q = scalar_param(i);
                    if a.op == AggregateOp::Quantile {
                        check_quantile(ctx, a, q);
                    }
                    *slot = Some(fold_floats(a.op, &mut buf, q));
                }
                // The name goes at the end if any member's would have: it can only still be in the group
                // labels through `by (__name__)`.
                let drop_name = members.iter().any(|m| rows[*m].drop_name);
                out.push(Row::new(g, drop_name, vals));
            }
            out.retain(|r| r.vals.iter().any(Option::is_some));
            Ok(Val::Vector(out))
        }
    }
}

/// The float aggregations when some input holds native histograms: `sum` and `avg` add histograms
/// (a group mixing floats and histograms at a step has no value there, with a warning), `count` and
/// `group` count them, and the others ignore them with an info annotation.
fn with_histograms(
    ctx: &Ctx<'_>,
    a: &Aggregate,
    rows: &[Row],
    groups: Vec<(Labels, Vec<usize>)>,
    scalar_param: impl Fn(usize) -> f64,
) -> Vec<Row> {
    let pos = a.expr.pos();
    let mut out = Vec::with_capacity(groups.len());
    let mut buf = Vec::new();
    for (g, members) in groups {
        let drop_name = members.iter().any(|m| rows[*m].drop_name);
        let mut row = Row::new(g, drop_name, vec![None; ctx.n]);
        for i in 0..ctx.n {
            buf.clear();
            buf.extend(members.iter().filter_map(|m| rows[*m].vals[i]));
            let hists: Vec<&Hist> = members.iter().filter_map(|m| rows[*m].hist(i)).collect();
            if buf.is_empty() && hists.is_empty() {
                continue;
            }
            match a.op {
                AggregateOp::Sum | AggregateOp::Avg if hists.is_empty() => {
                    row.vals[i] = Some(if a.op == AggregateOp::Sum {
                        kernels::sum(&buf)
                    } else {
                        kernels::mean(&buf)
                    });
                }
                AggregateOp::Sum | AggregateOp::Avg => {
                    if !buf.is_empty() {
                        ctx.warn(
                            "encountered a mix of histograms and floats for aggregation".into(),
                            pos,
                        );
                        continue;
                    }
                    let metric = |k: usize| rows[members[k]].labels.get(METRIC_NAME).unwrap_or("").to_owned();
                    let h = combine_histograms(ctx, &hists, a.op == AggregateOp::Avg, pos, metric);
                    if let Some(mut h) = h {
                        h.compact(0);
                        row.set_hist(i, Some(Arc::new(h)));
                    }
                }
                AggregateOp::Count => row.vals[i] = Some((buf.len() + hists.len()) as f64),
                AggregateOp::Group => row.vals[i] = Some(1.0),
                op => {
                    if !hists.is_empty() {
                        ctx.info(format!("ignored histogram in {} aggregation", op.as_str()), pos);
                    }
                    if buf.is_empty() {
                        continue;
                    }
                    let q = scalar_param(i);
                    if op == AggregateOp::Quantile {
                        check_quantile(ctx, a, q);
                    }
                    row.vals[i] = Some(fold_floats(op, &mut buf, q));
                }
            }
        }
        if row.any() {
            out.push(row);
        }
    }
    out
}

/// Adds `acc += h` as aggregations do, with their annotations; `false` when the two cannot be added.
fn accumulate(
    ctx: &Ctx<'_>,
    acc: &mut FloatHistogram,
    h: &FloatHistogram,
    subtract: bool,
    pos: promql_syntax::Pos,
    metric: &str,
) -> bool {
    let outcome = if subtract { acc.sub(h) } else { acc.add(h) };
    match outcome {
        Ok(o) => {
            if o.counter_reset_collision {
                ctx.warn(
                    "conflicting counter resets during histogram aggregation".into(),
                    pos,
                );
            }
            if o.custom_buckets_reconciled {
                ctx.info(
                    "mismatched custom buckets were reconciled during aggregation".into(),
                    pos,
                );
            }
            true
        }
        Err(_) => {
            ctx.warn(
                format!(
                    "vector contains a mix of histograms with exponential and custom buckets schemas for metric name {metric:?}"
                ),
                pos,
            );
            false
        }
    }
}

/// The sum of a group's histograms, or with `mean` their mean by Prometheus's incremental formula
/// (`acc += h/n − acc/n`), so results agree to the last bits.
fn combine_histograms(
    ctx: &Ctx<'_>,
    hists: &[&Hist],
    mean: bool,
    pos: promql_syntax::Pos,
    metric: impl Fn(usize) -> String,
) -> Option<FloatHistogram> {
    let mut acc = (*hists[0]).as_ref().clone();
    for (k, h) in hists.iter().enumerate().skip(1) {
        let mut add = (*h).as_ref().clone();
        if mean {
            let n = (k + 1) as f64;
            add.div(n);
            let mut right = acc.clone();
            right.div(n);
            if !accumulate(ctx, &mut add, &right, true, pos, &metric(k)) {
                return None;
            }
        }
        if !accumulate(ctx, &mut acc, &add, false, pos, &metric(k)) {
            return None;
        }
    }
    Some(acc)
}

/// Warns about a `quantile` parameter outside [0, 1].
fn check_quantile(ctx: &Ctx<'_>, a: &Aggregate, q: f64) {
    if q.is_nan() || !(0.0..=1.0).contains(&q) {
        ctx.warn(
            format!(
                "quantile value should be between 0 and 1, got {}",
                format_value(q)
            ),
            a.param.as_ref().map_or(a.pos, |p| p.pos()),
        );
    }
}

/// One group's float aggregate at one step; `q` is `quantile`'s parameter.
fn fold_floats(op: AggregateOp, buf: &mut [f64], q: f64) -> f64 {
    match op {
        AggregateOp::Sum => kernels::sum(buf),
        AggregateOp::Avg => kernels::mean(buf),
        AggregateOp::Count => buf.len() as f64,
        AggregateOp::Group => 1.0,
        AggregateOp::Min => buf
            .iter()
            .copied()
            .fold(f64::NAN, |m, v| if m.is_nan() || v < m { v } else { m }),
        AggregateOp::Max => buf
            .iter()
            .copied()
            .fold(f64::NAN, |m, v| if m.is_nan() || v > m { v } else { m }),
        AggregateOp::Stddev => kernels::stdvar(buf).sqrt(),
        AggregateOp::Stdvar => kernels::stdvar(buf),
        AggregateOp::Quantile => kernels::quantile(q, buf),
        _ => f64::NAN,
    }
}

/// Sort order for topk (descending) and bottomk (ascending); NaN always last.
fn order(x: f64, y: f64, descending: bool) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (x.is_nan(), y.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => {
            let o = x.partial_cmp(&y).unwrap_or(Ordering::Equal);
            if descending { o.reverse() } else { o }
        }
    }
}

/// A stable number in [0, 1) per label set, so `limit_ratio` keeps the same series at every step.
fn ratio_hash(l: &Labels) -> f64 {
    // FNV-1a over the label pairs; any fixed hash would do.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (n, v) in l.iter() {
        for b in n.bytes().chain([0xff]).chain(v.bytes()).chain([0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    (h >> 11) as f64 / (1u64 << 53) as f64
}
