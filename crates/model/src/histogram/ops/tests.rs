//! Cases mostly taken from Prometheus's `native_histograms.test` (v3.14), where the expected results
//! were computed by Prometheus, plus hand-computed edge cases.

use super::*;
use crate::histogram::parse_test_notation as h;

fn span(offset: i32, length: u32) -> Span {
    Span { offset, length }
}

#[track_caller]
fn assert_matches(got: &FloatHistogram, want: &str) {
    let want = h(want).unwrap();
    assert!(
        got.matches_expected(&want),
        "got {} want {}",
        got.to_test_notation(),
        want.to_test_notation()
    );
}

#[test]
fn mul_and_div_scale_everything() {
    let base =
        h("{{schema:0 count:30 sum:33 z_bucket:3 z_bucket_w:0.001 buckets:[3 3 3] n_buckets:[6 6 6]}}")
            .unwrap();
    let mut x = base.clone();
    x.mul(3.0);
    assert_matches(
        &x,
        "{{schema:0 count:90 sum:99 z_bucket:9 z_bucket_w:0.001 buckets:[9 9 9] n_buckets:[18 18 18]}}",
    );
    assert_eq!(x.counter_reset_hint, CounterResetHint::Unknown);

    let mut x = base.clone();
    x.mul(-1.0);
    assert_matches(
        &x,
        "{{count:-30 sum:-33 z_bucket:-3 z_bucket_w:0.001 buckets:[-3 -3 -3] n_buckets:[-6 -6 -6]}}",
    );
    assert_eq!(x.counter_reset_hint, CounterResetHint::Gauge);

    let mut x = base.clone();
    x.mul(0.0);
    assert_matches(
        &x,
        "{{schema:0 count:0 sum:0 z_bucket:0 z_bucket_w:0.001 buckets:[0 0 0] n_buckets:[0 0 0]}}",
    );

    let mut x = base.clone();
    x.div(-3.0);
    assert_matches(
        &x,
        "{{count:-10 sum:-11 z_bucket:-1 z_bucket_w:0.001 buckets:[-1 -1 -1] n_buckets:[-2 -2 -2]}}",
    );
    assert_eq!(x.counter_reset_hint, CounterResetHint::Gauge);

    // Division by zero drops the buckets.
    let mut x = base.clone();
    x.div(0.0);
    assert_eq!(
        x.to_test_notation(),
        "{{count:+Inf sum:+Inf z_bucket:+Inf z_bucket_w:0.001}}"
    );
    assert!(x.positive_spans.is_empty() && x.negative_buckets.is_empty());
    let mut x = base;
    x.mul(0.0);
    x.div(0.0);
    assert_matches(&x, "{{schema:0 count:NaN sum:NaN z_bucket_w:0.001 z_bucket:NaN}}");
}

#[test]
fn add_reduces_to_the_lower_schema() {
    // native_histograms.test: sum(histogram_sum); these are idx 0 and idx 3.
    let mut a = h("{{schema:0 count:25 sum:3.1 z_bucket:4 z_bucket_w:0.001 buckets:[1 2 0 1 1] n_buckets:[2 4 0 0 1 9]}}")
        .unwrap();
    let b = h("{{schema:1 count:0 sum:1.3 z_bucket:3 z_bucket_w:0.001 buckets:[2 4 2 3 2 2] n_buckets:[1 2 5 3 8 1 1 1 1 6 3]}}")
        .unwrap();
    let outcome = a.add(&b).unwrap();
    assert_eq!(outcome, AddOutcome::default());
    assert_matches(
        &a,
        "{{schema:0 count:25 sum:4.4 z_bucket:7 z_bucket_w:0.001 buckets:[3 8 5 3 1] n_buckets:[3 11 11 2 3 18]}}",
    );

    // The other way round: the receiver's resolution is reduced.
    let mut b2 = b.clone();
    b2.add(&h("{{schema:0 count:25 sum:3.1 z_bucket:4 z_bucket_w:0.001 buckets:[1 2 0 1 1] n_buckets:[2 4 0 0 1 9]}}").unwrap())
        .unwrap();
    assert_eq!(b2.schema, 0);
    assert!(b2.matches_expected(&a));

    // And all four of the test's histograms.
    let c = h("{{schema:0 count:41 sum:1e100 z_bucket:5 z_bucket_w:0.001 buckets:[1 3 1 2 1 1 1] n_buckets:[0 1 4 2 7 0 0 0 0 5 5 2]}}")
        .unwrap();
    a.add(&c).unwrap();
    a.add(&c).unwrap();
    a.sum = 4.4; // Prometheus sums with Kahan compensation; plain addition loses the 4.4 here.
    assert_matches(
        &a,
        "{{schema:0 count:107 sum:4.4 z_bucket:17 z_bucket_w:0.001 buckets:[5 14 7 7 3 2 2] \
         n_buckets:[3 13 19 6 17 18 0 0 0 10 10 4]}}",
    );
}

#[test]
fn add_inserts_buckets_like_prometheus() {
    // The span layouts Prometheus's addBuckets produces (it does not compact).
    let mut a = FloatHistogram {
        count: 3.0,
        positive_spans: vec![span(2, 1), span(3, 1)],
        positive_buckets: vec![1.0, 2.0],
        ..Default::default()
    };
    let b = FloatHistogram {
        count: 6.0,
        positive_spans: vec![span(0, 1), span(0, 1), span(1, 1), span(2, 1), span(5, 1)],
        positive_buckets: vec![1.0, 1.0, 1.0, 1.0, 2.0],
        ..Default::default()
    };
    // B has buckets 0, 1, 3, 6 and 12; A has 2 and 6.
    a.add(&b).unwrap();
    let idx: Vec<_> = a.iter_positive().map(|b| (b.index, b.count)).collect();
    assert_eq!(
        idx,
        vec![(0, 1.0), (1, 1.0), (2, 1.0), (3, 1.0), (6, 3.0), (12, 2.0)]
    );
    assert_eq!(
        a.positive_spans,
        vec![span(0, 2), span(0, 2), span(2, 1), span(5, 1)]
    );
    assert_eq!(a.count, 9.0);

    // Subtracting it again leaves empty buckets until compacted.
    a.sub(&b).unwrap();
    a.compact(0);
    assert_eq!(a.positive_spans, vec![span(2, 1), span(3, 1)]);
    assert_eq!(a.positive_buckets, vec![1.0, 2.0]);
    assert_eq!(a.count, 3.0);
}

#[test]
fn add_widens_the_zero_bucket() {
    let mut a = h("{{count:2 z_bucket:1 z_bucket_w:0.001 buckets:[1]}}").unwrap();
    let b = h("{{count:5 z_bucket:2 z_bucket_w:0.6 offset:1 buckets:[3]}}").unwrap();
    // 0.6 falls into a's populated bucket (0.5,1], so the common threshold becomes 1.
    a.add(&b).unwrap();
    assert_eq!(a.zero_threshold, 1.0);
    assert_eq!(a.zero_count, 4.0);
    assert_eq!(a.positive_spans, vec![span(1, 1)]);
    assert_eq!(a.positive_buckets, vec![3.0]);
    assert_eq!(a.count, 7.0);

    // The other histogram's buckets inside the wider zero bucket are merged into the zero count.
    let mut a = h("{{count:10 z_bucket:1 z_bucket_w:2 offset:2 buckets:[9]}}").unwrap();
    let b = h("{{count:6 z_bucket:1 z_bucket_w:0.001 offset:-1 buckets:[1 1 1] n_buckets:[2]}}").unwrap();
    a.add(&b).unwrap();
    assert_eq!((a.zero_threshold, a.zero_count, a.count), (2.0, 7.0, 16.0));
    assert_eq!(a.positive_buckets, vec![9.0]);
    assert!(a.negative_buckets.is_empty());
}

#[test]
fn add_hint_rules() {
    use CounterResetHint::*;
    let cases = [
        (Unknown, Unknown, Unknown, false),
        (Gauge, CounterReset, Gauge, false),
        (NotCounterReset, Gauge, Gauge, false),
        (Unknown, NotCounterReset, Unknown, false),
        (NotCounterReset, Unknown, Unknown, false),
        (NotCounterReset, NotCounterReset, NotCounterReset, false),
        (CounterReset, NotCounterReset, Unknown, true),
        (NotCounterReset, CounterReset, Unknown, true),
    ];
    for (mine, theirs, want, collision) in cases {
        let mut a = FloatHistogram {
            counter_reset_hint: mine,
            ..Default::default()
        };
        let b = FloatHistogram {
            counter_reset_hint: theirs,
            ..Default::default()
        };
        let outcome = a.add(&b).unwrap();
        assert_eq!(a.counter_reset_hint, want, "{mine:?} + {theirs:?}");
        assert_eq!(outcome.counter_reset_collision, collision);
        let mut a = FloatHistogram {
            counter_reset_hint: mine,
            ..Default::default()
        };
        assert_eq!(a.sub(&b).unwrap().counter_reset_collision, collision);
        assert_eq!(a.counter_reset_hint, want);
    }
}

#[test]
fn custom_buckets_add_and_reconcile() {
    let mut a = h("{{schema:-53 sum:1 count:1 custom_values:[5 10] buckets:[1 2 1]}}").unwrap();
    let b = h("{{schema:-53 sum:2 count:3 custom_values:[5 10] offset:1 buckets:[3]}}").unwrap();
    assert_eq!(a.add(&b).unwrap(), AddOutcome::default());
    assert_matches(
        &a,
        "{{schema:-53 sum:3 count:4 custom_values:[5 10] buckets:[1 5 1]}}",
    );

    // native_histograms.test: metric{series="2"} + ignoring(series) metric{series="3"}.
    let mut a = h("{{schema:-53 sum:1 count:1 custom_values:[10] buckets:[1]}}").unwrap();
    let b = h("{{schema:-53 sum:1 count:1 custom_values:[2 10] buckets:[1]}}").unwrap();
    let outcome = a.add(&b).unwrap();
    assert!(outcome.custom_buckets_reconciled);
    assert!(!outcome.counter_reset_collision);
    assert_matches(&a, "{{schema:-53 count:2 sum:2 custom_values:[10] buckets:[2]}}");

    let mut a = h("{{schema:-53 sum:1 count:1 custom_values:[5] buckets:[1]}}").unwrap();
    let b = h("{{schema:-53 sum:1 count:1 custom_values:[5 10] buckets:[1]}}").unwrap();
    assert!(a.clone().add(&b).unwrap().custom_buckets_reconciled);
    assert!(a.sub(&b).unwrap().custom_buckets_reconciled);
    assert_matches(&a, "{{schema:-53 custom_values:[5]}}");

    // irate(nhcb_add_buckets[2m]) * 60: the later sample minus the earlier, onto [2 4 6].
    let mut last = h("{{schema:-53 sum:555 count:450 custom_values:[1 2 3 4 5 6 7 8] buckets:[10 20 30 40 50 60 70 80 90]}}")
        .unwrap();
    let prev = h("{{schema:-53 sum:55 count:15 custom_values:[2 4 6] buckets:[1 2 5 7]}}").unwrap();
    assert!(last.sub(&prev).unwrap().custom_buckets_reconciled);
    assert_matches(
        &last,
        "{{schema:-53 sum:500 count:435 custom_values:[2 4 6] buckets:[29 68 105 233]}}",
    );

    // irate(nhcb_remove_buckets[2m]) * 60.
    let mut last =
        h("{{schema:-53 sum:5560 count:1000 custom_values:[3 5 7] buckets:[100 200 300 400]}}").unwrap();
    let prev =
        h("{{schema:-53 sum:55 count:45 custom_values:[1 2 3 4 5 6 7 8] buckets:[1 2 3 4 5 6 7 8 9]}}")
            .unwrap();
    last.sub(&prev).unwrap();
    assert_matches(
        &last,
        "{{schema:-53 sum:5505 count:955 custom_values:[3 5 7] buckets:[94 191 287 383]}}",
    );

    // No shared bound: everything lands in the +Inf bucket.
    let mut a = h("{{schema:-53 count:1 custom_values:[1] buckets:[1]}}").unwrap();
    a.add(&h("{{schema:-53 count:2 custom_values:[2] offset:1 buckets:[2]}}").unwrap())
        .unwrap();
    assert!(a.custom_values.is_empty());
    assert_eq!(
        (a.positive_spans.clone(), a.positive_buckets.clone()),
        (vec![span(0, 1)], vec![3.0])
    );
}

#[test]
fn mixing_exponential_and_custom_buckets_fails() {
    let mut a = h("{{schema:0 count:1 buckets:[1]}}").unwrap();
    let b = h("{{schema:-53 count:1 custom_values:[1] buckets:[1]}}").unwrap();
    let err = a.add(&b).unwrap_err();
    assert_eq!(err, HistogramError::IncompatibleSchema);
    assert_eq!(
        err.to_string(),
        "cannot apply this operation on histograms with a mix of exponential and custom bucket schemas"
    );
    assert_eq!(
        a,
        h("{{schema:0 count:1 buckets:[1]}}").unwrap(),
        "unchanged on error"
    );
    assert!(a.sub(&b).is_err());

    // Inconsistent layouts are refused rather than panicking.
    let broken = FloatHistogram {
        positive_spans: vec![span(0, 3)],
        positive_buckets: vec![1.0],
        ..Default::default()
    };
    assert_eq!(
        a.add(&broken).unwrap_err().to_string(),
        "positive side: spans need 3 buckets, have 1 buckets: histogram spans specify different number of buckets than provided"
    );
}

#[test]
fn reduce_resolution_merges_buckets() {
    let mut x = h("{{schema:1 count:10 offset:-1 buckets:[1 2 3 4] n_offset:4 n_buckets:[5]}}").unwrap();
    x.reduce_resolution(0).unwrap();
    // Schema-1 indices -1, 0, 1, 2 map to schema-0 indices 0, 0, 1, 1; negative 4 maps to 2.
    assert_eq!(x.schema, 0);
    assert_eq!(x.positive_spans, vec![span(0, 2)]);
    assert_eq!(x.positive_buckets, vec![3.0, 7.0]);
    assert_eq!(x.negative_spans, vec![span(2, 1)]);
    x.reduce_resolution(-2).unwrap();
    // Schema-0 indices 0 and 1 are schema-(-2) indices 0 and 1: (1/16, 1] and (1, 16].
    assert_eq!(x.positive_buckets, vec![3.0, 7.0]);
    assert_eq!(x.positive_spans, vec![span(0, 2)]);

    let err = x.clone().reduce_resolution(-2).unwrap_err();
    assert_eq!(err.to_string(), "cannot reduce resolution from schema -2 to -2");
    let mut nhcb = h("{{schema:-53 custom_values:[1]}}").unwrap();
    assert_eq!(
        nhcb.reduce_resolution(0),
        Err(HistogramError::ReduceCustomBuckets)
    );
    assert_eq!(
        x.reduce_resolution(CUSTOM_BUCKETS_SCHEMA),
        Err(HistogramError::ReduceToCustomBuckets)
    );

    // Gaps survive as spans.
    let (spans, buckets) = reduce_resolution(&[span(0, 1), span(5, 1)], &[1.0, 2.0], 2, 0).unwrap();
    assert_eq!(spans, vec![span(0, 1), span(1, 1)]);
    assert_eq!(buckets, vec![1.0, 2.0]);
    assert!(reduce_resolution(&[span(0, 1), span(-1, 1)], &[1.0, 2.0], 2, 0).is_err());
    assert!(reduce_resolution(&[span(0, 3)], &[1.0, 2.0], 2, 0).is_err());
}

#[test]
fn compact_cuts_and_joins() {
    let sides = || {
        (
            vec![span(-2, 4), span(3, 4)],
            vec![0.0, 1.0, 0.0, 0.0, 2.0, 0.0, 0.0, 3.0],
        )
    };
    let run = |max: usize| {
        let (spans, buckets) = sides();
        let mut x = FloatHistogram {
            positive_spans: spans.clone(),
            positive_buckets: buckets.clone(),
            negative_spans: spans,
            negative_buckets: buckets,
            ..Default::default()
        };
        x.compact(max);
        assert_eq!(x.positive_spans, x.negative_spans);
        assert_eq!(x.positive_buckets, x.negative_buckets);
        (x.positive_spans, x.positive_buckets)
    };
    assert_eq!(
        run(0),
        (vec![span(-1, 1), span(5, 1), span(2, 1)], vec![1.0, 2.0, 3.0])
    );
    assert_eq!(
        run(2),
        (vec![span(-1, 1), span(5, 4)], vec![1.0, 2.0, 0.0, 0.0, 3.0])
    );
    assert_eq!(
        run(usize::MAX),
        (
            vec![span(-1, 10)],
            vec![1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 3.0]
        )
    );

    // Consecutive joins put the empty buckets between the right neighbours.
    let mut x = FloatHistogram {
        positive_spans: vec![span(0, 1), span(1, 1), span(1, 1)],
        positive_buckets: vec![1.0, 2.0, 3.0],
        ..Default::default()
    };
    x.compact(1);
    assert_eq!(x.positive_spans, vec![span(0, 5)]);
    assert_eq!(x.positive_buckets, vec![1.0, 0.0, 2.0, 0.0, 3.0]);

    // Zero-length and zero-offset spans, all-empty sides.
    let mut x = FloatHistogram {
        positive_spans: vec![span(1, 0), span(2, 2), span(0, 1), span(0, 0)],
        positive_buckets: vec![1.0, 2.0, 3.0],
        negative_spans: vec![span(0, 2)],
        negative_buckets: vec![0.0, -0.0],
        ..Default::default()
    };
    x.compact(0);
    assert_eq!(x.positive_spans, vec![span(3, 3)]);
    assert!(x.negative_spans.is_empty() && x.negative_buckets.is_empty());

    // NaN buckets are not empty.
    let mut x = h("{{buckets:[NaN 0]}}").unwrap();
    x.compact(0);
    assert_eq!(x.positive_spans, vec![span(0, 1)]);
}

#[test]
fn detect_reset_cases() {
    let prev = h("{{count:4 sum:4 z_bucket:1 z_bucket_w:0.001 buckets:[1 2] n_buckets:[0 0 0]}}").unwrap();
    let same = prev.clone();
    assert!(!same.detect_reset(&prev));
    let grown = h("{{count:5 sum:1 z_bucket:1 z_bucket_w:0.001 buckets:[1 3]}}").unwrap();
    assert!(!grown.detect_reset(&prev), "sum and empty buckets do not matter");
    assert!(
        h("{{count:3 z_bucket:1 z_bucket_w:0.001 buckets:[1 2]}}")
            .unwrap()
            .detect_reset(&prev)
    );
    assert!(
        h("{{count:9 z_bucket:0 z_bucket_w:0.001 buckets:[1 2]}}")
            .unwrap()
            .detect_reset(&prev)
    );
    assert!(
        h("{{count:9 z_bucket:1 z_bucket_w:0.001 buckets:[2 1]}}")
            .unwrap()
            .detect_reset(&prev)
    );
    assert!(
        h("{{count:9 z_bucket:1 z_bucket_w:0.001 offset:1 buckets:[9]}}")
            .unwrap()
            .detect_reset(&prev)
    );
    // Finer schema or smaller zero bucket: reset.
    assert!(
        h("{{schema:1 count:9 z_bucket:1 z_bucket_w:0.001 buckets:[1 2 3]}}")
            .unwrap()
            .detect_reset(&prev)
    );
    assert!(
        h("{{count:9 z_bucket:1 z_bucket_w:0.0001 buckets:[1 2]}}")
            .unwrap()
            .detect_reset(&prev)
    );
    // Coarser schema: previous is merged first (schema 0 buckets 0,1 → schema -1 bucket 1... and 0).
    let coarse = h("{{schema:-1 count:4 z_bucket:1 z_bucket_w:0.001 buckets:[1 2]}}").unwrap();
    assert!(!coarse.detect_reset(&prev));
    let coarse_low = h("{{schema:-1 count:4 z_bucket:1 z_bucket_w:0.001 buckets:[1 1]}}").unwrap();
    assert!(coarse_low.detect_reset(&prev));
    // Wider zero bucket swallowing the previous (0.5,1] bucket: compare against 1+1.
    let wide = h("{{count:4 z_bucket:2 z_bucket_w:1 offset:1 buckets:[2]}}").unwrap();
    assert!(!wide.detect_reset(&prev));
    let wide_low = h("{{count:4 z_bucket:1.5 z_bucket_w:1 offset:1 buckets:[2]}}").unwrap();
    assert!(wide_low.detect_reset(&prev));
    // A zero threshold inside a populated previous bucket.
    let inside = h("{{count:4 z_bucket:2 z_bucket_w:0.7 offset:1 buckets:[2]}}").unwrap();
    assert!(inside.detect_reset(&prev));

    // Hints short-cut.
    let mut r = grown.clone();
    r.counter_reset_hint = CounterResetHint::CounterReset;
    assert!(r.detect_reset(&prev));
    let mut n = h("{{count:0}}").unwrap();
    n.counter_reset_hint = CounterResetHint::NotCounterReset;
    assert!(!n.detect_reset(&prev));
    let mut g = grown;
    g.counter_reset_hint = CounterResetHint::Gauge;
    assert!(!g.detect_reset(&prev), "gauges are compared like counters");

    // Switching between exponential and custom buckets.
    let nhcb = h("{{schema:-53 count:9 custom_values:[5] buckets:[9]}}").unwrap();
    assert!(nhcb.detect_reset(&prev));
    assert!(prev.detect_reset(&h("{{schema:-53 count:1 custom_values:[5] buckets:[1]}}").unwrap()));
}

#[test]
fn detect_reset_with_custom_bounds() {
    // native_histograms.test: resets(nhcb_metric[13m]) is 0 across [5] → [5 10].
    let a = h("{{schema:-53 sum:1 count:1 custom_values:[5] buckets:[1]}}").unwrap();
    let b = h("{{schema:-53 sum:1 count:1 custom_values:[5 10] buckets:[1]}}").unwrap();
    assert!(!b.detect_reset(&a));
    assert!(!a.detect_reset(&b));
    assert!(!b.detect_reset(&b.clone()));
    // nhcb_add_bucket: the (2,4] bucket went from 2 to 0+1.
    let prev = h("{{schema:-53 sum:55 count:15 custom_values:[2 4 6] buckets:[1 2 5 7]}}").unwrap();
    let curr = h("{{schema:-53 sum:56 count:15 custom_values:[2 3 4 6] buckets:[1 0 1 5 8]}}").unwrap();
    assert!(curr.detect_reset(&prev));
    let curr_ok = h("{{schema:-53 sum:56 count:15 custom_values:[2 3 4 6] buckets:[1 1 1 5 7]}}").unwrap();
    assert!(!curr_ok.detect_reset(&prev));
    // Matching bounds compare bucket by bucket.
    let lower = h("{{schema:-53 count:2 custom_values:[5] buckets:[0 2]}}").unwrap();
    let higher = h("{{schema:-53 count:2 custom_values:[5] buckets:[1 1]}}").unwrap();
    assert!(lower.detect_reset(&higher));
}

#[test]
fn equals_is_bitwise_but_layout_tolerant() {
    let a = h("{{schema:1 count:3 sum:NaN z_bucket:1 z_bucket_w:0.1 buckets:[1 0 1]}}").unwrap();
    assert!(a.equals(&a.clone()), "NaN sums with the same bits are equal");
    let mut b = a.clone();
    b.positive_spans = vec![span(0, 0), span(0, 3), span(2, 0)];
    assert!(a.equals(&b));
    let mut c = a.clone();
    c.compact(0);
    assert!(!a.equals(&c), "a different layout is a different histogram");
    let mut d = a.clone();
    d.count = -0.0 + 3.0;
    d.zero_count = 1.0 + f64::EPSILON;
    assert!(!a.equals(&d));
    let mut e = a.clone();
    e.counter_reset_hint = CounterResetHint::Gauge;
    assert!(a.equals(&e), "the hint is not compared");
    let n1 = h("{{schema:-53 custom_values:[1 2]}}").unwrap();
    let n2 = h("{{schema:-53 custom_values:[1 3]}}").unwrap();
    assert!(!n1.equals(&n2));
}

#[test]
fn validate_messages() {
    let ok = |s: &str| h(s).unwrap().validate();
    assert_eq!(ok("{{count:3 z_bucket:1 buckets:[1 1] n_buckets:[0]}}"), Ok(()));
    assert_eq!(
        ok("{{schema:-53 count:3 custom_values:[1 2] buckets:[1 1 1]}}"),
        Ok(())
    );
    let err = |h: FloatHistogram| h.validate().unwrap_err().to_string();
    assert_eq!(
        err(h("{{schema:9}}").unwrap()),
        "histogram has an invalid schema, which must be between -4 and 8 for exponential buckets, or -53 for custom buckets, got schema 9"
    );
    assert_eq!(
        err(h("{{count:-1}}").unwrap()),
        "observation count is  -1: histogram's observation count is negative"
    );
    assert_eq!(
        err(h("{{buckets:[1 -2.5]}}").unwrap()),
        "positive side: bucket number 2 has observation count of -2.5: histogram has a bucket whose observation count is negative"
    );
    assert_eq!(
        err(h("{{z_bucket:-1}}").unwrap()),
        "zero bucket has observation count of -1: histogram has a bucket whose observation count is negative"
    );
    assert_eq!(
        err(FloatHistogram {
            negative_spans: vec![span(0, 1), span(-1, 1)],
            negative_buckets: vec![1.0, 1.0],
            ..Default::default()
        }),
        "negative side: span number 2 with offset -1: histogram has a span whose offset is negative"
    );
    assert_eq!(
        err(FloatHistogram {
            positive_spans: vec![span(0, 2)],
            positive_buckets: vec![1.0],
            ..Default::default()
        }),
        "positive side: spans need 2 buckets, have 1 buckets: histogram spans specify different number of buckets than provided"
    );
    assert_eq!(
        err(h("{{custom_values:[1]}}").unwrap()),
        "histogram with exponential schema must not have custom bounds"
    );
    assert_eq!(
        err(h("{{schema:-53 custom_values:[2 1]}}").unwrap()),
        "custom buckets: previous bound is 2.000000 and current is 1.000000: histogram custom bounds must be in strictly increasing order"
    );
    assert_eq!(
        err(h("{{schema:-53 custom_values:[1 NaN]}}").unwrap()),
        "custom buckets: histogram custom bounds must not be NaN"
    );
    assert_eq!(
        err(h("{{schema:-53 custom_values:[1 Inf]}}").unwrap()),
        "custom buckets: last +Inf bound must not be explicitly defined: histogram custom bounds must be finite"
    );
    assert_eq!(
        err(h("{{schema:-53 custom_values:[1] offset:1 buckets:[1 1]}}").unwrap()),
        "custom buckets: only 1 custom bounds defined which is insufficient to cover total span length of 3: histogram custom bounds are too few"
    );
    assert_eq!(
        err(h("{{schema:-53 custom_values:[1] offset:-1 buckets:[1]}}").unwrap()),
        "custom buckets: span number 1 with offset -1: histogram has a span whose offset is negative"
    );
    assert_eq!(
        err(h("{{schema:-53 z_bucket:1}}").unwrap()),
        "custom buckets: must have zero count of 0"
    );
    assert_eq!(
        err(h("{{schema:-53 z_bucket_w:1}}").unwrap()),
        "custom buckets: must have zero threshold of 0"
    );
    assert_eq!(
        err(h("{{schema:-53 n_buckets:[1]}}").unwrap()),
        "custom buckets: must not have negative spans"
    );
}
