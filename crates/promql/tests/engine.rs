#![allow(clippy::unwrap_used)]
//! Engine behaviour the script format cannot express: parallel evaluation, budgets, errors.

use model::{Labels, Sample};
use promql::{Engine, Error, Options, Value};
use storage::MemStorage;

fn store(series: usize, samples: usize) -> MemStorage {
    let s = MemStorage::new();
    for i in 0..series {
        let l = Labels::from_pairs(&[("__name__", "req_total"), ("i", &i.to_string())]).unwrap();
        let mut v = 0.0;
        for k in 0..samples {
            v += ((i * 7 + k * 13) % 17) as f64;
            s.insert(&l, Sample::new(k as i64 * 15_000, v));
        }
    }
    s
}

#[test]
fn parallel_range_evaluation_matches_one_series_at_a_time() {
    // 1,500 series × 240 samples is above the threshold for splitting across threads.
    let s = store(1500, 240);
    let e = Engine::default();
    let all = e
        .range(&s, "rate(req_total[5m])", 300_000, 3_585_000, 15_000)
        .unwrap();
    let Value::Matrix(all) = all.value else {
        panic!("not a matrix")
    };
    assert_eq!(all.len(), 1500);
    for i in [0usize, 1, 749, 1499] {
        let one = e
            .range(
                &s,
                &format!("rate(req_total{{i=\"{i}\"}}[5m])"),
                300_000,
                3_585_000,
                15_000,
            )
            .unwrap();
        let Value::Matrix(one) = one.value else {
            panic!("not a matrix")
        };
        let got = all.iter().find(|p| p.labels == one[0].labels).unwrap();
        assert_eq!(got.points, one[0].points, "series {i}");
    }
}

#[test]
fn a_query_over_its_sample_budget_fails_alone() {
    let s = store(100, 100);
    let small = Engine::new(Options {
        max_samples: 5_000,
        ..Options::default()
    });
    let err = small
        .range(&s, "sum(rate(req_total[5m]))", 0, 1_485_000, 15_000)
        .unwrap_err();
    match err {
        Error::Execution(m) => assert!(m.contains("too many samples") && m.contains("5000"), "{m}"),
        other => panic!("unexpected {other:?}"),
    }
    // A narrower query on the same engine still runs.
    let ok = small.instant(&s, "req_total{i=\"3\"}", 1_485_000).unwrap();
    assert!(matches!(ok.value, Value::Vector(v) if v.len() == 1));
}

#[test]
fn errors_carry_their_kind() {
    let s = store(2, 10);
    let e = Engine::default();
    match e.instant(&s, "sum(", 0) {
        Err(Error::BadData(m)) => assert!(m.starts_with("1:5: parse error"), "{m}"),
        other => panic!("unexpected {other:?}"),
    }
    match e.range(&s, "req_total[5m]", 0, 60_000, 15_000) {
        Err(Error::BadData(m)) => assert!(m.contains("range vector"), "{m}"),
        other => panic!("unexpected {other:?}"),
    }
    let timeout = Engine::new(Options {
        timeout: std::time::Duration::ZERO,
        ..Options::default()
    });
    assert!(matches!(
        timeout.instant(&s, "req_total", 0),
        Err(Error::Timeout(_))
    ));
}
