//! Classic (`le`-labelled) histograms: `histogram_quantile`, `histogram_quantiles` and
//! `histogram_fraction` over one group's cumulative buckets.

use std::cmp::Ordering;

pub use model::histogram::almost_equal;

/// Relative difference between neighbouring cumulative counts below which `histogram_quantile` treats
/// them as equal: such differences come from floating-point error (e.g. in sharded sums), not from
/// broken data, and must not trigger the monotonicity annotation.
pub const SMALL_DELTA_TOLERANCE: f64 = 1e-12;

/// One bucket of a classic histogram: its inclusive upper bound (the `le` label) and the cumulative
/// count of observations at or below it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub upper_bound: f64,
    pub count: f64,
}

impl Bucket {
    /// A bucket with the given upper bound and cumulative count.
    pub const fn new(upper_bound: f64, count: f64) -> Self {
        Self { upper_bound, count }
    }
}

impl From<(f64, f64)> for Bucket {
    /// From `(upper_bound, count)`.
    fn from((upper_bound, count): (f64, f64)) -> Self {
        Self { upper_bound, count }
    }
}

/// What `histogram_quantile` had to repair in the input. The engine emits the info annotation "input to
/// histogram_quantile needed to be fixed for monotonicity" when `forced` is set; the other fields feed
/// the details of that message.
///
/// All fields are zero/false when the quantile was decided before the repair pass (q out of range or
/// NaN, no `+Inf` bucket); after the pass `min_bucket`/`max_bucket` start as +Inf/-Inf, like
/// Prometheus's, so they stay inverted when nothing was forced.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MonotonicityFix {
    /// Some count was lower than a lower bucket's and was raised to it.
    pub forced: bool,
    /// Some numerically insignificant difference (see [`SMALL_DELTA_TOLERANCE`]) was ignored; no
    /// annotation is due for this alone.
    pub fixed_precision: bool,
    /// The lowest upper bound whose count was raised.
    pub min_bucket: f64,
    /// The highest upper bound whose count was raised.
    pub max_bucket: f64,
    /// The largest amount by which a count was raised.
    pub max_diff: f64,
}

/// Parses an `le` label value as Prometheus does (Go's `strconv.ParseFloat`): decimal numbers with an
/// optional sign, fraction and exponent, `_` between digits, and case-insensitive `Inf`/`Infinity` (with
/// sign) and `NaN` (without). `None` means a malformed value, which the engine reports with a warning:
/// also a number beyond the float range (Go's range error; it would otherwise be ±Inf) and, unlike Go,
/// hexadecimal floats (`0x1p-3`), which no exposition format produces.
pub fn parse_le(s: &str) -> Option<f64> {
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let negative = s.starts_with('-');
    if unsigned.eq_ignore_ascii_case("inf") || unsigned.eq_ignore_ascii_case("infinity") {
        return Some(if negative {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if s.eq_ignore_ascii_case("nan") {
        return Some(f64::NAN);
    }
    // Go's grammar for the rest: digits with optional single underscores between them, at most one '.',
    // at least one digit in the mantissa, and an optional exponent with at least one digit.
    let bytes = unsigned.as_bytes();
    let mut digits = String::with_capacity(bytes.len() + 1);
    if negative {
        digits.push('-');
    }
    let mut i = 0;
    let mut mantissa_digits = 0;
    let mut seen_dot = false;
    let mut prev_digit = false;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'0'..=b'9' => {
                mantissa_digits += 1;
                prev_digit = true;
                digits.push(char::from(c));
            }
            b'_' if prev_digit && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => prev_digit = false,
            b'.' if !seen_dot => {
                seen_dot = true;
                prev_digit = false;
                digits.push('.');
            }
            b'e' | b'E' => break,
            _ => return None,
        }
        i += 1;
    }
    if mantissa_digits == 0 {
        return None;
    }
    if i < bytes.len() {
        digits.push('e');
        i += 1;
        if let Some(&sign @ (b'+' | b'-')) = bytes.get(i) {
            digits.push(char::from(sign));
            i += 1;
        }
        let mut exp_digits = 0;
        let mut prev_digit = false;
        while i < bytes.len() {
            let c = bytes[i];
            match c {
                b'0'..=b'9' => {
                    exp_digits += 1;
                    prev_digit = true;
                    digits.push(char::from(c));
                }
                b'_' if prev_digit && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => prev_digit = false,
                _ => return None,
            }
            i += 1;
        }
        if exp_digits == 0 {
            return None;
        }
    }
    // Both Go and Rust round decimal input correctly, so the same text gives the same double.
    let v: f64 = digits.parse().ok()?;
    if v.is_infinite() { None } else { Some(v) }
}

/// Sorts by upper bound, `-0` tying with `0` and NaN bounds (which Prometheus does not expect and leaves
/// unordered) after `+Inf`, so that a histogram with a NaN bound has no usable `+Inf` bucket.
fn sort_buckets(buckets: &mut [Bucket]) {
    buckets.sort_by(|a, b| match (a.upper_bound.is_nan(), b.upper_bound.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a
            .upper_bound
            .partial_cmp(&b.upper_bound)
            .unwrap_or(Ordering::Equal),
    });
}

/// Merges neighbours with equal upper bounds (e.g. `le="0.2"` and `le="2e-1"`) by adding their counts,
/// compacting the result to the front of `buckets`; returns its length. `buckets` must be sorted and
/// non-empty. The tail beyond the returned length keeps stale entries, as in Prometheus.
fn coalesce(buckets: &mut [Bucket]) -> usize {
    let Some(&first) = buckets.first() else {
        return 0;
    };
    let mut last = first;
    let mut i = 0;
    for k in 1..buckets.len() {
        let b = buckets[k];
        if b.upper_bound == last.upper_bound {
            last.count += b.count;
        } else {
            buckets[i] = last;
            last = b;
            i += 1;
        }
    }
    buckets[i] = last;
    i + 1
}

/// First ignores numerically insignificant differences between neighbouring counts (in either
/// direction), then raises every count that is below the last accepted one. Neither correction moves
/// the reference count, so the envelope is measured against the last count accepted as real.
fn ensure_monotonic(buckets: &mut [Bucket], tolerance: f64) -> MonotonicityFix {
    let mut fix = MonotonicityFix {
        min_bucket: f64::INFINITY,
        max_bucket: f64::NEG_INFINITY,
        ..MonotonicityFix::default()
    };
    let Some(first) = buckets.first() else {
        return fix;
    };
    let mut prev = first.count;
    for b in buckets.iter_mut().skip(1) {
        let curr = b.count;
        if curr == prev {
            continue;
        }
        if almost_equal(prev, curr, tolerance) {
            b.count = prev;
            fix.fixed_precision = true;
            continue;
        }
        if curr < prev {
            b.count = prev;
            fix.forced = true;
            if b.upper_bound < fix.min_bucket {
                fix.min_bucket = b.upper_bound;
            }
            if b.upper_bound > fix.max_bucket {
                fix.max_bucket = b.upper_bound;
            }
            let diff = prev - curr;
            if diff > fix.max_diff {
                fix.max_diff = diff;
            }
            continue;
        }
        prev = curr;
    }
    fix
}

/// Go's `sort.Search`: the smallest index in `0..n` for which `pred` holds, or `n`, probing in Go's
/// exact bisection order so that even a non-monotone predicate (NaN counts) gives Go's answer.
fn go_search(n: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut i, mut j) = (0, n);
    while i < j {
        let h = i + (j - i) / 2;
        if pred(h) {
            j = h;
        } else {
            i = h + 1;
        }
    }
    i
}

/// `histogram_quantile(q, ...)` for one classic histogram (Prometheus's `BucketQuantile`): sorts the
/// buckets by bound, merges equal bounds, repairs monotonicity and interpolates linearly inside the
/// bucket holding rank `q * total`, taking 0 as the lower bound of the first bucket when its upper bound
/// is positive. Returns NaN for a NaN `q`, -Inf/+Inf for `q` below 0/above 1, and NaN when there is no
/// `+Inf` bucket, fewer than two distinct bounds, or no observations; a rank in the `+Inf` bucket gives
/// the second-highest bound.
///
/// `buckets` is rearranged in place (sorted, merged to the front, counts raised) exactly as Prometheus
/// rearranges its slice. An empty input, on which Prometheus would panic, gives NaN.
pub fn histogram_quantile(q: f64, buckets: &mut [Bucket]) -> (f64, MonotonicityFix) {
    let untouched = MonotonicityFix::default();
    if q.is_nan() {
        return (f64::NAN, untouched);
    }
    if q < 0.0 {
        return (f64::NEG_INFINITY, untouched);
    }
    if q > 1.0 {
        return (f64::INFINITY, untouched);
    }
    sort_buckets(buckets);
    match buckets.last() {
        Some(b) if b.upper_bound == f64::INFINITY => {}
        _ => return (f64::NAN, untouched),
    }
    let n = coalesce(buckets);
    let b = &mut buckets[..n];
    let fix = ensure_monotonic(b, SMALL_DELTA_TOLERANCE);
    if n < 2 {
        return (f64::NAN, fix);
    }
    let observations = b[n - 1].count;
    if observations == 0.0 {
        return (f64::NAN, fix);
    }
    let mut rank = q * observations;
    let idx = go_search(n - 1, |i| b[i].count >= rank);
    if idx == n - 1 {
        return (b[n - 2].upper_bound, fix);
    }
    if idx == 0 && b[0].upper_bound <= 0.0 {
        return (b[0].upper_bound, fix);
    }
    let mut bucket_start = 0.0;
    let bucket_end = b[idx].upper_bound;
    let mut count = b[idx].count;
    if idx > 0 {
        bucket_start = b[idx - 1].upper_bound;
        count -= b[idx - 1].count;
        rank -= b[idx - 1].count;
    }
    (bucket_start + (bucket_end - bucket_start) * (rank / count), fix)
}

/// `histogram_quantiles(..., q1, q2, ...)` for one classic histogram: [`histogram_quantile`] for each
/// `q` in turn over the same buffer, as Prometheus does. Note the consequence Prometheus has too: after
/// the first call the merged buckets sit at the front and the stale tail is still there, so when two
/// `le` labels had equal bounds the later quantiles see some counts twice. Pass a fresh copy per
/// quantile to avoid that.
pub fn histogram_quantiles(qs: &[f64], buckets: &mut [Bucket]) -> Vec<(f64, MonotonicityFix)> {
    qs.iter().map(|&q| histogram_quantile(q, buckets)).collect()
}

/// `histogram_fraction(lower, upper, ...)` for one classic histogram (Prometheus's `BucketFraction`):
/// the estimated fraction of observations in `[lower, upper]`, interpolating linearly inside the buckets
/// holding the limits. The first bucket's lower bound is 0 when its upper bound is positive and -Inf
/// otherwise; buckets with an infinite bound are never interpolated into, so a limit inside them counts
/// none of that bucket's observations. NaN without a `+Inf` bucket, without observations, with a NaN
/// limit, or for an empty input; 0 when `lower >= upper`. No monotonicity repair is done.
pub fn histogram_fraction(lower: f64, upper: f64, buckets: &mut [Bucket]) -> f64 {
    if buckets.is_empty() {
        return f64::NAN;
    }
    sort_buckets(buckets);
    match buckets.last() {
        Some(b) if b.upper_bound == f64::INFINITY => {}
        _ => return f64::NAN,
    }
    let n = coalesce(buckets);
    let b = &buckets[..n];
    let count = b[n - 1].count;
    if count == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    let (mut rank, mut lower_rank, mut upper_rank) = (0.0, 0.0, 0.0);
    let (mut lower_set, mut upper_set) = (false, false);
    let mut lower_bound = if b[0].upper_bound <= 0.0 {
        f64::NEG_INFINITY
    } else {
        0.0
    };
    for (i, bucket) in b.iter().enumerate() {
        if i > 0 {
            lower_bound = b[i - 1].upper_bound;
        }
        let upper_bound = bucket.upper_bound;
        // Counts are cumulative, so this bucket's own weight is `count - rank`. Towards -Inf the
        // interpolation would be Inf/Inf; the whole bucket is taken instead, which (like the +Inf end,
        // where the fraction is x/Inf = 0) credits no observations between the limit and the finite
        // bound.
        let interpolate = |v: f64| {
            if lower_bound == f64::NEG_INFINITY {
                bucket.count
            } else {
                rank + (bucket.count - rank) * (v - lower_bound) / (upper_bound - lower_bound)
            }
        };
        if !lower_set && lower_bound >= lower {
            lower_rank = rank;
            lower_set = true;
        }
        if !upper_set && lower_bound >= upper {
            upper_rank = rank;
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        if !lower_set && lower_bound < lower && upper_bound > lower {
            lower_rank = interpolate(lower);
            lower_set = true;
        }
        if !upper_set && lower_bound < upper && upper_bound > upper {
            upper_rank = interpolate(upper);
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        rank = bucket.count;
    }
    if !lower_set || lower_rank > count {
        lower_rank = count;
    }
    if !upper_set || upper_rank > count {
        upper_rank = count;
    }
    (upper_rank - lower_rank) / count
}

#[cfg(test)]
mod tests {
    use super::*;

    const INF: f64 = f64::INFINITY;

    fn bk(pairs: &[(f64, f64)]) -> Vec<Bucket> {
        pairs.iter().map(|&p| Bucket::from(p)).collect()
    }

    fn hq(q: f64, pairs: &[(f64, f64)]) -> (f64, MonotonicityFix) {
        histogram_quantile(q, &mut bk(pairs))
    }

    fn hf(lower: f64, upper: f64, pairs: &[(f64, f64)]) -> f64 {
        histogram_fraction(lower, upper, &mut bk(pairs))
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    // histograms.test, testhistogram at 50m (counts = 10 x per-step increments).
    const POSITIVE: &[(f64, f64)] = &[(0.1, 50.0), (0.2, 70.0), (1.0, 110.0), (INF, 120.0)];
    const NEGATIVE: &[(f64, f64)] = &[(-0.2, 10.0), (-0.1, 20.0), (0.3, 20.0), (INF, 30.0)];

    #[test]
    fn quantile_examples_from_histograms_test() {
        assert_eq!(hq(0.0, POSITIVE).0, 0.0);
        assert_eq!(hq(0.0, NEGATIVE).0, -0.2);
        assert_eq!(hq(1.0, POSITIVE).0, 1.0);
        assert_eq!(hq(1.0, NEGATIVE).0, 0.3);
        assert!(close(hq(0.2, POSITIVE).0, 0.048));
        assert_eq!(hq(0.2, NEGATIVE).0, -0.2);
        assert!(close(hq(0.5, POSITIVE).0, 0.15));
        assert!(close(hq(0.5, NEGATIVE).0, -0.15));
        assert!(close(hq(0.8, POSITIVE).0, 0.72));
        assert_eq!(hq(0.8, NEGATIVE).0, 0.3);
        assert!(!hq(0.8, POSITIVE).1.forced);
    }

    #[test]
    fn quantile_middle_of_bucket() {
        // testhistogram2 at 7m (counts 0, 1, 2, 3, 3).
        let h = &[(0.0, 0.0), (2.0, 1.0), (4.0, 2.0), (6.0, 3.0), (INF, 3.0)];
        assert!(close(hq(1.0 / 6.0, h).0, 1.0));
        assert_eq!(hq(0.5, h).0, 3.0);
        assert!(close(hq(5.0 / 6.0, h).0, 5.0));
    }

    #[test]
    fn quantile_sorts_unsorted_input() {
        let h = &[(INF, 120.0), (1.0, 110.0), (0.1, 50.0), (0.2, 70.0)];
        assert!(close(hq(0.5, h).0, 0.15));
    }

    #[test]
    fn quantile_out_of_range_q_leaves_fix_zeroed() {
        let (v, fix) = hq(-0.1, POSITIVE);
        assert_eq!(v, f64::NEG_INFINITY);
        assert_eq!(fix, MonotonicityFix::default());
        assert_eq!(hq(1.01, POSITIVE).0, INF);
        assert!(hq(f64::NAN, POSITIVE).0.is_nan());
        // Decided before looking at the buckets at all.
        assert_eq!(hq(2.0, &[(1.0, 1.0)]).0, INF);
    }

    #[test]
    fn quantile_degenerate_inputs() {
        assert!(hq(0.5, &[(1.0, 1.0), (2.0, 2.0)]).0.is_nan(), "no +Inf bucket");
        assert!(hq(0.5, &[(INF, 5.0)]).0.is_nan(), "single bucket");
        assert!(
            hq(0.5, &[(INF, 5.0), (INF, 2.0)]).0.is_nan(),
            "duplicates merge to one bucket"
        );
        assert!(
            hq(0.5, &[(0.1, 0.0), (0.2, 0.0), (INF, 0.0)]).0.is_nan(),
            "no observations"
        );
        assert!(hq(0.5, &[]).0.is_nan());
        assert!(
            hq(0.5, &[(f64::NAN, 1.0), (INF, 2.0)]).0.is_nan(),
            "NaN bound sorts after +Inf"
        );
    }

    #[test]
    fn quantile_merges_equal_bounds() {
        // histograms.test `mixed`: 0.1, 0.2, 2e-1, 2.0e-1, +Inf with rate 1,1,1,1,4 (per 10m, same ratios).
        let h = &[(0.1, 1.0), (0.2, 1.0), (0.2, 1.0), (0.2, 1.0), (INF, 4.0)];
        assert!(close(hq(0.5, h).0, 0.15));
        assert_eq!(hq(0.75, h).0, 0.2);
        assert_eq!(hq(1.0, h).0, 0.2);
        assert!(hq(0.5, &[(INF, 0.0), (INF, 0.0)]).0.is_nan());
    }

    #[test]
    fn quantile_first_bucket_non_positive_returns_its_bound() {
        let h = &[(-1.0, 5.0), (0.0, 10.0), (INF, 10.0)];
        assert_eq!(hq(0.2, h).0, -1.0);
        assert!(close(hq(0.75, h).0, -0.5));
    }

    #[test]
    fn quantile_forced_monotonicity() {
        // histograms.test `nonmonotonic_bucket` at 50m.
        let h = &[
            (0.1, 20.0),
            (1.0, 10.0),
            (10.0, 50.0),
            (100.0, 40.0),
            (1000.0, 90.0),
            (INF, 80.0),
        ];
        let (v, fix) = hq(0.01, h);
        assert!(close(v, 0.0045));
        assert!(fix.forced);
        assert!(!fix.fixed_precision);
        assert_eq!(fix.min_bucket, 1.0);
        assert_eq!(fix.max_bucket, INF);
        assert_eq!(fix.max_diff, 10.0);
        assert!(close(hq(0.5, h).0, 8.5));
        assert!(close(hq(0.99, h).0, 979.75));
        let multi = histogram_quantiles(&[0.01, 0.5, 0.99], &mut bk(h));
        assert!(close(multi[0].0, 0.0045) && close(multi[1].0, 8.5) && close(multi[2].0, 979.75));
        // Counts were already repaired in the buffer, so only the first call reports the repair.
        assert!(multi[0].1.forced && !multi[1].1.forced);
    }

    #[test]
    fn quantile_ignores_tiny_deltas_without_forcing() {
        let base = 1e13;
        let h = &[(1.0, base), (2.0, base * (1.0 - 1e-14)), (INF, base * 2.0)];
        let (v, fix) = hq(0.25, h);
        assert!(fix.fixed_precision);
        assert!(!fix.forced);
        assert_eq!(fix.min_bucket, INF);
        assert_eq!(fix.max_bucket, f64::NEG_INFINITY);
        assert!(close(v, 0.5));
    }

    #[test]
    fn histogram_quantiles_reuses_the_buffer_like_prometheus() {
        // Equal bounds: the first call merges [0.2:1, 0.2:1] into the front; the stale +Inf entry left in
        // the tail is merged again by the second call, doubling the total.
        let mut buf = bk(&[(0.2, 1.0), (0.2, 1.0), (INF, 4.0)]);
        let res = histogram_quantiles(&[0.25, 0.25], &mut buf);
        // First: total 4, rank 1 of the 2 in (0, 0.2]. Second: total 8, rank 2 of 2.
        assert!(close(res[0].0, 0.1));
        assert_eq!(res[1].0, 0.2);
        assert!(close(
            histogram_quantile(0.25, &mut bk(&[(0.2, 1.0), (0.2, 1.0), (INF, 4.0)])).0,
            0.1
        ));
    }

    #[test]
    fn parse_le_like_go() {
        assert_eq!(parse_le("0.1"), Some(0.1));
        assert_eq!(parse_le(".2"), Some(0.2));
        assert_eq!(parse_le("1e0"), Some(1.0));
        assert_eq!(parse_le("2.0e-1"), Some(0.2));
        assert_eq!(parse_le("5."), Some(5.0));
        assert_eq!(parse_le("-0.25"), Some(-0.25));
        assert_eq!(parse_le("+1E+2"), Some(100.0));
        assert_eq!(parse_le("1_000.5"), Some(1000.5));
        assert_eq!(parse_le("1e1_0"), Some(1e10));
        assert_eq!(parse_le("+Inf"), Some(INF));
        assert_eq!(parse_le("+inf"), Some(INF));
        assert_eq!(parse_le("Infinity"), Some(INF));
        assert_eq!(parse_le("-INF"), Some(f64::NEG_INFINITY));
        assert!(parse_le("NaN").is_some_and(f64::is_nan));
        for bad in [
            "",
            "Hello World",
            "+",
            ".",
            "e5",
            "1e",
            "1e+",
            "1..2",
            "1_",
            "_1",
            "1__0",
            "1_.5",
            "1._5",
            "+NaN",
            "infin",
            " 1",
            "1 ",
            "0x1p-2",
            "1e400",
            "-1e400",
        ] {
            assert_eq!(parse_le(bad), None, "{bad:?}");
        }
        // Underflow is not an error in Go either.
        assert_eq!(parse_le("1e-400"), Some(0.0));
    }

    #[test]
    fn almost_equal_cases() {
        assert!(almost_equal(f64::NAN, f64::NAN, 1e-12));
        assert!(almost_equal(1.0, 1.0, 0.0));
        assert!(almost_equal(1.0, 1.0 + 1e-13, 1e-12));
        assert!(!almost_equal(1.0, 1.0 + 1e-11, 1e-12));
        assert!(!almost_equal(0.0, 1e-300, 1e-12));
        assert!(!almost_equal(1.0, f64::NAN, 1e-12));
    }

    #[test]
    fn fraction_examples_from_histograms_test() {
        let h2 = &[(0.0, 0.0), (2.0, 10.0), (4.0, 20.0), (6.0, 30.0), (INF, 30.0)];
        assert!(close(hf(0.0, 4.0, h2), 0.6666666666666666));
        assert_eq!(hf(0.0, 6.0, h2), 1.0);
        assert!(close(hf(0.0, 3.5, h2), 0.5833333333333334));
        let pos = &[(1.0, 1.0), (2.0, 3.0), (3.0, 6.0), (INF, 100.0)];
        assert!(close(hf(0.0, 1.5, pos), 0.02));
        assert!(close(hf(4.0, 5.0, pos), 0.0));
        assert!(close(hf(2.0, 5.0, pos), 0.03));
        assert!(close(hf(400.0, INF, pos), 0.94));
        assert_eq!(hf(f64::NEG_INFINITY, INF, pos), 1.0);
        assert_eq!(hf(2.0, 2.0, pos), 0.0);
        assert_eq!(hf(3.0, 2.0, pos), 0.0);
        assert!(close(hf(2.0, 3.5, pos), 0.03));
        assert!(close(hf(0.5, 2.0, pos), 0.025));
        assert!(close(hf(1.0, 3.0, pos), 0.05));
        let neg = &[(-3.0, 10.0), (-2.0, 12.0), (-1.0, 15.0), (INF, 100.0)];
        assert!(close(hf(-4.0, -2.0, neg), 0.02));
        assert!(close(hf(f64::NEG_INFINITY, -1.5, neg), 0.135));
        assert_eq!(hf(f64::NEG_INFINITY, INF, neg), 1.0);
        assert_eq!(hf(0.0, 1.0, neg), 0.0);
        let frac = &[(0.5, 2.5), (1.0, 7.5), (INF, 100.0)];
        assert!(close(hf(0.1, 0.75, frac), 0.045));
        let cross = &[(-2.0, 5.0), (-1.0, 10.0), (0.0, 15.0), (1.0, 20.0), (INF, 100.0)];
        assert!(close(hf(-1.0, 1.0, cross), 0.1));
        let small = &[(1.0, 1.0), (2.0, 3.0), (INF, 10.0)];
        assert_eq!(hf(-10.0, -5.0, small), 0.0);
        assert_eq!(hf(5.0, 10.0, small), 0.0);
    }

    #[test]
    fn fraction_degenerate_inputs() {
        assert_eq!(hf(0.0, 1.0, &[(INF, 100.0)]), 0.0);
        assert!(hf(0.0, 5.0, &[(1.0, 0.0), (INF, 0.0)]).is_nan());
        assert!(hf(f64::NAN, 1.0, &[(1.0, 1.0), (INF, 100.0)]).is_nan());
        assert!(hf(0.0, f64::NAN, &[(1.0, 1.0), (INF, 100.0)]).is_nan());
        assert!(hf(0.0, 1.0, &[(1.0, 1.0), (2.0, 3.0)]).is_nan());
        assert!(hf(0.0, 1.0, &[]).is_nan());
    }
}
