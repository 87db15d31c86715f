//! Histogram arithmetic and housekeeping with Prometheus's semantics (`model/histogram`,
//! `float_histogram.go` and `generic.go` of v3.14): scaling, addition and subtraction across schemas,
//! zero thresholds and custom bounds, compaction, resolution reduction, counter-reset detection,
//! equality and validation.

use super::bounds::{get_bound_exponential, is_exponential_schema};
use super::error::{HistogramError, Part};
use super::iter::{Bucket, MergeWalk, target_index};
use super::notation::{custom_bounds_match, spans_match};
use super::{CUSTOM_BUCKETS_SCHEMA, CounterResetHint, FloatHistogram, Span};

/// What [`FloatHistogram::add`] or [`FloatHistogram::sub`] noticed on the way; the engine turns these
/// into annotations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddOutcome {
    /// One operand was marked as following a counter reset and the other as not; the result's hint
    /// became [`CounterResetHint::Unknown`]. Prometheus warns "conflicting counter resets during
    /// histogram addition/subtraction/aggregation".
    pub counter_reset_collision: bool,
    /// Both operands use custom buckets with different bounds; the result uses only the bounds both
    /// have, each bucket absorbing the buckets it covers. Prometheus notes "mismatched custom buckets
    /// were reconciled during addition/subtraction/aggregation".
    pub custom_buckets_reconciled: bool,
}

impl FloatHistogram {
    /// Scales the count, sum, zero count and every bucket by `factor`, keeping the layout. A negative
    /// factor makes the result a gauge histogram.
    pub fn mul(&mut self, factor: f64) {
        self.zero_count *= factor;
        self.count *= factor;
        self.sum *= factor;
        for b in self
            .positive_buckets
            .iter_mut()
            .chain(self.negative_buckets.iter_mut())
        {
            *b *= factor;
        }
        if factor < 0.0 {
            self.counter_reset_hint = CounterResetHint::Gauge;
        }
    }

    /// Divides the count, sum, zero count and every bucket by `divisor`. Dividing by zero keeps the
    /// (now infinite or NaN) count, sum and zero count but removes all buckets, as Prometheus does; a
    /// negative divisor makes the result a gauge histogram.
    pub fn div(&mut self, divisor: f64) {
        self.zero_count /= divisor;
        self.count /= divisor;
        self.sum /= divisor;
        if divisor == 0.0 {
            self.positive_buckets.clear();
            self.negative_buckets.clear();
            self.positive_spans.clear();
            self.negative_spans.clear();
            return;
        }
        for b in self
            .positive_buckets
            .iter_mut()
            .chain(self.negative_buckets.iter_mut())
        {
            *b /= divisor;
        }
        if divisor < 0.0 {
            self.counter_reset_hint = CounterResetHint::Gauge;
        }
    }

    /// Adds `other` into `self`, bucket by bucket.
    ///
    /// Exponential histograms are brought to the lower of the two schemas and to a common zero bucket:
    /// the larger threshold, widened further until it falls on a boundary of no populated bucket of
    /// either histogram, with the buckets inside it merged into the zero count (this may compact
    /// `self`). Custom-bucket histograms with different bounds are reconciled to the bounds both have
    /// (see [`AddOutcome::custom_buckets_reconciled`]). The counter-reset hint becomes: the common hint
    /// if equal; else gauge if either is a gauge; else unknown (a reset/not-reset clash is reported in
    /// [`AddOutcome::counter_reset_collision`]). Buckets may end up empty and spans adjacent; call
    /// [`FloatHistogram::compact`] to normalize.
    ///
    /// Errors if one histogram uses custom buckets and the other does not, or if a histogram's spans
    /// and buckets disagree (where Prometheus would panic); `self` is unchanged then.
    pub fn add(&mut self, other: &FloatHistogram) -> Result<AddOutcome, HistogramError> {
        self.add_or_sub(other, false)
    }

    /// Subtracts `other` from `self`, like [`FloatHistogram::add`] (including the hint rules, which suit
    /// the incremental mean; PromQL's `-` operator marks its result a gauge afterwards).
    pub fn sub(&mut self, other: &FloatHistogram) -> Result<AddOutcome, HistogramError> {
        self.add_or_sub(other, true)
    }

    fn add_or_sub(&mut self, other: &FloatHistogram, negate: bool) -> Result<AddOutcome, HistogramError> {
        if self.uses_custom_buckets() != other.uses_custom_buckets() {
            return Err(HistogramError::IncompatibleSchema);
        }
        check_layout(self)?;
        check_layout(other)?;
        let counter_reset_collision = self.adjust_counter_reset(other);
        if !self.uses_custom_buckets() {
            let other_zero_count = self.reconcile_zero_buckets(other);
            if negate {
                self.zero_count -= other_zero_count;
            } else {
                self.zero_count += other_zero_count;
            }
        }
        if negate {
            self.count -= other.count;
            self.sum -= other.sum;
        } else {
            self.count += other.count;
            self.sum += other.sum;
        }

        if self.uses_custom_buckets() {
            if custom_bounds_match(&self.custom_values, &other.custom_values) {
                add_buckets(
                    self.schema,
                    self.zero_threshold,
                    negate,
                    &mut self.positive_spans,
                    &mut self.positive_buckets,
                    &other.positive_spans,
                    &other.positive_buckets,
                );
                return Ok(AddOutcome {
                    counter_reset_collision,
                    custom_buckets_reconciled: false,
                });
            }
            let bounds = intersect_custom_bounds(&self.custom_values, &other.custom_values);
            let (spans, buckets) = add_mismatched_custom_buckets(
                negate,
                (&self.positive_spans, &self.positive_buckets, &self.custom_values),
                (
                    &other.positive_spans,
                    &other.positive_buckets,
                    &other.custom_values,
                ),
                &bounds,
            );
            self.positive_spans = spans;
            self.positive_buckets = buckets;
            self.custom_values = bounds;
            return Ok(AddOutcome {
                counter_reset_collision,
                custom_buckets_reconciled: true,
            });
        }

        let reduced_other;
        let (other_pos, other_neg) = if other.schema < self.schema {
            self.reduce_resolution_unchecked(other.schema)?;
            (
                (other.positive_spans.as_slice(), other.positive_buckets.as_slice()),
                (other.negative_spans.as_slice(), other.negative_buckets.as_slice()),
            )
        } else if other.schema > self.schema {
            reduced_other = (
                reduce_resolution(
                    &other.positive_spans,
                    &other.positive_buckets,
                    other.schema,
                    self.schema,
                )?,
                reduce_resolution(
                    &other.negative_spans,
                    &other.negative_buckets,
                    other.schema,
                    self.schema,
                )?,
            );
            (
                (reduced_other.0.0.as_slice(), reduced_other.0.1.as_slice()),
                (reduced_other.1.0.as_slice(), reduced_other.1.1.as_slice()),
            )
        } else {
            (
                (other.positive_spans.as_slice(), other.positive_buckets.as_slice()),
                (other.negative_spans.as_slice(), other.negative_buckets.as_slice()),
            )
        };
        add_buckets(
            self.schema,
            self.zero_threshold,
            negate,
            &mut self.positive_spans,
            &mut self.positive_buckets,
            other_pos.0,
            other_pos.1,
        );
        add_buckets(
            self.schema,
            self.zero_threshold,
            negate,
            &mut self.negative_spans,
            &mut self.negative_buckets,
            other_neg.0,
            other_neg.1,
        );
        Ok(AddOutcome {
            counter_reset_collision,
            custom_buckets_reconciled: false,
        })
    }

    /// The hint rules of addition and subtraction; true on a reset/not-reset collision.
    fn adjust_counter_reset(&mut self, other: &FloatHistogram) -> bool {
        use CounterResetHint::*;
        match (self.counter_reset_hint, other.counter_reset_hint) {
            (a, b) if a == b => false,
            (Gauge, _) => false,
            (_, Gauge) => {
                self.counter_reset_hint = Gauge;
                false
            }
            (Unknown, _) => false,
            (_, Unknown) => {
                self.counter_reset_hint = Unknown;
                false
            }
            _ => {
                self.counter_reset_hint = Unknown;
                true
            }
        }
    }

    /// Widens the zero buckets of `self` and (virtually) `other` to a common threshold that is no
    /// populated bucket's inside in either; returns the zero count `other` would have with it.
    fn reconcile_zero_buckets(&mut self, other: &FloatHistogram) -> f64 {
        let mut other_count = other.zero_count;
        let mut other_threshold = other.zero_threshold;
        while other_threshold != self.zero_threshold {
            if self.zero_threshold.is_nan() || other_threshold.is_nan() {
                // Prometheus loops forever here; there is no common threshold to find.
                break;
            }
            if self.zero_threshold > other_threshold {
                (other_count, other_threshold) = other.zero_count_for_larger_threshold(self.zero_threshold);
            }
            if other_threshold > self.zero_threshold {
                (self.zero_count, self.zero_threshold) =
                    self.zero_count_for_larger_threshold(other_threshold);
                self.trim_buckets_in_zero_bucket();
            }
        }
        other_count
    }

    /// The zero count this histogram would have with the zero threshold raised to `larger` (≥ the
    /// current one), and the threshold actually needed: if `larger` falls inside a populated bucket, the
    /// threshold moves up to that bucket's far bound and its count is included.
    fn zero_count_for_larger_threshold(&self, mut larger: f64) -> (f64, f64) {
        if larger == self.zero_threshold {
            return (self.zero_count, larger);
        }
        'again: loop {
            let mut count = self.zero_count;
            for b in self.iter_positive() {
                if b.lower >= larger {
                    break;
                }
                count += b.count;
                if b.upper > larger {
                    if b.count != 0.0 {
                        larger = b.upper;
                    }
                    break;
                }
            }
            for b in self.iter_negative() {
                if b.upper <= -larger {
                    break;
                }
                count += b.count;
                if b.lower < -larger {
                    if b.count != 0.0 {
                        // The positive side was measured against a too small threshold.
                        larger = -b.lower;
                        continue 'again;
                    }
                    break;
                }
            }
            return (count, larger);
        }
    }

    /// Empties the buckets inside the zero bucket (their counts already moved into the zero count),
    /// then compacts with `compact(0)` as Prometheus does.
    fn trim_buckets_in_zero_bucket(&mut self) {
        let zt = self.zero_threshold;
        let n = self.iter_positive().take_while(|b| b.lower < zt).count();
        self.positive_buckets[..n].fill(0.0);
        let n = self.iter_negative().take_while(|b| b.upper > -zt).count();
        self.negative_buckets[..n].fill(0.0);
        self.compact(0);
    }

    /// Reduces the resolution to the exponential schema `target_schema`, lower than the current one,
    /// merging buckets that fall into the same coarser bucket.
    pub fn reduce_resolution(&mut self, target_schema: i32) -> Result<(), HistogramError> {
        if self.uses_custom_buckets() {
            return Err(HistogramError::ReduceCustomBuckets);
        }
        if target_schema == CUSTOM_BUCKETS_SCHEMA {
            return Err(HistogramError::ReduceToCustomBuckets);
        }
        if target_schema >= self.schema {
            return Err(HistogramError::ReduceToHigherSchema {
                from: self.schema,
                to: target_schema,
            });
        }
        self.reduce_resolution_unchecked(target_schema)
    }

    fn reduce_resolution_unchecked(&mut self, target_schema: i32) -> Result<(), HistogramError> {
        let (ps, pb) = reduce_resolution(
            &self.positive_spans,
            &self.positive_buckets,
            self.schema,
            target_schema,
        )?;
        let (ns, nb) = reduce_resolution(
            &self.negative_spans,
            &self.negative_buckets,
            self.schema,
            target_schema,
        )?;
        self.positive_spans = ps;
        self.positive_buckets = pb;
        self.negative_spans = ns;
        self.negative_buckets = nb;
        self.schema = target_schema;
        Ok(())
    }

    /// Removes empty buckets at the start and end of every span, drops empty spans, merges spans that
    /// touch, splits spans at runs of more than `max_empty_buckets` empty buckets and joins spans at
    /// most that many buckets apart (filling the gap with empty buckets). `compact(0)` leaves no empty
    /// bucket; `compact(usize::MAX)` leaves one span per side.
    ///
    /// Prometheus's implementation puts the empty buckets of a second consecutive join in the wrong
    /// place (only reachable with `max_empty_buckets > 0`, which PromQL never uses); this one inserts
    /// them where they belong.
    pub fn compact(&mut self, max_empty_buckets: usize) {
        compact_side(
            &mut self.positive_buckets,
            &mut self.positive_spans,
            max_empty_buckets,
        );
        compact_side(
            &mut self.negative_buckets,
            &mut self.negative_spans,
            max_empty_buckets,
        );
    }

    /// Whether `self` must follow a counter reset after `previous`, per Prometheus's `DetectReset`: a
    /// `CounterReset` hint says yes and `NotCounterReset` says no without looking further (`Gauge` and
    /// `Unknown` are compared like counters). Otherwise it is a reset if the count went down, if the
    /// schema got finer or the zero threshold smaller, if the zero bucket grew into the middle of a
    /// populated bucket of `previous`, if a switch between custom and exponential buckets happened, or if
    /// any bucket of `previous` (brought to this schema and zero threshold, for differing custom bounds
    /// to the bounds both share) has a higher count than here. The sum is not considered.
    pub fn detect_reset(&self, previous: &FloatHistogram) -> bool {
        match self.counter_reset_hint {
            CounterResetHint::CounterReset => return true,
            CounterResetHint::NotCounterReset => return false,
            CounterResetHint::Unknown | CounterResetHint::Gauge => {}
        }
        if self.count < previous.count {
            return true;
        }
        if self.uses_custom_buckets() {
            if !previous.uses_custom_buckets() {
                return true;
            }
            if !custom_bounds_match(&self.custom_values, &previous.custom_values) {
                return self.detect_reset_with_mismatched_custom_bounds(previous);
            }
        }
        if self.schema > previous.schema {
            return true;
        }
        if self.zero_threshold < previous.zero_threshold {
            return true;
        }
        let (previous_zero_count, threshold) = previous.zero_count_for_larger_threshold(self.zero_threshold);
        if threshold != self.zero_threshold {
            return true;
        }
        if self.zero_count < previous_zero_count {
            return true;
        }
        let zt = self.zero_threshold;
        let schema = self.schema;
        [true, false].into_iter().any(|positive| {
            walk_detects_reset(
                MergeWalk::side(self, positive, schema, zt),
                MergeWalk::side(previous, positive, schema, zt),
            )
        })
    }

    /// Both histograms brought to the custom bounds they share: did any such bucket's count go down?
    fn detect_reset_with_mismatched_custom_bounds(&self, previous: &FloatHistogram) -> bool {
        let (curr_bounds, prev_bounds) = (&self.custom_values, &previous.custom_values);
        let mut curr = Rollup::new(self.iter_positive());
        let mut prev = Rollup::new(previous.iter_positive());
        let (mut ci, mut pi) = (0, 0);
        while ci <= curr_bounds.len() && pi <= prev_bounds.len() {
            let cb = curr_bounds.get(ci).copied().unwrap_or(f64::INFINITY);
            let pb = prev_bounds.get(pi).copied().unwrap_or(f64::INFINITY);
            if cb == pb {
                if curr.sum_up_to(cb) < prev.sum_up_to(cb) {
                    return true;
                }
                ci += 1;
                pi += 1;
            } else if cb < pb {
                ci += 1;
            } else {
                pi += 1;
            }
        }
        false
    }

    /// Prometheus's `Equals`: the same data, compared bit for bit for count, sum, zero count and
    /// buckets, with the same bucket layout (zero-length spans aside); for custom buckets also equal
    /// bounds. The counter-reset hint is not compared.
    pub fn equals(&self, other: &FloatHistogram) -> bool {
        let same = |a: f64, b: f64| a.to_bits() == b.to_bits();
        self.schema == other.schema
            && same(self.count, other.count)
            && same(self.sum, other.sum)
            && (!self.uses_custom_buckets() || custom_bounds_match(&self.custom_values, &other.custom_values))
            && self.zero_threshold == other.zero_threshold
            && same(self.zero_count, other.zero_count)
            && spans_match(&self.negative_spans, &other.negative_spans)
            && slices_same(&self.negative_buckets, &other.negative_buckets)
            && spans_match(&self.positive_spans, &other.positive_spans)
            && slices_same(&self.positive_buckets, &other.positive_buckets)
    }

    /// Prometheus's `Validate`: a known schema; spans consistent with the buckets (only the first span
    /// may have a negative offset, none for custom buckets); no negative bucket, zero or total count; for
    /// custom buckets strictly increasing, finite, non-NaN bounds covering the spans and no zero bucket
    /// or negative side; for exponential ones no custom bounds. The total count is not checked against
    /// the buckets (float error would cause false alarms).
    pub fn validate(&self) -> Result<(), HistogramError> {
        if self.uses_custom_buckets() {
            check_custom_bounds(
                &self.custom_values,
                &self.positive_spans,
                self.positive_buckets.len(),
            )
            .map_err(|e| e.within(Part::CustomBuckets))?;
            if self.zero_count != 0.0 {
                return Err(HistogramError::CustomBucketsZeroCount);
            }
            if self.zero_threshold != 0.0 {
                return Err(HistogramError::CustomBucketsZeroThreshold);
            }
            if !self.negative_spans.is_empty() {
                return Err(HistogramError::CustomBucketsNegativeSpans);
            }
            if !self.negative_buckets.is_empty() {
                return Err(HistogramError::CustomBucketsNegativeBuckets);
            }
        } else if is_exponential_schema(self.schema) {
            check_spans(&self.positive_spans, self.positive_buckets.len())
                .map_err(|e| e.within(Part::Positive))?;
            check_spans(&self.negative_spans, self.negative_buckets.len())
                .map_err(|e| e.within(Part::Negative))?;
            check_buckets(&self.negative_buckets).map_err(|e| e.within(Part::Negative))?;
            if self.zero_count < 0.0 {
                return Err(HistogramError::NegativeZeroCount(self.zero_count));
            }
            if !self.custom_values.is_empty() {
                return Err(HistogramError::ExponentialWithCustomBounds);
            }
        } else {
            return Err(HistogramError::InvalidSchema(self.schema));
        }
        if self.count < 0.0 {
            return Err(HistogramError::NegativeCount(self.count));
        }
        check_buckets(&self.positive_buckets).map_err(|e| e.within(Part::Positive))
    }
}

fn slices_same(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// The checks `add`/`sub` need so that their index arithmetic stays in bounds.
fn check_layout(h: &FloatHistogram) -> Result<(), HistogramError> {
    check_spans(&h.positive_spans, h.positive_buckets.len()).map_err(|e| e.within(Part::Positive))?;
    check_spans(&h.negative_spans, h.negative_buckets.len()).map_err(|e| e.within(Part::Negative))
}

fn check_spans(spans: &[Span], buckets: usize) -> Result<(), HistogramError> {
    let mut need = 0usize;
    for (n, span) in spans.iter().enumerate() {
        if n > 0 && span.offset < 0 {
            return Err(HistogramError::SpanNegativeOffset {
                span: n + 1,
                offset: span.offset,
            });
        }
        need += span.length as usize;
    }
    if need != buckets {
        return Err(HistogramError::SpansBucketsMismatch { need, have: buckets });
    }
    Ok(())
}

fn check_buckets(buckets: &[f64]) -> Result<(), HistogramError> {
    match buckets.iter().position(|&c| c < 0.0) {
        Some(i) => Err(HistogramError::NegativeBucketCount {
            bucket: i + 1,
            count: buckets[i],
        }),
        None => Ok(()),
    }
}

fn check_custom_bounds(bounds: &[f64], spans: &[Span], buckets: usize) -> Result<(), HistogramError> {
    let mut previous = f64::NEG_INFINITY;
    for (i, &current) in bounds.iter().enumerate() {
        if current.is_nan() {
            return Err(HistogramError::CustomBoundNaN);
        }
        if i > 0 && current <= previous {
            return Err(HistogramError::CustomBoundsNotIncreasing { previous, current });
        }
        previous = current;
    }
    if previous == f64::INFINITY {
        return Err(HistogramError::CustomBoundInfinite);
    }
    let mut need = 0usize;
    let mut span_length = 0i64;
    for (n, span) in spans.iter().enumerate() {
        if span.offset < 0 {
            return Err(HistogramError::SpanNegativeOffset {
                span: n + 1,
                offset: span.offset,
            });
        }
        need += span.length as usize;
        span_length += i64::from(span.length) + i64::from(span.offset);
    }
    if need != buckets {
        return Err(HistogramError::SpansBucketsMismatch { need, have: buckets });
    }
    if (bounds.len() as i64) + 1 < span_length {
        return Err(HistogramError::TooFewCustomBounds {
            bounds: bounds.len(),
            span_length: span_length as usize,
        });
    }
    Ok(())
}

/// Whether the bucket walk of the current histogram shows a reset against the previous one: a
/// populated previous bucket missing now, or a count that went down.
fn walk_detects_reset(mut curr: MergeWalk<'_>, mut prev: MergeWalk<'_>) -> bool {
    let Some(mut p) = prev.next() else {
        return false;
    };
    let any_populated =
        |p: (i32, f64), rest: MergeWalk<'_>| std::iter::once(p).chain(rest).any(|(_, c)| c != 0.0);
    let Some(mut c) = curr.next() else {
        return any_populated(p, prev);
    };
    loop {
        while c.0 < p.0 {
            match curr.next() {
                Some(next) => c = next,
                None => return any_populated(p, prev),
            }
        }
        if c.0 > p.0 {
            if p.1 != 0.0 {
                return true;
            }
        } else if c.1 < p.1 {
            return true;
        }
        match prev.next() {
            Some(next) => p = next,
            None => return false,
        }
    }
}

/// Sums a custom-bucket histogram's buckets up to successive bounds (Prometheus's `rollupSumForBound`).
struct Rollup<I: Iterator<Item = Bucket>> {
    it: I,
    started: bool,
    has_more: bool,
    bucket: Option<Bucket>,
}

impl<I: Iterator<Item = Bucket>> Rollup<I> {
    fn new(it: I) -> Self {
        Self {
            it,
            started: false,
            has_more: false,
            bucket: None,
        }
    }

    /// The counts of the not yet summed buckets whose upper bound is at most `bound`.
    fn sum_up_to(&mut self, bound: f64) -> f64 {
        if self.started && !self.has_more {
            return 0.0;
        }
        if !self.started {
            self.started = true;
            self.bucket = self.it.next();
        }
        let mut sum = 0.0;
        loop {
            let Some(b) = self.bucket else {
                self.has_more = false;
                return sum;
            };
            if b.upper > bound {
                self.has_more = true;
                return sum;
            }
            sum += b.count;
            self.bucket = self.it.next();
        }
    }
}

/// Adds (or, with `negate`, subtracts) the buckets of B into A, inserting buckets and spans into A as
/// needed, all in `schema`. Leading buckets of B whose upper bound is at most `threshold` (exponential
/// schemas) are skipped: they are inside the zero bucket. A port of Prometheus's `addBuckets`, so that
/// the resulting span layout is the same as Prometheus's.
fn add_buckets(
    schema: i32,
    threshold: f64,
    negate: bool,
    spans_a: &mut Vec<Span>,
    buckets_a: &mut Vec<f64>,
    spans_b: &[Span],
    buckets_b: &[f64],
) {
    // Position in A of the bucket handled last: span, bucket, position within the span, index.
    let mut located = false;
    let mut i_span = 0usize;
    let mut i_bucket = 0usize;
    let mut i_in_span = 0i32;
    let mut index_a = 0i32;

    let mut index_b = 0i32;
    let mut b_idx = 0usize;
    let mut below_threshold = true;
    for span_b in spans_b {
        index_b = index_b.wrapping_add(span_b.offset);
        for _ in 0..span_b.length {
            'bucket: {
                if below_threshold
                    && is_exponential_schema(schema)
                    && get_bound_exponential(index_b, schema) <= threshold
                {
                    break 'bucket;
                }
                below_threshold = false;
                let Some(&count) = buckets_b.get(b_idx) else {
                    return;
                };
                let count = if negate { -count } else { count };

                if !located {
                    if spans_a.is_empty() || spans_a[0].offset > index_b {
                        // Before all buckets of A.
                        buckets_a.insert(0, count);
                        if !spans_a.is_empty() && spans_a[0].offset == index_b + 1 {
                            spans_a[0].length += 1;
                            spans_a[0].offset -= 1;
                            break 'bucket;
                        }
                        spans_a.insert(
                            0,
                            Span {
                                offset: index_b,
                                length: 1,
                            },
                        );
                        if spans_a.len() > 1 {
                            // The former first span's offset becomes relative.
                            spans_a[1].offset -= index_b + 1;
                        }
                        break 'bucket;
                    }
                    if spans_a[0].offset == index_b {
                        buckets_a[0] += count;
                        break 'bucket;
                    }
                    located = true;
                    i_span = 0;
                    i_bucket = 0;
                    i_in_span = 0;
                    index_a = spans_a[0].offset;
                }
                let mut delta = index_b - index_a;
                loop {
                    let remaining = spans_a[i_span].length as i32 - i_in_span;
                    if delta < remaining {
                        // In the current span.
                        i_bucket += delta as usize;
                        i_in_span += delta;
                        buckets_a[i_bucket] += count;
                        break;
                    }
                    delta -= remaining;
                    i_bucket += remaining as usize;
                    i_span += 1;
                    if i_span == spans_a.len() || delta < spans_a[i_span].offset {
                        // In the gap after the previous span (or after all spans).
                        buckets_a.insert(i_bucket, count);
                        if delta == 0 {
                            // Right after the previous span: extend it.
                            if i_span < spans_a.len() {
                                spans_a[i_span].offset -= 1;
                            }
                            i_span -= 1;
                            i_in_span = spans_a[i_span].length as i32;
                            spans_a[i_span].length += 1;
                        } else if i_span < spans_a.len() && delta == spans_a[i_span].offset - 1 {
                            // Right before the next span: extend that one.
                            i_in_span = 0;
                            spans_a[i_span].offset -= 1;
                            spans_a[i_span].length += 1;
                        } else {
                            i_in_span = 0;
                            if i_span < spans_a.len() {
                                spans_a[i_span].offset -= delta + 1;
                            }
                            spans_a.insert(
                                i_span,
                                Span {
                                    offset: delta,
                                    length: 1,
                                },
                            );
                        }
                        break;
                    }
                    // Try the start of the next span.
                    delta -= spans_a[i_span].offset;
                    i_in_span = 0;
                }
            }
            index_a = index_b;
            index_b = index_b.wrapping_add(1);
            b_idx += 1;
        }
    }
}

/// Merges buckets of schema `origin` into the coarser schema `target` (Prometheus's
/// `reduceResolution` for absolute counts).
pub(crate) fn reduce_resolution(
    spans: &[Span],
    buckets: &[f64],
    origin: i32,
    target: i32,
) -> Result<(Vec<Span>, Vec<f64>), HistogramError> {
    let mut target_spans: Vec<Span> = Vec::new();
    let mut target_buckets: Vec<f64> = Vec::new();
    let mut index = 0i32;
    let mut consumed = 0usize;
    let mut last_target = 0i32;
    for (n, span) in spans.iter().enumerate() {
        if n > 0 && span.offset < 0 {
            return Err(HistogramError::SpanNegativeOffset {
                span: n + 1,
                offset: span.offset,
            });
        }
        index = index.wrapping_add(span.offset);
        for _ in 0..span.length {
            let Some(&count) = buckets.get(consumed) else {
                return Err(HistogramError::TooFewBuckets { have: buckets.len() });
            };
            let t = target_index(index, origin, target);
            if target_spans.is_empty() {
                target_spans.push(Span { offset: t, length: 1 });
                target_buckets.push(count);
                last_target = t;
            } else if t == last_target {
                if let Some(last) = target_buckets.last_mut() {
                    *last += count;
                }
            } else if t == last_target.wrapping_add(1) {
                if let Some(span) = target_spans.last_mut() {
                    span.length += 1;
                }
                last_target = t;
                target_buckets.push(count);
            } else if t > last_target {
                target_spans.push(Span {
                    offset: t - last_target - 1,
                    length: 1,
                });
                last_target = t;
                target_buckets.push(count);
            }
            // Going backwards would need a negative offset, which was rejected above.
            index = index.wrapping_add(1);
            consumed += 1;
        }
    }
    if consumed != buckets.len() {
        return Err(HistogramError::SpansBucketsMismatch {
            need: consumed,
            have: buckets.len(),
        });
    }
    Ok((target_spans, target_buckets))
}

/// The bounds both lists have, in order (Prometheus's `intersectCustomBucketBounds`).
pub fn intersect_custom_bounds(a: &[f64], b: &[f64]) -> Vec<f64> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            out.push(a[i]);
            i += 1;
            j += 1;
        } else if a[i] < b[j] {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// Maps both custom-bucket histograms onto the `bounds` they share — each bucket goes into the first
/// shared bucket whose upper bound is at least its own, or the +Inf bucket — and adds (or subtracts)
/// them; buckets that end up exactly zero are left out of the result (Prometheus's
/// `addCustomBucketsWithMismatches`).
fn add_mismatched_custom_buckets(
    negate: bool,
    a: (&[Span], &[f64], &[f64]),
    b: (&[Span], &[f64], &[f64]),
    bounds: &[f64],
) -> (Vec<Span>, Vec<f64>) {
    let mut target = vec![0.0; bounds.len() + 1];
    let mut map = |(spans, buckets, own_bounds): (&[Span], &[f64], &[f64]), negate: bool| {
        let mut src = 0i64;
        let mut bucket = 0usize;
        // Both bound lists ascend, so the search resumes where it left off.
        let mut shared = 0usize;
        for span in spans {
            src += i64::from(span.offset);
            for _ in 0..span.length {
                if let Some(&value) = buckets.get(bucket) {
                    let mut t = target.len() - 1;
                    let own_bound = match usize::try_from(src) {
                        Ok(i) => own_bounds.get(i).copied(),
                        // Only a malformed histogram gets here (Prometheus panics).
                        Err(_) => Some(f64::NEG_INFINITY),
                    };
                    if let Some(own_bound) = own_bound {
                        while shared < bounds.len() {
                            if bounds[shared] >= own_bound {
                                t = shared;
                                break;
                            }
                            shared += 1;
                        }
                    }
                    if negate {
                        target[t] -= value;
                    } else {
                        target[t] += value;
                    }
                }
                src += 1;
                bucket += 1;
            }
        }
    };
    map(a, false);
    map(b, negate);

    let mut spans: Vec<Span> = Vec::new();
    let mut buckets = Vec::new();
    let mut last = -1i64;
    for (i, &count) in target.iter().enumerate() {
        if count == 0.0 {
            continue;
        }
        buckets.push(count);
        let i = i as i64;
        match spans.last_mut() {
            Some(span) if i == last + 1 => span.length += 1,
            Some(_) => spans.push(Span {
                offset: (i - last - 1) as i32,
                length: 1,
            }),
            None => spans.push(Span {
                offset: i as i32,
                length: 1,
            }),
        }
        last = i;
    }
    (spans, buckets)
}

/// Compaction of one side; see [`FloatHistogram::compact`]. Follows Prometheus's `compactBuckets` for
/// absolute counts.
fn compact_side(buckets: &mut Vec<f64>, spans: &mut Vec<Span>, max_empty: usize) {
    let max_empty_i64 = i64::try_from(max_empty).unwrap_or(i64::MAX);
    // Fast path: nothing empty, no span short enough to merge, no zero-length span.
    if !buckets.contains(&0.0)
        && !spans
            .iter()
            .any(|s| i64::from(s.offset) <= max_empty_i64 || s.length == 0)
    {
        return;
    }

    // Join spans following each other without a gap (the first span's offset is absolute).
    if spans.len() > 1 {
        let mut kept = 0;
        for i in 1..spans.len() {
            let span = spans[i];
            if span.offset == 0 {
                spans[kept].length += span.length;
                continue;
            }
            kept += 1;
            spans[kept] = span;
        }
        spans.truncate(kept + 1);
    }

    // Drop zero-length spans, carrying their offsets over.
    let mut kept = 0;
    for i in 0..spans.len() {
        let span = spans[i];
        if span.length == 0 {
            if i + 1 < spans.len() {
                spans[i + 1].offset += span.offset;
            }
            continue;
        }
        spans[kept] = span;
        kept += 1;
    }
    spans.truncate(kept);
    if spans.is_empty() {
        buckets.clear();
        return;
    }

    // Cut out empty buckets at the start and end of spans, and runs of more than `max_empty` inside.
    let mut i_bucket = 0usize;
    let mut i_span = 0usize;
    let mut pos_in_span = 0u32;
    while i_bucket < buckets.len() && i_span < spans.len() {
        let mut n_empty = 0usize;
        let mut current = buckets[i_bucket];
        while (n_empty as u32) + pos_in_span < spans[i_span].length && current == 0.0 {
            n_empty += 1;
            match buckets.get(i_bucket + n_empty) {
                Some(&next) => current = next,
                None => break,
            }
        }
        if n_empty == 0 {
            i_bucket += 1;
            pos_in_span += 1;
            if pos_in_span >= spans[i_span].length {
                pos_in_span = 0;
                i_span += 1;
            }
            continue;
        }
        if pos_in_span > 0 && n_empty < (spans[i_span].length - pos_in_span) as usize && n_empty <= max_empty
        {
            // Few enough empty buckets inside a span: keep them.
            i_bucket += n_empty;
            pos_in_span += n_empty as u32;
            continue;
        }
        buckets.drain(i_bucket..i_bucket + n_empty);
        let n = n_empty as u32;
        if pos_in_span == 0 {
            if n == spans[i_span].length {
                // The whole span was empty.
                let offset = spans[i_span].offset;
                spans.remove(i_span);
                if let Some(next) = spans.get_mut(i_span) {
                    next.offset += offset + n as i32;
                }
                continue;
            }
            spans[i_span].length -= n;
            spans[i_span].offset += n as i32;
            continue;
        }
        // In the middle or at the end of a span: split it.
        let rest = spans[i_span].length - pos_in_span - n;
        spans[i_span].length = pos_in_span;
        i_span += 1;
        pos_in_span = 0;
        if rest == 0 {
            if let Some(next) = spans.get_mut(i_span) {
                next.offset += n as i32;
            }
            continue;
        }
        spans.insert(
            i_span,
            Span {
                offset: n as i32,
                length: rest,
            },
        );
    }
    if max_empty == 0 || buckets.is_empty() {
        return;
    }

    // Join spans at most `max_empty` buckets apart, filling the gaps with empty buckets.
    let Some(first) = spans.first() else {
        return;
    };
    let mut i_bucket = first.length as usize;
    let mut i_span = 1;
    while i_span < spans.len() {
        let span = spans[i_span];
        if i64::from(span.offset) > max_empty_i64 {
            i_bucket += span.length as usize;
            i_span += 1;
            continue;
        }
        let gap = usize::try_from(span.offset).unwrap_or(0);
        spans[i_span - 1].length += gap as u32 + span.length;
        spans.remove(i_span);
        let at = i_bucket.min(buckets.len());
        buckets.splice(at..at, std::iter::repeat_n(0.0, gap));
        i_bucket += gap + span.length as usize;
    }
}

#[cfg(test)]
mod tests;
