//! Range functions over native histograms, and the rules for windows that hold both float and
//! histogram samples: pure functions over one series' samples inside one step's window, reproducing
//! Prometheus 3 (`promql/functions.go`) result for result and annotation for annotation. No engine
//! types, no labels: what Prometheus would annotate is reported in [`HistNotes`], and what depends on
//! the metric name or the query position is left to the engine.
//!
//! Sources read: `promql/functions.go` of Prometheus's main line shortly after v3.13 (the version with
//! `extendedHistogramRate`, `pickFirstSampleIndices` and start-timestamp handling; the test scripts
//! this project runs are v3.14's), cross-checked against an earlier 3.x `functions.go`;
//! `model/histogram/float_histogram.go` (`Add`/`Sub`/`DetectReset`/`Equals` of 3.x); the texts of
//! `util/annotations/annotations.go`; and the expectations in `native_histograms.test`,
//! `functions.test` and `extended_vectors.test`. Start timestamps (OTel created-timestamps) are not
//! modelled: storage does not carry them, and without them Prometheus takes the same paths as here.
//!
//! # What each range function does with histograms
//!
//! "Only histograms" means the window holds at least one histogram and no float; "mixed" means it
//! holds both. The annotation texts are those of [`HistNotes`]'s fields plus:
//!
//! - MIXED: `PromQL warning: encountered a mix of histograms and floats for metric name "<name>"`
//!   (`NewMixedFloatsHistogramsWarning`).
//! - IGNORED: `PromQL info: ignored histograms in a range containing both floats and histograms for
//!   metric name "<name>"` (`NewHistogramIgnoredInMixedRangeInfo`).
//!
//! | function (Prometheus) | only histograms | mixed |
//! |---|---|---|
//! | `rate`, `increase`, `delta` (`extrapolatedRate` → `histogramRate`) | [`histogram_rate`]; fewer than 2 histograms: no output, no annotation | MIXED, no output (even with one sample of each kind) |
//! | same with `anchored`/`smoothed` (`extendedHistogramRate`) | [`extended_histogram_rate`] | MIXED, no output |
//! | `irate`, `idelta` (`instantValue`) | [`histogram_instant_rate`] on the last two | [`last_two`] decides: the last two samples across both kinds; two floats → the float kernel, no annotation; a float and a histogram → MIXED, no output; two histograms → [`histogram_instant_pair`]; fewer than two samples or equal timestamps → no output, no annotation |
//! | `resets` (`funcResets`) | [`resets_mixed`] with no floats | [`resets_mixed`]: samples merged in time order, every change of kind counts as a reset; no annotation |
//! | `changes` (`funcChanges`) | [`changes_mixed`] with no floats | [`changes_mixed`]: every change of kind counts as a change; no annotation |
//! | `sum_over_time` (`funcSumOverTime`) | [`sum_over_time_histograms`] | MIXED, no output |
//! | `avg_over_time` (`funcAvgOverTime`) | [`avg_over_time_histograms`] | MIXED, no output |
//! | `count_over_time` | number of floats plus histograms | same |
//! | `present_over_time`, `absent_over_time` | as for floats (any sample counts) | same |
//! | `first_over_time`, `last_over_time` | the first/last histogram, unchanged (hint kept) | [`first_in_range`] / [`last_in_range`]: the earlier/later sample of either kind; no annotation |
//! | `ts_of_first_over_time`, `ts_of_last_over_time` | timestamp of the first/last histogram | [`ts_of_first_in_range`] / [`ts_of_last_in_range`]: min/max over both kinds; no annotation |
//! | `max_over_time`, `min_over_time`, `ts_of_max_over_time`, `ts_of_min_over_time` (`compareOverTime`) | no output, no annotation | the float result over the floats only, plus IGNORED |
//! | `quantile_over_time` | no output, no annotation (not even the invalid-quantile warning) | the float result, the invalid-quantile warning if due, plus IGNORED |
//! | `stddev_over_time`, `stdvar_over_time` (`varianceOverTime`), `mad_over_time` | no output, no annotation | the float result plus IGNORED |
//! | `deriv`, `predict_linear`, `double_exponential_smoothing` | no output, no annotation | fewer than 2 floats: no output, plus IGNORED if there is exactly 1 float; otherwise the float result plus IGNORED |
//!
//! Annotations come from every step's evaluation and are deduplicated by text for the whole query.
//! Where Prometheus reads histograms only for their count and sum, it invents counter-reset hints
//! first ([`stats_iterator_hint`]), which can add the conflicting-resets warning.
//!
//! # Anchored `resets` and `changes`
//!
//! With the `anchored` modifier the window also holds the last sample at or before the range start.
//! Prometheus (`pickFirstSampleIndices`) keeps only the single latest sample at or before the range
//! start, of either kind, as the baseline; [`anchored_start`] reproduces that choice, and the engine
//! passes `floats[f..]` and `hists[h..]` to [`resets_mixed`] / [`changes_mixed`]. Earlier 3.x releases
//! anchored on floats only (histograms before the range start were never dropped, and a window without
//! floats gave no output); the v3.14 test scripts do not tell the two apart.

use std::borrow::Cow;

use model::histogram::{
    AddOutcome, Bucket, CUSTOM_BUCKETS_SCHEMA, CounterResetHint, HistogramError, Span,
    intersect_custom_bounds, target_index,
};
use model::{FloatHistogram, Sample};
use storage::HistogramSample;

use super::{extrapolation_factor, kahan_inc, range_seconds};

/// What Prometheus would have annotated while computing a histogram range function. Each field stands
/// for one annotation; the engine adds the metric name and the position of the range argument.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HistNotes {
    /// `PromQL warning: this native histogram metric is not a counter: "<name>"`
    /// (`NewNativeHistogramNotCounterWarning`): `rate`, `increase` or `irate` met a gauge histogram.
    pub native_histogram_not_counter: bool,
    /// `PromQL warning: this native histogram metric is not a gauge: "<name>"`
    /// (`NewNativeHistogramNotGaugeWarning`): `delta` or `idelta` met a histogram that is not a gauge.
    pub native_histogram_not_gauge: bool,
    /// `PromQL warning: vector contains a mix of histograms with exponential and custom buckets schemas
    /// for metric name "<name>"` (`NewMixedExponentialCustomHistogramsWarning`). Always comes with "no
    /// output".
    pub mixed_exponential_custom_histograms: bool,
    /// `PromQL warning: conflicting counter resets during histogram aggregation`
    /// (`NewHistogramCounterResetCollisionWarning` with `HistogramAgg`): `sum_over_time` or
    /// `avg_over_time` summed histograms hinted as following a reset with ones hinted as not.
    pub histogram_counter_reset_collision: bool,
    /// `PromQL info: mismatched custom buckets were reconciled during addition`
    /// (`NewMismatchedCustomBucketsHistogramsInfo` with `HistogramAdd`).
    pub mismatched_custom_buckets_added: bool,
    /// `PromQL info: mismatched custom buckets were reconciled during subtraction`
    /// (`NewMismatchedCustomBucketsHistogramsInfo` with `HistogramSub`).
    pub mismatched_custom_buckets_subtracted: bool,
    /// `PromQL info: mismatched custom buckets were reconciled during aggregation`
    /// (`NewMismatchedCustomBucketsHistogramsInfo` with `HistogramAgg`): `sum_over_time` or
    /// `avg_over_time`.
    pub mismatched_custom_buckets_aggregated: bool,
}

impl HistNotes {
    /// Adds the notes of `other` to these.
    pub fn merge(&mut self, other: HistNotes) {
        self.native_histogram_not_counter |= other.native_histogram_not_counter;
        self.native_histogram_not_gauge |= other.native_histogram_not_gauge;
        self.mixed_exponential_custom_histograms |= other.mixed_exponential_custom_histograms;
        self.histogram_counter_reset_collision |= other.histogram_counter_reset_collision;
        self.mismatched_custom_buckets_added |= other.mismatched_custom_buckets_added;
        self.mismatched_custom_buckets_subtracted |= other.mismatched_custom_buckets_subtracted;
        self.mismatched_custom_buckets_aggregated |= other.mismatched_custom_buckets_aggregated;
    }

    /// True if there is nothing to annotate.
    pub fn is_empty(&self) -> bool {
        *self == HistNotes::default()
    }

    /// Where Prometheus bails out with a fresh annotation set (`annotations.New().Add(...)`), the notes
    /// gathered so far for this call are dropped and only the schema-mix warning remains.
    fn only_mixed_schemas() -> Self {
        HistNotes {
            mixed_exponential_custom_histograms: true,
            ..HistNotes::default()
        }
    }

    /// Notes an error of a histogram addition or subtraction; true if it is the schema mix.
    fn note_error(&mut self, err: &HistogramError) -> bool {
        let mixed = matches!(err, HistogramError::IncompatibleSchema);
        self.mixed_exponential_custom_histograms |= mixed;
        mixed
    }
}

fn is_gauge(h: &FloatHistogram) -> bool {
    h.counter_reset_hint == CounterResetHint::Gauge
}

/// `rate`/`increase` (`is_counter`) or `delta` over the histograms of one series in the window
/// `(range_start, range_end]` (milliseconds), as Prometheus's `extrapolatedRate` with
/// `histogramRate`:
///
/// - The difference between the last and the first histogram, at the lowest schema any of them has
///   (`delta`: of the two). For counters, a reset between two neighbours (`detect_reset`, which follows
///   the counter-reset hints) adds the histogram before it back; a reset right after the first sample
///   makes the first sample count as empty, so its layout does not matter.
/// - Extrapolated to the window edges like floats, where the zero-point cut-off uses the count:
///   extrapolation towards the start stops where the count would reach zero.
/// - `is_rate`: divided by the window length in seconds. The result is a gauge histogram, compacted.
///
/// `None` (no output element) with fewer than two histograms, or when exponential and custom-bucket
/// histograms meet (noted in [`HistNotes::mixed_exponential_custom_histograms`]). Samples must be
/// sorted by time, without stale markers, all inside the window, and the window must hold no float
/// (see the module table for mixed windows).
pub fn histogram_rate(
    win: &[HistogramSample],
    range_start: i64,
    range_end: i64,
    is_counter: bool,
    is_rate: bool,
    notes: &mut HistNotes,
) -> Option<FloatHistogram> {
    let (first, last) = match win {
        [first, .., last] => (first, last),
        _ => return None,
    };
    let mut local = HistNotes::default();
    let difference = histogram_difference(win, is_counter, &mut local);
    notes.merge(local);
    let mut h = difference?;

    let counter_start = is_counter.then_some((first.h.count, h.count));
    let factor = extrapolation_factor(
        (first.t, last.t),
        win.len(),
        (range_start, range_end),
        counter_start,
        is_rate,
    );
    h.mul(factor);
    Some(h)
}

/// Prometheus's `histogramRate`: the reset-corrected difference between the last and the first of at
/// least two histograms, as a compacted gauge histogram.
fn histogram_difference(
    points: &[HistogramSample],
    is_counter: bool,
    notes: &mut HistNotes,
) -> Option<FloatHistogram> {
    let first: &FloatHistogram = points.first()?.h.as_ref();
    let last: &FloatHistogram = points.last()?.h.as_ref();
    let second: &FloatHistogram = points.get(1)?.h.as_ref();

    // The loop below looks at neither end, so check both for gauges here.
    if is_counter && (is_gauge(first) || is_gauge(last)) {
        notes.native_histogram_not_counter = true;
    }
    let mut prev: Cow<'_, FloatHistogram> = Cow::Borrowed(first);
    let mut using_custom = first.uses_custom_buckets();
    if is_counter && second.detect_reset(first) {
        // A reset right after the first sample: the first one contributes nothing, so an incompatible
        // layout of it must not matter either.
        prev = Cow::Owned(FloatHistogram {
            schema: second.schema,
            custom_values: second.custom_values.clone(),
            ..FloatHistogram::default()
        });
        using_custom = second.uses_custom_buckets();
    }
    if last.uses_custom_buckets() != using_custom {
        notes.mixed_exponential_custom_histograms = true;
        return None;
    }

    let mut min_schema = last.schema.min(prev.schema);
    for p in &points[1..points.len() - 1] {
        if !is_counter {
            continue;
        }
        if is_gauge(&p.h) {
            notes.native_histogram_not_counter = true;
        }
        min_schema = min_schema.min(p.h.schema);
        if p.h.uses_custom_buckets() != using_custom {
            *notes = HistNotes::only_mixed_schemas();
            return None;
        }
    }

    let mut h = last.clone();
    if min_schema < h.schema {
        // Only exponential schemas get here (a custom-bucket `last` means all are custom); Prometheus
        // would panic where this fails.
        h.reduce_resolution(min_schema).ok()?;
    }
    // Counter resets are handled explicitly below, so a reset/not-reset clash of the hints in this
    // subtraction (and the additions) is of no interest.
    match h.sub(&prev) {
        Ok(outcome) => notes.mismatched_custom_buckets_subtracted |= outcome.custom_buckets_reconciled,
        Err(HistogramError::IncompatibleSchema) => {
            *notes = HistNotes::only_mixed_schemas();
            return None;
        }
        // Prometheus ignores other errors (and leaves `h` as it was, as `sub` does).
        Err(_) => {}
    }

    if is_counter {
        let mut prev: &FloatHistogram = &prev;
        for p in &points[1..] {
            let curr: &FloatHistogram = &p.h;
            if curr.detect_reset(prev) {
                match h.add(prev) {
                    Ok(outcome) => notes.mismatched_custom_buckets_added |= outcome.custom_buckets_reconciled,
                    Err(HistogramError::IncompatibleSchema) => {
                        *notes = HistNotes::only_mixed_schemas();
                        return None;
                    }
                    Err(_) => {}
                }
            }
            prev = curr;
        }
    } else if !is_gauge(first) || !is_gauge(last) {
        notes.native_histogram_not_gauge = true;
    }

    h.counter_reset_hint = CounterResetHint::Gauge;
    h.compact(0);
    Some(h)
}

/// `irate` (`is_rate`) or `idelta` over the last two histograms of a window that holds no float:
/// [`histogram_instant_pair`] on them. `None` with fewer than two.
pub fn histogram_instant_rate(
    win: &[HistogramSample],
    is_rate: bool,
    notes: &mut HistNotes,
) -> Option<FloatHistogram> {
    match win {
        [.., prev, curr] => histogram_instant_pair(prev, curr, is_rate, notes),
        _ => None,
    }
}

/// `irate` (`is_rate`) or `idelta` from the two latest samples of a window when both are histograms
/// (Prometheus's `instantValue`): `curr - prev` as a compacted gauge histogram, for `irate` divided by
/// the time between them in seconds. If `irate` sees a counter reset between them, the result is
/// `curr` itself (per second). `irate` notes gauges, `idelta` notes non-gauges.
///
/// `None` if both have the same timestamp (no annotation), or if one uses custom buckets and the other
/// does not and they have to be subtracted (schema-mix warning).
pub fn histogram_instant_pair(
    prev: &HistogramSample,
    curr: &HistogramSample,
    is_rate: bool,
    notes: &mut HistNotes,
) -> Option<FloatHistogram> {
    let interval = curr.t.wrapping_sub(prev.t);
    if interval == 0 {
        return None;
    }
    let (p, c): (&FloatHistogram, &FloatHistogram) = (&prev.h, &curr.h);
    let mut h = c.clone();
    if is_rate && (is_gauge(c) || is_gauge(p)) {
        notes.native_histogram_not_counter = true;
    }
    if !is_rate && (!is_gauge(c) || !is_gauge(p)) {
        notes.native_histogram_not_gauge = true;
    }
    if !is_rate || !c.detect_reset(p) {
        match h.sub(p) {
            Ok(outcome) => notes.mismatched_custom_buckets_subtracted |= outcome.custom_buckets_reconciled,
            Err(HistogramError::IncompatibleSchema) => {
                notes.mixed_exponential_custom_histograms = true;
                return None;
            }
            Err(_) => {}
        }
    }
    h.counter_reset_hint = CounterResetHint::Gauge;
    h.compact(0);
    if is_rate {
        h.div(interval as f64 / 1000.0);
    }
    Some(h)
}

/// Which two samples `irate`/`idelta` look at in a window that may hold both kinds.
#[derive(Debug, Clone, PartialEq)]
pub enum LastTwo<'a> {
    /// Fewer than two samples in the window: no output, no annotation.
    TooFew,
    /// The two latest samples share a timestamp (never produced by storage): no output, no annotation.
    SameTime,
    /// Both are floats: the float kernels (`irate`/`idelta`) on `(prev, curr)`.
    Floats(Sample, Sample),
    /// Both are histograms: [`histogram_instant_pair`] on `(prev, curr)`.
    Histograms(&'a HistogramSample, &'a HistogramSample),
    /// A float and a histogram: no output, with the "encountered a mix of histograms and floats"
    /// warning.
    Mixed,
}

#[derive(Clone, Copy)]
enum Either<'a> {
    F(Sample),
    H(&'a HistogramSample),
}

impl Either<'_> {
    fn t(&self) -> i64 {
        match self {
            Either::F(s) => s.t,
            Either::H(h) => h.t,
        }
    }
}

/// The two latest samples of a window with floats and histograms, picked as Prometheus's
/// `instantValue` does: the last two floats, then each of the last two histograms slotted in by time
/// (a histogram at the same time as the older one replaces it).
pub fn last_two<'a>(floats: &[Sample], hists: &'a [HistogramSample]) -> LastTwo<'a> {
    if floats.len() + hists.len() < 2 {
        return LastTwo::TooFew;
    }
    let mut ss: Vec<Either<'a>> = floats[floats.len().saturating_sub(2)..]
        .iter()
        .map(|s| Either::F(*s))
        .collect();
    for h in &hists[hists.len().saturating_sub(2)..] {
        let s = Either::H(h);
        match ss.len() {
            0 => ss.push(s),
            1 if s.t() < ss[0].t() => ss.insert(0, s),
            1 => ss.push(s),
            _ if s.t() < ss[0].t() => {}
            _ if s.t() > ss[1].t() => {
                ss[0] = ss[1];
                ss[1] = s;
            }
            _ => ss[0] = s,
        }
    }
    match ss.as_slice() {
        [a, b] if a.t() == b.t() => LastTwo::SameTime,
        [Either::F(a), Either::F(b)] => LastTwo::Floats(*a, *b),
        [Either::H(a), Either::H(b)] => LastTwo::Histograms(a, b),
        [_, _] => LastTwo::Mixed,
        _ => LastTwo::TooFew,
    }
}

/// Walks floats and histograms together in time order, calling `step` for every pair of neighbours.
/// Prometheus never meets a float and a histogram at the same time (its loop would not advance);
/// here the float goes first.
fn walk_neighbours(
    floats: &[Sample],
    hists: &[HistogramSample],
    mut step: impl FnMut(Either<'_>, Either<'_>),
) {
    let (mut i, mut j) = (0, 0);
    let mut prev: Option<Either<'_>> = None;
    while i < floats.len() || j < hists.len() {
        let cur = if j >= hists.len() || (i < floats.len() && floats[i].t <= hists[j].t) {
            i += 1;
            Either::F(floats[i - 1])
        } else {
            j += 1;
            Either::H(&hists[j - 1])
        };
        if let Some(p) = prev {
            step(p, cur);
        }
        prev = Some(cur);
    }
}

/// `resets` over a window with floats and/or histograms (Prometheus's `funcResets`): in time order, a
/// float lower than the float before it, a histogram after which `detect_reset` finds a reset, and
/// every switch between a float and a histogram (either way) count as one reset each. `None` (no
/// output) for an empty window.
pub fn resets_mixed(floats: &[Sample], hists: &[HistogramSample]) -> Option<f64> {
    if floats.is_empty() && hists.is_empty() {
        return None;
    }
    let mut n = 0u64;
    walk_neighbours(floats, hists, |prev, cur| match (prev, cur) {
        (Either::F(a), Either::F(b)) => n += u64::from(b.v < a.v),
        (Either::H(a), Either::H(b)) => n += u64::from(b.h.detect_reset(&a.h)),
        _ => n += 1,
    });
    Some(n as f64)
}

/// `changes` over a window with floats and/or histograms (Prometheus's `funcChanges`): in time order,
/// floats that differ from the float before (two NaNs are equal), histograms not `equals` to the
/// histogram before (bit for bit, hint ignored), and every switch of kind count as one change each.
/// `None` (no output) for an empty window.
pub fn changes_mixed(floats: &[Sample], hists: &[HistogramSample]) -> Option<f64> {
    if floats.is_empty() && hists.is_empty() {
        return None;
    }
    let mut n = 0u64;
    walk_neighbours(floats, hists, |prev, cur| match (prev, cur) {
        (Either::F(a), Either::F(b)) => n += u64::from(a.v != b.v && !(a.v.is_nan() && b.v.is_nan())),
        (Either::H(a), Either::H(b)) => n += u64::from(!b.h.equals(&a.h)),
        _ => n += 1,
    });
    Some(n as f64)
}

/// `resets` over histograms only.
pub fn histogram_resets(win: &[HistogramSample]) -> Option<f64> {
    resets_mixed(&[], win)
}

/// `changes` over histograms only.
pub fn histogram_changes(win: &[HistogramSample]) -> Option<f64> {
    changes_mixed(&[], win)
}

/// For `resets`/`changes` with the `anchored` modifier (Prometheus's `pickFirstSampleIndices`): where
/// to start in `floats` and `hists`, which hold the window plus the samples at or before
/// `range_start`. The single latest sample at or before `range_start`, of either kind (a float when
/// both share its time), is kept as the baseline; earlier ones are skipped. `None` (no output) when no
/// sample lies after `range_start`.
pub fn anchored_start(
    floats: &[Sample],
    hists: &[HistogramSample],
    range_start: i64,
) -> Option<(usize, usize)> {
    let floats_before = floats.partition_point(|s| s.t <= range_start);
    let hists_before = hists.partition_point(|h| h.t <= range_start);
    if floats_before >= floats.len() && hists_before >= hists.len() {
        return None;
    }
    Some(
        match (floats_before.checked_sub(1), hists_before.checked_sub(1)) {
            (None, None) => (0, 0),
            (Some(f), None) => (f, 0),
            (Some(f), Some(h)) if floats[f].t >= hists[h].t => (f, h + 1),
            (_, Some(h)) => (floats_before, h),
        },
    )
}

/// One sample of a window that may hold both kinds.
#[derive(Debug, Clone, PartialEq)]
pub enum RangePoint<'a> {
    Float(Sample),
    Histogram(&'a HistogramSample),
}

/// `first_over_time` over a window that may hold both kinds (Prometheus's `funcFirstOverTime`): the
/// first float if it is strictly earlier than the first histogram, else the first histogram (returned
/// as is, hint included).
pub fn first_in_range<'a>(floats: &[Sample], hists: &'a [HistogramSample]) -> Option<RangePoint<'a>> {
    match (floats.first(), hists.first()) {
        (Some(f), Some(h)) if f.t < h.t => Some(RangePoint::Float(*f)),
        (_, Some(h)) => Some(RangePoint::Histogram(h)),
        (Some(f), None) => Some(RangePoint::Float(*f)),
        (None, None) => None,
    }
}

/// `last_over_time` over a window that may hold both kinds (Prometheus's `funcLastOverTime`): the last
/// histogram unless the last float is strictly later.
pub fn last_in_range<'a>(floats: &[Sample], hists: &'a [HistogramSample]) -> Option<RangePoint<'a>> {
    match (floats.last(), hists.last()) {
        (Some(f), Some(h)) if h.t < f.t => Some(RangePoint::Float(*f)),
        (_, Some(h)) => Some(RangePoint::Histogram(h)),
        (Some(f), None) => Some(RangePoint::Float(*f)),
        (None, None) => None,
    }
}

/// `ts_of_first_over_time` over both kinds, in seconds (Prometheus's `funcTsOfFirstOverTime`).
pub fn ts_of_first_in_range(floats: &[Sample], hists: &[HistogramSample]) -> Option<f64> {
    if floats.is_empty() && hists.is_empty() {
        return None;
    }
    let tf = floats.first().map_or(i64::MAX, |s| s.t);
    let th = hists.first().map_or(i64::MAX, |h| h.t);
    Some(tf.min(th) as f64 / 1000.0)
}

/// `ts_of_last_over_time` over both kinds, in seconds (Prometheus's `funcTsOfLastOverTime`). Prometheus
/// stands in 0 for the kind that is missing, so a window whose samples all lie before the Unix epoch
/// gives 0; kept for fidelity.
pub fn ts_of_last_in_range(floats: &[Sample], hists: &[HistogramSample]) -> Option<f64> {
    if floats.is_empty() && hists.is_empty() {
        return None;
    }
    let tf = floats.last().map_or(0, |s| s.t);
    let th = hists.last().map_or(0, |h| h.t);
    Some(tf.max(th) as f64 / 1000.0)
}

/// Tracks the counter-reset hints `sum_over_time`/`avg_over_time` see, for the collision warning.
#[derive(Default)]
struct HintTracker {
    reset: bool,
    not_reset: bool,
}

impl HintTracker {
    fn see(&mut self, h: &FloatHistogram) {
        match h.counter_reset_hint {
            CounterResetHint::CounterReset => self.reset = true,
            CounterResetHint::NotCounterReset => self.not_reset = true,
            CounterResetHint::Unknown | CounterResetHint::Gauge => {}
        }
    }

    fn collision(&self) -> bool {
        self.reset && self.not_reset
    }
}

/// The counter-reset hint Prometheus's `HistogramStatsIterator` gives a histogram it reads when only
/// its count and sum are needed (`histogram_count(…)`/`histogram_sum(…)` around a selector or around
/// `rate`/`sum_over_time` of one): an explicit hint stays; an unknown one becomes `CounterReset` or
/// `NotCounterReset` by [`FloatHistogram::detect_reset`] against the histogram the iterator read just
/// before, and stays unknown for the first one it reads (and after a seek forward). Those invented
/// hints are what make `histogram_count(sum_over_time(…))` warn about conflicting counter resets where
/// `sum_over_time(…)` alone does not (`native_histograms.test`, `reset{timing="late"}`).
pub fn stats_iterator_hint(current: &FloatHistogram, previous: Option<&FloatHistogram>) -> CounterResetHint {
    match (current.counter_reset_hint, previous) {
        (CounterResetHint::Unknown, Some(prev)) if current.detect_reset(prev) => {
            CounterResetHint::CounterReset
        }
        (CounterResetHint::Unknown, Some(_)) => CounterResetHint::NotCounterReset,
        (hint, _) => hint,
    }
}

/// `sum_over_time` over a window of histograms only (Prometheus's `funcSumOverTime`): the
/// Kahan-compensated sum ([`HistogramKahanSum`]), not compacted. Notes a collision of reset and
/// not-reset hints among the inputs and a reconciliation of custom bounds. `None` for an empty window,
/// or when exponential and custom-bucket histograms meet (then only the schema-mix warning, as
/// Prometheus drops the other notes).
pub fn sum_over_time_histograms(win: &[HistogramSample], notes: &mut HistNotes) -> Option<FloatHistogram> {
    let (first, rest) = win.split_first()?;
    let mut hints = HintTracker::default();
    hints.see(&first.h);
    if rest.is_empty() {
        return Some((*first.h).clone());
    }
    let mut acc = HistogramKahanSum::new(&first.h);
    let mut reconciled = false;
    for s in rest {
        hints.see(&s.h);
        match acc.add(&s.h) {
            Ok(outcome) => reconciled |= outcome.custom_buckets_reconciled,
            Err(err) => return aggregation_failed(&err, notes),
        }
    }
    notes.histogram_counter_reset_collision |= hints.collision();
    notes.mismatched_custom_buckets_aggregated |= reconciled;
    Some(acc.value())
}

/// Prometheus answers a failed histogram aggregation with the schema-mix warning alone (other errors
/// are panics there; here they give no output and no note).
fn aggregation_failed(err: &HistogramError, notes: &mut HistNotes) -> Option<FloatHistogram> {
    let mut fresh = HistNotes::default();
    if fresh.note_error(err) {
        notes.merge(fresh);
    }
    None
}

/// `avg_over_time` over a window of histograms only (Prometheus's `funcAvgOverTime`): a
/// Kahan-compensated sum divided by the count at the end, switching to a compensated incremental mean
/// (`mean = mean·(n−1)/n + h/n`) from the first histogram whose addition would make any count, the sum
/// or a bucket of the running sum infinite — the same operations in the same order as Prometheus, so
/// results agree to the bit wherever the bucket layouts agree. Notes and failures as
/// [`sum_over_time_histograms`].
pub fn avg_over_time_histograms(win: &[HistogramSample], notes: &mut HistNotes) -> Option<FloatHistogram> {
    enum State {
        Direct(HistogramKahanSum),
        Incremental(HistogramKahanSum),
    }

    let (first, rest) = win.split_first()?;
    let mut hints = HintTracker::default();
    hints.see(&first.h);
    if rest.is_empty() {
        let mut h = (*first.h).clone();
        h.div(1.0);
        return Some(h);
    }
    let mut reconciled = false;
    let mut count = 1.0;
    let mut state = State::Direct(HistogramKahanSum::new(&first.h));
    for (i, s) in rest.iter().enumerate() {
        hints.see(&s.h);
        count = (i + 2) as f64;
        let mut mean = match state {
            State::Direct(sum) => {
                let mut next = sum.clone();
                match next.add(&s.h) {
                    Ok(outcome) => reconciled |= outcome.custom_buckets_reconciled,
                    Err(err) => return aggregation_failed(&err, notes),
                }
                if !next.has_overflow() {
                    state = State::Direct(next);
                    continue;
                }
                let mut mean = sum;
                mean.div(count - 1.0);
                mean
            }
            State::Incremental(mean) => mean,
        };
        mean.mul((count - 1.0) / count);
        let mut share = (*s.h).clone();
        share.div(count);
        match mean.add(&share) {
            Ok(outcome) => reconciled |= outcome.custom_buckets_reconciled,
            Err(err) => return aggregation_failed(&err, notes),
        }
        state = State::Incremental(mean);
    }
    notes.histogram_counter_reset_collision |= hints.collision();
    notes.mismatched_custom_buckets_aggregated |= reconciled;
    Some(match state {
        State::Direct(mut sum) => {
            sum.div(count);
            sum.value()
        }
        State::Incremental(mean) => mean.value(),
    })
}

/// `rate`/`increase`/`delta` on an `anchored` or `smoothed` range selector over histograms
/// (Prometheus's `extendedHistogramRate`): no extrapolation; the difference between the histograms at
/// the window edges plus, for counters, the histograms before each reset inside. The result is a
/// compacted gauge histogram, for `is_rate` divided by the window length in seconds.
///
/// `samples` as for the float [`super::extended_rate`]: the window's histograms plus, in front, the
/// last one at or before `range_start`, and for `smoothed` also, at the end, the first one after
/// `range_end`. Anchored takes the edge values from the first and last samples; smoothed interpolates
/// linearly to the exact edges ([`interpolate_histograms`]). Every histogram used is checked for
/// gauges (counters) and for a mix of exponential and custom buckets (then `None`). `None` also when
/// no sample lies after `range_start`, or, for `smoothed`, none at or before `range_end`.
pub fn extended_histogram_rate(
    samples: &[HistogramSample],
    range_start: i64,
    range_end: i64,
    smoothed: bool,
    is_counter: bool,
    is_rate: bool,
    notes: &mut HistNotes,
) -> Option<FloatHistogram> {
    let n = samples.len();
    if n == 0 {
        return None;
    }
    // Go's `sort.Search` over all but the last sample, defaulting to the last.
    let mut last = n - 1;
    let first = samples[..last]
        .iter()
        .position(|s| s.t > range_start)
        .unwrap_or(last)
        .saturating_sub(1);
    if smoothed {
        last = samples[..last]
            .iter()
            .position(|s| s.t >= range_end)
            .unwrap_or(last);
    }
    if samples[last].t <= range_start || (smoothed && samples[first].t > range_end) {
        return None;
    }

    let window = &samples[first..=last];
    let using_custom = window[0].h.uses_custom_buckets();
    for s in window {
        if s.h.uses_custom_buckets() != using_custom {
            notes.mixed_exponential_custom_histograms = true;
            return None;
        }
        if is_counter && is_gauge(&s.h) {
            notes.native_histogram_not_counter = true;
        }
    }

    let edge = |a: usize, b: usize, t: i64, notes: &mut HistNotes| {
        interpolate_histograms(&samples[a], &samples[b], t, is_counter, notes).map_err(|err| {
            notes.note_error(&err);
        })
    };
    let left = if smoothed && samples[first].t < range_start {
        edge(first, first + 1, range_start, notes).ok()?
    } else {
        (*samples[first].h).clone()
    };
    let right = if smoothed && last > 0 && samples[last].t > range_end {
        edge(last - 1, last, range_end, notes).ok()?
    } else {
        (*samples[last].h).clone()
    };
    if !is_counter && (!is_gauge(&left) || !is_gauge(&right)) {
        notes.native_histogram_not_gauge = true;
    }

    let mut result = right.clone();
    if !sub_noting(&mut result, &left, notes) {
        return None;
    }
    if is_counter {
        let correction = reset_correction(samples, first, last, &left, &right, range_start, smoothed, notes)?;
        if let Some(c) = correction
            && !add_noting(&mut result, &c, notes)
        {
            return None;
        }
    }
    if is_rate {
        result.div(range_seconds(range_end.wrapping_sub(range_start)));
    }
    result.counter_reset_hint = CounterResetHint::Gauge;
    result.compact(0);
    Some(result)
}

/// `base += other`, noting a reconciliation of custom bounds or the schema mix; false on failure.
fn add_noting(base: &mut FloatHistogram, other: &FloatHistogram, notes: &mut HistNotes) -> bool {
    match base.add(other) {
        Ok(outcome) => {
            notes.mismatched_custom_buckets_added |= outcome.custom_buckets_reconciled;
            true
        }
        Err(err) => {
            notes.note_error(&err);
            false
        }
    }
}

/// `base -= other`, noting a reconciliation of custom bounds or the schema mix; false on failure.
fn sub_noting(base: &mut FloatHistogram, other: &FloatHistogram, notes: &mut HistNotes) -> bool {
    match base.sub(other) {
        Ok(outcome) => {
            notes.mismatched_custom_buckets_subtracted |= outcome.custom_buckets_reconciled;
            true
        }
        Err(err) => {
            notes.note_error(&err);
            false
        }
    }
}

/// Prometheus's `correctForCounterResetsHistogram`: the sum of the histograms before each reset
/// between the edges `left` (standing for `samples[first]`) and `right` (for `samples[last]`), or
/// `Some(None)` if there is none. `None` if adding them up failed.
#[allow(clippy::too_many_arguments)]
fn reset_correction(
    samples: &[HistogramSample],
    first: usize,
    last: usize,
    left: &FloatHistogram,
    right: &FloatHistogram,
    range_start: i64,
    smoothed: bool,
    notes: &mut HistNotes,
) -> Option<Option<FloatHistogram>> {
    let mut from = first + 1;
    let mut prev: &FloatHistogram = left;
    if smoothed
        && samples[first].t < range_start
        && let Some(next) = samples.get(first + 1)
        && next.h.detect_reset(&samples[first].h)
    {
        // The left interpolation already crossed this reset; compare what follows with the sample
        // after it instead.
        prev = &next.h;
        from += 1;
    }
    // Both edges stand for a sample already (right inherits the hint of `samples[last]`, so comparing
    // that sample with itself would find its reset twice); only the samples strictly between count.
    if from > last {
        return Some(None);
    }
    let mut correction: Option<FloatHistogram> = None;
    let mut add = |h: &FloatHistogram, notes: &mut HistNotes| match correction.as_mut() {
        None => {
            correction = Some(h.clone());
            true
        }
        Some(c) => add_noting(c, h, notes),
    };
    for s in &samples[from..last] {
        if s.h.detect_reset(prev) && !add(prev, notes) {
            return None;
        }
        prev = &s.h;
    }
    if right.detect_reset(prev) && !add(prev, notes) {
        return None;
    }
    Some(correction)
}

/// The histogram at time `t` on the line from `a` to `b` (Prometheus's `interpolateHistograms`), as
/// `smoothed` selectors use it: `a` or `b` itself at their own times; for a counter that reset between
/// them, `b` scaled by the elapsed fraction (the counter restarted from zero); otherwise
/// `a + (b − a)·fraction`. Fails when the two mix exponential and custom buckets.
pub fn interpolate_histograms(
    a: &HistogramSample,
    b: &HistogramSample,
    t: i64,
    is_counter: bool,
    notes: &mut HistNotes,
) -> Result<FloatHistogram, HistogramError> {
    if t == a.t {
        return Ok((*a.h).clone());
    }
    if t == b.t {
        return Ok((*b.h).clone());
    }
    let fraction = t.wrapping_sub(a.t) as f64 / b.t.wrapping_sub(a.t) as f64;
    let mut result = (*b.h).clone();
    if is_counter && b.h.detect_reset(&a.h) {
        result.mul(fraction);
        return Ok(result);
    }
    let outcome = result.sub(&a.h)?;
    notes.mismatched_custom_buckets_subtracted |= outcome.custom_buckets_reconciled;
    result.mul(fraction);
    let outcome = result.add(&a.h)?;
    notes.mismatched_custom_buckets_added |= outcome.custom_buckets_reconciled;
    Ok(result)
}

/// A running value and the Neumaier compensation of its rounding errors.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Compensated {
    value: f64,
    comp: f64,
}

impl Compensated {
    fn new(value: f64) -> Self {
        Self { value, comp: 0.0 }
    }

    fn add(&mut self, x: f64) {
        (self.value, self.comp) = kahan_inc(x, self.value, self.comp);
    }

    /// Folds in another compensated value: its value, then its compensation, each a Kahan step.
    /// Adding a zero compensation would change nothing, so it is skipped.
    fn absorb(&mut self, other: Compensated) {
        self.add(other.value);
        if other.comp != 0.0 {
            self.add(other.comp);
        }
    }

    fn scale(&mut self, factor: f64) {
        self.value *= factor;
        self.comp *= factor;
    }

    fn divide(&mut self, divisor: f64) {
        self.value /= divisor;
        self.comp /= divisor;
    }

    fn total(&self) -> f64 {
        self.value + self.comp
    }
}

/// One bucket of a [`HistogramKahanSum`]: its index in the schema (for custom buckets: the position in
/// the bounds) and its compensated count.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Cell {
    index: i32,
    count: Compensated,
}

/// A histogram sum with a Kahan (Neumaier) compensation term for the count, the sum, the zero count
/// and every bucket: Prometheus's `FloatHistogram.KahanAdd` with its compensation histogram, as
/// `sum_over_time`, `avg_over_time` (and the `sum`/`avg` aggregations) use it.
///
/// Layouts are reconciled as [`FloatHistogram::add`] does: the lower schema, a common zero bucket,
/// the custom bounds both histograms share. When the running sum itself has to be coarsened (a lower
/// schema, a wider zero bucket or fewer custom bounds arrives), its merged buckets are combined with
/// compensated additions; Prometheus does the same, possibly in another order, so such results may
/// differ from Prometheus's in the last bits. With a stable layout the results are identical.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramKahanSum {
    hint: CounterResetHint,
    schema: i32,
    zero_threshold: f64,
    custom_values: Vec<f64>,
    count: Compensated,
    sum: Compensated,
    zero_count: Compensated,
    positive: Vec<Cell>,
    negative: Vec<Cell>,
}

impl HistogramKahanSum {
    /// A sum holding `first`.
    pub fn new(first: &FloatHistogram) -> Self {
        Self {
            hint: first.counter_reset_hint,
            schema: first.schema,
            zero_threshold: first.zero_threshold,
            custom_values: first.custom_values.clone(),
            count: Compensated::new(first.count),
            sum: Compensated::new(first.sum),
            zero_count: Compensated::new(first.zero_count),
            positive: cells_of(first.iter_positive()),
            negative: cells_of(first.iter_negative()),
        }
    }

    fn uses_custom_buckets(&self) -> bool {
        self.schema == CUSTOM_BUCKETS_SCHEMA
    }

    /// Adds `other` with compensation. The counter-reset hint follows [`FloatHistogram::add`]'s rules,
    /// and the outcome reports a hint collision and a reconciliation of custom bounds likewise. Fails,
    /// leaving the sum unchanged, if exactly one of the two uses custom buckets.
    pub fn add(&mut self, other: &FloatHistogram) -> Result<AddOutcome, HistogramError> {
        if self.uses_custom_buckets() != other.uses_custom_buckets() {
            return Err(HistogramError::IncompatibleSchema);
        }
        let mut reconciled = false;
        if self.uses_custom_buckets() {
            if self.custom_values == other.custom_values {
                merge_cells(
                    &mut self.positive,
                    other.iter_positive().map(|b| (b.index, b.count)),
                );
            } else {
                reconciled = true;
                let bounds = intersect_custom_bounds(&self.custom_values, &other.custom_values);
                let old = std::mem::take(&mut self.custom_values);
                regroup(&mut self.positive, |i| custom_target(i, &old, &bounds));
                merge_cells(
                    &mut self.positive,
                    other
                        .iter_positive()
                        .map(|b| (custom_target(b.index, &other.custom_values, &bounds), b.count)),
                );
                self.custom_values = bounds;
            }
        } else {
            let target = self.schema.min(other.schema);
            let aligned: Cow<'_, FloatHistogram> = if other.zero_threshold != self.zero_threshold {
                // The common zero bucket is the one plain addition settles on.
                let running = self.running();
                let mut probe = running.clone();
                probe.add(other)?;
                let threshold = probe.zero_threshold;
                if threshold != self.zero_threshold {
                    self.widen_zero_bucket(&running, threshold);
                }
                let mut o = other.clone();
                o.add(&FloatHistogram {
                    schema: target,
                    zero_threshold: threshold,
                    ..FloatHistogram::default()
                })?;
                Cow::Owned(o)
            } else if other.schema > target {
                let mut o = other.clone();
                o.reduce_resolution(target)?;
                Cow::Owned(o)
            } else {
                Cow::Borrowed(other)
            };
            if self.schema > target {
                let (from, to) = (self.schema, target);
                regroup(&mut self.positive, |i| target_index(i, from, to));
                regroup(&mut self.negative, |i| target_index(i, from, to));
                self.schema = target;
            }
            self.zero_count.add(aligned.zero_count);
            // Buckets of `other` that lie inside the zero bucket are already in its zero count.
            let zt = self.zero_threshold;
            merge_cells(
                &mut self.positive,
                aligned
                    .iter_positive()
                    .skip_while(|b| b.upper <= zt)
                    .map(|b| (b.index, b.count)),
            );
            merge_cells(
                &mut self.negative,
                aligned
                    .iter_negative()
                    .skip_while(|b| -b.lower <= zt)
                    .map(|b| (b.index, b.count)),
            );
        }
        let counter_reset_collision = adjust_hint(&mut self.hint, other.counter_reset_hint);
        self.count.add(other.count);
        self.sum.add(other.sum);
        Ok(AddOutcome {
            counter_reset_collision,
            custom_buckets_reconciled: reconciled,
        })
    }

    /// Multiplies the value and its compensation by `factor` (a negative factor makes it a gauge).
    pub fn mul(&mut self, factor: f64) {
        self.for_each(|c| c.scale(factor));
        if factor < 0.0 {
            self.hint = CounterResetHint::Gauge;
        }
    }

    /// Divides the value and its compensation by a non-zero `divisor` (a negative one makes it a
    /// gauge).
    pub fn div(&mut self, divisor: f64) {
        self.for_each(|c| c.divide(divisor));
        if divisor < 0.0 {
            self.hint = CounterResetHint::Gauge;
        }
    }

    /// Whether the running value (not counting the compensation) has an infinite count, sum, zero count
    /// or bucket: Prometheus's `HasOverflow`, where `avg_over_time` switches to the incremental mean.
    pub fn has_overflow(&self) -> bool {
        [self.count, self.sum, self.zero_count]
            .iter()
            .chain(self.positive.iter().map(|c| &c.count))
            .chain(self.negative.iter().map(|c| &c.count))
            .any(|c| c.value.is_infinite())
    }

    /// The compensated sum: every field's value plus its compensation (Prometheus adds the
    /// compensation histogram at the end). The layout holds every bucket any input had outside the
    /// zero bucket, empty or not; it is not compacted. The counter-reset hint is the running sum's
    /// (Prometheus's final `Add` of the compensation histogram could turn a common `NotCounterReset`
    /// into `Unknown` if that histogram is hinted `Unknown`; the source read does not show its hint).
    pub fn value(&self) -> FloatHistogram {
        self.build(Compensated::total)
    }

    /// The running value without its compensation.
    fn running(&self) -> FloatHistogram {
        self.build(|c| c.value)
    }

    fn build(&self, field: impl Fn(&Compensated) -> f64) -> FloatHistogram {
        let (positive_spans, positive_buckets) = side(&self.positive, &field);
        let (negative_spans, negative_buckets) = side(&self.negative, &field);
        FloatHistogram {
            counter_reset_hint: self.hint,
            schema: self.schema,
            zero_threshold: self.zero_threshold,
            zero_count: field(&self.zero_count),
            count: field(&self.count),
            sum: field(&self.sum),
            positive_spans,
            negative_spans,
            positive_buckets,
            negative_buckets,
            custom_values: self.custom_values.clone(),
        }
    }

    fn for_each(&mut self, mut f: impl FnMut(&mut Compensated)) {
        f(&mut self.count);
        f(&mut self.sum);
        f(&mut self.zero_count);
        for c in self.positive.iter_mut().chain(self.negative.iter_mut()) {
            f(&mut c.count);
        }
    }

    /// Moves the buckets that fall inside a zero bucket widened to `threshold` into the zero count.
    /// `running` is [`Self::running`], whose buckets line up with the cells and carry their bounds.
    fn widen_zero_bucket(&mut self, running: &FloatHistogram, threshold: f64) {
        let mut zero = self.zero_count;
        let mut keep = |cells: &mut Vec<Cell>, inside: &mut dyn Iterator<Item = bool>| {
            let old = std::mem::take(cells);
            for (cell, inside) in old.into_iter().zip(inside) {
                if inside {
                    zero.absorb(cell.count);
                } else {
                    cells.push(cell);
                }
            }
        };
        keep(
            &mut self.positive,
            &mut running.iter_positive().map(|b| b.lower < threshold),
        );
        keep(
            &mut self.negative,
            &mut running.iter_negative().map(|b| b.upper > -threshold),
        );
        self.zero_count = zero;
        self.zero_threshold = threshold;
    }
}

/// The cells of one side of a histogram, with no compensation yet.
fn cells_of(buckets: impl Iterator<Item = Bucket>) -> Vec<Cell> {
    buckets
        .map(|b| Cell {
            index: b.index,
            count: Compensated::new(b.count),
        })
        .collect()
}

/// Prometheus's hint rules for adding `other` to a histogram hinted `hint`; true on a reset/not-reset
/// collision.
fn adjust_hint(hint: &mut CounterResetHint, other: CounterResetHint) -> bool {
    use CounterResetHint::{Gauge, Unknown};
    match (*hint, other) {
        (a, b) if a == b => false,
        (Gauge, _) | (Unknown, _) => false,
        (_, Gauge) => {
            *hint = Gauge;
            false
        }
        (_, Unknown) => {
            *hint = Unknown;
            false
        }
        _ => {
            *hint = Unknown;
            true
        }
    }
}

/// The bucket of the coarser custom `bounds` that custom bucket `index` under `old` bounds falls into:
/// the first whose upper bound is at least its own, or the +Inf bucket.
fn custom_target(index: i32, old: &[f64], bounds: &[f64]) -> i32 {
    let upper = usize::try_from(index)
        .ok()
        .and_then(|i| old.get(i).copied())
        .unwrap_or(f64::INFINITY);
    i32::try_from(bounds.partition_point(|&b| b < upper)).unwrap_or(i32::MAX)
}

/// Renumbers the cells with `map` (non-decreasing), combining cells that land on the same index: the
/// first keeps its value and compensation, each further one is folded in with compensated additions.
fn regroup(cells: &mut Vec<Cell>, map: impl Fn(i32) -> i32) {
    let old = std::mem::take(cells);
    for cell in old {
        let index = map(cell.index);
        match cells.last_mut() {
            Some(last) if last.index == index => last.count.absorb(cell.count),
            _ => cells.push(Cell { index, ..cell }),
        }
    }
}

/// Adds `(index, count)` pairs in non-decreasing index order into the sorted cells with compensation,
/// inserting cells for indices not there yet.
fn merge_cells(cells: &mut Vec<Cell>, incoming: impl Iterator<Item = (i32, f64)>) {
    let old = std::mem::take(cells);
    let mut rest = old.into_iter().peekable();
    for (index, count) in incoming {
        if let Some(last) = cells.last_mut()
            && last.index == index
        {
            last.count.add(count);
            continue;
        }
        while let Some(cell) = rest.next_if(|c| c.index < index) {
            cells.push(cell);
        }
        match rest.next_if(|c| c.index == index) {
            Some(mut cell) => {
                cell.count.add(count);
                cells.push(cell);
            }
            None => cells.push(Cell {
                index,
                count: Compensated::new(count),
            }),
        }
    }
    cells.extend(rest);
}

/// Spans and bucket values of one side: a span per run of consecutive indices.
fn side(cells: &[Cell], field: impl Fn(&Compensated) -> f64) -> (Vec<Span>, Vec<f64>) {
    let mut spans: Vec<Span> = Vec::new();
    let mut prev: Option<i32> = None;
    for cell in cells {
        match (prev, spans.last_mut()) {
            (Some(p), Some(span)) if cell.index == p.wrapping_add(1) => span.length += 1,
            (Some(p), _) => spans.push(Span {
                offset: cell.index.wrapping_sub(p).wrapping_sub(1),
                length: 1,
            }),
            (None, _) => spans.push(Span {
                offset: cell.index,
                length: 1,
            }),
        }
        prev = Some(cell.index);
    }
    (spans, cells.iter().map(|c| field(&c.count)).collect())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use model::histogram::parse_test_notation;

    use super::*;

    const MIN: i64 = 60_000;

    fn hist(s: &str) -> FloatHistogram {
        parse_test_notation(s).expect("test notation")
    }

    fn at(t: i64, s: &str) -> HistogramSample {
        HistogramSample {
            t,
            h: Arc::new(hist(s)),
        }
    }

    /// Histograms `step` apart, starting at 0.
    fn series(step: i64, list: &[&str]) -> Vec<HistogramSample> {
        list.iter()
            .enumerate()
            .map(|(i, s)| at(i as i64 * step, s))
            .collect()
    }

    /// promqltest's `a+bxN` expansion: each sample is the previous one plus `b`.
    fn expand(step: i64, a: &str, b: &str, n: usize) -> Vec<HistogramSample> {
        let inc = hist(b);
        let mut cur = hist(a);
        let mut out = vec![HistogramSample {
            t: 0,
            h: Arc::new(cur.clone()),
        }];
        for i in 1..=n {
            cur.add(&inc).expect("add");
            out.push(HistogramSample {
                t: i as i64 * step,
                h: Arc::new(cur.clone()),
            });
        }
        out
    }

    /// The samples of `(start, end]`.
    fn window(all: &[HistogramSample], start: i64, end: i64) -> Vec<HistogramSample> {
        all.iter()
            .filter(|s| s.t > start && s.t <= end)
            .cloned()
            .collect()
    }

    /// What the engine hands [`extended_histogram_rate`]: the window plus the last sample at or before
    /// `start`, and for `smoothed` the first one after `end`.
    fn extended_window(
        all: &[HistogramSample],
        start: i64,
        end: i64,
        smoothed: bool,
    ) -> Vec<HistogramSample> {
        let mut out: Vec<HistogramSample> = all.iter().rfind(|s| s.t <= start).into_iter().cloned().collect();
        out.extend(window(all, start, end));
        if smoothed {
            out.extend(all.iter().find(|s| s.t > end).cloned());
        }
        out
    }

    #[track_caller]
    fn assert_hist(got: Option<FloatHistogram>, want: &str) {
        let got = got.expect("a result");
        let want = parse_test_notation_full_hint(want);
        assert!(
            got.matches_expected_with_hint(&want.0, want.1),
            "got  {}\nwant {}",
            got.to_test_notation(),
            want.0.to_test_notation()
        );
    }

    fn parse_test_notation_full_hint(s: &str) -> (FloatHistogram, bool) {
        let t = model::histogram::parse_test_notation_full(s).expect("test notation");
        (t.histogram, t.counter_reset_hint_set)
    }

    #[track_caller]
    fn assert_close(got: f64, want: f64) {
        let tolerance = 1e-12 * want.abs().max(1e-300);
        assert!((got - want).abs() <= tolerance, "got {got:e}, want {want:e}");
    }

    fn notes(f: impl FnOnce(&mut HistNotes)) -> HistNotes {
        let mut n = HistNotes::default();
        f(&mut n);
        n
    }

    // --- rate, increase, delta ---

    #[test]
    fn increase_adds_back_a_reset_seen_only_in_one_bucket() {
        // native_histograms.test: reset_in_bucket, increase(...[15m]) at 10m.
        let all = series(
            5 * MIN,
            &[
                "{{schema:0 count:4 sum:5 buckets:[1 2 1]}}",
                "{{schema:0 count:5 sum:6 buckets:[1 1 3]}}",
                "{{schema:0 count:6 sum:7 buckets:[1 2 3]}}",
            ],
        );
        let mut n = HistNotes::default();
        let got = histogram_rate(
            &window(&all, -5 * MIN, 10 * MIN),
            -5 * MIN,
            10 * MIN,
            true,
            false,
            &mut n,
        );
        assert_hist(
            got,
            "{{count:9 sum:10.5 buckets:[1.5 3 4.5] counter_reset_hint:gauge}}",
        );
        assert!(n.is_empty());
    }

    #[test]
    fn rate_extrapolates_to_the_window_start() {
        // native_histograms.test: histogram_rate, rate(...[45s]) at 5m. The window starts one interval
        // before the first sample: extrapolated by 15s of 30s sampled, divided by 45s.
        let all = expand(
            15_000,
            "{{schema:1 count:12 sum:18.4 z_bucket:2 z_bucket_w:0.001 buckets:[1 2 0 1 1] n_buckets:[1 2 0 1 1]}}",
            "{{schema:1 count:9 sum:18.4 z_bucket:1 z_bucket_w:0.001 buckets:[1 1 0 1 1] n_buckets:[1 1 0 1 1]}}",
            100,
        );
        let (start, end) = (300_000 - 45_000, 300_000);
        let mut n = HistNotes::default();
        let got = histogram_rate(&window(&all, start, end), start, end, true, true, &mut n);
        assert_hist(
            got,
            "{{schema:1 count:0.6 sum:1.2266666666666652 z_bucket:0.06666666666666667 z_bucket_w:0.001 \
             buckets:[0.06666666666666667 0.06666666666666667 0 0.06666666666666667 0.06666666666666667] \
             n_buckets:[0.06666666666666667 0.06666666666666667 0 0.06666666666666667 0.06666666666666667]}}",
        );
        assert!(n.is_empty());
    }

    #[test]
    fn increase_stops_extrapolating_where_the_count_reaches_zero() {
        // native_histograms.test: the four `increase(metric...)` cases of the zero cut-off.
        let mut all = vec![at(0, "{{schema:0 count:15 sum:25 buckets:[5 10]}}")];
        for i in 1..=55 {
            all.push(at(i * MIN, "{{schema:0 count:2490 sum:75 buckets:[15 2475]}}"));
        }
        let cases = [
            (
                55 * MIN,
                90 * MIN,
                2490.0,
                "[10.06060606060606 2479.939393939394]",
                50.303030303030305,
            ),
            (
                54 * MIN + 30_000,
                90 * MIN,
                2512.9166666666665,
                "[10.153198653198652 2502.7634680134674]",
                50.76599326599326,
            ),
            (
                55 * MIN,
                55 * MIN + 15_000,
                2486.25,
                "[10.045454545454547 2476.2045454545455]",
                50.227272727272734,
            ),
            (
                54 * MIN + 30_000,
                54 * MIN + 45_000,
                2509.375,
                "[10.13888888888889 2499.236111111111]",
                50.69444444444444,
            ),
        ];
        for (end, range, count, buckets, sum) in cases {
            let start = end - range;
            let got = histogram_rate(
                &window(&all, start, end),
                start,
                end,
                true,
                false,
                &mut HistNotes::default(),
            )
            .expect("a result");
            assert_close(got.count, count);
            assert_close(got.sum, sum);
            assert_hist(
                Some(got),
                &format!("{{{{count:{count} sum:{sum} buckets:{buckets}}}}}"),
            );
        }
    }

    #[test]
    fn rate_treats_a_switch_of_bucket_kind_after_the_first_sample_as_a_reset() {
        // native_histograms.test: some_metric with exponential and custom buckets.
        let all = series(
            30_000,
            &[
                "{{schema:0 sum:1 count:1 buckets:[1]}}",
                "{{schema:-53 sum:1 count:1 custom_values:[5 10] buckets:[1]}}",
                "{{schema:0 sum:5 count:4 buckets:[1 2 1]}}",
                "{{schema:-53 sum:1 count:1 custom_values:[5 10] buckets:[1]}}",
            ],
        );
        // Custom, then exponential: the exponential histogram, extrapolated to where the count is zero.
        let mut n = HistNotes::default();
        let got = histogram_rate(&window(&all, 0, MIN), 0, MIN, true, true, &mut n);
        assert_hist(
            got,
            "{{count:0.08333333333333333 sum:0.10416666666666666 counter_reset_hint:gauge \
             buckets:[0.020833333333333332 0.041666666666666664 0.020833333333333332]}}",
        );
        assert!(n.is_empty());
        // Exponential, then custom.
        let got = histogram_rate(
            &window(&all, -30_000, 30_000),
            -30_000,
            30_000,
            true,
            true,
            &mut n,
        );
        assert_hist(
            got,
            "{{schema:-53 sum:0.03333333333333333 count:0.03333333333333333 custom_values:[5 10] buckets:[0.03333333333333333]}}",
        );
        assert!(n.is_empty());
        // A custom-bucket histogram between exponential ones, and the other way round.
        for end in [MIN, 90_000] {
            let mut n = HistNotes::default();
            assert_eq!(
                histogram_rate(
                    &window(&all, end - 90_000, end),
                    end - 90_000,
                    end,
                    true,
                    true,
                    &mut n
                ),
                None
            );
            assert_eq!(n, HistNotes::only_mixed_schemas());
        }
    }

    #[test]
    fn rate_of_gauge_histograms_warns() {
        let all = series(
            30_000,
            &[
                "{{schema:0 sum:1 count:1 buckets:[1] counter_reset_hint:gauge}}",
                "{{schema:0 sum:2 count:2 buckets:[2] counter_reset_hint:gauge}}",
                "{{schema:0 sum:3 count:3 buckets:[3] counter_reset_hint:gauge}}",
            ],
        );
        for (end, range) in [(30_000, MIN), (MIN, 90_000)] {
            let mut n = HistNotes::default();
            let got = histogram_rate(
                &window(&all, end - range, end),
                end - range,
                end,
                true,
                true,
                &mut n,
            );
            assert_hist(
                got,
                "{{count:0.03333333333333333 sum:0.03333333333333333 buckets:[0.03333333333333333]}}",
            );
            assert_eq!(
                n,
                HistNotes {
                    native_histogram_not_counter: true,
                    ..HistNotes::default()
                }
            );
        }
    }

    #[test]
    fn delta_of_counters_warns_and_of_gauges_does_not() {
        // functions.test: delta(http_requests_gauge[20m]) and delta(http_requests_counter[20m]) at 20m.
        for (hint, warns) in [(" counter_reset_hint:gauge", false), ("", true)] {
            let all = expand(
                5 * MIN,
                &format!("{{{{schema:0 sum:0 count:0 buckets:[0 0 0]{hint}}}}}"),
                &format!("{{{{schema:0 sum:1 count:2 buckets:[1 1 1]{hint}}}}}"),
                5,
            );
            let mut n = HistNotes::default();
            let got = histogram_rate(&window(&all, 0, 20 * MIN), 0, 20 * MIN, false, false, &mut n);
            assert_hist(got, "{{schema:0 sum:4 count:8 buckets:[4 4 4]}}");
            assert_eq!(n.native_histogram_not_gauge, warns);
        }
    }

    #[test]
    fn rate_needs_two_histograms() {
        let one = [at(0, "{{count:1 sum:1}}")];
        assert_eq!(
            histogram_rate(&one, -MIN, 0, true, true, &mut HistNotes::default()),
            None
        );
        assert_eq!(
            histogram_rate(&[], -MIN, 0, true, true, &mut HistNotes::default()),
            None
        );
    }

    #[test]
    fn rate_and_delta_reconcile_custom_bounds() {
        // native_histograms.test: nhcb_metric at 12m and 18m.
        let all = series(
            6 * MIN,
            &[
                "{{schema:-53 sum:1 count:1 custom_values:[5] buckets:[1]}}",
                "{{schema:-53 sum:1 count:1 custom_values:[5] buckets:[1]}}",
                "{{schema:-53 sum:1 count:1 custom_values:[5 10] buckets:[1]}}",
                "{{schema:-53 sum:1 count:1 custom_values:[5 10] buckets:[1]}}",
            ],
        );
        let end = 18 * MIN;
        let win = window(&all, end - 13 * MIN, end);
        let mut n = HistNotes::default();
        assert_hist(
            histogram_rate(&win, end - 13 * MIN, end, false, false, &mut n),
            "{{schema:-53 custom_values:[5]}}",
        );
        assert_eq!(
            n,
            HistNotes {
                native_histogram_not_gauge: true,
                mismatched_custom_buckets_subtracted: true,
                ..HistNotes::default()
            }
        );
        let mut n = HistNotes::default();
        assert_hist(
            histogram_rate(&win, end - 13 * MIN, end, true, true, &mut n),
            "{{schema:-53 custom_values:[5]}}",
        );
        assert!(!n.native_histogram_not_counter && !n.native_histogram_not_gauge);
    }

    #[test]
    fn increase_with_a_reset_hint_on_custom_buckets() {
        // extended_vectors.test: reset_custom_hist, increase(...[90s]) at 90s.
        let all = reset_custom_hist();
        let got = histogram_rate(
            &window(&all, 0, 90_000),
            0,
            90_000,
            true,
            false,
            &mut HistNotes::default(),
        );
        assert_close(got.expect("a result").count, 4.5);
    }

    fn reset_custom_hist() -> Vec<HistogramSample> {
        series(
            30_000,
            &[
                "{{schema:-53 sum:1 count:1 custom_values:[5 10] buckets:[1]}}",
                "{{schema:-53 sum:4 count:4 custom_values:[5 10] buckets:[4]}}",
                "{{schema:-53 sum:1 count:1 custom_values:[5 10] buckets:[1] counter_reset_hint:reset}}",
                "{{schema:-53 sum:3 count:3 custom_values:[5 10] buckets:[3]}}",
            ],
        )
    }

    #[test]
    fn rate_reduces_to_the_lowest_schema_in_the_window() {
        let win = series(
            MIN,
            &[
                "{{schema:1 count:2 sum:2 buckets:[1 1]}}",
                "{{schema:0 count:4 sum:4 buckets:[2 2]}}",
                "{{schema:1 count:6 sum:6 buckets:[3 3 0 0]}}",
            ],
        );
        let got = histogram_rate(&win, 0, 2 * MIN, true, false, &mut HistNotes::default()).expect("a result");
        assert_eq!(got.schema, 0);
        // At schema 0 the last sample is [3 3 0]; minus the first, [1 1]. A finer schema than the sample
        // before is a reset (`detect_reset`), so the middle sample is added back: [2 2 0] + [2 2]. The
        // window's edges are the first and last samples, so nothing is extrapolated.
        assert_hist(Some(got), "{{schema:0 count:8 sum:8 buckets:[4 4]}}");
    }

    // --- irate, idelta ---

    #[test]
    fn irate_over_histograms() {
        // functions.test: irate(http_requests_histogram{path=...}[20m]) at 20m.
        let a = expand(5 * MIN, "{{sum:2 count:2}}", "{{sum:3 count:3}}", 5);
        let mut n = HistNotes::default();
        assert_hist(
            histogram_instant_rate(&window(&a, 0, 20 * MIN), true, &mut n),
            "{{sum:0.01 count:0.01 counter_reset_hint:gauge}}",
        );
        assert!(n.is_empty());

        for (first, second) in [
            ("{{sum:1 count:1}}", "{{sum:4 count:4 counter_reset_hint:gauge}}"),
            ("{{sum:1 count:1 counter_reset_hint:gauge}}", "{{sum:4 count:4}}"),
        ] {
            let mut n = HistNotes::default();
            let got = histogram_instant_pair(&at(10 * MIN, first), &at(15 * MIN, second), true, &mut n);
            assert_hist(got, "{{sum:0.01 count:0.01 counter_reset_hint:gauge}}");
            assert_eq!(
                n,
                HistNotes {
                    native_histogram_not_counter: true,
                    ..HistNotes::default()
                }
            );
        }

        // Exponential, then custom buckets: a reset, so the later histogram per second.
        let mut n = HistNotes::default();
        let got = histogram_instant_pair(
            &at(10 * MIN, "{{sum:1 count:1}}"),
            &at(
                15 * MIN,
                "{{schema:-53 sum:3 count:3 custom_values:[5 10] buckets:[3]}}",
            ),
            true,
            &mut n,
        );
        assert_hist(
            got,
            "{{schema:-53 sum:0.01 count:0.01 custom_values:[5 10] buckets:[0.01]}}",
        );
        assert!(n.is_empty());

        // Different custom bounds without a decrease: subtracted on the shared bounds.
        let mut n = HistNotes::default();
        let got = histogram_instant_pair(
            &at(
                10 * MIN,
                "{{schema:-53 sum:3 count:3 custom_values:[1] buckets:[3]}}",
            ),
            &at(
                15 * MIN,
                "{{schema:-53 sum:3 count:3 custom_values:[5 10] buckets:[3]}}",
            ),
            true,
            &mut n,
        );
        assert_hist(got, "{{schema:-53 counter_reset_hint:gauge}}");
        assert_eq!(
            n,
            HistNotes {
                mismatched_custom_buckets_subtracted: true,
                ..HistNotes::default()
            }
        );
    }

    #[test]
    fn irate_after_a_reset_is_the_later_histogram_per_second() {
        let got = histogram_instant_pair(
            &at(0, "{{count:10 sum:10 buckets:[10]}}"),
            &at(10_000, "{{count:4 sum:4 buckets:[4]}}"),
            true,
            &mut HistNotes::default(),
        );
        assert_hist(
            got,
            "{{count:0.4 sum:0.4 buckets:[0.4] counter_reset_hint:gauge}}",
        );
    }

    #[test]
    fn idelta_over_histograms() {
        // functions.test: idelta(http_requests_histogram{path=...}[20m]) at 20m.
        let a = expand(
            5 * MIN,
            "{{sum:2 count:2 counter_reset_hint:gauge}}",
            "{{sum:1 count:3 counter_reset_hint:gauge}}",
            5,
        );
        let mut n = HistNotes::default();
        assert_hist(
            histogram_instant_rate(&window(&a, 0, 20 * MIN), false, &mut n),
            "{{sum:1 count:3 counter_reset_hint:gauge}}",
        );
        assert!(n.is_empty());

        let mut n = HistNotes::default();
        let got = histogram_instant_pair(
            &at(10 * MIN, "{{sum:1 count:1}}"),
            &at(15 * MIN, "{{sum:2 count:2 counter_reset_hint:gauge}}"),
            false,
            &mut n,
        );
        assert_hist(got, "{{sum:1 count:1 counter_reset_hint:gauge}}");
        assert!(n.native_histogram_not_gauge);

        // Exponential, then custom: cannot be subtracted.
        let mut n = HistNotes::default();
        let got = histogram_instant_pair(
            &at(10 * MIN, "{{sum:1 count:1 counter_reset_hint:gauge}}"),
            &at(
                15 * MIN,
                "{{schema:-53 sum:1 count:1 custom_values:[5 10] buckets:[1] counter_reset_hint:gauge}}",
            ),
            false,
            &mut n,
        );
        assert_eq!(got, None);
        assert_eq!(n, HistNotes::only_mixed_schemas());

        let mut n = HistNotes::default();
        let got = histogram_instant_pair(
            &at(
                10 * MIN,
                "{{schema:-53 sum:1 count:1 custom_values:[1] buckets:[2] counter_reset_hint:gauge}}",
            ),
            &at(
                15 * MIN,
                "{{schema:-53 sum:1 count:1 custom_values:[1 10] buckets:[1] counter_reset_hint:gauge}}",
            ),
            false,
            &mut n,
        );
        assert_hist(
            got,
            "{{schema:-53 custom_values:[1] counter_reset_hint:gauge buckets:[-1]}}",
        );
        assert!(n.mismatched_custom_buckets_subtracted && !n.native_histogram_not_gauge);
    }

    #[test]
    fn instant_functions_need_two_samples_at_different_times() {
        let h = at(0, "{{count:1 sum:1}}");
        assert_eq!(
            histogram_instant_rate(std::slice::from_ref(&h), true, &mut HistNotes::default()),
            None
        );
        assert_eq!(
            histogram_instant_pair(&h, &h, true, &mut HistNotes::default()),
            None
        );
    }

    #[test]
    fn last_two_picks_across_kinds() {
        let f = |t: i64, v: f64| Sample::new(t, v);
        let hs = [at(15 * MIN, "{{sum:4 count:4}}")];
        // functions.test path="/e": floats 1 2 then a histogram.
        let floats = [f(5 * MIN, 1.0), f(10 * MIN, 2.0)];
        assert_eq!(last_two(&floats, &hs), LastTwo::Mixed);
        // A histogram older than both floats is ignored.
        let later = [f(20 * MIN, 1.0), f(25 * MIN, 2.0)];
        assert_eq!(last_two(&later, &hs), LastTwo::Floats(later[0], later[1]));
        let two = [at(0, "{{sum:1 count:1}}"), at(MIN, "{{sum:2 count:2}}")];
        assert_eq!(last_two(&[], &two), LastTwo::Histograms(&two[0], &two[1]));
        assert_eq!(last_two(&[f(0, 1.0)], &[]), LastTwo::TooFew);
        // A float between two histograms: the float and the later histogram.
        assert_eq!(last_two(&[f(30_000, 1.0)], &two), LastTwo::Mixed);
        // A histogram at the time of the older float takes its place.
        let clash = [f(0, 1.0), f(MIN, 2.0)];
        let h0 = [at(0, "{{sum:1 count:1}}")];
        assert_eq!(last_two(&clash, &h0), LastTwo::Mixed);
        assert_eq!(last_two(&[f(0, 1.0)], &h0), LastTwo::SameTime);
    }

    // --- resets, changes ---

    fn biz() -> (Vec<Sample>, Vec<HistogramSample>) {
        // functions.test: http_requests_histogram{path="/biz"} 0 1 0 2 0 3 0 H H H, 5m apart.
        let floats = [0.0, 1.0, 0.0, 2.0, 0.0, 3.0, 0.0]
            .iter()
            .enumerate()
            .map(|(i, &v)| Sample::new(i as i64 * 5 * MIN, v))
            .collect();
        let hists = [
            "{{schema:0 sum:1 count:1 z_bucket_w:0.001 z_bucket:2}}",
            "{{schema:0 sum:2 count:2 z_bucket_w:0.001 z_bucket:1}}",
            "{{schema:0 sum:1 count:1 z_bucket_w:0.001 z_bucket:2}}",
        ]
        .iter()
        .enumerate()
        .map(|(i, s)| at((7 + i as i64) * 5 * MIN, s))
        .collect();
        (floats, hists)
    }

    #[test]
    fn resets_and_changes_walk_both_kinds_in_time_order() {
        let (floats, hists) = biz();
        assert_eq!(resets_mixed(&floats, &hists), Some(6.0));
        assert_eq!(changes_mixed(&floats, &hists), Some(9.0));
        // path="/bar": eight zeros, then two equal histograms.
        let zeros: Vec<Sample> = (0..8).map(|i| Sample::new(i * 5 * MIN, 0.0)).collect();
        let two = [
            at(40 * MIN, "{{schema:0 sum:1 count:1}}"),
            at(45 * MIN, "{{schema:0 sum:1 count:1}}"),
        ];
        assert_eq!(resets_mixed(&zeros, &two), Some(1.0));
        assert_eq!(changes_mixed(&zeros, &two), Some(1.0));
        assert_eq!(histogram_resets(&two), Some(0.0));
        assert_eq!(histogram_changes(&two), Some(0.0));
        assert_eq!(histogram_resets(&two[..1]), Some(0.0));
        assert_eq!(resets_mixed(&[], &[]), None);
        assert_eq!(changes_mixed(&[], &[]), None);
        // A histogram between floats: a switch each way.
        let fl = [Sample::new(0, 1.0), Sample::new(2 * MIN, 2.0)];
        let mid = [at(MIN, "{{count:1 sum:1}}")];
        assert_eq!(resets_mixed(&fl, &mid), Some(2.0));
        assert_eq!(changes_mixed(&fl, &mid), Some(2.0));
        // NaN to NaN is no change.
        let nan = [
            Sample::new(0, f64::NAN),
            Sample::new(MIN, f64::NAN),
            Sample::new(2 * MIN, 0.0),
        ];
        assert_eq!(changes_mixed(&nan, &[]), Some(1.0));
    }

    #[test]
    fn resets_and_changes_with_custom_bounds() {
        // native_histograms.test: nhcb_metric at 12m.
        let all = series(
            6 * MIN,
            &[
                "{{schema:-53 sum:1 count:1 custom_values:[5] buckets:[1]}}",
                "{{schema:-53 sum:1 count:1 custom_values:[5] buckets:[1]}}",
                "{{schema:-53 sum:1 count:1 custom_values:[5 10] buckets:[1]}}",
            ],
        );
        assert_eq!(histogram_changes(&all), Some(1.0));
        assert_eq!(histogram_resets(&all), Some(0.0));
    }

    #[test]
    fn changes_compares_histograms_bit_for_bit_but_not_their_hints() {
        let a = [
            at(0, "{{count:1 sum:1 buckets:[1]}}"),
            at(MIN, "{{count:1 sum:1 buckets:[1] counter_reset_hint:not_reset}}"),
        ];
        assert_eq!(histogram_changes(&a), Some(0.0));
        let b = [
            at(0, "{{count:1 sum:1 buckets:[1]}}"),
            at(MIN, "{{count:1 sum:1.0000000000000002 buckets:[1]}}"),
        ];
        assert_eq!(histogram_changes(&b), Some(1.0));
        // A reset hint is a reset even when the counts grow.
        let c = [
            at(0, "{{count:1 sum:1}}"),
            at(MIN, "{{count:2 sum:2 counter_reset_hint:reset}}"),
        ];
        assert_eq!(histogram_resets(&c), Some(1.0));
    }

    #[test]
    fn anchored_start_keeps_the_latest_sample_at_or_before_the_range_start() {
        let f = |t: i64| Sample::new(t, 1.0);
        let floats = [f(0), f(2 * MIN), f(4 * MIN)];
        let hists = [at(MIN, "{{count:1}}"), at(3 * MIN, "{{count:1}}")];
        // Latest before 3m30s is the histogram at 3m.
        assert_eq!(anchored_start(&floats, &hists, 3 * MIN + 30_000), Some((2, 1)));
        // Latest at or before 2m is the float at 2m.
        assert_eq!(anchored_start(&floats, &hists, 2 * MIN), Some((1, 1)));
        // Nothing before the start: everything.
        assert_eq!(anchored_start(&floats, &hists, -1), Some((0, 0)));
        // Nothing after the start: no output.
        assert_eq!(anchored_start(&floats, &hists, 4 * MIN), None);
        assert_eq!(anchored_start(&floats, &[], MIN), Some((0, 0)));
        assert_eq!(anchored_start(&[], &hists, 2 * MIN), Some((0, 0)));
    }

    // --- first, last, timestamps ---

    #[test]
    fn first_and_last_over_both_kinds() {
        let floats = [Sample::new(MIN, 1.0), Sample::new(3 * MIN, 2.0)];
        let hists = [at(MIN, "{{count:1}}"), at(2 * MIN, "{{count:2}}")];
        // Equal times: the histogram wins both ways.
        assert_eq!(
            first_in_range(&floats, &hists),
            Some(RangePoint::Histogram(&hists[0]))
        );
        assert_eq!(last_in_range(&floats, &hists), Some(RangePoint::Float(floats[1])));
        assert_eq!(
            last_in_range(&floats[..1], &hists),
            Some(RangePoint::Histogram(&hists[1]))
        );
        assert_eq!(
            first_in_range(&floats[1..], &hists),
            Some(RangePoint::Histogram(&hists[0]))
        );
        assert_eq!(first_in_range(&floats, &[]), Some(RangePoint::Float(floats[0])));
        assert_eq!(last_in_range(&[], &[]), None);
        assert_eq!(ts_of_first_in_range(&floats[1..], &hists), Some(60.0));
        assert_eq!(ts_of_last_in_range(&floats, &hists), Some(180.0));
        assert_eq!(ts_of_last_in_range(&[], &hists), Some(120.0));
        assert_eq!(ts_of_first_in_range(&[], &[]), None);
        // Prometheus's stand-in of 0 for the missing kind.
        assert_eq!(ts_of_last_in_range(&[], &[at(-5000, "{{count:1}}")]), Some(0.0));
    }

    // --- sum_over_time, avg_over_time ---

    const SUM_OVER_TIME_2: [&str; 8] = [
        "{{schema:0 count:1e10 sum:5.30921651659898 z_bucket:1.78264e50 z_bucket_w:0.001 buckets:[1.78264E+50 1.78264E+215 1.78264E+219 3363.5121756487] n_buckets:[1178.20696291113 731.697776280323 715.201503759399 1386.11378876781 855.572553278132]}}",
        "{{schema:0 count:1e-6 sum:0.961118537914768 z_bucket:0.76342771 z_bucket_w:0.001 buckets:[0.76342771 0.76342771 0.76342771 195.70084087969] n_buckets:[421.30382970055 0 450441.779]}}",
        "{{schema:0 count:1e-6 sum:1.62091361305318 z_bucket:1.9592258 z_bucket_w:0.001 buckets:[1.9592258 1.9592258 1.9592258 1135.74692279] n_buckets:[0 4504.41779 588.599358265103 40.3760942760943]}}",
        "{{schema:0 count:1e-6 sum:0.865089463758091 z_bucket:7.69805412 z_bucket_w:0.001 buckets:[2.258E+220 2.258E+220 2.3757689E+217 1078.68071312804] n_buckets:[349.905284031261 0 0 0.161173466838949 588.599358]}}",
        "{{schema:0 count:1e-6 sum:0.323055185914577 z_bucket:458.90154 z_bucket_w:0.001 buckets:[7.69805412 7.69805412 2.258E+220 3173.28218135701]}}",
        "{{schema:0 count:1e-6 sum:0.951811357687154 z_bucket:1.78264e50 z_bucket_w:0.001 buckets:[458.90154 458.90154 7.69805412 2178.35] n_buckets:[2054.92644438789 844.560108898123]}}",
        "{{schema:0 count:1e-6 sum:0 z_bucket:5 z_bucket_w:0.001 buckets:[0 0 1.78264E+219 376.770478890989]}}",
        "{{schema:0 count:1e-6 sum:0 z_bucket:0 z_bucket_w:0.001 buckets:[0 0 458.90154 250325.5] n_buckets:[0 0.0000000011353 0 608.697257]}}",
    ];

    /// The sum_over_time/avg_over_time cases of native_histograms.test: series, expected sum, expected
    /// average.
    fn over_time_cases() -> Vec<(Vec<String>, &'static str, &'static str)> {
        let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let mut incremental = owned(&SUM_OVER_TIME_2);
        incremental[0] = incremental[0].replace("count:1e10", "count:1.7976931348623157e+308");
        incremental[1] = incremental[1].replace("count:1e-6", "count:1e308");
        let plain = |sums: &[&str], counts: &[&str]| {
            sums.iter()
                .zip(counts)
                .map(|(s, c)| format!("{{{{schema:0 count:{c} sum:{s}}}}}"))
                .collect::<Vec<_>>()
        };
        let big = [
            "1.7976931348623157e+308",
            "1e308",
            "1e-6",
            "1e-6",
            "1e-6",
            "1e-6",
            "1e-6",
        ];
        vec![
            (
                owned(&[
                    "{{schema:0 count:25 sum:1234.5 z_bucket:4 z_bucket_w:0.001 buckets:[1 2 0 1 1] n_buckets:[2 4 0 0 1 9]}}",
                    "{{schema:0 count:41 sum:2345.6 z_bucket:5 z_bucket_w:0.001 buckets:[1 3 1 2 1 1 1] n_buckets:[0 1 4 2 7 0 0 0 0 5 5 2]}}",
                    "{{schema:0 count:41 sum:1111.1 z_bucket:5 z_bucket_w:0.001 buckets:[1 3 1 2 1 1 1] n_buckets:[0 1 4 2 7 0 0 0 0 5 5 2]}}",
                    "{{schema:1 count:0}}",
                ]),
                "{{schema:0 count:107 sum:4691.2 z_bucket:14 z_bucket_w:0.001 buckets:[3 8 2 5 3 2 2] n_buckets:[2 6 8 4 15 9 0 0 0 10 10 4]}}",
                "{{schema:0 count:26.75 sum:1172.8 z_bucket:3.5 z_bucket_w:0.001 buckets:[0.75 2 0.5 1.25 0.75 0.5 0.5] n_buckets:[0.5 1.5 2 1 3.75 2.25 0 0 0 2.5 2.5 1]}}",
            ),
            (
                owned(&SUM_OVER_TIME_2),
                "{{schema:0 count:10000000000.000008 sum:10.03120467492675 z_bucket:3.56528e+50 z_bucket_w:0.001 buckets:[2.258e+220 2.2580178264e+220 2.6169037689e+220 261827.54331269444] n_buckets:[4004.342521030831 6080.675675179582 451745.57986202446 2035.3483135107433 1444.171911278132]}}",
                "{{schema:0 count:1250000000.000001 sum:1.2539005843658437 z_bucket:4.4566e49 z_bucket_w:0.001 buckets:[2.8225e+219 2.822522283e+219 3.271129711125e+219 32728.442914086805] n_buckets:[500.5428151288539 760.0844593974477 56468.19748275306 254.4185391888429 180.5214889097665]}}",
            ),
            (
                plain(&["1", "1e100", "1", "-1e100"], &["1", "2", "3", "4"]),
                "{{schema:0 count:10 sum:2}}",
                "{{schema:0 count:2.5 sum:0.5}}",
            ),
            (
                plain(
                    &["5.3", "1e100", "1", "-1e100", "2", "1e50", "-1e50"],
                    &["1", "2", "3", "4", "5", "6", "7"],
                ),
                "{{schema:0 count:28 sum:8.3}}",
                "{{schema:0 count:4 sum:1.1857142857142857}}",
            ),
            (
                incremental,
                "{{schema:0 count:Inf sum:10.03120467492675 z_bucket:3.56528e+50 z_bucket_w:0.001 buckets:[2.258e+220 2.2580178264e+220 2.6169037689e+220 261827.54331269444] n_buckets:[4004.342521030831 6080.675675179582 451745.57986202446 2035.3483135107433 1444.171911278132]}}",
                "{{schema:0 count:3.497116418577895e+307 sum:1.2539005843658437 z_bucket:4.4566e49 z_bucket_w:0.001 buckets:[2.8225e+219 2.822522283e+219 3.271129711125e+219 32728.442914086805] n_buckets:[500.5428151288539 760.0844593974477 56468.19748275306 254.4185391888429 180.5214889097665]}}",
            ),
            (
                plain(&["5.3", "1e100", "1", "-1e100", "2", "0", "0"], &big),
                "{{schema:0 count:Inf sum:8.3}}",
                "{{schema:0 count:3.9967044783747367e+307 sum:1.1857142857142857}}",
            ),
            (
                plain(&["5.3", "1e100", "-1e100", "1", "1e100", "-1e100", "0"], &big),
                "{{schema:0 count:Inf sum:6.3}}",
                "{{schema:0 count:3.9967044783747367e+307 sum:0.9}}",
            ),
            (
                plain(&["5.3", "1e100", "-1e100", "1", "1e50", "-1e50", "0"], &big),
                "{{schema:0 count:Inf sum:6.3}}",
                "{{schema:0 count:3.9967044783747367e+307 sum:0.9}}",
            ),
            (
                plain(&["1", "1e100", "1", "-1e100"], &big[..4]),
                "{{schema:0 count:Inf sum:2}}",
                "{{schema:0 count:6.99423283715579e+307 sum:0.5}}",
            ),
        ]
    }

    #[test]
    fn sum_and_avg_over_time_match_the_prometheus_test_scripts() {
        for (list, sum, avg) in over_time_cases() {
            let refs: Vec<&str> = list.iter().map(String::as_str).collect();
            let win = series(MIN, &refs);
            let mut n = HistNotes::default();
            assert_hist(sum_over_time_histograms(&win, &mut n), sum);
            assert_hist(avg_over_time_histograms(&win, &mut n), avg);
            assert!(n.is_empty(), "{n:?}");
        }
    }

    #[test]
    fn avg_over_time_switches_to_the_incremental_mean_on_overflow() {
        // Two maximal counts overflow the direct sum; the incremental mean stays finite and exact.
        let win = series(
            MIN,
            &[
                "{{count:1.7976931348623157e+308 sum:2}}",
                "{{count:1.7976931348623157e+308 sum:4}}",
            ],
        );
        let got = avg_over_time_histograms(&win, &mut HistNotes::default()).expect("a result");
        assert_eq!(got.count, 1.7976931348623157e+308);
        assert_eq!(got.sum, 3.0);
        let got = sum_over_time_histograms(&win, &mut HistNotes::default()).expect("a result");
        assert_eq!(got.count, f64::INFINITY);
    }

    #[test]
    fn a_single_histogram_is_its_own_sum_and_average() {
        // native_histograms.test: single_histogram_sample and single_nhcb_sample.
        for s in [
            "{{schema:3 sum:5 count:4 buckets:[1 2 1]}}",
            "{{schema:-53 sum:1 count:5 custom_values:[5 10] buckets:[1 4]}}",
        ] {
            let win = [at(0, s)];
            assert_hist(avg_over_time_histograms(&win, &mut HistNotes::default()), s);
            assert_hist(sum_over_time_histograms(&win, &mut HistNotes::default()), s);
        }
        assert_eq!(sum_over_time_histograms(&[], &mut HistNotes::default()), None);
        assert_eq!(avg_over_time_histograms(&[], &mut HistNotes::default()), None);
    }

    #[test]
    fn sum_and_avg_over_time_reconcile_custom_bounds() {
        // native_histograms.test: nhcb_metric at 12m and 18m.
        let a = "{{schema:-53 sum:1 count:1 custom_values:[5] buckets:[1]}}";
        let b = "{{schema:-53 sum:1 count:1 custom_values:[5 10] buckets:[1]}}";
        for list in [[a, a, b], [a, b, b]] {
            let win = series(6 * MIN, &list);
            let mut n = HistNotes::default();
            assert_hist(
                sum_over_time_histograms(&win, &mut n),
                "{{schema:-53 count:3 sum:3 custom_values:[5] buckets:[3]}}",
            );
            assert_hist(
                avg_over_time_histograms(&win, &mut n),
                "{{schema:-53 count:1 sum:1 custom_values:[5] buckets:[1]}}",
            );
            assert_eq!(
                n,
                HistNotes {
                    mismatched_custom_buckets_aggregated: true,
                    ..HistNotes::default()
                }
            );
        }
    }

    #[test]
    fn sum_over_time_warns_about_conflicting_reset_hints() {
        let win = series(
            MIN,
            &[
                "{{count:1 sum:1 counter_reset_hint:reset}}",
                "{{count:2 sum:2}}",
                "{{count:3 sum:3 counter_reset_hint:not_reset}}",
            ],
        );
        let mut n = HistNotes::default();
        assert_hist(sum_over_time_histograms(&win, &mut n), "{{count:6 sum:6}}");
        assert!(n.histogram_counter_reset_collision);
        let mut n = HistNotes::default();
        assert_hist(avg_over_time_histograms(&win, &mut n), "{{count:2 sum:2}}");
        assert!(n.histogram_counter_reset_collision);
        let mut n = HistNotes::default();
        sum_over_time_histograms(&win[1..], &mut n);
        assert!(n.is_empty());
    }

    #[test]
    fn stats_iterator_hints_make_the_late_reset_collide() {
        // native_histograms.test: histogram_count(sum_over_time(reset{timing="late"}[5m])) at 5m.
        let all = series(
            MIN,
            &[
                "{{schema:0 sum:1 count:0 buckets:[1 1 1]}}",
                "{{schema:0 sum:1 count:2 buckets:[1 1 1]}}",
                "{{schema:0 sum:1 count:3 buckets:[1 1 1]}}",
                "{{schema:0 sum:1 count:2 buckets:[1 1 1]}}",
            ],
        );
        let win = window(&all, 0, 5 * MIN);
        let mut n = HistNotes::default();
        sum_over_time_histograms(&win, &mut n);
        assert!(n.is_empty());

        let mut previous: Option<&FloatHistogram> = None;
        let mut hinted = Vec::new();
        for s in &win {
            let mut h = (*s.h).clone();
            h.counter_reset_hint = stats_iterator_hint(&s.h, previous);
            hinted.push(HistogramSample {
                t: s.t,
                h: Arc::new(h),
            });
            previous = Some(&s.h);
        }
        let hints: Vec<_> = hinted.iter().map(|s| s.h.counter_reset_hint).collect();
        use CounterResetHint::*;
        assert_eq!(hints, [Unknown, NotCounterReset, CounterReset]);
        let mut n = HistNotes::default();
        let got = sum_over_time_histograms(&hinted, &mut n).expect("a result");
        assert_eq!(got.count, 7.0);
        assert!(n.histogram_counter_reset_collision);
        let gauge = hist("{{count:1 counter_reset_hint:gauge}}");
        assert_eq!(stats_iterator_hint(&gauge, Some(&hist("{{count:5}}"))), Gauge);
    }

    #[test]
    fn sum_and_avg_over_time_refuse_mixed_bucket_kinds() {
        let win = series(
            MIN,
            &[
                "{{count:1 sum:1 counter_reset_hint:reset}}",
                "{{count:1 sum:1 counter_reset_hint:not_reset}}",
                "{{schema:-53 sum:1 count:1 custom_values:[5] buckets:[1]}}",
            ],
        );
        for f in [sum_over_time_histograms, avg_over_time_histograms] {
            let mut n = HistNotes::default();
            assert_eq!(f(&win, &mut n), None);
            assert_eq!(n, HistNotes::only_mixed_schemas());
        }
    }

    #[test]
    fn kahan_sum_agrees_with_plain_addition_across_layout_changes() {
        // Schema changes both ways, zero buckets widening both ways, negative buckets, gaps: with small
        // integers compensation changes nothing, so the result must equal plain addition.
        let list = [
            "{{schema:2 count:9 sum:20 z_bucket:1 z_bucket_w:0.001 buckets:[1 2 0 1] n_buckets:[2 1 1] offset:-3 n_offset:2}}",
            "{{schema:0 count:5 sum:7 z_bucket:1 z_bucket_w:0.001 buckets:[1 1 1] n_buckets:[1] offset:2}}",
            "{{schema:1 count:6 sum:8 z_bucket:2 z_bucket_w:0.25 buckets:[1 1 1 1] offset:-4 n_buckets:[0 0 2] n_offset:-3}}",
            "{{schema:0 count:3 sum:1 z_bucket:1 z_bucket_w:0.001 buckets:[1 1] offset:7}}",
            "{{schema:-1 count:4 sum:2 z_bucket:0 z_bucket_w:2 buckets:[2 2] offset:1}}",
        ];
        let mut plain = hist(list[0]);
        let mut acc = HistogramKahanSum::new(&plain);
        for s in &list[1..] {
            let h = hist(s);
            let want = plain.add(&h).expect("plain add");
            let got = acc.add(&h).expect("kahan add");
            assert_eq!(got, want);
            let mut value = acc.value();
            value.compact(0);
            let mut expected = plain.clone();
            expected.compact(0);
            assert_eq!(value, expected, "after adding {s}");
        }
    }

    #[test]
    fn kahan_sum_compensates_every_field() {
        let list = [
            "{{count:1 sum:1 z_bucket:1 z_bucket_w:0.001 buckets:[1 1] n_buckets:[1]}}",
            "{{count:1e100 sum:1e100 z_bucket:1e100 z_bucket_w:0.001 buckets:[1e100 1e100] n_buckets:[1e100]}}",
            "{{count:1 sum:1 z_bucket:1 z_bucket_w:0.001 buckets:[1 1] n_buckets:[1]}}",
            "{{count:-1e100 sum:-1e100 z_bucket:-1e100 z_bucket_w:0.001 buckets:[-1e100 -1e100] n_buckets:[-1e100]}}",
        ];
        let mut acc = HistogramKahanSum::new(&hist(list[0]));
        for s in &list[1..] {
            acc.add(&hist(s)).expect("add");
        }
        assert_eq!(
            acc.value(),
            hist("{{count:2 sum:2 z_bucket:2 z_bucket_w:0.001 buckets:[2 2] n_buckets:[2]}}")
        );
    }

    #[test]
    fn kahan_sum_reconciles_custom_bounds_and_hints() {
        let mut acc = HistogramKahanSum::new(&hist(
            "{{schema:-53 count:6 sum:6 custom_values:[1 2 3] buckets:[1 2 3] counter_reset_hint:not_reset}}",
        ));
        let outcome = acc
            .add(&hist(
                "{{schema:-53 count:3 sum:3 custom_values:[2 4] buckets:[1 1 1] counter_reset_hint:reset}}",
            ))
            .expect("add");
        assert!(outcome.custom_buckets_reconciled && outcome.counter_reset_collision);
        assert_eq!(
            acc.value(),
            hist("{{schema:-53 count:9 sum:9 custom_values:[2] buckets:[4 5]}}")
        );
        assert!(matches!(
            acc.add(&hist("{{count:1}}")),
            Err(HistogramError::IncompatibleSchema)
        ));
    }

    // --- anchored and smoothed ---

    fn hist_counter() -> Vec<HistogramSample> {
        // extended_vectors.test: count, sum and bucket 1 all i+1 at 15s·i.
        (0..8)
            .map(|i| {
                at(
                    i * 15_000,
                    &format!("{{{{schema:0 count:{0} sum:{0} buckets:[{0}] offset:1}}}}", i + 1),
                )
            })
            .collect()
    }

    /// `increase`/`rate`/`delta` with `anchored`/`smoothed` of `all` over `[range]` at `end`.
    fn extended(
        all: &[HistogramSample],
        end: i64,
        range: i64,
        smoothed: bool,
        kind: (bool, bool),
        n: &mut HistNotes,
    ) -> Option<FloatHistogram> {
        let start = end - range;
        extended_histogram_rate(
            &extended_window(all, start, end, smoothed),
            start,
            end,
            smoothed,
            kind.0,
            kind.1,
            n,
        )
    }

    const INCREASE: (bool, bool) = (true, false);
    const RATE: (bool, bool) = (true, true);
    const DELTA: (bool, bool) = (false, false);

    #[track_caller]
    fn assert_count(got: Option<FloatHistogram>, count: f64) {
        let got = got.expect("a result");
        assert_close(got.count, count);
        assert_eq!(got.counter_reset_hint, CounterResetHint::Gauge);
    }

    #[test]
    fn anchored_and_smoothed_counters() {
        let all = hist_counter();
        let mut n = HistNotes::default();
        assert_count(extended(&all, 50_000, MIN, false, INCREASE, &mut n), 3.0);
        assert_count(
            extended(&all, 50_000, MIN, true, INCREASE, &mut n),
            3.333333333333333,
        );
        assert_count(
            extended(&all, 5_000, MIN, true, INCREASE, &mut n),
            0.3333333333333333,
        );
        assert_count(
            extended(&all, 50_000, MIN, true, RATE, &mut n),
            0.05555555555555555,
        );
        assert_count(extended(&all, 5_000, MIN, false, INCREASE, &mut n), 0.0);
        assert_count(extended(&all, 50_000, MIN, false, RATE, &mut n), 0.05);
        let got = extended(&all, 50_000, MIN, true, INCREASE, &mut n).expect("a result");
        assert_close(got.sum, 3.333333333333333);
        assert!(n.is_empty());
        for smoothed in [false, true] {
            let mut n = HistNotes::default();
            let want = if smoothed { 3.333333333333333 } else { 3.0 };
            assert_count(extended(&all, 50_000, MIN, smoothed, DELTA, &mut n), want);
            assert_eq!(
                n,
                HistNotes {
                    native_histogram_not_gauge: true,
                    ..HistNotes::default()
                }
            );
        }
    }

    #[test]
    fn anchored_and_smoothed_resets() {
        let mut n = HistNotes::default();
        assert_count(
            extended(&reset_custom_hist(), 90_000, 90_000, false, INCREASE, &mut n),
            6.0,
        );

        let s = |list: &[&str], step: i64| series(step, list);
        let reset_boundary = vec![
            at(
                10_000,
                "{{schema:0 sum:396 count:396 buckets:[396] counter_reset_hint:not_reset}}",
            ),
            at(
                20_000,
                "{{schema:0 sum:110 count:110 buckets:[110] counter_reset_hint:reset}}",
            ),
            at(
                30_000,
                "{{schema:0 sum:194 count:194 buckets:[194] counter_reset_hint:not_reset}}",
            ),
        ];
        assert_count(extended(&reset_boundary, 20_500, 1_000, true, RATE, &mut n), 9.7);

        let at_end = s(
            &[
                "{{schema:0 sum:5 count:5 buckets:[5]}}",
                "{{schema:0 sum:10 count:10 buckets:[10]}}",
                "{{schema:0 sum:3 count:3 buckets:[3] counter_reset_hint:reset}}",
            ],
            30_000,
        );
        assert_count(extended(&at_end, 70_000, 70_000, false, INCREASE, &mut n), 8.0);

        let two = s(
            &[
                "{{schema:0 sum:5 count:5 buckets:[5]}}",
                "{{schema:0 sum:3 count:3 buckets:[3] counter_reset_hint:reset}}",
            ],
            30_000,
        );
        assert_count(extended(&two, 30_000, 30_000, false, INCREASE, &mut n), 3.0);

        let double = s(
            &[
                "{{schema:0 sum:10 count:10 buckets:[10]}}",
                "{{schema:0 sum:5 count:5 buckets:[5] counter_reset_hint:reset}}",
                "{{schema:0 sum:2 count:2 buckets:[2] counter_reset_hint:reset}}",
                "{{schema:0 sum:4 count:4 buckets:[4]}}",
            ],
            10_000,
        );
        assert_count(extended(&double, 15_000, 14_000, true, INCREASE, &mut n), 5.5);

        let both = s(
            &[
                "{{schema:0 sum:10 count:10 buckets:[10]}}",
                "{{schema:0 sum:5 count:5 buckets:[5] counter_reset_hint:reset}}",
            ],
            20_000,
        );
        assert_count(extended(&both, 15_000, 10_000, true, INCREASE, &mut n), 2.5);
        assert!(n.is_empty(), "{n:?}");
    }

    #[test]
    fn anchored_and_smoothed_warnings() {
        let mid_gauge = series(
            30_000,
            &[
                "{{schema:0 sum:1 count:1 buckets:[1]}}",
                "{{schema:0 sum:2 count:2 buckets:[2] counter_reset_hint:gauge}}",
                "{{schema:0 sum:3 count:3 buckets:[3]}}",
            ],
        );
        let not_counter = HistNotes {
            native_histogram_not_counter: true,
            ..HistNotes::default()
        };
        let mut n = HistNotes::default();
        assert_count(
            extended(&mid_gauge, 90_000, 90_000, false, RATE, &mut n),
            0.022222222222222223,
        );
        assert_eq!(n, not_counter);
        let mut n = HistNotes::default();
        assert_count(extended(&mid_gauge, 90_000, 90_000, true, INCREASE, &mut n), 2.0);
        assert_eq!(n, not_counter);
        let mut n = HistNotes::default();
        assert_count(extended(&mid_gauge, 90_000, 90_000, false, DELTA, &mut n), 2.0);
        assert_eq!(
            n,
            HistNotes {
                native_histogram_not_gauge: true,
                ..HistNotes::default()
            }
        );

        let mixed = series(
            30_000,
            &[
                "{{schema:0 sum:1 count:1 buckets:[1]}}",
                "{{schema:-53 sum:1 count:1 custom_values:[5 10] buckets:[1]}}",
                "{{schema:0 sum:5 count:4 buckets:[1 2 1]}}",
                "{{schema:-53 sum:1 count:1 custom_values:[5 10] buckets:[1]}}",
            ],
        );
        for (end, smoothed) in [(MIN, false), (45_000, true)] {
            let mut n = HistNotes::default();
            assert_eq!(extended(&mixed, end, MIN, smoothed, RATE, &mut n), None);
            assert_eq!(n, HistNotes::only_mixed_schemas());
        }
        // Nothing after the range start.
        assert_eq!(
            extended(
                &mid_gauge,
                200_000,
                30_000,
                false,
                RATE,
                &mut HistNotes::default()
            ),
            None
        );
        assert_eq!(
            extended_histogram_rate(&[], 0, 1, true, true, true, &mut HistNotes::default()),
            None
        );
    }

    #[test]
    fn interpolation_between_histograms() {
        let a = at(0, "{{count:2 sum:4 buckets:[2]}}");
        let b = at(10_000, "{{count:12 sum:14 buckets:[2 10]}}");
        let mut n = HistNotes::default();
        let got = interpolate_histograms(&a, &b, 2_500, true, &mut n).expect("compatible");
        assert_hist(Some(got), "{{count:4.5 sum:6.5 buckets:[2 2.5]}}");
        assert_eq!(
            interpolate_histograms(&a, &b, 0, true, &mut n).expect("compatible"),
            *a.h
        );
        assert_eq!(
            interpolate_histograms(&a, &b, 10_000, true, &mut n).expect("compatible"),
            *b.h
        );
        // A reset: the counter restarts from zero.
        let got = interpolate_histograms(
            &b,
            &at(20_000, "{{count:4 sum:4 buckets:[4]}}"),
            15_000,
            true,
            &mut n,
        );
        assert_hist(got.ok(), "{{count:2 sum:2 buckets:[2]}}");
        assert!(n.is_empty());
        let custom = at(
            10_000,
            "{{schema:-53 count:1 sum:1 custom_values:[1] buckets:[1]}}",
        );
        assert!(matches!(
            interpolate_histograms(&a, &custom, 5_000, false, &mut n),
            Err(HistogramError::IncompatibleSchema)
        ));
    }

    #[test]
    fn notes_merge() {
        let mut a = notes(|n| n.native_histogram_not_counter = true);
        a.merge(notes(|n| n.mismatched_custom_buckets_aggregated = true));
        assert!(a.native_histogram_not_counter && a.mismatched_custom_buckets_aggregated && !a.is_empty());
        assert!(!a.native_histogram_not_gauge);
    }
}
