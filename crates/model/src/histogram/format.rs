//! Text forms of a histogram: Prometheus's `String()` (`{count:5, sum:12, (1,2]:3, ...}`), the
//! promqltest notation written back out (`{{schema:1 count:5 ...}}`), and the Go number formats both
//! use.

use std::fmt::{self, Write as _};

use super::{CounterResetHint, FloatHistogram, Span};

/// `v` as Go's `%g` (and `%v`) prints a float64: the shortest digits that round-trip, in exponent form
/// (`1e+06`, `1.5e-05`) when the decimal exponent is below −4 or at least 6, and `+Inf`, `-Inf`, `NaN`.
pub(crate) fn go_g(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    let sign = if v.is_sign_negative() { "-" } else { "" };
    if v == 0.0 {
        return format!("{sign}0");
    }
    // Rust's `{:e}` yields the same shortest round-trip digits as Go: `d.ddde±x`.
    let sci = format!("{:e}", v.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::from(sign);
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(
            out,
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        );
    } else if exp < 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
        out.push_str(&digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', int_len - digits.len()));
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

/// `v` as Go's `%f` prints it: six decimals, and `+Inf`, `-Inf`, `NaN`.
pub(crate) fn go_f(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        format!("{v:.6}")
    }
}

/// Prometheus's `FloatHistogram.String()`: count and sum, then every non-empty bucket from the lowest
/// to the highest, e.g. `{count:5, sum:12, [-4,-2):1, [-0.001,0.001]:2, (2,4]:2}`.
impl fmt::Display for FloatHistogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{count:{}, sum:{}", go_g(self.count), go_g(self.sum))?;
        for b in self.iter_negative_rev().filter(|b| b.count != 0.0) {
            write!(f, ", {b}")?;
        }
        if self.zero_count != 0.0 && !self.uses_custom_buckets() {
            write!(f, ", {}", self.zero_bucket())?;
        }
        for b in self.iter_positive().filter(|b| b.count != 0.0) {
            write!(f, ", {b}")?;
        }
        f.write_str("}")
    }
}

impl FloatHistogram {
    /// The histogram in promqltest notation (Prometheus's `TestExpression()`), e.g.
    /// `{{schema:1 count:5 sum:12 z_bucket:1 z_bucket_w:0.001 offset:-1 buckets:[1 0 3]}}`. Fields at
    /// their default are left out; each side is first compacted into a single span (empty buckets in
    /// between are written as 0).
    pub fn to_test_notation(&self) -> String {
        let mut h = self.clone();
        h.compact(usize::MAX);
        let mut parts: Vec<String> = Vec::new();
        if h.schema != 0 {
            parts.push(format!("schema:{}", h.schema));
        }
        if h.count != 0.0 {
            parts.push(format!("count:{}", go_g(h.count)));
        }
        if h.sum != 0.0 {
            parts.push(format!("sum:{}", go_g(h.sum)));
        }
        if h.zero_count != 0.0 {
            parts.push(format!("z_bucket:{}", go_g(h.zero_count)));
        }
        if h.zero_threshold != 0.0 {
            parts.push(format!("z_bucket_w:{}", go_g(h.zero_threshold)));
        }
        if h.uses_custom_buckets() {
            parts.push(format!("custom_values:{}", go_list(&h.custom_values)));
        }
        match h.counter_reset_hint {
            CounterResetHint::Unknown => {}
            CounterResetHint::CounterReset => parts.push("counter_reset_hint:reset".to_owned()),
            CounterResetHint::NotCounterReset => parts.push("counter_reset_hint:not_reset".to_owned()),
            CounterResetHint::Gauge => parts.push("counter_reset_hint:gauge".to_owned()),
        }
        push_side(
            &mut parts,
            "buckets",
            "offset",
            &h.positive_spans,
            &h.positive_buckets,
        );
        push_side(
            &mut parts,
            "n_buckets",
            "n_offset",
            &h.negative_spans,
            &h.negative_buckets,
        );
        format!("{{{{{}}}}}", parts.join(" "))
    }
}

fn push_side(parts: &mut Vec<String>, buckets_key: &str, offset_key: &str, spans: &[Span], buckets: &[f64]) {
    // After `compact(usize::MAX)` there is at most one span; Prometheus panics otherwise, here the
    // first span's offset stands for all.
    if let Some(span) = spans.first()
        && span.offset != 0
    {
        parts.push(format!("{offset_key}:{}", span.offset));
    }
    if !buckets.is_empty() {
        parts.push(format!("{buckets_key}:{}", go_list(buckets)));
    }
}

/// A float slice as Go's `%g` prints it: `[1 2.5 +Inf]`.
fn go_list(values: &[f64]) -> String {
    let items: Vec<String> = values.iter().map(|&v| go_g(v)).collect();
    format!("[{}]", items.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::histogram::parse_test_notation;

    #[test]
    fn go_g_matches_go() {
        let cases = [
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (-2.5, "-2.5"),
            (100000.0, "100000"),
            (123456.5, "123456.5"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00012345, "0.00012345"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e100, "1e+100"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (2.8284271247461903, "2.8284271247461903"),
            (0.1 + 0.2, "0.30000000000000004"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
        ];
        for (v, want) in cases {
            assert_eq!(go_g(v), want, "{v:e}");
        }
        assert_eq!(go_f(5.0), "5.000000");
        assert_eq!(go_f(f64::INFINITY), "+Inf");
        assert_eq!(go_f(-1.25e-7), "-0.000000");
    }

    #[test]
    fn display_matches_prometheus_string() {
        // From Prometheus's float_histogram_test.go `TestFloatHistogramString`-style layout.
        let h = parse_test_notation(
            "{{schema:0 count:19 sum:2.7 z_bucket:2 z_bucket_w:0.001 buckets:[1 3 1 2 1 1 1] \
             n_buckets:[1 3 1 2 1 1 1]}}",
        )
        .unwrap();
        assert_eq!(
            h.to_string(),
            "{count:19, sum:2.7, [-64,-32):1, [-32,-16):1, [-16,-8):1, [-8,-4):2, [-4,-2):1, [-2,-1):3, \
             [-1,-0.5):1, [-0.001,0.001]:2, (0.5,1]:1, (1,2]:3, (2,4]:1, (4,8]:2, (8,16]:1, (16,32]:1, \
             (32,64]:1}"
        );
        let nhcb =
            parse_test_notation("{{schema:-53 count:4 sum:5 custom_values:[5 10] buckets:[1 2 1]}}").unwrap();
        assert_eq!(
            nhcb.to_string(),
            "{count:4, sum:5, [-Inf,5]:1, (5,10]:2, (10,+Inf]:1}"
        );
        let sparse = parse_test_notation("{{schema:1 count:3 sum:-1 offset:1 buckets:[1 0 2]}}").unwrap();
        assert_eq!(
            sparse.to_string(),
            "{count:3, sum:-1, (1,1.414213562373095]:1, (2,2.82842712474619]:2}"
        );
    }

    #[test]
    fn test_notation_round_trips() {
        let cases = [
            "{{}}",
            "{{schema:1 count:5 sum:12 z_bucket:1 z_bucket_w:0.001 offset:-1 buckets:[1 0 3]}}",
            "{{count:8 sum:8 counter_reset_hint:not_reset buckets:[2 4 2]}}",
            "{{schema:-53 count:4 sum:5 custom_values:[5 10] buckets:[1 2 1]}}",
            "{{count:NaN sum:+Inf counter_reset_hint:gauge n_offset:2 n_buckets:[1e-05 2]}}",
            "{{schema:-53 custom_values:[5] counter_reset_hint:reset}}",
        ];
        for text in cases {
            let h = parse_test_notation(text).unwrap();
            assert_eq!(h.to_test_notation(), text);
        }
        // Separate spans are joined, gaps written as empty buckets.
        let h = FloatHistogram {
            positive_spans: vec![Span { offset: 1, length: 1 }, Span { offset: 2, length: 2 }],
            positive_buckets: vec![1.0, 2.0, 3.0],
            negative_spans: vec![Span { offset: 0, length: 2 }],
            negative_buckets: vec![0.0, 4.0],
            ..Default::default()
        };
        assert_eq!(
            h.to_test_notation(),
            "{{offset:1 buckets:[1 0 0 2 3] n_offset:1 n_buckets:[4]}}"
        );
    }
}
