//! Compensated summation and the running accumulators behind `sum`, `avg`, `stddev` and `stdvar`, both
//! the aggregation operators and their `*_over_time` counterparts.

/// Adds `inc` to `sum` with Neumaier's variant of Kahan compensation and returns the new sum and the new
/// compensation term (Prometheus's `kahansum.Inc`).
#[inline]
pub fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        // Once the running sum has overflowed, the compensation is meaningless; clearing it keeps the
        // final `sum + c` at ±Inf instead of letting `Inf - Inf` turn it into NaN.
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        // Neumaier: when the addend is the larger operand, the low bits lost are the sum's.
        c + ((inc - t) + sum)
    };
    (t, c)
}

/// A compensated running sum: the float `sum` aggregation and `sum_over_time`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct KahanSum {
    sum: f64,
    c: f64,
}

impl KahanSum {
    /// An empty sum (zero).
    pub const fn new() -> Self {
        Self { sum: 0.0, c: 0.0 }
    }

    /// Adds one value.
    #[inline]
    pub fn add(&mut self, v: f64) {
        (self.sum, self.c) = kahan_inc(v, self.sum, self.c);
    }

    /// The compensated total.
    ///
    /// Prometheus starts the aggregation from the first value rather than from zero and skips the
    /// compensation when the sum is infinite; neither changes any result: `0 + x == x` up to the sign of
    /// zero, which the final `+ c` normalises anyway, and the compensation is always zero once the sum
    /// is infinite.
    pub fn value(&self) -> f64 {
        if self.sum.is_infinite() {
            self.sum
        } else {
            self.sum + self.c
        }
    }
}

/// The running mean of the `avg` aggregation and of `avg_over_time` (the two are the same algorithm in
/// Prometheus): a compensated direct sum divided by the count at the end, switching to a compensated
/// incremental mean from the first value that would overflow the sum.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanAcc {
    sum: f64,
    c: f64,
    mean: f64,
    count: f64,
    incremental: bool,
}

impl MeanAcc {
    /// Starts with the first value of the group or range.
    pub fn new(first: f64) -> Self {
        Self {
            sum: first,
            c: 0.0,
            mean: first,
            count: 1.0,
            incremental: false,
        }
    }

    /// Adds the next value.
    pub fn add(&mut self, v: f64) {
        self.count += 1.0;
        if !self.incremental {
            let (sum, c) = kahan_inc(v, self.sum, self.c);
            if !sum.is_infinite() {
                self.sum = sum;
                self.c = c;
                return;
            }
            // The direct sum would overflow (inputs like 1e308 twice still have a finite mean), so
            // from here on the mean is updated incrementally, seeded from the sum so far.
            self.incremental = true;
            self.mean = self.sum / (self.count - 1.0);
            self.c /= self.count - 1.0;
        }
        let q = (self.count - 1.0) / self.count;
        (self.mean, self.c) = kahan_inc(v / self.count, q * self.mean, q * self.c);
    }

    /// The number of values added, including the first.
    pub fn count(&self) -> f64 {
        self.count
    }

    /// The mean of the values added so far.
    pub fn value(&self) -> f64 {
        if self.incremental {
            self.mean + self.c
        } else {
            self.sum / self.count + self.c / self.count
        }
    }
}

/// The running population variance of the `stddev` and `stdvar` aggregation operators: Welford's
/// algorithm without compensation, exactly as the Prometheus engine computes it (unlike
/// `stddev_over_time`, which compensates; see [`stdvar_over_time`](super::stdvar_over_time)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VarianceAcc {
    mean: f64,
    m2: f64,
    count: f64,
}

impl VarianceAcc {
    /// Starts with the first value of the group.
    pub fn new(first: f64) -> Self {
        // Prometheus seeds the sum of squares with NaN for a non-finite first value; otherwise a group
        // whose only member is ±Inf would report a variance of 0.
        let m2 = if first.is_finite() { 0.0 } else { f64::NAN };
        Self {
            mean: first,
            m2,
            count: 1.0,
        }
    }

    /// Adds the next value.
    pub fn add(&mut self, v: f64) {
        self.count += 1.0;
        let delta = v - self.mean;
        self.mean += delta / self.count;
        self.m2 += delta * (v - self.mean);
    }

    /// The population variance (`stdvar`).
    pub fn stdvar(&self) -> f64 {
        self.m2 / self.count
    }

    /// The population standard deviation (`stddev`).
    pub fn stddev(&self) -> f64 {
        (self.m2 / self.count).sqrt()
    }
}

/// The `sum` aggregation over one group's values, in input order (compensated).
pub fn sum(values: &[f64]) -> f64 {
    let mut k = KahanSum::new();
    for &v in values {
        k.add(v);
    }
    k.value()
}

/// The `avg` aggregation over one group's values, in input order (see [`MeanAcc`]); NaN for none.
pub fn mean(values: &[f64]) -> f64 {
    let Some((&first, rest)) = values.split_first() else {
        return f64::NAN;
    };
    let mut m = MeanAcc::new(first);
    for &v in rest {
        m.add(v);
    }
    m.value()
}

/// The `stdvar` aggregation over one group's values, in input order (see [`VarianceAcc`]); NaN for
/// none.
pub fn stdvar(values: &[f64]) -> f64 {
    let Some((&first, rest)) = values.split_first() else {
        return f64::NAN;
    };
    let mut acc = VarianceAcc::new(first);
    for &v in rest {
        acc.add(v);
    }
    acc.stdvar()
}

/// The `stddev` aggregation: the square root of [`stdvar`].
pub fn stddev(values: &[f64]) -> f64 {
    stdvar(values).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kahan_inc_recovers_low_bits() {
        let (s, c) = kahan_inc(1e100, 1.0, 0.0);
        assert_eq!(s, 1e100);
        assert_eq!(c, 1.0);
        let (s, c) = kahan_inc(-1e100, s, c);
        assert_eq!(s, 0.0);
        assert_eq!(s + c, 1.0);
    }

    #[test]
    fn kahan_inc_clears_compensation_on_overflow() {
        let (s, c) = kahan_inc(f64::MAX, f64::MAX, 5.0);
        assert_eq!(s, f64::INFINITY);
        assert_eq!(c, 0.0);
    }

    #[test]
    fn kahan_sum_matches_prometheus_big_small_example() {
        // functions.test: `metric 1 1e100 1 -1e100`, sum_over_time is 2.
        let mut k = KahanSum::new();
        for v in [1.0, 1e100, 1.0, -1e100] {
            k.add(v);
        }
        assert_eq!(k.value(), 2.0);
    }

    #[test]
    fn kahan_sum_infinities() {
        let mut k = KahanSum::new();
        k.add(f64::INFINITY);
        k.add(1.0);
        assert_eq!(k.value(), f64::INFINITY);
        k.add(f64::NEG_INFINITY);
        assert!(k.value().is_nan());
        assert_eq!(KahanSum::new().value(), 0.0);
    }

    #[test]
    fn mean_direct_and_compensated() {
        let mut m = MeanAcc::new(1.0);
        for v in [1e100, 1.0, -1e100] {
            m.add(v);
        }
        assert_eq!(m.value(), 0.5);
        assert_eq!(m.count(), 4.0);
    }

    #[test]
    fn mean_switches_to_incremental_on_overflow() {
        let big = 9.98846567431158e307; // 9.988465674311579e307 in functions.test
        let mut m = MeanAcc::new(big);
        m.add(big);
        assert_eq!(m.value(), big);
        let mut m = MeanAcc::new(-big);
        m.add(-big);
        m.add(-big);
        assert_eq!(m.value(), -big);
    }

    #[test]
    fn mean_of_constant_is_exact() {
        // functions.test: `avg_over_time(foo[130s]) == 52` relies on exactness.
        let mut m = MeanAcc::new(52.0);
        for _ in 0..12 {
            m.add(52.0);
        }
        assert_eq!(m.value(), 52.0);
    }

    #[test]
    fn variance_acc_welford() {
        // aggregators.test: 0+10x10 and friends; here the plain textbook case 1, 2 -> 0.25.
        let mut v = VarianceAcc::new(1.0);
        v.add(2.0);
        assert_eq!(v.stdvar(), 0.25);
        assert_eq!(v.stddev(), 0.5);
        let single = VarianceAcc::new(7.0);
        assert_eq!(single.stdvar(), 0.0);
    }

    #[test]
    fn variance_acc_non_finite() {
        assert!(VarianceAcc::new(f64::NAN).stdvar().is_nan());
        assert!(VarianceAcc::new(f64::INFINITY).stddev().is_nan());
        let mut v = VarianceAcc::new(1.0);
        v.add(f64::NAN);
        assert!(v.stdvar().is_nan());
    }

    #[test]
    fn slice_aggregations() {
        // aggregators.test: http_requests at 50m is 100..800 in steps of 100 (8 series).
        let v: Vec<f64> = (1..=8).map(|i| 100.0 * i as f64).collect();
        assert_eq!(sum(&v), 3600.0);
        assert_eq!(mean(&v), 450.0);
        assert_eq!(stdvar(&v), 52500.0);
        assert!((stddev(&v) - 229.12878474779).abs() < 1e-9);
        assert_eq!(stdvar(&[100.0, 300.0, 500.0, 700.0]), 50000.0);
        assert_eq!(sum(&[]), 0.0);
        assert!(mean(&[]).is_nan());
        assert!(stdvar(&[]).is_nan());
        assert_eq!(stddev(&[1.0, 2.0]), 0.5);
        assert!(stddev(&[1.0, 2.0, f64::NAN]).is_nan());
        assert!(stddev(&[f64::NAN, 1.0, 2.0]).is_nan());
    }

    #[test]
    fn aggregators_test_avg_and_sum() {
        const INF: f64 = f64::INFINITY;
        let big = 9.98846567431158e307;
        assert_eq!(mean(&[0.0, INF, INF, 0.0]), INF);
        assert_eq!(mean(&[INF, 0.0, INF]), INF);
        assert!(mean(&[INF, INF, -INF]).is_nan());
        assert_eq!(mean(&[-INF, -INF, 0.0]), -INF);
        assert!(mean(&[-INF, 0.0, INF]).is_nan());
        assert_eq!(mean(&[big; 4]), big);
        assert_eq!(mean(&[-big; 4]), -big);
        assert!(
            mean(&[-big, -big, big, big]).abs() < 1e300,
            "{}",
            mean(&[-big, -big, big, big])
        );
        assert_eq!(sum(&[2.0, 8.0, 1e100, -1e100]), 10.0);
        assert_eq!(mean(&[2.0, 8.0, 1e100, -1e100]), 2.5);
        assert_eq!(sum(&[INF, 2.0]), INF);
        assert!(sum(&[INF, -INF]).is_nan());
        assert!(sum(&[f64::NAN, 2.0]).is_nan());
    }

    #[test]
    fn variance_acc_equal_values_is_zero() {
        // aggregators.test: three series at 13.3 -> stddev 0 exactly.
        let mut v = VarianceAcc::new(13.3);
        v.add(13.3);
        v.add(13.3);
        assert_eq!(v.stddev(), 0.0);
    }
}
