//! Trend estimation over a range: `deriv`, `predict_linear` and `double_exponential_smoothing`.

use model::Sample;

use super::kahan::kahan_inc;

/// Least-squares fit of value against time (Prometheus's `linearRegression`): returns the slope per
/// second and the fitted value at `intercept_time` (milliseconds). Times enter as seconds relative to
/// `intercept_time`, which keeps the sums small, and every sum is compensated. A constant series gives
/// slope 0 and its value, or NaN for both if that value is ±Inf. NaN for both without samples.
pub fn linear_regression(samples: &[Sample], intercept_time: i64) -> (f64, f64) {
    let Some(first) = samples.first() else {
        return (f64::NAN, f64::NAN);
    };
    let init_y = first.v;
    let mut const_y = true;
    let mut n = 0.0;
    let (mut sum_x, mut c_x) = (0.0, 0.0);
    let (mut sum_y, mut c_y) = (0.0, 0.0);
    let (mut sum_xy, mut c_xy) = (0.0, 0.0);
    let (mut sum_x2, mut c_x2) = (0.0, 0.0);
    for (i, s) in samples.iter().enumerate() {
        // `!=` is true for NaN, so a NaN anywhere (even the first) ends the constant case.
        if const_y && i > 0 && s.v != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = s.t.wrapping_sub(intercept_time) as f64 / 1e3;
        (sum_x, c_x) = kahan_inc(x, sum_x, c_x);
        (sum_y, c_y) = kahan_inc(s.v, sum_y, c_y);
        (sum_xy, c_xy) = kahan_inc(x * s.v, sum_xy, c_xy);
        (sum_x2, c_x2) = kahan_inc(x * x, sum_x2, c_x2);
    }
    if const_y {
        // The general formula would give NaN or garbage for a flat line; infinity stays undefined.
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    sum_x += c_x;
    sum_y += c_y;
    sum_xy += c_xy;
    sum_x2 += c_x2;

    let cov_xy = sum_xy - sum_x * sum_y / n;
    let var_x = sum_x2 - sum_x * sum_x / n;
    let slope = cov_xy / var_x;
    let intercept = sum_y / n - slope * sum_x / n;
    (slope, intercept)
}

/// `deriv(v[range])`: the per-second slope of the least-squares line, fitted relative to the first
/// sample's time for accuracy. `None` with fewer than two samples.
pub fn deriv(samples: &[Sample]) -> Option<f64> {
    let first = samples.first()?;
    if samples.len() < 2 {
        return None;
    }
    Some(linear_regression(samples, first.t).0)
}

/// `predict_linear(v[range], duration)`: the least-squares line's value `duration_secs` seconds after
/// `eval_time` (the evaluation timestamp in milliseconds, also with an `@` modifier on the selector).
/// `None` with fewer than two samples.
pub fn predict_linear(samples: &[Sample], eval_time: i64, duration_secs: f64) -> Option<f64> {
    if samples.len() < 2 {
        return None;
    }
    let (slope, intercept) = linear_regression(samples, eval_time);
    Some(slope * duration_secs + intercept)
}

/// A factor of `double_exponential_smoothing` outside the open interval (0, 1). Prometheus aborts the
/// query with this message.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum SmoothingFactorError {
    #[error("invalid smoothing factor. Expected: 0 < sf < 1, got: {}", go_percent_f(.0))]
    Smoothing(f64),
    #[error("invalid trend factor. Expected: 0 < tf < 1, got: {}", go_percent_f(.0))]
    Trend(f64),
}

/// Go's `%f`: six decimals, infinities as `+Inf`/`-Inf`.
fn go_percent_f(v: &f64) -> String {
    let v = *v;
    if v == f64::INFINITY {
        "+Inf".to_owned()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else if v.is_nan() {
        "NaN".to_owned()
    } else {
        format!("{v:.6}")
    }
}

/// `double_exponential_smoothing(v[range], sf, tf)` (Holt's linear smoothing, formerly
/// `holt_winters`): the smoothed value at the last sample, with smoothing factor `sf` and trend factor
/// `tf`.
///
/// The factors are checked first, as in Prometheus, even when the series has too few samples: each must
/// be strictly between 0 and 1, else the query fails with the returned error. A NaN factor passes the
/// check (every comparison with it is false) and makes the result NaN. `Ok(None)` with fewer than two
/// samples.
pub fn double_exponential_smoothing(
    samples: &[Sample],
    sf: f64,
    tf: f64,
) -> Result<Option<f64>, SmoothingFactorError> {
    if sf <= 0.0 || sf >= 1.0 {
        return Err(SmoothingFactorError::Smoothing(sf));
    }
    if tf <= 0.0 || tf >= 1.0 {
        return Err(SmoothingFactorError::Trend(tf));
    }
    let [first, second, ..] = samples else {
        return Ok(None);
    };
    let mut s0 = 0.0;
    let mut s1 = first.v;
    let mut trend = second.v - first.v;
    for (i, s) in samples.iter().enumerate().skip(1) {
        let x = sf * s.v;
        // The first step keeps the initial trend (difference of the first two samples).
        if i > 1 {
            trend = tf * (s1 - s0) + (1.0 - tf) * trend;
        }
        let y = (1.0 - sf) * (s1 + trend);
        s0 = s1;
        s1 = x + y;
    }
    Ok(Some(s1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::test_util::series;

    const MIN: i64 = 60_000;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    /// `0+10x4 0+10x5` at 5m (testcounter_reset_middle_total).
    fn reset_middle() -> Vec<Sample> {
        let v = [0.0, 10.0, 20.0, 30.0, 40.0, 0.0, 10.0, 20.0, 30.0, 40.0, 50.0];
        series(0, 5 * MIN, &v)
    }

    #[test]
    fn deriv_examples() {
        // deriv(http_requests_total[50m]) at 50m over 0+80x10, window (0, 50m].
        let s = series(0, 5 * MIN, &(0..=10).map(|i| 80.0 * i as f64).collect::<Vec<_>>());
        assert!(close(deriv(&s[1..]).unwrap(), 0.26666666666666666));
        // deriv(testcounter_reset_middle_total[100m]) at 50m: all 11 samples.
        assert!(close(deriv(&reset_middle()).unwrap(), 0.010606060606060607));
        assert_eq!(deriv(&s[..1]), None);
        assert_eq!(deriv(&[]), None);
    }

    #[test]
    fn deriv_infinite_values() {
        // http_requests_inf: -Inf 0+80x10 Inf -> NaN.
        let mut v = vec![f64::NEG_INFINITY];
        v.extend((0..=10).map(|i| 80.0 * i as f64));
        v.push(f64::INFINITY);
        let s = series(0, 5 * MIN, &v);
        assert!(deriv(&s).is_some_and(f64::is_nan));
        assert!(predict_linear(&s, 100 * MIN, 6000.0).is_some_and(f64::is_nan));
    }

    #[test]
    fn deriv_constant_series() {
        let s = series(0, MIN, &[3.0, 3.0, 3.0]);
        assert_eq!(linear_regression(&s, 0), (0.0, 3.0));
        assert_eq!(deriv(&s), Some(0.0));
        let inf = series(0, MIN, &[f64::INFINITY, f64::INFINITY]);
        assert!(deriv(&inf).is_some_and(f64::is_nan));
        let nan = series(0, MIN, &[f64::NAN, f64::NAN]);
        assert!(deriv(&nan).is_some_and(f64::is_nan));
    }

    #[test]
    fn predict_linear_examples() {
        let s = reset_middle();
        // predict_linear(x[50m], 3600) at 50m: window (0, 50m].
        let v = predict_linear(&s[1..], 50 * MIN, 3600.0).unwrap();
        assert!(close(v, 70.0), "{v}");
        // [55m] @ 3000 holds all samples; the intercept is taken at the evaluation time.
        assert!(close(
            predict_linear(&s, 50 * MIN, 3600.0).unwrap(),
            76.81818181818181
        ));
        assert!(close(
            predict_linear(&s, 10 * MIN, 3600.0).unwrap(),
            51.36363636363637
        ));
        assert!(close(
            predict_linear(&s, 70 * MIN, 3600.0).unwrap(),
            89.54545454545455
        ));
        assert!(close(linear_regression(&s, 0).1, 6.818181818181818));
        assert_eq!(predict_linear(&s[..1], 0, 1.0), None);
    }

    #[test]
    fn predict_linear_through_last_sample() {
        // 0+80x10 over (0, 50m]: the line passes through the last sample exactly.
        let s = series(0, 5 * MIN, &(0..=10).map(|i| 80.0 * i as f64).collect::<Vec<_>>());
        let p = predict_linear(&s[1..], 50 * MIN, 3600.0).unwrap();
        let d = deriv(&s[1..]).unwrap();
        assert!(close(p, 800.0 + d * 3600.0));
    }

    /// `values[i]` at 10s spacing, for double_exponential_smoothing over `[1m]` at 8000s.
    fn des(values: impl Iterator<Item = f64>) -> Option<f64> {
        let s: Vec<Sample> = values
            .enumerate()
            .map(|(i, v)| Sample::new(i as i64 * 10_000, v))
            .collect();
        double_exponential_smoothing(&s, 0.01, 0.1).unwrap()
    }

    #[test]
    fn smoothing_follows_a_linear_trend() {
        // At 8000s the window (7940s, 8000s] holds samples 795..=800 of 0+10x1000 etc.
        for (step, want) in [(10.0, 8000.0), (20.0, 16000.0), (30.0, 24000.0), (40.0, 32000.0)] {
            let v = des((795..=800).map(|i| step * i as f64)).unwrap();
            assert!(close(v, want), "{v} != {want}");
        }
        let v = des((795..=800).map(|i| -20.0 * i as f64)).unwrap();
        assert!(close(v, -16000.0));
    }

    #[test]
    fn smoothing_hand_computed() {
        // y = 1, 3, 4 with sf = tf = 0.5:
        // s1 = 1, b = 2; i=1: s = 0.5*3 + 0.5*(1+2) = 3; i=2: b = 0.5*(3-1) + 0.5*2 = 2,
        // s = 0.5*4 + 0.5*(3+2) = 4.5.
        let s = series(0, 1000, &[1.0, 3.0, 4.0]);
        assert_eq!(double_exponential_smoothing(&s, 0.5, 0.5), Ok(Some(4.5)));
        assert_eq!(double_exponential_smoothing(&s[..2], 0.5, 0.5), Ok(Some(3.0)));
        assert_eq!(double_exponential_smoothing(&s[..1], 0.5, 0.5), Ok(None));
    }

    #[test]
    fn smoothing_factor_validation() {
        let s = series(0, 1000, &[1.0, 2.0]);
        assert_eq!(
            double_exponential_smoothing(&s, 0.0, 0.5),
            Err(SmoothingFactorError::Smoothing(0.0))
        );
        assert_eq!(
            double_exponential_smoothing(&s, 1.0, 0.5),
            Err(SmoothingFactorError::Smoothing(1.0))
        );
        assert_eq!(
            double_exponential_smoothing(&s, 0.5, -1.0),
            Err(SmoothingFactorError::Trend(-1.0))
        );
        // Checked even when there is nothing to smooth.
        assert!(double_exponential_smoothing(&[], 0.5, 2.0).is_err());
        // NaN passes the check.
        assert!(
            double_exponential_smoothing(&s, f64::NAN, 0.5)
                .unwrap()
                .is_some_and(f64::is_nan)
        );
        assert_eq!(
            SmoothingFactorError::Smoothing(1.0).to_string(),
            "invalid smoothing factor. Expected: 0 < sf < 1, got: 1.000000"
        );
        assert_eq!(
            SmoothingFactorError::Trend(f64::INFINITY).to_string(),
            "invalid trend factor. Expected: 0 < tf < 1, got: +Inf"
        );
    }
}
