//! Element-wise functions where Prometheus's result depends on the exact formula or on Go's `math.Min`
//! and `math.Max`, whose NaN and infinity rules differ from Rust's `f64::min`/`f64::max`.

/// Go's `math.Max`: +Inf if either operand is +Inf (even against NaN), else NaN if either is NaN, else
/// the larger, with `max(-0, 0) = 0`. Used by `clamp*` and `max_of`.
pub fn go_max(x: f64, y: f64) -> f64 {
    if x == f64::INFINITY || y == f64::INFINITY {
        return f64::INFINITY;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == 0.0 && x == y {
        return if x.is_sign_negative() { y } else { x };
    }
    if x > y { x } else { y }
}

/// Go's `math.Min`: -Inf if either operand is -Inf (even against NaN), else NaN if either is NaN, else
/// the smaller, with `min(-0, 0) = -0`. Used by `clamp*` and `min_of`.
pub fn go_min(x: f64, y: f64) -> f64 {
    if x == f64::NEG_INFINITY || y == f64::NEG_INFINITY {
        return f64::NEG_INFINITY;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == 0.0 && x == y {
        return if x.is_sign_negative() { x } else { y };
    }
    if x < y { x } else { y }
}

/// `round(v, to_nearest)`: rounds to the nearest multiple of `to_nearest`, ties upwards, computed as
/// Prometheus does through the inverse (`floor(v * (1/to_nearest) + 0.5) / (1/to_nearest)`), which is
/// what makes e.g. `round(x, 0.1)` come out exact more often. `round(v)` is `round(v, 1.0)`.
pub fn round(v: f64, to_nearest: f64) -> f64 {
    let inverse = 1.0 / to_nearest;
    (v * inverse + 0.5).floor() / inverse
}

/// `clamp(v, min, max)` for one element: `max(min, min(max, v))` with Go's NaN rules, so a NaN limit
/// yields NaN. `None` when `max < min`, in which case Prometheus returns an empty vector for the whole
/// call.
pub fn clamp(v: f64, min: f64, max: f64) -> Option<f64> {
    if max < min {
        return None;
    }
    Some(go_max(min, go_min(max, v)))
}

/// `clamp_min(v, min)`: `clamp(v, min, +Inf)`.
pub fn clamp_min(v: f64, min: f64) -> f64 {
    go_max(min, go_min(f64::INFINITY, v))
}

/// `clamp_max(v, max)`: `clamp(v, -Inf, max)`.
pub fn clamp_max(v: f64, max: f64) -> f64 {
    go_max(f64::NEG_INFINITY, go_min(max, v))
}

/// `sgn(v)`: -1 for negative, 1 for positive, and `v` itself for ±0 and NaN.
pub fn sgn(v: f64) -> f64 {
    if v < 0.0 {
        -1.0
    } else if v > 0.0 {
        1.0
    } else {
        v
    }
}

/// `deg(v)`: radians to degrees, multiplying before dividing as Prometheus does.
pub fn deg(v: f64) -> f64 {
    v * 180.0 / std::f64::consts::PI
}

/// `rad(v)`: degrees to radians, multiplying before dividing as Prometheus does.
pub fn rad(v: f64) -> f64 {
    v * std::f64::consts::PI / 180.0
}

#[cfg(test)]
mod tests {
    use super::*;

    const INF: f64 = f64::INFINITY;
    const NINF: f64 = f64::NEG_INFINITY;

    #[test]
    fn go_max_min_special_cases() {
        assert_eq!(go_max(INF, f64::NAN), INF);
        assert_eq!(go_max(f64::NAN, INF), INF);
        assert!(go_max(NINF, f64::NAN).is_nan());
        assert!(go_max(3.0, f64::NAN).is_nan());
        assert_eq!(go_min(NINF, f64::NAN), NINF);
        assert!(go_min(INF, f64::NAN).is_nan());
        assert!(go_min(f64::NAN, 3.0).is_nan());
        assert!(go_max(-0.0, 0.0).is_sign_positive());
        assert!(go_max(0.0, -0.0).is_sign_positive());
        assert!(go_min(-0.0, 0.0).is_sign_negative());
        assert!(go_min(0.0, -0.0).is_sign_negative());
        assert_eq!(go_max(3.0, 5.0), 5.0);
        assert_eq!(go_min(-2.0, -5.0), -5.0);
    }

    #[test]
    fn round_examples() {
        // functions.test: round(2.5)=3, round(-2.5)=-2, round(-2)=-2, round(-0)=0, ±Inf, NaN.
        assert_eq!(round(2.5, 1.0), 3.0);
        assert_eq!(round(2.0, 1.0), 2.0);
        assert_eq!(round(-2.5, 1.0), -2.0);
        assert_eq!(round(-2.0, 1.0), -2.0);
        assert_eq!(round(-0.0, 1.0), 0.0);
        assert_eq!(round(INF, 1.0), INF);
        assert_eq!(round(NINF, 1.0), NINF);
        assert!(round(f64::NAN, 1.0).is_nan());
        assert_eq!(round(1.26, 0.1), 1.3);
        assert_eq!(round(27.0, 5.0), 25.0);
        assert_eq!(round(27.5, 5.0), 30.0);
    }

    #[test]
    fn clamp_examples() {
        assert_eq!(clamp(-50.0, -25.0, 75.0), Some(-25.0));
        assert_eq!(clamp(0.0, -25.0, 75.0), Some(0.0));
        assert_eq!(clamp(100.0, -25.0, 75.0), Some(75.0));
        assert!(clamp(1.0, 0.0, f64::NAN).is_some_and(f64::is_nan));
        assert!(clamp(1.0, f64::NAN, 0.0).is_some_and(f64::is_nan));
        assert_eq!(clamp(1.0, 5.0, -5.0), None);
        assert!(clamp(f64::NAN, 0.0, 1.0).is_some_and(f64::is_nan));
        assert_eq!(clamp_max(100.0, 75.0), 75.0);
        assert_eq!(clamp_max(-50.0, 75.0), -50.0);
        assert_eq!(clamp_min(-50.0, -25.0), -25.0);
        assert_eq!(clamp_min(100.0, -25.0), 100.0);
        assert!(clamp_min(f64::NAN, 5.0).is_nan());
        assert!(clamp_max(f64::NAN, 5.0).is_nan());
    }

    #[test]
    fn sgn_examples() {
        assert_eq!(sgn(NINF), -1.0);
        assert_eq!(sgn(INF), 1.0);
        assert!(sgn(f64::NAN).is_nan());
        assert_eq!(sgn(-50.0), -1.0);
        assert_eq!(sgn(100.0), 1.0);
        assert!(sgn(-0.0).is_sign_negative() && sgn(-0.0) == 0.0);
    }

    #[test]
    fn deg_rad() {
        assert_eq!(deg(std::f64::consts::PI), 180.0);
        assert_eq!(rad(180.0), std::f64::consts::PI);
        assert_eq!(deg(0.0), 0.0);
    }
}
