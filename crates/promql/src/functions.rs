//! Function calls: argument evaluation, per-step application of the kernels, labels of the results
//! (which functions drop the metric name) and the annotations Prometheus attaches.

use std::collections::HashMap;

use model::{FloatHistogram, Labels, METRIC_NAME};
use promql_syntax::{Call, Expr};
use regex::Regex;

use crate::engine::{Ctx, RangeRow, Row, Val, Window, without_name};
use crate::error::{Error, Result, exec};
use crate::kernels;

fn scalar_arg(ctx: &Ctx<'_>, e: &Expr) -> Result<Vec<f64>> {
    match ctx.eval(e)? {
        Val::Scalar(s) => Ok(s),
        _ => Err(exec("expected a scalar argument")),
    }
}

fn string_arg(ctx: &Ctx<'_>, e: &Expr) -> Result<String> {
    match ctx.eval(e)? {
        Val::Str(s) => Ok(s),
        _ => Err(exec("expected a string argument")),
    }
}

fn vector_arg(ctx: &Ctx<'_>, e: &Expr) -> Result<Vec<Row>> {
    match ctx.eval(e)? {
        Val::Vector(v) => Ok(v),
        _ => Err(exec("expected an instant vector argument")),
    }
}

/// A range vector argument. A function of one gives at most a row of a value per step for each of
/// its series, built while the range vector is held: that much is reserved from the budget.
fn matrix_arg(ctx: &Ctx<'_>, e: &Expr) -> Result<(Vec<RangeRow>, Window)> {
    match ctx.eval(e)? {
        Val::Matrix(rows, w) => {
            ctx.reserve(rows.len().saturating_mul(ctx.n))?;
            Ok((rows, w))
        }
        _ => Err(exec("expected a range vector argument")),
    }
}

/// Applies `f` to every present float; native histograms drop out (Prometheus's float functions skip
/// them). The result drops the metric name when `drop_name`.
fn map_values(mut rows: Vec<Row>, drop_name: bool, mut f: impl FnMut(usize, f64) -> Option<f64>) -> Vec<Row> {
    for r in &mut rows {
        r.hists = Vec::new();
        for (i, v) in r.vals.iter_mut().enumerate() {
            if let Some(x) = *v {
                *v = f(i, x);
            }
        }
        r.drop_name |= drop_name;
    }
    rows.retain(|r| r.vals.iter().any(Option::is_some));
    rows
}

fn unwrap_parens(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => unwrap_parens(&p.expr),
        other => other,
    }
}

pub(crate) fn eval(ctx: &Ctx<'_>, c: &Call) -> Result<Val> {
    let name = c.func.name;
    let args = &c.args;
    // The parser checks arity; this keeps a hand-built tree from indexing past the arguments.
    let f = c.func;
    let min = if f.variadic < 0 {
        f.arg_types.len().saturating_sub(1)
    } else {
        f.arg_types.len().saturating_sub(f.variadic as usize)
    };
    if args.len() < min {
        return Err(exec(format!(
            "expected at least {min} argument(s) in call to \"{name}\", got {}",
            args.len()
        )));
    }
    let simple = |f: fn(f64) -> f64| -> Result<Val> {
        Ok(Val::Vector(map_values(
            vector_arg(ctx, &args[0])?,
            true,
            |_, v| Some(f(v)),
        )))
    };
    match name {
        "abs" => simple(f64::abs),
        "ceil" => simple(f64::ceil),
        "floor" => simple(f64::floor),
        "exp" => simple(f64::exp),
        "sqrt" => simple(f64::sqrt),
        "ln" => simple(f64::ln),
        "log2" => simple(f64::log2),
        "log10" => simple(f64::log10),
        "sin" => simple(f64::sin),
        "cos" => simple(f64::cos),
        "tan" => simple(f64::tan),
        "asin" => simple(f64::asin),
        "acos" => simple(f64::acos),
        "atan" => simple(f64::atan),
        "sinh" => simple(f64::sinh),
        "cosh" => simple(f64::cosh),
        "tanh" => simple(f64::tanh),
        "asinh" => simple(f64::asinh),
        "acosh" => simple(f64::acosh),
        "atanh" => simple(f64::atanh),
        "deg" => simple(|v| v * 180.0 / std::f64::consts::PI),
        "rad" => simple(|v| v * std::f64::consts::PI / 180.0),
        "sgn" => simple(kernels::sgn),
        "round" => {
            let to = match args.get(1) {
                Some(e) => scalar_arg(ctx, e)?,
                None => vec![1.0; ctx.n],
            };
            Ok(Val::Vector(map_values(
                vector_arg(ctx, &args[0])?,
                true,
                |i, v| Some(kernels::round(v, to[i])),
            )))
        }
        "clamp" | "clamp_min" | "clamp_max" => {
            let rows = vector_arg(ctx, &args[0])?;
            let (lo, hi) = match name {
                "clamp" => (scalar_arg(ctx, &args[1])?, scalar_arg(ctx, &args[2])?),
                "clamp_min" => (scalar_arg(ctx, &args[1])?, vec![f64::NAN; ctx.n]),
                _ => (vec![f64::NAN; ctx.n], scalar_arg(ctx, &args[1])?),
            };
            Ok(Val::Vector(map_values(rows, true, |i, v| match name {
                // Go's math.Max/Min: a NaN bound makes the result NaN.
                "clamp" if hi[i] < lo[i] => None,
                "clamp" => Some(kernels::go_min(kernels::go_max(v, lo[i]), hi[i])),
                "clamp_min" => Some(kernels::go_max(v, lo[i])),
                _ => Some(kernels::go_min(v, hi[i])),
            })))
        }
        "timestamp" => {
            let rows = match unwrap_parens(&args[0]) {
                Expr::VectorSelector(vs) => ctx.select_instant(vs, true)?,
                other => {
                    let mut rows = vector_arg(ctx, other)?;
                    // Every value, histograms too, becomes the time of its step.
                    for r in &mut rows {
                        for i in 0..ctx.n {
                            if r.present(i) {
                                r.vals[i] = Some(ctx.ts(i) as f64 / 1000.0);
                            }
                        }
                        r.hists = Vec::new();
                    }
                    rows
                }
            };
            Ok(Val::Vector(map_values(rows, true, |_, v| Some(v))))
        }
        "vector" => {
            let s = scalar_arg(ctx, &args[0])?;
            Ok(Val::Vector(vec![Row::new(
                Labels::default(),
                false,
                s.into_iter().map(Some).collect(),
            )]))
        }
        "scalar" => {
            let rows = vector_arg(ctx, &args[0])?;
            Ok(Val::Scalar(
                (0..ctx.n)
                    .map(|i| {
                        let mut present = rows.iter().filter_map(|r| r.vals[i]);
                        match (present.next(), present.next()) {
                            (Some(v), None) => v,
                            _ => f64::NAN,
                        }
                    })
                    .collect(),
            ))
        }
        "time" => Ok(Val::Scalar(
            (0..ctx.n).map(|i| ctx.ts(i) as f64 / 1000.0).collect(),
        )),
        "pi" => Ok(Val::Scalar(vec![std::f64::consts::PI; ctx.n])),
        "start" | "end" | "step" | "range" => {
            let ms = match name {
                "start" => ctx.query_start,
                "end" => ctx.query_end,
                "step" => ctx.query_step,
                _ => ctx.query_end - ctx.query_start,
            };
            Ok(Val::Scalar(vec![ms as f64 / 1000.0; ctx.n]))
        }
        "min_of" | "max_of" => {
            let (a, b) = (scalar_arg(ctx, &args[0])?, scalar_arg(ctx, &args[1])?);
            Ok(Val::Scalar(
                a.iter()
                    .zip(&b)
                    .map(|(a, b)| {
                        if name == "min_of" {
                            kernels::go_min(*a, *b)
                        } else {
                            kernels::go_max(*a, *b)
                        }
                    })
                    .collect(),
            ))
        }
        "minute" | "hour" | "day_of_week" | "day_of_month" | "day_of_year" | "days_in_month" | "month"
        | "year" => {
            let rows = match args.first() {
                Some(e) => vector_arg(ctx, e)?,
                None => vec![Row::new(
                    Labels::default(),
                    false,
                    (0..ctx.n).map(|i| Some(ctx.ts(i) as f64 / 1000.0)).collect(),
                )],
            };
            Ok(Val::Vector(map_values(rows, true, |_, v| {
                kernels::time_part(name, v)
            })))
        }
        "absent" => {
            let rows = vector_arg(ctx, &args[0])?;
            let labels = absent_labels(&args[0]);
            let vals = (0..ctx.n)
                .map(|i| (!rows.iter().any(|r| r.present(i))).then_some(1.0))
                .collect();
            Ok(Val::Vector(vec![Row::new(labels, false, vals)]))
        }
        "absent_over_time" => {
            let (rows, w) = matrix_arg(ctx, &args[0])?;
            let mut any = vec![false; ctx.n];
            for r in &rows {
                for (i, (_, win)) in ctx.windows(&r.samples, w).enumerate() {
                    any[i] |= !win.is_empty();
                }
                for (i, (_, win)) in ctx.windows(&r.hists, w).enumerate() {
                    any[i] |= !win.is_empty();
                }
            }
            Ok(Val::Vector(vec![Row::new(
                absent_labels(&args[0]),
                false,
                any.into_iter().map(|a| (!a).then_some(1.0)).collect(),
            )]))
        }
        "label_replace" => label_replace(ctx, args),
        "label_join" => label_join(ctx, args),
        "sort" | "sort_desc" => {
            if ctx.is_range {
                ctx.warn(
                    "sort is ineffective for range queries since results are always ordered by labels".into(),
                    c.pos,
                );
            }
            // Sorting is by float value; histograms drop out, as in Prometheus.
            let mut rows = vector_arg(ctx, &args[0])?;
            for r in &mut rows {
                r.hists = Vec::new();
            }
            rows.retain(Row::any);
            let desc = name == "sort_desc";
            rows.sort_by(|a, b| {
                let (x, y) = (a.vals[0].unwrap_or(f64::NAN), b.vals[0].unwrap_or(f64::NAN));
                match (x.is_nan(), y.is_nan()) {
                    (true, true) => std::cmp::Ordering::Equal,
                    (true, false) => std::cmp::Ordering::Greater,
                    (false, true) => std::cmp::Ordering::Less,
                    _ if desc => y.total_cmp(&x),
                    _ => x.total_cmp(&y),
                }
            });
            Ok(Val::Vector(rows))
        }
        "sort_by_label" | "sort_by_label_desc" => {
            if ctx.is_range {
                ctx.warn(
                    "sort is ineffective for range queries since results are always ordered by labels".into(),
                    c.pos,
                );
            }
            let mut rows = vector_arg(ctx, &args[0])?;
            let names = args[1..]
                .iter()
                .map(|e| string_arg(ctx, e))
                .collect::<Result<Vec<_>>>()?;
            let desc = name == "sort_by_label_desc";
            rows.sort_by(|a, b| {
                let mut o = std::cmp::Ordering::Equal;
                for n in &names {
                    o = kernels::natural_cmp(a.labels.get(n).unwrap_or(""), b.labels.get(n).unwrap_or(""));
                    if o.is_ne() {
                        break;
                    }
                }
                let o = o.then_with(|| a.labels.cmp(&b.labels));
                if desc { o.reverse() } else { o }
            });
            Ok(Val::Vector(rows))
        }
        "histogram_quantile" => histogram_quantile(ctx, c),
        "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev" | "histogram_stdvar" => {
            let rows = vector_arg(ctx, &args[0])?;
            Ok(Val::Vector(map_histograms(rows, |_, h| match name {
                "histogram_count" => h.count,
                "histogram_sum" => h.sum,
                "histogram_avg" => h.sum / h.count,
                "histogram_stddev" => kernels::native::histogram_stdvar(h).sqrt(),
                _ => kernels::native::histogram_stdvar(h),
            })))
        }
        "histogram_fraction" => histogram_fraction(ctx, c),
        "histogram_quantiles" => histogram_quantiles(ctx, c),
        "info" | "start_timestamp" => Err(Error::Execution(format!(
            "function {name}() is not supported yet"
        ))),
        _ => range_function(ctx, c),
    }
}

/// Applies `f` to every native histogram; floats drop out. The result drops the metric name.
fn map_histograms(rows: Vec<Row>, f: impl Fn(usize, &FloatHistogram) -> f64) -> Vec<Row> {
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        if !r.has_hists() {
            continue;
        }
        let vals = r
            .hists
            .iter()
            .enumerate()
            .map(|(i, h)| h.as_ref().map(|h| f(i, h)))
            .collect();
        out.push(Row::new(r.labels, true, vals));
    }
    out
}

fn histogram_fraction(ctx: &Ctx<'_>, c: &Call) -> Result<Val> {
    let lower = scalar_arg(ctx, &c.args[0])?;
    let upper = scalar_arg(ctx, &c.args[1])?;
    let rows = vector_arg(ctx, &c.args[2])?;
    // Native histograms answer directly; classic buckets are grouped like histogram_quantile's.
    let (classic, native): (Vec<Row>, Vec<Row>) = rows.into_iter().partition(|r| !r.has_hists());
    let mut out = Vec::new();
    for r in native {
        let metric = r.labels.get(METRIC_NAME).unwrap_or("").to_owned();
        let vals = r
            .hists
            .iter()
            .enumerate()
            .map(|(i, h)| {
                h.as_ref().map(|h| {
                    let (v, nans) = kernels::native::histogram_fraction(lower[i], upper[i], h);
                    if nans {
                        ctx.info(
                            format!("input to histogram_fraction has NaN observations, which are excluded from all fractions for metric name {metric:?}"),
                            c.args[2].pos(),
                        );
                    }
                    v
                })
            })
            .collect();
        out.push(Row::new(r.labels, true, vals));
    }
    let (groups, _) = classic_groups(ctx, &classic, c.args[2].pos());
    let mut buckets = Vec::new();
    for (labels, members) in groups {
        let mut vals = vec![None; ctx.n];
        for (i, slot) in vals.iter_mut().enumerate() {
            buckets.clear();
            buckets.extend(
                members
                    .iter()
                    .filter_map(|(b, k)| classic[*k].vals[i].map(|v| kernels::Bucket::from((*b, v)))),
            );
            if !buckets.is_empty() {
                *slot = Some(kernels::histogram_fraction(lower[i], upper[i], &mut buckets));
            }
        }
        out.push(Row::new(labels, true, vals));
    }
    out.retain(Row::any);
    Ok(Val::Vector(out))
}

/// Classic histogram buckets grouped by their labels without `le`, each group with its labels
/// without the name, its buckets' bounds and row indexes; and for each group its labels with the
/// name, to spot a native histogram of the same name. Buckets without a valid `le` are left out with a warning.
#[allow(clippy::type_complexity)]
fn classic_groups(
    ctx: &Ctx<'_>,
    rows: &[Row],
    pos: promql_syntax::Pos,
) -> (Vec<(Labels, Vec<(f64, usize)>)>, Vec<Labels>) {
    let mut groups: Vec<(Labels, Vec<(f64, usize)>)> = Vec::new();
    let mut named: Vec<Labels> = Vec::new();
    let mut index: HashMap<Labels, usize> = HashMap::new();
    for (k, r) in rows.iter().enumerate() {
        let le = r.labels.get("le").unwrap_or("");
        let Some(bound) = kernels::parse_le(le) else {
            ctx.warn(
                format!(
                    "bucket label \"le\" is missing or has a malformed value of \"{le}\" for metric name \"{}\"",
                    r.labels.get(METRIC_NAME).unwrap_or("")
                ),
                pos,
            );
            continue;
        };
        // Buckets of different metric names stay apart, as in Prometheus, even though the results
        // lose the name (and then collide).
        let with_name = set_label(&r.labels, "le", "");
        let gi = *index.entry(with_name.clone()).or_insert_with(|| {
            groups.push((without_name(&with_name), Vec::new()));
            named.push(with_name);
            groups.len() - 1
        });
        groups[gi].1.push((bound, k));
    }
    (groups, named)
}

/// Labels `absent()` gives its result: the equality matchers of a plain selector argument.
fn absent_labels(e: &Expr) -> Labels {
    let vs = match unwrap_parens(e) {
        Expr::VectorSelector(vs) => vs,
        Expr::MatrixSelector(ms) => &ms.selector,
        _ => return Labels::default(),
    };
    // An equality matcher sets its label unless an earlier matcher named it; any other matcher on
    // that name, or a second one, removes it for good.
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for m in &vs.matchers {
        if m.name == METRIC_NAME {
            continue;
        }
        if m.op == promql_syntax::MatchOp::Equal && !seen.contains(&m.name.as_str()) {
            pairs.push((m.name.clone(), m.value.clone()));
        } else {
            pairs.retain(|(n, _)| *n != m.name);
        }
        seen.push(&m.name);
    }
    Labels::from_vec(pairs).unwrap_or_default()
}

fn set_label(l: &Labels, name: &str, value: &str) -> Labels {
    let mut pairs: Vec<(String, String)> = l
        .iter()
        .filter(|(n, _)| *n != name)
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    if !value.is_empty() {
        pairs.push((name.to_owned(), value.to_owned()));
    }
    pairs.sort();
    Labels::from_sorted_unchecked(pairs)
}

fn label_replace(ctx: &Ctx<'_>, args: &[Expr]) -> Result<Val> {
    let rows = vector_arg(ctx, &args[0])?;
    let dst = string_arg(ctx, &args[1])?;
    let repl = string_arg(ctx, &args[2])?;
    let src = string_arg(ctx, &args[3])?;
    let re = string_arg(ctx, &args[4])?;
    let re = Regex::new(&format!("^(?s:{re})$")).map_err(|e| {
        exec(format!(
            "invalid regular expression in label_replace(): {re}: {e}"
        ))
    })?;
    if dst.is_empty() {
        return Err(exec(format!(
            "invalid destination label name in label_replace(): {dst}"
        )));
    }
    let mut out = Vec::with_capacity(rows.len());
    for mut r in rows {
        let value = r.labels.get(&src).unwrap_or("");
        if let Some(caps) = re.captures(value) {
            let mut res = String::new();
            caps.expand(&repl, &mut res);
            r.labels = set_label(&r.labels, &dst, &res);
            if dst == METRIC_NAME {
                r.drop_name = false;
            }
        }
        out.push(r);
    }
    Ok(Val::Vector(crate::engine::merge_rows(out)?))
}

fn label_join(ctx: &Ctx<'_>, args: &[Expr]) -> Result<Val> {
    let rows = vector_arg(ctx, &args[0])?;
    let dst = string_arg(ctx, &args[1])?;
    let sep = string_arg(ctx, &args[2])?;
    let srcs = args[3..]
        .iter()
        .map(|e| string_arg(ctx, e))
        .collect::<Result<Vec<_>>>()?;
    if dst.is_empty() {
        return Err(exec(format!(
            "invalid destination label name in label_join(): {dst}"
        )));
    }
    let mut out = Vec::with_capacity(rows.len());
    for mut r in rows {
        let joined: Vec<&str> = srcs.iter().map(|s| r.labels.get(s).unwrap_or("")).collect();
        let joined = joined.join(&sep);
        r.labels = set_label(&r.labels, &dst, &joined);
        if dst == METRIC_NAME {
            r.drop_name = false;
        }
        out.push(r);
    }
    Ok(Val::Vector(crate::engine::merge_rows(out)?))
}

fn histogram_quantile(ctx: &Ctx<'_>, c: &Call) -> Result<Val> {
    let q = scalar_arg(ctx, &c.args[0])?;
    let rows = vector_arg(ctx, &c.args[1])?;
    check_quantiles(ctx, &q, c.args[0].pos());
    Ok(Val::Vector(quantile_rows(ctx, &q, rows, c.args[1].pos())))
}

/// Warns about a quantile outside [0, 1], whether or not there are buckets to apply it to.
fn check_quantiles(ctx: &Ctx<'_>, q: &[f64], pos: promql_syntax::Pos) {
    if let Some(bad) = q.iter().find(|q| q.is_nan() || !(0.0..=1.0).contains(*q)) {
        ctx.warn(
            format!(
                "quantile value should be between 0 and 1, got {}",
                crate::aggregate::format_value(*bad)
            ),
            pos,
        );
    }
}

/// `histogram_quantiles(v, "label", q1, q2, …)`: one `histogram_quantile` per quantile, each result
/// labelled with its quantile (written as OpenMetrics writes floats: `0.0`, `0.25`, `1.0`).
fn histogram_quantiles(ctx: &Ctx<'_>, c: &Call) -> Result<Val> {
    let label = string_arg(ctx, &c.args[1])?;
    let rows = vector_arg(ctx, &c.args[0])?;
    let mut out = Vec::new();
    for e in &c.args[2..] {
        let q = scalar_arg(ctx, e)?;
        check_quantiles(ctx, &q, e.pos());
        let text = q.first().map_or_else(String::new, |v| {
            let s = crate::aggregate::format_value(*v);
            if v.is_finite() && v.fract() == 0.0 && !s.contains('e') {
                format!("{s}.0")
            } else {
                s
            }
        });
        for mut r in quantile_rows(ctx, &q, rows.clone(), c.args[0].pos()) {
            r.labels = set_label(&r.labels, &label, &text);
            out.push(r);
        }
    }
    Ok(Val::Vector(crate::engine::merge_rows(
        crate::engine::finalize_names(out),
    )?))
}

/// The quantile `q` (per step) of every histogram in `rows`: native ones each on its own, classic
/// buckets grouped by their labels without `le`. `pos` is where annotations point.
fn quantile_rows(ctx: &Ctx<'_>, q: &[f64], rows: Vec<Row>, pos: promql_syntax::Pos) -> Vec<Row> {
    let (classic, native): (Vec<Row>, Vec<Row>) = rows.into_iter().partition(|r| !r.has_hists());
    let (groups, named) = classic_groups(ctx, &classic, pos);
    let mut out = Vec::with_capacity(groups.len() + native.len());
    // A native histogram with the labels of a classic one (its `le` aside) makes both meaningless
    // at that step.
    let mut clash: HashMap<&Labels, Vec<bool>> = HashMap::new();
    for r in &native {
        let metric = r.labels.get(METRIC_NAME).unwrap_or("");
        let gi = named.iter().position(|l| *l == r.labels);
        let mut vals = vec![None; ctx.n];
        for (i, slot) in vals.iter_mut().enumerate() {
            let Some(h) = r.hist(i) else { continue };
            if let Some(gi) = gi
                && groups[gi].1.iter().any(|(_, k)| classic[*k].vals[i].is_some())
            {
                ctx.warn(
                    format!(
                        "vector contains a mix of classic and native histograms for metric name {metric:?}"
                    ),
                    pos,
                );
                clash.entry(&named[gi]).or_insert_with(|| vec![false; ctx.n])[i] = true;
                continue;
            }
            let (v, nan) = kernels::native::histogram_quantile(q[i], h);
            match nan {
                kernels::native::NanObservations::None => {}
                kernels::native::NanObservations::ResultNaN => ctx.info(
                    format!("input to histogram_quantile has NaN observations, result is NaN for metric name {metric:?}"),
                    pos,
                ),
                kernels::native::NanObservations::SkewedHigher => ctx.info(
                    format!("input to histogram_quantile has NaN observations, result is skewed higher for metric name {metric:?}"),
                    pos,
                ),
            }
            *slot = Some(v);
        }
        out.push(Row::new(r.labels.clone(), true, vals));
    }
    let mut buckets = Vec::new();
    for ((labels, members), name) in groups.into_iter().zip(&named) {
        let clashes = clash.get(name);
        let mut vals = vec![None; ctx.n];
        for (i, slot) in vals.iter_mut().enumerate() {
            if clashes.is_some_and(|c| c[i]) {
                continue;
            }
            buckets.clear();
            buckets.extend(
                members
                    .iter()
                    .filter_map(|(b, k)| classic[*k].vals[i].map(|v| kernels::Bucket::from((*b, v)))),
            );
            if buckets.is_empty() {
                continue;
            }
            let (v, fix) = kernels::histogram_quantile(q[i], &mut buckets);
            if fix.forced {
                ctx.info(
                    format!(
                        "input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name \"{}\"",
                        classic[members[0].1].labels.get(METRIC_NAME).unwrap_or("")
                    ),
                    pos,
                );
            }
            *slot = Some(v);
        }
        out.push(Row::new(labels, false, vals));
    }
    out.retain(Row::any);
    out
}

/// One step of a range function over float samples: `win` is the window ending at `t`, `eval_t` the
/// step's evaluation time, `s(k)` the k-th scalar argument at this step.
fn float_step(
    name: &str,
    win: &[model::Sample],
    t: i64,
    w: Window,
    eval_t: i64,
    s: &dyn Fn(usize) -> f64,
    buf: &mut Vec<f64>,
) -> Result<Option<f64>> {
    Ok(match name {
        "rate" | "increase" => kernels::extrapolated_rate(win, t - w.range, t, true, name == "rate"),
        "delta" => kernels::extrapolated_rate(win, t - w.range, t, false, false),
        "irate" => kernels::instant_rate(win, true),
        "idelta" => kernels::instant_rate(win, false),
        "deriv" => kernels::deriv(win),
        // Predicts from the evaluation time, not from an `@`-pinned window end.
        "predict_linear" => kernels::predict_linear(win, eval_t, s(0)),
        "double_exponential_smoothing" => {
            kernels::double_exponential_smoothing(win, s(0), s(1)).map_err(|e| exec(e.to_string()))?
        }
        "changes" => kernels::changes(win),
        "resets" => kernels::resets(win),
        "avg_over_time" => kernels::avg_over_time(win),
        "sum_over_time" => kernels::sum_over_time(win),
        "min_over_time" => kernels::min_over_time(win),
        "max_over_time" => kernels::max_over_time(win),
        "count_over_time" => Some(win.len() as f64),
        "last_over_time" => win.last().map(|x| x.v),
        "first_over_time" => win.first().map(|x| x.v),
        "present_over_time" => Some(1.0),
        "stddev_over_time" => kernels::stddev_over_time(win),
        "stdvar_over_time" => kernels::stdvar_over_time(win),
        "mad_over_time" => kernels::mad_over_time(win),
        "quantile_over_time" => {
            buf.clear();
            buf.extend(win.iter().map(|x| x.v));
            Some(kernels::quantile(s(0), buf))
        }
        "ts_of_min_over_time" => kernels::ts_of_min_over_time(win),
        "ts_of_max_over_time" => kernels::ts_of_max_over_time(win),
        "ts_of_last_over_time" => win.last().map(|x| x.t as f64 / 1000.0),
        "ts_of_first_over_time" => win.first().map(|x| x.t as f64 / 1000.0),
        other => return Err(exec(format!("function {other}() is not implemented"))),
    })
}

/// A range function over a series holding native histograms, step by step, with Prometheus's rules
/// for windows of histograms only and of both kinds (see `kernels::native_range`).
fn histogram_row(
    ctx: &Ctx<'_>,
    name: &str,
    r: &RangeRow,
    w: Window,
    scalars: &[Vec<f64>],
    keep_name: bool,
    pos: promql_syntax::Pos,
) -> Result<Option<Row>> {
    use kernels::native_range as nr;
    let metric = r.labels.get(METRIC_NAME).unwrap_or("");
    let steps = ctx.steps();
    let mut row = Row::new(r.labels.clone(), r.drop_name || !keep_name, vec![None; steps.n]);
    let hist_bounds: Vec<(i64, usize, usize)> = steps.window_bounds(&r.hists, w).collect();
    let mut buf = Vec::new();
    let mut notes = nr::HistNotes::default();
    let (mut mixed, mut ignored) = (false, false);
    for (i, (t, lo, hi)) in steps.window_bounds(&r.samples, w).enumerate() {
        let f = &r.samples[lo..hi];
        let (_, hlo, hhi) = hist_bounds[i];
        let h = &r.hists[hlo..hhi];
        if f.is_empty() && h.is_empty() {
            continue;
        }
        let s = |k: usize| scalars.get(k).map_or(f64::NAN, |v| v[i]);
        let both = !f.is_empty() && !h.is_empty();
        let mut hist = None;
        let mut val = None;
        match name {
            "rate" | "increase" | "delta" | "sum_over_time" | "avg_over_time" if both => mixed = true,
            _ if h.is_empty() => val = float_step(name, f, t, w, steps.ts(i), &s, &mut buf)?,
            "rate" | "increase" | "delta" => {
                hist = nr::histogram_rate(h, t - w.range, t, name != "delta", name == "rate", &mut notes);
            }
            "sum_over_time" => hist = nr::sum_over_time_histograms(h, &mut notes),
            "avg_over_time" => hist = nr::avg_over_time_histograms(h, &mut notes),
            "irate" | "idelta" => match nr::last_two(f, h) {
                nr::LastTwo::Floats(a, b) => val = kernels::instant_rate(&[a, b], name == "irate"),
                nr::LastTwo::Histograms(a, b) => {
                    hist = nr::histogram_instant_pair(a, b, name == "irate", &mut notes);
                }
                nr::LastTwo::Mixed => mixed = true,
                nr::LastTwo::TooFew | nr::LastTwo::SameTime => {}
            },
            "resets" => val = nr::resets_mixed(f, h),
            "changes" => val = nr::changes_mixed(f, h),
            "count_over_time" => val = Some((f.len() + h.len()) as f64),
            "present_over_time" => val = Some(1.0),
            "first_over_time" | "last_over_time" => {
                let p = if name == "first_over_time" {
                    nr::first_in_range(f, h)
                } else {
                    nr::last_in_range(f, h)
                };
                match p {
                    Some(nr::RangePoint::Float(x)) => val = Some(x.v),
                    Some(nr::RangePoint::Histogram(x)) => hist = Some((*x.h).clone()),
                    None => {}
                }
            }
            "ts_of_first_over_time" => val = nr::ts_of_first_in_range(f, h),
            "ts_of_last_over_time" => val = nr::ts_of_last_in_range(f, h),
            // The rest read floats only: histograms alone give nothing, beside floats an info.
            _ => {
                if !f.is_empty() {
                    ignored = true;
                    val = float_step(name, f, t, w, steps.ts(i), &s, &mut buf)?;
                }
            }
        }
        row.vals[i] = val;
        if let Some(mut h) = hist {
            h.compact(0);
            row.set_hist(i, Some(std::sync::Arc::new(h)));
        }
    }
    if mixed {
        ctx.warn(
            format!("encountered a mix of histograms and floats for metric name {metric:?}"),
            pos,
        );
    }
    if ignored {
        ctx.info(
            format!("ignored histograms in a range containing both floats and histograms for metric name {metric:?}"),
            pos,
        );
    }
    let warn = |on: bool, msg: String| {
        if on {
            ctx.warn(msg, pos);
        }
    };
    let info = |on: bool, msg: &str| {
        if on {
            ctx.info(msg.to_owned(), pos);
        }
    };
    warn(
        notes.native_histogram_not_counter,
        format!("this native histogram metric is not a counter: {metric:?}"),
    );
    warn(
        notes.native_histogram_not_gauge,
        format!("this native histogram metric is not a gauge: {metric:?}"),
    );
    warn(
        notes.mixed_exponential_custom_histograms,
        format!(
            "vector contains a mix of histograms with exponential and custom buckets schemas for metric name {metric:?}"
        ),
    );
    warn(
        notes.histogram_counter_reset_collision,
        "conflicting counter resets during histogram aggregation".into(),
    );
    info(
        notes.mismatched_custom_buckets_added,
        "mismatched custom buckets were reconciled during addition",
    );
    info(
        notes.mismatched_custom_buckets_subtracted,
        "mismatched custom buckets were reconciled during subtraction",
    );
    info(
        notes.mismatched_custom_buckets_aggregated,
        "mismatched custom buckets were reconciled during aggregation",
    );
    Ok(row.any().then_some(row))
}

/// Samples plus steps below which a range function runs on the calling thread: spawning costs more.
const PARALLEL_WORK: usize = 200_000;

/// Functions over a range vector: one value per step from the samples in that step's window.
fn range_function(ctx: &Ctx<'_>, c: &Call) -> Result<Val> {
    let name = c.func.name;
    // The range vector is the argument of matrix type; some functions take a scalar first or after.
    let mi = c
        .args
        .iter()
        .position(|a| a.value_type() == promql_syntax::ValueType::Matrix)
        .unwrap_or(0);
    let scalars: Vec<Vec<f64>> = c
        .args
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != mi)
        .map(|(_, a)| scalar_arg(ctx, a))
        .collect::<Result<_>>()?;
    let Some(arg) = c.args.get(mi) else {
        return Err(exec(format!("function {name}() is not supported")));
    };
    let (rows, w) = matrix_arg(ctx, arg)?;
    if matches!(name, "rate" | "increase")
        && let Some(r) = rows.first()
    {
        let metric = r.labels.get(METRIC_NAME).unwrap_or("");
        if !rows.iter().all(|r| {
            let m = r.labels.get(METRIC_NAME).unwrap_or("");
            ["_total", "_sum", "_count", "_bucket"]
                .iter()
                .any(|s| m.ends_with(s))
        }) && !metric.is_empty()
        {
            ctx.info(
                format!(
                    "metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"{metric}\""
                ),
                arg.pos(),
            );
        }
    }
    if name == "quantile_over_time"
        && let Some(q) = scalars.first()
        && q.iter().any(|q| q.is_nan() || !(0.0..=1.0).contains(q))
    {
        let bad = q
            .iter()
            .copied()
            .find(|q| q.is_nan() || !(0.0..=1.0).contains(q))
            .unwrap_or(f64::NAN);
        ctx.warn(
            format!(
                "quantile value should be between 0 and 1, got {}",
                crate::aggregate::format_value(bad)
            ),
            c.args[0].pos(),
        );
    }
    let keep_name = matches!(name, "last_over_time" | "first_over_time");
    let steps = ctx.steps();
    let stop = ctx.stop;
    let eval_row = |r: &RangeRow, buf: &mut Vec<f64>| -> Result<Option<Row>> {
        stop.check()?;
        let mut vals = vec![None; steps.n];
        // Where a counter dropped (index of the sample after the drop), found once per series rather
        // than once per step.
        let resets: Vec<usize> = if matches!(name, "rate" | "increase") {
            (1..r.samples.len())
                .filter(|j| r.samples[*j].v < r.samples[j - 1].v)
                .collect()
        } else {
            Vec::new()
        };
        for (i, (t, lo, hi)) in steps.window_bounds(&r.samples, w).enumerate() {
            if lo == hi {
                continue;
            }
            let win = &r.samples[lo..hi];
            let s = |k: usize| scalars.get(k).map_or(f64::NAN, |v| v[i]);
            vals[i] = match name {
                "rate" | "increase" => {
                    let from = resets.partition_point(|j| *j <= lo);
                    let terms = resets[from..]
                        .iter()
                        .take_while(|j| **j < hi)
                        .map(|j| r.samples[j - 1].v);
                    kernels::extrapolated_rate_with_resets(win, terms, t - w.range, t, true, name == "rate")
                }
                _ => float_step(name, win, t, w, steps.ts(i), &s, buf)?,
            };
        }
        Ok(vals
            .iter()
            .any(Option::is_some)
            .then(|| Row::new(r.labels.clone(), r.drop_name || !keep_name, vals)))
    };
    // Series holding histograms take the slower path on this thread, which can annotate directly.
    let (rows, with_hists): (Vec<RangeRow>, Vec<RangeRow>) =
        rows.into_iter().partition(|r| r.hists.is_empty());
    let mut hist_rows = Vec::new();
    for r in &with_hists {
        ctx.check_deadline()?;
        if let Some(row) = histogram_row(ctx, name, r, w, &scalars, keep_name, arg.pos())? {
            hist_rows.push(row);
        }
    }
    // Series are independent: large inputs are split across threads, each taking a contiguous run so
    // the output keeps the input order.
    let work: usize = rows.iter().map(|r| r.samples.len() + steps.n).sum();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(rows.len().max(1));
    let results: Vec<Result<Option<Row>>> = if threads > 1 && work >= PARALLEL_WORK {
        let per = rows.len().div_ceil(threads);
        std::thread::scope(|sc| {
            let handles: Vec<_> = rows
                .chunks(per)
                .map(|part| {
                    let eval_row = &eval_row;
                    sc.spawn(move || {
                        let mut buf = Vec::new();
                        part.iter().map(|r| eval_row(r, &mut buf)).collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| {
                    h.join()
                        .unwrap_or_else(|_| vec![Err(exec("query worker panicked"))])
                })
                .collect()
        })
    } else {
        let mut buf = Vec::new();
        rows.iter().map(|r| eval_row(r, &mut buf)).collect()
    };
    let mut out = Vec::with_capacity(rows.len() + hist_rows.len());
    for r in results {
        if let Some(row) = r? {
            out.push(row);
        }
    }
    out.extend(hist_rows);
    Ok(Val::Vector(out))
}
