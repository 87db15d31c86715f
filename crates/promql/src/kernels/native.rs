//! Native-histogram math of PromQL's functions — `histogram_quantile`, `histogram_fraction`,
//! `histogram_stddev`, `histogram_stdvar`, `histogram_avg` — over one [`FloatHistogram`], with the
//! interpolation rules of Prometheus v3.14 (`promql/quantile.go`, `promql/functions.go`).
//!
//! Interpolation within a bucket: linear for custom buckets and for the zero bucket (whose far bound
//! is taken as 0 when the histogram has buckets on one side only); exponential — linear on a log2 scale
//! — for exponential buckets. The logarithms and powers are Go's `math.Log2`/`math.Exp2` as computed on
//! amd64, reproduced here, so results agree with Prometheus bit for bit rather than within an ulp.
//!
//! NaN observations (a NaN sum with a count larger than the buckets hold) are reported for the engine's
//! info annotations; everything else about annotations (invalid quantile, mixed classic/native input)
//! is the engine's business.

use model::FloatHistogram;
use model::histogram::{Bucket, frexp, ldexp};

use super::kahan::kahan_inc;

/// What `histogram_quantile` found about NaN observations (a NaN sum with fewer observations in the
/// buckets than the count); the engine turns the last two into info annotations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NanObservations {
    /// None that matter.
    None,
    /// The quantile fell among the NaN observations: "input to histogram_quantile has NaN observations,
    /// result is NaN".
    ResultNaN,
    /// The quantile fell into a bucket, but NaN observations exist and count as if above every bucket:
    /// "input to histogram_quantile has NaN observations, result is skewed higher".
    SkewedHigher,
}

/// The φ-quantile `q` of a native histogram (Prometheus's `HistogramQuantile`), and what it found about
/// NaN observations.
///
/// - `q < 0` gives −Inf and `q > 1` +Inf (the engine warns about both); a NaN `q` or an empty
///   histogram (count 0) gives NaN.
/// - The buckets are walked from the low end if `q < 0.5` or the sum is NaN, else from the high end,
///   until the rank `q × count` is reached; empty buckets are passed over.
/// - Zero bucket: if the histogram has only positive (negative) buckets, its lower (upper) bound is
///   taken as 0; interpolation in it is linear.
/// - Custom buckets: in the first bucket (lower bound −Inf) the result is its upper bound if that is
///   ≤ 0, else interpolation starts at 0; in the last bucket (upper bound +Inf) the result is its lower
///   bound; elsewhere interpolation is linear.
/// - Exponential buckets interpolate exponentially: the quantile in the middle of `(1, 2]` is √2.
/// - If the buckets run out before the rank is reached (NaN observations), the result is NaN when the
///   sum is NaN ([`NanObservations::ResultNaN`]), else the upper bound of the last bucket. With a NaN
///   sum and buckets holding less than the count the result is flagged
///   [`NanObservations::SkewedHigher`] — and, exactly as in Prometheus, the interpolation then
///   uses the bounds and count of the *last* bucket of the walk rather than of the bucket the rank fell
///   into (only observable with NaN observations).
pub fn histogram_quantile(q: f64, h: &FloatHistogram) -> (f64, NanObservations) {
    if q < 0.0 {
        return (f64::NEG_INFINITY, NanObservations::None);
    }
    if q > 1.0 {
        return (f64::INFINITY, NanObservations::None);
    }
    if h.count == 0.0 || q.is_nan() {
        return (f64::NAN, NanObservations::None);
    }
    if h.sum.is_nan() || q < 0.5 {
        quantile_walk(h, h.iter_buckets(), q * h.count, true)
    } else {
        quantile_walk(h, h.iter_buckets_rev(), (1.0 - q) * h.count, false)
    }
}

fn quantile_walk(
    h: &FloatHistogram,
    mut buckets: impl Iterator<Item = Bucket>,
    mut rank: f64,
    forward: bool,
) -> (f64, NanObservations) {
    let plain = |value| (value, NanObservations::None);
    let custom = h.uses_custom_buckets();
    // Go starts from a zero-valued bucket; it is what an empty histogram leaves behind.
    let mut bucket = Bucket {
        lower: 0.0,
        upper: 0.0,
        lower_inclusive: false,
        upper_inclusive: false,
        count: 0.0,
        index: 0,
    };
    let mut count = 0.0;
    for b in buckets.by_ref() {
        bucket = b;
        if b.count == 0.0 {
            continue;
        }
        count += b.count;
        if count >= rank {
            break;
        }
    }
    if !custom && bucket.lower < 0.0 && bucket.upper > 0.0 {
        if h.negative_buckets.is_empty() && !h.positive_buckets.is_empty() {
            bucket.lower = 0.0;
        } else if h.positive_buckets.is_empty() && !h.negative_buckets.is_empty() {
            bucket.upper = 0.0;
        }
    } else if custom {
        if bucket.lower == f64::NEG_INFINITY {
            if bucket.upper <= 0.0 {
                return plain(bucket.upper);
            }
            bucket.lower = 0.0;
        } else if bucket.upper == f64::INFINITY {
            return plain(bucket.lower);
        }
    }
    // Float error can make the buckets add up to more than the count.
    if count > h.count {
        count = h.count;
    }
    if count < rank {
        // Ran out of buckets: only NaN observations (or a malformed histogram) get here.
        if h.sum.is_nan() {
            return (f64::NAN, NanObservations::ResultNaN);
        }
        return plain(bucket.upper);
    }
    if forward {
        rank -= count - bucket.count;
    } else {
        rank = count - rank;
    }
    let mut nans = NanObservations::None;
    if h.sum.is_nan() {
        // Prometheus finishes the walk with the same variable, so the interpolation below uses the
        // last bucket.
        for b in buckets {
            bucket = b;
            count += b.count;
        }
        if count < h.count {
            nans = NanObservations::SkewedHigher;
        }
    }
    let fraction = rank / bucket.count;
    let value = if custom || (bucket.lower <= 0.0 && bucket.upper >= 0.0) {
        bucket.lower + (bucket.upper - bucket.lower) * fraction
    } else {
        let log_lower = go_log2(bucket.lower.abs());
        let log_upper = go_log2(bucket.upper.abs());
        if bucket.lower > 0.0 {
            go_exp2(log_lower + (log_upper - log_lower) * fraction)
        } else {
            -go_exp2(log_upper + (log_lower - log_upper) * (1.0 - fraction))
        }
    };
    (value, nans)
}

/// The estimated fraction of observations between `lower` and `upper` (Prometheus's
/// `HistogramFraction`), the inverse of [`histogram_quantile`], and whether NaN observations were left
/// out (they count in the denominator but in no bucket; the engine adds the info annotation "input to
/// histogram_fraction has NaN observations, which are excluded from all fractions").
///
/// NaN for an empty histogram or a NaN bound; 0 if `lower >= upper`. A bound inside a bucket is
/// interpolated like [`histogram_quantile`] does (linearly in custom buckets and in any bucket
/// spanning 0 — whose far bound is taken as 0 when the histogram has buckets on one side only — and
/// exponentially otherwise; nothing is taken from a custom bucket reaching down to −Inf). Whether the
/// bounds are inclusive only matters when they coincide with bucket boundaries: `lower` is exclusive
/// for positive values and inclusive for negative ones, `upper` the other way round. NaN observations
/// fall outside every range, so with them even `(−Inf, +Inf)` is below 1.
pub fn histogram_fraction(lower: f64, upper: f64, h: &FloatHistogram) -> (f64, bool) {
    if h.count == 0.0 || lower.is_nan() || upper.is_nan() {
        return (f64::NAN, false);
    }
    if lower >= upper {
        return (0.0, false);
    }
    let custom = h.uses_custom_buckets();
    let (only_positive, only_negative) = (
        h.negative_buckets.is_empty() && !h.positive_buckets.is_empty(),
        h.positive_buckets.is_empty() && !h.negative_buckets.is_empty(),
    );
    let mut count = 0.0;
    let mut rank = 0.0;
    let (mut lower_rank, mut upper_rank) = (0.0, 0.0);
    let (mut lower_set, mut upper_set) = (false, false);
    let mut buckets = h.iter_buckets();
    for mut b in buckets.by_ref() {
        count += b.count;
        let mut zero_bucket = false;
        if b.lower <= 0.0 && b.upper >= 0.0 {
            zero_bucket = true;
            if only_positive {
                b.lower = 0.0;
            } else if only_negative {
                b.upper = 0.0;
            }
        }
        let linear = custom || zero_bucket;
        if !lower_set && b.lower >= lower {
            lower_rank = rank;
            lower_set = true;
        }
        if !upper_set && b.lower >= upper {
            upper_rank = rank;
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        if !lower_set && b.lower < lower && b.upper > lower {
            lower_rank = interpolate(&b, rank, lower, linear);
            lower_set = true;
        }
        if !upper_set && b.lower < upper && b.upper > upper {
            upper_rank = interpolate(&b, rank, upper, linear);
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        rank += b.count;
    }
    let mut nan_observations_excluded = false;
    if h.sum.is_nan() {
        // Only the observations in buckets are in any range.
        count += buckets.map(|b| b.count).sum::<f64>();
        nan_observations_excluded = count < h.count;
    } else {
        count = h.count;
    }
    if !lower_set || lower_rank > count {
        lower_rank = count;
    }
    if !upper_set || upper_rank > count {
        upper_rank = count;
    }
    ((upper_rank - lower_rank) / h.count, nan_observations_excluded)
}

/// The rank of `v` inside bucket `b`, whose lower bound has rank `rank`.
fn interpolate(b: &Bucket, rank: f64, v: f64, linear: bool) -> f64 {
    if linear {
        if b.lower == f64::NEG_INFINITY {
            // (v − −Inf)/(upper − −Inf) would be NaN; a bucket reaching to −Inf contributes all of it.
            return b.count;
        }
        return rank + b.count * (v - b.lower) / (b.upper - b.lower);
    }
    let log_lower = go_log2(b.lower.abs());
    let log_upper = go_log2(b.upper.abs());
    let log_v = go_log2(v.abs());
    let fraction = if v > 0.0 {
        (log_v - log_lower) / (log_upper - log_lower)
    } else {
        1.0 - ((log_v - log_upper) / (log_lower - log_upper))
    };
    rank + b.count * fraction
}

/// The estimated average of the observations: sum / count (NaN for an empty histogram).
pub fn histogram_avg(h: &FloatHistogram) -> f64 {
    h.sum / h.count
}

/// The estimated population variance of the observations (Prometheus's `histogram_stdvar`): each
/// bucket's observations are taken to sit at one point — the arithmetic mean of the bounds for custom
/// buckets (so ±Inf for the first and last custom bucket), 0 for a bucket spanning 0 (the zero bucket),
/// and the geometric mean of the bounds (negated on the negative side) otherwise — and their squared
/// distances from the mean `sum / count` are summed with Kahan compensation and divided by the count.
pub fn histogram_stdvar(h: &FloatHistogram) -> f64 {
    let mean = h.sum / h.count;
    let custom = h.uses_custom_buckets();
    let (mut variance, mut c) = (0.0, 0.0);
    for b in h.iter_buckets() {
        if b.count == 0.0 {
            continue;
        }
        let point = if custom {
            (b.upper + b.lower) / 2.0
        } else if b.lower <= 0.0 && b.upper >= 0.0 {
            0.0
        } else {
            let geometric = (b.upper * b.lower).sqrt();
            if b.upper < 0.0 { -geometric } else { geometric }
        };
        let delta = point - mean;
        (variance, c) = kahan_inc(b.count * delta * delta, variance, c);
    }
    (variance + c) / h.count
}

/// The estimated population standard deviation: the square root of [`histogram_stdvar`].
pub fn histogram_stddev(h: &FloatHistogram) -> f64 {
    histogram_stdvar(h).sqrt()
}

// Go's math.Log2 and math.Exp2 as they run on amd64 (Log in assembly, the rest in Go), without fused
// multiply-adds. libm's log2/exp2 differ from them in the last bit for many arguments.

/// Go's `math.Log2`: exact for powers of two, else `Log(frac) × (1/ln 2) + exp`.
fn go_log2(x: f64) -> f64 {
    let (frac, exp) = frexp(x);
    if frac == 0.5 {
        return (exp - 1) as f64;
    }
    go_log(frac) * std::f64::consts::LOG2_E + exp as f64
}

/// Go's `math.Log` (FreeBSD's `e_log.c` algorithm, as in Go's amd64 assembly).
#[allow(clippy::excessive_precision, reason = "Go's constants, digit for digit")]
fn go_log(x: f64) -> f64 {
    const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
    const L1: f64 = 6.666_666_666_666_735_130e-1;
    const L2: f64 = 3.999_999_999_940_941_908e-1;
    const L3: f64 = 2.857_142_874_366_239_149e-1;
    const L4: f64 = 2.222_219_843_214_978_396e-1;
    const L5: f64 = 1.818_357_216_161_805_012e-1;
    const L6: f64 = 1.531_383_769_920_937_332e-1;
    const L7: f64 = 1.479_819_860_511_658_591e-1;
    if x.is_nan() || x == f64::INFINITY {
        return x;
    }
    if x < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 {
        return f64::NEG_INFINITY;
    }
    let (mut f1, mut ki) = frexp(x);
    // The assembly compares with "not less than", so √2/2 itself is scaled up too.
    if f1 <= std::f64::consts::FRAC_1_SQRT_2 {
        f1 *= 2.0;
        ki -= 1;
    }
    let f = f1 - 1.0;
    let k = ki as f64;
    let s = f / (2.0 + f);
    let s2 = s * s;
    let s4 = s2 * s2;
    let t1 = s2 * (L1 + s4 * (L3 + s4 * (L5 + s4 * L7)));
    let t2 = s4 * (L2 + s4 * (L4 + s4 * L6));
    let r = t1 + t2;
    let hfsq = 0.5 * f * f;
    k * LN2_HI - ((hfsq - (s * (hfsq + r) + k * LN2_LO)) - f)
}

/// Go's `math.Exp2` (pure Go on amd64; FreeBSD's `e_exp.c` reduction and polynomial).
#[allow(clippy::excessive_precision, reason = "Go's constants, digit for digit")]
fn go_exp2(x: f64) -> f64 {
    const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
    const OVERFLOW: f64 = 1.023_999_999_999_999_9e3;
    const UNDERFLOW: f64 = -1.074e3;
    const P1: f64 = 1.666_666_666_666_666_574_15e-1;
    const P2: f64 = -2.777_777_777_701_559_338_42e-3;
    const P3: f64 = 6.613_756_321_437_934_361_17e-5;
    const P4: f64 = -1.653_390_220_546_525_153_90e-6;
    const P5: f64 = 4.138_136_797_057_238_460_39e-8;
    if x.is_nan() || x == f64::INFINITY {
        return x;
    }
    if x == f64::NEG_INFINITY {
        return 0.0;
    }
    if x > OVERFLOW {
        return f64::INFINITY;
    }
    if x < UNDERFLOW {
        return 0.0;
    }
    // Round half away from zero, as Go's int() truncation of x ± 0.5 does.
    let k = if x > 0.0 {
        (x + 0.5) as i64
    } else if x < 0.0 {
        (x - 0.5) as i64
    } else {
        0
    };
    let t = x - k as f64;
    let hi = t * LN2_HI;
    let lo = -t * LN2_LO;
    let r = hi - lo;
    let t = r * r;
    let c = r - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
    let y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
    ldexp(y, k)
}

#[cfg(test)]
#[allow(
    clippy::approx_constant,
    reason = "arguments and results as Prometheus's tests and Go have them"
)]
mod tests {
    use model::histogram::parse_test_notation;

    use super::*;

    fn h(s: &str) -> FloatHistogram {
        parse_test_notation(s).unwrap()
    }

    /// promqltest's comparison of sample values (`almost.Equal` with 1e-6).
    fn close(a: f64, b: f64) -> bool {
        super::super::almost_equal(a, b, 1e-6)
    }

    /// Every single-histogram `histogram_quantile`, `histogram_fraction`, `histogram_stddev`,
    /// `histogram_stdvar` and `histogram_avg` evaluation of Prometheus v3.14's `native_histograms.test`:
    /// (line, function, first argument, second argument, histogram, expected value).
    #[rustfmt::skip]
    const CONFORMANCE: &[(u32, &str, f64, f64, &str, f64)] = &[
    (18, "histogram_avg", 0.0, 0.0, "{{}}", f64::NAN),
    (18, "histogram_avg", 0.0, 0.0, "{{schema:-53 custom_values:[-2 3]}}", f64::NAN),
    (22, "histogram_fraction", f64::NEG_INFINITY, f64::INFINITY, "{{}}", f64::NAN),
    (22, "histogram_fraction", f64::NEG_INFINITY, f64::INFINITY, "{{schema:-53 custom_values:[-2 3]}}", f64::NAN),
    (26, "histogram_fraction", 0.0, 8.0, "{{}}", f64::NAN),
    (26, "histogram_fraction", 0.0, 8.0, "{{schema:-53 custom_values:[-2 3]}}", f64::NAN),
    (45, "histogram_avg", 0.0, 0.0, "{{schema:0 sum:5 count:4 buckets:[1 2 1]}}", 1.25),
    (49, "histogram_fraction", 1.0, 2.0, "{{schema:0 sum:5 count:4 buckets:[1 2 1]}}", 0.5),
    (53, "histogram_fraction", 0.0, 8.0, "{{schema:0 sum:5 count:4 buckets:[1 2 1]}}", 1.0),
    (61, "histogram_quantile", 0.5, 0.0, "{{schema:0 sum:5 count:4 buckets:[1 2 1]}}", 1.414213562373095),
    (205, "histogram_avg", 0.0, 0.0, "{{schema:0 z_bucket:1 z_bucket_w:0.5 sum:0.25 count:1}}", 0.25),
    (211, "histogram_fraction", -0.5, 0.5, "{{schema:0 z_bucket:1 z_bucket_w:0.5 sum:0.25 count:1}}", 1.0),
    (215, "histogram_quantile", 0.5, 0.0, "{{schema:0 z_bucket:1 z_bucket_w:0.5 sum:0.25 count:1}}", 0.0),
    (230, "histogram_avg", 0.0, 0.0, "{{schema:0 sum:-5 count:4 n_buckets:[1 2 1]}}", -1.25),
    (234, "histogram_fraction", -2.0, -1.0, "{{schema:0 sum:-5 count:4 n_buckets:[1 2 1]}}", 0.5),
    (238, "histogram_quantile", 0.5, 0.0, "{{schema:0 sum:-5 count:4 n_buckets:[1 2 1]}}", -1.414213562373095),
    (332, "histogram_stddev", 0.0, 0.0, "{{schema:2 count:4 sum:10 buckets:[1 0 0 0 1 0 0 1 1]}}", 1.0787993180043811),
    (335, "histogram_stdvar", 0.0, 0.0, "{{schema:2 count:4 sum:10 buckets:[1 0 0 0 1 0 0 1 1]}}", 1.163807968526718),
    (344, "histogram_stddev", 0.0, 0.0, "{{schema:8 count:10 sum:10 buckets:[1 2 3 4]}}", 0.0048960313898237465),
    (347, "histogram_stdvar", 0.0, 0.0, "{{schema:8 count:10 sum:10 buckets:[1 2 3 4]}}", 2.3971123370139447e-05),
    (356, "histogram_stddev", 0.0, 0.0, "{{schema:3 count:7 sum:62 z_bucket:1 buckets:[0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 0 0 0 0 0 0 0 0 0 1 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 ] n_buckets:[0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 ]}}", 42.94723640026),
    (359, "histogram_stdvar", 0.0, 0.0, "{{schema:3 count:7 sum:62 z_bucket:1 buckets:[0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 0 0 0 0 0 0 0 0 0 1 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 ] n_buckets:[0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 ]}}", 1844.4651144196398),
    (368, "histogram_stddev", 0.0, 0.0, "{{schema:0 count:10 sum:-112946 z_bucket:0 n_buckets:[0 0 1 1 1 0 1 1 0 0 3 0 0 0 1 0 0 1]}}", 27556.344499842),
    (371, "histogram_stdvar", 0.0, 0.0, "{{schema:0 count:10 sum:-112946 z_bucket:0 n_buckets:[0 0 1 1 1 0 1 1 0 0 3 0 0 0 1 0 0 1]}}", 759352122.1939945),
    (380, "histogram_stddev", 0.0, 0.0, "{{schema:0 count:10 sum:-100 z_bucket:0 n_buckets:[0 0 0 0 10]}}", 1.3137084989848),
    (383, "histogram_stdvar", 0.0, 0.0, "{{schema:0 count:10 sum:-100 z_bucket:0 n_buckets:[0 0 0 0 10]}}", 1.725830020304794),
    (392, "histogram_stddev", 0.0, 0.0, "{{schema:3 count:7 sum:NaN z_bucket:1 buckets:[0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 0 0 0 0 0 0 0 0 0 1 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 ] n_buckets:[0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 ]}}", f64::NAN),
    (395, "histogram_stdvar", 0.0, 0.0, "{{schema:3 count:7 sum:NaN z_bucket:1 buckets:[0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 0 0 0 0 0 0 0 0 0 1 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 ] n_buckets:[0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 ]}}", f64::NAN),
    (404, "histogram_stddev", 0.0, 0.0, "{{schema:3 count:7 sum:Inf z_bucket:1 buckets:[0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 0 0 0 0 0 0 0 0 0 1 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 ] n_buckets:[0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 ]}}", f64::INFINITY),
    (407, "histogram_stdvar", 0.0, 0.0, "{{schema:3 count:7 sum:Inf z_bucket:1 buckets:[0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 0 0 0 0 0 0 0 0 0 1 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 ] n_buckets:[0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 ]}}", f64::INFINITY),
    (416, "histogram_quantile", 1.001, 0.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", f64::INFINITY),
    (420, "histogram_quantile", 1.0, 0.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", 16.0),
    (427, "histogram_quantile", 0.99, 0.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", 15.67072476139083),
    (431, "histogram_quantile", 0.9, 0.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", 12.99603834169977),
    (435, "histogram_quantile", 0.6, 0.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", 4.594793419988138),
    (439, "histogram_quantile", 0.5, 0.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", 1.5874010519681994),
    (444, "histogram_quantile", 0.1, 0.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", 0.0006),
    (448, "histogram_quantile", 0.0, 0.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", 0.0),
    (452, "histogram_quantile", -1.0, 0.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", f64::NEG_INFINITY),
    (462, "histogram_quantile", 1.001, 0.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", f64::INFINITY),
    (466, "histogram_quantile", 1.0, 0.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", 0.0),
    (473, "histogram_quantile", 0.99, 0.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", -6e-05),
    (477, "histogram_quantile", 0.9, 0.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", -0.0006),
    (481, "histogram_quantile", 0.5, 0.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", -1.5874010519681996),
    (485, "histogram_quantile", 0.1, 0.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", -12.996038341699768),
    (489, "histogram_quantile", 0.0, 0.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", -16.0),
    (493, "histogram_quantile", -1.0, 0.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", f64::NEG_INFINITY),
    (505, "histogram_quantile", 1.001, 0.0, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", f64::INFINITY),
    (509, "histogram_quantile", 1.0, 0.0, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", 16.0),
    (513, "histogram_quantile", 0.99, 0.0, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", 15.34822590920423),
    (517, "histogram_quantile", 0.9, 0.0, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", 10.556063286183155),
    (521, "histogram_quantile", 0.7, 0.0, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", 1.2030250360821164),
    (527, "histogram_quantile", 0.55, 0.0, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", 0.0006),
    (531, "histogram_quantile", 0.5, 0.0, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", 0.0),
    (535, "histogram_quantile", 0.45, 0.0, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", -0.0006),
    (540, "histogram_quantile", 0.3, 0.0, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", -1.2030250360821169),
    (544, "histogram_quantile", 0.1, 0.0, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", -10.556063286183155),
    (548, "histogram_quantile", 0.01, 0.0, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", -15.34822590920423),
    (552, "histogram_quantile", 0.0, 0.0, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", -16.0),
    (556, "histogram_quantile", -1.0, 0.0, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", f64::NEG_INFINITY),
    (569, "histogram_quantile", 0.5, 0.0, "{{schema:-1 sum:6 count:5 buckets:[0 5]}}", 2.0),
    (569, "histogram_quantile", 0.5, 0.0, "{{schema:0 sum:4 count:5 buckets:[0 5]}}", 1.4142135623730951),
    (569, "histogram_quantile", 0.5, 0.0, "{{schema:1 sum:4 count:5 buckets:[0 5]}}", 1.189207),
    (574, "histogram_fraction", 0.0, 2.0, "{{schema:-1 sum:6 count:5 buckets:[0 5]}}", 0.5),
    (577, "histogram_fraction", 0.0, 1.4142135623730951, "{{schema:0 sum:4 count:5 buckets:[0 5]}}", 0.5),
    (580, "histogram_fraction", 0.0, 1.189207, "{{schema:1 sum:4 count:5 buckets:[0 5]}}", 0.5),
    (590, "histogram_quantile", 0.5, 0.0, "{{schema:-1 sum:6 count:5 buckets:[0 0 5]}}", 8.0),
    (590, "histogram_quantile", 0.5, 0.0, "{{schema:0 sum:4 count:5 buckets:[0 0 5]}}", 2.82842712474619),
    (590, "histogram_quantile", 0.5, 0.0, "{{schema:1 sum:4 count:5 buckets:[0 0 5]}}", 1.6817928305074292),
    (595, "histogram_fraction", 0.0, 8.0, "{{schema:-1 sum:6 count:5 buckets:[0 0 5]}}", 0.5),
    (598, "histogram_fraction", 0.0, 2.82842712474619, "{{schema:0 sum:4 count:5 buckets:[0 0 5]}}", 0.5),
    (601, "histogram_fraction", 0.0, 1.6817928305074292, "{{schema:1 sum:4 count:5 buckets:[0 0 5]}}", 0.5),
    (611, "histogram_quantile", 0.5, 0.0, "{{schema:-1 sum:6 count:5 n_buckets:[0 5]}}", -2.0),
    (611, "histogram_quantile", 0.5, 0.0, "{{schema:0 sum:4 count:5 n_buckets:[0 5]}}", -1.4142135623730951),
    (611, "histogram_quantile", 0.5, 0.0, "{{schema:1 sum:4 count:5 n_buckets:[0 5]}}", -1.189207),
    (616, "histogram_fraction", -2.0, 0.0, "{{schema:-1 sum:6 count:5 n_buckets:[0 5]}}", 0.5),
    (619, "histogram_fraction", -1.4142135623730951, 0.0, "{{schema:0 sum:4 count:5 n_buckets:[0 5]}}", 0.5),
    (622, "histogram_fraction", -1.189207, 0.0, "{{schema:1 sum:4 count:5 n_buckets:[0 5]}}", 0.5),
    (631, "histogram_quantile", 0.5, 0.0, "{{schema:-1 sum:6 count:5 n_buckets:[0 0 5]}}", -8.0),
    (631, "histogram_quantile", 0.5, 0.0, "{{schema:0 sum:4 count:5 n_buckets:[0 0 5]}}", -2.82842712474619),
    (631, "histogram_quantile", 0.5, 0.0, "{{schema:1 sum:4 count:5 n_buckets:[0 0 5]}}", -1.6817928305074292),
    (636, "histogram_fraction", -8.0, 0.0, "{{schema:-1 sum:6 count:5 n_buckets:[0 0 5]}}", 0.5),
    (639, "histogram_fraction", -2.82842712474619, 0.0, "{{schema:0 sum:4 count:5 n_buckets:[0 0 5]}}", 0.5),
    (642, "histogram_fraction", -1.6817928305074292, 0.0, "{{schema:1 sum:4 count:5 n_buckets:[0 0 5]}}", 0.5),
    (650, "histogram_fraction", 3.1415, 42.0, "{{}}", f64::NAN),
    (659, "histogram_fraction", 0.0, f64::INFINITY, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", 1.0),
    (662, "histogram_fraction", f64::NEG_INFINITY, 0.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", 0.0),
    (665, "histogram_fraction", -0.001, 0.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", 0.0),
    (668, "histogram_fraction", 0.0, 0.001, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", 0.16666666666666666),
    (672, "histogram_fraction", 0.001, f64::INFINITY, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", 0.8333333333333334),
    (676, "histogram_fraction", 0.0, 0.0005, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", 0.08333333333333333),
    (681, "histogram_quantile", 0.08333333333333333, 0.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", 0.0005),
    (684, "histogram_fraction", f64::NEG_INFINITY, -0.001, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", 0.0),
    (687, "histogram_fraction", 1.0, 2.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", 0.25),
    (694, "histogram_fraction", 0.0, 1.5, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", 0.4795739585136224),
    (697, "histogram_fraction", 1.5, 2.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", 0.10375937481971091),
    (700, "histogram_fraction", 1.0, 8.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", 0.3333333333333333),
    (703, "histogram_fraction", 0.0, 6.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", 0.6320802083934297),
    (706, "histogram_quantile", 0.6320802083934297, 0.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", 6.0),
    (709, "histogram_fraction", 1.0, 6.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", 0.29874687506009634),
    (712, "histogram_fraction", 1.5, 6.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", 0.15250624987980724),
    (715, "histogram_fraction", -2.0, -1.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", 0.0),
    (718, "histogram_fraction", -2.0, -1.5, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", 0.0),
    (721, "histogram_fraction", -8.0, -1.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", 0.0),
    (724, "histogram_fraction", -6.0, -1.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", 0.0),
    (727, "histogram_fraction", -6.0, -1.5, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", 0.0),
    (730, "histogram_fraction", 42.0, 3.1415, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", 0.0),
    (733, "histogram_fraction", 0.0, 0.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", 0.0),
    (736, "histogram_fraction", 1e-06, 1e-06, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", 0.0),
    (739, "histogram_fraction", 42.0, 42.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", 0.0),
    (742, "histogram_fraction", -3.1, -3.1, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", 0.0),
    (745, "histogram_fraction", 3.1415, f64::NAN, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", f64::NAN),
    (748, "histogram_fraction", f64::NAN, 42.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", f64::NAN),
    (751, "histogram_fraction", f64::NAN, f64::NAN, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", f64::NAN),
    (754, "histogram_fraction", f64::NEG_INFINITY, f64::INFINITY, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}", 1.0),
    (761, "histogram_fraction", 0.0, f64::INFINITY, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", 0.0),
    (764, "histogram_fraction", f64::NEG_INFINITY, 0.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", 1.0),
    (767, "histogram_fraction", -0.001, 0.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", 0.16666666666666666),
    (770, "histogram_fraction", 0.0, 0.001, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", 0.0),
    (773, "histogram_fraction", -0.0005, 0.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", 0.08333333333333333),
    (776, "histogram_fraction", f64::NEG_INFINITY, -0.0005, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", 0.9166666666666666),
    (779, "histogram_quantile", 0.9166666666666666, 0.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", -0.0005),
    (782, "histogram_fraction", 0.001, f64::INFINITY, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", 0.0),
    (785, "histogram_fraction", f64::NEG_INFINITY, -0.001, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", 0.8333333333333334),
    (788, "histogram_fraction", 1.0, 2.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", 0.0),
    (791, "histogram_fraction", 1.5, 2.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", 0.0),
    (794, "histogram_fraction", 1.0, 8.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", 0.0),
    (797, "histogram_fraction", 1.0, 6.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", 0.0),
    (800, "histogram_fraction", 1.5, 6.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", 0.0),
    (803, "histogram_fraction", -2.0, -1.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", 0.25),
    (806, "histogram_fraction", -2.0, -1.5, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", 0.10375937481971091),
    (809, "histogram_fraction", -8.0, -1.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", 0.3333333333333333),
    (812, "histogram_fraction", f64::NEG_INFINITY, -6.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", 0.36791979160657035),
    (815, "histogram_quantile", 0.36791979160657035, 0.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", -6.0),
    (818, "histogram_fraction", -6.0, -1.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", 0.29874687506009634),
    (821, "histogram_fraction", -6.0, -1.5, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", 0.15250624987980724),
    (824, "histogram_fraction", 42.0, 3.1415, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", 0.0),
    (827, "histogram_fraction", 0.0, 0.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", 0.0),
    (830, "histogram_fraction", 1e-06, 1e-06, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", 0.0),
    (833, "histogram_fraction", 42.0, 42.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", 0.0),
    (836, "histogram_fraction", -3.1, -3.1, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", 0.0),
    (839, "histogram_fraction", 3.1415, f64::NAN, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", f64::NAN),
    (842, "histogram_fraction", f64::NAN, 42.0, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", f64::NAN),
    (845, "histogram_fraction", f64::NAN, f64::NAN, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", f64::NAN),
    (848, "histogram_fraction", f64::NEG_INFINITY, f64::INFINITY, "{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}", 1.0),
    (857, "histogram_fraction", 0.0, f64::INFINITY, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", 0.5),
    (860, "histogram_fraction", f64::NEG_INFINITY, 0.0, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", 0.5),
    (863, "histogram_fraction", -0.001, 0.0, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", 0.08333333333333333),
    (866, "histogram_fraction", 0.0, 0.001, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", 0.08333333333333333),
    (869, "histogram_fraction", -0.0005, 0.0005, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", 0.08333333333333333),
    (872, "histogram_fraction", f64::NEG_INFINITY, 0.0005, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", 0.5416666666666666),
    (875, "histogram_quantile", 0.5416666666666666, 0.0, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", 0.0005),
    (878, "histogram_fraction", f64::NEG_INFINITY, -0.0005, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", 0.4583333333333333),
    (881, "histogram_quantile", 0.4583333333333333, 0.0, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", -0.0005),
    (884, "histogram_fraction", 0.001, f64::INFINITY, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", 0.4166666666666667),
    (887, "histogram_fraction", f64::NEG_INFINITY, -0.001, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", 0.4166666666666667),
    (890, "histogram_fraction", 1.0, 2.0, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", 0.125),
    (893, "histogram_fraction", 1.5, 2.0, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", 0.051879687409855414),
    (896, "histogram_fraction", 1.0, 8.0, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", 0.16666666666666666),
    (899, "histogram_fraction", 1.0, 6.0, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", 0.14937343753004825),
    (902, "histogram_fraction", 1.5, 6.0, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", 0.07625312493990366),
    (905, "histogram_fraction", -2.0, -1.0, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", 0.125),
    (908, "histogram_fraction", -2.0, -1.5, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", 0.051879687409855456),
    (911, "histogram_fraction", -8.0, -1.0, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", 0.16666666666666666),
    (914, "histogram_fraction", -6.0, -1.0, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", 0.14937343753004817),
    (917, "histogram_fraction", -6.0, -1.5, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", 0.07625312493990362),
    (920, "histogram_fraction", 42.0, 3.1415, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", 0.0),
    (923, "histogram_fraction", 0.0, 0.0, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", 0.0),
    (926, "histogram_fraction", 1e-06, 1e-06, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", 0.0),
    (929, "histogram_fraction", 42.0, 42.0, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", 0.0),
    (932, "histogram_fraction", -3.1, -3.1, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", 0.0),
    (935, "histogram_fraction", 3.1415, f64::NAN, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", f64::NAN),
    (938, "histogram_fraction", f64::NAN, 42.0, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", f64::NAN),
    (941, "histogram_fraction", f64::NAN, f64::NAN, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", f64::NAN),
    (944, "histogram_fraction", f64::NEG_INFINITY, f64::INFINITY, "{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}", 1.0),
    (1080, "histogram_fraction", 5.0, 10.0, "{{schema:-53 sum:5 count:4 custom_values:[5 10] buckets:[1 2 1]}}", 0.5),
    (1083, "histogram_quantile", 0.5, 0.0, "{{schema:-53 sum:5 count:4 custom_values:[5 10] buckets:[1 2 1]}}", 7.5),
    ];

    #[test]
    fn conformance_cases() {
        for &(line, func, a, b, hist, want) in CONFORMANCE {
            let hist = h(hist);
            let got = match func {
                "histogram_quantile" => histogram_quantile(a, &hist).0,
                "histogram_fraction" => histogram_fraction(a, b, &hist).0,
                "histogram_stddev" => histogram_stddev(&hist),
                "histogram_stdvar" => histogram_stdvar(&hist),
                "histogram_avg" => histogram_avg(&hist),
                other => panic!("unexpected function {other}"),
            };
            assert!(
                close(got, want),
                "native_histograms.test line {line}: {func} got {got}, want {want}"
            );
        }
        assert_eq!(CONFORMANCE.len(), 177);
    }

    #[test]
    fn quantile_bounds_and_special_cases() {
        let single = h("{{schema:0 sum:5 count:4 buckets:[1 2 1]}}");
        assert_eq!(histogram_quantile(-0.1, &single).0, f64::NEG_INFINITY);
        assert_eq!(histogram_quantile(1.1, &single).0, f64::INFINITY);
        assert!(histogram_quantile(f64::NAN, &single).0.is_nan());
        assert!(histogram_quantile(0.5, &h("{{}}")).0.is_nan());
        assert_eq!(histogram_quantile(-0.1, &h("{{}}")).0, f64::NEG_INFINITY);
        // Exponential interpolation: the middle of (1,2] is the square root of 2 — the very double Go
        // prints for this test, one ulp below the correctly rounded one.
        let q = histogram_quantile(0.5, &single);
        assert_eq!(q, (1.414213562373095, NanObservations::None));
        assert_eq!(
            histogram_quantile(0.5, &h("{{schema:0 sum:-5 count:4 n_buckets:[1 2 1]}}")).0,
            -1.414213562373095
        );
        // Bucket boundaries come out exactly.
        assert_eq!(histogram_quantile(0.75, &single).0, 2.0);
        assert_eq!(histogram_quantile(1.0, &single).0, 4.0);
        assert_eq!(histogram_quantile(0.0, &single).0, 0.5);
    }

    #[test]
    fn quantile_with_custom_buckets() {
        let nhcb = h("{{schema:-53 sum:20 count:4 custom_values:[5 10] buckets:[1 2 1]}}");
        // First bucket: interpolation from 0.
        assert_eq!(histogram_quantile(0.1, &nhcb).0, 2.0);
        // Linear in the middle.
        assert_eq!(histogram_quantile(0.5, &nhcb).0, 7.5);
        assert_eq!(histogram_quantile(0.25, &nhcb).0, 5.0);
        // Last bucket: its lower bound.
        assert_eq!(histogram_quantile(0.9, &nhcb).0, 10.0);
        // A first bucket ending at or below zero: its upper bound.
        let negative = h("{{schema:-53 sum:-5 count:2 custom_values:[-2 3] buckets:[2]}}");
        assert_eq!(histogram_quantile(0.5, &negative).0, -2.0);
        assert_eq!(histogram_quantile(0.1, &negative).0, -2.0);
        // Empty buckets are passed over.
        let gap = h("{{schema:-53 sum:20 count:2 custom_values:[1 2 3 4] buckets:[1 0 0 1 0]}}");
        assert_eq!(histogram_quantile(0.75, &gap).0, 3.5);
    }

    #[test]
    fn quantile_with_nan_observations() {
        // native_histograms.test, "histogram_nan".
        let all_nan = h("{{schema:0 count:3 sum:NaN}}");
        let some_nan = h("{{schema:0 count:15 sum:NaN buckets:[12]}}");
        for q in [1.0, 0.8, 0.4] {
            let r = histogram_quantile(q, &all_nan);
            assert!(r.0.is_nan());
            assert_eq!(r.1, NanObservations::ResultNaN);
        }
        for q in [1.0, 0.81] {
            let r = histogram_quantile(q, &some_nan);
            assert!(r.0.is_nan());
            assert_eq!(r.1, NanObservations::ResultNaN);
        }
        let r = histogram_quantile(0.8, &some_nan);
        assert_eq!(r, (1.0, NanObservations::SkewedHigher));
        let r = histogram_quantile(0.4, &some_nan);
        assert!(close(r.0, 0.7071067811865475));
        assert_eq!(r.1, NanObservations::SkewedHigher);

        // Two populated buckets and two NaN observations: Prometheus interpolates in the last bucket
        // of the walk, not the one the rank fell into (hence 2^1.75 rather than 2^0.75).
        let two = h("{{schema:0 count:6 sum:NaN offset:1 buckets:[2 2]}}");
        let r = histogram_quantile(0.25, &two);
        assert!(close(r.0, 3.3635856610148585), "{}", r.0);
        assert_eq!(r.1, NanObservations::SkewedHigher);
        assert!(close(histogram_quantile(0.5, &two).0, 2.82842712474619));
        assert!(histogram_quantile(0.75, &two).0.is_nan());
        // A NaN sum from ±Inf observations (buckets hold the full count) is no NaN observation.
        let infs = h("{{schema:0 count:4 sum:NaN buckets:[1 2 1]}}");
        assert_eq!(histogram_quantile(0.5, &infs).1, NanObservations::None);
        // Without a NaN sum, running out of buckets returns the last upper bound.
        let short = h("{{schema:0 count:10 sum:5 buckets:[1 2 1]}}");
        assert_eq!(histogram_quantile(0.45, &short), (4.0, NanObservations::None));
    }

    #[test]
    fn fraction_with_nan_observations() {
        let all_nan = h("{{schema:0 count:3 sum:NaN}}");
        let some_nan = h("{{schema:0 count:15 sum:NaN buckets:[12]}}");
        let r = histogram_fraction(f64::NEG_INFINITY, 0.7071067811865475, &all_nan);
        assert_eq!(r, (0.0, true));
        let r = histogram_fraction(f64::NEG_INFINITY, 0.7071067811865475, &some_nan);
        assert!(close(r.0, 0.4) && r.1);
        let r = histogram_fraction(f64::NEG_INFINITY, f64::INFINITY, &some_nan);
        assert!(close(r.0, 0.8) && r.1);
        let r = histogram_fraction(0.0, 8.0, &h("{{schema:0 sum:5 count:4 buckets:[1 2 1]}}"));
        assert_eq!(r, (1.0, false));
    }

    #[test]
    fn fraction_with_custom_buckets() {
        let nhcb = h("{{schema:-53 sum:20 count:4 custom_values:[5 10] buckets:[1 2 1]}}");
        assert_eq!(histogram_fraction(f64::NEG_INFINITY, 7.5, &nhcb).0, 0.5);
        assert_eq!(histogram_fraction(0.0, 2.5, &nhcb).0, 0.125);
        assert_eq!(histogram_fraction(f64::NEG_INFINITY, 0.0, &nhcb).0, 0.0);
        assert_eq!(histogram_fraction(10.0, f64::INFINITY, &nhcb).0, 0.25);
        assert_eq!(
            histogram_fraction(12.0, f64::INFINITY, &nhcb).0,
            0.25,
            "nothing is taken from +Inf"
        );
        assert_eq!(histogram_fraction(f64::NEG_INFINITY, f64::INFINITY, &nhcb).0, 1.0);
        // A first bucket below zero reaching to −Inf counts whole; the bucket spanning 0 starts at 0
        // because there are no negative buckets.
        let negative = h("{{schema:-53 sum:0 count:4 custom_values:[-2 3] buckets:[1 2 1]}}");
        assert_eq!(histogram_fraction(-5.0, 0.0, &negative).0, 0.0);
        assert_eq!(histogram_fraction(f64::NEG_INFINITY, -2.0, &negative).0, 0.25);
        assert_eq!(histogram_fraction(-5.0, 1.5, &negative).0, 0.25);
        let empty = h("{{schema:-53 custom_values:[-2 3]}}");
        assert!(histogram_fraction(0.0, 1.0, &empty).0.is_nan());
    }

    #[test]
    fn stdvar_with_custom_buckets() {
        // Midpoints 7.5 and 15 (the (10,20] bucket); mean 10.
        let nhcb = h("{{schema:-53 sum:20 count:2 custom_values:[5 10 20] offset:1 buckets:[1 1]}}");
        assert_eq!(histogram_stdvar(&nhcb), (2.5f64 * 2.5 + 5.0 * 5.0) / 2.0);
        assert_eq!(histogram_stddev(&nhcb), histogram_stdvar(&nhcb).sqrt());
        // The first and last custom buckets sit at ±Inf.
        let edges = h("{{schema:-53 sum:20 count:2 custom_values:[5] buckets:[1 1]}}");
        assert!(histogram_stdvar(&edges).is_nan() || histogram_stdvar(&edges).is_infinite());
        assert!(histogram_stddev(&h("{{}}")).is_nan());
    }

    #[test]
    fn go_math_is_bit_exact() {
        // Go's results; the first ones are also what Prometheus prints in native_histograms.test.
        assert_eq!(go_exp2(0.5), 1.414213562373095);
        assert_eq!(go_exp2(1.5), 2.82842712474619);
        assert_eq!(go_exp2(0.75), 1.6817928305074292);
        assert_eq!(go_exp2(0.25), 1.189207115002721);
        assert_eq!(go_exp2(-0.5), 0.7071067811865475);
        // From Go 1.19 on amd64 (Go's Log2/Exp2 have not changed since); the last one is the edge where
        // the assembly's comparison differs from the Go source.
        assert_eq!(go_log2(1.5), 0.5849625007211563);
        assert_eq!(go_log2(0.75), -0.41503749927884376);
        assert_eq!(go_log2(1.414213562373095), 0.4999999999999999);
        assert_eq!(go_log2(std::f64::consts::FRAC_1_SQRT_2), -0.4999999999999999);
        assert_eq!(go_exp2(std::f64::consts::FRAC_1_SQRT_2), 1.6325269194381529);
        // Powers of two are exact both ways.
        for e in -1022..1024 {
            assert_eq!(go_exp2(f64::from(e)), 2f64.powi(e), "2^{e}");
            assert_eq!(go_log2(2f64.powi(e)), f64::from(e));
        }
        assert_eq!(go_exp2(-1074.0), 5e-324);
        assert_eq!(go_log2(5e-324), -1074.0);
        assert_eq!(go_exp2(1024.0), f64::INFINITY);
        assert_eq!(go_exp2(-1075.0), 0.0);
        assert!(go_log2(-1.0).is_nan());
        assert_eq!(go_log2(0.0), f64::NEG_INFINITY);
        assert_eq!(go_log2(f64::INFINITY), f64::INFINITY);
        // Close to libm elsewhere.
        for i in 1..1000 {
            let x = f64::from(i) * 0.731;
            assert!((go_log2(x) - x.log2()).abs() <= 4.0 * f64::EPSILON * x.log2().abs().max(1.0));
            let y = f64::from(i) * 0.0137 - 7.0;
            assert!((go_exp2(y) - y.exp2()).abs() <= 2.0 * f64::EPSILON * y.exp2());
        }
    }
}
