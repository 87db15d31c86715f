//! The `*_over_time` functions over one series' float samples in a range. Each returns `None` for an
//! empty range (no output element); Prometheus never calls them with one.

use model::Sample;

use super::kahan::{KahanSum, MeanAcc, kahan_inc};
use super::quantile::quantile;

/// `sum_over_time`: the compensated sum.
pub fn sum_over_time(samples: &[Sample]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut sum = KahanSum::new();
    for s in samples {
        sum.add(s.v);
    }
    Some(sum.value())
}

/// `avg_over_time`: the mean as the `avg` aggregation computes it (see [`MeanAcc`]).
pub fn avg_over_time(samples: &[Sample]) -> Option<f64> {
    let (first, rest) = samples.split_first()?;
    let mut mean = MeanAcc::new(first.v);
    for s in rest {
        mean.add(s.v);
    }
    Some(mean.value())
}

/// `count_over_time`: the number of samples.
pub fn count_over_time(samples: &[Sample]) -> Option<f64> {
    if samples.is_empty() {
        None
    } else {
        Some(samples.len() as f64)
    }
}

/// `present_over_time`: 1 if there is any sample.
pub fn present_over_time(samples: &[Sample]) -> Option<f64> {
    if samples.is_empty() { None } else { Some(1.0) }
}

/// `first_over_time`: the oldest value.
pub fn first_over_time(samples: &[Sample]) -> Option<f64> {
    samples.first().map(|s| s.v)
}

/// `last_over_time`: the newest value.
pub fn last_over_time(samples: &[Sample]) -> Option<f64> {
    samples.last().map(|s| s.v)
}

/// `ts_of_first_over_time`: the oldest sample's timestamp in seconds.
pub fn ts_of_first_over_time(samples: &[Sample]) -> Option<f64> {
    samples.first().map(|s| s.t as f64 / 1000.0)
}

/// `ts_of_last_over_time`: the newest sample's timestamp in seconds.
pub fn ts_of_last_over_time(samples: &[Sample]) -> Option<f64> {
    samples.last().map(|s| s.t as f64 / 1000.0)
}

/// The sample that `better(candidate, current)` prefers over all others, scanning oldest first. A NaN
/// current value is always replaced, so NaN only wins when every value is NaN.
fn pick(samples: &[Sample], better: impl Fn(f64, f64) -> bool) -> Option<Sample> {
    let mut best = *samples.first()?;
    for s in samples {
        if better(s.v, best.v) || best.v.is_nan() {
            best = *s;
        }
    }
    Some(best)
}

/// `min_over_time`: the smallest value, ignoring NaN unless all values are NaN.
pub fn min_over_time(samples: &[Sample]) -> Option<f64> {
    pick(samples, |cur, best| cur < best).map(|s| s.v)
}

/// `max_over_time`: the largest value, ignoring NaN unless all values are NaN.
pub fn max_over_time(samples: &[Sample]) -> Option<f64> {
    pick(samples, |cur, best| cur > best).map(|s| s.v)
}

/// `ts_of_min_over_time`: the timestamp in seconds of the minimum; of its last occurrence on ties.
pub fn ts_of_min_over_time(samples: &[Sample]) -> Option<f64> {
    pick(samples, |cur, best| cur <= best).map(|s| s.t as f64 / 1000.0)
}

/// `ts_of_max_over_time`: the timestamp in seconds of the maximum; of its last occurrence on ties.
pub fn ts_of_max_over_time(samples: &[Sample]) -> Option<f64> {
    pick(samples, |cur, best| cur >= best).map(|s| s.t as f64 / 1000.0)
}

/// `stdvar_over_time`: the population variance, by Welford's algorithm with every running sum
/// compensated (unlike the `stdvar` aggregation, see [`VarianceAcc`](super::VarianceAcc)).
pub fn stdvar_over_time(samples: &[Sample]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut count = 0.0;
    let (mut mean, mut c_mean) = (0.0, 0.0);
    let (mut aux, mut c_aux) = (0.0, 0.0);
    for s in samples {
        count += 1.0;
        // Both deviations are taken from the compensated mean, the second after its update.
        let delta = s.v - (mean + c_mean);
        (mean, c_mean) = kahan_inc(delta / count, mean, c_mean);
        (aux, c_aux) = kahan_inc(delta * (s.v - (mean + c_mean)), aux, c_aux);
    }
    Some((aux + c_aux) / count)
}

/// `stddev_over_time`: the square root of [`stdvar_over_time`].
pub fn stddev_over_time(samples: &[Sample]) -> Option<f64> {
    stdvar_over_time(samples).map(f64::sqrt)
}

/// `quantile_over_time(q, ...)`: see [`quantile`](fn@quantile). The engine warns separately when
/// `q` is NaN or outside [0, 1].
pub fn quantile_over_time(q: f64, samples: &[Sample]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut values: Vec<f64> = samples.iter().map(|s| s.v).collect();
    Some(quantile(q, &mut values))
}

/// `mad_over_time`: the median absolute deviation from the median. Any NaN value makes it NaN (Prometheus
/// 3.14 checks this explicitly; sorting NaN first would otherwise give a number).
pub fn mad_over_time(samples: &[Sample]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    if samples.iter().any(|s| s.v.is_nan()) {
        return Some(f64::NAN);
    }
    let mut values: Vec<f64> = samples.iter().map(|s| s.v).collect();
    let median = quantile(0.5, &mut values);
    for v in &mut values {
        *v = (*v - median).abs();
    }
    Some(quantile(0.5, &mut values))
}

#[cfg(test)]
mod tests {
    use super::*;

    const INF: f64 = f64::INFINITY;
    const NINF: f64 = f64::NEG_INFINITY;
    const NAN: f64 = f64::NAN;

    fn at10s(values: &[f64]) -> Vec<Sample> {
        values
            .iter()
            .enumerate()
            .map(|(i, &v)| Sample::new(i as i64 * 10_000, v))
            .collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    fn avg(values: &[f64]) -> f64 {
        avg_over_time(&at10s(values)).unwrap()
    }

    fn sum(values: &[f64]) -> f64 {
        sum_over_time(&at10s(values)).unwrap()
    }

    #[test]
    fn empty_ranges_give_no_output() {
        let e: &[Sample] = &[];
        let all = [
            sum_over_time(e),
            avg_over_time(e),
            count_over_time(e),
            present_over_time(e),
            first_over_time(e),
            last_over_time(e),
            ts_of_first_over_time(e),
            ts_of_last_over_time(e),
            min_over_time(e),
            max_over_time(e),
            ts_of_min_over_time(e),
            ts_of_max_over_time(e),
            stdvar_over_time(e),
            stddev_over_time(e),
            quantile_over_time(0.5, e),
            mad_over_time(e),
        ];
        assert!(all.iter().all(Option::is_none));
    }

    #[test]
    fn avg_and_sum_with_infinities() {
        // functions.test, avg_over_time section.
        assert_eq!(avg(&[1.0, 2.0, 3.0, 4.0, 5.0]), 3.0);
        assert_eq!(avg(&[5.0]), 5.0);
        assert_eq!(avg(&[1.0, 2.0, 3.0, 4.0, INF]), INF);
        assert_eq!(avg(&[1.0, 2.0, 3.0, 4.0, NINF]), NINF);
        assert!(avg(&[1.0, 2.0, 3.0, INF, NINF]).is_nan());
        assert_eq!(avg(&[INF, 0.0, INF]), INF);
        assert!(avg(&[INF, INF, INF, NINF]).is_nan());
        assert_eq!(avg(&[1.0, 2.0, 3.0, NINF, NINF]), NINF);
        assert_eq!(avg(&[NINF, 0.0, NINF]), NINF);
        assert!(avg(&[NINF, NINF, NINF, INF]).is_nan());
        assert!(avg(&[1.0, 2.0, NINF, NINF, INF]).is_nan());
        assert_eq!(sum(&[1.0, 2.0, 3.0, 4.0, INF]), INF);
        assert!(sum(&[1.0, 2.0, 3.0, INF, NINF]).is_nan());
    }

    #[test]
    fn avg_near_overflow() {
        let big = 9.98846567431158e307; // 9.988465674311579e307 in functions.test
        assert_eq!(avg(&[big, big]), big);
        assert_eq!(sum(&[big, big]), INF);
        assert_eq!(avg(&[-big, -big, -big]), -big);
        assert_eq!(sum(&[-big, -big, -big]), NINF);
        assert_eq!(avg(&[-big, big]), 0.0);
        assert_eq!(sum(&[-big, big]), 0.0);
    }

    #[test]
    fn avg_and_sum_nan() {
        assert_eq!(avg(&[1.0, 2.0, 3.0]), 2.0);
        assert!(avg(&[1.0, 2.0, 3.0, NAN]).is_nan());
        assert!(sum(&[1.0, NAN, 3.0]).is_nan());
    }

    #[test]
    fn sum_and_avg_with_cancellation() {
        assert_eq!(sum(&[1.0, 1e100, 1.0, -1e100]), 2.0);
        assert_eq!(avg(&[1.0, 1e100, 1.0, -1e100]), 0.5);
    }

    #[test]
    fn avg_extreme_magnitudes() {
        // functions.test "More tests for extreme values"; expected values are quoted to ~15 digits.
        let rel = |a: f64, b: f64| ((a - b) / b).abs() < 1e-6;
        assert!(rel(
            avg(&[1e10, 1e-6, 1e-6, 1e-6, 1e-6, 1e-6]),
            1.6666666666666675e9
        ));
        let m2 = [
            5.30921651659898,
            0.961118537914768,
            1.62091361305318,
            0.865089463758091,
            0.323055185914577,
            0.951811357687154,
        ];
        assert!(rel(avg(&m2), 1.67186744582113));
        assert!(rel(
            avg(&[1.78264e50, 0.76342771, 1.9592258, 7.69805412, 458.90154]),
            3.56528e49
        ));
        assert!(rel(
            avg(&[0.76342771, 1.9592258, 7.69805412, 1.78264e50, 458.90154]),
            3.56528e49
        ));
        let m5 = [
            1.78264e50, 0.76342771, 1.9592258, 2.258e220, 7.69805412, 458.90154,
        ];
        assert!(rel(avg(&m5), 3.76333333333333e219));
        let m7 = [
            -1.78264e50,
            0.76342771,
            1.9592258,
            -2.258e220,
            7.69805412,
            -458.90154,
        ];
        assert!(rel(avg(&m7), -3.76333333333333e219));
        let m8 = [
            -1.78264e215,
            0.76342771,
            1.9592258,
            2.258e220,
            7.69805412,
            -458.90154,
        ];
        assert!(rel(avg(&m8), 3.76330362266667e219));
        let m9 = [
            -1.78264e215,
            0.76342771,
            1.9592258,
            2.258e220,
            7.69805412,
            1.78264e215,
            -458.90154,
        ];
        assert!(rel(avg(&m9), 3.225714285714286e219));
        let m10 = [
            -1.78264e219,
            0.76342771,
            1.9592258,
            2.3757689e217,
            -2.3757689e217,
            2.258e220,
            7.69805412,
            1.78264e219,
            -458.90154,
        ];
        assert!(rel(avg(&m10), 2.5088888888888888e219));
        // All the large values cancel; Prometheus (like us) gets 0, not the true -44.848083237.
        let m11 = [
            -2.258e220,
            -1.78264e219,
            0.76342771,
            1.9592258,
            2.3757689e217,
            -2.3757689e217,
            2.258e220,
            7.69805412,
            1.78264e219,
            -458.90154,
        ];
        assert_eq!(avg(&m11), 0.0);
    }

    #[test]
    fn dense_sums_are_exact() {
        // `metric 1+0x4000` at 1ms: sum_over_time of n ones is n.
        for n in [1000, 1001, 2003, 3003] {
            assert_eq!(sum(&vec![1.0; n]), n as f64);
        }
        for n in 10..14 {
            let s = at10s(&vec![52.0; n]);
            assert_eq!(avg_over_time(&s), Some(52.0));
        }
    }

    #[test]
    fn stddev_stdvar() {
        let s = at10s(&[0.0, 8.0, 8.0, 2.0, 3.0]);
        assert!(close(stdvar_over_time(&s).unwrap(), 10.56));
        assert!((stddev_over_time(&s).unwrap() - 3.249615).abs() < 1e-6);
        // #4927: equal values give exactly 0.
        let s = at10s(&[1.5990505637277868; 3]);
        assert_eq!(stdvar_over_time(&s), Some(0.0));
        assert_eq!(stddev_over_time(&s), Some(0.0));
        assert_eq!(stdvar_over_time(&at10s(&[1.0])), Some(0.0));
        assert!(stdvar_over_time(&at10s(&[1.0, NAN])).is_some_and(f64::is_nan));
        assert!(stdvar_over_time(&at10s(&[1.0, INF])).is_some_and(f64::is_nan));
    }

    #[test]
    fn min_max_nan_handling() {
        // functions.test, *_over_time section.
        let cases: [(&[f64], f64, f64); 4] = [
            (&[2.0, 0.0, 3.0], 0.0, 3.0),
            (&[2.0, 0.0, NAN], 0.0, 2.0),
            (&[2.0, NAN, 1.0], 1.0, 2.0),
            (&[NAN, 0.0, 1.0], 0.0, 1.0),
        ];
        for (v, min, max) in cases {
            assert_eq!(min_over_time(&at10s(v)), Some(min), "{v:?}");
            assert_eq!(max_over_time(&at10s(v)), Some(max), "{v:?}");
        }
        assert!(min_over_time(&at10s(&[NAN, NAN, NAN])).is_some_and(f64::is_nan));
        assert!(max_over_time(&at10s(&[NAN, NAN, NAN])).is_some_and(f64::is_nan));
        assert_eq!(max_over_time(&at10s(&[NINF, 1.0])), Some(1.0));
        assert_eq!(min_over_time(&at10s(&[INF, NINF])), Some(NINF));
    }

    #[test]
    fn first_last_count_present() {
        let s = at10s(&[2.0, NAN, 1.0]);
        assert_eq!(first_over_time(&s), Some(2.0));
        assert_eq!(last_over_time(&s), Some(1.0));
        assert_eq!(count_over_time(&s), Some(3.0));
        assert_eq!(present_over_time(&s), Some(1.0));
        assert!(last_over_time(&at10s(&[2.0, 0.0, NAN])).is_some_and(f64::is_nan));
    }

    #[test]
    fn timestamps_of() {
        // load 10s53ms: `metric 1 2 3 0 5 6 2 1 4`, window (0s, 90s] at 90s drops the first sample.
        let s: Vec<Sample> = [1.0, 2.0, 3.0, 0.0, 5.0, 6.0, 2.0, 1.0, 4.0]
            .iter()
            .enumerate()
            .map(|(i, &v)| Sample::new(i as i64 * 10_053, v))
            .collect();
        let w = &s[1..];
        assert_eq!(ts_of_min_over_time(w), Some(30.159));
        assert_eq!(ts_of_max_over_time(w), Some(50.265));
        assert_eq!(ts_of_first_over_time(&s[2..5]), Some(20.106));
        assert_eq!(ts_of_last_over_time(&s[..3]), Some(20.106));
        // Ties: the last occurrence.
        let t = at10s(&[1.0, 0.0, 1.0, 0.0]);
        assert_eq!(ts_of_max_over_time(&t), Some(20.0));
        assert_eq!(ts_of_min_over_time(&t), Some(30.0));
        assert_eq!(ts_of_max_over_time(&at10s(&[NAN, 1.0, NAN])), Some(10.0));
    }

    #[test]
    fn quantile_and_mad() {
        assert_eq!(quantile_over_time(0.5, &at10s(&[0.0, 1.0, 4.0])), Some(1.0));
        assert_eq!(quantile_over_time(2.0, &at10s(&[0.0])), Some(INF));
        // functions.test, mad_over_time.
        assert_eq!(
            mad_over_time(&at10s(&[4.0, 6.0, 2.0, 1.0, 999.0, 1.0, 2.0])),
            Some(1.0)
        );
        assert_eq!(mad_over_time(&at10s(&[1.0, 2.0, 3.0, 4.0, 5.0])), Some(1.0));
        assert_eq!(mad_over_time(&at10s(&[7.0; 5])), Some(0.0));
        assert_eq!(mad_over_time(&at10s(&[5.0])), Some(0.0));
        assert!(mad_over_time(&at10s(&[1.0, 2.0, NAN, 4.0])).is_some_and(f64::is_nan));
    }
}
