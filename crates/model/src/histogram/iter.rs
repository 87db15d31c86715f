//! Walking a histogram's buckets with their bounds, in the orders Prometheus's bucket iterators use,
//! and the lower-level walks (merging into a coarser schema, skipping buckets inside a zero bucket)
//! that the arithmetic builds on.

use std::fmt;
use std::iter::Peekable;

use super::bounds::{get_bound, get_bound_exponential, is_exponential_schema};
use super::format::go_g;
use super::{CUSTOM_BUCKETS_SCHEMA, FloatHistogram, Span};

/// One bucket with its bounds. `index` is the bucket's index in its schema (for custom buckets the
/// position in `custom_values`); it is meaningless for the zero bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub lower: f64,
    pub upper: f64,
    pub lower_inclusive: bool,
    pub upper_inclusive: bool,
    pub count: f64,
    pub index: i32,
}

impl Bucket {
    /// The bounds' inclusiveness as Prometheus's JSON encodes it in `[rule, lower, upper, count]`:
    /// 0 = `(lower, upper]`, 1 = `[lower, upper)`, 2 = `(lower, upper)`, 3 = `[lower, upper]`.
    pub fn boundary_rule(&self) -> u8 {
        match (self.lower_inclusive, self.upper_inclusive) {
            (false, true) => 0,
            (true, false) => 1,
            (false, false) => 2,
            (true, true) => 3,
        }
    }
}

/// Mathematical interval notation with Go's `%g` numbers, e.g. `(0.5,1]:2` — Prometheus's
/// `Bucket.String()`.
impl fmt::Display for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{},{}{}:{}",
            if self.lower_inclusive { '[' } else { '(' },
            go_g(self.lower),
            go_g(self.upper),
            if self.upper_inclusive { ']' } else { ')' },
            go_g(self.count)
        )
    }
}

/// The bucket at `index` of one side, with bounds from `schema` (and `custom_values` for the custom
/// schema).
pub(crate) fn bucket_at(
    index: i32,
    count: f64,
    schema: i32,
    positive: bool,
    custom_values: &[f64],
) -> Bucket {
    let (lower, upper) = if positive {
        (
            get_bound(index.wrapping_sub(1), schema, custom_values),
            get_bound(index, schema, custom_values),
        )
    } else {
        (
            -get_bound(index, schema, custom_values),
            -get_bound(index.wrapping_sub(1), schema, custom_values),
        )
    };
    let (lower_inclusive, upper_inclusive) = if schema == CUSTOM_BUCKETS_SCHEMA {
        (index == 0, true)
    } else {
        (lower < 0.0, upper > 0.0)
    };
    Bucket {
        lower,
        upper,
        lower_inclusive,
        upper_inclusive,
        count,
        index,
    }
}

/// `(index, count)` of each bucket of one side, in ascending index order. Stops early, without
/// panicking, if the spans promise more buckets than there are.
#[derive(Debug, Clone)]
pub(crate) struct SpanWalk<'a> {
    spans: &'a [Span],
    buckets: &'a [f64],
    span: usize,
    entered: bool,
    in_span: u32,
    index: i32,
    bucket: usize,
}

impl<'a> SpanWalk<'a> {
    pub(crate) fn new(spans: &'a [Span], buckets: &'a [f64]) -> Self {
        Self {
            spans,
            buckets,
            span: 0,
            entered: false,
            in_span: 0,
            index: 0,
            bucket: 0,
        }
    }
}

impl Iterator for SpanWalk<'_> {
    type Item = (i32, f64);

    fn next(&mut self) -> Option<(i32, f64)> {
        loop {
            let span = self.spans.get(self.span)?;
            if !self.entered {
                self.index = self.index.wrapping_add(span.offset);
                self.entered = true;
            }
            if self.in_span < span.length {
                let count = *self.buckets.get(self.bucket)?;
                let index = self.index;
                self.index = self.index.wrapping_add(1);
                self.in_span += 1;
                self.bucket += 1;
                return Some((index, count));
            }
            self.span += 1;
            self.entered = false;
            self.in_span = 0;
        }
    }
}

/// `(index, count)` of each bucket of one side, in descending index order.
#[derive(Debug, Clone)]
pub(crate) struct SpanWalkRev<'a> {
    spans: &'a [Span],
    buckets: &'a [f64],
    /// One past the span being walked.
    span: usize,
    left_in_span: u32,
    /// One past the index of the next bucket.
    end: i32,
    bucket: usize,
}

impl<'a> SpanWalkRev<'a> {
    pub(crate) fn new(spans: &'a [Span], buckets: &'a [f64]) -> Self {
        let end = spans.iter().fold(0i32, |acc, s| {
            acc.wrapping_add(s.offset).wrapping_add(s.length as i32)
        });
        Self {
            spans,
            buckets,
            span: spans.len(),
            left_in_span: 0,
            end,
            bucket: buckets.len(),
        }
    }
}

impl Iterator for SpanWalkRev<'_> {
    type Item = (i32, f64);

    fn next(&mut self) -> Option<(i32, f64)> {
        loop {
            if self.left_in_span > 0 {
                self.left_in_span -= 1;
                self.end = self.end.wrapping_sub(1);
                self.bucket = self.bucket.checked_sub(1)?;
                return Some((self.end, self.buckets[self.bucket]));
            }
            if self.span == 0 {
                return None;
            }
            if let Some(left) = self.spans.get(self.span) {
                // Leaving span `self.span` downwards: step back over the gap before it.
                self.end = self.end.wrapping_sub(left.offset);
            }
            self.span -= 1;
            self.left_in_span = self.spans[self.span].length;
        }
    }
}

/// Bucket `index` of schema `origin` falls into this bucket of the coarser schema `target`.
pub fn target_index(index: i32, origin: i32, target: i32) -> i32 {
    // Shifting an i32 by 32 or more leaves its sign in Go, as a shift by 31 does here.
    let shift = origin.saturating_sub(target).clamp(0, 31);
    (index.wrapping_sub(1) >> shift).wrapping_add(1)
}

/// One side's buckets as `(index, count)` in a schema at most as fine as the histogram's (merging
/// neighbours that fall into the same coarser bucket), optionally skipping the leading buckets whose
/// upper bound is at most `start` (exponential schemas only): Prometheus's internal
/// `floatBucketIterator`.
#[derive(Debug, Clone)]
pub(crate) struct MergeWalk<'a> {
    walk: Peekable<SpanWalk<'a>>,
    schema: i32,
    target: i32,
    start: f64,
    reached_start: bool,
}

impl<'a> MergeWalk<'a> {
    /// `target` must not exceed `schema`; for the custom schema both must be equal.
    pub(crate) fn new(spans: &'a [Span], buckets: &'a [f64], schema: i32, target: i32, start: f64) -> Self {
        Self {
            walk: SpanWalk::new(spans, buckets).peekable(),
            schema,
            target,
            start,
            reached_start: start == 0.0,
        }
    }

    pub(crate) fn side(h: &'a FloatHistogram, positive: bool, target: i32, start: f64) -> Self {
        if positive {
            Self::new(&h.positive_spans, &h.positive_buckets, h.schema, target, start)
        } else {
            Self::new(&h.negative_spans, &h.negative_buckets, h.schema, target, start)
        }
    }
}

impl Iterator for MergeWalk<'_> {
    type Item = (i32, f64);

    fn next(&mut self) -> Option<(i32, f64)> {
        loop {
            let (index, mut count) = self.walk.next()?;
            let index = if self.schema == self.target {
                index
            } else {
                let index = target_index(index, self.schema, self.target);
                while let Some(&(next, c)) = self.walk.peek() {
                    if target_index(next, self.schema, self.target) != index {
                        break;
                    }
                    count += c;
                    self.walk.next();
                }
                index
            };
            if !self.reached_start
                && is_exponential_schema(self.target)
                && get_bound_exponential(index, self.target) <= self.start
            {
                continue;
            }
            self.reached_start = true;
            return Some((index, count));
        }
    }
}

impl FloatHistogram {
    /// The positive buckets in ascending order, starting next to the zero bucket (for custom buckets:
    /// all buckets, from the one starting at −Inf).
    pub fn iter_positive(&self) -> impl Iterator<Item = Bucket> + '_ {
        let (schema, cv) = (self.schema, self.custom_values.as_slice());
        SpanWalk::new(&self.positive_spans, &self.positive_buckets)
            .map(move |(i, c)| bucket_at(i, c, schema, true, cv))
    }

    /// The positive buckets in descending order, from the highest one down to the zero bucket.
    pub fn iter_positive_rev(&self) -> impl Iterator<Item = Bucket> + '_ {
        let (schema, cv) = (self.schema, self.custom_values.as_slice());
        SpanWalkRev::new(&self.positive_spans, &self.positive_buckets)
            .map(move |(i, c)| bucket_at(i, c, schema, true, cv))
    }

    /// The negative buckets in the order of Prometheus's `NegativeBucketIterator`: starting next to the
    /// zero bucket and going down, i.e. in *descending* order of their bounds.
    pub fn iter_negative(&self) -> impl Iterator<Item = Bucket> + '_ {
        let schema = self.schema;
        SpanWalk::new(&self.negative_spans, &self.negative_buckets)
            .map(move |(i, c)| bucket_at(i, c, schema, false, &[]))
    }

    /// The negative buckets in ascending order of their bounds, from the lowest one up to the zero
    /// bucket.
    pub fn iter_negative_rev(&self) -> impl Iterator<Item = Bucket> + '_ {
        let schema = self.schema;
        SpanWalkRev::new(&self.negative_spans, &self.negative_buckets)
            .map(move |(i, c)| bucket_at(i, c, schema, false, &[]))
    }

    /// The zero bucket `[-zero_threshold, zero_threshold]`.
    pub fn zero_bucket(&self) -> Bucket {
        Bucket {
            lower: -self.zero_threshold,
            upper: self.zero_threshold,
            lower_inclusive: true,
            upper_inclusive: true,
            count: self.zero_count,
            index: 0,
        }
    }

    /// All buckets in ascending order of their bounds (Prometheus's `AllBucketIterator`): negative
    /// buckets from the lowest one up, then the zero bucket — only if `zero_count > 0`, as Prometheus
    /// does — then the positive buckets. A negative or positive bucket reaching into the zero bucket has
    /// that bound clipped to the zero threshold. Empty buckets are included.
    pub fn iter_buckets(&self) -> impl Iterator<Item = Bucket> + '_ {
        let zt = self.zero_threshold;
        let zero = self.yields_zero_bucket().then(|| self.zero_bucket());
        self.iter_negative_rev()
            .map(move |b| clip_to_zero_bucket(b, zt, false))
            .chain(zero)
            .chain(
                self.iter_positive()
                    .map(move |b| clip_to_zero_bucket(b, zt, true)),
            )
    }

    /// All buckets in descending order of their bounds (Prometheus's `AllReverseBucketIterator`), the
    /// exact reverse of [`FloatHistogram::iter_buckets`].
    pub fn iter_buckets_rev(&self) -> impl Iterator<Item = Bucket> + '_ {
        let zt = self.zero_threshold;
        let zero = self.yields_zero_bucket().then(|| self.zero_bucket());
        self.iter_positive_rev()
            .map(move |b| clip_to_zero_bucket(b, zt, false))
            .chain(zero)
            .chain(
                self.iter_negative()
                    .map(move |b| clip_to_zero_bucket(b, zt, true)),
            )
    }

    fn yields_zero_bucket(&self) -> bool {
        // Custom-bucket histograms have no zero bucket (Prometheus panics rather than yield one).
        self.zero_count > 0.0 && !self.uses_custom_buckets()
    }
}

/// Clips a bound reaching into the zero bucket to the zero threshold. `first_lower` says which bound
/// Prometheus checks first for the iterator the bucket came from (it only matters for malformed
/// histograms where both could apply).
fn clip_to_zero_bucket(mut b: Bucket, zt: f64, first_lower: bool) -> Bucket {
    let lower_inside = b.lower > 0.0 && b.lower < zt;
    let upper_inside = b.upper < 0.0 && b.upper > -zt;
    if first_lower {
        if lower_inside {
            b.lower = zt;
        } else if upper_inside {
            b.upper = -zt;
        }
    } else if upper_inside {
        b.upper = -zt;
    } else if lower_inside {
        b.lower = zt;
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(s: &[(i32, u32)]) -> Vec<Span> {
        s.iter()
            .map(|&(offset, length)| Span { offset, length })
            .collect()
    }

    #[test]
    fn span_walks_forward_and_backward() {
        let sp = spans(&[(-2, 2), (0, 0), (3, 1), (1, 2)]);
        let b = [1.0, 2.0, 3.0, 4.0, 5.0];
        let fwd: Vec<_> = SpanWalk::new(&sp, &b).collect();
        assert_eq!(fwd, vec![(-2, 1.0), (-1, 2.0), (3, 3.0), (5, 4.0), (6, 5.0)]);
        let mut rev: Vec<_> = SpanWalkRev::new(&sp, &b).collect();
        rev.reverse();
        assert_eq!(rev, fwd);
        // Too few buckets: stop, do not panic.
        assert_eq!(SpanWalk::new(&sp, &b[..3]).count(), 3);
        assert_eq!(SpanWalk::new(&[], &b).count(), 0);
    }

    #[test]
    fn merge_walk_reduces_and_skips() {
        // Schema 1 indices 1..=4 → schema 0 indices 1, 1, 2, 2.
        let sp = spans(&[(1, 4)]);
        let b = [1.0, 2.0, 3.0, 4.0];
        let merged: Vec<_> = MergeWalk::new(&sp, &b, 1, 0, 0.0).collect();
        assert_eq!(merged, vec![(1, 3.0), (2, 7.0)]);
        // Skip buckets whose upper bound is ≤ 2 (schema 0 bucket 1 ends at 2).
        let skipped: Vec<_> = MergeWalk::new(&sp, &b, 1, 0, 2.0).collect();
        assert_eq!(skipped, vec![(2, 7.0)]);
        assert_eq!(target_index(0, 2, 0), 0);
        assert_eq!(target_index(-3, 1, 0), -1);
        assert_eq!(target_index(5, 3, 1), 2);
    }

    #[test]
    fn bucket_bounds_and_rules() {
        let b = bucket_at(1, 3.0, 0, true, &[]);
        assert_eq!(
            (b.lower, b.upper, b.lower_inclusive, b.upper_inclusive),
            (1.0, 2.0, false, true)
        );
        assert_eq!(b.boundary_rule(), 0);
        let n = bucket_at(1, 3.0, 0, false, &[]);
        assert_eq!(
            (n.lower, n.upper, n.lower_inclusive, n.upper_inclusive),
            (-2.0, -1.0, true, false)
        );
        assert_eq!(n.boundary_rule(), 1);
        let cv = [5.0, 10.0];
        let first = bucket_at(0, 1.0, CUSTOM_BUCKETS_SCHEMA, true, &cv);
        assert_eq!((first.lower, first.upper), (f64::NEG_INFINITY, 5.0));
        assert_eq!(first.boundary_rule(), 3);
        let last = bucket_at(2, 1.0, CUSTOM_BUCKETS_SCHEMA, true, &cv);
        assert_eq!((last.lower, last.upper), (10.0, f64::INFINITY));
        assert_eq!(last.boundary_rule(), 0);
        assert_eq!(first.to_string(), "[-Inf,5]:1");
        assert_eq!(last.to_string(), "(10,+Inf]:1");
        let open = Bucket {
            lower_inclusive: false,
            upper_inclusive: false,
            ..first
        };
        assert_eq!(open.boundary_rule(), 2);
    }

    #[test]
    fn all_buckets_in_order_with_clipping() {
        let h = FloatHistogram {
            schema: 0,
            zero_threshold: 0.7,
            zero_count: 2.0,
            positive_spans: spans(&[(0, 2)]),
            positive_buckets: vec![1.0, 2.0],
            negative_spans: spans(&[(0, 1), (1, 1)]),
            negative_buckets: vec![3.0, 4.0],
            ..Default::default()
        };
        let all: Vec<_> = h.iter_buckets().map(|b| b.to_string()).collect();
        assert_eq!(
            all,
            ["[-4,-2):4", "[-1,-0.7):3", "[-0.7,0.7]:2", "(0.7,1]:1", "(1,2]:2"]
        );
        let mut rev: Vec<_> = h.iter_buckets_rev().map(|b| b.to_string()).collect();
        rev.reverse();
        assert_eq!(rev, all);
        let neg: Vec<_> = h.iter_negative().map(|b| b.index).collect();
        assert_eq!(neg, [0, 2]);

        // No zero bucket unless its count is positive.
        let h = FloatHistogram { zero_count: 0.0, ..h };
        assert_eq!(h.iter_buckets().count(), 4);
    }
}
