//! The `{{schema:1 sum:5 count:4 buckets:[1 2 1]}}` notation of Prometheus's promqltest scripts
//! (grammar: `histogram_desc_*` in `promql/parser/generated_parser.y`; building: `buildHistogramFromMap`
//! in `promql/parser/parse.go`), and the comparison promqltest applies to an expected histogram.

use super::{CounterResetHint, FloatHistogram, Span};

/// A histogram read from test notation, with whether it spelled out `counter_reset_hint:` (promqltest
/// only compares the hint of a result when the expectation set one).
#[derive(Debug, Clone, PartialEq)]
pub struct TestHistogram {
    pub histogram: FloatHistogram,
    pub counter_reset_hint_set: bool,
}

/// Parses promqltest histogram notation, with or without the surrounding `{{ }}`.
///
/// Keys (each at most once, separated by whitespace, no space around the `:`): `schema:<int>` (default
/// 0), `sum:`, `count:`, `z_bucket:` (zero count), `z_bucket_w:` (zero threshold), `buckets:[…]` with
/// `offset:<int>`, `n_buckets:[…]` with `n_offset:<int>`, `custom_values:[…]` and
/// `counter_reset_hint:unknown|reset|not_reset|gauge`. A non-empty bucket list becomes one span starting
/// at its offset. Numbers are read as Prometheus's lexer and `strconv` read them: an optional sign,
/// decimal digits with optional fraction and exponent (a leading `0` makes an integer octal), or
/// `Inf`/`NaN` in any case. Nothing is validated beyond the syntax, as in Prometheus.
pub fn parse_test_notation(s: &str) -> Result<FloatHistogram, String> {
    parse_test_notation_full(s).map(|t| t.histogram)
}

/// [`parse_test_notation`], also reporting whether the text set `counter_reset_hint`.
pub fn parse_test_notation_full(s: &str) -> Result<TestHistogram, String> {
    let body = match s.trim().strip_prefix("{{") {
        Some(inner) => inner
            .strip_suffix("}}")
            .ok_or_else(|| format!("histogram {s:?} lacks the closing '}}}}'"))?,
        None => s.trim(),
    };
    let mut p = Parser {
        rest: body,
        desc: Desc::default(),
    };
    p.items()?;
    Ok(p.desc.build())
}

#[derive(Default)]
struct Desc {
    schema: Option<i64>,
    sum: Option<f64>,
    count: Option<f64>,
    zero_count: Option<f64>,
    zero_threshold: Option<f64>,
    custom_values: Option<Vec<f64>>,
    buckets: Option<Vec<f64>>,
    offset: Option<i64>,
    n_buckets: Option<Vec<f64>>,
    n_offset: Option<i64>,
    hint: Option<CounterResetHint>,
}

impl Desc {
    fn build(self) -> TestHistogram {
        let side = |buckets: Option<Vec<f64>>, offset: Option<i64>| {
            let buckets = buckets.unwrap_or_default();
            let spans = if buckets.is_empty() {
                Vec::new()
            } else {
                // Both fit: offsets and lengths were range-checked while parsing.
                vec![Span {
                    offset: offset.unwrap_or(0) as i32,
                    length: buckets.len() as u32,
                }]
            };
            (spans, buckets)
        };
        let (positive_spans, positive_buckets) = side(self.buckets, self.offset);
        let (negative_spans, negative_buckets) = side(self.n_buckets, self.n_offset);
        TestHistogram {
            histogram: FloatHistogram {
                counter_reset_hint: self.hint.unwrap_or_default(),
                schema: self.schema.unwrap_or(0) as i32,
                zero_threshold: self.zero_threshold.unwrap_or(0.0),
                zero_count: self.zero_count.unwrap_or(0.0),
                count: self.count.unwrap_or(0.0),
                sum: self.sum.unwrap_or(0.0),
                positive_spans,
                negative_spans,
                positive_buckets,
                negative_buckets,
                custom_values: self.custom_values.unwrap_or_default(),
            },
            counter_reset_hint_set: self.hint.is_some(),
        }
    }
}

struct Parser<'a> {
    rest: &'a str,
    desc: Desc,
}

fn set<T>(slot: &mut Option<T>, key: &str, value: T) -> Result<(), String> {
    if slot.is_some() {
        return Err(format!("duplicate key \"{key}\" in histogram"));
    }
    *slot = Some(value);
    Ok(())
}

impl Parser<'_> {
    fn items(&mut self) -> Result<(), String> {
        if self.rest.trim().is_empty() {
            return Ok(());
        }
        loop {
            self.item()?;
            let before = self.rest.len();
            self.rest = self.rest.trim_start_matches([' ', '\t']);
            if self.rest.is_empty() {
                return Ok(());
            }
            if self.rest.len() == before {
                return Err(format!(
                    "expected a space between histogram keys, found {:?}",
                    self.rest
                ));
            }
        }
    }

    fn item(&mut self) -> Result<(), String> {
        let key_len = self
            .rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(self.rest.len());
        let key = &self.rest[..key_len];
        self.rest = self.rest[key_len..]
            .strip_prefix(':')
            .ok_or_else(|| format!("expected ':' after histogram key {key:?}"))?;
        match key {
            "schema" => {
                let v = self.int(key, i64::from(i32::MIN), i64::from(i32::MAX))?;
                set(&mut self.desc.schema, key, v)
            }
            "offset" | "n_offset" => {
                let v = self.int(key, i64::from(i32::MIN), i64::from(i32::MAX))?;
                let slot = if key == "offset" {
                    &mut self.desc.offset
                } else {
                    &mut self.desc.n_offset
                };
                set(slot, key, v)
            }
            "sum" | "count" | "z_bucket" | "z_bucket_w" => {
                let v = self.number()?;
                let slot = match key {
                    "sum" => &mut self.desc.sum,
                    "count" => &mut self.desc.count,
                    "z_bucket" => &mut self.desc.zero_count,
                    _ => &mut self.desc.zero_threshold,
                };
                set(slot, key, v)
            }
            "buckets" | "n_buckets" | "custom_values" => {
                let v = self.list()?;
                let slot = match key {
                    "buckets" => &mut self.desc.buckets,
                    "n_buckets" => &mut self.desc.n_buckets,
                    _ => &mut self.desc.custom_values,
                };
                set(slot, key, v)
            }
            "counter_reset_hint" => {
                let len = self
                    .rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(self.rest.len());
                let hint = match &self.rest[..len] {
                    "unknown" => CounterResetHint::Unknown,
                    "reset" => CounterResetHint::CounterReset,
                    "not_reset" => CounterResetHint::NotCounterReset,
                    "gauge" => CounterResetHint::Gauge,
                    other => {
                        return Err(format!(
                            "invalid counter_reset_hint {other:?}, want unknown, reset, not_reset or gauge"
                        ));
                    }
                };
                self.rest = &self.rest[len..];
                set(&mut self.desc.hint, key, hint)
            }
            "" => Err(format!("expected a histogram key, found {:?}", self.rest)),
            other => Err(format!(
                "unknown histogram key {other:?}, want one of schema, sum, count, z_bucket, z_bucket_w, \
                 buckets, offset, n_buckets, n_offset, custom_values, counter_reset_hint"
            )),
        }
    }

    /// An optionally negative decimal integer (the grammar's `int`).
    fn int(&mut self, key: &str, min: i64, max: i64) -> Result<i64, String> {
        let (negative, rest) = match self.rest.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, self.rest),
        };
        let len = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if len == 0 {
            return Err(format!("expected an integer for {key}, found {:?}", self.rest));
        }
        let magnitude: i64 = rest[..len]
            .parse()
            .map_err(|_| format!("integer {:?} for {key} is out of range", &rest[..len]))?;
        let v = if negative { -magnitude } else { magnitude };
        if !(min..=max).contains(&v) {
            return Err(format!("integer {v} for {key} is out of range"));
        }
        self.rest = &rest[len..];
        Ok(v)
    }

    /// `signed_or_unsigned_number`.
    fn number(&mut self) -> Result<f64, String> {
        let (sign, rest) = match self.rest.as_bytes().first() {
            Some(b'-') => (-1.0, &self.rest[1..]),
            Some(b'+') => (1.0, &self.rest[1..]),
            _ => (1.0, self.rest),
        };
        let len = number_token_len(rest);
        if len == 0 {
            return Err(format!("expected a number, found {:?}", self.rest));
        }
        let v = go_number(&rest[..len]).ok_or_else(|| format!("error parsing number {:?}", &rest[..len]))?;
        self.rest = &rest[len..];
        Ok(sign * v)
    }

    /// `[n n …]`: at least one number, separated by whitespace, optionally followed by whitespace.
    fn list(&mut self) -> Result<Vec<f64>, String> {
        self.rest = self
            .rest
            .strip_prefix('[')
            .ok_or_else(|| format!("expected '[', found {:?}", self.rest))?;
        let mut values = Vec::new();
        loop {
            values.push(self.number()?);
            let trimmed = self.rest.trim_start_matches([' ', '\t']);
            if let Some(after) = trimmed.strip_prefix(']') {
                self.rest = after;
                return Ok(values);
            }
            if trimmed.len() == self.rest.len() {
                return Err(format!(
                    "expected a space or ']' in a bucket list, found {:?}",
                    self.rest
                ));
            }
            self.rest = trimmed;
        }
    }
}

/// Length of the number token at the start of `s`: `inf`/`nan` in any case, or digits and `_` with an
/// optional fraction and exponent (Prometheus's lexer; hexadecimal is not allowed in series values).
fn number_token_len(s: &str) -> usize {
    let word = s
        .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .unwrap_or(s.len());
    if matches!(s[..word].to_ascii_lowercase().as_str(), "inf" | "nan") {
        return word;
    }
    let b = s.as_bytes();
    let digits = |mut i: usize| {
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
        i
    };
    let mut i = digits(0);
    if b.get(i) == Some(&b'.') {
        i = digits(i + 1);
    }
    if i > 0 && matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        i = digits(i);
    }
    // A number glued to letters (`1abc`) is not a number token.
    if b.get(i).is_some_and(|c| c.is_ascii_alphanumeric()) {
        return 0;
    }
    i
}

/// What Prometheus's `parser.number` makes of a number token: `strconv.ParseInt(s, 0, 64)` (so `010`
/// is octal 8) and, if that fails, `strconv.ParseFloat`.
fn go_number(token: &str) -> Option<f64> {
    if !underscores_ok(token) {
        return None;
    }
    let plain: String = token.chars().filter(|&c| c != '_').collect();
    if plain.bytes().all(|c| c.is_ascii_digit()) {
        let parsed = if plain.len() > 1 && plain.starts_with('0') {
            i64::from_str_radix(&plain[1..], 8).ok()
        } else {
            plain.parse::<i64>().ok()
        };
        if let Some(n) = parsed {
            return Some(n as f64);
        }
    }
    let lower = plain.to_ascii_lowercase();
    match lower.as_str() {
        "inf" => Some(f64::INFINITY),
        "nan" => Some(f64::NAN),
        _ if lower.contains("inf") || lower.contains("nan") => None,
        _ => lower.parse().ok(),
    }
}

/// Go only accepts `_` between digits.
fn underscores_ok(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().enumerate().all(|(i, &c)| {
        c != b'_' || (i > 0 && b[i - 1].is_ascii_digit() && b.get(i + 1).is_some_and(u8::is_ascii_digit))
    })
}

/// Go's `almost.Equal`: equal within `epsilon` relative to the magnitudes, two NaNs being equal.
pub fn almost_equal(a: f64, b: f64, epsilon: f64) -> bool {
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < f64::MIN_POSITIVE {
        return diff < epsilon * f64::MIN_POSITIVE;
    }
    diff / abs_sum.min(f64::MAX) < epsilon
}

/// promqltest's relative tolerance for sample values.
pub const TEST_EPSILON: f64 = 1e-6;

impl FloatHistogram {
    /// Whether `self` (a query result) passes for `expected` the way promqltest's
    /// `compareNativeHistogram` decides it (Prometheus v3.14): both sides are compacted with
    /// `compact(0)`, then the schema, the zero threshold and — for custom buckets — the custom bounds
    /// must be equal, the count, sum, zero count and every bucket equal within a relative 1e-6
    /// ([`TEST_EPSILON`], NaN matching NaN), and the span layouts the same once zero-length spans are
    /// ignored. The counter-reset hint is not compared; see
    /// [`FloatHistogram::matches_expected_with_hint`].
    pub fn matches_expected(&self, expected: &FloatHistogram) -> bool {
        let mut exp = expected.clone();
        exp.compact(0);
        let mut cur = self.clone();
        cur.compact(0);
        exp.schema == cur.schema
            && almost_equal(exp.count, cur.count, TEST_EPSILON)
            && almost_equal(exp.sum, cur.sum, TEST_EPSILON)
            && (!exp.uses_custom_buckets() || custom_bounds_match(&exp.custom_values, &cur.custom_values))
            && exp.zero_threshold == cur.zero_threshold
            && almost_equal(exp.zero_count, cur.zero_count, TEST_EPSILON)
            && spans_match(&exp.negative_spans, &cur.negative_spans)
            && buckets_almost_match(&exp.negative_buckets, &cur.negative_buckets)
            && spans_match(&exp.positive_spans, &cur.positive_spans)
            && buckets_almost_match(&exp.positive_buckets, &cur.positive_buckets)
    }

    /// [`FloatHistogram::matches_expected`], and, if the expectation spelled out `counter_reset_hint:`
    /// (`hint_set`, from [`parse_test_notation_full`]), equal counter-reset hints — as promqltest does
    /// since it records whether a hint was written.
    pub fn matches_expected_with_hint(&self, expected: &FloatHistogram, hint_set: bool) -> bool {
        (!hint_set || self.counter_reset_hint == expected.counter_reset_hint)
            && self.matches_expected(expected)
    }
}

fn buckets_almost_match(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(&x, &y)| almost_equal(x, y, TEST_EPSILON))
}

/// Prometheus's `CustomBucketBoundsMatch`: same length, pairwise `==`.
pub(crate) fn custom_bounds_match(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// Whether two span lists describe the same bucket layout, zero-length spans aside (their offsets are
/// carried into the next span): Prometheus's `spansMatch`.
pub(crate) fn spans_match(s1: &[Span], s2: &[Span]) -> bool {
    if s1.is_empty() && s2.is_empty() {
        return true;
    }
    let (mut i1, mut i2) = (0, 0);
    loop {
        if i1 >= s1.len() {
            return all_empty(&s2[i2..]);
        }
        if i2 >= s2.len() {
            return all_empty(&s1[i1..]);
        }
        let mut a = s1[i1];
        let mut b = s2[i2];
        i1 += 1;
        i2 += 1;
        if a.length == 0 {
            (a, i1) = skip_empty(s1, a, i1);
        }
        if b.length == 0 {
            (b, i2) = skip_empty(s2, b, i2);
        }
        if a.length == 0 && b.length == 0 {
            return true;
        }
        if a.offset != b.offset || a.length != b.length {
            return false;
        }
    }
}

/// Folds the zero-length spans following `current` (itself zero-length) and the next non-empty span
/// into one span.
fn skip_empty(spans: &[Span], mut current: Span, mut i: usize) -> (Span, usize) {
    while i < spans.len() && spans[i].length == 0 {
        current.offset = current.offset.wrapping_add(spans[i].offset);
        i += 1;
    }
    if i < spans.len() {
        current.offset = current.offset.wrapping_add(spans[i].offset);
        current.length = spans[i].length;
        i += 1;
    }
    (current, i)
}

fn all_empty(spans: &[Span]) -> bool {
    spans.iter().all(|s| s.length == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(offset: i32, length: u32) -> Span {
        Span { offset, length }
    }

    #[test]
    fn parses_every_key() {
        let t = parse_test_notation_full(
            "{{schema:-2 sum:-1.5e3 count:+4 z_bucket:1 z_bucket_w:0.001 buckets:[1 2.5 -3] offset:-2 \
             n_buckets:[4] n_offset:3 counter_reset_hint:gauge}}",
        )
        .unwrap();
        let h = &t.histogram;
        assert!(t.counter_reset_hint_set);
        assert_eq!(h.schema, -2);
        assert_eq!(h.sum, -1500.0);
        assert_eq!(h.count, 4.0);
        assert_eq!((h.zero_count, h.zero_threshold), (1.0, 0.001));
        assert_eq!(h.positive_spans, vec![span(-2, 3)]);
        assert_eq!(h.positive_buckets, vec![1.0, 2.5, -3.0]);
        assert_eq!(h.negative_spans, vec![span(3, 1)]);
        assert_eq!(h.negative_buckets, vec![4.0]);
        assert_eq!(h.counter_reset_hint, CounterResetHint::Gauge);

        let h = parse_test_notation("schema:-53 custom_values:[5 10] buckets:[1 2 1] ").unwrap();
        assert_eq!(h.custom_values, vec![5.0, 10.0]);
        assert!(h.uses_custom_buckets());

        // Defaults.
        let t = parse_test_notation_full("{{}}").unwrap();
        assert_eq!(t.histogram, FloatHistogram::default());
        assert!(!t.counter_reset_hint_set);
        assert_eq!(parse_test_notation("{{ }}").unwrap(), FloatHistogram::default());
        assert!(
            parse_test_notation_full("{{counter_reset_hint:unknown}}")
                .unwrap()
                .counter_reset_hint_set
        );
        // An offset without buckets makes no span.
        assert!(
            parse_test_notation("{{offset:3}}")
                .unwrap()
                .positive_spans
                .is_empty()
        );
    }

    #[test]
    fn parses_numbers_like_go() {
        let h = |s: &str| parse_test_notation(&format!("{{{{sum:{s}}}}}")).map(|h| h.sum);
        assert_eq!(h("Inf"), Ok(f64::INFINITY));
        assert_eq!(h("-inf"), Ok(f64::NEG_INFINITY));
        assert!(h("NaN").unwrap().is_nan());
        assert_eq!(h("1e100"), Ok(1e100));
        assert_eq!(h("1.7976931348623157e+308"), Ok(f64::MAX));
        assert_eq!(h(".5"), Ok(0.5));
        assert_eq!(h("5."), Ok(5.0));
        assert_eq!(h("010"), Ok(8.0), "octal, as Go's ParseInt with base 0");
        assert_eq!(h("08"), Ok(8.0), "not octal, so ParseFloat");
        assert_eq!(h("1_000"), Ok(1000.0));
        assert_eq!(h("99999999999999999999"), Ok(1e20));
        assert!(h("1__0").is_err());
        assert!(h("1e").is_err());
        assert!(h("abc").is_err());
        assert!(h("0x10").is_err(), "no hexadecimal in series values");
        assert!(h("infinity").is_err());
    }

    #[test]
    fn rejects_malformed_notation() {
        for bad in [
            "{{sum:1 sum:2}}",
            "{{sum: 1}}",
            "{{sum :1}}",
            "{{buckets:[]}}",
            "{{buckets:[ 1]}}",
            "{{buckets:[1,2]}}",
            "{{buckets:[1 2}}",
            "{{schema:1.5}}",
            "{{schema:+1}}",
            "{{offset:99999999999}}",
            "{{counter_reset_hint:maybe}}",
            "{{bogus:1}}",
            "{{sum:1}",
            "{{sum:1count:2}}",
            "{{ sum:1}}",
        ] {
            assert!(parse_test_notation(bad).is_err(), "{bad} should fail");
        }
        assert_eq!(
            parse_test_notation("{{sum:1 sum:2}}").unwrap_err(),
            "duplicate key \"sum\" in histogram"
        );
        // A trailing space before the braces and inside a list is fine.
        assert!(parse_test_notation("{{buckets:[1 2 ] }}").is_ok());
    }

    #[test]
    fn spans_match_ignores_zero_length_spans() {
        assert!(spans_match(&[], &[]));
        assert!(spans_match(&[span(1, 2)], &[span(1, 2), span(3, 0)]));
        assert!(spans_match(&[span(0, 0), span(1, 2)], &[span(1, 2)]));
        assert!(spans_match(&[span(1, 0), span(2, 0), span(1, 2)], &[span(4, 2)]));
        assert!(!spans_match(&[span(0, 2), span(0, 1)], &[span(0, 3)]));
        assert!(!spans_match(&[span(1, 2)], &[span(2, 2)]));
        assert!(!spans_match(&[span(1, 2)], &[]));
    }

    #[test]
    fn expected_histogram_comparison() {
        let exp = parse_test_notation("{{schema:0 count:4 sum:5 buckets:[1 0 2 1]}}").unwrap();
        // Same after compaction, within tolerance.
        let cur = FloatHistogram {
            count: 4.000_000_1,
            sum: 5.0,
            positive_spans: vec![span(0, 1), span(1, 2)],
            positive_buckets: vec![1.0, 2.0, 1.000_000_1],
            ..Default::default()
        };
        assert!(cur.matches_expected(&exp));
        assert!(
            !FloatHistogram {
                count: 4.1,
                ..cur.clone()
            }
            .matches_expected(&exp)
        );
        assert!(
            !FloatHistogram {
                zero_threshold: 1e-9,
                ..cur.clone()
            }
            .matches_expected(&exp)
        );
        assert!(
            !FloatHistogram {
                schema: 1,
                ..cur.clone()
            }
            .matches_expected(&exp)
        );

        // The hint counts only when the expectation set it.
        let gauge =
            parse_test_notation_full("{{count:4 sum:5 counter_reset_hint:gauge buckets:[1 0 2 1]}}").unwrap();
        assert!(cur.matches_expected(&gauge.histogram));
        assert!(!cur.matches_expected_with_hint(&gauge.histogram, gauge.counter_reset_hint_set));
        let cur_gauge = FloatHistogram {
            counter_reset_hint: CounterResetHint::Gauge,
            ..cur.clone()
        };
        assert!(cur_gauge.matches_expected_with_hint(&gauge.histogram, true));
        assert!(cur_gauge.matches_expected_with_hint(&exp, false));

        // Custom bounds must match exactly; NaN matches NaN.
        let nhcb =
            parse_test_notation("{{schema:-53 sum:NaN count:1 custom_values:[5] buckets:[1]}}").unwrap();
        assert!(nhcb.matches_expected(&nhcb.clone()));
        let other = FloatHistogram {
            custom_values: vec![6.0],
            ..nhcb.clone()
        };
        assert!(!other.matches_expected(&nhcb));

        // An all-empty bucket list compacts away.
        let zeros = parse_test_notation("{{buckets:[0 0 0]}}").unwrap();
        assert!(FloatHistogram::default().matches_expected(&zeros));
    }
}
