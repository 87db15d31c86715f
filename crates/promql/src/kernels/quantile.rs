//! The φ-quantile of a set of plain values: the `quantile` aggregation, `quantile_over_time` and the
//! medians of `mad_over_time`.

use std::cmp::Ordering;

use super::elementwise::{go_max, go_min};

/// Orders NaN before every number (Prometheus's value heap treats NaN as the smallest value) and numbers
/// by `<`, so `-0` and `0` tie. Unlike Go's comparator this is a consistent total preorder, which agrees
/// with Go wherever Go's order is defined.
fn nan_first(a: &f64, b: &f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
    }
}

/// The φ-quantile of `values` with linear interpolation between the two closest ranks (Prometheus's
/// `quantile`): NaN for no values or a NaN `q`, -Inf for `q < 0`, +Inf for `q > 1`. Sorts `values` in
/// place, NaNs first.
pub fn quantile(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    values.sort_by(nan_first);
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = go_max(0.0, rank.floor());
    let upper = go_min(n - 1.0, lower + 1.0);
    let weight = rank - rank.floor();
    // Both ranks lie in [0, n-1] because q is in [0, 1]; the product form (rather than a lerp) is what
    // makes an infinite neighbour with weight 0 come out as NaN, as in Prometheus.
    let lo = values.get(lower as usize).copied().unwrap_or(f64::NAN);
    let hi = values.get(upper as usize).copied().unwrap_or(f64::NAN);
    lo * (1.0 - weight) + hi * weight
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(q_: f64, vals: &[f64]) -> f64 {
        let mut v = vals.to_vec();
        quantile(q_, &mut v)
    }

    #[test]
    fn quantile_over_time_examples() {
        // functions.test, quantile_over_time over {0,1}, {0,1,2}, {0,1,4}.
        assert_eq!(q(0.0, &[0.0, 1.0]), 0.0);
        assert_eq!(q(0.5, &[0.0, 1.0]), 0.5);
        assert_eq!(q(0.75, &[0.0, 1.0]), 0.75);
        assert_eq!(q(0.8, &[0.0, 1.0]), 0.8);
        assert_eq!(q(1.0, &[0.0, 1.0]), 1.0);
        assert_eq!(q(0.5, &[0.0, 1.0, 2.0]), 1.0);
        assert_eq!(q(0.75, &[0.0, 1.0, 2.0]), 1.5);
        assert_eq!(q(0.8, &[0.0, 1.0, 2.0]), 1.6);
        assert_eq!(q(0.75, &[0.0, 1.0, 4.0]), 2.5);
        assert!((q(0.8, &[0.0, 1.0, 4.0]) - 2.8).abs() < 1e-12);
        assert_eq!(q(1.0, &[4.0, 0.0, 1.0]), 4.0);
    }

    #[test]
    fn quantile_out_of_range_q() {
        assert_eq!(q(-1.0, &[1.0]), f64::NEG_INFINITY);
        assert_eq!(q(2.0, &[1.0]), f64::INFINITY);
        assert!(q(f64::NAN, &[1.0]).is_nan());
        assert!(q(0.5, &[]).is_nan());
        // An empty input wins over an out-of-range q, as in Prometheus.
        assert!(q(-1.0, &[]).is_nan());
    }

    #[test]
    fn quantile_single_value() {
        assert_eq!(q(0.3, &[7.0]), 7.0);
    }

    #[test]
    fn quantile_sorts_nan_first() {
        let mut v = vec![3.0, f64::NAN, 1.0];
        assert_eq!(quantile(1.0, &mut v), 3.0);
        assert!(v[0].is_nan());
        assert_eq!(&v[1..], &[1.0, 3.0]);
        assert!(q(0.0, &[3.0, f64::NAN, 1.0]).is_nan());
        // Interpolating between NaN and a number gives NaN.
        assert!(q(0.25, &[3.0, f64::NAN, 1.0]).is_nan());
    }

    #[test]
    fn quantile_infinite_neighbour_with_zero_weight_is_nan() {
        // rank 1 exactly: 1*1 + Inf*0 = NaN in Prometheus's formula.
        assert!(q(0.5, &[0.0, 1.0, f64::INFINITY]).is_nan());
        // Even the maximum itself: Inf*1 + Inf*0.
        assert!(q(1.0, &[0.0, f64::INFINITY]).is_nan());
        assert_eq!(q(0.75, &[0.0, f64::INFINITY]), f64::INFINITY);
    }
}
