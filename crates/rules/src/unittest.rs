//! promtool's rule unit tests (`promtool test rules`): a YAML file names rule files and test groups;
//! each group loads its input series (the PromQL test-script notation), evaluates every rule group
//! at each evaluation interval from time 0, and compares the firing alerts and query results with the
//! expected ones. Output and exit status follow promtool's.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use model::{Labels, Sample};
use serde::Deserialize;
use storage::{MemStorage, Queryable};

use crate::file;
use crate::group::{Appendable, Env, Group};
use crate::metrics::RuleMetrics;
use crate::rule::{AlertState, Out};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFile {
    #[serde(default)]
    rule_files: Vec<String>,
    #[serde(default)]
    evaluation_interval: Option<String>,
    #[serde(default)]
    group_eval_order: Vec<String>,
    #[serde(default)]
    tests: Vec<TestGroup>,
    #[serde(default)]
    fuzzy_compare: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestGroup {
    #[serde(default)]
    interval: Option<String>,
    #[serde(default)]
    input_series: Vec<InputSeries>,
    #[serde(default)]
    alert_rule_test: Vec<AlertTest>,
    #[serde(default)]
    promql_expr_test: Vec<ExprTest>,
    #[serde(default)]
    external_labels: BTreeMap<String, String>,
    #[serde(default)]
    external_url: String,
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InputSeries {
    series: String,
    values: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertTest {
    eval_time: String,
    #[serde(default)]
    alertname: String,
    #[serde(default)]
    exp_alerts: Vec<ExpAlert>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpAlert {
    #[serde(default)]
    exp_labels: BTreeMap<String, String>,
    #[serde(default)]
    exp_annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExprTest {
    expr: String,
    eval_time: String,
    #[serde(default)]
    exp_samples: Vec<ExpSample>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpSample {
    labels: String,
    value: f64,
}

/// Runs the unit-test files and writes promtool's report to `out` (results) and `err` (failures).
/// Returns true if every test passed.
pub fn run_files(
    files: &[impl AsRef<Path>],
    out: &mut dyn std::io::Write,
    err: &mut dyn std::io::Write,
) -> bool {
    let mut ok = true;
    for f in files {
        let f = f.as_ref();
        let _ = writeln!(out, "Unit Testing:  {}", f.display());
        match run_file(f) {
            Ok(()) => {
                let _ = writeln!(out, "  SUCCESS");
            }
            Err(errs) => {
                ok = false;
                let _ = writeln!(err, "  FAILED:");
                for e in errs {
                    let _ = writeln!(err, "{e}");
                    let _ = writeln!(out);
                }
            }
        }
        let _ = writeln!(out);
    }
    ok
}

fn duration(s: &str, what: &str) -> Result<i64, String> {
    promql_syntax::parse_duration_checked(s)
        .map(|ms| ms as i64)
        .map_err(|e| format!("{what}: {e}"))
}

/// Runs one unit-test file; on failure returns promtool's error texts.
pub fn run_file(path: &Path) -> Result<(), Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| vec![format!("{}: {e}", path.display())])?;
    let tf: TestFile = serde_yaml::from_str(&text).map_err(|e| vec![e.to_string()])?;
    let base = path.parent().unwrap_or(Path::new("."));
    let rule_files = file::glob(&tf.rule_files, base).map_err(|e| vec![e])?;
    let eval_interval = match &tf.evaluation_interval {
        Some(s) => duration(s, "evaluation_interval").map_err(|e| vec![e])?,
        None => 60_000,
    }
    .max(1);
    let mut order: HashMap<String, usize> = HashMap::new();
    for (i, g) in tf.group_eval_order.iter().enumerate() {
        if order.insert(g.clone(), i).is_some() {
            return Err(vec![format!("group name repeated in evaluation order: {g}")]);
        }
    }
    let mut loaded = Vec::new();
    for f in &rule_files {
        loaded.push(file::load(f)?);
    }
    let mut errs = Vec::new();
    for t in &tf.tests {
        errs.extend(run_group(t, eval_interval, &order, &loaded, tf.fuzzy_compare));
    }
    if errs.is_empty() { Ok(()) } else { Err(errs) }
}

struct MemSink(Arc<MemStorage>);

impl Appendable for MemSink {
    fn append(&self, t: i64, samples: &[(Labels, Out)]) -> Result<(), String> {
        for (l, v) in samples {
            match v {
                Out::Float(f) => self.0.insert(l, Sample::new(t, *f)),
                Out::Histogram(h) => self.0.insert_histogram(l, t, (**h).clone()),
            }
        }
        Ok(())
    }
}

fn now_zero() -> i64 {
    0
}

fn run_group(
    tg: &TestGroup,
    eval_interval: i64,
    order: &HashMap<String, usize>,
    files: &[file::RuleFile],
    fuzzy: bool,
) -> Vec<String> {
    let interval = match &tg.interval {
        Some(s) => match duration(s, "interval") {
            Ok(v) => v,
            Err(e) => return vec![e],
        },
        None => eval_interval,
    };
    let store = Arc::new(MemStorage::new());
    if let Err(e) = load_series(&store, &tg.input_series, interval) {
        return vec![e];
    }
    let engine = promql::Engine::new(promql::Options {
        default_subquery_step_ms: eval_interval,
        ..Default::default()
    });
    let env = Env {
        engine: engine.clone(),
        store: store.clone() as Arc<dyn Queryable>,
        sink: Arc::new(MemSink(store.clone())),
        notifier: None,
        external_labels: tg.external_labels.clone(),
        external_url: tg.external_url.clone(),
        resend_delay_ms: 60_000,
        metrics: Arc::new(RuleMetrics::default()),
        now_ms: now_zero,
    };
    let mut groups = Vec::new();
    for f in files {
        for g in &f.groups {
            match Group::new(&f.path, g, eval_interval, 0, true) {
                Ok(g) => groups.push(g),
                Err(e) => return vec![format!("{}: {e}", f.path)],
            }
        }
    }
    groups.sort_by_key(|g| order.get(&g.name).copied().unwrap_or(0));

    let in_group = if tg.name.is_empty() {
        String::new()
    } else {
        format!(" (in TestGroup {})", tg.name)
    };
    let mut alert_tests: BTreeMap<i64, Vec<(&AlertTest, i64)>> = BTreeMap::new();
    for a in &tg.alert_rule_test {
        if a.alertname.is_empty() {
            return vec![format!(
                "an item under alert_rule_test misses required attribute alertname at eval_time {}{in_group}",
                a.eval_time
            )];
        }
        match duration(&a.eval_time, "eval_time") {
            Ok(t) => alert_tests.entry(t).or_default().push((a, t)),
            Err(e) => return vec![e],
        }
    }
    let mut expr_times = Vec::new();
    for e in &tg.promql_expr_test {
        match duration(&e.eval_time, "eval_time") {
            Ok(t) => expr_times.push(t),
            Err(e) => return vec![e],
        }
    }
    let maxt = alert_tests
        .keys()
        .copied()
        .chain(expr_times.iter().copied())
        .max()
        .unwrap_or(0);

    let mut errs = Vec::new();
    let mut pending_alert_times: Vec<i64> = alert_tests.keys().copied().collect();
    pending_alert_times.reverse();
    let mut ts = 0;
    while ts <= maxt {
        let mut eval_errs = Vec::new();
        for g in &groups {
            g.eval(&env, ts);
            for r in &g.rules {
                if let Some(e) = &r.status.lock().last_error {
                    eval_errs.push(format!(
                        "    rule: {}, time: {}, err: {e}",
                        r.name(),
                        template::duration_string(ts * 1_000_000)
                    ));
                }
            }
        }
        if !eval_errs.is_empty() {
            errs.extend(eval_errs);
            return errs;
        }
        // Alert checks whose eval_time falls in [ts, ts + interval) look at this evaluation.
        while let Some(&t) = pending_alert_times.last() {
            if !(ts <= t && t < ts + eval_interval) {
                break;
            }
            pending_alert_times.pop();
            for (case, _) in &alert_tests[&t] {
                let mut got: Vec<(Labels, Labels)> = Vec::new();
                for g in &groups {
                    for r in &g.rules {
                        if !r.is_alerting() || r.name() != case.alertname {
                            continue;
                        }
                        for a in r.alerts.lock().values() {
                            if a.state == AlertState::Firing {
                                got.push((a.labels.clone(), map_labels(&a.annotations)));
                            }
                        }
                    }
                }
                let mut exp: Vec<(Labels, Labels)> = case
                    .exp_alerts
                    .iter()
                    .map(|a| {
                        let mut l = a.exp_labels.clone();
                        l.insert("alertname".into(), case.alertname.clone());
                        (map_labels(&l), map_labels(&a.exp_annotations))
                    })
                    .collect();
                got.sort();
                exp.sort();
                if got != exp {
                    let name = if tg.name.is_empty() {
                        String::new()
                    } else {
                        format!("    name: {},\n", tg.name)
                    };
                    errs.push(format!(
                        "{name}    alertname: {}, time: {}, \n        exp:{}, \n        got:{}",
                        case.alertname,
                        case.eval_time,
                        indent(&alerts_string(&exp), "            "),
                        indent(&alerts_string(&got), "            ")
                    ));
                }
            }
        }
        ts += eval_interval;
    }

    for (case, &t) in tg.promql_expr_test.iter().zip(&expr_times) {
        let got = match query_vector(&engine, store.as_ref(), &case.expr, t) {
            Ok(v) => v,
            Err(e) => {
                errs.push(format!(
                    "    expr: {:?}, time: {}, err: {e}",
                    case.expr, case.eval_time
                ));
                continue;
            }
        };
        let mut exp = Vec::new();
        let mut bad = None;
        for s in &case.exp_samples {
            match parse_metric(&s.labels) {
                Ok(l) => exp.push((l, s.value)),
                Err(e) => {
                    bad = Some(format!("labels {:?}: {e}", s.labels));
                    break;
                }
            }
        }
        if let Some(e) = bad {
            errs.push(format!(
                "    expr: {:?}, time: {}, err: {e}",
                case.expr, case.eval_time
            ));
            continue;
        }
        let mut got = got;
        got.sort_by(|a, b| a.0.cmp(&b.0));
        exp.sort_by(|a, b| a.0.cmp(&b.0));
        let same = got.len() == exp.len()
            && got
                .iter()
                .zip(&exp)
                .all(|(g, e)| g.0 == e.0 && float_eq(g.1, e.1, fuzzy));
        if !same {
            errs.push(format!(
                "    expr: {:?}, time: {},\n        exp: {}\n        got: {}",
                case.expr,
                case.eval_time,
                samples_string(&exp),
                samples_string(&got)
            ));
        }
    }
    errs
}

/// Exact comparison as promtool's (`reflect.DeepEqual`: NaN never equals NaN), or with `fuzzy_compare`
/// ignoring the last bit of the mantissa.
fn float_eq(a: f64, b: f64, fuzzy: bool) -> bool {
    if a == b {
        return true;
    }
    fuzzy && a.is_finite() && b.is_finite() && (a.to_bits().abs_diff(b.to_bits()) <= 1)
}

fn query_vector(
    engine: &promql::Engine,
    store: &dyn Queryable,
    q: &str,
    t: i64,
) -> Result<Vec<(Labels, f64)>, String> {
    let res = engine.instant(store, q, t).map_err(|e| e.to_string())?;
    match res.value {
        promql::Value::Vector(v) => Ok(v.into_iter().map(|e| (e.labels, e.v)).collect()),
        promql::Value::Scalar { v, .. } => Ok(vec![(Labels::default(), v)]),
        _ => Err("rule result is not a vector or scalar".into()),
    }
}

/// Loads `input_series` as the PromQL test scripts' `load <interval>` block does.
fn load_series(store: &MemStorage, series: &[InputSeries], interval_ms: i64) -> Result<(), String> {
    let mut text = format!("load {}\n", promql_syntax::format_duration_ms(interval_ms as u64));
    for s in series {
        if s.series.contains('\n') || s.values.contains('\n') {
            return Err(format!(
                "series {:?}: a series and its values must be on one line",
                s.series
            ));
        }
        text.push_str(&format!("  {} {}\n", s.series, s.values));
    }
    let script = promql::script::parse(&text).map_err(|e| e.to_string())?;
    for cmd in script.commands {
        let promql::script::Command::Load(l) = cmd else {
            continue;
        };
        for s in l.series {
            for (i, p) in s.points.iter().enumerate() {
                let t = i as i64 * l.interval_ms;
                match p {
                    promql::script::Point::Float(v) => store.insert(&s.labels, Sample::new(t, *v)),
                    promql::script::Point::Missing => {}
                    promql::script::Point::Histogram { .. } => {
                        return Err(format!(
                            "series {}: native histogram values are not supported in input_series",
                            s.labels
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

/// `metric{a="b"}` or `{a="b"}` as promtool's `parser.ParseMetric`.
fn parse_metric(s: &str) -> Result<Labels, String> {
    let expr = promql_syntax::parse(s).map_err(|e| e.to_string())?;
    let promql_syntax::Expr::VectorSelector(vs) = &expr else {
        return Err(format!(
            "1:1: parse error: unexpected expression {s:?}, expected a series"
        ));
    };
    let mut pairs = Vec::new();
    for m in &vs.matchers {
        if m.op != promql_syntax::MatchOp::Equal {
            return Err("1:1: parse error: expected label matching operator \"=\"".into());
        }
        pairs.push((m.name.clone(), m.value.clone()));
    }
    if let Some(n) = &vs.name
        && !pairs.iter().any(|(k, _)| k == model::METRIC_NAME)
    {
        pairs.push((model::METRIC_NAME.to_string(), n.clone()));
    }
    Labels::from_vec(pairs).map_err(|e| e.to_string())
}

fn map_labels(m: &BTreeMap<String, String>) -> Labels {
    Labels::from_vec(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default()
}

/// Prometheus's `labels.Labels.String()`: `{a="b", c="d"}`.
fn labels_string(l: &Labels) -> String {
    let body: Vec<String> = l.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", body.join(", "))
}

fn alerts_string(v: &[(Labels, Labels)]) -> String {
    if v.is_empty() {
        return "[]".into();
    }
    let mut s = String::from("[");
    for (i, (l, a)) in v.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let one = format!("\nLabels:{}\nAnnotations:{}", labels_string(l), labels_string(a));
        s.push_str(&format!("\n{i}:{}", indent(&one, "  ")));
    }
    s.push_str("\n]");
    s
}

fn samples_string(v: &[(Labels, f64)]) -> String {
    if v.is_empty() {
        return "nil".into();
    }
    v.iter()
        .map(|(l, f)| format!("{} {}", labels_string(l), template::format_float(*f, 'E', -1)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn indent(s: &str, pad: &str) -> String {
    let lines: Vec<&str> = s.split('\n').collect();
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        if i > 0 {
            out.push_str(pad);
        }
        out.push_str(l);
        if i + 1 != lines.len() {
            out.push('\n');
        }
    }
    out
}
