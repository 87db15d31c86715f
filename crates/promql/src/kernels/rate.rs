//! Counter and gauge change over a range: `rate`, `increase`, `delta` (plain, anchored and smoothed),
//! `irate`, `idelta`, `changes` and `resets`.

use model::Sample;

/// Go's `time.Duration.Seconds()` for a duration of `ms` milliseconds: whole seconds plus the
/// nanosecond remainder divided by 1e9, computed in that order because it can round differently from
/// `ms / 1000.0`.
pub fn range_seconds(ms: i64) -> f64 {
    let secs = ms / 1000;
    let nanos = (ms % 1000) * 1_000_000;
    secs as f64 + nanos as f64 / 1e9
}

/// `rate`/`increase`/`delta` over the float samples of one series in the window `(range_start,
/// range_end]` (milliseconds), with Prometheus 3's extrapolation (Prometheus's `extrapolatedRate`):
///
/// - `is_counter`: a decrease between neighbours is a counter reset, and the value before it is added
///   back; the extrapolation towards the window start stops where the counter would reach zero.
/// - The result is extrapolated to each window edge when the first/last sample is within 1.1× the
///   average sample interval of it, and by half an average interval otherwise.
/// - `is_rate`: the result is divided by the window length in seconds.
///
/// `None` (no output element) with fewer than two samples. `samples` must be sorted by time, without
/// stale markers, and all inside the window.
pub fn extrapolated_rate(
    samples: &[Sample],
    range_start: i64,
    range_end: i64,
    is_counter: bool,
    is_rate: bool,
) -> Option<f64> {
    let resets = samples.windows(2).filter(|w| w[1].v < w[0].v).map(|w| w[0].v);
    extrapolated_rate_with_resets(samples, resets, range_start, range_end, is_counter, is_rate)
}

/// [`extrapolated_rate`] with the counter-reset corrections supplied by the caller: for each pair of
/// consecutive samples in the window where the value dropped, the value before the drop, in time
/// order. A caller sliding a window over one series finds the resets once instead of at every step;
/// the sum is taken in the same order, so the result is the same to the bit.
pub fn extrapolated_rate_with_resets(
    samples: &[Sample],
    resets: impl Iterator<Item = f64>,
    range_start: i64,
    range_end: i64,
    is_counter: bool,
    is_rate: bool,
) -> Option<f64> {
    let (first, last) = match samples {
        [first, .., last] => (*first, *last),
        _ => return None,
    };
    let mut result = last.v - first.v;
    if is_counter {
        for r in resets {
            result += r;
        }
    }

    let counter_start = is_counter.then_some((first.v, result));
    let factor = extrapolation_factor(
        (first.t, last.t),
        samples.len(),
        (range_start, range_end),
        counter_start,
        is_rate,
    );
    Some(result * factor)
}

/// What the change between the first sample (at `times.0`) and the last (at `times.1`) of `n` samples
/// is multiplied by to cover the window `(window.0, window.1]`, as Prometheus's `extrapolatedRate`
/// computes it for floats and native histograms alike; with `is_rate` also divided by the window's
/// length in seconds. `counter_start` is, for counters, the first value and the change (for histograms
/// their counts): extrapolation towards the start stops where the counter would reach zero.
pub fn extrapolation_factor(
    times: (i64, i64),
    n: usize,
    window: (i64, i64),
    counter_start: Option<(f64, f64)>,
    is_rate: bool,
) -> f64 {
    let (first_t, last_t) = times;
    let (range_start, range_end) = window;
    let mut duration_to_start = first_t.wrapping_sub(range_start) as f64 / 1000.0;
    let mut duration_to_end = range_end.wrapping_sub(last_t) as f64 / 1000.0;
    let sampled_interval = last_t.wrapping_sub(first_t) as f64 / 1000.0;
    let average_interval = sampled_interval / (n - 1) as f64;

    // A sample missing where the regular spacing predicts one means the series starts or ends inside
    // the window, so extrapolate only half an interval past it rather than all the way to the edge.
    let threshold = average_interval * 1.1;
    if duration_to_start >= threshold {
        duration_to_start = average_interval / 2.0;
    }
    if let Some((first, change)) = counter_start {
        // Counters are never negative: if the trend reaches zero before the (extrapolated) start, the
        // series most likely began there.
        let mut duration_to_zero = duration_to_start;
        if change > 0.0 && first >= 0.0 {
            duration_to_zero = sampled_interval * (first / change);
        }
        if duration_to_zero < duration_to_start {
            duration_to_start = duration_to_zero;
        }
    }
    if duration_to_end >= threshold {
        duration_to_end = average_interval / 2.0;
    }

    // Two samples at the same time (not produced by the storage) would divide 0 by 0.
    let mut factor = if sampled_interval != 0.0 {
        (sampled_interval + duration_to_start + duration_to_end) / sampled_interval
    } else {
        1.0
    };
    if is_rate {
        factor /= range_seconds(range_end.wrapping_sub(range_start));
    }
    factor
}

/// `rate(v[range])`: [`extrapolated_rate`] as a per-second counter rate.
pub fn rate(samples: &[Sample], range_start: i64, range_end: i64) -> Option<f64> {
    extrapolated_rate(samples, range_start, range_end, true, true)
}

/// `increase(v[range])`: [`extrapolated_rate`] as a counter increase over the window.
pub fn increase(samples: &[Sample], range_start: i64, range_end: i64) -> Option<f64> {
    extrapolated_rate(samples, range_start, range_end, true, false)
}

/// `delta(v[range])`: [`extrapolated_rate`] as a gauge difference over the window.
pub fn delta(samples: &[Sample], range_start: i64, range_end: i64) -> Option<f64> {
    extrapolated_rate(samples, range_start, range_end, false, false)
}

/// The value at `t` on the line through `p1` and `p2`; for a counter that decreased between them, the
/// line starts from 0 at `p1` instead (the counter restarted in between).
fn interpolate(p1: Sample, p2: Sample, t: i64, is_counter: bool) -> f64 {
    let y2 = p2.v;
    let y1 = if is_counter && y2 < p1.v { 0.0 } else { p1.v };
    y1 + (y2 - y1) * t.wrapping_sub(p1.t) as f64 / p2.t.wrapping_sub(p1.t) as f64
}

/// `rate`/`increase`/`delta` on an `anchored` or `smoothed` range selector (experimental in Prometheus
/// 3; Prometheus's `extendedRate`): no extrapolation, the result is the value difference between the
/// window edges plus counter-reset corrections.
///
/// `samples` must hold the window's samples plus, in front, the last sample at or before `range_start`
/// if there is one, and for `smoothed` also, at the end, the first sample after `range_end` if there is
/// one. Anchored takes the edge values from the first and last samples; smoothed interpolates linearly
/// to the exact edges when it has samples on both sides of them. `None` when there is no sample after
/// `range_start` or, for `smoothed`, none at or before `range_end`.
pub fn extended_rate(
    samples: &[Sample],
    range_start: i64,
    range_end: i64,
    smoothed: bool,
    is_counter: bool,
    is_rate: bool,
) -> Option<f64> {
    let n = samples.len();
    if n == 0 {
        return None;
    }
    // Timestamps are sorted, so the first match of a scan is what Go's binary `sort.Search` finds; like
    // it, both searches leave the last sample out and default to it.
    let mut last = n - 1;
    let after_start = samples[..last]
        .iter()
        .position(|s| s.t > range_start)
        .unwrap_or(last);
    let mut first = after_start.saturating_sub(1);
    if smoothed {
        last = samples[..last]
            .iter()
            .position(|s| s.t >= range_end)
            .unwrap_or(last);
    }
    if samples[last].t <= range_start {
        return None;
    }
    if smoothed && samples[first].t > range_end {
        return None;
    }

    let left = if smoothed && samples[first].t < range_start {
        interpolate(samples[first], samples[first + 1], range_start, is_counter)
    } else {
        samples[first].v
    };
    let right = if smoothed && last > 0 && samples[last].t > range_end {
        interpolate(samples[last - 1], samples[last], range_end, is_counter)
    } else {
        samples[last].v
    };
    let mut result = right - left;

    if is_counter {
        // Resets across the edges are already inside `left`/`right`; only the samples strictly inside
        // the window need checking against them.
        if samples[first].t <= range_start {
            first += 1;
        }
        let end = if samples[last].t >= range_end {
            last
        } else {
            last + 1
        };
        let inner = samples.get(first..end.max(first)).unwrap_or(&[]);
        let mut correction = 0.0;
        let mut prev = left;
        for s in inner {
            if s.v < prev {
                correction += prev;
            }
            prev = s.v;
        }
        if right < prev {
            correction += prev;
        }
        result += correction;
    }
    if is_rate {
        result /= range_seconds(range_end.wrapping_sub(range_start));
    }
    Some(result)
}

/// `irate` (`is_rate`) and `idelta` over the last two samples (Prometheus's `instantValue`): the
/// difference, or for `irate` after a decrease (counter reset) the last value itself, and for `irate`
/// divided by their distance in seconds. `None` with fewer than two samples or equal timestamps.
pub fn instant_rate(samples: &[Sample], is_rate: bool) -> Option<f64> {
    let (prev, last) = match samples {
        [.., prev, last] => (*prev, *last),
        _ => return None,
    };
    let interval = last.t.wrapping_sub(prev.t);
    if interval == 0 {
        return None;
    }
    // Only a strict decrease is a reset; with a NaN on either side the difference (NaN) propagates.
    let reset = is_rate && last.v < prev.v;
    let mut result = if reset { last.v } else { last.v - prev.v };
    if is_rate {
        result /= interval as f64 / 1000.0;
    }
    Some(result)
}

/// `irate(v[range])`: see [`instant_rate`].
pub fn irate(samples: &[Sample]) -> Option<f64> {
    instant_rate(samples, true)
}

/// `idelta(v[range])`: see [`instant_rate`].
pub fn idelta(samples: &[Sample]) -> Option<f64> {
    instant_rate(samples, false)
}

/// `changes(v[range])`: how often the value differs from the previous sample's, where NaN followed by
/// NaN is no change. `None` for no samples.
pub fn changes(samples: &[Sample]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let n = samples
        .windows(2)
        .filter(|w| w[1].v != w[0].v && !(w[1].v.is_nan() && w[0].v.is_nan()))
        .count();
    Some(n as f64)
}

/// `resets(v[range])`: how often the value decreases from one sample to the next. `None` for no
/// samples.
pub fn resets(samples: &[Sample]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    Some(samples.windows(2).filter(|w| w[1].v < w[0].v).count() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::test_util::series;

    const MIN: i64 = 60_000;

    /// The samples of `s` in `(start, end]`.
    fn window(s: &[Sample], start: i64, end: i64) -> Vec<Sample> {
        s.iter().copied().filter(|x| x.t > start && x.t <= end).collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    fn counter(start: f64, inc: f64, n: usize) -> Vec<f64> {
        (0..=n).map(|i| start + inc * i as f64).collect()
    }

    #[test]
    fn range_seconds_like_go() {
        assert_eq!(range_seconds(300_000), 300.0);
        assert_eq!(range_seconds(901_000), 901.0);
        assert_eq!(range_seconds(1_500), 1.5);
        assert_eq!(range_seconds(1), 0.001);
        assert_eq!(range_seconds(-1_500), -1.5);
    }

    #[test]
    fn increase_examples_from_functions_test() {
        // load 5m; eval at 50m increase(...[50m]) and [100m].
        let at = 50 * MIN;
        let foo = series(0, 5 * MIN, &counter(0.0, 10.0, 10));
        let mut bar_v = counter(0.0, 18.0, 5);
        bar_v.extend(counter(0.0, 18.0, 5));
        let bar = series(0, 5 * MIN, &bar_v);
        let dings = series(0, 5 * MIN, &counter(10.0, 10.0, 10));
        let bumms = series(0, 5 * MIN, &counter(1.0, 10.0, 10));
        let inc = |s: &[Sample], range: i64| increase(&window(s, at - range, at), at - range, at).unwrap();
        assert!(close(inc(&foo, 50 * MIN), 100.0));
        assert!(close(inc(&bar, 50 * MIN), 160.0));
        assert!(close(inc(&dings, 50 * MIN), 100.0));
        assert!(close(inc(&bumms, 50 * MIN), 100.0));
        assert!(close(inc(&foo, 100 * MIN), 100.0));
        assert!(close(inc(&bar, 100 * MIN), 162.0));
        assert!(close(inc(&dings, 100 * MIN), 105.0));
        assert!(close(inc(&bumms, 100 * MIN), 101.0));
    }

    #[test]
    fn increase_with_reset_counts_from_zero() {
        // `0 1 2 3 2 3 4` at 5m, increase(...[30m]) at 30m = 7.
        let s = series(0, 5 * MIN, &[0.0, 1.0, 2.0, 3.0, 2.0, 3.0, 4.0]);
        let at = 30 * MIN;
        let v = increase(&window(&s, 0, at), 0, at).unwrap();
        assert!(close(v, 7.0), "{v}");
    }

    #[test]
    fn rate_examples_from_functions_test() {
        let at = 50 * MIN;
        let mut mid = counter(0.0, 27.0, 4);
        mid.extend(counter(0.0, 27.0, 5));
        let mid = series(0, 5 * MIN, &mid);
        let r = rate(&window(&mid, 0, at), 0, at).unwrap();
        assert!(close(r, 0.08), "{r}");

        let mut end = counter(0.0, 10.0, 9);
        end.extend([0.0, 10.0]);
        let end = series(0, 5 * MIN, &end);
        // [5m] holds only the sample at 50m: no result.
        assert_eq!(rate(&window(&end, at - 5 * MIN, at), at - 5 * MIN, at), None);
        let r = rate(&window(&end, at - 6 * MIN, at), at - 6 * MIN, at).unwrap();
        assert_eq!(r, 0.0);

        let win = series(0, 5 * MIN, &counter(0.0, 80.0, 10));
        let r = rate(&window(&win, 0, at), 0, at).unwrap();
        assert!(close(r, 0.26666666666666666));

        // rate(x[10m] offset 5m) at 50m: window (35m, 45m].
        let a = series(0, 5 * MIN, &counter(0.0, 10.0, 10));
        let (s, e) = (35 * MIN, 45 * MIN);
        assert!(close(rate(&window(&a, s, e), s, e).unwrap(), 0.03333333333333333));
    }

    #[test]
    fn rate_zero_cutoff() {
        // load 4m, testcounter_zero_cutoff_total{start=...}; rate(...[20m]) at 10m and 50m.
        let expect_10m = [0.5, 0.55, 0.6, 0.6, 0.6, 0.6];
        for (k, want) in expect_10m.into_iter().enumerate() {
            let s = series(0, 4 * MIN, &counter(60.0 * k as f64, 240.0, 10));
            let at = 10 * MIN;
            let (start, end) = (at - 20 * MIN, at);
            let r = rate(&window(&s, start, end), start, end).unwrap();
            assert!(close(r, want), "start={k}m: {r} != {want}");
            let at = 50 * MIN;
            let (start, end) = (at - 20 * MIN, at);
            let r = rate(&window(&s, start, end), start, end).unwrap();
            assert!(close(r, 0.6), "start={k}m at 50m: {r}");
        }
    }

    #[test]
    fn delta_examples() {
        let at = 20 * MIN;
        let foo = series(0, 5 * MIN, &[0.0, 50.0, 100.0, 150.0, 200.0]);
        let bar = series(0, 5 * MIN, &[200.0, 150.0, 100.0, 50.0, 0.0]);
        assert!(close(delta(&window(&foo, 0, at), 0, at).unwrap(), 200.0));
        assert!(close(delta(&window(&bar, 0, at), 0, at).unwrap(), -200.0));
        // A gauge may be extrapolated below zero.
        // Samples 1m:1, 2m:3 in (0, 3m]: both gaps are one interval, so the gauge is extrapolated by a
        // factor 3, while the counter stops where it would reach zero (30s before its first sample).
        let g = series(MIN, MIN, &[1.0, 3.0]);
        assert!(close(delta(&g, 0, 3 * MIN).unwrap(), 6.0));
        assert!(close(increase(&g, 0, 3 * MIN).unwrap(), 5.0));
    }

    #[test]
    fn rate_single_sample_and_nan() {
        assert_eq!(rate(&[Sample::new(1, 1.0)], 0, 10), None);
        assert_eq!(rate(&[], 0, 10), None);
        let s = [Sample::new(1_000, 1.0), Sample::new(2_000, f64::NAN)];
        assert!(rate(&s, 0, 2_000).is_some_and(f64::is_nan));
    }

    #[test]
    fn irate_examples() {
        let foo = series(0, 5 * MIN, &counter(0.0, 10.0, 10));
        let mut bar = counter(0.0, 10.0, 5);
        bar.extend(counter(0.0, 10.0, 5));
        let bar = series(0, 5 * MIN, &bar);
        let at = 50 * MIN;
        assert!(close(irate(&window(&foo, 0, at)).unwrap(), 0.03333333333333333));
        assert!(close(irate(&window(&bar, 0, at)).unwrap(), 0.03333333333333333));
        // At 30m bar has just reset to 0: the result is 0 / 300s.
        let at = 30 * MIN;
        assert_eq!(irate(&window(&bar, at - 50 * MIN, at)).unwrap(), 0.0);
        // `1 NaN NaN 5 11`, irate(x[15m1s]) at 20m.
        let nan = series(0, 5 * MIN, &[1.0, f64::NAN, f64::NAN, 5.0, 11.0]);
        assert!(close(irate(&nan).unwrap(), 0.02));
        assert!(irate(&nan[..3]).is_some_and(f64::is_nan));
        assert!(irate(&nan[..4]).is_some_and(f64::is_nan));
        // A real reset returns the new value per second.
        let reset = [Sample::new(0, 10.0), Sample::new(2_000, 4.0)];
        assert_eq!(irate(&reset), Some(2.0));
        assert_eq!(irate(&reset[..1]), None);
        assert_eq!(irate(&[Sample::new(5, 1.0), Sample::new(5, 2.0)]), None);
    }

    #[test]
    fn idelta_examples() {
        let foo = series(0, 5 * MIN, &[0.0, 50.0, 100.0, 150.0]);
        let bar = series(0, 5 * MIN, &[0.0, 50.0, 100.0, 50.0]);
        assert_eq!(idelta(&foo), Some(50.0));
        assert_eq!(idelta(&bar), Some(-50.0));
        let nan = series(0, 5 * MIN, &[1.0, f64::NAN, f64::NAN, 5.0, 11.0]);
        assert_eq!(idelta(&nan), Some(6.0));
        assert!(idelta(&nan[..4]).is_some_and(f64::is_nan));
        assert_eq!(idelta(&foo[..1]), None);
    }

    #[test]
    fn changes_and_resets_examples() {
        let foo = series(0, 5 * MIN, &[1.0, 2.0, 3.0, 0.0, 1.0, 0.0, 0.0, 1.0, 2.0, 0.0]);
        let bar = series(0, 5 * MIN, &[1.0, 2.0, 3.0, 4.0, 5.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        let biz = series(0, 5 * MIN, &[0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0]);
        let at = 50 * MIN;
        let w = |s: &[Sample], r: i64| window(s, at - r, at);
        assert_eq!(resets(&w(&foo, 20 * MIN)), Some(1.0));
        assert_eq!(resets(&w(&foo, 32 * MIN)), Some(2.0));
        assert_eq!(resets(&w(&bar, 32 * MIN)), Some(1.0));
        assert_eq!(resets(&w(&foo, 50 * MIN)), Some(3.0));
        assert_eq!(resets(&w(&biz, 50 * MIN)), Some(0.0));
        assert_eq!(changes(&w(&foo, 20 * MIN)), Some(2.0));
        assert_eq!(changes(&w(&bar, 30 * MIN)), Some(4.0));
        assert_eq!(changes(&w(&foo, 50 * MIN)), Some(7.0));
        assert_eq!(changes(&w(&bar, 50 * MIN)), Some(8.0));
        assert_eq!(changes(&w(&biz, 50 * MIN)), Some(1.0));
        assert_eq!(changes(&foo[..1]), Some(0.0));
        assert_eq!(resets(&foo[..1]), Some(0.0));
        assert_eq!(changes(&[]), None);
        assert_eq!(resets(&[]), None);
    }

    #[test]
    fn changes_nan() {
        let b = series(0, 5 * MIN, &[f64::NAN, f64::NAN, f64::NAN]);
        let c = series(0, 5 * MIN, &[0.0, f64::NAN, 0.0]);
        assert_eq!(changes(&b), Some(0.0));
        assert_eq!(changes(&c), Some(2.0));
        assert_eq!(resets(&c), Some(0.0));
    }

    // extended_vectors.test, `metric 1+1x4 9+1x4` at 15s; windows of 1m.
    fn prom52() -> Vec<Sample> {
        series(0, 15_000, &[1.0, 2.0, 3.0, 4.0, 5.0, 9.0, 10.0, 11.0, 12.0, 13.0])
    }

    /// The samples an anchored/smoothed selector hands over: the window plus the last sample at or
    /// before its start, and for smoothed the first sample after its end.
    fn extended_window(s: &[Sample], start: i64, end: i64, smoothed: bool) -> Vec<Sample> {
        let mut out: Vec<Sample> = s.iter().copied().rfind(|x| x.t <= start).into_iter().collect();
        out.extend(window(s, start, end));
        if smoothed {
            out.extend(s.iter().copied().find(|x| x.t > end));
        }
        out
    }

    #[test]
    fn increase_plain_prom52() {
        let s = prom52();
        let want = [
            (5, None),
            (20, Some(1.833333333)),
            (35, Some(2.833333333)),
            (50, Some(4.0)),
        ];
        for (at_s, w) in want {
            let at = at_s * 1000;
            let got = increase(&window(&s, at - MIN, at), at - MIN, at);
            match (got, w) {
                (None, None) => {}
                (Some(g), Some(w)) => assert!((g - w).abs() < 1e-6, "at {at_s}s: {g} != {w}"),
                _ => panic!("at {at_s}s: {got:?} != {w:?}"),
            }
        }
        for (at_s, w) in [(65, 4.0), (80, 8.0), (95, 8.0), (110, 8.0), (125, 4.0)] {
            let at = at_s * 1000;
            let g = increase(&window(&s, at - MIN, at), at - MIN, at).unwrap();
            assert!((g - w).abs() < 1e-6, "at {at_s}s: {g} != {w}");
        }
    }

    #[test]
    fn increase_anchored_prom52() {
        let s = prom52();
        let want = [
            (5, 0.0),
            (20, 1.0),
            (35, 2.0),
            (50, 3.0),
            (65, 4.0),
            (80, 7.0),
            (95, 7.0),
            (125, 7.0),
        ];
        for (at_s, w) in want {
            let at = at_s * 1000;
            let input = extended_window(&s, at - MIN, at, false);
            let g = extended_rate(&input, at - MIN, at, false, true, false).unwrap();
            assert!((g - w).abs() < 1e-9, "at {at_s}s: {g} != {w}");
        }
    }

    #[test]
    fn increase_smoothed_prom52() {
        let s = prom52();
        let want = [
            (5, 0.333333333),
            (20, 1.333333333),
            (35, 2.333333333),
            (50, 3.333333333),
            (65, 5.0),
            (80, 7.0),
            (95, 7.0),
            (110, 7.0),
            (125, 6.0),
        ];
        for (at_s, w) in want {
            let at = at_s * 1000;
            let input = extended_window(&s, at - MIN, at, true);
            let g = extended_rate(&input, at - MIN, at, true, true, false).unwrap();
            assert!((g - w).abs() < 1e-6, "at {at_s}s: {g} != {w}");
        }
    }

    #[test]
    fn extended_rate_edge_cases() {
        assert_eq!(extended_rate(&[], 0, 10, true, true, true), None);
        // Only a sample before the window.
        assert_eq!(
            extended_rate(&[Sample::new(0, 5.0)], 0, 10, false, true, false),
            None
        );
        // Per-second over the 60s window.
        let s = [Sample::new(0, 0.0), Sample::new(60_000, 30.0)];
        assert_eq!(extended_rate(&s, 0, 60_000, false, true, true), Some(0.5));
        // A gauge may go down.
        let g = [Sample::new(0, 10.0), Sample::new(30_000, 4.0)];
        assert_eq!(extended_rate(&g, 0, 60_000, false, false, false), Some(-6.0));
    }
}
