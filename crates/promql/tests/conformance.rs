#![allow(clippy::unwrap_used)]
//! Runs PromQL test scripts through the engine: Prometheus's own (`../shared/conformance/promql`, or
//! the directory in `PHAROS_PROMQL_TESTDATA`) and Pharos's (`testdata/*.test`).
//!
//! - Core upstream files: every eval must pass unless `testdata/skip.txt` lists it (`file:line reason`);
//!   a listed case that passes fails the run, so the list only shrinks.
//! - Experimental and native-histogram upstream files: run and counted, never failing the run.
//! - Pharos's own files: every eval must pass.
//!
//! `PHAROS_PROMQL_FILTER=functions.test` or `=functions.test:123` runs one file or one eval;
//! `PHAROS_PROMQL_UPDATE_SKIPS=1` rewrites the skip list from the current failures.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use model::histogram::parse_test_notation_full;
use model::{FloatHistogram, Labels, Sample};
use promql::script::{
    self, Command, Eval, EvalKind, Expect, Expected, HistogramSpec, MessageMatch, Point, SeriesSpec,
};
use promql::{Engine, QueryResult, Value};
use storage::MemStorage;

const CORE: &[&str] = &[
    "aggregators",
    "at_modifier",
    "collision",
    "functions",
    "histograms",
    "literals",
    "name_label_dropping",
    "operators",
    "range_queries",
    "selectors",
    "staleness",
    "subquery",
    "trig_functions",
];

fn upstream_dir() -> PathBuf {
    std::env::var_os("PHAROS_PROMQL_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/promql"))
}

fn own_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

fn skip_path() -> PathBuf {
    own_dir().join("skip.txt")
}

fn load_skips() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(skip_path()).unwrap_or_default();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once(char::is_whitespace) {
            Some((k, r)) => (k.to_owned(), r.trim().to_owned()),
            None => (l.to_owned(), String::new()),
        })
        .collect()
}

fn almost_equal(a: f64, b: f64) -> bool {
    promql::kernels::almost_equal(a, b, 1e-6)
}

fn fmt_points(points: &[(i64, f64)]) -> String {
    points
        .iter()
        .map(|(t, v)| format!("{v}@{t}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The histogram of point `index` of a `{{a}}`, `{{a}}xN` or `{{a}}+{{b}}xN` item, built as promqltest
/// builds it (step by step, compacting each), and whether it spelled out a counter-reset hint.
fn histogram_at(spec: &HistogramSpec, index: u64) -> (FloatHistogram, bool) {
    let base = parse_test_notation_full(&spec.base).unwrap_or_else(|e| panic!("{}: {e}", spec.base));
    let mut h = base.histogram;
    if let Some(step) = &spec.step {
        let inc = parse_test_notation_full(&step.literal)
            .unwrap_or_else(|e| panic!("{}: {e}", step.literal))
            .histogram;
        for _ in 0..index {
            let r = if step.negative { h.sub(&inc) } else { h.add(&inc) };
            r.unwrap_or_else(|e| panic!("{spec:?}: {e}"));
            h.compact(0);
        }
    }
    (h, base.counter_reset_hint_set)
}

/// One classic histogram at one time, being collected for `load_with_nhcb`.
#[derive(Default)]
struct ClassicAt {
    /// `(le, cumulative count)`, ascending by `le`.
    buckets: Vec<(f64, f64)>,
    count: Option<f64>,
    sum: f64,
    broken: bool,
}

impl ClassicAt {
    fn set_bucket(&mut self, le: f64, count: f64) {
        if count < 0.0 {
            self.broken = true;
            return;
        }
        let i = self.buckets.partition_point(|(b, _)| *b < le);
        if self.buckets.get(i).is_some_and(|(b, _)| *b == le) {
            return;
        }
        let below = i.checked_sub(1).map(|j| self.buckets[j].1);
        let above = self.buckets.get(i).map(|b| b.1);
        if below.is_some_and(|c| count < c) || above.is_some_and(|c| count > c) {
            self.broken = true;
            return;
        }
        self.buckets.insert(i, (le, count));
    }

    /// The custom-buckets histogram promqltest makes of it (`convertnhcb`), if it is consistent.
    fn convert(mut self) -> Option<FloatHistogram> {
        if self.broken {
            return None;
        }
        let count = self
            .count
            .or_else(|| self.buckets.last().map(|b| b.1))
            .unwrap_or(0.0);
        if self.buckets.last().is_none_or(|b| b.0 != f64::INFINITY) {
            self.buckets.push((f64::INFINITY, count));
        }
        if self.buckets.last().is_some_and(|b| b.1 != count) {
            return None;
        }
        let mut h = FloatHistogram {
            schema: model::histogram::CUSTOM_BUCKETS_SCHEMA,
            count,
            sum: self.sum,
            positive_spans: vec![model::histogram::Span {
                offset: 0,
                length: self.buckets.len() as u32,
            }],
            ..FloatHistogram::default()
        };
        let mut prev = 0.0;
        for (le, c) in &self.buckets {
            h.positive_buckets.push(c - prev);
            prev = *c;
            if le.is_finite() {
                h.custom_values.push(*le);
            }
        }
        h.compact(0);
        Some(h)
    }
}

/// `load_with_nhcb`: each classic histogram (`_bucket`, `_count`, `_sum` series) is also loaded as a
/// native histogram with custom buckets under its base name.
fn load_nhcb(store: &MemStorage, series: &[SeriesSpec], interval_ms: i64) {
    let mut by_base: BTreeMap<Labels, BTreeMap<i64, ClassicAt>> = BTreeMap::new();
    for s in series {
        let name = s.labels.metric_name().unwrap_or("");
        let (kind, base) = if let Some(b) = name.strip_suffix("_bucket") {
            (0, b)
        } else if let Some(b) = name.strip_suffix("_sum") {
            (1, b)
        } else if let Some(b) = name.strip_suffix("_count") {
            (2, b)
        } else {
            continue;
        };
        let le = if kind == 0 {
            match s.labels.get("le").and_then(promql::kernels::parse_le) {
                Some(le) if !le.is_nan() => Some(le),
                _ => continue,
            }
        } else {
            None
        };
        let pairs: Vec<(String, String)> = s
            .labels
            .iter()
            .filter(|(n, _)| *n != "le")
            .map(|(n, v)| {
                let v = if n == model::METRIC_NAME { base } else { v };
                (n.to_owned(), v.to_owned())
            })
            .collect();
        let key = Labels::from_vec(pairs).unwrap();
        let at = by_base.entry(key).or_default();
        for (i, p) in s.points.iter().enumerate() {
            let Point::Float(v) = p else { continue };
            let c = at.entry(i as i64 * interval_ms).or_default();
            match (kind, le) {
                (0, Some(le)) => c.set_bucket(le, *v),
                (1, _) => c.sum = *v,
                _ if *v < 0.0 => c.broken = true,
                _ => c.count = Some(*v),
            }
        }
    }
    for (labels, at) in by_base {
        for (t, c) in at {
            if let Some(h) = c.convert() {
                store.insert_histogram(&labels, t, h);
            }
        }
    }
}

fn fmt_histograms(points: &[(i64, std::sync::Arc<FloatHistogram>)]) -> String {
    points
        .iter()
        .map(|(t, h)| format!("{}@{t}", h.to_test_notation()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn expected_histograms(spec: &SeriesSpec, start: i64, step: i64) -> Vec<(i64, FloatHistogram, bool)> {
    spec.points
        .iter()
        .enumerate()
        .filter_map(|(i, p)| match p {
            Point::Histogram { spec, index } => {
                let (h, hint) = histogram_at(spec, *index);
                Some((start + i as i64 * step, h, hint))
            }
            _ => None,
        })
        .collect()
}

fn expected_points(spec: &SeriesSpec, start: i64, step: i64) -> Vec<(i64, f64)> {
    spec.points
        .iter()
        .enumerate()
        .filter_map(|(i, p)| match p {
            Point::Float(v) => Some((start + i as i64 * step, *v)),
            _ => None,
        })
        .collect()
}

fn matches_msg(m: &MessageMatch, msg: &str) -> bool {
    match m {
        MessageMatch::Exact(t) => msg.trim() == t.trim(),
        MessageMatch::Regex(r) => regex::Regex::new(r).is_ok_and(|re| re.is_match(msg)),
    }
}

fn check_annotations(
    kind: &str,
    got: &[String],
    expects: &[&Option<MessageMatch>],
    none: bool,
) -> Result<(), String> {
    if none && !got.is_empty() {
        return Err(format!("expected no {kind} annotations, got {got:?}"));
    }
    if expects.is_empty() {
        return Ok(());
    }
    if got.is_empty() {
        return Err(format!("expected {kind} annotations, got none"));
    }
    for e in expects {
        if let Some(m) = e
            && !got.iter().any(|g| matches_msg(m, g))
        {
            return Err(format!(
                "no {kind} annotation matches {:?}; got {got:?}",
                m.text()
            ));
        }
    }
    let specific: Vec<&MessageMatch> = expects.iter().filter_map(|e| e.as_ref()).collect();
    if specific.len() == expects.len() {
        for g in got {
            if !specific.iter().any(|m| matches_msg(m, g)) {
                return Err(format!("unexpected {kind} annotation {g:?}"));
            }
        }
    }
    Ok(())
}

fn compare(eval: &Eval, res: &QueryResult) -> Result<(), String> {
    match (&eval.expected, &res.value) {
        (Expected::Scalar(want), Value::Scalar { v, .. }) => {
            if almost_equal(*want, *v) {
                Ok(())
            } else {
                Err(format!("scalar: got {v}, want {want}"))
            }
        }
        (Expected::String(want), Value::String { v, .. }) => {
            if want == v {
                Ok(())
            } else {
                Err(format!("string: got {v:?}, want {want:?}"))
            }
        }
        (Expected::Series(want), Value::Vector(got)) => {
            let show = |e: &promql::Element| match &e.h {
                Some(h) => format!("{} {}", e.labels, h.to_test_notation()),
                None => format!("{} {}", e.labels, e.v),
            };
            if got.len() != want.len() {
                let got: Vec<String> = got.iter().map(show).collect();
                return Err(format!("got {} series, want {}: {got:?}", got.len(), want.len()));
            }
            for (i, w) in want.iter().enumerate() {
                let found = if eval.is_ordered() {
                    got.get(i).filter(|e| e.labels == w.labels)
                } else {
                    got.iter().find(|e| e.labels == w.labels)
                };
                let ok = |e: &promql::Element| match (w.points.first(), &e.h) {
                    (Some(Point::Float(wv)), None) => almost_equal(e.v, *wv),
                    (Some(Point::Histogram { spec, index }), Some(h)) => {
                        let (want, hint) = histogram_at(spec, *index);
                        h.matches_expected_with_hint(&want, hint)
                    }
                    _ => false,
                };
                match found {
                    Some(e) if ok(e) => {}
                    Some(e) => {
                        return Err(format!(
                            "{}: got {}, want {:?}",
                            w.labels,
                            show(e),
                            w.points.first()
                        ));
                    }
                    None => {
                        let got: Vec<String> = got.iter().map(|e| e.labels.to_string()).collect();
                        return Err(format!(
                            "missing series {} (ordered: {}); got {got:?}",
                            w.labels,
                            eval.is_ordered()
                        ));
                    }
                }
            }
            Ok(())
        }
        (Expected::Series(want), Value::Matrix(got))
        | (Expected::RangeVector { series: want, .. }, Value::Matrix(got)) => {
            let (start, step) = match (&eval.kind, &eval.expected) {
                (_, Expected::RangeVector { range, .. }) => (range.start_ms, range.step_ms),
                (EvalKind::Range(r), _) => (r.start_ms, r.step_ms),
                (EvalKind::Instant { at_ms }, _) => (*at_ms, 0),
            };
            #[allow(clippy::type_complexity)]
            let want: Vec<(&Labels, Vec<(i64, f64)>, Vec<(i64, FloatHistogram, bool)>)> = want
                .iter()
                .map(|s| {
                    (
                        &s.labels,
                        expected_points(s, start, step),
                        expected_histograms(s, start, step),
                    )
                })
                .filter(|(_, p, h)| !p.is_empty() || !h.is_empty())
                .collect();
            if got.len() != want.len() {
                let g: Vec<String> = got
                    .iter()
                    .map(|s| format!("{} [{}]", s.labels, fmt_points(&s.points)))
                    .collect();
                return Err(format!("got {} series, want {}: {g:?}", got.len(), want.len()));
            }
            for (labels, points, hists) in want {
                let Some(s) = got.iter().find(|s| s.labels == *labels) else {
                    return Err(format!("missing series {labels}"));
                };
                let ok = s.points.len() == points.len()
                    && s.points
                        .iter()
                        .zip(&points)
                        .all(|(a, b)| a.0 == b.0 && almost_equal(a.1, b.1))
                    && s.histograms.len() == hists.len()
                    && s.histograms
                        .iter()
                        .zip(&hists)
                        .all(|(a, b)| a.0 == b.0 && a.1.matches_expected_with_hint(&b.1, b.2));
                if !ok {
                    let want_h: Vec<String> = hists
                        .iter()
                        .map(|(t, h, _)| format!("{}@{t}", h.to_test_notation()))
                        .collect();
                    return Err(format!(
                        "{labels}: got [{}] [{}], want [{}] [{}]",
                        fmt_points(&s.points),
                        fmt_histograms(&s.histograms),
                        fmt_points(&points),
                        want_h.join(" ")
                    ));
                }
            }
            Ok(())
        }
        (want, got) => Err(format!("result type {}, want {want:?}", got.type_name())),
    }
}

fn run_eval(engine: &Engine, store: &MemStorage, eval: &Eval) -> Result<(), String> {
    let res = match &eval.kind {
        EvalKind::Instant { .. } => engine.instant(store, &eval.query, eval.instant_time_ms().unwrap_or(0)),
        EvalKind::Range(r) => engine.range(store, &eval.query, r.start_ms, r.end_ms, r.step_ms),
    };
    if let Some(fail) = eval.expected_failure() {
        return match (res, fail) {
            (Ok(_), _) => Err("expected an error, the query succeeded".into()),
            (Err(_), None) => Ok(()),
            (Err(e), Some(m)) if matches_msg(m, &e.to_string()) => Ok(()),
            (Err(e), Some(m)) => Err(format!("error {:?} does not match {:?}", e.to_string(), m.text())),
        };
    }
    let res = res.map_err(|e| format!("query failed: {e}"))?;
    compare(eval, &res)?;
    let warns: Vec<&Option<MessageMatch>> = eval
        .expects
        .iter()
        .filter_map(|e| if let Expect::Warn(m) = e { Some(m) } else { None })
        .collect();
    let infos: Vec<&Option<MessageMatch>> = eval
        .expects
        .iter()
        .filter_map(|e| if let Expect::Info(m) = e { Some(m) } else { None })
        .collect();
    check_annotations(
        "warn",
        &res.warnings,
        &warns,
        eval.expects.contains(&Expect::NoWarn),
    )?;
    check_annotations("info", &res.infos, &infos, eval.expects.contains(&Expect::NoInfo))?;
    // An instant query must give the same answer as the last step of a range query ending there.
    if let (EvalKind::Instant { .. }, Expected::Series(_), Value::Vector(inst)) =
        (&eval.kind, &eval.expected, &res.value)
    {
        let t = eval.instant_time_ms().unwrap_or(0);
        let ranged = engine
            .range(store, &eval.query, t - 60_000, t, 60_000)
            .map_err(|e| format!("as a range query: {e}"))?;
        let Value::Matrix(series) = ranged.value else {
            return Err("as a range query: not a matrix".into());
        };
        type Got = (String, f64, Option<std::sync::Arc<FloatHistogram>>);
        let mut at_t: Vec<Got> = series
            .iter()
            .filter_map(|s| {
                let f = s.points.last().filter(|p| p.0 == t);
                let h = s.histograms.last().filter(|p| p.0 == t);
                match (f, h) {
                    (Some(p), _) => Some((s.labels.to_string(), p.1, None)),
                    (None, Some(p)) => Some((s.labels.to_string(), 0.0, Some(p.1.clone()))),
                    _ => None,
                }
            })
            .collect();
        let mut inst: Vec<Got> = inst
            .iter()
            .map(|e| (e.labels.to_string(), e.v, e.h.clone()))
            .collect();
        at_t.sort_by(|a, b| a.0.cmp(&b.0));
        inst.sort_by(|a, b| a.0.cmp(&b.0));
        let same = at_t.len() == inst.len()
            && at_t.iter().zip(&inst).all(|(a, b)| {
                a.0 == b.0
                    && match (&a.2, &b.2) {
                        (None, None) => almost_equal(a.1, b.1),
                        (Some(x), Some(y)) => x.matches_expected(y),
                        _ => false,
                    }
            });
        if !same {
            return Err(format!(
                "range query at the same time differs: {at_t:?} vs instant {inst:?}"
            ));
        }
    }
    Ok(())
}

#[derive(Default)]
struct Outcome {
    passed: usize,
    /// (key, reason)
    failed: Vec<(String, String)>,
}

fn run_file(path: &Path, name: &str, filter_line: Option<usize>) -> Outcome {
    let text = std::fs::read_to_string(path).unwrap();
    let parsed = script::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let engine = Engine::default();
    let mut store = MemStorage::new();
    // Names of loaded native-histogram series: evals that mention one cannot pass without them.
    let mut histogram_names: Vec<String> = Vec::new();
    let mut out = Outcome::default();
    for cmd in &parsed.commands {
        match cmd {
            Command::Clear { .. } => {
                store = MemStorage::new();
                histogram_names.clear();
            }
            Command::Load(l) => {
                for s in &l.series {
                    let name = s.labels.metric_name().unwrap_or("");
                    if s.has_histograms() {
                        histogram_names.push(name.to_owned());
                    }
                    // `load_with_nhcb` also loads each classic histogram as a native one under its base name.
                    if l.with_nhcb {
                        for suffix in ["_bucket", "_count", "_sum"] {
                            if let Some(base) = name.strip_suffix(suffix) {
                                histogram_names.push(base.to_owned());
                            }
                        }
                    }
                    for (i, p) in s.points.iter().enumerate() {
                        let t = i as i64 * l.interval_ms;
                        match p {
                            Point::Float(v) => store.insert(&s.labels, Sample::new(t, *v)),
                            Point::Histogram { spec, index } => {
                                store.insert_histogram(&s.labels, t, histogram_at(spec, *index).0)
                            }
                            Point::Missing => {}
                        }
                    }
                }
                if l.with_nhcb {
                    load_nhcb(&store, &l.series, l.interval_ms);
                }
            }
            Command::Eval(e) => {
                if filter_line.is_some_and(|l| l != e.line) {
                    continue;
                }
                let key = format!("{name}:{}", e.line);
                match run_eval(&engine, &store, e) {
                    Ok(()) => out.passed += 1,
                    Err(why) => {
                        let mentions = histogram_names.iter().any(|n| mentions_metric(&e.query, n));
                        let why = if mentions || e.has_histograms() {
                            format!("native histograms ({why})")
                        } else {
                            why
                        };
                        out.failed.push((key, why));
                    }
                }
            }
        }
    }
    out
}

/// True if `query` names `metric` as a whole word.
fn mentions_metric(query: &str, metric: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    !metric.is_empty()
        && query.match_indices(metric).any(|(i, _)| {
            let before = query[..i].chars().next_back();
            let after = query[i + metric.len()..].chars().next();
            !before.is_some_and(word) && !after.is_some_and(word)
        })
}

fn test_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "test"));
    files.sort();
    files
}

fn filter() -> Option<(String, Option<usize>)> {
    let f = std::env::var("PHAROS_PROMQL_FILTER")
        .ok()
        .filter(|s| !s.is_empty())?;
    Some(match f.split_once(':') {
        Some((file, line)) => (file.to_owned(), line.parse().ok()),
        None => (f, None),
    })
}

#[test]
fn pharos_test_scripts() {
    let mut failures = String::new();
    let mut total = 0;
    let filt = filter();
    for path in test_files(&own_dir()) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if filt.as_ref().is_some_and(|(f, _)| *f != name) {
            continue;
        }
        let out = run_file(&path, &name, filt.as_ref().and_then(|f| f.1));
        total += out.passed + out.failed.len();
        for (k, why) in out.failed {
            let _ = writeln!(failures, "{k}: {why}");
        }
    }
    println!("pharos test scripts: {total} evals");
    assert!(failures.is_empty(), "failing evals:\n{failures}");
}

#[test]
fn prometheus_conformance() {
    let dir = upstream_dir();
    if !dir.is_dir() {
        println!(
            "NOTICE: Prometheus's PromQL test scripts not found at {} (set PHAROS_PROMQL_TESTDATA); skipping them",
            dir.display()
        );
        return;
    }
    let skips = load_skips();
    let filt = filter();
    let update = std::env::var_os("PHAROS_PROMQL_UPDATE_SKIPS").is_some();
    let mut unexpected = String::new();
    let mut new_skips: Vec<(String, String)> = Vec::new();
    let mut summary = String::new();
    let (mut core_pass, mut core_total) = (0, 0);
    for path in test_files(&dir) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if filt.as_ref().is_some_and(|(f, _)| *f != name) {
            continue;
        }
        let stem = name.trim_end_matches(".test");
        let core = CORE.contains(&stem);
        let out = run_file(&path, &name, filt.as_ref().and_then(|f| f.1));
        let n = out.passed + out.failed.len();
        let _ = writeln!(
            summary,
            "  {name:28} {:>4}/{:<4} passed{}",
            out.passed,
            n,
            if core {
                ""
            } else {
                "  (experimental or native histograms: counted only)"
            }
        );
        if !core {
            continue;
        }
        core_pass += out.passed;
        core_total += n;
        let failed: BTreeMap<&str, &str> = out.failed.iter().map(|(k, w)| (k.as_str(), w.as_str())).collect();
        for (k, why) in &out.failed {
            new_skips.push((k.clone(), why.clone()));
            if !skips.contains_key(k) {
                let _ = writeln!(unexpected, "FAIL {k}: {why}");
            }
        }
        if filt.as_ref().is_none_or(|f| f.1.is_none()) {
            for k in skips.keys().filter(|k| k.starts_with(&format!("{name}:"))) {
                if !failed.contains_key(k.as_str()) {
                    let _ = writeln!(
                        unexpected,
                        "PASS {k} is listed in testdata/skip.txt but now passes: remove it"
                    );
                }
            }
        }
    }
    println!(
        "PromQL conformance (Prometheus test scripts in {}):\n{summary}  core: {core_pass}/{core_total} passed, {} skipped with a reason in testdata/skip.txt",
        dir.display(),
        core_total - core_pass
    );
    if update && filt.is_none() {
        let mut text = String::from(
            "# Upstream PromQL conformance cases (core files) that Pharos does not pass yet, one per line:\n# <file>:<line of the eval> <reason>. Generated by PHAROS_PROMQL_UPDATE_SKIPS=1; reasons may be edited.\n",
        );
        for (k, why) in &new_skips {
            let reason = skips.get(k).cloned().unwrap_or_else(|| why.replace('\n', " "));
            let _ = writeln!(text, "{k} {reason}");
        }
        std::fs::write(skip_path(), text).unwrap();
        println!("rewrote {}", skip_path().display());
        return;
    }
    assert!(
        unexpected.is_empty(),
        "conformance differences not in testdata/skip.txt:\n{unexpected}"
    );
}
