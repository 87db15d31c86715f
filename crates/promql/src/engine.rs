//! Evaluation. Every node is evaluated once for all steps of the query: a vector is a list of rows,
//! each a label set with one optional value per step, so a range query selects each series once and
//! walks its samples with two pointers instead of re-selecting at every step. An instant query is a
//! range query of one step.

use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::time::{Duration, Instant};

use model::{FloatHistogram, Labels, METRIC_NAME, Sample};
use promql_syntax::{self as syn, At, Expr, ValueType};
use storage::{HistogramSample, Matcher, Queryable};

use crate::error::{Error, Result, exec};
use crate::value::{Element, Points, QueryResult, Value};

/// Engine settings; the defaults are Prometheus's.
#[derive(Debug, Clone)]
pub struct Options {
    /// How far back an instant selector looks for a sample.
    pub lookback_ms: i64,
    /// Most samples one query may hold in memory at once; past it, that query fails alone.
    pub max_samples: usize,
    pub timeout: Duration,
    /// Step of subqueries written without one (`x[5m:]`): Prometheus's global evaluation interval.
    pub default_subquery_step_ms: i64,
    /// Set by the caller to stop the query early (its client went away); the query then fails with
    /// [`Error::Canceled`].
    pub cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            lookback_ms: 5 * 60 * 1000,
            max_samples: 50_000_000,
            timeout: Duration::from_secs(120),
            default_subquery_step_ms: 60 * 1000,
            cancel: None,
        }
    }
}

/// When a query stops early: its deadline, and the caller's cancel flag.
#[derive(Debug, Clone)]
pub(crate) struct Stop {
    pub deadline: Instant,
    pub cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl Stop {
    pub fn check(&self) -> Result<()> {
        if self
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed))
        {
            return Err(Error::Canceled);
        }
        if Instant::now() > self.deadline {
            return Err(Error::Timeout("expression evaluation".into()));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Default)]
pub struct Engine {
    pub opts: Options,
}

/// A native histogram value, shared: an instant selector repeats one sample at every step its lookback
/// covers, and most operations pass histograms through unchanged.
pub(crate) type Hist = Arc<FloatHistogram>;

/// One series of an instant vector across all steps. `drop_name` marks a series whose metric name goes
/// once evaluation ends (Prometheus 3's delayed name removal), so `label_replace` can still read it.
/// A step holds a float in `vals`, a native histogram in `hists`, or nothing; `hists` stays empty in
/// rows without histograms, which are most, so float-only paths never look at it.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub labels: Labels,
    pub drop_name: bool,
    pub vals: Vec<Option<f64>>,
    pub hists: Vec<Option<Hist>>,
}

impl Row {
    /// A row of floats.
    pub fn new(labels: Labels, drop_name: bool, vals: Vec<Option<f64>>) -> Self {
        Self {
            labels,
            drop_name,
            vals,
            hists: Vec::new(),
        }
    }

    pub fn hist(&self, i: usize) -> Option<&Hist> {
        self.hists.get(i).and_then(Option::as_ref)
    }

    pub fn has_hists(&self) -> bool {
        self.hists.iter().any(Option::is_some)
    }

    /// Sets (or clears) the histogram at step `i`.
    pub fn set_hist(&mut self, i: usize, h: Option<Hist>) {
        if self.hists.is_empty() {
            if h.is_none() {
                return;
            }
            self.hists = vec![None; self.vals.len()];
        }
        self.hists[i] = h;
    }

    /// True if step `i` holds a value of either kind.
    pub fn present(&self, i: usize) -> bool {
        self.vals[i].is_some() || self.hist(i).is_some()
    }

    /// True if any step holds a value.
    pub fn any(&self) -> bool {
        self.vals.iter().any(Option::is_some) || self.has_hists()
    }

    /// Clears step `i`.
    pub fn clear(&mut self, i: usize) {
        self.vals[i] = None;
        if let Some(h) = self.hists.get_mut(i) {
            *h = None;
        }
    }
}

/// One series of a range vector: its float and histogram samples, stale markers removed.
#[derive(Debug, Clone)]
pub(crate) struct RangeRow {
    pub labels: Labels,
    pub drop_name: bool,
    pub samples: Vec<Sample>,
    pub hists: Vec<HistogramSample>,
}

/// Anything with a timestamp, so windows can be found over float and histogram samples alike.
pub(crate) trait Timed {
    fn t(&self) -> i64;
}

impl Timed for Sample {
    fn t(&self) -> i64 {
        self.t
    }
}

impl Timed for HistogramSample {
    fn t(&self) -> i64 {
        self.t
    }
}

/// The evaluation times of a context, without its shared state, so worker threads can take it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Steps {
    pub start: i64,
    pub step: i64,
    pub n: usize,
}

impl Steps {
    pub fn ts(&self, i: usize) -> i64 {
        self.start + i as i64 * self.step
    }

    /// For each step, its evaluation time and the slice of `samples` in its window. Windows move
    /// forward with the steps, so two pointers find them all in one pass over the samples.
    pub fn windows<'s, T: Timed>(
        self,
        samples: &'s [T],
        w: Window,
    ) -> impl Iterator<Item = (i64, &'s [T])> + use<'s, T> {
        self.window_bounds(samples, w)
            .map(|(t, lo, hi)| (t, &samples[lo..hi]))
    }

    /// As [`Steps::windows`], with each window as `lo..hi` indices into `samples`.
    pub fn window_bounds<T: Timed>(
        self,
        samples: &[T],
        w: Window,
    ) -> impl Iterator<Item = (i64, usize, usize)> + use<'_, T> {
        let (mut lo, mut hi) = (0usize, 0usize);
        (0..self.n).map(move |i| {
            let t = w.at.unwrap_or_else(|| self.ts(i)) - w.offset;
            let from = t - w.range;
            if w.at.is_some() {
                lo = 0;
                hi = 0;
            }
            while hi < samples.len() && samples[hi].t() <= t {
                hi += 1;
            }
            while lo < hi && samples[lo].t() <= from {
                lo += 1;
            }
            (t, lo.min(hi), hi)
        })
    }
}

/// Where each step's window of a range vector lies: `(T − range, T]` with `T = (at or step time) − offset`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    pub range: i64,
    pub offset: i64,
    pub at: Option<i64>,
}

pub(crate) enum Val {
    Scalar(Vec<f64>),
    Str(String),
    Vector(Vec<Row>),
    Matrix(Vec<RangeRow>, Window),
}

/// Allocated bytes as samples of [`storage::SAMPLE_BYTES`].
fn samples_of(bytes: usize) -> usize {
    storage::allocated(bytes).div_ceil(storage::SAMPLE_BYTES)
}

impl Val {
    /// What the value holds in memory, in samples of [`storage::SAMPLE_BYTES`]: each row's arrays as
    /// allocated (a vector row holds an `Option<f64>` per step), and its labels by their bytes.
    pub fn held_samples(&self) -> usize {
        match self {
            Val::Scalar(s) => s.len(),
            Val::Str(_) => 0,
            Val::Vector(rows) => rows
                .iter()
                .map(|r| {
                    samples_of(
                        r.vals.len() * size_of::<Option<f64>>() + r.hists.len() * size_of::<Option<Hist>>(),
                    ) + storage::label_samples(&r.labels)
                })
                .sum(),
            Val::Matrix(rows, _) => rows
                .iter()
                .map(|r| {
                    samples_of(
                        r.samples.len() * size_of::<Sample>() + r.hists.len() * size_of::<HistogramSample>(),
                    ) + storage::label_samples(&r.labels)
                })
                .sum(),
        }
    }
}

#[derive(Default)]
pub(crate) struct Notes {
    pub warnings: Vec<String>,
    pub infos: Vec<String>,
}

pub(crate) struct Ctx<'a> {
    pub store: &'a dyn Queryable,
    pub query: &'a str,
    pub start: i64,
    pub step: i64,
    pub n: usize,
    /// The outer query's range and step (0 for instant queries), for `@ start()`, `@ end()` and the
    /// `start()`, `end()`, `step()` and `range()` functions.
    pub query_start: i64,
    pub query_end: i64,
    pub query_step: i64,
    pub opts: &'a Options,
    pub stop: &'a Stop,
    pub samples: &'a Cell<usize>,
    pub notes: &'a RefCell<Notes>,
    /// Whether this is the outermost range query (for the `sort` warning).
    pub is_range: bool,
}

impl Engine {
    pub fn new(opts: Options) -> Self {
        Self { opts }
    }

    /// Parses and evaluates `query` at `t` (ms).
    pub fn instant(&self, store: &dyn Queryable, query: &str, t: i64) -> Result<QueryResult> {
        let expr = syn::parse(query).map_err(|e| Error::BadData(e.to_string()))?;
        self.run(store, query, &expr, t, t, 1, false)
    }

    /// Evaluates an already parsed query at `t` (ms); `query` is its text, for error positions. Rule
    /// evaluation parses each rule once and calls this at every tick.
    pub fn instant_expr(
        &self,
        store: &dyn Queryable,
        query: &str,
        expr: &Expr,
        t: i64,
    ) -> Result<QueryResult> {
        self.run(store, query, expr, t, t, 1, false)
    }

    /// Parses and evaluates `query` at every `step` ms from `start` to `end` inclusive.
    pub fn range(
        &self,
        store: &dyn Queryable,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<QueryResult> {
        let expr = syn::parse(query).map_err(|e| Error::BadData(e.to_string()))?;
        if step <= 0 {
            return Err(Error::BadData(
                "zero or negative query resolution step widths are not accepted. Try a positive integer"
                    .into(),
            ));
        }
        if end < start {
            return Err(Error::BadData(
                "end timestamp must not be before start time".into(),
            ));
        }
        match expr.value_type() {
            ValueType::Scalar | ValueType::Vector => {}
            t => {
                return Err(Error::BadData(format!(
                    "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
                    type_title(t)
                )));
            }
        }
        self.run(store, query, &expr, start, end, step, true)
    }

    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        store: &dyn Queryable,
        query: &str,
        expr: &Expr,
        start: i64,
        end: i64,
        step: i64,
        is_range: bool,
    ) -> Result<QueryResult> {
        let samples = Cell::new(0);
        let notes = RefCell::new(Notes::default());
        let stop = Stop {
            deadline: Instant::now() + self.opts.timeout,
            cancel: self.opts.cancel.clone(),
        };
        let n = ((end - start) / step.max(1)) as usize + 1;
        let ctx = Ctx {
            store,
            query,
            start,
            step: step.max(1),
            n,
            query_start: start,
            query_end: end,
            query_step: if is_range { step } else { 0 },
            opts: &self.opts,
            stop: &stop,
            samples: &samples,
            notes: &notes,
            is_range,
        };
        let val = ctx.eval(expr)?;
        let value = ctx.finish(val, is_range)?;
        let notes = notes.into_inner();
        Ok(QueryResult {
            value,
            warnings: notes.warnings,
            infos: notes.infos,
        })
    }
}

fn type_title(t: ValueType) -> &'static str {
    match t {
        ValueType::Scalar => "scalar",
        ValueType::Vector => "instant vector",
        ValueType::Matrix => "range vector",
        ValueType::String => "string",
    }
}

/// The labels without `__name__`.
pub(crate) fn without_name(l: &Labels) -> Labels {
    if l.get(METRIC_NAME).is_none() {
        return l.clone();
    }
    Labels::from_sorted_unchecked(
        l.iter()
            .filter(|(n, _)| *n != METRIC_NAME)
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect(),
    )
}

impl Ctx<'_> {
    pub fn ts(&self, i: usize) -> i64 {
        self.start + i as i64 * self.step
    }

    pub fn check_deadline(&self) -> Result<()> {
        self.stop.check()
    }

    /// Reads from the store within what is left of the query's sample budget, which the store stops
    /// at, so an oversized query never holds more than its budget. What it returns is charged.
    fn select(&self, start: i64, end: i64, matchers: &[Matcher]) -> Result<Vec<storage::Series>> {
        let left = self.opts.max_samples.saturating_sub(self.samples.get());
        let series = self
            .store
            .select_limited(start, end, matchers, left)
            .map_err(|e| match e {
                storage::Error::LimitExceeded(_) => self.too_many_samples(),
                e => Error::from(e),
            })?;
        let held: usize = series.iter().map(storage::Series::held_samples).sum();
        self.reserve(held)?;
        self.samples.set(self.samples.get() + held);
        Ok(series)
    }

    fn too_many_samples(&self) -> Error {
        exec(storage::too_many_samples(self.opts.max_samples))
    }

    /// Fails unless `n` more samples fit in the budget beside what the query holds now: called before
    /// building a value whose size is known, while its inputs are still held.
    pub fn reserve(&self, n: usize) -> Result<()> {
        if self.samples.get().saturating_add(n) > self.opts.max_samples {
            return Err(self.too_many_samples());
        }
        Ok(())
    }

    /// `(line:col)` of a node, as Prometheus appends to annotations.
    pub fn at_pos(&self, pos: syn::Pos) -> String {
        let (line, col) = syn::line_col(self.query, pos.start);
        format!("({line}:{col})")
    }

    pub fn warn(&self, msg: String, pos: syn::Pos) {
        let m = format!("PromQL warning: {msg} {}", self.at_pos(pos));
        let mut n = self.notes.borrow_mut();
        if !n.warnings.contains(&m) {
            n.warnings.push(m);
        }
    }

    pub fn info(&self, msg: String, pos: syn::Pos) {
        let m = format!("PromQL info: {msg} {}", self.at_pos(pos));
        let mut n = self.notes.borrow_mut();
        if !n.infos.contains(&m) {
            n.infos.push(m);
        }
    }

    fn resolve_at(&self, at: Option<At>) -> Option<i64> {
        at.map(|a| match a {
            At::Timestamp(t) => t,
            At::Start => self.query_start,
            At::End => self.query_end,
        })
    }

    /// A sub-context evaluating at other times (subqueries), sharing budget and notes.
    fn sub(&self, start: i64, end: i64, step: i64) -> Ctx<'_> {
        Ctx {
            store: self.store,
            query: self.query,
            start,
            step,
            n: ((end - start).max(0) / step) as usize + 1,
            query_start: self.query_start,
            query_end: self.query_end,
            query_step: self.query_step,
            opts: self.opts,
            stop: self.stop,
            samples: self.samples,
            notes: self.notes,
            is_range: false,
        }
    }

    /// Evaluates `e` and charges its value to the query's sample budget. A node's inputs are charged
    /// while it runs and released when it returns, so the count follows what the query holds.
    pub fn eval(&self, e: &Expr) -> Result<Val> {
        self.check_deadline()?;
        let before = self.samples.get();
        let v = self.eval_node(e)?;
        let held = before.saturating_add(v.held_samples());
        if held > self.opts.max_samples {
            return Err(self.too_many_samples());
        }
        self.samples.set(held);
        Ok(v)
    }

    fn eval_node(&self, e: &Expr) -> Result<Val> {
        match e {
            Expr::Number(x) => Ok(Val::Scalar(vec![x.value; self.n])),
            Expr::String(s) => Ok(Val::Str(s.value.clone())),
            Expr::Paren(p) => self.eval(&p.expr),
            Expr::VectorSelector(vs) => Ok(Val::Vector(self.select_instant(vs, false)?)),
            Expr::MatrixSelector(ms) => {
                let (rows, w) = self.select_range(ms)?;
                Ok(Val::Matrix(rows, w))
            }
            Expr::Subquery(sq) => {
                let (rows, w) = self.subquery(sq)?;
                Ok(Val::Matrix(rows, w))
            }
            Expr::Unary(u) => {
                let v = self.eval(&u.expr)?;
                if u.op == syn::UnaryOp::Pos {
                    return Ok(v);
                }
                Ok(match v {
                    Val::Scalar(s) => Val::Scalar(s.into_iter().map(|x| -x).collect()),
                    Val::Vector(mut rows) => {
                        for r in &mut rows {
                            r.drop_name = true;
                            for v in r.vals.iter_mut().flatten() {
                                *v = -*v;
                            }
                            for h in r.hists.iter_mut().flatten() {
                                Arc::make_mut(h).mul(-1.0);
                            }
                        }
                        Val::Vector(rows)
                    }
                    other => other,
                })
            }
            Expr::Binary(b) => crate::binary::eval(self, b),
            Expr::Aggregate(a) => crate::aggregate::eval(self, a),
            Expr::Call(c) => crate::functions::eval(self, c),
        }
    }

    fn matchers(vs: &syn::VectorSelector) -> Result<Vec<Matcher>> {
        vs.matchers
            .iter()
            .map(|m| {
                let op = match m.op {
                    syn::MatchOp::Equal => storage::MatchOp::Equal,
                    syn::MatchOp::NotEqual => storage::MatchOp::NotEqual,
                    syn::MatchOp::Regex => storage::MatchOp::Regex,
                    syn::MatchOp::NotRegex => storage::MatchOp::NotRegex,
                };
                Matcher::new(op, m.name.clone(), m.value.clone()).map_err(|e| Error::BadData(e.to_string()))
            })
            .collect()
    }

    /// The reference time of step `i` for a node with `offset` and `@`.
    fn ref_time(&self, i: usize, offset: i64, at: Option<i64>) -> i64 {
        at.unwrap_or_else(|| self.ts(i)) - offset
    }

    /// An instant selector at every step: the newest sample in `(T − lookback, T]`, unless it is a stale
    /// marker. With `timestamps`, the value is the sample's timestamp in seconds (`timestamp()`).
    pub fn select_instant(&self, vs: &syn::VectorSelector, timestamps: bool) -> Result<Vec<Row>> {
        let at = self.resolve_at(vs.at);
        let first = self.ref_time(0, vs.offset, at);
        let last = self.ref_time(self.n - 1, vs.offset, at);
        let lookback = self.opts.lookback_ms;
        let series = self.select(first - lookback + 1, last, &Self::matchers(vs)?)?;
        // Every series becomes a row of a value per step, built while the samples are still held.
        self.reserve(series.len().saturating_mul(self.n))?;
        let mut rows = Vec::with_capacity(series.len());
        for s in series {
            let mut row = Row::new(s.labels, false, vec![None; self.n]);
            let (mut j, mut k) = (0usize, 0usize);
            // With `@` every step has the same reference time: compute the first and copy it.
            let steps = if at.is_some() { 1 } else { self.n };
            for i in 0..steps {
                let t = self.ref_time(i, vs.offset, at);
                while j < s.samples.len() && s.samples[j].t <= t {
                    j += 1;
                }
                while k < s.histograms.len() && s.histograms[k].t <= t {
                    k += 1;
                }
                // The newest sample of either kind; a series has at most one per timestamp.
                let f = j.checked_sub(1).map(|j| s.samples[j]);
                let h = k.checked_sub(1).map(|k| &s.histograms[k]);
                match (f, h) {
                    (Some(x), h) if h.is_none_or(|h| h.t < x.t) => {
                        let live = x.t > t - lookback && !model::is_stale_nan(x.v);
                        row.vals[i] = live.then(|| if timestamps { x.t as f64 / 1000.0 } else { x.v });
                    }
                    (_, Some(h)) if h.t > t - lookback && !model::is_stale_nan(h.h.sum) => {
                        if timestamps {
                            row.vals[i] = Some(h.t as f64 / 1000.0);
                        } else {
                            row.set_hist(i, Some(h.h.clone()));
                        }
                    }
                    _ => {}
                }
            }
            if steps == 1 && self.n > 1 {
                let v0 = row.vals[0];
                row.vals.iter_mut().for_each(|x| *x = v0);
                if let Some(h0) = row.hist(0).cloned() {
                    row.hists.iter_mut().for_each(|x| *x = Some(h0.clone()));
                }
            }
            if row.any() {
                rows.push(row);
            }
        }
        Ok(rows)
    }

    fn select_range(&self, ms: &syn::MatrixSelector) -> Result<(Vec<RangeRow>, Window)> {
        let vs = &ms.selector;
        let at = self.resolve_at(vs.at);
        let w = Window {
            range: ms.range,
            offset: vs.offset,
            at,
        };
        let first = self.ref_time(0, vs.offset, at);
        let last = self.ref_time(self.n - 1, vs.offset, at);
        let series = self.select(first - ms.range + 1, last, &Self::matchers(vs)?)?;
        let mut rows = Vec::with_capacity(series.len());
        for s in series {
            let samples: Vec<Sample> = s
                .samples
                .into_iter()
                .filter(|x| !model::is_stale_nan(x.v))
                .collect();
            let mut hists = s.histograms;
            hists.retain(|h| !model::is_stale_nan(h.h.sum));
            if !samples.is_empty() || !hists.is_empty() {
                rows.push(RangeRow {
                    labels: s.labels,
                    drop_name: false,
                    samples,
                    hists,
                });
            }
        }
        Ok((rows, w))
    }

    fn subquery(&self, sq: &syn::Subquery) -> Result<(Vec<RangeRow>, Window)> {
        let at = self.resolve_at(sq.at);
        // Without a step, Prometheus uses its global evaluation interval, in instant and range queries
        // alike: never the query's own step.
        let step = sq.step.unwrap_or(self.opts.default_subquery_step_ms).max(1);
        let first = self.ref_time(0, sq.offset, at);
        let last = self.ref_time(self.n - 1, sq.offset, at);
        // Inner steps are multiples of the step from the epoch, strictly after the earliest window start.
        let lo = first - sq.range;
        let start = (lo.div_euclid(step) + 1) * step;
        let end = last.div_euclid(step) * step;
        let w = Window {
            range: sq.range,
            offset: sq.offset,
            at,
        };
        if end < start {
            return Ok((Vec::new(), w));
        }
        let inner = self.sub(start, end, step);
        let rows = match inner.eval(&sq.expr)? {
            Val::Vector(rows) => rows,
            Val::Scalar(_) | Val::Str(_) | Val::Matrix(..) => {
                return Err(exec("subquery is only allowed on instant vector"));
            }
        };
        let out = rows
            .into_iter()
            .filter_map(|r| {
                let samples: Vec<Sample> = r
                    .vals
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| v.map(|v| Sample::new(inner.ts(i), v)))
                    .collect();
                let hists: Vec<HistogramSample> = r
                    .hists
                    .iter()
                    .enumerate()
                    .filter_map(|(i, h)| h.clone().map(|h| HistogramSample { t: inner.ts(i), h }))
                    .collect();
                (!samples.is_empty() || !hists.is_empty()).then_some(RangeRow {
                    labels: r.labels,
                    drop_name: r.drop_name,
                    samples,
                    hists,
                })
            })
            .collect();
        Ok((out, w))
    }

    /// For each step, the slice of `samples` in its window.
    pub fn windows<'s, T: Timed>(
        &self,
        samples: &'s [T],
        w: Window,
    ) -> impl Iterator<Item = (i64, &'s [T])> + use<'s, T> {
        self.steps().windows(samples, w)
    }

    pub fn steps(&self) -> Steps {
        Steps {
            start: self.start,
            step: self.step,
            n: self.n,
        }
    }

    /// Turns the final value into the API's shape, dropping names marked for dropping and refusing
    /// label sets that collide at the same step.
    fn finish(&self, val: Val, is_range: bool) -> Result<Value> {
        match val {
            Val::Scalar(s) => {
                if is_range {
                    Ok(Value::Matrix(vec![Points {
                        labels: Labels::default(),
                        points: s.iter().enumerate().map(|(i, v)| (self.ts(i), *v)).collect(),
                        histograms: Vec::new(),
                    }]))
                } else {
                    Ok(Value::Scalar {
                        t: self.start,
                        v: s.first().copied().unwrap_or(f64::NAN),
                    })
                }
            }
            Val::Str(s) => Ok(Value::String { t: self.start, v: s }),
            Val::Vector(rows) => {
                let rows = merge_rows(finalize_names(rows))?;
                if is_range {
                    let mut out: Vec<Points> = rows
                        .into_iter()
                        .filter_map(|r| {
                            let points: Vec<(i64, f64)> = r
                                .vals
                                .iter()
                                .enumerate()
                                .filter_map(|(i, v)| v.map(|v| (self.ts(i), v)))
                                .collect();
                            let histograms: Vec<(i64, Hist)> = r
                                .hists
                                .into_iter()
                                .enumerate()
                                .filter_map(|(i, h)| h.map(|h| (self.ts(i), h)))
                                .collect();
                            (!points.is_empty() || !histograms.is_empty()).then_some(Points {
                                labels: r.labels,
                                points,
                                histograms,
                            })
                        })
                        .collect();
                    out.sort_by(|a, b| a.labels.cmp(&b.labels));
                    Ok(Value::Matrix(out))
                } else {
                    Ok(Value::Vector(
                        rows.into_iter()
                            .filter_map(|r| {
                                let h = r.hist(0).cloned();
                                if h.is_none() && r.vals[0].is_none() {
                                    return None;
                                }
                                Some(Element {
                                    t: self.start,
                                    v: r.vals[0].unwrap_or(0.0),
                                    h,
                                    labels: r.labels,
                                })
                            })
                            .collect(),
                    ))
                }
            }
            Val::Matrix(rows, w) => {
                let mut out = Vec::new();
                for r in rows {
                    let (_, window) = self.windows(&r.samples, w).next().unwrap_or((0, &[]));
                    let (_, hwindow) = self.windows(&r.hists, w).next().unwrap_or((0, &[]));
                    if window.is_empty() && hwindow.is_empty() {
                        continue;
                    }
                    let labels = if r.drop_name {
                        without_name(&r.labels)
                    } else {
                        r.labels
                    };
                    out.push(Points {
                        labels,
                        points: window.iter().map(|s| (s.t, s.v)).collect(),
                        histograms: hwindow.iter().map(|s| (s.t, s.h.clone())).collect(),
                    });
                }
                Ok(Value::Matrix(out))
            }
        }
    }
}

/// Applies delayed name removal.
pub(crate) fn finalize_names(rows: Vec<Row>) -> Vec<Row> {
    rows.into_iter()
        .map(|mut r| {
            if r.drop_name {
                r.labels = without_name(&r.labels);
                r.drop_name = false;
            }
            r
        })
        .collect()
}

/// Merges rows with equal label sets, which is fine as long as no two have a value at the same step;
/// otherwise Prometheus's "vector cannot contain metrics with the same labelset". Keeps the order of
/// first appearance (sort functions set it).
pub(crate) fn merge_rows(rows: Vec<Row>) -> Result<Vec<Row>> {
    let mut out: Vec<Row> = Vec::with_capacity(rows.len());
    let mut seen: std::collections::HashMap<Labels, usize> = std::collections::HashMap::new();
    for r in rows {
        match seen.get(&r.labels) {
            Some(&i) => {
                let o = &mut out[i];
                for (k, b) in r.vals.into_iter().enumerate() {
                    let bh = r.hists.get(k).cloned().flatten();
                    if b.is_none() && bh.is_none() {
                        continue;
                    }
                    if o.present(k) {
                        return Err(exec("vector cannot contain metrics with the same labelset"));
                    }
                    o.vals[k] = b;
                    o.set_hist(k, bh);
                }
            }
            None => {
                seen.insert(r.labels.clone(), out.len());
                out.push(r);
            }
        }
    }
    Ok(out)
}
