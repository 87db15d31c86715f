//! Numeric kernels of PromQL's functions and aggregations: pure functions over one series' float samples
//! (or one group's values) that reproduce Prometheus 3's results, including the order of floating-point
//! operations, compensated (Kahan–Neumaier) summation where Prometheus uses it, and Go's `math.Min`/`Max`
//! NaN rules.
//!
//! Conventions:
//! - Samples are one series' float samples inside the range window, sorted by time, stale markers
//!   removed; timestamps are milliseconds, results that are times are seconds.
//! - `Option<f64>` is `None` where Prometheus emits no output element (e.g. too few samples).
//! - Where Go's result is architecture-dependent, amd64 is the reference: no fused multiply-adds, and
//!   float-to-int conversion of NaN/±Inf gives `i64::MIN`.
//! - Validation that produces annotations (quantile outside [0, 1], histogram mixing) stays with the
//!   engine; kernels return the value Prometheus returns alongside the annotation.

mod buckets;
mod date;
mod elementwise;
mod kahan;
pub mod native;
pub mod native_range;
mod natsort;
mod over_time;
mod quantile;
mod rate;
mod regression;

pub use buckets::{
    Bucket, MonotonicityFix, SMALL_DELTA_TOLERANCE, almost_equal, histogram_fraction, histogram_quantile,
    histogram_quantiles, parse_le,
};
pub use date::{
    CivilTime, day_of_month, day_of_week, day_of_year, days_in_month, hour, minute, month, time_part,
    unix_seconds, year,
};
pub use elementwise::{clamp, clamp_max, clamp_min, deg, go_max, go_min, rad, round, sgn};
pub use kahan::{KahanSum, MeanAcc, VarianceAcc, kahan_inc, mean, stddev, stdvar, sum};
pub use natsort::{natural_cmp, natural_less};
pub use over_time::{
    avg_over_time, count_over_time, first_over_time, last_over_time, mad_over_time, max_over_time,
    min_over_time, present_over_time, quantile_over_time, stddev_over_time, stdvar_over_time, sum_over_time,
    ts_of_first_over_time, ts_of_last_over_time, ts_of_max_over_time, ts_of_min_over_time,
};
pub use quantile::quantile;
pub use rate::{
    changes, delta, extended_rate, extrapolated_rate, extrapolated_rate_with_resets, extrapolation_factor,
    idelta, increase, instant_rate, irate, range_seconds, rate, resets,
};
pub use regression::{
    SmoothingFactorError, deriv, double_exponential_smoothing, linear_regression, predict_linear,
};

/// Helpers shared by the kernels' tests.
#[cfg(test)]
mod test_util {
    use model::Sample;

    /// Samples `values[i]` at `start + i * step` milliseconds.
    pub fn series(start: i64, step: i64, values: &[f64]) -> Vec<Sample> {
        values
            .iter()
            .enumerate()
            .map(|(i, &v)| Sample::new(start + i as i64 * step, v))
            .collect()
    }
}
